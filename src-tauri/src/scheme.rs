//! Who opens `tributary://` links on Linux (a sign-in's redirect comes back as one).
//!
//! Installed from a package, the package's desktop entry declares the scheme, and the app writes
//! nothing: a per-user handler would override the packaged entry and outlive an uninstall. One
//! written by an earlier run from a source tree (or an older version) is removed then, and the
//! packaged entry made the default again.
//!
//! Run from a source tree, nothing declares the scheme, so the app writes a per-user handler
//! itself. Not the deep-link plugin's: its `Exec=` line quotes the path, which Debian 12's
//! `xdg-open` cannot run without a detected desktop ("Permission denied", exit 4), so sign-in
//! redirects broke on bare window managers and in scripts. Ours quotes only a path that needs it.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The scheme's MIME type.
const MIME: &str = "x-scheme-handler/tributary";
/// The per-user handler's file name (the plugin's name, so a run replaces what it wrote).
pub const HANDLER: &str = "tributary-desktop-handler.desktop";

/// How `tributary://` came to be handled at this start.
#[derive(Debug, PartialEq, Eq)]
pub enum Registration {
    /// An installed desktop entry (this file name) declares the scheme and runs this binary.
    Packaged {
        /// The entry's file name, e.g. `Tributary.desktop`.
        entry: String,
        /// Whether a stale per-user handler was removed.
        removed_stale: bool,
    },
    /// The per-user handler was written (or was already right).
    PerUser(PathBuf),
}

/// Where this process looks for desktop entries.
#[derive(Debug, Clone)]
pub struct Dirs {
    /// `$XDG_DATA_HOME/applications`: the athlete's own entries.
    pub user: PathBuf,
    /// `$XDG_DATA_DIRS/*/applications`: the system's (packages').
    pub system: Vec<PathBuf>,
    /// `$XDG_CONFIG_HOME`, where `xdg-mime` keeps the default (`mimeapps.list`).
    pub config_home: Option<PathBuf>,
}

impl Dirs {
    /// From the environment, with the XDG defaults.
    pub fn from_env() -> Option<Self> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let data_home = std::env::var_os("XDG_DATA_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| home.map(|h| h.join(".local/share")))?;
        let data_dirs = std::env::var("XDG_DATA_DIRS")
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "/usr/local/share:/usr/share".to_owned());
        Some(Self {
            user: data_home.join("applications"),
            system: data_dirs
                .split(':')
                .filter(|d| !d.is_empty())
                .map(|d| Path::new(d).join("applications"))
                .collect(),
            config_home: std::env::var_os("XDG_CONFIG_HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        })
    }
}

/// Register (or leave registered) this binary as the handler of `tributary://`.
pub fn register(dirs: &Dirs, exe: &Path) -> std::io::Result<Registration> {
    let path_var = std::env::var_os("PATH");
    if let Some(entry) = packaged_entry(&dirs.system, exe, path_var.as_deref()) {
        let stale = dirs.user.join(HANDLER);
        let removed_stale = stale.exists();
        if removed_stale {
            std::fs::remove_file(&stale)?;
            refresh(dirs, &entry);
        }
        return Ok(Registration::Packaged {
            entry,
            removed_stale,
        });
    }
    std::fs::create_dir_all(&dirs.user)?;
    let file = dirs.user.join(HANDLER);
    let wanted = handler_entry(exe);
    if std::fs::read_to_string(&file).ok().as_deref() != Some(wanted.as_str()) {
        std::fs::write(&file, wanted)?;
    }
    refresh(dirs, HANDLER);
    Ok(Registration::PerUser(file))
}

/// Make `entry` the default for the scheme and refresh the folder's cache. Failures are logged:
/// a machine without xdg-utils still receives links from a second launch of the app.
fn refresh(dirs: &Dirs, entry: &str) {
    let run = |program: &str, args: &[&OsStr]| {
        let mut command = Command::new(program);
        command.args(args);
        if let Some(data_home) = dirs.user.parent() {
            command.env("XDG_DATA_HOME", data_home);
        }
        if let Some(config_home) = &dirs.config_home {
            command.env("XDG_CONFIG_HOME", config_home);
        }
        command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        command.status()
    };
    let report = |program: &str, outcome: std::io::Result<std::process::ExitStatus>| match outcome {
        Ok(status) if status.success() => {}
        Ok(status) => tracing::warn!(program, %status, "registering tributary:// failed"),
        Err(e) => tracing::warn!(program, error = %e, "registering tributary:// failed"),
    };
    report(
        "update-desktop-database",
        run("update-desktop-database", &[dirs.user.as_os_str()]),
    );
    report(
        "xdg-mime",
        run(
            "xdg-mime",
            &[OsStr::new("default"), OsStr::new(entry), OsStr::new(MIME)],
        ),
    );
}

/// The file name of an installed entry that declares the scheme and runs `exe`, if any.
pub fn packaged_entry(system: &[PathBuf], exe: &Path, path_var: Option<&OsStr>) -> Option<String> {
    let exe = std::fs::canonicalize(exe).ok()?;
    for dir in system {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut names: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension() == Some(OsStr::new("desktop")))
            .collect();
        names.sort();
        for file in names {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let Some(program) = declares_scheme(&text) else {
                continue;
            };
            let runs_us = resolve(&program, path_var)
                .and_then(|p| std::fs::canonicalize(p).ok())
                .is_some_and(|p| p == exe);
            if runs_us {
                return file.file_name().map(|n| n.to_string_lossy().into_owned());
            }
        }
    }
    None
}

/// The program an entry's `Exec=` runs, when the entry declares the scheme.
fn declares_scheme(text: &str) -> Option<String> {
    let mut in_entry = false;
    let (mut declares, mut program) = (false, None);
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_entry = line == "[Desktop Entry]";
            continue;
        }
        if !in_entry {
            continue;
        }
        if let Some(types) = line.strip_prefix("MimeType=") {
            declares = types.split(';').any(|t| t.trim() == MIME);
        } else if let Some(exec) = line.strip_prefix("Exec=") {
            program = first_word(exec);
        }
    }
    program.filter(|_| declares)
}

