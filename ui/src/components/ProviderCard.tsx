import { useState } from "preact/hooks";
import { cardAction, cardInput } from "../lib/actions";
import { STATE_LABELS, capabilityLine, plainCapabilityLine, recordingsLine } from "../lib/format";
import { useAppStore, useStore, useWakeAt } from "../lib/hooks";
import { navigate } from "../lib/router";
import { isRunning } from "../lib/store";
import type { ProviderInfo } from "../lib/types";
import { CardDetails } from "./CardDetails";
import { CopyButton } from "./CopyButton";
import { DisconnectConfirm } from "./DisconnectConfirm";
import { PrimaryAction } from "./PrimaryAction";
import { RunProgress } from "./RunProgress";

type Props = { info: ProviderInfo; selected: boolean };

/** The sign-in page's address, to open by hand: said plainly when no browser opened, one click
 * away when one did (it may have opened somewhere unseen). */
function SignInLink({ provider: p, url, opened }: { provider: string; url: string; opened: boolean }) {
  const body = (
    <>
      <code class="sign-in-link" data-testid={`sign-in-link-${p}`}>
        {url}
      </code>
      <CopyButton text={url} testid={`sign-in-copy-${p}`} label="Copy the link" />
    </>
  );
  return opened ? (
    <details class="sign-in" data-testid={`sign-in-${p}`}>
      <summary>The browser did not show up? Open the sign-in page yourself</summary>
      {body}
    </details>
  ) : (
    <div class="sign-in" role="status" data-testid={`sign-in-${p}`}>
      <p>
        No browser could be opened. Open this page in a browser to sign in; at the end it asks to open Tributary: allow it.
      </p>
      {body}
    </div>
  );
}

/** One provider: its connection, latest run, next run, live progress and the actions on it. */
export function ProviderCard({ info, selected }: Props) {
  const p = info.provider;
  const store = useAppStore();
  const card = useStore((s) => s.cards[p]);
  const running = useStore((s) => isRunning(s, p));
  const busy = useStore((s) => s.busy[p] === true);
  const connecting = useStore((s) => s.connecting[p] === true);
  const link = useStore((s) => s.signInLinks[p]);
  const keyringProblem = useStore((s) => Boolean(s.info?.keyring_problem));
  const [confirming, setConfirming] = useState(false);

  const action = cardAction(cardInput(info, card, running, keyringProblem, connecting), Date.now());
  useWakeAt(action.until); // e.g. Sync now comes back when the rate limit ends
  const name = info.capabilities.display_name;
  const c = card?.connection;

  return (
    <article class={`card state-${c?.state ?? "none"}${selected ? " selected" : ""}`} data-testid={`card-${p}`}>
      <header>
        <h2>{name}</h2>
        <span class="state" data-testid={`state-${p}`}>
          {c ? STATE_LABELS[c.state] : info.capabilities.implemented ? "Not connected" : "Coming soon"}
        </span>
      </header>
      <div class="caps" data-testid={`caps-${info.provider}`}>
        {plainCapabilityLine(info)}{" "}
        <details class="tech">
          <summary>Technical details</summary>
          {capabilityLine(info)}
        </details>
      </div>

      {card && <CardDetails info={info} card={card} running={running} />}

      {running && <RunProgress provider={p} />}

      {card && recordingsLine(card.recordings, name) && (
        <p class="muted recordings-line" data-testid={`recordings-${p}`}>
          {recordingsLine(card.recordings, name)}
        </p>
      )}

      <footer>
        <PrimaryAction provider={p} action={action} busy={busy} />
        {connecting && (
          <span class="muted" data-testid={`connecting-${p}`}>
            waiting for the browser…{" "}
            <button class="link" data-testid={`cancel-connect-${p}`} onClick={() => store.cancelConnect(p)}>
              Stop waiting
            </button>
          </span>
        )}
        {connecting && link && <SignInLink provider={p} url={link.url} opened={link.opened} />}
        {c && (
          <label class="switch">
            <input
              type="checkbox"
              data-testid={`toggle-${p}`}
              checked={c.enabled}
              disabled={busy}
              onChange={() => store.toggle(p)}
            />
            {c.enabled ? "On" : "Off"}
          </label>
        )}
        {c && (
          <button class="link" data-testid={`history-${p}`} onClick={() => navigate({ name: "history", provider: p })}>
            History
          </button>
        )}
        {c && !confirming && (
          <button class="danger" data-testid={`disconnect-${p}`} onClick={() => setConfirming(true)} disabled={busy}>
            Disconnect
          </button>
        )}
      </footer>
      {c && confirming && <DisconnectConfirm info={info} onClose={() => setConfirming(false)} />}
    </article>
  );
}
