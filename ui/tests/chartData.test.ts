// The charts' data shaping, without a canvas: stacking, runs into bars, failure markers, the
// volume's weeks and the captions that summarise each chart.
import { describe, expect, it } from "vitest";
import {
  MAX_BARS,
  bucketRuns,
  bucketSize,
  describeBucket,
  describeWeek,
  failureMarkers,
  historySeries,
  runsCaption,
  stack,
  volumeCaption,
  volumeLayers,
  volumeWindow,
  weekTotals,
} from "../src/lib/chartData";
import type { RunPoint, VolumeBucket } from "../src/lib/types";

const DAY = 86_400;
const T0 = Date.parse("2026-11-01T10:00:00Z") / 1000;

const point = (id: number, at: number, over: Partial<RunPoint> = {}): RunPoint => ({
  id,
  trigger: "scheduled",
  status: "success",
  started_at: new Date(at * 1000).toISOString(),
  duration_ms: 20_000,
  created: 0,
  updated: 0,
  skipped: 0,
  failed: 0,
  deleted: 0,
  api_calls: 2,
  rate_limit_remaining: null,
  error_code: null,
  ...over,
});

describe("stack", () => {
  it("turns layers into the tops of each band, a missing value adding nothing", () => {
    expect(stack([[1, 2, 0], [3, null, 1], [0, 4, 2]])).toEqual([
      [1, 2, 0],
      [4, 2, 1],
      [4, 6, 3],
    ]);
    expect(stack([])).toEqual([]);
  });
});

describe("runs into bars", () => {
  it("few runs far enough apart: one bar per run", () => {
    const starts = [T0, T0 + DAY, T0 + 3 * DAY];
    expect(bucketSize(starts, T0 - 180 * DAY, T0 + 4 * DAY)).toBe(0);
  });

  it("many runs over months: a day per bar, never more than MAX_BARS bars", () => {
    const starts = Array.from({ length: 720 }, (_, i) => T0 - 180 * DAY + i * 6 * 3600);
    const size = bucketSize(starts, T0 - 180 * DAY, T0);
    expect(size).toBe(DAY);
    expect(180 * DAY / size).toBeLessThanOrEqual(MAX_BARS);
  });

  it("few runs that crowd each other (a minute apart over months) are grouped too", () => {
    expect(bucketSize([T0, T0 + 60], T0 - 180 * DAY, T0 + 60)).toBeGreaterThan(0);
  });

  it("sums each bucket, counts failed runs (failed or interrupted), keeps the lowest quota", () => {
    const points: RunPoint[] = [];
    for (let i = 0; i < 100; i++) {
      points.push(point(i, T0 - 90 * DAY + i * 3600 * 20, { created: 1, updated: i % 2, api_calls: 3, rate_limit_remaining: 100 - i }));
    }
    points.push(point(500, T0 - 10, { status: "failed", api_calls: 1 }));
    points.push(point(501, T0 - 5, { status: "interrupted", failed: 2, api_calls: 1, rate_limit_remaining: 7 }));
    const bars = bucketRuns(points, T0 - 180 * DAY, T0);
    expect(bars.every((b) => b.size === DAY)).toBe(true);
    expect(bucketRuns(points, T0 - 90 * DAY, T0)[0]!.size).toBe(12 * 3600); // zoomed in: finer
    expect(bars.reduce((n, b) => n + b.runs, 0)).toBe(102);
    expect(bars.reduce((n, b) => n + b.created, 0)).toBe(100);
    expect(bars.reduce((n, b) => n + b.apiCalls, 0)).toBe(302);
    const last = bars[bars.length - 1]!;
    expect(last.failedRuns).toBe(2);
    expect(last.failed).toBe(2);
    expect(last.quotaLeft).toBe(7);
    expect(bars.filter((b) => b.failedRuns > 0)).toHaveLength(1);
    // only the zoomed range
    expect(bucketRuns(points, T0 - 60, T0).map((b) => b.runs)).toEqual([1, 1]);
  });
});

describe("failure markers", () => {
  it("sit on top of the stack of bars with a failed run, none elsewhere", () => {
    const bars = bucketRuns(
      [
        point(1, T0, { created: 3, updated: 1 }),
        point(2, T0 + DAY, { status: "failed", created: 1, skipped: 4, failed: 1 }),
        point(3, T0 + 2 * DAY, { status: "failed" }),
      ],
      T0 - DAY,
      T0 + 3 * DAY,
    );
    const s = historySeries(bars);
    expect(s.tops[3]).toEqual([4, 6, 0]);
    expect(s.markers).toEqual([null, 6, 0]);
    expect(failureMarkers(bars, [9, 9, 9])).toEqual([null, 9, 9]);
  });
});

describe("history caption and announcements", () => {
  it("sums the window and counts failed runs", () => {
    const points = [
      point(1, T0, { created: 12_000, updated: 30, skipped: 400, api_calls: 1500 }),
      point(2, T0 + 3600, { status: "failed", failed: 3, api_calls: 320, error_code: "provider" }),
    ];
    expect(runsCaption(points, 180)).toBe(
      "180 days, 2 runs (1 failed): 12,000 created, 30 updated, 400 unchanged, 3 not stored; 1,820 API calls",
    );
    expect(runsCaption([], 180)).toBe("No sync runs in the last 180 days.");
  });

  it("says one bar", () => {
    const [bar] = bucketRuns([point(1, T0, { status: "failed", created: 40, updated: 3, api_calls: 12, rate_limit_remaining: 97 })], T0 - 1, T0 + 1);
    const said = describeBucket(bar!);
    expect(said).toContain("run failed; 40 created, 3 updated, 0 unchanged, 0 not stored; 12 API calls, 97 left");
  });
});

