//! The token vault: a connection's tokens and a provider's API credentials in the secret store,
//! and refresh. Owned once by the core; the sync engine, the connect flow and disconnect all go
//! through it.
//!
//! Refresh is single-flight per connection (one lock per connection), and a new token pair is
//! written to the keyring before the new access token is used, so a crash between the two can
//! never leave us holding only a refresh token the provider has already retired. When a refresh
//! is refused, the keyring is read again before the connection is declared dead: another process
//! may have rotated the pair under us.

use crate::clock::Clock;
use crate::config::{Config, ProviderSettings};
use crate::domain::{Connection, ConnectionUpdate, ProviderKind};
use crate::providers::{
    Call, Capabilities, ClientCredentials, Meter, Provider, RefreshStyle, TokenGrant,
};
use crate::secrets::{SecretStore, Sensitive};
use crate::store::Store;
use crate::{Error, Result, store};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Refresh this long before expiry.
const REFRESH_MARGIN: Duration = Duration::minutes(5);

/// A connection's tokens, as kept in the keyring.
#[derive(Clone, Debug)]
pub struct StoredTokens {
    /// Access token.
    pub access: Sensitive<String>,
    /// Refresh token.
    pub refresh: Option<Sensitive<String>>,
    /// Access-token expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the athlete signed in (kept through refreshes): a provider may end a grant at a
    /// fixed age (Google, for projects in "Testing": 7 days), and the refusal is explained by it.
    pub granted_at: Option<DateTime<Utc>>,
}

impl StoredTokens {
    /// Tokens from a grant; `previous_refresh` is kept when the grant carries no new one.
    pub(crate) fn from_grant(
        grant: TokenGrant,
        previous_refresh: Option<Sensitive<String>>,
        granted_at: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            access: grant.access_token,
            // A refresh answer without a refresh token means "keep using the old one".
            refresh: grant.refresh_token.or(previous_refresh),
            expires_at: grant.expires_at,
            granted_at,
        }
    }

    fn encode(&self) -> Sensitive<String> {
        Sensitive::new(
            json!({
                "access_token": self.access.expose(),
                "refresh_token": self.refresh.as_ref().map(Sensitive::expose),
                "expires_at": self.expires_at.map(|t| t.timestamp()),
                "granted_at": self.granted_at.map(|t| t.timestamp()),
            })
            .to_string(),
        )
    }

    fn decode(text: &Sensitive<String>) -> Result<Self> {
        let value: Value = serde_json::from_str(text.expose())
            .map_err(|_| Error::SecretStore("the stored tokens are unreadable".to_owned()))?;
        let string = |k: &str| {
            value
                .get(k)
                .and_then(Value::as_str)
                .map(|s| Sensitive::new(s.to_owned()))
        };
        Ok(Self {
            access: string("access_token").ok_or_else(|| {
                Error::SecretStore("the stored tokens have no access token".to_owned())
            })?,
            refresh: string("refresh_token"),
            expires_at: value
                .get("expires_at")
                .and_then(Value::as_i64)
                .and_then(|t| Utc.timestamp_opt(t, 0).single()),
            // Absent in pairs stored before it was kept.
            granted_at: value
                .get("granted_at")
                .and_then(Value::as_i64)
                .and_then(|t| Utc.timestamp_opt(t, 0).single()),
        })
    }
}

/// Keyring key of a connection's tokens before keys were scoped by data directory (read once
/// and moved).
pub fn legacy_token_key(athlete_id: i64, provider: ProviderKind) -> String {
    format!("athlete-{athlete_id}/{provider}/tokens")
}

/// Keyring key of a connection's tokens in a data directory's `namespace`.
pub fn token_key(namespace: &str, athlete_id: i64, provider: ProviderKind) -> String {
    format!("{namespace}/{}", legacy_token_key(athlete_id, provider))
}

/// The keyring namespace of a data directory: two data directories (two installs, a test beside
/// the real app) never read or overwrite each other's tokens. FNV-1a of the canonical path: stable
/// across runs and Rust versions, unlike the standard library's hasher.
pub fn namespace(data_dir: &std::path::Path) -> String {
    let path = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_owned());
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in path.to_string_lossy().as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The vault. Cheap to clone: clones share one state (and one set of refresh locks).
#[derive(Clone)]
pub struct TokenVault {
    inner: Arc<Inner>,
}

