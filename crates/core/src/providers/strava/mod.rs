//! Strava API v3: OAuth2 authorization code (secret required, no PKCE), 6 h access tokens with
//! refresh tokens that may rotate, `/athlete/activities` paged by `before`/`after`, and app-wide
//! 15-minute and daily budgets reported in `X-RateLimit-*` / `X-ReadRateLimit-*`.
//! Facts and sources: `shared/providers.md`, section 1.

mod map;
mod wire;

use super::SignIn;
use super::http::{Call, Http, RateBudget, Records, Response};
use super::oauth::split_scope;
use super::{
    ActivityPage, Capabilities, ClientAuth, ClientCredentials, Delivery, Endpoints, ListRequest,
    Provider, RateLimitWindow, Redirects, RefreshStyle, TokenGrant, beside, join, read_cursor,
};
use crate::config::ProviderSettings;
use crate::domain::{ConnectionProfile, ProviderKind};
use crate::{Error, Result};
use async_trait::async_trait;
use chrono::{DateTime, Duration, DurationRound, TimeZone, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

const KIND: ProviderKind = ProviderKind::Strava;
/// Strava's maximum page size.
const PER_PAGE: usize = 200;
/// We need to read activities; `activity:read_all` also covers "Only You" ones.
const ACTIVITY_SCOPES: [&str; 2] = ["activity:read_all", "activity:read"];

/// The Strava client.
pub struct Strava {
    http: Http,
    endpoints: Endpoints,
}

/// Where a listing stands: pages walk back in time by `before` (exclusive, epoch seconds),
/// optionally bounded below by `after`. Stable under uploads that arrive mid-sync, unlike page
/// numbers, and resumable after a crash. `before` is one second past the oldest start of the
/// last page, so that activities sharing that second are listed again; `seen` names the ones
/// of that second already read, which are dropped from the next page (read once, counted once).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
struct Cursor {
    before: Option<i64>,
    after: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    seen: Vec<String>,
    /// The page under the same `before`: only while whole pages fall within one second (more
    /// than a page of activities stamped with the same second, which `before` cannot split).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page: Option<u32>,
}

/// The API's base. From 2027-06-01 Strava serves its API at `https://www.api-v3.strava.com`
/// (and takes tokens only in headers, which is all we send): change this one value then, or set
/// `TRIBUTARY_STRAVA_API_URL` before.
const API_URL: &str = "https://www.strava.com/api/v3";

impl Strava {
    /// Build from settings (defaults: the real Strava endpoints).
    pub fn new(settings: &ProviderSettings, http: Http) -> Result<Self> {
        Ok(Self {
            http,
            endpoints: Endpoints::resolve(
                settings,
                [
                    "https://www.strava.com/oauth/authorize",
                    "https://www.strava.com/oauth/token",
                    API_URL,
                ],
            )?,
        })
    }

    fn api(&self, path: &str) -> Url {
        join(&self.endpoints.api_url, path)
    }

    /// The per-token revocation endpoint (since 2026-06-01) sits next to the token endpoint.
    fn revoke_url(&self) -> Url {
        beside(&self.endpoints.token_url, "revoke")
    }

    /// `POST /oauth/revoke`: HTTP Basic client authentication, one token and its type. Only a
    /// 2xx says it is revoked.
    async fn post_revoke(
        &self,
        call: &Call<'_>,
        creds: &ClientCredentials,
        token: &str,
        hint: &str,
    ) -> Result<()> {
        let url = self.revoke_url();
        let secret = creds.client_secret.as_ref().map(|s| s.expose().clone());
        let response = self
            .http
            .send(
                &Call {
                    token: None,
                    ..*call
                },
                |c| {
                    c.post(url.clone())
                        .basic_auth(&creds.client_id, secret.as_deref())
                        .form(&[("token", token), ("token_type_hint", hint)])
                },
            )
            .await?;
        if response.status.is_success() {
            Ok(())
        } else {
            Err(self.fail(call, &response))
        }
    }

    fn fail(&self, call: &Call<'_>, response: &Response) -> Error {
        let body = String::from_utf8_lossy(&response.body);
        if let Some(inactive) = app_inactive(response.status, &body) {
            return inactive;
        }
        // A 401 that names a permission is a scope the athlete unticked, not a dead token.
        if response.status == StatusCode::UNAUTHORIZED && body.contains("_permission") {
            return Error::ScopeMissing {
                provider: KIND,
                missing: ACTIVITY_SCOPES[0].to_owned(),
            };
        }
        let now = call.clock.now();
        let reset = rate_budget(&response.headers, now)
            .filter(|b| b.remaining <= 0)
            .map_or_else(|| next_quarter_hour(now), |b| b.resets_at);
        self.http.classify(response, reset)
    }
}

#[async_trait]
impl Provider for Strava {
    fn kind(&self) -> ProviderKind {
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

    fn authorize_extras(&self) -> &'static [(&'static str, &'static str)] {
        &[("approval_prompt", "auto")]
    }

    async fn fetch_profile(
        &self,
        call: &Call<'_>,
        _grant: &TokenGrant,
    ) -> Result<ConnectionProfile> {
        let url = self.api("athlete");
        let response = self.http.send(call, |c| c.get(url.clone())).await?;
        if !response.status.is_success() {
            return Err(self.fail(call, &response));
        }
        map::profile(response.json(KIND)?).map_err(|message| Error::Provider {
            provider: KIND,
            status: None,
            message,
        })
    }

    async fn revoke(
        &self,
        call: &Call<'_>,
        creds: &ClientCredentials,
        _provider_user_id: Option<&str>,
    ) -> Result<()> {
        // The per-token revocation, not `/oauth/deauthorize` (which Strava retires on
        // 2027-06-01). The caller hands us a live access token (it refreshes an expired one
        // first), and revoking it revokes its refresh token too.
        let Some(token) = call.token.map(|t| t.expose().clone()) else {
            return Err(Error::Internal("revoking without a token".to_owned()));
        };
        self.post_revoke(call, creds, &token, "access_token").await
    }

    /// `GET /activities/{id}/streams` keyed by type: Strava keeps no originals, so its streams
    /// are the recording (one request, the queue's budget). A manual activity has none (404).
    async fn fetch_recording(
        &self,
        call: &Call<'_>,
        request: &super::RecordingRequest<'_>,
    ) -> Result<super::FetchedRecording> {
        let id = request.provider_activity_id;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(super::FetchedRecording::Missing(format!(
                "'{id}' is not a Strava activity id"
            )));
        }
        let mut url = self.api(&format!("activities/{id}/streams"));
        url.query_pairs_mut()
            .append_pair("keys", map::STREAM_KEYS)
            .append_pair("key_by_type", "true");
        let response = self.http.send(call, |c| c.get(url.clone())).await?;
        if response.status == StatusCode::NOT_FOUND {
            return Ok(super::FetchedRecording::Missing(
                "Strava has no streams for it (a manual entry, or it was deleted)".to_owned(),
            ));
        }
        if !response.status.is_success() {
            return Err(self.fail(call, &response));
        }
        let body: Value = response.json(KIND)?;
        match map::streams(&body, request.summary) {
            Ok(streams) => Ok(super::FetchedRecording::Streams(streams)),
            Err(why) => Err(Error::Provider {
                provider: KIND,
                status: Some(response.status.as_u16()),
                message: format!("unreadable streams: {why}"),
            }),
        }
    }

    /// `GET /activities/{id}/laps` (Strava's streams carry no laps).
    async fn fetch_laps(
        &self,
        call: &Call<'_>,
        request: &super::RecordingRequest<'_>,
    ) -> Result<Option<Vec<crate::recording::Lap>>> {
        let id = request.provider_activity_id;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Some(Vec::new()));
        }
        let url = self.api(&format!("activities/{id}/laps"));
        let response = self.http.send(call, |c| c.get(url.clone())).await?;
        if response.status == StatusCode::NOT_FOUND {
            return Ok(Some(Vec::new()));
        }
        if !response.status.is_success() {
            return Err(self.fail(call, &response));
        }
        let body: Value = response.json(KIND)?;
        Ok(Some(map::laps(&body, request.summary)))
    }

    async fn revoke_grant(
        &self,
        call: &Call<'_>,
        creds: &ClientCredentials,
        replaced: &super::GrantTokens,
    ) -> Result<bool> {
        // Revoking either token of a pair revokes both, and nothing else (deauthorize would end
        // the new grant too). The refresh token is the one that lives on.
        let (token, hint) = match &replaced.refresh {
            Some(refresh) => (refresh.expose().clone(), "refresh_token"),
            None => (replaced.access.expose().clone(), "access_token"),
        };
        self.post_revoke(call, creds, &token, hint)
            .await
            .map(|()| true)
    }

    fn history_start(&self, profile: Option<&Value>) -> Option<DateTime<Utc>> {
        // The athlete's `created_at`: nothing on Strava is older.
        let text = profile?.get("created_at")?.as_str()?;
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    async fn list_activities(
        &self,
        call: &Call<'_>,
        request: &ListRequest,
    ) -> Result<ActivityPage> {
        let cursor = match &request.cursor {
            Some(text) => read_cursor(KIND, text)?,
            None => Cursor {
                before: None,
                after: request.since.map(|s| s.timestamp()),
                seen: Vec::new(),
                page: None,
            },
        };
        let mut url = self.api("athlete/activities");
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("per_page", &PER_PAGE.to_string());
            // Always bound `before` so pages come newest first; `after` alone may flip the order.
            let before = cursor
                .before
                .unwrap_or_else(|| call.clock.now().timestamp() + 86_400);
            query.append_pair("before", &before.to_string());
            if let Some(after) = cursor.after {
                query.append_pair("after", &after.to_string());
            }
            if let Some(page) = cursor.page.filter(|p| *p > 1) {
                query.append_pair("page", &page.to_string());
            }
        }
        let response = self.http.send(call, |c| c.get(url.clone())).await?;
        if !response.status.is_success() {
            return Err(self.fail(call, &response));
        }
        let records: Records = response.json(KIND)?;
        let full_page = records.len() >= PER_PAGE;
        let mapped = records.map(map::activity);
        // A full page whose every readable record starts in the same second: `before` (whole
        // seconds) cannot get past it, so the next page is the next one under the same `before`.
        let readable: Vec<(i64, &str)> = mapped
            .iter()
            .filter_map(|i| i.as_ref().ok())
            .map(|a| (a.start_utc.timestamp(), a.provider_activity_id.as_str()))
            .collect();
        let one_second = match readable.first() {
            Some(&(second, _)) if full_page && readable.iter().all(|(t, _)| *t == second) => {
                Some(second)
            }
            _ => None,
        };
        let mut seen = cursor.seen.clone();
        if one_second.is_some() {
            seen.extend(readable.iter().map(|(_, id)| (*id).to_owned()));
        }
        let items: Vec<_> = mapped
            .into_iter()
            .filter(|item| match item {
                Ok(a) => !cursor.seen.contains(&a.provider_activity_id),
                Err(_) => true,
            })
            .collect();
        if let Some(second) = one_second {
            let before = second.checked_add(1);
            let page = match cursor.before == before {
                true => cursor.page.unwrap_or(1).saturating_add(1),
                false => 2,
            };
            let next = Cursor {
                before,
                after: cursor.after,
                seen,
                page: Some(page),
            };
            return Ok(ActivityPage {
                items,
                next_cursor: Some(
                    serde_json::to_string(&next).map_err(|e| Error::Internal(e.to_string()))?,
                ),
                position: None,
                progress: None,
            });
        }
        let oldest = items
            .iter()
            .filter_map(|i| i.as_ref().ok())
            .map(|a| a.start_utc.timestamp())
            .min();
        let next_cursor = match (full_page, oldest) {
            (true, Some(oldest)) => {
                let mut seen: Vec<String> = items
                    .iter()
                    .filter_map(|i| i.as_ref().ok())
                    .filter(|a| a.start_utc.timestamp() == oldest)
                    .map(|a| a.provider_activity_id.clone())
                    .collect();
                // Still inside the same second as before: those read earlier stay read.
                if cursor.before == oldest.checked_add(1) {
                    seen.extend(cursor.seen.iter().cloned());
                }
                let next = Cursor {
                    before: oldest.checked_add(1),
                    after: cursor.after,
                    seen,
                    page: None,
                };
                Some(serde_json::to_string(&next).map_err(|e| Error::Internal(e.to_string()))?)
            }
            // A full page with no readable start cannot move the cursor: stop rather than loop.
            _ => None,
        };
        // Pages walk back in time from now to the floor (`after`, or when the athlete joined):
        // the share of that span already read.
        let floor = cursor
            .after
            .or(request.history_start.map(|t| t.timestamp()));
        let progress = match (floor, oldest, &next_cursor) {
            (_, _, None) => Some(1.0),
            (Some(floor), Some(oldest), Some(_)) => {
                let top = call.clock.now().timestamp();
                let span = top.saturating_sub(floor).max(1) as f64;
                Some((top.saturating_sub(oldest) as f64 / span).clamp(0.0, 1.0))
            }
            _ => None,
        };
        Ok(ActivityPage {
            items,
            next_cursor,
            position: None,
            progress,
        })
    }
}

