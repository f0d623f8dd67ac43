// Presentation helpers: pure, locale-aware, unit-tested.
import type {
  RecordingProgress,
  AttentionKind,
  Capabilities,
  Connection,
  ConnectionState,
  CopyRef,
  Estimate,
  LinkChoice,
  ProviderInfo,
  RateLimitWindow,
  Sport,
  SyncCounters,
  SyncRun,
  Source,
} from "./types";

export const STATE_LABELS: Record<ConnectionState, string> = {
  active: "Active",
  disabled: "Disabled",
  needs_reauth: "Needs re-authorisation",
  scope_missing: "Permission missing",
  rate_limited: "Rate-limited",
  deprecated: "Deprecated",
  error: "Error",
  app_inactive: "API application inactive",
};

/** Date and time, in the athlete's locale ("never" for none). */
export function when(iso: string | null | undefined): string {
  if (!iso) return "never";
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** Time of day, in the athlete's locale, written as `when` writes it ("4:07 PM", not "04:07 PM"). */
export function clock(iso: string): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour: "numeric", minute: "2-digit" });
}

/** Time of day when it is today, else date and time. */
export function soon(iso: string, now: number): string {
  const day = (t: number) => new Date(t).toDateString();
  return day(Date.parse(iso)) === day(now) ? clock(iso) : when(iso);
}

export function counts(run: SyncRun): string {
  const c = run.counters;
  return `${c.fetched} fetched · ${c.created} new · ${c.updated} updated · ${c.skipped} unchanged · ${c.failed} failed`;
}

/** The running card's line: what the run has done so far. */
export function progressLine(counters: SyncCounters, pages: number | null, apiCalls: number): string {
  const parts = [`fetched ${counters.fetched}`, `new ${counters.created}`];
  if (pages !== null) parts.push(`page ${pages}`);
  parts.push(`API calls ${apiCalls}`);
  return parts.join(" · ");
}

/** A rough duration: estimates are only as good as the provider's pace, so no false precision. */
export function about(seconds: number): string {
  if (seconds < 60) return "under a minute";
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `about ${minutes} min`;
  if (minutes < 36 * 60) {
    const h = Math.floor(minutes / 60);
    const m = Math.round((minutes % 60) / 5) * 5;
    return m === 0 || m === 60 ? `about ${m === 60 ? h + 1 : h} h` : `about ${h} h ${m} min`;
  }
  return `about ${Math.round(minutes / 1440)} days`;
}

/** Where a connection's recordings stand, in plain words: "Original files: 1,240 of 3,000 ·
 * about 6 h at Strava's limit". Null when the provider offers none. */
export function recordingsLine(progress: RecordingProgress | null | undefined, name: string): string | null {
  if (!progress || progress.offers === "none" || progress.counts.total === 0) return null;
  const what = progress.offers === "streams" ? "Recorded streams" : "Original files";
  const c = progress.counts;
  const done = c.stored + c.unreadable + c.none + c.given_up;
  const parts = [
    c.pending === 0 ? `${what}: all ${count(c.total)} fetched` : `${what}: ${count(done)} of ${count(c.total)}`,
  ];
  if (c.pending > 0 && progress.eta_seconds !== null) parts.push(`${about(progress.eta_seconds)} at ${name}'s limit`);
  if (c.none > 0) parts.push(`${count(c.none)} without a recording`);
  if (c.unreadable > 0) parts.push(`${count(c.unreadable)} unreadable (kept)`);
  if (c.given_up > 0) parts.push(`${count(c.given_up)} could not be fetched`);
  return parts.join(" · ");
}

/** The ETA line: time left and, when the provider's budget forces a pause, when it continues. */
export function etaLine(estimate: Estimate): string {
  const left = `${about(estimate.eta_seconds)} left`;
  if (!estimate.continues_at) return left;
  const after = estimate.window ? ` after the ${estimate.window} window` : "";
  return `${left} · continues at ${clock(estimate.continues_at)}${after}`;
}

const REFRESH_LABELS: Record<Capabilities["refresh"], string> = {
  none: "no refresh token",
  rotating: "refresh tokens",
  key_exchange: "key exchanged for tokens",
};

/** A rate limit's window in words: "15 min" → "15 minutes", "1 min" → "minute", "day". */
function windowWords(window: string): string {
  const m = /^(\d+)\s*(s|sec|min|h|hour|day)s?$/.exec(window.trim());
  if (!m) return window;
  const n = Number(m[1]);
  const unit = { s: "second", sec: "second", min: "minute", h: "hour", hour: "hour", day: "day" }[m[2] as "s"];
  return n === 1 ? unit : `${n} ${unit}s`;
}

