// One end-to-end scenario's app: its own data directory and config, its own tauri-driver on free
// ports (so scenarios never share state or a port), the demo sandbox on a known port (to steer it
// through /_control), and helpers the scenarios share. scripts/e2e.sh provides the display, the
// D-Bus session with a keyring, and the fake notification server.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { tmpdir } from "node:os";
import { Driver } from "./webdriver.mjs";

export const APP = process.env.TRIBUTARY_APP_BIN;
export const BLANK = process.env.TRIBUTARY_BLANK_BIN;
export const ARTIFACTS = process.env.TRIBUTARY_E2E_ARTIFACTS ?? "artifacts/e2e";
export const NOTIFY_LOG = process.env.TRIBUTARY_NOTIFY_LOG;
/** While this file exists the stand-in notification server clicks what it shows. */
export const NOTIFY_CLICK_FLAG = process.env.TRIBUTARY_NOTIFY_CLICK_FLAG;
mkdirSync(ARTIFACTS, { recursive: true });

/** A free TCP port on loopback. */
/** Ports handed out by this runner: never the same one twice. */
const handedOut = new Set();

/** A port free to listen on, below Linux's ephemeral range (32768 and up): a port the kernel
 * picked for us could be picked again, as the local end of some outgoing connection, before the
 * app binds it ("Address already in use" at the app's start, seen once in a loaded run). */
export async function freePort() {
  for (let tries = 0; tries < 200; tries++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (handedOut.has(port)) continue;
    const free = await new Promise((resolve) => {
      const server = createServer();
      server.unref();
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
    if (free) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("no free port between 20000 and 32000");
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class App {
  /** `env`: extra environment for the app (it inherits the rest). */
  constructor(name, env = {}) {
    this.name = name;
    this.work = mkdtempSync(join(tmpdir(), `tributary-e2e-${name}-`));
    this.dataDir = join(this.work, "data");
    this.log = join(this.work, "app.log");
    this.browserLog = join(this.work, "browser.log");
    this.env = env;
    this.driver = null;
    this.tauriDriver = null;
  }

  async start(args = []) {
    this.sandboxPort = await freePort();
    const port = await freePort();
    const nativePort = await freePort();
    const env = {
      ...process.env,
      TRIBUTARY_DATA_DIR: this.dataDir,
      XDG_CONFIG_HOME: join(this.work, "config"),
      TRIBUTARY_MODE: "sandbox",
      TRIBUTARY_SANDBOX_PORT: String(this.sandboxPort),
      TRIBUTARY_E2E_LOG: this.browserLog,
      TRIBUTARY_LOG: "info,tributary_core=debug",
      ...this.env,
    };
    const out = [];
    this.tauriDriver = spawn("tauri-driver", ["--port", String(port), "--native-port", String(nativePort)], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.tauriDriver.stdout.on("data", (d) => out.push(d));
    this.tauriDriver.stderr.on("data", (d) => out.push(d));
    this.output = out;
    this.driver = new Driver(`http://127.0.0.1:${port}`);
    await this.driver.waitFor(async () => (await fetch(`http://127.0.0.1:${port}/status`)).ok, "tauri-driver", 15_000);
    const started = Date.now();
    await this.driver.start(APP, undefined, args);
    this.startedInMs = Date.now() - started;
    return this;
  }

  /** The app's (and driver's) output so far. */
  logs() {
    return Buffer.concat(this.output ?? []).toString("utf8");
  }

  async stop() {
    await this.driver?.stop();
    const driver = this.tauriDriver;
    // Only a driver still running will say "exit" (waiting on one that already exited hung);
    // one that ignores SIGTERM for 5 s is killed.
    if (driver && driver.exitCode === null && driver.signalCode === null) {
      const exited = new Promise((r) => driver.once("exit", r));
      driver.kill();
      const stubborn = setTimeout(() => driver.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(stubborn);
    }
    // The app is a tray agent: closing its window does not end it, and a session the driver
    // could not delete (a loaded machine) leaves it running, holding the single-instance name
    // (every later scenario's app would hand over to it and exit) and this runner's pipe. End
    // whatever still runs on this scenario's data directory.
    await this.endLeftovers();
    writeFileSync(join(ARTIFACTS, `${this.name}.log`), this.logs());
  }

  /** Processes started with this scenario's data directory, still running. */
  leftovers() {
    const mine = `TRIBUTARY_DATA_DIR=${this.dataDir}`;
    return readdirSync("/proc")
      .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(mine);
        } catch {
          return false; // gone, or not ours to read
        }
      })
      .map(Number);
  }

  async endLeftovers() {
    for (const signal of ["SIGTERM", "SIGKILL"]) {
      const left = this.leftovers();
      if (!left.length) return;
      for (const pid of left) {
        try {
          process.kill(pid, signal);
        } catch {
          // already gone
        }
      }
      await sleep(2000);
    }
  }

  /** Hand the app a URL the way the OS does: launch the binary with it (single instance forwards). */
  launchWith(...args) {
    const child = spawn(APP, args, {
      stdio: "ignore",
      env: { ...process.env, TRIBUTARY_DATA_DIR: this.dataDir, XDG_CONFIG_HOME: join(this.work, "config"), TRIBUTARY_MODE: "sandbox", ...this.env },
    });
    return new Promise((resolve) => child.on("exit", resolve));
  }

  async control(path, body = {}) {
    const r = await fetch(`http://127.0.0.1:${this.sandboxPort}/_control/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`control ${path}: ${r.status}`);
  }

  /** The app's database (demo mode keeps it under `sandbox/`). */
  get database() {
    return join(this.dataDir, "sandbox", "tributary.db");
  }

  /** Run SQL against the live database (Python's sqlite3; WAL lets it in beside the app). */
  sql(statement) {
    return new Promise((resolve, reject) => {
      const child = spawn("/usr/bin/python3", ["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1], timeout=10); c.execute(sys.argv[2]); c.commit()", this.database, statement], { stdio: "inherit" });
      child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`sql: ${code}`))));
    });
  }

  async shot(name) {
    writeFileSync(join(ARTIFACTS, `${name}.png`), await this.driver.screenshot());
  }

  /** Connect a provider through the stand-in browser and a deep link; wait for its card to turn active. */
  async connect(provider, label) {
    const d = this.driver;
    await d.click(`connect-${provider}`);
    // The sign-in shows on the card at once ("waiting for the browser…"), or it is already done.
    // A click that started nothing is recorded (a screenshot and a line in the browser log) and
    // made once more: one was seen lost once on a loaded machine, and the screenshot says what
    // the window showed.
    const started = async () =>
      (await d.find(`connecting-${provider}`)) || (await d.text(`state-${provider}`)) === "Active" ? true : null;
    try {
      await d.waitFor(started, `${label}'s sign-in to start`, 15_000);
    } catch {
      await this.shot(`connect-${provider}-not-started`);
      writeFileSync(this.browserLog, `test: the click on connect-${provider} started nothing; clicked again\n`, { flag: "a" });
      await d.click(`connect-${provider}`);
    }
    await d.waitFor(async () => (await d.text(`state-${provider}`)) === "Active", `${label} to turn active`, 60_000);
  }
}

/** Start a helper process (a standalone sandbox, a bus) and wait for the first line it prints:
 * its address. Returns the child and that line. */
export async function spawnHelper(command, args) {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "ignore"] });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`${command} exited (${code}) before printing its address`)));
  });
  return { child, line };
}

