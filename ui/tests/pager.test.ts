// The browser's paging, without the view: each page asked once by the previous page's cursor,
// late answers dropped, failures not retried by themselves, and a refresh that replaces only the
// pages a change touched, keeping every other row where it was. Also the fake library's keyset,
// which these rely on to behave like the core's.
import { describe, expect, it } from "vitest";
import { FakeBackend } from "./support/fake";
import { FakeLibrary } from "./support/fakeLibrary";
import { PAGE_ROWS, Pager, type ListQuery } from "../src/lib/pager";
import type { ActivityFilter, PageRequest } from "../src/lib/types";
import { NOW, dashboard, librarySeed } from "./fixtures";

const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};
const NO_FILTER: ActivityFilter = { provider: null, sport: null, since: null, until: null, text: null };
const WORKOUTS: ListQuery = { kind: "workouts", filter: NO_FILTER, sort: "start", order: "descending" };

function setup(library: FakeLibrary, query = WORKOUTS) {
  const fake = new FakeBackend({ dashboard: dashboard(), library });
  const errors: unknown[] = [];
  let changes = 0;
  const pager = new Pager(fake, query, () => changes++, (e) => errors.push(e));
  return { fake, pager, errors, changes: () => changes };
}

const afters = (fake: FakeBackend) => fake.calls.filter((c) => c.cmd.startsWith("list_")).map((c) => (c.args[1] as PageRequest).after);

describe("Pager", () => {
  it("asks for each page once, from the last page's cursor, until the last", async () => {
    const { fake, pager } = setup(FakeLibrary.generate(450, { now: NOW }));
    pager.more();
    pager.more(); // one on its way: not again
    await settle();
    expect(fake.count("list_workouts")).toBe(1);
    expect(pager.rows).toHaveLength(PAGE_ROWS);
    pager.more();
    await settle();
    pager.more();
    await settle();
    expect(pager.done).toBe(true);
    expect(pager.rows).toHaveLength(450);
    pager.more();
    await settle();
    expect(fake.count("list_workouts")).toBe(3);
    const cursors = afters(fake);
    expect(cursors[0]).toBeNull();
    expect(new Set(cursors).size).toBe(3);
    expect(new Set(pager.rows.map((r) => r.id)).size).toBe(450);
  });

  it("a stopped pager drops a late answer", async () => {
    const { pager, changes } = setup(FakeLibrary.generate(10, { now: NOW }));
    pager.more();
    const before = changes();
    pager.stop();
    await settle();
    expect(pager.rows).toHaveLength(0);
    expect(changes()).toBe(before);
  });

  it("a failed page is reported and not asked again until retry", async () => {
    const { fake, pager, errors } = setup(FakeLibrary.generate(10, { now: NOW }));
    fake.failNext("list_workouts", "internal", "database is locked");
    pager.more();
    await settle();
    expect(pager.failed).toBe(true);
    expect(errors).toHaveLength(1);
    pager.more();
    await settle();
    expect(fake.count("list_workouts")).toBe(1);
    pager.retry();
    await settle();
    expect(fake.count("list_workouts")).toBe(2);
    expect(pager.rows).toHaveLength(10);
  });

  it("every copy asks list_activities with the filter and order", async () => {
    const query: ListQuery = { kind: "activities", filter: { ...NO_FILTER, provider: "strava" }, sort: "start", order: "ascending" };
    const { fake, pager } = setup(new FakeLibrary(librarySeed()), query);
    pager.more();
    await settle();
    expect(fake.last).toEqual({ cmd: "list_activities", args: [query.filter, { after: null, limit: PAGE_ROWS, sort: "start", order: "ascending" }] });
    expect(pager.rows.map((r) => r.id)).toEqual([7, 4, 2]);
  });

  it("refresh fetches again only the page holding the change, keeping the pages after it", async () => {
    const library = FakeLibrary.generate(600, { now: NOW });
    const { fake, pager } = setup(library);
    for (let i = 0; i < 3; i++) {
      pager.more();
      await settle();
    }
    expect(pager.rows).toHaveLength(600);
    const before = pager.rows.map((r) => r.id);
    // link two neighbours on the second page (a provider each): one row goes
    const i = before.findIndex((_, k) => k > 250 && pager.rows[k]!.copies.length === 1 && pager.rows[k + 1]!.copies.length === 1 && pager.rows[k]!.provider !== pager.rows[k + 1]!.provider);
    const [anchor, other] = [pager.rows[i]!, pager.rows[i + 1]!];
    const detail = library.link(anchor.id, other.id);
    const second = afters(fake)[1];
    fake.clearCalls();
    await pager.refresh(new Set([anchor.id, other.id]), [{ start: Date.parse(detail.row.start_utc), id: detail.row.id }]);
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]!.args[1]).toEqual({ after: second, limit: PAGE_ROWS + 10, sort: "start", order: "descending" });
    // the workout is listed once, by its primary; the other copy's row is gone, nothing else moved
    const primary = detail.row.copies.find((c) => c.primary)!.activity_id;
    const gone = primary === anchor.id ? other.id : anchor.id;
    const after = pager.rows.map((r) => r.id);
    expect(after).toEqual(before.filter((id) => id !== gone));
    expect(pager.rows.find((r) => r.id === primary)!.copies).toHaveLength(2);
  });

  it("sorted by another key, a refresh reads the loaded rows again from the top: the list stays whole and in order", async () => {
    const library = FakeLibrary.generate(450, { now: NOW });
    const { fake, pager } = setup(library, { ...WORKOUTS, sort: "distance", order: "descending" });
    pager.more();
    await settle();
    pager.more();
    await settle();
    expect(pager.rows).toHaveLength(400);
    const before = pager.rows.map((r) => r.id);
    // unlink a copy: it becomes a workout of its own and may sort anywhere
    const linked = pager.rows.filter((r) => r.copies.length > 1)[0]!;
    const copy = linked.copies.find((c) => !c.primary)!;
    library.unlink(copy.activity_id);
    fake.clearCalls();
    await pager.refresh(new Set(linked.copies.map((c) => c.activity_id)));
    const asked = fake.calls.map((c) => c.args[1] as PageRequest);
    // as many rows as were loaded, from the top, in one page of up to 500
    expect(asked.map((p) => [p.after === null, p.limit, p.sort])).toEqual([[true, 400, "distance"]]);
    // every row once, in the core's order, the list as long as before
    const metres = pager.rows.map((r) => r.distance_m ?? -1);
    expect(metres).toEqual([...metres].sort((a, b) => b - a));
    expect(new Set(pager.rows.map((r) => r.id)).size).toBe(400);
    expect(pager.rows.map((r) => r.id).filter((id) => before.includes(id)).length).toBeGreaterThanOrEqual(398);
    // the next page continues where the re-read pages end
    pager.more();
    await settle();
    expect(pager.done).toBe(true);
    expect(new Set(pager.rows.map((r) => r.id)).size).toBe(pager.rows.length);
  });

  it("while the rows are read again, the next page waits: no append from the old cursor lands in the new list", async () => {
    const library = FakeLibrary.generate(700, { now: NOW });
    const { pager } = setup(library, { ...WORKOUTS, sort: "name", order: "ascending" });
    pager.more();
    await settle();
    pager.more();
    await settle();
    const reloading = pager.refresh(new Set([pager.rows[0]!.id]));
    // the athlete scrolls to the end meanwhile, before and while the rows are read again
    pager.more();
    await Promise.resolve();
    pager.more();
    await settle();
    pager.more();
    await reloading;
    for (let i = 0; i < 3; i++) {
      pager.more();
      await settle();
    }
    expect(pager.done).toBe(true);
    const ids = pager.rows.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(library.totals(NO_FILTER, true).count);
    const names = pager.rows.map((r) => (r.name ?? "").toLowerCase());
    expect(names).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });

  it("refresh after an unlink adds the copy in place, without losing the page's last row", async () => {
    const library = FakeLibrary.generate(400, { now: NOW });
    const { pager } = setup(library);
    pager.more();
    await settle();
    pager.more();
    await settle();
    const before = pager.rows.map((r) => r.id);
    const linked = pager.rows.slice(0, 200).filter((r) => r.copies.length > 1).pop()!;
    const copy = linked.copies.find((c) => !c.primary)!;
    const detail = library.unlink(copy.activity_id);
    await pager.refresh(new Set(linked.copies.map((c) => c.activity_id)), [{ start: Date.parse(detail.row.start_utc), id: detail.row.id }]);
    const after = pager.rows.map((r) => r.id);
    expect(after).toHaveLength(before.length + 1);
    expect(after.filter((id) => id !== copy.activity_id)).toEqual(before);
    expect(pager.rows.find((r) => r.id === linked.id)!.copies).toHaveLength(linked.copies.length - 1);
  });
});

