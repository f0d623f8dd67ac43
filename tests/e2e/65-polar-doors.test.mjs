// Polar's two doors in the real window, on the sandbox's twins. A connection made through
// AccessLink v3 (every Polar connection before v4) keeps syncing in a build that opens v4 for new
// connections; its card offers the move; one click and a sign-in move it, and its first v4 sync
// brings the whole history with the v3 copies kept under their v4 ids: nothing lost, nothing
// doubled. A re-sync stores nothing. Disconnecting says, before and after, that Polar has no
// revoke API for v4 and where the athlete takes the access back, and claims no failure.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { App } from "./app.mjs";

const SANDBOX_ACTIVITIES = 250; // the demo sandbox's data set
// New Polar connections through v3, as before v4 (the door a later start no longer chooses).
const app = new App("polar-doors", { TRIBUTARY_POLAR_DOOR: "v3" });
let d;

const created = async (p) => {
  const m = /(?:^|· )(\d+) new/.exec((await d.text(`last-sync-${p}`)) ?? "");
  return m ? Number(m[1]) : null;
};

before(async () => {
  await app.start();
  d = app.driver;
  await d.waitFor(() => d.find("card-polar"), "the dashboard");
});

after(async () => {
  await app.stop();
});

test("a v3 connection keeps syncing, and moves to v4 with one click: nothing lost or doubled", async () => {
  await app.connect("polar", "Polar");
  // v3 lists only what reached Polar after the registration: nothing, then two uploads.
  await d.waitFor(async () => (await created("polar")) === 0, "v3's first sync", 60_000);
  for (const hours of [3, 30]) {
    await app.control("upload", { start: new Date(Date.now() - hours * 3600_000).toISOString() });
  }
  await d.click("sync-polar");
  await d.waitFor(async () => (await created("polar")) === 2, "the two uploads", 60_000);
  assert.equal(await d.find("move-polar"), null, "on the door new connections use: nothing to move to");

  // The next start opens v4 for new connections; this one stays on v3, still syncing.
  await app.stop();
  app.env = {};
  await app.start();
  d = app.driver;
  await d.waitFor(() => d.find("move-polar"), "the move offered", 30_000);
  assert.equal(await d.text("move-polar"), "Move to AccessLink v4");
  assert.match(await d.text("door-polar"), /AccessLink v3, still working/);
  assert.equal(await d.text("state-polar"), "Active");
  await d.click("sync-polar");
  await d.waitFor(async () => ((await d.text("last-sync-polar")) ?? "").includes("success") || null, "v3 still syncs", 60_000);
  await app.shot("polar-move-offered");

  await d.click("move-polar");
  await d.waitFor(async () => ((await d.find("move-polar")) ? null : true), "the move", 60_000);
  await d.waitFor(
    async () => ((await d.text("summary-activities")) === String(SANDBOX_ACTIVITIES + 2) ? true : null),
    "every session once after the first v4 sync",
    90_000,
  );
  // The two v3 copies were taken over, not stored again: the first v4 run created the rest.
  await d.waitFor(async () => (await created("polar")) === SANDBOX_ACTIVITIES || null, "v4's first run", 30_000);
  assert.match(await d.text("last-sync-polar"), /2 updated/);
  assert.equal(await d.find("door-polar"), null, "on v4 now");
  await d.click("sync-polar");
  await d.waitFor(async () => (await created("polar")) === 0, "a re-sync stores nothing twice", 60_000);
  assert.equal(await d.text("summary-activities"), String(SANDBOX_ACTIVITIES + 2));
});

test("v4's disconnect says Polar has no revoke API and where to take the access back", async () => {
  await d.click("disconnect-polar");
  assert.match(
    await d.text("confirm-disconnect-polar"),
    /Polar has no revoke API for AccessLink v4: Tributary forgets its tokens, and you remove Tributary yourself at https:\/\/flow\.polar\.com\/settings/,
  );
  await d.click("disconnect-keep-polar");
  await d.waitFor(async () => ((await d.text("state-polar")) === "Not connected" ? true : null), "the card to reset");
  const notice = await d.text("notice");
  assert.match(notice, /Polar has no revoke API for AccessLink v4: take Tributary's access back yourself at https:\/\/flow\.polar\.com\/settings/);
  assert.doesNotMatch(notice, /Could not|Access revoked/);
  assert.equal(await d.text("summary-activities"), String(SANDBOX_ACTIVITIES + 2), "kept, as chosen");
});
