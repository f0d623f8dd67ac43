//! The same life for every provider against its sandbox twin: connect → sync → re-sync creates
//! nothing → an outage fails a run → the next run recovers → disconnect revokes at the provider
//! (or, for a door with no revoke API, says where the athlete does it) and wipes the keyring.

use crate::harness::Harness;
use tributary_core::domain::{ConnectionState, ProviderKind, SyncStatus, SyncTrigger};
use tributary_core::sync::SyncMode;

/// Workouts uploaded after connecting Polar (it lists nothing older than the registration).
const POLAR_UPLOADS: i64 = 3;

/// Activities the twin serves for a data set of `count` (some providers only serve a window).
fn served(provider: ProviderKind, h: &Harness, count: usize) -> i64 {
    let all = tributary_sandbox::generate::workouts(count, 42, 3, h.sandbox.anchor());
    let now = chrono::Utc::now();
    let today = now.date_naive();
    let door = h
        .core
        .registry()
        .get(provider)
        .unwrap()
        .capabilities()
        .door
        .id;
    match provider {
        // AccessLink v3: only what reached Polar after the athlete registered: the uploads
        // `life` makes.
        ProviderKind::Polar if door == "v3" => POLAR_UPLOADS,
        // v4: the whole history, and those uploads.
        ProviderKind::Polar => all.len() as i64 + POLAR_UPLOADS,
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
    life_of(provider, Harness::new(400).await).await;
}

async fn life_of(provider: ProviderKind, h: Harness) {
    let expected = served(provider, &h, 400);
    assert!(expected > 0, "{provider}: the twin serves something");
    let connection = h.connect_to(provider).await;
    assert_eq!(connection.state, ConnectionState::Active, "{provider}");
    // Polar's v4 token answer names no user (its reference); every other door does.
    let door = h.core.registry().get(provider).unwrap().capabilities().door;
    assert_eq!(
        connection.provider_user_id.is_some(),
        door.id != "v4",
        "{provider}: the user id is known where the provider tells it"
    );
    if provider == ProviderKind::Polar {
        for hours in 1..=POLAR_UPLOADS {
            let start = chrono::Utc::now() - chrono::Duration::hours(hours * 3);
            h.control("upload", serde_json::json!({ "start": start }))
                .await;
        }
    }

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

    survive_every_fault(&h, provider, expected).await;

    let door = h.core.registry().get(provider).unwrap().capabilities().door;
    let gone = h.core.disconnect(provider, false).await.unwrap();
    assert!(
        h.secrets.keys().is_empty(),
        "{provider}: keyring entries gone"
    );
    let state = h.sandbox_state().await;
    match door.revoke_by_hand {
        // No revoke API (Polar v4): the truth, and where the athlete does it.
        Some(place) => {
            assert!(!gone.revoked_at_provider, "{provider}");
            assert!(
                gone.revoke_by_hand
                    .as_deref()
                    .is_some_and(|t| t.contains(place)),
                "{provider}: {:?}",
                gone.revoke_by_hand
            );
            assert_ne!(
                state["live_access_tokens"], 0,
                "{provider}: the grant lives on at the provider, as the app says"
            );
        }
        None => {
            assert!(
                gone.revoked_at_provider,
                "{provider}: {:?}",
                gone.revoke_error
            );
            assert_eq!(
                state["live_access_tokens"], 0,
                "{provider}: revoked at the provider"
            );
        }
    }
}

/// Each injected fault ends the run honestly, and the next run recovers with nothing lost or
/// doubled.
async fn survive_every_fault(h: &Harness, provider: ProviderKind, expected: i64) {
    let p = provider.as_str();
    let stored = || async {
        h.core
            .list_activities(Some(provider), 1000, 0)
            .await
            .unwrap()
            .len() as i64
    };
    // Incremental: the fault lands on the listing call (a full Garmin run asks for a backfill first).
    let sync = || {
        h.core
            .sync(provider, SyncTrigger::Manual, SyncMode::Incremental)
    };

    // 429: the run stops, the connection waits for the window instead of retrying.
    h.fault_on(p, "429", 1).await;
    let limited = sync().await.unwrap();
    assert!(
        matches!(limited.status, SyncStatus::Failed | SyncStatus::Partial),
        "{p}: 429 is not success"
    );
    let c = h.core.get_connection_by_provider(provider).await.unwrap();
    assert_eq!(c.state, ConnectionState::RateLimited, "{p}");
    assert!(
        c.rate_limited_until.is_some(),
        "{p}: says when it continues"
    );
    // The window passes (the store is moved on rather than the test waiting minutes): the
    // connection's horizon and the provider's remembered budget both.
    sqlx::query("UPDATE provider_connections SET rate_limited_until = 0 WHERE id = ?1")
        .bind(c.id)
        .execute(h.core.store().pool())
        .await
        .unwrap();
    sqlx::query("UPDATE provider_budgets SET resets_at = 0")
        .execute(h.core.store().pool())
        .await
        .unwrap();

    for kind in ["malformed", "truncated"] {
        h.fault_on(p, kind, 1).await;
        let run = sync().await.unwrap();
        assert_eq!(run.status, SyncStatus::Failed, "{p}/{kind}");
        assert!(
            run.error_message
                .as_deref()
                .unwrap_or("")
                .contains("malformed"),
            "{p}/{kind}: {:?}",
            run.error_message
        );
    }
    h.fault_on(p, "bad_record", 1).await;
    let partial = sync().await.unwrap();
    assert_eq!(
        (partial.status, partial.counters.failed),
        (SyncStatus::Partial, 1),
        "{p}: one unreadable record"
    );
    assert!(partial.counters.is_balanced(), "{p}");

    let recovered = sync().await.unwrap();
    assert_eq!(
        recovered.status,
        SyncStatus::Success,
        "{p}: {:?}",
        recovered.error_message
    );
    assert_eq!(
        stored().await,
        expected,
        "{p}: after every fault, nothing lost or doubled"
    );

    // A revoked token: the athlete is asked to connect again, and that fixes it.
    h.fault_on(p, "revoke", 1).await;
    sync().await.unwrap();
    assert_eq!(
        h.core
            .get_connection_by_provider(provider)
            .await
            .unwrap()
            .state,
        ConnectionState::NeedsReauth,
        "{p}"
    );
    h.connect_to(provider).await;
    assert_eq!(
        sync().await.unwrap().status,
        SyncStatus::Success,
        "{p}: reconnected"
    );
    assert_eq!(stored().await, expected, "{p}");
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
async fn polar_v3_lives_a_full_life() {
    life_of(ProviderKind::Polar, Harness::polar_v3(400).await).await;
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
