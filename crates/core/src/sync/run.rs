//! One run: where it starts (its plan, from the connection's sync state), the page loop, each
//! page's commit, and the end.
//!
//! Walks. An incremental walk starts from the connection's mark (the newest start a completed
//! walk saw) minus the provider's overlap, or from nothing (the whole history) the first time; a
//! full walk reads everything the provider lists (reconcile: late uploads of any age, edits, and,
//! once it completes, the activities it no longer lists are flagged deleted). Each kind keeps its
//! own resume cursor, committed with every page, so an interrupted full walk never turns the next
//! incremental run into a full one and a full run never erases an unfinished backfill.

use super::{SyncEngine, SyncMode};
use crate::domain::{Connection, ConnectionState, ProviderKind, SyncCounters, SyncRun, SyncStatus};
use crate::events::{CoreEvent, Estimate};
use crate::providers::{ActivityPage, Call, ListRequest, Meter, Provider, RateBudget};
use crate::store::Store;
use crate::store::activities::Upserted;
use crate::store::sync_state::SyncState;
use crate::{Error, Result, store};
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The most pages one run reads: every loop that talks to a provider is bounded (5,000 pages is
/// a million Strava activities).
pub(super) const MAX_PAGES: u32 = 5_000;

/// Which walk a run continues or starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Walk {
    /// Since the mark (minus the overlap), or the whole history the first time.
    Incremental,
    /// Everything the provider lists; `started` identifies the walk across runs.
    Full {
        /// When the walk began.
        started: DateTime<Utc>,
    },
}

/// Where a run starts.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    /// The first page's request.
    pub request: ListRequest,
    /// The walk it belongs to.
    pub walk: Walk,
    /// Whether it resumes an unfinished walk (from a stored cursor).
    pub resumed: bool,
    /// The connection's sync state as read at the start (for this account).
    pub state: SyncState,
}

/// Decide where a run starts, from the connection's sync state.
pub(super) async fn plan(
    store: &Store,
    connection: &Connection,
    client: &dyn Provider,
    mode: SyncMode,
    now: DateTime<Utc>,
) -> Result<Plan> {
    let stored = store::sync_state::get(store.pool(), connection.id).await?;
    let mut state = match stored {
        // The state belongs to the account behind the connection; another account starts afresh.
        Some(state) if state.account == connection.provider_user_id => state,
        _ => SyncState {
            account: connection.provider_user_id.clone(),
            ..SyncState::default()
        },
    };
    // A mark in the future (written by a clock that was ahead, or migrated from elsewhere) would
    // ask only for what starts after it: nothing, on every run, until real time caught up. No
    // activity we stored can be newer than now, so now is the highest true mark.
    state.mark = state.mark.map(|m| m.min(now));
    state.walk_mark = state.walk_mark.map(|m| m.min(now));
    let overlap = Duration::days(i64::from(client.capabilities().overlap_days));
    let (cursor, since, walk, resumed) = match mode {
        SyncMode::Incremental => match &state.walk_cursor {
            Some(cursor) => (Some(cursor.clone()), None, Walk::Incremental, true),
            None => (
                None,
                state.mark.and_then(|m| m.checked_sub_signed(overlap)),
                Walk::Incremental,
                false,
            ),
        },
        SyncMode::Full => match (&state.full_cursor, state.full_started_at) {
            (Some(cursor), Some(started)) => {
                (Some(cursor.clone()), None, Walk::Full { started }, true)
            }
            _ => (None, None, Walk::Full { started: now }, false),
        },
    };
    Ok(Plan {
        request: ListRequest {
            cursor,
            since,
            provider_user_id: connection.provider_user_id.clone(),
            history_start: client.history_start(connection.provider_profile.as_ref()),
            // A full walk re-reads a stream from its beginning; an incremental one continues.
            position: match walk {
                Walk::Incremental => state.position.clone(),
                Walk::Full { .. } => None,
            },
        },
        walk,
        resumed,
        state,
    })
}

