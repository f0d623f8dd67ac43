//! `provider_budgets`: each provider's app-wide rate budget as its last answer reported it, so
//! the next run (in this process or another) never spends a request the budget says will 429.

use super::{from_ms, to_ms};
use crate::Result;
use crate::domain::ProviderKind;
use crate::providers::RateBudget;
use chrono::{DateTime, Utc};
use sqlx::SqliteExecutor;

/// The last budget `provider` reported, if any.
pub async fn get(
    db: impl SqliteExecutor<'_>,
    provider: ProviderKind,
) -> Result<Option<RateBudget>> {
    let row: Option<(i64, i64)> =
        sqlx::query_as("SELECT remaining, resets_at FROM provider_budgets WHERE provider = ?1")
            .bind(provider.as_str())
            .fetch_optional(db)
            .await?;
    Ok(row.map(|(remaining, resets_at)| RateBudget {
        remaining,
        resets_at: from_ms(resets_at),
    }))
}

/// Record the budget `provider` just reported.
pub async fn put(
    db: impl SqliteExecutor<'_>,
    provider: ProviderKind,
    budget: RateBudget,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO provider_budgets (provider, remaining, resets_at, updated_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (provider) DO UPDATE SET remaining = excluded.remaining,
             resets_at = excluded.resets_at, updated_at = excluded.updated_at",
    )
    .bind(provider.as_str())
    .bind(budget.remaining)
    .bind(to_ms(budget.resets_at))
    .bind(to_ms(now))
    .execute(db)
    .await?;
    Ok(())
}
