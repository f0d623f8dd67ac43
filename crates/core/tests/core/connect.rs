//! Connecting: state/redirect checks, scope checks, keyring-first writes, loopback, disconnect.

use crate::harness::{Harness, STRAVA, config};
use chrono::Duration;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tributary_core::auth::RedirectTarget;
use tributary_core::clock::ManualClock;
use tributary_core::domain::{ConnectionState, SyncStatus, SyncTrigger};
use tributary_core::events::NoopSink;
use tributary_core::secrets::{SwitchableStore, UnavailableStore};
use tributary_core::sync::SyncMode;
use tributary_core::{Core, Deps, ErrorCode};

#[tokio::test]
async fn connect_stores_tokens_in_the_vault_and_the_profile_in_the_database() {
    let h = Harness::new(5).await;
    let connection = h.connect().await;
    assert_eq!(connection.state, ConnectionState::Active);
    assert_eq!(connection.provider_user_id.as_deref(), Some("31415926"));
    assert_eq!(connection.username.as_deref(), Some("sandbox_athlete"));
    assert!(
        connection
            .granted_scopes
            .contains(&"activity:read_all".to_owned())
    );
    assert!(
        connection.token_expires_at.is_some(),
        "the expiry is kept, the token is not"
    );
    assert_eq!(
        h.secrets.keys(),
        [tributary_core::vault::token_key(
            &tributary_core::vault::namespace(h.dir.path()),
            1,
            STRAVA
        )],
        "one entry, scoped by the data directory"
    );
    assert!(connection.provider_profile.unwrap()["firstname"] == "Sandy");
}

#[tokio::test]
async fn a_replayed_redirect_is_rejected_and_changes_nothing() {
    let h = Harness::new(5).await;
    let request = h
        .core
        .begin_connect(STRAVA, RedirectTarget::DeepLink)
        .await
        .unwrap();
    let redirect = h.approve(&request.authorize_url, "approve").await;
    let first = h
        .core
        .complete_redirect(&redirect)
        .await
        .unwrap()
        .connection;
    let before = h.core.get_connection(first.id).await.unwrap();
    let replay = h.core.complete_redirect(&redirect).await.unwrap_err();
    assert_eq!(replay.code(), ErrorCode::InvalidRedirect, "{replay}");
    assert_eq!(
        h.core.get_connection(first.id).await.unwrap(),
        before,
        "nothing changed"
    );
}

#[tokio::test]
async fn unknown_forged_and_mismatched_redirects_are_rejected() {
    let h = Harness::new(5).await;
    let request = h
        .core
        .begin_connect(STRAVA, RedirectTarget::DeepLink)
        .await
        .unwrap();
    let redirect = h.approve(&request.authorize_url, "approve").await;
    let state = url::Url::parse(&redirect)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();

    let forged = "tributary://oauth/strava/callback?state=made-up&code=x";
    assert_eq!(
        h.core.complete_redirect(forged).await.unwrap_err().code(),
        ErrorCode::InvalidRedirect
    );
    // The right state on another provider's path: refused, and the state is spent.
    let wrong_provider = format!("tributary://oauth/wahoo/callback?state={state}&code=x");
    assert_eq!(
        h.core
            .complete_redirect(&wrong_provider)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::InvalidRedirect
    );
    assert_eq!(
        h.core
            .complete_redirect(&redirect)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::InvalidRedirect,
        "a state is single use even when its first use was refused"
    );
    assert!(h.core.list_connections().await.unwrap().is_empty());
    assert!(h.secrets.keys().is_empty(), "no token was stored");
}

#[tokio::test]
async fn an_expired_request_is_rejected() {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let h = Harness::with(5, clock.clone(), Arc::new(SwitchableStore::default())).await;
    let request = h
        .core
        .begin_connect(STRAVA, RedirectTarget::DeepLink)
        .await
        .unwrap();
    let redirect = h.approve(&request.authorize_url, "approve").await;
    clock.advance(Duration::minutes(11));
    let err = h.core.complete_redirect(&redirect).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidRedirect);
    assert!(err.to_string().contains("expired"), "{err}");
}

