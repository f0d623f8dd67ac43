//! FIT, read with `rustyfit` (the newest FIT profile, decoder and encoder in one crate; it
//! checks both CRCs and refuses a file cut anywhere, where `fitparser` returns a truncated file's
//! first part as if whole; and it decodes ~8× faster: BENCHMARKS.md).
//!
//! Records become samples; laps become laps (sessions where a file has no laps). Developer
//! fields (a running power pod's) stay in the original, which is kept as it came; they are not
//! charted. A file whose `file_id` says it is not an activity (monitoring, sleep, settings) is
//! refused by its type.

use super::{Builder, Lap, StreamKind, Streams, Unreadable};
use rustyfit::profile::{mesgdef, typedef};
use rustyfit::{Decoder, proto::Message};

/// How a file that is no activity is told apart (see `Unreadable::not_an_activity`).
pub(super) const NOT_AN_ACTIVITY: &str = "not an activity";

/// FIT files chained in one file (a device may append one per session) read at most.
const MAX_CHAINED: usize = 64;

fn u8v(v: u8) -> Option<f64> {
    (v != u8::MAX).then_some(f64::from(v))
}

fn u16v(v: u16) -> Option<f64> {
    (v != u16::MAX).then_some(f64::from(v))
}

/// A scalar field's value, `None` when absent or FIT's "invalid" for its type.
fn scalar(value: &rustyfit::proto::Value) -> Option<f64> {
    use rustyfit::proto::Value as V;
    match *value {
        V::Uint8(v) if v != u8::MAX => Some(f64::from(v)),
        V::Int8(v) if v != i8::MAX => Some(f64::from(v)),
        V::Uint16(v) if v != u16::MAX => Some(f64::from(v)),
        V::Int16(v) if v != i16::MAX => Some(f64::from(v)),
        V::Uint32(v) if v != u32::MAX => Some(f64::from(v)),
        V::Int32(v) if v != i32::MAX => Some(f64::from(v)),
        V::Float32(v) if v.is_finite() => Some(f64::from(v)),
        V::Float64(v) if v.is_finite() => Some(v),
        _ => None,
    }
}

/// Degrees per semicircle.
const SEMICIRCLE: f64 = 180.0 / 2_147_483_648.0;

/// One `record` message: its time and values, read from its fields by number with the
/// profile's scale and offset (the profile's typed struct builds ~70 fields per record; this
/// reads the nine that are charted, ~30 % of the decode time saved).
/// A sample's values, as the builder takes them.
type Values = [(StreamKind, Option<f64>); 9];

fn record(message: &Message) -> Option<(f64, Values)> {
    let (mut t, mut lat, mut lon) = (None, None, None);
    let (mut alt, mut enhanced_alt, mut speed, mut enhanced_speed) = (None, None, None, None);
    let (mut hr, mut cadence, mut power, mut distance, mut temperature) =
        (None, None, None, None, None);
    for field in &message.fields {
        let v = scalar(&field.value);
        match field.num {
            253 => t = v,
            0 => lat = v.map(|x| x * SEMICIRCLE),
            1 => lon = v.map(|x| x * SEMICIRCLE),
            2 => alt = v.map(|x| x / 5.0 - 500.0),
            78 => enhanced_alt = v.map(|x| x / 5.0 - 500.0),
            3 => hr = v,
            4 => cadence = v,
            5 => distance = v.map(|x| x / 100.0),
            6 => speed = v.map(|x| x / 1000.0),
            73 => enhanced_speed = v.map(|x| x / 1000.0),
            7 => power = v,
            13 => temperature = v,
            _ => {}
        }
    }
    // FIT time counts from 1989-12-31T00:00:00Z.
    let t = t? + 631_065_600.0;
    Some((
        t,
        [
            (StreamKind::Lat, lat),
            (StreamKind::Lon, lon),
            (StreamKind::Altitude, enhanced_alt.or(alt)),
            (StreamKind::HeartRate, hr),
            (StreamKind::Cadence, cadence),
            (StreamKind::Power, power),
            (StreamKind::Speed, enhanced_speed.or(speed)),
            (StreamKind::Distance, distance),
            (StreamKind::Temperature, temperature),
        ],
    ))
}

