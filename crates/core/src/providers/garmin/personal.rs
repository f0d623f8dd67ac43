//! Garmin Connect's Personal API (October 2026): Garmin's door for individuals, now that the
//! partner program takes no new developers. The athlete creates a personal API key on Garmin
//! Connect web (30 to 365 days, shown once) and pastes it; we exchange it for a short-lived
//! access token (a JWT, about a day) and exchange it again when that runs out. Activities are
//! pulled from the same host, offset-paged with a small page (larger pages fail).
//!
//! Facts and their sources (`[doc]`: Garmin's own pages and its Python client
//! `garmin-connect-personal-api-python`; `[3P]`: gcpapi-sync, MCP servers):
//! - Exchange: `POST …/personalapitoken-service/personal-api/personal-api-key/token`,
//!   `Authorization: ApiKey <key>`, no body; the answer is the JWT as plain text, its expiry in
//!   the `exp` claim; no refresh token [doc]. About 24 h [3P]; a day is assumed when `exp` is
//!   missing (Garmin's client refuses such a token; we are tolerant).
//! - A refused key: 400, 401 or 403 on the exchange [3P]; the body is unverified.
//! - List: `GET /activitylist-service/activities/search/activities?start&limit&startDate&endDate`
//!   [doc]; dates are local and inclusive [3P]; offset paging, a short page ends it [3P]; pages
//!   over about 45 answer 500 [3P], so 20 a page.
//! - Rate limits: none published; bursts answer 429 with `Retry-After` in seconds [3P].
//! - No revocation endpoint: the athlete deletes the key on Garmin Connect [doc: the FAQ]; no
//!   identity endpoint: `ownerId` on activities, `displayName` in the profile settings [3P].
//!
//! Both URLs are configurable (`TRIBUTARY_GARMIN_PERSONAL_TOKEN_URL`,
//! `TRIBUTARY_GARMIN_PERSONAL_API_URL`), as every endpoint is.

use super::super::http::{Call, Http, Response};
use super::super::{
    ActivityPage, Capabilities, ClientAuth, ClientCredentials, Delivery, Endpoints, ListRequest,
    Provider, Redirects, RefreshStyle, SignIn, TokenGrant, Unmappable, endpoint, join, read_cursor,
};
use crate::config::ProviderSettings;
use crate::domain::{ConnectionProfile, NewActivity, ProviderKind};
use crate::secrets::Sensitive;
use crate::{Error, Result};
use async_trait::async_trait;
use base64::Engine as _;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const KIND: ProviderKind = ProviderKind::Garmin;
/// Activities a page (pages over about 45 fail with a 500 [3P]).
const PAGE: u32 = 20;
/// The deepest offset a walk goes to (5,000 pages, the engine's own bound).
const MAX_OFFSET: u32 = 100_000;
/// Where the athlete manages (and deletes) the key.
pub const KEY_PAGE: &str = "https://connect.garmin.com/app/settings/personalApiToken";

/// Whether the Personal API is Garmin's door here: `TRIBUTARY_GARMIN_DOOR=personal`, or no
/// partner client id configured and no door named (the partner program is closed to newcomers).
pub fn chosen(settings: &ProviderSettings) -> bool {
    match settings.door.as_deref() {
        Some(door) => door == "personal",
        None => settings.client_id.is_none(),
    }
}

/// The Personal API client.
pub struct GarminPersonal {
    http: Http,
    endpoints: Endpoints,
}

impl GarminPersonal {
    /// Build from settings (defaults: Garmin's hosts).
    pub fn new(settings: &ProviderSettings, http: Http) -> Result<Self> {
        let token_url = endpoint(
            settings.personal_token_url.as_ref(),
            "https://personal.connectapi.garmin.com/personalapitoken-service/personal-api/personal-api-key/token",
        )?;
        let api_url = endpoint(
            settings.personal_api_url.as_ref(),
            "https://personal.connectapi.garmin.com",
        )?;
        Ok(Self {
            http,
            endpoints: Endpoints {
                // No authorize page: the key is created on Garmin Connect web.
                auth_url: url::Url::parse(KEY_PAGE)
                    .map_err(|e| Error::Internal(format!("bad built-in endpoint: {e}")))?,
                token_url,
                api_url,
            },
        })
    }

