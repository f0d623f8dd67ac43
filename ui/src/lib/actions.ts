// The one place that decides a card's one-click action. Everything the decision depends on is
// an argument (the current time included), so the table test in tests/actions.test.ts covers it.
import { when } from "./format";
import type { Connection, ConnectionCard, ErrorCode, ProviderInfo, ProviderKind } from "./types";

export type CardInput = {
  provider: ProviderKind;
  name: string;
  implemented: boolean;
  credentialsConfigured: boolean;
  connection: Pick<Connection, "state" | "enabled" | "rate_limited_until"> | null;
  /** The latest run's error code, if it failed. */
  errorCode: ErrorCode | null;
  running: boolean;
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
};

const action = (kind: CardAction["kind"], label: string, more: Partial<CardAction> = {}): CardAction => ({
  kind,
  label,
  disabled: false,
  note: null,
  fix: null,
  until: null,
  ...more,
});

export const ADD_CREDENTIALS = "Add API credentials";

export function cardAction(input: CardInput, now: number): CardAction {
  const c = input.connection;
  if (!input.implemented) return action("none", "Coming soon", { disabled: true });
  if (!c) {
    return input.credentialsConfigured
      ? action("connect", `Connect ${input.name}`)
      : action("connect", `Connect ${input.name}`, {
          disabled: true,
          note: "needs your own API app credentials",
          fix: ADD_CREDENTIALS,
        });
  }
  if (input.running) return action("cancel", "Cancel");
  // Without credentials every run fails the same way: adding them is the only useful click.
  if (!input.credentialsConfigured || input.errorCode === "credentials_missing") {
    return action("settings", ADD_CREDENTIALS, { note: "API credentials are missing" });
  }
  if (!c.enabled) return action("sync", "Sync now", { disabled: true, note: "switched off" });
  switch (c.state) {
    case "needs_reauth":
      return action("reauth", "Re-authorise", { note: "sign in again to keep syncing" });
    case "scope_missing":
      return action("reauth", "Connect again", { note: "keep every permission ticked" });
    case "deprecated":
      // Fitbit's Web API is the one retired so far: connecting again moves it to its successor.
      return action("reauth", input.provider === "google_health" ? "Move to Google Health API" : "Connect again", {
        note: "the provider retired this API",
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
export function cardInput(info: ProviderInfo, card: ConnectionCard | undefined, running: boolean): CardInput {
  return {
    provider: info.provider,
    name: info.capabilities.display_name,
    implemented: info.capabilities.implemented,
    credentialsConfigured: info.credentials_configured,
    connection: card?.connection ?? null,
    errorCode: card?.latest_run?.error_code ?? null,
    running,
  };
}
