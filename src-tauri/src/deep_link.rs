//! Deep links: classified by the core's one redirect parser, handled by the core, and reported
//! to the UI.
//! OAuth codes never pass through JavaScript.

use crate::payloads::DeepLinkOutcome;
use crate::state::AppState;
use tauri::{AppHandle, Manager, Runtime};
use tauri_specta::Event;
use tributary_core::auth::LinkKind;

/// Handle links from a cold start or forwarded by a second instance.
pub fn handle<R: Runtime>(app: &AppHandle<R>, urls: Vec<String>) {
    for url in urls {
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            let state = app.state::<AppState>();
            let outcome = match state.core.classify_link(&url) {
                LinkKind::OAuthCallback { provider } => {
                    // The core starts the first sync itself (its policy after a connect).
                    match state.core.complete_redirect(&url).await {
                        Ok(connected) => DeepLinkOutcome {
                            ok: true,
                            provider: Some(connected.connection.provider),
                            message: format!(
                                "Connected to {}.",
                                state
                                    .core
                                    .registry()
                                    .get(connected.connection.provider)
                                    .map_or_else(
                                        |_| connected.connection.provider.to_string(),
                                        |c| c.capabilities().display_name.to_owned()
                                    )
                            ),
                        },
                        Err(e) => {
                            // Never the query: it carries the code and the state.
                            tracing::warn!(
                                link = %without_query(&url),
                                code = e.code().as_str(),
                                error = %e,
                                "a sign-in's redirect was refused"
                            );
                            DeepLinkOutcome {
                                ok: false,
                                provider,
                                message: e.to_string(),
                            }
                        }
                    }
                }
                LinkKind::Unknown => {
                    // Never the query: a link can carry a code or a token.
                    tracing::warn!(link = %without_query(&url), "ignored an unknown deep link");
                    DeepLinkOutcome {
                        ok: false,
                        provider: None,
                        message:
                            "Tributary received a link it does not understand; nothing changed."
                                .to_owned(),
                    }
                }
            };
            report(&app, outcome);
        });
    }
}

/// Make this app the handler of `tributary://` links where the platform needs it at run time:
/// on Linux, unless an installed desktop entry already declares it (see `scheme`).
pub fn register<R: Runtime>(app: &tauri::App<R>) {
    #[cfg(target_os = "linux")]
    {
        let _ = app;
        // An AppImage runs from a temporary mount: the link must start the image itself.
        let exe = std::env::var_os("APPIMAGE")
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::current_exe().ok());
        let (Some(dirs), Some(exe)) = (crate::scheme::Dirs::from_env(), exe) else {
            tracing::warn!("tributary:// not registered: no home or data directory");
            return;
        };
        match crate::scheme::register(&dirs, &exe) {
            Ok(crate::scheme::Registration::Packaged {
                entry,
                removed_stale,
            }) => tracing::info!(
                entry,
                removed_stale,
                "tributary:// is registered by the installed desktop entry"
            ),
            Ok(crate::scheme::Registration::PerUser(file)) => tracing::debug!(
                file = %file.display(),
                "tributary:// registered for this user"
            ),
            Err(e) => tracing::warn!(error = %e, "could not register the tributary:// scheme"),
        }
    }
    #[cfg(all(debug_assertions, windows))]
    {
        use tauri_plugin_deep_link::DeepLinkExt;
        if let Err(e) = app.deep_link().register_all() {
            tracing::warn!(error = %e, "could not register the tributary:// scheme");
        }
    }
    #[cfg(not(any(target_os = "linux", all(debug_assertions, windows))))]
    let _ = app;
}

/// Tell the UI how a sign-in ended (a deep link's, or a loopback redirect's): kept until the UI
/// asks (it may not be listening yet), and sent as an event.
pub fn report<R: Runtime>(app: &AppHandle<R>, outcome: DeepLinkOutcome) {
    app.state::<AppState>()
        .unseen_outcomes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(outcome.clone());
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.set_focus();
    }
    if let Err(e) = outcome.emit(app) {
        tracing::warn!(error = %e, "could not report a sign-in's outcome");
    }
}

/// `url` without its query and fragment, for logs.
pub fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::without_query;

    #[test]
    fn a_logged_link_loses_its_query_and_fragment() {
        assert_eq!(
            without_query("tributary://oauth/nowhere/callback?code=abc&state=xyz"),
            "tributary://oauth/nowhere/callback"
        );
        assert_eq!(
            without_query("tributary://oauth/x#access_token=t"),
            "tributary://oauth/x"
        );
        assert_eq!(without_query("?code=abc"), "");
        assert_eq!(without_query("tributary://oauth/x"), "tributary://oauth/x");
    }

    /// The webview holds no plugin permission: with `deep-link:default` JavaScript could read a
    /// link's query, and with it an OAuth code.
    #[test]
    fn the_webview_holds_no_plugin_permission() {
        let text = include_str!("../capabilities/default.json");
        let file: serde_json::Value = serde_json::from_str(text).unwrap();
        let permissions: Vec<&str> = file["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap_or("a scoped permission"))
            .collect();
        assert_eq!(permissions, ["core:event:default"]);
    }
}
