// The charts' data, shaped by pure functions (unit-tested without a canvas): the time windows the
// charts ask for, runs grouped into bars, stacked layers, failure markers, and the sentences and
// table rows that are each chart's text alternative. Times on the x axis are unix seconds.
import { count, distance, hours, SPORT_LABELS } from "./format";
import type { RunPoint, Sport, VolumeBucket } from "./types";

const DAY = 86_400;
const WEEK = 7 * DAY;

/** Layers stacked: each value becomes the top of its layer (the layers below plus itself);
 * a missing value adds nothing. */
export function stack(layers: readonly (readonly (number | null)[])[]): number[][] {
  const out: number[][] = [];
  layers.forEach((layer, i) => out.push(layer.map((v, j) => (i ? out[i - 1]![j]! : 0) + (v ?? 0))));
  return out;
}

/** The local midnight of `t`'s day, or of the Monday of its week (DST-safe: by calendar). */
function localStart(t: number, size: number): number {
  const d = new Date(t * 1000);
  d.setHours(0, 0, 0, 0);
  if (size === WEEK) d.setDate(d.getDate() - ((d.getDay() + 6) % 7));
  return d.getTime() / 1000;
}

/** `t` floored to a bucket of `size` seconds, on the athlete's clock. */
export function floorTo(t: number, size: number): number {
  if (size >= DAY) return localStart(t, size);
  const offset = -new Date(t * 1000).getTimezoneOffset() * 60;
  return Math.floor((t + offset) / size) * size - offset;
}

const ymd = (t: number) => {
  const d = new Date(t * 1000);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
};

// ---- sync history ----

/** How far back the history chart looks, and how many runs it asks for at most. */
export const RUN_DAYS = 180;
export const RUN_LIMIT = 5000;

/** The most bars drawn: more would be hairlines (uPlot sizes bars by the closest pair). */
export const MAX_BARS = 200;
/** Up to this many runs in view, each run is its own bar. */
export const RUN_BARS = 80;
const SIZES = [3600, 3 * 3600, 6 * 3600, 12 * 3600, DAY, WEEK, 4 * WEEK];

export type RunBucket = {
  /** Its first second (a run's start when a bar is one run). */
  start: number;
  /** Bucket length in seconds; 0: one run. */
  size: number;
  runs: number;
  created: number;
  updated: number;
  skipped: number;
  failed: number;
  /** Runs that ended in failure (failed, or interrupted by a crash). */
  failedRuns: number;
  apiCalls: number;
  /** The lowest quota left a run reported, if any did. */
  quotaLeft: number | null;
};

export const isFailedRun = (p: RunPoint) => p.status === "failed" || p.status === "interrupted";

/** The bar width for runs starting at `starts` over [from, to]: 0 (one bar per run) while few
 * runs are in view and none crowd another, else the smallest bucket that keeps bars few. */
export function bucketSize(starts: readonly number[], from: number, to: number): number {
  const span = Math.max(1, to - from);
  if (starts.length <= RUN_BARS) {
    let gap = Infinity;
    for (let i = 1; i < starts.length; i++) gap = Math.min(gap, starts[i]! - starts[i - 1]!);
    if (gap >= span / (MAX_BARS * 2)) return 0;
  }
  return SIZES.find((s) => span / s <= MAX_BARS) ?? SIZES[SIZES.length - 1]!;
}

/** The runs started in [from, to] as bars: one per run, or summed per bucket. */
export function bucketRuns(points: readonly RunPoint[], from: number, to: number): RunBucket[] {
  const within = points
    .map((p) => ({ p, t: Date.parse(p.started_at) / 1000 }))
    .filter(({ t }) => t >= from && t <= to)
    .sort((a, b) => a.t - b.t);
  const size = bucketSize(
    within.map(({ t }) => t),
    from,
    to,
  );
  const out: RunBucket[] = [];
  for (const { p, t } of within) {
    const start = size ? floorTo(t, size) : t;
    let b = out[out.length - 1];
    if (!b || !size || b.start !== start) {
      b = { start, size, runs: 0, created: 0, updated: 0, skipped: 0, failed: 0, failedRuns: 0, apiCalls: 0, quotaLeft: null };
      out.push(b);
    }
    b.runs += 1;
    b.created += p.created;
    b.updated += p.updated;
    b.skipped += p.skipped;
    b.failed += p.failed;
    b.failedRuns += isFailedRun(p) ? 1 : 0;
    b.apiCalls += p.api_calls;
    if (p.rate_limit_remaining !== null) b.quotaLeft = Math.min(b.quotaLeft ?? Infinity, p.rate_limit_remaining);
  }
  return out;
}

