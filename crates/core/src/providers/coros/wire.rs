//! COROS Open API JSON. Every answer is an envelope `{result, message, data}`; `result` other
//! than "0000" is an error even under HTTP 200. Never leaves the module.

use serde::Deserialize;

/// The envelope.
#[derive(Debug, Deserialize)]
pub(super) struct Envelope {
    pub result: Option<String>,
    pub message: Option<String>,
    /// Kept as text until the caller reads it: a list's records are read one by one.
    #[serde(default)]
    pub data: Option<Box<serde_json::value::RawValue>>,
}

/// `data` of `sport/list` when it is an object: the records under `dataList`. (Not an untagged
/// enum with the bare list: serde buffers untagged content, which the per-record reader's raw
/// values cannot be read from.)
#[derive(Debug, Deserialize)]
pub(super) struct SportList {
    #[serde(rename = "dataList", default)]
    pub data_list: crate::providers::http::Records,
}

/// One sport record from `sport/list` [3P field names].
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Sport {
    pub label_id: Option<String>,
    pub mode: Option<i64>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    /// Quarter hours east of UTC [3P: tapiriik divides by 4 to get hours].
    pub start_timezone: Option<i64>,
    pub total_time: Option<f64>,
    pub duration: Option<f64>,
    pub distance: Option<f64>,
    /// Small calories [3P: tapiriik divides by 1000 to get kcal].
    pub calorie: Option<f64>,
    pub avg_heart_rate: Option<f64>,
    pub max_heart_rate: Option<f64>,
    pub device_name: Option<String>,
}

/// `user/info`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct User {
    pub nick: Option<String>,
    pub open_id: Option<String>,
}
