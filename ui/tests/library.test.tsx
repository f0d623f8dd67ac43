// The activity browser: a virtual list paged by keyset, filters, linked workouts shown once with
// their sources, the detail pane, and the athlete's link / unlink / primary.
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { TEXT_DELAY_MS } from "../src/components/ActivityFilters";
import { FakeLibrary } from "./support/fakeLibrary";
import type { ActivityFilter, PageRequest } from "../src/lib/types";
import { NOW, dashboard, librarySeed } from "./fixtures";
import { flush, mount, viewport, type Mounted } from "./helpers";

let app: Mounted;
let restore: () => void;
beforeEach(() => {
  restore = viewport(720); // 20 rows of 36 px
});
afterEach(async () => {
  await app.unmount();
  restore();
  vi.useRealTimers();
});

const open = (library: FakeLibrary | ReturnType<typeof librarySeed> = librarySeed()) =>
  mount({ dashboard: dashboard(), library }, "#/activities");

const rows = () => app.all("workout-row");
const row = (id: number) => app.root.querySelector<HTMLElement>(`[data-testid="workout-row"][data-activity-id="${id}"]`);
const ids = () => rows().map((r) => Number(r.dataset.activityId));
const lists = () => app.fake.calls.filter((c) => c.cmd === "list_workouts" || c.cmd === "list_activities");
/** The library's calls, without the recording the detail reads beside them (recording.test.tsx). */
const library = () => app.fake.calls.filter((c) => c.cmd !== "get_recording");
const lastOfLibrary = () => library()[library().length - 1];
const page = (i: number) => lists()[i]!.args as [ActivityFilter, PageRequest];
const clickRow = async (id: number) => {
  const el = row(id);
  if (!el) throw new Error(`no row ${id}`);
  await app.during(() => el.click());
};
const NO_FILTER: ActivityFilter = { provider: null, sport: null, since: null, until: null, text: null };

describe("workouts, each once", () => {
  it("the nav opens the browser, which lists workouts newest first", async () => {
    app = await mount({ dashboard: dashboard(), library: librarySeed() });
    await app.click("nav-activities");
    expect(location.hash).toBe("#/activities");
    expect(app.$("nav-activities")?.getAttribute("aria-current")).toBe("page");
    expect(ids()).toEqual([1, 3, 7, 6]);
    expect(app.text("activity-count")).toBe("4 workouts · 76.0 km · 4.2 h");
    expect(page(0)).toEqual([NO_FILTER, { after: null, limit: 200, sort: "start", order: "descending" }]);
  });

  it("a linked workout is one row with a badge per copy; the reason and confidence on hover", async () => {
    app = await open();
    const run = row(1)!;
    expect(run.dataset.workoutId).toBe("1");
    expect(run.dataset.copies).toBe("2");
    const garmin = run.querySelector<HTMLElement>('[data-testid="badge-garmin"]')!;
    const strava = run.querySelector<HTMLElement>('[data-testid="badge-strava"]')!;
    expect(garmin.hasAttribute("data-primary")).toBe(true);
    expect(garmin.className).toContain("primary");
    expect(strava.hasAttribute("data-primary")).toBe(false);
    expect(strava.title).toBe("started 3 s apart, both run — 97 %");
    expect(row(3)!.dataset.copies).toBe("3");
    expect(row(3)!.querySelector<HTMLElement>('[data-testid="badge-google_health"]')!.title).toBe(
      "started 4 s apart, same duration and distance, both ride — 98 %",
    );
    // standing alone: no workout, one badge naming the provider
    const swim = row(6)!;
    expect(swim.dataset.workoutId).toBe("");
    expect(swim.dataset.copies).toBe("1");
    expect(swim.querySelector<HTMLElement>('[data-testid="badge-polar"]')!.title).toBe("Polar");
  });

  it("a row shows the local date of the activity, sport, name, distance and time", async () => {
    app = await open();
    const cells = [...row(1)!.querySelectorAll("span")].map((s) => s.textContent);
    // 07:00 UTC at UTC+1 is 08:00 where it happened, whatever the viewer's time zone
    const there = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });
    expect(cells[0]).toBe(`${there.format(Date.UTC(2026, 10, 20, 8, 0))} UTC+1`);
    expect(cells.slice(1, 5)).toEqual(["Run", "Morning run", "10.0 km", "50:00"]);
  });

  it("every copy: each provider's copy on its own row", async () => {
    app = await open();
    await app.change("filter-copies");
    expect(lists().slice(-1)[0]).toEqual({ cmd: "list_activities", args: [NO_FILTER, { after: null, limit: 200, sort: "start", order: "descending" }] });
    expect(ids()).toEqual([2, 1, 5, 4, 3, 7, 6]);
    expect(row(2)!.dataset.copies).toBe("2");
    expect(app.text("activity-count")).toMatch(/^7 copies · /);
  });
});

