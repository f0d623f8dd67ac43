// What the UI needs from the app's core, as plain values. The Tauri implementation (tauri.ts)
// wraps the generated bindings; tests use FakeBackend (fake.ts). Views and the store see only
// this interface, so neither depends on how commands travel.
import type {
  ActivityDetail,
  ActivityFilter,
  ActivityListing,
  AppInfo,
  AppMode,
  Connection,
  CoreEvent,
  CredentialsCheck,
  Dashboard,
  DeepLinkOutcome,
  Disconnected,
  ErrorCode,
  ImportPick,
  Exported,
  ExportFormat,
  ImportReport,
  ListTotals,
  PageRequest,
  Period,
  RecordingDetail,
  ProviderKind,
  RunPoint,
  Settings,
  SettingsPatch,
  SignInStarted,
  Summary,
  SyncMode,
  SyncRun,
  VolumeBucket,
} from "./types";

/** A command's failure: `code` is stable (branch on it), `message` is for the athlete. */
export class IpcError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "IpcError";
  }
}

export type Unsubscribe = () => void;

export interface Backend {
  getDashboard(): Promise<Dashboard>;
  getSummary(): Promise<Summary>;
  getConnectionByProvider(provider: ProviderKind): Promise<Connection>;
  getSyncHistory(provider: ProviderKind, limit: number, offset: number): Promise<SyncRun[]>;
  startSync(provider: ProviderKind, mode: SyncMode): Promise<number>;
  cancelSync(provider: ProviderKind): Promise<boolean>;
  syncAllNow(): Promise<void>;
  toggleConnection(provider: ProviderKind): Promise<Connection>;
  disconnectConnection(provider: ProviderKind, keepActivities: boolean): Promise<Disconnected>;
  /** Start a sign-in: the provider's page in the browser (`browser_opened: false` when none
   * opened: the window shows the link to open by hand). */
  connectProvider(provider: ProviderKind): Promise<SignInStarted>;
  cancelConnect(provider: ProviderKind): Promise<void>;
  setProviderCredentials(provider: ProviderKind, clientId: string, clientSecret: string | null): Promise<void>;
  /** Prove the stored client id and secret against the provider, without connecting. */
  checkProviderCredentials(provider: ProviderKind): Promise<CredentialsCheck>;
  /** Connect with the athlete's personal API key (write-only: it never comes back). The first
   * sync starts by itself; its events follow as for any connect. `keyExpiresOn`: `YYYY-MM-DD`. */
  connectWithKey(provider: ProviderKind, key: string, keyExpiresOn: string | null): Promise<Connection>;
  takeDeepLinkOutcomes(): Promise<DeepLinkOutcome[]>;
  takeFocus(): Promise<ProviderKind | null>;
  getSettings(): Promise<Settings>;
  updateSettings(patch: SettingsPatch): Promise<Settings>;
  getAppInfo(): Promise<AppInfo>;
  /** Save the choice of real accounts or the demo; the app restarts into it. */
  setMode(mode: AppMode): Promise<void>;
  openDataFolder(): Promise<void>;
  /** Open the page where the owner of `provider`'s API application manages it (the address is
   * the core's). */
  openAppSettings(provider: ProviderKind): Promise<void>;
  /** Open the provider's own page of activity `id` in the browser (the address is the core's). */
  openActivityPage(id: number): Promise<void>;
  /** The dashboard is on screen (the shell logs how long that took after "Open"). */
  windowReady(): Promise<void>;
  /** Hide the window; the app keeps syncing in the background. */
  hideWindow(): Promise<void>;
  /** Quit the app (the background sync stops with it). */
  quitApp(): Promise<void>;

  // The library. Lists page by keyset: pass a listing's `next` as the next page's `after`.
  /** Every copy, each provider's on its own row. */
  listActivities(filter: ActivityFilter, page: PageRequest): Promise<ActivityListing>;
  /** One row per session (its primary copy), with its copies. */
  listWorkouts(filter: ActivityFilter, page: PageRequest): Promise<ActivityListing>;
  /** What the list (every copy, or `workouts`) holds in all for `filter`: the exact count and
   * the sums, not one page. */
  getListTotals(filter: ActivityFilter, workouts: boolean): Promise<ListTotals>;
  getActivity(id: number): Promise<ActivityDetail>;
  /** The athlete's choices; each answers the first activity's detail as it now stands. */
  linkActivities(anchor: number, other: number): Promise<ActivityDetail>;
  unlinkActivity(id: number): Promise<ActivityDetail>;
  makePrimary(id: number): Promise<ActivityDetail>;
  /** Volume per sport and week or month, each workout counted once. `since`/`until`: ISO instants. */
  getVolume(period: Period, since: string, until: string): Promise<VolumeBucket[]>;
  /** A connection's runs started in [since, until), oldest first, at most `limit` (the newest). */
  getRunStats(provider: ProviderKind, since: string, until: string, limit: number): Promise<RunPoint[]>;

  /** Activity `id`'s recording: its workout's copies and the one shown (`copy`, else the
   * athlete's pinned choice, else the richest), fetched first if it never was. */
  getRecording(id: number, copy: number | null): Promise<RecordingDetail>;
  /** Pin copy `id` as the one its workout's recording comes from (`pin: false` unpins). */
  chooseRecording(id: number, pin: boolean): Promise<RecordingDetail>;
  /** "Save original…": the native dialog, then the original as it came. The path, or null
   * when the athlete cancelled. */
  saveOriginal(id: number): Promise<string | null>;
  /** "Export…": the whole library as CSV, JSON, SQLite or every original, through the native
   * save dialog. What was written, or null when the athlete cancelled. */
  exportLibrary(format: ExportFormat): Promise<Exported | null>;

  // Import: archives, folders and files, read by the core (the dialog and a drop are the
  // shell's: no path comes from the window).
  /** "Import…": the native dialog for files or a folder, then the import (its progress arrives
   * as events). The report, or null when the athlete cancelled the dialog. */
  importFiles(pick: ImportPick): Promise<ImportReport | null>;
  /** Stop the running import after the file in hand (what is done stays). */
  cancelImport(): Promise<boolean>;
  /** Past imports, newest first. */
  listImports(): Promise<ImportReport[]>;
  /** One import with its refused files and why. */
  getImport(id: number): Promise<ImportReport>;
  /** Forget an import: the copies it made go. Returns how many. */
  forgetImport(id: number): Promise<number>;
  /** Files are dragged over the window (true) or no longer (false): a drop imports them. */
  onDragOver(cb: (over: boolean) => void): Unsubscribe;

  /** Core events: sync progress, connection changes, the scheduler, attention. */
  onCoreEvent(cb: (event: CoreEvent) => void): Unsubscribe;
  /** The outcome of each deep link the app received (OAuth redirects, unknown links). */
  onDeepLink(cb: (outcome: DeepLinkOutcome) => void): Unsubscribe;
  /** A notification or the tray asked to show a connection. */
  onFocus(cb: (provider: ProviderKind) => void): Unsubscribe;
  /** The desktop started or stopped showing tray icons. */
  onTrayHost(cb: (present: boolean) => void): Unsubscribe;
  /** The window was closed where no tray shows the app: ask to quit or keep syncing. */
  onCloseAsked(cb: () => void): Unsubscribe;
}

/** A message for an error of any origin. */
export function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "object" && error && "message" in error) return String(error.message);
  return String(error);
}
