//! Garmin's Personal API door (an athlete's own key) against its twin.

use crate::harness::Harness;
use tributary_core::ErrorCode;
use tributary_core::domain::{ConnectionState, ProviderKind, SyncStatus, SyncTrigger};
use tributary_core::secrets::Sensitive;
use tributary_core::sync::SyncMode;
use tributary_sandbox::garmin_personal::{DEMO_KEY, EXPIRED_KEY};

const GARMIN: ProviderKind = ProviderKind::Garmin;

fn key(text: &str) -> Sensitive<String> {
    Sensitive::new(text.to_owned())
}

#[tokio::test]
async fn a_personal_key_connects_and_the_whole_history_is_pulled() {
    let h = Harness::garmin_personal(120).await;
    let info = h.core.available_providers().await.unwrap();
    let garmin = info.iter().find(|p| p.provider == GARMIN).unwrap();
    assert_eq!(
        garmin.capabilities.sign_in,
        tributary_core::providers::SignIn::PersonalKey
    );
    assert!(garmin.credentials_configured, "no client app to register");
    let expires = chrono::Utc::now().date_naive() + chrono::Duration::days(90);
    let connected = h
        .core
        .connect_with_key(GARMIN, &key(DEMO_KEY), Some(expires))
        .await
        .unwrap();
    let c = connected.connection;
    assert_eq!(c.state, ConnectionState::Active);
    assert_eq!(
        c.provider_user_id.as_deref(),
        Some("77001234"),
        "the owner id"
    );
    assert_eq!(
        c.provider_profile.as_ref().unwrap()["key_expires_on"],
        expires.to_string(),
        "the key's expiry, as the athlete gave it"
    );
    let run = h
        .core
        .sync(GARMIN, SyncTrigger::AfterConnect, SyncMode::Full)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Success, "{:?}", run.error_message);
    let listed = h.sandbox.garmin_personal_truth().len() as i64;
    assert_eq!(listed, 120, "the whole history (three years), not 30 days");
    assert_eq!(run.counters.created, listed);
    // Pages of 20: the service fails pages over 45.
    assert_eq!(run.api_calls, 120 / 20 + 1);
    // The key (and the token it buys) is in the keyring, never in the database: not in the main
    // file, and not in its write-ahead log, where the latest writes sit until a checkpoint.
    let mut secrets = vec![DEMO_KEY.to_owned()];
    for blob in h.stored_secret_values().await {
        let v: serde_json::Value = serde_json::from_str(&blob).unwrap();
        secrets.extend(
            ["access_token", "refresh_token"]
                .iter()
                .filter_map(|k| v[k].as_str().map(str::to_owned)),
        );
    }
    assert!(secrets.len() >= 2, "the access token is among the secrets");
    let db = h.dir.path().join("tributary.db");
    let wal = h.dir.path().join("tributary.db-wal");
    assert!(
        wal.exists(),
        "the database runs in WAL mode: its log is scanned too"
    );
    let mut bytes = Vec::new();
    for path in [db, wal, h.dir.path().join("tributary.db-shm")] {
        if path.exists() {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    for secret in &secrets {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a secret ({} bytes) is in the database or its WAL",
            secret.len()
        );
    }
}

#[tokio::test]
async fn an_expired_token_is_renewed_from_the_key_and_a_refused_key_asks_for_a_new_one() {
    let h = Harness::garmin_personal(20).await;
    h.core
        .connect_with_key(GARMIN, &key(DEMO_KEY), None)
        .await
        .unwrap();
    // The day-long token runs out: the next sync exchanges the key again, silently.
    h.control("expire_tokens", serde_json::json!({"provider": "garmin"}))
        .await;
    let run = h
        .core
        .sync(GARMIN, SyncTrigger::Manual, SyncMode::Full)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Success, "{:?}", run.error_message);
    // A refused key: connecting with it changes nothing and says what to do.
    let h = Harness::garmin_personal(5).await;
    let refused = h
        .core
        .connect_with_key(GARMIN, &key(EXPIRED_KEY), None)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::NeedsReauth);
    assert!(
        refused.to_string().contains("create a new one"),
        "{refused}"
    );
    assert!(h.core.list_connections().await.unwrap().is_empty());
    for garbage in ["", "two words", &"k".repeat(5000)] {
        let bad = h
            .core
            .connect_with_key(GARMIN, &key(garbage), None)
            .await
            .unwrap_err();
        assert_eq!(bad.code(), ErrorCode::Validation, "{garbage:.20}");
    }
    assert!(h.stored_secret_values().await.is_empty(), "nothing kept");
}

