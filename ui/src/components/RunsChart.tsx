import { when } from "../lib/format";
import type { SyncRun } from "../lib/types";

/** A small chart of a page of runs, oldest left: fetched per run, new ones on top. Deliberately
 * simple: a later issue replaces the charts. SVG attributes only (no style strings: CSP). */
export function RunsChart({ runs }: { runs: SyncRun[] }) {
  const max = Math.max(1, ...runs.map((r) => r.counters.fetched));
  return (
    <svg class="chart" viewBox={`0 0 ${runs.length * 24} 60`} role="img" aria-label="Activities per run">
      {[...runs].reverse().map((r, i) => {
        const h = (r.counters.fetched / max) * 56;
        const created = (r.counters.created / max) * 56;
        return (
          <g key={r.id}>
            <title>{`${when(r.started_at)}: ${r.counters.fetched} fetched, ${r.counters.created} new`}</title>
            <rect x={i * 24 + 4} y={60 - h} width={16} height={h} class={`bar ${r.status}`} />
            <rect x={i * 24 + 4} y={60 - created} width={16} height={created} class="bar created" />
          </g>
        );
      })}
    </svg>
  );
}