describe("filters", () => {
  it("each filter starts the list over with the whole filter", async () => {
    app = await open();
    await app.change("filter-provider", "strava");
    expect(lists().slice(-1)[0]).toEqual({
      cmd: "list_workouts",
      args: [{ ...NO_FILTER, provider: "strava" }, { after: null, limit: 200, sort: "start", order: "descending" }],
    });
    // workouts with a Strava copy, each once, shown by its primary
    expect(ids()).toEqual([1, 3, 7]);
    await app.change("filter-sport", "ride");
    expect(page(2)[0]).toEqual({ ...NO_FILTER, provider: "strava", sport: "ride" });
    expect(ids()).toEqual([3]);
    await app.change("filter-provider", "");
    await app.change("filter-sport", "");
    await app.change("filter-since", "2026-11-18");
    await app.change("filter-until", "2026-11-19");
    // local midnights: "to" includes its day
    expect(page(lists().length - 1)[0]).toEqual({
      ...NO_FILTER,
      since: new Date(2026, 10, 18).toISOString(),
      until: new Date(2026, 10, 20).toISOString(),
    });
    await app.click("sort-start");
    expect(page(lists().length - 1)[1]).toEqual({ after: null, limit: 200, sort: "start", order: "ascending" });
  });

  it("a column's head sorts the list by it; a second click turns the order round (issue 19 item 8)", async () => {
    app = await open();
    expect(app.$("sort-start")!.getAttribute("aria-pressed")).toBe("true");
    const totalsRead = () => app.fake.calls.filter((c) => c.cmd === "get_list_totals").length;
    const before = totalsRead();
    const count = app.text("activity-count");
    await app.click("sort-distance");
    // the same rows: their count and sums stand, and are not read again
    expect(totalsRead()).toBe(before);
    expect(app.text("activity-count")).toContain(count!);
    expect(page(lists().length - 1)[1]).toEqual({ after: null, limit: 200, sort: "distance", order: "descending" });
    // ties (two 2,000 m swims) by id, as the core does
    expect(ids()).toEqual([3, 1, 7, 6]);
    expect(app.$("sort-distance")!.getAttribute("aria-pressed")).toBe("true");
    expect(app.$("sort-start")!.getAttribute("aria-pressed")).toBe("false");
    expect(app.text("activity-count")).toMatch(/sorted by distance, farthest first$/);
    await app.click("sort-distance");
    expect(page(lists().length - 1)[1]).toMatchObject({ sort: "distance", order: "ascending" });
    expect(ids()).toEqual([6, 7, 1, 3]);
    // a name is looked for A to Z first
    await app.click("sort-name");
    expect(page(lists().length - 1)[1]).toMatchObject({ sort: "name", order: "ascending" });
    expect(ids()).toEqual([3, 7, 1, 6]);
    // a filter keeps the sort
    await app.change("filter-sport", "swim");
    expect(page(lists().length - 1)).toEqual([{ ...NO_FILTER, sport: "swim" }, { after: null, limit: 200, sort: "name", order: "ascending" }]);
    expect(ids()).toEqual([7, 6]);
    // back to the date, newest first
    await app.click("sort-start");
    expect(page(lists().length - 1)[1]).toMatchObject({ sort: "start", order: "descending" });
    expect(app.text("activity-count")).not.toMatch(/sorted by/);
  });

  it("text is asked for after a pause in typing, once", async () => {
    app = await open();
    vi.useFakeTimers();
    const before = lists().length;
    await app.type("filter-text", "p");
    await app.type("filter-text", "po");
    await app.type("filter-text", "pool ");
    await flush();
    expect(lists()).toHaveLength(before);
    await app.during(() => vi.advanceTimersByTime(TEXT_DELAY_MS));
    expect(lists()).toHaveLength(before + 1);
    expect(page(before)[0]).toEqual({ ...NO_FILTER, text: "pool" });
    expect(ids()).toEqual([6]);
  });

  it("nothing matching says so", async () => {
    app = await open();
    await app.change("filter-sport", "ski");
    expect(rows()).toHaveLength(0);
    expect(app.text("activity-count")).toBe("No workouts match.");
  });
});

