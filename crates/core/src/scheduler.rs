//! The one scheduler, used by every front end (the desktop tray agent and `tributary agent`): a
//! start-up run, then each connection on its interval with jitter; nothing while a connection is
//! switched off, needs the athlete, or before its rate limit or known budget clears; exponential
//! back-off after repeated failures; a quiet pause while the provider cannot be reached (no
//! network is not a failed run); a daily reconcile (a full walk) where the provider lists its
//! history; a backfill stopped by a rate limit continues as soon as the budget allows; dead runs
//! of other processes are recovered on every tick.
//!
//! Decisions are a pure function ([`decide`]) of what the store says about a connection and the
//! time, so they are tested without waiting; the loop around it only gathers facts, starts runs
//! and sleeps (in chunks of at most a minute, so a suspended laptop that wakes up catches up).

use crate::clock::Clock;
use crate::domain::{ConnectionState, ProviderKind, SyncStatus, SyncTrigger};
use crate::events::{CoreEvent, EventSink};
use crate::providers::{Delivery, Registry};
use crate::store::Store;
use crate::sync::{SyncEngine, SyncMode};
use crate::{Error, Result, store};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

// The pacing is data the settings produce: it lives in `domain`, so that the settings do not
// depend on the scheduler, which reads them.
pub use crate::domain::SchedulerSettings;

/// What the store says about one connection, as the scheduler decides on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// Connection id (a seed of its jitter).
    pub connection_id: i64,
    /// Provider.
    pub provider: ProviderKind,
    /// The athlete's toggle.
    pub enabled: bool,
    /// State.
    pub state: ConnectionState,
    /// When a rate limit clears.
    pub rate_limited_until: Option<DateTime<Utc>>,
    /// When the provider's known budget refills, if it is spent.
    pub budget_spent_until: Option<DateTime<Utc>>,
    /// When the connection was made.
    pub created_at: DateTime<Utc>,
    /// The latest run (its id and start), if any.
    pub last_run: Option<(i64, DateTime<Utc>)>,
    /// Failed runs in a row, newest first.
    pub consecutive_failures: u32,
    /// An incremental walk (a backfill) is unfinished.
    pub walk_pending: bool,
    /// The latest finished run was stopped by a rate limit (`partial`, `rate_limited`): a
    /// backfill it interrupted continues as soon as the budget allows. Not after a cancel (the
    /// athlete stopped it) nor after a failure (backed off instead).
    pub stopped_by_rate_limit: bool,
    /// When the last full walk completed.
    pub last_full_at: Option<DateTime<Utc>>,
    /// Whether the provider lists its history (a full walk can reconcile it).
    pub reconcilable: bool,
}

/// The shortest interval a front end may fix for a scheduler (a flag, an environment
/// variable): below it a scheduler would be a busy loop against the providers. The athlete's
/// setting has its own, higher floor (10 s).
pub const MIN_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// How a front end starts the agent: the athlete's saved settings (pause, interval, reconcile),
/// except what it fixes for this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentOptions {
    /// Whether the first look syncs every connection at once (an app or agent start).
    pub startup_run: bool,
    /// An interval for this run instead of the saved one (at least [`MIN_INTERVAL`]).
    pub interval: Option<std::time::Duration>,
    /// A reconcile interval for this run instead of the saved one.
    pub reconcile_every: Option<std::time::Duration>,
}

impl Default for AgentOptions {
    fn default() -> Self {
        Self {
            startup_run: true,
            interval: None,
            reconcile_every: None,
        }
    }
}

impl AgentOptions {
    /// Refuse an interval that would make a busy loop.
    pub fn validate(&self) -> Result<()> {
        for (what, value) in [
            ("interval", self.interval),
            ("reconcile interval", self.reconcile_every),
        ] {
            if value.is_some_and(|v| v < MIN_INTERVAL) {
                return Err(Error::Validation(format!(
                    "the {what} must be at least {} s",
                    MIN_INTERVAL.as_secs()
                )));
            }
        }
        Ok(())
    }
}

