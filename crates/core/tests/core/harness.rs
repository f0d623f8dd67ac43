//! A core on a fresh data directory, pointed at a fresh sandbox.

use chrono::{TimeZone, Utc};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tributary_core::auth::RedirectTarget;
use tributary_core::clock::{Clock, SystemClock};
use tributary_core::config::RetryPolicy;
use tributary_core::domain::{Connection, ProviderKind};
use tributary_core::events::CollectingSink;
use tributary_core::providers::{Provider, Registry};
use tributary_core::secrets::{SecretStore, SwitchableStore};
use tributary_core::{Config, Core, Deps};
use tributary_sandbox::{Sandbox, SandboxConfig};

pub const STRAVA: ProviderKind = ProviderKind::Strava;

pub struct Harness {
    pub dir: TempDir,
    pub sandbox: Sandbox,
    pub core: Core,
    pub secrets: Arc<SwitchableStore>,
    #[allow(dead_code)] // read by the scheduler tests
    pub clock: Arc<dyn Clock>,
    pub events: Arc<CollectingSink>,
    pub http: reqwest::Client,
}

pub fn config(dir: &std::path::Path, sandbox: &Sandbox) -> Config {
    // Every emulated provider, configured the way the app is: through the named variables.
    let vars = sandbox.config_vars();
    let mut config = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
    config.data_dir = dir.to_owned();
    // Tests drive syncs themselves; the after-connect policy has its own test.
    config.sync_after_connect = false;
    // Fast retries keep fault tests quick; the policy is the same code as in production.
    config.retry = RetryPolicy {
        attempts: 3,
        base: Duration::from_millis(10),
        max: Duration::from_millis(40),
    };
    config
}

impl Harness {
    pub async fn new(activities: usize) -> Self {
        Self::with(
            activities,
            Arc::new(SystemClock),
            Arc::new(SwitchableStore::default()),
        )
        .await
    }

    pub async fn with(
        activities: usize,
        clock: Arc<dyn Clock>,
        secrets: Arc<SwitchableStore>,
    ) -> Self {
        Self::build(activities, clock, secrets, None, |_| {}).await
    }

    /// A core whose registry is `providers` (scripted providers) beside a sandbox for the rest.
    pub async fn scripted(clock: Arc<dyn Clock>, providers: Vec<Arc<dyn Provider>>) -> Self {
        Self::build(
            0,
            clock,
            Arc::new(SwitchableStore::default()),
            Some(providers),
            |_| {},
        )
        .await
    }

    /// A harness whose configuration `adjust` changes before the core opens.
    pub async fn adjusted(activities: usize, adjust: fn(&mut Config)) -> Self {
        Self::build(
            activities,
            Arc::new(SystemClock),
            Arc::new(SwitchableStore::default()),
            None,
            adjust,
        )
        .await
    }

    /// Garmin through its Personal API (the door for individuals) instead of the partner one.
    pub async fn garmin_personal(activities: usize) -> Self {
        Self::build(
            activities,
            Arc::new(SystemClock),
            Arc::new(SwitchableStore::default()),
            None,
            |config| {
                if let Some(garmin) = config.providers.get_mut(&ProviderKind::Garmin) {
                    garmin.door = Some("personal".to_owned());
                }
            },
        )
        .await
    }

    /// Polar's new connections through AccessLink v3 (as every one was before v4), to test v3
    /// and the move from it.
    pub async fn polar_v3(activities: usize) -> Self {
        Self::build(
            activities,
            Arc::new(SystemClock),
            Arc::new(SwitchableStore::default()),
            None,
            |config| {
                if let Some(polar) = config.providers.get_mut(&ProviderKind::Polar) {
                    polar.door = Some("v3".to_owned());
                }
            },
        )
        .await
    }

