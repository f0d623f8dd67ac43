//! What every emulated API does before answering: check the bearer token, count the call against
//! the app's budget (with the provider's own rate-limit headers), and serve a queued fault.

use crate::state::{FaultKind, FaultTarget, Shared};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::Value;

/// A call that may proceed.
pub struct Gated {
    /// Scopes of the token.
    pub scope: String,
    /// Rate-limit headers to send back.
    pub rate: HeaderMap,
    /// Whether to add an unreadable record to a list (the `bad_record` fault).
    pub bad_record: bool,
    /// Whether to add a record that is not valid JSON on its own (the `garbage_record` fault).
    pub garbage_record: bool,
}

/// Builds a provider's rate-limit headers from (limits, usage, spent).
pub type RateHeaders = fn((u32, u32), (u32, u32), bool) -> HeaderMap;

/// Check, count and maybe fail a call to `provider`'s API.
pub async fn gate(
    s: &Shared,
    headers: &HeaderMap,
    provider: &str,
    rate_headers: RateHeaders,
    rate_limited: impl Fn() -> Value,
    unauthorized: impl Fn() -> Value,
) -> Result<Gated, Response> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .unwrap_or_default()
        .to_owned();
    let (fault, rate, over, scope, spent_rate) = {
        let mut world = s.world();
        *world.calls.entry(provider.to_owned()).or_default() += 1;
        let (limits, used, over) = world.spend(provider, Utc::now());
        let scope = world.access_for(&token, provider).map(|g| g.scope.clone());
        if scope.is_some() && world.first_use(&token) {
            s.save(&world);
        }
        (
            world.take_fault(provider, FaultTarget::Api),
            rate_headers(limits, used, false),
            over,
            scope,
            rate_headers(limits, used, true),
        )
    };
    let too_many = || {
        (
            StatusCode::TOO_MANY_REQUESTS,
            spent_rate.clone(),
            axum::Json(rate_limited()),
        )
            .into_response()
    };
    if over {
        return Err(too_many());
    }
    let bad_record = fault
        .as_ref()
        .is_some_and(|f| f.kind == FaultKind::BadRecord);
    let garbage_record = fault
        .as_ref()
        .is_some_and(|f| f.kind == FaultKind::GarbageRecord);
    if let Some(fault) = fault {
        match fault.kind {
            FaultKind::RateLimit => return Err(too_many()),
            FaultKind::ServerError => {
                return Err(
                    (StatusCode::INTERNAL_SERVER_ERROR, rate, "upstream exploded").into_response(),
                );
            }
            FaultKind::Malformed => {
                return Err(
                    (StatusCode::OK, rate, "<html>definitely not json</html>").into_response()
                );
            }
            FaultKind::Truncated => {
                return Err((StatusCode::OK, rate, "[{\"id\": 1, \"name\": \"cut").into_response());
            }
            FaultKind::Gone => {
                let body = serde_json::json!({"errors": [{"errorType": "gone", "message": "The Fitbit Web API has been retired."}], "success": false});
                return Err((StatusCode::GONE, rate, axum::Json(body)).into_response());
            }
            FaultKind::Slow => {
                tokio::time::sleep(std::time::Duration::from_millis(fault.delay_ms)).await
            }
            FaultKind::NotFound => {
                return Err((StatusCode::NOT_FOUND, rate, "Not Found").into_response());
            }
            FaultKind::Revoke | FaultKind::BadRecord | FaultKind::GarbageRecord => {}
        }
    }
    match scope {
        Some(scope) => Ok(Gated {
            scope,
            rate,
            bad_record,
            garbage_record,
        }),
        None => Err((StatusCode::UNAUTHORIZED, rate, axum::Json(unauthorized())).into_response()),
    }
}

/// A token endpoint's queued fault, if any: the answer to send instead of the real one (or
/// `None`, after a `slow` fault's delay, to answer normally).
pub async fn token_fault(s: &Shared, provider: &str) -> Option<Response> {
    let fault = s.world().take_fault(provider, FaultTarget::Token)?;
    match fault.kind {
        FaultKind::RateLimit => Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "60")],
                axum::Json(serde_json::json!({"error": "rate_limited"})),
            )
                .into_response(),
        ),
        FaultKind::ServerError => {
            Some((StatusCode::INTERNAL_SERVER_ERROR, "token service exploded").into_response())
        }
        FaultKind::Malformed => Some((StatusCode::OK, "<html>not a token</html>").into_response()),
        FaultKind::Truncated => {
            Some((StatusCode::OK, "{\"access_token\": \"sbx-at-cut").into_response())
        }
        FaultKind::Slow => {
            tokio::time::sleep(std::time::Duration::from_millis(fault.delay_ms)).await;
            None
        }
        FaultKind::Gone => Some((StatusCode::GONE, "gone").into_response()),
        FaultKind::NotFound => Some((StatusCode::NOT_FOUND, "not found").into_response()),
        FaultKind::Revoke | FaultKind::BadRecord | FaultKind::GarbageRecord => None,
    }
}

