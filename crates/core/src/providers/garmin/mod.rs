//! Garmin Connect Developer Program: OAuth 2.0 with PKCE (OAuth 1.0a retires on 2026-12-31, so
//! nothing here builds on it) and a confidential secret; the user id and the permissions the
//! athlete granted are read after connecting; deregistration on disconnect. Garmin delivers data
//! only by push to a server, so activity summaries are read from a relay's inbox (configurable:
//! `TRIBUTARY_GARMIN_INBOX_URL`; the sandbox plays it), and a first sync asks Garmin for a
//! backfill of the last 30 days (202; 409 = already asked for that window, not an error).
//! Facts and sources: `shared/providers.md`, section 2; `design.md` for the inbox contract.

mod map;
pub mod personal;
mod wire;

use super::SignIn;
use super::http::{Call, Http, RateBudget, Response};
use super::oauth::{self, Exchange};
use super::{
    ActivityPage, Capabilities, ClientAuth, ClientCredentials, Delivery, Endpoints, ListRequest,
    Provider, RateLimitWindow, Redirects, RefreshStyle, TokenGrant, endpoint, join,
};
use crate::config::ProviderSettings;
use crate::domain::{ConnectionProfile, ProviderKind};
use crate::secrets::Sensitive;
use crate::{Error, Result};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::json;
use url::Url;

const KIND: ProviderKind = ProviderKind::Garmin;
/// The permission without which no activity arrives.
const ACTIVITY_PERMISSION: &str = "ACTIVITY_EXPORT";
/// The permission a backfill needs (off by default on Garmin's consent page).
pub const HISTORY_PERMISSION: &str = "HISTORICAL_DATA_EXPORT";
/// The longest window one backfill request may ask for.
const BACKFILL_DAYS: i64 = 30;

/// The Garmin client.
pub struct Garmin {
    http: Http,
    endpoints: Endpoints,
    inbox_url: Url,
}

impl Garmin {
    /// Build from settings (defaults: Garmin's endpoints; the inbox has no public default, so it
    /// points at a local relay until one is configured).
    pub fn new(settings: &ProviderSettings, http: Http) -> Result<Self> {
        Ok(Self {
            http,
            endpoints: Endpoints::resolve(
                settings,
                [
                    "https://connect.garmin.com/oauth2Confirm",
                    "https://diauth.garmin.com/di-oauth2-service/oauth/token",
                    "https://apis.garmin.com",
                ],
            )?,
            inbox_url: endpoint(settings.inbox_url.as_ref(), "http://127.0.0.1:8088/inbox")?,
        })
    }

    fn fail(&self, call: &Call<'_>, response: &Response) -> Error {
        self.http
            .classify(response, call.clock.now() + Duration::minutes(1))
    }

    /// Ask Garmin to push the last 30 days. Returns whether it was accepted (or already asked
    /// for); false when the athlete did not grant historical data, which is not an error for the
    /// sync (new data still comes) and is asked again later (they may grant it on reconnecting).
    async fn request_backfill(&self, call: &Call<'_>) -> Result<bool> {
        let now = call.clock.now();
        // Whole days, so that repeating a first sync asks for the same window (and gets 409).
        let end = now
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .map_or(now, |d| d.and_utc())
            + Duration::days(1);
        let start = end - Duration::days(BACKFILL_DAYS);
        let mut url = join(
            &self.endpoints.api_url,
            "wellness-api/rest/backfill/activities",
        );
        url.query_pairs_mut()
            .append_pair("summaryStartTimeInSeconds", &start.timestamp().to_string())
            .append_pair("summaryEndTimeInSeconds", &end.timestamp().to_string());
        let response = self.http.send(call, |c| c.get(url.clone())).await?;
        match response.status {
            StatusCode::ACCEPTED | StatusCode::CONFLICT => Ok(true),
            StatusCode::FORBIDDEN | StatusCode::PRECONDITION_FAILED => {
                tracing::info!(
                    "Garmin backfill refused: the athlete did not grant historical data"
                );
                Ok(false)
            }
            s if s.is_success() => Ok(true),
            _ => Err(self.fail(call, &response)),
        }
    }
}

#[async_trait]
impl Provider for Garmin {
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

