// A workout's recording in the real window, on the sandbox. Background downloads are off for the
// first part, so that opening a workout is what fetches its recording (one request, seen at the
// twin); then the map and the charts are drawn (read from Leaflet's and uPlot's own state, not
// from pixels), the copy shown is switched between Strava's streams and Wahoo's FIT, light and
// dark screenshots are taken. A second start with background downloads on shows the queue's
// progress on the card.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, recordMetrics } from "./app.mjs";

const saveDir = mkdtempSync(join(tmpdir(), "tributary-save-"));
const app = new App("recordings", { TRIBUTARY_BACKGROUND_DOWNLOADS: "off", TRIBUTARY_SAVE_DIR: saveDir });
let d;

const twinCalls = async () => {
  const response = await fetch(`http://127.0.0.1:${app.sandboxPort}/_control/state`);
  return (await response.json()).calls;
};

before(async () => {
  await app.start();
  d = app.driver;
  await d.waitFor(() => d.find("card-strava"), "the dashboard");
});

after(async () => {
  await app.stop();
});

/** The recording's state as the window drew it, read in one script. */
const drawn = () =>
  d.execute(
    "const r = document.querySelector('[data-testid=recording-shown]');" +
      "if (!r) return null;" +
      "const map = document.querySelector('[data-testid=route-map]');" +
      "const figs = [...document.querySelectorAll('[data-testid^=recording-chart-]')].filter(f => f.tagName === 'FIGURE');" +
      "return {" +
      "  activity: r.dataset.activity," +
      "  source: document.querySelector('[data-testid=recording-source]')?.textContent ?? ''," +
      "  mapPoints: map ? Number(map.dataset.points ?? 0) : 0," +
      "  paths: map ? map.querySelectorAll('canvas, path').length : 0," +
      "  charts: figs.map(f => ({ key: f.dataset.testid, points: Number(f.dataset.points), canvases: f.querySelectorAll('canvas').length }))," +
      "  laps: document.querySelectorAll('[data-testid=recording-laps] tbody tr').length," +
      "};",
  );

test("opening a synced workout fetches its recording and draws the map and the charts", async () => {
  await app.connect("strava", "Strava");
  await app.connect("wahoo", "Wahoo");
  await d.waitFor(async () => /250 new/.test((await d.text("last-sync-wahoo")) ?? ""), "Wahoo's first sync", 60_000);
  const before = await twinCalls();
  assert.equal(before.strava_streams ?? 0, 0, "nothing fetched in the background");
  assert.equal(before.wahoo_files ?? 0, 0);
  await d.click("nav-activities");
  const first = await d.waitFor(async () => (await d.findAll("workout-row"))[0] ?? null, "the activity list");
  await d.elementClick(first);
  const state = await d.waitFor(async () => {
    const s = await drawn();
    return s && s.charts.length > 0 && s.mapPoints > 0 ? s : null;
  }, "the recording drawn", 30_000);
  const after = await twinCalls();
  const fetched = (after.strava_streams ?? 0) + (after.wahoo_files ?? 0);
  assert.equal(fetched, 1, `one request, for the copy shown: ${JSON.stringify(after)}`);
  // Strava's streams carry no laps: they are fetched with the opening (one more request).
  if (after.strava_streams) {
    assert.equal(after.strava_laps, 1, JSON.stringify(after));
    assert.ok(state.laps > 0, `the laps table: ${JSON.stringify(state)}`);
  }
  assert.ok(state.mapPoints > 100, `a route: ${JSON.stringify(state)}`);
  assert.ok(state.paths > 0, "Leaflet drew the route");
  for (const c of state.charts) {
    assert.ok(c.points > 100 && c.points <= 2001, `downsampled for the screen: ${JSON.stringify(c)}`);
    assert.ok(c.canvases > 0, `uPlot drew ${c.key}`);
  }
  assert.ok(state.charts.some((c) => c.key === "recording-chart-heart_rate"), JSON.stringify(state.charts));
  // No tile was asked for: the map makes no network request (the CSP would refuse one anyway).
  const tiles = await d.execute("return document.querySelectorAll('.leaflet-tile').length");
  assert.equal(tiles, 0);
  // The scale of the first chart, from uPlot: it spans the data, not a fixed range.
  const span = await d.execute(
    "const f = document.querySelector('figure[data-testid=recording-chart-heart_rate]');" +
      "return f ? [Number(f.dataset.xMin), Number(f.dataset.xMax)] : null",
  );
  assert.ok(span && span[0] === 0 && span[1] > 600, `the time axis spans the workout: ${span}`);
  await app.shot("recording-light");
  await d.execute(
    "const pane = document.querySelector('[data-testid=activity-detail]');" +
      "const fig = document.querySelector('figure[data-testid^=recording-chart-]');" +
      "pane.scrollTop = fig.offsetTop - pane.offsetTop - 8;",
  );
  await app.shot("recording-charts-light");
});

