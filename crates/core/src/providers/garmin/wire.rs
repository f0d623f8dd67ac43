//! Garmin JSON: activity summaries (as Garmin pushes them, served back by the relay's inbox) and
//! the partner-gateway user endpoints. Never leaves the module.

use serde::Deserialize;

/// The inbox contract: `GET {inbox}/garmin/users/{userId}/items?after=<position>` answers the
/// items after `position` in arrival order, `next` (the position after the last item returned,
/// to pass as `after` next time, also at the end) and `more` (whether more items are there now).
#[derive(Debug, Deserialize)]
pub(super) struct InboxPage {
    #[serde(default)]
    pub items: crate::providers::http::Records,
    /// The position after the last item returned.
    pub next: Option<String>,
    /// Whether more items follow now.
    #[serde(default)]
    pub more: bool,
}

/// An activity summary [3P field names].
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Activity {
    pub summary_id: Option<String>,
    pub activity_id: Option<i64>,
    pub activity_name: Option<String>,
    pub activity_type: Option<String>,
    pub start_time_in_seconds: Option<i64>,
    pub start_time_offset_in_seconds: Option<i32>,
    pub duration_in_seconds: Option<i64>,
    pub distance_in_meters: Option<f64>,
    pub active_kilocalories: Option<f64>,
    pub average_heart_rate_in_beats_per_minute: Option<f64>,
    pub max_heart_rate_in_beats_per_minute: Option<f64>,
    pub total_elevation_gain_in_meters: Option<f64>,
    pub device_name: Option<String>,
}

/// `GET /partner-gateway/rest/user/id`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UserId {
    pub user_id: String,
}
