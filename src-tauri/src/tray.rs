//! The system tray: an icon whose look says idle, syncing or needs attention, and a menu with
//! "Sync all now", one line per connection (its state, last sync, "continues at …"), pause or
//! resume, "Open Tributary" and "Quit". Rebuilt from the core's dashboard after anything that
//! changes it (a run starting or ending, a state, an episode, the scheduler), coalesced.
//!
//! On Linux the tray uses libappindicator (Tauri's default): a click opens the menu; the icon's
//! own click events are not delivered there, so "Open Tributary" is the menu's first useful line.
//! Without a tray host (a bare X server) building it succeeds and nothing shows.

use crate::state::AppState;
use crate::{agent, window};
use chrono::{DateTime, Local, Utc};
use std::sync::Arc;
use tauri::image::Image;
use tauri::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager, Runtime};
use tokio::sync::Notify;
use tributary_core::connections::Dashboard;
use tributary_core::domain::{ConnectionState, SyncStatus};

const IDLE: &[u8] = include_bytes!("../../icons/tray/idle.png");
const SYNCING: &[u8] = include_bytes!("../../icons/tray/syncing.png");
const ATTENTION: &[u8] = include_bytes!("../../icons/tray/attention.png");

/// The tray and what asks it to refresh (managed once). On Linux a tray's menu cannot be
/// replaced once set, only its items changed: the one menu is kept and refilled.
pub struct Tray<R: Runtime> {
    icon: TrayIcon<R>,
    menu: Menu<R>,
    refresh: Arc<Notify>,
}

/// How the tray looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    /// Nothing going on.
    Idle,
    /// A run is going.
    Syncing,
    /// Something needs the athlete.
    Attention,
}

impl Look {
    /// What the dashboard says the tray should look like.
    pub fn of(dashboard: &Dashboard) -> Self {
        let needs_athlete = !dashboard.attention.is_empty()
            || dashboard.cards.iter().any(|c| {
                c.connection.enabled
                    && matches!(
                        c.connection.state,
                        ConnectionState::NeedsReauth
                            | ConnectionState::ScopeMissing
                            | ConnectionState::Deprecated
                    )
            });
        let syncing = dashboard.cards.iter().any(|c| {
            c.latest_run
                .as_ref()
                .is_some_and(|r| r.status == SyncStatus::Running)
        });
        match (needs_athlete, syncing) {
            (true, _) => Self::Attention,
            (false, true) => Self::Syncing,
            _ => Self::Idle,
        }
    }

    fn image(self) -> tauri::Result<Image<'static>> {
        Image::from_bytes(match self {
            Self::Idle => IDLE,
            Self::Syncing => SYNCING,
            Self::Attention => ATTENTION,
        })
    }
}

/// Build the tray and start the task that keeps it current.
pub fn build<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let menu = Menu::with_items(
        app,
        &[&MenuItem::with_id(
            app,
            "open",
            "Open Tributary",
            true,
            None::<&str>,
        )?],
    )?;
    let icon = TrayIconBuilder::with_id("tributary")
        .icon(Look::Idle.image()?)
        .tooltip("Tributary")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(on_menu)
        .build(app)?;
    let refresh = Arc::new(Notify::new());
    refresh.notify_one(); // the first look, as soon as the loop below starts
    app.manage(Tray {
        icon,
        menu,
        refresh: refresh.clone(),
    });
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            refresh.notified().await;
            // Coalesce bursts (a run's start, state and end arrive together).
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            if let Err(e) = update(&app).await {
                tracing::warn!(error = %e, "could not refresh the tray");
            }
        }
    });
    Ok(())
}

/// Ask the tray to refresh soon (a no-op before the tray exists).
pub fn request_refresh<R: Runtime>(app: &AppHandle<R>) {
    if let Some(tray) = app.try_state::<Tray<R>>() {
        tray.refresh.notify_one();
    }
}

