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
            "bouncedRecipients": [{"emailAddress": "gone@example.com"}]}, "mail": {}});
        let found = parse(&sns(bounce)).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].email.as_str(), found[0].reason),
            ("gone@example.com", "bounce")
        );

        let transient = json!({"notificationType": "Bounce", "bounce": {"bounceType": "Transient", "bouncedRecipients": [{"emailAddress": "full@example.com"}]}});
        assert_eq!(parse(&sns(transient)), Some(Vec::new()));

        let complaint = json!({"source": "aws.ses", "detail-type": "Email Complaint Received", "detail": {"eventType": "Complaint",
            "complaint": {"complaintFeedbackType": "abuse", "complainedRecipients": [{"emailAddress": "angry@example.com"}]}}});
        let found = parse(&complaint.to_string()).unwrap();
        assert_eq!(
            (found[0].email.as_str(), found[0].reason, found[0].detail.as_str()),
            ("angry@example.com", "complaint", "complaint (abuse)")
        );

        assert_eq!(parse(r#"{"delivery_id": "x"}"#), None, "an email job is not feedback");
    }
}
