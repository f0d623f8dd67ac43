import { Component } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { SPORT_LABELS, distance, duration, paceOrSpeed, startedAt } from "../lib/format";
import type { Pager } from "../lib/pager";
import type { ActivityRow } from "../lib/types";
import { useVirtualizer } from "../lib/virtual";
import { SourceBadges } from "./SourceBadges";

/** Fixed row height (px, matches .activity-row in styles.css): no row is ever measured. */
export const ROW_HEIGHT = 36;
/** Rows kept rendered beyond each edge of the view, for smooth scrolling. */
const OVERSCAN = 8;
/** The next page is asked for when the view comes this close to the last loaded row. */
const AHEAD = 60;
const PAGE_KEYS = 10;

/** Whether `row` stands for activity `id` (itself, or the workout holding it). */
export const holds = (row: ActivityRow, id: number | null) =>
  id !== null && (row.id === id || row.copies.some((c) => c.activity_id === id));

type Props = {
  pager: Pager;
  /** The row the keyboard is on, by activity id. */
  selected: number | null;
  /** The activity the detail shows. */
  open: number | null;
  label: string;
  /** Every copy on its own row: each row names its own source (not its workout's). */
  copies?: boolean;
  onSelect: (row: ActivityRow) => void;
  /** Enter or a click: open it (or, while linking, pick it). */
  onOpen: (row: ActivityRow) => void;
  onEscape: () => void;
};

/** The rows, virtualised: only those in view plus a few are in the DOM, positioned in a sizer as
 * tall as every loaded row; near the end the next page is asked for. Focusable: the arrow keys,
 * Page Up/Down, Home and End move the selection, Enter opens it. */
export function ActivityList({ pager, selected, open, label, copies = false, onSelect, onOpen, onEscape }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const rows = pager.rows;
  const more = !pager.done;
  const v = useVirtualizer({
    count: rows.length + (more ? 1 : 0),
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: OVERSCAN,
    getItemKey: (i) => rows[i]?.id ?? "more",
  });
  const items = v.getVirtualItems();
  const last = items[items.length - 1];
  // Rows skip renders (see Row): a click goes through this, to the handlers of the latest render.
  const latest = useRef({ onSelect, onOpen });
  latest.current = { onSelect, onOpen };
  const [pick] = useState(() => (row: ActivityRow) => {
    latest.current.onSelect(row);
    latest.current.onOpen(row);
  });

  useEffect(() => {
    if (last && last.index >= rows.length - AHEAD) pager.more();
  });

  // A new list starts at its top.
  useEffect(() => {
    if (scroller.current) scroller.current.scrollTop = 0;
  }, [pager]);

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === "Escape") return onEscape();
    if (rows.length === 0) return;
    const at = rows.findIndex((r) => holds(r, selected));
    const moves: Record<string, number> = {
      ArrowDown: at + 1,
      ArrowUp: at < 0 ? 0 : at - 1,
      PageDown: at + PAGE_KEYS,
      PageUp: at - PAGE_KEYS,
      Home: 0,
      End: rows.length - 1,
    };
    if (e.key === "Enter") {
      e.preventDefault();
      if (at >= 0) onOpen(rows[at]!);
      return;
    }
    const to = moves[e.key];
    if (to === undefined) return;
    e.preventDefault();
    const i = Math.max(0, Math.min(rows.length - 1, to));
    onSelect(rows[i]!);
    v.scrollToIndex(i, { align: "auto" });
  };

  const active = items.map((it) => rows[it.index]).find((r) => r && holds(r, selected));
  return (
    <div
      ref={scroller}
      class="activity-rows"
      data-testid="activity-list"
      tabIndex={0}
      role="listbox"
      aria-label={label}
      aria-activedescendant={active ? `activity-${active.id}` : undefined}
      onKeyDown={onKeyDown}
    >
      <div class="activity-sizer" style={{ height: `${v.getTotalSize()}px` }}>
        {items.map((it) => {
          const row = rows[it.index];
          const place = { transform: `translateY(${it.start}px)` };
          if (!row) {
            return (
              <div key="more" class="activity-row more" style={place} aria-hidden="true">
                {pager.failed ? "The next rows could not be loaded." : "Loading…"}
              </div>
            );
          }
          return (
            <Row
              key={row.id}
              row={row}
              index={it.index}
              start={it.start}
              setSize={more ? -1 : rows.length}
              selected={copies ? row.id === selected : holds(row, selected)}
              open={copies ? row.id === open : holds(row, open)}
              own={copies}
              pick={pick}
            />
          );
        })}
      </div>
    </div>
  );
}

type RowProps = {
  row: ActivityRow;
  index: number;
  start: number;
  setSize: number;
  selected: boolean;
  open: boolean;
  /** The row is one copy: its badge is its own source. */
  own: boolean;
  /** Stable across renders: a click selects and opens the row. */
  pick: (row: ActivityRow) => void;
};

/** One row. Scrolling re-renders the list, but a row already on screen stays as it was: it is
 * rendered again only when its data, place or state changed (rows are immutable values). */
class Row extends Component<RowProps> {
  shouldComponentUpdate(next: RowProps) {
    const p = this.props;
    return (
      next.row !== p.row ||
      next.start !== p.start ||
      next.index !== p.index ||
      next.setSize !== p.setSize ||
      next.selected !== p.selected ||
      next.open !== p.open ||
      next.own !== p.own
    );
  }

  render({ row, index, start, setSize, selected, open, own, pick }: RowProps) {
    return (
      <div
        id={`activity-${row.id}`}
        role="option"
        aria-selected={selected}
        aria-posinset={index + 1}
        aria-setsize={setSize}
        class={`activity-row${selected ? " selected" : ""}${open ? " open" : ""}${row.deleted ? " deleted" : ""}`}
        data-testid="workout-row"
        data-activity-id={row.id}
        data-workout-id={row.workout_id ?? ""}
        data-copies={row.copies.length}
        style={{ transform: `translateY(${start}px)` }}
        onClick={() => pick(row)}
      >
        <span class="when">{startedAt(row.start_utc, row.utc_offset_seconds)}</span>
        <span class="sport">{SPORT_LABELS[row.sport]}</span>
        <span class="name">{row.name ?? "Untitled"}</span>
        <span class="num">{distance(row.distance_m)}</span>
        <span class="num">{duration(row.moving_seconds ?? row.elapsed_seconds)}</span>
        <span class="num pace">{paceOrSpeed(row.sport, row.distance_m, row.moving_seconds ?? row.elapsed_seconds)}</span>
        <span class="num hr">{row.avg_heart_rate ? Math.round(row.avg_heart_rate) : "—"}</span>
        <SourceBadges copies={row.copies} only={own ? row.id : undefined} />
      </div>
    );
  }
}
