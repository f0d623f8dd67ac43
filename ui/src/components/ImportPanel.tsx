import { useEffect, useState } from "preact/hooks";
import { useAppStore, useStore } from "../lib/hooks";
import { outcomeLine, progressLine } from "../lib/imports";
import { PROVIDER_NAMES, when } from "../lib/format";
import type { ImportReport } from "../lib/types";

/** What can be imported, said on the buttons (and by the hint while files are dragged). */
const WHAT =
  "Exports from Strava, Garmin, Polar or Google Takeout, a watch's folder, or FIT, GPX and TCX files; you can also drop them on the window.";

/** Import: the two ways in (files or a folder; a drop anywhere works too), the progress of the
 * import under way, the last result with the files that could not be read and why, and past
 * imports, each of which can be forgotten. */
export function ImportPanel() {
  const store = useAppStore();
  const importing = useStore((s) => s.importing);
  const result = useStore((s) => s.importResult);
  const seen = useStore((s) => s.importsSeen);
  const [past, setPast] = useState<ImportReport[] | null>(null);
  const [showPast, setShowPast] = useState(false);

  useEffect(() => {
    if (!showPast) return;
    let live = true;
    store.backend.listImports().then(
      (list) => live && setPast(list),
      (e) => live && store.fail(e),
    );
    return () => {
      live = false;
    };
  }, [store, showPast, seen]);

  return (
    <div class="import" data-testid="import">
      <div class="import-actions">
        <button
          data-testid="import-files"
          title={WHAT}
          disabled={importing !== null}
          onClick={() => void store.importFiles("files")}
        >
          Import files…
        </button>
        <button
          data-testid="import-folder"
          title={WHAT}
          disabled={importing !== null}
          onClick={() => void store.importFiles("folder")}
        >
          Import a folder…
        </button>
        <button class="link" data-testid="imports-toggle" aria-expanded={showPast} onClick={() => setShowPast(!showPast)}>
          {showPast ? "Hide past imports" : "Past imports"}
        </button>
      </div>
      {importing && (
        <div class="import-progress" role="status" data-testid="import-progress">
          <progress
            max={importing.bytes_total || 1}
            value={Math.min(importing.bytes_done, importing.bytes_total || 1)}
            aria-label="Import progress"
          />
          <span>Importing… {progressLine(importing)}</span>
          <button data-testid="import-stop" onClick={() => void store.cancelImport()}>
            Stop
          </button>
        </div>
      )}
      {result && <ImportResult report={result} onClose={() => store.dismissImport()} onForget={() => void store.forgetImport(result.id)} />}
      {showPast && (
        <ul class="import-past" data-testid="imports-past">
          {past === null && <li class="muted">Loading…</li>}
          {past?.length === 0 && <li class="muted">No imports yet.</li>}
          {past?.map((r) => (
            <li key={r.id} data-testid={`import-${r.id}`}>
              <span>
                <strong>{r.label}</strong> · {when(r.started_at)} · {outcomeLine(r.counts)}
                {r.status === "interrupted" && " · stopped before the end (import it again to finish)"}
                {r.status === "cancelled" && " · stopped by you"}
              </span>
              <button class="link" data-testid={`import-forget-${r.id}`} onClick={() => void store.forgetImport(r.id)}>
                Forget ({r.copies === 1 ? "1 copy" : `${r.copies} copies`})
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function ImportResult({ report, onClose, onForget }: { report: ImportReport; onClose: () => void; onForget: () => void }) {
  const stopped = report.status !== "finished";
  return (
    <div class="import-result" role="status" data-testid="import-result">
      <p>
        <strong>{stopped ? "Import stopped" : "Imported"}</strong> {report.label}: <span data-testid="import-counts">{outcomeLine(report.counts)}</span>
        {stopped && ". What was read is kept; import the same files again to finish."}
      </p>
      <ul class="import-counts">
        <li data-testid="import-imported">New workouts: {report.counts.imported}</li>
        <li data-testid="import-linked">Joined workouts you had: {report.counts.linked}</li>
        <li data-testid="import-duplicate">Already here: {report.counts.duplicate}</li>
        <li data-testid="import-skipped">Not activities (monitoring, sleep, lists): {report.counts.skipped}</li>
        <li data-testid="import-refused">Could not be read: {report.counts.refused}</li>
      </ul>
      {report.refused.length > 0 && (
        <details open={report.refused.length <= 5} data-testid="import-refused-list">
          <summary>Files that could not be read, and why</summary>
          <ul>
            {report.refused.map((f) => (
              <li key={f.path}>
                <code>{f.path}</code> ({PROVIDER_NAMES[f.source]}): {f.reason ?? "no reason given"}
              </li>
            ))}
          </ul>
        </details>
      )}
      <div class="import-result-actions">
        <button data-testid="import-close" onClick={onClose}>
          Close
        </button>
        {report.copies > 0 && (
          <button class="link" data-testid="import-forget" onClick={onForget}>
            Undo: forget this import ({report.copies === 1 ? "1 copy" : `${report.copies} copies`})
          </button>
        )}
      </div>
    </div>
  );
}

/** Shown while files are dragged over the window: a drop imports them. */
export function DropHint() {
  const store = useAppStore();
  const [over, setOver] = useState(false);
  useEffect(() => store.backend.onDragOver(setOver), [store]);
  if (!over) return null;
  return (
    <div class="drop-hint" data-testid="drop-hint" aria-live="polite">
      Drop to import: exports, folders, FIT, GPX or TCX files
    </div>
  );
}
