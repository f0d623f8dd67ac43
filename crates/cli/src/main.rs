//! `tributary`: the core, headless. Every read command takes `--json` for a stable,
//! machine-readable shape (the core's serialised types; see the README). Errors go to stderr as
//! `error[<code>]: <message>` with exit status 1.

mod output;

use clap::{Parser, Subcommand};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tributary_core::clock::SystemClock;
use tributary_core::domain::{ConnectionState, ProviderKind, SyncStatus, SyncTrigger};
use tributary_core::events::{CoreEvent, EventSink};
use tributary_core::secrets::{KeyringStore, Sensitive};
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
    /// Imported activities, newest first.
    Activities {
        /// Rows to show.
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// Rows to skip.
        #[arg(long, default_value_t = 0)]
        offset: i64,
        /// Only this provider's.
        #[arg(long)]
        provider: Option<ProviderKind>,
    },
    /// Figures across all connections.
    Summary,
}

/// Sync progress on stderr, so stdout stays clean for `--json`.
struct Progress;

impl EventSink for Progress {
    fn emit(&self, event: CoreEvent) {
        if let CoreEvent::SyncProgress {
            provider, counters, ..
        } = event
        {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(
                err,
                "{provider}: {} fetched so far ({} new)",
                counters.fetched, counters.created
            );
        }
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
    let deps = Deps {
        secrets: Arc::new(KeyringStore::new(config.keyring_service.clone())),
        clock: Arc::new(SystemClock),
        events: Arc::new(Progress),
    };
    let core = Core::open(config, deps).await?;
    let result = command(&core, cli.command, cli.json).await;
    core.shutdown().await;
    if let Some(sandbox) = sandbox {
        sandbox.stop().await;
    }
    result
}

async fn command(core: &Core, command: Command, json: bool) -> Result<ExitCode, Error> {
    let out = output::Out { json };
    match command {
        Command::Providers => out.providers(&core.available_providers().await?),
        Command::Connections => out.connections(&core.list_connections().await?),
        Command::Connect {
            provider,
            no_browser,
        } => {
            let cancel = CancellationToken::new();
            let on_ctrl_c = cancel.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    on_ctrl_c.cancel();
                }
            });
            let connection = core
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
            out.connected(&connection);
            if connection.state == ConnectionState::ScopeMissing {
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
            all,
            full,
        } => {
            let targets: Vec<ProviderKind> = match (provider, all) {
                (Some(p), _) => vec![p],
                (None, _) => core
                    .list_connections()
                    .await?
                    .into_iter()
                    .filter(|c| c.enabled)
                    .map(|c| c.provider)
                    .collect(),
            };
            let mut runs = Vec::new();
            let mut failed = false;
            for target in targets {
                let mode = if full {
                    SyncMode::Full
                } else {
                    SyncMode::Incremental
                };
                let run = core.sync(target, SyncTrigger::Manual, mode).await?;
                failed |= matches!(run.status, SyncStatus::Failed | SyncStatus::Interrupted);
                runs.push((target, run));
            }
            out.sync_runs(&runs);
            if failed {
                return Ok(ExitCode::FAILURE);
            }
        }
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
        Command::Activities {
            limit,
            offset,
            provider,
        } => {
            out.activities(&core.list_activities(provider, limit, offset).await?);
        }
        Command::Summary => out.summary(&core.summary().await?),
    }
    Ok(ExitCode::SUCCESS)
}
