import { attentionTitle } from "../lib/format";
import { useAppStore, useStore } from "../lib/hooks";
import { navigate } from "../lib/router";

/** What needs the athlete now (open episodes, and good news said once). */
export function AttentionBanner() {
  const store = useAppStore();
  const attention = useStore((s) => s.attention);
  const providers = useStore((s) => s.providers);
  if (attention.length === 0) return null;
  const name = (p: string) => providers.find((i) => i.provider === p)?.capabilities.display_name ?? p;
  return (
    <section class="attention-banner" data-testid="attention-banner" aria-label="Needs your attention">
      <ul>
        {attention.map((a) => (
          <li key={`${a.provider}-${a.kind}`} class={a.kind === "backfill_finished" ? "good" : ""} data-kind={a.kind}>
            <strong>{a.title ?? attentionTitle(a.kind, name(a.provider))}</strong>
            {a.message && <span> — {a.message}</span>}
            <button class="link" onClick={() => navigate({ name: "history", provider: a.provider })}>
              Show
            </button>
            <button class="link" aria-label="Dismiss" onClick={() => store.dismissAttention(a)}>
              ×
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