    async fn build(
        activities: usize,
        clock: Arc<dyn Clock>,
        secrets: Arc<SwitchableStore>,
        providers: Option<Vec<Arc<dyn Provider>>>,
        adjust: fn(&mut Config),
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::start(
            SandboxConfig {
                activities,
                ..SandboxConfig::default()
            },
            0,
        )
        .await
        .unwrap();
        let events = Arc::new(CollectingSink::default());
        let deps = Deps {
            secrets: secrets.clone(),
            clock: clock.clone(),
            events: events.clone(),
        };
        let mut config = config(dir.path(), &sandbox);
        adjust(&mut config);
        let core = match providers {
            Some(providers) => {
                Core::open_with_registry(config, deps, Registry::from_providers(providers)).await
            }
            None => Core::open(config, deps).await,
        }
        .unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            dir,
            sandbox,
            core,
            secrets,
            clock,
            events,
            http,
        }
    }

    /// Re-open the core on the same data directory (a restart, or a second process).
    pub async fn reopen(&self) -> Core {
        let deps = Deps {
            secrets: self.secrets.clone(),
            clock: Arc::new(SystemClock),
            events: self.events.clone(),
        };
        Core::open(config(self.dir.path(), &self.sandbox), deps)
            .await
            .unwrap()
    }

    /// Play the athlete on the sandbox's consent page: returns the redirect URL it sends back.
    pub async fn approve(&self, authorize_url: &str, choice: &str) -> String {
        let page = self
            .http
            .get(authorize_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let marker = format!("id=\"{choice}\" href=\"");
        let start = page
            .find(&marker)
            .unwrap_or_else(|| panic!("no {choice} link in {page}"))
            + marker.len();
        let href = page[start..]
            .split('"')
            .next()
            .unwrap()
            .replace("&amp;", "&");
        // The link is relative to the consent page, as a browser resolves it.
        let link = url::Url::parse(authorize_url).unwrap().join(&href).unwrap();
        let response = self.http.get(link).send().await.unwrap();
        assert!(
            response.status().is_redirection(),
            "approve redirects back to the app"
        );
        response.headers()["location"].to_str().unwrap().to_owned()
    }

    /// Connect Strava through the deep-link path.
    pub async fn connect(&self) -> Connection {
        self.connect_to(STRAVA).await
    }

    /// The redirect a desktop app uses for `provider`: the deep link where the provider accepts
    /// one, else loopback (the port is not listened on: the test hands the URL to the core).
    pub async fn redirect_for(&self, provider: ProviderKind) -> RedirectTarget {
        let info = self.core.available_providers().await.unwrap();
        let redirects = info
            .iter()
            .find(|p| p.provider == provider)
            .unwrap()
            .capabilities
            .redirects;
        match (redirects.deep_link, redirects.loopback_port) {
            (true, _) => RedirectTarget::DeepLink,
            (false, port) => RedirectTarget::Loopback {
                port: port.unwrap_or(9),
            },
        }
    }

    /// Connect a provider through the redirect its desktop app uses.
    pub async fn connect_to(&self, provider: ProviderKind) -> Connection {
        let target = self.redirect_for(provider).await;
        let request = self.core.begin_connect(provider, target).await.unwrap();
        let redirect = self.approve(&request.authorize_url, "approve").await;
        self.core
            .complete_redirect(&redirect)
            .await
            .unwrap()
            .connection
    }

    /// Connect a scripted provider through the real flow (its code exchange is scripted).
    pub async fn connect_scripted(&self, provider: ProviderKind) -> Connection {
        let request = self
            .core
            .begin_connect(provider, RedirectTarget::DeepLink)
            .await
            .unwrap();
        let state = url::Url::parse(&request.authorize_url)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .into_owned();
        let redirect = format!("{}?state={state}&code=scripted", request.redirect_uri);
        self.core
            .complete_redirect(&redirect)
            .await
            .unwrap()
            .connection
    }

    pub async fn control(&self, path: &str, body: serde_json::Value) {
        let url = format!("{}/_control/{path}", self.sandbox.base_url());
        let response = self.http.post(url).json(&body).send().await.unwrap();
        assert!(response.status().is_success(), "control {path}");
    }

    pub async fn fault(&self, kind: &str, count: u32) {
        self.fault_on("strava", kind, count).await;
    }

    pub async fn fault_on(&self, provider: &str, kind: &str, count: u32) {
        let fault = serde_json::json!({"provider": provider, "kind": kind, "count": count});
        self.control("faults", fault).await;
    }

    /// The database starts refusing writes matching `when` (a trigger, e.g. `BEFORE DELETE ON
    /// provider_connections`): a full disk, say, at one chosen step. [`Harness::accept_writes`]
    /// ends it.
    pub async fn refuse_writes(&self, when: &'static str) {
        // `when` is a literal of the calling test, never outside input.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE TRIGGER refuse {when} BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )))
        .execute(self.core.store().pool())
        .await
        .unwrap();
    }

    pub async fn accept_writes(&self) {
        sqlx::query("DROP TRIGGER refuse")
            .execute(self.core.store().pool())
            .await
            .unwrap();
    }

    /// Waits until run `sync_id` has committed its first page (a condition, not a guess at
    /// timing); fails the test after 20 s.
    pub async fn first_page_committed(&self, sync_id: i64, what: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !self.events.events().iter().any(|e| {
            matches!(e, tributary_core::events::CoreEvent::SyncProgress { sync_id: id, .. } if *id == sync_id)
        }) {
            assert!(std::time::Instant::now() < deadline, "{what}");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    pub async fn sandbox_state(&self) -> serde_json::Value {
        let url = format!("{}/_control/state", self.sandbox.base_url());
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn stored_secret_values(&self) -> Vec<String> {
        let mut values = Vec::new();
        for key in self.secrets.keys() {
            values.push(
                self.secrets
                    .get(&key)
                    .await
                    .unwrap()
                    .unwrap()
                    .expose()
                    .clone(),
            );
        }
        values
    }
}

pub fn at(y: i32, m: u32, d: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
}
