// An in-memory Backend: the UI unit tests' double (the app itself always talks to the core). It records every call under the command's Rust
// name (so a test can count IPC calls), lets a test script failures and emit events, and plays
// the core's part where the UI relies on it: the events each command causes, in the core's
// order, and the library's lists, links and totals (fakeLibrary.ts).
import { IpcError, type Backend } from "../../src/lib/backend";
import { FakeLibrary, type SeedActivity } from "./fakeLibrary";
import type {
  ActivityFilter,
  AppInfo,
  AppMode,
  Connection,
  ConnectionState,
  CoreEvent,
  CredentialsCheck,
  Dashboard,
  DeepLinkOutcome,
  ErrorCode,
  Estimate,
  ExportFormat,
  Exported,
  ImportPick,
  ImportReport,
  PageRequest,
  Period,
  ProviderKind,
  RunPoint,
  Settings,
  SyncCounters,
  SyncRun,
  SyncStatus,
  SyncTrigger,
} from "../../src/lib/types";

export type Call = { cmd: string; args: unknown[] };

export type FakeSeed = {
  dashboard: Dashboard;
  /** Runs per provider, newest first (the latest run of each card is added when missing). */
  runs?: Partial<Record<ProviderKind, SyncRun[]>>;
  /** Merged over the demo's defaults (a tray shown, a keyring that works). */
  info?: Partial<AppInfo>;
  settings?: Settings;
  focus?: ProviderKind | null;
  outcomes?: DeepLinkOutcome[];
  /** The activities (a generated library, or a test's own rows). */
  library?: FakeLibrary | SeedActivity[];
};

type Listener<T> = (value: T) => void;

/** A recorded run as the history chart's statistics give it. */
const point = (r: SyncRun): RunPoint => ({
  id: r.id,
  trigger: r.trigger,
  status: r.status,
  started_at: r.started_at,
  duration_ms: r.completed_at ? Date.parse(r.completed_at) - Date.parse(r.started_at) : null,
  created: r.counters.created,
  updated: r.counters.updated,
  skipped: r.counters.skipped,
  failed: r.counters.failed,
  deleted: r.counters.deleted,
  api_calls: r.api_calls,
  rate_limit_remaining: r.rate_limit_remaining,
  error_code: r.error_code,
});

const clone = <T>(value: T): T => structuredClone(value);
const now = () => new Date().toISOString();

export class FakeBackend implements Backend {
  readonly calls: Call[] = [];
  dashboard: Dashboard;
  runs: Partial<Record<ProviderKind, SyncRun[]>>;
  info: AppInfo;
  settings: Settings;
  focus: ProviderKind | null;
  outcomes: DeepLinkOutcome[];
  library: FakeLibrary;
  /** What the next disconnect reports as the provider's revocation failure. */
  revokeError: string | null = null;
  /** API credentials as the keyring would hold them (the UI never reads them back). */
  readonly credentials: Partial<Record<ProviderKind, { clientId: string; clientSecret: string | null }>> = {};
  /** Personal keys as the keyring would hold them (write-only for the UI, as in the core). */
  readonly keys: Partial<Record<ProviderKind, string>> = {};
  /** What a provider answers a credentials check with (default: it recognises them). */
  readonly checks: Partial<Record<ProviderKind, CredentialsCheck>> = {};
  /** The mode saved by set_mode, and how many restarts it asked for. */
  mode: AppMode | null = null;
  restarts = 0;
  /** A connect starts the first sync by itself (the core's `sync_after_connect`). */
  syncAfterConnect = true;
  private readonly failures = new Map<string, IpcError>();
  private readonly core: Listener<CoreEvent>[] = [];
  private readonly links: Listener<DeepLinkOutcome>[] = [];
  private readonly focusers: Listener<ProviderKind>[] = [];
  private readonly trays: Listener<boolean>[] = [];
  private readonly closes: Listener<void>[] = [];
  private nextRunId = 1000;
  private nextConnectionId = 100;

