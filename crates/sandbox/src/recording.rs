//! Recordings of generated workouts: a deterministic 1 Hz track (a loop around the workout's
//! city, none indoors), heart rate, power on rides, cadence, altitude, speed and distance, laps
//! every kilometre (five on a ride; ten minutes without distance). The same workout gives the
//! same FIT bytes on every provider that serves files (one watch file synced everywhere), and
//! Strava's twin serves the same samples as streams.
//!
//! FIT files are written with `rustyfit`'s encoder (the newest FIT profile).

use crate::generate::{Sport, Workout};
use rustyfit::profile::{mesgdef, typedef};
use rustyfit::proto::{FIT, Message};
use serde_json::{Value, json};

/// One sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Seconds from the start.
    pub t: u32,
    /// Position, degrees (none indoors).
    pub position: Option<(f64, f64)>,
    /// Metres.
    pub altitude: Option<f64>,
    /// Beats per minute.
    pub heart_rate: Option<u8>,
    /// Watts.
    pub power: Option<u16>,
    /// rpm (or steps of one foot per minute).
    pub cadence: Option<u8>,
    /// m/s.
    pub speed: f64,
    /// Metres from the start.
    pub distance: f64,
}

fn city(zone: &str) -> (f64, f64) {
    match zone {
        "Europe/Paris" => (48.8566, 2.3522),
        "Europe/London" => (51.5074, -0.1278),
        "America/New_York" => (40.7128, -74.0060),
        _ => (-34.9285, 138.6007),
    }
}

/// The samples of workout `w`, one a second over its elapsed time.
pub fn samples(w: &Workout) -> Vec<Sample> {
    let n = u32::try_from(w.elapsed.clamp(1, 12 * 3600)).unwrap_or(1);
    let outdoor = w.sport.travels();
    let (lat0, lon0) = city(w.zone);
    let speed = if w.elapsed > 0 {
        w.distance / w.elapsed as f64
    } else {
        0.0
    };
    let radius = (w.distance / std::f64::consts::TAU).max(1.0);
    let phase = (w.index % 17) as f64;
    (0..n)
        .map(|t| {
            let tf = f64::from(t);
            let distance = speed * tf;
            let theta = std::f64::consts::TAU * distance / w.distance.max(1.0) + phase;
            let r = radius * (1.0 + 0.06 * (5.0 * theta).sin());
            let position = outdoor.then(|| {
                let north = r * theta.sin() - radius * phase.sin();
                let east = r * theta.cos() - radius * phase.cos();
                (
                    lat0 + north / 111_320.0,
                    lon0 + east / (111_320.0 * lat0.to_radians().cos()),
                )
            });
            let altitude = outdoor.then(|| {
                40.0 + w.elevation / 2.0 * (1.0 - (std::f64::consts::TAU * tf / f64::from(n)).cos())
            });
            let heart_rate = w.heart_rate.map(|(avg, max)| {
                let warm = (tf / 300.0).min(1.0);
                let v = avg - 15.0 + 15.0 * warm + 6.0 * (tf / 240.0 + phase).sin();
                v.clamp(60.0, max) as u8
            });
            let power = w.power.map(|(avg, _)| {
                (avg + 35.0 * (tf / 45.0).sin() + 15.0 * (tf / 7.0 + phase).sin()).max(0.0) as u16
            });
            let cadence = match w.sport {
                Sport::Ride | Sport::VirtualRide => Some(85 + (t % 7) as u8),
                Sport::Run | Sport::TrailRun => Some(84 + (t % 5) as u8),
                _ => None,
            };
            Sample {
                t,
                position,
                altitude,
                heart_rate,
                power,
                cadence,
                speed,
                distance,
            }
        })
        .collect()
}

/// Where laps start: every kilometre (5 km on a bike), or every 10 minutes without distance.
fn lap_starts(w: &Workout, samples: &[Sample]) -> Vec<usize> {
    let step = match w.sport {
        Sport::Ride | Sport::VirtualRide => 5000.0,
        _ => 1000.0,
    };
    let mut starts = vec![0];
    for (i, s) in samples.iter().enumerate().skip(1) {
        let boundary = if w.distance > 0.0 {
            (s.distance / step).floor() > (samples[i - 1].distance / step).floor()
        } else {
            s.t % 600 == 0
        };
        if boundary {
            starts.push(i);
        }
    }
    starts
}

