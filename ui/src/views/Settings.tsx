import { useEffect, useReducer, useState } from "preact/hooks";
import { useAppStore, useStore } from "../lib/hooks";
import { loadTheme, saveTheme, type Theme } from "../lib/theme";
import type { ProviderInfo, Settings as SettingsValue, SettingsPatch } from "../lib/types";

/** Offered intervals, in minutes; the core stores seconds. */
export const INTERVAL_MINUTES = [15, 30, 60, 120, 360, 1440] as const;

function intervalLabel(minutes: number): string {
  if (minutes === 1440) return "Once a day";
  if (minutes === 60) return "Every hour";
  return minutes < 60 ? `Every ${minutes} minutes` : `Every ${minutes / 60} hours`;
}

type Flag = "paused" | "autostart" | "notifications";
const FLAGS: { key: Flag; testid: string; label: string }[] = [
  { key: "paused", testid: "settings-pause", label: "Pause background sync" },
  { key: "autostart", testid: "settings-autostart", label: "Start at login, in the tray" },
  { key: "notifications", testid: "settings-notifications", label: "Notify me when a connection needs me" },
];

export function Settings() {
  const store = useAppStore();
  const settings = useStore((s) => s.settings);
  const info = useStore((s) => s.info);
  const providers = useStore((s) => s.providers);
  const [theme, setTheme] = useState<Theme>(loadTheme);

  useEffect(() => void store.loadSettings(), [store]);

  return (
    <div class="settings">
      <section class="panel">
        <h2>Background sync</h2>
        {settings ? <SyncSettings settings={settings} /> : <p class="muted">Loading…</p>}
      </section>

      <section class="panel">
        <h2>Appearance</h2>
        <label class="row">
          Theme
          <select
            data-testid="settings-theme"
            value={theme}
            onChange={(e) => {
              const next = e.currentTarget.value as Theme;
              setTheme(next);
              saveTheme(next);
            }}
          >
            <option value="system">System</option>
            <option value="light">Light</option>
            <option value="dark">Dark</option>
          </select>
        </label>
      </section>

      <section class="panel wide">
        <h2>API credentials</h2>
        <p class="muted">
          Each provider needs your own registered API application. The secret goes to your OS keyring and is never shown
          again.
        </p>
        {providers
          .filter((p) => p.capabilities.implemented)
          .map((p) => (
            <CredentialsForm key={p.provider} info={p} />
          ))}
      </section>

      <section class="panel">
        <h2>Data</h2>
        <p class="row">
          <code data-testid="settings-data-path">{info?.data_dir ?? "…"}</code>
          <button data-testid="settings-data-folder" onClick={() => store.openDataFolder()}>
            Open
          </button>
        </p>
      </section>

      <section class="panel">
        <h2>About</h2>
        <dl>
          <dt>Version</dt>
          <dd data-testid="settings-version">{info?.version ?? "…"}</dd>
          <dt>Mode</dt>
          <dd data-testid="settings-mode">
            {info ? (info.sandbox ? "Demo — sandbox providers, no real accounts" : "Real accounts") : "…"}
          </dd>
        </dl>
      </section>
    </div>
  );
}

function SyncSettings({ settings }: { settings: SettingsValue }) {
  const store = useAppStore();
  // Render after every answer: a refused change must put the control back to the stored value,
  // and Preact re-asserts a controlled value only when it renders.
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const update = (patch: SettingsPatch) => store.updateSettings(patch).then(() => rerender(0));
  const seconds = settings.sync_interval_seconds;
  const offered = INTERVAL_MINUTES.some((m) => m * 60 === seconds);
  return (
    <>
      <label class="row">
        Sync each connection
        <select
          data-testid="settings-interval"
          value={String(seconds)}
          onChange={(e) => update({ sync_interval_seconds: Number(e.currentTarget.value) })}
        >
          {/* A value set elsewhere (the CLI) is shown as it is, not silently replaced. */}
          {!offered && <option value={String(seconds)}>Every {seconds} seconds</option>}
          {INTERVAL_MINUTES.map((m) => (
            <option key={m} value={String(m * 60)}>
              {intervalLabel(m)}
            </option>
          ))}
        </select>
      </label>
      {FLAGS.map((f) => (
        <label key={f.key} class="row">
          <input
            type="checkbox"
            data-testid={f.testid}
            checked={settings[f.key]}
            onChange={(e) => update({ [f.key]: e.currentTarget.checked })}
          />
          {f.label}
        </label>
      ))}
    </>
  );
}

function CredentialsForm({ info }: { info: ProviderInfo }) {
  const store = useAppStore();
  const p = info.provider;
  const [clientId, setClientId] = useState("");
  const [secret, setSecret] = useState("");
  const needsSecret = info.capabilities.client_secret_required;
  return (
    <form
      class="credentials"
      data-testid={`settings-credentials-${p}`}
      onSubmit={async (e) => {
        e.preventDefault();
        if (await store.setCredentials(p, clientId.trim(), needsSecret ? secret : null)) setSecret("");
      }}
    >
      <strong>{info.capabilities.display_name}</strong>
      <span class={info.credentials_configured ? "ok" : "warn"}>
        {info.credentials_configured ? "configured" : "not configured"}
      </span>
      <input
        aria-label={`${info.capabilities.display_name} client id`}
        placeholder="Client id"
        data-testid={`settings-client-id-${p}`}
        value={clientId}
        onInput={(e) => setClientId(e.currentTarget.value)}
      />
      {needsSecret && (
        <input
          type="password"
          aria-label={`${info.capabilities.display_name} client secret`}
          placeholder="Client secret"
          data-testid={`settings-client-secret-${p}`}
          value={secret}
          onInput={(e) => setSecret(e.currentTarget.value)}
        />
      )}
      <button type="submit" disabled={!clientId.trim() || (needsSecret && !secret)}>
        Save
      </button>
    </form>
  );
}
