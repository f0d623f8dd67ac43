import { count, when } from "../lib/format";
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
  const on = connections.filter((c) => c.enabled).length;
  const attention = connections.filter((c) => ATTENTION.includes(c.state)).length;
  return (
    <section class="summary" data-testid="summary">
      <div>
        <strong>{connections.length}</strong> {connections.length === 1 ? "connection" : "connections"}
      </div>
      <div>
        <strong>{on > 0 && on === connections.length ? "all" : on}</strong> syncing
      </div>
      <div title="A session recorded by two providers is one workout with two copies: the Activities list shows each workout once, or every copy.">
        <strong data-testid="summary-workouts">{count(summary.total_workouts)}</strong> {summary.total_workouts === 1 ? "workout" : "workouts"}{" "}
        <span class="muted">
          (<span data-testid="summary-activities">{count(summary.total_activities)}</span> {summary.total_activities === 1 ? "copy" : "copies"})
        </span>
      </div>
      <div>
        <strong>{summary.total_syncs}</strong> {summary.total_syncs === 1 ? "sync run" : "sync runs"}
      </div>
      <div class={attention > 0 ? "attention" : ""}>
        <strong>{attention}</strong> {attention === 1 ? "needs attention" : "need attention"}
      </div>
      <div>last sync {when(summary.last_sync_at)}</div>
    </section>
  );
}
