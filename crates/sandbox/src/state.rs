//! The sandbox's state: issued codes and tokens, the data set, queued faults, usage counters.

use crate::SandboxConfig;
use crate::generate::{self, Workout};
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

/// What a queued fault does to the next API call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// 429 with rate-limit headers showing a spent budget.
    #[serde(rename = "429")]
    RateLimit,
    /// 500.
    #[serde(rename = "500")]
    ServerError,
    /// 200 with a body that is not JSON.
    Malformed,
    /// 200 with JSON cut off half way.
    Truncated,
    /// Every token is revoked (as if the athlete removed the app at the provider).
    Revoke,
    /// The response is delayed by `delay_ms`.
    Slow,
    /// The page carries one extra record that cannot be read (no usable start time).
    BadRecord,
    /// 410 Gone, as the retired legacy Fitbit Web API answers.
    Gone,
    /// The page carries one extra record that is not JSON a strict reader accepts on its own
    /// (a lone surrogate in a string, a number beyond f64): it must fail alone, not its page.
    GarbageRecord,
    /// 404 (a file the list advertised is gone).
    #[serde(rename = "404")]
    NotFound,
}

/// A fault to serve.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fault {
    /// Provider path prefix it applies to (`strava`).
    pub provider: String,
    /// What happens.
    pub kind: FaultKind,
    /// How many calls it affects.
    #[serde(default = "one")]
    pub count: u32,
    /// Delay for `slow`.
    #[serde(default)]
    pub delay_ms: u64,
    /// Which endpoint it hits: the API (default) or the token endpoint.
    #[serde(default)]
    pub target: FaultTarget,
}

/// Where a fault is served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultTarget {
    /// The activity and profile API.
    #[default]
    Api,
    /// The token endpoint (code exchange and refresh).
    Token,
}

fn one() -> u32 {
    1
}

fn default_anchor() -> DateTime<Utc> {
    generate::anchor_for(Utc::now())
}

/// An issued access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessGrant {
    /// Provider.
    pub provider: String,
    /// Granted scopes.
    pub scope: String,
    /// Expiry, epoch seconds.
    pub expires_at: i64,
    /// The refresh token issued with it.
    pub refresh_token: String,
    /// The access token this one replaced, retired at this one's first use (Wahoo).
    #[serde(default)]
    pub replaces: Option<String>,
}

/// An issued authorization code (single use, 10 minutes).
#[derive(Debug, Clone)]
pub struct CodeGrant {
    /// Provider.
    pub provider: String,
    /// Client it was issued to.
    pub client_id: String,
    /// Scopes approved.
    pub scope: String,
    /// The redirect URI the code was issued for.
    pub redirect_uri: String,
    /// PKCE S256 challenge, if the authorize request carried one.
    pub code_challenge: Option<String>,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
}

/// How strictly a twin checks PKCE when a code is redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pkce {
    /// The provider does not do PKCE.
    Ignored,
    /// Checked when the authorize request carried a challenge (PKCE is optional).
    IfChallenged,
    /// A challenge and a matching verifier are required.
    Required,
}

/// What a twin demands when an authorization code is redeemed.
#[derive(Debug, Clone, Copy)]
pub struct Redemption {
    /// PKCE.
    pub pkce: Pkce,
    /// Whether the token call must repeat the authorize request's `redirect_uri` (RFC 6749
    /// 4.1.3); when false it is still compared if sent.
    pub redirect_uri_required: bool,
}

/// Why a code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Never issued, or already redeemed.
    Unknown,
    /// Expired, for another provider, or PKCE / redirect URI mismatch.
    Invalid,
}

/// What survives between processes.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Persisted {
    count: usize,
    seed: u64,
    years: u32,
    /// The data set's "now" (see `generate::anchor_for`), fixed at creation.
    #[serde(default = "default_anchor")]
    anchor: DateTime<Utc>,
    edits: BTreeMap<usize, u32>,
    access: HashMap<String, AccessGrant>,
    refresh: HashMap<String, String>, // refresh token → provider
    /// Codes already exchanged, and the access token each produced (Polar: reuse revokes it).
    #[serde(default)]
    spent_codes: HashMap<String, String>,
    /// Garmin backfill windows requested (epoch seconds, start inclusive, end exclusive).
    #[serde(default)]
    backfills: Vec<(i64, i64)>,
    /// Workouts uploaded after the data set was generated (late uploads), by start time.
    #[serde(default)]
    uploads: Vec<DateTime<Utc>>,
    /// Workouts deleted at the provider, by index.
    #[serde(default)]
    deleted: std::collections::BTreeSet<usize>,
    /// Users registered with the partner (Polar's mandatory registration).
    #[serde(default)]
    registered: std::collections::BTreeSet<String>,
    /// Providers whose API application is inactive (Strava: its owner has no subscription).
    #[serde(default)]
    inactive_apps: std::collections::BTreeSet<String>,
    /// When each registered user registered (Polar lists only what was uploaded after).
    #[serde(default)]
    registered_at: BTreeMap<String, DateTime<Utc>>,
    /// When each late upload reached the provider (parallel to `uploads`).
    #[serde(default)]
    upload_times: Vec<DateTime<Utc>>,
    budget_short: u32,
    budget_daily: u32,
    next_token: u64,
}

