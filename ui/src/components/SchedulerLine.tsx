import { useAppStore, useStore } from "../lib/hooks";

/** The background scheduler, when it is paused or a provider is out of reach. */
export function SchedulerLine() {
  const store = useAppStore();
  const scheduler = useStore((s) => s.scheduler);
  const providers = useStore((s) => s.providers);
  if (!scheduler || (!scheduler.paused && scheduler.offline.length === 0)) return null;
  const names = scheduler.offline.map((p) => providers.find((i) => i.provider === p)?.capabilities.display_name ?? p);
  return (
    <p class="scheduler" data-testid="scheduler-status">
      {scheduler.paused && (
        <span>
          Background sync is paused.{" "}
          <button class="link" data-testid="scheduler-resume" onClick={() => store.updateSettings({ paused: false })}>
            Resume
          </button>
        </span>
      )}
      {names.length > 0 && <span>Offline: {names.join(", ")} — runs wait until they can be reached.</span>}
    </p>
  );
}
