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
use tributary_core::domain::{Connection, ConnectionState, SyncStatus};

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
            || dashboard
                .cards
                .iter()
                .any(|c| c.connection.enabled && c.connection.state.waits_for_athlete());
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
        // The end of the earliest rate limit shown: its line ("continues at …") changes then by
        // itself, with no event to say so.
        let mut wake: Option<DateTime<Utc>> = None;
        loop {
            match wake.map(|at| (at - Utc::now()).to_std().unwrap_or_default()) {
                Some(wait) => {
                    tokio::select! {
                        () = refresh.notified() => {}
                        () = tokio::time::sleep(wait + std::time::Duration::from_secs(1)) => {}
                    }
                }
                None => refresh.notified().await,
            }
            // Coalesce bursts (a run's start, state and end arrive together).
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            match update(&app).await {
                Ok(next) => wake = next,
                Err(e) => tracing::warn!(error = %e, "could not refresh the tray"),
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

/// Refresh the icon, tooltip and menu; returns when a line will change by itself (the end of
/// the earliest rate limit shown).
async fn update<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<Option<DateTime<Utc>>> {
    let (Some(state), Some(tray)) = (app.try_state::<AppState>(), app.try_state::<Tray<R>>())
    else {
        return Ok(None);
    };
    let dashboard = match state.core.dashboard().await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "the tray could not read the dashboard");
            return Ok(None);
        }
    };
    // The saved setting is the truth (the core's scheduler follows it).
    let paused = state.core.settings().await.is_ok_and(|s| s.paused);
    let look = Look::of(&dashboard);
    tray.icon.set_icon(Some(look.image()?))?;
    tray.icon.set_tooltip(Some(match look {
        Look::Idle if paused => "Tributary: background sync paused",
        Look::Idle => "Tributary",
        Look::Syncing => "Tributary: syncing",
        Look::Attention => "Tributary: something needs you",
    }))?;
    let now = Utc::now();
    fill(app, &tray.menu, &dashboard, paused, now)?;
    Ok(dashboard
        .cards
        .iter()
        .filter_map(|c| c.connection.rate_limited_until)
        .filter(|until| *until > now)
        .min())
}

/// A time as a menu line shows it: the time of day when it is today (locally), else with its day
/// (Strava's daily window ends at midnight UTC: "continues at 01:00" alone would be ambiguous).
fn local(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let (t, today) = (
        t.with_timezone(&Local),
        now.with_timezone(&Local).date_naive(),
    );
    let format = if t.date_naive() == today {
        "%H:%M"
    } else {
        "%a %-d %b %H:%M"
    };
    t.format(format).to_string()
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
    format!("{name} — {}", status(c, running, now))
}

/// What a connection's line says after its name.
fn status(c: &Connection, running: bool, now: DateTime<Utc>) -> String {
    match (c.enabled, c.state, c.rate_limited_until) {
        (false, _, _) => "switched off".to_owned(),
        _ if running => "syncing…".to_owned(),
        (true, ConnectionState::RateLimited, Some(until)) if until > now => {
            format!("continues at {}", local(until, now))
        }
        (true, ConnectionState::NeedsReauth, _) => "sign in again".to_owned(),
        (true, ConnectionState::ScopeMissing, _) => "missing a permission".to_owned(),
        (true, ConnectionState::Deprecated, _) => "needs moving".to_owned(),
        (true, ConnectionState::Error, _) => "last sync failed".to_owned(),
        _ => c.last_sync_at.map_or_else(
            || "not synced yet".to_owned(),
            |t| format!("synced {}", local(t, now)),
        ),
    }
}

fn fill<R: Runtime>(
    app: &AppHandle<R>,
    menu: &Menu<R>,
    dashboard: &Dashboard,
    paused: bool,
    now: DateTime<Utc>,
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
    let _ = tauri_specta::Event::emit(&crate::payloads::FocusRequested { provider }, app);
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use tributary_core::domain::ProviderKind;

    fn connection(state: ConnectionState) -> Connection {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        Connection {
            id: 1,
            athlete_id: 1,
            provider: ProviderKind::Strava,
            provider_user_id: None,
            username: None,
            email: None,
            provider_profile: None,
            granted_scopes: Vec::new(),
            token_expires_at: None,
            enabled: true,
            state,
            rate_limited_until: None,
            last_sync_at: None,
            last_sync_error: None,
            created_at: at,
            updated_at: at,
            door: None,
            generation: 0,
        }
    }

    #[test]
    fn a_rate_limited_line_says_when_it_continues_and_stops_saying_it_after() {
        // Midday local time: "later today" and "tomorrow" cannot straddle midnight by accident.
        let now = Local
            .with_ymd_and_hms(2026, 12, 2, 12, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        let mut c = connection(ConnectionState::RateLimited);
        c.rate_limited_until = Some(now + Duration::minutes(15));
        assert_eq!(status(&c, false, now), "continues at 12:15");
        c.rate_limited_until = Some(now + Duration::hours(24));
        assert_eq!(status(&c, false, now), "continues at Thu 3 Dec 12:00");
        // Past its end the line no longer claims a wait.
        c.rate_limited_until = Some(now - Duration::minutes(1));
        assert_eq!(status(&c, false, now), "not synced yet");
        c.last_sync_at = Some(now - Duration::hours(2));
        assert_eq!(status(&c, false, now), "synced 10:00");
    }

    #[test]
    fn each_state_has_its_words_and_off_or_running_come_first() {
        let now = Utc::now();
        for (state, words) in [
            (ConnectionState::NeedsReauth, "sign in again"),
            (ConnectionState::ScopeMissing, "missing a permission"),
            (ConnectionState::Deprecated, "needs moving"),
            (ConnectionState::Error, "last sync failed"),
            (ConnectionState::Active, "not synced yet"),
        ] {
            let mut c = connection(state);
            assert_eq!(status(&c, false, now), words, "{state:?}");
            assert_eq!(status(&c, true, now), "syncing…");
            c.enabled = false;
            assert_eq!(status(&c, true, now), "switched off");
        }
    }
}
