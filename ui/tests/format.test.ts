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
  keyExpiresOn,
  keyExpiry,
  offsetLabel,
  paceOrSpeed,
  plainCapabilityLine,
  startedAt,
  percent,
  progressLine,
  rateLimitLine,
} from "../src/lib/format";
import { recordingsLine } from "../src/lib/format";
import type { RecordingProgress } from "../src/lib/types";
import { callback } from "../src/lib/guide";
import type { CopyRef } from "../src/lib/types";
import { parse, href } from "../src/lib/router";
import { CAPABILITIES, GARMIN_PERSONAL, providers, run } from "./fixtures";

const info = (p: string) => providers().find((i) => i.provider === p)!;

describe("format", () => {
  it("describes a provider's capabilities in one line", () => {
    expect(capabilityLine(info("strava"))).toBe("OAuth2 · pull · full history · refresh tokens · 200/15 min per app");
    // AccessLink v4 (new Polar connections): the whole history, refresh tokens.
    expect(capabilityLine(info("polar"))).toBe("OAuth2 (Basic auth) · pull · full history · refresh tokens · 3000/15 min per app");
    expect(capabilityLine(info("garmin"))).toBe("OAuth2 + PKCE · push (via relay) · history: 30 days · refresh tokens · 100/1 min per app");
    expect(capabilityLine({ ...info("garmin"), capabilities: GARMIN_PERSONAL })).toBe(
      "personal API key · pull · full history · key exchanged for tokens",
    );
  });

  it("a rate limit in words, with who shares it", () => {
    expect(rateLimitLine({ window: "day", seconds: 86400, limit: 2000, shared_by: "app" })).toBe(
      "2,000 requests per day, shared by everyone using your application",
    );
    expect(rateLimitLine({ window: "1 min", seconds: 60, limit: 300, shared_by: "user" })).toBe("300 requests per 1 min, per athlete");
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
    // As the core's notification says it (attention.rs).
    expect(attentionTitle("key_expiring", "Garmin")).toBe("Your Garmin key expires soon");
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
    expect(offsetLabel(7200)).toBe("UTC+2");
    expect(offsetLabel(-12_600)).toBe("UTC−3:30");
    expect(offsetLabel(20_700)).toBe("UTC+5:45");
    expect(offsetLabel(0)).toBe("UTC");
    expect(offsetLabel(null)).toBe("");
    expect(percent(0.974)).toBe("97 %");
  });

  it("a start on the clock where it happened", () => {
    // 23:30 UTC at UTC+2 is 01:30 the next day there, whatever the viewer's zone (in their locale)
    const there = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });
    expect(startedAt("2026-06-08T23:30:00Z", 7200)).toBe(`${there.format(Date.UTC(2026, 5, 9, 1, 30))} UTC+2`);
  });

  it("a badge's hover text", () => {
    const copy: CopyRef = { activity_id: 2, provider: "strava", provider_activity_id: "1", primary: false, reason: "started 3 s apart, both run", confidence: 0.97, choice: "automatic" };
    expect(badgeTitle(copy, false)).toBe("started 3 s apart, both run — 97 %");
    expect(badgeTitle({ ...copy, reason: null, primary: true }, false)).toBe("Strava (primary)");
    expect(badgeTitle({ ...copy, reason: null, confidence: null, primary: true }, true)).toBe("Strava");
  });
});

describe("personal keys", () => {
  // A Wednesday, mid-afternoon local time: a key's day is a local calendar day.
  const now = new Date(2026, 10, 25, 15, 30).getTime();

  it.each([
    ["2026-12-25", "ok", 30, /^key expires on /],
    ["2026-12-03", "ok", 8, /^key expires on /],
    ["2026-12-02", "soon", 7, /^key expires in 7 days \(.+\): create a new one and paste it$/],
    ["2026-12-01", "soon", 6, /^key expires in 6 days /],
    ["2026-11-26", "soon", 1, /^key expires tomorrow /],
    ["2026-11-25", "soon", 0, /^key expires today /],
    ["2026-11-24", "expired", -1, /^key expired on .+: create a new one and paste it$/],
  ] as const)("%s is %s (%i days)", (day, state, days, text) => {
    const e = keyExpiry(day, now);
    expect(e.state).toBe(state);
    expect(e.days).toBe(days);
    expect(e.text).toMatch(text);
  });

  it("the expiry is read from the connection's profile, and only a day counts", () => {
    expect(keyExpiresOn({ provider_profile: { key_expires_on: "2027-01-31", userId: "x" } })).toBe("2027-01-31");
    expect(keyExpiresOn({ provider_profile: { key_expires_on: "soon" } })).toBeNull();
    expect(keyExpiresOn({ provider_profile: null })).toBeNull();
    expect(keyExpiresOn({ provider_profile: ["2027-01-31"] })).toBeNull();
    expect(keyExpiresOn(null)).toBeNull();
  });
});

