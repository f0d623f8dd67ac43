//! Strava wire → Tributary domain. Pure functions, unit-tested on captured-shape payloads.

use super::wire;
use crate::domain::{ConnectionProfile, NewActivity, Sport};
use crate::providers::Unmappable;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// Map one list item; the raw record is kept whole.
pub(super) fn activity(raw: Value) -> Result<NewActivity, Unmappable> {
    let id_hint = raw.get("id").map(|id| id.to_string());
    let fail = |reason: String| Unmappable {
        provider_activity_id: id_hint.clone(),
        reason,
    };
    let wire = wire::Activity::deserialize(&raw)
        .map_err(|e| fail(format!("unexpected field type: {e}")))?;
    let id = wire
        .id
        .ok_or_else(|| fail("the activity has no id".to_owned()))?;
    let start = wire
        .start_date
        .as_deref()
        .ok_or_else(|| fail("the activity has no start_date".to_owned()))?;
    let start_utc = DateTime::parse_from_rfc3339(start)
        .map_err(|e| fail(format!("start_date '{start}' is not RFC 3339: {e}")))?
        .with_timezone(&Utc);
    let sport_name = wire
        .sport_type
        .as_deref()
        .or(wire.legacy_type.as_deref())
        .unwrap_or("");
    Ok(NewActivity {
        provider_activity_id: id.to_string(),
        sport: sport(sport_name),
        name: wire.name,
        start_utc,
        // Strava sends the offset in seconds as a float (e.g. 3600.0).
        utc_offset_seconds: wire.utc_offset.map(|s| s.round() as i32),
        elapsed_seconds: wire.elapsed_time,
        moving_seconds: wire.moving_time,
        distance_m: wire.distance,
        elevation_gain_m: wire.total_elevation_gain,
        avg_heart_rate: wire.average_heartrate,
        max_heart_rate: wire.max_heartrate,
        // Calories come only in the detail view; we do not guess them from kilojoules.
        calories: wire.calories,
        avg_power_w: wire.average_watts,
        max_power_w: wire.max_watts,
        device: wire.device_name,
        raw,
    })
}

/// Strava `sport_type` (or the legacy `type`) → our sport.
pub(super) fn sport(name: &str) -> Sport {
    match name {
        "Run" | "VirtualRun" => Sport::Run,
        "TrailRun" => Sport::TrailRun,
        "Ride" | "MountainBikeRide" | "GravelRide" | "EBikeRide" | "EMountainBikeRide"
        | "Velomobile" => Sport::Ride,
        "VirtualRide" => Sport::VirtualRide,
        "Swim" => Sport::Swim,
        "Walk" => Sport::Walk,
        "Hike" => Sport::Hike,
        "Rowing" | "VirtualRow" => Sport::Row,
        "AlpineSki" | "BackcountrySki" | "NordicSki" | "RollerSki" => Sport::Ski,
        "WeightTraining" | "Crossfit" => Sport::Strength,
        _ => Sport::Other,
    }
}

