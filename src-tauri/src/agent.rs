//! The tray agent's plumbing: start the core's scheduler with the athlete's settings, apply a
//! change of settings (pace, pause, start at login), and "sync all now". The policy itself (when
//! to sync, what needs the athlete) lives in the core.

use crate::state::AppState;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_autostart::ManagerExt;
use tributary_core::domain::SyncTrigger;
use tributary_core::scheduler::AgentOptions;
use tributary_core::settings::{Settings, SettingsPatch};
use tributary_core::sync::SyncMode;

/// The interval from `TRIBUTARY_SYNC_INTERVAL` (e.g. `5s`, for tests), overriding the setting for
/// this run of the app. One that cannot be read, or is below the core's floor, is ignored with a
/// warning (the saved interval applies).
pub fn interval_override() -> Option<std::time::Duration> {
    let text = std::env::var("TRIBUTARY_SYNC_INTERVAL").ok()?;
    match humantime::parse_duration(&text) {
        Ok(d) if d >= tributary_core::scheduler::MIN_INTERVAL => Some(d),
        _ => {
            tracing::warn!(value = %text, "TRIBUTARY_SYNC_INTERVAL ignored: a duration of at least 1s, such as 30s");
            None
        }
    }
}

/// Start the core's agent, which follows the saved settings (pause, pace) by itself;
/// `startup_run` says whether its first look syncs every connection at once.
pub async fn start<R: Runtime>(app: &AppHandle<R>, startup_run: bool) {
    let Some(state) = app.try_state::<AppState>() else {
        return;
    };
    let options = AgentOptions {
        startup_run,
        interval: interval_override(),
        reconcile_every: None,
    };
    match state.core.start_agent(options) {
        Ok(scheduler) => {
            *state
                .scheduler
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(scheduler);
        }
        Err(e) => tracing::error!(error = %e, "the background agent could not start"),
    }
}

/// Save a change of settings (the core's scheduler follows it) and apply what is the shell's to
/// apply.
pub async fn update<R: Runtime>(
    app: &AppHandle<R>,
    patch: &SettingsPatch,
) -> tributary_core::Result<Settings> {
    let state = app.state::<AppState>();
    let settings = state.core.update_settings(patch).await?;
    apply(app, &settings);
    crate::tray::request_refresh(app);
    Ok(settings)
}

fn apply<R: Runtime>(app: &AppHandle<R>, settings: &Settings) {
    let autolaunch = app.autolaunch();
    let result = match (settings.autostart, autolaunch.is_enabled()) {
        (true, Ok(false)) => autolaunch.enable(),
        (false, Ok(true)) => autolaunch.disable(),
        _ => Ok(()),
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not change starting at login");
    }
}

/// Pause or resume background sync (the tray's menu item).
pub async fn toggle_pause<R: Runtime>(app: &AppHandle<R>) {
    let paused = match app.state::<AppState>().core.settings().await {
        Ok(settings) => settings.paused,
        Err(e) => {
            tracing::warn!(error = %e, "could not read whether background sync is paused");
            return;
        }
    };
    let patch = SettingsPatch {
        paused: Some(!paused),
        ..SettingsPatch::default()
    };
    if let Err(e) = update(app, &patch).await {
        tracing::warn!(error = %e, "could not pause or resume background sync");
    }
}

/// Sync every enabled connection now, in the background (progress arrives as events).
pub fn sync_all_now<R: Runtime>(app: &AppHandle<R>) {
    let core = app.state::<AppState>().core.clone();
    tauri::async_runtime::spawn(async move {
        match core
            .sync_all(SyncTrigger::Manual, SyncMode::Incremental)
            .await
        {
            Ok(outcomes) => {
                for outcome in outcomes.iter().filter(|o| o.refused.is_some()) {
                    tracing::info!(provider = %outcome.provider, refused = ?outcome.refused, "not synced");
                }
            }
            Err(e) => tracing::warn!(error = %e, "sync all did not start"),
        }
    });
}