test("the copy shown switches between Strava's streams and Wahoo's file", async () => {
  const start = await drawn();
  const other = await d.execute(
    "const shown = document.querySelector('[data-testid=recording-shown]').dataset.activity;" +
      "const radios = [...document.querySelectorAll('[data-testid^=recording-copy-]')].filter(r => r.tagName === 'INPUT');" +
      "const o = radios.find(r => !r.dataset.testid.endsWith('-' + shown));" +
      "return o ? o.dataset.testid : null",
  );
  assert.ok(other, "a second copy to choose");
  await d.click(other);
  const switched = await d.waitFor(async () => {
    const s = await drawn();
    return s && s.activity !== start.activity && s.charts.length > 0 ? s : null;
  }, "the other copy's recording", 30_000);
  assert.notEqual(switched.source, start.source, "the source line says which copy it is");
  assert.match(`${start.source} ${switched.source}`, /streams/);
  assert.match(`${start.source} ${switched.source}`, /FIT file/);
  // Pin it: the choice survives reopening.
  await d.click("recording-pin");
  await d.waitFor(async () => /your choice/.test((await drawn())?.source ?? ""), "the pinned copy");
});

test("Save original writes the file as it came", async () => {
  const copy = await d.execute(
    "const radios = [...document.querySelectorAll('[data-testid^=recording-copy-]')].filter(r => r.tagName === 'INPUT');" +
      "const wahoo = radios.find(r => r.parentElement.textContent.includes('Wahoo'));" +
      "if (wahoo && !wahoo.checked) wahoo.click(); return Boolean(wahoo)",
  );
  assert.ok(copy);
  await d.waitFor(() => d.find("save-original"), "the save button");
  // Below the charts, in the pane's own scroll: brought into view first.
  await d.execute("document.querySelector('[data-testid=save-original]').scrollIntoView({ block: 'center' })");
  await d.click("save-original");
  const said = await d.waitFor(async () => (await d.text("save-original-result")) || null, "the saved notice");
  assert.match(said, /Saved to/);
  const files = readdirSync(saveDir);
  assert.equal(files.length, 1, JSON.stringify(files));
  const bytes = readFileSync(join(saveDir, files[0]));
  assert.equal(bytes.subarray(8, 12).toString(), ".FIT", "a FIT file, byte for byte");
});

// Issue 19, item 8: export from the window (the save dialog is skipped for TRIBUTARY_SAVE_DIR);
// the list's count is exact (not "200+") and a Strava copy offers its page at Strava.
test("export from the window: every copy in the JSON, as many as the notice and the list say", async () => {
  await d.click("nav-activities");
  await d.click("filter-copies");
  const listed = await d.waitFor(async () => {
    const m = /^([\d,]+) copies · /.exec((await d.text("activity-count")) ?? "");
    return m ? Number(m[1].replace(/,/g, "")) : null;
  }, "the exact count of every copy");
  await d.click("filter-copies");
  await d.execute("document.querySelector('[data-testid=export-menu]').open = true");
  await d.click("export-json");
  const said = await d.waitFor(async () => {
    const t = (await d.text("notice")) ?? "";
    return /^Exported/.test(t) ? t : null;
  }, "the export's notice", 60_000);
  const file = readdirSync(saveDir).find((f) => f.endsWith(".json"));
  assert.ok(file, `the export in ${saveDir}: ${readdirSync(saveDir)}`);
  const doc = JSON.parse(readFileSync(join(saveDir, file), "utf8"));
  const m = /\(([\d,]+) copies\)/.exec(said);
  assert.ok(m, said);
  assert.equal(doc.activities.length, Number(m[1].replace(/,/g, "")), said);
  assert.equal(doc.activities.length, listed, "the list's count is the export's");
  assert.ok(said.includes(join(saveDir, file)), said);
});

test("the recording in dark", async () => {
  await d.click("nav-settings");
  await d.setValue("settings-theme", "dark");
  await d.click("nav-activities");
  await d.waitFor(async () => (await d.findAll("workout-row"))[0] ?? null, "the activity list");
  // Opening a workout whose recording is kept (the pinned copy: its FIT read and decoded now),
  // timed in the page from the click to the map and the charts on screen.
  await d.execute(
    "window.__drawn = null; const t0 = performance.now();" +
      "const check = () => {" +
      "  const charts = document.querySelectorAll('figure[data-testid^=recording-chart-] canvas').length;" +
      "  const map = document.querySelector('[data-testid=route-map] canvas, [data-testid=route-map] path');" +
      "  if (charts > 0 && map && window.__drawn === null) { window.__drawn = performance.now() - t0; observer.disconnect(); }" +
      "};" +
      "const observer = new MutationObserver(check);" +
      "observer.observe(document.body, { subtree: true, childList: true, attributes: true });" +
      "document.querySelector('[data-testid=workout-row]').click();",
  );
  const ms = await d.waitFor(() => d.execute("return window.__drawn"), "the recording drawn");
  recordMetrics({ recording_click_to_drawn_ms: Math.round(ms) });
  await app.shot("recording-dark");
  await d.execute(
    "const pane = document.querySelector('[data-testid=activity-detail]');" +
      "const fig = document.querySelector('figure[data-testid^=recording-chart-]');" +
      "pane.scrollTop = fig.offsetTop - pane.offsetTop - 8;",
  );
  await app.shot("recording-charts-dark");
  await d.click("nav-settings");
  await d.setValue("settings-theme", "light");
});
