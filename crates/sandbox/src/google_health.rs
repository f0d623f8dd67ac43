//! The Google Health API's twin: Google's consent page (the athlete may untick the exercise
//! scope), token endpoint (PKCE S256 checked, the desktop client's secret optional, 1 h tokens, a
//! refresh token with `access_type=offline`, granted scopes reported), revoke, identity, and
//! exercise data points with `pageToken` cursors, a start-time `filter`, "1800s" durations and
//! millimetres. The `gone` fault answers 410 like the retired Fitbit Web API.

use crate::api::Gated;
use crate::generate::{Sport, Workout};
use crate::state::{Pkce, Redemption, Shared};
use crate::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// The sandbox user's health user id.
pub const HEALTH_USER_ID: &str = "sbx-health-user-31337";
const PROVIDER: &str = "google_health";
const EXERCISE_SCOPE: &str =
    "https://www.googleapis.com/auth/googlehealth.activity_and_fitness.readonly";
const SLEEP_SCOPE: &str = "https://www.googleapis.com/auth/googlehealth.sleep.readonly";

/// This twin in the sandbox's list.
pub(crate) const TWIN: crate::Twin = crate::Twin {
    key: PROVIDER,
    router,
    auth: "o/oauth2/v2/auth",
    token: "token",
    api: "",
    truth,
    extra_vars: &[],
    defaults: &[],
};

fn truth(world: &crate::state::World) -> Vec<(String, usize)> {
    world
        .visible()
        .map(|w| (format!("ex-{:06}", w.index), w.index))
        .collect()
}

/// The redirect URIs the demo client registered (see `api::Redirects`).
const REDIRECTS: crate::api::Redirects = crate::api::Redirects::LoopbackOnly;

fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/o/oauth2/v2/auth", get(authorize))
        .route("/o/oauth2/v2/approve", get(approve))
        .route("/token", post(token))
        .route("/revoke", post(revoke))
        .route("/v4/users/me/identity", get(identity))
        .route(
            "/v4/users/me/dataTypes/exercise/dataPoints",
            get(data_points),
        )
}

fn oauth_error(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"error": error}))).into_response()
}

async fn authorize(Query(q): Query<HashMap<String, String>>) -> Response {
    if q.get("client_id").map(String::as_str) != Some(DEMO_CLIENT_ID) {
        return oauth_error("invalid_client");
    }
    // Google lets the athlete grant some scopes only.
    crate::api::consent_page(
        "Google",
        REDIRECTS,
        &q,
        Some((SLEEP_SCOPE, "Allow sleep data only")),
    )
}

async fn approve(
    State(s): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    crate::api::approve(&s, PROVIDER, REDIRECTS, &q, false)
        .unwrap_or_else(|| oauth_error("invalid_request"))
}

async fn token(State(s): State<Arc<Shared>>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Some(fault) = crate::api::token_fault(&s, PROVIDER).await {
        return fault;
    }
    if f.get("client_id").map(String::as_str) != Some(DEMO_CLIENT_ID)
        || f.get("client_secret")
            .is_some_and(|s| s != DEMO_CLIENT_SECRET)
    {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let mut world = s.world();
    match f.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let rules = Redemption {
                pkce: Pkce::Required,
                redirect_uri_required: true,
            };
            let Ok(grant) = world.redeem(PROVIDER, &f, rules) else {
                return oauth_error("invalid_grant");
            };
            let (access, issued) = world.issue(PROVIDER, &grant.scope, Duration::hours(1));
            s.save(&world);
            axum::Json(json!({
                "access_token": access, "expires_in": 3599, "refresh_token": issued.refresh_token,
                "scope": grant.scope, "token_type": "Bearer"
            }))
            .into_response()
        }
        Some("refresh_token") => {
            let refresh = f.get("refresh_token").cloned().unwrap_or_default();
            match world.by_refresh(&refresh) {
                Some((old, grant)) => {
                    // Google keeps the refresh token and issues a new access token.
                    world.retire(&old);
                    let (access, _) = world.issue(PROVIDER, &grant.scope, Duration::hours(1));
                    world.rebind_refresh(&access, &refresh);
                    s.save(&world);
                    axum::Json(json!({"access_token": access, "expires_in": 3599, "scope": grant.scope, "token_type": "Bearer"})).into_response()
                }
                None => oauth_error("invalid_grant"),
            }
        }
        _ => oauth_error("unsupported_grant_type"),
    }
}

async fn revoke(State(s): State<Arc<Shared>>, Form(f): Form<HashMap<String, String>>) -> Response {
    let mut world = s.world();
    let token = f.get("token").cloned().unwrap_or_default();
    if world.access_for(&token, PROVIDER).is_none() && world.by_refresh(&token).is_none() {
        return oauth_error("invalid_token");
    }
    world.revoke_all(PROVIDER);
    s.save(&world);
    StatusCode::OK.into_response()
}

fn no_rate_headers(_: (u32, u32), _: (u32, u32), _: bool) -> HeaderMap {
    HeaderMap::new()
}

