//! `originals` and `recordings`: which original each activity has, its decoded streams and laps,
//! and what the download queue did about it. The files themselves are in
//! [`crate::recording::files`]; a row is written only after its file is on disk.

use super::{from_ms, to_ms};
use crate::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::SqliteExecutor;
use std::collections::HashSet;

/// Attempts before a recording that keeps failing is given up on (a clear, stored outcome).
pub const MAX_ATTEMPTS: i64 = 5;
// The triggers of migration 20261207010000_recording_counts.sql count "given up" at 5 attempts.
const _: () = assert!(
    MAX_ATTEMPTS == 5,
    "change the recording_counts triggers with it"
);

/// What the queue concluded for one activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum RecordingStatus {
    /// Kept and decoded.
    Stored,
    /// The original is kept but could not be decoded.
    Unreadable,
    /// The provider has no recording for it.
    None,
    /// The last attempt failed; tried again later (or given up after [`MAX_ATTEMPTS`]).
    Failed,
}

impl RecordingStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Stored => "stored",
            Self::Unreadable => "unreadable",
            Self::None => "none",
            Self::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "stored" => Self::Stored,
            "unreadable" => Self::Unreadable,
            "none" => Self::None,
            _ => Self::Failed,
        }
    }
}

/// An activity the queue still has to fetch.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Pending {
    /// Its id.
    pub activity_id: i64,
    /// The provider's id for it.
    pub provider_activity_id: String,
    /// The provider's summary as stored (file URLs live there for some providers).
    pub raw_json: String,
    /// Attempts so far.
    pub attempts: i64,
}

/// Up to `limit` activities of `connection_id` whose recording is still to fetch, newest first:
/// never tried, or failed and due again (fewer than [`MAX_ATTEMPTS`]).
pub async fn pending(
    db: impl SqliteExecutor<'_>,
    connection_id: i64,
    limit: i64,
    now: DateTime<Utc>,
) -> Result<Vec<Pending>> {
    Ok(sqlx::query_as(
        "SELECT a.id AS activity_id, a.provider_activity_id, a.raw_json,
                COALESCE(r.attempts, 0) AS attempts
         FROM activities a LEFT JOIN recordings r ON r.activity_id = a.id
         WHERE a.connection_id = ?1 AND a.deleted_at IS NULL
           AND (r.activity_id IS NULL
                OR (r.status = 'failed' AND r.attempts < ?3 AND COALESCE(r.retry_at, 0) <= ?4))
         ORDER BY a.start_utc DESC, a.id DESC LIMIT ?2",
    )
    .bind(connection_id)
    .bind(limit)
    .bind(MAX_ATTEMPTS)
    .bind(to_ms(now))
    .fetch_all(db)
    .await?)
}

/// One activity, by id, with its provider id and summary: any activity (`only_pending: false`,
/// what a provider's laps request needs), or only one still to fetch (opening an activity whose
/// recording is missing; a failure's wait is skipped: the athlete asked).
pub async fn one(
    db: impl SqliteExecutor<'_>,
    activity_id: i64,
    only_pending: bool,
) -> Result<Option<Pending>> {
    Ok(sqlx::query_as(
        "SELECT a.id AS activity_id, a.provider_activity_id, a.raw_json,
                COALESCE(r.attempts, 0) AS attempts
         FROM activities a LEFT JOIN recordings r ON r.activity_id = a.id
         WHERE a.id = ?1 AND (NOT ?2 OR r.activity_id IS NULL OR r.status = 'failed')",
    )
    .bind(activity_id)
    .bind(only_pending)
    .fetch_optional(db)
    .await?)
}

/// Store the laps fetched for a recording that had none (its fetch counted in the rate window).
pub async fn set_laps(
    db: impl SqliteExecutor<'_>,
    activity_id: i64,
    laps: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE recordings SET laps = ?2, fetched_at = ?3, updated_at = ?3 WHERE activity_id = ?1",
    )
    .bind(activity_id)
    .bind(laps)
    .bind(to_ms(now))
    .execute(db)
    .await?;
    Ok(())
}

