//! Logs and metrics.
//!
//! Logs: JSON lines in Lambda (CloudWatch Logs Insights parses them), readable text locally.
//! `RUST_LOG` filters by level and module ([`log_filter`]); the default is `info`.
//!
//! Metrics: the `metrics` facade, recorded in Lambda by `metrics_cloudwatch_embedded` and written
//! after each invocation as Embedded Metric Format documents on stdout, which CloudWatch turns into
//! metrics in the `Gatehouse` namespace ([`flush_metrics`]). Elsewhere no recorder is installed and
//! the calls cost nothing; the counts of withheld and refused work are logged too, so local runs
//! and tests see them.

use std::sync::OnceLock;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "Gatehouse";

pub fn init() {
    let filter = log_filter();
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        init_json(filter, std::io::stdout);
        init_metrics();
    } else {
        // A second init (tests) keeps the first subscriber.
        let _ = tracing_subscriber::fmt()
            .with_target(false)
            .finish()
            .with(filter)
            .try_init();
    }
}

/// The log filter `RUST_LOG` names: a level, and levels for modules (`info,gatehouse::pipeline=debug`);
/// `info` when it is unset or unreadable. Span and field filters are not read: they need a regex
/// engine, which would be most of a function's logging code.
pub fn log_filter() -> Targets {
    std::env::var("RUST_LOG")
        .ok()
        .and_then(|directives| directives.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
}

/// The JSON lines a Lambda function logs, to `writer` (stdout in Lambda; a counter in the cost
/// benchmark). Lambda adds its own timestamps and request ids to each line.
pub fn init_json<W>(filter: Targets, writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let _ = tracing_subscriber::fmt()
        .with_writer(writer)
        .json()
        .with_current_span(false)
        .without_time()
        .with_target(false)
        .finish()
        .with(filter)
        .try_init();
}

static COLLECTOR: OnceLock<&'static metrics_cloudwatch_embedded::Collector> = OnceLock::new();

/// Installs the Embedded Metric Format recorder for this process (once; later calls do nothing).
pub fn init_metrics() {
    COLLECTOR.get_or_init(|| {
        let collector = metrics_cloudwatch_embedded::Builder::new()
            .cloudwatch_namespace(NAMESPACE)
            .init()
            .expect("the namespace is set");
        // Units go to the recorder just installed.
        describe();
        collector
    });
}

/// Writes what was recorded since the last flush to `out`, one document per set of dimensions
/// (stdout after each Lambda invocation). Does nothing where no recorder is installed.
pub fn flush_metrics(out: impl std::io::Write) {
    if let Some(collector) = COLLECTOR.get() {
        if let Err(e) = collector.flush(out) {
            tracing::warn!(error = %e, "writing the metrics failed");
        }
    }
}

fn describe() {
    use metrics::Unit;
    metrics::describe_histogram!(DELIVERY_LATENCY, Unit::Milliseconds, "from the event to its delivery");
    metrics::describe_histogram!(
        STREAM_BATCH_AGE,
        Unit::Milliseconds,
        "age of a stream batch's oldest event"
    );
    for counter in [
        DELIVERIES,
        DELIVERIES_SKIPPED,
        REQUESTS,
        "EmailsSkipped",
        "RequestsRefused",
        "EndpointsDisabled",
    ] {
        metrics::describe_counter!(counter, Unit::Count, "");
    }
}

/// Deliveries by `Channel` (`email`, `webhook`) and `Outcome`: `sent`, `failed` (for good),
/// `retried` (failed, another attempt will come), `skipped`, `dead_lettered` (failed on the last
/// receive the queue allows).
pub const DELIVERIES: &str = "Deliveries";
/// Skipped deliveries by `Channel` and `Reason` (the delivery log's reason: `suppressed_address`,
/// `rate_limited`, `preference`, …).
pub const DELIVERIES_SKIPPED: &str = "DeliveriesSkipped";
/// Milliseconds from an event to each of its deliveries, by `Channel`.
pub const DELIVERY_LATENCY: &str = "DeliveryLatency";
/// Milliseconds from the oldest event of a stream batch to the event router taking it.
pub const STREAM_BATCH_AGE: &str = "StreamBatchAge";
/// HTTP API requests by `Route` (the route's template) and `Status` (`2xx`, `4xx`, `5xx`).
pub const REQUESTS: &str = "Requests";

/// Counts one occurrence of `metric` with the dimension `Reason`: withheld emails
/// (`EmailsSkipped`), refused requests (`RequestsRefused`), disabled endpoints
/// (`EndpointsDisabled`). Also logged.
pub fn count(metric: &'static str, reason: &str) {
    metrics::counter!(metric, "Reason" => reason.to_string()).increment(1);
    tracing::info!(metric, reason, "metric");
}

/// Counts how a delivery attempt ended.
pub fn delivery(channel: &str, outcome: &'static str) {
    metrics::counter!(DELIVERIES, "Channel" => channel.to_string(), "Outcome" => outcome).increment(1);
}

/// Counts a skipped delivery by its reason.
pub fn delivery_skipped(channel: &str, reason: &str) {
    metrics::counter!(DELIVERIES_SKIPPED, "Channel" => channel.to_string(), "Reason" => reason.to_string())
        .increment(1);
}

/// Records how long after its event a delivery was made.
pub fn delivery_latency(channel: &str, latency: std::time::Duration) {
    metrics::histogram!(DELIVERY_LATENCY, "Channel" => channel.to_string()).record(latency.as_secs_f64() * 1000.0);
}

/// Records the age of a stream batch's oldest event.
pub fn stream_batch_age(age: std::time::Duration) {
    metrics::histogram!(STREAM_BATCH_AGE).record(age.as_secs_f64() * 1000.0);
}

/// Counts an answered request by its route's template and its status class.
pub fn request(route: &str, status: u16) {
    let class = match status {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    metrics::counter!(REQUESTS, "Route" => route.to_string(), "Status" => class).increment(1);
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// Every document of a flush, as JSON.
    fn flushed() -> Vec<Value> {
        let mut out = Vec::new();
        super::flush_metrics(&mut out);
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn metrics_are_flushed_as_embedded_metric_format_documents() {
        super::init_metrics();
        flushed();
        super::count("EmailsSkipped", "disabled");
        super::count("EmailsSkipped", "disabled");
        super::delivery("webhook", "sent");
        super::delivery_latency("webhook", std::time::Duration::from_millis(42));
        let documents = flushed();
        let find = |metric: &str| {
            documents
                .iter()
                .find(|d| d.get(metric).is_some())
                .unwrap_or_else(|| panic!("no {metric} in {documents:?}"))
        };
        let skipped = find("EmailsSkipped");
        let directive = &skipped["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Gatehouse");
        assert_eq!(directive["Dimensions"][0], serde_json::json!(["Reason"]));
        assert_eq!(
            (skipped["EmailsSkipped"].as_f64(), skipped["Reason"].as_str()),
            (Some(2.0), Some("disabled"))
        );
        let sent = find("Deliveries");
        assert_eq!(
            (sent["Channel"].as_str(), sent["Outcome"].as_str()),
            (Some("webhook"), Some("sent"))
        );
        let latency = find("DeliveryLatency");
        assert_eq!(
            latency["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
            "Milliseconds"
        );
        assert!(
            flushed().iter().all(|d| d.get("EmailsSkipped").is_none()),
            "a flush empties the counts"
        );
    }
}
