import {
  CHOICE_LABELS,
  PROVIDER_NAMES,
  SPORT_LABELS,
  distance,
  duration,
  measure,
  percent,
  startedAt,
  when,
} from "../lib/format";
import { useAppStore, useStore } from "../lib/hooks";
import type { ActivityDetail as Detail } from "../lib/types";
import { RecordingView } from "./RecordingView";

type Props = {
  detail: Detail | null;
  /** A change is on its way: the actions wait. */
  busy: boolean;
  linking: boolean;
  onUnlink: (id: number) => void;
  onPrimary: (id: number) => void;
  onLinkStart: () => void;
  onClose: () => void;
};

/** One activity: every normalised field, the copies of its workout with why each is there and
 * who decided, the athlete's link / unlink / primary, and the provider's raw record. */
export function ActivityDetail({ detail, busy, linking, onUnlink, onPrimary, onLinkStart, onClose }: Props) {
  const store = useAppStore();
  const providers = useStore((s) => s.providers);
  if (!detail) {
    return (
      <aside class="activity-detail" data-testid="activity-detail" aria-busy="true">
        <p class="muted">Loading…</p>
      </aside>
    );
  }
  const a = detail.activity;
  // Sources whose provider has a public page per activity ("Open at Strava").
  const pages = new Set<string>(providers.filter((p) => p.capabilities.activity_page).map((p) => p.provider));
  const copies = detail.row.copies;
  const linked = copies.length > 1;
  const fields: [string, string][] = [
    ["From", PROVIDER_NAMES[a.provider]],
    ["Sport", SPORT_LABELS[a.sport]],
    ["Started", startedAt(a.start_utc, a.utc_offset_seconds)],
    ["Elapsed time", duration(a.elapsed_seconds)],
    ["Moving time", duration(a.moving_seconds)],
    ["Distance", distance(a.distance_m)],
    ["Climbed", measure(a.elevation_gain_m, "m")],
    ["Average heart rate", measure(a.avg_heart_rate, "bpm")],
    ["Maximum heart rate", measure(a.max_heart_rate, "bpm")],
    ["Energy", measure(a.calories, "kcal")],
    ["Average power", measure(a.avg_power_w, "W")],
    ["Maximum power", measure(a.max_power_w, "W")],
    ["Device", a.device ?? "—"],
  ];
  // Deleted at the provider is news; still there is not.
  if (a.deleted_at) fields.push([`At ${PROVIDER_NAMES[a.provider]}`, `deleted (no longer listed since ${when(a.deleted_at)})`]);
  const technical: [string, string][] = [
    [`ID at ${PROVIDER_NAMES[a.provider]}`, a.provider_activity_id],
    ["In Tributary's database", `activity ${a.id}, connection ${a.connection_id}`],
  ];
  return (
    <aside class="activity-detail" data-testid="activity-detail" aria-label="Activity details">
      <header>
        <h2 data-testid="detail-name">{a.name ?? "Untitled"}</h2>
        <button class="link" data-testid="detail-close" onClick={onClose} aria-label="Close the details">
          ×
        </button>
      </header>
      <RecordingView id={a.id} sport={a.sport} version={copies.length} />
      <dl data-testid="detail-fields">
        {fields.map(([k, v]) => [<dt key={`${k}-t`}>{k}</dt>, <dd key={`${k}-d`}>{v}</dd>])}
      </dl>
      <details class="tech" data-testid="detail-technical">
        <summary>Technical details</summary>
        <dl>{technical.map(([k, v]) => [<dt key={`${k}-t`}>{k}</dt>, <dd key={`${k}-d`}>{v}</dd>])}</dl>
      </details>

      <h3>{linked ? `One workout, ${copies.length} copies` : "Not linked to other copies"}</h3>
      <ul class="copies" data-testid="detail-copies">
        {copies.map((c) => (
          <li key={c.activity_id} data-testid={`copy-${c.activity_id}`} class={c.activity_id === a.id ? "this" : undefined}>
            <p class="copy-head">
              <strong>{PROVIDER_NAMES[c.provider]}</strong>
              {c.primary && linked && <span class="primary-flag">primary</span>}
              <code class="muted" title="The provider's id">
                {c.provider_activity_id}
              </code>
            </p>
            {linked && (
              <p>
                {c.reason ?? "—"}
                {c.confidence !== null && <span class="muted"> · {percent(c.confidence)}</span>}
              </p>
            )}
            <p class="muted">Decided: {CHOICE_LABELS[c.choice]}</p>
            {pages.has(c.provider) && (
              <p>
                <button class="link" data-testid={`open-at-${c.activity_id}`} onClick={() => void store.openActivityPage(c.activity_id)}>
                  Open at {PROVIDER_NAMES[c.provider]} ↗
                </button>
              </p>
            )}
            {linked && (
              <p class="actions">
                {!c.primary && (
                  <button data-testid={`make-primary-${c.activity_id}`} disabled={busy} onClick={() => onPrimary(c.activity_id)}>
                    Make primary
                  </button>
                )}
                <button
                  class="danger"
                  data-testid={`unlink-${c.activity_id}`}
                  disabled={busy}
                  title="Take this copy out of the workout; it will not be linked again automatically"
                  onClick={() => onUnlink(c.activity_id)}
                >
                  Take out
                </button>
              </p>
            )}
          </li>
        ))}
      </ul>
      <p>
        <button data-testid="link-start" disabled={busy || linking} onClick={onLinkStart}>
          Link with another copy…
        </button>
      </p>

      <details data-testid="raw-payload">
        <summary>What {PROVIDER_NAMES[a.provider]} sent (raw)</summary>
        <pre>{JSON.stringify(a.raw, null, 2)}</pre>
      </details>
    </aside>
  );
}
