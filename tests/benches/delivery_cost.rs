//! What one notification costs in AWS calls, counted end to end on the emulator.
//!
//! Each function is built as its Lambda builds it (`app::aws`), with an SDK configuration of its
//! own whose endpoint is a counting proxy in front of a private emulator: the API, the event router
//! (fed by the table's stream), the email worker (SES v2) and the webhook worker (a real HTTP
//! receiver). The workers are fed by the local pollers, which receive and delete in batches of ten
//! as Lambda's event source mapping does. Two runs: events of an organisation whose `api_event`
//! notifications go to an email address, then of one whose go to a webhook. After each, every call
//! the router and the worker made is priced:
//! - DynamoDB on demand: request units from the sizes of the items read and written (the proxy reads
//!   each written item before and after the write, unbilled, to size it; index writes included;
//!   transactions twice; eventually consistent reads half);
//! - SQS: one request per 64 KB of each call; Lambda: invocations and GB-seconds (each handler call
//!   timed, rounded up to the millisecond, at the template's memory size); CloudWatch Logs: the
//!   bytes the functions log (JSON lines as in Lambda, with the metric lines and Lambda's own
//!   START/END/REPORT lines).
//!
//! Each run raises its events first; the router then takes them, and the workers the jobs once all
//! are queued, so every batch is as full as the template's event source mappings allow, as in a
//! busy deployment (a quiet one makes the same calls per notification but fills fewer messages into
//! each receive and invocation).
//!
//! The stream reads of the event source mapping are free and SES's own per-email price is left out
//! (it is the same whatever Gatehouse does). The API's calls to accept each event are priced on a
//! line of their own, per event. Prices are us-east-1 list prices, printed with the result.
//!
//!     scripts/bench-cost [events per run, default 200]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use aws_lambda_events::streams::DynamoDbEventResponse;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use base64::Engine;
use gatehouse::app::{aws, sdk_config, AwsClients};
use gatehouse::config::{Config, EmailBackend};
use gatehouse::pipeline::StreamSource;
use gatehouse::pipeline::{poll_queue, poll_stream, DynamoStreamSource};
use gatehouse::pipeline::{QueueHandler, StreamHandler};
use gatehouse::queue::{JobScheduler, JobSource, QueueError, QueueSpec, ReceivedMessage, SqsQueue};
use gatehouse::store::TableSpec;
use gatehouse_tests::*;
use serde_json::{json, Map, Value};

/// us-east-1 list prices, in dollars.
struct Prices {
    write_unit: f64,
    read_unit: f64,
    sqs_request: f64,
    lambda_request: f64,
    lambda_gb_second: f64,
    log_gb: f64,
}

/// DynamoDB on demand since 1 Nov 2024 ($0.625 per million write units, $0.125 per million read
/// units), SQS standard, Lambda on arm64 (as the template builds it), CloudWatch Logs ingestion.
const PRICES: Prices = Prices {
    write_unit: 0.625e-6,
    read_unit: 0.125e-6,
    sqs_request: 0.40e-6,
    lambda_request: 0.20e-6,
    lambda_gb_second: 0.000_013_333_4,
    log_gb: 0.50,
};

/// DynamoDB's on-demand prices before that cut, for comparison with figures quoted at them.
const OLD_DYNAMODB: (f64, f64) = (1.25e-6, 0.25e-6);

/// The goal per 1M notifications of each channel.
const GOAL: f64 = 1.50;

/// Lambda's START, END and REPORT lines for one invocation, roughly.
const PLATFORM_LOG_BYTES: u64 = 330;

/// One call a function made, as the proxy saw it.
#[derive(Debug, Clone)]
struct Call {
    function: &'static str,
    /// `DynamoDB.PutItem`, `SQS.ReceiveMessage`, `SES.SendEmail`, `Streams.GetRecords`.
    operation: String,
    write_units: f64,
    read_units: f64,
    sqs_requests: f64,
    /// Messages received, sent or deleted (SQS).
    messages: usize,
}

