//! The views' queries at scale: 100,000 activities (about 45,000 sessions recorded on one to
//! three providers each, a quarter of them also imported from a Strava archive, linked into
//! workouts by the real backfill), 10,000 sync runs over six connections, and the import that
//! made the archive's copies (one file outcome per copy). Each query is timed through the core's public calls (what a command costs),
//! 200 times after a warm-up; p50 and p95 are printed with the query's `EXPLAIN QUERY PLAN`,
//! captured from the statements sqlx actually ran. The baselines, measured in the same run, are
//! the old list query (OFFSET paging and a `?1 IS NULL OR provider = ?1` filter).
//!
//! Run with `cargo bench -p tributary-core --bench queries`. `BENCH_QUERY_ACTIVITIES` and
//! `BENCH_QUERY_RUNS` change the scale (CI runs a small version as a smoke test).
//! `BENCH_QUERY_SEED_DIR=DIR` writes the library into data directory `DIR` (kept, background sync
//! paused) and stops there: the window's views are measured on it (`scripts/bench-views.sh`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use chrono::{Duration as Days, Utc};
use sqlx::QueryBuilder;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tributary_core::clock::SystemClock;
use tributary_core::domain::{ProviderKind, Sport};
use tributary_core::events::NoopSink;
use tributary_core::library::{ActivityFilter, Order, PageRequest, Period, SortKey};
use tributary_core::secrets::MemoryStore;
use tributary_core::{Config, Core, Deps};

const ITERATIONS: usize = 200;
const PROVIDERS: [ProviderKind; 6] = [
    ProviderKind::Strava,
    ProviderKind::Garmin,
    ProviderKind::Polar,
    ProviderKind::Coros,
    ProviderKind::Wahoo,
    ProviderKind::GoogleHealth,
];
const SPORTS: [Sport; 6] = [
    Sport::Run,
    Sport::Ride,
    Sport::Swim,
    Sport::TrailRun,
    Sport::Hike,
    Sport::Strength,
];

/// The statements sqlx ran (its `sqlx::query` debug events), while capturing.
#[derive(Default, Clone)]
struct Statements(Arc<Mutex<Option<Vec<String>>>>);

struct Capture(Statements);

#[derive(Default)]
struct Fields {
    summary: String,
    statement: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_owned(),
            "db.statement" => self.statement = value.to_owned(),
            _ => {}
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" {
            self.summary = format!("{value:?}").trim_matches('"').to_owned();
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        // sqlx sends the full text only when it differs from the one-line summary.
        let sql = if fields.statement.trim().is_empty() {
            fields.summary
        } else {
            fields.statement.trim().to_owned()
        };
        if let Some(list) = self.0.0.lock().unwrap().as_mut() {
            list.push(sql);
        }
    }
}

impl Statements {
    fn start(&self) {
        *self.0.lock().unwrap() = Some(Vec::new());
    }
    fn take(&self) -> Vec<String> {
        self.0.lock().unwrap().take().unwrap_or_default()
    }
}

