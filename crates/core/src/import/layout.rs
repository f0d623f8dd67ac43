//! The archive layouts the providers use (`../shared/providers.md` §0c; how sure each detail is
//! is in the README's import section). Every reader is tolerant: a field it does not find is left
//! empty, never guessed, and a document it cannot read is refused with the reason.

use crate::domain::{NewActivity, Sport};
use crate::recording::{Builder, StreamKind, Streams};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;
use std::collections::HashMap;

/// One line of Strava's `activities.csv`: the activity's id (the API's) and its title.
#[derive(Debug, Clone, PartialEq)]
pub struct StravaRow {
    /// The Activity ID: the same id the API gives.
    pub id: String,
    /// The title, when the list has one.
    pub name: Option<String>,
}

fn is_activity_path(value: &str) -> bool {
    let v = value.to_ascii_lowercase();
    v.starts_with("activities/")
        && [".fit", ".gpx", ".tcx", ".fit.gz", ".gpx.gz", ".tcx.gz"]
            .iter()
            .any(|e| v.ends_with(e))
}

/// Strava's `activities.csv`, by content: its headers are in the athlete's language, so the
/// columns are found by what they hold — the file names (`activities/….fit.gz`), the Activity ID
/// (whole numbers, each once, the largest such column: elapsed times are whole numbers too),
/// and the title two columns after the id (Activity ID, Activity Date, Activity Name: the order
/// every third-party importer reads; a column of numbers there is not taken as titles).
/// Returns each file's row, keyed by its path under the export's root.
pub fn strava_csv(bytes: &[u8]) -> Result<HashMap<String, StravaRow>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(bytes);
    let rows: Vec<csv::StringRecord> =
        reader
            .records()
            .take(1_000_000)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("Strava's activities.csv cannot be read: {e}"))?;
    let width = rows.iter().map(csv::StringRecord::len).max().unwrap_or(0);
    let column = |i: usize| rows.iter().map(move |r| r.get(i).unwrap_or("").trim());
    let file_col = (0..width)
        .filter(|i| column(*i).filter(|v| is_activity_path(v)).count() > 0)
        .max_by_key(|i| column(*i).filter(|v| is_activity_path(v)).count())
        .ok_or("Strava's activities.csv names no activity files")?;
    let id_col = (0..width)
        .filter(|i| *i != file_col)
        .filter_map(|i| {
            let values: Vec<&str> = column(i).filter(|v| !v.is_empty()).collect();
            let numbers: Option<Vec<u64>> = values.iter().map(|v| v.parse().ok()).collect();
            let numbers = numbers.filter(|n| !n.is_empty())?;
            let unique = numbers
                .iter()
                .collect::<std::collections::HashSet<_>>()
                .len();
            (unique == numbers.len()).then(|| (i, numbers.into_iter().min().unwrap_or(0)))
        })
        .max_by_key(|(_, low)| *low)
        .map(|(i, _)| i)
        .ok_or("Strava's activities.csv has no column of activity ids")?;
    let name_col = Some(id_col + 2).filter(|i| {
        *i != file_col
            && column(*i)
                .filter(|v| !v.is_empty())
                .all(|v| v.parse::<f64>().is_err())
    });
    let mut out = HashMap::new();
    for r in &rows {
        let (Some(file), Some(id)) = (r.get(file_col), r.get(id_col)) else {
            continue;
        };
        if !is_activity_path(file.trim()) || id.trim().is_empty() {
            continue;
        }
        out.insert(
            file.trim().to_owned(),
            StravaRow {
                id: id.trim().to_owned(),
                name: name_col
                    .and_then(|i| r.get(i))
                    .map(|n| n.trim().to_owned())
                    .filter(|n| !n.is_empty()),
            },
        );
    }
    Ok(out)
}

/// A duration as Polar writes it: ISO 8601 (`PT1H2M3.5S`), protobuf (`"80s"`) or milliseconds.
fn duration_s(value: &Value) -> Option<f64> {
    if let Some(ms) = value.as_f64() {
        return Some(ms / 1000.0);
    }
    let text = value.as_str()?.trim();
    if let Some(s) = text.strip_suffix('s') {
        return s.parse().ok();
    }
    let rest = text.strip_prefix("PT")?;
    let (mut total, mut number) = (0.0, String::new());
    for c in rest.chars() {
        match c {
            'H' | 'M' | 'S' => {
                let n: f64 = number.parse().ok()?;
                total += n * match c {
                    'H' => 3600.0,
                    'M' => 60.0,
                    _ => 1.0,
                };
                number.clear();
            }
            _ => number.push(c),
        }
    }
    Some(total)
}

/// A time with its zone (RFC 3339), or local time with the offset in minutes beside it.
fn instant(text: &str, offset_minutes: Option<i64>) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    Some(Utc.from_utc_datetime(&local) - chrono::Duration::minutes(offset_minutes.unwrap_or(0)))
}

