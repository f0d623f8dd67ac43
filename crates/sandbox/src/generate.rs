//! Deterministic activity generator: the same `(count, seed)` gives the same activities on every
//! machine and every version. It uses its own SplitMix64 rather than a `rand` generator because
//! `rand` does not promise the same stream across releases, and reproducibility is the point.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

/// The default anchor: the newest generated activity starts before the start of `now`'s day.
/// A sandbox fixes its anchor when it is created (and keeps it in its state file), so one data
/// set never moves, while providers that only serve recent history (Polar's 30 days, COROS'
/// three months, Garmin's backfill) always have data whatever the date.
pub fn anchor_for(now: DateTime<Utc>) -> DateTime<Utc> {
    Utc.from_utc_datetime(&now.date_naive().and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// First id handed out; above i32::MAX like real Strava ids.
pub const FIRST_ID: i64 = 12_000_000_000;

struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

/// A generated workout, provider-neutral; each provider's twin renders it in its own format.
#[derive(Debug, Clone, PartialEq)]
pub struct Workout {
    /// Index (0 = oldest).
    pub index: usize,
    /// Strava sport_type.
    pub sport: &'static str,
    /// Start, UTC.
    pub start: DateTime<Utc>,
    /// Offset of local time, seconds.
    pub utc_offset: i32,
    /// Timezone label.
    pub timezone: &'static str,
    /// Elapsed seconds.
    pub elapsed: i64,
    /// Moving seconds.
    pub moving: i64,
    /// Metres.
    pub distance: f64,
    /// Metres climbed.
    pub elevation: f64,
    /// Heart rate (avg, max), absent for some.
    pub heart_rate: Option<(f64, f64)>,
    /// Power (avg, max) for rides with a meter.
    pub power: Option<(f64, f64)>,
    /// Recording device.
    pub device: &'static str,
    /// Title.
    pub name: String,
}

const ZONES: [(i32, &str); 4] = [
    (3600, "(GMT+01:00) Europe/Paris"),
    (0, "(GMT+00:00) Europe/London"),
    (-18000, "(GMT-05:00) America/New_York"),
    (34200, "(GMT+09:30) Australia/Adelaide"),
];
const DEVICES: [&str; 4] = [
    "Garmin Forerunner 965",
    "Wahoo ELEMNT BOLT",
    "COROS PACE 3",
    "Polar Vantage V3",
];

/// `count` workouts spread over `years` before `anchor`, oldest first.
pub fn workouts(count: usize, seed: u64, years: u32, anchor: DateTime<Utc>) -> Vec<Workout> {
    let mut rng = SplitMix64(seed);
    let span = Duration::days(365 * i64::from(years.max(1)));
    let start_of_span = anchor - span;
    let step = span.num_seconds() as f64 / count.max(1) as f64;
    (0..count)
        .map(|index| {
            let jitter = rng.range(0.0, step * 0.8);
            let day_start =
                start_of_span + Duration::seconds((index as f64 * step + jitter) as i64);
            let roll = rng.unit();
            let (sport, speed, hr) = match roll {
                r if r < 0.45 => ("Run", rng.range(2.6, 4.2), true),
                r if r < 0.55 => ("TrailRun", rng.range(2.0, 3.2), true),
                r if r < 0.78 => ("Ride", rng.range(6.0, 10.0), true),
                r if r < 0.83 => ("VirtualRide", rng.range(7.0, 10.0), true),
                r if r < 0.93 => ("Swim", rng.range(0.7, 1.3), false),
                r if r < 0.97 => ("Hike", rng.range(1.0, 1.6), true),
                _ => ("WeightTraining", 0.0, true),
            };
            let moving = rng.range(1200.0, 7200.0) as i64;
            let elapsed = moving + rng.range(0.0, 600.0) as i64;
            let distance = (speed * moving as f64 * 10.0).round() / 10.0;
            let (utc_offset, timezone) = ZONES[(rng.next() % ZONES.len() as u64) as usize];
            let avg_hr = rng.range(120.0, 160.0).round();
            let heart_rate =
                (hr && rng.unit() > 0.1).then(|| (avg_hr, avg_hr + rng.range(10.0, 30.0).round()));
            let power = matches!(sport, "Ride" | "VirtualRide").then(|| {
                let avg = rng.range(150.0, 260.0).round();
                (avg, avg + rng.range(200.0, 500.0).round())
            });
            let elevation = match sport {
                "Swim" | "VirtualRide" | "WeightTraining" => 0.0,
                _ => (distance / 1000.0 * rng.range(2.0, 25.0)).round(),
            };
            Workout {
                index,
                sport,
                start: day_start,
                utc_offset,
                timezone,
                elapsed,
                moving,
                distance,
                elevation,
                heart_rate,
                power,
                device: DEVICES[(rng.next() % DEVICES.len() as u64) as usize],
                name: format!("{} #{}", sport, index + 1),
            }
        })
        .collect()
}

/// A workout as a Strava `SummaryActivity`.
pub fn strava_json(w: &Workout, edit: u32) -> Value {
    let local = w.start + Duration::seconds(i64::from(w.utc_offset));
    let mut name = w.name.clone();
    if edit > 0 {
        name = format!("{name} (edited {edit}x)");
    }
    json!({
        "resource_state": 2,
        "athlete": {"id": crate::strava::ATHLETE_ID, "resource_state": 1},
        "id": FIRST_ID + w.index as i64,
        "name": name,
        "sport_type": w.sport,
        "type": if w.sport == "TrailRun" { "Run" } else { w.sport },
        "start_date": w.start.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        // Strava writes local wall time with a misleading "Z".
        "start_date_local": local.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "timezone": w.timezone,
        "utc_offset": f64::from(w.utc_offset),
        "elapsed_time": w.elapsed,
        "moving_time": w.moving,
        "distance": w.distance,
        "total_elevation_gain": w.elevation,
        "has_heartrate": w.heart_rate.is_some(),
        "average_heartrate": w.heart_rate.map(|h| h.0),
        "max_heartrate": w.heart_rate.map(|h| h.1),
        "average_watts": w.power.map(|p| p.0),
        "max_watts": w.power.map(|p| p.1),
        "device_watts": w.power.is_some(),
        "kilojoules": w.power.map(|p| (p.0 * w.moving as f64 / 1000.0).round()),
        "trainer": w.sport == "VirtualRide",
        "commute": false,
        "manual": false,
        "private": false,
        "device_name": w.device,
        "upload_id": 9_000_000_000_i64 + w.index as i64,
        "external_id": format!("{}.fit", FIRST_ID + w.index as i64),
    })
}

/// Polar's hashed-looking id for a workout: stable, not guessable from the index at a glance.
fn polar_id(index: usize) -> String {
    let mut rng = SplitMix64(index as u64 ^ 0x5EED);
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    (0..8)
        .map(|_| ALPHABET[(rng.next() % ALPHABET.len() as u64) as usize] as char)
        .collect()
}

fn iso_duration(seconds: i64) -> String {
    let (h, m, s) = (seconds / 3600, (seconds % 3600) / 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("PT{s}S"),
        (0, _) => format!("PT{m}M{s}S"),
        _ => format!("PT{h}H{m}M{s}S"),
    }
}

/// A workout as a Polar AccessLink exercise: local start time plus an offset in minutes, ISO-8601
/// duration, whole-metre distance, mixed snake/kebab keys, and a start a few seconds off the
/// Strava copy (a watch and a phone rarely agree to the second).
pub fn polar_json(w: &Workout, edit: u32) -> Value {
    let start = w.start + Duration::seconds((w.index % 7) as i64);
    let local = start + Duration::seconds(i64::from(w.utc_offset));
    let (sport, detail) = match w.sport {
        "Run" => ("RUNNING", "RUNNING_ROAD"),
        "TrailRun" => ("RUNNING", "TRAIL_RUNNING"),
        "Ride" => ("CYCLING", "ROAD_BIKING"),
        "VirtualRide" => ("CYCLING", "INDOOR_CYCLING"),
        "Swim" => ("SWIMMING", "SWIMMING"),
        "Hike" => ("HIKING", "HIKING"),
        _ => ("STRENGTH_TRAINING", "STRENGTH_TRAINING"),
    };
    json!({
        "id": polar_id(w.index),
        "upload_time": (start + Duration::seconds(w.elapsed + 600)).format("%Y-%m-%dT%H:%M:%S.000Z").to_string(),
        "polar_user": format!("https://www.polaraccesslink.com/v3/users/{}", crate::polar::USER_ID),
        "device": if edit > 0 { "Polar Vantage V3 (edited)" } else { "Polar Vantage V3" },
        "device_id": "1111AAAA",
        "start_time": local.format("%Y-%m-%dT%H:%M:%S").to_string(),
        "start_time_utc_offset": w.utc_offset / 60,
        "duration": iso_duration(w.elapsed),
        "calories": (w.moving as f64 * 0.18).round() as i64,
        "distance": w.distance.round(),
        "heart_rate": w.heart_rate.map(|(avg, max)| json!({"average": avg, "maximum": max})),
        "training_load": 80.5,
        "sport": sport,
        "has_route": !matches!(w.sport, "Swim" | "WeightTraining" | "VirtualRide"),
        "detailed_sport_info": detail,
        "fat_percentage": 38,
        "carbohydrate_percentage": 55,
        "protein_percentage": 7,
        "running-index": if sport == "RUNNING" { Some(51) } else { None },
    })
}

/// A workout as a Wahoo Cloud API workout: numbers as decimal strings, a start a few seconds off
/// the other providers' copies, and no `workout_summary` for one workout in seventeen (unfinished
/// or manual ones have none).
pub fn wahoo_json(w: &Workout, edit: u32) -> Value {
    let start = w.start + Duration::seconds((w.index % 5) as i64);
    let type_id = match w.sport {
        "Run" => 1,
        "TrailRun" => 4,
        "Ride" => 15,
        "VirtualRide" => 12,
        "Swim" => 25,
        "Hike" => 9,
        _ => 18,
    };
    let stamp = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S.000Z").to_string();
    let summary = (!w.index.is_multiple_of(17)).then(|| {
        json!({
            "id": 500_000 + w.index,
            "ascent_accum": format!("{:.2}", w.elevation),
            "calories_accum": format!("{:.1}", w.moving as f64 * 0.18),
            "distance_accum": format!("{:.2}", w.distance),
            "duration_active_accum": format!("{:.1}", w.moving as f64),
            "duration_paused_accum": format!("{:.1}", (w.elapsed - w.moving) as f64),
            "duration_total_accum": format!("{:.1}", w.elapsed as f64),
            "heart_rate_avg": w.heart_rate.map(|h| format!("{:.2}", h.0)),
            "power_bike_avg": w.power.map(|p| format!("{:.2}", p.0)),
            "time_zone": w.timezone.rsplit(' ').next().unwrap_or("UTC"),
            "manual": false,
            "edited": edit > 0,
        })
    });
    let mut workout = json!({
        "id": 800_000_000_i64 + w.index as i64,
        "user_id": crate::wahoo::USER_ID,
        "starts": stamp(start),
        "minutes": w.elapsed / 60,
        "name": if edit > 0 { format!("{} (edited)", w.name) } else { w.name.clone() },
        "workout_type_id": type_id,
        "plan_id": null,
        "workout_token": format!("wt-{}", w.index),
        "created_at": stamp(start + Duration::seconds(w.elapsed + 120)),
        "updated_at": stamp(start + Duration::seconds(w.elapsed + 120 + i64::from(edit))),
    });
    if let Some(summary) = summary {
        workout["workout_summary"] = summary;
    }
    workout
}

/// A workout as a COROS `sport/list` record [3P field names]: epoch seconds, the offset in quarter
/// hours, calories in small calories, a start a few seconds off the other copies.
pub fn coros_json(w: &Workout, edit: u32) -> Value {
    let start = w.start.timestamp() + (w.index % 3) as i64;
    let mode = match w.sport {
        "Run" => 8,
        "TrailRun" => 20,
        "Ride" | "VirtualRide" => 9,
        "Swim" => 10,
        "Hike" => 16,
        _ => 23,
    };
    json!({
        "labelId": format!("{}", 418_173_292_602_000_000_u64 + w.index as u64),
        "mode": mode,
        "subMode": if w.sport == "VirtualRide" { 2 } else { 1 },
        "startTime": start,
        "endTime": start + w.elapsed,
        "startTimezone": w.utc_offset / 900,
        "endTimezone": w.utc_offset / 900,
        "totalTime": w.elapsed,
        "duration": w.moving,
        "distance": (w.distance * 100.0).round() / 100.0,
        "calorie": (w.moving as f64 * 0.18 * 1000.0).round() as i64 + i64::from(edit),
        "avgSpeed": if w.distance > 0.0 { (w.moving as f64 / (w.distance / 1000.0)).round() } else { 0.0 },
        "avgHeartRate": w.heart_rate.map(|h| h.0),
        "maxHeartRate": w.heart_rate.map(|h| h.1),
        "fitUrl": format!("https://example.invalid/coros/{}.fit", w.index),
    })
}

/// A workout as a Google Health exercise data point: RFC 3339 interval with a Duration-string
/// offset, "Ns" durations, millimetres.
pub fn google_health_json(w: &Workout, edit: u32) -> Value {
    let stamp = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let kind = match w.sport {
        "Run" => "RUNNING",
        "TrailRun" => "TRAIL_RUNNING",
        "Ride" => "BIKING",
        "VirtualRide" => "STATIONARY_BIKING",
        "Swim" => "SWIMMING",
        "Hike" => "HIKING",
        _ => "WEIGHTLIFTING",
    };
    json!({
        "name": format!("users/me/dataTypes/exercise/dataPoints/ex-{:06}", w.index),
        "dataSource": {"device": {"displayName": "Pixel Watch 3"}, "platform": "FITBIT"},
        "exercise": {
            "exerciseType": kind,
            "displayName": if edit > 0 { format!("{} (edited)", w.name) } else { w.name.clone() },
            "interval": {
                "startTime": stamp(w.start),
                "endTime": stamp(w.start + Duration::seconds(w.elapsed)),
                "startUtcOffset": format!("{}s", w.utc_offset),
            },
            "activeDuration": format!("{}s", w.moving),
            "metricsSummary": {
                "caloriesKcal": (w.moving as f64 * 0.18).round(),
                "distanceMillimeters": (w.distance * 1000.0).round() as i64,
                "averageHeartRateBeatsPerMinute": w.heart_rate.map(|h| h.0),
                "elevationGainMillimeters": (w.elevation * 1000.0).round() as i64,
            },
        },
    })
}

/// A workout as the activity summary Garmin pushes: epoch seconds plus the local offset.
pub fn garmin_json(w: &Workout, edit: u32) -> Value {
    let kind = match w.sport {
        "Run" => "RUNNING",
        "TrailRun" => "TRAIL_RUNNING",
        "Ride" => "ROAD_BIKING",
        "VirtualRide" => "INDOOR_CYCLING",
        "Swim" => "LAP_SWIMMING",
        "Hike" => "HIKING",
        _ => "STRENGTH_TRAINING",
    };
    let activity_id = 19_000_000_000_i64 + w.index as i64;
    json!({
        "userId": crate::garmin::USER_ID,
        "summaryId": format!("{activity_id}"),
        "activityId": activity_id,
        "activityName": if edit > 0 { format!("{} (edited)", w.name) } else { w.name.clone() },
        "activityType": kind,
        "startTimeInSeconds": w.start.timestamp(),
        "startTimeOffsetInSeconds": w.utc_offset,
        "durationInSeconds": w.elapsed,
        "distanceInMeters": w.distance,
        "activeKilocalories": (w.moving as f64 * 0.18).round(),
        "averageHeartRateInBeatsPerMinute": w.heart_rate.map(|h| h.0),
        "maxHeartRateInBeatsPerMinute": w.heart_rate.map(|h| h.1),
        "totalElevationGainInMeters": w.elevation,
        "deviceName": "Forerunner 965",
        "manual": false,
        "isWebUpload": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchor() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn same_seed_same_data_and_seeds_differ() {
        assert_eq!(workouts(50, 7, 3, anchor()), workouts(50, 7, 3, anchor()));
        assert_ne!(workouts(50, 7, 3, anchor()), workouts(50, 8, 3, anchor()));
    }

    #[test]
    fn workouts_are_ordered_within_the_span_and_plausible() {
        let w = workouts(500, 1, 3, anchor());
        assert!(
            w.windows(2).all(|p| p[0].start < p[1].start),
            "strictly increasing starts"
        );
        assert!(w.first().unwrap().start >= anchor() - Duration::days(3 * 365));
        assert!(w.last().unwrap().start < anchor());
        assert!(w.iter().all(|x| x.moving <= x.elapsed && x.distance >= 0.0));
        let sports: std::collections::BTreeSet<_> = w.iter().map(|x| x.sport).collect();
        assert!(sports.len() >= 5, "a mix of sports: {sports:?}");
    }

    #[test]
    fn the_default_anchor_is_the_start_of_today() {
        let now = Utc.with_ymd_and_hms(2027, 3, 9, 17, 45, 1).unwrap();
        assert_eq!(
            anchor_for(now),
            Utc.with_ymd_and_hms(2027, 3, 9, 0, 0, 0).unwrap()
        );
    }
}
