//! `activities`: one row per provider activity, unique on (provider, provider_activity_id).

use super::{from_ms, parse_enum, to_ms};
use crate::Result;
use crate::domain::{Activity, NewActivity, ProviderKind};
use chrono::{DateTime, Utc};
use sqlx::{SqliteConnection, SqliteExecutor};

/// What an upsert did with one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    /// A new row.
    Created,
    /// An existing row whose content changed.
    Updated,
    /// An existing row, unchanged.
    Skipped,
}

/// Insert or update one activity by (provider, provider_activity_id). Content is compared on the
/// provider's raw record: the normalised columns are a pure function of it.
pub async fn upsert(
    db: &mut SqliteConnection,
    connection_id: i64,
    provider: ProviderKind,
    activity: &NewActivity,
    now: DateTime<Utc>,
) -> Result<Upserted> {
    let raw = activity.raw.to_string();
    let existing: Option<(String, Option<i64>)> = sqlx::query_as(
        "SELECT raw_json, connection_id FROM activities
         WHERE provider = ?1 AND provider_activity_id = ?2",
    )
    .bind(provider.as_str())
    .bind(&activity.provider_activity_id)
    .fetch_optional(&mut *db)
    .await?;
    let outcome = match &existing {
        None => Upserted::Created,
        Some((old_raw, old_conn)) if *old_raw == raw && *old_conn == Some(connection_id) => {
            return Ok(Upserted::Skipped);
        }
        Some(_) => Upserted::Updated,
    };
    sqlx::query(
        "INSERT INTO activities (connection_id, provider, provider_activity_id, sport, name,
             start_utc, utc_offset_seconds, elapsed_seconds, moving_seconds, distance_m,
             elevation_gain_m, avg_heart_rate, max_heart_rate, calories, avg_power_w, max_power_w,
             device, raw_json, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?19)
         ON CONFLICT (provider, provider_activity_id) DO UPDATE SET
             connection_id = excluded.connection_id, sport = excluded.sport, name = excluded.name,
             start_utc = excluded.start_utc, utc_offset_seconds = excluded.utc_offset_seconds,
             elapsed_seconds = excluded.elapsed_seconds, moving_seconds = excluded.moving_seconds,
             distance_m = excluded.distance_m, elevation_gain_m = excluded.elevation_gain_m,
             avg_heart_rate = excluded.avg_heart_rate, max_heart_rate = excluded.max_heart_rate,
             calories = excluded.calories, avg_power_w = excluded.avg_power_w,
             max_power_w = excluded.max_power_w, device = excluded.device,
             raw_json = excluded.raw_json, updated_at = excluded.updated_at",
    )
    .bind(connection_id)
    .bind(provider.as_str())
    .bind(&activity.provider_activity_id)
    .bind(activity.sport.as_str())
    .bind(&activity.name)
    .bind(to_ms(activity.start_utc))
    .bind(activity.utc_offset_seconds)
    .bind(activity.elapsed_seconds)
    .bind(activity.moving_seconds)
    .bind(activity.distance_m)
    .bind(activity.elevation_gain_m)
    .bind(activity.avg_heart_rate)
    .bind(activity.max_heart_rate)
    .bind(activity.calories)
    .bind(activity.avg_power_w)
    .bind(activity.max_power_w)
    .bind(&activity.device)
    .bind(raw)
    .bind(to_ms(now))
    .execute(&mut *db)
    .await?;
    Ok(outcome)
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    connection_id: Option<i64>,
    provider: String,
    provider_activity_id: String,
    sport: String,
    name: Option<String>,
    start_utc: i64,
    utc_offset_seconds: Option<i32>,
    elapsed_seconds: Option<i64>,
    moving_seconds: Option<i64>,
    distance_m: Option<f64>,
    elevation_gain_m: Option<f64>,
    avg_heart_rate: Option<f64>,
    max_heart_rate: Option<f64>,
    calories: Option<f64>,
    avg_power_w: Option<f64>,
    max_power_w: Option<f64>,
    device: Option<String>,
    raw_json: String,
}

impl Row {
    fn into_domain(self) -> Result<Activity> {
        Ok(Activity {
            id: self.id,
            connection_id: self.connection_id.unwrap_or_default(),
            provider: parse_enum("provider", &self.provider)?,
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
                raw: serde_json::from_str(&self.raw_json).unwrap_or(serde_json::Value::Null),
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
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, connection_id, provider, provider_activity_id, sport, name, start_utc,
             utc_offset_seconds, elapsed_seconds, moving_seconds, distance_m, elevation_gain_m,
             avg_heart_rate, max_heart_rate, calories, avg_power_w, max_power_w, device, raw_json
         FROM activities WHERE (?1 IS NULL OR provider = ?1)
         ORDER BY start_utc DESC, id DESC LIMIT ?2 OFFSET ?3",
    )
    .bind(provider.map(ProviderKind::as_str))
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(Row::into_domain).collect()
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

/// The start of the newest activity stored for a provider (the incremental sync's high-water mark).
pub async fn latest_start(
    db: impl SqliteExecutor<'_>,
    provider: ProviderKind,
) -> Result<Option<DateTime<Utc>>> {
    let ms: Option<i64> =
        sqlx::query_scalar("SELECT MAX(start_utc) FROM activities WHERE provider = ?1")
            .bind(provider.as_str())
            .fetch_one(db)
            .await?;
    Ok(ms.map(from_ms))
}

/// Delete every activity of a provider; returns how many.
pub async fn delete_for_provider(
    db: impl SqliteExecutor<'_>,
    provider: ProviderKind,
) -> Result<u64> {
    let done = sqlx::query("DELETE FROM activities WHERE provider = ?1")
        .bind(provider.as_str())
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

/// Re-attach a provider's detached activities (kept at a disconnect) to its new connection.
pub async fn adopt(
    db: impl SqliteExecutor<'_>,
    provider: ProviderKind,
    connection_id: i64,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE activities SET connection_id = ?2 WHERE provider = ?1 AND connection_id IS NULL",
    )
    .bind(provider.as_str())
    .bind(connection_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
