//! Import: the archives every provider lets an athlete download, and FIT/GPX/TCX files from a
//! folder or a watch, made into copies like any provider's.
//!
//! A reader thread walks the inputs (`walk`: bounded, streamed, never unpacked to disk), tells
//! each file's layout (`layout`: Strava's bulk export, Garmin's "Export all data", Polar Flow's
//! export, Google Takeout; anything else is a file) and decodes it; the async side keeps each
//! copy in one transaction — the original on disk first, then the copy, its recording, its links
//! and the file's outcome — so a kill at any point leaves every file either done or not started,
//! and a re-run finishes the rest. Every file gets one outcome: `imported` (a new workout),
//! `linked` (joined a workout another source has: exactly, by the provider's id, where the
//! archive gives it; else by time overlap), `duplicate` (the same bytes or the same source id
//! already stored), `skipped` (not an activity), `refused` (why).

pub mod layout;
mod summary;
pub mod walk;

use crate::clock::Clock;
use crate::domain::{NewActivity, Source};
use crate::events::{CoreEvent, EventSink};
use crate::recording::files::{OriginalFiles, sha256_hex};
use crate::recording::kept::Kept;
use crate::recording::{self, FileFormat, Original, Streams, Unreadable};
use crate::store::recordings::{Outcome, RecordingStatus};
use crate::store::{self, Store};
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use walk::Found;

/// What came of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum FileOutcome {
    /// A new workout.
    Imported,
    /// Joined a workout another source already has.
    Linked,
    /// The same bytes, or the same source id, already stored.
    Duplicate,
    /// Not an activity (monitoring, sleep, settings, other data).
    Skipped,
    /// Could not be read; the reason says why.
    Refused,
}

impl FileOutcome {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Imported => "imported",
            Self::Linked => "linked",
            Self::Duplicate => "duplicate",
            Self::Skipped => "skipped",
            Self::Refused => "refused",
        }
    }
}

/// Files by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OutcomeCounts {
    /// New workouts.
    pub imported: i64,
    /// Joined workouts other sources have.
    pub linked: i64,
    /// Already stored.
    pub duplicate: i64,
    /// Not activities.
    pub skipped: i64,
    /// Not readable.
    pub refused: i64,
}

/// A file and its outcome's reason (the refused ones in a report).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FileNote {
    /// Where it was, relative to what was chosen.
    pub path: String,
    /// The layout it was read as.
    pub source: Source,
    /// Why.
    pub reason: Option<String>,
    /// The copy it made or matched, when there is one.
    pub activity_id: Option<i64>,
}

/// How an import stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// Reading.
    Running,
    /// Every file read.
    Finished,
    /// Stopped by the athlete; the files read are kept.
    Cancelled,
    /// Its process was killed; importing the same files again finishes it.
    Interrupted,
}

/// One import: what was chosen, how it ended, the counts, and the refused files with reasons.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImportReport {
    /// Id (to forget it).
    pub id: i64,
    /// The names chosen.
    pub label: String,
    /// How it stands.
    pub status: ImportStatus,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End.
    pub finished_at: Option<DateTime<Utc>>,
    /// Files by outcome.
    pub counts: OutcomeCounts,
    /// The copies it made that are still stored.
    pub copies: i64,
    /// The refused files, with why (the first 500).
    pub refused: Vec<FileNote>,
}

/// Progress of a running import.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImportProgress {
    /// The import.
    pub import_id: i64,
    /// Files with an outcome so far.
    pub files: u64,
    /// Bytes of the inputs read (as they lie on disk).
    pub bytes_done: u64,
    /// Bytes of the inputs in all.
    pub bytes_total: u64,
    /// Seconds left at this pace, once there is a pace.
    pub eta_seconds: Option<u64>,
    /// Files by outcome so far.
    pub counts: OutcomeCounts,
}

/// A recording that comes with a copy.
enum Recording {
    /// A FIT/GPX/TCX original and what decoding it gave.
    File(Original, Streams),
    /// A document read by its own reader (Polar's JSON): kept as it came, its streams packed.
    Document(Vec<u8>, Streams),
    /// None (an exercise list's entry), and why.
    None(&'static str),
}

/// What the reader thread hands over for one file. A copy is larger than the other items;
/// at most eight wait in the channel, so boxing it would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Item {
    Copy {
        path: String,
        source: Source,
        summary: NewActivity,
        recording: Recording,
    },
    Keep {
        path: String,
        source: Source,
        bytes: Vec<u8>,
        reason: &'static str,
    },
    Note {
        path: String,
        source: Source,
        outcome: FileOutcome,
        reason: String,
    },
    /// The inputs' size on disk, measured before the walk.
    Total(u64),
    /// This many bytes of the inputs are read.
    Done(u64),
}

