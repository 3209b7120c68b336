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
