//! The athlete's library: the read side the views need at scale (100,000 activities, 10,000 runs).
//!
//! Every list pages by keyset (the last row's start and id), never by OFFSET, and every filter is
//! written into the SQL only when it is set, so SQLite can use the index that fits (a
//! `?1 IS NULL OR provider = ?1` term would defeat it and scan the table). Each query here has an
//! index of its own in the migrations; `benches/queries.rs` measures them and prints their plans.

use crate::domain::{Activity, ProviderKind, Sport, SyncStatus, SyncTrigger};
use crate::store::{Store, from_ms, parse_enum, to_ms};
use crate::{Error, ErrorCode, Result};
use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Sqlite};
use std::collections::HashMap;

/// The most rows one page returns.
pub const MAX_PAGE: u32 = 500;

/// What the activity and workout lists show.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ActivityFilter {
    /// Only this provider's copies (for workouts: workouts with a copy from it).
    pub provider: Option<ProviderKind>,
    /// Only this sport.
    pub sport: Option<Sport>,
    /// Started at or after.
    pub since: Option<DateTime<Utc>>,
    /// Started before.
    pub until: Option<DateTime<Utc>>,
    /// Words in the name or the device (case-insensitive).
    pub text: Option<String>,
}

/// Sort order (by start).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Newest first.
    #[default]
    NewestFirst,
    /// Oldest first.
    OldestFirst,
}

/// Which page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PageRequest {
    /// The `next` of the previous page (absent: the first page).
    pub after: Option<String>,
    /// Rows (1 to [`MAX_PAGE`]; 0 means 50).
    pub limit: u32,
    /// Sort order.
    pub order: Order,
}

/// How a copy came to be in its workout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum LinkChoice {
    /// The linker decided.
    Automatic,
    /// The athlete linked it (no sync moves it).
    Linked,
    /// The athlete kept it apart (never linked automatically again).
    KeptApart,
}

impl LinkChoice {
    fn from_pin(pin: i64) -> Self {
        match pin {
            1 => Self::Linked,
            2 => Self::KeptApart,
            _ => Self::Automatic,
        }
    }
}

/// One copy of a workout, as the list's badges show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CopyRef {
    /// Activity row id.
    pub activity_id: i64,
    /// Provider.
    pub provider: ProviderKind,
    /// The provider's id for it.
    pub provider_activity_id: String,
    /// Whether it is the copy shown and counted.
    pub primary: bool,
    /// Why it is in the workout.
    pub reason: Option<String>,
    /// How sure (0 to 1).
    pub confidence: Option<f64>,
    /// Who decided.
    pub choice: LinkChoice,
}

/// One row of the activity list (the normalised fields; the raw payload is in the detail).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ActivityRow {
    /// Row id.
    pub id: i64,
    /// Provider.
    pub provider: ProviderKind,
    /// The provider's id.
    pub provider_activity_id: String,
    /// Sport.
    pub sport: Sport,
    /// Title.
    pub name: Option<String>,
    /// Start.
    pub start_utc: DateTime<Utc>,
    /// Local offset, seconds.
    pub utc_offset_seconds: Option<i32>,
    /// Elapsed seconds.
    pub elapsed_seconds: Option<i64>,
    /// Moving seconds.
    pub moving_seconds: Option<i64>,
    /// Metres.
    pub distance_m: Option<f64>,
    /// Metres climbed.
    pub elevation_gain_m: Option<f64>,
    /// Average heart rate.
    pub avg_heart_rate: Option<f64>,
    /// Recording device.
    pub device: Option<String>,
    /// The provider no longer lists it (kept).
    pub deleted: bool,
    /// Its workout, when linked to other copies.
    pub workout_id: Option<i64>,
    /// Who decided its link.
    pub choice: LinkChoice,
    /// Every copy of its workout, itself included, primary first (just itself when it stands
    /// alone): the sources a list shows as badges.
    pub copies: Vec<CopyRef>,
}

/// A page of rows and where the next one starts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ActivityListing {
    /// Rows.
    pub items: Vec<ActivityRow>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<String>,
}

