// Every error a card can show and the one-click action that goes with it, end to end through
// the store and the FakeBackend.
import { afterEach, describe, expect, it, vi } from "vitest";
import { act } from "preact/test-utils";
import { clock, etaLine, when } from "../src/lib/format";
import { CAPABILITIES, POLAR_V3_DOOR, card, dashboard, providers, run } from "./fixtures";
import { disabled, flush, mount, type Mounted } from "./helpers";

let app: Mounted;
afterEach(async () => {
  vi.useRealTimers();
  await app.unmount();
});

const one = (c: ReturnType<typeof card>, configured = {}) =>
  mount({ info: { sandbox: false }, dashboard: dashboard({ cards: [c], providers: providers(configured) }) });

describe("one-click actions", () => {
  it("needs_reauth: Re-authorise connects again", async () => {
    app = await one(card("strava", { state: "needs_reauth", last_sync_error: "Strava refused the refresh token" }));
    expect(app.text("state-strava")).toBe("Needs re-authorisation");
    expect(app.text("error-strava")).toBe("Strava refused the refresh token");
    expect(app.text("reauth-strava")).toBe("Re-authorise");
    expect(app.$("sync-strava")).toBeNull(); // one action, not a sync bound to fail
    await app.click("reauth-strava");
    expect(app.fake.last).toEqual({ cmd: "connect_provider", args: ["strava"] });
    expect(app.text("notice")).toContain("Continue in your browser to connect Strava.");
  });

  it("scope_missing: Connect again", async () => {
    app = await one(card("wahoo", { state: "scope_missing", last_sync_error: "the workouts_read permission was not granted" }));
    expect(app.text("state-wahoo")).toBe("Permission missing");
    expect(app.text("reauth-wahoo")).toBe("Connect again");
    expect(app.text("action-note-wahoo")).toBe("keep every permission ticked");
    await app.click("reauth-wahoo");
    expect(app.fake.last).toEqual({ cmd: "connect_provider", args: ["wahoo"] });
  });

  it("app_inactive: says why, retries and opens the application's page, never asks to sign in", async () => {
    const said =
      "Strava refuses the API application Tributary uses: it is inactive (its owner has no Strava subscription).";
    app = await one(card("strava", { state: "app_inactive", last_sync_error: said }));
    expect(app.text("state-strava")).toBe("API application inactive");
    expect(app.text("error-strava")).toBe(said);
    expect(app.$("reauth-strava")).toBeNull();
    expect(app.text("sync-strava")).toBe("Try again");
    expect(app.text("action-note-strava")).toBe("the API application is inactive: its owner must re-activate it");
    await app.click("app-settings-strava");
    expect(app.fake.last).toEqual({ cmd: "open_app_settings", args: ["strava"] });
    await app.click("sync-strava");
    expect(app.fake.calls.some((c) => c.cmd === "start_sync" && c.args[0] === "strava")).toBe(true);
  });

  it("a connection on an older door keeps syncing and offers the move to the newer one (Polar v3 → v4)", async () => {
    const v3 = { ...card("polar"), door: POLAR_V3_DOOR, moves_to: CAPABILITIES.polar.door };
    app = await one(v3);
    expect(app.text("state-polar")).toBe("Active");
    expect(app.text("sync-polar")).toBe("Sync now");
    expect(app.text("move-polar")).toBe("Move to AccessLink v4");
    expect(app.text("door-polar")).toContain("AccessLink v3, still working");
    expect(app.text("door-polar")).toContain("keeps every activity");
    // A run on the old door ends and the connection is read again: the offer stays (it was
    // lost once, in the window, when the card was rebuilt from the connection alone).
    await app.click("sync-polar");
    await app.during(() => app.fake.finish("polar", "success", { counters: { fetched: 2, created: 0 } }));
    expect(app.text("move-polar")).toBe("Move to AccessLink v4");
    expect(app.text("door-polar")).toContain("AccessLink v3");
    await app.click("move-polar");
    expect(app.fake.last).toEqual({ cmd: "connect_provider", args: ["polar"] });
    // Back from the browser on the new door: nothing left to move to.
    app.fake.completeConnect("polar", { ...v3.connection, door: "v4" });
    await flush();
    expect(app.$("move-polar")).toBeNull();
    expect(app.$("door-polar")).toBeNull();
  });

  it("a connection on the current door offers no move", async () => {
    app = await one(card("polar"));
    expect(app.$("move-polar")).toBeNull();
    expect(app.$("door-polar")).toBeNull();
  });

  it("no browser: the sign-in page's link to open by hand, said plainly, not the launcher's error", async () => {
    // Issue 19, item 4: a raw launcher error and no link when no browser opened.
    app = await mount({ dashboard: dashboard({ cards: [], providers: providers({ strava: true }) }) });
    app.fake.browserOpens = false;
    await app.click("connect-strava");
    expect(app.text("notice")).toContain("No browser could be opened");
    expect(app.text("notice")).not.toMatch(/xdg-open|unix_wait_status|Launcher/);
    expect(app.text("sign-in-strava")).toContain("at the end it asks to open Tributary");
    expect(app.text("sign-in-link-strava")).toBe("http://127.0.0.1:9/strava/authorize?client_id=demo&state=s");
    expect(app.text("sign-in-copy-strava")).toBe("Copy the link");
    expect(app.$("connecting-strava")).not.toBeNull();
  });

  it("a browser that opened: the link stays one click away, and the notice says the browser will ask", async () => {
    app = await mount({ dashboard: dashboard({ cards: [], providers: providers({ strava: true }) }) });
    await app.click("connect-strava");
    expect(app.text("notice")).toContain("the browser asks to open Tributary");
    const details = app.$("sign-in-strava")!;
    expect(details.tagName).toBe("DETAILS");
    expect((details as HTMLDetailsElement).open).toBe(false);
  });

  it("deprecated: Move to Google Health API", async () => {
    app = await one(card("google_health", { state: "deprecated", last_sync_error: "410 Gone" }));
    expect(app.text("state-google_health")).toBe("Deprecated");
    expect(app.text("reauth-google_health")).toBe("Move to Google Health API");
    await app.click("reauth-google_health");
    expect(app.fake.last).toEqual({ cmd: "connect_provider", args: ["google_health"] });
  });

  it("credentials missing, not connected: Connect is disabled, with the reason and a link to Settings", async () => {
    app = await mount({ info: { sandbox: false }, dashboard: dashboard({ providers: providers({ polar: false }) }) });
    expect(disabled(app.$("connect-polar"))).toBe(true);
    expect(app.text("action-note-polar")).toBe("needs your own API app credentials");
    expect(app.text("credentials-polar")).toBe("Add API credentials");
    await app.click("credentials-polar");
    expect(location.hash).toBe("#/providers/polar");
    expect(app.$("settings-credentials-polar")).not.toBeNull();
    expect(app.$("wizard-polar")?.className).toContain("focused");
  });

  it("credentials_missing on a run: Add API credentials, then Sync now once they are saved", async () => {
    const failed = run(5, 0, { status: "failed", error_code: "credentials_missing", error_message: "no client id for Polar" });
    app = await one(card("polar", { state: "error", last_sync_error: "no client id for Polar" }, failed));
    expect(app.text("credentials-polar")).toBe("Add API credentials");
    expect(app.$("sync-polar")).toBeNull();
    await app.click("credentials-polar");
    await app.type("settings-client-id-polar", "12345");
    await app.type("settings-client-secret-polar", "s3cret");
    await app.during(() => app.$("settings-credentials-polar")!.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true })));
    expect(app.fake.last).toEqual({ cmd: "set_provider_credentials", args: ["polar", "12345", "s3cret"] });
    await app.click("nav-dashboard");
    expect(disabled(app.$("sync-polar"))).toBe(false);
  });

  it("a command refused for missing credentials links to Settings from the notice", async () => {
    app = await one(card("strava"));
    app.fake.failNext("start_sync", "credentials_missing", "Strava's client id is not configured");
    await app.click("sync-strava");
    expect(app.text("notice")).toContain("Strava's client id is not configured");
    expect(app.$("notice-settings")?.getAttribute("href")).toBe("#/providers");
  });

  it("rate_limited: Sync now is disabled until the limit ends, then comes back by itself", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    vi.setSystemTime(new Date("2026-11-25T14:00:00Z"));
    const until = "2026-11-25T14:15:00Z";
    app = await one(card("strava", { state: "rate_limited", rate_limited_until: until }));
    expect(app.text("state-strava")).toBe("Rate-limited");
    expect(disabled(app.$("sync-strava"))).toBe(true);
    expect(app.text("action-note-strava")).toBe(`continues at ${when(until)}`);
    await act(() => {
      vi.advanceTimersByTime(14 * 60_000);
    });
    expect(disabled(app.$("sync-strava"))).toBe(true);
    await act(() => {
      vi.advanceTimersByTime(60_000 + 5);
    });
    await flush();
    expect(disabled(app.$("sync-strava"))).toBe(false);
    expect(app.$("action-note-strava")).toBeNull();
    await app.click("sync-strava");
    expect(app.fake.last).toEqual({ cmd: "start_sync", args: ["strava", "incremental"] });
  });

  it("error: Sync now retries, and the problem is shown by its message", async () => {
    const failed = run(3, 0, { status: "failed", error_code: "provider" });
    app = await one(card("coros", { state: "error", last_sync_error: "COROS answered 502" }, failed));
    expect(app.text("error-coros")).toBe("COROS answered 502");
    expect(app.text("sync-coros")).toBe("Sync now");
    await app.click("sync-coros");
    expect(app.fake.last).toEqual({ cmd: "start_sync", args: ["coros", "incremental"] });
  });

  it("a refused sync is shown by its message (e.g. one already running elsewhere)", async () => {
    app = await one(card("strava"));
    app.fake.failNext("start_sync", "already_running", "a Strava sync is already running");
    await app.click("sync-strava");
    expect(app.text("notice")).toContain("a Strava sync is already running");
    expect(disabled(app.$("sync-strava"))).toBe(false);
  });

  it("running: Cancel stops the run and the card offers Sync now again", async () => {
    app = await one(card("strava"));
    await app.click("sync-strava");
    expect(app.text("cancel-strava")).toBe("Cancel");
    expect(app.$("sync-strava")).toBeNull();
    app.fake.clearCalls();
    await app.click("cancel-strava");
    expect(app.fake.calls[0]).toEqual({ cmd: "cancel_sync", args: ["strava"] });
    expect(app.$("cancel-strava")).toBeNull();
    expect(app.$("progress-strava")).toBeNull();
    expect(app.text("last-sync-strava")).toContain("cancelled");
  });

  it("a run found running at load shows its figures and can be cancelled", async () => {
    const running = run(9, 40, { status: "running", completed_at: null, api_calls: 5 });
    app = await one(card("strava", {}, running));
    expect(app.text("progress-strava")).toBe("Syncing… fetched 40 · new 40 · API calls 5");
    expect(app.$("cancel-strava")).not.toBeNull();
  });
});

