//! Strava's JSON, as it arrives. These types never leave the module.

use serde::Deserialize;

/// A `SummaryActivity` from `GET /athlete/activities`. Every field is optional so that a record
/// with a missing field is reported by the mapper with a reason, not by a parse failure of the page.
#[derive(Debug, Deserialize)]
pub(super) struct Activity {
    pub id: Option<i64>,
    pub name: Option<String>,
    pub sport_type: Option<String>,
    #[serde(rename = "type")]
    pub legacy_type: Option<String>,
    pub start_date: Option<String>,
    pub utc_offset: Option<f64>,
    pub elapsed_time: Option<i64>,
    pub moving_time: Option<i64>,
    pub distance: Option<f64>,
    pub total_elevation_gain: Option<f64>,
    pub average_heartrate: Option<f64>,
    pub max_heartrate: Option<f64>,
    pub calories: Option<f64>,
    pub average_watts: Option<f64>,
    pub max_watts: Option<f64>,
    pub device_name: Option<String>,
}

/// `GET /athlete` (the fields we keep as columns; the whole object goes to `provider_profile`).
#[derive(Debug, Deserialize)]
pub(super) struct Athlete {
    pub id: i64,
    pub username: Option<String>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
}

/// Strava's error envelope: `{"message": …, "errors": [{"resource", "field", "code"}]}`.
#[derive(Debug, Deserialize)]
pub(super) struct Fault {
    #[serde(default)]
    pub errors: Vec<FaultEntry>,
}

/// One entry of [`Fault`].
#[derive(Debug, Deserialize)]
pub(super) struct FaultEntry {
    #[serde(default)]
    pub resource: String,
    #[serde(default)]
    pub code: String,
}
