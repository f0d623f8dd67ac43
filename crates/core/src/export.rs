//! Export: the athlete's data out, in three shapes. Nothing here holds a secret (tokens and
//! client secrets live in the keyring, never in the database).
//!
//! - `sqlite`: a consistent copy of the whole database (`VACUUM INTO`, safe beside a running
//!   sync: it reads one snapshot).
//! - `json`: one document with the connections, the sync history, the workouts and every
//!   activity with its raw payload, written row batch by row batch (a 100,000-activity library
//!   never sits in memory whole).
//! - `csv`: a directory with `activities.csv` (one row per copy, with its workout) and
//!   `workouts.csv` (one row per workout: the counted copy and its sources), for spreadsheets.
//!
//! Each is written beside its destination and renamed into place when complete, and never
//! overwrites: an existing destination is refused.

use crate::domain::Source;
use crate::library::{ActivityFilter, Order, PageRequest, SortKey};
use crate::recording::files::OriginalFiles;
use crate::recording::{FileFormat, StreamKind, Streams};
use crate::store::Store;
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The shapes [`export`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// A directory of CSV files.
    Csv,
    /// One JSON document.
    Json,
    /// A copy of the database.
    Sqlite,
    /// A directory of every original file as it came, a GPX for copies with streams and no
    /// file, and `manifest.json` / `manifest.csv`.
    Originals,
}

impl std::str::FromStr for ExportFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "csv" => Ok(Self::Csv),
            "json" => Ok(Self::Json),
            "sqlite" => Ok(Self::Sqlite),
            "originals" => Ok(Self::Originals),
            other => Err(Error::Validation(format!(
                "unknown export format '{other}' (expected csv, json, sqlite or originals)"
            ))),
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Exported {
    /// The format.
    pub format: ExportFormat,
    /// Where (a file, or a directory for CSV).
    pub path: String,
    /// Activities written.
    pub activities: i64,
    /// Workouts (sessions counted once) written.
    pub workouts: i64,
}

/// Rows per read while streaming.
const BATCH: u32 = 500;

/// Write the athlete's data to `out` as `format`.
pub async fn export(
    store: &Store,
    files: &OriginalFiles,
    format: ExportFormat,
    out: &Path,
    now: DateTime<Utc>,
) -> Result<Exported> {
    let exists = || {
        Error::Validation(format!(
            "{} already exists; choose a new path (an export never overwrites)",
            out.display()
        ))
    };
    if tokio::fs::symlink_metadata(out).await.is_ok() {
        return Err(exists()); // early, before the work; the move below checks again, atomically
    }
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    // Written under a name of its own, created exclusively: nothing already there (a file, a
    // folder, a link someone planted at a predictable name) is ever opened or deleted.
    let prefix = format!(
        ".{}.",
        out.file_name().unwrap_or_default().to_string_lossy()
    );
    let builder = || {
        let mut b = tempfile::Builder::new();
        b.prefix(&prefix).suffix(".partial");
        b
    };
    let io_err = |e: std::io::Error| Error::io(format!("cannot write in {}", dir.display()), e);
    let (activities, workouts) = match format {
        ExportFormat::Csv | ExportFormat::Originals => {
            let partial = builder().tempdir_in(&dir).map_err(io_err)?;
            let counts = match format {
                ExportFormat::Csv => csv(store, partial.path()).await?,
                _ => originals(store, files, partial.path()).await?,
            };
            // A folder cannot be linked: rename, which fails onto a file or a non-empty folder
            // (at worst it takes the place of an empty folder made meanwhile, losing nothing).
            let path = partial.keep();
            if tokio::fs::symlink_metadata(out).await.is_ok() {
                let _ = tokio::fs::remove_dir_all(&path).await;
                return Err(exists());
            }
            if let Err(e) = tokio::fs::rename(&path, out).await {
                let _ = tokio::fs::remove_dir_all(&path).await;
                return Err(Error::io(
                    format!("cannot move the export to {}", out.display()),
                    e,
                ));
            }
            counts
        }
        ExportFormat::Sqlite | ExportFormat::Json => {
            let partial = builder().tempfile_in(&dir).map_err(io_err)?;
            let counts = match format {
                // VACUUM INTO accepts an existing empty file.
                ExportFormat::Sqlite => sqlite(store, partial.path()).await?,
                _ => json(store, partial.path(), now).await?,
            };
            partial.persist_noclobber(out).map_err(|e| {
                if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                    exists()
                } else {
                    Error::io(
                        format!("cannot move the export to {}", out.display()),
                        e.error,
                    )
                }
            })?;
            counts
        }
    };
    Ok(Exported {
        format,
        path: out.display().to_string(),
        activities,
        workouts,
    })
}

