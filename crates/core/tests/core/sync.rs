//! The sync engine against the sandbox: paging, counters, idempotence, refresh rotation, faults,
//! rate limits, cancellation, crash recovery, and where secrets end up.

use crate::harness::{Harness, STRAVA};
use tributary_core::ErrorCode;
use tributary_core::domain::{ConnectionState, SyncStatus, SyncTrigger};
use tributary_core::events::CoreEvent;
use tributary_core::sync::SyncMode;

const MANUAL: SyncTrigger = SyncTrigger::Manual;

async fn synced(activities: usize) -> Harness {
    let h = Harness::new(activities).await;
    h.connect().await;
    h
}

#[tokio::test]
async fn first_sync_pages_through_everything_and_counts_honestly() {
    let h = synced(450).await;
    let run = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Success);
    assert_eq!(run.counters.fetched, 450);
    assert_eq!(
        run.counters.created, 450,
        "created equals the sandbox's activity count"
    );
    assert!(run.counters.is_balanced());
    assert_eq!(run.api_calls, 3, "450 activities = 3 pages of 200");
    // 100 per 15 min, less the profile read at connect and the three pages: an app-wide budget.
    assert_eq!(
        run.rate_limit_remaining,
        Some(96),
        "budget read from X-ReadRateLimit-*"
    );
    assert_eq!(run.cursor, None, "nothing left to resume");
    let c = h.core.get_connection_by_provider(STRAVA).await.unwrap();
    assert!(c.last_sync_at.is_some() && c.last_sync_error.is_none());
    let newest = &h.core.list_activities(None, 1, 0).await.unwrap()[0];
    assert!(
        newest.data.name.as_deref().unwrap().ends_with("#450"),
        "newest first: {:?}",
        newest.data.name
    );
    let progress = h
        .events
        .events()
        .iter()
        .filter(|e| matches!(e, CoreEvent::SyncProgress { .. }))
        .count();
    assert_eq!(progress, 3, "one progress event per committed page");
}

#[tokio::test]
async fn a_second_sync_creates_nothing_and_a_full_one_skips_everything() {
    let h = synced(250).await;
    h.core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    let again = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!((again.counters.created, again.counters.updated), (0, 0));
    assert_eq!(
        again.counters.skipped, again.counters.fetched,
        "the overlap window is re-read and skipped"
    );
    assert!(
        again.counters.fetched < 250,
        "incremental reads only the overlap window"
    );
    let full = h.core.sync(STRAVA, MANUAL, SyncMode::Full).await.unwrap();
    assert_eq!((full.counters.created, full.counters.skipped), (0, 250));
}

#[tokio::test]
async fn edits_inside_the_overlap_window_are_updates() {
    let h = synced(100).await;
    h.core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    h.control("edit", serde_json::json!({"index": 99})).await; // the newest activity
    let run = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!((run.counters.created, run.counters.updated), (0, 1));
    let newest = &h.core.list_activities(None, 1, 0).await.unwrap()[0];
    assert!(newest.data.name.as_deref().unwrap().contains("edited"));
}

