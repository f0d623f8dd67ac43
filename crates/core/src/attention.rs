//! What needs the athlete, as episodes: one notification when an episode opens, none while it
//! lasts, and it closes when the condition clears. Decided here, once, for every front end (the
//! tray raises desktop notifications; `tributary agent` logs them).
//!
//! Episodes: a connection that needs signing in again, a missing scope, a provider API that is
//! gone, repeated failures (three failed runs in a row, not counting network or rate limits: no
//! notification spam while offline or rate-limited), and — once, not as an episode that stays
//! open — a long backfill that finished.

use crate::ErrorCode;
use crate::domain::{ConnectionState, ProviderKind, SyncStatus};
use crate::events::{CoreEvent, EventSink};
use crate::store::Store;
use crate::{Result, store};
use chrono::{DateTime, Utc};

/// Days before a personal key runs out that the athlete is told (Garmin emails a week ahead too).
pub const KEY_WARNING_DAYS: i64 = 7;

/// Failed runs in a row that open a "repeated failures" episode.
pub const FAILURES_IN_A_ROW: usize = 3;

// The notice itself is data every front end receives (in events and the dashboard): it lives
// in `domain`, so that the events do not depend on this module, which emits them.
pub use crate::domain::{Attention, AttentionKind};

/// Look at a connection after something happened to it (a run ended, it was connected or
/// switched): open the episodes its state calls for (announcing each once), close the rest.
/// `backfill_finished` announces a long first import that just completed.
pub(crate) async fn review(
    store: &Store,
    events: &dyn EventSink,
    connection_id: i64,
    display_name: &str,
    backfill_finished: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    let pool = store.pool();
    let Some(connection) = store::connections::get(pool, connection_id).await? else {
        return Ok(()); // disconnected meanwhile: its episodes went with it
    };
    let recent =
        store::sync_history::history(pool, connection_id, FAILURES_IN_A_ROW as i64, 0).await?;
    // Offline and rate limits are waits, not failures the athlete must act on; a token or a scope
    // they must fix has its own episode already.
    let failing = recent.len() == FAILURES_IN_A_ROW
        && recent.iter().all(|r| {
            r.status == SyncStatus::Failed
                && !matches!(
                    r.error_code,
                    Some(
                        ErrorCode::Network
                            | ErrorCode::RateLimited
                            | ErrorCode::NeedsReauth
                            | ErrorCode::ScopeMissing
                            | ErrorCode::Deprecated
                            | ErrorCode::AppInactive
                    )
                )
        });
    let on = connection.enabled;
    // The personal key's expiry, as the athlete gave it when connecting (no API tells).
    let key_expires = connection
        .provider_profile
        .as_ref()
        .and_then(|p| p.get("key_expires_on"))
        .and_then(|d| d.as_str())
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let days_left = key_expires.map(|d| (d - now.date_naive()).num_days());
    let wanted = [
        (
            AttentionKind::NeedsReauth,
            on && connection.state == ConnectionState::NeedsReauth,
            format!("{display_name} needs you to sign in again"),
            "Its sign-in was refused or revoked; connect it again to keep syncing.".to_owned(),
        ),
        (
            AttentionKind::ScopeMissing,
            on && connection.state == ConnectionState::ScopeMissing,
            format!("{display_name} is missing a permission"),
            connection
                .last_sync_error
                .clone()
                .unwrap_or_else(|| "Connect again and keep every permission ticked.".to_owned()),
        ),
        (
            AttentionKind::Deprecated,
            on && connection.state == ConnectionState::Deprecated,
            format!("{display_name}'s connection needs moving"),
            "The provider retired the API this connection uses; connect again to move it."
                .to_owned(),
        ),
        (
            AttentionKind::AppInactive,
            on && connection.state == ConnectionState::AppInactive,
            format!("{display_name}'s API application is inactive"),
            connection.last_sync_error.clone().unwrap_or_else(|| {
                "The provider refuses the API application Tributary uses; its owner must re-activate it."
                    .to_owned()
            }),
        ),
        (
            AttentionKind::KeyExpiring,
            on && days_left.is_some_and(|d| d <= KEY_WARNING_DAYS),
            match days_left {
                Some(d) if d < 0 => format!("Your {display_name} key has expired"),
                _ => format!("Your {display_name} key expires soon"),
            },
            format!(
                "It runs out on {}: create a new key at the provider and paste it in Tributary.",
                key_expires.map_or_else(String::new, |d| d.to_string())
            ),
        ),
        (
            AttentionKind::RepeatedFailures,
            on && failing,
            format!("{display_name} keeps failing to sync"),
            recent
                .first()
                .and_then(|r| r.error_message.clone())
                .unwrap_or_else(|| "The last runs failed.".to_owned()),
        ),
    ];
    for (kind, active, title, message) in wanted {
        let open = store::attention::is_open(pool, connection_id, kind.as_str()).await?;
        match (active, open) {
            (true, false) => {
                let inserted =
                    store::attention::open(pool, connection_id, kind.as_str(), now, &message)
                        .await?;
                // Another process may have opened it first: only the opener announces it.
                if inserted == 1 {
                    events.emit(CoreEvent::Attention {
                        attention: Attention {
                            provider: connection.provider,
                            kind,
                            title,
                            message,
                            opened_at: now,
                        },
                    });
                }
            }
            (false, true) => {
                store::attention::close(pool, connection_id, kind.as_str(), now).await?;
            }
            _ => {}
        }
    }
    if backfill_finished && on {
        let message = "Its history is imported; from now on it syncs what is new.".to_owned();
        store::attention::record_backfill_finished(pool, connection_id, now, &message).await?;
        events.emit(CoreEvent::Attention {
            attention: Attention {
                provider: connection.provider,
                kind: AttentionKind::BackfillFinished,
                title: format!("{display_name}: history imported"),
                message,
                opened_at: now,
            },
        });
    }
    Ok(())
}

/// The episodes open now, across the athlete's connections (what the tray's look and the
/// dashboard's banner reflect).
pub(crate) async fn open_now(
    store: &Store,
    athlete_id: i64,
) -> Result<Vec<(ProviderKind, AttentionKind)>> {
    let rows = store::attention::open_for_athlete(store.pool(), athlete_id).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(p, k)| {
            let kind = match k.as_str() {
                "needs_reauth" => AttentionKind::NeedsReauth,
                "scope_missing" => AttentionKind::ScopeMissing,
                "deprecated" => AttentionKind::Deprecated,
                "repeated_failures" => AttentionKind::RepeatedFailures,
                "key_expiring" => AttentionKind::KeyExpiring,
                _ => return None,
            };
            Some((p.parse().ok()?, kind))
        })
        .collect())
}
