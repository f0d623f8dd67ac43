// Import through the real window, on the sandbox: the demo writes sample archives in every
// provider's layout (from its own workouts); Strava is connected and synced; "Import files…"
// (the dialog bypassed by TRIBUTARY_IMPORT_PATHS, as the save dialog is by TRIBUTARY_SAVE_DIR)
// reads Strava's bulk export; the result says every file's outcome, and the list shows the
// imported copies joined with the API's, each copy with its own badge.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { App, recordMetrics, until } from "./app.mjs";

const app = new App("import");
const samples = join(app.dataDir, "sandbox", "samples");
app.env.TRIBUTARY_IMPORT_PATHS = join(samples, "strava-export.zip");
let d;

before(async () => {
  await app.start();
  d = app.driver;
  await d.waitFor(() => d.find("card-strava"), "the dashboard");
});

after(async () => {
  await app.stop();
});

test("a Strava export imported through the window joins the API's copies", async () => {
  await app.connect("strava", "Strava");
  await d.waitFor(async () => /250 new/.test((await d.text("last-sync-strava")) ?? ""), "Strava's first sync", 60_000);
  await until(() => existsSync(join(samples, "strava-export.zip")), "the demo's sample archives", 60_000);
  await d.click("nav-activities");
  await d.waitFor(() => d.find("import-files"), "the import buttons");
  const started = Date.now();
  await d.click("import-files");
  const counts = await d.waitFor(async () => (await d.find("import-result")) && d.text("import-counts"), "the import's result", 60_000);
  recordMetrics({ import_40_strava_archive_ms: Date.now() - started });
  // 40 activity files, each the Strava activity its list names: all joined, none new, none
  // refused; the list, the gear lists and a photo are no activities.
  assert.equal(counts, "40 joined workouts you had · 4 not activities", counts);
  assert.equal(await d.text("import-linked"), "Joined workouts you had: 40");
  assert.equal(await d.text("import-refused"), "Could not be read: 0");
  await app.shot("import-result");
  // The workouts list: the newest workouts carry both badges, the API's and the archive's.
  const badges = await d.waitFor(async () => {
    const n = await d.execute("return document.querySelectorAll('[data-testid=workout-row] [data-testid=badge-strava_archive]').length");
    return n > 0 ? n : null;
  }, "the archive's copies in the list");
  assert.ok(badges > 0);
  const both = await d.execute(
    "const row = document.querySelector('[data-testid=workout-row]');" +
      "return [...row.querySelectorAll('[data-testid^=badge-]')].map(b => b.dataset.testid).sort();",
  );
  assert.deepEqual(both, ["badge-strava", "badge-strava_archive"], JSON.stringify(both));
  await d.click("import-close");
  await d.click("imports-toggle");
  const past = await d.waitFor(async () => {
    const t = (await d.text("imports-past")) ?? "";
    return /strava-export\.zip/.test(t) ? t : null;
  }, "past imports");
  assert.match(past, /40 joined workouts you had/);
});