/// Deterministic numbers (SplitMix64): the same library on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Six connections, `activities` copies of about activities/2.2 sessions over ten years, and
/// `runs` sync runs over the last year.
async fn fill(core: &Core, activities: usize, runs: usize) -> Vec<i64> {
    let pool = core.store().pool();
    let now = Utc::now().timestamp_millis();
    let mut connections = Vec::new();
    for p in PROVIDERS {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO provider_connections (athlete_id, provider, created_at, updated_at,
                 last_sync_at) VALUES (1, ?1, ?2, ?2, ?2) RETURNING id",
        )
        .bind(p.as_str())
        .bind(now)
        .fetch_one(pool)
        .await
        .unwrap();
        connections.push(id);
    }
    // The import whose copies are the archive's (source index 6).
    let import_id: i64 = sqlx::query_scalar(
        "INSERT INTO imports (label, status, started_at, finished_at, heartbeat_at)
         VALUES ('export_12345.zip', 'finished', ?1, ?1, ?1) RETURNING id",
    )
    .bind(now)
    .fetch_one(pool)
    .await
    .unwrap();
    let mut rng = Rng(7);
    let span_ms = 10 * 365 * 86_400_000_i64;
    let sessions = activities * 10 / 22;
    let step = span_ms / sessions as i64;
    let mut rows = Vec::with_capacity(activities);
    'fill: for s in 0..sessions {
        let start = now - span_ms + s as i64 * step + rng.below(step as u64 / 2) as i64;
        let sport = SPORTS[rng.below(6) as usize];
        let elapsed = 1200 + rng.below(6000) as i64;
        let distance = (elapsed as f64) * (2.0 + rng.below(60) as f64 / 10.0);
        let offset = [3600_i64, 0, -18_000, 34_200][rng.below(4) as usize];
        let copies = 1 + rng.below(3) as usize + usize::from(s % 5 == 0);
        let first = rng.below(6) as usize;
        for c in 0..copies.min(6) {
            if rows.len() == activities {
                break 'fill;
            }
            // A quarter of the sessions' first copy came from Strava's archive.
            let p = if c == 0 && s % 4 == 0 {
                6
            } else {
                (first + c * 2) % 6
            };
            rows.push((
                p,
                format!("{s}-{c}"),
                sport,
                start + rng.below(5) as i64 * 1000,
                offset,
                elapsed,
                distance,
            ));
        }
    }
    while rows.len() < activities {
        let n = rows.len();
        rows.push((
            0,
            format!("extra-{n}"),
            Sport::Run,
            now - n as i64 * 60_000,
            0,
            600,
            1000.0,
        ));
    }
    for chunk in rows.chunks(400) {
        let mut tx = core.store().begin().await.unwrap();
        let mut insert = QueryBuilder::new(
            "INSERT INTO activities (connection_id, provider, provider_activity_id, sport, name,
             start_utc, utc_offset_seconds, elapsed_seconds, moving_seconds, distance_m,
             elevation_gain_m, avg_heart_rate, device, raw_json, created_at, updated_at,
             import_id) ",
        );
        insert.push_values(chunk, |mut b, r| {
            let imported = r.0 == 6;
            b.push_bind(connections.get(r.0).copied())
                .push_bind(if imported {
                    "strava_archive"
                } else {
                    PROVIDERS[r.0].as_str()
                })
                .push_bind(&r.1)
                .push_bind(r.2.as_str())
                .push_bind(format!("{} {}", r.2, r.1))
                .push_bind(r.3)
                .push_bind(r.4)
                .push_bind(r.5)
                .push_bind(r.5 - 60)
                .push_bind(r.6)
                .push_bind(r.6 / 100.0)
                .push_bind(140.0)
                .push_bind("Forerunner 965")
                .push_bind(r#"{"bench":true}"#)
                .push_bind(now)
                .push_bind(now)
                .push_bind(imported.then_some(import_id));
        });
        insert.build().execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
    }
    // One outcome per imported copy, and a few refused files.
    sqlx::query(
        "INSERT INTO import_files (import_id, path, source, outcome, activity_id)
         SELECT ?1, 'export_12345/activities/' || id || '.fit.gz', 'strava_archive', 'imported', id
         FROM activities WHERE import_id = ?1",
    )
    .bind(import_id)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO import_files (import_id, path, source, outcome, reason)
         SELECT ?1, 'export_12345/activities/bad-' || value || '.fit', 'strava_archive', 'refused',
                'the FIT file is damaged' FROM json_each(json_array(1, 2, 3, 4, 5))",
    )
    .bind(import_id)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE imports SET imported = (SELECT COUNT(*) FROM import_files WHERE outcome = 'imported'),
             refused = 5",
    )
    .execute(pool)
    .await
    .unwrap();
    let statuses = [
        "success",
        "success",
        "success",
        "partial",
        "failed",
        "cancelled",
    ];
    let mut tx = core.store().begin().await.unwrap();
    for chunk in (0..runs).collect::<Vec<_>>().chunks(400) {
        let mut insert = QueryBuilder::new(
            "INSERT INTO sync_history (connection_id, trigger, status, started_at, completed_at,
             heartbeat_at, activities_fetched, activities_created, activities_updated,
             activities_skipped, api_calls, rate_limit_remaining, error_code) ",
        );
        insert.push_values(chunk, |mut b, &i| {
            let started = now - 365 * 86_400_000 + i as i64 * (365 * 86_400_000 / runs as i64);
            let status = statuses[i % statuses.len()];
            b.push_bind(connections[i % 6])
                .push_bind("scheduled")
                .push_bind(status)
                .push_bind(started)
                .push_bind(started + 4_000)
                .push_bind(started + 4_000)
                .push_bind(12_i64)
                .push_bind(2_i64)
                .push_bind(1_i64)
                .push_bind(9_i64)
                .push_bind(3_i64)
                .push_bind(90_i64)
                .push_bind((status == "failed").then_some("network"));
        });
        insert.build().execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    sqlx::query("ANALYZE").execute(pool).await.unwrap();
    connections
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

