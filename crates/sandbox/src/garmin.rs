//! Garmin's twin: consent page (historical data can be left unticked), token endpoint (PKCE S256
//! and the confidential secret, refresh tokens that rotate), `user/id`, `user/permissions`,
//! deregistration, the backfill request (202; 409 for a window already asked for; 400 over 30
//! days; 403 without historical permission), and the relay inbox the desktop reads:
//! `GET /garmin/inbox/garmin/users/{userId}/items?after=<cursor>` with the summaries Garmin would
//! have pushed (backfilled ones), in arrival order.

use crate::api::Gated;
use crate::generate::{Sport, Workout};
use crate::state::{Pkce, Redemption, Shared};
use crate::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use chrono::Duration;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// The sandbox user's Garmin id.
pub const USER_ID: &str = "sbx-garmin-4f1c9a";
const PROVIDER: &str = "garmin";
const ALL_PERMISSIONS: &str = "ACTIVITY_EXPORT HEALTH_EXPORT HISTORICAL_DATA_EXPORT";
const INBOX_PAGE: usize = 100;

/// This twin in the sandbox's list.
pub(crate) const TWIN: crate::Twin = crate::Twin {
    key: PROVIDER,
    router,
    auth: "oauth2Confirm",
    token: "oauth/token",
    api: "",
    truth,
    extra_vars: &[
        ("INBOX_URL", "inbox"),
        crate::garmin_personal::VARS[0],
        crate::garmin_personal::VARS[1],
    ],
    // The partner program is closed to newcomers: the demo rehearses the personal key, as an
    // athlete's real connection does.
    defaults: &[("DOOR", "personal")],
};

/// What Garmin pushed to the inbox, in arrival order: each requested backfill window's workouts
/// (oldest first, each once), then new uploads as they happened. Deleted ones keep their place.
fn delivered(world: &crate::state::World) -> Vec<&Workout> {
    let mut delivered: Vec<&Workout> = Vec::new();
    let mut pushed = std::collections::BTreeSet::new();
    for (a, b) in world.backfills() {
        for w in world
            .workouts
            .iter()
            .filter(|w| w.index < world.generated())
        {
            let t = w.start.timestamp();
            if t >= *a && t < *b && pushed.insert(w.index) {
                delivered.push(w);
            }
        }
    }
    let mut uploads: Vec<&Workout> = world
        .workouts
        .iter()
        .filter(|w| w.index >= world.generated())
        .collect();
    uploads.sort_by_key(|w| w.index);
    delivered.extend(uploads);
    delivered
}

fn truth(world: &crate::state::World) -> Vec<(String, usize)> {
    delivered(world)
        .into_iter()
        .filter(|w| !world.is_deleted(w.index))
        .map(|w| (format!("{}", 19_000_000_000_i64 + w.index as i64), w.index))
        .collect()
}

/// The redirect URIs the demo client registered (see `api::Redirects`).
const REDIRECTS: crate::api::Redirects =
    crate::api::Redirects::Unverified("tributary://oauth/garmin/callback");

fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/oauth2Confirm", get(authorize))
        .route("/approve", get(approve))
        .route("/oauth/token", post(token))
        .route("/partner-gateway/rest/user/id", get(user_id))
        .route("/partner-gateway/rest/user/permissions", get(permissions))
        .route(
            "/partner-gateway/rest/user/registration",
            delete(deregister),
        )
        .route("/wellness-api/rest/backfill/activities", get(backfill))
        .route("/inbox/garmin/users/{user}/items", get(inbox))
        // The Personal API (the door for individuals) lives beside the partner one.
        .merge(crate::garmin_personal::router())
}

fn oauth_error(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"error": error}))).into_response()
}

async fn authorize(Query(mut q): Query<HashMap<String, String>>) -> Response {
    if q.get("client_id").map(String::as_str) != Some(DEMO_CLIENT_ID) {
        return oauth_error("invalid_client");
    }
    // Permissions are ticked on Garmin's page, not requested: historical data is optional.
    q.insert("scope".into(), ALL_PERMISSIONS.into());
    crate::api::consent_page(
        "Garmin Connect",
        REDIRECTS,
        &q,
        Some((
            "ACTIVITY_EXPORT HEALTH_EXPORT",
            "Authorize without historical data",
        )),
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
        || f.get("client_secret").map(String::as_str) != Some(DEMO_CLIENT_SECRET)
    {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let mut world = s.world();
    let body = |access: &str, grant: &crate::state::AccessGrant| {
        axum::Json(json!({
            "access_token": access, "refresh_token": grant.refresh_token, "token_type": "bearer",
            "expires_in": 86_400, "refresh_token_expires_in": 7_776_000
        }))
        .into_response()
    };
    match f.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let rules = Redemption {
                pkce: Pkce::Required,
                redirect_uri_required: true,
            };
            let Ok(grant) = world.redeem(PROVIDER, &f, rules) else {
                return oauth_error("invalid_grant");
            };
            let (access, issued) = world.issue(PROVIDER, &grant.scope, Duration::hours(24));
            s.save(&world);
            body(&access, &issued)
        }
        Some("refresh_token") => {
            let refresh = f.get("refresh_token").cloned().unwrap_or_default();
            match world.by_refresh(&refresh) {
                Some((old, grant)) => {
                    world.retire(&old);
                    let (access, issued) = world.issue(PROVIDER, &grant.scope, Duration::hours(24));
                    s.save(&world);
                    body(&access, &issued)
                }
                None => oauth_error("invalid_grant"),
            }
        }
        _ => oauth_error("unsupported_grant_type"),
    }
}

