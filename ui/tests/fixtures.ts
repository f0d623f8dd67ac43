// Backend data shaped like production: the six providers as the core describes them (all
// implemented, capabilities copied from crates/core/src/providers/*), connections and runs.
import type {
  Capabilities,
  Connection,
  ConnectionCard,
  Dashboard,
  ProviderInfo,
  ProviderKind,
  RateLimitWindow,
  Summary,
  SyncRun,
} from "../src/lib/types";
import type { SeedActivity } from "./support/fakeLibrary";

const limit = (window: string, seconds: number, n: number, shared_by = "app"): RateLimitWindow => ({
  window,
  seconds,
  limit: n,
  shared_by,
});

const base = {
  client_auth: "secret_in_body",
  pkce: false,
  client_secret_required: true,
  refresh: "rotating",
  delivery: "pull",
  history_window_days: null,
  scope_delimiter: " ",
  loopback_host: "localhost",
  deep_link_host: "oauth",
  sign_in: "browser",
  redirects: { deep_link: true, loopback_port: null },
  recordings: "originals",
  implemented: true,
  app_settings_url: null,
  activity_page: null,
  revoke_before_new_grant: false,
  door: { id: "api", name: "API", revoke_by_hand: null },
  ids_differ_from: [] as string[],
  absence_is_deletion: true,
} as const;

export const CAPABILITIES: Record<ProviderKind, Capabilities> = {
  strava: {
    ...base,
    display_name: "Strava",
    app_settings_url: "https://www.strava.com/settings/api",
    activity_page: "https://www.strava.com/activities/{id}",
    overlap_days: 7,
    scopes: ["read", "activity:read_all", "profile:read_all"],
    scope_delimiter: ",",
    required_scopes: ["activity:read_all", "activity:read"],
    rate_limits: [limit("15 min", 900, 200), limit("day", 86400, 2000), limit("15 min (read)", 900, 100), limit("day (read)", 86400, 1000)],
    deep_link_host: "localhost",
  },
  garmin: {
    ...base,
    display_name: "Garmin",
    app_settings_url: "https://developerportal.garmin.com",
    pkce: true,
    delivery: "push_inbox",
    history_window_days: 30,
    overlap_days: 2,
    scopes: [],
    required_scopes: [],
    rate_limits: [limit("1 min", 60, 100)],
    door: { id: "partner", name: "Garmin Connect Developer Program", revoke_by_hand: null },
    absence_is_deletion: false,
  },
  // AccessLink v4, the door new Polar connections use (v3's are in POLAR_V3).
  polar: {
    ...base,
    display_name: "Polar",
    app_settings_url: "https://admin.polaraccesslink.com",
    client_auth: "basic",
    overlap_days: 7,
    scopes: ["training_sessions:read", "sports:read", "profile:read"],
    required_scopes: ["training_sessions:read"],
    rate_limits: [limit("15 min", 900, 3000), limit("24 h", 86400, 100000)],
    redirects: { deep_link: true, loopback_port: 47613 },
    recordings: "streams",
    door: { id: "v4", name: "AccessLink v4", revoke_by_hand: "https://flow.polar.com/settings" },
    ids_differ_from: ["v3"],
    absence_is_deletion: false,
  },
  coros: {
    ...base,
    display_name: "COROS",
    app_settings_url: "https://support.coros.com",
    history_window_days: 90,
    overlap_days: 3,
    scopes: [],
    required_scopes: [],
    rate_limits: [limit("1 min", 60, 1000)],
  },
  wahoo: {
    ...base,
    display_name: "Wahoo",
    app_settings_url: "https://developers.wahooligan.com",
    client_auth: "public_pkce",
    pkce: true,
    client_secret_required: false,
    overlap_days: 7,
    scopes: ["user_read", "workouts_read", "offline_data"],
    required_scopes: ["workouts_read"],
    rate_limits: [limit("5 min", 300, 200), limit("1 h", 3600, 1000), limit("day", 86400, 5000)],
  },
  google_health: {
    ...base,
    display_name: "Fitbit (Google Health API)",
    app_settings_url: "https://console.cloud.google.com/apis/credentials",
    client_auth: "public_pkce",
    pkce: true,
    client_secret_required: false,
    overlap_days: 3,
    scopes: ["https://www.googleapis.com/auth/googlehealth.activity_and_fitness.readonly"],
    required_scopes: ["https://www.googleapis.com/auth/googlehealth.activity_and_fitness.readonly"],
    rate_limits: [limit("1 min", 60, 300, "user")],
    loopback_host: "127.0.0.1",
    redirects: { deep_link: false, loopback_port: null },
  },
};

