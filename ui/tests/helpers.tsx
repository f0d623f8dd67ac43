// Rendering the app on a FakeBackend, and the few helpers every UI test uses.
import { render } from "preact";
import { vi } from "vitest";
import { act } from "preact/test-utils";
import { App } from "../src/App";
import { FakeBackend, type FakeSeed } from "./support/fake";
import { Store } from "../src/lib/store";
import { dashboard } from "./fixtures";

/** Let pending promises (the fake answers at once) and the renders they cause settle. Uses
 * microtasks only, so it works under fake timers too. */
export async function flush() {
  await act(async () => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
    // The browser reports a followed `#/…` link by a later task (hashchange): let it run.
    if (!vi.isFakeTimers()) await new Promise((r) => setTimeout(r, 0));
    for (let i = 0; i < 20; i++) await Promise.resolve();
  });
}

export type Mounted = Awaited<ReturnType<typeof mount>>;

export async function mount(seed: Partial<FakeSeed> = {}, hash = "#/") {
  location.hash = hash;
  const fake = new FakeBackend({ dashboard: dashboard(), ...seed });
  const store = new Store(fake);
  const root = document.createElement("div");
  document.body.appendChild(root);
  await act(() => render(<App store={store} />, root));
  await flush();
  const $ = (testid: string) => root.querySelector<HTMLElement>(`[data-testid="${testid}"]`);
  const all = (testid: string) => [...root.querySelectorAll<HTMLElement>(`[data-testid="${testid}"]`)];
  const text = (testid: string) => $(testid)?.textContent ?? null;
  const click = async (testid: string) => {
    const el = $(testid);
    if (!el) throw new Error(`no element ${testid}`);
    await act(() => el.click());
    await flush();
  };
  /** Change a select or toggle a checkbox the way the athlete does. */
  const change = async (testid: string, value?: string) => {
    const el = $(testid) as HTMLInputElement | HTMLSelectElement;
    await act(() => {
      if (value === undefined) (el as HTMLInputElement).click();
      else {
        el.value = value;
        el.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
    await flush();
  };
  const type = async (testid: string, value: string) => {
    const el = $(testid) as HTMLInputElement;
    await act(() => {
      el.value = value;
      el.dispatchEvent(new Event("input", { bubbles: true }));
    });
  };
  /** A key pressed on an element (focus is not needed: the handlers listen on the element). */
  const key = async (testid: string, k: string) => {
    const el = $(testid);
    if (!el) throw new Error(`no element ${testid}`);
    await act(() => void el.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true })));
    await flush();
  };
  /** Scroll an element to `top` px, as the athlete's wheel does (a scroll event follows). */
  const scroll = async (testid: string, top: number) => {
    const el = $(testid);
    if (!el) throw new Error(`no element ${testid}`);
    await act(() => {
      el.scrollTop = top;
      el.dispatchEvent(new Event("scroll"));
    });
    await flush();
  };
  const during = async (fn: () => void) => {
    await act(fn);
    await flush();
  };
  const unmount = async () => {
    await act(() => render(null, root));
    root.remove();
  };
  return { fake, store, root, $, all, text, click, change, type, key, scroll, during, unmount };
}

export const disabled = (el: HTMLElement | null) => (el as HTMLButtonElement | null)?.disabled;

/** happy-dom lays nothing out (every element is 0 px): give elements a size, so the virtual list
 * has a viewport to fill. Returns the function that takes it back. */
export function viewport(height = 720, width = 1000): () => void {
  const h = vi.spyOn(HTMLElement.prototype, "clientHeight", "get").mockReturnValue(height);
  const w = vi.spyOn(HTMLElement.prototype, "clientWidth", "get").mockReturnValue(width);
  return () => {
    h.mockRestore();
    w.mockRestore();
  };
}
