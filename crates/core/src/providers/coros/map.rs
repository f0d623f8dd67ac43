//! COROS wire → Tributary domain. Pure, unit-tested on captured-shape payloads. Every field
//! meaning here is third-party knowledge [3P]; the choices are marked where they matter.

use super::wire;
use crate::domain::{ConnectionProfile, NewActivity, Sport};
use crate::providers::Unmappable;
use chrono::{TimeZone, Utc};
use serde::Deserialize;
use serde_json::Value;

pub(super) fn sport_record(raw: Value) -> Result<NewActivity, Unmappable> {
    let id_hint = raw
        .get("labelId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let fail = |reason: String| Unmappable {
        provider_activity_id: id_hint.clone(),
        reason,
    };
    let wire =
        wire::Sport::deserialize(&raw).map_err(|e| fail(format!("unexpected field type: {e}")))?;
    let id = wire
        .label_id
        .filter(|i| !i.is_empty())
        .ok_or_else(|| fail("the record has no labelId".to_owned()))?;
    let start = wire
        .start_time
        .ok_or_else(|| fail("the record has no startTime".to_owned()))?;
    let start_utc = Utc
        .timestamp_opt(start, 0)
        .single()
        .ok_or_else(|| fail(format!("startTime {start} is out of range")))?;
    let elapsed = wire
        .total_time
        .or(wire.duration)
        .or_else(|| {
            wire.end_time
                .and_then(|end| end.checked_sub(start))
                .map(|s| s as f64)
        })
        .map(|s| s.round() as i64);
    let sport = sport(wire.mode.unwrap_or(-1));
    Ok(NewActivity {
        provider_activity_id: id,
        sport,
        name: Some(sport.as_str().replace('_', " ")),
        start_utc,
        // Quarter hours, bounded to real offsets (−12 h … +14 h) [3P].
        utc_offset_seconds: wire
            .start_timezone
            .filter(|q| (-48..=56).contains(q))
            .map(|q| (q * 900) as i32),
        elapsed_seconds: elapsed,
        moving_seconds: wire
            .duration
            .filter(|_| wire.total_time.is_some())
            .map(|s| s.round() as i64),
        distance_m: wire.distance,
        elevation_gain_m: None,
        avg_heart_rate: wire.avg_heart_rate,
        max_heart_rate: wire.max_heart_rate,
        calories: wire.calorie.map(|c| (c / 1000.0).round()),
        avg_power_w: None,
        max_power_w: None,
        device: wire.device_name,
        raw,
    })
}

/// COROS `mode` → our sport [3P: the numbering tapiriik uses; subModes are not mapped].
pub(super) fn sport(mode: i64) -> Sport {
    match mode {
        8 | 15 => Sport::Run,
        20 => Sport::TrailRun,
        9 => Sport::Ride,
        10 => Sport::Swim,
        16 => Sport::Hike,
        19 | 21 => Sport::Ski,
        23 => Sport::Strength,
        _ => Sport::Other,
    }
}

pub(super) fn profile(data: Value, open_id: &str) -> Result<ConnectionProfile, String> {
    let user = wire::User::deserialize(&data).map_err(|e| format!("unexpected COROS user: {e}"))?;
    Ok(ConnectionProfile {
        provider_user_id: Some(user.open_id.unwrap_or_else(|| open_id.to_owned())),
        username: user.nick.filter(|n| !n.is_empty()),
        email: None,
        provider_profile: Some(data),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run() -> Value {
        json!({
            "labelId": "418173292602179604", "mode": 8, "subMode": 1, "startTime": 1_761_805_800_i64,
            "endTime": 1_761_809_500_i64, "startTimezone": 8, "endTimezone": 8, "totalTime": 3700,
            "duration": 3600, "distance": 10012.3, "calorie": 612_000, "avgSpeed": 360,
            "avgFrequency": 172, "step": 10432, "avgHeartRate": 148, "maxHeartRate": 176,
            "fitUrl": "https://example.invalid/a.fit"
        })
    }

    #[test]
    fn maps_a_record() {
        let a = sport_record(run()).unwrap();
        assert_eq!(
            a.provider_activity_id, "418173292602179604",
            "ids beyond 2^53 stay exact as text"
        );
        assert_eq!(a.start_utc.timestamp(), 1_761_805_800);
        assert_eq!(a.utc_offset_seconds, Some(7200), "8 quarter hours = +2 h");
        assert_eq!(
            (a.elapsed_seconds, a.moving_seconds),
            (Some(3700), Some(3600))
        );
        assert_eq!(a.calories, Some(612.0), "small calories to kcal");
        assert_eq!(a.sport, Sport::Run);
        assert_eq!(a.raw["fitUrl"], "https://example.invalid/a.fit");
    }

    #[test]
    fn odd_and_missing_values() {
        let mut raw = run();
        raw["startTimezone"] = json!(999);
        raw.as_object_mut().unwrap().remove("totalTime");
        let a = sport_record(raw).unwrap();
        assert_eq!(
            a.utc_offset_seconds, None,
            "an impossible offset is dropped, not trusted"
        );
        assert_eq!((a.elapsed_seconds, a.moving_seconds), (Some(3600), None));
        let mut no_start = run();
        no_start.as_object_mut().unwrap().remove("startTime");
        assert!(
            sport_record(no_start)
                .unwrap_err()
                .reason
                .contains("startTime")
        );
        assert_eq!(sport(9), Sport::Ride);
        assert_eq!(sport(77), Sport::Other);
    }

    #[test]
    fn absurd_times_are_refused_not_a_panic() {
        let mut raw = run();
        raw.as_object_mut().unwrap().remove("totalTime");
        raw.as_object_mut().unwrap().remove("duration");
        raw["startTime"] = json!(-1);
        raw["endTime"] = json!(i64::MAX);
        // The elapsed time cannot be computed: it is left out rather than wrapped or panicked on.
        let a = sport_record(raw).unwrap();
        assert_eq!(a.elapsed_seconds, None);
    }

    proptest::proptest! {
        #[test]
        fn any_record_maps_or_is_refused_never_panics(raw in crate::providers::fuzz::shaped(&[
            "labelId", "mode", "startTime", "endTime", "startTimezone", "totalTime", "duration",
            "distance", "calorie", "avgHeartRate", "maxHeartRate", "deviceName", "nick", "openId",
        ])) {
            let _ = sport_record(raw.clone());
            let _ = profile(raw, "x");
        }
    }
}