/** Proportional set size (KiB) summed over processes whose name starts with one of `prefixes`. */
export function pss(prefixes) {
  let total = 0;
  const names = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
      if (!prefixes.some((p) => comm.startsWith(p))) continue;
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      total += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      names.push(comm);
    } catch {
      // the process went away between listing and reading
    }
  }
  return { kib: total, processes: names };
}

export const APP_PROCESSES = ["tributary-deskt", "WebKitWebProces", "WebKitNetworkPr"];

/** Every process's name, state, parent and CPU seconds so far (utime + stime), from
 * /proc/<pid>/stat: "pid (comm) state ppid …", where comm may hold spaces and parentheses, so
 * the fields are read after the last ")". */
export function processes() {
  const found = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const fields = stat.slice(close + 2).split(" ");
      found.push({
        pid: Number(pid),
        comm: stat.slice(stat.indexOf("(") + 1, close),
        state: fields[0],
        ppid: Number(fields[1]),
        // fields 14 and 15 of stat, in clock ticks (USER_HZ, 100 on Linux)
        cpu: (Number(fields[11]) + Number(fields[12])) / 100,
      });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** The children of `parent` that ended and were never waited for (state Z), by name: `pss`
 * cannot see them (a zombie has no memory map), but each holds a process slot. */
export function zombies(parent) {
  return processes()
    .filter((p) => p.state === "Z" && p.ppid === parent)
    .map((p) => p.comm);
}

/** Wait until `probe` is truthy (polling), or fail after `ms`. */
export async function until(probe, what, ms = 30_000) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(150);
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

export function notifications() {
  if (!NOTIFY_LOG || !existsSync(NOTIFY_LOG)) return [];
  return readFileSync(NOTIFY_LOG, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

export const metricsFile = join(ARTIFACTS, "metrics.json");
export function recordMetrics(values) {
  const current = existsSync(metricsFile) ? JSON.parse(readFileSync(metricsFile, "utf8")) : {};
  writeFileSync(metricsFile, JSON.stringify({ ...current, ...values }, null, 2));
}

/** Whether a viewable top-level window titled `title` is on the X display (window-shown.py). */
export function windowShown(title = "Tributary") {
  try {
    execFileSync("/usr/bin/python3", [new URL("./window-shown.py", import.meta.url).pathname, title], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export { sleep };