/// The reader's knowledge of the layouts met so far: Strava's lists by the folder they are in.
#[derive(Default)]
struct Reader {
    strava: Vec<(String, HashMap<String, layout::StravaRow>)>,
}

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

impl Reader {
    /// The layout `path` belongs to and, in Strava's export, its line of the list.
    fn source_of(&self, path: &str) -> (Source, Option<layout::StravaRow>) {
        if let Some((prefix, rows)) = self
            .strava
            .iter()
            .filter(|(p, _)| path.starts_with(p.as_str()))
            .max_by_key(|(p, _)| p.len())
        {
            return (
                Source::StravaArchive,
                rows.get(&path[prefix.len()..]).cloned(),
            );
        }
        let source = if path.contains("DI_CONNECT/") {
            Source::GarminExport
        } else if path.contains("Global Export Data/") || path.contains("Takeout/") {
            Source::GoogleTakeout
        } else {
            Source::Files
        };
        (source, None)
    }

    fn read(&mut self, path: String, bytes: Vec<u8>, out: &mut Vec<Item>) {
        let name = base(&path).to_owned();
        let lower = name.to_ascii_lowercase();
        let (source, row) = self.source_of(&path);
        let note = |outcome, reason: String| Item::Note {
            path: path.clone(),
            source,
            outcome,
            reason,
        };
        if lower == "activities.csv" {
            match layout::strava_csv(&bytes) {
                Ok(rows) => {
                    let prefix = path[..path.len() - name.len()].to_owned();
                    self.strava.push((prefix, rows));
                    out.push(Item::Note {
                        path,
                        source: Source::StravaArchive,
                        outcome: FileOutcome::Skipped,
                        reason: "Strava's list of activities (read for their ids and titles)"
                            .to_owned(),
                    });
                }
                Err(why) => out.push(note(
                    FileOutcome::Skipped,
                    format!("a CSV file, not an activity ({why})"),
                )),
            }
            return;
        }
        if source == Source::StravaArchive && (lower == "bikes.csv" || lower == "shoes.csv") {
            out.push(Item::Keep {
                path,
                source,
                bytes,
                reason: "Strava's gear list, kept for later",
            });
            return;
        }
        if lower.starts_with("training-session") && lower.ends_with(".json") {
            out.push(match layout::polar_session(&bytes) {
                Ok(session) => {
                    let mut summary = session.summary;
                    if summary.provider_activity_id.is_empty() {
                        summary.provider_activity_id = sha256_hex(&bytes);
                    }
                    Item::Copy {
                        path,
                        source: Source::PolarExport,
                        summary,
                        recording: Recording::Document(bytes, session.streams),
                    }
                }
                Err(why) => note(FileOutcome::Refused, why),
            });
            return;
        }
        if lower.starts_with("exercise-") && lower.ends_with(".json") {
            match layout::takeout_exercises(&bytes) {
                Ok(list) if list.is_empty() => out.push(note(
                    FileOutcome::Skipped,
                    "an exercise list with no exercises".to_owned(),
                )),
                Ok(list) => out.extend(list.into_iter().map(|summary| Item::Copy {
                    path: format!("{path}#{}", summary.provider_activity_id),
                    source: Source::GoogleTakeout,
                    summary,
                    recording: Recording::None("Fitbit's export has no recording for it"),
                })),
                Err(why) => out.push(note(FileOutcome::Refused, why)),
            }
            return;
        }
        let original = match recording::unwrap(bytes) {
            Ok(o) => o,
            Err(why) => {
                out.push(note(FileOutcome::Refused, why.0));
                return;
            }
        };
        if original.format == FileFormat::Unknown {
            out.push(note(
                FileOutcome::Skipped,
                "not an activity file (not FIT, GPX or TCX)".to_owned(),
            ));
            return;
        }
        match recording::decode(&original) {
            Err(why) if why.not_an_activity() => out.push(note(FileOutcome::Skipped, why.0)),
            Err(Unreadable(why)) => out.push(note(FileOutcome::Refused, why)),
            Ok(streams) => {
                let id = row
                    .as_ref()
                    .map_or_else(|| sha256_hex(&original.bytes), |r| r.id.clone());
                let title = row.and_then(|r| r.name);
                match summary::of(&streams, id, title) {
                    None => out.push(note(
                        FileOutcome::Refused,
                        "the file holds no times (nothing says when it happened)".to_owned(),
                    )),
                    Some(summary) => out.push(Item::Copy {
                        path,
                        source,
                        summary,
                        recording: Recording::File(original, streams),
                    }),
                }
            }
        }
    }
}

