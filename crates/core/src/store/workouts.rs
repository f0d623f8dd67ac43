//! `workouts`, and the link columns of `activities` (`workout_id`, `counted`, `link_reason`,
//! `link_confidence`, `link_pinned`): the linker's reads and writes. Which copies are linked, and
//! why, is decided in `linking`; here they are only read and written.

use super::to_ms;
use crate::Result;
use crate::domain::LinkCopy as Copy;
use chrono::{DateTime, Utc};
use sqlx::SqliteExecutor;

#[derive(sqlx::FromRow)]
struct CopyRow {
    id: i64,
    provider: String,
    provider_activity_id: String,
    sport: String,
    start_utc: i64,
    utc_offset_seconds: Option<i32>,
    elapsed_seconds: Option<i64>,
    distance_m: Option<f64>,
    workout_id: Option<i64>,
    link_pinned: i64,
    completeness: i64,
    deleted: bool,
}

impl CopyRow {
    fn into_copy(self) -> Option<Copy> {
        let provider: crate::domain::Source = self.provider.parse().ok()?;
        Some(Copy {
            id: self.id,
            provider,
            same_as: provider
                .ids_of()
                .map(|p| format!("{p}:{}", self.provider_activity_id)),
            sport: self.sport.parse().ok()?,
            start: self.start_utc.div_euclid(1000),
            offset: self.utc_offset_seconds,
            elapsed: self.elapsed_seconds,
            distance: self.distance_m,
            workout: self.workout_id,
            pinned: self.link_pinned,
            completeness: self.completeness,
            deleted: self.deleted,
        })
    }
}

macro_rules! copy_columns {
    () => {
        "id, provider, provider_activity_id, sport, start_utc, utc_offset_seconds, elapsed_seconds, distance_m, workout_id,
         link_pinned, deleted_at IS NOT NULL AS deleted,
         (elapsed_seconds IS NOT NULL) + (moving_seconds IS NOT NULL) + (distance_m IS NOT NULL)
         + (elevation_gain_m IS NOT NULL) + (avg_heart_rate IS NOT NULL)
         + (max_heart_rate IS NOT NULL) + (calories IS NOT NULL) + (avg_power_w IS NOT NULL)
         + (max_power_w IS NOT NULL) + (device IS NOT NULL) + (name IS NOT NULL) AS completeness"
    };
}

/// Reads the copies starting in `[from, to]` (ms), as the linker knows them (a row whose provider
/// or sport this version does not know is left out).
pub async fn copies_in(db: impl SqliteExecutor<'_>, from: i64, to: i64) -> Result<Vec<Copy>> {
    let rows: Vec<CopyRow> = sqlx::query_as(concat!(
        "SELECT ",
        copy_columns!(),
        " FROM activities WHERE start_utc BETWEEN ?1 AND ?2"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().filter_map(CopyRow::into_copy).collect())
}

/// Reads the copies of `workouts`, as the linker knows them (see [`copies_in`]).
pub async fn copies_of_workouts(
    db: impl SqliteExecutor<'_>,
    workouts: &[i64],
) -> Result<Vec<Copy>> {
    if workouts.is_empty() {
        return Ok(Vec::new());
    }
    let ids = serde_json::Value::from(workouts.to_vec()).to_string();
    let rows: Vec<CopyRow> = sqlx::query_as(concat!(
        "SELECT ",
        copy_columns!(),
        " FROM activities WHERE workout_id IN (SELECT value FROM json_each(?1))"
    ))
    .bind(ids)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().filter_map(CopyRow::into_copy).collect())
}

/// Reads the earliest and latest start (ms) of the activities `ids` (none when none exists).
pub async fn start_span(
    db: impl SqliteExecutor<'_>,
    ids: &[i64],
) -> Result<(Option<i64>, Option<i64>)> {
    let list = serde_json::Value::from(ids.to_vec()).to_string();
    Ok(sqlx::query_as(
        "SELECT MIN(start_utc), MAX(start_utc) FROM activities
         WHERE id IN (SELECT value FROM json_each(?1))",
    )
    .bind(&list)
    .fetch_one(db)
    .await?)
}

/// Reads whether the activities `ids` come from more than one provider, or another provider has
/// an activity starting in `[from, to]` (ms). One indexed look.
pub async fn other_providers_near(
    db: impl SqliteExecutor<'_>,
    from: i64,
    to: i64,
    ids: &[i64],
) -> Result<bool> {
    let list = serde_json::Value::from(ids.to_vec()).to_string();
    Ok(sqlx::query_scalar(
        "WITH mine AS (SELECT DISTINCT provider FROM activities
                       WHERE id IN (SELECT value FROM json_each(?3)))
         SELECT (SELECT COUNT(*) FROM mine) > 1
             OR EXISTS (SELECT 1 FROM activities WHERE start_utc BETWEEN ?1 AND ?2
                          AND provider NOT IN (SELECT provider FROM mine))",
    )
    .bind(from)
    .bind(to)
    .bind(&list)
    .fetch_one(db)
    .await?)
}