async fn gate(s: &Shared, headers: &HeaderMap) -> Result<Gated, Response> {
    let exhausted = || json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}});
    let unauthenticated = || json!({"error": {"code": 401, "status": "UNAUTHENTICATED"}});
    crate::api::gate(
        s,
        headers,
        PROVIDER,
        no_rate_headers,
        exhausted,
        unauthenticated,
    )
    .await
}

async fn identity(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match gate(&s, &headers).await {
        Ok(_) => {
            axum::Json(json!({"healthUserId": HEALTH_USER_ID, "legacyFitbitUserId": "7ABCDE"}))
                .into_response()
        }
        Err(r) => r,
    }
}

async fn data_points(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Gated {
        scope, bad_record, ..
    } = match gate(&s, &headers).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    if !scope.split(' ').any(|s| s == EXERCISE_SCOPE) {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(json!({"error": {"code": 403, "status": "PERMISSION_DENIED"}})),
        )
            .into_response();
    }
    // `exercise.interval.start_time >= "RFC 3339"` is the one filter form the twin understands.
    let since = match q.get("filter") {
        Some(filter) => match filter
            .split('"')
            .nth(1)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        {
            Some(t) if filter.starts_with("exercise.interval.start_time >=") => {
                Some(t.with_timezone(&Utc))
            }
            _ => {
                return (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({"error": {"code": 400, "status": "INVALID_ARGUMENT"}})),
                )
                    .into_response();
            }
        },
        None => None,
    };
    let size = q
        .get("pageSize")
        .and_then(|p| p.parse().ok())
        .unwrap_or(25usize)
        .clamp(1, 100);
    let offset: usize = q
        .get("pageToken")
        .and_then(|t| t.strip_prefix("p").and_then(|n| n.parse().ok()))
        .unwrap_or(0);
    let world = s.world();
    let matching: Vec<_> = world
        .visible()
        .rev()
        .filter(|w| since.is_none_or(|s| shown_start(w) >= s))
        .collect();
    let mut points: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(size)
        .map(|w| render(w, world.edits(w.index)))
        .collect();
    if bad_record {
        points.push(json!({"name": "users/me/dataTypes/exercise/dataPoints/broken", "exercise": {"interval": {"startTime": "soon"}}}));
    }
    let next = (offset + size < matching.len()).then(|| format!("p{}", offset + size));
    axum::Json(json!({"dataPoints": points, "nextPageToken": next})).into_response()
}

/// Whether workout `index`'s copy carries the local-time-as-UTC shift.
pub fn shifts_time(index: usize) -> bool {
    index % 19 == 7
}

/// The start this twin stores and filters on. One workout in 19 was written by a device that took
/// local wall time for UTC: off by the offset, minutes and seconds intact (a time-zone shift the
/// linker must see through).
fn shown_start(w: &Workout) -> DateTime<Utc> {
    if shifts_time(w.index) {
        w.start + Duration::seconds(i64::from(w.utc_offset))
    } else {
        w.start
    }
}

/// A workout as a Google Health exercise data point: RFC 3339 interval with a Duration-string
/// offset, "Ns" durations, millimetres.
pub fn render(w: &Workout, edit: u32) -> Value {
    let stamp = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let start = shown_start(w);
    let kind = match w.sport {
        Sport::Run => "RUNNING",
        Sport::TrailRun => "TRAIL_RUNNING",
        Sport::Ride => "BIKING",
        Sport::VirtualRide => "STATIONARY_BIKING",
        Sport::Swim => "SWIMMING",
        Sport::Hike => "HIKING",
        Sport::Strength => "WEIGHTLIFTING",
    };
    json!({
        "name": format!("users/me/dataTypes/exercise/dataPoints/ex-{:06}", w.index),
        "dataSource": {"device": {"displayName": "Pixel Watch 3"}, "platform": "FITBIT"},
        "exercise": {
            "exerciseType": kind,
            "displayName": if edit > 0 { format!("{} (edited)", w.name) } else { w.name.clone() },
            "interval": {
                "startTime": stamp(start),
                "endTime": stamp(start + Duration::seconds(w.elapsed)),
                "startUtcOffset": format!("{}s", w.utc_offset),
            },
            "activeDuration": format!("{}s", w.moving),
            // Proto3 JSON: int64 fields are strings (steps, heart rate, zone minutes); doubles
            // are numbers (distance and elevation in millimetres, calories) [doc: discovery].
            "metricsSummary": {
                "caloriesKcal": (w.moving as f64 * 0.18).round(),
                "distanceMillimeters": (w.distance * 1000.0).round(),
                "steps": matches!(w.sport, Sport::Run | Sport::TrailRun | Sport::Hike)
                    .then(|| ((w.distance * 1.3).round() as i64).to_string()),
                "averageHeartRateBeatsPerMinute": w.heart_rate.map(|h| (h.0 as i64).to_string()),
                "activeZoneMinutes": w.heart_rate.map(|_| (w.moving / 120).to_string()),
                "elevationGainMillimeters": (w.elevation * 1000.0).round(),
            },
        },
    })
}
