//! Recordings: the download queue against every twin, its budget, its durability, bad files,
//! the detail view, the originals export and the orphan sweep.

use crate::harness::Harness;
use tokio_util::sync::CancellationToken;
use tributary_core::domain::{ProviderKind, SyncStatus, SyncTrigger};
use tributary_core::recording::StreamKind;
use tributary_core::sync::SyncMode;

async fn synced(h: &Harness, provider: ProviderKind) {
    h.connect_to(provider).await;
    let run = h
        .core
        .sync(provider, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Success, "{provider} synced");
}

/// Workouts recorded in the last days (Polar lists only its last 30 days).
async fn recent(h: &Harness, count: i64) {
    for d in 1..=count {
        let start = chrono::Utc::now() - chrono::Duration::days(d) - chrono::Duration::hours(3);
        h.control("upload", serde_json::json!({"start": start.to_rfc3339()}))
            .await;
    }
}

async fn calls(h: &Harness, key: &str) -> u64 {
    h.sandbox_state().await["calls"][key].as_u64().unwrap_or(0)
}

async fn fetch_all(
    h: &Harness,
    provider: ProviderKind,
    limit: usize,
) -> tributary_core::recording::queue::BatchReport {
    let mut reports = h
        .core
        .download_recordings(Some(provider), limit, &CancellationToken::new())
        .await
        .unwrap();
    reports.remove(0)
}

