// The dashboard in the real window, on the sandbox: connect through the browser and a deep link,
// sync, history and its chart, toggle, bad deep links, disconnect, Polar and Wahoo; then the
// merged activity list (Strava and Wahoo record the same workouts: each shows once), unlink and
// link by hand; light and dark screenshots; and no token anywhere the athlete or a log can see.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { App, until, sleep, recordMetrics } from "./app.mjs";

const SANDBOX_ACTIVITIES = 250; // the demo sandbox's data set
const app = new App("dashboard");
let d;

const state = (p = "strava") => d.text(`state-${p}`);
/**
 * The activity list's exact count: it pages by keyset and says "200+" until it has read to the
 * end, so scroll it to the bottom until the count is exact.
 */
const exactCount = (what, expected) =>
  d.waitFor(async () => {
    await d.execute("const l = document.querySelector('[data-testid=activity-list]'); if (l) l.scrollTop = l.scrollHeight;");
    const text = (await d.text("activity-count")) ?? "";
    const m = /^([\d,]+) workouts?/.exec(text);
    const count = m && !text.includes("+") ? Number(m[1].replace(/,/g, "")) : null;
    // After a change the list reloads: its old count is not the answer.
    return count !== null && count === expected ? count : null;
  }, `${what}: ${expected} workouts`, 30_000);
/** The "N new" of a card's last sync (null before one), parsed: "0 new" must not match "250 new". */
const created = async (p) => {
  const m = /(?:^|· )(\d+) new/.exec((await d.text(`last-sync-${p}`)) ?? "");
  return m ? Number(m[1]) : null;
};
const historyRows = async () => {
  const rows = await d.findAll("history-row");
  return Promise.all(
    rows.map(async (r) => ({
      status: await d.attribute(r, "data-status"),
      trigger: await d.attribute(r, "data-trigger"),
    })),
  );
};

before(async () => {
  const started = Date.now();
  await app.start();
  d = app.driver;
  await d.waitFor(() => d.find("card-strava"), "the dashboard");
  recordMetrics({ cold_start_to_dashboard_ms: Date.now() - started });
});

after(async () => {
  await app.stop();
});

test("demo mode is labelled and all six providers are shown", async () => {
  assert.match(await d.text("demo-banner"), /Demo mode/);
  for (const p of ["strava", "garmin", "polar", "coros", "wahoo", "google_health"]) {
    assert.ok(await d.find(`card-${p}`), `${p} card`);
  }
  assert.equal(await state(), "Not connected");
  await app.shot("dashboard-empty");
});

test("connect through the browser and a deep link, then the first sync runs", async () => {
  await app.connect("strava", "Strava");
  assert.match(await d.text("notice"), /Connected to Strava\./);
  await d.waitFor(async () => (await created("strava")) === SANDBOX_ACTIVITIES, "the first sync", 60_000);
  // The agent fetches the recordings in the background, within Strava's read limit, and the card
  // says how far it got and how long the rest takes.
  const line = await d.waitFor(async () => {
    const text = (await d.text("recordings-strava")) ?? "";
    return /^Recorded streams: [1-9][\d,]* of 250 · about .+ at Strava's limit/.test(text) ? text : null;
  }, "the recordings line on the card", 60_000);
  assert.doesNotMatch(line, /could not/);
});

