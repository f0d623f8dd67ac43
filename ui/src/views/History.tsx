import { useEffect, useRef } from "preact/hooks";
import { HistoryChart } from "../components/HistoryChart";
import { when } from "../lib/format";
import { useAppStore, useStore } from "../lib/hooks";
import { navigate } from "../lib/router";
import { PAGE } from "../lib/store";
import type { ProviderKind } from "../lib/types";

/** A connection's runs: the chart over the last 180 days, then the runs newest first, a page at a
 * time. The store refetches the open page and the chart's runs when one of its runs ends. */
export function History({ provider: p }: { provider: ProviderKind }) {
  const store = useAppStore();
  const history = useStore((s) => s.history);
  const connected = useStore((s) => s.cards[p] !== undefined);
  const ready = useStore((s) => s.status !== "loading");
  const name = useStore((s) => s.providers.find((i) => i.provider === p)?.capabilities.display_name ?? p);
  const panel = useRef<HTMLElement>(null);

  useEffect(() => {
    void store.loadHistory(p, 0);
    panel.current?.scrollIntoView?.({ block: "nearest" });
    return () => store.closeHistory();
  }, [store, p]);

  // Disconnected (here or elsewhere): nothing left to show.
  useEffect(() => {
    if (ready && !connected) navigate({ name: "dashboard" });
  }, [ready, connected]);

  const page = history?.provider === p ? history.page : 0;
  const runs = history?.provider === p ? history.runs : null;
  return (
    <section class="panel history" data-testid={`history-panel-${p}`} ref={panel}>
      <header>
        <h2>{name} sync history</h2>
        <a href="#/" data-testid="history-close">
          Close
        </a>
      </header>
      <HistoryChart key={p} provider={p} />
      {runs === null ? (
        <p class="muted">Loading…</p>
      ) : runs.length === 0 ? (
        <p class="muted">No sync yet.</p>
      ) : (
        <>
          <table>
            <thead>
              <tr>
                <th>Started</th><th>Trigger</th><th>Status</th><th>Fetched</th><th>New</th>
                <th>Updated</th><th>Unchanged</th><th>Failed</th><th>API calls</th><th>Error</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.id} data-testid="history-row" data-status={r.status} data-trigger={r.trigger}>
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
        <button data-testid="history-newer" disabled={page === 0} onClick={() => store.loadHistory(p, page - 1)}>
          Newer
        </button>
        <span>page {page + 1}</span>
        <button
          data-testid="history-older"
          disabled={runs === null || runs.length < PAGE}
          onClick={() => store.loadHistory(p, page + 1)}
        >
          Older
        </button>
      </nav>
    </section>
  );
}
