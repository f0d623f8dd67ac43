//! Import: every layout through the real store, one outcome per file, exact joins and links by
//! time overlap against the sandbox's ground truth, untrusted archives, idempotence, two imports
//! at once, and forgetting an import.

use crate::harness::Harness;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;
use tributary_core::domain::{ProviderKind, SyncStatus, SyncTrigger};
use tributary_core::import::{ImportReport, ImportStatus, OutcomeCounts};
use tributary_core::sync::SyncMode;
use tributary_sandbox::archive::{self, Out};
use tributary_sandbox::generate::Workout;

async fn import(h: &Harness, paths: &[&Path]) -> ImportReport {
    h.core
        .import(
            paths.iter().map(|p| p.to_path_buf()).collect(),
            CancellationToken::new(),
        )
        .await
        .unwrap()
}

fn write(dir: &Path, name: &str, folder: bool, f: archive::Writer, w: &[Workout]) -> PathBuf {
    let path = dir.join(name);
    let mut out = Out::create(&path, folder).unwrap();
    f(&mut out, w).unwrap();
    out.finish().unwrap();
    path
}

async fn counts_of(h: &Harness) -> (i64, i64) {
    sqlx::query_as("SELECT COUNT(*), COALESCE(SUM(counted), 0) FROM activities")
        .fetch_one(h.core.store().pool())
        .await
        .unwrap()
}

async fn synced(h: &Harness, provider: ProviderKind) {
    h.connect_to(provider).await;
    let run = h
        .core
        .sync(provider, SyncTrigger::Manual, SyncMode::Full)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Success, "{provider} synced");
}

fn c(imported: i64, linked: i64, duplicate: i64, skipped: i64, refused: i64) -> OutcomeCounts {
    OutcomeCounts {
        imported,
        linked,
        duplicate,
        skipped,
        refused,
    }
}

#[tokio::test]
async fn every_layout_imports_with_one_outcome_per_file_and_twice_changes_nothing() {
    let h = Harness::new(40).await;
    let all = h.sandbox.workouts();
    let w = &all[all.len() - 12..];
    let dir = tempfile::tempdir().unwrap();
    let strava = write(dir.path(), "strava.zip", false, archive::strava_export, w);
    let garmin = write(dir.path(), "garmin.zip", false, archive::garmin_export, w);
    let polar = write(dir.path(), "polar.zip", false, archive::polar_export, w);
    let takeout = write(dir.path(), "takeout.zip", false, archive::takeout, w);
    let watch = write(dir.path(), "watch", true, archive::watch_folder, w);
    let fits = w.iter().filter(|x| x.index % 3 == 0).count() as i64;

    // Strava: every file a new workout; its list, gear lists and photo are no activities.
    let r = import(&h, &[&strava]).await;
    assert_eq!(r.status, ImportStatus::Finished);
    assert_eq!(r.counts, c(12, 0, 0, 4, 0), "{r:?}");
    let (id, name): (String, Option<String>) = sqlx::query_as(
        "SELECT provider_activity_id, name FROM activities WHERE provider = 'strava_archive'
         ORDER BY start_utc DESC LIMIT 1",
    )
    .fetch_one(h.core.store().pool())
    .await
    .unwrap();
    let last = w.last().unwrap();
    assert_eq!(
        id,
        (tributary_sandbox::strava::FIRST_ID + last.index as i64).to_string()
    );
    assert_eq!(
        name.as_deref(),
        Some(last.name.as_str()),
        "the title from the French list"
    );

    // Garmin: the FITs Strava's export also held (the same bytes) are duplicates; the others
    // were recorded at the same time as Strava's copies: linked. Monitoring is skipped.
    let r = import(&h, &[&garmin]).await;
    assert_eq!(r.counts, c(0, 12 - fits, fits, 12 + 2, 0), "{r:?}");

    // Polar's JSON sessions and Takeout's exercise lists join the same workouts.
    let r = import(&h, &[&polar]).await;
    assert_eq!(r.counts, c(0, 12, 0, 2, 0), "{r:?}");
    let r = import(&h, &[&takeout]).await;
    assert_eq!(r.counts.imported + r.counts.linked, 12, "{r:?}");
    assert_eq!(r.counts.linked, 12, "Takeout's local times link too: {r:?}");
    assert_eq!(r.counts.skipped, 1);

    // The watch holds the Garmin export's files: all duplicates.
    let r = import(&h, &[&watch]).await;
    assert_eq!(r.counts, c(0, 0, 12, 1, 0), "{r:?}");

    // Every workout counts once, whatever its copies.
    let (copies, counted) = counts_of(&h).await;
    assert_eq!(counted, 12, "{copies} copies, {counted} counted");

    // The same archive again changes nothing.
    let before = counts_of(&h).await;
    let r = import(&h, &[&strava, &polar]).await;
    assert_eq!(r.counts, c(0, 0, 24, 6, 0), "{r:?}");
    assert_eq!(counts_of(&h).await, before);

    // Each imported copy has its recording: files decoded on opening, Polar's streams packed.
    let polar_copy: i64 = sqlx::query_scalar(
        "SELECT id FROM activities WHERE provider = 'polar_export' ORDER BY start_utc DESC LIMIT 1",
    )
    .fetch_one(h.core.store().pool())
    .await
    .unwrap();
    let detail = h
        .core
        .recording(polar_copy, Some(polar_copy))
        .await
        .unwrap();
    let shown = detail.shown.expect("Polar's samples shown");
    assert!(
        shown
            .series
            .iter()
            .any(|s| s.name == tributary_core::recording::StreamKind::HeartRate)
    );
}

