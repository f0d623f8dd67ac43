import { useEffect, useRef } from "preact/hooks";
import { useAppStore, useStore } from "../lib/hooks";

/** The window was closed on a desktop that shows no tray icons: hidden, Tributary would keep
 * syncing with nothing to click to bring it back or stop it. So the window asks. Quitting loses
 * nothing (a running sync is recorded as cancelled, and the next start catches up), so it is the
 * focused choice, as closing a window usually means. */
export function CloseAsk() {
  const store = useAppStore();
  const asked = useStore((s) => s.closeAsked);
  const quit = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asked) quit.current?.focus();
  }, [asked]);
  if (!asked) return null;
  return (
    <div class="overlay">
      <div class="panel close-ask" role="alertdialog" aria-labelledby="close-ask-title" aria-describedby="close-ask-text" data-testid="close-ask">
        <h2 id="close-ask-title">Quit Tributary, or keep syncing?</h2>
        <p id="close-ask-text">
          This desktop shows no tray icons, so once the window is gone nothing on screen brings it back. Tributary can keep
          syncing in the background (open it again from your applications to see it, or to quit), or quit now and catch up
          the next time you open it.
        </p>
        <div class="actions">
          <button ref={quit} class="primary" data-testid="close-quit" onClick={() => void store.quit()}>
            Quit Tributary
          </button>
          <button data-testid="close-keep" onClick={() => void store.keepSyncing()}>
            Keep syncing in the background
          </button>
        </div>
      </div>
    </div>
  );
}