#[tokio::test]
async fn an_expired_token_is_refreshed_rotated_and_persisted_before_use() {
    let h = synced(10).await;
    let before = h.stored_secret_values().await;
    h.control("expire_tokens", serde_json::json!({})).await;
    let run = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Success, "{:?}", run.error_message);
    let after = h.stored_secret_values().await;
    assert_ne!(before, after, "a new pair was stored");
    // The old refresh token is dead at the provider: only the persisted new one works.
    let old: serde_json::Value = serde_json::from_str(&before[0]).unwrap();
    let response = h
        .http
        .post(format!("{}/strava/oauth/token", h.sandbox.base_url()))
        .form(&[
            ("client_id", tributary_sandbox::DEMO_CLIENT_ID),
            ("client_secret", tributary_sandbox::DEMO_CLIENT_SECRET),
            ("grant_type", "refresh_token"),
            ("refresh_token", old["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        400,
        "rotation retired the old refresh token"
    );
}

#[tokio::test]
async fn a_429_stops_the_run_until_the_window_resets_without_hammering() {
    use chrono::{Duration, DurationRound};
    async fn strava_calls(h: &Harness) -> u64 {
        h.sandbox_state().await["calls"]["strava"].as_u64().unwrap()
    }
    // The core on a clock of its own, so the test can wait out the window.
    let start = chrono::Utc::now();
    let clock = std::sync::Arc::new(tributary_core::clock::ManualClock::new(start));
    let h = Harness::with(
        1000,
        clock.clone(),
        std::sync::Arc::new(tributary_core::secrets::SwitchableStore::default()),
    )
    .await;
    h.connect().await;
    // The first page is served; every request after it is answered 429 (the app's budget spent
    // elsewhere), retries included: hammering would show as more requests, not as success.
    h.control(
        "faults",
        serde_json::json!({"provider": "strava", "kind": "slow", "count": 1, "delay_ms": 0}),
    )
    .await;
    h.fault("429", 3).await;
    let connected = strava_calls(&h).await;
    let run = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(
        run.status,
        SyncStatus::Partial,
        "pages already stored are kept: {:?}",
        run.error_message
    );
    assert_eq!(run.error_code, Some(ErrorCode::RateLimited));
    assert!(
        run.error_message
            .as_deref()
            .unwrap()
            .contains("continues at")
    );
    assert_eq!(
        (
            run.counters.fetched,
            run.counters.created,
            run.counters.updated,
            run.counters.failed
        ),
        (200, 200, 0, 0),
        "the one page before the 429, stored"
    );
    assert_eq!(run.api_calls, 2, "the page and the 429, nothing after");
    assert_eq!(
        strava_calls(&h).await - connected,
        2,
        "the provider saw the page and the 429: the 429 was not retried"
    );
    assert_eq!(
        h.core.list_activities(None, 1000, 0).await.unwrap().len(),
        200
    );
    let c = h.core.get_connection_by_provider(STRAVA).await.unwrap();
    assert_eq!(c.state, ConnectionState::RateLimited);
    // Strava's short window resets on the next quarter hour (of the core's clock).
    let quarter = start.duration_trunc(Duration::minutes(15)).unwrap() + Duration::minutes(15);
    assert_eq!(c.rate_limited_until, Some(quarter), "the time it clears");
    // Until then, a sync is refused without a request: not right after, not a second before.
    let after_run = strava_calls(&h).await;
    for wait in [Duration::zero(), quarter - start - Duration::seconds(1)] {
        clock.advance(wait);
        let refused = h
            .core
            .sync(STRAVA, MANUAL, SyncMode::Incremental)
            .await
            .unwrap_err();
        assert_eq!(refused.code(), ErrorCode::RateLimited, "{refused}");
        assert_eq!(
            strava_calls(&h).await,
            after_run,
            "no call while rate-limited"
        );
    }
    assert_eq!(
        h.core.sync_history(STRAVA, 10, 0).await.unwrap().len(),
        1,
        "refused starts leave no runs"
    );
    // The window resets: the next run continues where the 429 stopped it.
    h.control("clear_faults", serde_json::json!({})).await;
    clock.advance(Duration::seconds(1));
    let resumed = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(
        resumed.status,
        SyncStatus::Success,
        "{:?}",
        resumed.error_message
    );
    assert_eq!(
        (resumed.counters.fetched, resumed.counters.created),
        (800, 800),
        "the rest, from the cursor"
    );
    assert_eq!(
        h.core
            .get_connection_by_provider(STRAVA)
            .await
            .unwrap()
            .state,
        ConnectionState::Active
    );
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let h = synced(50).await;
    h.fault("500", 2).await;
    let run = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Success);
    assert_eq!(run.api_calls, 3, "two failures then success");
}

#[tokio::test]
async fn an_outage_fails_the_run_and_the_next_sync_resumes() {
    let h = synced(500).await;
    h.fault("500", 3).await; // outlasts the 3 attempts of the first page
    let failed = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(failed.status, SyncStatus::Failed);
    assert!(failed.error_message.unwrap().contains("500"));
    assert_eq!(
        h.core
            .get_connection_by_provider(STRAVA)
            .await
            .unwrap()
            .state,
        ConnectionState::Error
    );
    let recovered = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(
        (recovered.status, recovered.counters.created),
        (SyncStatus::Success, 500)
    );
    assert_eq!(
        h.core
            .get_connection_by_provider(STRAVA)
            .await
            .unwrap()
            .state,
        ConnectionState::Active
    );
}

#[tokio::test]
async fn malformed_and_truncated_pages_fail_readably_and_lose_nothing() {
    for kind in ["malformed", "truncated"] {
        let h = synced(450).await;
        h.core.sync(STRAVA, MANUAL, SyncMode::Full).await.unwrap();
        h.control("activities", serde_json::json!({"count": 700}))
            .await;
        h.fault(kind, 1).await;
        let run = h.core.sync(STRAVA, MANUAL, SyncMode::Full).await.unwrap();
        assert_eq!(run.status, SyncStatus::Failed, "{kind}");
        assert!(
            run.error_message
                .as_deref()
                .unwrap()
                .contains("malformed response"),
            "{kind}: {:?}",
            run.error_message
        );
        assert_eq!(
            h.core.list_activities(None, 1000, 0).await.unwrap().len(),
            450,
            "{kind}: nothing lost"
        );
        let next = h.core.sync(STRAVA, MANUAL, SyncMode::Full).await.unwrap();
        assert_eq!(next.status, SyncStatus::Success);
        assert_eq!(
            h.core.list_activities(None, 1000, 0).await.unwrap().len(),
            700,
            "{kind}: none duplicated"
        );
    }
}

#[tokio::test]
async fn an_unreadable_record_is_counted_failed_with_its_reason() {
    let h = synced(20).await;
    h.fault("bad_record", 1).await;
    let run = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Partial);
    assert_eq!(
        (
            run.counters.fetched,
            run.counters.created,
            run.counters.failed
        ),
        (21, 20, 1)
    );
    let reasons = h.core.sync_failures(run.id).await.unwrap();
    assert_eq!(reasons.len(), 1);
    assert!(reasons[0].1.contains("RFC 3339"), "{reasons:?}");
}

