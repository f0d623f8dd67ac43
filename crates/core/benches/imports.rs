//! Import, measured (ratios against a baseline in the same run):
//!
//! 1. Throughput: a generated Strava-style export of `BENCH_IMPORT_FILES` (3,000) activities of
//!    20 minutes to two hours at 1 Hz, a third each FIT.gz, GPX and TCX.gz, in one ZIP. The
//!    baseline reads the same archive and parses every member (unwrap, decode) and nothing else;
//!    `Core::import` then imports it into an empty library. Files/s, MB/s (of the archive) and
//!    the import's throughput as a share of the parse-only one.
//! 2. Memory: peak resident memory while importing an archive of `BENCH_IMPORT_BIG_MEMBERS`
//!    (5,000) members of about `BENCH_IMPORT_MEMBER_KB` (420) KB each, stored uncompressed (about
//!    2 GB), measured from the kernel's high-water mark (`VmHWM`, reset before the import).
//!
//! Run with `cargo bench -p tributary-core --bench imports` (the views' queries after an import,
//! at 100,000 activities, are in the `queries` benchmark).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use chrono::{TimeZone, Utc};
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;
use tributary_core::clock::SystemClock;
use tributary_core::events::NoopSink;
use tributary_core::recording;
use tributary_core::secrets::MemoryStore;
use tributary_core::{Config, Core, Deps};
use tributary_sandbox::archive::{self, Out};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn core(dir: &std::path::Path) -> Core {
    let mut config = Config::from_lookup(|_| None).unwrap();
    config.data_dir = dir.to_owned();
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

/// The kernel's high-water mark of this process's resident memory, in MB.
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Reset the high-water mark to the current size (Linux: `5` into `clear_refs`).
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Parse every member of the ZIP at `path` (unwrap gzip, decode): the import's own work on
/// each file, without storing anything.
fn parse_only(path: &std::path::Path) -> (usize, usize) {
    let mut zip =
        zip::ZipArchive::new(std::io::BufReader::new(std::fs::File::open(path).unwrap())).unwrap();
    let (mut decoded, mut points) = (0, 0);
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if let Ok(original) = recording::unwrap(bytes)
            && let Ok(streams) = recording::decode(&original)
        {
            decoded += 1;
            points += streams.len();
        }
    }
    (decoded, points)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let files = env("BENCH_IMPORT_FILES", 3000);
    let anchor = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    let mut workouts = tributary_sandbox::generate::workouts(files, 5, 8, anchor);
    // About an hour each (the generator's sessions last 20 minutes to two hours).
    for w in &mut workouts {
        let hour = 3600.0 / w.elapsed.max(1) as f64;
        w.elapsed = 3600;
        w.moving = w.moving.min(3600);
        w.distance *= hour;
    }
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export.zip");
    let started = Instant::now();
    let mut out = Out::create(&export, false).unwrap();
    archive::strava_export(&mut out, &workouts).unwrap();
    out.finish().unwrap();
    let mb = std::fs::metadata(&export).unwrap().len() as f64 / 1e6;
    println!(
        "imports: a Strava-style export of {files} activities, {mb:.1} MB (written in {:.1} s)",
        started.elapsed().as_secs_f64()
    );

    // 1. Parse only, then the import, of the same archive.
    let started = Instant::now();
    let (decoded, points) = parse_only(&export);
    let parse = started.elapsed().as_secs_f64();
    assert_eq!(decoded, files, "every activity parses");
    let lib = tempfile::tempdir().unwrap();
    let core = core(lib.path()).await;
    let started = Instant::now();
    let report = core
        .import(vec![export.clone()], CancellationToken::new())
        .await
        .unwrap();
    let import = started.elapsed().as_secs_f64();
    assert_eq!(
        report.counts.imported + report.counts.linked,
        files as i64,
        "{report:?}"
    );
    let share = parse / import;
    println!(
        "  parse only:  {:>8.1} files/s {:>8.1} MB/s ({points} samples)",
        files as f64 / parse,
        mb / parse
    );
    println!(
        "  import:      {:>8.1} files/s {:>8.1} MB/s",
        files as f64 / import,
        mb / import
    );
    println!(
        "  import throughput = {share:.2} × parse-only (goal ≥ 0.5) — {}",
        if share >= 0.5 { "met" } else { "MISSED" }
    );
    drop(core);

    // 2. Peak memory over a ~2 GB archive of 5,000 members, read member by member.
    let members = env("BENCH_IMPORT_BIG_MEMBERS", 5000);
    let member_kb = env("BENCH_IMPORT_MEMBER_KB", 420);
    let big = dir.path().join("big.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&big).unwrap());
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(false);
        // One GPX of the right size, written again under each name (distinct bytes are not
        // needed for memory; the same bytes are duplicates after the first, as stored).
        let mut w = workouts[0].clone();
        w.elapsed = (member_kb as i64 * 1024 / 200).max(60);
        w.moving = w.elapsed;
        let gpx = archive::gpx(&w);
        for i in 0..members {
            zip.start_file(format!("activities/{i}.gpx"), stored)
                .unwrap();
            // A comment line makes each member's bytes its own (a new original each time).
            zip.write_all(gpx.as_bytes()).unwrap();
            zip.write_all(format!("<!-- {i} -->\n").as_bytes()).unwrap();
        }
        zip.finish().unwrap();
    }
    let gb = std::fs::metadata(&big).unwrap().len() as f64 / 1e9;
    let lib = tempfile::tempdir().unwrap();
    let core = self::core(lib.path()).await;
    let before = peak_rss_mb();
    let reset = reset_peak();
    let started = Instant::now();
    let report = core
        .import(vec![big], CancellationToken::new())
        .await
        .unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    let peak = peak_rss_mb();
    println!(
        "  {members} members, {gb:.2} GB: imported in {elapsed:.0} s ({} new, {} already here, {} refused); \
         peak RSS {peak:.0} MB{} (goal ≤ 200 MB) — {}",
        report.counts.imported,
        report.counts.duplicate,
        report.counts.refused,
        if reset {
            ""
        } else {
            " (high-water mark not reset: includes the set-up)"
        },
        if peak <= 200.0 { "met" } else { "MISSED" }
    );
    let _ = before;
}
