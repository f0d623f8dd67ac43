import L from "leaflet";
import "leaflet/dist/leaflet.css"; // bundled into assets/*.css (CSP: style-src 'self')
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { cssColor, useThemeVersion } from "../lib/theme";

type Point = { index: number; lat: number; lon: number };

type Props = {
  /** The route, each point with its index in the recording's series. */
  points: Point[];
  /** The charts' cursor (an index into the series), shown as a marker on the route. */
  cursor: number | null;
};

/** The route on a neutral background: Leaflet with vector layers only. No tile layer, so the map
 * makes no network request and the CSP needs nothing new; start and finish are marked, and the
 * charts' cursor moves a marker along the route. Without a canvas-capable window (unit tests)
 * it says what it would draw. */
export function RouteMap({ points, cursor }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const map = useRef<L.Map | null>(null);
  const marker = useRef<L.CircleMarker | null>(null);
  const theme = useThemeVersion();
  const [drawn, setDrawn] = useState(true);

  useLayoutEffect(() => {
    const el = host.current;
    if (!el || points.length === 0) return;
    if (!canDraw()) {
      setDrawn(false);
      return;
    }
    let m: L.Map;
    try {
      m = L.map(el, {
        attributionControl: false,
        zoomControl: true,
        // Vector layers on a canvas renderer: one element for thousands of points.
        preferCanvas: true,
        zoomSnap: 0.25,
      });
    } catch {
      setDrawn(false);
      return;
    }
    const route = cssColor("--accent", "#0f7f87");
    const latlngs = points.map((p) => L.latLng(p.lat, p.lon));
    const line = L.polyline(latlngs, { color: route, weight: 3, opacity: 0.9 }).addTo(m);
    const first = latlngs[0]!;
    const last = latlngs[latlngs.length - 1]!;
    L.circleMarker(first, { radius: 6, color: "#ffffff", weight: 2, fillColor: cssColor("--green", "#0d6b48"), fillOpacity: 1 })
      .bindTooltip("Start")
      .addTo(m);
    L.circleMarker(last, { radius: 6, color: "#ffffff", weight: 2, fillColor: cssColor("--red", "#b3261e"), fillOpacity: 1 })
      .bindTooltip("Finish")
      .addTo(m);
    marker.current = L.circleMarker(first, { radius: 5, color: cssColor("--fg", "#1d2b2f"), weight: 2, fillOpacity: 0.2, opacity: 0 }).addTo(m);
    m.fitBounds(line.getBounds(), { padding: [12, 12] });
    map.current = m;
    el.dataset.points = String(points.length);
    const resize = new ResizeObserver(() => m.invalidateSize());
    resize.observe(el);
    return () => {
      resize.disconnect();
      m.remove();
      map.current = null;
      marker.current = null;
    };
  }, [points, theme]);

  useEffect(() => {
    const mk = marker.current;
    if (!mk) return;
    const at = cursor === null ? null : nearest(points, cursor);
    if (!at) {
      mk.setStyle({ opacity: 0, fillOpacity: 0 });
      return;
    }
    mk.setLatLng([at.lat, at.lon]);
    mk.setStyle({ opacity: 1, fillOpacity: 0.35 });
    if (host.current) host.current.dataset.cursor = String(at.index);
  }, [cursor, points]);

  if (points.length === 0) {
    return (
      <p class="muted" data-testid="route-none">
        No route: recorded indoors or without GPS.
      </p>
    );
  }
  return (
    <div class="route-map-wrap">
      <div ref={host} class="route-map" data-testid="route-map" role="img" aria-label={`The route: ${points.length} points from start to finish`} />
      {!drawn && <p class="muted">This window cannot draw the map.</p>}
    </div>
  );
}

/** Whether this webview can draw on a canvas (happy-dom, in unit tests, cannot). */
const canDraw = () => typeof Path2D !== "undefined" && document.createElement("canvas").getContext("2d") !== null;

/** The route point at series index `index`, or the closest one before it (a sample may have
 * no position). */
function nearest(points: Point[], index: number): Point | null {
  let lo = 0;
  let hi = points.length - 1;
  if (hi < 0 || points[0]!.index > index) return points[0] ?? null;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (points[mid]!.index <= index) lo = mid;
    else hi = mid - 1;
  }
  return points[lo]!;
}
