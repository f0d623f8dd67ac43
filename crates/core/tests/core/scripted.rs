//! A provider whose answers the test scripts: the seam for engine tests that need what no twin
//! does on demand (a panic, a refresh that hangs, a cursor that repeats).

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tributary_core::domain::{ConnectionProfile, NewActivity, ProviderKind, Sport};
use tributary_core::providers::{
    ActivityPage, Call, Capabilities, ClientCredentials, Endpoints, Http, ListRequest, Provider,
    RateBudget, TokenGrant,
};
use tributary_core::secrets::Sensitive;
use tributary_core::{Error, Result};

type Boxed<T> = Pin<Box<dyn Future<Output = Result<T>> + Send>>;
/// Answers one listing call: (the request, how many listing calls came before it).
pub type ListFn = Arc<dyn Fn(ListRequest, usize) -> Boxed<ActivityPage> + Send + Sync>;
/// Answers one refresh call: (the refresh token, how many refreshes came before it).
pub type RefreshFn = Arc<dyn Fn(String, usize) -> Boxed<TokenGrant> + Send + Sync>;

pub struct Scripted {
    kind: ProviderKind,
    capabilities: Capabilities,
    http: Http,
    endpoints: Endpoints,
    list: Mutex<ListFn>,
    refresh: Mutex<RefreshFn>,
    /// Budget to report to the meter on each listing call.
    pub budget: Mutex<Option<RateBudget>>,
    pub list_calls: AtomicUsize,
    pub refresh_calls: AtomicUsize,
    pub requests: Mutex<Vec<ListRequest>>,
    /// Each listing call's bearer token, with the vault's write count at that moment.
    pub calls_seen: Mutex<Vec<(String, u64)>>,
    /// Whose write count `calls_seen` records.
    pub writes: Mutex<Option<Arc<tributary_core::secrets::SwitchableStore>>>,
    user: Mutex<String>,
    /// The grant number a code exchange answers with (`grant(n)`; 0 unless set).
    pub exchange_grant: AtomicUsize,
    /// Keeps the API "host" reachable (the scheduler's offline probe connects to it).
    host: Mutex<Option<std::net::TcpListener>>,
    port: u16,
}

impl Scripted {
    /// A scripted `kind` with that provider's real capabilities, listing nothing.
    pub fn new(kind: ProviderKind, capabilities: Capabilities) -> Arc<Self> {
        let host = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = host.local_addr().unwrap().port();
        let url = url::Url::parse(&format!("http://127.0.0.1:{port}/scripted")).unwrap();
        Arc::new(Self {
            kind,
            capabilities,
            http: Http::new(reqwest::Client::new(), kind, Default::default(), |_, _| {
                None
            }),
            endpoints: Endpoints {
                auth_url: url.clone(),
                token_url: url.clone(),
                api_url: url,
            },
            list: Mutex::new(Arc::new(|_, _| {
                Box::pin(async { Ok(ActivityPage::default()) })
            })),
            refresh: Mutex::new(Arc::new(|_, n| Box::pin(async move { Ok(grant(n + 1)) }))),
            budget: Mutex::new(None),
            list_calls: AtomicUsize::new(0),
            refresh_calls: AtomicUsize::new(0),
            requests: Mutex::new(Vec::new()),
            calls_seen: Mutex::new(Vec::new()),
            writes: Mutex::new(None),
            user: Mutex::new("scripted-athlete".into()),
            exchange_grant: AtomicUsize::new(0),
            host: Mutex::new(Some(host)),
            port,
        })
    }

    /// The API host stops answering (no network).
    pub fn go_offline(&self) {
        self.host.lock().unwrap().take();
    }

    /// The API host answers again.
    pub fn go_online(&self) {
        let listener = std::net::TcpListener::bind(("127.0.0.1", self.port)).unwrap();
        *self.host.lock().unwrap() = Some(listener);
    }

    /// The athlete id the next connect reports.
    pub fn set_user(&self, user: &str) {
        *self.user.lock().unwrap() = user.to_owned();
    }

    pub fn on_list(
        &self,
        f: impl Fn(ListRequest, usize) -> Boxed<ActivityPage> + Send + Sync + 'static,
    ) {
        *self.list.lock().unwrap() = Arc::new(f);
    }

