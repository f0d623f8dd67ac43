//! A recording as the window and `tributary show` read it: which copies of the workout have one,
//! which is shown (the athlete's pinned choice, else the copy with the most samples over the
//! most series), and its streams downsampled for the screen.

use super::codec;
use super::files::OriginalFiles;
use super::queue::Downloader;
use super::{FileFormat, Lap, SeriesInfo, StreamKind};
use crate::domain::Source;
use crate::store::recordings::{RecordingStatus, Row};
use crate::store::{self, Store};
use crate::{Error, Result};
use serde::Serialize;

/// The most samples sent to the screen per series: a chart is ~1,000–2,000 px wide, so more
/// points draw nothing more and cost the webview time.
pub const SCREEN_POINTS: usize = 2_000;

/// One copy's recording, in brief.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CopyRecording {
    /// The copy (activity id).
    pub activity_id: i64,
    /// Its provider.
    pub provider: Source,
    /// Where its recording stands (None: not fetched yet).
    pub status: Option<RecordingStatus>,
    /// `original` or `streams`.
    pub source: Option<String>,
    /// The original's format, when a file is kept.
    pub format: Option<FileFormat>,
    /// The original's SHA-256.
    pub sha256: Option<String>,
    /// The original's size in bytes.
    pub bytes: Option<i64>,
    /// Why there is none, or why it cannot be read.
    pub reason: Option<String>,
    /// Samples.
    pub points: i64,
    /// Its series.
    pub series: Vec<SeriesInfo>,
    /// Laps.
    pub laps: usize,
    /// Whether it has a route.
    pub has_track: bool,
}

/// A series for the screen: one value per kept sample (`null` where the sample has none).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ScreenSeries {
    /// Which.
    pub name: StreamKind,
    /// Unit.
    pub unit: String,
    /// Values, aligned with the `time` series.
    pub values: Vec<Option<f64>>,
}

/// The recording shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Shown {
    /// The copy it comes from.
    pub activity_id: i64,
    /// Its provider.
    pub provider: Source,
    /// Samples in the recording (before downsampling).
    pub points: i64,
    /// The series, `time` first, downsampled alike (one cursor index fits all, map included).
    pub series: Vec<ScreenSeries>,
    /// Laps.
    pub laps: Vec<Lap>,
}

/// What the detail view gets.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RecordingDetail {
    /// Every copy of the workout (the activity alone when it is not linked).
    pub copies: Vec<CopyRecording>,
    /// The recording shown, if any copy has one.
    pub shown: Option<Shown>,
    /// Whether the athlete chose the copy shown.
    pub chosen: bool,
    /// Why a missing recording could not be fetched on opening (a rate limit, offline).
    pub fetch_error: Option<String>,
}

fn brief(activity_id: i64, provider: Source, row: Option<&Row>) -> CopyRecording {
    let series: Vec<SeriesInfo> = row
        .and_then(|r| r.stream_index.as_deref())
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    let laps = row
        .and_then(|r| r.laps.as_deref())
        .and_then(|t| serde_json::from_str::<Vec<serde_json::Value>>(t).ok())
        .map_or(0, |l| l.len());
    CopyRecording {
        activity_id,
        provider,
        status: row.map(Row::status),
        source: row.and_then(|r| r.source.clone()),
        format: row.and_then(|r| r.format.as_deref()).map(FileFormat::parse),
        sha256: row.and_then(|r| r.sha256.clone()),
        bytes: row.and_then(|r| r.bytes),
        reason: row.and_then(|r| r.reason.clone()),
        points: row.map_or(0, |r| r.points),
        series,
        laps,
        has_track: row.is_some_and(|r| r.has_track),
    }
}

/// The richness of a copy's recording: samples times series (a FIT with power beats a GPX).
/// `-1` for a copy without a decoded recording.
fn richness(copy: &CopyRecording) -> i64 {
    match copy.status {
        Some(RecordingStatus::Stored) => copy.points.max(1) * (copy.series.len() as i64).max(1),
        _ => -1,
    }
}

