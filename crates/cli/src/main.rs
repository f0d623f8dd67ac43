//! `tributary`: the core, headless. Every read command takes `--json` for a stable,
//! machine-readable shape (the core's serialised types; see the README). Errors go to stderr as
//! `error[<code>]: <message>` with exit status 1.

mod output;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tributary_core::clock::SystemClock;
use tributary_core::domain::{
    ConnectionState, ProviderKind, Sport, SyncRun, SyncStatus, SyncTrigger,
};
use tributary_core::events::{CoreEvent, EventSink};
use tributary_core::library::{ActivityFilter, Order, PageRequest, SortKey};
use tributary_core::scheduler::AgentOptions;
use tributary_core::secrets::{KeyringStore, Sensitive};
use tributary_core::sync::SyncHandle;
use tributary_core::sync::SyncMode;
use tributary_core::{Config, Core, Deps, Error};

/// Tributary: your training data from every provider, on your machine.
#[derive(Parser)]
#[command(name = "tributary", version, about)]
struct Cli {
    /// Run against the built-in provider sandbox with demo credentials (its own database and
    /// keyring namespace under <data dir>/sandbox).
    #[arg(long, global = true)]
    sandbox: bool,
    /// Activities the sandbox generates when it is first created.
    #[arg(long, global = true, default_value_t = 250)]
    sandbox_activities: usize,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The six providers, their capabilities and whether credentials are configured.
    Providers,
    /// Your connections.
    Connections,
    /// Connect a provider: prints the authorize URL and waits for the redirect on loopback.
    Connect {
        /// strava, garmin, polar, coros, wahoo or google_health.
        provider: ProviderKind,
        /// Do not open the browser; just print the URL.
        #[arg(long)]
        no_browser: bool,
        /// Sign in with a personal API key read from standard input (Garmin's Personal API:
        /// create the key at connect.garmin.com → Settings → Personal API key). Never pass a key
        /// as an argument: arguments are visible to every user of the machine.
        #[arg(long)]
        personal_key_stdin: bool,
        /// When the personal key expires (YYYY-MM-DD), so Tributary can warn a week ahead.
        #[arg(long, requires = "personal_key_stdin", value_parser = parse_day)]
        key_expires: Option<chrono::NaiveDate>,
    },
    /// Store a provider's API credentials in the keyring (the secret is read from stdin).
    Credentials {
        /// Provider.
        provider: ProviderKind,
        /// Client id of your API application.
        #[arg(long)]
        client_id: String,
    },
    /// Sync one provider, or every enabled connection.
    Sync {
        /// Provider (omit with --all).
        #[arg(required_unless_present = "all")]
        provider: Option<ProviderKind>,
        /// Sync every enabled connection.
        #[arg(long, conflicts_with = "provider")]
        all: bool,
        /// Re-read the whole history instead of the recent overlap window.
        #[arg(long)]
        full: bool,
    },
    /// A connection's sync history, newest first.
    History {
        /// Provider.
        provider: ProviderKind,
        /// Rows to show.
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// Rows to skip.
        #[arg(long, default_value_t = 0)]
        offset: i64,
    },
    /// A connection and its latest sync.
    Status {
        /// Provider.
        provider: ProviderKind,
    },
    /// Switch a connection off or on.
    Toggle {
        /// Provider.
        provider: ProviderKind,
    },
    /// Revoke access at the provider, wipe its keyring entries and remove the connection.
    Disconnect {
        /// Provider.
        provider: ProviderKind,
        /// Keep the activities already imported.
        #[arg(long)]
        keep_activities: bool,
    },
    /// Run the scheduler in the foreground until stopped (SIGINT or SIGTERM): a start-up run,
    /// then every enabled connection on its interval; one line per run. The packages install it
    /// as a systemd user service, disabled: `systemctl --user enable --now tributary-agent`.
    Agent {
        /// Between two runs of a connection, e.g. `30s`, `15m`, `1h` (at least 1s); default: the
        /// saved setting (one hour unless changed in the app).
        #[arg(long, value_parser = humantime::parse_duration)]
        interval: Option<std::time::Duration>,
        /// Between two reconcile passes (full walks: late uploads, edits, deletions); default:
        /// the saved setting (a day).
        #[arg(long, value_parser = humantime::parse_duration)]
        reconcile_every: Option<std::time::Duration>,
    },
    /// Pause background sync (the desktop app's agent and `tributary agent` alike) until resumed.
    Pause,
    /// Resume background sync.
    Resume,
    /// Imported activities (every copy), newest first, with their workout.
    Activities {
        #[command(flatten)]
        filter: Filter,
    },
    /// Workouts: each session once, with its copies from every provider, its primary copy and
    /// why the copies were linked.
    Workouts {
        #[command(flatten)]
        filter: Filter,
    },
    /// Link two activities into one workout (your choice: no sync undoes it).
    Link {
        /// An activity id (its workout is kept).
        anchor: i64,
        /// The activity id that joins it.
        other: i64,
    },
    /// Take an activity out of its workout (it is never linked automatically again).
    Unlink {
        /// Activity id.
        id: i64,
    },
    /// Make an activity the copy its workout shows and counts.
    Primary {
        /// Activity id.
        id: i64,
    },
    /// Fetch recordings (original files, or Strava's streams) in the foreground, within each
    /// provider's budget (the queue the agent runs in the background); stops on Ctrl-C.
    Files {
        /// Only this provider (default: every connection).
        provider: Option<ProviderKind>,
        /// Activities to fetch at most per connection.
        #[arg(long, default_value_t = 200)]
        limit: usize,
    },
    /// One activity: its copies, its original file (format, SHA-256, size, or why there is
    /// none), its streams (name, unit, samples) and laps. Fetches the recording first if it was
    /// never fetched.
    Show {
        /// Activity id.
        id: i64,
    },
    /// Export your data: `csv` (a directory with activities.csv and workouts.csv), `json` (one
    /// document with everything, raw payloads included), `sqlite` (a consistent copy of the
    /// database) or `originals` (a directory of every original file, a GPX for copies with
    /// streams and no file, and manifest.json/.csv). Never overwrites.
    Export {
        /// csv, json, sqlite or originals.
        #[arg(long)]
        format: tributary_core::export::ExportFormat,
        /// A new file (a new directory for csv).
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Import files (FIT, GPX, TCX, optionally gzipped), folders (recursively) and archives:
    /// Strava's bulk export, Garmin's "Export all data", Polar Flow's export, Google Takeout
    /// (Fitbit), COROS's exported files, a watch's folder. Each file gets one outcome (imported,
    /// linked, duplicate, skipped, refused, with why); importing the same files again changes
    /// nothing. Stops on Ctrl-C after the file in hand; run it again to finish.
    Import {
        /// Files, folders or archives.
        #[arg(required = true)]
        paths: Vec<std::path::PathBuf>,
    },
    /// Past imports, newest first, with their counts.
    Imports,
    /// Forget an import as a whole: the copies it made are deleted (the rest of each workout
    /// stays).
    ForgetImport {
        /// Import id (see `tributary imports`).
        id: i64,
    },
    /// Figures across all connections.
    Summary,
    /// Write the man pages (tributary.1 and one per command) into DIR. Used when packaging.
    #[command(hide = true)]
    GenerateMan {
        /// The folder the pages are written to (created when missing).
        dir: std::path::PathBuf,
    },
}

/// Filters and paging for `activities` and `workouts`.
#[derive(clap::Args)]
struct Filter {
    /// Only this provider's copies (for workouts: workouts with a copy from it).
    #[arg(long)]
    provider: Option<ProviderKind>,
    /// Only this sport (run, trail_run, ride, virtual_ride, walk, hike, swim, row, ski,
    /// strength, other).
    #[arg(long)]
    sport: Option<Sport>,
    /// Started on or after (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_parser = parse_since)]
    since: Option<DateTime<Utc>>,
    /// Started on or before (YYYY-MM-DD, that whole day; or an RFC 3339 instant, exclusive).
    #[arg(long, value_parser = parse_until)]
    until: Option<DateTime<Utc>>,
    /// Words in the name or the device.
    #[arg(long)]
    text: Option<String>,
    /// Rows to show (at most 500).
    #[arg(long, default_value_t = 20)]
    limit: u32,
    /// Continue after this cursor (the `next` a previous page printed).
    #[arg(long)]
    after: Option<String>,
    /// Sort by: start, name, distance, duration (moving time) or speed. Rows without the
    /// value come last.
    #[arg(long, default_value_t = SortKey::Start)]
    sort: SortKey,
    /// Smallest first (oldest, A to Z, shortest, slowest); largest first without it.
    #[arg(long, visible_alias = "oldest-first")]
    ascending: bool,
}

impl Filter {
    fn split(self) -> (ActivityFilter, PageRequest) {
        (
            ActivityFilter {
                provider: self.provider,
                sport: self.sport,
                since: self.since,
                until: self.until,
                text: self.text,
            },
            PageRequest {
                after: self.after,
                limit: self.limit,
                sort: self.sort,
                order: if self.ascending {
                    Order::Ascending
                } else {
                    Order::Descending
                },
            },
        )
    }
}

fn parse_instant(text: &str, day_end: bool) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let day = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("'{text}' is neither YYYY-MM-DD nor an RFC 3339 time"))?;
    let day = if day_end {
        day.succ_opt().ok_or("date out of range")?
    } else {
        day
    };
    Ok(day.and_time(chrono::NaiveTime::MIN).and_utc())
}

