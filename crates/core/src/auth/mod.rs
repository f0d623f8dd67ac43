//! Connecting a provider: the OAuth authorization-code flow with `state` and PKCE, the redirect
//! received by a one-shot loopback listener (RFC 8252) or handed over as a deep link.
//!
//! A `state` is random, single use and expires after [`FLOW_TTL`]. Every way a redirect can be
//! wrong (not ours, unknown or replayed `state`, expired, for another provider or another redirect
//! URI, no code) is rejected with [`Error::InvalidRedirect`] before anything is written.

pub(crate) mod loopback;
pub mod redirect;

pub use redirect::{DEEP_LINK_SCHEME, LinkKind, RedirectHosts};

use crate::clock::Clock;
use crate::domain::{Connection, ConnectionState, ConnectionUpdate, ProviderKind};
use crate::events::{CoreEvent, EventSink};
use crate::providers::{AuthorizeParams, Call, Meter, Registry, TokenGrant, oauth};
use crate::secrets::Sensitive;
use crate::store::Store;
use crate::vault::{StoredTokens, TokenVault};
use crate::{Error, Result, store};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;
use url::Url;

/// How long an authorization request stays valid.
pub const FLOW_TTL: Duration = Duration::minutes(10);

/// Where the provider should send the athlete back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectTarget {
    /// `http://<loopback host>:<port>/callback`.
    Loopback {
        /// The listener's port.
        port: u16,
    },
    /// `tributary://<deep link host>/<provider>/callback` (the host is `oauth` unless the
    /// provider matches a registered callback domain).
    DeepLink,
}

/// A started authorization, to open in the system browser. Safe to show: it holds no secret
/// (the PKCE verifier stays in the core).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AuthRequest {
    /// Provider.
    pub provider: ProviderKind,
    /// The URL to open.
    pub authorize_url: String,
    /// The redirect URI registered for this flow.
    pub redirect_uri: String,
    /// When this request stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// What a credentials check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CredentialsCheck {
    /// True: the provider recognised them; false: it refused them; absent: could not tell.
    pub accepted: Option<bool>,
    /// For the athlete.
    pub message: String,
}

struct PendingFlow {
    provider: ProviderKind,
    redirect_uri: Url,
    pkce_verifier: Option<Sensitive<String>>,
    expires_at: DateTime<Utc>,
}

/// Flows waiting for their redirect, by `state`.
#[derive(Default)]
pub(crate) struct PendingFlows(Mutex<HashMap<String, PendingFlow>>);

impl PendingFlows {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, PendingFlow>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The connect flow: starts authorizations, completes them from their redirect, and writes the
/// result (tokens to the vault, the connection to the store).
#[derive(Clone)]
pub struct Connector {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Arc<Registry>,
    vault: TokenVault,
    store: Store,
    clock: Arc<dyn Clock>,
    events: Arc<dyn EventSink>,
    athlete_id: i64,
    hosts: RedirectHosts,
    flows: PendingFlows,
}

impl Connector {
    /// A connector for the providers in `registry`.
    pub fn new(
        registry: Arc<Registry>,
        vault: TokenVault,
        store: Store,
        clock: Arc<dyn Clock>,
        events: Arc<dyn EventSink>,
        athlete_id: i64,
    ) -> Self {
        let hosts = RedirectHosts::from_registry(&registry);
        Self {
            inner: Arc::new(Inner {
                registry,
                vault,
                store,
                clock,
                events,
                athlete_id,
                hosts,
                flows: PendingFlows::default(),
            }),
        }
    }

    /// What a link handed to the app is (a sign-in redirect, or unknown).
    pub fn classify(&self, url: &str) -> LinkKind {
        redirect::classify(url, &self.inner.hosts)
    }