/// A connection's recordings, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Counts {
    /// Activities of the connection still listed.
    pub total: i64,
    /// Kept and decoded.
    pub stored: i64,
    /// Kept, undecodable.
    pub unreadable: i64,
    /// The provider has none.
    pub none: i64,
    /// Failed and given up on.
    pub given_up: i64,
    /// Still to fetch (never tried, or failed and to try again).
    pub pending: i64,
}

/// Forget what the queue learned of `activity_id`'s recording when it learned nothing (none, or
/// failed): the copy moved to a door that may have it, and is queued again. The counts the
/// triggers keep are kept here too (no trigger follows a deleted recording: a cascade from its
/// activity is counted by the activity's).
pub async fn forget_unfetched(db: &mut sqlx::SqliteConnection, activity_id: i64) -> Result<()> {
    sqlx::query(
        "UPDATE connection_counts SET
             rec_none = rec_none - (r.status = 'none'),
             rec_given_up = rec_given_up - (r.status = 'failed' AND r.attempts >= ?2)
         FROM recordings r JOIN activities a ON a.id = r.activity_id
         WHERE r.activity_id = ?1 AND a.deleted_at IS NULL
           AND connection_counts.connection_id = a.connection_id",
    )
    .bind(activity_id)
    .bind(MAX_ATTEMPTS)
    .execute(&mut *db)
    .await?;
    sqlx::query("DELETE FROM recordings WHERE activity_id = ?1 AND status IN ('none', 'failed')")
        .bind(activity_id)
        .execute(&mut *db)
        .await?;
    Ok(())
}

/// `connection_id`'s recordings, counted: read from the counts the triggers keep
/// (`connection_counts`), one row by primary key, whatever the library's size.
pub async fn counts(db: impl SqliteExecutor<'_>, connection_id: i64) -> Result<Counts> {
    let row: Option<(i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT listed, rec_stored, rec_unreadable, rec_none, rec_given_up
         FROM connection_counts WHERE connection_id = ?1",
    )
    .bind(connection_id)
    .fetch_optional(db)
    .await?;
    let (total, stored, unreadable, none, given_up) = row.unwrap_or_default();
    Ok(Counts {
        total,
        stored,
        unreadable,
        none,
        given_up,
        pending: (total - stored - unreadable - none - given_up).max(0),
    })
}

/// The same counts, read from the rows themselves (the tests' check of the triggers).
pub async fn counts_from_rows(db: impl SqliteExecutor<'_>, connection_id: i64) -> Result<Counts> {
    let row: (i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT count(*),
                count(*) FILTER (WHERE r.status = 'stored'),
                count(*) FILTER (WHERE r.status = 'unreadable'),
                count(*) FILTER (WHERE r.status = 'none'),
                count(*) FILTER (WHERE r.status = 'failed' AND r.attempts >= ?2)
         FROM activities a LEFT JOIN recordings r ON r.activity_id = a.id
         WHERE a.connection_id = ?1 AND a.deleted_at IS NULL",
    )
    .bind(connection_id)
    .bind(MAX_ATTEMPTS)
    .fetch_one(db)
    .await?;
    let (total, stored, unreadable, none, given_up) = row;
    Ok(Counts {
        total,
        stored,
        unreadable,
        none,
        given_up,
        pending: total - stored - unreadable - none - given_up,
    })
}

/// Requests the queue made for `connection_id` since `since`, and the oldest of them.
pub async fn spent_since(
    db: impl SqliteExecutor<'_>,
    connection_id: i64,
    since: DateTime<Utc>,
) -> Result<(i64, Option<DateTime<Utc>>)> {
    let (count, oldest): (i64, Option<i64>) = sqlx::query_as(
        // Driven from the recent fetches (`recordings_by_fetch`: a window's worth of rows), not
        // from the connection's activities (all of them): the `+` keeps the planner off
        // `activities`' connection index.
        "SELECT count(*), min(r.fetched_at) FROM recordings r JOIN activities a ON a.id = r.activity_id
         WHERE r.fetched_at >= ?2 AND +a.connection_id = ?1",
    )
    .bind(connection_id)
    .bind(to_ms(since))
    .fetch_one(db)
    .await?;
    Ok((count, oldest.map(from_ms)))
}