/// Imports files into the store.
#[derive(Clone)]
pub struct Importer {
    store: Store,
    files: OriginalFiles,
    clock: Arc<dyn Clock>,
    events: Arc<dyn EventSink>,
}

impl Importer {
    /// An importer over the store and the originals' folder.
    pub fn new(
        store: Store,
        files: OriginalFiles,
        clock: Arc<dyn Clock>,
        events: Arc<dyn EventSink>,
    ) -> Self {
        Self {
            store,
            files,
            clock,
            events,
        }
    }

    /// Import `inputs` (files, folders, archives). Emits progress; `cancel` stops it after the
    /// file in hand (what is done stays).
    pub async fn run(
        &self,
        inputs: Vec<PathBuf>,
        cancel: CancellationToken,
    ) -> Result<ImportReport> {
        self.run_with(inputs, walk::LIMITS, cancel).await
    }

    /// [`Self::run`] with other limits (tests).
    pub async fn run_with(
        &self,
        inputs: Vec<PathBuf>,
        limits: walk::Limits,
        cancel: CancellationToken,
    ) -> Result<ImportReport> {
        if inputs.is_empty() {
            return Err(Error::Validation(
                "choose at least one file or folder to import".into(),
            ));
        }
        let label = inputs
            .iter()
            .map(|p| walk::label(p))
            .collect::<Vec<_>>()
            .join(", ");
        store::imports::end_silent(self.store.pool(), self.clock.now()).await?;
        let import_id = store::imports::start(self.store.pool(), &label, self.clock.now()).await?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Item>(8);
        let stop = cancel.clone();
        let reader_inputs = inputs.clone();
        let reader = tokio::task::spawn_blocking(move || {
            let (total, _) = walk::measure(&reader_inputs);
            let _ = tx.blocking_send(Item::Total(total));
            let mut reader = Reader::default();
            walk::walk(&reader_inputs, &limits, &mut |found| {
                if stop.is_cancelled() {
                    return false;
                }
                let mut items = Vec::new();
                match found {
                    Found::File { path, bytes } => reader.read(path, bytes, &mut items),
                    Found::Refused { path, reason } => {
                        let (source, _) = reader.source_of(&path);
                        items.push(Item::Note {
                            path,
                            source,
                            outcome: FileOutcome::Refused,
                            reason,
                        });
                    }
                    Found::Done(n) => items.push(Item::Done(n)),
                }
                items.into_iter().all(|i| tx.blocking_send(i).is_ok())
            })
        });
        let started = std::time::Instant::now();
        let mut progress = ImportProgress {
            import_id,
            files: 0,
            bytes_done: 0,
            bytes_total: 0,
            eta_seconds: None,
            counts: OutcomeCounts::default(),
        };
        // Said at once: a window that did not start the import (a drop) learns it runs.
        self.events.emit(CoreEvent::ImportProgress {
            progress: progress.clone(),
        });
        let mut last_emit = std::time::Instant::now();
        let mut failure = None;
        while let Some(item) = rx.recv().await {
            let outcome = match item {
                Item::Total(n) => {
                    progress.bytes_total = n;
                    continue;
                }
                Item::Done(n) => {
                    progress.bytes_done += n;
                    continue;
                }
                item => match self.keep(import_id, item).await {
                    Ok(o) => o,
                    Err(e) => {
                        // The store failed (disk full, database gone): stop, keep what is done.
                        failure = Some(e);
                        cancel.cancel();
                        break;
                    }
                },
            };
            progress.files += 1;
            let c = &mut progress.counts;
            *match outcome {
                FileOutcome::Imported => &mut c.imported,
                FileOutcome::Linked => &mut c.linked,
                FileOutcome::Duplicate => &mut c.duplicate,
                FileOutcome::Skipped => &mut c.skipped,
                FileOutcome::Refused => &mut c.refused,
            } += 1;
            if last_emit.elapsed() >= std::time::Duration::from_millis(250) {
                last_emit = std::time::Instant::now();
                progress.eta_seconds = eta(&progress, started.elapsed());
                self.events.emit(CoreEvent::ImportProgress {
                    progress: progress.clone(),
                });
            }
        }
        drop(rx);
        let completed = reader
            .await
            .map_err(|e| Error::Internal(format!("the import's reader stopped: {e}")))?;
        let status = if completed && failure.is_none() {
            "finished"
        } else {
            "cancelled"
        };
        store::imports::finish(self.store.pool(), import_id, status, self.clock.now()).await?;
        if let Some(e) = failure {
            return Err(e);
        }
        let report = report(&self.store, import_id).await?;
        self.events.emit(CoreEvent::ImportFinished {
            import_id,
            counts: report.counts,
        });
        Ok(report)
    }

