//! Strava's twin: authorize page, token endpoint with Strava's rules (secret required, 6 h tokens,
//! single-use codes, refresh that returns the same token while it has over an hour left and
//! otherwise rotates and retires the old one), deauthorize, `/athlete`, and
//! `/athlete/activities` with Strava's fields, units, `before`/`after`/`page`/`per_page` paging,
//! rate-limit headers and 429s.

use crate::api::Gated;
use crate::generate::{Sport, Workout, offset_label};
use crate::state::{Pkce, Redemption, Shared};
use crate::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
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

/// This twin in the sandbox's list.
pub(crate) const TWIN: crate::Twin = crate::Twin {
    key: PROVIDER,
    router,
    auth: "oauth/authorize",
    token: "oauth/token",
    api: "api/v3",
    truth,
    extra_vars: &[],
    defaults: &[],
};

fn truth(world: &crate::state::World) -> Vec<(String, usize)> {
    world
        .visible()
        .map(|w| ((FIRST_ID + w.index as i64).to_string(), w.index))
        .collect()
}

/// The redirect URIs the demo client registered (see `api::Redirects`).
const REDIRECTS: crate::api::Redirects = crate::api::Redirects::CallbackDomain("localhost");

fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/oauth/authorize", get(authorize))
        .route("/oauth/approve", get(approve))
        .route("/oauth/token", post(token))
        .route("/oauth/deauthorize", post(deauthorize))
        .route("/oauth/revoke", post(revoke))
        .route("/api/v3/athlete", get(athlete))
        .route("/api/v3/athlete/activities", get(activities))
        .route("/api/v3/activities/{id}/streams", get(streams))
        .route("/api/v3/activities/{id}/laps", get(laps))
}

fn error(status: StatusCode, resource: &str, field: &str, code: &str, message: &str) -> Response {
    let body = json!({"message": message, "errors": [{"resource": resource, "field": field, "code": code}]});
    (status, axum::Json(body)).into_response()
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
    crate::api::consent_page(
        "Strava",
        REDIRECTS,
        &q,
        Some(("read", "Authorize without activity access")),
    )
}

async fn approve(
    State(s): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    // Strava reports the scopes actually granted in the redirect.
    crate::api::approve(&s, PROVIDER, REDIRECTS, &q, true).unwrap_or_else(|| {
        error(
            StatusCode::BAD_REQUEST,
            "Application",
            "redirect_uri",
            "invalid",
            "Bad Request",
        )
    })
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
    if let Some(fault) = crate::api::token_fault(&s, PROVIDER).await {
        return fault;
    }
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
            // Single use: the code is gone whether or not the rest succeeds.
            let rules = Redemption {
                pkce: Pkce::Ignored,
                redirect_uri_required: false,
            };
            let Ok(grant) = world.redeem(PROVIDER, &f, rules) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "AuthorizationCode",
                    "code",
                    "invalid",
                    "Bad Request",
                );
            };
            if grant.client_id != DEMO_CLIENT_ID {
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

/// `POST /oauth/revoke` (since 2026-06-01): HTTP Basic client authentication, one `token`
/// (access or refresh; `token_type_hint` optional); revoking either revokes its pair, and only
/// its pair. 200 for a token already dead too (RFC 7009).
async fn revoke(
    State(s): State<Arc<Shared>>,
    headers: axum::http::HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let client = crate::polar::basic_credentials(&headers);
    if client != Some((DEMO_CLIENT_ID.to_owned(), DEMO_CLIENT_SECRET.to_owned())) {
        return error(
            StatusCode::UNAUTHORIZED,
            "Application",
            "client_id",
            "invalid",
            "Authorization Error",
        );
    }
    let Some(token) = f.get("token").filter(|t| !t.is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "Token",
            "token",
            "missing",
            "Bad Request",
        );
    };
    let mut world = s.world();
    // Counted apart from the API calls, so that a test can tell which door a client used.
    *world
        .calls
        .entry("strava_oauth_revoke".to_owned())
        .or_default() += 1;
    let access = match world.access_for(token, PROVIDER) {
        Some(_) => Some(token.clone()),
        None => world.by_refresh(token).map(|(access, _)| access),
    };
    if let Some(access) = access {
        world.retire(&access);
        s.save(&world);
    }
    axum::Json(json!({})).into_response()
}

