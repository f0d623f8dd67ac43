//! Secrets (tokens, client secrets) and where they live: the OS keyring, never SQLite.
//!
//! [`Sensitive`] wraps a secret so it cannot reach a log line (`Debug` is redacted) or a front end
//! (it does not implement `Serialize`). [`SecretStore`] is the injected vault: [`KeyringStore`] in
//! the product, [`MemoryStore`] in tests.

use crate::{Error, Result};
use async_trait::async_trait;
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

/// A secret value. Redacted in `Debug`, not serialisable, compared in constant time is not needed
/// here because nothing compares secrets against attacker input.
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive<T>(T);

impl<T> Sensitive<T> {
    /// Wrap a secret.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// Read the secret. Call sites are where a secret leaves its wrapper: keep them few.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sensitive(<redacted>)")
    }
}

/// A vault of named secrets.
#[async_trait]
pub trait SecretStore: Send + Sync + 'static {
    /// Read a secret; `Ok(None)` when there is none under `key`.
    async fn get(&self, key: &str) -> Result<Option<Sensitive<String>>>;
    /// Write (or overwrite) a secret.
    async fn set(&self, key: &str, value: &Sensitive<String>) -> Result<()>;
    /// Remove a secret; removing a missing one is not an error.
    async fn delete(&self, key: &str) -> Result<()>;
    /// Check that the store can be used at all, with a message that says how to fix it if not.
    async fn check(&self) -> Result<()> {
        self.get("probe").await.map(drop)
    }
}

/// The OS keyring: Secret Service on Linux, Keychain on macOS, Credential Manager on Windows.
#[derive(Debug, Clone)]
pub struct KeyringStore {
    service: String,
}

impl KeyringStore {
    /// Entries go under `service` (e.g. `tributary`, or `tributary-sandbox` for demo mode, so
    /// demo tokens never mix with real ones).
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
        }
    }

    async fn with_entry<T: Send + 'static>(
        &self,
        key: &str,
        op: impl FnOnce(keyring::Entry) -> keyring::Result<T> + Send + 'static,
    ) -> Result<T> {
        let (service, key) = (self.service.clone(), key.to_owned());
        // keyring's API is synchronous (it blocks on D-Bus): keep it off the async workers.
        tokio::task::spawn_blocking(move || keyring::Entry::new(&service, &key).and_then(op))
            .await
            .map_err(|e| Error::SecretStore(format!("the keyring task failed: {e}")))?
            .map_err(keyring_error)
    }
}

#[async_trait]
impl SecretStore for KeyringStore {
    async fn get(&self, key: &str) -> Result<Option<Sensitive<String>>> {
        self.with_entry(key, |entry| match entry.get_password() {
            Ok(value) => Ok(Some(Sensitive::new(value))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e),
        })
        .await
    }

    async fn set(&self, key: &str, value: &Sensitive<String>) -> Result<()> {
        let value = value.clone();
        self.with_entry(key, move |entry| entry.set_password(value.expose()))
            .await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.with_entry(key, |entry| match entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(e),
        })
        .await
    }
}

/// Turns keyring failures into messages that say what to install or start.
fn keyring_error(error: keyring::Error) -> Error {
    let detail = error.to_string();
    let advice = match &error {
        keyring::Error::NoStorageAccess(_) => {
            "the keyring is locked: unlock it (e.g. log in to your desktop session, or run \
             `gnome-keyring-daemon --unlock`) and try again"
        }
        keyring::Error::NoDefaultStore | keyring::Error::PlatformFailure(_) => {
            "no OS keyring is available. On Linux, Tributary needs a Secret Service provider \
             (gnome-keyring or KWallet) running in a D-Bus session: install `gnome-keyring` and \
             `dbus-user-session`, or start one with `dbus-run-session` and \
             `gnome-keyring-daemon --unlock --components=secrets`"
        }
        _ => "the keyring refused the operation",
    };
    Error::SecretStore(format!("{advice} ({detail})"))
}

