//! Connections: the old server's list/get/get-by-provider/delete/toggle routes, plus connecting.

use crate::error::CommandResult;
use crate::payloads::{DeepLinkOutcome, SignInStarted};
use crate::state::AppState;
use tauri::{AppHandle, State};
use tauri_plugin_opener::OpenerExt;
use tokio_util::sync::CancellationToken;
use tributary_core::auth::RedirectTarget;
use tributary_core::connections::{Dashboard, Disconnected, ProviderInfo};
use tributary_core::domain::{Connection, ProviderKind, Summary};

/// All connections.
#[tauri::command]
#[specta::specta]
pub async fn list_connections(state: State<'_, AppState>) -> CommandResult<Vec<Connection>> {
    Ok(state.core.list_connections().await?)
}

/// One connection by id.
#[tauri::command]
#[specta::specta]
pub async fn get_connection(state: State<'_, AppState>, id: i64) -> CommandResult<Connection> {
    Ok(state.core.get_connection(id).await?)
}

/// The connection to one provider.
#[tauri::command]
#[specta::specta]
pub async fn get_connection_by_provider(
    state: State<'_, AppState>,
    provider: ProviderKind,
) -> CommandResult<Connection> {
    Ok(state.core.get_connection_by_provider(provider).await?)
}

/// Revoke at the provider, wipe the keyring entries, delete the connection (and its activities
/// unless `keep_activities`).
#[tauri::command]
#[specta::specta]
pub async fn disconnect_connection(
    state: State<'_, AppState>,
    provider: ProviderKind,
    keep_activities: bool,
) -> CommandResult<Disconnected> {
    Ok(state.core.disconnect(provider, keep_activities).await?)
}

/// Switch a connection off or on.
#[tauri::command]
#[specta::specta]
pub async fn toggle_connection(
    state: State<'_, AppState>,
    provider: ProviderKind,
) -> CommandResult<Connection> {
    Ok(state.core.toggle_connection(provider).await?)
}

/// Everything the dashboard shows, in one call: providers, each connection with its latest
/// run, the summary, open episodes and the scheduler's next runs.
#[tauri::command]
#[specta::specta]
pub async fn get_dashboard(state: State<'_, AppState>) -> CommandResult<Dashboard> {
    Ok(state.core.dashboard().await?)
}

/// The figures across connections.
#[tauri::command]
#[specta::specta]
pub async fn get_summary(state: State<'_, AppState>) -> CommandResult<Summary> {
    Ok(state.core.summary().await?)
}

/// The six providers, their capabilities, and whether each is configured and connected.
#[tauri::command]
#[specta::specta]
pub async fn list_available_providers(
    state: State<'_, AppState>,
) -> CommandResult<Vec<ProviderInfo>> {
    Ok(state.core.available_providers().await?)
}

/// Start connecting: opens the provider's consent page in the system browser. The redirect
/// comes back as a deep link, handled in Rust; its outcome arrives as a `DeepLinkOutcome` event.
#[tauri::command]
#[specta::specta]
pub async fn connect_provider(
    app: AppHandle,
    state: State<'_, AppState>,
    provider: ProviderKind,
) -> CommandResult<SignInStarted> {
    if state.core.desktop_sign_in(provider)? == tributary_core::DesktopSignIn::Loopback {
        return connect_through_loopback(app, &state, provider).await;
    }
    let request = state
        .core
        .begin_connect(provider, RedirectTarget::DeepLink)
        .await?;
    let browser_opened = open_browser(&app, &request.authorize_url);
    Ok(SignInStarted {
        provider,
        authorize_url: request.authorize_url,
        browser_opened,
    })
}

/// Open `url` in the browser; false (and the launcher's error in the log) when none opened.
fn open_browser(app: &AppHandle, url: &str) -> bool {
    match app.opener().open_url(url, None::<&str>) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "no browser opened for a sign-in: the window shows its link");
            false
        }
    }
}

/// A provider that takes only loopback redirects (Google's desktop clients): the core listens on
/// loopback in the background; the outcome reaches the UI as a deep link's does. Answers once
/// the browser has the authorize page, or with the error that kept it from opening.
async fn connect_through_loopback(
    app: AppHandle,
    state: &AppState,
    provider: ProviderKind,
) -> CommandResult<SignInStarted> {
    let cancel = CancellationToken::new();
    if let Some(earlier) = state
        .loopbacks
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(provider, cancel.clone())
    {
        earlier.cancel(); // one sign-in per provider at a time
    }
    let (opened, started) = tokio::sync::oneshot::channel::<SignInStarted>();
    let core = state.core.clone();
    tauri::async_runtime::spawn(async move {
        let browser = app.clone();
        let result = core
            .connect_loopback(
                provider,
                move |request| {
                    let browser_opened = open_browser(&browser, &request.authorize_url);
                    let _ = opened.send(SignInStarted {
                        provider,
                        authorize_url: request.authorize_url.clone(),
                        browser_opened,
                    });
                },
                cancel,
            )
            .await;
        let outcome = match result {
            Ok(connected) => DeepLinkOutcome {
                ok: true,
                provider: Some(provider),
                message: format!(
                    "Connected to {}.",
                    core.registry()
                        .get(connected.connection.provider)
                        .map_or_else(
                            |_| provider.to_string(),
                            |c| c.capabilities().display_name.to_owned()
                        )
                ),
            },
            Err(tributary_core::Error::Cancelled) => return,
            Err(e) => DeepLinkOutcome {
                ok: false,
                provider: Some(provider),
                message: e.to_string(),
            },
        };
        crate::deep_link::report(&app, outcome);
    });
    started.await.map_err(|_| crate::error::CommandError {
        code: tributary_core::ErrorCode::Internal,
        message: "the sign-in could not start; see the notice".to_owned(),
    })
}

/// Connect with a personal API key the athlete pasted (Garmin's Personal API); the key goes to
/// the keyring and never comes back. `key_expires_on`: `YYYY-MM-DD`, when the athlete knows it.
#[tauri::command]
#[specta::specta]
pub async fn connect_with_key(
    state: State<'_, AppState>,
    provider: ProviderKind,
    key: String,
    key_expires_on: Option<String>,
) -> CommandResult<Connection> {
    let expires =
        match key_expires_on
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
        {
            Some(day) => Some(chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(
                |_| crate::error::CommandError {
                    code: tributary_core::ErrorCode::Validation,
                    message: format!("'{day}' is not a date (YYYY-MM-DD)"),
                },
            )?),
            None => None,
        };
    let key = tributary_core::secrets::Sensitive::new(key);
    Ok(state
        .core
        .connect_with_key(provider, &key, expires)
        .await?
        .connection)
}

/// Forget a started connect (the athlete closed the browser tab).
#[tauri::command]
#[specta::specta]
pub async fn cancel_connect(
    state: State<'_, AppState>,
    provider: ProviderKind,
) -> CommandResult<()> {
    state.core.cancel_connect(provider);
    if let Some(waiting) = state
        .loopbacks
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .remove(&provider)
    {
        waiting.cancel();
    }
    Ok(())
}
