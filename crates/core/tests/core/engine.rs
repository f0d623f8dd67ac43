//! The engine's unattended-operation defects (issue 7), one test each. Each of these failed on
//! the engine as it was before the fixes (see the closing note of issue 7).

use crate::harness::{Harness, STRAVA};
use crate::scripted::{Scripted, activity, grant, page};
use chrono::{Duration, Utc};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration as StdDuration;
use tributary_core::clock::SystemClock;
use tributary_core::domain::{ConnectionState, ProviderKind, SyncStatus, SyncTrigger};
use tributary_core::events::CoreEvent;
use tributary_core::providers::{ActivityPage, RateBudget, strava};
use tributary_core::sync::SyncMode;
use tributary_core::vault::{namespace, token_key};
use tributary_core::{Error, ErrorCode};

const MANUAL: SyncTrigger = SyncTrigger::Manual;
const INCREMENTAL: SyncMode = SyncMode::Incremental;

async fn scripted(kind: ProviderKind) -> (Harness, Arc<Scripted>) {
    let provider = Scripted::new(kind, strava::capabilities());
    let h = Harness::scripted(Arc::new(SystemClock), vec![provider.clone()]).await;
    h.connect_scripted(kind).await;
    (h, provider)
}

/// Waits for `cond`, polling; fails the test after `secs`.
async fn eventually(secs: u64, what: &str, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(secs);
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
}

// --- A run left `running` by another process is recovered while the app stays open ----------

#[tokio::test]
async fn a_dead_processs_running_row_is_recovered_without_a_restart() {
    let h = Harness::new(10).await;
    let connection = h.connect().await;
    // What a CLI sync stopped with Ctrl-C (or killed) leaves while the app is open: a running
    // row, and no lock held on the connection.
    sqlx::query(
        "INSERT INTO sync_history (connection_id, trigger, status, started_at, heartbeat_at)
         VALUES (?1, 'manual', 'running', 0, 0)",
    )
    .bind(connection.id)
    .execute(h.core.store().pool())
    .await
    .unwrap();
    let run = h
        .core
        .sync(STRAVA, MANUAL, INCREMENTAL)
        .await
        .expect("the dead run must not block this one");
    assert_eq!(run.status, SyncStatus::Success);
    let history = h.core.sync_history(STRAVA, 10, 0).await.unwrap();
    assert_eq!(
        history.iter().map(|r| r.status).collect::<Vec<_>>(),
        [SyncStatus::Success, SyncStatus::Interrupted],
        "the dead row was marked interrupted by the running process"
    );
}

// --- A panic inside a run releases the slot and ends the run -------------------------------

#[tokio::test]
async fn a_panic_inside_a_run_ends_it_failed_and_frees_the_connection() {
    let (h, provider) = scripted(STRAVA).await;
    provider.on_list(|_, n| {
        Box::pin(async move {
            if n == 0 {
                panic!("provider data made the adapter panic");
            }
            Ok(page(vec![activity("a1", Utc::now())], None))
        })
    });
    let run = h
        .core
        .sync(STRAVA, MANUAL, INCREMENTAL)
        .await
        .expect("a panicking run still reports its end");
    assert_eq!(run.status, SyncStatus::Failed);
    assert!(
        run.error_message
            .as_deref()
            .unwrap_or("")
            .contains("internal"),
        "{:?}",
        run.error_message
    );
    assert!(
        h.events
            .events()
            .iter()
            .any(|e| matches!(e, CoreEvent::SyncFinished { sync_id, .. } if *sync_id == run.id)),
        "every run emits its end event"
    );
    let next = h
        .core
        .sync(STRAVA, MANUAL, INCREMENTAL)
        .await
        .expect("the slot was released");
    assert_eq!(next.status, SyncStatus::Success);
}

// --- A refresh whose request reached the provider is kept when the run is cancelled ----------

