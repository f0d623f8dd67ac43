import uPlot from "uplot";
import { useEffect, useMemo, useState } from "preact/hooks";
import { describeWeek, stack, volumeCaption, volumeLayers, weekTime, weekTotals, type Metric } from "../lib/chartData";
import { SPORT_LABELS, count, distance, hours } from "../lib/format";
import { useAppStore, useStore } from "../lib/hooks";
import type { Sport } from "../lib/types";
import { Chart, type Color } from "./Chart";

const HALF_WEEK = 3.5 * 86_400;

/** A fallback per sport when the stylesheet has none (styles.css defines light and dark). */
const SPORT_FALLBACK: Record<Sport, string> = {
  run: "#0f7f87",
  trail_run: "#5b8c2a",
  ride: "#d9822b",
  virtual_ride: "#a0629f",
  swim: "#2f6fd0",
  walk: "#8c7a5b",
  hike: "#6b5bd0",
  row: "#1f9e89",
  ski: "#6aa6c8",
  strength: "#c0504d",
  other: "#7d8a8c",
};

function options(sports: Sport[], metric: Metric) {
  return (color: Color): Omit<uPlot.Options, "width" | "height"> => {
    const fg = color("--muted", "#5b6f75");
    const grid = color("--line", "#e4ecec");
    const bars = uPlot.paths.bars!({ size: [0.75, 40, 2] });
    // Top layer first: each lower layer is drawn over the one above it.
    const series = [...sports].reverse().map((sport) => {
      const c = color(`--sport-${sport}`, SPORT_FALLBACK[sport]);
      return { label: SPORT_LABELS[sport], paths: bars, fill: c, stroke: c, points: { show: false } };
    });
    return {
      scales: {
        // half a week either side, so the first and last bars are whole
        x: { time: true, range: (_u, min, max) => [min - HALF_WEEK, max + HALF_WEEK] },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      series: [{}, ...series],
      axes: [
        { stroke: fg, grid: { stroke: grid }, ticks: { stroke: grid } },
        { stroke: fg, grid: { stroke: grid }, ticks: { stroke: grid }, label: metric === "distance" ? "km" : "hours", labelSize: 20 },
      ],
      legend: { show: false },
    };
  };
}

/** Training volume per week over the last year, stacked by sport, each workout counted once
 * (its primary copy). Fetched when shown and after any run that changed activities. */
export function VolumeChart() {
  const store = useAppStore();
  const volume = useStore((s) => s.volume);
  const [metric, setMetric] = useState<Metric>("distance");

  useEffect(() => {
    void store.loadVolume();
    return () => store.closeVolume();
  }, [store]);

  const totals = useMemo(() => (volume?.buckets ? weekTotals(volume.buckets, volume.weeks) : []), [volume]);
  const { sports, layers } = useMemo(() => volumeLayers(totals, metric), [totals, metric]);
  const data = useMemo(() => {
    const tops = stack(layers);
    return [totals.map((t) => weekTime(t.week)), ...tops.reverse()] as uPlot.AlignedData;
  }, [totals, layers]);
  const workouts = totals.some((t) => t.count > 0);

  return (
    <section class="panel">
      <figure class="chart-figure" data-testid="volume-chart">
        <header class="chart-head">
          <h2>Weekly volume</h2>
          <label class="switch">
            Show
            <select data-testid="volume-metric" value={metric} onChange={(e) => setMetric(e.currentTarget.value as Metric)}>
              <option value="distance">distance</option>
              <option value="time">time</option>
            </select>
          </label>
        </header>
        <figcaption data-testid="volume-chart-caption">
          {volume?.buckets ? volumeCaption(totals, metric) : "Loading the weekly volume…"}
        </figcaption>
        {workouts && (
          <>
            <ul class="chart-legend" aria-label="Sports">
              {sports.map((s) => (
                <li key={s}>
                  <span class={`swatch sport-${s}`} aria-hidden="true" />
                  {SPORT_LABELS[s]}
                </li>
              ))}
            </ul>
            <Chart
              testid="volume-chart"
              label={`Weekly ${metric === "distance" ? "distance" : "time"} by sport. Left and right arrows move between weeks, Home and End jump to the first and last.`}
              height={200}
              data={data}
              options={options(sports, metric)}
              shape={`${metric}:${sports.join(",")}`}
              describe={(i) => describeWeek(totals[i]!, metric)}
            />
            <details>
              <summary>The figures as a table</summary>
              <table data-testid="volume-chart-table">
                <thead>
                  <tr>
                    <th scope="col">Week of</th>
                    <th scope="col">Workouts</th>
                    <th scope="col">Distance</th>
                    <th scope="col">Time</th>
                    <th scope="col">Climbed</th>
                    <th scope="col">By sport</th>
                  </tr>
                </thead>
                <tbody>
                  {totals.map((t) => (
                    <tr key={t.week}>
                      <th scope="row">{t.week}</th>
                      <td>{count(t.count)}</td>
                      <td>{distance(t.distance_m)}</td>
                      <td>{hours(t.seconds)}</td>
                      <td>{count(Math.round(t.elevation_m))} m</td>
                      <td>{t.sports.map((s) => `${SPORT_LABELS[s.sport]} ${count(s.count)}`).join(", ")}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </details>
          </>
        )}
      </figure>
    </section>
  );
}