    /// Start connecting `provider`: returns the URL to open. Fails early when the provider has no
    /// API credentials configured.
    pub async fn begin(
        &self,
        provider: ProviderKind,
        target: RedirectTarget,
    ) -> Result<AuthRequest> {
        let client = self.inner.registry.get(provider)?;
        let capabilities = client.capabilities();
        let creds = self
            .inner
            .vault
            .client_credentials(provider, &capabilities)
            .await?;
        // Fail before the athlete approves anything if the tokens could not be kept.
        self.inner.vault.check().await?;
        // Only redirects the provider accepts: refused here, not after the athlete approved.
        match target {
            RedirectTarget::DeepLink if !capabilities.redirects.deep_link => {
                return Err(Error::Validation(format!(
                    "{} accepts only a loopback redirect for a desktop client",
                    capabilities.display_name
                )));
            }
            RedirectTarget::Loopback { port }
                if capabilities
                    .redirects
                    .loopback_port
                    .is_some_and(|p| p != port) =>
            {
                return Err(Error::Validation(format!(
                    "{} accepts only its registered loopback port, not {port}",
                    capabilities.display_name
                )));
            }
            _ => {}
        }
        let redirect_uri = match target {
            RedirectTarget::Loopback { port } => {
                format!("http://{}:{port}/callback", capabilities.loopback_host)
            }
            RedirectTarget::DeepLink => {
                format!(
                    "{DEEP_LINK_SCHEME}://{}/{provider}/callback",
                    capabilities.deep_link_host
                )
            }
        };
        let state = oauth::new_state();
        let (challenge, verifier) = match capabilities.pkce {
            true => {
                let (challenge, verifier) = oauth::pkce_pair();
                (Some(challenge), Some(verifier))
            }
            false => (None, None),
        };
        let params = AuthorizeParams {
            redirect_uri: &redirect_uri,
            state: &state,
            pkce_challenge: challenge.as_deref(),
        };
        let authorize_url = client.authorize_url(&creds, &params)?;
        let now = self.inner.clock.now();
        let expires_at = now + FLOW_TTL;
        let flow = PendingFlow {
            provider,
            redirect_uri: Url::parse(&redirect_uri)
                .map_err(|e| Error::Internal(format!("bad redirect URI {redirect_uri}: {e}")))?,
            pkce_verifier: verifier,
            expires_at,
        };
        let mut flows = self.inner.flows.lock();
        flows.retain(|_, f| f.expires_at > now);
        flows.insert(state, flow);
        Ok(AuthRequest {
            provider,
            authorize_url: authorize_url.into(),
            redirect_uri,
            expires_at,
        })
    }

    /// Whether a sign-in is waiting for its redirect (kept in memory only: a process that
    /// restarts itself now would lose it).
    pub fn has_pending(&self) -> bool {
        let now = self.inner.clock.now();
        self.inner.flows.lock().values().any(|f| f.expires_at > now)
    }

    /// Forget every pending authorization for `provider` (the athlete cancelled).
    pub fn cancel(&self, provider: ProviderKind) {
        self.inner
            .flows
            .lock()
            .retain(|_, f| f.provider != provider);
    }

