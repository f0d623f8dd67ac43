//! The sync engine: one run per connection at a time, each page committed with the run's progress
//! and cursor in one transaction, honest counters, and a terminal status for every run.
//!
//! Single flight is enforced three times, each for its own reason: an in-process map (a second
//! click gets a clear `already_running`), an OS file lock per connection held for the run's life
//! (another process, e.g. the CLI beside the desktop app, cannot double-run; and a crashed
//! process's lock is released by the OS, which is how its leftover `running` rows are recognised
//! as dead and marked `interrupted`), and a partial unique index in SQLite (the last line).

use crate::domain::{
    Connection, ConnectionState, ConnectionUpdate, ProviderKind, SyncCounters, SyncRun, SyncStatus,
    SyncTrigger,
};
use crate::events::CoreEvent;
use crate::providers::{ActivityPage, Call, ListRequest, Meter, Provider};
use crate::store::activities::Upserted;
use crate::{Core, Error, Result, store};
use chrono::Duration;
use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;
use std::sync::Mutex;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Runs in progress in this process, by connection id.
#[derive(Default)]
pub(crate) struct Runs(Mutex<HashMap<i64, RunSlot>>);

#[derive(Clone)]
struct RunSlot {
    provider: ProviderKind,
    cancel: CancellationToken,
    done: watch::Receiver<Option<SyncRun>>,
}

impl Runs {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, RunSlot>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) async fn cancel_all_and_wait(&self) {
        let slots: Vec<RunSlot> = self.lock().values().cloned().collect();
        for slot in &slots {
            slot.cancel.cancel();
        }
        for mut slot in slots {
            let _ = slot.done.wait_for(Option::is_some).await; // a dropped sender means it ended
        }
    }
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
            _ => Err(Error::Validation(format!(
                "sync run {} ended without a result",
                self.sync_id
            ))),
        }
    }
}

/// An exclusive OS lock on a connection's lock file, released on drop (and by the OS on a crash).
struct RunLock(#[allow(dead_code)] File);

fn lock_path(core: &Core, connection_id: i64) -> PathBuf {
    core.inner
        .config
        .data_dir
        .join("locks")
        .join(format!("connection-{connection_id}.lock"))
}

fn try_lock(core: &Core, connection_id: i64) -> Result<Option<RunLock>> {
    let path = lock_path(core, connection_id);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(RunLock(file))),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(Error::io(format!("cannot lock {}", path.display()), e)),
    }
}

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

/// How a run ended, before it is written down.
struct Ending {
    status: SyncStatus,
    error: Option<Error>,
}

impl Core {
    /// Mark `running` rows whose owner is gone (no process holds their connection's lock) as
    /// `interrupted`. Returns how many.
    pub(crate) async fn recover_interrupted(&self, only: Option<i64>) -> Result<u64> {
        let pool = self.inner.store.pool();
        let running = store::sync_history::running_connections(pool, only).await?;
        let mut recovered = 0;
        for connection_id in running {
            if self.inner.runs.lock().contains_key(&connection_id) {
                continue; // ours, alive
            }
            if let Some(_lock) = try_lock(self, connection_id)? {
                // We hold its lock: everything still running for it belongs to a dead process.
                recovered +=
                    store::sync_history::interrupt_running(pool, connection_id, self.now()).await?;
            }
        }
        Ok(recovered)
    }

