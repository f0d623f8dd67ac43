import type { ProviderKind, SyncRun } from "../lib/ipc";
import { when } from "../lib/format";

export const PAGE = 10;

type Props = {
  provider: ProviderKind;
  name: string;
  runs: SyncRun[];
  page: number;
  onPage: (page: number) => void;
};

/** A connection's sync history: a small chart of the page's runs and the table, newest first. */
export function History({ provider, name, runs, page, onPage }: Props) {
  const max = Math.max(1, ...runs.map((r) => r.counters.fetched));
  return (
    <section class="history" data-testid={`history-panel-${provider}`}>
      <h2>{name} sync history</h2>
      {runs.length === 0 ? (
        <p class="muted">No sync yet.</p>
      ) : (
        <>
          <svg class="chart" viewBox={`0 0 ${runs.length * 24} 60`} role="img" aria-label="Activities per run">
            {[...runs].reverse().map((r, i) => {
              const h = (r.counters.fetched / max) * 56;
              const created = (r.counters.created / max) * 56;
              return (
                <g key={r.id}>
                  <title>{`${when(r.started_at)}: ${r.counters.fetched} fetched, ${r.counters.created} new`}</title>
                  <rect x={i * 24 + 4} y={60 - h} width={16} height={h} class={`bar ${r.status}`} />
                  <rect x={i * 24 + 4} y={60 - created} width={16} height={created} class="bar created" />
                </g>
              );
            })}
          </svg>
          <table>
            <thead>
              <tr>
                <th>Started</th><th>Trigger</th><th>Status</th><th>Fetched</th><th>New</th>
                <th>Updated</th><th>Unchanged</th><th>Failed</th><th>API calls</th><th>Error</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.id} data-testid="history-row" data-status={r.status}>
                  <td>{when(r.started_at)}</td>
                  <td>{r.trigger.replace("_", " ")}</td>
                  <td class={`status ${r.status}`}>{r.status}</td>
                  <td>{r.counters.fetched}</td>
                  <td data-testid="history-created">{r.counters.created}</td>
                  <td>{r.counters.updated}</td>
                  <td>{r.counters.skipped}</td>
                  <td>{r.counters.failed}</td>
                  <td>{r.api_calls}</td>
                  <td class="error">{r.error_message ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <nav class="pager">
        <button disabled={page === 0} onClick={() => onPage(page - 1)}>Newer</button>
        <span>page {page + 1}</span>
        <button disabled={runs.length < PAGE} onClick={() => onPage(page + 1)}>Older</button>
      </nav>
    </section>
  );
}
