// Import from the window: the dialog's two ways in, progress, the result with each outcome and
// the refused files' reasons, the list starting over with the new workouts, forgetting an
// import, and the hint while files are dragged over the window.
import { afterEach, describe, expect, it } from "vitest";
import { outcomeLine, progressLine } from "../src/lib/imports";
import type { ImportReport } from "../src/lib/types";
import { dashboard, librarySeed } from "./fixtures";
import { mount, type Mounted } from "./helpers";

let app: Mounted;
afterEach(async () => {
  await app.unmount();
});

const report = (over: Partial<ImportReport> = {}): ImportReport => ({
  id: 7,
  label: "strava-export.zip",
  status: "finished",
  started_at: "2026-12-01T10:00:00Z",
  finished_at: "2026-12-01T10:01:00Z",
  counts: { imported: 3, linked: 9, duplicate: 1, skipped: 4, refused: 2 },
  copies: 12,
  refused: [
    { path: "strava-export.zip/activities/1.fit.gz", source: "strava_archive", reason: "the FIT file is damaged (unexpected EOF)", activity_id: null },
    { path: "strava-export.zip/../evil.fit", source: "files", reason: "a name that climbs out of the archive ('..'): not read", activity_id: null },
  ],
  ...over,
});

describe("import in the window", () => {
  it("imports files chosen in the dialog and shows every outcome and why files were refused", async () => {
    app = await mount({ dashboard: dashboard(), library: librarySeed() }, "#/activities");
    app.fake.nextImport = report();
    const listsBefore = app.fake.count("list_workouts");
    await app.click("import-files");
    expect(app.fake.calls.find((c) => c.cmd === "import_files")?.args).toEqual(["files"]);
    expect(app.text("import-counts")).toBe(
      "3 new workouts · 9 joined workouts you had · 1 already here · 4 not activities · 2 could not be read",
    );
    expect(app.text("import-refused")).toContain("2");
    const refused = app.$("import-refused-list")!.textContent!;
    expect(refused).toContain("strava-export.zip/activities/1.fit.gz");
    expect(refused).toContain("damaged");
    expect(refused).toContain("Strava archive");
    // The list starts over: the new workouts show.
    expect(app.fake.count("list_workouts")).toBeGreaterThan(listsBefore);
    // Not running any more.
    expect(app.$("import-progress")).toBeNull();
    await app.click("import-close");
    expect(app.$("import-result")).toBeNull();
  });

  it("asks for a folder, and a cancelled dialog changes nothing", async () => {
    app = await mount({ dashboard: dashboard(), library: librarySeed() }, "#/activities");
    await app.click("import-folder");
    expect(app.fake.last).toEqual({ cmd: "import_files", args: ["folder"] });
    expect(app.$("import-result")).toBeNull();
  });

  it("shows an import under way (a drop) with its progress, and its end", async () => {
    app = await mount({ dashboard: dashboard(), library: librarySeed() }, "#/activities");
    app.fake.imports.unshift(report({ id: 9, label: "watch" }));
    await app.during(() =>
      app.fake.emit({
        type: "import_progress",
        progress: { import_id: 9, files: 40, bytes_done: 450, bytes_total: 1000, eta_seconds: 130, counts: report().counts },
      }),
    );
    expect(app.text("import-progress")).toContain("40 files · 45 % · about 2 min left");
    expect((app.$("import-files") as HTMLButtonElement).disabled).toBe(true);
    await app.click("import-stop");
    expect(app.fake.last?.cmd).toBe("cancel_import");
    await app.during(() => app.fake.emit({ type: "import_finished", import_id: 9, counts: report().counts }));
    expect(app.$("import-progress")).toBeNull();
    expect(app.text("import-result")).toContain("watch");
  });

  it("lists past imports and forgets one as a whole", async () => {
    app = await mount({ dashboard: dashboard(), library: librarySeed() }, "#/activities");
    app.fake.imports.push(report(), report({ id: 8, label: "takeout.zip", status: "interrupted", copies: 1 }));
    await app.click("imports-toggle");
    expect(app.text("import-8")).toContain("stopped before the end");
    // One date style in the window (issue 19 item 9): the past import's start as every other.
    const { when } = await import("../src/lib/format");
    expect(app.text("import-8")).toContain(` · ${when(app.fake.imports[1]!.started_at)} · `);
    expect(app.text("import-forget-8")).toBe("Forget (1 copy)");
    await app.click("import-forget-7");
    expect(app.fake.calls.some((c) => c.cmd === "forget_import" && c.args[0] === 7)).toBe(true);
    expect(app.$("import-7")).toBeNull();
    expect(app.text("notice")).toContain("12 copies removed");
  });

  it("says where to drop while files are dragged over the window", async () => {
    app = await mount({ dashboard: dashboard() }, "#/");
    expect(app.$("drop-hint")).toBeNull();
    await app.during(() => app.fake.drag(true));
    expect(app.text("drop-hint")).toContain("Drop to import");
    await app.during(() => app.fake.drag(false));
    expect(app.$("drop-hint")).toBeNull();
  });
});

describe("import's words", () => {
  it("name only the outcomes that happened, one or many", () => {
    expect(outcomeLine({ imported: 1, linked: 0, duplicate: 0, skipped: 1, refused: 0 })).toBe("1 new workout · 1 not an activity");
    expect(outcomeLine({ imported: 0, linked: 0, duplicate: 0, skipped: 0, refused: 0 })).toBe("no files");
    expect(
      progressLine({ import_id: 1, files: 1, bytes_done: 5, bytes_total: 0, eta_seconds: null, counts: { imported: 0, linked: 0, duplicate: 0, skipped: 0, refused: 0 } }),
    ).toBe("1 file");
  });
});
