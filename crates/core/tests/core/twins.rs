//! The adapters against twins as strict as the providers' documented contracts.

use crate::harness::Harness;
use tributary_core::domain::{ProviderKind, SyncStatus, SyncTrigger};
use tributary_core::sync::SyncMode;

#[tokio::test]
async fn a_disconnect_after_the_access_token_expired_still_revokes_or_says_it_could_not() {
    for &provider in ProviderKind::ALL {
        let h = Harness::new(5).await;
        h.connect_to(provider).await;
        // The twin lets the access token run out; the app's copy still looks fresh to it.
        h.control(
            "expire_tokens",
            serde_json::json!({ "provider": provider.as_str() }),
        )
        .await;
        let gone = h.core.disconnect(provider, false).await.unwrap();
        let live = &h.sandbox_state().await["live"][provider.as_str()];
        let refreshable = h
            .core
            .available_providers()
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.provider == provider)
            .unwrap()
            .capabilities
            .refresh
            != tributary_core::providers::RefreshStyle::None;
        if refreshable {
            assert!(
                gone.revoked_at_provider,
                "{provider}: refreshed, then revoked ({:?})",
                gone.revoke_error
            );
            assert_eq!(
                (live["access"].as_u64(), live["refresh"].as_u64()),
                (Some(0), Some(0)),
                "{provider}: nothing left alive at the provider"
            );
        } else {
            // No refresh token to revive it with: the truth, not a claim of revocation.
            assert!(!gone.revoked_at_provider, "{provider}");
            assert!(
                gone.revoke_error.as_deref().is_some_and(|e| !e.is_empty()),
                "{provider}: says why it could not revoke"
            );
        }
        assert!(
            h.stored_secret_values().await.is_empty(),
            "{provider}: keyring wiped"
        );
    }
}

#[tokio::test]
async fn google_health_int64_fields_arrive_as_strings_and_are_read() {
    let h = Harness::new(30).await;
    h.connect_to(ProviderKind::GoogleHealth).await;
    let run = h
        .core
        .sync(
            ProviderKind::GoogleHealth,
            SyncTrigger::Manual,
            SyncMode::Full,
        )
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Success, "{:?}", run.error_message);
    assert_eq!(run.counters.failed, 0);
    let rows: Vec<(Option<f64>, String)> = sqlx::query_as(
        "SELECT avg_heart_rate, raw_json FROM activities WHERE provider = 'google_health'",
    )
    .fetch_all(h.core.store().pool())
    .await
    .unwrap();
    let with_hr: Vec<_> = rows
        .iter()
        .filter(|(_, raw)| raw.contains("averageHeartRateBeatsPerMinute\":\""))
        .collect();
    assert!(!with_hr.is_empty(), "the twin sends int64 as JSON strings");
    assert!(
        with_hr.iter().all(|(hr, _)| hr.is_some_and(|v| v > 60.0)),
        "and the heart rate is read from them"
    );
}
