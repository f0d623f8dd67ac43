import { counts, keyExpiresOn, keyExpiry, soon, when } from "../lib/format";
import { useStore } from "../lib/hooks";
import type { ConnectionCard, ProviderInfo } from "../lib/types";

type Props = { info: ProviderInfo; card: ConnectionCard; running: boolean };

/** A connected card's facts: account, last and next sync, reachability, the last problem. */
export function CardDetails({ info, card, running }: Props) {
  const p = info.provider;
  const scheduler = useStore((s) => s.scheduler);
  const c = card.connection;
  const latest = card.latest_run;
  const next = scheduler?.next_runs.find((r) => r.provider === p);
  const offline = scheduler?.offline.includes(p) ?? false;
  const keyDay = keyExpiresOn(c);
  const key = keyDay ? keyExpiry(keyDay, Date.now()) : null;
  return (
    <dl>
      <dt>Account</dt>
      <dd>{c.username ?? c.provider_user_id ?? "—"}</dd>
      {card.moves_to && card.door && (
        <>
          <dt>API</dt>
          <dd data-testid={`door-${p}`}>
            {card.door.name}, still working. {info.capabilities.display_name}'s newer {card.moves_to.name} is
            offered beside it: moving takes one sign-in and keeps every activity.
          </dd>
        </>
      )}
      <dt>Last sync</dt>
      <dd data-testid={`last-sync-${p}`}>
        {when(c.last_sync_at)}
        {latest && latest.status !== "running" && (
          <span class="muted">
            {" "}
            — {latest.status}, {counts(latest)}
          </span>
        )}
      </dd>
      {key && (
        <>
          <dt>Key</dt>
          <dd
            class={key.state === "expired" ? "error" : key.state === "soon" ? "warn" : undefined}
            data-testid={`key-expiry-${p}`}
            data-state={key.state}
          >
            {key.text}
          </dd>
        </>
      )}
      {next && c.enabled && (
        <>
          <dt>Next</dt>
          <dd data-testid={`next-run-${p}`}>
            {scheduler?.paused
              ? "paused"
              : next.at
                ? `${soon(next.at, Date.now())}${next.reconcile ? " (a full check)" : ""}`
                : "no automatic sync until you act"}
          </dd>
        </>
      )}
      {offline && (
        <>
          <dt>Network</dt>
          <dd class="warn" data-testid={`offline-${p}`}>
            {info.capabilities.display_name} could not be reached; the next run waits for it
          </dd>
        </>
      )}
      {c.last_sync_error && !running && (
        <>
          <dt>Problem</dt>
          <dd class="error" data-testid={`error-${p}`}>
            {c.last_sync_error}
          </dd>
        </>
      )}
    </dl>
  );
}