#[tokio::test]
async fn a_refresh_in_flight_is_persisted_even_when_the_run_is_cancelled() {
    let (h, provider) = scripted(STRAVA).await;
    // The stored access token has expired: the first page needs a refresh.
    let key = token_key(&namespace(h.dir.path()), 1, STRAVA);
    let expired = serde_json::json!({"access_token": "at-0", "refresh_token": "rt-0",
                                     "expires_at": (Utc::now() - Duration::hours(1)).timestamp()});
    use tributary_core::secrets::SecretStore;
    h.secrets
        .set(
            &key,
            &tributary_core::secrets::Sensitive::new(expired.to_string()),
        )
        .await
        .unwrap();
    let release = Arc::new(tokio::sync::Notify::new());
    let gate = release.clone();
    provider.on_refresh(move |_, n| {
        let gate = gate.clone();
        Box::pin(async move {
            gate.notified().await; // the provider has rotated the pair; its answer is on the way
            Ok(grant(n + 1))
        })
    });
    let handle = h
        .core
        .start_sync(STRAVA, MANUAL, INCREMENTAL)
        .await
        .unwrap();
    eventually(5, "the refresh to start", async || {
        provider.refresh_calls.load(Ordering::SeqCst) == 1
    })
    .await;
    let core = h.core.clone();
    let cancelling = tokio::spawn(async move { core.cancel_sync(STRAVA).await });
    tokio::time::sleep(StdDuration::from_millis(100)).await;
    release.notify_one();
    assert!(cancelling.await.unwrap(), "a run was cancelled");
    assert_eq!(handle.wait().await.unwrap().status, SyncStatus::Cancelled);
    eventually(5, "the rotated pair in the keyring", async || {
        h.secrets
            .get(&key)
            .await
            .unwrap()
            .is_some_and(|t| t.expose().contains("\"rt-1\""))
    })
    .await;
}

// --- Two syncs at once never fail with "database is locked" ----------------------------------

#[tokio::test]
async fn two_connections_syncing_at_once_both_succeed() {
    let strava = Scripted::new(STRAVA, strava::capabilities());
    let wahoo = Scripted::new(ProviderKind::Wahoo, strava::capabilities());
    let h = Harness::scripted(Arc::new(SystemClock), vec![strava.clone(), wahoo.clone()]).await;
    h.connect_scripted(STRAVA).await;
    h.connect_scripted(ProviderKind::Wahoo).await;
    for (provider, prefix) in [(&strava, "s"), (&wahoo, "w")] {
        provider.on_list(move |_, n| {
            Box::pin(async move {
                let items = (0..50)
                    .map(|i| activity(&format!("{prefix}-{n}-{i}"), Utc::now()))
                    .collect();
                let next = (n < 30).then(|| format!("p{}", n + 1));
                Ok(page(items, next.as_deref()))
            })
        });
    }
    let a = h
        .core
        .start_sync(STRAVA, MANUAL, INCREMENTAL)
        .await
        .unwrap();
    let b = h
        .core
        .start_sync(ProviderKind::Wahoo, MANUAL, INCREMENTAL)
        .await
        .unwrap();
    let (a, b) = (a.wait().await.unwrap(), b.wait().await.unwrap());
    for run in [&a, &b] {
        assert_eq!(
            (run.status, run.counters.created),
            (SyncStatus::Success, 31 * 50),
            "{:?}",
            run.error_message
        );
    }
}

#[tokio::test]
async fn concurrent_write_transactions_wait_for_each_other() {
    let h = Harness::new(0).await;
    let store = h.core.store().clone();
    let mut tasks = Vec::new();
    for t in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..15 {
                // The engine's shape: read first, then write, in one transaction.
                let mut tx = store.begin().await?;
                let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM athletes")
                    .fetch_one(&mut *tx)
                    .await?;
                tokio::task::yield_now().await;
                sqlx::query(
                    "INSERT INTO athletes (id, display_name, created_at) VALUES (?1, 'x', 0)",
                )
                .bind(1000 + t * 100 + i)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
            }
            Ok::<_, tributary_core::Error>(())
        }));
    }
    for task in tasks {
        task.await.unwrap().expect("no 'database is locked'");
    }
}

// --- Cursors --------------------------------------------------------------------------------

