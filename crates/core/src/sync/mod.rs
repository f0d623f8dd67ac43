//! The sync engine: one run per connection at a time, each page committed with the run's progress
//! and cursor in one transaction, honest counters, and a terminal status for every run.
//!
//! Single flight is enforced three times, each for its own reason: an in-process map (a second
//! click gets a clear `already_running`), an OS file lock per connection held for the run's life
//! (another process, e.g. the CLI beside the desktop app, cannot double-run; and a crashed
//! process's lock is released by the OS, which is how its leftover `running` rows are recognised
//! as dead and marked `interrupted`), and a partial unique index in SQLite (the last line).

pub(crate) mod lock;
mod run;

use crate::clock::Clock;
use crate::domain::{
    ConnectionState, ProviderKind, SyncCounters, SyncRun, SyncStatus, SyncTrigger,
};
use crate::events::{CoreEvent, EventSink};
use crate::providers::{Meter, Registry};
use crate::store::Store;
use crate::vault::TokenVault;
use crate::{Error, Result, store};
use lock::LockDir;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, watch};
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

/// Holds a run's slot, lock and end signal; on drop (however the run's task ends, a panic
/// included) the slot is freed, the lock released and waiters woken.
struct SlotGuard {
    engine: SyncEngine,
    connection_id: i64,
    provider: ProviderKind,
    sync_id: i64,
    /// Released before waiters are woken (see `release`).
    lock: Option<lock::RunLock>,
    done: Option<watch::Sender<Option<SyncRun>>>,
}

impl SlotGuard {
    /// The run ended normally with `finished` as its final row.
    fn release(mut self, finished: Option<SyncRun>) {
        if let Some(done) = self.done.take() {
            self.engine.inner.runs.lock().remove(&self.connection_id);
            // The file lock goes before the waiters wake: one that starts the next run at once
            // (a checkpoint's second full pass, a CLI `sync` in a loop) must not find the lock
            // still held and be told another process is syncing.
            drop(self.lock.take());
            let _ = done.send(finished); // nobody waiting is fine
            self.engine.inner.finished.notify_one();
        }
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        if self.done.take().is_some() {
            // Only reached when the run's supervisor itself failed: say so; the row is marked
            // interrupted by the next start or recovery, since the lock is released here.
            self.engine.inner.runs.lock().remove(&self.connection_id);
            self.engine.inner.finished.notify_one();
            self.engine.inner.events.emit(CoreEvent::SyncFinished {
                sync_id: self.sync_id,
                provider: self.provider,
                status: SyncStatus::Interrupted,
                counters: SyncCounters::default(),
                error: Some("the sync stopped unexpectedly".to_owned()),
            });
        }
    }
}