describe("weekly volume", () => {
  const bucket = (period_start: string, sport: VolumeBucket["sport"], count: number, km: number, h: number): VolumeBucket => ({
    period_start,
    sport,
    count,
    distance_m: km * 1000,
    seconds: h * 3600,
    elevation_m: 10 * count,
  });

  it("the window: 52 Mondays ending with this week's, from its local midnight", () => {
    const now = new Date(2026, 10, 25, 12).getTime(); // a Wednesday
    const w = volumeWindow(now);
    expect(w.weeks).toHaveLength(52);
    expect(w.weeks[51]).toBe("2026-11-23");
    expect(w.weeks[0]).toBe("2025-12-01");
    expect(w.since).toBe(new Date(2025, 11, 1).toISOString());
    expect(w.until).toBe(new Date(now).toISOString());
  });

  it("totals per week, empty weeks kept, buckets outside the window left out", () => {
    const weeks = ["2026-11-09", "2026-11-16", "2026-11-23"];
    const totals = weekTotals(
      [bucket("2026-11-16", "run", 2, 20, 2), bucket("2026-11-16", "ride", 1, 60, 2), bucket("2026-11-02", "run", 9, 90, 9)],
      weeks,
    );
    expect(totals.map((t) => [t.week, t.count, t.distance_m, t.seconds])).toEqual([
      ["2026-11-09", 0, 0, 0],
      ["2026-11-16", 3, 80_000, 4 * 3600],
      ["2026-11-23", 0, 0, 0],
    ]);
  });

  it("one layer per sport, the biggest at the bottom, in km or hours", () => {
    const weeks = ["2026-11-09", "2026-11-16"];
    const totals = weekTotals([bucket("2026-11-09", "run", 2, 20, 2), bucket("2026-11-16", "ride", 1, 60, 1.5), bucket("2026-11-16", "run", 1, 5, 0.5)], weeks);
    expect(volumeLayers(totals, "distance")).toEqual({ sports: ["ride", "run"], layers: [[0, 60], [20, 5]] });
    expect(volumeLayers(totals, "time")).toEqual({ sports: ["run", "ride"], layers: [[2, 0.5], [0, 1.5]] });
  });

  it("the caption: weeks, workouts, distance, time and the busiest week", () => {
    const weeks = Array.from({ length: 52 }, (_, i) => `w${String(i).padStart(2, "0")}`);
    weeks[27] = "2026-06-08";
    const totals = weekTotals(
      [bucket("2026-06-08", "run", 6, 60, 6), bucket("2026-06-08", "ride", 3, 150, 6), bucket("w40", "run", 203, 1630, 148)],
      weeks,
    );
    // 212 workouts, 1,840 km, 160 h; w40 is the tallest bar by distance and by time
    expect(volumeCaption(totals, "distance")).toBe("52 weeks, 212 workouts, 1,840 km, 160 h; busiest week w40: 1,630 km (203 workouts)");
    const spread = weekTotals([bucket("2026-06-08", "run", 6, 60, 6), bucket("2026-06-08", "ride", 3, 150, 6), bucket("w40", "run", 1, 10, 1)], weeks);
    expect(volumeCaption(spread, "distance")).toBe("52 weeks, 10 workouts, 220 km, 13 h; busiest week 2026-06-08: 210 km (9 workouts)");
    expect(volumeCaption(weekTotals([], weeks), "distance")).toBe("52 weeks, no workouts yet.");
  });

  it("names the tallest week of the chart as shown, not the week with the most workouts", () => {
    // Issue 19, item 3: "busiest week" named a week of 3 workouts while taller weeks stood beside it.
    const weeks = ["2026-11-02", "2026-11-09"];
    const totals = weekTotals([bucket("2026-11-02", "run", 5, 25, 2.5), bucket("2026-11-09", "ride", 2, 180, 7)], weeks);
    expect(volumeCaption(totals, "distance")).toContain("busiest week 2026-11-09: 180 km (2 workouts)");
    expect(volumeCaption(totals, "time")).toContain("busiest week 2026-11-09: 7 h (2 workouts)");
    const short = weekTotals([bucket("2026-11-02", "run", 5, 25, 9), bucket("2026-11-09", "ride", 2, 180, 7)], weeks);
    expect(volumeCaption(short, "time")).toContain("busiest week 2026-11-02: 9 h (5 workouts)");
  });

  it("says one week, biggest sport first", () => {
    const [t] = weekTotals([bucket("2026-06-08", "run", 6, 45, 4), bucket("2026-06-08", "ride", 3, 39.2, 3.5)], ["2026-06-08"]);
    expect(describeWeek(t!, "distance")).toBe("Week of 2026-06-08: 9 workouts, 84.2 km, 7.5 h — Run 45.0 km, Ride 39.2 km");
    expect(describeWeek(t!, "time")).toBe("Week of 2026-06-08: 9 workouts, 84.2 km, 7.5 h — Run 4.0 h, Ride 3.5 h");
  });
});