  constructor(seed: FakeSeed) {
    this.dashboard = clone(seed.dashboard);
    this.runs = clone(seed.runs ?? {});
    for (const card of this.dashboard.cards) {
      const p = card.connection.provider;
      const runs = (this.runs[p] ??= []);
      if (card.latest_run && !runs.some((r) => r.id === card.latest_run!.id)) runs.unshift(clone(card.latest_run));
    }
    this.info = {
      sandbox: true,
      version: "0.1.0",
      data_dir: "/home/athlete/.local/share/tributary",
      keyring_problem: null,
      tray: true,
      interval_override_seconds: null,
      demo_personal_key: "sbx-gpk-demo-athlete",
      ...seed.info,
    };
    this.settings = seed.settings ?? {
      sync_interval_seconds: 3600,
      reconcile_hours: 24,
      paused: false,
      autostart: false,
      notifications: true,
      close_to_tray_explained: false,
    };
    this.focus = seed.focus ?? null;
    this.outcomes = seed.outcomes ?? [];
    this.library = seed.library instanceof FakeLibrary ? seed.library : new FakeLibrary(seed.library ?? []);
  }

  // ---- test controls ----

  /** The next call of `cmd` (its Rust name, e.g. "start_sync") fails with this error. */
  failNext(cmd: string, code: ErrorCode, message: string) {
    this.failures.set(cmd, new IpcError(code, message));
  }

  count(cmd?: string): number {
    return cmd ? this.calls.filter((c) => c.cmd === cmd).length : this.calls.length;
  }

  /** The latest call. */
  get last(): Call | undefined {
    return this.calls[this.calls.length - 1];
  }

  clearCalls() {
    this.calls.length = 0;
  }

  emit(event: CoreEvent) {
    this.core.forEach((l) => l(clone(event)));
  }

  deepLink(outcome: DeepLinkOutcome) {
    this.outcomes.push(outcome);
    this.links.forEach((l) => l(clone(outcome)));
  }

  /** The desktop's tray host came or went. */
  trayHost(present: boolean) {
    this.trays.forEach((l) => l(present));
  }

  /** The window's close button, on a desktop without a tray. */
  closeRequested() {
    this.closes.forEach((l) => l());
  }

  requestFocus(provider: ProviderKind) {
    this.focusers.forEach((l) => l(provider));
  }

  /** A page committed by the running sync of `p`. */
  progress(p: ProviderKind, counters: Partial<SyncCounters>, more: { pages?: number; api_calls?: number; estimate?: Estimate } = {}) {
    const run = this.running(p);
    run.counters = { ...run.counters, ...counters };
    run.api_calls = more.api_calls ?? run.api_calls + 1;
    this.emit({
      type: "sync_progress",
      sync_id: run.id,
      provider: p,
      counters: run.counters,
      pages: more.pages ?? 1,
      api_calls: run.api_calls,
      estimate: more.estimate ?? null,
    });
  }

  /** The running sync of `p` ends: recorded, the connection's new state, then the end (the core's order). */
  finish(
    p: ProviderKind,
    status: SyncStatus = "success",
    end: { counters?: Partial<SyncCounters>; error?: string; code?: ErrorCode; state?: ConnectionState; until?: string } = {},
  ) {
    const run = this.running(p);
    Object.assign(run, {
      status,
      completed_at: now(),
      counters: { ...run.counters, ...end.counters },
      error_message: end.error ?? null,
      error_code: end.code ?? null,
    });
    const summary = this.dashboard.summary;
    summary.total_syncs += 1;
    summary.total_activities += run.counters.created;
    summary.total_workouts += run.counters.created; // the fake links nothing it syncs
    if (status !== "cancelled") {
      const c = this.connection(p);
      c.last_sync_at = run.completed_at;
      c.last_sync_error = run.error_message;
      c.state = end.state ?? (end.error ? "error" : "active");
      c.rate_limited_until = end.until ?? null;
      this.emit({ type: "connection_changed", provider: p, state: c.state });
    }
    this.emit({ type: "sync_finished", sync_id: run.id, provider: p, status, counters: run.counters, error: run.error_message });
  }

