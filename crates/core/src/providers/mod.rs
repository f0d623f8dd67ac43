//! Provider clients: one module per provider behind the one [`Provider`] trait.
//!
//! Shared code (the engine, the OAuth flow, the store) only ever talks to `dyn Provider` and reads
//! its [`Capabilities`]; it never matches on which provider it is. Adding a provider means one new
//! module and one line in [`Registry::new`]. Provider modules are stateless apart from their HTTP
//! client and endpoints: tokens are passed in, and refresh/retry policy belongs to the engine.

pub mod coros;
pub mod garmin;
pub mod google_health;
pub mod http;
pub mod oauth;
pub mod polar;
pub mod strava;
pub mod wahoo;

use crate::config::{Config, ProviderSettings};
use crate::domain::{ConnectionProfile, NewActivity, ProviderKind};
use crate::secrets::Sensitive;
use crate::{Error, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use url::Url;

pub use http::{Call, Http, Meter, RateBudget};

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the form body.
    SecretInBody,
    /// HTTP Basic with `client_id:client_secret`.
    Basic,
    /// A public client: `client_id` only, secured by PKCE.
    PublicPkce,
}

/// What a provider does with refresh tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum RefreshStyle {
    /// No refresh token: a long-lived access token; 401 means connect again.
    None,
    /// Refresh tokens may rotate: persist the new one before using the new access token.
    Rotating,
    /// The athlete's personal API key is exchanged again for a new access token.
    KeyExchange,
}

/// How the athlete signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum SignIn {
    /// OAuth in the system browser, back through a deep link or a loopback redirect.
    Browser,
    /// A personal API key the athlete creates at the provider and pastes (no client app).
    PersonalKey,
}

/// How activities reach us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Delivery {
    /// We list them from the provider's API.
    Pull,
    /// The provider pushes to a server; we read a relay's inbox.
    PushInbox,
}

/// One rate-limit window, as documented.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RateLimitWindow {
    /// Human label, e.g. "15 min".
    pub window: &'static str,
    /// The window's length in seconds.
    pub seconds: u32,
    /// Requests allowed in the window.
    pub limit: u32,
    /// Who shares the budget: "app" (all users of one client id) or "user".
    pub shared_by: &'static str,
}

/// Everything shared code and the UI need to know about a provider, as one value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Capabilities {
    /// Name shown to the athlete.
    pub display_name: &'static str,
    /// How the athlete signs in.
    pub sign_in: SignIn,
    /// Token endpoint authentication.
    pub client_auth: ClientAuth,
    /// Whether the authorize request carries a PKCE S256 challenge.
    pub pkce: bool,
    /// Whether a client secret must be configured before connecting.
    pub client_secret_required: bool,
    /// Refresh behaviour.
    pub refresh: RefreshStyle,
    /// Pull or push.
    pub delivery: Delivery,
    /// How far back the API lets us read, if limited.
    pub history_window_days: Option<u32>,
    /// How many days an incremental sync re-scans behind the newest stored activity.
    pub overlap_days: u32,
    /// Scopes requested at connect.
    pub scopes: Vec<&'static str>,
    /// How the scopes are joined in the authorize URL (RFC 6749: a space; Strava: a comma).
    pub scope_delimiter: &'static str,
    /// Scopes of which at least one must be granted for syncing to work (empty: none checked).
    pub required_scopes: Vec<&'static str>,
    /// Documented rate limits.
    pub rate_limits: Vec<RateLimitWindow>,
    /// Host used in loopback redirect URIs (`127.0.0.1` per RFC 8252, or `localhost` where the
    /// provider only matches a registered domain).
    pub loopback_host: &'static str,
    /// Host of the deep-link redirect, `tributary://<host>/<provider>/callback`: `oauth`, or the
    /// registered callback domain where the provider matches only that (Strava: `localhost`).
    pub deep_link_host: &'static str,
    /// Which redirects the provider accepts for a client.
    pub redirects: Redirects,
    /// What its API offers of each activity's recording.
    pub recordings: Recordings,
    /// Whether this build can connect and sync it (the others are described, not yet wired).
    pub implemented: bool,
    /// Where an API application is registered and managed (the wizard's first step, and where
    /// its owner re-activates it when the provider made it inactive); absent for a door with no
    /// application (a personal key).
    pub app_settings_url: Option<&'static str>,
    /// The provider's own web page of one activity, `{id}` standing for its id (the athlete's
    /// "open at Strava"), when the provider has public activity pages.
    pub activity_page: Option<&'static str>,
    /// The provider caps the athlete's unrevoked grants and can only revoke them all at once
    /// (Wahoo: ten, `DELETE /v1/permissions`): a sign-in that replaces a grant ends it before
    /// exchanging the new code, so reconnecting never piles grants up toward the cap.
    pub revoke_before_new_grant: bool,
    /// The door (API and sign-in) this client talks to; each connection keeps the one it was
    /// made through, so a provider can open a new door while old connections keep theirs.
    pub door: Door,
    /// Doors of the same provider whose activity ids differ from this door's (Polar v3's hashed
    /// exercise ids against v4's session ids): when a connection moves here from one of them,
    /// the copies it brought are matched by their start, not by id, and take the new id.
    pub ids_differ_from: Vec<&'static str>,
    /// Whether an activity missing from a complete walk of the history was deleted at the
    /// provider. False where the provider says nothing of deletions and a list may leave
    /// sessions out (Polar v4: no deletion feed) or where we read a stream (Garmin's inbox).
    pub absence_is_deletion: bool,
}

