//! Sync throughput on the sandbox, as ratios against a baseline measured in the same run.
//!
//! Baseline: walking all of Strava's pages over HTTP from the same sandbox, no mapping, no
//! storage: the floor any sync pays. Measured: a first sync (map + insert) into a fresh SQLite
//! file, and a full re-sync (map + compare, all skipped). Run with
//! `cargo bench -p tributary-core --bench sync` (`BENCH_ACTIVITIES` to change the 10,000).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use std::sync::Arc;
use std::time::{Duration, Instant};
use tributary_core::auth::RedirectTarget;
use tributary_core::clock::SystemClock;
use tributary_core::domain::{ProviderKind, SyncStatus, SyncTrigger};
use tributary_core::events::NoopSink;
use tributary_core::secrets::MemoryStore;
use tributary_core::sync::SyncMode;
use tributary_core::{Config, Core, Deps};
use tributary_sandbox::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Sandbox, SandboxConfig};

const ROUNDS: usize = 3;

async fn core_on(sandbox: &Sandbox, dir: &std::path::Path) -> Core {
    // Pointed at the sandbox the way the app is: through the named variables.
    let vars = sandbox.config_vars();
    let mut config = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
    config.data_dir = dir.to_owned();
    config.sync_after_connect = false;
    let deps = Deps {
        secrets: Arc::new(MemoryStore::default()),
        clock: Arc::new(SystemClock),
        events: Arc::new(NoopSink),
    };
    let core = Core::open(config, deps).await.unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let request = core
        .begin_connect(ProviderKind::Strava, RedirectTarget::DeepLink)
        .await
        .unwrap();
    let approve = request.authorize_url.replace("/authorize?", "/approve?") + "&decision=approve";
    let response = http.get(approve).send().await.unwrap();
    core.complete_redirect(response.headers()["location"].to_str().unwrap())
        .await
        .unwrap();
    // (the config below switches the after-connect sync off: the bench times its own syncs)
    core
}

async fn baseline(sandbox: &Sandbox, token: &str) -> (Duration, usize) {
    let http = reqwest::Client::new();
    let url = format!("{}/strava/api/v3/athlete/activities", sandbox.base_url());
    let started = Instant::now();
    let (mut before, mut seen) = (i64::MAX, 0);
    loop {
        let page: Vec<serde_json::Value> = http
            .get(&url)
            .bearer_auth(token)
            .query(&[("per_page", "200"), ("before", &before.to_string())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        seen += page.len();
        let oldest = page
            .iter()
            .filter_map(|a| a["start_date"].as_str())
            .min()
            .map(str::to_owned);
        match (page.len() == 200, oldest) {
            (true, Some(oldest)) => {
                before = chrono::DateTime::parse_from_rfc3339(&oldest)
                    .unwrap()
                    .timestamp()
            }
            _ => break,
        }
    }
    (started.elapsed(), seen)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_ACTIVITIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let sandbox = Sandbox::start(
        SandboxConfig {
            activities: n,
            budget_short: 1_000_000,
            budget_daily: 1_000_000,
            ..SandboxConfig::default()
        },
        0,
    )
    .await
    .unwrap();
    let (mut base, mut first, mut again) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let dir = tempfile::tempdir().unwrap();
        let core = core_on(&sandbox, dir.path()).await;
        // The baseline uses the same, live sandbox token the engine holds.
        let token = {
            let http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let approve = format!(
                "{}/strava/oauth/approve?client_id={DEMO_CLIENT_ID}&redirect_uri=http://localhost:1/callback&response_type=code&scope=activity:read_all&decision=approve",
                sandbox.base_url()
            );
            let location = http.get(approve).send().await.unwrap().headers()["location"]
                .to_str()
                .unwrap()
                .to_owned();
            let code = url::Url::parse(&location)
                .unwrap()
                .query_pairs()
                .find(|(k, _)| k == "code")
                .unwrap()
                .1
                .into_owned();
            let t: serde_json::Value = http
                .post(format!("{}/strava/oauth/token", sandbox.base_url()))
                .form(&[
                    ("client_id", DEMO_CLIENT_ID),
                    ("client_secret", DEMO_CLIENT_SECRET),
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                ])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            t["access_token"].as_str().unwrap().to_owned()
        };
        let (elapsed, seen) = baseline(&sandbox, &token).await;
        assert_eq!(seen, n);
        base.push(elapsed);

        let started = Instant::now();
        let run = core
            .sync(ProviderKind::Strava, SyncTrigger::Manual, SyncMode::Full)
            .await
            .unwrap();
        first.push(started.elapsed());
        assert_eq!(
            (run.status, run.counters.created),
            (SyncStatus::Success, n as i64)
        );

        let started = Instant::now();
        let run = core
            .sync(ProviderKind::Strava, SyncTrigger::Manual, SyncMode::Full)
            .await
            .unwrap();
        again.push(started.elapsed());
        assert_eq!(run.counters.skipped, n as i64);
        core.shutdown().await;
    }
    let (b, f, a) = (median(base), median(first), median(again));
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!("sync benchmark: {n} sandbox activities, median of {ROUNDS} rounds");
    println!(
        "  baseline (HTTP page walk only): {:>8.0} ms  {:>8.0} activities/s",
        b.as_secs_f64() * 1e3,
        rate(b)
    );
    println!(
        "  first sync (map + insert):      {:>8.0} ms  {:>8.0} activities/s  {:.2}x baseline",
        f.as_secs_f64() * 1e3,
        rate(f),
        f.as_secs_f64() / b.as_secs_f64()
    );
    println!(
        "  full re-sync (all skipped):     {:>8.0} ms  {:>8.0} activities/s  {:.2}x baseline",
        a.as_secs_f64() * 1e3,
        rate(a),
        a.as_secs_f64() / b.as_secs_f64()
    );
}