#[tokio::test]
async fn a_resumed_cursor_that_fails_at_once_is_dropped() {
    let (h, provider) = scripted(STRAVA).await;
    provider.on_list(|request, _| {
        Box::pin(async move {
            match request.cursor.as_deref() {
                None => Ok(page(vec![activity("a1", Utc::now())], Some("stale"))),
                // The provider no longer understands this cursor (expired page token).
                Some(_) => Err(Error::Provider {
                    provider: STRAVA,
                    status: Some(400),
                    message: "invalid page token".into(),
                }),
            }
        })
    });
    let first = h.core.sync(STRAVA, MANUAL, INCREMENTAL).await.unwrap();
    assert_eq!(first.status, SyncStatus::Failed);
    let resumed = h.core.sync(STRAVA, MANUAL, INCREMENTAL).await.unwrap();
    assert_eq!(
        resumed.status,
        SyncStatus::Failed,
        "the stale cursor fails once"
    );
    provider.requests.lock().unwrap().clear();
    provider.on_list(|_, _| Box::pin(async { Ok(page(vec![activity("a1", Utc::now())], None)) }));
    let next = h.core.sync(STRAVA, MANUAL, INCREMENTAL).await.unwrap();
    assert_eq!(next.status, SyncStatus::Success, "{:?}", next.error_message);
    assert_eq!(
        provider.requests.lock().unwrap()[0].cursor,
        None,
        "a cursor that failed at once is not tried forever"
    );
}

#[tokio::test]
async fn a_full_run_that_fails_at_once_keeps_the_backfill_cursor() {
    let (h, provider) = scripted(STRAVA).await;
    provider.on_list(|request, _| {
        Box::pin(async move {
            match request.cursor.as_deref() {
                None => Ok(page(vec![activity("new", Utc::now())], Some("older"))),
                Some(_) => Err(Error::RateLimited {
                    provider: STRAVA,
                    until: Utc::now() - Duration::seconds(1),
                }),
            }
        })
    });
    let backfill = h.core.sync(STRAVA, MANUAL, INCREMENTAL).await.unwrap();
    assert_eq!(
        backfill.status,
        SyncStatus::Partial,
        "stopped by the budget"
    );
    provider.on_list(|_, _| {
        Box::pin(async {
            Err(Error::Provider {
                provider: STRAVA,
                status: Some(503),
                message: "down".into(),
            })
        })
    });
    let full = h.core.sync(STRAVA, MANUAL, SyncMode::Full).await.unwrap();
    assert_eq!(full.status, SyncStatus::Failed);
    provider.requests.lock().unwrap().clear();
    provider.on_list(|_, _| Box::pin(async { Ok(ActivityPage::default()) }));
    h.core.sync(STRAVA, MANUAL, INCREMENTAL).await.unwrap();
    assert_eq!(
        provider.requests.lock().unwrap()[0].cursor.as_deref(),
        Some("older"),
        "the unfinished backfill continues where it stopped"
    );
}

#[tokio::test]
async fn a_cursor_that_repeats_stops_the_run_with_a_clear_error() {
    let (h, provider) = scripted(STRAVA).await;
    provider.on_list(|_, n| {
        Box::pin(async move {
            Ok(page(
                vec![activity(&format!("a{n}"), Utc::now())],
                Some("same"),
            ))
        })
    });
    let run = tokio::time::timeout(
        StdDuration::from_secs(20),
        h.core.sync(STRAVA, MANUAL, INCREMENTAL),
    )
    .await
    .expect("a provider repeating its cursor must not loop forever")
    .unwrap();
    assert_eq!(run.status, SyncStatus::Failed);
    assert!(
        run.error_message
            .as_deref()
            .unwrap_or("")
            .contains("same cursor"),
        "{:?}",
        run.error_message
    );
    assert!(provider.list_calls.load(Ordering::SeqCst) <= 3);
}

#[tokio::test]
async fn paging_never_skips_an_activity_sharing_the_pages_last_start_second() {
    let h = Harness::new(199).await;
    h.connect().await;
    // Two uploads in the same second, older than everything else: the 200th and 201st newest.
    let at = h.sandbox.anchor() - Duration::days(3650);
    for _ in 0..2 {
        h.control("upload", serde_json::json!({"start": at})).await;
    }
    let run = h.core.sync(STRAVA, MANUAL, INCREMENTAL).await.unwrap();
    assert_eq!(run.status, SyncStatus::Success);
    assert_eq!(
        (run.counters.fetched, run.counters.created),
        (201, 201),
        "both activities of the shared second are read, once each"
    );
}