/// One of a provider's doors: the API (and its sign-in) a connection is made through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Door {
    /// Stable id, kept with the connection and with each copy it brought (`v4`, `personal`).
    pub id: &'static str,
    /// Its name for the athlete ("AccessLink v4").
    pub name: &'static str,
    /// Where the athlete ends a grant by hand, for a door with no revoke API (Polar v4, a
    /// Garmin personal key); `None`: disconnecting revokes through the API.
    pub revoke_by_hand: Option<&'static str>,
}

/// What a provider's API offers of an activity's recording (the download queue's work).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Recordings {
    /// Nothing beyond the summary.
    None,
    /// The original file the device wrote (FIT, or GPX/TCX), one request per activity.
    Originals,
    /// No files, but the recorded streams, one request per activity (Strava).
    Streams,
}

/// One activity whose recording the queue asks for.
#[derive(Debug, Clone, Copy)]
pub struct RecordingRequest<'a> {
    /// The provider's id for it.
    pub provider_activity_id: &'a str,
    /// The summary the provider listed (some carry the file's address).
    pub summary: &'a serde_json::Value,
}

/// What a provider answered for one activity's recording.
#[derive(Debug)]
pub enum FetchedRecording {
    /// The file as the provider sent it (possibly wrapped: gzip, a ZIP holding it).
    File(Vec<u8>),
    /// Streams read from the provider's streams API (no file exists).
    Streams(crate::recording::Streams),
    /// The provider has none for this activity, and why (a manual entry, a 404 for a file its
    /// listing advertised).
    Missing(String),
}

/// `GET url` on a provider's own API (with the token) for a file: 2xx is the file, 204, 404 and
/// 410 say there is none, anything else is classified by `fail`.
pub(crate) async fn api_file(
    http: &Http,
    call: &Call<'_>,
    url: &Url,
    fail: impl Fn(&http::Response) -> Error,
) -> Result<FetchedRecording> {
    let response = http.send(call, |c| c.get(url.clone())).await?;
    match response.status.as_u16() {
        204 | 404 | 410 => Ok(FetchedRecording::Missing(format!(
            "{} has no file for it (HTTP {})",
            http.provider(),
            response.status.as_u16()
        ))),
        200..=299 if response.body.is_empty() => Ok(FetchedRecording::Missing(format!(
            "{} answered an empty file",
            http.provider()
        ))),
        200..=299 => Ok(FetchedRecording::File(response.body)),
        _ => Err(fail(&response)),
    }
}

