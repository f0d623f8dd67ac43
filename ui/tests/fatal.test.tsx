// The window that says why Tributary cannot start (issue 14: an older binary on a newer database
// exited with only a log line).
import { describe, expect, it } from "vitest";
import { render } from "preact";
import { Fatal, fatalMessage } from "../src/components/Fatal";

describe("the cannot-start window", () => {
  it("reads the reason the shell put in the URL's fragment", () => {
    const reason = "this database (/home/a/.local/share/tributary/tributary.db) was last opened by a newer version of Tributary";
    const hash = "#fatal=" + new URLSearchParams({ x: reason }).toString().slice(2);
    expect(fatalMessage(hash)).toBe(reason);
    expect(fatalMessage("#history")).toBeNull();
    expect(fatalMessage("")).toBeNull();
    expect(fatalMessage("#fatal=%E0%A4%A")).toBe("Tributary could not open its data.");
  });

  it("shows the reason and what to do, without a command", () => {
    const root = document.createElement("div");
    render(<Fatal message="a newer version of Tributary wrote this data" />, root);
    expect(root.querySelector("[data-testid=fatal-message]")?.textContent).toBe("a newer version of Tributary wrote this data");
    expect(root.textContent).toContain("Close this window to quit");
  });
});
