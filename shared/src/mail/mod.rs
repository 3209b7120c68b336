//! The mailer port and the one message every backend sends: the same MIME bytes go to SES (as a raw
//! message), an SMTP server, Mailgun, Mandrill and the local outbox (`.eml` files); SendGrid gets the
//! same parts as JSON.

mod http_api;
mod mailgun;
mod mandrill;
mod message;
mod outbox;
mod sendgrid;
mod ses;
mod smtp;
mod unsubscribe;

pub use mailgun::{MailgunMailer, MailgunRegion, MailgunSettings};
pub use mandrill::{MandrillMailer, MandrillSettings, MANDRILL_API};
pub use message::{EmailMessage, MessageError, Outgoing};
pub use outbox::OutboxMailer;
pub use sendgrid::{mail_send_body, SendGridMailer, SendGridSettings, SENDGRID_API};
pub use ses::SesMailer;
pub use smtp::{SmtpMailer, SmtpSettings, SmtpTls};
pub use unsubscribe::UnsubscribeToken;

use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The provider refused this message for good (bad address, suppressed, too large): retrying
    /// will not help.
    #[error("message rejected: {0}")]
    Rejected(String),
    /// A transient failure: try again later.
    #[error("mail backend unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends one message; returns the backend's message id.
    async fn send(&self, mail: &Outgoing) -> Result<String, MailError>;
}

/// Sends through each mailer in turn (the local runner: the outbox, then SMTP); the last one's
/// answer counts.
pub struct AllOf(pub Vec<std::sync::Arc<dyn Mailer>>);

#[async_trait]
impl Mailer for AllOf {
    async fn send(&self, mail: &Outgoing) -> Result<String, MailError> {
        let mut answer = Err(MailError::Rejected("no mailer configured".into()));
        for mailer in &self.0 {
            answer = Ok(mailer.send(mail).await?);
        }
        answer
    }
}

/// The header and the SES message tag that name the organisation an email is sent for, so SES
/// bounces and complaints come back naming it (`pipeline::feedback`).
pub const ORG_HEADER: &str = "X-Gatehouse-Org";
pub const ORG_TAG: &str = "gatehouse-org";