    fn fail(&self, call: &Call<'_>, response: &Response) -> Error {
        if response.status == StatusCode::TOO_MANY_REQUESTS {
            return Error::RateLimited {
                provider: KIND,
                until: call.clock.now() + Duration::seconds(retry_after(response)),
            };
        }
        self.http
            .classify(response, call.clock.now() + Duration::minutes(1))
    }
}

/// `Retry-After` in seconds (bounded to an hour), or a minute.
fn retry_after(response: &Response) -> i64 {
    response
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map_or(60, |s| s.clamp(1, 3600))
}

/// The `exp` claim of a JWT (epoch seconds), read without checking the signature: it only says
/// when to exchange the key again.
fn jwt_expiry(token: &str) -> Option<DateTime<Utc>> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    Utc.timestamp_opt(claims.get("exp")?.as_i64()?, 0).single()
}

/// Where a walk is: the offset, and the local-date window it was started with (fixed, so an
/// activity uploaded mid-walk cannot shift the pages).
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    start: u32,
    start_date: Option<NaiveDate>,
    end_date: NaiveDate,
}

/// One summarised activity (lenient: fields documented as present are often null; numbers
/// sometimes arrive as strings [3P]).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    activity_id: Option<Value>,
    activity_name: Option<String>,
    start_time_gmt: Option<String>,
    start_time_local: Option<String>,
    begin_timestamp: Option<Value>,
    activity_type: Option<ActivityType>,
    #[serde(default, deserialize_with = "crate::providers::proto_number")]
    duration: Option<f64>,
    #[serde(default, deserialize_with = "crate::providers::proto_number")]
    elapsed_duration: Option<f64>,
    #[serde(default, deserialize_with = "crate::providers::proto_number")]
    moving_duration: Option<f64>,
    #[serde(default, deserialize_with = "crate::providers::proto_number")]
    distance: Option<f64>,
    #[serde(default, deserialize_with = "crate::providers::proto_number")]
    elevation_gain: Option<f64>,
    #[serde(
        default,
        rename = "averageHR",
        deserialize_with = "crate::providers::proto_number"
    )]
    average_hr: Option<f64>,
    #[serde(
        default,
        rename = "maxHR",
        deserialize_with = "crate::providers::proto_number"
    )]
    max_hr: Option<f64>,
    #[serde(default, deserialize_with = "crate::providers::proto_number")]
    calories: Option<f64>,
    #[serde(default, deserialize_with = "crate::providers::proto_number")]
    avg_power: Option<f64>,
    #[serde(default, deserialize_with = "crate::providers::proto_number")]
    max_power: Option<f64>,
    manufacturer: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActivityType {
    type_key: Option<String>,
}

/// `yyyy-MM-dd HH:mm:ss` (no offset).
fn wall_time(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S").ok()
}

/// An id from a number or a numeric string.
fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        Value::String(s) if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) => {
            Some(s.clone())
        }
        _ => None,
    }
}