/// The first word of an `Exec=` value, unquoted (the desktop entry spec's double quotes).
fn first_word(exec: &str) -> Option<String> {
    let exec = exec.trim_start();
    if let Some(rest) = exec.strip_prefix('"') {
        let mut word = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => word.push(chars.next()?),
                '"' => return Some(word),
                c => word.push(c),
            }
        }
        None
    } else {
        exec.split_whitespace().next().map(str::to_owned)
    }
}

/// A program name as the desktop would run it: a path as it is, a bare name through `PATH`.
fn resolve(program: &str, path_var: Option<&OsStr>) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    std::env::split_paths(path_var?)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The per-user handler: hidden from menus, running `exe` with the link.
pub fn handler_entry(exe: &Path) -> String {
    format!(
        "[Desktop Entry]\nType=Application\nName=Tributary\nComment=Opens tributary:// sign-in \
         links in Tributary\nExec={} %u\nTerminal=false\nNoDisplay=true\nMimeType={MIME};\n",
        exec_word(&exe.to_string_lossy())
    )
}

/// A path as an `Exec=` word. Quoted only when it must be: xdg-open without a desktop (Debian
/// 12's xdg-utils) runs the word as written, quotes included.
fn exec_word(path: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+,@".contains(c);
    if path.chars().all(plain) {
        return path.to_owned();
    }
    let mut quoted = String::from("\"");
    for c in path.chars() {
        if matches!(c, '"' | '`' | '$' | '\\') {
            quoted.push('\\');
        }
        // `%` is a field code in Exec=; a literal one is written twice.
        if c == '%' {
            quoted.push('%');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn executable(path: &Path) {
        std::fs::write(path, "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    #[test]
    fn a_plain_path_is_not_quoted_and_an_odd_one_is() {
        assert_eq!(
            exec_word("/usr/bin/tributary-desktop"),
            "/usr/bin/tributary-desktop"
        );
        assert_eq!(exec_word("/home/a b/t"), "\"/home/a b/t\"");
        assert_eq!(exec_word("/x/$y\"%"), "\"/x/\\$y\\\"%%\"");
        let entry = handler_entry(Path::new("/opt/t/tributary-desktop"));
        assert!(
            entry.contains("\nExec=/opt/t/tributary-desktop %u\n"),
            "{entry}"
        );
        assert!(
            entry.contains("MimeType=x-scheme-handler/tributary;"),
            "{entry}"
        );
    }

    #[test]
    fn the_exec_word_is_read_back_quoted_or_not() {
        assert_eq!(
            first_word("tributary-desktop %u").as_deref(),
            Some("tributary-desktop")
        );
        assert_eq!(first_word("\"/a b/t\" %u").as_deref(), Some("/a b/t"));
        assert_eq!(first_word("\"/a\\$b\" %u").as_deref(), Some("/a$b"));
        assert_eq!(first_word("\"unterminated"), None);
        assert_eq!(first_word(""), None);
    }

    #[test]
    fn an_installed_entry_for_this_binary_is_found_and_others_are_not() {
        let root = tempfile::tempdir().expect("temp dir");
        let bin = root.path().join("bin");
        let apps = root.path().join("share/applications");
        std::fs::create_dir_all(&bin).expect("mkdir");
        std::fs::create_dir_all(&apps).expect("mkdir");
        let exe = bin.join("tributary-desktop");
        executable(&exe);
        let other = bin.join("other");
        executable(&other);
        let path_var = std::env::join_paths([&bin]).expect("PATH");
        let system = vec![apps.clone()];

        // Nothing installed.
        assert_eq!(packaged_entry(&system, &exe, Some(&path_var)), None);
        // An entry for another program, or one that does not declare the scheme, does not count.
        std::fs::write(
            apps.join("Other.desktop"),
            "[Desktop Entry]\nExec=other %u\nMimeType=x-scheme-handler/tributary;\n",
        )
        .expect("write");
        std::fs::write(
            apps.join("NoScheme.desktop"),
            "[Desktop Entry]\nExec=tributary-desktop\nMimeType=text/plain;\n",
        )
        .expect("write");
        assert_eq!(packaged_entry(&system, &exe, Some(&path_var)), None);
        // The packaged entry (a bare name, found through PATH).
        std::fs::write(
            apps.join("Tributary.desktop"),
            "[Desktop Entry]\nName=Tributary\nExec=tributary-desktop %u\n\
             MimeType=x-scheme-handler/tributary;\n[Desktop Action x]\nExec=other\n",
        )
        .expect("write");
        assert_eq!(
            packaged_entry(&system, &exe, Some(&path_var)).as_deref(),
            Some("Tributary.desktop")
        );
        // Without PATH a bare name resolves to nothing: not ours.
        assert_eq!(packaged_entry(&system, &exe, None), None);
    }

    #[test]
    fn installed_the_app_writes_nothing_and_removes_a_stale_handler() {
        let root = tempfile::tempdir().expect("temp dir");
        let exe = root.path().join("tributary-desktop");
        executable(&exe);
        let system = root.path().join("system/applications");
        std::fs::create_dir_all(&system).expect("mkdir");
        std::fs::write(
            system.join("Tributary.desktop"),
            format!(
                "[Desktop Entry]\nExec={} %u\nMimeType=x-scheme-handler/tributary;\n",
                exe.display()
            ),
        )
        .expect("write");
        let dirs = Dirs {
            user: root.path().join("user/applications"),
            system: vec![system],
            config_home: Some(root.path().join("config")),
        };
        // Nothing in the athlete's folder: nothing written there.
        let first = register(&dirs, &exe).expect("register");
        assert_eq!(
            first,
            Registration::Packaged {
                entry: "Tributary.desktop".to_owned(),
                removed_stale: false
            }
        );
        assert!(!dirs.user.join(HANDLER).exists());
        // A handler an earlier run from source wrote (the plugin's quoted line) goes.
        std::fs::create_dir_all(&dirs.user).expect("mkdir");
        std::fs::write(dirs.user.join(HANDLER), "[Desktop Entry]\nExec=\"/x\" %u\n").expect("w");
        let second = register(&dirs, &exe).expect("register");
        assert!(matches!(
            second,
            Registration::Packaged {
                removed_stale: true,
                ..
            }
        ));
        assert!(!dirs.user.join(HANDLER).exists());
    }

    #[test]
    fn from_source_the_handler_is_written_once() {
        let root = tempfile::tempdir().expect("temp dir");
        let exe = root.path().join("tributary-desktop");
        executable(&exe);
        let dirs = Dirs {
            user: root.path().join("user/applications"),
            system: vec![root.path().join("none")],
            config_home: Some(root.path().join("config")),
        };
        let Registration::PerUser(file) = register(&dirs, &exe).expect("register") else {
            panic!("not per user");
        };
        let text = std::fs::read_to_string(&file).expect("read");
        assert_eq!(text, handler_entry(&exe));
        assert!(!text.contains('"'), "a plain path is not quoted: {text}");
    }

    /// The real `xdg-open`, with no desktop detected (its generic mode, where the plugin's quoted
    /// line failed), hands a link to the handler this module wrote.
    #[test]
    fn xdg_open_without_a_desktop_reaches_the_handler() {
        let root = tempfile::tempdir().expect("temp dir");
        let received = root.path().join("received");
        // A stand-in for the app: records its arguments.
        let exe = root.path().join("tributary-desktop");
        std::fs::write(
            &exe,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$@\" >> '{}'\n",
                received.display()
            ),
        )
        .expect("write");
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let dirs = Dirs {
            user: root.path().join("data/applications"),
            system: vec![root.path().join("none")],
            config_home: Some(root.path().join("config")),
        };
        register(&dirs, &exe).expect("register");
        let link = "tributary://oauth/strava?state=s&code=c";
        let status = Command::new("xdg-open")
            .arg(link)
            .env("XDG_DATA_HOME", root.path().join("data"))
            .env("XDG_CONFIG_HOME", root.path().join("config"))
            .env("XDG_DATA_DIRS", root.path().join("none"))
            // Generic mode: no desktop detected, no $BROWSER (which would take every link), a
            // display (without one xdg-open hands links only to text browsers).
            .env("DISPLAY", ":0")
            .env_remove("BROWSER")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("XDG_CURRENT_DESKTOP")
            .env_remove("DESKTOP_SESSION")
            .env_remove("KDE_FULL_SESSION")
            .env_remove("GNOME_DESKTOP_SESSION_ID")
            .status()
            .expect("xdg-open runs (xdg-utils is installed by scripts/setup-debian.sh)");
        assert!(status.success(), "xdg-open: {status}");
        // xdg-open may return before the handler has written.
        let mut got = String::new();
        for _ in 0..50 {
            got = std::fs::read_to_string(&received).unwrap_or_default();
            if !got.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert_eq!(got.trim(), link);
    }
}
