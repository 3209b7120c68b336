//! How long sign-up and password-reset requests take for an email with an account and for one
//! without, with the response floor off and at its default. Medians of interleaved requests, run in
//! one process. Embedded by default; set GATEHOUSE_TEST_AWS_ENDPOINT to measure on the emulator.
//!
//!     cargo bench -p gatehouse-tests --bench account_timing

use gatehouse_tests::*;
use serde_json::json;
use std::time::{Duration, Instant};

const ROUNDS: usize = 25;

async fn timed(request: impl std::future::Future<Output = reqwest::Response>) -> Duration {
    let started = Instant::now();
    let status = request.await.status();
    assert_eq!(status, 202);
    started.elapsed()
}

async fn measure(floor: Duration, backend: Backend) {
    let mut config = test_config(backend);
    config.account_response_floor = floor;
    // Many requests from one address: timing is measured here, not the abuse limits.
    for limit in gatehouse::domain::limits::Limit::ALL {
        config.limits.set(limit, None);
    }
    let app = spawn_app_with(config).await;
    let org = app.create_org(json!({"name": "Bench"})).await;
    let known = unique_email();
    app.sign_up(&org.id, &known).await;
    let reset = format!("/portal/{}/password-reset", org.id);

    let (mut reset_known, mut reset_unknown, mut signup_new, mut signup_taken) = (vec![], vec![], vec![], vec![]);
    for _ in 0..ROUNDS {
        reset_known.push(timed(app.post_json(&reset, None, &json!({"email": known}))).await);
        reset_unknown.push(timed(app.post_json(&reset, None, &json!({"email": unique_email()}))).await);
        signup_new.push(timed(app.sign_up(&org.id, &unique_email())).await);
        signup_taken.push(timed(app.sign_up(&org.id, &known)).await);
    }
    let row = |what: &str, with: Vec<Duration>, without: Vec<Duration>| {
        let (a, b) = (median(with), median(without));
        println!(
            "{backend:?} floor {:>4} ms  {what:<14} account: {:>7.1} ms  none: {:>7.1} ms  ratio {:.2}",
            floor.as_millis(),
            a.as_secs_f64() * 1e3,
            b.as_secs_f64() * 1e3,
            a.as_secs_f64() / b.as_secs_f64()
        );
    };
    row("password reset", reset_known, reset_unknown);
    row("sign-up", signup_taken, signup_new);
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let backend = if std::env::var_os("GATEHOUSE_TEST_AWS_ENDPOINT").is_some() {
        Backend::Emulator
    } else {
        Backend::Embedded
    };
    let default_floor = gatehouse::config::Config::local_defaults().account_response_floor;
    println!("medians of {ROUNDS} interleaved requests each");
    for floor in [Duration::ZERO, default_floor] {
        measure(floor, backend).await;
    }
}
