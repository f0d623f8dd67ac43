//! COROS Open API's twin: authorize page, `accesstoken` (partner secret in the form; snake_case
//! tokens plus `openId`), `refresh-token` (answers "OK" and extends the same token), the token
//! as a `token` query parameter, `sport/list` enforcing windows of at most 30 days within the last
//! 3 months, `user/info`, `unbind`, and every error as `{result, message}` under HTTP 200.
//!
//! COROS's documentation is private: every rule here rests on third-party sources, and several
//! on none at all. Unverified, and shared by twin and adapter as the same guess (they are listed
//! in the README's providers table and in the adapter's module comment): the
//! refresh path (`/oauth2/refresh-token`; one third-party source says `/oauth2/refresh`) and that
//! it extends the same token; that a dead token is told by the word "token" in the message (the
//! result codes are not public); the time-zone unit (quarter hours) and calories (small
//! calories); the sport table. Only one is kept tolerant in the adapter: the token response's key
//! casing (snake_case and camelCase are both read).

use crate::api::Gated;
use crate::generate::{Sport, Workout};
use crate::state::{Pkce, Redemption, Shared};
use crate::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{Duration, NaiveDate, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// The sandbox user's COROS openId.
pub const OPEN_ID: &str = "sbx-coros-open-id-7f3a";
const PROVIDER: &str = "coros";
const LIFETIME: Duration = Duration::days(30);

/// This twin in the sandbox's list.
pub(crate) const TWIN: crate::Twin = crate::Twin {
    key: PROVIDER,
    router,
    auth: "oauth2/authorize",
    token: "oauth2/accesstoken",
    api: "",
    truth,
    extra_vars: &[],
    defaults: &[],
};

fn truth(world: &crate::state::World) -> Vec<(String, usize)> {
    // What a walk down to the adapter's floor (today − 89 days) returns.
    let floor = Utc::now().date_naive() - Duration::days(89);
    world
        .visible()
        .filter(|w| w.start.date_naive() >= floor)
        .map(|w| {
            (
                format!("{}", 418_173_292_602_000_000_u64 + w.index as u64),
                w.index,
            )
        })
        .collect()
}

/// The redirect URIs the demo client registered (see `api::Redirects`).
const REDIRECTS: crate::api::Redirects =
    crate::api::Redirects::Unverified("tributary://oauth/coros/callback");

fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/oauth2/authorize", get(authorize))
        .route("/oauth2/approve", get(approve))
        .route("/oauth2/accesstoken", post(token))
        .route("/oauth2/refresh-token", post(refresh))
        .route("/v2/coros/sport/list", get(sport_list))
        .route("/files/{index}", get(file))
        .route("/coros/open/user/info", get(user_info))
        .route("/coros/open/unbind", post(unbind))
}

/// COROS' envelope; errors too come under HTTP 200.
fn envelope(result: &str, message: &str, data: Value) -> Response {
    axum::Json(json!({"result": result, "message": message, "data": data})).into_response()
}

async fn authorize(Query(q): Query<HashMap<String, String>>) -> Response {
    if q.get("client_id").map(String::as_str) != Some(DEMO_CLIENT_ID) {
        return envelope("1001", "client_id invalid", Value::Null);
    }
    crate::api::consent_page("COROS", REDIRECTS, &q, None)
}

async fn approve(
    State(s): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    crate::api::approve(&s, PROVIDER, REDIRECTS, &q, false)
        .unwrap_or_else(|| envelope("1002", "redirect_uri invalid", Value::Null))
}

fn partner_ok(f: &HashMap<String, String>) -> bool {
    f.get("client_id").map(String::as_str) == Some(DEMO_CLIENT_ID)
        && f.get("client_secret").map(String::as_str) == Some(DEMO_CLIENT_SECRET)
}

async fn token(State(s): State<Arc<Shared>>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Some(fault) = crate::api::token_fault(&s, PROVIDER).await {
        return fault;
    }
    if !partner_ok(&f) {
        return envelope("1001", "client_id or client_secret invalid", Value::Null);
    }
    let mut world = s.world();
    let rules = Redemption {
        pkce: Pkce::Ignored,
        redirect_uri_required: false,
    };
    let Ok(grant) = world.redeem(PROVIDER, &f, rules) else {
        return envelope("1003", "code invalid", Value::Null);
    };
    let (access, issued) = world.issue(PROVIDER, &grant.scope, LIFETIME);
    s.save(&world);
    // The token answer itself is not enveloped [3P: integrators read the fields at top level].
    axum::Json(json!({
        "access_token": access,
        "refresh_token": issued.refresh_token,
        "expires_in": LIFETIME.num_seconds(),
        "openId": OPEN_ID,
    }))
    .into_response()
}

async fn refresh(State(s): State<Arc<Shared>>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Some(fault) = crate::api::token_fault(&s, PROVIDER).await {
        return fault;
    }
    if !partner_ok(&f) {
        return envelope("1001", "client_id or client_secret invalid", Value::Null);
    }
    let mut world = s.world();
    let refresh = f.get("refresh_token").cloned().unwrap_or_default();
    if !world.extend(&refresh, LIFETIME) {
        return envelope("1004", "refresh token invalid", Value::Null);
    }
    s.save(&world);
    envelope("0000", "OK", Value::Null)
}

