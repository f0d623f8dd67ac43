// Disconnect tells the truth: revoked only when the provider confirmed it, otherwise why not and
// where to do it by hand; and what became of the activities. The default choice follows the
// provider's terms (Strava: delete).
import { afterEach, describe, expect, it } from "vitest";
import { disconnectedText } from "../src/lib/store";
import { CAPABILITIES, POLAR_V3_DOOR, card, dashboard, summary, withGarminKey } from "./fixtures";
import { mount, type Mounted } from "./helpers";

let app: Mounted;
afterEach(() => app.unmount());

const line = (provider: "strava" | "polar" | "google_health" | "wahoo" | "garmin", activities: number) => ({
  provider,
  state: "active" as const,
  enabled: true,
  last_sync_at: null,
  activities,
  total_syncs: 1,
  successful_syncs: 1,
  failed_syncs: 0,
  last_status: "success" as const,
});

const connected = (p: Parameters<typeof line>[0], activities = 250, providers = dashboard().providers) =>
  mount({ dashboard: dashboard({ providers, cards: [card(p)], summary: summary(activities, { connections: [line(p, activities)] }) }) });

async function disconnect(p: string, choice: "keep" | "delete") {
  await app.click(`disconnect-${p}`);
  await app.click(`disconnect-${choice}-${p}`);
}

describe("the notice after a disconnect", () => {
  it("revoked, activities deleted: says both, with the count", async () => {
    app = await connected("wahoo");
    await disconnect("wahoo", "delete");
    expect(app.fake.calls.find((c) => c.cmd === "disconnect_connection")?.args).toEqual(["wahoo", false]);
    expect(app.text("notice")).toBe("Disconnected Wahoo. Access revoked at Wahoo. 250 activities deleted.×");
    expect(app.$("notice")?.className).toContain("ok");
  });

  it("revoked, activities kept", async () => {
    app = await connected("wahoo");
    await disconnect("wahoo", "keep");
    expect(app.fake.calls.find((c) => c.cmd === "disconnect_connection")?.args).toEqual(["wahoo", true]);
    expect(app.text("notice")).toBe("Disconnected Wahoo. Access revoked at Wahoo. Activities kept.×");
  });

  it("Polar's AccessLink v4 has no revoke API: said before and after, and no failure is claimed", async () => {
    app = await connected("polar");
    await app.click("disconnect-polar");
    expect(app.text("confirm-disconnect-polar")).toContain(
      "Polar has no revoke API for AccessLink v4: Tributary forgets its tokens, and you remove Tributary yourself at https://flow.polar.com/settings.",
    );
    await app.click("disconnect-keep-polar");
    expect(app.text("notice")).toBe(
      "Disconnected Polar. Polar has no revoke API for AccessLink v4: take Tributary's access back yourself at https://flow.polar.com/settings. Activities kept.×",
    );
    expect(app.text("notice")).not.toContain("Could not");
  });

  it("a Polar connection still on AccessLink v3 is revoked as before", async () => {
    app = await mount({
      dashboard: dashboard({
        cards: [{ ...card("polar"), door: POLAR_V3_DOOR, moves_to: CAPABILITIES.polar.door }],
        summary: summary(5, { connections: [line("polar", 5)] }),
      }),
    });
    await app.click("disconnect-polar");
    expect(app.text("confirm-disconnect-polar")).toContain("Tributary asks Polar to revoke its access");
    await app.click("disconnect-keep-polar");
    expect(app.text("notice")).toBe("Disconnected Polar. Access revoked at Polar. Activities kept.×");
  });

  it("not revoked: the provider's reason and the page to revoke it yourself (Strava)", async () => {
    app = await connected("strava");
    app.fake.revokeError = "Strava answered 401 to the revocation.";
    await disconnect("strava", "delete");
    expect(app.$("notice")?.className).toContain("error");
    expect(app.text("notice")).toBe(
      "Disconnected Strava. Could not revoke access at Strava: Strava answered 401 to the revocation — revoke it yourself at https://www.strava.com/settings/apps. 250 activities deleted.×",
    );
    expect(app.text("state-strava")).toBe("Not connected");
  });

  it("not revoked at Google: its account permissions page; activities kept", async () => {
    app = await connected("google_health");
    app.fake.revokeError = "Google answered 503";
    await disconnect("google_health", "keep");
    expect(app.text("notice")).toContain("Could not revoke access at Fitbit (Google Health API): Google answered 503");
    expect(app.text("notice")).toContain("revoke it yourself at https://myaccount.google.com/permissions");
    expect(app.text("notice")).toContain("Activities kept.");
    expect(app.text("notice")).not.toContain("Access revoked");
  });

  it("not revoked where the place is an app, not a page (Wahoo)", async () => {
    app = await connected("wahoo");
    app.fake.revokeError = "Wahoo could not be reached";
    await disconnect("wahoo", "keep");
    expect(app.text("notice")).toContain("Could not revoke access at Wahoo: Wahoo could not be reached — revoke it yourself in the Wahoo app");
  });

  it("a personal key cannot be revoked by an app: the key page, named once", async () => {
    app = await connected("garmin", 40, withGarminKey());
    await app.click("disconnect-garmin");
    expect(app.text("confirm-disconnect-garmin")).toContain(
      "An app cannot revoke a personal key: delete it yourself at https://connect.garmin.com/app/settings/personalApiToken.",
    );
    await app.click("disconnect-keep-garmin");
    const text = app.text("notice")!;
    expect(text).toContain("Garmin has no revoke API for Garmin Connect Personal API");
    expect(text).not.toContain("Could not");
    expect(text.split("https://connect.garmin.com/app/settings/personalApiToken")).toHaveLength(2);
    expect(text).toContain("Activities kept.");
  });

  it("a revocation refused without a reason still says where to do it", () => {
    const text = disconnectedText("Polar", { provider: "polar", revoked_at_provider: false, revoke_error: null, revoke_by_hand: null, activities_deleted: 1 }, false, "browser");
    expect(text).toBe("Disconnected Polar. Could not revoke access at Polar — revoke it yourself at https://flow.polar.com/settings. 1 activity deleted.");
  });
});

