//! Cross-provider workout linking against the sandbox's ground truth, and the athlete's choices.

use crate::harness::Harness;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use tributary_core::domain::{ProviderKind, SyncStatus, SyncTrigger};
use tributary_core::library::{ActivityFilter, LinkChoice, Order, PageRequest, Period};
use tributary_core::sync::SyncMode;

/// (provider, provider activity id) → row id, workout id, for every stored copy.
async fn stored(h: &Harness) -> Vec<(ProviderKind, String, i64, Option<i64>)> {
    let rows: Vec<(String, String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT provider, provider_activity_id, id, workout_id FROM activities ORDER BY id",
    )
    .fetch_all(h.core.store().pool())
    .await
    .unwrap();
    rows.into_iter()
        .map(|(p, pid, id, w)| (p.parse().unwrap(), pid, id, w))
        .collect()
}

async fn sync_ok(h: &Harness, p: ProviderKind, mode: SyncMode) {
    let run = h.core.sync(p, SyncTrigger::Manual, mode).await.unwrap();
    assert_eq!(
        run.status,
        SyncStatus::Success,
        "{p}: {:?}",
        run.error_message
    );
}

async fn sync_everything(h: &Harness, mode: SyncMode) {
    for &p in ProviderKind::ALL {
        sync_ok(h, p, mode).await;
    }
}

async fn connect_everything(h: &Harness) {
    for &p in ProviderKind::ALL {
        h.connect_to(p).await;
    }
}

