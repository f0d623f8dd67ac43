import type { CardAction } from "../lib/actions";
import { useAppStore } from "../lib/hooks";
import { href } from "../lib/router";
import type { ProviderKind } from "../lib/types";

type Props = { provider: ProviderKind; action: CardAction; busy: boolean };

/** A card's one-click action, as actions.ts decided it, with its note and fix. Whatever needs the
 * athlete's own input (API credentials, a personal key) opens that provider's wizard section. */
export function PrimaryAction({ provider: p, action, busy }: Props) {
  const store = useAppStore();
  const wizard = href({ name: "providers", provider: p });
  const run = () => {
    switch (action.kind) {
      case "connect":
      case "reauth":
        return store.connect(p);
      case "sync":
        return store.sync(p);
      case "cancel":
        return store.cancelSync(p);
    }
  };
  // Each kind keeps the test id it always had (connect-, reauth-, sync-, cancel-).
  const testid = action.kind === "none" || action.kind === "settings" ? null : `${action.kind}-${p}`;
  // A key is pasted in the wizard: the action is a link there (a button while it cannot be used).
  const link = action.kind === "settings" ? `credentials-${p}` : action.key && !action.disabled ? testid : null;
  return (
    <>
      {link ? (
        <a class="button primary" href={wizard} data-testid={link}>
          {action.label}
        </a>
      ) : (
        testid && (
          <button
            class={action.kind === "cancel" ? "" : "primary"}
            data-testid={testid}
            disabled={action.disabled || (busy && action.kind !== "cancel")}
            title={action.note ?? undefined}
            onClick={run}
          >
            {action.label}
          </button>
        )
      )}
      {action.note && (
        <span class="note" data-testid={`action-note-${p}`}>
          {action.note}
        </span>
      )}
      {action.move && action.moveByKey && (
        <a class="button" href={wizard} data-testid={`move-${p}`}>
          {action.move}
        </a>
      )}
      {action.move && !action.moveByKey && (
        <button
          data-testid={`move-${p}`}
          disabled={busy}
          title="One sign-in at the provider; every activity stays, none is fetched twice."
          onClick={() => void store.connect(p)}
        >
          {action.move}
        </button>
      )}
      {action.appSettings && (
        <button data-testid={`app-settings-${p}`} onClick={() => void store.openAppSettings(p)}>
          {action.appSettings}
        </button>
      )}
      {action.fix && (
        <a href={wizard} data-testid={`credentials-${p}`}>
          {action.fix}
        </a>
      )}
    </>
  );
}
