import uPlot from "uplot";
import { useEffect, useMemo, useState } from "preact/hooks";
import { RUN_DAYS, bucketLabel, bucketRuns, describeBucket, historySeries, runsCaption } from "../lib/chartData";
import { count } from "../lib/format";
import { useAppStore, useStore } from "../lib/hooks";
import type { ProviderKind } from "../lib/types";
import { Chart, type Color } from "./Chart";

const DAY = 86_400;

/** Stacked layers, top first: uPlot draws in order, so each lower layer is drawn over the one
 * above it and shows as its own band. */
const LAYERS = [
  { label: "Failed", css: "--chart-failed", fallback: "#c0392b" },
  { label: "Unchanged", css: "--chart-skipped", fallback: "#b8c4c6" },
  { label: "Updated", css: "--chart-updated", fallback: "#e0a526" },
  { label: "Created", css: "--chart-created", fallback: "#0f7f87" },
] as const;

/** uPlot's options; `pad` (seconds) widens x so the first and last bars are whole. */
const options = (pad: number) => (color: Color): Omit<uPlot.Options, "width" | "height"> => {
  const fg = color("--muted", "#5b6f75");
  const grid = color("--line", "#e4ecec");
  const bars = uPlot.paths.bars!({ size: [0.7, 48, 2] });
  return {
    scales: {
      // From the data itself, half a bar's slot on each side: uPlot's own arguments for a single
      // bar drew a day of runs at the left of an axis reaching years ahead (issue 19, item 2).
      x: {
        time: true,
        range: (u) => {
          const xs = u.data[0];
          const first = xs[0] ?? 0;
          const last = xs[xs.length - 1] ?? first;
          return [first - pad, last + pad];
        },
      },
      y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
      calls: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
    },
    series: [
      {},
      ...LAYERS.map((l) => ({
        label: l.label,
        paths: bars,
        fill: color(l.css, l.fallback),
        stroke: color(l.css, l.fallback),
        points: { show: false },
      })),
      { label: "API calls", scale: "calls", stroke: color("--chart-calls", "#5a4fcf"), width: 2, points: { show: false } },
      {
        label: "Run failed",
        paths: () => null,
        points: { show: true, size: 11, width: 2, fill: color("--red", "#b3261e"), stroke: color("--surface", "#ffffff") },
      },
    ],
    axes: [
      { stroke: fg, grid: { stroke: grid }, ticks: { stroke: grid } },
      { stroke: fg, grid: { stroke: grid }, ticks: { stroke: grid }, label: "Activities", labelSize: 20 },
      { scale: "calls", side: 1, stroke: color("--chart-calls", "#5a4fcf"), grid: { show: false }, label: "API calls", labelSize: 20 },
    ],
    legend: { show: false },
  };
};

/** Half a bar's slot: half a bucket, or for one bar per run half the closest pair (at most a day). */
function padOf(buckets: readonly { start: number; size: number }[]): number {
  if (buckets[0]?.size) return buckets[0].size / 2;
  let gap = DAY;
  for (let i = 1; i < buckets.length; i++) gap = Math.min(gap, buckets[i]!.start - buckets[i - 1]!.start);
  return Math.max(60, gap / 2);
}

/** A connection's sync runs over the last 180 days: per run (or per hour, day or week when
 * runs crowd) the activities created, updated, unchanged and not stored, stacked; a marker on
 * failed runs; API calls on the right axis (the quota left is in the table). Drag across it to zoom. */
