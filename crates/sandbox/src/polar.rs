//! Polar AccessLink's twins. v4 (new connections) is in `polar_v4`, under the same prefix.
//!
//! v3's twin: authorize page, token endpoint with Basic client authentication, the
//! authorize request's `redirect_uri` repeated exactly (RFC 6749 4.1.3), and single-use codes
//! whose reuse revokes the tokens they produced, long-lived tokens without refresh,
//! the mandatory registration (`POST /v3/users`: 200, then 409), de-registration, and
//! `/v3/exercises` with the last 30 days' exercises uploaded after the user registered, in
//! Polar's format, and `RateLimit-*` headers.

use crate::api::Gated;
use crate::generate::{SplitMix64, Sport, Workout};
use crate::state::{Pkce, Redemption, Refusal, Shared};
use crate::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// The sandbox user's Polar id.
pub const USER_ID: i64 = 2_718_281;
const PROVIDER: &str = "polar";

/// This twin in the sandbox's list.
pub(crate) const TWIN: crate::Twin = crate::Twin {
    key: PROVIDER,
    router,
    auth: "oauth2/authorization",
    token: "oauth2/token",
    api: "",
    truth,
    extra_vars: &[
        crate::polar_v4::VARS[0],
        crate::polar_v4::VARS[1],
        crate::polar_v4::VARS[2],
    ],
    defaults: &[],
};

/// What a complete listing returns at the door the athlete is connected through: v4's while a
/// v4 grant lives, else v3's.
fn truth(world: &crate::state::World) -> Vec<(String, usize)> {
    if crate::polar_v4::connected(world) {
        return crate::polar_v4::truth(world);
    }
    listed(world)
        .map(|w| (exercise_id(w.index), w.index))
        .collect()
}

/// What AccessLink lists for the user: exercises of the last 30 days uploaded after the user
/// registered with the partner [doc: "only data uploaded after registration"]; nothing for a user
/// not registered.
fn listed(world: &crate::state::World) -> impl Iterator<Item = &Workout> {
    let since = Utc::now() - Duration::days(30);
    let registered = world.registered_at(&USER_ID.to_string());
    world.visible().filter(move |w| {
        w.start >= since && registered.is_some_and(|at| world.uploaded_at(w) >= at)
    })
}

/// The redirect URIs the demo client registered (see `api::Redirects`).
const REDIRECTS: crate::api::Redirects = crate::api::Redirects::Registered(&[
    "tributary://oauth/polar/callback",
    "http://localhost:47613/callback",
]);

fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/oauth2/authorization", get(authorize))
        .route("/oauth2/approve", get(approve))
        .route("/oauth2/token", post(token))
        .route("/v3/users", post(register))
        .route("/v3/users/{id}", get(user).delete(deregister))
        .route("/v3/exercises", get(exercises))
        .route("/v3/exercises/{id}/{format}", get(exercise_file))
        .merge(crate::polar_v4::router())
}

fn oauth_error(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"error": error}))).into_response()
}

async fn authorize(Query(q): Query<HashMap<String, String>>) -> Response {
    if q.get("client_id").map(String::as_str) != Some(DEMO_CLIENT_ID)
        || q.get("response_type").map(String::as_str) != Some("code")
    {
        return oauth_error("invalid_request");
    }
    crate::api::consent_page("Polar Flow", REDIRECTS, &q, None)
}

async fn approve(
    State(s): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    crate::api::approve(&s, PROVIDER, REDIRECTS, &q, false)
        .unwrap_or_else(|| oauth_error("invalid_request"))
}

/// `Authorization: Basic base64(id:secret)` decoded, or nothing.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let encoded = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let (id, secret) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

