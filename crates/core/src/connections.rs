//! Connections: the old server's connection routes (list, get, get by provider, toggle,
//! delete), the available-providers list, the summary and the activity list.

use crate::clock::Clock;
use crate::domain::{Activity, Connection, ConnectionSummary, ProviderKind, Summary};
use crate::events::{CoreEvent, EventSink};
use crate::providers::{Call, Capabilities, Meter, Registry};
use crate::store::Store;
use crate::sync::SyncEngine;
use crate::vault::TokenVault;
use crate::{Error, Result, store};
use serde::Serialize;
use std::sync::Arc;

/// One provider as the "available providers" list shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ProviderInfo {
    /// Provider.
    pub provider: ProviderKind,
    /// What it can do and how it connects.
    pub capabilities: Capabilities,
    /// Whether API credentials (client id, and secret where required) are configured.
    pub credentials_configured: bool,
    /// Whether the athlete has connected it.
    pub connected: bool,
}

/// A connection with its latest run: one dashboard card.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConnectionCard {
    /// The connection.
    pub connection: Connection,
    /// Its latest run (`running` while one is going, in any process).
    pub latest_run: Option<crate::domain::SyncRun>,
    /// Where its recordings stand (filled in by [`crate::Core::dashboard`]).
    pub recordings: Option<crate::recording::queue::Progress>,
    /// The door it is on (its provider's API and sign-in).
    pub door: Option<crate::providers::Door>,
    /// The provider's newer door, when the connection is on an older one that still works
    /// (Polar AccessLink v3): signing in again moves it there, keeping every activity.
    pub moves_to: Option<crate::providers::Door>,
}

/// An open attention episode, as the dashboard lists it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AttentionItem {
    /// Provider.
    pub provider: ProviderKind,
    /// Why the athlete is needed.
    pub kind: crate::attention::AttentionKind,
}

/// Everything the dashboard shows, in one call.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Dashboard {
    /// Every provider, with capabilities and whether it is configured and connected.
    pub providers: Vec<ProviderInfo>,
    /// Each connection with its latest run.
    pub cards: Vec<ConnectionCard>,
    /// The figures across connections.
    pub summary: Summary,
    /// Episodes that need the athlete now.
    pub attention: Vec<AttentionItem>,
    /// The background scheduler's view, when one runs in this process.
    pub scheduler: Option<crate::scheduler::SchedulerStatus>,
}

/// What a disconnect did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Disconnected {
    /// Provider.
    pub provider: ProviderKind,
    /// Whether the provider confirmed the revocation.
    pub revoked_at_provider: bool,
    /// Why revocation failed, if it did (the local disconnect happens regardless).
    pub revoke_error: Option<String>,
    /// The connection's door has no revoke API (Polar AccessLink v4, a Garmin personal key):
    /// nothing was asked of the provider, and this says where the athlete takes the access back.
    pub revoke_by_hand: Option<String>,
    /// Activities deleted (0 when they were kept).
    pub activities_deleted: u64,
}

/// The connections component. Cheap to clone.
#[derive(Clone)]
pub struct Connections {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    vault: TokenVault,
    engine: SyncEngine,
    registry: Arc<Registry>,
    clock: Arc<dyn Clock>,
    events: Arc<dyn EventSink>,
    athlete_id: i64,
}

