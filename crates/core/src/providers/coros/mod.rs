//! COROS Open API (partner program; private docs, so everything is third-party knowledge):
//! OAuth2 with partner credentials, the token passed as a `token` query parameter with the
//! athlete's `openId`, `sport/list` by date windows of at most 30 days and not further back than
//! about 3 months (this module splits the windows; the UI shows the limit), and errors as a
//! `result` code other than "0000" inside HTTP 200, never mistaken for success.
//! Facts and sources: `shared/providers.md`, section 4; tapiriik's COROS module.
//!
//! Unverified, encoded here exactly as the sandbox twin encodes them (so a test against the twin
//! cannot catch a mistake in them): the refresh path `/oauth2/refresh-token` and that it extends
//! the same token; a dead token told by the word "token" in the message; time zones in quarter
//! hours; calories in small calories; the sport table. The token response's key casing is the
//! one detail read tolerantly (snake_case and camelCase). The credentials check says it cannot
//! tell (COROS documents no `invalid_client`).

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
use crate::secrets::Sensitive;
use crate::{Error, Result};
use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

const KIND: ProviderKind = ProviderKind::Coros;
/// The longest window one `sport/list` call may ask for.
const WINDOW_DAYS: i64 = 30;
/// How far back COROS serves (about three months).
const HISTORY_DAYS: i64 = 90;
/// COROS tokens last 30 days; a refresh extends them [3P].
const TOKEN_DAYS: i64 = 30;

/// The COROS client.
pub struct Coros {
    http: Http,
    endpoints: Endpoints,
}

/// Windows walk back from `end` to `floor`, newest first (dates as YYYYMMDD, COROS' format).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
struct Cursor {
    end: NaiveDate,
    floor: NaiveDate,
}

fn day(date: NaiveDate) -> String {
    date.format("%Y%m%d").to_string()
}

impl Coros {
    /// Build from settings (defaults: the production COROS endpoints).
    pub fn new(settings: &ProviderSettings, http: Http) -> Result<Self> {
        Ok(Self {
            http,
            endpoints: Endpoints::resolve(
                settings,
                [
                    "https://open.coros.com/oauth2/authorize",
                    "https://open.coros.com/oauth2/accesstoken",
                    "https://open.coros.com",
                ],
            )?,
        })
    }

    fn api(&self, path: &str) -> Url {
        join(&self.endpoints.api_url, path)
    }

    /// The refresh endpoint beside the token endpoint (`/oauth2/refresh-token` [3P; others
    /// report `/oauth2/refresh`]).
    fn refresh_url(&self) -> Url {
        beside(&self.endpoints.token_url, "refresh-token")
    }

    /// Unwrap the envelope: HTTP errors first, then a `result` other than "0000".
    fn data(&self, call: &Call<'_>, response: &Response) -> Result<Value> {
        match self.raw_data(call, response)? {
            Some(raw) => serde_json::from_str(raw.get()).map_err(|e| Error::Provider {
                provider: KIND,
                status: None,
                message: format!("malformed response data ({e})"),
            }),
            None => Ok(Value::Null),
        }
    }

    /// [`Self::data`], still as text.
    fn raw_data(
        &self,
        call: &Call<'_>,
        response: &Response,
    ) -> Result<Option<Box<serde_json::value::RawValue>>> {
        if !response.status.is_success() {
            let reset = call.clock.now() + Duration::minutes(1);
            return Err(self.http.classify(response, reset));
        }
        let envelope: wire::Envelope = response.json(KIND)?;
        match envelope.result.as_deref() {
            Some("0000") => Ok(envelope.data),
            other => {
                let code = other.unwrap_or("missing");
                let message = envelope.message.unwrap_or_default();
                // Which codes mean a dead token is not public; the message says so in practice.
                if message.to_ascii_lowercase().contains("token") {
                    Err(Error::NeedsReauth {
                        provider: KIND,
                        reason: format!("COROS {code}: {message}"),
                    })
                } else {
                    Err(Error::Provider {
                        provider: KIND,
                        status: None,
                        message: format!("COROS error {code}: {message}"),
                    })
                }
            }
        }
    }