describe("the detail", () => {
  it("shows every field, the copies and who decided; the raw payload collapsed, as text", async () => {
    app = await open();
    await clickRow(1);
    expect(lastOfLibrary()).toEqual({ cmd: "get_activity", args: [1] });
    expect(row(1)!.className).toContain("selected");
    const detail = app.$("activity-detail")!;
    const fields = app.text("detail-fields")!;
    for (const shown of ["Garmin", "Run", "UTC+1", "51:40", "50:00", "10.0 km", "84 m", "151 bpm", "176 bpm", "640 kcal", "Garmin Forerunner 965"]) {
      expect(fields).toContain(shown);
    }
    // The ids are one click away; "still listed" is not news.
    expect(app.text("detail-technical")).toContain("14200000001");
    expect(fields).not.toContain("listed");
    expect(app.text("detail-name")).toBe("Morning run");
    expect(app.text("copy-1")).toContain("primary");
    expect(app.text("copy-2")).toContain("11000000002");
    expect(app.text("copy-2")).toContain("started 3 s apart, both run · 97 %");
    expect(app.text("copy-2")).toContain("automatic");
    const raw = app.$("raw-payload") as HTMLDetailsElement;
    expect(raw.tagName).toBe("DETAILS");
    expect(raw.open).toBe(false);
    const pre = raw.querySelector("pre")!;
    expect(pre.children).toHaveLength(0);
    expect(JSON.parse(pre.textContent!)).toEqual({ activityId: 14200000001, activityName: "Morning run", distance: 10012 });
    expect(pre.textContent).toContain('\n  "activityId": 14200000001');
    expect(detail.querySelector('[data-testid="make-primary-2"]')).not.toBeNull();
    expect(detail.querySelector('[data-testid="make-primary-1"]')).toBeNull(); // already primary
  });

  it("an activity standing alone offers linking, not unlinking", async () => {
    app = await open();
    await clickRow(6);
    expect(app.$("unlink-6")).toBeNull();
    expect(app.$("make-primary-6")).toBeNull();
    expect(app.$("link-start")).not.toBeNull();
  });

  it("closes with its button", async () => {
    app = await open();
    await clickRow(6);
    await app.click("detail-close");
    expect(app.$("activity-detail")).toBeNull();
  });
});

