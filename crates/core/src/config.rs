//! Configuration: where data lives, each provider's endpoints and credentials, HTTP policy.
//!
//! Every endpoint and credential can be set from the environment with one naming pattern,
//! `TRIBUTARY_<PROVIDER>_{CLIENT_ID,CLIENT_SECRET,AUTH_URL,TOKEN_URL,API_URL}` (`<PROVIDER>` is
//! `STRAVA`, `GARMIN`, `POLAR`, `COROS`, `WAHOO`, `GOOGLE_HEALTH`), `TRIBUTARY_GARMIN_INBOX_URL`
//! for the relay's inbox, plus `TRIBUTARY_DATA_DIR` and `TRIBUTARY_KEYRING_SERVICE` (the keyring
//! service entries are kept under; default `tributary`).
//! The same settings are how tests and the sandbox point the app elsewhere.

use crate::domain::ProviderKind;
use crate::secrets::Sensitive;
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// Retries for transient failures (5xx, timeouts, resets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, including the first.
    pub attempts: u32,
    /// Delay before the first retry; doubles each time.
    pub base: Duration,
    /// Longest delay.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base: Duration::from_millis(500),
            max: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// Backoff before retry number `attempt` (1-based), with up to 50% jitter so that many
    /// clients do not retry in step.
    pub fn delay(&self, attempt: u32, now: DateTime<Utc>) -> Duration {
        let exp = self
            .base
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(self.max);
        let spread = u64::try_from(exp.as_millis() / 2).unwrap_or(0).max(1);
        let jitter = u64::from(now.timestamp_subsec_nanos()) % spread;
        exp + Duration::from_millis(jitter)
    }
}

/// One provider's settings; `None` means the built-in default.
#[derive(Debug, Clone, Default)]
pub struct ProviderSettings {
    /// OAuth client id.
    pub client_id: Option<String>,
    /// OAuth client secret.
    pub client_secret: Option<Sensitive<String>>,
    /// Authorize endpoint.
    pub auth_url: Option<Url>,
    /// Token endpoint.
    pub token_url: Option<Url>,
    /// API base.
    pub api_url: Option<Url>,
    /// A relay's inbox for push-only providers (Garmin): `TRIBUTARY_<P>_INBOX_URL`.
    pub inbox_url: Option<Url>,
    /// Which of a provider's doors to use where it has two (Garmin: `personal` or `partner`):
    /// `TRIBUTARY_<P>_DOOR`.
    pub door: Option<String>,
    /// A personal-key door's token exchange: `TRIBUTARY_<P>_PERSONAL_TOKEN_URL`.
    pub personal_token_url: Option<Url>,
    /// A personal-key door's API base: `TRIBUTARY_<P>_PERSONAL_API_URL`.
    pub personal_api_url: Option<Url>,
    /// A second OAuth door's authorize, token and API base (Polar AccessLink v4):
    /// `TRIBUTARY_<P>_V4_AUTH_URL`, `_V4_TOKEN_URL`, `_V4_API_URL`.
    pub v4_auth_url: Option<Url>,
    /// See [`Self::v4_auth_url`].
    pub v4_token_url: Option<Url>,
    /// See [`Self::v4_auth_url`].
    pub v4_api_url: Option<Url>,
}

/// The core's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the database lives.
    pub data_dir: PathBuf,
    /// Keyring service name entries are stored under.
    pub keyring_service: String,
    /// Per-provider settings.
    pub providers: BTreeMap<ProviderKind, ProviderSettings>,
    /// Retry policy for provider calls.
    pub retry: RetryPolicy,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Whether a completed connect starts the first sync at once (the product's policy; tests of
    /// the connect flow alone switch it off).
    pub sync_after_connect: bool,
    /// Whether the agent downloads recordings in the background (`TRIBUTARY_BACKGROUND_DOWNLOADS
    /// =off` on a metered network, or in tests of the fetch on opening). Off, a recording is
    /// still fetched when its activity is opened, and `tributary files` runs the queue.
    pub background_downloads: bool,
}