    /// Start syncing `provider` in the background. Returns at once with the run's id; progress
    /// and the end arrive as events, or through [`SyncHandle::wait`].
    pub async fn start_sync(
        &self,
        provider: ProviderKind,
        trigger: SyncTrigger,
        mode: SyncMode,
    ) -> Result<SyncHandle> {
        let connection = self.get_connection_by_provider(provider).await?;
        if !connection.enabled {
            return Err(Error::Validation(format!(
                "{provider} is switched off; switch it on to sync"
            )));
        }
        let now = self.now();
        if let Some(until) = connection.rate_limited_until.filter(|u| *u > now) {
            return Err(Error::RateLimited { provider, until });
        }
        let client = self.inner.registry.get(provider)?;
        if self.inner.runs.lock().contains_key(&connection.id) {
            return Err(Error::AlreadyRunning { provider });
        }
        let Some(run_lock) = try_lock(self, connection.id)? else {
            return Err(Error::AlreadyRunning { provider }); // another process is syncing it
        };
        // We hold the lock, so any `running` row left for this connection is dead.
        self.recover_interrupted(Some(connection.id)).await?;

        let pool = self.inner.store.pool();
        let cursor = match mode {
            SyncMode::Incremental => {
                store::sync_history::resume_cursor(pool, connection.id).await?
            }
            SyncMode::Full => None,
        };
        let since = match (&cursor, mode) {
            (Some(_), _) | (None, SyncMode::Full) => None,
            (None, SyncMode::Incremental) => store::activities::latest_start(pool, provider)
                .await?
                .map(|t| t - Duration::days(i64::from(client.capabilities().overlap_days))),
        };
        let run = store::sync_history::start(pool, connection.id, trigger, cursor.as_deref(), now)
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
                let core = self.clone();
                tokio::spawn(async move {
                    let _ = store::sync_history::complete(
                        core.inner.store.pool(),
                        run.id,
                        SyncStatus::Cancelled,
                        0,
                        None,
                        Some("another sync of this connection started first"),
                        core.now(),
                    )
                    .await;
                });
                return Err(Error::AlreadyRunning { provider });
            }
            runs.insert(connection.id, slot);
        }
        self.emit(CoreEvent::SyncStarted {
            sync_id: run.id,
            provider,
        });

        let core = self.clone();
        let sync_id = run.id;
        tokio::spawn(async move {
            let meter = Meter::default();
            let request = ListRequest {
                cursor,
                since,
                provider_user_id: connection.provider_user_id.clone(),
            };
            let ending = core
                .run_pages(
                    &connection,
                    client.as_ref(),
                    sync_id,
                    request,
                    &meter,
                    &cancel,
                )
                .await;
            let finished = core.finish(&connection, sync_id, ending, &meter).await;
            core.inner.runs.lock().remove(&connection.id);
            drop(run_lock);
            let _ = done_tx.send(finished); // nobody waiting is fine
        });
        Ok(SyncHandle {
            sync_id,
            provider,
            done: done_rx,
        })
    }

    /// Sync `provider` and wait for the run to end.
    pub async fn sync(
        &self,
        provider: ProviderKind,
        trigger: SyncTrigger,
        mode: SyncMode,
    ) -> Result<SyncRun> {
        self.start_sync(provider, trigger, mode).await?.wait().await
    }

    /// Cancel `provider`'s running sync, if any, and wait until it has recorded `cancelled`.
    pub async fn cancel_sync(&self, provider: ProviderKind) -> bool {
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

    /// A connection's sync history, newest first.
    pub async fn sync_history(
        &self,
        provider: ProviderKind,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<SyncRun>> {
        if !(1..=500).contains(&limit) || offset < 0 {
            return Err(Error::Validation(
                "limit must be 1..=500 and offset ≥ 0".to_owned(),
            ));
        }
        let connection = self.get_connection_by_provider(provider).await?;
        store::sync_history::history(self.inner.store.pool(), connection.id, limit, offset).await
    }

    /// The latest run of a connection (the sync status), if it ever synced.
    pub async fn sync_status(&self, provider: ProviderKind) -> Result<Option<SyncRun>> {
        let connection = self.get_connection_by_provider(provider).await?;
        store::sync_history::latest(self.inner.store.pool(), connection.id).await
    }

    /// The reasons recorded for a run's records that could not be stored.
    pub async fn sync_failures(&self, sync_id: i64) -> Result<Vec<(Option<String>, String)>> {
        store::sync_history::failures(self.inner.store.pool(), sync_id).await
    }

    async fn run_pages(
        &self,
        connection: &Connection,
        client: &dyn Provider,
        sync_id: i64,
        mut request: ListRequest,
        meter: &Meter,
        cancel: &CancellationToken,
    ) -> Ending {
        let mut totals = SyncCounters::default();
        loop {
            let page = tokio::select! {
                biased;
                () = cancel.cancelled() => return Ending { status: SyncStatus::Cancelled, error: None },
                page = self.fetch_page(connection, client, &request, meter) => page,
            };
            let page = match page {
                Ok(page) => page,
                Err(error) => {
                    // Pages already committed stay; a rate limit is a pause, not a failure.
                    let status = match (&error, totals.fetched > 0) {
                        (Error::RateLimited { .. }, true) => SyncStatus::Partial,
                        _ => SyncStatus::Failed,
                    };
                    return Ending {
                        status,
                        error: Some(error),
                    };
                }
            };
            let next = page.next_cursor.clone();
            match self
                .commit_page(connection, sync_id, page, meter, next.as_deref())
                .await
            {
                Ok(counters) => totals.add(counters),
                Err(error) => {
                    return Ending {
                        status: SyncStatus::Failed,
                        error: Some(error),
                    };
                }
            }
            self.emit(CoreEvent::SyncProgress {
                sync_id,
                provider: connection.provider,
                counters: totals,
            });
            match next {
                Some(cursor) => {
                    // The cursor carries what `since` meant for the first page.
                    request = ListRequest {
                        cursor: Some(cursor),
                        since: None,
                        ..request
                    }
                }
                None => {
                    let status = if totals.failed > 0 {
                        SyncStatus::Partial
                    } else {
                        SyncStatus::Success
                    };
                    return Ending {
                        status,
                        error: None,
                    };
                }
            }
        }
    }

    /// One page, with one refresh-and-retry when the provider says the token is no longer good.
    async fn fetch_page(
        &self,
        connection: &Connection,
        client: &dyn Provider,
        request: &ListRequest,
        meter: &Meter,
    ) -> Result<ActivityPage> {
        let clock = self.inner.deps.clock.as_ref();
        let token = self.access_token(connection, client, meter, None).await?;
        let call = Call {
            token: Some(&token),
            meter,
            clock,
        };
        match client.list_activities(&call, request).await {
            Err(Error::NeedsReauth { .. }) => {
                let token = self
                    .access_token(connection, client, meter, Some(&token))
                    .await?;
                client
                    .list_activities(
                        &Call {
                            token: Some(&token),
                            meter,
                            clock,
                        },
                        request,
                    )
                    .await
            }
            other => other,
        }
    }

    async fn commit_page(
        &self,
        connection: &Connection,
        sync_id: i64,
        page: ActivityPage,
        meter: &Meter,
        next_cursor: Option<&str>,
    ) -> Result<SyncCounters> {
        let now = self.now();
        let mut counters = SyncCounters::default();
        let mut tx = self.inner.store.begin().await?;
        for item in page.items {
            counters.fetched += 1;
            match item {
                Ok(activity) => {
                    match store::activities::upsert(
                        &mut tx,
                        connection.id,
                        connection.provider,
                        &activity,
                        now,
                    )
                    .await?
                    {
                        Upserted::Created => counters.created += 1,
                        Upserted::Updated => counters.updated += 1,
                        Upserted::Skipped => counters.skipped += 1,
                    }
                }
                Err(unmappable) => {
                    counters.failed += 1;
                    store::sync_history::record_failure(
                        &mut *tx,
                        sync_id,
                        unmappable.provider_activity_id.as_deref(),
                        &unmappable.reason,
                    )
                    .await?;
                }
            }
        }
        let remaining = meter.budget().map(|b| b.remaining);
        store::sync_history::record_page(
            &mut *tx,
            sync_id,
            &counters,
            meter.calls(),
            remaining,
            next_cursor,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(counters)
    }

    /// Write the run's terminal status and the connection's new state.
    async fn finish(
        &self,
        connection: &Connection,
        sync_id: i64,
        ending: Ending,
        meter: &Meter,
    ) -> Option<SyncRun> {
        let provider = connection.provider;
        let now = self.now();
        let pool = self.inner.store.pool();
        let message = ending.error.as_ref().map(ToString::to_string);
        let (state, until) = match &ending.error {
            None => (Some(ConnectionState::Active), None),
            Some(Error::RateLimited { until, .. }) => {
                (Some(ConnectionState::RateLimited), Some(*until))
            }
            Some(Error::NeedsReauth { .. }) => (Some(ConnectionState::NeedsReauth), None),
            Some(Error::ScopeMissing { .. }) => (Some(ConnectionState::ScopeMissing), None),
            Some(Error::Deprecated { .. }) => (Some(ConnectionState::Deprecated), None),
            Some(Error::Cancelled) => (None, None),
            Some(_) => (Some(ConnectionState::Error), None),
        };
        let state = if ending.status == SyncStatus::Cancelled {
            None
        } else {
            state
        };
        let remaining = meter.budget().map(|b| b.remaining);
        let result = async {
            let run = store::sync_history::complete(
                pool,
                sync_id,
                ending.status,
                meter.calls(),
                remaining,
                message.as_deref(),
                now,
            )
            .await?;
            if ending.status != SyncStatus::Cancelled {
                store::connections::record_sync(pool, connection.id, now, message.as_deref())
                    .await?;
            }
            if let Some(state) = state {
                let change = ConnectionUpdate {
                    state: Some(state),
                    rate_limited_until: Some(until),
                    ..Default::default()
                };
                store::connections::update(pool, connection.id, &change, now).await?;
                self.emit(CoreEvent::ConnectionChanged { provider, state });
            }
            Ok::<_, Error>(run)
        }
        .await;
        match result {
            Ok(Some(run)) => {
                self.emit(CoreEvent::SyncFinished {
                    sync_id,
                    provider,
                    status: run.status,
                    counters: run.counters,
                    error: run.error_message.clone(),
                });
                Some(run)
            }
            Ok(None) => store::sync_history::get(pool, sync_id).await.ok().flatten(),
            Err(e) => {
                // The row stays `running`; our lock is released when this task ends, so the next
                // start marks it `interrupted`.
                tracing::error!(%provider, sync_id, error = %e, "could not record the end of a sync run");
                None
            }
        }
    }
}
