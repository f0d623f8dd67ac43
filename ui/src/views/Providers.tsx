import { ProviderWizard } from "../components/ProviderWizard";
import { useStore } from "../lib/hooks";
import { href } from "../lib/router";
import type { ProviderKind } from "../lib/types";

type Props = { /** The provider whose section to bring into view (from a card). */ focus?: ProviderKind };

/** Setting up each provider: what it offers, then the steps of its door (an API application of
 * the athlete's own, or a personal key). In the demo there is nothing to set up, so no
 * real-account steps are shown: only what each provider offers, and the way to real accounts. */
export function Providers({ focus }: Props) {
  const info = useStore((s) => s.info);
  const providers = useStore((s) => s.providers);
  const wired = providers.filter((p) => p.capabilities.implemented);
  const keyed = wired
    .filter((p) => p.capabilities.sign_in === "personal_key")
    .map((p) => p.capabilities.display_name)
    .join(", ");
  const demo = info?.sandbox ?? false;
  return (
    <div class="settings">
      <section class="panel wide" aria-labelledby="providers-title">
        <h2 id="providers-title">Providers</h2>
        <p class="muted" data-testid="providers-intro">
          {demo ? (
            <>
              In the demo every provider is built in and needs no set-up: connect from the{" "}
              <a href={href({ name: "dashboard" })}>dashboard</a>. To use your real accounts, switch in{" "}
              <a href={href({ name: "settings" })}>Settings → Mode</a>; the steps for each provider appear here then.
            </>
          ) : (
            `Each provider needs your own API application${keyed ? ` (${keyed}: your own personal key instead)` : ""}. Secrets and keys go to your OS keyring and are never shown again.`
          )}
        </p>
        <nav class="wizard-index" aria-label="Providers">
          {wired.map((p) => (
            <a key={p.provider} href={href({ name: "providers", provider: p.provider })} aria-current={focus === p.provider ? "true" : undefined}>
              {p.capabilities.display_name}
            </a>
          ))}
        </nav>
        {wired.map((p) => (
          <ProviderWizard key={p.provider} info={p} focused={focus === p.provider} steps={!demo} />
        ))}
      </section>
    </div>
  );
}
