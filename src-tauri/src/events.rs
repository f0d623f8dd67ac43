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

/// Forwards core events to the webview.
pub struct TauriEventSink<R: Runtime>(pub AppHandle<R>);

impl<R: Runtime> EventSink for TauriEventSink<R> {
    fn emit(&self, event: CoreEvent) {
        if let Err(e) = CoreEventMessage(event).emit(&self.0) {
            tracing::warn!(error = %e, "could not emit a core event");
        }
    }
}
