//! `settings`: small documents by key (the athlete's settings, one-time markers).

use super::to_ms;
use crate::Result;
use chrono::{DateTime, Utc};
use sqlx::SqliteExecutor;

/// The document kept under `key`, if any.
pub async fn get(db: impl SqliteExecutor<'_>, key: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT value FROM settings WHERE key = ?1")
            .bind(key)
            .fetch_optional(db)
            .await?,
    )
}

/// Whether a document is kept under `key`.
pub async fn exists(db: impl SqliteExecutor<'_>, key: &str) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM settings WHERE key = ?1")
        .bind(key)
        .fetch_optional(db)
        .await?;
    Ok(found.is_some())
}

/// Keep `value` under `key`, replacing what was there.
pub async fn put(
    db: impl SqliteExecutor<'_>,
    key: &str,
    value: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(value)
    .bind(to_ms(now))
    .execute(db)
    .await?;
    Ok(())
}
