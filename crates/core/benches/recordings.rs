//! Recordings, measured (ratios against baselines in the same run):
//!
//! 1. Decoding originals: `BENCH_RECORDINGS_FILES` (3,000) of the sandbox's FIT files, through
//!    the store's whole path (recognise, decode into streams and laps, pack the streams, keep the
//!    file gzipped and content-addressed) against the baseline of `rustyfit` decoding the same
//!    bytes alone: files/s, MB/s, and the store's overhead over the decode.
//! 2. Storage: bytes per activity, the original as kept (gzipped) and the packed streams.
//! 3. The detail of a 10-hour ride at 1 Hz (36,000 points, GPS, heart rate, power): the core's
//!    part of opening it (read the row, unpack, downsample for the screen) through
//!    `Core::recording`, p50/p95 over 50 opens.
//! 4. At `BENCH_RECORDINGS_ACTIVITIES` (100,000) activities with recordings: `Core::recording`
//!    of random activities and `Core::dashboard` (which counts each connection's recordings),
//!    p50/p95.
//!
//! Run with `cargo bench -p tributary-core --bench recordings`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use chrono::{TimeZone, Utc};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tributary_core::clock::SystemClock;
use tributary_core::events::NoopSink;
use tributary_core::recording::files::OriginalFiles;
use tributary_core::recording::{self, codec};
use tributary_core::secrets::MemoryStore;
use tributary_core::store::recordings::{Outcome, RecordingStatus};
use tributary_core::{Config, Core, Deps};
use tributary_sandbox::generate::{Sport, Workout};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    (
        at(0.5).as_secs_f64() * 1000.0,
        at(0.95).as_secs_f64() * 1000.0,
    )
}

fn ride(seconds: i64) -> Workout {
    Workout {
        index: 1,
        sport: Sport::Ride,
        start: Utc.with_ymd_and_hms(2026, 7, 1, 6, 0, 0).unwrap(),
        utc_offset: 7200,
        zone: "Europe/Paris",
        elapsed: seconds,
        moving: seconds,
        distance: seconds as f64 * 8.0,
        elevation: 2400.0,
        heart_rate: Some((138.0, 172.0)),
        power: Some((210.0, 650.0)),
        device: "bench",
        name: "Long ride".into(),
    }
}

fn raw_decode(bytes: &[u8]) -> usize {
    let mut decoder = rustyfit::Decoder::new();
    let mut reader: &[u8] = bytes;
    let mut messages = 0;
    while let Ok(Some(fit)) = decoder.decode(&mut reader) {
        messages += fit.messages.len();
    }
    messages
}

async fn open_core(dir: &std::path::Path) -> Core {
    let mut config = Config::from_lookup(|_| None).unwrap();
    config.data_dir = dir.to_owned();
    config.background_downloads = false;
    Core::open(
        config,
        Deps {
            secrets: Arc::new(MemoryStore::default()),
            clock: Arc::new(SystemClock),
            events: Arc::new(NoopSink),
        },
    )
    .await
    .unwrap()
}

/// `count` activities on one connection (ids 1..=count), raw SQL (what a sync would write).
async fn activities(core: &Core, count: usize) -> i64 {
    let pool = core.store().pool();
    let now = Utc::now().timestamp_millis();
    let connection: i64 = sqlx::query_scalar(
        "INSERT INTO provider_connections (athlete_id, provider, created_at, updated_at)
         VALUES (1, 'wahoo', ?1, ?1) RETURNING id",
    )
    .bind(now)
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
         INSERT INTO activities (connection_id, provider, provider_activity_id, sport, start_utc,
             elapsed_seconds, distance_m, raw_json, created_at, updated_at)
         SELECT ?1, 'wahoo', 'w' || i, 'ride', ?3 - i * 3600000, 3600, 30000.0, '{}', ?3, ?3 FROM n",
    )
    .bind(connection)
    .bind(count as i64)
    .bind(now)
    .execute(pool)
    .await
    .unwrap();
    connection
}

