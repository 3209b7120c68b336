//! The mailer on Amazon SES v2, sending the MIME message as a raw message so SES sends exactly the
//! bytes the other backends send.

use async_trait::async_trait;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use aws_sdk_sesv2::Client;

use super::{MailError, Mailer, Outgoing};

#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    configuration_set: Option<String>,
}

impl SesMailer {
    pub fn new(client: Client, configuration_set: Option<String>) -> Self {
        Self {
            client,
            configuration_set,
        }
    }
}

/// The email's organisation as an SES message tag, so bounces and complaints come back naming it.
fn org_tag(mail: &Outgoing) -> Option<Vec<aws_sdk_sesv2::types::MessageTag>> {
    use super::{ORG_HEADER, ORG_TAG};
    let (_, org) = mail.message.headers.iter().find(|(name, _)| name == ORG_HEADER)?;
    let tag = aws_sdk_sesv2::types::MessageTag::builder()
        .name(ORG_TAG)
        .value(org)
        .build()
        .ok()?;
    Some(vec![tag])
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &Outgoing) -> Result<String, MailError> {
        let (from, to, mime) = (&mail.message.from, &mail.message.to, mail.mime.as_slice());
        let raw = RawMessage::builder()
            .data(Blob::new(mime))
            .build()
            .map_err(|e| MailError::Rejected(e.to_string()))?;
        let out = self
            .client
            .send_email()
            .from_email_address(from.as_str())
            .destination(Destination::builder().to_addresses(to.as_str()).build())
            .content(EmailContent::builder().raw(raw).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .set_email_tags(org_tag(mail))
            .send()
            .await
            .map_err(|e| {
                let permanent = e.as_service_error().is_some_and(|s| {
                    s.is_message_rejected()
                        || s.is_mail_from_domain_not_verified_exception()
                        || s.is_bad_request_exception()
                });
                if permanent {
                    MailError::Rejected(aws_sdk_sesv2::error::DisplayErrorContext(&e).to_string())
                } else {
                    MailError::Unavailable(Box::new(e))
                }
            })?;
        Ok(out.message_id.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use crate::mail::{EmailMessage, Outgoing, ORG_HEADER};

    #[test]
    fn each_email_is_tagged_with_its_organisation() {
        let email = |s: &str| crate::domain::Email::parse(s).unwrap();
        let message = EmailMessage {
            from: email("portal@example.com"),
            from_name: None,
            to: email("ada@example.com"),
            subject: "Hi".into(),
            text: "Hi".into(),
            html: "<p>Hi</p>".into(),
            headers: vec![(ORG_HEADER.into(), "acme".into())],
        };
        let tags = super::org_tag(&Outgoing::new(message).unwrap()).expect("tagged");
        assert_eq!((tags[0].name(), tags[0].value()), ("gatehouse-org", "acme"));
    }
}
