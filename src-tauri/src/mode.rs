//! The athlete's explicit choice between real accounts and the sandbox demo, kept beside the
//! database (`<data dir>/mode`: `real` or `sandbox`). `TRIBUTARY_MODE` overrides it.

use std::path::Path;

/// The saved choice, if any.
pub fn read(data_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(data_dir.join("mode")).ok()?;
    let mode = text.trim();
    matches!(mode, "real" | "sandbox").then(|| mode.to_owned())
}

/// Save the choice (the app restarts into it).
pub fn write(data_dir: &Path, mode: &str) -> std::io::Result<()> {
    if !matches!(mode, "real" | "sandbox") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("unknown mode '{mode}' (real or sandbox)"),
        ));
    }
    std::fs::create_dir_all(data_dir)?;
    std::fs::write(data_dir.join("mode"), mode)
}