/// A recording row as the queue writes it: an original's streams are not packed (decoded from
/// the file when opened); a provider's streams are.
async fn keep(
    core: &Core,
    activity_id: i64,
    streams: &recording::Streams,
    original: Option<(&str, i64, i64)>,
) {
    let packed = match original {
        Some(_) => None,
        None => Some(codec::encode(streams).unwrap()),
    };
    let index = serde_json::to_string(&streams.index()).unwrap();
    let laps = serde_json::to_string(&streams.laps).unwrap();
    let mut tx = core.store().begin().await.unwrap();
    tributary_core::store::recordings::save(
        &mut tx,
        &Outcome {
            activity_id,
            status: RecordingStatus::Stored,
            original: original.map(|(sha, bytes, stored)| (sha, "fit", bytes, stored)),
            source: Some("original"),
            reason: None,
            streams: packed.as_deref(),
            stream_index: Some(&index),
            laps: Some(&laps),
            points: streams.len() as i64,
            has_track: streams.has_track(),
            retry_at: None,
            fetched: true,
        },
        Utc::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // 1. Decoding 3,000 originals.
    let files = env("BENCH_RECORDINGS_FILES", 3000);
    let anchor = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    let fits: Vec<Vec<u8>> = tributary_sandbox::generate::workouts(files, 11, 3, anchor)
        .iter()
        .map(tributary_sandbox::recording::fit)
        .collect();
    let total_bytes: usize = fits.iter().map(Vec::len).sum();
    let mb = total_bytes as f64 / 1e6;
    let started = Instant::now();
    let mut messages = 0;
    for f in &fits {
        messages += raw_decode(f);
    }
    let baseline = started.elapsed();
    let dir = tempfile::tempdir().unwrap();
    let store = OriginalFiles::new(dir.path());
    let started = Instant::now();
    let mut decode_only = Duration::ZERO;
    let mut packing = Duration::ZERO;
    let (mut kept_bytes, mut packed_bytes, mut points) = (0u64, 0u64, 0usize);
    for f in &fits {
        let t = Instant::now();
        let original = recording::unwrap(f.clone()).unwrap();
        let streams = recording::decode(&original).unwrap();
        decode_only += t.elapsed();
        points += streams.len();
        let _index = serde_json::to_string(&streams.index()).unwrap();
        let _laps = serde_json::to_string(&streams.laps).unwrap();
        kept_bytes += store.put(original.bytes).await.unwrap().stored_bytes;
        // Not on the store's path (an original's streams are not kept): measured for the
        // storage comparison only, and its time taken out.
        let t = Instant::now();
        packed_bytes += codec::encode(&streams).unwrap().len() as u64;
        packing += t.elapsed();
    }
    let store_path = started.elapsed() - packing;
    println!("decoding {files} FIT originals ({mb:.1} MB, {messages} messages, {points} samples):");
    let line = |what: &str, d: Duration| {
        println!(
            "  {what:<44} {:>8.0} ms  {:>7.0} files/s  {:>6.1} MB/s  ({:.2}× the crate's decode)",
            d.as_secs_f64() * 1000.0,
            files as f64 / d.as_secs_f64(),
            mb / d.as_secs_f64(),
            d.as_secs_f64() / baseline.as_secs_f64()
        );
    };
    line("rustyfit decode alone (baseline)", baseline);
    line("recording::decode (streams and laps)", decode_only);
    line("the store's path (decode, keep gzipped, fsync)", store_path);
    println!(
        "  the store's overhead over the crate's decode: {:.2}× the decode cost",
        (store_path.as_secs_f64() - baseline.as_secs_f64()) / baseline.as_secs_f64()
    );

    // 2. Storage per activity.
    println!("storage per activity (mean over {files}):");
    println!(
        "  the original as it came        {:>8.0} bytes",
        total_bytes as f64 / files as f64
    );
    println!(
        "  the original as kept (gzip)    {:>8.0} bytes",
        kept_bytes as f64 / files as f64
    );
    println!(
        "  the derived streams, if packed {:>8.0} bytes (not kept for originals)",
        packed_bytes as f64 / files as f64
    );
    println!(
        "  kept: {:.0} bytes (the original once); with derived streams it would be {:.0} bytes",
        kept_bytes as f64 / files as f64,
        (kept_bytes + packed_bytes) as f64 / files as f64
    );

    // 3. A 10-hour ride at 1 Hz.
    let dir = tempfile::tempdir().unwrap();
    let core = open_core(dir.path()).await;
    let n = env("BENCH_RECORDINGS_ACTIVITIES", 100_000);
    activities(&core, n).await;
    let long = tributary_sandbox::recording::fit(&ride(36_000));
    let original = recording::unwrap(long.clone()).unwrap();
    let t = Instant::now();
    let streams = recording::decode(&original).unwrap();
    let decode_long = t.elapsed();
    let kept = OriginalFiles::new(dir.path())
        .put(long.clone())
        .await
        .unwrap();
    keep(
        &core,
        1,
        &streams,
        Some((&kept.sha256, kept.bytes as i64, kept.stored_bytes as i64)),
    )
    .await;
    let mut opens = Vec::new();
    for i in 0..55 {
        let t = Instant::now();
        let detail = core.recording(1, None).await.unwrap();
        if i >= 5 {
            opens.push(t.elapsed());
        }
        assert_eq!(detail.shown.unwrap().points, 36_000);
    }
    let (p50, p95) = percentiles(opens);
    println!(
        "a 10-hour ride at 1 Hz ({} samples, FIT {} KB): decoding its FIT {:.1} ms (once, when fetched);",
        streams.len(),
        long.len() / 1024,
        decode_long.as_secs_f64() * 1000.0
    );
    println!(
        "  opening it (Core::recording: read, gunzip, decode the FIT, downsample to ≤ 2,000): p50 {p50:.1} ms, p95 {p95:.1} ms"
    );
    // The same ride as a provider's packed streams (Strava's case).
    keep(&core, 2, &streams, None).await;
    let mut opens = Vec::new();
    for i in 0..55 {
        let t = Instant::now();
        core.recording(2, None).await.unwrap();
        if i >= 5 {
            opens.push(t.elapsed());
        }
    }
    let (p50, p95) = percentiles(opens);
    println!(
        "  opening it from packed streams (unpack, downsample): p50 {p50:.1} ms, p95 {p95:.1} ms"
    );

    // 4. At scale: every activity with a (short) recording.
    let short = recording::decode(
        &recording::unwrap(tributary_sandbox::recording::fit(&ride(600))).unwrap(),
    )
    .unwrap();
    let started = Instant::now();
    let packed = codec::encode(&short).unwrap();
    let index = serde_json::to_string(&short.index()).unwrap();
    sqlx::query(
        "INSERT INTO recordings (activity_id, status, source, streams, stream_index, laps, points,
             has_track, fetched_at, updated_at)
         SELECT id, 'stored', 'streams', ?1, ?2, '[]', ?3, 1, NULL, 0 FROM activities WHERE id > 2",
    )
    .bind(&packed)
    .bind(&index)
    .bind(short.len() as i64)
    .execute(core.store().pool())
    .await
    .unwrap();
    println!(
        "{n} activities with recordings (filled in {:.1} s):",
        started.elapsed().as_secs_f64()
    );
    let mut rng = 0x9E37_79B9_7F4A_7C15_u64;
    let mut details = Vec::new();
    for _ in 0..200 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let id = 3 + (rng % (n as u64 - 2)) as i64;
        let t = Instant::now();
        core.recording(id, None).await.unwrap();
        details.push(t.elapsed());
    }
    let (p50, p95) = percentiles(details);
    println!("  Core::recording of a random activity   p50 {p50:.2} ms, p95 {p95:.2} ms");
    let mut dashboards = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        core.dashboard().await.unwrap();
        dashboards.push(t.elapsed());
    }
    let (p50, p95) = percentiles(dashboards);
    println!("  Core::dashboard                        p50 {p50:.2} ms, p95 {p95:.2} ms");
    // The counts the card reads: kept by triggers, against counting the rows.
    let connection: i64 = sqlx::query_scalar("SELECT id FROM provider_connections LIMIT 1")
        .fetch_one(core.store().pool())
        .await
        .unwrap();
    let mut fresh = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        tributary_core::store::recordings::counts(core.store().pool(), connection)
            .await
            .unwrap();
        fresh.push(t.elapsed());
    }
    let (p50, p95) = percentiles(fresh);
    println!(
        "  counting a connection's recordings      p50 {p50:.2} ms, p95 {p95:.2} ms (kept by triggers)"
    );
    let counts = tributary_core::store::recordings::counts(core.store().pool(), connection)
        .await
        .unwrap();
    assert_eq!(counts.total as usize, n, "{counts:?}");
    assert_eq!(
        counts.stored as usize, n,
        "every activity counted: {counts:?}"
    );
    let mut rows = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        tributary_core::store::recordings::counts_from_rows(core.store().pool(), connection)
            .await
            .unwrap();
        rows.push(t.elapsed());
    }
    let (p50, p95) = percentiles(rows);
    println!("  the same counted from the rows (before) p50 {p50:.2} ms, p95 {p95:.2} ms");
    core.shutdown().await;
}
