// No keyring: the app on a session bus where no Secret Service exists (and none can be started),
// with no mode chosen. It must not turn into the demo: it opens for real accounts and says why no
// sign-in can work, with the fix; every way to store a secret is disabled.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { App, spawnHelper } from "./app.mjs";

let bus;
let app;
let d;

before(async () => {
  let address;
  ({ child: bus, line: address } = await spawnHelper("dbus-daemon", [
    "--config-file",
    new URL("./bare-session.conf", import.meta.url).pathname,
    "--print-address=1",
    "--nofork",
  ]));
  // No TRIBUTARY_MODE: the app decides, as on an athlete's first start.
  app = new App("no-keyring", { TRIBUTARY_MODE: "", DBUS_SESSION_BUS_ADDRESS: address });
  await app.start();
  d = app.driver;
  await d.waitFor(() => d.find("card-strava"), "the dashboard");
});

after(async () => {
  await app?.stop();
  bus?.kill();
});

test("a missing keyring is said, with the fix, and is not turned into the demo", async () => {
  const banner = await d.waitFor(() => d.text("keyring-problem"), "the keyring banner");
  assert.match(banner, /Tokens cannot be kept/);
  assert.match(banner, /keyring|Secret Service/i, banner);
  assert.equal(await d.find("demo-banner"), null, "not the demo");
  await d.click("nav-settings");
  assert.match(await d.waitFor(() => d.text("settings-mode"), "the mode"), /Real accounts/);
  await d.click("nav-providers");
  // Nothing that would store a secret can be used, and each says why.
  assert.match(await d.waitFor(() => d.text("wizard-strava"), "Strava's wizard section"), /needs a working keyring/);
  await d.setValue("settings-client-id-strava", "an-id");
  await d.setValue("settings-client-secret-strava", "a-secret");
  await new Promise((r) => setTimeout(r, 500)); // the form has re-rendered with both fields filled
  const save = await d.find("wizard-save-strava");
  assert.notEqual(await d.attribute(save, "disabled"), null, "Save stays disabled without a keyring");
  await app.shot("no-keyring");
});
