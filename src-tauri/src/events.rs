//! Events the UI listens to, typed through tauri-specta, and the sink that forwards the core's.

use crate::payloads::CoreEventMessage;
use tauri::{AppHandle, Runtime};
use tauri_specta::Event;
use tokio::sync::mpsc;
use tributary_core::events::{CoreEvent, EventSink};

/// Forwards core events to the webview, and hands the shell's own reactions (the tray's look, a
/// notification) to a channel: the sink calls neither the tray nor the notifications, which are
/// fed by [`react`], so no module of the shell depends back on the events.
pub struct TauriEventSink<R: Runtime> {
    app: AppHandle<R>,
    shell: mpsc::UnboundedSender<CoreEvent>,
}

impl<R: Runtime> TauriEventSink<R> {
    /// A sink for `app`, and the receiving end of the shell's reactions (give it to [`react`]).
    pub fn new(app: AppHandle<R>) -> (Self, mpsc::UnboundedReceiver<CoreEvent>) {
        let (shell, reactions) = mpsc::unbounded_channel();
        (Self { app, shell }, reactions)
    }
}

impl<R: Runtime> EventSink for TauriEventSink<R> {
    fn emit(&self, event: CoreEvent) {
        if !matches!(
            event,
            CoreEvent::SyncProgress { .. } | CoreEvent::ImportProgress { .. }
        ) {
            // Progress changes nothing the tray or a notification shows.
            let _ = self.shell.send(event.clone());
        }
        // Without a window there is nobody to tell; the UI reads the dashboard when it returns.
        if let Err(e) = CoreEventMessage(event).emit(&self.app) {
            tracing::debug!(error = %e, "no window heard a core event");
        }
    }
}

/// The shell's reactions to core events, in order: a notification for what needs the athlete,
/// and the tray refreshed for anything that changes its look.
pub async fn react<R: Runtime>(app: AppHandle<R>, mut events: mpsc::UnboundedReceiver<CoreEvent>) {
    while let Some(event) = events.recv().await {
        if let CoreEvent::Attention { attention } = event {
            crate::notify::raise(&app, attention);
        }
        crate::tray::request_refresh(&app);
    }
}
