//! GPX and TCX, read with `quick-xml` as a stream of events (no tree in memory). Both are a list
//! of points, each a few leaf elements; the heart rate, cadence and power that matter to an
//! athlete sit in extensions (Garmin's `TrackPointExtension`, `TPX`), which is why this reads
//! leaves by their local name wherever they are nested, rather than a fixed schema.

use super::{Builder, Lap, MAX_POINTS, StreamKind, Streams, Unreadable};
use chrono::DateTime;
use quick_xml::events::Event;

/// Elements read at most (a malicious file with millions of empty elements stays bounded).
const MAX_EVENTS: usize = 40 * MAX_POINTS;

fn parse_time(text: &str) -> Option<f64> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.timestamp_millis() as f64 / 1000.0)
}

fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// The point being read: its leaves by (parent, local name).
#[derive(Default)]
struct Point {
    time: Option<f64>,
    values: Vec<(StreamKind, Option<f64>)>,
}

/// The document as text (XML in these formats is UTF-8; a BOM and leading whitespace, which
/// some of Strava's TCX files start with, are skipped).
fn text_of(bytes: &[u8]) -> Result<&str, Unreadable> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| Unreadable(format!("the file is not UTF-8 text: {e}")))?;
    Ok(text.trim_start_matches('\u{feff}').trim_start())
}