/// A list item → an activity. Pure.
pub(super) fn activity(raw: Value) -> std::result::Result<NewActivity, Unmappable> {
    let id_hint = raw.get("activityId").and_then(id_of);
    let fail = |reason: String| Unmappable {
        provider_activity_id: id_hint.clone(),
        reason,
    };
    let wire =
        Summary::deserialize(&raw).map_err(|e| fail(format!("unexpected field type: {e}")))?;
    let id = wire
        .activity_id
        .as_ref()
        .and_then(id_of)
        .ok_or_else(|| fail("the activity has no activityId".to_owned()))?;
    // The start: startTimeGMT, else beginTimestamp (epoch ms; sometimes a string).
    let start_utc = wire
        .start_time_gmt
        .as_deref()
        .and_then(wall_time)
        .map(|t| t.and_utc())
        .or_else(|| {
            let ms = match wire.begin_timestamp.as_ref()? {
                Value::Number(n) => n.as_i64()?,
                Value::String(s) => s.trim().parse().ok()?,
                _ => return None,
            };
            Utc.timestamp_millis_opt(ms).single()
        })
        .ok_or_else(|| fail("the activity has no start time".to_owned()))?;
    // The offset is local minus GMT [unverified derivation], whole quarter hours within ±18 h.
    let offset = wire
        .start_time_local
        .as_deref()
        .and_then(wall_time)
        .map(|local| (local - start_utc.naive_utc()).num_seconds())
        .filter(|s| s.abs() <= 18 * 3600)
        .map(|s| ((s as f64 / 900.0).round() * 900.0) as i32);
    let secs = |v: Option<f64>| {
        v.filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e9)
            .map(|s| s.round() as i64)
    };
    let type_key = wire
        .activity_type
        .and_then(|t| t.type_key)
        .unwrap_or_default()
        .to_ascii_uppercase();
    Ok(NewActivity {
        provider_activity_id: id,
        sport: super::map::sport(&type_key),
        name: wire.activity_name,
        start_utc,
        utc_offset_seconds: offset,
        elapsed_seconds: secs(wire.elapsed_duration.or(wire.duration)),
        moving_seconds: secs(wire.moving_duration),
        distance_m: wire.distance,
        elevation_gain_m: wire.elevation_gain,
        avg_heart_rate: wire.average_hr,
        max_heart_rate: wire.max_hr,
        calories: wire.calories,
        avg_power_w: wire.avg_power,
        max_power_w: wire.max_power,
        device: wire.manufacturer,
        raw,
    })
}

