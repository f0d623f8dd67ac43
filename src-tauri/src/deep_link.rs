//! Deep links: parsed into a typed value here, handled by the core, and reported to the UI.
//! OAuth codes never pass through JavaScript.

use crate::events::DeepLinkOutcome;
use crate::state::AppState;
use tauri::{AppHandle, Manager, Runtime};
use tauri_specta::Event;
use tributary_core::domain::ProviderKind;

/// What a `tributary://` link asks for.
#[derive(Debug, PartialEq)]
pub enum DeepLink {
    /// An OAuth redirect for a provider (the core checks the rest of it).
    OAuthCallback {
        /// The provider named in the path, if it is one we know.
        provider: Option<ProviderKind>,
        /// The whole URL.
        url: String,
    },
    /// Anything else.
    Unknown(String),
}

impl DeepLink {
    /// Classify a URL the OS handed us.
    pub fn parse(url: &str) -> Self {
        match url::Url::parse(url) {
            // `oauth`, or a provider's registered callback domain (Strava: `localhost`).
            Ok(u)
                if u.scheme() == "tributary"
                    && matches!(u.host_str(), Some("oauth" | "localhost")) =>
            {
                let provider = u
                    .path_segments()
                    .and_then(|mut s| s.next())
                    .and_then(|p| p.parse().ok());
                Self::OAuthCallback {
                    provider,
                    url: url.to_owned(),
                }
            }
            _ => Self::Unknown(url.to_owned()),
        }
    }
}

/// Handle links from a cold start or forwarded by a second instance.
pub fn handle<R: Runtime>(app: &AppHandle<R>, urls: Vec<String>) {
    for url in urls {
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            let outcome = match DeepLink::parse(&url) {
                DeepLink::OAuthCallback { provider, url } => {
                    let state = app.state::<AppState>();
                    match state.core.complete_redirect(&url).await {
                        Ok(connection) => {
                            // First sync right after connecting, as the athlete expects.
                            let core = state.core.clone();
                            let p = connection.provider;
                            tauri::async_runtime::spawn(async move {
                                let started = core
                                    .start_sync(
                                        p,
                                        tributary_core::domain::SyncTrigger::AfterConnect,
                                        Default::default(),
                                    )
                                    .await;
                                if let Err(e) = started {
                                    tracing::warn!(provider = %p, error = %e, "first sync did not start");
                                }
                            });
                            DeepLinkOutcome {
                                ok: true,
                                provider: Some(connection.provider),
                                message: format!("Connected to {}.", connection.provider),
                            }
                        }
                        Err(e) => DeepLinkOutcome {
                            ok: false,
                            provider,
                            message: e.to_string(),
                        },
                    }
                }
                DeepLink::Unknown(url) => {
                    tracing::warn!(%url, "ignored an unknown deep link");
                    DeepLinkOutcome {
                        ok: false,
                        provider: None,
                        message:
                            "Tributary received a link it does not understand; nothing changed."
                                .to_owned(),
                    }
                }
            };
            app.state::<AppState>()
                .unseen_outcomes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(outcome.clone());
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.set_focus();
            }
            if let Err(e) = outcome.emit(&app) {
                tracing::warn!(error = %e, "could not report a deep link's outcome");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_links() {
        assert_eq!(
            DeepLink::parse("tributary://oauth/strava/callback?state=s&code=c"),
            DeepLink::OAuthCallback {
                provider: Some(ProviderKind::Strava),
                url: "tributary://oauth/strava/callback?state=s&code=c".into()
            }
        );
        assert!(matches!(
            DeepLink::parse("tributary://oauth/myspace/callback"),
            DeepLink::OAuthCallback { provider: None, .. }
        ));
        assert!(matches!(
            DeepLink::parse("tributary://activity/42"),
            DeepLink::Unknown(_)
        ));
        assert!(matches!(DeepLink::parse("%%%"), DeepLink::Unknown(_)));
    }
}
