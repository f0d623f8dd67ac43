// What opening each view costs the machine, in the real app on a library of 100,000 activities
// (issue 19, item 10): the CPU time the web process and the app's process spend from the click
// that opens a view to its first paint with its data and the second after it (the totals, the
// charts' layout), and from the click until both are quiet again (a second under 0.03 CPU-s). Read from /proc (utime + stime of both processes), so it counts what the
// athlete's machine pays, not what a timer in the page sees. Each view is opened five times and
// the median kept; Settings (a form and no data) is the baseline the others are divided by, in
// the same run.
//
// Run by scripts/bench-views.sh (which seeds the library and picks the build): the full run
// outside CI, a short one (3,000 activities, one round) in CI after the packages.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { App, ARTIFACTS, processes, recordMetrics, sleep } from "../e2e/app.mjs";

const SEED = process.env.TRIBUTARY_BENCH_LIBRARY;
const LABEL = process.env.TRIBUTARY_BENCH_LABEL ?? "build";
const ROUNDS = Number(process.env.TRIBUTARY_BENCH_ROUNDS ?? 5);
const ACTIVITIES = Number(process.env.TRIBUTARY_BENCH_ACTIVITIES ?? 100_000);
const AFTER_MS = 1000;

/** CPU seconds spent so far by every process whose name starts with one of `names`. */
const cpu = (names) =>
  processes()
    .filter((p) => names.some((n) => p.comm.startsWith(n)))
    .reduce((total, p) => total + p.cpu, 0);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

test(`opening each view on ${ACTIVITIES.toLocaleString("en")} activities (${LABEL})`, { timeout: 900_000 }, async () => {
  assert.ok(SEED, "TRIBUTARY_BENCH_LIBRARY: a seeded data directory");
  const work = mkdtempSync(join(tmpdir(), "tributary-bench-views-"));
  const data = join(work, "data");
  cpSync(SEED, data, { recursive: true });
  const app = new App("bench-views", { TRIBUTARY_MODE: "real", TRIBUTARY_DATA_DIR: data, TRIBUTARY_LOG: "warn" });
  await app.start();
  const d = app.driver;
  try {
    await d.waitFor(() => d.find("summary"), "the dashboard", 60_000);
    await sleep(3000); // the start-up's own work settles
    const painted = () => d.execute("return new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))");
    const views = {
      settings: async () => {
        await d.click("nav-settings");
        await d.waitFor(() => d.find("settings-theme"), "Settings");
      },
      dashboard: async () => {
        await d.click("nav-dashboard");
        await d.waitFor(() => d.find("volume-chart"), "the dashboard's chart");
      },
      activities: async () => {
        await d.click("nav-activities");
        // The rows, and a count (the exact one arrives within the second measured after).
        await d.waitFor(async () => ((await d.find("workout-row")) && !/Loading/.test((await d.text("activity-count")) ?? "") ? true : null), "the list and its count");
      },
      detail: async () => {
        // From the list, open its first workout.
        await d.execute("document.querySelector('[data-testid=workout-row]').click()");
        await d.waitFor(() => d.find("detail-fields"), "the activity's detail");
      },
      history: async () => {
        await d.click("nav-dashboard");
        await d.click("history-strava");
        await d.waitFor(() => d.find("history-chart-strava"), "the history chart");
      },
      providers: async () => {
        await d.click("nav-providers");
        await d.waitFor(() => d.find("providers-intro"), "Providers");
      },
    };
    // Each view is opened from another one: a view already open would cost nothing.
    const from = { settings: "dashboard", dashboard: "settings", activities: "settings", detail: "activities", history: "settings", providers: "settings" };
    // A build from before the Providers view had no such view: what it lacks is left out.
    if (!(await d.find("nav-providers"))) delete views.providers;
    const seconds = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, open] of Object.entries(views)) {
        if (!views[from[name]]) continue;
        await views[from[name]]();
        await painted();
        await sleep(AFTER_MS);
        const web0 = cpu(["WebKitWebProces"]);
        const app0 = cpu(["tributary-deskt"]);
        await open();
        await painted();
        await sleep(AFTER_MS);
        const spent = { web: cpu(["WebKitWebProces"]) - web0, app: cpu(["tributary-deskt"]) - app0 };
        // Then until it is quiet: a second with under 0.03 CPU-s (at most 15 s). The window's
        // compositing kept rasterising for seconds after the first paint.
        let quiet = cpu(["WebKitWebProces", "tributary-deskt"]);
        for (let i = 0; i < 15; i++) {
          await sleep(1000);
          const now = cpu(["WebKitWebProces", "tributary-deskt"]);
          const step = now - quiet;
          quiet = now;
          if (step < 0.03) break;
        }
        spent.settled = cpu(["WebKitWebProces"]) - web0 + cpu(["tributary-deskt"]) - app0;
        (seconds[name] ??= []).push(spent);
      }
    }
    const result = {};
    for (const [name, runs] of Object.entries(seconds)) {
      const web = median(runs.map((r) => r.web));
      const appSide = median(runs.map((r) => r.app));
      const total = median(runs.map((r) => r.web + r.app));
      const settled = median(runs.map((r) => r.settled));
      result[name] = {
        web_cpu_s: Number(web.toFixed(2)),
        app_cpu_s: Number(appSide.toFixed(2)),
        total_cpu_s: Number(total.toFixed(2)),
        until_quiet_cpu_s: Number(settled.toFixed(2)),
      };
    }
    for (const r of Object.values(result)) r.over_settings = Number((r.total_cpu_s / Math.max(result.settings.total_cpu_s, 0.01)).toFixed(1));
    await app.shot(`bench-views-${LABEL}`);
    recordMetrics({ [`views_${LABEL}`]: result });
    writeFileSync(join(ARTIFACTS, `bench-views-${LABEL}.json`), JSON.stringify(result, null, 2));
    console.log(`views ${LABEL}`, JSON.stringify(result));
  } catch (e) {
    await app.shot(`bench-views-${LABEL}-failed`).catch(() => {});
    throw new Error(`${e.message}; the count line said: ${await d.text("activity-count").catch(() => "?")}`);
  } finally {
    await app.stop();
    rmSync(work, { recursive: true, force: true }); // a copy of the library: hundreds of MB at 100,000
  }
});
