//! The sync engine: one run per connection at a time, each page committed with the run's progress
//! and cursor in one transaction, honest counters, and a terminal status for every run.
//!
//! Single flight is enforced three times, each for its own reason: an in-process map (a second
//! click gets a clear `already_running`), an OS file lock per connection held for the run's life
//! (another process, e.g. the CLI beside the desktop app, cannot double-run; and a crashed
//! process's lock is released by the OS, which is how its leftover `running` rows are recognised
//! as dead and marked `interrupted`), and a partial unique index in SQLite (the last line).

mod lock;
mod run;

use crate::clock::Clock;
use crate::domain::{ProviderKind, SyncRun, SyncStatus, SyncTrigger};
use crate::events::{CoreEvent, EventSink};
use crate::providers::Registry;
use crate::store::Store;
use crate::vault::TokenVault;
use crate::{Error, Result, store};
use lock::LockDir;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How much a run reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum SyncMode {
    /// Resume an unfinished run, else re-scan the provider's overlap window behind the newest
    /// stored activity (late uploads, edits). The default: cheap on rate budgets.
    #[default]
    Incremental,
    /// Read the whole history again (reconciliation); unchanged records count as skipped.
    Full,
}

/// A started run: its id, and a way to wait for its end.
#[derive(Debug)]
pub struct SyncHandle {
    /// The `sync_history` row.
    pub sync_id: i64,
    /// Provider.
    pub provider: ProviderKind,
    done: watch::Receiver<Option<SyncRun>>,
}

impl SyncHandle {
    /// Wait for the run to end; returns its final row.
    pub async fn wait(mut self) -> Result<SyncRun> {
        let outcome = self.done.wait_for(Option::is_some).await.map(|r| r.clone());
        match outcome {
            Ok(Some(run)) => Ok(run),
            _ => Err(Error::Internal(format!(
                "sync run {} ended without a result",
                self.sync_id
            ))),
        }
    }
}

/// A run in progress in this process.
#[derive(Clone)]
struct RunSlot {
    provider: ProviderKind,
    cancel: CancellationToken,
    done: watch::Receiver<Option<SyncRun>>,
}

/// Runs in progress in this process, by connection id.
#[derive(Default)]
struct Runs(Mutex<HashMap<i64, RunSlot>>);

impl Runs {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, RunSlot>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The engine. Cheap to clone: clones share one state.
#[derive(Clone)]
pub struct SyncEngine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    vault: TokenVault,
    registry: Arc<Registry>,
    clock: Arc<dyn Clock>,
    events: Arc<dyn EventSink>,
    locks: LockDir,
    athlete_id: i64,
    runs: Runs,
}

