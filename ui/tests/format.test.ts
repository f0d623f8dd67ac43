import { describe, expect, it } from "vitest";
import { capabilityLine, counts } from "../src/lib/format";
import { providers, run } from "./fixtures";

describe("format", () => {
  it("describes a provider's capabilities in one line", () => {
    expect(capabilityLine(providers[0]!)).toBe("OAuth2 · pull · full history · refresh tokens · 200/15 min per app");
    const polar = { ...providers[2]!, capabilities: { ...providers[2]!.capabilities, client_auth: "basic" as const, refresh: "none" as const, history_window_days: 30 } };
    expect(capabilityLine(polar)).toContain("OAuth2 (Basic auth) · pull · history: 30 days · no refresh token");
  });

  it("spells out the five counters", () => {
    expect(counts(run(1, 250))).toBe("250 fetched · 250 new · 0 updated · 0 unchanged · 0 failed");
  });
});