/// The FIT file of a day's monitoring (steps and heart rate every minute), as a watch keeps
/// beside its activities: `file_id` type `monitoring_b`, not a workout.
pub fn monitoring_fit(day: chrono::DateTime<chrono::Utc>) -> Vec<u8> {
    let start = typedef::DateTime::from_unix_timestamp(day.timestamp());
    let mut messages: Vec<Message> = Vec::new();
    let mut file_id = mesgdef::FileId::new();
    file_id.r#type = typedef::File::MONITORING_B;
    file_id.manufacturer = typedef::Manufacturer::DEVELOPMENT;
    file_id.product = 1;
    file_id.serial_number = 3_141_592;
    file_id.time_created = start;
    messages.push(file_id.into());
    for minute in 0..60u32 {
        let mut m = mesgdef::Monitoring::new();
        m.timestamp = typedef::DateTime(start.0 + minute * 60);
        m.heart_rate = 60 + (minute % 9) as u8;
        messages.push(m.into());
    }
    encode(messages)
}

fn fit_sport(sport: Sport) -> (typedef::Sport, typedef::SubSport) {
    match sport {
        Sport::Run => (typedef::Sport::RUNNING, typedef::SubSport::STREET),
        Sport::TrailRun => (typedef::Sport::RUNNING, typedef::SubSport::TRAIL),
        Sport::Ride => (typedef::Sport::CYCLING, typedef::SubSport::ROAD),
        Sport::VirtualRide => (typedef::Sport::CYCLING, typedef::SubSport::VIRTUAL_ACTIVITY),
        Sport::Swim => (typedef::Sport::SWIMMING, typedef::SubSport::LAP_SWIMMING),
        Sport::Hike => (typedef::Sport::HIKING, typedef::SubSport::GENERIC),
        Sport::Strength => (
            typedef::Sport::TRAINING,
            typedef::SubSport::STRENGTH_TRAINING,
        ),
    }
}

fn lap_message(
    w: &Workout,
    samples: &[Sample],
    index: u16,
    at: impl Fn(u32) -> typedef::DateTime,
) -> mesgdef::Lap {
    let first = samples.first().copied();
    let last = samples.last().copied();
    let mut lap = mesgdef::Lap::new();
    lap.message_index = typedef::MessageIndex(index);
    if let (Some(first), Some(last)) = (first, last) {
        lap.timestamp = at(last.t);
        lap.start_time = at(first.t);
        let elapsed = f64::from(last.t - first.t + 1);
        lap.total_elapsed_time = (elapsed * 1000.0).round() as u32;
        lap.total_timer_time = lap.total_elapsed_time;
        lap.total_distance = ((last.distance - first.distance) * 100.0).round().max(0.0) as u32;
        let hr: Vec<f64> = samples
            .iter()
            .filter_map(|s| s.heart_rate.map(f64::from))
            .collect();
        if !hr.is_empty() {
            lap.avg_heart_rate = (hr.iter().sum::<f64>() / hr.len() as f64).round() as u8;
            lap.max_heart_rate = hr.iter().copied().fold(0.0, f64::max) as u8;
        }
        let power: Vec<f64> = samples
            .iter()
            .filter_map(|s| s.power.map(f64::from))
            .collect();
        if !power.is_empty() {
            lap.avg_power = (power.iter().sum::<f64>() / power.len() as f64).round() as u16;
        }
    }
    lap.event = typedef::Event::LAP;
    lap.event_type = typedef::EventType::STOP;
    lap.sport = fit_sport(w.sport).0;
    lap
}

/// The FIT file of workout `w`: `file_id` (an activity), records, laps, a session, an activity.
pub fn fit(w: &Workout) -> Vec<u8> {
    fit_of(w, &samples(w))
}

