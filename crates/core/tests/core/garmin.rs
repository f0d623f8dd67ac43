//! Garmin's particular rules, against its twin.

use crate::harness::Harness;
use tributary_core::auth::RedirectTarget;
use tributary_core::domain::{ConnectionState, ProviderKind, SyncStatus, SyncTrigger};
use tributary_core::sync::SyncMode;

const GARMIN: ProviderKind = ProviderKind::Garmin;

#[tokio::test]
async fn a_repeated_backfill_answers_409_and_that_is_not_an_error() {
    let h = Harness::new(400).await;
    h.connect_to(GARMIN).await;
    let first = h
        .core
        .sync(GARMIN, SyncTrigger::AfterConnect, SyncMode::Full)
        .await
        .unwrap();
    assert_eq!(
        first.status,
        SyncStatus::Success,
        "{:?}",
        first.error_message
    );
    assert!(first.counters.created > 0, "the backfill filled the inbox");
    // A full re-sync asks for the same window again: Garmin answers 409.
    let again = h
        .core
        .sync(GARMIN, SyncTrigger::Manual, SyncMode::Full)
        .await
        .unwrap();
    assert_eq!(
        (again.status, again.counters.created),
        (SyncStatus::Success, 0),
        "{:?}",
        again.error_message
    );
    assert_eq!(
        again.api_calls, 2,
        "one backfill request (409) and one inbox page"
    );
}

#[tokio::test]
async fn without_the_historical_permission_it_syncs_and_a_later_grant_brings_the_history() {
    let h = Harness::new(400).await;
    let request = h
        .core
        .begin_connect(GARMIN, RedirectTarget::DeepLink)
        .await
        .unwrap();
    let q: std::collections::HashMap<_, _> = url::Url::parse(&request.authorize_url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(
        q.get("code_challenge_method").map(String::as_str),
        Some("S256"),
        "OAuth 2.0 with PKCE"
    );
    // Historical data is off by default on Garmin's consent page.
    let redirect = h
        .approve(&request.authorize_url, "approve-without-activities")
        .await;
    let connection = h
        .core
        .complete_redirect(&redirect)
        .await
        .unwrap()
        .connection;
    // Activity export was granted: the connection works (it was marked `scope_missing`, and the
    // CLI's connect exited 1).
    assert_eq!(connection.state, ConnectionState::Active);
    assert!(
        !connection
            .granted_scopes
            .contains(&"HISTORICAL_DATA_EXPORT".to_owned())
    );
    // The backfill is refused (403), which does not fail the run: there is no history yet.
    let run = h
        .core
        .sync(GARMIN, SyncTrigger::AfterConnect, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(
        (run.status, run.counters.created),
        (SyncStatus::Success, 0),
        "{:?}",
        run.error_message
    );
    // The athlete connects again and grants it: the next run asks for the history again and
    // gets it (the first refusal was never retried before).
    h.connect_to(GARMIN).await;
    let run = h
        .core
        .sync(GARMIN, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Success, "{:?}", run.error_message);
    assert!(run.counters.created > 0, "the last 30 days arrived");
}