/// An id as it may go into a URL path: digits, letters, `-` and `_` only (a provider's id is
/// data from its answer; it must not reshape the request).
pub(crate) fn path_safe(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Download a file from an address a provider's answer gave (Wahoo's `file.url`, COROS's
/// `fitUrl`): HTTPS only (plain HTTP on loopback, the sandbox's twins), and never with our
/// token: the host is not the provider's API and has no business with it.
pub(crate) async fn download_file(
    http: &Http,
    call: &Call<'_>,
    address: &str,
) -> Result<FetchedRecording> {
    let provider = http.provider();
    let url = Url::parse(address).map_err(|e| Error::Provider {
        provider,
        status: None,
        message: format!("the file address is not a URL ({e})"),
    })?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        return Ok(FetchedRecording::Missing(format!(
            "the file's address is not HTTPS ({}:)",
            url.scheme()
        )));
    }
    let untokened = Call {
        token: None,
        meter: call.meter,
        clock: call.clock,
    };
    let response = http.send(&untokened, |c| c.get(url.clone())).await?;
    match response.status.as_u16() {
        200..=299 => Ok(FetchedRecording::File(response.body)),
        404 | 410 => Ok(FetchedRecording::Missing(format!(
            "the file its listing advertised is gone (HTTP {})",
            response.status.as_u16()
        ))),
        _ => Err(http.classify(&response, call.clock.now() + chrono::Duration::minutes(15))),
    }
}

/// The redirects a provider accepts: whether a custom-scheme deep link may be registered, and
/// whether the loopback redirect must use one registered port (providers that match the whole
/// URL) or may use any (RFC 8252: loopback ports are not compared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Redirects {
    /// A `tributary://` deep link works (false: loopback only, as Google's "Desktop app"
    /// clients).
    pub deep_link: bool,
    /// The loopback port to register and use, where the provider compares the whole URL.
    pub loopback_port: Option<u16>,
}

impl Redirects {
    /// A deep link, or a loopback redirect on any port.
    pub const ANY: Self = Self {
        deep_link: true,
        loopback_port: None,
    };
}

/// A client id and, where the provider needs one, its secret.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    /// The client id (not secret).
    pub client_id: String,
    /// The client secret.
    pub client_secret: Option<Sensitive<String>>,
}

/// What an authorize URL is built from.
#[derive(Debug, Clone)]
pub struct AuthorizeParams<'a> {
    /// Where the provider sends the athlete back.
    pub redirect_uri: &'a str,
    /// Our CSRF `state`.
    pub state: &'a str,
    /// PKCE S256 challenge, when the provider takes one.
    pub pkce_challenge: Option<&'a str>,
}

/// Tokens and facts from a token endpoint.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    /// Access token.
    pub access_token: Sensitive<String>,
    /// Refresh token, if issued (a rotated one replaces the old).
    pub refresh_token: Option<Sensitive<String>>,
    /// Access-token expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Granted scopes, if the token endpoint reports them.
    pub scopes: Option<Vec<String>>,
    /// The rest of the token response, without the tokens (e.g. Polar's `x_user_id`).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Where to list from: a provider-defined resume cursor, or a fresh start from `since`.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    /// Resume point from a previous page or an unfinished run (opaque, provider-defined).
    pub cursor: Option<String>,
    /// For a fresh run: only activities that started after this instant (None = full history).
    pub since: Option<DateTime<Utc>>,
    /// The athlete's id at the provider (COROS lists by `openId`).
    pub provider_user_id: Option<String>,
    /// Where a stream (Garmin's inbox) was read to in earlier runs, as the provider reported it.
    pub position: Option<String>,
    /// When the athlete's history at the provider begins, when known (a walk's progress).
    pub history_start: Option<DateTime<Utc>>,
}

/// A record the provider sent that we could not turn into an activity.
#[derive(Debug, Clone, PartialEq)]
pub struct Unmappable {
    /// The provider's id, if it had one.
    pub provider_activity_id: Option<String>,
    /// Why.
    pub reason: String,
}

/// One page of activities.
#[derive(Debug, Clone, Default)]
pub struct ActivityPage {
    /// The records, mapped or not.
    pub items: Vec<Result<NewActivity, Unmappable>>,
    /// Where the next page starts; `None` when this was the last page.
    pub next_cursor: Option<String>,
    /// For a stream: the position after this page, kept across runs (the next run continues
    /// there even when this run read to the end).
    pub position: Option<String>,
    /// How much of the walk is done after this page (0 to 1), when the provider lets us tell.
    pub progress: Option<f64>,
}

/// The tokens of one grant (the connection's, or one a reconnect replaced).
#[derive(Debug, Clone)]
pub struct GrantTokens {
    /// Its access token.
    pub access: crate::secrets::Sensitive<String>,
    /// Its refresh token, if it had one.
    pub refresh: Option<crate::secrets::Sensitive<String>>,
}

