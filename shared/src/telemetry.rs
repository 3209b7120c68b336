//! Logging: JSON lines in Lambda (CloudWatch Logs Insights parses them), readable text locally.
//! `RUST_LOG` filters; the default is `info`.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = if in_lambda {
        // Lambda adds its own timestamps and request ids to each line.
        builder.json().with_current_span(false).without_time().with_target(false).try_init()
    } else {
        builder.with_target(false).try_init()
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}
