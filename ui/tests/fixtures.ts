// Backend fixtures shaped like the generated bindings' types.
import type { Connection, ProviderInfo, Summary, SyncRun } from "../src/lib/ipc";

const caps = (name: string, implemented: boolean): ProviderInfo["capabilities"] => ({
  display_name: name,
  client_auth: "secret_in_body",
  pkce: false,
  client_secret_required: true,
  refresh: "rotating",
  delivery: "pull",
  history_window_days: null,
  overlap_days: 7,
  scopes: ["activity:read_all"],
  scope_delimiter: ",",
  required_scopes: ["activity:read_all"],
  rate_limits: [{ window: "15 min", limit: 200, shared_by: "app" }],
  loopback_host: "localhost",
  deep_link_host: "localhost",
  implemented,
});

export const providers: ProviderInfo[] = [
  { provider: "strava", capabilities: caps("Strava", true), credentials_configured: true, connected: false },
  { provider: "garmin", capabilities: caps("Garmin", false), credentials_configured: false, connected: false },
  { provider: "polar", capabilities: caps("Polar", false), credentials_configured: false, connected: false },
  { provider: "coros", capabilities: caps("COROS", false), credentials_configured: false, connected: false },
  { provider: "wahoo", capabilities: caps("Wahoo", false), credentials_configured: false, connected: false },
  { provider: "google_health", capabilities: caps("Fitbit (Google Health API)", false), credentials_configured: false, connected: false },
];

export const strava: Connection = {
  id: 1,
  athlete_id: 1,
  provider: "strava",
  provider_user_id: "31415926",
  username: "sandbox_athlete",
  email: null,
  provider_profile: null,
  granted_scopes: ["activity:read_all"],
  token_expires_at: null,
  enabled: true,
  state: "active",
  rate_limited_until: null,
  last_sync_at: "2026-11-25T10:00:00Z",
  last_sync_error: null,
  created_at: "2026-11-25T09:00:00Z",
  updated_at: "2026-11-25T10:00:00Z",
};

export const run = (id: number, created: number, status: SyncRun["status"] = "success"): SyncRun => ({
  id,
  connection_id: 1,
  trigger: "manual",
  status,
  started_at: `2026-11-25T10:0${id % 10}:00Z`,
  completed_at: `2026-11-25T10:0${id % 10}:30Z`,
  counters: { fetched: created, created, updated: 0, skipped: 0, failed: 0, deleted: 0 },
  api_calls: 2,
  rate_limit_remaining: 97,
  error_message: null,
  cursor: null,
});

export const summary = (activities: number, connections: number): Summary => ({
  total_connections: connections,
  enabled_connections: connections,
  attention_needed: 0,
  total_activities: activities,
  total_syncs: 1,
  last_sync_at: null,
  connections: [],
});
