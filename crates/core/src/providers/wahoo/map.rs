//! Wahoo wire → Tributary domain. Pure, unit-tested on captured-shape payloads.

use super::wire;
use crate::domain::{ConnectionProfile, NewActivity, Sport};
use crate::providers::Unmappable;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// A number that may come as a JSON number, a decimal string, or null.
fn number(value: Option<&Value>, field: &str) -> Result<Option<f64>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{field} '{s}' is not a number")),
        Some(other) => Err(format!("{field} has an unexpected value {other}")),
    }
}

pub(super) fn workout(raw: Value) -> Result<NewActivity, Unmappable> {
    let id_hint = raw.get("id").map(ToString::to_string);
    let fail = |reason: String| Unmappable {
        provider_activity_id: id_hint.clone(),
        reason,
    };
    let wire = wire::Workout::deserialize(&raw)
        .map_err(|e| fail(format!("unexpected field type: {e}")))?;
    let id = wire
        .id
        .ok_or_else(|| fail("the workout has no id".to_owned()))?;
    let starts = wire
        .starts
        .as_deref()
        .ok_or_else(|| fail("the workout has no starts".to_owned()))?;
    let start_utc = DateTime::parse_from_rfc3339(starts)
        .map_err(|e| fail(format!("starts '{starts}' is not RFC 3339: {e}")))?
        .with_timezone(&Utc);
    let minutes = number(wire.minutes.as_ref(), "minutes").map_err(&fail)?;
    let s = wire.workout_summary.as_ref();
    let field = |pick: fn(&wire::Summary) -> Option<&Value>, name: &str| {
        s.map_or(Ok(None), |s| number(pick(s), name))
    };
    let total =
        field(|s| s.duration_total_accum.as_ref(), "duration_total_accum").map_err(&fail)?;
    let active = field(
        |s| s.duration_active_accum.as_ref(),
        "duration_active_accum",
    )
    .map_err(&fail)?;
    let power = match field(|s| s.power_bike_avg.as_ref(), "power_bike_avg").map_err(&fail)? {
        Some(p) => Some(p),
        None => field(|s| s.power_avg.as_ref(), "power_avg").map_err(&fail)?,
    };
    Ok(NewActivity {
        provider_activity_id: id.to_string(),
        sport: sport(wire.workout_type_id.unwrap_or(-1)),
        name: wire.name.filter(|n| !n.is_empty()),
        start_utc,
        // Wahoo gives a zone name, not an offset; the raw record keeps it.
        utc_offset_seconds: None,
        elapsed_seconds: total
            .or(minutes.map(|m| m * 60.0))
            .map(|v| v.round() as i64),
        moving_seconds: active.map(|v| v.round() as i64),
        distance_m: field(|s| s.distance_accum.as_ref(), "distance_accum").map_err(&fail)?,
        elevation_gain_m: field(|s| s.ascent_accum.as_ref(), "ascent_accum").map_err(&fail)?,
        avg_heart_rate: field(|s| s.heart_rate_avg.as_ref(), "heart_rate_avg").map_err(&fail)?,
        max_heart_rate: None,
        calories: field(|s| s.calories_accum.as_ref(), "calories_accum").map_err(&fail)?,
        avg_power_w: power,
        max_power_w: None,
        device: None,
        raw,
    })
}

/// Wahoo's `workout_type_id` → our sport. The numbering is from Wahoo's workout-type table as
/// quoted by third parties [unverified]; unknown ids are `other`, never an error.
pub(super) fn sport(workout_type_id: i64) -> Sport {
    match workout_type_id {
        0 | 11 | 13 | 14 | 15 | 16 => Sport::Ride,
        12 | 21 | 61 => Sport::VirtualRide,
        1 | 3 | 5 | 19 => Sport::Run,
        4 => Sport::TrailRun,
        6..=8 => Sport::Walk,
        9 | 10 => Sport::Hike,
        22 => Sport::Row,
        25 | 26 => Sport::Swim,
        28..=30 => Sport::Ski,
        _ => Sport::Other,
    }
}

