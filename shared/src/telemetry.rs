//! Logging: JSON lines in Lambda (CloudWatch Logs Insights parses them), readable text locally.
//! `RUST_LOG` filters; the default is `info`.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        init_json(filter, std::io::stdout);
    } else {
        // A second init (tests) keeps the first subscriber.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_target(false)
            .try_init();
    }
}

/// The JSON lines a Lambda function logs, to `writer` (stdout in Lambda; a counter in the cost
/// benchmark). Lambda adds its own timestamps and request ids to each line.
pub fn init_json<W>(filter: EnvFilter, writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .json()
        .with_current_span(false)
        .without_time()
        .with_target(false)
        .try_init();
}

/// Counts one occurrence of `metric` for CloudWatch, as an Embedded Metric Format line on stdout
/// (Lambda ships stdout to CloudWatch Logs, which turns the line into a metric in the `Gatehouse`
/// namespace, dimension `Reason`). Also logged, so local runs and tests see it.
pub fn count(metric: &'static str, reason: &str) {
    println!(
        "{}",
        emf_line(metric, reason, time::OffsetDateTime::now_utc().unix_timestamp() * 1000)
    );
    tracing::info!(metric, reason, "metric");
}

/// The Embedded Metric Format line of one count.
pub fn emf_line(metric: &str, reason: &str, timestamp_ms: i64) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": "Gatehouse",
                "Dimensions": [["Reason"]],
                "Metrics": [{"Name": metric, "Unit": "Count"}],
            }],
        },
        "Reason": reason,
        metric: 1,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn metrics_are_embedded_metric_format() {
        let line: serde_json::Value =
            serde_json::from_str(&super::emf_line("EmailsSkipped", "disabled", 1_700_000_000_000)).unwrap();
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "EmailsSkipped"
        );
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][0], "Reason");
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000i64);
        assert_eq!(
            (line["EmailsSkipped"].as_i64(), line["Reason"].as_str()),
            (Some(1), Some("disabled"))
        );
    }
}
