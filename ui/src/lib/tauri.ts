// The Backend over Tauri: the only module that loads the generated bindings. It unwraps each
// result into its value or an IpcError carrying the core's stable code.
import { commands, events, type CommandError } from "./bindings";
import { getCurrentWebview } from "@tauri-apps/api/webview";
import { IpcError, type Backend, type Unsubscribe } from "./backend";

type Result<T> = { status: "ok"; data: T } | { status: "error"; error: CommandError };

async function unwrap<T>(call: Promise<Result<T>>): Promise<T> {
  const result = await call;
  if (result.status === "ok") return result.data;
  throw new IpcError(result.error.code, result.error.message);
}

const done = async (call: Promise<Result<null>>): Promise<void> => {
  await unwrap(call);
};

/** `listen` is asynchronous; callers get a plain function that unlistens once it can. */
function subscription(listening: Promise<() => void>): Unsubscribe {
  return () => void listening.then((unlisten) => unlisten());
}

export class TauriBackend implements Backend {
  getDashboard = () => unwrap(commands.getDashboard());
  getSummary = () => unwrap(commands.getSummary());
  getConnectionByProvider: Backend["getConnectionByProvider"] = (p) => unwrap(commands.getConnectionByProvider(p));
  getSyncHistory: Backend["getSyncHistory"] = (p, limit, offset) => unwrap(commands.getSyncHistory(p, limit, offset));
  startSync: Backend["startSync"] = (p, mode) => unwrap(commands.startSync(p, mode));
  cancelSync: Backend["cancelSync"] = (p) => unwrap(commands.cancelSync(p));
  syncAllNow = () => done(commands.syncAllNow());
  toggleConnection: Backend["toggleConnection"] = (p) => unwrap(commands.toggleConnection(p));
  disconnectConnection: Backend["disconnectConnection"] = (p, keep) => unwrap(commands.disconnectConnection(p, keep));
  connectProvider: Backend["connectProvider"] = (p) => unwrap(commands.connectProvider(p));
  cancelConnect: Backend["cancelConnect"] = (p) => done(commands.cancelConnect(p));
  setProviderCredentials: Backend["setProviderCredentials"] = (p, id, secret) =>
    done(commands.setProviderCredentials(p, id, secret));
  checkProviderCredentials: Backend["checkProviderCredentials"] = (p) => unwrap(commands.checkProviderCredentials(p));
  connectWithKey: Backend["connectWithKey"] = (p, key, expires) => unwrap(commands.connectWithKey(p, key, expires));
  takeDeepLinkOutcomes = () => unwrap(commands.takeDeepLinkOutcomes());
  takeFocus = () => unwrap(commands.takeFocus());
  getSettings = () => unwrap(commands.getSettings());
  updateSettings: Backend["updateSettings"] = (patch) => unwrap(commands.updateSettings(patch));
  getAppInfo = () => unwrap(commands.getAppInfo());
  setMode: Backend["setMode"] = (mode) => done(commands.setMode(mode));
  openDataFolder = () => done(commands.openDataFolder());
  openAppSettings: Backend["openAppSettings"] = (p) => done(commands.openAppSettings(p));
  openActivityPage: Backend["openActivityPage"] = (id) => done(commands.openActivityPage(id));
  windowReady = () => done(commands.windowReady());
  hideWindow = () => done(commands.hideWindow());
  quitApp = () => done(commands.quitApp());

  listActivities: Backend["listActivities"] = (filter, page) => unwrap(commands.listActivities(filter, page));
  listWorkouts: Backend["listWorkouts"] = (filter, page) => unwrap(commands.listWorkouts(filter, page));
  getListTotals: Backend["getListTotals"] = (filter, workouts) => unwrap(commands.getListTotals(filter, workouts));
  getActivity: Backend["getActivity"] = (id) => unwrap(commands.getActivity(id));
  linkActivities: Backend["linkActivities"] = (anchor, other) => unwrap(commands.linkActivities(anchor, other));
  unlinkActivity: Backend["unlinkActivity"] = (id) => unwrap(commands.unlinkActivity(id));
  makePrimary: Backend["makePrimary"] = (id) => unwrap(commands.makePrimary(id));
  getVolume: Backend["getVolume"] = (period, since, until) => unwrap(commands.getVolume(period, since, until));
  getRunStats: Backend["getRunStats"] = (p, since, until, limit) => unwrap(commands.getRunStats(p, since, until, limit));
  getRecording: Backend["getRecording"] = (id, copy) => unwrap(commands.getRecording(id, copy));
  chooseRecording: Backend["chooseRecording"] = (id, pin) => unwrap(commands.chooseRecording(id, pin));
  saveOriginal: Backend["saveOriginal"] = (id) => unwrap(commands.saveOriginal(id));
  exportLibrary: Backend["exportLibrary"] = (format) => unwrap(commands.exportLibrary(format));

  importFiles: Backend["importFiles"] = (pick) => unwrap(commands.importFiles(pick));
  cancelImport: Backend["cancelImport"] = () => commands.cancelImport();
  listImports: Backend["listImports"] = () => unwrap(commands.listImports());
  getImport: Backend["getImport"] = (id) => unwrap(commands.getImport(id));
  forgetImport: Backend["forgetImport"] = (id) => unwrap(commands.forgetImport(id));
  // The drop itself is handled by the shell; the window only shows where to drop.
  onDragOver: Backend["onDragOver"] = (cb) =>
    subscription(getCurrentWebview().onDragDropEvent((e) => cb(e.payload.type === "enter" || e.payload.type === "over")));
  onCoreEvent: Backend["onCoreEvent"] = (cb) => subscription(events.coreEventMessage.listen((e) => cb(e.payload)));
  onDeepLink: Backend["onDeepLink"] = (cb) => subscription(events.deepLinkOutcome.listen((e) => cb(e.payload)));
  onFocus: Backend["onFocus"] = (cb) => subscription(events.focusRequested.listen((e) => cb(e.payload.provider)));
  onTrayHost: Backend["onTrayHost"] = (cb) => subscription(events.trayHostChanged.listen((e) => cb(e.payload.present)));
  onCloseAsked: Backend["onCloseAsked"] = (cb) => subscription(events.closeAsked.listen(() => cb()));
}