/// Mutable sandbox state.
pub struct World {
    persisted: Persisted,
    /// Workouts, oldest first.
    pub workouts: Vec<Workout>,
    /// Outstanding authorization codes.
    pub codes: HashMap<String, CodeGrant>,
    /// Queued faults.
    pub faults: VecDeque<Fault>,
    /// API calls served, per provider.
    pub calls: BTreeMap<String, u64>,
    /// Usage in the current (15-minute window start, day) buckets, per provider: each provider
    /// counts its own requests, as each real one does (one provider's downloads never spend
    /// another's budget).
    usage: HashMap<String, (DateTime<Utc>, u32, DateTime<Utc>, u32)>,
}

/// The sandbox's state behind one lock, saved to `state_file` after changes that must persist.
pub struct Shared {
    world: Mutex<World>,
    state_file: Option<PathBuf>,
}

impl Shared {
    pub(crate) fn load(config: SandboxConfig) -> std::io::Result<Self> {
        let persisted = match &config.state_file {
            Some(path) if path.exists() => {
                let text = std::fs::read_to_string(path)?;
                serde_json::from_str(&text).map_err(std::io::Error::other)?
            }
            _ => Persisted {
                count: config.activities,
                seed: config.seed,
                years: config.years,
                anchor: default_anchor(),
                budget_short: config.budget_short,
                budget_daily: config.budget_daily,
                ..Persisted::default()
            },
        };
        let workouts = all_workouts(&persisted);
        let shared = Self {
            world: Mutex::new(World {
                persisted,
                workouts,
                codes: HashMap::new(),
                faults: VecDeque::new(),
                calls: BTreeMap::new(),
                usage: HashMap::new(),
            }),
            state_file: config.state_file,
        };
        shared.save(&shared.world());
        Ok(shared)
    }

    /// Lock the world.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Write the persisted part (best effort: a read-only disk only loses persistence).
    pub fn save(&self, world: &World) {
        if let Some(path) = &self.state_file {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let tmp = path.with_extension("tmp");
            let written = serde_json::to_string_pretty(&world.persisted)
                .map_err(std::io::Error::other)
                .and_then(|text| std::fs::write(&tmp, text))
                .and_then(|()| std::fs::rename(&tmp, path));
            if let Err(e) = written {
                tracing::warn!(error = %e, path = %path.display(), "could not save sandbox state");
            }
        }
    }

    pub(crate) fn inject(&self, fault: Fault) {
        let mut world = self.world();
        if fault.kind == FaultKind::Revoke {
            world.revoke_all(&fault.provider);
            self.save(&world);
        } else {
            world.faults.push_back(fault);
        }
    }

    pub(crate) fn expire_tokens(&self, provider: Option<&str>) {
        let mut world = self.world();
        for grant in world.persisted.access.values_mut() {
            if provider.is_none_or(|p| p == grant.provider) {
                grant.expires_at = 0;
            }
        }
        self.save(&world);
    }

    pub(crate) fn regenerate(&self, count: usize, seed: Option<u64>) {
        let mut world = self.world();
        world.persisted.count = count;
        if let Some(seed) = seed {
            world.persisted.seed = seed;
        }
        world.persisted.edits.clear();
        world.persisted.uploads.clear();
        world.persisted.deleted.clear();
        world.workouts = all_workouts(&world.persisted);
        self.save(&world);
    }

    pub(crate) fn edit(&self, index: usize) {
        let mut world = self.world();
        *world.persisted.edits.entry(index).or_default() += 1;
        self.save(&world);
    }

    /// Add a workout starting at `start` (a late upload); returns its index.
    pub(crate) fn upload(&self, start: DateTime<Utc>) -> usize {
        let mut world = self.world();
        world.persisted.uploads.push(start);
        world.persisted.upload_times.push(Utc::now());
        world.workouts = all_workouts(&world.persisted);
        let index = world.persisted.count + world.persisted.uploads.len() - 1;
        self.save(&world);
        index
    }

