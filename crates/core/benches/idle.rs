//! The agent's idle cost: what the background scheduler (the tray agent's and `tributary
//! agent`'s) costs while nothing is due, with six connections, unpaused and paused.
//!
//! Each phase runs for `BENCH_IDLE_SECS` (default 600: ten minutes) and reports the process's CPU
//! time (user + system, from `/proc/self/stat`) as a share of one core, the scheduler's looks
//! (its wake-ups) per minute, and the `SchedulerChanged` events it announced (each one rebuilds
//! the tray's menu). Goal (issue 14): under 0.1 % of one core and at most one look a minute when
//! nothing is due. The baseline in the same run is the same process doing nothing for the same
//! time (no scheduler), so the figures are the scheduler's own. The sandbox serving the six
//! providers runs in this process too; it is idle when nothing is requested.
//!
//! `cargo bench -p tributary-core --bench idle` (CI runs a short one: BENCH_IDLE_SECS=20).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tributary_core::auth::RedirectTarget;
use tributary_core::clock::SystemClock;
use tributary_core::domain::SyncTrigger;
use tributary_core::events::{CoreEvent, EventSink};
use tributary_core::scheduler::AgentOptions;
use tributary_core::secrets::MemoryStore;
use tributary_core::settings::SettingsPatch;
use tributary_core::sync::SyncMode;
use tributary_core::{Config, Core, Deps};
use tributary_sandbox::{Sandbox, SandboxConfig};

/// Counts the scheduler's announcements.
#[derive(Default)]
struct Counter(AtomicU64);

impl EventSink for Counter {
    fn emit(&self, event: CoreEvent) {
        if matches!(event, CoreEvent::SchedulerChanged { .. }) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// This process's CPU time so far (user + system), from `/proc/self/stat`.
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // CLK_TCK is 100 on every Linux this runs on.
    Duration::from_millis(ticks * 10)
}

async fn connect_all(core: &Core, http: &reqwest::Client) {
    let providers = core.available_providers().await.unwrap();
    for info in &providers {
        let redirects = info.capabilities.redirects;
        let target = match (redirects.deep_link, redirects.loopback_port) {
            (true, _) => RedirectTarget::DeepLink,
            (false, port) => RedirectTarget::Loopback {
                port: port.unwrap_or(9),
            },
        };
        let request = core.begin_connect(info.provider, target).await.unwrap();
        let page = http
            .get(&request.authorize_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let marker = "id=\"approve\" href=\"";
        let start = page.find(marker).unwrap() + marker.len();
        let href = page[start..]
            .split('"')
            .next()
            .unwrap()
            .replace("&amp;", "&");
        let link = url::Url::parse(&request.authorize_url)
            .unwrap()
            .join(&href)
            .unwrap();
        let response = http.get(link).send().await.unwrap();
        let redirect = response.headers()["location"].to_str().unwrap().to_owned();
        core.complete_redirect(&redirect).await.unwrap();
    }
}

struct Phase {
    name: &'static str,
    cpu: Duration,
    looks: u64,
    announced: u64,
    secs: f64,
}

impl Phase {
    fn print(&self) {
        println!(
            "  {:<28} cpu {:>7.1} ms = {:>6.4} % of a core   looks {:>4} ({:.2}/min)   announced {:>3}",
            self.name,
            self.cpu.as_secs_f64() * 1000.0,
            100.0 * self.cpu.as_secs_f64() / self.secs,
            self.looks,
            self.looks as f64 * 60.0 / self.secs,
            self.announced,
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let secs: u64 = std::env::var("BENCH_IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    let sandbox = Sandbox::start(
        SandboxConfig {
            activities: 50,
            ..SandboxConfig::default()
        },
        0,
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let vars = sandbox.config_vars();
    let mut config = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
    config.data_dir = dir.path().to_owned();
    config.sync_after_connect = false;
    let events = Arc::new(Counter::default());
    let deps = Deps {
        secrets: Arc::new(MemoryStore::default()),
        clock: Arc::new(SystemClock),
        events: events.clone(),
    };
    let core = Core::open(config, deps).await.unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    connect_all(&core, &http).await;
    for outcome in core
        .sync_all(SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap()
    {
        assert!(outcome.refused.is_none(), "{outcome:?}");
    }
    let connections = core.list_connections().await.unwrap().len();
    println!("idle: {connections} connections, {secs} s per phase");
    let window = Duration::from_secs(secs);

    // Baseline: the same process, no scheduler.
    let before = cpu();
    tokio::time::sleep(window).await;
    let baseline = Phase {
        name: "baseline (no agent)",
        cpu: cpu().saturating_sub(before),
        looks: 0,
        announced: 0,
        secs: secs as f64,
    };

    let mut phases = vec![baseline];
    for paused in [false, true] {
        core.update_settings(&SettingsPatch {
            paused: Some(paused),
            ..SettingsPatch::default()
        })
        .await
        .unwrap();
        // Every connection just synced: nothing is due for an hour (the default interval).
        let agent = core
            .start_agent(AgentOptions {
                startup_run: false,
                ..AgentOptions::default()
            })
            .unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await; // its first look
        let (before, looks, announced) = (cpu(), agent.looks(), events.0.load(Ordering::SeqCst));
        tokio::time::sleep(window).await;
        phases.push(Phase {
            name: if paused {
                "agent, paused"
            } else {
                "agent, nothing due"
            },
            cpu: cpu().saturating_sub(before),
            looks: agent.looks() - looks,
            announced: events.0.load(Ordering::SeqCst) - announced,
            secs: secs as f64,
        });
        agent.shutdown().await;
    }
    for p in &phases {
        p.print();
    }
    let base = phases[0].cpu.as_secs_f64();
    for p in &phases[1..] {
        let own = (p.cpu.as_secs_f64() - base).max(0.0);
        println!(
            "  {:<28} own cost {:.4} % of a core (goal < 0.1 %), {:.2} looks/min (goal ≤ 1)",
            p.name,
            100.0 * own / p.secs,
            p.looks as f64 * 60.0 / p.secs
        );
    }
    core.shutdown().await;
    sandbox.stop().await;
}