/// One activity with everything stored about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ActivityDetail {
    /// The activity, with its raw payload.
    pub activity: Activity,
    /// Its list row (workout and copies).
    pub row: ActivityRow,
}

/// A volume bucket's length.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// Monday to Sunday, local time.
    #[default]
    Week,
    /// Calendar month, local time.
    Month,
}

/// Training volume of one sport in one week or month, each workout counted once.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct VolumeBucket {
    /// First day of the week or month (`YYYY-MM-DD`, local).
    pub period_start: String,
    /// Sport.
    pub sport: Sport,
    /// Workouts.
    pub count: i64,
    /// Metres.
    pub distance_m: f64,
    /// Moving seconds (elapsed where a provider gives no moving time).
    pub seconds: i64,
    /// Metres climbed.
    pub elevation_m: f64,
}

/// One run, as the history chart plots it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RunPoint {
    /// Run id.
    pub id: i64,
    /// What started it.
    pub trigger: SyncTrigger,
    /// How it ended.
    pub status: SyncStatus,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// Milliseconds it took (absent while running).
    pub duration_ms: Option<i64>,
    /// Activities new.
    pub created: i64,
    /// Activities changed.
    pub updated: i64,
    /// Activities unchanged.
    pub skipped: i64,
    /// Records it could not store.
    pub failed: i64,
    /// Activities the provider no longer lists.
    pub deleted: i64,
    /// API calls.
    pub api_calls: i64,
    /// Quota left at the end, if the provider says.
    pub rate_limit_remaining: Option<i64>,
    /// The error's stable code.
    pub error_code: Option<ErrorCode>,
}

/// Where a page ended: the last row's start (ms) and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    start: i64,
    id: i64,
}

impl Cursor {
    fn parse(text: &str) -> Result<Self> {
        let bad = || Error::Validation(format!("'{text}' is not a page cursor"));
        let (start, id) = text.split_once(':').ok_or_else(bad)?;
        Ok(Self {
            start: start.parse().map_err(|_| bad())?,
            id: id.parse().map_err(|_| bad())?,
        })
    }

    fn render(self) -> String {
        format!("{}:{}", self.start, self.id)
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
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
    device: Option<String>,
    deleted: bool,
    workout_id: Option<i64>,
    link_pinned: i64,
}

const ROW_COLUMNS: &str = "a.id, a.provider, a.provider_activity_id, a.sport, a.name, a.start_utc,
    a.utc_offset_seconds, a.elapsed_seconds, a.moving_seconds, a.distance_m, a.elevation_gain_m,
    a.avg_heart_rate, a.device, a.deleted_at IS NOT NULL AS deleted, a.workout_id, a.link_pinned";

impl Row {
    fn into_row(self, mut copies: Vec<CopyRef>) -> Result<ActivityRow> {
        let provider = parse_enum("provider", &self.provider)?;
        if copies.is_empty() {
            copies.push(CopyRef {
                activity_id: self.id,
                provider,
                provider_activity_id: self.provider_activity_id.clone(),
                primary: true,
                reason: None,
                confidence: None,
                choice: LinkChoice::from_pin(self.link_pinned),
            });
        }
        Ok(ActivityRow {
            id: self.id,
            provider,
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
            device: self.device,
            deleted: self.deleted,
            workout_id: self.workout_id,
            choice: LinkChoice::from_pin(self.link_pinned),
            copies,
        })
    }
}

/// Which list: every copy, or one row per workout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Activities,
    Workouts,
}

/// Activities (every copy), filtered, in start order, one keyset page.
pub async fn activities(
    store: &Store,
    filter: &ActivityFilter,
    page: &PageRequest,
) -> Result<ActivityListing> {
    list(store, filter, page, Kind::Activities).await
}

/// Workouts: one row per session (the copy that stands for it), each with its copies.
pub async fn workouts(
    store: &Store,
    filter: &ActivityFilter,
    page: &PageRequest,
) -> Result<ActivityListing> {
    list(store, filter, page, Kind::Workouts).await
}

