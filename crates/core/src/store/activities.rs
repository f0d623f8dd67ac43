//! `activities`: one row per provider activity, unique on (provider, provider_activity_id).

use super::{from_ms, parse_enum, to_ms};
use crate::Result;
use crate::domain::{Activity, NewActivity, ProviderKind};
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqliteExecutor};
use std::collections::{HashMap, HashSet};

/// The columns of [`ActivityRecord`] but its raw payload, each prefixed with `$p` (a table
/// alias such as `"a."`, or `""`); a read appends `, raw_json` or `, NULL AS raw_json`.
macro_rules! record_columns {
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "provider, ",
            $p,
            "provider_activity_id, ",
            $p,
            "connection_id, ",
            $p,
            "sport, ",
            $p,
            "name, ",
            $p,
            "start_utc, ",
            $p,
            "utc_offset_seconds, ",
            $p,
            "elapsed_seconds, ",
            $p,
            "moving_seconds, ",
            $p,
            "distance_m, ",
            $p,
            "elevation_gain_m, ",
            $p,
            "avg_heart_rate, ",
            $p,
            "max_heart_rate, ",
            $p,
            "calories, ",
            $p,
            "avg_power_w, ",
            $p,
            "max_power_w, ",
            $p,
            "device, ",
            $p,
            "deleted_at, ",
            $p,
            "workout_id, ",
            $p,
            "counted = 1 AS counted, ",
            $p,
            "link_reason, ",
            $p,
            "link_confidence, ",
            $p,
            "link_pinned"
        )
    };
}
pub(crate) use record_columns;

/// What an upsert did with one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    /// A new row.
    Created,
    /// An existing row whose content changed (or that was flagged deleted and is listed again).
    Updated,
    /// An existing row, unchanged.
    Skipped,
}

#[derive(sqlx::FromRow)]
struct Existing {
    provider_activity_id: String,
    raw_json: String,
    connection_id: Option<i64>,
    deleted: bool,
}

