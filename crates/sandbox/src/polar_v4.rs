//! Polar AccessLink v4's twin, under `/polar`, as strict as the reference (facts and tags in the
//! core's adapter, `providers/polar/v4.rs`):
//! - `auth/oauth/authorize` needs a `scope`; `auth/oauth/token` needs HTTP Basic client
//!   authentication for the code and the refresh; a code is single use; `redirect_uri` must
//!   repeat the authorize request's exactly when it was sent; the answer has `expires_in`
//!   43,199, a refresh token, `scope` and `jti`, and no user id; refresh tokens rotate.
//! - `v4/data/training-sessions/list?from&to[&features=…]`: local date-times without a zone
//!   (a date alone or a zone answers 400 as Polar does), `to` exclusive and after `from`, at most
//!   90 days, one day with any feature, known features only; `{"trainingSessions": [...]}` or
//!   204; every visible workout of the whole history (no 30-day window, no registration).
//! - `v4/data/user/account-data` and `v4/data/sports/list`.
//! - A v4 token is refused by v3's endpoints and a v3 token by v4's (a grant's scopes tell
//!   them apart), as Polar does [3P].
//! - No revoke endpoint.

use crate::api::Gated;
use crate::generate::{Sport, Workout};
use crate::state::{Pkce, Redemption, Refusal, Shared};
use crate::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{Duration, NaiveDateTime, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// The key grants, calls and faults are kept under: Polar's, for both doors (the tests' faults
/// reach whichever door is connected); a grant's scopes tell the doors apart.
pub const KEY: &str = "polar";
/// The scope every v4 grant has and no v3 grant has.
pub const V4_SCOPE: &str = "training_sessions:read";

/// Whether the bearer token in `headers` is a live v4 grant (v3's endpoints refuse it with 401,
/// and v4's refuse v3's, as Polar does [3P]).
pub(crate) fn is_v4_token(world: &crate::state::World, headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .and_then(|t| world.access_for(t, KEY))
        .is_some_and(|g| g.scope.split(' ').any(|s| s == V4_SCOPE))
}
/// Access tokens' life by the reference (live answers have shown an hour [3P]).
const TOKEN_LIFE_S: i64 = 43_199;
const LOCAL: &str = "%Y-%m-%dT%H:%M:%S";
const FEATURES: [&str; 10] = [
    "samples",
    "laps",
    "routes",
    "zones",
    "statistics",
    "pause-times",
    "training-load-report",
    "hill-splits",
    "test-results",
    "physical-info",
];
/// The scopes v4 knows (a few of them).
const SCOPES: [&str; 6] = [
    "training_sessions:read",
    "sports:read",
    "profile:read",
    "sleep:read",
    "nightly_recharge:read",
    "activity:read",
];

/// The configuration variables (suffix, path under the Polar prefix).
pub(crate) const VARS: [(&str, &str); 3] = [
    ("V4_AUTH_URL", "auth/oauth/authorize"),
    ("V4_TOKEN_URL", "auth/oauth/token"),
    ("V4_API_URL", ""),
];

/// The redirect URIs the demo client registered: the same as v3's.
const REDIRECTS: crate::api::Redirects = crate::api::Redirects::Registered(&[
    "tributary://oauth/polar/callback",
    "http://localhost:47613/callback",
]);

/// The routes, nested under the Polar twin's prefix.
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/auth/oauth/authorize", get(authorize))
        .route("/auth/oauth/approve", get(approve))
        .route("/auth/oauth/token", post(token))
        .route("/v4/data/training-sessions/list", get(list))
        .route("/v4/data/user/account-data", get(account))
        .route("/v4/data/sports/list", get(sports))
}

/// Whether a v4 grant lives (the twin's truth is then v4's).
pub(crate) fn connected(world: &crate::state::World) -> bool {
    world
        .live_grants(KEY)
        .any(|g| g.scope.split(' ').any(|s| s == V4_SCOPE))
}

/// What a complete v4 listing returns: every visible workout, by its session id.
pub(crate) fn truth(world: &crate::state::World) -> Vec<(String, usize)> {
    world
        .visible()
        .map(|w| (session_id(w.index), w.index))
        .collect()
}