struct Measured {
    name: &'static str,
    p50: f64,
    p95: f64,
    plans: Vec<(String, Vec<String>)>,
}

/// Time `f` (p50, p95 in ms) and capture its statements' plans.
async fn measure<F, Fut, T>(
    core: &Core,
    statements: &Statements,
    name: &'static str,
    mut f: F,
) -> Measured
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    for _ in 0..5 {
        let _ = f().await;
    }
    let mut times = Vec::with_capacity(ITERATIONS);
    for _ in 0..ITERATIONS {
        let started = Instant::now();
        let _ = f().await;
        times.push(started.elapsed());
    }
    times.sort();
    statements.start();
    let _ = f().await;
    let mut seen = BTreeSet::new();
    let mut plans = Vec::new();
    for sql in statements.take() {
        if !seen.insert(sql.clone()) || !sql.trim_start().to_uppercase().starts_with("SELECT") {
            continue;
        }
        let rows: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                .fetch_all(core.store().pool())
                .await
                .unwrap_or_default();
        plans.push((sql, rows.into_iter().map(|r| r.3).collect()));
    }
    Measured {
        name,
        p50: percentile(&times, 0.5),
        p95: percentile(&times, 0.95),
        plans,
    }
}

/// A plan step that reads a whole table (not through an index).
fn full_scan(step: &str) -> bool {
    let s = step.trim();
    s.starts_with("SCAN ")
        && !s.contains("USING INDEX")
        && !s.contains("USING COVERING INDEX")
        && !s.contains("USING INTEGER PRIMARY KEY")
        && !s.starts_with("SCAN json_each")
        && !s.contains("CONSTANT ROW")
        && !s.contains("VIRTUAL TABLE")
        && !s.starts_with("SCAN (subquery")
}