/** Where a failure marker sits: on top of its bar's stack, none where no run failed. */
export function failureMarkers(buckets: readonly RunBucket[], tops: readonly number[]): (number | null)[] {
  return buckets.map((b, i) => (b.failedRuns > 0 ? (tops[i] ?? 0) : null));
}

/** The history chart's series: x, the four stacked layers' tops (created at the bottom), API
 * calls, quota left, failure markers. */
export function historySeries(buckets: readonly RunBucket[]) {
  const layers = [buckets.map((b) => b.created), buckets.map((b) => b.updated), buckets.map((b) => b.skipped), buckets.map((b) => b.failed)];
  const tops = stack(layers);
  return {
    x: buckets.map((b) => b.start),
    tops,
    calls: buckets.map((b) => b.apiCalls),
    quota: buckets.map((b) => b.quotaLeft),
    markers: failureMarkers(buckets, tops[3]!),
  };
}

/** The history chart's caption. */
export function runsCaption(points: readonly RunPoint[], days: number): string {
  if (points.length === 0) return `No sync runs in the last ${days} days.`;
  const sum = (f: (p: RunPoint) => number) => count(points.reduce((n, p) => n + f(p), 0));
  const failedRuns = points.filter(isFailedRun).length;
  return (
    `${days} days, ${count(points.length)} runs (${count(failedRuns)} failed): ` +
    `${sum((p) => p.created)} created, ${sum((p) => p.updated)} updated, ${sum((p) => p.skipped)} unchanged, ` +
    `${sum((p) => p.failed)} not stored; ${sum((p) => p.api_calls)} API calls`
  );
}

const stamp = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const day = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

/** A bar's period in words: a run's start, an hour range's start, a day, a week. */
export function bucketLabel(b: RunBucket): string {
  if (b.size === 0 || b.size < DAY) return stamp.format(b.start * 1000);
  if (b.size === DAY) return day.format(b.start * 1000);
  return `${b.size === WEEK ? "week" : "4 weeks"} from ${day.format(b.start * 1000)}`;
}

/** One bar, said aloud when the keyboard cursor reaches it. */
export function describeBucket(b: RunBucket): string {
  const runs = b.size === 0 ? (b.failedRuns ? "run failed" : "run") : `${count(b.runs)} runs${b.failedRuns ? `, ${count(b.failedRuns)} failed` : ""}`;
  const quota = b.quotaLeft === null ? "" : `, ${count(b.quotaLeft)} left`;
  return (
    `${bucketLabel(b)}: ${runs}; ${count(b.created)} created, ${count(b.updated)} updated, ` +
    `${count(b.skipped)} unchanged, ${count(b.failed)} not stored; ${count(b.apiCalls)} API calls${quota}`
  );
}

// ---- weekly volume ----

export const VOLUME_WEEKS = 52;
export type Metric = "distance" | "time";

/** The volume chart's window: from the Monday 51 weeks before this week's, to now. */
export function volumeWindow(now: number, weeks = VOLUME_WEEKS): { since: string; until: string; weeks: string[] } {
  const monday = new Date(localStart(now / 1000, WEEK) * 1000);
  const starts: string[] = [];
  for (let i = weeks - 1; i >= 0; i--) {
    const d = new Date(monday);
    d.setDate(monday.getDate() - 7 * i);
    starts.push(ymd(d.getTime() / 1000));
  }
  const first = new Date(monday);
  first.setDate(monday.getDate() - 7 * (weeks - 1));
  return { since: first.toISOString(), until: new Date(now).toISOString(), weeks: starts };
}

