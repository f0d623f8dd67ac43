//! `tributary-core`: everything that is not a front end. Domain types, the SQLite store, secrets,
//! OAuth, provider clients and the sync engine, behind one [`Core`] value.
//!
//! The core never depends on tauri (CI checks it with `cargo tree`). Effects that face outward
//! (secrets, time, UI events) are injected as traits through [`Deps`]. There are no globals: a
//! front end builds one `Core` with [`Core::open`] and keeps it.
//!
//! `Core` is a thin façade: each method delegates in one line to a component that takes only
//! what it uses — the [`vault::TokenVault`] (tokens and API credentials), the
//! [`auth::Connector`] (the OAuth flow), the [`sync::SyncEngine`] (runs) and
//! [`connections::Connections`] (the connection routes and read models).

pub mod auth;
pub mod clock;
pub mod config;
pub mod connections;
pub mod domain;
pub mod error;
pub mod events;
pub mod providers;
pub mod secrets;
pub mod store;
pub mod sync;
pub mod vault;

#[cfg(feature = "demo")]
pub mod demo;

pub use config::Config;
pub use error::{Error, ErrorCode, Result};

use crate::auth::{AuthRequest, Connector, LinkKind, RedirectTarget};
use crate::clock::Clock;
use crate::connections::{Connections, Disconnected, ProviderInfo};
use crate::domain::{
    Activity, Connection, DEFAULT_ATHLETE_ID, ProviderKind, Summary, SyncRun, SyncTrigger,
};
use crate::events::EventSink;
use crate::providers::{ClientCredentials, Registry};
use crate::secrets::{SecretStore, Sensitive};
use crate::store::Store;
use crate::sync::{SyncEngine, SyncHandle, SyncMode};
use crate::vault::TokenVault;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The effects a front end injects.
#[derive(Clone)]
pub struct Deps {
    /// Where tokens and client secrets live.
    pub secrets: Arc<dyn SecretStore>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Who hears about progress and state changes.
    pub events: Arc<dyn EventSink>,
}

/// The core. Cheap to clone: clones share one state.
#[derive(Clone)]
pub struct Core {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    store: Store,
    registry: Arc<Registry>,
    vault: TokenVault,
    connector: Connector,
    engine: SyncEngine,
    connections: Connections,
}