async fn sqlite(store: &Store, to: &Path) -> Result<(i64, i64)> {
    let counts = crate::store::activities::count_and_counted(store.pool()).await?;
    crate::store::vacuum_into(store.pool(), to).await?;
    Ok(counts)
}

/// A file writer on a blocking thread's terms: the export writes through a `BufWriter` from
/// async code in small pieces, which is cheap enough not to need `spawn_blocking` per row.
fn create(path: &Path) -> Result<std::io::BufWriter<std::fs::File>> {
    let file = std::fs::File::create(path)
        .map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
    Ok(std::io::BufWriter::new(file))
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(format!("cannot write {}", path.display()), e)
}

fn encode(e: serde_json::Error) -> Error {
    Error::Internal(format!("cannot encode the export: {e}"))
}

// The exported row is read by the store as it is written out: its shape lives there, so that the
// store does not depend on the export.
use crate::store::activities::ActivityRecord as ActivityOut;

/// The activities with `id > after`, a batch, by id.
async fn activity_batch(store: &Store, after: i64) -> Result<Vec<ActivityOut>> {
    crate::store::activities::export_batch(store.pool(), after, i64::from(BATCH)).await
}

async fn json(store: &Store, to: &Path, now: DateTime<Utc>) -> Result<(i64, i64)> {
    let connections =
        crate::store::connections::list(store.pool(), crate::domain::DEFAULT_ATHLETE_ID).await?;
    let mut runs = Vec::new();
    for c in &connections {
        runs.extend(crate::store::sync_history::history(store.pool(), c.id, i64::MAX, 0).await?);
    }
    let workouts = crate::store::workouts::list(store.pool()).await?;
    let mut w = create(to)?;
    let err = io(to);
    let head = serde_json::json!({
        "format": "tributary-export",
        "version": 1,
        "exported_at": now,
        "connections": connections,
        "sync_history": runs,
        "workouts": workouts.iter().map(|(id, primary, pinned)| serde_json::json!({
            "id": id, "primary_activity_id": primary, "primary_chosen_by_you": pinned,
        })).collect::<Vec<_>>(),
    });
    // The head object without its closing brace, then the activities array streamed in.
    let head = serde_json::to_string(&head).map_err(encode)?;
    let head = head.strip_suffix('}').unwrap_or(&head);
    w.write_all(head.as_bytes()).map_err(&err)?;
    w.write_all(b",\"activities\":[").map_err(&err)?;
    let (mut after, mut written, mut counted) = (0, 0_i64, 0_i64);
    loop {
        let batch = activity_batch(store, after).await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        for a in batch {
            if written > 0 {
                w.write_all(b",").map_err(&err)?;
            }
            let raw: serde_json::Value =
                serde_json::from_str(a.raw_json.as_deref().unwrap_or("null"))
                    .unwrap_or(serde_json::Value::Null);
            let mut value = serde_json::to_value(&a).map_err(encode)?;
            value["raw"] = raw;
            serde_json::to_writer(&mut w, &value).map_err(encode)?;
            written += 1;
            counted += i64::from(a.counted);
        }
    }
    w.write_all(b"]}\n").map_err(&err)?;
    w.flush().map_err(&err)?;
    Ok((written, counted))
}