#[tokio::test]
async fn declining_at_the_provider_changes_nothing() {
    let h = Harness::new(5).await;
    let request = h
        .core
        .begin_connect(STRAVA, RedirectTarget::DeepLink)
        .await
        .unwrap();
    let redirect = h.approve(&request.authorize_url, "deny").await;
    let err = h.core.complete_redirect(&redirect).await.unwrap_err();
    assert!(err.to_string().contains("declined"), "{err}");
    assert!(h.core.list_connections().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_unticked_activity_scope_is_shown_as_scope_missing() {
    let h = Harness::new(5).await;
    let request = h
        .core
        .begin_connect(STRAVA, RedirectTarget::DeepLink)
        .await
        .unwrap();
    let redirect = h
        .approve(&request.authorize_url, "approve-without-activities")
        .await;
    let connection = h
        .core
        .complete_redirect(&redirect)
        .await
        .unwrap()
        .connection;
    assert_eq!(connection.state, ConnectionState::ScopeMissing);
    assert!(
        connection
            .last_sync_error
            .unwrap()
            .contains("activity:read_all")
    );
}

#[tokio::test]
async fn a_missing_keyring_fails_before_the_browser_opens_and_writes_nothing() {
    let h = Harness::new(5).await;
    let deps = Deps {
        secrets: Arc::new(UnavailableStore),
        clock: Arc::new(tributary_core::clock::SystemClock),
        events: Arc::new(NoopSink),
    };
    let dir = tempfile::tempdir().unwrap();
    let core = Core::open(config(dir.path(), &h.sandbox), deps)
        .await
        .unwrap();
    let err = core
        .begin_connect(STRAVA, RedirectTarget::DeepLink)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::SecretStore);
    assert!(
        err.to_string().contains("gnome-keyring"),
        "says what to install: {err}"
    );
    assert!(core.list_connections().await.unwrap().is_empty());
}

#[tokio::test]
async fn loopback_connect_receives_the_redirect_once_then_closes() {
    let h = Harness::new(5).await;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let core = h.core.clone();
    let task = tokio::spawn(async move {
        core.connect_loopback(
            STRAVA,
            |r| {
                let _ = tx.send(r.clone());
            },
            CancellationToken::new(),
        )
        .await
    });
    let request = rx.await.unwrap();
    assert!(
        request.redirect_uri.starts_with("http://localhost:"),
        "Strava matches the localhost domain"
    );
    // Stray requests first: no state, another flow's state. Both are turned away; the flow
    // goes on waiting for its own (it used to end on the first request).
    for stray in ["?code=x", "?state=someone-else&code=y"] {
        let page = h
            .http
            .get(format!("{}{stray}", request.redirect_uri))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("not the sign-in"), "{page}");
    }
    assert!(!task.is_finished(), "still waiting for its own redirect");
    let redirect = h.approve(&request.authorize_url, "approve").await;
    let page = h
        .http
        .get(&redirect)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("connected to strava"),
        "the browser is told: {page}"
    );
    let connection = task.await.unwrap().unwrap().connection;
    assert_eq!(connection.state, ConnectionState::Active);
    assert!(
        h.http.get(&redirect).send().await.is_err(),
        "the listener is closed after one flow"
    );
}

#[tokio::test]
async fn cancelling_a_loopback_connect_forgets_the_request() {
    let h = Harness::new(5).await;
    let cancel = CancellationToken::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let core = h.core.clone();
    let stop = cancel.clone();
    let task = tokio::spawn(async move {
        core.connect_loopback(
            STRAVA,
            |r| {
                let _ = tx.send(r.clone());
            },
            stop,
        )
        .await
    });
    let request = rx.await.unwrap();
    let redirect = h.approve(&request.authorize_url, "approve").await;
    cancel.cancel();
    assert_eq!(
        task.await.unwrap().unwrap_err().code(),
        ErrorCode::Cancelled
    );
    let late = redirect.replace(&request.redirect_uri, "tributary://oauth/strava/callback");
    assert_eq!(
        h.core.complete_redirect(&late).await.unwrap_err().code(),
        ErrorCode::InvalidRedirect
    );
}