/// Strava's answer to every call of an application whose owner has no subscription (since
/// 2026-06-30): `403 {"resource":"Application","field":"Status","code":"Inactive"}`
/// (`shared/providers.md` §0c). Any other 403 is not this.
fn app_inactive(status: StatusCode, body: &str) -> Option<Error> {
    if status != StatusCode::FORBIDDEN {
        return None;
    }
    let errors: Vec<wire::FaultEntry> = serde_json::from_str::<wire::Fault>(body)
        .map(|f| f.errors)
        .unwrap_or_default();
    errors
        .iter()
        .any(|e| e.resource == "Application" && e.code == "Inactive")
        .then(|| Error::AppInactive {
            provider: KIND,
            message: format!(
                "Strava refuses the API application Tributary uses: it is inactive (its owner has \
                 no Strava subscription). The application's owner must subscribe and re-activate \
                 it at {APP_SETTINGS}; Tributary tries again once a day. Signing in again does \
                 not help."
            ),
        })
}

/// Where an application's owner manages (and re-activates) it.
const APP_SETTINGS: &str = "https://www.strava.com/settings/api";

/// Strava's capabilities.
pub fn capabilities() -> Capabilities {
    Capabilities {
        display_name: "Strava",
        sign_in: SignIn::Browser,
        client_auth: ClientAuth::SecretInBody,
        pkce: false,
        client_secret_required: true,
        refresh: RefreshStyle::Rotating,
        delivery: Delivery::Pull,
        history_window_days: None,
        overlap_days: 7,
        scopes: vec!["read", "activity:read_all", "profile:read_all"],
        scope_delimiter: ",",
        // We need to read activities; `activity:read_all` also covers "Only You" ones.
        required_scopes: ACTIVITY_SCOPES.to_vec(),
        rate_limits: vec![
            RateLimitWindow {
                window: "15 min",
                seconds: 900,
                limit: 200,
                shared_by: "app",
            },
            RateLimitWindow {
                window: "day",
                seconds: 86400,
                limit: 2000,
                shared_by: "app",
            },
            RateLimitWindow {
                window: "15 min (read)",
                seconds: 900,
                limit: 100,
                shared_by: "app",
            },
            RateLimitWindow {
                window: "day (read)",
                seconds: 86400,
                limit: 1000,
                shared_by: "app",
            },
        ],
        // Strava matches the registered callback domain only; `localhost` is the usual one.
        loopback_host: "localhost",
        // A custom scheme passes only as `scheme://<callback domain>/...`.
        deep_link_host: "localhost",
        redirects: Redirects::ANY,
        recordings: super::Recordings::Streams,
        implemented: true,
        app_settings_url: Some(APP_SETTINGS),
        activity_page: Some("https://www.strava.com/activities/{id}"),
        revoke_before_new_grant: false,
        door: super::Door {
            id: "v3",
            name: "Strava API v3",
            revoke_by_hand: None,
        },
        ids_differ_from: vec![],
        absence_is_deletion: true,
    }
}

