import { useState } from "preact/hooks";
import { NEEDS_KEYRING } from "../lib/actions";
import { APP_GUIDES } from "../lib/guide";
import { useAppStore, useStore } from "../lib/hooks";
import type { CredentialsCheck, ProviderInfo } from "../lib/types";
import { CallbackToPaste } from "./CallbackToPaste";
import { CopyButton } from "./CopyButton";

type Props = { info: ProviderInfo };

/** A browser sign-in's wizard: register an application, store its credentials, prove them,
 * connect. Each step says what it needs from the one before. */
export function AppSteps({ info }: Props) {
  const store = useAppStore();
  const p = info.provider;
  const guide = APP_GUIDES[p];
  const portal = info.capabilities.app_settings_url;
  // A check speaks for the credentials it tested: saving new ones clears it.
  const [check, setCheck] = useState<CredentialsCheck | null>(null);
  return (
    <ol class="steps">
      <li>
        <strong>Register an application</strong> at{" "}
        {portal && (
          <>
            {/* Opened by the core's address, in the athlete's browser (never in this window). */}
            <a
              href={portal}
              class="paste"
              data-testid={`wizard-portal-${p}`}
              onClick={(e) => {
                e.preventDefault();
                void store.openAppSettings(p);
              }}
              // A middle click too: never a second window of the app, always the browser.
              onAuxClick={(e) => {
                e.preventDefault();
                if (e.button === 1) void store.openAppSettings(p);
              }}
            >
              {portal}
            </a>{" "}
            <CopyButton text={portal} testid={`wizard-portal-copy-${p}`} label="Copy the address" />{" "}
          </>
        )}
        <span class="muted">({guide.portal})</span>. {guide.register}
        <CallbackToPaste info={info} />
      </li>
      <li>
        <strong>Enter its credentials</strong>
        <CredentialsForm info={info} onSaved={() => setCheck(null)} />
      </li>
      <li>
        <strong>Test them</strong> <span class="muted">— {info.capabilities.display_name} is asked whether it knows them; nothing is connected.</span>
        <TestStep info={info} check={check} onChecked={setCheck} />
      </li>
      <li>
        <strong>Connect</strong>
        <ConnectStep info={info} refused={check?.accepted === false} />
      </li>
    </ol>
  );
}

/** Client id and secret. The secret is write-only: never shown, replaced by saving a new one. */
function CredentialsForm({ info, onSaved }: Props & { onSaved: () => void }) {
  const store = useAppStore();
  const p = info.provider;
  const name = info.capabilities.display_name;
  const busy = useStore((s) => s.busy[p] === true);
  const keyringProblem = useStore((s) => Boolean(s.info?.keyring_problem));
  const [clientId, setClientId] = useState("");
  const [secret, setSecret] = useState("");
  const required = info.capabilities.client_secret_required;
  const configured = info.credentials_configured;
  const ready = clientId.trim() !== "" && (!required || secret !== "");
  return (
    <form
      class="credentials"
      data-testid={`settings-credentials-${p}`}
      onSubmit={async (e) => {
        e.preventDefault();
        if (!clientId.trim()) return;
        // The core keeps no secret for a blank one (and deletes the one stored).
        if (await store.setCredentials(p, clientId.trim(), secret.trim() ? secret : null)) {
          setClientId("");
          setSecret("");
          onSaved();
        }
      }}
    >
      <span class={configured ? "ok" : "warn"} data-testid={`wizard-stored-${p}`}>
        {configured ? "configured: enter new ones to replace them" : "not configured"}
      </span>
      <input
        aria-label={`${name} client id`}
        placeholder={configured ? "Client id (configured)" : "Client id"}
        autocomplete="off"
        spellcheck={false}
        data-testid={`settings-client-id-${p}`}
        value={clientId}
        onInput={(e) => setClientId(e.currentTarget.value)}
      />
      <input
        type="password"
        aria-label={`${name} client secret`}
        placeholder={
          configured && required ? "Client secret (stored)" : required ? "Client secret" : "Client secret (optional)"
        }
        autocomplete="off"
        spellcheck={false}
        data-testid={`settings-client-secret-${p}`}
        value={secret}
        onInput={(e) => setSecret(e.currentTarget.value)}
      />
      <button type="submit" data-testid={`wizard-save-${p}`} disabled={!ready || busy || keyringProblem}>
        Save
      </button>
      {required && configured && (
        <span class="note">The secret is not shown again: saving a new client id needs its secret too.</span>
      )}
    </form>
  );
}

const VERDICTS = {
  true: { label: "Accepted", class: "ok" },
  false: { label: "Refused", class: "error" },
  unknown: { label: "Could not tell", class: "warn" },
} as const;

function TestStep({ info, check, onChecked }: Props & { check: CredentialsCheck | null; onChecked: (c: CredentialsCheck) => void }) {
  const store = useAppStore();
  const p = info.provider;
  const busy = useStore((s) => s.busy[p] === true);
  const verdict = check ? (check.accepted === null ? "unknown" : String(check.accepted)) : null;
  return (
    <div class="row wrap">
      <button
        data-testid={`wizard-test-${p}`}
        disabled={!info.credentials_configured || busy}
        onClick={async () => {
          const answer = await store.checkCredentials(p);
          if (answer) onChecked(answer);
        }}
      >
        Test
      </button>
      {!info.credentials_configured && <span class="note">save the credentials first</span>}
      {check && verdict && (
        <span
          class={`test-result ${VERDICTS[verdict as keyof typeof VERDICTS].class}`}
          data-testid={`wizard-test-result-${p}`}
          data-accepted={verdict}
          role="status"
        >
          <strong>{VERDICTS[verdict as keyof typeof VERDICTS].label}:</strong> {check.message}
        </span>
      )}
    </div>
  );
}

function ConnectStep({ info, refused }: Props & { refused: boolean }) {
  const store = useAppStore();
  const p = info.provider;
  const card = useStore((s) => s.cards[p]);
  const busy = useStore((s) => s.busy[p] === true);
  const connecting = useStore((s) => s.connecting[p] === true);
  const keyringProblem = useStore((s) => Boolean(s.info?.keyring_problem));
  const name = info.capabilities.display_name;
  return (
    <div class="row wrap">
      <button
        class="primary"
        data-testid={`wizard-connect-${p}`}
        // Refused by the Test: the sign-in would fail; saving other credentials clears the verdict.
        disabled={!info.credentials_configured || busy || connecting || keyringProblem || refused}
        onClick={() => store.connect(p)}
      >
        {card ? `Connect ${name} again` : `Connect ${name}`}
      </button>
      {keyringProblem && <span class="note">{NEEDS_KEYRING}</span>}
      {refused && (
        <span class="note warn" data-testid={`wizard-refused-${p}`}>
          {name} refused these credentials: the sign-in would fail. Save the right ones above, then test again.
        </span>
      )}
      {connecting && (
        <span class="muted">
          waiting for the browser…{" "}
          <button class="link" onClick={() => store.cancelConnect(p)}>
            Stop waiting
          </button>
        </span>
      )}
      {card && !connecting && (
        <span class="muted" data-testid={`wizard-connected-${p}`}>
          connected as {card.connection.username ?? card.connection.provider_user_id ?? "—"}
        </span>
      )}
    </div>
  );
}
