//! `athletes`: one profile per person using the machine.

use super::to_ms;
use crate::Result;
use chrono::{DateTime, Utc};
use sqlx::SqliteExecutor;

/// Make sure athlete `id` exists (the default profile is created on first run).
pub async fn ensure(
    db: impl SqliteExecutor<'_>,
    id: i64,
    display_name: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO athletes (id, display_name, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(display_name)
    .bind(to_ms(now))
    .execute(db)
    .await?;
    Ok(())
}
