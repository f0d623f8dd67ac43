//! The fault soak: many syncs across all six sandbox twins with random faults — 429s, 5xx,
//! timeouts, malformed and truncated bodies, unreadable records, token-endpoint faults, revoked
//! tokens, cancels mid-page and mid-refresh, two processes at once, a CLI sync killed with
//! SIGKILL — and, after every step, the invariants: every run terminal, counters balanced, no
//! connection wedged, tokens never lost; and, at checkpoints, no activity lost or duplicated
//! against the sandbox's truth.
//!
//! CI runs a short soak (`SOAK_SYNCS`, default 100). The long one:
//! `SOAK_SYNCS=1000 scripts/with-keyring.sh cargo test -p tributary-cli --test soak -- --include-ignored --nocapture`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tributary_core::auth::RedirectTarget;
use tributary_core::clock::SystemClock;
use tributary_core::domain::{ConnectionState, ProviderKind, SyncStatus, SyncTrigger};
use tributary_core::events::NoopSink;
use tributary_core::secrets::KeyringStore;
use tributary_core::sync::SyncMode;
use tributary_core::{Config, Core, Deps, ErrorCode};
use tributary_sandbox::{Sandbox, SandboxConfig};

const BIN: &str = env!("CARGO_BIN_EXE_tributary");
/// Providers whose tokens expire and refresh (Polar's year-long token has no refresh).
const REFRESHING: [ProviderKind; 5] = [
    ProviderKind::Strava,
    ProviderKind::Garmin,
    ProviderKind::Coros,
    ProviderKind::Wahoo,
    ProviderKind::GoogleHealth,
];
const PROVIDERS: [ProviderKind; 6] = [
    ProviderKind::Strava,
    ProviderKind::Garmin,
    ProviderKind::Polar,
    ProviderKind::Coros,
    ProviderKind::Wahoo,
    ProviderKind::GoogleHealth,
];

/// SplitMix64: a reproducible stream for a given seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// What the soak did and found.
#[derive(Default)]
struct Tally {
    syncs: u64,
    faults: BTreeMap<&'static str, u64>,
    lost: u64,
    duplicated: u64,
    stuck: u64,
    panics: u64,
    tokens_lost: u64,
    misflagged: u64,
    checkpoints: u64,
}

impl Tally {
    fn fault(&mut self, kind: &'static str) {
        *self.faults.entry(kind).or_default() += 1;
    }
}

struct Soak {
    sandbox: Sandbox,
    dir: tempfile::TempDir,
    service: String,
    vars: std::collections::HashMap<String, String>,
    core: Core,
    http: reqwest::Client,
    tally: Tally,
}

impl Soak {
    fn config(&self) -> Config {
        config(&self.vars, self.dir.path(), &self.service)
    }

    async fn control(&self, path: &str, body: serde_json::Value) {
        let url = format!("{}/_control/{path}", self.sandbox.base_url());
        let r = self.http.post(url).json(&body).send().await.unwrap();
        assert!(r.status().is_success(), "control {path}");
    }

    async fn fault(
        &self,
        provider: ProviderKind,
        kind: &str,
        count: u32,
        delay_ms: u64,
        target: &str,
    ) {
        self.control(
            "faults",
            serde_json::json!({"provider": provider.as_str(), "kind": kind, "count": count,
                               "delay_ms": delay_ms, "target": target}),
        )
        .await;
    }