/// How a run ended, before it is written down.
pub(super) struct Ending {
    status: SyncStatus,
    error: Option<Error>,
    /// The resumed walk's cursor failed at once: forget it, so the next run starts afresh.
    drop_cursor: bool,
    /// Activities flagged deleted when a full walk completed.
    flagged: i64,
    /// A long first import (the connection's whole history) just completed.
    first_import_done: bool,
}

impl Ending {
    fn new(status: SyncStatus, error: Option<Error>) -> Self {
        Self {
            status,
            error,
            drop_cursor: false,
            flagged: 0,
            first_import_done: false,
        }
    }

    /// The run's work stopped without an ending (a panic): a failure, said plainly.
    pub(super) fn internal(why: String) -> Self {
        Self::new(SyncStatus::Failed, Some(Error::Internal(why)))
    }
}

/// Whether an error on a resumed walk's first page means its cursor is bad (the provider refuses
/// it, or we cannot read it), rather than a passing condition (a rate limit, an outage, a token).
fn blames_the_cursor(error: &Error) -> bool {
    match error {
        Error::Provider { status, .. } => {
            status.is_none_or(|s| (400..500).contains(&s) && s != 401 && s != 429)
        }
        Error::Internal(_) => true,
        _ => false,
    }
}

/// Everything one run needs; owned, so its work can run in a task of its own (a panic there is
/// caught by the run's supervisor and recorded).
pub(super) struct RunContext {
    pub engine: SyncEngine,
    pub connection: Connection,
    pub client: Arc<dyn Provider>,
    pub sync_id: i64,
    pub cancel: CancellationToken,
    pub meter: Arc<Meter>,
    pub plan: Plan,
}

/// What fetching a page came to.
enum Fetched {
    Page(ActivityPage),
    Cancelled,
    Failed(Error),
}

/// What one page's commit did.
struct Committed {
    counters: SyncCounters,
    flagged: i64,
    still_enabled: bool,
}

impl RunContext {
    fn provider(&self) -> ProviderKind {
        self.connection.provider
    }

    fn now(&self) -> DateTime<Utc> {
        self.engine.inner.clock.now()
    }

