//! The main window's life. Closing it hides it: the agent keeps syncing in Rust, from the tray.
//! After a while hidden (five minutes; `TRIBUTARY_IDLE_WEBVIEW_SECS` for tests) the webview is
//! destroyed, so its web process and most of the app's memory go with it, and "Open" (the tray,
//! a notification, launching the app again) rebuilds it from the configuration, where the
//! window-state plugin puts it back where it was.

use crate::state::AppState;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tauri::{AppHandle, Manager, Runtime, WebviewWindowBuilder};
use tauri_plugin_notification::NotificationExt;
use tauri_plugin_window_state::{AppHandleExt, StateFlags};
use tauri_specta::Event;
use tributary_core::settings::SettingsPatch;

/// The main window's label.
pub const MAIN: &str = "main";

/// What the window's life needs to remember (managed once).
pub struct WindowLife {
    /// Bumped whenever the window is shown or hidden: a pending destroy checks it still applies.
    generation: AtomicU64,
    /// How long a hidden window keeps its webview.
    idle: Duration,
    /// Whether to start afresh once the webview is released (`TRIBUTARY_SHED=0` turns it off).
    shed: bool,
    /// When the window was last asked to open, to log how long the dashboard took to show.
    opened: std::sync::Mutex<Option<std::time::Instant>>,
    /// The window is asking how to close (no tray): a second close hides it.
    asking: AtomicBool,
}

impl WindowLife {
    /// The idle delay from `TRIBUTARY_IDLE_WEBVIEW_SECS`, five minutes by default.
    pub fn from_env() -> Self {
        let idle = std::env::var("TRIBUTARY_IDLE_WEBVIEW_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .map_or(Duration::from_secs(300), Duration::from_secs);
        Self {
            generation: AtomicU64::new(0),
            idle,
            shed: std::env::var("TRIBUTARY_SHED").map_or(true, |v| v != "0"),
            opened: std::sync::Mutex::new(Some(std::time::Instant::now())),
            asking: AtomicBool::new(false),
        }
    }
}

/// The UI reports its dashboard is on screen: log how long after "Open" (or the start) it took.
pub fn shown<R: Runtime>(app: &AppHandle<R>) {
    let since = app.try_state::<WindowLife>().and_then(|life| {
        life.opened
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    });
    if let Some(since) = since {
        tracing::info!(
            ms = since.elapsed().as_millis() as u64,
            "dashboard shown after open"
        );
    }
}

/// The window state worth restoring: everything but visibility (the app decides that).
pub fn state_flags() -> StateFlags {
    StateFlags::all() - StateFlags::VISIBLE
}

/// Show the main window, rebuilding its webview if it was destroyed.
pub fn open<R: Runtime>(app: &AppHandle<R>) {
    if app.try_state::<Fatal>().is_some() {
        if let Some(window) = app.get_webview_window(FATAL) {
            let _ = window.set_focus(); // nothing else to show: say it again
        }
        return;
    }
    if let Some(life) = app.try_state::<WindowLife>() {
        life.generation.fetch_add(1, Ordering::SeqCst); // a pending destroy no longer applies
        *life
            .opened
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(std::time::Instant::now());
    }
    if let Some(window) = app.get_webview_window(MAIN) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
        return;
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        // A destroy may still be finishing (the label is freed when the window is gone).
        for _ in 0..50 {
            match rebuild(&app) {
                Ok(()) => return,
                Err(e) => {
                    tracing::debug!(error = %e, "the window is not ready to be rebuilt yet");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        tracing::warn!("could not rebuild the main window");
    });
}

/// The window of an app that could not open its data (a database a newer Tributary wrote, a
/// data directory it cannot use): it says why, and closing it quits. Nothing else runs.
pub const FATAL: &str = "fatal";

/// Marks an app that could not start: the last window closing ends it.
pub struct Fatal;

/// Open the window that says why Tributary cannot start (the UI reads the message from the
/// URL's fragment; no command is needed, none would work without the core).
pub fn fatal<R: Runtime>(app: &AppHandle<R>, message: &str) -> tauri::Result<()> {
    let encoded: String = url::form_urlencoded::byte_serialize(message.as_bytes()).collect();
    let url = tauri::WebviewUrl::App(format!("index.html#fatal={encoded}").into());
    WebviewWindowBuilder::new(app, FATAL, url)
        .title("Tributary cannot start")
        .inner_size(640.0, 360.0)
        .build()?
        .set_focus()
}

fn rebuild<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == MAIN)
        .cloned()
        .ok_or_else(|| tauri::Error::WindowNotFound)?;
    let window = WebviewWindowBuilder::from_config(app, &config)?.build()?;
    tune_rendering(&window);
    window.show()?;
    window.set_focus()?;
    Ok(())
}

