//! Cross-provider workout linking: the same session recorded by a watch and uploaded elsewhere
//! arrives once per provider. Every copy is kept; copies are linked into one workout, never merged
//! destructively. One copy is primary (the most complete, or the athlete's pick) and is the one
//! totals count (`activities.counted`). Each link stores its reason and confidence.
//!
//! The rule ([`score`]) is pure: two copies from different providers are the same session when
//! their sports are compatible and
//! - they start within five minutes of each other, or
//! - their starts differ by whole or half hours with the same minutes and seconds (a time-zone
//!   shift: a device that wrote local time as UTC is off by its offset, a missed daylight-saving
//!   change by an hour; any other shift needs the durations and distances to agree closely), or
//! - one of them has Strava's hidden start time (local midnight plus one second) on the same local
//!   day,
//!
//! and, where both say, their durations and distances agree. A workout holds at most one copy per
//! provider (two activities of one account are two sessions), and a copy joins a workout only if it
//! matches every copy already there.
//!
//! The athlete's choices are pinned (`link_pinned`): a copy they linked stays where they put it, a
//! copy they unlinked is never linked again automatically, a primary they chose stays primary.
//! Linking runs in the transaction of each page a sync commits, and once over existing rows.

use crate::clock::Clock;
use crate::domain::{ProviderKind, Sport};
use crate::store::Store;
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How many groups, nearest in time, a copy is compared with (a dense library holds about 30 a
/// day; a hidden start time can be most of a day from the real one).
const CANDIDATES: usize = 96;

/// Links below this confidence are not made automatically.
pub const THRESHOLD: f64 = 0.7;
/// How far apart two copies' starts may be and still be compared (a hidden start time can be
/// nearly a day from the real one, plus a time-zone offset).
const WINDOW_S: i64 = 38 * 3600;

/// What the linker knows about one stored copy.
#[derive(Debug, Clone, PartialEq)]
pub struct Copy {
    /// Row id.
    pub id: i64,
    /// Provider.
    pub provider: ProviderKind,
    /// Sport.
    pub sport: Sport,
    /// Start, epoch seconds UTC.
    pub start: i64,
    /// Local offset, seconds.
    pub offset: Option<i32>,
    /// Elapsed seconds.
    pub elapsed: Option<i64>,
    /// Metres.
    pub distance: Option<f64>,
    /// Its workout, if linked.
    pub workout: Option<i64>,
    /// 0 linker's, 1 linked by the athlete, 2 kept apart by the athlete.
    pub pinned: i64,
    /// How many of its normalised fields are filled (the primary is the most complete copy).
    pub completeness: i64,
    /// Flagged deleted at its provider (never primary while another copy is not).
    pub deleted: bool,
}

/// Why two copies are the same session, and how sure.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// 0 to 1.
    pub confidence: f64,
    /// For the athlete (shown on hover).
    pub reason: String,
}

fn family(sport: Sport) -> u8 {
    match sport {
        Sport::Run | Sport::TrailRun => 1,
        Sport::Ride | Sport::VirtualRide => 2,
        Sport::Walk | Sport::Hike => 3,
        Sport::Swim => 4,
        Sport::Row => 5,
        Sport::Ski => 6,
        Sport::Strength => 7,
        Sport::Other => 0,
    }
}

/// Whether `start` (with `offset`) is Strava's hidden start time: local midnight plus one second.
fn hidden_start(start: i64, offset: Option<i32>) -> bool {
    offset.is_some_and(|o| (start + i64::from(o)).rem_euclid(86_400) == 1)
}

fn relative(a: f64, b: f64) -> f64 {
    let top = a.abs().max(b.abs());
    if top == 0.0 { 0.0 } else { (a - b).abs() / top }
}

