import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { render } from "preact";
import { act } from "preact/test-utils";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { App } from "../src/App";
import { providers, run, strava, summary } from "./fixtures";

type Calls = { cmd: string; args: Record<string, unknown> }[];

let root: HTMLElement;
let calls: Calls;
let backend: Record<string, (args: Record<string, unknown>) => unknown>;

const flush = async () => {
  for (let i = 0; i < 5; i++) await act(() => new Promise((r) => setTimeout(r, 0)));
};
const $ = (id: string) => root.querySelector(`[data-testid="${id}"]`) as HTMLElement | null;

beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
  calls = [];
  backend = {
    get_app_info: () => ({ sandbox: true, version: "0.1.0" }),
    list_available_providers: () => providers,
    list_connections: () => [],
    get_summary: () => summary(0, 0),
    get_sync_status: () => null,
    get_sync_history: () => [],
    take_deep_link_outcomes: () => [],
    connect_provider: () => ({ provider: "strava", authorize_url: "http://x", redirect_uri: "tributary://oauth/strava/callback", expires_at: "2026-11-25T10:10:00Z" }),
  };
  mockIPC(
    (cmd, args) => {
      calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
      const handler = backend[cmd];
      if (!handler) throw new Error(`unexpected command ${cmd}`);
      return handler((args ?? {}) as Record<string, unknown>);
    },
    { shouldMockEvents: true },
  );
});

afterEach(async () => {
  render(null, root);
  await flush(); // let the unmount's async unlisten calls reach the mock before it goes
  root.remove();
  clearMocks();
});

describe("dashboard", () => {
  it("shows the six providers, the demo label, and what cannot be connected yet", async () => {
    render(<App />, root);
    await flush();
    expect(root.querySelectorAll("article.card")).toHaveLength(6);
    expect($("demo-banner")?.textContent).toContain("Demo mode");
    expect($("state-strava")?.textContent).toBe("Not connected");
    expect($("state-garmin")?.textContent).toBe("Coming soon");
    expect($("connect-garmin")).toBeNull();
    expect(($("connect-strava") as HTMLButtonElement).disabled).toBe(false);
  });

  it("connect asks the backend for the provider and says to continue in the browser", async () => {
    render(<App />, root);
    await flush();
    await act(() => $("connect-strava")!.click());
    await flush();
    expect(calls.find((c) => c.cmd === "connect_provider")?.args).toEqual({ provider: "strava" });
    expect($("notice")?.textContent).toContain("Continue in your browser");
  });

  it("shows a backend error by its message and keeps the card as it was", async () => {
    backend.connect_provider = () => {
      throw { code: "secret_store", message: "no OS keyring is available" };
    };
    render(<App />, root);
    await flush();
    await act(() => $("connect-strava")!.click());
    await flush();
    expect($("notice")?.className).toContain("error");
    expect($("notice")?.textContent).toContain("no OS keyring is available");
    expect($("state-strava")?.textContent).toBe("Not connected");
  });

  it("a deep-link outcome is announced and the dashboard refreshes", async () => {
    render(<App />, root);
    await flush();
    backend.list_connections = () => [strava];
    backend.get_summary = () => summary(250, 1);
    await act(() => emit("deep-link-outcome", { ok: true, provider: "strava", message: "Connected to strava." }));
    await flush();
    expect($("notice")?.textContent).toContain("Connected to strava.");
    expect($("state-strava")?.textContent).toBe("Active");
    expect($("summary-activities")?.textContent).toBe("250");
  });

  it("shows the outcome of the link that started the app", async () => {
    backend.take_deep_link_outcomes = () => [{ ok: false, provider: "strava", message: "this sign-in link is unknown" }];
    render(<App />, root);
    await flush();
    expect($("notice")?.textContent).toContain("this sign-in link is unknown");
    expect($("notice")?.className).toContain("error");
  });

  it("sync progress shows live on the card, then the result", async () => {
    backend.list_connections = () => [strava];
    render(<App />, root);
    await flush();
    backend.start_sync = () => 7;
    await act(() => $("sync-strava")!.click());
    await flush();
    expect(calls.find((c) => c.cmd === "start_sync")?.args).toEqual({ provider: "strava", mode: "incremental" });
    await act(() => emit("core-event-message", { type: "sync_progress", sync_id: 7, provider: "strava", counters: { fetched: 200, created: 200, updated: 0, skipped: 0, failed: 0 } }));
    await flush();
    expect($("progress-strava")?.textContent).toContain("200 fetched");
    expect($("cancel-strava")).not.toBeNull();
    backend.get_sync_status = () => run(7, 250);
    await act(() => emit("core-event-message", { type: "sync_finished", sync_id: 7, provider: "strava", status: "success", counters: { fetched: 250, created: 250, updated: 0, skipped: 0, failed: 0 }, error: null }));
    await flush();
    expect($("progress-strava")).toBeNull();
    expect($("last-sync-strava")?.textContent).toContain("250 new");
  });

  it("history is newest first and pages by offset", async () => {
    backend.list_connections = () => [strava];
    backend.get_sync_history = (args) => (args.offset === 0 ? Array.from({ length: 10 }, (_, i) => run(20 - i, i)) : [run(3, 1)]);
    render(<App />, root);
    await flush();
    await act(() => $("history-strava")!.click());
    await flush();
    expect(root.querySelectorAll('[data-testid="history-row"]')).toHaveLength(10);
    const older = [...root.querySelectorAll(".pager button")].find((b) => b.textContent === "Older") as HTMLButtonElement;
    await act(() => older.click());
    await flush();
    const last = calls.filter((c) => c.cmd === "get_sync_history").pop();
    expect(last?.args).toEqual({ provider: "strava", limit: 10, offset: 10 });
    expect(root.querySelectorAll('[data-testid="history-row"]')).toHaveLength(1);
  });

  it("a deprecated connection offers the one-click move, which connects again", async () => {
    backend.list_connections = () => [{ ...strava, provider: "google_health", state: "deprecated", last_sync_error: "410 Gone" }];
    render(<App />, root);
    await flush();
    expect($("state-google_health")?.textContent).toBe("Deprecated");
    expect($("reauth-google_health")?.textContent).toBe("Move to Fitbit (Google Health API)");
    await act(() => $("reauth-google_health")!.click());
    await flush();
    expect(calls.find((c) => c.cmd === "connect_provider")?.args).toEqual({ provider: "google_health" });
  });

  it("disconnect asks first, then keeps or deletes activities as chosen", async () => {
    backend.list_connections = () => [strava];
    backend.disconnect_connection = () => ({ provider: "strava", revoked_at_provider: true, revoke_error: null, activities_deleted: 0 });
    render(<App />, root);
    await flush();
    await act(() => $("disconnect-strava")!.click());
    expect(calls.some((c) => c.cmd === "disconnect_connection")).toBe(false);
    await act(() => $("disconnect-keep-strava")!.click());
    await flush();
    expect(calls.find((c) => c.cmd === "disconnect_connection")?.args).toEqual({ provider: "strava", keepActivities: true });
  });
});