test("sync now; the history lists both runs and draws them", async () => {
  await d.click("sync-strava");
  await d.waitFor(async () => (await created("strava")) === 0, "the manual sync to finish", 60_000);
  await d.click("history-strava");
  const rows = await d.waitFor(async () => {
    const r = await historyRows();
    return r.length >= 2 ? r : null;
  }, "two history rows");
  assert.ok(rows.every((r) => r.status === "success"), JSON.stringify(rows));
  assert.deepEqual(rows.map((r) => r.trigger), ["manual", "after_connect"], "newest first");
  const createdCells = await Promise.all((await d.findAll("history-created")).map((c) => d.elementText(c)));
  assert.deepEqual(createdCells, ["0", String(SANDBOX_ACTIVITIES)], "the re-sync created none, the first all");
  assert.equal(await d.text("summary-activities"), String(SANDBOX_ACTIVITIES));
  // The chart: a figure with a caption that counts the runs, and a canvas drawn by uPlot.
  const caption = await d.waitFor(
    () => d.execute("return document.querySelector('[data-testid=history-chart-strava] figcaption')?.textContent || null"),
    "the history chart",
  );
  assert.match(caption, /2 runs/, caption);
  const drawn = await d.execute(
    "const c = document.querySelector('[data-testid=history-chart-strava] canvas'); return c ? c.width * c.height : 0",
  );
  assert.ok(drawn > 0, "the chart has a canvas");
  // The axes as uPlot drew them, against the data (issue 19, item 2: runs of one afternoon were
  // drawn at the left of an axis reading years ahead; 1–2 API calls on an axis up to 80).
  const drawnAs = await d.waitFor(
    () =>
      d.execute(
        "const c = document.querySelector('[data-testid=history-chart-strava] .chart-canvas');" +
          "return c?.dataset.scales && c.dataset.extent ? [c.dataset.scales, c.dataset.extent] : null",
      ),
    "the chart's scales",
  );
  const [scales, extent] = drawnAs.map((t) => JSON.parse(t));
  const what = JSON.stringify({ scales, extent });
  const [first, last] = extent.x;
  const [xMin, xMax] = scales.x;
  assert.ok(xMin <= first && xMax >= last, `every run on the axis: ${what}`);
  assert.ok(xMax <= Date.now() / 1000 + 86_400, `the axis does not run into the future: ${what}`);
  assert.ok(xMax - xMin <= last - first + 2 * 86_400, `the axis fits the runs: ${what}`);
  // The API calls per bar, from the chart's own table (the text alternative).
  const calls = await d.execute(
    "return Math.max(...[...document.querySelectorAll('[data-testid=history-chart-table-strava] tbody tr')]" +
      ".map(r => Number(r.querySelectorAll('td')[6].textContent.replace(/,/g, ''))))",
  );
  assert.ok(calls > 0, `API calls in the table: ${calls}`);
  assert.ok(scales.calls[1] <= Math.max(2, calls * 2), `the API-calls axis fits the calls (${calls}): ${what}`);
  await app.shot("history");
});

test("toggle off and on", async () => {
  await d.click("toggle-strava");
  await d.waitFor(async () => (await state()) === "Disabled", "disabled");
  await d.click("toggle-strava");
  await d.waitFor(async () => (await state()) === "Active", "active again");
});

test("a bad or replayed deep link shows an error and changes nothing", async () => {
  const before = (await historyRows()).length;
  await app.launchWith("tributary://oauth/strava/callback?state=forged&code=stolen");
  await d.waitFor(async () => /unknown or was already used/.test((await d.text("notice")) ?? ""), "the rejection notice");
  await app.launchWith("tributary://not-a-thing");
  await d.waitFor(async () => /does not understand/.test((await d.text("notice")) ?? ""), "the unknown-link notice");
  assert.equal(await state(), "Active");
  assert.equal((await historyRows()).length, before);
});

test("Wahoo records the same workouts: the activity list shows each once, with both sources", async () => {
  await app.connect("wahoo", "Wahoo");
  await d.waitFor(async () => (await created("wahoo")) === SANDBOX_ACTIVITIES, "Wahoo's first sync", 60_000);
  // The dashboard counts sessions as the list does, and says how many copies (issue 19 item 9).
  await d.waitFor(async () => (await d.text("summary-activities")) === "500" || null, "500 copies on the dashboard");
  assert.equal(await d.text("summary-workouts"), "250");
  await d.click("nav-activities");
  const rows = await d.waitFor(async () => {
    const r = await d.findAll("workout-row");
    return r.length ? r : null;
  }, "the activity list");
  assert.ok(rows.length > 0);
  assert.equal(await exactCount("the whole list (500 copies)", 250), 250);
  // Back to the top: the virtual list keeps only the rows in view.
  await d.execute("const l = document.querySelector('[data-testid=activity-list]'); if (l) l.scrollTop = 0;");
  // Read in one script: the rows are re-rendered as the list settles (a held reference goes stale).
  const [copies, badges] = await d.waitFor(
    () =>
      d.execute(
        "const r = document.querySelector('[data-testid=workout-row]'); return r ? [r.dataset.copies, [...r.querySelectorAll('[data-testid^=badge-]')].map(b => [b.dataset.testid, b.title])] : null",
      ),
    "the first row again",
  );
  assert.equal(copies, "2");
  assert.deepEqual(badges.map((b) => b[0]).sort(), ["badge-strava", "badge-wahoo"]);
  assert.ok(badges.some((b) => /apart|shift|hidden start/.test(b[1])), `the match reason on hover: ${JSON.stringify(badges)}`);
  await app.shot("activities");
});