#[derive(Default)]
struct Ledger {
    recording: AtomicBool,
    calls: Mutex<Vec<Call>>,
    /// When a function last did work (a write, a message moved), recorded or not.
    last_work: Mutex<Option<Instant>>,
}

impl Ledger {
    fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

#[derive(Clone)]
struct Proxy {
    function: &'static str,
    upstream: String,
    client: reqwest::Client,
    ledger: Arc<Ledger>,
}

/// Starts a counting proxy for `function` in front of `upstream`; returns its address.
async fn start_proxy(function: &'static str, upstream: &str, ledger: Arc<Ledger>) -> String {
    let proxy = Proxy {
        function,
        upstream: upstream.to_string(),
        client: reqwest::Client::new(),
        ledger,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

async fn forward(
    State(proxy): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, HeaderMap, Bytes) {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let dynamodb_write = target
        .strip_prefix("DynamoDB_20120810.")
        .is_some_and(|op| WRITES.contains(&op));
    let before = if dynamodb_write {
        proxy.items_of(&request, &headers).await
    } else {
        Vec::new()
    };
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut upstream = proxy
        .client
        .request(method.clone(), format!("{}{path}", proxy.upstream))
        .body(body.clone());
    for (name, value) in &headers {
        if !matches!(name.as_str(), "host" | "content-length") {
            upstream = upstream.header(name, value);
        }
    }
    let Ok(answer) = upstream.send().await else {
        return (StatusCode::BAD_GATEWAY, HeaderMap::new(), Bytes::new());
    };
    let status = answer.status();
    let mut out_headers = HeaderMap::new();
    for (name, value) in answer.headers() {
        if !matches!(name.as_str(), "content-length" | "transfer-encoding" | "connection") {
            out_headers.insert(name.clone(), value.clone());
        }
    }
    let response_body = answer.bytes().await.unwrap_or_default();
    let response: Value = serde_json::from_slice(&response_body).unwrap_or(Value::Null);
    let after = if dynamodb_write && status.is_success() {
        proxy.items_of(&request, &headers).await
    } else {
        before.clone()
    };
    let call = proxy.price(
        &target,
        &uri,
        &request,
        &response,
        &before,
        &after,
        body.len() + response_body.len(),
    );
    if call.write_units > 0.0 || call.messages > 0 {
        *proxy.ledger.last_work.lock().unwrap() = Some(Instant::now());
    }
    if proxy.ledger.recording.load(Ordering::SeqCst) {
        proxy.ledger.calls.lock().unwrap().push(call);
    }
    (
        StatusCode::from_u16(status.as_u16()).unwrap(),
        out_headers,
        response_body,
    )
}

const WRITES: [&str; 5] = [
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "TransactWriteItems",
    "BatchWriteItem",
];

/// The table's indexes (both project every attribute): their key attributes.
const INDEXES: [(&str, &str); 2] = [("GSI1PK", "GSI1SK"), ("GSI2PK", "GSI2SK")];

/// One item a write touches: its table and key, whether the write is transactional, and the item
/// as it is (if it exists).
#[derive(Debug, Clone)]
struct Touched {
    transactional: bool,
    item: Option<Map<String, Value>>,
}

impl Proxy {
    /// Every item `request` (a DynamoDB write) touches, as stored now (read unbilled).
    async fn items_of(&self, request: &Value, headers: &HeaderMap) -> Vec<Touched> {
        let mut keys: Vec<(String, Value, bool)> = Vec::new();
        let key_of = |item: &Value| json!({"PK": item["PK"], "SK": item["SK"]});
        if let Some(items) = request["TransactItems"].as_array() {
            for entry in items {
                for (kind, write) in entry.as_object().into_iter().flatten() {
                    let key = if kind == "Put" {
                        key_of(&write["Item"])
                    } else {
                        write["Key"].clone()
                    };
                    keys.push((write["TableName"].as_str().unwrap_or_default().into(), key, true));
                }
            }
        } else if let Some(tables) = request["RequestItems"].as_object() {
            for (table, writes) in tables {
                for w in writes.as_array().into_iter().flatten() {
                    let key = match (&w["PutRequest"], &w["DeleteRequest"]) {
                        (Value::Object(put), _) => key_of(&put["Item"]),
                        (_, delete) => delete["Key"].clone(),
                    };
                    keys.push((table.clone(), key, false));
                }
            }
        } else {
            let key = if request["Item"].is_object() {
                key_of(&request["Item"])
            } else {
                request["Key"].clone()
            };
            keys.push((request["TableName"].as_str().unwrap_or_default().into(), key, false));
        }
        let mut touched = Vec::new();
        for (table, key, transactional) in keys {
            let mut read = self
                .client
                .post(format!("{}/", self.upstream))
                .header("x-amz-target", "DynamoDB_20120810.GetItem")
                .header("content-type", "application/x-amz-json-1.0")
                .json(&json!({"TableName": table, "Key": key, "ConsistentRead": true}));
            if let Some(auth) = headers.get("authorization") {
                read = read.header("authorization", auth);
            }
            let answer: Value = match read.send().await {
                Ok(answer) => answer.json().await.unwrap_or(Value::Null),
                Err(_) => Value::Null,
            };
            touched.push(Touched {
                transactional,
                item: answer["Item"].as_object().cloned(),
            });
        }
        touched
    }

    #[allow(clippy::too_many_arguments)]
    fn price(
        &self,
        target: &str,
        uri: &Uri,
        request: &Value,
        response: &Value,
        before: &[Touched],
        after: &[Touched],
        bytes: usize,
    ) -> Call {
        let mut call = Call {
            function: self.function,
            operation: String::new(),
            write_units: 0.0,
            read_units: 0.0,
            sqs_requests: 0.0,
            messages: 0,
        };
        if let Some(op) = target.strip_prefix("DynamoDB_20120810.") {
            call.operation = format!("DynamoDB.{op}");
            if WRITES.contains(&op) {
                call.write_units = write_units(before, after);
            } else {
                call.read_units = read_units(op, request, response);
            }
        } else if let Some(op) = target.strip_prefix("DynamoDBStreams_20120810.") {
            call.operation = format!("Streams.{op}");
        } else if let Some(op) = target.strip_prefix("AmazonSQS.") {
            call.operation = format!("SQS.{op}");
            call.sqs_requests = (bytes as f64 / 65_536.0).ceil().max(1.0);
            call.messages = match op {
                "ReceiveMessage" => response["Messages"].as_array().map_or(0, Vec::len),
                "SendMessageBatch" | "DeleteMessageBatch" => request["Entries"].as_array().map_or(0, Vec::len),
                "SendMessage" | "DeleteMessage" => 1,
                _ => 0,
            };
        } else if uri.path().starts_with("/v2/email/outbound-emails") {
            call.operation = "SES.SendEmail".into();
        } else {
            call.operation = format!("other {}", uri.path());
        }
        call
    }
}

/// Write units of one write: each item by the larger of its sizes before and after (a failed
/// condition still pays), twice in a transaction; each index entry it puts or removes.
fn write_units(before: &[Touched], after: &[Touched]) -> f64 {
    let units = |bytes: usize| (bytes as f64 / 1024.0).ceil().max(1.0);
    let mut total = 0.0;
    for (old, new) in before.iter().zip(after) {
        let old_size = old.item.as_ref().map_or(0, item_size);
        let new_size = new.item.as_ref().map_or(0, item_size);
        let base = units(old_size.max(new_size));
        total += if new.transactional { 2.0 * base } else { base };
        if old.item == new.item {
            continue;
        }
        for (pk, sk) in INDEXES {
            let entry = |item: &Option<Map<String, Value>>| {
                item.as_ref()
                    .filter(|i| i.contains_key(pk) && i.contains_key(sk))
                    .map(|i| ((i[pk].clone(), i[sk].clone()), item_size(i)))
            };
            total += match (entry(&old.item), entry(&new.item)) {
                (Some((old_key, a)), Some((new_key, b))) if old_key == new_key => units(a.max(b)),
                (Some((_, a)), Some((_, b))) => units(a) + units(b),
                (Some((_, a)), None) => units(a),
                (None, Some((_, b))) => units(b),
                (None, None) => 0.0,
            };
        }
    }
    total
}

/// Read units of one read, from the items it returned.
fn read_units(op: &str, request: &Value, response: &Value) -> f64 {
    let blocks = |bytes: usize| (bytes as f64 / 4096.0).ceil().max(1.0);
    let consistent = |r: &Value| r["ConsistentRead"].as_bool() == Some(true) && r["IndexName"].is_null();
    let factor = |r: &Value| if consistent(r) { 1.0 } else { 0.5 };
    let size = |v: &Value| v.as_object().map_or(0, item_size);
    match op {
        "GetItem" => blocks(size(&response["Item"])) * factor(request),
        "Query" | "Scan" => {
            let total: usize = response["Items"].as_array().into_iter().flatten().map(size).sum();
            blocks(total) * factor(request)
        }
        "BatchGetItem" => {
            let mut units = 0.0;
            for (table, items) in response["Responses"].as_object().into_iter().flatten() {
                let f = factor(&request["RequestItems"][table]);
                for item in items.as_array().into_iter().flatten() {
                    units += blocks(size(item)) * f;
                }
            }
            units
        }
        "TransactGetItems" => response["Responses"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| 2.0 * blocks(size(&r["Item"])))
            .sum(),
        _ => 0.0,
    }
}

/// An item's size as DynamoDB counts it: each attribute's name and value.
fn item_size(item: &Map<String, Value>) -> usize {
    item.iter().map(|(name, value)| name.len() + value_size(value)).sum()
}

fn value_size(value: &Value) -> usize {
    let Some((kind, v)) = value.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    fn strings(v: &Value) -> Vec<&str> {
        v.as_array().into_iter().flatten().filter_map(Value::as_str).collect()
    }
    match kind.as_str() {
        "S" => v.as_str().map_or(0, str::len),
        "N" => number_size(v.as_str().unwrap_or("0")),
        "B" => binary_size(v.as_str().unwrap_or_default()),
        "BOOL" | "NULL" => 1,
        "SS" => strings(v).iter().map(|s| s.len()).sum(),
        "NS" => strings(v).iter().map(|s| number_size(s)).sum(),
        "BS" => strings(v).iter().map(|s| binary_size(s)).sum(),
        "L" => {
            3 + v
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| 1 + value_size(e))
                .sum::<usize>()
        }
        "M" => {
            3 + v
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, e)| 1 + name.len() + value_size(e))
                .sum::<usize>()
        }
        _ => 0,
    }
}