describe("FakeLibrary keyset (as the core pages)", () => {
  it("walks every row once in both orders, ties on start settled by id", () => {
    const t = "2026-11-20T07:00:00Z";
    const seed = Array.from({ length: 23 }, (_, i) => ({ id: 100 - i, provider: "garmin" as const, start_utc: i % 3 ? t : "2026-11-19T07:00:00Z" }));
    const library = new FakeLibrary(seed);
    for (const order of ["descending", "ascending"] as const) {
      const seen: number[] = [];
      let after: string | null = null;
      do {
        const page: ReturnType<FakeLibrary["activities"]> = library.activities(NO_FILTER, { after, limit: 5, sort: "start", order });
        seen.push(...page.items.map((r) => r.id));
        after = page.next;
      } while (after);
      expect(seen).toHaveLength(23);
      expect(new Set(seen).size).toBe(23);
    }
  });

  it("link displaces the workout's copy from the same provider; unlink dissolves a pair", () => {
    const library = new FakeLibrary(librarySeed());
    // Strava's swim into the run: the run's Strava copy makes way
    const linked = library.link(1, 7);
    expect(linked.row.copies.map((c) => [c.activity_id, c.choice])).toEqual([
      [1, "linked"],
      [7, "linked"],
    ]);
    expect(library.detail(2).row.copies).toEqual([expect.objectContaining({ activity_id: 2, primary: true, reason: null })]);
    const alone = library.unlink(7);
    expect(alone.row.workout_id).toBeNull();
    expect(alone.row.choice).toBe("kept_apart");
    expect(library.detail(1).row.copies).toHaveLength(1);
    expect(() => library.makePrimary(6)).toThrow(/counts on its own already/);
  });

  it("volume counts each workout once", () => {
    const library = new FakeLibrary(librarySeed());
    const weeks = library.volume("week", "2026-11-01T00:00:00Z", "2026-11-30T00:00:00Z");
    expect(weeks.reduce((n, b) => n + b.count, 0)).toBe(4);
    expect(weeks.find((b) => b.sport === "ride")).toMatchObject({ count: 1, distance_m: 62000, period_start: "2026-11-16" });
  });
});