async fn deauthorize(
    State(s): State<Arc<Shared>>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let mut world = s.world();
    *world
        .calls
        .entry("strava_oauth_deauthorize".to_owned())
        .or_default() += 1;
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

/// Strava's rate-limit headers ("15min,daily" pairs; the overall bucket twice the read one).
fn rate_headers(limits: (u32, u32), used: (u32, u32), spent: bool) -> HeaderMap {
    let mut rate = HeaderMap::new();
    // A 429 from the 15-minute window shows that window spent; the day's usage is what it is.
    let usage = if spent { (limits.0, used.1) } else { used };
    for (name, value) in [
        (
            "x-ratelimit-limit",
            format!("{},{}", limits.0 * 2, limits.1 * 2),
        ),
        ("x-ratelimit-usage", format!("{},{}", used.0, used.1)),
        (
            "x-readratelimit-limit",
            format!("{},{}", limits.0, limits.1),
        ),
        ("x-readratelimit-usage", format!("{},{}", usage.0, usage.1)),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            rate.insert(name, v);
        }
    }
    rate
}

async fn gate(s: &Shared, headers: &HeaderMap) -> Result<Gated, Response> {
    // An application whose owner has no subscription: every API call, whatever the token.
    if s.world().app_inactive(PROVIDER) {
        let body = json!({"message": "Forbidden", "errors": [{"resource": "Application", "field": "Status", "code": "Inactive"}]});
        return Err((StatusCode::FORBIDDEN, axum::Json(body)).into_response());
    }
    let rate_limited = || json!({"message": "Rate Limit Exceeded", "errors": [{"resource": "Application", "field": "rate limit", "code": "exceeded"}]});
    let unauthorized = || json!({"message": "Authorization Error", "errors": [{"resource": "Athlete", "field": "access_token", "code": "invalid"}]});
    crate::api::gate(
        s,
        headers,
        PROVIDER,
        rate_headers,
        rate_limited,
        unauthorized,
    )
    .await
}

