//! Pure domain types shared by the store, the providers, the sync engine and the front ends.
//!
//! Everything here is safe to show a front end: no type in this module holds a secret.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Declares a closed, string-backed enum with `as_str`, `FromStr`, `Display` and `ALL`.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident ($label:literal) { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "specta", derive(specta::Type))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stored and serialised form.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = crate::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    other => Err(crate::Error::Validation(format!(
                        concat!("unknown ", $label, " '{}' (expected one of: {})"),
                        other,
                        [$($text),+].join(", ")
                    ))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// The closed set of providers. The key of connections, secrets, events and the UI.
    ProviderKind ("provider") {
        /// Strava API v3.
        Strava = "strava",
        /// Garmin Connect Developer Program.
        Garmin = "garmin",
        /// Polar AccessLink v3.
        Polar = "polar",
        /// COROS Open API.
        Coros = "coros",
        /// Wahoo Cloud API.
        Wahoo = "wahoo",
        /// Google Health API (the successor of the Fitbit Web API).
        GoogleHealth = "google_health",
    }
}

string_enum! {
    /// Where a stored copy came from: a provider's API, or an import (an archive the provider
    /// lets an athlete download, or files from a folder or a watch). The badge a copy wears.
    Source ("source") {
        /// Strava's API.
        Strava = "strava",
        /// Garmin's API.
        Garmin = "garmin",
        /// Polar's API.
        Polar = "polar",
        /// COROS's API.
        Coros = "coros",
        /// Wahoo's API.
        Wahoo = "wahoo",
        /// The Google Health API.
        GoogleHealth = "google_health",
        /// Strava's bulk export (`activities.csv` and `activities/`).
        StravaArchive = "strava_archive",
        /// Garmin's "Export all data".
        GarminExport = "garmin_export",
        /// Polar Flow's export (training sessions as JSON).
        PolarExport = "polar_export",
        /// Google Takeout's Fitbit folder.
        GoogleTakeout = "google_takeout",
        /// FIT, GPX or TCX files from a folder, a watch or COROS's export.
        Files = "files",
    }
}

impl Source {
    /// The provider whose API this is; `None` for an import.
    pub fn api(self) -> Option<ProviderKind> {
        ProviderKind::ALL
            .iter()
            .copied()
            .find(|p| Self::from(*p) == self)
    }

    /// The provider whose activity ids this source's copies carry, so that a copy joins that
    /// provider's API copy exactly (Strava's archive: its "Activity ID" is the API's id).
    pub fn ids_of(self) -> Option<ProviderKind> {
        match self {
            Self::StravaArchive => Some(ProviderKind::Strava),
            other => other.api(),
        }
    }
}

impl From<ProviderKind> for Source {
    fn from(p: ProviderKind) -> Self {
        match p {
            ProviderKind::Strava => Self::Strava,
            ProviderKind::Garmin => Self::Garmin,
            ProviderKind::Polar => Self::Polar,
            ProviderKind::Coros => Self::Coros,
            ProviderKind::Wahoo => Self::Wahoo,
            ProviderKind::GoogleHealth => Self::GoogleHealth,
        }
    }
}

string_enum! {
    /// Where a connection stands, and so which action the athlete is offered.
    ConnectionState ("connection state") {
        /// Syncing normally.
        Active = "active",
        /// Toggled off by the athlete.
        Disabled = "disabled",
        /// Refresh failed or the token was revoked: connect again.
        NeedsReauth = "needs_reauth",
        /// The athlete unticked a scope we need.
        ScopeMissing = "scope_missing",
        /// The provider's budget is spent until `rate_limited_until`.
        RateLimited = "rate_limited",
        /// The provider API is gone.
        Deprecated = "deprecated",
        /// The last sync failed for another reason.
        Error = "error",
        /// The provider refuses the API application itself (Strava's "Inactive": its owner has
        /// no subscription): its owner must re-activate it; no sign-in helps. Scheduled syncs
        /// stop; a daily probe (or a manual retry) finds out when it works again.
        AppInactive = "app_inactive",
    }
}

