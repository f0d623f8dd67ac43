//! The providers' doors as they stand in late 2026: Strava's inactive applications.

use crate::harness::Harness;
use tributary_core::ErrorCode;
use tributary_core::domain::{
    AttentionKind, ConnectionState, ProviderKind, SyncStatus, SyncTrigger,
};
use tributary_core::events::CoreEvent;
use tributary_core::sync::SyncMode;

fn inactive_notices(h: &Harness) -> usize {
    h.events
        .events()
        .iter()
        .filter(|e| {
            matches!(e, CoreEvent::Attention { attention } if attention.kind == AttentionKind::AppInactive)
        })
        .count()
}

#[tokio::test]
async fn an_inactive_strava_application_is_said_plainly_never_asks_to_sign_in_and_clears() {
    let h = Harness::new(20).await;
    h.connect_to(ProviderKind::Strava).await;
    h.control(
        "app_status",
        serde_json::json!({"provider": "strava", "active": false}),
    )
    .await;
    for _ in 0..2 {
        let run = h
            .core
            .sync(
                ProviderKind::Strava,
                SyncTrigger::Manual,
                SyncMode::Incremental,
            )
            .await
            .unwrap();
        assert_eq!(run.status, SyncStatus::Failed);
        assert_eq!(run.error_code, Some(ErrorCode::AppInactive));
    }
    let c = h
        .core
        .get_connection_by_provider(ProviderKind::Strava)
        .await
        .unwrap();
    assert_eq!(c.state, ConnectionState::AppInactive);
    let said = c.last_sync_error.unwrap_or_default();
    assert!(
        said.contains("https://www.strava.com/settings/api"),
        "{said}"
    );
    assert!(said.contains("Signing in again does not help"), "{said}");
    // Its tokens are kept: nothing was revoked or dropped, nobody is asked to sign in.
    assert!(!h.stored_secret_values().await.is_empty());
    assert!(!c.state.waits_for_athlete(), "a daily probe, not a wait");
    assert!(c.state.needs_attention());
    assert_eq!(
        inactive_notices(&h),
        1,
        "one notification for the episode, not one per run"
    );

    // Re-activated by its owner: the next run (a retry or the daily probe) clears it.
    h.control(
        "app_status",
        serde_json::json!({"provider": "strava", "active": true}),
    )
    .await;
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
    let c = h
        .core
        .get_connection_by_provider(ProviderKind::Strava)
        .await
        .unwrap();
    assert_eq!(c.state, ConnectionState::Active);
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM attention WHERE kind = 'app_inactive' AND closed_at IS NULL",
    )
    .fetch_one(h.core.store().pool())
    .await
    .unwrap();
    assert_eq!(open, 0, "the episode closed");
}

#[tokio::test]
async fn google_refusing_a_week_old_grant_says_it_is_the_testing_rule() {
    use std::sync::Arc;
    use tributary_core::clock::ManualClock;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let h = Harness::with(
        10,
        clock.clone(),
        Arc::new(tributary_core::secrets::SwitchableStore::default()),
    )
    .await;
    h.connect_to(ProviderKind::GoogleHealth).await;
    // A week later Google refuses the grant (as for every project in "Testing").
    clock.advance(chrono::Duration::days(7));
    h.fault_on("google_health", "revoke", 1).await;
    let run = h
        .core
        .sync(
            ProviderKind::GoogleHealth,
            SyncTrigger::Manual,
            SyncMode::Incremental,
        )
        .await
        .unwrap();
    assert_eq!(run.error_code, Some(ErrorCode::NeedsReauth), "{run:?}");
    let c = h
        .core
        .get_connection_by_provider(ProviderKind::GoogleHealth)
        .await
        .unwrap();
    assert_eq!(c.state, ConnectionState::NeedsReauth);
    let said = c.last_sync_error.unwrap_or_default();
    assert!(
        said.contains("after 7 days") && said.contains("Testing"),
        "{said}"
    );
}

#[tokio::test]
async fn google_refusing_a_young_grant_says_only_that_it_was_refused() {
    let h = Harness::new(10).await;
    h.connect_to(ProviderKind::GoogleHealth).await;
    h.fault_on("google_health", "revoke", 1).await;
    let run = h
        .core
        .sync(
            ProviderKind::GoogleHealth,
            SyncTrigger::Manual,
            SyncMode::Incremental,
        )
        .await
        .unwrap();
    assert_eq!(run.error_code, Some(ErrorCode::NeedsReauth), "{run:?}");
    let said = h
        .core
        .get_connection_by_provider(ProviderKind::GoogleHealth)
        .await
        .unwrap()
        .last_sync_error
        .unwrap_or_default();
    assert!(
        !said.contains("7 days"),
        "only a week-old grant is explained so: {said}"
    );
}
