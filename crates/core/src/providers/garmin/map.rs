//! Garmin wire → Tributary domain. Pure, unit-tested on captured-shape payloads.

use super::wire;
use crate::domain::{NewActivity, Sport};
use crate::providers::Unmappable;
use chrono::{TimeZone, Utc};
use serde::Deserialize;
use serde_json::Value;

pub(super) fn activity(raw: Value) -> Result<NewActivity, Unmappable> {
    let id_hint = raw
        .get("summaryId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let fail = |reason: String| Unmappable {
        provider_activity_id: id_hint.clone(),
        reason,
    };
    let wire = wire::Activity::deserialize(&raw)
        .map_err(|e| fail(format!("unexpected field type: {e}")))?;
    // The summary id is what Garmin de-duplicates pushes by; the activity id names the same thing.
    let id = wire
        .summary_id
        .filter(|s| !s.is_empty())
        .or(wire.activity_id.map(|a| a.to_string()))
        .ok_or_else(|| fail("the summary has no summaryId or activityId".to_owned()))?;
    let start = wire
        .start_time_in_seconds
        .ok_or_else(|| fail("the summary has no startTimeInSeconds".to_owned()))?;
    let start_utc = Utc
        .timestamp_opt(start, 0)
        .single()
        .ok_or_else(|| fail(format!("startTimeInSeconds {start} is out of range")))?;
    Ok(NewActivity {
        provider_activity_id: id,
        sport: sport(wire.activity_type.as_deref().unwrap_or("")),
        name: wire.activity_name,
        start_utc,
        // Epoch seconds are UTC; the offset is the local one at the start.
        utc_offset_seconds: wire.start_time_offset_in_seconds,
        elapsed_seconds: wire.duration_in_seconds,
        moving_seconds: None,
        distance_m: wire.distance_in_meters,
        elevation_gain_m: wire.total_elevation_gain_in_meters,
        avg_heart_rate: wire.average_heart_rate_in_beats_per_minute,
        max_heart_rate: wire.max_heart_rate_in_beats_per_minute,
        calories: wire.active_kilocalories,
        avg_power_w: None,
        max_power_w: None,
        device: wire.device_name,
        raw,
    })
}

/// Garmin `activityType` → our sport (the common names; the rest are `other`).
pub(super) fn sport(kind: &str) -> Sport {
    match kind {
        "RUNNING" | "TREADMILL_RUNNING" | "TRACK_RUNNING" | "STREET_RUNNING" => Sport::Run,
        "TRAIL_RUNNING" => Sport::TrailRun,
        "CYCLING" | "ROAD_BIKING" | "MOUNTAIN_BIKING" | "GRAVEL_CYCLING" => Sport::Ride,
        "INDOOR_CYCLING" | "VIRTUAL_RIDE" => Sport::VirtualRide,
        "LAP_SWIMMING" | "OPEN_WATER_SWIMMING" | "SWIMMING" => Sport::Swim,
        "WALKING" => Sport::Walk,
        "HIKING" => Sport::Hike,
        "ROWING" | "INDOOR_ROWING" => Sport::Row,
        "RESORT_SKIING_SNOWBOARDING"
        | "CROSS_COUNTRY_SKIING"
        | "BACKCOUNTRY_SKIING_SNOWBOARDING" => Sport::Ski,
        "STRENGTH_TRAINING" => Sport::Strength,
        _ => Sport::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn epoch_seconds_plus_offset() {
        let a = activity(json!({
            "userId": "u-1", "summaryId": "19283746-detail", "activityId": 19_283_746_i64,
            "activityName": "Lunch run", "activityType": "TRAIL_RUNNING",
            "startTimeInSeconds": 1_761_820_200_i64, "startTimeOffsetInSeconds": -14_400,
            "durationInSeconds": 3700, "distanceInMeters": 9850.2, "activeKilocalories": 640,
            "averageHeartRateInBeatsPerMinute": 150, "maxHeartRateInBeatsPerMinute": 178,
            "totalElevationGainInMeters": 310.0, "deviceName": "Forerunner 965", "manual": false
        }))
        .unwrap();
        assert_eq!(a.provider_activity_id, "19283746-detail");
        assert_eq!(
            a.start_utc.timestamp(),
            1_761_820_200,
            "epoch seconds are already UTC"
        );
        assert_eq!(a.utc_offset_seconds, Some(-14_400));
        assert_eq!(
            (a.sport, a.elapsed_seconds, a.calories),
            (Sport::TrailRun, Some(3700), Some(640.0))
        );
        assert_eq!(a.elevation_gain_m, Some(310.0));
    }

    #[test]
    fn ids_and_starts_are_required() {
        assert!(
            activity(json!({"startTimeInSeconds": 1}))
                .unwrap_err()
                .reason
                .contains("summaryId")
        );
        let only_activity_id = activity(json!({"activityId": 7, "startTimeInSeconds": 1})).unwrap();
        assert_eq!(only_activity_id.provider_activity_id, "7");
        assert!(
            activity(json!({"summaryId": "x"}))
                .unwrap_err()
                .reason
                .contains("startTimeInSeconds")
        );
        assert_eq!(sport("KAYAKING"), Sport::Other);
    }

    proptest::proptest! {
        #[test]
        fn any_record_maps_or_is_refused_never_panics(raw in crate::providers::fuzz::shaped(&[
            "summaryId", "activityId", "activityName", "activityType", "startTimeInSeconds",
            "startTimeOffsetInSeconds", "durationInSeconds", "distanceInMeters",
            "activeKilocalories", "averageHeartRateInBeatsPerMinute",
            "maxHeartRateInBeatsPerMinute", "totalElevationGainInMeters", "deviceName",
        ])) {
            let _ = activity(raw);
        }
    }
}
