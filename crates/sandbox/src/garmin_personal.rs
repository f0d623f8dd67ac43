//! Garmin Connect Personal API's twin, under `/garmin/personal`: the key exchange
//! (`Authorization: ApiKey <key>` → a JWT as plain text, a day's life), the profile settings, and
//! the activity search (offset paging, local inclusive dates, newest first, pages over 45 answer
//! 500, bursts 429 with `Retry-After`). Facts and their tags are in the core's adapter,
//! `providers/garmin/personal.rs`; what rests on third-party sources there rests on them here.
//!
//! Keys: any key starting `sbx-gpk-` is a live key of the sandbox athlete, except
//! [`EXPIRED_KEY`] (Garmin refuses an expired or deleted key with 401 [3P]).

use crate::generate::{Sport, Workout};
use crate::state::Shared;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use chrono::{Duration, NaiveDate, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

const PROVIDER: &str = "garmin";
/// The demo athlete's key (the demo offers it; it is not a secret).
pub const DEMO_KEY: &str = "sbx-gpk-demo-athlete";
/// A key Garmin no longer accepts.
pub const EXPIRED_KEY: &str = "sbx-gpk-expired";
/// The sandbox athlete's owner id.
pub const OWNER_ID: u64 = 77_001_234;
/// The most a page may hold before the service fails (a 500 [3P]).
const PAGE_CAP: usize = 45;

/// The routes, nested under the Garmin twin's prefix.
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/personal/personalapitoken-service/personal-api/personal-api-key/token",
            post(exchange),
        )
        .route(
            "/personal/userprofile-service/userprofile/settings",
            get(settings),
        )
        .route(
            "/personal/activitylist-service/activities/search/activities",
            get(search),
        )
        .route(
            "/personal/download-service/files/activity/{id}",
            get(download),
        )
}

/// The configuration variables (suffix, path under the Garmin prefix).
pub(crate) const VARS: [(&str, &str); 2] = [
    (
        "PERSONAL_TOKEN_URL",
        "personal/personalapitoken-service/personal-api/personal-api-key/token",
    ),
    ("PERSONAL_API_URL", "personal"),
];

async fn exchange(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(fault) = crate::api::token_fault(&s, PROVIDER).await {
        return fault;
    }
    let key = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("ApiKey "))
        .unwrap_or_default()
        .trim()
        .to_owned();
    if !key.starts_with("sbx-gpk-") || key == EXPIRED_KEY {
        // Garmin's error bodies are usually empty JSON [3P].
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({}))).into_response();
    }
    let mut world = s.world();
    let (access, grant) = world.issue(PROVIDER, "personal", Duration::hours(24));
    // A JWT whose signature part is the issued token: its `exp` says when it runs out.
    let claims = json!({"exp": grant.expires_at, "sub": OWNER_ID.to_string()}).to_string();
    let b64 = |t: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(t);
    let jwt = format!(
        "{}.{}.{access}",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(&claims)
    );
    world.rename_access(&access, &jwt);
    s.save(&world);
    (
        [("content-type", HeaderValue::from_static("text/plain"))],
        jwt,
    )
        .into_response()
}

/// No budget is published; a queued 429 fault comes with `Retry-After` in seconds.
fn rate_headers(_: (u32, u32), _: (u32, u32), spent: bool) -> HeaderMap {
    let mut h = HeaderMap::new();
    if spent {
        h.insert("retry-after", HeaderValue::from_static("14"));
    }
    h
}

async fn gate(s: &Shared, headers: &HeaderMap) -> Result<crate::api::Gated, Response> {
    crate::api::gate(
        s,
        headers,
        PROVIDER,
        rate_headers,
        || json!({}),
        || json!({}),
    )
    .await
}