impl Connections {
    /// The component over its parts.
    pub fn new(
        store: Store,
        vault: TokenVault,
        engine: SyncEngine,
        registry: Arc<Registry>,
        clock: Arc<dyn Clock>,
        events: Arc<dyn EventSink>,
        athlete_id: i64,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                vault,
                engine,
                registry,
                clock,
                events,
                athlete_id,
            }),
        }
    }

    /// All connections of the athlete.
    pub async fn list(&self) -> Result<Vec<Connection>> {
        store::connections::list(self.inner.store.pool(), self.inner.athlete_id).await
    }

    /// One connection by id.
    pub async fn get(&self, id: i64) -> Result<Connection> {
        store::connections::get(self.inner.store.pool(), id)
            .await?
            .filter(|c| c.athlete_id == self.inner.athlete_id)
            .ok_or_else(|| Error::not_found(format!("connection {id}")))
    }

    /// The athlete's connection to `provider`.
    pub async fn by_provider(&self, provider: ProviderKind) -> Result<Connection> {
        store::connections::get_by_provider(
            self.inner.store.pool(),
            self.inner.athlete_id,
            provider,
        )
        .await?
        .ok_or_else(|| Error::not_found(format!("a {provider} connection")))
    }

    /// Flip a connection's toggle; switching off cancels its running sync.
    pub async fn toggle(&self, provider: ProviderKind) -> Result<Connection> {
        let current = self.by_provider(provider).await?;
        if current.enabled {
            self.inner.engine.cancel(provider).await;
        }
        let now = self.inner.clock.now();
        let updated = store::connections::set_enabled(
            self.inner.store.pool(),
            current.id,
            !current.enabled,
            now,
        )
        .await?
        .ok_or_else(|| Error::not_found(format!("a {provider} connection")))?;
        self.inner.events.emit(CoreEvent::ConnectionChanged {
            provider,
            state: updated.state,
        });
        let display_name = self
            .inner
            .registry
            .get(provider)?
            .capabilities()
            .display_name;
        crate::attention::review(
            &self.inner.store,
            self.inner.events.as_ref(),
            updated.id,
            display_name,
            false,
            now,
        )
        .await?;
        Ok(updated)
    }

    /// Disconnect: stop its sync, revoke at the provider (best effort), wipe the keyring entry,
    /// then delete the row and its history; its activities are deleted unless `keep_activities`.
    pub async fn disconnect(
        &self,
        provider: ProviderKind,
        keep_activities: bool,
    ) -> Result<Disconnected> {
        let connection = self.by_provider(provider).await?;
        self.inner.engine.cancel(provider).await;
        let capabilities = self
            .inner
            .registry
            .for_connection(&connection)?
            .capabilities();
        let (revoked, revoke_error, revoke_by_hand) = match capabilities.door.revoke_by_hand {
            // No API to ask: say so, rather than report a failure that never happened.
            Some(place) => (
                false,
                None,
                Some(format!(
                    "{} has no revoke API for {}: take Tributary's access back yourself at {place}",
                    capabilities.display_name, capabilities.door.name
                )),
            ),
            None => match self.revoke(&connection).await {
                Ok(done) => (done, None, None),
                Err(e) => {
                    tracing::warn!(%provider, error = %e, "revocation at the provider failed");
                    (false, Some(e.to_string()), None)
                }
            },
        };
        // The row goes first, then its keyring entry: a failure between leaves an entry no row
        // points at (and already revoked), never a connection without tokens.
        let slot = self.inner.vault.slot(provider).await?;
        // This connection's copies (its account's), a batch per transaction: a library of
        // 100,000 deleted in one would hold the database past every other writer's busy
        // timeout. A process stopped half way leaves the connection in place, to disconnect
        // again; other accounts' copies kept apart are not this disconnect's to delete.
        let activities_deleted = match keep_activities {
            true => 0,
            false => self.delete_activities(connection.id).await?,
        };
        let mut tx = self.inner.store.begin().await?;
        store::connections::delete(&mut *tx, connection.id).await?;
        tx.commit().await?;
        if let Err(e) = self.inner.vault.delete_slot(provider, slot).await {
            tracing::error!(%provider, error = %e, "the connection is gone but its keyring entry could not be removed");
        }
        self.inner
            .events
            .emit(CoreEvent::ConnectionRemoved { provider });
        Ok(Disconnected {
            provider,
            revoked_at_provider: revoked,
            revoke_error,
            revoke_by_hand,
            activities_deleted,
        })
    }

    /// Delete the copies read through `connection_id`, 2,000 per transaction (see
    /// [`Self::disconnect`]); returns how many.
    async fn delete_activities(&self, connection_id: i64) -> Result<u64> {
        let mut deleted = 0;
        loop {
            let mut tx = self.inner.store.begin().await?;
            let ids = store::activities::ids_of_connection(&mut *tx, connection_id, 2_000).await?;
            if ids.is_empty() {
                return Ok(deleted);
            }
            let workouts = crate::linking::workouts_of(&mut tx, &ids).await?;
            deleted += store::activities::delete_ids(&mut *tx, &ids).await?;
            // Their workouts lose a copy: the rest stand alone or choose a new primary.
            crate::linking::settle_all(&mut tx, &workouts).await?;
            tx.commit().await?;
        }
    }

    /// Revoke `connection`'s access at its provider with a live token: an expired access token is
    /// refreshed first (providers refuse to revoke with a dead one), and a token the provider
    /// rejects is refreshed once and the revocation tried again. Ok(false) when no tokens are
    /// stored (nothing to revoke); an error says why it could not be done.
    async fn revoke(&self, connection: &crate::domain::Connection) -> Result<bool> {
        let provider = connection.provider;
        let Some(stored) = self.inner.vault.load(provider).await? else {
            return Ok(false);
        };
        let client = self.inner.registry.for_connection(connection)?;
        let creds = self
            .inner
            .vault
            .client_credentials(provider, &client.capabilities())
            .await?;
        let meter = Arc::new(Meter::default());
        // Where the provider revokes a grant by its own tokens (Strava's per-token revocation,
        // with the refresh token), no live access token is needed; an RFC 7009 endpoint answers
        // 200 for a dead token, so sending an expired access token would revoke nothing.
        let grant = crate::providers::GrantTokens {
            access: stored.access,
            refresh: stored.refresh,
        };
        let call = Call {
            token: None,
            meter: &meter,
            clock: self.inner.clock.as_ref(),
        };
        if client.revoke_grant(&call, &creds, &grant).await? {
            return Ok(true);
        }
        let mut rejected: Option<crate::secrets::Sensitive<String>> = None;
        for attempt in 0..2 {
            let token = self
                .inner
                .vault
                .access_token(connection, client.clone(), meter.clone(), rejected.as_ref())
                .await?;
            let call = Call {
                token: Some(&token),
                meter: &meter,
                clock: self.inner.clock.as_ref(),
            };
            match client
                .revoke(&call, &creds, connection.provider_user_id.as_deref())
                .await
            {
                Ok(()) => return Ok(true),
                Err(Error::NeedsReauth { .. }) if attempt == 0 => rejected = Some(token),
                Err(e) => return Err(e),
            }
        }
        Ok(false)
    }

    /// Every provider, with capabilities, whether credentials are configured and whether it is
    /// connected.
    pub async fn available_providers(&self) -> Result<Vec<ProviderInfo>> {
        let cards: Vec<ConnectionCard> = self
            .list()
            .await?
            .into_iter()
            .map(|connection| self.card(connection, None))
            .collect();
        Ok(self.available_providers_with(&cards).await)
    }

    async fn available_providers_with(&self, cards: &[ConnectionCard]) -> Vec<ProviderInfo> {
        let mut out = Vec::new();
        for (provider, capabilities) in self.inner.registry.described() {
            let credentials_configured = capabilities.implemented
                && self
                    .inner
                    .vault
                    .has_credentials(provider, &capabilities)
                    .await;
            out.push(ProviderInfo {
                provider,
                capabilities,
                credentials_configured,
                connected: cards.iter().any(|c| c.connection.provider == provider),
            });
        }
        out
    }

    /// Figures across all the athlete's connections.
    pub async fn summary(&self) -> Result<Summary> {
        Ok(self.dashboard_parts().await?.1)
    }

    /// Everything the dashboard shows, in a handful of queries whatever the number of connections:
    /// the providers (credential presence cached, not read from the keyring each time), each
    /// connection with its latest run, the summary, and the open attention episodes.
    pub async fn dashboard(&self) -> Result<Dashboard> {
        let (cards, summary) = self.dashboard_parts().await?;
        let providers = self.available_providers_with(&cards).await;
        let attention = crate::attention::open_now(&self.inner.store, self.inner.athlete_id)
            .await?
            .into_iter()
            .map(|(provider, kind)| AttentionItem { provider, kind })
            .collect();
        Ok(Dashboard {
            providers,
            cards,
            summary,
            attention,
            scheduler: None,
        })
    }

    /// One card: the connection, its latest run, and the door it is on and may move to.
    fn card(
        &self,
        connection: Connection,
        latest_run: Option<crate::domain::SyncRun>,
    ) -> ConnectionCard {
        let registry = &self.inner.registry;
        let door = registry.door_of(connection.provider, connection.door.as_deref());
        ConnectionCard {
            moves_to: registry.moves_to(connection.provider, connection.door.as_deref()),
            door,
            connection,
            latest_run,
            recordings: None,
        }
    }

    async fn dashboard_parts(&self) -> Result<(Vec<ConnectionCard>, Summary)> {
        let pool = self.inner.store.pool();
        let athlete = self.inner.athlete_id;
        let connections = self.list().await?;
        let latest = store::sync_history::latest_per_connection(pool, athlete).await?;
        let counts = store::sync_history::counts_per_connection(pool, athlete).await?;
        let stored = store::activities::count_per_connection(pool, athlete).await?;
        // Every activity belongs to one connection or none: no count over the table.
        let total_activities = stored.iter().map(|n| n.1).sum::<i64>()
            + store::activities::count_detached(pool).await?;
        let mut lines = Vec::with_capacity(connections.len());
        let mut cards = Vec::with_capacity(connections.len());
        for c in connections {
            let last = latest.iter().find(|r| r.connection_id == c.id).cloned();
            let (_, total, ok, failed) = counts
                .iter()
                .copied()
                .find(|n| n.0 == c.id)
                .unwrap_or((c.id, 0, 0, 0));
            lines.push(ConnectionSummary {
                provider: c.provider,
                state: c.state,
                enabled: c.enabled,
                last_sync_at: c.last_sync_at,
                activities: stored.iter().find(|n| n.0 == c.id).map_or(0, |n| n.1),
                total_syncs: total,
                successful_syncs: ok,
                failed_syncs: failed,
                last_status: last.as_ref().map(|r| r.status),
            });
            cards.push(self.card(c, last));
        }
        let summary = Summary {
            total_connections: lines.len() as i64,
            enabled_connections: lines.iter().filter(|l| l.enabled).count() as i64,
            attention_needed: lines.iter().filter(|l| l.state.needs_attention()).count() as i64,
            total_activities,
            total_workouts: store::activities::count_workouts(pool).await?,
            total_syncs: lines.iter().map(|l| l.total_syncs).sum(),
            last_sync_at: lines.iter().filter_map(|l| l.last_sync_at).max(),
            connections: lines,
        };
        Ok((cards, summary))
    }

    /// Activities across providers, newest first.
    pub async fn activities(
        &self,
        provider: Option<ProviderKind>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Activity>> {
        if !(1..=1000).contains(&limit) || offset < 0 {
            return Err(Error::Validation(
                "limit must be 1..=1000 and offset ≥ 0".to_owned(),
            ));
        }
        store::activities::list(self.inner.store.pool(), provider, limit, offset).await
    }
}
