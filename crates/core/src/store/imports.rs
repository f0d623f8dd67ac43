//! `imports` and `import_files`, and the imported copies in `activities` (their source in the
//! `provider` column, their import in `import_id`).

use super::{from_ms, to_ms};
use crate::Result;
use crate::domain::{NewActivity, Source};
use chrono::{DateTime, Utc};
use sqlx::{SqliteConnection, SqliteExecutor};

/// How long a running import may stay silent before it is taken for killed.
pub const SILENT_MS: i64 = 120_000;

/// Start an import.
pub async fn start(db: impl SqliteExecutor<'_>, label: &str, now: DateTime<Utc>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO imports (label, status, started_at, heartbeat_at) VALUES (?1, 'running', ?2, ?2)
         RETURNING id",
    )
    .bind(label)
    .bind(to_ms(now))
    .fetch_one(db)
    .await?)
}

/// End an import with `status` (`finished`, `cancelled`).
pub async fn finish(
    db: impl SqliteExecutor<'_>,
    id: i64,
    status: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE imports SET status = ?2, finished_at = ?3, heartbeat_at = ?3
         WHERE id = ?1 AND status = 'running'",
    )
    .bind(id)
    .bind(status)
    .bind(to_ms(now))
    .execute(db)
    .await?;
    Ok(())
}

/// Imports whose process stopped beating (killed, crashed) end `interrupted`: a re-run of the
/// same files finishes them (each file was its own transaction).
pub async fn end_silent(db: impl SqliteExecutor<'_>, now: DateTime<Utc>) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE imports SET status = 'interrupted', finished_at = ?1
         WHERE status = 'running' AND heartbeat_at < ?2",
    )
    .bind(to_ms(now))
    .bind(to_ms(now) - SILENT_MS)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// The copy of `source` with this id, if one is stored.
pub async fn copy_of(db: impl SqliteExecutor<'_>, source: Source, id: &str) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM activities WHERE provider = ?1 AND provider_activity_id = ?2",
    )
    .bind(source.as_str())
    .bind(id)
    .fetch_optional(db)
    .await?)
}

/// A copy whose recording is the original with this hash, if any.
pub async fn holder_of(db: impl SqliteExecutor<'_>, sha256: &str) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT activity_id FROM recordings WHERE sha256 = ?1 LIMIT 1")
            .bind(sha256)
            .fetch_optional(db)
            .await?,
    )
}

/// Insert an imported copy; `None` when the source already has it (another import won a race).
pub async fn insert_copy(
    db: &mut SqliteConnection,
    import_id: i64,
    source: Source,
    a: &NewActivity,
    raw: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let finite = |v: Option<f64>| v.filter(|x| x.is_finite());
    Ok(sqlx::query_scalar(
        "INSERT INTO activities (connection_id, provider, provider_activity_id, sport, name,
             start_utc, utc_offset_seconds, elapsed_seconds, moving_seconds, distance_m,
             elevation_gain_m, avg_heart_rate, max_heart_rate, calories, avg_power_w, max_power_w,
             device, raw_json, created_at, updated_at, import_id)
         VALUES (NULL, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                 ?18, ?18, ?19)
         ON CONFLICT (provider, provider_activity_id) DO NOTHING
         RETURNING id",
    )
    .bind(source.as_str())
    .bind(&a.provider_activity_id)
    .bind(a.sport.as_str())
    .bind(&a.name)
    .bind(to_ms(a.start_utc))
    .bind(a.utc_offset_seconds)
    .bind(a.elapsed_seconds)
    .bind(a.moving_seconds)
    .bind(finite(a.distance_m))
    .bind(finite(a.elevation_gain_m))
    .bind(finite(a.avg_heart_rate))
    .bind(finite(a.max_heart_rate))
    .bind(finite(a.calories))
    .bind(finite(a.avg_power_w))
    .bind(finite(a.max_power_w))
    .bind(&a.device)
    .bind(raw)
    .bind(to_ms(now))
    .bind(import_id)
    .fetch_optional(&mut *db)
    .await?)
}

/// The workout a copy is in, if linked.
pub async fn workout_of(db: impl SqliteExecutor<'_>, activity_id: i64) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT workout_id FROM activities WHERE id = ?1")
            .bind(activity_id)
            .fetch_optional(db)
            .await?
            .flatten(),
    )
}