/// Insert or update a page of activities by (provider, provider_activity_id) in two statements:
/// one read of the rows that exist (the ids as one JSON array, unpacked by SQLite's `json_each`),
/// one multi-row write of the new and changed ones. Content is compared on the provider's raw record:
/// the normalised columns are a pure function of it. `seen_walk`, when given, marks every record
/// as seen by that full walk (reconcile flags what a complete walk did not see). Returns what
/// happened to each record, in order. Duplicate ids within the page count once, as the first.
pub async fn upsert_page(
    db: &mut SqliteConnection,
    connection_id: i64,
    provider: ProviderKind,
    activities: &[&NewActivity],
    seen_walk: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(Vec<Upserted>, Vec<i64>)> {
    if activities.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let ids = serde_json::Value::from(
        activities
            .iter()
            .map(|a| a.provider_activity_id.clone())
            .collect::<Vec<_>>(),
    )
    .to_string();
    let existing: Vec<Existing> = sqlx::query_as(
        "SELECT provider_activity_id, raw_json, connection_id, deleted_at IS NOT NULL AS deleted
         FROM activities
         WHERE provider = ?1 AND provider_activity_id IN (SELECT value FROM json_each(?2))",
    )
    .bind(provider.as_str())
    .bind(&ids)
    .fetch_all(&mut *db)
    .await?;
    let existing: HashMap<String, Existing> = existing
        .into_iter()
        .map(|e| (e.provider_activity_id.clone(), e))
        .collect();
    let mut outcomes = Vec::with_capacity(activities.len());
    let mut writes = Vec::new();
    let mut seen_in_page = HashSet::new();
    for activity in activities {
        let raw = super::scrubbed(&activity.raw);
        if !seen_in_page.insert(activity.provider_activity_id.as_str()) {
            outcomes.push(Upserted::Skipped);
            continue;
        }
        let outcome = match existing.get(&activity.provider_activity_id) {
            None => Upserted::Created,
            Some(e)
                if e.raw_json == raw && e.connection_id == Some(connection_id) && !e.deleted =>
            {
                Upserted::Skipped
            }
            Some(_) => Upserted::Updated,
        };
        outcomes.push(outcome);
        if outcome != Upserted::Skipped {
            writes.push((*activity, raw));
        }
    }
    let walk = seen_walk.map(to_ms);
    let stamp = to_ms(now);
    let mut changed = Vec::with_capacity(writes.len());
    // At most 200 rows of 22 values a statement: far below SQLite's 32,766 variables.
    for chunk in writes.chunks(200) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO activities (connection_id, provider, provider_activity_id, sport, name,
                 start_utc, utc_offset_seconds, elapsed_seconds, moving_seconds, distance_m,
                 elevation_gain_m, avg_heart_rate, max_heart_rate, calories, avg_power_w,
                 max_power_w, device, raw_json, created_at, updated_at, deleted_at, seen_walk) ",
        );
        insert.push_values(chunk, |mut row, (a, raw)| {
            row.push_bind(connection_id)
                .push_bind(provider.as_str())
                .push_bind(&a.provider_activity_id)
                .push_bind(a.sport.as_str())
                .push_bind(&a.name)
                .push_bind(to_ms(a.start_utc))
                .push_bind(a.utc_offset_seconds)
                .push_bind(a.elapsed_seconds)
                .push_bind(a.moving_seconds)
                .push_bind(finite(a.distance_m))
                .push_bind(finite(a.elevation_gain_m))
                .push_bind(finite(a.avg_heart_rate))
                .push_bind(finite(a.max_heart_rate))
                .push_bind(finite(a.calories))
                .push_bind(finite(a.avg_power_w))
                .push_bind(finite(a.max_power_w))
                .push_bind(&a.device)
                .push_bind(raw.as_str())
                .push_bind(stamp)
                .push_bind(stamp)
                .push_bind(Option::<i64>::None)
                .push_bind(walk);
        });
        insert.push(
            " ON CONFLICT (provider, provider_activity_id) DO UPDATE SET
                 connection_id = excluded.connection_id, sport = excluded.sport,
                 name = excluded.name, start_utc = excluded.start_utc,
                 utc_offset_seconds = excluded.utc_offset_seconds,
                 elapsed_seconds = excluded.elapsed_seconds,
                 moving_seconds = excluded.moving_seconds, distance_m = excluded.distance_m,
                 elevation_gain_m = excluded.elevation_gain_m,
                 avg_heart_rate = excluded.avg_heart_rate,
                 max_heart_rate = excluded.max_heart_rate, calories = excluded.calories,
                 avg_power_w = excluded.avg_power_w, max_power_w = excluded.max_power_w,
                 device = excluded.device, raw_json = excluded.raw_json,
                 updated_at = excluded.updated_at, deleted_at = NULL,
                 seen_walk = COALESCE(excluded.seen_walk, activities.seen_walk)
             RETURNING id",
        );
        let ids: Vec<i64> = insert.build_query_scalar().fetch_all(&mut *db).await?;
        changed.extend(ids);
    }
    if !changed.is_empty() {
        // The account the copy was read from is the connection's, at the time of reading.
        sqlx::query(
            "UPDATE activities
             SET (account, door) =
                 (SELECT provider_user_id, door FROM provider_connections WHERE id = ?1)
             WHERE id IN (SELECT value FROM json_each(?2))",
        )
        .bind(connection_id)
        .bind(serde_json::Value::from(changed.clone()).to_string())
        .execute(&mut *db)
        .await?;
    }
    if walk.is_some() {
        sqlx::query(
            "UPDATE activities SET seen_walk = ?3
             WHERE provider = ?1 AND provider_activity_id IN (SELECT value FROM json_each(?2))",
        )
        .bind(provider.as_str())
        .bind(&ids)
        .bind(walk)
        .execute(&mut *db)
        .await?;
    }
    Ok((outcomes, changed))
}

/// How far apart two doors' starts of one session may be and still be matched. Polar writes
/// both from one record, so they should agree to the second; a client that runs both doors
/// matches within 120 s [3P], and two sessions of one athlete a minute apart do not happen.
const SAME_START_MS: i64 = 60_000;
/// The most two copies' UTC starts of one session may differ when one door's offset was a
/// guess (Polar v4 without `timezoneOffsetMinutes`): their local wall times still agree.
const OFFSET_GUESS_MS: i64 = 14 * 3_600_000;