impl Core {
    /// Open the database (migrating it), build the provider clients, and recover runs a crashed
    /// process left `running`.
    pub async fn open(config: Config, deps: Deps) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .user_agent(concat!("Tributary/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Internal(format!("cannot build the HTTP client: {e}")))?;
        let registry = Registry::new(&config, &http)?;
        Self::open_with_registry(config, deps, registry).await
    }

    /// [`Core::open`] with a given provider registry (tests use scripted providers).
    pub async fn open_with_registry(
        config: Config,
        deps: Deps,
        registry: Registry,
    ) -> Result<Self> {
        let store = Store::open(&config.database_path()).await?;
        let athlete_id = DEFAULT_ATHLETE_ID;
        store::athletes::ensure(store.pool(), athlete_id, "Me", deps.clock.now()).await?;
        let registry = Arc::new(registry);
        let vault = TokenVault::new(
            deps.secrets.clone(),
            store.clone(),
            deps.clock.clone(),
            &config,
            athlete_id,
        );
        let connector = Connector::new(
            registry.clone(),
            vault.clone(),
            store.clone(),
            deps.clock.clone(),
            deps.events.clone(),
            athlete_id,
        );
        let engine = SyncEngine::new(
            store.clone(),
            vault.clone(),
            registry.clone(),
            deps.clock.clone(),
            deps.events.clone(),
            &config.data_dir,
            athlete_id,
        );
        let connections = Connections::new(
            store.clone(),
            vault.clone(),
            engine.clone(),
            registry.clone(),
            deps.clock.clone(),
            deps.events.clone(),
            athlete_id,
        );
        let recovered = engine.recover_interrupted(None).await?;
        if recovered > 0 {
            tracing::info!(
                recovered,
                "marked runs left running by a stopped process as interrupted"
            );
        }
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                store,
                registry,
                vault,
                connector,
                engine,
                connections,
            }),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The store (for front ends' read-only diagnostics and tests).
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The provider registry.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// Cancel running syncs, wait for them to record their final status, and close the store.
    pub async fn shutdown(&self) {
        self.inner.engine.cancel_all_and_wait().await;
        self.inner.store.close().await;
    }

    // --- Connecting -------------------------------------------------------------------------

    /// Start connecting `provider`: returns the URL to open.
    pub async fn begin_connect(
        &self,
        provider: ProviderKind,
        target: RedirectTarget,
    ) -> Result<AuthRequest> {
        self.inner.connector.begin(provider, target).await
    }

    /// Forget every pending authorization for `provider` (the athlete cancelled).
    pub fn cancel_connect(&self, provider: ProviderKind) {
        self.inner.connector.cancel(provider);
    }

    /// Complete a flow from its redirect URL (deep link or loopback).
    pub async fn complete_redirect(&self, url: &str) -> Result<Connection> {
        self.inner.connector.complete(url).await
    }

    /// Connect through a one-shot loopback listener; `on_authorize` receives the URL to open.
    pub async fn connect_loopback(
        &self,
        provider: ProviderKind,
        on_authorize: impl FnOnce(&AuthRequest) + Send,
        cancel: CancellationToken,
    ) -> Result<Connection> {
        self.inner
            .connector
            .connect_loopback(provider, on_authorize, cancel)
            .await
    }

    /// What a link handed to the app is: a sign-in redirect (for which provider), or unknown.
    pub fn classify_link(&self, url: &str) -> LinkKind {
        self.inner.connector.classify(url)
    }

    // --- API credentials --------------------------------------------------------------------

    /// Store a provider's API credentials in the keyring.
    pub async fn set_client_credentials(
        &self,
        provider: ProviderKind,
        client_id: &str,
        client_secret: Option<&Sensitive<String>>,
    ) -> Result<()> {
        self.inner
            .vault
            .set_client_credentials(provider, client_id, client_secret)
            .await
    }

    /// The API credentials for `provider`: environment first, then the keyring.
    pub async fn client_credentials(&self, provider: ProviderKind) -> Result<ClientCredentials> {
        let capabilities = self.inner.registry.get(provider)?.capabilities();
        self.inner
            .vault
            .client_credentials(provider, &capabilities)
            .await
    }

    // --- Connections ------------------------------------------------------------------------

    /// All connections of the athlete.
    pub async fn list_connections(&self) -> Result<Vec<Connection>> {
        self.inner.connections.list().await
    }

    /// One connection by id.
    pub async fn get_connection(&self, id: i64) -> Result<Connection> {
        self.inner.connections.get(id).await
    }

    /// The athlete's connection to `provider`.
    pub async fn get_connection_by_provider(&self, provider: ProviderKind) -> Result<Connection> {
        self.inner.connections.by_provider(provider).await
    }

    /// Flip a connection's toggle; switching off cancels its running sync.
    pub async fn toggle_connection(&self, provider: ProviderKind) -> Result<Connection> {
        self.inner.connections.toggle(provider).await
    }

    /// Disconnect: stop its sync, revoke at the provider, wipe the keyring entry, delete the row.
    pub async fn disconnect(
        &self,
        provider: ProviderKind,
        keep_activities: bool,
    ) -> Result<Disconnected> {
        self.inner
            .connections
            .disconnect(provider, keep_activities)
            .await
    }

    /// Every provider, with capabilities, credentials configured and connected.
    pub async fn available_providers(&self) -> Result<Vec<ProviderInfo>> {
        self.inner.connections.available_providers().await
    }

    /// Figures across all the athlete's connections.
    pub async fn summary(&self) -> Result<Summary> {
        self.inner.connections.summary().await
    }

    /// Activities across providers, newest first.
    pub async fn list_activities(
        &self,
        provider: Option<ProviderKind>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Activity>> {
        self.inner
            .connections
            .activities(provider, limit, offset)
            .await
    }

    // --- Sync -------------------------------------------------------------------------------

    /// Start syncing `provider` in the background; returns at once with the run's id.
    pub async fn start_sync(
        &self,
        provider: ProviderKind,
        trigger: SyncTrigger,
        mode: SyncMode,
    ) -> Result<SyncHandle> {
        self.inner.engine.start(provider, trigger, mode).await
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
        self.inner.engine.cancel(provider).await
    }

    /// A connection's sync history, newest first.
    pub async fn sync_history(
        &self,
        provider: ProviderKind,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<SyncRun>> {
        let connection = self.get_connection_by_provider(provider).await?;
        self.inner
            .engine
            .history(connection.id, limit, offset)
            .await
    }

    /// The latest run of a connection (the sync status), if it ever synced.
    pub async fn sync_status(&self, provider: ProviderKind) -> Result<Option<SyncRun>> {
        let connection = self.get_connection_by_provider(provider).await?;
        self.inner.engine.latest(connection.id).await
    }

    /// The reasons recorded for a run's records that could not be stored.
    pub async fn sync_failures(&self, sync_id: i64) -> Result<Vec<(Option<String>, String)>> {
        self.inner.engine.failures(sync_id).await
    }
}
