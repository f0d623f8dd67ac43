import { PROVIDER_NAMES, badgeTitle } from "../lib/format";
import type { CopyRef } from "../lib/types";

type Props = {
  copies: CopyRef[];
  /** A row of one copy (the "every copy" list): only that copy's own source is a badge; its
   * workout's other sources are named after it, so the two rows of a pair read differently. */
  only?: number;
};

/** A workout's sources, one badge per copy, the primary (the copy shown and counted) first and
 * filled; hovering a badge tells why that copy is in the workout and how sure the match is. */
export function SourceBadges({ copies, only }: Props) {
  const lone = copies.length === 1;
  const shown = only === undefined ? copies : copies.filter((c) => c.activity_id === only);
  const others = only === undefined ? [] : copies.filter((c) => c.activity_id !== only);
  return (
    <span class="badges">
      {shown.map((c) => (
        <span
          key={c.activity_id}
          class={`badge provider-${c.provider}${c.primary && !lone ? " primary" : ""}`}
          data-testid={`badge-${c.provider}`}
          data-primary={c.primary ? "" : undefined}
          title={badgeTitle(c, lone)}
        >
          {PROVIDER_NAMES[c.provider]}
          {c.primary && !lone && <span class="visually-hidden"> (primary)</span>}
        </span>
      ))}
      {others.length > 0 && (
        <span class="also" data-testid="badge-also">
          also {others.map((c) => PROVIDER_NAMES[c.provider]).join(", ")}
        </span>
      )}
    </span>
  );
}
