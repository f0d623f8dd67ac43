// A desktop that shows no tray icons (stock GNOME without the AppIndicator extension, a bare
// window manager): the app follows the tray host going away and coming back, says so in
// Settings, and closing the window asks whether to quit or keep syncing (issue 19, item 1).
// Before, the window hid as if a tray were there, said "Choose Quit there", and only `kill`
// stopped the agent. Last of the scenarios: it ends the session's stand-in tray.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { App, until, notifications, pss, windowShown } from "./app.mjs";

const app = new App("no-tray", { TRIBUTARY_SHED: "0", TRIBUTARY_IDLE_WEBVIEW_SECS: "600" });
let d;
let host = null;

const script = (name) => new URL(`./${name}`, import.meta.url).pathname;
/** Click a button that hides or ends the window, from the page and a moment later: a WebDriver
 * click waits on the window, which is gone before it can answer (seen once: a 60 s timeout). */
const clickAway = (testid) =>
  d.execute(
    "const b = document.querySelector('[data-testid=\"' + arguments[0] + '\"]'); if (b) setTimeout(() => b.click(), 200); return Boolean(b);",
    [testid],
  );
const tray = async () => {
  const el = await d.find("settings-tray");
  return el ? d.attribute(el, "data-tray") : null;
};
async function startTrayHost() {
  const child = spawn("/usr/bin/python3", [script("fake-tray-host.py")], { stdio: ["ignore", "pipe", "ignore"] });
  await new Promise((resolve) => createInterface({ input: child.stdout }).once("line", resolve));
  return child;
}

before(async () => {
  await app.start();
  d = app.driver;
  await d.waitFor(() => d.find("card-strava"), "the dashboard");
});

after(async () => {
  host?.kill();
  await app.stop();
});

test("the window follows the tray going away and coming back", async () => {
  await d.click("nav-settings");
  await d.waitFor(async () => (await tray()) === "true", "the session's tray seen");
  process.kill(Number(process.env.TRIBUTARY_TRAY_HOST_PID), "SIGTERM");
  await d.waitFor(async () => (await tray()) === "false", "the tray gone");
  assert.match((await d.text("settings-tray")) ?? "", /no tray icons/);
  assert.ok(await d.find("settings-quit"), "Settings offers Quit");
  host = await startTrayHost();
  await d.waitFor(async () => (await tray()) === "true", "a tray appearing");
  host.kill();
  host = null;
  await d.waitFor(async () => (await tray()) === "false", "the tray gone again");
});

test("without a tray, closing asks; keeping syncing hides it, and launching again brings it back", async () => {
  const before = notifications().length;
  execFileSync(script("close-window.py"), ["Tributary"]);
  await d.waitFor(() => d.find("close-ask"), "the question");
  assert.ok(windowShown(), "the window stays until answered");
  assert.ok(await clickAway("close-keep"), "the Keep syncing button");
  await until(() => !windowShown(), "the window to hide", 10_000);
  const told = await until(
    () => notifications().slice(before).find((n) => /keeps syncing/.test(n.summary)),
    "the first close's notice",
  );
  assert.doesNotMatch(told.body, /tray/, "no tray is named where there is none");
  assert.match(told.body, /Open Tributary again/);
  assert.ok(pss(["tributary-deskt"]).processes.length >= 1, "still syncing in the background");
  await app.launchWith();
  await until(() => windowShown(), "the window to come back", 20_000);
});

test("Quit in the question ends the app", async () => {
  execFileSync(script("close-window.py"), ["Tributary"]);
  await d.waitFor(() => d.find("close-ask"), "the question");
  assert.ok(await clickAway("close-quit"), "the Quit button");
  await until(() => pss(["tributary-deskt"]).processes.length === 0, "the app to end", 20_000);
});