// --- The incremental mark --------------------------------------------------------------------

#[tokio::test]
async fn a_future_dated_record_does_not_stop_new_data() {
    // The two providers whose incremental walk starts at the mark (a date): one record dated next
    // month used to move the mark past every real one.
    for provider in [ProviderKind::GoogleHealth, ProviderKind::Coros] {
        let h = Harness::new(20).await;
        h.connect_to(provider).await;
        h.control(
            "upload",
            serde_json::json!({"start": Utc::now() + Duration::days(30)}),
        )
        .await;
        h.core.sync(provider, MANUAL, INCREMENTAL).await.unwrap();
        h.control(
            "upload",
            serde_json::json!({"start": Utc::now() - Duration::hours(1)}),
        )
        .await;
        let next = h.core.sync(provider, MANUAL, INCREMENTAL).await.unwrap();
        assert_eq!(
            next.counters.created, 1,
            "{provider}: the workout recorded an hour ago is imported"
        );
    }
}

#[tokio::test]
async fn a_new_account_does_not_inherit_the_previous_accounts_mark() {
    let (h, provider) = scripted(STRAVA).await;
    provider.on_list(|_, _| Box::pin(async { Ok(page(vec![activity("a1", Utc::now())], None)) }));
    h.core.sync(STRAVA, MANUAL, INCREMENTAL).await.unwrap();
    h.core.disconnect(STRAVA, true).await.unwrap();
    provider.set_user("someone-else");
    h.connect_scripted(STRAVA).await;
    provider.requests.lock().unwrap().clear();
    h.core.sync(STRAVA, MANUAL, INCREMENTAL).await.unwrap();
    assert_eq!(
        provider.requests.lock().unwrap()[0].since,
        None,
        "another account's history is read in full"
    );
}

#[tokio::test]
async fn switching_account_keeps_the_first_accounts_activities_and_a_disconnect_only_its_own() {
    // Issue 14, defect 8: the second account's reconcile flagged the first account's activities
    // deleted (it does not list them), and a disconnect deleted both accounts' data.
    let (h, provider) = scripted(STRAVA).await;
    provider.on_list(|_, _| {
        Box::pin(async {
            Ok(page(
                vec![
                    activity("first-1", Utc::now() - Duration::days(3)),
                    activity("first-2", Utc::now() - Duration::days(2)),
                ],
                None,
            ))
        })
    });
    h.core.sync(STRAVA, MANUAL, INCREMENTAL).await.unwrap();
    // The athlete signs in again, to another account, without disconnecting.
    provider.set_user("someone-else");
    h.connect_scripted(STRAVA).await;
    provider.on_list(|_, _| {
        Box::pin(async {
            Ok(page(
                vec![activity("second-1", Utc::now() - Duration::days(1))],
                None,
            ))
        })
    });
    let reconcile = h.core.sync(STRAVA, MANUAL, SyncMode::Full).await.unwrap();
    assert_eq!(
        reconcile.counters.deleted, 0,
        "the first account's activities are not the second's to flag"
    );
    let all = h.core.list_activities(Some(STRAVA), 100, 0).await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|a| a.deleted_at.is_none()), "{all:?}");
    let gone = h.core.disconnect(STRAVA, false).await.unwrap();
    assert_eq!(
        gone.activities_deleted, 1,
        "only the disconnected account's"
    );
    let left: Vec<String> = h
        .core
        .list_activities(Some(STRAVA), 100, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.data.provider_activity_id)
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.iter().all(|id| id.starts_with("first-")));
}

#[tokio::test]
async fn more_than_a_page_of_strava_activities_in_one_second_are_all_read() {
    // Issue 14, defect 15: `before` moves in whole seconds; a full page within one second made
    // the next request answer the same page, all already seen, and the walk ended "success".
    let h = Harness::new(3).await;
    h.connect().await;
    let same = Utc::now() - Duration::days(3);
    for _ in 0..230 {
        h.control("upload", serde_json::json!({"start": same}))
            .await;
    }
    let run = h.core.sync(STRAVA, MANUAL, INCREMENTAL).await.unwrap();
    assert_eq!(
        (run.status, run.counters.created),
        (tributary_core::domain::SyncStatus::Success, 233),
        "all 230 of that second, and the 3 others"
    );
}

