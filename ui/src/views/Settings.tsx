import { useEffect, useReducer, useState } from "preact/hooks";
import { ProviderWizard } from "../components/ProviderWizard";
import { useAppStore, useStore } from "../lib/hooks";
import { href } from "../lib/router";
import { loadTheme, saveTheme, type Theme } from "../lib/theme";
import type { AppInfo, ProviderKind, Settings as SettingsValue, SettingsPatch } from "../lib/types";

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

type Props = { /** The provider whose wizard section to bring into view (from a card). */ focus?: ProviderKind };

export function Settings({ focus }: Props) {
  const store = useAppStore();
  const settings = useStore((s) => s.settings);
  const info = useStore((s) => s.info);
  const providers = useStore((s) => s.providers);
  const [theme, setTheme] = useState<Theme>(loadTheme);

  useEffect(() => void store.loadSettings(), [store]);

  const wired = providers.filter((p) => p.capabilities.implemented);
  const keyed = wired
    .filter((p) => p.capabilities.sign_in === "personal_key")
    .map((p) => p.capabilities.display_name)
    .join(", ");
  return (
    <div class="settings">
      <section class="panel wide">
        <h2>Mode</h2>
        {info ? <ModeSwitch info={info} /> : <p class="muted">Loading…</p>}
      </section>

      <section class="panel wide" aria-labelledby="providers-title">
        <h2 id="providers-title">Providers</h2>
        <p class="muted">
          {info?.sandbox
            ? "In demo mode the sandbox needs no application: connect right away. For your real accounts, switch to them above."
            : `Each provider needs your own API application${keyed ? ` (${keyed}: your own personal key instead)` : ""}. Secrets and keys go to your OS keyring and are never shown again.`}
        </p>
        <nav class="wizard-index" aria-label="Providers">
          {wired.map((p) => (
            <a key={p.provider} href={href({ name: "settings", provider: p.provider })} aria-current={focus === p.provider ? "true" : undefined}>
              {p.capabilities.display_name}
            </a>
          ))}
        </nav>
        {wired.map((p) => (
          <ProviderWizard key={p.provider} info={p} focused={focus === p.provider} />
        ))}
      </section>

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

/** Real accounts or the demo, said plainly, and the switch (saved; the app restarts into it). */
function ModeSwitch({ info }: { info: AppInfo }) {
  const store = useAppStore();
  const sandbox = info.sandbox;
  return (
    <>
      <p class={sandbox ? "mode demo-mode" : "mode"} data-testid="settings-mode">
        {sandbox ? "Demo mode: every provider is the built-in sandbox" : "Real accounts"}
      </p>
      <p class="muted">
        {sandbox
          ? "Nothing here reaches a real provider: the sign-ins, the providers and their activities are simulated."
          : "Tributary talks to the providers themselves, with your own API applications and keys (see Providers)."}
      </p>
      <p class="row wrap">
        <button data-testid="mode-switch" onClick={() => store.setMode(sandbox ? "real" : "sandbox")}>
          {sandbox ? "Switch to real accounts" : "Switch to the demo"}
        </button>
        <span class="note">The app restarts into it; each mode keeps its own connections and activities.</span>
      </p>
    </>
  );
}
