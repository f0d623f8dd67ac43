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

pub mod attention;
pub mod auth;
pub mod clock;
pub mod config;
pub mod connections;
pub mod domain;
pub mod error;
pub mod events;
pub mod export;
pub mod import;
pub mod library;
pub mod linking;
pub mod providers;
pub mod recording;
pub mod scheduler;
pub mod secrets;
pub mod settings;
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
    Activity, Connection, ConnectionState, DEFAULT_ATHLETE_ID, ProviderKind, Summary, SyncRun,
    SyncTrigger,
};
use crate::events::EventSink;
use crate::providers::{ClientCredentials, Registry};
use crate::scheduler::{Refusal, Scheduler, SchedulerHandle, SchedulerSettings, SyncOutcome};
use crate::secrets::{SecretStore, Sensitive};
use crate::store::Store;
use crate::sync::{SyncEngine, SyncHandle, SyncMode};
use crate::vault::TokenVault;
use chrono::{DateTime, Utc};
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

/// How a desktop app signs in to a provider (see [`Core::desktop_sign_in`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DesktopSignIn {
    /// Open the authorize page; the redirect comes back as a `tributary://` deep link.
    DeepLink,
    /// [`Core::connect_loopback`]: the core listens on loopback for the redirect.
    Loopback,
}

/// A completed connect: the connection, and the first sync the core started for it (the policy
/// after connecting, the same for every front end), if it started one.
#[derive(Debug)]
pub struct Connected {
    /// The connection as stored.
    pub connection: Connection,
    /// The after-connect run, when one started.
    pub first_sync: Option<SyncHandle>,
}

/// The core. Cheap to clone: clones share one state.
#[derive(Clone)]
pub struct Core {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    athlete_id: i64,
    /// The running scheduler's latest status (for `dashboard`), if one was started.
    scheduler_status: Arc<std::sync::Mutex<Option<scheduler::SchedulerStatus>>>,
    /// Wakes the running scheduler when the settings change.
    settings_changed: Arc<tokio::sync::Notify>,
    clock: Arc<dyn Clock>,
    events: Arc<dyn EventSink>,
    store: Store,
    registry: Arc<Registry>,
    vault: TokenVault,
    connector: Connector,
    engine: SyncEngine,
    connections: Connections,
    downloader: recording::queue::Downloader,
}

