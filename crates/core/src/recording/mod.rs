//! Recordings: an activity's original file and the streams and laps decoded from it.
//!
//! - [`decode`] reads a FIT, GPX or TCX file (recognised by its content, not its name; gzip and a
//!   ZIP holding one file are unwrapped) into [`Streams`]: named series over time, and laps.
//!   Every decoder takes untrusted bytes: a bad file is an [`Unreadable`] with a reason, never a
//!   panic (property tests over each).
//! - [`codec`] packs streams compactly for the database (and back).
//! - [`files`] keeps originals content-addressed on disk.
//! - [`queue`] downloads each connection's recordings within the provider's budget.
//! - [`view`] shapes a recording for the screen (downsampled).

pub mod codec;
pub mod files;
mod fit;
pub mod kept;
pub mod queue;
pub mod view;
mod wrap;
mod xml;

use serde::{Deserialize, Serialize};

/// The largest original file kept (a 24-hour FIT at 1 Hz with every sensor is ~10 MiB): a
/// larger one is refused as a clear outcome, never read whole into memory beyond this.
pub const MAX_FILE: usize = 64 << 20;

/// The most samples one recording keeps (a week at 1 Hz): every loop over a file is bounded.
pub const MAX_POINTS: usize = 7 * 24 * 3600;

/// What an original file is, by its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum FileFormat {
    /// Garmin's Flexible and Interoperable Data Transfer.
    Fit,
    /// GPS Exchange Format.
    Gpx,
    /// Garmin's Training Center XML.
    Tcx,
    /// Not recognised (kept as it came, marked unreadable).
    Unknown,
}

impl FileFormat {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fit => "fit",
            Self::Gpx => "gpx",
            Self::Tcx => "tcx",
            Self::Unknown => "unknown",
        }
    }

    /// From the stored text (anything else reads as unknown).
    pub fn parse(text: &str) -> Self {
        match text {
            "fit" => Self::Fit,
            "gpx" => Self::Gpx,
            "tcx" => Self::Tcx,
            _ => Self::Unknown,
        }
    }

    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Unknown => "bin",
            known => known.as_str(),
        }
    }

    /// Recognise `bytes` by their content: a FIT header (`.FIT` at byte 8), or XML whose root
    /// is `<gpx` or `<TrainingCenterDatabase` (after whitespace, a BOM, comments).
    pub fn sniff(bytes: &[u8]) -> Self {
        if bytes.len() >= 12 && &bytes[8..12] == b".FIT" {
            return Self::Fit;
        }
        let head = &bytes[..bytes.len().min(4096)];
        let text = String::from_utf8_lossy(head);
        if text.contains("<gpx") {
            Self::Gpx
        } else if text.contains("<TrainingCenterDatabase") {
            Self::Tcx
        } else {
            Self::Unknown
        }
    }
}

/// One kind of series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum StreamKind {
    /// Seconds since the recording's start.
    Time,
    /// Latitude, degrees.
    Lat,
    /// Longitude, degrees.
    Lon,
    /// Altitude, metres.
    Altitude,
    /// Heart rate, beats per minute.
    HeartRate,
    /// Cadence, revolutions (or steps of one foot) per minute.
    Cadence,
    /// Power, watts.
    Power,
    /// Speed, metres per second.
    Speed,
    /// Distance since the start, metres.
    Distance,
    /// Temperature, degrees Celsius.
    Temperature,
}

impl StreamKind {
    /// Every kind, in the order they are stored and shown.
    pub const ALL: [Self; 10] = [
        Self::Time,
        Self::Lat,
        Self::Lon,
        Self::Altitude,
        Self::HeartRate,
        Self::Cadence,
        Self::Power,
        Self::Speed,
        Self::Distance,
        Self::Temperature,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Time => "time",
            Self::Lat => "lat",
            Self::Lon => "lon",
            Self::Altitude => "altitude",
            Self::HeartRate => "heart_rate",
            Self::Cadence => "cadence",
            Self::Power => "power",
            Self::Speed => "speed",
            Self::Distance => "distance",
            Self::Temperature => "temperature",
        }
    }

    /// Its unit.
    pub fn unit(self) -> &'static str {
        match self {
            Self::Time => "s",
            Self::Lat | Self::Lon => "deg",
            Self::Altitude | Self::Distance => "m",
            Self::HeartRate => "bpm",
            Self::Cadence => "rpm",
            Self::Power => "W",
            Self::Speed => "m/s",
            Self::Temperature => "°C",
        }
    }

    /// Whether it needs more than single precision (coordinates: f32 is ~2 m at 180°).
    pub(crate) fn wide(self) -> bool {
        matches!(self, Self::Lat | Self::Lon | Self::Time | Self::Distance)
    }

    /// The plausible range; a value outside it (a sensor glitch, garbage) is dropped as absent.
    pub(crate) fn plausible(self, v: f64) -> bool {
        v.is_finite()
            && match self {
                Self::Time => (0.0..=31.0 * 24.0 * 3600.0).contains(&v),
                Self::Lat => (-90.0..=90.0).contains(&v),
                Self::Lon => (-180.0..=180.0).contains(&v),
                Self::Altitude => (-500.0..=9_000.0).contains(&v),
                Self::HeartRate => (20.0..=260.0).contains(&v),
                Self::Cadence => (0.0..=300.0).contains(&v),
                Self::Power => (0.0..=4_000.0).contains(&v),
                Self::Speed => (0.0..=150.0).contains(&v),
                Self::Distance => (0.0..=2_000_000.0).contains(&v),
                Self::Temperature => (-60.0..=70.0).contains(&v),
            }
    }
}