fn parse_day(text: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("'{text}' is not a date (YYYY-MM-DD)"))
}

fn parse_since(text: &str) -> Result<DateTime<Utc>, String> {
    parse_instant(text, false)
}

fn parse_until(text: &str) -> Result<DateTime<Utc>, String> {
    parse_instant(text, true)
}

/// Core events on stderr, so stdout stays clean for `--json`: progress for interactive
/// commands; for the agent, one line per finished run and per scheduler change worth knowing.
struct Progress {
    agent: std::sync::atomic::AtomicBool,
}

impl EventSink for Progress {
    fn emit(&self, event: CoreEvent) {
        let agent = self.agent.load(std::sync::atomic::Ordering::Relaxed);
        let mut err = std::io::stderr().lock();
        match event {
            CoreEvent::SyncProgress {
                provider, counters, ..
            } if !agent => {
                let _ = writeln!(
                    err,
                    "{provider}: {} fetched so far ({} new)",
                    counters.fetched, counters.created
                );
            }
            CoreEvent::SyncFinished {
                sync_id,
                provider,
                status,
                counters: n,
                error,
            } if agent => {
                let _ = writeln!(
                    err,
                    "{} {provider} run {sync_id}: {status} — fetched {}, created {}, updated {}, \
                     skipped {}, failed {}, flagged deleted {}{}",
                    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
                    n.fetched,
                    n.created,
                    n.updated,
                    n.skipped,
                    n.failed,
                    n.deleted,
                    error.map_or_else(String::new, |e| format!(" ({e})")),
                );
            }
            CoreEvent::Attention { attention } if agent => {
                let _ = writeln!(
                    err,
                    "{} needs you: {} — {}",
                    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
                    attention.title,
                    attention.message
                );
            }
            CoreEvent::SchedulerChanged { status } if agent && !status.offline.is_empty() => {
                let offline: Vec<&str> = status.offline.iter().map(|p| p.as_str()).collect();
                let _ = writeln!(
                    err,
                    "{} offline, waiting quietly: {}",
                    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
                    offline.join(", ")
                );
            }
            _ => {}
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (systemd stopping the service).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRIBUTARY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Command::GenerateMan { dir } = &cli.command {
        // Before any database or keyring: a packaging step runs it on a build machine.
        return match write_man_pages(dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "error: {}: {e}", dir.display());
                ExitCode::FAILURE
            }
        };
    }
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error[{}]: {e}", e.code().as_str());
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, Error> {
    let (config, sandbox) = if cli.sandbox {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let (config, sandbox) = tributary_core::demo::start(env, cli.sandbox_activities).await?;
        (config, Some(sandbox))
    } else {
        (Config::from_env()?, None)
    };
    let progress = Arc::new(Progress {
        agent: std::sync::atomic::AtomicBool::new(matches!(cli.command, Command::Agent { .. })),
    });
    let deps = Deps {
        secrets: Arc::new(KeyringStore::new(config.keyring_service.clone())),
        clock: Arc::new(SystemClock),
        events: progress,
    };
    let core = Core::open(config, deps).await?;
    let result = command(&core, cli.command, cli.json).await;
    core.shutdown().await;
    if let Some(sandbox) = sandbox {
        sandbox.stop().await;
    }
    result
}

/// The man pages, from the same definitions as `--help` (the hidden packaging command left out).
fn write_man_pages(dir: &std::path::Path) -> std::io::Result<()> {
    use clap::CommandFactory;
    std::fs::create_dir_all(dir)?;
    clap_mangen::generate_to(Cli::command().disable_help_subcommand(true), dir)
}

/// Wait for a run; on SIGINT or SIGTERM cancel it (recorded `cancelled`) and report that.
async fn until_stopped(core: &Core, handle: SyncHandle) -> Result<SyncRun, Error> {
    let provider = handle.provider;
    let wait = handle.wait();
    tokio::pin!(wait);
    tokio::select! {
        run = &mut wait => run,
        () = stop_signal() => {
            let _ = writeln!(std::io::stderr(), "{provider}: cancelling…");
            core.cancel_sync(provider).await;
            wait.await
        }
    }
}

/// Save the athlete's pause (every agent, in any process, follows it at its next look).
async fn set_paused(
    core: &Core,
    paused: bool,
) -> Result<tributary_core::settings::Settings, Error> {
    let patch = tributary_core::settings::SettingsPatch {
        paused: Some(paused),
        ..Default::default()
    };
    core.update_settings(&patch).await
}

async fn command(core: &Core, command: Command, json: bool) -> Result<ExitCode, Error> {
    let out = output::Out { json };
    match command {
        Command::Providers => out.providers(&core.available_providers().await?),
        Command::Connections => {
            let connections = core.list_connections().await?;
            // A connection on an older door that still works: the command that moves it.
            let moves: Vec<Option<String>> = connections
                .iter()
                .map(|c| {
                    let registry = core.registry();
                    let on = registry.door_of(c.provider, c.door.as_deref())?;
                    let to = registry.moves_to(c.provider, c.door.as_deref())?;
                    Some(format!(
                        "on {}; `tributary connect {}` moves it to {}, keeping every activity",
                        on.name, c.provider, to.name
                    ))
                })
                .collect();
            out.connections(&connections, &moves)
        }
        Command::Connect {
            provider,
            personal_key_stdin: true,
            key_expires,
            ..
        } => {
            let mut key = String::new();
            std::io::Read::read_to_string(
                &mut std::io::Read::take(std::io::stdin(), 8192),
                &mut key,
            )
            .map_err(|source| Error::Io {
                context: "could not read the key from standard input".to_owned(),
                source,
            })?;
            let connected = core
                .connect_with_key(
                    provider,
                    &Sensitive::new(key.trim().to_owned()),
                    key_expires,
                )
                .await?;
            out.connected(&connected.connection);
            if let Some(first) = connected.first_sync {
                let _ = writeln!(std::io::stderr(), "{provider}: first sync running…");
                let run = until_stopped(core, first).await?;
                out.sync_runs(&[(provider, run)]);
            }
        }
        Command::Connect {
            provider,
            no_browser,
            ..
        } => {
            let cancel = CancellationToken::new();
            let on_ctrl_c = cancel.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    on_ctrl_c.cancel();
                }
            });
            let connected = core
                .connect_loopback(
                    provider,
                    |request| {
                        let mut err = std::io::stderr().lock();
                        let _ = writeln!(
                            err,
                            "Open this URL to connect {provider} (waiting for the redirect):"
                        );
                        // The URL alone on stdout, for scripts.
                        let mut stdout = std::io::stdout().lock();
                        let _ = writeln!(stdout, "{}", request.authorize_url);
                        let _ = stdout.flush();
                        if !no_browser && let Err(e) = opener::open_browser(&request.authorize_url)
                        {
                            let _ = writeln!(
                                err,
                                "(could not open a browser: {e}; open the URL by hand)"
                            );
                        }
                    },
                    cancel,
                )
                .await?;
            out.connected(&connected.connection);
            // The core started the first sync (its policy after a connect): see it through.
            if let Some(first) = connected.first_sync {
                let _ = writeln!(std::io::stderr(), "{provider}: first sync running…");
                let run = until_stopped(core, first).await?;
                out.sync_runs(&[(provider, run)]);
            }
            if connected.connection.state == ConnectionState::ScopeMissing {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Credentials {
            provider,
            client_id,
        } => {
            let mut secret = String::new();
            std::io::stdin().read_line(&mut secret).map_err(|e| {
                Error::Validation(format!("could not read the secret from stdin: {e}"))
            })?;
            let secret = secret.trim();
            let secret = (!secret.is_empty()).then(|| Sensitive::new(secret.to_owned()));
            core.set_client_credentials(provider, &client_id, secret.as_ref())
                .await?;
            out.message(&format!("stored {provider} API credentials in the keyring"));
        }
        Command::Sync {
            provider,
            all: _,
            full,
        } => {
            let mode = if full {
                SyncMode::Full
            } else {
                SyncMode::Incremental
            };
            let failed = |s: SyncStatus| {
                matches!(
                    s,
                    SyncStatus::Failed | SyncStatus::Interrupted | SyncStatus::Cancelled
                )
            };
            match provider {
                Some(provider) => {
                    let handle = core.start_sync(provider, SyncTrigger::Manual, mode).await?;
                    let run = until_stopped(core, handle).await?;
                    let status = run.status;
                    out.sync_runs(&[(provider, run)]);
                    if status == SyncStatus::Cancelled {
                        return Ok(ExitCode::from(130));
                    }
                    if failed(status) {
                        return Ok(ExitCode::FAILURE);
                    }
                }
                None => {
                    // Every enabled connection; one that refuses (switched off, rate-limited,
                    // busy in another process) is reported, never the end of the others.
                    let all = core.sync_all(SyncTrigger::Manual, mode);
                    tokio::pin!(all);
                    let outcomes = tokio::select! {
                        outcomes = &mut all => outcomes?,
                        () = stop_signal() => {
                            core.cancel_all_syncs().await;
                            all.await?
                        }
                    };
                    out.sync_outcomes(&outcomes);
                    let bad = outcomes.iter().any(|o| {
                        o.refused.is_some() || o.run.as_ref().is_some_and(|r| failed(r.status))
                    });
                    if bad {
                        return Ok(ExitCode::FAILURE);
                    }
                }
            }
        }
        Command::Agent {
            interval,
            reconcile_every,
        } => {
            let scheduler = core.start_agent(AgentOptions {
                startup_run: true,
                interval,
                reconcile_every,
            })?;
            let saved = core.settings().await?;
            let pacing = saved.scheduler();
            let _ = writeln!(
                std::io::stderr(),
                "tributary agent: syncing every {} (reconcile every {}){}; stop with Ctrl-C or SIGTERM",
                humantime::format_duration(interval.unwrap_or(pacing.interval)),
                humantime::format_duration(reconcile_every.unwrap_or(pacing.reconcile_every)),
                if saved.paused {
                    "; paused for now (`tributary resume` to sync)"
                } else {
                    ""
                },
            );
            stop_signal().await;
            let _ = writeln!(
                std::io::stderr(),
                "stopping: recording running syncs as cancelled"
            );
            scheduler.shutdown().await;
        }
        Command::Pause => out.settings(&set_paused(core, true).await?),
        Command::Resume => out.settings(&set_paused(core, false).await?),
        Command::History {
            provider,
            limit,
            offset,
        } => {
            out.history(&core.sync_history(provider, limit, offset).await?);
        }
        Command::Status { provider } => {
            let connection = core.get_connection_by_provider(provider).await?;
            let latest = core.sync_status(provider).await?;
            out.status(&connection, latest.as_ref());
        }
        Command::Toggle { provider } => out.connected(&core.toggle_connection(provider).await?),
        Command::Disconnect {
            provider,
            keep_activities,
        } => {
            out.disconnected(&core.disconnect(provider, keep_activities).await?);
        }
        Command::Activities { filter } => {
            let (filter, page) = filter.split();
            out.activities(&core.activities(&filter, &page).await?);
        }
        Command::Workouts { filter } => {
            let (filter, page) = filter.split();
            out.workouts(&core.workouts(&filter, &page).await?);
        }
        Command::Link { anchor, other } => {
            out.linked(&core.link_activities(anchor, other).await?.row);
        }
        Command::Unlink { id } => out.linked(&core.unlink_activity(id).await?.row),
        Command::Primary { id } => out.linked(&core.make_primary(id).await?.row),
        Command::Export { format, out: path } => out.exported(&core.export(format, &path).await?),
        Command::Summary => out.summary(&core.summary().await?),
        // Answered in `main`, before the core opens.
        Command::GenerateMan { .. } => {}
        Command::Files { provider, limit } => {
            let cancel = tokio_util::sync::CancellationToken::new();
            let run = core.download_recordings(provider, limit.max(1), &cancel);
            tokio::pin!(run);
            let reports = tokio::select! {
                reports = &mut run => reports?,
                () = stop_signal() => {
                    cancel.cancel();
                    run.await?
                }
            };
            out.files(&reports);
        }
        Command::Import { paths } => {
            let cancel = tokio_util::sync::CancellationToken::new();
            let run = core.import(paths, cancel.clone());
            tokio::pin!(run);
            let report = tokio::select! {
                report = &mut run => report?,
                () = stop_signal() => {
                    cancel.cancel();
                    run.await?
                }
            };
            out.imported(&report);
        }
        Command::Imports => out.imports(&core.imports().await?),
        Command::ForgetImport { id } => {
            let deleted = core.forget_import(id).await?;
            out.forgotten(id, deleted);
        }
        Command::Show { id } => {
            let activity = core.activity(id).await?;
            let recording = core.recording(id, Some(id)).await?;
            out.show(&activity, &recording);
        }
    }
    Ok(ExitCode::SUCCESS)
}