    fn missing_scopes(&self, granted: &[String]) -> Vec<String> {
        // Permissions are read from Garmin after the exchange (see `exchange_code`). Only the
        // activity permission blocks syncing: without historical data (off by default on
        // Garmin's consent page) new activities still arrive, and the history is asked for again
        // at each run until it is granted, so that is no missing scope.
        [ACTIVITY_PERMISSION]
            .into_iter()
            .filter(|p| !granted.iter().any(|g| g == p))
            .map(str::to_owned)
            .collect()
    }

    async fn exchange_code(
        &self,
        call: &Call<'_>,
        creds: &ClientCredentials,
        code: &str,
        redirect_uri: &str,
        pkce_verifier: Option<&Sensitive<String>>,
    ) -> Result<TokenGrant> {
        let verifier = pkce_verifier
            .ok_or_else(|| Error::Internal("Garmin needs the PKCE verifier".to_owned()))?;
        let mut grant = oauth::exchange(
            &self.http,
            call,
            &self.endpoints.token_url,
            creds,
            ClientAuth::SecretInBody,
            &Exchange {
                code,
                redirect_uri: Some(redirect_uri),
                verifier: Some(verifier),
            },
        )
        .await?;
        // What the athlete ticked on Garmin's consent page is only known by asking.
        let url = join(
            &self.endpoints.api_url,
            "partner-gateway/rest/user/permissions",
        );
        let with_token = Call {
            token: Some(&grant.access_token),
            ..*call
        };
        let response = self.http.send(&with_token, |c| c.get(url.clone())).await?;
        if !response.status.is_success() {
            return Err(self.fail(call, &response));
        }
        let permissions: Vec<String> = response.json(KIND)?;
        grant.scopes = Some(permissions);
        Ok(grant)
    }

    async fn fetch_profile(
        &self,
        call: &Call<'_>,
        _grant: &TokenGrant,
    ) -> Result<ConnectionProfile> {
        let url = join(&self.endpoints.api_url, "partner-gateway/rest/user/id");
        let response = self.http.send(call, |c| c.get(url.clone())).await?;
        if !response.status.is_success() {
            return Err(self.fail(call, &response));
        }
        let user: wire::UserId = response.json(KIND)?;
        Ok(ConnectionProfile {
            provider_user_id: Some(user.user_id.clone()),
            username: None, // the Activity API has no athlete profile
            email: None,
            provider_profile: Some(json!({ "userId": user.user_id })),
        })
    }

    async fn revoke(
        &self,
        call: &Call<'_>,
        _creds: &ClientCredentials,
        _provider_user_id: Option<&str>,
    ) -> Result<()> {
        let url = join(
            &self.endpoints.api_url,
            "partner-gateway/rest/user/registration",
        );
        let response = self.http.send(call, |c| c.delete(url.clone())).await?;
        if response.status.is_success() {
            Ok(())
        } else {
            Err(self.fail(call, &response))
        }
    }

    async fn list_activities(
        &self,
        call: &Call<'_>,
        request: &ListRequest,
    ) -> Result<ActivityPage> {
        let user = request
            .provider_user_id
            .as_deref()
            .ok_or_else(|| Error::Internal("the Garmin connection has no user id".to_owned()))?;
        // The stream position earlier runs kept: where the inbox was read to, and whether the
        // history was refused (then it is asked for again at each run's start, so a reconnect
        // that grants it brings the history).
        let kept = Position::decode(request.position.as_deref());
        // The inbox position: this run's page cursor, else where earlier runs stopped.
        let after = request.cursor.as_ref().or(kept.inbox.as_ref());
        let mut history_refused = kept.history_refused;
        if after.is_none() || (history_refused && request.cursor.is_none()) {
            history_refused = !self.request_backfill(call).await?;
        }
        let mut url = join(&self.inbox_url, &format!("garmin/users/{user}/items"));
        if let Some(after) = after {
            url.query_pairs_mut().append_pair("after", after);
        }
        let response = self.http.send(call, |c| c.get(url.clone())).await?;
        if !response.status.is_success() {
            return Err(self.fail(call, &response));
        }
        let page: wire::InboxPage = response.json(KIND)?;
        let position = page.next.filter(|n| !n.is_empty());
        Ok(ActivityPage {
            items: page.items.map(map::activity),
            next_cursor: position.clone().filter(|_| page.more),
            // Kept across runs: the next sync reads only what arrived after it.
            position: Some(
                Position {
                    inbox: position.or_else(|| after.cloned()),
                    history_refused,
                }
                .encode(),
            ),
            progress: None,
        })
    }
}

