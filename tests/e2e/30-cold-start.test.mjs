// A cold start with a deep link (the OS launches the app with the URL): the link reaches the
// core once the app is up, and a stale one is refused with a clear notice, changing nothing.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { App, recordMetrics } from "./app.mjs";

const app = new App("cold-start");

after(async () => {
  await app.stop();
});

test("a cold start with a deep link hands it to the core (a stale link is refused)", async () => {
  const started = Date.now();
  await app.start(["tributary://oauth/strava/callback?state=from-a-closed-app&code=x"]);
  const d = app.driver;
  await d.waitFor(() => d.find("card-strava"), "the dashboard");
  recordMetrics({ cold_start_with_link_ms: Date.now() - started });
  await d.waitFor(async () => /unknown or was already used/.test((await d.text("notice")) ?? ""), "the cold-start link's outcome");
  assert.equal(await d.text("state-strava"), "Not connected", "nothing changed");
  assert.ok(!app.logs().includes("from-a-closed-app"), "the link's query (its state and code) is not logged");
});
