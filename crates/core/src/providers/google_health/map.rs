//! Google Health wire → Tributary domain. Pure, unit-tested on captured-shape payloads.

use super::wire;
use crate::domain::{ConnectionProfile, NewActivity, Sport};
use crate::providers::Unmappable;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// Seconds in a protobuf Duration string ("1800s", "1800.5s", "-3600s").
pub(super) fn duration_seconds(text: &str) -> Option<f64> {
    text.strip_suffix('s')?.parse().ok()
}

pub(super) fn exercise(raw: Value) -> Result<NewActivity, Unmappable> {
    let id_hint = raw
        .get("name")
        .and_then(Value::as_str)
        .and_then(|n| n.rsplit('/').next())
        .map(str::to_owned);
    let fail = |reason: String| Unmappable {
        provider_activity_id: id_hint.clone(),
        reason,
    };
    let wire = wire::DataPoint::deserialize(&raw)
        .map_err(|e| fail(format!("unexpected field type: {e}")))?;
    let id = id_hint
        .clone()
        .filter(|i| !i.is_empty())
        .ok_or_else(|| fail("the data point has no name".to_owned()))?;
    let exercise = wire
        .exercise
        .ok_or_else(|| fail("the data point is not an exercise".to_owned()))?;
    let interval = exercise
        .interval
        .ok_or_else(|| fail("the exercise has no interval".to_owned()))?;
    let parse = |t: &str| DateTime::parse_from_rfc3339(t).map(|t| t.with_timezone(&Utc));
    let start_text = interval
        .start_time
        .as_deref()
        .ok_or_else(|| fail("the exercise has no startTime".to_owned()))?;
    let start_utc = parse(start_text)
        .map_err(|e| fail(format!("startTime '{start_text}' is not RFC 3339: {e}")))?;
    let end = interval.end_time.as_deref().and_then(|t| parse(t).ok());
    let offset = match interval.start_utc_offset.as_deref() {
        Some(text) => Some(
            duration_seconds(text)
                .ok_or_else(|| fail(format!("startUtcOffset '{text}' is not a duration")))?,
        ),
        None => None,
    };
    let active = match exercise.active_duration.as_deref() {
        Some(text) => Some(
            duration_seconds(text)
                .ok_or_else(|| fail(format!("activeDuration '{text}' is not a duration")))?,
        ),
        None => None,
    };
    let m = exercise.metrics_summary;
    let mm_to_m = |mm: Option<f64>| mm.map(|v| v / 1000.0);
    Ok(NewActivity {
        provider_activity_id: id,
        sport: sport(exercise.exercise_type.as_deref().unwrap_or("")),
        name: exercise.display_name,
        start_utc,
        utc_offset_seconds: offset.map(|s| s.round() as i32),
        elapsed_seconds: end.map(|e| (e - start_utc).num_seconds()),
        moving_seconds: active.map(|s| s.round() as i64),
        distance_m: mm_to_m(m.as_ref().and_then(|m| m.distance_millimeters)),
        elevation_gain_m: mm_to_m(m.as_ref().and_then(|m| m.elevation_gain_millimeters)),
        avg_heart_rate: m
            .as_ref()
            .and_then(|m| m.average_heart_rate_beats_per_minute),
        max_heart_rate: None,
        calories: m.as_ref().and_then(|m| m.calories_kcal),
        avg_power_w: None,
        max_power_w: None,
        device: wire
            .data_source
            .and_then(|d| d.device)
            .and_then(|d| d.display_name),
        raw,
    })
}

/// `exercise.exerciseType` → our sport. The enum's full list is Google's; the names here are the
/// common ones [unverified beyond RUNNING and BIKING]; the rest are `other`.
pub(super) fn sport(kind: &str) -> Sport {
    match kind {
        "RUNNING" | "TREADMILL_RUNNING" => Sport::Run,
        "TRAIL_RUNNING" => Sport::TrailRun,
        "BIKING" | "CYCLING" | "MOUNTAIN_BIKING" | "ROAD_BIKING" => Sport::Ride,
        "STATIONARY_BIKING" | "INDOOR_CYCLING" => Sport::VirtualRide,
        "SWIMMING" | "SWIMMING_POOL" | "SWIMMING_OPEN_WATER" => Sport::Swim,
        "WALKING" => Sport::Walk,
        "HIKING" => Sport::Hike,
        "ROWING" | "ROWING_MACHINE" => Sport::Row,
        "SKIING" | "CROSS_COUNTRY_SKIING" => Sport::Ski,
        "WEIGHTLIFTING" | "STRENGTH_TRAINING" => Sport::Strength,
        _ => Sport::Other,
    }
}

