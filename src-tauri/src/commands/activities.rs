//! The athlete's library: activities and workouts by keyset page, one activity's detail, the
//! athlete's linking choices, volume and run statistics for the charts.

use crate::error::CommandResult;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use tauri::State;
use tributary_core::domain::ProviderKind;
use tributary_core::export::{ExportFormat, Exported};
use tributary_core::library::{
    ActivityDetail, ActivityFilter, ActivityListing, ListTotals, PageRequest, Period, RunPoint,
    VolumeBucket,
};
use tributary_core::recording::view::RecordingDetail;

/// Activities (every copy), filtered, one keyset page.
#[tauri::command]
#[specta::specta]
pub async fn list_activities(
    state: State<'_, AppState>,
    filter: ActivityFilter,
    page: PageRequest,
) -> CommandResult<ActivityListing> {
    Ok(state.core.activities(&filter, &page).await?)
}

/// Workouts (one row per session, with its copies), filtered, one keyset page.
#[tauri::command]
#[specta::specta]
pub async fn list_workouts(
    state: State<'_, AppState>,
    filter: ActivityFilter,
    page: PageRequest,
) -> CommandResult<ActivityListing> {
    Ok(state.core.workouts(&filter, &page).await?)
}

/// What the list holds in all for `filter` (every copy, or `workouts`): the exact count and the
/// sums for its footer.
#[tauri::command]
#[specta::specta]
pub async fn get_list_totals(
    state: State<'_, AppState>,
    filter: ActivityFilter,
    workouts: bool,
) -> CommandResult<ListTotals> {
    Ok(state.core.list_totals(&filter, workouts).await?)
}

/// Export the whole library from the window: the native save dialog (a folder's name for CSV and
/// originals), then the core's export. `None` when the athlete cancelled. With
/// `TRIBUTARY_SAVE_DIR` set (scripts, end-to-end tests), written there without a dialog.
#[tauri::command]
#[specta::specta]
pub async fn export_library(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    format: ExportFormat,
) -> CommandResult<Option<Exported>> {
    let day = chrono::Utc::now().format("%Y-%m-%d");
    let name = match format {
        ExportFormat::Json => format!("tributary-{day}.json"),
        ExportFormat::Sqlite => format!("tributary-{day}.sqlite"),
        ExportFormat::Csv => format!("tributary-csv-{day}"),
        ExportFormat::Originals => format!("tributary-originals-{day}"),
    };
    let Some(path) = save_destination(&app, &name, None).await else {
        return Ok(None);
    };
    Ok(Some(state.core.export(format, &path).await?))
}

/// Where to write a new file (or folder) named `name`: the native save dialog, opened here and
/// never by the webview, with an optional filter (its label and extension); `None` when the
/// athlete cancelled. With `TRIBUTARY_SAVE_DIR` set (scripts, end-to-end tests), that folder,
/// without a dialog.
async fn save_destination(
    app: &tauri::AppHandle,
    name: &str,
    filter: Option<(&str, &str)>,
) -> Option<std::path::PathBuf> {
    use tauri_plugin_dialog::DialogExt;
    if let Some(dir) = std::env::var_os("TRIBUTARY_SAVE_DIR") {
        return Some(std::path::PathBuf::from(dir).join(name));
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut dialog = app.dialog().file().set_file_name(name);
    if let Some((label, extension)) = filter {
        dialog = dialog.add_filter(label, &[extension]);
    }
    dialog.save_file(move |chosen| {
        let _ = tx.send(chosen.and_then(|p| p.into_path().ok()));
    });
    rx.await.ok().flatten()
}

/// One activity with every normalised field, its raw payload and its workout's copies.
#[tauri::command]
#[specta::specta]
pub async fn get_activity(state: State<'_, AppState>, id: i64) -> CommandResult<ActivityDetail> {
    Ok(state.core.activity(id).await?)
}

/// Link `other` into `anchor`'s workout (the athlete's choice; no sync undoes it).
#[tauri::command]
#[specta::specta]
pub async fn link_activities(
    state: State<'_, AppState>,
    anchor: i64,
    other: i64,
) -> CommandResult<ActivityDetail> {
    Ok(state.core.link_activities(anchor, other).await?)
}

/// Take an activity out of its workout (never linked automatically again).
#[tauri::command]
#[specta::specta]
pub async fn unlink_activity(state: State<'_, AppState>, id: i64) -> CommandResult<ActivityDetail> {
    Ok(state.core.unlink_activity(id).await?)
}

/// Make an activity the copy its workout shows and counts.
#[tauri::command]
#[specta::specta]
pub async fn make_primary(state: State<'_, AppState>, id: i64) -> CommandResult<ActivityDetail> {
    Ok(state.core.make_primary(id).await?)
}

/// Volume by sport per week or month, each workout once.
#[tauri::command]
#[specta::specta]
pub async fn get_volume(
    state: State<'_, AppState>,
    period: Period,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> CommandResult<Vec<VolumeBucket>> {
    Ok(state.core.volume(period, since, until).await?)
}

/// A connection's runs over a time range, oldest first, for the history chart.
#[tauri::command]
#[specta::specta]
pub async fn get_run_stats(
    state: State<'_, AppState>,
    provider: ProviderKind,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: u32,
) -> CommandResult<Vec<RunPoint>> {
    Ok(state.core.run_stats(provider, since, until, limit).await?)
}

/// Activity `id`'s recording: its workout's copies and the one shown (`copy` when given, else
/// the athlete's choice, else the richest), downsampled for the screen. A recording never
/// fetched is fetched first (one request, when the provider's budget allows it now).
#[tauri::command]
#[specta::specta]
pub async fn get_recording(
    state: State<'_, AppState>,
    id: i64,
    copy: Option<i64>,
) -> CommandResult<RecordingDetail> {
    Ok(state.core.recording(id, copy).await?)
}

/// Pin copy `id` as the one whose recording its workout shows (`pin: false`: back to the
/// richest copy).
#[tauri::command]
#[specta::specta]
pub async fn choose_recording(
    state: State<'_, AppState>,
    id: i64,
    pin: bool,
) -> CommandResult<RecordingDetail> {
    Ok(state.core.choose_recording(id, pin).await?)
}

/// "Save original…": the native save dialog (opened here, never by the webview), then the
/// stored bytes written to a new file. `None` when the athlete cancelled. With
/// `TRIBUTARY_SAVE_DIR` set (scripts, end-to-end tests), saved there without a dialog.
#[tauri::command]
#[specta::specta]
pub async fn save_original(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    id: i64,
) -> CommandResult<Option<String>> {
    let (_, format, name) = state.core.original(id).await?;
    let kind = format.as_str().to_uppercase();
    let path = save_destination(&app, &name, Some((&kind, format.extension()))).await;
    let Some(path) = path else {
        return Ok(None);
    };
    state.core.save_original(id, &path).await?;
    Ok(Some(path.display().to_string()))
}