/// The download service: the activity's original, a ZIP holding its FIT.
async fn download(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let rate = match gate(&s, &headers).await {
        Ok(g) => g.rate,
        Err(r) => return r,
    };
    let mut world = s.world();
    *world.calls.entry("garmin_download".to_owned()).or_default() += 1;
    let found = id
        .parse::<i64>()
        .ok()
        .and_then(|id| usize::try_from(id - 19_000_000_000_i64).ok())
        .and_then(|i| world.visible().find(|w| w.index == i));
    match found {
        Some(w) => (
            rate,
            [(axum::http::header::CONTENT_TYPE, "application/zip")],
            crate::recording::fit_zip(w, &format!("{id}_ACTIVITY.fit")),
        )
            .into_response(),
        None => (axum::http::StatusCode::NOT_FOUND, rate, "").into_response(),
    }
}

async fn settings(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match gate(&s, &headers).await {
        Ok(g) => (
            g.rate,
            axum::Json(json!({
                "displayName": "sbx-athlete", "preferredLocale": "en",
                "measurementSystem": "metric", "firstDayOfWeek": {"dayName": "monday"},
            })),
        )
            .into_response(),
        Err(r) => r,
    }
}

async fn search(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let g = match gate(&s, &headers).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let number =
        |k: &str, default: usize| q.get(k).map_or(Some(default), |v| v.parse::<usize>().ok());
    let (Some(start), Some(limit)) = (number("start", 0), number("limit", 99)) else {
        return (StatusCode::BAD_REQUEST, g.rate, axum::Json(json!({}))).into_response();
    };
    if limit > PAGE_CAP {
        // The service's own default page (99) fails too [3P].
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            g.rate,
            axum::Json(json!({})),
        )
            .into_response();
    }
    let date = |k: &str| q.get(k).map(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d"));
    let (Ok(from), Ok(to)) = (date("startDate").transpose(), date("endDate").transpose()) else {
        return (StatusCode::BAD_REQUEST, g.rate, axum::Json(json!({}))).into_response();
    };
    let world = s.world();
    let local_day =
        |w: &Workout| (w.start + Duration::seconds(i64::from(w.utc_offset))).date_naive();
    let mut body: Vec<Value> = world
        .visible()
        .rev()
        .filter(|w| from.is_none_or(|d| local_day(w) >= d) && to.is_none_or(|d| local_day(w) <= d))
        .skip(start)
        .take(limit)
        .map(|w| render(w, world.edits(w.index)))
        .collect();
    if g.bad_record {
        body.push(json!({"activityId": "broken", "startTimeGMT": "soon"}));
    }
    (g.rate, axum::Json(body)).into_response()
}

/// A workout as a `SummarizedActivityDTO` (field names from Garmin's OpenAPI-derived models [3P]).
pub fn render(w: &Workout, edit: u32) -> Value {
    let key = match w.sport {
        Sport::Run => "running",
        Sport::TrailRun => "trail_running",
        Sport::Ride => "road_biking",
        Sport::VirtualRide => "indoor_cycling",
        Sport::Swim => "lap_swimming",
        Sport::Hike => "hiking",
        Sport::Strength => "strength_training",
    };
    let stamp = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S").to_string();
    json!({
        "activityId": 19_000_000_000_i64 + w.index as i64,
        "activityName": if edit > 0 { format!("{} (edited)", w.name) } else { w.name.clone() },
        "startTimeGMT": stamp(w.start),
        "startTimeLocal": stamp(w.start + Duration::seconds(i64::from(w.utc_offset))),
        "beginTimestamp": w.start.timestamp_millis(),
        "activityType": {"typeKey": key, "parentTypeId": 17},
        "duration": w.elapsed as f64,
        "elapsedDuration": w.elapsed as f64,
        "movingDuration": w.moving as f64,
        "distance": w.distance,
        "elevationGain": w.elevation,
        "averageHR": w.heart_rate.map(|h| h.0),
        "maxHR": w.heart_rate.map(|h| h.1),
        "calories": (w.moving as f64 * 0.18).round(),
        "avgPower": w.power.map(|p| p.0),
        "maxPower": w.power.map(|p| p.1),
        "ownerId": OWNER_ID,
        "manufacturer": "GARMIN",
    })
}

/// What a complete walk of the personal door lists now.
pub(crate) fn truth(world: &crate::state::World) -> Vec<(String, usize)> {
    world
        .visible()
        .map(|w| ((19_000_000_000_i64 + w.index as i64).to_string(), w.index))
        .collect()
}
