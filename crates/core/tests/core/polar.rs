//! Polar's particular rules, against its twin.

use crate::harness::Harness;
use tributary_core::auth::RedirectTarget;
use tributary_core::domain::{ConnectionState, ProviderKind, SyncStatus, SyncTrigger};
use tributary_core::sync::SyncMode;

const POLAR: ProviderKind = ProviderKind::Polar;

#[tokio::test]
async fn reconnecting_tolerates_the_409_of_an_existing_registration() {
    let h = Harness::polar_v3(50).await;
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
    let h = Harness::polar_v3(50).await;
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
    let h = Harness::polar_v3(50).await;
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
    let h = Harness::polar_v3(5).await;
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
    let h = Harness::polar_v3(5).await;
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

// ---- AccessLink v4 -------------------------------------------------------------------------

/// (provider activity id, row id) of every stored Polar copy.
async fn polar_rows(core: &tributary_core::Core) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT provider_activity_id, id FROM activities WHERE provider = 'polar' ORDER BY id",
    )
    .fetch_all(core.store().pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn a_v3_connection_keeps_working_and_moves_to_v4_without_losing_or_duplicating_an_activity() {
    // Made through v3 (as every Polar connection was before v4): it lists what was uploaded
    // after the registration.
    let h = Harness::polar_v3(60).await;
    let v3 = h.connect_to(POLAR).await;
    assert_eq!(v3.door.as_deref(), Some("v3"));
    for hours in [3, 30, 300] {
        let start = chrono::Utc::now() - chrono::Duration::hours(hours);
        h.control("upload", serde_json::json!({ "start": start }))
            .await;
    }
    let first = h
        .core
        .sync(POLAR, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(
        (first.status, first.counters.created),
        (SyncStatus::Success, 3)
    );
    let before = polar_rows(&h.core).await;
    // As a connection made before doors were kept: no door named anywhere, until the migration
    // that says every such Polar connection and copy came through v3.
    let pool = h.core.store().pool();
    sqlx::query("UPDATE provider_connections SET door = NULL")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("UPDATE activities SET door = NULL")
        .execute(pool)
        .await
        .unwrap();
    sqlx::raw_sql(include_str!(
        "../../../../migrations/20261210010000_polar_v3_doors.sql"
    ))
    .execute(pool)
    .await
    .unwrap();

    // This build opens AccessLink v4 for new connections: the old one keeps v3, keeps working,
    // and its card offers the move.
    let core = h.reopen().await;
    let card = core
        .dashboard()
        .await
        .unwrap()
        .cards
        .into_iter()
        .find(|c| c.connection.provider == POLAR)
        .unwrap();
    assert_eq!(card.door.map(|d| d.id), Some("v3"));
    assert_eq!(card.moves_to.map(|d| d.id), Some("v4"));
    let still = core
        .sync(POLAR, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(
        (still.status, still.counters.created),
        (SyncStatus::Success, 0),
        "v3 keeps working: {:?}",
        still.error_message
    );

    // One sign-in moves it.
    let request = core
        .begin_connect(POLAR, RedirectTarget::DeepLink)
        .await
        .unwrap();
    assert!(request.authorize_url.contains("/auth/oauth/authorize"));
    let redirect = h.approve(&request.authorize_url, "approve").await;
    let moved = core.complete_redirect(&redirect).await.unwrap().connection;
    assert_eq!(moved.id, v3.id, "the same connection");
    assert_eq!(moved.door.as_deref(), Some("v4"));
    assert_eq!(
        moved.provider_user_id.as_deref(),
        Some("2718281"),
        "v4 names no user: the account stays the connection's"
    );
    let walk = core
        .sync(POLAR, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(walk.status, SyncStatus::Success, "{:?}", walk.error_message);
    let truth = h.sandbox.polar_v4_truth();
    let after = polar_rows(&core).await;
    assert_eq!(
        after.len(),
        truth.len(),
        "every session once: nothing doubled"
    );
    assert_eq!(
        walk.counters.updated, 3,
        "the three v3 copies took their v4 ids"
    );
    assert_eq!(walk.counters.created as usize, truth.len() - 3);
    // The three rows v3 brought are the same rows (their workout, recording and history stay),
    // now under v4's ids.
    let ids: std::collections::HashSet<&str> = truth.iter().map(|(id, _)| id.as_str()).collect();
    for (_, row) in &before {
        let (id, _) = after.iter().find(|(_, r)| r == row).expect("row kept");
        assert!(ids.contains(id.as_str()), "{id} is a v4 session id");
    }
    let again = core
        .sync(POLAR, SyncTrigger::Manual, SyncMode::Full)
        .await
        .unwrap();
    assert_eq!(
        (
            again.counters.created,
            again.counters.updated,
            again.counters.deleted
        ),
        (0, 0, 0),
        "idempotent, and a list is no deletion feed"
    );
    let card = core
        .dashboard()
        .await
        .unwrap()
        .cards
        .into_iter()
        .find(|c| c.connection.provider == POLAR)
        .unwrap();
    assert_eq!(card.moves_to, None, "nothing left to move to");
}

/// A v4 access token straight from the twin (the authorize page, then the code exchange).
async fn v4_token(h: &Harness) -> (String, String) {
    let request = h
        .core
        .begin_connect(POLAR, RedirectTarget::DeepLink)
        .await
        .unwrap();
    let redirect = h.approve(&request.authorize_url, "approve").await;
    let code = url::Url::parse(&redirect)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    (code, request.redirect_uri)
}

#[tokio::test]
async fn the_v4_twin_is_as_strict_as_the_reference_and_the_adapter_says_what_polar_refused_once() {
    let h = Harness::new(30).await;
    let vars = h.sandbox.config_vars();
    let token_url = &vars["TRIBUTARY_POLAR_V4_TOKEN_URL"];
    let (code, redirect_uri) = v4_token(&h).await;
    // Basic client authentication only.
    let in_body = h
        .http
        .post(token_url)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("client_id", tributary_sandbox::DEMO_CLIENT_ID),
            ("client_secret", tributary_sandbox::DEMO_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(in_body.status(), 401, "credentials in the body are refused");
    let exchange = |code: String, redirect: Option<&'static str>| {
        let mut form = vec![
            ("grant_type".to_owned(), "authorization_code".to_owned()),
            ("code".to_owned(), code),
        ];
        form.extend(redirect.map(|r| ("redirect_uri".to_owned(), r.to_owned())));
        h.http
            .post(token_url)
            .basic_auth(
                tributary_sandbox::DEMO_CLIENT_ID,
                Some(tributary_sandbox::DEMO_CLIENT_SECRET),
            )
            .form(&form)
            .send()
    };
    let wrong_redirect = exchange(code.clone(), Some("http://localhost:47613/callback"))
        .await
        .unwrap();
    assert_eq!(
        wrong_redirect.status(),
        400,
        "the redirect must match exactly"
    );
    let (code, _) = v4_token(&h).await;
    let granted: serde_json::Value =
        exchange(code.clone(), Some("tributary://oauth/polar/callback"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(
        granted["expires_in"].as_i64().map(|s| s > 43_000),
        Some(true)
    );
    assert!(granted["refresh_token"].is_string() && granted["jti"].is_string());
    assert!(
        granted.get("x_user_id").is_none(),
        "the reference names no user"
    );
    let reused = exchange(code, Some("tributary://oauth/polar/callback"))
        .await
        .unwrap();
    assert_eq!(reused.status(), 400, "a code is single use");
    let (code, _) = v4_token(&h).await;
    let granted: serde_json::Value = exchange(code, Some("tributary://oauth/polar/callback"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = granted["access_token"].as_str().unwrap().to_owned();

    // A v4 token is refused by v3.
    let v3 = h
        .http
        .get(format!(
            "{}/v3/exercises",
            h.sandbox.endpoints("polar").unwrap().api_url
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(v3.status(), 401);

    // The adapter, asked for windows Polar refuses: one request each, and Polar's words.
    let config = crate::harness::config(h.dir.path(), &h.sandbox);
    let client = tributary_core::providers::polar::v4::PolarV4::new(
        &config.provider(POLAR),
        tributary_core::providers::Http::new(
            reqwest::Client::new(),
            POLAR,
            config.retry,
            tributary_core::providers::polar::rate_budget,
        ),
    )
    .unwrap();
    let meter = tributary_core::providers::Meter::default();
    let clock = tributary_core::clock::SystemClock;
    let token = tributary_core::secrets::Sensitive::new(token);
    let call = tributary_core::providers::Call {
        token: Some(&token),
        meter: &meter,
        clock: &clock,
    };
    let day = |d: u32| {
        chrono::NaiveDate::from_ymd_opt(2026, 3, d)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    };
    let calls = || async {
        h.sandbox_state().await["calls"]["polar"]
            .as_u64()
            .unwrap_or(0)
    };
    for (case, from, to, features, said) in [
        ("to before from", day(10), day(9), vec![], "after 'from'"),
        (
            "91 days",
            day(1) - chrono::Duration::days(91),
            day(1),
            vec![],
            "at most 90",
        ),
        (
            "two days with samples",
            day(1),
            day(3),
            vec!["samples"],
            "at most 1",
        ),
        (
            "an unknown feature",
            day(1),
            day(2),
            vec!["everything"],
            "Unknown feature",
        ),
    ] {
        let before = calls().await;
        let refused = client
            .sessions(&call, from, to, &features)
            .await
            .unwrap_err();
        assert_eq!(
            calls().await,
            before + 1,
            "{case}: asked once, no retry storm"
        );
        assert_eq!(
            refused.code(),
            tributary_core::ErrorCode::Provider,
            "{case}"
        );
        let text = refused.to_string();
        assert!(text.contains(said), "{case}: {text}");
    }
    // The longest windows Polar takes are taken.
    let ninety = client
        .sessions(&call, day(1) - chrono::Duration::days(90), day(1), &[])
        .await;
    assert!(ninety.is_ok(), "{ninety:?}");
    let one_with_features = client
        .sessions(&call, day(1), day(2), &["samples", "laps", "routes"])
        .await;
    assert!(one_with_features.is_ok(), "{one_with_features:?}");
    // A date alone is not what Polar takes (the twin says so as Polar does).
    let date_only = h
        .http
        .get(format!(
            "{}v4/data/training-sessions/list?from=2026-03-01&to=2026-03-02",
            vars["TRIBUTARY_POLAR_V4_API_URL"]
        ))
        .bearer_auth(token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(date_only.status(), 400);
    assert!(
        date_only
            .text()
            .await
            .unwrap()
            .contains("could not be parsed as datetime")
    );
}

#[tokio::test]
async fn v4_brings_the_whole_history_with_samples_laps_and_route_and_renews_its_token() {
    let h = Harness::new(40).await;
    let connection = h.connect_to(POLAR).await;
    assert_eq!(connection.door.as_deref(), Some("v4"));
    assert_eq!(connection.username.as_deref(), Some("Pola Sandbox"));
    let run = h
        .core
        .sync(POLAR, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Success, "{:?}", run.error_message);
    assert_eq!(
        run.counters.created as usize,
        h.sandbox.polar_v4_truth().len()
    );
    // Bounded: 90-day windows back to the oldest session, then three empty years, plus the
    // sports catalogue (a walk to 2010 would be about 70 windows).
    let oldest = tributary_sandbox::generate::workouts(40, 42, 3, h.sandbox.anchor())
        .iter()
        .map(|w| w.start)
        .min()
        .unwrap();
    let span_days = (chrono::Utc::now() - oldest).num_days() + 2;
    let windows = (span_days + 89) / 90 + 12;
    assert!(
        run.api_calls <= windows + 2,
        "{} calls for {windows} windows",
        run.api_calls
    );
    // Sports come from Polar's catalogue: no "other" among the twin's sports.
    let sports: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT sport FROM activities WHERE provider = 'polar'")
            .fetch_all(h.core.store().pool())
            .await
            .unwrap();
    assert!(!sports.iter().any(|s| s == "other"), "{sports:?}");
    // The recording: the session's samples, laps and route, from a one-day list.
    let (id,): (i64,) = sqlx::query_as(
        "SELECT id FROM activities WHERE provider = 'polar' AND sport IN ('run', 'ride')
         ORDER BY start_utc DESC LIMIT 1",
    )
    .fetch_one(h.core.store().pool())
    .await
    .unwrap();
    let detail = h.core.recording(id, None).await.unwrap();
    let shown = detail.shown.expect("a recording");
    assert!(shown.points > 60, "{} points", shown.points);
    assert!(!shown.laps.is_empty(), "laps");
    let copy = detail.copies.iter().find(|c| c.activity_id == id).unwrap();
    assert!(
        copy.series
            .iter()
            .any(|s| s.name == tributary_core::recording::StreamKind::Lat),
        "the route: {:?}",
        copy.series
    );
    // The access token runs out (v4's live hours): the next run renews it and goes on.
    h.control("expire_tokens", serde_json::json!({ "provider": "polar" }))
        .await;
    let renewed = h
        .core
        .sync(POLAR, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(
        renewed.status,
        SyncStatus::Success,
        "{:?}",
        renewed.error_message
    );
    assert_eq!(
        h.core
            .get_connection_by_provider(POLAR)
            .await
            .unwrap()
            .state,
        ConnectionState::Active
    );
}

#[tokio::test]
async fn an_incremental_v4_walk_reads_back_to_its_mark_and_no_further() {
    let h = Harness::new(40).await;
    h.connect_to(POLAR).await;
    let first = h
        .core
        .sync(POLAR, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(first.status, SyncStatus::Success);
    // The last complete walk saw up to 120 days ago (an athlete back after a break): the next
    // walk reads two 90-day windows, not the whole history again (the engine gives `since`
    // to the first page only: the cursor carries the floor).
    let mark = chrono::Utc::now() - chrono::Duration::days(120);
    sqlx::query("UPDATE sync_state SET mark = ?1")
        .bind(mark.timestamp_millis())
        .execute(h.core.store().pool())
        .await
        .unwrap();
    let calls = || async {
        h.sandbox_state().await["calls"]["polar"]
            .as_u64()
            .unwrap_or(0)
    };
    let before = calls().await;
    let next = h
        .core
        .sync(POLAR, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(next.status, SyncStatus::Success, "{:?}", next.error_message);
    assert_eq!(calls().await - before, 2, "two windows back to the mark");
    assert_eq!((next.counters.created, next.counters.updated), (0, 0));
}

#[tokio::test]
async fn connecting_v4_after_a_disconnect_that_kept_v3_copies_takes_them_back_without_doubles() {
    let h = Harness::polar_v3(30).await;
    h.connect_to(POLAR).await;
    for hours in [5, 50] {
        let start = chrono::Utc::now() - chrono::Duration::hours(hours);
        h.control("upload", serde_json::json!({ "start": start }))
            .await;
    }
    let first = h
        .core
        .sync(POLAR, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(first.counters.created, 2);
    h.core.disconnect(POLAR, true).await.unwrap();
    let kept = polar_rows(&h.core).await;
    assert_eq!(kept.len(), 2, "kept, detached");
    // Connecting again in a build that opens v4, whose token names no account.
    let core = h.reopen().await;
    let request = core
        .begin_connect(POLAR, RedirectTarget::DeepLink)
        .await
        .unwrap();
    let redirect = h.approve(&request.authorize_url, "approve").await;
    let connected = core.complete_redirect(&redirect).await.unwrap().connection;
    assert_eq!(
        connected.provider_user_id.as_deref(),
        Some("2718281"),
        "the one account the kept copies came from"
    );
    let run = core
        .sync(POLAR, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Success, "{:?}", run.error_message);
    let after = polar_rows(&core).await;
    assert_eq!(
        after.len(),
        h.sandbox.polar_v4_truth().len(),
        "nothing doubled"
    );
    assert!(
        kept.iter()
            .all(|(_, row)| after.iter().any(|(_, r)| r == row)),
        "the kept rows taken back"
    );
}
