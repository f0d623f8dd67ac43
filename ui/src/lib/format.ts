// Presentation helpers: pure, locale-aware, unit-tested.
import type { AttentionKind, ConnectionState, Estimate, ProviderInfo, SyncCounters, SyncRun } from "./types";

export const STATE_LABELS: Record<ConnectionState, string> = {
  active: "Active",
  disabled: "Disabled",
  needs_reauth: "Needs re-authorisation",
  scope_missing: "Permission missing",
  rate_limited: "Rate-limited",
  deprecated: "Deprecated",
  error: "Error",
};

/** Date and time, in the athlete's locale ("never" for none). */
export function when(iso: string | null | undefined): string {
  if (!iso) return "never";
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** Time of day, in the athlete's locale. */
export function clock(iso: string): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
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

/** The ETA line: time left and, when the provider's budget forces a pause, when it continues. */
export function etaLine(estimate: Estimate): string {
  const left = `${about(estimate.eta_seconds)} left`;
  if (!estimate.continues_at) return left;
  const after = estimate.window ? ` after the ${estimate.window} window` : "";
  return `${left} · continues at ${clock(estimate.continues_at)}${after}`;
}

/** A one-line description of how a provider connects and what it allows. */
export function capabilityLine(info: ProviderInfo): string {
  const c = info.capabilities;
  const parts = [
    c.pkce ? "OAuth2 + PKCE" : c.client_auth === "basic" ? "OAuth2 (Basic auth)" : "OAuth2",
    c.delivery === "push_inbox" ? "push (via relay)" : "pull",
    c.history_window_days ? `history: ${c.history_window_days} days` : "full history",
    c.refresh === "none" ? "no refresh token" : "refresh tokens",
  ];
  const tightest = c.rate_limits[0];
  if (tightest) parts.push(`${tightest.limit}/${tightest.window} per ${tightest.shared_by}`);
  return parts.join(" · ");
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
  }
}