describe("the choice in the confirmation", () => {
  it("Strava: delete is the default, because its API agreement requires it", async () => {
    app = await connected("strava");
    await app.click("disconnect-strava");
    const remove = app.$("disconnect-delete-strava")!;
    expect(remove.dataset.default).toBe("true");
    expect(remove.className).toContain("default");
    expect(app.$("disconnect-keep-strava")?.dataset.default).toBe("false");
    // Issue 19, item 9: the destructive choice was the focused default here and not elsewhere.
    expect(document.activeElement).toBe(app.$("disconnect-cancel-strava")); // Enter deletes nothing
    expect(app.text("disconnect-terms-strava")).toContain("Strava's API agreement requires removing its data when access ends");
    // the default comes first
    const buttons = [...app.$("confirm-disconnect-strava")!.querySelectorAll("button")].map((b) => b.dataset.testid);
    expect(buttons.indexOf("disconnect-delete-strava")).toBeLessThan(buttons.indexOf("disconnect-keep-strava"));
    expect(app.text("confirm-disconnect-strava")).not.toContain("Access is revoked");
  });

  it("others: keep is the default, with no terms to cite", async () => {
    app = await connected("polar");
    await app.click("disconnect-polar");
    const keep = app.$("disconnect-keep-polar")!;
    expect(keep.dataset.default).toBe("true");
    expect(app.$("disconnect-delete-polar")?.dataset.default).toBe("false");
    expect(document.activeElement).toBe(app.$("disconnect-cancel-polar"));
    expect(app.$("disconnect-terms-polar")).toBeNull();
    await app.click("disconnect-cancel-polar");
    expect(app.$("confirm-disconnect-polar")).toBeNull();
    expect(app.fake.count("disconnect_connection")).toBe(0);
  });
});
