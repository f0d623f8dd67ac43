// The store's state and the pure pieces it is built from: what the UI holds, and how an event's
// payload becomes a run on a card.
import type {
  AppInfo,
  AttentionKind,
  ConnectionCard,
  ConnectionState,
  CoreEvent,
  Estimate,
  ImportProgress,
  ImportReport,
  ProviderInfo,
  ProviderKind,
  RunPoint,
  SchedulerStatus,
  Settings,
  Summary,
  SyncCounters,
  SyncRun,
  VolumeBucket,
} from "./types";

/** History rows per page. */
export const PAGE = 10;

export type Progress = {
  sync_id: number;
  counters: SyncCounters;
  /** Unknown for a run found running at load (another process, or before the window opened). */
  pages: number | null;
  api_calls: number;
  estimate: Estimate | null;
};
export type Notice = { kind: "ok" | "error"; text: string; settingsLink?: boolean };
export type AttentionEntry = {
  provider: ProviderKind;
  kind: AttentionKind;
  /** Known when it arrived as an event; the dashboard lists kinds only. */
  title: string | null;
  message: string | null;
};
export type HistoryPage = { provider: ProviderKind; page: number; runs: SyncRun[] | null };
/** The history chart's runs over its window (null: on their way). */
export type RunStats = { provider: ProviderKind; since: string; until: string; points: RunPoint[] | null };
/** The dashboard's weekly volume over its window (null: on its way). */
export type Volume = { since: string; until: string; weeks: string[]; buckets: VolumeBucket[] | null };

export type ByProvider<T> = Partial<Record<ProviderKind, T>>;

export type State = {
  status: "loading" | "ready" | "failed";
  info: AppInfo | null;
  providers: ProviderInfo[];
  cards: ByProvider<ConnectionCard>;
  summary: Summary | null;
  attention: AttentionEntry[];
  scheduler: SchedulerStatus | null;
  progress: ByProvider<Progress>;
  /** Connects sent to the browser and not yet answered by a deep link. */
  connecting: ByProvider<true>;
  /** Each sign-in's page, and whether a browser opened on it (the card offers the link). */
  signInLinks: ByProvider<{ url: string; opened: boolean }>;
  /** A command for this card is in flight. */
  busy: ByProvider<true>;
  history: HistoryPage | null;
  /** Set while a history chart is open. */
  runStats: RunStats | null;
  /** Set while the volume chart is on screen. */
  volume: Volume | null;
  settings: Settings | null;
  notice: Notice | null;
  /** The import under way (from the dialog or a drop), or null. */
  importing: ImportProgress | null;
  /** The last import's result, until dismissed. */
  importResult: ImportReport | null;
  /** Imports that ended or were forgotten in this window: the lists read again when it moves. */
  importsSeen: number;
  /** Whether the desktop shows the tray icon (null until known): without one, closing asks. */
  tray: boolean | null;
  /** The window was closed on a desktop without a tray: it asks to quit or keep syncing. */
  closeAsked: boolean;
};

export const initial: State = {
  status: "loading",
  info: null,
  providers: [],
  cards: {},
  summary: null,
  attention: [],
  scheduler: null,
  progress: {},
  connecting: {},
  signInLinks: {},
  busy: {},
  history: null,
  runStats: null,
  volume: null,
  settings: null,
  notice: null,
  importing: null,
  importResult: null,
  importsSeen: 0,
  tray: null,
  closeAsked: false,
};

export const ZERO: SyncCounters = { fetched: 0, created: 0, updated: 0, skipped: 0, failed: 0, deleted: 0 };

/** Attention kinds that mirror a connection state: they close when the state moves on. */
export const STATE_KINDS: Partial<Record<AttentionKind, ConnectionState>> = {
  needs_reauth: "needs_reauth",
  scope_missing: "scope_missing",
  deprecated: "deprecated",
};

export const without = <T>(map: ByProvider<T>, p: ProviderKind): ByProvider<T> => {
  const next = { ...map };
  delete next[p];
  return next;
};

export function isRunning(s: State, p: ProviderKind): boolean {
  return s.progress[p] !== undefined || s.cards[p]?.latest_run?.status === "running";
}

/** A run as its end event describes it, on top of what the card knew of it. */
export function endedRun(
  event: Extract<CoreEvent, { type: "sync_finished" }>,
  connectionId: number,
  latest: SyncRun | null,
  apiCalls: number | undefined,
): SyncRun {
  const base = latest?.id === event.sync_id ? latest : null;
  return {
    id: event.sync_id,
    connection_id: connectionId,
    trigger: base?.trigger ?? "scheduled",
    started_at: base?.started_at ?? new Date().toISOString(),
    rate_limit_remaining: base?.rate_limit_remaining ?? null,
    cursor: base?.cursor ?? null,
    status: event.status,
    counters: event.counters,
    api_calls: apiCalls ?? base?.api_calls ?? 0,
    completed_at: new Date().toISOString(),
    error_message: event.error,
    // The event carries no code; the history page (when open) brings it.
    error_code: null,
  };
}


/** A run as its start event describes it (the card shows it running with zero progress). */
export function startedRun(syncId: number, connectionId: number, manual: boolean): SyncRun {
  return {
    id: syncId,
    connection_id: connectionId,
    // The card does not show the trigger; history pages bring the recorded one.
    trigger: manual ? "manual" : "scheduled",
    status: "running",
    started_at: new Date().toISOString(),
    completed_at: null,
    counters: ZERO,
    api_calls: 0,
    rate_limit_remaining: null,
    error_message: null,
    error_code: null,
    cursor: null,
  };
}
