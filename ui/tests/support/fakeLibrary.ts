// The activity library behind FakeBackend: activities in memory, listed, linked and totalled the
// way the core does it (crates/core/src/library.rs and linking.rs), so the views meet the same
// contract in their unit tests: keyset cursors "start_ms:id" (never an offset), a
// workout's copies primary first, one copy per provider in a workout, the athlete's link, unlink
// and primary, and volume that counts each workout once. `generate` makes any number of
// deterministic workouts, some recorded by two or three providers.
import { IpcError } from "../../src/lib/backend";
import type {
  Activity,
  ActivityDetail,
  ActivityFilter,
  ActivityListing,
  ActivityRow,
  CopyRef,
  LinkChoice,
  ListTotals,
  PageRequest,
  Period,
  ProviderKind,
  RecordingDetail,
  ScreenSeries,
  Sport,
  Value,
  VolumeBucket,
} from "../../src/lib/types";

/** One stored copy: the activity and its place in a workout. */
export type StoredActivity = Omit<Activity, "raw"> & {
  /** null: made from the fields when the detail asks (keeps 100,000 rows light). */
  raw: Value | null;
  workout_id: number | null;
  /** The copy its workout shows and counts (a lone copy counts itself). */
  counted: boolean;
  reason: string | null;
  confidence: number | null;
  choice: LinkChoice;
};

/** What a test states about an activity; the rest gets plausible values. */
export type SeedActivity = Partial<StoredActivity> & Pick<StoredActivity, "id" | "provider" | "start_utc">;

const MAX_PAGE = 500;
const PROVIDER_ORDER: readonly ProviderKind[] = ["strava", "garmin", "polar", "coros", "wahoo", "google_health"];

const ms = (a: { start_utc: string }) => Date.parse(a.start_utc);

export class FakeLibrary {
  private readonly byId = new Map<number, StoredActivity>();
  /** By start, then id, ascending: the order both keyset directions walk. */
  private readonly sorted: StoredActivity[];
  private readonly starts: number[];
  /** Workout id → its copies (kept in step with each copy's `workout_id`). */
  private readonly groups = new Map<number, StoredActivity[]>();
  /** Workout id → its pinned primary (the athlete's pick), if any. */
  private readonly pinnedPrimary = new Map<number, number>();
  private nextWorkout: number;

  constructor(activities: SeedActivity[] = []) {
    for (const seed of activities) this.byId.set(seed.id, complete(seed));
    const keyed = [...this.byId.values()].map((a) => ({ a, start: ms(a) }));
    keyed.sort((x, y) => x.start - y.start || x.a.id - y.a.id);
    this.sorted = keyed.map((k) => k.a);
    this.starts = keyed.map((k) => k.start);
    for (const a of this.sorted) if (a.workout_id !== null) this.join(a, a.workout_id);
    this.nextWorkout = this.sorted.reduce((n, a) => Math.max(n, a.workout_id ?? 0), 0) + 1;
  }

  /** `workouts` sessions going back from `now`, deterministic for a `seed`. */
  static generate(workouts: number, opts: { now?: number; seed?: number } = {}): FakeLibrary {
    return new FakeLibrary(generate(workouts, opts.now ?? Date.now(), opts.seed ?? 1));
  }

  get size(): number {
    return this.sorted.length;
  }

  /** A new activity arrives (a sync stored it), standing alone. */
  add(seed: SeedActivity) {
    const a = complete({ ...seed, workout_id: null, counted: true });
    if (this.byId.has(a.id)) throw new Error(`activity ${a.id} exists`);
    this.byId.set(a.id, a);
    const at = this.lowerBound(ms(a), a.id);
    this.sorted.splice(at, 0, a);
    this.starts.splice(at, 0, ms(a));
  }

  // ---- lists ----

  activities(filter: ActivityFilter, page: PageRequest): ActivityListing {
    return this.list(filter, page, false);
  }

  workouts(filter: ActivityFilter, page: PageRequest): ActivityListing {
    return this.list(filter, page, true);
  }

