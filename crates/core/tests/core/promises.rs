//! Promises the design makes that had no test (issue 11): each test below fails if the promise is
//! broken (e.g. deleting the refresh lock, using a token before persisting it, skipping the
//! keyring re-read).

use crate::harness::{Harness, STRAVA};
use crate::scripted::{Scripted, activity, grant, page};
use chrono::{Duration, Utc};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration as StdDuration;
use tributary_core::clock::{ManualClock, SystemClock};
use tributary_core::domain::{ConnectionState, SyncStatus, SyncTrigger};
use tributary_core::providers::{Meter, Provider, strava};
use tributary_core::secrets::{SecretStore, Sensitive, StoreFailure};
use tributary_core::sync::SyncMode;
use tributary_core::vault::{namespace, token_key};
use tributary_core::{Error, ErrorCode};

const MANUAL: SyncTrigger = SyncTrigger::Manual;

/// A scripted Strava whose stored access token has expired.
async fn expired() -> (Harness, Arc<Scripted>, String) {
    let provider = Scripted::new(STRAVA, strava::capabilities());
    let h = Harness::scripted(Arc::new(SystemClock), vec![provider.clone()]).await;
    h.connect_scripted(STRAVA).await;
    let key = token_key(&namespace(h.dir.path()), 1, STRAVA);
    let stale = serde_json::json!({"access_token": "at-0", "refresh_token": "rt-0",
                                   "expires_at": (Utc::now() - Duration::hours(1)).timestamp()});
    h.secrets
        .set(&key, &Sensitive::new(stale.to_string()))
        .await
        .unwrap();
    (h, provider, key)
}

#[tokio::test]
async fn concurrent_refreshes_collapse_to_one() {
    let (h, provider, _) = expired().await;
    provider.on_refresh(|_, n| {
        Box::pin(async move {
            tokio::time::sleep(StdDuration::from_millis(100)).await;
            Ok(grant(n + 1))
        })
    });
    let connection = h.core.get_connection_by_provider(STRAVA).await.unwrap();
    let client: Arc<dyn Provider> = provider.clone();
    let mut callers = Vec::new();
    for _ in 0..5 {
        let (vault, connection, client) =
            (h.core.vault().clone(), connection.clone(), client.clone());
        callers.push(tokio::spawn(async move {
            vault
                .access_token(&connection, client, Arc::new(Meter::default()), None)
                .await
                .unwrap()
                .expose()
                .clone()
        }));
    }
    let mut tokens = Vec::new();
    for caller in callers {
        tokens.push(caller.await.unwrap());
    }
    assert_eq!(
        provider.refresh_calls.load(Ordering::SeqCst),
        1,
        "one refresh for five callers: a rotating refresh token is spent once"
    );
    assert!(
        tokens.iter().all(|t| t == "at-1"),
        "everyone got the new token: {tokens:?}"
    );
}

#[tokio::test]
async fn a_refreshed_pair_is_persisted_before_it_is_used() {
    let (h, provider, key) = expired().await;
    *provider.writes.lock().unwrap() = Some(h.secrets.clone());
    let writes_before = h.secrets.writes();
    provider.on_list(|_, _| Box::pin(async { Ok(page(vec![activity("a", Utc::now())], None)) }));
    let run = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Success);
    let seen = provider.calls_seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let (token, writes_at_use) = &seen[0];
    assert_eq!(token, "at-1", "the page was read with the refreshed token");
    assert!(
        *writes_at_use > writes_before,
        "the new pair reached the keyring before the token was used"
    );
    let stored = h.secrets.get(&key).await.unwrap().unwrap();
    assert!(stored.expose().contains("\"rt-1\""));
}

