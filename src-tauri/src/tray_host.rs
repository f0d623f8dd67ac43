//! Whether this desktop shows tray icons: a StatusNotifier host registered with the session
//! bus's `org.kde.StatusNotifierWatcher`. Without one (stock GNOME without the AppIndicator
//! extension, bare window managers, Xvfb) the tray icon is shown nowhere, so closing the window
//! must not quietly leave Tributary syncing with nothing to click: the window asks instead.
//! Followed as the watcher, or its host, comes and goes (an extension switched on, a panel
//! restarted).

use futures_util::StreamExt;
use std::sync::atomic::{AtomicU8, Ordering};
use tauri::{AppHandle, Manager, Runtime};
use tauri_specta::Event;

use crate::payloads::TrayHostChanged;
use crate::state::AppState;

const WATCHER: &str = "org.kde.StatusNotifierWatcher";
const WATCHER_PATH: &str = "/StatusNotifierWatcher";

/// What is known of the tray host (in the app's state; unknown until the first look).
pub struct TrayHost(AtomicU8);

impl Default for TrayHost {
    fn default() -> Self {
        Self(AtomicU8::new(UNKNOWN))
    }
}

const UNKNOWN: u8 = 0;
const ABSENT: u8 = 1;
const PRESENT: u8 = 2;

impl TrayHost {
    /// Whether a tray shows the app's icon. Unknown counts as absent: asking once too often is
    /// better than hiding the window where nothing can bring it back.
    pub fn present(&self) -> bool {
        self.0.load(Ordering::SeqCst) == PRESENT
    }
}

/// Whether the app's tray icon can be seen (false before the first check).
pub fn present<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.try_state::<AppState>()
        .is_some_and(|s| s.tray.present())
}

/// Start following the tray host for the app's life.
pub fn watch<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if let Err(e) = follow(&app).await {
            // No session bus: no tray either.
            tracing::warn!(error = %e, "cannot tell whether the desktop shows tray icons");
            set(&app, false);
        }
    });
}

async fn follow<R: Runtime>(app: &AppHandle<R>) -> zbus::Result<()> {
    let bus = zbus::Connection::session().await?;
    let dbus = zbus::fdo::DBusProxy::new(&bus).await?;
    // Subscribed before the first look, so that no change falls between the two.
    let mut owners = dbus
        .receive_name_owner_changed_with_args(&[(0, WATCHER)])
        .await?;
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface(WATCHER)?
        .build();
    let mut hosts = zbus::MessageStream::for_match_rule(rule, &bus, Some(16)).await?;
    loop {
        set(app, host_registered(&bus, &dbus).await);
        tokio::select! {
            Some(_) = owners.next() => {}
            Some(_) = hosts.next() => {}
            else => return Ok(()),
        }
    }
}

/// A watcher is on the bus and says a host is registered with it.
async fn host_registered(bus: &zbus::Connection, dbus: &zbus::fdo::DBusProxy<'_>) -> bool {
    let Ok(name) = zbus::names::BusName::try_from(WATCHER) else {
        return false;
    };
    if !dbus.name_has_owner(name).await.unwrap_or(false) {
        return false;
    }
    let Ok(watcher) = zbus::Proxy::new(bus, WATCHER, WATCHER_PATH, WATCHER).await else {
        return false;
    };
    // A watcher that does not answer the property is taken at its word by being there.
    watcher
        .get_property::<bool>("IsStatusNotifierHostRegistered")
        .await
        .unwrap_or(true)
}

fn set<R: Runtime>(app: &AppHandle<R>, present: bool) {
    let Some(state) = app.try_state::<AppState>() else {
        return;
    };
    let now = if present { PRESENT } else { ABSENT };
    if state.tray.0.swap(now, Ordering::SeqCst) == now {
        return;
    }
    tracing::info!(present, "system tray host");
    if let Err(e) = (TrayHostChanged { present }).emit(app) {
        tracing::debug!(error = %e, "could not tell the window about the tray");
    }
}