async fn athlete(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match gate(&s, &headers).await {
        Ok(g) => (g.rate, axum::Json(athlete_summary())).into_response(),
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
    let Gated {
        scope,
        rate,
        bad_record,
        garbage_record,
    } = match gate(&s, &headers).await {
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
    // Strava filters and orders by the start it shows (a hidden start's midnight included), so
    // a client paging on `start_date` sees one consistent order.
    let mut selected: Vec<_> = world
        .visible()
        .filter(|w| q.before.is_none_or(|b| shown_start(w).timestamp() < b))
        .filter(|w| q.after.is_none_or(|a| shown_start(w).timestamp() > a))
        .collect();
    selected.sort_by_key(|w| (shown_start(w), w.index));
    // Newest first, except that `after` alone returns oldest first (as reported for Strava).
    if !(q.after.is_some() && q.before.is_none()) {
        selected.reverse();
    }
    let mut body: Vec<Value> = selected
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|w| render(w, world.edits(w.index)))
        .collect();
    if bad_record {
        body.push(json!({"id": 1, "name": "corrupt upload", "start_date": "yesterday", "distance": 5000.0}));
    }
    if garbage_record {
        let text = crate::api::with_garbage_record(&serde_json::Value::Array(body).to_string());
        let json = [(axum::http::header::CONTENT_TYPE, "application/json")];
        return (rate, json, text).into_response();
    }
    (rate, axum::Json(body)).into_response()
}

/// `/activities/{id}/streams?keys=…&key_by_type=true`: the workout's samples by type (one read).
async fn streams(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    of_activity(
        &s,
        &headers,
        &id,
        "strava_streams",
        crate::recording::strava_streams,
    )
    .await
}

/// `/activities/{id}/laps`: the workout's laps (one read).
async fn laps(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    of_activity(
        &s,
        &headers,
        &id,
        "strava_laps",
        crate::recording::strava_laps,
    )
    .await
}

/// A read of one activity's detail (its streams, its laps): gated like every call, counted as
/// `counter`, answered with `render`'s JSON, or Strava's 404 for an id it does not list.
async fn of_activity(
    s: &Shared,
    headers: &HeaderMap,
    id: &str,
    counter: &str,
    render: fn(&Workout) -> Value,
) -> Response {
    let Gated { rate, .. } = match gate(s, headers).await {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let mut world = s.world();
    *world.calls.entry(counter.to_owned()).or_default() += 1;
    let found = id
        .parse::<i64>()
        .ok()
        .and_then(|id| usize::try_from(id - FIRST_ID).ok())
        .and_then(|i| world.visible().find(|w| w.index == i));
    match found {
        Some(w) => (rate, axum::Json(render(w))).into_response(),
        None => {
            let body = json!({"message": "Record Not Found", "errors": [{"resource": "Activity", "field": "id", "code": "invalid"}]});
            (StatusCode::NOT_FOUND, rate, axum::Json(body)).into_response()
        }
    }
}

/// Whether the athlete hid workout `index`'s start time (one in 23): the quirk that defeats
/// start-time matching across providers.
pub fn hides_start(index: usize) -> bool {
    index % 23 == 11
}

/// First activity id handed out; above i32::MAX like real Strava ids.
pub const FIRST_ID: i64 = 12_000_000_000;

/// The start Strava shows: local midnight plus one second (in UTC) when the athlete hid the
/// start time; else the real one.
fn shown_start(w: &Workout) -> chrono::DateTime<Utc> {
    if !hides_start(w.index) {
        return w.start;
    }
    let offset = Duration::seconds(i64::from(w.utc_offset));
    (w.start + offset)
        .date_naive()
        .and_hms_opt(0, 0, 1)
        .map_or(w.start, |t| t.and_utc() - offset)
}

/// A workout as a Strava `SummaryActivity`.
pub fn render(w: &Workout, edit: u32) -> Value {
    let start = shown_start(w);
    let local = start + Duration::seconds(i64::from(w.utc_offset));
    let mut name = w.name.clone();
    if edit > 0 {
        name = format!("{name} (edited {edit}x)");
    }
    let sport_type = match w.sport {
        Sport::Run => "Run",
        Sport::TrailRun => "TrailRun",
        Sport::Ride => "Ride",
        Sport::VirtualRide => "VirtualRide",
        Sport::Swim => "Swim",
        Sport::Hike => "Hike",
        Sport::Strength => "WeightTraining",
    };
    json!({
        "resource_state": 2,
        "athlete": {"id": ATHLETE_ID, "resource_state": 1},
        "id": FIRST_ID + w.index as i64,
        "name": name,
        "sport_type": sport_type,
        "type": if w.sport == Sport::TrailRun { "Run" } else { sport_type },
        "start_date": start.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        // Strava writes local wall time with a misleading "Z".
        "start_date_local": local.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "timezone": format!("(GMT{}) {}", offset_label(w.utc_offset), w.zone),
        "utc_offset": f64::from(w.utc_offset),
        "elapsed_time": w.elapsed,
        "moving_time": w.moving,
        "distance": w.distance,
        "total_elevation_gain": w.elevation,
        "has_heartrate": w.heart_rate.is_some(),
        "average_heartrate": w.heart_rate.map(|h| h.0),
        "max_heartrate": w.heart_rate.map(|h| h.1),
        "average_watts": w.power.map(|p| p.0),
        "max_watts": w.power.map(|p| p.1),
        "device_watts": w.power.is_some(),
        "kilojoules": w.power.map(|p| (p.0 * w.moving as f64 / 1000.0).round()),
        "trainer": w.sport == Sport::VirtualRide,
        "commute": false,
        "manual": false,
        "private": false,
        "device_name": w.device,
        "upload_id": 9_000_000_000_i64 + w.index as i64,
        "external_id": format!("{}.fit", FIRST_ID + w.index as i64),
    })
}
