use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;

use crate::domain::Email;

/// A rendered email, ready to become MIME.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailMessage {
    pub from: Email,
    pub from_name: Option<String>,
    pub to: Email,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Extra headers (`List-Unsubscribe`, `X-Gatehouse-Event`, …).
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("header {0} contains a line break")]
    HeaderInjection(String),
    #[error("invalid address: {0}")]
    Address(String),
    #[error("could not build the message: {0}")]
    Build(String),
}

fn no_line_breaks(name: &str, value: &str) -> Result<(), MessageError> {
    if value.contains(['\r', '\n']) {
        return Err(MessageError::HeaderInjection(name.to_string()));
    }
    Ok(())
}

/// A message ready for any backend: its parts (for APIs that take JSON) and its one MIME rendering
/// (for SES, SMTP, Mailgun, Mandrill and the outbox), so every backend sends the same message.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub message: EmailMessage,
    pub mime: Vec<u8>,
}

impl Outgoing {
    pub fn new(message: EmailMessage) -> Result<Self, MessageError> {
        let mime = message.to_mime()?;
        Ok(Self { message, mime })
    }
}

impl EmailMessage {
    /// Refuses CR or LF in the subject, the sender's name and every header: a line break there would
    /// let text become headers (`Bcc:`) or body.
    pub fn check_headers(&self) -> Result<(), MessageError> {
        no_line_breaks("Subject", &self.subject)?;
        if let Some(name) = &self.from_name {
            no_line_breaks("From", name)?;
        }
        for (name, value) in &self.headers {
            no_line_breaks(name, name)?;
            no_line_breaks(name, value)?;
        }
        Ok(())
    }

    /// The multipart/alternative MIME message (text first, then HTML), refusing CR or LF in any header.
    pub fn to_mime(&self) -> Result<Vec<u8>, MessageError> {
        self.check_headers()?;
        let from = Mailbox::new(
            self.from_name.clone(),
            self.from
                .as_str()
                .parse()
                .map_err(|_| MessageError::Address(self.from.to_string()))?,
        );
        let to = Mailbox::new(
            None,
            self.to
                .as_str()
                .parse()
                .map_err(|_| MessageError::Address(self.to.to_string()))?,
        );
        let mut builder = Message::builder().from(from).to(to).subject(&self.subject);
        for (name, value) in &self.headers {
            let header = HeaderName::new_from_ascii(name.clone())
                .map_err(|_| MessageError::Build(format!("bad header name {name}")))?;
            builder = builder.raw_header(HeaderValue::new(header, value.clone()));
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(self.text.clone(), self.html.clone()))
            .map_err(|e| MessageError::Build(e.to_string()))?;
        Ok(message.formatted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> EmailMessage {
        EmailMessage {
            from: Email::parse("portal@example.com").unwrap(),
            from_name: Some("Acme Portal".into()),
            to: Email::parse("dev@example.com").unwrap(),
            subject: "Welcome".into(),
            text: "Hello text".into(),
            html: "<p>Hello html</p>".into(),
            headers: vec![("X-Gatehouse-Event".into(), "evt_1".into())],
        }
    }

    #[test]
    fn builds_text_and_html_alternatives() {
        let mime = String::from_utf8(message().to_mime().unwrap()).unwrap();
        assert!(mime.contains("multipart/alternative"), "{mime}");
        assert!(mime.contains("text/plain"));
        assert!(mime.contains("text/html"));
        assert!(mime.contains("Subject: Welcome"));
        assert!(mime.contains("X-Gatehouse-Event: evt_1"));
        assert!(mime.contains("To: dev@example.com"));
    }

    #[test]
    fn refuses_line_breaks_in_headers() {
        let mut m = message();
        m.subject = "Hi\r\nBcc: x@example.com".into();
        assert!(matches!(m.to_mime(), Err(MessageError::HeaderInjection(_))));
        let mut m = message();
        m.from_name = Some("A\nB".into());
        assert!(m.to_mime().is_err());
        let mut m = message();
        m.headers.push(("X-Test".into(), "a\r\nb".into()));
        assert!(m.to_mime().is_err());
    }
}