/// An outcome to write for one activity.
#[derive(Debug, Clone)]
pub struct Outcome<'a> {
    /// The activity.
    pub activity_id: i64,
    /// What came of it.
    pub status: RecordingStatus,
    /// The original kept (hash, format, sizes), when there is one.
    pub original: Option<(&'a str, &'a str, i64, i64)>,
    /// `original` or `streams`, when something was kept.
    pub source: Option<&'a str>,
    /// Why (unreadable, none, failed).
    pub reason: Option<&'a str>,
    /// Packed streams.
    pub streams: Option<&'a [u8]>,
    /// The streams' index (JSON).
    pub stream_index: Option<&'a str>,
    /// Laps (JSON).
    pub laps: Option<&'a str>,
    /// Samples.
    pub points: i64,
    /// Whether there is a position track.
    pub has_track: bool,
    /// When to try again (failed).
    pub retry_at: Option<DateTime<Utc>>,
    /// Whether a request was made for it (counted against the budget).
    pub fetched: bool,
}

impl<'a> Outcome<'a> {
    /// An outcome with nothing kept (none, failed): its status and why.
    pub fn nothing_kept(
        activity_id: i64,
        status: RecordingStatus,
        reason: &'a str,
        retry_at: Option<DateTime<Utc>>,
        fetched: bool,
    ) -> Self {
        Self {
            activity_id,
            status,
            original: None,
            source: None,
            reason: Some(reason),
            streams: None,
            stream_index: None,
            laps: None,
            points: 0,
            has_track: false,
            retry_at,
            fetched,
        }
    }
}