/// Deletes workout `id`.
pub async fn delete(db: impl SqliteExecutor<'_>, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM workouts WHERE id = ?1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Inserts a workout with no primary yet; returns its id.
pub async fn create(db: impl SqliteExecutor<'_>, now: DateTime<Utc>) -> Result<i64> {
    let row: (i64,) = sqlx::query_as(
        "INSERT INTO workouts (primary_activity_id, primary_pinned, created_at)
                     VALUES (NULL, 0, ?1) RETURNING id",
    )
    .bind(to_ms(now))
    .fetch_one(db)
    .await?;
    Ok(row.0)
}

/// Inserts a workout whose primary is `primary` (not pinned); returns its id.
pub async fn create_with_primary(
    db: impl SqliteExecutor<'_>,
    primary: i64,
    now: DateTime<Utc>,
) -> Result<i64> {
    let row: (i64,) = sqlx::query_as(
        "INSERT INTO workouts (primary_activity_id, primary_pinned, created_at)
                 VALUES (?1, 0, ?2) RETURNING id",
    )
    .bind(primary)
    .bind(to_ms(now))
    .fetch_one(db)
    .await?;
    Ok(row.0)
}

/// Writes activity `id`'s workout, and its link reason and confidence where given (else keeps
/// the stored ones).
pub async fn set_workout(
    db: impl SqliteExecutor<'_>,
    id: i64,
    workout: i64,
    reason: Option<String>,
    confidence: Option<f64>,
) -> Result<()> {
    sqlx::query(
        "UPDATE activities SET workout_id = ?2,
                     link_reason = COALESCE(?3, link_reason),
                     link_confidence = COALESCE(?4, link_confidence)
                 WHERE id = ?1",
    )
    .bind(id)
    .bind(workout)
    .bind(reason)
    .bind(confidence)
    .execute(db)
    .await?;
    Ok(())
}

/// Writes activity `id` as standing alone: no workout, no reason or confidence, counted; a pin
/// of 1 (linked by the athlete) becomes 0, a pin of 2 (kept apart) stays.
pub async fn set_alone(db: impl SqliteExecutor<'_>, id: i64) -> Result<()> {
    sqlx::query(
        "UPDATE activities SET workout_id = NULL, link_reason = NULL, link_confidence = NULL,
             counted = 1, link_pinned = CASE link_pinned WHEN 1 THEN 0 ELSE link_pinned END
         WHERE id = ?1",
    )
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Reads workout `id`'s primary and whether it is pinned (1), if the workout exists.
pub async fn primary_of(
    db: impl SqliteExecutor<'_>,
    id: i64,
) -> Result<Option<(Option<i64>, i64)>> {
    Ok(
        sqlx::query_as("SELECT primary_activity_id, primary_pinned FROM workouts WHERE id = ?1")
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

/// Reads the copy of `workout` that `linking`'s election order puts first (written in this
/// statement's ORDER BY: still listed, then the athlete's pick `pinned`, then a start time that
/// is not hidden, then the most complete, then the first stored).
pub async fn first_in_election_order(
    db: impl SqliteExecutor<'_>,
    workout: i64,
    pinned: Option<i64>,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT a.id FROM activities a WHERE a.workout_id = ?1
         ORDER BY a.deleted_at IS NOT NULL,
                  -- the athlete's pick, while the provider still lists it: a pick that was
                  -- deleted at the provider would count a copy the totals leave out
                  a.id IS ?2 DESC,
                  -- a hidden start time (local 00:00:01) is not the session's real time
                  (a.start_utc / 1000 + COALESCE(a.utc_offset_seconds, 0)) % 86400 = 1,
                  (a.elapsed_seconds IS NOT NULL) + (a.moving_seconds IS NOT NULL)
                  + (a.distance_m IS NOT NULL) + (a.elevation_gain_m IS NOT NULL)
                  + (a.avg_heart_rate IS NOT NULL) + (a.max_heart_rate IS NOT NULL)
                  + (a.calories IS NOT NULL) + (a.avg_power_w IS NOT NULL)
                  + (a.max_power_w IS NOT NULL) + (a.device IS NOT NULL) DESC,
                  a.id
         LIMIT 1",
    )
    .bind(workout)
    .bind(pinned)
    .fetch_optional(db)
    .await?)
}

/// Writes workout `id`'s primary; its pin is kept only while the primary is still `pinned`.
pub async fn set_primary(
    db: impl SqliteExecutor<'_>,
    id: i64,
    primary: Option<i64>,
    pinned: Option<i64>,
) -> Result<()> {
    sqlx::query(
        "UPDATE workouts SET primary_activity_id = ?2,
             primary_pinned = primary_pinned AND ?2 IS ?3
         WHERE id = ?1",
    )
    .bind(id)
    .bind(primary)
    .bind(pinned)
    .execute(db)
    .await?;
    Ok(())
}

/// Writes `counted` on workout `id`'s copies: its primary counts, the others do not.
pub async fn count_primary(db: impl SqliteExecutor<'_>, id: i64) -> Result<()> {
    sqlx::query(
        "UPDATE activities SET counted = (id = (SELECT primary_activity_id FROM workouts
                                                WHERE workouts.id = ?1))
         WHERE workout_id = ?1",
    )
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Reads the activities in no workout and not pinned, by start then id.
pub async fn unlinked(db: impl SqliteExecutor<'_>) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM activities WHERE workout_id IS NULL AND link_pinned = 0
         ORDER BY start_utc, id",
    )
    .fetch_all(db)
    .await?)
}

