//! App settings: how the app runs, and a provider's API credentials (write-only: secrets go to
//! the keyring and never come back to the UI).

use crate::error::CommandResult;
use crate::payloads::DeepLinkOutcome;
use crate::state::{AppInfo, AppState};
use tauri::{AppHandle, State};
use tributary_core::auth::CredentialsCheck;
use tributary_core::domain::ProviderKind;
use tributary_core::secrets::Sensitive;
use tributary_core::settings::{Settings, SettingsPatch};

/// Demo mode or real, the version, where the data lives.
#[tauri::command]
#[specta::specta]
pub async fn get_app_info(state: State<'_, AppState>) -> CommandResult<AppInfo> {
    Ok(AppInfo {
        tray: state.tray.present(),
        interval_override_seconds: crate::agent::interval_override()
            .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX)),
        sandbox: state.sandbox.is_some(),
        demo_personal_key: state
            .sandbox
            .as_ref()
            .map(|s| s.demo_personal_key().to_owned()),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        data_dir: state.core.config().data_dir.clone(),
        keyring_problem: state.keyring_problem.clone(),
    })
}

/// Switch between real accounts and the sandbox demo: saved, then the app restarts into it.
#[tauri::command]
#[specta::specta]
pub async fn set_mode(
    app: AppHandle,
    state: State<'_, AppState>,
    mode: String,
) -> CommandResult<()> {
    // The demo keeps its data under `<data dir>/sandbox`; the choice lives beside the real one.
    let base = match state.sandbox {
        Some(_) => state
            .core
            .config()
            .data_dir
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default(),
        None => state.core.config().data_dir.clone(),
    };
    crate::mode::write(&base, &mode).map_err(|e| crate::error::CommandError {
        code: tributary_core::ErrorCode::Validation,
        message: e.to_string(),
    })?;
    app.restart()
}

/// Prove a provider's API credentials against it before connecting.
#[tauri::command]
#[specta::specta]
pub async fn check_provider_credentials(
    state: State<'_, AppState>,
    provider: ProviderKind,
) -> CommandResult<CredentialsCheck> {
    Ok(state.core.check_credentials(provider).await?)
}

/// The athlete's settings.
#[tauri::command]
#[specta::specta]
pub async fn get_settings(state: State<'_, AppState>) -> CommandResult<Settings> {
    Ok(state.core.settings().await?)
}

/// Change settings; the scheduler's pace and pause and starting at login follow at once.
#[tauri::command]
#[specta::specta]
pub async fn update_settings(app: AppHandle, patch: SettingsPatch) -> CommandResult<Settings> {
    Ok(crate::agent::update(&app, &patch).await?)
}

/// The connection a notification or the tray asked to show, once.
#[tauri::command]
#[specta::specta]
pub async fn take_focus(state: State<'_, AppState>) -> CommandResult<Option<ProviderKind>> {
    Ok(state
        .focus
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take())
}

/// The UI's dashboard is on screen (the shell logs how long that took after "Open").
#[tauri::command]
#[specta::specta]
pub async fn window_ready(app: AppHandle) -> CommandResult<()> {
    crate::window::shown(&app);
    Ok(())
}

/// Open the provider's own page of activity `id` in the browser ("Open at Strava"); the address
/// is the core's, never the window's.
#[tauri::command]
#[specta::specta]
pub async fn open_activity_page(
    app: AppHandle,
    state: State<'_, AppState>,
    id: i64,
) -> CommandResult<()> {
    let url = state.core.activity_page(id).await?.ok_or_else(|| {
        tributary_core::Error::Validation(format!("activity {id} has no page at its provider"))
    })?;
    open_in_browser(&app, &url)
}

/// Open an address the core gave in the athlete's browser.
fn open_in_browser(app: &AppHandle, url: &str) -> CommandResult<()> {
    use tauri_plugin_opener::OpenerExt;
    app.opener()
        .open_url(url, None::<&str>)
        .map_err(|e| crate::error::CommandError {
            code: tributary_core::ErrorCode::Internal,
            message: format!("could not open the browser: {e}"),
        })
}

/// Hide the window and keep syncing in the background (the answer "Keep syncing" when the window
/// was closed on a desktop without a tray).
#[tauri::command]
#[specta::specta]
pub async fn hide_window(app: AppHandle) -> CommandResult<()> {
    crate::window::hide(&app);
    Ok(())
}

/// Quit: the scheduler stops (running syncs are recorded `cancelled`) and the process ends.
#[tauri::command]
#[specta::specta]
pub async fn quit_app(app: AppHandle) -> CommandResult<()> {
    tracing::info!("quit from the window");
    app.exit(0);
    Ok(())
}

/// Show the data folder in the file manager.
#[tauri::command]
#[specta::specta]
pub async fn open_data_folder(app: AppHandle, state: State<'_, AppState>) -> CommandResult<()> {
    use tauri_plugin_opener::OpenerExt;
    let path = state.core.store().path().to_owned();
    app.opener()
        .reveal_item_in_dir(&path)
        .map_err(|e| crate::error::CommandError {
            code: tributary_core::ErrorCode::Internal,
            message: format!("could not open the data folder: {e}"),
        })
}

/// Open, in the browser, the page where the owner of a provider's API application manages it
/// (Strava's, to re-activate an inactive application). The address is the core's, never the
/// webview's.
#[tauri::command]
#[specta::specta]
pub async fn open_app_settings(
    app: AppHandle,
    state: State<'_, AppState>,
    provider: ProviderKind,
) -> CommandResult<()> {
    let url = state
        .core
        .available_providers()
        .await?
        .into_iter()
        .find(|p| p.provider == provider)
        .and_then(|p| p.capabilities.app_settings_url)
        .ok_or_else(|| {
            tributary_core::Error::Validation(format!(
                "{provider} has no page for its API application"
            ))
        })?;
    open_in_browser(&app, url)
}

/// Store a provider's client id and secret in the keyring.
#[tauri::command]
#[specta::specta]
pub async fn set_provider_credentials(
    state: State<'_, AppState>,
    provider: ProviderKind,
    client_id: String,
    client_secret: Option<String>,
) -> CommandResult<()> {
    let secret = client_secret
        .filter(|s| !s.trim().is_empty())
        .map(Sensitive::new);
    Ok(state
        .core
        .set_client_credentials(provider, &client_id, secret.as_ref())
        .await?)
}

/// Deep-link outcomes the UI has not shown yet (e.g. from the link that started the app); each
/// is returned once.
#[tauri::command]
#[specta::specta]
pub async fn take_deep_link_outcomes(
    state: State<'_, AppState>,
) -> CommandResult<Vec<DeepLinkOutcome>> {
    let mut unseen = state
        .unseen_outcomes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok(std::mem::take(&mut *unseen))
}
