import uPlot from "uplot";
import "uplot/dist/uPlot.min.css"; // bundled into assets/*.css (CSP: style-src 'self')
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { cssColor, useThemeVersion } from "../lib/theme";

export type Color = (name: string, fallback: string) => string;

type Props = {
  testid: string;
  /** Names the plot for assistive technology, with how to move through it. */
  label: string;
  height: number;
  /** uPlot's aligned data: x (unix seconds), then one array per series. */
  data: uPlot.AlignedData;
  /** uPlot's options, built with the stylesheet's colours. */
  options: (color: Color) => Omit<uPlot.Options, "width" | "height">;
  /** What the options depend on (series, units): the plot is built again when it changes. */
  shape: string;
  /** The sentence announced when the keyboard cursor reaches point `index`. */
  describe: (index: number) => string;
  /** A drag across the plot selected [min, max] on x. */
  onZoom?: (min: number, max: number) => void;
};

/** Whether this webview can draw on a canvas (happy-dom, in tests, cannot). */
const canDraw = () => typeof Path2D !== "undefined" && document.createElement("canvas").getContext("2d") !== null;

/** A uPlot chart's lifecycle in Preact: built on mount (and again on a theme or shape change,
 * since canvas colours are read once), fed new data in place, resized with its container,
 * destroyed on unmount. The canvas is hidden from assistive technology; the focusable wrapper
 * moves uPlot's cursor with the arrow keys and announces each point, and the figure around it
 * carries the caption and the table. Without a canvas it degrades to those. */
export function Chart({ testid, label, height, data, options, shape, describe, onZoom }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef({ data, onZoom });
  latest.current = { data, onZoom };
  const theme = useThemeVersion();
  const [drawn, setDrawn] = useState(true);
  const [cursor, setCursor] = useState<number | null>(null);
  const [said, say] = useState("");

  useLayoutEffect(() => {
    const el = host.current;
    if (!el) return;
    if (!canDraw()) {
      setDrawn(false);
      return;
    }
    const base = options(cssColor);
    const zoom = (u: uPlot) => {
      const { left, width } = u.select;
      if (width < 3) return;
      u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
      latest.current.onZoom?.(u.posToVal(left, "x"), u.posToVal(left + width, "x"));
    };
    const u = new uPlot(
      {
        ...base,
        width: el.clientWidth || 600,
        height,
        cursor: { ...base.cursor, drag: onZoom ? { x: true, y: false, setScale: false } : { x: false, y: false } },
        hooks: {
          ...base.hooks,
          setSelect: [...(base.hooks?.setSelect ?? []), zoom],
          // Each scale's range as uPlot drew it, for tests that check the axes against the data.
          draw: [
            ...(base.hooks?.draw ?? []),
            (u: uPlot) => {
              const scales = Object.fromEntries(
                Object.entries(u.scales).map(([k, sc]) => [k, [sc.min ?? null, sc.max ?? null]]),
              );
              el.dataset.scales = JSON.stringify(scales);
              // And what the data spans: x's first and last, each scale's largest value.
              const xs = u.data[0];
              const top: Record<string, number> = {};
              u.series.forEach((series, i) => {
                const key = series.scale;
                if (i === 0 || !key) return;
                for (const v of u.data[i] ?? []) if (typeof v === "number") top[key] = Math.max(top[key] ?? v, v);
              });
              el.dataset.extent = JSON.stringify({ x: [xs[0] ?? null, xs[xs.length - 1] ?? null], top });
            },
          ],
        },
      },
      latest.current.data,
      el,
    );
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: el.clientWidth || 600, height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
    // `options` is a new function each render; `shape` says when it means something new.
  }, [theme, shape, height]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  const points = data[0].length;
  const onKeyDown = (e: KeyboardEvent) => {
    if (points === 0) return;
    const from = plot.current?.cursor.idx ?? cursor;
    let next: number;
    if (e.key === "ArrowRight") next = from === null || from === undefined ? 0 : Math.min(points - 1, from + 1);
    else if (e.key === "ArrowLeft") next = from === null || from === undefined ? points - 1 : Math.max(0, from - 1);
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = points - 1;
    else return;
    e.preventDefault();
    setCursor(next);
    say(describe(next));
    const u = plot.current;
    if (u) u.setCursor({ left: u.valToPos(data[0][next]!, "x"), top: u.bbox.height / uPlot.pxRatio / 2 });
  };

  return (
    <>
      <div
        class="chart-plot"
        data-testid={`${testid}-plot`}
        tabIndex={0}
        role="application"
        aria-roledescription="chart"
        aria-label={label}
        onKeyDown={onKeyDown}
        onBlur={() => plot.current?.setCursor({ left: -10, top: -10 })}
      >
        <div ref={host} class="chart-canvas" aria-hidden="true" />
        {!drawn && <p class="muted">This window cannot draw charts; the table below has the figures.</p>}
      </div>
      <p class="visually-hidden" aria-live="polite" data-testid={`${testid}-live`}>
        {said}
      </p>
    </>
  );
}
