//! Polar AccessLink, two doors. New connections use v4 (see [`v4`]); connections made before
//! it keep v3 until the athlete moves them, with one sign-in.
//!
//! v3 (this module): OAuth2 with HTTP Basic on the token call, no PKCE, no refresh token (a
//! long-lived access token; 401 means connect again), the mandatory user registration after
//! connecting, and `/v3/exercises`, which returns the last 30 days in one unpaged list.
//! Facts and sources: `shared/providers.md`, section 3.

mod map;
pub mod v4;
mod wire;

use super::SignIn;
use super::http::{Call, Http, RateBudget, Records, Response};
use super::{
    ActivityPage, Capabilities, ClientAuth, ClientCredentials, Delivery, Endpoints, ListRequest,
    Provider, RateLimitWindow, Redirects, RefreshStyle, TokenGrant, join,
};
use crate::config::ProviderSettings;
use crate::domain::{ConnectionProfile, ProviderKind};
use crate::{Error, Result};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use url::Url;

const KIND: ProviderKind = ProviderKind::Polar;
/// AccessLink v3, the door of every Polar connection made before v4 (they name no door).
pub const V3_DOOR: super::Door = super::Door {
    id: "v3",
    name: "AccessLink v3",
    revoke_by_hand: None,
};
/// The loopback port Tributary registers with Polar (which compares the whole redirect URL):
/// `http://localhost:47613/callback`.
pub const LOOPBACK_PORT: u16 = 47613;

/// The Polar client.
pub struct Polar {
    http: Http,
    endpoints: Endpoints,
}

impl Polar {
    /// Build from settings (defaults: the real Polar endpoints).
    pub fn new(settings: &ProviderSettings, http: Http) -> Result<Self> {
        Ok(Self {
            http,
            endpoints: Endpoints::resolve(
                settings,
                [
                    "https://flow.polar.com/oauth2/authorization",
                    "https://polarremote.com/v2/oauth2/token",
                    "https://www.polaraccesslink.com",
                ],
            )?,
        })
    }

    fn api(&self, path: &str) -> Url {
        join(&self.endpoints.api_url, &format!("v3/{path}"))
    }

    fn fail(&self, call: &Call<'_>, response: &Response) -> Error {
        let now = call.clock.now();
        let reset = rate_budget(&response.headers, now)
            .map_or(now + Duration::minutes(15), |b| b.resets_at);
        self.http.classify(response, reset)
    }
}

#[async_trait]
impl Provider for Polar {
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

    async fn fetch_profile(
        &self,
        call: &Call<'_>,
        grant: &TokenGrant,
    ) -> Result<ConnectionProfile> {
        let user_id = match grant.extra.get("x_user_id") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.clone(),
            _ => {
                return Err(Error::Provider {
                    provider: KIND,
                    status: None,
                    message: "the token response has no x_user_id".to_owned(),
                });
            }
        };
        // Registration is mandatory before any data call. 409 = already registered: fine.
        let url = self.api("users");
        let body = json!({ "member-id": format!("tributary-{user_id}") });
        let registered = self
            .http
            .send(call, |c| c.post(url.clone()).json(&body))
            .await?;
        match registered.status {
            s if s.is_success() || s == StatusCode::CONFLICT => {}
            StatusCode::FORBIDDEN => {
                return Err(Error::ScopeMissing {
                    provider: KIND,
                    missing:
                        "Polar's mandatory consents (accept them in Polar Flow, then connect again)"
                            .to_owned(),
                });
            }
            _ => return Err(self.fail(call, &registered)),
        }
        let url = self.api(&format!("users/{user_id}"));
        let response = self.http.send(call, |c| c.get(url.clone())).await?;
        if !response.status.is_success() {
            return Err(self.fail(call, &response));
        }
        map::profile(response.json(KIND)?, &user_id).map_err(|message| Error::Provider {
            provider: KIND,
            status: None,
            message,
        })
    }

    async fn revoke(
        &self,
        call: &Call<'_>,
        _creds: &ClientCredentials,
        provider_user_id: Option<&str>,
    ) -> Result<()> {
        let user_id = provider_user_id.ok_or_else(|| {
            Error::Internal("the Polar connection has no user id to de-register".to_owned())
        })?;
        let url = self.api(&format!("users/{user_id}"));
        let response = self.http.send(call, |c| c.delete(url.clone())).await?;
        // 401/404: the token or the registration is already gone, which is what we want.
        match response.status {
            // 404: the user is not registered any more, which is what de-registering wants (Polar
            // serves no data without a registration). A 401 says only that our token is dead.
            s if s.is_success() || s == StatusCode::NOT_FOUND => Ok(()),
            _ => Err(self.fail(call, &response)),
        }
    }

    /// The exercise's original: `GET /v3/exercises/{id}/fit`, else its TCX, else its GPX (an
    /// exercise recorded without a FIT-capable device). Usually one request.
    async fn fetch_recording(
        &self,
        call: &Call<'_>,
        request: &super::RecordingRequest<'_>,
    ) -> Result<super::FetchedRecording> {
        let id = request.provider_activity_id;
        if !super::path_safe(id) {
            return Ok(super::FetchedRecording::Missing(format!(
                "'{id}' is not a Polar exercise id"
            )));
        }
        let mut last = None;
        for format in ["fit", "tcx", "gpx"] {
            let url = self.api(&format!("exercises/{id}/{format}"));
            match super::api_file(&self.http, call, &url, |r| self.fail(call, r)).await? {
                super::FetchedRecording::Missing(why) => last = Some(why),
                found => return Ok(found),
            }
        }
        Ok(super::FetchedRecording::Missing(
            last.unwrap_or_else(|| "Polar has no file for it".to_owned()),
        ))
    }

    async fn list_activities(
        &self,
        call: &Call<'_>,
        _request: &ListRequest,
    ) -> Result<ActivityPage> {
        // One unpaged list of the last 30 days: no cursor, no date filter to pass.
        let url = self.api("exercises");
        let response = self.http.send(call, |c| c.get(url.clone())).await?;
        if response.status == StatusCode::NO_CONTENT {
            return Ok(ActivityPage::default());
        }
        if !response.status.is_success() {
            return Err(self.fail(call, &response));
        }
        let records: Records = response.json(KIND)?;
        Ok(ActivityPage {
            items: records.map(map::exercise),
            next_cursor: None,
            position: None,
            progress: Some(1.0),
        })
    }
}