    /// Record a file's outcome alone, in its own transaction.
    async fn note(
        &self,
        import_id: i64,
        file: (&str, Source),
        outcome: FileOutcome,
        reason: Option<&str>,
        activity_id: Option<i64>,
    ) -> Result<FileOutcome> {
        let mut tx = self.store.begin().await?;
        store::imports::record(
            &mut tx,
            import_id,
            file.0,
            file.1,
            outcome.as_str(),
            reason,
            activity_id,
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Keep one item: its outcome, and for a copy the original, the copy, its recording and its
    /// links, in one transaction (the original's file is on disk before).
    async fn keep(&self, import_id: i64, item: Item) -> Result<FileOutcome> {
        let now = self.clock.now();
        match item {
            Item::Done(_) | Item::Total(_) => unreachable!("progress is counted by the caller"),
            Item::Note {
                path,
                source,
                outcome,
                reason,
            } => {
                self.note(import_id, (&path, source), outcome, Some(&reason), None)
                    .await
            }
            Item::Keep {
                path,
                source,
                bytes,
                reason,
            } => {
                let stored = self.files.put(bytes).await?;
                let mut tx = self.store.begin().await?;
                store::imports::keep_file(
                    &mut tx,
                    import_id,
                    &path,
                    source,
                    reason,
                    (
                        &stored.sha256,
                        stored.bytes as i64,
                        stored.stored_bytes as i64,
                    ),
                    now,
                )
                .await?;
                tx.commit().await?;
                Ok(FileOutcome::Skipped)
            }
            Item::Copy {
                path,
                source,
                mut summary,
                recording,
            } => {
                let (bytes, format, streams, pack, none) = match recording {
                    Recording::File(o, s) => (Some(o.bytes), o.format.as_str(), Some(s), false, ""),
                    Recording::Document(b, s) => {
                        (Some(b), FileFormat::Unknown.as_str(), Some(s), true, "")
                    }
                    Recording::None(why) => (None, "", None, false, why),
                };
                let sha = bytes.as_deref().map(sha256_hex);
                let mut dup = match &sha {
                    Some(sha) => store::imports::holder_of(self.store.pool(), sha)
                        .await?
                        .map(|id| (id, "the same file is already stored")),
                    None => None,
                };
                if dup.is_none() {
                    dup = store::imports::copy_of(
                        self.store.pool(),
                        source,
                        &summary.provider_activity_id,
                    )
                    .await?
                    .map(|id| (id, SAME_ID));
                }
                if let Some((id, why)) = dup {
                    let file = (path.as_str(), source);
                    return self
                        .note(import_id, file, FileOutcome::Duplicate, Some(why), Some(id))
                        .await;
                }
                // The original on disk first: a row never points at nothing.
                let stored = match bytes {
                    Some(b) => Some(self.files.put(b).await?),
                    None => None,
                };
                let kept = match (&stored, streams) {
                    (Some(s), Some(streams)) => {
                        Some(Kept::new(Some((s, format)), Ok(streams), pack)?)
                    }
                    _ => None,
                };
                summary.raw = serde_json::json!({
                    "source": source,
                    "file": path,
                    "record": summary.raw,
                });
                let raw = store::scrubbed(&summary.raw);
                let mut tx = self.store.begin().await?;
                let Some(id) =
                    store::imports::insert_copy(&mut tx, import_id, source, &summary, &raw, now)
                        .await?
                else {
                    // Another import stored it meanwhile.
                    drop(tx);
                    let file = (path.as_str(), source);
                    return self
                        .note(import_id, file, FileOutcome::Duplicate, Some(SAME_ID), None)
                        .await;
                };
                // Every imported copy has its recording's row: the download queue, which asks
                // providers, never looks at it.
                let written = match &kept {
                    Some(k) => k.outcome(id, false),
                    None => Outcome::nothing_kept(id, RecordingStatus::None, none, None, false),
                };
                store::recordings::save(&mut tx, &written, now).await?;
                crate::linking::link(&mut tx, &[id], now).await?;
                let outcome = match store::imports::workout_of(&mut *tx, id).await? {
                    Some(_) => FileOutcome::Linked,
                    None => FileOutcome::Imported,
                };
                store::imports::record(
                    &mut tx,
                    import_id,
                    &path,
                    source,
                    outcome.as_str(),
                    None,
                    Some(id),
                    now,
                )
                .await?;
                tx.commit().await?;
                Ok(outcome)
            }
        }
    }
}

/// Why a copy whose source already has its id is a duplicate.
const SAME_ID: &str = "already imported (the same id from the same source)";

fn eta(p: &ImportProgress, elapsed: std::time::Duration) -> Option<u64> {
    if p.bytes_done == 0 || elapsed.as_millis() < 500 || p.bytes_total < p.bytes_done {
        return None;
    }
    let rate = p.bytes_done as f64 / elapsed.as_secs_f64();
    Some(((p.bytes_total - p.bytes_done) as f64 / rate).ceil() as u64)
}

fn status_of(text: &str) -> ImportStatus {
    match text {
        "running" => ImportStatus::Running,
        "cancelled" => ImportStatus::Cancelled,
        "interrupted" => ImportStatus::Interrupted,
        _ => ImportStatus::Finished,
    }
}

fn to_report(row: store::imports::Row, refused: Vec<FileNote>) -> ImportReport {
    ImportReport {
        id: row.id,
        label: row.label,
        status: status_of(&row.status),
        started_at: store::imports::when(row.started_at),
        finished_at: row.finished_at.map(store::imports::when),
        counts: OutcomeCounts {
            imported: row.imported,
            linked: row.linked,
            duplicate: row.duplicate,
            skipped: row.skipped,
            refused: row.refused,
        },
        copies: row.copies,
        refused,
    }
}

/// One import's report, with its refused files.
pub async fn report(db: &Store, id: i64) -> Result<ImportReport> {
    let row = store::imports::get(db.pool(), id)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: format!("import {id}"),
        })?;
    let refused = store::imports::files(db.pool(), id, "refused", 500)
        .await?
        .into_iter()
        .map(|(path, source, reason, activity_id)| FileNote {
            path,
            source: source.parse().unwrap_or(Source::Files),
            reason,
            activity_id,
        })
        .collect();
    Ok(to_report(row, refused))
}