    fn token_query<'a>(call: &'a Call<'_>) -> Result<&'a str> {
        call.token
            .map(|t| t.expose().as_str())
            .ok_or_else(|| Error::Internal("a COROS call needs the access token".to_owned()))
    }
}

#[async_trait]
impl Provider for Coros {
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

    async fn refresh(
        &self,
        call: &Call<'_>,
        creds: &ClientCredentials,
        refresh_token: &Sensitive<String>,
        access_token: &Sensitive<String>,
    ) -> Result<TokenGrant> {
        let url = self.refresh_url();
        let secret = creds
            .client_secret
            .as_ref()
            .map(|s| s.expose().clone())
            .unwrap_or_default();
        let form = [
            ("client_id", creds.client_id.as_str()),
            ("client_secret", secret.as_str()),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose().as_str()),
        ];
        let response = self
            .http
            .send(call, |c| c.post(url.clone()).form(&form))
            .await?;
        self.data(call, &response)?;
        // COROS answers only "OK": the same tokens now live another 30 days [3P].
        Ok(TokenGrant {
            access_token: access_token.clone(),
            refresh_token: Some(refresh_token.clone()),
            expires_at: Some(call.clock.now() + Duration::days(TOKEN_DAYS)),
            scopes: None,
            extra: serde_json::Map::new(),
        })
    }

    async fn fetch_profile(
        &self,
        call: &Call<'_>,
        grant: &TokenGrant,
    ) -> Result<ConnectionProfile> {
        let open_id = grant
            .extra
            .get("openId")
            .or_else(|| grant.extra.get("open_id"))
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Provider {
                provider: KIND,
                status: None,
                message: "the token response has no openId".to_owned(),
            })?
            .to_owned();
        let mut url = self.api("coros/open/user/info");
        url.query_pairs_mut()
            .append_pair("token", grant.access_token.expose())
            .append_pair("openId", &open_id);
        let response = self
            .http
            .send(
                &Call {
                    token: None,
                    ..*call
                },
                |c| c.get(url.clone()),
            )
            .await?;
        let data = self.data(call, &response)?;
        map::profile(data, &open_id).map_err(|message| Error::Provider {
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
        let token = Self::token_query(call)?.to_owned();
        let url = self.api("coros/open/unbind");
        let response = self
            .http
            .send(
                &Call {
                    token: None,
                    ..*call
                },
                |c| c.post(url.clone()).header("token", &token),
            )
            .await?;
        // Only success says it is unbound: a dead access token says nothing about the refresh
        // token (the caller refreshes and tries again).
        self.data(call, &response).map(|_| ())
    }

    /// The FIT at the record's `fitUrl` (a file host: never sent our token).
    async fn fetch_recording(
        &self,
        call: &Call<'_>,
        request: &super::RecordingRequest<'_>,
    ) -> Result<super::FetchedRecording> {
        match request
            .summary
            .get("fitUrl")
            .and_then(serde_json::Value::as_str)
        {
            Some(url) if !url.is_empty() => super::download_file(&self.http, call, url).await,
            _ => Ok(super::FetchedRecording::Missing(
                "COROS lists no file for this workout".to_owned(),
            )),
        }
    }

    async fn list_activities(
        &self,
        call: &Call<'_>,
        request: &ListRequest,
    ) -> Result<ActivityPage> {
        let today = call.clock.now().date_naive();
        let oldest_allowed = today - Duration::days(HISTORY_DAYS - 1);
        let cursor = match &request.cursor {
            Some(text) => read_cursor(KIND, text)?,
            None => Cursor {
                end: today,
                floor: request
                    .since
                    .map_or(oldest_allowed, |s| s.date_naive().max(oldest_allowed)),
            },
        };
        // A resumed cursor may have aged past what COROS still serves.
        let floor = cursor.floor.max(oldest_allowed);
        if cursor.end < floor {
            return Ok(ActivityPage::default());
        }
        let start = cursor
            .end
            .checked_sub_signed(Duration::days(WINDOW_DAYS - 1))
            .unwrap_or(floor)
            .max(floor);
        let open_id = request
            .provider_user_id
            .as_deref()
            .ok_or_else(|| Error::Internal("the COROS connection has no openId".to_owned()))?;
        let mut url = self.api("v2/coros/sport/list");
        url.query_pairs_mut()
            .append_pair("token", Self::token_query(call)?)
            .append_pair("openId", open_id)
            .append_pair("startDate", &day(start))
            .append_pair("endDate", &day(cursor.end));
        let response = self
            .http
            .send(
                &Call {
                    token: None,
                    ..*call
                },
                |c| c.get(url.clone()),
            )
            .await?;
        let records = match self.raw_data(call, &response)? {
            None => crate::providers::http::Records::default(),
            Some(raw) if raw.get().trim() == "null" => crate::providers::http::Records::default(),
            Some(raw) => match raw.get().trim_start().as_bytes().first() {
                Some(b'[') => serde_json::from_str(raw.get()).map_err(|e| Error::Provider {
                    provider: KIND,
                    status: None,
                    message: format!("malformed sport list ({e})"),
                })?,
                Some(b'{') => {
                    serde_json::from_str::<wire::SportList>(raw.get())
                        .map_err(|e| Error::Provider {
                            provider: KIND,
                            status: None,
                            message: format!("malformed sport list ({e})"),
                        })?
                        .data_list
                }
                _ => {
                    return Err(Error::Provider {
                        provider: KIND,
                        status: None,
                        message: "malformed sport list: neither a list nor a dataList".to_owned(),
                    });
                }
            },
        };
        let next_cursor = (start > floor)
            .then(|| {
                serde_json::to_string(&Cursor {
                    end: start.pred_opt().unwrap_or(floor),
                    floor,
                })
            })
            .transpose()
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(ActivityPage {
            items: records.map(map::sport_record),
            next_cursor,
            position: None,
            // Windows walk back from today to the floor: the share of days already read.
            progress: {
                let total = (today - floor).num_days().max(1) as f64;
                Some(((today - start).num_days() as f64 / total).clamp(0.0, 1.0))
            },
        })
    }
}

