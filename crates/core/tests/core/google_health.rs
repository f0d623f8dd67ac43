//! The Google Health API's particular rules, against its twin.

use crate::harness::Harness;
use tributary_core::auth::RedirectTarget;
use tributary_core::domain::{ConnectionState, ProviderKind, SyncStatus, SyncTrigger};
use tributary_core::sync::SyncMode;

const GH: ProviderKind = ProviderKind::GoogleHealth;

#[tokio::test]
async fn the_desktop_flow_asks_for_offline_access_with_pkce() {
    let h = Harness::new(5).await;
    let request = h
        .core
        .begin_connect(GH, RedirectTarget::Loopback { port: 8765 })
        .await
        .unwrap();
    let q: std::collections::HashMap<_, _> = url::Url::parse(&request.authorize_url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(
        q.get("access_type").map(String::as_str),
        Some("offline"),
        "a refresh token"
    );
    assert_eq!(
        q.get("code_challenge_method").map(String::as_str),
        Some("S256")
    );
    assert!(q["scope"].contains("googlehealth.activity_and_fitness.readonly"));
}

#[tokio::test]
async fn a_partial_grant_is_shown_as_a_missing_scope() {
    let h = Harness::new(5).await;
    let request = h
        .core
        .begin_connect(GH, RedirectTarget::Loopback { port: 8765 })
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
            .contains("activity_and_fitness")
    );
}

#[tokio::test]
async fn the_legacy_api_answering_410_makes_the_connection_deprecated_and_a_reconnect_moves_it() {
    let h = Harness::new(30).await;
    h.connect_to(GH).await;
    h.fault_on("google_health", "gone", 1).await;
    let run = h
        .core
        .sync(GH, SyncTrigger::Scheduled, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Failed);
    let c = h.core.get_connection_by_provider(GH).await.unwrap();
    assert_eq!(c.state, ConnectionState::Deprecated, "not a silent failure");
    assert!(
        c.last_sync_error.unwrap().contains("Google Health API"),
        "says what to do"
    );
    // The one-click move: connect again (Google consent), and sync works.
    assert_eq!(h.connect_to(GH).await.state, ConnectionState::Active);
    let run = h
        .core
        .sync(GH, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Success);
}

#[tokio::test]
async fn data_points_page_by_cursor_and_incremental_runs_filter_by_start() {
    let h = Harness::new(250).await;
    h.connect_to(GH).await;
    let first = h
        .core
        .sync(GH, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(
        (first.counters.created, first.api_calls),
        (250, 3),
        "pages of 100 by pageToken"
    );
    let again = h
        .core
        .sync(GH, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(again.api_calls, 1, "the start-time filter leaves one page");
    assert!(again.counters.fetched < 10 && again.counters.created == 0);
    // Millimetres became metres: every data point's distance and climb, exactly the twin's
    // workout (whose metres it sent as `distanceMillimeters`, `elevationGainMillimeters`).
    let stored = h.core.list_activities(Some(GH), 1000, 0).await.unwrap();
    assert_eq!(stored.len(), 250);
    let workouts = h.sandbox.shared().world().workouts.clone();
    let mut moved = 0;
    for a in &stored {
        let id = &a.data.provider_activity_id;
        let index: usize = id.strip_prefix("ex-").unwrap().parse().unwrap();
        let w = workouts.iter().find(|w| w.index == index).unwrap();
        assert_eq!(
            a.data.distance_m,
            Some(w.distance),
            "{id}: distance in metres"
        );
        assert_eq!(
            a.data.elevation_gain_m,
            Some(w.elevation),
            "{id}: climb in metres"
        );
        moved += usize::from(w.distance > 0.0);
    }
    assert!(
        moved > 200,
        "most sessions have a distance to check ({moved})"
    );
}