test("unlink a copy and link it back by hand", async () => {
  const first = (await d.findAll("workout-row"))[0];
  const activityId = await d.attribute(first, "data-activity-id");
  await d.elementClick(first);
  // The pane shows a placeholder while the activity loads: wait for its content.
  await d.waitFor(() => d.find("raw-payload"), "the detail pane");
  assert.equal(await d.execute("return document.querySelector('[data-testid=raw-payload]').open"), false, "raw payload collapsed");
  const copies = await d.execute(
    "return [...document.querySelectorAll('[data-testid^=unlink-]')].map(b => b.dataset.testid.slice(7))",
  );
  assert.equal(copies.length, 2, JSON.stringify(copies));
  const other = copies.find((c) => c !== activityId) ?? copies[1];
  await d.click(`unlink-${other}`);
  assert.equal(await exactCount("the list after unlinking", 251), 251);
  await app.shot("activity-detail-unlinked");
  // Link again: pick this row, then the copy that stands alone now.
  await d.click("link-start");
  await d.waitFor(() => d.find("link-banner"), "the pick-a-copy banner");
  // The count above scrolled to the end; the copy stands at its start time, near the top. Found
  // and clicked in one script: rows re-render as the list settles.
  await d.waitFor(
    () =>
      d.execute(
        "const l = document.querySelector('[data-testid=activity-list]'); if (l) l.scrollTop = 0;" +
          "const row = [...document.querySelectorAll('[data-testid=workout-row]')].find(r => r.dataset.activityId === arguments[0]);" +
          "if (row) row.click(); return Boolean(row);",
        [other],
      ),
    "the unlinked copy's row",
  );
  assert.equal(await exactCount("the list after linking", 250), 250);
  await app.shot("activity-detail");
});

// Issue 19, item 7: in "every copy" both rows of a pair carried the workout's two badges, and one
// start was on the activity's clock ("3:58 AM UTC−5") and the other on the viewer's, unlabelled.
test("every copy: each row names its own source, and every start says its zone", async () => {
  await d.click("filter-copies");
  const pair = await d.waitFor(
    () =>
      d.execute(
        "const rows = [...document.querySelectorAll('[data-testid=workout-row]')];" +
          "const w = rows.find(r => r.dataset.copies === '2')?.dataset.workoutId;" +
          "const both = rows.filter(r => w && r.dataset.workoutId === w);" +
          "return both.length === 2 ? both.map(r => [[...r.querySelectorAll('[data-testid^=badge-]:not([data-testid=badge-also])')].map(b => b.dataset.testid), r.querySelector('.when').textContent, r.querySelector('[data-testid=badge-also]')?.textContent ?? '']) : null",
      ),
    "a workout's two copies, each on its row",
  );
  assert.deepEqual(pair.map(([badges]) => badges.length), [1, 1], JSON.stringify(pair));
  assert.notEqual(pair[0][0][0], pair[1][0][0], `each row its own source: ${JSON.stringify(pair)}`);
  for (const [, started, also] of pair) {
    assert.match(started, /UTC([+−]\d{1,2}(:\d\d)?)?$/, `the zone said: ${started}`);
    assert.match(also, /^also /, "the other source named, not badged");
  }
  await d.click("filter-copies");
  await d.waitFor(async () => (await d.find("badge-also")) === null, "one row per workout again");
});