/// The FIT file of workout `w` with these samples (a device that paused leaves a gap).
pub fn fit_of(w: &Workout, samples: &[Sample]) -> Vec<u8> {
    let start = typedef::DateTime::from_unix_timestamp(w.start.timestamp());
    let at = |s: u32| typedef::DateTime(start.0 + s);
    let mut messages: Vec<Message> = Vec::with_capacity(samples.len() + 64);
    let mut file_id = mesgdef::FileId::new();
    file_id.r#type = typedef::File::ACTIVITY;
    file_id.manufacturer = typedef::Manufacturer::DEVELOPMENT;
    file_id.product = 1;
    file_id.serial_number = 3_141_592;
    file_id.time_created = start;
    messages.push(file_id.into());
    let starts = lap_starts(w, samples);
    let mut lap_index = 0u16;
    for (i, s) in samples.iter().enumerate() {
        let mut r = mesgdef::Record::new();
        r.timestamp = at(s.t);
        if let Some((lat, lon)) = s.position {
            r.set_position_lat_degrees(lat);
            r.set_position_long_degrees(lon);
        }
        if let Some(alt) = s.altitude {
            r.altitude = ((alt + 500.0) * 5.0).round() as u16;
        }
        if let Some(hr) = s.heart_rate {
            r.heart_rate = hr;
        }
        if let Some(p) = s.power {
            r.power = p;
        }
        if let Some(c) = s.cadence {
            r.cadence = c;
        }
        r.distance = (s.distance * 100.0).round() as u32;
        r.speed = (s.speed * 1000.0).round().min(65_534.0) as u16;
        messages.push(r.into());
        let lap_ends =
            i + 1 == samples.len() || starts.get(lap_index as usize + 1) == Some(&(i + 1));
        if lap_ends {
            let from = starts[lap_index as usize];
            messages.push(lap_message(w, &samples[from..=i], lap_index, at).into());
            lap_index += 1;
        }
    }
    let end = at(samples.last().map_or(0, |s| s.t));
    let (sport, sub_sport) = fit_sport(w.sport);
    let mut session = mesgdef::Session::new();
    session.message_index = typedef::MessageIndex(0);
    session.timestamp = end;
    session.start_time = start;
    session.sport = sport;
    session.sub_sport = sub_sport;
    session.total_elapsed_time = (w.elapsed as f64 * 1000.0) as u32;
    session.total_timer_time = (w.moving as f64 * 1000.0) as u32;
    session.total_distance = (w.distance * 100.0).round() as u32;
    session.num_laps = lap_index;
    session.event = typedef::Event::LAP;
    session.event_type = typedef::EventType::STOP;
    messages.push(session.into());
    let mut activity = mesgdef::Activity::new();
    activity.timestamp = end;
    activity.num_sessions = 1;
    activity.r#type = typedef::Activity::MANUAL;
    activity.event = typedef::Event::ACTIVITY;
    activity.event_type = typedef::EventType::STOP;
    activity.local_timestamp =
        typedef::LocalDateTime::from_unix_timestamp(w.start.timestamp() + i64::from(w.utc_offset));
    messages.push(activity.into());
    encode(messages)
}

/// FIT bytes of `messages` (header and CRCs by the encoder).
fn encode(messages: Vec<Message>) -> Vec<u8> {
    let mut fit = FIT {
        messages,
        ..Default::default()
    };
    let mut out = embedded_io_adapters::std::FromStd::new(std::io::Cursor::new(Vec::new()));
    match rustyfit::Encoder::new().encode(&mut out, &mut fit) {
        Ok(()) => out.into_inner().into_inner(),
        // Only an I/O error on a Vec could fail it: none can happen.
        Err(_) => Vec::new(),
    }
}

/// The FIT of `w` in a ZIP, as Garmin's download service answers.
pub fn fit_zip(w: &Workout, name: &str) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let _ = zip
            .start_file(name, options)
            .and_then(|()| zip.write_all(&fit(w)).map_err(Into::into))
            .and_then(|()| zip.finish().map(|_| ()));
    }
    out.into_inner()
}

/// Workout `w`'s laps as Strava's `/activities/{id}/laps` answers (the same laps as its FIT).
pub fn strava_laps(w: &Workout) -> Value {
    let samples = samples(w);
    let starts = lap_starts(w, &samples);
    let laps: Vec<Value> = starts
        .iter()
        .enumerate()
        .map(|(i, &from)| {
            let to = starts.get(i + 1).map_or(samples.len(), |n| *n);
            let lap = &samples[from..to];
            let (first, last) = (lap[0], lap[lap.len() - 1]);
            let hr: Vec<f64> = lap.iter().filter_map(|s| s.heart_rate.map(f64::from)).collect();
            let power: Vec<f64> = lap.iter().filter_map(|s| s.power.map(f64::from)).collect();
            let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
            let elapsed = last.t - first.t + 1;
            json!({
                "id": 90_000_000_000_i64 + (w.index * 1000 + i) as i64,
                "lap_index": i + 1,
                "start_date": (w.start + chrono::Duration::seconds(i64::from(first.t))).to_rfc3339(),
                "elapsed_time": elapsed,
                "moving_time": elapsed,
                "distance": ((last.distance - first.distance) * 10.0).round() / 10.0,
                "average_speed": first.speed,
                "average_heartrate": mean(&hr),
                "max_heartrate": hr.iter().copied().reduce(f64::max),
                "average_watts": mean(&power),
                "start_index": from,
                "end_index": to - 1,
            })
        })
        .collect();
    Value::Array(laps)
}

/// Workout `w`'s streams as Strava's `/activities/{id}/streams?key_by_type=true` answers.
pub fn strava_streams(w: &Workout) -> Value {
    let samples = samples(w);
    let column = |f: &dyn Fn(&Sample) -> Value| -> Value {
        json!({"data": samples.iter().map(f).collect::<Vec<_>>(), "series_type": "distance",
               "original_size": samples.len(), "resolution": "high"})
    };
    let mut out = serde_json::Map::new();
    out.insert("time".into(), column(&|s| json!(s.t)));
    out.insert(
        "distance".into(),
        column(&|s| json!((s.distance * 10.0).round() / 10.0)),
    );
    out.insert(
        "velocity_smooth".into(),
        column(&|s| json!((s.speed * 1000.0).round() / 1000.0)),
    );
    if w.sport.travels() {
        out.insert(
            "latlng".into(),
            column(&|s| json!(s.position.map(|(a, b)| [a, b]))),
        );
        out.insert(
            "altitude".into(),
            column(&|s| json!(s.altitude.map(|a| (a * 10.0).round() / 10.0))),
        );
    }
    if w.heart_rate.is_some() {
        out.insert("heartrate".into(), column(&|s| json!(s.heart_rate)));
    }
    if w.power.is_some() {
        out.insert("watts".into(), column(&|s| json!(s.power)));
    }
    if samples.first().is_some_and(|s| s.cadence.is_some()) {
        out.insert("cadence".into(), column(&|s| json!(s.cadence)));
    }
    Value::Object(out)
}

