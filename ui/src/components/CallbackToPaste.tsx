import { APP_GUIDES, callback } from "../lib/guide";
import type { ProviderInfo } from "../lib/types";
import { CopyButton } from "./CopyButton";

/** The redirect the athlete registers with their application, derived from the capabilities:
 * exactly what the core will send, so the provider's comparison cannot fail on it. */
export function CallbackToPaste({ info }: { info: ProviderInfo }) {
  const p = info.provider;
  const caps = info.capabilities;
  const guide = APP_GUIDES[p];
  const cb = callback(p, caps);
  const testid = `wizard-callback-${p}`;
  switch (cb.kind) {
    case "none":
      return null;
    case "domain":
      return (
        <div class="callback">
          <span>{guide.callbackField}:</span>
          <code class="paste" data-testid={testid}>
            {cb.lines[0]}
          </code>
          <CopyButton text={cb.lines[0] ?? ""} testid={`${testid}-copy`} />
          <span class="muted">
            {caps.display_name} matches only this domain; it covers <code>{cb.covers}</code>, the redirect Tributary uses.
          </span>
        </div>
      );
    case "uris":
      return (
        <div class="callback">
          <span>
            {guide.callbackField}
            {cb.lines.length > 1 ? " (register each, exactly as written)" : " (exactly as written)"}:
          </span>
          {/* One per line: the text is what gets pasted, line by line. */}
          <code class="paste" data-testid={testid}>
            {cb.lines.join("\n")}
          </code>
          <CopyButton text={cb.lines.join("\n")} testid={`${testid}-copy`} />
        </div>
      );
    case "loopback":
      return (
        <div class="callback">
          <span>{guide.callbackField}:</span>
          <span data-testid={testid}>
            Nothing to paste: a {guide.clientType ?? "client of this type"} accepts loopback redirects on http://{cb.host}{" "}
            at any port by itself; Tributary listens there while you sign in.
          </span>
        </div>
      );
  }
}
