//! Polar AccessLink v4, the door new Polar connections use. Facts and how sure each is
//! (`shared/providers.md` §0b/§0c; `[doc]`: Polar's v4 reference as quoted by independent
//! clients, `[3P]`: what those clients report from live answers):
//! - OAuth2 at `auth.polar.com`: `/oauth/authorize` (the `scope` is required, space-separated)
//!   and `/oauth/token` with HTTP Basic client authentication for the code and the refresh; no
//!   PKCE; `redirect_uri` must repeat the authorize request's exactly [doc]. Access tokens live
//!   12 h by the reference and 1 h in live answers [3P]: we go by `expires_in`. Refresh tokens
//!   may rotate [3P]. No registration step and no revoke endpoint [doc].
//! - The token answer carries no user id by the reference; one client saw `x_user_id` [3P]. We
//!   keep it when it comes; otherwise a connection that moved from v3 keeps v3's (see
//!   `auth::keep`).
//! - `GET /v4/data/training-sessions/list?from=&to=`: local date-times without a zone
//!   (`2026-05-29T00:00:00`; a date alone or a `Z` answers 400 [3P ×5]); `from` inclusive, `to`
//!   exclusive; at most 90 days, or one day when `features=` are asked, repeated per feature
//!   [doc]. The answer is `{"trainingSessions": [...]}`, 204 when empty, no paging [3P].
//! - A session: `identifier.id` (a UUID-like string, unrelated to v3's hashed exercise ids: both
//!   doors' clients match them by start time [3P ×2]), `startTime` local without a zone plus
//!   `timezoneOffsetMinutes`, `durationMillis` (int64, so possibly a string in proto3 JSON),
//!   `distanceMeters`, `calories`, `hrAvg`, `hrMax`, `sport.id` (a string id; names come from
//!   `/v4/data/sports/list`), `exercises[]` (one per sport of a multisport session) with
//!   `ascentMeters` and, when asked, `samples`, `laps`, `routes`.
//! - No original files in v4 [doc via 3 clients]: the recording is the samples, laps and route
//!   of the session, read with one one-day request.
//! - 3,000 requests per 15 min and 100,000 per day per client; `RateLimit-*` headers [doc].
//! - No deletion feed [doc]: a session missing from a list was not deleted.

use super::super::SignIn;
use super::super::http::{Call, Http, Response};
use super::super::{
    ActivityPage, Capabilities, ClientAuth, ClientCredentials, Delivery, Door, Endpoints,
    FetchedRecording, ListRequest, Provider, RateLimitWindow, RecordingRequest, Redirects,
    RefreshStyle, TokenGrant, Unmappable, endpoint, join,
};
use super::{KIND, LOOPBACK_PORT, map as v3map};
use crate::config::ProviderSettings;
use crate::domain::{ConnectionProfile, NewActivity};
use crate::recording::{Lap, StreamKind, Streams};
use crate::{Error, Result};
use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use url::Url;

/// AccessLink v4.
pub const DOOR: Door = Door {
    id: "v4",
    name: "AccessLink v4",
    revoke_by_hand: Some(REMOVE_BY_HAND),
};
/// The longest list window without features [doc].
const WINDOW_DAYS: i64 = 90;
/// Where a walk of the whole history stops: Polar Flow began in 2013, and older Polar Personal
/// Trainer data moved into it; nothing precedes 2010. About 70 windows back from 2026.
const HISTORY_FLOOR: NaiveDate = match NaiveDate::from_ymd_opt(2010, 1, 1) {
    Some(d) => d,
    None => panic!("a valid date"),
};
/// A walk of the whole history ends after this many empty windows in a row (three years with no
/// session): v4 says nothing of where an athlete's history begins, and walking to 2010 would
/// cost every athlete some 70 requests. Older sessions behind such a gap come from Polar's data
/// export (Import).
const EMPTY_WINDOWS_END: u32 = 12;
/// Sessions a list may hold before the answer is taken for garbage (a day rarely holds ten).
const MAX_SESSIONS: usize = 10_000;
/// Samples one series may hold (a day at 1 Hz is 86,400).
const MAX_SAMPLES: usize = 200_000;
/// The local date-time form the list takes.
const LOCAL: &str = "%Y-%m-%dT%H:%M:%S";
/// Where the athlete ends the grant by hand: v4 has no revoke endpoint [doc]. Polar's support
/// pages say connected services are managed in Polar Flow's settings, "under account or your
/// profile, depending on the connection type" [doc: support.polar.com, privacy in Flow].
pub const REMOVE_BY_HAND: &str = "https://flow.polar.com/settings";

/// The AccessLink v4 client.
pub struct PolarV4 {
    http: Http,
    endpoints: Endpoints,
    /// Polar's sport catalogue (`/v4/data/sports/list`: id → name), read once per process: it
    /// is the same for every athlete and changes with Polar's releases, not with a sync.
    sports: Mutex<Option<Arc<HashMap<String, String>>>>,
    /// The athlete's offset from their account (`Some(None)`: asked, not told), read once per
    /// process: one Polar connection per app.
    offset: Mutex<Option<Option<i32>>>,
}

