// The UI's state. The dashboard is loaded once; after that each core event is APPLIED to it,
// and only what an event cannot carry is fetched again, for the one thing it concerns (a sync
// now costs at most: start_sync, get_connection_by_provider, get_summary, one history page, and
// for the charts on screen, that connection's run statistics and, if it changed activities, the
// weekly volume).
import { IpcError, describe, type Backend } from "./backend";
import { RUN_DAYS, RUN_LIMIT, volumeWindow } from "./chartData";
import { count } from "./format";
import { revokePlace } from "./guide";
import {
  PAGE,
  STATE_KINDS,
  ZERO,
  endedRun,
  initial,
  startedRun,
  without,
  type AttentionEntry,
  type ByProvider,
  type Notice,
  type State,
} from "./state";
import type {
  AppMode,
  Connection,
  ConnectionCard,
  CoreEvent,
  CredentialsCheck,
  DeepLinkOutcome,
  Disconnected,
  ExportFormat,
  Exported,
  ImportPick,
  ImportReport,
  ProviderKind,
  SettingsPatch,
  SignIn,
  SyncRun,
} from "./types";

export { PAGE, isRunning } from "./state";
export type { AttentionEntry, HistoryPage, Notice, Progress, RunStats, State, Volume } from "./state";

export class Store {
  private state: State = initial;
  private readonly listeners = new Set<() => void>();
  /** The latest request per key: an older answer arriving late is dropped. */
  private readonly tickets = new Map<string, number>();
  /** Events that arrive while the dashboard loads, applied after it. */
  private pending: CoreEvent[] | null = [];
  /** Runs this window started (their trigger is "manual"), and runs that ended. */
  private readonly manual = new Set<ProviderKind>();
  private readonly finished = new Set<number>();
  /** Runs that ended before their connection's card arrived. */
  private readonly orphans = new Map<ProviderKind, SyncRun>();
  /** Removals applied or under way, until the provider is connected again. */
  private readonly removals = new Map<ProviderKind, Promise<void>>();

  constructor(readonly backend: Backend) {}

