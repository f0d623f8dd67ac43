// The providers' doors in the real window, on the sandbox: Strava makes the API application
// inactive (the twin's control, as Strava does when the application's owner has no
// subscription); the card says so in its own state, offers the application's page and a retry,
// never a sign-in; re-activated, a retry clears it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { App } from "./app.mjs";

const app = new App("doors");
let d;

before(async () => {
  await app.start();
  d = app.driver;
  await d.waitFor(() => d.find("card-strava"), "the dashboard");
});

after(async () => {
  await app.stop();
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
