//! `tributary-sandbox`: a loopback emulator of the fitness providers' OAuth and activity APIs,
//! with a deterministic data generator and a control API to inject faults.
//!
//! It serves tests, benchmarks and the demo mode. Each provider lives under its own path prefix
//! (`/strava/...`), so one port serves all of them. State that must outlive a process (issued
//! tokens, the data set's parameters, edits) is saved to a JSON file when one is given, which is
//! how `tributary --sandbox connect` in one command and `sync` in the next see the same sandbox.
//!
//! Control API (JSON):
//! - `POST /_control/faults` `{"provider":"strava","kind":"429|500|404|malformed|truncated|bad_record|garbage_record|gone|revoke|slow","count":1,"delay_ms":0}`
//!   queues faults served to the next API calls (`revoke` kills every token instead).
//! - `POST /_control/expire_tokens` `{"provider":"strava"}` (optional) makes access tokens expire
//!   now (to exercise refresh).
//! - `POST /_control/clear_faults` drops every queued fault.
//! - `POST /_control/activities` `{"count":N,"seed":S}` regenerates the data set.
//! - `POST /_control/edit` `{"index":i}` edits one activity (its name changes).
//! - `POST /_control/budget` `{"short":n,"daily":m}` sets the Strava read budgets.
//! - `POST /_control/app_status` `{"provider":"strava","active":false}` makes the provider's API
//!   application inactive (Strava answers every API call `403` "Inactive"), `true` re-activates it.
//! - `POST /_control/upload` `{"start":"<RFC 3339>"}` adds a workout (a late upload of any age)
//!   and answers its `index`.
//! - `POST /_control/delete` `{"index":i}` deletes a workout at the provider.
//! - `GET /_control/state` reports counts (activities, live tokens, calls served).
//! - `GET /_control/truth?provider=P` lists the activity ids a complete walk of P returns now.
//! - `GET /_control/ground_truth` maps each provider's activity ids to the generated workout they
//!   render: copies with the same workout are one session (the linker's oracle).
//! - Faults take `"target": "token"` to hit the token endpoint instead of the API.

mod api;
pub mod archive;
pub mod coros;
pub mod garmin;
pub mod garmin_personal;
pub mod generate;
pub mod google_health;
pub mod polar;
pub mod polar_v4;
pub mod recording;
mod state;
pub mod strava;
pub mod wahoo;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use state::{Fault, FaultKind, FaultTarget, Shared};

/// Client id the sandbox accepts (demo mode configures it).
pub const DEMO_CLIENT_ID: &str = "tributary-demo";
/// Client secret the sandbox accepts. Not a secret: it only opens the local emulator.
pub const DEMO_CLIENT_SECRET: &str = "sandbox-not-a-secret";

/// One provider's twin: its key (the path prefix and configuration name), its routes, and where
/// its endpoints sit under the prefix.
pub(crate) struct Twin {
    pub key: &'static str,
    pub router: fn() -> Router<Arc<Shared>>,
    pub auth: &'static str,
    pub token: &'static str,
    pub api: &'static str,
    /// Extra configuration variables: (suffix, path under the prefix).
    pub extra_vars: &'static [(&'static str, &'static str)],
    /// Choices the demo makes unless the environment makes them: (suffix, value).
    pub defaults: &'static [(&'static str, &'static str)],
    /// The activity ids a complete listing would return right now, each with the generated
    /// workout it renders (the tests' oracle: which copies are the same session).
    pub truth: fn(&state::World) -> Vec<(String, usize)>,
}

/// The one list of twins.
const TWINS: [Twin; 6] = [
    strava::TWIN,
    garmin::TWIN,
    polar::TWIN,
    coros::TWIN,
    wahoo::TWIN,
    google_health::TWIN,
];

/// The providers this sandbox emulates, by their configuration key.
pub const EMULATED: [&str; 6] = [
    TWINS[0].key,
    TWINS[1].key,
    TWINS[2].key,
    TWINS[3].key,
    TWINS[4].key,
    TWINS[5].key,
];

/// How to build the sandbox.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Activities to generate.
    pub activities: usize,
    /// Generator seed.
    pub seed: u64,
    /// Years the activities span.
    pub years: u32,
    /// Where to keep state between processes (None: in memory only).
    pub state_file: Option<PathBuf>,
    /// Strava read budget per 15 minutes.
    pub budget_short: u32,
    /// Strava read budget per day.
    pub budget_daily: u32,
    /// Upload a new workout this often (the demo: providers that list only what arrives after
    /// the athlete linked them, Polar's AccessLink, still show something). None: never.
    pub trickle: Option<std::time::Duration>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            activities: 250,
            seed: 42,
            years: 3,
            state_file: None,
            budget_short: 100,
            budget_daily: 1000,
            trickle: None,
        }
    }
}