fn limit_of(page: &PageRequest) -> Result<i64> {
    match page.limit {
        0 => Ok(50),
        n if n <= MAX_PAGE => Ok(i64::from(n)),
        n => Err(Error::Validation(format!(
            "a page holds at most {MAX_PAGE} rows, not {n}"
        ))),
    }
}

/// Matches beyond which a search walks the list in order instead of sorting its matches.
const COMMON_WORD: i64 = 1000;

/// Whether the FTS5 query `words` matches at least `n` activities (counting no further).
async fn matches_at_least(store: &Store, words: &str, n: i64) -> Result<bool> {
    let found: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT rowid FROM activities_fts WHERE activities_fts MATCH ?1
                               LIMIT ?2)",
    )
    .bind(words)
    .bind(n)
    .fetch_one(store.pool())
    .await?;
    Ok(found >= n)
}

/// The FTS5 query for what the athlete typed: each word a quoted prefix (`"mor"*`), all of them
/// required. Quoting makes FTS5's operators (`AND`, `NEAR`, `*`, `:`, `^`) plain text. None when
/// nothing searchable is left.
fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("\"{w}\"*"))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

async fn list(
    store: &Store,
    filter: &ActivityFilter,
    page: &PageRequest,
    kind: Kind,
) -> Result<ActivityListing> {
    let limit = limit_of(page)?;
    let after = page.after.as_deref().map(Cursor::parse).transpose()?;
    if let (Some(since), Some(until)) = (filter.since, filter.until)
        && until < since
    {
        return Err(Error::Validation(
            "the range ends before it starts".to_owned(),
        ));
    }
    let mut q = QueryBuilder::<Sqlite>::new("SELECT ");
    q.push(ROW_COLUMNS);
    q.push(" FROM activities a WHERE 1 = 1");
    if kind == Kind::Workouts {
        q.push(" AND a.counted = 1");
    }
    if let Some(provider) = filter.provider {
        match kind {
            Kind::Activities => {
                q.push(" AND a.provider = ").push_bind(provider.as_str());
            }
            Kind::Workouts => {
                q.push(" AND (a.provider = ")
                    .push_bind(provider.as_str())
                    .push(
                        " OR EXISTS (SELECT 1 FROM activities b
                          WHERE b.workout_id = a.workout_id AND b.provider = ",
                    )
                    .push_bind(provider.as_str())
                    .push("))");
            }
        }
    }
    if let Some(sport) = filter.sport {
        q.push(" AND a.sport = ").push_bind(sport.as_str());
    }
    if let Some(since) = filter.since {
        q.push(" AND a.start_utc >= ").push_bind(to_ms(since));
    }
    if let Some(until) = filter.until {
        q.push(" AND a.start_utc < ").push_bind(to_ms(until));
    }
    if let Some(words) = filter.text.as_deref().and_then(fts_query) {
        // A rare word: fetch its few matches by id and sort them. A common one: walk the list in
        // order and keep the matches (`+` stops SQLite from fetching tens of thousands by id).
        let common = matches_at_least(store, &words, COMMON_WORD).await?;
        q.push(if common {
            " AND +a.id IN"
        } else {
            " AND a.id IN"
        })
        .push(" (SELECT rowid FROM activities_fts WHERE activities_fts MATCH ")
        .push_bind(words)
        .push(")");
    }
    // Keyset: `start <= s` bounds the index range; the OR settles ties on the same start by id.
    let (op, direction) = match page.order {
        Order::NewestFirst => ("<", "DESC"),
        Order::OldestFirst => (">", "ASC"),
    };
    if let Some(c) = after {
        q.push(format_args!(" AND a.start_utc {op}= "))
            .push_bind(c.start)
            .push(format_args!(" AND (a.start_utc {op} "))
            .push_bind(c.start)
            .push(format_args!(" OR a.id {op} "))
            .push_bind(c.id)
            .push(")");
    }
    q.push(format_args!(
        " ORDER BY a.start_utc {direction}, a.id {direction} LIMIT "
    ))
    .push_bind(limit + 1);
    let mut rows: Vec<Row> = q.build_query_as().fetch_all(store.pool()).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next = more
        .then(|| {
            rows.last().map(|r| {
                Cursor {
                    start: r.start_utc,
                    id: r.id,
                }
                .render()
            })
        })
        .flatten();
    let workouts: Vec<i64> = rows.iter().filter_map(|r| r.workout_id).collect();
    let mut copies = copies_of(store, &workouts).await?;
    let items = rows
        .into_iter()
        .map(|r| {
            let of = r
                .workout_id
                .and_then(|w| copies.remove(&w))
                .unwrap_or_default();
            // Two rows of one workout on a page (the every-copy list) each get the copies.
            if let Some(w) = r.workout_id {
                copies.insert(w, of.clone());
            }
            r.into_row(of)
        })
        .collect::<Result<_>>()?;
    Ok(ActivityListing { items, next })
}