fn compact(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::main]
async fn main() {
    let statements = Statements::default();
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(Capture(statements.clone())),
    )
    .unwrap();
    let activities: usize = std::env::var("BENCH_QUERY_ACTIVITIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runs: usize = std::env::var("BENCH_QUERY_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let seed_dir = std::env::var_os("BENCH_QUERY_SEED_DIR").map(std::path::PathBuf::from);
    let mut config = Config::from_lookup(|_| None).unwrap();
    config.data_dir = seed_dir.clone().unwrap_or_else(|| dir.path().to_owned());
    let core = Core::open(
        config,
        Deps {
            secrets: Arc::new(MemoryStore::default()),
            clock: Arc::new(SystemClock),
            events: Arc::new(NoopSink),
        },
    )
    .await
    .unwrap();
    let started = Instant::now();
    fill(&core, activities, runs).await;
    let filled = started.elapsed();
    sqlx::query("DELETE FROM settings WHERE key = 'linking'")
        .execute(core.store().pool())
        .await
        .unwrap();
    let started = Instant::now();
    let linked = core.link_backfill().await.unwrap();
    let backfill = started.elapsed();
    let (workouts, counted): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM workouts), (SELECT COUNT(*) FROM activities WHERE counted = 1)",
    )
    .fetch_one(core.store().pool())
    .await
    .unwrap();
    sqlx::query("ANALYZE")
        .execute(core.store().pool())
        .await
        .unwrap();
    println!(
        "queries: {activities} activities, {runs} sync runs, 6 connections (filled in {:.1} s)",
        filled.as_secs_f64()
    );
    println!(
        "  linking backfill: {:.1} s, {linked} copies linked into {workouts} workouts; \
         {counted} sessions counted once",
        backfill.as_secs_f64()
    );
    if let Some(seed_dir) = seed_dir {
        // The window opened on it must not try to sync connections that have no tokens.
        core.update_settings(&tributary_core::settings::SettingsPatch {
            paused: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
        core.store().pool().close().await;
        println!("  seeded {}", seed_dir.display());
        return;
    }

    // A cursor half way down the list (what the 1,000th page of 50 costs).
    let middle = {
        let mut page = PageRequest {
            after: None,
            limit: 500,
            sort: SortKey::Start,
            order: Order::Descending,
        };
        for _ in 0..(activities / 2 / 500) {
            let listing = core
                .activities(&ActivityFilter::default(), &page)
                .await
                .unwrap();
            page.after = listing.next;
        }
        page.after
    };
    let first = PageRequest {
        after: None,
        limit: 50,
        sort: SortKey::Start,
        order: Order::Descending,
    };
    let deep = PageRequest {
        after: middle,
        limit: 50,
        sort: SortKey::Start,
        order: Order::Descending,
    };
    let by = |sort: SortKey| PageRequest {
        after: None,
        limit: 50,
        sort,
        order: Order::Descending,
    };
    let (by_distance, by_name, by_speed) =
        (by(SortKey::Distance), by(SortKey::Name), by(SortKey::Speed));
    let strava = ActivityFilter {
        provider: Some(ProviderKind::Strava),
        ..Default::default()
    };
    let ride = ActivityFilter {
        sport: Some(Sport::Ride),
        ..Default::default()
    };
    let text = ActivityFilter {
        text: Some("ride 1234".into()),
        ..Default::default()
    };
    let common = ActivityFilter {
        text: Some("ride".into()),
        ..Default::default()
    };
    let year = ActivityFilter {
        since: Some(Utc::now() - Days::days(365)),
        until: Some(Utc::now()),
        ..Default::default()
    };
    let none = ActivityFilter::default();
    let now = Utc::now();
    let a_id: i64 =
        sqlx::query_scalar("SELECT id FROM activities WHERE workout_id IS NOT NULL LIMIT 1")
            .fetch_one(core.store().pool())
            .await
            .unwrap();

    let mut results = vec![
        measure(&core, &statements, "dashboard (one call)", || {
            core.dashboard()
        })
        .await,
        measure(&core, &statements, "summary", || core.summary()).await,
        measure(&core, &statements, "history page (20 runs)", || {
            core.sync_history(ProviderKind::Strava, 20, 0)
        })
        .await,
        measure(&core, &statements, "run statistics (180 days)", || {
            core.run_stats(ProviderKind::Strava, now - Days::days(180), now, 5000)
        })
        .await,
        measure(&core, &statements, "activities: first page", || {
            core.activities(&none, &first)
        })
        .await,
        measure(&core, &statements, "activities: provider filter", || {
            core.activities(&strava, &first)
        })
        .await,
        measure(&core, &statements, "activities: sport filter", || {
            core.activities(&ride, &first)
        })
        .await,
        measure(&core, &statements, "activities: last year", || {
            core.activities(&year, &first)
        })
        .await,
        measure(&core, &statements, "activities: text search (rare)", || {
            core.activities(&text, &first)
        })
        .await,
        measure(
            &core,
            &statements,
            "activities: text search (common)",
            || core.activities(&common, &first),
        )
        .await,
        measure(&core, &statements, "activities: page at row 50,000", || {
            core.activities(&none, &deep)
        })
        .await,
        measure(&core, &statements, "activities: by distance", || {
            core.activities(&none, &by_distance)
        })
        .await,
        measure(&core, &statements, "activities: by name", || {
            core.activities(&none, &by_name)
        })
        .await,
        measure(&core, &statements, "workouts: by speed, rides", || {
            core.workouts(&ride, &by_speed)
        })
        .await,
        measure(&core, &statements, "workouts: first page", || {
            core.workouts(&none, &first)
        })
        .await,
        measure(&core, &statements, "workouts: provider filter", || {
            core.workouts(&strava, &first)
        })
        .await,
        measure(&core, &statements, "activity detail", || {
            core.activity(a_id)
        })
        .await,
        measure(&core, &statements, "volume: 52 weeks by sport", || {
            core.volume(Period::Week, now - Days::weeks(52), now)
        })
        .await,
        measure(&core, &statements, "volume: 12 months by sport", || {
            core.volume(Period::Month, now - Days::days(365), now)
        })
        .await,
        measure(&core, &statements, "volume: ten years of months", || {
            core.volume(Period::Month, now - Days::days(3660), now)
        })
        .await,
        measure(&core, &statements, "imports: the list", || core.imports()).await,
        measure(
            &core,
            &statements,
            "imports: one report (refused files)",
            || core.import_report(1),
        )
        .await,
    ];
    let baseline_offset = measure(
        &core,
        &statements,
        "baseline: old OFFSET page at 50,000",
        || core.list_activities(None, 50, (activities / 2) as i64),
    )
    .await;
    let baseline_filter = measure(&core, &statements, "baseline: old provider filter", || {
        core.list_activities(Some(ProviderKind::Strava), 50, 0)
    })
    .await;

    // The list's exact count and sums: once per filter, beside the pages (the list is drawn from
    // its first page before they arrive). Summing every matching row is a scan by nature, so
    // they are reported apart from the hot paths' plans.
    let totals = [
        measure(&core, &statements, "totals: every workout", || {
            core.list_totals(&none, true)
        })
        .await,
        measure(&core, &statements, "totals: Strava's copies", || {
            core.list_totals(&strava, false)
        })
        .await,
        measure(&core, &statements, "totals: last year's workouts", || {
            core.list_totals(&year, true)
        })
        .await,
    ];

    println!("\n  {:<38} {:>8} {:>8}", "query", "p50 ms", "p95 ms");
    let mut over = 0;
    let mut scans = 0;
    for m in &results {
        // A page sorted by another column than the start reads the filtered rows and sorts them
        // (an index per column and list would cost every write): measured, not refused. Only
        // that statement (its `ORDER BY (…) IS NULL, (…)`); any other scan still counts.
        let sorts = |sql: &str| sql.contains(") IS NULL, (");
        let scan = m
            .plans
            .iter()
            .any(|(sql, p)| !sorts(sql) && p.iter().any(|s| full_scan(s)));
        let sort_scan = m
            .plans
            .iter()
            .any(|(sql, p)| sorts(sql) && p.iter().any(|s| full_scan(s)));
        over += usize::from(m.p95 > 10.0);
        scans += usize::from(scan);
        println!(
            "  {:<38} {:>8.2} {:>8.2}{}{}{}",
            m.name,
            m.p50,
            m.p95,
            if m.p95 > 10.0 { "  OVER 10 ms" } else { "" },
            if scan { "  FULL SCAN" } else { "" },
            if sort_scan {
                "  full scan (a sort by a column)"
            } else {
                ""
            }
        );
    }
    for b in [&baseline_offset, &baseline_filter] {
        println!("  {:<38} {:>8.2} {:>8.2}", b.name, b.p50, b.p95);
    }
    for t in &totals {
        println!(
            "  {:<38} {:>8.2} {:>8.2}  (once per list)",
            t.name, t.p50, t.p95
        );
    }
    let deep_page = &results[10];
    let filtered = &results[5];
    println!(
        "\n  keyset page at row 50,000 vs the old OFFSET page: {:.3}× the time (p50)",
        deep_page.p50 / baseline_offset.p50
    );
    println!(
        "  provider filter vs the old `?1 IS NULL OR provider = ?1`: {:.3}× the time (p50)",
        filtered.p50 / baseline_filter.p50
    );
    println!("  goal: every query ≤ 10 ms at p95 — {over} over, {scans} with a full-table scan");

    println!("\n  plans (EXPLAIN QUERY PLAN of each statement run):");
    results.push(baseline_offset);
    results.push(baseline_filter);
    for m in &results {
        println!("  - {}", m.name);
        for (sql, plan) in &m.plans {
            let sql = compact(sql);
            let short: String = sql.chars().take(150).collect();
            println!("      {short}{}", if sql.len() > 150 { " …" } else { "" });
            for step in plan {
                println!("        {step}");
            }
        }
    }
    core.shutdown().await;
    // The plans are structure, not timing: CI's small run fails on a full-table scan, and on a
    // query whose plan was not captured (no plan would otherwise read as "no scan").
    let unplanned: Vec<&str> = results
        .iter()
        .filter(|m| m.plans.is_empty() || m.plans.iter().any(|(_, p)| p.is_empty()))
        .map(|m| m.name)
        .collect();
    let captured: usize = results.iter().map(|m| m.plans.len()).sum();
    println!(
        "\n  plans checked: {captured} statements in {} queries",
        results.len()
    );
    if std::env::var("BENCH_STRICT_PLANS").is_ok_and(|v| v == "1") {
        if scans > 0 {
            eprintln!("a hot-path query scans a whole table");
            std::process::exit(1);
        }
        if !unplanned.is_empty() {
            eprintln!("no query plan was captured for: {}", unplanned.join(", "));
            std::process::exit(1);
        }
    }
}
