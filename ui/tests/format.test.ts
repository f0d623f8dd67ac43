import { describe, expect, it } from "vitest";
import {
  about,
  attentionTitle,
  badgeTitle,
  capabilityLine,
  counts,
  distance,
  duration,
  hours,
  localStart,
  offsetLabel,
  percent,
  progressLine,
} from "../src/lib/format";
import type { CopyRef } from "../src/lib/types";
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

describe("the library's units", () => {
  it.each([
    [null, "—"],
    [850, "850 m"],
    [12_345, "12.3 km"],
    [99_960, "100.0 km"],
    [1_840_400, "1,840 km"],
  ])("%s m is %s", (m, text) => {
    expect(distance(m)).toBe(text);
  });

  it.each([
    [null, "—"],
    [59, "0:59"],
    [2710, "45:10"],
    [3723, "1:02:03"],
  ])("%s s lasts %s", (s, text) => {
    expect(duration(s)).toBe(text);
  });

  it("hours, offsets and confidence", () => {
    expect(hours(27_000)).toBe("7.5 h");
    expect(hours(576_000)).toBe("160 h");
    expect(offsetLabel(7200)).toBe("UTC+02:00");
    expect(offsetLabel(-12_600)).toBe("UTC−03:30");
    expect(offsetLabel(null)).toBe("");
    expect(percent(0.974)).toBe("97 %");
  });

  it("a start on the clock where it happened", () => {
    // 23:30 UTC at UTC+2 is 01:30 the next day there, whatever the viewer's zone (in their locale)
    const there = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });
    expect(localStart("2026-06-08T23:30:00Z", 7200)).toBe(there.format(Date.UTC(2026, 5, 9, 1, 30)));
  });

  it("a badge's hover text", () => {
    const copy: CopyRef = { activity_id: 2, provider: "strava", provider_activity_id: "1", primary: false, reason: "started 3 s apart, both run", confidence: 0.97, choice: "automatic" };
    expect(badgeTitle(copy, false)).toBe("started 3 s apart, both run — 97 %");
    expect(badgeTitle({ ...copy, reason: null, primary: true }, false)).toBe("Strava (primary)");
    expect(badgeTitle({ ...copy, reason: null, confidence: null, primary: true }, true)).toBe("Strava");
  });
});

describe("routes", () => {
  it("parse what href writes", () => {
    for (const route of [
      { name: "dashboard" },
      { name: "settings" },
      { name: "activities" },
      { name: "history", provider: "google_health" },
    ] as const) {
      expect(parse(href(route))).toEqual(route);
    }
    expect(parse("#/history/myspace")).toEqual({ name: "dashboard" });
    expect(parse("")).toEqual({ name: "dashboard" });
  });
});
