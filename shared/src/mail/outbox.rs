//! The local mailer: each message becomes an `.eml` file in a folder, readable by any mail client.

use async_trait::async_trait;
use std::path::PathBuf;

use super::{MailError, Mailer, Outgoing};

#[derive(Debug, Clone)]
pub struct OutboxMailer {
    dir: PathBuf,
}

impl OutboxMailer {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: &Outgoing) -> Result<String, MailError> {
        let mime = &mail.mime;
        let id = ulid::Ulid::new().to_string().to_lowercase();
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| MailError::Unavailable(Box::new(e)))?;
        // Written under a temporary name and renamed, so a reader never sees half a message.
        let partial = self.dir.join(format!(".{id}.partial"));
        let done = self.dir.join(format!("{id}.eml"));
        tokio::fs::write(&partial, mime)
            .await
            .map_err(|e| MailError::Unavailable(Box::new(e)))?;
        tokio::fs::rename(&partial, &done)
            .await
            .map_err(|e| MailError::Unavailable(Box::new(e)))?;
        Ok(id)
    }
}
