//! The same life for every provider against its sandbox twin: connect → sync → re-sync creates
//! nothing → an outage fails a run → the next run recovers → disconnect revokes at the provider
//! and wipes the keyring.

use crate::harness::Harness;
use tributary_core::domain::{ConnectionState, ProviderKind, SyncStatus, SyncTrigger};
use tributary_core::sync::SyncMode;

/// Activities the twin serves for a data set of `count` (some providers only serve a window).
fn served(provider: ProviderKind, h: &Harness, count: usize) -> i64 {
    let all = tributary_sandbox::generate::workouts(count, 42, 3, h.sandbox.anchor());
    let now = chrono::Utc::now();
    let today = now.date_naive();
    match provider {
        // The last 30 days.
        ProviderKind::Polar => all
            .iter()
            .filter(|w| w.start >= now - chrono::Duration::days(30))
            .count() as i64,
        // About three months back from today, by calendar day.
        ProviderKind::Coros => {
            let floor = today - chrono::Duration::days(89);
            all.iter().filter(|w| w.start.date_naive() >= floor).count() as i64
        }
        // What a 30-day backfill (whole days, to tomorrow) made Garmin push to the inbox.
        ProviderKind::Garmin => {
            let end = today.and_hms_opt(0, 0, 0).unwrap().and_utc() + chrono::Duration::days(1);
            let start = end - chrono::Duration::days(30);
            all.iter()
                .filter(|w| w.start >= start && w.start < end)
                .count() as i64
        }
        _ => all.len() as i64,
    }
}

async fn life(provider: ProviderKind) {
    let h = Harness::new(400).await;
    let expected = served(provider, &h, 400);
    assert!(expected > 0, "{provider}: the twin serves something");
    let connection = h.connect_to(provider).await;
    assert_eq!(connection.state, ConnectionState::Active, "{provider}");
    assert!(
        connection.provider_user_id.is_some(),
        "{provider}: the user id is known"
    );

    let first = h
        .core
        .sync(provider, SyncTrigger::AfterConnect, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(
        (first.status, first.counters.created),
        (SyncStatus::Success, expected),
        "{provider}: {:?}",
        first.error_message
    );
    let again = h
        .core
        .sync(provider, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(
        (again.counters.created, again.counters.updated),
        (0, 0),
        "{provider}: idempotent"
    );
    assert_eq!(again.counters.skipped, again.counters.fetched, "{provider}");

    h.fault_on(provider.as_str(), "500", 3).await;
    let outage = h
        .core
        .sync(provider, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(outage.status, SyncStatus::Failed, "{provider}");
    assert_eq!(
        h.core
            .get_connection_by_provider(provider)
            .await
            .unwrap()
            .state,
        ConnectionState::Error
    );
    let recovered = h
        .core
        .sync(provider, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(recovered.status, SyncStatus::Success, "{provider}");
    assert_eq!(
        h.core
            .list_activities(Some(provider), 1000, 0)
            .await
            .unwrap()
            .len() as i64,
        expected,
        "{provider}: nothing lost or doubled"
    );

    let gone = h.core.disconnect(provider, false).await.unwrap();
    assert!(
        gone.revoked_at_provider,
        "{provider}: {:?}",
        gone.revoke_error
    );
    assert!(
        h.secrets.keys().is_empty(),
        "{provider}: keyring entries gone"
    );
    let state = h.sandbox_state().await;
    assert_eq!(
        state["live_access_tokens"], 0,
        "{provider}: revoked at the provider"
    );
}

#[tokio::test]
async fn strava_lives_a_full_life() {
    life(ProviderKind::Strava).await;
}

#[tokio::test]
async fn polar_lives_a_full_life() {
    life(ProviderKind::Polar).await;
}

#[tokio::test]
async fn wahoo_lives_a_full_life() {
    life(ProviderKind::Wahoo).await;
}

#[tokio::test]
async fn coros_lives_a_full_life() {
    life(ProviderKind::Coros).await;
}

#[tokio::test]
async fn google_health_lives_a_full_life() {
    life(ProviderKind::GoogleHealth).await;
}

#[tokio::test]
async fn garmin_lives_a_full_life() {
    life(ProviderKind::Garmin).await;
}
