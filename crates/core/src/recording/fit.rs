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

/// FIT files chained in one file (a device may append one per session) read at most.
const MAX_CHAINED: usize = 64;

fn u8v(v: u8) -> Option<f64> {
    (v != u8::MAX).then_some(f64::from(v))
}

fn u16v(v: u16) -> Option<f64> {
    (v != u16::MAX).then_some(f64::from(v))
}

fn i8v(v: i8) -> Option<f64> {
    (v != i8::MAX).then_some(f64::from(v))
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
                            "a FIT file of type '{kind}', not an activity"
                        )));
                    }
                }
                typedef::MesgNum::RECORD if !full => {
                    let r = mesgdef::Record::from(message);
                    let Some(t) = r.timestamp.unix_timestamp() else {
                        continue;
                    };
                    let values = [
                        (StreamKind::Lat, r.position_lat_degrees()),
                        (StreamKind::Lon, r.position_long_degrees()),
                        (
                            StreamKind::Altitude,
                            r.enhanced_altitude_scaled().or_else(|| r.altitude_scaled()),
                        ),
                        (StreamKind::HeartRate, u8v(r.heart_rate)),
                        (StreamKind::Cadence, u8v(r.cadence)),
                        (StreamKind::Power, u16v(r.power)),
                        (
                            StreamKind::Speed,
                            r.enhanced_speed_scaled().or_else(|| r.speed_scaled()),
                        ),
                        (StreamKind::Distance, r.distance_scaled()),
                        (StreamKind::Temperature, i8v(r.temperature)),
                    ];
                    full = !builder.push(t as f64, &values);
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
                typedef::MesgNum::SESSION => {
                    let s = mesgdef::Session::from(message);
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
        assert!(s.get(StreamKind::HeartRate).unwrap().iter().all(|v| v.is_finite()));
        assert!(!s.laps.is_empty());
        assert_eq!(s.laps[0].start_s, 0.0);
        assert!(s.laps.windows(2).all(|w| w[0].start_s < w[1].start_s));
        let time = s.get(StreamKind::Time).unwrap();
        assert_eq!(time[0], 0.0);
        assert!(time.windows(2).all(|w| w[0] <= w[1]));
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
            let mut header = bytes.clone();
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