#[async_trait]
impl Provider for GarminPersonal {
    fn kind(&self) -> ProviderKind {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            display_name: "Garmin",
            sign_in: SignIn::PersonalKey,
            // No client app: the key authenticates the exchange.
            client_auth: ClientAuth::PublicPkce,
            pkce: false,
            client_secret_required: false,
            refresh: RefreshStyle::KeyExchange,
            delivery: Delivery::Pull,
            history_window_days: None,
            overlap_days: 3,
            scopes: Vec::new(),
            scope_delimiter: " ",
            required_scopes: Vec::new(),
            // None published; bursts are answered with 429 and Retry-After [3P].
            rate_limits: Vec::new(),
            loopback_host: "localhost",
            deep_link_host: "oauth",
            redirects: Redirects {
                deep_link: false,
                loopback_port: None,
            },
            recordings: super::super::Recordings::Originals,
            implemented: true,
            app_settings_url: None,
            activity_page: Some("https://connect.garmin.com/modern/activity/{id}"),
            revoke_before_new_grant: false,
            door: super::super::Door {
                id: "personal",
                name: "Garmin Connect Personal API",
                revoke_by_hand: Some(KEY_PAGE),
            },
            ids_differ_from: vec![],
            absence_is_deletion: true,
        }
    }

    fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    fn http(&self) -> &Http {
        &self.http
    }

    async fn exchange_key(&self, call: &Call<'_>, key: &Sensitive<String>) -> Result<TokenGrant> {
        let url = self.endpoints.token_url.clone();
        let header = format!("ApiKey {}", key.expose());
        let response = self
            .http
            .send(call, |c| {
                c.post(url.clone())
                    .header("Authorization", header.as_str())
                    .header("Accept", "*/*")
            })
            .await?;
        match response.status {
            s if s.is_success() => {}
            StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(Error::NeedsReauth {
                    provider: KIND,
                    reason: format!(
                        "Garmin refused the personal API key (expired or deleted?): create a \
                         new one at {KEY_PAGE} and paste it"
                    ),
                });
            }
            _ => return Err(self.fail(call, &response)),
        }
        let token = String::from_utf8_lossy(&response.body).trim().to_owned();
        if token.is_empty() || token.len() > 16 * 1024 || token.contains(char::is_whitespace) {
            return Err(Error::Provider {
                provider: KIND,
                status: Some(response.status.as_u16()),
                message: "the key exchange answered something that is not a token".to_owned(),
            });
        }
        let now = call.clock.now();
        let expires_at = jwt_expiry(&token)
            .filter(|t| *t > now)
            .unwrap_or(now + Duration::hours(24));
        Ok(TokenGrant {
            access_token: Sensitive::new(token),
            refresh_token: None,
            expires_at: Some(expires_at),
            scopes: None,
            extra: serde_json::Map::new(),
        })
    }

    /// The key is exchanged again: it is what the vault keeps where a refresh token would be.
    async fn refresh(
        &self,
        call: &Call<'_>,
        _creds: &ClientCredentials,
        key: &Sensitive<String>,
        _access_token: &Sensitive<String>,
    ) -> Result<TokenGrant> {
        self.exchange_key(call, key).await
    }

    async fn fetch_profile(
        &self,
        call: &Call<'_>,
        _grant: &TokenGrant,
    ) -> Result<ConnectionProfile> {
        let url = join(
            &self.endpoints.api_url,
            "userprofile-service/userprofile/settings",
        );
        let response = self.http.send(call, |c| c.get(url.clone())).await?;
        if !response.status.is_success() {
            return Err(self.fail(call, &response));
        }
        let settings: Value = response.json(KIND)?;
        let display_name = settings
            .get("displayName")
            .and_then(Value::as_str)
            .map(str::to_owned);
        // No identity endpoint: the owner id on the newest activity, when there is one.
        let mut list = join(
            &self.endpoints.api_url,
            "activitylist-service/activities/search/activities",
        );
        list.query_pairs_mut()
            .append_pair("start", "0")
            .append_pair("limit", "1");
        let response = self.http.send(call, |c| c.get(list.clone())).await?;
        let owner = response
            .status
            .is_success()
            .then(|| response.json::<Vec<Value>>(KIND).ok())
            .flatten()
            .and_then(|items| items.first().and_then(|a| a.get("ownerId").and_then(id_of)));
        Ok(ConnectionProfile {
            provider_user_id: owner.clone().or_else(|| display_name.clone()),
            username: display_name.clone(),
            email: None,
            provider_profile: Some(json!({
                "door": "personal",
                "ownerId": owner,
                "displayName": display_name,
            })),
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
                "Garmin's Personal API has no way to revoke a key from an app: delete it \
                 yourself at {KEY_PAGE}"
            ),
        })
    }

    /// The original from Garmin's download service, `GET /download-service/files/activity/{id}`:
    /// a ZIP holding the FIT the device wrote (with Garmin's own metrics, which partner copies
    /// lose since late 2026-09).
    async fn fetch_recording(
        &self,
        call: &Call<'_>,
        request: &super::super::RecordingRequest<'_>,
    ) -> Result<super::super::FetchedRecording> {
        let id = request.provider_activity_id;
        if !super::super::path_safe(id) {
            return Ok(super::super::FetchedRecording::Missing(format!(
                "'{id}' is not a Garmin activity id"
            )));
        }
        let url = super::super::join(
            &self.endpoints.api_url,
            &format!("download-service/files/activity/{id}"),
        );
        super::super::api_file(&self.http, call, &url, |r| self.fail(call, r)).await
    }

    async fn list_activities(
        &self,
        call: &Call<'_>,
        request: &ListRequest,
    ) -> Result<ActivityPage> {
        let cursor = match &request.cursor {
            Some(text) => read_cursor::<Cursor>(KIND, text)?,
            None => Cursor {
                start: 0,
                // Local dates, inclusive: a day of margin either side covers every offset.
                start_date: request.since.map(|t| (t - Duration::days(1)).date_naive()),
                end_date: (call.clock.now() + Duration::days(1)).date_naive(),
            },
        };
        if cursor.start > MAX_OFFSET {
            return Err(Error::Internal(format!(
                "Garmin's list went past {MAX_OFFSET} activities; stopping"
            )));
        }
        let mut url = join(
            &self.endpoints.api_url,
            "activitylist-service/activities/search/activities",
        );
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("start", &cursor.start.to_string())
                .append_pair("limit", &PAGE.to_string())
                .append_pair("endDate", &cursor.end_date.to_string());
            if let Some(since) = cursor.start_date {
                q.append_pair("startDate", &since.to_string());
            }
        }
        let response = self.http.send(call, |c| c.get(url.clone())).await?;
        if !response.status.is_success() {
            return Err(self.fail(call, &response));
        }
        let items: crate::providers::http::Records = response.json(KIND)?;
        let full = items.len() as u32 >= PAGE;
        let next = full
            .then(|| {
                serde_json::to_string(&Cursor {
                    start: cursor.start + PAGE,
                    ..cursor
                })
                .ok()
            })
            .flatten();
        Ok(ActivityPage {
            items: items.map(activity),
            next_cursor: next,
            position: None,
            progress: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> Value {
        // The shape of a SummarizedActivityDTO as gcpapi-sync's models (from Garmin's OpenAPI
        // document) describe it.
        json!({
            "activityId": 18_234_567_890_u64, "activityName": "Morning Run",
            "startTimeLocal": "2026-10-30 07:30:00", "startTimeGMT": "2026-10-30 06:30:00",
            "beginTimestamp": 1_793_341_800_000_i64,
            "activityType": {"typeId": 1, "typeKey": "running", "parentTypeId": 17},
            "duration": 3605.2, "elapsedDuration": 3720.0, "movingDuration": 3550.9,
            "distance": 10012.3, "elevationGain": 84.0, "averageHR": 151.0, "maxHR": 176.0,
            "calories": 610.0, "ownerId": 4_242, "manufacturer": "GARMIN"
        })
    }

    #[test]
    fn a_summary_maps_with_its_offset_from_local_minus_gmt() {
        let a = activity(item()).unwrap();
        assert_eq!(a.provider_activity_id, "18234567890");
        assert_eq!(
            a.start_utc,
            Utc.with_ymd_and_hms(2026, 10, 30, 6, 30, 0).unwrap()
        );
        assert_eq!(a.utc_offset_seconds, Some(3600));
        assert_eq!(
            (a.elapsed_seconds, a.moving_seconds),
            (Some(3720), Some(3551))
        );
        assert_eq!(a.sport, crate::domain::Sport::Run);
        assert_eq!(
            (a.distance_m, a.avg_heart_rate),
            (Some(10012.3), Some(151.0))
        );
    }

    #[test]
    fn timestamps_and_numbers_may_come_as_strings_and_garbage_is_refused() {
        let mut raw = item();
        raw.as_object_mut().unwrap().remove("startTimeGMT");
        raw["beginTimestamp"] = json!("1793341800000");
        raw["distance"] = json!("10012.3");
        let a = activity(raw).unwrap();
        assert_eq!(
            a.start_utc,
            Utc.with_ymd_and_hms(2026, 10, 30, 6, 30, 0).unwrap()
        );
        assert_eq!(a.distance_m, Some(10012.3));
        let mut bad = item();
        bad["activityId"] = json!("12abc");
        assert!(activity(bad).unwrap_err().reason.contains("activityId"));
        let mut huge = item();
        huge["startTimeLocal"] = json!("2026-11-30 07:30:00");
        assert_eq!(
            activity(huge).unwrap().utc_offset_seconds,
            None,
            "a month is no offset"
        );
    }

    #[test]
    fn the_jwt_expiry_is_read_from_its_claims() {
        let claims =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"exp":1793400000}"#);
        let token = format!("eyJhbGciOiJSUzI1NiJ9.{claims}.sig");
        assert_eq!(
            jwt_expiry(&token),
            Utc.timestamp_opt(1_793_400_000, 0).single()
        );
        assert_eq!(jwt_expiry("not-a-jwt"), None);
        assert_eq!(jwt_expiry("a.!!!.c"), None);
    }

    proptest::proptest! {
        #[test]
        fn any_record_maps_or_is_refused_never_panics(
            raw in crate::providers::fuzz::shaped(&[
                "activityId", "activityName", "startTimeGMT", "startTimeLocal", "beginTimestamp",
                "activityType", "duration", "elapsedDuration", "movingDuration", "distance",
                "averageHR", "calories",
            ]),
        ) {
            let _ = activity(raw);
        }
    }
}
