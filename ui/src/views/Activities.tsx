import { useEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";
import { ActivityDetail } from "../components/ActivityDetail";
import { ActivityFilters, FIRST_FILTER } from "../components/ActivityFilters";
import { ActivityList } from "../components/ActivityList";
import { ExportMenu } from "../components/ExportMenu";
import { ImportPanel } from "../components/ImportPanel";
import { FIRST_SORTING, ListHeader, sortingLabel, type Sorting } from "../components/ListHeader";
import { PROVIDER_NAMES, count, distance, hours } from "../lib/format";
import { useAppStore, useStore } from "../lib/hooks";
import { Pager, type ListFilter, type ListQuery } from "../lib/pager";
import type { ActivityDetail as Detail, ActivityRow, ListTotals } from "../lib/types";

/** One Pager per query: a new filter starts the list over, and the old pager's late answers are
 * dropped. The view renders again whenever its pager changes. */
function usePager(query: ListQuery): Pager {
  const store = useAppStore();
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  // An import that ended (or was forgotten) changes the list: it starts over.
  const imports = useStore((s) => s.importsSeen);
  const key = `${JSON.stringify(query)}#${imports}`;
  const pager = useMemo(
    () => new Pager(store.backend, query, () => rerender(0), (e) => store.fail(e)),
    // `key` is the query's value: an equal query keeps its pager.
    [store, key],
  );
  useEffect(() => {
    pager.more();
    return () => pager.stop();
  }, [pager]);
  return pager;
}

const nounFor = (pager: Pager, n: number) =>
  pager.query.kind === "workouts" ? (n === 1 ? "workout" : "workouts") : n === 1 ? "copy" : "copies";

/** The list's line: the exact count and its sums once the core has answered; until then what
 * the loaded pages say ("200+"). */
function status(pager: Pager, totals: ListTotals | null): string {
  if (totals) {
    const noun = nounFor(pager, totals.count);
    if (totals.count === 0) return `No ${noun} match.`;
    return `${count(totals.count)} ${noun} · ${distance(totals.distance_m)} · ${hours(totals.seconds)}`;
  }
  const n = pager.rows.length;
  const noun = nounFor(pager, n);
  if (n === 0 && !pager.done) return pager.failed ? "Could not load the list." : "Loading…";
  if (n === 0) return `No ${noun} match.`;
  if (pager.done) return `${count(n)} ${noun}`;
  return `${count(n)}+ ${noun}${pager.loading ? " · loading more…" : pager.failed ? " · the next rows could not be loaded" : ""}`;
}

/** The library: every workout once (or every copy), filtered, scrolled through at any size; a
 * workout's detail beside the list, where the athlete links, unlinks and picks the primary. */
export function Activities() {
  const store = useAppStore();
  const [list, setList] = useState<ListFilter>(FIRST_FILTER);
  const [sorting, setSorting] = useState<Sorting>(FIRST_SORTING);
  const query: ListQuery = { ...list, ...sorting };
  const pager = usePager(query);
  const [selected, setSelected] = useState<number | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const [detail, setDetail] = useState<Detail | null>(null);
  const [linking, setLinking] = useState(false);
  const [busy, setBusy] = useState(false);
  const shown = useRef<Detail | null>(null);
  shown.current = detail;
  // The whole list's count and sums, read again with each new list and after each change in it
  // (a sync or a disconnect moves the summary's count).
  // Kept with the list they were read for: a new filter's list never shows the old one's count.
  // A new sort is the same rows: the figures stand (and are not read again).
  const imports = useStore((s) => s.importsSeen);
  const listKey = `${JSON.stringify(list)}#${imports}`;
  const [totals, setTotals] = useState<{ key: string; of: ListTotals } | null>(null);
  const [changes, changed] = useReducer((n: number) => n + 1, 0);
  const stored = useStore((s) => s.summary?.total_activities);
  useEffect(() => {
    let live = true;
    store.backend.getListTotals(list.filter, list.kind === "workouts").then(
      (t) => live && setTotals({ key: listKey, of: t }),
      () => live && setTotals(null), // the pages' count stands in
    );
    return () => {
      live = false;
    };
  }, [store, listKey, changes, stored]);

  // The detail of the row opened, unless a change already brought it.
  useEffect(() => {
    if (open === null) return setDetail(null);
    if (shown.current?.activity.id === open) return;
    setDetail(null);
    let live = true;
    store.backend.getActivity(open).then(
      (d) => live && setDetail(d),
      (e) => live && store.fail(e),
    );
    return () => {
      live = false;
    };
  }, [store, open]);

  /** A change to the workouts: show its result, then fetch again the pages it touched.
   * `involved`: activities whose rows change besides those of the shown workout and the result.
   * `stay`: the answer is another copy's (an unlink), the workout being read stays on screen. */
  const change = async (call: () => Promise<Detail>, involved: readonly number[], stay = false) => {
    if (busy || !detail) return;
    setBusy(true);
    try {
      const before = detail.row.copies.map((c) => c.activity_id);
      const result = await call();
      const next = stay ? await store.backend.getActivity(detail.activity.id) : result;
      const copies = (d: Detail) => d.row.copies.map((c) => c.activity_id);
      const ids = new Set([...before, ...involved, ...copies(result), ...copies(next)]);
      setDetail(next);
      setOpen(next.activity.id);
      setSelected(next.activity.id);
      const moved = [result.row, next.row].map((r) => ({ start: Date.parse(r.start_utc), id: r.id }));
      await pager.refresh(ids, moved);
      changed(0);
    } catch (e) {
      store.fail(e);
    } finally {
      setBusy(false);
      setLinking(false);
    }
  };

  const openRow = (row: ActivityRow) => {
    if (linking && detail) {
      if (row.id === detail.activity.id) return; // itself: pick another
      const theirs = row.copies.map((c) => c.activity_id);
      void change(() => store.backend.linkActivities(detail.activity.id, row.id), [row.id, ...theirs]);
      return;
    }
    setSelected(row.id);
    setOpen(row.id);
  };

  const kind = query.kind === "workouts" ? "Workouts" : "Every copy";
  return (
    <section class="panel library" data-testid="activity-browser">
      <header class="library-head">
        <h2>Activities</h2>
        <ImportPanel />
        <ExportMenu />
      </header>
      <ActivityFilters onChange={setList} />
      <p class="status-line" data-testid="activity-count" role="status">
        {status(pager, totals?.key === listKey ? totals.of : null)}
        {sorting.sort !== "start" && <span class="muted"> · sorted by {sortingLabel(sorting)}</span>}
        {pager.failed && (
          <button class="link" data-testid="activity-retry" onClick={() => pager.retry()}>
            Try again
          </button>
        )}
      </p>
      {linking && detail && (
        <div class="link-banner" data-testid="link-banner" role="status">
          <span>
            Pick the other copy of “{detail.activity.name ?? "Untitled"}” ({PROVIDER_NAMES[detail.activity.provider]}) in the
            list: it joins this workout.
          </span>
          <button data-testid="link-cancel" onClick={() => setLinking(false)}>
            Cancel
          </button>
        </div>
      )}
      <div class={`library-body${open !== null ? " with-detail" : ""}${linking ? " picking" : ""}`}>
        <div class="library-list">
          <ListHeader sorting={sorting} onSort={setSorting} />
          <ActivityList
            pager={pager}
            selected={selected}
            open={open}
            label={`${kind}${linking ? ": pick the other copy" : ""}`}
            copies={query.kind === "activities"}
            onSelect={(row) => setSelected(row.id)}
            onOpen={openRow}
            onEscape={() => (linking ? setLinking(false) : setOpen(null))}
          />
        </div>
        {open !== null && (
          <ActivityDetail
            detail={detail}
            busy={busy}
            linking={linking}
            onUnlink={(id) => void change(() => store.backend.unlinkActivity(id), [id], id !== detail?.activity.id)}
            onPrimary={(id) => void change(() => store.backend.makePrimary(id), [id])}
            onLinkStart={() => setLinking(true)}
            onClose={() => {
              setLinking(false);
              setOpen(null);
            }}
          />
        )}
      </div>
    </section>
  );
}