/// Write `outcome` (the original's row first; both in the caller's transaction).
pub async fn save(
    tx: &mut sqlx::SqliteConnection,
    outcome: &Outcome<'_>,
    now: DateTime<Utc>,
) -> Result<()> {
    if let Some((sha256, format, bytes, stored_bytes)) = outcome.original {
        sqlx::query(
            "INSERT INTO originals (sha256, format, bytes, stored_bytes, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(sha256)
        .bind(format)
        .bind(bytes)
        .bind(stored_bytes)
        .bind(to_ms(now))
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO recordings (activity_id, status, sha256, source, reason, attempts, retry_at,
             streams, stream_index, laps, points, has_track, fetched_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (activity_id) DO UPDATE SET status = excluded.status,
             sha256 = excluded.sha256, source = excluded.source, reason = excluded.reason,
             attempts = recordings.attempts + 1, retry_at = excluded.retry_at,
             streams = excluded.streams, stream_index = excluded.stream_index,
             laps = excluded.laps, points = excluded.points, has_track = excluded.has_track,
             fetched_at = COALESCE(excluded.fetched_at, recordings.fetched_at),
             updated_at = excluded.updated_at",
    )
    .bind(outcome.activity_id)
    .bind(outcome.status.as_str())
    .bind(outcome.original.map(|o| o.0))
    .bind(outcome.source)
    .bind(outcome.reason)
    .bind(outcome.retry_at.map(to_ms))
    .bind(outcome.streams)
    .bind(outcome.stream_index)
    .bind(outcome.laps)
    .bind(outcome.points)
    .bind(outcome.has_track)
    .bind(outcome.fetched.then(|| to_ms(now)))
    .bind(to_ms(now))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// One activity's recording as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    /// The activity.
    pub activity_id: i64,
    /// Status text.
    status: String,
    /// The original's hash.
    pub sha256: Option<String>,
    /// The original's format.
    pub format: Option<String>,
    /// The original's size.
    pub bytes: Option<i64>,
    /// `original` or `streams`.
    pub source: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// Attempts.
    pub attempts: i64,
    /// Packed streams.
    pub streams: Option<Vec<u8>>,
    /// The streams' index (JSON).
    pub stream_index: Option<String>,
    /// Laps (JSON).
    pub laps: Option<String>,
    /// Samples.
    pub points: i64,
    /// Whether there is a track.
    pub has_track: bool,
}

impl Row {
    /// Its status.
    pub fn status(&self) -> RecordingStatus {
        RecordingStatus::parse(&self.status)
    }
}

/// The recording of `activity_id`, with its streams.
pub async fn get(db: impl SqliteExecutor<'_>, activity_id: i64) -> Result<Option<Row>> {
    Ok(sqlx::query_as(
        "SELECT r.activity_id, r.status, r.sha256, o.format, o.bytes, r.source, r.reason,
                r.attempts, r.streams, r.stream_index, r.laps, r.points, r.has_track
         FROM recordings r LEFT JOIN originals o ON o.sha256 = r.sha256
         WHERE r.activity_id = ?1",
    )
    .bind(activity_id)
    .fetch_optional(db)
    .await?)
}

/// Every original still referenced (the sweep keeps these files); unreferenced rows are deleted
/// first, in the same transaction.
pub async fn collect_unreferenced(tx: &mut sqlx::SqliteConnection) -> Result<HashSet<String>> {
    sqlx::query(
        "DELETE FROM originals WHERE sha256 NOT IN
             (SELECT sha256 FROM recordings WHERE sha256 IS NOT NULL
              UNION ALL SELECT sha256 FROM import_files WHERE sha256 IS NOT NULL)",
    )
    .execute(&mut *tx)
    .await?;
    let kept: Vec<String> = sqlx::query_scalar("SELECT sha256 FROM originals")
        .fetch_all(&mut *tx)
        .await?;
    Ok(kept.into_iter().collect())
}

/// One line of the originals export.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExportRow {
    /// The activity.
    pub activity_id: i64,
    /// Its provider.
    pub provider: String,
    /// The provider's id.
    pub provider_activity_id: String,
    /// When it started (ms).
    pub start_utc: i64,
    /// The original's hash, when there is one.
    pub sha256: Option<String>,
    /// Its format.
    pub format: Option<String>,
    /// Packed streams (for a GPX where there is no original).
    pub streams: Option<Vec<u8>>,
}

/// Every activity with an original or streams, oldest first.
pub async fn exportable(db: impl SqliteExecutor<'_>) -> Result<Vec<ExportRow>> {
    Ok(sqlx::query_as(
        "SELECT a.id AS activity_id, a.provider, a.provider_activity_id, a.start_utc, r.sha256,
                o.format, CASE WHEN r.sha256 IS NULL THEN r.streams END AS streams
         FROM recordings r JOIN activities a ON a.id = r.activity_id
         LEFT JOIN originals o ON o.sha256 = r.sha256
         WHERE r.sha256 IS NOT NULL OR (r.streams IS NOT NULL AND r.status = 'stored')
         ORDER BY a.start_utc, a.id",
    )
    .fetch_all(db)
    .await?)
}

/// The copy whose recording `workout_id` shows, when the athlete chose one.
pub async fn chosen_copy(db: impl SqliteExecutor<'_>, workout_id: i64) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT recording_activity_id FROM workouts WHERE id = ?1")
            .bind(workout_id)
            .fetch_optional(db)
            .await?
            .flatten(),
    )
}

/// Pin (or, with `None`, unpin) the copy whose recording `workout_id` shows.
pub async fn choose_copy(
    db: impl SqliteExecutor<'_>,
    workout_id: i64,
    activity_id: Option<i64>,
) -> Result<()> {
    sqlx::query("UPDATE workouts SET recording_activity_id = ?2 WHERE id = ?1")
        .bind(workout_id)
        .bind(activity_id)
        .execute(db)
        .await?;
    Ok(())
}
