//! Strava's twin: authorize page, token endpoint with Strava's rules (secret required, 6 h tokens,
//! single-use codes, refresh that returns the same token while it has over an hour left and
//! otherwise rotates and retires the old one), deauthorize, `/athlete`, and
//! `/athlete/activities` with Strava's fields, units, `before`/`after`/`page`/`per_page` paging,
//! rate-limit headers and 429s.

use crate::generate::strava_json;
use crate::state::{FaultKind, Shared};
use crate::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// The sandbox athlete's id.
pub const ATHLETE_ID: i64 = 31_415_926;
const PROVIDER: &str = "strava";
const ACCESS_LIFETIME: Duration = Duration::hours(6);

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/oauth/authorize", get(authorize))
        .route("/oauth/approve", get(approve))
        .route("/oauth/token", post(token))
        .route("/oauth/deauthorize", post(deauthorize))
        .route("/api/v3/athlete", get(athlete))
        .route("/api/v3/athlete/activities", get(activities))
}

fn error(status: StatusCode, resource: &str, field: &str, code: &str, message: &str) -> Response {
    let body = json!({"message": message, "errors": [{"resource": resource, "field": field, "code": code}]});
    (status, axum::Json(body)).into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn authorize(Query(q): Query<HashMap<String, String>>) -> Response {
    if q.get("client_id").map(String::as_str) != Some(DEMO_CLIENT_ID) {
        return error(
            StatusCode::BAD_REQUEST,
            "Application",
            "client_id",
            "invalid",
            "Bad Request",
        );
    }
    if q.get("response_type").map(String::as_str) != Some("code") || !q.contains_key("redirect_uri")
    {
        return error(
            StatusCode::BAD_REQUEST,
            "Application",
            "redirect_uri",
            "invalid",
            "Bad Request",
        );
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
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>Strava (sandbox) — Authorize</title>\
         <h1>Authorize Tributary (sandbox)</h1>\
         <p>Tributary would like to read your activities ({}).</p>\
         <p><a id=\"approve\" href=\"{}\">Authorize</a> · \
         <a id=\"approve-without-activities\" href=\"{}\">Authorize without activity access</a> · \
         <a id=\"deny\" href=\"{}\">Cancel</a></p>",
        escape(q.get("scope").map_or("", String::as_str)),
        link("approve", None),
        link("approve", Some("read")),
        link("deny", None),
    ))
    .into_response()
}

async fn approve(
    State(s): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(redirect_uri) = q.get("redirect_uri") else {
        return error(
            StatusCode::BAD_REQUEST,
            "Application",
            "redirect_uri",
            "invalid",
            "Bad Request",
        );
    };
    let Ok(mut target) = url::Url::parse(redirect_uri) else {
        return error(
            StatusCode::BAD_REQUEST,
            "Application",
            "redirect_uri",
            "invalid",
            "Bad Request",
        );
    };
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
                    provider: PROVIDER.to_owned(),
                    client_id: q.get("client_id").cloned().unwrap_or_default(),
                    scope: scope.clone(),
                    expires_at: Utc::now() + Duration::minutes(10),
                },
            );
            pairs.append_pair("code", &code);
            // Strava reports the scopes actually granted in the redirect.
            pairs.append_pair("scope", &scope);
        }
    }
    Redirect::to(target.as_str()).into_response()
}

fn athlete_summary() -> Value {
    json!({
        "id": ATHLETE_ID, "username": "sandbox_athlete", "resource_state": 2,
        "firstname": "Sandy", "lastname": "Box", "city": "Annecy", "country": "France",
        "sex": "F", "summit": false, "created_at": "2019-03-01T10:00:00Z",
        "profile": "https://example.invalid/avatar.png"
    })
}