/// The file host's answer for workout `index` (Wahoo's and COROS's `…/files/{index}`): no token
/// is asked (a file host), each call counted as `<provider>_files` and, when a token came
/// anyway, as `<provider>_files_with_token` (the client must never send one there). Queued API
/// faults of the provider apply (404, garbage, truncation).
pub(crate) async fn file_host(
    s: &crate::Shared,
    headers: &axum::http::HeaderMap,
    provider: &str,
    index: &str,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let fault = {
        let mut world = s.world();
        *world.calls.entry(format!("{provider}_files")).or_default() += 1;
        if headers.contains_key("authorization") {
            *world
                .calls
                .entry(format!("{provider}_files_with_token"))
                .or_default() += 1;
        }
        world.take_fault(provider, crate::FaultTarget::Api)
    };
    if let Some(response) = fault.and_then(file_fault) {
        return response;
    }
    let world = s.world();
    let found = index
        .trim_end_matches(".fit")
        .parse::<usize>()
        .ok()
        .and_then(|i| world.visible().find(|w| w.index == i));
    match found {
        Some(w) => (
            [(axum::http::header::CONTENT_TYPE, "application/octet-stream")],
            fit(w),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "NoSuchKey").into_response(),
    }
}

/// What a queued fault makes of a file answer (`None`: answer normally).
pub(crate) fn file_fault(fault: crate::Fault) -> Option<axum::response::Response> {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    Some(match fault.kind {
        crate::FaultKind::NotFound => (StatusCode::NOT_FOUND, "Not Found").into_response(),
        crate::FaultKind::ServerError => {
            (StatusCode::INTERNAL_SERVER_ERROR, "upstream exploded").into_response()
        }
        crate::FaultKind::Malformed => {
            (StatusCode::OK, "<html>definitely not a FIT file</html>").into_response()
        }
        crate::FaultKind::Truncated => {
            let mut bytes = fit(&crate::generate::single(0, chrono::Utc::now(), 1));
            bytes.truncate(bytes.len() / 2);
            (StatusCode::OK, bytes).into_response()
        }
        crate::FaultKind::RateLimit => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "60")],
            "slow down",
        )
            .into_response(),
        _ => return None,
    })
}

/// `http://<host>/<provider>/files/<index>.fit`: the address a list hands out for a file.
pub(crate) fn file_url(headers: &axum::http::HeaderMap, provider: &str, index: usize) -> String {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}/{provider}/files/{index}.fit")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn workout(sport: Sport) -> Workout {
        Workout {
            index: 3,
            sport,
            start: chrono::Utc.with_ymd_and_hms(2026, 11, 1, 7, 0, 0).unwrap(),
            utc_offset: 3600,
            zone: "Europe/Paris",
            elapsed: 1800,
            moving: 1750,
            distance: 6000.0,
            elevation: 40.0,
            heart_rate: Some((140.0, 170.0)),
            power: None,
            device: "x",
            name: "Run".into(),
        }
    }

    #[test]
    fn a_fit_is_deterministic_and_decodes_with_its_laps() {
        let w = workout(Sport::Run);
        let a = fit(&w);
        assert_eq!(a, fit(&w));
        assert_eq!(&a[8..12], b".FIT");
        let mut decoder = rustyfit::Decoder::new();
        let mut reader: &[u8] = &a;
        let decoded = decoder.decode(&mut reader).unwrap().unwrap();
        let count = |n| decoded.messages.iter().filter(|m| m.num == n).count();
        assert_eq!(count(typedef::MesgNum::RECORD), 1800);
        assert_eq!(count(typedef::MesgNum::LAP), 6);
        assert_eq!(count(typedef::MesgNum::SESSION), 1);
    }

    #[test]
    fn strava_streams_are_aligned() {
        let s = strava_streams(&workout(Sport::Run));
        let len = |k: &str| s[k]["data"].as_array().unwrap().len();
        assert_eq!(len("time"), 1800);
        assert_eq!(len("latlng"), 1800);
        assert_eq!(len("heartrate"), 1800);
        assert!(s.get("watts").is_none());
    }
}
