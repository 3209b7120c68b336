//! Lambda init time of each function binary against a hello-world `lambda_runtime` binary built
//! with the same (release) profile: the time from starting the process to its first call for work
//! (`GET /2018-06-01/runtime/invocation/next`) on a stand-in Runtime API on loopback. That is what a
//! cold start adds before the handler runs, including reading the function's secrets from a
//! stand-in Secrets Manager on loopback. Medians of interleaved starts.
//!
//!     scripts/bench-init
//!
//! builds every function and hello with the release profile and the deploy's code-generation flags
//! (`.cargo/config.toml`) for this machine's architecture, and runs this with `LAMBDA_INIT_DIR`.
//! `LAMBDA_INIT_BINARIES=gatehouse-authorizer,gatehouse-usage` times those alone (with hello).

use gatehouse_tests::median;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ROUNDS: usize = 15;
const BINARIES: [&str; 7] = [
    "gatehouse-api",
    "gatehouse-event-router",
    "gatehouse-email-worker",
    "gatehouse-webhook-worker",
    "gatehouse-authorizer",
    "gatehouse-usage",
    "gatehouse-digest",
];

/// The binaries timed: hello first, then those `LAMBDA_INIT_BINARIES` names (every function's by
/// default).
fn binaries() -> Vec<String> {
    let chosen = std::env::var("LAMBDA_INIT_BINARIES").ok();
    let mut names = vec!["hello_lambda".to_string()];
    match chosen {
        Some(list) => names.extend(list.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty())),
        None => names.extend(BINARIES.iter().map(|s| s.to_string())),
    }
    names
}

/// Where the binaries are: `LAMBDA_INIT_DIR` (`scripts/bench-init` builds them there with the
/// deploy's flags), else the host's release folder.
fn release_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LAMBDA_INIT_DIR") {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("release")
}

fn binary(name: &str) -> PathBuf {
    let dir = release_dir();
    let path = if name == "hello_lambda" {
        dir.join("examples").join(name)
    } else {
        dir.join(name)
    };
    assert!(
        path.is_file(),
        "{} is not built: see the build command at the top of this file",
        path.display()
    );
    path
}

/// A Runtime API that notes when the first `next` call arrives and never hands out work.
async fn runtime_api(first_call: Arc<Mutex<Option<Instant>>>) -> std::net::SocketAddr {
    let app = axum::Router::new().fallback(move || {
        let first_call = first_call.clone();
        async move {
            first_call.lock().unwrap().get_or_insert_with(Instant::now);
            tokio::time::sleep(Duration::from_secs(3600)).await;
            ""
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

/// A stand-in Secrets Manager answering `BatchGetSecretValue` (the one call a function makes at
/// start, on loopback) with a root key for an ARN naming one and a sealing key otherwise.
async fn secrets_manager() -> std::net::SocketAddr {
    let app = axum::Router::new().fallback(|body: String| async move {
        let request: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let entries: Vec<serde_json::Value> = request["SecretIdList"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|id| id.as_str())
            .map(|id| {
                let value = if id.contains("root") {
                    "gh_root_benchmark_key_long_enough_0123456789"
                } else {
                    "a_sealing_key_of_sixty_four_characters_0123456789_abcdefghijklmn"
                };
                serde_json::json!({"ARN": id, "Name": "bench", "SecretString": value, "VersionId": "v1"})
            })
            .collect();
        (
            [("content-type", "application/x-amz-json-1.1")],
            serde_json::json!({"SecretValues": entries, "Errors": []}).to_string(),
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

async fn init_time(name: &str, secrets: std::net::SocketAddr) -> Duration {
    let first_call: Arc<Mutex<Option<Instant>>> = Arc::default();
    let address = runtime_api(first_call.clone()).await;
    let started = Instant::now();
    let mut child = std::process::Command::new(binary(name))
        .env_clear()
        .envs([
            ("AWS_LAMBDA_RUNTIME_API", address.to_string().as_str()),
            ("AWS_LAMBDA_FUNCTION_NAME", name),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "bench"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            (
                "GATEHOUSE_ROOT_KEY_SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:000000000000:secret:root-AbCdEf",
            ),
            (
                "GATEHOUSE_SECRET_KEY_SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:000000000000:secret:sealing-AbCdEf",
            ),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", &format!("http://{secrets}")),
            ("TABLE_NAME", "gatehouse"),
            (
                "EMAIL_QUEUE_URL",
                "https://sqs.us-east-1.amazonaws.com/000000000000/email",
            ),
            (
                "WEBHOOK_QUEUE_URL",
                "https://sqs.us-east-1.amazonaws.com/000000000000/webhook",
            ),
            ("FROM_EMAIL", "portal@example.com"),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting the function");
    let deadline = started + Duration::from_secs(10);
    let arrived = loop {
        if let Some(at) = *first_call.lock().unwrap() {
            break at;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{name} exited during init: {status}");
        }
        assert!(Instant::now() < deadline, "{name} never asked for work");
        tokio::time::sleep(Duration::from_micros(200)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    arrived - started
}

#[tokio::main]
async fn main() {
    let names = binaries();
    let secrets = secrets_manager().await;
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
    for _ in 0..ROUNDS {
        for (i, name) in names.iter().enumerate() {
            samples[i].push(init_time(name, secrets).await);
        }
    }
    let medians: Vec<Duration> = samples.into_iter().map(median).collect();
    let baseline = medians[0].as_secs_f64();
    println!("init time, median of {ROUNDS} starts (process start to first /next):");
    for (name, m) in names.iter().zip(&medians) {
        let size = std::fs::metadata(binary(name))
            .map(|m| m.len() as f64 / 1_048_576.0)
            .unwrap_or(0.0);
        println!(
            "  {name:<26} {:>7.1} ms  ({:>4.1}x hello)  {size:>5.1} MiB",
            m.as_secs_f64() * 1000.0,
            m.as_secs_f64() / baseline
        );
    }
}
