//! `sync_state`: where a connection's syncing stands between runs — the incremental mark, the
//! cursors of unfinished walks, a stream position, reconcile bookkeeping. One row per connection,
//! written in the same transaction as the page that moves it.

use super::{from_ms, to_ms};
use crate::Result;
use chrono::{DateTime, Utc};
use sqlx::{SqliteConnection, SqliteExecutor};

/// A connection's sync state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncState {
    /// The account (provider_user_id) it belongs to.
    pub account: Option<String>,
    /// Newest start a completed walk saw (never in the future).
    pub mark: Option<DateTime<Utc>>,
    /// Cursor of an unfinished incremental walk.
    pub walk_cursor: Option<String>,
    /// Newest start the unfinished walk has seen.
    pub walk_mark: Option<DateTime<Utc>>,
    /// Cursor of an unfinished full walk.
    pub full_cursor: Option<String>,
    /// When that full walk began.
    pub full_started_at: Option<DateTime<Utc>>,
    /// A stream's position, kept across runs.
    pub position: Option<String>,
    /// When the last full walk completed.
    pub last_full_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct Row {
    account: Option<String>,
    mark: Option<i64>,
    walk_cursor: Option<String>,
    walk_mark: Option<i64>,
    full_cursor: Option<String>,
    full_started_at: Option<i64>,
    position: Option<String>,
    last_full_at: Option<i64>,
}

/// The state of `connection_id`, if it has one.
pub async fn get(db: impl SqliteExecutor<'_>, connection_id: i64) -> Result<Option<SyncState>> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT account, mark, walk_cursor, walk_mark, full_cursor, full_started_at, position,
                last_full_at
         FROM sync_state WHERE connection_id = ?1",
    )
    .bind(connection_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| SyncState {
        account: r.account,
        mark: r.mark.map(from_ms),
        walk_cursor: r.walk_cursor,
        walk_mark: r.walk_mark.map(from_ms),
        full_cursor: r.full_cursor,
        full_started_at: r.full_started_at.map(from_ms),
        position: r.position,
        last_full_at: r.last_full_at.map(from_ms),
    }))
}

/// Write the whole state of `connection_id`.
pub async fn put(
    db: &mut SqliteConnection,
    connection_id: i64,
    state: &SyncState,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sync_state (connection_id, account, mark, walk_cursor, walk_mark, full_cursor,
                                 full_started_at, position, last_full_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (connection_id) DO UPDATE SET
             account = excluded.account, mark = excluded.mark,
             walk_cursor = excluded.walk_cursor, walk_mark = excluded.walk_mark,
             full_cursor = excluded.full_cursor, full_started_at = excluded.full_started_at,
             position = excluded.position, last_full_at = excluded.last_full_at,
             updated_at = excluded.updated_at",
    )
    .bind(connection_id)
    .bind(&state.account)
    .bind(state.mark.map(to_ms))
    .bind(&state.walk_cursor)
    .bind(state.walk_mark.map(to_ms))
    .bind(&state.full_cursor)
    .bind(state.full_started_at.map(to_ms))
    .bind(&state.position)
    .bind(state.last_full_at.map(to_ms))
    .bind(to_ms(now))
    .execute(db)
    .await?;
    Ok(())
}

/// Forget where `connection_id`'s syncing stood (it moved to another door, whose cursors and
/// positions are its own): its next run is a first one.
pub async fn forget(db: impl SqliteExecutor<'_>, connection_id: i64) -> Result<()> {
    sqlx::query("DELETE FROM sync_state WHERE connection_id = ?1")
        .bind(connection_id)
        .execute(db)
        .await?;
    Ok(())
}