fn no_rate_headers(_: (u32, u32), _: (u32, u32), _: bool) -> HeaderMap {
    HeaderMap::new()
}

/// The shared gate, with the token taken from the query and a dead token answered COROS' way.
async fn gate(s: &Shared, token: Option<&String>) -> Result<Gated, Response> {
    let mut headers = HeaderMap::new();
    if let Some(v) = token.and_then(|t| HeaderValue::from_str(&format!("Bearer {t}")).ok()) {
        headers.insert("authorization", v);
    }
    let gated = crate::api::gate(
        s,
        &headers,
        PROVIDER,
        no_rate_headers,
        || json!({"message": "too many requests"}),
        || json!({}),
    )
    .await;
    gated.map_err(|r| {
        if r.status() == StatusCode::UNAUTHORIZED {
            envelope("5001", "token invalid or expired", Value::Null)
        } else {
            r
        }
    })
}

fn date(q: &HashMap<String, String>, key: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(q.get(key)?, "%Y%m%d").ok()
}

/// The file host behind `fitUrl`.
async fn file(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    axum::extract::Path(index): axum::extract::Path<String>,
) -> Response {
    crate::recording::file_host(&s, &headers, PROVIDER, &index).await
}

async fn sport_list(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Gated { bad_record, .. } = match gate(&s, q.get("token")).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    if q.get("openId").map(String::as_str) != Some(OPEN_ID) {
        return envelope("1005", "openId invalid", Value::Null);
    }
    let (Some(start), Some(end)) = (date(&q, "startDate"), date(&q, "endDate")) else {
        return envelope(
            "1006",
            "startDate and endDate are required (YYYYMMDD)",
            Value::Null,
        );
    };
    if end < start || (end - start).num_days() >= 30 {
        return envelope(
            "1019",
            "the date range must be at most 30 days",
            Value::Null,
        );
    }
    if start < Utc::now().date_naive() - Duration::days(90) {
        return envelope("1020", "startDate is more than 3 months ago", Value::Null);
    }
    let world = s.world();
    let mut list: Vec<Value> = world
        .visible()
        .filter(|w| {
            let d = w.start.date_naive();
            d >= start && d <= end
        })
        .map(|w| {
            let mut record = render(w, world.edits(w.index));
            // The record's FIT lives on a file host (here, this twin's `/files`).
            record["fitUrl"] = json!(crate::recording::file_url(&headers, PROVIDER, w.index));
            record
        })
        .collect();
    if bad_record {
        list.push(json!({"labelId": "", "mode": 8}));
    }
    envelope(
        "0000",
        "OK",
        json!({ "count": list.len(), "dataList": list }),
    )
}

async fn user_info(
    State(s): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match gate(&s, q.get("token")).await {
        Ok(_) => envelope(
            "0000",
            "OK",
            json!({"openId": OPEN_ID, "nick": "corosbox", "profilePhoto": null}),
        ),
        Err(r) => r,
    }
}

async fn unbind(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let token = headers
        .get("token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match gate(&s, token.as_ref()).await {
        Ok(_) => {
            let mut world = s.world();
            world.revoke_all(PROVIDER);
            s.save(&world);
            envelope("0000", "OK", Value::Null)
        }
        Err(r) => r,
    }
}

/// A workout as a COROS `sport/list` record [3P field names]: epoch seconds, the offset in quarter
/// hours, calories in small calories, a start a few seconds off the other copies.
pub fn render(w: &Workout, edit: u32) -> Value {
    let start = w.start.timestamp() + (w.index % 3) as i64;
    let mode = match w.sport {
        Sport::Run => 8,
        Sport::TrailRun => 20,
        Sport::Ride | Sport::VirtualRide => 9,
        Sport::Swim => 10,
        Sport::Hike => 16,
        Sport::Strength => 23,
    };
    json!({
        "labelId": format!("{}", 418_173_292_602_000_000_u64 + w.index as u64),
        "mode": mode,
        "subMode": if w.sport == Sport::VirtualRide { 2 } else { 1 },
        "startTime": start,
        "endTime": start + w.elapsed,
        "startTimezone": w.utc_offset / 900,
        "endTimezone": w.utc_offset / 900,
        "totalTime": w.elapsed,
        "duration": w.moving,
        "distance": (w.distance * 100.0).round() / 100.0,
        "calorie": (w.moving as f64 * 0.18 * 1000.0).round() as i64 + i64::from(edit),
        "avgSpeed": if w.distance > 0.0 { (w.moving as f64 / (w.distance / 1000.0)).round() } else { 0.0 },
        "avgHeartRate": w.heart_rate.map(|h| h.0),
        "maxHeartRate": w.heart_rate.map(|h| h.1),
        "fitUrl": format!("https://example.invalid/coros/{}.fit", w.index),
    })
}
