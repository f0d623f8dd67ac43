//! What the tray agent builds on: attention episodes (one notification per episode), the one-call
//! dashboard, settings, and progress with an estimate.

use crate::harness::{Harness, STRAVA};
use chrono::Utc;
use tributary_core::attention::AttentionKind;
use tributary_core::domain::{ConnectionState, SyncStatus, SyncTrigger};
use tributary_core::events::CoreEvent;
use tributary_core::settings::SettingsPatch;
use tributary_core::sync::SyncMode;

const MANUAL: SyncTrigger = SyncTrigger::Manual;

fn attention(h: &Harness) -> Vec<(tributary_core::domain::ProviderKind, AttentionKind)> {
    h.events
        .events()
        .into_iter()
        .filter_map(|e| match e {
            CoreEvent::Attention { attention } => Some((attention.provider, attention.kind)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_needs_reauth_episode_is_announced_once_and_closes_on_reconnect() {
    let h = Harness::new(20).await;
    h.connect().await;
    h.fault("revoke", 1).await;
    for _ in 0..3 {
        // Every scheduled attempt meets the same revoked token (runs are refused once the
        // connection needs the athlete, so these are manual retries).
        let _ = h.core.sync(STRAVA, MANUAL, SyncMode::Incremental).await;
    }
    assert_eq!(
        attention(&h),
        [(STRAVA, AttentionKind::NeedsReauth)],
        "one notification for the episode, not one per run"
    );
    let dashboard = h.core.dashboard().await.unwrap();
    assert_eq!(dashboard.attention.len(), 1);
    h.connect().await;
    assert!(
        h.core.dashboard().await.unwrap().attention.is_empty(),
        "reconnecting closes the episode"
    );
    h.fault("revoke", 1).await;
    let _ = h.core.sync(STRAVA, MANUAL, SyncMode::Incremental).await;
    assert_eq!(
        attention(&h).len(),
        2,
        "a new episode after it closed is announced again"
    );
}

#[tokio::test]
async fn repeated_failures_are_announced_after_three_but_offline_and_limits_never() {
    let h = Harness::new(20).await;
    h.connect().await;
    for _ in 0..2 {
        h.fault("500", 3).await;
        h.core
            .sync(STRAVA, MANUAL, SyncMode::Incremental)
            .await
            .unwrap();
    }
    assert!(
        attention(&h).is_empty(),
        "two failures are not yet a pattern"
    );
    h.fault("500", 3).await;
    h.core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(attention(&h), [(STRAVA, AttentionKind::RepeatedFailures)]);
    h.fault("500", 3).await;
    h.core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(attention(&h).len(), 1, "still the same episode");
    assert_eq!(
        h.core
            .sync(STRAVA, MANUAL, SyncMode::Incremental)
            .await
            .unwrap()
            .status,
        SyncStatus::Success
    );
    assert!(
        h.core.dashboard().await.unwrap().attention.is_empty(),
        "a success closes it"
    );

    // Rate limits are waits, not failures to report.
    let other = Harness::new(20).await;
    other.connect().await;
    for _ in 0..4 {
        other.fault("429", 1).await;
        other
            .core
            .sync(STRAVA, MANUAL, SyncMode::Incremental)
            .await
            .unwrap();
        sqlx::query("UPDATE provider_connections SET rate_limited_until = NULL, state = 'active'")
            .execute(other.core.store().pool())
            .await
            .unwrap();
        sqlx::query("UPDATE provider_budgets SET resets_at = 0")
            .execute(other.core.store().pool())
            .await
            .unwrap();
    }
    assert!(
        attention(&other).is_empty(),
        "no notification spam while rate-limited"
    );
}

#[tokio::test]
async fn no_network_is_never_announced_as_repeated_failures() {
    // The half of the rule the test above could not reach: runs that fail because the provider
    // cannot be reached (`network`) are not a pattern to notify about.
    use std::sync::Arc;
    use tributary_core::clock::SystemClock;
    use tributary_core::{Core, Deps, ErrorCode};
    let h = Harness::new(20).await;
    h.connect().await;
    // The same data directory, with Strava's API unreachable (a closed loopback port).
    let mut cfg = crate::harness::config(h.dir.path(), &h.sandbox);
    let mut settings = cfg.provider(STRAVA);
    settings.api_url = Some("http://127.0.0.1:9/strava/api/v3".parse().unwrap());
    cfg.providers.insert(STRAVA, settings);
    let deps = Deps {
        secrets: h.secrets.clone(),
        clock: Arc::new(SystemClock),
        events: h.events.clone(),
    };
    let core = Core::open(cfg, deps).await.unwrap();
    for _ in 0..4 {
        let run = core
            .sync(STRAVA, MANUAL, SyncMode::Incremental)
            .await
            .unwrap();
        assert_eq!(
            (run.status, run.error_code),
            (SyncStatus::Failed, Some(ErrorCode::Network))
        );
    }
    assert!(attention(&h).is_empty(), "no notification while offline");
    assert!(core.dashboard().await.unwrap().attention.is_empty());
}

#[tokio::test]
async fn a_long_first_import_says_it_finished_once() {
    let h = Harness::new(600).await;
    h.connect().await;
    h.core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(attention(&h), [(STRAVA, AttentionKind::BackfillFinished)]);
    h.core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(attention(&h).len(), 1, "said once");
}

#[tokio::test]
async fn the_dashboard_is_one_call_with_each_card_and_its_latest_run() {
    let h = Harness::new(30).await;
    for p in [STRAVA, tributary_core::domain::ProviderKind::Wahoo] {
        h.connect_to(p).await;
        h.core.sync(p, MANUAL, SyncMode::Incremental).await.unwrap();
    }
    let d = h.core.dashboard().await.unwrap();
    assert_eq!(d.providers.len(), 6);
    assert_eq!(d.cards.len(), 2);
    for card in &d.cards {
        let run = card.latest_run.as_ref().expect("its latest run");
        assert_eq!(run.connection_id, card.connection.id);
        assert_eq!(run.counters.created, 30);
    }
    assert_eq!(
        (d.summary.total_connections, d.summary.total_activities),
        (2, 60)
    );
    assert!(d.scheduler.is_none(), "no scheduler runs here");
    assert_eq!(
        d.summary
            .connections
            .iter()
            .map(|c| c.activities)
            .sum::<i64>(),
        60
    );
}

#[tokio::test]
async fn settings_round_trip_refuse_nonsense_and_keep_unknown_fields() {
    let h = Harness::new(0).await;
    let defaults = h.core.settings().await.unwrap();
    assert_eq!(
        (defaults.sync_interval_seconds, defaults.paused),
        (3600, false)
    );
    let patched = h
        .core
        .update_settings(&SettingsPatch {
            sync_interval_seconds: Some(900),
            paused: Some(true),
            ..SettingsPatch::default()
        })
        .await
        .unwrap();
    assert_eq!((patched.sync_interval_seconds, patched.paused), (900, true));
    assert_eq!(h.core.settings().await.unwrap(), patched, "saved");
    let refused = h
        .core
        .update_settings(&SettingsPatch {
            sync_interval_seconds: Some(0),
            ..SettingsPatch::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tributary_core::ErrorCode::Validation);
    assert_eq!(
        h.core.settings().await.unwrap(),
        patched,
        "a refused change changes nothing"
    );
    // A newer version's field survives an older version's update.
    sqlx::query("UPDATE settings SET value = json_set(value, '$.from_the_future', 42)")
        .execute(h.core.store().pool())
        .await
        .unwrap();
    h.core
        .update_settings(&SettingsPatch {
            notifications: Some(false),
            ..SettingsPatch::default()
        })
        .await
        .unwrap();
    let kept: i64 = sqlx::query_scalar("SELECT value ->> '$.from_the_future' FROM settings")
        .fetch_one(h.core.store().pool())
        .await
        .unwrap();
    assert_eq!(kept, 42);
}

#[tokio::test]
async fn a_backfill_reports_what_is_left_and_when_the_budget_lets_it_continue() {
    let h = Harness::new(1000).await;
    h.connect().await;
    // Two requests left in this 15-minute window: the five-page walk cannot finish in it.
    h.control("budget", serde_json::json!({"short": 2, "daily": 1000}))
        .await;
    let run = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Partial, "{:?}", run.error_message);
    let estimate = h
        .events
        .events()
        .into_iter()
        .find_map(|e| match e {
            CoreEvent::SyncProgress { estimate, .. } => estimate,
            _ => None,
        })
        .expect("an estimate once the first page is read");
    // 1,000 activities, 200 a page: four pages are left after the first. The estimate reads
    // Strava's progress as the share of the time span walked (the sandbox's history is uneven in
    // time, so it says more), but never as good as done.
    assert!(estimate.remaining_pages >= 2, "{estimate:?}");
    let continues = estimate
        .continues_at
        .expect("when the window lets it continue");
    assert!(
        continues > Utc::now() && continues.timestamp() % 900 == 0,
        "{estimate:?}"
    );
    assert_eq!(estimate.window.as_deref(), Some("15 min"));
    assert!(
        estimate.eta_seconds >= (continues - Utc::now()).num_seconds() - 5,
        "the estimate includes the wait for the window: {estimate:?}"
    );
    let c = h.core.get_connection_by_provider(STRAVA).await.unwrap();
    assert_eq!(c.state, ConnectionState::RateLimited);
}