    /// Complete a flow from its redirect URL (deep link or loopback): check it, exchange the code,
    /// store the tokens in the keyring and the connection in the database.
    pub async fn complete(&self, url: &str) -> Result<Connection> {
        let redirect = redirect::parse(url, &self.inner.hosts)?;
        let now = self.inner.clock.now();
        // Take the flow out first: a state is single use even when the rest of the link is bad.
        let flow = self
            .inner
            .flows
            .lock()
            .remove(&redirect.state)
            .ok_or_else(|| {
                Error::InvalidRedirect(
                    "this sign-in link is unknown or was already used; start connecting again"
                        .to_owned(),
                )
            })?;
        let provider = flow.provider;
        if flow.expires_at <= now {
            return Err(Error::InvalidRedirect(format!(
                "this {provider} sign-in link expired; start connecting again"
            )));
        }
        if redirect.base != flow.redirect_uri
            || redirect
                .deep_link_provider
                .as_deref()
                .is_some_and(|p| p != provider.as_str())
        {
            return Err(Error::InvalidRedirect(format!(
                "this sign-in link does not belong to the {provider} request that was started"
            )));
        }
        if let Some(error) = redirect.error {
            return Err(Error::Validation(match error.as_str() {
                "access_denied" => format!("access was declined on {provider}; nothing changed"),
                other => format!("{provider} refused the sign-in: {other}"),
            }));
        }
        let code = redirect
            .code
            .ok_or_else(|| Error::InvalidRedirect("the sign-in link has no code".to_owned()))?;

        let client = self.inner.registry.get(provider)?;
        let creds = self
            .inner
            .vault
            .client_credentials(provider, &client.capabilities())
            .await?;
        if client.capabilities().revoke_before_new_grant {
            self.end_replaced_grant(provider, client.clone(), &creds)
                .await;
        }
        let meter = Meter::default();
        let clock = self.inner.clock.as_ref();
        let call = Call {
            token: None,
            meter: &meter,
            clock,
        };
        let grant = client
            .exchange_code(
                &call,
                &creds,
                &code,
                flow.redirect_uri.as_str(),
                flow.pkce_verifier.as_ref(),
            )
            .await?;
        let granted = grant
            .scopes
            .clone()
            .or_else(|| redirect.scope.as_deref().map(oauth::split_scope))
            .unwrap_or_default();
        self.keep(provider, client, grant, granted, &meter, None)
            .await
    }

    /// Connect a provider whose sign-in is a personal API key the athlete pasted (Garmin's
    /// Personal API): exchange it for an access token, read the profile, keep the key in the
    /// keyring as what renews the token. `key_expires_on` (the athlete says; no API tells) is kept
    /// in the profile so the app can warn before it runs out.
    pub async fn connect_with_key(
        &self,
        provider: ProviderKind,
        key: &Sensitive<String>,
        key_expires_on: Option<chrono::NaiveDate>,
    ) -> Result<Connection> {
        let key_text = key.expose().trim();
        if key_text.is_empty() || key_text.len() > 4096 || key_text.chars().any(char::is_whitespace)
        {
            return Err(Error::Validation(
                "that does not look like an API key (one line, no spaces)".to_owned(),
            ));
        }
        let key = Sensitive::new(key_text.to_owned());
        let client = self.inner.registry.get(provider)?;
        if client.capabilities().sign_in != crate::providers::SignIn::PersonalKey {
            return Err(Error::Validation(format!(
                "{} signs in through the browser, not with a key",
                client.capabilities().display_name
            )));
        }
        self.inner.vault.check().await?;
        let meter = Meter::default();
        let call = Call {
            token: None,
            meter: &meter,
            clock: self.inner.clock.as_ref(),
        };
        let mut grant = client.exchange_key(&call, &key).await?;
        // The key renews the access token: it is kept where a refresh token would be.
        grant.refresh_token = Some(key);
        self.keep(provider, client, grant, Vec::new(), &meter, key_expires_on)
            .await
    }

    /// Prove the API credentials configured for `provider` before anyone signs in: a code
    /// exchange with a code that cannot exist. A provider that authenticates the client first
    /// (RFC 6749 5.2) answers `invalid_grant` for a known client and `invalid_client` for a
    /// wrong id or secret; anything else means it could not be told here.
    pub async fn check_credentials(&self, provider: ProviderKind) -> Result<CredentialsCheck> {
        let client = self.inner.registry.get(provider)?;
        let caps = client.capabilities();
        let name = caps.display_name;
        if caps.sign_in == crate::providers::SignIn::PersonalKey {
            return Ok(CredentialsCheck {
                accepted: Some(true),
                message: format!("{name} needs no app credentials: you sign in with your own key"),
            });
        }
        let creds = self.inner.vault.client_credentials(provider, &caps).await?;
        let meter = Meter::default();
        let call = Call {
            token: None,
            meter: &meter,
            clock: self.inner.clock.as_ref(),
        };
        let verifier = Sensitive::new(oauth::new_state() + &oauth::new_state());
        let redirect = format!(
            "{DEEP_LINK_SCHEME}://{}/{provider}/callback",
            caps.deep_link_host
        );
        let answer = client
            .exchange_code(
                &call,
                &creds,
                "tributary-credentials-check",
                &redirect,
                Some(&verifier),
            )
            .await;
        Ok(match answer {
            Err(Error::NeedsReauth { .. }) => CredentialsCheck {
                accepted: Some(true),
                message: format!("{name} recognised the client id and secret."),
            },
            Err(Error::Provider { message, .. }) if message.contains("API credentials") => {
                CredentialsCheck {
                    accepted: Some(false),
                    message: format!(
                        "{name} refused the client id or secret: copy them again from your \
                         API application's page"
                    ),
                }
            }
            Err(e) => CredentialsCheck {
                accepted: None,
                message: format!("Could not tell whether {name} accepts them: {e}"),
            },
            Ok(_) => CredentialsCheck {
                accepted: None,
                message: format!("{name} answered a made-up code with tokens; check the endpoints"),
            },
        })
    }