#[tokio::test]
async fn a_late_upload_imported_during_a_long_reconcile_is_not_flagged_deleted() {
    // Issue 14, defect 15: the walk had passed the upload's date before it arrived; the walk's
    // end flagged everything it had not seen, the upload too.
    let h = Harness::new(1000).await;
    h.connect().await;
    h.core.sync(STRAVA, MANUAL, INCREMENTAL).await.unwrap();
    h.control(
        "faults",
        serde_json::json!({"provider": "strava", "kind": "slow", "count": 10, "delay_ms": 300}),
    )
    .await;
    let walk = h
        .core
        .start_sync(STRAVA, MANUAL, SyncMode::Full)
        .await
        .unwrap();
    h.first_page_committed(walk.sync_id, "the reconcile's first page")
        .await;
    assert!(h.core.cancel_sync(STRAVA).await); // a walk over several runs
    walk.wait().await.unwrap();
    h.control("clear_faults", serde_json::json!({})).await;
    // A watch syncs late: a workout of two hours ago, a date the walk has already passed.
    h.control(
        "upload",
        serde_json::json!({"start": Utc::now() - Duration::hours(2)}),
    )
    .await;
    let incremental = h.core.sync(STRAVA, MANUAL, INCREMENTAL).await.unwrap();
    assert_eq!(incremental.counters.created, 1);
    let rest = h.core.sync(STRAVA, MANUAL, SyncMode::Full).await.unwrap();
    assert_eq!(rest.status, tributary_core::domain::SyncStatus::Success);
    assert_eq!(rest.counters.deleted, 0, "nothing was deleted at Strava");
    let mut flagged = 0;
    for offset in [0, 1000] {
        flagged += h
            .core
            .list_activities(Some(STRAVA), 1000, offset)
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.deleted_at.is_some())
            .count();
    }
    assert_eq!(flagged, 0);
}

// --- Garmin keeps its inbox position ---------------------------------------------------------

#[tokio::test]
async fn garmin_reads_its_inbox_from_where_it_stopped() {
    let h = Harness::new(300).await;
    let garmin = ProviderKind::Garmin;
    h.connect_to(garmin).await;
    let first = h.core.sync(garmin, MANUAL, INCREMENTAL).await.unwrap();
    assert!(first.counters.created > 0);
    let second = h.core.sync(garmin, MANUAL, INCREMENTAL).await.unwrap();
    assert_eq!(
        second.counters.fetched, 0,
        "nothing new was pushed, so nothing is re-read"
    );
}

// --- Rate limits ----------------------------------------------------------------------------

#[tokio::test]
async fn a_429_on_the_first_page_ends_partial() {
    let h = Harness::new(20).await;
    h.connect().await;
    h.fault("429", 1).await;
    let run = h.core.sync(STRAVA, MANUAL, INCREMENTAL).await.unwrap();
    assert_eq!(run.status, SyncStatus::Partial, "a rate limit is a pause");
    assert_eq!(
        h.core
            .get_connection_by_provider(STRAVA)
            .await
            .unwrap()
            .state,
        ConnectionState::RateLimited
    );
}

#[tokio::test]
async fn the_next_run_honours_the_budget_the_last_run_learned() {
    let (h, provider) = scripted(STRAVA).await;
    let resets = Utc::now() + Duration::minutes(10);
    *provider.budget.lock().unwrap() = Some(RateBudget {
        remaining: 0,
        resets_at: resets,
    });
    provider.on_list(|_, _| Box::pin(async { Ok(page(vec![activity("a1", Utc::now())], None)) }));
    let spent = h.core.sync(STRAVA, MANUAL, INCREMENTAL).await.unwrap();
    assert_eq!(
        spent.status,
        SyncStatus::Success,
        "the last request still fit"
    );
    let calls = provider.list_calls.load(Ordering::SeqCst);
    let next = h.core.sync(STRAVA, MANUAL, INCREMENTAL).await;
    assert_eq!(
        provider.list_calls.load(Ordering::SeqCst),
        calls,
        "no request that the known budget says will 429"
    );
    assert_eq!(next.unwrap_err().code(), ErrorCode::RateLimited);
}