    /// Delete workout `index` at the provider (it is no longer listed).
    pub(crate) fn delete(&self, index: usize) {
        let mut world = self.world();
        world.persisted.deleted.insert(index);
        self.save(&world);
    }

    /// Make `provider`'s API application inactive, or active again.
    pub(crate) fn set_app_active(&self, provider: &str, active: bool) {
        let mut world = self.world();
        if active {
            world.persisted.inactive_apps.remove(provider);
        } else {
            world.persisted.inactive_apps.insert(provider.to_owned());
        }
        self.save(&world);
    }

    pub(crate) fn set_budget(&self, short: u32, daily: u32) {
        let mut world = self.world();
        world.persisted.budget_short = short;
        world.persisted.budget_daily = daily;
        world.usage.clear();
        self.save(&world);
    }

    pub(crate) fn report(&self) -> serde_json::Value {
        let world = self.world();
        let now = Utc::now().timestamp();
        let mut live: BTreeMap<String, serde_json::Value> = BTreeMap::new();
        for provider in crate::EMULATED {
            let access = world
                .persisted
                .access
                .values()
                .filter(|g| g.provider == provider && g.expires_at > now)
                .count();
            let refresh = world
                .persisted
                .refresh
                .values()
                .filter(|p| p.as_str() == provider)
                .count();
            live.insert(
                provider.to_owned(),
                serde_json::json!({ "access": access, "refresh": refresh }),
            );
        }
        serde_json::json!({
            "activities": world.workouts.len(),
            // Every grant not revoked (expired access tokens included: their refresh tokens live).
            "live_access_tokens": world.persisted.access.len(),
            "live_refresh_tokens": world.persisted.refresh.len(),
            // Per provider: unexpired access tokens, and refresh tokens that still work.
            "live": live,
            "calls": world.calls,
            "queued_faults": world.faults.len(),
        })
    }
}

/// The generated set plus the uploads, oldest first.
fn all_workouts(p: &Persisted) -> Vec<Workout> {
    let mut all = generate::workouts(p.count, p.seed, p.years, p.anchor);
    for (i, start) in p.uploads.iter().enumerate() {
        all.push(generate::single(p.count + i, *start, p.seed));
    }
    all.sort_by_key(|w| (w.start, w.index));
    all
}

impl World {
    /// The workouts the provider lists (not deleted), oldest first.
    pub fn visible(&self) -> impl DoubleEndedIterator<Item = &Workout> {
        self.workouts
            .iter()
            .filter(|w| !self.persisted.deleted.contains(&w.index))
    }

    /// Whether `provider`'s API application is inactive.
    pub fn app_inactive(&self, provider: &str) -> bool {
        self.persisted.inactive_apps.contains(provider)
    }

    /// How many workouts were generated (uploads come after).
    pub fn generated(&self) -> usize {
        self.persisted.count
    }

    /// Whether workout `index` was deleted at the provider.
    pub fn is_deleted(&self, index: usize) -> bool {
        self.persisted.deleted.contains(&index)
    }

    /// How many times activity `index` was edited.
    pub fn edits(&self, index: usize) -> u32 {
        self.persisted.edits.get(&index).copied().unwrap_or(0)
    }

    /// A fresh opaque token.
    pub fn new_token(&mut self, prefix: &str) -> String {
        self.persisted.next_token += 1;
        // Unguessable enough for a loopback emulator, and unique across restarts.
        let salt = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        format!("{prefix}-{}-{salt:x}", self.persisted.next_token)
    }

    /// Record an access + refresh pair.
    pub fn issue(
        &mut self,
        provider: &str,
        scope: &str,
        lifetime: Duration,
    ) -> (String, AccessGrant) {
        let access = self.new_token("sbx-at");
        let refresh = self.new_token("sbx-rt");
        let grant = AccessGrant {
            provider: provider.to_owned(),
            scope: scope.to_owned(),
            expires_at: (Utc::now() + lifetime).timestamp(),
            refresh_token: refresh.clone(),
            replaces: None,
        };
        self.persisted.access.insert(access.clone(), grant.clone());
        self.persisted.refresh.insert(refresh, provider.to_owned());
        (access, grant)
    }

    /// The grant behind an access token, if it is live.
    pub fn access(&self, token: &str) -> Option<&AccessGrant> {
        self.persisted
            .access
            .get(token)
            .filter(|g| g.expires_at > Utc::now().timestamp())
    }

    /// The live grant behind an access token issued by `provider`.
    pub fn access_for(&self, token: &str, provider: &str) -> Option<&AccessGrant> {
        self.access(token).filter(|g| g.provider == provider)
    }

