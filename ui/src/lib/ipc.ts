// The only module that touches the generated bindings: it unwraps results into values or an
// IpcError carrying the backend's stable code, so the rest of the UI branches on codes, never on
// message text, and never calls `invoke` by name.
import {
  commands,
  events,
  type Activity,
  type AppInfo,
  type AuthRequest,
  type CommandError,
  type Connection,
  type CoreEvent,
  type DeepLinkOutcome,
  type Disconnected,
  type ErrorCode,
  type ProviderInfo,
  type ProviderKind,
  type Summary,
  type SyncMode,
  type SyncRun,
} from "./bindings";

export type {
  Activity,
  AppInfo,
  AuthRequest,
  Connection,
  CoreEvent,
  DeepLinkOutcome,
  Disconnected,
  ErrorCode,
  ProviderInfo,
  ProviderKind,
  Summary,
  SyncRun,
};

export class IpcError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "IpcError";
  }
}

type Result<T> = { status: "ok"; data: T } | { status: "error"; error: CommandError };

async function unwrap<T>(call: Promise<Result<T>>): Promise<T> {
  const result = await call;
  if (result.status === "ok") return result.data;
  throw new IpcError(result.error.code, result.error.message);
}

export const api = {
  appInfo: () => unwrap(commands.getAppInfo()),
  providers: () => unwrap(commands.listAvailableProviders()),
  connections: () => unwrap(commands.listConnections()),
  connection: (id: number) => unwrap(commands.getConnection(id)),
  connectionByProvider: (p: ProviderKind) => unwrap(commands.getConnectionByProvider(p)),
  summary: () => unwrap(commands.getSummary()),
  connect: (p: ProviderKind) => unwrap(commands.connectProvider(p)),
  cancelConnect: (p: ProviderKind) => unwrap(commands.cancelConnect(p)),
  toggle: (p: ProviderKind) => unwrap(commands.toggleConnection(p)),
  disconnect: (p: ProviderKind, keepActivities: boolean) =>
    unwrap(commands.disconnectConnection(p, keepActivities)),
  startSync: (p: ProviderKind, mode: SyncMode = "incremental") => unwrap(commands.startSync(p, mode)),
  cancelSync: (p: ProviderKind) => unwrap(commands.cancelSync(p)),
  history: (p: ProviderKind, limit: number, offset: number) =>
    unwrap(commands.getSyncHistory(p, limit, offset)),
  status: (p: ProviderKind) => unwrap(commands.getSyncStatus(p)),
  activities: (limit: number, offset: number, provider: ProviderKind | null = null) =>
    unwrap(commands.listActivities(provider, limit, offset)),
  setCredentials: (p: ProviderKind, clientId: string, clientSecret: string | null) =>
    unwrap(commands.setProviderCredentials(p, clientId, clientSecret)),
  takeDeepLinkOutcomes: () => unwrap(commands.takeDeepLinkOutcomes()),
};

/** Core events (sync progress, connection changes). Returns the unsubscribe function. */
export function onCoreEvent(cb: (event: CoreEvent) => void): Promise<() => void> {
  return events.coreEventMessage.listen((e) => cb(e.payload));
}

/** The outcome of each deep link the app received (OAuth redirects, unknown links). */
export function onDeepLink(cb: (outcome: DeepLinkOutcome) => void): Promise<() => void> {
  return events.deepLinkOutcome.listen((e) => cb(e.payload));
}

/** A message for an error of any origin. */
export function describe(error: unknown): string {
  if (error instanceof IpcError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