#[tokio::test]
async fn a_revoked_token_needs_reauth() {
    let h = synced(20).await;
    h.fault("revoke", 1).await;
    let run = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Failed);
    assert_eq!(
        h.core
            .get_connection_by_provider(STRAVA)
            .await
            .unwrap()
            .state,
        ConnectionState::NeedsReauth
    );
    h.connect().await;
    assert_eq!(
        h.core
            .get_connection_by_provider(STRAVA)
            .await
            .unwrap()
            .state,
        ConnectionState::Active,
        "re-authorising fixes it"
    );
}

#[tokio::test]
async fn a_cancelled_run_keeps_whole_pages_only_and_resumes() {
    let h = synced(600).await;
    h.control(
        "faults",
        serde_json::json!({"provider": "strava", "kind": "slow", "count": 10, "delay_ms": 300}),
    )
    .await;
    let handle = h
        .core
        .start_sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    // Cancel once the first page is committed.
    h.first_page_committed(handle.sync_id, "the first page")
        .await;
    assert!(h.core.cancel_sync(STRAVA).await, "a run was cancelled");
    let run = handle.wait().await.unwrap();
    assert_eq!(run.status, SyncStatus::Cancelled);
    let stored = h.core.list_activities(None, 1000, 0).await.unwrap().len() as i64;
    assert!(
        stored > 0 && stored < 600,
        "at least one page, not all: {stored}"
    );
    assert_eq!(
        (stored, stored),
        (run.counters.created, run.counters.fetched),
        "whole pages only: everything fetched was stored, and counted"
    );
    let resumed = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(resumed.status, SyncStatus::Success);
    assert_eq!(
        resumed.counters.created,
        600 - stored,
        "the next run resumed where the cancelled one stopped"
    );
    assert_eq!(
        h.core.list_activities(None, 1000, 0).await.unwrap().len(),
        600
    );
}

#[tokio::test]
async fn one_run_per_connection() {
    let h = synced(600).await;
    // Pages slow enough that the run is certainly still going while the others try.
    h.control(
        "faults",
        serde_json::json!({"provider": "strava", "kind": "slow", "count": 3, "delay_ms": 5000}),
    )
    .await;
    let first = h
        .core
        .start_sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    let second = h
        .core
        .start_sync(STRAVA, SyncTrigger::Scheduled, SyncMode::Incremental)
        .await
        .unwrap_err();
    assert_eq!(second.code(), ErrorCode::AlreadyRunning);
    // A second core on the same data directory (another process, e.g. the CLI) is refused too.
    let other = h.reopen().await;
    assert_eq!(
        other
            .start_sync(STRAVA, MANUAL, SyncMode::Incremental)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::AlreadyRunning
    );
    assert!(h.core.cancel_sync(STRAVA).await);
    assert_eq!(first.wait().await.unwrap().status, SyncStatus::Cancelled);
    let runs = h.core.sync_history(STRAVA, 10, 0).await.unwrap();
    assert_eq!(runs.len(), 1, "the refused starts left no rows");
}

