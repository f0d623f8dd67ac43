//! Google Health API JSON (v4 data points). Never leaves the module.

use serde::Deserialize;

/// `GET /v4/users/me/dataTypes/exercise/dataPoints`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DataPoints {
    #[serde(default)]
    pub data_points: crate::providers::http::Records,
    pub next_page_token: Option<String>,
}

/// One exercise data point.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DataPoint {
    // `name` (`users/me/dataTypes/exercise/dataPoints/<id>`) is read from the raw record.
    pub data_source: Option<DataSource>,
    pub exercise: Option<Exercise>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DataSource {
    pub device: Option<Device>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Device {
    pub display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Exercise {
    pub exercise_type: Option<String>,
    pub display_name: Option<String>,
    pub interval: Option<Interval>,
    /// A protobuf Duration string, e.g. "1800s".
    pub active_duration: Option<String>,
    pub metrics_summary: Option<Metrics>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Interval {
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    /// A Duration string, e.g. "3600s".
    pub start_utc_offset: Option<String>,
}

/// Distances and elevation in millimetres. Proto3 JSON writes int64 fields as strings
/// (`averageHeartRateBeatsPerMinute`, `steps`) and may write doubles either way, so every number
/// is read from a number or a numeric string.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Metrics {
    #[serde(default, deserialize_with = "crate::providers::proto_number")]
    pub calories_kcal: Option<f64>,
    #[serde(default, deserialize_with = "crate::providers::proto_number")]
    pub distance_millimeters: Option<f64>,
    #[serde(default, deserialize_with = "crate::providers::proto_number")]
    pub average_heart_rate_beats_per_minute: Option<f64>,
    #[serde(default, deserialize_with = "crate::providers::proto_number")]
    pub elevation_gain_millimeters: Option<f64>,
}

/// `GET /v4/users/me/identity` [3P].
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Identity {
    pub health_user_id: Option<String>,
}