fn error(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

async fn authorize(Query(q): Query<HashMap<String, String>>) -> Response {
    let scopes_known = q
        .get("scope")
        .is_some_and(|s| !s.trim().is_empty() && s.split(' ').all(|one| SCOPES.contains(&one)));
    if q.get("client_id").map(String::as_str) != Some(DEMO_CLIENT_ID)
        || q.get("response_type").map(String::as_str) != Some("code")
        || !scopes_known
    {
        return error(StatusCode::BAD_REQUEST, json!({"error": "invalid_request"}));
    }
    crate::api::consent_page("Polar (AccessLink v4)", REDIRECTS, &q, None)
}

async fn approve(
    State(s): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    crate::api::approve(&s, KEY, REDIRECTS, &q, false)
        .unwrap_or_else(|| error(StatusCode::BAD_REQUEST, json!({"error": "invalid_request"})))
}

async fn token(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if let Some(fault) = crate::api::token_fault(&s, "polar").await {
        return fault;
    }
    // Basic client authentication, for the code and the refresh alike; none in the body.
    match crate::polar::basic_credentials(&headers) {
        Some((id, secret)) if id == DEMO_CLIENT_ID && secret == DEMO_CLIENT_SECRET => {}
        _ => return error(StatusCode::UNAUTHORIZED, json!({"error": "invalid_client"})),
    }
    let mut world = s.world();
    let (access, grant) = match f.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let code = f.get("code").cloned().unwrap_or_default();
            let rules = Redemption {
                pkce: Pkce::Ignored,
                redirect_uri_required: true,
            };
            match world.redeem(KEY, &f, rules) {
                // A code of v3's authorize page is no code here.
                Ok(grant) if !grant.scope.split(' ').any(|s| s == V4_SCOPE) => {
                    return error(StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}));
                }
                Ok(grant) => {
                    let (access, issued) =
                        world.issue(KEY, &grant.scope, Duration::seconds(TOKEN_LIFE_S));
                    world.spend_code(&code, Some(&access));
                    (access, issued)
                }
                Err(Refusal::Unknown) => {
                    // A reused code: refused, and what it produced is retired.
                    if let Some(issued) = world.spend_code(&code, None) {
                        world.retire(&issued);
                        s.save(&world);
                    }
                    return error(StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}));
                }
                Err(Refusal::Invalid) => {
                    return error(StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}));
                }
            }
        }
        Some("refresh_token") => {
            let refresh = f.get("refresh_token").cloned().unwrap_or_default();
            match world.rotate(&refresh, Duration::seconds(TOKEN_LIFE_S)) {
                Some(pair) if pair.1.scope.split(' ').any(|s| s == V4_SCOPE) => pair,
                _ => return error(StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"})),
            }
        }
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                json!({"error": "unsupported_grant_type"}),
            );
        }
    };
    let jti = world.new_token("jti");
    s.save(&world);
    axum::Json(json!({
        "access_token": access,
        "token_type": "bearer",
        "refresh_token": grant.refresh_token,
        "expires_in": (grant.expires_at - Utc::now().timestamp()).max(0),
        "scope": grant.scope,
        "jti": jti,
    }))
    .into_response()
}

async fn gate(s: &Shared, headers: &HeaderMap) -> Result<Gated, Response> {
    let gated = crate::api::gate(
        s,
        headers,
        KEY,
        crate::polar::rate_headers,
        || json!({"errorMessage": "Rate limit exceeded"}),
        || json!({"errorMessage": "Unauthorized"}),
    )
    .await?;
    if !is_v4_token(&s.world(), headers) {
        return Err((
            StatusCode::UNAUTHORIZED,
            gated.rate,
            axum::Json(json!({"errorMessage": "Unauthorized"})),
        )
            .into_response());
    }
    Ok(gated)
}

fn refuse(rate: HeaderMap, message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        rate,
        axum::Json(json!({"error": message})),
    )
        .into_response()
}

