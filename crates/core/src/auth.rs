//! Connecting a provider: the OAuth authorization-code flow with `state` and PKCE, the redirect
//! received by a one-shot loopback listener (RFC 8252) or handed over as a deep link.
//!
//! A `state` is random, single use and expires after [`FLOW_TTL`]. Every way a redirect can be
//! wrong (not ours, unknown or replayed `state`, expired, for another provider or another redirect
//! URI, no code) is rejected with [`Error::InvalidRedirect`] before anything is written.

use crate::domain::{Connection, ConnectionState, ConnectionUpdate, ProviderKind};
use crate::events::CoreEvent;
use crate::providers::{AuthorizeParams, Call, Meter, oauth};
use crate::secrets::Sensitive;
use crate::tokens::StoredTokens;
use crate::{Core, Error, Result, store};
use axum::extract::{RawQuery, State};
use axum::response::Html;
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use url::Url;

/// How long an authorization request stays valid.
pub const FLOW_TTL: Duration = Duration::minutes(10);
/// The deep-link scheme the desktop app registers.
pub const DEEP_LINK_SCHEME: &str = "tributary";

/// Where the provider should send the athlete back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectTarget {
    /// `http://<loopback host>:<port>/callback`.
    Loopback {
        /// The listener's port.
        port: u16,
    },
    /// `tributary://<deep link host>/<provider>/callback` (the host is `oauth` unless the
    /// provider matches a registered callback domain).
    DeepLink,
}

/// A started authorization, to open in the system browser. Safe to show: it holds no secret
/// (the PKCE verifier stays in the core).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AuthRequest {
    /// Provider.
    pub provider: ProviderKind,
    /// The URL to open.
    pub authorize_url: String,
    /// The redirect URI registered for this flow.
    pub redirect_uri: String,
    /// When this request stops being accepted.
    pub expires_at: DateTime<Utc>,
}

struct PendingFlow {
    provider: ProviderKind,
    redirect_uri: Url,
    pkce_verifier: Option<Sensitive<String>>,
    expires_at: DateTime<Utc>,
}

/// Flows waiting for their redirect, by `state`.
#[derive(Default)]
pub(crate) struct PendingFlows(Mutex<HashMap<String, PendingFlow>>);

impl PendingFlows {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, PendingFlow>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The parts of a redirect we act on.
struct Redirect {
    base: Url,
    deep_link_provider: Option<String>,
    state: String,
    code: Option<String>,
    error: Option<String>,
    scope: Option<String>,
}

fn parse_redirect(text: &str) -> Result<Redirect> {
    let bad = |why: &str| Error::InvalidRedirect(format!("not a Tributary sign-in link: {why}"));
    let url = Url::parse(text.trim()).map_err(|_| bad("it is not a URL"))?;
    let deep_link_provider = match url.scheme() {
        DEEP_LINK_SCHEME => {
            let segments: Vec<&str> = url
                .path_segments()
                .map(Iterator::collect)
                .unwrap_or_default();
            match (url.host_str(), segments.as_slice()) {
                (Some("oauth" | "localhost"), [provider, "callback"]) => {
                    Some((*provider).to_owned())
                }
                _ => return Err(bad("expected tributary://oauth/<provider>/callback")),
            }
        }
        "http" => {
            let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
            if !loopback || url.path() != "/callback" {
                return Err(bad("expected http://127.0.0.1:<port>/callback"));
            }
            None
        }
        _ => return Err(bad("unknown scheme")),
    };
    let mut query: HashMap<String, String> = HashMap::new();
    for (key, value) in url.query_pairs() {
        // A parameter given twice is an attempt to confuse the parser: refuse it.
        if query
            .insert(key.clone().into_owned(), value.into_owned())
            .is_some()
        {
            return Err(bad(&format!("parameter '{key}' appears twice")));
        }
    }
    let state = query
        .remove("state")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("it has no state"))?;
    let mut base = url;
    base.set_query(None);
    base.set_fragment(None);
    Ok(Redirect {
        base,
        deep_link_provider,
        state,
        code: query.remove("code").filter(|c| !c.is_empty()),
        error: query.remove("error"),
        scope: query.remove("scope"),
    })
}

