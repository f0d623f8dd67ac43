// The installed package, as a new user would meet it (run by scripts/install-test.sh inside Xvfb
// and a D-Bus session with an unlocked keyring, as that user): the app from /usr/bin opens its
// dashboard (the demo, with no provider credentials), and a sign-in redirect opened the three
// ways a desktop opens a link (plain xdg-open with no desktop detected, gio open, xdg-open with a
// desktop set) reaches the running instance, which says the link is not one it started and logs
// it without its query. The app writes no per-user scheme handler: the package's entry holds it.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Driver } from "./webdriver.mjs";

const APP = "/usr/bin/tributary-desktop";
const PORT = 4444;
const log = join(process.env.HOME, "app.log");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const out = [];
const tauriDriver = spawn(process.env.TAURI_DRIVER, ["--port", String(PORT), "--native-port", "4445"], {
  // Release builds accept WebDriver only when asked (tauri-runtime-wry reads this).
  env: { ...process.env, TAURI_WEBVIEW_AUTOMATION: "true", TRIBUTARY_LOG: "info" },
  stdio: ["ignore", "pipe", "pipe"],
});
tauriDriver.stdout.on("data", (d) => out.push(d));
tauriDriver.stderr.on("data", (d) => out.push(d));
const d = new Driver(`http://127.0.0.1:${PORT}`);
// Without colours: the log is matched as text.
const logs = () => Buffer.concat(out).toString("utf8").replace(/\x1b\[[0-9;]*m/g, "");

after(async () => {
  await d.stop();
  tauriDriver.kill();
  writeFileSync(log, logs());
});

test("the installed app opens its dashboard", async () => {
  await d.waitFor(async () => (await fetch(`http://127.0.0.1:${PORT}/status`).catch(() => null))?.ok, "tauri-driver", 15_000);
  await d.start(APP);
  await d.waitFor(() => d.find("demo-banner"), "the demo's banner", 60_000);
  await d.waitFor(() => d.find("card-strava"), "Strava's card", 30_000);
});

// A redirect no sign-in started: the app must refuse it, say so, and log it (never the query).
const opened = [];
async function openLink(how, command, args, env) {
  const link = `tributary://oauth/strava/callback?state=installed-${how}&code=secret-${how}`;
  const before = (logs().match(/a sign-in's redirect was refused/g) ?? []).length;
  const r = spawnSync(command, [...args, link], { env, encoding: "utf8", timeout: 30_000 });
  assert.equal(r.status, 0, `${how}: ${command} exited ${r.status}: ${r.stderr}`);
  await d.waitFor(
    async () => (logs().match(/a sign-in's redirect was refused/g) ?? []).length > before,
    `${how}: the running app receives the link`,
    30_000,
  );
  await d.waitFor(
    async () => /unknown or was already used/.test((await d.text("notice")) ?? ""),
    `${how}: the window says the link was refused`,
  );
  opened.push(how);
}

// No desktop detected: xdg-open's generic mode (the mode the deep-link plugin's quoted line broke).
const generic = { ...process.env };
for (const k of ["XDG_CURRENT_DESKTOP", "DESKTOP_SESSION", "KDE_FULL_SESSION", "GNOME_DESKTOP_SESSION_ID", "BROWSER"]) {
  delete generic[k];
}

test("a redirect opened with plain xdg-open reaches the running app", async () => {
  await openLink("xdg-open", "xdg-open", [], generic);
});

test("a redirect opened with gio open reaches the running app", async () => {
  await openLink("gio", "gio", ["open"], generic);
});

test("a redirect opened with xdg-open on a desktop reaches the running app", async () => {
  await openLink("desktop", "xdg-open", [], { ...generic, XDG_CURRENT_DESKTOP: "GNOME" });
});

test("the log names the refused links without their codes", () => {
  assert.equal(opened.length, 3, `every way was tried: ${opened}`);
  const text = logs();
  assert.match(text, /link=tributary:\/\/oauth\/strava\/callback/);
  assert.doesNotMatch(text, /secret-/, "a link's code reached the log");
});

test("the app wrote no per-user scheme handler", () => {
  const handler = join(process.env.HOME, ".local/share/applications/tributary-desktop-handler.desktop");
  assert.ok(!existsSync(handler), existsSync(handler) ? readFileSync(handler, "utf8") : "");
  assert.match(logs(), /registered by the installed desktop entry/);
});