/// A provider's three OAuth/API base URLs, resolved from configuration over built-in defaults.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// The authorize page.
    pub auth_url: Url,
    /// The token endpoint.
    pub token_url: Url,
    /// The API base.
    pub api_url: Url,
}

impl Endpoints {
    /// Configuration overrides each default (`[auth, token, api]`).
    pub fn resolve(settings: &ProviderSettings, defaults: [&str; 3]) -> Result<Self> {
        Ok(Self {
            auth_url: endpoint(settings.auth_url.as_ref(), defaults[0])?,
            token_url: endpoint(settings.token_url.as_ref(), defaults[1])?,
            api_url: endpoint(settings.api_url.as_ref(), defaults[2])?,
        })
    }
}

/// One provider's client.
///
/// The standard OAuth2 forms (authorize URL, code exchange, refresh, scope check) are default
/// methods driven by [`Capabilities`] (client authentication, PKCE, scopes, refresh style): a
/// provider overrides only where its API differs from RFC 6749.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// Which provider.
    fn kind(&self) -> ProviderKind;
    /// Its capabilities.
    fn capabilities(&self) -> Capabilities;
    /// Its endpoints.
    fn endpoints(&self) -> &Endpoints;
    /// Its HTTP client, with the shared policy.
    fn http(&self) -> &Http;

    /// Extra query parameters on the authorize URL (e.g. Google's `access_type=offline`).
    fn authorize_extras(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// The authorize URL to open in the system browser.
    fn authorize_url(
        &self,
        creds: &ClientCredentials,
        params: &AuthorizeParams<'_>,
    ) -> Result<Url> {
        let caps = self.capabilities();
        let mut url = self.endpoints().auth_url.clone();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("client_id", &creds.client_id)
                .append_pair("redirect_uri", params.redirect_uri)
                .append_pair("response_type", "code");
            if !caps.scopes.is_empty() {
                query.append_pair("scope", &caps.scopes.join(caps.scope_delimiter));
            }
            query.append_pair("state", params.state);
            if caps.pkce {
                let challenge = params.pkce_challenge.ok_or_else(|| {
                    Error::Internal(format!(
                        "{} connects with PKCE but no challenge was made",
                        caps.display_name
                    ))
                })?;
                query
                    .append_pair("code_challenge", challenge)
                    .append_pair("code_challenge_method", "S256");
            }
            for (key, value) in self.authorize_extras() {
                query.append_pair(key, value);
            }
        }
        Ok(url)
    }

    /// Which required scopes are missing from what the athlete granted (empty = all fine). The
    /// default: at least one of [`Capabilities::required_scopes`] must have been granted.
    fn missing_scopes(&self, granted: &[String]) -> Vec<String> {
        let required = self.capabilities().required_scopes;
        match required.first() {
            Some(first) if !required.iter().any(|r| granted.iter().any(|g| g == r)) => {
                vec![(*first).to_owned()]
            }
            _ => Vec::new(),
        }
    }

    /// Swap an authorization code for tokens.
    async fn exchange_code(
        &self,
        call: &Call<'_>,
        creds: &ClientCredentials,
        code: &str,
        redirect_uri: &str,
        pkce_verifier: Option<&Sensitive<String>>,
    ) -> Result<TokenGrant> {
        let caps = self.capabilities();
        let verifier = match caps.pkce {
            true => Some(pkce_verifier.ok_or_else(|| {
                Error::Internal(format!(
                    "{} connects with PKCE but the verifier is missing",
                    caps.display_name
                ))
            })?),
            false => None,
        };
        oauth::exchange(
            self.http(),
            call,
            &self.endpoints().token_url,
            creds,
            caps.client_auth,
            &oauth::Exchange {
                code,
                redirect_uri: Some(redirect_uri),
                verifier,
            },
        )
        .await
    }

    /// Swap a refresh token for new tokens. `access_token` is the current one, for providers whose
    /// refresh extends it rather than issuing a new one (COROS).
    async fn refresh(
        &self,
        call: &Call<'_>,
        creds: &ClientCredentials,
        refresh_token: &Sensitive<String>,
        _access_token: &Sensitive<String>,
    ) -> Result<TokenGrant> {
        let caps = self.capabilities();
        if caps.refresh == RefreshStyle::None {
            return Err(Error::NeedsReauth {
                provider: self.kind(),
                reason: format!("{} issues no refresh tokens", caps.display_name),
            });
        }
        oauth::refresh(
            self.http(),
            call,
            &self.endpoints().token_url,
            creds,
            caps.client_auth,
            refresh_token,
        )
        .await
    }

    /// Why the provider refused to refresh a grant of this age, when a rule of its own explains
    /// it (Google ends grants of projects in "Testing" after 7 days); `None`: the refusal says
    /// enough.
    fn explain_refused_refresh(&self, _grant_age: chrono::Duration) -> Option<String> {
        None
    }

    /// Swap the athlete's personal API key for an access token (providers that sign in with
    /// one; the others never get here).
    async fn exchange_key(&self, _call: &Call<'_>, _key: &Sensitive<String>) -> Result<TokenGrant> {
        Err(Error::Validation(format!(
            "{} signs in through the browser, not with a key",
            self.capabilities().display_name
        )))
    }

    /// Finish connecting with a fresh access token: whatever registration the provider requires,
    /// then the athlete's profile.
    async fn fetch_profile(&self, call: &Call<'_>, grant: &TokenGrant)
    -> Result<ConnectionProfile>;
    /// Revoke our access at the provider (disconnect).
    async fn revoke(
        &self,
        call: &Call<'_>,
        creds: &ClientCredentials,
        provider_user_id: Option<&str>,
    ) -> Result<()>;
    /// List one page of activities.
    async fn list_activities(&self, call: &Call<'_>, request: &ListRequest)
    -> Result<ActivityPage>;

    /// Revoke one grant by its own tokens, leaving any other grant of the athlete alive (a
    /// reconnect's new one): no live access token is needed. `Ok(false)` where the provider has
    /// no way to revoke one grant alone (its revocation ends every grant of the app, or needs a
    /// live token): then a disconnect uses [`Provider::revoke`], and a replaced grant is only
    /// forgotten.
    async fn revoke_grant(
        &self,
        _call: &Call<'_>,
        _creds: &ClientCredentials,
        _replaced: &GrantTokens,
    ) -> Result<bool> {
        Ok(false)
    }

    /// The recording of one activity (see [`Capabilities::recordings`]): one request, within the
    /// budget the queue checked. The default: the API offers none.
    async fn fetch_recording(
        &self,
        _call: &Call<'_>,
        _request: &RecordingRequest<'_>,
    ) -> Result<FetchedRecording> {
        Ok(FetchedRecording::Missing(format!(
            "{} offers no recordings through its API",
            self.capabilities().display_name
        )))
    }

    /// The laps of one activity, where the recording itself has none (Strava's streams):
    /// one more request, made when the activity is opened. `Ok(None)` where the provider has
    /// no such endpoint (the laps come with the file).
    async fn fetch_laps(
        &self,
        _call: &Call<'_>,
        _request: &RecordingRequest<'_>,
    ) -> Result<Option<Vec<crate::recording::Lap>>> {
        Ok(None)
    }

    /// When the athlete's history at the provider begins, read from the profile stored at
    /// connect (for a walk's progress); `None` when the provider does not say.
    fn history_start(&self, _profile: Option<&serde_json::Value>) -> Option<DateTime<Utc>> {
        None
    }
}

/// How one provider module is built: its doors and its rate-limit header parser.
struct Entry {
    kind: ProviderKind,
    build: fn(&ProviderSettings, Http) -> Result<Doors>,
    rate: http::RateParser,
}

/// A provider's clients, one per door.
pub struct Doors {
    /// The door new connections use.
    current: Arc<dyn Provider>,
    /// Doors older connections may still use.
    others: Vec<Arc<dyn Provider>>,
    /// The door of a connection that names none (made before doors were kept).
    legacy: &'static str,
    /// Doors the provider is leaving behind (Polar's v3): a connection on one is offered the
    /// move to the current door, unless the current door is one of them too.
    retiring: &'static [&'static str],
}

