//! The athlete's manual choices: a link made by hand, a copy kept apart, a primary picked. Each is
//! pinned (`link_pinned`, `primary_pinned`) so that no later sync undoes it.

use super::group::{elect, settle};
use crate::store;
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

/// `id`'s workout (none when it stands alone); an activity that does not exist is not found.
async fn workout_of(db: &mut SqliteConnection, id: i64) -> Result<Option<i64>> {
    let row = store::workouts::workout_of(&mut *db, id).await?;
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
    let providers = store::workouts::providers_of(&mut *db, anchor, other).await?;
    if providers.len() == 2 && providers[0] == providers[1] {
        return Err(Error::Validation(format!(
            "activities {anchor} and {other} both come from {}: a workout holds one copy per \
             provider",
            providers[0]
        )));
    }
    if anchor_workout.is_some() && anchor_workout == other_workout {
        store::workouts::pin_linked(&mut *db, anchor, other).await?;
        return Ok(());
    }
    let target = match anchor_workout {
        Some(w) => w,
        None => store::workouts::create_with_primary(&mut *db, anchor, now).await?,
    };
    // The workout's copy from `other`'s provider (another session, by the athlete's word) makes
    // way: it stands alone and goes back to the linker, which will not put it back here.
    let displaced = store::workouts::same_provider_in(&mut *db, target, other).await?;
    for id in displaced {
        store::workouts::set_alone(&mut *db, id).await?;
        store::workouts::unpin(&mut *db, id).await?;
    }
    for id in [anchor, other] {
        store::workouts::link_by_athlete(&mut *db, id, target).await?;
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
    store::workouts::set_alone(&mut *db, id).await?;
    store::workouts::keep_apart(&mut *db, id).await?;
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
    store::workouts::pin_primary(&mut *db, workout, id).await?;
    elect(db, workout).await
}
