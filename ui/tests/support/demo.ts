// The dev UI's data (`npm run dev` in a plain browser, outside Tauri): a FakeBackend with six
// connections, a generated library of linked workouts (`?workouts=100000` for the big one), and
// half a year of runs per connection; Sync now runs for a moment, stores a run and finishes. Loaded by main.tsx only in dev builds, so neither this
// nor the test fixtures it borrows reach the production bundle.
import { card, dashboard, summary, withGarminKey } from "../fixtures";
import { FakeBackend } from "./fake";
import { FakeLibrary } from "./fakeLibrary";
import { PROVIDERS } from "../../src/lib/router";
import type { ProviderKind, SyncRun, SyncStatus } from "../../src/lib/types";

const WORKOUTS = Number(new URLSearchParams(location.search).get("workouts") ?? 3000);

/** Every six hours for 180 days, a few failures and a quota that dips when a backfill ran. */
function runs(index: number, now: number): SyncRun[] {
  const out: SyncRun[] = [];
  let id = (index + 1) * 100_000;
  for (let t = now - 180 * 86_400_000 + index * 3_600_000; t < now - 3_600_000; t += 6 * 3_600_000) {
    const n = Math.floor(t / 3_600_000);
    const status: SyncStatus = n % 97 === index ? "failed" : n % 61 === 0 ? "partial" : "success";
    const created = status === "failed" ? 0 : (n * 7 + index) % 5;
    const calls = 2 + (n % 4) + (created > 2 ? 3 : 0);
    out.push({
      id: id++,
      connection_id: index + 1,
      trigger: n % 4 === 0 ? "manual" : "scheduled",
      status,
      started_at: new Date(t).toISOString(),
      completed_at: new Date(t + 20_000 + calls * 1500).toISOString(),
      counters: { fetched: created + 30, created, updated: n % 3 === 0 ? 1 : 0, skipped: 30 - (n % 3 === 0 ? 1 : 0), failed: status === "partial" ? 2 : 0, deleted: 0 },
      api_calls: calls,
      rate_limit_remaining: 200 - ((n * 13) % 150),
      error_message: status === "failed" ? "The provider answered 503" : null,
      error_code: status === "failed" ? "provider" : null,
      cursor: null,
    });
  }
  return out.reverse(); // newest first, as the fake keeps them
}

/** A FakeBackend whose syncs run by themselves (started by a click or by a connect). */
class DemoBackend extends FakeBackend {
  private nextActivity = 10_000_000;
  protected override runStarted(p: ProviderKind) {
    setTimeout(() => this.progress(p, { fetched: 30, created: 1 }, { pages: 1, api_calls: 2 }), 600);
    setTimeout(() => {
      // the run stored one new activity: the list, the volume and the history chart show it
      this.library.add({
        id: this.nextActivity++,
        provider: p,
        start_utc: new Date(Date.now() - 3_600_000).toISOString(),
        utc_offset_seconds: 3600,
        sport: "run",
        name: "Lunch run",
        distance_m: 8000,
        moving_seconds: 2700,
        elapsed_seconds: 2800,
      });
      this.finish(p, "success", { counters: { fetched: 30, created: 1, skipped: 29 } });
    }, 1500);
  }
}

/** A local calendar day `days` from `now` (`YYYY-MM-DD`), as a personal key's expiry. */
function dayFrom(now: number, days: number): string {
  const d = new Date(now + days * 86_400_000);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

export function demoBackend(): FakeBackend {
  const now = Date.now();
  const library = FakeLibrary.generate(WORKOUTS, { now });
  // Garmin through its Personal API, its key expiring within the week: the warning shows.
  const profile = (p: string) => (p === "garmin" ? { provider_profile: { key_expires_on: dayFrom(now, 5) } } : {});
  const cards = PROVIDERS.map((p, i) => card(p, profile(p), runs(i, now)[0]!));
  const seeded = dashboard({ cards, summary: summary(library.size) });
  return new DemoBackend({
    dashboard: { ...seeded, providers: withGarminKey(seeded.providers) },
    runs: Object.fromEntries(PROVIDERS.map((p, i) => [p, runs(i, now)])),
    library,
  });
}