impl Doors {
    /// A provider with one door.
    pub fn one(client: Arc<dyn Provider>) -> Self {
        let legacy = client.capabilities().door.id;
        Self {
            current: client,
            others: Vec::new(),
            legacy,
            retiring: &[],
        }
    }

    /// A provider whose new connections use `current` while older ones keep theirs; a
    /// connection that names no door was made through `legacy`.
    pub fn with_older(
        current: Arc<dyn Provider>,
        others: Vec<Arc<dyn Provider>>,
        legacy: &'static str,
    ) -> Self {
        Self {
            current,
            others,
            legacy,
            retiring: &[],
        }
    }

    /// The doors the provider is leaving behind (see [`Doors::retiring`]).
    pub fn retiring(self, doors: &'static [&'static str]) -> Self {
        Self {
            retiring: doors,
            ..self
        }
    }

    fn find(&self, door: &str) -> Option<&Arc<dyn Provider>> {
        std::iter::once(&self.current)
            .chain(&self.others)
            .find(|c| c.capabilities().door.id == door)
    }
}

/// The one place that lists provider modules.
const PROVIDERS: [Entry; 6] = [
    Entry {
        kind: ProviderKind::Strava,
        build: |s, h| Ok(Doors::one(Arc::new(strava::Strava::new(s, h)?))),
        rate: strava::rate_budget,
    },
    Entry {
        kind: ProviderKind::Polar,
        // AccessLink v4 for new connections (`TRIBUTARY_POLAR_DOOR=v3` keeps new ones on v3);
        // v3 for those made before v4 (they name no door).
        build: |s, h| {
            let v4: Arc<dyn Provider> = Arc::new(polar::v4::PolarV4::new(s, h.clone())?);
            let v3: Arc<dyn Provider> = Arc::new(polar::Polar::new(s, h)?);
            let (current, older) = match s.door.as_deref() {
                Some("v3") => (v3, v4),
                _ => (v4, v3),
            };
            Ok(Doors::with_older(current, vec![older], polar::V3_DOOR.id)
                .retiring(&[polar::V3_DOOR.id]))
        },
        rate: polar::rate_budget,
    },
    Entry {
        kind: ProviderKind::Coros,
        build: |s, h| Ok(Doors::one(Arc::new(coros::Coros::new(s, h)?))),
        rate: coros::rate_budget,
    },
    Entry {
        kind: ProviderKind::Garmin,
        // Two doors: the Personal API (athletes' own keys) unless the partner one is chosen; a
        // connection keeps the door it was made through.
        build: |s, h| {
            let personal: Arc<dyn Provider> =
                Arc::new(garmin::personal::GarminPersonal::new(s, h.clone())?);
            let partner: Arc<dyn Provider> = Arc::new(garmin::Garmin::new(s, h)?);
            let (current, other) = match garmin::personal::chosen(s) {
                true => (personal, partner),
                false => (partner, personal),
            };
            // Connections made before doors were kept used the door configured then, which
            // is the one configured now unless it was changed since.
            let legacy = current.capabilities().door.id;
            Ok(Doors::with_older(current, vec![other], legacy))
        },
        rate: garmin::rate_budget,
    },
    Entry {
        kind: ProviderKind::GoogleHealth,
        build: |s, h| {
            Ok(Doors::one(Arc::new(google_health::GoogleHealth::new(
                s, h,
            )?)))
        },
        rate: google_health::rate_budget,
    },
    Entry {
        kind: ProviderKind::Wahoo,
        build: |s, h| Ok(Doors::one(Arc::new(wahoo::Wahoo::new(s, h)?))),
        rate: wahoo::rate_budget,
    },
];