/// An in-process vault for tests and throwaway runs.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<String, String>>,
}

impl MemoryStore {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keys currently held (tests assert that disconnect wipes them).
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<_> = self.entries().keys().cloned().collect();
        keys.sort();
        keys
    }
}

#[async_trait]
impl SecretStore for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<Sensitive<String>>> {
        Ok(self.entries().get(key).cloned().map(Sensitive::new))
    }

    async fn set(&self, key: &str, value: &Sensitive<String>) -> Result<()> {
        self.entries()
            .insert(key.to_owned(), value.expose().clone());
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.entries().remove(key);
        Ok(())
    }
}

/// A vault that is never available: how tests prove a missing keyring changes nothing.
#[derive(Debug, Default)]
pub struct UnavailableStore;

#[async_trait]
impl SecretStore for UnavailableStore {
    async fn get(&self, _key: &str) -> Result<Option<Sensitive<String>>> {
        Err(keyring_error(keyring::Error::NoDefaultStore))
    }

    async fn set(&self, _key: &str, _value: &Sensitive<String>) -> Result<()> {
        Err(keyring_error(keyring::Error::NoDefaultStore))
    }

    async fn delete(&self, _key: &str) -> Result<()> {
        Err(keyring_error(keyring::Error::NoDefaultStore))
    }
}

/// How a [`SwitchableStore`] fails while switched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreFailure {
    /// Every call fails as a locked keyring does.
    Locked,
    /// Every call fails as a missing keyring does.
    Unavailable,
    /// Reads work, writes and deletes fail (a keyring that breaks mid-sync).
    ReadOnly,
}

/// An in-memory vault that can be made to fail on demand: the test seam for a keyring that locks
/// or disappears while the app runs.
#[derive(Debug, Default)]
pub struct SwitchableStore {
    memory: MemoryStore,
    failure: Mutex<Option<StoreFailure>>,
    writes: std::sync::atomic::AtomicU64,
}

impl SwitchableStore {
    /// Start failing (`Some`) or work again (`None`).
    pub fn fail(&self, failure: Option<StoreFailure>) {
        *self
            .failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = failure;
    }

    /// Keys currently held.
    pub fn keys(&self) -> Vec<String> {
        self.memory.keys()
    }

    /// Successful writes so far (tests observe "persisted before use" in order).
    pub fn writes(&self) -> u64 {
        self.writes.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn refuse(&self, writing: bool) -> Result<()> {
        let failure = *self
            .failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match failure {
            None => Ok(()),
            Some(StoreFailure::ReadOnly) if !writing => Ok(()),
            Some(StoreFailure::Locked) => Err(keyring_error(keyring::Error::NoStorageAccess(
                "the test locked the keyring".into(),
            ))),
            Some(StoreFailure::Unavailable | StoreFailure::ReadOnly) => {
                Err(keyring_error(keyring::Error::NoDefaultStore))
            }
        }
    }
}

#[async_trait]
impl SecretStore for SwitchableStore {
    async fn get(&self, key: &str) -> Result<Option<Sensitive<String>>> {
        self.refuse(false)?;
        self.memory.get(key).await
    }

    async fn set(&self, key: &str, value: &Sensitive<String>) -> Result<()> {
        self.refuse(true)?;
        self.memory.set(key, value).await?;
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.refuse(true)?;
        self.memory.delete(key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let token = Sensitive::new("abc123-very-secret".to_owned());
        let shown = format!("{token:?} {:?}", Some(&token));
        assert!(!shown.contains("abc123"), "Debug must redact, got {shown}");
    }

    #[tokio::test]
    async fn unavailable_store_says_what_to_install() {
        let err = UnavailableStore.check().await.unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::SecretStore);
        assert!(
            err.to_string().contains("gnome-keyring"),
            "actionable message: {err}"
        );
    }
}