/// A Polar Flow training session: its summary and streams.
pub struct PolarSession {
    /// Summary (the id is the session's, or empty when it has none).
    pub summary: NewActivity,
    /// Samples and route, joined on their times.
    pub streams: Streams,
}

/// A Polar Flow `training-session_*.json` (layout from a third-party write-up, medium
/// confidence): the first exercise's start, duration, distance, sport, heart rate, and its
/// `samples` (`heartRate`, `speed` in km/h, `cadence`, `altitude`, `distance`, each a list of
/// `{dateTime, value}`) and route (`wayPoints` with `latitude`, `longitude`, `altitude`,
/// `dateTime`), read wherever the route sits (`routes.route`, `routes`, `route`).
pub fn polar_session(bytes: &[u8]) -> Result<PolarSession, String> {
    let doc: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("not a Polar training session (the JSON cannot be read: {e})"))?;
    let exercise = doc
        .get("exercises")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
        .ok_or("not a Polar training session (no exercises)")?;
    let field = |k: &str| exercise.get(k).or_else(|| doc.get(k));
    // Minutes east of UTC; beyond ±14 h it is not an offset (and would overflow the arithmetic).
    let offset = field("timezoneOffset")
        .or_else(|| field("timeZoneOffset"))
        .and_then(Value::as_i64)
        .filter(|m| m.abs() <= 14 * 60);
    let start = field("startTime")
        .and_then(Value::as_str)
        .and_then(|t| instant(t, offset))
        .ok_or("a Polar training session without a start time")?;
    let sport_words = match field("sport") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => o
            .get("name")
            .or_else(|| o.get("id"))
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .unwrap_or_default(),
        _ => String::new(),
    };
    let sport = Sport::from_words(&sport_words);
    let mut builder = Builder::default();
    let mut samples: std::collections::BTreeMap<i64, Vec<(StreamKind, Option<f64>)>> =
        Default::default();
    let at = |v: &Value| {
        v.get("dateTime")
            .and_then(Value::as_str)
            .and_then(|t| instant(t, offset))
            .map(|t| t.timestamp_millis())
    };
    if let Some(Value::Object(series)) = exercise.get("samples") {
        for (key, kind, scale) in [
            ("heartRate", StreamKind::HeartRate, 1.0),
            ("speed", StreamKind::Speed, 1.0 / 3.6),
            ("cadence", StreamKind::Cadence, 1.0),
            ("altitude", StreamKind::Altitude, 1.0),
            ("distance", StreamKind::Distance, 1.0),
            ("power", StreamKind::Power, 1.0),
            ("temperature", StreamKind::Temperature, 1.0),
        ] {
            for s in series
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .take(crate::recording::MAX_POINTS)
            {
                if let Some(t) = at(s) {
                    let value = s.get("value").and_then(Value::as_f64).map(|v| v * scale);
                    samples.entry(t).or_default().push((kind, value));
                }
            }
        }
    }
    let routes = exercise.get("routes").or_else(|| exercise.get("route"));
    let points = routes
        .and_then(|r| {
            r.pointer("/route/wayPoints")
                .or_else(|| r.get("wayPoints"))
                .or_else(|| r.pointer("/0/wayPoints"))
        })
        .and_then(Value::as_array);
    for p in points
        .into_iter()
        .flatten()
        .take(crate::recording::MAX_POINTS)
    {
        if let Some(t) = at(p) {
            let row = samples.entry(t).or_default();
            row.push((StreamKind::Lat, p.get("latitude").and_then(Value::as_f64)));
            row.push((StreamKind::Lon, p.get("longitude").and_then(Value::as_f64)));
            if let Some(alt) = p.get("altitude").and_then(Value::as_f64) {
                row.push((StreamKind::Altitude, Some(alt)));
            }
        }
    }
    for (t, values) in samples {
        if !builder.push(t as f64 / 1000.0, &values) {
            break;
        }
    }
    builder.sport = Some(sport_words);
    let mut streams = builder.finish();
    if streams.start.is_none() {
        streams.start = Some(start.timestamp());
    }
    let elapsed = field("duration")
        .and_then(duration_s)
        .map(|d| d.round() as i64);
    let id = doc
        .pointer("/identifier/id")
        .or_else(|| doc.get("id"))
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        .unwrap_or_default();
    let name = doc
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .filter(|n| !n.is_empty());
    let number = |k: &str| field(k).and_then(Value::as_f64);
    let summary = NewActivity {
        provider_activity_id: id,
        sport,
        name,
        start_utc: start,
        utc_offset_seconds: offset.map(|m| (m * 60) as i32),
        elapsed_seconds: elapsed,
        moving_seconds: elapsed,
        distance_m: number("distance"),
        elevation_gain_m: number("ascent"),
        avg_heart_rate: field("heartRate")
            .and_then(|h| h.get("avg"))
            .and_then(Value::as_f64)
            .or_else(|| number("averageHeartRate")),
        max_heart_rate: field("heartRate")
            .and_then(|h| h.get("max"))
            .and_then(Value::as_f64)
            .or_else(|| number("maximumHeartRate")),
        calories: number("kiloCalories"),
        avg_power_w: None,
        max_power_w: None,
        device: None,
        raw: Value::Null,
    };
    Ok(PolarSession { summary, streams })
}

