//! The app's command line. `--version`, `--help` and the man page are answered before any
//! window, sandbox, database or keyring is touched: a terminal, a package's checks and a
//! desktop's launcher ask them, and none of them wants the app.

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use std::path::{Path, PathBuf};

/// What the environment changes (shown by `--help` and in the man page).
const ENVIRONMENT: &str = "\
Environment:
  TRIBUTARY_MODE=real|sandbox   Open for real accounts or the sandbox demo (default: the choice
                                saved in Settings, else real when credentials or connections exist)
  TRIBUTARY_DATA_DIR=DIR        Where the database and the kept recordings live
  TRIBUTARY_LOG=FILTER          Log filter for standard error (default: info)

Files:
  ~/.local/share/tributary      The database and kept recordings (see TRIBUTARY_DATA_DIR)
  Tokens and API keys are kept in the desktop's keyring (the Secret Service), never in files.

The command line `tributary` runs the same core without a window, including as a background
agent (`systemctl --user enable --now tributary-agent`).";

/// Tributary: your training data from Strava, Garmin, Polar, COROS, Wahoo and Fitbit, on your
/// machine. The desktop app: a window over your connections, sync history and activities, and an
/// agent in the system tray that syncs in the background.
#[derive(Parser, Debug, PartialEq, Eq)]
#[command(name = "tributary-desktop", version, about, after_help = ENVIRONMENT)]
pub struct Args {
    /// Start without a window, syncing in the background (what the autostart entry passes).
    #[arg(long)]
    pub minimized: bool,
    /// Started afresh by the app itself after releasing its webview: no start-up sync.
    #[arg(long, hide = true)]
    pub resumed: bool,
    /// Write the man page into DIR and exit (used when packaging).
    #[arg(long, hide = true, value_name = "DIR")]
    pub generate_man: Option<PathBuf>,
    /// tributary:// links to handle, such as a sign-in's redirect. A Tributary already running
    /// receives them and this launch exits.
    #[arg(value_name = "LINK")]
    pub links: Vec<String>,
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Start {
    /// Run the app.
    Run(Args),
    /// Answered (help, version, the man page, or an error writing it): exit with this status.
    Exit(i32),
}

/// Read the command line. An argument the app does not know is reported and ignored rather than
/// refused: launchers and desktops add their own, and an app that will not open is worse than a
/// warning on standard error.
pub fn parse<I, T>(argv: I) -> Start
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let argv: Vec<std::ffi::OsString> = argv.into_iter().map(Into::into).collect();
    match Args::try_parse_from(&argv) {
        Ok(Args {
            generate_man: Some(dir),
            ..
        }) => Start::Exit(match write_man_page(&dir) {
            Ok(path) => {
                println!("{}", path.display());
                0
            }
            Err(e) => {
                eprintln!("error: {}: {e}", dir.display());
                1
            }
        }),
        Ok(args) => Start::Run(args),
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            Start::Exit(0)
        }
        Err(e) => {
            eprintln!(
                "tributary-desktop: ignoring the command line ({}); starting as usual",
                e.kind()
            );
            let has = |flag: &str| argv.iter().skip(1).any(|a| a == flag);
            Start::Run(Args {
                minimized: has(crate::MINIMIZED),
                resumed: has(crate::RESUMED),
                generate_man: None,
                links: argv
                    .iter()
                    .skip(1)
                    .filter_map(|a| a.to_str())
                    .filter(|a| a.starts_with("tributary:"))
                    .map(str::to_owned)
                    .collect(),
            })
        }
    }
}

/// Write `tributary-desktop.1` into `dir`, from the same definitions as `--help`.
fn write_man_page(dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("tributary-desktop.1");
    let mut page = Vec::new();
    clap_mangen::Man::new(Args::command()).render(&mut page)?;
    std::fs::write(&path, page)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(argv: &[&str]) -> Args {
        match parse(argv) {
            Start::Run(args) => args,
            Start::Exit(code) => panic!("exited with {code} for {argv:?}"),
        }
    }

    #[test]
    fn the_flags_the_app_passes_itself_are_read() {
        // The autostart entry and the in-place restart pass these constants.
        let args = run(&["tributary-desktop", crate::MINIMIZED, crate::RESUMED]);
        assert!(args.minimized && args.resumed);
        assert!(args.links.is_empty());
    }

    #[test]
    fn a_link_is_a_positional_argument() {
        let args = run(&[
            "tributary-desktop",
            "tributary://oauth/strava?code=x&state=y",
        ]);
        assert_eq!(args.links, ["tributary://oauth/strava?code=x&state=y"]);
        assert!(!args.minimized);
    }

    #[test]
    fn version_and_help_answer_without_running_the_app() {
        assert_eq!(parse(["tributary-desktop", "--version"]), Start::Exit(0));
        assert_eq!(parse(["tributary-desktop", "-V"]), Start::Exit(0));
        assert_eq!(parse(["tributary-desktop", "--help"]), Start::Exit(0));
    }

    #[test]
    fn an_unknown_flag_is_ignored_and_the_known_ones_kept() {
        let args = run(&[
            "tributary-desktop",
            "--no-such-flag",
            crate::MINIMIZED,
            "tributary://oauth/polar?code=1",
        ]);
        assert!(args.minimized);
        assert!(!args.resumed);
        assert_eq!(args.links, ["tributary://oauth/polar?code=1"]);
    }

    #[test]
    fn the_man_page_is_written_and_names_the_options() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("man1");
        let argv = [
            "tributary-desktop".into(),
            "--generate-man".into(),
            out.clone().into_os_string(),
        ];
        assert_eq!(parse(argv), Start::Exit(0));
        let page = std::fs::read_to_string(out.join("tributary-desktop.1")).expect("the page");
        assert!(page.contains(".TH tributary-desktop"), "{page}");
        assert!(page.contains("minimized"), "{page}");
        assert!(page.contains("TRIBUTARY_MODE"), "{page}");
        assert!(
            !page.contains("generate-man"),
            "the packaging flag is hidden: {page}"
        );
    }

    /// One version for the workspace, the packages and `--version` (docs/packaging.md).
    #[test]
    fn the_versions_agree() {
        let version = env!("CARGO_PKG_VERSION");
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let read = |p: &str| std::fs::read_to_string(root.join(p)).expect(p);
        let json = |p: &str| serde_json::from_str::<serde_json::Value>(&read(p)).expect(p);
        assert_eq!(
            json("ui/package.json")["version"],
            version,
            "ui/package.json"
        );
        assert!(
            json("src-tauri/tauri.conf.json").get("version").is_none(),
            "tauri.conf.json must not carry its own version (the bundler reads Cargo's)"
        );
        let newest = read("CHANGELOG.md")
            .lines()
            .find_map(|l| l.strip_prefix("## ").map(str::to_owned))
            .expect("a release heading in CHANGELOG.md");
        assert!(
            newest.starts_with(&format!("{version} ")),
            "CHANGELOG.md's newest heading {newest:?} is not {version}"
        );
        let help = Args::command().render_version();
        assert_eq!(help.trim(), format!("tributary-desktop {version}"));
    }
}