/// Every pair within each group.
fn pairs<K>(groups: BTreeMap<K, Vec<i64>>) -> BTreeSet<(i64, i64)> {
    groups
        .values()
        .flat_map(|g| {
            g.iter()
                .flat_map(|a| g.iter().filter(move |b| a < *b).map(move |b| (*a, *b)))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Linked pairs against true pairs (copies of one generated workout): (precision, recall, counts).
fn score(
    truth: &tributary_sandbox::GroundTruth,
    rows: &[(ProviderKind, String, i64, Option<i64>)],
) -> (f64, f64, usize, usize) {
    let index_of =
        |p: ProviderKind, id: &str| truth.get(p.as_str()).and_then(|m| m.get(id)).copied();
    let mut by_truth: BTreeMap<usize, Vec<i64>> = BTreeMap::new();
    let mut by_workout: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (p, pid, id, w) in rows {
        let index = index_of(*p, pid).unwrap_or_else(|| panic!("{p} {pid} is not in the truth"));
        by_truth.entry(index).or_default().push(*id);
        if let Some(w) = w {
            by_workout.entry(*w).or_default().push(*id);
        }
    }
    let (truth_pairs, linked_pairs) = (pairs(by_truth), pairs(by_workout));
    // LINKING_DEBUG=1 lists the pairs it got wrong (row ids; look them up in the database).
    if std::env::var("LINKING_DEBUG").is_ok() {
        for (a, b) in truth_pairs.difference(&linked_pairs) {
            eprintln!("missed {a} {b}");
        }
        for (a, b) in linked_pairs.difference(&truth_pairs) {
            eprintln!("wrong {a} {b}");
        }
    }
    let right = truth_pairs.intersection(&linked_pairs).count() as f64;
    let precision = if linked_pairs.is_empty() {
        0.0
    } else {
        right / linked_pairs.len() as f64
    };
    let recall = if truth_pairs.is_empty() {
        0.0
    } else {
        right / truth_pairs.len() as f64
    };
    (precision, recall, truth_pairs.len(), linked_pairs.len())
}

#[tokio::test]
async fn linking_finds_the_sandboxes_shared_workouts_with_high_precision_and_recall() {
    // 1,200 workouts over three years, on two data sets: every provider's quirks (Strava's
    // hidden start times, Google's local-time-as-UTC shifts, Polar's and COROS' short
    // histories, seconds of skew), and second sessions of the same sport within the hour as
    // near misses.
    for seed in [42, 2026] {
        let h = Harness::new(1200).await;
        h.control(
            "activities",
            serde_json::json!({ "count": 1200, "seed": seed }),
        )
        .await;
        connect_everything(&h).await;
        sync_everything(&h, SyncMode::Full).await;
        let truth = h.sandbox.ground_truth();
        let rows = stored(&h).await;
        // Nothing lost on any provider, whatever its quirks do to paging.
        for (provider, ids) in &truth {
            let have = rows.iter().filter(|r| r.0.as_str() == provider).count();
            assert_eq!(
                have,
                ids.len(),
                "seed {seed}: {provider} stored every listed activity"
            );
        }
        let (precision, recall, true_pairs, linked) = score(&truth, &rows);
        eprintln!(
            "linking (seed {seed}): {} copies, {true_pairs} true pairs, {linked} linked pairs, \
             precision {precision:.4}, recall {recall:.4}",
            rows.len()
        );
        assert!(
            true_pairs > 1000,
            "the sample has shared workouts: {true_pairs}"
        );
        assert!(precision >= 0.99, "seed {seed}: precision {precision:.4}");
        assert!(recall >= 0.99, "seed {seed}: recall {recall:.4}");

        // Each workout counts once: one counted copy per generated workout.
        let workouts: BTreeSet<usize> = rows
            .iter()
            .map(|(p, pid, ..)| truth[p.as_str()][pid])
            .collect();
        let counted: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM activities WHERE counted = 1")
            .fetch_one(h.core.store().pool())
            .await
            .unwrap();
        let off = (counted - workouts.len() as i64).abs() as f64 / workouts.len() as f64;
        assert!(
            off <= 0.01,
            "{counted} counted copies for {} workouts",
            workouts.len()
        );
    }
}

/// The row of `provider`'s copy of generated workout `index`.
fn copy_of(
    truth: &tributary_sandbox::GroundTruth,
    rows: &[(ProviderKind, String, i64, Option<i64>)],
    provider: ProviderKind,
    index: usize,
) -> (i64, Option<i64>) {
    rows.iter()
        .find(|(p, pid, ..)| *p == provider && truth[p.as_str()].get(pid) == Some(&index))
        .map(|(.., id, w)| (*id, *w))
        .unwrap_or_else(|| panic!("no {provider} copy of workout {index}"))
}

#[tokio::test]
async fn hidden_start_times_and_time_zone_shifts_are_seen_through() {
    let h = Harness::new(120).await;
    for p in [
        ProviderKind::Strava,
        ProviderKind::Wahoo,
        ProviderKind::GoogleHealth,
    ] {
        h.connect_to(p).await;
        sync_ok(&h, p, SyncMode::Full).await;
    }
    let truth = h.sandbox.ground_truth();
    let rows = stored(&h).await;
    // Workout 11: Strava hides its start time (local midnight + 1 s).
    let (strava, w1) = copy_of(&truth, &rows, ProviderKind::Strava, 11);
    let (wahoo, w2) = copy_of(&truth, &rows, ProviderKind::Wahoo, 11);
    assert!(w1.is_some() && w1 == w2, "hidden start: {w1:?} {w2:?}");
    let detail = h.core.activity(strava).await.unwrap();
    let reason = detail
        .row
        .copies
        .iter()
        .find(|c| c.activity_id == strava)
        .and_then(|c| c.reason.clone())
        .unwrap_or_default();
    assert!(reason.contains("hidden start"), "{reason}");
    assert_ne!(
        detail
            .row
            .copies
            .iter()
            .find(|c| c.primary)
            .map(|c| c.activity_id),
        Some(strava),
        "the copy with the real start time is primary (more complete, right time)"
    );
    let _ = wahoo;
    // Workouts 7, 26, ...: Google's device wrote local time as UTC (a shift where the offset
    // is not zero).
    let mut shifted = None;
    for index in (7..120).step_by(19) {
        let (strava, _) = copy_of(&truth, &rows, ProviderKind::Strava, index);
        let offset = h
            .core
            .activity(strava)
            .await
            .unwrap()
            .activity
            .data
            .utc_offset_seconds;
        if offset.is_some_and(|o| o != 0) {
            shifted = Some(index);
            break;
        }
    }
    let index = shifted.expect("a shifted workout away from UTC");
    let (google, g) = copy_of(&truth, &rows, ProviderKind::GoogleHealth, index);
    let (_, s) = copy_of(&truth, &rows, ProviderKind::Strava, index);
    assert!(g.is_some() && g == s, "time-zone shift: {g:?} {s:?}");
    let detail = h.core.activity(google).await.unwrap();
    let reason = detail
        .row
        .copies
        .iter()
        .find(|c| c.activity_id == google)
        .unwrap();
    assert!(
        reason
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("time-zone shift"),
        "{reason:?}"
    );
    // Workout 6 is a second session of workout 5's sport within the hour: never linked to it.
    let (five, w5) = copy_of(&truth, &rows, ProviderKind::Strava, 5);
    let (six, w6) = copy_of(&truth, &rows, ProviderKind::Wahoo, 6);
    assert!(
        w5.is_none() || w5 != w6,
        "{five} and {six} are two sessions"
    );
}

#[tokio::test]
async fn the_athletes_choices_survive_every_later_sync_and_reconcile() {
    let h = Harness::new(60).await;
    for p in [ProviderKind::Strava, ProviderKind::Wahoo] {
        h.connect_to(p).await;
        sync_ok(&h, p, SyncMode::Full).await;
    }
    let truth = h.sandbox.ground_truth();
    let rows = stored(&h).await;
    // Unlink one; choose the less complete copy as primary of another; link two different
    // sessions by hand.
    let (apart, _) = copy_of(&truth, &rows, ProviderKind::Wahoo, 20);
    h.core.unlink_activity(apart).await.unwrap();
    let (strava_30, _) = copy_of(&truth, &rows, ProviderKind::Strava, 30);
    let (wahoo_30, _) = copy_of(&truth, &rows, ProviderKind::Wahoo, 30);
    let before = h.core.activity(wahoo_30).await.unwrap();
    let chosen = before
        .row
        .copies
        .iter()
        .find(|c| !c.primary)
        .map(|c| c.activity_id)
        .expect("two copies");
    h.core.make_primary(chosen).await.unwrap();
    let (strava_40, _) = copy_of(&truth, &rows, ProviderKind::Strava, 40);
    let (wahoo_41, _) = copy_of(&truth, &rows, ProviderKind::Wahoo, 41);
    let linked = h.core.link_activities(strava_40, wahoo_41).await.unwrap();
    assert!(linked.row.copies.iter().any(|c| c.activity_id == wahoo_41));
    // The copies they displaced stand alone.
    let (wahoo_40, _) = copy_of(&truth, &rows, ProviderKind::Wahoo, 40);
    let displaced = h.core.activity(wahoo_40).await.unwrap();
    assert!(displaced.row.workout_id.is_none(), "{:?}", displaced.row);

    // Edits at the providers (records change, so they are re-linked), then incremental and
    // full syncs (a reconcile) of both.
    for index in [20, 30, 40, 41] {
        h.control("edit", serde_json::json!({ "index": index }))
            .await;
    }
    sync_everything_of(&h, &[ProviderKind::Strava, ProviderKind::Wahoo]).await;
    let again = h.core.activity(apart).await.unwrap();
    assert!(
        again.row.workout_id.is_none(),
        "kept apart: {:?}",
        again.row
    );
    assert_eq!(again.row.choice, LinkChoice::KeptApart);
    let primary = h.core.activity(strava_30).await.unwrap();
    assert_eq!(
        primary
            .row
            .copies
            .iter()
            .find(|c| c.primary)
            .map(|c| c.activity_id),
        Some(chosen),
        "the chosen primary stays"
    );
    let by_hand = h.core.activity(strava_40).await.unwrap();
    let ids: BTreeSet<i64> = by_hand.row.copies.iter().map(|c| c.activity_id).collect();
    assert_eq!(
        ids,
        BTreeSet::from([strava_40, wahoo_41]),
        "linked by hand stays"
    );
    assert!(
        by_hand
            .row
            .copies
            .iter()
            .all(|c| c.choice == LinkChoice::Linked)
    );
}

async fn sync_everything_of(h: &Harness, providers: &[ProviderKind]) {
    for mode in [SyncMode::Incremental, SyncMode::Full] {
        for &p in providers {
            sync_ok(h, p, mode).await;
        }
    }
}

#[tokio::test]
async fn bad_manual_links_are_refused_and_change_nothing() {
    let h = Harness::new(10).await;
    h.connect_to(ProviderKind::Strava).await;
    sync_ok(&h, ProviderKind::Strava, SyncMode::Full).await;
    let rows = stored(&h).await;
    let a = rows[0].2;
    let snapshot = stored(&h).await;
    use tributary_core::ErrorCode::{NotFound, Validation};
    for (x, y, code) in [
        (a, a, Validation),
        (a, 999_999, NotFound),
        (999_999, a, NotFound),
    ] {
        let e = h.core.link_activities(x, y).await.unwrap_err();
        assert_eq!(e.code(), code, "{x} {y}: {e}");
    }
    let e = h.core.unlink_activity(999_999).await.unwrap_err();
    assert_eq!(e.code(), NotFound, "{e}");
    let alone = h.core.make_primary(a).await.unwrap_err();
    assert_eq!(
        alone.code(),
        tributary_core::ErrorCode::Validation,
        "{alone}"
    );
    assert_eq!(stored(&h).await, snapshot, "nothing changed");
}

#[tokio::test]
async fn keyset_pages_walk_every_row_once_in_order_with_filters() {
    let h = Harness::new(150).await;
    for p in [ProviderKind::Strava, ProviderKind::Wahoo] {
        h.connect_to(p).await;
        sync_ok(&h, p, SyncMode::Full).await;
    }
    // Ties on the start: copies of one start settle their order by id.
    sqlx::query("UPDATE activities SET start_utc = (SELECT MIN(start_utc) FROM activities) WHERE id % 10 = 0")
        .execute(h.core.store().pool())
        .await
        .unwrap();
    for order in [Order::Descending, Order::Ascending] {
        for filter in [
            ActivityFilter::default(),
            ActivityFilter {
                provider: Some(ProviderKind::Wahoo),
                ..Default::default()
            },
            ActivityFilter {
                text: Some("run".into()),
                ..Default::default()
            },
        ] {
            let mut seen = Vec::new();
            let mut metres = 0.0;
            let mut after = None;
            loop {
                let page = h
                    .core
                    .activities(
                        &filter,
                        &PageRequest {
                            after: after.clone(),
                            limit: 7,
                            order,
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap();
                metres += page.items.iter().filter_map(|r| r.distance_m).sum::<f64>();
                seen.extend(
                    page.items
                        .iter()
                        .map(|r| (r.start_utc, r.id, r.provider.api().unwrap())),
                );
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            let mut expected: Vec<_> = stored_rows(&h).await;
            // Text matches word prefixes ("run" finds "Run #3", not "Forerunner").
            expected.retain(|(_, _, p, words)| {
                filter.provider.is_none_or(|f| f == *p)
                    && filter.text.as_deref().is_none_or(|t| {
                        words
                            .to_lowercase()
                            .split(|c: char| !c.is_alphanumeric())
                            .any(|w| w.starts_with(t))
                    })
            });
            let mut expected: Vec<_> = expected
                .into_iter()
                .map(|(s, id, p, _)| (s, id, p))
                .collect();
            expected.sort();
            if order == Order::Descending {
                expected.reverse();
            }
            assert_eq!(seen, expected, "{order:?} {filter:?}");
            // The list's totals (its exact count and sums, issue 19 item 8) are its pages'.
            let totals = h.core.list_totals(&filter, false).await.unwrap();
            assert_eq!(totals.count, seen.len() as i64, "{filter:?}");
            assert!(
                (totals.distance_m - metres).abs() < 0.5,
                "{filter:?}: {totals:?} against {metres}"
            );
        }
    }
    let workouts = h
        .core
        .list_totals(&ActivityFilter::default(), true)
        .await
        .unwrap();
    let first = h
        .core
        .workouts(
            &ActivityFilter::default(),
            &PageRequest {
                limit: 500,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(first.next.is_none(), "one page holds them all");
    assert_eq!(
        workouts.count,
        first.items.len() as i64,
        "each workout once"
    );
    assert!(
        workouts.count
            < h.core
                .list_totals(&ActivityFilter::default(), false)
                .await
                .unwrap()
                .count
    );
    let backwards = ActivityFilter {
        since: Some(chrono::Utc::now()),
        until: Some(chrono::Utc::now() - chrono::Duration::days(1)),
        ..Default::default()
    };
    assert_eq!(
        h.core
            .list_totals(&backwards, true)
            .await
            .unwrap_err()
            .code(),
        tributary_core::ErrorCode::Validation
    );
    // "Open at Strava": Strava's copies have a page there, Wahoo's have none.
    let rows = stored(&h).await;
    let (_, strava_id, strava_row, _) = rows.iter().find(|r| r.0 == ProviderKind::Strava).unwrap();
    assert_eq!(
        h.core.activity_page(*strava_row).await.unwrap().as_deref(),
        Some(format!("https://www.strava.com/activities/{strava_id}").as_str())
    );
    let wahoo_row = rows.iter().find(|r| r.0 == ProviderKind::Wahoo).unwrap().2;
    assert_eq!(h.core.activity_page(wahoo_row).await.unwrap(), None);
    assert_eq!(
        h.core.activity_page(999_999).await.unwrap_err().code(),
        tributary_core::ErrorCode::NotFound
    );
    let bad = h
        .core
        .activities(
            &ActivityFilter::default(),
            &PageRequest {
                after: Some("x".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tributary_core::ErrorCode::Validation);
}

/// Issue 19 item 8: any column sorts the list, either way, and the keyset pages still walk every
/// row once: ties settled by id, rows without the value last, a name with a colon in the cursor.
#[tokio::test]
async fn sorted_pages_walk_every_row_once_by_each_key() {
    use std::cmp::Ordering;
    use tributary_core::library::SortKey;
    let h = Harness::new(60).await;
    for p in [ProviderKind::Strava, ProviderKind::Wahoo] {
        h.connect_to(p).await;
        sync_ok(&h, p, SyncMode::Full).await;
    }
    let pool = h.core.store().pool();
    for sql in [
        // Ties, case-only differences, a colon, absent values and zeros.
        "UPDATE activities SET name = 'run: easy' WHERE id % 5 = 0",
        "UPDATE activities SET name = 'RUN: Easy' WHERE id % 5 = 1",
        "UPDATE activities SET name = NULL WHERE id % 7 = 0",
        // An empty name is no name: it sorts with the untitled, last.
        "UPDATE activities SET name = '' WHERE id % 13 = 0",
        "UPDATE activities SET distance_m = 10000.0 WHERE id % 4 = 0",
        "UPDATE activities SET distance_m = NULL WHERE id % 6 = 0",
        "UPDATE activities SET distance_m = 0.0 WHERE id % 11 = 0",
        "UPDATE activities SET moving_seconds = NULL WHERE id % 3 = 0",
        "UPDATE activities SET moving_seconds = NULL, elapsed_seconds = NULL WHERE id % 9 = 0",
    ] {
        sqlx::query(sql).execute(pool).await.unwrap();
    }
    type Stored = (i64, Option<String>, Option<f64>, Option<i64>, Option<i64>);
    let rows: Vec<Stored> = sqlx::query_as(
        "SELECT id, name, distance_m, moving_seconds, elapsed_seconds FROM activities",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    #[derive(PartialEq, PartialOrd)]
    enum V {
        T(String),
        N(f64),
    }
    let value = |key: SortKey, r: &Stored| -> Option<V> {
        let time = r.3.or(r.4);
        match key {
            SortKey::Name => {
                r.1.as_ref()
                    .filter(|n| !n.is_empty())
                    .map(|n| V::T(n.to_ascii_lowercase()))
            }
            SortKey::Distance => r.2.map(V::N),
            SortKey::Duration => time.map(|t| V::N(t as f64)),
            SortKey::Speed => match (r.2, time) {
                (Some(d), Some(t)) if d > 0.0 && t > 0 => Some(V::N(d / t as f64)),
                _ => None,
            },
            SortKey::Start => unreachable!(),
        }
    };
    for key in [
        SortKey::Name,
        SortKey::Distance,
        SortKey::Duration,
        SortKey::Speed,
    ] {
        let with = rows.iter().filter(|r| value(key, r).is_some()).count();
        assert!(
            with > 5 && with < rows.len(),
            "{key}: some rows have no value"
        );
        for order in [Order::Descending, Order::Ascending] {
            let mut seen = Vec::new();
            let mut after = None;
            for _ in 0..100 {
                let page = h
                    .core
                    .activities(
                        &ActivityFilter::default(),
                        &PageRequest {
                            after: after.clone(),
                            limit: 7,
                            sort: key,
                            order,
                        },
                    )
                    .await
                    .unwrap();
                seen.extend(page.items.iter().map(|r| r.id));
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            let mut expected: Vec<&Stored> = rows.iter().collect();
            expected.sort_by(|a, b| {
                let (va, vb) = (value(key, a), value(key, b));
                let by_value = match (&va, &vb) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Greater,
                    (Some(_), None) => Ordering::Less,
                    (Some(x), Some(y)) => {
                        let o = x.partial_cmp(y).unwrap();
                        if order == Order::Descending {
                            o.reverse()
                        } else {
                            o
                        }
                    }
                };
                by_value.then(if order == Order::Descending {
                    b.0.cmp(&a.0)
                } else {
                    a.0.cmp(&b.0)
                })
            });
            let expected: Vec<i64> = expected.iter().map(|r| r.0).collect();
            assert_eq!(seen, expected, "{key} {order:?}");
        }
    }
    // A cursor is read only by the sort it came from.
    let first = h
        .core
        .activities(
            &ActivityFilter::default(),
            &PageRequest {
                limit: 5,
                sort: SortKey::Distance,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let e = h
        .core
        .activities(
            &ActivityFilter::default(),
            &PageRequest {
                after: first.next,
                limit: 5,
                sort: SortKey::Name,
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), tributary_core::ErrorCode::Validation, "{e}");
}

async fn stored_rows(
    h: &Harness,
) -> Vec<(chrono::DateTime<chrono::Utc>, i64, ProviderKind, String)> {
    let rows: Vec<(i64, i64, String, Option<String>)> = sqlx::query_as(
        "SELECT start_utc, id, provider, COALESCE(name, '') || ' ' || COALESCE(device, '')
             FROM activities",
    )
    .fetch_all(h.core.store().pool())
    .await
    .unwrap();
    rows.into_iter()
        .map(|(s, id, p, n)| {
            (
                chrono::DateTime::from_timestamp_millis(s).unwrap(),
                id,
                p.parse().unwrap(),
                n.unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn volume_and_the_workout_list_count_each_workout_once() {
    let h = Harness::new(200).await;
    let only_strava = {
        h.connect_to(ProviderKind::Strava).await;
        sync_ok(&h, ProviderKind::Strava, SyncMode::Full).await;
        volume_totals(&h).await
    };
    for p in [ProviderKind::Wahoo, ProviderKind::GoogleHealth] {
        h.connect_to(p).await;
        sync_ok(&h, p, SyncMode::Full).await;
    }
    let three = volume_totals(&h).await;
    let activities: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM activities")
        .fetch_one(h.core.store().pool())
        .await
        .unwrap();
    assert_eq!(activities, 600, "three copies of each of 200 workouts");
    assert_eq!(
        three.0, only_strava.0,
        "the same workouts, counted once each"
    );
    assert!(
        (three.1 - only_strava.1).abs() / only_strava.1 < 0.01,
        "{three:?} {only_strava:?}"
    );
    let mut listed = 0;
    let mut after = None;
    loop {
        let page = h
            .core
            .workouts(
                &ActivityFilter::default(),
                &PageRequest {
                    after,
                    limit: 100,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        listed += page.items.len();
        assert!(
            page.items.iter().all(|r| {
                let providers: BTreeSet<_> = r.copies.iter().map(|c| c.provider).collect();
                providers.len() == r.copies.len()
            }),
            "one copy per provider in a workout"
        );
        after = page.next;
        if after.is_none() {
            break;
        }
    }
    assert_eq!(listed as i64, three.0, "the workout list and volume agree");
    // A provider filter on workouts finds those with a copy from it, even when another copy is
    // the primary.
    let wahoo = h
        .core
        .workouts(
            &ActivityFilter {
                provider: Some(ProviderKind::Wahoo),
                ..Default::default()
            },
            &PageRequest {
                limit: 500,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(wahoo.items.len(), 200);
}

/// (workouts, metres) over every month.
async fn volume_totals(h: &Harness) -> (i64, f64) {
    let buckets = h
        .core
        .volume(
            Period::Month,
            chrono::DateTime::from_timestamp(0, 0).unwrap(),
            chrono::Utc::now() + chrono::Duration::days(1),
        )
        .await
        .unwrap();
    let weeks = h
        .core
        .volume(
            Period::Week,
            chrono::DateTime::from_timestamp(0, 0).unwrap(),
            chrono::Utc::now() + chrono::Duration::days(1),
        )
        .await
        .unwrap();
    let count = buckets.iter().map(|b| b.count).sum::<i64>();
    assert_eq!(
        count,
        weeks.iter().map(|b| b.count).sum::<i64>(),
        "weeks and months agree"
    );
    assert!(weeks.iter().all(|b| {
        let day = chrono::NaiveDate::parse_from_str(&b.period_start, "%Y-%m-%d").unwrap();
        chrono::Datelike::weekday(&day) == chrono::Weekday::Mon
    }));
    (count, buckets.iter().map(|b| b.distance_m).sum())
}

#[tokio::test]
async fn a_disconnect_that_deletes_copies_settles_their_workouts() {
    let h = Harness::new(40).await;
    for p in [ProviderKind::Strava, ProviderKind::Wahoo] {
        h.connect_to(p).await;
        sync_ok(&h, p, SyncMode::Full).await;
    }
    h.core.disconnect(ProviderKind::Wahoo, false).await.unwrap();
    let left: Vec<(Option<i64>, i64)> =
        sqlx::query_as("SELECT workout_id, counted FROM activities")
            .fetch_all(h.core.store().pool())
            .await
            .unwrap();
    assert_eq!(left.len(), 40);
    assert!(
        left.iter().all(|(w, c)| w.is_none() && *c == 1),
        "every Strava copy stands alone"
    );
    let workouts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM workouts")
        .fetch_one(h.core.store().pool())
        .await
        .unwrap();
    assert_eq!(workouts, 0);
}

#[tokio::test]
async fn a_database_from_before_linking_is_linked_once_at_open() {
    let h = Harness::new(50).await;
    for p in [ProviderKind::Strava, ProviderKind::Wahoo] {
        h.connect_to(p).await;
        sync_ok(&h, p, SyncMode::Full).await;
    }
    let linked: HashMap<i64, Option<i64>> =
        stored(&h).await.into_iter().map(|r| (r.2, r.3)).collect();
    let pool = h.core.store().pool();
    // As a database from before the migration: nothing linked, never backfilled.
    for sql in [
        "UPDATE activities SET workout_id = NULL, link_reason = NULL, link_confidence = NULL, counted = 1",
        "DELETE FROM workouts",
        "DELETE FROM settings WHERE key = 'linking'",
    ] {
        sqlx::query(sql).execute(pool).await.unwrap();
    }
    assert_eq!(
        h.core.link_backfill().await.unwrap(),
        100,
        "every copy joined a workout"
    );
    let again: HashMap<i64, Option<i64>> =
        stored(&h).await.into_iter().map(|r| (r.2, r.3)).collect();
    let groups = |m: &HashMap<i64, Option<i64>>| -> BTreeSet<BTreeSet<i64>> {
        let mut g: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
        for (id, w) in m {
            if let Some(w) = w {
                g.entry(*w).or_default().insert(*id);
            }
        }
        g.into_values().collect()
    };
    assert_eq!(
        groups(&again),
        groups(&linked),
        "the same workouts as linking as they came"
    );
    assert_eq!(h.core.link_backfill().await.unwrap(), 0, "once");
}

/// The figures the triggers keep (per-connection counts, per-day volume) against the rows.
async fn assert_kept_figures_match(h: &Harness, when: &str) {
    let pool = h.core.store().pool();
    let counts: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT connection_id, activities, runs, runs_success, runs_failed FROM connection_counts
         ORDER BY connection_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let rows: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT c.id,
            (SELECT COUNT(*) FROM activities a WHERE a.connection_id = c.id),
            (SELECT COUNT(*) FROM sync_history h WHERE h.connection_id = c.id),
            (SELECT COUNT(*) FROM sync_history h WHERE h.connection_id = c.id AND status = 'success'),
            (SELECT COUNT(*) FROM sync_history h WHERE h.connection_id = c.id AND status = 'failed')
         FROM provider_connections c ORDER BY c.id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(counts, rows, "connection counts {when}");
    let (kept_workouts, workouts): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT workouts FROM library_counts),
                (SELECT COUNT(*) FROM activities WHERE counted = 1)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(kept_workouts, workouts, "the workouts counted {when}");
    let kept: Vec<(i64, String, i64, f64, i64)> = sqlx::query_as(
        "SELECT day, sport, count, distance_m, seconds FROM volume_daily
         WHERE count > 0 ORDER BY day, sport",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let direct: Vec<(i64, String, i64, f64, i64)> = sqlx::query_as(
        "SELECT (start_utc / 1000 + COALESCE(utc_offset_seconds, 0)) / 86400 AS day, sport,
            COUNT(*), TOTAL(distance_m),
            SUM(COALESCE(moving_seconds, elapsed_seconds, 0))
         FROM activities WHERE counted = 1 AND deleted_at IS NULL
         GROUP BY day, sport ORDER BY day, sport",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    same_sums(&kept, &direct, &format!("volume per day {when}"));
    let months: Vec<(i64, String, i64, f64, i64)> = sqlx::query_as(
        "SELECT month, sport, count, distance_m, seconds FROM volume_monthly
         WHERE count > 0 ORDER BY month, sport",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let direct: Vec<(i64, String, i64, f64, i64)> = sqlx::query_as(
        "SELECT CAST(strftime('%Y%m', start_utc / 1000 + COALESCE(utc_offset_seconds, 0),
                     'unixepoch') AS INTEGER) AS month, sport,
            COUNT(*), TOTAL(distance_m), SUM(COALESCE(moving_seconds, elapsed_seconds, 0))
         FROM activities WHERE counted = 1 AND deleted_at IS NULL
         GROUP BY month, sport ORDER BY month, sport",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    same_sums(&months, &direct, &format!("volume per month {when}"));
}

/// Equal buckets, counts and seconds; distances equal to a millimetre (sums kept by adding and
/// taking away differ from a fresh sum in the last bits).
fn same_sums(
    kept: &[(i64, String, i64, f64, i64)],
    direct: &[(i64, String, i64, f64, i64)],
    what: &str,
) {
    let key = |v: &[(i64, String, i64, f64, i64)]| -> Vec<(i64, String, i64, i64)> {
        v.iter().map(|r| (r.0, r.1.clone(), r.2, r.4)).collect()
    };
    assert_eq!(key(kept), key(direct), "{what}");
    for (k, d) in kept.iter().zip(direct) {
        assert!((k.3 - d.3).abs() < 1e-3, "{what}: {k:?} against {d:?}");
    }
}

#[tokio::test]
async fn the_kept_figures_match_the_rows_after_every_kind_of_change() {
    let h = Harness::new(80).await;
    assert_kept_figures_match(&h, "empty").await;
    for p in [
        ProviderKind::Strava,
        ProviderKind::Wahoo,
        ProviderKind::GoogleHealth,
    ] {
        h.connect_to(p).await;
        sync_ok(&h, p, SyncMode::Full).await;
    }
    assert_kept_figures_match(&h, "after first syncs").await;
    // Edits, deletions at the provider (a reconcile flags them), a failed run.
    for index in [3, 9, 27] {
        h.control("edit", serde_json::json!({ "index": index }))
            .await;
    }
    for index in [5, 40] {
        h.control("delete", serde_json::json!({ "index": index }))
            .await;
    }
    sync_ok(&h, ProviderKind::Strava, SyncMode::Full).await;
    h.fault_on("wahoo", "500", 20).await;
    let failed = h
        .core
        .sync(
            ProviderKind::Wahoo,
            SyncTrigger::Manual,
            SyncMode::Incremental,
        )
        .await
        .unwrap();
    assert_ne!(failed.status, SyncStatus::Success);
    h.control("clear_faults", serde_json::json!({})).await;
    assert_kept_figures_match(&h, "after edits, deletions and a failure").await;
    // The athlete's choices move what counts.
    let rows = stored(&h).await;
    let linked: Vec<i64> = rows
        .iter()
        .filter(|r| r.3.is_some())
        .map(|r| r.2)
        .take(3)
        .collect();
    h.core.unlink_activity(linked[0]).await.unwrap();
    h.core.make_primary(linked[1]).await.unwrap();
    let alone = rows.iter().find(|r| r.0 == ProviderKind::Strava).unwrap().2;
    let other = rows
        .iter()
        .find(|r| r.0 == ProviderKind::Wahoo && r.2 != linked[1])
        .unwrap()
        .2;
    h.core.link_activities(alone, other).await.unwrap();
    assert_kept_figures_match(&h, "after link, unlink, primary").await;
    // A disconnect that keeps activities, a reconnect that adopts them, one that deletes them.
    h.core.disconnect(ProviderKind::Wahoo, true).await.unwrap();
    assert_kept_figures_match(&h, "after a disconnect keeping activities").await;
    h.connect_to(ProviderKind::Wahoo).await;
    assert_kept_figures_match(&h, "after a reconnect").await;
    h.core
        .disconnect(ProviderKind::GoogleHealth, false)
        .await
        .unwrap();
    assert_kept_figures_match(&h, "after a disconnect deleting activities").await;
    let summary = h.core.summary().await.unwrap();
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM activities")
        .fetch_one(h.core.store().pool())
        .await
        .unwrap();
    assert_eq!(summary.total_activities, total);
    // The dashboard's workouts are the workout list's length (issue 19 item 9).
    let workouts = h
        .core
        .list_totals(&ActivityFilter::default(), true)
        .await
        .unwrap();
    assert_eq!(summary.total_workouts, workouts.count);
    assert!(
        summary.total_workouts < summary.total_activities,
        "{summary:?}"
    );
}

#[tokio::test]
async fn a_picked_primary_deleted_at_its_provider_yields_and_the_workout_still_counts() {
    // Issue 14, defect 15: the pinned primary kept `counted = 1` once flagged deleted, and the
    // volume (which leaves deleted copies out) lost the workout.
    let h = Harness::new(30).await;
    for p in [ProviderKind::Strava, ProviderKind::Wahoo] {
        h.connect_to(p).await;
        sync_ok(&h, p, SyncMode::Full).await;
    }
    let (count_before, _) = volume_totals(&h).await;
    let (strava_copy, workout): (i64, i64) = sqlx::query_as(
        "SELECT id, workout_id FROM activities
         WHERE provider = 'strava' AND workout_id IS NOT NULL ORDER BY id LIMIT 1",
    )
    .fetch_one(h.core.store().pool())
    .await
    .unwrap();
    h.core.make_primary(strava_copy).await.unwrap();
    // Strava no longer lists it: the reconcile flags it.
    let pid: String =
        sqlx::query_scalar("SELECT provider_activity_id FROM activities WHERE id = ?1")
            .bind(strava_copy)
            .fetch_one(h.core.store().pool())
            .await
            .unwrap();
    let index = pid.parse::<i64>().unwrap() - tributary_sandbox::strava::FIRST_ID;
    h.control("delete", serde_json::json!({"index": index}))
        .await;
    let reconcile = h
        .core
        .sync(ProviderKind::Strava, SyncTrigger::Manual, SyncMode::Full)
        .await
        .unwrap();
    assert_eq!(reconcile.counters.deleted, 1);
    let counted: Vec<(String, i64)> = sqlx::query_as(
        "SELECT provider, counted FROM activities WHERE workout_id = ?1 ORDER BY provider",
    )
    .bind(workout)
    .fetch_all(h.core.store().pool())
    .await
    .unwrap();
    assert_eq!(
        counted,
        [("strava".to_owned(), 0), ("wahoo".to_owned(), 1)],
        "the copy still listed counts"
    );
    assert_eq!(
        volume_totals(&h).await.0,
        count_before,
        "the workout still counts once"
    );
}

#[tokio::test]
async fn a_hand_link_dissolved_by_a_disconnect_is_no_longer_linked_by_you() {
    // Issue 14, defect 15: the copy left alone kept `link_pinned = 1` and showed "linked by
    // you" for a link that no longer existed.
    let h = Harness::new(20).await;
    for p in [ProviderKind::Strava, ProviderKind::Wahoo] {
        h.connect_to(p).await;
        sync_ok(&h, p, SyncMode::Full).await;
    }
    let pool = h.core.store().pool();
    let (a, home): (i64, Option<i64>) = sqlx::query_as(
        "SELECT id, workout_id FROM activities WHERE provider = 'strava' ORDER BY id LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    // A Wahoo copy of another session, linked to it by the athlete's word.
    let b: i64 = sqlx::query_scalar(
        "SELECT id FROM activities WHERE provider = 'wahoo' AND workout_id IS NOT ?1
         ORDER BY id LIMIT 1",
    )
    .bind(home)
    .fetch_one(pool)
    .await
    .unwrap();
    let linked = h.core.link_activities(a, b).await.unwrap();
    assert_eq!(linked.row.choice, LinkChoice::Linked);
    h.core.disconnect(ProviderKind::Wahoo, false).await.unwrap();
    let alone = h.core.activity(a).await.unwrap();
    assert_eq!(alone.row.workout_id, None);
    assert_eq!(
        alone.row.choice,
        LinkChoice::Automatic,
        "no longer 'linked by you': the link is gone"
    );
}