  /** The browser came back: the connection is made and the deep link's outcome is reported. */
  completeConnect(p: ProviderKind, connection: Connection) {
    const card = this.dashboard.cards.find((c) => c.connection.provider === p);
    // As the core: a sign-in puts the connection on the provider's current door.
    const door = this.provider(p).capabilities.door;
    if (card) Object.assign(card, { connection: clone(connection), door, moves_to: null });
    else this.dashboard.cards.push({ connection: clone(connection), latest_run: null, recordings: null, door, moves_to: null });
    this.emit({ type: "connection_changed", provider: p, state: connection.state });
    const name = this.dashboard.providers.find((i) => i.provider === p)?.capabilities.display_name ?? p;
    this.deepLink({ ok: true, provider: p, message: `Connected to ${name}.` });
  }

  // ---- Backend ----

  private async call<T>(cmd: string, args: unknown[], run: () => T): Promise<T> {
    this.calls.push({ cmd, args });
    const failure = this.failures.get(cmd);
    if (failure) {
      this.failures.delete(cmd);
      throw failure;
    }
    return clone(run());
  }

  private card(p: ProviderKind) {
    const card = this.dashboard.cards.find((c) => c.connection.provider === p);
    if (!card) throw new IpcError("not_found", `no ${p} connection`);
    return card;
  }

  connection(p: ProviderKind): Connection {
    return this.card(p).connection;
  }

  private provider(p: ProviderKind) {
    const info = this.dashboard.providers.find((i) => i.provider === p);
    if (!info) throw new IpcError("not_found", `no provider ${p}`);
    return info;
  }

  /** A run starts: recorded, announced. */
  private begin(p: ProviderKind, trigger: SyncTrigger): number {
    const c = this.connection(p);
    const run: SyncRun = {
      id: this.nextRunId++,
      connection_id: c.id,
      trigger,
      status: "running",
      started_at: now(),
      completed_at: null,
      counters: { fetched: 0, created: 0, updated: 0, skipped: 0, failed: 0, deleted: 0 },
      api_calls: 0,
      rate_limit_remaining: null,
      error_message: null,
      error_code: null,
      cursor: null,
    };
    (this.runs[p] ??= []).unshift(run);
    this.emit({ type: "sync_started", sync_id: run.id, provider: p });
    return run.id;
  }

  private running(p: ProviderKind): SyncRun {
    const run = this.runs[p]?.[0];
    if (!run || run.status !== "running") throw new Error(`no ${p} sync is running`);
    return run;
  }

  getDashboard = () =>
    this.call("get_dashboard", [], () => ({
      ...this.dashboard,
      cards: this.dashboard.cards.map((c) => ({ ...c, latest_run: this.runs[c.connection.provider]?.[0] ?? null })),
    }));
  getSummary = () => this.call("get_summary", [], () => this.dashboard.summary);
  getConnectionByProvider = (p: ProviderKind) => this.call("get_connection_by_provider", [p], () => this.connection(p));
  getSyncHistory = (p: ProviderKind, limit: number, offset: number) =>
    this.call("get_sync_history", [p, limit, offset], () => (this.runs[p] ?? []).slice(offset, offset + limit));

  startSync: Backend["startSync"] = (p, mode) =>
    this.call("start_sync", [p, mode], () => {
      const c = this.connection(p);
      if (this.runs[p]?.[0]?.status === "running") throw new IpcError("already_running", "a sync is already running");
      if (c.rate_limited_until && Date.parse(c.rate_limited_until) > Date.now()) {
        throw new IpcError("rate_limited", `rate-limited until ${c.rate_limited_until}`);
      }
      return this.begin(p, "manual");
    });

  cancelSync = (p: ProviderKind) =>
    this.call("cancel_sync", [p], () => {
      const running = this.runs[p]?.[0]?.status === "running";
      if (running) this.finish(p, "cancelled", { error: "cancelled by the athlete", code: "cancelled" });
      return running;
    });

  syncAllNow = () => this.call("sync_all_now", [], () => undefined);