describe("the callback to register", () => {
  it("is derived from the redirects a provider accepts", () => {
    expect(callback("strava", CAPABILITIES.strava)).toEqual({
      kind: "domain",
      lines: ["localhost"],
      covers: "tributary://localhost/strava/callback",
    });
    expect(callback("polar", CAPABILITIES.polar)).toEqual({
      kind: "uris",
      lines: ["tributary://oauth/polar/callback", "http://localhost:47613/callback"],
    });
    expect(callback("coros", CAPABILITIES.coros)).toEqual({ kind: "uris", lines: ["tributary://oauth/coros/callback"] });
    expect(callback("google_health", CAPABILITIES.google_health)).toEqual({ kind: "loopback", host: "127.0.0.1" });
    expect(callback("garmin", GARMIN_PERSONAL)).toEqual({ kind: "none" });
  });
});

describe("routes", () => {
  it("parse what href writes", () => {
    for (const route of [
      { name: "dashboard" },
      { name: "settings" },
      { name: "providers" },
      { name: "providers", provider: "garmin" },
      { name: "activities" },
      { name: "history", provider: "google_health" },
    ] as const) {
      expect(parse(href(route))).toEqual(route);
    }
    expect(parse("#/history/myspace")).toEqual({ name: "dashboard" });
    expect(parse("#/settings/myspace")).toEqual({ name: "settings" });
    // The wizard's old address (inside Settings) lands on the providers' view.
    expect(parse("#/settings/garmin")).toEqual({ name: "providers", provider: "garmin" });
    expect(parse("#/providers/myspace")).toEqual({ name: "providers" });
    expect(parse("")).toEqual({ name: "dashboard" });
  });
});

describe("recordingsLine", () => {
  const progress = (over: Partial<RecordingProgress["counts"]>, eta: number | null, offers: RecordingProgress["offers"] = "originals"): RecordingProgress => ({
    offers,
    counts: { total: 3000, stored: 1240, unreadable: 0, none: 0, given_up: 0, pending: 1760, ...over },
    eta_seconds: eta,
    waiting_until: null,
  });
  it("counts what is done and how long the rest takes at the provider's limit", () => {
    expect(recordingsLine(progress({}, 6 * 3600), "Strava")).toBe("Original files: 1,240 of 3,000 · about 6 h at Strava's limit");
  });
  it("says when all is fetched, and what could not be", () => {
    expect(recordingsLine(progress({ stored: 2990, none: 8, unreadable: 2, pending: 0 }, null, "streams"), "Strava")).toBe(
      "Recorded streams: all 3,000 fetched · 8 without a recording · 2 unreadable (kept)",
    );
  });
  it("says nothing for a provider that offers none, or before any activity", () => {
    expect(recordingsLine(progress({}, null, "none"), "Google")).toBeNull();
    expect(recordingsLine(progress({ total: 0, stored: 0, pending: 0 }, null), "Polar")).toBeNull();
    expect(recordingsLine(null, "Polar")).toBeNull();
  });
});

describe("plain words and one rule for times (issue 19, items 5 and 7)", () => {
  it("a provider's capabilities in the athlete's words", () => {
    expect(plainCapabilityLine(info("strava"))).toBe("Syncs your whole history · up to 200 requests every 15 minutes");
    expect(plainCapabilityLine(info("polar"))).toBe("Syncs your whole history · up to 3,000 requests every 15 minutes");
    expect(plainCapabilityLine(info("garmin"))).toBe(
      "Syncs the last 30 days · new activities arrive through your relay · up to 100 requests every minute",
    );
  });

  it("pace on foot and in water, speed on wheels, nothing without a distance or a time", () => {
    expect(paceOrSpeed("run", 10000, 3000)).toBe("5:00 /km");
    expect(paceOrSpeed("swim", 1500, 1800)).toBe("2:00 /100 m");
    expect(paceOrSpeed("ride", 40000, 3600)).toBe("40.0 km/h");
    expect(paceOrSpeed("strength", null, 1800)).toBe("—");
    expect(paceOrSpeed("run", 5000, 0)).toBe("—");
  });

  it("a start is on its own clock with the zone said, or on the viewer's with the viewer's zone said", () => {
    expect(startedAt("2026-11-20T07:00:00Z", 3600)).toMatch(/UTC\+1$/);
    expect(startedAt("2026-11-20T07:00:00Z", -18000)).toMatch(/UTC−5$/);
    const viewer = -new Date(Date.parse("2026-11-20T07:00:00Z")).getTimezoneOffset() * 60;
    expect(startedAt("2026-11-20T07:00:00Z", null)).toBe(startedAt("2026-11-20T07:00:00Z", viewer));
    expect(startedAt("not a date", 0)).toBe("—");
  });
});