impl Config {
    /// Defaults with data in `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            keyring_service: "tributary".to_owned(),
            providers: BTreeMap::new(),
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
            sync_after_connect: true,
            background_downloads: true,
        }
    }

    /// Read the configuration from the environment (see the module docs).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Read the configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let data_dir = match lookup("TRIBUTARY_DATA_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => dirs::data_dir()
                .ok_or_else(|| {
                    Error::Validation(
                        "no data directory on this platform; set TRIBUTARY_DATA_DIR".to_owned(),
                    )
                })?
                .join("tributary"),
        };
        let mut config = Self::new(data_dir);
        if let Some(service) = lookup("TRIBUTARY_KEYRING_SERVICE") {
            config.keyring_service = service;
        }
        if let Some(value) = lookup("TRIBUTARY_BACKGROUND_DOWNLOADS") {
            config.background_downloads = match value.to_ascii_lowercase().as_str() {
                "on" | "1" | "true" | "yes" => true,
                "off" | "0" | "false" | "no" => false,
                other => {
                    return Err(Error::Validation(format!(
                        "TRIBUTARY_BACKGROUND_DOWNLOADS must be on or off, not '{other}'"
                    )));
                }
            };
        }
        for &kind in ProviderKind::ALL {
            let prefix = format!("TRIBUTARY_{}_", kind.as_str().to_uppercase());
            let var = |suffix: &str| lookup(&format!("{prefix}{suffix}"));
            let url = |suffix: &str| -> Result<Option<Url>> {
                var(suffix)
                    .map(|v| {
                        Url::parse(&v).map_err(|e| {
                            Error::Validation(format!("{prefix}{suffix} is not a URL ({e}): {v}"))
                        })
                    })
                    .transpose()
            };
            let settings = ProviderSettings {
                client_id: var("CLIENT_ID"),
                client_secret: var("CLIENT_SECRET").map(Sensitive::new),
                auth_url: url("AUTH_URL")?,
                token_url: url("TOKEN_URL")?,
                api_url: url("API_URL")?,
                inbox_url: url("INBOX_URL")?,
                door: var("DOOR"),
                personal_token_url: url("PERSONAL_TOKEN_URL")?,
                personal_api_url: url("PERSONAL_API_URL")?,
                v4_auth_url: url("V4_AUTH_URL")?,
                v4_token_url: url("V4_TOKEN_URL")?,
                v4_api_url: url("V4_API_URL")?,
            };
            config.providers.insert(kind, settings);
        }
        Ok(config)
    }

    /// The settings for `kind` (defaults if none were given).
    pub fn provider(&self, kind: ProviderKind) -> ProviderSettings {
        self.providers.get(&kind).cloned().unwrap_or_default()
    }

    /// The database file.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("tributary.db")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn environment_names_follow_one_pattern() {
        let env: HashMap<&str, &str> = HashMap::from([
            ("TRIBUTARY_DATA_DIR", "/tmp/t"),
            ("TRIBUTARY_STRAVA_CLIENT_ID", "42"),
            ("TRIBUTARY_GOOGLE_HEALTH_API_URL", "http://127.0.0.1:9/gh"),
        ]);
        let config = Config::from_lookup(|k| env.get(k).map(|v| (*v).to_owned())).unwrap();
        assert_eq!(config.database_path(), PathBuf::from("/tmp/t/tributary.db"));
        assert_eq!(
            config.provider(ProviderKind::Strava).client_id.as_deref(),
            Some("42")
        );
        assert_eq!(
            config
                .provider(ProviderKind::GoogleHealth)
                .api_url
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/gh",
            "GOOGLE_HEALTH is the upper-cased provider key"
        );
    }

    #[test]
    fn a_malformed_endpoint_is_refused_with_its_variable_name() {
        let err = Config::from_lookup(|k| {
            (k == "TRIBUTARY_STRAVA_TOKEN_URL").then(|| "not a url".to_owned())
        })
        .unwrap_err();
        assert!(
            err.to_string().contains("TRIBUTARY_STRAVA_TOKEN_URL"),
            "{err}"
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(100),
            max: Duration::from_millis(300),
        };
        let now = DateTime::<Utc>::UNIX_EPOCH;
        assert_eq!(policy.delay(1, now), Duration::from_millis(100));
        assert_eq!(policy.delay(2, now), Duration::from_millis(200));
        assert_eq!(
            policy.delay(5, now),
            Duration::from_millis(300),
            "capped at max"
        );
    }
}
