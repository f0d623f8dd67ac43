//! COROS' particular rules, against its twin.

use crate::harness::{Harness, config};
use std::sync::Arc;
use tributary_core::clock::SystemClock;
use tributary_core::domain::{ConnectionState, ProviderKind, SyncStatus, SyncTrigger};
use tributary_core::sync::SyncMode;
use tributary_core::{Core, Deps};

const COROS: ProviderKind = ProviderKind::Coros;

#[tokio::test]
async fn a_first_sync_splits_three_months_into_30_day_windows() {
    let h = Harness::new(400).await;
    h.connect_to(COROS).await;
    let run = h
        .core
        .sync(COROS, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Success, "{:?}", run.error_message);
    assert_eq!(
        run.api_calls, 3,
        "90 days = three windows the twin accepts (it refuses longer ones)"
    );
    let again = h
        .core
        .sync(COROS, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert!(
        again.api_calls < run.api_calls,
        "an incremental run asks only from the overlap window on"
    );
    assert_eq!(again.counters.created, 0);
}

#[tokio::test]
async fn an_error_inside_http_200_is_not_success() {
    let h = Harness::new(100).await;
    let c = h.connect_to(COROS).await;
    // A wrong openId: the twin answers HTTP 200 with result 1005.
    sqlx::query("UPDATE provider_connections SET provider_user_id = 'someone-else' WHERE id = ?1")
        .bind(c.id)
        .execute(h.core.store().pool())
        .await
        .unwrap();
    let run = h
        .core
        .sync(COROS, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Failed);
    assert!(
        run.error_message
            .as_deref()
            .unwrap()
            .contains("COROS error 1005"),
        "{:?}",
        run.error_message
    );
    assert_eq!(run.counters.fetched, 0);
    assert_eq!(
        h.core
            .get_connection_by_provider(COROS)
            .await
            .unwrap()
            .state,
        ConnectionState::Error
    );
}

#[tokio::test]
async fn refresh_extends_the_same_token_and_a_dead_one_needs_reauth() {
    let h = Harness::new(100).await;
    h.connect_to(COROS).await;
    let before = h.stored_secret_values().await;
    h.control("expire_tokens", serde_json::json!({})).await;
    let run = h
        .core
        .sync(COROS, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Success, "{:?}", run.error_message);
    let token = |blob: &str| {
        serde_json::from_str::<serde_json::Value>(blob).unwrap()["access_token"].clone()
    };
    assert_eq!(
        token(&h.stored_secret_values().await[0]),
        token(&before[0]),
        "COROS extends, it does not rotate"
    );
    h.fault_on("coros", "revoke", 1).await;
    h.core
        .sync(COROS, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(
        h.core
            .get_connection_by_provider(COROS)
            .await
            .unwrap()
            .state,
        ConnectionState::NeedsReauth,
        "result 5001 under HTTP 200"
    );
}

#[tokio::test]
async fn a_token_in_the_query_string_never_reaches_the_run_history() {
    let h = Harness::new(20).await;
    h.connect_to(COROS).await;
    let stored = h.stored_secret_values().await;
    let access = serde_json::from_str::<serde_json::Value>(&stored[0]).unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // The same data directory, with the COROS API unreachable (a closed loopback port).
    let mut cfg = config(h.dir.path(), &h.sandbox);
    let mut settings = cfg.provider(COROS);
    settings.api_url = Some("http://127.0.0.1:9/coros".parse().unwrap());
    cfg.providers.insert(COROS, settings);
    let deps = Deps {
        secrets: h.secrets.clone(),
        clock: Arc::new(SystemClock),
        events: h.events.clone(),
    };
    let core = Core::open(cfg, deps).await.unwrap();
    let run = core
        .sync(COROS, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Failed);
    let message = run.error_message.unwrap();
    assert!(message.contains("could not reach coros"), "{message}");
    assert!(
        !message.contains(&access),
        "the URL (with its token) is stripped from errors: {message}"
    );
}
