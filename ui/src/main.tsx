import { render } from "preact";
import { App } from "./App";
import { Store } from "./lib/store";
import { TauriBackend } from "./lib/tauri";
import { applyTheme, loadTheme } from "./lib/theme";
import "./styles.css";

applyTheme(loadTheme()); // before the first paint: no flash of the wrong theme
const root = document.getElementById("app");
if (root) render(<App store={new Store(new TauriBackend())} />, root);
