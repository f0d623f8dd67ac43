import type { ComponentChildren } from "preact";
import { AttentionBanner } from "../components/AttentionBanner";
import { ProviderCard } from "../components/ProviderCard";
import { SchedulerLine } from "../components/SchedulerLine";
import { SummaryBar } from "../components/SummaryBar";
import { VolumeChart } from "../components/VolumeChart";
import { useAppStore, useStore } from "../lib/hooks";
import type { ProviderKind } from "../lib/types";

type Props = { selected?: ProviderKind; children?: ComponentChildren };

/** The six providers and the figures across them. A connection's History opens below the cards
 * (children), so the cards stay at hand while reading it; the weekly volume closes the page. */
export function Dashboard({ selected, children }: Props) {
  const store = useAppStore();
  const providers = useStore((s) => s.providers);
  const status = useStore((s) => s.status);
  const anyOn = useStore((s) => Object.values(s.cards).some((c) => c.connection.enabled));
  if (status === "failed" && providers.length === 0) {
    return (
      <section class="panel">
        <p>The dashboard could not be loaded.</p>
        <button onClick={() => store.reload()}>Try again</button>
      </section>
    );
  }
  return (
    <>
      <AttentionBanner />
      <SchedulerLine />
      <div class="toolbar">
        <SummaryBar />
        <button data-testid="sync-all" disabled={!anyOn} onClick={() => store.syncAll()}>
          Sync all now
        </button>
      </div>
      <section class="cards" aria-busy={status === "loading"}>
        {providers.map((info) => (
          <ProviderCard key={info.provider} info={info} selected={selected === info.provider} />
        ))}
      </section>
      {children}
      <VolumeChart />
    </>
  );
}
