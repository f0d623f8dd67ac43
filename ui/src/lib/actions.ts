// The one place that decides a card's one-click action. Everything the decision depends on is
// an argument (the current time included), so the table test in tests/actions.test.ts covers it.
import { WAITS_FOR_ATHLETE } from "./bindings";
import { keyExpiresOn, keyExpiry, when } from "./format";
import type { Connection, ConnectionCard, ErrorCode, ProviderInfo, ProviderKind, SignIn } from "./types";

export type CardInput = {
  provider: ProviderKind;
  name: string;
  implemented: boolean;
  credentialsConfigured: boolean;
  /** Browser OAuth, or a personal API key the athlete pastes (Garmin's Personal API). */
  signIn: SignIn;
  /** The keyring cannot be used: no sign-in could keep its tokens. */
  keyringProblem: boolean;
  /** The day the personal key expires, when the athlete gave it. */
  keyExpiresOn: string | null;
  connection: Pick<Connection, "state" | "enabled" | "rate_limited_until"> | null;
  /** The latest run's error code, if it failed. */
  errorCode: ErrorCode | null;
  /** Where the owner of the provider's API application manages it, if it has such a page. */
  appSettingsUrl: string | null;
  running: boolean;
  /** A sign-in was sent to the browser and has not come back yet. */
  connecting?: boolean;
  /** The provider's newer door, when the connection is on an older one that still works (the
   * core's `ConnectionCard.moves_to`): its name. */
  movesTo?: string | null;
};

export type CardAction = {
  /** What a click does: connect (or reconnect), sync, cancel the run, open Settings, nothing. */
  kind: "connect" | "reauth" | "sync" | "cancel" | "settings" | "none";
  label: string;
  disabled: boolean;
  /** Why it is disabled, or when it changes, in a few words. */
  note: string | null;
  /** A link to Settings that removes the reason (its label). */
  fix: string | null;
  /** When the action changes by itself (the end of a rate limit): the card wakes up then. */
  until: string | null;
  /** A connect or re-authorise that opens the key form in Settings instead of the browser. */
  key: boolean;
  /** A second button that opens the provider's page for its API application (its label). */
  appSettings: string | null;
  /** A second button that signs in through the provider's newer door (its label). */
  move: string | null;
  /** That sign-in is a personal key pasted in the wizard, not the browser. */
  moveByKey: boolean;
};

const action = (kind: CardAction["kind"], label: string, more: Partial<CardAction> = {}): CardAction => ({
  kind,
  label,
  disabled: false,
  note: null,
  fix: null,
  until: null,
  key: false,
  appSettings: null,
  move: null,
  moveByKey: false,
  ...more,
});

export const ADD_CREDENTIALS = "Add API credentials";
export const PASTE_KEY = "Paste your key";
export const PASTE_NEW_KEY = "Paste a new key";
export const NEEDS_KEYRING = "needs a working keyring (see the message at the top)";

/** States in which a key connection's only useful click is a new key: those only the athlete
 * can fix (the core's ConnectionState::WAITS_FOR_ATHLETE, from the bindings). */
const KEY_REFUSED: ReadonlySet<string> = new Set(WAITS_FOR_ATHLETE);

export function cardAction(input: CardInput, now: number): CardAction {
  const decided = decide(input, now);
  // A connection on an older door that still works keeps its action; the move to the newer
  // door is offered beside it (one sign-in), when a sign-in could happen now.
  const movable =
    input.movesTo &&
    input.connection &&
    !input.running &&
    !input.connecting &&
    !input.keyringProblem &&
    decided.kind === "sync";
  return movable ? { ...decided, move: `Move to ${input.movesTo}`, moveByKey: input.signIn === "personal_key" } : decided;
}