async fn csv(store: &Store, dir: &Path) -> Result<(i64, i64)> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    // Activities: every copy, with its workout.
    let path = dir.join("activities.csv");
    let err = io(&path);
    let mut out = csv::Writer::from_writer(create(&path)?);
    let (mut after, mut written) = (0, 0_i64);
    loop {
        let batch = activity_batch(store, after).await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        for a in batch {
            out.serialize(&a)
                .map_err(|e| Error::io(format!("cannot write {}", path.display()), e.into()))?;
            written += 1;
        }
    }
    out.flush().map_err(&err)?;
    // Workouts: one row per session (its counted copy), with its sources.
    let path = dir.join("workouts.csv");
    let err = io(&path);
    let mut out = csv::Writer::from_writer(create(&path)?);
    let (mut page, mut counted) = (
        PageRequest {
            after: None,
            limit: BATCH,
            sort: SortKey::Start,
            order: Order::Ascending,
        },
        0_i64,
    );
    loop {
        let listing = crate::library::workouts(store, &ActivityFilter::default(), &page).await?;
        for r in &listing.items {
            let sources = |f: &dyn Fn(&crate::library::CopyRef) -> String| {
                r.copies.iter().map(f).collect::<Vec<_>>().join(" ")
            };
            out.serialize(WorkoutOut {
                workout_id: r.workout_id,
                primary_activity_id: r.id,
                primary_provider: r.provider,
                sport: r.sport.as_str(),
                name: r.name.as_deref(),
                start_utc: r.start_utc,
                elapsed_seconds: r.elapsed_seconds,
                moving_seconds: r.moving_seconds,
                distance_m: r.distance_m,
                elevation_gain_m: r.elevation_gain_m,
                providers: sources(&|c| c.provider.as_str().to_owned()),
                activity_ids: sources(&|c| c.activity_id.to_string()),
                link_reasons: r
                    .copies
                    .iter()
                    .filter_map(|c| c.reason.clone())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join("; "),
            })
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e.into()))?;
            counted += 1;
        }
        match listing.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    out.flush().map_err(&err)?;
    Ok((written, counted))
}

#[derive(Serialize)]
struct WorkoutOut<'a> {
    workout_id: Option<i64>,
    primary_activity_id: i64,
    primary_provider: Source,
    sport: &'a str,
    name: Option<&'a str>,
    start_utc: DateTime<Utc>,
    elapsed_seconds: Option<i64>,
    moving_seconds: Option<i64>,
    distance_m: Option<f64>,
    elevation_gain_m: Option<f64>,
    /// Every source, space-separated (the primary first).
    providers: String,
    /// Their activity ids, in the same order.
    activity_ids: String,
    /// Why they are one workout.
    link_reasons: String,
}

/// Write `bytes` to `to`, a new file (an existing one is never replaced): written beside it
/// under a name of its own, then moved into place.
pub async fn write_new(to: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut partial = tempfile::Builder::new()
        .prefix(".tributary-")
        .suffix(".partial")
        .tempfile_in(&dir)
        .map_err(|e| Error::io(format!("cannot write in {}", dir.display()), e))?;
    partial
        .write_all(bytes)
        .and_then(|()| partial.as_file().sync_all())
        .map_err(|e| Error::io(format!("cannot write {}", to.display()), e))?;
    partial.persist_noclobber(to).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Validation(format!(
                "{} already exists; choose a new name (nothing is overwritten)",
                to.display()
            ))
        } else {
            Error::io(format!("cannot write {}", to.display()), e.error)
        }
    })?;
    Ok(())
}

/// One line of the originals manifest.
#[derive(Serialize)]
struct ManifestLine {
    activity_id: i64,
    provider: String,
    provider_activity_id: String,
    start_utc: DateTime<Utc>,
    /// The file's name in the export (empty when none could be written).
    file: String,
    /// The original's SHA-256 (empty for a GPX written from streams).
    sha256: String,
    /// fit, gpx, tcx, unknown; `gpx (from streams)` for a written one.
    format: String,
}

/// A file name part from a provider's id: letters, digits, `-` and `_` only.
fn safe_name(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect()
}

