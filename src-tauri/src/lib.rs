//! Tributary's desktop shell: the core in a window and in the system tray. Holds no business
//! logic: commands are thin calls into the core, deep links are handed to it, core events are
//! forwarded; the tray agent is the core's scheduler, started here and kept for the app's life.
//!
//! Plugin order follows the deep-link plugin's example: single instance first (with its
//! `deep-link` feature, so a second launch with a `tributary://` URL forwards it here and exits),
//! then deep links, then the rest.
//!
//! Life cycle: closing the window hides it (the agent keeps syncing; `window.rs` drops the webview
//! after a while hidden and rebuilds it on "Open"); the app runs with no window until "Quit" in
//! the tray, which stops the scheduler (running syncs record `cancelled`). Launched at login by
//! the autostart plugin, it starts minimised to the tray (`--minimized`).

pub mod agent;
pub mod args;
pub mod bindings;
pub mod commands;
pub mod deep_link;
pub mod error;
pub mod events;
mod mode;
pub mod notify;
pub mod payloads;
#[cfg(target_os = "linux")]
pub mod scheme;
pub mod state;
pub mod tray;
pub mod tray_host;
pub mod window;

use state::AppState;
use std::sync::Arc;
use tauri::{Manager, RunEvent, WindowEvent};
use tauri_plugin_deep_link::DeepLinkExt;
use tributary_core::clock::SystemClock;
use tributary_core::secrets::KeyringStore;
use tributary_core::{Config, Core, Deps};

/// Activities the demo sandbox generates on its first start.
const DEMO_ACTIVITIES: usize = 250;
/// The argument the autostart entry passes: start in the tray, without a window.
pub const MINIMIZED: &str = "--minimized";
/// Started afresh after releasing the webview (`window.rs`): no start-up run.
pub const RESUMED: &str = "--resumed";

