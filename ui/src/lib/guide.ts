// What the connect wizard and the disconnect notice say about each provider that the core's
// capabilities do not carry: where an API application is registered, the access tiers in force
// (late 2026, from the team's provider fact sheet, section 0b), and where an athlete revokes
// access by hand. The callback to paste, the scopes, the history window and the rate limits are
// never written here: they are derived from the capabilities, so they cannot drift from what the
// core actually does.
import type { Capabilities, ProviderKind, SignIn } from "./types";

export type Link = { url: string; label: string };

/** Where the athlete takes access back themselves: a page, or a place in an app (no URL). */
export type RevokePlace = { url: string | null; where: string };

/** A provider whose athlete registers their own API application (OAuth in the browser). */
export type AppGuide = {
  /** The portal's name, as the athlete finds it (its address is the core's
   * `capabilities.app_settings_url`, which the window opens). */
  portal: string;
  /** What to create there. */
  register: string;
  /** The portal's own name for the field the callback goes in. */
  callbackField: string;
  /** The kind of client to create, where the provider offers several (Google: "Desktop app"). */
  clientType?: string;
  /** Access tiers and the program's state, as the athlete meets them. */
  notes: string[];
  revoke: RevokePlace;
};

/** A provider the athlete signs in to with a personal API key they create (no application). */
export type KeyGuide = {
  page: Link;
  steps: string;
  notes: string[];
  revoke: RevokePlace;
};

/** Garmin's personal API key page: where a key is created, and deleted (no API revokes one). */
export const GARMIN_KEY_PAGE = "https://connect.garmin.com/app/settings/personalApiToken";

export const APP_GUIDES: Record<ProviderKind, AppGuide> = {
  strava: {
    portal: "Strava → Settings → My API Application",
    register:
      "Create an API application. Category and website can be anything; the callback goes in its “Authorization Callback Domain” field.",
    callbackField: "Authorization Callback Domain",
    notes: [
      "Creating an application needs a Strava subscription (Strava's API agreement since 2026-06-01).",
      "A new application is in single-player mode: only you, its owner, can connect. The self-serve Standard tier allows up to 10 athletes; more needs Strava's review. Over the cap Strava's page says “Limit of connected athletes exceeded”.",
      "Strava's API agreement requires removing an athlete's Strava data when access ends: a disconnect deletes it unless you choose otherwise.",
    ],
    revoke: { url: "https://www.strava.com/settings/apps", where: "Strava → Settings → My Apps" },
  },
  garmin: {
    portal: "Garmin Connect Developer Program",
    register:
      "An application in Garmin's Connect Developer Program (partner OAuth2 with PKCE; activities are pushed to your relay), with the redirect below.",
    callbackField: "Redirect URI",
    notes: [
      "Garmin's partner program is closed to new developers in 2026: this door is for organisations that already have a partner application. Everyone else connects with a personal API key.",
      "Historical data is its own permission on Garmin's consent screen, off by default: tick it to import your history.",
    ],
    revoke: { url: null, where: "Garmin Connect's account settings (connected apps)" },
  },
  polar: {
    portal: "Polar AccessLink admin",
    register:
      "Any Polar Flow account can create an AccessLink client. Register every redirect URL below: Polar accepts several and compares each one whole, port included. The client id and secret are shown once.",
    callbackField: "Redirect URLs",
    notes: [
      "New connections use AccessLink v4, Polar's current API: your whole training history, including sessions recorded in the Polar Flow phone app, with their samples, laps and route. Its tokens last hours and renew by themselves.",
      "A connection made earlier uses AccessLink v3, which lists only the last 30 days of exercises uploaded after you connected. It keeps working; its card offers the move to v4, one sign-in that keeps every activity.",
      "AccessLink v4 has no revoke API: after disconnecting, remove Tributary yourself in Polar Flow's settings.",
    ],
    revoke: { url: "https://flow.polar.com/settings", where: "Polar Flow's settings (connected services)" },
  },
  coros: {
    portal: "COROS support: “Submit an API Application”",
    register:
      "COROS is partner-only: apply with its API application form (callback domain, webhook and status URLs, a logo and a privacy policy) and wait for approval; its documentation is private. Once approved, register the redirect below.",
    callbackField: "Redirect URI",
    notes: [
      "No public door in 2026: COROS's API is partner-only. Without partner access, export your activities from the COROS app (or copy the FIT files off the watch) and bring them in with Activities → Import files…; they join the workouts your other providers have.",
    ],
    revoke: { url: null, where: "the COROS app's third-party settings" },
  },
  wahoo: {
    portal: "Wahoo developer portal",
    register:
      "Request Cloud API access and create an application with the redirect below. Tributary signs in with PKCE, so the secret is optional.",
    callbackField: "Redirect URI",
    notes: [
      "A new application is a Sandbox one until Wahoo reviews it for Production; the Sandbox budget (25 requests per 5 minutes, 100 per hour, 250 per day) is shared by everyone using it.",
      "Wahoo keeps at most 10 live tokens per athlete and application (since 2026-01-01).",
    ],
    revoke: { url: null, where: "the Wahoo app's connected-apps settings" },
  },
  google_health: {
    portal: "Google Cloud console → APIs & Services → Credentials",
    register:
      "In a Google Cloud project, enable the Google Health API, set up the OAuth consent screen (add yourself as a test user), then create an OAuth client ID of type “Desktop app”. Paste its client id, and its secret as well: Google issues one to desktop clients.",
    callbackField: "Redirect",
    clientType: "“Desktop app” client",
    notes: [
      "Google is not onboarding new projects for the Google Health API yet (late 2026): a project that already has access still works, a new one cannot get it. The legacy Fitbit Web API has been switched off.",
      "Without a project, your Fitbit history comes from Google Takeout: download your Fitbit data at takeout.google.com and bring the archive in with Activities → Import files….",
      "Its scopes are restricted: an application Google has not verified is capped at 100 users, and while the consent screen is in “Testing” Google ends each sign-in after 7 days: publish the project, or connect again each week.",
    ],
    revoke: { url: "https://myaccount.google.com/permissions", where: "your Google Account → Third-party connections" },
  },
};

