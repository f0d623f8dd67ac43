import uPlot from "uplot";
import { useEffect, useMemo, useState } from "preact/hooks";
import { describe } from "../lib/backend";
import { PROVIDER_NAMES, count } from "../lib/format";
import { useAppStore } from "../lib/hooks";
import { charts, clock, hasDistance, lapRow, track, window, xValues, type Axis, type RecordingChart } from "../lib/recording";
import type { CopyRecording, RecordingDetail, Sport } from "../lib/types";
import { Chart, type Color } from "./Chart";
import { RouteMap } from "./RouteMap";

type Props = {
  /** The activity opened. */
  id: number;
  sport: Sport;
  /** Changes when the library changed (a sync, a link): the recording is read again. */
  version: number;
};

const STATUS: Record<string, string> = {
  stored: "recording kept",
  unreadable: "file kept, but it cannot be read",
  none: "no recording at the provider",
  failed: "could not be fetched yet",
};

function copyLine(c: CopyRecording): string {
  if (c.status === null) return "not fetched yet";
  const what =
    c.status === "stored"
      ? c.source === "streams"
        ? `streams (${count(c.points)} samples)`
        : `${(c.format ?? "file").toUpperCase()} file (${count(c.points)} samples)`
      : STATUS[c.status] ?? c.status;
  return c.reason && c.status !== "stored" ? `${what}: ${c.reason}` : what;
}

function chartOptions(chart: RecordingChart, axis: Axis, sync: string, onCursor: (i: number | null) => void) {
  return (color: Color): Omit<uPlot.Options, "width" | "height"> => {
    const fg = color("--muted", "#5b6f75");
    const grid = color("--line", "#e4ecec");
    const stroke = color(`--stream-${chart.key}`, color("--accent", "#0f7f87"));
    return {
      scales: { x: { time: false }, y: { dir: chart.inverted ? -1 : 1 } },
      series: [
        { label: axis === "time" ? "Time" : "Distance", value: (_u, v) => (v === null ? "—" : axis === "time" ? clock(v) : `${v.toFixed(2)} km`) },
        { label: chart.title, stroke, width: 1.5, points: { show: false }, value: (_u, v) => (v === null ? "—" : chart.format(v)) },
      ],
      axes: [
        {
          stroke: fg,
          grid: { stroke: grid },
          ticks: { stroke: grid },
          values: (_u, splits) => splits.map((v) => (axis === "time" ? clock(v) : `${v} km`)),
        },
        {
          stroke: fg,
          grid: { stroke: grid },
          ticks: { stroke: grid },
          size: 56,
          values: (_u, splits) => splits.map((v) => (chart.key === "speed" && chart.inverted ? clock(v) : String(Math.round(v * 10) / 10))),
        },
      ],
      legend: { show: false },
      // One cursor for every chart of the recording, and the map's marker follows it.
      cursor: { sync: { key: sync }, points: { size: 6 } },
      hooks: { setCursor: [(u) => onCursor(u.cursor.idx ?? null)] },
    };
  };
}

/** A workout's recording: which copy it comes from (and the choice among the linked copies),
 * the route map, charts of its streams sharing one cursor (zoom by dragging across a chart),
 * and its laps; "Save original…" writes the file as it came. */
