import { when } from "../lib/format";
import { useStore } from "../lib/hooks";
import { NEEDS_ATTENTION } from "../lib/bindings";
import type { ConnectionState } from "../lib/types";

// The core's rule (ConnectionState::NEEDS_ATTENTION), from the bindings.
const ATTENTION: readonly ConnectionState[] = NEEDS_ATTENTION;

/** The figures across connections. Those about connections are counted from the cards, which
 * events keep current; activities and runs come from get_summary, fetched after a run ends. */
export function SummaryBar() {
  const summary = useStore((s) => s.summary);
  const cards = useStore((s) => s.cards);
  if (!summary) return null;
  const connections = Object.values(cards).map((c) => c.connection);
  return (
    <section class="summary" data-testid="summary">
      <div>
        <strong>{connections.length}</strong> connections
      </div>
      <div>
        <strong>{connections.filter((c) => c.enabled).length}</strong> on
      </div>
      <div>
        <strong data-testid="summary-activities">{summary.total_activities}</strong> activities
      </div>
      <div>
        <strong>{summary.total_syncs}</strong> sync runs
      </div>
      <div class={connections.some((c) => ATTENTION.includes(c.state)) ? "attention" : ""}>
        <strong>{connections.filter((c) => ATTENTION.includes(c.state)).length}</strong> need attention
      </div>
      <div>last sync {when(summary.last_sync_at)}</div>
    </section>
  );
}
