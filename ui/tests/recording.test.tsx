// The recording in an activity's detail: the copy it comes from and the choice among linked
// copies, the route, the charts (their data, not pixels: happy-dom has no canvas), the laps,
// and "Save original…".
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { charts, hasDistance, lapRow, pace, track, window, xValues } from "../src/lib/recording";
import type { Shown } from "../src/lib/types";
import { dashboard, librarySeed } from "./fixtures";
import { mount, viewport, type Mounted } from "./helpers";

let app: Mounted;
let restore: () => void;
beforeEach(() => {
  restore = viewport(900);
});
afterEach(async () => {
  await app.unmount();
  restore();
});

const open = () => mount({ dashboard: dashboard(), library: librarySeed() }, "#/activities");
const openRow = async (id: number) => {
  const el = app.root.querySelector<HTMLElement>(`[data-testid="workout-row"][data-activity-id="${id}"]`);
  if (!el) throw new Error(`no row ${id}`);
  await app.during(() => el.click());
};

describe("the recording in the detail", () => {
  it("is read with the detail and drawn as charts with laps, from the copy shown", async () => {
    app = await open();
    await openRow(1);
    expect(app.fake.calls.some((c) => c.cmd === "get_recording" && c.args[0] === 1 && c.args[1] === null)).toBe(true);
    const shown = app.$("recording-shown")!;
    expect(shown.dataset.activity).toBe("1");
    expect(app.text("recording-source")).toContain("FIT file");
    const hr = app.$("recording-chart-heart_rate")!;
    expect(Number(hr.dataset.points)).toBe(600);
    // A run reads pace, not speed.
    expect(app.$("recording-chart-speed")!.textContent).toContain("Pace");
    expect(app.$("recording-laps")!.querySelectorAll("tbody tr").length).toBe(10);
  });

  it("switches the copy shown, and pins it like a link", async () => {
    app = await open();
    await openRow(1);
    app.fake.clearCalls();
    await app.during(() => (app.$("recording-copy-2") as HTMLInputElement).click());
    expect(app.fake.last).toEqual({ cmd: "get_recording", args: [1, 2] });
    expect(app.$("recording-shown")!.dataset.activity).toBe("2");
    expect(app.text("recording-source")).toContain("streams");
    await app.click("recording-pin");
    const chose = (pin: boolean) => app.fake.calls.some((c) => c.cmd === "choose_recording" && c.args[0] === 2 && c.args[1] === pin);
    expect(chose(true)).toBe(true);
    expect(app.text("recording-source")).toContain("your choice");
    await app.click("recording-unpin");
    expect(chose(false)).toBe(true);
    expect(app.$("recording-shown")!.dataset.activity).toBe("1");
  });

  it("saves the original through the native dialog, and says where", async () => {
    app = await open();
    await openRow(1);
    await app.click("save-original");
    expect(app.fake.last).toEqual({ cmd: "save_original", args: [1] });
    expect(app.text("save-original-result")).toContain("/home/athlete/original.fit");
  });

  it("an indoor workout has no route, and a copy without a recording says so", async () => {
    app = await open();
    app.fake.withoutRecording.add(6);
    await openRow(6);
    expect(app.text("recording-none")).toContain("not fetched yet");
    expect(app.$("route-map")).toBeNull();
  });
});

const shown = (over: Partial<Shown> = {}): Shown => ({
  activity_id: 1,
  provider: "garmin",
  points: 4,
  series: [
    { name: "time", unit: "s", values: [0, 1, 2, 3] },
    { name: "lat", unit: "deg", values: [48.1, null, 48.2, 48.3] },
    { name: "lon", unit: "deg", values: [2.1, null, 2.2, 2.3] },
    { name: "speed", unit: "m/s", values: [0, 3.2, 3.3, null] },
    { name: "distance", unit: "m", values: [0, null, 600, 1000] },
    { name: "power", unit: "W", values: [null, null, null, null] },
  ],
  laps: [],
  ...over,
});

describe("shaping a recording", () => {
  it("keeps each route point's index, so the charts' cursor finds it on the map", () => {
    expect(track(shown()).map((p) => p.index)).toEqual([0, 2, 3]);
  });

  it("runs the distance axis forward through gaps, in km", () => {
    expect(hasDistance(shown())).toBe(true);
    expect(xValues(shown(), "distance")).toEqual([0, 0, 0.6, 1]);
    expect(xValues(shown(), "time")).toEqual([0, 1, 2, 3]);
  });

  it("reads pace for a run (standing still is no pace) and speed for a ride; empty series are left out", () => {
    const run = charts(shown(), "run");
    expect(run.map((c) => c.key)).toEqual(["speed"]);
    expect(run[0]!.values[0]).toBeNull();
    expect(run[0]!.inverted).toBe(true);
    expect(pace(1000 / 307)).toBe("5:07 /km");
    const ride = charts(shown(), "ride");
    expect(ride[0]!.values[1]).toBeCloseTo(11.52);
  });

  it("a zoom keeps the samples in its range", () => {
    expect(window([0, 1, 2, 3, 4], [1.5, 3.2])).toEqual([2, 3]);
    expect(window([0, 1, 2], null)).toEqual([0, 2]);
  });

  it("a lap row reads like a watch", () => {
    const row = lapRow({ start_s: 0, elapsed_s: 307, distance_m: 1000, avg_heart_rate: 150.4, max_heart_rate: 160, avg_power_w: null, avg_speed_mps: null }, "run");
    expect(row).toEqual(["0:00", "5:07", "1.00 km", "5:07 /km", "150 bpm", "—"]);
  });
});
