//! The merged activity list.

use crate::error::CommandResult;
use crate::state::AppState;
use tauri::State;
use tributary_core::domain::{Activity, ProviderKind};

/// Activities newest first, optionally one provider's.
#[tauri::command]
#[specta::specta]
pub async fn list_activities(
    state: State<'_, AppState>,
    provider: Option<ProviderKind>,
    limit: i64,
    offset: i64,
) -> CommandResult<Vec<Activity>> {
    Ok(state.core.list_activities(provider, limit, offset).await?)
}