/// Walk `bytes`, calling `on` with each event's local name path (`stack`), kind and text.
fn walk(bytes: &[u8], mut on: impl FnMut(&[String], Step<'_>) -> bool) -> Result<(), Unreadable> {
    let mut reader = quick_xml::Reader::from_str(text_of(bytes)?);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<String> = Vec::new();
    for _ in 0..MAX_EVENTS {
        let event = reader
            .read_event()
            .map_err(|e| Unreadable(format!("the XML is malformed: {e}")))?;
        match event {
            Event::Start(e) => {
                stack.push(e.local_name().as_ref().to_owned());
                let attrs = attributes(&e);
                if !on(&stack, Step::Open(&attrs)) {
                    return Ok(());
                }
            }
            Event::Empty(e) => {
                stack.push(e.local_name().as_ref().to_owned());
                let attrs = attributes(&e);
                let go = on(&stack, Step::Open(&attrs)) && on(&stack, Step::Close);
                stack.pop();
                if !go {
                    return Ok(());
                }
            }
            Event::Text(t) if !on(&stack, Step::Text(&t.xml10_content())) => return Ok(()),
            Event::End(_) => {
                let go = on(&stack, Step::Close);
                stack.pop();
                if !go {
                    return Ok(());
                }
            }
            Event::Eof => {
                if !stack.is_empty() {
                    return Err(Unreadable("the XML ends early (truncated)".to_owned()));
                }
                return Ok(());
            }
            _ => {}
        }
    }
    Err(Unreadable("the file has too many elements".to_owned()))
}

enum Step<'a> {
    Open(&'a [(String, String)]),
    Text(&'a str),
    Close,
}

fn attributes(e: &quick_xml::events::BytesStart<'_>) -> Vec<(String, String)> {
    e.attributes()
        .filter_map(|a| a.ok())
        .map(|a| {
            (
                a.key.local_name().as_ref().to_owned(),
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map(|v| v.into_owned())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A GPX 1.0/1.1 file: every `trkpt` (and `rtept`) with its time, elevation and the extension
/// leaves `hr`, `cad`, `power`, `atemp`, `speed`.
pub(super) fn decode_gpx(bytes: &[u8]) -> Result<Streams, Unreadable> {
    let mut builder = Builder::default();
    let mut point: Option<Point> = None;
    let mut seen_root = false;
    let mut untimed = 0usize;
    walk(bytes, |stack, step| {
        let name = stack.last().map_or("", String::as_str);
        match step {
            Step::Open(attrs) => {
                if stack.len() == 1 {
                    seen_root = name == "gpx";
                }
                if name == "trkpt" || name == "rtept" {
                    let lat = attr(attrs, "lat").and_then(number);
                    let lon = attr(attrs, "lon").and_then(number);
                    point = Some(Point {
                        time: None,
                        values: vec![(StreamKind::Lat, lat), (StreamKind::Lon, lon)],
                    });
                }
            }
            Step::Text(text) => {
                if name == "type" && point.is_none() && builder.sport.is_none() {
                    builder.sport = Some(text.trim().to_owned());
                }
                if let Some(p) = point.as_mut() {
                    let kind = match name {
                        "time" => {
                            p.time = parse_time(text);
                            None
                        }
                        "ele" => Some(StreamKind::Altitude),
                        "hr" => Some(StreamKind::HeartRate),
                        "cad" => Some(StreamKind::Cadence),
                        "power" | "PowerInWatts" => Some(StreamKind::Power),
                        "atemp" | "wtemp" => Some(StreamKind::Temperature),
                        "speed" => Some(StreamKind::Speed),
                        _ => None,
                    };
                    if let Some(kind) = kind {
                        p.values.push((kind, number(text)));
                    }
                }
            }
            Step::Close => {
                if (name == "trkpt" || name == "rtept")
                    && let Some(p) = point.take()
                {
                    match p.time {
                        Some(t) => return builder.push(t, &p.values),
                        None => untimed += 1,
                    }
                }
            }
        }
        true
    })?;
    if !seen_root {
        return Err(Unreadable("not a GPX document (no <gpx> root)".to_owned()));
    }
    if builder.start().is_none() && untimed > 0 {
        return Err(Unreadable(
            "the GPX track has no times (a planned route, not a recording)".to_owned(),
        ));
    }
    Ok(builder.finish())
}

/// A TCX file: every `Trackpoint` (time, position, altitude, distance, heart rate, cadence,
/// and the `TPX` extension's speed and watts), and every `Lap` with its totals.
pub(super) fn decode_tcx(bytes: &[u8]) -> Result<Streams, Unreadable> {
    let mut builder = Builder::default();
    let mut point: Option<Point> = None;
    let mut laps: Vec<(f64, Lap)> = Vec::new();
    let mut in_lap = false;
    let mut seen_root = false;
    walk(bytes, |stack, step| {
        let name = stack.last().map_or("", String::as_str);
        let parent = stack
            .len()
            .checked_sub(2)
            .and_then(|i| stack.get(i))
            .map_or("", String::as_str);
        match step {
            Step::Open(attrs) => {
                if stack.len() == 1 {
                    seen_root = name == "TrainingCenterDatabase";
                }
                match name {
                    "Activity" if builder.sport.is_none() => {
                        builder.sport = attr(attrs, "Sport").map(str::to_owned);
                    }
                    "Lap" => {
                        in_lap = true;
                        let start = attr(attrs, "StartTime").and_then(parse_time);
                        if let Some(start) = start {
                            laps.push((start, Lap::default()));
                        }
                    }
                    "Trackpoint" => point = Some(Point::default()),
                    _ => {}
                }
            }
            Step::Text(text) => {
                if let Some(p) = point.as_mut() {
                    let kind = match (parent, name) {
                        (_, "Time") => {
                            p.time = parse_time(text);
                            None
                        }
                        (_, "LatitudeDegrees") => Some(StreamKind::Lat),
                        (_, "LongitudeDegrees") => Some(StreamKind::Lon),
                        (_, "AltitudeMeters") => Some(StreamKind::Altitude),
                        (_, "DistanceMeters") => Some(StreamKind::Distance),
                        ("HeartRateBpm", "Value") => Some(StreamKind::HeartRate),
                        (_, "Cadence" | "RunCadence") => Some(StreamKind::Cadence),
                        (_, "Watts") => Some(StreamKind::Power),
                        (_, "Speed") => Some(StreamKind::Speed),
                        _ => None,
                    };
                    if let Some(kind) = kind {
                        p.values.push((kind, number(text)));
                    }
                } else if in_lap && let Some((_, lap)) = laps.last_mut() {
                    let value = number(text);
                    match (parent, name) {
                        ("Lap", "TotalTimeSeconds") => lap.elapsed_s = value.unwrap_or(0.0),
                        ("Lap", "DistanceMeters") => lap.distance_m = value,
                        ("AverageHeartRateBpm", "Value") => lap.avg_heart_rate = value,
                        ("MaximumHeartRateBpm", "Value") => lap.max_heart_rate = value,
                        ("LX", "AvgSpeed") => lap.avg_speed_mps = value,
                        ("LX", "AvgWatts") => lap.avg_power_w = value,
                        _ => {}
                    }
                }
            }
            Step::Close => match name {
                "Trackpoint" => {
                    if let Some(p) = point.take()
                        && let Some(t) = p.time
                    {
                        return builder.push(t, &p.values);
                    }
                }
                "Lap" => in_lap = false,
                _ => {}
            },
        }
        true
    })?;
    if !seen_root {
        return Err(Unreadable(
            "not a TCX document (no <TrainingCenterDatabase> root)".to_owned(),
        ));
    }
    let start = builder.start();
    let mut streams = builder.finish();
    streams.laps = laps
        .into_iter()
        .map(|(at, mut lap)| {
            lap.start_s = start.map_or(0.0, |s| (at - s as f64).max(0.0));
            lap
        })
        .collect();
    Ok(streams)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const GPX: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"
     xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">
 <trk><name>Morning Run</name><trkseg>
  <trkpt lat="48.8566" lon="2.3522"><ele>35.2</ele><time>2026-11-01T07:00:00Z</time>
   <extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>121</gpxtpx:hr><gpxtpx:cad>84</gpxtpx:cad></gpxtpx:TrackPointExtension></extensions></trkpt>
  <trkpt lat="48.8567" lon="2.3524"><ele>35.6</ele><time>2026-11-01T07:00:01Z</time>
   <extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>123</gpxtpx:hr></gpxtpx:TrackPointExtension></extensions></trkpt>
 </trkseg></trk>
</gpx>"#;

    const TCX: &str = r#"

   <?xml version="1.0" encoding="UTF-8"?>
<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"
  xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2">
 <Activities><Activity Sport="Biking"><Id>2026-11-01T07:00:00Z</Id>
  <Lap StartTime="2026-11-01T07:00:00Z"><TotalTimeSeconds>2.0</TotalTimeSeconds><DistanceMeters>16.0</DistanceMeters>
   <AverageHeartRateBpm><Value>130</Value></AverageHeartRateBpm><MaximumHeartRateBpm><Value>140</Value></MaximumHeartRateBpm>
   <Track>
    <Trackpoint><Time>2026-11-01T07:00:00Z</Time><Position><LatitudeDegrees>45.0</LatitudeDegrees><LongitudeDegrees>6.0</LongitudeDegrees></Position>
     <AltitudeMeters>1000</AltitudeMeters><DistanceMeters>0</DistanceMeters><HeartRateBpm><Value>128</Value></HeartRateBpm><Cadence>90</Cadence>
     <Extensions><ns3:TPX><ns3:Speed>8.0</ns3:Speed><ns3:Watts>210</ns3:Watts></ns3:TPX></Extensions></Trackpoint>
    <Trackpoint><Time>2026-11-01T07:00:02Z</Time><HeartRateBpm><Value>132</Value></HeartRateBpm>
     <Extensions><ns3:TPX><ns3:Watts>230</ns3:Watts></ns3:TPX></Extensions></Trackpoint>
   </Track></Lap>
  <Lap StartTime="2026-11-01T07:00:02Z"><TotalTimeSeconds>1</TotalTimeSeconds><Track/></Lap>
 </Activity></Activities>
</TrainingCenterDatabase>"#;

    #[test]
    fn gpx_points_with_extension_heart_rate() {
        let s = decode_gpx(GPX.as_bytes()).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.get(StreamKind::Time), Some(&[0.0, 1.0][..]));
        assert_eq!(s.get(StreamKind::HeartRate), Some(&[121.0, 123.0][..]));
        assert_eq!(s.get(StreamKind::Lat).unwrap()[1], 48.8567);
        let cad = s.get(StreamKind::Cadence).unwrap();
        assert_eq!(cad[0], 84.0);
        assert!(cad[1].is_nan());
        assert!(s.has_track());
        assert_eq!(s.start, Some(1_793_516_400));
    }

    #[test]
    fn tcx_with_leading_whitespace_laps_and_watts() {
        let s = decode_tcx(TCX.as_bytes()).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.get(StreamKind::Power), Some(&[210.0, 230.0][..]));
        assert_eq!(s.get(StreamKind::HeartRate), Some(&[128.0, 132.0][..]));
        assert_eq!(s.laps.len(), 2);
        assert_eq!(s.laps[0].avg_heart_rate, Some(130.0));
        assert_eq!(s.laps[0].max_heart_rate, Some(140.0));
        assert_eq!(s.laps[0].distance_m, Some(16.0));
        assert_eq!(s.laps[1].start_s, 2.0);
    }

    #[test]
    fn a_route_without_times_and_wrong_roots_are_refused() {
        let route = r#"<gpx><rte><rtept lat="1" lon="2"/></rte></gpx>"#;
        assert!(
            decode_gpx(route.as_bytes())
                .unwrap_err()
                .0
                .contains("no times")
        );
        assert!(
            decode_gpx(TCX.as_bytes())
                .unwrap_err()
                .0
                .contains("not a GPX")
        );
        assert!(
            decode_tcx(GPX.as_bytes())
                .unwrap_err()
                .0
                .contains("not a TCX")
        );
        let cut = &GPX[..GPX.len() / 2];
        assert!(decode_gpx(cut.as_bytes()).is_err());
        assert!(decode_gpx(b"\xff\xfe<gpx").is_err());
    }

    #[test]
    fn an_indoor_tcx_without_positions_is_valid() {
        let tcx = r#"<TrainingCenterDatabase><Activities><Activity><Lap StartTime="2026-01-01T00:00:00Z"><Track>
          <Trackpoint><Time>2026-01-01T00:00:00Z</Time><HeartRateBpm><Value>100</Value></HeartRateBpm></Trackpoint>
        </Track></Lap></Activity></Activities></TrainingCenterDatabase>"#;
        let s = decode_tcx(tcx.as_bytes()).unwrap();
        assert_eq!(s.len(), 1);
        assert!(!s.has_track());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn xml_decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048), cut in 0usize..4000, flip in any::<u8>()) {
            let _ = decode_gpx(&bytes);
            let _ = decode_tcx(&bytes);
            for doc in [GPX, TCX] {
                let mut b = doc.as_bytes().to_vec();
                let at = cut % b.len();
                b[at] ^= flip;
                let _ = decode_gpx(&b);
                let _ = decode_tcx(&b);
                let _ = decode_gpx(&b[..at]);
                let _ = decode_tcx(&b[..at]);
            }
        }
    }
}
