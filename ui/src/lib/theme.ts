// Appearance: follow the system, or force light or dark. Kept in localStorage (a per-machine
// view preference, not a setting the core needs) and applied as data-theme on <html>, which
// styles.css reads next to prefers-color-scheme.
import { useEffect, useReducer } from "preact/hooks";

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

/** A number that changes whenever the colours may have: the Settings choice (data-theme on
 * <html>) or the system's light/dark. Canvas charts read colours once, so they redraw on it. */
export function useThemeVersion(): number {
  const [version, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    const observer = new MutationObserver(() => bump(0));
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    const media = window.matchMedia?.("(prefers-color-scheme: dark)");
    const onMedia = () => bump(0);
    media?.addEventListener?.("change", onMedia);
    return () => {
      observer.disconnect();
      media?.removeEventListener?.("change", onMedia);
    };
  }, []);
  return version;
}

/** A colour from the stylesheet's custom properties (so charts follow light and dark). */
export function cssColor(name: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}
