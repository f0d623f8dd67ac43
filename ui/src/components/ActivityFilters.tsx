import { useEffect, useRef, useState } from "preact/hooks";
import { PROVIDER_NAMES, SPORT_LABELS } from "../lib/format";
import type { ListFilter, ListKind } from "../lib/pager";
import { PROVIDERS } from "../lib/router";
import type { ProviderKind, Sport } from "../lib/types";

/** Typing waits this long for a pause before the list is asked again. */
export const TEXT_DELAY_MS = 300;

export const FIRST_FILTER: ListFilter = {
  kind: "workouts",
  filter: { provider: null, sport: null, since: null, until: null, text: null },
};

/** A date input's day as the instant its local midnight begins (`next`: the day after's). */
export function dayStart(day: string, next = false): string | null {
  const [y, m, d] = day.split("-").map(Number);
  if (!y || !m || !d) return null;
  return new Date(y, m - 1, d + (next ? 1 : 0)).toISOString();
}

type Form = {
  kind: ListKind;
  provider: ProviderKind | "";
  sport: Sport | "";
  since: string;
  until: string;
  text: string;
};

const toQuery = (f: Form): ListFilter => ({
  kind: f.kind,
  filter: {
    provider: f.provider || null,
    sport: f.sport || null,
    since: dayStart(f.since),
    // "To" includes that day.
    until: dayStart(f.until, true),
    text: f.text.trim() || null,
  },
});

/** The browser's filters. Each change gives a whole new query (the list starts over); typed
 * text is passed on after a pause. */
export function ActivityFilters({ onChange }: { onChange: (query: ListFilter) => void }) {
  const [form, setForm] = useState<Form>({ kind: "workouts", provider: "", sport: "", since: "", until: "", text: "" });
  const typing = useRef<ReturnType<typeof setTimeout>>();
  useEffect(() => () => clearTimeout(typing.current), []);

  const update = (patch: Partial<Form>, wait = false) => {
    const next = { ...form, ...patch };
    setForm(next);
    clearTimeout(typing.current);
    if (wait) typing.current = setTimeout(() => onChange(toQuery(next)), TEXT_DELAY_MS);
    else onChange(toQuery(next));
  };

  return (
    <form class="filters" role="search" aria-label="Filter activities" onSubmit={(e) => e.preventDefault()}>
      <label>
        Provider
        <select data-testid="filter-provider" value={form.provider} onChange={(e) => update({ provider: e.currentTarget.value as ProviderKind | "" })}>
          <option value="">all</option>
          {PROVIDERS.map((p) => (
            <option key={p} value={p}>
              {PROVIDER_NAMES[p]}
            </option>
          ))}
        </select>
      </label>
      <label>
        Sport
        <select data-testid="filter-sport" value={form.sport} onChange={(e) => update({ sport: e.currentTarget.value as Sport | "" })}>
          <option value="">all</option>
          {(Object.keys(SPORT_LABELS) as Sport[]).map((s) => (
            <option key={s} value={s}>
              {SPORT_LABELS[s]}
            </option>
          ))}
        </select>
      </label>
      <label>
        From
        <input type="date" class={form.since ? "" : "empty"} data-testid="filter-since" value={form.since} onChange={(e) => update({ since: e.currentTarget.value })} />
      </label>
      <label>
        To
        <input type="date" class={form.until ? "" : "empty"} data-testid="filter-until" value={form.until} onChange={(e) => update({ until: e.currentTarget.value })} />
      </label>
      <label>
        Search
        <input
          type="search"
          data-testid="filter-text"
          placeholder="name or device"
          value={form.text}
          onInput={(e) => update({ text: e.currentTarget.value }, true)}
        />
      </label>
      <label class="switch" title="Every provider's copy on its own row, instead of each workout once">
        <input
          type="checkbox"
          data-testid="filter-copies"
          checked={form.kind === "activities"}
          onChange={(e) => update({ kind: e.currentTarget.checked ? "activities" : "workouts" })}
        />
        every copy
      </label>
    </form>
  );
}