#[derive(sqlx::FromRow)]
struct Candidate {
    id: i64,
    start_utc: i64,
    local: i64,
    deleted: bool,
}

/// Give the copies `connection_id` brought through an older door whose ids differ from its
/// current door's (`older`) the ids the current door lists: a listed id not stored yet whose
/// start is within a minute of such a copy's, in UTC or in local wall time (one door's offset
/// may be a guess), is that copy, listed again under its new id. Pairs are made nearest first
/// across the page, a live copy before one flagged deleted. The copy keeps its row, so its
/// workout and history stay; a recording the old door could not give (none, failed) is asked
/// for again through the new one. Returns how many copies took a new id. Does nothing, in one
/// indexed query, once no such copy is left.
pub async fn rekey_from_older_doors(
    db: &mut SqliteConnection,
    connection_id: i64,
    provider: ProviderKind,
    older: &[&str],
    activities: &[&NewActivity],
) -> Result<u64> {
    if older.is_empty() || activities.is_empty() {
        return Ok(0);
    }
    let older = serde_json::Value::from(older.to_vec()).to_string();
    let any_left: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM activities
         WHERE connection_id = ?1 AND door IN (SELECT value FROM json_each(?2)))",
    )
    .bind(connection_id)
    .bind(&older)
    .fetch_one(&mut *db)
    .await?;
    if !any_left {
        return Ok(0);
    }
    let ids = serde_json::Value::from(
        activities
            .iter()
            .map(|a| a.provider_activity_id.clone())
            .collect::<Vec<_>>(),
    )
    .to_string();
    let stored: HashSet<String> = sqlx::query_scalar(
        "SELECT provider_activity_id FROM activities
         WHERE provider = ?1 AND provider_activity_id IN (SELECT value FROM json_each(?2))",
    )
    .bind(provider.as_str())
    .bind(&ids)
    .fetch_all(&mut *db)
    .await?
    .into_iter()
    .collect();
    // Every (distance, listed copy, stored copy) pair within reach, then nearest first.
    let mut pairs: Vec<((bool, i64), usize, i64)> = Vec::new();
    let mut seen = HashSet::new();
    for (n, activity) in activities.iter().enumerate() {
        let id = activity.provider_activity_id.as_str();
        if stored.contains(id) || !seen.insert(id) {
            continue;
        }
        let start = to_ms(activity.start_utc);
        let local =
            start.saturating_add(i64::from(activity.utc_offset_seconds.unwrap_or(0)) * 1000);
        let candidates: Vec<Candidate> = sqlx::query_as(
            "SELECT id, start_utc, start_utc + COALESCE(utc_offset_seconds, 0) * 1000 AS local,
                    deleted_at IS NOT NULL AS deleted
             FROM activities
             WHERE connection_id = ?1 AND provider = ?2
               AND door IN (SELECT value FROM json_each(?3))
               AND start_utc BETWEEN ?4 - ?5 AND ?4 + ?5",
        )
        .bind(connection_id)
        .bind(provider.as_str())
        .bind(&older)
        .bind(start)
        .bind(OFFSET_GUESS_MS)
        .fetch_all(&mut *db)
        .await?;
        for c in candidates {
            let apart = (c.start_utc - start).abs().min((c.local - local).abs());
            if apart <= SAME_START_MS {
                pairs.push(((c.deleted, apart), n, c.id));
            }
        }
    }
    pairs.sort_unstable();
    let (mut listed, mut rows) = (HashSet::new(), HashSet::new());
    let mut moved = 0;
    for (_, n, row) in pairs {
        if listed.contains(&n) || rows.contains(&row) {
            continue;
        }
        listed.insert(n);
        rows.insert(row);
        moved += sqlx::query(
            "UPDATE activities
             SET provider_activity_id = ?2,
                 door = (SELECT door FROM provider_connections WHERE id = ?3)
             WHERE id = ?1",
        )
        .bind(row)
        .bind(&activities[n].provider_activity_id)
        .bind(connection_id)
        .execute(&mut *db)
        .await?
        .rows_affected();
        // What the old door could not give may come through the new one.
        super::recordings::forget_unfetched(db, row).await?;
    }
    Ok(moved)
}