/// A list's JSON text with one more record that no strict reader accepts (a lone surrogate,
/// a number beyond f64), spliced in as text: serde could never write it.
pub fn with_garbage_record(list: &str) -> String {
    const GARBAGE: &str = r#"{"id": 77, "name": "bad \ud800 text", "distance": 1e999}"#;
    match list.trim_end().strip_suffix(']') {
        Some(head) if head.trim_end().ends_with('[') => format!("{head}{GARBAGE}]"),
        Some(head) => format!("{head},{GARBAGE}]"),
        None => list.to_owned(),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The redirect URIs a twin accepts for the demo client, as its provider's rules say.
#[derive(Debug, Clone, Copy)]
pub enum Redirects {
    /// One registered callback domain (host only; any scheme, port and path), with `localhost`
    /// and `127.0.0.1` always allowed (Strava [3P: Strava community hub threads]).
    CallbackDomain(&'static str),
    /// Exactly one of the registered URLs, port and path included (Polar [doc]).
    Registered(&'static [&'static str]),
    /// Loopback only, any port (Google "Desktop app" clients [doc]).
    LoopbackOnly,
    /// Registered per app, rules not documented: the one registered deep link, or loopback on any
    /// port (Garmin, COROS, Wahoo: unverified, so the twin is no stricter than that).
    Unverified(&'static str),
}

fn loopback(url: &url::Url) -> bool {
    url.scheme() == "http"
        && matches!(
            url.host(),
            Some(url::Host::Domain("localhost"))
                | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
                | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
        )
}

impl Redirects {
    /// Whether `uri` may be used.
    pub fn allow(self, uri: &str) -> bool {
        let Ok(url) = url::Url::parse(uri) else {
            return false;
        };
        if url.fragment().is_some() {
            return false; // RFC 6749 3.1.2: no fragment
        }
        match self {
            Self::CallbackDomain(domain) => url
                .host_str()
                .is_some_and(|h| h == domain || h == "localhost" || h == "127.0.0.1"),
            Self::Registered(urls) => urls.contains(&uri),
            Self::LoopbackOnly => loopback(&url),
            Self::Unverified(deep_link) => uri == deep_link || loopback(&url),
        }
    }
}

/// The provider's refusal page for a redirect URI it does not accept (no redirect: a provider
/// never sends the athlete to an unregistered address).
pub fn bad_redirect(provider: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::response::Html(format!(
            "<!doctype html><meta charset=utf-8><title>{provider} (sandbox)</title>\
             <h1>redirect_uri_mismatch</h1><p>The redirect URI is not registered for this \
             client.</p>"
        )),
    )
        .into_response()
}

/// A provider's consent page with links a script can follow: `approve`, `deny`, and, when the
/// provider lets the athlete untick something, `approve-without-activities`, which grants only
/// `narrow.0` and is labelled `narrow.1`.
pub fn consent_page(
    provider: &str,
    redirects: Redirects,
    q: &std::collections::HashMap<String, String>,
    narrow: Option<(&str, &str)>,
) -> Response {
    if !q.get("redirect_uri").is_some_and(|u| redirects.allow(u)) {
        return bad_redirect(provider);
    }
    let link = |decision: &str, scope: Option<&str>| {
        let mut params: Vec<(String, String)> = q.clone().into_iter().collect();
        params.sort();
        params.push(("decision".into(), decision.into()));
        if let Some(scope) = scope {
            params.retain(|(k, _)| k != "scope");
            params.push(("scope".into(), scope.into()));
        }
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        escape(&format!("approve?{query}"))
    };
    let narrower = narrow.map_or_else(String::new, |(scope, label)| {
        format!(
            " · <a id=\"approve-without-activities\" href=\"{}\">{label}</a>",
            link("approve", Some(scope))
        )
    });
    axum::response::Html(format!(
        "<!doctype html><meta charset=utf-8><title>{provider} (sandbox) — Authorize</title>\
         <h1>Authorize Tributary on {provider} (sandbox)</h1>\
         <p>Tributary would like to read your activities ({}).</p>\
         <p><a id=\"approve\" href=\"{}\">Authorize</a>{narrower} · <a id=\"deny\" href=\"{}\">Cancel</a></p>",
        escape(q.get("scope").map_or("", String::as_str)),
        link("approve", None),
        link("deny", None),
    ))
    .into_response()
}

/// The athlete's decision: redirect back with a fresh single-use code (10 minutes) and the
/// `state`, or with `error=access_denied`. `None` when the redirect URI is unusable.
pub fn approve(
    s: &Shared,
    provider: &str,
    redirects: Redirects,
    q: &std::collections::HashMap<String, String>,
    report_scope: bool,
) -> Option<Response> {
    let redirect_uri = q.get("redirect_uri").filter(|u| redirects.allow(u))?;
    let mut target = url::Url::parse(redirect_uri).ok()?;
    {
        let mut pairs = target.query_pairs_mut();
        if let Some(state) = q.get("state") {
            pairs.append_pair("state", state);
        }
        if q.get("decision").map(String::as_str) == Some("deny") {
            pairs.append_pair("error", "access_denied");
        } else {
            let mut world = s.world();
            let code = world.new_token("sbx-code");
            let scope = q.get("scope").cloned().unwrap_or_default();
            world.codes.insert(
                code.clone(),
                crate::state::CodeGrant {
                    provider: provider.to_owned(),
                    client_id: q.get("client_id").cloned().unwrap_or_default(),
                    scope: scope.clone(),
                    redirect_uri: redirect_uri.clone(),
                    code_challenge: q.get("code_challenge").cloned(),
                    expires_at: Utc::now() + chrono::Duration::minutes(10),
                },
            );
            pairs.append_pair("code", &code);
            if report_scope {
                pairs.append_pair("scope", &scope);
            }
        }
    }
    Some(axum::response::Redirect::to(target.as_str()).into_response())
}