impl Core {
    /// Start connecting `provider`: returns the URL to open. Fails early when the provider has no
    /// API credentials configured.
    pub async fn begin_connect(
        &self,
        provider: ProviderKind,
        target: RedirectTarget,
    ) -> Result<AuthRequest> {
        let client = self.inner.registry.get(provider)?;
        let creds = self.client_credentials(provider).await?;
        // Fail before the athlete approves anything if the tokens could not be kept.
        self.inner.deps.secrets.check().await?;
        let capabilities = client.capabilities();
        let redirect_uri = match target {
            RedirectTarget::Loopback { port } => {
                format!("http://{}:{port}/callback", capabilities.loopback_host)
            }
            RedirectTarget::DeepLink => {
                format!(
                    "{DEEP_LINK_SCHEME}://{}/{provider}/callback",
                    capabilities.deep_link_host
                )
            }
        };
        let state = oauth::new_state();
        let (challenge, verifier) = match capabilities.pkce {
            true => {
                let (challenge, verifier) = oauth::pkce_pair();
                (Some(challenge), Some(verifier))
            }
            false => (None, None),
        };
        let params = AuthorizeParams {
            redirect_uri: &redirect_uri,
            state: &state,
            pkce_challenge: challenge.as_deref(),
        };
        let authorize_url = client.authorize_url(&creds, &params)?;
        let now = self.now();
        let expires_at = now + FLOW_TTL;
        let flow = PendingFlow {
            provider,
            redirect_uri: Url::parse(&redirect_uri)
                .map_err(|e| Error::Validation(format!("bad redirect URI {redirect_uri}: {e}")))?,
            pkce_verifier: verifier,
            expires_at,
        };
        let mut flows = self.inner.flows.lock();
        flows.retain(|_, f| f.expires_at > now);
        flows.insert(state, flow);
        Ok(AuthRequest {
            provider,
            authorize_url: authorize_url.into(),
            redirect_uri,
            expires_at,
        })
    }

    /// Forget every pending authorization for `provider` (the athlete cancelled).
    pub fn cancel_connect(&self, provider: ProviderKind) {
        self.inner
            .flows
            .lock()
            .retain(|_, f| f.provider != provider);
    }

    /// Complete a flow from its redirect URL (deep link or loopback): check it, exchange the code,
    /// store the tokens in the keyring and the connection in the database.
    pub async fn complete_redirect(&self, url: &str) -> Result<Connection> {
        let redirect = parse_redirect(url)?;
        let now = self.now();
        // Take the flow out first: a state is single use even when the rest of the link is bad.
        let flow = self
            .inner
            .flows
            .lock()
            .remove(&redirect.state)
            .ok_or_else(|| {
                Error::InvalidRedirect(
                    "this sign-in link is unknown or was already used; start connecting again"
                        .to_owned(),
                )
            })?;
        let provider = flow.provider;
        if flow.expires_at <= now {
            return Err(Error::InvalidRedirect(format!(
                "this {provider} sign-in link expired; start connecting again"
            )));
        }
        if redirect.base != flow.redirect_uri
            || redirect
                .deep_link_provider
                .as_deref()
                .is_some_and(|p| p != provider.as_str())
        {
            return Err(Error::InvalidRedirect(format!(
                "this sign-in link does not belong to the {provider} request that was started"
            )));
        }
        if let Some(error) = redirect.error {
            return Err(Error::Validation(match error.as_str() {
                "access_denied" => format!("access was declined on {provider}; nothing changed"),
                other => format!("{provider} refused the sign-in: {other}"),
            }));
        }
        let code = redirect
            .code
            .ok_or_else(|| Error::InvalidRedirect("the sign-in link has no code".to_owned()))?;

        let client = self.inner.registry.get(provider)?;
        let creds = self.client_credentials(provider).await?;
        let meter = Meter::default();
        let clock = self.inner.deps.clock.as_ref();
        let call = Call {
            token: None,
            meter: &meter,
            clock,
        };
        let grant = client
            .exchange_code(
                &call,
                &creds,
                &code,
                flow.redirect_uri.as_str(),
                flow.pkce_verifier.as_ref(),
            )
            .await?;
        let granted = grant
            .scopes
            .clone()
            .or_else(|| redirect.scope.as_deref().map(oauth::split_scope))
            .unwrap_or_default();
        let missing = client.missing_scopes(&granted);
        let call = Call {
            token: Some(&grant.access_token),
            meter: &meter,
            clock,
        };
        let profile = client.fetch_profile(&call, &grant).await?;
        let tokens = StoredTokens::from_grant(grant, None);

        // Keyring first, then the row: if the row fails, the tokens are removed again, so a
        // failure leaves neither behind.
        self.save_tokens(provider, &tokens).await?;
        let pool = self.inner.store.pool();
        let athlete = self.inner.athlete_id;
        let saved = async {
            let mut connection = store::connections::upsert(
                pool,
                athlete,
                provider,
                &profile,
                &granted,
                tokens.expires_at,
                now,
            )
            .await?;
            store::activities::adopt(pool, provider, connection.id).await?;
            if !missing.is_empty() {
                let change = ConnectionUpdate {
                    state: Some(ConnectionState::ScopeMissing),
                    last_sync_error: Some(Some(format!(
                        "missing permission: {}",
                        missing.join(", ")
                    ))),
                    ..Default::default()
                };
                if let Some(updated) =
                    store::connections::update(pool, connection.id, &change, now).await?
                {
                    connection = updated;
                }
            }
            Ok::<_, Error>(connection)
        }
        .await;
        let connection = match saved {
            Ok(connection) => connection,
            Err(e) => {
                if let Err(cleanup) = self.delete_tokens(provider).await {
                    tracing::error!(%provider, error = %cleanup, "could not remove tokens after a failed connect");
                }
                return Err(e);
            }
        };
        self.emit(CoreEvent::ConnectionChanged {
            provider,
            state: connection.state,
        });
        Ok(connection)
    }