/// What a panicking task said, for the run's error message.
fn panic_message(error: tokio::task::JoinError) -> String {
    if !error.is_panic() {
        return "its task was cancelled".to_owned();
    }
    let payload = error.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned())
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
    /// Woken at the end of every run (the scheduler looks again).
    finished: Arc<Notify>,
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
                finished: Arc::new(Notify::new()),
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
        let inner = &self.inner;
        let pool = inner.store.pool();
        let connection = store::connections::get_by_provider(pool, inner.athlete_id, provider)
            .await?
            .ok_or_else(|| Error::not_found(format!("a {provider} connection")))?;
        if !connection.enabled {
            return Err(Error::Validation(format!(
                "{provider} is switched off; switch it on to sync"
            )));
        }
        let now = inner.clock.now();
        if let Some(until) = connection.rate_limited_until.filter(|u| *u > now) {
            return Err(Error::RateLimited { provider, until });
        }
        // The budget the last answer reported (in any run, any process): no request it says
        // will 429.
        let budget = store::budgets::get(pool, provider).await?;
        if let Some(until) = run::spent_until(budget, now) {
            let limited = store::connections::set_state_if(
                pool,
                connection.id,
                connection.generation,
                ConnectionState::RateLimited,
                Some(until),
                now,
            )
            .await?;
            if limited.is_some() {
                inner.events.emit(CoreEvent::ConnectionChanged {
                    provider,
                    state: ConnectionState::RateLimited,
                });
            }
            return Err(Error::RateLimited { provider, until });
        }
        let client = inner.registry.for_connection(&connection)?;
        if inner.runs.lock().contains_key(&connection.id) {
            return Err(Error::AlreadyRunning { provider });
        }
        let Some(run_lock) = inner.locks.try_lock(connection.id)? else {
            return Err(Error::AlreadyRunning { provider }); // another process is syncing it
        };
        // We hold the lock, so any `running` row left for this connection is a dead process's.
        let recovered = store::sync_history::interrupt_running(pool, connection.id, now).await?;
        if recovered > 0 {
            tracing::info!(%provider, recovered, "marked a stopped process's run interrupted");
        }

        let plan = run::plan(&inner.store, &connection, client.as_ref(), mode, now).await?;
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
        let raced = {
            let mut runs = inner.runs.lock();
            let raced = runs.contains_key(&connection.id);
            if !raced {
                runs.insert(
                    connection.id,
                    RunSlot {
                        provider,
                        cancel: cancel.clone(),
                        done: done_rx.clone(),
                    },
                );
            }
            raced
        };
        if raced {
            // Lost a race with another start in this process after our checks: undo ours.
            store::sync_history::complete(
                pool,
                row.id,
                SyncStatus::Cancelled,
                0,
                None,
                Some((
                    "another sync of this connection started first",
                    crate::ErrorCode::AlreadyRunning,
                )),
                now,
            )
            .await?;
            return Err(Error::AlreadyRunning { provider });
        }
        inner.events.emit(CoreEvent::SyncStarted {
            sync_id: row.id,
            provider,
        });
        let meter = Arc::new(Meter::default());
        meter.observe(budget);
        let context = Arc::new(run::RunContext {
            engine: self.clone(),
            connection,
            client,
            sync_id: row.id,
            cancel,
            meter,
            plan,
        });
        let guard = SlotGuard {
            engine: self.clone(),
            connection_id: context.connection.id,
            provider,
            sync_id: row.id,
            lock: Some(run_lock),
            done: Some(done_tx),
        };
        tokio::spawn(async move {
            // The pages run in a task of their own, so that a panic there (a bug reachable
            // from provider data) is caught here and the run still ends, recorded and announced.
            let work = tokio::spawn({
                let context = context.clone();
                async move { context.run_pages().await }
            });
            let ending = match work.await {
                Ok(ending) => ending,
                Err(e) => run::Ending::internal(format!(
                    "the sync stopped unexpectedly ({})",
                    panic_message(e)
                )),
            };
            let finished = context.finish(ending).await;
            guard.release(finished);
        });
        Ok(SyncHandle {
            sync_id: row.id,
            provider,
            done: done_rx,
        })
    }

    /// Whether `provider` has a run in progress in this process.
    pub fn is_running(&self, provider: ProviderKind) -> bool {
        self.inner
            .runs
            .lock()
            .values()
            .any(|s| s.provider == provider)
    }

    /// Notified at the end of every run.
    pub fn finished(&self) -> Arc<Notify> {
        self.inner.finished.clone()
    }

    /// Whether `provider`'s API host answers at all (a TCP connection within 5 s). No request is
    /// sent and no budget spent: this only tells "offline" from "online". Behind a proxy (which
    /// the HTTP client honours from the environment) the proxy is what must answer: on a network
    /// that only lets the proxy out, the API host itself never would.
    pub async fn probe(&self, provider: ProviderKind) -> bool {
        let Ok(client) = self.inner.registry.get(provider) else {
            return false;
        };
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let Some((host, port)) = probe_address(&client.endpoints().api_url, env) else {
            return false;
        };
        let connect = tokio::net::TcpStream::connect((host, port));
        matches!(
            tokio::time::timeout(std::time::Duration::from_secs(5), connect).await,
            Ok(Ok(_))
        )
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

/// Where the offline probe connects for `url`: the proxy the HTTP client would use for it (the
/// same variables reqwest reads: `HTTPS_PROXY` / `HTTP_PROXY`, then `ALL_PROXY`, upper or lower
/// case, unless `NO_PROXY` names the host), else the host itself.
fn probe_address(url: &url::Url, env: impl Fn(&str) -> Option<String>) -> Option<(String, u16)> {
    let host = url
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let var = |name: &str| env(name).or_else(|| env(&name.to_lowercase()));
    let bypassed = var("NO_PROXY").is_some_and(|list| {
        list.split(',').map(str::trim).any(|entry| {
            let entry = entry.trim_start_matches('.');
            entry == "*"
                || (!entry.is_empty() && (host == entry || host.ends_with(&format!(".{entry}"))))
        })
    });
    let scheme_var = match url.scheme() {
        "https" => "HTTPS_PROXY",
        _ => "HTTP_PROXY",
    };
    let proxy = (!bypassed)
        .then(|| var(scheme_var).or_else(|| var("ALL_PROXY")))
        .flatten()
        .and_then(|p| {
            // A proxy given without a scheme is an HTTP proxy, as reqwest reads it.
            let p = if p.contains("://") {
                p
            } else {
                format!("http://{p}")
            };
            url::Url::parse(&p).ok()
        });
    match proxy {
        Some(proxy) => {
            let host = proxy
                .host_str()?
                .trim_start_matches('[')
                .trim_end_matches(']');
            Some((host.to_owned(), proxy.port_or_known_default()?))
        }
        None => Some((host.to_owned(), url.port_or_known_default()?)),
    }
}

#[cfg(test)]
mod probe_tests {
    use super::probe_address;

    fn api() -> url::Url {
        url::Url::parse("https://www.strava.com/api/v3").unwrap()
    }

    #[test]
    fn the_probe_goes_where_the_client_goes() {
        // Issue 14, defect 7: behind a mandatory proxy the probe dialled the API host itself,
        // failed, and the scheduler never synced while "Sync now" worked.
        let none = |_: &str| None;
        assert_eq!(
            probe_address(&api(), none),
            Some(("www.strava.com".into(), 443))
        );
        let proxied = |k: &str| (k == "HTTPS_PROXY").then(|| "http://proxy.corp:3128".to_owned());
        assert_eq!(
            probe_address(&api(), proxied),
            Some(("proxy.corp".into(), 3128))
        );
        let lower = |k: &str| (k == "all_proxy").then(|| "proxy.corp:8080".to_owned());
        assert_eq!(
            probe_address(&api(), lower),
            Some(("proxy.corp".into(), 8080))
        );
        let bypass = |k: &str| match k {
            "HTTPS_PROXY" => Some("http://proxy.corp:3128".to_owned()),
            "NO_PROXY" => Some("localhost, .strava.com".to_owned()),
            _ => None,
        };
        assert_eq!(
            probe_address(&api(), bypass),
            Some(("www.strava.com".into(), 443))
        );
        let http = url::Url::parse("http://127.0.0.1:9000/x").unwrap();
        let only_https = |k: &str| (k == "HTTPS_PROXY").then(|| "http://p:1".to_owned());
        assert_eq!(
            probe_address(&http, only_https),
            Some(("127.0.0.1".into(), 9000))
        );
    }
}