/// The exercises of a Google Takeout `exercise-*.json` (Fitbit; layout from two third-party
/// converters, medium confidence): a list of `{logId, activityName, startTime ("05/01/24
/// 07:00:00", local time without a zone), duration (ms), activeDuration (ms), distance,
/// distanceUnit, averageHeartRate, calories}`. The start is local time: kept as it is written,
/// with no offset (the linker knows local time taken for UTC).
pub fn takeout_exercises(bytes: &[u8]) -> Result<Vec<NewActivity>, String> {
    let doc: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("not a Takeout exercise list (the JSON cannot be read: {e})"))?;
    let list = doc
        .as_array()
        .ok_or("not a Takeout exercise list (not a list)")?;
    let mut out = Vec::new();
    for e in list.iter().take(100_000) {
        let Some(id) = e
            .get("logId")
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        else {
            continue;
        };
        let Some(start) = e
            .get("startTime")
            .and_then(Value::as_str)
            .and_then(|t| NaiveDateTime::parse_from_str(t, "%m/%d/%y %H:%M:%S").ok())
        else {
            continue;
        };
        let ms = |k: &str| {
            e.get(k)
                .and_then(Value::as_f64)
                .map(|v| (v / 1000.0).round() as i64)
        };
        let unit = e
            .get("distanceUnit")
            .and_then(Value::as_str)
            .unwrap_or("Kilometer");
        let per_unit = match unit {
            "Mile" | "Miles" => 1609.344,
            "Meter" | "Meters" => 1.0,
            _ => 1000.0,
        };
        let words = e.get("activityName").and_then(Value::as_str).unwrap_or("");
        out.push(NewActivity {
            provider_activity_id: id,
            sport: Sport::from_words(words),
            name: Some(words.to_owned()).filter(|w| !w.is_empty()),
            start_utc: Utc.from_utc_datetime(&start),
            utc_offset_seconds: None,
            elapsed_seconds: ms("duration"),
            moving_seconds: ms("activeDuration"),
            distance_m: e
                .get("distance")
                .and_then(Value::as_f64)
                .map(|d| (d * per_unit * 10.0).round() / 10.0),
            elevation_gain_m: None,
            avg_heart_rate: e.get("averageHeartRate").and_then(Value::as_f64),
            max_heart_rate: None,
            calories: e.get("calories").and_then(Value::as_f64),
            avg_power_w: None,
            max_power_w: None,
            device: None,
            raw: e.clone(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stravas_list_is_read_by_content_in_any_language() {
        let csv = "ID de l'activité,Date de l'activité,Nom de l'activité,Type d'activité,Temps écoulé,Nom du fichier\n\
                   1234567890,\"1 janv. 2024, 07:00:00\",Sortie du matin,Course à pied,3600,activities/111.fit.gz\n\
                   1234567891,\"2 janv. 2024, 07:00:00\",Vélo,Vélo,5400,activities/112.gpx\n\
                   1234567892,\"3 janv. 2024, 07:00:00\",Manuel,Course à pied,1800,\n";
        let rows = strava_csv(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows["activities/111.fit.gz"],
            StravaRow {
                id: "1234567890".to_owned(),
                name: Some("Sortie du matin".to_owned())
            }
        );
        assert!(
            strava_csv(b"a,b\n1,2\n")
                .unwrap_err()
                .contains("no activity files")
        );
    }

    #[test]
    fn an_absurd_polar_offset_is_ignored_not_a_panic() {
        let doc = br#"{"exercises":[{"startTime":"2024-05-01T09:00:00.000","timezoneOffset":9223372036854775807,
            "samples":{"heartRate":[{"dateTime":"2024-05-01T09:00:01.000","value":120}]}}]}"#;
        let session = polar_session(doc).unwrap();
        assert_eq!(session.summary.utc_offset_seconds, None);
        assert_eq!(
            session.summary.start_utc.to_rfc3339(),
            "2024-05-01T09:00:00+00:00"
        );
    }

    #[test]
    fn polar_durations_and_times() {
        assert_eq!(duration_s(&Value::from("PT1H2M3.5S")), Some(3723.5));
        assert_eq!(duration_s(&Value::from("80s")), Some(80.0));
        assert_eq!(duration_s(&Value::from("nonsense")), None);
        let t = instant("2024-05-01T09:00:00.000", Some(120)).unwrap();
        assert_eq!(t.to_rfc3339(), "2024-05-01T07:00:00+00:00");
    }
}
