//! Wahoo Cloud API's twin: authorize page with PKCE, token endpoint (secret optional, S256
//! verifier checked, 2 h tokens, single-use refresh tokens whose new pair retires the old one at
//! its first use, at most 10 live tokens per user), `/v1/user`, `/v1/workouts` paged newest first
//! with decimal strings for numbers, `DELETE /v1/permissions`, and `X-RateLimit-*` headers.

use crate::api::Gated;
use crate::generate::{Sport, Workout};
use crate::state::{Pkce, Redemption, Shared};
use crate::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// The sandbox user's Wahoo id.
pub const USER_ID: i64 = 61_803;
const PROVIDER: &str = "wahoo";
const LIFETIME: Duration = Duration::hours(2);
/// Wahoo's cap on unrevoked access tokens per user and app (since 2026-01-01).
pub const MAX_LIVE_TOKENS: usize = 10;

/// This twin in the sandbox's list.
pub(crate) const TWIN: crate::Twin = crate::Twin {
    key: PROVIDER,
    router,
    auth: "oauth/authorize",
    token: "oauth/token",
    api: "",
    truth,
    extra_vars: &[],
    defaults: &[],
};

fn truth(world: &crate::state::World) -> Vec<(String, usize)> {
    world
        .visible()
        .map(|w| ((800_000_000_i64 + w.index as i64).to_string(), w.index))
        .collect()
}

/// The redirect URIs the demo client registered (see `api::Redirects`).
const REDIRECTS: crate::api::Redirects =
    crate::api::Redirects::Unverified("tributary://oauth/wahoo/callback");

fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/oauth/authorize", get(authorize))
        .route("/oauth/approve", get(approve))
        .route("/oauth/token", post(token))
        .route("/v1/user", get(user))
        .route("/v1/workouts", get(workouts))
        .route("/files/{index}", get(file))
        .route("/v1/permissions", delete(revoke))
}

fn oauth_error(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"error": error}))).into_response()
}

async fn authorize(Query(q): Query<HashMap<String, String>>) -> Response {
    if q.get("client_id").map(String::as_str) != Some(DEMO_CLIENT_ID) {
        return oauth_error("invalid_client");
    }
    crate::api::consent_page("Wahoo", REDIRECTS, &q, None)
}

async fn approve(
    State(s): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    crate::api::approve(&s, PROVIDER, REDIRECTS, &q, false)
        .unwrap_or_else(|| oauth_error("invalid_request"))
}

fn token_body(access: &str, grant: &crate::state::AccessGrant) -> Response {
    axum::Json(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": (grant.expires_at - Utc::now().timestamp()).max(0),
        "refresh_token": grant.refresh_token,
        "scope": grant.scope,
        "created_at": Utc::now().timestamp(),
    }))
    .into_response()
}

async fn token(State(s): State<Arc<Shared>>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Some(fault) = crate::api::token_fault(&s, PROVIDER).await {
        return fault;
    }
    if f.get("client_id").map(String::as_str) != Some(DEMO_CLIENT_ID) {
        return oauth_error("invalid_client");
    }
    // The secret is optional with PKCE, but a wrong one is still wrong.
    if f.get("client_secret")
        .is_some_and(|s| s != DEMO_CLIENT_SECRET)
    {
        return oauth_error("invalid_client");
    }
    let mut world = s.world();
    if world.live_tokens(PROVIDER) >= MAX_LIVE_TOKENS {
        return oauth_error("too_many_tokens");
    }
    match f.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let rules = Redemption {
                pkce: Pkce::IfChallenged,
                redirect_uri_required: true,
            };
            let Ok(grant) = world.redeem(PROVIDER, &f, rules) else {
                return oauth_error("invalid_grant");
            };
            let (access, issued) = world.issue(PROVIDER, &grant.scope, LIFETIME);
            s.save(&world);
            token_body(&access, &issued)
        }
        Some("refresh_token") => {
            let refresh = f.get("refresh_token").cloned().unwrap_or_default();
            match world.rotate(&refresh, LIFETIME) {
                Some((access, issued)) => {
                    s.save(&world);
                    token_body(&access, &issued)
                }
                // Wahoo's failed refreshes can be opaque: no error name in the body.
                None => (StatusCode::BAD_REQUEST, axum::Json(json!({}))).into_response(),
            }
        }
        _ => oauth_error("unsupported_grant_type"),
    }
}

/// "day,hour,5min" triples; the sandbox's short budget plays the 5-minute window.
fn rate_headers(limits: (u32, u32), used: (u32, u32), spent: bool) -> HeaderMap {
    let mut rate = HeaderMap::new();
    let now = Utc::now().timestamp();
    let remaining = |limit: u32, used: u32| if spent { 0 } else { limit.saturating_sub(used) };
    let hour_limit = limits.1.min(limits.0.saturating_mul(5));
    for (name, value) in [
        (
            "x-ratelimit-limit",
            format!("{},{},{}", limits.1, hour_limit, limits.0),
        ),
        (
            "x-ratelimit-remaining",
            format!(
                "{},{},{}",
                remaining(limits.1, used.1),
                remaining(hour_limit, used.0),
                remaining(limits.0, used.0)
            ),
        ),
        (
            "x-ratelimit-reset",
            format!(
                "{},{},{}",
                86_400 - now % 86_400,
                3600 - now % 3600,
                300 - now % 300
            ),
        ),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            rate.insert(name, v);
        }
    }
    rate
}

