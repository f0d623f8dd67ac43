// The Settings view: every control round-trips through update_settings, in the core's units.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dashboard } from "./fixtures";
import { mount, type Mounted } from "./helpers";

let app: Mounted;
beforeEach(() => {
  localStorage.clear();
  delete document.documentElement.dataset.theme;
});
afterEach(() => app.unmount());

const options = (testid: string) => [...(app.$(testid) as HTMLSelectElement).options].map((o) => [o.value, o.textContent]);

describe("settings", () => {
  it("opens from the navigation and loads the settings once", async () => {
    app = await mount();
    await app.click("nav-settings");
    expect(app.$("settings-interval")).not.toBeNull();
    expect(app.$("card-strava")).toBeNull();
    expect(app.fake.count("get_settings")).toBe(1);
    await app.click("nav-dashboard");
    expect(app.$("card-strava")).not.toBeNull();
  });

  it("the interval is chosen in minutes and stored in seconds", async () => {
    app = await mount({}, "#/settings");
    expect(options("settings-interval").map(([v]) => v)).toEqual(["900", "1800", "3600", "7200", "21600", "86400"]);
    expect((app.$("settings-interval") as HTMLSelectElement).value).toBe("3600");
    await app.change("settings-interval", "1800");
    expect(app.fake.last).toEqual({ cmd: "update_settings", args: [{ sync_interval_seconds: 1800 }] });
    expect(app.fake.settings.sync_interval_seconds).toBe(1800);
    expect((app.$("settings-interval") as HTMLSelectElement).value).toBe("1800");
  });

  it("an interval set elsewhere is shown as it is", async () => {
    const settings = {
      sync_interval_seconds: 45,
      reconcile_hours: 24,
      paused: false,
      autostart: false,
      notifications: true,
      close_to_tray_explained: false,
    };
    app = await mount({ settings }, "#/settings");
    expect(options("settings-interval")[0]).toEqual(["45", "Every 45 seconds"]);
    expect((app.$("settings-interval") as HTMLSelectElement).value).toBe("45");
  });

  it("pause, autostart and notifications are checkboxes", async () => {
    const scheduler = { paused: false, offline: [], next_runs: [] };
    app = await mount({ dashboard: dashboard({ scheduler }) }, "#/settings");
    await app.change("settings-pause");
    expect(app.fake.last).toEqual({ cmd: "update_settings", args: [{ paused: true }] });
    expect((app.$("settings-pause") as HTMLInputElement).checked).toBe(true);
    expect(app.store.get().scheduler?.paused).toBe(true);
    await app.change("settings-autostart");
    expect(app.fake.last).toEqual({ cmd: "update_settings", args: [{ autostart: true }] });
    await app.change("settings-notifications");
    expect(app.fake.last).toEqual({ cmd: "update_settings", args: [{ notifications: false }] });
    expect((app.$("settings-notifications") as HTMLInputElement).checked).toBe(false);
  });

  it("a refused change is shown and the control keeps the stored value", async () => {
    app = await mount({}, "#/settings");
    app.fake.failNext("update_settings", "validation", "the interval must be between 10 s and 7 days");
    await app.change("settings-interval", "900");
    expect(app.text("notice")).toContain("the interval must be between 10 s and 7 days");
    expect((app.$("settings-interval") as HTMLSelectElement).value).toBe("3600");
  });

  it("appearance: System, Light or Dark, kept in localStorage and applied on <html>", async () => {
    app = await mount({}, "#/settings");
    expect(options("settings-theme")).toEqual([["system", "System"], ["light", "Light"], ["dark", "Dark"]]);
    await app.change("settings-theme", "dark");
    expect(localStorage.getItem("tributary.theme")).toBe("dark");
    expect(document.documentElement.dataset.theme).toBe("dark");
    await app.change("settings-theme", "system");
    expect(document.documentElement.dataset.theme).toBe("system");
  });

  it("the data folder, with Open; the version and the mode", async () => {
    app = await mount({ info: { sandbox: false, version: "0.4.2", data_dir: "/home/athlete/.local/share/tributary" } }, "#/settings");
    expect(app.text("settings-data-path")).toBe("/home/athlete/.local/share/tributary");
    await app.click("settings-data-folder");
    expect(app.fake.last).toEqual({ cmd: "open_data_folder", args: [] });
    expect(app.text("settings-version")).toBe("0.4.2");
    expect(app.text("settings-mode")).toBe("Real accounts");
  });

  it("demo mode is named in About", async () => {
    app = await mount({}, "#/settings");
    expect(app.text("settings-mode")).toContain("Demo");
  });

  it("credentials: a public client needs no secret (it is optional)", async () => {
    app = await mount({ info: { sandbox: false } }, "#/providers");
    expect(app.$("settings-client-secret-wahoo")?.getAttribute("placeholder")).toBe("Client secret (optional)");
    await app.type("settings-client-id-wahoo", " abc ");
    await app.during(() => app.$("settings-credentials-wahoo")!.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true })));
    expect(app.fake.last).toEqual({ cmd: "set_provider_credentials", args: ["wahoo", "abc", null] });
    expect(app.text("notice")).toContain("Saved the API credentials for Wahoo.");
  });
});