/// Insert or update one activity (see [`upsert_page`]).
pub async fn upsert(
    db: &mut SqliteConnection,
    connection_id: i64,
    provider: ProviderKind,
    activity: &NewActivity,
    now: DateTime<Utc>,
) -> Result<Upserted> {
    let (outcomes, _) = upsert_page(db, connection_id, provider, &[activity], None, now).await?;
    Ok(outcomes.first().copied().unwrap_or(Upserted::Skipped))
}

/// A float SQLite can store (JSON never carries NaN or infinities, but mappers compute).
fn finite(value: Option<f64>) -> Option<f64> {
    value.filter(|v| v.is_finite())
}

/// The newest start (not after `now`) among the connection's activities that the full walk begun
/// at `walk` saw: the mark that walk establishes.
pub async fn newest_seen(
    db: impl SqliteExecutor<'_>,
    connection_id: i64,
    walk: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    let ms: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(start_utc) FROM activities
         WHERE connection_id = ?1 AND seen_walk = ?2 AND start_utc <= ?3",
    )
    .bind(connection_id)
    .bind(to_ms(walk))
    .bind(to_ms(now))
    .fetch_one(db)
    .await?;
    Ok(ms.map(from_ms))
}

/// Flag the connection's activities a complete full walk (begun at `walk`) did not see, within
/// the provider's listable range (`since`, and not after the walk began): the provider no longer
/// lists them. They are kept. Only copies stored before the walk began are judged: one that
/// arrived meanwhile (a late upload an incremental run imported while a walk of several runs
/// had already passed its date) was never the walk's to see. Returns how many were flagged.
pub async fn flag_unseen(
    db: impl SqliteExecutor<'_>,
    connection_id: i64,
    walk: DateTime<Utc>,
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE activities SET deleted_at = ?4
         WHERE connection_id = ?1 AND deleted_at IS NULL
           AND account IS (SELECT provider_user_id FROM provider_connections WHERE id = ?1)
           AND created_at < ?2
           AND start_utc >= ?3 AND start_utc < ?2
           AND (seen_walk IS NULL OR seen_walk != ?2)",
    )
    .bind(connection_id)
    .bind(to_ms(walk))
    .bind(since.map_or(i64::MIN, to_ms))
    .bind(to_ms(now))
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

impl ActivityRecord {
    fn into_domain(self) -> Result<Activity> {
        Ok(Activity {
            id: self.id,
            connection_id: self.connection_id.unwrap_or_default(),
            provider: parse_enum("provider", &self.provider)?,
            deleted_at: self.deleted_at.map(from_ms),
            data: NewActivity {
                provider_activity_id: self.provider_activity_id,
                sport: parse_enum("sport", &self.sport)?,
                name: self.name,
                start_utc: from_ms(self.start_utc),
                utc_offset_seconds: self.utc_offset_seconds,
                elapsed_seconds: self.elapsed_seconds,
                moving_seconds: self.moving_seconds,
                distance_m: self.distance_m,
                elevation_gain_m: self.elevation_gain_m,
                avg_heart_rate: self.avg_heart_rate,
                max_heart_rate: self.max_heart_rate,
                calories: self.calories,
                avg_power_w: self.avg_power_w,
                max_power_w: self.max_power_w,
                device: self.device,
                raw: self
                    .raw_json
                    .as_deref()
                    .and_then(|r| serde_json::from_str(r).ok())
                    .unwrap_or(serde_json::Value::Null),
            },
        })
    }
}

