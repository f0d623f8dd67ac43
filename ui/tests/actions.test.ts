// Every card situation and the one action it offers (lib/actions.ts), as a table.
import { describe, expect, it } from "vitest";
import {
  ADD_CREDENTIALS,
  NEEDS_KEYRING,
  PASTE_KEY,
  PASTE_NEW_KEY,
  cardAction,
  cardInput,
  type CardAction,
  type CardInput,
} from "../src/lib/actions";
import { when } from "../src/lib/format";
import { card, providers, run, withGarminKey } from "./fixtures";

const NOW = Date.parse("2026-11-25T14:00:00Z");
const LATER = "2026-11-25T14:15:00Z";
const EARLIER = "2026-11-25T13:45:00Z";

const garmin = { provider: "garmin", name: "Garmin", signIn: "personal_key" } as const;

const input = (over: Partial<CardInput> & { conn?: Partial<NonNullable<CardInput["connection"]>> | null } = {}): CardInput => {
  const { conn, ...rest } = over;
  return {
    provider: "strava",
    name: "Strava",
    implemented: true,
    credentialsConfigured: true,
    signIn: "browser",
    keyringProblem: false,
    keyExpiresOn: null,
    connection: conn === null ? null : { state: "active", enabled: true, rate_limited_until: null, ...conn },
    errorCode: null,
    appSettingsUrl: "https://www.strava.com/settings/api",
    running: false,
    ...rest,
  };
};

type Row = [string, CardInput, Partial<CardAction>];

const table: Row[] = [
  ["not implemented", input({ implemented: false, conn: null }), { kind: "none", label: "Coming soon", disabled: true }],
  ["not connected", input({ conn: null }), { kind: "connect", label: "Connect Strava", disabled: false, note: null, fix: null }],
  [
    "not connected, credentials missing",
    input({ conn: null, credentialsConfigured: false }),
    { kind: "connect", label: "Connect Strava", disabled: true, note: "needs your own API app credentials", fix: ADD_CREDENTIALS },
  ],
  ["active", input(), { kind: "sync", label: "Sync now", disabled: false, note: null, until: null }],
  ["running", input({ running: true }), { kind: "cancel", label: "Cancel", disabled: false }],
  ["running beats a problem state", input({ running: true, conn: { state: "needs_reauth" } }), { kind: "cancel" }],
  ["needs_reauth", input({ conn: { state: "needs_reauth" } }), { kind: "reauth", label: "Re-authorise", disabled: false }],
  ["scope_missing", input({ conn: { state: "scope_missing" } }), { kind: "reauth", label: "Connect again" }],
  [
    "deprecated (Fitbit's Web API)",
    input({ provider: "google_health", name: "Fitbit (Google Health API)", conn: { state: "deprecated" } }),
    { kind: "reauth", label: "Move to Google Health API", note: "the provider retired this API" },
  ],
  ["deprecated, another provider", input({ conn: { state: "deprecated" } }), { kind: "reauth", label: "Connect again" }],
  [
    "waiting for the browser: no second sign-in",
    input({ conn: null, connecting: true }),
    { kind: "connect", label: "Connect Strava", disabled: true, note: "waiting for the browser" },
  ],
  [
    "re-authorising, waiting for the browser",
    input({ conn: { state: "needs_reauth" }, connecting: true }),
    { kind: "reauth", disabled: true, note: "waiting for the browser" },
  ],
  [
    "app_inactive: retry and the application's page, never a sign-in",
    input({ conn: { state: "app_inactive" }, errorCode: "app_inactive" }),
    {
      kind: "sync",
      label: "Try again",
      disabled: false,
      note: "the API application is inactive: its owner must re-activate it",
      appSettings: "Open Strava's API settings",
    },
  ],
  [
    "app_inactive without a page for the application",
    input({ conn: { state: "app_inactive" }, appSettingsUrl: null }),
    { kind: "sync", label: "Try again", appSettings: null },
  ],
  [
    "connected, credentials missing",
    input({ credentialsConfigured: false }),
    { kind: "settings", label: ADD_CREDENTIALS, disabled: false, note: "API credentials are missing" },
  ],
  [
    "last run failed: credentials_missing",
    input({ conn: { state: "error" }, errorCode: "credentials_missing" }),
    { kind: "settings", label: ADD_CREDENTIALS },
  ],
  [
    "rate-limited until later",
    input({ conn: { state: "rate_limited", rate_limited_until: LATER } }),
    { kind: "sync", label: "Sync now", disabled: true, note: `continues at ${when(LATER)}`, until: LATER },
  ],
  [
    "rate limit over: retry",
    input({ conn: { state: "rate_limited", rate_limited_until: EARLIER } }),
    { kind: "sync", label: "Sync now", disabled: false, note: null, until: null },
  ],
  ["rate-limited, no end known", input({ conn: { state: "rate_limited" } }), { kind: "sync", disabled: false }],
  ["error: retry", input({ conn: { state: "error" }, errorCode: "provider" }), { kind: "sync", label: "Sync now", disabled: false }],
  [
    "error, offline: retry",
    input({ conn: { state: "error" }, errorCode: "network" }),
    { kind: "sync", disabled: false, note: "could not reach Strava" },
  ],
  ["switched off", input({ conn: { state: "disabled", enabled: false } }), { kind: "sync", disabled: true, note: "switched off" }],
  ["switched off beats re-authorise", input({ conn: { state: "needs_reauth", enabled: false } }), { kind: "sync", disabled: true }],
  // a personal key (Garmin's Personal API): pasted in the wizard, never a browser sign-in
  [
    "key, not connected",
    input({ ...garmin, conn: null }),
    { kind: "connect", label: PASTE_KEY, key: true, disabled: false, note: null, fix: null },
  ],
  ["key, active", input({ ...garmin }), { kind: "sync", label: "Sync now", key: false }],
  [
    "key refused",
    input({ ...garmin, conn: { state: "needs_reauth" } }),
    { kind: "reauth", label: PASTE_NEW_KEY, key: true, note: "Garmin refused the key" },
  ],
  [
    "key past its day",
    input({ ...garmin, keyExpiresOn: "2026-11-24" }),
    { kind: "reauth", label: PASTE_NEW_KEY, key: true, note: "the key expired" },
  ],
  ["key expiring today still syncs", input({ ...garmin, keyExpiresOn: "2026-11-25" }), { kind: "sync", disabled: false }],
  ["key past its day, running: cancel first", input({ ...garmin, keyExpiresOn: "2026-11-24", running: true }), { kind: "cancel" }],
  ["key: credentials never missing", input({ ...garmin, credentialsConfigured: false }), { kind: "sync" }],
  // no keyring: no sign-in can keep its tokens
  [
    "keyring problem, not connected",
    input({ conn: null, keyringProblem: true }),
    { kind: "connect", disabled: true, note: NEEDS_KEYRING },
  ],
  [
    "keyring problem, credentials missing too",
    input({ conn: null, keyringProblem: true, credentialsConfigured: false }),
    { kind: "connect", disabled: true, note: NEEDS_KEYRING, fix: null },
  ],
  [
    "keyring problem, re-authorise",
    input({ conn: { state: "needs_reauth" }, keyringProblem: true }),
    { kind: "reauth", label: "Re-authorise", disabled: true, note: NEEDS_KEYRING },
  ],
  [
    "keyring problem, a key",
    input({ ...garmin, conn: null, keyringProblem: true }),
    { kind: "connect", label: PASTE_KEY, disabled: true, key: true, note: NEEDS_KEYRING },
  ],
  ["keyring problem does not stop a sync", input({ keyringProblem: true }), { kind: "sync", disabled: false }],
];