/// The recording detail of activity `id` (showing `copy` when given and valid). A copy whose
/// recording was never fetched is fetched first (one request) when its provider allows it now.
pub async fn detail(
    store: &Store,
    downloader: &Downloader,
    id: i64,
    copy: Option<i64>,
) -> Result<RecordingDetail> {
    let pool = store.pool();
    let workout = store::workouts::workout_of(pool, id)
        .await?
        .ok_or_else(|| Error::not_found(format!("activity {id}")))?;
    let members = match workout {
        Some(w) => store::workouts::members(pool, w).await?,
        None => vec![id],
    };
    let pinned = match workout {
        Some(w) => store::recordings::chosen_copy(pool, w).await?,
        None => None,
    };
    // The copy the athlete asked for (or pinned, or opened) is fetched if it was never tried.
    let wanted = copy
        .filter(|c| members.contains(c))
        .or(pinned)
        .unwrap_or(id);
    let fetch_error = match downloader.fetch_now(wanted).await {
        Ok(_) => None,
        Err(e) => Some(e.to_string()),
    };
    let mut copies = Vec::with_capacity(members.len());
    let mut rows = Vec::with_capacity(members.len());
    for member in &members {
        let Some(activity) = store::activities::get(pool, *member).await? else {
            continue;
        };
        let row = store::recordings::get(pool, *member).await?;
        copies.push(brief(*member, activity.provider, row.as_ref()));
        rows.push(row);
    }
    let chosen_valid = |c: Option<i64>| {
        c.filter(|c| {
            copies
                .iter()
                .any(|x| x.activity_id == *c && x.status == Some(RecordingStatus::Stored))
        })
    };
    let (show, chosen) = match chosen_valid(copy).or(chosen_valid(pinned)) {
        Some(c) => (Some(c), pinned == Some(c)),
        None => (
            copies
                .iter()
                .filter(|c| richness(c) >= 0)
                // Ties (the same samples from two doors) go to a kept file over streams, then
                // to the oldest copy: the same answer from whichever copy the view was opened.
                .max_by_key(|c| (richness(c), c.sha256.is_some(), -c.activity_id))
                .map(|c| c.activity_id),
            false,
        ),
    };
    if let Some(c) = show
        && let Some(i) = copies.iter().position(|x| x.activity_id == c)
    {
        // Laps the recording shown lacks (Strava's streams): one more request, only for what
        // is opened. A failure is not the view's: the streams are shown without laps.
        match downloader.fetch_laps_now(c).await {
            Ok(true) => {
                rows[i] = store::recordings::get(pool, c).await?;
                copies[i] = brief(c, copies[i].provider, rows[i].as_ref());
            }
            Ok(false) => {}
            Err(e) => tracing::info!(activity = c, error = %e, "laps not fetched"),
        }
    }
    let shown = match show {
        Some(c) => {
            let index = copies.iter().position(|x| x.activity_id == c);
            match index
                .and_then(|i| rows[i].as_ref())
                .map(|r| (r, copies[index.unwrap_or(0)].provider))
            {
                Some((row, provider)) => Some(screen(row, provider, downloader.files()).await?),
                None => None,
            }
        }
        None => None,
    };
    Ok(RecordingDetail {
        copies,
        shown,
        chosen,
        fetch_error,
    })
}

/// A stored recording, downsampled for the screen: the provider's packed streams, or the kept
/// original decoded now (a 10-hour ride's FIT: ~22 ms, BENCHMARKS.md).
pub async fn screen(row: &Row, provider: Source, files: &OriginalFiles) -> Result<Shown> {
    let streams = match (&row.streams, &row.sha256) {
        (Some(packed), _) => codec::decode(packed)?,
        (None, Some(sha)) => {
            let original = super::Original {
                bytes: files.read(sha).await?,
                format: FileFormat::parse(row.format.as_deref().unwrap_or("")),
            };
            let decoded = tokio::task::spawn_blocking(move || super::decode(&original))
                .await
                .map_err(|e| Error::Internal(format!("decoding stopped: {e}")))?;
            decoded.map_err(|why| {
                Error::Internal(format!("the kept original no longer decodes: {why}"))
            })?
        }
        (None, None) => super::Streams::default(),
    };
    let laps: Vec<Lap> = row
        .laps
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    let n = streams.len();
    let stride = n.div_ceil(SCREEN_POINTS).max(1);
    let picks: Vec<usize> = (0..n)
        .step_by(stride)
        .chain((n > 0 && (n - 1) % stride != 0).then(|| n - 1))
        .collect();
    let series = streams
        .series
        .iter()
        .map(|(kind, values)| ScreenSeries {
            name: *kind,
            unit: kind.unit().to_owned(),
            values: picks
                .iter()
                .map(|&i| values.get(i).copied().filter(|v| v.is_finite()))
                .collect(),
        })
        .collect();
    Ok(Shown {
        activity_id: row.activity_id,
        provider,
        points: row.points,
        series,
        laps,
    })
}
