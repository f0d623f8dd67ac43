import "./lib/locale"; // first: before uPlot's module reads navigator.language
import { render } from "preact";
import { App } from "./App";
import { Fatal, fatalMessage } from "./components/Fatal";
import type { Backend } from "./lib/backend";
import { Store } from "./lib/store";
import { TauriBackend } from "./lib/tauri";
import { applyTheme, loadTheme } from "./lib/theme";
import "./styles.css";

/** The app's core over Tauri; in a dev server opened in a plain browser, the test suite's fake
 * (tests/support: it stands in for the core in UI tests and is no part of the app; dropped from
 * production builds, where `import.meta.env.DEV` is false). */
async function backend(): Promise<Backend> {
  if (import.meta.env.DEV && !("__TAURI_INTERNALS__" in window)) return (await import("../tests/support/demo")).demoBackend();
  return new TauriBackend();
}

applyTheme(loadTheme()); // before the first paint: no flash of the wrong theme
const root = document.getElementById("app");
const fatal = fatalMessage(window.location.hash);
if (root && fatal !== null) render(<Fatal message={fatal} />, root);
else if (root) void backend().then((b) => render(<App store={new Store(b)} />, root));
