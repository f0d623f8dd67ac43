//! Sync benchmarks, as ratios against baselines measured in the same run (never timed
//! assertions). Run with `cargo bench -p tributary-core --bench sync`.
//!
//! 1. Ingest: a first sync of N sandbox activities (HTTP, mapping, storing) against a raw batched
//!    insert of the same rows into the same schema (the floor storing alone costs). Goal: the
//!    sync ingests at least 50 % of the raw insert's rate.
//! 2. Requests: a full sync of 3,000 Strava activities (goal ceil(3000/200)+1 = 16), a no-op
//!    incremental sync (goal 1), and an incremental sync after an interrupted full walk (goal 1:
//!    the walk's cursor must not turn it into a full walk).
//! 3. Start-up cost of a no-op incremental sync with 100,000 stored activities against the same
//!    with 3,000 (goal ≈ 1×: finding where to start must not scan the activities).
//!
//! `BENCH_ACTIVITIES` changes the 10,000 of the ingest benchmark.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use chrono::Utc;
use sqlx::QueryBuilder;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tributary_core::auth::RedirectTarget;
use tributary_core::clock::SystemClock;
use tributary_core::domain::{Activity, ProviderKind, SyncStatus, SyncTrigger};
use tributary_core::events::NoopSink;
use tributary_core::secrets::MemoryStore;
use tributary_core::store::Store;
use tributary_core::sync::SyncMode;
use tributary_core::{Config, Core, Deps};
use tributary_sandbox::{Sandbox, SandboxConfig};

const ROUNDS: usize = 3;
const STRAVA: ProviderKind = ProviderKind::Strava;
const MANUAL: SyncTrigger = SyncTrigger::Manual;

async fn sandbox(activities: usize) -> Sandbox {
    Sandbox::start(
        SandboxConfig {
            activities,
            budget_short: 1_000_000,
            budget_daily: 10_000_000,
            ..SandboxConfig::default()
        },
        0,
    )
    .await
    .unwrap()
}

/// A core on a fresh directory, connected to the sandbox's Strava.
async fn connected(sandbox: &Sandbox, dir: &std::path::Path) -> Core {
    let vars = sandbox.config_vars();
    let mut config = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
    config.data_dir = dir.to_owned();
    config.sync_after_connect = false; // the benchmark times its own syncs
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
        .begin_connect(STRAVA, RedirectTarget::DeepLink)
        .await
        .unwrap();
    let approve = request.authorize_url.replace("/authorize?", "/approve?") + "&decision=approve";
    let response = http.get(approve).send().await.unwrap();
    core.complete_redirect(response.headers()["location"].to_str().unwrap())
        .await
        .unwrap();
    core
}

/// The same rows, inserted into the same schema in transactions of 200 with one multi-row
/// INSERT each: what storing alone costs.
async fn raw_insert(store: &Store, rows: &[Activity]) -> Duration {
    let now = Utc::now().timestamp_millis();
    let started = Instant::now();
    for chunk in rows.chunks(200) {
        let mut tx = store.begin().await.unwrap();
        let mut insert = QueryBuilder::new(
            "INSERT INTO activities (connection_id, provider, provider_activity_id, sport, name,
             start_utc, utc_offset_seconds, elapsed_seconds, moving_seconds, distance_m,
             elevation_gain_m, avg_heart_rate, max_heart_rate, calories, avg_power_w,
             max_power_w, device, raw_json, created_at, updated_at) ",
        );
        insert.push_values(chunk, |mut b, a| {
            let d = &a.data;
            b.push_bind(Option::<i64>::None)
                .push_bind(a.provider.as_str())
                .push_bind(&d.provider_activity_id)
                .push_bind(d.sport.as_str())
                .push_bind(&d.name)
                .push_bind(d.start_utc.timestamp_millis())
                .push_bind(d.utc_offset_seconds)
                .push_bind(d.elapsed_seconds)
                .push_bind(d.moving_seconds)
                .push_bind(d.distance_m)
                .push_bind(d.elevation_gain_m)
                .push_bind(d.avg_heart_rate)
                .push_bind(d.max_heart_rate)
                .push_bind(d.calories)
                .push_bind(d.avg_power_w)
                .push_bind(d.max_power_w)
                .push_bind(&d.device)
                .push_bind(d.raw.to_string())
                .push_bind(now)
                .push_bind(now);
        });
        insert.build().execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
    }
    started.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Walking Strava's pages over HTTP from the sandbox and parsing them, storing nothing: what the
/// provider side of a sync costs here (the sandbox shares the machine's two cores).
async fn walk_only(sandbox: &Sandbox, token: &str) -> Duration {
    let http = reqwest::Client::new();
    let url = format!("{}/strava/api/v3/athlete/activities", sandbox.base_url());
    let started = Instant::now();
    let mut before = i64::MAX;
    loop {
        let body = http
            .get(&url)
            .bearer_auth(token)
            .query(&[("per_page", "200"), ("before", &before.to_string())])
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let page: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
        let oldest = page
            .iter()
            .filter_map(|a| a["start_date"].as_str())
            .min()
            .map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp());
        match (page.len() == 200, oldest) {
            (true, Some(oldest)) => before = oldest,
            _ => break,
        }
    }
    started.elapsed()
}