/// The providers this build knows, keyed by kind.
pub struct Registry {
    doors: BTreeMap<ProviderKind, Doors>,
}

impl Registry {
    /// Build every provider module from configuration.
    pub fn new(config: &Config, http: &reqwest::Client) -> Result<Self> {
        let doors = PROVIDERS
            .iter()
            .map(|entry| {
                let client = Http::new(http.clone(), entry.kind, config.retry, entry.rate);
                Ok((
                    entry.kind,
                    (entry.build)(&config.provider(entry.kind), client)?,
                ))
            })
            .collect::<Result<BTreeMap<_, _>>>()?;
        Ok(Self { doors })
    }

    /// A registry of the given clients, one door each (tests use scripted providers).
    pub fn from_providers(providers: impl IntoIterator<Item = Arc<dyn Provider>>) -> Self {
        Self::from_doors(providers.into_iter().map(Doors::one))
    }

    /// A registry of the given doors (tests with a provider of two doors).
    pub fn from_doors(doors: impl IntoIterator<Item = Doors>) -> Self {
        Self {
            doors: doors.into_iter().map(|d| (d.current.kind(), d)).collect(),
        }
    }

    /// The client new connections to `kind` use (its current door), or a clear error if this
    /// build has none.
    pub fn get(&self, kind: ProviderKind) -> Result<Arc<dyn Provider>> {
        self.doors
            .get(&kind)
            .map(|d| d.current.clone())
            .ok_or_else(|| {
                Error::Validation(format!(
                    "{kind} is not supported by this build of Tributary yet"
                ))
            })
    }

