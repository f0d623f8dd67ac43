// A minimal W3C WebDriver client over Node's fetch (undici keeps connections alive, which
// tauri-driver needs: a new connection per command was seen failing with resets).
// A W3C element reference is an object with one key (the spec's element identifier).
const ref = (found) => Object.values(found)[0];

export class Driver {
  constructor(base) {
    this.base = base;
    this.session = null;
  }

  async call(method, path, body) {
    const url = `${this.base}${this.session && !path.startsWith("/session") ? `/session/${this.session}` : ""}${path}`;
    const response = await fetch(url, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      // No command takes this long; a driver that stopped answering must fail the case, not hang
      // the file until the runner's timeout.
      signal: AbortSignal.timeout(60_000),
    });
    const json = await response.json();
    if (!response.ok) throw new Error(`${method} ${path}: ${JSON.stringify(json.value ?? json)}`);
    return json.value;
  }

  async start(application, env, args) {
    const options = { application, ...(env ? { env } : {}), ...(args ? { args } : {}) };
    const value = await this.call("POST", "/session", {
      capabilities: { alwaysMatch: { "tauri:options": options } },
    });
    this.session = value.sessionId;
  }

  async stop() {
    if (this.session) await this.call("DELETE", `/session/${this.session}`).catch(() => {});
    this.session = null;
  }

  async find(testid) {
    const found = await this.call("POST", "/elements", { using: "css selector", value: `[data-testid="${testid}"]` });
    return found.length ? ref(found[0]) : null;
  }

  async findAll(testid) {
    const found = await this.call("POST", "/elements", { using: "css selector", value: `[data-testid="${testid}"]` });
    return found.map(ref);
  }

  async text(testid) {
    const el = await this.find(testid);
    return el ? this.call("GET", `/element/${el}/text`) : null;
  }

  async attribute(el, name) {
    return this.call("GET", `/element/${el}/attribute/${name}`);
  }

  async elementText(el) {
    return this.call("GET", `/element/${el}/text`);
  }

  /** An element reference as a script argument. */
  wrap(el) {
    return { "element-6066-11e4-a52e-4f735466cecc": el };
  }

  async elementClick(el) {
    await this.call("POST", `/element/${el}/click`, {});
  }

  async click(testid) {
    // A pane still laying out (the activity's detail draws its map and charts after it opens)
    // can move the element between the scroll and the click: WebKitWebDriver then answers "element
    // not interactable" (seen once in CI). Found, scrolled and clicked again, a few times.
    for (let attempt = 1; ; attempt++) {
      const el = await this.waitFor(() => this.find(testid), `${testid} to appear`);
      // WebKitWebDriver scrolls the page to an element, not a scrolling pane inside it (the
      // activity's detail): bring it into view as an athlete would, then click.
      await this.execute(
        "const e = document.querySelector('[data-testid=\"' + arguments[0] + '\"]'); if (e) e.scrollIntoView({ block: 'center' });",
        [testid],
      );
      try {
        await this.call("POST", `/element/${el}/click`, {});
        return;
      } catch (e) {
        if (attempt >= 4 || !/element not interactable|stale element/.test(String(e))) throw e;
        await new Promise((r) => setTimeout(r, 250 * attempt));
      }
    }
  }

  /** Run `script` in the page (W3C "Execute Script"); returns its value. */
  /** Resize the window (W3C Set Window Rect). */
  async setSize(width, height) {
    return this.call("POST", "/window/rect", { width, height });
  }

  async execute(script, args = []) {
    return this.call("POST", "/execute/sync", { script, args });
  }

  async windowHandles() {
    return this.call("GET", "/window/handles");
  }

  async switchTo(handle) {
    return this.call("POST", "/window", { handle });
  }

  /** Close the current window the way the window manager's close button does. */
  async closeWindow() {
    return this.call("DELETE", "/window");
  }

  async refresh() {
    return this.call("POST", "/refresh", {});
  }

  async pageSource() {
    return this.call("GET", "/source");
  }

  /** Set an input's or a select's value as typing or choosing would (input and change events). */
  async setValue(testid, value) {
    await this.waitFor(() => this.find(testid), `${testid} to appear`);
    // By selector, not by element reference: the WebKitWebDriver here hands a script an element
    // argument as a plain object, not the node.
    await this.execute(
      "const el = document.querySelector(`[data-testid=\"${arguments[0]}\"]`); el.value = arguments[1]; el.dispatchEvent(new Event('change', { bubbles: true })); el.dispatchEvent(new Event('input', { bubbles: true }));",
      [testid, value],
    );
  }

  /** A PNG of the page. Without compositing (no GPU, as under Xvfb: the app turns it off there)
   * WebKit's automation waits for the page's next drawing before it takes the picture, and an
   * idle page draws nothing: twice in CI the call waited until its 60 s timeout. A 1-pixel,
   * nearly transparent ticker in a corner keeps a drawing coming while the picture is taken. */
  async screenshot() {
    await this.execute(
      "if (!window.__shotTicker) { const el = document.createElement('div');" +
        " el.style.cssText = 'position:fixed;right:0;bottom:0;width:1px;height:1px;pointer-events:none;z-index:2147483647';" +
        " document.body.appendChild(el); let n = 0;" +
        " window.__shotTicker = setInterval(() => { el.style.background = n++ % 2 ? 'rgba(0,0,0,0.01)' : 'rgba(0,0,0,0.02)'; }, 40);" +
        " window.__shotEl = el; }",
    );
    try {
      return Buffer.from(await this.call("GET", "/screenshot"), "base64");
    } finally {
      await this.execute("clearInterval(window.__shotTicker); window.__shotTicker = null; window.__shotEl?.remove();").catch(() => {});
    }
  }

  /** Poll `probe` until it returns something truthy. */
  async waitFor(probe, what, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
      try {
        last = await probe();
        if (last) return last;
      } catch (e) {
        last = e;
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`timed out waiting for ${what} (last: ${last})`);
  }
}