describe("the athlete's choices", () => {
  it("unlink takes a copy out; the list refreshes in place and the workout stays on screen", async () => {
    app = await open();
    await clickRow(1);
    app.fake.clearCalls();
    await app.click("unlink-2");
    const cmds = library().map((c) => c.cmd);
    expect(app.fake.calls[0]).toEqual({ cmd: "unlink_activity", args: [2] });
    // the list's totals are read again after a change (its count moved)
    expect(cmds).toEqual(["unlink_activity", "get_activity", "list_workouts", "get_list_totals"]);
    expect(library()[1]!.args).toEqual([1]);
    expect(page(0)[1]).toMatchObject({ after: null }); // the page holding it, again
    // the Strava copy now stands alone, next to the Garmin one
    expect(ids()).toEqual([2, 1, 3, 7, 6]);
    expect(row(1)!.dataset.copies).toBe("1");
    expect(row(2)!.dataset.copies).toBe("1");
    expect(app.text("detail-name")).toBe("Morning run");
    expect(app.$("copy-2")).toBeNull();
    await clickRow(2);
    expect(app.text("copy-2")).toContain("kept apart by you");
  });

  it("make primary: the workout is shown by the chosen copy", async () => {
    app = await open();
    await clickRow(1);
    app.fake.clearCalls();
    await app.click("make-primary-2");
    expect(app.fake.calls[0]).toEqual({ cmd: "make_primary", args: [2] });
    expect(ids()).toEqual([2, 3, 7, 6]);
    const run = row(2)!;
    expect(run.dataset.copies).toBe("2");
    expect(run.querySelector('[data-testid="badge-strava"]')!.hasAttribute("data-primary")).toBe(true);
    expect(run.className).toContain("selected");
    expect(app.text("detail-technical")).toContain("11000000002");
    expect(app.text("copy-2")).toContain("primary");
  });

  it("link by hand: pick the other copy in the list", async () => {
    app = await open();
    await clickRow(6);
    await app.click("link-start");
    expect(app.text("link-banner")).toContain("Pick the other copy of “Pool swim”");
    app.fake.clearCalls();
    await clickRow(7);
    expect(app.fake.calls[0]).toEqual({ cmd: "link_activities", args: [6, 7] });
    expect(app.$("link-banner")).toBeNull();
    expect(ids()).toEqual([1, 3, 6]);
    expect(row(6)!.dataset.copies).toBe("2");
    expect(row(6)!.querySelector<HTMLElement>('[data-testid="badge-strava"]')!.title).toBe("linked by you — 100 %");
    expect(app.text("copy-7")).toContain("linked by you");
  });

  it("picking the row itself does nothing; cancel leaves the mode and rows open again", async () => {
    app = await open();
    await clickRow(6);
    await app.click("link-start");
    app.fake.clearCalls();
    await clickRow(6);
    expect(app.fake.count()).toBe(0);
    expect(app.$("link-banner")).not.toBeNull();
    await app.click("link-cancel");
    expect(app.$("link-banner")).toBeNull();
    await clickRow(7);
    expect(library().map((c) => c.cmd)).toEqual(["get_activity"]);
  });

  it("a link the core refuses is shown by its message and nothing changes", async () => {
    app = await open();
    await app.change("filter-copies");
    await clickRow(7);
    await app.click("link-start");
    app.fake.clearCalls();
    await clickRow(2); // two Strava copies: a workout holds one copy per provider
    expect(app.fake.calls.map((c) => c.cmd)).toEqual(["link_activities"]);
    expect(app.text("notice")).toContain("both come from strava");
    expect(ids()).toEqual([2, 1, 5, 4, 3, 7, 6]);
    expect(app.$("link-banner")).toBeNull();
  });

  it("an error from the core is shown in the notice", async () => {
    app = await open();
    await clickRow(6);
    await app.click("link-start");
    app.fake.failNext("link_activities", "validation", "activities 6 and 7 are a day apart");
    await clickRow(7);
    expect(app.$("notice")?.className).toContain("error");
    expect(app.text("notice")).toContain("activities 6 and 7 are a day apart");
    expect(ids()).toEqual([1, 3, 7, 6]);
  });
});