/// Record one file's outcome and count it, keeping the import alive.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    db: &mut SqliteConnection,
    import_id: i64,
    path: &str,
    source: Source,
    outcome: &str,
    reason: Option<&str>,
    activity_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO import_files (import_id, path, source, outcome, reason, activity_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(import_id)
    .bind(path)
    .bind(source.as_str())
    .bind(outcome)
    .bind(reason)
    .bind(activity_id)
    .execute(&mut *db)
    .await?;
    // One counter per outcome (a closed set, checked by the table).
    let count = match outcome {
        "imported" => "UPDATE imports SET imported = imported + 1, heartbeat_at = ?2 WHERE id = ?1",
        "linked" => "UPDATE imports SET linked = linked + 1, heartbeat_at = ?2 WHERE id = ?1",
        "duplicate" => {
            "UPDATE imports SET duplicate = duplicate + 1, heartbeat_at = ?2 WHERE id = ?1"
        }
        "skipped" => "UPDATE imports SET skipped = skipped + 1, heartbeat_at = ?2 WHERE id = ?1",
        _ => "UPDATE imports SET refused = refused + 1, heartbeat_at = ?2 WHERE id = ?1",
    };
    sqlx::query(count)
        .bind(import_id)
        .bind(to_ms(now))
        .execute(&mut *db)
        .await?;
    Ok(())
}

/// Keep a file that is no activity (a gear list) with its outcome: its original row first.
pub async fn keep_file(
    db: &mut SqliteConnection,
    import_id: i64,
    path: &str,
    source: Source,
    reason: &str,
    original: (&str, i64, i64),
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO originals (sha256, format, bytes, stored_bytes, created_at)
         VALUES (?1, 'unknown', ?2, ?3, ?4) ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(original.0)
    .bind(original.1)
    .bind(original.2)
    .bind(to_ms(now))
    .execute(&mut *db)
    .await?;
    record(
        db,
        import_id,
        path,
        source,
        "skipped",
        Some(reason),
        None,
        now,
    )
    .await?;
    sqlx::query(
        "UPDATE import_files SET sha256 = ?1
         WHERE id = (SELECT MAX(id) FROM import_files WHERE import_id = ?2)",
    )
    .bind(original.0)
    .bind(import_id)
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// One import as listed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    /// Id.
    pub id: i64,
    /// What was chosen.
    pub label: String,
    /// running, finished, cancelled, interrupted.
    pub status: String,
    /// Start (ms).
    pub started_at: i64,
    /// End (ms).
    pub finished_at: Option<i64>,
    /// Counts by outcome.
    pub imported: i64,
    /// Linked.
    pub linked: i64,
    /// Duplicate.
    pub duplicate: i64,
    /// Skipped.
    pub skipped: i64,
    /// Refused.
    pub refused: i64,
    /// Its copies still stored.
    pub copies: i64,
}

macro_rules! row {
    ($rest:literal) => {
        concat!(
            "SELECT i.id, i.label, i.status, i.started_at, i.finished_at, i.imported,
                i.linked, i.duplicate, i.skipped, i.refused,
                (SELECT COUNT(*) FROM activities a WHERE a.import_id = i.id) AS copies
             FROM imports i ",
            $rest
        )
    };
}

/// Every import, newest first.
pub async fn list(db: impl SqliteExecutor<'_>) -> Result<Vec<Row>> {
    Ok(
        sqlx::query_as(row!("ORDER BY i.started_at DESC, i.id DESC"))
            .fetch_all(db)
            .await?,
    )
}

/// One import.
pub async fn get(db: impl SqliteExecutor<'_>, id: i64) -> Result<Option<Row>> {
    Ok(sqlx::query_as(row!("WHERE i.id = ?1"))
        .bind(id)
        .fetch_optional(db)
        .await?)
}

/// The files of an import with an outcome, in the order read (at most `limit`).
pub async fn files(
    db: impl SqliteExecutor<'_>,
    import_id: i64,
    outcome: &str,
    limit: i64,
) -> Result<Vec<(String, String, Option<String>, Option<i64>)>> {
    Ok(sqlx::query_as(
        "SELECT path, source, reason, activity_id FROM import_files
         WHERE import_id = ?1 AND outcome = ?2 ORDER BY id LIMIT ?3",
    )
    .bind(import_id)
    .bind(outcome)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Up to `limit` copies an import made.
pub async fn copies(db: impl SqliteExecutor<'_>, import_id: i64, limit: i64) -> Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM activities WHERE import_id = ?1 LIMIT ?2")
            .bind(import_id)
            .bind(limit)
            .fetch_all(db)
            .await?,
    )
}

/// Delete an import's row (its copies must be gone first; its file outcomes go with it).
pub async fn delete(db: impl SqliteExecutor<'_>, id: i64) -> Result<bool> {
    Ok(sqlx::query("DELETE FROM imports WHERE id = ?1")
        .bind(id)
        .execute(db)
        .await?
        .rows_affected()
        > 0)
}

/// When an import started, for display.
pub fn when(ms: i64) -> DateTime<Utc> {
    from_ms(ms)
}
