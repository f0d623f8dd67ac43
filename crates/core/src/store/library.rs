//! The library's reads: the activity and workout lists, one keyset page at a time, and the copies
//! of their workouts (`activities`, searched through `activities_fts`); the training volume from
//! the sums the triggers keep (`volume_daily`, `volume_monthly`). What a page holds and how its
//! rows are assembled is decided in `library`.
//!
//! Every filter is written into the SQL only when it is set, so SQLite can use the index that
//! fits (a `?1 IS NULL OR provider = ?1` term would defeat it and scan the table).

use super::to_ms;
use crate::Result;
use crate::domain::{ActivityFilter, Order, SortKey};
use sqlx::{QueryBuilder, Sqlite, SqliteExecutor};

/// Which list: every copy, or one row per workout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Activities,
    Workouts,
}

/// One list row: the activity as stored, without its raw payload.
pub(crate) type Row = super::activities::ActivityRecord;

const ROW_COLUMNS: &str = concat!(
    super::activities::record_columns!("a."),
    ", NULL AS raw_json"
);

/// A text search: the FTS5 query, and whether it matches so many activities that the list is
/// better walked in order than its matches fetched by id and sorted.
pub(crate) struct Search {
    pub(crate) words: String,
    pub(crate) common: bool,
}

/// Reads how many activities the FTS5 query `words` matches, counting no further than `n`.
pub(crate) async fn fts_matches(db: impl SqliteExecutor<'_>, words: &str, n: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT rowid FROM activities_fts WHERE activities_fts MATCH ?1
                               LIMIT ?2)",
    )
    .bind(words)
    .bind(n)
    .fetch_one(db)
    .await?)
}

/// A sort value a page ended on (another key than the start).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SortValue {
    Text(String),
    Number(f64),
}

/// Where the previous page ended: its last row's place in the list's order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum After {
    /// By start (ms), then id.
    Start { start: i64, id: i64 },
    /// By another key's value (absent: the row had none), then id.
    Key { value: Option<SortValue>, id: i64 },
}

/// The SQL of a sort key's value for row `a` (NULL where the row has none); `Start` is the
/// column itself.
fn key_sql(key: SortKey) -> &'static str {
    match key {
        SortKey::Start => "a.start_utc",
        SortKey::Name => "NULLIF(a.name, '') COLLATE NOCASE",
        SortKey::Distance => "a.distance_m",
        SortKey::Duration => "COALESCE(a.moving_seconds, a.elapsed_seconds)",
        // Written out rather than divided by NULLIF so that Rust computes the same double for
        // the cursor (`library::sort_value`): a zero distance or time has no speed.
        SortKey::Speed => {
            "(CASE WHEN a.distance_m > 0 AND COALESCE(a.moving_seconds, a.elapsed_seconds) > 0
               THEN a.distance_m / COALESCE(a.moving_seconds, a.elapsed_seconds) END)"
        }
    }
}

/// Reads up to `limit` rows of the `kind` list matching `filter` (its `text` is not read: the
/// search is `search`), sorted by `key` in `order` then by id, after the keyset `after`.
#[allow(clippy::too_many_arguments)] // one list query's parts; a struct would only rename them
pub(crate) async fn page(
    db: impl SqliteExecutor<'_>,
    kind: Kind,
    filter: &ActivityFilter,
    search: Option<Search>,
    key: SortKey,
    after: Option<After>,
    order: Order,
    limit: i64,
) -> Result<Vec<Row>> {
    let mut q = QueryBuilder::<Sqlite>::new("SELECT ");
    q.push(ROW_COLUMNS);
    q.push(" FROM activities a WHERE 1 = 1");
    push_filter(&mut q, kind, filter, search);
    let (op, direction) = match order {
        Order::Descending => ("<", "DESC"),
        Order::Ascending => (">", "ASC"),
    };
    let k = key_sql(key);
    match after {
        // Keyset: `start <= s` bounds the index range; the OR settles ties on the same start by id.
        Some(After::Start { start, id }) => {
            q.push(format_args!(" AND a.start_utc {op}= "))
                .push_bind(start)
                .push(format_args!(" AND (a.start_utc {op} "))
                .push_bind(start)
                .push(format_args!(" OR a.id {op} "))
                .push_bind(id)
                .push(")");
        }
        // Rows without the value come last: after one that had a value, they all follow.
        Some(After::Key {
            value: Some(value),
            id,
        }) => {
            q.push(format_args!(" AND (({k}) IS NULL OR ({k}) {op} "));
            push_value(&mut q, value.clone());
            q.push(format_args!(" OR (({k}) = "));
            push_value(&mut q, value);
            q.push(format_args!(" AND a.id {op} "))
                .push_bind(id)
                .push("))");
        }
        Some(After::Key { value: None, id }) => {
            q.push(format_args!(" AND ({k}) IS NULL AND a.id {op} "))
                .push_bind(id);
        }
        None => {}
    }
    if key == SortKey::Start {
        q.push(format_args!(
            " ORDER BY a.start_utc {direction}, a.id {direction} LIMIT "
        ));
    } else {
        q.push(format_args!(
            " ORDER BY ({k}) IS NULL, ({k}) {direction}, a.id {direction} LIMIT "
        ));
    }
    q.push_bind(limit);
    Ok(q.build_query_as().fetch_all(db).await?)
}

fn push_value(q: &mut QueryBuilder<Sqlite>, value: SortValue) {
    match value {
        SortValue::Text(text) => q.push_bind(text),
        SortValue::Number(n) => q.push_bind(n),
    };
}