    /// The client of the door `connection` was made through (a door this build no longer has
    /// falls to the current one, whose sign-in then moves it).
    pub fn for_connection(
        &self,
        connection: &crate::domain::Connection,
    ) -> Result<Arc<dyn Provider>> {
        self.door(connection.provider, connection.door.as_deref())
    }

    /// The client of `door` of `kind` (`None`: a connection that names no door).
    pub fn door(&self, kind: ProviderKind, door: Option<&str>) -> Result<Arc<dyn Provider>> {
        let doors = self.doors.get(&kind).ok_or_else(|| {
            Error::Validation(format!(
                "{kind} is not supported by this build of Tributary yet"
            ))
        })?;
        Ok(doors
            .find(door.unwrap_or(doors.legacy))
            .unwrap_or(&doors.current)
            .clone())
    }

    /// The door a connection that names `door` is on, as the provider names it now (the legacy
    /// door for `None`).
    pub fn door_of(&self, kind: ProviderKind, door: Option<&str>) -> Option<Door> {
        self.door(kind, door).ok().map(|c| c.capabilities().door)
    }

    /// The door a connection on `door` of `kind` is offered to move to: the current one, when
    /// the connection's is retiring and the current one is not (never back to an older door).
    pub fn moves_to(&self, kind: ProviderKind, door: Option<&str>) -> Option<Door> {
        let doors = self.doors.get(&kind)?;
        let on = self.door_of(kind, door)?;
        let current = doors.current.capabilities().door;
        (on != current && doors.retiring.contains(&on.id) && !doors.retiring.contains(&current.id))
            .then_some(current)
    }

    /// Every provider with its capabilities (its current door's).
    pub fn described(&self) -> impl Iterator<Item = (ProviderKind, Capabilities)> + '_ {
        self.doors
            .iter()
            .map(|(k, d)| (*k, d.current.capabilities()))
    }

    /// Every deep-link host a provider's redirect may use (`oauth`, `localhost`, ...), at any
    /// door.
    pub fn deep_link_hosts(&self) -> Vec<&'static str> {
        let mut hosts: Vec<_> = self
            .doors
            .values()
            .flat_map(|d| std::iter::once(&d.current).chain(&d.others))
            .map(|c| c.capabilities().deep_link_host)
            .collect();
        hosts.sort_unstable();
        hosts.dedup();
        hosts
    }
}

/// A number as proto3 JSON writes it: a JSON number, or a string holding one (int64 always,
/// doubles sometimes; "NaN" and "Infinity" read as absent). Null or absent is `None`; anything
/// else is an error naming what came.
pub(crate) fn proto_number<'de, D>(deserializer: D) -> std::result::Result<Option<f64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize;
    use serde::de::Error as _;
    match Option::<serde_json::Value>::deserialize(deserializer)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => Ok(n.as_f64().filter(|v| v.is_finite())),
        Some(serde_json::Value::String(s)) => match s.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            Ok(_) => Ok(None),
            Err(_) => Err(D::Error::custom(format!("'{s}' is not a number"))),
        },
        Some(other) => Err(D::Error::custom(format!("{other} is not a number"))),
    }
}

/// `base` with `path` appended to its own path (`https://h/api/v3` + `athlete` →
/// `https://h/api/v3/athlete`), which `Url::join` would not do for a base without a trailing slash.
pub(crate) fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{prefix}/{path}"));
    url
}

/// The endpoint `name` beside `url`, in the same parent path (`/oauth/token` → `/oauth/revoke`):
/// providers keep revoke and refresh endpoints next to their token endpoint.
pub(crate) fn beside(url: &Url, name: &str) -> Url {
    let mut sibling = url.clone();
    let parent = url
        .path()
        .trim_end_matches('/')
        .rsplit_once('/')
        .map_or("", |(p, _)| p)
        .to_owned();
    sibling.set_path(&format!("{parent}/{name}"));
    sibling
}