export const KEY_GUIDES: Partial<Record<ProviderKind, KeyGuide>> = {
  garmin: {
    page: { url: GARMIN_KEY_PAGE, label: "Garmin Connect → Personal API key" },
    steps:
      "On Garmin Connect on the web, create a personal API key and choose how long it lives (30 to 365 days). Garmin shows it once: copy it, paste it below with the day it expires, and connect. There is no application to register.",
    notes: [
      "Garmin's partner program is closed to newcomers in 2026; the Garmin Connect Personal API (October 2026) is Garmin's door for one athlete's own, non-commercial use.",
      "Garmin emails you a week before the key expires; with its date, Tributary warns you a week ahead too.",
      "Garmin answers bursts with “too many requests, retry after …”: a sync waits as told.",
    ],
    revoke: { url: GARMIN_KEY_PAGE, where: "Garmin Connect's personal API key page" },
  },
};

/** Where to revoke by hand, for the door the provider uses in this build. */
export function revokePlace(p: ProviderKind, signIn: SignIn): RevokePlace {
  return (signIn === "personal_key" ? KEY_GUIDES[p]?.revoke : undefined) ?? APP_GUIDES[p].revoke;
}

/** Whether the provider's terms require deleting its data when the athlete disconnects. */
export function deleteOnDisconnect(p: ProviderKind): boolean {
  return p === "strava";
}

/** What the athlete registers as the redirect, derived from the capabilities:
 * - `domain`: the provider matches only a registered callback domain (Strava): the deep link's
 *   host is that domain;
 * - `uris`: the exact redirect URIs to register (the deep link, and the loopback where the
 *   provider compares the port too);
 * - `loopback`: nothing to register: the client type accepts loopback redirects on any port;
 * - `none`: no application at all (a personal key). */
export type Callback =
  | { kind: "domain"; lines: [string]; covers: string }
  | { kind: "uris"; lines: string[] }
  | { kind: "loopback"; host: string }
  | { kind: "none" };

/** The deep-link host every provider uses unless it matches a registered domain instead. */
const DEFAULT_DEEP_LINK_HOST = "oauth";

export function callback(p: ProviderKind, caps: Capabilities): Callback {
  if (caps.sign_in === "personal_key") return { kind: "none" };
  const { deep_link, loopback_port } = caps.redirects;
  const deepLink = `tributary://${caps.deep_link_host}/${p}/callback`;
  if (deep_link && caps.deep_link_host !== DEFAULT_DEEP_LINK_HOST) {
    return { kind: "domain", lines: [caps.deep_link_host], covers: deepLink };
  }
  const lines: string[] = [];
  if (deep_link) lines.push(deepLink);
  if (loopback_port !== null) lines.push(`http://${caps.loopback_host}:${loopback_port}/callback`);
  return lines.length > 0 ? { kind: "uris", lines } : { kind: "loopback", host: caps.loopback_host };
}
