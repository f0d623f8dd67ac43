// The tray agent in the real app: it syncs on its own schedule with nobody clicking; a
// rate-limited card's button comes back by itself when the limit ends; the first close to the tray
// is said once; a revoked connection raises one notification per episode (not one per run) and a
// banner, and clicking the notification opens the window on that connection; closing the window
// keeps the agent running, and launching the app again brings the window back.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { App, NOTIFY_CLICK_FLAG, until, sleep, notifications, pss, windowShown } from "./app.mjs";

const INTERVAL_S = 6;
// Webview release is the footprint scenario's subject; here the window must survive hiding.
const app = new App("agent", { TRIBUTARY_SYNC_INTERVAL: `${INTERVAL_S}s`, TRIBUTARY_SHED: "0", TRIBUTARY_IDLE_WEBVIEW_SECS: "600" });
let d;

const script = (name) => new URL(`./${name}`, import.meta.url).pathname;
const triggers = async () => {
  const rows = await d.findAll("history-row");
  return Promise.all(rows.map((r) => d.attribute(r, "data-trigger")));
};

before(async () => {
  await app.start();
  d = app.driver;
  await d.waitFor(() => d.find("card-strava"), "the dashboard");
  await app.connect("strava", "Strava");
  await d.waitFor(async () => /(?:^|· )250 new/.test((await d.text("last-sync-strava")) ?? ""), "the first sync", 60_000);
});

after(async () => {
  await app.stop();
});

test("the agent syncs on its schedule with nobody clicking", async () => {
  await d.click("history-strava");
  const seen = await d.waitFor(async () => {
    const t = await triggers();
    return t.includes("scheduled") ? t : null;
  }, "a scheduled run in the history", (INTERVAL_S * 4 + 30) * 1000);
  assert.equal(seen.at(-1), "after_connect", `oldest last: ${seen}`);
  assert.ok(await d.find("next-run-strava"), "the card says when the next run is");
});

test("a rate-limited card's button comes back by itself when the limit ends", async () => {
  const until_ = Date.now() + 8_000;
  await app.sql(
    `UPDATE provider_connections SET state = 'rate_limited', rate_limited_until = ${until_} WHERE provider = 'strava'`,
  );
  await d.refresh();
  await d.waitFor(async () => (await d.text("state-strava")) === "Rate-limited", "the rate-limited card");
  const button = await d.find("sync-strava");
  assert.equal(await d.attribute(button, "disabled"), "true", "no Sync now while limited");
  await d.waitFor(async () => {
    const b = await d.find("sync-strava");
    return b && (await d.attribute(b, "disabled")) === null;
  }, "the button to come back without a reload", 20_000);
});

test("closed to the tray, said once; a revoked connection raises one notification, and clicking it opens the app on that connection", async () => {
  // Hidden in the tray, as the agent usually is; the first close says so, once.
  const atStart = notifications().length;
  execFileSync(script("close-window.py"), ["Tributary"]);
  await until(() => !windowShown(), "the window to hide", 10_000);
  const told = await until(() => notifications().slice(atStart).find((n) => /keeps syncing/.test(n.summary)), "the first close's notice");
  assert.match(told.body, /tray/);
  const before = notifications().length;
  // From now on the stand-in server clicks what it shows, as the athlete would.
  writeFileSync(NOTIFY_CLICK_FLAG, "");
  try {
    await app.control("faults", { provider: "strava", kind: "revoke", count: 1 });
    await until(() => windowShown(), "the notification's click to open the window", (INTERVAL_S * 4 + 30) * 1000);
    await d.waitFor(async () => (await d.execute("return location.hash")) === "#/history/strava", "the window on Strava's history");
  } finally {
    rmSync(NOTIFY_CLICK_FLAG, { force: true });
  }
  await d.click("nav-dashboard");
  await d.waitFor(async () => (await d.text("state-strava")) === "Needs re-authorisation", "needs re-authorisation", (INTERVAL_S * 4 + 30) * 1000);
  assert.match((await d.text("attention-banner")) ?? "", /Strava/);
  assert.ok(await d.find("reauth-strava"), "one click to re-authorize");
  // Several more intervals: the episode is still open, and it still made one notification.
  await sleep(INTERVAL_S * 3 * 1000);
  const raised = notifications().slice(before);
  assert.equal(raised.length, 1, `one notification per episode: ${JSON.stringify(raised)}`);
  assert.match(`${raised[0].summary} ${raised[0].body}`, /Strava/);
  for (const secret of ["sbx-at-", "sbx-rt-"]) {
    assert.ok(!JSON.stringify(raised).includes(secret), "no token in a notification");
  }
});

test("closing the window keeps the agent running; launching the app again brings it back", async () => {
  const before = notifications().length;
  execFileSync(script("close-window.py"), ["Tributary"]);
  await until(() => !windowShown(), "the window to hide", 10_000);
  // The app's own process, not the driver's: hidden, it is still there (the tray agent).
  await sleep(1000);
  assert.ok(pss(["tributary-deskt"]).processes.length >= 1, "the app is still running while hidden");
  await app.launchWith();
  await until(() => windowShown(), "the window to come back", 20_000);
  assert.ok(await d.find("card-strava"), "the same dashboard, alive");
  assert.ok(!notifications().slice(before).some((n) => /keeps syncing/.test(n.summary)), "going to the tray is said once, not at every close");
});
