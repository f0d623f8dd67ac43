//! Events the core emits for front ends (dashboard, tray, CLI progress).
//!
//! The core never knows who listens: the shell injects an [`EventSink`]. Events carry no secrets.

use crate::domain::{
    Attention, ConnectionState, ProviderKind, SchedulerStatus, SyncCounters, SyncStatus,
};
use serde::Serialize;
use std::sync::Mutex;

/// Something front ends may want to show.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum CoreEvent {
    /// A sync run started.
    SyncStarted {
        /// The run.
        sync_id: i64,
        /// Its provider.
        provider: ProviderKind,
    },
    /// A page was committed.
    SyncProgress {
        /// The run.
        sync_id: i64,
        /// Its provider.
        provider: ProviderKind,
        /// Counters so far.
        counters: SyncCounters,
        /// Pages committed so far.
        pages: u32,
        /// API calls so far.
        api_calls: i64,
        /// How much is left, when the provider lets us tell.
        estimate: Option<Estimate>,
    },
    /// A run reached a terminal status.
    SyncFinished {
        /// The run.
        sync_id: i64,
        /// Its provider.
        provider: ProviderKind,
        /// Terminal status.
        status: SyncStatus,
        /// Final counters.
        counters: SyncCounters,
        /// Readable error, if any.
        error: Option<String>,
    },
    /// A connection was created, updated or changed state.
    ConnectionChanged {
        /// Provider concerned.
        provider: ProviderKind,
        /// Its state now.
        state: ConnectionState,
    },
    /// A connection was removed.
    ConnectionRemoved {
        /// Provider concerned.
        provider: ProviderKind,
    },
    /// Something needs the athlete (an episode opened), or good news worth a notification.
    Attention {
        /// What, for which provider.
        attention: Attention,
    },
    /// A connection's recordings changed (one was fetched, kept or given up on).
    RecordingsChanged {
        /// Provider concerned.
        provider: ProviderKind,
    },
    /// An import read more files.
    ImportProgress {
        /// Where it stands.
        progress: crate::import::ImportProgress,
    },
    /// An import ended (finished or cancelled).
    ImportFinished {
        /// The import.
        import_id: i64,
        /// Its files by outcome.
        counts: crate::import::OutcomeCounts,
    },
    /// The scheduler's view changed (paused, offline providers, next runs).
    SchedulerChanged {
        /// Where it stands now.
        status: SchedulerStatus,
    },
}

/// How much of a run's walk is left, as well as the engine can tell.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Estimate {
    /// Pages still to read.
    pub remaining_pages: u64,
    /// Seconds to the end at this run's pace, the waits for the provider's budget included.
    pub eta_seconds: i64,
    /// When the run will stop for the provider's budget and continue, if it will have to.
    pub continues_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The provider's window that decides when it continues (e.g. "15 min").
    pub window: Option<String>,
}

/// Receives core events. Implementations must not block.
pub trait EventSink: Send + Sync + 'static {
    /// Deliver one event.
    fn emit(&self, event: CoreEvent);
}

/// Drops every event.
#[derive(Debug, Default)]
pub struct NoopSink;

impl EventSink for NoopSink {
    fn emit(&self, _event: CoreEvent) {}
}

/// Keeps every event (tests).
#[derive(Debug, Default)]
pub struct CollectingSink(Mutex<Vec<CoreEvent>>);

impl CollectingSink {
    /// Everything emitted so far.
    pub fn events(&self) -> Vec<CoreEvent> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl EventSink for CollectingSink {
    fn emit(&self, event: CoreEvent) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(event);
    }
}