/** What a provider gives, in the athlete's words, for the card's surface (the technical line is
 * one click away: `capabilityLine`). */
export function plainCapabilityLine(info: ProviderInfo): string {
  const c = info.capabilities;
  const parts = [
    c.history_window_days ? `Syncs the last ${c.history_window_days} days` : "Syncs your whole history",
  ];
  if (c.delivery === "push_inbox") parts.push("new activities arrive through your relay");
  if (c.sign_in === "personal_key") parts.push("signs in with your personal key");
  const tightest = c.rate_limits[0];
  if (tightest) parts.push(`up to ${count(tightest.limit)} requests every ${windowWords(tightest.window)}`);
  return parts.join(" · ");
}

/** A one-line description of how a provider connects and what it allows (the technical facts). */
export function capabilityLine(info: ProviderInfo): string {
  const c = info.capabilities;
  const parts = [
    c.sign_in === "personal_key"
      ? "personal API key"
      : c.pkce
        ? "OAuth2 + PKCE"
        : c.client_auth === "basic"
          ? "OAuth2 (Basic auth)"
          : "OAuth2",
    c.delivery === "push_inbox" ? "push (via relay)" : "pull",
    c.history_window_days ? `history: ${c.history_window_days} days` : "full history",
    REFRESH_LABELS[c.refresh],
  ];
  const tightest = c.rate_limits[0];
  if (tightest) parts.push(`${tightest.limit}/${tightest.window} per ${tightest.shared_by}`);
  return parts.join(" · ");
}

/** A documented rate limit as the wizard lists it. */
export function rateLimitLine(w: RateLimitWindow): string {
  const who = w.shared_by === "app" ? "shared by everyone using your application" : "per athlete";
  return `${count(w.limit)} requests per ${w.window}, ${who}`;
}

// ---- personal API keys ----

/** How many days before its expiry a key is flagged. */
export const KEY_WARNING_DAYS = 7;

/** The day a personal key expires (`YYYY-MM-DD`), as the athlete gave it at connect. */
export function keyExpiresOn(connection: Pick<Connection, "provider_profile"> | null | undefined): string | null {
  const profile = connection?.provider_profile;
  if (!profile || typeof profile !== "object" || Array.isArray(profile)) return null;
  const day = profile.key_expires_on;
  return typeof day === "string" && /^\d{4}-\d{2}-\d{2}$/.test(day) ? day : null;
}

/** A `YYYY-MM-DD` day at local midnight (a key expires on a calendar day, not an instant). */
function localDay(day: string): Date {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(y!, m! - 1, d!);
}

/** A calendar day in the athlete's locale. */
export function dayLabel(day: string): string {
  return localDay(day).toLocaleDateString(undefined, { dateStyle: "medium" });
}

export type KeyExpiry = { state: "ok" | "soon" | "expired"; days: number; text: string };

/** Where a key stands on `now`'s calendar day: fine, within the warning week, or past its day. */
export function keyExpiry(day: string, now: number): KeyExpiry {
  const today = new Date(now);
  const midnight = new Date(today.getFullYear(), today.getMonth(), today.getDate());
  // Rounded: a day across a daylight-saving change is 23 or 25 hours long.
  const days = Math.round((localDay(day).getTime() - midnight.getTime()) / 86_400_000);
  const on = dayLabel(day);
  if (days < 0) return { state: "expired", days, text: `key expired on ${on}: create a new one and paste it` };
  if (days > KEY_WARNING_DAYS) return { state: "ok", days, text: `key expires on ${on}` };
  const left = days === 0 ? "today" : days === 1 ? "tomorrow" : `in ${days} days`;
  return { state: "soon", days, text: `key expires ${left} (${on}): create a new one and paste it` };
}

/** The title of an attention episode known only by its kind (the dashboard lists no text);
 * the same words the core uses for its notifications. */
export function attentionTitle(kind: AttentionKind, name: string): string {
  switch (kind) {
    case "needs_reauth":
      return `${name} needs you to sign in again`;
    case "scope_missing":
      return `${name} is missing a permission`;
    case "deprecated":
      return `${name}'s connection needs moving`;
    case "repeated_failures":
      return `${name} keeps failing to sync`;
    case "backfill_finished":
      return `${name}: history imported`;
    case "key_expiring":
      return `Your ${name} key expires soon`;
    case "app_inactive":
      return `${name}'s API application is inactive`;
  }
}

// ---- the library: activities, workouts and their totals ----
// Numbers are written the English way ("1,840.5 km"), like the rest of the UI's words; dates and
// times stay in the athlete's locale, as above.

