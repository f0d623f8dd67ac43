//! The athlete's library: the read side the views need at scale (100,000 activities, 10,000 runs).
//!
//! Every list pages by keyset (the last row's sort value and id), never by OFFSET, and every filter is
//! written into the SQL only when it is set, so SQLite can use the index that fits (a
//! `?1 IS NULL OR provider = ?1` term would defeat it and scan the table). Each query (in
//! `store::library`) has an index of its own in the migrations; `benches/queries.rs` measures them
//! and prints their plans.

use crate::domain::{Activity, Source, Sport, SyncStatus, SyncTrigger};
use crate::store::library::{After, CopyRow, Kind, Row, Search, SortValue};
use crate::store::{self, Store, from_ms, parse_enum};
use crate::{Error, ErrorCode, Result};
use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The most rows one page returns.
pub const MAX_PAGE: u32 = 500;

// The lists' parameters are data the store reads: they live in `domain`, so that the store does
// not depend on the library.
pub use crate::domain::{ActivityFilter, Order, SortKey};

/// Which page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PageRequest {
    /// The `next` of the previous page (absent: the first page).
    pub after: Option<String>,
    /// Rows (1 to [`MAX_PAGE`]; 0 means 50).
    pub limit: u32,
    /// What the list is sorted by (absent: the start).
    #[serde(default)]
    pub sort: SortKey,
    /// Which way.
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
    pub provider: Source,
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
    pub provider: Source,
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

/// What a filtered list holds in all, not one page: the exact count, and the sums the list's
/// footer shows. Workouts count each session once (its primary copy's figures).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ListTotals {
    /// Rows in the list.
    pub count: i64,
    /// Metres.
    pub distance_m: f64,
    /// Moving time where known, else elapsed, in seconds.
    pub seconds: i64,
    /// Metres climbed.
    pub elevation_m: f64,
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

/// Where a page ended, as the opaque `next` a front end hands back: `start:id` by start (ms);
/// `key:id:value` by another key (`key:id` when the row had no value). A name is written in hex,
/// so that the cursor holds no colon, space or quote and pastes into a shell as it is.
#[derive(Debug, Clone, PartialEq)]
struct Cursor {
    key: SortKey,
    after: After,
}

impl Cursor {
    /// The cursor after `row` in a list sorted by `key`.
    fn of(key: SortKey, row: &Row) -> Self {
        let after = match key {
            SortKey::Start => After::Start {
                start: row.start_utc,
                id: row.id,
            },
            _ => After::Key {
                value: sort_value(key, row),
                id: row.id,
            },
        };
        Self { key, after }
    }

    /// Reads `text`, a cursor of a list sorted by `key` (another list's cursor is refused).
    fn parse(key: SortKey, text: &str) -> Result<Self> {
        let bad = || Error::Validation(format!("'{text}' is not a page cursor"));
        if key == SortKey::Start {
            let (start, id) = text.split_once(':').ok_or_else(bad)?;
            let after = After::Start {
                start: start.parse().map_err(|_| bad())?,
                id: id.parse().map_err(|_| bad())?,
            };
            return Ok(Self { key, after });
        }
        let mut parts = text.splitn(3, ':');
        if parts.next() != Some(key.as_str()) {
            return Err(Error::Validation(format!(
                "'{text}' is not a page cursor of a list sorted by {key}"
            )));
        }
        let id = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let value = match parts.next() {
            None => None,
            Some(v) if key == SortKey::Name => Some(SortValue::Text(from_hex(v).ok_or_else(bad)?)),
            Some(v) => {
                // SQLite stores an overflowing REAL as ±inf, which `render` writes as `inf`.
                let n: f64 = v.parse().map_err(|_| bad())?;
                if n.is_nan() {
                    return Err(bad());
                }
                Some(SortValue::Number(n))
            }
        };
        Ok(Self {
            key,
            after: After::Key { value, id },
        })
    }

    fn render(&self) -> String {
        match &self.after {
            After::Start { start, id } => format!("{start}:{id}"),
            After::Key { value: None, id } => format!("{}:{id}", self.key),
            After::Key {
                value: Some(SortValue::Text(t)),
                id,
            } => format!("{}:{id}:{}", self.key, to_hex(t)),
            // `Display` writes the shortest text that reads back as the same double.
            After::Key {
                value: Some(SortValue::Number(n)),
                id,
            } => format!("{}:{id}:{n}", self.key),
        }
    }
}

fn to_hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(hex: &str) -> Option<String> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

/// Row `row`'s value for `key`, as the store's SQL computes it (`store::library::key_sql`).
fn sort_value(key: SortKey, row: &Row) -> Option<SortValue> {
    let time = row.moving_seconds.or(row.elapsed_seconds);
    match key {
        SortKey::Start => Some(SortValue::Number(row.start_utc as f64)),
        // An empty name is no name (`NULLIF` in the SQL): it sorts with the untitled.
        SortKey::Name => row
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .map(SortValue::Text),
        SortKey::Distance => row.distance_m.map(SortValue::Number),
        SortKey::Duration => time.map(|t| SortValue::Number(t as f64)),
        SortKey::Speed => match (row.distance_m, time) {
            (Some(d), Some(t)) if d > 0.0 && t > 0 => Some(SortValue::Number(d / t as f64)),
            _ => None,
        },
    }
}

