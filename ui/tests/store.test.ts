// The store applies event payloads to what it loaded, and fetches again only what an event
// cannot carry, for the one thing it concerns.
import { describe, expect, it } from "vitest";
import { FakeBackend } from "./support/fake";
import { Store } from "../src/lib/store";
import type { SchedulerStatus } from "../src/lib/types";
import { card, connection, dashboard, providers, run, sixConnected, summary, withGarminKey } from "./fixtures";

const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

async function started(seed = dashboard({ cards: sixConnected(), summary: summary(60) })) {
  const fake = new FakeBackend({ dashboard: seed });
  const store = new Store(fake);
  store.start();
  await settle();
  fake.clearCalls();
  return { fake, store, s: () => store.get() };
}

describe("store", () => {
  it("loads the dashboard once, in three calls", async () => {
    const fake = new FakeBackend({ dashboard: dashboard({ cards: sixConnected() }) });
    const store = new Store(fake);
    store.start();
    await settle();
    expect(fake.calls.map((c) => c.cmd).sort()).toEqual(["get_app_info", "get_dashboard", "take_deep_link_outcomes"]);
    expect(Object.keys(store.get().cards)).toHaveLength(6);
    expect(store.get().status).toBe("ready");
  });

  it("sync_started shows the card running with zero progress, without a call", async () => {
    const { fake, s } = await started();
    fake.emit({ type: "sync_started", sync_id: 7, provider: "strava" });
    expect(s().progress.strava).toEqual({
      sync_id: 7,
      counters: { fetched: 0, created: 0, updated: 0, skipped: 0, failed: 0, deleted: 0 },
      pages: 0,
      api_calls: 0,
      estimate: null,
    });
    expect(s().cards.strava?.latest_run?.status).toBe("running");
    expect(fake.count()).toBe(0);
  });

  it("sync_progress carries counters, pages, API calls and the estimate", async () => {
    const { fake, s } = await started();
    const estimate = { remaining_pages: 12, eta_seconds: 2400, continues_at: "2026-11-25T14:15:00Z", window: "15 min" };
    fake.emit({ type: "sync_started", sync_id: 7, provider: "strava" });
    fake.emit({
      type: "sync_progress",
      sync_id: 7,
      provider: "strava",
      counters: { fetched: 200, created: 180, updated: 5, skipped: 15, failed: 0, deleted: 0 },
      pages: 2,
      api_calls: 3,
      estimate,
    });
    expect(s().progress.strava).toMatchObject({ pages: 2, api_calls: 3, estimate });
    expect(s().progress.strava?.counters.created).toBe(180);
    expect(fake.count()).toBe(0);
  });

  it("sync_finished patches the latest run, clears progress and refetches only the summary", async () => {
    const { fake, s } = await started();
    fake.emit({ type: "sync_started", sync_id: 7, provider: "strava" });
    const counters = { fetched: 250, created: 250, updated: 0, skipped: 0, failed: 0, deleted: 0 };
    fake.dashboard.summary = summary(310);
    fake.emit({ type: "sync_finished", sync_id: 7, provider: "strava", status: "success", counters, error: null });
    const latest = s().cards.strava?.latest_run;
    expect(latest).toMatchObject({ id: 7, status: "success", counters, error_message: null });
    expect(latest?.completed_at).not.toBeNull();
    expect(s().progress.strava).toBeUndefined();
    await settle();
    expect(fake.calls.map((c) => c.cmd)).toEqual(["get_summary"]);
    expect(s().summary?.total_activities).toBe(310);
  });

  it("sync_finished also refetches the open history page of that connection, and only that", async () => {
    const { fake, store } = await started();
    await store.loadHistory("strava", 2);
    fake.clearCalls();
    fake.emit({ type: "sync_finished", sync_id: 9, provider: "polar", status: "failed", counters: run(9, 0).counters, error: "boom" });
    await settle();
    expect(fake.calls.map((c) => c.cmd)).toEqual(["get_summary"]);
    fake.emit({ type: "sync_finished", sync_id: 8, provider: "strava", status: "success", counters: run(8, 1).counters, error: null });
    await settle();
    expect(fake.calls.map((c) => [c.cmd, ...c.args])).toEqual([["get_summary"], ["get_summary"], ["get_sync_history", "strava", 10, 20]]);
  });

  it("connection_changed refetches that one connection and patches its card", async () => {
    const { fake, s } = await started();
    fake.dashboard.cards[0]!.connection = connection("strava", { state: "needs_reauth", last_sync_error: "token revoked" });
    fake.emit({ type: "connection_changed", provider: "strava", state: "needs_reauth" });
    await settle();
    expect(fake.calls).toEqual([{ cmd: "get_connection_by_provider", args: ["strava"] }]);
    expect(s().cards.strava?.connection.state).toBe("needs_reauth");
    expect(s().cards.strava?.latest_run?.id).toBe(100); // kept
  });

  it("a new connection becomes a card", async () => {
    const { fake, s } = await started(dashboard());
    fake.dashboard.cards.push(card("wahoo"));
    fake.emit({ type: "connection_changed", provider: "wahoo", state: "active" });
    await settle();
    expect(s().cards.wahoo?.connection.state).toBe("active");
    expect(s().providers.find((p) => p.provider === "wahoo")?.connected).toBe(true);
  });

  it("connection_removed drops the card together with the new summary (its activities may be gone)", async () => {
    const { fake, store, s } = await started();
    await store.loadHistory("strava", 0);
    fake.clearCalls();
    fake.dashboard.summary = summary(50);
    fake.emit({ type: "connection_removed", provider: "strava" });
    await settle();
    expect(s().cards.strava).toBeUndefined();
    expect(s().summary?.total_activities).toBe(50);
    expect(s().history).toBeNull();
    expect(fake.calls.map((c) => c.cmd)).toEqual(["get_summary"]);
  });

  it("a disconnect is one removal: its event and its answer share the summary fetch", async () => {
    const { fake, store, s } = await started();
    await store.disconnect("strava", false);
    await settle();
    expect(fake.calls.map((c) => c.cmd)).toEqual(["disconnect_connection", "get_summary"]);
    expect(s().cards.strava).toBeUndefined();
    expect(s().notice?.text).toBe("Disconnected Strava. Access revoked at Strava. 0 activities deleted.");
  });

  it("a key connect puts its answer on the card at once; the first sync's events follow", async () => {
    const { fake, store, s } = await started(dashboard({ providers: withGarminKey() }));
    expect(await store.connectWithKey("garmin", "gk-1", "2027-01-31")).toBe(true);
    await settle();
    expect(fake.calls.map((c) => c.cmd).sort()).toEqual(["connect_with_key", "get_connection_by_provider", "get_summary"]);
    expect(s().cards.garmin?.connection.provider_profile).toEqual({ key_expires_on: "2027-01-31" });
    expect(s().providers.find((i) => i.provider === "garmin")?.connected).toBe(true);
    expect(s().progress.garmin?.sync_id).toBe(fake.runs.garmin?.[0]?.id);
    expect(fake.runs.garmin?.[0]?.trigger).toBe("after_connect");
    expect(s().notice?.text).toBe("Connected to Garmin; its first sync has started.");
  });

  it("the fake refuses a key for a browser provider and a date that is not one, as the core does", async () => {
    const { fake, store, s } = await started(dashboard({ providers: withGarminKey() }));
    expect(await store.connectWithKey("strava", "k", null)).toBe(false);
    expect(s().notice?.text).toBe("Strava signs in through the browser, not with a key");
    expect(await store.connectWithKey("garmin", "k", "31/01/2027")).toBe(false);
    expect(s().notice?.text).toBe("'31/01/2027' is not a date (YYYY-MM-DD)");
    expect(fake.keys.garmin).toBeUndefined();
  });

  it("saving an id without the secret a provider requires leaves it unconfigured (the core deletes the secret)", async () => {
    const { fake, store, s } = await started(dashboard({ providers: providers({ polar: false }) }));
    await store.setCredentials("polar", "123", null);
    expect(fake.credentials.polar).toEqual({ clientId: "123", clientSecret: null });
    expect(s().providers.find((i) => i.provider === "polar")?.credentials_configured).toBe(false);
    expect(fake.dashboard.providers.find((i) => i.provider === "polar")?.credentials_configured).toBe(false);
    await store.setCredentials("polar", "123", "s");
    expect(s().providers.find((i) => i.provider === "polar")?.credentials_configured).toBe(true);
  });

  it("a new connection's first run that ends before its card arrives is kept for it", async () => {
    const { fake, s } = await started(dashboard());
    let answer: (c: ReturnType<typeof connection>) => void = () => {};
    fake.getConnectionByProvider = () => new Promise((resolve) => (answer = resolve));
    fake.emit({ type: "connection_changed", provider: "polar", state: "active" });
    fake.emit({ type: "sync_started", sync_id: 4, provider: "polar" });
    const counters = { fetched: 30, created: 30, updated: 0, skipped: 0, failed: 0, deleted: 0 };
    fake.emit({ type: "sync_finished", sync_id: 4, provider: "polar", status: "success", counters, error: null });
    answer(connection("polar"));
    await settle();
    expect(s().cards.polar?.latest_run).toMatchObject({ id: 4, status: "success", counters, connection_id: 3 });
  });

  it("an answer still on its way does not bring a removed card back", async () => {
    const { fake, s } = await started();
    let answer: (c: ReturnType<typeof connection>) => void = () => {};
    fake.getConnectionByProvider = () => new Promise((resolve) => (answer = resolve));
    fake.emit({ type: "connection_changed", provider: "strava", state: "active" });
    fake.emit({ type: "connection_removed", provider: "strava" });
    answer(connection("strava"));
    await settle();
    expect(s().cards.strava).toBeUndefined();
  });

  it("scheduler_changed patches the scheduler without a call", async () => {
    const { fake, s } = await started();
    const status: SchedulerStatus = {
      paused: true,
      offline: ["polar"],
      next_runs: [{ provider: "strava", at: "2026-11-25T14:30:00Z", reconcile: false }],
    };
    fake.emit({ type: "scheduler_changed", status });
    expect(s().scheduler).toEqual(status);
    expect(fake.count()).toBe(0);
  });

  it("attention is added once per episode, and closes when the state moves on", async () => {
    const { fake, s } = await started();
    const attention = {
      provider: "strava" as const,
      kind: "needs_reauth" as const,
      title: "Strava needs you to sign in again",
      message: "Its sign-in was refused or revoked; connect it again to keep syncing.",
      opened_at: "2026-11-25T10:00:00Z",
    };
    fake.emit({ type: "attention", attention });
    fake.emit({ type: "attention", attention });
    expect(s().attention).toEqual([{ provider: "strava", kind: "needs_reauth", title: attention.title, message: attention.message }]);
    fake.emit({ type: "connection_changed", provider: "strava", state: "active" });
    await settle();
    expect(s().attention).toEqual([]);
  });

  it("a successful run ends a repeated-failures episode", async () => {
    const { fake, s } = await started(
      dashboard({ cards: sixConnected(), attention: [{ provider: "coros", kind: "repeated_failures" }] }),
    );
    expect(s().attention).toHaveLength(1);
    fake.emit({ type: "sync_finished", sync_id: 3, provider: "coros", status: "success", counters: run(3, 1).counters, error: null });
    expect(s().attention).toEqual([]);
  });

  it("events that arrive while the dashboard loads are applied after it", async () => {
    const fake = new FakeBackend({ dashboard: dashboard({ cards: sixConnected() }) });
    const store = new Store(fake);
    store.start(); // the dashboard's answer is on its way
    fake.emit({ type: "sync_started", sync_id: 7, provider: "strava" });
    await settle();
    expect(store.get().progress.strava?.sync_id).toBe(7);
    expect(store.get().cards.strava?.latest_run?.status).toBe("running");
  });
});