const whole = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });
const tenths = new Intl.NumberFormat("en", { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** Where a copy came from: a provider, or an import (its badge). */
export const PROVIDER_NAMES: Record<Source, string> = {
  strava: "Strava",
  garmin: "Garmin",
  polar: "Polar",
  coros: "COROS",
  wahoo: "Wahoo",
  google_health: "Fitbit",
  strava_archive: "Strava archive",
  garmin_export: "Garmin export",
  polar_export: "Polar export",
  google_takeout: "Google Takeout",
  files: "Files",
};

export const SPORT_LABELS: Record<Sport, string> = {
  run: "Run",
  trail_run: "Trail run",
  ride: "Ride",
  virtual_ride: "Virtual ride",
  swim: "Swim",
  walk: "Walk",
  hike: "Hike",
  row: "Row",
  ski: "Ski",
  strength: "Strength",
  other: "Other",
};

/** How each sport's speed is said: a pace per kilometre on foot, per 100 m in the water, a
 * speed on wheels and elsewhere. */
const PACED: Partial<Record<Sport, { per: number; unit: string }>> = {
  run: { per: 1000, unit: "/km" },
  trail_run: { per: 1000, unit: "/km" },
  walk: { per: 1000, unit: "/km" },
  hike: { per: 1000, unit: "/km" },
  swim: { per: 100, unit: "/100 m" },
  row: { per: 500, unit: "/500 m" },
};

/** An activity's pace ("5:12 /km") or speed ("28.4 km/h"), over its moving time where known;
 * "—" without a distance or a time (a strength session, a manual entry). */
export function paceOrSpeed(sport: Sport, metres: number | null | undefined, seconds: number | null | undefined): string {
  if (!metres || !seconds || metres <= 0 || seconds <= 0) return "—";
  const paced = PACED[sport];
  if (paced) return `${duration((seconds / metres) * paced.per)} ${paced.unit}`;
  return `${tenths.format((metres / seconds) * 3.6)} km/h`;
}

export const CHOICE_LABELS: Record<LinkChoice, string> = {
  automatic: "automatic",
  linked: "linked by you",
  kept_apart: "kept apart by you",
};

/** A count with thousands separators. */
export const count = (n: number): string => whole.format(n);

/** Metres as the athlete reads them: "850 m", "12.3 km", "1,840 km". */
export function distance(m: number | null | undefined): string {
  if (m === null || m === undefined) return "—";
  if (m < 1000) return `${whole.format(m)} m`;
  const km = m / 1000;
  return `${km < 100 ? tenths.format(km) : whole.format(km)} km`;
}

/** A duration as a clock: "45:10", "1:02:03". */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(h ? 2 : 1, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** A total time in hours: "160 h", "7.5 h", "0.3 h". */
export function hours(seconds: number): string {
  const h = seconds / 3600;
  return `${h >= 100 ? whole.format(h) : tenths.format(h)} h`;
}

/** A value with its unit, or a dash when the provider did not say. */
export function measure(value: number | null | undefined, unit: string): string {
  return value === null || value === undefined ? "—" : `${whole.format(value)} ${unit}`;
}

/** A match confidence (0 to 1) as "97 %". */
export function percent(confidence: number): string {
  return `${Math.round(confidence * 100)} %`;
}

/** "UTC+2", "UTC−3:30", "UTC"; no offset recorded: empty. Short, so that a start with its zone
 * fits the list's first column. */
export function offsetLabel(offset: number | null | undefined): string {
  if (offset === null || offset === undefined) return "";
  if (Math.abs(offset) < 60) return "UTC";
  const sign = offset < 0 ? "−" : "+";
  const a = Math.abs(offset);
  const minutes = Math.floor((a % 3600) / 60);
  return `UTC${sign}${Math.floor(a / 3600)}${minutes ? `:${String(minutes).padStart(2, "0")}` : ""}`;
}

const atOffset = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });
/** When an activity started, by one rule everywhere: on the clock where it happened (its own
 * offset), else on the athlete's clock at that moment, and always with the zone said, so that
 * two copies of one session never read as different times. */
export function startedAt(iso: string, offset: number | null | undefined): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "—";
  const zone = offset ?? -new Date(t).getTimezoneOffset() * 60;
  return `${atOffset.format(t + zone * 1000)} ${offsetLabel(zone)}`;
}

/** A badge's hover text: why the copy is in its workout and how sure, or just its provider. */
export function badgeTitle(copy: CopyRef, lone: boolean): string {
  if (lone || !copy.reason) return lone ? PROVIDER_NAMES[copy.provider] : `${PROVIDER_NAMES[copy.provider]} (primary)`;
  return copy.confidence === null ? copy.reason : `${copy.reason} — ${percent(copy.confidence)}`;
}
