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
    /// Write sample archives of the generated workouts (the latest `--samples-count`) in every
    /// provider's export layout into this folder, and exit (they link with a sandbox started
    /// today with the same `--activities`, `--seed` and `--years`).
    #[arg(long, value_name = "DIR")]
    write_samples: Option<PathBuf>,
    /// How many workouts the sample archives hold.
    #[arg(long, default_value_t = 40)]
    samples_count: usize,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if let Some(dir) = &args.write_samples {
        let workouts = tributary_sandbox::generate::workouts(
            args.activities,
            args.seed,
            args.years,
            tributary_sandbox::generate::anchor_for(chrono::Utc::now()),
        );
        let paths = tributary_sandbox::archive::write_samples(&workouts, dir, args.samples_count)?;
        #[allow(clippy::print_stdout)]
        for p in paths {
            println!("{}", p.display());
        }
        return Ok(());
    }
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