/// Read `X-RateLimit-*` and `X-ReadRateLimit-*` ("15min,daily" pairs) into the tightest budget.
/// The 15-minute window resets at :00/:15/:30/:45, the daily one at midnight UTC.
pub fn rate_budget(headers: &HeaderMap, now: DateTime<Utc>) -> Option<RateBudget> {
    let pair = |name: &str| -> Option<(i64, i64)> {
        let text = headers.get(name)?.to_str().ok()?;
        let (a, b) = text.split_once(',')?;
        Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
    };
    let mut tightest: Option<RateBudget> = None;
    for (limit, usage) in [
        ("x-ratelimit-limit", "x-ratelimit-usage"),
        ("x-readratelimit-limit", "x-readratelimit-usage"),
    ] {
        let (Some((short_limit, day_limit)), Some((short_used, day_used))) =
            (pair(limit), pair(usage))
        else {
            continue;
        };
        // Provider numbers: checked, an absurd pair is ignored rather than trusted or panicked on.
        let windows = [
            (short_limit.checked_sub(short_used), next_quarter_hour(now)),
            (day_limit.checked_sub(day_used), next_midnight(now)),
        ];
        for budget in windows.into_iter().filter_map(|(remaining, resets_at)| {
            Some(RateBudget {
                remaining: remaining?,
                resets_at,
            })
        }) {
            let tighter = tightest.is_none_or(|t| {
                (budget.remaining, std::cmp::Reverse(budget.resets_at))
                    < (t.remaining, std::cmp::Reverse(t.resets_at))
            });
            // When both windows are spent, the later reset is the one that matters.
            if tighter {
                tightest = Some(budget);
            }
        }
    }
    tightest.map(|b| RateBudget {
        remaining: b.remaining.max(0),
        ..b
    })
}