fn no_rate_headers(_: (u32, u32), _: (u32, u32), _: bool) -> HeaderMap {
    HeaderMap::new()
}

async fn gate(s: &Shared, headers: &HeaderMap) -> Result<Gated, Response> {
    crate::api::gate(
        s,
        headers,
        PROVIDER,
        no_rate_headers,
        || json!({"error": "rate limited"}),
        || json!({"error": "invalid_token"}),
    )
    .await
}

async fn user_id(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match gate(&s, &headers).await {
        Ok(_) => axum::Json(json!({"userId": USER_ID})).into_response(),
        Err(r) => r,
    }
}

async fn permissions(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match gate(&s, &headers).await {
        Ok(g) => axum::Json(
            g.scope
                .split(' ')
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(r) => r,
    }
}

async fn deregister(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match gate(&s, &headers).await {
        Ok(_) => {
            let mut world = s.world();
            world.revoke_all(PROVIDER);
            world.clear_backfills();
            s.save(&world);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(r) => r,
    }
}

async fn backfill(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let g = match gate(&s, &headers).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    if !g.scope.split(' ').any(|p| p == "HISTORICAL_DATA_EXPORT") {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(json!({"errorMessage": "User has not granted historical data access"})),
        )
            .into_response();
    }
    let number = |k: &str| q.get(k).and_then(|v| v.parse::<i64>().ok());
    let (Some(start), Some(end)) = (
        number("summaryStartTimeInSeconds"),
        number("summaryEndTimeInSeconds"),
    ) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"errorMessage": "start and end are required"})),
        )
            .into_response();
    };
    if end <= start || end - start > 30 * 86_400 {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"errorMessage": "the range must be at most 30 days"})),
        )
            .into_response();
    }
    let mut world = s.world();
    if !world.add_backfill(start, end) {
        return (
            StatusCode::CONFLICT,
            axum::Json(json!({"errorMessage": "duplicate backfill"})),
        )
            .into_response();
    }
    s.save(&world);
    StatusCode::ACCEPTED.into_response()
}

async fn inbox(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(user): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Gated { bad_record, .. } = match gate(&s, &headers).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    if user != USER_ID {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": "unknown user"})),
        )
            .into_response();
    }
    let after: usize = q.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
    let world = s.world();
    let delivered = delivered(&world);
    let mut items: Vec<Value> = delivered
        .iter()
        .skip(after)
        .take(INBOX_PAGE)
        .filter(|w| !world.is_deleted(w.index))
        .map(|w| render(w, world.edits(w.index)))
        .collect();
    if bad_record {
        items.push(json!({"summaryId": "broken", "activityType": "RUNNING"}));
    }
    let end = (after + INBOX_PAGE).min(delivered.len()).max(after);
    // The position after the last item returned (also at the end), and whether more follow.
    axum::Json(json!({"items": items, "next": end.to_string(), "more": end < delivered.len()}))
        .into_response()
}

/// A workout as the activity summary Garmin pushes: epoch seconds plus the local offset.
pub fn render(w: &Workout, edit: u32) -> Value {
    let kind = match w.sport {
        Sport::Run => "RUNNING",
        Sport::TrailRun => "TRAIL_RUNNING",
        Sport::Ride => "ROAD_BIKING",
        Sport::VirtualRide => "INDOOR_CYCLING",
        Sport::Swim => "LAP_SWIMMING",
        Sport::Hike => "HIKING",
        Sport::Strength => "STRENGTH_TRAINING",
    };
    let activity_id = 19_000_000_000_i64 + w.index as i64;
    json!({
        "userId": USER_ID,
        "summaryId": format!("{activity_id}"),
        "activityId": activity_id,
        "activityName": if edit > 0 { format!("{} (edited)", w.name) } else { w.name.clone() },
        "activityType": kind,
        "startTimeInSeconds": w.start.timestamp(),
        "startTimeOffsetInSeconds": w.utc_offset,
        "durationInSeconds": w.elapsed,
        "distanceInMeters": w.distance,
        "activeKilocalories": (w.moving as f64 * 0.18).round(),
        "averageHeartRateInBeatsPerMinute": w.heart_rate.map(|h| h.0),
        "maxHeartRateInBeatsPerMinute": w.heart_rate.map(|h| h.1),
        "totalElevationGainInMeters": w.elevation,
        "deviceName": "Forerunner 965",
        "manual": false,
        "isWebUpload": false,
    })
}