/// Run the app (or answer `--version`, `--help` and the man page, and exit).
pub fn run() {
    let args = match args::parse(std::env::args_os()) {
        args::Start::Run(args) => args,
        args::Start::Exit(code) => std::process::exit(code),
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRIBUTARY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    // Before this image starts a child of its own: the ones it has are the previous image's.
    #[cfg(target_os = "linux")]
    if args.resumed {
        window::reap_inherited_children();
    }
    let minimized = args.minimized;
    let specta = bindings::specta_builder();
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            // A deep link in `argv` is forwarded to the deep-link plugin; any launch of the app
            // (its launcher, a link) brings the window back, rebuilt if it was released.
            if !argv.iter().any(|a| a == MINIMIZED) {
                window::open(app);
            }
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            Some(vec![MINIMIZED]),
        ))
        .plugin(
            tauri_plugin_window_state::Builder::default()
                .with_state_flags(window::state_flags())
                .build(),
        )
        .invoke_handler(specta.invoke_handler())
        .on_window_event(|window, event| {
            if window.label() != window::MAIN {
                return;
            }
            match event {
                WindowEvent::CloseRequested { api, .. } => {
                    // Closing hides: the agent keeps syncing from the tray. Without a tray
                    // nothing could bring the window back, so the window asks first.
                    api.prevent_close();
                    window::close_requested(window.app_handle());
                }
                // Files dropped on the window are imported (the paths stay in Rust).
                WindowEvent::DragDrop(tauri::DragDropEvent::Drop { paths, .. }) => {
                    commands::imports::dropped(window.app_handle(), paths.clone());
                }
                _ => {}
            }
        })
        .setup(move |app| {
            specta.mount_events(app);
            let handle = app.handle().clone();
            let state = match tauri::async_runtime::block_on(open_state(handle.clone())) {
                Ok(state) => state,
                Err(e) => {
                    // Said in a window, not only in a log line nobody reads: a database a newer
                    // version wrote, a data directory that cannot be used.
                    tracing::error!(error = %e, "Tributary cannot start");
                    app.manage(window::Fatal);
                    window::fatal(&handle, &e.to_string())?;
                    return Ok(());
                }
            };
            app.manage(state);
            app.manage(window::WindowLife::from_env());
            notify::init(&handle);
            tray_host::watch(&handle);
            if let Err(e) = tray::build(&handle) {
                // No tray host (a bare X server): the app still works from its window.
                tracing::warn!(error = %e, "no system tray");
            }
            deep_link::register(app);
            if let Ok(Some(urls)) = app.deep_link().get_current() {
                deep_link::handle(&handle, urls.into_iter().map(String::from).collect());
            }
            let links = handle.clone();
            app.deep_link().on_open_url(move |event| {
                deep_link::handle(&links, event.urls().into_iter().map(String::from).collect());
            });
            // The background agent: a start-up run (unless this is the same app started afresh),
            // then the interval.
            let resumed = args.resumed;
            tauri::async_runtime::block_on(agent::start(&handle, !resumed));
            if !minimized {
                window::open(&handle);
            }
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
    app.run(|app, event| match event {
        // The last window closing (or being released) does not end the agent; "Quit" does.
        RunEvent::ExitRequested {
            code: None, api, ..
        } if app.try_state::<window::Fatal>().is_none() => api.prevent_exit(),
        RunEvent::Exit => {
            let Some(state) = app.try_state::<AppState>() else {
                return; // it never started
            };
            let scheduler = state
                .scheduler
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            tauri::async_runtime::block_on(async {
                // Cancelled runs record `cancelled` before the process ends.
                if let Some(scheduler) = scheduler {
                    scheduler.shutdown().await;
                }
                state.core.shutdown().await;
            });
        }
        _ => {}
    });
}

/// Open the core. The mode is chosen explicitly (`TRIBUTARY_MODE`, or the athlete's choice in
/// Settings, kept in `<data dir>/mode`), else: real when the athlete has anything real (API
/// credentials or a connection), the clearly labelled sandbox demo otherwise. A keyring that
/// cannot be read never turns into the demo: the app opens for real and says what is wrong.
async fn open_state(app: tauri::AppHandle) -> Result<AppState, Box<dyn std::error::Error>> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    // One sink for whichever core opens; the shell's reactions (tray, notifications) are fed
    // from its channel by a task of their own.
    let (sink, reactions) = events::TauriEventSink::new(app.clone());
    tauri::async_runtime::spawn(events::react(app.clone(), reactions));
    let sink: Arc<dyn tributary_core::events::EventSink> = Arc::new(sink);
    let deps = |service: &str| Deps {
        secrets: Arc::new(KeyringStore::new(service)),
        clock: Arc::new(SystemClock),
        events: sink.clone(),
    };
    let config = Config::from_env()?;
    let chosen = env("TRIBUTARY_MODE").or_else(|| mode::read(&config.data_dir));
    if chosen.as_deref() != Some("sandbox") {
        let core = Core::open(config.clone(), deps(&config.keyring_service)).await?;
        if let Err(e) = core.vault().check().await {
            tracing::warn!(error = %e, "the keyring cannot be used");
            return Ok(AppState::new(core, None).with_keyring_problem(e.to_string()));
        }
        let has_real = !core.list_connections().await?.is_empty()
            || core.available_providers().await?.iter().any(|p| {
                p.credentials_configured
                    && p.capabilities.sign_in == tributary_core::providers::SignIn::Browser
            });
        if has_real || chosen.as_deref() == Some("real") {
            return Ok(AppState::new(core, None));
        }
        core.shutdown().await;
    }
    let (config, sandbox) = tributary_core::demo::start(env, DEMO_ACTIVITIES).await?;
    tracing::info!(sandbox = %sandbox.base_url(), "no provider credentials: running the sandbox demo");
    let core = Core::open(config.clone(), deps(&config.keyring_service)).await?;
    Ok(AppState::new(core, Some(sandbox)))
}
