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
