import "./lib/locale"; // first: before uPlot's module reads navigator.language
import { render } from "preact";
import { App } from "./App";
import { Fatal, fatalMessage } from "./components/Fatal";
import { Store } from "./lib/store";
import { TauriBackend } from "./lib/tauri";
import { applyTheme, loadTheme } from "./lib/theme";
import "./styles.css";

applyTheme(loadTheme()); // before the first paint: no flash of the wrong theme
const root = document.getElementById("app");
const fatal = fatalMessage(window.location.hash);
if (root && fatal !== null) render(<Fatal message={fatal} />, root);
// The UI always talks to the real core: to work on it, run the app (`scripts/run.sh`, on the
// sandbox). The fake under tests/support is the unit tests' double only.
else if (root) render(<App store={new Store(new TauriBackend())} />, root);
