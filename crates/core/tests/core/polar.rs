//! Polar's particular rules, against its twin.

use crate::harness::Harness;
use tributary_core::auth::RedirectTarget;
use tributary_core::domain::{ConnectionState, ProviderKind, SyncStatus, SyncTrigger};
use tributary_core::sync::SyncMode;

const POLAR: ProviderKind = ProviderKind::Polar;

#[tokio::test]
async fn reconnecting_tolerates_the_409_of_an_existing_registration() {
    let h = Harness::new(50).await;
    let first = h.connect_to(POLAR).await;
    let again = h.connect_to(POLAR).await;
    assert_eq!(first.id, again.id, "the same row");
    assert_eq!(again.username.as_deref(), Some("Pola Sandbox"));
    assert_eq!(
        again.provider_user_id.as_deref(),
        Some("2718281"),
        "x_user_id from the token response"
    );
}

#[tokio::test]
async fn a_401_needs_reauth_because_there_is_no_refresh_token() {
    let h = Harness::new(50).await;
    h.connect_to(POLAR).await;
    h.fault_on("polar", "revoke", 1).await;
    let run = h
        .core
        .sync(POLAR, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Failed);
    assert_eq!(
        h.core
            .get_connection_by_provider(POLAR)
            .await
            .unwrap()
            .state,
        ConnectionState::NeedsReauth
    );
}

#[tokio::test]
async fn a_reused_code_is_refused_and_revokes_what_it_produced() {
    let h = Harness::new(50).await;
    let request = h
        .core
        .begin_connect(POLAR, RedirectTarget::DeepLink)
        .await
        .unwrap();
    let redirect = h.approve(&request.authorize_url, "approve").await;
    h.core.complete_redirect(&redirect).await.unwrap();
    assert_eq!(h.sandbox_state().await["live_access_tokens"], 1);
    // Replaying the code at the provider directly (our own state check already stops a replayed
    // redirect): Polar answers invalid_grant and deletes the tokens the code produced.
    let code = url::Url::parse(&redirect)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let e = h.sandbox.endpoints("polar").unwrap();
    let response = h
        .http
        .post(&e.token_url)
        .basic_auth(
            tributary_sandbox::DEMO_CLIENT_ID,
            Some(tributary_sandbox::DEMO_CLIENT_SECRET),
        )
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "tributary://oauth/polar/callback"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        h.sandbox_state().await["live_access_tokens"],
        0,
        "the first token died with the replay"
    );
    let run = h
        .core
        .sync(POLAR, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Failed);
    assert_eq!(
        h.core
            .get_connection_by_provider(POLAR)
            .await
            .unwrap()
            .state,
        ConnectionState::NeedsReauth
    );
}

#[tokio::test]
async fn the_token_call_uses_basic_auth_not_the_body() {
    // The twin answers invalid_client unless the credentials come as HTTP Basic.
    let h = Harness::new(5).await;
    let e = h.sandbox.endpoints("polar").unwrap();
    let in_body = h
        .http
        .post(&e.token_url)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_id", tributary_sandbox::DEMO_CLIENT_ID),
            ("client_secret", tributary_sandbox::DEMO_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(in_body.status(), 401);
    let connection = h.connect_to(POLAR).await; // the adapter's Basic call succeeds
    assert_eq!(connection.state, ConnectionState::Active);
}

#[tokio::test]
async fn the_code_exchange_must_repeat_the_authorize_requests_redirect_uri() {
    // RFC 6749 4.1.3: the authorize request named a redirect URI, so the token request must carry
    // the same one. Each case gets a fresh code (codes are single use).
    let h = Harness::new(5).await;
    let e = h.sandbox.endpoints("polar").unwrap();
    let deep_link = "tributary://oauth/polar/callback";
    for (case, redirect_uri, status) in [
        ("missing", None, 400),
        // Registered too, but not the one the authorize request named.
        ("different", Some("http://localhost:47613/callback"), 400),
        ("identical", Some(deep_link), 200),
    ] {
        let request = h
            .core
            .begin_connect(POLAR, RedirectTarget::DeepLink)
            .await
            .unwrap();
        assert_eq!(request.redirect_uri, deep_link);
        let redirect = h.approve(&request.authorize_url, "approve").await;
        let code = url::Url::parse(&redirect)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        let mut form = vec![("grant_type", "authorization_code"), ("code", &code)];
        form.extend(redirect_uri.map(|uri| ("redirect_uri", uri)));
        let response = h
            .http
            .post(&e.token_url)
            .basic_auth(
                tributary_sandbox::DEMO_CLIENT_ID,
                Some(tributary_sandbox::DEMO_CLIENT_SECRET),
            )
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{case}");
        let body: serde_json::Value = response.json().await.unwrap();
        if status == 400 {
            assert_eq!(body["error"], "invalid_grant", "{case}");
        } else {
            assert!(body["access_token"].is_string(), "{case}");
        }
    }
    // The adapter repeats it: connecting works.
    assert_eq!(h.connect_to(POLAR).await.state, ConnectionState::Active);
}