/// Whether `a` and `b` are the same session recorded by two providers.
pub fn score(a: &Copy, b: &Copy) -> Option<Match> {
    if a.provider == b.provider || a.id == b.id {
        return None;
    }
    let (fa, fb) = (family(a.sport), family(b.sport));
    let sports_agree = fa == fb && fa != 0;
    // "Other" is what a provider says when it does not know: compatible, but less sure.
    if !sports_agree && fa != 0 && fb != 0 {
        return None;
    }
    let durations = a.elapsed.zip(b.elapsed).filter(|(x, y)| *x > 0 && *y > 0);
    let distances = a
        .distance
        .zip(b.distance)
        .filter(|(x, y)| *x > 0.0 && *y > 0.0);
    let duration_gap = durations.map(|(x, y)| (relative(x as f64, y as f64), (x - y).abs()));
    let distance_gap = distances.map(|(x, y)| (relative(x, y), (x - y).abs()));
    // Clearly different sessions, whatever the times say.
    if duration_gap.is_some_and(|(r, s)| r > 0.15 && s > 300)
        || distance_gap.is_some_and(|(r, m)| r > 0.10 && m > 500.0)
    {
        return None;
    }
    let close =
        duration_gap.is_some_and(|(r, _)| r <= 0.03) && distance_gap.is_none_or(|(r, _)| r <= 0.03);
    let d = b.start - a.start;
    let (mut confidence, mut reason) = if d.abs() <= 300 {
        (
            0.95 - (d.abs() as f64 / 300.0) * 0.1,
            format!("started {} s apart", d.abs()),
        )
    } else if hidden_start(a.start, a.offset) || hidden_start(b.start, b.offset) {
        // Only the day is known (so no shift can be read either): the rest must agree closely.
        // Local days; a copy that states no offset is read in the hidden one's zone.
        let zone = if hidden_start(a.start, a.offset) {
            a.offset
        } else {
            b.offset
        };
        let day =
            |c: &Copy| (c.start + i64::from(c.offset.or(zone).unwrap_or(0))).div_euclid(86_400);
        if day(a) != day(b) || !close {
            return None;
        }
        (0.78, "hidden start time; same local day".to_owned())
    } else {
        let k = (d as f64 / 1800.0).round() as i64;
        if k == 0 || k.abs() > 28 || (d - k * 1800).abs() > 60 {
            return None;
        }
        let shift = (k * 1800).abs();
        let minutes = shift / 60;
        let label = format!(
            "same minutes and seconds, {}h{:02} apart (a time-zone shift",
            minutes / 60,
            minutes % 60
        );
        // A device that took local time for UTC is off by its offset; a missed daylight-saving
        // change by an hour. Any other whole or half hour needs the rest to agree closely.
        let by_offset = [a.offset, b.offset]
            .into_iter()
            .flatten()
            .any(|o| o != 0 && i64::from(o).abs() == shift);
        if by_offset {
            (0.88, format!("{label}: local time recorded as UTC)"))
        } else if shift == 3600 {
            (0.84, format!("{label}: daylight saving)"))
        } else if close {
            (0.74, format!("{label})"))
        } else {
            return None;
        }
    };
    if d.abs() > 300 && durations.is_none() {
        return None; // a shifted time alone is not enough
    }
    if close {
        confidence += 0.04;
        reason.push_str(", same duration and distance");
    }
    if !sports_agree {
        confidence -= 0.1;
        reason.push_str(", one sport unknown");
    } else {
        reason.push_str(&format!(", both {}", a.sport));
    }
    Some(Match {
        confidence: confidence.clamp(0.0, 0.99),
        reason,
    })
}

