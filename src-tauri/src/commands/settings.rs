//! App settings: how the app runs, and a provider's API credentials (write-only: secrets go to
//! the keyring and never come back to the UI).

use crate::error::CommandResult;
use crate::events::DeepLinkOutcome;
use crate::state::{AppInfo, AppState};
use tauri::State;
use tributary_core::domain::ProviderKind;
use tributary_core::secrets::Sensitive;

/// Demo mode or real, and the version.
#[tauri::command]
#[specta::specta]
pub async fn get_app_info(state: State<'_, AppState>) -> CommandResult<AppInfo> {
    Ok(AppInfo {
        sandbox: state.sandbox.is_some(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
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
