//! The grouping: which copies are one workout (linked automatically by [`score`]), what is
//! written for it, which copy is its primary, and how a workout settles when copies leave it.

use super::score::{Copy, Match, THRESHOLD, score};
use crate::Result;
use crate::clock::Clock;
use crate::store::{self, Store};
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How many groups, nearest in time, a copy is compared with (a dense library holds about 30 a
/// day; a hidden start time can be most of a day from the real one).
const CANDIDATES: usize = 96;

/// How far apart two copies' starts may be and still be compared (a hidden start time can be
/// nearly a day from the real one, plus a time-zone offset).
const WINDOW_S: i64 = 38 * 3600;

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
    let span = store::workouts::start_span(&mut *db, ids).await?;
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
    let worth_it = store::workouts::other_providers_near(&mut *db, from, to, ids).await?;
    if !worth_it {
        return Ok(0);
    }
    let mut copies = store::workouts::copies_in(&mut *db, from, to).await?;
    // Members of the workouts involved, wherever their starts fall.
    let workouts: Vec<i64> = copies
        .iter()
        .filter_map(|c| c.workout)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let known: BTreeSet<i64> = copies.iter().map(|c| c.id).collect();
    copies.extend(
        store::workouts::copies_of_workouts(&mut *db, &workouts)
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
                    store::workouts::set_alone(&mut *db, m).await?;
                }
                continue;
            }
            Key::Workout(w) if members.len() < 2 => {
                store::workouts::delete(&mut *db, w).await?;
                for m in members {
                    store::workouts::set_alone(&mut *db, m).await?;
                }
                continue;
            }
            Key::Workout(w) => w,
            Key::New(_) => store::workouts::create(&mut *db, now).await?,
        };
        for m in &members {
            let why = groups.reasons.get(m);
            store::workouts::set_workout(
                &mut *db,
                *m,
                id,
                why.map(|w| w.reason.clone()),
                why.map(|w| w.confidence),
            )
            .await?;
        }
        elect(db, id).await?;
    }
    Ok(())
}

/// Choose a workout's primary copy (a copy the provider still lists first: the athlete's pick
/// among them, else the most complete whose start time is not hidden, then the first stored)
/// and mark what counts. A pick the provider stopped listing loses its pin.
pub(super) async fn elect(db: &mut SqliteConnection, workout: i64) -> Result<()> {
    let pick = store::workouts::primary_of(&mut *db, workout).await?;
    let pinned = pick.and_then(|(id, pinned)| id.filter(|_| pinned == 1));
    let primary = store::workouts::first_in_election_order(&mut *db, workout, pinned).await?;
    store::workouts::set_primary(&mut *db, workout, primary, pinned).await?;
    store::workouts::count_primary(&mut *db, workout).await?;
    Ok(())
}

/// The settings key that records the one-time backfill.
const BACKFILL_KEY: &str = "linking";

/// Whether the one-time backfill has run on this database.
pub(crate) async fn backfilled(store: &Store) -> Result<bool> {
    store::settings::exists(store.pool(), BACKFILL_KEY).await
}

/// Whether the database holds no activity (a new one: nothing was stored before linking).
pub(crate) async fn nothing_to_backfill(store: &Store) -> Result<bool> {
    Ok(!store::activities::any(store.pool()).await?)
}

/// Link the activities stored before linking existed, once per database, in chunks ordered by
/// start, one short write transaction each (a sync can commit between them; its own pages link
/// themselves). Returns how many copies joined a workout.
pub(crate) async fn backfill_once(store: &Store, clock: &dyn Clock) -> Result<u64> {
    if backfilled(store).await? {
        return Ok(0);
    }
    let ids = store::workouts::unlinked(store.pool()).await?;
    let mut moved = 0;
    for chunk in ids.chunks(400) {
        let mut tx = store.begin().await?;
        moved += link(&mut tx, chunk, clock.now()).await?;
        tx.commit().await?;
    }
    let now = clock.now();
    store::settings::put(
        store.pool(),
        BACKFILL_KEY,
        &serde_json::json!({ "backfilled_at": now.to_rfc3339() }).to_string(),
        now,
    )
    .await?;
    Ok(moved)
}

/// The workouts holding a copy from `provider` (before its copies are deleted).
pub(crate) async fn workouts_of(db: &mut SqliteConnection, ids: &[i64]) -> Result<Vec<i64>> {
    store::workouts::workouts_of(&mut *db, ids).await
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
    store::workouts::workouts_flagged(&mut *db, connection, flagged_at).await
}

/// After a copy left `workout`: dissolve it if one copy is left, else choose its primary again.
pub(super) async fn settle(db: &mut SqliteConnection, workout: i64) -> Result<()> {
    let left = store::workouts::members(&mut *db, workout).await?;
    if left.len() < 2 {
        store::workouts::delete(&mut *db, workout).await?;
        for id in left {
            store::workouts::set_alone(&mut *db, id).await?;
        }
        Ok(())
    } else {
        elect(db, workout).await
    }
}
