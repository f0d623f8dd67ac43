// Issue 8's measure: IPC calls per "Sync now", counted on the FakeBackend. The old UI made 30
// with six connections (it reloaded everything on every event). Issue 10 adds the charts' data
// (the dashboard's weekly volume, the open history's run statistics: one call each, again after
// a run) and the activity browser's pages (one per 200 rows, asked as the athlete scrolls).
import { afterEach, describe, expect, it } from "vitest";
import { FakeLibrary } from "./support/fakeLibrary";
import type { PageRequest } from "../src/lib/types";
import { NOW, dashboard, sixConnected, summary } from "./fixtures";
import { mount, viewport, type Mounted } from "./helpers";

let app: Mounted;
afterEach(() => app.unmount());

const counters = (created: number) => ({ fetched: 250, created, updated: 0, skipped: 250 - created, failed: 0, deleted: 0 });

/** Sync now, three pages of progress, the end: what the core sends for one run. */
async function syncNow() {
  app.fake.clearCalls();
  await app.click("sync-strava");
  for (let page = 1; page <= 3; page++) {
    await app.during(() => app.fake.progress("strava", { fetched: page * 80, created: page * 10 }, { pages: page, api_calls: page + 1 }));
  }
  await app.during(() => app.fake.finish("strava", "success", { counters: counters(30) }));
  return app.fake.calls.map((c) => c.cmd);
}

describe("IPC calls", () => {
  it("start-up costs six calls (five, and the weekly volume), whatever the number of connections", async () => {
    app = await mount({ dashboard: dashboard({ cards: sixConnected() }) });
    expect(app.fake.calls.map((c) => c.cmd).sort()).toEqual([
      "get_app_info",
      "get_dashboard",
      "get_volume",
      "take_deep_link_outcomes",
      "take_focus",
      "window_ready",
    ]);
  });

  it("one Sync now with six connections and its history open: at most 6", async () => {
    app = await mount({ dashboard: dashboard({ cards: sixConnected(), summary: summary(60) }) }, "#/history/strava");
    const calls = await syncNow();
    expect(calls.length).toBeLessThanOrEqual(6);
    expect([...calls].sort()).toEqual([
      "get_connection_by_provider",
      "get_run_stats",
      "get_summary",
      "get_sync_history",
      "get_volume",
      "start_sync",
    ]);
    // and the result is on screen
    expect(app.text("last-sync-strava")).toContain("30 new");
    expect(app.all("history-row")[0]?.dataset.status).toBe("success");
  });

  it("one Sync now with the dashboard only: 4", async () => {
    app = await mount({ dashboard: dashboard({ cards: sixConnected(), summary: summary(60) }) });
    const calls = await syncNow();
    expect([...calls].sort()).toEqual(["get_connection_by_provider", "get_summary", "get_volume", "start_sync"]);
  });

  it("a run that changed no activity does not fetch the volume again", async () => {
    app = await mount({ dashboard: dashboard({ cards: sixConnected(), summary: summary(60) }) });
    app.fake.clearCalls();
    await app.click("sync-strava");
    await app.during(() => app.fake.finish("strava", "success", { counters: { fetched: 250, skipped: 250 } }));
    expect(app.fake.count("get_volume")).toBe(0);
  });
});

describe("IPC calls of the activity browser", () => {
  it("opening it costs one list_workouts call and one for its totals (and no volume: the dashboard is not shown)", async () => {
    app = await mount({ dashboard: dashboard({ cards: sixConnected() }), library: FakeLibrary.generate(1000, { now: NOW }) });
    app.fake.clearCalls();
    await app.click("nav-activities");
    expect(app.fake.calls.map((c) => c.cmd)).toEqual(["list_workouts", "get_list_totals"]);
  });

  it("scrolling to the end of 1,000 workouts costs five pages of 200", async () => {
    const restore = viewport(720);
    try {
      app = await mount({ dashboard: dashboard(), library: FakeLibrary.generate(1000, { now: NOW }) }, "#/activities");
      // The count is exact from the start now (the core's totals): scroll until the pages stop.
      for (let i = 0; i < 20 && app.fake.calls.filter((c) => c.cmd === "list_workouts").length < 5; i++) {
        await app.scroll("activity-list", 1000 * 36);
      }
      await app.scroll("activity-list", 1000 * 36); // at the end: no sixth page
      expect(app.text("activity-count")).toMatch(/^1,000 workouts · /);
      const pages = app.fake.calls.filter((c) => c.cmd === "list_workouts").map((c) => c.args[1] as PageRequest);
      expect(pages).toHaveLength(5);
      expect(pages.every((p) => p.limit === 200)).toBe(true);
      expect(pages[0]!.after).toBeNull();
      expect(new Set(pages.map((p) => p.after)).size).toBe(5);
      // and once at the end, no more
      await app.scroll("activity-list", 1000 * 36 - 10);
      expect(app.fake.count("list_workouts")).toBe(5);
    } finally {
      restore();
    }
  });
});