impl PolarV4 {
    /// Build from settings (defaults: Polar's v4 endpoints; `TRIBUTARY_POLAR_V4_*_URL`).
    pub fn new(settings: &ProviderSettings, http: Http) -> Result<Self> {
        Ok(Self {
            http,
            endpoints: Endpoints {
                auth_url: endpoint(
                    settings.v4_auth_url.as_ref(),
                    "https://auth.polar.com/oauth/authorize",
                )?,
                token_url: endpoint(
                    settings.v4_token_url.as_ref(),
                    "https://auth.polar.com/oauth/token",
                )?,
                api_url: endpoint(
                    settings.v4_api_url.as_ref(),
                    "https://www.polaraccesslink.com",
                )?,
            },
            sports: Mutex::new(None),
            offset: Mutex::new(None),
        })
    }

    fn data(&self, path: &str) -> Url {
        join(&self.endpoints.api_url, &format!("v4/data/{path}"))
    }

    fn fail(&self, call: &Call<'_>, response: &Response) -> Error {
        let now = call.clock.now();
        let reset = super::rate_budget(&response.headers, now)
            .map_or(now + Duration::minutes(15), |b| b.resets_at);
        // A refused range or parameter is our request's fault, not the athlete's: say what
        // Polar said, once (a 400 is never retried).
        if response.status == StatusCode::BAD_REQUEST {
            return Error::Provider {
                provider: KIND,
                status: Some(400),
                message: format!(
                    "Polar refused the request: {}",
                    polar_message(&response.body)
                ),
            };
        }
        self.http.classify(response, reset)
    }

    /// The sessions whose local start lies in `[from, to)`, with `features`: one request, as
    /// given (a range Polar refuses is a clear error, never retried).
    pub async fn sessions(
        &self,
        call: &Call<'_>,
        from: NaiveDateTime,
        to: NaiveDateTime,
        features: &[&str],
    ) -> Result<Vec<Value>> {
        let mut url = self.data("training-sessions/list");
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("from", &from.format(LOCAL).to_string())
                .append_pair("to", &to.format(LOCAL).to_string());
            for feature in features {
                q.append_pair("features", feature);
            }
        }
        let response = self.http.send(call, |c| c.get(url.clone())).await?;
        if response.status == StatusCode::NO_CONTENT {
            return Ok(Vec::new());
        }
        if !response.status.is_success() {
            return Err(self.fail(call, &response));
        }
        let body: Value = response.json(KIND)?;
        let list = body
            .get("trainingSessions")
            .or(Some(&body).filter(|b| b.is_array()))
            .cloned()
            .unwrap_or(Value::Array(Vec::new()));
        match list {
            Value::Array(items) if items.len() <= MAX_SESSIONS => Ok(items),
            Value::Array(items) => Err(Error::Provider {
                provider: KIND,
                status: None,
                message: format!("Polar listed {} sessions for one window", items.len()),
            }),
            Value::Null => Ok(Vec::new()),
            other => Err(Error::Provider {
                provider: KIND,
                status: None,
                message: format!("trainingSessions is not a list: {}", kind_of(&other)),
            }),
        }
    }

    /// The athlete's offset from UTC in minutes, from their account's localisation settings
    /// (`profile:read`), read once: the best guess for a session listed without its own.
    async fn account_offset(&self, call: &Call<'_>) -> Option<i32> {
        if let Some(known) = self.offset.lock().ok().and_then(|o| *o) {
            return known;
        }
        let url = self.data("user/account-data");
        let offset = match self.http.send(call, |c| c.get(url.clone())).await {
            Ok(r) if r.status.is_success() => r.json::<Value>(KIND).ok().and_then(|body| {
                let account = body.get("accountData").unwrap_or(&body);
                number(account.pointer("/localizationSettings/timezoneOffsetMinutes"))
                    .filter(|m| m.abs() <= 24.0 * 60.0 && m.fract() == 0.0)
                    .map(|m| m as i32)
            }),
            _ => None,
        };
        if let Ok(mut kept) = self.offset.lock() {
            *kept = Some(offset);
        }
        offset
    }

    /// Polar's sport names by id, read once; empty when the catalogue cannot be read (the
    /// `sports:read` scope was not granted): sports are then "other", nothing fails.
    async fn sport_names(&self, call: &Call<'_>) -> Arc<HashMap<String, String>> {
        if let Some(known) = self.sports.lock().ok().and_then(|s| s.clone()) {
            return known;
        }
        let url = self.data("sports/list");
        let names = match self.http.send(call, |c| c.get(url.clone())).await {
            Ok(r) if r.status.is_success() => r
                .json::<Value>(KIND)
                .map(|body| Arc::new(sport_catalogue(&body)))
                .ok(),
            Ok(r) if r.status == StatusCode::FORBIDDEN => Some(Arc::new(HashMap::new())),
            Ok(r) => {
                tracing::info!(status = %r.status, "Polar's sport catalogue could not be read");
                None
            }
            Err(e) => {
                tracing::info!(error = %e, "Polar's sport catalogue could not be read");
                None
            }
        };
        match names {
            Some(names) => {
                if let Ok(mut kept) = self.sports.lock() {
                    *kept = Some(names.clone());
                }
                names
            }
            None => Arc::new(HashMap::new()),
        }
    }
}