#[derive(sqlx::FromRow)]
struct CopyRow {
    id: i64,
    provider: String,
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
        Some(Copy {
            id: self.id,
            provider: self.provider.parse().ok()?,
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
        "id, provider, sport, start_utc, utc_offset_seconds, elapsed_seconds, distance_m, workout_id,
         link_pinned, deleted_at IS NOT NULL AS deleted,
         (elapsed_seconds IS NOT NULL) + (moving_seconds IS NOT NULL) + (distance_m IS NOT NULL)
         + (elevation_gain_m IS NOT NULL) + (avg_heart_rate IS NOT NULL)
         + (max_heart_rate IS NOT NULL) + (calories IS NOT NULL) + (avg_power_w IS NOT NULL)
         + (max_power_w IS NOT NULL) + (device IS NOT NULL) + (name IS NOT NULL) AS completeness"
    };
}

async fn copies_in(db: &mut SqliteConnection, from: i64, to: i64) -> Result<Vec<Copy>> {
    let rows: Vec<CopyRow> = sqlx::query_as(concat!(
        "SELECT ",
        copy_columns!(),
        " FROM activities WHERE start_utc BETWEEN ?1 AND ?2"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(&mut *db)
    .await?;
    Ok(rows.into_iter().filter_map(CopyRow::into_copy).collect())
}

async fn copies_of_workouts(db: &mut SqliteConnection, workouts: &[i64]) -> Result<Vec<Copy>> {
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
    .fetch_all(&mut *db)
    .await?;
    Ok(rows.into_iter().filter_map(CopyRow::into_copy).collect())
}

/// A group of copies: a stored workout, a copy alone, or a workout not yet written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Workout(i64),
    Alone(i64),
    New(u32),
}

/// The groups the linker works on: each copy's group (its workout, or itself alone).
struct Groups {
    copies: BTreeMap<i64, Copy>,
    /// Each copy's group before linking, and now.
    origin: BTreeMap<i64, Key>,
    group: BTreeMap<i64, Key>,
    members: BTreeMap<Key, BTreeSet<i64>>,
    reasons: HashMap<i64, Match>,
    touched: BTreeSet<Key>,
    next_new: u32,
}

impl Groups {
    fn new(copies: Vec<Copy>) -> Self {
        let mut g = Self {
            copies: BTreeMap::new(),
            origin: BTreeMap::new(),
            group: BTreeMap::new(),
            members: BTreeMap::new(),
            reasons: HashMap::new(),
            touched: BTreeSet::new(),
            next_new: 0,
        };
        for c in copies {
            let key = c.workout.map_or(Key::Alone(c.id), Key::Workout);
            g.members.entry(key).or_default().insert(c.id);
            g.group.insert(c.id, key);
            g.origin.insert(c.id, key);
            g.copies.insert(c.id, c);
        }
        g
    }

    fn key(&self, id: i64) -> Key {
        self.group[&id]
    }

    /// How many copies are in another workout than they started in.
    fn moved(&self) -> u64 {
        self.group
            .iter()
            .filter(|(id, key)| self.origin.get(*id) != Some(*key))
            .count() as u64
    }

    fn put(&mut self, id: i64, key: Key) {
        let old = self.key(id);
        if let Some(m) = self.members.get_mut(&old) {
            m.remove(&id);
            if m.is_empty() && !matches!(old, Key::Workout(_)) {
                self.members.remove(&old);
            }
        }
        self.touched.insert(old);
        self.members.entry(key).or_default().insert(id);
        self.group.insert(id, key);
        self.touched.insert(key);
    }

    fn detach(&mut self, id: i64) {
        self.put(id, Key::Alone(id));
        self.reasons.remove(&id);
    }

    /// Put `id` in `anchor`'s group, making a new workout of it if `anchor` was alone.
    fn join(&mut self, id: i64, anchor: i64, why: Match) {
        let mut key = self.key(anchor);
        if let Key::Alone(_) = key {
            self.next_new += 1;
            key = Key::New(self.next_new);
            self.put(anchor, key);
            self.reasons.insert(anchor, why.clone());
        }
        self.put(id, key);
        self.reasons.insert(id, why);
    }
}

/// Link the copies `ids` (just stored or changed) into workouts. Call inside the transaction
/// that stored them. Returns how many copies changed workout.
pub(crate) async fn link(
    db: &mut SqliteConnection,
    ids: &[i64],
    now: DateTime<Utc>,
) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let list = serde_json::Value::from(ids.to_vec()).to_string();
    let span: (Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT MIN(start_utc), MAX(start_utc) FROM activities
         WHERE id IN (SELECT value FROM json_each(?1))",
    )
    .bind(&list)
    .fetch_one(&mut *db)
    .await?;
    let (Some(low), Some(high)) = span else {
        return Ok(0);
    };
    let (from, to) = (
        low.saturating_sub(WINDOW_S * 1000),
        high.saturating_add(WINDOW_S * 1000),
    );
    // The common case, a provider's first import: the copies come from one provider and no
    // other has anything near their starts, so there is nothing to link and nothing linked to
    // re-check (partners lie within the window). One indexed look instead of loading the window.
    let worth_it: bool = sqlx::query_scalar(
        "WITH mine AS (SELECT DISTINCT provider FROM activities
                       WHERE id IN (SELECT value FROM json_each(?3)))
         SELECT (SELECT COUNT(*) FROM mine) > 1
             OR EXISTS (SELECT 1 FROM activities WHERE start_utc BETWEEN ?1 AND ?2
                          AND provider NOT IN (SELECT provider FROM mine))",
    )
    .bind(from)
    .bind(to)
    .bind(&list)
    .fetch_one(&mut *db)
    .await?;
    if !worth_it {
        return Ok(0);
    }
    let mut copies = copies_in(db, from, to).await?;
    // Members of the workouts involved, wherever their starts fall.
    let workouts: Vec<i64> = copies
        .iter()
        .filter_map(|c| c.workout)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let known: BTreeSet<i64> = copies.iter().map(|c| c.id).collect();
    copies.extend(
        copies_of_workouts(db, &workouts)
            .await?
            .into_iter()
            .filter(|c| !known.contains(&c.id)),
    );
    let mut groups = Groups::new(copies);
    // Every copy by start (starts do not change while linking), to find a copy's neighbours.
    let mut by_start: Vec<(i64, i64)> = groups.copies.values().map(|c| (c.start, c.id)).collect();
    by_start.sort_unstable();
    let mut todo: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| groups.copies.get(id).is_some_and(|c| c.pinned == 0))
        .collect();
    todo.sort_by_key(|id| (groups.copies[id].start, *id));
    for id in todo {
        let me = groups.copies[&id].clone();
        let current = groups.key(id);
        // The best group this copy fits: every member matches, none from its provider, none the
        // athlete kept apart. Only the nearest groups in time are looked at, so a page costs the
        // same however crowded the window is (a thousand copies that claim one start included).
        let mut best: Option<(Key, Match)> = None;
        for key in nearest_groups(&groups, &by_start, &me, CANDIDATES) {
            let members = &groups.members[&key];
            if members
                .iter()
                .any(|m| (groups.copies[m].start - me.start).abs() > WINDOW_S)
            {
                continue;
            }
            let others: Vec<&Copy> = members
                .iter()
                .filter(|m| **m != id)
                .map(|m| &groups.copies[m])
                .collect();
            if others.is_empty()
                || others
                    .iter()
                    .any(|o| o.provider == me.provider || o.pinned == 2)
            {
                continue;
            }
            let matches: Option<Vec<Match>> = others.iter().map(|o| score(&me, o)).collect();
            let Some(matches) = matches else { continue };
            let weakest = matches
                .into_iter()
                .min_by(|a, b| a.confidence.total_cmp(&b.confidence));
            if let Some(m) = weakest.filter(|m| m.confidence >= THRESHOLD)
                && best
                    .as_ref()
                    .is_none_or(|(_, b)| m.confidence > b.confidence)
            {
                best = Some((key, m));
            }
        }
        match best {
            Some((key, why)) if key == current => {
                groups.reasons.insert(id, why);
                groups.touched.insert(key);
            }
            Some((key, why)) => {
                let anchor = groups.members[&key]
                    .iter()
                    .copied()
                    .find(|m| *m != id)
                    .unwrap_or(id);
                groups.join(id, anchor, why);
            }
            None if matches!(current, Key::Workout(_)) => {
                groups.detach(id);
            }
            None => {}
        }
    }
    write(db, &groups, now).await?;
    Ok(groups.moved())
}