fn token_body(access: &str, grant: &crate::state::AccessGrant, with_athlete: bool) -> Response {
    let mut body = json!({
        "token_type": "Bearer",
        "access_token": access,
        "refresh_token": grant.refresh_token,
        "expires_at": grant.expires_at,
        "expires_in": (grant.expires_at - Utc::now().timestamp()).max(0),
    });
    if with_athlete {
        body["athlete"] = athlete_summary();
    }
    axum::Json(body).into_response()
}

async fn token(State(s): State<Arc<Shared>>, Form(f): Form<HashMap<String, String>>) -> Response {
    let bad_client = || {
        error(
            StatusCode::BAD_REQUEST,
            "Application",
            "client_id",
            "invalid",
            "Bad Request",
        )
    };
    if f.get("client_id").map(String::as_str) != Some(DEMO_CLIENT_ID) {
        return bad_client();
    }
    if f.get("client_secret").map(String::as_str) != Some(DEMO_CLIENT_SECRET) {
        return error(
            StatusCode::BAD_REQUEST,
            "Application",
            "client_secret",
            "invalid",
            "Bad Request",
        );
    }
    let mut world = s.world();
    match f.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let code = f.get("code").cloned().unwrap_or_default();
            // Single use: the code is gone whether or not the rest succeeds.
            let Some(grant) = world.codes.remove(&code) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "AuthorizationCode",
                    "code",
                    "invalid",
                    "Bad Request",
                );
            };
            if grant.expires_at < Utc::now()
                || grant.provider != PROVIDER
                || grant.client_id != DEMO_CLIENT_ID
            {
                return error(
                    StatusCode::BAD_REQUEST,
                    "AuthorizationCode",
                    "code",
                    "invalid",
                    "Bad Request",
                );
            }
            let (access, issued) = world.issue(PROVIDER, &grant.scope, ACCESS_LIFETIME);
            s.save(&world);
            token_body(&access, &issued, true)
        }
        Some("refresh_token") => {
            let refresh = f.get("refresh_token").cloned().unwrap_or_default();
            let Some((access, grant)) = world.by_refresh(&refresh) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "RefreshToken",
                    "refresh_token",
                    "invalid",
                    "Bad Request",
                );
            };
            // More than an hour left: Strava hands back the same token.
            if grant.expires_at - Utc::now().timestamp() > 3600 {
                return token_body(&access, &grant, false);
            }
            world.retire(&access); // the old pair dies as soon as a new one is issued
            let (access, issued) = world.issue(PROVIDER, &grant.scope, ACCESS_LIFETIME);
            s.save(&world);
            token_body(&access, &issued, false)
        }
        _ => error(
            StatusCode::BAD_REQUEST,
            "GrantType",
            "grant_type",
            "invalid",
            "Bad Request",
        ),
    }
}

async fn deauthorize(
    State(s): State<Arc<Shared>>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let mut world = s.world();
    let token = f.get("access_token").cloned().unwrap_or_default();
    if world.access(&token).is_none() {
        return error(
            StatusCode::UNAUTHORIZED,
            "Athlete",
            "access_token",
            "invalid",
            "Authorization Error",
        );
    }
    world.revoke_all(PROVIDER);
    s.save(&world);
    axum::Json(json!({"access_token": token})).into_response()
}

