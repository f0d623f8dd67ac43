//! The one value the app manages: the core, and the sandbox when running in demo mode.

use crate::events::DeepLinkOutcome;
use serde::Serialize;
use std::sync::Mutex;
use tributary_core::Core;
use tributary_sandbox::Sandbox;

/// Managed once in `setup`; commands reach it through `State<'_, AppState>`.
pub struct AppState {
    /// The core.
    pub core: Core,
    /// The in-process sandbox in demo mode (kept alive for the app's life).
    pub sandbox: Option<Sandbox>,
    /// Deep-link outcomes not yet shown: a link that cold-starts the app is handled before the
    /// UI listens, so its outcome waits here until the UI asks.
    pub unseen_outcomes: Mutex<Vec<DeepLinkOutcome>>,
}

impl AppState {
    /// A state around a core.
    pub fn new(core: Core, sandbox: Option<Sandbox>) -> Self {
        Self {
            core,
            sandbox,
            unseen_outcomes: Mutex::new(Vec::new()),
        }
    }
}

/// What the UI needs to know about how the app runs.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AppInfo {
    /// Demo mode: every provider is the built-in sandbox, with demo credentials.
    pub sandbox: bool,
    /// App version.
    pub version: String,
}
