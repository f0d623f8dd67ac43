//! `sync_history`: one row per sync run, and `sync_failures`, the records a run could not store.
//!
//! Status changes are compare-and-set (`WHERE status = 'running'`): a run that was already
//! finished (or marked interrupted by another process) is never overwritten.

use super::{from_ms, parse_enum, to_ms};
use crate::domain::{SyncCounters, SyncRun, SyncStatus, SyncTrigger};
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use sqlx::SqliteExecutor;

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    connection_id: i64,
    trigger: String,
    status: String,
    started_at: i64,
    completed_at: Option<i64>,
    activities_fetched: i64,
    activities_created: i64,
    activities_updated: i64,
    activities_skipped: i64,
    activities_failed: i64,
    activities_deleted: i64,
    api_calls: i64,
    rate_limit_remaining: Option<i64>,
    error_message: Option<String>,
    error_code: Option<String>,
    cursor: Option<String>,
}

impl Row {
    fn into_domain(self) -> Result<SyncRun> {
        Ok(SyncRun {
            id: self.id,
            connection_id: self.connection_id,
            trigger: parse_enum("trigger", &self.trigger)?,
            status: parse_enum("status", &self.status)?,
            started_at: from_ms(self.started_at),
            completed_at: self.completed_at.map(from_ms),
            counters: SyncCounters {
                fetched: self.activities_fetched,
                created: self.activities_created,
                updated: self.activities_updated,
                skipped: self.activities_skipped,
                failed: self.activities_failed,
                deleted: self.activities_deleted,
            },
            api_calls: self.api_calls,
            rate_limit_remaining: self.rate_limit_remaining,
            error_message: self.error_message,
            // An unknown code (written by a newer version) reads as none rather than failing.
            error_code: self.error_code.and_then(|c| c.parse().ok()),
            cursor: self.cursor,
        })
    }
}

/// The column list, as a literal so statements stay `&'static str` (sqlx 0.9 refuses
/// runtime-built SQL unless asserted safe).
macro_rules! run_columns {
    () => {
        "id, connection_id, trigger, status, started_at, completed_at, activities_fetched, activities_created, activities_updated, activities_skipped, activities_failed, activities_deleted, api_calls, rate_limit_remaining, error_message, error_code, cursor"
    };
}