async fn ids_of(h: &Harness, provider: ProviderKind) -> Vec<i64> {
    sqlx::query_scalar("SELECT id FROM activities WHERE provider = ?1 ORDER BY start_utc DESC")
        .bind(provider.as_str())
        .fetch_all(h.core.store().pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn every_provider_delivers_what_its_api_offers() {
    let h = Harness::garmin_personal(30).await;
    let all = [
        ProviderKind::Strava,
        ProviderKind::Garmin,
        ProviderKind::Polar,
        ProviderKind::Coros,
        ProviderKind::Wahoo,
        ProviderKind::GoogleHealth,
    ];
    for p in all {
        if p == ProviderKind::Garmin {
            let key = tributary_core::secrets::Sensitive::new(
                tributary_sandbox::garmin_personal::DEMO_KEY.to_owned(),
            );
            h.core.connect_with_key(p, &key, None).await.unwrap();
        } else {
            h.connect_to(p).await;
        }
    }
    // Polar lists only what arrives after the athlete linked it.
    recent(&h, 3).await;
    // The twins share one budget; this test is about what each door offers, not limits.
    h.control(
        "budget",
        serde_json::json!({"short": 100_000, "daily": 1_000_000}),
    )
    .await;
    for p in all {
        let run = h
            .core
            .sync(p, SyncTrigger::Manual, SyncMode::Incremental)
            .await
            .unwrap();
        assert_eq!(run.status, SyncStatus::Success, "{p} synced");
    }
    for p in all {
        let report = fetch_all(&h, p, 1000).await;
        let progress = report.progress.clone().unwrap();
        let total = progress.counts.total;
        match p {
            ProviderKind::GoogleHealth => {
                assert_eq!(
                    report.requests, 0,
                    "Google Health offers no recordings: none asked"
                );
                assert_eq!(progress.offers, tributary_core::providers::Recordings::None);
                assert_eq!(progress.eta_seconds, None);
            }
            _ => {
                assert!(total > 0, "{p} has activities");
                assert_eq!(progress.counts.pending, 0, "{p}: all fetched: {report:?}");
                assert!(progress.counts.stored > 0, "{p}: {report:?}");
                assert_eq!(report.failed, 0, "{p}: {report:?}");
                // One request per activity (Polar's FIT is found at the first try); none for
                // a workout its listing gives no file for (Wahoo's without a summary).
                let asked = match p {
                    ProviderKind::Wahoo => total - i64::from(report.none),
                    _ => total,
                };
                assert_eq!(report.requests, asked, "{p}: one request per activity");
            }
        }
    }
    // Wahoo's workouts without a summary have no file: a stored outcome, not a failure.
    let wahoo = h
        .core
        .recording_progress(ProviderKind::Wahoo)
        .await
        .unwrap();
    assert!(
        wahoo.counts.none > 0 && wahoo.counts.stored > 0,
        "{wahoo:?}"
    );
    // File hosts never see the token.
    assert!(calls(&h, "wahoo_files").await > 0);
    assert_eq!(calls(&h, "wahoo_files_with_token").await, 0);
    assert!(calls(&h, "coros_files").await > 0);
    assert_eq!(calls(&h, "coros_files_with_token").await, 0);
    // The same watch file synced to several providers is one original on disk.
    let pool = h.core.store().pool();
    let (refs, originals): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM recordings WHERE sha256 IS NOT NULL),
                (SELECT count(*) FROM originals)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert!(
        originals > 0 && originals < refs,
        "deduplicated: {originals} files for {refs} copies"
    );
    let files = walk(&h.dir.path().join("originals"));
    assert_eq!(files.len() as i64, originals, "one file per original");

    // Strava: streams, no original; Garmin: the FIT from the ZIP, with laps.
    let strava = ids_of(&h, ProviderKind::Strava).await[0];
    let detail = h.core.recording(strava, Some(strava)).await.unwrap();
    let mine = detail
        .copies
        .iter()
        .find(|c| c.activity_id == strava)
        .unwrap();
    assert_eq!(mine.source.as_deref(), Some("streams"));
    assert!(mine.sha256.is_none());
    let garmin = ids_of(&h, ProviderKind::Garmin).await[0];
    let detail = h.core.recording(garmin, Some(garmin)).await.unwrap();
    let mine = detail
        .copies
        .iter()
        .find(|c| c.activity_id == garmin)
        .unwrap();
    assert_eq!(
        mine.format,
        Some(tributary_core::recording::FileFormat::Fit)
    );
    let shown = detail.shown.unwrap();
    assert_eq!(shown.activity_id, garmin);
    assert_eq!(shown.series[0].name, StreamKind::Time);
    assert!(shown.series.len() >= 3, "time and at least two more series");
    assert!(
        shown
            .series
            .iter()
            .all(|s| s.values.len() == shown.series[0].values.len())
    );
    assert!(shown.series[0].values.len() <= tributary_core::recording::view::SCREEN_POINTS + 1);
    let (bytes, format, name) = h.core.original(garmin).await.unwrap();
    assert_eq!(&bytes[8..12], b".FIT", "the FIT itself, out of its ZIP");
    assert_eq!(format, tributary_core::recording::FileFormat::Fit);
    assert!(
        name.starts_with("garmin-") && name.ends_with(".fit"),
        "{name}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn a_killed_queue_resumes_without_fetching_again_what_is_stored() {
    let h = Harness::new(30).await;
    synced(&h, ProviderKind::Strava).await;
    let first = fetch_all(&h, ProviderKind::Strava, 10).await;
    assert_eq!((first.stored, first.requests), (10, 10));
    // A new process (the CLI after the app was killed) carries on where the first stopped.
    let again = h.reopen().await;
    let rest = again
        .download_recordings(Some(ProviderKind::Strava), 1000, &CancellationToken::new())
        .await
        .unwrap()
        .remove(0);
    let total = rest.progress.as_ref().unwrap().counts.total;
    assert_eq!(rest.requests, total - 10, "{rest:?}");
    assert_eq!(
        calls(&h, "strava_streams").await as i64,
        total,
        "exactly one streams request per activity across both processes"
    );
    // Nothing left: a third batch asks for nothing.
    let none = again
        .download_recordings(Some(ProviderKind::Strava), 1000, &CancellationToken::new())
        .await
        .unwrap()
        .remove(0);
    assert_eq!(none.requests, 0);
}

#[tokio::test]
async fn the_queue_spends_only_its_share_of_stravas_read_budget() {
    let h = Harness::new(150).await;
    h.control("budget", serde_json::json!({"short": 100, "daily": 1000}))
        .await;
    synced(&h, ProviderKind::Strava).await;
    let before = calls(&h, "strava").await;
    let report = fetch_all(&h, ProviderKind::Strava, 1000).await;
    let spent = calls(&h, "strava").await - before;
    assert_eq!(spent as i64, report.requests);
    // 80 % of 100 reads per 15 min for the queue, the rest kept for summary syncs.
    assert!(
        (70..=80).contains(&report.requests),
        "the queue's share: {report:?}"
    );
    assert!(
        report.stopped.is_some(),
        "it says why it stopped: {report:?}"
    );
    let progress = report.progress.unwrap();
    assert!(progress.counts.pending > 0);
    assert!(
        progress.waiting_until.is_some(),
        "it knows when it may go on"
    );
    assert!(progress.eta_seconds.unwrap() > 0);
    // The summary sync still gets through.
    let run = h
        .core
        .sync(
            ProviderKind::Strava,
            SyncTrigger::Manual,
            SyncMode::Incremental,
        )
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Success);
    // And another batch now spends nothing.
    let again = fetch_all(&h, ProviderKind::Strava, 1000).await;
    assert_eq!(again.requests, 0, "{again:?}");
}

#[tokio::test]
async fn bad_files_are_stored_outcomes_and_the_queue_goes_on() {
    let h = Harness::new(40).await;
    synced(&h, ProviderKind::Wahoo).await;
    // The newest first: the first four downloads meet a 404, HTML, half a FIT and a 429.
    for kind in ["404", "malformed", "truncated"] {
        h.fault_on("wahoo", kind, 1).await;
    }
    let report = fetch_all(&h, ProviderKind::Wahoo, 1000).await;
    assert_eq!(report.failed, 0, "{report:?}");
    assert_eq!(
        report.unreadable, 2,
        "HTML and half a FIT are kept, unreadable: {report:?}"
    );
    assert!(report.stored > 20, "{report:?}");
    let pool = h.core.store().pool();
    let reasons: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT r.status, r.reason, o.format FROM recordings r
         LEFT JOIN originals o ON o.sha256 = r.sha256 WHERE r.status != 'stored'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(
        reasons
            .iter()
            .any(|(s, r, _)| s == "none" && r.as_deref().unwrap_or("").contains("404")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|(s, r, f)| s == "unreadable"
            && f.as_deref() == Some("unknown")
            && r.as_deref().unwrap_or("").contains("not a FIT")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|(s, r, f)| s == "unreadable"
            && f.as_deref() == Some("fit")
            && r.as_deref().unwrap_or("").contains("damaged")),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn a_failing_download_is_retried_later_then_given_up_as_a_stored_outcome() {
    let h = Harness::new(8).await;
    synced(&h, ProviderKind::Strava).await;
    // Three attempts (the retry policy) of the first streams request all answer 500.
    h.fault_on("strava", "500", 3).await;
    let report = fetch_all(&h, ProviderKind::Strava, 1000).await;
    assert_eq!(report.failed, 1, "{report:?}");
    let progress = report.progress.unwrap();
    assert_eq!(progress.counts.pending, 1, "to try again later");
    // Not again at once: its wait has not passed.
    let again = fetch_all(&h, ProviderKind::Strava, 1000).await;
    assert_eq!(again.requests, 0, "{again:?}");
    // Opening it fetches it now (the athlete asked), and this time it works.
    let failed: i64 =
        sqlx::query_scalar("SELECT activity_id FROM recordings WHERE status = 'failed'")
            .fetch_one(h.core.store().pool())
            .await
            .unwrap();
    let detail = h.core.recording(failed, None).await.unwrap();
    assert_eq!(detail.fetch_error, None);
    assert_eq!(detail.shown.map(|s| s.activity_id), Some(failed));
}

#[tokio::test]
async fn opening_an_activity_fetches_its_recording_first() {
    let h = Harness::new(12).await;
    synced(&h, ProviderKind::Strava).await;
    let id = ids_of(&h, ProviderKind::Strava).await[3];
    assert_eq!(calls(&h, "strava_streams").await, 0);
    let detail = h.core.recording(id, None).await.unwrap();
    assert_eq!(
        calls(&h, "strava_streams").await,
        1,
        "one request, for this one"
    );
    let shown = detail.shown.expect("shown after fetching");
    assert_eq!(shown.activity_id, id);
    assert!(
        shown
            .series
            .iter()
            .any(|s| s.name == StreamKind::HeartRate || s.name == StreamKind::Speed)
    );
    // Opened again: nothing asked.
    h.core.recording(id, None).await.unwrap();
    assert_eq!(calls(&h, "strava_streams").await, 1);
}

#[tokio::test]
async fn the_copy_shown_is_the_richest_or_the_athletes_pinned_choice() {
    let h = Harness::new(30).await;
    synced(&h, ProviderKind::Strava).await;
    synced(&h, ProviderKind::Wahoo).await;
    fetch_all(&h, ProviderKind::Strava, 1000).await;
    fetch_all(&h, ProviderKind::Wahoo, 1000).await;
    let pool = h.core.store().pool();
    // A workout with a copy from each, both with a recording.
    let (strava, wahoo): (i64, i64) = sqlx::query_as(
        "SELECT s.id, w.id FROM activities s JOIN activities w ON w.workout_id = s.workout_id
         JOIN recordings rs ON rs.activity_id = s.id AND rs.status = 'stored'
         JOIN recordings rw ON rw.activity_id = w.id AND rw.status = 'stored'
         WHERE s.provider = 'strava' AND w.provider = 'wahoo' LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let detail = h.core.recording(strava, None).await.unwrap();
    assert_eq!(detail.copies.len(), 2);
    let default = detail.shown.as_ref().unwrap().activity_id;
    assert!(!detail.chosen);
    let other = if default == strava { wahoo } else { strava };
    let pinned = h.core.choose_recording(other, true).await.unwrap();
    assert!(pinned.chosen);
    assert_eq!(pinned.shown.as_ref().unwrap().activity_id, other);
    // The choice survives a sync and is read from either copy.
    let run = h
        .core
        .sync(ProviderKind::Strava, SyncTrigger::Manual, SyncMode::Full)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Success);
    let from_other_side = h.core.recording(default, None).await.unwrap();
    assert_eq!(from_other_side.shown.unwrap().activity_id, other);
    let unpinned = h.core.choose_recording(other, false).await.unwrap();
    assert_eq!(unpinned.shown.unwrap().activity_id, default);
}

#[tokio::test]
async fn originals_export_writes_every_file_a_gpx_for_streams_and_a_manifest() {
    let h = Harness::new(10).await;
    synced(&h, ProviderKind::Strava).await;
    synced(&h, ProviderKind::Wahoo).await;
    fetch_all(&h, ProviderKind::Strava, 1000).await;
    fetch_all(&h, ProviderKind::Wahoo, 1000).await;
    let out = h.dir.path().join("originals-export");
    let exported = h
        .core
        .export(tributary_core::export::ExportFormat::Originals, &out)
        .await
        .unwrap();
    assert!(exported.activities > 0);
    let manifest: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert!(out.join("manifest.csv").exists());
    let fits: Vec<_> = manifest.iter().filter(|m| m["format"] == "fit").collect();
    let gpxs: Vec<_> = manifest
        .iter()
        .filter(|m| m["format"] == "gpx (from streams)")
        .collect();
    assert!(!fits.is_empty() && !gpxs.is_empty(), "{manifest:?}");
    for m in &fits {
        let bytes = std::fs::read(out.join(m["file"].as_str().unwrap())).unwrap();
        assert_eq!(
            tributary_core::recording::files::sha256_hex(&bytes),
            m["sha256"].as_str().unwrap(),
            "the original as it came"
        );
    }
    let gpx = std::fs::read_to_string(out.join(gpxs[0]["file"].as_str().unwrap())).unwrap();
    assert!(gpx.contains("<trkpt") && gpx.contains("<time>"));
    // An export never overwrites.
    assert!(
        h.core
            .export(tributary_core::export::ExportFormat::Originals, &out)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn deleting_the_data_removes_its_originals_and_keeps_the_rest() {
    let h = Harness::new(10).await;
    h.connect_to(ProviderKind::Polar).await;
    recent(&h, 3).await;
    synced(&h, ProviderKind::Wahoo).await;
    let run = h
        .core
        .sync(
            ProviderKind::Polar,
            SyncTrigger::Manual,
            SyncMode::Incremental,
        )
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Success);
    fetch_all(&h, ProviderKind::Wahoo, 1000).await;
    fetch_all(&h, ProviderKind::Polar, 1000).await;
    let root = h.dir.path().join("originals");
    let before = walk(&root).len();
    assert!(before > 0);
    h.core.disconnect(ProviderKind::Wahoo, false).await.unwrap();
    // Files of a young age may be another process's write in flight: make them old.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    for f in walk(&root) {
        std::fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    h.core.collect_orphaned_originals().await.unwrap();
    let pool = h.core.store().pool();
    let referenced: i64 = sqlx::query_scalar("SELECT count(*) FROM originals")
        .fetch_one(pool)
        .await
        .unwrap();
    let after = walk(&root).len() as i64;
    assert_eq!(after, referenced, "only files a row refers to remain");
    // Polar's (the same workouts' FIT bytes are shared with Wahoo's where both recorded it)
    // are all still readable.
    for id in ids_of(&h, ProviderKind::Polar).await {
        if let Ok((bytes, _, _)) = h.core.original(id).await {
            assert_eq!(&bytes[8..12], b".FIT");
        }
    }
}

#[tokio::test]
async fn the_agent_fetches_recordings_in_the_background() {
    let h = Harness::new(10).await;
    h.connect_to(ProviderKind::Strava).await;
    let agent = h
        .core
        .start_scheduler(tributary_core::scheduler::SchedulerSettings {
            interval: std::time::Duration::from_secs(3600),
            ..Default::default()
        });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let progress = h
            .core
            .recording_progress(ProviderKind::Strava)
            .await
            .unwrap();
        if progress.counts.total > 0 && progress.counts.pending == 0 {
            assert!(progress.counts.stored > 0);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "fetched in the background: {progress:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    agent.shutdown().await;
}

#[tokio::test]
async fn a_rate_limited_queue_waits_quietly_in_the_agent() {
    let h = Harness::new(20).await;
    synced(&h, ProviderKind::Strava).await;
    // Every call answers 429 from now on.
    h.fault_on("strava", "429", 10_000).await;
    let agent = h
        .core
        .start_scheduler(tributary_core::scheduler::SchedulerSettings {
            interval: std::time::Duration::from_secs(3600),
            startup_run: false,
            ..Default::default()
        });
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let looks = agent.looks();
    agent.shutdown().await;
    let asked = calls(&h, "strava_streams").await;
    assert!(asked <= 1, "asked once, then waited for the reset: {asked}");
    assert!(looks <= 6, "no busy loop: {looks} looks in 2 s");
}

#[tokio::test]
async fn strava_laps_are_fetched_once_when_the_activity_is_opened() {
    let h = Harness::new(8).await;
    synced(&h, ProviderKind::Strava).await;
    // The queue fetches the streams only: one request per activity.
    fetch_all(&h, ProviderKind::Strava, 1000).await;
    assert_eq!(calls(&h, "strava_laps").await, 0);
    let id = ids_of(&h, ProviderKind::Strava).await[0];
    let detail = h.core.recording(id, None).await.unwrap();
    let laps = detail.shown.unwrap().laps;
    assert!(!laps.is_empty(), "the laps, fetched on opening");
    assert_eq!(laps[0].start_s, 0.0);
    assert!(laps.windows(2).all(|w| w[0].start_s < w[1].start_s));
    assert_eq!(calls(&h, "strava_laps").await, 1);
    // Kept: opened again, nothing asked.
    h.core.recording(id, None).await.unwrap();
    assert_eq!(calls(&h, "strava_laps").await, 1);
    let show = h.core.recording(id, Some(id)).await.unwrap();
    assert_eq!(show.copies[0].laps, laps.len());
}

/// The counts the triggers keep, against a count of the rows, for every connection.
async fn counts_match(h: &Harness, when: &str) {
    let pool = h.core.store().pool();
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM provider_connections")
        .fetch_all(pool)
        .await
        .unwrap();
    for id in ids {
        let kept = tributary_core::store::recordings::counts(pool, id)
            .await
            .unwrap();
        let rows = tributary_core::store::recordings::counts_from_rows(pool, id)
            .await
            .unwrap();
        assert_eq!(kept, rows, "{when}: connection {id}");
    }
}

#[tokio::test]
async fn the_counts_the_triggers_keep_match_the_rows_through_every_change() {
    let h = Harness::new(30).await;
    synced(&h, ProviderKind::Strava).await;
    synced(&h, ProviderKind::Wahoo).await;
    counts_match(&h, "after the syncs").await;
    // Every outcome: stored, none (404), unreadable (HTML), failed to try again (500 ×3).
    for kind in ["404", "malformed"] {
        h.fault_on("wahoo", kind, 1).await;
    }
    h.fault_on("strava", "500", 3).await;
    fetch_all(&h, ProviderKind::Wahoo, 1000).await;
    fetch_all(&h, ProviderKind::Strava, 1000).await;
    counts_match(&h, "after the downloads").await;
    // The failing one given up: four more failed attempts on opening.
    let failed: i64 =
        sqlx::query_scalar("SELECT activity_id FROM recordings WHERE status = 'failed'")
            .fetch_one(h.core.store().pool())
            .await
            .unwrap();
    for _ in 0..4 {
        h.fault_on("strava", "500", 3).await;
        let _ = h.core.recording(failed, None).await;
    }
    let strava = h
        .core
        .recording_progress(ProviderKind::Strava)
        .await
        .unwrap();
    assert_eq!(strava.counts.given_up, 1, "{strava:?}");
    counts_match(&h, "after giving one up").await;
    // Flagged deleted by a reconcile, then a disconnect that keeps the activities, a reconnect
    // that adopts them, and a disconnect that deletes them.
    h.control("delete", serde_json::json!({"index": 5})).await;
    let run = h
        .core
        .sync(ProviderKind::Wahoo, SyncTrigger::Manual, SyncMode::Full)
        .await
        .unwrap();
    assert_eq!(run.counters.deleted, 1);
    counts_match(&h, "after a deletion at the provider").await;
    h.core.disconnect(ProviderKind::Wahoo, true).await.unwrap();
    counts_match(&h, "after a disconnect that keeps the activities").await;
    synced(&h, ProviderKind::Wahoo).await;
    let wahoo = h
        .core
        .recording_progress(ProviderKind::Wahoo)
        .await
        .unwrap();
    assert!(
        wahoo.counts.stored > 0,
        "adopted with their recordings: {wahoo:?}"
    );
    counts_match(&h, "after a reconnect").await;
    h.core
        .disconnect(ProviderKind::Strava, false)
        .await
        .unwrap();
    counts_match(&h, "after a disconnect that deletes").await;
}