/// A number takes about one byte per two significant digits, plus one.
fn number_size(n: &str) -> usize {
    let digits: String = n.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len().max(1);
    significant.div_ceil(2) + 1
}

fn binary_size(b: &str) -> usize {
    base64::engine::general_purpose::STANDARD
        .decode(b)
        .map_or(b.len(), |d| d.len())
}

/// What Lambda bills for a function's invocations: how many, and their durations rounded up to
/// the millisecond.
#[derive(Default)]
struct Invocations {
    count: AtomicU64,
    billed_ms: AtomicU64,
}

impl Invocations {
    fn time(&self, started: Instant) {
        self.count.fetch_add(1, Ordering::Relaxed);
        let ms = started.elapsed().as_micros().div_ceil(1000) as u64;
        self.billed_ms.fetch_add(ms.max(1), Ordering::Relaxed);
    }

    fn take(&self) -> (u64, u64) {
        (
            self.count.swap(0, Ordering::Relaxed),
            self.billed_ms.swap(0, Ordering::Relaxed),
        )
    }
}

/// A handler called as Lambda calls it: timed, and its metrics written after each invocation.
struct TimedStream<H>(H, Arc<Invocations>, LogBytes);

#[async_trait]
impl<H: StreamHandler> StreamHandler for TimedStream<H> {
    async fn handle(&self, event: StreamEvent) -> DynamoDbEventResponse {
        let started = Instant::now();
        let response = self.0.handle(event).await;
        gatehouse::telemetry::flush_metrics(self.2.clone());
        self.1.time(started);
        response
    }
}