/// The `kind` list's conditions for `filter` (and the search), after a `WHERE 1 = 1`: the page
/// and the totals read the same rows.
fn push_filter(
    q: &mut QueryBuilder<Sqlite>,
    kind: Kind,
    filter: &ActivityFilter,
    search: Option<Search>,
) {
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
    if let Some(Search { words, common }) = search {
        // A rare word: fetch its few matches by id and sort them. A common one: walk the list in
        // order and keep the matches (`+` stops SQLite from fetching tens of thousands by id).
        q.push(if common {
            " AND +a.id IN"
        } else {
            " AND a.id IN"
        })
        .push(" (SELECT rowid FROM activities_fts WHERE activities_fts MATCH ")
        .push_bind(words)
        .push(")");
    }
}

/// What a list holds in all (not one page): its rows, and their distance, time and climb.
#[derive(sqlx::FromRow)]
pub(crate) struct TotalsRow {
    pub(crate) count: i64,
    pub(crate) distance_m: f64,
    pub(crate) seconds: i64,
    pub(crate) elevation_m: f64,
}

/// Reads the totals of the `kind` list matching `filter` (the search is `search`).
pub(crate) async fn totals(
    db: impl SqliteExecutor<'_>,
    kind: Kind,
    filter: &ActivityFilter,
    search: Option<Search>,
) -> Result<TotalsRow> {
    let mut q = QueryBuilder::<Sqlite>::new(
        "SELECT COUNT(*) AS count, COALESCE(SUM(a.distance_m), 0.0) AS distance_m,
                COALESCE(SUM(COALESCE(a.moving_seconds, a.elapsed_seconds)), 0) AS seconds,
                COALESCE(SUM(a.elevation_gain_m), 0.0) AS elevation_m
         FROM activities a WHERE 1 = 1",
    );
    push_filter(&mut q, kind, filter, search);
    Ok(q.build_query_as().fetch_one(db).await?)
}

/// Reads activity `id`'s list row (it must exist).
pub(crate) async fn row(db: impl SqliteExecutor<'_>, id: i64) -> Result<Row> {
    let mut q = QueryBuilder::<Sqlite>::new("SELECT ");
    q.push(ROW_COLUMNS)
        .push(" FROM activities a WHERE a.id = ")
        .push_bind(id);
    Ok(q.build_query_as().fetch_one(db).await?)
}

/// One copy of a workout, as stored.
#[derive(sqlx::FromRow)]
pub(crate) struct CopyRow {
    pub(crate) id: i64,
    pub(crate) workout_id: i64,
    pub(crate) provider: String,
    pub(crate) provider_activity_id: String,
    pub(crate) counted: bool,
    pub(crate) link_reason: Option<String>,
    pub(crate) link_confidence: Option<f64>,
    pub(crate) link_pinned: i64,
}

/// Reads the copies of `workouts`, by workout, the counted one first, then by provider.
pub(crate) async fn copies_of(
    db: impl SqliteExecutor<'_>,
    workouts: &[i64],
) -> Result<Vec<CopyRow>> {
    Ok(sqlx::query_as(
        "SELECT id, workout_id, provider, provider_activity_id, counted, link_reason,
             link_confidence, link_pinned
         FROM activities WHERE workout_id IN (SELECT value FROM json_each(?1))
         ORDER BY workout_id, counted DESC, provider",
    )
    .bind(serde_json::Value::from(workouts.to_vec()).to_string())
    .fetch_all(db)
    .await?)
}

/// One sport's volume in one week or month, as summed.
#[derive(sqlx::FromRow)]
pub(crate) struct VolumeRow {
    pub(crate) period_start: String,
    pub(crate) sport: String,
    pub(crate) count: i64,
    pub(crate) distance_m: f64,
    pub(crate) seconds: i64,
    pub(crate) elevation_m: f64,
}

/// Reads the volume by sport per week (Monday to Sunday) over days `from` to `to` (days since the
/// epoch, as `volume_daily` keys them); weeks and sports with no workout are left out.
pub(crate) async fn volume_by_week(
    db: impl SqliteExecutor<'_>,
    from: i64,
    to: i64,
) -> Result<Vec<VolumeRow>> {
    // 1970-01-01 was a Thursday: `(day + 3) % 7` is the days since Monday.
    Ok(sqlx::query_as(
        "SELECT date((day - (day + 3) % 7) * 86400, 'unixepoch') AS period_start, sport,
                 SUM(count) AS count, TOTAL(distance_m) AS distance_m, SUM(seconds) AS seconds,
                 TOTAL(elevation_m) AS elevation_m
             FROM volume_daily WHERE day BETWEEN ?1 AND ?2
             GROUP BY period_start, sport HAVING SUM(count) > 0
             ORDER BY period_start, sport",
    )
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await?)
}

/// Reads the volume by sport per calendar month over months `from` to `to` (`year * 100 +
/// month`), from `volume_monthly`; months and sports with no workout are left out.
pub(crate) async fn volume_by_month(
    db: impl SqliteExecutor<'_>,
    from: i64,
    to: i64,
) -> Result<Vec<VolumeRow>> {
    Ok(sqlx::query_as(
        "SELECT printf('%04d-%02d-01', month / 100, month % 100) AS period_start, sport,
                 count, distance_m, seconds, elevation_m
             FROM volume_monthly WHERE month BETWEEN ?1 AND ?2 AND count > 0
             ORDER BY month, sport",
    )
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await?)
}
