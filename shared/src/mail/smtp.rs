//! The mailer on an SMTP server: STARTTLS, implicit TLS or plain (local test servers only), with
//! optional authentication. Sends the very MIME bytes the other backends send.

use async_trait::async_trait;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{MailError, Mailer, Outgoing};
use crate::domain::Email;
use crate::secret::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Upgrade with STARTTLS (port 587); refuses servers that cannot.
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No encryption: only for a server on this machine.
    None,
}

#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub server: String,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub tls: SmtpTls,
}

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpMailer {
    pub fn new(settings: &SmtpSettings) -> Result<Self, MailError> {
        let builder = match settings.tls {
            SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.server),
            SmtpTls::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.server),
            SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &settings.server,
            )),
        }
        .map_err(|e| MailError::Rejected(format!("SMTP settings: {e}")))?;
        let mut builder = builder.port(settings.port);
        if let (Some(user), Some(password)) = (&settings.user, &settings.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_string()));
        }
        Ok(Self {
            transport: builder.build(),
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Outgoing) -> Result<String, MailError> {
        let (from, to, mime) = (&mail.message.from, &mail.message.to, mail.mime.as_slice());
        let parse = |e: &Email| {
            e.as_str()
                .parse()
                .map_err(|_| MailError::Rejected(format!("address {e}")))
        };
        let envelope =
            Envelope::new(Some(parse(from)?), vec![parse(to)?]).map_err(|e| MailError::Rejected(e.to_string()))?;
        let response = self.transport.send_raw(&envelope, mime).await.map_err(|e| {
            if e.is_permanent() {
                MailError::Rejected(e.to_string())
            } else {
                MailError::Unavailable(Box::new(e))
            }
        })?;
        Ok(response.message().collect::<Vec<_>>().join(" "))
    }
}
