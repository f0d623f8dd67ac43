import { plainCapabilityLine, rateLimitLine } from "../lib/format";
import { APP_GUIDES, KEY_GUIDES } from "../lib/guide";
import type { Capabilities, ProviderInfo } from "../lib/types";

const TOKENS: Record<Capabilities["refresh"], string> = {
  none: "one long-lived access token, no refresh token: when it is refused, connect again",
  rotating: "short-lived access tokens, renewed with a refresh token",
  key_exchange: "your key is exchanged for a short-lived token, and again whenever that runs out",
};

/** What the athlete should know before choosing a provider's door: the capabilities as the
 * core states them, and the access tiers the provider imposes. */
export function ProviderFacts({ info }: { info: ProviderInfo }) {
  const caps = info.capabilities;
  const keyed = caps.sign_in === "personal_key";
  const notes = (keyed ? KEY_GUIDES[info.provider]?.notes : undefined) ?? APP_GUIDES[info.provider].notes;
  return (
    <>
      <ul class="tiers" data-testid={`wizard-notes-${info.provider}`}>
        {notes.map((n) => (
          <li key={n}>{n}</li>
        ))}
      </ul>
      <p data-testid={`wizard-plain-${info.provider}`}>{plainCapabilityLine(info)}</p>
      <details class="tech">
        <summary>Technical details</summary>
      <dl class="facts" data-testid={`wizard-facts-${info.provider}`}>
        <dt>How activities arrive</dt>
        <dd>
          {caps.delivery === "push_inbox"
            ? "push: the provider sends activities to your relay, and Tributary reads its inbox"
            : "pull: Tributary asks the provider for new activities"}
        </dd>
        <dt>History</dt>
        <dd>{caps.history_window_days ? `the last ${caps.history_window_days} days` : "your whole history"}</dd>
        <dt>Permissions asked (scopes)</dt>
        <dd>
          {caps.scopes.length > 0
            ? caps.scopes.map((s) => <code key={s}>{s} </code>)
            : keyed
              ? "none: the key reads what the personal API offers"
              : "none asked at sign-in: the provider grants them to your application"}
        </dd>
        <dt>Rate limits</dt>
        <dd>
          {caps.rate_limits.length > 0 ? (
            <ul class="plain">
              {caps.rate_limits.map((w) => (
                <li key={w.window}>{rateLimitLine(w)}</li>
              ))}
            </ul>
          ) : (
            "none published: when the provider says “too many requests”, the sync waits as told"
          )}
        </dd>
        <dt>Sign-in tokens</dt>
        <dd>{TOKENS[caps.refresh]}</dd>
      </dl>
      </details>
    </>
  );
}
