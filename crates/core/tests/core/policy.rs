//! Policy in the core, the same for every front end: the first sync after a connect, "sync all",
//! the scheduler (start-up run, interval, pause, offline, recovery of dead runs, shutdown), and
//! reconcile (late uploads of any age, deletions).

use crate::harness::{Harness, STRAVA, config};
use crate::scripted::{Scripted, activity, page};
use chrono::{Duration, Utc};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration as StdDuration;
use tributary_core::clock::SystemClock;
use tributary_core::domain::{ProviderKind, SyncStatus, SyncTrigger};
use tributary_core::providers::strava;
use tributary_core::scheduler::SchedulerSettings;
use tributary_core::sync::SyncMode;
use tributary_core::{Core, Deps, ErrorCode};

/// Waits for `cond`, polling; fails the test after `secs`.
async fn eventually<T>(secs: u64, what: &str, mut cond: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(secs);
    loop {
        if let Some(value) = cond().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(StdDuration::from_millis(25)).await;
    }
}

fn fast(interval_ms: u64) -> SchedulerSettings {
    SchedulerSettings {
        interval: StdDuration::from_millis(interval_ms),
        offline_retry: StdDuration::from_millis(100),
        ..SchedulerSettings::default()
    }
}

#[tokio::test]
async fn the_core_starts_the_first_sync_after_a_connect() {
    let h = Harness::new(30).await;
    let mut with_policy = config(h.dir.path(), &h.sandbox);
    with_policy.sync_after_connect = true;
    let deps = Deps {
        secrets: h.secrets.clone(),
        clock: Arc::new(SystemClock),
        events: h.events.clone(),
    };
    let core = Core::open(with_policy, deps).await.unwrap();
    let request = core
        .begin_connect(STRAVA, tributary_core::auth::RedirectTarget::DeepLink)
        .await
        .unwrap();
    let redirect = h.approve(&request.authorize_url, "approve").await;
    let connected = core.complete_redirect(&redirect).await.unwrap();
    let first = connected.first_sync.expect("a first sync started");
    let run = first.wait().await.unwrap();
    assert_eq!(
        (run.trigger, run.status, run.counters.created),
        (SyncTrigger::AfterConnect, SyncStatus::Success, 30)
    );

    // A connection that cannot sync (a missing scope) gets no first sync.
    let request = core
        .begin_connect(STRAVA, tributary_core::auth::RedirectTarget::DeepLink)
        .await
        .unwrap();
    let narrow = h
        .approve(&request.authorize_url, "approve-without-activities")
        .await;
    let connected = core.complete_redirect(&narrow).await.unwrap();
    assert!(connected.first_sync.is_none());
}