async fn update<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let (Some(state), Some(tray)) = (app.try_state::<AppState>(), app.try_state::<Tray<R>>())
    else {
        return Ok(());
    };
    let dashboard = match state.core.dashboard().await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "the tray could not read the dashboard");
            return Ok(());
        }
    };
    let paused = state.with_scheduler(|s| s.is_paused()).unwrap_or(false);
    let look = Look::of(&dashboard);
    tray.icon.set_icon(Some(look.image()?))?;
    tray.icon.set_tooltip(Some(match look {
        Look::Idle if paused => "Tributary: background sync paused",
        Look::Idle => "Tributary",
        Look::Syncing => "Tributary: syncing",
        Look::Attention => "Tributary: something needs you",
    }))?;
    fill(app, &tray.menu, &dashboard, paused)?;
    Ok(())
}

fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%H:%M").to_string()
}

/// One line per connection: what the athlete would ask first.
pub fn line(dashboard: &Dashboard, index: usize, now: DateTime<Utc>) -> String {
    let card = &dashboard.cards[index];
    let c = &card.connection;
    let name = dashboard
        .providers
        .iter()
        .find(|p| p.provider == c.provider)
        .map_or_else(
            || c.provider.to_string(),
            |p| p.capabilities.display_name.to_owned(),
        );
    let running = card
        .latest_run
        .as_ref()
        .is_some_and(|r| r.status == SyncStatus::Running);
    let status = match (c.enabled, c.state, c.rate_limited_until) {
        (false, _, _) => "switched off".to_owned(),
        _ if running => "syncing…".to_owned(),
        (true, ConnectionState::RateLimited, Some(until)) if until > now => {
            format!("continues at {}", local(until))
        }
        (true, ConnectionState::NeedsReauth, _) => "sign in again".to_owned(),
        (true, ConnectionState::ScopeMissing, _) => "missing a permission".to_owned(),
        (true, ConnectionState::Deprecated, _) => "needs moving".to_owned(),
        (true, ConnectionState::Error, _) => "last sync failed".to_owned(),
        _ => c.last_sync_at.map_or_else(
            || "not synced yet".to_owned(),
            |t| format!("synced {}", local(t)),
        ),
    };
    format!("{name} — {status}")
}

fn fill<R: Runtime>(
    app: &AppHandle<R>,
    menu: &Menu<R>,
    dashboard: &Dashboard,
    paused: bool,
) -> tauri::Result<()> {
    for item in menu.items()? {
        menu.remove(&item)?;
    }
    menu.append(&MenuItem::with_id(
        app,
        "open",
        "Open Tributary",
        true,
        None::<&str>,
    )?)?;
    menu.append(&MenuItem::with_id(
        app,
        "sync_all",
        "Sync all now",
        !dashboard.cards.is_empty(),
        None::<&str>,
    )?)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    let now = Utc::now();
    for (i, card) in dashboard.cards.iter().enumerate() {
        menu.append(&MenuItem::with_id(
            app,
            format!("show:{}", card.connection.provider),
            line(dashboard, i, now),
            true,
            None::<&str>,
        )?)?;
    }
    if !dashboard.cards.is_empty() {
        menu.append(&PredefinedMenuItem::separator(app)?)?;
    }
    menu.append(&MenuItem::with_id(
        app,
        "pause",
        if paused {
            "Resume background sync"
        } else {
            "Pause background sync"
        },
        true,
        None::<&str>,
    )?)?;
    menu.append(&MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?)?;
    Ok(())
}

fn on_menu<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    match event.id().as_ref() {
        "open" => window::open(app),
        "sync_all" => agent::sync_all_now(app),
        "pause" => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move { agent::toggle_pause(&app).await });
        }
        // The scheduler stops and running syncs record `cancelled` on the way out (lib.rs).
        "quit" => app.exit(0),
        other => {
            if let Some(provider) = other.strip_prefix("show:").and_then(|p| p.parse().ok()) {
                show_connection(app, provider);
            }
        }
    }
}

/// Open the window on a connection (a tray line, a notification).
pub fn show_connection<R: Runtime>(
    app: &AppHandle<R>,
    provider: tributary_core::domain::ProviderKind,
) {
    if let Some(state) = app.try_state::<AppState>() {
        *state
            .focus
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(provider);
    }
    window::open(app);
    let _ = tauri_specta::Event::emit(&crate::events::FocusRequested { provider }, app);
}