#[tokio::test]
async fn the_end_of_a_run_never_overwrites_a_state_set_elsewhere() {
    let h = Harness::new(600).await;
    h.connect().await;
    h.control(
        "faults",
        serde_json::json!({"provider": "strava", "kind": "slow", "count": 3, "delay_ms": 300}),
    )
    .await;
    let handle = h
        .core
        .start_sync(STRAVA, MANUAL, INCREMENTAL)
        .await
        .unwrap();
    // Another process (the CLI) switches the connection off while the app's run goes on.
    let other = h.reopen().await;
    other.toggle_connection(STRAVA).await.unwrap();
    handle.wait().await.unwrap();
    let c = h.core.get_connection_by_provider(STRAVA).await.unwrap();
    assert_eq!(
        (c.enabled, c.state),
        (false, ConnectionState::Disabled),
        "switched off stays switched off"
    );
}

// --- Provider numbers never panic -----------------------------------------------------------

#[test]
fn absurd_rate_limit_headers_never_panic() {
    use reqwest::header::{HeaderMap, HeaderValue};
    use tributary_core::providers::{polar, wahoo};
    let now = Utc::now();
    let headers = |pairs: &[(&'static str, &str)]| {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    };
    let extreme = ["-9223372036854775808", "9223372036854775807", "-1", "0"];
    for a in extreme {
        for b in extreme {
            let pair = format!("{a},{b}");
            let strava_budget = strava::rate_budget(
                &headers(&[
                    ("x-ratelimit-limit", &pair),
                    ("x-ratelimit-usage", &format!("{b},{a}")),
                ]),
                now,
            );
            if let Some(b) = strava_budget {
                assert!(b.remaining >= 0, "a budget is never negative");
            }
            polar::rate_budget(
                &headers(&[
                    ("ratelimit-usage", &pair),
                    ("ratelimit-limit", &pair),
                    ("ratelimit-reset", &pair),
                ]),
                now,
            );
            wahoo::rate_budget(
                &headers(&[
                    ("x-ratelimit-remaining", &format!("{pair},{a}")),
                    ("x-ratelimit-reset", &format!("{pair},{b}")),
                ]),
                now,
            );
        }
    }
}

proptest::proptest! {
    #[test]
    fn any_rate_limit_headers_parse_or_are_ignored_never_panic(
        a in "[-+ 0-9,a-z.]{0,40}",
        b in "[-+ 0-9,a-z.]{0,40}",
        c in "[-+ 0-9,a-z.]{0,40}",
    ) {
        use reqwest::header::{HeaderMap, HeaderValue};
        use tributary_core::providers::{polar, wahoo};
        let now = Utc::now();
        let mut h = HeaderMap::new();
        for (name, value) in [
            ("x-ratelimit-limit", &a), ("x-ratelimit-usage", &b), ("x-readratelimit-limit", &c),
            ("x-readratelimit-usage", &a), ("ratelimit-usage", &a), ("ratelimit-limit", &b),
            ("ratelimit-reset", &c), ("x-ratelimit-remaining", &a), ("x-ratelimit-reset", &b),
        ] {
            if let Ok(v) = HeaderValue::from_str(value) {
                h.insert(name, v);
            }
        }
        for budget in [strava::rate_budget(&h, now), polar::rate_budget(&h, now), wahoo::rate_budget(&h, now)].into_iter().flatten() {
            proptest::prop_assert!(budget.remaining >= 0);
        }
    }
}

// --- A failed final write ---------------------------------------------------------------------

#[tokio::test]
async fn a_run_whose_end_cannot_be_recorded_is_announced_and_never_left_running() {
    let h = Harness::new(30).await;
    h.connect().await;
    // The database refuses the run's last write (a full disk, say); the pages before it went in.
    h.refuse_writes("BEFORE UPDATE OF status ON sync_history WHEN NEW.status <> 'running'")
        .await;
    let failed = h.core.sync(STRAVA, MANUAL, INCREMENTAL).await;
    let err = failed.expect_err("the end was not recorded, so there is no final row to return");
    assert_eq!(err.code(), ErrorCode::Internal, "{err}");
    // The front ends still hear that it ended: no card says "Syncing…" forever.
    let ended = h
        .events
        .events()
        .into_iter()
        .any(|e| matches!(e, CoreEvent::SyncFinished { provider, .. } if provider == STRAVA));
    assert!(ended, "the end event was emitted");
    h.accept_writes().await;
    // The slot and lock were released: the next run starts (no "already running"), marks the
    // orphaned row interrupted, and loses nothing.
    let next = h.core.sync(STRAVA, MANUAL, SyncMode::Full).await.unwrap();
    assert_eq!(next.status, SyncStatus::Success, "{:?}", next.error_message);
    let runs = h.core.sync_history(STRAVA, 10, 0).await.unwrap();
    assert!(runs.iter().all(|r| r.status != SyncStatus::Running));
    assert_eq!(
        runs.iter()
            .filter(|r| r.status == SyncStatus::Interrupted)
            .count(),
        1
    );
    let stored = h.core.list_activities(Some(STRAVA), 100, 0).await.unwrap();
    assert_eq!(stored.len(), 30);
}

// --- A sign-in moves the connection to another door while a run reads the old one ------------

#[tokio::test]
async fn a_page_read_through_a_door_the_connection_left_during_the_run_is_not_written() {
    let (h, provider) = scripted(STRAVA).await;
    let pool = h.core.store().pool().clone();
    // While the page is in flight, the connection moves (what a sign-in through a newer door
    // writes: the door, and a new generation). Without the guard the page's copies were stored
    // stamped with the new door (never to be matched to its ids) and the old door's position
    // kept as the new one's.
    provider.on_list(move |_, _| {
        let pool = pool.clone();
        Box::pin(async move {
            sqlx::query(
                "UPDATE provider_connections SET door = 'newer', generation = generation + 1",
            )
            .execute(&pool)
            .await
            .unwrap();
            Ok(ActivityPage {
                position: Some("old-door-position".into()),
                ..page(vec![activity("a1", Utc::now() - Duration::days(1))], None)
            })
        })
    });
    let run = h.core.sync(STRAVA, MANUAL, INCREMENTAL).await.unwrap();
    assert_eq!(run.status, SyncStatus::Cancelled, "{:?}", run.error_message);
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM activities")
        .fetch_one(h.core.store().pool())
        .await
        .unwrap();
    assert_eq!(stored, 0, "nothing the old door read is written");
    let positions: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sync_state WHERE position IS NOT NULL")
            .fetch_one(h.core.store().pool())
            .await
            .unwrap();
    assert_eq!(positions, 0, "the old door's position is not the new one's");
    // The next run reads again, through the door the connection is on now.
    provider.on_list(|_, _| {
        Box::pin(async {
            Ok(page(
                vec![activity("a1", Utc::now() - Duration::days(1))],
                None,
            ))
        })
    });
    let next = h.core.sync(STRAVA, MANUAL, INCREMENTAL).await.unwrap();
    assert_eq!(
        (next.status, next.counters.created),
        (SyncStatus::Success, 1)
    );
}

#[tokio::test]
async fn the_vault_gives_no_token_to_a_caller_that_read_the_connection_before_it_moved() {
    let (h, provider) = scripted(STRAVA).await;
    let before = h.core.get_connection_by_provider(STRAVA).await.unwrap();
    let meter = Arc::new(tributary_core::providers::Meter::default());
    let client: Arc<dyn tributary_core::providers::Provider> = provider.clone();
    assert!(
        h.core
            .vault()
            .access_token(&before, client.clone(), meter.clone(), None)
            .await
            .is_ok()
    );
    // A sign-in moves the connection to another door (its tokens are then the new door's).
    sqlx::query("UPDATE provider_connections SET door = 'newer', generation = generation + 1")
        .execute(h.core.store().pool())
        .await
        .unwrap();
    let refused = h
        .core
        .vault()
        .access_token(&before, client.clone(), meter.clone(), None)
        .await;
    assert!(
        matches!(refused, Err(Error::Cancelled)),
        "the old door's client gets nothing: {refused:?}"
    );
    let now = h.core.get_connection_by_provider(STRAVA).await.unwrap();
    assert!(
        h.core
            .vault()
            .access_token(&now, client, meter, None)
            .await
            .is_ok()
    );
}