  toggleConnection = (p: ProviderKind) =>
    this.call("toggle_connection", [p], () => {
      const c = this.connection(p);
      c.enabled = !c.enabled;
      c.state = c.enabled ? "active" : "disabled";
      this.emit({ type: "connection_changed", provider: p, state: c.state });
      return c;
    });

  disconnectConnection = (p: ProviderKind, keepActivities: boolean) =>
    this.call("disconnect_connection", [p, keepActivities], () => {
      const card = this.card(p);
      const info = this.provider(p);
      const deleted = keepActivities ? 0 : (this.dashboard.summary.connections.find((c) => c.provider === p)?.activities ?? 0);
      this.dashboard.cards = this.dashboard.cards.filter((c) => c.connection.provider !== p);
      this.dashboard.summary.total_activities -= deleted;
      this.dashboard.summary.total_workouts -= deleted;
      info.connected = false;
      delete this.runs[p];
      this.emit({ type: "connection_removed", provider: p });
      // As the core: a door with no revoke API (a personal key, Polar v4) asks nothing and says
      // where the athlete takes the access back; the others revoke (or fail to).
      delete this.keys[p];
      const door = card?.door ?? info.capabilities.door;
      const revoke_by_hand = door.revoke_by_hand
        ? `${info.capabilities.display_name} has no revoke API for ${door.name}: take Tributary's access back yourself at ${door.revoke_by_hand}`
        : null;
      const revoke_error = revoke_by_hand ? null : (this.revokeError ?? null);
      return { provider: p, revoked_at_provider: !revoke_error && !revoke_by_hand, revoke_error, revoke_by_hand, activities_deleted: deleted };
    });

  /** Whether the next sign-in finds a browser to open. */
  browserOpens = true;
  connectProvider = (p: ProviderKind) =>
    this.call("connect_provider", [p], () => ({
      provider: p,
      authorize_url: `http://127.0.0.1:9/${p}/authorize?client_id=demo&state=s`,
      browser_opened: this.browserOpens,
    }));

  cancelConnect = (p: ProviderKind) => this.call("cancel_connect", [p], () => undefined);

  setProviderCredentials = (p: ProviderKind, clientId: string, clientSecret: string | null) =>
    this.call("set_provider_credentials", [p, clientId, clientSecret], () => {
      const info = this.provider(p);
      if (!clientId.trim()) throw new IpcError("validation", "the client id is empty");
      // As the core: a blank secret is none, and none deletes the stored one.
      const secret = clientSecret?.trim() ? clientSecret : null;
      this.credentials[p] = { clientId: clientId.trim(), clientSecret: secret };
      info.credentials_configured = secret !== null || !info.capabilities.client_secret_required;
      return undefined;
    });

  checkProviderCredentials = (p: ProviderKind) =>
    this.call("check_provider_credentials", [p], (): CredentialsCheck => {
      const info = this.provider(p);
      const name = info.capabilities.display_name;
      if (info.capabilities.sign_in === "personal_key") {
        return { accepted: true, message: `${name} needs no app credentials: you sign in with your own key` };
      }
      if (!info.credentials_configured) throw new IpcError("credentials_missing", `${name}'s client id is not configured`);
      return this.checks[p] ?? { accepted: true, message: `${name} recognised the client id and secret.` };
    });