function decide(input: CardInput, now: number): CardAction {
  const c = input.connection;
  const keyed = input.signIn === "personal_key";
  // Every sign-in ends with tokens (or the key) in the keyring: without one, none can last.
  const signIn = (kind: "connect" | "reauth", label: string, more: Partial<CardAction> = {}) =>
    action(kind, label, { ...more, key: keyed, ...(input.keyringProblem ? { disabled: true, note: NEEDS_KEYRING } : {}) });
  if (!input.implemented) return action("none", "Coming soon", { disabled: true });
  // One sign-in at a time: the card waits for the browser's answer (or "Stop waiting").
  if (input.connecting && !keyed) {
    return c
      ? action("reauth", "Re-authorise", { disabled: true, note: "waiting for the browser" })
      : action("connect", `Connect ${input.name}`, { disabled: true, note: "waiting for the browser" });
  }
  if (!c) {
    if (keyed || input.credentialsConfigured) return signIn("connect", keyed ? PASTE_KEY : `Connect ${input.name}`);
    if (input.keyringProblem) return signIn("connect", `Connect ${input.name}`);
    return action("connect", `Connect ${input.name}`, {
      disabled: true,
      note: "needs your own API app credentials",
      fix: ADD_CREDENTIALS,
    });
  }
  if (input.running) return action("cancel", "Cancel");
  // Without credentials every run fails the same way: adding them is the only useful click. A
  // key connection has no application: its credential is the key.
  if (!keyed && (!input.credentialsConfigured || input.errorCode === "credentials_missing")) {
    return action("settings", ADD_CREDENTIALS, { note: "API credentials are missing" });
  }
  if (!c.enabled) return action("sync", "Sync now", { disabled: true, note: "switched off" });
  if (keyed) {
    // Past its day the key is refused at the next exchange: say so before a run fails on it.
    const expired = input.keyExpiresOn !== null && keyExpiry(input.keyExpiresOn, now).state === "expired";
    if (expired) return signIn("reauth", PASTE_NEW_KEY, { note: "the key expired" });
    if (KEY_REFUSED.has(c.state) || input.errorCode === "credentials_missing") {
      return signIn("reauth", PASTE_NEW_KEY, { note: `${input.name} refused the key` });
    }
  }
  switch (c.state) {
    case "needs_reauth":
      return signIn("reauth", "Re-authorise", { note: "sign in again to keep syncing" });
    case "scope_missing":
      return signIn("reauth", "Connect again", { note: "keep every permission ticked" });
    case "deprecated":
      // The provider retired the door this connection is on: connecting again moves it to the
      // current one (the core names it; Fitbit's Web API predates doors and is named here).
      return signIn(
        "reauth",
        input.movesTo ? `Move to ${input.movesTo}` : input.provider === "google_health" ? "Move to Google Health API" : "Connect again",
        { note: "the provider retired this API" },
      );
  }
  // The provider refuses the API application itself: signing in cannot help, its owner must
  // re-activate it. The core probes daily; a click retries now.
  if (c.state === "app_inactive") {
    return action("sync", "Try again", {
      note: "the API application is inactive: its owner must re-activate it",
      appSettings: input.appSettingsUrl ? `Open ${input.name}'s API settings` : null,
    });
  }
  // The core refuses to start before the limit ends, whatever the state says; after it, a
  // click is the retry, with no reload: the card wakes up at `until`.
  const until = c.rate_limited_until;
  if (until && Date.parse(until) > now) {
    return action("sync", "Sync now", { disabled: true, note: `continues at ${when(until)}`, until });
  }
  if (input.errorCode === "network") return action("sync", "Sync now", { note: `could not reach ${input.name}` });
  return action("sync", "Sync now");
}

/** The decision's input from what the dashboard holds. */
export function cardInput(
  info: ProviderInfo,
  card: ConnectionCard | undefined,
  running: boolean,
  keyringProblem = false,
  connecting = false,
): CardInput {
  return {
    provider: info.provider,
    name: info.capabilities.display_name,
    implemented: info.capabilities.implemented,
    credentialsConfigured: info.credentials_configured,
    signIn: info.capabilities.sign_in,
    keyringProblem,
    keyExpiresOn: keyExpiresOn(card?.connection),
    connection: card?.connection ?? null,
    errorCode: card?.latest_run?.error_code ?? null,
    appSettingsUrl: info.capabilities.app_settings_url,
    running,
    connecting,
    movesTo: card?.moves_to?.name ?? null,
  };
}