#[derive(sqlx::FromRow)]
struct CopyRow {
    id: i64,
    workout_id: i64,
    provider: String,
    provider_activity_id: String,
    counted: bool,
    link_reason: Option<String>,
    link_confidence: Option<f64>,
    link_pinned: i64,
}

/// The copies of `workouts`, primary first, by workout.
async fn copies_of(store: &Store, workouts: &[i64]) -> Result<HashMap<i64, Vec<CopyRef>>> {
    let mut by_workout: HashMap<i64, Vec<CopyRef>> = HashMap::new();
    if workouts.is_empty() {
        return Ok(by_workout);
    }
    let rows: Vec<CopyRow> = sqlx::query_as(
        "SELECT id, workout_id, provider, provider_activity_id, counted, link_reason,
             link_confidence, link_pinned
         FROM activities WHERE workout_id IN (SELECT value FROM json_each(?1))
         ORDER BY workout_id, counted DESC, provider",
    )
    .bind(serde_json::Value::from(workouts.to_vec()).to_string())
    .fetch_all(store.pool())
    .await?;
    for r in rows {
        by_workout.entry(r.workout_id).or_default().push(CopyRef {
            activity_id: r.id,
            provider: parse_enum("provider", &r.provider)?,
            provider_activity_id: r.provider_activity_id,
            primary: r.counted,
            reason: r.link_reason,
            confidence: r.link_confidence,
            choice: LinkChoice::from_pin(r.link_pinned),
        });
    }
    Ok(by_workout)
}

/// One activity with its raw payload, its workout and copies.
pub async fn activity(store: &Store, id: i64) -> Result<ActivityDetail> {
    let activity = crate::store::activities::get(store.pool(), id)
        .await?
        .ok_or_else(|| Error::not_found(format!("activity {id}")))?;
    let mut q = QueryBuilder::<Sqlite>::new("SELECT ");
    q.push(ROW_COLUMNS)
        .push(" FROM activities a WHERE a.id = ")
        .push_bind(id);
    let row: Row = q.build_query_as().fetch_one(store.pool()).await?;
    let copies = match row.workout_id {
        Some(w) => copies_of(store, &[w]).await?.remove(&w).unwrap_or_default(),
        None => Vec::new(),
    };
    Ok(ActivityDetail {
        activity,
        row: row.into_row(copies)?,
    })
}

#[derive(sqlx::FromRow)]
struct VolumeRow {
    period_start: String,
    sport: String,
    count: i64,
    distance_m: f64,
    seconds: i64,
    elevation_m: f64,
}