pub(super) fn profile(raw: Value) -> Result<ConnectionProfile, String> {
    let identity =
        wire::Identity::deserialize(&raw).map_err(|e| format!("unexpected identity: {e}"))?;
    let id = identity
        .health_user_id
        .ok_or("the identity has no healthUserId")?;
    Ok(ConnectionProfile {
        provider_user_id: Some(id),
        username: None,
        email: None,
        provider_profile: Some(raw),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run() -> Value {
        json!({
            "name": "users/me/dataTypes/exercise/dataPoints/ex-9f8e7d",
            "dataSource": {"device": {"displayName": "Pixel Watch 3"}, "platform": "FITBIT"},
            "exercise": {
                "exerciseType": "RUNNING", "displayName": "Morning run",
                "interval": {"startTime": "2026-10-30T06:30:00Z", "endTime": "2026-10-30T07:32:00Z", "startUtcOffset": "3600s"},
                "activeDuration": "3600s",
                "metricsSummary": {"caloriesKcal": 610.5, "distanceMillimeters": 10012300, "steps": "10412",
                                   "averageHeartRateBeatsPerMinute": "151", "activeZoneMinutes": "38",
                                   "elevationGainMillimeters": 84000}
            }
        })
    }

    #[test]
    fn millimetres_and_duration_strings() {
        let a = exercise(run()).unwrap();
        assert_eq!(
            a.provider_activity_id, "ex-9f8e7d",
            "the last segment of the resource name"
        );
        assert_eq!(a.distance_m, Some(10012.3), "millimetres to metres");
        assert_eq!(a.elevation_gain_m, Some(84.0));
        assert_eq!(
            (a.elapsed_seconds, a.moving_seconds),
            (Some(3720), Some(3600))
        );
        assert_eq!(a.utc_offset_seconds, Some(3600));
        assert_eq!(
            (a.sport, a.device.as_deref()),
            (Sport::Run, Some("Pixel Watch 3"))
        );
    }

    #[test]
    fn int64_fields_are_read_from_strings_as_proto3_json_writes_them() {
        // The published reference (discovery: MetricsSummary) types averageHeartRateBeatsPerMinute
        // and steps as int64, which proto3 JSON writes as strings; doubles may come either way.
        let a = exercise(run()).unwrap();
        assert_eq!(a.avg_heart_rate, Some(151.0));
        let mut numbers = run();
        numbers["exercise"]["metricsSummary"]["averageHeartRateBeatsPerMinute"] = json!(151);
        numbers["exercise"]["metricsSummary"]["distanceMillimeters"] = json!("10012300");
        let b = exercise(numbers).unwrap();
        assert_eq!(
            (b.avg_heart_rate, b.distance_m),
            (Some(151.0), Some(10012.3))
        );
        let mut garbage = run();
        garbage["exercise"]["metricsSummary"]["averageHeartRateBeatsPerMinute"] = json!("fast");
        assert!(
            exercise(garbage)
                .unwrap_err()
                .reason
                .contains("not a number")
        );
        let mut nan = run();
        nan["exercise"]["metricsSummary"]["caloriesKcal"] = json!("NaN");
        assert_eq!(exercise(nan).unwrap().calories, None, "NaN is no value");
    }

    #[test]
    fn bad_values_are_reported() {
        let mut raw = run();
        raw["exercise"]["activeDuration"] = json!("30 minutes");
        assert!(exercise(raw).unwrap_err().reason.contains("activeDuration"));
        let mut not_exercise = run();
        not_exercise.as_object_mut().unwrap().remove("exercise");
        assert!(
            exercise(not_exercise)
                .unwrap_err()
                .reason
                .contains("not an exercise")
        );
        assert_eq!(duration_seconds("-1800s"), Some(-1800.0));
        assert_eq!(duration_seconds("1800"), None);
        assert_eq!(sport("PADDLING"), Sport::Other);
    }

    proptest::proptest! {
        #[test]
        fn any_record_maps_or_is_refused_never_panics(
            outer in crate::providers::fuzz::shaped(&["name", "healthUserId"]),
            exercise_fields in crate::providers::fuzz::shaped(&[
                "exerciseType", "displayName", "activeDuration",
            ]),
            interval in crate::providers::fuzz::shaped(&["startTime", "endTime", "startUtcOffset"]),
            metrics in crate::providers::fuzz::shaped(&[
                "caloriesKcal", "distanceMillimeters", "averageHeartRateBeatsPerMinute",
                "elevationGainMillimeters", "steps",
            ]),
            parts in proptest::prelude::any::<(bool, bool, bool)>(),
        ) {
            let mut raw = outer;
            let mut ex = exercise_fields;
            if parts.0 {
                ex["interval"] = interval;
            }
            if parts.1 {
                ex["metricsSummary"] = metrics;
            }
            if parts.2 {
                raw["exercise"] = ex;
            }
            let _ = exercise(raw.clone());
            let _ = profile(raw);
        }
    }
}
