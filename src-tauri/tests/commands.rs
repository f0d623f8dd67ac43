//! A handful of commands through Tauri's mock runtime: real IPC serialisation and state
//! injection, a real core on a temporary SQLite file, the sandbox on loopback.

// Test set-up panics by design: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use std::sync::Arc;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets,
};
use tauri::webview::{InvokeRequest, WebviewWindowBuilder};
use tributary_core::clock::SystemClock;
use tributary_core::events::NoopSink;
use tributary_core::secrets::MemoryStore;
use tributary_core::{Core, Deps};
use tributary_desktop::commands::{connections, settings, sync};
use tributary_desktop::state::AppState;

struct App {
    _dir: tempfile::TempDir,
    webview: tauri::WebviewWindow<MockRuntime>,
}

async fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let env_dir = dir.path().to_string_lossy().into_owned();
    let env = move |k: &str| (k == "TRIBUTARY_DATA_DIR").then(|| env_dir.clone());
    let (config, sandbox) = tributary_core::demo::start(env, 20).await.unwrap();
    let deps = Deps {
        secrets: Arc::new(MemoryStore::default()),
        clock: Arc::new(SystemClock),
        events: Arc::new(NoopSink),
    };
    let core = Core::open(config, deps).await.unwrap();
    let app = mock_builder()
        .manage(AppState::new(core, Some(sandbox)))
        .invoke_handler(tauri::generate_handler![
            connections::list_connections,
            connections::get_connection_by_provider,
            connections::list_available_providers,
            connections::get_summary,
            sync::get_sync_history,
            settings::get_app_info,
        ])
        .build(mock_context(noop_assets()))
        .unwrap();
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    App { _dir: dir, webview }
}

/// Tests run on a multi-threaded runtime: `get_ipc_response` blocks its thread until the command
/// answers, and the core's background work at start (the orphan sweep) runs on the test's runtime
/// holding a database connection; on one thread it could not go on, and the command waited out the
/// pool's 30 s for a connection (the app's own runtime is never blocked like that).
fn invoke(app: &App, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        &app.webview,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_serialise_the_core_types() {
    let app = app().await;
    let info = invoke(&app, "get_app_info", json!({})).unwrap();
    assert_eq!(info["sandbox"], true);
    let providers = invoke(&app, "list_available_providers", json!({})).unwrap();
    assert_eq!(providers.as_array().unwrap().len(), 6);
    assert_eq!(providers[0]["provider"], "strava");
    assert_eq!(
        providers[0]["credentials_configured"], true,
        "demo credentials"
    );
    assert_eq!(
        invoke(&app, "list_connections", json!({})).unwrap(),
        json!([])
    );
    assert_eq!(
        invoke(&app, "get_summary", json!({})).unwrap()["total_connections"],
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_arrive_as_code_and_message() {
    let app = app().await;
    let missing = invoke(
        &app,
        "get_connection_by_provider",
        json!({"provider": "strava"}),
    )
    .unwrap_err();
    assert_eq!(missing["code"], "not_found");
    assert!(missing["message"].as_str().unwrap().contains("strava"));
    let no_connection = invoke(
        &app,
        "get_sync_history",
        json!({"provider": "strava", "limit": 10, "offset": 0}),
    )
    .unwrap_err();
    assert_eq!(no_connection["code"], "not_found", "no connection yet");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_arguments_are_refused_before_the_core() {
    let app = app().await;
    let refused = invoke(
        &app,
        "get_connection_by_provider",
        json!({"provider": "myspace"}),
    )
    .unwrap_err();
    assert!(refused.as_str().unwrap().contains("myspace"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tray_never_starts_afresh_while_a_sign_in_waits() {
    // Issue 14, defect 9: pending sign-ins live in memory; a re-exec would end them.
    let dir = tempfile::tempdir().unwrap();
    let env_dir = dir.path().to_string_lossy().into_owned();
    let env = move |k: &str| (k == "TRIBUTARY_DATA_DIR").then(|| env_dir.clone());
    let (config, sandbox) = tributary_core::demo::start(env, 5).await.unwrap();
    let deps = Deps {
        secrets: Arc::new(MemoryStore::default()),
        clock: Arc::new(SystemClock),
        events: Arc::new(NoopSink),
    };
    let core = Core::open(config, deps).await.unwrap();
    let state = AppState::new(core.clone(), Some(sandbox));
    assert!(tributary_desktop::window::shed_can_proceed(&state), "idle");
    let request = core
        .begin_connect(
            tributary_core::domain::ProviderKind::Strava,
            tributary_core::auth::RedirectTarget::DeepLink,
        )
        .await
        .unwrap();
    assert!(
        !tributary_desktop::window::shed_can_proceed(&state),
        "a sign-in waits for its redirect"
    );
    core.cancel_connect(request.provider);
    assert!(tributary_desktop::window::shed_can_proceed(&state));
    state.loopbacks.lock().unwrap().insert(
        tributary_core::domain::ProviderKind::GoogleHealth,
        Default::default(),
    );
    assert!(
        !tributary_desktop::window::shed_can_proceed(&state),
        "a loopback listener waits"
    );
}
