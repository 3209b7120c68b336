//! The local mailer: each message becomes an `.eml` file in a folder, readable by any mail client.

use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use super::{MailError, Mailer, Outgoing};

/// A message waiting for the outbox's writer, with where to say how its write went.
struct PendingFile {
    id: String,
    mime: Vec<u8>,
    written: tokio::sync::oneshot::Sender<std::io::Result<()>>,
}

/// Writes messages into a folder. The files are written by one thread of the mailer's own: a busy
/// outbox then takes message after message from its channel without a wake-up per message, which
/// a blocking task per file would cost (a thread handed each one, and a futex each time).
#[derive(Debug, Clone)]
pub struct OutboxMailer {
    dir: PathBuf,
    writer: mpsc::Sender<PendingFile>,
}

impl OutboxMailer {
    /// The mailer, and its writer thread, which ends when the last clone of the mailer is dropped.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        let (writer, pending) = mpsc::channel::<PendingFile>();
        let folder = dir.clone();
        std::thread::Builder::new()
            .name("outbox-writer".into())
            .spawn(move || {
                for file in pending {
                    let _ = file.written.send(write_message(&folder, &file.id, &file.mime));
                }
            })
            .expect("the outbox's writer thread starts");
        Self { dir, writer }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Writes `{id}.eml` under a temporary name and renames it, so a reader never sees half a message;
/// the folder is made when a write finds it missing.
fn write_message(dir: &Path, id: &str, mime: &[u8]) -> std::io::Result<()> {
    let partial = dir.join(format!(".{id}.partial"));
    let done = dir.join(format!("{id}.eml"));
    let write = || {
        std::fs::write(&partial, mime)?;
        std::fs::rename(&partial, &done)
    };
    match write() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)?;
            write()
        }
        other => other,
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: &Outgoing) -> Result<String, MailError> {
        let id = ulid::Ulid::new().to_string().to_lowercase();
        let (written, outcome) = tokio::sync::oneshot::channel();
        let gone = || MailError::Unavailable(Box::new(std::io::Error::other("the outbox's writer stopped")));
        self.writer
            .send(PendingFile {
                id: id.clone(),
                mime: mail.mime.clone(),
                written,
            })
            .map_err(|_| gone())?;
        let result = outcome.await.map_err(|_| gone())?;
        result.map_err(|e| MailError::Unavailable(Box::new(e)))?;
        Ok(id)
    }
}
