// The tray agent's idle footprint, measured side by side in one run with one build profile:
// the app with its window open; the same app hidden in the tray after it released its webview
// (and started afresh as the tray agent alone); and a blank Tauri 2 window. Also: reopening
// brings the dashboard back, and how long it takes. No WebDriver here: its automation session
// cannot follow the app across the fresh start, so the window is seen through X11 and the app's
// own log ("dashboard shown after open", reported by the UI).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { APP, BLANK, ARTIFACTS, APP_PROCESSES, pss, until, sleep, recordMetrics, windowShown, zombies } from "./app.mjs";

const SETTLE_MS = 5000;
const mib = (kib) => Math.round(kib / 1024);

test("the tray-idle app gives its window's memory back, and reopening brings the dashboard", { timeout: 180_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), "tributary-footprint-"));
  const logFile = join(work, "app.log");
  const env = {
    ...process.env,
    TRIBUTARY_DATA_DIR: join(work, "data"),
    XDG_CONFIG_HOME: join(work, "config"),
    TRIBUTARY_MODE: "sandbox",
    TRIBUTARY_IDLE_WEBVIEW_SECS: "3",
    TRIBUTARY_LOG: "info",
  };
  const chunks = [];
  const app = spawn(APP, [], { env, stdio: ["ignore", "ignore", "pipe"] });
  app.stderr.on("data", (d) => chunks.push(d));
  const log = () => Buffer.concat(chunks).toString("utf8");
  try {
    await until(() => log().includes("dashboard shown after open"), "the dashboard", 60_000);
    assert.ok(windowShown("Tributary"), "the window is on screen");
    await sleep(SETTLE_MS);
    const open = pss(APP_PROCESSES);

    execFileSync(new URL("./close-window.py", import.meta.url).pathname, ["Tributary"]);
    await until(() => !windowShown("Tributary"), "the window to hide", 10_000);
    await until(() => log().includes("starting afresh as the tray agent alone"), "the webview's release and a fresh start", 60_000);
    // The fresh image logs its own start-up; then it settles.
    const restarts = () => log().split("running the sandbox demo").length - 1;
    await until(() => restarts() >= 2, "the fresh start", 30_000);
    await sleep(SETTLE_MS);
    const idle = pss(APP_PROCESSES);
    assert.equal(app.exitCode, null, "still running: the agent keeps syncing");
    assert.ok(!idle.processes.includes("WebKitWebProces"), `no web process while hidden: ${idle.processes}`);
    // The fresh image never opened a window: WebKit's network process is gone too (the reason
    // for starting afresh), and the hidden agent holds far less than the open window.
    assert.ok(!idle.processes.includes("WebKitNetworkPr"), `no network process while hidden: ${idle.processes}`);
    assert.ok(idle.kib < open.kib / 2, `hidden ${mib(idle.kib)} MiB against ${mib(open.kib)} MiB open`);
    // The old image's WebKit processes ended after the fresh start: someone waited for them
    // (issue 19 item 9 saw two left as zombies).
    await sleep(2000);
    assert.deepEqual(zombies(app.pid), [], "no child left unreaped");

    const shownBefore = log().split("dashboard shown after open").length;
    const opened = Date.now();
    spawn(APP, [], { env, stdio: "ignore" }); // launching it again, as from the desktop
    await until(() => log().split("dashboard shown after open").length > shownBefore, "the dashboard again", 30_000);
    const wall = Date.now() - opened;
    const reported = [...log().matchAll(/ms=(\d+)[^\n]*dashboard shown after open|dashboard shown after open[^\n]*ms=(\d+)/g)].pop();
    const reopenMs = Number(reported?.[1] ?? reported?.[2] ?? wall);
    assert.ok(windowShown("Tributary"), "the window is back");

    app.kill("SIGTERM");
    await new Promise((r) => app.once("exit", r));

    let blank = { kib: 0, processes: [] };
    if (BLANK) {
      const b = spawn(BLANK, [], { env, stdio: "ignore" });
      await until(() => windowShown("blank"), "the blank window", 30_000);
      await sleep(SETTLE_MS);
      blank = pss(["blank", "WebKitWebProces", "WebKitNetworkPr"]);
      b.kill("SIGTERM");
      await new Promise((r) => b.once("exit", r));
    }
    const metrics = {
      profile: process.env.TRIBUTARY_PROFILE ?? "debug",
      window_open_pss_mib: mib(open.kib),
      window_open_processes: open.processes,
      tray_idle_pss_mib: mib(idle.kib),
      tray_idle_processes: idle.processes,
      blank_window_pss_mib: mib(blank.kib),
      tray_idle_over_window_open: Number((idle.kib / open.kib).toFixed(3)),
      tray_idle_under_blank_window: blank.kib ? idle.kib < blank.kib : null,
      reopen_to_dashboard_ms: reopenMs,
      reopen_wall_ms: wall,
    };
    recordMetrics({ footprint: metrics });
    writeFileSync(join(ARTIFACTS, "footprint.log"), log());
    console.log("footprint", JSON.stringify(metrics));
  } finally {
    if (app.exitCode === null) app.kill("SIGKILL");
  }
});