/// Read a provider's resume cursor, saying whose it was when it cannot be read.
pub(crate) fn read_cursor<T: serde::de::DeserializeOwned>(
    provider: ProviderKind,
    text: &str,
) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| Error::Internal(format!("unreadable {provider} resume cursor ({e}): {text}")))
}

/// Endpoint resolution shared by provider constructors: configuration overrides the default.
pub(crate) fn endpoint(configured: Option<&Url>, default: &str) -> Result<Url> {
    match configured {
        Some(url) => Ok(url.clone()),
        None => Url::parse(default)
            .map_err(|e| Error::Internal(format!("bad built-in endpoint {default}: {e}"))),
    }
}

/// Strategies for property tests: arbitrary JSON, and objects carrying a provider's field names
/// with arbitrary (often absurd) values, so that mappers meet garbage shaped like their input.
#[cfg(test)]
pub(crate) mod fuzz {
    use proptest::prelude::*;
    use serde_json::{Map, Number, Value};

    /// A number a provider could send: ordinary, extreme, fractional or non-finite-ish.
    pub fn number() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
            Just(Value::from(i64::MIN)),
            Just(Value::from(i64::MAX)),
            Just(Value::from(u64::MAX)),
            (-100_000i64..100_000).prop_map(Value::from),
        ]
    }

    /// A string a provider could send: numeric text, dates, durations, or noise.
    pub fn text() -> impl Strategy<Value = Value> {
        prop_oneof![
            ".{0,24}".prop_map(Value::from),
            any::<i64>().prop_map(|n| Value::from(n.to_string())),
            any::<f64>().prop_map(|f| Value::from(f.to_string())),
            "[0-9]{1,6}-[0-9]{1,2}-[0-9]{1,2}T[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,3})?(Z|[+-][0-9]{2}:[0-9]{2})?"
                .prop_map(Value::from),
            "P(T([0-9]{1,12}H)?([0-9]{1,12}M)?([0-9]{1,12}(\\.[0-9]+)?S)?)?".prop_map(Value::from),
            "-?[0-9]{1,20}(\\.[0-9]+)?s".prop_map(Value::from),
        ]
    }

    /// Any JSON value, a few levels deep.
    pub fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            number(),
            text(),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(".{0,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// An object with (some of) `keys`, each holding anything; nested objects under `nested`.
    pub fn shaped(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
        prop::collection::vec((prop::sample::select(keys), json()), 0..keys.len() * 2).prop_map(
            |pairs| {
                let mut map = Map::new();
                for (k, v) in pairs {
                    map.insert((*k).to_owned(), v);
                }
                Value::Object(map)
            },
        )
    }
}

#[cfg(test)]
mod door_tests {
    use super::*;
    use crate::domain::ProviderKind::{Garmin, Polar};

    fn registry(polar_door: Option<&str>) -> Registry {
        let config = Config::from_lookup(|k| match k {
            "TRIBUTARY_POLAR_DOOR" => polar_door.map(str::to_owned),
            _ => None,
        })
        .unwrap();
        Registry::new(&config, &reqwest::Client::new()).unwrap()
    }

    #[test]
    fn a_connection_is_routed_by_its_door_and_offered_only_the_move_forward() {
        let r = registry(None);
        assert_eq!(r.get(Polar).unwrap().capabilities().door.id, "v4");
        assert_eq!(
            r.door(Polar, Some("v3")).unwrap().capabilities().door.id,
            "v3"
        );
        // A connection made before doors were kept was made through v3.
        assert_eq!(r.door(Polar, None).unwrap().capabilities().door.id, "v3");
        // A door this build does not know falls to the current one.
        assert_eq!(
            r.door(Polar, Some("v9")).unwrap().capabilities().door.id,
            "v4"
        );
        assert_eq!(r.moves_to(Polar, Some("v3")).map(|d| d.id), Some("v4"));
        assert_eq!(r.moves_to(Polar, Some("v4")), None);
        // Garmin's doors are two ways in, not an old and a new one.
        assert_eq!(r.moves_to(Garmin, Some("partner")), None);
        // New connections sent to v3 (tests of v3): a v4 connection is never offered v3.
        let back = registry(Some("v3"));
        assert_eq!(back.get(Polar).unwrap().capabilities().door.id, "v3");
        assert_eq!(back.moves_to(Polar, Some("v4")), None);
        assert_eq!(
            back.door(Polar, Some("v4")).unwrap().capabilities().door.id,
            "v4"
        );
    }
}