/// Open a `running` run. Fails with [`Error::AlreadyRunning`]'s cause (a unique-index violation)
/// when the connection already has a running run, in this process or another.
pub async fn start(
    db: impl SqliteExecutor<'_>,
    connection_id: i64,
    trigger: SyncTrigger,
    cursor: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<SyncRun>> {
    let result = sqlx::query_as::<_, Row>(concat!("INSERT INTO sync_history (connection_id, trigger, status, started_at, heartbeat_at, cursor)
         VALUES (?1, ?2, 'running', ?3, ?3, ?4)
         RETURNING ", run_columns!(), ""))
    .bind(connection_id)
    .bind(trigger.as_str())
    .bind(to_ms(now))
    .bind(cursor)
    .fetch_one(db)
    .await;
    match result {
        Ok(row) => row.into_domain().map(Some),
        // The partial unique index allows one running run per connection.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Add a committed page's counters and move the cursor (call inside the page's transaction).
pub async fn record_page(
    db: impl SqliteExecutor<'_>,
    id: i64,
    page: &SyncCounters,
    api_calls: i64,
    rate_limit_remaining: Option<i64>,
    cursor: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE sync_history SET
             activities_fetched = activities_fetched + ?2,
             activities_created = activities_created + ?3,
             activities_updated = activities_updated + ?4,
             activities_skipped = activities_skipped + ?5,
             activities_failed = activities_failed + ?6,
             api_calls = ?7,
             rate_limit_remaining = COALESCE(?8, rate_limit_remaining),
             cursor = ?9,
             heartbeat_at = ?10,
             activities_deleted = activities_deleted + ?11
         WHERE id = ?1 AND status = 'running'",
    )
    .bind(id)
    .bind(page.fetched)
    .bind(page.created)
    .bind(page.updated)
    .bind(page.skipped)
    .bind(page.failed)
    .bind(api_calls)
    .bind(rate_limit_remaining)
    .bind(cursor)
    .bind(to_ms(now))
    .bind(page.deleted)
    .execute(db)
    .await?;
    if done.rows_affected() == 0 {
        // Another process declared this run dead; do not write into a finished row.
        return Err(Error::Internal(format!(
            "sync run {id} is no longer running"
        )));
    }
    Ok(())
}

/// Finish a running run with a terminal status. Returns `None` if it was not running any more.
pub async fn complete(
    db: impl SqliteExecutor<'_>,
    id: i64,
    status: SyncStatus,
    api_calls: i64,
    rate_limit_remaining: Option<i64>,
    error: Option<(&str, crate::ErrorCode)>,
    now: DateTime<Utc>,
) -> Result<Option<SyncRun>> {
    debug_assert!(status.is_terminal(), "complete() needs a terminal status");
    let row: Option<Row> = sqlx::query_as(concat!(
        "UPDATE sync_history SET status = ?2, completed_at = ?3, api_calls = ?4,
             rate_limit_remaining = COALESCE(?5, rate_limit_remaining), error_message = ?6,
             error_code = ?7
         WHERE id = ?1 AND status = 'running'
         RETURNING ",
        run_columns!(),
        ""
    ))
    .bind(id)
    .bind(status.as_str())
    .bind(to_ms(now))
    .bind(api_calls)
    .bind(rate_limit_remaining)
    .bind(error.map(|(message, _)| message))
    .bind(error.map(|(_, code)| code.as_str()))
    .fetch_optional(db)
    .await?;
    row.map(Row::into_domain).transpose()
}

/// Mark a connection's `running` runs as `interrupted`. Only call it while holding the
/// connection's run lock: then no live process owns those rows. Returns how many.
pub async fn interrupt_running(
    db: impl SqliteExecutor<'_>,
    connection_id: i64,
    now: DateTime<Utc>,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE sync_history
         SET status = 'interrupted', completed_at = ?2, error_code = 'internal',
             error_message = 'the app stopped while this sync was running; the next sync resumes from its cursor'
         WHERE status = 'running' AND connection_id = ?1",
    )
    .bind(connection_id)
    .bind(to_ms(now))
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Connections with a `running` run (optionally only `only`).
pub async fn running_connections(
    db: impl SqliteExecutor<'_>,
    only: Option<i64>,
) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT connection_id FROM sync_history
         WHERE status = 'running' AND (?1 IS NULL OR connection_id = ?1)",
    )
    .bind(only)
    .fetch_all(db)
    .await?)
}

/// A connection's run counts: (all, success, failed).
pub async fn counts(db: impl SqliteExecutor<'_>, connection_id: i64) -> Result<(i64, i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(status = 'success'), 0), COALESCE(SUM(status = 'failed'), 0)
         FROM sync_history WHERE connection_id = ?1",
    )
    .bind(connection_id)
    .fetch_one(db)
    .await?)
}