#[tokio::test]
async fn runs_left_running_by_a_crash_become_interrupted_at_the_next_start() {
    async fn strava_calls(h: &Harness) -> u64 {
        h.sandbox_state().await["calls"]["strava"].as_u64().unwrap()
    }
    let h = synced(500).await;
    // A run commits its first page (and its cursor with it); the second page fails for good.
    h.control(
        "faults",
        serde_json::json!({"provider": "strava", "kind": "slow", "count": 1, "delay_ms": 0}),
    )
    .await;
    h.fault("500", 3).await; // outlasts the 3 attempts of the second page
    let died = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(
        (died.status, died.counters.fetched, died.counters.created),
        (SyncStatus::Failed, 200, 200)
    );
    // What a killed process leaves instead of an end: its row still running, its committed
    // pages and cursor in place, and no lock held on the connection.
    sqlx::query(
        "UPDATE sync_history SET status = 'running', completed_at = NULL, error_message = NULL,
                                 error_code = NULL
         WHERE id = ?1",
    )
    .bind(died.id)
    .execute(h.core.store().pool())
    .await
    .unwrap();
    let restarted = h.reopen().await;
    let run = restarted.sync_status(STRAVA).await.unwrap().unwrap();
    assert_eq!((run.id, run.status), (died.id, SyncStatus::Interrupted));
    assert!(run.completed_at.is_some(), "a terminal status has an end");
    let calls_before = strava_calls(&h).await;
    let next = restarted
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(next.status, SyncStatus::Success, "{:?}", next.error_message);
    assert_eq!(
        (
            next.counters.fetched,
            next.counters.created,
            next.counters.skipped
        ),
        (300, 300, 0),
        "resumes from the interrupted run's cursor: only what it had not reached, nothing twice"
    );
    assert_eq!(
        (next.api_calls, strava_calls(&h).await - calls_before),
        (2, 2),
        "the two pages after the cursor, not the five of the whole history"
    );
    assert_eq!(
        restarted
            .list_activities(None, 1000, 0)
            .await
            .unwrap()
            .len(),
        500
    );
}

#[tokio::test]
async fn a_disabled_connection_does_not_sync() {
    let h = synced(5).await;
    let off = h.core.toggle_connection(STRAVA).await.unwrap();
    assert_eq!((off.enabled, off.state), (false, ConnectionState::Disabled));
    assert_eq!(
        h.core
            .sync(STRAVA, MANUAL, SyncMode::Incremental)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Validation
    );
    let on = h.core.toggle_connection(STRAVA).await.unwrap();
    assert_eq!((on.enabled, on.state), (true, ConnectionState::Active));
    assert_eq!(
        h.core
            .sync(STRAVA, MANUAL, SyncMode::Incremental)
            .await
            .unwrap()
            .status,
        SyncStatus::Success
    );
}