/// Every original, and a GPX for copies that have streams but no file.
async fn originals(store: &Store, files: &OriginalFiles, dir: &Path) -> Result<(i64, i64)> {
    let rows = crate::store::recordings::exportable(store.pool()).await?;
    let mut manifest = Vec::with_capacity(rows.len());
    let mut written = 0_i64;
    for row in rows {
        let base = format!(
            "{}-{}",
            safe_name(&row.provider),
            safe_name(&row.provider_activity_id)
        );
        let (file, sha256, format) = match (&row.sha256, &row.streams) {
            (Some(sha), _) => {
                let format = FileFormat::parse(row.format.as_deref().unwrap_or(""));
                let name = format!("{base}.{}", format.extension());
                let bytes = files.read(sha).await?;
                std::fs::write(dir.join(&name), &bytes).map_err(io(&dir.join(&name)))?;
                (name, sha.clone(), format.as_str().to_owned())
            }
            (None, Some(packed)) => {
                let streams = crate::recording::codec::decode(packed)?;
                match gpx_of(&streams) {
                    Some(text) => {
                        let name = format!("{base}.gpx");
                        std::fs::write(dir.join(&name), text).map_err(io(&dir.join(&name)))?;
                        (name, String::new(), "gpx (from streams)".to_owned())
                    }
                    None => (
                        String::new(),
                        String::new(),
                        "streams without positions".to_owned(),
                    ),
                }
            }
            (None, None) => continue,
        };
        if !file.is_empty() {
            written += 1;
        }
        manifest.push(ManifestLine {
            activity_id: row.activity_id,
            provider: row.provider,
            provider_activity_id: row.provider_activity_id,
            start_utc: crate::store::from_ms(row.start_utc),
            file,
            sha256,
            format,
        });
    }
    let path = dir.join("manifest.json");
    let mut out = create(&path)?;
    serde_json::to_writer_pretty(&mut out, &manifest).map_err(encode)?;
    out.flush().map_err(io(&path))?;
    let path = dir.join("manifest.csv");
    let mut out = csv::Writer::from_writer(create(&path)?);
    for line in &manifest {
        out.serialize(line)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e.into()))?;
    }
    out.flush().map_err(io(&path))?;
    Ok((written, manifest.len() as i64))
}

/// A GPX 1.1 track of the samples that have a position (heart rate, cadence and power in
/// Garmin's TrackPointExtension); None when none has.
fn gpx_of(streams: &Streams) -> Option<String> {
    use std::fmt::Write as _;
    let (lat, lon) = (streams.get(StreamKind::Lat)?, streams.get(StreamKind::Lon)?);
    let time = streams.get(StreamKind::Time)?;
    let start = streams.start.unwrap_or(0);
    let ext = |kind| streams.get(kind);
    let (ele, hr, cad, power) = (
        ext(StreamKind::Altitude),
        ext(StreamKind::HeartRate),
        ext(StreamKind::Cadence),
        ext(StreamKind::Power),
    );
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gpx version=\"1.1\" creator=\"Tributary\" \
         xmlns=\"http://www.topografix.com/GPX/1/1\" \
         xmlns:gpxtpx=\"http://www.garmin.com/xmlschemas/TrackPointExtension/v1\">\n<trk><trkseg>\n",
    );
    let mut points = 0;
    for (i, offset) in time.iter().enumerate() {
        let (Some(a), Some(o)) = (lat.get(i), lon.get(i)) else {
            continue;
        };
        if !a.is_finite() || !o.is_finite() {
            continue;
        }
        points += 1;
        let at = chrono::DateTime::from_timestamp_millis(
            start * 1000 + (offset * 1000.0).round() as i64,
        )
        .unwrap_or_default();
        let _ = write!(out, "<trkpt lat=\"{a:.7}\" lon=\"{o:.7}\">");
        if let Some(e) = ele.and_then(|e| e.get(i)).filter(|e| e.is_finite()) {
            let _ = write!(out, "<ele>{e:.1}</ele>");
        }
        let _ = write!(out, "<time>{}</time>", at.format("%Y-%m-%dT%H:%M:%S%.3fZ"));
        let value = |s: Option<&[f64]>| s.and_then(|s| s.get(i)).copied().filter(|v| v.is_finite());
        let (h, c, p) = (value(hr), value(cad), value(power));
        if h.is_some() || c.is_some() || p.is_some() {
            out.push_str("<extensions><gpxtpx:TrackPointExtension>");
            if let Some(h) = h {
                let _ = write!(out, "<gpxtpx:hr>{h:.0}</gpxtpx:hr>");
            }
            if let Some(c) = c {
                let _ = write!(out, "<gpxtpx:cad>{c:.0}</gpxtpx:cad>");
            }
            out.push_str("</gpxtpx:TrackPointExtension>");
            if let Some(p) = p {
                let _ = write!(out, "<power>{p:.0}</power>");
            }
            out.push_str("</extensions>");
        }
        out.push_str("</trkpt>\n");
    }
    out.push_str("</trkseg></trk>\n</gpx>\n");
    (points > 0).then_some(out)
}
