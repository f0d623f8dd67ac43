// Issue 8's measure: IPC calls per "Sync now", counted on the FakeBackend. The old UI made 30
// with six connections (it reloaded everything on every event).
import { afterEach, describe, expect, it } from "vitest";
import { dashboard, sixConnected, summary } from "./fixtures";
import { mount, type Mounted } from "./helpers";

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
  it("start-up costs five calls, whatever the number of connections", async () => {
    app = await mount({ dashboard: dashboard({ cards: sixConnected() }) });
    expect(app.fake.calls.map((c) => c.cmd).sort()).toEqual([
      "get_app_info",
      "get_dashboard",
      "take_deep_link_outcomes",
      "take_focus",
      "window_ready",
    ]);
  });

  it("one Sync now with six connections and its history open: at most 4", async () => {
    app = await mount({ dashboard: dashboard({ cards: sixConnected(), summary: summary(60) }) }, "#/history/strava");
    const calls = await syncNow();
    expect(calls.length).toBeLessThanOrEqual(4);
    expect([...calls].sort()).toEqual(["get_connection_by_provider", "get_summary", "get_sync_history", "start_sync"]);
    // and the result is on screen
    expect(app.text("last-sync-strava")).toContain("30 new");
    expect(app.all("history-row")[0]?.dataset.status).toBe("success");
  });

  it("one Sync now with the dashboard only: 3", async () => {
    app = await mount({ dashboard: dashboard({ cards: sixConnected(), summary: summary(60) }) });
    const calls = await syncNow();
    expect([...calls].sort()).toEqual(["get_connection_by_provider", "get_summary", "start_sync"]);
  });
});