#[async_trait]
impl Provider for PolarV4 {
    fn kind(&self) -> crate::domain::ProviderKind {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    fn http(&self) -> &Http {
        &self.http
    }

    async fn fetch_profile(
        &self,
        call: &Call<'_>,
        grant: &TokenGrant,
    ) -> Result<ConnectionProfile> {
        let user_id = match grant.extra.get("x_user_id") {
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        };
        // The athlete's name, where `profile:read` was granted; nothing else is kept.
        let url = self.data("user/account-data");
        let response = self.http.send(call, |c| c.get(url.clone())).await?;
        let (first, last) = match response.status {
            s if s.is_success() => {
                let body: Value = response.json(KIND)?;
                let account = body.get("accountData").unwrap_or(&body);
                let info = account.get("basicInfo").unwrap_or(account);
                let text = |k: &str| {
                    info.get(k)
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                };
                (text("firstName"), text("lastName"))
            }
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => (None, None),
            _ => return Err(self.fail(call, &response)),
        };
        let username = match (&first, &last) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (Some(n), None) | (None, Some(n)) => Some(n.clone()),
            (None, None) => None,
        };
        Ok(ConnectionProfile {
            provider_profile: Some(json!({ "door": DOOR.id, "polar_user_id": user_id })),
            provider_user_id: user_id,
            username,
            email: None,
        })
    }

    async fn revoke(
        &self,
        _call: &Call<'_>,
        _creds: &ClientCredentials,
        _provider_user_id: Option<&str>,
    ) -> Result<()> {
        Err(Error::Provider {
            provider: KIND,
            status: None,
            message: format!(
                "Polar has no revoke API for AccessLink v4: Tributary forgot its tokens, but \
                 Polar still lists the grant until you remove Tributary from the connected \
                 services in Polar Flow's settings ({REMOVE_BY_HAND})"
            ),
        })
    }

    async fn list_activities(
        &self,
        call: &Call<'_>,
        request: &ListRequest,
    ) -> Result<ActivityPage> {
        let now = call.clock.now();
        // Local times are within ±14 h of UTC: the first window ends two days ahead, so no
        // session started "today" anywhere is left out.
        let end = day_start(now.date_naive() + Duration::days(2));
        // The walk's floor: a day before `since` (the windows are in local time), or the
        // history's. Later pages carry it in the cursor (the engine passes `since` only once).
        let history = day_start(HISTORY_FLOOR);
        let since_floor = request
            .since
            .map(|s| day_start(s.date_naive() - Duration::days(1)).max(history));
        // The cursor: where the next window ends, how many empty windows came before it, and
        // the walk's floor when it has one ("to/empty[/floor]").
        let (to, empty, floor) = match &request.cursor {
            Some(cursor) => Cursor::parse(cursor).ok_or_else(|| {
                // Internal: the engine forgets a cursor it cannot resume from.
                Error::Internal(format!("'{cursor}' is not a Polar v4 cursor"))
            })?,
            None => (end, 0, since_floor),
        };
        let bounded = floor.is_some();
        let floor = floor.unwrap_or(history);
        let from = (to - Duration::days(WINDOW_DAYS)).max(floor);
        if from >= to {
            return Ok(ActivityPage::default());
        }
        let sessions = self.sessions(call, from, to, &[]).await?;
        let sports = if sessions.is_empty() {
            Arc::new(HashMap::new())
        } else {
            self.sport_names(call).await
        };
        let span = (end - floor).num_seconds().max(1) as f64;
        let empty = if sessions.is_empty() { empty + 1 } else { 0 };
        // A walk since a date reads every window to it; a walk of the whole history stops
        // after years of nothing.
        let more = from > floor && (bounded || empty < EMPTY_WINDOWS_END);
        // A session without its offset is placed by the athlete's (read once, when one comes).
        let fallback = match sessions
            .iter()
            .any(|s| s.get("timezoneOffsetMinutes").is_none())
        {
            true => self.account_offset(call).await,
            false => None,
        };
        Ok(ActivityPage {
            items: sessions
                .into_iter()
                .map(|raw| session(raw, &sports, fallback))
                .collect(),
            next_cursor: more.then(|| Cursor::format(from, empty, bounded.then_some(floor))),
            position: None,
            progress: Some(((end - from).num_seconds() as f64 / span).clamp(0.0, 1.0)),
        })
    }