/// Polar's capabilities.
pub fn capabilities() -> Capabilities {
    Capabilities {
        display_name: "Polar",
        sign_in: SignIn::Browser,
        client_auth: ClientAuth::Basic,
        pkce: false,
        client_secret_required: true,
        refresh: RefreshStyle::None,
        delivery: Delivery::Pull,
        history_window_days: Some(30),
        // The whole window is re-read every time; the list is small.
        overlap_days: 30,
        scopes: vec!["accesslink.read_all"],
        scope_delimiter: " ",
        // One scope; consents are reported through the registration instead.
        required_scopes: vec![],
        rate_limits: vec![
            // Plus 20 per registered user (15 min) and 100 per user (24 h).
            RateLimitWindow {
                window: "15 min",
                seconds: 900,
                limit: 500,
                shared_by: "app",
            },
            RateLimitWindow {
                window: "24 h",
                seconds: 86400,
                limit: 5000,
                shared_by: "app",
            },
        ],
        // Polar matches registered redirect URLs exactly; custom schemes are [unverified].
        loopback_host: "localhost",
        deep_link_host: "oauth",
        redirects: Redirects {
            deep_link: true,
            // Polar compares the whole registered URL, port included [doc]: one fixed port.
            loopback_port: Some(LOOPBACK_PORT),
        },
        recordings: super::Recordings::Originals,
        implemented: true,
        app_settings_url: Some("https://admin.polaraccesslink.com"),
        activity_page: None,
        revoke_before_new_grant: false,
        door: V3_DOOR,
        // A connection sent back to v3 (`TRIBUTARY_POLAR_DOOR=v3`) finds its v4 copies by start.
        ids_differ_from: vec![v4::DOOR.id],
        absence_is_deletion: true,
    }
}

/// `RateLimit-Usage`, `RateLimit-Limit` and `RateLimit-Reset` ("short,long"; reset in seconds),
/// for both doors; a single value (one window, as v4 may send) counts as both.
pub fn rate_budget(headers: &HeaderMap, now: DateTime<Utc>) -> Option<RateBudget> {
    let pair = |name: &str| -> Option<(i64, i64)> {
        let text = headers.get(name)?.to_str().ok()?;
        let (a, b) = text.split_once(',').unwrap_or((text, text));
        Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
    };
    let (usage, limit, reset) = (
        pair("ratelimit-usage")?,
        pair("ratelimit-limit")?,
        pair("ratelimit-reset")?,
    );
    // Provider numbers: checked; a window that cannot be represented is not trusted.
    let window = |limit: i64, used: i64, reset: i64| {
        Some(RateBudget {
            remaining: limit.checked_sub(used)?.max(0),
            resets_at: now.checked_add_signed(Duration::try_seconds(reset)?)?,
        })
    };
    let short = window(limit.0, usage.0, reset.0)?;
    let long = window(limit.1, usage.1, reset.1)?;
    // The spent window that resets last decides; otherwise the one with less left.
    Some(match (short.remaining, long.remaining) {
        (_, 0) => long,
        (0, _) => short,
        (s, l) if l < s => long,
        _ => short,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use reqwest::header::HeaderValue;

    #[test]
    fn rate_headers_pick_the_binding_window() {
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap();
        let mut h = HeaderMap::new();
        h.insert("ratelimit-usage", HeaderValue::from_static("500,900"));
        h.insert("ratelimit-limit", HeaderValue::from_static("520,5100"));
        h.insert("ratelimit-reset", HeaderValue::from_static("300,80000"));
        assert_eq!(
            rate_budget(&h, now),
            Some(RateBudget {
                remaining: 20,
                resets_at: now + Duration::seconds(300)
            })
        );
        h.insert("ratelimit-usage", HeaderValue::from_static("10,5100"));
        assert_eq!(
            rate_budget(&h, now).unwrap().resets_at,
            now + Duration::seconds(80_000),
            "a spent day waits for the day"
        );
        assert_eq!(rate_budget(&HeaderMap::new(), now), None);
    }
}