  get(): State {
    return this.state;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(patch: Partial<State> | ((s: State) => Partial<State>)) {
    const change = typeof patch === "function" ? patch(this.state) : patch;
    this.state = { ...this.state, ...change };
    this.listeners.forEach((l) => l());
  }

  private ticket(key: string): () => boolean {
    const n = (this.tickets.get(key) ?? 0) + 1;
    this.tickets.set(key, n);
    return () => this.tickets.get(key) === n;
  }

  /** Listen, then load. Returns the function that stops listening. */
  start(): () => void {
    const stops = [
      this.backend.onCoreEvent((e) => (this.pending ? this.pending.push(e) : this.apply(e))),
      this.backend.onDeepLink((o) => this.deepLink(o)),
      this.backend.onTrayHost((present) => this.set({ tray: present })),
      this.backend.onCloseAsked(() => this.set({ closeAsked: true })),
    ];
    void this.load();
    return () => stops.forEach((stop) => stop());
  }

  /** Load again after a failed start (events meanwhile are applied after it, as at start). */
  reload() {
    this.pending = [];
    this.set({ status: "loading" });
    void this.load();
  }

  private async load() {
    try {
      const [dashboard, info] = await Promise.all([this.backend.getDashboard(), this.backend.getAppInfo()]);
      const cards: ByProvider<ConnectionCard> = {};
      for (const card of dashboard.cards) cards[card.connection.provider] = card;
      this.set((s) => ({
        status: "ready",
        info,
        // An event that came while loading is newer than the answer.
        tray: s.tray ?? info.tray,
        providers: dashboard.providers,
        cards,
        summary: dashboard.summary,
        attention: dashboard.attention.map((a) => ({ ...a, title: null, message: null })),
        scheduler: dashboard.scheduler,
      }));
    } catch (e) {
      this.set({ status: "failed" });
      this.fail(e);
    }
    const early = this.pending ?? [];
    this.pending = null;
    early.forEach((e) => this.apply(e));
    try {
      // A link that started the app was handled before we listened: show its outcome now.
      const last = (await this.backend.takeDeepLinkOutcomes()).pop();
      if (last) this.notify(last.ok ? "ok" : "error", last.message);
    } catch (e) {
      this.fail(e);
    }
  }

  // ---- events ----

  apply(event: CoreEvent) {
    switch (event.type) {
      case "sync_started":
        return this.started(event.provider, event.sync_id);
      case "sync_progress": {
        const { provider, sync_id, counters, pages, api_calls, estimate } = event;
        this.set((s) => ({ progress: { ...s.progress, [provider]: { sync_id, counters, pages, api_calls, estimate } } }));
        return;
      }
      case "sync_finished":
        return this.syncFinished(event);
      case "connection_changed":
        void this.refreshConnection(event.provider);
        return;
      case "connection_removed":
        void this.remove(event.provider);
        return;
      case "scheduler_changed":
        this.set({ scheduler: event.status });
        return;
      case "recordings_changed":
        this.recordingsSoon();
        return;
      case "import_progress":
        this.set({ importing: event.progress });
        return;
      case "import_finished":
        void this.importEnded(event.import_id);
        return;
      case "attention": {
        const { provider, kind, title, message } = event.attention;
        this.set((s) => ({
          attention: [
            ...s.attention.filter((a) => a.provider !== provider || a.kind !== kind),
            { provider, kind, title, message },
          ],
        }));
        return;
      }
    }
  }

  private started(p: ProviderKind, syncId: number) {
    // The start is seen twice (the command's answer and the event), in either order.
    if (this.finished.has(syncId) || this.state.progress[p]?.sync_id === syncId) return;
    const card = this.state.cards[p];
    const manual = this.manual.has(p);
    this.set((s) => ({
      cards: card ? { ...s.cards, [p]: { ...card, latest_run: startedRun(syncId, card.connection.id, manual) } } : s.cards,
      progress: { ...s.progress, [p]: { sync_id: syncId, counters: ZERO, pages: 0, api_calls: 0, estimate: null } },
    }));
  }

  private syncFinished(event: Extract<CoreEvent, { type: "sync_finished" }>) {
    const p = event.provider;
    this.finished.add(event.sync_id);
    this.manual.delete(p);
    const card = this.state.cards[p];
    const run = endedRun(event, card?.connection.id ?? 0, card?.latest_run ?? null, this.state.progress[p]?.api_calls);
    // A new connection's first run can end before its card arrives: the card takes it then.
    if (!card) this.orphans.set(p, run);
    this.set((s) => ({
      cards: card ? { ...s.cards, [p]: { ...card, latest_run: run } } : s.cards,
      progress: without(s.progress, p),
      // A run that got through ends a streak of failures.
      attention:
        event.status === "success" || event.status === "partial"
          ? s.attention.filter((a) => a.provider !== p || a.kind !== "repeated_failures")
          : s.attention,
    }));
    void this.refreshSummary();
    const open = this.state.history;
    if (open?.provider === p) void this.loadHistory(p, open.page);
    // The charts on screen: this connection's runs, and the volume if the run changed activities.
    if (this.state.runStats?.provider === p) void this.loadRunStats(p);
    const c = event.counters;
    if (this.state.volume && c.created + c.updated + c.deleted > 0) void this.loadVolume();
  }

  private deepLink(outcome: DeepLinkOutcome) {
    this.notify(outcome.ok ? "ok" : "error", outcome.message);
    if (outcome.provider) this.set((s) => ({ connecting: without(s.connecting, outcome.provider!) }));
    // Shown now: not again when the window is rebuilt.
    this.backend.takeDeepLinkOutcomes().catch(() => []);
  }

  // ---- targeted refetches ----

  private recordingsTimer: ReturnType<typeof setTimeout> | null = null;

  /** The cards' recording progress, read again at most once a second while downloads run (one
   * event per recording kept). */
  private recordingsSoon() {
    if (this.recordingsTimer !== null) return;
    this.recordingsTimer = setTimeout(() => {
      this.recordingsTimer = null;
      void this.refreshRecordings();
    }, 1000);
  }

  async refreshRecordings() {
    try {
      const dashboard = await this.backend.getDashboard();
      this.set((s) => {
        const cards = { ...s.cards };
        for (const fresh of dashboard.cards) {
          const p = fresh.connection.provider;
          const card = cards[p];
          if (card) cards[p] = { ...card, recordings: fresh.recordings };
        }
        return { cards };
      });
    } catch (e) {
      this.fail(e);
    }
  }

  async refreshConnection(p: ProviderKind) {
    const current = this.ticket(`connection:${p}`);
    try {
      const connection = await this.backend.getConnectionByProvider(p);
      if (current()) this.adopt(p, connection);
    } catch (e) {
      if (!current()) return;
      if (e instanceof IpcError && e.code === "not_found") this.removeCard(p, {});
      else this.fail(e);
    }
  }

  /** A connection as the core now has it, on its card (new or not). */
  private adopt(p: ProviderKind, connection: Connection) {
    const orphan = this.orphans.get(p);
    this.orphans.delete(p);
    const adopted = orphan ? { ...orphan, connection_id: connection.id } : null;
    this.removals.delete(p); // connected (again): a later removal is a new one
    this.set((s) => ({
      cards: { ...s.cards, [p]: { connection, latest_run: s.cards[p]?.latest_run ?? adopted, recordings: s.cards[p]?.recordings ?? null, ...doorOf(s, p, connection) } },
      providers: s.providers.map((i) => (i.provider === p ? { ...i, connected: true } : i)),
      connecting: without(s.connecting, p),
      attention: s.attention.filter((a) => {
        const state = STATE_KINDS[a.kind];
        return a.provider !== p || !state || (connection.enabled && connection.state === state);
      }),
    }));
  }

  async refreshSummary() {
    const current = this.ticket("summary");
    try {
      const summary = await this.backend.getSummary();
      if (current()) this.set({ summary });
    } catch (e) {
      if (current()) this.fail(e);
    }
  }

  /** A connection is gone (the event and the disconnect's answer both say so: one removal).
   * The card goes together with the new figures, its activities may have gone with it. */
  private remove(p: ProviderKind): Promise<void> {
    const pending = this.removals.get(p);
    if (pending) return pending;
    this.ticket(`connection:${p}`); // an answer still on its way must not bring it back
    const removal = this.backend.getSummary().then(
      (summary) => {
        this.removeCard(p, { summary });
        // Its activities may have gone with it: the weekly volume on screen is read again.
        if (this.state.volume) void this.loadVolume();
      },
      (e) => {
        this.removeCard(p, {});
        this.fail(e);
      },
    );
    this.removals.set(p, removal);
    return removal;
  }

  private removeCard(p: ProviderKind, also: Partial<State>) {
    this.ticket(`connection:${p}`);
    this.set((s) => ({
      ...also,
      cards: without(s.cards, p),
      progress: without(s.progress, p),
      providers: s.providers.map((i) => (i.provider === p ? { ...i, connected: false } : i)),
      attention: s.attention.filter((a) => a.provider !== p),
      history: s.history?.provider === p ? null : s.history,
    }));
  }

  // ---- history ----

  async loadHistory(p: ProviderKind, page: number) {
    const current = this.ticket("history");
    this.set((s) => {
      const same = s.history?.provider === p && s.history.page === page;
      return { history: { provider: p, page, runs: same ? s.history!.runs : null } };
    });
    try {
      const runs = await this.backend.getSyncHistory(p, PAGE, page * PAGE);
      if (!current()) return;
      this.set((s) => {
        const card = s.cards[p];
        const newest = page === 0 ? runs[0] : undefined;
        // The newest row is the card's latest run, with what events do not carry (its code).
        const fresher = card && newest && card.latest_run?.id === newest.id && !s.progress[p];
        return {
          history: { provider: p, page, runs },
          cards: fresher ? { ...s.cards, [p]: { ...card, latest_run: newest } } : s.cards,
        };
      });
    } catch (e) {
      if (!current()) return;
      this.set({ history: { provider: p, page, runs: [] } });
      this.fail(e);
    }
  }

  closeHistory() {
    this.ticket("history");
    this.set({ history: null });
  }

  // ---- charts ----

  /** A connection's runs over the last RUN_DAYS, for its history chart. */
  async loadRunStats(p: ProviderKind) {
    const current = this.ticket("run-stats");
    const until = new Date();
    const since = new Date(until.getTime() - RUN_DAYS * 86_400_000);
    this.set((s) => ({
      runStats: {
        provider: p,
        since: since.toISOString(),
        until: until.toISOString(),
        // The chart keeps what it shows while the fresh figures come.
        points: s.runStats?.provider === p ? s.runStats.points : null,
      },
    }));
    try {
      const points = await this.backend.getRunStats(p, since.toISOString(), until.toISOString(), RUN_LIMIT);
      if (current()) this.set((s) => ({ runStats: s.runStats && { ...s.runStats, points } }));
    } catch (e) {
      if (!current()) return;
      this.set((s) => ({ runStats: s.runStats && { ...s.runStats, points: [] } }));
      this.fail(e);
    }
  }

  closeRunStats() {
    this.ticket("run-stats");
    this.set({ runStats: null });
  }

  /** The weekly volume by sport over the last year, for the dashboard's chart. */
  async loadVolume() {
    const current = this.ticket("volume");
    const window = volumeWindow(Date.now());
    this.set((s) => ({ volume: { ...window, buckets: s.volume?.buckets ?? null } }));
    try {
      const buckets = await this.backend.getVolume("week", window.since, window.until);
      if (current()) this.set((s) => ({ volume: s.volume && { ...s.volume, buckets } }));
    } catch (e) {
      if (!current()) return;
      this.set((s) => ({ volume: s.volume && { ...s.volume, buckets: [] } }));
      this.fail(e);
    }
  }

  closeVolume() {
    this.ticket("volume");
    this.set({ volume: null });
  }

  // ---- commands ----

  private async act<T>(p: ProviderKind | null, call: () => Promise<T>): Promise<T | undefined> {
    if (p) this.set((s) => ({ busy: { ...s.busy, [p]: true } }));
    try {
      return await call();
    } catch (e) {
      this.fail(e);
      return undefined;
    } finally {
      if (p) this.set((s) => ({ busy: without(s.busy, p) }));
    }
  }

  private name(p: ProviderKind): string {
    return this.state.providers.find((i) => i.provider === p)?.capabilities.display_name ?? p;
  }

  // ---- import ----

  /** "Import…": the dialog, then the import; its progress and result arrive as events. */
  async importFiles(pick: ImportPick) {
    if (this.state.importing) return;
    try {
      const report = await this.backend.importFiles(pick);
      if (report) await this.importEnded(report.id, report);
    } catch (e) {
      this.set({ importing: null });
      this.fail(e);
    }
  }

  async cancelImport() {
    await this.backend.cancelImport();
  }

  /** An import ended (seen once from the command and once as an event): its result, and the
   * figures it changed. */
  private async importEnded(id: number, report?: ImportReport) {
    if (this.state.importResult?.id === id && this.state.importing === null) return;
    try {
      const result = report ?? (await this.backend.getImport(id));
      this.set((s) => ({ importing: null, importResult: result, importsSeen: s.importsSeen + 1 }));
    } catch (e) {
      this.set({ importing: null });
      this.fail(e);
    }
    void this.refreshSummary();
    if (this.state.volume) void this.loadVolume();
  }

  dismissImport() {
    this.set({ importResult: null });
  }

  /** Forget an import as a whole (its copies go). */
  async forgetImport(id: number) {
    try {
      const deleted = await this.backend.forgetImport(id);
      this.set((s) => ({
        importResult: s.importResult?.id === id ? null : s.importResult,
        importsSeen: s.importsSeen + 1,
      }));
      this.notify("ok", `Import forgotten: ${deleted === 1 ? "1 copy" : `${deleted} copies`} removed.`);
      void this.refreshSummary();
      if (this.state.volume) void this.loadVolume();
    } catch (e) {
      this.fail(e);
    }
  }

  async connect(p: ProviderKind) {
    const started = await this.act(p, () => this.backend.connectProvider(p));
    if (!started) return;
    this.set((s) => ({
      connecting: { ...s.connecting, [p]: true },
      signInLinks: { ...s.signInLinks, [p]: { url: started.authorize_url, opened: started.browser_opened } },
    }));
    if (started.browser_opened) {
      this.notify(
        "ok",
        `Continue in your browser to connect ${this.name(p)}. At the end the browser asks to open Tributary: allow it.`,
      );
    } else {
      this.notify("error", `No browser could be opened: open the sign-in link shown on ${this.name(p)}'s card in your browser.`);
    }
  }

  async cancelConnect(p: ProviderKind) {
    await this.act(p, () => this.backend.cancelConnect(p));
    this.set((s) => ({ connecting: without(s.connecting, p) }));
  }

  async sync(p: ProviderKind) {
    this.manual.add(p);
    const syncId = await this.act(p, () => this.backend.startSync(p, "incremental"));
    if (syncId === undefined) this.manual.delete(p);
    else this.started(p, syncId); // the card turns at once, whichever of answer and event is first
  }

  async cancelSync(p: ProviderKind) {
    await this.act(p, () => this.backend.cancelSync(p));
  }

  async syncAll() {
    await this.act(null, () => this.backend.syncAllNow());
  }

  async toggle(p: ProviderKind) {
    const connection = await this.act(p, () => this.backend.toggleConnection(p));
    if (!connection) return;
    this.ticket(`connection:${p}`); // this answer is newer than any refetch in flight
    this.set((s) => {
      const card = s.cards[p];
      return card ? { cards: { ...s.cards, [p]: { ...card, connection } } } : {};
    });
  }

  async disconnect(p: ProviderKind, keepActivities: boolean) {
    const done = await this.act(p, () => this.backend.disconnectConnection(p, keepActivities));
    if (!done) return;
    const signIn = this.state.providers.find((i) => i.provider === p)?.capabilities.sign_in ?? "browser";
    await this.remove(p);
    this.notify(done.revoked_at_provider || done.revoke_by_hand ? "ok" : "error", disconnectedText(this.name(p), done, keepActivities, signIn));
  }

  /** Connect with a personal API key; the key is not kept here (nor anywhere but the keyring).
   * The first sync starts by itself: its events turn the card. */
  async connectWithKey(p: ProviderKind, key: string, keyExpiresOn: string | null): Promise<boolean> {
    const connection = await this.act(p, () => this.backend.connectWithKey(p, key, keyExpiresOn));
    if (!connection) return false;
    this.ticket(`connection:${p}`); // this answer is newer than any refetch in flight
    this.adopt(p, connection);
    void this.refreshSummary();
    const syncing = connection.enabled && connection.state === "active";
    this.notify("ok", `Connected to ${this.name(p)}${syncing ? "; its first sync has started" : ""}.`);
    return true;
  }

  /** Ask the provider whether it knows the stored client id and secret (nothing is connected). */
  async checkCredentials(p: ProviderKind): Promise<CredentialsCheck | undefined> {
    return this.act(p, () => this.backend.checkProviderCredentials(p));
  }

  /** Save real accounts or the demo: the app restarts into it. */
  async setMode(mode: AppMode) {
    this.notify("ok", mode === "real" ? "Restarting with real accounts…" : "Restarting in demo mode…");
    await this.act(null, () => this.backend.setMode(mode));
  }

  /** Read how the app runs again (e.g. after the athlete unlocked the keyring). */
  async refreshInfo() {
    const current = this.ticket("info");
    try {
      const info = await this.backend.getAppInfo();
      if (current()) this.set({ info });
    } catch (e) {
      if (current()) this.fail(e);
    }
  }

  async setCredentials(p: ProviderKind, clientId: string, clientSecret: string | null): Promise<boolean> {
    const saved = await this.act(p, async () => {
      await this.backend.setProviderCredentials(p, clientId, clientSecret);
      return true;
    });
    if (!saved) return false;
    this.set((s) => {
      const card = s.cards[p];
      const run = card?.latest_run;
      // A run that failed for want of credentials no longer says what to do next.
      const cleared = run?.error_code === "credentials_missing" ? { ...run, error_code: null } : null;
      // As the core: no secret where one is required leaves the provider unconfigured.
      const configured = (i: (typeof s.providers)[number]) => clientSecret !== null || !i.capabilities.client_secret_required;
      return {
        providers: s.providers.map((i) => (i.provider === p ? { ...i, credentials_configured: configured(i) } : i)),
        cards: card && cleared ? { ...s.cards, [p]: { ...card, latest_run: cleared } } : s.cards,
      };
    });
    this.notify("ok", `Saved the API credentials for ${this.name(p)}.`);
    return true;
  }

  async loadSettings() {
    try {
      this.set({ settings: await this.backend.getSettings() });
    } catch (e) {
      this.fail(e);
    }
  }

  async updateSettings(patch: SettingsPatch) {
    const settings = await this.act(null, () => this.backend.updateSettings(patch));
    if (!settings) return;
    // The scheduler reports the pause too, when one runs here; show it without waiting.
    this.set((s) => ({
      settings,
      scheduler: s.scheduler ? { ...s.scheduler, paused: settings.paused } : null,
    }));
  }

  /** Export the whole library (the shell's save dialog), and say where it went. */
  async exportLibrary(format: ExportFormat): Promise<Exported | null> {
    const done = await this.act(null, () => this.backend.exportLibrary(format));
    if (!done) return null;
    const copies = done.activities === 1 ? "1 copy" : `${count(done.activities)} copies`;
    const workouts = done.workouts === 1 ? "1 workout" : `${count(done.workouts)} workouts`;
    this.notify("ok", `Exported ${workouts} (${copies}) to ${done.path}.`);
    return done;
  }

  /** Quit the app: the scheduler stops, running syncs are recorded as cancelled. */
  async quit() {
    this.set({ closeAsked: false });
    await this.act(null, () => this.backend.quitApp());
  }

  /** The window closed without a tray: hide it and keep syncing in the background. */
  async keepSyncing() {
    this.set({ closeAsked: false });
    await this.act(null, () => this.backend.hideWindow());
  }

  async openActivityPage(id: number) {
    await this.act(null, () => this.backend.openActivityPage(id));
  }

  async openDataFolder() {
    await this.act(null, () => this.backend.openDataFolder());
  }

  /** The provider's page for its API application, in the browser. */
  async openAppSettings(p: ProviderKind) {
    await this.act(null, () => this.backend.openAppSettings(p));
  }

  // ---- notices ----

  notify(kind: Notice["kind"], text: string, settingsLink = false) {
    this.set({ notice: { kind, text, settingsLink } });
  }

  /** Any failure is shown by its message, never swallowed. */
  fail(error: unknown) {
    const missing = error instanceof IpcError && error.code === "credentials_missing";
    this.notify("error", describe(error), missing);
  }

  dismissNotice() {
    this.set({ notice: null });
  }

  dismissAttention(entry: AttentionEntry) {
    this.set((s) => ({ attention: s.attention.filter((a) => a !== entry) }));
  }
}

/** The door a connection read again is on, and the one it may move to: the card's (the core's)
 * while its door is unchanged; after a sign-in moved it, the provider's current door, with
 * nothing left to move to (a sign-in always lands there). */
function doorOf(s: State, p: ProviderKind, connection: Connection): Pick<ConnectionCard, "door" | "moves_to"> {
  const card = s.cards[p];
  if (card && card.connection.door === connection.door) return { door: card.door, moves_to: card.moves_to };
  return { door: s.providers.find((i) => i.provider === p)?.capabilities.door ?? null, moves_to: null };
}

/** What a disconnect did, said exactly: revoked or not (and where to do it by hand), and what
 * became of the activities. */
export function disconnectedText(
  name: string,
  done: Disconnected,
  keptActivities: boolean,
  signIn: SignIn,
): string {
  const activities = keptActivities
    ? "Activities kept."
    : `${done.activities_deleted} ${done.activities_deleted === 1 ? "activity" : "activities"} deleted.`;
  if (done.revoked_at_provider) return `Disconnected ${name}. Access revoked at ${name}. ${activities}`;
  // The door has no revoke API: nothing failed, the athlete is told where to do it.
  if (done.revoke_by_hand) return `Disconnected ${name}. ${done.revoke_by_hand.replace(/[.\s]+$/, "")}. ${activities}`;
  const place = revokePlace(done.provider, signIn);
  const reason = done.revoke_error?.replace(/[.\s]+$/, "") ?? "";
  const why = reason ? `: ${reason}` : "";
  // The core's reason may already name the page (a personal key's): not twice.
  const yourself =
    place.url && reason.includes(place.url)
      ? ""
      : ` — revoke it yourself ${place.url ? `at ${place.url}` : `in ${place.where}`}`;
  return `Disconnected ${name}. Could not revoke access at ${name}${why}${yourself}. ${activities}`;
}
