//! SES feedback: bounce and complaint events, as SES publishes them through SNS (an SNS envelope
//! whose `Message` is the event; event publishing says `eventType`, identity notifications
//! `notificationType`) or EventBridge (`detail-type` "Email Bounced" / "Email Complaint Received",
//! the event in `detail`). Permanent bounces and complaints put the addresses on the suppression
//! list; transient bounces do not.

use serde_json::Value;

use crate::domain::Email;

/// One address to suppress.
#[derive(Debug, Clone, PartialEq)]
pub struct Suppress {
    pub email: Email,
    /// `bounce` or `complaint`.
    pub reason: &'static str,
    pub detail: String,
    /// The organisation the email was sent for (its `gatehouse-org` tag or `X-Gatehouse-Org`
    /// header), for its bounce and complaint rates.
    pub org: Option<String>,
}

pub use crate::mail::{ORG_HEADER, ORG_TAG};

/// The organisation named by the feedback's original mail: its tag, else its header.
fn org_of(mail: &Value) -> Option<String> {
    let tagged = mail
        .get("tags")
        .and_then(|t| t.get(ORG_TAG))
        .and_then(|v| v.get(0))
        .and_then(Value::as_str);
    let header = || {
        mail.get("headers")?
            .as_array()?
            .iter()
            .find(|h| {
                h.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case(ORG_HEADER))
            })?
            .get("value")?
            .as_str()
    };
    tagged.or_else(header).map(str::to_string)
}

/// `Some` when `body` is SES feedback (possibly naming nobody to suppress), `None` when it is not.
pub fn parse(body: &str) -> Option<Vec<Suppress>> {
    let outer: Value = serde_json::from_str(body).ok()?;
    let event = if outer.get("Type").and_then(Value::as_str) == Some("Notification") {
        serde_json::from_str::<Value>(outer.get("Message")?.as_str()?).ok()?
    } else if outer.get("source").and_then(Value::as_str) == Some("aws.ses") {
        outer.get("detail")?.clone()
    } else {
        return None;
    };
    let kind = event
        .get("eventType")
        .or_else(|| event.get("notificationType"))?
        .as_str()?;
    let org = event.get("mail").and_then(org_of);
    let addresses = |list: &Value| -> Vec<Email> {
        list.as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|r| r.get("emailAddress")?.as_str())
                    .filter_map(|a| Email::parse(a).ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    let found = match kind {
        "Bounce" => {
            let bounce = event.get("bounce")?;
            let bounce_type = bounce.get("bounceType").and_then(Value::as_str).unwrap_or_default();
            if bounce_type != "Permanent" {
                return Some(Vec::new());
            }
            let sub_type = bounce.get("bounceSubType").and_then(Value::as_str).unwrap_or_default();
            let detail = format!("{bounce_type} bounce ({sub_type})");
            addresses(&bounce["bouncedRecipients"])
                .into_iter()
                .map(|email| Suppress {
                    email,
                    reason: "bounce",
                    detail: detail.clone(),
                    org: org.clone(),
                })
                .collect()
        }
        "Complaint" => {
            let complaint = event.get("complaint")?;
            let feedback = complaint
                .get("complaintFeedbackType")
                .and_then(Value::as_str)
                .unwrap_or("unspecified");
            let detail = format!("complaint ({feedback})");
            addresses(&complaint["complainedRecipients"])
                .into_iter()
                .map(|email| Suppress {
                    email,
                    reason: "complaint",
                    detail: detail.clone(),
                    org: org.clone(),
                })
                .collect()
        }
        _ => Vec::new(),
    };
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sns(event: Value) -> String {
        json!({"Type": "Notification", "MessageId": "m", "TopicArn": "arn:aws:sns:us-east-1:1:ses", "Message": event.to_string()}).to_string()
    }

    #[test]
    fn permanent_bounces_and_complaints_suppress_transient_bounces_do_not() {
        let bounce = json!({"eventType": "Bounce", "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": "gone@example.com"}]}, "mail": {"tags": {"gatehouse-org": ["acme"]}}});
        let found = parse(&sns(bounce)).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].email.as_str(), found[0].reason, found[0].org.as_deref()),
            ("gone@example.com", "bounce", Some("acme"))
        );

        let transient = json!({"notificationType": "Bounce", "bounce": {"bounceType": "Transient", "bouncedRecipients": [{"emailAddress": "full@example.com"}]}});
        assert_eq!(parse(&sns(transient)), Some(Vec::new()));

        let complaint = json!({"source": "aws.ses", "detail-type": "Email Complaint Received", "detail": {"eventType": "Complaint",
            "complaint": {"complaintFeedbackType": "abuse", "complainedRecipients": [{"emailAddress": "angry@example.com"}]},
            "mail": {"headers": [{"name": "x-gatehouse-org", "value": "globex"}]}}});
        let found = parse(&complaint.to_string()).unwrap();
        assert_eq!(
            (
                found[0].email.as_str(),
                found[0].reason,
                found[0].detail.as_str(),
                found[0].org.as_deref()
            ),
            ("angry@example.com", "complaint", "complaint (abuse)", Some("globex"))
        );

        assert_eq!(parse(r#"{"delivery_id": "x"}"#), None, "an email job is not feedback");
    }
}