// Issue 19, item 1: on a desktop without a tray, closing the window left Tributary syncing with
// nothing to click; the window had no Quit at all.
describe("quitting, with or without a tray", () => {
  it("Settings always offers Quit, and says what closing does on this desktop", async () => {
    app = await mount({}, "#/settings");
    expect(app.text("settings-tray")).toContain("in the tray");
    await app.during(() => app.fake.trayHost(false));
    expect(app.text("settings-tray")).toContain("no tray icons");
    expect(app.$("settings-tray")?.dataset.tray).toBe("false");
    await app.click("settings-quit");
    expect(app.fake.last).toEqual({ cmd: "quit_app", args: [] });
  });

  it("a close without a tray asks: Quit (focused) or keep syncing", async () => {
    app = await mount();
    expect(app.$("close-ask")).toBeNull();
    await app.during(() => app.fake.closeRequested());
    expect(app.$("close-ask")).not.toBeNull();
    expect(document.activeElement).toBe(app.$("close-quit"));
    await app.click("close-keep");
    expect(app.fake.last).toEqual({ cmd: "hide_window", args: [] });
    expect(app.$("close-ask")).toBeNull();
    await app.during(() => app.fake.closeRequested());
    await app.click("close-quit");
    expect(app.fake.last).toEqual({ cmd: "quit_app", args: [] });
    expect(app.$("close-ask")).toBeNull();
  });
});

// Issue 19, item 6: Settings was one long page with six provider guides before the general
// settings, and the demo's guides said to register applications.
describe("Settings and Providers apart", () => {
  it("Settings holds the general settings, and no provider guide", async () => {
    app = await mount({}, "#/settings");
    expect(app.$("settings-interval")).not.toBeNull();
    expect(app.$("settings-mode")).not.toBeNull();
    expect(app.$("wizard-strava")).toBeNull();
  });

  it("in the demo, Providers says what each offers and asks nothing of a real account", async () => {
    app = await mount({}, "#/providers");
    expect(app.$("wizard-strava")).not.toBeNull();
    expect(app.text("wizard-plain-strava")).toBe("Syncs your whole history · up to 200 requests every 15 minutes");
    expect(app.$("settings-client-id-strava")).toBeNull();
    expect(app.text("providers-intro")).toContain("needs no set-up");
    expect(app.text("wizard-strava")).not.toContain("https://www.strava.com/settings/api");
  });

  it("with real accounts, Providers has each provider's steps", async () => {
    app = await mount({ info: { sandbox: false } }, "#/providers");
    expect(app.$("settings-client-id-strava")).not.toBeNull();
    expect(app.text("providers-intro")).toContain("your own API application");
  });
});

// Issue 19, item 9: Settings showed the saved interval while another was in force.
describe("the interval in force", () => {
  it("an interval set for this run by the environment is said beside the saved one", async () => {
    app = await mount({ info: { interval_override_seconds: 30 } }, "#/settings");
    expect(app.text("settings-interval-override")).toContain("every 30 seconds, from TRIBUTARY_SYNC_INTERVAL");
  });

  it("without one, nothing more is said", async () => {
    app = await mount({}, "#/settings");
    expect(app.$("settings-interval-override")).toBeNull();
  });
});
