//! The core's one error type and the stable codes front ends branch on.
//!
//! Variants name what went wrong in terms a caller can act on, never which dependency failed.
//! Messages are short sentences for a person; lower-level detail stays in the `source()` chain.

use crate::domain::ProviderKind;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Result alias used across the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the core can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A row or resource does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, e.g. "connection 3".
        what: String,
    },
    /// The caller's input is malformed or not allowed.
    #[error("{0}")]
    Validation(String),
    /// An OAuth redirect was rejected (unknown, replayed, expired or mismatched `state`, bad URL).
    #[error("{0}")]
    InvalidRedirect(String),
    /// A sync run is already going for this connection.
    #[error("a sync for {provider} is already running")]
    AlreadyRunning {
        /// Provider whose connection is busy.
        provider: ProviderKind,
    },
    /// The operation was cancelled by the athlete.
    #[error("cancelled")]
    Cancelled,
    /// The provider no longer accepts our tokens; the athlete has to authorise again.
    #[error("{provider} needs you to sign in again: {reason}")]
    NeedsReauth {
        /// Provider that rejected the token.
        provider: ProviderKind,
        /// What the provider said.
        reason: String,
    },
    /// The athlete did not grant a scope we need.
    #[error("{provider} did not grant the permission {missing}; connect again and keep it ticked")]
    ScopeMissing {
        /// Provider concerned.
        provider: ProviderKind,
        /// The missing scope(s).
        missing: String,
    },
    /// The provider's rate budget is spent until `until`.
    #[error("{provider} rate limit reached; continues at {until}")]
    RateLimited {
        /// Provider concerned.
        provider: ProviderKind,
        /// When the budget refills.
        until: DateTime<Utc>,
    },
    /// The provider API is gone (e.g. 410 Gone).
    #[error("{provider}: {message}")]
    Deprecated {
        /// Provider concerned.
        provider: ProviderKind,
        /// What the provider said.
        message: String,
    },
    /// The provider refuses the API application itself (Strava: an application whose owner has
    /// no subscription is "Inactive"): no sign-in helps; the application's owner must act.
    #[error("{message}")]
    AppInactive {
        /// Provider concerned.
        provider: ProviderKind,
        /// What the provider said, and where its owner re-activates it.
        message: String,
    },
    /// The provider answered with an error or something we could not understand.
    #[error("{provider} answered {}: {message}", status.map_or_else(|| "unexpectedly".to_owned(), |s| format!("HTTP {s}")))]
    Provider {
        /// Provider concerned.
        provider: ProviderKind,
        /// HTTP status, if the failure came with one.
        status: Option<u16>,
        /// What went wrong, readable.
        message: String,
    },
    /// The provider could not be reached (after retries).
    #[error("could not reach {provider}: {source}")]
    Network {
        /// Provider concerned.
        provider: ProviderKind,
        /// Underlying transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The provider has no API credentials (client id/secret) configured.
    #[error("{provider} has no API credentials: {hint}")]
    CredentialsMissing {
        /// Provider concerned.
        provider: ProviderKind,
        /// How to configure them.
        hint: String,
    },
    /// The OS secret store is missing, locked or failing.
    #[error("{0}")]
    SecretStore(String),
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database was written by a newer version of Tributary, whose changes this version does
    /// not know: opening it could lose them, so it is left untouched.
    #[error(
        "this database ({path}) was last opened by a newer version of Tributary; install that \
         version or a later one (this one, {version}, knows {known} of its {applied} changes)"
    )]
    DatabaseTooNew {
        /// The database file.
        path: String,
        /// This program's version.
        version: &'static str,
        /// Schema changes the database has.
        applied: i64,
        /// Of which this version knows.
        known: i64,
    },
    /// A broken invariant: a bug in Tributary, not something the athlete or the provider did.
    #[error("internal error: {0}")]
    Internal(String),
    /// Local I/O failed (data directory, loopback listener).
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Stable error codes: front ends branch on these, never on message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum ErrorCode {
    /// See [`Error::NotFound`].
    NotFound,
    /// See [`Error::Validation`].
    Validation,
    /// See [`Error::InvalidRedirect`].
    InvalidRedirect,
    /// See [`Error::AlreadyRunning`].
    AlreadyRunning,
    /// See [`Error::Cancelled`].
    Cancelled,
    /// See [`Error::NeedsReauth`].
    NeedsReauth,
    /// See [`Error::ScopeMissing`].
    ScopeMissing,
    /// See [`Error::RateLimited`].
    RateLimited,
    /// See [`Error::Deprecated`].
    Deprecated,
    /// See [`Error::AppInactive`].
    AppInactive,
    /// See [`Error::Provider`].
    Provider,
    /// See [`Error::Network`].
    Network,
    /// See [`Error::CredentialsMissing`].
    CredentialsMissing,
    /// See [`Error::SecretStore`].
    SecretStore,
    /// See [`Error::DatabaseTooNew`].
    DatabaseTooNew,
    /// A broken invariant, or a database, migration or local I/O failure.
    Internal,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [Self; 16] = [
        Self::NotFound,
        Self::Validation,
        Self::InvalidRedirect,
        Self::AlreadyRunning,
        Self::Cancelled,
        Self::NeedsReauth,
        Self::ScopeMissing,
        Self::RateLimited,
        Self::Deprecated,
        Self::AppInactive,
        Self::Provider,
        Self::Network,
        Self::CredentialsMissing,
        Self::SecretStore,
        Self::DatabaseTooNew,
        Self::Internal,
    ];

    /// The code as the string front ends see.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Validation => "validation",
            Self::InvalidRedirect => "invalid_redirect",
            Self::AlreadyRunning => "already_running",
            Self::Cancelled => "cancelled",
            Self::NeedsReauth => "needs_reauth",
            Self::ScopeMissing => "scope_missing",
            Self::RateLimited => "rate_limited",
            Self::Deprecated => "deprecated",
            Self::AppInactive => "app_inactive",
            Self::Provider => "provider",
            Self::Network => "network",
            Self::CredentialsMissing => "credentials_missing",
            Self::SecretStore => "secret_store",
            Self::DatabaseTooNew => "database_too_new",
            Self::Internal => "internal",
        }
    }
}

