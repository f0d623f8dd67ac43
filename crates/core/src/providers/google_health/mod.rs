//! Fitbit's successor, the Google Health API: Google OAuth for a desktop client (PKCE, loopback or
//! deep-link redirect, `access_type=offline` for a refresh token; the secret of a "Desktop app"
//! client is not confidential and optional here), partial scope grants detected at connect, and
//! exercise data points with cursor paging (`pageToken`), "1800s" durations and millimetres.
//! A connection still pointing at the legacy Fitbit Web API gets 410 Gone: the engine turns that
//! into `deprecated`, and reconnecting moves it to the Google Health API.
//! Facts and sources: `shared/providers.md`, section 6.

mod map;
mod wire;

use super::SignIn;
use super::http::{Call, Http, RateBudget, Response};
use super::{
    ActivityPage, Capabilities, ClientAuth, ClientCredentials, Delivery, Endpoints, ListRequest,
    Provider, RateLimitWindow, Redirects, RefreshStyle, TokenGrant, beside, join, read_cursor,
};
use crate::config::ProviderSettings;
use crate::domain::{ConnectionProfile, ProviderKind};
use crate::{Error, Result};
use async_trait::async_trait;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use url::Url;

const KIND: ProviderKind = ProviderKind::GoogleHealth;
const SCOPE_PREFIX: &str = "https://www.googleapis.com/auth/googlehealth";
const EXERCISE_SCOPE: &str =
    "https://www.googleapis.com/auth/googlehealth.activity_and_fitness.readonly";
const PAGE_SIZE: usize = 100;

/// The Google Health client.
pub struct GoogleHealth {
    http: Http,
    endpoints: Endpoints,
}

/// A page token is only valid with the same filter, so both travel together.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Cursor {
    page_token: String,
    since: Option<DateTime<Utc>>,
}

impl GoogleHealth {
    /// Build from settings (defaults: Google's endpoints).
    pub fn new(settings: &ProviderSettings, http: Http) -> Result<Self> {
        Ok(Self {
            http,
            endpoints: Endpoints::resolve(
                settings,
                [
                    "https://accounts.google.com/o/oauth2/v2/auth",
                    "https://oauth2.googleapis.com/token",
                    "https://health.googleapis.com",
                ],
            )?,
        })
    }

    fn api(&self, path: &str) -> Url {
        join(&self.endpoints.api_url, &format!("v4/{path}"))
    }

    /// `https://oauth2.googleapis.com/revoke`, beside the token endpoint.
    fn revoke_url(&self) -> Url {
        beside(&self.endpoints.token_url, "revoke")
    }

    fn fail(&self, call: &Call<'_>, response: &Response) -> Error {
        // Seen on every endpoint at once when Google's record of the grant went bad; removing
        // the app from the account and granting it again cured it (one report, providers.md §0c).
        if response.status == StatusCode::FORBIDDEN
            && String::from_utf8_lossy(&response.body).contains("RESOURCE_PERMISSION_DENIED")
        {
            return Error::NeedsReauth {
                provider: KIND,
                reason:
                    "Google denies Tributary access to your data (RESOURCE_PERMISSION_DENIED): \
                         remove Tributary at https://myaccount.google.com/permissions, then \
                         connect again"
                        .to_owned(),
            };
        }
        if response.status == StatusCode::GONE {
            return Error::Deprecated {
                provider: KIND,
                message: "this connection uses the retired Fitbit Web API (410 Gone since 2026-11-02); connect again to move it to the Google Health API".to_owned(),
            };
        }
        self.http
            .classify(response, call.clock.now() + Duration::minutes(1))
    }
}

#[async_trait]
impl Provider for GoogleHealth {
    fn kind(&self) -> ProviderKind {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    fn explain_refused_refresh(&self, grant_age: chrono::Duration) -> Option<String> {
        // Google ends every grant of a project whose consent screen is in "Testing" 7 days after
        // sign-in (developers.google.com/identity/protocols/oauth2#expiration).
        (grant_age >= Duration::days(6) && grant_age <= Duration::days(8)).then(|| {
            "Google ended this sign-in after 7 days, as it does for apps whose Google Cloud \
             project is in “Testing”: publish the project (Google Cloud console → OAuth consent \
             screen → Publish app), or connect again each week"
                .to_owned()
        })
    }

    fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    fn http(&self) -> &Http {
        &self.http
    }

    fn authorize_extras(&self) -> &'static [(&'static str, &'static str)] {
        // A refresh token, every time (partial re-consent included).
        &[("access_type", "offline"), ("prompt", "consent")]
    }

    fn missing_scopes(&self, granted: &[String]) -> Vec<String> {
        // Google reports what was granted; the athlete may untick the exercise scope.
        if granted.iter().any(|g| g == EXERCISE_SCOPE) {
            Vec::new()
        } else {
            vec![
                EXERCISE_SCOPE
                    .trim_start_matches(&format!("{SCOPE_PREFIX}."))
                    .to_owned(),
            ]
        }
    }

    async fn fetch_profile(
        &self,
        call: &Call<'_>,
        _grant: &TokenGrant,
    ) -> Result<ConnectionProfile> {
        let url = self.api("users/me/identity");
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
        _creds: &ClientCredentials,
        _provider_user_id: Option<&str>,
    ) -> Result<()> {
        let token = call.token.map(|t| t.expose().clone()).unwrap_or_default();
        let url = self.revoke_url();
        let response = self
            .http
            .send(
                &Call {
                    token: None,
                    ..*call
                },
                |c| c.post(url.clone()).form(&[("token", &token)]),
            )
            .await?;
        // 400 invalid_token says the token we sent is dead (expired, or revoked), not that the
        // grant is: its refresh token may live on. The caller refreshes and tries again.
        if response.status.is_success() {
            Ok(())
        } else if response.status == StatusCode::BAD_REQUEST {
            Err(Error::NeedsReauth {
                provider: KIND,
                reason: "Google refused to revoke with this access token (invalid_token)"
                    .to_owned(),
            })
        } else {
            Err(self.fail(call, &response))
        }
    }