describe("cardAction", () => {
  it.each(table)("%s", (_name, given, expected) => {
    expect(cardAction(given, NOW)).toMatchObject(expected);
  });

  it("is decided by the clock: the same rate-limited card before and after its end", () => {
    const limited = input({ conn: { state: "rate_limited", rate_limited_until: LATER } });
    expect(cardAction(limited, Date.parse(LATER) - 1).disabled).toBe(true);
    expect(cardAction(limited, Date.parse(LATER) + 1).disabled).toBe(false);
  });

  it("an older door that still works: the sync stays the action, the move sits beside it", () => {
    const base = cardInput(providers().find((p) => p.provider === "polar")!, card("polar"), false);
    const input = { ...base, movesTo: "AccessLink v4" };
    expect(cardAction(input, NOW)).toMatchObject({ kind: "sync", label: "Sync now", move: "Move to AccessLink v4" });
    // Not while a run goes, a sign-in waits, or no sign-in could keep its tokens.
    expect(cardAction({ ...input, running: true }, NOW).move).toBeNull();
    expect(cardAction({ ...input, connecting: true }, NOW).move).toBeNull();
    expect(cardAction({ ...input, keyringProblem: true }, NOW).move).toBeNull();
    // A state that needs the athlete keeps its own one action.
    const reauth = { ...input, connection: { ...input.connection!, state: "needs_reauth" as const } };
    expect(cardAction(reauth, NOW)).toMatchObject({ kind: "reauth", move: null });
    expect(cardAction(base, NOW).move).toBeNull();
    // Onto a door whose sign-in is a key (Garmin's Personal API): the move opens the wizard.
    expect(cardAction({ ...input, signIn: "personal_key" }, NOW)).toMatchObject({ moveByKey: true });
    // A retired door: the one action is the move, named by the core.
    const retired = { ...input, connection: { ...input.connection!, state: "deprecated" as const } };
    expect(cardAction(retired, NOW)).toMatchObject({ kind: "reauth", label: "Move to AccessLink v4", move: null });
    expect(cardAction({ ...retired, provider: "google_health", movesTo: null }, NOW).label).toBe("Move to Google Health API");
  });

  it("reads its input from the dashboard's provider and card", () => {
    const info = providers({ polar: false }).find((p) => p.provider === "polar")!;
    const polar = card("polar", { state: "error" }, run(5, 0, { status: "failed", error_code: "credentials_missing" }));
    expect(cardInput(info, polar, false)).toEqual({
      provider: "polar",
      name: "Polar",
      implemented: true,
      credentialsConfigured: false,
      signIn: "browser",
      keyringProblem: false,
      keyExpiresOn: null,
      connection: polar.connection,
      errorCode: "credentials_missing",
      appSettingsUrl: "https://admin.polaraccesslink.com",
      running: false,
      connecting: false,
      movesTo: null,
    });
    expect(cardInput(info, undefined, false).connection).toBeNull();
    const strava = providers({}).find((p) => p.provider === "strava")!;
    expect(cardInput(strava, undefined, false).appSettingsUrl).toBe("https://www.strava.com/settings/api");
    const keyed = withGarminKey().find((p) => p.provider === "garmin")!;
    const garminCard = card("garmin", { provider_profile: { key_expires_on: "2027-02-01" } });
    expect(cardInput(keyed, garminCard, false, true)).toMatchObject({
      signIn: "personal_key",
      keyringProblem: true,
      keyExpiresOn: "2027-02-01",
    });
  });
});
