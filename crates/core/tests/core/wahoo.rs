//! Wahoo's particular rules, against its twin.

use crate::harness::Harness;
use tributary_core::auth::RedirectTarget;
use tributary_core::domain::{ProviderKind, SyncStatus, SyncTrigger};
use tributary_core::sync::SyncMode;

const WAHOO: ProviderKind = ProviderKind::Wahoo;

#[tokio::test]
async fn the_authorize_request_carries_an_s256_challenge_and_the_twin_checks_it() {
    let h = Harness::new(10).await;
    let request = h
        .core
        .begin_connect(WAHOO, RedirectTarget::DeepLink)
        .await
        .unwrap();
    let url = url::Url::parse(&request.authorize_url).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(
        q.get("code_challenge_method").map(String::as_str),
        Some("S256")
    );
    assert_eq!(q["code_challenge"].len(), 43, "base64url of a SHA-256");
    // A stolen code without the verifier is useless at the token endpoint.
    let redirect = h.approve(&request.authorize_url, "approve").await;
    let code = url::Url::parse(&redirect)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let e = h.sandbox.endpoints("wahoo").unwrap();
    let stolen = h
        .http
        .post(&e.token_url)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", tributary_sandbox::DEMO_CLIENT_ID),
            ("redirect_uri", "tributary://oauth/wahoo/callback"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(stolen.status(), 400);
}

#[tokio::test]
async fn rotation_keeps_a_single_live_token_however_often_it_refreshes() {
    let h = Harness::new(60).await;
    h.connect_to(WAHOO).await;
    for round in 0..4 {
        h.control("expire_tokens", serde_json::json!({})).await;
        let run = h
            .core
            .sync(WAHOO, SyncTrigger::Manual, SyncMode::Incremental)
            .await
            .unwrap();
        assert_eq!(
            run.status,
            SyncStatus::Success,
            "round {round}: {:?}",
            run.error_message
        );
        // The new pair retired the old one at its first use: never near Wahoo's cap of 10.
        assert_eq!(
            h.sandbox_state().await["live_access_tokens"],
            1,
            "round {round}"
        );
    }
}

#[tokio::test]
async fn a_fresh_token_is_not_refreshed_just_in_case() {
    let h = Harness::new(60).await;
    h.connect_to(WAHOO).await;
    let before = h.stored_secret_values().await;
    for _ in 0..3 {
        h.core
            .sync(WAHOO, SyncTrigger::Manual, SyncMode::Incremental)
            .await
            .unwrap();
    }
    assert_eq!(
        h.stored_secret_values().await,
        before,
        "no refresh while the token is valid"
    );
}

#[tokio::test]
async fn incremental_paging_stops_at_the_overlap_window() {
    let h = Harness::new(400).await;
    h.connect_to(WAHOO).await;
    let first = h
        .core
        .sync(WAHOO, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(
        (first.counters.created, first.api_calls),
        (400, 8),
        "400 workouts = 8 pages of 50"
    );
    let again = h
        .core
        .sync(WAHOO, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(
        again.api_calls, 1,
        "the first page already reaches below the overlap window"
    );
    assert_eq!(again.counters.skipped, 50);
}

/// The (access, refresh) pair the keyring holds for the connection.
async fn stored_pair(h: &Harness) -> (String, String) {
    let values = h.stored_secret_values().await;
    assert_eq!(values.len(), 1, "one connection, one keyring entry");
    let v: serde_json::Value = serde_json::from_str(&values[0]).unwrap();
    let field = |k: &str| v[k].as_str().unwrap().to_owned();
    (field("access_token"), field("refresh_token"))
}

async fn refresh_at_twin(h: &Harness, refresh_token: &str) -> reqwest::Response {
    let e = h.sandbox.endpoints("wahoo").unwrap();
    h.http
        .post(&e.token_url)
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", tributary_sandbox::DEMO_CLIENT_ID),
            ("client_secret", tributary_sandbox::DEMO_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_twin_takes_a_refresh_token_once_and_retires_the_old_pair_at_the_new_ones_first_use() {
    let h = Harness::new(5).await;
    h.connect_to(WAHOO).await;
    let (old_access, old_refresh) = stored_pair(&h).await;
    let first = refresh_at_twin(&h, &old_refresh).await;
    assert_eq!(first.status(), 200, "a live refresh token works");
    let pair: serde_json::Value = first.json().await.unwrap();
    let new_access = pair["access_token"].as_str().unwrap().to_owned();
    assert_ne!(pair["refresh_token"].as_str(), Some(old_refresh.as_str()));
    let again = refresh_at_twin(&h, &old_refresh).await;
    assert_eq!(again.status(), 400, "the same refresh token a second time");
    // The old access token lives until the new pair is first used, then dies with its pair.
    let e = h.sandbox.endpoints("wahoo").unwrap();
    let user = |token: String| {
        h.http
            .get(format!("{}/v1/user", e.api_url))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(user(old_access.clone()).await.unwrap().status(), 200);
    assert_eq!(user(new_access).await.unwrap().status(), 200);
    assert_eq!(
        user(old_access).await.unwrap().status(),
        401,
        "retired at the new pair's first use"
    );
}

#[tokio::test]
async fn months_of_refreshes_never_pile_up_tokens_toward_wahoos_cap_of_ten() {
    // Issue 14, defect 14: Wahoo refuses an eleventh unrevoked token per app and athlete. A
    // refresh's new pair retires the old one at its first use, and the engine refreshes only
    // when the token runs out (never "just in case"), uses the new token at once and never
    // refreshes twice for one expiry: however many expiries pass, one grant stays alive.
    let h = Harness::new(10).await;
    h.connect_to(WAHOO).await;
    let live = |state: serde_json::Value| state["live"]["wahoo"]["refresh"].as_u64().unwrap();
    for round in 0..14 {
        h.control("expire_tokens", serde_json::json!({"provider": "wahoo"}))
            .await;
        let run = h
            .core
            .sync(WAHOO, SyncTrigger::Manual, SyncMode::Incremental)
            .await
            .unwrap();
        assert_eq!(run.status, SyncStatus::Success, "round {round}");
        assert_eq!(
            live(h.sandbox_state().await),
            1,
            "round {round}: one grant alive at Wahoo"
        );
    }
}

#[tokio::test]
async fn fifteen_reconnects_and_disconnects_never_reach_wahoos_cap_of_ten() {
    // Wahoo refuses the code exchange once ten unrevoked tokens exist for the app and athlete
    // (since 2026-01-01): a reconnect must not leave the old grant alive, nor a disconnect.
    let h = Harness::new(10).await;
    let live = |state: serde_json::Value| state["live"]["wahoo"]["access"].as_u64().unwrap_or(0);
    for round in 0..15 {
        h.connect_to(WAHOO).await;
        let now = live(h.sandbox_state().await);
        assert!(
            now <= 1,
            "round {round}: {now} live tokens after a reconnect"
        );
        if round % 5 == 4 {
            h.core.disconnect(WAHOO, false).await.unwrap();
            assert_eq!(
                live(h.sandbox_state().await),
                0,
                "round {round}: revoked at disconnect"
            );
        }
    }
}