    /// The end every sign-in shares: the profile, the tokens in the keyring, the connection row,
    /// the scope check, and the review of what needs the athlete.
    async fn keep(
        &self,
        provider: ProviderKind,
        client: std::sync::Arc<dyn crate::providers::Provider>,
        grant: TokenGrant,
        granted: Vec<String>,
        meter: &Meter,
        key_expires_on: Option<chrono::NaiveDate>,
    ) -> Result<Connection> {
        let now = self.inner.clock.now();
        let clock = self.inner.clock.as_ref();
        let missing = client.missing_scopes(&granted);
        let call = Call {
            token: Some(&grant.access_token),
            meter,
            clock,
        };
        let mut profile = client.fetch_profile(&call, &grant).await?;
        if let Some(day) = key_expires_on {
            let mut value = profile
                .provider_profile
                .take()
                .filter(serde_json::Value::is_object)
                .unwrap_or_else(|| serde_json::json!({}));
            value["key_expires_on"] = serde_json::json!(day.to_string());
            profile.provider_profile = Some(value);
        }
        let tokens = StoredTokens::from_grant(grant, None, Some(now));

        // The new tokens go under a new keyring entry; the row switches to it in one
        // transaction with the rest of the connection; only then is the old entry deleted. A
        // failure (or a kill) anywhere leaves the row pointing at tokens that exist: a working
        // connection never loses its tokens to a failed reconnect.
        // Held across the switch: a refresh of the old grant in flight finishes first (and
        // stores into the old slot), and none starts until the row points at the new one.
        let tokens_lock = self.inner.vault.hold(provider).await;
        let (slot, old_slot) = self.inner.vault.save_new(provider, &tokens).await?;
        let athlete = self.inner.athlete_id;
        let door = client.capabilities().door.id;
        // The grant this one replaces belongs to the door the connection was on.
        let before =
            store::connections::get_by_provider(self.inner.store.pool(), athlete, provider).await?;
        let old_client = match &before {
            Some(c) => self.inner.registry.for_connection(c)?,
            None => client.clone(),
        };
        // A door that names no account (Polar v4's token answer has no user id) keeps the one
        // the connection had: the athlete signed in again from this connection's card, and its
        // copies stay attached to it (`adopt` would set apart copies of another account). With
        // no connection (connecting again after a disconnect that kept its copies), the one
        // account those copies came from, so they are taken back and matched, not doubled; of
        // two or more accounts, none is guessed.
        if profile.provider_user_id.is_none() {
            profile.provider_user_id = match &before {
                Some(c) => c.provider_user_id.clone(),
                None => {
                    let mut kept =
                        store::activities::detached_accounts(self.inner.store.pool(), provider)
                            .await?;
                    (kept.len() == 1).then(|| kept.remove(0))
                }
            };
        }
        let saved = async {
            let mut tx = self.inner.store.begin().await?;
            let mut connection = store::connections::upsert(
                &mut *tx,
                athlete,
                provider,
                door,
                &profile,
                &granted,
                tokens.expires_at,
                now,
            )
            .await?;
            store::connections::set_token_slot(&mut *tx, connection.id, slot).await?;
            if let Some(before) = &before
                && old_client.capabilities().door.id != door
            {
                // A move to another door: the old door's cursors and stream position mean
                // nothing to the new one, whose first run walks the whole history (the copies
                // the old door brought are matched, not duplicated: see `sync::run`).
                store::sync_state::forget(&mut *tx, before.id).await?;
                tracing::info!(%provider, from = old_client.capabilities().door.id, to = door, "connection moved to another door");
            }
            store::activities::adopt(
                &mut tx,
                provider,
                connection.id,
                connection.provider_user_id.as_deref(),
            )
            .await?;
            if !missing.is_empty() {
                let change = ConnectionUpdate {
                    state: Some(ConnectionState::ScopeMissing),
                    last_sync_error: Some(Some(format!(
                        "missing permission: {}",
                        missing.join(", ")
                    ))),
                    ..Default::default()
                };
                if let Some(updated) =
                    store::connections::update(&mut *tx, connection.id, &change, now).await?
                {
                    connection = updated;
                }
            }
            tx.commit().await?;
            Ok::<_, Error>(connection)
        }
        .await;
        let connection = match saved {
            Ok(connection) => connection,
            Err(e) => {
                if let Err(cleanup) = self.inner.vault.delete_slot(provider, slot).await {
                    tracing::error!(%provider, error = %cleanup, "could not remove tokens after a failed connect");
                }
                return Err(e);
            }
        };
        if let Some(old) = old_slot.filter(|o| *o != slot) {
            // The grant this one replaced is revoked at the provider where it can be alone
            // (best effort: the new grant is in use whatever happens), then forgotten.
            self.revoke_grant(provider, old_client.as_ref(), old, meter)
                .await;
            if let Err(e) = self.inner.vault.delete_slot(provider, old).await {
                tracing::warn!(%provider, error = %e, "could not remove the replaced tokens");
            }
        }
        drop(tokens_lock);
        self.inner.events.emit(CoreEvent::ConnectionChanged {
            provider,
            state: connection.state,
        });
        let display_name = client.capabilities().display_name;
        let reviewed = crate::attention::review(
            &self.inner.store,
            self.inner.events.as_ref(),
            connection.id,
            display_name,
            false,
            now,
        )
        .await;
        if let Err(e) = reviewed {
            tracing::warn!(%provider, error = %e, "could not review what needs the athlete");
        }
        Ok(connection)
    }