/// The athlete profile → connection columns.
pub(super) fn profile(raw: Value) -> Result<ConnectionProfile, String> {
    let athlete =
        wire::Athlete::deserialize(&raw).map_err(|e| format!("unexpected athlete profile: {e}"))?;
    let full_name = [athlete.firstname.as_deref(), athlete.lastname.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Ok(ConnectionProfile {
        provider_user_id: Some(athlete.id.to_string()),
        username: athlete
            .username
            .filter(|u| !u.is_empty())
            .or(Some(full_name).filter(|n| !n.is_empty())),
        email: None, // Strava removed the email from every scope in 2019.
        provider_profile: Some(raw),
    })
}

/// The streams asked for: everything an athlete charts.
pub(super) const STREAM_KEYS: &str =
    "time,latlng,altitude,heartrate,cadence,watts,velocity_smooth,distance,temp";

/// Streams keyed by type (`{"heartrate": {"data": [...]}, "latlng": {"data": [[lat, lng]]}}`),
/// aligned on `time` (seconds from the start in `summary.start_date`). An empty answer is a
/// recording without samples (a manual entry), not an error.
pub(super) fn streams(body: &Value, summary: &Value) -> Result<crate::recording::Streams, String> {
    use crate::recording::{Builder, StreamKind};
    let Some(map) = body.as_object() else {
        return match body.as_array() {
            Some(list) if list.is_empty() => Ok(crate::recording::Streams::default()),
            _ => Err("not an object keyed by stream type".to_owned()),
        };
    };
    let data = |key: &str| {
        map.get(key)
            .and_then(|s| s.get("data"))
            .and_then(Value::as_array)
    };
    let time = data("time").ok_or("no time stream")?;
    let start = summary
        .get("start_date")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or(0, |t| t.timestamp());
    let column = |key: &str| -> Vec<Option<f64>> {
        data(key).map_or_else(Vec::new, |d| d.iter().map(Value::as_f64).collect())
    };
    let columns = [
        (StreamKind::Altitude, column("altitude")),
        (StreamKind::HeartRate, column("heartrate")),
        (StreamKind::Cadence, column("cadence")),
        (StreamKind::Power, column("watts")),
        (StreamKind::Speed, column("velocity_smooth")),
        (StreamKind::Distance, column("distance")),
        (StreamKind::Temperature, column("temp")),
    ];
    let latlng = data("latlng");
    let mut builder = Builder::default();
    for (i, t) in time.iter().enumerate() {
        let Some(t) = t.as_f64() else { continue };
        let pair = latlng.and_then(|l| l.get(i)).and_then(Value::as_array);
        let coord = |j: usize| pair.and_then(|p| p.get(j)).and_then(Value::as_f64);
        let mut values = vec![(StreamKind::Lat, coord(0)), (StreamKind::Lon, coord(1))];
        values.extend(
            columns
                .iter()
                .map(|(k, c)| (*k, c.get(i).copied().flatten())),
        );
        if !builder.push(start as f64 + t, &values) {
            break;
        }
    }
    Ok(builder.finish())
}

/// Laps as `/activities/{id}/laps` lists them, placed against the activity's start. Records
/// that cannot be read are left out (a lap is a detail, never a reason to fail).
pub(super) fn laps(body: &Value, summary: &Value) -> Vec<crate::recording::Lap> {
    let start = summary
        .get("start_date")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp());
    let number = |v: &Value, k: &str| v.get(k).and_then(Value::as_f64).filter(|x| x.is_finite());
    body.as_array()
        .map(|laps| {
            laps.iter()
                .take(10_000)
                .filter_map(|lap| {
                    let at = lap
                        .get("start_date")
                        .and_then(Value::as_str)
                        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())?
                        .timestamp();
                    Some(crate::recording::Lap {
                        start_s: start.map_or(0.0, |s| (at - s).max(0) as f64),
                        elapsed_s: number(lap, "elapsed_time").filter(|e| *e >= 0.0)?,
                        distance_m: number(lap, "distance").filter(|d| *d >= 0.0),
                        avg_heart_rate: number(lap, "average_heartrate"),
                        max_heart_rate: number(lap, "max_heartrate"),
                        avg_power_w: number(lap, "average_watts"),
                        avg_speed_mps: number(lap, "average_speed"),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn laps_are_placed_against_the_start_and_garbage_is_left_out() {
        let summary = json!({"start_date": "2026-11-01T07:00:00Z"});
        let body = json!([
            {"start_date": "2026-11-01T07:00:00Z", "elapsed_time": 300, "distance": 1000.0, "average_heartrate": 140.2},
            {"start_date": "not a date", "elapsed_time": 300},
            {"start_date": "2026-11-01T07:05:00Z", "elapsed_time": -5},
            {"start_date": "2026-11-01T07:05:00Z", "elapsed_time": 280, "average_watts": "lots"},
        ]);
        let laps = laps(&body, &summary);
        assert_eq!(laps.len(), 2);
        assert_eq!((laps[0].start_s, laps[1].start_s), (0.0, 300.0));
        assert_eq!(laps[0].avg_heart_rate, Some(140.2));
        assert_eq!(laps[1].avg_power_w, None);
        assert!(super::laps(&json!({"message": "nope"}), &summary).is_empty());
    }
    use serde_json::json;

    fn run() -> Value {
        json!({
            "id": 12_345_678_901_i64, "name": "Morning Run", "sport_type": "TrailRun", "type": "Run",
            "start_date": "2026-05-01T06:30:00Z", "start_date_local": "2026-05-01T08:30:00Z",
            "utc_offset": 7200.0, "elapsed_time": 3700, "moving_time": 3600, "distance": 10012.5,
            "total_elevation_gain": 211.0, "has_heartrate": true, "average_heartrate": 148.2,
            "max_heartrate": 175.0, "device_name": "Garmin Forerunner 965"
        })
    }

    #[test]
    fn maps_a_summary_activity() {
        let a = activity(run()).unwrap();
        assert_eq!(
            a.provider_activity_id, "12345678901",
            "int64 ids survive as text"
        );
        assert_eq!(
            a.sport,
            Sport::TrailRun,
            "sport_type wins over the legacy type"
        );
        assert_eq!(a.start_utc.to_rfc3339(), "2026-05-01T06:30:00+00:00");
        assert_eq!(a.utc_offset_seconds, Some(7200));
        assert_eq!(
            (a.elapsed_seconds, a.moving_seconds),
            (Some(3700), Some(3600))
        );
        assert_eq!(a.distance_m, Some(10012.5));
        assert_eq!(a.max_heart_rate, Some(175.0));
        assert_eq!(a.calories, None, "list items carry no calories");
        assert_eq!(
            a.raw["start_date_local"], "2026-05-01T08:30:00Z",
            "raw JSON kept whole"
        );
    }

    #[test]
    fn falls_back_to_the_legacy_type_and_tolerates_nulls() {
        let mut raw = run();
        raw["sport_type"] = Value::Null;
        raw["type"] = json!("Ride");
        raw["average_heartrate"] = Value::Null;
        let a = activity(raw).unwrap();
        assert_eq!(a.sport, Sport::Ride);
        assert_eq!(a.avg_heart_rate, None);
    }

    #[test]
    fn unknown_sports_are_other_not_errors() {
        assert_eq!(sport("Kitesurf"), Sport::Other);
        assert_eq!(sport("VirtualRide"), Sport::VirtualRide);
    }

    #[test]
    fn garbage_records_are_reported_with_a_reason() {
        let no_start = activity(json!({"id": 7, "name": "x"})).unwrap_err();
        assert_eq!(no_start.provider_activity_id.as_deref(), Some("7"));
        assert!(
            no_start.reason.contains("start_date"),
            "{}",
            no_start.reason
        );

        let bad_type =
            activity(json!({"id": 8, "distance": "far", "start_date": "2026-01-01T00:00:00Z"}))
                .unwrap_err();
        assert!(
            bad_type.reason.contains("unexpected field type"),
            "{}",
            bad_type.reason
        );

        let bad_date = activity(json!({"id": 9, "start_date": "yesterday"})).unwrap_err();
        assert!(bad_date.reason.contains("RFC 3339"), "{}", bad_date.reason);
    }

    #[test]
    fn profile_prefers_username_then_full_name() {
        let p = profile(json!({"id": 99, "username": "", "firstname": "Ada", "lastname": "L"}))
            .unwrap();
        assert_eq!(p.provider_user_id.as_deref(), Some("99"));
        assert_eq!(p.username.as_deref(), Some("Ada L"));
        assert!(profile(json!({"name": "no id"})).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_record_maps_or_is_refused_never_panics(raw in crate::providers::fuzz::shaped(&[
            "id", "name", "sport_type", "type", "start_date", "utc_offset", "elapsed_time",
            "moving_time", "distance", "total_elevation_gain", "average_heartrate",
            "max_heartrate", "calories", "average_watts", "max_watts", "device_name",
        ])) {
            let _ = activity(raw.clone());
            let _ = profile(raw);
        }

        #[test]
        fn any_json_never_panics(raw in crate::providers::fuzz::json()) {
            let _ = activity(raw.clone());
            let _ = profile(raw);
        }
    }
}