fn next_quarter_hour(now: DateTime<Utc>) -> DateTime<Utc> {
    let quarter = Duration::minutes(15);
    now.duration_trunc(quarter)
        .map_or(now + quarter, |start| start + quarter)
}

fn next_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    let date = now.date_naive() + Duration::days(1);
    Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// Scopes from the redirect (Strava reports the granted list there, comma-separated).
pub fn granted_from_redirect(scope: &str) -> Vec<String> {
    split_scope(scope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, h, m, s).unwrap()
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn windows_reset_on_quarter_hours_and_midnight() {
        assert_eq!(next_quarter_hour(at(10, 7, 30)), at(10, 15, 0));
        assert_eq!(next_quarter_hour(at(10, 45, 0)), at(11, 0, 0));
        assert_eq!(
            next_midnight(at(23, 59, 59)),
            Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn the_read_bucket_can_be_the_tightest() {
        let h = headers(&[
            ("x-ratelimit-limit", "200,2000"),
            ("x-ratelimit-usage", "10,100"),
            ("x-readratelimit-limit", "100,1000"),
            ("x-readratelimit-usage", "97,120"),
        ]);
        let budget = rate_budget(&h, at(10, 7, 0)).unwrap();
        assert_eq!(
            budget,
            RateBudget {
                remaining: 3,
                resets_at: at(10, 15, 0)
            }
        );
    }

    #[test]
    fn a_spent_daily_budget_waits_for_midnight() {
        let h = headers(&[
            ("x-ratelimit-limit", "200,2000"),
            ("x-ratelimit-usage", "200,2000"),
        ]);
        let budget = rate_budget(&h, at(10, 7, 0)).unwrap();
        assert_eq!(budget.remaining, 0);
        assert_eq!(
            budget.resets_at,
            Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn missing_or_garbled_headers_give_no_budget() {
        assert_eq!(rate_budget(&HeaderMap::new(), at(1, 0, 0)), None);
        let h = headers(&[
            ("x-ratelimit-limit", "lots"),
            ("x-ratelimit-usage", "10,100"),
        ]);
        assert_eq!(rate_budget(&h, at(1, 0, 0)), None);
    }

    #[test]
    fn revoke_sits_beside_the_token_endpoint() {
        let settings = ProviderSettings {
            token_url: Some(Url::parse("http://127.0.0.1:9/strava/oauth/token").unwrap()),
            ..ProviderSettings::default()
        };
        let http = Http::new(
            reqwest::Client::new(),
            KIND,
            Default::default(),
            rate_budget,
        );
        let strava = Strava::new(&settings, http).unwrap();
        assert_eq!(
            strava.revoke_url().as_str(),
            "http://127.0.0.1:9/strava/oauth/revoke"
        );
        assert_eq!(
            strava.api("athlete").as_str(),
            "https://www.strava.com/api/v3/athlete"
        );
    }
}

#[cfg(test)]
mod inactive_tests {
    use super::*;

    #[test]
    fn only_stravas_inactive_application_answer_is_app_inactive() {
        let inactive = r#"{"message":"Forbidden","errors":[{"resource":"Application","field":"Status","code":"Inactive"}]}"#;
        let e = app_inactive(StatusCode::FORBIDDEN, inactive).expect("inactive");
        assert_eq!(e.code(), crate::ErrorCode::AppInactive);
        assert!(
            e.to_string()
                .contains("https://www.strava.com/settings/api"),
            "{e}"
        );
        // Another 403, the same body on another status, and garbage are not it.
        let other = r#"{"message":"Forbidden","errors":[{"resource":"Activity","field":"id","code":"forbidden"}]}"#;
        assert!(app_inactive(StatusCode::FORBIDDEN, other).is_none());
        assert!(app_inactive(StatusCode::UNAUTHORIZED, inactive).is_none());
        assert!(app_inactive(StatusCode::FORBIDDEN, "<html>nope</html>").is_none());
        assert!(app_inactive(StatusCode::FORBIDDEN, r#"{"errors":"x"}"#).is_none());
    }
}