    async fn list_activities(
        &self,
        call: &Call<'_>,
        request: &ListRequest,
    ) -> Result<ActivityPage> {
        let (page_token, since) = match &request.cursor {
            Some(text) => {
                let c: Cursor = read_cursor(KIND, text)?;
                (Some(c.page_token), c.since)
            }
            None => (None, request.since),
        };
        let mut url = self.api("users/me/dataTypes/exercise/dataPoints");
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("pageSize", &PAGE_SIZE.to_string());
            if let Some(since) = since {
                let at = since.to_rfc3339_opts(SecondsFormat::Secs, true);
                q.append_pair(
                    "filter",
                    &format!("exercise.interval.start_time >= \"{at}\""),
                );
            }
            if let Some(token) = &page_token {
                q.append_pair("pageToken", token);
            }
        }
        let response = self.http.send(call, |c| c.get(url.clone())).await?;
        if !response.status.is_success() {
            return Err(self.fail(call, &response));
        }
        let page: wire::DataPoints = response.json(KIND)?;
        let next_cursor = page
            .next_page_token
            .filter(|t| !t.is_empty())
            .map(|page_token| serde_json::to_string(&Cursor { page_token, since }))
            .transpose()
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(ActivityPage {
            items: page.data_points.map(map::exercise),
            next_cursor,
            position: None,
            progress: None,
        })
    }
}

/// Google Health's capabilities.
pub fn capabilities() -> Capabilities {
    Capabilities {
        display_name: "Fitbit (Google Health API)",
        sign_in: SignIn::Browser,
        client_auth: ClientAuth::PublicPkce,
        pkce: true,
        client_secret_required: false,
        refresh: RefreshStyle::Rotating,
        delivery: Delivery::Pull,
        history_window_days: None,
        overlap_days: 3,
        scopes: vec![EXERCISE_SCOPE],
        scope_delimiter: " ",
        required_scopes: vec![EXERCISE_SCOPE],
        rate_limits: vec![RateLimitWindow {
            window: "1 min",
            seconds: 60,
            limit: 300,
            shared_by: "user",
        }],
        // Google's desktop clients use loopback redirects on 127.0.0.1.
        loopback_host: "127.0.0.1",
        deep_link_host: "oauth",
        redirects: Redirects {
            // "Desktop app" clients take loopback redirects only [doc].
            deep_link: false,
            loopback_port: None,
        },
        recordings: super::Recordings::None,
        implemented: true,
        app_settings_url: Some("https://console.cloud.google.com/apis/credentials"),
        activity_page: None,
        revoke_before_new_grant: false,
        door: super::Door {
            id: "google_health",
            name: "Google Health API",
            revoke_by_hand: None,
        },
        ids_differ_from: vec![],
        absence_is_deletion: true,
    }
}

/// Google publishes no rate-limit headers; a 429 waits a minute.
pub fn rate_budget(_headers: &HeaderMap, _now: DateTime<Utc>) -> Option<RateBudget> {
    None
}

#[cfg(test)]
mod refusal_tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::providers::http::Meter;

    fn google() -> GoogleHealth {
        let http = Http::new(
            reqwest::Client::new(),
            KIND,
            crate::config::RetryPolicy::default(),
            rate_budget,
        );
        GoogleHealth::new(&ProviderSettings::default(), http).unwrap()
    }

    #[test]
    fn a_refused_refresh_of_a_week_old_grant_is_said_as_googles_testing_rule() {
        let g = google();
        let said = g
            .explain_refused_refresh(Duration::days(7))
            .expect("a week");
        assert!(
            said.contains("after 7 days") && said.contains("Publish app"),
            "{said}"
        );
        assert!(
            g.explain_refused_refresh(Duration::hours(7 * 24 - 5))
                .is_some()
        );
        assert!(
            g.explain_refused_refresh(Duration::days(2)).is_none(),
            "not that rule"
        );
        assert!(
            g.explain_refused_refresh(Duration::days(30)).is_none(),
            "not that rule"
        );
    }

    #[test]
    fn resource_permission_denied_asks_to_grant_again_another_403_does_not() {
        let g = google();
        let clock = ManualClock::new(Utc::now());
        let meter = Meter::default();
        let call = Call {
            token: None,
            meter: &meter,
            clock: &clock as &dyn Clock,
        };
        let denied = Response {
            status: StatusCode::FORBIDDEN,
            headers: Default::default(),
            body: br#"{"error":{"code":403,"status":"PERMISSION_DENIED","details":[{"reason":"RESOURCE_PERMISSION_DENIED"}]}}"#.to_vec(),
        };
        let e = g.fail(&call, &denied);
        assert_eq!(e.code(), crate::ErrorCode::NeedsReauth);
        assert!(
            e.to_string().contains("myaccount.google.com/permissions"),
            "{e}"
        );
        let other = Response {
            status: StatusCode::FORBIDDEN,
            headers: Default::default(),
            body: br#"{"error":{"code":403,"status":"PERMISSION_DENIED"}}"#.to_vec(),
        };
        assert_eq!(g.fail(&call, &other).code(), crate::ErrorCode::Provider);
    }
}