impl std::str::FromStr for ErrorCode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        ErrorCode::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| Error::Validation(format!("unknown error code '{s}'")))
    }
}

impl Error {
    /// The stable code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::Validation(_) => ErrorCode::Validation,
            Self::InvalidRedirect(_) => ErrorCode::InvalidRedirect,
            Self::AlreadyRunning { .. } => ErrorCode::AlreadyRunning,
            Self::Cancelled => ErrorCode::Cancelled,
            Self::NeedsReauth { .. } => ErrorCode::NeedsReauth,
            Self::ScopeMissing { .. } => ErrorCode::ScopeMissing,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Deprecated { .. } => ErrorCode::Deprecated,
            Self::AppInactive { .. } => ErrorCode::AppInactive,
            Self::Provider { .. } => ErrorCode::Provider,
            Self::Network { .. } => ErrorCode::Network,
            Self::CredentialsMissing { .. } => ErrorCode::CredentialsMissing,
            Self::SecretStore(_) => ErrorCode::SecretStore,
            Self::DatabaseTooNew { .. } => ErrorCode::DatabaseTooNew,
            Self::Db(_) | Self::Migrate(_) | Self::Io { .. } | Self::Internal(_) => {
                ErrorCode::Internal
            }
        }
    }

    /// Whether trying the same request again later may succeed (5xx, timeouts, resets).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Network { .. } => true,
            Self::Provider { status, .. } => status.is_some_and(|s| s >= 500),
            _ => false,
        }
    }

    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialise_as_their_stable_strings() {
        // Every code (the list is checked against the enum by the exhaustive match below).
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            match code {
                ErrorCode::NotFound
                | ErrorCode::Validation
                | ErrorCode::InvalidRedirect
                | ErrorCode::AlreadyRunning
                | ErrorCode::Cancelled
                | ErrorCode::NeedsReauth
                | ErrorCode::ScopeMissing
                | ErrorCode::RateLimited
                | ErrorCode::Deprecated
                | ErrorCode::AppInactive
                | ErrorCode::Provider
                | ErrorCode::Network
                | ErrorCode::CredentialsMissing
                | ErrorCode::SecretStore
                | ErrorCode::DatabaseTooNew
                | ErrorCode::Internal => {}
            }
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(
                json,
                format!("\"{}\"", code.as_str()),
                "serde and as_str must agree"
            );
            assert_eq!(
                code.as_str().parse::<ErrorCode>().unwrap(),
                code,
                "round trip"
            );
            assert!(seen.insert(code.as_str()), "{} twice", code.as_str());
        }
        assert_eq!(seen.len(), 16, "a new code is added to ALL");
        assert!("no_such_code".parse::<ErrorCode>().is_err());
    }

    #[test]
    fn only_server_side_and_transport_failures_are_transient() {
        let p = ProviderKind::Strava;
        let five = Error::Provider {
            provider: p,
            status: Some(503),
            message: String::new(),
        };
        let four = Error::Provider {
            provider: p,
            status: Some(400),
            message: String::new(),
        };
        let garbage = Error::Provider {
            provider: p,
            status: None,
            message: String::new(),
        };
        assert!(five.is_transient(), "5xx is worth retrying");
        assert!(!four.is_transient(), "4xx will fail the same way again");
        assert!(
            !garbage.is_transient(),
            "a malformed payload will not parse on retry"
        );
    }
}
