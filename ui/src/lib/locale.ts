// Runs before anything else (main.tsx imports it first). WebKitGTK started under LANG=C (or
// C.UTF-8, as in CI and minimal desktops) reports navigator.language "C", which is no language
// tag: `new Intl.NumberFormat("C")` throws a RangeError. uPlot makes exactly that call when its
// module loads, which would stop the whole bundle before the first render. Where the tag is not
// usable, navigator.language is made the first usable one, else "en-US".
function usable(tag: string | undefined): boolean {
  if (!tag) return false;
  try {
    new Intl.NumberFormat(tag);
    return true;
  } catch {
    return false;
  }
}

if (typeof navigator !== "undefined" && !usable(navigator.language)) {
  const language = (navigator.languages ?? []).find(usable) ?? "en-US";
  Object.defineProperty(navigator, "language", { configurable: true, get: () => language });
}