    /// Revoke the grant kept in `slot` (replaced by a reconnect), where the provider can revoke
    /// one grant alone. Never fails the reconnect.
    /// End the grant a sign-in is about to replace, at a provider that caps grants and can only
    /// revoke them all at once (best effort: a grant that cannot be ended now leaves the cap to
    /// say so at the exchange). Its tokens stay stored until the new ones replace them.
    async fn end_replaced_grant(
        &self,
        provider: ProviderKind,
        client: std::sync::Arc<dyn crate::providers::Provider>,
        creds: &crate::providers::ClientCredentials,
    ) {
        let pool = self.inner.store.pool();
        let Ok(Some(connection)) =
            store::connections::get_by_provider(pool, self.inner.athlete_id, provider).await
        else {
            return;
        };
        // The grant to end is the one the connection holds, through its own door.
        let client = self
            .inner
            .registry
            .for_connection(&connection)
            .unwrap_or(client);
        let meter = std::sync::Arc::new(Meter::default());
        let token = match self
            .inner
            .vault
            .access_token(&connection, client.clone(), meter.clone(), None)
            .await
        {
            Ok(token) => token,
            Err(e) => {
                tracing::debug!(%provider, error = %e, "no live grant to end before the new sign-in");
                return;
            }
        };
        let call = Call {
            token: Some(&token),
            meter: &meter,
            clock: self.inner.clock.as_ref(),
        };
        match client
            .revoke(&call, creds, connection.provider_user_id.as_deref())
            .await
        {
            Ok(()) => tracing::info!(%provider, "ended the grant this sign-in replaces"),
            Err(e) => {
                tracing::warn!(%provider, error = %e, "could not end the grant this sign-in replaces")
            }
        }
    }