  connectWithKey = (p: ProviderKind, key: string, keyExpiresOn: string | null) =>
    this.call("connect_with_key", [p, key, keyExpiresOn], () => {
      const info = this.provider(p);
      const name = info.capabilities.display_name;
      if (info.capabilities.sign_in !== "personal_key") {
        throw new IpcError("validation", `${name} signs in through the browser, not with a key`);
      }
      const day = keyExpiresOn?.trim() || null;
      if (day && !/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new IpcError("validation", `'${day}' is not a date (YYYY-MM-DD)`);
      if (!key.trim()) throw new IpcError("validation", "the key is empty");
      this.keys[p] = key;
      const before = this.dashboard.cards.find((c) => c.connection.provider === p);
      const connection: Connection = {
        id: before?.connection.id ?? this.nextConnectionId++,
        athlete_id: 1,
        provider: p,
        provider_user_id: "31415926",
        username: "sandbox_athlete",
        email: null,
        provider_profile: day ? { key_expires_on: day } : null,
        granted_scopes: [],
        token_expires_at: new Date(Date.now() + 86_400_000).toISOString(),
        enabled: true,
        state: "active",
        rate_limited_until: null,
        last_sync_at: before?.connection.last_sync_at ?? null,
        last_sync_error: null,
        created_at: before?.connection.created_at ?? now(),
        updated_at: now(),
        door: info.capabilities.door.id,
      };
      if (before) Object.assign(before, { connection, door: info.capabilities.door, moves_to: null });
      else this.dashboard.cards.push({ connection, latest_run: null, recordings: null, door: info.capabilities.door, moves_to: null });
      info.connected = true;
      this.emit({ type: "connection_changed", provider: p, state: connection.state });
      if (this.syncAfterConnect) this.begin(p, "after_connect");
      return connection;
    });

  takeDeepLinkOutcomes = () => this.call("take_deep_link_outcomes", [], () => this.outcomes.splice(0));
  takeFocus = () =>
    this.call("take_focus", [], () => {
      const focus = this.focus;
      this.focus = null;
      return focus;
    });

  getSettings = () => this.call("get_settings", [], () => this.settings);
  updateSettings: Backend["updateSettings"] = (patch) =>
    this.call("update_settings", [patch], () => {
      const before = this.settings.paused;
      const defined = Object.entries(patch).filter(([, v]) => v !== null && v !== undefined);
      this.settings = { ...this.settings, ...Object.fromEntries(defined) };
      const scheduler = this.dashboard.scheduler;
      if (scheduler && before !== this.settings.paused) {
        scheduler.paused = this.settings.paused;
        this.emit({ type: "scheduler_changed", status: scheduler });
      }
      return this.settings;
    });

  getAppInfo = () => this.call("get_app_info", [], () => this.info);
  setMode = (mode: AppMode) =>
    this.call("set_mode", [mode], () => {
      if (mode !== "real" && mode !== "sandbox") throw new IpcError("validation", `unknown mode '${mode}'`);
      // Saved; the real app now restarts into it (a fake has nothing to restart).
      this.mode = mode;
      this.restarts += 1;
    });
  openDataFolder = () => this.call("open_data_folder", [], () => undefined);
  openAppSettings = (p: ProviderKind) => this.call("open_app_settings", [p], () => undefined);
  openActivityPage = (id: number) => this.call("open_activity_page", [id], () => undefined);
  windowReady = () => this.call("window_ready", [], () => undefined);
  hideWindow = () => this.call("hide_window", [], () => undefined);
  quitApp = () => this.call("quit_app", [], () => undefined);

  listActivities = (filter: ActivityFilter, page: PageRequest) =>
    this.call("list_activities", [filter, page], () => this.library.activities(filter, page));
  listWorkouts = (filter: ActivityFilter, page: PageRequest) =>
    this.call("list_workouts", [filter, page], () => this.library.workouts(filter, page));
  getListTotals = (filter: ActivityFilter, workouts: boolean) =>
    this.call("get_list_totals", [filter, workouts], () => this.library.totals(filter, workouts));
  getActivity = (id: number) => this.call("get_activity", [id], () => this.library.detail(id));
  /** Workout id → the copy whose recording it shows (the athlete's pin). */
  readonly recordingPins = new Map<number, number>();
  /** Copies without a recording. */
  readonly withoutRecording = new Set<number>();
  /** Where "Save original…" saves (null: the athlete cancels the dialog). */
  saveTo: string | null = "/home/athlete/original.fit";
  getRecording = (id: number, copy: number | null) =>
    this.call("get_recording", [id, copy], () => this.library.recording(id, copy, this.recordingPins, this.withoutRecording));
  chooseRecording = (id: number, pin: boolean) =>
    this.call("choose_recording", [id, pin], () => {
      const workout = this.library.workoutOf(id);
      if (workout === null) throw new IpcError("validation", "this activity is not linked to other copies");
      if (pin) this.recordingPins.set(workout, id);
      else this.recordingPins.delete(workout);
      return this.library.recording(id, null, this.recordingPins, this.withoutRecording);
    });
  saveOriginal = (id: number) => this.call("save_original", [id], () => this.saveTo);
  /** Where the next export goes (null: the athlete cancels the dialog). */
  exportTo: string | null = "/home/athlete/tributary-2026-12-07.json";
  exportLibrary = (format: ExportFormat) =>
    this.call("export_library", [format], (): Exported | null => {
      if (this.exportTo === null) return null;
      const all = this.library.totals({ provider: null, sport: null, since: null, until: null, text: null }, false).count;
      const workouts = this.library.totals({ provider: null, sport: null, since: null, until: null, text: null }, true).count;
      return { format, path: this.exportTo, activities: all, workouts };
    });

  /** What the next "Import…" reads (null: the athlete cancels the dialog). */
  nextImport: ImportReport | null = null;
  /** Imports made, newest first. */
  imports: ImportReport[] = [];
  private readonly draggers = new Set<(over: boolean) => void>();
  importFiles = (pick: ImportPick) =>
    this.call("import_files", [pick], () => {
      const report = this.nextImport;
      if (!report) return null;
      this.emit({
        type: "import_progress",
        progress: { import_id: report.id, files: 0, bytes_done: 0, bytes_total: 100, eta_seconds: null, counts: report.counts },
      });
      this.imports.unshift(clone(report));
      this.emit({ type: "import_finished", import_id: report.id, counts: report.counts });
      return clone(report);
    });
  cancelImport = () => this.call("cancel_import", [], () => false);
  listImports = () => this.call("list_imports", [], () => clone(this.imports));
  getImport = (id: number) =>
    this.call("get_import", [id], () => {
      const found = this.imports.find((i) => i.id === id);
      if (!found) throw new IpcError("not_found", `import ${id} not found`);
      return clone(found);
    });
  forgetImport = (id: number) =>
    this.call("forget_import", [id], () => {
      const found = this.imports.find((i) => i.id === id);
      if (!found) throw new IpcError("not_found", `import ${id} not found`);
      this.imports = this.imports.filter((i) => i.id !== id);
      return found.copies;
    });
  onDragOver = (cb: (over: boolean) => void) => {
    this.draggers.add(cb);
    return () => void this.draggers.delete(cb);
  };
  /** Files dragged over the window (or away). */
  drag(over: boolean) {
    this.draggers.forEach((l) => l(over));
  }
  linkActivities = (anchor: number, other: number) =>
    this.call("link_activities", [anchor, other], () => this.library.link(anchor, other));
  unlinkActivity = (id: number) => this.call("unlink_activity", [id], () => this.library.unlink(id));
  makePrimary = (id: number) => this.call("make_primary", [id], () => this.library.makePrimary(id));
  getVolume = (period: Period, since: string, until: string) =>
    this.call("get_volume", [period, since, until], () => this.library.volume(period, since, until));
  getRunStats = (p: ProviderKind, since: string, until: string, limit: number) =>
    this.call("get_run_stats", [p, since, until, limit], () => {
      const from = Date.parse(since);
      const to = Date.parse(until);
      const within = (this.runs[p] ?? []).filter((r) => Date.parse(r.started_at) >= from && Date.parse(r.started_at) < to);
      return within.slice(0, limit).reverse().map(point); // the newest `limit`, oldest first
    });

  onCoreEvent = (cb: Listener<CoreEvent>) => this.listen(this.core, cb);
  onDeepLink = (cb: Listener<DeepLinkOutcome>) => this.listen(this.links, cb);
  onFocus = (cb: Listener<ProviderKind>) => this.listen(this.focusers, cb);
  onTrayHost = (cb: Listener<boolean>) => this.listen(this.trays, cb);
  onCloseAsked = (cb: () => void) => this.listen(this.closes, cb);

  private listen<T>(list: Listener<T>[], cb: Listener<T>) {
    list.push(cb);
    return () => {
      const i = list.indexOf(cb);
      if (i >= 0) list.splice(i, 1);
    };
  }
}