/// Whether the webview composites its layers on a GPU: not where the GPU would be software.
/// WebKitGTK composites through GL; with no DRM render node it can open (a VM without one, a
/// container, Xvfb on such a machine) that GL is Mesa's llvmpipe, and compositing re-rasterises
/// the window on the CPU for seconds after each change: opening the activity list cost 6.25
/// CPU-seconds until quiet with it and 0.15 without (`scripts/bench-views.sh`, BENCHMARKS.md).
/// With a render node (a GPU) it stays on. `TRIBUTARY_COMPOSITING=on|off` decides instead; WebKit's own
/// `WEBKIT_DISABLE_COMPOSITING_MODE` still applies.
pub fn composites(setting: Option<&str>, render_node: bool) -> bool {
    match setting.map(str::trim) {
        Some("on") => true,
        Some("off") => false,
        _ => render_node,
    }
}

/// Whether this machine has a DRM render node (`/dev/dri/renderD*`) this user can open: a GPU
/// WebKit can use (one the user may not open, outside the `render` group, is no GPU to it).
#[cfg(target_os = "linux")]
fn has_render_node() -> bool {
    std::fs::read_dir("/dev/dri").is_ok_and(|entries| {
        entries.filter_map(Result::ok).any(|e| {
            e.file_name().to_string_lossy().starts_with("renderD")
                && std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(e.path())
                    .is_ok()
        })
    })
}

/// Turn the webview's compositing off where it would run on a software GPU ([`composites`]).
pub fn tune_rendering<R: Runtime>(window: &tauri::WebviewWindow<R>) {
    #[cfg(target_os = "linux")]
    {
        let setting = std::env::var("TRIBUTARY_COMPOSITING").ok();
        if composites(setting.as_deref(), has_render_node()) {
            return;
        }
        let set = window.with_webview(|webview| {
            use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
            if let Some(settings) = WebViewExt::settings(&webview.inner()) {
                settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
            }
        });
        match set {
            Ok(()) => tracing::info!("no GPU: the window paints without compositing"),
            Err(e) => tracing::warn!(error = %e, "could not turn the window's compositing off"),
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = window;
}

/// The window's close button: hidden to the tray where there is one; without a tray the window
/// asks (Quit, or keep syncing in the background). A second close while it asks hides it: a
/// window whose page cannot answer must still go away.
pub fn close_requested<R: Runtime>(app: &AppHandle<R>) {
    let asking = app
        .try_state::<WindowLife>()
        .is_some_and(|l| l.asking.swap(true, Ordering::SeqCst));
    if crate::tray_host::present(app) || asking || app.get_webview_window(MAIN).is_none() {
        hide(app);
        return;
    }
    if let Err(e) = (crate::payloads::CloseAsked {}).emit(app) {
        tracing::warn!(error = %e, "could not ask how to close; hiding the window");
        hide(app);
    }
}

/// Hide the main window (it was closed): the first time, say where Tributary went; after the
/// idle delay, destroy its webview.
pub fn hide<R: Runtime>(app: &AppHandle<R>) {
    if let Some(life) = app.try_state::<WindowLife>() {
        life.asking.store(false, Ordering::SeqCst);
    }
    if let Some(window) = app.get_webview_window(MAIN) {
        let _ = window.hide();
    }
    explain_once(app);
    let Some(life) = app.try_state::<WindowLife>() else {
        return;
    };
    let generation = life.generation.fetch_add(1, Ordering::SeqCst) + 1;
    let idle = life.idle;
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(idle).await;
        let still_hidden = app
            .try_state::<WindowLife>()
            .is_some_and(|l| l.generation.load(Ordering::SeqCst) == generation);
        if !still_hidden {
            return;
        }
        if let Some(window) = app.get_webview_window(MAIN) {
            // Closing the window skips the plugin's save: save first.
            if let Err(e) = app.save_window_state(state_flags()) {
                tracing::warn!(error = %e, "could not save the window's place");
            }
            if let Err(e) = window.destroy() {
                tracing::warn!(error = %e, "could not release the hidden window");
                return;
            }
            tracing::info!("released the hidden window's webview; the agent keeps syncing");
        }
        #[cfg(unix)]
        if app.try_state::<WindowLife>().is_some_and(|l| l.shed) {
            shed(&app, generation).await;
        }
    });
}

