//! The download queue: each connection's recordings, fetched one activity at a time beside the
//! summary sync (which never waits for it), within a share of the provider's budget.
//!
//! Budget. The queue spends at most [`QUEUE_SHARE`] of every documented rate window of the
//! provider, counted from the requests it made itself (each `recordings.fetched_at`, in any
//! process), and stops while the budget the provider last reported is down to the reserve left
//! for summary syncs. So a ten-year Strava backfill runs at 80 reads per 15 minutes and the
//! incremental sync still gets through.
//!
//! Durability. An original is on disk before its row; a row is written per activity in its own
//! transaction. A kill loses at most the activity in flight, which is fetched again (its bytes
//! land on the same content address). What is stored is never fetched again.
//!
//! Bounded. A batch stops at its limit, at the allowance, at the first rate limit, outage or
//! refused token, or on cancel; an activity that keeps failing is retried with a growing wait and
//! given up after [`store::recordings::MAX_ATTEMPTS`] tries, as a stored outcome.

use super::files::OriginalFiles;
use super::kept::Kept;
use super::{FileFormat, Original, Streams};
use crate::clock::Clock;
use crate::domain::{Connection, ProviderKind};
use crate::events::{CoreEvent, EventSink};
use crate::providers::{
    Call, FetchedRecording, Meter, Provider, RateBudget, RecordingRequest, Recordings, Registry,
};
use crate::store::Store;
use crate::store::recordings::{Counts, Outcome, Pending, RecordingStatus};
use crate::sync::lock::LockDir;
use crate::vault::TokenVault;
use crate::{Error, Result, store};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The share of each documented rate window the queue may spend (the rest is the summary
/// sync's).
pub const QUEUE_SHARE: f64 = 0.8;

/// The most activities one batch fetches (a scheduled batch; `tributary files` sets its own).
pub const BATCH: usize = 200;

/// Where a connection's recordings stand: counts, and how long the rest will take.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Progress {
    /// What the provider offers.
    pub offers: Recordings,
    /// The counts.
    pub counts: Counts,
    /// Seconds until the rest is fetched at the provider's limit (None: nothing left, or the
    /// provider has no documented limit to estimate from).
    pub eta_seconds: Option<i64>,
    /// When the queue may spend again, while its share of the budget is spent.
    pub waiting_until: Option<DateTime<Utc>>,
}

/// What one batch did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BatchReport {
    /// Provider.
    pub provider: Option<ProviderKind>,
    /// Recordings kept and decoded.
    pub stored: u32,
    /// Originals kept that could not be decoded.
    pub unreadable: u32,
    /// Activities the provider has no recording for.
    pub none: u32,
    /// Attempts that failed (tried again later).
    pub failed: u32,
    /// Requests made.
    pub requests: i64,
    /// Why it stopped before the queue was empty, if it did.
    pub stopped: Option<String>,
    /// Where the connection stands after it.
    pub progress: Option<Progress>,
}

/// How many requests the queue may make now, and when it may again when none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    /// Requests allowed now (`i64::MAX` where nothing limits it).
    pub now: i64,
    /// When one more is allowed, when `now` is 0.
    pub next_at: Option<DateTime<Utc>>,
}

/// The queue. Cheap to clone.
#[derive(Clone)]
pub struct Downloader {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    vault: TokenVault,
    registry: Arc<Registry>,
    clock: Arc<dyn Clock>,
    events: Arc<dyn EventSink>,
    files: OriginalFiles,
    locks: LockDir,
    athlete_id: i64,
    /// Connections with a batch going in this process.
    running: std::sync::Mutex<std::collections::HashSet<i64>>,
}

/// Releases a connection's in-process slot.
struct Running<'a>(&'a Inner, i64);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.1);
    }
}

/// What one activity came to.
enum Step {
    Done(RecordingStatus),
    /// Stop the batch (rate limit, outage, refused token); nothing was written for it.
    Stop(Error),
}