#[tokio::test]
async fn a_refused_refresh_reads_the_keyring_again_before_giving_up() {
    let (h, provider, key) = expired().await;
    // Another process rotated the pair meanwhile: our refresh token was spent by it.
    let secrets = h.secrets.clone();
    let key_for_refresh = key.clone();
    provider.on_refresh(move |_, _| {
        let (secrets, key) = (secrets.clone(), key_for_refresh.clone());
        Box::pin(async move {
            let rotated = serde_json::json!({"access_token": "at-other", "refresh_token": "rt-other",
                "expires_at": (Utc::now() + Duration::hours(6)).timestamp()});
            secrets
                .set(&key, &Sensitive::new(rotated.to_string()))
                .await
                .unwrap();
            Err(Error::NeedsReauth {
                provider: STRAVA,
                reason: "invalid_grant".into(),
            })
        })
    });
    provider.on_list(|_, _| Box::pin(async { Ok(page(vec![activity("a", Utc::now())], None)) }));
    let run = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Success, "{:?}", run.error_message);
    assert_eq!(provider.calls_seen.lock().unwrap()[0].0, "at-other");
    assert_eq!(
        h.core
            .get_connection_by_provider(STRAVA)
            .await
            .unwrap()
            .state,
        ConnectionState::Active,
        "not declared dead while another process holds a live pair"
    );
}

#[tokio::test]
async fn a_keyring_that_locks_mid_sync_fails_the_run_clearly_and_loses_nothing() {
    let provider = Scripted::new(STRAVA, strava::capabilities());
    let h = Harness::scripted(Arc::new(SystemClock), vec![provider.clone()]).await;
    h.connect_scripted(STRAVA).await;
    let secrets = h.secrets.clone();
    provider.on_list(move |_, n| {
        let secrets = secrets.clone();
        Box::pin(async move {
            if n == 0 {
                // The screen locks (and the keyring with it) after the first page.
                secrets.fail(Some(StoreFailure::Locked));
            }
            Ok(page(
                vec![activity(
                    &format!("a{n}"),
                    Utc::now() - Duration::days(n as i64),
                )],
                Some(&format!("c{}", n + 1)),
            ))
        })
    });
    let run = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Failed);
    let message = run.error_message.unwrap();
    assert!(message.contains("locked"), "says what is wrong: {message}");
    assert_eq!(
        run.counters.created, 1,
        "the page read before the lock is kept"
    );
    h.secrets.fail(None);
    provider.on_list(|request, _| {
        Box::pin(async move {
            assert_eq!(
                request.cursor.as_deref(),
                Some("c1"),
                "resumes where it stopped"
            );
            Ok(page(
                vec![activity("b", Utc::now() - Duration::days(9))],
                None,
            ))
        })
    });
    let next = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(next.status, SyncStatus::Success, "{:?}", next.error_message);
    assert_eq!(h.core.list_activities(None, 10, 0).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_locked_keyring_at_sync_time_changes_nothing() {
    let provider = Scripted::new(STRAVA, strava::capabilities());
    let h = Harness::scripted(Arc::new(SystemClock), vec![provider.clone()]).await;
    h.connect_scripted(STRAVA).await;
    h.secrets.fail(Some(StoreFailure::Unavailable));
    let run = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Failed);
    assert!(run.error_message.unwrap().contains("keyring"));
    assert_eq!(
        provider.list_calls.load(Ordering::SeqCst),
        0,
        "no provider call without a token"
    );
    h.secrets.fail(None);
    assert_eq!(
        h.core
            .sync(STRAVA, MANUAL, SyncMode::Incremental)
            .await
            .unwrap()
            .status,
        SyncStatus::Success
    );
}

#[tokio::test]
async fn strava_rate_windows_follow_the_clock_not_the_wall() {
    // The real Strava adapter against its twin, on a pinned clock at 10:07:30 (today): the 429's
    // short window resets at 10:15:00 of *this* clock, whatever the wall says.
    let pinned = Utc::now()
        .date_naive()
        .and_hms_opt(10, 7, 30)
        .unwrap()
        .and_utc();
    let quarter = pinned + Duration::seconds(450);
    let clock = Arc::new(ManualClock::new(pinned));
    let h = Harness::with(
        40,
        clock.clone(),
        Arc::new(tributary_core::secrets::SwitchableStore::default()),
    )
    .await;
    h.connect().await;
    h.fault("429", 1).await;
    let run = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Partial);
    let c = h.core.get_connection_by_provider(STRAVA).await.unwrap();
    assert_eq!(c.rate_limited_until, Some(quarter));
    assert!(run.error_message.unwrap().contains("continues at"));
    assert_eq!(
        h.core
            .sync(STRAVA, MANUAL, SyncMode::Incremental)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::RateLimited,
        "refused before the window"
    );
    clock.advance(Duration::minutes(7));
    assert_eq!(
        h.core
            .sync(STRAVA, MANUAL, SyncMode::Incremental)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::RateLimited,
        "still refused at 10:14:30"
    );
    clock.advance(Duration::seconds(31));
    let after = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(
        (after.status, after.counters.created),
        (SyncStatus::Success, 40),
        "runs once the clock passes 10:15"
    );
}