/// Start afresh as the tray agent alone, once the webview is gone and no sync is running: the
/// process `exec`s itself (same PID, same single-instance name, same data; the scheduler starts
/// again without a start-up run). Releasing a webview does not give back the resident pages
/// WebKit and GTK's drawing left in this process, nor WebKit's network process (wry keeps it for
/// the next webview): a fresh image that never opened a window has neither.
#[cfg(unix)]
async fn shed<R: Runtime>(app: &AppHandle<R>, generation: u64) {
    use std::os::unix::process::CommandExt;
    let Some(state) = app.try_state::<AppState>() else {
        return;
    };
    // No new run may start while we look; an exec must not interrupt one, nor a sign-in waiting
    // for its redirect (pending flows live in memory and would die with the image). Busy for
    // ten minutes: give up this time (the next hide tries again), never exec anyway.
    state.with_scheduler(|s| s.pause());
    let reopened = || {
        app.try_state::<WindowLife>()
            .is_none_or(|l| l.generation.load(Ordering::SeqCst) != generation)
    };
    let waited = wait_until_idle(600, Duration::from_secs(1), reopened, || {
        shed_can_proceed(&state)
    })
    .await;
    if !waited.proceeds() {
        if waited == ShedWait::StillBusy {
            tracing::info!("not starting afresh: a sync or a sign-in is still under way");
        }
        state.with_scheduler(|s| s.resume());
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        state.with_scheduler(|s| s.resume());
        return;
    };
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != crate::MINIMIZED && a != crate::RESUMED)
        .chain([crate::MINIMIZED.to_owned(), crate::RESUMED.to_owned()])
        .collect();
    tracing::info!("starting afresh as the tray agent alone, to give the webview's memory back");
    let error = std::process::Command::new(exe).args(args).exec();
    tracing::warn!(%error, "could not start afresh; staying as we are");
    state.with_scheduler(|s| s.resume());
}

/// After a fresh start the previous image's children are still this process's: WebKit's web and
/// network processes, ending now that nothing holds their sockets. Nothing in this image knows
/// them, so each would stay a zombie until the app quits; each is waited for in a thread of its
/// own. Call before this image starts any child: every child it has then is inherited.
#[cfg(target_os = "linux")]
pub fn reap_inherited_children() {
    reap(children_of(std::process::id()));
}

/// Wait for each of `pids` (children of this process) in a thread of its own.
#[cfg(target_os = "linux")]
fn reap(pids: Vec<i32>) {
    for pid in pids {
        let spawned = std::thread::Builder::new()
            .name("reap-inherited".to_owned())
            .spawn(move || {
                use rustix::process::{Pid, WaitOptions, waitpid};
                let Some(pid) = Pid::from_raw(pid) else {
                    return;
                };
                // A signal may interrupt the wait; only an answer ends it.
                let waited = loop {
                    match waitpid(Some(pid), WaitOptions::empty()) {
                        Err(rustix::io::Errno::INTR) => {}
                        other => break other,
                    }
                };
                match waited {
                    Ok(_) => {
                        tracing::debug!(pid = pid.as_raw_pid(), "an inherited child was reaped")
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "an inherited child could not be waited for")
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not wait for an inherited child");
        }
    }
}

/// The processes whose parent is `parent`, from `/proc/<pid>/stat` (`pid (comm) state ppid …`;
/// the name may hold spaces and parentheses, so the fields are read after the last `)`).
#[cfg(target_os = "linux")]
fn children_of(parent: u32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| parent_in_stat(&stat))
                == Some(parent)
        })
        .collect()
}

/// The parent's pid in a `/proc/<pid>/stat` line.
#[cfg(target_os = "linux")]
fn parent_in_stat(stat: &str) -> Option<u32> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// How the wait before starting afresh ended.
#[cfg(unix)]
#[derive(Debug, PartialEq, Eq)]
enum ShedWait {
    /// Nothing under way: the process may replace itself.
    Idle,
    /// The window came back: stay.
    Reopened,
    /// Still busy after every try: stay (never replace a process mid-sync or mid-sign-in).
    StillBusy,
}

#[cfg(unix)]
impl ShedWait {
    /// Whether the process may replace itself: only when nothing was under way.
    fn proceeds(&self) -> bool {
        *self == Self::Idle
    }
}