  /** As the core: the whole filtered list's count and sums (primary copies for workouts). */
  totals(filter: ActivityFilter, workouts: boolean): ListTotals {
    const match = this.matcher(filter, workouts);
    const rows = this.sorted.filter(match);
    return {
      count: rows.length,
      distance_m: rows.reduce((t, a) => t + (a.distance_m ?? 0), 0),
      seconds: rows.reduce((t, a) => t + (a.moving_seconds ?? a.elapsed_seconds ?? 0), 0),
      elevation_m: rows.reduce((t, a) => t + (a.elevation_gain_m ?? 0), 0),
    };
  }

  private matcher(filter: ActivityFilter, workouts: boolean): (a: StoredActivity) => boolean {
    const since = filter.since ? Date.parse(filter.since) : null;
    const until = filter.until ? Date.parse(filter.until) : null;
    if (since !== null && until !== null && until < since) {
      throw new IpcError("validation", "the range ends before it starts");
    }
    const text = filter.text?.trim().toLowerCase() || null;
    const match = (a: StoredActivity) => {
      if (workouts && !a.counted) return false;
      if (filter.provider && a.provider !== filter.provider) {
        if (!workouts || !this.members(a.workout_id).some((c) => c.provider === filter.provider)) return false;
      }
      if (filter.sport && a.sport !== filter.sport) return false;
      const start = ms(a);
      if (since !== null && start < since) return false;
      if (until !== null && start >= until) return false;
      if (text && !(a.name ?? "").toLowerCase().includes(text) && !(a.device ?? "").toLowerCase().includes(text)) {
        return false;
      }
      return true;
    };
    return match;
  }

  private list(filter: ActivityFilter, page: PageRequest, workouts: boolean): ActivityListing {
    const limit = page.limit === 0 ? 50 : page.limit;
    if (limit > MAX_PAGE) throw new IpcError("validation", `a page holds at most ${MAX_PAGE} rows, not ${limit}`);
    const match = this.matcher(filter, workouts);
    if ((page.sort ?? "start") !== "start") return this.sortedList(match, page, limit);
    const newest = page.order === "descending";
    const after = page.after ? parseCursor(page.after) : null;
    let i = newest ? this.sorted.length - 1 : 0;
    if (after) {
      const at = this.lowerBound(after.start, after.id); // first at or after the cursor
      const exact = this.sorted[at]?.id === after.id && this.starts[at] === after.start;
      i = newest ? at - 1 : exact ? at + 1 : at;
    }
    const found: StoredActivity[] = [];
    for (; i >= 0 && i < this.sorted.length && found.length <= limit; i += newest ? -1 : 1) {
      if (match(this.sorted[i]!)) found.push(this.sorted[i]!);
    }
    const more = found.length > limit;
    const items = found.slice(0, limit);
    const last = items[items.length - 1];
    return { items: items.map((a) => this.row(a)), next: more && last ? `${ms(last)}:${last.id}` : null };
  }

  /** As the core, by another key than the start: rows without the value last, ties by id, the
   * cursor `key:id` (the fake finds its row by id rather than by value). */
  private sortedList(match: (a: StoredActivity) => boolean, page: PageRequest, limit: number): ActivityListing {
    const key = page.sort!;
    const down = page.order === "descending" ? -1 : 1;
    const value = (a: StoredActivity): string | number | null => {
      const time = a.moving_seconds ?? a.elapsed_seconds;
      if (key === "name") return a.name?.toLowerCase() ?? null;
      if (key === "distance") return a.distance_m;
      if (key === "duration") return time;
      return a.distance_m && time ? a.distance_m / time : null;
    };
    const rows = this.sorted.filter(match).sort((x, y) => {
      const [vx, vy] = [value(x), value(y)];
      if (vx === null || vy === null) return vx === vy ? down * (x.id - y.id) : vx === null ? 1 : -1;
      return vx === vy ? down * (x.id - y.id) : vx < vy ? -down : down;
    });
    let from = 0;
    if (page.after) {
      const [k, id] = page.after.split(":");
      const at = rows.findIndex((a) => a.id === Number(id));
      if (k !== key || at < 0) throw new IpcError("validation", `'${page.after}' is not a page cursor`);
      from = at + 1;
    }
    const items = rows.slice(from, from + limit);
    const last = items[items.length - 1];
    const more = from + limit < rows.length;
    return { items: items.map((a) => this.row(a)), next: more && last ? `${key}:${last.id}` : null };
  }