    /// The page loop. Page N commits while page N+1 is fetched (the next cursor is known once a
    /// page is read, before it is stored), so a run costs about the slower of the two, not their
    /// sum. A cancel or an error while fetching still lets the page in hand commit whole.
    pub async fn run_pages(&self) -> Ending {
        let mut request = self.plan.request.clone();
        let mut state = self.plan.state.clone();
        let mut totals = SyncCounters::default();
        let mut flagged = 0;
        let mut pages = 0;
        let started = tokio::time::Instant::now();
        let mut page = match self.fetch_cancellable(&request).await {
            Fetched::Page(page) => page,
            Fetched::Cancelled => return Ending::new(SyncStatus::Cancelled, None),
            Fetched::Failed(error) => return self.fetch_failed(error, pages, flagged),
        };
        loop {
            // A provider that answers the cursor it was given would loop forever.
            let repeated = page.next_cursor.is_some() && page.next_cursor == request.cursor;
            let next = page.next_cursor.clone().filter(|_| !repeated);
            let next_request = match next.clone() {
                Some(cursor) if pages + 1 < MAX_PAGES => Some(ListRequest {
                    cursor: Some(cursor),
                    // The cursor carries what `since` meant for the first page.
                    since: None,
                    position: page.position.clone().or_else(|| state.position.clone()),
                    ..request.clone()
                }),
                _ => None,
            };
            let progress = page.progress.filter(|_| next.is_some());
            let commit = self.commit_page(page, next.as_deref(), repeated, &mut state);
            let (committed, fetched) = match &next_request {
                Some(next_request) => {
                    let (committed, fetched) =
                        tokio::join!(commit, self.fetch_cancellable(next_request));
                    (committed, Some(fetched))
                }
                None => (commit.await, None),
            };
            let committed = match committed {
                Ok(committed) => committed,
                Err(Error::Cancelled) => return Ending::new(SyncStatus::Cancelled, None),
                Err(error) => return Ending::new(SyncStatus::Failed, Some(error)),
            };
            pages += 1;
            totals.add(committed.counters);
            flagged += committed.flagged;
            self.engine.inner.events.emit(CoreEvent::SyncProgress {
                sync_id: self.sync_id,
                provider: self.provider(),
                counters: totals,
                pages,
                api_calls: self.meter.calls(),
                estimate: self.estimate(progress, pages, started.elapsed()),
            });
            if repeated {
                return Ending::new(
                    SyncStatus::Failed,
                    Some(Error::Provider {
                        provider: self.provider(),
                        status: None,
                        message: "it answered the same cursor twice; stopped rather than loop \
                                  (the next run starts this walk afresh)"
                            .to_owned(),
                    }),
                );
            }
            if !committed.still_enabled {
                return Ending::new(SyncStatus::Cancelled, None);
            }
            match (fetched, next_request) {
                (Some(Fetched::Page(fetched)), Some(next_request)) => {
                    page = fetched;
                    request = next_request;
                }
                (Some(Fetched::Cancelled), _) => {
                    return Ending::new(SyncStatus::Cancelled, None);
                }
                (Some(Fetched::Failed(error)), _) => {
                    return self.fetch_failed(error, pages, flagged);
                }
                _ if next.is_some() => {
                    return Ending::new(
                        SyncStatus::Failed,
                        Some(Error::Provider {
                            provider: self.provider(),
                            status: None,
                            message: format!(
                                "stopped after {MAX_PAGES} pages in one run; the next run continues"
                            ),
                        }),
                    );
                }
                _ => {
                    let status = match totals.failed {
                        0 => SyncStatus::Success,
                        _ => SyncStatus::Partial,
                    };
                    // The first walk of a connection reads its whole history; a long one (over
                    // several runs, or hundreds of activities) is worth saying it finished.
                    let first_import_done = self.plan.walk == Walk::Incremental
                        && self.plan.state.mark.is_none()
                        && (self.plan.resumed || totals.created >= 500);
                    return Ending {
                        flagged,
                        first_import_done,
                        ..Ending::new(status, None)
                    };
                }
            }
        }
    }

    /// What is left of the walk, from the provider's `progress` after `pages` pages in `elapsed`:
    /// the remaining pages at this run's pace, plus the waits the provider's budget imposes (the
    /// shortest documented window refills `limit` calls).
    fn estimate(
        &self,
        progress: Option<f64>,
        pages: u32,
        elapsed: std::time::Duration,
    ) -> Option<Estimate> {
        let done = progress.filter(|p| *p > 0.0 && *p < 1.0)?;
        let pages_f = f64::from(pages.max(1));
        let remaining_pages = (pages_f * (1.0 - done) / done).ceil() as u64;
        let per_page = elapsed.as_secs_f64() / pages_f;
        let calls_per_page = (self.meter.calls() as f64 / pages_f).max(1.0);
        let needed = (remaining_pages as f64 * calls_per_page).ceil() as i64;
        let now = self.now();
        let window = self
            .client
            .capabilities()
            .rate_limits
            .into_iter()
            .min_by_key(|w| w.seconds);
        let (continues_at, wait) = match (self.meter.budget(), &window) {
            (Some(budget), Some(window)) if needed > budget.remaining && budget.resets_at > now => {
                let beyond = needed - budget.remaining;
                let more_windows = (beyond - 1) / i64::from(window.limit.max(1));
                let wait = (budget.resets_at - now).num_seconds()
                    + more_windows * i64::from(window.seconds);
                (Some(budget.resets_at), wait)
            }
            _ => (None, 0),
        };
        Some(Estimate {
            remaining_pages,
            eta_seconds: (remaining_pages as f64 * per_page).round() as i64 + wait,
            continues_at,
            window: continues_at.and(window.map(|w| w.window.to_owned())),
        })
    }

