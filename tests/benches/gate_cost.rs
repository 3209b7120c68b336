//! What the gate costs in table calls and time: 1,000 verifies of one hot key through the gate (its
//! reads and writes counted), and the authorizer's warm answer against the one GetItem it makes
//! (the key by its hash), medians of interleaved calls. Embedded by default; set
//! GATEHOUSE_TEST_AWS_ENDPOINT to measure on the emulator.
//!
//!     scripts/emulator 5000 & GATEHOUSE_TEST_AWS_ENDPOINT=http://127.0.0.1:5000 \
//!       cargo bench -p gatehouse-tests --bench gate_cost

use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse::domain::OrgId;
use gatehouse::pipeline::authorizer::{Authorizer, AuthorizerRequest};
use gatehouse::secret::token_hash;
use gatehouse::service::gate::Gate;
use gatehouse::store::table_keys;
use gatehouse_tests::*;
use serde_json::json;

const VERIFIES: usize = 1000;
const ROUNDS: usize = 200;

#[tokio::main]
async fn main() {
    let backend = if std::env::var_os("GATEHOUSE_TEST_AWS_ENDPOINT").is_some() {
        Backend::Emulator
    } else {
        Backend::Embedded
    };
    let app = spawn_app(backend).await;
    let (org, gated) = app
        .gated(json!({"quota": {"max": 1_000_000_000u64, "renewal_secs": 86400}}))
        .await;
    let key = app.key_holder(&org, &gated.entry).await.key;
    let org_id = OrgId::parse(&org.id).unwrap();
    let store = app.local.services.store.clone();

    // 1,000 verifies of one key through one verifier, its use written at the end.
    let counted = Arc::new(Counted::new(store.clone()));
    let gate = Gate::new(counted.clone());
    let started = Instant::now();
    for _ in 0..VERIFIES {
        let verdict = gate.decide(Some(&org_id), &key, None, 1).await.unwrap();
        assert!(verdict.valid, "{verdict:?}");
    }
    gate.flush_usage(true).await.unwrap();
    let took = started.elapsed();
    let (reads, writes) = counted.counts();
    println!(
        "{VERIFIES} verifies of one hot key ({backend:?}): {writes} table writes, {reads} reads ({:.2} a verify), {:.1} ms",
        reads as f64 / VERIFIES as f64,
        took.as_secs_f64() * 1000.0
    );

    // The authorizer, warm, against one GetItem of the key by its hash.
    let authorizer = Authorizer::new(Arc::new(Gate::new(store.clone())), None, None);
    let request: AuthorizerRequest = serde_json::from_value(json!({
        "version": "2.0", "type": "REQUEST", "headers": {"x-api-key": key}
    }))
    .unwrap();
    assert!(authorizer.handle(&request).await.unwrap().is_authorized);
    let by_hash = table_keys::key_by_hash(&token_hash(&key));
    let (mut get_times, mut authorizer_times) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let t = Instant::now();
        store.get(&by_hash).await.unwrap().expect("the key");
        get_times.push(t.elapsed());
        let t = Instant::now();
        assert!(authorizer.handle(&request).await.unwrap().is_authorized);
        authorizer_times.push(t.elapsed());
    }
    let (get, answer) = (median(get_times), median(authorizer_times));
    println!(
        "authorizer, warm ({backend:?}), median of {ROUNDS}: {:.3} ms; one GetItem {:.3} ms; ratio {:.2}",
        ms(answer),
        ms(get),
        answer.as_secs_f64() / get.as_secs_f64()
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