/// The groups (at most `limit`) of the copies nearest `me` in start time, nearest first, within
/// the window: walking out from `me`'s start both ways.
fn nearest_groups(groups: &Groups, by_start: &[(i64, i64)], me: &Copy, limit: usize) -> Vec<Key> {
    let mut keys: Vec<Key> = Vec::with_capacity(limit);
    let at = by_start.partition_point(|(s, _)| *s < me.start);
    let (mut left, mut right) = (at, at);
    while keys.len() < limit {
        let before = left.checked_sub(1).map(|i| (me.start - by_start[i].0, i));
        let after = by_start.get(right).map(|&(s, _)| (s - me.start, right));
        let (gap, i) = match (before, after) {
            (Some(b), Some(a)) => {
                if b.0 <= a.0 {
                    left -= 1;
                    b
                } else {
                    right += 1;
                    a
                }
            }
            (Some(b), None) => {
                left -= 1;
                b
            }
            (None, Some(a)) => {
                right += 1;
                a
            }
            (None, None) => break,
        };
        if gap > WINDOW_S {
            break;
        }
        let key = groups.key(by_start[i].1);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

/// Write the touched groups: new workouts, each copy's workout and reason, each workout's primary
/// and counted copy; a workout left with one copy is dissolved (that copy stands alone).
async fn write(db: &mut SqliteConnection, groups: &Groups, now: DateTime<Utc>) -> Result<()> {
    for key in &groups.touched {
        let members: Vec<i64> = groups
            .members
            .get(key)
            .map(|m| m.iter().copied().collect())
            .unwrap_or_default();
        let id = match *key {
            Key::Alone(_) => {
                for m in members {
                    alone(db, m).await?;
                }
                continue;
            }
            Key::Workout(w) if members.len() < 2 => {
                sqlx::query("DELETE FROM workouts WHERE id = ?1")
                    .bind(w)
                    .execute(&mut *db)
                    .await?;
                for m in members {
                    alone(db, m).await?;
                }
                continue;
            }
            Key::Workout(w) => w,
            Key::New(_) => {
                let row: (i64,) = sqlx::query_as(
                    "INSERT INTO workouts (primary_activity_id, primary_pinned, created_at)
                     VALUES (NULL, 0, ?1) RETURNING id",
                )
                .bind(now.timestamp_millis())
                .fetch_one(&mut *db)
                .await?;
                row.0
            }
        };
        for m in &members {
            let why = groups.reasons.get(m);
            sqlx::query(
                "UPDATE activities SET workout_id = ?2,
                     link_reason = COALESCE(?3, link_reason),
                     link_confidence = COALESCE(?4, link_confidence)
                 WHERE id = ?1",
            )
            .bind(m)
            .bind(id)
            .bind(why.map(|w| w.reason.clone()))
            .bind(why.map(|w| w.confidence))
            .execute(&mut *db)
            .await?;
        }
        elect(db, id).await?;
    }
    Ok(())
}

/// Make `id` stand alone (no workout, counted). A link the athlete made is undone with it (the
/// copy is no longer "linked by you"); "kept apart" stays.
async fn alone(db: &mut SqliteConnection, id: i64) -> Result<()> {
    sqlx::query(
        "UPDATE activities SET workout_id = NULL, link_reason = NULL, link_confidence = NULL,
             counted = 1, link_pinned = CASE link_pinned WHEN 1 THEN 0 ELSE link_pinned END
         WHERE id = ?1",
    )
    .bind(id)
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// Choose a workout's primary copy (a copy the provider still lists first: the athlete's pick
/// among them, else the most complete whose start time is not hidden, then the first stored)
/// and mark what counts. A pick the provider stopped listing loses its pin.
async fn elect(db: &mut SqliteConnection, workout: i64) -> Result<()> {
    let pick: Option<(Option<i64>, i64)> =
        sqlx::query_as("SELECT primary_activity_id, primary_pinned FROM workouts WHERE id = ?1")
            .bind(workout)
            .fetch_optional(&mut *db)
            .await?;
    let pinned = pick.and_then(|(id, pinned)| id.filter(|_| pinned == 1));
    let primary: Option<i64> = sqlx::query_scalar(
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
    .fetch_optional(&mut *db)
    .await?;
    sqlx::query(
        "UPDATE workouts SET primary_activity_id = ?2,
             primary_pinned = primary_pinned AND ?2 IS ?3
         WHERE id = ?1",
    )
    .bind(workout)
    .bind(primary)
    .bind(pinned)
    .execute(&mut *db)
    .await?;
    sqlx::query(
        "UPDATE activities SET counted = (id = (SELECT primary_activity_id FROM workouts
                                                WHERE workouts.id = ?1))
         WHERE workout_id = ?1",
    )
    .bind(workout)
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// The settings key that records the one-time backfill.
const BACKFILL_KEY: &str = "linking";

/// Whether the one-time backfill has run on this database.
pub(crate) async fn backfilled(store: &Store) -> Result<bool> {
    let done: Option<i64> = sqlx::query_scalar("SELECT 1 FROM settings WHERE key = ?1")
        .bind(BACKFILL_KEY)
        .fetch_optional(store.pool())
        .await?;
    Ok(done.is_some())
}

/// Whether the database holds no activity (a new one: nothing was stored before linking).
pub(crate) async fn nothing_to_backfill(store: &Store) -> Result<bool> {
    let any: Option<i64> = sqlx::query_scalar("SELECT 1 FROM activities LIMIT 1")
        .fetch_optional(store.pool())
        .await?;
    Ok(any.is_none())
}

/// Link the activities stored before linking existed, once per database, in chunks ordered by
/// start, one short write transaction each (a sync can commit between them; its own pages link
/// themselves). Returns how many copies joined a workout.
pub(crate) async fn backfill_once(store: &Store, clock: &dyn Clock) -> Result<u64> {
    if backfilled(store).await? {
        return Ok(0);
    }
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM activities WHERE workout_id IS NULL AND link_pinned = 0
         ORDER BY start_utc, id",
    )
    .fetch_all(store.pool())
    .await?;
    let mut moved = 0;
    for chunk in ids.chunks(400) {
        let mut tx = store.begin().await?;
        moved += link(&mut tx, chunk, clock.now()).await?;
        tx.commit().await?;
    }
    let now = clock.now();
    sqlx::query(
        "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(BACKFILL_KEY)
    .bind(serde_json::json!({ "backfilled_at": now.to_rfc3339() }).to_string())
    .bind(now.timestamp_millis())
    .execute(store.pool())
    .await?;
    Ok(moved)
}

async fn workout_of(db: &mut SqliteConnection, id: i64) -> Result<Option<i64>> {
    let row: Option<Option<i64>> =
        sqlx::query_scalar("SELECT workout_id FROM activities WHERE id = ?1")
            .bind(id)
            .fetch_optional(&mut *db)
            .await?;
    row.ok_or_else(|| Error::not_found(format!("activity {id}")))
}

/// The athlete links `other` into `anchor`'s workout (pinned: no later sync moves either).
pub(crate) async fn link_by_hand(
    db: &mut SqliteConnection,
    anchor: i64,
    other: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    if anchor == other {
        return Err(Error::Validation(
            "an activity is already its own workout".to_owned(),
        ));
    }
    let anchor_workout = workout_of(db, anchor).await?;
    let other_workout = workout_of(db, other).await?;
    let providers: Vec<String> =
        sqlx::query_scalar("SELECT provider FROM activities WHERE id IN (?1, ?2)")
            .bind(anchor)
            .bind(other)
            .fetch_all(&mut *db)
            .await?;
    if providers.len() == 2 && providers[0] == providers[1] {
        return Err(Error::Validation(format!(
            "activities {anchor} and {other} both come from {}: a workout holds one copy per \
             provider",
            providers[0]
        )));
    }
    if anchor_workout.is_some() && anchor_workout == other_workout {
        sqlx::query("UPDATE activities SET link_pinned = 1 WHERE id IN (?1, ?2)")
            .bind(anchor)
            .bind(other)
            .execute(&mut *db)
            .await?;
        return Ok(());
    }
    let target = match anchor_workout {
        Some(w) => w,
        None => {
            let row: (i64,) = sqlx::query_as(
                "INSERT INTO workouts (primary_activity_id, primary_pinned, created_at)
                 VALUES (?1, 0, ?2) RETURNING id",
            )
            .bind(anchor)
            .bind(now.timestamp_millis())
            .fetch_one(&mut *db)
            .await?;
            row.0
        }
    };
    // The workout's copy from `other`'s provider (another session, by the athlete's word) makes
    // way: it stands alone and goes back to the linker, which will not put it back here.
    let displaced: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM activities WHERE workout_id = ?1 AND id != ?2
           AND provider = (SELECT provider FROM activities WHERE id = ?2)",
    )
    .bind(target)
    .bind(other)
    .fetch_all(&mut *db)
    .await?;
    for id in displaced {
        alone(db, id).await?;
        sqlx::query("UPDATE activities SET link_pinned = 0 WHERE id = ?1")
            .bind(id)
            .execute(&mut *db)
            .await?;
    }
    for id in [anchor, other] {
        sqlx::query(
            "UPDATE activities SET workout_id = ?2, link_pinned = 1, link_reason = 'linked by you',
                 link_confidence = 1.0 WHERE id = ?1",
        )
        .bind(id)
        .bind(target)
        .execute(&mut *db)
        .await?;
    }
    elect(db, target).await?;
    if let Some(old) = other_workout.filter(|w| *w != target) {
        settle(db, old).await?;
    }
    Ok(())
}

/// The athlete takes `id` out of its workout: it stands alone and is never linked again
/// automatically.
pub(crate) async fn unlink_by_hand(db: &mut SqliteConnection, id: i64) -> Result<()> {
    let workout = workout_of(db, id).await?;
    alone(db, id).await?;
    sqlx::query("UPDATE activities SET link_pinned = 2 WHERE id = ?1")
        .bind(id)
        .execute(&mut *db)
        .await?;
    if let Some(w) = workout {
        settle(db, w).await?;
    }
    Ok(())
}

/// The athlete makes `id` its workout's primary copy.
pub(crate) async fn make_primary(db: &mut SqliteConnection, id: i64) -> Result<()> {
    let workout = workout_of(db, id).await?.ok_or_else(|| {
        Error::Validation(format!(
            "activity {id} is not linked to other copies; it counts on its own already"
        ))
    })?;
    sqlx::query("UPDATE workouts SET primary_activity_id = ?2, primary_pinned = 1 WHERE id = ?1")
        .bind(workout)
        .bind(id)
        .execute(&mut *db)
        .await?;
    elect(db, workout).await
}

/// The workouts holding a copy from `provider` (before its copies are deleted).
pub(crate) async fn workouts_of(db: &mut SqliteConnection, ids: &[i64]) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT workout_id FROM activities
         WHERE id IN (SELECT value FROM json_each(?1)) AND workout_id IS NOT NULL",
    )
    .bind(serde_json::Value::from(ids.to_vec()).to_string())
    .fetch_all(&mut *db)
    .await?)
}

