import { useCallback, useEffect, useState } from "preact/hooks";
import {
  api,
  describe,
  onCoreEvent,
  onDeepLink,
  type AppInfo,
  type Connection,
  type ProviderInfo,
  type ProviderKind,
  type Summary,
  type SyncRun,
} from "./lib/ipc";
import { when } from "./lib/format";
import { ProviderCard, type Progress } from "./components/ProviderCard";
import { History, PAGE } from "./components/History";

type Notice = { kind: "ok" | "error"; text: string };

export function App() {
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [providers, setProviders] = useState<ProviderInfo[]>([]);
  const [connections, setConnections] = useState<Connection[]>([]);
  const [latest, setLatest] = useState<Partial<Record<ProviderKind, SyncRun>>>({});
  const [summary, setSummary] = useState<Summary | null>(null);
  const [progress, setProgress] = useState<Partial<Record<ProviderKind, Progress>>>({});
  const [busy, setBusy] = useState<ProviderKind | null>(null);
  const [selected, setSelected] = useState<ProviderKind | null>(null);
  const [history, setHistory] = useState<SyncRun[]>([]);
  const [page, setPage] = useState(0);
  const [notice, setNotice] = useState<Notice | null>(null);

  const fail = (e: unknown) => setNotice({ kind: "error", text: describe(e) });

  const refresh = useCallback(async () => {
    try {
      const [ps, cs, s] = await Promise.all([api.providers(), api.connections(), api.summary()]);
      const runs = await Promise.all(cs.map((c) => api.status(c.provider)));
      const byProvider: Partial<Record<ProviderKind, SyncRun>> = {};
      cs.forEach((c, i) => {
        const run = runs[i];
        if (run) byProvider[c.provider] = run;
      });
      setProviders(ps);
      setConnections(cs);
      setSummary(s);
      setLatest(byProvider);
    } catch (e) {
      fail(e);
    }
  }, []);

  const loadHistory = useCallback(async (p: ProviderKind | null, pageNo: number) => {
    if (!p) return setHistory([]);
    try {
      setHistory(await api.history(p, PAGE, pageNo * PAGE));
    } catch (e) {
      setHistory([]);
      fail(e);
    }
  }, []);

  useEffect(() => {
    // Anything unexpected is shown, not swallowed.
    const onError = (e: ErrorEvent) => fail(e.error ?? e.message);
    const onRejection = (e: PromiseRejectionEvent) => fail(e.reason);
    window.addEventListener("error", onError);
    window.addEventListener("unhandledrejection", onRejection);
    return () => {
      window.removeEventListener("error", onError);
      window.removeEventListener("unhandledrejection", onRejection);
    };
  }, []);

  useEffect(() => {
    api.appInfo().then(setInfo, fail);
    void refresh();
    const subscriptions = [
      onCoreEvent((event) => {
        if (event.type === "sync_progress") {
          const { fetched, created } = event.counters;
          setProgress((p) => ({ ...p, [event.provider]: { fetched, created } }));
        } else if (event.type === "sync_started") {
          setProgress((p) => ({ ...p, [event.provider]: { fetched: 0, created: 0 } }));
        } else {
          if (event.type === "sync_finished") {
            setProgress((p) => {
              const next = { ...p };
              delete next[event.provider];
              return next;
            });
          }
          void refresh();
        }
      }),
      onDeepLink((outcome) => {
        setBusy(null);
        setNotice({ kind: outcome.ok ? "ok" : "error", text: outcome.message });
        void api.takeDeepLinkOutcomes().catch(() => []); // shown now: not again on a reload
        void refresh();
      }),
    ];
    // A link that started the app was handled before we listened: show its outcome now.
    api.takeDeepLinkOutcomes().then((unseen) => {
      const last = unseen[unseen.length - 1];
      if (last) setNotice({ kind: last.ok ? "ok" : "error", text: last.message });
    }, fail);
    return () => subscriptions.forEach((s) => s.then((unlisten) => unlisten()));
  }, [refresh]);

  useEffect(() => {
    void loadHistory(selected, page);
  }, [selected, page, latest, loadHistory]);

  const act = async (p: ProviderKind, action: () => Promise<unknown>) => {
    setBusy(p);
    try {
      await action();
      await refresh();
    } catch (e) {
      fail(e);
    } finally {
      setBusy(null);
    }
  };

  const byProvider = (p: ProviderKind) => connections.find((c) => c.provider === p);
  const selectedInfo = providers.find((p) => p.provider === selected);

  return (
    <main>
      <header class="top">
        <h1>Tributary</h1>
        {info?.sandbox && (
          <span class="demo" data-testid="demo-banner" title="Every provider is the built-in sandbox">
            Demo mode — sandbox providers, no real accounts
          </span>
        )}
      </header>

      {notice && (
        <div class={`notice ${notice.kind}`} data-testid="notice" role="status">
          <span>{notice.text}</span>
          <button class="link" onClick={() => setNotice(null)} aria-label="Dismiss">×</button>
        </div>
      )}

      {summary && (
        <section class="summary" data-testid="summary">
          <div><strong>{summary.total_connections}</strong> connections</div>
          <div><strong>{summary.enabled_connections}</strong> on</div>
          <div><strong data-testid="summary-activities">{summary.total_activities}</strong> activities</div>
          <div><strong>{summary.total_syncs}</strong> sync runs</div>
          <div class={summary.attention_needed > 0 ? "attention" : ""}>
            <strong>{summary.attention_needed}</strong> need attention
          </div>
          <div>last sync {when(summary.last_sync_at)}</div>
        </section>
      )}

      <section class="cards">
        {providers.map((p) => (
          <ProviderCard
            key={p.provider}
            info={p}
            connection={byProvider(p.provider)}
            latest={latest[p.provider]}
            progress={progress[p.provider]}
            busy={busy === p.provider}
            selected={selected === p.provider}
            onConnect={() =>
              act(p.provider, async () => {
                await api.connect(p.provider);
                setNotice({ kind: "ok", text: `Continue in your browser to connect ${p.capabilities.display_name}.` });
              })
            }
            onSync={() => act(p.provider, () => api.startSync(p.provider))}
            onCancelSync={() => act(p.provider, () => api.cancelSync(p.provider))}
            onToggle={() => act(p.provider, () => api.toggle(p.provider))}
            onDisconnect={(keep) =>
              act(p.provider, async () => {
                const done = await api.disconnect(p.provider, keep);
                if (selected === p.provider) setSelected(null);
                setNotice(
                  done.revoke_error
                    ? { kind: "error", text: `Disconnected, but revoking at the provider failed: ${done.revoke_error}` }
                    : { kind: "ok", text: `Disconnected ${p.capabilities.display_name}; ${done.activities_deleted} activities deleted.` },
                );
              })
            }
            onSelect={() => {
              setSelected(p.provider);
              setPage(0);
            }}
          />
        ))}
      </section>

      {selected && selectedInfo && (
        <History
          provider={selected}
          name={selectedInfo.capabilities.display_name}
          runs={history}
          page={page}
          onPage={setPage}
        />
      )}
    </main>
  );
}
