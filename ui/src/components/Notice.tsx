import { useAppStore, useStore } from "../lib/hooks";
import { href } from "../lib/router";

/** The latest notice: a command's outcome, a deep link's, or any error, by its message. */
export function Notice() {
  const store = useAppStore();
  const notice = useStore((s) => s.notice);
  if (!notice) return null;
  return (
    <div class={`notice ${notice.kind}`} data-testid="notice" role="status">
      <span>{notice.text}</span>
      {notice.settingsLink && (
        <a href={href({ name: "providers" })} data-testid="notice-settings">
          Add API credentials
        </a>
      )}
      <button class="link" onClick={() => store.dismissNotice()} aria-label="Dismiss">
        ×
      </button>
    </div>
  );
}