/// A running sandbox. Dropping it stops the server.
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// One provider's endpoints in the sandbox.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// Authorize page.
    pub auth_url: String,
    /// Token endpoint.
    pub token_url: String,
    /// API base.
    pub api_url: String,
}

impl Sandbox {
    /// Start on `127.0.0.1:port` (0 = any free port).
    pub async fn start(config: SandboxConfig, port: u16) -> std::io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
        let addr = listener.local_addr()?;
        let trickle = config.trickle;
        let shared = Arc::new(Shared::load(config)?);
        let app = router(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "sandbox server failed");
            }
        });
        if let Some(every) = trickle {
            // A workout that ended a while ago reaches the providers now, as a watch syncs.
            let (shared, stopped) = (Arc::downgrade(&shared), task.abort_handle());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.tick().await; // the first tick is immediate
                loop {
                    tick.tick().await;
                    let Some(shared) = shared.upgrade().filter(|_| !stopped.is_finished()) else {
                        return;
                    };
                    shared.upload(chrono::Utc::now() - chrono::Duration::hours(3));
                }
            });
        }
        Ok(Self {
            addr,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The data set's anchor: workouts are generated over the years before it.
    pub fn anchor(&self) -> chrono::DateTime<chrono::Utc> {
        self.shared.world().anchor()
    }

    /// The activity ids a complete walk of Garmin's Personal API lists now.
    pub fn garmin_personal_truth(&self) -> Vec<String> {
        garmin_personal::truth(&self.shared.world())
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }

    /// The activity ids a complete walk of Polar's AccessLink v4 lists now (each with its
    /// workout's index).
    pub fn polar_v4_truth(&self) -> Vec<(String, usize)> {
        polar_v4::truth(&self.shared.world())
    }

    /// Which of the providers' copies are the same session (see `/_control/ground_truth`).
    pub fn ground_truth(&self) -> GroundTruth {
        ground_truth(&self.shared)
    }

    /// The workouts the twins list now, oldest first (archives written from them link with the
    /// twins' copies).
    pub fn workouts(&self) -> Vec<generate::Workout> {
        self.shared.world().visible().cloned().collect()
    }

    /// Write sample archives of its latest `count` workouts (see [`archive::write_samples`]).
    pub fn write_samples(
        &self,
        dir: &std::path::Path,
        count: usize,
    ) -> std::io::Result<Vec<std::path::PathBuf>> {
        archive::write_samples(&self.workouts(), dir, count)
    }

    /// The sandbox's state (tests inspect and steer it directly).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The endpoints of `provider` (`"strava"`, ...), if the sandbox emulates it.
    pub fn endpoints(&self, provider: &str) -> Option<Endpoints> {
        let base = self.base_url();
        TWINS.iter().find(|t| t.key == provider).map(|t| Endpoints {
            auth_url: format!("{base}/{}/{}", t.key, t.auth),
            token_url: format!("{base}/{}/{}", t.key, t.token),
            api_url: format!("{base}/{}/{}", t.key, t.api)
                .trim_end_matches('/')
                .to_owned(),
        })
    }

    /// The configuration variables (`TRIBUTARY_<P>_CLIENT_ID`, `_CLIENT_SECRET`, `_AUTH_URL`,
    /// `_TOKEN_URL`, `_API_URL`, and any a twin adds) that point Tributary at this sandbox with
    /// demo credentials.
    pub fn config_vars(&self) -> std::collections::HashMap<String, String> {
        let mut vars = std::collections::HashMap::new();
        let base = self.base_url();
        for twin in &TWINS {
            let Some(e) = self.endpoints(twin.key) else {
                continue;
            };
            let prefix = format!("TRIBUTARY_{}_", twin.key.to_uppercase());
            for (suffix, path) in twin.extra_vars {
                vars.insert(
                    format!("{prefix}{suffix}"),
                    format!("{base}/{}/{path}", twin.key),
                );
            }
            for (suffix, value) in [
                ("CLIENT_ID", DEMO_CLIENT_ID.to_owned()),
                ("CLIENT_SECRET", DEMO_CLIENT_SECRET.to_owned()),
                ("AUTH_URL", e.auth_url),
                ("TOKEN_URL", e.token_url),
                ("API_URL", e.api_url),
            ] {
                vars.insert(format!("{prefix}{suffix}"), value);
            }
        }
        vars
    }

    /// The choices the demo makes for a provider unless the environment makes its own
    /// (`TRIBUTARY_GARMIN_DOOR=personal`: the door an athlete uses in 2026, not the closed
    /// partner program).
    pub fn config_defaults(&self) -> std::collections::HashMap<String, String> {
        TWINS
            .iter()
            .flat_map(|twin| {
                twin.defaults.iter().map(|(suffix, value)| {
                    (
                        format!("TRIBUTARY_{}_{suffix}", twin.key.to_uppercase()),
                        (*value).to_owned(),
                    )
                })
            })
            .collect()
    }

    /// The personal API key this sandbox's personal-key doors accept: the demo gives it to the
    /// athlete to paste (not a secret: it opens only this emulator).
    pub fn demo_personal_key(&self) -> &'static str {
        garmin_personal::DEMO_KEY
    }

    /// Stop serving and wait for the server to end.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    let mut app = Router::new();
    for twin in &TWINS {
        app = app.nest(&format!("/{}", twin.key), (twin.router)());
    }
    app.route("/_control/faults", post(control_faults))
        .route("/_control/expire_tokens", post(control_expire))
        .route("/_control/clear_faults", post(control_clear_faults))
        .route("/_control/activities", post(control_activities))
        .route("/_control/edit", post(control_edit))
        .route("/_control/budget", post(control_budget))
        .route("/_control/app_status", post(control_app_status))
        .route("/_control/upload", post(control_upload))
        .route("/_control/delete", post(control_delete))
        .route("/_control/state", get(control_state))
        .route("/_control/truth", get(control_truth))
        .route("/_control/ground_truth", get(control_ground_truth))
        .with_state(shared)
}

