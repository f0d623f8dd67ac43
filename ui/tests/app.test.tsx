// The dashboard: what it shows, and the behaviour kept from before the rebuild.
import { afterEach, describe, expect, it } from "vitest";
import { card, connection, dashboard, providers, run, summary } from "./fixtures";
import { disabled, flush, mount, type Mounted } from "./helpers";
import { act } from "preact/test-utils";

let app: Mounted;
afterEach(() => app.unmount());

const strava = (over = {}) => card("strava", over, run(7, 250));

describe("dashboard", () => {
  it("shows the six providers, the demo label, and each not-connected card's Connect", async () => {
    app = await mount();
    expect(app.root.querySelectorAll("article.card")).toHaveLength(6);
    expect(app.text("demo-banner")).toContain("Demo mode");
    for (const p of ["strava", "garmin", "polar", "coros", "wahoo", "google_health"]) {
      expect(app.text(`state-${p}`)).toBe("Not connected");
      expect(disabled(app.$(`connect-${p}`))).toBe(false);
    }
  });

  it("has no demo label with real accounts", async () => {
    app = await mount({ info: { sandbox: false, version: "0.1.0", data_dir: "/d" } });
    expect(app.$("demo-banner")).toBeNull();
  });

  it("a connected card: state, last sync with its counts, summary", async () => {
    app = await mount({ dashboard: dashboard({ cards: [strava()], summary: summary(250) }) });
    expect(app.text("state-strava")).toBe("Active");
    expect(app.text("last-sync-strava")).toContain("250 new");
    expect(app.text("summary-activities")).toBe("250");
  });

  it("connect asks the backend for the provider and says to continue in the browser", async () => {
    app = await mount();
    await app.click("connect-strava");
    expect(app.fake.last).toEqual({ cmd: "connect_provider", args: ["strava"] });
    expect(app.text("notice")).toBe("Continue in your browser to connect Strava. At the end the browser asks to open Tributary: allow it.×");
    expect(app.$("connecting-strava")).not.toBeNull();
    await app.click("cancel-connect-strava");
    expect(app.fake.last).toEqual({ cmd: "cancel_connect", args: ["strava"] });
    expect(app.$("connecting-strava")).toBeNull();
  });

  it("a backend error is shown by its message and the card stays as it was", async () => {
    app = await mount();
    app.fake.failNext("connect_provider", "secret_store", "no OS keyring is available");
    await app.click("connect-strava");
    expect(app.$("notice")?.className).toContain("error");
    expect(app.text("notice")).toContain("no OS keyring is available");
    expect(app.text("state-strava")).toBe("Not connected");
  });

  it("the deep link's outcome is announced as sent, and the card turns active from the events", async () => {
    app = await mount();
    await app.click("connect-strava");
    app.fake.clearCalls();
    await app.during(() => app.fake.completeConnect("strava", connection("strava")));
    expect(app.text("notice")).toContain("Connected to Strava.");
    expect(app.text("state-strava")).toBe("Active");
    expect(app.$("connecting-strava")).toBeNull();
    // one refetch of that connection, and the outcome marked as shown; no dashboard reload
    expect(app.fake.calls.map((c) => c.cmd).sort()).toEqual(["get_connection_by_provider", "take_deep_link_outcomes"]);
  });

  it("shows the outcome of the link that started the app", async () => {
    app = await mount({ outcomes: [{ ok: false, provider: "strava", message: "this sign-in link is unknown or was already used" }] });
    expect(app.text("notice")).toContain("unknown or was already used");
    expect(app.$("notice")?.className).toContain("error");
  });

  it("toggle switches the connection off and on", async () => {
    app = await mount({ dashboard: dashboard({ cards: [strava()] }) });
    await app.change("toggle-strava");
    expect(app.fake.calls.find((c) => c.cmd === "toggle_connection")?.args).toEqual(["strava"]);
    expect(app.text("state-strava")).toBe("Disabled");
    expect(disabled(app.$("sync-strava"))).toBe(true);
    await app.change("toggle-strava");
    expect(app.text("state-strava")).toBe("Active");
    expect(disabled(app.$("sync-strava"))).toBe(false);
  });

  it("disconnect asks first, then keeps or deletes activities as chosen", async () => {
    app = await mount({ dashboard: dashboard({ cards: [strava()], summary: summary(250) }) });
    await app.click("disconnect-strava");
    expect(app.fake.count("disconnect_connection")).toBe(0);
    await app.click("disconnect-keep-strava");
    expect(app.fake.calls.find((c) => c.cmd === "disconnect_connection")?.args).toEqual(["strava", true]);
    expect(app.text("state-strava")).toBe("Not connected");
    expect(app.text("notice")).toContain("Disconnected Strava. Access revoked at Strava. Activities kept.");
  });

  it("disconnect and delete: the summary follows", async () => {
    const line = {
      provider: "strava" as const,
      state: "active" as const,
      enabled: true,
      last_sync_at: null,
      activities: 250,
      total_syncs: 1,
      successful_syncs: 1,
      failed_syncs: 0,
      last_status: "success" as const,
    };
    const seeded = dashboard({ cards: [strava()], summary: summary(250, { connections: [line] }) });
    app = await mount({ dashboard: seeded });
    await app.click("disconnect-strava");
    await app.click("disconnect-delete-strava");
    expect(app.text("notice")).toContain("250 activities deleted");
    expect(app.text("summary-activities")).toBe("0");
  });

  it("a revocation that failed is said after the disconnect", async () => {
    app = await mount({ dashboard: dashboard({ cards: [strava()] }) });
    app.fake.revokeError = "Strava answered 500";
    await app.click("disconnect-strava");
    await app.click("disconnect-delete-strava");
    expect(app.$("notice")?.className).toContain("error");
    expect(app.text("notice")).toContain(
      "Could not revoke access at Strava: Strava answered 500 — revoke it yourself at https://www.strava.com/settings/apps.",
    );
    expect(app.text("notice")).not.toContain("Access revoked");
    expect(app.text("state-strava")).toBe("Not connected");
  });

  it("sync all now asks the core once; disabled with nothing switched on", async () => {
    app = await mount();
    expect(disabled(app.$("sync-all"))).toBe(true);
    await app.unmount();
    app = await mount({ dashboard: dashboard({ cards: [strava()] }) });
    await app.click("sync-all");
    expect(app.fake.last).toEqual({ cmd: "sync_all_now", args: [] });
  });

  it("an unexpected error anywhere is shown, not swallowed", async () => {
    app = await mount();
    await act(() => {
      window.dispatchEvent(new ErrorEvent("error", { error: new Error("something broke"), message: "something broke" }));
    });
    await flush();
    expect(app.text("notice")).toContain("something broke");
  });

  it("the summary counts connections from the cards, which events keep current", async () => {
    const cards = [strava(), card("polar", { state: "needs_reauth" }), card("wahoo", { enabled: false, state: "disabled" })];
    app = await mount({ dashboard: dashboard({ cards, providers: providers() }) });
    expect(app.text("summary")).toContain("3 connections");
    expect(app.text("summary")).toContain("2 syncing");
    expect(app.text("summary")).toContain("1 needs attention");
    // A state that changes in the core reaches the figures through its event (no reload).
    const change = (p: "strava" | "polar", state: "needs_reauth" | "active") => {
      app.fake.connection(p).state = state;
      app.fake.emit({ type: "connection_changed", provider: p, state });
    };
    await app.during(() => change("strava", "needs_reauth"));
    expect(app.text("summary")).toContain("2 need attention");
    await app.during(() => change("polar", "active"));
    expect(app.text("summary")).toContain("1 needs attention");
  });
});