impl Core {
    /// Open the database (migrating it), build the provider clients, and recover runs a crashed
    /// process left `running`.
    pub async fn open(config: Config, deps: Deps) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .user_agent(concat!("Tributary/", env!("CARGO_PKG_VERSION")))
            // Never follow a redirect: a token POST (codes, refresh tokens, client secrets) must
            // not be replayed to wherever a 3xx points, and no provider API we call redirects.
            .redirect(reqwest::redirect::Policy::none())
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
        let downloader = recording::queue::Downloader::new(
            store.clone(),
            vault.clone(),
            registry.clone(),
            deps.clock.clone(),
            deps.events.clone(),
            &config.data_dir,
            athlete_id,
        );
        {
            // Originals the athlete deleted, and leftovers of interrupted writes: collected in
            // the background (a file young enough to be another process's write is left).
            let downloader = downloader.clone();
            tokio::spawn(async move {
                match downloader.collect_orphans().await {
                    Ok(0) => {}
                    Ok(removed) => tracing::info!(removed, "removed originals nothing refers to"),
                    Err(Error::Db(sqlx::Error::PoolClosed)) => {}
                    Err(e) => tracing::warn!(error = %e, "could not collect orphaned originals"),
                }
            });
        }
        let recovered = engine.recover_interrupted(None).await?;
        if recovered > 0 {
            tracing::info!(
                recovered,
                "marked runs left running by a stopped process as interrupted"
            );
        }
        if !linking::backfilled(&store).await? {
            if linking::nothing_to_backfill(&store).await? {
                // A new database: everything it will hold is linked as it arrives.
                linking::backfill_once(&store, deps.clock.as_ref()).await?;
            } else {
                // A database from before linking: link what it holds, in the background (short
                // transactions; a 100,000-activity library takes a while and must not delay
                // start). A process that ends first leaves the rest for its next start.
                let (store, clock) = (store.clone(), deps.clock.clone());
                tokio::spawn(async move {
                    match linking::backfill_once(&store, clock.as_ref()).await {
                        Ok(linked) => {
                            tracing::info!(linked, "linked the copies stored before linking");
                        }
                        Err(Error::Db(sqlx::Error::PoolClosed)) => {
                            tracing::debug!("stopped linking stored activities: shutting down");
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "linking the stored activities failed")
                        }
                    }
                });
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                athlete_id,
                scheduler_status: Arc::new(std::sync::Mutex::new(None)),
                settings_changed: Arc::new(tokio::sync::Notify::new()),
                clock: deps.clock,
                events: deps.events,
                store,
                registry,
                vault,
                connector,
                engine,
                connections,
                downloader,
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

    /// The token vault (tokens and API credentials; refresh).
    pub fn vault(&self) -> &TokenVault {
        &self.inner.vault
    }

    /// Cancel running syncs, wait for them to record their final status, and close the store.
    pub async fn shutdown(&self) {
        self.inner.engine.cancel_all_and_wait().await;
        // A refresh outlives the run that asked for it (so that a rotated pair is never
        // dropped): let it store its pair before the store closes. Bounded by the HTTP timeout.
        self.inner
            .vault
            .settle(self.inner.config.request_timeout + std::time::Duration::from_secs(10))
            .await;
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

    /// How a desktop app signs in to `provider` (policy, the same for every desktop front end):
    /// through the `tributary://` deep link where the provider accepts one, else through a
    /// loopback listener of the core's (Google's desktop clients take only loopback).
    pub fn desktop_sign_in(&self, provider: ProviderKind) -> Result<DesktopSignIn> {
        let redirects = self.inner.registry.get(provider)?.capabilities().redirects;
        Ok(match redirects.deep_link {
            true => DesktopSignIn::DeepLink,
            false => DesktopSignIn::Loopback,
        })
    }

    /// Whether a sign-in waits for its redirect (in memory: a restart would lose it).
    pub fn has_pending_sign_ins(&self) -> bool {
        self.inner.connector.has_pending()
    }

    /// Forget the pending sign-ins of `provider` (the athlete gave up).
    pub fn cancel_connect(&self, provider: ProviderKind) {
        self.inner.connector.cancel(provider);
    }

    /// Complete a flow from its redirect URL (deep link or loopback); then the first sync.
    pub async fn complete_redirect(&self, url: &str) -> Result<Connected> {
        let connection = self.inner.connector.complete(url).await?;
        Ok(self.after_connect(connection).await)
    }

    /// Connect through a one-shot loopback listener; `on_authorize` receives the URL to open.
    /// Then the first sync.
    pub async fn connect_loopback(
        &self,
        provider: ProviderKind,
        on_authorize: impl FnOnce(&AuthRequest) + Send,
        cancel: CancellationToken,
    ) -> Result<Connected> {
        let connection = self
            .inner
            .connector
            .connect_loopback(provider, on_authorize, cancel)
            .await?;
        Ok(self.after_connect(connection).await)
    }

    /// Prove the configured API credentials for `provider` against it, before connecting.
    pub async fn check_credentials(
        &self,
        provider: ProviderKind,
    ) -> Result<auth::CredentialsCheck> {
        self.inner.connector.check_credentials(provider).await
    }

    /// Connect a provider that signs in with a personal API key (Garmin's Personal API): the key
    /// is exchanged, kept in the keyring, and renews the access token from then on. Then the
    /// first sync.
    pub async fn connect_with_key(
        &self,
        provider: ProviderKind,
        key: &Sensitive<String>,
        key_expires_on: Option<chrono::NaiveDate>,
    ) -> Result<Connected> {
        let connection = self
            .inner
            .connector
            .connect_with_key(provider, key, key_expires_on)
            .await?;
        Ok(self.after_connect(connection).await)
    }

    /// The policy after a connect, decided here once for every front end: a connection that can
    /// sync starts its first sync at once (`Config::sync_after_connect`).
    async fn after_connect(&self, connection: Connection) -> Connected {
        let syncable = connection.enabled && connection.state == ConnectionState::Active;
        let first_sync = match self.inner.config.sync_after_connect && syncable {
            false => None,
            true => {
                let started = self
                    .inner
                    .engine
                    .start(
                        connection.provider,
                        SyncTrigger::AfterConnect,
                        SyncMode::Incremental,
                    )
                    .await;
                match started {
                    Ok(handle) => Some(handle),
                    Err(e) => {
                        tracing::warn!(provider = %connection.provider, error = %e, "the first sync did not start");
                        None
                    }
                }
            }
        };
        Connected {
            connection,
            first_sync,
        }
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

    /// Everything the dashboard shows, in one call (no query per connection).
    pub async fn dashboard(&self) -> Result<connections::Dashboard> {
        let mut dashboard = self.inner.connections.dashboard().await?;
        for card in &mut dashboard.cards {
            card.recordings = Some(self.inner.downloader.progress(&card.connection).await?);
        }
        dashboard.scheduler = self
            .inner
            .scheduler_status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        Ok(dashboard)
    }

    /// The athlete's settings.
    pub async fn settings(&self) -> Result<settings::Settings> {
        settings::load(&self.inner.store).await
    }

    /// Change some settings; returns those now in force. The running scheduler follows the
    /// pause and the pacing at once (it reads them from the store); front ends apply only what
    /// is theirs (starting at login).
    pub async fn update_settings(
        &self,
        patch: &settings::SettingsPatch,
    ) -> Result<settings::Settings> {
        let settings = settings::update(&self.inner.store, patch, self.inner.clock.now()).await?;
        self.inner.settings_changed.notify_one();
        Ok(settings)
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

    // --- The athlete's library ---------------------------------------------------------------

    /// Activities (every copy), filtered, one keyset page.
    pub async fn activities(
        &self,
        filter: &library::ActivityFilter,
        page: &library::PageRequest,
    ) -> Result<library::ActivityListing> {
        library::activities(&self.inner.store, filter, page).await
    }

    /// Workouts: one row per session with its copies, filtered, one keyset page.
    pub async fn workouts(
        &self,
        filter: &library::ActivityFilter,
        page: &library::PageRequest,
    ) -> Result<library::ActivityListing> {
        library::workouts(&self.inner.store, filter, page).await
    }

    /// What the every-copy list (`workouts: false`) or the workout list holds in all for
    /// `filter`: the exact count and the sums, not one page.
    pub async fn list_totals(
        &self,
        filter: &library::ActivityFilter,
        workouts: bool,
    ) -> Result<library::ListTotals> {
        library::totals(&self.inner.store, filter, workouts).await
    }

    /// One activity with its raw payload and its workout's copies.
    pub async fn activity(&self, id: i64) -> Result<library::ActivityDetail> {
        library::activity(&self.inner.store, id).await
    }

    /// Volume by sport per week or month, each workout counted once.
    pub async fn volume(
        &self,
        period: library::Period,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<library::VolumeBucket>> {
        library::volume(&self.inner.store, period, since, until).await
    }

    /// `provider`'s runs started in `[since, until)`, oldest first (at most `limit`, the newest).
    pub async fn run_stats(
        &self,
        provider: ProviderKind,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<library::RunPoint>> {
        let connection = self.get_connection_by_provider(provider).await?;
        library::run_stats(&self.inner.store, connection.id, since, until, limit).await
    }

    /// The athlete links `other` into `anchor`'s workout; no later sync undoes it.
    pub async fn link_activities(
        &self,
        anchor: i64,
        other: i64,
    ) -> Result<library::ActivityDetail> {
        let mut tx = self.inner.store.begin().await?;
        linking::link_by_hand(&mut tx, anchor, other, self.inner.clock.now()).await?;
        tx.commit().await?;
        self.activity(anchor).await
    }

    /// The athlete takes `id` out of its workout; it is never linked automatically again.
    pub async fn unlink_activity(&self, id: i64) -> Result<library::ActivityDetail> {
        let mut tx = self.inner.store.begin().await?;
        linking::unlink_by_hand(&mut tx, id).await?;
        tx.commit().await?;
        self.activity(id).await
    }

    /// The athlete makes `id` the copy its workout shows and counts.
    pub async fn make_primary(&self, id: i64) -> Result<library::ActivityDetail> {
        let mut tx = self.inner.store.begin().await?;
        linking::make_primary(&mut tx, id).await?;
        tx.commit().await?;
        self.activity(id).await
    }

    /// Export everything to `out` (a new file, or a new directory for CSV); see [`export`].
    pub async fn export(
        &self,
        format: export::ExportFormat,
        out: &std::path::Path,
    ) -> Result<export::Exported> {
        export::export(
            &self.inner.store,
            self.inner.downloader.files(),
            format,
            out,
            self.inner.clock.now(),
        )
        .await
    }

    // --- Recordings -------------------------------------------------------------------------

    /// Activity `id`'s recording: its workout's copies, and the one shown (`copy` when given,
    /// else the athlete's choice, else the richest). A recording never fetched is fetched first.
    pub async fn recording(
        &self,
        id: i64,
        copy: Option<i64>,
    ) -> Result<recording::view::RecordingDetail> {
        recording::view::detail(&self.inner.store, &self.inner.downloader, id, copy).await
    }

    /// The athlete pins which copy's recording the workout of `id` shows (`id` itself); with
    /// `pin: false`, the choice goes back to the richest copy.
    pub async fn choose_recording(
        &self,
        id: i64,
        pin: bool,
    ) -> Result<recording::view::RecordingDetail> {
        let workout = store::workouts::workout_of(self.inner.store.pool(), id)
            .await?
            .ok_or_else(|| Error::not_found(format!("activity {id}")))?
            .ok_or_else(|| {
                Error::Validation("this activity is not linked to other copies".to_owned())
            })?;
        store::recordings::choose_copy(self.inner.store.pool(), workout, pin.then_some(id)).await?;
        self.recording(id, None).await
    }

    /// The original file of activity `id` as it came: its bytes, format and suggested name.
    pub async fn original(&self, id: i64) -> Result<(Vec<u8>, recording::FileFormat, String)> {
        let row = store::recordings::get(self.inner.store.pool(), id)
            .await?
            .filter(|r| r.sha256.is_some())
            .ok_or_else(|| Error::not_found(format!("an original file for activity {id}")))?;
        let sha = row.sha256.clone().unwrap_or_default();
        let bytes = self.inner.downloader.files().read(&sha).await?;
        let format = recording::FileFormat::parse(row.format.as_deref().unwrap_or(""));
        let activity = store::activities::get(self.inner.store.pool(), id)
            .await?
            .ok_or_else(|| Error::not_found(format!("activity {id}")))?;
        let name = format!(
            "{}-{}.{}",
            activity.provider,
            activity.data.provider_activity_id,
            format.extension()
        );
        Ok((bytes, format, name))
    }

    /// The provider's own web page of activity `id` ("open at Strava"), when its source has
    /// public activity pages and the id is one such a page can carry.
    pub async fn activity_page(&self, id: i64) -> Result<Option<String>> {
        let activity = store::activities::get(self.inner.store.pool(), id)
            .await?
            .ok_or_else(|| Error::not_found(format!("activity {id}")))?;
        let source = activity.provider;
        let Some(kind) = source.api().or_else(|| source.ids_of()) else {
            return Ok(None);
        };
        let page = self
            .inner
            .registry
            .get(kind)
            .ok()
            .and_then(|p| p.capabilities().activity_page);
        let id_text = &activity.data.provider_activity_id;
        // The id goes into a URL: only a plain one (a provider's numbers, letters, dashes).
        let plain = !id_text.is_empty()
            && id_text.len() <= 64
            && id_text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        Ok(page.filter(|_| plain).map(|p| p.replace("{id}", id_text)))
    }

    /// Save activity `id`'s original to `to` (a new file; an existing one is not replaced).
    pub async fn save_original(&self, id: i64, to: &std::path::Path) -> Result<u64> {
        let (bytes, _, _) = self.original(id).await?;
        export::write_new(to, &bytes).await?;
        Ok(bytes.len() as u64)
    }

    /// Run `provider`'s download queue (every connection's when `None`) in the foreground, up
    /// to `limit` activities each, within the budget; stops at once on `cancel`.
    pub async fn download_recordings(
        &self,
        provider: Option<ProviderKind>,
        limit: usize,
        cancel: &CancellationToken,
    ) -> Result<Vec<recording::queue::BatchReport>> {
        let mut reports = Vec::new();
        for connection in self.list_connections().await? {
            if provider.is_some_and(|p| p != connection.provider) {
                continue;
            }
            reports.push(
                self.inner
                    .downloader
                    .run_batch(connection.provider, limit, cancel)
                    .await?,
            );
        }
        if reports.is_empty()
            && let Some(p) = provider
        {
            return Err(Error::not_found(format!("a {p} connection")));
        }
        Ok(reports)
    }

    /// Where `provider`'s recordings stand.
    pub async fn recording_progress(
        &self,
        provider: ProviderKind,
    ) -> Result<recording::queue::Progress> {
        let connection = self.get_connection_by_provider(provider).await?;
        self.inner.downloader.progress(&connection).await
    }

    /// Remove originals nothing refers to (also done at every start).
    pub async fn collect_orphaned_originals(&self) -> Result<u64> {
        self.inner.downloader.collect_orphans().await
    }

    // --- Import -----------------------------------------------------------------------------

    /// Import files, folders and archives (see [`import`]): every file gets one outcome, the
    /// copies are linked with what other sources have, and progress is emitted as
    /// [`events::CoreEvent::ImportProgress`]. `cancel` stops it after the file in hand; what is
    /// done stays (importing the same files again finishes it).
    pub async fn import(
        &self,
        inputs: Vec<std::path::PathBuf>,
        cancel: CancellationToken,
    ) -> Result<import::ImportReport> {
        self.importer().run(inputs, cancel).await
    }

    /// [`Self::import`] with other limits (tests of the limits' messages).
    pub async fn import_with_limits(
        &self,
        inputs: Vec<std::path::PathBuf>,
        limits: import::walk::Limits,
    ) -> Result<import::ImportReport> {
        self.importer()
            .run_with(inputs, limits, CancellationToken::new())
            .await
    }

    fn importer(&self) -> import::Importer {
        import::Importer::new(
            self.inner.store.clone(),
            self.inner.downloader.files().clone(),
            self.inner.clock.clone(),
            self.inner.events.clone(),
        )
    }

    /// Every import, newest first.
    pub async fn imports(&self) -> Result<Vec<import::ImportReport>> {
        import::list(&self.inner.store, self.inner.clock.now()).await
    }

    /// One import, with its refused files and why.
    pub async fn import_report(&self, id: i64) -> Result<import::ImportReport> {
        import::report(&self.inner.store, id).await
    }

    /// Forget an import as a whole: the copies it made go (their workouts settle), and the
    /// originals no other copy refers to. Returns how many copies were deleted.
    pub async fn forget_import(&self, id: i64) -> Result<u64> {
        let deleted = import::forget(&self.inner.store, id).await?;
        self.inner.downloader.collect_orphans().await?;
        Ok(deleted)
    }

    /// Link the activities stored before linking existed (once per database; also run in the
    /// background by [`Core::open`]). Returns how many copies joined a workout.
    pub async fn link_backfill(&self) -> Result<u64> {
        linking::backfill_once(&self.inner.store, self.inner.clock.as_ref()).await
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

    /// Sync every enabled connection at once and wait for all: never stops at the first refusal
    /// (a switched-off or rate-limited connection, one the CLI is syncing); reports each.
    pub async fn sync_all(&self, trigger: SyncTrigger, mode: SyncMode) -> Result<Vec<SyncOutcome>> {
        let mut started = Vec::new();
        let mut outcomes = Vec::new();
        for connection in self.list_connections().await? {
            if !connection.enabled {
                continue;
            }
            let provider = connection.provider;
            match self.inner.engine.start(provider, trigger, mode).await {
                Ok(handle) => started.push(handle),
                Err(e) => outcomes.push(SyncOutcome {
                    provider,
                    run: None,
                    refused: Some(Refusal::from(&e)),
                }),
            }
        }
        for handle in started {
            let provider = handle.provider;
            outcomes.push(match handle.wait().await {
                Ok(run) => SyncOutcome {
                    provider,
                    run: Some(run),
                    refused: None,
                },
                Err(e) => SyncOutcome {
                    provider,
                    run: None,
                    refused: Some(Refusal::from(&e)),
                },
            });
        }
        outcomes.sort_by_key(|o| o.provider);
        Ok(outcomes)
    }

    /// Start the scheduler (a start-up run, then each connection on its interval) in the
    /// background. Front ends keep the handle; dropping it stops the scheduler.
    ///
    /// The pacing given here is fixed for the scheduler's life (tests, benchmarks); the
    /// athlete's saved pause is still honoured. Front ends start the agent with
    /// [`Core::start_agent`], which follows the saved settings.
    pub fn start_scheduler(&self, settings: SchedulerSettings) -> SchedulerHandle {
        let fixed = scheduler::Fixed {
            interval: Some(settings.interval),
            reconcile_every: Some(settings.reconcile_every),
        };
        self.scheduler(fixed).start(settings)
    }

    /// Start the background agent with the athlete's saved settings (pause, interval,
    /// reconcile), which it follows as they change, except what `options` fixes for this run.
    /// The same for the tray app and `tributary agent`.
    pub fn start_agent(&self, options: scheduler::AgentOptions) -> Result<SchedulerHandle> {
        options.validate()?;
        let fixed = scheduler::Fixed {
            interval: options.interval,
            reconcile_every: options.reconcile_every,
        };
        let settings = SchedulerSettings {
            startup_run: options.startup_run,
            ..SchedulerSettings::default()
        };
        Ok(self.scheduler(fixed).start(settings))
    }

    fn scheduler(&self, fixed: scheduler::Fixed) -> Scheduler {
        Scheduler {
            store: self.inner.store.clone(),
            engine: self.inner.engine.clone(),
            registry: self.inner.registry.clone(),
            clock: self.inner.clock.clone(),
            events: self.inner.events.clone(),
            athlete_id: self.inner.athlete_id,
            published: self.inner.scheduler_status.clone(),
            fixed,
            settings_changed: self.inner.settings_changed.clone(),
            downloader: self
                .inner
                .config
                .background_downloads
                .then(|| self.inner.downloader.clone()),
        }
    }

    /// Cancel every running sync of this process and wait until each recorded `cancelled`.
    pub async fn cancel_all_syncs(&self) {
        self.inner.engine.cancel_all_and_wait().await;
    }

    /// Mark runs left `running` by stopped processes as `interrupted` (the scheduler does this on
    /// every tick). Returns how many.
    pub async fn recover_dead_runs(&self) -> Result<u64> {
        self.inner.engine.recover_interrupted(None).await
    }

    /// Whether `provider` has a run in progress in this process.
    pub fn is_syncing(&self, provider: ProviderKind) -> bool {
        self.inner.engine.is_running(provider)
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
