// Import's words: an import's outcome counts and its progress, as the athlete reads them.
import { about, count } from "./format";
import type { ImportProgress, OutcomeCounts } from "./types";

/** Each outcome in plain words, in the order shown. */
export const OUTCOME_WORDS: { key: keyof OutcomeCounts; one: string; many: string }[] = [
  { key: "imported", one: "new workout", many: "new workouts" },
  { key: "linked", one: "joined a workout you had", many: "joined workouts you had" },
  { key: "duplicate", one: "already here", many: "already here" },
  { key: "skipped", one: "not an activity", many: "not activities" },
  { key: "refused", one: "could not be read", many: "could not be read" },
];

/** "12 new workouts · 8 joined workouts you had · 3 already here" (outcomes with files). */
export function outcomeLine(c: OutcomeCounts): string {
  const parts = OUTCOME_WORDS.filter((o) => c[o.key] > 0).map(
    (o) => `${count(c[o.key])} ${c[o.key] === 1 ? o.one : o.many}`,
  );
  return parts.length > 0 ? parts.join(" · ") : "no files";
}

/** "Reading… 120 files · 45 % · about 2 min left". */
export function progressLine(p: ImportProgress): string {
  const parts = [`${count(p.files)} ${p.files === 1 ? "file" : "files"}`];
  if (p.bytes_total > 0) parts.push(`${Math.min(100, Math.floor((p.bytes_done / p.bytes_total) * 100))} %`);
  if (p.eta_seconds !== null) parts.push(`${about(p.eta_seconds)} left`);
  return parts.join(" · ");
}