test("a column's head sorts the list, both ways", async () => {
  // The rows on screen, read as metres ("—" is none); the core sorts, the window shows its order.
  const shown = () =>
    d.execute(
      "return [...document.querySelectorAll('[data-testid=workout-row]')]" +
        ".sort((a, b) => Number(a.getAttribute('aria-posinset')) - Number(b.getAttribute('aria-posinset')))" +
        ".map(r => { const t = r.querySelectorAll('.num')[0].textContent.replace(/,/g, '');" +
        "  const n = parseFloat(t); return t === '—' ? null : t.endsWith(' km') ? n * 1000 : n; })",
    );
  // Any row without a distance must come last (the sandbox's all have one; the core's test has
  // rows without).
  const sorted = (ms, down) =>
    ms.length > 5 &&
    ms.every((m, i) => i === 0 || m === null || (ms[i - 1] !== null && (down ? ms[i - 1] >= m : ms[i - 1] <= m)));
  await d.click("sort-distance");
  const down = await d.waitFor(async () => {
    const ms = await shown();
    return sorted(ms, true) && (await d.text("activity-count"))?.includes("sorted by distance, farthest first") ? ms : null;
  }, "the list by distance, farthest first");
  await d.click("sort-distance");
  const up = await d.waitFor(async () => {
    const ms = await shown();
    return sorted(ms, false) && ms[0] !== down[0] ? ms : null;
  }, "the list by distance, shortest first");
  assert.ok(up[0] <= down[0], `${up[0]} then ${down[0]}`);
  await d.click("sort-start");
  await d.waitFor(async () => !(await d.text("activity-count"))?.includes("sorted by"), "back to the date");
});

test("every view, light and dark, at 1280×800 and at the 720×480 minimum: nothing that matters is cut", async () => {
  // The page's own colours, read back: the choice is applied (not only saved), and each theme
  // paints what styles.css says it does.
  const painted = { light: "rgb(244, 247, 247)", dark: "rgb(17, 26, 29)" };
  const look = () =>
    d.execute(
      "const s = getComputedStyle(document.documentElement);" +
        "return [document.documentElement.dataset.theme || '', s.backgroundColor];",
    );
  // What overflows: the page sideways, and in the list's rows on screen the start, the figures
  // and the sources (the name may give way: the detail says it whole). Hidden columns are
  // skipped; a cell cut shows its text.
  const cut = () =>
    d.execute(
      "const out = [];" +
        "if (document.documentElement.scrollWidth > window.innerWidth + 1) out.push('page ' + document.documentElement.scrollWidth + ' > ' + window.innerWidth);" +
        "for (const r of [...document.querySelectorAll('[data-testid=workout-row]')].slice(0, 6))" +
        "  for (const c of r.querySelectorAll('.when, .num, .badges'))" +
        "    if (c.offsetParent !== null && c.scrollWidth > c.clientWidth + 1) out.push(c.className + ': ' + c.textContent);" +
        "return out;",
    );
  const views = [
    ["dashboard", async () => { await d.click("nav-dashboard"); await d.waitFor(() => d.find("volume-chart"), "the weekly volume chart"); }],
    ["activities", async () => { await d.click("nav-activities"); await d.waitFor(() => d.find("workout-row"), "the activity list"); }],
    ["history", async () => { await d.click("nav-dashboard"); await d.click("history-strava"); await d.waitFor(() => d.find("history-chart-strava"), "the history chart"); }],
    ["providers", async () => { await d.click("nav-providers"); await d.waitFor(() => d.find("providers-intro"), "the providers"); }],
    ["settings", async () => { await d.click("nav-settings"); await d.waitFor(() => d.find("settings-theme"), "the settings"); }],
  ];
  const problems = [];
  try {
    for (const [width, height] of [[1280, 800], [720, 480]]) {
      await d.setSize(width, height);
      await d.waitFor(async () => (await d.execute("return window.innerWidth")) === width || null, `a window ${width} wide`);
      for (const theme of ["light", "dark"]) {
        await d.click("nav-settings");
        await d.setValue("settings-theme", theme);
        await d.waitFor(async () => (await look())[1] === painted[theme], `the ${theme} colours`);
        assert.deepEqual(await look(), [theme, painted[theme]]);
        for (const [view, open] of views) {
          await open();
          await sleep(300); // charts lay out after their first frame
          problems.push(...(await cut()).map((p) => `${view} ${width}×${height}: ${p}`));
          await app.shot(`${view}-${theme}-${width}x${height}`);
        }
      }
    }
  } finally {
    // The scenarios after this one start from the usual window, whatever happened here.
    await d.setSize(1100, 760);
    await d.click("nav-settings");
    await d.setValue("settings-theme", "system");
  }
  assert.deepEqual(problems, [], problems.join("\n"));
});