impl Downloader {
    /// A queue over the given parts; its locks live under `<data_dir>/locks/downloads`.
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
                files: OriginalFiles::new(data_dir),
                locks: LockDir::named(data_dir, "downloads"),
                athlete_id,
                running: std::sync::Mutex::new(std::collections::HashSet::new()),
            }),
        }
    }

    /// The originals on disk.
    pub fn files(&self) -> &OriginalFiles {
        &self.inner.files
    }

    /// Whether a batch for `connection_id` runs in this process.
    pub fn is_running(&self, connection_id: i64) -> bool {
        self.inner
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(&connection_id)
    }

    /// How many requests the queue may make for `connection` now.
    pub async fn allowance(&self, connection: &Connection) -> Result<Allowance> {
        let client = self.inner.registry.for_connection(connection)?;
        let caps = client.capabilities();
        let now = self.inner.clock.now();
        let pool = self.inner.store.pool();
        let mut allowance = Allowance {
            now: i64::MAX,
            next_at: None,
        };
        for window in &caps.rate_limits {
            let share = ((f64::from(window.limit) * QUEUE_SHARE).floor() as i64).max(1);
            let length = Duration::seconds(i64::from(window.seconds));
            let (spent, oldest) =
                store::recordings::spent_since(pool, connection.id, now - length).await?;
            let left = share - spent;
            if left <= 0 {
                let free = oldest.map_or(now + length, |o| o + length);
                allowance.next_at = Some(allowance.next_at.map_or(free, |n| n.max(free)));
            }
            allowance.now = allowance.now.min(left.max(0));
        }
        // What the provider itself last reported: keep the reserve for summary syncs.
        if let Some(budget) = store::budgets::get(pool, connection.provider).await?
            && budget.resets_at > now
            && budget.remaining <= reserve(&caps)
        {
            allowance.now = 0;
            allowance.next_at = Some(
                allowance
                    .next_at
                    .map_or(budget.resets_at, |n| n.max(budget.resets_at)),
            );
        }
        if allowance.now > 0 {
            allowance.next_at = None;
        }
        Ok(allowance)
    }

    /// Where `connection`'s recordings stand.
    pub async fn progress(&self, connection: &Connection) -> Result<Progress> {
        let client = self.inner.registry.for_connection(connection)?;
        let caps = client.capabilities();
        if caps.recordings == Recordings::None {
            return Ok(Progress {
                offers: caps.recordings,
                counts: Counts::default(),
                eta_seconds: None,
                waiting_until: None,
            });
        }
        let counts = store::recordings::counts(self.inner.store.pool(), connection.id).await?;
        let allowance = self.allowance(connection).await?;
        // The binding pace: the slowest of the windows at the queue's share.
        let per_second = caps
            .rate_limits
            .iter()
            .map(|w| (f64::from(w.limit) * QUEUE_SHARE).floor().max(1.0) / f64::from(w.seconds))
            .fold(f64::INFINITY, f64::min);
        let left = counts.pending;
        let eta_seconds = match caps.recordings {
            Recordings::None => None,
            _ if left == 0 => None,
            _ if per_second.is_finite() && per_second > 0.0 => {
                Some((left as f64 / per_second).ceil() as i64)
            }
            _ => None,
        };
        Ok(Progress {
            offers: caps.recordings,
            counts,
            eta_seconds,
            waiting_until: allowance.next_at.filter(|_| left > 0),
        })
    }

    /// When the queue of `connection` next has work it may do: now, when its share refills, or
    /// never (nothing to fetch, nothing offered, or the connection cannot sync). `now` is the
    /// caller's (one instant per look: "due" is then exactly `now`, never a moment after it).
    pub async fn due(
        &self,
        connection: &Connection,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>> {
        if !connection.enabled || connection.state.waits_for_athlete() {
            return Ok(None);
        }
        let client = self.inner.registry.for_connection(connection)?;
        if client.capabilities().recordings == Recordings::None {
            return Ok(None);
        }
        let next =
            store::recordings::pending(self.inner.store.pool(), connection.id, 1, now).await?;
        if next.is_empty() {
            return Ok(None);
        }
        let allowance = self.allowance(connection).await?;
        Ok(Some(match allowance.now {
            0 => allowance.next_at.unwrap_or(now + Duration::minutes(1)),
            _ => now,
        }))
    }

    /// Fetch up to `limit` recordings of `provider`'s connection, newest first, within the
    /// allowance. Refused (`AlreadyRunning`) while another batch for it runs in any process.
    pub async fn run_batch(
        &self,
        provider: ProviderKind,
        limit: usize,
        cancel: &CancellationToken,
    ) -> Result<BatchReport> {
        let inner = &self.inner;
        let connection =
            store::connections::get_by_provider(inner.store.pool(), inner.athlete_id, provider)
                .await?
                .ok_or_else(|| Error::not_found(format!("a {provider} connection")))?;
        let client = inner.registry.for_connection(&connection)?;
        let mut report = BatchReport {
            provider: Some(provider),
            ..BatchReport::default()
        };
        if client.capabilities().recordings == Recordings::None {
            report.progress = Some(self.progress(&connection).await?);
            return Ok(report);
        }
        if !connection.enabled {
            return Err(Error::Validation(format!(
                "{provider} is switched off; switch it on to fetch its recordings"
            )));
        }
        let _slot = self.claim(connection.id, provider)?;
        let Some(_lock) = inner.locks.try_lock(connection.id)? else {
            return Err(Error::AlreadyRunning { provider });
        };
        let meter = Arc::new(Meter::default());
        let mut done = 0usize;
        'batch: while done < limit && !cancel.is_cancelled() {
            let allowance = self.allowance(&connection).await?;
            if allowance.now == 0 {
                report.stopped = Some(match allowance.next_at {
                    Some(at) => format!("the share of {provider}'s rate limit is spent until {at}"),
                    None => format!("the share of {provider}'s rate limit is spent"),
                });
                break;
            }
            let take = (limit - done)
                .min(usize::try_from(allowance.now).unwrap_or(usize::MAX))
                .min(50);
            let now = inner.clock.now();
            let pending =
                store::recordings::pending(inner.store.pool(), connection.id, take as i64, now)
                    .await?;
            if pending.is_empty() {
                break;
            }
            for item in pending {
                if cancel.is_cancelled() {
                    report.stopped = Some("cancelled".to_owned());
                    break 'batch;
                }
                let before = meter.calls();
                let step = self.fetch_one(&connection, &client, &meter, &item).await;
                report.requests += meter.calls() - before;
                done += 1;
                match step {
                    Ok(Step::Done(status)) => {
                        match status {
                            RecordingStatus::Stored => report.stored += 1,
                            RecordingStatus::Unreadable => report.unreadable += 1,
                            RecordingStatus::None => report.none += 1,
                            RecordingStatus::Failed => report.failed += 1,
                        }
                        inner.events.emit(CoreEvent::RecordingsChanged { provider });
                    }
                    Ok(Step::Stop(error)) | Err(error) => {
                        report.stopped = Some(error.to_string());
                        break 'batch;
                    }
                }
                // The provider says its budget is down to the reserve: leave the rest to it.
                if let Some(budget) = meter.budget()
                    && budget.remaining <= reserve(&client.capabilities())
                    && budget.resets_at > inner.clock.now()
                {
                    report.stopped = Some(format!(
                        "{provider}'s rate budget is down to the summary sync's reserve"
                    ));
                    break 'batch;
                }
                if done >= limit {
                    break 'batch;
                }
            }
        }
        if cancel.is_cancelled() && report.stopped.is_none() {
            report.stopped = Some("cancelled".to_owned());
        }
        if let Some(budget) = meter.budget() {
            store::budgets::put(inner.store.pool(), provider, budget, inner.clock.now()).await?;
        }
        report.progress = Some(self.progress(&connection).await?);
        Ok(report)
    }

    /// Fetch the recording of one activity now, if it is missing (opening an activity): one
    /// request, unless the allowance is spent (then the error says until when).
    pub async fn fetch_now(&self, activity_id: i64) -> Result<Option<RecordingStatus>> {
        let inner = &self.inner;
        let pool = inner.store.pool();
        let Some(item) = store::recordings::one(pool, activity_id, true).await? else {
            return Ok(None); // already dealt with
        };
        let Some(connection) = self.connection_of(activity_id).await? else {
            return Ok(None); // kept after a disconnect: nobody to ask
        };
        let client = inner.registry.for_connection(&connection)?;
        let caps = client.capabilities();
        if caps.recordings == Recordings::None {
            // Nothing to ask: say so once, as a stored outcome, rather than "not fetched yet".
            let reason = format!("{} offers no recordings through its API", caps.display_name);
            self.write(&Outcome::nothing_kept(
                activity_id,
                RecordingStatus::None,
                &reason,
                None,
                false,
            ))
            .await?;
            return Ok(Some(RecordingStatus::None));
        }
        if !connection.enabled || connection.state.waits_for_athlete() {
            return Ok(None);
        }
        let allowance = self.allowance(&connection).await?;
        if allowance.now == 0 {
            return Err(Error::RateLimited {
                provider: connection.provider,
                until: allowance.next_at.unwrap_or_else(|| inner.clock.now()),
            });
        }
        let meter = Arc::new(Meter::default());
        let step = self.fetch_one(&connection, &client, &meter, &item).await;
        if let Some(budget) = meter.budget() {
            store::budgets::put(pool, connection.provider, budget, inner.clock.now()).await?;
        }
        match step? {
            Step::Done(status) => {
                inner.events.emit(CoreEvent::RecordingsChanged {
                    provider: connection.provider,
                });
                Ok(Some(status))
            }
            Step::Stop(error) => Err(error),
        }
    }

    /// Fetch the laps of a stored recording that has none yet (Strava's streams), one request
    /// when the budget allows it now. Returns whether laps were stored.
    pub async fn fetch_laps_now(&self, activity_id: i64) -> Result<bool> {
        let inner = &self.inner;
        let pool = inner.store.pool();
        let Some(row) = store::recordings::get(pool, activity_id).await? else {
            return Ok(false);
        };
        if row.laps.is_some() || row.status() != RecordingStatus::Stored {
            return Ok(false);
        }
        let Some(connection) = self.connection_of(activity_id).await? else {
            return Ok(false);
        };
        if !connection.enabled || connection.state.waits_for_athlete() {
            return Ok(false);
        }
        let Some(item) = store::recordings::one(pool, activity_id, false).await? else {
            return Ok(false);
        };
        if self.allowance(&connection).await?.now == 0 {
            return Ok(false); // the laps can wait for the budget; the streams are shown
        }
        let client = inner.registry.for_connection(&connection)?;
        let summary: serde_json::Value =
            serde_json::from_str(&item.raw_json).unwrap_or(serde_json::Value::Null);
        let request = RecordingRequest {
            provider_activity_id: &item.provider_activity_id,
            summary: &summary,
        };
        let meter = Arc::new(Meter::default());
        let token = inner
            .vault
            .access_token(&connection, client.clone(), meter.clone(), None)
            .await?;
        let call = Call {
            token: Some(&token),
            meter: &meter,
            clock: inner.clock.as_ref(),
        };
        let laps = client.fetch_laps(&call, &request).await;
        if let Some(budget) = meter.budget() {
            store::budgets::put(pool, connection.provider, budget, inner.clock.now()).await?;
        }
        let Some(laps) = laps? else {
            return Ok(false);
        };
        let text = serde_json::to_string(&laps)
            .map_err(|e| Error::Internal(format!("cannot write laps: {e}")))?;
        store::recordings::set_laps(pool, activity_id, &text, inner.clock.now()).await?;
        Ok(true)
    }

    /// The connection activity `id` was read through, if it still has one.
    async fn connection_of(&self, id: i64) -> Result<Option<Connection>> {
        let pool = self.inner.store.pool();
        match store::activities::connection_of(pool, id).await? {
            Some(connection_id) => store::connections::get(pool, connection_id).await,
            None => Ok(None),
        }
    }

    fn claim(&self, connection_id: i64, provider: ProviderKind) -> Result<Running<'_>> {
        let mut running = self
            .inner
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !running.insert(connection_id) {
            return Err(Error::AlreadyRunning { provider });
        }
        Ok(Running(&self.inner, connection_id))
    }

    /// One activity: ask, keep, decode, write its outcome.
    async fn fetch_one(
        &self,
        connection: &Connection,
        client: &Arc<dyn Provider>,
        meter: &Arc<Meter>,
        item: &Pending,
    ) -> Result<Step> {
        let inner = &self.inner;
        let summary: serde_json::Value =
            serde_json::from_str(&item.raw_json).unwrap_or(serde_json::Value::Null);
        let request = RecordingRequest {
            provider_activity_id: &item.provider_activity_id,
            summary: &summary,
        };
        let answer = self.ask(connection, client, meter, &request).await;
        let now = inner.clock.now();
        let fetched = match answer {
            Ok(fetched) => fetched,
            Err(error) => {
                return match error {
                    Error::RateLimited { provider, until } => {
                        store::budgets::put(
                            inner.store.pool(),
                            provider,
                            RateBudget {
                                remaining: 0,
                                resets_at: until,
                            },
                            now,
                        )
                        .await?;
                        Ok(Step::Stop(Error::RateLimited { provider, until }))
                    }
                    Error::NeedsReauth { .. }
                    | Error::ScopeMissing { .. }
                    | Error::Network { .. }
                    | Error::Deprecated { .. }
                    | Error::CredentialsMissing { .. }
                    | Error::SecretStore(_)
                    // The connection moved to another door under the batch: nothing learned.
                    | Error::Cancelled => Ok(Step::Stop(error)),
                    // A bad answer for this one activity: note it, try again later, go on.
                    other => {
                        let wait =
                            Duration::minutes(30) * 2_i32.pow(item.attempts.clamp(0, 6) as u32);
                        let reason = other.to_string();
                        self.write(&Outcome::nothing_kept(
                            item.activity_id,
                            RecordingStatus::Failed,
                            &reason,
                            Some(now + wait),
                            true,
                        ))
                        .await?;
                        Ok(Step::Done(RecordingStatus::Failed))
                    }
                };
            }
        };
        let status = match fetched {
            FetchedRecording::Missing(reason) => {
                self.write(&Outcome::nothing_kept(
                    item.activity_id,
                    RecordingStatus::None,
                    &reason,
                    None,
                    true,
                ))
                .await?;
                RecordingStatus::None
            }
            FetchedRecording::Streams(streams) => {
                self.keep(item.activity_id, None, Ok(streams)).await?
            }
            FetchedRecording::File(bytes) => {
                let (original, decoded) = match super::unwrap(bytes.clone()) {
                    Ok(original) => {
                        let decoded = super::decode(&original);
                        (original, decoded)
                    }
                    // A broken wrapper: keep what came, as it came, and say why.
                    Err(why) => (
                        Original {
                            bytes,
                            format: FileFormat::Unknown,
                        },
                        Err(why),
                    ),
                };
                self.keep(item.activity_id, Some(original), decoded).await?
            }
        };
        Ok(Step::Done(status))
    }

    /// Ask the provider, with one refresh-and-retry when it says the token is no longer good.
    async fn ask(
        &self,
        connection: &Connection,
        client: &Arc<dyn Provider>,
        meter: &Arc<Meter>,
        request: &RecordingRequest<'_>,
    ) -> Result<FetchedRecording> {
        let inner = &self.inner;
        let clock = inner.clock.as_ref();
        let token = inner
            .vault
            .access_token(connection, client.clone(), meter.clone(), None)
            .await?;
        let call = Call {
            token: Some(&token),
            meter,
            clock,
        };
        match client.fetch_recording(&call, request).await {
            Err(Error::NeedsReauth { .. }) => {
                let token = inner
                    .vault
                    .access_token(connection, client.clone(), meter.clone(), Some(&token))
                    .await?;
                let call = Call {
                    token: Some(&token),
                    meter,
                    clock,
                };
                client.fetch_recording(&call, request).await
            }
            other => other,
        }
    }

    /// Keep an original (on disk first) and its decoded streams, then write the row.
    async fn keep(
        &self,
        activity_id: i64,
        original: Option<Original>,
        decoded: std::result::Result<Streams, super::Unreadable>,
    ) -> Result<RecordingStatus> {
        let stored = match &original {
            Some(o) => Some((
                self.inner.files.put(o.bytes.clone()).await?,
                o.format.as_str(),
            )),
            None => None,
        };
        let kept = Kept::new(
            stored.as_ref().map(|(s, f)| (s, *f)),
            decoded,
            original.is_none(),
        )?;
        self.write(&kept.outcome(activity_id, true)).await?;
        Ok(kept.status())
    }

    async fn write(&self, outcome: &Outcome<'_>) -> Result<()> {
        let mut tx = self.inner.store.begin().await?;
        // The activity may have gone meanwhile (a disconnect that deleted it): nothing to write.
        if !store::activities::exists(&mut *tx, outcome.activity_id).await? {
            return Ok(());
        }
        store::recordings::save(&mut tx, outcome, self.inner.clock.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Remove originals no activity refers to any more (after the athlete deleted activities),
    /// and leftovers of interrupted writes. Run at start-up.
    pub async fn collect_orphans(&self) -> Result<u64> {
        let mut tx = self.inner.store.begin().await?;
        let keep = store::recordings::collect_unreferenced(&mut tx).await?;
        tx.commit().await?;
        self.inner.files.sweep(keep).await
    }
}

/// Requests left for summary syncs when the provider reports its budget: a fifth of the
/// tightest documented window, at most 20 (a summary sync needs a page or two).
fn reserve(caps: &crate::providers::Capabilities) -> i64 {
    caps.rate_limits
        .iter()
        .map(|w| i64::from(w.limit) / 5)
        .min()
        .unwrap_or(0)
        .clamp(1, 20)
}