describe("keyboard", () => {
  it("arrows move the selection, Enter opens, Escape closes", async () => {
    app = await open();
    await app.key("activity-list", "ArrowDown");
    expect(row(1)!.getAttribute("aria-selected")).toBe("true");
    expect(app.$("activity-list")!.getAttribute("aria-activedescendant")).toBe("activity-1");
    await app.key("activity-list", "ArrowDown");
    expect(row(3)!.getAttribute("aria-selected")).toBe("true");
    expect(row(1)!.getAttribute("aria-selected")).toBe("false");
    await app.key("activity-list", "Enter");
    expect(lastOfLibrary()).toEqual({ cmd: "get_activity", args: [3] });
    expect(app.$("activity-detail")).not.toBeNull();
    await app.key("activity-list", "End");
    expect(row(6)!.getAttribute("aria-selected")).toBe("true");
    await app.key("activity-list", "ArrowDown"); // stays on the last
    expect(row(6)!.getAttribute("aria-selected")).toBe("true");
    await app.key("activity-list", "ArrowUp");
    expect(row(7)!.getAttribute("aria-selected")).toBe("true");
    await app.key("activity-list", "Home");
    expect(row(1)!.getAttribute("aria-selected")).toBe("true");
    await app.key("activity-list", "Escape");
    expect(app.$("activity-detail")).toBeNull();
    expect(app.$("activity-list")!.tabIndex).toBe(0);
  });
});

describe("100,000 workouts", () => {
  let big: FakeLibrary;
  beforeAll(() => {
    big = FakeLibrary.generate(100_000, { now: NOW });
  });

  it("renders only the rows in view plus overscan", async () => {
    app = await open(big);
    expect(app.fake.count("list_workouts")).toBe(1);
    // 720 px / 36 px = 20 rows, and 8 of overscan below
    expect(rows()).toHaveLength(28);
    // the exact count, from the core, not "200+" from the pages loaded
    expect(app.text("activity-count")).toMatch(/^100,000 workouts · /);
    await app.scroll("activity-list", 100 * 36);
    const shown = rows().map((r) => Number(r.getAttribute("aria-posinset")));
    expect(shown).toHaveLength(20 + 16);
    expect(Math.min(...shown)).toBe(101 - 8);
    expect(Math.max(...shown)).toBe(100 + 20 + 8);
  });

  it("asks for the next page near the end, from the last page's cursor, and never twice", async () => {
    app = await open(big);
    const first = big.workouts(NO_FILTER, { after: null, limit: 200, sort: "start", order: "descending" });
    await app.scroll("activity-list", 100 * 36); // 60+ rows before the end: not yet
    expect(app.fake.count("list_workouts")).toBe(1);
    await app.scroll("activity-list", 130 * 36);
    expect(app.fake.count("list_workouts")).toBe(2);
    expect(page(1)).toEqual([NO_FILTER, { after: first.next, limit: 200, sort: "start", order: "descending" }]);
    expect(rows().every((r) => r.dataset.activityId)).toBe(true);
    // back and forth over what is loaded: nothing is asked again
    await app.scroll("activity-list", 10 * 36);
    await app.scroll("activity-list", 150 * 36);
    await app.scroll("activity-list", 0);
    expect(app.fake.count("list_workouts")).toBe(2);
    for (let i = 0; i < 5; i++) await app.scroll("activity-list", (400 - 30) * 36 + i * 10);
    expect(app.fake.count("list_workouts")).toBe(3);
    const cursors = lists().map((c) => (c.args[1] as PageRequest).after);
    expect(new Set(cursors).size).toBe(cursors.length);
    expect(rows().length).toBeLessThanOrEqual(40);
  });

  it("a filter restarts paging at the top", async () => {
    app = await open(big);
    await app.scroll("activity-list", 150 * 36);
    expect(app.fake.count("list_workouts")).toBe(2);
    await app.change("filter-sport", "swim");
    expect(page(2)).toEqual([{ ...NO_FILTER, sport: "swim" }, { after: null, limit: 200, sort: "start", order: "descending" }]);
    expect(rows().every((r) => r.querySelector(".sport")!.textContent === "Swim")).toBe(true);
  });
});