// The rows are read in `store::library`; here they become what the views show.
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
            deleted: self.deleted_at.is_some(),
            workout_id: self.workout_id,
            choice: LinkChoice::from_pin(self.link_pinned),
            copies,
        })
    }
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

/// The totals of the every-copy list (`workouts: false`) or the workout list, for `filter`.
pub async fn totals(store: &Store, filter: &ActivityFilter, workouts: bool) -> Result<ListTotals> {
    check_range(filter)?;
    let search = search_of(store, filter).await?;
    let kind = if workouts {
        Kind::Workouts
    } else {
        Kind::Activities
    };
    let t = store::library::totals(store.pool(), kind, filter, search).await?;
    Ok(ListTotals {
        count: t.count,
        distance_m: t.distance_m,
        seconds: t.seconds,
        elevation_m: t.elevation_m,
    })
}

/// A range that ends before it starts is refused, not answered with nothing.
fn check_range(filter: &ActivityFilter) -> Result<()> {
    if let (Some(since), Some(until)) = (filter.since, filter.until)
        && until < since
    {
        return Err(Error::Validation(
            "the range ends before it starts".to_owned(),
        ));
    }
    Ok(())
}

/// The search for what the athlete typed, if anything searchable.
async fn search_of(store: &Store, filter: &ActivityFilter) -> Result<Option<Search>> {
    Ok(match filter.text.as_deref().and_then(fts_query) {
        Some(words) => {
            let common = matches_at_least(store, &words, COMMON_WORD).await?;
            Some(Search { words, common })
        }
        None => None,
    })
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
    let found = store::library::fts_matches(store.pool(), words, n).await?;
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
    let after = page
        .after
        .as_deref()
        .map(|text| Cursor::parse(page.sort, text))
        .transpose()?;
    check_range(filter)?;
    let search = search_of(store, filter).await?;
    let mut rows = store::library::page(
        store.pool(),
        kind,
        filter,
        search,
        page.sort,
        after.map(|c| c.after),
        page.order,
        limit + 1,
    )
    .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next = more
        .then(|| rows.last().map(|r| Cursor::of(page.sort, r).render()))
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

/// The copies of `workouts`, primary first, by workout.
async fn copies_of(store: &Store, workouts: &[i64]) -> Result<HashMap<i64, Vec<CopyRef>>> {
    let mut by_workout: HashMap<i64, Vec<CopyRef>> = HashMap::new();
    if workouts.is_empty() {
        return Ok(by_workout);
    }
    let rows: Vec<CopyRow> = store::library::copies_of(store.pool(), workouts).await?;
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
    let row: Row = store::library::row(store.pool(), id).await?;
    let copies = match row.workout_id {
        Some(w) => copies_of(store, &[w]).await?.remove(&w).unwrap_or_default(),
        None => Vec::new(),
    };
    Ok(ActivityDetail {
        activity,
        row: row.into_row(copies)?,
    })
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
    let rows = match period {
        Period::Week => {
            store::library::volume_by_week(store.pool(), day(since), day(until)).await?
        }
        Period::Month => {
            store::library::volume_by_month(store.pool(), month(since), month(until)).await?
        }
    };
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

/// A connection's runs started in `[since, until)`, oldest first, at most `limit` (the newest).
pub async fn run_stats(
    store: &Store,
    connection_id: i64,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<RunPoint>> {
    let rows = store::sync_history::runs_started_between(
        store.pool(),
        connection_id,
        since,
        until,
        i64::from(limit.clamp(1, 50_000)),
    )
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
        let cases = [
            (SortKey::Start, "1780000000000:42"),
            (SortKey::Name, "name:42:52756e3a2068696c6c73"),
            (SortKey::Name, "name:42"),
            (SortKey::Distance, "distance:42:10012.7"),
            (SortKey::Distance, "distance:42:inf"),
            (SortKey::Speed, "speed:42:3.3333333333333335"),
            (SortKey::Duration, "duration:42"),
        ];
        for (key, text) in cases {
            let c = Cursor::parse(key, text).unwrap();
            assert_eq!(c.render(), text);
        }
        // A name with colons, spaces, quotes and more than ASCII: written in hex, read back whole.
        let name = "Run: 'hills' \"3×\" — Ørsta";
        let c = Cursor {
            key: SortKey::Name,
            after: After::Key {
                value: Some(SortValue::Text(name.into())),
                id: 42,
            },
        };
        let text = c.render();
        assert!(
            text.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == ':'),
            "{text}"
        );
        assert_eq!(Cursor::parse(SortKey::Name, &text).unwrap(), c);
        for bad in [
            "",
            "12",
            "a:b",
            "1:2:3",
            "1:",
            ":2",
            "99999999999999999999:1",
        ] {
            assert!(Cursor::parse(SortKey::Start, bad).is_err(), "{bad}");
        }
        for bad in [
            "",
            "distance",
            "distance:x:1",
            "distance:1:x",
            "distance:1:NaN",
            "name:1:a",
            "1780000000000:42",
        ] {
            assert!(Cursor::parse(SortKey::Distance, bad).is_err(), "{bad}");
        }
        // A cursor of another sort is refused, not read as this one's.
        assert!(Cursor::parse(SortKey::Name, "distance:1:5").is_err());
        for bad in ["name:1:6", "name:1:zz", "name:1:ff"] {
            assert!(
                Cursor::parse(SortKey::Name, bad).is_err(),
                "{bad}: odd, not hex, not UTF-8"
            );
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
