//! Demo mode: the real core against the built-in provider sandbox, so a newcomer can run the app
//! with no provider accounts. Its data, its sandbox state and its keyring entries are kept apart
//! from real ones (`<data dir>/sandbox`, keyring service `tributary-sandbox`).

use crate::{Config, Error, Result};
use tributary_sandbox::{Sandbox, SandboxConfig};

/// Start the sandbox (state kept in `<data dir>/sandbox/sandbox-state.json`, `activities`
/// generated on first start) and return the configuration that points every emulated provider
/// at it with demo credentials. Real environment settings apply to everything else.
pub async fn start(
    env: impl Fn(&str) -> Option<String>,
    activities: usize,
) -> Result<(Config, Sandbox)> {
    let data_dir = Config::from_lookup(&env)?.data_dir.join("sandbox");
    // A fixed port (`TRIBUTARY_SANDBOX_PORT`) lets tests steer the sandbox. Otherwise the port
    // of the last start, while it is free: the file addresses the twins hand out (Wahoo's
    // `file.url`, COROS' `fitUrl`) are stored with the activities and must still answer after a
    // restart, as a real file host's do; any free port when it is taken.
    let fixed = env("TRIBUTARY_SANDBOX_PORT").and_then(|p| p.parse::<u16>().ok());
    let remembered = data_dir.join("sandbox-port");
    let last = std::fs::read_to_string(&remembered)
        .ok()
        .and_then(|p| p.trim().parse::<u16>().ok());
    let config = || SandboxConfig {
        activities,
        state_file: Some(data_dir.join("sandbox-state.json")),
        // A new workout every ten minutes: Polar lists only what arrives after linking.
        trickle: Some(std::time::Duration::from_secs(600)),
        ..SandboxConfig::default()
    };
    let started = match (fixed, last) {
        (Some(port), _) => Sandbox::start(config(), port).await,
        (None, Some(port)) => match Sandbox::start(config(), port).await {
            Ok(sandbox) => Ok(sandbox),
            Err(_) => Sandbox::start(config(), 0).await,
        },
        (None, None) => Sandbox::start(config(), 0).await,
    };
    let sandbox = started.map_err(|e| Error::io("could not start the provider sandbox", e))?;
    if fixed.is_none() {
        let port = sandbox
            .base_url()
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        let _ = std::fs::create_dir_all(&data_dir);
        let _ = std::fs::write(&remembered, port);
    }
    // Sample archives in every provider's export layout, for trying Import without real data;
    // written once, in the background (a few seconds), from this sandbox's workouts so that
    // they link with its providers' copies.
    let samples = data_dir.join("samples");
    if !samples.exists() {
        let workouts = sandbox.workouts();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = tributary_sandbox::archive::write_samples(&workouts, &samples, 40) {
                tracing::warn!(error = %e, "the demo's sample archives could not be written");
            }
        });
    }
    // The sandbox's addresses and demo credentials win (the demo never reaches a real provider);
    // its choices (a door) yield to the environment's.
    let (vars, defaults) = (sandbox.config_vars(), sandbox.config_defaults());
    let mut config = Config::from_lookup(|k| {
        vars.get(k)
            .cloned()
            .or_else(|| env(k))
            .or_else(|| defaults.get(k).cloned())
    })?;
    config.data_dir = data_dir;
    config.keyring_service =
        env("TRIBUTARY_KEYRING_SERVICE").unwrap_or_else(|| "tributary-sandbox".to_owned());
    Ok((config, sandbox))
}