/// The tokens the connection's row points at now.
async fn current_tokens(h: &Harness) -> String {
    let stored = h.core.vault().load(STRAVA).await.unwrap().unwrap();
    stored.refresh.unwrap().expose().clone()
}

#[tokio::test]
async fn shutting_down_during_a_refresh_keeps_the_rotated_pair() {
    // Issue 14, defect 3: the detached refresh was not awaited, the store closed under it, and
    // the rotated pair (the only one the provider still accepts) was never written.
    let (h, provider, key) = expired().await;
    provider.on_refresh(|_, n| {
        Box::pin(async move {
            tokio::time::sleep(StdDuration::from_millis(400)).await;
            Ok(grant(n + 1))
        })
    });
    provider.on_list(|_, _| Box::pin(async { Ok(page(vec![activity("a", Utc::now())], None)) }));
    let _run = h
        .core
        .start_sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    while provider.refresh_calls.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    h.core.shutdown().await; // Quit, Ctrl-C or SIGTERM while the provider answers
    let stored = h.secrets.get(&key).await.unwrap().unwrap();
    assert!(
        stored.expose().contains("\"rt-1\""),
        "the rotated pair reached the keyring before the process ended"
    );
}

#[tokio::test]
async fn a_refresh_overlapping_a_reconnect_never_writes_the_old_grant_over_the_new() {
    // Issue 14, defect 4: the refresh wrote where the row pointed when it finished, which a
    // reconnect had just moved to the new grant's slot.
    let (h, provider, _) = expired().await;
    provider.on_refresh(|_, n| {
        Box::pin(async move {
            tokio::time::sleep(StdDuration::from_millis(300)).await;
            Ok(grant(n + 1))
        })
    });
    let connection = h.core.get_connection_by_provider(STRAVA).await.unwrap();
    let client: Arc<dyn Provider> = provider.clone();
    let vault = h.core.vault().clone();
    let refreshing = tokio::spawn(async move {
        vault
            .access_token(&connection, client, Arc::new(Meter::default()), None)
            .await
    });
    while provider.refresh_calls.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    provider.exchange_grant.store(50, Ordering::SeqCst);
    h.connect_scripted(STRAVA).await; // the athlete signs in again meanwhile
    refreshing.await.unwrap().unwrap();
    assert_eq!(
        current_tokens(&h).await,
        "rt-50",
        "the reconnect's grant is the connection's"
    );
    assert_eq!(
        h.core
            .vault()
            .load(STRAVA)
            .await
            .unwrap()
            .unwrap()
            .access
            .expose(),
        "at-50"
    );
}

#[tokio::test]
async fn a_keyring_failing_once_right_after_a_rotation_keeps_the_new_pair() {
    // Issue 14, defect 15: the provider has retired the old refresh token; one failed write
    // dropped the only pair it still accepts.
    let (h, provider, key) = expired().await;
    let secrets = h.secrets.clone();
    provider.on_refresh(move |_, n| {
        let secrets = secrets.clone();
        Box::pin(async move {
            // The keyring is locked for a moment just as the provider answers.
            secrets.fail(Some(StoreFailure::Locked));
            let unlock = secrets.clone();
            tokio::spawn(async move {
                tokio::time::sleep(StdDuration::from_millis(300)).await;
                unlock.fail(None);
            });
            Ok(grant(n + 1))
        })
    });
    provider.on_list(|_, _| Box::pin(async { Ok(page(vec![activity("a", Utc::now())], None)) }));
    let run = h
        .core
        .sync(STRAVA, MANUAL, SyncMode::Incremental)
        .await
        .unwrap();
    assert_eq!(run.status, SyncStatus::Success, "{:?}", run.error_message);
    let stored = h.secrets.get(&key).await.unwrap().unwrap();
    assert!(stored.expose().contains("\"rt-1\""));
}