    /// A token's first successful use retires the pair it replaced (Wahoo's rule; a no-op for
    /// tokens that replaced nothing).
    /// Returns whether anything changed.
    pub fn first_use(&mut self, token: &str) -> bool {
        let replaced = self
            .persisted
            .access
            .get_mut(token)
            .and_then(|g| g.replaces.take());
        if let Some(old) = &replaced {
            self.retire(old);
        }
        replaced.is_some()
    }

    /// The access token issued with `refresh`, if the refresh token is live.
    pub fn by_refresh(&self, refresh: &str) -> Option<(String, AccessGrant)> {
        self.persisted.refresh.get(refresh)?;
        self.persisted
            .access
            .iter()
            .find(|(_, g)| g.refresh_token == refresh)
            .map(|(t, g)| (t.clone(), g.clone()))
    }

    /// Give an issued access token another name (a twin whose tokens have a shape of their own,
    /// Garmin's JWTs).
    pub fn rename_access(&mut self, from: &str, to: &str) {
        if let Some(grant) = self.persisted.access.remove(from) {
            self.persisted.access.insert(to.to_owned(), grant);
        }
    }

    /// Retire an access token and its refresh token.
    pub fn retire(&mut self, access: &str) {
        if let Some(grant) = self.persisted.access.remove(access) {
            self.persisted.refresh.remove(&grant.refresh_token);
        }
    }

    /// Redeem an authorization code under `rules`: single use (the code is gone whatever the
    /// outcome), not expired, issued by `provider`, PKCE and redirect URI as the rules demand.
    pub fn redeem(
        &mut self,
        provider: &str,
        form: &HashMap<String, String>,
        rules: Redemption,
    ) -> Result<CodeGrant, Refusal> {
        let code = form.get("code").map_or("", String::as_str);
        let grant = self.codes.remove(code).ok_or(Refusal::Unknown)?;
        let verified = match (rules.pkce, &grant.code_challenge, form.get("code_verifier")) {
            (Pkce::Ignored, _, _) | (Pkce::IfChallenged, None, _) => true,
            (_, Some(challenge), Some(verifier)) => {
                oauth2::PkceCodeChallenge::from_code_verifier_sha256(
                    &oauth2::PkceCodeVerifier::new(verifier.clone()),
                )
                .as_str()
                    == challenge
            }
            _ => false,
        };
        let redirect_ok = match form.get("redirect_uri") {
            Some(sent) => *sent == grant.redirect_uri,
            None => !rules.redirect_uri_required,
        };
        if !verified || !redirect_ok || grant.expires_at < Utc::now() || grant.provider != provider
        {
            return Err(Refusal::Invalid);
        }
        Ok(grant)
    }

    /// Remember which access token a code produced; returns the earlier one if it was spent.
    pub fn spend_code(&mut self, code: &str, access: Option<&str>) -> Option<String> {
        match access {
            Some(token) => self
                .persisted
                .spent_codes
                .insert(code.to_owned(), token.to_owned()),
            None => self.persisted.spent_codes.get(code).cloned(),
        }
    }

    /// Register a user; false if already registered.
    pub fn register(&mut self, user: &str) -> bool {
        let fresh = self.persisted.registered.insert(user.to_owned());
        if fresh {
            self.persisted
                .registered_at
                .insert(user.to_owned(), Utc::now());
        }
        fresh
    }

    /// When `user` registered, if they are registered.
    pub fn registered_at(&self, user: &str) -> Option<DateTime<Utc>> {
        self.persisted
            .registered
            .contains(user)
            .then(|| self.persisted.registered_at.get(user).copied())
            .flatten()
    }

    /// When workout `w` reached the provider's cloud: a late upload when it was uploaded; a
    /// generated one ten minutes after it ended.
    pub fn uploaded_at(&self, w: &Workout) -> DateTime<Utc> {
        w.index
            .checked_sub(self.persisted.count)
            .and_then(|i| self.persisted.upload_times.get(i).copied())
            .unwrap_or_else(|| w.start + Duration::seconds(w.elapsed + 600))
    }

    /// Whether a user is registered.
    pub fn is_registered(&self, user: &str) -> bool {
        self.persisted.registered.contains(user)
    }

    /// De-register a user; false if they were not registered.
    pub fn deregister(&mut self, user: &str) -> bool {
        self.persisted.registered_at.remove(user);
        self.persisted.registered.remove(user)
    }

