import { useEffect, useState } from "preact/hooks";
import { NEEDS_KEYRING } from "../lib/actions";
import { keyExpiresOn, keyExpiry } from "../lib/format";
import { KEY_GUIDES } from "../lib/guide";
import { useAppStore, useStore } from "../lib/hooks";
import type { ProviderInfo } from "../lib/types";

/** A personal key's wizard (Garmin's Personal API): no application to register, the athlete
 * creates a key at the provider and pastes it here, once. In the demo the key is the simulated
 * provider's, given here: the same steps, nothing to create. */
export function KeySteps({ info, demo = false }: { info: ProviderInfo; demo?: boolean }) {
  const guide = KEY_GUIDES[info.provider];
  const demoKey = useStore((s) => s.info?.demo_personal_key ?? null);
  // A new object each click: "Use it" fills the field again after a connect cleared it.
  const [pasted, paste] = useState<{ key: string } | null>(null);
  const name = info.capabilities.display_name;
  return (
    <ol class="steps">
      <li>
        {demo ? (
          <>
            <strong>Take the demo's key</strong>{" "}
            <span class="muted">
              — the simulated {name} accepts <code data-testid={`demo-key-${info.provider}`}>{demoKey ?? "…"}</code>; with a real account
              you create your own at {name}.
            </span>{" "}
            {demoKey && (
              <button type="button" data-testid={`demo-key-use-${info.provider}`} onClick={() => paste({ key: demoKey })}>
                Use it
              </button>
            )}
          </>
        ) : (
          <>
            <strong>Create a personal API key</strong>
            {guide && (
              <>
                {" "}
                at <code class="paste">{guide.page.url}</code> <span class="muted">({guide.page.label})</span>. {guide.steps}
              </>
            )}
          </>
        )}
      </li>
      <li>
        <strong>Paste it and connect</strong>
        <KeyForm info={info} pasted={pasted} />
      </li>
    </ol>
  );
}

/** The key is write-only: sent once, cleared from the field when it is in use, never shown again. */
function KeyForm({ info, pasted }: { info: ProviderInfo; pasted: { key: string } | null }) {
  const store = useAppStore();
  const p = info.provider;
  const name = info.capabilities.display_name;
  const card = useStore((s) => s.cards[p]);
  const busy = useStore((s) => s.busy[p] === true);
  const keyringProblem = useStore((s) => Boolean(s.info?.keyring_problem));
  const [key, setKey] = useState("");
  // The demo's "Use it" fills the field, as a paste would.
  useEffect(() => {
    if (pasted) setKey(pasted.key);
  }, [pasted]);
  const [expires, setExpires] = useState("");
  const current = keyExpiresOn(card?.connection);
  const expiry = current ? keyExpiry(current, Date.now()) : null;
  return (
    <form
      class="credentials"
      data-testid={`key-form-${p}`}
      onSubmit={async (e) => {
        e.preventDefault();
        if (!key.trim()) return;
        // Kept on a failure, so a mistyped date can be fixed without pasting again.
        if (await store.connectWithKey(p, key.trim(), expires.trim() || null)) {
          setKey("");
          setExpires("");
        }
      }}
    >
      {card && (
        <span class={expiry?.state === "expired" ? "error" : expiry?.state === "soon" ? "warn" : "ok"}>
          {expiry ? `a key is in use: ${expiry.text}` : "a key is in use; paste a new one to replace it"}
        </span>
      )}
      <input
        type="password"
        aria-label={`${name} personal API key`}
        placeholder={card ? "New personal API key" : "Personal API key"}
        autocomplete="off"
        spellcheck={false}
        data-testid={`key-${p}`}
        value={key}
        onInput={(e) => setKey(e.currentTarget.value)}
      />
      <label class="row">
        Expires on
        <input
          type="date"
          aria-label={`${name} key expires on (optional)`}
          data-testid={`key-expires-${p}`}
          class={expires ? "" : "empty"}
          value={expires}
          onInput={(e) => setExpires(e.currentTarget.value)}
        />
        <span class="note">optional: with it, Tributary warns you a week ahead</span>
      </label>
      <button type="submit" class="primary" data-testid={`key-connect-${p}`} disabled={!key.trim() || busy || keyringProblem}>
        {card ? "Use this key" : `Connect ${name}`}
      </button>
      {keyringProblem && <span class="note">{NEEDS_KEYRING}</span>}
    </form>
  );
}
