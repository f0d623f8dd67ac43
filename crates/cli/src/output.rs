//! What the CLI prints: short human lines, or with `--json` the core's serialised types (the
//! stable shapes documented in the README), one JSON document per command on stdout.

use serde::Serialize;
use tributary_core::connections::{Disconnected, ProviderInfo};
use tributary_core::domain::{Connection, ProviderKind, Summary, SyncRun};
use tributary_core::export::Exported;
use tributary_core::library::{ActivityListing, ActivityRow};
use tributary_core::scheduler::SyncOutcome;

/// `println!` that tolerates a closed stdout (`tributary ... | head`): output is best effort,
/// a panic on EPIPE is not.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

pub struct Out {
    pub json: bool,
}

fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or_else(
        || "never".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

/// A row's start in its own local time (UTC when the provider gave no offset).
fn local(a: &ActivityRow) -> String {
    match a.utc_offset_seconds {
        Some(o) => (a.start_utc + chrono::Duration::seconds(i64::from(o)))
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        None => a.start_utc.format("%Y-%m-%d %H:%MZ").to_string(),
    }
}

/// A workout's sources: `strava* garmin` (the star marks the primary copy, `#id` each row).
fn sources(a: &ActivityRow) -> String {
    a.copies
        .iter()
        .map(|c| {
            format!(
                "{}{}#{}",
                c.provider,
                if c.primary { "*" } else { "" },
                c.activity_id
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl Out {
    fn print_json(&self, value: &impl Serialize) {
        match serde_json::to_string_pretty(value) {
            Ok(text) => say!("{text}"),
            Err(e) => eprintln!("error[internal]: could not serialise output: {e}"),
        }
    }

    pub fn message(&self, text: &str) {
        if self.json {
            self.print_json(&serde_json::json!({ "message": text }));
        } else {
            say!("{text}");
        }
    }

    pub fn providers(&self, providers: &[ProviderInfo]) {
        if self.json {
            return self.print_json(&providers);
        }
        for p in providers {
            let c = &p.capabilities;
            say!(
                "{:<14} {:<28} {:<11} credentials: {:<3} connected: {:<3} {}",
                p.provider.as_str(),
                c.display_name,
                if c.implemented {
                    "available"
                } else {
                    "planned"
                },
                if p.credentials_configured {
                    "yes"
                } else {
                    "no"
                },
                if p.connected { "yes" } else { "no" },
                c.history_window_days
                    .map_or_else(String::new, |d| format!("(history: {d} days)")),
            );
        }
    }

    pub fn connections(&self, connections: &[Connection], moves: &[Option<String>]) {
        if self.json {
            return self.print_json(&connections);
        }
        if connections.is_empty() {
            say!("no connections yet: try `tributary connect strava`");
        }
        for (i, c) in connections.iter().enumerate() {
            say!(
                "{:<14} {:<13} {:<8} user: {:<20} last sync: {}{}",
                c.provider.as_str(),
                c.state.as_str(),
                if c.enabled { "on" } else { "off" },
                c.username.as_deref().unwrap_or("-"),
                when(c.last_sync_at),
                c.last_sync_error
                    .as_deref()
                    .map_or_else(String::new, |e| format!("  error: {e}")),
            );
            if let Some(Some(how)) = moves.get(i) {
                say!("{:<14} {how}", "");
            }
        }
    }

    pub fn connected(&self, c: &Connection) {
        if self.json {
            return self.print_json(c);
        }
        say!(
            "{}: {} ({}), user {}{}",
            c.provider,
            c.state,
            if c.enabled { "on" } else { "off" },
            c.username.as_deref().unwrap_or("-"),
            c.last_sync_error
                .as_deref()
                .map_or_else(String::new, |e| format!(" — {e}")),
        );
    }

    pub fn sync_runs(&self, runs: &[(ProviderKind, SyncRun)]) {
        if self.json {
            let runs: Vec<&SyncRun> = runs.iter().map(|(_, r)| r).collect();
            return self.print_json(&runs);
        }
        for (provider, r) in runs {
            let n = r.counters;
            say!(
                "{provider}: {} — fetched {}, created {}, updated {}, skipped {}, failed {}{} ({} API calls){}",
                r.status,
                n.fetched,
                n.created,
                n.updated,
                n.skipped,
                n.failed,
                if n.deleted > 0 {
                    format!(", flagged deleted {}", n.deleted)
                } else {
                    String::new()
                },
                r.api_calls,
                r.error_message
                    .as_deref()
                    .map_or_else(String::new, |e| format!("\n  {e}")),
            );
        }
    }

    pub fn sync_outcomes(&self, outcomes: &[SyncOutcome]) {
        if self.json {
            return self.print_json(&outcomes);
        }
        for o in outcomes {
            match (&o.run, &o.refused) {
                (Some(run), _) => self.sync_runs(&[(o.provider, run.clone())]),
                (None, Some(r)) => say!(
                    "{}: not synced — {} [{}]",
                    o.provider,
                    r.message,
                    r.code.as_str()
                ),
                (None, None) => say!("{}: not synced", o.provider),
            }
        }
    }

    pub fn history(&self, runs: &[SyncRun]) {
        if self.json {
            return self.print_json(&runs);
        }
        say!(
            "{:>5}  {:<23} {:<11} {:<13} {:>7} {:>7} {:>7} {:>7} {:>6} {:>5}",
            "id",
            "started",
            "status",
            "trigger",
            "fetched",
            "created",
            "updated",
            "skipped",
            "failed",
            "calls"
        );
        for r in runs {
            let n = r.counters;
            say!(
                "{:>5}  {:<23} {:<11} {:<13} {:>7} {:>7} {:>7} {:>7} {:>6} {:>5}{}",
                r.id,
                when(Some(r.started_at)),
                r.status.as_str(),
                r.trigger.as_str(),
                n.fetched,
                n.created,
                n.updated,
                n.skipped,
                n.failed,
                r.api_calls,
                r.error_message
                    .as_deref()
                    .map_or_else(String::new, |e| format!("  {e}")),
            );
        }
    }

    pub fn status(&self, c: &Connection, latest: Option<&SyncRun>) {
        if self.json {
            return self.print_json(&serde_json::json!({ "connection": c, "latest_sync": latest }));
        }
        self.connected(c);
        if let Some(until) = c.rate_limited_until {
            say!("  rate-limited; continues at {}", when(Some(until)));
        }
        match latest {
            Some(r) => self.history(std::slice::from_ref(r)),
            None => say!("  never synced"),
        }
    }

    pub fn disconnected(&self, d: &Disconnected) {
        if self.json {
            return self.print_json(d);
        }
        say!(
            "{}: disconnected; {}; {} activities deleted",
            d.provider,
            match (&d.revoke_error, &d.revoke_by_hand) {
                (_, Some(by_hand)) => by_hand.clone(),
                (None, None) if d.revoked_at_provider =>
                    "access revoked at the provider".to_owned(),
                (None, None) => "no tokens were stored".to_owned(),
                (Some(e), None) =>
                    format!("revoking at the provider failed ({e}); revoke it there by hand"),
            },
            d.activities_deleted,
        );
    }

    pub fn activities(&self, listing: &ActivityListing) {
        if self.json {
            return self.print_json(listing);
        }
        for a in &listing.items {
            say!(
                "{:>7} {:<20} {:<13} {:<13} {:>8.2} km {:>6} min  {}{}{}",
                a.id,
                local(a),
                a.provider.as_str(),
                a.sport.as_str(),
                a.distance_m.unwrap_or(0.0) / 1000.0,
                a.elapsed_seconds.unwrap_or(0) / 60,
                a.name.as_deref().unwrap_or(""),
                a.workout_id
                    .map_or_else(String::new, |w| format!("  [workout {w}: {}]", sources(a))),
                if a.deleted {
                    format!("  [no longer listed by {}]", a.provider)
                } else {
                    String::new()
                },
            );
        }
        self.next_page(listing);
    }

    pub fn workouts(&self, listing: &ActivityListing) {
        if self.json {
            return self.print_json(listing);
        }
        for w in &listing.items {
            let why = w
                .copies
                .iter()
                .filter_map(|c| c.reason.as_deref())
                .next()
                .map_or_else(String::new, |r| format!("  ({r})"));
            say!(
                "{:<20} {:<13} {:>8.2} km {:>6} min  {:<24} {}{}",
                local(w),
                w.sport.as_str(),
                w.distance_m.unwrap_or(0.0) / 1000.0,
                w.elapsed_seconds.unwrap_or(0) / 60,
                w.name.as_deref().unwrap_or(""),
                sources(w),
                why,
            );
        }
        self.next_page(listing);
    }

    fn next_page(&self, listing: &ActivityListing) {
        if let Some(next) = &listing.next {
            say!("more: --after {next}   (with the same filters and --sort)");
        }
    }

    pub fn linked(&self, row: &ActivityRow) {
        if self.json {
            return self.print_json(row);
        }
        match row.workout_id {
            Some(w) => say!("activity {} is in workout {w}: {}", row.id, sources(row)),
            None => say!("activity {} stands alone", row.id),
        }
    }

    pub fn exported(&self, e: &Exported) {
        if self.json {
            return self.print_json(e);
        }
        say!(
            "exported {} activities ({} workouts) to {}",
            e.activities,
            e.workouts,
            e.path
        );
    }

    pub fn imported(&self, r: &tributary_core::import::ImportReport) {
        if self.json {
            return self.print_json(r);
        }
        let c = &r.counts;
        let status = match r.status {
            tributary_core::import::ImportStatus::Finished => "",
            _ => " (stopped before the end: run it again to finish)",
        };
        say!(
            "import {} of {}: {} imported, {} linked, {} duplicate, {} skipped, {} refused{status}",
            r.id,
            r.label,
            c.imported,
            c.linked,
            c.duplicate,
            c.skipped,
            c.refused
        );
        for f in &r.refused {
            say!(
                "  refused {}: {}",
                f.path,
                f.reason.as_deref().unwrap_or("no reason given")
            );
        }
    }

    pub fn imports(&self, list: &[tributary_core::import::ImportReport]) {
        if self.json {
            return self.print_json(&list);
        }
        if list.is_empty() {
            say!("no imports yet (tributary import PATH…)");
        }
        for r in list {
            let c = &r.counts;
            say!(
                "{:>4}  {}  {:<11} {}  {} imported, {} linked, {} duplicate, {} skipped, {} refused; {} copies kept",
                r.id,
                when(Some(r.started_at)),
                format!("{:?}", r.status).to_lowercase(),
                r.label,
                c.imported,
                c.linked,
                c.duplicate,
                c.skipped,
                c.refused,
                r.copies
            );
        }
    }

    pub fn forgotten(&self, id: i64, deleted: u64) {
        if self.json {
            return self.print_json(&serde_json::json!({"import": id, "copies_deleted": deleted}));
        }
        say!("import {id} forgotten: {deleted} copies deleted");
    }

    pub fn files(&self, reports: &[tributary_core::recording::queue::BatchReport]) {
        if self.json {
            return self.print_json(&reports);
        }
        for r in reports {
            let provider = r.provider.map_or("-", |p| p.as_str());
            say!(
                "{provider}: {} stored, {} unreadable, {} without a recording, {} failed ({} requests)",
                r.stored,
                r.unreadable,
                r.none,
                r.failed,
                r.requests
            );
            if let Some(p) = &r.progress {
                let done =
                    p.counts.stored + p.counts.unreadable + p.counts.none + p.counts.given_up;
                let eta = p
                    .eta_seconds
                    .map(|s| format!(" · about {} at {provider}'s limit", human_duration(s)))
                    .unwrap_or_default();
                say!("  recordings: {done} of {}{eta}", p.counts.total);
            }
            if let Some(why) = &r.stopped {
                say!("  stopped: {why}");
            }
        }
    }

    pub fn show(
        &self,
        detail: &tributary_core::library::ActivityDetail,
        recording: &tributary_core::recording::view::RecordingDetail,
    ) {
        let id = detail.activity.id;
        let mine = recording.copies.iter().find(|c| c.activity_id == id);
        let original = mine.map(|c| match (&c.sha256, c.format) {
            (Some(sha), Some(format)) => serde_json::json!({
                "format": format, "sha256": sha, "bytes": c.bytes,
                "readable": c.status == Some(tributary_core::store::recordings::RecordingStatus::Stored),
                "reason": c.reason,
            }),
            _ => serde_json::json!({
                "format": null, "sha256": null, "bytes": null,
                "reason": c.reason.clone().unwrap_or_else(|| match c.source.as_deref() {
                    Some("streams") => "the provider keeps no original file; its streams are stored".to_owned(),
                    _ => "not fetched yet".to_owned(),
                }),
            }),
        });
        let laps = recording
            .shown
            .as_ref()
            .filter(|s| s.activity_id == id)
            .map(|s| s.laps.clone())
            .unwrap_or_default();
        let value = serde_json::json!({
            "activity": detail.row,
            "copies": recording.copies,
            "original": original,
            "streams": mine.map(|c| &c.series),
            "laps": laps,
            "fetch_error": recording.fetch_error,
        });
        if self.json {
            return self.print_json(&value);
        }
        let row = &detail.row;
        say!(
            "activity {id}: {} {} · {} · {}",
            row.provider.as_str(),
            row.provider_activity_id,
            row.sport.as_str(),
            row.name.as_deref().unwrap_or("(untitled)")
        );
        say!("  started {}", row.start_utc);
        for c in &recording.copies {
            say!(
                "  copy {} ({}): {}",
                c.activity_id,
                c.provider.as_str(),
                match c.status {
                    Some(s) => format!("{s:?}").to_lowercase(),
                    None => "not fetched yet".to_owned(),
                }
            );
        }
        match mine {
            Some(c) if c.sha256.is_some() => say!(
                "  original: {} · {} bytes · sha256 {}{}",
                c.format.map_or("?", |f| f.as_str()),
                c.bytes.unwrap_or(0),
                c.sha256.as_deref().unwrap_or(""),
                c.reason
                    .as_deref()
                    .map(|r| format!(" · unreadable: {r}"))
                    .unwrap_or_default()
            ),
            Some(c) => say!(
                "  original: none ({})",
                c.reason.as_deref().unwrap_or(match c.source.as_deref() {
                    Some("streams") =>
                        "the provider keeps no original file; its streams are stored",
                    _ => "not fetched yet",
                })
            ),
            None => {}
        }
        for s in mine.map(|c| c.series.as_slice()).unwrap_or_default() {
            say!(
                "  stream {:<12} {:>6} samples ({})",
                format!("{:?}", s.name).to_lowercase(),
                s.samples,
                s.unit
            );
        }
        for (i, lap) in laps.iter().enumerate() {
            say!(
                "  lap {:>2}: {:>7.0} s · {}",
                i + 1,
                lap.elapsed_s,
                lap.distance_m
                    .map_or("-".to_owned(), |d| format!("{d:.0} m"))
            );
        }
        if let Some(e) = &recording.fetch_error {
            say!("  could not fetch the recording now: {e}");
        }
    }

    pub fn settings(&self, s: &tributary_core::settings::Settings) {
        if self.json {
            return self.print_json(s);
        }
        say!(
            "background sync {} (every {} s; reconcile every {} h)",
            if s.paused { "paused" } else { "on" },
            s.sync_interval_seconds,
            s.reconcile_hours,
        );
    }

    pub fn summary(&self, s: &Summary) {
        if self.json {
            return self.print_json(s);
        }
        say!(
            "{} connections ({} on, {} need attention), {} workouts ({} activities: every \
             provider's copy), {} sync runs, last sync {}",
            s.total_connections,
            s.enabled_connections,
            s.attention_needed,
            s.total_workouts,
            s.total_activities,
            s.total_syncs,
            when(s.last_sync_at),
        );
        for c in &s.connections {
            say!(
                "  {:<14} {:<13} {:>6} activities  {} runs ({} ok, {} failed)  last: {}",
                c.provider.as_str(),
                c.state.as_str(),
                c.activities,
                c.total_syncs,
                c.successful_syncs,
                c.failed_syncs,
                c.last_status.map_or("-", |s| s.as_str()),
            );
        }
    }
}

/// "6 h", "45 min", "2 d 3 h".
fn human_duration(seconds: i64) -> String {
    match seconds {
        s if s < 3600 => format!("{} min", (s + 59) / 60),
        s if s < 86_400 => format!("{} h", (s + 1799) / 3600),
        s => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}