impl ConnectionState {
    /// States only the athlete can fix (sign in again, grant the permission, move to another
    /// door): nothing syncs on a schedule until they act.
    pub const WAITS_FOR_ATHLETE: [Self; 3] =
        [Self::NeedsReauth, Self::ScopeMissing, Self::Deprecated];

    /// States the dashboard counts as needing attention: those, and a connection whose runs
    /// fail (it still retries, backing off).
    pub const NEEDS_ATTENTION: [Self; 5] = [
        Self::NeedsReauth,
        Self::ScopeMissing,
        Self::Deprecated,
        Self::Error,
        Self::AppInactive,
    ];

    /// How often a connection in this state is tried while nobody retries it by hand: only
    /// a provider-side fix clears it and nothing announces the fix (Strava's re-activation).
    pub fn probe_every(self) -> Option<chrono::Duration> {
        (self == Self::AppInactive).then(|| chrono::Duration::days(1))
    }

    /// See [`Self::WAITS_FOR_ATHLETE`]: the one rule, for the scheduler, the tray and (exported
    /// to the bindings) the window.
    pub fn waits_for_athlete(self) -> bool {
        Self::WAITS_FOR_ATHLETE.contains(&self)
    }

    /// See [`Self::NEEDS_ATTENTION`].
    pub fn needs_attention(self) -> bool {
        Self::NEEDS_ATTENTION.contains(&self)
    }
}

string_enum! {
    /// Status of one sync run. Every run ends in a status other than `Running`.
    SyncStatus ("sync status") {
        /// In progress.
        Running = "running",
        /// Everything fetched was stored.
        Success = "success",
        /// Stopped early (rate limit) or some records could not be stored; resumable.
        Partial = "partial",
        /// Stopped by an error.
        Failed = "failed",
        /// Stopped by the athlete.
        Cancelled = "cancelled",
        /// Found `running` after its process died.
        Interrupted = "interrupted",
    }
}

string_enum! {
    /// What started a sync run.
    SyncTrigger ("sync trigger") {
        /// The athlete asked.
        Manual = "manual",
        /// The background schedule.
        Scheduled = "scheduled",
        /// App start-up.
        Startup = "startup",
        /// Right after connecting.
        AfterConnect = "after_connect",
    }
}

string_enum! {
    /// Normalised sport types.
    Sport ("sport") {
        /// Running (road, track, treadmill).
        Run = "run",
        /// Trail running.
        TrailRun = "trail_run",
        /// Cycling outdoors.
        Ride = "ride",
        /// Indoor/virtual cycling.
        VirtualRide = "virtual_ride",
        /// Swimming.
        Swim = "swim",
        /// Walking.
        Walk = "walk",
        /// Hiking.
        Hike = "hike",
        /// Rowing.
        Row = "row",
        /// Skiing of any kind.
        Ski = "ski",
        /// Strength training.
        Strength = "strength",
        /// Anything else.
        Other = "other",
    }
}

impl Sport {
    /// The sport a file or an export names in its own words ("running", "Biking",
    /// "TRAIL_RUNNING", "Road cycling"…); `Other` when the words say nothing we know.
    pub fn from_words(words: &str) -> Self {
        let w = words.to_ascii_lowercase().replace(['_', '-'], " ");
        let has = |needles: &[&str]| needles.iter().any(|n| w.contains(n));
        if has(&["virtual", "indoor cycl", "indoor bik", "spin", "zwift"]) {
            Self::VirtualRide
        } else if has(&["trail"]) {
            Self::TrailRun
        } else if has(&["run", "jog"]) {
            Self::Run
        } else if has(&["cycl", "bik", "ride", "velo"]) {
            Self::Ride
        } else if has(&["swim"]) {
            Self::Swim
        } else if has(&["hik"]) {
            Self::Hike
        } else if has(&["walk"]) {
            Self::Walk
        } else if has(&["row"]) {
            Self::Row
        } else if has(&["ski"]) {
            Self::Ski
        } else if has(&["strength", "weight"]) {
            Self::Strength
        } else {
            Self::Other
        }
    }
}

impl SyncStatus {
    /// Whether a run with this status has ended.
    pub fn is_terminal(self) -> bool {
        self != Self::Running
    }
}