    /// One page, unless the run is cancelled first.
    async fn fetch_cancellable(&self, request: &ListRequest) -> Fetched {
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => Fetched::Cancelled,
            page = self.fetch_page(request) => match page {
                Ok(page) => Fetched::Page(page),
                Err(error) => Fetched::Failed(error),
            },
        }
    }

    /// How a run ends when a page cannot be fetched after `pages` were committed.
    fn fetch_failed(&self, error: Error, pages: u32, flagged: i64) -> Ending {
        // Pages already committed stay; a rate limit is a pause, not a failure; a connection
        // that moved to another door under the run (the vault refuses the old door) ends it as
        // cancelled, not failed: nothing went wrong, the next run reads the new door.
        let status = match error {
            Error::RateLimited { .. } => SyncStatus::Partial,
            Error::Cancelled => return Ending::new(SyncStatus::Cancelled, None),
            _ => SyncStatus::Failed,
        };
        let drop_cursor = pages == 0 && self.plan.resumed && blames_the_cursor(&error);
        Ending {
            drop_cursor,
            flagged,
            ..Ending::new(status, Some(error))
        }
    }

    /// One page, with one refresh-and-retry when the provider says the token is no longer good.
    async fn fetch_page(&self, request: &ListRequest) -> Result<ActivityPage> {
        let inner = &self.engine.inner;
        let clock = inner.clock.as_ref();
        let token = inner
            .vault
            .access_token(
                &self.connection,
                self.client.clone(),
                self.meter.clone(),
                None,
            )
            .await?;
        let call = Call {
            token: Some(&token),
            meter: &self.meter,
            clock,
        };
        match self.client.list_activities(&call, request).await {
            Err(Error::NeedsReauth { .. }) => {
                let token = inner
                    .vault
                    .access_token(
                        &self.connection,
                        self.client.clone(),
                        self.meter.clone(),
                        Some(&token),
                    )
                    .await?;
                let call = Call {
                    token: Some(&token),
                    meter: &self.meter,
                    clock,
                };
                self.client.list_activities(&call, request).await
            }
            other => other,
        }
    }

    /// Commit one page in one transaction: its activities, the run's counters and cursor, the
    /// walk's state (cursor, mark, position), the provider's budget, and — when a full walk
    /// completes — the deletion flags.
    async fn commit_page(
        &self,
        page: ActivityPage,
        next_cursor: Option<&str>,
        repeated: bool,
        state: &mut SyncState,
    ) -> Result<Committed> {
        let inner = &self.engine.inner;
        let now = self.now();
        let connection = &self.connection;
        let complete = next_cursor.is_none() && !repeated;
        let mut counters = SyncCounters::default();
        let mut flagged = 0;

        let newest_seen = page
            .items
            .iter()
            .filter_map(|i| i.as_ref().ok())
            .map(|a| a.start_utc)
            .filter(|start| *start <= now) // a future-dated record never becomes the mark
            .max();
        match self.plan.walk {
            Walk::Incremental => {
                state.walk_cursor = next_cursor.map(str::to_owned);
                state.walk_mark = state.walk_mark.max(newest_seen).max(state.mark);
                if complete {
                    state.mark = state.walk_mark.take();
                }
            }
            Walk::Full { started } => {
                state.full_cursor = next_cursor.map(str::to_owned);
                state.full_started_at = next_cursor.map(|_| started);
            }
        }
        if let Some(position) = &page.position {
            state.position = Some(position.clone());
        }

        let mut tx = inner.store.begin().await?;
        // A sign-in moved the connection to another door while this run read the old one: what
        // it read carries the old door's ids and cursor, and would be stamped with the new door
        // (never to be matched again) and its cursor kept as the new door's. Nothing of it is
        // written; the run ends cancelled and the next one reads the new door.
        if store::connections::door(&mut *tx, connection.id).await? != connection.door {
            return Err(Error::Cancelled);
        }
        let mut activities = Vec::with_capacity(page.items.len());
        for item in &page.items {
            counters.fetched += 1;
            match item {
                Ok(activity) => activities.push(activity),
                Err(unmappable) => {
                    counters.failed += 1;
                    store::sync_history::record_failure(
                        &mut *tx,
                        self.sync_id,
                        unmappable.provider_activity_id.as_deref(),
                        &unmappable.reason,
                    )
                    .await?;
                }
            }
        }
        let seen_walk = match self.plan.walk {
            Walk::Full { started } => Some(started),
            Walk::Incremental => None,
        };
        // A connection that moved here from a door with other ids (Polar v3 to v4): what it
        // brought through the old door is listed again under new ids, and is the same session.
        store::activities::rekey_from_older_doors(
            &mut tx,
            connection.id,
            connection.provider,
            &self.client.capabilities().ids_differ_from,
            &activities,
        )
        .await?;
        let (outcomes, changed) = store::activities::upsert_page(
            &mut tx,
            connection.id,
            connection.provider,
            &activities,
            seen_walk,
            now,
        )
        .await?;
        // New and changed copies find their other providers' copies in the same transaction.
        crate::linking::link(&mut tx, &changed, now).await?;
        for outcome in outcomes {
            match outcome {
                Upserted::Created => counters.created += 1,
                Upserted::Updated => counters.updated += 1,
                Upserted::Skipped => counters.skipped += 1,
            }
        }
        if let (Walk::Full { started }, true) = (self.plan.walk, complete) {
            let capabilities = self.client.capabilities();
            // Only a provider that lists its history, and lists all of it, can say what it no
            // longer lists; a stream (Garmin's inbox) cannot, nor a list without a deletion feed
            // that may leave sessions out (Polar v4).
            if capabilities.absence_is_deletion {
                // A day's margin inside the provider's window, where its edge is fuzzy.
                let since = capabilities
                    .history_window_days
                    .and_then(|d| started.checked_sub_signed(Duration::days(i64::from(d) - 1)));
                flagged = i64::try_from(
                    store::activities::flag_unseen(&mut *tx, connection.id, started, since, now)
                        .await?,
                )
                .unwrap_or(i64::MAX);
                if flagged > 0 {
                    // A workout whose primary the provider no longer lists counts another copy.
                    let workouts =
                        crate::linking::workouts_flagged(&mut tx, connection.id, now).await?;
                    crate::linking::settle_all(&mut tx, &workouts).await?;
                }
            }
            state.mark = state
                .mark
                .max(store::activities::newest_seen(&mut *tx, connection.id, started, now).await?);
            state.last_full_at = Some(now);
        }
        counters.deleted = flagged;
        let remaining = self.meter.budget().map(|b| b.remaining);
        store::sync_history::record_page(
            &mut *tx,
            self.sync_id,
            &counters,
            self.meter.calls(),
            remaining,
            next_cursor,
            now,
        )
        .await?;
        store::sync_state::put(&mut tx, connection.id, state, now).await?;
        if let Some(budget) = self.meter.budget() {
            store::budgets::put(&mut *tx, connection.provider, budget, now).await?;
        }
        let still_enabled = store::connections::is_enabled(&mut *tx, connection.id).await?;
        tx.commit().await?;
        Ok(Committed {
            counters,
            flagged,
            still_enabled,
        })
    }

    /// Write the run's terminal status and, unless someone else changed it meanwhile, the
    /// connection's new state. Always emits the run's end.
    pub async fn finish(&self, ending: Ending) -> Option<SyncRun> {
        let inner = &self.engine.inner;
        let connection = &self.connection;
        let provider = connection.provider;
        let sync_id = self.sync_id;
        let now = self.now();
        let pool = inner.store.pool();
        let message = ending.error.as_ref().map(ToString::to_string);
        let state = match (&ending.error, ending.status) {
            (_, SyncStatus::Cancelled) | (Some(Error::Cancelled), _) => None,
            (None, _) => Some((ConnectionState::Active, None)),
            (Some(Error::RateLimited { until, .. }), _) => {
                Some((ConnectionState::RateLimited, Some(*until)))
            }
            (Some(Error::NeedsReauth { .. }), _) => Some((ConnectionState::NeedsReauth, None)),
            (Some(Error::ScopeMissing { .. }), _) => Some((ConnectionState::ScopeMissing, None)),
            (Some(Error::Deprecated { .. }), _) => Some((ConnectionState::Deprecated, None)),
            (Some(Error::AppInactive { .. }), _) => Some((ConnectionState::AppInactive, None)),
            (Some(_), _) => Some((ConnectionState::Error, None)),
        };
        let remaining = self.meter.budget().map(|b| b.remaining);
        let result = async {
            let run = store::sync_history::complete(
                pool,
                sync_id,
                ending.status,
                self.meter.calls(),
                remaining,
                message
                    .as_deref()
                    .zip(ending.error.as_ref().map(Error::code)),
                now,
            )
            .await?;
            if ending.status != SyncStatus::Cancelled {
                store::connections::record_sync(pool, connection.id, now, message.as_deref())
                    .await?;
            }
            // Only a state that still exists loses its cursor: a missing one was forgotten
            // (a move to another door) or never written, and the plan's copy is the old door's.
            let kept = match ending.drop_cursor {
                true => store::sync_state::get(pool, connection.id).await?,
                false => None,
            };
            if let Some(mut state) = kept {
                match self.plan.walk {
                    Walk::Incremental => {
                        state.walk_cursor = None;
                        state.walk_mark = None;
                    }
                    Walk::Full { .. } => {
                        state.full_cursor = None;
                        state.full_started_at = None;
                    }
                }
                let mut tx = inner.store.begin().await?;
                store::sync_state::put(&mut tx, connection.id, &state, now).await?;
                tx.commit().await?;
            }
            if let Some(budget) = self.meter.budget() {
                store::budgets::put(pool, provider, budget, now).await?;
            }
            if let Some((state, until)) = state {
                let written = store::connections::set_state_if(
                    pool,
                    connection.id,
                    connection.generation,
                    state,
                    until,
                    now,
                )
                .await?;
                if written.is_some() {
                    inner
                        .events
                        .emit(CoreEvent::ConnectionChanged { provider, state });
                }
            }
            Ok::<_, Error>(run)
        }
        .await;
        let run = match result {
            Ok(Some(run)) => Some(run),
            // Not running any more (a process that took over marked it); report what is there.
            Ok(None) => store::sync_history::get(pool, sync_id).await.ok().flatten(),
            Err(e) => {
                // The row stays `running`; our lock is released when this run ends, so the next
                // start (or the scheduler's recovery) marks it `interrupted`.
                tracing::error!(%provider, sync_id, error = %e, "could not record the end of a sync run");
                None
            }
        };
        let display_name = self.client.capabilities().display_name;
        let reviewed = crate::attention::review(
            &inner.store,
            inner.events.as_ref(),
            connection.id,
            display_name,
            ending.first_import_done,
            now,
        )
        .await;
        if let Err(e) = reviewed {
            tracing::warn!(%provider, error = %e, "could not review what needs the athlete");
        }
        let mut counters = run.as_ref().map(|r| r.counters).unwrap_or_default();
        counters.deleted = counters.deleted.max(ending.flagged);
        inner.events.emit(CoreEvent::SyncFinished {
            sync_id,
            provider,
            status: run.as_ref().map_or(ending.status, |r| r.status),
            counters,
            error: run.as_ref().map_or(message, |r| r.error_message.clone()),
        });
        run
    }
}

/// The budget a provider reported, if it is spent until later than `now`.
pub(super) fn spent_until(budget: Option<RateBudget>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    budget
        .filter(|b| b.remaining <= 0 && b.resets_at > now)
        .map(|b| b.resets_at)
}
