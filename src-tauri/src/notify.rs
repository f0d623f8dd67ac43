//! Desktop notifications for what the core says needs the athlete (one per episode: the core
//! decides). A click on one opens the window on that connection. Nothing is raised when the
//! athlete switched notifications off.

use crate::state::AppState;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;
use tributary_core::attention::Attention;
use tributary_core::domain::ProviderKind;

/// Which connection each shown notification is about (managed once).
#[derive(Default)]
pub struct Shown {
    next: AtomicI32,
    about: Mutex<HashMap<i32, ProviderKind>>,
}

/// Listen for clicks on our notifications.
pub fn init<R: Runtime>(app: &AppHandle<R>) {
    app.manage(Shown::default());
    let handle = app.clone();
    let registered = app.notification().on_action(move |performed| {
        if performed.action_id() != "tap" {
            return;
        }
        let id = performed.notification().map(|n| n.id());
        let provider = id.and_then(|id| {
            handle.try_state::<Shown>().and_then(|shown| {
                shown
                    .about
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .get(&id)
                    .copied()
            })
        });
        match provider {
            Some(provider) => crate::tray::show_connection(&handle, provider),
            None => crate::window::open(&handle),
        }
    });
    if let Err(e) = registered {
        tracing::warn!(error = %e, "notification clicks will not open the app");
    }
}

/// Raise a notification for `attention`, unless the athlete switched them off.
pub fn raise<R: Runtime>(app: &AppHandle<R>, attention: Attention) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let Some(state) = app.try_state::<AppState>() else {
            return;
        };
        let wanted = state
            .core
            .settings()
            .await
            .map(|s| s.notifications)
            .unwrap_or(true);
        if !wanted {
            return;
        }
        let Some(shown) = app.try_state::<Shown>() else {
            return;
        };
        let id = shown.next.fetch_add(1, Ordering::SeqCst) + 1;
        shown
            .about
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id, attention.provider);
        let result = app
            .notification()
            .builder()
            .id(id)
            .title(&attention.title)
            .body(&attention.message)
            .show();
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not raise a notification");
        }
    });
}