async fn control_faults(
    State(s): State<Arc<Shared>>,
    axum::Json(fault): axum::Json<Fault>,
) -> &'static str {
    s.inject(fault);
    "ok"
}

#[derive(Deserialize, Default)]
struct Expire {
    /// Only this provider's tokens (all when absent).
    provider: Option<String>,
}

async fn control_expire(
    State(s): State<Arc<Shared>>,
    body: Option<axum::Json<Expire>>,
) -> &'static str {
    s.expire_tokens(body.and_then(|b| b.0.provider).as_deref());
    "ok"
}

async fn control_clear_faults(State(s): State<Arc<Shared>>) -> &'static str {
    s.world().faults.clear();
    "ok"
}

#[derive(Deserialize)]
struct Regenerate {
    count: usize,
    seed: Option<u64>,
}

async fn control_activities(
    State(s): State<Arc<Shared>>,
    axum::Json(r): axum::Json<Regenerate>,
) -> &'static str {
    s.regenerate(r.count, r.seed);
    "ok"
}

#[derive(Deserialize)]
struct Edit {
    index: usize,
}

async fn control_edit(
    State(s): State<Arc<Shared>>,
    axum::Json(e): axum::Json<Edit>,
) -> &'static str {
    s.edit(e.index);
    "ok"
}

#[derive(Deserialize)]
struct Budget {
    short: u32,
    daily: u32,
}

#[derive(Deserialize)]
struct AppStatus {
    provider: String,
    active: bool,
}

async fn control_app_status(
    State(s): State<Arc<Shared>>,
    axum::Json(a): axum::Json<AppStatus>,
) -> &'static str {
    s.set_app_active(&a.provider, a.active);
    "ok"
}

async fn control_budget(
    State(s): State<Arc<Shared>>,
    axum::Json(b): axum::Json<Budget>,
) -> &'static str {
    s.set_budget(b.short, b.daily);
    "ok"
}

#[derive(Deserialize)]
struct Upload {
    /// When the uploaded workout started.
    start: chrono::DateTime<chrono::Utc>,
}

async fn control_upload(
    State(s): State<Arc<Shared>>,
    axum::Json(u): axum::Json<Upload>,
) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "index": s.upload(u.start) }))
}

async fn control_delete(
    State(s): State<Arc<Shared>>,
    axum::Json(e): axum::Json<Edit>,
) -> &'static str {
    s.delete(e.index);
    "ok"
}

#[derive(Deserialize)]
struct Truth {
    provider: String,
}

/// The ids `provider`'s twin would list in a complete walk right now.
async fn control_truth(
    State(s): State<Arc<Shared>>,
    axum::extract::Query(q): axum::extract::Query<Truth>,
) -> Result<axum::Json<Vec<String>>, axum::http::StatusCode> {
    let twin = TWINS
        .iter()
        .find(|t| t.key == q.provider)
        .ok_or(axum::http::StatusCode::NOT_FOUND)?;
    let world = s.world();
    Ok(axum::Json(
        (twin.truth)(&world).into_iter().map(|(id, _)| id).collect(),
    ))
}

async fn control_ground_truth(State(s): State<Arc<Shared>>) -> axum::Json<GroundTruth> {
    axum::Json(ground_truth(&s))
}

/// For each provider, each activity id it lists and the generated workout that id renders.
pub type GroundTruth =
    std::collections::BTreeMap<String, std::collections::BTreeMap<String, usize>>;

fn ground_truth(shared: &Shared) -> GroundTruth {
    let world = shared.world();
    TWINS
        .iter()
        .map(|t| (t.key.to_owned(), (t.truth)(&world).into_iter().collect()))
        .collect()
}

async fn control_state(State(s): State<Arc<Shared>>) -> axum::Json<serde_json::Value> {
    axum::Json(s.report())
}