impl SyncEngine {
    /// An engine over the given parts; run locks live under `data_dir`.
    pub fn new(
        store: Store,
        vault: TokenVault,
        registry: Arc<Registry>,
        clock: Arc<dyn Clock>,
        events: Arc<dyn EventSink>,
        data_dir: &Path,
        athlete_id: i64,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                vault,
                registry,
                clock,
                events,
                locks: LockDir::new(data_dir),
                athlete_id,
                runs: Runs::default(),
            }),
        }
    }

    /// Mark `running` rows whose owner is gone (no process holds their connection's lock) as
    /// `interrupted`. Returns how many.
    pub async fn recover_interrupted(&self, only: Option<i64>) -> Result<u64> {
        let pool = self.inner.store.pool();
        let running = store::sync_history::running_connections(pool, only).await?;
        let mut recovered = 0;
        for connection_id in running {
            if self.inner.runs.lock().contains_key(&connection_id) {
                continue; // ours, alive
            }
            if let Some(_lock) = self.inner.locks.try_lock(connection_id)? {
                // We hold its lock: everything still running for it belongs to a dead process.
                recovered += store::sync_history::interrupt_running(
                    pool,
                    connection_id,
                    self.inner.clock.now(),
                )
                .await?;
            }
        }
        Ok(recovered)
    }

    /// Start syncing `provider` in the background. Returns at once with the run's id; progress
    /// and the end arrive as events, or through [`SyncHandle::wait`].
    pub async fn start(
        &self,
        provider: ProviderKind,
        trigger: SyncTrigger,
        mode: SyncMode,
    ) -> Result<SyncHandle> {
        let pool = self.inner.store.pool();
        let connection = store::connections::get_by_provider(pool, self.inner.athlete_id, provider)
            .await?
            .ok_or_else(|| Error::not_found(format!("a {provider} connection")))?;
        if !connection.enabled {
            return Err(Error::Validation(format!(
                "{provider} is switched off; switch it on to sync"
            )));
        }
        let now = self.inner.clock.now();
        if let Some(until) = connection.rate_limited_until.filter(|u| *u > now) {
            return Err(Error::RateLimited { provider, until });
        }
        let client = self.inner.registry.get(provider)?;
        if self.inner.runs.lock().contains_key(&connection.id) {
            return Err(Error::AlreadyRunning { provider });
        }
        let Some(run_lock) = self.inner.locks.try_lock(connection.id)? else {
            return Err(Error::AlreadyRunning { provider }); // another process is syncing it
        };
        // We hold the lock, so any `running` row left for this connection is dead.
        self.recover_interrupted(Some(connection.id)).await?;

        let plan = run::plan(&self.inner.store, &connection, client.as_ref(), mode).await?;
        let row = store::sync_history::start(
            pool,
            connection.id,
            trigger,
            plan.request.cursor.as_deref(),
            now,
        )
        .await?
        .ok_or(Error::AlreadyRunning { provider })?;

        let cancel = CancellationToken::new();
        let (done_tx, done_rx) = watch::channel(None);
        let slot = RunSlot {
            provider,
            cancel: cancel.clone(),
            done: done_rx.clone(),
        };
        {
            let mut runs = self.inner.runs.lock();
            if runs.contains_key(&connection.id) {
                // Lost a race with another start in this process after our checks; undo ours.
                drop(runs);
                let store = self.inner.store.clone();
                let clock = self.inner.clock.clone();
                tokio::spawn(async move {
                    let _ = store::sync_history::complete(
                        store.pool(),
                        row.id,
                        SyncStatus::Cancelled,
                        0,
                        None,
                        Some("another sync of this connection started first"),
                        clock.now(),
                    )
                    .await;
                });
                return Err(Error::AlreadyRunning { provider });
            }
            runs.insert(connection.id, slot);
        }
        self.inner.events.emit(CoreEvent::SyncStarted {
            sync_id: row.id,
            provider,
        });

        let engine = self.clone();
        let sync_id = row.id;
        tokio::spawn(async move {
            let context = run::RunContext {
                engine: &engine,
                connection: &connection,
                client: client.as_ref(),
                sync_id,
                cancel: &cancel,
            };
            let finished = context.execute(plan).await;
            engine.inner.runs.lock().remove(&connection.id);
            drop(run_lock);
            let _ = done_tx.send(finished); // nobody waiting is fine
        });
        Ok(SyncHandle {
            sync_id,
            provider,
            done: done_rx,
        })
    }

    /// Cancel `provider`'s running sync, if any, and wait until it has recorded `cancelled`.
    pub async fn cancel(&self, provider: ProviderKind) -> bool {
        let slot = self
            .inner
            .runs
            .lock()
            .values()
            .find(|s| s.provider == provider)
            .cloned();
        match slot {
            Some(mut slot) => {
                slot.cancel.cancel();
                let _ = slot.done.wait_for(Option::is_some).await;
                true
            }
            None => false,
        }
    }

    /// Cancel every running sync and wait for each to record its final status.
    pub async fn cancel_all_and_wait(&self) {
        let slots: Vec<RunSlot> = self.inner.runs.lock().values().cloned().collect();
        for slot in &slots {
            slot.cancel.cancel();
        }
        for mut slot in slots {
            let _ = slot.done.wait_for(Option::is_some).await; // a dropped sender means it ended
        }
    }

    /// A connection's sync history, newest first.
    pub async fn history(
        &self,
        connection_id: i64,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<SyncRun>> {
        if !(1..=500).contains(&limit) || offset < 0 {
            return Err(Error::Validation(
                "limit must be 1..=500 and offset ≥ 0".to_owned(),
            ));
        }
        store::sync_history::history(self.inner.store.pool(), connection_id, limit, offset).await
    }

    /// The latest run of a connection, if it ever synced.
    pub async fn latest(&self, connection_id: i64) -> Result<Option<SyncRun>> {
        store::sync_history::latest(self.inner.store.pool(), connection_id).await
    }

    /// The reasons recorded for a run's records that could not be stored.
    pub async fn failures(&self, sync_id: i64) -> Result<Vec<(Option<String>, String)>> {
        store::sync_history::failures(self.inner.store.pool(), sync_id).await
    }
}