pub(super) fn profile(raw: Value) -> Result<ConnectionProfile, String> {
    let user = wire::User::deserialize(&raw).map_err(|e| format!("unexpected Wahoo user: {e}"))?;
    let name = [user.first.as_deref(), user.last.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Ok(ConnectionProfile {
        provider_user_id: Some(user.id.to_string()),
        username: Some(name).filter(|n| !n.is_empty()),
        email: user.email,
        provider_profile: Some(raw),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ride() -> Value {
        json!({
            "id": 800_000_123_i64, "user_id": 61, "starts": "2026-10-30T06:30:04.000Z", "minutes": 95,
            "name": "Evening ride", "workout_type_id": 15, "plan_id": null, "workout_token": "abc",
            "created_at": "2026-10-30T08:10:00.000Z", "updated_at": "2026-10-30T08:10:00.000Z",
            "workout_summary": {
                "id": 9, "ascent_accum": "412.00", "calories_accum": "1020.0", "distance_accum": "42015.70",
                "duration_active_accum": "5400.0", "duration_paused_accum": "300.0",
                "duration_total_accum": "5700.0", "heart_rate_avg": null, "power_bike_avg": "212.40",
                "power_avg": "205.00", "time_zone": "Europe/Paris", "manual": false, "edited": false
            }
        })
    }

    #[test]
    fn decimal_strings_become_numbers() {
        let a = workout(ride()).unwrap();
        assert_eq!(a.provider_activity_id, "800000123");
        assert_eq!(a.sport, Sport::Ride);
        assert_eq!(a.start_utc.to_rfc3339(), "2026-10-30T06:30:04+00:00");
        assert_eq!(
            (a.elapsed_seconds, a.moving_seconds),
            (Some(5700), Some(5400))
        );
        assert_eq!(a.distance_m, Some(42015.7));
        assert_eq!(a.elevation_gain_m, Some(412.0));
        assert_eq!(a.avg_heart_rate, None, "null stays absent");
        assert_eq!(a.avg_power_w, Some(212.4), "bike power preferred");
        assert_eq!(a.raw["workout_summary"]["time_zone"], "Europe/Paris");
    }

    #[test]
    fn a_missing_summary_falls_back_to_minutes() {
        let mut raw = ride();
        raw.as_object_mut().unwrap().remove("workout_summary");
        let a = workout(raw).unwrap();
        assert_eq!((a.elapsed_seconds, a.distance_m), (Some(5700), None));
    }

    #[test]
    fn numbers_may_also_be_plain_numbers_but_not_garbage() {
        let mut raw = ride();
        raw["workout_summary"]["distance_accum"] = json!(1000.5);
        assert_eq!(workout(raw.clone()).unwrap().distance_m, Some(1000.5));
        raw["workout_summary"]["distance_accum"] = json!("far");
        assert!(
            workout(raw)
                .unwrap_err()
                .reason
                .contains("distance_accum 'far'")
        );
    }

    #[test]
    fn sports_and_profile() {
        assert_eq!(sport(12), Sport::VirtualRide);
        assert_eq!(sport(4), Sport::TrailRun);
        assert_eq!(sport(999), Sport::Other);
        let p = profile(json!({"id": 61, "email": "a@b.c", "first": "Wa", "last": "Hoo"})).unwrap();
        assert_eq!(
            (
                p.provider_user_id.as_deref(),
                p.username.as_deref(),
                p.email.as_deref()
            ),
            (Some("61"), Some("Wa Hoo"), Some("a@b.c"))
        );
    }

    proptest::proptest! {
        #[test]
        fn any_record_maps_or_is_refused_never_panics(
            outer in crate::providers::fuzz::shaped(&[
                "id", "starts", "minutes", "name", "workout_type_id", "first", "last", "email",
            ]),
            summary in crate::providers::fuzz::shaped(&[
                "ascent_accum", "calories_accum", "distance_accum", "duration_active_accum",
                "duration_total_accum", "heart_rate_avg", "power_avg", "power_bike_avg",
            ]),
            with_summary in proptest::prelude::any::<bool>(),
        ) {
            let mut raw = outer;
            if with_summary {
                raw["workout_summary"] = summary;
            }
            let _ = workout(raw.clone());
            let _ = profile(raw);
        }
    }
}