/// A lap (or a FIT session when the file has no laps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Lap {
    /// Seconds from the recording's start to the lap's.
    pub start_s: f64,
    /// Elapsed seconds.
    pub elapsed_s: f64,
    /// Metres, when known.
    pub distance_m: Option<f64>,
    /// Average heart rate.
    pub avg_heart_rate: Option<f64>,
    /// Highest heart rate.
    pub max_heart_rate: Option<f64>,
    /// Average power, watts.
    pub avg_power_w: Option<f64>,
    /// Average speed, metres per second.
    pub avg_speed_mps: Option<f64>,
}

/// Decoded streams: equally long columns (NaN where a sample has no value), and laps.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Streams {
    /// When the recording starts (Unix seconds), when the file says.
    pub start: Option<i64>,
    /// The columns, `Time` first; only kinds with at least one value.
    pub series: Vec<(StreamKind, Vec<f64>)>,
    /// Laps.
    pub laps: Vec<Lap>,
    /// The file's own word for the sport (FIT's session sport, TCX's `Sport`, GPX's `type`),
    /// not kept in packed streams: an import reads it once.
    pub sport: Option<String>,
    /// The local time's offset from UTC, seconds, when the file says (a FIT's `activity`
    /// message gives its local time beside UTC).
    pub utc_offset: Option<i32>,
}

impl Streams {
    /// Samples per series.
    pub fn len(&self) -> usize {
        self.series.first().map_or(0, |(_, v)| v.len())
    }

    /// Whether it holds no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One series.
    pub fn get(&self, kind: StreamKind) -> Option<&[f64]> {
        self.series
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| v.as_slice())
    }

    /// Whether it has a position track.
    pub fn has_track(&self) -> bool {
        self.get(StreamKind::Lat)
            .is_some_and(|v| v.iter().any(|x| x.is_finite()))
    }

    /// Each series' shape, for listings (`tributary show`).
    pub fn index(&self) -> Vec<SeriesInfo> {
        self.series
            .iter()
            .map(|(kind, values)| SeriesInfo {
                name: *kind,
                unit: kind.unit().to_owned(),
                samples: values.iter().filter(|v| v.is_finite()).count() as u32,
            })
            .collect()
    }
}

/// One series' name, unit and how many samples hold a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SeriesInfo {
    /// Which series.
    pub name: StreamKind,
    /// Its unit.
    pub unit: String,
    /// Samples with a value.
    pub samples: u32,
}

/// Samples gathered one at a time, turned into equally long columns at the end (the decoders
/// share it).
#[derive(Debug, Default)]
pub(crate) struct Builder {
    start: Option<i64>,
    rows: Vec<[f64; 10]>,
    pub laps: Vec<Lap>,
    pub sport: Option<String>,
    pub utc_offset: Option<i32>,
}

impl Builder {
    /// A sample at Unix time `t` (seconds, may be fractional); values NaN where absent.
    /// Returns false once the recording is full (the caller stops).
    pub fn push(&mut self, t: f64, values: &[(StreamKind, Option<f64>)]) -> bool {
        if self.rows.len() >= MAX_POINTS || !t.is_finite() {
            return self.rows.len() < MAX_POINTS;
        }
        let start = *self.start.get_or_insert(t.floor() as i64);
        let mut row = [f64::NAN; 10];
        row[0] = t - start as f64;
        for (kind, value) in values {
            if let Some(v) = value.filter(|v| kind.plausible(*v)) {
                row[*kind as usize] = v;
            }
        }
        if !StreamKind::Time.plausible(row[0]) {
            return true; // before the start, or absurdly late: skip this sample
        }
        self.rows.push(row);
        true
    }