    /// Wahoo's rotation: spend a refresh token (single use) and issue a new pair that retires the
    /// old one at its first use. `None` if the refresh token is unknown or spent.
    pub fn rotate(
        &mut self,
        refresh: &str,
        lifetime: chrono::Duration,
    ) -> Option<(String, AccessGrant)> {
        let (old_access, grant) = self.by_refresh(refresh)?;
        self.persisted.refresh.remove(refresh);
        let (access, _) = self.issue(&grant.provider, &grant.scope, lifetime);
        let issued = self.persisted.access.get_mut(&access)?;
        issued.replaces = Some(old_access);
        Some((access.clone(), issued.clone()))
    }

    /// COROS' refresh: the same pair lives `lifetime` longer. False if the refresh token is unknown.
    pub fn extend(&mut self, refresh: &str, lifetime: chrono::Duration) -> bool {
        let Some((access, _)) = self.by_refresh(refresh) else {
            return false;
        };
        match self.persisted.access.get_mut(&access) {
            Some(grant) => {
                grant.expires_at = (Utc::now() + lifetime).timestamp();
                true
            }
            None => false,
        }
    }

    /// Point an existing refresh token at a new access token (Google keeps refresh tokens).
    pub fn rebind_refresh(&mut self, access: &str, refresh: &str) {
        if let Some(grant) = self.persisted.access.get_mut(access) {
            let own = std::mem::replace(&mut grant.refresh_token, refresh.to_owned());
            let provider = grant.provider.clone();
            self.persisted.refresh.remove(&own);
            self.persisted.refresh.insert(refresh.to_owned(), provider);
        }
    }

    /// The data set's anchor: no generated workout starts at or after it.
    pub fn anchor(&self) -> DateTime<Utc> {
        self.persisted.anchor
    }

    /// Record a backfill window; false if exactly this window was already asked for (Garmin: 409).
    pub fn add_backfill(&mut self, start: i64, end: i64) -> bool {
        if self.persisted.backfills.contains(&(start, end)) {
            return false;
        }
        self.persisted.backfills.push((start, end));
        true
    }

    /// The backfill windows requested so far.
    pub fn backfills(&self) -> &[(i64, i64)] {
        &self.persisted.backfills
    }

    /// Forget backfills (the user deregistered).
    pub fn clear_backfills(&mut self) {
        self.persisted.backfills.clear();
    }

    /// The live grants of `provider`.
    pub fn live_grants<'a>(&'a self, provider: &'a str) -> impl Iterator<Item = &'a AccessGrant> {
        let now = Utc::now().timestamp();
        self.persisted
            .access
            .values()
            .filter(move |g| g.provider == provider && g.expires_at > now)
    }

    /// Unrevoked access tokens of `provider`.
    pub fn live_tokens(&self, provider: &str) -> usize {
        self.persisted
            .access
            .values()
            .filter(|g| g.provider == provider)
            .count()
    }

    /// Revoke every token of `provider`.
    pub fn revoke_all(&mut self, provider: &str) {
        self.persisted.access.retain(|_, g| g.provider != provider);
        self.persisted.refresh.retain(|_, p| p != provider);
    }

    /// Take the next queued fault for `provider`'s `target`.
    pub fn take_fault(&mut self, provider: &str, target: FaultTarget) -> Option<Fault> {
        let position = self
            .faults
            .iter()
            .position(|f| f.provider == provider && f.target == target)?;
        let fault = self.faults.get_mut(position)?;
        let taken = fault.clone();
        fault.count = fault.count.saturating_sub(1);
        if fault.count == 0 {
            self.faults.remove(position);
        }
        Some(taken)
    }

    /// Count one API call against the windows; returns (limits, usages) after counting, and
    /// whether the call is over budget.
    pub fn spend(&mut self, provider: &str, now: DateTime<Utc>) -> ((u32, u32), (u32, u32), bool) {
        let window = now.duration_trunc(Duration::minutes(15)).unwrap_or(now);
        let day = now.duration_trunc(Duration::days(1)).unwrap_or(now);
        let usage = self
            .usage
            .entry(provider.to_owned())
            .or_insert((window, 0, day, 0));
        if usage.0 != window {
            usage.0 = window;
            usage.1 = 0;
        }
        if usage.2 != day {
            usage.2 = day;
            usage.3 = 0;
        }
        let limits = (self.persisted.budget_short, self.persisted.budget_daily);
        // Rejected requests still count toward the daily limit, as on Strava.
        usage.3 += 1;
        let over = usage.1 >= limits.0 || usage.3 > limits.1;
        if !over {
            usage.1 += 1;
        }
        (limits, (usage.1, usage.3.min(limits.1)), over)
    }
}
