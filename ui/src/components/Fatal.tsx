/** What the window shows when Tributary could not open its data (the shell put the reason in
 * the URL's fragment): the reason, and what the athlete can do. No command runs here; closing
 * the window quits. */
export function Fatal({ message }: { message: string }) {
  return (
    <main class="fatal" data-testid="fatal">
      <h1>Tributary cannot start</h1>
      <p data-testid="fatal-message">{message}</p>
      <p>
        Nothing was changed. Close this window to quit. If another version of Tributary wrote this data, install that
        version or a newer one; to start over instead, move the data folder named above aside.
      </p>
    </main>
  );
}

/** The reason in `#fatal=…`, if this window was opened to say one. */
export function fatalMessage(hash: string): string | null {
  if (!hash.startsWith("#fatal=")) return null;
  try {
    return decodeURIComponent(hash.slice("#fatal=".length).replace(/\+/g, " "));
  } catch {
    return "Tributary could not open its data.";
  }
}
