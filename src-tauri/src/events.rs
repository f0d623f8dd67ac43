//! Events the UI listens to, typed through tauri-specta, and the sink that forwards the core's.

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Runtime};
use tauri_specta::Event;
use tributary_core::domain::ProviderKind;
use tributary_core::events::{CoreEvent, EventSink};

/// A core event (sync progress, connection changes), as the core emitted it.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
pub struct CoreEventMessage(pub CoreEvent);

/// The outcome of a deep link handed to the app (an OAuth redirect, or something unknown).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct DeepLinkOutcome {
    /// Whether the link did what it was for.
    pub ok: bool,
    /// The provider it concerned, when known.
    pub provider: Option<ProviderKind>,
    /// A sentence for the athlete.
    pub message: String,
}

/// A notification or the tray asked to show a connection (the window may already be open).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct FocusRequested {
    /// The connection's provider.
    pub provider: ProviderKind,
}

/// Forwards core events to the webview, and lets the shell react: the tray refreshes on what
/// changes its look, notifications are raised for what needs the athlete.
pub struct TauriEventSink<R: Runtime>(pub AppHandle<R>);

impl<R: Runtime> EventSink for TauriEventSink<R> {
    fn emit(&self, event: CoreEvent) {
        match &event {
            CoreEvent::Attention { attention } => {
                crate::notify::raise(&self.0, attention.clone());
                crate::tray::request_refresh(&self.0);
            }
            CoreEvent::SyncProgress { .. } => {}
            _ => crate::tray::request_refresh(&self.0),
        }
        // Without a window there is nobody to tell; the UI reads the dashboard when it returns.
        if let Err(e) = CoreEventMessage(event).emit(&self.0) {
            tracing::debug!(error = %e, "no window heard a core event");
        }
    }
}
