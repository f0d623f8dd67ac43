//! The tray agent's plumbing: start the core's scheduler with the athlete's settings, apply a
//! change of settings (pace, pause, start at login), and "sync all now". The policy itself (when
//! to sync, what needs the athlete) lives in the core.

use crate::state::AppState;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_autostart::ManagerExt;
use tributary_core::domain::SyncTrigger;
use tributary_core::settings::{Settings, SettingsPatch};
use tributary_core::sync::SyncMode;

/// The interval from `TRIBUTARY_SYNC_INTERVAL` (e.g. `5s`, for tests), overriding the setting for
/// this run of the app.
fn interval_override() -> Option<std::time::Duration> {
    let text = std::env::var("TRIBUTARY_SYNC_INTERVAL").ok()?;
    humantime::parse_duration(&text).ok()
}

/// Start the scheduler with the saved settings (paused if the athlete paused it); `startup_run`
/// says whether its first pass syncs every connection at once.
pub async fn start<R: Runtime>(app: &AppHandle<R>, startup_run: bool) {
    let Some(state) = app.try_state::<AppState>() else {
        return;
    };
    let settings = state.core.settings().await.unwrap_or_default();
    let mut pacing = settings.scheduler();
    pacing.startup_run = startup_run;
    if let Some(interval) = interval_override() {
        pacing.interval = interval;
    }
    let scheduler = state.core.start_scheduler(pacing);
    if settings.paused {
        scheduler.pause();
    }
    *state
        .scheduler
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(scheduler);
}

/// Save a change of settings and apply what is the shell's to apply.
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
    let state = app.state::<AppState>();
    let mut pacing = settings.scheduler();
    if let Some(interval) = interval_override() {
        pacing.interval = interval;
    }
    state.with_scheduler(|scheduler| {
        scheduler.set_settings(pacing);
        if settings.paused {
            scheduler.pause();
        } else {
            scheduler.resume();
        }
    });
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
    let paused = app
        .state::<AppState>()
        .with_scheduler(|s| s.is_paused())
        .unwrap_or(false);
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