/// Activities across providers, newest first; optionally one provider's.
pub async fn list(
    db: impl SqliteExecutor<'_>,
    provider: Option<ProviderKind>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Activity>> {
    let rows: Vec<ActivityRecord> = sqlx::query_as(concat!(
        "SELECT ",
        record_columns!(""),
        ", raw_json FROM activities WHERE (?1 IS NULL OR provider = ?1)
         ORDER BY start_utc DESC, id DESC LIMIT ?2 OFFSET ?3"
    ))
    .bind(provider.map(ProviderKind::as_str))
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(ActivityRecord::into_domain).collect()
}

/// One activity by row id.
pub async fn get(db: impl SqliteExecutor<'_>, id: i64) -> Result<Option<Activity>> {
    let row: Option<ActivityRecord> = sqlx::query_as(concat!(
        "SELECT ",
        record_columns!(""),
        ", raw_json FROM activities WHERE id = ?1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.map(ActivityRecord::into_domain).transpose()
}

/// How many activities each of an athlete's connections holds (flagged ones included: they are
/// kept), from the counts the triggers keep (`connection_counts`).
pub async fn count_per_connection(
    db: impl SqliteExecutor<'_>,
    athlete_id: i64,
) -> Result<Vec<(i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT c.id, COALESCE(n.activities, 0)
         FROM provider_connections c LEFT JOIN connection_counts n ON n.connection_id = c.id
         WHERE c.athlete_id = ?1",
    )
    .bind(athlete_id)
    .fetch_all(db)
    .await?)
}

/// How many activities belong to no connection (kept at a disconnect).
pub async fn count_detached(db: impl SqliteExecutor<'_>) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM activities WHERE connection_id IS NULL")
            .fetch_one(db)
            .await?,
    )
}

/// How many activities are stored (optionally for one provider).
pub async fn count(db: impl SqliteExecutor<'_>, provider: Option<ProviderKind>) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM activities WHERE (?1 IS NULL OR provider = ?1)")
            .bind(provider.map(ProviderKind::as_str))
            .fetch_one(db)
            .await?,
    )
}

/// Delete every activity of a provider; returns how many.
/// Up to `limit` ids of the activities read through `connection_id` (a disconnect deletes them
/// a batch at a time, so that no transaction holds the database for long).
pub async fn ids_of_connection(
    db: impl SqliteExecutor<'_>,
    connection_id: i64,
    limit: i64,
) -> Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM activities WHERE connection_id = ?1 LIMIT ?2")
            .bind(connection_id)
            .bind(limit)
            .fetch_all(db)
            .await?,
    )
}

/// Delete these activities.
pub async fn delete_ids(db: impl SqliteExecutor<'_>, ids: &[i64]) -> Result<u64> {
    let done = sqlx::query("DELETE FROM activities WHERE id IN (SELECT value FROM json_each(?1))")
        .bind(serde_json::Value::from(ids.to_vec()).to_string())
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

/// Attach a connection to the copies of its account: detach those read from another account
/// (an athlete who signed in to a different account keeps them, apart), and re-attach this
/// account's detached copies (kept at a disconnect), or those whose account is unknown.
pub async fn adopt(
    db: &mut SqliteConnection,
    provider: ProviderKind,
    connection_id: i64,
    account: Option<&str>,
) -> Result<u64> {
    sqlx::query(
        "UPDATE activities SET connection_id = NULL
         WHERE connection_id = ?1 AND account IS NOT NULL AND account IS NOT ?2",
    )
    .bind(connection_id)
    .bind(account)
    .execute(&mut *db)
    .await?;
    let done = sqlx::query(
        "UPDATE activities SET connection_id = ?2, account = ?3
         WHERE provider = ?1 AND connection_id IS NULL AND (account IS ?3 OR account IS NULL)",
    )
    .bind(provider.as_str())
    .bind(connection_id)
    .bind(account)
    .execute(&mut *db)
    .await?;
    Ok(done.rows_affected())
}

/// The accounts whose copies of `provider` are kept without a connection (a disconnect that
/// kept them), at most two (enough to tell one from several).
pub async fn detached_accounts(
    db: impl SqliteExecutor<'_>,
    provider: ProviderKind,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT account FROM activities
         WHERE provider = ?1 AND connection_id IS NULL AND account IS NOT NULL LIMIT 2",
    )
    .bind(provider.as_str())
    .fetch_all(db)
    .await?)
}