describe("progress you can trust", () => {
  it("counts, pages, API calls, the ETA and when it continues", async () => {
    app = await one(card("strava"));
    await app.click("sync-strava");
    expect(app.text("progress-strava")).toBe("Syncing… fetched 0 · new 0 · page 0 · API calls 0");
    expect(app.$("eta-strava")).toBeNull();
    const estimate = { remaining_pages: 20, eta_seconds: 2400, continues_at: "2026-11-25T14:15:00Z", window: "15 min" };
    await app.during(() => app.fake.progress("strava", { fetched: 400, created: 380 }, { pages: 4, api_calls: 6, estimate }));
    expect(app.text("progress-strava")).toBe("Syncing… fetched 400 · new 380 · page 4 · API calls 6");
    expect(app.text("eta-strava")).toBe(`about 40 min left · continues at ${clock(estimate.continues_at)} after the 15 min window`);
    expect(etaLine({ ...estimate, continues_at: null })).toBe("about 40 min left");
    await app.during(() => app.fake.finish("strava", "success", { counters: { fetched: 2400, created: 2380 } }));
    expect(app.$("progress-strava")).toBeNull();
    expect(app.text("last-sync-strava")).toContain("2380 new");
  });

  it("a failed run: the card shows the error, History its row", async () => {
    app = await one(card("strava"));
    await app.click("sync-strava");
    await app.during(() => app.fake.finish("strava", "failed", { error: "Strava answered 500", code: "provider" }));
    expect(app.text("state-strava")).toBe("Error");
    expect(app.text("error-strava")).toBe("Strava answered 500");
    expect(app.text("last-sync-strava")).toContain("failed");
    await app.click("history-strava");
    const [row] = app.all("history-row");
    expect(row?.dataset.status).toBe("failed");
    expect(row?.textContent).toContain("Strava answered 500");
  });
});

