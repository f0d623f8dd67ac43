import { PROVIDER_NAMES, badgeTitle } from "../lib/format";
import type { CopyRef } from "../lib/types";

/** A workout's sources, one badge per copy, the primary (the copy shown and counted) first and
 * filled; hovering a badge tells why that copy is in the workout and how sure the match is. */
export function SourceBadges({ copies }: { copies: CopyRef[] }) {
  const lone = copies.length === 1;
  return (
    <span class="badges">
      {copies.map((c) => (
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
    </span>
  );
}
