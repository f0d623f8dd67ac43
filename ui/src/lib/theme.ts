// Appearance: follow the system, or force light or dark. Kept in localStorage (a per-machine
// view preference, not a setting the core needs) and applied as data-theme on <html>, which
// styles.css reads next to prefers-color-scheme.
export type Theme = "system" | "light" | "dark";

const KEY = "tributary.theme";
const THEMES: readonly Theme[] = ["system", "light", "dark"];

export function loadTheme(): Theme {
  try {
    const saved = localStorage.getItem(KEY);
    return THEMES.find((t) => t === saved) ?? "system";
  } catch {
    return "system"; // storage unavailable: the system's look
  }
}

export function applyTheme(theme: Theme) {
  document.documentElement.dataset.theme = theme;
}

export function saveTheme(theme: Theme) {
  try {
    localStorage.setItem(KEY, theme);
  } catch {
    // still applied for this session
  }
  applyTheme(theme);
}
