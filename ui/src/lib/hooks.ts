// Preact glue for the store: a context to reach it and a selector hook that re-renders a
// component only when what it selected changed (state is replaced, never mutated, so Object.is
// is enough). Select one value per call; build derived objects in the component.
import { createContext } from "preact";
import { useContext, useEffect, useReducer, useRef } from "preact/hooks";
import type { State, Store } from "./store";

export const StoreContext = createContext<Store | null>(null);

export function useAppStore(): Store {
  const store = useContext(StoreContext);
  if (!store) throw new Error("StoreContext is missing");
  return store;
}

export function useStore<T>(select: (s: State) => T): T {
  const store = useAppStore();
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const value = select(store.get());
  const seen = useRef(value);
  const selector = useRef(select);
  seen.current = value;
  selector.current = select;
  useEffect(() => {
    const check = () => {
      if (!Object.is(selector.current(store.get()), seen.current)) rerender(0);
    };
    check(); // a change between render and subscribing
    return store.subscribe(check);
  }, [store]);
  return value;
}

// setTimeout takes at most 2^31-1 ms; a later instant is reached in steps.
const MAX_DELAY = 2_147_483_647;

/** Render again at `iso` (e.g. when a rate limit ends), so time-based UI needs no reload. */
export function useWakeAt(iso: string | null) {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    if (!iso) return;
    const delay = Date.parse(iso) - Date.now();
    if (delay < 0) return;
    const timer = setTimeout(() => rerender(0), Math.min(delay + 1, MAX_DELAY));
    return () => clearTimeout(timer);
  });
}