describe("scheduler and attention", () => {
  it("next run per card, paused and offline", async () => {
    const at = new Date(Date.now() + 3_600_000).toISOString();
    app = await mount({
      dashboard: dashboard({
        cards: [card("strava"), card("polar")],
        scheduler: {
          paused: false,
          offline: ["polar"],
          next_runs: [
            { provider: "strava", at, reconcile: false },
            { provider: "polar", at, reconcile: true },
          ],
        },
      }),
    });
    expect(app.text("next-run-strava")).toMatch(new RegExp(`^(${clock(at)}|${when(at)})$`));
    expect(app.text("next-run-polar")).toContain("(a full check)");
    expect(app.$("offline-polar")).not.toBeNull();
    expect(app.text("scheduler-status")).toContain("Offline: Polar");
    const paused = { paused: true, offline: [], next_runs: [{ provider: "strava" as const, at, reconcile: false }] };
    await app.during(() => app.fake.emit({ type: "scheduler_changed", status: paused }));
    expect(app.text("scheduler-status")).toContain("Background sync is paused.");
    expect(app.text("next-run-strava")).toBe("paused");
    await app.click("scheduler-resume");
    expect(app.fake.last).toEqual({ cmd: "update_settings", args: [{ paused: false }] });
  });

  it("the attention banner lists open episodes and announces new ones", async () => {
    app = await mount({
      dashboard: dashboard({
        cards: [card("strava", { state: "needs_reauth" })],
        attention: [{ provider: "strava", kind: "needs_reauth" }],
      }),
    });
    expect(app.text("attention-banner")).toContain("Strava needs you to sign in again");
    await app.during(() =>
      app.fake.emit({
        type: "attention",
        attention: {
          provider: "strava",
          kind: "repeated_failures",
          title: "Strava keeps failing to sync",
          message: "Strava answered 500",
          opened_at: "2026-11-25T10:00:00Z",
        },
      }),
    );
    expect(app.text("attention-banner")).toContain("Strava keeps failing to sync — Strava answered 500");
    expect(app.text("notice")).toBeNull(); // a banner, not the notice: the deep link's words stay
  });
});