/// The `file_id` type of a FIT file, when it says one (for callers that sort files).
pub(crate) fn file_type(message: &Message) -> Option<typedef::File> {
    let id = mesgdef::FileId::from(message);
    (id.r#type != typedef::File(u8::MAX)).then_some(id.r#type)
}

pub(super) fn decode(bytes: &[u8]) -> Result<Streams, Unreadable> {
    let mut decoder = Decoder::new();
    let mut reader: &[u8] = bytes;
    let mut builder = Builder::default();
    let mut laps: Vec<(i64, Lap)> = Vec::new();
    let mut sessions: Vec<(i64, Lap)> = Vec::new();
    let mut files = 0usize;
    let mut full = false;
    while files < MAX_CHAINED {
        let fit = match decoder.decode(&mut reader) {
            Ok(Some(fit)) => fit,
            Ok(None) => break,
            Err(e) if files == 0 => {
                return Err(Unreadable(format!("the FIT file is damaged ({e})")));
            }
            // A later chained part that is damaged: keep the whole parts before it.
            Err(_) => break,
        };
        files += 1;
        for message in &fit.messages {
            match message.num {
                typedef::MesgNum::FILE_ID => {
                    if let Some(kind) = file_type(message)
                        && kind != typedef::File::ACTIVITY
                    {
                        return Err(Unreadable(format!(
                            "a FIT file of type '{kind}', {NOT_AN_ACTIVITY}"
                        )));
                    }
                }
                typedef::MesgNum::RECORD if !full => {
                    if let Some((t, values)) = record(message) {
                        full = !builder.push(t, &values);
                    }
                }
                typedef::MesgNum::LAP => {
                    let l = mesgdef::Lap::from(message);
                    if let Some(start) = l.start_time.unix_timestamp() {
                        laps.push((
                            start,
                            Lap {
                                start_s: 0.0,
                                elapsed_s: l.total_elapsed_time_scaled().unwrap_or(0.0),
                                distance_m: l.total_distance_scaled(),
                                avg_heart_rate: u8v(l.avg_heart_rate),
                                max_heart_rate: u8v(l.max_heart_rate),
                                avg_power_w: u16v(l.avg_power),
                                avg_speed_mps: l
                                    .enhanced_avg_speed_scaled()
                                    .or_else(|| l.avg_speed_scaled()),
                            },
                        ));
                    }
                }
                typedef::MesgNum::ACTIVITY => {
                    // Local time beside UTC: the offset where it was recorded (whole quarter
                    // hours within ±14 h, or it is not an offset).
                    let a = mesgdef::Activity::from(message);
                    if a.local_timestamp.0 != u32::MAX && a.timestamp.0 != u32::MAX {
                        let offset = i64::from(a.local_timestamp.0) - i64::from(a.timestamp.0);
                        if offset.abs() <= 14 * 3600 && offset % 900 == 0 {
                            builder.utc_offset = Some(offset as i32);
                        }
                    }
                }
                typedef::MesgNum::SESSION => {
                    let s = mesgdef::Session::from(message);
                    if builder.sport.is_none() && s.sport != typedef::Sport(u8::MAX) {
                        builder.sport = Some(match s.sub_sport {
                            typedef::SubSport::TRAIL => "trail_running".to_owned(),
                            typedef::SubSport::VIRTUAL_ACTIVITY
                            | typedef::SubSport::INDOOR_CYCLING => "virtual_ride".to_owned(),
                            typedef::SubSport::STRENGTH_TRAINING => "strength_training".to_owned(),
                            _ => s.sport.to_string(),
                        });
                    }
                    if let Some(start) = s.start_time.unix_timestamp() {
                        sessions.push((
                            start,
                            Lap {
                                start_s: 0.0,
                                elapsed_s: s.total_elapsed_time_scaled().unwrap_or(0.0),
                                distance_m: s.total_distance_scaled(),
                                avg_heart_rate: u8v(s.avg_heart_rate),
                                max_heart_rate: u8v(s.max_heart_rate),
                                avg_power_w: u16v(s.avg_power),
                                avg_speed_mps: s
                                    .enhanced_avg_speed_scaled()
                                    .or_else(|| s.avg_speed_scaled()),
                            },
                        ));
                    }
                }
                _ => {}
            }
            if laps.len() + sessions.len() > 10_000 {
                return Err(Unreadable("the FIT file has absurdly many laps".to_owned()));
            }
        }
    }
    if files == 0 {
        return Err(Unreadable("the FIT file is empty".to_owned()));
    }
    let start = builder.start();
    let mut streams = builder.finish();
    let chosen = if laps.is_empty() { sessions } else { laps };
    let origin = start.or_else(|| chosen.first().map(|(s, _)| *s));
    if streams.start.is_none() {
        streams.start = origin;
    }
    streams.laps = chosen
        .into_iter()
        .map(|(at, mut lap)| {
            lap.start_s = origin.map_or(0.0, |o| (at - o).max(0) as f64);
            lap
        })
        .collect();
    Ok(streams)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn ride() -> Vec<u8> {
        let start = chrono::Utc.with_ymd_and_hms(2026, 11, 1, 7, 0, 0).unwrap();
        // A generated workout with a track (the sandbox's, written by rustyfit's encoder).
        let mut index = 0;
        loop {
            let w = tributary_sandbox::generate::single(index, start, 7);
            if w.sport.travels() && w.heart_rate.is_some() {
                return tributary_sandbox::recording::fit(&w);
            }
            index += 1;
        }
    }

    #[test]
    fn a_fit_gives_its_samples_track_and_laps() {
        let s = decode(&ride()).unwrap();
        assert!(s.len() > 1000, "{}", s.len());
        assert!(s.has_track());
        assert!(
            s.get(StreamKind::HeartRate)
                .unwrap()
                .iter()
                .all(|v| v.is_finite())
        );
        assert!(!s.laps.is_empty());
        assert_eq!(s.laps[0].start_s, 0.0);
        assert!(s.laps.windows(2).all(|w| w[0].start_s < w[1].start_s));
        let time = s.get(StreamKind::Time).unwrap();
        assert_eq!(time[0], 0.0);
        assert!(time.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn records_read_by_field_number_match_the_profiles_typed_getters() {
        let fit = ride();
        let mut decoder = Decoder::new();
        let mut reader: &[u8] = &fit;
        let decoded = decoder.decode(&mut reader).unwrap().unwrap();
        let mut checked = 0;
        for m in decoded
            .messages
            .iter()
            .filter(|m| m.num == typedef::MesgNum::RECORD)
        {
            let r = mesgdef::Record::from(m);
            let (t, values) = record(m).unwrap();
            assert_eq!(Some(t as i64), r.timestamp.unix_timestamp());
            let get = |k: StreamKind| values.iter().find(|(x, _)| *x == k).and_then(|(_, v)| *v);
            let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) => (a - b).abs() < 1e-9,
                (a, b) => a == b,
            };
            assert!(close(get(StreamKind::Lat), r.position_lat_degrees()));
            assert!(close(get(StreamKind::Lon), r.position_long_degrees()));
            assert!(close(
                get(StreamKind::Altitude),
                r.enhanced_altitude_scaled().or_else(|| r.altitude_scaled())
            ));
            assert!(close(
                get(StreamKind::Speed),
                r.enhanced_speed_scaled().or_else(|| r.speed_scaled())
            ));
            assert!(close(get(StreamKind::Distance), r.distance_scaled()));
            assert!(close(get(StreamKind::HeartRate), u8v(r.heart_rate)));
            assert!(close(get(StreamKind::Power), u16v(r.power)));
            checked += 1;
        }
        assert!(checked > 1000);
    }

    #[test]
    fn damaged_fits_are_clear_errors() {
        let fit = ride();
        let cut = &fit[..fit.len() / 2];
        assert!(decode(cut).unwrap_err().0.contains("damaged"));
        let mut flipped = fit.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x5a;
        assert!(decode(&flipped).is_err(), "a bad CRC is refused");
        assert!(decode(b"").is_err());
        assert!(decode(b"not a fit file at all, not at all").is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn the_fit_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..4096),
                                         at in any::<usize>(), flip in 1u8..=255, cut in any::<usize>()) {
            let _ = decode(&bytes);
            let mut header = bytes;
            if header.len() >= 12 {
                header[8..12].copy_from_slice(b".FIT");
                let _ = decode(&header);
            }
            let fit = ride();
            let mut mutated = fit.clone();
            let i = at % mutated.len();
            mutated[i] ^= flip;
            let _ = decode(&mutated);
            let _ = decode(&fit[..cut % fit.len()]);
        }
    }
}
