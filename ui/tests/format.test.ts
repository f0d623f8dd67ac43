import { describe, expect, it } from "vitest";
import { about, attentionTitle, capabilityLine, counts, progressLine } from "../src/lib/format";
import { parse, href } from "../src/lib/router";
import { providers, run } from "./fixtures";

const info = (p: string) => providers().find((i) => i.provider === p)!;

describe("format", () => {
  it("describes a provider's capabilities in one line", () => {
    expect(capabilityLine(info("strava"))).toBe("OAuth2 · pull · full history · refresh tokens · 200/15 min per app");
    expect(capabilityLine(info("polar"))).toBe("OAuth2 (Basic auth) · pull · history: 30 days · no refresh token · 500/15 min per app");
    expect(capabilityLine(info("garmin"))).toBe("OAuth2 + PKCE · push (via relay) · history: 30 days · refresh tokens · 100/1 min per app");
  });

  it("spells out the five counters", () => {
    expect(counts(run(1, 250))).toBe("250 fetched · 250 new · 0 updated · 0 unchanged · 0 failed");
  });

  it("the progress line, with or without pages", () => {
    const c = run(1, 250).counters;
    expect(progressLine(c, 3, 4)).toBe("fetched 250 · new 250 · page 3 · API calls 4");
    expect(progressLine(c, null, 4)).toBe("fetched 250 · new 250 · API calls 4");
  });

  it.each([
    [20, "under a minute"],
    [60, "about 1 min"],
    [2400, "about 40 min"],
    [5340, "about 89 min"],
    [5400, "about 1 h 30 min"],
    [7200, "about 2 h"],
    [3 * 3600 + 59 * 60, "about 4 h"],
    [3 * 86400, "about 3 days"],
  ])("%i s is %s", (seconds, text) => {
    expect(about(seconds)).toBe(text);
  });

  it("names an attention episode known only by its kind", () => {
    expect(attentionTitle("deprecated", "Fitbit (Google Health API)")).toBe("Fitbit (Google Health API)'s connection needs moving");
  });
});

describe("routes", () => {
  it("parse what href writes", () => {
    for (const route of [{ name: "dashboard" }, { name: "settings" }, { name: "history", provider: "google_health" }] as const) {
      expect(parse(href(route))).toEqual(route);
    }
    expect(parse("#/history/myspace")).toEqual({ name: "dashboard" });
    expect(parse("")).toEqual({ name: "dashboard" });
  });
});