/// The list's rules, checked as Polar checks them: `Err` is the 400's message.
fn window(q: &[(String, String)]) -> Result<(NaiveDateTime, NaiveDateTime, Vec<String>), String> {
    let one = |key: &str| -> Result<NaiveDateTime, String> {
        let value = q
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| format!("Missing required parameter '{key}'"))?;
        NaiveDateTime::parse_from_str(value, LOCAL)
            .map_err(|_| format!("Value for key '{key}' could not be parsed as datetime"))
    };
    let (from, to) = (one("from")?, one("to")?);
    let features: Vec<String> = q
        .iter()
        .filter(|(k, _)| k == "features")
        .map(|(_, v)| v.clone())
        .collect();
    if let Some(unknown) = features.iter().find(|f| !FEATURES.contains(&f.as_str())) {
        return Err(format!("Unknown feature '{unknown}'"));
    }
    if to <= from {
        return Err("'to' must be after 'from'".to_owned());
    }
    let longest = if features.is_empty() {
        Duration::days(90)
    } else {
        Duration::days(1)
    };
    if to - from > longest {
        return Err(format!(
            "The range may be at most {} day(s){}",
            longest.num_days(),
            if features.is_empty() {
                ""
            } else {
                " when features are requested"
            }
        ));
    }
    Ok((from, to, features))
}

