// The charts as the athlete meets them: a figure with its caption, a table as the text
// alternative, a keyboard cursor that announces each point, and fresh figures after a run. Under
// happy-dom there is no canvas, so the Chart degrades to those; the last block stubs a canvas
// context to run uPlot itself through its lifecycle.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { SeedActivity } from "./support/fakeLibrary";
import type { SyncRun } from "../src/lib/types";
import { NOW, card, dashboard, run, sixConnected } from "./fixtures";
import { mount, type Mounted } from "./helpers";

// Every uPlot the charts build, to read back what they were given (setData included).
const plots = vi.hoisted(() => [] as { root: HTMLElement; data: (number | null)[][] }[]);
vi.mock("uplot", async (original) => {
  const real = ((await original()) as { default: new (...a: unknown[]) => { root: HTMLElement; data: (number | null)[][] } }).default;
  function Recorded(...args: unknown[]) {
    const u = new real(...args);
    plots.push(u);
    return u;
  }
  Object.setPrototypeOf(Recorded, real);
  return { default: Recorded };
});

let app: Mounted;
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(NOW); // Wednesday 2026-11-25, 12:00 UTC
});
afterEach(async () => {
  await app.unmount();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const DAY = 86_400_000;
const at = (t: number) => new Date(t).toISOString();

/** Four workouts in the last year (one recorded twice), so each counts once. */
const workouts = (): SeedActivity[] => [
  { id: 1, provider: "garmin", start_utc: "2026-11-17T07:00:00Z", utc_offset_seconds: 3600, sport: "run", distance_m: 10_000, moving_seconds: 3600 },
  { id: 2, provider: "wahoo", start_utc: "2026-11-18T07:00:00Z", utc_offset_seconds: 3600, sport: "ride", distance_m: 20_000, moving_seconds: 3600, workout_id: 1, counted: true },
  { id: 3, provider: "strava", start_utc: "2026-11-18T07:00:03Z", utc_offset_seconds: 3600, sport: "ride", distance_m: 20_100, moving_seconds: 3590, workout_id: 1, counted: false },
  { id: 4, provider: "polar", start_utc: "2026-11-20T07:00:00Z", utc_offset_seconds: 3600, sport: "run", distance_m: 5_000, moving_seconds: 1800 },
  { id: 5, provider: "garmin", start_utc: "2026-06-10T07:00:00Z", utc_offset_seconds: 7200, sport: "ride", distance_m: 30_000, moving_seconds: 5400 },
];

const stravaRuns = (): SyncRun[] =>
  [
    run(5, 0, { started_at: at(NOW - 1 * DAY), counters: { fetched: 30, created: 0, updated: 0, skipped: 30, failed: 0, deleted: 0 } }),
    run(4, 5, { started_at: at(NOW - 5 * DAY), counters: { fetched: 7, created: 5, updated: 2, skipped: 0, failed: 0, deleted: 0 } }),
    run(3, 10, { started_at: at(NOW - 30 * DAY) }),
    run(2, 0, {
      started_at: at(NOW - 100 * DAY),
      status: "failed",
      counters: { fetched: 1, created: 0, updated: 0, skipped: 0, failed: 1, deleted: 0 },
      api_calls: 1,
      error_message: "Strava answered 500",
      error_code: "provider",
    }),
    run(1, 40, { started_at: at(NOW - 150 * DAY), counters: { fetched: 63, created: 40, updated: 3, skipped: 20, failed: 0, deleted: 0 } }),
    run(0, 9, { started_at: at(NOW - 200 * DAY) }), // before the chart's window
  ].map((r) => ({ ...r, completed_at: r.started_at }));

const cards = () => [card("strava", {}, stravaRuns()[0]!), ...sixConnected().slice(1)];

describe("weekly volume on the dashboard", () => {
  it("a figure whose caption sums the year, each workout once", async () => {
    app = await mount({ dashboard: dashboard({ cards: cards() }), library: workouts() });
    const figure = app.$("volume-chart")!;
    expect(figure.tagName).toBe("FIGURE");
    expect(figure.querySelector("figcaption")!.textContent).toBe(
      "52 weeks, 4 workouts, 65 km, 4 h; busiest week 2026-11-16: 35 km (3 workouts)",
    );
    const [period, since, until] = app.fake.calls.find((c) => c.cmd === "get_volume")!.args as string[];
    expect(period).toBe("week");
    expect(since).toBe(new Date(2025, 11, 1).toISOString()); // the Monday 51 weeks before this one
    expect(until).toBe(new Date(NOW).toISOString());
  });

  it("is read again after a disconnect that deleted activities, not left showing them", async () => {
    // Issue 19, item 3: the chart kept the deleted workouts until the view was left and reopened.
    app = await mount({ dashboard: dashboard({ cards: cards() }), library: workouts() });
    const before = app.fake.count("get_volume");
    await app.click("disconnect-strava");
    await app.click("disconnect-delete-strava");
    expect(app.fake.count("get_volume")).toBe(before + 1);
  });

  it("a table of the 52 weeks is the text alternative", async () => {
    app = await mount({ dashboard: dashboard({ cards: cards() }), library: workouts() });
    const table = app.$("volume-chart-table")!;
    expect(table.closest("details")).not.toBeNull();
    const rows = [...table.querySelectorAll("tbody tr")];
    expect(rows).toHaveLength(52);
    const week = rows.find((r) => r.querySelector("th")!.textContent === "2026-11-16")!;
    expect([...week.querySelectorAll("td")].map((td) => td.textContent)).toEqual(["3", "35.0 km", "2.5 h", "0 m", "Ride 1, Run 2"]);
  });

  it("the plot is reachable by keyboard; the arrows announce each week", async () => {
    app = await mount({ dashboard: dashboard({ cards: cards() }), library: workouts() });
    const plot = app.$("volume-chart-plot")!;
    expect(plot.tabIndex).toBe(0);
    expect(plot.getAttribute("aria-label")).toContain("Weekly distance by sport");
    expect(plot.querySelector(".chart-canvas")!.getAttribute("aria-hidden")).toBe("true");
    await app.key("volume-chart-plot", "End");
    expect(app.text("volume-chart-live")).toBe("Week of 2026-11-23: 0 workouts.");
    expect(app.$("volume-chart-live")!.getAttribute("aria-live")).toBe("polite");
    await app.key("volume-chart-plot", "ArrowLeft");
    expect(app.text("volume-chart-live")).toBe("Week of 2026-11-16: 3 workouts, 35.0 km, 2.5 h — Ride 20.0 km, Run 15.0 km");
    await app.change("volume-metric", "time");
    expect(app.$("volume-chart-plot")!.getAttribute("aria-label")).toContain("Weekly time by sport");
    await app.key("volume-chart-plot", "ArrowLeft");
    expect(app.text("volume-chart-live")).toBe("Week of 2026-11-09: 0 workouts.");
  });

  it("comes again after a run that stored activities", async () => {
    app = await mount({ dashboard: dashboard({ cards: cards() }), library: workouts() });
    expect(app.fake.count("get_volume")).toBe(1);
    await app.click("sync-polar");
    app.fake.library.add({ id: 9, provider: "polar", start_utc: "2026-11-24T07:00:00Z", sport: "swim", distance_m: 1500, moving_seconds: 1800 });
    await app.during(() => app.fake.finish("polar", "success", { counters: { fetched: 1, created: 1 } }));
    expect(app.fake.count("get_volume")).toBe(2);
    expect(app.text("volume-chart-caption")).toBe("52 weeks, 5 workouts, 67 km, 5 h; busiest week 2026-11-16: 35 km (3 workouts)");
  });

  it("with no workouts yet, says so and draws nothing", async () => {
    app = await mount({ dashboard: dashboard({ cards: cards() }) });
    expect(app.text("volume-chart-caption")).toBe("52 weeks, no workouts yet.");
    expect(app.$("volume-chart-plot")).toBeNull();
    expect(app.$("volume-chart-table")).toBeNull();
  });
});

describe("sync history chart", () => {
  const history = () => mount({ dashboard: dashboard({ cards: cards() }), runs: { strava: stravaRuns() } }, "#/history/strava");

  it("asks for 180 days of runs when the history opens, and captions them", async () => {
    app = await history();
    expect(app.fake.calls.find((c) => c.cmd === "get_run_stats")!.args).toEqual([
      "strava",
      new Date(NOW - 180 * DAY).toISOString(),
      new Date(NOW).toISOString(),
      5000,
    ]);
    const figure = app.$("history-chart-strava")!;
    expect(figure.tagName).toBe("FIGURE");
    expect(app.text("history-chart-strava-caption")).toBe(
      "180 days, 5 runs (1 failed): 55 created, 5 updated, 50 unchanged, 1 not stored; 9 API calls",
    );
  });

  it("the table lists each run, oldest first, the failed one marked", async () => {
    app = await history();
    const rows = [...app.$("history-chart-table-strava")!.querySelectorAll("tbody tr")];
    expect(rows).toHaveLength(5);
    const cells = (r: Element) => [...r.querySelectorAll("td")].map((td) => td.textContent);
    expect(cells(rows[0]!)).toEqual(["1", "40", "3", "20", "0", "0", "2", "97"]);
    expect(rows.map((r) => r.hasAttribute("data-failed"))).toEqual([false, true, false, false, false]);
    expect(cells(rows[1]!)[5]).toBe("1");
  });

  it("zooms to the last days and back", async () => {
    app = await history();
    expect(app.$("history-chart-strava-reset")!.hasAttribute("disabled")).toBe(true);
    await app.click("history-chart-strava-zoom-7");
    expect(app.$("history-chart-table-strava")!.querySelectorAll("tbody tr")).toHaveLength(2);
    expect(app.text("history-chart-strava-caption")).toContain("— showing");
    await app.click("history-chart-strava-reset");
    expect(app.$("history-chart-table-strava")!.querySelectorAll("tbody tr")).toHaveLength(5);
    expect(app.fake.count("get_run_stats")).toBe(1); // zooming asks nothing
  });

  it("the keyboard cursor announces each run", async () => {
    app = await history();
    await app.key("history-chart-strava-plot", "ArrowRight");
    expect(app.text("history-chart-strava-live")).toMatch(/: run; 40 created, 3 updated, 20 unchanged, 0 not stored; 2 API calls, 97 left$/);
    await app.key("history-chart-strava-plot", "ArrowRight");
    expect(app.text("history-chart-strava-live")).toMatch(/: run failed; 0 created/);
  });

  it("comes again when a run of that connection finishes, not for another", async () => {
    app = await history();
    await app.click("sync-polar");
    await app.during(() => app.fake.finish("polar"));
    expect(app.fake.count("get_run_stats")).toBe(1);
    await app.click("sync-strava");
    vi.setSystemTime(NOW + 60_000);
    await app.during(() => app.fake.finish("strava", "success", { counters: { fetched: 4, created: 4 } }));
    expect(app.fake.count("get_run_stats")).toBe(2);
    expect(app.text("history-chart-strava-caption")).toContain("6 runs (1 failed): 59 created");
  });

  it("closing the history drops the chart's runs", async () => {
    app = await history();
    expect(app.store.get().runStats?.provider).toBe("strava");
    vi.useRealTimers(); // the link's hashchange comes by a task
    await app.click("history-close");
    expect(app.store.get().runStats).toBeNull();
  });
});

describe("uPlot itself, on a stubbed canvas", () => {
  beforeEach(() => {
    // happy-dom has no canvas: a context that accepts every call (ui-libs notes, section 1).
    const noop = () => undefined;
    vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockImplementation(function (this: HTMLCanvasElement) {
      const target: Record<string | symbol, unknown> = {
        canvas: this,
        measureText: (s: string) => ({ width: s.length * 6, actualBoundingBoxAscent: 8, actualBoundingBoxDescent: 2 }),
        getLineDash: () => [],
        createLinearGradient: () => ({ addColorStop: noop }),
        createPattern: () => null,
      };
      return new Proxy(target, { get: (o, k) => (k in o ? o[k] : noop), set: (o, k, v) => ((o[k] = v), true) }) as never;
    });
    vi.stubGlobal(
      "Path2D",
      class {
        moveTo() {}
        lineTo() {}
        rect() {}
        arc() {}
        closePath() {}
        addPath() {}
        bezierCurveTo() {}
        quadraticCurveTo() {}
      },
    );
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    delete document.documentElement.dataset.theme;
  });

  it("is built on mount, hidden from assistive technology, rebuilt on a theme or metric change, destroyed on unmount", async () => {
    app = await mount({ dashboard: dashboard({ cards: cards() }), library: workouts() });
    const first = app.$("volume-chart")!.querySelector(".uplot")!;
    expect(first).not.toBeNull();
    expect(first.closest('[aria-hidden="true"]')).not.toBeNull();
    expect(first.querySelectorAll("canvas")).toHaveLength(1);
    await app.key("volume-chart-plot", "End");
    expect(app.text("volume-chart-live")).toContain("Week of 2026-11-23");

    await app.during(() => {
      document.documentElement.dataset.theme = "dark"; // colours are read at creation
    });
    const second = app.$("volume-chart")!.querySelector(".uplot")!;
    expect(second).not.toBe(first);
    expect(app.$("volume-chart")!.querySelectorAll(".uplot")).toHaveLength(1);

    await app.change("volume-metric", "time");
    expect(app.$("volume-chart")!.querySelector(".uplot")).not.toBe(second);

    vi.useRealTimers(); // the link's hashchange comes by a task
    await app.click("nav-settings");
    expect(app.$("volume-chart")).toBeNull();
    expect(document.querySelectorAll(".uplot")).toHaveLength(0);
  });

  it("new figures go to the same plot", async () => {
    app = await mount({ dashboard: dashboard({ cards: cards() }), library: workouts() });
    const plot = app.$("volume-chart")!.querySelector(".uplot");
    await app.click("sync-polar");
    app.fake.library.add({ id: 9, provider: "polar", start_utc: "2026-11-24T07:00:00Z", sport: "run", distance_m: 1500, moving_seconds: 600 });
    const drawn = () => plots.filter((u) => u.root === plot).pop();
    const total = () => drawn()!.data.slice(1).flat().reduce<number>((a, v) => a + (v ?? 0), 0);
    const before = total();
    await app.during(() => app.fake.finish("polar", "success", { counters: { fetched: 1, created: 1 } }));
    expect(app.text("volume-chart-caption")).toContain("5 workouts");
    expect(app.$("volume-chart")!.querySelector(".uplot")).toBe(plot);
    // The plot itself was handed the new figures (not only the caption beside it).
    expect(total()).toBeGreaterThan(before);
  });

  it("the history chart builds too", async () => {
    app = await mount({ dashboard: dashboard({ cards: cards() }), runs: { strava: stravaRuns() } }, "#/history/strava");
    expect(app.$("history-chart-strava")!.querySelector(".uplot canvas")).not.toBeNull();
    await app.key("history-chart-strava-plot", "Home");
    expect(app.text("history-chart-strava-live")).toContain("40 created");
  });
});
