import { useEffect, useRef } from "preact/hooks";
import { STATE_LABELS } from "../lib/format";
import { useStore } from "../lib/hooks";
import type { ProviderInfo } from "../lib/types";
import { AppSteps } from "./AppSteps";
import { KeySteps } from "./KeySteps";
import { ProviderFacts } from "./ProviderFacts";

type Props = {
  info: ProviderInfo;
  focused: boolean;
  /** The real-account steps (not in the demo, where nothing needs setting up; a personal key is
   * still pasted there, the demo's own). */
  steps?: boolean;
};

/** One provider's section of the connect wizard: what it offers and demands, then the steps of
 * its door (an application of the athlete's own, or a personal key). */
export function ProviderWizard({ info, focused, steps = true }: Props) {
  const p = info.provider;
  const caps = info.capabilities;
  const state = useStore((s) => s.cards[p]?.connection.state);
  const section = useRef<HTMLElement>(null);
  useEffect(() => {
    // Opened from a card: bring the section into view, its first field ready to type in.
    if (!focused || !section.current) return;
    section.current.scrollIntoView?.({ block: "start" });
    section.current.querySelector<HTMLInputElement>("input")?.focus({ preventScroll: true });
  }, [focused]);
  const keyed = caps.sign_in === "personal_key";
  const status = state
    ? STATE_LABELS[state]
    : keyed
      ? "Needs your personal key"
      : info.credentials_configured
        ? "Ready to connect"
        : "Needs your API application";
  return (
    <section
      ref={section}
      class={`wizard state-${state ?? "none"}${focused ? " focused" : ""}`}
      id={`wizard-${p}`}
      data-testid={`wizard-${p}`}
      aria-labelledby={`wizard-title-${p}`}
    >
      <header>
        <h3 id={`wizard-title-${p}`}>{caps.display_name}</h3>
        <span class="state" data-testid={`wizard-status-${p}`}>
          {status}
        </span>
      </header>
      <ProviderFacts info={info} />
      {keyed ? <KeySteps info={info} demo={!steps} /> : steps && <AppSteps info={info} />}
    </section>
  );
}
