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
    // A fixed port (`TRIBUTARY_SANDBOX_PORT`) lets tests steer the sandbox; any free one otherwise.
    let port = env("TRIBUTARY_SANDBOX_PORT")
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let sandbox = Sandbox::start(
        SandboxConfig {
            activities,
            state_file: Some(data_dir.join("sandbox-state.json")),
            // A new workout every ten minutes: Polar lists only what arrives after linking.
            trickle: Some(std::time::Duration::from_secs(600)),
            ..SandboxConfig::default()
        },
        port,
    )
    .await
    .map_err(|e| Error::io("could not start the provider sandbox", e))?;
    let vars = sandbox.config_vars();
    let mut config = Config::from_lookup(|k| vars.get(k).cloned().or_else(|| env(k)))?;
    config.data_dir = data_dir;
    config.keyring_service =
        env("TRIBUTARY_KEYRING_SERVICE").unwrap_or_else(|| "tributary-sandbox".to_owned());
    Ok((config, sandbox))
}