  /** The first index whose (start, id) is at or after the given key. */
  private lowerBound(start: number, id: number): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const s = this.starts[mid]!;
      if (s < start || (s === start && this.sorted[mid]!.id < id)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  // ---- one activity ----

  detail(id: number): ActivityDetail {
    const a = this.get(id);
    const { workout_id: _w, counted: _c, reason: _r, confidence: _f, choice: _h, raw, ...fields } = a;
    return { activity: { ...fields, raw: raw ?? rawPayload(a) }, row: this.row(a) };
  }

  /** The recording the core would show: a deterministic loop of `points` samples for a copy
   * that travels (none indoors), heart rate, speed and altitude, a lap per kilometre; the
   * athlete's pinned copy (or `copy`) first, else the lowest id. Copies listed in `without`
   * have no recording. */
  recording(id: number, copy: number | null, pinned: Map<number, number>, without: Set<number>, points = 600): RecordingDetail {
    const a = this.get(id);
    const members = a.workout_id === null ? [a] : this.members(a.workout_id);
    const copies = members.map((m) => ({
      activity_id: m.id,
      provider: m.provider,
      status: without.has(m.id) ? null : ("stored" as const),
      source: without.has(m.id) ? null : m.provider === "strava" ? "streams" : "original",
      format: without.has(m.id) || m.provider === "strava" ? null : ("fit" as const),
      sha256: without.has(m.id) || m.provider === "strava" ? null : `${m.id}`.padStart(64, "a"),
      bytes: without.has(m.id) ? null : 48_000,
      reason: null,
      points: without.has(m.id) ? 0 : points,
      series: [],
      laps: 0,
      has_track: !without.has(m.id) && (m.distance_m ?? 0) > 0,
    }));
    const pin = a.workout_id === null ? undefined : pinned.get(a.workout_id);
    const candidates = copies.filter((c) => c.status === "stored");
    const chosen = candidates.find((c) => c.activity_id === copy) ?? candidates.find((c) => c.activity_id === pin) ?? candidates.sort((x, y) => x.activity_id - y.activity_id)[0];
    if (!chosen) return { copies, shown: null, chosen: false, fetch_error: null };
    const shown = this.get(chosen.activity_id);
    const travels = (shown.distance_m ?? 0) > 0;
    const total = shown.distance_m ?? 0;
    const t = Array.from({ length: points }, (_, i) => i * Math.max(1, Math.round((shown.elapsed_seconds ?? 3600) / points)));
    const series: ScreenSeries[] = [
      { name: "time", unit: "s", values: t },
      ...(travels
        ? ([
            { name: "lat", unit: "deg", values: t.map((_, i) => 48.85 + 0.01 * Math.sin((2 * Math.PI * i) / points)) },
            { name: "lon", unit: "deg", values: t.map((_, i) => 2.35 + 0.015 * (1 - Math.cos((2 * Math.PI * i) / points))) },
            { name: "altitude", unit: "m", values: t.map((_, i) => 40 + 20 * Math.sin(i / 50)) },
          ] as ScreenSeries[])
        : []),
      { name: "heart_rate", unit: "bpm", values: t.map((_, i) => 130 + Math.round(10 * Math.sin(i / 30))) },
      ...(travels
        ? ([
            { name: "speed", unit: "m/s", values: t.map(() => total / Math.max(1, t[t.length - 1]!)) },
            { name: "distance", unit: "m", values: t.map((_, i) => (total * i) / (points - 1)) },
          ] as ScreenSeries[])
        : []),
    ];
    const laps = travels
      ? Array.from({ length: Math.max(1, Math.floor(total / 1000)) }, (_, i) => ({
          start_s: (i * t[t.length - 1]!) / Math.max(1, Math.floor(total / 1000)),
          elapsed_s: t[t.length - 1]! / Math.max(1, Math.floor(total / 1000)),
          distance_m: 1000,
          avg_heart_rate: 130,
          max_heart_rate: 150,
          avg_power_w: null,
          avg_speed_mps: total / Math.max(1, t[t.length - 1]!),
        }))
      : [];
    return {
      copies,
      shown: { activity_id: shown.id, provider: shown.provider, points, series, laps },
      chosen: pin === chosen.activity_id,
      fetch_error: null,
    };
  }

  /** The workout an activity belongs to (null alone). */
  workoutOf(id: number): number | null {
    return this.get(id).workout_id;
  }

  private get(id: number): StoredActivity {
    const a = this.byId.get(id);
    if (!a) throw new IpcError("not_found", `activity ${id} not found`);
    return a;
  }

  /** A workout's copies, primary first, then by provider (the core's order). */
  private members(workout: number | null): StoredActivity[] {
    if (workout === null) return [];
    return [...(this.groups.get(workout) ?? [])].sort(
      (a, b) => Number(b.counted) - Number(a.counted) || a.provider.localeCompare(b.provider),
    );
  }

  private join(a: StoredActivity, workout: number) {
    if (a.workout_id !== null && a.workout_id !== workout) this.leave(a);
    a.workout_id = workout;
    const group = this.groups.get(workout) ?? [];
    if (!group.includes(a)) group.push(a);
    this.groups.set(workout, group);
  }

  /** `a` stands alone: out of its workout, counted on its own. */
  private leave(a: StoredActivity) {
    if (a.workout_id !== null) {
      const rest = (this.groups.get(a.workout_id) ?? []).filter((c) => c !== a);
      if (rest.length) this.groups.set(a.workout_id, rest);
      else this.groups.delete(a.workout_id);
    }
    Object.assign(a, { workout_id: null, reason: null, confidence: null, counted: true });
  }

  private row(a: StoredActivity): ActivityRow {
    const members = this.members(a.workout_id);
    const copies: CopyRef[] = (members.length ? members : [a]).map((c) => ({
      activity_id: c.id,
      provider: c.provider,
      provider_activity_id: c.provider_activity_id,
      primary: c.workout_id === null ? true : c.counted,
      reason: c.workout_id === null ? null : c.reason,
      confidence: c.workout_id === null ? null : c.confidence,
      choice: c.choice,
    }));
    return {
      id: a.id,
      provider: a.provider,
      provider_activity_id: a.provider_activity_id,
      sport: a.sport,
      name: a.name,
      start_utc: a.start_utc,
      utc_offset_seconds: a.utc_offset_seconds,
      elapsed_seconds: a.elapsed_seconds,
      moving_seconds: a.moving_seconds,
      distance_m: a.distance_m,
      elevation_gain_m: a.elevation_gain_m,
      avg_heart_rate: a.avg_heart_rate,
      device: a.device,
      deleted: a.deleted_at !== null,
      workout_id: a.workout_id,
      choice: a.choice,
      copies,
    };
  }

  // ---- the athlete's choices (linking.rs: link_by_hand, unlink_by_hand, make_primary) ----

  link(anchor: number, other: number): ActivityDetail {
    if (anchor === other) throw new IpcError("validation", "an activity is already its own workout");
    const a = this.get(anchor);
    const o = this.get(other);
    if (a.provider === o.provider) {
      throw new IpcError(
        "validation",
        `activities ${anchor} and ${other} both come from ${a.provider}: a workout holds one copy per provider`,
      );
    }
    if (a.workout_id !== null && a.workout_id === o.workout_id) {
      a.choice = o.choice = "linked";
      return this.detail(anchor);
    }
    const old = o.workout_id;
    const target = a.workout_id ?? this.nextWorkout++;
    // The workout's copy from the other's provider makes way: it stands alone, back to the linker.
    for (const displaced of this.members(target).filter((c) => c.provider === o.provider)) {
      this.leave(displaced);
      displaced.choice = "automatic";
    }
    for (const c of [a, o]) {
      this.join(c, target);
      Object.assign(c, { choice: "linked", reason: "linked by you", confidence: 1 });
    }
    this.elect(target);
    if (old !== null && old !== target) this.settle(old);
    return this.detail(anchor);
  }

  unlink(id: number): ActivityDetail {
    const a = this.get(id);
    const workout = a.workout_id;
    this.leave(a);
    a.choice = "kept_apart";
    if (workout !== null) this.settle(workout);
    return this.detail(id);
  }

  makePrimary(id: number): ActivityDetail {
    const a = this.get(id);
    if (a.workout_id === null) {
      throw new IpcError("validation", `activity ${id} is not linked to other copies; it counts on its own already`);
    }
    this.pinnedPrimary.set(a.workout_id, id);
    this.elect(a.workout_id);
    return this.detail(id);
  }

  /** A copy left: one left dissolves the workout, else its primary is chosen again. */
  private settle(workout: number) {
    const left = this.members(workout);
    if (left.length < 2) {
      left.forEach((c) => this.leave(c));
      this.pinnedPrimary.delete(workout);
    } else this.elect(workout);
  }

  /** The athlete's pick if still there, else a copy still listed whose start is not hidden. */
  private elect(workout: number) {
    const members = this.members(workout);
    const pinned = members.find((c) => c.id === this.pinnedPrimary.get(workout));
    if (!pinned) this.pinnedPrimary.delete(workout);
    const rank = (c: StoredActivity) => (c.deleted_at ? 2 : 0) + (hiddenStart(c) ? 1 : 0);
    const primary = pinned ?? [...members].sort((x, y) => rank(x) - rank(y) || x.id - y.id)[0];
    for (const c of members) c.counted = c === primary;
  }

  // ---- volume ----

  volume(period: Period, since: string, until: string): VolumeBucket[] {
    const from = Date.parse(since);
    const to = Date.parse(until);
    if (to < from) throw new IpcError("validation", "the range ends before it starts");
    const buckets = new Map<string, VolumeBucket>();
    for (let i = this.lowerBound(from, -Infinity); i < this.sorted.length && this.starts[i]! < to; i++) {
      const a = this.sorted[i]!;
      if (!a.counted || a.deleted_at) continue;
      const start = periodStart(period, this.starts[i]! + (a.utc_offset_seconds ?? 0) * 1000);
      const key = `${start}|${a.sport}`;
      const b = buckets.get(key) ?? { period_start: start, sport: a.sport, count: 0, distance_m: 0, seconds: 0, elevation_m: 0 };
      b.count += 1;
      b.distance_m = (b.distance_m ?? 0) + (a.distance_m ?? 0);
      b.seconds += a.moving_seconds ?? a.elapsed_seconds ?? 0;
      b.elevation_m = (b.elevation_m ?? 0) + (a.elevation_gain_m ?? 0);
      buckets.set(key, b);
    }
    return [...buckets.values()].sort((x, y) => x.period_start.localeCompare(y.period_start) || x.sport.localeCompare(y.sport));
  }
}

function parseCursor(text: string): { start: number; id: number } {
  const [start, id] = text.split(":").map(Number);
  if (start === undefined || id === undefined || !Number.isInteger(start) || !Number.isInteger(id)) {
    throw new IpcError("validation", `'${text}' is not a page cursor`);
  }
  return { start, id };
}

/** Strava hides a private start time as local 00:00:01. */
function hiddenStart(a: StoredActivity): boolean {
  const local = ms(a) / 1000 + (a.utc_offset_seconds ?? 0);
  return ((local % 86400) + 86400) % 86400 === 1;
}

/** The first day of the week (Monday) or month holding `localMs`, as YYYY-MM-DD. */
function periodStart(period: Period, localMs: number): string {
  const d = new Date(localMs);
  if (period === "month") return d.toISOString().slice(0, 7) + "-01";
  const monday = localMs - ((d.getUTCDay() + 6) % 7) * 86_400_000;
  return new Date(monday).toISOString().slice(0, 10);
}

function complete(seed: SeedActivity): StoredActivity {
  return {
    connection_id: PROVIDER_ORDER.indexOf(seed.provider as ProviderKind) + 1,
    provider_activity_id: String(9_000_000 + seed.id),
    sport: "run",
    name: null,
    utc_offset_seconds: 0,
    elapsed_seconds: null,
    moving_seconds: null,
    distance_m: null,
    elevation_gain_m: null,
    avg_heart_rate: null,
    max_heart_rate: null,
    calories: null,
    avg_power_w: null,
    max_power_w: null,
    device: null,
    deleted_at: null,
    raw: null,
    workout_id: null,
    counted: true,
    reason: null,
    confidence: null,
    choice: "automatic",
    ...seed,
  };
}

// ---- generation ----

/** A small deterministic PRNG (mulberry32): the same seed, the same library. */
function random(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

type SportShape = {
  sport: Sport;
  weight: number;
  /** metres per second (0: no distance) */
  speed: [number, number];
  minutes: [number, number];
  /** metres climbed per km */
  climb: number;
  hr: [number, number];
  power?: [number, number];
  /** The first is generic ("Run" becomes "Morning run"); the others are names athletes give. */
  names: string[];
};

const SPORTS: SportShape[] = [
  { sport: "run", weight: 38, speed: [2.7, 3.7], minutes: [25, 80], climb: 8, hr: [138, 165], names: ["Run", "Easy run", "Tempo 5×1 km", "Long run", "Parkrun"] },
  { sport: "ride", weight: 24, speed: [6.5, 9.5], minutes: [45, 200], climb: 9, hr: [122, 150], power: [160, 240], names: ["Ride", "Club ride", "Gravel loop", "Commute"] },
  { sport: "virtual_ride", weight: 6, speed: [8, 10.5], minutes: [30, 90], climb: 6, hr: [128, 155], power: [180, 260], names: ["Virtual ride", "Zwift – Watopia", "Indoor intervals"] },
  { sport: "swim", weight: 8, speed: [0.65, 0.95], minutes: [25, 60], climb: 0, hr: [120, 145], names: ["Pool swim", "Open water swim"] },
  { sport: "walk", weight: 8, speed: [1.2, 1.6], minutes: [20, 80], climb: 5, hr: [90, 115], names: ["Walk", "Walk with the dog"] },
  { sport: "trail_run", weight: 5, speed: [2.1, 3.0], minutes: [40, 140], climb: 45, hr: [140, 162], names: ["Trail run", "Hill reps"] },
  { sport: "hike", weight: 4, speed: [0.9, 1.3], minutes: [90, 320], climb: 70, hr: [100, 125], names: ["Hike", "Ridge hike"] },
  { sport: "strength", weight: 4, speed: [0, 0], minutes: [30, 60], climb: 0, hr: [100, 130], names: ["Strength training", "Core session"] },
  { sport: "row", weight: 2, speed: [3.2, 4.2], minutes: [20, 50], climb: 0, hr: [130, 155], names: ["Row", "Erg 2k test"] },
  { sport: "ski", weight: 1, speed: [3.5, 6], minutes: [60, 180], climb: 25, hr: [125, 150], names: ["Nordic ski", "Skate ski"] },
];

const SPORT_WEIGHTS = SPORTS.map((s) => [s, s.weight] as [SportShape, number]);

/** Providers that record (a watch or head unit), and how often each is the recorder. */
const RECORDERS: [ProviderKind, number][] = [
  ["garmin", 40],
  ["coros", 15],
  ["polar", 15],
  ["wahoo", 15],
  ["google_health", 15],
];

const DEVICES: Record<ProviderKind, (s: Sport) => string> = {
  garmin: (s) => (s === "ride" ? "Garmin Edge 840" : "Garmin Forerunner 965"),
  coros: () => "COROS PACE 3",
  polar: () => "Polar Vantage V3",
  wahoo: (s) => (s === "virtual_ride" ? "Wahoo KICKR" : "Wahoo ELEMNT BOLT"),
  google_health: () => "Pixel Watch 2",
  strava: () => "Strava iPhone App",
};

function pick<T>(rand: () => number, items: [T, number][]): T {
  const total = items.reduce((n, [, w]) => n + w, 0);
  let r = rand() * total;
  for (const [item, w] of items) if ((r -= w) < 0) return item;
  return items[items.length - 1]![0];
}

const between = (rand: () => number, [lo, hi]: [number, number]) => lo + rand() * (hi - lo);
/** `n` to a multiple of `step` (for tenths, divided rather than multiplied: no 0.30000000000000004). */
const round = (n: number, step = 1) => (step >= 1 ? Math.round(n / step) * step : Math.round(n / step) / Math.round(1 / step));
const iso = (t: number) => new Date(t).toISOString().replace(".000Z", "Z");

function dayPart(localHour: number): string {
  if (localHour < 11) return "Morning";
  if (localHour < 14) return "Lunch";
  if (localHour < 18) return "Afternoon";
  if (localHour < 21) return "Evening";
  return "Night";
}

/** Central European offset: summer time from April to October (close enough for a fake). */
const offsetAt = (t: number) => {
  const month = new Date(t).getUTCMonth();
  return month >= 3 && month <= 9 ? 7200 : 3600;
};

function generate(count: number, now: number, seed: number): SeedActivity[] {
  const rand = random(seed);
  // A real athlete logs a session most days; a big fake compresses five years instead.
  const gap = count <= 2000 ? 19 * 3_600_000 : (5 * 365 * 86_400_000) / count;
  const sessions: number[] = [];
  let t = now - 2 * 3_600_000;
  for (let i = 0; i < count; i++) {
    sessions.push(t);
    t -= gap * (0.4 + rand() * 1.2);
  }
  sessions.reverse(); // ids grow with time, as a first import stores them
  const out: SeedActivity[] = [];
  let id = 1;
  let workout = 1;
  for (const start0 of sessions) {
    const shape = pick(rand, SPORT_WEIGHTS);
    const offset = offsetAt(start0);
    const start = round(start0, 1000);
    const moving = round(between(rand, shape.minutes) * 60);
    const elapsed = moving + round(rand() * moving * 0.08);
    const distance = shape.speed[1] ? round(moving * between(rand, shape.speed), 0.1) : null;
    const hr = round(between(rand, shape.hr));
    const recorder = pick(rand, RECORDERS);
    const localHour = new Date(start + offset * 1000).getUTCHours();
    const label = shape.names[Math.floor(rand() * shape.names.length)]!;
    const name = label === shape.names[0] ? `${dayPart(localHour)} ${label.toLowerCase()}` : label;
    const primary: SeedActivity = {
      id: id++,
      provider: recorder,
      provider_activity_id: providerId(recorder, id, rand),
      sport: shape.sport,
      name: name[0]!.toUpperCase() + name.slice(1),
      start_utc: iso(start),
      utc_offset_seconds: offset,
      elapsed_seconds: elapsed,
      moving_seconds: moving,
      distance_m: distance,
      elevation_gain_m: distance ? round((distance / 1000) * shape.climb * between(rand, [0.5, 1.5]), 0.1) : null,
      avg_heart_rate: hr,
      max_heart_rate: hr + round(between(rand, [12, 30])),
      calories: round(moving / 60 * between(rand, [7, 12])),
      avg_power_w: shape.power ? round(between(rand, shape.power)) : null,
      max_power_w: shape.power ? round(between(rand, shape.power) * 2.6) : null,
      device: DEVICES[recorder](shape.sport),
    };
    out.push(primary);
    const copies: SeedActivity[] = [];
    // Most recorders forward to Strava; some sessions also reach Google Health.
    if (rand() < 0.4) copies.push(stravaCopy(primary, rand, id++));
    if (rand() < 0.08 && recorder !== "google_health" && recorder !== "garmin") {
      const apart = round(rand() * 6);
      copies.push({
        ...primary,
        id: id++,
        provider: "google_health",
        provider_activity_id: providerId("google_health", id, rand),
        start_utc: iso(start + apart * 1000),
        device: "Pixel Watch 2",
        avg_power_w: null,
        max_power_w: null,
        reason: `started ${apart} s apart, same duration and distance, both ${primary.sport}`,
        confidence: confidence(apart, true),
      });
    }
    if (copies.length) {
      const w = workout++;
      primary.workout_id = w;
      primary.counted = true;
      primary.reason = copies[0]!.reason ?? null;
      primary.confidence = copies[0]!.confidence ?? null;
      for (const c of copies) {
        c.workout_id = w;
        c.counted = false;
        out.push(c);
      }
    }
  }
  return out;
}

/** The core's confidence for copies `apart` seconds apart (linking.rs). */
const confidence = (apart: number, close: boolean) => Math.min(0.99, round(0.95 - (apart / 300) * 0.1 + (close ? 0.04 : 0), 0.001));

/** Strava's copy: seconds apart, or with its quirks (a hidden start, local time taken for UTC). */
function stravaCopy(p: SeedActivity, rand: () => number, id: number): SeedActivity {
  const start = Date.parse(p.start_utc);
  const offset = p.utc_offset_seconds ?? 0;
  const sport = p.sport ?? "run";
  const quirk = rand();
  const base: SeedActivity = {
    ...p,
    id,
    provider: "strava",
    provider_activity_id: providerId("strava", id, rand),
    name: p.name,
    distance_m: p.distance_m ? round(p.distance_m * (1 + (rand() - 0.5) * 0.01), 0.1) : null,
    device: p.device ?? null,
  };
  if (quirk < 0.05) {
    const localDay = Math.floor((start / 1000 + offset) / 86400) * 86400;
    return {
      ...base,
      start_utc: iso((localDay - offset + 1) * 1000),
      reason: `hidden start time; same local day, same duration and distance, both ${sport}`,
      confidence: 0.82,
    };
  }
  if (quirk < 0.08) {
    const hours = offset / 3600;
    return {
      ...base,
      start_utc: iso(start + offset * 1000),
      reason: `same minutes and seconds, ${hours}h00 apart (a time-zone shift: local time recorded as UTC), same duration and distance, both ${sport}`,
      confidence: 0.92,
    };
  }
  const apart = round(rand() * 9);
  return {
    ...base,
    start_utc: iso(start + apart * 1000),
    reason: `started ${apart} s apart, same duration and distance, both ${sport}`,
    confidence: confidence(apart, true),
  };
}

function providerId(p: ProviderKind, n: number, rand: () => number): string {
  switch (p) {
    case "strava":
      return String(11_000_000_000 + n * 7 + Math.floor(rand() * 5));
    case "garmin":
      return String(14_200_000_000 + n * 3);
    case "polar":
      return (0x3a000000 + n * 13).toString(16);
    case "coros":
      return `43${String(n * 17).padStart(16, "0")}`;
    case "wahoo":
      return String(2_400_000 + n);
    case "google_health":
      return `g-${(n * 2_654_435_761) >>> 0}`;
  }
}

const STRAVA_TYPES: Record<Sport, string> = {
  run: "Run",
  trail_run: "TrailRun",
  ride: "Ride",
  virtual_ride: "VirtualRide",
  swim: "Swim",
  walk: "Walk",
  hike: "Hike",
  row: "Rowing",
  ski: "NordicSki",
  strength: "WeightTraining",
  other: "Workout",
};

/** What each provider sent, roughly in its own shape (the detail's raw payload). */
function rawPayload(a: StoredActivity): Value {
  const local = iso(ms(a) + (a.utc_offset_seconds ?? 0) * 1000).replace("Z", "");
  switch (a.provider) {
    case "strava":
      return {
        id: Number(a.provider_activity_id),
        name: a.name,
        sport_type: STRAVA_TYPES[a.sport],
        start_date: a.start_utc,
        start_date_local: `${local}Z`,
        timezone: "(GMT+01:00) Europe/Berlin",
        distance: a.distance_m ?? 0,
        moving_time: a.moving_seconds,
        elapsed_time: a.elapsed_seconds,
        total_elevation_gain: a.elevation_gain_m ?? 0,
        average_heartrate: a.avg_heart_rate,
        max_heartrate: a.max_heart_rate,
        device_name: a.device,
        private: false,
      };
    case "garmin":
      return {
        activityId: Number(a.provider_activity_id),
        activityName: a.name,
        activityType: { typeKey: a.sport === "run" ? "running" : a.sport === "ride" ? "cycling" : a.sport },
        startTimeGMT: a.start_utc.replace("T", " ").replace("Z", ""),
        startTimeLocal: local.replace("T", " "),
        duration: a.elapsed_seconds,
        movingDuration: a.moving_seconds,
        distance: a.distance_m,
        elevationGain: a.elevation_gain_m,
        averageHR: a.avg_heart_rate,
        maxHR: a.max_heart_rate,
        calories: a.calories,
        avgPower: a.avg_power_w,
        deviceName: a.device,
      };
    default:
      return {
        id: a.provider_activity_id,
        type: a.sport,
        title: a.name,
        start_time: a.start_utc,
        utc_offset: a.utc_offset_seconds,
        duration_s: a.elapsed_seconds,
        distance_m: a.distance_m,
        ascent_m: a.elevation_gain_m,
        heart_rate: { average: a.avg_heart_rate, maximum: a.max_heart_rate },
        kcal: a.calories,
        device: a.device,
      };
  }
}