/// What a scheduler was started with as fixed (`None`: follow the saved setting).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Fixed {
    pub interval: Option<std::time::Duration>,
    pub reconcile_every: Option<std::time::Duration>,
}

/// What to do with a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Nothing until the athlete acts (switched off, or a state only they can fix).
    Wait,
    /// Run at `at` (now or later) in `mode`.
    At {
        /// When.
        at: DateTime<Utc>,
        /// How much to read.
        mode: SyncMode,
    },
}

/// Decide on one connection (`startup`: the first pass after a start, which ignores the interval).
pub fn decide(
    facts: &Facts,
    settings: &SchedulerSettings,
    now: DateTime<Utc>,
    startup: bool,
) -> Decision {
    if !facts.enabled || facts.state.waits_for_athlete() {
        return Decision::Wait;
    }
    // Only a fix at the provider clears it, and nothing announces the fix: a quiet probe a day
    // (a manual retry any time), not the interval's runs and their backed-off failures.
    if let Some(every) = facts.state.probe_every() {
        let at = facts
            .last_run
            .map_or(now, |(_, started)| (started + every).min(now + every));
        return Decision::At {
            at,
            mode: SyncMode::Incremental,
        };
    }
    let interval = Duration::from_std(settings.interval).unwrap_or(Duration::hours(1));
    let reconcile_every = Duration::from_std(settings.reconcile_every).unwrap_or(Duration::days(1));
    let max_backoff = Duration::from_std(settings.max_backoff).unwrap_or(Duration::days(1));
    let delay = match facts.consecutive_failures {
        0 | 1 => interval,
        k => {
            // Doubling from the second failure in a row: 2×, 4×, … the interval, capped.
            let factor = 1_i32 << (k - 1).min(16);
            interval
                .checked_mul(factor)
                .unwrap_or(max_backoff)
                .min(max_backoff)
        }
    };
    // A base is a fixed instant in the past, not `now`, wherever it can be: a decision that is
    // due but cannot start yet (paused, already running) then stays the same from one look to
    // the next, so the scheduler neither spins on it nor announces a "change" on every look.
    let base = match (startup, facts.last_run) {
        (true, _) => now,
        (false, None) => facts.created_at.min(now),
        // Stamped in the future (a clock that was ahead at boot, a dual boot): when it really
        // ran is unknown, so it is overdue, not due a month from now.
        (false, Some((_, started))) if started > now => now,
        // A backfill stopped by a rate limit continues as soon as the budget allows.
        (false, Some((_, started))) if facts.walk_pending && facts.stopped_by_rate_limit => started,
        (false, Some((run_id, started))) => started + jitter(delay, facts.connection_id, run_id),
    };
    let at = [
        Some(base),
        facts.rate_limited_until,
        facts.budget_spent_until,
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(now);
    let reconcile_due = facts.reconcilable
        && !facts.walk_pending
        && facts.last_full_at.unwrap_or(facts.created_at) + reconcile_every <= at;
    Decision::At {
        at,
        mode: if reconcile_due {
            SyncMode::Full
        } else {
            SyncMode::Incremental
        },
    }
}

/// `delay` stretched or shrunk by up to 10 %, the same for the same (connection, run) so that a
/// decision does not wobble between ticks.
fn jitter(delay: Duration, connection_id: i64, run_id: i64) -> Duration {
    let mut z = (connection_id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (run_id as u64);
    z = (z ^ (z >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let unit = (z >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
    let millis = delay.num_milliseconds() as f64 * (0.9 + 0.2 * unit);
    Duration::milliseconds(millis as i64)
}

// What the scheduler publishes is data every front end receives (in events and the dashboard):
// it lives in `domain`, so that the events do not depend on the scheduler, which emits them.
pub use crate::domain::{NextRun, SchedulerStatus};

struct Shared {
    /// What the scheduler was started with (the interval and reconcile in force are read at
    /// each look: see [`Scheduler::pacing`]).
    settings: SchedulerSettings,
    /// Paused by this handle (the athlete's saved pause is read from the store at each look).
    paused: AtomicBool,
    /// Looks taken since the start (the idle benchmark's wake-ups; tests of the loop's pace).
    looks: AtomicU64,
    wake: Notify,
    cancel: CancellationToken,
    status: Mutex<SchedulerStatus>,
    /// Download batches started by this scheduler (awaited at shutdown).
    downloads: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Connections whose download queue was found empty, with their latest run (and its
    /// status) then: not asked again until that changes (a run that ends or starts is what
    /// brings new activities), so an idle look costs no scan of the library.
    drained: Mutex<std::collections::HashMap<i64, Option<(i64, SyncStatus)>>>,
    /// Connections whose last batch stopped early (an outage, a refused token, a rate limit):
    /// not started again before this, so a failing provider is never asked in a loop.
    download_backoff: Mutex<std::collections::HashMap<i64, DateTime<Utc>>>,
}

/// A running scheduler. Dropping it stops the loop; [`SchedulerHandle::shutdown`] also waits for
/// it and cancels the runs in progress (recorded `cancelled`).
pub struct SchedulerHandle {
    shared: Arc<Shared>,
    engine: SyncEngine,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl SchedulerHandle {
    /// Stop starting runs (runs in progress finish).
    pub fn pause(&self) {
        self.shared.paused.store(true, Ordering::SeqCst);
        self.shared.wake.notify_one();
    }

    /// Start runs again.
    pub fn resume(&self) {
        self.shared.paused.store(false, Ordering::SeqCst);
        self.shared.wake.notify_one();
    }

    /// Whether it is paused, by this handle or by the athlete's saved setting (as of the
    /// latest look).
    pub fn is_paused(&self) -> bool {
        self.shared.paused.load(Ordering::SeqCst) || lock(&self.shared.status).paused
    }

    /// How many looks the loop has taken since it started: one per wake-up. An idle scheduler
    /// takes at most one a minute.
    pub fn looks(&self) -> u64 {
        self.shared.looks.load(Ordering::SeqCst)
    }

    /// Look again now (after a connect, a toggle, or "sync all now").
    pub fn wake(&self) {
        self.shared.wake.notify_one();
    }

    /// Where it stands.
    pub fn status(&self) -> SchedulerStatus {
        lock(&self.shared.status).clone()
    }

    /// Stop the loop, then cancel the runs in progress and wait until each recorded its end.
    pub async fn shutdown(mut self) {
        self.shared.cancel.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.engine.cancel_all_and_wait().await;
        // A batch stops between two activities once cancelled; the one in flight is written
        // whole (its file before its row) or not at all.
        let batches = std::mem::take(&mut *lock(&self.shared.downloads));
        for batch in batches {
            let _ = batch.await;
        }
    }
}

impl Drop for SchedulerHandle {
    fn drop(&mut self) {
        self.shared.cancel.cancel();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What the scheduler loop needs.
pub(crate) struct Scheduler {
    pub store: Store,
    pub engine: SyncEngine,
    pub registry: Arc<Registry>,
    pub clock: Arc<dyn Clock>,
    pub events: Arc<dyn EventSink>,
    pub athlete_id: i64,
    /// Where the status is published for the core's dashboard query.
    pub published: Arc<Mutex<Option<SchedulerStatus>>>,
    /// What this scheduler keeps fixed instead of the saved settings.
    pub fixed: Fixed,
    /// Notified when the athlete's settings change (through any front end of this process).
    pub settings_changed: Arc<Notify>,
    /// The recordings' download queue, when it runs in the background.
    pub downloader: Option<crate::recording::queue::Downloader>,
}

impl Scheduler {
    /// Start the loop in the background.
    pub fn start(self, settings: SchedulerSettings) -> SchedulerHandle {
        let shared = Arc::new(Shared {
            settings,
            paused: AtomicBool::new(false),
            looks: AtomicU64::new(0),
            wake: Notify::new(),
            cancel: CancellationToken::new(),
            status: Mutex::new(SchedulerStatus::default()),
            downloads: Mutex::new(Vec::new()),
            drained: Mutex::new(std::collections::HashMap::new()),
            download_backoff: Mutex::new(std::collections::HashMap::new()),
        });
        let engine = self.engine.clone();
        let task = tokio::spawn({
            let shared = shared.clone();
            async move { self.run(shared).await }
        });
        SchedulerHandle {
            shared,
            engine,
            task: Some(task),
        }
    }

    async fn run(self, shared: Arc<Shared>) {
        // The start-up pass is the first look only. Started paused, there is none: resuming
        // runs what is due, as after any pause.
        let mut startup = shared.settings.startup_run;
        let finished = self.engine.finished();
        let settings_changed = self.settings_changed.clone();
        loop {
            shared.looks.fetch_add(1, Ordering::SeqCst);
            let wait = match self.pacing(&shared).await {
                Ok((settings, paused)) => {
                    match self.tick(&shared, &settings, paused, startup).await {
                        Ok(wait) => wait,
                        Err(e) => {
                            tracing::warn!(error = %e, "the scheduler could not look at the connections");
                            std::time::Duration::from_secs(30)
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the scheduler could not read the settings");
                    std::time::Duration::from_secs(30)
                }
            };
            startup = false;
            // Never sleep long in one go: a suspended machine wakes up to a clock that jumped.
            // The floor only guards against a busy loop; nothing due asks for less than 1 s.
            let wait = wait.clamp(
                std::time::Duration::from_millis(50),
                std::time::Duration::from_secs(60),
            );
            tokio::select! {
                () = shared.cancel.cancelled() => return,
                () = shared.wake.notified() => {}
                () = finished.notified() => {}
                () = settings_changed.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// The pacing and pause in force: the athlete's saved settings (so every front end, the
    /// tray and `tributary agent` alike, honours a pause or an interval saved by any other),
    /// except what this scheduler was started with as fixed.
    async fn pacing(&self, shared: &Shared) -> Result<(SchedulerSettings, bool)> {
        let saved = crate::settings::load(&self.store).await?;
        let from_saved = saved.scheduler();
        let pacing = SchedulerSettings {
            interval: self.fixed.interval.unwrap_or(from_saved.interval),
            reconcile_every: self
                .fixed
                .reconcile_every
                .unwrap_or(from_saved.reconcile_every),
            ..shared.settings.clone()
        };
        let paused = saved.paused || shared.paused.load(Ordering::SeqCst);
        Ok((pacing, paused))
    }

    /// One look: recover dead runs, decide, start what is due. Returns how long to wait.
    async fn tick(
        &self,
        shared: &Arc<Shared>,
        settings: &SchedulerSettings,
        paused: bool,
        startup: bool,
    ) -> Result<std::time::Duration> {
        if let Err(e) = self.engine.recover_interrupted(None).await {
            tracing::warn!(error = %e, "could not recover runs of stopped processes");
        }
        let now = self.clock.now();
        let mut next_runs = Vec::new();
        let mut offline = Vec::new();
        let mut soonest: Option<DateTime<Utc>> = None;
        for facts in self.gather(now).await? {
            // Paused, there is no start-up pass to show (its "now" would change at every look).
            let decision = decide(&facts, settings, now, startup && !paused);
            let Decision::At { at, mode } = decision else {
                next_runs.push(NextRun {
                    provider: facts.provider,
                    at: None,
                    reconcile: false,
                });
                continue;
            };
            let mut at = at;
            let due = at <= now;
            // Due but held back (paused, or its run is still going): not a reason to look again
            // soon. A resume wakes the loop, and so does the end of every run.
            let held = due && (paused || self.engine.is_running(facts.provider));
            if due && !held {
                if self.engine.probe(facts.provider).await {
                    let trigger = if startup {
                        SyncTrigger::Startup
                    } else {
                        SyncTrigger::Scheduled
                    };
                    match self.engine.start(facts.provider, trigger, mode).await {
                        Ok(_) => {}
                        // Refusals are normal here (the CLI is syncing it, a budget is spent):
                        // the next look decides again.
                        Err(e) => {
                            tracing::info!(provider = %facts.provider, error = %e, "scheduled sync not started")
                        }
                    }
                    at = now + Duration::from_std(settings.interval).unwrap_or(Duration::hours(1));
                } else {
                    // No network is not a failed run: wait quietly and look again soon.
                    offline.push(facts.provider);
                    at = now
                        + Duration::from_std(settings.offline_retry)
                            .unwrap_or(Duration::minutes(1));
                }
            }
            if !held {
                soonest = Some(soonest.map_or(at, |s| s.min(at)));
            }
            next_runs.push(NextRun {
                provider: facts.provider,
                at: Some(at),
                reconcile: mode == SyncMode::Full,
            });
        }
        if !paused && let Some(downloader) = &self.downloader {
            match self.downloads(downloader, shared, now).await {
                Ok(Some(at)) => soonest = Some(soonest.map_or(at, |s| s.min(at))),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "could not look at the download queues"),
            }
        }
        let status = SchedulerStatus {
            paused,
            offline,
            next_runs,
        };
        let changed = {
            let mut current = lock(&shared.status);
            let changed = *current != status;
            *current = status.clone();
            changed
        };
        *lock(&self.published) = Some(status.clone());
        if changed {
            self.events.emit(CoreEvent::SchedulerChanged { status });
        }
        // Paused, nothing can start: look again only to notice a resume saved by another
        // process (one in this one wakes the loop at once), so at the longest chunk.
        let wait = match (paused, soonest) {
            (true, _) => std::time::Duration::MAX,
            (false, Some(s)) => (s - now).to_std().unwrap_or_default(),
            (false, None) => settings.interval,
        };
        Ok(wait)
    }

    /// Start a download batch for every connection whose queue has work it may do now (one
    /// batch per connection at a time); returns when a queue may next spend, if one waits for
    /// its share of the budget to refill.
    async fn downloads(
        &self,
        downloader: &crate::recording::queue::Downloader,
        shared: &Arc<Shared>,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>> {
        lock(&shared.downloads).retain(|t| !t.is_finished());
        let mut soonest: Option<DateTime<Utc>> = None;
        for c in store::connections::list(self.store.pool(), self.athlete_id).await? {
            if downloader.is_running(c.id) {
                continue;
            }
            if let Some(until) = lock(&shared.download_backoff).get(&c.id).copied()
                && until > now
            {
                soonest = Some(soonest.map_or(until, |s| s.min(until)));
                continue;
            }
            let latest = store::sync_history::history(self.store.pool(), c.id, 1, 0)
                .await?
                .first()
                .map(|r| (r.id, r.status));
            if lock(&shared.drained).get(&c.id) == Some(&latest) {
                continue;
            }
            let Some(at) = downloader.due(&c, now).await? else {
                lock(&shared.drained).insert(c.id, latest);
                continue;
            };
            lock(&shared.drained).remove(&c.id);
            if at > now {
                soonest = Some(soonest.map_or(at, |s| s.min(at)));
                continue;
            }
            let (downloader, cancel, provider, clock, id) = (
                downloader.clone(),
                shared.cancel.clone(),
                c.provider,
                self.clock.clone(),
                c.id,
            );
            let backoff =
                Duration::from_std(shared.settings.offline_retry).unwrap_or(Duration::minutes(1));
            let looked = Arc::downgrade(shared);
            let batch = tokio::spawn(async move {
                let early = match downloader
                    .run_batch(provider, crate::recording::queue::BATCH, &cancel)
                    .await
                {
                    Ok(report) => {
                        tracing::info!(%provider, stored = report.stored,
                            requests = report.requests, stopped = ?report.stopped, "download batch");
                        report.stopped.is_some()
                    }
                    Err(Error::AlreadyRunning { .. }) => true,
                    Err(e) => {
                        tracing::warn!(%provider, error = %e, "download batch failed");
                        true
                    }
                };
                // Look again: the queue may have more, or wait for its share to refill; after
                // an early stop, not before the back-off.
                if let Some(shared) = looked.upgrade() {
                    if early {
                        lock(&shared.download_backoff).insert(id, clock.now() + backoff);
                    }
                    shared.wake.notify_one();
                }
            });
            lock(&shared.downloads).push(batch);
        }
        Ok(soonest)
    }

    /// The facts of every connection of the athlete.
    async fn gather(&self, now: DateTime<Utc>) -> Result<Vec<Facts>> {
        let pool = self.store.pool();
        let mut out = Vec::new();
        for c in store::connections::list(pool, self.athlete_id).await? {
            let Ok(client) = self.registry.for_connection(&c) else {
                continue;
            };
            let recent = store::sync_history::history(pool, c.id, 8, 0).await?;
            let consecutive_failures = recent
                .iter()
                .filter(|r| r.status != SyncStatus::Running)
                .take_while(|r| r.status == SyncStatus::Failed)
                .count();
            let stopped_by_rate_limit = recent
                .iter()
                .find(|r| r.status != SyncStatus::Running)
                .is_some_and(|r| {
                    r.status == SyncStatus::Partial
                        && r.error_code == Some(crate::ErrorCode::RateLimited)
                });
            let state = store::sync_state::get(pool, c.id)
                .await?
                .filter(|s| s.account == c.provider_user_id)
                .unwrap_or_default();
            let budget = store::budgets::get(pool, c.provider).await?;
            out.push(Facts {
                connection_id: c.id,
                provider: c.provider,
                enabled: c.enabled,
                state: c.state,
                rate_limited_until: c.rate_limited_until.filter(|u| *u > now),
                budget_spent_until: budget
                    .filter(|b| b.remaining <= 0 && b.resets_at > now)
                    .map(|b| b.resets_at),
                created_at: c.created_at,
                last_run: recent.first().map(|r| (r.id, r.started_at)),
                consecutive_failures: u32::try_from(consecutive_failures).unwrap_or(u32::MAX),
                walk_pending: state.walk_cursor.is_some(),
                stopped_by_rate_limit,
                last_full_at: state.last_full_at,
                reconcilable: client.capabilities().delivery == Delivery::Pull,
            });
        }
        Ok(out)
    }
}

/// What one connection's run in [`crate::Core::sync_all`] came to.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncOutcome {
    /// Provider.
    pub provider: ProviderKind,
    /// The run, when one ran.
    pub run: Option<crate::domain::SyncRun>,
    /// Why none ran, or why the run could not report its end.
    pub refused: Option<Refusal>,
}

/// Why a sync did not run.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Refusal {
    /// Stable code.
    pub code: crate::ErrorCode,
    /// A sentence for the athlete.
    pub message: String,
}

impl From<&Error> for Refusal {
    fn from(e: &Error) -> Self {
        Self {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap()
    }

    fn facts() -> Facts {
        Facts {
            connection_id: 7,
            provider: ProviderKind::Strava,
            enabled: true,
            state: ConnectionState::Active,
            rate_limited_until: None,
            budget_spent_until: None,
            created_at: now() - Duration::hours(2),
            last_run: Some((41, now() - Duration::minutes(10))),
            consecutive_failures: 0,
            walk_pending: false,
            stopped_by_rate_limit: false,
            last_full_at: Some(now() - Duration::hours(1)),
            reconcilable: true,
        }
    }

    fn at(decision: Decision) -> (DateTime<Utc>, SyncMode) {
        match decision {
            Decision::At { at, mode } => (at, mode),
            Decision::Wait => panic!("expected a run"),
        }
    }

    #[test]
    fn a_connection_runs_an_interval_after_its_last_run_within_the_jitter() {
        let settings = SchedulerSettings::default();
        let (when, mode) = at(decide(&facts(), &settings, now(), false));
        let since_last = when - (now() - Duration::minutes(10));
        assert!(
            since_last >= Duration::minutes(54) && since_last <= Duration::minutes(66),
            "one hour ± 10 %: {since_last}"
        );
        assert_eq!(mode, SyncMode::Incremental);
        assert_eq!(
            decide(&facts(), &settings, now(), false),
            decide(&facts(), &settings, now() + Duration::seconds(30), false),
            "the same decision on the next tick"
        );
        let other = Facts {
            connection_id: 8,
            ..facts()
        };
        assert_ne!(
            at(decide(&other, &settings, now(), false)).0,
            when,
            "connections do not move in step"
        );
    }

    #[test]
    fn an_inactive_application_is_probed_once_a_day_not_at_the_interval() {
        let settings = SchedulerSettings::default();
        let inactive = Facts {
            state: ConnectionState::AppInactive,
            consecutive_failures: 5,
            ..facts()
        };
        let (when, mode) = at(decide(&inactive, &settings, now(), false));
        assert_eq!(
            when,
            now() - Duration::minutes(10) + Duration::days(1),
            "a day after the last try"
        );
        assert_eq!(mode, SyncMode::Incremental, "a probe, not a reconcile");
        // The startup pass does not make it run at once either.
        assert_eq!(at(decide(&inactive, &settings, now(), true)).0, when);
        // Switched off, it waits like any other.
        let off = Facts {
            enabled: false,
            ..inactive
        };
        assert_eq!(decide(&off, &settings, now(), false), Decision::Wait);
    }

    #[test]
    fn the_startup_pass_and_a_first_sync_run_now() {
        let settings = SchedulerSettings::default();
        assert_eq!(at(decide(&facts(), &settings, now(), true)).0, now());
        let never = Facts {
            last_run: None,
            ..facts()
        };
        assert_eq!(
            at(decide(&never, &settings, now(), false)).0,
            never.created_at,
            "due since it was connected"
        );
    }

    #[test]
    fn nothing_runs_while_off_or_needing_the_athlete() {
        let settings = SchedulerSettings::default();
        let off = Facts {
            enabled: false,
            ..facts()
        };
        assert_eq!(decide(&off, &settings, now(), true), Decision::Wait);
        for state in [
            ConnectionState::NeedsReauth,
            ConnectionState::ScopeMissing,
            ConnectionState::Deprecated,
        ] {
            let f = Facts { state, ..facts() };
            assert_eq!(
                decide(&f, &settings, now(), true),
                Decision::Wait,
                "{state}"
            );
        }
    }

    #[test]
    fn nothing_runs_before_a_rate_limit_or_a_spent_budget_clears() {
        let settings = SchedulerSettings::default();
        let later = now() + Duration::hours(3);
        let limited = Facts {
            rate_limited_until: Some(later),
            ..facts()
        };
        assert_eq!(at(decide(&limited, &settings, now(), true)).0, later);
        let spent = Facts {
            budget_spent_until: Some(later),
            ..facts()
        };
        assert_eq!(at(decide(&spent, &settings, now(), true)).0, later);
    }

    #[test]
    fn a_backfill_stopped_by_a_rate_limit_continues_when_the_budget_allows() {
        let settings = SchedulerSettings::default();
        let reset = now() + Duration::minutes(5);
        let backfill = Facts {
            walk_pending: true,
            stopped_by_rate_limit: true,
            rate_limited_until: Some(reset),
            ..facts()
        };
        assert_eq!(
            at(decide(&backfill, &settings, now(), false)),
            (reset, SyncMode::Incremental),
            "not an hour later: as soon as the window resets"
        );
    }

    #[test]
    fn repeated_failures_back_off_exponentially_up_to_a_cap() {
        let settings = SchedulerSettings::default();
        let last = now() - Duration::minutes(10);
        let gap = |k| {
            let f = Facts {
                consecutive_failures: k,
                ..facts()
            };
            at(decide(&f, &settings, now(), false)).0 - last
        };
        assert!(
            gap(1) >= Duration::minutes(54) && gap(1) <= Duration::minutes(66),
            "one failure: the usual interval (± 10 %), not at once: {}",
            gap(1)
        );
        assert!(gap(2) > Duration::minutes(107) && gap(2) < Duration::minutes(133));
        assert!(gap(3) > Duration::minutes(215) && gap(3) < Duration::minutes(265));
        assert!(
            gap(30) >= Duration::minutes(1296) && gap(30) <= Duration::minutes(1584),
            "capped at a day (± 10 % jitter): {}",
            gap(30)
        );
    }

    #[test]
    fn a_due_decision_is_the_same_at_every_look() {
        // A decision that is due but held back (paused, running) must not move with the clock,
        // or the loop looks again at once and announces a change each time (issue 14, 1).
        let settings = SchedulerSettings::default();
        let later = now() + Duration::seconds(30);
        let never = Facts {
            last_run: None,
            ..facts()
        };
        let continuing = Facts {
            walk_pending: true,
            stopped_by_rate_limit: true,
            ..facts()
        };
        let overdue = Facts {
            last_run: Some((41, now() - Duration::hours(3))),
            ..facts()
        };
        for f in [never, continuing, overdue] {
            let first = decide(&f, &settings, now(), false);
            assert!(at(first).0 <= now(), "due: {f:?}");
            assert_eq!(first, decide(&f, &settings, later, false), "{f:?}");
        }
    }

    #[test]
    fn a_cancelled_or_failed_backfill_waits_for_its_interval() {
        // Only a rate limit's `partial` continues a backfill at once (issue 14, defect 2).
        let settings = SchedulerSettings::default();
        let cancelled = Facts {
            walk_pending: true,
            stopped_by_rate_limit: false,
            ..facts()
        };
        assert!(at(decide(&cancelled, &settings, now(), false)).0 > now() + Duration::minutes(40));
    }

    #[test]
    fn a_run_stamped_in_the_future_is_overdue() {
        let settings = SchedulerSettings::default();
        let ahead = Facts {
            last_run: Some((41, now() + Duration::days(30))),
            ..facts()
        };
        assert_eq!(at(decide(&ahead, &settings, now(), false)).0, now());
    }

    #[test]
    fn a_daily_reconcile_where_the_provider_lists_its_history() {
        let settings = SchedulerSettings::default();
        let stale = Facts {
            last_full_at: Some(now() - Duration::days(2)),
            ..facts()
        };
        assert_eq!(
            at(decide(&stale, &settings, now(), false)).1,
            SyncMode::Full
        );
        let stream = Facts {
            reconcilable: false,
            ..stale
        };
        assert_eq!(
            at(decide(&stream, &settings, now(), false)).1,
            SyncMode::Incremental,
            "an inbox cannot be reconciled"
        );
        let backfilling = Facts {
            walk_pending: true,
            ..stale
        };
        assert_eq!(
            at(decide(&backfilling, &settings, now(), false)).1,
            SyncMode::Incremental,
            "the backfill finishes first"
        );
        let new = Facts {
            last_full_at: None,
            created_at: now() - Duration::hours(3),
            ..facts()
        };
        assert_eq!(
            at(decide(&new, &settings, now(), false)).1,
            SyncMode::Incremental,
            "a new connection's first walk read everything already"
        );
    }
}