    /// The session's samples, laps and route: the one-day list with those features, which
    /// holds the session (v4 has no files and no per-session endpoint).
    async fn fetch_recording(
        &self,
        call: &Call<'_>,
        request: &RecordingRequest<'_>,
    ) -> Result<FetchedRecording> {
        let Some(start) = request
            .summary
            .get("startTime")
            .and_then(Value::as_str)
            .and_then(local_time)
        else {
            return Ok(FetchedRecording::Missing(
                "the session's listing has no start time to find it by".to_owned(),
            ));
        };
        let day = day_start(start.date());
        let sessions = self
            .sessions(
                call,
                day,
                day + Duration::days(1),
                &["samples", "laps", "routes"],
            )
            .await?;
        let found = sessions.iter().find(|s| {
            s.pointer("/identifier/id").and_then(Value::as_str)
                == Some(request.provider_activity_id)
        });
        let Some(found) = found else {
            return Ok(FetchedRecording::Missing(
                "Polar no longer lists this session".to_owned(),
            ));
        };
        let streams = streams(found);
        Ok(match streams.is_empty() {
            true => FetchedRecording::Missing("Polar has no samples for this session".to_owned()),
            false => FetchedRecording::Streams(streams),
        })
    }
}

/// AccessLink v4's capabilities.
pub fn capabilities() -> Capabilities {
    Capabilities {
        display_name: "Polar",
        sign_in: SignIn::Browser,
        client_auth: ClientAuth::Basic,
        pkce: false,
        client_secret_required: true,
        refresh: RefreshStyle::Rotating,
        delivery: Delivery::Pull,
        history_window_days: None,
        // Sessions synced late from a watch or the phone: a week's windows are one request.
        overlap_days: 7,
        scopes: vec!["training_sessions:read", "sports:read", "profile:read"],
        scope_delimiter: " ",
        required_scopes: vec!["training_sessions:read"],
        rate_limits: vec![
            RateLimitWindow {
                window: "15 min",
                seconds: 900,
                limit: 3_000,
                shared_by: "app",
            },
            RateLimitWindow {
                window: "24 h",
                seconds: 86_400,
                limit: 100_000,
                shared_by: "app",
            },
        ],
        loopback_host: "localhost",
        deep_link_host: "oauth",
        // The same registered redirects as v3: Polar compares the whole URL [doc].
        redirects: Redirects {
            deep_link: true,
            loopback_port: Some(LOOPBACK_PORT),
        },
        recordings: super::super::Recordings::Streams,
        implemented: true,
        app_settings_url: Some("https://admin.polaraccesslink.com"),
        activity_page: None,
        revoke_before_new_grant: false,
        door: DOOR,
        // v3's hashed exercise ids are not v4's session ids [3P]: a connection moving from v3
        // has its copies matched by start.
        ids_differ_from: vec![super::V3_DOOR.id],
        // No deletion feed; a list is no proof a session is gone.
        absence_is_deletion: false,
    }
}

/// A walk's place: the next window's end, the empty windows so far, the walk's floor if any.
struct Cursor;

impl Cursor {
    fn format(to: NaiveDateTime, empty: u32, floor: Option<NaiveDateTime>) -> String {
        match floor {
            Some(floor) => format!("{}/{empty}/{}", to.format(LOCAL), floor.format(LOCAL)),
            None => format!("{}/{empty}", to.format(LOCAL)),
        }
    }

    fn parse(text: &str) -> Option<(NaiveDateTime, u32, Option<NaiveDateTime>)> {
        let mut parts = text.split('/');
        let to = NaiveDateTime::parse_from_str(parts.next()?, LOCAL).ok()?;
        let empty = parts.next().map_or(Some(0), |e| e.parse().ok())?;
        let floor = match parts.next() {
            Some(f) => Some(NaiveDateTime::parse_from_str(f, LOCAL).ok()?),
            None => None,
        };
        parts.next().is_none().then_some((to, empty, floor))
    }
}

fn day_start(day: NaiveDate) -> NaiveDateTime {
    day.and_time(NaiveTime::MIN)
}

/// A local date-time as Polar writes it (no zone; a zoned one, as some fixtures show, is read
/// as its own local time).
fn local_time(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .or_else(|| {
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.naive_local())
        })
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// What Polar said in an error body (`error` or `errorMessage`), shortened.
fn polar_message(body: &[u8]) -> String {
    let said = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        ["errorMessage", "error", "message"]
            .iter()
            .find_map(|k| v.get(k).and_then(Value::as_str).map(str::to_owned))
    });
    let text = said.unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let text: String = text.chars().take(200).collect();
    match text.trim() {
        "" => "no reason given".to_owned(),
        t => t.to_owned(),
    }
}

/// A number as proto3 JSON writes it: a number, or a string holding one (`"NaN"` and
/// non-numbers are absent).
fn number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|v| v.is_finite())
}

/// A protobuf `Duration` in JSON (`"80s"`, `"3600.5s"`, `"-1s"`), in seconds.
pub(crate) fn proto_duration(text: &str) -> Option<f64> {
    let seconds: f64 = text.trim().strip_suffix('s')?.parse().ok()?;
    seconds.is_finite().then_some(seconds)
}