struct Inner {
    secrets: Arc<dyn SecretStore>,
    store: Store,
    clock: Arc<dyn Clock>,
    /// Credentials from the environment, which take precedence over the keyring.
    configured: BTreeMap<ProviderKind, ProviderSettings>,
    athlete_id: i64,
    /// Prefix of every key (see [`namespace`]).
    namespace: String,
    /// One lock per provider (an athlete has one connection per provider): held by a refresh
    /// until its new pair is stored, and by a reconnect across its switch of keyring slot, so
    /// that neither writes over the other's grant.
    locks: Mutex<HashMap<ProviderKind, Arc<tokio::sync::Mutex<()>>>>,
    /// Whether each provider's API credentials are configured, once known: the dashboard asks on
    /// every refresh, and a keyring read each time costs a D-Bus round trip per provider.
    configured_cache: Mutex<HashMap<ProviderKind, bool>>,
}

impl TokenVault {
    /// A vault over `secrets`, recording token expiries in `store`.
    pub fn new(
        secrets: Arc<dyn SecretStore>,
        store: Store,
        clock: Arc<dyn Clock>,
        config: &Config,
        athlete_id: i64,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                secrets,
                store,
                clock,
                configured: config.providers.clone(),
                athlete_id,
                namespace: namespace(&config.data_dir),
                locks: Mutex::new(HashMap::new()),
                configured_cache: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Keyring key of a connection's tokens in slot 0 (the key connections always had).
    pub fn token_key(&self, provider: ProviderKind) -> String {
        token_key(&self.inner.namespace, self.inner.athlete_id, provider)
    }

    /// Keyring key of a connection's tokens in `slot`.
    fn slot_key(&self, provider: ProviderKind, slot: i64) -> String {
        match slot {
            0 => self.token_key(provider),
            n => format!("{}#{n}", self.token_key(provider)),
        }
    }

    /// The slot the connection's row points at (0 when there is no row).
    pub async fn slot(&self, provider: ProviderKind) -> Result<i64> {
        let slot = store::connections::token_slot(
            self.inner.store.pool(),
            self.inner.athlete_id,
            provider,
        )
        .await?;
        Ok(slot.unwrap_or(0))
    }

    /// Write tokens for a new sign-in under a slot no row points at yet (the next one, or 0 for
    /// a provider never connected), and return it: the caller switches the row to it, then
    /// deletes the old slot. A failure before the switch leaves the old tokens in use.
    pub async fn save_new(
        &self,
        provider: ProviderKind,
        tokens: &StoredTokens,
    ) -> Result<(i64, Option<i64>)> {
        let exists = store::connections::token_slot(
            self.inner.store.pool(),
            self.inner.athlete_id,
            provider,
        )
        .await?;
        let slot = exists.map_or(0, |s| s.wrapping_add(1).rem_euclid(1 << 20));
        self.inner
            .secrets
            .set(&self.slot_key(provider, slot), &tokens.encode())
            .await?;
        Ok((slot, exists))
    }

    /// The tokens kept in `slot`, if any (a grant a reconnect replaced, to revoke it).
    pub async fn load_slot(
        &self,
        provider: ProviderKind,
        slot: i64,
    ) -> Result<Option<StoredTokens>> {
        self.inner
            .secrets
            .get(&self.slot_key(provider, slot))
            .await?
            .as_ref()
            .map(StoredTokens::decode)
            .transpose()
    }

    /// Remove the tokens in `slot` (after the row moved on, or after a failed connect).
    pub async fn delete_slot(&self, provider: ProviderKind, slot: i64) -> Result<()> {
        self.inner
            .secrets
            .delete(&self.slot_key(provider, slot))
            .await
    }

    fn client_id_key(&self, provider: ProviderKind) -> String {
        format!("{}/client/{provider}/id", self.inner.namespace)
    }

    fn client_secret_key(&self, provider: ProviderKind) -> String {
        format!("{}/client/{provider}/secret", self.inner.namespace)
    }

    fn lock_for(&self, provider: ProviderKind) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .inner
            .locks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        locks.entry(provider).or_default().clone()
    }

