// The providers' doors in the real window, on the sandbox: Strava makes the API application
// inactive (the twin's control, as Strava does when the application's owner has no
// subscription); the card says so in its own state, offers the application's page and a retry,
// never a sign-in; re-activated, a retry clears it. Then, in an app whose browser cannot be
// opened, the card shows the sign-in page's link to open by hand, and the sign-in completes
// from it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { App } from "./app.mjs";

const app = new App("doors");
let d;
let stopped = false;

before(async () => {
  await app.start();
  d = app.driver;
  await d.waitFor(() => d.find("card-strava"), "the dashboard");
});

after(async () => {
  if (!stopped) await app.stop();
});

test("an inactive Strava application is its own state, and a retry clears it once re-activated", async () => {
  await app.connect("strava", "Strava");
  await d.waitFor(async () => /250 new/.test((await d.text("last-sync-strava")) ?? ""), "Strava's first sync", 60_000);
  await app.control("app_status", { provider: "strava", active: false });
  await d.click("sync-strava");
  const state = await d.waitFor(async () => {
    const s = await d.text("state-strava");
    return s === "API application inactive" ? s : null;
  }, "the inactive state", 60_000);
  assert.equal(state, "API application inactive");
  const said = await d.text("error-strava");
  assert.match(said ?? "", /inactive/);
  assert.match(said ?? "", /https:\/\/www\.strava\.com\/settings\/api/);
  assert.equal(await d.find("reauth-strava"), null, "never asked to sign in again");
  assert.equal(await d.text("app-settings-strava"), "Open Strava's API settings");
  assert.equal(await d.text("sync-strava"), "Try again");
  await app.shot("app-inactive");
  await app.control("app_status", { provider: "strava", active: true });
  await d.click("sync-strava");
  await d.waitFor(async () => ((await d.text("state-strava")) === "Active" ? true : null), "Active again", 60_000);
  assert.equal(await d.text("sync-strava"), "Sync now");
});

test("with no browser, the card shows the sign-in link to open by hand, and it completes the sign-in", async () => {
  stopped = true;
  await app.stop();
  // xdg-open hands web pages to $BROWSER here: one that fails, as on a machine with no browser.
  const bare = new App("no-browser", { BROWSER: "/bin/false" });
  await bare.start();
  try {
    const b = bare.driver;
    await b.waitFor(() => b.find("card-wahoo"), "the dashboard");
    await b.click("connect-wahoo");
    const link = await b.waitFor(() => b.text("sign-in-link-wahoo"), "the sign-in link");
    assert.match(link, /^http:\/\/127\.0\.0\.1:\d+\/wahoo\//, link);
    const notice = (await b.text("notice")) ?? "";
    assert.match(notice, /No browser could be opened/);
    assert.doesNotMatch(notice, /xdg-open|unix_wait_status|Launcher/, notice);
    assert.match((await b.text("sign-in-wahoo")) ?? "", /asks to open Tributary/);
    await bare.shot("no-browser");
    // The athlete opens it in a browser of their own: the stand-in approves and hands the
    // redirect to the app as the OS would.
    spawn(process.env.BROWSER, [link], {
      stdio: "ignore",
      env: { ...process.env, TRIBUTARY_E2E_LOG: bare.browserLog },
    });
    await b.waitFor(async () => ((await b.text("state-wahoo")) === "Active" ? true : null), "Wahoo connected", 60_000);
  } finally {
    await bare.stop();
  }
});