#[tokio::test]
async fn a_strava_archive_joins_the_api_copies_exactly_and_forgetting_it_restores_them() {
    let h = Harness::new(30).await;
    synced(&h, ProviderKind::Strava).await;
    let before = counts_of(&h).await;
    let all = h.sandbox.workouts();
    let w = &all[all.len() - 12..];
    let dir = tempfile::tempdir().unwrap();
    let strava = write(dir.path(), "export", true, archive::strava_export, w);
    let r = import(&h, &[&strava]).await;
    assert_eq!(r.counts, c(0, 12, 0, 4, 0), "{r:?}");
    let pairs: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT a.provider_activity_id, b.provider_activity_id, b.link_reason
         FROM activities a JOIN activities b ON b.workout_id = a.workout_id AND b.id != a.id
         WHERE a.provider = 'strava' AND b.provider = 'strava_archive'",
    )
    .fetch_all(h.core.store().pool())
    .await
    .unwrap();
    assert_eq!(pairs.len(), 12);
    for (api, imported, reason) in &pairs {
        assert_eq!(api, imported, "joined by the id");
        assert!(reason.contains("same activity"), "{reason}");
    }
    let (copies, counted) = counts_of(&h).await;
    assert_eq!((copies, counted), (before.0 + 12, before.1), "counted once");

    // A full sync afterwards keeps the links.
    synced(&h, ProviderKind::Strava).await;
    assert_eq!(counts_of(&h).await, (before.0 + 12, before.1));

    // Forgotten as a whole: its copies go, the API copies stand alone again.
    assert_eq!(h.core.forget_import(r.id).await.unwrap(), 12);
    assert_eq!(counts_of(&h).await, before);
    let linked: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM activities WHERE workout_id IS NOT NULL")
            .fetch_one(h.core.store().pool())
            .await
            .unwrap();
    assert_eq!(linked, 0);
    assert!(h.core.imports().await.unwrap().is_empty());
}

