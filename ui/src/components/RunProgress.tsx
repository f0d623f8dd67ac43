import { etaLine, progressLine } from "../lib/format";
import { useStore } from "../lib/hooks";
import type { ProviderKind } from "../lib/types";

/** A running card's live figures: from the run's events, or from its row when it was already
 * running at load (then the page count is unknown). */
export function RunProgress({ provider: p }: { provider: ProviderKind }) {
  const progress = useStore((s) => s.progress[p]);
  const latest = useStore((s) => s.cards[p]?.latest_run);
  const counters = progress?.counters ?? latest?.counters;
  if (!counters) return null;
  const estimate = progress?.estimate;
  const pages = progress ? progress.pages : null;
  return (
    <div class="progress">
      <p data-testid={`progress-${p}`}>
        Syncing… {progressLine(counters, pages, progress?.api_calls ?? latest?.api_calls ?? 0)}
      </p>
      {estimate && pages !== null && (
        <progress value={pages} max={pages + estimate.remaining_pages} aria-label="Pages read" />
      )}
      {estimate && (
        <p class="muted" data-testid={`eta-${p}`}>
          {etaLine(estimate)}
        </p>
      )}
    </div>
  );
}
