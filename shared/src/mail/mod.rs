//! The mailer port and the one MIME message every backend sends: the same bytes go to SES (as a raw
//! message), to an SMTP server, and into the local outbox as an `.eml` file.

mod message;
mod outbox;
mod ses;

pub use message::{EmailMessage, MessageError};
pub use outbox::OutboxMailer;
pub use ses::SesMailer;

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
