import type { Order, SortKey } from "../lib/types";

export type Sorting = { sort: SortKey; order: Order };
export const FIRST_SORTING: Sorting = { sort: "start", order: "descending" };

type Column = {
  key: SortKey | null;
  label: string;
  class?: string;
  title?: string;
  /** The first click's order: what an athlete looks for first (newest, A to Z, longest, fastest). */
  first?: Order;
  /** How each order reads, largest first then smallest first. */
  ways?: [string, string];
};

const COLUMNS: Column[] = [
  { key: "start", label: "Started", first: "descending", ways: ["newest first", "oldest first"] },
  { key: null, label: "Sport" },
  { key: "name", label: "Name", first: "ascending", ways: ["Z to A", "A to Z"] },
  { key: "distance", label: "Distance", class: "num", first: "descending", ways: ["farthest first", "shortest first"] },
  { key: "duration", label: "Time", class: "num", first: "descending", ways: ["longest first", "shortest first"] },
  { key: "speed", label: "Pace", class: "num pace", first: "descending", ways: ["fastest first", "slowest first"] },
  { key: null, label: "HR", class: "num hr", title: "Average heart rate, beats per minute" },
  { key: null, label: "Sources" },
];

/** What the list is sorted by, in words ("distance, farthest first"). */
export function sortingLabel({ sort, order }: Sorting): string {
  const c = COLUMNS.find((c) => c.key === sort)!;
  return `${c.label.toLowerCase()}, ${c.ways![order === "descending" ? 0 : 1]}`;
}

/** The list's column heads. Each sortable head is a button: a click sorts by it (in the order an
 * athlete wants first), a second click turns the order round. Rows without the value (no name,
 * no distance) come last either way. */
export function ListHeader({ sorting, onSort }: { sorting: Sorting; onSort: (s: Sorting) => void }) {
  return (
    <div class="activity-row head" role="group" aria-label="Sort the list">
      {COLUMNS.map((c) => {
        if (!c.key) {
          return (
            <span key={c.label} class={c.class} title={c.title}>
              {c.label}
            </span>
          );
        }
        const key = c.key;
        const active = sorting.sort === key;
        const next: Order = active ? (sorting.order === "descending" ? "ascending" : "descending") : c.first!;
        const arrow = active ? (sorting.order === "descending" ? " ▼" : " ▲") : "";
        return (
          <span key={c.label} class={c.class}>
            <button
              type="button"
              class="sort"
              data-testid={`sort-${key}`}
              aria-pressed={active}
              title={`Sort by ${c.label.toLowerCase()}, ${c.ways![next === "descending" ? 0 : 1]}`}
              onClick={() => onSort({ sort: key, order: next })}
            >
              {c.label}
              <span aria-hidden="true">{arrow}</span>
            </button>
          </span>
        );
      })}
    </div>
  );
}