async fn ingest(n: usize) {
    let sandbox = sandbox(n).await;
    let (mut raw, mut first, mut again, mut walk) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let dir = tempfile::tempdir().unwrap();
        let core = connected(&sandbox, dir.path()).await;
        let token = core.vault().load(STRAVA).await.unwrap().unwrap().access;
        walk.push(walk_only(&sandbox, token.expose()).await);
        let started = Instant::now();
        let run = core.sync(STRAVA, MANUAL, SyncMode::Full).await.unwrap();
        first.push(started.elapsed());
        assert_eq!(
            (run.status, run.counters.created),
            (SyncStatus::Success, n as i64)
        );
        let started = Instant::now();
        let run = core.sync(STRAVA, MANUAL, SyncMode::Full).await.unwrap();
        again.push(started.elapsed());
        assert_eq!(run.counters.skipped, n as i64);

        let mut rows = Vec::with_capacity(n);
        for offset in (0..n).step_by(1000) {
            rows.extend(
                core.list_activities(Some(STRAVA), 1000, offset as i64)
                    .await
                    .unwrap(),
            );
        }
        core.shutdown().await;
        let raw_dir = tempfile::tempdir().unwrap();
        let store = Store::open(&raw_dir.path().join("raw.db")).await.unwrap();
        raw.push(raw_insert(&store, &rows).await);
        store.close().await;
    }
    let (r, f, a, w) = (median(raw), median(first), median(again), median(walk));
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!("ingest: {n} sandbox activities, median of {ROUNDS} rounds");
    println!(
        "  provider side alone (HTTP walk): {:>7.0} ms  {:>8.0} activities/s",
        w.as_secs_f64() * 1e3,
        rate(w)
    );
    println!(
        "  raw batched insert (baseline):  {:>7.0} ms  {:>8.0} activities/s",
        r.as_secs_f64() * 1e3,
        rate(r)
    );
    println!(
        "  first sync (HTTP+map+store):    {:>7.0} ms  {:>8.0} activities/s  {:.2} of the raw rate (goal ≥ 0.50)",
        f.as_secs_f64() * 1e3,
        rate(f),
        rate(f) / rate(r)
    );
    println!(
        "  full re-sync (all skipped):     {:>7.0} ms  {:>8.0} activities/s  {:.2} of the raw rate",
        a.as_secs_f64() * 1e3,
        rate(a),
        rate(a) / rate(r)
    );
}

async fn requests() {
    let n = 3000;
    let sandbox = sandbox(n).await;
    let dir = tempfile::tempdir().unwrap();
    let core = connected(&sandbox, dir.path()).await;
    let full = core.sync(STRAVA, MANUAL, SyncMode::Full).await.unwrap();
    let noop = core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    // A full walk cancelled after its first pages (the athlete quit, a crash), then the usual
    // incremental run.
    let slow =
        serde_json::json!({"provider": "strava", "kind": "slow", "count": 20, "delay_ms": 50});
    reqwest::Client::new()
        .post(format!("{}/_control/faults", sandbox.base_url()))
        .json(&slow)
        .send()
        .await
        .unwrap();
    let walk = core
        .start_sync(STRAVA, MANUAL, SyncMode::Full)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(120)).await;
    core.cancel_sync(STRAVA).await;
    let interrupted = walk.wait().await.unwrap();
    reqwest::Client::new()
        .post(format!("{}/_control/clear_faults", sandbox.base_url()))
        .send()
        .await
        .unwrap();
    let after = core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    core.shutdown().await;
    println!("requests: {n} Strava activities");
    println!(
        "  full sync:                        {:>4} requests (goal {})",
        full.api_calls,
        n.div_ceil(200) + 1
    );
    println!(
        "  no-op incremental sync:           {:>4} requests (goal 1)",
        noop.api_calls
    );
    println!(
        "  incremental after a cancelled full walk ({} pages read): {} requests (goal 1)",
        interrupted.counters.fetched / 200,
        after.api_calls
    );
}

/// A no-op incremental sync's time with `stored` activities in the database (all older than the
/// overlap window, so the provider's answer is the same whatever `stored` is).
async fn noop_with(stored: usize) -> Duration {
    let sandbox = sandbox(3000).await;
    let dir = tempfile::tempdir().unwrap();
    let core = connected(&sandbox, dir.path()).await;
    core.sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    let connection = core.get_connection_by_provider(STRAVA).await.unwrap();
    let old = (Utc::now() - chrono::Duration::days(5000)).timestamp_millis();
    let extra = stored.saturating_sub(3000);
    let mut tx = core.store().begin().await.unwrap();
    for chunk in (0..extra).collect::<Vec<_>>().chunks(500) {
        let mut insert = QueryBuilder::new(
            "INSERT INTO activities (connection_id, provider, provider_activity_id, sport,
             start_utc, raw_json, created_at, updated_at) ",
        );
        insert.push_values(chunk, |mut b, i| {
            b.push_bind(connection.id)
                .push_bind("strava")
                .push_bind(format!("old-{i}"))
                .push_bind("run")
                .push_bind(old + *i as i64)
                .push_bind("{}")
                .push_bind(0_i64)
                .push_bind(0_i64);
        });
        insert.build().execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    // The bulk insert above left a large write-ahead log: fold it into the database now, or the
    // first timed run pays for checkpointing the set-up's writes. Then one run to warm up.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(core.store().pool())
        .await
        .unwrap();
    core.sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let run = core
            .sync(STRAVA, MANUAL, SyncMode::Incremental)
            .await
            .unwrap();
        times.push(started.elapsed());
        assert_eq!(run.counters.created, 0);
    }
    core.shutdown().await;
    median(times)
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_ACTIVITIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    ingest(n).await;
    requests().await;
    let small = noop_with(3000).await;
    let large = noop_with(100_000).await;
    println!("no-op incremental sync, median of 5");
    println!(
        "  with   3,000 stored activities:  {:>6.1} ms",
        small.as_secs_f64() * 1e3
    );
    println!(
        "  with 100,000 stored activities:  {:>6.1} ms  {:.2}x (goal ≈ 1: no scan at start-up)",
        large.as_secs_f64() * 1e3,
        large.as_secs_f64() / small.as_secs_f64()
    );
}