async fn gate(s: &Shared, headers: &HeaderMap) -> Result<Gated, Response> {
    crate::api::gate(
        s,
        headers,
        PROVIDER,
        rate_headers,
        || json!({"error": "Rate limit exceeded"}),
        || json!({"error": "Unauthorized"}),
    )
    .await
}

async fn user(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match gate(&s, &headers).await {
        Ok(g) => (
            g.rate,
            axum::Json(json!({
                "id": USER_ID, "email": "sandbox@wahoo.invalid", "first": "Wa", "last": "Hoo",
                "birth": "1988-02-29", "gender": 1, "height": "1.74", "weight": "66.0",
                "created_at": "2020-01-01T00:00:00.000Z", "updated_at": "2026-01-01T00:00:00.000Z"
            })),
        )
            .into_response(),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct Page {
    page: Option<usize>,
    per_page: Option<usize>,
}

async fn file(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    axum::extract::Path(index): axum::extract::Path<String>,
) -> Response {
    crate::recording::file_host(&s, &headers, PROVIDER, &index).await
}

async fn workouts(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(p): Query<Page>,
) -> Response {
    let Gated {
        rate, bad_record, ..
    } = match gate(&s, &headers).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let (page, per_page) = (
        p.page.unwrap_or(1).max(1),
        p.per_page.unwrap_or(30).clamp(1, 100),
    );
    let world = s.world();
    let total = world.visible().count();
    let mut list: Vec<Value> = world
        .visible()
        .rev()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|w| {
            let mut workout = render(w, world.edits(w.index));
            // The summary's file lives on a file host (here, this twin's `/files`).
            if let Some(summary) = workout.get_mut("workout_summary") {
                summary["file"] =
                    json!({"url": crate::recording::file_url(&headers, PROVIDER, w.index)});
            }
            workout
        })
        .collect();
    if bad_record {
        list.push(json!({"id": 1, "starts": "not a date", "minutes": "ten"}));
    }
    (
        rate,
        axum::Json(json!({
            "workouts": list, "total": total, "page": page, "per_page": per_page,
            "order": "descending", "sort": "starts"
        })),
    )
        .into_response()
}

async fn revoke(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match gate(&s, &headers).await {
        Ok(g) => {
            let mut world = s.world();
            world.revoke_all(PROVIDER);
            s.save(&world);
            (g.rate, axum::Json(json!({"success": true}))).into_response()
        }
        Err(r) => r,
    }
}

/// A workout as a Wahoo Cloud API workout: numbers as decimal strings, a start a few seconds off
/// the other providers' copies, and no `workout_summary` for one workout in seventeen (unfinished
/// or manual ones have none).
pub fn render(w: &Workout, edit: u32) -> Value {
    let start = w.start + Duration::seconds((w.index % 5) as i64);
    let type_id = match w.sport {
        Sport::Run => 1,
        Sport::TrailRun => 4,
        Sport::Ride => 15,
        Sport::VirtualRide => 12,
        Sport::Swim => 25,
        Sport::Hike => 9,
        Sport::Strength => 18,
    };
    let stamp = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S.000Z").to_string();
    let summary = (!w.index.is_multiple_of(17)).then(|| {
        json!({
            "id": 500_000 + w.index,
            "ascent_accum": format!("{:.2}", w.elevation),
            "calories_accum": format!("{:.1}", w.moving as f64 * 0.18),
            "distance_accum": format!("{:.2}", w.distance),
            "duration_active_accum": format!("{:.1}", w.moving as f64),
            "duration_paused_accum": format!("{:.1}", (w.elapsed - w.moving) as f64),
            "duration_total_accum": format!("{:.1}", w.elapsed as f64),
            "heart_rate_avg": w.heart_rate.map(|h| format!("{:.2}", h.0)),
            "power_bike_avg": w.power.map(|p| format!("{:.2}", p.0)),
            "time_zone": w.zone,
            "manual": false,
            "edited": edit > 0,
        })
    });
    let mut workout = json!({
        "id": 800_000_000_i64 + w.index as i64,
        "user_id": USER_ID,
        "starts": stamp(start),
        "minutes": w.elapsed / 60,
        "name": if edit > 0 { format!("{} (edited)", w.name) } else { w.name.clone() },
        "workout_type_id": type_id,
        "plan_id": null,
        "workout_token": format!("wt-{}", w.index),
        "created_at": stamp(start + Duration::seconds(w.elapsed + 120)),
        "updated_at": stamp(start + Duration::seconds(w.elapsed + 120 + i64::from(edit))),
    });
    if let Some(summary) = summary {
        workout["workout_summary"] = summary;
    }
    workout
}
