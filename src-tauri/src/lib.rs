//! Tributary's desktop shell: the core in a window. Holds no business logic: commands are thin
//! calls into the core, deep links are parsed and handed to it, core events are forwarded.
//!
//! Plugin order follows the deep-link plugin's example: single instance first (with its
//! `deep-link` feature, so a second launch with a `tributary://` URL forwards it here and exits),
//! then deep links, then the rest.

pub mod bindings;
pub mod commands;
pub mod deep_link;
pub mod error;
pub mod events;
pub mod state;

use state::AppState;
use std::sync::Arc;
use tauri::{Manager, RunEvent};
use tauri_plugin_deep_link::DeepLinkExt;
use tributary_core::clock::SystemClock;
use tributary_core::secrets::KeyringStore;
use tributary_core::{Config, Core, Deps};

/// Activities the demo sandbox generates on its first start.
const DEMO_ACTIVITIES: usize = 250;

/// Run the app.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRIBUTARY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let specta = bindings::specta_builder();
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            // The URL itself is forwarded to the deep-link plugin; just come to the front.
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.set_focus();
            }
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_opener::init())
        .invoke_handler(specta.invoke_handler())
        .setup(move |app| {
            specta.mount_events(app);
            let handle = app.handle().clone();
            let state = tauri::async_runtime::block_on(open_state(handle.clone()))?;
            app.manage(state);
            #[cfg(any(target_os = "linux", all(debug_assertions, windows)))]
            if let Err(e) = app.deep_link().register_all() {
                tracing::warn!(error = %e, "could not register the tributary:// scheme");
            }
            if let Ok(Some(urls)) = app.deep_link().get_current() {
                deep_link::handle(&handle, urls.into_iter().map(String::from).collect());
            }
            app.deep_link().on_open_url(move |event| {
                deep_link::handle(
                    &handle,
                    event.urls().into_iter().map(String::from).collect(),
                );
            });
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "Tributary could not start");
            std::process::exit(1);
        }
    };
    app.run(|app, event| {
        if let RunEvent::Exit = event {
            // Cancelled runs record `cancelled` before the process ends.
            let state = app.state::<AppState>();
            tauri::async_runtime::block_on(state.core.shutdown());
        }
    });
}

/// Open the core: against the real providers when any has credentials configured (or
/// `TRIBUTARY_MODE=real`), otherwise in the clearly labelled sandbox demo mode.
async fn open_state(app: tauri::AppHandle) -> Result<AppState, Box<dyn std::error::Error>> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let deps = |service: &str| Deps {
        secrets: Arc::new(KeyringStore::new(service)),
        clock: Arc::new(SystemClock),
        events: Arc::new(events::TauriEventSink(app.clone())),
    };
    let mode = env("TRIBUTARY_MODE");
    if mode.as_deref() != Some("sandbox") {
        let config = Config::from_env()?;
        let core = Core::open(config.clone(), deps(&config.keyring_service)).await?;
        let configured = core
            .available_providers()
            .await?
            .iter()
            .any(|p| p.credentials_configured);
        if configured || mode.as_deref() == Some("real") {
            return Ok(AppState::new(core, None));
        }
        core.shutdown().await;
    }
    let (config, sandbox) = tributary_core::demo::start(env, DEMO_ACTIVITIES).await?;
    tracing::info!(sandbox = %sandbox.base_url(), "no provider credentials: running the sandbox demo");
    let core = Core::open(config.clone(), deps(&config.keyring_service)).await?;
    Ok(AppState::new(core, Some(sandbox)))
}