async fn token(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if let Some(fault) = crate::api::token_fault(&s, PROVIDER).await {
        return fault;
    }
    match basic_credentials(&headers) {
        Some((id, secret)) if id == DEMO_CLIENT_ID && secret == DEMO_CLIENT_SECRET => {}
        _ => {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"error": "invalid_client"})),
            )
                .into_response();
        }
    }
    if f.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return oauth_error("unsupported_grant_type");
    }
    let code = f.get("code").cloned().unwrap_or_default();
    let mut world = s.world();
    // The authorize request always names its redirect URI here, so the code exchange must repeat
    // it, identical (RFC 6749 4.1.3).
    let rules = Redemption {
        pkce: Pkce::Ignored,
        redirect_uri_required: true,
    };
    let grant = match world.redeem(PROVIDER, &f, rules) {
        Ok(grant) => grant,
        Err(Refusal::Unknown) => {
            // Reusing a code deletes every token already issued for it.
            if let Some(issued) = world.spend_code(&code, None) {
                world.retire(&issued);
                s.save(&world);
            }
            return oauth_error("invalid_grant");
        }
        Err(Refusal::Invalid) => return oauth_error("invalid_grant"),
    };
    let (access, issued) = world.issue(PROVIDER, &grant.scope, Duration::days(365));
    world.spend_code(&code, Some(&access));
    s.save(&world);
    axum::Json(json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": (issued.expires_at - Utc::now().timestamp()).max(0),
        "x_user_id": USER_ID,
    }))
    .into_response()
}

pub(crate) fn rate_headers(limits: (u32, u32), used: (u32, u32), spent: bool) -> HeaderMap {
    let mut rate = HeaderMap::new();
    let usage = if spent { limits } else { used };
    let now = Utc::now();
    let to_quarter = 900 - (now.timestamp() % 900);
    let to_day = 86_400 - (now.timestamp() % 86_400);
    for (name, value) in [
        ("ratelimit-usage", format!("{},{}", usage.0, usage.1)),
        ("ratelimit-limit", format!("{},{}", limits.0, limits.1)),
        ("ratelimit-reset", format!("{to_quarter},{to_day}")),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            rate.insert(name, v);
        }
    }
    rate
}

async fn gate(s: &Shared, headers: &HeaderMap) -> Result<Gated, Response> {
    let gated = crate::api::gate(
        s,
        headers,
        PROVIDER,
        rate_headers,
        || json!({"error": "rate limit exceeded"}),
        || json!({"error": "unauthorized"}),
    )
    .await?;
    // A v4 token is no v3 token [3P].
    if crate::polar_v4::is_v4_token(&s.world(), headers) {
        return Err((
            StatusCode::UNAUTHORIZED,
            gated.rate,
            axum::Json(json!({"error": "unauthorized"})),
        )
            .into_response());
    }
    Ok(gated)
}

async fn register(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    let g = match gate(&s, &headers).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    if body
        .get("member-id")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return (
            StatusCode::BAD_REQUEST,
            g.rate,
            axum::Json(json!({"error": "member-id is required"})),
        )
            .into_response();
    }
    let mut world = s.world();
    let fresh = world.register(&USER_ID.to_string());
    s.save(&world);
    if !fresh {
        return (
            StatusCode::CONFLICT,
            g.rate,
            axum::Json(json!({"error": "user already registered"})),
        )
            .into_response();
    }
    (g.rate, axum::Json(user_json())).into_response()
}

fn user_json() -> Value {
    json!({
        "polar-user-id": USER_ID, "member-id": format!("tributary-{USER_ID}"),
        "registration-date": "2026-11-01T10:00:00.000Z", "first-name": "Pola", "last-name": "Sandbox",
        "birthdate": "1990-04-01", "gender": "FEMALE", "weight": 58.0, "height": 168.0, "extra-info": []
    })
}

async fn user(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match gate(&s, &headers).await {
        Ok(g) if id == USER_ID.to_string() => (g.rate, axum::Json(user_json())).into_response(),
        Ok(g) => (StatusCode::NOT_FOUND, g.rate).into_response(),
        Err(r) => r,
    }
}

async fn deregister(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match gate(&s, &headers).await {
        Ok(g) => {
            let mut world = s.world();
            if !world.deregister(&id) {
                return (StatusCode::NOT_FOUND, g.rate).into_response();
            }
            world.revoke_all(PROVIDER);
            s.save(&world);
            (StatusCode::NO_CONTENT, g.rate).into_response()
        }
        Err(r) => r,
    }
}

