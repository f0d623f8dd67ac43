//! Import: files or a folder chosen in the native dialog (opened here, never by the webview),
//! or dropped on the window (the drop is handled here too: no path ever comes from the
//! webview). Progress and the end reach the window as core events.

use crate::error::CommandResult;
use crate::state::AppState;
use serde::Deserialize;
use tauri::{AppHandle, Manager, State};
use tokio_util::sync::CancellationToken;
use tributary_core::import::ImportReport;

/// What the athlete picks in the dialog.
#[derive(Debug, Clone, Copy, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ImportPick {
    /// Files or archives.
    Files,
    /// A folder (a watch, an unpacked export).
    Folder,
}

/// Import `paths`: one import at a time from the window (a second is refused until the first
/// ends or is cancelled).
pub async fn run(app: &AppHandle, paths: Vec<std::path::PathBuf>) -> CommandResult<ImportReport> {
    let state = app.state::<AppState>();
    let cancel = CancellationToken::new();
    {
        let mut running = state
            .import
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if running.is_some() {
            return Err(tributary_core::Error::Validation(
                "an import is already running: wait for it or stop it first".to_owned(),
            )
            .into());
        }
        *running = Some(cancel.clone());
    }
    let report = state.core.import(paths, cancel).await;
    *state
        .import
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    Ok(report?)
}

/// Files dropped on the window: imported like chosen ones (the window hears the progress).
pub fn dropped(app: &AppHandle, paths: Vec<std::path::PathBuf>) {
    if paths.is_empty() || app.try_state::<AppState>().is_none() {
        return;
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if let Err(e) = run(&app, paths).await {
            tracing::warn!(error = ?e, "a dropped import did not run");
        }
    });
}

/// "Import…": the native dialog for files or a folder, then the import. `None` when the athlete
/// cancelled the dialog. With `TRIBUTARY_IMPORT_PATHS` set (scripts, end-to-end tests: paths
/// separated by `:`), those are imported without a dialog.
#[tauri::command]
#[specta::specta]
pub async fn import_files(app: AppHandle, pick: ImportPick) -> CommandResult<Option<ImportReport>> {
    use tauri_plugin_dialog::DialogExt;
    let paths: Vec<std::path::PathBuf> = match std::env::var_os("TRIBUTARY_IMPORT_PATHS") {
        Some(list) => std::env::split_paths(&list).collect(),
        None => {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let dialog = app.dialog().file().set_title("Import activities");
            match pick {
                ImportPick::Files => dialog.pick_files(move |chosen| {
                    let _ = tx.send(chosen.unwrap_or_default());
                }),
                ImportPick::Folder => dialog.pick_folder(move |chosen| {
                    let _ = tx.send(chosen.into_iter().collect());
                }),
            }
            rx.await
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| p.into_path().ok())
                .collect()
        }
    };
    if paths.is_empty() {
        return Ok(None);
    }
    Ok(Some(run(&app, paths).await?))
}

/// Stop the running import after the file in hand (what is done stays).
#[tauri::command]
#[specta::specta]
pub fn cancel_import(state: State<'_, AppState>) -> bool {
    let running = state
        .import
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    running.as_ref().map(CancellationToken::cancel).is_some()
}

/// Past imports, newest first.
#[tauri::command]
#[specta::specta]
pub async fn list_imports(state: State<'_, AppState>) -> CommandResult<Vec<ImportReport>> {
    Ok(state.core.imports().await?)
}

/// One import with its refused files and why.
#[tauri::command]
#[specta::specta]
pub async fn get_import(state: State<'_, AppState>, id: i64) -> CommandResult<ImportReport> {
    Ok(state.core.import_report(id).await?)
}

/// Forget an import as a whole; returns how many copies were deleted.
#[tauri::command]
#[specta::specta]
pub async fn forget_import(state: State<'_, AppState>, id: i64) -> CommandResult<u64> {
    Ok(state.core.forget_import(id).await?)
}