export function HistoryChart({ provider: p }: { provider: ProviderKind }) {
  const store = useAppStore();
  const stats = useStore((s) => s.runStats);
  const [zoom, setZoom] = useState<[number, number] | null>(null);

  useEffect(() => {
    void store.loadRunStats(p);
    return () => store.closeRunStats();
  }, [store, p]);

  const mine = stats?.provider === p ? stats : null;
  const window: [number, number] | null = mine ? [Date.parse(mine.since) / 1000, Date.parse(mine.until) / 1000] : null;
  const [from, to] = zoom ?? window ?? [0, 0];
  const buckets = useMemo(() => (mine?.points ? bucketRuns(mine.points, from, to) : []), [mine?.points, from, to]);
  const data = useMemo(() => {
    const s = historySeries(buckets);
    // The quota left is not drawn: on the API calls' axis its tens made the calls' ones unreadable,
    // and a line without an axis of its own says nothing true. It is in the table below.
    return [s.x, s.tops[3]!, s.tops[2]!, s.tops[1]!, s.tops[0]!, s.calls, s.markers] as uPlot.AlignedData;
  }, [buckets]);

  const pad = padOf(buckets);
  const testid = `history-chart-${p}`;
  const zoomTo = (days: number) => window && setZoom([window[1] - days * DAY, window[1]]);
  return (
    <figure class="chart-figure" data-testid={testid}>
      <figcaption data-testid={`${testid}-caption`}>
        {mine?.points ? runsCaption(mine.points, RUN_DAYS) : "Loading the sync history…"}
        {zoom && buckets.length > 0 && ` — showing ${bucketLabel(buckets[0]!)} to ${bucketLabel(buckets[buckets.length - 1]!)}`}
      </figcaption>
      {mine?.points && mine.points.length > 0 && (
        <>
          <div class="chart-tools">
            <ul class="chart-legend" aria-label="Series">
              {[...LAYERS].reverse().map((l) => (
                <li key={l.label}>
                  <span class={`swatch ${l.css.slice(2)}`} aria-hidden="true" />
                  {l.label}
                </li>
              ))}
              <li>
                <span class="swatch line chart-calls" aria-hidden="true" />
                API calls
              </li>
              <li>
                <span class="swatch dot" aria-hidden="true" />
                Run failed
              </li>
            </ul>
            <span class="zoom" role="group" aria-label="Zoom">
              <button class="link" data-testid={`${testid}-zoom-7`} onClick={() => zoomTo(7)}>
                7 days
              </button>
              <button class="link" data-testid={`${testid}-zoom-30`} onClick={() => zoomTo(30)}>
                30 days
              </button>
              <button data-testid={`${testid}-reset`} disabled={!zoom} onClick={() => setZoom(null)}>
                Reset zoom
              </button>
            </span>
          </div>
          {buckets.length === 0 ? (
            <p class="muted">No runs in this range.</p>
          ) : (
            <Chart
              testid={testid}
              label="Sync runs. Left and right arrows move between bars, Home and End jump to the first and last; drag across the chart to zoom."
              height={220}
              data={data}
              options={options(pad)}
              shape={`runs:${pad}`}
              describe={(i) => describeBucket(buckets[i]!)}
              onZoom={(min, max) => setZoom([min, Math.max(max, min + 60)])}
            />
          )}
          <details>
            <summary>The figures as a table</summary>
            <table data-testid={`history-chart-table-${p}`}>
              <thead>
                <tr>
                  <th scope="col">{buckets[0]?.size ? "Period" : "Run started"}</th>
                  <th scope="col">Runs</th>
                  <th scope="col">Created</th>
                  <th scope="col">Updated</th>
                  <th scope="col">Unchanged</th>
                  <th scope="col">Failed</th>
                  <th scope="col">Failed runs</th>
                  <th scope="col">API calls</th>
                  <th scope="col">Requests left</th>
                </tr>
              </thead>
              <tbody>
                {buckets.map((b, i) => (
                  <tr key={`${b.start}-${i}`} data-failed={b.failedRuns > 0 ? "" : undefined}>
                    <th scope="row">{bucketLabel(b)}</th>
                    <td>{count(b.runs)}</td>
                    <td>{count(b.created)}</td>
                    <td>{count(b.updated)}</td>
                    <td>{count(b.skipped)}</td>
                    <td>{count(b.failed)}</td>
                    <td class={b.failedRuns ? "error" : undefined}>{count(b.failedRuns)}</td>
                    <td>{count(b.apiCalls)}</td>
                    <td>{b.quotaLeft === null ? "—" : count(b.quotaLeft)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        </>
      )}
    </figure>
  );
}
