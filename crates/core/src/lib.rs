//! `tributary-core`: everything that is not a front end. Domain types, the SQLite store, secrets,
//! OAuth, provider clients and the sync engine, behind one [`Core`] value.
//!
//! The core never depends on tauri (CI checks it with `cargo tree`). Effects that face outward
//! (secrets, time, UI events) are injected as traits through [`Deps`]. There are no globals: a
//! front end builds one `Core` with [`Core::open`] and keeps it.

pub mod auth;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod providers;
pub mod secrets;
pub mod store;
pub mod sync;
pub mod tokens;

pub mod connections_api;
#[cfg(feature = "demo")]
pub mod demo;

pub use config::Config;
pub use error::{Error, ErrorCode, Result};

use crate::auth::PendingFlows;
use crate::clock::Clock;
use crate::domain::DEFAULT_ATHLETE_ID;
use crate::events::{CoreEvent, EventSink};
use crate::providers::Registry;
use crate::secrets::SecretStore;
use crate::store::Store;
use std::sync::Arc;

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
    deps: Deps,
    registry: Registry,
    athlete_id: i64,
    flows: PendingFlows,
    tokens: tokens::RefreshLocks,
    runs: sync::Runs,
}

impl Core {
    /// Open the database (migrating it), build the provider clients, and recover runs a crashed
    /// process left `running`.
    pub async fn open(config: Config, deps: Deps) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .user_agent(concat!("Tributary/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Validation(format!("cannot build the HTTP client: {e}")))?;
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
        store::athletes::ensure(store.pool(), DEFAULT_ATHLETE_ID, "Me", deps.clock.now()).await?;
        let core = Self {
            inner: Arc::new(Inner {
                config,
                store,
                deps,
                registry,
                athlete_id: DEFAULT_ATHLETE_ID,
                flows: PendingFlows::default(),
                tokens: tokens::RefreshLocks::default(),
                runs: sync::Runs::default(),
            }),
        };
        let recovered = core.recover_interrupted(None).await?;
        if recovered > 0 {
            tracing::info!(
                recovered,
                "marked runs left running by a stopped process as interrupted"
            );
        }
        Ok(core)
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The store (for front ends' read-only diagnostics and tests).
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Cancel running syncs and wait for them to record their final status.
    pub async fn shutdown(&self) {
        self.inner.runs.cancel_all_and_wait().await;
        self.inner.store.close().await;
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.inner.deps.clock.now()
    }

    fn emit(&self, event: CoreEvent) {
        self.inner.deps.events.emit(event);
    }
}