/// A session's length in seconds: `durationMillis` (int64: a number or a string), or a
/// protobuf duration string under `duration`.
fn duration_seconds(raw: &Value) -> std::result::Result<Option<i64>, String> {
    let seconds = match (raw.get("durationMillis"), raw.get("duration")) {
        (Some(ms), _) if !ms.is_null() => Some(
            number(Some(ms)).ok_or_else(|| format!("durationMillis {ms} is not a number"))? / 1e3,
        ),
        (_, Some(Value::String(d))) => Some(
            proto_duration(d)
                .ok_or_else(|| format!("duration '{d}' is not a protobuf duration"))?,
        ),
        (_, Some(Value::Null) | None) => None,
        (_, Some(other)) => return Err(format!("duration {other} is not a protobuf duration")),
    };
    match seconds {
        // A session longer than a fortnight is not one.
        Some(s) if !(0.0..=14.0 * 86_400.0).contains(&s) => {
            Err(format!("a duration of {s} s is not a session's"))
        }
        Some(s) => Ok(Some(s.round() as i64)),
        None => Ok(None),
    }
}

/// `/v4/data/sports/list` as id → name, read tolerantly: a list (or `{"sports": [...]}`) of
/// `{id, name}` where the id may be a string, a number, `{"id": ...}` or `identifier.id`.
fn sport_catalogue(body: &Value) -> HashMap<String, String> {
    let list = body
        .get("sports")
        .and_then(Value::as_array)
        .or_else(|| body.as_array());
    let id_of = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Object(o) => o.get("id").and_then(|i| match i {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }),
            _ => None,
        }
    };
    list.into_iter()
        .flatten()
        .take(10_000)
        .filter_map(|s| {
            let id = s
                .get("id")
                .or_else(|| s.get("identifier"))
                .and_then(id_of)?;
            let name = s.get("name").and_then(Value::as_str)?;
            Some((id, name.to_owned()))
        })
        .collect()
}

/// A v4 training session → an activity. Pure; never panics on any JSON.
pub(crate) fn session(
    raw: Value,
    sports: &HashMap<String, String>,
    fallback_offset: Option<i32>,
) -> std::result::Result<NewActivity, Unmappable> {
    let id = raw
        .pointer("/identifier/id")
        .and_then(Value::as_str)
        .filter(|i| !i.is_empty() && i.len() <= 128)
        .map(str::to_owned);
    let fail = |reason: String| Unmappable {
        provider_activity_id: id.clone(),
        reason,
    };
    if !raw.is_object() {
        return Err(fail(format!(
            "a session is {}, not an object",
            kind_of(&raw)
        )));
    }
    let id = id
        .clone()
        .ok_or_else(|| fail("the session has no identifier.id".to_owned()))?;
    let start = raw
        .get("startTime")
        .and_then(Value::as_str)
        .ok_or_else(|| fail("the session has no startTime".to_owned()))?;
    let local = local_time(start)
        .ok_or_else(|| fail(format!("startTime '{start}' is not a local date-time")))?;
    // Minutes east of UTC. Absent: the athlete's account's offset (a guess, right outside a
    // daylight-saving change; a move from v3 matches such a copy by its local time), else
    // unknown, placed as UTC with no offset said.
    let offset_min = match raw.get("timezoneOffsetMinutes") {
        None | Some(Value::Null) => fallback_offset,
        Some(v) => Some({
            let m = number(Some(v))
                .ok_or_else(|| fail(format!("timezoneOffsetMinutes {v} is not a number")))?;
            if m.abs() > 24.0 * 60.0 || m.fract() != 0.0 {
                return Err(fail(format!(
                    "timezoneOffsetMinutes {m} is not a time-zone offset"
                )));
            }
            m as i32
        }),
    };
    let start_utc = local
        .checked_sub_signed(Duration::minutes(i64::from(offset_min.unwrap_or(0))))
        .map(|utc| Utc.from_utc_datetime(&utc))
        .ok_or_else(|| fail(format!("startTime '{start}' is out of range")))?;
    let elapsed = duration_seconds(&raw).map_err(fail)?;
    let sport_id = match raw.pointer("/sport/id") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let sport_name = sport_id.as_ref().and_then(|i| sports.get(i)).cloned();
    let sport = sport_name
        .as_deref()
        .map_or(crate::domain::Sport::Other, |n| v3map::sport(n, n));
    let positive = |k: &str| number(raw.get(k)).filter(|v| *v >= 0.0);
    let heart = |k: &str| number(raw.get(k)).filter(|v| (1.0..=300.0).contains(v));
    let ascent: Option<f64> = raw
        .get("exercises")
        .and_then(Value::as_array)
        .map(|ex| {
            ex.iter()
                .take(100)
                .filter_map(|e| number(e.get("ascentMeters")))
                .filter(|a| (0.0..=100_000.0).contains(a))
                .sum()
        })
        .filter(|a: &f64| *a > 0.0);
    let device = raw
        .pointer("/product/modelName")
        .and_then(Value::as_str)
        .or_else(|| raw.get("deviceId").and_then(Value::as_str))
        .map(str::to_owned);
    Ok(NewActivity {
        provider_activity_id: id,
        sport,
        name: Some(v3map::title(sport)),
        start_utc,
        utc_offset_seconds: offset_min.map(|m| m * 60),
        elapsed_seconds: elapsed,
        moving_seconds: None,
        distance_m: positive("distanceMeters"),
        elevation_gain_m: ascent,
        avg_heart_rate: heart("hrAvg"),
        max_heart_rate: heart("hrMax"),
        calories: positive("calories"),
        avg_power_w: None,
        max_power_w: None,
        device,
        raw,
    })
}

