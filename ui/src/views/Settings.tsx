import { useEffect, useReducer, useState } from "preact/hooks";
import { useAppStore, useStore } from "../lib/hooks";
import { loadTheme, saveTheme, type Theme } from "../lib/theme";
import type { AppInfo, Settings as SettingsValue, SettingsPatch } from "../lib/types";

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

/** The app's own settings, general first: background sync, appearance, data, mode, about and
 * Quit. The providers' set-up has a view of its own (`Providers`). */
export function Settings() {
  const store = useAppStore();
  const settings = useStore((s) => s.settings);
  const info = useStore((s) => s.info);
  const tray = useStore((s) => s.tray);
  const [theme, setTheme] = useState<Theme>(loadTheme);

  useEffect(() => void store.loadSettings(), [store]);

  return (
    <div class="settings">
      <section class="panel">
        <h2>Background sync</h2>
        {settings ? <SyncSettings settings={settings} /> : <p class="muted">Loading…</p>}
        {info?.interval_override_seconds != null && (
          <p class="note warn" data-testid="settings-interval-override">
            In force for this run: every {info.interval_override_seconds} seconds, from TRIBUTARY_SYNC_INTERVAL (the choice
            above applies once the app starts without it).
          </p>
        )}
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
        <h2>Mode</h2>
        {info ? <ModeSwitch info={info} /> : <p class="muted">Loading…</p>}
      </section>

      <section class="panel">
        <h2>About</h2>
        <dl>
          <dt>Version</dt>
          <dd data-testid="settings-version">{info?.version ?? "…"}</dd>
        </dl>
        <p class="muted" data-testid="settings-tray" data-tray={String(tray)}>
          {tray
            ? "Closing the window keeps Tributary syncing in the tray."
            : tray === false
              ? "This desktop shows no tray icons: closing the window asks whether to keep syncing in the background."
              : ""}
        </p>
        <button data-testid="settings-quit" onClick={() => void store.quit()}>
          Quit Tributary
        </button>
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