/// The default athlete created on first run (the old server's `user_id`).
pub const DEFAULT_ATHLETE_ID: i64 = 1;

/// One row of `provider_connections`. Holds no token.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Connection {
    /// Row id.
    pub id: i64,
    /// Owning athlete.
    pub athlete_id: i64,
    /// Provider.
    pub provider: ProviderKind,
    /// The athlete's id at the provider.
    pub provider_user_id: Option<String>,
    /// Username at the provider.
    pub username: Option<String>,
    /// Email, where the provider shares it.
    pub email: Option<String>,
    /// Provider-specific profile (JSON).
    pub provider_profile: Option<serde_json::Value>,
    /// Scopes the athlete granted.
    pub granted_scopes: Vec<String>,
    /// When the access token expires (the token itself lives in the keyring).
    pub token_expires_at: Option<DateTime<Utc>>,
    /// The athlete's toggle.
    pub enabled: bool,
    /// Current state.
    pub state: ConnectionState,
    /// When a rate-limited connection may continue.
    pub rate_limited_until: Option<DateTime<Utc>>,
    /// When the last sync run ended.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// The last sync's error, if it failed.
    pub last_sync_error: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// The provider's door it was made through (`v4`, `personal`); `None` for a connection
    /// made before doors were kept, which is on the provider's legacy door.
    pub door: Option<String>,
    /// Bumped whenever who decides the state changes (reconnect, toggle, a run's end): the end of
    /// a run writes its state only if this is still what it read at its start.
    #[serde(skip)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub generation: i64,
}

/// What a (re)connect writes to `provider_connections`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionProfile {
    /// The athlete's id at the provider.
    pub provider_user_id: Option<String>,
    /// Username at the provider.
    pub username: Option<String>,
    /// Email, where the provider shares it.
    pub email: Option<String>,
    /// Provider-specific profile (JSON).
    pub provider_profile: Option<serde_json::Value>,
}

/// A partial update of a connection; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionUpdate {
    /// New state.
    pub state: Option<ConnectionState>,
    /// New rate-limit horizon (`Some(None)` clears it).
    pub rate_limited_until: Option<Option<DateTime<Utc>>>,
    /// New granted scopes.
    pub granted_scopes: Option<Vec<String>>,
    /// New token expiry (`Some(None)` clears it).
    pub token_expires_at: Option<Option<DateTime<Utc>>>,
    /// New last error (`Some(None)` clears it).
    pub last_sync_error: Option<Option<String>>,
}

/// The five counters of a run. Invariant: `fetched = created + updated + skipped + failed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncCounters {
    /// Provider records seen in this run.
    pub fetched: i64,
    /// New rows.
    pub created: i64,
    /// Rows whose content changed.
    pub updated: i64,
    /// Seen and unchanged.
    pub skipped: i64,
    /// Seen but not storable (reason recorded in `sync_failures`).
    pub failed: i64,
    /// Stored activities a completed reconcile found the provider no longer lists (flagged, kept;
    /// not part of `fetched`).
    pub deleted: i64,
}

impl SyncCounters {
    /// Add another batch's counters.
    pub fn add(&mut self, other: Self) {
        self.fetched += other.fetched;
        self.created += other.created;
        self.updated += other.updated;
        self.skipped += other.skipped;
        self.failed += other.failed;
        self.deleted += other.deleted;
    }

    /// Whether the invariant holds.
    pub fn is_balanced(&self) -> bool {
        self.fetched == self.created + self.updated + self.skipped + self.failed
    }
}

/// One row of `sync_history`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncRun {
    /// Row id.
    pub id: i64,
    /// The connection synced.
    pub connection_id: i64,
    /// What started it.
    pub trigger: SyncTrigger,
    /// Status.
    pub status: SyncStatus,
    /// Started.
    pub started_at: DateTime<Utc>,
    /// Ended (None while running).
    pub completed_at: Option<DateTime<Utc>>,
    /// Counters.
    pub counters: SyncCounters,
    /// API calls made.
    pub api_calls: i64,
    /// Rate-limit quota left when it ended, if the provider reports one.
    pub rate_limit_remaining: Option<i64>,
    /// Readable error.
    pub error_message: Option<String>,
    /// The error's stable code (what the UI maps to an action).
    pub error_code: Option<crate::ErrorCode>,
    /// Provider-defined resume point.
    pub cursor: Option<String>,
}

