//! One run: where it starts (its plan), the page loop, each page's commit, and the end.

use super::{SyncEngine, SyncMode};
use crate::domain::{
    Connection, ConnectionState, ConnectionUpdate, SyncCounters, SyncRun, SyncStatus,
};
use crate::events::CoreEvent;
use crate::providers::{ActivityPage, Call, ListRequest, Meter, Provider};
use crate::store::Store;
use crate::store::activities::Upserted;
use crate::{Error, Result, store};
use chrono::Duration;
use tokio_util::sync::CancellationToken;

/// Where a run starts.
pub(super) struct Plan {
    /// The first page's request.
    pub request: ListRequest,
}

/// Decide where a run starts: an unfinished run's cursor, else the overlap window behind the
/// newest stored activity (incremental), else the whole history.
pub(super) async fn plan(
    store: &Store,
    connection: &Connection,
    client: &dyn Provider,
    mode: SyncMode,
) -> Result<Plan> {
    let pool = store.pool();
    let cursor = match mode {
        SyncMode::Incremental => store::sync_history::resume_cursor(pool, connection.id).await?,
        SyncMode::Full => None,
    };
    let since = match (&cursor, mode) {
        (Some(_), _) | (None, SyncMode::Full) => None,
        (None, SyncMode::Incremental) => store::activities::latest_start(pool, connection.provider)
            .await?
            .map(|t| t - Duration::days(i64::from(client.capabilities().overlap_days))),
    };
    Ok(Plan {
        request: ListRequest {
            cursor,
            since,
            provider_user_id: connection.provider_user_id.clone(),
        },
    })
}

/// How a run ended, before it is written down.
struct Ending {
    status: SyncStatus,
    error: Option<Error>,
}

/// Everything one run needs.
pub(super) struct RunContext<'a> {
    pub engine: &'a SyncEngine,
    pub connection: &'a Connection,
    pub client: &'a dyn Provider,
    pub sync_id: i64,
    pub cancel: &'a CancellationToken,
}

impl RunContext<'_> {
    /// Run the pages, then write the end. Returns the final row (None if it could not be written).
    pub async fn execute(&self, plan: Plan) -> Option<SyncRun> {
        let meter = Meter::default();
        let ending = self.run_pages(plan.request, &meter).await;
        self.finish(ending, &meter).await
    }

    async fn run_pages(&self, mut request: ListRequest, meter: &Meter) -> Ending {
        let mut totals = SyncCounters::default();
        loop {
            let page = tokio::select! {
                biased;
                () = self.cancel.cancelled() => return Ending { status: SyncStatus::Cancelled, error: None },
                page = self.fetch_page(&request, meter) => page,
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
            match self.commit_page(page, meter, next.as_deref()).await {
                Ok(counters) => totals.add(counters),
                Err(error) => {
                    return Ending {
                        status: SyncStatus::Failed,
                        error: Some(error),
                    };
                }
            }
            self.engine.inner.events.emit(CoreEvent::SyncProgress {
                sync_id: self.sync_id,
                provider: self.connection.provider,
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
    async fn fetch_page(&self, request: &ListRequest, meter: &Meter) -> Result<ActivityPage> {
        let vault = &self.engine.inner.vault;
        let clock = self.engine.inner.clock.as_ref();
        let token = vault
            .access_token(self.connection, self.client, meter, None)
            .await?;
        let call = Call {
            token: Some(&token),
            meter,
            clock,
        };
        match self.client.list_activities(&call, request).await {
            Err(Error::NeedsReauth { .. }) => {
                let token = vault
                    .access_token(self.connection, self.client, meter, Some(&token))
                    .await?;
                let call = Call {
                    token: Some(&token),
                    meter,
                    clock,
                };
                self.client.list_activities(&call, request).await
            }
            other => other,
        }
    }

    async fn commit_page(
        &self,
        page: ActivityPage,
        meter: &Meter,
        next_cursor: Option<&str>,
    ) -> Result<SyncCounters> {
        let inner = &self.engine.inner;
        let now = inner.clock.now();
        let connection = self.connection;
        let mut counters = SyncCounters::default();
        let mut tx = inner.store.begin().await?;
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
                        self.sync_id,
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
            self.sync_id,
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
    async fn finish(&self, ending: Ending, meter: &Meter) -> Option<SyncRun> {
        let inner = &self.engine.inner;
        let connection = self.connection;
        let provider = connection.provider;
        let sync_id = self.sync_id;
        let now = inner.clock.now();
        let pool = inner.store.pool();
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
                inner
                    .events
                    .emit(CoreEvent::ConnectionChanged { provider, state });
            }
            Ok::<_, Error>(run)
        }
        .await;
        match result {
            Ok(Some(run)) => {
                inner.events.emit(CoreEvent::SyncFinished {
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