/** A week's `YYYY-MM-DD` as the x axis's unix seconds (local midnight). */
export function weekTime(week: string): number {
  const [y, m, d] = week.split("-").map(Number);
  return new Date(y!, m! - 1, d!).getTime() / 1000;
}

export type WeekTotal = {
  week: string;
  count: number;
  distance_m: number;
  seconds: number;
  elevation_m: number;
  sports: { sport: Sport; count: number; distance_m: number; seconds: number }[];
};

/** Each week of the window with its totals (empty weeks included, in order). */
export function weekTotals(buckets: readonly VolumeBucket[], weeks: readonly string[]): WeekTotal[] {
  const byWeek = new Map<string, WeekTotal>(
    weeks.map((w) => [w, { week: w, count: 0, distance_m: 0, seconds: 0, elevation_m: 0, sports: [] }]),
  );
  for (const b of buckets) {
    const t = byWeek.get(b.period_start);
    if (!t) continue; // outside the window
    t.count += b.count;
    t.distance_m += b.distance_m ?? 0;
    t.seconds += b.seconds;
    t.elevation_m += b.elevation_m ?? 0;
    t.sports.push({ sport: b.sport, count: b.count, distance_m: b.distance_m ?? 0, seconds: b.seconds });
  }
  return [...byWeek.values()];
}

/** One layer per sport (km or hours per week), the biggest sport at the bottom. */
export function volumeLayers(totals: readonly WeekTotal[], metric: Metric): { sports: Sport[]; layers: number[][] } {
  const value = (s: { distance_m: number; seconds: number }) => (metric === "distance" ? s.distance_m / 1000 : s.seconds / 3600);
  const sum = new Map<Sport, number>();
  for (const t of totals) for (const s of t.sports) sum.set(s.sport, (sum.get(s.sport) ?? 0) + value(s));
  const sports = [...sum.entries()]
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([s]) => s);
  const layers = sports.map((sport) =>
    totals.map((t) => {
      const s = t.sports.find((x) => x.sport === sport);
      return s ? value(s) : 0;
    }),
  );
  return { sports, layers };
}

/** The volume chart's caption, e.g. "52 weeks, 212 workouts, 1,840 km, 160 h; busiest week
 * 2026-06-08: 210 km (9 workouts)". The busiest week is the tallest bar of the chart as shown:
 * by distance, or by time. */
export function volumeCaption(totals: readonly WeekTotal[], metric: Metric): string {
  const weeks = `${totals.length} weeks`;
  const workouts = totals.reduce((n, t) => n + t.count, 0);
  if (workouts === 0) return `${weeks}, no workouts yet.`;
  const km = totals.reduce((n, t) => n + t.distance_m, 0) / 1000;
  const seconds = totals.reduce((n, t) => n + t.seconds, 0);
  const value = (t: WeekTotal) => (metric === "distance" ? t.distance_m : t.seconds);
  const busiest = totals.reduce((top, t) => (value(t) > value(top) ? t : top));
  const plural = (n: number) => `${count(n)} workout${n === 1 ? "" : "s"}`;
  const height = metric === "distance" ? `${count(Math.round(busiest.distance_m / 1000))} km` : `${count(Math.round(busiest.seconds / 3600))} h`;
  return (
    `${weeks}, ${plural(workouts)}, ${count(Math.round(km))} km, ${count(Math.round(seconds / 3600))} h; ` +
    `busiest week ${busiest.week}: ${height} (${plural(busiest.count)})`
  );
}

/** One week, said aloud when the keyboard cursor reaches it. */
export function describeWeek(t: WeekTotal, metric: Metric): string {
  const head = `Week of ${t.week}: ${count(t.count)} workout${t.count === 1 ? "" : "s"}`;
  if (t.count === 0) return `${head}.`;
  const parts = [...t.sports]
    .sort((a, b) => (metric === "distance" ? b.distance_m - a.distance_m : b.seconds - a.seconds))
    .map((s) => `${SPORT_LABELS[s.sport]} ${metric === "distance" ? distance(s.distance_m) : hours(s.seconds)}`);
  return `${head}, ${distance(t.distance_m)}, ${hours(t.seconds)} — ${parts.join(", ")}`;
}
