//! `tributary-sandbox --port P`: run the provider emulator standalone.

use clap::Parser;
use std::path::PathBuf;
use tributary_sandbox::{Sandbox, SandboxConfig};

/// Emulates the fitness providers' OAuth and APIs on loopback.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Activities to generate.
    #[arg(long, default_value_t = 250)]
    activities: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Years the activities span.
    #[arg(long, default_value_t = 3)]
    years: u32,
    /// Keep state (tokens, data set) in this file across restarts.
    #[arg(long)]
    state: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let config = SandboxConfig {
        activities: args.activities,
        seed: args.seed,
        years: args.years,
        state_file: args.state,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config, args.port).await?;
    // The one line scripts read to find the sandbox.
    #[allow(clippy::print_stdout)]
    {
        println!("{}", sandbox.base_url());
    }
    tokio::signal::ctrl_c().await?;
    sandbox.stop().await;
    Ok(())
}
