// Real mode, from nothing to a synced connection without the CLI or environment variables for
// credentials: the app runs against "real" endpoints (a standalone sandbox, pointed at by the
// TRIBUTARY_STRAVA_*_URL variables, as a real provider would be by default), the athlete enters
// the API credentials in the wizard, tests them, connects, syncs; then the access token runs out
// at the provider and the disconnect still revokes — and says so only because it did.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { App, freePort, spawnHelper } from "./app.mjs";

const SANDBOX_BIN = process.env.TRIBUTARY_SANDBOX_BIN;
let sandbox;
let base;
let app;
let d;

before(async () => {
  const port = await freePort();
  ({ child: sandbox, line: base } = await spawnHelper(SANDBOX_BIN, ["--port", String(port), "--activities", "60"]));
  app = new App("real-mode", {
    TRIBUTARY_MODE: "real",
    TRIBUTARY_STRAVA_AUTH_URL: `${base}/strava/oauth/authorize`,
    TRIBUTARY_STRAVA_TOKEN_URL: `${base}/strava/oauth/token`,
    TRIBUTARY_STRAVA_API_URL: `${base}/strava/api/v3`,
  });
  await app.start();
  d = app.driver;
  await d.waitFor(() => d.find("card-strava"), "the dashboard");
});

after(async () => {
  await app?.stop();
  sandbox?.kill();
});

/** Click a button once it is enabled. */
const clickEnabled = async (testid) => {
  const el = await d.waitFor(async () => {
    const b = await d.find(testid);
    return b && (await d.attribute(b, "disabled")) === null ? b : null;
  }, `${testid} enabled`);
  await d.elementClick(el);
};

const control = async (path, body = {}) => {
  const r = await fetch(`${base}/_control/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.ok(r.ok, `control ${path}`);
};

test("real mode says so, and Strava needs the athlete's own API app", async () => {
  assert.equal(await d.find("demo-banner"), null, "no demo banner in real mode");
  assert.ok(await d.find("credentials-strava"), "the card leads to the credentials");
  await d.click("nav-settings");
  await d.waitFor(() => d.find("settings-mode"), "the mode");
  assert.match(await d.text("settings-mode"), /Real accounts/);
  // Set-up has its own view, apart from the app's settings (issue 19, item 6).
  assert.equal(await d.find("wizard-strava"), null, "no provider guide among the general settings");
  await d.click("nav-providers");
  await d.waitFor(() => d.find("wizard-strava"), "Strava's wizard section");
  assert.match(await d.text("wizard-callback-strava"), /localhost/, "the callback domain to paste");
});

test("wrong credentials are refused by the Test, the right ones accepted", async () => {
  const enter = async (secret) => {
    await d.setValue("settings-client-id-strava", "tributary-demo");
    await d.setValue("settings-client-secret-strava", secret);
    // The form re-renders after the input events: click Save once it is enabled, and Test once
    // the credentials are stored (each is disabled before).
    await clickEnabled("wizard-save-strava");
    await d.waitFor(async () => /^configured/.test((await d.text("wizard-stored-strava")) ?? ""), "the credentials stored");
    await d.waitFor(async () => (await d.find("wizard-test-result-strava")) === null, "the old verdict cleared");
    await clickEnabled("wizard-test-strava");
  };
  const verdict = () =>
    d.waitFor(async () => {
      const el = await d.find("wizard-test-result-strava");
      const v = el ? await d.attribute(el, "data-accepted") : null;
      return v && v !== "pending" ? v : null;
    }, "the test's verdict");
  await enter("not-the-secret");
  assert.equal(await verdict(), "false");
  await enter("sandbox-not-a-secret");
  await d.waitFor(async () => {
    const el = await d.find("wizard-test-result-strava");
    return el && (await d.attribute(el, "data-accepted")) === "true";
  }, "the credentials accepted");
  await app.shot("wizard");
});

test("connect through the browser and the first sync runs", async () => {
  await d.click("nav-dashboard");
  await app.connect("strava", "Strava");
  await d.waitFor(async () => /(?:^|· )60 new/.test((await d.text("last-sync-strava")) ?? ""), "the first sync", 60_000);
});

test("after the access token expired, disconnect still revokes, and says so", async () => {
  await control("expire_tokens", { provider: "strava" });
  await d.click("disconnect-strava");
  await d.click("disconnect-delete-strava");
  await d.waitFor(async () => (await d.text("state-strava")) === "Not connected", "the card to reset");
  assert.match(await d.text("notice"), /revoked at Strava/i);
  const state = await (await fetch(`${base}/_control/state`)).json();
  assert.deepEqual(state.live.strava, { access: 0, refresh: 0 }, "nothing left alive at the provider");
});
