//! What the shell sends the webview as events: plain data, depending on nothing else in the shell
//! (the tray, the notifications and the state all name these without depending on each other).

use serde::{Deserialize, Serialize};
use tributary_core::domain::ProviderKind;
use tributary_core::events::CoreEvent;

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
