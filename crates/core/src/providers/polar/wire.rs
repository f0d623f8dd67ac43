//! Polar AccessLink's JSON, as it arrives (mixed snake_case and kebab-case keys). Never leaves
//! the module.

use serde::Deserialize;

/// An exercise from `GET /v3/exercises`. Optional everywhere, so a missing field is a reported
/// record failure rather than a page failure.
#[derive(Debug, Deserialize)]
pub(super) struct Exercise {
    pub id: Option<String>,
    pub device: Option<String>,
    /// Local wall time, no zone.
    pub start_time: Option<String>,
    /// Minutes east of UTC.
    pub start_time_utc_offset: Option<i32>,
    /// ISO-8601 duration, e.g. "PT1H2M3S".
    pub duration: Option<String>,
    pub calories: Option<f64>,
    pub distance: Option<f64>,
    pub heart_rate: Option<HeartRate>,
    pub sport: Option<String>,
    pub detailed_sport_info: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct HeartRate {
    pub average: Option<f64>,
    pub maximum: Option<f64>,
}

/// `GET /v3/users/{user-id}`.
#[derive(Debug, Deserialize)]
pub(super) struct User {
    #[serde(rename = "polar-user-id")]
    pub polar_user_id: Option<i64>,
    #[serde(rename = "first-name")]
    pub first_name: Option<String>,
    #[serde(rename = "last-name")]
    pub last_name: Option<String>,
}