/// A normalised activity as the providers' mappers produce it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewActivity {
    /// The provider's id for it (as text; ids can exceed i64 on some providers).
    pub provider_activity_id: String,
    /// Sport.
    pub sport: Sport,
    /// Title.
    pub name: Option<String>,
    /// Start, UTC.
    pub start_utc: DateTime<Utc>,
    /// Local offset from UTC at the start, in seconds.
    pub utc_offset_seconds: Option<i32>,
    /// Elapsed seconds.
    pub elapsed_seconds: Option<i64>,
    /// Moving seconds.
    pub moving_seconds: Option<i64>,
    /// Distance in metres.
    pub distance_m: Option<f64>,
    /// Elevation gain in metres.
    pub elevation_gain_m: Option<f64>,
    /// Average heart rate (bpm).
    pub avg_heart_rate: Option<f64>,
    /// Maximum heart rate (bpm).
    pub max_heart_rate: Option<f64>,
    /// Energy (kcal).
    pub calories: Option<f64>,
    /// Average power (W).
    pub avg_power_w: Option<f64>,
    /// Maximum power (W).
    pub max_power_w: Option<f64>,
    /// Recording device.
    pub device: Option<String>,
    /// The provider's record as received.
    pub raw: serde_json::Value,
}

/// A stored activity.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Activity {
    /// Row id.
    pub id: i64,
    /// Connection it came through (0 for an imported copy).
    pub connection_id: i64,
    /// The provider's API it came from, or the import.
    pub provider: Source,
    /// When a reconcile found the provider no longer lists it (kept, flagged, never dropped).
    pub deleted_at: Option<DateTime<Utc>>,
    /// The normalised fields and raw JSON.
    #[serde(flatten)]
    pub data: NewActivity,
}

/// Per-connection figures for the summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConnectionSummary {
    /// Provider.
    pub provider: ProviderKind,
    /// State.
    pub state: ConnectionState,
    /// Toggle.
    pub enabled: bool,
    /// Last sync end.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// Activities stored from it.
    pub activities: i64,
    /// Runs recorded.
    pub total_syncs: i64,
    /// Runs that ended `success`.
    pub successful_syncs: i64,
    /// Runs that ended `failed`.
    pub failed_syncs: i64,
    /// Status of the latest run.
    pub last_status: Option<SyncStatus>,
}

/// The summary across all connections of an athlete.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Summary {
    /// Connections.
    pub total_connections: i64,
    /// Connections switched on.
    pub enabled_connections: i64,
    /// Connections in a state that needs the athlete (`needs_reauth`, `scope_missing`, `deprecated`, `error`, `app_inactive`).
    pub attention_needed: i64,
    /// Activities stored: every provider's copy (and every import's).
    pub total_activities: i64,
    /// Workouts: sessions, each counted once however many copies it has (the workout list's
    /// length).
    pub total_workouts: i64,
    /// Sync runs recorded.
    pub total_syncs: i64,
    /// Most recent sync end across connections.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// One line per connection.
    pub connections: Vec<ConnectionSummary>,
}

/// Why the athlete is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum AttentionKind {
    /// Sign in again.
    NeedsReauth,
    /// A permission was not granted.
    ScopeMissing,
    /// The provider's API is gone.
    Deprecated,
    /// Several runs in a row failed.
    RepeatedFailures,
    /// A long first import finished (good news, said once).
    BackfillFinished,
    /// The personal API key runs out within a week (or has).
    KeyExpiring,
    /// The provider refuses the API application (its owner must re-activate it).
    AppInactive,
}

impl AttentionKind {
    /// The kind as stored.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::NeedsReauth => "needs_reauth",
            Self::ScopeMissing => "scope_missing",
            Self::Deprecated => "deprecated",
            Self::RepeatedFailures => "repeated_failures",
            Self::BackfillFinished => "backfill_finished",
            Self::KeyExpiring => "key_expiring",
            Self::AppInactive => "app_inactive",
        }
    }
}