/// Check the bearer token, count the call, serve queued faults. `Ok(scope)` lets the call proceed.
async fn gate(s: &Shared, headers: &HeaderMap) -> Result<(String, HeaderMap, bool), Response> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    let (fault, rate_headers, over, scope) = {
        let mut world = s.world();
        *world.calls.entry(PROVIDER.to_owned()).or_default() += 1;
        let ((short_limit, daily_limit), (short_used, daily_used), over) = world.spend(Utc::now());
        let mut rate = HeaderMap::new();
        let mut put = |name: &'static str, value: String| {
            if let Ok(v) = HeaderValue::from_str(&value) {
                rate.insert(name, v);
            }
        };
        // The overall bucket is twice the read bucket, as in Strava's defaults.
        put(
            "x-ratelimit-limit",
            format!("{},{}", short_limit * 2, daily_limit * 2),
        );
        put("x-ratelimit-usage", format!("{short_used},{daily_used}"));
        put(
            "x-readratelimit-limit",
            format!("{short_limit},{daily_limit}"),
        );
        put(
            "x-readratelimit-usage",
            format!("{short_used},{daily_used}"),
        );
        let scope = world.access(&token).map(|g| g.scope.clone());
        (world.take_fault(PROVIDER), rate, over, scope)
    };
    let spent_429 = |mut rate: HeaderMap| {
        if let Some(limit) = rate.get("x-readratelimit-limit").cloned() {
            rate.insert("x-readratelimit-usage", limit); // show the window as spent
        }
        let body = json!({"message": "Rate Limit Exceeded", "errors": [{"resource": "Application", "field": "rate limit", "code": "exceeded"}]});
        (StatusCode::TOO_MANY_REQUESTS, rate, axum::Json(body)).into_response()
    };
    if over {
        return Err(spent_429(rate_headers));
    }
    let bad_record = fault
        .as_ref()
        .is_some_and(|f| f.kind == FaultKind::BadRecord);
    if let Some(fault) = fault {
        match fault.kind {
            FaultKind::RateLimit => return Err(spent_429(rate_headers)),
            FaultKind::ServerError => {
                return Err((
                    StatusCode::INTERNAL_SERVER_ERROR,
                    rate_headers,
                    "upstream exploded",
                )
                    .into_response());
            }
            FaultKind::Malformed => {
                return Err((
                    StatusCode::OK,
                    rate_headers,
                    "<html>definitely not json</html>",
                )
                    .into_response());
            }
            FaultKind::Truncated => {
                return Err(
                    (StatusCode::OK, rate_headers, "[{\"id\": 1, \"name\": \"cut").into_response(),
                );
            }
            FaultKind::Slow => {
                tokio::time::sleep(std::time::Duration::from_millis(fault.delay_ms)).await
            }
            FaultKind::Revoke | FaultKind::BadRecord => {}
        }
    }
    match scope {
        Some(scope) => Ok((scope, rate_headers, bad_record)),
        None => Err((
            StatusCode::UNAUTHORIZED,
            rate_headers,
            axum::Json(json!({"message": "Authorization Error", "errors": [{"resource": "Athlete", "field": "access_token", "code": "invalid"}]})),
        )
            .into_response()),
    }
}

async fn athlete(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match gate(&s, &headers).await {
        Ok((_, rate, _)) => (rate, axum::Json(athlete_summary())).into_response(),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
struct ListQuery {
    before: Option<i64>,
    after: Option<i64>,
    page: Option<usize>,
    per_page: Option<usize>,
}

async fn activities(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    let (scope, rate, bad_record) = match gate(&s, &headers).await {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    if !scope
        .split(',')
        .any(|s| s == "activity:read" || s == "activity:read_all")
    {
        let body = json!({"message": "Authorization Error", "errors": [{"resource": "AccessToken", "field": "activity:read_permission", "code": "missing"}]});
        return (StatusCode::UNAUTHORIZED, rate, axum::Json(body)).into_response();
    }
    let per_page = q.per_page.unwrap_or(30).clamp(1, 200);
    let page = q.page.unwrap_or(1).max(1);
    let world = s.world();
    let mut selected: Vec<_> = world
        .workouts
        .iter()
        .filter(|w| q.before.is_none_or(|b| w.start.timestamp() < b))
        .filter(|w| q.after.is_none_or(|a| w.start.timestamp() > a))
        .collect();
    // Newest first, except that `after` alone returns oldest first (as reported for Strava).
    if !(q.after.is_some() && q.before.is_none()) {
        selected.reverse();
    }
    let mut body: Vec<Value> = selected
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|w| strava_json(w, world.edits(w.index)))
        .collect();
    if bad_record {
        body.push(json!({"id": 1, "name": "corrupt upload", "start_date": "yesterday", "distance": 5000.0}));
    }
    (rate, axum::Json(body)).into_response()
}
