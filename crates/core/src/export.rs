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

use crate::domain::ProviderKind;
use crate::library::{ActivityFilter, Order, PageRequest};
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
}

impl std::str::FromStr for ExportFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "csv" => Ok(Self::Csv),
            "json" => Ok(Self::Json),
            "sqlite" => Ok(Self::Sqlite),
            other => Err(Error::Validation(format!(
                "unknown export format '{other}' (expected csv, json or sqlite)"
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
        ExportFormat::Csv => {
            let partial = builder().tempdir_in(&dir).map_err(io_err)?;
            let counts = csv(store, partial.path()).await?;
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
            order: Order::OldestFirst,
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
    primary_provider: ProviderKind,
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
