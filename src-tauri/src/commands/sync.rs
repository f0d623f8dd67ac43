//! Sync runs: trigger, cancel, history and status.

use crate::error::CommandResult;
use crate::state::AppState;
use tauri::State;
use tributary_core::domain::{ProviderKind, SyncRun, SyncTrigger};
use tributary_core::sync::SyncMode;

/// Start a sync and return its run id at once; progress and the end arrive as `CoreEventMessage`s.
#[tauri::command]
#[specta::specta]
pub async fn start_sync(
    state: State<'_, AppState>,
    provider: ProviderKind,
    mode: SyncMode,
) -> CommandResult<i64> {
    Ok(state
        .core
        .start_sync(provider, SyncTrigger::Manual, mode)
        .await?
        .sync_id)
}

/// Sync every enabled connection now (in the background; progress arrives as events).
#[tauri::command]
#[specta::specta]
pub async fn sync_all_now(app: tauri::AppHandle) -> CommandResult<()> {
    crate::agent::sync_all_now(&app);
    Ok(())
}

/// Cancel a provider's running sync; true if one was running.
#[tauri::command]
#[specta::specta]
pub async fn cancel_sync(
    state: State<'_, AppState>,
    provider: ProviderKind,
) -> CommandResult<bool> {
    Ok(state.core.cancel_sync(provider).await)
}

/// A connection's runs, newest first.
#[tauri::command]
#[specta::specta]
pub async fn get_sync_history(
    state: State<'_, AppState>,
    provider: ProviderKind,
    limit: i64,
    offset: i64,
) -> CommandResult<Vec<SyncRun>> {
    Ok(state.core.sync_history(provider, limit, offset).await?)
}

/// The latest run of a connection, if any.
#[tauri::command]
#[specta::specta]
pub async fn get_sync_status(
    state: State<'_, AppState>,
    provider: ProviderKind,
) -> CommandResult<Option<SyncRun>> {
    Ok(state.core.sync_status(provider).await?)
}