#[tokio::test]
async fn linking_by_time_overlap_meets_the_ground_truth() {
    // Every workout a provider has, recorded again by a second device that started late,
    // stopped early, paused or had its clock off; and a different session right after every
    // third one. Each second recording belongs with its workout; the extra sessions with none.
    let h = Harness::new(160).await;
    synced(&h, ProviderKind::Wahoo).await;
    let truth = h.sandbox.ground_truth();
    let wahoo: BTreeMap<usize, String> = truth["wahoo"]
        .iter()
        .map(|(id, i)| (*i, id.clone()))
        .collect();
    let all = h.sandbox.workouts();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("second-device");
    std::fs::create_dir_all(&folder).unwrap();
    let mut expected = BTreeMap::new();
    for (n, w) in all.iter().enumerate() {
        let Some(id) = wahoo.get(&w.index) else {
            continue;
        };
        std::fs::write(
            folder.join(format!("{n}.fit")),
            archive::second_device(w, n),
        )
        .unwrap();
        expected.insert(format!("second-device/{n}.fit"), Some(id.clone()));
        if n % 3 == 0 {
            std::fs::write(
                folder.join(format!("{n}-next.fit")),
                archive::back_to_back(w),
            )
            .unwrap();
            expected.insert(format!("second-device/{n}-next.fit"), None);
        }
    }
    let r = import(&h, &[&folder]).await;
    assert_eq!(r.counts.refused, 0, "{r:?}");
    // What each imported file was linked with: Wahoo's copy in its workout, if any.
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT f.path, g.provider_activity_id FROM import_files f
         JOIN activities a ON a.id = f.activity_id
         LEFT JOIN activities g ON g.workout_id = a.workout_id AND g.provider = 'wahoo'
         WHERE f.import_id = ?1",
    )
    .bind(r.id)
    .fetch_all(h.core.store().pool())
    .await
    .unwrap();
    let got: BTreeMap<String, Option<String>> = rows.into_iter().collect();
    assert_eq!(got.len(), expected.len());
    let truth_pairs: BTreeSet<(&String, &String)> = expected
        .iter()
        .filter_map(|(p, g)| g.as_ref().map(|g| (p, g)))
        .collect();
    let linked_pairs: BTreeSet<(&String, &String)> = got
        .iter()
        .filter_map(|(p, g)| g.as_ref().map(|g| (p, g)))
        .collect();
    let right = truth_pairs.intersection(&linked_pairs).count() as f64;
    let precision = right / linked_pairs.len().max(1) as f64;
    let recall = right / truth_pairs.len().max(1) as f64;
    eprintln!(
        "overlap linking: {} true pairs, {} linked, precision {precision:.4}, recall {recall:.4}",
        truth_pairs.len(),
        linked_pairs.len()
    );
    for (p, g) in &expected {
        if got.get(p) != Some(g) {
            eprintln!("wrong: {p}: expected {g:?}, got {:?}", got.get(p));
        }
    }
    assert!(truth_pairs.len() >= 100, "{}", truth_pairs.len());
    assert!(precision >= 0.99, "precision {precision:.4}");
    assert!(recall >= 0.99, "recall {recall:.4}");
}

use tributary_sandbox::archive::zip_of;