/// COROS' capabilities.
pub fn capabilities() -> Capabilities {
    Capabilities {
        display_name: "COROS",
        sign_in: SignIn::Browser,
        client_auth: ClientAuth::SecretInBody,
        pkce: false,
        client_secret_required: true,
        refresh: RefreshStyle::Rotating,
        delivery: Delivery::Pull,
        history_window_days: Some(HISTORY_DAYS as u32),
        overlap_days: 3,
        scopes: vec![],
        scope_delimiter: " ",
        // COROS grants per application, not per request.
        required_scopes: vec![],
        rate_limits: vec![RateLimitWindow {
            window: "1 min",
            seconds: 60,
            limit: 1000,
            shared_by: "app",
        }], // [3P]
        // COROS registers a callback domain [3P]; loopback and custom-scheme rules [unverified].
        loopback_host: "localhost",
        deep_link_host: "oauth",
        redirects: Redirects::ANY,
        recordings: super::Recordings::Originals,
        implemented: true,
        app_settings_url: Some("https://support.coros.com"),
        activity_page: None,
        revoke_before_new_grant: false,
        door: super::Door {
            id: "open_api",
            name: "COROS Open API",
            revoke_by_hand: None,
        },
        ids_differ_from: vec![],
        absence_is_deletion: true,
    }
}

/// COROS reports no rate-limit headers that are public; a 429 waits a minute.
pub fn rate_budget(_headers: &HeaderMap, _now: DateTime<Utc>) -> Option<RateBudget> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refresh_endpoint_sits_beside_the_token_endpoint() {
        let settings = ProviderSettings {
            token_url: Some(Url::parse("http://127.0.0.1:9/coros/oauth2/accesstoken").unwrap()),
            ..ProviderSettings::default()
        };
        let http = Http::new(
            reqwest::Client::new(),
            KIND,
            Default::default(),
            rate_budget,
        );
        let coros = Coros::new(&settings, http).unwrap();
        assert_eq!(
            coros.refresh_url().as_str(),
            "http://127.0.0.1:9/coros/oauth2/refresh-token"
        );
    }
}
