import { useAppStore } from "../lib/hooks";
import type { ExportFormat } from "../lib/types";

const CHOICES: { format: ExportFormat; label: string; hint: string }[] = [
  { format: "csv", label: "CSV (spreadsheets)", hint: "a folder with one file of workouts and one of every copy" },
  { format: "json", label: "JSON", hint: "one file with everything, each copy's data as the provider sent it" },
  { format: "sqlite", label: "SQLite database", hint: "a copy of Tributary's whole database" },
  { format: "originals", label: "Original files", hint: "every recording as it came (FIT, GPX, TCX), with a list" },
];

/** "Export…": the whole library out of the window, in the core's four shapes (the save dialog
 * is the shell's). */
export function ExportMenu() {
  const store = useAppStore();
  return (
    <details class="export-menu" data-testid="export-menu">
      <summary>Export…</summary>
      <div class="menu">
        {CHOICES.map((c) => (
          <button key={c.format} data-testid={`export-${c.format}`} title={c.hint} onClick={() => void store.exportLibrary(c.format)}>
            {c.label}
          </button>
        ))}
      </div>
    </details>
  );
}