    async fn revoke_grant(
        &self,
        provider: ProviderKind,
        client: &dyn crate::providers::Provider,
        slot: i64,
        meter: &Meter,
    ) {
        let old = match self.inner.vault.load_slot(provider, slot).await {
            Ok(Some(old)) => old,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(%provider, error = %e, "could not read the replaced tokens to revoke them");
                return;
            }
        };
        let creds = match self
            .inner
            .vault
            .client_credentials(provider, &client.capabilities())
            .await
        {
            Ok(creds) => creds,
            Err(e) => {
                tracing::warn!(%provider, error = %e, "no credentials to revoke the replaced grant");
                return;
            }
        };
        let call = Call {
            token: None,
            meter,
            clock: self.inner.clock.as_ref(),
        };
        let replaced = crate::providers::GrantTokens {
            access: old.access,
            refresh: old.refresh,
        };
        match client.revoke_grant(&call, &creds, &replaced).await {
            Ok(true) => tracing::info!(%provider, "revoked the grant this sign-in replaced"),
            Ok(false) => {
                tracing::debug!(%provider, "the provider cannot revoke one grant alone")
            }
            Err(e) => tracing::warn!(%provider, error = %e, "could not revoke the replaced grant"),
        }
    }

    /// Connect through a one-shot loopback listener on 127.0.0.1 (random port): `on_authorize`
    /// receives the URL to open; the first request to `/callback` completes the flow and closes
    /// the listener. Ends when the flow completes, is cancelled, or expires.
    pub async fn connect_loopback(
        &self,
        provider: ProviderKind,
        on_authorize: impl FnOnce(&AuthRequest) + Send,
        cancel: CancellationToken,
    ) -> Result<Connection> {
        let port = self
            .inner
            .registry
            .get(provider)?
            .capabilities()
            .redirects
            .loopback_port;
        let mut listener = loopback::Loopback::bind(port).await?;
        let request = match self
            .begin(
                provider,
                RedirectTarget::Loopback {
                    port: listener.port(),
                },
            )
            .await
        {
            Ok(request) => request,
            Err(e) => {
                listener.close().await;
                return Err(e);
            }
        };
        on_authorize(&request);

        let ttl = (request.expires_at - self.inner.clock.now())
            .to_std()
            .unwrap_or_default();
        // Only the callback that carries this flow's `state` ends it: a stray request to
        // /callback (another tab, a scanner on loopback) is answered and ignored.
        let own_state = Url::parse(&request.authorize_url).ok().and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "state")
                .map(|(_, v)| v.into_owned())
        });
        let deadline = tokio::time::sleep(ttl);
        tokio::pin!(deadline);
        let outcome = loop {
            tokio::select! {
                received = listener.next() => match received {
                    Some(callback) => {
                        let state = url::form_urlencoded::parse(callback.query.as_bytes())
                            .find(|(k, _)| k == "state")
                            .map(|(_, v)| v.into_owned());
                        if state.is_none() || state != own_state {
                            let _ = callback.reply.send(
                                "This is not the sign-in Tributary is waiting for; nothing changed."
                                    .to_owned(),
                            );
                            continue;
                        }
                        let url = format!("{}?{}", request.redirect_uri, callback.query);
                        let result = self.complete(&url).await;
                        let page = match &result {
                            Ok(c) => format!("Tributary is connected to {}. You can close this tab.", c.provider),
                            Err(e) => format!("Tributary could not connect: {e}"),
                        };
                        let _ = callback.reply.send(page); // the browser may have gone; the result stands
                        break result;
                    }
                    None => break Err(Error::Cancelled),
                },
                () = cancel.cancelled() => break Err(Error::Cancelled),
                () = &mut deadline => break Err(Error::InvalidRedirect(format!(
                    "no answer from {provider} within {} minutes; start connecting again",
                    FLOW_TTL.num_minutes()
                ))),
            }
        };
        if outcome.is_err() {
            self.cancel(provider);
        }
        listener.close().await;
        outcome
    }
}
