import { useEffect, useRef } from "preact/hooks";
import { CloseAsk } from "./components/CloseAsk";
import { DropHint } from "./components/ImportPanel";
import { KeyringProblem } from "./components/KeyringProblem";
import { Notice } from "./components/Notice";
import { StoreContext, useAppStore, useStore } from "./lib/hooks";
import { href, navigate, useRoute } from "./lib/router";
import type { Store } from "./lib/store";
import { Activities } from "./views/Activities";
import { Dashboard } from "./views/Dashboard";
import { History } from "./views/History";
import { Providers } from "./views/Providers";
import { Settings } from "./views/Settings";

/** The shell: header and navigation, the notice, and the routed view. */
export function App({ store }: { store: Store }) {
  useEffect(() => {
    const stop = store.start();
    // Anything unexpected is shown, not swallowed.
    const onError = (e: ErrorEvent) => store.fail(e.error ?? e.message);
    const onRejection = (e: PromiseRejectionEvent) => store.fail(e.reason);
    window.addEventListener("error", onError);
    window.addEventListener("unhandledrejection", onRejection);
    // A notification or the tray asks for a connection: now, or before this window existed.
    const stopFocus = store.backend.onFocus((provider) => navigate({ name: "history", provider }));
    store.backend.takeFocus().then((provider) => provider && navigate({ name: "history", provider }), (e) => store.fail(e));
    return () => {
      stop();
      stopFocus();
      window.removeEventListener("error", onError);
      window.removeEventListener("unhandledrejection", onRejection);
    };
  }, [store]);

  return (
    <StoreContext.Provider value={store}>
      <Shell />
    </StoreContext.Provider>
  );
}

function Shell() {
  const route = useRoute();
  const store = useAppStore();
  const sandbox = useStore((s) => s.info?.sandbox ?? false);
  const ready = useStore((s) => s.status === "ready");
  const told = useRef(false);
  useEffect(() => {
    if (!ready || told.current) return;
    told.current = true;
    // Only feeds the shell's "shown after open" timing: a failure is not the athlete's concern.
    store.backend.windowReady().catch(() => undefined);
  }, [ready, store]);
  // A confirmation ("Connected to Wahoo.") belongs to the view it was said in: leaving the view
  // takes it away. Errors stay until dismissed (issue 19, item 9).
  const view = route.name;
  const seenView = useRef(view);
  useEffect(() => {
    if (seenView.current === view) return;
    seenView.current = view;
    if (store.get().notice?.kind === "ok") store.dismissNotice();
  }, [view, store]);
  // History opens within the dashboard: its tab stays current.
  const tab = route.name === "history" ? "dashboard" : route.name;
  const current = (name: string) => (tab === name ? "page" : undefined);
  return (
    <main>
      <header class="top">
        <h1>Tributary</h1>
        {sandbox && (
          <span class="demo" data-testid="demo-banner" title="Every provider is a built-in stand-in (the sandbox)">
            Demo mode — simulated providers, no real accounts
          </span>
        )}
        <nav class="tabs" aria-label="Views">
          <a href={href({ name: "dashboard" })} data-testid="nav-dashboard" aria-current={current("dashboard")}>
            Dashboard
          </a>
          <a href={href({ name: "activities" })} data-testid="nav-activities" aria-current={current("activities")}>
            Activities
          </a>
          <a href={href({ name: "providers" })} data-testid="nav-providers" aria-current={current("providers")}>
            Providers
          </a>
          <a href={href({ name: "settings" })} data-testid="nav-settings" aria-current={current("settings")}>
            Settings
          </a>
        </nav>
      </header>
      <KeyringProblem />
      <Notice />
      <DropHint />
      <CloseAsk />
      {route.name === "settings" ? (
        <Settings />
      ) : route.name === "providers" ? (
        <Providers focus={route.provider} />
      ) : route.name === "activities" ? (
        <Activities />
      ) : (
        <Dashboard selected={route.name === "history" ? route.provider : undefined}>
          {route.name === "history" && <History provider={route.provider} />}
        </Dashboard>
      )}
    </main>
  );
}
