// Presentation helpers, pure and unit-tested.
import type { Connection, ProviderInfo, SyncRun } from "./ipc";

export const STATE_LABELS: Record<Connection["state"], string> = {
  active: "Active",
  disabled: "Disabled",
  needs_reauth: "Needs re-authorisation",
  scope_missing: "Permission missing",
  rate_limited: "Rate-limited",
  deprecated: "Deprecated",
  error: "Error",
};

export function when(iso: string | null | undefined): string {
  if (!iso) return "never";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function clock(iso: string): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

export function counts(run: SyncRun): string {
  const c = run.counters;
  return `${c.fetched} fetched · ${c.created} new · ${c.updated} updated · ${c.skipped} unchanged · ${c.failed} failed`;
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
