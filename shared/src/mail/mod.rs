//! The mailer port and the one MIME message every backend sends: the same bytes go to SES (as a raw
//! message), to an SMTP server, and into the local outbox as an `.eml` file.

mod message;
mod outbox;
mod ses;
mod smtp;

pub use message::{EmailMessage, MessageError};
pub use outbox::OutboxMailer;
pub use ses::SesMailer;
pub use smtp::{SmtpMailer, SmtpSettings, SmtpTls};

use async_trait::async_trait;

use crate::domain::Email;

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
    /// Sends one rendered MIME message; returns the backend's message id.
    async fn send(&self, from: &Email, to: &Email, mime: &[u8]) -> Result<String, MailError>;
}

/// Sends through each mailer in turn (the local runner: the outbox, then SMTP); the last one's
/// answer counts.
pub struct AllOf(pub Vec<std::sync::Arc<dyn Mailer>>);

#[async_trait]
impl Mailer for AllOf {
    async fn send(&self, from: &Email, to: &Email, mime: &[u8]) -> Result<String, MailError> {
        let mut answer = Err(MailError::Rejected("no mailer configured".into()));
        for mailer in &self.0 {
            answer = Ok(mailer.send(from, to, mime).await?);
        }
        answer
    }
}