/// What the partner door keeps across runs: the inbox position (a plain string, as earlier
/// versions kept it) and, when the athlete did not grant historical data, that fact.
#[derive(Debug, Default, PartialEq)]
struct Position {
    inbox: Option<String>,
    history_refused: bool,
}

impl Position {
    fn decode(text: Option<&str>) -> Self {
        let Some(text) = text.filter(|t| !t.is_empty()) else {
            return Self::default();
        };
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v) if v.is_object() => Self {
                inbox: v.get("inbox").and_then(|i| i.as_str()).map(str::to_owned),
                history_refused: v.get("history") == Some(&json!("refused")),
            },
            _ => Self {
                inbox: Some(text.to_owned()),
                history_refused: false,
            },
        }
    }

    fn encode(&self) -> String {
        match (&self.inbox, self.history_refused) {
            (Some(inbox), false) => inbox.clone(),
            (inbox, refused) => json!({
                "inbox": inbox,
                "history": if refused { "refused" } else { "requested" },
            })
            .to_string(),
        }
    }
}

/// Garmin's capabilities.
pub fn capabilities() -> Capabilities {
    Capabilities {
        display_name: "Garmin",
        sign_in: SignIn::Browser,
        client_auth: ClientAuth::SecretInBody,
        pkce: true,
        client_secret_required: true,
        refresh: RefreshStyle::Rotating, // reported to rotate [3P]
        delivery: Delivery::PushInbox,
        history_window_days: Some(BACKFILL_DAYS as u32), // backfill depth [unverified]
        overlap_days: 2,
        scopes: vec![],
        scope_delimiter: " ",
        // Permissions are read from Garmin after the exchange (see `missing_scopes`).
        required_scopes: vec![],
        rate_limits: vec![RateLimitWindow {
            window: "1 min",
            seconds: 60,
            limit: 100,
            shared_by: "app",
        }], // [3P]
        loopback_host: "localhost",
        deep_link_host: "oauth",
        redirects: Redirects::ANY,
        recordings: super::Recordings::None,
        implemented: true,
        app_settings_url: Some("https://developerportal.garmin.com"),
        activity_page: Some("https://connect.garmin.com/modern/activity/{id}"),
        revoke_before_new_grant: false,
        door: super::Door {
            id: "partner",
            name: "Garmin Connect Developer Program",
            revoke_by_hand: None,
        },
        ids_differ_from: vec![],
        // An inbox is a stream: what it did not deliver again was not deleted.
        absence_is_deletion: false,
    }
}

/// Garmin publishes no rate-limit headers that are known; a 429 waits a minute.
pub fn rate_budget(_headers: &HeaderMap, _now: DateTime<Utc>) -> Option<RateBudget> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_activity_permission_is_required() {
        let garmin = capabilities();
        assert!(garmin.pkce && garmin.client_secret_required);
        let http = Http::new(
            reqwest::Client::new(),
            KIND,
            Default::default(),
            rate_budget,
        );
        let client = Garmin::new(&ProviderSettings::default(), http).unwrap();
        assert!(
            client
                .missing_scopes(&["ACTIVITY_EXPORT".into(), "HISTORICAL_DATA_EXPORT".into()])
                .is_empty()
        );
        // Without historical data new activities still arrive: not a missing scope.
        assert!(
            client
                .missing_scopes(&["ACTIVITY_EXPORT".into()])
                .is_empty()
        );
        assert_eq!(
            client.missing_scopes(&["HISTORICAL_DATA_EXPORT".into()]),
            vec!["ACTIVITY_EXPORT".to_owned()]
        );
    }

    #[test]
    fn the_kept_position_reads_what_earlier_versions_kept() {
        assert_eq!(Position::decode(None), Position::default());
        let plain = Position::decode(Some("42"));
        assert_eq!(plain.inbox.as_deref(), Some("42"));
        assert!(!plain.history_refused);
        assert_eq!(plain.encode(), "42", "unchanged for a granted history");
        let refused = Position {
            inbox: Some("7".into()),
            history_refused: true,
        };
        assert_eq!(Position::decode(Some(&refused.encode())), refused);
    }
}