    /// Hold `provider`'s token lock: no refresh of its tokens runs or persists until the guard
    /// is dropped (a reconnect holds it while it moves the connection to a new slot).
    pub async fn hold(&self, provider: ProviderKind) -> tokio::sync::OwnedMutexGuard<()> {
        self.lock_for(provider).lock_owned().await
    }

    /// Wait (up to `limit`) for refreshes in flight to store their new pairs: a refresh runs in
    /// a task of its own, so that nothing a provider has rotated is lost when its caller is
    /// cancelled; shutting down must not close the store under it either.
    pub async fn settle(&self, limit: std::time::Duration) {
        let locks: Vec<_> = self
            .inner
            .locks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        let all = async {
            for lock in locks {
                drop(lock.lock().await);
            }
        };
        if tokio::time::timeout(limit, all).await.is_err() {
            tracing::warn!("a token refresh was still in flight at shutdown");
        }
    }

    /// Check that the secret store can be used at all (fails with advice when it cannot).
    pub async fn check(&self) -> Result<()> {
        self.inner.secrets.check().await
    }

    /// Store a provider's API credentials (client id and secret) in the keyring. Environment
    /// variables, when set, take precedence.
    pub async fn set_client_credentials(
        &self,
        provider: ProviderKind,
        client_id: &str,
        client_secret: Option<&Sensitive<String>>,
    ) -> Result<()> {
        if client_id.trim().is_empty() {
            return Err(Error::Validation("the client id is empty".to_owned()));
        }
        // Whatever happens below, ask the keyring again next time.
        self.inner
            .configured_cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&provider);
        let secrets = &self.inner.secrets;
        secrets
            .set(
                &self.client_id_key(provider),
                &Sensitive::new(client_id.trim().to_owned()),
            )
            .await?;
        match client_secret {
            Some(secret) => secrets.set(&self.client_secret_key(provider), secret).await,
            None => secrets.delete(&self.client_secret_key(provider)).await,
        }
    }

    /// Whether `provider`'s credentials are configured (cached after the first answer; a keyring
    /// that cannot be read answers false and is asked again next time).
    pub async fn has_credentials(
        &self,
        provider: ProviderKind,
        capabilities: &Capabilities,
    ) -> bool {
        let cached = self
            .inner
            .configured_cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&provider)
            .copied();
        if let Some(known) = cached {
            return known;
        }
        match self.client_credentials(provider, capabilities).await {
            Ok(_) => self.remember_configured(provider, true),
            Err(Error::CredentialsMissing { .. }) => self.remember_configured(provider, false),
            Err(_) => false,
        }
    }

    fn remember_configured(&self, provider: ProviderKind, configured: bool) -> bool {
        self.inner
            .configured_cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(provider, configured);
        configured
    }

    /// The API credentials for `provider`: environment first, then the keyring.
    pub async fn client_credentials(
        &self,
        provider: ProviderKind,
        capabilities: &Capabilities,
    ) -> Result<ClientCredentials> {
        if capabilities.sign_in == crate::providers::SignIn::PersonalKey {
            // No client app: the athlete's own key is the credential, kept with the tokens.
            return Ok(ClientCredentials {
                client_id: String::new(),
                client_secret: None,
            });
        }
        let settings = self
            .inner
            .configured
            .get(&provider)
            .cloned()
            .unwrap_or_default();
        let secrets = &self.inner.secrets;
        let client_id = match settings.client_id {
            Some(id) => id,
            None => match secrets.get(&self.client_id_key(provider)).await? {
                Some(id) => id.expose().clone(),
                None => return Err(missing_credentials(provider)),
            },
        };
        let client_secret = match settings.client_secret {
            Some(secret) => Some(secret),
            None => secrets.get(&self.client_secret_key(provider)).await?,
        };
        if capabilities.client_secret_required && client_secret.is_none() {
            return Err(missing_credentials(provider));
        }
        Ok(ClientCredentials {
            client_id,
            client_secret,
        })
    }

    /// Write a rotated pair into `slot`, the one its refresh token was read from, trying again
    /// for a few seconds when the keyring fails: the provider has already retired the old
    /// refresh token, so this pair is the only one left (a keyring that stays unusable loses
    /// it, and the connection then needs the athlete).
    async fn save_rotated(
        &self,
        provider: ProviderKind,
        slot: i64,
        tokens: &StoredTokens,
    ) -> Result<()> {
        let key = self.slot_key(provider, slot);
        let encoded = tokens.encode();
        let mut pause = std::time::Duration::from_millis(200);
        let mut tries = 0;
        loop {
            match self.inner.secrets.set(&key, &encoded).await {
                Ok(()) => return Ok(()),
                Err(e) if tries < 4 => {
                    tries += 1;
                    tracing::warn!(%provider, error = %e, "could not store a rotated token pair; trying again");
                    tokio::time::sleep(pause).await;
                    pause *= 3;
                }
                Err(e) => {
                    tracing::error!(%provider, error = %e, "a rotated token pair could not be stored");
                    return Err(e);
                }
            }
        }
    }

    /// Read a connection's tokens, if any. Tokens kept under the old, unscoped key are moved to
    /// this data directory's key on first read.
    pub async fn load(&self, provider: ProviderKind) -> Result<Option<StoredTokens>> {
        Ok(self.load_with_slot(provider).await?.1)
    }

    /// A connection's tokens and the slot they were read from.
    async fn load_with_slot(&self, provider: ProviderKind) -> Result<(i64, Option<StoredTokens>)> {
        let slot = self.slot(provider).await?;
        if let Some(tokens) = self.load_slot(provider, slot).await? {
            return Ok((slot, Some(tokens)));
        }
        if slot != 0 {
            return Ok((slot, None));
        }
        let secrets = &self.inner.secrets;
        let legacy = legacy_token_key(self.inner.athlete_id, provider);
        let Some(text) = secrets.get(&legacy).await? else {
            return Ok((slot, None));
        };
        secrets.set(&self.token_key(provider), &text).await?;
        secrets.delete(&legacy).await?;
        Ok((slot, Some(StoredTokens::decode(&text)?)))
    }

    /// Remove a connection's tokens (the slot its row points at).
    pub async fn delete(&self, provider: ProviderKind) -> Result<()> {
        let slot = self.slot(provider).await?;
        self.delete_slot(provider, slot).await
    }

    /// A usable access token for `connection`, refreshing it first when it is about to expire,
    /// or when `rejected` (a token the provider just answered 401 to) is still the stored one.
    ///
    /// The refresh itself runs in a task of its own that holds the connection's refresh lock and
    /// persists the new pair before anyone uses it: if the caller is cancelled (the athlete
    /// cancelled the run, switched the connection off, quit) while the provider is answering, the
    /// answer is still kept. With single-use rotating refresh tokens (Wahoo), dropping it would
    /// leave a refresh token the provider has already retired.
    pub async fn access_token(
        &self,
        connection: &Connection,
        provider: Arc<dyn Provider>,
        meter: Arc<Meter>,
        rejected: Option<&Sensitive<String>>,
    ) -> Result<Sensitive<String>> {
        let kind = connection.provider;
        // A sign-in moved the connection to another door since the caller read it: the stored
        // tokens are the new door's, never to be sent, or refreshed, through the old door's
        // client. The caller's work ends as cancelled; the next one reads the new door.
        if store::connections::door(self.inner.store.pool(), connection.id).await?
            != connection.door
        {
            return Err(Error::Cancelled);
        }
        let single_flight = self.hold(kind).await;
        let (slot, tokens) = self.load_with_slot(kind).await?;
        let tokens = tokens.ok_or_else(|| Error::NeedsReauth {
            provider: kind,
            reason: "no tokens are stored for this connection".to_owned(),
        })?;
        let now = self.inner.clock.now();
        let expiring = tokens.expires_at.is_some_and(|at| {
            at.checked_sub_signed(REFRESH_MARGIN)
                .is_none_or(|t| t <= now)
        });
        let was_rejected = rejected.is_some_and(|r| r == &tokens.access);
        if rejected.is_some() && !was_rejected {
            return Ok(tokens.access); // someone refreshed while we waited for the lock
        }
        if !expiring && !was_rejected {
            return Ok(tokens.access);
        }
        let capabilities = provider.capabilities();
        let Some(refresh_token) = tokens.refresh.clone() else {
            if capabilities.refresh == RefreshStyle::None && !was_rejected {
                return Ok(tokens.access);
            }
            return Err(Error::NeedsReauth {
                provider: kind,
                reason: "the access token expired and there is no refresh token".to_owned(),
            });
        };
        let creds = self.client_credentials(kind, &capabilities).await?;
        let vault = self.clone();
        let connection_id = connection.id;
        let refresh = tokio::spawn(async move {
            let _single_flight = single_flight; // held until the new pair is stored
            vault
                .refresh(
                    connection_id,
                    kind,
                    slot,
                    provider.as_ref(),
                    &meter,
                    &creds,
                    tokens,
                    refresh_token,
                )
                .await
        });
        refresh
            .await
            .map_err(|e| Error::Internal(format!("the token refresh stopped unexpectedly: {e}")))?
    }

    /// Refresh and persist (the caller holds the connection's refresh lock).
    #[allow(clippy::too_many_arguments)]
    async fn refresh(
        &self,
        connection_id: i64,
        kind: ProviderKind,
        slot: i64,
        provider: &dyn Provider,
        meter: &Meter,
        creds: &ClientCredentials,
        tokens: StoredTokens,
        refresh_token: Sensitive<String>,
    ) -> Result<Sensitive<String>> {
        let call = Call {
            token: None,
            meter,
            clock: self.inner.clock.as_ref(),
        };
        match provider
            .refresh(&call, creds, &refresh_token, &tokens.access)
            .await
        {
            Ok(grant) => {
                let fresh = StoredTokens::from_grant(grant, Some(refresh_token), tokens.granted_at);
                // Persist before use: the provider may already have retired the old refresh
                // token. Into the slot it was read from, never the one the row points at now:
                // a reconnect in another process may have moved the row to a new grant, which
                // this older one must not overwrite.
                self.save_rotated(kind, slot, &fresh).await?;
                let current = self.slot(kind).await?;
                if current != slot {
                    // Replaced while we refreshed: the new grant is the connection's; ours is
                    // an orphan.
                    if let Err(e) = self.delete_slot(kind, slot).await {
                        tracing::warn!(provider = %kind, error = %e, "could not remove a replaced token pair");
                    }
                    return self.load(kind).await?.map(|t| t.access).ok_or_else(|| {
                        Error::NeedsReauth {
                            provider: kind,
                            reason: "no tokens are stored for this connection".to_owned(),
                        }
                    });
                }
                let change = ConnectionUpdate {
                    token_expires_at: Some(fresh.expires_at),
                    ..Default::default()
                };
                let now = self.inner.clock.now();
                store::connections::update(self.inner.store.pool(), connection_id, &change, now)
                    .await?;
                Ok(fresh.access)
            }
            Err(Error::NeedsReauth {
                provider: who,
                reason,
            }) => {
                // Re-read before declaring the link dead: another process may have rotated it.
                match self.load(kind).await? {
                    Some(current) if current.refresh.as_ref() != Some(&refresh_token) => {
                        Ok(current.access)
                    }
                    _ => {
                        // Said as the provider's own rule when the grant's age explains it.
                        let now = self.inner.clock.now();
                        let reason = tokens
                            .granted_at
                            .and_then(|at| provider.explain_refused_refresh(now - at))
                            .unwrap_or(reason);
                        Err(Error::NeedsReauth {
                            provider: who,
                            reason,
                        })
                    }
                }
            }
            Err(other) => Err(other),
        }
    }
}

fn missing_credentials(provider: ProviderKind) -> Error {
    let var = provider.as_str().to_uppercase();
    Error::CredentialsMissing {
        provider,
        hint: format!(
            "register your own API application with {provider}, then set \
             TRIBUTARY_{var}_CLIENT_ID and TRIBUTARY_{var}_CLIENT_SECRET (or run \
             `tributary credentials {provider}`); or try the sandbox with --sandbox"
        ),
    }
}
