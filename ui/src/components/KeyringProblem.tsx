import { useAppStore, useStore } from "../lib/hooks";

/** Why tokens cannot be kept (a locked or missing keyring), with the fix, from the core. It stays
 * while the problem lasts: no sign-in can work meanwhile, so it is not something to dismiss. */
export function KeyringProblem() {
  const store = useAppStore();
  const problem = useStore((s) => s.info?.keyring_problem ?? null);
  if (!problem) return null;
  return (
    <div class="keyring-problem" data-testid="keyring-problem" role="alert">
      <strong>Tokens cannot be kept:</strong> <span>{problem}</span>
      <button data-testid="keyring-recheck" onClick={() => store.refreshInfo()}>
        Check again
      </button>
    </div>
  );
}
