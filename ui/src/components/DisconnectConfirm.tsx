import { useEffect, useRef } from "preact/hooks";
import { deleteOnDisconnect, revokePlace } from "../lib/guide";
import { useAppStore, useStore } from "../lib/hooks";
import type { ProviderInfo } from "../lib/types";

type Props = { info: ProviderInfo; onClose: () => void };

/** Disconnecting asks what becomes of the provider's activities. The recommended choice (first,
 * highlighted) is what the provider's terms require: Strava's API agreement has its data removed
 * when access ends; the others leave the choice to the athlete, and keeping loses nothing. The
 * focus is on Cancel for every provider: a destructive choice is never what Enter does. */
export function DisconnectConfirm({ info, onClose }: Props) {
  const store = useAppStore();
  const p = info.provider;
  // The door this connection is on decides whether an app can revoke it (Polar v4 cannot).
  const door = useStore((s) => s.cards[p]?.door) ?? info.capabilities.door;
  const name = info.capabilities.display_name;
  const byTerms = deleteOnDisconnect(p);
  const preferred = useRef<HTMLButtonElement>(null);
  useEffect(() => preferred.current?.focus(), []);
  const choose = (keep: boolean) => {
    onClose();
    void store.disconnect(p, keep);
  };
  const remove = (
    <button
      key="delete"
      class={byTerms ? "danger default" : "danger"}
      data-testid={`disconnect-delete-${p}`}
      data-default={String(byTerms)}
      onClick={() => choose(false)}
    >
      Delete its activities
    </button>
  );
  const keep = (
    <button
      key="keep"
      class={byTerms ? "" : "primary"}
      data-testid={`disconnect-keep-${p}`}
      data-default={String(!byTerms)}
      onClick={() => choose(true)}
    >
      Keep its activities
    </button>
  );
  const place = revokePlace(p, info.capabilities.sign_in);
  return (
    <div class="confirm" data-testid={`confirm-disconnect-${p}`} role="group" aria-label={`Disconnect ${name}`}>
      <span>
        Disconnect {name}?{" "}
        {info.capabilities.sign_in === "personal_key"
          ? `An app cannot revoke a personal key: delete it yourself at ${place.url ?? place.where}.`
          : door.revoke_by_hand
            ? `${name} has no revoke API for ${door.name}: Tributary forgets its tokens, and you remove Tributary yourself at ${door.revoke_by_hand}.`
            : `Tributary asks ${name} to revoke its access and tells you whether it did.`}
      </span>
      {byTerms && (
        <span class="terms" data-testid={`disconnect-terms-${p}`}>
          {name}'s API agreement requires removing its data when access ends, so deleting is the default.
        </span>
      )}
      <button class="link" data-testid={`disconnect-export-${p}`} onClick={() => void store.exportLibrary("json")}>
        Export everything first
      </button>
      {byTerms ? [remove, keep] : [keep, remove]}
      <button class="link" ref={preferred} data-testid={`disconnect-cancel-${p}`} onClick={onClose}>
        Cancel
      </button>
    </div>
  );
}