/// Reads activity `id`'s workout: `None` when the activity does not exist, `Some(None)` when it
/// stands alone.
pub async fn workout_of(db: impl SqliteExecutor<'_>, id: i64) -> Result<Option<Option<i64>>> {
    Ok(
        sqlx::query_scalar("SELECT workout_id FROM activities WHERE id = ?1")
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

/// Reads the providers of activities `a` and `b` (one per existing activity).
pub async fn providers_of(db: impl SqliteExecutor<'_>, a: i64, b: i64) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT provider FROM activities WHERE id IN (?1, ?2)")
            .bind(a)
            .bind(b)
            .fetch_all(db)
            .await?,
    )
}

/// Writes activities `a` and `b` as linked by the athlete (`link_pinned = 1`).
pub async fn pin_linked(db: impl SqliteExecutor<'_>, a: i64, b: i64) -> Result<()> {
    sqlx::query("UPDATE activities SET link_pinned = 1 WHERE id IN (?1, ?2)")
        .bind(a)
        .bind(b)
        .execute(db)
        .await?;
    Ok(())
}

/// Reads the copies of `workout`, other than `other`, from `other`'s provider.
pub async fn same_provider_in(
    db: impl SqliteExecutor<'_>,
    workout: i64,
    other: i64,
) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM activities WHERE workout_id = ?1 AND id != ?2
           AND provider = (SELECT provider FROM activities WHERE id = ?2)",
    )
    .bind(workout)
    .bind(other)
    .fetch_all(db)
    .await?)
}

/// Writes activity `id` as the linker's again (`link_pinned = 0`).
pub async fn unpin(db: impl SqliteExecutor<'_>, id: i64) -> Result<()> {
    sqlx::query("UPDATE activities SET link_pinned = 0 WHERE id = ?1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Writes activity `id` into `workout` as linked by the athlete (pinned, reason "linked by you",
/// confidence 1).
pub async fn link_by_athlete(db: impl SqliteExecutor<'_>, id: i64, workout: i64) -> Result<()> {
    sqlx::query(
        "UPDATE activities SET workout_id = ?2, link_pinned = 1, link_reason = 'linked by you',
                 link_confidence = 1.0 WHERE id = ?1",
    )
    .bind(id)
    .bind(workout)
    .execute(db)
    .await?;
    Ok(())
}

/// Writes activity `id` as kept apart by the athlete (`link_pinned = 2`).
pub async fn keep_apart(db: impl SqliteExecutor<'_>, id: i64) -> Result<()> {
    sqlx::query("UPDATE activities SET link_pinned = 2 WHERE id = ?1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Writes `primary` as workout `id`'s primary, pinned (the athlete's pick).
pub async fn pin_primary(db: impl SqliteExecutor<'_>, id: i64, primary: i64) -> Result<()> {
    sqlx::query("UPDATE workouts SET primary_activity_id = ?2, primary_pinned = 1 WHERE id = ?1")
        .bind(id)
        .bind(primary)
        .execute(db)
        .await?;
    Ok(())
}

/// Reads the workouts holding any of the activities `ids`.
pub async fn workouts_of(db: impl SqliteExecutor<'_>, ids: &[i64]) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT workout_id FROM activities
         WHERE id IN (SELECT value FROM json_each(?1)) AND workout_id IS NOT NULL",
    )
    .bind(serde_json::Value::from(ids.to_vec()).to_string())
    .fetch_all(db)
    .await?)
}

/// Reads the workouts of `connection`'s activities flagged deleted at `flagged_at`.
pub async fn workouts_flagged(
    db: impl SqliteExecutor<'_>,
    connection: i64,
    flagged_at: DateTime<Utc>,
) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT workout_id FROM activities
         WHERE connection_id = ?1 AND deleted_at = ?2 AND workout_id IS NOT NULL",
    )
    .bind(connection)
    .bind(to_ms(flagged_at))
    .fetch_all(db)
    .await?)
}

/// Reads the activities in workout `id`.
pub async fn members(db: impl SqliteExecutor<'_>, id: i64) -> Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM activities WHERE workout_id = ?1")
            .bind(id)
            .fetch_all(db)
            .await?,
    )
}

/// Reads every workout, by id: its id, its primary, and whether the athlete chose it.
pub async fn list(db: impl SqliteExecutor<'_>) -> Result<Vec<(i64, Option<i64>, bool)>> {
    Ok(sqlx::query_as(
        "SELECT id, primary_activity_id, primary_pinned = 1 FROM workouts ORDER BY id",
    )
    .fetch_all(db)
    .await?)
}
