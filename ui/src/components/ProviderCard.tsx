import { useState } from "preact/hooks";
import type { Connection, ProviderInfo, SyncRun } from "../lib/ipc";
import { STATE_LABELS, capabilityLine, clock, counts, when } from "../lib/format";

export type Progress = { fetched: number; created: number };

type Props = {
  info: ProviderInfo;
  connection: Connection | undefined;
  latest: SyncRun | undefined;
  progress: Progress | undefined;
  busy: boolean;
  selected: boolean;
  onConnect: () => void;
  onSync: () => void;
  onCancelSync: () => void;
  onToggle: () => void;
  onDisconnect: (keepActivities: boolean) => void;
  onSelect: () => void;
};

export function ProviderCard(props: Props) {
  const { info, connection: c, latest, progress } = props;
  const p = info.provider;
  const [confirming, setConfirming] = useState(false);
  const name = info.capabilities.display_name;
  const syncing = progress !== undefined;
  const needsAuth = c && (c.state === "needs_reauth" || c.state === "scope_missing" || c.state === "deprecated");
  // A connection on a retired API is moved by connecting again (to its successor).
  const reauthLabel = c?.state === "deprecated" ? `Move to ${name}` : "Re-authorise";

  return (
    <article
      class={`card state-${c?.state ?? "none"} ${props.selected ? "selected" : ""}`}
      data-testid={`card-${p}`}
    >
      <header>
        <h2>{name}</h2>
        <span class="state" data-testid={`state-${p}`}>
          {c ? STATE_LABELS[c.state] : info.capabilities.implemented ? "Not connected" : "Coming soon"}
        </span>
      </header>
      <p class="caps">{capabilityLine(info)}</p>

      {c && (
        <dl>
          <dt>Account</dt>
          <dd>{c.username ?? c.provider_user_id ?? "—"}</dd>
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
          {c.state === "rate_limited" && c.rate_limited_until && (
            <>
              <dt>Continues</dt>
              <dd>at {clock(c.rate_limited_until)}</dd>
            </>
          )}
          {c.last_sync_error && (
            <>
              <dt>Problem</dt>
              <dd class="error" data-testid={`error-${p}`}>
                {c.last_sync_error}
              </dd>
            </>
          )}
        </dl>
      )}

      {syncing && (
        <p class="progress" data-testid={`progress-${p}`}>
          Syncing… {progress.fetched} fetched, {progress.created} new
        </p>
      )}

      <footer>
        {!c && info.capabilities.implemented && (
          <button
            data-testid={`connect-${p}`}
            disabled={!info.credentials_configured || props.busy}
            title={info.credentials_configured ? "" : "Add your API credentials first"}
            onClick={props.onConnect}
          >
            Connect {name}
          </button>
        )}
        {!c && !info.credentials_configured && info.capabilities.implemented && (
          <span class="muted">needs your own API app credentials</span>
        )}
        {c && needsAuth && (
          <button data-testid={`reauth-${p}`} onClick={props.onConnect} disabled={props.busy}>
            {reauthLabel}
          </button>
        )}
        {c && !syncing && (
          <button
            data-testid={`sync-${p}`}
            disabled={!c.enabled || props.busy || c.state === "rate_limited"}
            onClick={props.onSync}
          >
            Sync now
          </button>
        )}
        {c && syncing && (
          <button data-testid={`cancel-${p}`} onClick={props.onCancelSync}>
            Cancel
          </button>
        )}
        {c && (
          <label class="switch">
            <input
              type="checkbox"
              data-testid={`toggle-${p}`}
              checked={c.enabled}
              disabled={props.busy}
              onChange={props.onToggle}
            />
            {c.enabled ? "On" : "Off"}
          </label>
        )}
        {c && <button class="link" data-testid={`history-${p}`} onClick={props.onSelect}>History</button>}
        {c && !confirming && (
          <button class="danger" data-testid={`disconnect-${p}`} onClick={() => setConfirming(true)} disabled={props.busy}>
            Disconnect
          </button>
        )}
      </footer>
      {c && confirming && (
        <div class="confirm" data-testid={`confirm-disconnect-${p}`}>
          <span>Disconnect {name}? Access is revoked at {name}.</span>
          <button class="danger" data-testid={`disconnect-delete-${p}`} onClick={() => { setConfirming(false); props.onDisconnect(false); }}>
            Delete its activities
          </button>
          <button data-testid={`disconnect-keep-${p}`} onClick={() => { setConfirming(false); props.onDisconnect(true); }}>
            Keep its activities
          </button>
          <button class="link" onClick={() => setConfirming(false)}>Cancel</button>
        </div>
      )}
    </article>
  );
}