struct TimedQueue<H>(H, Arc<Invocations>, LogBytes);

#[async_trait]
impl<H: QueueHandler> QueueHandler for TimedQueue<H> {
    async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let started = Instant::now();
        let response = self.0.handle(event).await;
        gatehouse::telemetry::flush_metrics(self.2.clone());
        self.1.time(started);
        response
    }
}

/// Holds pollers back: while a run's events are raised, and while the router queues their jobs,
/// so that each batch is as full as the template's event source mappings allow (a busy
/// deployment; a quiet one pays the same per call but fills fewer messages into each).
#[derive(Clone)]
struct Hold(Arc<tokio::sync::watch::Sender<bool>>);

impl Hold {
    fn new() -> Self {
        Self(Arc::new(tokio::sync::watch::channel(false).0))
    }

    fn set(&self, held: bool) {
        self.0.send_replace(held);
    }

    async fn passed(&self) {
        let mut held = self.0.subscribe();
        let _ = held.wait_for(|held| !held).await;
    }
}

struct HeldQueue(SqsQueue, Hold);

#[async_trait]
impl JobScheduler for HeldQueue {
    async fn retry_after(&self, receipt_handle: &str, delay: Duration) -> Result<(), QueueError> {
        self.0.retry_after(receipt_handle, delay).await
    }
}