/// Volume by sport per week or month over the local days from `since`'s to `until`'s, each
/// workout once (its counted copy), copies the providers no longer list left out. Read from the
/// per-day and per-month sums the triggers keep (`volume_daily`, `volume_monthly`): a year of
/// weeks costs 365 rows, ten years of months 120, whatever the library.
pub async fn volume(
    store: &Store,
    period: Period,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<VolumeBucket>> {
    if until < since {
        return Err(Error::Validation(
            "the range ends before it starts".to_owned(),
        ));
    }
    let day = |t: DateTime<Utc>| t.timestamp().div_euclid(86_400);
    let month = |t: DateTime<Utc>| i64::from(t.year()) * 100 + i64::from(t.month());
    let query = match period {
        // 1970-01-01 was a Thursday: `(day + 3) % 7` is the days since Monday.
        Period::Week => sqlx::query_as(
            "SELECT date((day - (day + 3) % 7) * 86400, 'unixepoch') AS period_start, sport,
                 SUM(count) AS count, TOTAL(distance_m) AS distance_m, SUM(seconds) AS seconds,
                 TOTAL(elevation_m) AS elevation_m
             FROM volume_daily WHERE day BETWEEN ?1 AND ?2
             GROUP BY period_start, sport HAVING SUM(count) > 0
             ORDER BY period_start, sport",
        )
        .bind(day(since))
        .bind(day(until)),
        Period::Month => sqlx::query_as(
            "SELECT printf('%04d-%02d-01', month / 100, month % 100) AS period_start, sport,
                 count, distance_m, seconds, elevation_m
             FROM volume_monthly WHERE month BETWEEN ?1 AND ?2 AND count > 0
             ORDER BY month, sport",
        )
        .bind(month(since))
        .bind(month(until)),
    };
    let rows: Vec<VolumeRow> = query.fetch_all(store.pool()).await?;
    rows.into_iter()
        .map(|r| {
            Ok(VolumeBucket {
                period_start: r.period_start,
                sport: parse_enum("sport", &r.sport)?,
                count: r.count,
                // Sums kept by adding and taking away: round off the float noise.
                distance_m: (r.distance_m * 10.0).round() / 10.0,
                seconds: r.seconds,
                elevation_m: (r.elevation_m * 10.0).round() / 10.0,
            })
        })
        .collect()
}

#[derive(sqlx::FromRow)]
struct RunRow {
    id: i64,
    trigger: String,
    status: String,
    started_at: i64,
    completed_at: Option<i64>,
    activities_created: i64,
    activities_updated: i64,
    activities_skipped: i64,
    activities_failed: i64,
    activities_deleted: i64,
    api_calls: i64,
    rate_limit_remaining: Option<i64>,
    error_code: Option<String>,
}

/// A connection's runs started in `[since, until)`, oldest first, at most `limit` (the newest).
pub async fn run_stats(
    store: &Store,
    connection_id: i64,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<RunPoint>> {
    let rows: Vec<RunRow> = sqlx::query_as(
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
    .bind(i64::from(limit.clamp(1, 50_000)))
    .fetch_all(store.pool())
    .await?;
    let mut points = rows
        .into_iter()
        .map(|r| {
            Ok(RunPoint {
                id: r.id,
                trigger: parse_enum("trigger", &r.trigger)?,
                status: parse_enum("status", &r.status)?,
                started_at: from_ms(r.started_at),
                duration_ms: r.completed_at.map(|c| c.saturating_sub(r.started_at)),
                created: r.activities_created,
                updated: r.activities_updated,
                skipped: r.activities_skipped,
                failed: r.activities_failed,
                deleted: r.activities_deleted,
                api_calls: r.api_calls,
                rate_limit_remaining: r.rate_limit_remaining,
                error_code: r.error_code.and_then(|c| c.parse().ok()),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    points.reverse();
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = Cursor {
            start: 1_780_000_000_000,
            id: 42,
        };
        assert_eq!(Cursor::parse(&c.render()).ok(), Some(c));
        for bad in [
            "",
            "12",
            "a:b",
            "1:2:3",
            "1:",
            ":2",
            "99999999999999999999:1",
        ] {
            assert!(Cursor::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn search_text_becomes_quoted_word_prefixes() {
        assert_eq!(
            fts_query("Morning run").as_deref(),
            Some("\"Morning\"* \"run\"*")
        );
        assert_eq!(fts_query("  ").as_deref(), None);
        assert_eq!(fts_query("\"*:^()").as_deref(), None, "operators alone");
        assert_eq!(
            fts_query("a NEAR(b) OR c:d").as_deref(),
            Some("\"a\"* \"NEAR\"* \"b\"* \"OR\"* \"c\"* \"d\"*")
        );
        assert_eq!(
            fts_query("Zürich 10k").as_deref(),
            Some("\"Zürich\"* \"10k\"*")
        );
    }
}