async fn exercises(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let Gated {
        rate, bad_record, ..
    } = match gate(&s, &headers).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let world = s.world();
    if !world.is_registered(&USER_ID.to_string()) {
        return (
            StatusCode::FORBIDDEN,
            rate,
            axum::Json(json!({"error": "user not registered"})),
        )
            .into_response();
    }
    let mut body: Vec<Value> = listed(&world)
        .map(|w| render(w, world.edits(w.index), world.uploaded_at(w)))
        .collect();
    if bad_record {
        body.push(
            json!({"id": "broken", "start_time": "2026-10-30T08:30:00Z", "duration": "PT1H"}),
        );
    }
    (rate, axum::Json(body)).into_response()
}

/// Polar's hashed-looking id for a workout: stable, not guessable from the index at a glance.
/// `/v3/exercises/{id}/fit` (the twin's exercises all have one; `tcx` and `gpx` answer 404).
async fn exercise_file(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    axum::extract::Path((id, format)): axum::extract::Path<(String, String)>,
) -> Response {
    let Gated { rate, .. } = match gate(&s, &headers).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let mut world = s.world();
    *world.calls.entry("polar_files".to_owned()).or_default() += 1;
    let found = world.visible().find(|w| exercise_id(w.index) == id);
    match (found, format.as_str()) {
        (Some(w), "fit") => (
            rate,
            [(axum::http::header::CONTENT_TYPE, "application/octet-stream")],
            crate::recording::fit(w),
        )
            .into_response(),
        _ => (StatusCode::NOT_FOUND, rate).into_response(),
    }
}

fn exercise_id(index: usize) -> String {
    let mut rng = SplitMix64(index as u64 ^ 0x5EED);
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    (0..8)
        .map(|_| ALPHABET[(rng.next_u64() % ALPHABET.len() as u64) as usize] as char)
        .collect()
}

fn iso_duration(seconds: i64) -> String {
    let (h, m, s) = (seconds / 3600, (seconds % 3600) / 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("PT{s}S"),
        (0, _) => format!("PT{m}M{s}S"),
        _ => format!("PT{h}H{m}M{s}S"),
    }
}

/// A workout as a Polar AccessLink exercise: local start time plus an offset in minutes, ISO-8601
/// duration, whole-metre distance, mixed snake/kebab keys, and a start a few seconds off the
/// other copies (a watch and a phone rarely agree to the second).
pub fn render(w: &Workout, edit: u32, uploaded: chrono::DateTime<Utc>) -> Value {
    let start = w.start + Duration::seconds((w.index % 7) as i64);
    let local = start + Duration::seconds(i64::from(w.utc_offset));
    let (sport, detail) = match w.sport {
        Sport::Run => ("RUNNING", "RUNNING_ROAD"),
        Sport::TrailRun => ("RUNNING", "TRAIL_RUNNING"),
        Sport::Ride => ("CYCLING", "ROAD_BIKING"),
        Sport::VirtualRide => ("CYCLING", "INDOOR_CYCLING"),
        Sport::Swim => ("SWIMMING", "SWIMMING"),
        Sport::Hike => ("HIKING", "HIKING"),
        Sport::Strength => ("STRENGTH_TRAINING", "STRENGTH_TRAINING"),
    };
    json!({
        "id": exercise_id(w.index),
        "upload_time": uploaded.format("%Y-%m-%dT%H:%M:%S.000Z").to_string(),
        "polar_user": format!("https://www.polaraccesslink.com/v3/users/{USER_ID}"),
        "device": if edit > 0 { "Polar Vantage V3 (edited)" } else { "Polar Vantage V3" },
        "device_id": "1111AAAA",
        "start_time": local.format("%Y-%m-%dT%H:%M:%S").to_string(),
        "start_time_utc_offset": w.utc_offset / 60,
        "duration": iso_duration(w.elapsed),
        "calories": (w.moving as f64 * 0.18).round() as i64,
        "distance": w.distance.round(),
        "heart_rate": w.heart_rate.map(|(avg, max)| json!({"average": avg, "maximum": max})),
        "training_load": 80.5,
        "sport": sport,
        "has_route": w.sport.travels(),
        "detailed_sport_info": detail,
        "fat_percentage": 38,
        "carbohydrate_percentage": 55,
        "protein_percentage": 7,
        "running-index": if sport == "RUNNING" { Some(51) } else { None },
    })
}