#[tokio::test]
async fn sync_all_never_stops_at_the_first_refusal() {
    let h = Harness::new(20).await;
    for p in [STRAVA, ProviderKind::Polar, ProviderKind::Wahoo] {
        h.connect_to(p).await;
    }
    h.core.toggle_connection(ProviderKind::Polar).await.unwrap(); // off: not part of "all"
    h.fault("429", 1).await;
    h.core
        .sync(STRAVA, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap(); // now rate-limited until the quarter hour
    let outcomes = h
        .core
        .sync_all(SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    let by = |p| outcomes.iter().find(|o| o.provider == p).unwrap();
    assert_eq!(outcomes.len(), 2, "the switched-off one is not attempted");
    assert_eq!(
        by(STRAVA).refused.as_ref().map(|r| r.code),
        Some(ErrorCode::RateLimited),
        "Strava refused, and said why"
    );
    let wahoo = by(ProviderKind::Wahoo)
        .run
        .as_ref()
        .expect("Wahoo ran anyway");
    assert_eq!(
        (wahoo.status, wahoo.counters.created),
        (SyncStatus::Success, 20)
    );
}

#[tokio::test]
async fn the_scheduler_runs_at_startup_then_on_its_interval_and_pauses() {
    let provider = Scripted::new(STRAVA, strava::capabilities());
    let h = Harness::scripted(Arc::new(SystemClock), vec![provider.clone()]).await;
    h.connect_scripted(STRAVA).await;
    provider.on_list(|_, n| {
        Box::pin(async move { Ok(page(vec![activity(&format!("a{n}"), Utc::now())], None)) })
    });
    let scheduler = h.core.start_scheduler(fast(300));
    let runs = eventually(10, "a start-up run and two scheduled runs", async || {
        let runs = h.core.sync_history(STRAVA, 50, 0).await.unwrap();
        let scheduled = runs
            .iter()
            .filter(|r| r.trigger == SyncTrigger::Scheduled)
            .count();
        (scheduled >= 2).then_some(runs)
    })
    .await;
    assert_eq!(
        runs.last().unwrap().trigger,
        SyncTrigger::Startup,
        "the first run is the start-up run"
    );
    assert!(runs.iter().all(|r| r.status != SyncStatus::Failed));
    assert!(
        !scheduler.status().next_runs.is_empty(),
        "the next run is known, for the dashboard"
    );

    scheduler.pause();
    // Let a run that was already starting finish, then nothing more may start.
    tokio::time::sleep(StdDuration::from_millis(400)).await;
    let paused_at = provider.list_calls.load(Ordering::SeqCst);
    tokio::time::sleep(StdDuration::from_millis(1000)).await;
    assert_eq!(
        provider.list_calls.load(Ordering::SeqCst),
        paused_at,
        "paused: no run for three intervals"
    );
    assert!(scheduler.status().paused);
    scheduler.resume();
    eventually(10, "a run after resuming", async || {
        (provider.list_calls.load(Ordering::SeqCst) > paused_at).then_some(())
    })
    .await;
    scheduler.shutdown().await;
}

#[tokio::test]
async fn the_scheduler_waits_quietly_while_offline_and_resumes_when_the_network_returns() {
    let provider = Scripted::new(STRAVA, strava::capabilities());
    let h = Harness::scripted(Arc::new(SystemClock), vec![provider.clone()]).await;
    h.connect_scripted(STRAVA).await;
    provider.go_offline();
    let scheduler = h.core.start_scheduler(fast(200));
    eventually(10, "the scheduler to notice", async || {
        scheduler.status().offline.contains(&STRAVA).then_some(())
    })
    .await;
    tokio::time::sleep(StdDuration::from_millis(600)).await;
    assert!(
        h.core.sync_history(STRAVA, 10, 0).await.unwrap().is_empty(),
        "no network is not a failed run: nothing recorded"
    );
    provider.go_online();
    eventually(10, "a run once the network returns", async || {
        let runs = h.core.sync_history(STRAVA, 10, 0).await.unwrap();
        runs.iter()
            .any(|r| r.status == SyncStatus::Success)
            .then_some(())
    })
    .await;
    assert!(scheduler.status().offline.is_empty());
    scheduler.shutdown().await;
}

#[tokio::test]
async fn the_scheduler_recovers_a_dead_processs_run_and_shuts_down_cleanly() {
    let provider = Scripted::new(STRAVA, strava::capabilities());
    let h = Harness::scripted(Arc::new(SystemClock), vec![provider.clone()]).await;
    let connection = h.connect_scripted(STRAVA).await;
    // Slow pages, so that a run is in progress when the scheduler is shut down.
    provider.on_list(|_, n| {
        Box::pin(async move {
            tokio::time::sleep(StdDuration::from_millis(200)).await;
            Ok(page(
                vec![activity(&format!("a{n}"), Utc::now())],
                Some(&format!("c{}", n + 1)),
            ))
        })
    });
    sqlx::query(
        "INSERT INTO sync_history (connection_id, trigger, status, started_at, heartbeat_at)
         VALUES (?1, 'manual', 'running', 0, 0)",
    )
    .bind(connection.id)
    .execute(h.core.store().pool())
    .await
    .unwrap();
    let scheduler = h.core.start_scheduler(fast(60_000));
    let running = eventually(
        10,
        "the dead run recovered and a new one running",
        async || {
            let runs = h.core.sync_history(STRAVA, 10, 0).await.unwrap();
            let dead_gone = runs.iter().any(|r| r.status == SyncStatus::Interrupted);
            let live = runs
                .iter()
                .find(|r| r.status == SyncStatus::Running)
                .cloned();
            live.filter(|_| dead_gone)
        },
    )
    .await;
    scheduler.shutdown().await;
    let runs = h.core.sync_history(STRAVA, 10, 0).await.unwrap();
    let ended = runs.iter().find(|r| r.id == running.id).unwrap();
    assert_eq!(
        ended.status,
        SyncStatus::Cancelled,
        "shutdown records cancelled"
    );
    assert!(runs.iter().all(|r| r.status != SyncStatus::Running));
}

#[tokio::test]
async fn reconcile_imports_late_uploads_of_any_age_and_flags_deletions() {
    let h = Harness::new(300).await;
    h.connect().await;
    h.core
        .sync(STRAVA, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    // A watch synced months late, and an activity deleted at Strava.
    let late = h.sandbox.anchor() - Duration::days(200);
    h.control("upload", serde_json::json!({"start": late}))
        .await;
    h.control("delete", serde_json::json!({"index": 10})).await;
    let incremental = h
        .core
        .sync(STRAVA, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(
        incremental.counters.created, 0,
        "an incremental run reads only the overlap window"
    );
    let reconcile = h
        .core
        .sync(STRAVA, SyncTrigger::Scheduled, SyncMode::Full)
        .await
        .unwrap();
    assert_eq!(reconcile.status, SyncStatus::Success);
    assert_eq!(
        (reconcile.counters.created, reconcile.counters.deleted),
        (1, 1),
        "the late upload imported, the deleted one flagged"
    );
    let all = h.core.list_activities(Some(STRAVA), 1000, 0).await.unwrap();
    assert_eq!(all.len(), 301, "nothing is dropped");
    let flagged: Vec<_> = all.iter().filter(|a| a.deleted_at.is_some()).collect();
    assert_eq!(flagged.len(), 1);
    let again = h
        .core
        .sync(STRAVA, SyncTrigger::Scheduled, SyncMode::Full)
        .await
        .unwrap();
    assert_eq!(again.counters.deleted, 0, "flagged once, not on every pass");
}

#[tokio::test]
async fn an_edit_outside_the_overlap_is_applied_by_the_reconcile() {
    let h = Harness::new(300).await;
    h.connect().await;
    h.core
        .sync(STRAVA, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    // An activity from long ago renamed at Strava: far outside an incremental run's overlap.
    h.control("edit", serde_json::json!({"index": 10})).await;
    let edited = |all: &[tributary_core::domain::Activity]| {
        all.iter()
            .filter(|a| a.data.name.as_deref().is_some_and(|n| n.contains("edited")))
            .count()
    };
    let incremental = h
        .core
        .sync(STRAVA, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(
        incremental.counters.updated, 0,
        "the overlap does not reach it"
    );
    let all = h.core.list_activities(Some(STRAVA), 1000, 0).await.unwrap();
    assert_eq!(edited(&all), 0);
    let reconcile = h
        .core
        .sync(STRAVA, SyncTrigger::Scheduled, SyncMode::Full)
        .await
        .unwrap();
    assert_eq!(
        (
            reconcile.counters.created,
            reconcile.counters.updated,
            reconcile.counters.deleted
        ),
        (0, 1, 0),
        "the reconcile applies the old edit, and only it"
    );
    let all = h.core.list_activities(Some(STRAVA), 1000, 0).await.unwrap();
    assert_eq!((all.len(), edited(&all)), (300, 1));
}

#[tokio::test]
async fn the_scheduler_reconciles_daily_on_its_own() {
    let h = Harness::new(50).await;
    h.connect().await;
    h.core
        .sync(STRAVA, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    h.control(
        "upload",
        serde_json::json!({"start": h.sandbox.anchor() - Duration::days(400)}),
    )
    .await;
    let scheduler = h.core.start_scheduler(SchedulerSettings {
        // Everything is "a day old" at once: the next pass is a reconcile.
        reconcile_every: StdDuration::from_millis(1),
        ..fast(60_000)
    });
    eventually(
        20,
        "a scheduled reconcile importing the old upload",
        async || {
            let runs = h.core.sync_history(STRAVA, 10, 0).await.unwrap();
            runs.iter()
                .any(|r| r.trigger == SyncTrigger::Startup && r.counters.created == 1)
                .then_some(())
        },
    )
    .await;
    scheduler.shutdown().await;
    assert_eq!(
        h.core
            .list_activities(Some(STRAVA), 1000, 0)
            .await
            .unwrap()
            .len(),
        51
    );
}

/// How many `SchedulerChanged` events the harness has seen.
fn scheduler_changes(h: &Harness) -> usize {
    h.events
        .events()
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                tributary_core::events::CoreEvent::SchedulerChanged { .. }
            )
        })
        .count()
}

/// A scripted Strava whose history never ends: slow pages, each with a next cursor.
fn endless_backfill(provider: &Scripted) {
    provider.on_list(|_, n| {
        Box::pin(async move {
            tokio::time::sleep(StdDuration::from_millis(100)).await;
            Ok(page(
                vec![activity(
                    &format!("a{n}"),
                    Utc::now() - Duration::days(n as i64),
                )],
                Some(&format!("c{}", n + 1)),
            ))
        })
    });
}

#[tokio::test]
async fn the_scheduler_is_idle_while_a_backfill_runs() {
    // Issue 14, defect 1: a due connection whose run is still going kept the loop at 20 Hz,
    // announcing a "change" on every look.
    let provider = Scripted::new(STRAVA, strava::capabilities());
    let h = Harness::scripted(Arc::new(SystemClock), vec![provider.clone()]).await;
    h.connect_scripted(STRAVA).await;
    endless_backfill(&provider);
    let scheduler = h.core.start_scheduler(fast(60_000));
    eventually(10, "the backfill under way", async || {
        (provider.list_calls.load(Ordering::SeqCst) >= 2).then_some(())
    })
    .await;
    let (looks, changes) = (scheduler.looks(), scheduler_changes(&h));
    tokio::time::sleep(StdDuration::from_millis(1500)).await;
    assert!(
        scheduler.looks() - looks <= 1,
        "no looks while the only due connection is running: {} in 1.5 s",
        scheduler.looks() - looks
    );
    assert!(
        scheduler_changes(&h) - changes <= 1,
        "nothing changed, nothing announced: {} events",
        scheduler_changes(&h) - changes
    );
    scheduler.shutdown().await;
}

#[tokio::test]
async fn a_saved_pause_holds_the_agent_quietly_and_a_resume_wakes_it() {
    // Issue 14, defect 1 (started paused, the loop spun and announced a change on every look)
    // and the structure: the core honours the saved pause, whichever front end saved it.
    let provider = Scripted::new(STRAVA, strava::capabilities());
    let h = Harness::scripted(Arc::new(SystemClock), vec![provider.clone()]).await;
    h.connect_scripted(STRAVA).await;
    provider.on_list(|_, n| {
        Box::pin(async move { Ok(page(vec![activity(&format!("a{n}"), Utc::now())], None)) })
    });
    let pause = |paused| tributary_core::settings::SettingsPatch {
        paused: Some(paused),
        ..Default::default()
    };
    h.core.update_settings(&pause(true)).await.unwrap();
    let scheduler = h
        .core
        .start_agent(tributary_core::scheduler::AgentOptions {
            interval: Some(StdDuration::from_secs(1)),
            ..Default::default()
        })
        .unwrap();
    tokio::time::sleep(StdDuration::from_millis(1500)).await;
    assert_eq!(
        provider.list_calls.load(Ordering::SeqCst),
        0,
        "paused: no run"
    );
    assert!(scheduler.is_paused());
    assert!(
        scheduler.looks() <= 2,
        "one look, then quiet until resumed: {} looks",
        scheduler.looks()
    );
    assert!(
        scheduler_changes(&h) <= 1,
        "{} announcements",
        scheduler_changes(&h)
    );
    h.core.update_settings(&pause(false)).await.unwrap();
    let runs = eventually(5, "a run soon after resuming", async || {
        let runs = h.core.sync_history(STRAVA, 10, 0).await.unwrap();
        (!runs.is_empty()).then_some(runs)
    })
    .await;
    assert_eq!(
        runs[0].trigger,
        SyncTrigger::Scheduled,
        "a resume runs what is due, not a start-up pass"
    );
    assert!(
        h.core
            .start_agent(tributary_core::scheduler::AgentOptions {
                interval: Some(StdDuration::from_millis(10)),
                ..Default::default()
            })
            .is_err_and(|e| e.code() == ErrorCode::Validation),
        "a busy-loop interval is refused"
    );
    scheduler.shutdown().await;
}

#[tokio::test]
async fn a_cancelled_backfill_stays_cancelled() {
    // Issue 14, defect 2: a cancelled run is not a failure, the walk was pending, and the
    // scheduler resumed it within 50 ms.
    let provider = Scripted::new(STRAVA, strava::capabilities());
    let h = Harness::scripted(Arc::new(SystemClock), vec![provider.clone()]).await;
    h.connect_scripted(STRAVA).await;
    endless_backfill(&provider);
    let scheduler = h.core.start_scheduler(fast(60_000));
    eventually(10, "the backfill under way", async || {
        (provider.list_calls.load(Ordering::SeqCst) >= 2).then_some(())
    })
    .await;
    assert!(h.core.cancel_sync(STRAVA).await);
    tokio::time::sleep(StdDuration::from_millis(1000)).await;
    let runs = h.core.sync_history(STRAVA, 10, 0).await.unwrap();
    assert_eq!(
        runs.iter().map(|r| r.status).collect::<Vec<_>>(),
        [SyncStatus::Cancelled],
        "the athlete's cancel is not undone"
    );
    scheduler.shutdown().await;
}

#[tokio::test]
async fn a_run_stamped_in_the_future_does_not_hold_back_the_schedule() {
    // Issue 14, defect 5: a run stamped by a clock that was ahead stayed "the latest" and the
    // next scheduled run waited until real time passed it.
    let provider = Scripted::new(STRAVA, strava::capabilities());
    let h = Harness::scripted(Arc::new(SystemClock), vec![provider.clone()]).await;
    let connection = h.connect_scripted(STRAVA).await;
    let ahead = (Utc::now() + Duration::days(30)).timestamp_millis();
    let stamped: i64 = sqlx::query_scalar(
        "INSERT INTO sync_history (connection_id, trigger, status, started_at, completed_at,
                                   heartbeat_at)
         VALUES (?1, 'manual', 'success', ?2, ?2, ?2) RETURNING id",
    )
    .bind(connection.id)
    .bind(ahead)
    .fetch_one(h.core.store().pool())
    .await
    .unwrap();
    let scheduler = h.core.start_scheduler(SchedulerSettings {
        startup_run: false,
        ..fast(300)
    });
    let runs = eventually(10, "a scheduled run", async || {
        let runs = h.core.sync_history(STRAVA, 10, 0).await.unwrap();
        (runs.len() >= 2).then_some(runs)
    })
    .await;
    assert_ne!(
        runs[0].id, stamped,
        "the history lists the new run first, whatever the old one's stamp"
    );
    assert_eq!(runs[0].trigger, SyncTrigger::Scheduled);
    scheduler.shutdown().await;
}
