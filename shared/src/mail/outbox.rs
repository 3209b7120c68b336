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
        let mime = mail.mime.clone();
        let id = ulid::Ulid::new().to_string().to_lowercase();
        let dir = self.dir.clone();
        // Written under a temporary name and renamed, so a reader never sees half a message; the
        // folder is made when a write finds it missing. One blocking task for the whole file.
        let partial = self.dir.join(format!(".{id}.partial"));
        let done = self.dir.join(format!("{id}.eml"));
        let written = tokio::task::spawn_blocking(move || {
            let write = || {
                std::fs::write(&partial, &mime)?;
                std::fs::rename(&partial, &done)
            };
            match write() {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    std::fs::create_dir_all(&dir)?;
                    write()
                }
                other => other,
            }
        })
        .await
        .map_err(|e| MailError::Unavailable(Box::new(e)))?;
        written.map_err(|e| MailError::Unavailable(Box::new(e)))?;
        Ok(id)
    }
}
