//! The one value the app manages: the core, the sandbox in demo mode, the background scheduler,
//! and the little the shell itself remembers (deep-link outcomes not yet shown, the connection a
//! notification asked to open).

use crate::payloads::DeepLinkOutcome;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Mutex;
use tokio_util::sync::CancellationToken;
use tributary_core::Core;
use tributary_core::domain::ProviderKind;
use tributary_core::scheduler::SchedulerHandle;
use tributary_sandbox::Sandbox;

/// Managed once in `setup`; commands reach it through `State<'_, AppState>`.
pub struct AppState {
    /// The core.
    pub core: Core,
    /// The in-process sandbox in demo mode (kept alive for the app's life).
    pub sandbox: Option<Sandbox>,
    /// The background agent: the core's scheduler, running while the app runs (window or not).
    pub scheduler: Mutex<Option<SchedulerHandle>>,
    /// Deep-link outcomes not yet shown: a link that cold-starts the app is handled before the
    /// UI listens, so its outcome waits here until the UI asks.
    pub unseen_outcomes: Mutex<Vec<DeepLinkOutcome>>,
    /// The connection a notification (or the tray) asked the window to show, until the UI asks.
    pub focus: Mutex<Option<ProviderKind>>,
    /// Sign-ins waiting on a loopback redirect, to cancel when the athlete gives up.
    pub loopbacks: Mutex<std::collections::HashMap<ProviderKind, CancellationToken>>,
    /// Why the keyring cannot be used, when it cannot (shown, with the fix).
    pub keyring_problem: Option<String>,
    /// The running import's cancel, while one runs (one at a time from the window).
    pub import: Mutex<Option<CancellationToken>>,
    /// Whether the desktop shows tray icons (`tray_host` follows it).
    pub tray: crate::tray_host::TrayHost,
}

impl AppState {
    /// A state around a core.
    pub fn new(core: Core, sandbox: Option<Sandbox>) -> Self {
        Self {
            core,
            sandbox,
            scheduler: Mutex::new(None),
            unseen_outcomes: Mutex::new(Vec::new()),
            focus: Mutex::new(None),
            loopbacks: Mutex::new(std::collections::HashMap::new()),
            keyring_problem: None,
            import: Mutex::new(None),
            tray: crate::tray_host::TrayHost::default(),
        }
    }

    /// The same, knowing the keyring cannot be used and why.
    pub fn with_keyring_problem(mut self, problem: String) -> Self {
        self.keyring_problem = Some(problem);
        self
    }

    /// Run `f` on the scheduler, if one runs.
    pub fn with_scheduler<T>(&self, f: impl FnOnce(&SchedulerHandle) -> T) -> Option<T> {
        self.scheduler
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(f)
    }
}

/// What the UI needs to know about how the app runs.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AppInfo {
    /// Demo mode: every provider is the built-in sandbox, with demo credentials.
    pub sandbox: bool,
    /// App version.
    pub version: String,
    /// Where the database lives.
    pub data_dir: PathBuf,
    /// Why the keyring cannot be used (tokens cannot be kept), with the fix; absent when it can.
    pub keyring_problem: Option<String>,
    /// Whether the desktop shows tray icons (`TrayHostChanged` follows it).
    pub tray: bool,
    /// The interval in force for this run when `TRIBUTARY_SYNC_INTERVAL` overrides the saved one
    /// (seconds); Settings says so rather than show a value that is not being used.
    pub interval_override_seconds: Option<u32>,
    /// In the demo, a personal API key its simulated providers accept, for the athlete to paste
    /// (not a secret: it opens only the local sandbox); absent in real mode.
    pub demo_personal_key: Option<String>,
}