/// Look up to `tries` times, `pause` apart, whether the window came back or all is idle.
#[cfg(unix)]
async fn wait_until_idle(
    tries: u32,
    pause: Duration,
    mut reopened: impl FnMut() -> bool,
    mut idle: impl FnMut() -> bool,
) -> ShedWait {
    for _ in 0..tries {
        if reopened() {
            return ShedWait::Reopened;
        }
        if idle() {
            return ShedWait::Idle;
        }
        tokio::time::sleep(pause).await;
    }
    ShedWait::StillBusy
}

/// Whether the process may replace itself now: no sync running and no sign-in waiting (a
/// pending flow, or a loopback listener for one).
pub fn shed_can_proceed(state: &AppState) -> bool {
    let busy = tributary_core::domain::ProviderKind::ALL
        .iter()
        .any(|p| state.core.is_syncing(*p));
    let signing_in = state.core.has_pending_sign_ins()
        || !state
            .loopbacks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_empty();
    !busy && !signing_in
}

/// The first time the window is closed, a notification says the agent keeps running.
fn explain_once<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let Some(state) = app.try_state::<AppState>() else {
            return;
        };
        let explained = state
            .core
            .settings()
            .await
            .map(|s| s.close_to_tray_explained)
            .unwrap_or(true);
        if explained {
            return;
        }
        // Only a tray that can be seen is named.
        let body = if crate::tray_host::present(&app) {
            "It runs in the tray. Choose Quit there to stop it."
        } else {
            "It runs in the background. Open Tributary again to see it; Quit is in its Settings."
        };
        let shown = app
            .notification()
            .builder()
            .title("Tributary keeps syncing")
            .body(body)
            .show();
        if let Err(e) = shown {
            tracing::warn!(error = %e, "could not say that Tributary went to the tray");
        }
        let patch = SettingsPatch {
            close_to_tray_explained: Some(true),
            ..SettingsPatch::default()
        };
        if let Err(e) = state.core.update_settings(&patch).await {
            tracing::warn!(error = %e, "could not remember the tray explanation");
        }
    });
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn compositing_follows_the_gpu_unless_told() {
        assert!(composites(None, true), "a GPU: composite");
        assert!(!composites(None, false), "software GL: paint without");
        assert!(composites(Some("on"), false));
        assert!(!composites(Some(" off "), true));
        assert!(
            composites(Some("maybe"), true),
            "an unknown value changes nothing"
        );
        assert!(!composites(Some(""), false));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_parent_is_read_past_a_name_with_spaces_and_parentheses() {
        assert_eq!(
            parent_in_stat("4242 (WebKitWebProces) Z 4000 4000 0"),
            Some(4000)
        );
        assert_eq!(parent_in_stat("7 (a) b (c)) S 12 7 7"), Some(12));
        assert_eq!(parent_in_stat("garbage"), None);
        assert_eq!(parent_in_stat("1 (x) S"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_inherited_child_that_ended_is_reaped() {
        // A child this test spawned and forgot stands for the image before the exec: it ends,
        // and nothing but the reaper waits for it.
        let child = std::process::Command::new("true").spawn().unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        std::mem::forget(child);
        let state = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(')').map(|(_, r)| r.trim().chars().next()))
                .flatten()
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while state() != Some('Z') && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(state(), Some('Z'), "ended, not yet waited for");
        assert!(children_of(std::process::id()).contains(&pid));
        // Only this one: the other tests of this process wait for their own children.
        reap(vec![pid]);
        while state().is_some() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(state(), None, "reaped: gone from /proc");
    }

    #[tokio::test]
    async fn starting_afresh_never_falls_through_while_busy() {
        // Issue 14, defect 9: after its ten minutes of waiting the re-exec went ahead anyway,
        // through a sync or a sign-in waiting for its redirect.
        let pause = Duration::from_millis(1);
        let busy = wait_until_idle(5, pause, || false, || false).await;
        assert_eq!(busy, ShedWait::StillBusy);
        assert!(!busy.proceeds(), "still busy: never exec");
        assert!(!ShedWait::Reopened.proceeds());
        assert!(ShedWait::Idle.proceeds());
        let mut looks = 0;
        let idle_at_third = || {
            looks += 1;
            looks >= 3
        };
        assert_eq!(
            wait_until_idle(5, pause, || false, idle_at_third).await,
            ShedWait::Idle
        );
        assert_eq!(
            wait_until_idle(5, pause, || true, || true).await,
            ShedWait::Reopened
        );
    }
}