    pub fn on_refresh(
        &self,
        f: impl Fn(String, usize) -> Boxed<TokenGrant> + Send + Sync + 'static,
    ) {
        *self.refresh.lock().unwrap() = Arc::new(f);
    }
}

/// A token grant numbered `n` (`at-n` / `rt-n`), valid for six hours.
pub fn grant(n: usize) -> TokenGrant {
    TokenGrant {
        access_token: Sensitive::new(format!("at-{n}")),
        refresh_token: Some(Sensitive::new(format!("rt-{n}"))),
        expires_at: Some(Utc::now() + Duration::hours(6)),
        scopes: Some(vec!["read".into(), "activity:read_all".into()]),
        extra: serde_json::Map::new(),
    }
}

/// A plain activity with id `id` starting at `start`.
pub fn activity(id: &str, start: DateTime<Utc>) -> NewActivity {
    NewActivity {
        provider_activity_id: id.to_owned(),
        sport: Sport::Run,
        name: Some(format!("run {id}")),
        start_utc: start,
        utc_offset_seconds: Some(0),
        elapsed_seconds: Some(3600),
        moving_seconds: Some(3500),
        distance_m: Some(10_000.0),
        elevation_gain_m: None,
        avg_heart_rate: None,
        max_heart_rate: None,
        calories: None,
        avg_power_w: None,
        max_power_w: None,
        device: None,
        raw: serde_json::json!({"id": id, "start": start.timestamp()}),
    }
}

/// A page of `activities` continuing at `next`.
pub fn page(activities: Vec<NewActivity>, next: Option<&str>) -> ActivityPage {
    ActivityPage {
        items: activities.into_iter().map(Ok).collect(),
        next_cursor: next.map(str::to_owned),
        position: None,
        progress: None,
    }
}

#[async_trait]
impl Provider for Scripted {
    fn kind(&self) -> ProviderKind {
        self.kind
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }

    fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    fn http(&self) -> &Http {
        &self.http
    }

    async fn exchange_code(
        &self,
        _call: &Call<'_>,
        _creds: &ClientCredentials,
        _code: &str,
        _redirect_uri: &str,
        _pkce_verifier: Option<&Sensitive<String>>,
    ) -> Result<TokenGrant> {
        Ok(grant(self.exchange_grant.load(Ordering::SeqCst)))
    }

    async fn refresh(
        &self,
        _call: &Call<'_>,
        _creds: &ClientCredentials,
        refresh_token: &Sensitive<String>,
        _access_token: &Sensitive<String>,
    ) -> Result<TokenGrant> {
        let n = self.refresh_calls.fetch_add(1, Ordering::SeqCst);
        let f = self.refresh.lock().unwrap().clone();
        f(refresh_token.expose().clone(), n).await
    }

    async fn fetch_profile(
        &self,
        _call: &Call<'_>,
        _grant: &TokenGrant,
    ) -> Result<ConnectionProfile> {
        Ok(ConnectionProfile {
            provider_user_id: Some(self.user.lock().unwrap().clone()),
            username: Some("scripted".into()),
            email: None,
            provider_profile: None,
        })
    }

    async fn revoke(
        &self,
        _call: &Call<'_>,
        _creds: &ClientCredentials,
        _provider_user_id: Option<&str>,
    ) -> Result<()> {
        Ok(())
    }

    async fn list_activities(
        &self,
        call: &Call<'_>,
        request: &ListRequest,
    ) -> Result<ActivityPage> {
        let Some(token) = call.token else {
            return Err(Error::Internal("listing without a token".into()));
        };
        let writes = self
            .writes
            .lock()
            .unwrap()
            .as_ref()
            .map_or(0, |s| s.writes());
        self.calls_seen
            .lock()
            .unwrap()
            .push((token.expose().clone(), writes));
        call.meter.count_call();
        if let Some(budget) = *self.budget.lock().unwrap() {
            call.meter.observe(Some(budget));
        }
        self.requests.lock().unwrap().push(request.clone());
        let n = self.list_calls.fetch_add(1, Ordering::SeqCst);
        let f = self.list.lock().unwrap().clone();
        f(request.clone(), n).await
    }
}