/// A connection's runs, newest first.
pub async fn history(
    db: impl SqliteExecutor<'_>,
    connection_id: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<SyncRun>> {
    let rows: Vec<Row> = sqlx::query_as(concat!(
        "SELECT ",
        run_columns!(),
        " FROM sync_history WHERE connection_id = ?1
         ORDER BY id DESC LIMIT ?2 OFFSET ?3"
    ))
    .bind(connection_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(Row::into_domain).collect()
}

/// A connection's most recent run.
pub async fn latest(db: impl SqliteExecutor<'_>, connection_id: i64) -> Result<Option<SyncRun>> {
    Ok(history(db, connection_id, 1, 0).await?.into_iter().next())
}

/// The latest run of each of an athlete's connections (one query, not one per connection).
pub async fn latest_per_connection(
    db: impl SqliteExecutor<'_>,
    athlete_id: i64,
) -> Result<Vec<SyncRun>> {
    let rows: Vec<Row> = sqlx::query_as(concat!(
        "SELECT ",
        run_columns!(),
        " FROM sync_history WHERE id IN (
             SELECT (SELECT x.id FROM sync_history x WHERE x.connection_id = c.id
                     ORDER BY x.id DESC LIMIT 1)
             FROM provider_connections c WHERE c.athlete_id = ?1)"
    ))
    .bind(athlete_id)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(Row::into_domain).collect()
}

/// Each of an athlete's connections' run counts: (connection, all, success, failed), from the
/// counts the triggers keep (`connection_counts`), not by counting the runs.
pub async fn counts_per_connection(
    db: impl SqliteExecutor<'_>,
    athlete_id: i64,
) -> Result<Vec<(i64, i64, i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT c.id, COALESCE(n.runs, 0), COALESCE(n.runs_success, 0),
                COALESCE(n.runs_failed, 0)
         FROM provider_connections c LEFT JOIN connection_counts n ON n.connection_id = c.id
         WHERE c.athlete_id = ?1",
    )
    .bind(athlete_id)
    .fetch_all(db)
    .await?)
}

/// One run by id.
pub async fn get(db: impl SqliteExecutor<'_>, id: i64) -> Result<Option<SyncRun>> {
    let row: Option<Row> = sqlx::query_as(concat!(
        "SELECT ",
        run_columns!(),
        " FROM sync_history WHERE id = ?1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.map(Row::into_domain).transpose()
}

/// Record a record the run saw but could not store.
pub async fn record_failure(
    db: impl SqliteExecutor<'_>,
    sync_id: i64,
    provider_activity_id: Option<&str>,
    reason: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sync_failures (sync_id, provider_activity_id, reason) VALUES (?1, ?2, ?3)",
    )
    .bind(sync_id)
    .bind(provider_activity_id)
    .bind(reason)
    .execute(db)
    .await?;
    Ok(())
}

/// The reasons recorded for a run's failed records.
pub async fn failures(
    db: impl SqliteExecutor<'_>,
    sync_id: i64,
) -> Result<Vec<(Option<String>, String)>> {
    Ok(sqlx::query_as(
        "SELECT provider_activity_id, reason FROM sync_failures WHERE sync_id = ?1 ORDER BY id",
    )
    .bind(sync_id)
    .fetch_all(db)
    .await?)
}

/// One run, as the run statistics read it.
#[derive(sqlx::FromRow)]
pub(crate) struct RunStatRow {
    pub(crate) id: i64,
    pub(crate) trigger: String,
    pub(crate) status: String,
    pub(crate) started_at: i64,
    pub(crate) completed_at: Option<i64>,
    pub(crate) activities_created: i64,
    pub(crate) activities_updated: i64,
    pub(crate) activities_skipped: i64,
    pub(crate) activities_failed: i64,
    pub(crate) activities_deleted: i64,
    pub(crate) api_calls: i64,
    pub(crate) rate_limit_remaining: Option<i64>,
    pub(crate) error_code: Option<String>,
}

/// Reads `connection_id`'s runs started in `[since, until)`, newest first, at most `limit`.
pub(crate) async fn runs_started_between(
    db: impl SqliteExecutor<'_>,
    connection_id: i64,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<RunStatRow>> {
    Ok(sqlx::query_as(
        "SELECT id, trigger, status, started_at, completed_at, activities_created,
             activities_updated, activities_skipped, activities_failed, activities_deleted,
             api_calls, rate_limit_remaining, error_code
         FROM sync_history
         WHERE connection_id = ?1 AND started_at >= ?2 AND started_at < ?3
         ORDER BY started_at DESC, id DESC LIMIT ?4",
    )
    .bind(connection_id)
    .bind(to_ms(since))
    .bind(to_ms(until))
    .bind(limit)
    .fetch_all(db)
    .await?)
}