#[async_trait]
impl JobSource for HeldQueue {
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<ReceivedMessage>, QueueError> {
        self.1.passed().await;
        self.0.receive(max, wait).await
    }

    async fn delete(&self, receipt_handle: &str) -> Result<(), QueueError> {
        self.0.delete(receipt_handle).await
    }

    async fn delete_many(&self, receipt_handles: &[String]) -> Result<(), QueueError> {
        self.0.delete_many(receipt_handles).await
    }

    fn arn(&self) -> &str {
        self.0.arn()
    }
}

struct HeldStream(DynamoStreamSource, Hold);

#[async_trait]
impl StreamSource for HeldStream {
    async fn next_batch(&mut self) -> anyhow::Result<Vec<aws_lambda_events::dynamodb::EventRecord>> {
        self.1.passed().await;
        self.0.next_batch().await
    }

    async fn retry_from(&mut self, sequence_number: &str) -> anyhow::Result<()> {
        self.0.retry_from(sequence_number).await
    }
}

/// Counts what the functions log, in the JSON lines they write in Lambda.
#[derive(Clone, Default)]
struct LogBytes(Arc<AtomicU64>);

impl std::io::Write for LogBytes {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The template's memory size for the pipeline's functions (`Globals`), in GB.
fn memory_gb() -> f64 {
    let template = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let globals = &template[template.find("\nGlobals:").expect("the template has Globals")..];
    let mb: f64 = globals
        .lines()
        .find_map(|l| l.trim().strip_prefix("MemorySize:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("Globals set MemorySize");
    mb / 1024.0
}

/// One channel's run, priced.
struct Bill {
    channel: &'static str,
    notifications: usize,
    /// $ per 1M notifications by function and line ("router DynamoDB writes", ...).
    lines: BTreeMap<String, f64>,
    /// Calls per notification by function and operation.
    calls: BTreeMap<String, (f64, f64)>,
    total: f64,
    total_old_dynamodb: f64,
    /// $ per 1M events for the API to accept them.
    api_per_event: f64,
    /// Empty receives during the run (left out of the total).
    idle_receives: f64,
}

fn bill(
    channel: &'static str,
    notifications: usize,
    calls: &[Call],
    invocations: &[(&'static str, (u64, u64))],
    log_bytes: u64,
    gb: f64,
) -> Bill {
    let per_million = 1e6 / notifications as f64;
    let mut lines: BTreeMap<String, f64> = BTreeMap::new();
    let mut counted: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    let (mut writes, mut reads, mut api) = (0.0, 0.0, 0.0);
    let mut idle = 0.0;
    for c in calls {
        // A poll that found nothing is the fixed cost of an idle queue (Lambda's pollers long-poll
        // each queue around the clock), not a notification's.
        if c.operation == "SQS.ReceiveMessage" && c.messages == 0 {
            idle += c.sqs_requests;
            continue;
        }
        let dollars =
            c.write_units * PRICES.write_unit + c.read_units * PRICES.read_unit + c.sqs_requests * PRICES.sqs_request;
        if c.function == "api" {
            api += dollars;
            continue;
        }
        writes += c.write_units;
        reads += c.read_units;
        let service = c.operation.split('.').next().unwrap_or_default();
        *lines.entry(format!("{} {service}", c.function)).or_default() += dollars * per_million;
        let entry = counted.entry(format!("{} {}", c.function, c.operation)).or_default();
        entry.0 += 1.0 / notifications as f64;
        entry.1 += (c.write_units + c.read_units + c.sqs_requests) / notifications as f64;
    }
    for (function, (count, billed_ms)) in invocations {
        let dollars = *count as f64 * PRICES.lambda_request + *billed_ms as f64 / 1000.0 * gb * PRICES.lambda_gb_second;
        *lines.entry(format!("{function} Lambda")).or_default() += dollars * per_million;
    }
    let platform: u64 = invocations
        .iter()
        .map(|(_, (count, _))| count * PLATFORM_LOG_BYTES)
        .sum();
    lines.insert(
        "all CloudWatch Logs".into(),
        (log_bytes + platform) as f64 / 1e9 * PRICES.log_gb * per_million,
    );
    let total: f64 = lines.values().sum();
    let old_extra =
        (writes * (OLD_DYNAMODB.0 - PRICES.write_unit) + reads * (OLD_DYNAMODB.1 - PRICES.read_unit)) * per_million;
    Bill {
        channel,
        notifications,
        lines,
        calls: counted,
        total,
        total_old_dynamodb: total + old_extra,
        api_per_event: api * per_million,
        idle_receives: idle,
    }
}

struct Deployment {
    app: String,
    http: reqwest::Client,
    root_key: String,
    ledger: Arc<Ledger>,
    invocations: Vec<(&'static str, Arc<Invocations>)>,
    log_bytes: LogBytes,
    router_hold: Hold,
    worker_hold: Hold,
}

impl Deployment {
    async fn create_org(&self, id: &str, event_options: Value) -> String {
        let answer: Value = self
            .http
            .post(format!("{}/orgs", self.app))
            .bearer_auth(&self.root_key)
            .json(&json!({"id": id, "name": id, "event_options": event_options}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["admin_key"]
            .as_str()
            .expect("the organisation was made")
            .to_string()
    }

    /// Waits until no function has done any work for two seconds.
    async fn quiet(&self) {
        loop {
            let last = *self.ledger.last_work.lock().unwrap();
            if last.is_none_or(|t| t.elapsed() > Duration::from_secs(2)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Raises `events` events in `org`, waits until `delivered()` reaches them and every job is
    /// acknowledged, and prices what the router and the worker did.
    async fn run<F>(&self, channel: &'static str, org: &str, admin_key: &str, events: usize, delivered: F) -> Bill
    where
        F: Fn(&[Call]) -> usize,
    {
        self.quiet().await;
        for (_, i) in &self.invocations {
            i.take();
        }
        self.log_bytes.0.store(0, Ordering::Relaxed);
        self.ledger.take();
        self.ledger.recording.store(true, Ordering::SeqCst);
        self.router_hold.set(true);
        self.worker_hold.set(true);
        let posts = futures::stream::iter(0..events).map(|i| {
            let request = self
                .http
                .post(format!("{}/orgs/{org}/apis", self.app))
                .bearer_auth(admin_key)
                .json(&json!({"name": format!("API {i}")}));
            async move { request.send().await.unwrap().status() }
        });
        use futures::StreamExt;
        // One at a time: the emulator answers concurrent transactions on one table with a 500.
        let statuses: Vec<_> = posts.buffered(1).collect().await;
        assert!(
            statuses.iter().all(|s| s.is_success()),
            "every event was accepted: {statuses:?}"
        );
        let deadline = Instant::now() + Duration::from_secs(600);
        // What was logged so far is the API's, accepting the events.
        let api_log_bytes = self.log_bytes.0.swap(0, Ordering::Relaxed);
        self.router_hold.set(false);
        loop {
            let queued: usize = self
                .ledger
                .calls
                .lock()
                .unwrap()
                .iter()
                .filter(|c| c.function == "router" && c.operation == "SQS.SendMessageBatch")
                .map(|c| c.messages)
                .sum();
            if queued >= events {
                break;
            }
            assert!(Instant::now() < deadline, "{queued} of {events} jobs queued");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.worker_hold.set(false);
        loop {
            let (done, acknowledged) = {
                let calls = self.ledger.calls.lock().unwrap();
                let acknowledged: usize = calls
                    .iter()
                    .filter(|c| c.function == channel && c.operation.starts_with("SQS.Delete"))
                    .map(|c| c.messages)
                    .sum();
                (delivered(&calls), acknowledged)
            };
            if done >= events && acknowledged >= events {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{done} of {events} delivered, {acknowledged} acknowledged"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.quiet().await;
        self.ledger.recording.store(false, Ordering::SeqCst);
        let calls = self.ledger.take();
        let invocations: Vec<_> = self.invocations.iter().map(|(f, i)| (*f, i.take())).collect();
        let mut bill = bill(
            channel,
            events,
            &calls,
            &invocations,
            self.log_bytes.0.load(Ordering::Relaxed),
            memory_gb(),
        );
        bill.api_per_event += api_log_bytes as f64 / 1e9 * PRICES.log_gb * 1e6 / events as f64;
        bill
    }
}

#[tokio::main]
async fn main() {
    let events: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .or_else(|| std::env::var("BENCH_EVENTS").ok().and_then(|v| v.parse().ok()))
        .unwrap_or(200);
    let log_bytes = LogBytes::default();
    let writer = log_bytes.clone();
    gatehouse::telemetry::init_json(
        tracing_subscriber::filter::Targets::new().with_default(tracing::Level::INFO),
        move || writer.clone(),
    );
    gatehouse::telemetry::init_metrics();

    let emulator = PrivateEmulator::start().await;
    let ledger = Arc::new(Ledger::default());
    let setup = AwsClients::load(Some(&emulator.endpoint)).await;
    let mut config = Config::local_defaults();
    config.table_name = unique("gh-cost");
    let stream_arn = TableSpec::ensure(&setup.dynamodb, &config.table_name).await.unwrap();
    let sqs = &setup.sqs;
    let queue = |name: String| async move {
        let spec = QueueSpec {
            name: &name,
            visibility_timeout: Duration::from_secs(30),
            max_receive_count: 5,
        };
        spec.ensure(sqs).await.unwrap().0.url().to_string()
    };
    config.email_queue = queue(unique("gh-cost-email")).await;
    config.webhook_queue = queue(unique("gh-cost-webhook")).await;
    setup
        .ses
        .create_email_identity()
        .email_identity(config.from_email.as_str())
        .send()
        .await
        .unwrap();
    config.email_backend = Some(EmailBackend::AmazonSes);
    config.webhook_allowed_networks = vec!["127.0.0.0/8".parse().unwrap()];
    config.digest_interval = None;
    let receiver = WebhookReceiver::start(vec![204]).await;

    let shared = |function| {
        let ledger = ledger.clone();
        let upstream = emulator.endpoint.clone();
        async move { sdk_config(Some(&start_proxy(function, &upstream, ledger).await)).await }
    };
    let api = aws::api(config.clone(), &shared("api").await).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            api.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap()
    });

    let mut invocations = Vec::new();
    let router_config = shared("router").await;
    let timed = Arc::new(Invocations::default());
    invocations.push(("router", timed.clone()));
    let (router_hold, worker_hold) = (Hold::new(), Hold::new());
    let source = HeldStream(
        DynamoStreamSource::new(aws_sdk_dynamodbstreams::Client::new(&router_config), stream_arn),
        router_hold.clone(),
    );
    let router = TimedStream(
        aws::event_router(&config, &router_config).unwrap(),
        timed,
        log_bytes.clone(),
    );
    tokio::spawn(poll_stream(Box::new(source), Arc::new(router)));

    let email_config = shared("email").await;
    let timed = Arc::new(Invocations::default());
    invocations.push(("email", timed.clone()));
    let worker = TimedQueue(
        aws::email_worker(&config, &email_config).unwrap(),
        timed,
        log_bytes.clone(),
    );
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(&email_config), &config.email_queue, "email");
    tokio::spawn(poll_queue(
        Arc::new(HeldQueue(queue, worker_hold.clone())),
        Arc::new(worker),
    ));

    let webhook_config = shared("webhook").await;
    let timed = Arc::new(Invocations::default());
    invocations.push(("webhook", timed.clone()));
    let worker = TimedQueue(
        aws::webhook_worker(&config, &webhook_config).unwrap(),
        timed,
        log_bytes.clone(),
    );
    let queue = SqsQueue::new(
        aws_sdk_sqs::Client::new(&webhook_config),
        &config.webhook_queue,
        "webhook",
    );
    tokio::spawn(poll_queue(
        Arc::new(HeldQueue(queue, worker_hold.clone())),
        Arc::new(worker),
    ));

    let deployment = Deployment {
        app,
        http: reqwest::Client::new(),
        root_key: config.root_keys[0].expose().to_string(),
        ledger: ledger.clone(),
        invocations,
        log_bytes,
        router_hold,
        worker_hold,
    };
    let email_org = unique("cost-email");
    let email_key = deployment
        .create_org(&email_org, json!({"api_event": {"email": "ops@example.com"}}))
        .await;
    let webhook_org = unique("cost-webhook");
    let webhook_key = deployment
        .create_org(&webhook_org, json!({"api_event": {"webhook": receiver.url()}}))
        .await;

    println!("AWS cost per 1M notifications, counted on the emulator ({events} events per channel)");
    let email = deployment
        .run("email", &email_org, &email_key, events, |calls| {
            calls.iter().filter(|c| c.operation == "SES.SendEmail").count()
        })
        .await;
    let hooks_before = receiver.received().len();
    let receiver = &receiver;
    let webhook = deployment
        .run("webhook", &webhook_org, &webhook_key, events, move |_| {
            receiver.received().len() - hooks_before
        })
        .await;
    report(&[email, webhook], memory_gb());
}

fn report(bills: &[Bill], gb: f64) {
    println!(
        "prices (us-east-1): DynamoDB on demand ${:.3}/M write units, ${:.3}/M read units; SQS ${:.2}/M requests (64 KB each); \
         Lambda ${:.2}/M requests + ${}/GB-s (arm64, {} MB); CloudWatch Logs ${}/GB ingested; SES's own price left out",
        PRICES.write_unit * 1e6,
        PRICES.read_unit * 1e6,
        PRICES.sqs_request * 1e6,
        PRICES.lambda_request * 1e6,
        PRICES.lambda_gb_second,
        gb * 1024.0,
        PRICES.log_gb,
    );
    for b in bills {
        println!(
            "\n{} ({} notifications): calls per notification",
            b.channel, b.notifications
        );
        for (what, (calls, units)) in &b.calls {
            println!("  {what:<40} {calls:>6.2} calls  {units:>6.2} units");
        }
        println!(
            "  ({} empty receives of idle pollers left out: a fixed cost, not a notification's)",
            b.idle_receives
        );
        println!("  $ per 1M {} notifications:", b.channel);
        for (what, dollars) in &b.lines {
            println!("  {what:<40} ${dollars:>7.3}");
        }
    }
    println!();
    for b in bills {
        println!(
            "{:<8} ${:.2} per 1M notifications (goal ≤ ${GOAL:.2}: {}); at DynamoDB's prices before Nov 2024 ${:.2}; the API's calls to accept each event ${:.2} per 1M events",
            b.channel,
            b.total,
            if b.total <= GOAL { "met" } else { "NOT met" },
            b.total_old_dynamodb,
            b.api_per_event,
        );
    }
}
