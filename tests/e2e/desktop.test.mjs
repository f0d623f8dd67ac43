// End to end: the real app binary in a real WebKit window (Xvfb), driven through tauri-driver,
// in sandbox mode. Run by scripts/e2e.sh, which provides the display, D-Bus, keyring and driver.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { Driver } from "./webdriver.mjs";

const app = process.env.TRIBUTARY_APP_BIN;
const artifacts = process.env.TRIBUTARY_E2E_ARTIFACTS ?? "artifacts/e2e";
const SANDBOX_ACTIVITIES = 250; // the demo sandbox's data set
const driver = new Driver(process.env.TAURI_DRIVER_URL ?? "http://127.0.0.1:4444");

mkdirSync(artifacts, { recursive: true });
const shot = async (name) => writeFileSync(`${artifacts}/${name}.png`, await driver.screenshot());

/** Hand the app a URL the way the OS does: launch the binary with it (single instance forwards). */
function openDeepLink(url) {
  const child = spawn(app, [url], { stdio: "ignore" });
  return new Promise((resolve) => child.on("exit", resolve));
}

const state = () => driver.text("state-strava");
const historyRows = async () => {
  const rows = await driver.findAll("history-row");
  return Promise.all(rows.map(async (r) => ({ status: await driver.attribute(r, "data-status"), text: await driver.elementText(r) })));
};

const metrics = {};

/** Proportional set size (KiB) summed over the app and its WebKit helper processes. */
function pssKiB() {
  let total = 0;
  const names = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
      if (!/^(tributary-deskt|WebKitWebProces|WebKitNetworkPr)/.test(comm)) continue;
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      total += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      names.push(comm);
    } catch {
      // the process went away between listing and reading
    }
  }
  return { total, processes: names.length };
}

before(async () => {
  assert.ok(app, "TRIBUTARY_APP_BIN names the app binary");
  const started = Date.now();
  await driver.start(app);
  await driver.waitFor(() => driver.find("card-strava"), "the dashboard");
  metrics.cold_start_to_dashboard_ms = Date.now() - started;
});

after(async () => {
  await driver.stop();
  writeFileSync(`${artifacts}/metrics.json`, JSON.stringify(metrics, null, 2));
  console.log("metrics", JSON.stringify(metrics));
});

test("demo mode is labelled and all six providers are shown", async () => {
  assert.match(await driver.text("demo-banner"), /Demo mode/);
  for (const p of ["strava", "garmin", "polar", "coros", "wahoo", "google_health"]) {
    assert.ok(await driver.find(`card-${p}`), `${p} card`);
  }
  assert.equal(await state(), "Not connected");
  await shot("dashboard-empty");
  await new Promise((r) => setTimeout(r, 3000)); // let it settle before measuring idle memory
  const idle = pssKiB();
  metrics.idle_pss_mib = Math.round(idle.total / 1024);
  metrics.idle_processes = idle.processes;
});

test("connect through the browser and a deep link, then the first sync runs", async () => {
  await driver.click("connect-strava");
  await driver.waitFor(async () => (await state()) === "Active", "the card to turn active", 60_000);
  assert.match(await driver.text("notice"), /Connected to Strava\./);
  // The first sync starts right after connecting.
  await driver.waitFor(async () => /250 new/.test((await driver.text("last-sync-strava")) ?? ""), "the first sync", 60_000);
});

test("the dashboard after connecting", async () => {
  await shot("dashboard");
});

test("sync now, and the history shows a success row with every sandbox activity created", async () => {
  await driver.click("sync-strava");
  await driver.waitFor(async () => /0 new/.test((await driver.text("last-sync-strava")) ?? ""), "the manual sync to finish", 60_000);
  await driver.click("history-strava");
  const rows = await driver.waitFor(async () => {
    const r = await historyRows();
    return r.length >= 2 ? r : null;
  }, "two history rows");
  assert.ok(rows.every((r) => r.status === "success"), JSON.stringify(rows));
  const createdCells = await Promise.all((await driver.findAll("history-created")).map((c) => driver.elementText(c)));
  assert.deepEqual(createdCells, ["0", String(SANDBOX_ACTIVITIES)], "newest first: the re-sync created none, the first all");
  assert.equal(await driver.text("summary-activities"), String(SANDBOX_ACTIVITIES));
  await shot("history");
});

test("toggle off and on", async () => {
  await driver.click("toggle-strava");
  await driver.waitFor(async () => (await state()) === "Disabled", "disabled");
  await driver.click("toggle-strava");
  await driver.waitFor(async () => (await state()) === "Active", "active again");
});

test("a bad or replayed deep link shows an error and changes nothing", async () => {
  const before = (await historyRows()).length;
  await openDeepLink("tributary://oauth/strava/callback?state=forged&code=stolen");
  await driver.waitFor(async () => /unknown or was already used/.test((await driver.text("notice")) ?? ""), "the rejection notice");
  await openDeepLink("tributary://not-a-thing");
  await driver.waitFor(async () => /does not understand/.test((await driver.text("notice")) ?? ""), "the unknown-link notice");
  assert.equal(await state(), "Active");
  assert.equal((await historyRows()).length, before);
  await shot("bad-deep-link");
});

test("disconnect revokes and removes the connection", async () => {
  await driver.click("disconnect-strava");
  await driver.click("disconnect-delete-strava");
  await driver.waitFor(async () => (await state()) === "Not connected", "the card to reset");
  assert.match(await driver.text("notice"), /250 activities deleted/);
  assert.equal(await driver.text("summary-activities"), "0");
});

test("Polar (Basic auth, no refresh token) connects and syncs through the same window", async () => {
  await driver.click("connect-polar");
  await driver.waitFor(async () => (await driver.text("state-polar")) === "Active", "Polar to turn active", 60_000);
  await driver.waitFor(async () => / new/.test((await driver.text("last-sync-polar")) ?? ""), "Polar's first sync", 60_000);
  await driver.click("history-polar");
  const created = await driver.waitFor(async () => {
    const cells = await driver.findAll("history-created");
    return cells.length ? driver.elementText(cells[0]) : null;
  }, "Polar's history");
  assert.ok(Number(created) > 0, `Polar's last 30 days were imported (${created})`);
  assert.equal(await driver.text("summary-activities"), created, "Strava is gone, so every activity is Polar's");
  await shot("polar");
});

test("Wahoo (OAuth2 + PKCE, rotating refresh tokens) connects and syncs through the same window", async () => {
  await driver.click("connect-wahoo");
  await driver.waitFor(async () => (await driver.text("state-wahoo")) === "Active", "Wahoo to turn active", 60_000);
  await driver.waitFor(async () => /250 new/.test((await driver.text("last-sync-wahoo")) ?? ""), "Wahoo's first sync", 60_000);
  await driver.click("history-wahoo");
  await driver.waitFor(async () => {
    const cells = await driver.findAll("history-created");
    return cells.length === 1 && (await driver.elementText(cells[0])) === String(SANDBOX_ACTIVITIES);
  }, "Wahoo's history row with every sandbox workout");
  await shot("wahoo");
});

test("a cold start with a deep link hands it to the core (a stale link is refused)", async () => {
  await driver.stop();
  const started = Date.now();
  await driver.start(app, undefined, ["tributary://oauth/strava/callback?state=from-a-closed-app&code=x"]);
  await driver.waitFor(() => driver.find("card-strava"), "the dashboard");
  metrics.cold_start_with_link_ms = Date.now() - started;
  await driver.waitFor(async () => /unknown or was already used/.test((await driver.text("notice")) ?? ""), "the cold-start link's outcome");
  assert.equal(await state(), "Not connected", "nothing changed");
});
