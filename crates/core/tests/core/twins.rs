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
        let capabilities = h
            .core
            .available_providers()
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.provider == provider)
            .unwrap()
            .capabilities;
        let refreshable = capabilities.refresh != tributary_core::providers::RefreshStyle::None;
        if let Some(place) = capabilities.door.revoke_by_hand {
            // No revoke API (Polar v4): nothing was asked, nothing claimed, the place is named.
            assert!(!gone.revoked_at_provider, "{provider}");
            assert_eq!(
                gone.revoke_error, None,
                "{provider}: no failure that never happened"
            );
            assert!(
                gone.revoke_by_hand
                    .as_deref()
                    .is_some_and(|t| t.contains(place)),
                "{provider}: {:?}",
                gone.revoke_by_hand
            );
        } else if refreshable {
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

/// The authorize URL with its `redirect_uri` replaced.
fn with_redirect(authorize_url: &str, redirect: &str) -> String {
    let mut url = url::Url::parse(authorize_url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "redirect_uri" {
                redirect.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.into()
}

#[tokio::test]
async fn the_twins_accept_only_the_redirects_their_providers_accept() {
    let h = Harness::new(5).await;
    for &provider in ProviderKind::ALL {
        let target = h.redirect_for(provider).await;
        let request = h.core.begin_connect(provider, target).await.unwrap();
        let status = |url: String| {
            let http = h.http.clone();
            async move { http.get(url).send().await.unwrap().status().as_u16() }
        };
        assert_eq!(
            status(request.authorize_url.clone()).await,
            200,
            "{provider}: its own redirect"
        );
        for foreign in [
            "https://evil.example/callback",
            "tributary://elsewhere/x/callback#frag",
        ] {
            assert_eq!(
                status(with_redirect(&request.authorize_url, foreign)).await,
                400,
                "{provider}: {foreign} is not registered"
            );
        }
    }
    // Google's desktop clients: loopback only. The core refuses a deep link before the browser
    // opens, and the twin refuses one if it came anyway.
    let refused = h
        .core
        .begin_connect(
            ProviderKind::GoogleHealth,
            tributary_core::auth::RedirectTarget::DeepLink,
        )
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        tributary_core::ErrorCode::Validation,
        "{refused}"
    );
    let google = h
        .core
        .begin_connect(
            ProviderKind::GoogleHealth,
            tributary_core::auth::RedirectTarget::Loopback { port: 50_123 },
        )
        .await
        .unwrap();
    let deep = with_redirect(
        &google.authorize_url,
        "tributary://oauth/google_health/callback",
    );
    assert_eq!(
        h.http.get(deep).send().await.unwrap().status().as_u16(),
        400
    );
    // Polar compares the whole URL: only the registered port.
    let refused = h
        .core
        .begin_connect(
            ProviderKind::Polar,
            tributary_core::auth::RedirectTarget::Loopback { port: 50_124 },
        )
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        tributary_core::ErrorCode::Validation,
        "{refused}"
    );
    let polar = h
        .core
        .begin_connect(
            ProviderKind::Polar,
            tributary_core::auth::RedirectTarget::DeepLink,
        )
        .await
        .unwrap();
    for (uri, expected) in [
        ("http://localhost:47613/callback", 200),
        ("http://localhost:50124/callback", 400),
        ("http://localhost:47613/other", 400),
    ] {
        let status = h
            .http
            .get(with_redirect(&polar.authorize_url, uri))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), expected, "Polar: {uri}");
    }
}

#[tokio::test]
async fn polar_v3_lists_only_exercises_uploaded_after_the_athlete_registered() {
    let h = Harness::polar_v3(400).await;
    let recent = tributary_sandbox::generate::workouts(400, 42, 3, h.sandbox.anchor())
        .iter()
        .filter(|w| w.start >= chrono::Utc::now() - chrono::Duration::days(30))
        .count();
    assert!(recent > 0, "there are workouts from the last 30 days");
    h.connect_to(ProviderKind::Polar).await;
    let first = h
        .core
        .sync(
            ProviderKind::Polar,
            SyncTrigger::AfterConnect,
            SyncMode::Incremental,
        )
        .await
        .unwrap();
    assert_eq!(
        (first.status, first.counters.created),
        (SyncStatus::Success, 0),
        "none of the {recent} earlier ones: they reached Polar before the registration"
    );
    let start = chrono::Utc::now() - chrono::Duration::hours(2);
    h.control("upload", serde_json::json!({ "start": start }))
        .await;
    let next = h
        .core
        .sync(
            ProviderKind::Polar,
            SyncTrigger::Manual,
            SyncMode::Incremental,
        )
        .await
        .unwrap();
    assert_eq!(
        (next.status, next.counters.created),
        (SyncStatus::Success, 1)
    );
}

#[tokio::test]
async fn api_credentials_are_proved_against_the_provider_before_anyone_signs_in() {
    let h = Harness::new(5).await;
    for &provider in ProviderKind::ALL {
        let check = h.core.check_credentials(provider).await.unwrap();
        // COROS's token errors are not documented: the app says it cannot tell, not "fine".
        let expected = (provider != ProviderKind::Coros).then_some(true);
        assert_eq!(check.accepted, expected, "{provider}: {}", check.message);
    }
    let wrong = Harness::adjusted(5, |config| {
        for settings in config.providers.values_mut() {
            settings.client_secret = Some(tributary_core::secrets::Sensitive::new("wrong".into()));
        }
    })
    .await;
    for provider in [
        ProviderKind::Strava,
        ProviderKind::Polar,
        ProviderKind::Wahoo,
        ProviderKind::GoogleHealth,
        ProviderKind::Garmin,
    ] {
        let check = wrong.core.check_credentials(provider).await.unwrap();
        assert_eq!(check.accepted, Some(false), "{provider}: {}", check.message);
        assert!(
            !check.message.contains("wrong"),
            "the secret is not repeated"
        );
    }
    // Nothing was connected or stored by checking.
    assert!(wrong.core.list_connections().await.unwrap().is_empty());
}