// Issue 19, items 7 and 8: copies told apart, the list's exact count and sums, pace and heart
// rate, the provider's page per copy, and export from the window.
describe("the list athletes expect", () => {
  it("the count is exact, with the whole list's distance and time, read again for each filter", async () => {
    app = await open();
    expect(app.fake.calls.filter((c) => c.cmd === "get_list_totals").slice(-1)[0]).toEqual({ cmd: "get_list_totals", args: [NO_FILTER, true] });
    expect(app.text("activity-count")).toMatch(/^4 workouts · [\d.,]+ km · /);
    await app.change("filter-copies");
    expect(app.fake.calls.filter((c) => c.cmd === "get_list_totals").slice(-1)[0]).toEqual({ cmd: "get_list_totals", args: [NO_FILTER, false] });
    expect(app.text("activity-count")).toMatch(/^7 copies · /);
  });

  it("each row has its pace or speed and its heart rate", async () => {
    app = await open();
    const cells = [...row(1)!.querySelectorAll("span")].map((s) => s.textContent);
    // 10.0 km in 50:00 moving
    expect(cells.slice(3, 7)).toEqual(["10.0 km", "50:00", "5:00 /km", "151"]);
  });

  it("every copy: each row names its own source, the other copies after it, and its time with its zone", async () => {
    app = await open();
    await app.change("filter-copies");
    const badges = (id: number) =>
      [...row(id)!.querySelectorAll<HTMLElement>('[data-testid^="badge-"]:not([data-testid="badge-also"])')].map((b) => b.dataset.testid);
    expect(badges(1)).toEqual(["badge-garmin"]);
    expect(badges(2)).toEqual(["badge-strava"]);
    expect(row(1)!.querySelector('[data-testid="badge-also"]')?.textContent).toBe("also Strava");
    for (const id of [1, 2]) expect(row(id)!.querySelector(".when")!.textContent).toMatch(/UTC[+−]\d{1,2}(:\d\d)?$/);
  });

  it("a copy from a provider with activity pages offers to open it there; the address is the core's", async () => {
    app = await open();
    await clickRow(1);
    expect(app.$("open-at-1")).toBeNull(); // Garmin's fixture has no page
    await app.click("open-at-2");
    expect(app.fake.last).toEqual({ cmd: "open_activity_page", args: [2] });
  });

  it("the provider's id and the database's are one click away, not among the fields", async () => {
    app = await open();
    await clickRow(1);
    expect(app.text("detail-fields")).not.toContain("14200000001");
    expect((app.$("detail-technical") as HTMLDetailsElement).open).toBe(false);
    expect(app.text("detail-technical")).toContain("14200000001");
  });

  it("export from the window says what was written and where", async () => {
    app = await open();
    await app.click("export-json");
    expect(app.fake.last).toEqual({ cmd: "export_library", args: ["json"] });
    expect(app.text("notice")).toContain("Exported 4 workouts (7 copies) to /home/athlete/tributary-2026-12-07.json.");
    app.fake.exportTo = null; // the athlete cancels the dialog: nothing more is said
    await app.click("export-csv");
    expect(app.fake.last).toEqual({ cmd: "export_library", args: ["csv"] });
    expect(app.text("notice")).toContain(".json."); // still the first export's notice
  });
});

describe("the list's totals belong to their list", () => {
  it("a new filter never shows the old list's count under the new list's name", async () => {
    app = await open();
    expect(app.text("activity-count")).toMatch(/^4 workouts · /);
    // The every-copy list's totals wait: its pages say what they know until they come.
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const real = app.fake.getListTotals;
    app.fake.getListTotals = async (filter, workouts) => {
      await held;
      return real(filter, workouts);
    };
    await app.change("filter-copies");
    expect(app.text("activity-count")).toBe("7 copies");
    release();
    await flush();
    expect(app.text("activity-count")).toMatch(/^7 copies · /);
  });
});
