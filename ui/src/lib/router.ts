// A hash router: five flat routes, one parameter. The webview loads index.html from disk, so the
// hash keeps every route on that one document (no reloads, nothing for the asset protocol to
// resolve), and anchors with `#/…` need no click interception.
import { useEffect, useState } from "preact/hooks";
import type { ProviderKind } from "./types";

export type Route =
  | { name: "dashboard" }
  | { name: "history"; provider: ProviderKind }
  | { name: "activities" }
  /** `provider`: the section of the connect wizard to bring into view. */
  | { name: "providers"; provider?: ProviderKind }
  | { name: "settings" };

export const PROVIDERS: readonly ProviderKind[] = ["strava", "garmin", "polar", "coros", "wahoo", "google_health"];

export function parse(hash: string): Route {
  const [, first, second] = hash.replace(/^#/, "").split("/");
  const provider = PROVIDERS.find((p) => p === second);
  if (first === "providers") return provider ? { name: "providers", provider } : { name: "providers" };
  // The wizard lived in Settings before it had a view of its own: its old links still land on it.
  if (first === "settings") return provider ? { name: "providers", provider } : { name: "settings" };
  if (first === "activities") return { name: "activities" };
  if (first === "history" && provider) return { name: "history", provider };
  return { name: "dashboard" };
}

export function href(route: Route): string {
  switch (route.name) {
    case "dashboard":
      return "#/";
    case "providers":
      return route.provider ? `#/providers/${route.provider}` : "#/providers";
    case "settings":
      return "#/settings";
    case "activities":
      return "#/activities";
    case "history":
      return `#/history/${route.provider}`;
  }
}

const listeners = new Set<() => void>();
const notify = () => listeners.forEach((l) => l());
window.addEventListener("hashchange", notify);

export function navigate(route: Route) {
  const target = href(route);
  if (location.hash === target) return;
  location.hash = target;
  notify(); // now, not when the browser gets to `hashchange`
}

export function useRoute(): Route {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const update = () => setHash(location.hash);
    listeners.add(update);
    update();
    return () => void listeners.delete(update);
  }, []);
  return parse(hash);
}
