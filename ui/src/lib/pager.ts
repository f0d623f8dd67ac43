// The activity browser's rows: pages of a list fetched by keyset as the athlete scrolls (each
// page starts at the previous page's `next`; never an offset), each page asked for once. A
// change of list, filter or order is a new Pager; the old one is stopped and its late answers
// dropped. After a link, unlink or primary change, only the pages holding the rows concerned are
// fetched again, in place, so the list keeps its length and the athlete's place.
import type { Backend } from "./backend";
import type { ActivityFilter, ActivityListing, ActivityRow, Order, SortKey } from "./types";

export type ListKind = "workouts" | "activities";
/** Which rows: the list and its filters. */
export type ListFilter = { kind: ListKind; filter: ActivityFilter };
/** Which rows, and in what order. */
export type ListQuery = ListFilter & { sort: SortKey; order: Order };

/** Rows per page: a few screens, small enough to answer in a few milliseconds. */
export const PAGE_ROWS = 200;
/** The core's largest page. */
const MAX_PAGE = 500;
/** Room for rows a change adds to a page fetched again (a link or unlink moves one or two). */
const SLACK = 10;

type Page = { after: string | null; rows: ActivityRow[]; next: string | null };

/** Where a row sits in the list's order: by start, then id. */
type Key = { start: number; id: number };
const keyOf = (r: { start_utc: string; id: number }): Key => ({ start: Date.parse(r.start_utc), id: r.id });

export class Pager {
  private pages: Page[] = [];
  /** Cursors asked for ("" is the first page): each page is fetched once. */
  private readonly asked = new Set<string>();
  private pending: Promise<void> | null = null;
  private stopped = false;
  /** Every loaded row, in order (appended to as pages arrive). */
  rows: ActivityRow[] = [];
  /** The last page failed: no more is asked for until `retry`. */
  failed = false;

  constructor(
    private readonly backend: Backend,
    readonly query: ListQuery,
    private readonly changed: () => void,
    private readonly fail: (error: unknown) => void,
  ) {}

  get loading(): boolean {
    return this.pending !== null;
  }

  /** The last page has arrived. */
  get done(): boolean {
    const last = this.pages[this.pages.length - 1];
    return last !== undefined && last.next === null;
  }

  private fetch(after: string | null, limit: number): Promise<ActivityListing> {
    const page = { after, limit, sort: this.query.sort, order: this.query.order };
    return this.query.kind === "workouts"
      ? this.backend.listWorkouts(this.query.filter, page)
      : this.backend.listActivities(this.query.filter, page);
  }

  /** Ask for the next page, unless one is on its way, the list is complete, or it was asked. */
  more() {
    if (this.stopped || this.pending || this.done || this.failed) return;
    const after = this.pages.length ? this.pages[this.pages.length - 1]!.next : null;
    const key = after ?? "";
    if (this.asked.has(key)) return;
    this.asked.add(key);
    this.pending = this.fetch(after, PAGE_ROWS).then(
      (listing) => {
        this.pending = null;
        if (this.stopped) return;
        this.pages.push({ after, rows: listing.items, next: listing.next });
        this.rows = this.rows.concat(listing.items);
        this.changed();
      },
      (error) => {
        this.pending = null;
        if (this.stopped) return;
        this.failed = true;
        this.changed();
        this.fail(error);
      },
    );
    this.changed();
  }

  /** After a failure: ask for that page again (the athlete's choice, never a loop). */
  retry() {
    if (!this.failed) return;
    this.failed = false;
    const after = this.pages.length ? this.pages[this.pages.length - 1]!.next : null;
    this.asked.delete(after ?? "");
    this.more();
  }

  /** A newer query took over: late answers are dropped. */
  stop() {
    this.stopped = true;
  }

  /** Fetch again, in place, the loaded pages holding any of `ids` (as a row or among a row's
   * copies) or the place of `moved` (a row that may now appear there, e.g. a new primary). */
  async refresh(ids: ReadonlySet<number>, moved: readonly Key[] = []): Promise<void> {
    // An append in flight must land before pages are replaced (and one started meanwhile too).
    while (this.pending) await this.pending;
    if (this.query.sort !== "start") return this.reload();
    const newest = this.query.order === "descending";
    const before = (a: Key, b: Key) => (newest ? a.start > b.start || (a.start === b.start && a.id > b.id) : a.start < b.start || (a.start === b.start && a.id < b.id));
    const atOrBefore = (a: Key, b: Key) => (a.start === b.start && a.id === b.id) || before(a, b);
    for (let k = 0; k < this.pages.length; k++) {
      const page = this.pages[k]!;
      const last = page.rows[page.rows.length - 1];
      const lastPage = k === this.pages.length - 1;
      const holds = page.rows.some((r) => ids.has(r.id) || r.copies.some((c) => ids.has(c.activity_id)));
      const prev = this.pages[k - 1]?.rows;
      const from = prev?.length ? keyOf(prev[prev.length - 1]!) : null;
      const covers = moved.some(
        (m) => (!from || before(from, m)) && (lastPage ? true : last !== undefined && atOrBefore(m, keyOf(last))),
      );
      if (!holds && !covers) continue;
      const listing = await this.fetch(page.after, Math.min(MAX_PAGE, page.rows.length + SLACK));
      if (this.stopped) return;
      if (lastPage || !last) {
        page.rows = listing.items;
        page.next = listing.next;
      } else {
        // The page ends where it ended: the next page (already loaded) starts after that row.
        const end = keyOf(last);
        page.rows = listing.items.filter((r) => atOrBefore(keyOf(r), end));
      }
    }
    this.rows = this.pages.flatMap((p) => p.rows);
    this.changed();
  }

  /** Sorted by another key than the start, a change can move a row anywhere in the list (a new
   * primary brings its own name and distance), so the rows loaded are read again from the top, as
   * many as were loaded, in pages of the core's largest: the list keeps its length and the
   * athlete's place. While it runs it is the pending fetch, so `more` waits: an append from the
   * old pages' cursor would land in the new list. */
  private reload(): Promise<void> {
    const wanted = this.rows.length;
    const run = async () => {
      const pages: Page[] = [];
      let after: string | null = null;
      let read = 0;
      do {
        const listing = await this.fetch(after, Math.min(MAX_PAGE, Math.max(1, wanted - read)));
        if (this.stopped) return;
        pages.push({ after, rows: listing.items, next: listing.next });
        read += listing.items.length;
        after = listing.next;
      } while (after !== null && read < wanted);
      this.pages = pages;
      this.asked.clear();
      for (const p of pages) this.asked.add(p.after ?? "");
      this.rows = pages.flatMap((p) => p.rows);
    };
    const done = run().finally(() => {
      this.pending = null;
      this.changed();
    });
    this.pending = done;
    return done;
  }
}