#[tokio::test]
async fn untrusted_archives_are_refused_member_by_member_and_the_import_goes_on() {
    let h = Harness::new(5).await;
    let all = h.sandbox.workouts();
    let good = tributary_sandbox::recording::fit(&all[0]);
    let cut = good[..good.len() / 2].to_vec();
    // An XML bomb: entities are never expanded (the reader refuses the document type).
    let laughs = br#"<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><gpx version="1.1"><trk><name>&c;</name><trkseg><trkpt lat="1" lon="1"><time>2026-01-01T00:00:00Z</time></trkpt></trkseg></trk></gpx>"#;
    let deep = zip_of(&[(
        "1.zip",
        &zip_of(&[("2.zip", &zip_of(&[("3.zip", &zip_of(&[("x.fit", &good)]))]))]),
    )]);
    let archive = zip_of(&[
        ("good.fit", &good),
        ("cut.fit", &cut),
        ("../../escape.fit", &good),
        ("laughs.gpx", laughs),
        ("deep.zip", &deep),
        ("notes.txt", b"hello"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.zip"), &archive).unwrap();
    let r = import(&h, &[&dir.path().join("bad.zip")]).await;
    // The good file, and the GPX whose entities were left as written (never expanded).
    assert_eq!(r.counts.imported, 2, "{r:?}");
    let reasons: BTreeMap<&str, &str> = r
        .refused
        .iter()
        .map(|f| (f.path.as_str(), f.reason.as_deref().unwrap_or("")))
        .collect();
    assert!(
        reasons["bad.zip/cut.fit"].contains("damaged"),
        "{reasons:?}"
    );
    assert!(
        reasons["bad.zip/../../escape.fit"].contains("'..'"),
        "{reasons:?}"
    );
    assert!(
        reasons["bad.zip/deep.zip/1.zip/2.zip"].contains("nested more than 3 deep"),
        "{reasons:?}"
    );
    assert_eq!(r.counts.skipped, 1, "the text file: {r:?}");
    // Nothing was unpacked anywhere: the folder holds the archive alone, and the data folder
    // holds only the store and the one original.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    assert!(!h.dir.path().join("escape.fit").exists());
    assert!(!dir.path().parent().unwrap().join("escape.fit").exists());

    // Limits with their own messages.
    let small = tributary_core::import::walk::Limits {
        entries: 3,
        ..tributary_core::import::walk::LIMITS
    };
    let r = h
        .core
        .import_with_limits(vec![dir.path().join("bad.zip")], small)
        .await
        .unwrap();
    assert!(
        r.refused[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("lists 6 entries"),
        "{r:?}"
    );
}

#[tokio::test]
async fn two_imports_at_once_and_a_cancelled_one_lose_and_duplicate_nothing() {
    let h = Harness::new(30).await;
    let all = h.sandbox.workouts();
    let dir = tempfile::tempdir().unwrap();
    let strava = write(
        dir.path(),
        "s.zip",
        false,
        archive::strava_export,
        &all[..24],
    );
    // Cancelled at once: what it did stays, the rest is done by the next run.
    let cancel = CancellationToken::new();
    cancel.cancel();
    let first = h.core.import(vec![strava.clone()], cancel).await.unwrap();
    assert_eq!(first.status, ImportStatus::Cancelled);
    let both = [strava.as_path()];
    let (a, b) = tokio::join!(import(&h, &both), import(&h, &both));
    let made = a.counts.imported + a.counts.linked + b.counts.imported + b.counts.linked;
    assert_eq!(made + first.counts.imported, 24, "{a:?} {b:?}");
    assert_eq!(a.counts.duplicate + b.counts.duplicate + made, 48);
    let (copies, _) = counts_of(&h).await;
    assert_eq!(copies, 24, "each activity once");
}

#[tokio::test]
async fn an_import_whose_process_died_is_shown_interrupted() {
    let h = Harness::new(3).await;
    sqlx::query(
        "INSERT INTO imports (label, status, started_at, heartbeat_at) VALUES ('x.zip', 'running', 0, 0)",
    )
    .execute(h.core.store().pool())
    .await
    .unwrap();
    let list = h.core.imports().await.unwrap();
    assert_eq!(list[0].status, ImportStatus::Interrupted);
    assert!(list[0].finished_at.is_some());
}

#[tokio::test]
async fn an_import_during_a_sync_loses_nothing_and_ends_linked() {
    let h = Harness::new(60).await;
    h.connect_to(ProviderKind::Strava).await;
    let all = h.sandbox.workouts();
    let dir = tempfile::tempdir().unwrap();
    let strava = write(
        dir.path(),
        "s.zip",
        false,
        archive::strava_export,
        &all[all.len() - 30..],
    );
    let inputs = [strava.as_path()];
    let (run, report) = tokio::join!(
        h.core
            .sync(ProviderKind::Strava, SyncTrigger::Manual, SyncMode::Full),
        import(&h, &inputs),
    );
    assert_eq!(run.unwrap().status, SyncStatus::Success);
    assert_eq!(
        report.counts.imported + report.counts.linked,
        30,
        "{report:?}"
    );
    let (api, archive, joined): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM activities WHERE provider = 'strava'),
                (SELECT COUNT(*) FROM activities WHERE provider = 'strava_archive'),
                (SELECT COUNT(*) FROM activities a JOIN activities b
                   ON b.workout_id = a.workout_id AND b.provider = 'strava'
                 WHERE a.provider = 'strava_archive'
                   AND a.provider_activity_id = b.provider_activity_id)",
    )
    .fetch_one(h.core.store().pool())
    .await
    .unwrap();
    assert_eq!(
        (api, archive, joined),
        (60, 30, 30),
        "whichever came first, each archive copy joined its API copy"
    );
}
