//! An imported file's summary, computed from its streams: the same normalised fields a
//! provider's mapper fills, so that an imported copy lists, counts and links like any other.

use crate::domain::{NewActivity, Sport};
use crate::recording::{StreamKind, Streams};
use chrono::{DateTime, Utc};

fn finite(values: Option<&[f64]>) -> impl Iterator<Item = f64> + '_ {
    values
        .unwrap_or(&[])
        .iter()
        .copied()
        .filter(|v| v.is_finite())
}

fn mean(values: Option<&[f64]>) -> Option<f64> {
    let (sum, n) = finite(values).fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| (sum / n as f64 * 10.0).round() / 10.0)
}

fn max(values: Option<&[f64]>) -> Option<f64> {
    finite(values).reduce(f64::max)
}

/// Metres between two points (haversine).
fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6_371_000.0 * h.sqrt().asin()
}

/// Climb, ignoring wobbles under 2 m (barometric noise).
fn climb(altitude: Option<&[f64]>) -> Option<f64> {
    let mut values = finite(altitude);
    let mut low = values.next()?;
    let mut gain = 0.0;
    for v in values {
        if v - low >= 2.0 {
            gain += v - low;
            low = v;
        } else if v < low {
            low = v;
        }
    }
    Some(gain.round())
}

/// The summary of a recording: start, times, distance, climb, heart rate and power. `None` when
/// the file holds no time at all (nothing says when it happened).
pub fn of(streams: &Streams, id: String, name: Option<String>) -> Option<NewActivity> {
    let start = DateTime::<Utc>::from_timestamp(streams.start?, 0)?;
    let time = streams.get(StreamKind::Time).unwrap_or(&[]);
    let from_laps: f64 = streams.laps.iter().map(|l| l.elapsed_s).sum();
    let elapsed = time
        .last()
        .copied()
        .filter(|t| *t > 0.0)
        .or((from_laps > 0.0).then_some(from_laps))
        .map(|t| t.round() as i64);
    let distance = max(streams.get(StreamKind::Distance))
        .or_else(|| {
            let (lat, lon) = (streams.get(StreamKind::Lat)?, streams.get(StreamKind::Lon)?);
            let mut last: Option<(f64, f64)> = None;
            let mut total = 0.0;
            for (a, b) in lat.iter().zip(lon) {
                if a.is_finite() && b.is_finite() {
                    if let Some(p) = last {
                        total += metres(p, (*a, *b));
                    }
                    last = Some((*a, *b));
                }
            }
            (total > 0.0).then_some(total)
        })
        .or_else(|| {
            let d: f64 = streams.laps.iter().filter_map(|l| l.distance_m).sum();
            (d > 0.0).then_some(d)
        })
        .map(|d| (d * 10.0).round() / 10.0);
    // Moving: the seconds between samples a few seconds apart during which the athlete went on.
    let moving = streams.get(StreamKind::Speed).map(|speed| {
        time.windows(2)
            .zip(speed.iter().skip(1))
            .filter(|(w, v)| w[1] - w[0] <= 10.0 && **v > 0.3)
            .map(|(w, _)| w[1] - w[0])
            .sum::<f64>()
            .round() as i64
    });
    let sport = streams
        .sport
        .as_deref()
        .map_or(Sport::Other, Sport::from_words);
    Some(NewActivity {
        provider_activity_id: id,
        sport,
        name,
        start_utc: start,
        utc_offset_seconds: streams.utc_offset,
        elapsed_seconds: elapsed,
        moving_seconds: moving.filter(|m| *m > 0).or(elapsed),
        distance_m: distance,
        elevation_gain_m: climb(streams.get(StreamKind::Altitude)),
        avg_heart_rate: mean(streams.get(StreamKind::HeartRate)),
        max_heart_rate: max(streams.get(StreamKind::HeartRate)),
        calories: None,
        avg_power_w: mean(streams.get(StreamKind::Power)),
        max_power_w: max(streams.get(StreamKind::Power)),
        device: None,
        raw: serde_json::Value::Null,
    })
}
