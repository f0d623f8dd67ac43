// Routes, History paging, and focus requests from the tray or a notification.
import { afterEach, describe, expect, it } from "vitest";
import { card, dashboard, run, sixConnected } from "./fixtures";
import { mount, type Mounted } from "./helpers";

let app: Mounted;
afterEach(() => app.unmount());

const stravaRuns = [...Array.from({ length: 10 }, (_, i) => run(20 - i, i)), run(3, 1, { status: "failed", error_message: "Strava answered 500" })];

const withHistory = () =>
  mount({
    dashboard: dashboard({ cards: [card("strava", {}, stravaRuns[0]!), ...sixConnected().slice(1)] }),
    runs: { strava: stravaRuns },
  });

describe("navigation", () => {
  it("a card's History opens below the cards, newest first, and pages by offset", async () => {
    app = await withHistory();
    await app.click("history-strava");
    expect(location.hash).toBe("#/history/strava");
    expect(app.$("history-panel-strava")).not.toBeNull();
    expect(app.$("card-strava")?.className).toContain("selected");
    expect(app.all("history-row")).toHaveLength(10);
    expect(app.all("history-created").map((c) => c.textContent)).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    await app.click("history-older");
    expect(app.fake.last).toEqual({ cmd: "get_sync_history", args: ["strava", 10, 10] });
    const rows = app.all("history-row");
    expect(rows).toHaveLength(1);
    expect(rows[0]?.dataset.status).toBe("failed");
    await app.click("history-newer");
    expect(app.all("history-row")).toHaveLength(10);
    await app.click("history-close");
    expect(app.$("history-panel-strava")).toBeNull();
  });

  it("the cards stay usable while History is open", async () => {
    app = await withHistory();
    await app.click("history-strava");
    await app.change("toggle-strava");
    expect(app.text("state-strava")).toBe("Disabled");
    expect(app.$("history-panel-strava")).not.toBeNull();
  });

  it("disconnecting the connection whose History is open goes back to the dashboard", async () => {
    app = await withHistory();
    await app.click("history-strava");
    await app.click("disconnect-strava");
    await app.click("disconnect-delete-strava");
    expect(app.$("history-panel-strava")).toBeNull();
    expect(location.hash).toBe("#/");
  });

  it("a focus request opens that connection's History", async () => {
    app = await withHistory();
    await app.during(() => app.fake.requestFocus("polar"));
    expect(location.hash).toBe("#/history/polar");
    expect(app.$("history-panel-polar")).not.toBeNull();
  });

  it("a focus asked for before the window existed is taken at start", async () => {
    app = await mount({ dashboard: dashboard({ cards: [card("wahoo")] }), focus: "wahoo" });
    expect(app.fake.count("take_focus")).toBe(1);
    expect(app.$("history-panel-wahoo")).not.toBeNull();
  });

  it("an unknown route shows the dashboard", async () => {
    app = await mount({}, "#/nowhere/at-all");
    expect(app.$("card-strava")).not.toBeNull();
  });
});