describe("the summary's words", () => {
  it("count in the singular for one, and say when every connection syncs", async () => {
    // Issue 19, item 9: "1 connections", "1 runs", "0 on".
    const { mount } = await import("./helpers");
    const { card, dashboard, summary } = await import("./fixtures");
    const app = await mount({ dashboard: dashboard({ cards: [card("strava")], summary: summary(1, { total_syncs: 1 }) }) });
    const text = app.text("summary") ?? "";
    expect(text).toContain("1 connection");
    expect(text).not.toContain("1 connections");
    expect(text).toContain("all syncing");
    expect(text).toContain("1 workout (1 copy)");
    expect(text).toContain("1 sync run");
    expect(text).not.toContain("1 sync runs");
    expect(text).toContain("0 need attention");
    await app.unmount();
  });
});

describe("workouts and copies", () => {
  it("the dashboard counts workouts, as the Activities list does, and says how many copies (issue 19 item 9)", async () => {
    // "500 activities" on the dashboard against "250 workouts" in Activities, with no word on why.
    const { mount } = await import("./helpers");
    const { card, dashboard, summary } = await import("./fixtures");
    const app = await mount({ dashboard: dashboard({ cards: [card("strava"), card("wahoo")], summary: summary(500, { total_workouts: 250 }) }) });
    expect(app.text("summary-workouts")).toBe("250");
    expect(app.text("summary-activities")).toBe("500");
    expect(app.text("summary")).toContain("250 workouts (500 copies)");
    expect(app.$("summary-workouts")!.parentElement!.title).toContain("one workout with two copies");
    await app.unmount();
  });
});

describe("notices and views", () => {
  it("a confirmation goes when the view changes; an error stays", async () => {
    // Issue 19, item 9: "Connected to Wahoo." stayed across views.
    const { mount } = await import("./helpers");
    const { dashboard, providers } = await import("./fixtures");
    const app = await mount({ dashboard: dashboard({ cards: [], providers: providers({ strava: true }) }) });
    await app.click("connect-strava");
    expect(app.text("notice")).toContain("Continue in your browser");
    await app.click("nav-activities");
    expect(app.$("notice")).toBeNull();
    app.store.fail(new Error("something broke"));
    await app.click("nav-dashboard");
    expect(app.text("notice")).toContain("something broke");
    await app.unmount();
  });
});