export function RecordingView({ id, sport, version }: Props) {
  const store = useAppStore();
  const [detail, setDetail] = useState<RecordingDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [copy, setCopy] = useState<number | null>(null);
  const [axis, setAxis] = useState<Axis>("time");
  const [zoom, setZoom] = useState<[number, number] | null>(null);
  const [cursor, setCursor] = useState<number | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    setError(null);
    store.backend
      .getRecording(id, copy)
      .then((d) => live && setDetail(d))
      .catch((e) => live && setError(describe(e)));
    return () => {
      live = false;
    };
  }, [store, id, copy, version]);

  useEffect(() => {
    setCopy(null);
    setZoom(null);
    setSaved(null);
  }, [id]);

  const shown = detail?.shown ?? null;
  const points = useMemo(() => (shown ? track(shown) : []), [shown]);
  const canDistance = shown ? hasDistance(shown) : false;
  const x = axis === "distance" && canDistance ? "distance" : "time";
  const xs = useMemo(() => (shown ? xValues(shown, x) : []), [shown, x]);
  const list = useMemo(() => (shown ? charts(shown, sport) : []), [shown, sport]);
  const [from, to] = window(xs, zoom);
  const sync = `recording-${id}`;

  if (error) {
    return (
      <p class="notice error" data-testid="recording-error">
        The recording could not be read: {error}
      </p>
    );
  }
  if (!detail) {
    return (
      <p class="muted" data-testid="recording-loading">
        Reading the recording…
      </p>
    );
  }
  const choose = async (target: number, pin: boolean) => {
    setBusy(true);
    try {
      setDetail(await store.backend.chooseRecording(target, pin));
      setCopy(null);
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  };
  const save = async () => {
    if (!shown) return;
    setBusy(true);
    try {
      const path = await store.backend.saveOriginal(shown.activity_id);
      setSaved(path ? `Saved to ${path}` : null);
    } catch (e) {
      setSaved(`Not saved: ${describe(e)}`);
    } finally {
      setBusy(false);
    }
  };
  const shownCopy = detail.copies.find((c) => c.activity_id === shown?.activity_id) ?? null;

  return (
    <section class="recording" data-testid="recording" aria-label="Recording">
      <h3>Recording</h3>
      {detail.fetch_error && (
        <p class="notice" data-testid="recording-fetch-error">
          Not fetched now: {detail.fetch_error}
        </p>
      )}
      {detail.copies.length > 1 && (
        <fieldset class="recording-copies" data-testid="recording-copies">
          <legend>Shown from</legend>
          {detail.copies.map((c) => (
            <label key={c.activity_id} class="copy-choice">
              <input
                type="radio"
                name={`recording-copy-${id}`}
                data-testid={`recording-copy-${c.activity_id}`}
                checked={shown?.activity_id === c.activity_id}
                // A copy not fetched yet is fetched when chosen; one with nothing to show is not.
                disabled={busy || c.status === "none" || c.status === "unreadable"}
                onChange={() => setCopy(c.activity_id)}
              />
              <strong>{PROVIDER_NAMES[c.provider]}</strong> <span class="muted">{copyLine(c)}</span>
            </label>
          ))}
          {shown && (
            <p class="actions">
              {detail.chosen ? (
                <button data-testid="recording-unpin" disabled={busy} onClick={() => void choose(shown.activity_id, false)}>
                  Let Tributary choose (the richest recording)
                </button>
              ) : (
                <button data-testid="recording-pin" disabled={busy} onClick={() => void choose(shown.activity_id, true)}>
                  Always show {PROVIDER_NAMES[shown.provider]}'s
                </button>
              )}
            </p>
          )}
        </fieldset>
      )}
      {!shown ? (
        <p class="muted" data-testid="recording-none">
          {detail.copies.length === 1 ? copyLine(detail.copies[0]!) : "No copy has a recording yet."}
        </p>
      ) : (
        <div data-testid="recording-shown" data-activity={shown.activity_id}>
          <p class="muted" data-testid="recording-source">
            From {PROVIDER_NAMES[shown.provider]}: {shownCopy ? copyLine(shownCopy) : ""}
            {detail.chosen ? " · your choice" : ""}
          </p>
          <RouteMap points={points} cursor={cursor} />
          <div class="chart-tools">
            {canDistance && (
              <label class="switch">
                Along
                <select data-testid="recording-axis" value={x} onChange={(e) => { setAxis(e.currentTarget.value as Axis); setZoom(null); }}>
                  <option value="time">time</option>
                  <option value="distance">distance</option>
                </select>
              </label>
            )}
            {zoom && (
              <button class="link" data-testid="recording-zoom-reset" onClick={() => setZoom(null)}>
                Show all
              </button>
            )}
          </div>
          {list.map((c) => {
            const data = [xs.slice(from, to + 1), c.values.slice(from, to + 1)] as uPlot.AlignedData;
            return (
              <figure
                key={c.key}
                class="chart-figure recording-chart"
                data-testid={`recording-chart-${c.key}`}
                data-points={data[0].length}
                data-x-min={data[0][0] ?? ""}
                data-x-max={data[0][data[0].length - 1] ?? ""}
              >
                <figcaption>
                  {c.title} ({c.unit})
                </figcaption>
                <Chart
                  testid={`recording-chart-${c.key}`}
                  label={`${c.title} along the ${x}. Left and right arrows move the cursor; drag across to zoom.`}
                  height={110}
                  data={data}
                  options={chartOptions(c, x, sync, (i) => setCursor(i === null ? null : i + from))}
                  shape={`${c.key}:${x}`}
                  describe={(i) => {
                    const v = c.values[i + from];
                    const at = x === "time" ? clock(xs[i + from] ?? 0) : `${(xs[i + from] ?? 0).toFixed(2)} km`;
                    return `${at}: ${v === null || v === undefined ? "no value" : c.format(v)}`;
                  }}
                  onZoom={(min, max) => setZoom([min, max])}
                />
              </figure>
            );
          })}
          {shown.laps.length > 0 && (
            <details open={shown.laps.length <= 12}>
              <summary>Laps ({shown.laps.length})</summary>
              <table data-testid="recording-laps">
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">Starts at</th>
                    <th scope="col">Time</th>
                    <th scope="col">Distance</th>
                    <th scope="col">{["run", "trail_run", "walk", "hike"].includes(sport) ? "Pace" : "Speed"}</th>
                    <th scope="col">Heart rate</th>
                    <th scope="col">Power</th>
                  </tr>
                </thead>
                <tbody>
                  {shown.laps.map((lap, i) => (
                    <tr key={i}>
                      <th scope="row">{i + 1}</th>
                      {lapRow(lap, sport).map((cell, j) => (
                        <td key={j}>{cell}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </details>
          )}
          {shownCopy?.sha256 && (
            <p class="actions">
              <button data-testid="save-original" disabled={busy} onClick={() => void save()}>
                Save original…
              </button>
              {saved && (
                <span class="muted" data-testid="save-original-result">
                  {" "}
                  {saved}
                </span>
              )}
            </p>
          )}
        </div>
      )}
    </section>
  );
}