/// One notice for the athlete.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Attention {
    /// Provider.
    pub provider: ProviderKind,
    /// Why.
    pub kind: AttentionKind,
    /// A title for a notification.
    pub title: String,
    /// A sentence for the athlete.
    pub message: String,
    /// When the episode began.
    pub opened_at: DateTime<Utc>,
}

/// When a connection runs next, as the dashboard and the tray show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NextRun {
    /// Provider.
    pub provider: ProviderKind,
    /// When (`None`: not until the athlete acts).
    pub at: Option<DateTime<Utc>>,
    /// Whether that run is a reconcile (a full walk).
    pub reconcile: bool,
}

/// Where the scheduler stands.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SchedulerStatus {
    /// Paused by the athlete.
    pub paused: bool,
    /// Providers that could not be reached at the last look (runs wait quietly).
    pub offline: Vec<ProviderKind>,
    /// Each connection's next run.
    pub next_runs: Vec<NextRun>,
}

/// What the linker knows about one stored copy.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkCopy {
    /// Row id.
    pub id: i64,
    /// Where it came from (a workout holds one copy per source).
    pub provider: Source,
    /// The provider activity it is, when known across sources (`strava:123` for Strava's API
    /// copy and for the archive's copy of the same activity): an exact join.
    pub same_as: Option<String>,
    /// Sport.
    pub sport: Sport,
    /// Start, epoch seconds UTC.
    pub start: i64,
    /// Local offset, seconds.
    pub offset: Option<i32>,
    /// Elapsed seconds.
    pub elapsed: Option<i64>,
    /// Metres.
    pub distance: Option<f64>,
    /// Its workout, if linked.
    pub workout: Option<i64>,
    /// 0 linker's, 1 linked by the athlete, 2 kept apart by the athlete.
    pub pinned: i64,
    /// How many of its normalised fields are filled (the primary is the most complete copy).
    pub completeness: i64,
    /// Flagged deleted at its provider (never primary while another copy is not).
    pub deleted: bool,
}

/// What the activity and workout lists show.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ActivityFilter {
    /// Only this provider's copies (for workouts: workouts with a copy from it).
    pub provider: Option<ProviderKind>,
    /// Only this sport.
    pub sport: Option<Sport>,
    /// Started at or after.
    pub since: Option<DateTime<Utc>>,
    /// Started before.
    pub until: Option<DateTime<Utc>>,
    /// Words in the name or the device (case-insensitive).
    pub text: Option<String>,
}

/// Which way a list runs, for its sort key: the start's newest first is `Descending`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Largest first: newest, Z to A, farthest, longest, fastest.
    #[default]
    Descending,
    /// Smallest first: oldest, A to Z, shortest, slowest.
    Ascending,
}

string_enum! {
    /// What a list is sorted by. A row without the value (no name, no distance) comes after
    /// every row with one, whichever the order.
    #[derive(Default)]
    SortKey ("sort key") {
        /// The start.
        #[default]
        Start = "start",
        /// The name, ignoring case.
        Name = "name",
        /// The distance.
        Distance = "distance",
        /// The moving time (elapsed where a provider gives none).
        Duration = "duration",
        /// The average speed (distance over that time): pace, inverted.
        Speed = "speed",
    }
}

/// How the scheduler paces runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerSettings {
    /// Between two runs of a connection (± 10 % jitter, so that connections do not move in step).
    pub interval: std::time::Duration,
    /// Between two reconcile passes (full walks) of a connection.
    pub reconcile_every: std::time::Duration,
    /// Whether the first pass runs every connection at once (an app or agent start).
    pub startup_run: bool,
    /// The longest back-off after repeated failures.
    pub max_backoff: std::time::Duration,
    /// How often to look again while a provider cannot be reached.
    pub offline_retry: std::time::Duration,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            interval: std::time::Duration::from_secs(3600),
            reconcile_every: std::time::Duration::from_secs(24 * 3600),
            startup_run: true,
            max_backoff: std::time::Duration::from_secs(24 * 3600),
            offline_retry: std::time::Duration::from_secs(60),
        }
    }
}
