//! What is written for a recording once its original is on disk: the row's parts, shared by the
//! download queue and the import so that both keep the same things the same way.

use super::files::Stored;
use super::{Streams, Unreadable, codec};
use crate::store::recordings::{Outcome, RecordingStatus};
use crate::{Error, Result};

/// A recording's row, owned, ready to be written for an activity.
#[derive(Debug, Clone)]
pub struct Kept {
    status: RecordingStatus,
    original: Option<(String, &'static str, i64, i64)>,
    source: &'static str,
    reason: Option<String>,
    packed: Option<Vec<u8>>,
    index: Option<String>,
    laps: Option<String>,
    points: i64,
    has_track: bool,
}

impl Kept {
    /// `decoded` is what was read from the original `stored` (with its `format`), or from the
    /// provider's streams when there is no file. Streams decoded from a kept original are not
    /// stored again (they cost more than the gzipped file, BENCHMARKS.md): they are decoded from
    /// it when the activity is opened. Streams that the original does not give back by decoding
    /// (the provider's streams; a JSON export read by its own reader) are packed and kept.
    pub fn new(
        stored: Option<(&Stored, &'static str)>,
        decoded: std::result::Result<Streams, Unreadable>,
        pack: bool,
    ) -> Result<Self> {
        let original =
            stored.map(|(s, f)| (s.sha256.clone(), f, s.bytes as i64, s.stored_bytes as i64));
        let source = if pack && stored.is_none() {
            "streams"
        } else {
            "original"
        };
        Ok(match decoded {
            Ok(streams) => {
                let index = serde_json::to_string(&streams.index())
                    .map_err(|e| Error::Internal(format!("cannot write a stream index: {e}")))?;
                // A provider's streams usually carry no laps: NULL until they are fetched (when
                // the activity is opened), unlike a file's, which has them or has none. Streams
                // that came with their laps (Polar v4's samples and laps, one answer) keep them.
                let laps = match original.is_some() || !streams.laps.is_empty() {
                    true => Some(
                        serde_json::to_string(&streams.laps)
                            .map_err(|e| Error::Internal(format!("cannot write laps: {e}")))?,
                    ),
                    false => None,
                };
                Self {
                    status: RecordingStatus::Stored,
                    original,
                    source,
                    reason: None,
                    packed: if pack {
                        Some(codec::encode(&streams)?)
                    } else {
                        None
                    },
                    index: Some(index),
                    laps,
                    points: streams.len() as i64,
                    has_track: streams.has_track(),
                }
            }
            Err(why) => Self {
                status: RecordingStatus::Unreadable,
                original,
                source,
                reason: Some(why.0),
                packed: None,
                index: None,
                laps: None,
                points: 0,
                has_track: false,
            },
        })
    }

    /// What came of it.
    pub fn status(&self) -> RecordingStatus {
        self.status
    }

    /// The row for `activity_id`; `fetched` when a request to a provider was spent on it.
    pub fn outcome(&self, activity_id: i64, fetched: bool) -> Outcome<'_> {
        Outcome {
            activity_id,
            status: self.status,
            original: self
                .original
                .as_ref()
                .map(|(sha, format, bytes, stored)| (sha.as_str(), *format, *bytes, *stored)),
            source: Some(self.source),
            reason: self.reason.as_deref(),
            streams: self.packed.as_deref(),
            stream_index: self.index.as_deref(),
            laps: self.laps.as_deref(),
            points: self.points,
            has_track: self.has_track,
            retry_at: None,
            fetched,
        }
    }
}