#[tokio::test]
async fn a_burst_answered_429_waits_for_retry_after_and_disconnect_says_how_to_revoke() {
    let h = Harness::garmin_personal(60).await;
    h.core
        .connect_with_key(GARMIN, &key(DEMO_KEY), None)
        .await
        .unwrap();
    h.fault_on("garmin", "429", 1).await;
    let before = chrono::Utc::now();
    let limited = h
        .core
        .sync(GARMIN, SyncTrigger::Manual, SyncMode::Full)
        .await
        .unwrap();
    assert_eq!(
        limited.status,
        SyncStatus::Partial,
        "{:?}",
        limited.error_message
    );
    let c = h.core.get_connection_by_provider(GARMIN).await.unwrap();
    assert_eq!(c.state, ConnectionState::RateLimited);
    let until = c.rate_limited_until.unwrap();
    let wait = (until - before).num_seconds();
    assert!(
        (13..=16).contains(&wait),
        "Retry-After: 14 s, not a guess ({wait} s)"
    );
    // A browser-door call on a key provider, and a key on a browser provider, are refused.
    let wrong = h
        .core
        .connect_with_key(ProviderKind::Strava, &key(DEMO_KEY), None)
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), ErrorCode::Validation);
    // No revocation API: the disconnect says so and where to delete the key, and reports no
    // failure (nothing was tried).
    let gone = h.core.disconnect(GARMIN, false).await.unwrap();
    assert!(!gone.revoked_at_provider);
    assert_eq!(gone.revoke_error, None);
    assert!(
        gone.revoke_by_hand
            .as_deref()
            .is_some_and(|e| e.contains("connect.garmin.com")),
        "{:?}",
        gone.revoke_by_hand
    );
    assert!(
        h.stored_secret_values().await.is_empty(),
        "the key is wiped"
    );
}

#[tokio::test]
async fn a_key_that_runs_out_within_a_week_is_announced_once_and_clears_with_a_new_key() {
    use tributary_core::attention::AttentionKind;
    use tributary_core::events::CoreEvent;
    let h = Harness::garmin_personal(10).await;
    let soon = chrono::Utc::now().date_naive() + chrono::Duration::days(5);
    h.core
        .connect_with_key(GARMIN, &key(DEMO_KEY), Some(soon))
        .await
        .unwrap();
    for _ in 0..2 {
        h.core
            .sync(GARMIN, SyncTrigger::Manual, SyncMode::Incremental)
            .await
            .unwrap();
    }
    let announced = |h: &Harness| {
        h.events
            .events()
            .iter()
            .filter(|e| matches!(e, CoreEvent::Attention { attention } if attention.kind == AttentionKind::KeyExpiring))
            .count()
    };
    assert_eq!(announced(&h), 1, "once for the episode, not once per run");
    let open = h.core.dashboard().await.unwrap().attention;
    assert!(open.iter().any(|a| a.kind == AttentionKind::KeyExpiring));
    // A new key, good for months: the episode closes.
    let later = chrono::Utc::now().date_naive() + chrono::Duration::days(200);
    h.core
        .connect_with_key(GARMIN, &key(DEMO_KEY), Some(later))
        .await
        .unwrap();
    let open = h.core.dashboard().await.unwrap().attention;
    assert!(
        !open.iter().any(|a| a.kind == AttentionKind::KeyExpiring),
        "{open:?}"
    );
}