    /// Connect through a one-shot loopback listener on 127.0.0.1 (random port): `on_authorize`
    /// receives the URL to open; the first request to `/callback` completes the flow and closes
    /// the listener. Ends when the flow completes, is cancelled, or expires.
    pub async fn connect_loopback(
        &self,
        provider: ProviderKind,
        on_authorize: impl FnOnce(&AuthRequest) + Send,
        cancel: CancellationToken,
    ) -> Result<Connection> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .map_err(|e| Error::io("cannot open a loopback port for the sign-in", e))?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::io("loopback port", e))?
            .port();
        // `localhost` may resolve to ::1 in the browser: listen there too when we can.
        let v6 = tokio::net::TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port)))
            .await
            .ok();
        let request = self
            .begin_connect(provider, RedirectTarget::Loopback { port })
            .await?;

        let (tx, mut rx) = mpsc::channel::<(String, oneshot::Sender<String>)>(1);
        let redirect_uri = request.redirect_uri.clone();
        let app = axum::Router::new()
            .route("/callback", get(callback))
            .with_state((tx, redirect_uri));
        let stop = CancellationToken::new();
        let mut servers = Vec::new();
        for listener in std::iter::once(listener).chain(v6) {
            let (app, stop) = (app.clone(), stop.clone());
            servers.push(tokio::spawn(async move {
                let served = axum::serve(listener, app)
                    .with_graceful_shutdown(async move { stop.cancelled().await })
                    .await;
                if let Err(e) = served {
                    tracing::warn!(error = %e, "loopback listener failed");
                }
            }));
        }
        on_authorize(&request);

        let ttl = (request.expires_at - self.now())
            .to_std()
            .unwrap_or_default();
        let outcome = tokio::select! {
            received = rx.recv() => match received {
                Some((url, reply)) => {
                    let result = self.complete_redirect(&url).await;
                    let page = match &result {
                        Ok(c) => format!("Tributary is connected to {}. You can close this tab.", c.provider),
                        Err(e) => format!("Tributary could not connect: {e}"),
                    };
                    let _ = reply.send(page); // the browser may have gone; the result stands
                    result
                }
                None => Err(Error::Cancelled),
            },
            () = cancel.cancelled() => Err(Error::Cancelled),
            () = tokio::time::sleep(ttl) => Err(Error::InvalidRedirect(format!(
                "no answer from {provider} within {} minutes; start connecting again",
                FLOW_TTL.num_minutes()
            ))),
        };
        if outcome.is_err() {
            self.cancel_connect(provider);
        }
        stop.cancel();
        for server in servers {
            let _ = server.await; // a listener that failed was already logged
        }
        outcome
    }
}

type CallbackState = (mpsc::Sender<(String, oneshot::Sender<String>)>, String);

async fn callback(
    State((tx, redirect_uri)): State<CallbackState>,
    RawQuery(query): RawQuery,
) -> Html<String> {
    let url = format!("{redirect_uri}?{}", query.unwrap_or_default());
    let (reply_tx, reply_rx) = oneshot::channel();
    if tx.send((url, reply_tx)).await.is_err() {
        return page("This sign-in is already finished.");
    }
    page(
        &reply_rx
            .await
            .unwrap_or_else(|_| "Tributary stopped waiting.".to_owned()),
    )
}

fn page(message: &str) -> Html<String> {
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>Tributary</title>\
         <body style=\"font-family:sans-serif;margin:3em\"><p>{escaped}</p></body>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_deep_links_and_loopback_redirects() {
        let deep = parse_redirect("tributary://oauth/strava/callback?state=s1&code=c1&scope=read")
            .unwrap();
        assert_eq!(deep.deep_link_provider.as_deref(), Some("strava"));
        assert_eq!(
            (deep.state.as_str(), deep.code.as_deref()),
            ("s1", Some("c1"))
        );
        let lo =
            parse_redirect("http://127.0.0.1:4567/callback?state=s2&error=access_denied").unwrap();
        assert_eq!(lo.base.as_str(), "http://127.0.0.1:4567/callback");
        assert_eq!(lo.error.as_deref(), Some("access_denied"));
    }

    #[test]
    fn rejects_malformed_links() {
        for bad in [
            "",
            "not a url",
            "https://evil.example/callback?state=s&code=c",
            "http://192.168.1.5:80/callback?state=s&code=c",
            "http://127.0.0.1:80/other?state=s&code=c",
            "tributary://oauth/strava?state=s&code=c",
            "tributary://activity/strava/callback?state=s&code=c",
            "tributary://oauth/strava/callback?code=c",
            "tributary://oauth/strava/callback?state=&code=c",
            "tributary://oauth/strava/callback?state=a&state=b&code=c",
        ] {
            let err = parse_redirect(bad)
                .err()
                .unwrap_or_else(|| panic!("accepted {bad:?}"));
            assert_eq!(
                err.code(),
                crate::ErrorCode::InvalidRedirect,
                "{bad:?}: {err}"
            );
        }
    }
}