test("disconnect revokes and removes the connection", async () => {
  await d.click("nav-dashboard");
  await d.click("disconnect-strava");
  await d.click("disconnect-delete-strava");
  await d.waitFor(async () => (await state()) === "Not connected", "the card to reset");
  const notice = await d.text("notice");
  // Said only when it happened: the app says "Could not revoke" otherwise.
  assert.match(notice, /Access revoked at Strava\./);
  assert.doesNotMatch(notice, /Could not revoke/);
  assert.match(notice, /250 activities deleted/);
  const live = await (await fetch(`http://127.0.0.1:${app.sandboxPort}/_control/state`)).json();
  assert.equal(live.live?.strava?.refresh, 0, `no Strava grant is left alive at Strava: ${JSON.stringify(live.live)}`);
  assert.equal(await d.text("summary-activities"), "250", "Wahoo's copies stay");
});

test("Polar (AccessLink v4: Basic auth, refresh tokens) brings the whole history, then what arrives", async () => {
  await app.connect("polar", "Polar");
  // New connections use AccessLink v4: the whole history, not v3's 30 days after registering.
  await d.waitFor(async () => (await created("polar")) === SANDBOX_ACTIVITIES, "Polar's first sync: the whole history", 60_000);
  await app.control("upload", { start: new Date(Date.now() - 3 * 3600_000).toISOString() });
  await d.click("sync-polar");
  await d.waitFor(async () => (await created("polar")) === 1, "the new upload", 60_000);
  await d.click("sync-polar");
  await d.waitFor(async () => (await created("polar")) === 0, "a re-sync stores nothing twice", 60_000);
  assert.equal(await d.find("move-polar"), null, "a new connection is on v4 already");
  await app.shot("polar");
});

test("Google Health (loopback only for desktop clients) connects through a loopback redirect", async () => {
  await app.connect("google_health", "Google Health");
  assert.match(await d.text("notice"), /Connected to Fitbit \(Google Health API\)\./);
  // The sandbox has one workout more than it started with: the upload of the Polar case above.
  await d.waitFor(async () => (await created("google_health")) === SANDBOX_ACTIVITIES + 1, "Google's first sync", 60_000).catch(async (e) => {
    throw new Error(`${e.message}; the card: ${await d.text("card-google_health")}`);
  });
  const opened = readFileSync(app.browserLog, "utf8");
  assert.match(opened, /redirected to http:\/\/127\.0\.0\.1:\d+\/callback/, "a loopback redirect, not a deep link");
});

test("the demo's Garmin connects with a personal key, the door real mode uses", async () => {
  await d.click("nav-dashboard");
  assert.equal(await d.text("connect-garmin"), "Paste your key");
  await d.click("connect-garmin");
  await d.waitFor(() => d.find("demo-key-use-garmin"), "the demo's key offered");
  await d.click("demo-key-use-garmin");
  await d.click("key-connect-garmin");
  await d.click("nav-dashboard");
  await d.waitFor(async () => ((await state("garmin")) === "Active" ? true : null), "Garmin active");
  await d.waitFor(async () => ((await created("garmin")) ?? 0) > 0 || null, "Garmin's first sync stored activities", 60_000);
});

test("no token reaches the window, the logs or the database", async () => {
  const page = await d.pageSource();
  const logs = app.logs();
  const db = ["", "-wal"].map((s) => app.database + s).filter(existsSync).map((f) => readFileSync(f).toString("latin1")).join("");
  for (const [where, text] of [["the page", page], ["the app's log", logs], ["the database", db]]) {
    // Garmin's exchanged token holds an `sbx-at-` too.
    for (const secret of ["sbx-at-", "sbx-rt-", "sbx-code-", "sandbox-not-a-secret"]) {
      assert.ok(!text.includes(secret), `${secret}… found in ${where}`);
    }
    // The demo's personal key is shown in the window on purpose; once pasted it is a key like
    // any other: never logged, never stored but in the keyring.
    if (where !== "the page") assert.ok(!text.includes("sbx-gpk-"), `the personal key found in ${where}`);
  }
});