/** Garmin through its Personal API (2026): the athlete's own key, no application. */
export const GARMIN_PERSONAL: Capabilities = {
  ...base,
  display_name: "Garmin",
  sign_in: "personal_key",
  client_auth: "public_pkce",
  client_secret_required: false,
  refresh: "key_exchange",
  overlap_days: 3,
  scopes: [],
  required_scopes: [],
  rate_limits: [],
  redirects: { deep_link: false, loopback_port: null },
  door: {
    id: "personal",
    name: "Garmin Connect Personal API",
    revoke_by_hand: "https://connect.garmin.com/app/settings/personalApiToken",
  },
};

/** The door of a Polar connection made before AccessLink v4. */
export const POLAR_V3_DOOR = { id: "v3", name: "AccessLink v3", revoke_by_hand: null };

export const KINDS = Object.keys(CAPABILITIES) as ProviderKind[];

/** The providers with Garmin's personal-key door (configured: no application to register). */
export const withGarminKey = (list: ProviderInfo[] = providers()): ProviderInfo[] =>
  list.map((i) => (i.provider === "garmin" ? { ...i, capabilities: GARMIN_PERSONAL, credentials_configured: true } : i));

export const providers = (configured: Partial<Record<ProviderKind, boolean>> = {}): ProviderInfo[] =>
  KINDS.map((p) => ({
    provider: p,
    capabilities: CAPABILITIES[p],
    credentials_configured: configured[p] ?? true,
    connected: false,
  }));

export const connection = (p: ProviderKind, over: Partial<Connection> = {}): Connection => ({
  id: KINDS.indexOf(p) + 1,
  athlete_id: 1,
  provider: p,
  provider_user_id: "31415926",
  username: "sandbox_athlete",
  email: null,
  provider_profile: null,
  granted_scopes: CAPABILITIES[p].required_scopes.slice(0, 1),
  token_expires_at: "2026-11-25T16:00:00Z",
  enabled: true,
  state: "active",
  rate_limited_until: null,
  last_sync_at: "2026-11-25T10:00:30Z",
  last_sync_error: null,
  created_at: "2026-11-25T09:00:00Z",
  updated_at: "2026-11-25T10:00:30Z",
  door: null,
  ...over,
});

export const run = (id: number, created: number, over: Partial<SyncRun> = {}): SyncRun => ({
  id,
  connection_id: 1,
  trigger: "manual",
  status: "success",
  started_at: `2026-11-25T10:${String(id % 60).padStart(2, "0")}:00Z`,
  completed_at: `2026-11-25T10:${String(id % 60).padStart(2, "0")}:30Z`,
  counters: { fetched: created, created, updated: 0, skipped: 0, failed: 0, deleted: 0 },
  api_calls: 2,
  rate_limit_remaining: 97,
  error_message: null,
  error_code: null,
  cursor: null,
  ...over,
});

export const summary = (activities = 0, over: Partial<Summary> = {}): Summary => ({
  total_connections: 0,
  enabled_connections: 0,
  attention_needed: 0,
  total_activities: activities,
  // One provider: each copy is its own workout.
  total_workouts: activities,
  total_syncs: 0,
  last_sync_at: null,
  connections: [],
  ...over,
});