/// Every import, newest first (without their files).
pub async fn list(db: &Store, now: DateTime<Utc>) -> Result<Vec<ImportReport>> {
    store::imports::end_silent(db.pool(), now).await?;
    Ok(store::imports::list(db.pool())
        .await?
        .into_iter()
        .map(|r| to_report(r, Vec::new()))
        .collect())
}

/// Forget an import: its copies go (their workouts settle: the rest stand alone or choose
/// another primary), then its record; the originals no copy refers to go at the next sweep.
/// Returns how many copies were deleted.
pub async fn forget(db: &Store, id: i64) -> Result<u64> {
    if store::imports::get(db.pool(), id).await?.is_none() {
        return Err(Error::NotFound {
            what: format!("import {id}"),
        });
    }
    let mut deleted = 0;
    loop {
        let mut tx = db.begin().await?;
        let ids = store::imports::copies(&mut *tx, id, 2_000).await?;
        if ids.is_empty() {
            store::imports::delete(&mut *tx, id).await?;
            tx.commit().await?;
            return Ok(deleted);
        }
        let workouts = crate::linking::workouts_of(&mut tx, &ids).await?;
        deleted += store::activities::delete_ids(&mut *tx, &ids).await?;
        crate::linking::settle_all(&mut tx, &workouts).await?;
        tx.commit().await?;
    }
}
