// A recording as the detail view draws it: the route (the samples with a position, with their
// index so the charts' cursor can move a marker on the map), and one chart per series an
// athlete reads (heart rate, pace or speed, power, elevation, cadence) over time or distance.
// Pure functions of the core's `Shown`, tested without a canvas.
import type { Lap, ScreenSeries, Shown, Sport, StreamKind } from "./types";

export type Axis = "time" | "distance";

/** One chart: its key, title, unit, and values aligned with the x values. */
export type RecordingChart = {
  key: string;
  title: string;
  unit: string;
  values: (number | null)[];
  /** How a value reads ("5:12 /km", "142 bpm"). */
  format: (v: number) => string;
  /** Pace: smaller is faster, so the axis runs downwards. */
  inverted: boolean;
};

export function series(shown: Shown, name: StreamKind): (number | null)[] | null {
  return shown.series.find((s: ScreenSeries) => s.name === name)?.values ?? null;
}

/** The samples with a position, each with its index in the series. */
export function track(shown: Shown): { index: number; lat: number; lon: number }[] {
  const lat = series(shown, "lat");
  const lon = series(shown, "lon");
  if (!lat || !lon) return [];
  const out: { index: number; lat: number; lon: number }[] = [];
  lat.forEach((a, i) => {
    const o = lon[i];
    if (a !== null && a !== undefined && o !== null && o !== undefined) out.push({ index: i, lat: a, lon: o });
  });
  return out;
}

/** Whether distance can be the x axis (a distance series that grows). */
export function hasDistance(shown: Shown): boolean {
  const d = series(shown, "distance");
  return !!d && d.some((v) => v !== null && v > 0);
}

/** The x values: seconds from the start, or kilometres (a sample without a distance takes the
 * last one known, so the axis never runs backwards). */
export function xValues(shown: Shown, axis: Axis): number[] {
  const time = series(shown, "time") ?? [];
  if (axis === "time") return time.map((t) => t ?? 0);
  const d = series(shown, "distance") ?? [];
  let last = 0;
  return time.map((_, i) => {
    const v = d[i];
    if (v !== null && v !== undefined && v >= last) last = v;
    return last / 1000;
  });
}

const RUNNING: readonly Sport[] = ["run", "trail_run", "walk", "hike"];

/** m/s as pace per km ("5:07 /km"). */
export function pace(mps: number): string {
  if (mps <= 0.2) return "—";
  const secs = Math.round(1000 / mps);
  return `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, "0")} /km`;
}

const fixed = (digits: number, unit: string) => (v: number) => `${v.toFixed(digits)} ${unit}`;

/** The charts worth drawing for `shown`, in reading order; a series without any value is left
 * out. Speed is shown as pace for the sports that think in pace. */
export function charts(shown: Shown, sport: Sport): RecordingChart[] {
  const out: RecordingChart[] = [];
  const add = (name: StreamKind, title: string, unit: string, format: (v: number) => string, map?: (v: number) => number | null, inverted = false) => {
    const values = series(shown, name);
    if (!values || !values.some((v) => v !== null)) return;
    out.push({
      key: name,
      title,
      unit,
      values: map ? values.map((v) => (v === null ? null : map(v))) : values,
      format,
      inverted,
    });
  };
  add("heart_rate", "Heart rate", "bpm", fixed(0, "bpm"));
  if (RUNNING.includes(sport)) {
    // Pace in seconds per km (standing still is no pace, not an infinitely slow one).
    add("speed", "Pace", "min/km", (v) => pace(1000 / v), (v) => (v > 0.5 ? 1000 / v : null), true);
  } else {
    add("speed", "Speed", "km/h", fixed(1, "km/h"), (v) => v * 3.6);
  }
  add("power", "Power", "W", fixed(0, "W"));
  add("altitude", "Elevation", "m", fixed(0, "m"));
  add("cadence", "Cadence", RUNNING.includes(sport) ? "spm" : "rpm", fixed(0, RUNNING.includes(sport) ? "spm" : "rpm"));
  add("temperature", "Temperature", "°C", fixed(0, "°C"));
  return out;
}

/** "1:02:03" or "12:03" from seconds. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${r}` : `${m}:${r}`;
}

/** A lap's row in the table. */
export function lapRow(lap: Lap, sport: Sport): string[] {
  const elapsed = lap.elapsed_s ?? 0;
  const speed = lap.avg_speed_mps ?? (lap.distance_m && elapsed > 0 ? lap.distance_m / elapsed : null);
  return [
    clock(lap.start_s ?? 0),
    clock(elapsed),
    lap.distance_m === null ? "—" : `${(lap.distance_m / 1000).toFixed(2)} km`,
    speed === null ? "—" : RUNNING.includes(sport) ? pace(speed) : `${(speed * 3.6).toFixed(1)} km/h`,
    lap.avg_heart_rate === null ? "—" : `${Math.round(lap.avg_heart_rate)} bpm`,
    lap.avg_power_w === null ? "—" : `${Math.round(lap.avg_power_w)} W`,
  ];
}

/** The first and last index whose x falls in [min, max] (a zoom), or the whole range. */
export function window(xs: number[], range: [number, number] | null): [number, number] {
  if (!range || xs.length === 0) return [0, Math.max(0, xs.length - 1)];
  let from = xs.findIndex((x) => x >= range[0]);
  if (from < 0) from = xs.length - 1;
  let to = xs.length - 1;
  while (to > from && xs[to]! > range[1]) to--;
  return [from, to];
}