#[tokio::test]
async fn a_reconnect_revokes_the_grant_it_replaced_and_keeps_the_new_one() {
    // Issue 14, defect 14: the replaced grant was only forgotten, still live at Strava.
    let h = Harness::new(5).await;
    h.connect().await;
    let old = h.core.vault().load(STRAVA).await.unwrap().unwrap();
    h.connect().await; // the athlete signs in again
    let athlete = format!("{}/strava/api/v3/athlete", h.sandbox.base_url());
    let status = |token: String| {
        let (http, athlete) = (h.http.clone(), athlete.clone());
        async move {
            http.get(&athlete)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        status(old.access.expose().clone()).await,
        401,
        "the replaced grant is revoked at Strava"
    );
    let new = h.core.vault().load(STRAVA).await.unwrap().unwrap();
    assert_eq!(
        status(new.access.expose().clone()).await,
        200,
        "the new one lives"
    );
    let run = h
        .core
        .sync(
            STRAVA,
            tributary_core::domain::SyncTrigger::Manual,
            Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(run.counters.created, 5);
}

#[tokio::test]
async fn the_core_decides_how_a_desktop_signs_in() {
    // Policy once, in the core: a deep link where the provider accepts one, else loopback.
    let h = Harness::new(1).await;
    use tributary_core::DesktopSignIn::{DeepLink, Loopback};
    for (provider, way) in [
        (STRAVA, DeepLink),
        (tributary_core::domain::ProviderKind::Wahoo, DeepLink),
        (tributary_core::domain::ProviderKind::GoogleHealth, Loopback),
    ] {
        assert_eq!(h.core.desktop_sign_in(provider).unwrap(), way, "{provider}");
    }
}

#[tokio::test]
async fn a_half_request_to_the_loopback_listener_cannot_hold_connect_open() {
    // Issue 14, defect 11: closing the listener waited for every connection in flight, and a
    // local client that sent half a request kept `connect` waiting forever.
    use tokio::io::AsyncWriteExt;
    let h = Harness::new(5).await;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let core = h.core.clone();
    let task = tokio::spawn(async move {
        core.connect_loopback(
            STRAVA,
            |r| {
                let _ = tx.send(r.clone());
            },
            CancellationToken::new(),
        )
        .await
    });
    let request = rx.await.unwrap();
    let port = url::Url::parse(&request.redirect_uri)
        .unwrap()
        .port()
        .unwrap();
    let mut half = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    half.write_all(b"GET /callback?state=x HTTP/1.1\r\nHost: loc")
        .await
        .unwrap();
    let redirect = h.approve(&request.authorize_url, "approve").await;
    h.http.get(&redirect).send().await.unwrap();
    let connected = tokio::time::timeout(std::time::Duration::from_secs(15), task)
        .await
        .expect("connect returned although a client still holds half a request")
        .unwrap()
        .unwrap();
    assert_eq!(connected.connection.provider, STRAVA);
    drop(half);
}

#[tokio::test]
async fn disconnect_revokes_wipes_the_vault_and_removes_the_row() {
    let h = Harness::new(30).await;
    h.connect().await;
    h.core
        .sync(
            STRAVA,
            tributary_core::domain::SyncTrigger::Manual,
            Default::default(),
        )
        .await
        .unwrap();
    let done = h.core.disconnect(STRAVA, false).await.unwrap();
    assert!(done.revoked_at_provider, "{:?}", done.revoke_error);
    assert_eq!(done.activities_deleted, 30);
    let state = h.sandbox_state().await;
    assert_eq!(state["live_access_tokens"], 0, "revoked at the provider");
    // Through the per-token revocation: `/oauth/deauthorize` ends on 2027-06-01.
    assert_eq!(
        state["calls"]["strava_oauth_revoke"], 1,
        "{}",
        state["calls"]
    );
    assert!(state["calls"]["strava_oauth_deauthorize"].is_null());
    assert!(h.secrets.keys().is_empty(), "keyring entries gone");
    assert_eq!(
        h.core
            .get_connection_by_provider(STRAVA)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::NotFound
    );
    assert!(
        h.core
            .list_activities(None, 10, 0)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn disconnect_can_keep_activities_and_a_reconnect_adopts_them() {
    let h = Harness::new(12).await;
    h.connect().await;
    h.core
        .sync(
            STRAVA,
            tributary_core::domain::SyncTrigger::Manual,
            Default::default(),
        )
        .await
        .unwrap();
    let done = h.core.disconnect(STRAVA, true).await.unwrap();
    assert_eq!(done.activities_deleted, 0);
    assert_eq!(
        h.core.list_activities(None, 100, 0).await.unwrap().len(),
        12
    );
    let again = h.connect().await;
    let kept = h.core.list_activities(None, 100, 0).await.unwrap();
    assert!(
        kept.iter().all(|a| a.connection_id == again.id),
        "the kept rows are re-attached"
    );
    let run = h
        .core
        .sync(
            STRAVA,
            tributary_core::domain::SyncTrigger::Manual,
            Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(run.counters.created, 0, "no duplicates after reconnecting");
}

#[tokio::test]
async fn providers_list_all_six_with_honest_capabilities() {
    let h = Harness::new(1).await;
    let providers = h.core.available_providers().await.unwrap();
    assert_eq!(providers.len(), 6);
    let strava = providers.iter().find(|p| p.provider == STRAVA).unwrap();
    assert!(strava.credentials_configured && strava.capabilities.implemented);
    assert!(!strava.capabilities.pkce && strava.capabilities.client_secret_required);
    let implemented: Vec<_> = providers
        .iter()
        .filter(|p| p.capabilities.implemented)
        .map(|p| p.provider.as_str())
        .collect();
    assert_eq!(
        implemented,
        [
            "strava",
            "garmin",
            "polar",
            "coros",
            "wahoo",
            "google_health"
        ],
        "all six are wired"
    );
    let polar = providers
        .iter()
        .find(|p| p.provider.as_str() == "polar")
        .unwrap();
    assert_eq!(
        polar.capabilities.client_auth,
        tributary_core::providers::ClientAuth::Basic
    );
    // New Polar connections use AccessLink v4: the whole history, no registration window.
    assert_eq!(polar.capabilities.door.id, "v4");
    assert_eq!(polar.capabilities.history_window_days, None);
    assert!(
        !polar.capabilities.absence_is_deletion,
        "v4 has no deletion feed"
    );
    assert!(providers.iter().all(|p| !p.connected));
    // Every door with an API application names where it is registered, on the provider's own
    // https site: the wizard's first step opens it (issue 19 item 9).
    for p in &providers {
        let url = p.capabilities.app_settings_url;
        if p.capabilities.sign_in == tributary_core::providers::SignIn::Browser {
            let url = url.unwrap_or_else(|| panic!("{}: no portal", p.provider));
            assert!(url.starts_with("https://"), "{}: {url}", p.provider);
        }
    }
}

#[tokio::test]
async fn tokens_are_scoped_by_data_directory_and_old_unscoped_ones_move() {
    use tributary_core::secrets::SecretStore;
    use tributary_core::vault::{legacy_token_key, namespace, token_key};
    let h = Harness::new(5).await;
    h.connect().await;
    let scoped = token_key(&namespace(h.dir.path()), 1, STRAVA);
    // As an older version stored them: under the unscoped key.
    let tokens = h.secrets.get(&scoped).await.unwrap().unwrap();
    h.secrets.delete(&scoped).await.unwrap();
    h.secrets
        .set(&legacy_token_key(1, STRAVA), &tokens)
        .await
        .unwrap();
    let run = h
        .core
        .sync(
            STRAVA,
            tributary_core::domain::SyncTrigger::Manual,
            tributary_core::sync::SyncMode::Incremental,
        )
        .await
        .unwrap();
    assert_eq!(run.status, tributary_core::domain::SyncStatus::Success);
    assert_eq!(
        h.secrets.keys(),
        [scoped],
        "moved to this data directory's key"
    );
    let other = tempfile::tempdir().unwrap();
    assert_ne!(
        namespace(h.dir.path()),
        namespace(other.path()),
        "another data directory has keys of its own"
    );
}

#[tokio::test]
async fn a_reconnect_that_fails_to_save_leaves_the_working_connection_its_tokens() {
    let h = Harness::new(20).await;
    h.connect().await;
    // The database refuses every change to the connection (a full disk, say) while the athlete
    // reconnects; the new tokens were already in the keyring by then.
    h.refuse_writes("BEFORE UPDATE ON provider_connections")
        .await;
    let request = h
        .core
        .begin_connect(STRAVA, RedirectTarget::DeepLink)
        .await
        .unwrap();
    let redirect = h.approve(&request.authorize_url, "approve").await;
    assert!(h.core.complete_redirect(&redirect).await.is_err());
    h.accept_writes().await;
    // The connection still has working tokens: it syncs. (It lost them before: the failed
    // reconnect had overwritten its keyring entry, then deleted it.)
    let run = h
        .core
        .sync(STRAVA, SyncTrigger::Manual, SyncMode::Full)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Success, "{:?}", run.error_message);
    assert_eq!(run.counters.created, 20);
    // And a reconnect that succeeds leaves exactly one keyring entry for it.
    h.connect().await;
    assert_eq!(
        h.secrets
            .keys()
            .iter()
            .filter(|k| k.contains("/strava/tokens"))
            .count(),
        1
    );
}

#[tokio::test]
async fn a_disconnect_that_fails_to_delete_the_row_keeps_its_tokens() {
    let h = Harness::new(5).await;
    h.connect().await;
    // The database refuses to delete the connection (a full disk, say).
    h.refuse_writes("BEFORE DELETE ON provider_connections")
        .await;
    assert!(h.core.disconnect(STRAVA, true).await.is_err());
    // The row is still there, and so is its keyring entry: never a connection without tokens.
    // (The keyring entry used to go first, so the row was left pointing at nothing.)
    let kept = h.core.get_connection_by_provider(STRAVA).await.unwrap();
    assert_eq!(kept.provider, STRAVA);
    assert_eq!(
        h.secrets
            .keys()
            .iter()
            .filter(|k| k.contains("/strava/tokens"))
            .count(),
        1,
        "the tokens the row points at are still stored"
    );
    h.accept_writes().await;
    h.core.disconnect(STRAVA, true).await.unwrap();
    assert!(
        !h.secrets
            .keys()
            .iter()
            .any(|k| k.contains("/strava/tokens")),
        "a disconnect that completes leaves no tokens"
    );
}

/// A token request carries the client secret, and codes or refresh tokens: a redirect from the
/// token endpoint is not followed, so they are never sent on to wherever it points.
#[tokio::test]
async fn a_token_endpoint_that_redirects_is_not_followed() {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// Reads one HTTP request whole (headers, then the body its length announces).
    async fn read_request(stream: &mut TcpStream) {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let Ok(n) = stream.read(&mut buf).await else {
                return;
            };
            if n == 0 {
                return;
            }
            seen.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&seen).to_lowercase();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if seen.len() >= end + 4 + length {
                    return;
                }
            }
        }
    }

    static REDIRECTOR: OnceLock<u16> = OnceLock::new();
    // Where the redirect points: counts whoever arrives.
    let trap = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let trap_port = trap.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = trap.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            read_request(&mut stream).await;
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
                .await;
        }
    });
    // The token endpoint answers every request with a 307 (which keeps a POST and its body).
    let redirector = TcpListener::bind("127.0.0.1:0").await.unwrap();
    REDIRECTOR
        .set(redirector.local_addr().unwrap().port())
        .unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = redirector.accept().await {
            read_request(&mut stream).await;
            let reply = format!(
                "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:{trap_port}/steal\r\n\
                 content-length: 0\r\nconnection: close\r\n\r\n"
            );
            let _ = stream.write_all(reply.as_bytes()).await;
        }
    });
    let h = Harness::adjusted(5, |config| {
        let port = REDIRECTOR.get().unwrap();
        config.providers.get_mut(&STRAVA).unwrap().token_url =
            Some(format!("http://127.0.0.1:{port}/token").parse().unwrap());
    })
    .await;
    let check = h.core.check_credentials(STRAVA).await.unwrap();
    assert_eq!(
        check.accepted, None,
        "a redirect is no answer: {}",
        check.message
    );
    assert!(check.message.contains("307"), "{}", check.message);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the client secret was not sent on"
    );
}
