//! Polar wire → Tributary domain. Pure, unit-tested on captured-shape payloads.

use super::wire;
use crate::domain::{ConnectionProfile, NewActivity, Sport};
use crate::providers::Unmappable;
use chrono::{Duration, NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::Value;

pub(super) fn exercise(raw: Value) -> Result<NewActivity, Unmappable> {
    let id_hint = raw.get("id").and_then(Value::as_str).map(str::to_owned);
    let fail = |reason: String| Unmappable {
        provider_activity_id: id_hint.clone(),
        reason,
    };
    let wire = wire::Exercise::deserialize(&raw)
        .map_err(|e| fail(format!("unexpected field type: {e}")))?;
    let id = wire
        .id
        .filter(|i| !i.is_empty())
        .ok_or_else(|| fail("the exercise has no id".to_owned()))?;
    let local = wire
        .start_time
        .as_deref()
        .ok_or_else(|| fail("the exercise has no start_time".to_owned()))?;
    let local = NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S%.f").map_err(|e| {
        fail(format!(
            "start_time '{local}' is not a local date-time: {e}"
        ))
    })?;
    let offset_min = wire
        .start_time_utc_offset
        .ok_or_else(|| fail("the exercise has no start_time_utc_offset".to_owned()))?;
    // Local = UTC + offset, so UTC = local − offset (the sign other integrations got wrong).
    // Real offsets lie within ±14 h; anything beyond a day is garbage, refused with a reason.
    if offset_min.unsigned_abs() > 24 * 60 {
        return Err(fail(format!(
            "start_time_utc_offset {offset_min} minutes is not a time-zone offset"
        )));
    }
    let start_utc = local
        .checked_sub_signed(Duration::minutes(i64::from(offset_min)))
        .map(|utc| Utc.from_utc_datetime(&utc))
        .ok_or_else(|| fail(format!("start_time '{local}' is out of range")))?;
    let elapsed = match wire.duration.as_deref() {
        Some(text) => Some(
            iso_duration_seconds(text)
                .ok_or_else(|| fail(format!("duration '{text}' is not ISO-8601")))?,
        ),
        None => None,
    };
    let sport = sport(
        wire.sport.as_deref().unwrap_or(""),
        wire.detailed_sport_info.as_deref().unwrap_or(""),
    );
    Ok(NewActivity {
        provider_activity_id: id,
        sport,
        name: Some(title(sport)),
        start_utc,
        utc_offset_seconds: Some(offset_min * 60),
        elapsed_seconds: elapsed,
        // Polar's summary has no separate moving time.
        moving_seconds: None,
        distance_m: wire.distance,
        // No ascent in the summary (it lives in samples and files).
        elevation_gain_m: None,
        avg_heart_rate: wire.heart_rate.as_ref().and_then(|h| h.average),
        max_heart_rate: wire.heart_rate.as_ref().and_then(|h| h.maximum),
        calories: wire.calories,
        avg_power_w: None,
        max_power_w: None,
        device: wire.device,
        raw,
    })
}

/// Polar's `sport` with `detailed_sport_info` refining it.
pub(super) fn sport(sport: &str, detail: &str) -> Sport {
    match (sport, detail) {
        (_, "TRAIL_RUNNING") => Sport::TrailRun,
        (_, "INDOOR_CYCLING") => Sport::VirtualRide,
        ("RUNNING", _) => Sport::Run,
        ("CYCLING" | "ROAD_BIKING" | "MOUNTAIN_BIKING", _) => Sport::Ride,
        ("SWIMMING", _) => Sport::Swim,
        ("WALKING", _) => Sport::Walk,
        ("HIKING", _) => Sport::Hike,
        ("ROWING", _) => Sport::Row,
        ("CROSS-COUNTRY_SKIING" | "DOWNHILL_SKIING", _) => Sport::Ski,
        ("STRENGTH_TRAINING", _) => Sport::Strength,
        _ => Sport::Other,
    }
}