/// Settle `workouts` after some of their copies went (deleted with a connection) or were
/// flagged no longer listed: dissolve those left with one copy, choose the others' primary again
/// (a copy still listed is preferred).
pub(crate) async fn settle_all(db: &mut SqliteConnection, workouts: &[i64]) -> Result<()> {
    for &w in workouts {
        settle(db, w).await?;
    }
    Ok(())
}

/// The workouts of `connection`'s copies flagged at `flagged_at` (see `flag_unseen`).
pub(crate) async fn workouts_flagged(
    db: &mut SqliteConnection,
    connection: i64,
    flagged_at: DateTime<Utc>,
) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT workout_id FROM activities
         WHERE connection_id = ?1 AND deleted_at = ?2 AND workout_id IS NOT NULL",
    )
    .bind(connection)
    .bind(flagged_at.timestamp_millis())
    .fetch_all(&mut *db)
    .await?)
}

/// After a copy left `workout`: dissolve it if one copy is left, else choose its primary again.
async fn settle(db: &mut SqliteConnection, workout: i64) -> Result<()> {
    let left: Vec<i64> = sqlx::query_scalar("SELECT id FROM activities WHERE workout_id = ?1")
        .bind(workout)
        .fetch_all(&mut *db)
        .await?;
    if left.len() < 2 {
        sqlx::query("DELETE FROM workouts WHERE id = ?1")
            .bind(workout)
            .execute(&mut *db)
            .await?;
        for id in left {
            alone(db, id).await?;
        }
        Ok(())
    } else {
        elect(db, workout).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(id: i64, provider: ProviderKind, sport: Sport, start: i64) -> Copy {
        Copy {
            id,
            provider,
            sport,
            start,
            offset: Some(3600),
            elapsed: Some(3600),
            distance: Some(10_000.0),
            workout: None,
            pinned: 0,
            completeness: 8,
            deleted: false,
        }
    }

    const T: i64 = 1_780_000_000;

    #[test]
    fn starts_within_minutes_and_compatible_sports_match() {
        let a = copy(1, ProviderKind::Strava, Sport::Run, T);
        let b = copy(2, ProviderKind::Garmin, Sport::TrailRun, T + 4);
        let m = score(&a, &b).expect("the same run");
        assert!(m.confidence > 0.95, "{m:?}");
        assert!(m.reason.contains("4 s apart"), "{}", m.reason);
        let ride = copy(3, ProviderKind::Garmin, Sport::Ride, T);
        assert_eq!(score(&a, &ride), None, "a run is not a ride");
        let same_provider = copy(4, ProviderKind::Strava, Sport::Run, T);
        assert_eq!(
            score(&a, &same_provider),
            None,
            "one account's two activities are two"
        );
        let later = copy(5, ProviderKind::Garmin, Sport::Run, T + 400);
        assert_eq!(
            score(&a, &later),
            None,
            "more than five minutes apart, no shift"
        );
    }

    #[test]
    fn a_time_zone_shift_keeps_minutes_and_seconds() {
        let a = copy(1, ProviderKind::Strava, Sport::Ride, T);
        // Local time taken for UTC: off by the stated offset (here -5 h and +9.5 h).
        for offset in [-18_000, 34_200] {
            let mut b = copy(
                2,
                ProviderKind::GoogleHealth,
                Sport::Ride,
                T + i64::from(offset) + 3,
            );
            b.offset = Some(offset);
            b.elapsed = Some(3700); // within 3 %, not "close": the offset explains the shift
            let m = score(&a, &b).unwrap_or_else(|| panic!("offset {offset}"));
            assert!(
                m.reason.contains("local time recorded as UTC"),
                "{}",
                m.reason
            );
            assert!(m.confidence >= 0.85, "{m:?}");
        }
        let mut east = a.clone();
        east.offset = Some(7200);
        let mut dst = copy(2, ProviderKind::GoogleHealth, Sport::Ride, T - 3600 + 2);
        dst.offset = Some(7200);
        let m = score(&east, &dst).expect("an hour: daylight saving");
        assert!(m.reason.contains("daylight saving"), "{}", m.reason);
        // Two hours, explained by neither offset: only when duration and distance agree closely.
        let same = copy(3, ProviderKind::GoogleHealth, Sport::Ride, T + 7200);
        assert!(score(&a, &same).is_some_and(|m| m.confidence < 0.8));
        let mut differs = same;
        differs.elapsed = Some(3800);
        assert_eq!(
            score(&a, &differs),
            None,
            "an unexplained shift needs the rest to agree"
        );
        let odd = copy(4, ProviderKind::GoogleHealth, Sport::Ride, T + 3600 + 600);
        assert_eq!(score(&a, &odd), None, "a shift keeps minutes and seconds");
        let mut blind = copy(5, ProviderKind::GoogleHealth, Sport::Ride, T + 3600);
        blind.elapsed = None;
        assert_eq!(
            score(&a, &blind),
            None,
            "a shifted time alone is not enough"
        );
    }

    #[test]
    fn a_hidden_start_matches_on_the_day_only_when_the_rest_agrees() {
        // 08:30 local (offset +1 h) against Strava's hidden 00:00:01 local the same day.
        let morning = T - T.rem_euclid(86_400) + 7 * 3600 + 1800;
        let real = copy(1, ProviderKind::Garmin, Sport::Run, morning);
        let midnight = morning + 3600 - (morning + 3600).rem_euclid(86_400) + 1 - 3600;
        let hidden = copy(2, ProviderKind::Strava, Sport::Run, midnight);
        let m = score(&real, &hidden).expect("same day, same duration and distance");
        assert!(m.reason.contains("hidden start"), "{}", m.reason);
        let mut longer = hidden;
        longer.elapsed = Some(3600 + 600);
        assert_eq!(
            score(&real, &longer),
            None,
            "on the day alone, the rest must agree"
        );
    }

    #[test]
    fn different_durations_or_distances_are_different_sessions() {
        let a = copy(1, ProviderKind::Strava, Sport::Run, T);
        let mut b = copy(2, ProviderKind::Polar, Sport::Run, T + 10);
        b.elapsed = Some(1800);
        assert_eq!(score(&a, &b), None);
        let mut c = copy(3, ProviderKind::Polar, Sport::Run, T + 10);
        c.distance = Some(5_000.0);
        assert_eq!(score(&a, &c), None);
    }
}