    /// The recording's start (Unix seconds), once a sample is in.
    pub fn start(&self) -> Option<i64> {
        self.start
    }

    /// The columns (time ascending; kinds without any value left out).
    pub fn finish(mut self) -> Streams {
        // Samples can come out of order (merged sensors, a clock step): order by time, stably.
        // Nearly always they are in order already, and checking is cheaper than sorting.
        if !self.rows.is_sorted_by(|a, b| a[0] <= b[0]) {
            self.rows.sort_by(|a, b| a[0].total_cmp(&b[0]));
        }
        let series = StreamKind::ALL
            .iter()
            .filter(|k| {
                **k == StreamKind::Time || self.rows.iter().any(|r| r[**k as usize].is_finite())
            })
            .map(|k| (*k, self.rows.iter().map(|r| r[*k as usize]).collect()))
            .collect();
        Streams {
            start: self.start,
            series,
            laps: self.laps,
            sport: self.sport,
            utc_offset: self.utc_offset,
        }
    }
}

/// Why a file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable(pub String);

impl Unreadable {
    /// Whether the file was read and is no activity (a FIT of monitoring, sleep or settings):
    /// an import skips it rather than refusing it.
    pub fn not_an_activity(&self) -> bool {
        self.0.ends_with(fit::NOT_AN_ACTIVITY)
    }
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A file as it is kept: the original's bytes (unwrapped from gzip or a one-file ZIP) and what
/// they are.
#[derive(Debug, Clone)]
pub struct Original {
    /// The file itself.
    pub bytes: Vec<u8>,
    /// What it is.
    pub format: FileFormat,
}

/// Unwrap what a provider or an archive wrapped the original in (gzip; a ZIP with the file),
/// then recognise it. A wrapper that is broken is an error: there is no original to keep.
pub fn unwrap(bytes: Vec<u8>) -> Result<Original, Unreadable> {
    let bytes = wrap::unwrap(bytes)?;
    let format = FileFormat::sniff(&bytes);
    Ok(Original { bytes, format })
}

/// Decode an original into streams and laps.
pub fn decode(original: &Original) -> Result<Streams, Unreadable> {
    let streams = match original.format {
        FileFormat::Fit => fit::decode(&original.bytes)?,
        FileFormat::Gpx => xml::decode_gpx(&original.bytes)?,
        FileFormat::Tcx => xml::decode_tcx(&original.bytes)?,
        FileFormat::Unknown => {
            return Err(Unreadable(
                "not a FIT, GPX or TCX file (its content is not one of them)".to_owned(),
            ));
        }
    };
    Ok(streams)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_recognised_by_content_not_name() {
        let mut fit = vec![14u8, 0x20, 0, 0, 0, 0, 0, 0];
        fit.extend_from_slice(b".FIT");
        assert_eq!(FileFormat::sniff(&fit), FileFormat::Fit);
        assert_eq!(
            FileFormat::sniff(b"\xEF\xBB\xBF  \n<?xml version=\"1.0\"?><gpx version=\"1.1\">"),
            FileFormat::Gpx
        );
        assert_eq!(
            FileFormat::sniff(b"\n\n   <?xml?>\n<TrainingCenterDatabase xmlns=\"x\">"),
            FileFormat::Tcx
        );
        assert_eq!(FileFormat::sniff(b"PK\x03\x04"), FileFormat::Unknown);
        assert_eq!(FileFormat::sniff(b""), FileFormat::Unknown);
    }

    #[test]
    fn the_builder_orders_samples_and_drops_absurd_values() {
        let mut b = Builder::default();
        b.push(1000.0, &[(StreamKind::HeartRate, Some(120.0))]);
        b.push(1002.0, &[(StreamKind::HeartRate, Some(9_999.0))]);
        b.push(1001.0, &[(StreamKind::HeartRate, Some(f64::NAN))]);
        let s = b.finish();
        assert_eq!(s.get(StreamKind::Time), Some(&[0.0, 1.0, 2.0][..]));
        let hr = s.get(StreamKind::HeartRate).unwrap();
        assert_eq!(hr[0], 120.0);
        assert!(hr[1].is_nan() && hr[2].is_nan());
        assert!(s.get(StreamKind::Power).is_none());
        assert_eq!(s.start, Some(1000));
    }
}