async fn list(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Response {
    let Gated {
        rate, bad_record, ..
    } = match gate(&s, &headers).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let q: Vec<(String, String)> = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let (from, to, features) = match window(&q) {
        Ok(w) => w,
        Err(message) => return refuse(rate, message),
    };
    let world = s.world();
    let with = |f: &str| features.iter().any(|x| x == f);
    let mut sessions: Vec<Value> = world
        .visible()
        .filter(|w| {
            let local = local_start(w);
            local >= from && local < to
        })
        .map(|w| {
            render(
                w,
                world.edits(w.index),
                (with("samples"), with("laps"), with("routes")),
            )
        })
        .collect();
    if bad_record && !sessions.is_empty() {
        sessions.push(json!({"identifier": {"id": "broken"}, "startTime": "tomorrow"}));
    }
    if sessions.is_empty() {
        return (StatusCode::NO_CONTENT, rate).into_response();
    }
    (rate, axum::Json(json!({ "trainingSessions": sessions }))).into_response()
}

async fn account(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match gate(&s, &headers).await {
        Ok(g) => (
            g.rate,
            axum::Json(json!({"accountData": {
                "basicInfo": {"firstName": "Pola", "lastName": "Sandbox", "gender": "FEMALE"},
                "localizationSettings": {"timezoneOffsetMinutes": 120}
            }})),
        )
            .into_response(),
        Err(r) => r,
    }
}

/// The sports the twin's workouts use, as `/v4/data/sports/list` names them.
const CATALOGUE: [(&str, &str); 7] = [
    ("1", "RUNNING"),
    ("2", "CYCLING"),
    ("27", "TRAIL_RUNNING"),
    ("18", "INDOOR_CYCLING"),
    ("103", "SWIMMING"),
    ("16", "HIKING"),
    ("15", "STRENGTH_TRAINING"),
];

async fn sports(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match gate(&s, &headers).await {
        Ok(g) => (
            g.rate,
            axum::Json(Value::Array(
                CATALOGUE
                    .iter()
                    .map(|(id, name)| json!({"id": {"id": id}, "name": name}))
                    .collect(),
            )),
        )
            .into_response(),
        Err(r) => r,
    }
}

/// v4's session id for a workout: UUID-shaped, unrelated to v3's exercise id.
pub fn session_id(index: usize) -> String {
    let mut rng = crate::generate::SplitMix64(index as u64 ^ 0x0A11_4B1D);
    let (a, b) = (rng.next_u64(), rng.next_u64());
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

/// The session's local start: the same instant v3 lists (a few seconds off the other
/// providers' copies), in the workout's local time.
fn local_start(w: &Workout) -> NaiveDateTime {
    let start = w.start + Duration::seconds((w.index % 7) as i64);
    (start + Duration::seconds(i64::from(w.utc_offset))).naive_utc()
}

fn sport_id(sport: Sport) -> &'static str {
    match sport {
        Sport::Run => "1",
        Sport::Ride => "2",
        Sport::TrailRun => "27",
        Sport::VirtualRide => "18",
        Sport::Swim => "103",
        Sport::Hike => "16",
        Sport::Strength => "15",
    }
}

/// A workout as a v4 training session; `durationMillis` alternates between a number and a
/// string (proto3 JSON writes int64 as either).
pub fn render(w: &Workout, edit: u32, (samples, laps, routes): (bool, bool, bool)) -> Value {
    let local = local_start(w);
    let start = local.format(LOCAL).to_string();
    let stop = (local + Duration::seconds(w.elapsed))
        .format(LOCAL)
        .to_string();
    let millis = w.elapsed * 1000;
    let duration = if w.index.is_multiple_of(2) {
        json!(millis)
    } else {
        json!(millis.to_string())
    };
    let mut exercise = json!({
        "identifier": {"id": format!("{}-1", session_id(w.index))},
        "startTime": start,
        "stopTime": stop,
        "timezoneOffsetMinutes": w.utc_offset / 60,
        "durationMillis": duration,
        "distanceMeters": w.distance.round(),
        "sport": {"id": sport_id(w.sport)},
        "ascentMeters": w.elevation.round(),
    });
    if samples || laps || routes {
        let track = crate::recording::samples(w);
        if samples {
            let column = |f: &dyn Fn(&crate::recording::Sample) -> Option<f64>| -> Vec<Value> {
                track
                    .iter()
                    .map(|s| f(s).map_or(json!("NaN"), |v| json!(v)))
                    .collect()
            };
            let mut series = vec![
                json!({"type": "SPEED", "intervalMillis": 1000, "values": column(&|s| Some((s.speed * 36.0).round() / 10.0))}),
                json!({"type": "DISTANCE", "intervalMillis": 1000, "values": column(&|s| Some(s.distance.round()))}),
            ];
            if w.heart_rate.is_some() {
                series.push(json!({"type": "HEART_RATE", "intervalMillis": 1000, "values": column(&|s| s.heart_rate.map(f64::from))}));
            }
            if track.iter().any(|s| s.altitude.is_some()) {
                series.push(json!({"type": "ALTITUDE", "intervalMillis": 1000, "values": column(&|s| s.altitude)}));
            }
            exercise["samples"] = json!({"samples": series});
        }
        if routes && w.sport.travels() {
            let points: Vec<Value> = track
                .iter()
                .filter_map(|s| {
                    s.position.map(|(lat, lon)| {
                        json!({"latitude": lat, "longitude": lon, "altitude": s.altitude, "elapsedMillis": i64::from(s.t) * 1000})
                    })
                })
                .collect();
            exercise["routes"] = json!({"route": {"startTime": start, "wayPoints": points}});
        }
        if laps {
            let list: Vec<Value> = crate::recording::strava_laps(w)
                .as_array()
                .into_iter()
                .flatten()
                .map(|lap| {
                    let from = lap["start_index"].as_i64().unwrap_or(0);
                    let length = lap["elapsed_time"].as_i64().unwrap_or(0);
                    json!({
                        "splitTimeMillis": (from + length) * 1000,
                        "durationMillis": length * 1000,
                        "distanceMeters": lap["distance"],
                    })
                })
                .collect();
            exercise["laps"] = json!({"laps": list, "autoLaps": []});
        }
    }
    json!({
        "identifier": {"id": session_id(w.index)},
        "created": (w.start + Duration::hours(1)).format("%Y-%m-%dT%H:%M:%S%.3f").to_string(),
        "modified": (w.start + Duration::hours(1) + Duration::minutes(i64::from(edit))).format("%Y-%m-%dT%H:%M:%S%.3f").to_string(),
        "startTime": start,
        "stopTime": stop,
        "timezoneOffsetMinutes": w.utc_offset / 60,
        "durationMillis": duration,
        "distanceMeters": w.distance.round(),
        "calories": (w.moving as f64 * 0.18).round() as i64,
        "hrAvg": w.heart_rate.map(|h| h.0.round()),
        "hrMax": w.heart_rate.map(|h| h.1.round()),
        "sport": {"id": sport_id(w.sport)},
        "deviceId": "1111AAAA",
        "product": {"modelName": if edit > 0 { "Polar Vantage V3 (edited)" } else { "Polar Vantage V3" }},
        "exercises": [exercise],
    })
}
