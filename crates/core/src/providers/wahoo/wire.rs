//! Wahoo Cloud API JSON, as it arrives. Numbers in `workout_summary` come as decimal strings (or
//! null), so they are read as raw values and parsed by the mapper. Never leaves the module.

use serde::Deserialize;
use serde_json::Value;

/// `GET /v1/workouts`.
#[derive(Debug, Deserialize)]
pub(super) struct WorkoutList {
    pub workouts: crate::providers::http::Records,
    /// Workouts in all pages, when reported.
    pub total: Option<u64>,
}

/// One workout.
#[derive(Debug, Deserialize)]
pub(super) struct Workout {
    pub id: Option<i64>,
    pub starts: Option<String>,
    pub minutes: Option<Value>,
    pub name: Option<String>,
    pub workout_type_id: Option<i64>,
    /// Missing for unfinished or manual workouts.
    pub workout_summary: Option<Summary>,
}

/// The summary, every number possibly a decimal string.
#[derive(Debug, Deserialize)]
pub(super) struct Summary {
    pub ascent_accum: Option<Value>,
    pub calories_accum: Option<Value>,
    pub distance_accum: Option<Value>,
    pub duration_active_accum: Option<Value>,
    pub duration_total_accum: Option<Value>,
    pub heart_rate_avg: Option<Value>,
    pub power_avg: Option<Value>,
    pub power_bike_avg: Option<Value>,
}

/// `GET /v1/user`.
#[derive(Debug, Deserialize)]
pub(super) struct User {
    pub id: i64,
    pub email: Option<String>,
    pub first: Option<String>,
    pub last: Option<String>,
}
