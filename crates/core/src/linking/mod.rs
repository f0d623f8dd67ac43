//! Cross-provider workout linking: the same session recorded by a watch and uploaded elsewhere
//! arrives once per provider. Every copy is kept; copies are linked into one workout, never merged
//! destructively. One copy is primary (the most complete, or the athlete's pick) and is the one
//! totals count (`activities.counted`). Each link stores its reason and confidence.
//!
//! The rule ([`score()`]) is pure: two copies from different providers are the same session when
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
//!
//! The module is in three parts: `score` (the pure rule), `group` (the grouping the linker does,
//! the workouts it writes, their primary, and the one-time backfill) and `choices` (the athlete's
//! manual choices). Their reads and writes are in `store::workouts` (the backfill's marker in
//! `store::settings`).

mod choices;
mod group;
mod score;

pub use score::{Copy, Match, THRESHOLD, score};

pub(crate) use choices::{link_by_hand, make_primary, unlink_by_hand};
pub(crate) use group::{
    backfill_once, backfilled, link, nothing_to_backfill, settle_all, workouts_flagged, workouts_of,
};
