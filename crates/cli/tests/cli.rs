//! The `tributary` binary end to end on the sandbox: the acceptance flow of the walking skeleton
//! (connect → approve → sync → history), across separate processes like a person would run them.

// Test helpers panic by design: a failed set-up step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_tributary");

fn tributary(data: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    // A keyring service of this test's own (named after its temporary directory): tests never
    // share, or clean up, each other's entries, nor the athlete's.
    let service = format!(
        "tributary-test-{}",
        data.file_name().unwrap_or_default().to_string_lossy()
    );
    cmd.args(["--sandbox"])
        .args(args)
        .env("TRIBUTARY_DATA_DIR", data)
        .env("TRIBUTARY_KEYRING_SERVICE", service)
        .env_remove("TRIBUTARY_LOG");
    cmd
}

fn run(data: &std::path::Path, args: &[&str]) -> Output {
    tributary(data, args).output().unwrap()
}

fn json(data: &std::path::Path, args: &[&str]) -> Value {
    let out = run(data, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Play the athlete: follow the authorize page's link, deliver the redirect to the loopback.
fn approve(authorize_url: &str) -> String {
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client.get(authorize_url).send().unwrap().text().unwrap();
    let marker = "id=\"approve\" href=\"";
    let href = page[page.find(marker).unwrap() + marker.len()..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    // The link is relative to the consent page, as a browser resolves it (each twin's authorize
    // page has its own path: `/oauth/authorize`, `/oauth2/authorization`, …).
    let link = url::Url::parse(authorize_url).unwrap().join(&href).unwrap();
    let redirect = client.get(link).send().unwrap();
    let location = redirect.headers()["location"].to_str().unwrap().to_owned();
    client.get(location).send().unwrap().text().unwrap()
}

#[test]
#[ignore = "uses the real keyring; .ci/run runs it inside dbus-run-session with gnome-keyring"]
fn connect_sync_history_across_invocations() {
    let data = tempfile::tempdir().unwrap();
    let mut connect = tributary(data.path(), &["connect", "strava", "--no-browser"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    let mut stdout = BufReader::new(connect.stdout.take().unwrap());
    stdout.read_line(&mut url).unwrap();
    assert!(
        url.contains("/strava/oauth/authorize?"),
        "the authorize URL on stdout: {url}"
    );
    let page = approve(url.trim());
    assert!(page.contains("connected to strava"), "{page}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(connect.wait().unwrap().success());
    assert!(rest.contains("strava: active"), "{rest}");
    // The core's policy after a connect: the first sync, seen through by the CLI.
    assert!(
        rest.contains("strava: success — fetched 250, created 250"),
        "the first sync imports the sandbox's 250 activities: {rest}"
    );

    // A new process, a new sandbox port: tokens and data persisted.
    let history = json(data.path(), &["history", "strava", "--json"]);
    assert_eq!(history.as_array().unwrap().len(), 1);
    assert_eq!(history[0]["trigger"], "after_connect");
    assert_eq!(history[0]["counters"]["created"], 250);

    let again = json(data.path(), &["sync", "strava", "--json"]);
    assert_eq!(again[0]["counters"]["created"], 0);
    assert_eq!(
        again[0]["counters"]["skipped"],
        again[0]["counters"]["fetched"]
    );
    let full = json(data.path(), &["sync", "strava", "--full", "--json"]);
    assert_eq!(
        (
            full[0]["counters"]["created"].clone(),
            full[0]["counters"]["skipped"].clone()
        ),
        (0.into(), 250.into())
    );

    let status = json(data.path(), &["status", "strava", "--json"]);
    assert_eq!(status["connection"]["state"], "active");
    assert_eq!(
        json(data.path(), &["activities", "--limit", "5", "--json"])["items"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    // Sorted by distance, farthest first, over two pages: the cursor continues the sort.
    let first = json(
        data.path(),
        &["activities", "--sort", "distance", "--limit", "3", "--json"],
    );
    let next = first["next"].as_str().unwrap().to_owned();
    let second = json(
        data.path(),
        &[
            "activities",
            "--sort",
            "distance",
            "--limit",
            "3",
            "--after",
            &next,
            "--json",
        ],
    );
    let metres: Vec<f64> = [&first, &second]
        .iter()
        .flat_map(|page| page["items"].as_array().unwrap().clone())
        .map(|a| a["distance_m"].as_f64().unwrap_or(-1.0))
        .collect();
    assert_eq!(metres.len(), 6);
    assert!(metres.windows(2).all(|w| w[0] >= w[1]), "{metres:?}");
    // `--ascending` turns it round; a cursor of another sort is refused with a clear error.
    let shortest = json(
        data.path(),
        &[
            "activities",
            "--sort",
            "distance",
            "--ascending",
            "--limit",
            "1",
            "--json",
        ],
    );
    assert!(shortest["items"][0]["distance_m"].as_f64() <= Some(metres[5]));
    let refused = run(
        data.path(),
        &["activities", "--sort", "name", "--after", &next, "--json"],
    );
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("sorted by name"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(
        json(data.path(), &["summary", "--json"])["total_activities"],
        250
    );
    assert_eq!(
        json(data.path(), &["toggle", "strava", "--json"])["enabled"],
        false
    );
    let refused = run(data.path(), &["sync", "strava"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).starts_with("error[validation]"));
    assert_eq!(
        json(data.path(), &["toggle", "strava", "--json"])["enabled"],
        true
    );
    let gone = json(data.path(), &["disconnect", "strava", "--json"]);
    assert_eq!(gone["revoked_at_provider"], true);
    assert_eq!(
        json(data.path(), &["connections", "--json"]),
        Value::Array(vec![])
    );
}

#[test]
fn without_a_keyring_connect_fails_fast_with_advice_and_writes_nothing() {
    let data = tempfile::tempdir().unwrap();
    let mut child = tributary(data.path(), &["connect", "strava", "--no-browser"])
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "connect must not wait for a browser"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!status.success());
    assert!(
        stderr.contains("error[secret_store]") && stderr.contains("gnome-keyring"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "no authorize URL was handed out");
    let connections = tributary(data.path(), &["connections", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&connections.stdout).unwrap(),
        Value::Array(vec![])
    );
}

/// The packages' man pages come from here: one per command, from the same definitions as
/// `--help`, and no page (nor a mention) for the hidden packaging command itself.
#[test]
fn the_man_pages_are_written_from_the_commands() {
    let data = tempfile::tempdir().expect("temp dir");
    let dir = data.path().join("man1");
    let out = run(data.path(), &["generate-man", dir.to_str().expect("utf-8")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    assert!(
        page("tributary.1").starts_with(".ie"),
        "{}",
        page("tributary.1")
    );
    assert!(page("tributary.1").contains(".TH tributary 1"));
    for command in ["sync", "agent", "import", "connect"] {
        assert!(
            page(&format!("tributary-{command}.1")).contains(".TH"),
            "{command}"
        );
    }
    assert!(!dir.join("tributary-generate-man.1").exists());
    assert!(!page("tributary.1").contains("generate-man"));
    let written: Vec<_> = std::fs::read_dir(data.path())
        .expect("read")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        written,
        ["man1"],
        "no database or sandbox is opened to write man pages"
    );
    let version = run(data.path(), &["--version"]);
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("tributary {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_input_is_refused_with_a_code_and_a_non_zero_exit() {
    let data = tempfile::tempdir().unwrap();
    let unknown = run(data.path(), &["sync", "myspace"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown provider 'myspace'"));
    let not_connected = run(data.path(), &["history", "strava"]);
    assert_eq!(not_connected.status.code(), Some(1), "non-zero exit");
    assert!(String::from_utf8_lossy(&not_connected.stderr).starts_with("error[not_found]"));
    let providers = json(data.path(), &["providers", "--json"]);
    assert_eq!(providers.as_array().unwrap().len(), 6);
    assert_eq!(providers[0]["provider"], "strava");
}

/// Connect Strava on a sandbox of `activities` (the first sync runs as part of connecting).
fn connect_strava(data: &std::path::Path, activities: usize) {
    connect_to(data, "strava", activities);
}

/// Connect `provider` (the first sync runs as part of connecting).
fn connect_to(data: &std::path::Path, provider: &str, activities: usize) {
    let count = activities.to_string();
    let mut connect = tributary(
        data,
        &[
            "--sandbox-activities",
            &count,
            "connect",
            provider,
            "--no-browser",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut stdout = BufReader::new(connect.stdout.take().unwrap());
    let mut url = String::new();
    stdout.read_line(&mut url).unwrap();
    approve(url.trim());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(connect.wait().unwrap().success(), "{rest}");
}

/// Start `sync strava --full` and return it once it has committed its first page (retrying while
/// another process holds the connection).
fn full_sync_under_way(data: &std::path::Path) -> std::process::Child {
    for _ in 0..50 {
        let mut child = tributary(data, &["sync", "strava", "--full"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        while stderr.read_line(&mut line).unwrap() > 0 {
            if line.contains("fetched so far") {
                // Keep draining so the child never blocks on a full pipe.
                std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
                return child;
            }
            if line.contains("already_running") {
                break;
            }
            line.clear();
        }
        let _ = child.wait();
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("the full sync never got under way");
}

fn signal(child: &std::process::Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_with_timeout(child: &mut std::process::Child, secs: u64) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the process did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
#[ignore = "uses the real keyring; .ci/run runs it inside dbus-run-session with gnome-keyring"]
fn ctrl_c_cancels_a_cli_sync_and_records_cancelled() {
    let data = tempfile::tempdir().unwrap();
    connect_strava(data.path(), 6000);
    let mut sync = full_sync_under_way(data.path());
    signal(&sync, "INT");
    let status = wait_with_timeout(&mut sync, 60);
    assert_eq!(
        status.code(),
        Some(130),
        "interrupted, said so in the exit status"
    );
    let history = json(data.path(), &["history", "strava", "--json"]);
    assert_eq!(history[0]["status"], "cancelled", "{history}");
    assert!(history[0]["completed_at"].is_string());
    let created = history[0]["counters"]["created"].as_i64().unwrap();
    assert_eq!(
        created, 0,
        "a full walk over stored activities creates nothing"
    );
    let counters = &history[0]["counters"];
    let fetched = counters["fetched"].as_i64().unwrap();
    assert!(
        fetched > 0 && fetched < 6000 && counters["skipped"] == fetched,
        "whole pages only, at least one, not all: {counters}"
    );
}

#[test]
#[ignore = "uses the real keyring; .ci/run runs it inside dbus-run-session with gnome-keyring"]
fn the_agent_honours_a_saved_pause_and_follows_a_resume() {
    // Issue 14: `tributary agent` ignored the pause the athlete saved (only the tray applied it).
    let data = tempfile::tempdir().unwrap();
    connect_strava(data.path(), 30);
    let runs = |data: &std::path::Path| {
        json(data, &["history", "strava", "--json"])
            .as_array()
            .unwrap()
            .len()
    };
    let first = runs(data.path());
    assert!(run(data.path(), &["pause"]).status.success());
    let mut agent = tributary(data.path(), &["agent", "--interval", "1s"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(agent.stderr.take().unwrap());
    let mut said = String::new();
    stderr.read_line(&mut said).unwrap();
    assert!(
        said.contains("paused"),
        "the agent says it is paused: {said}"
    );
    // Keep reading what it says, so that its writes never meet a closed pipe.
    std::thread::spawn(move || {
        let mut line = String::new();
        while stderr.read_line(&mut line).unwrap_or(0) > 0 {
            line.clear();
        }
    });
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(runs(data.path()), first, "paused: no run in four intervals");
    // Resumed from another process: the agent follows at its next look (within a minute).
    assert!(run(data.path(), &["resume"]).status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while runs(data.path()) == first {
        assert!(std::time::Instant::now() < deadline, "a run after resuming");
        std::thread::sleep(Duration::from_millis(200));
    }
    signal(&agent, "TERM");
    assert!(wait_with_timeout(&mut agent, 60).success());
}

#[test]
#[ignore = "uses the real keyring; .ci/run runs it inside dbus-run-session with gnome-keyring"]
fn the_agent_recovers_a_killed_cli_sync_without_a_restart() {
    let data = tempfile::tempdir().unwrap();
    connect_strava(data.path(), 6000);
    let mut agent = tributary(data.path(), &["agent", "--interval", "2s"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let mut agent_err = BufReader::new(agent.stderr.take().unwrap());
    let sink = log.clone();
    std::thread::spawn(move || {
        let mut line = String::new();
        while agent_err.read_line(&mut line).unwrap_or(0) > 0 {
            sink.lock().unwrap().push_str(&line);
            line.clear();
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !log.lock().unwrap().contains("strava run") {
        assert!(
            std::time::Instant::now() < deadline,
            "the agent's start-up run"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let mut sync = full_sync_under_way(data.path());
    sync.kill().unwrap(); // SIGKILL: no chance to record anything
    sync.wait().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let history = json(data.path(), &["history", "strava", "--json"]);
        let statuses: Vec<&str> = history
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["status"].as_str())
            .collect();
        if statuses.contains(&"interrupted") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the running agent marks the killed run interrupted: {statuses:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    signal(&agent, "TERM");
    let status = wait_with_timeout(&mut agent, 60);
    assert!(
        status.success(),
        "SIGTERM stops the agent cleanly: {status}"
    );
    assert!(log.lock().unwrap().contains("stopping"));
    let history = json(data.path(), &["history", "strava", "--json"]);
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] != "running"),
        "no run is left running: {history}"
    );
}

#[test]
#[ignore = "uses the real keyring; .ci/run runs it inside dbus-run-session with gnome-keyring"]
fn workouts_links_and_exports_across_invocations() {
    let data = tempfile::tempdir().unwrap();
    connect_to(data.path(), "strava", 30);
    connect_to(data.path(), "wahoo", 30);
    let all = |args: &[&str]| -> Vec<Value> {
        let mut args = args.to_vec();
        args.extend(["--limit", "500", "--json"]);
        let page = json(data.path(), &args);
        assert!(page["next"].is_null(), "one page");
        page["items"].as_array().unwrap().clone()
    };
    // Each of the 30 sessions once, with both copies named by provider and provider id.
    let workouts = all(&["workouts"]);
    assert_eq!(workouts.len(), 30);
    for w in &workouts {
        let copies = w["copies"].as_array().unwrap();
        let providers: Vec<&str> = copies
            .iter()
            .map(|c| c["provider"].as_str().unwrap())
            .collect();
        assert_eq!(copies.len(), 2, "{w}");
        assert!(
            providers.contains(&"strava") && providers.contains(&"wahoo"),
            "{w}"
        );
        assert!(copies.iter().all(|c| c["provider_activity_id"].is_string()));
        assert_eq!(copies.iter().filter(|c| c["primary"] == true).count(), 1);
        assert!(
            copies
                .iter()
                .all(|c| c["reason"].is_string() && c["confidence"].is_number())
        );
    }
    let wahoo = all(&["activities", "--provider", "wahoo"]);
    assert_eq!(wahoo.len(), 30);
    assert!(
        wahoo.iter().all(|a| a["workout_id"].is_number()),
        "activities state their workout"
    );
    let since = all(&[
        "activities",
        "--since",
        "2000-01-01",
        "--until",
        "2000-12-31",
    ]);
    assert!(since.is_empty(), "a range with nothing in it");

    // Unlink one copy, link it back by hand, choose the primary.
    let id = wahoo[0]["id"].as_i64().unwrap();
    let partner = wahoo[0]["copies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["activity_id"] != id)
        .unwrap()["activity_id"]
        .as_i64()
        .unwrap();
    let alone = json(data.path(), &["unlink", &id.to_string(), "--json"]);
    assert!(alone["workout_id"].is_null());
    assert_eq!(all(&["workouts"]).len(), 31, "two sessions now");
    let linked = json(
        data.path(),
        &["link", &partner.to_string(), &id.to_string(), "--json"],
    );
    assert!(linked["workout_id"].is_number());
    assert!(
        linked["copies"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["choice"] == "linked")
    );
    assert_eq!(all(&["workouts"]).len(), 30);
    let primary = json(data.path(), &["primary", &id.to_string(), "--json"]);
    let chosen = primary["copies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["primary"] == true)
        .unwrap();
    assert_eq!(chosen["activity_id"], id);
    let refused = run(data.path(), &["link", &id.to_string(), &id.to_string()]);
    assert!(String::from_utf8_lossy(&refused.stderr).starts_with("error[validation]"));

    // Export in each format; never over an existing path.
    let out = tempfile::tempdir().unwrap();
    let csv = out.path().join("csv");
    let done = json(
        data.path(),
        &[
            "export",
            "--format",
            "csv",
            "--out",
            csv.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(
        (done["activities"].as_i64(), done["workouts"].as_i64()),
        (Some(60), Some(30))
    );
    let activities_csv = std::fs::read_to_string(csv.join("activities.csv")).unwrap();
    assert_eq!(
        activities_csv.lines().count(),
        61,
        "a header and one line per copy"
    );
    assert!(activities_csv.starts_with("id,provider,provider_activity_id,"));
    let workouts_csv = std::fs::read_to_string(csv.join("workouts.csv")).unwrap();
    assert_eq!(workouts_csv.lines().count(), 31);
    let file = out.path().join("all.json");
    json(
        data.path(),
        &[
            "export",
            "--format",
            "json",
            "--out",
            file.to_str().unwrap(),
            "--json",
        ],
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(doc["activities"].as_array().unwrap().len(), 60);
    assert!(
        doc["activities"][0]["raw"].is_object(),
        "raw payloads included"
    );
    assert_eq!(doc["connections"].as_array().unwrap().len(), 2);
    assert!(!doc["sync_history"].as_array().unwrap().is_empty());
    let db = out.path().join("copy.db");
    json(
        data.path(),
        &[
            "export",
            "--format",
            "sqlite",
            "--out",
            db.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(
        std::fs::read(&db)
            .unwrap()
            .starts_with(b"SQLite format 3\0")
    );
    let again = run(
        data.path(),
        &[
            "export",
            "--format",
            "sqlite",
            "--out",
            db.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(String::from_utf8_lossy(&again.stderr).starts_with("error[validation]"));
    let leftovers: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "no partial files left behind");
}

#[test]
#[ignore = "uses the real keyring; .ci/run runs it inside dbus-run-session with gnome-keyring"]
fn garmin_connects_with_a_personal_key_read_from_stdin() {
    let data = tempfile::tempdir().unwrap();
    let connect = |provider: &str, key: &str| {
        let mut child = tributary(
            data.path(),
            &[
                "--sandbox-activities",
                "30",
                "connect",
                provider,
                "--personal-key-stdin",
                "--key-expires",
                "2027-03-01",
                "--json",
            ],
        )
        .env("TRIBUTARY_GARMIN_DOOR", "personal")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), key.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let refused = connect("garmin", "sbx-gpk-expired\n");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).starts_with("error[needs_reauth]"));
    let done = connect("garmin", "sbx-gpk-demo-athlete\n");
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(stdout.contains("\"state\": \"active\""), "{stdout}");
    assert!(
        stdout.contains("2027-03-01"),
        "the key's expiry is kept: {stdout}"
    );
    assert!(
        !stdout.contains("sbx-gpk-demo-athlete"),
        "the key is never printed"
    );
    let wrong = connect("strava", "sbx-gpk-demo-athlete\n");
    assert!(String::from_utf8_lossy(&wrong.stderr).starts_with("error[validation]"));
}

#[test]
fn files_show_and_the_originals_export_across_invocations() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    connect_to(data, "strava", 12);
    connect_to(data, "wahoo", 12);
    // The queue in the foreground, a provider at a time, then everything left.
    let reports = json(data, &["--json", "files", "wahoo", "--limit", "5"]);
    assert_eq!(reports[0]["provider"], "wahoo");
    assert!(reports[0]["requests"].as_i64().unwrap() <= 5, "{reports}");
    let reports = json(data, &["--json", "files"]);
    for r in reports.as_array().unwrap() {
        assert_eq!(r["progress"]["counts"]["pending"], 0, "{r}");
        assert_eq!(r["failed"], 0, "{r}");
    }
    // A Wahoo copy with a file, and a Strava copy with streams.
    let activities = json(data, &["--json", "activities", "--limit", "50"]);
    let ids = |provider: &str| -> Vec<String> {
        activities["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["provider"] == provider)
            .map(|a| a["id"].to_string())
            .collect()
    };
    let mut shown_fit = false;
    for id in ids("wahoo") {
        let show = json(data, &["--json", "show", &id]);
        if show["original"]["format"] == "fit" {
            assert_eq!(show["original"]["sha256"].as_str().unwrap().len(), 64);
            assert!(show["original"]["bytes"].as_i64().unwrap() > 1000);
            let streams = show["streams"].as_array().unwrap();
            assert!(
                streams
                    .iter()
                    .any(|s| s["name"] == "heart_rate" || s["name"] == "speed"),
                "{show}"
            );
            assert!(show["laps"].as_array().is_some());
            shown_fit = true;
            break;
        }
    }
    assert!(shown_fit, "a Wahoo workout with its FIT");
    let strava = &ids("strava")[0];
    let show = json(data, &["--json", "show", strava]);
    assert!(show["original"]["sha256"].is_null(), "{show}");
    assert!(
        show["original"]["reason"]
            .as_str()
            .unwrap()
            .contains("streams"),
        "{show}"
    );
    // Plain text says the same.
    let out = run(data, &["show", strava]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("original: none"));
    // The export: every original and a GPX for Strava's streams, with a manifest.
    let export = data.join("export");
    let exported = json(
        data,
        &[
            "--json",
            "export",
            "--format",
            "originals",
            "--out",
            export.to_str().unwrap(),
        ],
    );
    assert!(exported["activities"].as_i64().unwrap() > 10, "{exported}");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(export.join("manifest.json")).unwrap()).unwrap();
    let formats: std::collections::BTreeSet<String> = manifest
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["format"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        formats.contains("fit") && formats.contains("gpx (from streams)"),
        "{formats:?}"
    );
    assert!(
        std::fs::read_to_string(export.join("manifest.csv"))
            .unwrap()
            .starts_with("activity_id,")
    );
}

#[test]
fn show_and_the_originals_export_cover_all_six_providers() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    for provider in ["strava", "wahoo", "coros", "google_health", "polar"] {
        connect_to(data, provider, 20);
    }
    // Garmin through its Personal API (the demo's default too; named so the test does not rest on it).
    let garmin = |args: &[&str]| {
        let mut cmd = tributary(data, args);
        cmd.env("TRIBUTARY_GARMIN_DOOR", "personal");
        cmd
    };
    let json = |args: &[&str]| -> Value {
        let out = garmin(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let key = garmin(&["connect", "garmin", "--personal-key-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut key = key;
    std::io::Write::write_all(
        key.stdin.as_mut().unwrap(),
        tributary_sandbox::garmin_personal::DEMO_KEY.as_bytes(),
    )
    .unwrap();
    drop(key.stdin.take());
    let connected = key.wait_with_output().unwrap();
    assert!(
        connected.status.success(),
        "garmin: {}",
        String::from_utf8_lossy(&connected.stderr)
    );
    // Two workouts arrive at the twin, through its control API on the sandbox's own state file
    // (between two invocations, as a late upload arrives while the CLI is not running), then a
    // sync reads them.
    upload_between_runs(data, &[1, 2]);
    json(&["--json", "sync", "polar"]);
    json(&["--json", "files"]);
    let activities = json(&["--json", "activities", "--limit", "500"]);
    let first = |provider: &str| -> String {
        activities["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["provider"] == provider && a["distance_m"].as_f64().unwrap_or(0.0) > 0.0)
            .unwrap_or_else(|| panic!("a {provider} activity"))["id"]
            .to_string()
    };
    for provider in ["garmin", "coros", "wahoo"] {
        let show = json(&["--json", "show", &first(provider)]);
        assert_eq!(show["original"]["format"], "fit", "{provider}: {show}");
        assert!(
            !show["streams"].as_array().unwrap().is_empty(),
            "{provider}: {show}"
        );
    }
    // Strava and Polar's AccessLink v4 have no files: their streams.
    for provider in ["strava", "polar"] {
        let show = json(&["--json", "show", &first(provider)]);
        assert!(show["original"]["sha256"].is_null(), "{provider}: {show}");
        assert!(
            !show["streams"].as_array().unwrap().is_empty(),
            "{provider}: {show}"
        );
    }
    let google = json(&["--json", "show", &first("google_health")]);
    assert!(
        google["original"]["reason"]
            .as_str()
            .unwrap()
            .contains("offers no recordings"),
        "{google}"
    );
    let export = data.join("originals");
    json(&[
        "--json",
        "export",
        "--format",
        "originals",
        "--out",
        export.to_str().unwrap(),
    ]);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(export.join("manifest.json")).unwrap()).unwrap();
    let seen: std::collections::BTreeSet<(String, String)> = manifest
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["provider"].as_str().unwrap().to_owned(),
                m["format"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for provider in ["garmin", "coros", "wahoo"] {
        assert!(
            seen.contains(&(provider.to_owned(), "fit".to_owned())),
            "{provider}: {seen:?}"
        );
    }
    for provider in ["strava", "polar"] {
        assert!(
            seen.contains(&(provider.to_owned(), "gpx (from streams)".to_owned())),
            "{provider}: {seen:?}"
        );
    }
}

/// Sample archives of `count` generated workouts in every layout, in `dir`.
fn samples(dir: &std::path::Path, count: usize) -> Vec<std::path::PathBuf> {
    let workouts = tributary_sandbox::generate::workouts(
        count,
        7,
        1,
        tributary_sandbox::generate::anchor_for(chrono::Utc::now()),
    );
    tributary_sandbox::archive::write_samples(&workouts, dir, count).unwrap()
}

fn outcomes(report: &Value) -> [i64; 5] {
    let c = &report["counts"];
    ["imported", "linked", "duplicate", "skipped", "refused"].map(|k| c[k].as_i64().unwrap())
}

#[test]
fn import_reads_each_layout_and_a_killed_import_finishes_on_a_rerun() {
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let paths = samples(files.path(), 20);
    let arg = |i: usize| paths[i].to_str().unwrap().to_owned();
    // Strava's export: every file new; its list, gear lists and photo skipped.
    let r = json(data.path(), &["--json", "import", &arg(0)]);
    assert_eq!(outcomes(&r), [20, 0, 0, 4, 0], "{r}");
    // Garmin's: its FITs are Strava's .fit.gz files (duplicates) or link with Strava's copies;
    // monitoring and other data skipped.
    let r = json(data.path(), &["--json", "import", &arg(1)]);
    let [imported, linked, duplicate, skipped, refused] = outcomes(&r);
    assert_eq!(
        (imported, linked + duplicate, skipped, refused),
        (0, 20, 22, 0),
        "{r}"
    );
    // Polar's sessions and Takeout's exercises join the same workouts.
    let r = json(data.path(), &["--json", "import", &arg(2)]);
    assert_eq!(outcomes(&r), [0, 20, 0, 2, 0], "{r}");
    let r = json(data.path(), &["--json", "import", &arg(3)]);
    assert_eq!(outcomes(&r), [0, 20, 0, 1, 0], "{r}");
    // The watch's files are Garmin's: duplicates.
    let r = json(data.path(), &["--json", "import", &arg(4)]);
    assert_eq!(outcomes(&r), [0, 0, 20, 1, 0], "{r}");
    let text = run(data.path(), &["imports"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("watch"));
    let workouts = json(data.path(), &["--json", "summary"]);
    assert!(workouts.is_object());

    // Killed with SIGKILL mid-import, then run again: every activity once, each with its
    // recording and its file.
    let big_dir = tempfile::tempdir().unwrap();
    let big = big_dir.path().join("big");
    let workouts = tributary_sandbox::generate::workouts(
        150,
        11,
        2,
        tributary_sandbox::generate::anchor_for(chrono::Utc::now()),
    );
    let mut out = tributary_sandbox::archive::Out::create(&big, true).unwrap();
    tributary_sandbox::archive::strava_export(&mut out, &workouts).unwrap();
    out.finish().unwrap();
    let other = tempfile::tempdir().unwrap();
    let mut child = tributary(other.path(), &["import", big.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let list = json(other.path(), &["--json", "imports"]);
        let done = list[0]["counts"]["imported"].as_i64().unwrap_or(0);
        if done >= 10 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the import never got going"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    signal(&child, "KILL");
    wait_with_timeout(&mut child, 10);
    let first = json(other.path(), &["--json", "imports"])[0]["counts"]["imported"]
        .as_i64()
        .unwrap();
    assert!(first < 150, "killed before the end: {first}");
    let r = json(other.path(), &["--json", "import", big.to_str().unwrap()]);
    let [imported, _, duplicate, _, refused] = outcomes(&r);
    assert_eq!(
        (imported + first, duplicate, refused),
        (150, first, 0),
        "{r}"
    );
    let summary = json(other.path(), &["--json", "summary"]);
    assert_eq!(
        summary["total_activities"], 150,
        "each activity once: {summary}"
    );
    // The last file the killed process stored shows with its original.
    let list = json(other.path(), &["--json", "activities", "--limit", "1"]);
    let id = list["items"][0]["id"].as_i64().unwrap().to_string();
    let shown = json(other.path(), &["--json", "show", &id]);
    assert!(shown.to_string().contains("sha256"), "{shown}");
}

/// Workouts that reach the twins `days` ago each, through the control API on the sandbox's own
/// state file, between two invocations (as a late upload arrives while the CLI is not running).
fn upload_between_runs(data: &std::path::Path, days: &[i64]) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let sandbox = tributary_sandbox::Sandbox::start(
            tributary_sandbox::SandboxConfig {
                state_file: Some(data.join("sandbox").join("sandbox-state.json")),
                ..Default::default()
            },
            0,
        )
        .await
        .unwrap();
        let client = reqwest::Client::new();
        for days in days {
            let start = chrono::Utc::now() - chrono::Duration::days(*days);
            let response = client
                .post(format!("{}/_control/upload", sandbox.base_url()))
                .json(&serde_json::json!({"start": start.to_rfc3339()}))
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success());
        }
        sandbox.stop().await;
    });
}

/// Connect `provider` with extra environment (a door choice), playing the athlete.
fn connect_with(data: &std::path::Path, provider: &str, env: &[(&str, &str)]) {
    let mut cmd = tributary(
        data,
        &[
            "--sandbox-activities",
            "40",
            "connect",
            provider,
            "--no-browser",
        ],
    );
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut connect = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(connect.stdout.take().unwrap());
    let mut url = String::new();
    stdout.read_line(&mut url).unwrap();
    approve(url.trim());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(connect.wait().unwrap().success(), "{rest}");
}

#[test]
fn polar_moves_from_v3_to_v4_and_v4_syncs_and_disconnects_truthfully_in_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    // A connection made through AccessLink v3 (the door before v4), with two workouts uploaded
    // after it (v3 lists nothing older).
    connect_with(data, "polar", &[("TRIBUTARY_POLAR_DOOR", "v3")]);
    upload_between_runs(data, &[1, 2]);
    let runs = json(data, &["--json", "sync", "polar"]);
    assert_eq!(runs[0]["counters"]["created"], 2, "{runs}");
    // This build opens v4: the v3 connection keeps working and says how to move.
    let listed = run(data, &["connections"]);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        text.contains("on AccessLink v3; `tributary connect polar` moves it to AccessLink v4"),
        "{text}"
    );
    let runs = json(data, &["--json", "sync", "polar"]);
    assert_eq!(runs[0]["status"], "success", "{runs}");
    let ids = |listing: &Value| -> Vec<i64> {
        listing["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_i64().unwrap())
            .collect()
    };
    let before = ids(&json(data, &["--json", "activities", "--limit", "500"]));
    assert_eq!(before.len(), 2);
    // The move: one sign-in (its first sync walks v4's history); the two copies keep their
    // rows under v4's ids, and the 40 sessions v3 never listed arrive.
    connect_with(data, "polar", &[]);
    let runs = json(data, &["--json", "sync", "polar"]);
    assert_eq!(runs[0]["status"], "success", "{runs}");
    assert_eq!(
        json(data, &["summary", "--json"])["total_activities"],
        42,
        "every session once"
    );
    let after = ids(&json(data, &["--json", "activities", "--limit", "500"]));
    assert!(
        before.iter().all(|id| after.contains(id)),
        "the v3 rows kept"
    );
    let again = json(data, &["--json", "sync", "polar", "--full"]);
    assert_eq!(
        (
            &again[0]["counters"]["created"],
            &again[0]["counters"]["updated"],
            &again[0]["counters"]["deleted"]
        ),
        (&Value::from(0), &Value::from(0), &Value::from(0)),
        "idempotent: {again}"
    );
    let listed = run(data, &["connections"]);
    assert!(!String::from_utf8_lossy(&listed.stdout).contains("moves it"));
    // No revoke API on v4: the truth, and where to do it.
    let gone = run(data, &["disconnect", "polar"]);
    let said = String::from_utf8_lossy(&gone.stdout);
    assert!(gone.status.success());
    assert!(
        said.contains("Polar has no revoke API for AccessLink v4")
            && said.contains("https://flow.polar.com/settings"),
        "{said}"
    );
    assert!(!said.contains("failed"), "nothing failed: {said}");
}