/// Polar exercises carry no title: name them by sport, as Polar Flow does.
pub(super) fn title(sport: Sport) -> String {
    let name = sport.as_str().replace('_', " ");
    let mut chars = name.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// Seconds in an ISO-8601 duration of the form Polar sends (`PnDTnHnMn.nS`, parts optional).
/// A dozen lines for the one subset Polar uses, rather than a dependency.
pub(super) fn iso_duration_seconds(text: &str) -> Option<i64> {
    let rest = text.strip_prefix('P')?;
    let (days, time) = match rest.split_once('T') {
        Some((d, t)) => (d, t),
        None => (rest, ""),
    };
    let mut seconds = 0.0;
    if !days.is_empty() {
        seconds += days.strip_suffix('D')?.parse::<f64>().ok()? * 86_400.0;
    }
    let mut number = String::new();
    for c in time.chars() {
        match c {
            '0'..='9' | '.' => number.push(c),
            'H' | 'M' | 'S' => {
                let value: f64 = number.parse().ok()?;
                seconds += value
                    * match c {
                        'H' => 3600.0,
                        'M' => 60.0,
                        _ => 1.0,
                    };
                number.clear();
            }
            _ => return None,
        }
    }
    (number.is_empty() && (rest != "T")).then(|| seconds.round() as i64)
}

pub(super) fn profile(raw: Value, user_id: &str) -> Result<ConnectionProfile, String> {
    let user = wire::User::deserialize(&raw).map_err(|e| format!("unexpected Polar user: {e}"))?;
    let name = [user.first_name.as_deref(), user.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Ok(ConnectionProfile {
        provider_user_id: Some(
            user.polar_user_id
                .map_or_else(|| user_id.to_owned(), |id| id.to_string()),
        ),
        username: Some(name).filter(|n| !n.is_empty()),
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
            "id": "kJ3wq7Yp", "upload_time": "2026-10-30T07:12:00.000Z",
            "polar_user": "https://www.polaraccesslink.com/v3/users/1234", "device": "Polar Vantage V3",
            "start_time": "2026-10-30T08:30:00", "start_time_utc_offset": 120,
            "duration": "PT1H2M3.6S", "calories": 612, "distance": 12034.5,
            "heart_rate": {"average": 148, "maximum": 176}, "training_load": 95.2,
            "sport": "RUNNING", "detailed_sport_info": "TRAIL_RUNNING", "has_route": true,
            "running-index": 52, "fat_percentage": 40
        })
    }

    #[test]
    fn maps_an_exercise_subtracting_the_offset() {
        let a = exercise(run()).unwrap();
        assert_eq!(a.provider_activity_id, "kJ3wq7Yp", "hashed string ids");
        assert_eq!(
            a.start_utc.to_rfc3339(),
            "2026-10-30T06:30:00+00:00",
            "08:30 at UTC+2 is 06:30 UTC"
        );
        assert_eq!(a.utc_offset_seconds, Some(7200));
        assert_eq!(a.elapsed_seconds, Some(3724), "PT1H2M3.6S rounds to 3724 s");
        assert_eq!(
            a.sport,
            Sport::TrailRun,
            "the detailed sport refines RUNNING"
        );
        assert_eq!(
            (a.avg_heart_rate, a.max_heart_rate),
            (Some(148.0), Some(176.0))
        );
        assert_eq!(a.calories, Some(612.0));
        assert_eq!(
            a.raw["running-index"], 52,
            "kebab-case keys survive in the raw record"
        );
    }

    #[test]
    fn negative_offsets_and_fractional_local_times() {
        let mut raw = run();
        raw["start_time"] = json!("2026-10-30T23:15:00.000");
        raw["start_time_utc_offset"] = json!(-300);
        assert_eq!(
            exercise(raw).unwrap().start_utc.to_rfc3339(),
            "2026-10-31T04:15:00+00:00"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(iso_duration_seconds("PT2H44M"), Some(9840));
        assert_eq!(iso_duration_seconds("PT45S"), Some(45));
        assert_eq!(iso_duration_seconds("P1DT1S"), Some(86_401));
        assert_eq!(iso_duration_seconds("PT0.4S"), Some(0));
        for bad in ["", "2H", "PT", "PT5X", "PT5", "P1H"] {
            assert_eq!(iso_duration_seconds(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn unreadable_exercises_are_reported() {
        let mut no_offset = run();
        no_offset
            .as_object_mut()
            .unwrap()
            .remove("start_time_utc_offset");
        assert!(exercise(no_offset).unwrap_err().reason.contains("offset"));
        let mut zoned = run();
        zoned["start_time"] = json!("2026-10-30T08:30:00Z");
        assert!(
            exercise(zoned)
                .unwrap_err()
                .reason
                .contains("local date-time")
        );
        let mut bad_duration = run();
        bad_duration["duration"] = json!("an hour");
        assert!(
            exercise(bad_duration)
                .unwrap_err()
                .reason
                .contains("ISO-8601")
        );
        let mut nulls = run();
        nulls["heart_rate"] = Value::Null;
        nulls["calories"] = Value::Null;
        assert_eq!(
            exercise(nulls).unwrap().avg_heart_rate,
            None,
            "nulls are absent values"
        );
    }

    #[test]
    fn sports() {
        assert_eq!(sport("CYCLING", "INDOOR_CYCLING"), Sport::VirtualRide);
        assert_eq!(sport("CYCLING", "ROAD_BIKING"), Sport::Ride);
        assert_eq!(sport("PADEL", ""), Sport::Other);
        assert_eq!(title(Sport::TrailRun), "Trail run");
    }

    #[test]
    fn an_absurd_offset_is_refused_not_a_panic() {
        let mut raw = run();
        raw["start_time_utc_offset"] = json!(40_000_000);
        let refused = exercise(raw).unwrap_err();
        assert!(refused.reason.contains("offset"), "{}", refused.reason);
    }

    proptest::proptest! {
        #[test]
        fn any_record_maps_or_is_refused_never_panics(
            outer in crate::providers::fuzz::shaped(&[
                "id", "device", "start_time", "start_time_utc_offset", "duration", "calories",
                "distance", "sport", "detailed_sport_info", "upload_time",
            ]),
            heart in crate::providers::fuzz::shaped(&["average", "maximum"]),
            with_heart in proptest::prelude::any::<bool>(),
            text in ".{0,40}",
        ) {
            let mut raw = outer;
            if with_heart {
                raw["heart_rate"] = heart;
            }
            let _ = exercise(raw.clone());
            let _ = profile(raw, "1");
            let _ = iso_duration_seconds(&text);
        }
    }
}