#[tokio::test]
async fn no_secret_reaches_the_database_or_the_events() {
    let h = synced(300).await;
    // Both pairs: the one the connect stored, and the one a refresh writes over it.
    let pair = |blobs: Vec<String>| -> Vec<String> {
        blobs
            .iter()
            .flat_map(|blob| {
                let v: serde_json::Value = serde_json::from_str(blob).unwrap();
                ["access_token", "refresh_token"]
                    .iter()
                    .filter_map(|k| v[k].as_str().map(str::to_owned))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let mut secrets = pair(h.stored_secret_values().await);
    assert_eq!(secrets.len(), 2, "the connect's access and refresh tokens");
    h.control("expire_tokens", serde_json::json!({})).await; // a refresh writes a second pair
    h.core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    let rotated = pair(h.stored_secret_values().await);
    assert!(rotated.iter().all(|t| !secrets.contains(t)), "a new pair");
    secrets.extend(rotated);
    secrets.push(tributary_sandbox::DEMO_CLIENT_SECRET.to_owned());
    assert_eq!(secrets.len(), 5);
    h.core.shutdown().await; // checkpoint the WAL into the file
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(h.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    let events = format!("{:?}", h.events.events());
    for secret in &secrets {
        let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(
            !found,
            "a secret ({} bytes) is in the database files",
            secret.len()
        );
        assert!(!events.contains(secret.as_str()), "a secret is in an event");
    }
}

#[tokio::test]
async fn summary_and_history_reflect_the_runs() {
    let h = synced(30).await;
    h.core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    h.fault("500", 3).await;
    h.core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    let summary = h.core.summary().await.unwrap();
    assert_eq!(
        (
            summary.total_connections,
            summary.total_activities,
            summary.total_syncs
        ),
        (1, 30, 2)
    );
    assert_eq!(
        summary.attention_needed, 1,
        "the failed run left the connection in error"
    );
    let line = &summary.connections[0];
    assert_eq!(
        (line.successful_syncs, line.failed_syncs, line.last_status),
        (1, 1, Some(SyncStatus::Failed))
    );
    let history = h.core.sync_history(STRAVA, 1, 1).await.unwrap();
    assert_eq!(
        history[0].status,
        SyncStatus::Success,
        "offset 1 = the older run"
    );
    assert_eq!(
        h.core.sync_history(STRAVA, 0, 0).await.unwrap_err().code(),
        ErrorCode::Validation
    );
}

#[tokio::test]
async fn an_interrupted_full_walk_leaves_the_next_incremental_run_one_request() {
    let h = synced(1000).await;
    let first = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(first.counters.created, 1000);
    // A reconcile (a full walk) is cancelled after its first page: its cursor is kept for the
    // next full walk, and must not become the next incremental run's starting point.
    h.control(
        "faults",
        serde_json::json!({"provider": "strava", "kind": "slow", "count": 10, "delay_ms": 300}),
    )
    .await;
    let handle = h
        .core
        .start_sync(STRAVA, MANUAL, SyncMode::Full)
        .await
        .unwrap();
    h.first_page_committed(handle.sync_id, "the full walk's first page")
        .await;
    assert!(h.core.cancel_sync(STRAVA).await);
    assert_eq!(handle.wait().await.unwrap().status, SyncStatus::Cancelled);
    h.control("clear_faults", serde_json::json!({})).await;
    let next = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(next.status, SyncStatus::Success);
    assert_eq!(
        (next.api_calls, next.counters.created),
        (1, 0),
        "one request: the overlap window from the mark, not the rest of the full walk"
    );
}

#[tokio::test]
async fn a_mark_in_the_future_is_lowered_and_new_activities_still_arrive() {
    // Issue 14, defect 6: a future mark (a clock that was ahead, a migrated database) made
    // every incremental run ask only for what starts after it: nothing.
    let h = synced(20).await;
    h.core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    let year_ahead = (chrono::Utc::now() + chrono::Duration::days(365)).timestamp_millis();
    sqlx::query("UPDATE sync_state SET mark = ?1")
        .bind(year_ahead)
        .execute(h.core.store().pool())
        .await
        .unwrap();
    h.control(
        "upload",
        serde_json::json!({"start": chrono::Utc::now() - chrono::Duration::hours(2)}),
    )
    .await;
    let run = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(
        (run.status, run.counters.created),
        (SyncStatus::Success, 1),
        "the new upload arrives"
    );
}

#[tokio::test]
async fn one_record_that_is_not_json_fails_alone_not_its_page() {
    // Issue 14, defect 12: a lone surrogate or a number beyond f64 in one record made the whole
    // page unreadable, on every run.
    let h = synced(20).await;
    h.fault("garbage_record", 1).await;
    let run = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Partial, "{:?}", run.error_message);
    assert_eq!(
        (
            run.counters.fetched,
            run.counters.created,
            run.counters.failed
        ),
        (21, 20, 1),
        "the rest are stored, the bad one counted"
    );
    let reasons = h.core.sync_failures(run.id).await.unwrap();
    assert!(reasons[0].1.contains("cannot be read"), "{reasons:?}");
    let next = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(
        next.status,
        SyncStatus::Success,
        "the next run is not held by it"
    );
}