/// The series kinds Polar's sample types feed, and the factor to our unit (speed: km/h → m/s).
fn sample_kind(kind: &str) -> Option<(StreamKind, f64)> {
    Some(match kind {
        "HEART_RATE" | "SAMPLE_TYPE_HEART_RATE" => (StreamKind::HeartRate, 1.0),
        "SPEED" | "SAMPLE_TYPE_SPEED" => (StreamKind::Speed, 1.0 / 3.6),
        "CADENCE" | "SAMPLE_TYPE_CADENCE" => (StreamKind::Cadence, 1.0),
        "ALTITUDE" | "SAMPLE_TYPE_ALTITUDE" => (StreamKind::Altitude, 1.0),
        "DISTANCE" | "SAMPLE_TYPE_DISTANCE" => (StreamKind::Distance, 1.0),
        "TEMPERATURE" | "SAMPLE_TYPE_TEMPERATURE" => (StreamKind::Temperature, 1.0),
        "LEFT_CRANK_CURRENT_POWER" | "POWER" | "SAMPLE_TYPE_LEFT_CRANK_CURRENT_POWER" => {
            (StreamKind::Power, 1.0)
        }
        _ => return None,
    })
}

/// A session's samples, route and laps (asked with `features`) as streams. Each exercise is
/// placed at its own start against the session's; a sample `i` of a series lies at
/// `i × intervalMillis` from its exercise's start, a waypoint at its `elapsedMillis` from the
/// route's start. Garbage is left out, never a reason to fail.
pub(crate) fn streams(session: &Value) -> Streams {
    let session_start = session
        .get("startTime")
        .and_then(Value::as_str)
        .and_then(local_time);
    let offset_min = number(session.get("timezoneOffsetMinutes"))
        .filter(|m| m.abs() <= 24.0 * 60.0)
        .unwrap_or(0.0) as i64;
    // Rows by milliseconds from the session's start.
    let mut rows: BTreeMap<i64, Vec<(StreamKind, Option<f64>)>> = BTreeMap::new();
    let mut laps = Vec::new();
    let since_session = |text: Option<&str>| -> i64 {
        match (text.and_then(local_time), session_start) {
            (Some(t), Some(s)) => (t - s).num_milliseconds().max(0),
            _ => 0,
        }
    };
    let exercises = session
        .get("exercises")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for exercise in exercises.iter().take(100) {
        let base = since_session(exercise.get("startTime").and_then(Value::as_str));
        let series = exercise
            .pointer("/samples/samples")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for s in series.iter().take(32) {
            let Some((kind, factor)) = s.get("type").and_then(Value::as_str).and_then(sample_kind)
            else {
                continue;
            };
            let Some(interval) = number(s.get("intervalMillis")).filter(|i| *i >= 1.0) else {
                continue;
            };
            let values = s
                .get("values")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            for (i, v) in values.iter().take(MAX_SAMPLES).enumerate() {
                let at = base.saturating_add((i as f64 * interval) as i64);
                rows.entry(at)
                    .or_default()
                    .push((kind, number(Some(v)).map(|x| x * factor)));
            }
        }
        if let Some(route) = exercise.pointer("/routes/route") {
            let route_base = route
                .get("startTime")
                .and_then(Value::as_str)
                .map_or(base, |t| since_session(Some(t)));
            let points = route
                .get("wayPoints")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            for p in points.iter().take(MAX_SAMPLES) {
                let (Some(lat), Some(lon)) =
                    (number(p.get("latitude")), number(p.get("longitude")))
                else {
                    continue;
                };
                let at = route_base
                    .saturating_add(number(p.get("elapsedMillis")).unwrap_or(0.0).max(0.0) as i64);
                let row = rows.entry(at).or_default();
                row.push((StreamKind::Lat, Some(lat)));
                row.push((StreamKind::Lon, Some(lon)));
                if !row.iter().any(|(k, _)| *k == StreamKind::Altitude) {
                    row.push((StreamKind::Altitude, number(p.get("altitude"))));
                }
            }
        }
        let lap_list = exercise
            .pointer("/laps/laps")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for lap in lap_list.iter().take(10_000) {
            let (Some(split), Some(length)) = (
                number(lap.get("splitTimeMillis")).filter(|v| *v >= 0.0),
                number(lap.get("durationMillis")).filter(|v| *v >= 0.0),
            ) else {
                continue;
            };
            // `splitTimeMillis` is the lap's end from the exercise's start.
            laps.push(Lap {
                start_s: (base as f64 + (split - length).max(0.0)) / 1e3,
                elapsed_s: length / 1e3,
                distance_m: number(lap.get("distanceMeters")).filter(|d| *d >= 0.0),
                avg_heart_rate: number(lap.pointer("/heartRate/avg")),
                max_heart_rate: number(lap.pointer("/heartRate/max")),
                avg_power_w: None,
                avg_speed_mps: None,
            });
        }
    }
    let start_unix = session_start
        .and_then(|s| s.checked_sub_signed(Duration::minutes(offset_min)))
        .map_or(0, |utc| utc.and_utc().timestamp());
    let mut builder = crate::recording::Builder::default();
    for (at, values) in rows {
        if !builder.push(start_unix as f64 + at as f64 / 1e3, &values) {
            break;
        }
    }
    builder.laps = laps;
    builder.utc_offset = i32::try_from(offset_min * 60).ok();
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn catalogue() -> HashMap<String, String> {
        HashMap::from([
            ("1".to_owned(), "RUNNING".to_owned()),
            ("2".to_owned(), "CYCLING".to_owned()),
            ("27".to_owned(), "TRAIL_RUNNING".to_owned()),
        ])
    }

    #[test]
    fn a_session_is_placed_by_its_local_start_and_offset() {
        let a = session(
            json!({
                "identifier": {"id": "6f1c2a4e-9b1d-4e0a-8a52-0c7d1b2e3f40"},
                "startTime": "2026-05-29T18:07:39",
                "timezoneOffsetMinutes": 180,
                "durationMillis": "3723000",
                "distanceMeters": 10234.5,
                "calories": 612,
                "hrAvg": 148, "hrMax": 176,
                "sport": {"id": "27"},
                "product": {"modelName": "Polar Grit X2"},
                "exercises": [{"ascentMeters": 120.5}, {"ascentMeters": "30"}]
            }),
            &catalogue(),
            None,
        )
        .unwrap();
        assert_eq!(
            a.provider_activity_id,
            "6f1c2a4e-9b1d-4e0a-8a52-0c7d1b2e3f40"
        );
        // Local = UTC + offset: 18:07:39 at UTC+3 is 15:07:39 UTC.
        assert_eq!(
            a.start_utc,
            Utc.with_ymd_and_hms(2026, 5, 29, 15, 7, 39).unwrap()
        );
        assert_eq!(a.utc_offset_seconds, Some(10_800));
        assert_eq!(a.elapsed_seconds, Some(3723));
        assert_eq!(a.sport, crate::domain::Sport::TrailRun);
        assert_eq!(a.elevation_gain_m, Some(150.5));
        assert_eq!(a.device.as_deref(), Some("Polar Grit X2"));
        // A protobuf duration string reads the same as the millis.
        let b = session(
            json!({"identifier": {"id": "x"}, "startTime": "2026-05-29T18:07:39", "duration": "80s", "sport": {"id": 1}}),
            &catalogue(),
            None,
        )
        .unwrap();
        assert_eq!(b.elapsed_seconds, Some(80));
        assert_eq!(b.sport, crate::domain::Sport::Run);
        assert_eq!(b.utc_offset_seconds, None, "no offset said, none guessed");
        // Without its own offset, the account's places it.
        let c = session(
            json!({"identifier": {"id": "y"}, "startTime": "2026-05-29T18:07:39"}),
            &catalogue(),
            Some(120),
        )
        .unwrap();
        assert_eq!(
            c.start_utc,
            Utc.with_ymd_and_hms(2026, 5, 29, 16, 7, 39).unwrap()
        );
        assert_eq!(c.utc_offset_seconds, Some(7200));
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        for (raw, why) in [
            (json!({"startTime": "2026-05-29T18:07:39"}), "identifier"),
            (json!({"identifier": {"id": "a"}}), "startTime"),
            (
                json!({"identifier": {"id": "a"}, "startTime": "yesterday"}),
                "not a local",
            ),
            (
                json!({"identifier": {"id": "a"}, "startTime": "2026-05-29T18:07:39", "timezoneOffsetMinutes": 99999}),
                "offset",
            ),
            (
                json!({"identifier": {"id": "a"}, "startTime": "2026-05-29T18:07:39", "duration": "eighty"}),
                "protobuf",
            ),
            (
                json!({"identifier": {"id": "a"}, "startTime": "2026-05-29T18:07:39", "durationMillis": 9e18}),
                "not a session",
            ),
            (json!([1, 2]), "not an object"),
        ] {
            let e = session(raw, &catalogue(), None).unwrap_err();
            assert!(e.reason.contains(why), "{why}: {}", e.reason);
        }
    }

    #[test]
    fn a_cursor_keeps_the_walks_floor_and_garbage_is_no_cursor() {
        let to = day_start(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap());
        let floor = day_start(NaiveDate::from_ymd_opt(2025, 11, 1).unwrap());
        assert_eq!(
            Cursor::parse(&Cursor::format(to, 3, Some(floor))),
            Some((to, 3, Some(floor)))
        );
        assert_eq!(
            Cursor::parse(&Cursor::format(to, 0, None)),
            Some((to, 0, None))
        );
        assert_eq!(Cursor::parse("2026-03-01T00:00:00"), Some((to, 0, None)));
        for garbage in [
            "",
            "x",
            "2026-03-01T00:00:00/-1",
            "2026-03-01T00:00:00/1/x",
            "2026-03-01T00:00:00/1/2026-01-01T00:00:00/9",
        ] {
            assert_eq!(Cursor::parse(garbage), None, "{garbage}");
        }
    }

    #[test]
    fn durations_read_protobuf_strings() {
        assert_eq!(proto_duration("80s"), Some(80.0));
        assert_eq!(proto_duration("3600.500s"), Some(3600.5));
        assert_eq!(proto_duration("80"), None);
        assert_eq!(proto_duration("NaNs"), None);
        assert_eq!(proto_duration("infs"), None);
    }

    #[test]
    fn samples_laps_and_route_become_streams() {
        let s = streams(&json!({
            "startTime": "2026-05-29T18:00:00",
            "timezoneOffsetMinutes": 120,
            "exercises": [{
                "startTime": "2026-05-29T18:00:00",
                "samples": {"samples": [
                    {"type": "HEART_RATE", "intervalMillis": 1000, "values": [100, "NaN", 102]},
                    {"type": "SPEED", "intervalMillis": 1000, "values": [36, 36, 36]},
                    {"type": "RR", "intervalMillis": 1, "values": [1]}
                ]},
                "routes": {"route": {"startTime": "2026-05-29T18:00:00", "wayPoints": [
                    {"latitude": 60.1, "longitude": 24.9, "altitude": 12, "elapsedMillis": 0},
                    {"latitude": 60.2, "longitude": 25.0, "elapsedMillis": 2000}
                ]}},
                "laps": {"laps": [{"splitTimeMillis": 2000, "durationMillis": 2000, "distanceMeters": 20}]}
            }]
        }));
        assert_eq!(
            s.start,
            Some(
                Utc.with_ymd_and_hms(2026, 5, 29, 16, 0, 0)
                    .unwrap()
                    .timestamp()
            )
        );
        assert_eq!(s.get(StreamKind::Time), Some(&[0.0, 1.0, 2.0][..]));
        let hr = s.get(StreamKind::HeartRate).unwrap();
        assert_eq!(hr[0], 100.0);
        assert!(hr[1].is_nan());
        assert_eq!(s.get(StreamKind::Speed).unwrap()[0], 10.0);
        assert_eq!(s.get(StreamKind::Lat).unwrap()[2], 60.2);
        assert_eq!(s.laps.len(), 1);
        assert_eq!(s.laps[0].elapsed_s, 2.0);
        assert_eq!(s.utc_offset, Some(7200));
    }

    #[test]
    fn the_catalogue_reads_every_shape_seen() {
        let a = sport_catalogue(&json!([{"id": {"id": "1"}, "name": "RUNNING"}]));
        let b = sport_catalogue(&json!({"sports": [{"identifier": {"id": 2}, "name": "CYCLING"}]}));
        let c = sport_catalogue(&json!([{"id": "27", "name": "TRAIL_RUNNING"}, {"id": null}]));
        assert_eq!(a.get("1").map(String::as_str), Some("RUNNING"));
        assert_eq!(b.get("2").map(String::as_str), Some("CYCLING"));
        assert_eq!(c.len(), 1);
        assert!(sport_catalogue(&json!("garbage")).is_empty());
    }

    fn field() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            any::<u32>().prop_map(|s| json!(format!("{s}s"))),
            "[0-9.eE+-]{0,12}s?".prop_map(Value::from),
            ".{0,20}".prop_map(Value::from),
            Just(json!("NaN")),
            Just(json!("9999999999999999999999")),
            Just(json!({"id": "1"})),
        ]
    }

    proptest! {
        /// Any values in any of the fields the mapper reads, absent or present: it maps or
        /// refuses with a reason, never panics, and what it maps is sane.
        #[test]
        fn the_mapper_never_panics_and_keeps_what_it_maps_sane(
            fields in proptest::collection::vec(
                (prop_oneof![
                    Just("startTime"), Just("timezoneOffsetMinutes"), Just("durationMillis"),
                    Just("duration"), Just("distanceMeters"), Just("calories"), Just("hrAvg"),
                    Just("hrMax"), Just("sport"), Just("exercises"), Just("identifier"),
                ], field()),
                0..10,
            ),
            start in "2026-0[1-9]-1[0-9]T[01][0-9]:[0-5][0-9]:[0-5][0-9]",
            keep_start in any::<bool>(),
        ) {
            let mut raw = json!({"identifier": {"id": "s-1"}});
            if keep_start {
                raw["startTime"] = json!(start);
            }
            for (k, v) in fields {
                raw[k] = v;
            }
            if let Ok(a) = session(raw.clone(), &catalogue(), None) {
                prop_assert!(a.elapsed_seconds.is_none_or(|e| (0..=14 * 86_400).contains(&e)));
                prop_assert!(a.distance_m.is_none_or(|d| d >= 0.0 && d.is_finite()));
                prop_assert!(a.avg_heart_rate.is_none_or(|h| (1.0..=300.0).contains(&h)));
                prop_assert!(a.utc_offset_seconds.is_none_or(|o| o.abs() <= 86_400));
            }
            let _ = streams(&raw);
        }
    }
}
