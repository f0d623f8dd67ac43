//! `attention`: the episodes that need the athlete, one row each (open while `closed_at` is
//! null). Which episodes open and close is decided in `attention`.

use super::to_ms;
use crate::Result;
use chrono::{DateTime, Utc};
use sqlx::SqliteExecutor;

/// Reads whether `connection_id` has an open episode of `kind`.
pub async fn is_open(db: impl SqliteExecutor<'_>, connection_id: i64, kind: &str) -> Result<bool> {
    let open: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM attention WHERE connection_id = ?1 AND kind = ?2 AND closed_at IS NULL",
    )
    .bind(connection_id)
    .bind(kind)
    .fetch_optional(db)
    .await?;
    Ok(open.is_some())
}

/// Inserts an open episode of `kind` for `connection_id`, unless one is open already; returns how
/// many rows it inserted (0 when another process opened it first).
pub async fn open(
    db: impl SqliteExecutor<'_>,
    connection_id: i64,
    kind: &str,
    opened_at: DateTime<Utc>,
    message: &str,
) -> Result<u64> {
    let inserted = sqlx::query(
        "INSERT INTO attention (connection_id, kind, opened_at, message)
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
    )
    .bind(connection_id)
    .bind(kind)
    .bind(to_ms(opened_at))
    .bind(message)
    .execute(db)
    .await?;
    Ok(inserted.rows_affected())
}

/// Writes `connection_id`'s open episode of `kind` as closed at `closed_at`.
pub async fn close(
    db: impl SqliteExecutor<'_>,
    connection_id: i64,
    kind: &str,
    closed_at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE attention SET closed_at = ?3
                     WHERE connection_id = ?1 AND kind = ?2 AND closed_at IS NULL",
    )
    .bind(connection_id)
    .bind(kind)
    .bind(to_ms(closed_at))
    .execute(db)
    .await?;
    Ok(())
}

/// Inserts a `backfill_finished` notice for `connection_id`, opened and closed at `at`.
pub async fn record_backfill_finished(
    db: impl SqliteExecutor<'_>,
    connection_id: i64,
    at: DateTime<Utc>,
    message: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO attention (connection_id, kind, opened_at, closed_at, message)
             VALUES (?1, 'backfill_finished', ?2, ?2, ?3)",
    )
    .bind(connection_id)
    .bind(to_ms(at))
    .bind(message)
    .execute(db)
    .await?;
    Ok(())
}

/// Reads the open episodes across `athlete_id`'s connections, oldest first: (provider, kind).
pub async fn open_for_athlete(
    db: impl SqliteExecutor<'_>,
    athlete_id: i64,
) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT c.provider, a.kind FROM attention a
         JOIN provider_connections c ON c.id = a.connection_id
         WHERE c.athlete_id = ?1 AND a.closed_at IS NULL ORDER BY a.opened_at",
    )
    .bind(athlete_id)
    .fetch_all(db)
    .await?)
}
