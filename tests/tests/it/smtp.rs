//! Email through a real SMTP server (aiosmtpd, storing each message as a file), plain on loopback.

use gatehouse::mail::{Mailer, SmtpMailer, SmtpSettings, SmtpTls};
use gatehouse_tests::*;
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

/// An aiosmtpd server on a free loopback port, writing messages under `<dir>/new/`.
struct SmtpServer {
    port: u16,
    dir: PathBuf,
    process: std::process::Child,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl SmtpServer {
    async fn start() -> Self {
        let python =
            std::env::var("GATEHOUSE_TEST_PYTHON").expect("GATEHOUSE_TEST_PYTHON: run the suite with scripts/test");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // aiosmtpd's Mailbox handler wants a folder that does not exist yet.
        let dir = std::env::temp_dir().join(unique("gh-smtp"));
        let process = std::process::Command::new(python)
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting aiosmtpd");
        let up = eventually(Duration::from_secs(15), || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()
        })
        .await;
        assert!(up.is_some(), "aiosmtpd did not start");
        Self { port, dir, process }
    }

    fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("new")) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect()
    }

    fn settings(&self) -> SmtpSettings {
        SmtpSettings {
            server: "127.0.0.1".into(),
            port: self.port,
            user: None,
            password: None,
            tls: SmtpTls::None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_mailer_delivers_the_message() {
    let server = SmtpServer::start().await;
    let mailer = SmtpMailer::new(&server.settings()).unwrap();
    let to = unique_email();
    mailer
        .send(&test_mail("portal@gatehouse.local", &to, "Over SMTP"))
        .await
        .unwrap();
    let stored = eventually(Duration::from_secs(10), || async {
        server.messages().into_iter().next()
    })
    .await
    .expect("stored");
    assert!(stored.contains("Subject: Over SMTP"));
    assert!(stored.contains(&format!("To: {to}")));
    assert!(stored.contains("text part") && stored.contains("<p>html part</p>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_runner_also_sends_through_smtp_when_configured() {
    let server = SmtpServer::start().await;
    let mut config = test_config(Backend::Embedded);
    config.email_backend = Some(gatehouse::config::EmailBackend::Smtp(server.settings()));
    let app = spawn_app_with(config).await;
    let org = app.create_org(json!({"name": "Acme"})).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&org.id, &email).await.status(), 202);
    let over_smtp = eventually(Duration::from_secs(20), || async {
        server
            .messages()
            .into_iter()
            .find(|m| m.contains("Welcome to the Acme developer portal"))
    })
    .await;
    assert!(over_smtp.is_some(), "the welcome email went through the SMTP server");
    assert_eq!(app.emails_to(&email).await.len(), 1, "and into the outbox");
}