/// Whether any activity is stored.
pub async fn any(db: impl SqliteExecutor<'_>) -> Result<bool> {
    let any: Option<i64> = sqlx::query_scalar("SELECT 1 FROM activities LIMIT 1")
        .fetch_optional(db)
        .await?;
    Ok(any.is_some())
}

/// Counts workouts: the copies counted (one per session), as the triggers keep the figure.
pub async fn count_workouts(db: impl SqliteExecutor<'_>) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT workouts FROM library_counts WHERE id = 1")
            .fetch_optional(db)
            .await?
            .unwrap_or(0),
    )
}

/// How many activities are stored, and how many of them are counted (one per workout).
pub async fn count_and_counted(db: impl SqliteExecutor<'_>) -> Result<(i64, i64)> {
    Ok(
        sqlx::query_as("SELECT COUNT(*), COALESCE(SUM(counted), 0) FROM activities")
            .fetch_one(db)
            .await?,
    )
}

/// Reads up to `limit` activities with `id > after`, by id, as the export writes them (with
/// their workout, link and raw payload).
pub(crate) async fn export_batch(
    db: impl SqliteExecutor<'_>,
    after: i64,
    limit: i64,
) -> Result<Vec<ActivityRecord>> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        record_columns!(""),
        ", raw_json FROM activities WHERE id > ?1 ORDER BY id LIMIT ?2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// An activity as stored: the one declaration of its row, read by the store's every reader of
/// whole activities (the domain's `Activity`, the library's lists, the export) through
/// [`record_columns!`]. Serialised as the export writes it (the link pin and the raw payload are
/// the export's to write elsewhere).
#[derive(sqlx::FromRow, serde::Serialize)]
pub(crate) struct ActivityRecord {
    pub(crate) id: i64,
    pub(crate) provider: String,
    pub(crate) provider_activity_id: String,
    pub(crate) connection_id: Option<i64>,
    pub(crate) sport: String,
    pub(crate) name: Option<String>,
    #[serde(serialize_with = "ms_as_time")]
    pub(crate) start_utc: i64,
    pub(crate) utc_offset_seconds: Option<i32>,
    pub(crate) elapsed_seconds: Option<i64>,
    pub(crate) moving_seconds: Option<i64>,
    pub(crate) distance_m: Option<f64>,
    pub(crate) elevation_gain_m: Option<f64>,
    pub(crate) avg_heart_rate: Option<f64>,
    pub(crate) max_heart_rate: Option<f64>,
    pub(crate) calories: Option<f64>,
    pub(crate) avg_power_w: Option<f64>,
    pub(crate) max_power_w: Option<f64>,
    pub(crate) device: Option<String>,
    #[serde(serialize_with = "ms_as_time_opt")]
    pub(crate) deleted_at: Option<i64>,
    pub(crate) workout_id: Option<i64>,
    pub(crate) counted: bool,
    pub(crate) link_reason: Option<String>,
    pub(crate) link_confidence: Option<f64>,
    #[serde(skip)]
    pub(crate) link_pinned: i64,
    /// Absent where the read does not need it (`NULL AS raw_json`: the lists).
    #[serde(skip)]
    pub(crate) raw_json: Option<String>,
}

fn ms_as_time<S: serde::Serializer>(ms: &i64, s: S) -> std::result::Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&from_ms(*ms), s)
}

fn ms_as_time_opt<S: serde::Serializer>(
    ms: &Option<i64>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&ms.map(from_ms), s)
}

/// The connection an activity was read through (None once kept after a disconnect).
pub async fn connection_of(db: impl SqliteExecutor<'_>, id: i64) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT connection_id FROM activities WHERE id = ?1")
            .bind(id)
            .fetch_optional(db)
            .await?
            .flatten(),
    )
}

/// Whether the activity is still stored.
pub async fn exists(db: impl SqliteExecutor<'_>, id: i64) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM activities WHERE id = ?1")
        .bind(id)
        .fetch_optional(db)
        .await?;
    Ok(found.is_some())
}