    async fn truth(&self, provider: ProviderKind) -> BTreeSet<String> {
        let url = format!(
            "{}/_control/truth?provider={}",
            self.sandbox.base_url(),
            provider.as_str()
        );
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn connect(&self, provider: ProviderKind) {
        // The redirect the desktop uses: a deep link where the provider takes one, else loopback
        // (the URL is handed to the core; nothing listens on the port).
        let redirects = self
            .core
            .registry()
            .get(provider)
            .unwrap()
            .capabilities()
            .redirects;
        let target = match redirects.deep_link {
            true => RedirectTarget::DeepLink,
            false => RedirectTarget::Loopback {
                port: redirects.loopback_port.unwrap_or(9),
            },
        };
        let request = self.core.begin_connect(provider, target).await.unwrap();
        let page = self
            .http
            .get(&request.authorize_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let marker = "id=\"approve\" href=\"";
        let href = page[page.find(marker).unwrap() + marker.len()..]
            .split('"')
            .next()
            .unwrap()
            .replace("&amp;", "&");
        let link = url::Url::parse(&request.authorize_url)
            .unwrap()
            .join(&href)
            .unwrap();
        let response = self.http.get(link).send().await.unwrap();
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        self.core.complete_redirect(&location).await.unwrap();
    }

    /// One sync, counted.
    async fn sync(&mut self, provider: ProviderKind, mode: SyncMode) {
        self.tally.syncs += 1;
        match self.core.sync(provider, SyncTrigger::Manual, mode).await {
            Ok(_) => {}
            Err(e) if matches!(e.code(), ErrorCode::RateLimited | ErrorCode::AlreadyRunning) => {}
            Err(e) => panic!("{provider}: a sync could not even start: {e}"),
        }
    }

    /// The window passes: the test moves the stored horizons on instead of waiting minutes.
    async fn let_windows_pass(&self) {
        let pool = self.core.store().pool();
        sqlx::query(
            "UPDATE provider_connections SET rate_limited_until = NULL,
             state = CASE WHEN state = 'rate_limited' THEN 'active' ELSE state END",
        )
        .execute(pool)
        .await
        .unwrap();
        sqlx::query("UPDATE provider_budgets SET resets_at = 0")
            .execute(pool)
            .await
            .unwrap();
    }

    /// The invariants that hold after every step.
    async fn check_step(&mut self, step: usize, revoked: &BTreeSet<ProviderKind>, killed: bool) {
        let pool = self.core.store().pool();
        // Counted before the recovery: recovering first would turn every run this process left
        // `running` into `interrupted` and hide exactly what the soak is looking for.
        let left: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM sync_history WHERE status = 'running'")
                .fetch_one(pool)
                .await
                .unwrap();
        let recovered = self.core.recover_dead_runs().await.unwrap();
        let allowed = i64::from(killed);
        if left > allowed {
            self.tally.stuck += 1;
            eprintln!(
                "step {step}: {left} run(s) left running after the step ({recovered} recovered)"
            );
        }
        let running: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM sync_history WHERE status = 'running'")
                .fetch_one(pool)
                .await
                .unwrap();
        if running > 0 {
            self.tally.stuck += 1;
            eprintln!("step {step}: {running} run(s) left running");
        }
        let unbalanced: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sync_history WHERE activities_fetched != activities_created
             + activities_updated + activities_skipped + activities_failed",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(unbalanced, 0, "step {step}: counters balanced");
        let panics: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sync_history WHERE error_message LIKE '%stopped unexpectedly%'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        self.tally.panics = u64::try_from(panics).unwrap();
        for c in self.core.list_connections().await.unwrap() {
            if revoked.contains(&c.provider) {
                continue;
            }
            // Through the vault: it reads the keyring entry the row points at (a reconnect
            // moves tokens to a new slot).
            let stored = self.core.vault().load(c.provider).await.unwrap().is_some();
            if !stored || c.state == ConnectionState::NeedsReauth {
                self.tally.tokens_lost += 1;
                eprintln!(
                    "step {step}: {}: tokens lost (stored: {stored}, state: {})",
                    c.provider, c.state
                );
                self.connect(c.provider).await; // carry on with the soak
            }
        }
    }

    /// Heal, reconcile every provider and compare with the sandbox's truth.
    async fn checkpoint(&mut self) {
        self.tally.checkpoints += 1;
        self.let_windows_pass().await;
        let pool = self.core.store().pool().clone();
        for provider in PROVIDERS {
            // The first full run may finish a walk begun earlier (it cannot see what arrived
            // above its resume point meanwhile); the second is a fresh, complete reconcile.
            let mut run = self
                .core
                .sync(provider, SyncTrigger::Manual, SyncMode::Full)
                .await;
            if run.as_ref().is_ok_and(|r| r.status == SyncStatus::Success) {
                run = self
                    .core
                    .sync(provider, SyncTrigger::Manual, SyncMode::Full)
                    .await;
            }
            self.tally.syncs += 2;
            match run {
                Ok(run) if run.status == SyncStatus::Success => {}
                other => {
                    self.tally.stuck += 1;
                    eprintln!("checkpoint: {provider} does not heal: {other:?}");
                    continue;
                }
            }
            let truth = self.truth(provider).await;
            let live: BTreeSet<String> = sqlx::query_scalar(
                "SELECT provider_activity_id FROM activities
                 WHERE provider = ?1 AND deleted_at IS NULL",
            )
            .bind(provider.as_str())
            .fetch_all(&pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
            let lost: Vec<_> = truth.difference(&live).collect();
            if !lost.is_empty() {
                self.tally.lost += lost.len() as u64;
                eprintln!("checkpoint: {provider}: {} lost: {lost:?}", lost.len());
            }
            // Listed as deleted while the provider still lists it.
            let flagged: BTreeSet<String> = sqlx::query_scalar(
                "SELECT provider_activity_id FROM activities
                 WHERE provider = ?1 AND deleted_at IS NOT NULL",
            )
            .bind(provider.as_str())
            .fetch_all(&pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
            self.tally.misflagged += flagged.intersection(&truth).count() as u64;
            // Every row was created exactly once: the runs' `created` add up to the rows.
            let (rows, created): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM activities WHERE provider = ?1),
                        (SELECT COALESCE(SUM(h.activities_created), 0) FROM sync_history h
                         JOIN provider_connections c ON c.id = h.connection_id
                         WHERE c.provider = ?1)",
            )
            .bind(provider.as_str())
            .fetch_one(&pool)
            .await
            .unwrap();
            if created != rows {
                self.tally.duplicated += created.abs_diff(rows);
                eprintln!("checkpoint: {provider}: created {created} for {rows} rows");
            }
        }
    }

    /// A CLI `sync --full` in another process, killed with SIGKILL mid-run.
    fn kill_a_cli_sync(&self, provider: ProviderKind) -> bool {
        let mut child = Command::new(BIN)
            .args(["sync", provider.as_str(), "--full"])
            .envs(&self.vars)
            .env("TRIBUTARY_DATA_DIR", self.dir.path())
            .env("TRIBUTARY_KEYRING_SERVICE", &self.service)
            .env_remove("TRIBUTARY_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        let mut mid_run = false;
        while stderr.read_line(&mut line).unwrap_or(0) > 0 {
            if line.contains("fetched so far") {
                mid_run = true;
                break;
            }
            line.clear();
        }
        let _ = child.kill();
        let _ = child.wait();
        mid_run
    }
}

fn config(
    vars: &std::collections::HashMap<String, String>,
    dir: &std::path::Path,
    service: &str,
) -> Config {
    let mut config = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
    config.data_dir = dir.to_owned();
    config.keyring_service = service.to_owned();
    config.sync_after_connect = false;
    config.retry.base = Duration::from_millis(10);
    config.retry.max = Duration::from_millis(40);
    config.request_timeout = Duration::from_secs(5);
    config
}

async fn soak(target: u64, seed: u64) -> Tally {
    let sandbox = Sandbox::start(
        SandboxConfig {
            activities: 300,
            seed,
            // The soak injects its 429s; the app-wide budget itself is not the subject here.
            budget_short: 1_000_000,
            budget_daily: 10_000_000,
            ..SandboxConfig::default()
        },
        0,
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let service = format!("tributary-soak-{}", std::process::id());
    let vars = sandbox.config_vars();
    let deps = Deps {
        secrets: Arc::new(KeyringStore::new(service.clone())),
        clock: Arc::new(SystemClock),
        events: Arc::new(NoopSink),
    };
    let core = Core::open(config(&vars, dir.path(), &service), deps)
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut s = Soak {
        sandbox,
        dir,
        service,
        vars,
        core,
        http,
        tally: Tally::default(),
    };
    for p in PROVIDERS {
        s.connect(p).await;
        s.sync(p, SyncMode::Incremental).await;
    }
    let mut rng = Rng(seed);
    let mut step = 0;
    let started = Instant::now();
    while s.tally.syncs < target {
        step += 1;
        let p = rng.pick(&PROVIDERS);
        let mut revoked = BTreeSet::new();
        let step_kind = rng.below(12);
        match step_kind {
            0 => s.sync(p, SyncMode::Incremental).await,
            1 => s.sync(p, SyncMode::Full).await,
            2 | 3 => {
                let kind =
                    rng.pick(&["429", "500", "malformed", "truncated", "bad_record", "slow"]);
                s.tally.fault(match kind {
                    "429" => "api 429",
                    "500" => "api 5xx",
                    "malformed" => "api malformed",
                    "truncated" => "api truncated",
                    "bad_record" => "unreadable record",
                    _ => "api timeout-ish delay",
                });
                let count = if kind == "429" {
                    1
                } else {
                    1 + rng.below(4) as u32
                };
                s.fault(p, kind, count, 200, "api").await;
                s.sync(p, SyncMode::Incremental).await;
            }
            4 | 5 => {
                let p = rng.pick(&REFRESHING);
                let kind = rng.pick(&["429", "500", "malformed", "truncated", "slow"]);
                s.tally.fault(match kind {
                    "429" => "token 429",
                    "500" => "token 5xx",
                    "malformed" => "token malformed",
                    "truncated" => "token truncated",
                    _ => "token delay",
                });
                s.control("expire_tokens", serde_json::json!({"provider": p.as_str()}))
                    .await;
                s.fault(p, kind, 1 + rng.below(2) as u32, 200, "token")
                    .await;
                s.sync(p, SyncMode::Incremental).await;
            }
            6 => {
                s.tally.fault("revoked tokens");
                s.fault(p, "revoke", 1, 0, "api").await;
                revoked.insert(p);
                s.sync(p, SyncMode::Incremental).await;
                let state = s.core.get_connection_by_provider(p).await.unwrap().state;
                assert_eq!(
                    state,
                    ConnectionState::NeedsReauth,
                    "{p}: a revoked token says so"
                );
                s.connect(p).await;
                revoked.remove(&p);
            }
            7 => {
                s.tally.fault("cancel mid-page");
                s.fault(p, "slow", 3, 150, "api").await;
                s.tally.syncs += 1;
                if let Ok(handle) = s
                    .core
                    .start_sync(p, SyncTrigger::Manual, SyncMode::Full)
                    .await
                {
                    tokio::time::sleep(Duration::from_millis(rng.below(300))).await;
                    s.core.cancel_sync(p).await;
                    handle.wait().await.unwrap();
                }
            }
            8 => {
                let p = rng.pick(&REFRESHING);
                s.tally.fault("cancel mid-refresh");
                s.control("expire_tokens", serde_json::json!({"provider": p.as_str()}))
                    .await;
                s.fault(p, "slow", 1, 300, "token").await;
                s.tally.syncs += 1;
                if let Ok(handle) = s
                    .core
                    .start_sync(p, SyncTrigger::Manual, SyncMode::Incremental)
                    .await
                {
                    tokio::time::sleep(Duration::from_millis(50 + rng.below(200))).await;
                    s.core.cancel_sync(p).await;
                    handle.wait().await.unwrap();
                }
                // The detached refresh finishes and stores its pair.
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
            9 => {
                s.tally.fault("two processes at once");
                let other_deps = Deps {
                    secrets: Arc::new(KeyringStore::new(s.service.clone())),
                    clock: Arc::new(SystemClock),
                    events: Arc::new(NoopSink),
                };
                let other = Core::open(s.config(), other_deps).await.unwrap();
                let q = rng.pick(&PROVIDERS);
                let (a, b) = tokio::join!(
                    s.core.sync(p, SyncTrigger::Manual, SyncMode::Incremental),
                    other.sync(q, SyncTrigger::Manual, SyncMode::Incremental),
                );
                s.tally.syncs += 2;
                for r in [a, b] {
                    if let Err(e) = r {
                        assert!(
                            matches!(e.code(), ErrorCode::AlreadyRunning | ErrorCode::RateLimited),
                            "two processes: {e}"
                        );
                    }
                }
                other.shutdown().await;
            }
            10 => {
                s.tally.fault("kill -9 of a CLI sync");
                s.tally.syncs += 1;
                let soak = &s;
                let mid_run = tokio::task::block_in_place(|| soak.kill_a_cli_sync(p));
                if !mid_run {
                    s.tally.fault("kill -9 before the first page");
                }
            }
            _ => {
                // The truth changes at the provider: a late upload, an edit, a deletion.
                match rng.below(3) {
                    0 => {
                        s.tally.fault("late upload");
                        let days = rng.below(900) as i64;
                        let start = s.sandbox.anchor() - chrono::Duration::days(days)
                            + chrono::Duration::minutes(rng.below(1440) as i64);
                        s.control("upload", serde_json::json!({"start": start}))
                            .await;
                    }
                    1 => {
                        s.tally.fault("edit");
                        s.control("edit", serde_json::json!({"index": rng.below(300)}))
                            .await;
                    }
                    _ => {
                        s.tally.fault("deletion");
                        s.control("delete", serde_json::json!({"index": rng.below(300)}))
                            .await;
                    }
                }
                s.sync(p, SyncMode::Incremental).await;
            }
        }
        s.control("clear_faults", serde_json::json!({})).await;
        s.let_windows_pass().await;
        // Only the kill -9 step may leave a run `running` (the killed process's own).
        s.check_step(step, &revoked, step_kind == 10).await;
        if step % 40 == 0 {
            s.checkpoint().await;
        }
    }
    s.checkpoint().await;
    let t = &s.tally;
    println!(
        "soak: {} syncs in {} steps, {:.1} s, seed {seed}",
        t.syncs,
        step,
        started.elapsed().as_secs_f64()
    );
    println!("soak: faults injected {:?}", t.faults);
    println!(
        "soak: lost {}, duplicated {}, stuck {}, panics {}, tokens lost {}, misflagged deleted {}, checkpoints {}",
        t.lost, t.duplicated, t.stuck, t.panics, t.tokens_lost, t.misflagged, t.checkpoints
    );
    s.core.shutdown().await;
    s.tally
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "uses the real keyring; .ci/run runs it inside dbus-run-session with gnome-keyring"]
async fn the_fault_soak_loses_nothing_and_leaves_nothing_stuck() {
    let target = std::env::var("SOAK_SYNCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let seed = std::env::var("SOAK_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let t = soak(target, seed).await;
    assert!(t.syncs >= target);
    assert_eq!(
        (
            t.lost,
            t.duplicated,
            t.stuck,
            t.panics,
            t.tokens_lost,
            t.misflagged
        ),
        (0, 0, 0, 0, 0, 0),
        "lost, duplicated, stuck, panics, tokens lost, misflagged"
    );
}