export const card = (p: ProviderKind, over: Partial<Connection> = {}, latest: SyncRun | null = null): ConnectionCard => ({
  connection: connection(p, over),
  latest_run: latest,
  recordings: null,
  // The core names the door; null here reads as the provider's current one.
  door: null,
  moves_to: null,
});

export const dashboard = (over: Partial<Dashboard> = {}): Dashboard => {
  const cards = over.cards ?? [];
  const connected = new Set(cards.map((c) => c.connection.provider));
  return {
    providers: providers().map((i) => ({ ...i, connected: connected.has(i.provider) })),
    cards,
    summary: summary(),
    attention: [],
    scheduler: null,
    ...over,
  };
};

/** Every provider connected and active, each with one successful run. */
export const sixConnected = (): ConnectionCard[] =>
  KINDS.map((p, i) => card(p, {}, run(100 + i, 10, { connection_id: i + 1 })));

// ---- the library ----

const HOUR = 3_600_000;
const iso = (t: number) => new Date(t).toISOString().replace(".000Z", "Z");
/** A fixed "now" for the library's fixtures (a Wednesday). */
export const NOW = Date.parse("2026-11-25T12:00:00Z");
const T = Date.parse("2026-11-20T07:00:00Z");

/** Seven copies, four workouts: Garmin + Strava (3 s apart), Wahoo + Strava + Fitbit, and a
 * Polar swim and a Strava swim the linker left apart (the athlete may link them). */
export const librarySeed = (): SeedActivity[] => [
  {
    id: 1, provider: "garmin", provider_activity_id: "14200000001", start_utc: iso(T), utc_offset_seconds: 3600,
    sport: "run", name: "Morning run", distance_m: 10012, moving_seconds: 3000, elapsed_seconds: 3100,
    elevation_gain_m: 84, avg_heart_rate: 151, max_heart_rate: 176, calories: 640, device: "Garmin Forerunner 965",
    workout_id: 1, counted: true, reason: "started 3 s apart, both run", confidence: 0.97,
    raw: { activityId: 14200000001, activityName: "Morning run", distance: 10012 },
  },
  {
    id: 2, provider: "strava", provider_activity_id: "11000000002", start_utc: iso(T + 3000), utc_offset_seconds: 3600,
    sport: "run", name: "Morning Run", distance_m: 10020, moving_seconds: 3001, elapsed_seconds: 3100,
    device: "Garmin Forerunner 965", workout_id: 1, counted: false, reason: "started 3 s apart, both run", confidence: 0.97,
  },
  {
    id: 3, provider: "wahoo", start_utc: iso(T - 24 * HOUR), utc_offset_seconds: 3600, sport: "ride", name: "Club ride",
    distance_m: 62000, moving_seconds: 7200, workout_id: 2, counted: true, reason: "started 1 s apart, both ride", confidence: 0.99,
  },
  {
    id: 4, provider: "strava", start_utc: iso(T - 24 * HOUR + 1000), utc_offset_seconds: 3600, sport: "ride", name: "Club ride",
    distance_m: 61900, moving_seconds: 7190, workout_id: 2, counted: false, reason: "started 1 s apart, both ride", confidence: 0.99,
  },
  {
    id: 5, provider: "google_health", start_utc: iso(T - 24 * HOUR + 4000), utc_offset_seconds: 3600, sport: "ride", name: "Ride",
    distance_m: 61500, moving_seconds: 7100, workout_id: 2, counted: false,
    reason: "started 4 s apart, same duration and distance, both ride", confidence: 0.98,
  },
  {
    id: 6, provider: "polar", start_utc: iso(T - 48 * HOUR), utc_offset_seconds: 3600, sport: "swim", name: "Pool swim",
    distance_m: 2000, moving_seconds: 2400,
  },
  {
    id: 7, provider: "strava", start_utc: iso(T - 48 * HOUR + 40 * 60_000), utc_offset_seconds: 3600, sport: "swim",
    name: "Lunch Swim", distance_m: 2000, moving_seconds: 2380,
  },
];
