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

/// A tray host appeared or went away: without one, closing the window asks what to do.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct TrayHostChanged {
    /// Whether the desktop shows the app's tray icon.
    pub present: bool,
}

/// The window was closed on a desktop without a tray: the window asks whether to quit or keep
/// syncing in the background (hidden, with no icon to bring it back but launching it again).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct CloseAsked {}

/// A sign-in sent to the browser: the page to open, and whether a browser was opened for it.
/// When none was (no browser, a launcher that failed), the window shows the link to open by
/// hand; the launcher's own error goes to the log, not to the athlete.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct SignInStarted {
    /// The provider.
    pub provider: tributary_core::domain::ProviderKind,
    /// The provider's sign-in page (it carries no secret: a client id, a state, a challenge).
    pub authorize_url: String,
    /// Whether a browser was opened on it.
    pub browser_opened: bool,
}
