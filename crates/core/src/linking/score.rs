//! The rule, pure: whether two stored copies are the same session recorded by two providers, and
//! how sure (see the module above for the rule in words).

use crate::domain::Sport;

/// Links below this confidence are not made automatically.
pub const THRESHOLD: f64 = 0.7;

// The copy as the rule sees it is data the store reads: it lives in `domain`, so that the
// store does not depend on linking.
pub use crate::domain::LinkCopy as Copy;

/// Why two copies are the same session, and how sure.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// 0 to 1.
    pub confidence: f64,
    /// For the athlete (shown on hover).
    pub reason: String,
}

fn family(sport: Sport) -> u8 {
    match sport {
        Sport::Run | Sport::TrailRun => 1,
        Sport::Ride | Sport::VirtualRide => 2,
        Sport::Walk | Sport::Hike => 3,
        Sport::Swim => 4,
        Sport::Row => 5,
        Sport::Ski => 6,
        Sport::Strength => 7,
        Sport::Other => 0,
    }
}

/// Whether `start` (with `offset`) is Strava's hidden start time: local midnight plus one second.
fn hidden_start(start: i64, offset: Option<i32>) -> bool {
    offset.is_some_and(|o| (start + i64::from(o)).rem_euclid(86_400) == 1)
}

fn relative(a: f64, b: f64) -> f64 {
    let top = a.abs().max(b.abs());
    if top == 0.0 { 0.0 } else { (a - b).abs() / top }
}

/// How much two copies' spans (start to start + elapsed) overlap: the share of the shorter span
/// and of the longer one, when both say how long they are.
fn overlap(a: &Copy, b: &Copy) -> Option<(f64, f64)> {
    let (ea, eb) = (a.elapsed.filter(|e| *e > 0)?, b.elapsed.filter(|e| *e > 0)?);
    let common = ((a.start + ea).min(b.start + eb) - a.start.max(b.start)).max(0) as f64;
    Some((common / ea.min(eb) as f64, common / ea.max(eb) as f64))
}

/// Two recordings of one session made at the same time: one device started late, stopped early
/// or paused (its span is shorter), but the shorter span lies within the longer one. Different
/// sessions, even back to back, do not overlap. The sports must agree, and the shorter copy
/// cannot have gone much further than the longer one.
fn recorded_together(a: &Copy, b: &Copy) -> Option<Match> {
    let (of_shorter, of_longer) = overlap(a, b)?;
    // A device that gave up after a sixth of the session still recorded that session.
    if of_shorter < 0.8 || of_longer < 0.15 {
        return None;
    }
    let (short, long) = if a.elapsed <= b.elapsed {
        (a, b)
    } else {
        (b, a)
    };
    if let (Some(s), Some(l)) = (short.distance, long.distance)
        && (s > l * 1.1 + 200.0
            // Spans that nearly agree leave no room for distances that do not.
            || (of_longer > 0.9 && relative(s, l) > 0.10 && (s - l).abs() > 500.0))
    {
        return None;
    }
    let (start_gap, end_gap) = (
        (short.start - long.start).abs(),
        (short.start + short.elapsed? - long.start - long.elapsed?).abs(),
    );
    let minutes = |s: i64| (s + 30) / 60;
    let how = match (start_gap <= 60, end_gap <= 60) {
        (true, true) => "recorded at the same time".to_owned(),
        (true, false) => format!(
            "recorded together; one stopped {} min earlier",
            minutes(end_gap)
        ),
        (false, true) => format!(
            "recorded together; one started {} min later",
            minutes(start_gap)
        ),
        (false, false) => format!("recorded together; starts {} min apart", minutes(start_gap)),
    };
    Some(Match {
        confidence: 0.8 + 0.15 * of_longer,
        reason: format!("{how} ({:.0} % overlap)", of_shorter * 100.0),
    })
}

/// Whether `a` and `b` are the same session recorded by two sources.
pub fn score(a: &Copy, b: &Copy) -> Option<Match> {
    if a.provider == b.provider || a.id == b.id {
        return None;
    }
    // Both name the provider activity they are: the same one is an exact join; two of one
    // provider's activities are two sessions, whatever their times say.
    if let (Some(x), Some(y)) = (&a.same_as, &b.same_as) {
        if x == y {
            return Some(Match {
                confidence: 0.99,
                reason: format!("the same activity ({})", x.replacen(':', " id ", 1)),
            });
        }
        if x.split(':').next() == y.split(':').next() {
            return None;
        }
    }
    let (fa, fb) = (family(a.sport), family(b.sport));
    let sports_agree = fa == fb && fa != 0;
    // "Other" is what a provider says when it does not know: compatible, but less sure.
    if !sports_agree && fa != 0 && fb != 0 {
        return None;
    }
    by_start(a, b, sports_agree).or_else(|| {
        // Not one start, or not one length: still one session if recorded at the same time.
        let mut m = recorded_together(a, b)?;
        if sports_agree {
            m.reason.push_str(&format!(", both {}", a.sport));
        } else {
            // One sport unknown: only when most of the longer recording is shared.
            if overlap(a, b).is_none_or(|(_, of_longer)| of_longer < 0.5) {
                return None;
            }
            m.confidence -= 0.1;
            m.reason.push_str(", one sport unknown");
        }
        Some(m)
    })
}

/// The rule by starts: within minutes, a time-zone shift, or Strava's hidden start time; the
/// durations and distances, where both say, must agree.
fn by_start(a: &Copy, b: &Copy, sports_agree: bool) -> Option<Match> {
    let durations = a.elapsed.zip(b.elapsed).filter(|(x, y)| *x > 0 && *y > 0);
    let distances = a
        .distance
        .zip(b.distance)
        .filter(|(x, y)| *x > 0.0 && *y > 0.0);
    let duration_gap = durations.map(|(x, y)| (relative(x as f64, y as f64), (x - y).abs()));
    let distance_gap = distances.map(|(x, y)| (relative(x, y), (x - y).abs()));
    // Clearly different sessions, whatever the times say.
    if duration_gap.is_some_and(|(r, s)| r > 0.15 && s > 300)
        || distance_gap.is_some_and(|(r, m)| r > 0.10 && m > 500.0)
    {
        return None;
    }
    let close =
        duration_gap.is_some_and(|(r, _)| r <= 0.03) && distance_gap.is_none_or(|(r, _)| r <= 0.03);
    let d = b.start - a.start;
    let (mut confidence, mut reason) = if d.abs() <= 300 {
        (
            0.95 - (d.abs() as f64 / 300.0) * 0.1,
            format!("started {} s apart", d.abs()),
        )
    } else if hidden_start(a.start, a.offset) || hidden_start(b.start, b.offset) {
        // Only the day is known (so no shift can be read either): the rest must agree closely.
        // Local days; a copy that states no offset is read in the hidden one's zone.
        let zone = if hidden_start(a.start, a.offset) {
            a.offset
        } else {
            b.offset
        };
        let day =
            |c: &Copy| (c.start + i64::from(c.offset.or(zone).unwrap_or(0))).div_euclid(86_400);
        if day(a) != day(b) || !close {
            return None;
        }
        (0.78, "hidden start time; same local day".to_owned())
    } else {
        let k = (d as f64 / 1800.0).round() as i64;
        if k == 0 || k.abs() > 28 || (d - k * 1800).abs() > 60 {
            return None;
        }
        let shift = (k * 1800).abs();
        let minutes = shift / 60;
        let label = format!(
            "same minutes and seconds, {}h{:02} apart (a time-zone shift",
            minutes / 60,
            minutes % 60
        );
        // A device that took local time for UTC is off by its offset; a missed daylight-saving
        // change by an hour. Any other whole or half hour needs the rest to agree closely.
        let by_offset = [a.offset, b.offset]
            .into_iter()
            .flatten()
            .any(|o| o != 0 && i64::from(o).abs() == shift);
        if by_offset {
            (0.88, format!("{label}: local time recorded as UTC)"))
        } else if shift == 3600 {
            (0.84, format!("{label}: daylight saving)"))
        } else if close {
            (0.74, format!("{label})"))
        } else {
            return None;
        }
    };
    if d.abs() > 300 && durations.is_none() {
        return None; // a shifted time alone is not enough
    }
    if close {
        confidence += 0.04;
        reason.push_str(", same duration and distance");
    }
    if !sports_agree {
        // Less sure, unless everything else agrees closely.
        confidence -= if close { 0.05 } else { 0.1 };
        reason.push_str(", one sport unknown");
    } else {
        reason.push_str(&format!(", both {}", a.sport));
    }
    Some(Match {
        confidence: confidence.clamp(0.0, 0.99),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ProviderKind;

    fn copy(id: i64, provider: ProviderKind, sport: Sport, start: i64) -> Copy {
        Copy {
            id,
            provider: provider.into(),
            same_as: None,
            sport,
            start,
            offset: Some(3600),
            elapsed: Some(3600),
            distance: Some(10_000.0),
            workout: None,
            pinned: 0,
            completeness: 8,
            deleted: false,
        }
    }

    const T: i64 = 1_780_000_000;

    #[test]
    fn starts_within_minutes_and_compatible_sports_match() {
        let a = copy(1, ProviderKind::Strava, Sport::Run, T);
        let b = copy(2, ProviderKind::Garmin, Sport::TrailRun, T + 4);
        let m = score(&a, &b).expect("the same run");
        assert!(m.confidence > 0.95, "{m:?}");
        assert!(m.reason.contains("4 s apart"), "{}", m.reason);
        let ride = copy(3, ProviderKind::Garmin, Sport::Ride, T);
        assert_eq!(score(&a, &ride), None, "a run is not a ride");
        let same_provider = copy(4, ProviderKind::Strava, Sport::Run, T);
        assert_eq!(
            score(&a, &same_provider),
            None,
            "one account's two activities are two"
        );
        let later = copy(5, ProviderKind::Garmin, Sport::Run, T + 1900);
        assert_eq!(
            score(&a, &later),
            None,
            "half an hour apart, no shift, half overlapping"
        );
    }

    #[test]
    fn a_time_zone_shift_keeps_minutes_and_seconds() {
        let a = copy(1, ProviderKind::Strava, Sport::Ride, T);
        // Local time taken for UTC: off by the stated offset (here -5 h and +9.5 h).
        for offset in [-18_000, 34_200] {
            let mut b = copy(
                2,
                ProviderKind::GoogleHealth,
                Sport::Ride,
                T + i64::from(offset) + 3,
            );
            b.offset = Some(offset);
            b.elapsed = Some(3700); // within 3 %, not "close": the offset explains the shift
            let m = score(&a, &b).unwrap_or_else(|| panic!("offset {offset}"));
            assert!(
                m.reason.contains("local time recorded as UTC"),
                "{}",
                m.reason
            );
            assert!(m.confidence >= 0.85, "{m:?}");
        }
        let mut east = a.clone();
        east.offset = Some(7200);
        let mut dst = copy(2, ProviderKind::GoogleHealth, Sport::Ride, T - 3600 + 2);
        dst.offset = Some(7200);
        let m = score(&east, &dst).expect("an hour: daylight saving");
        assert!(m.reason.contains("daylight saving"), "{}", m.reason);
        // Two hours, explained by neither offset: only when duration and distance agree closely.
        let same = copy(3, ProviderKind::GoogleHealth, Sport::Ride, T + 7200);
        assert!(score(&a, &same).is_some_and(|m| m.confidence < 0.8));
        let mut differs = same;
        differs.elapsed = Some(3800);
        assert_eq!(
            score(&a, &differs),
            None,
            "an unexplained shift needs the rest to agree"
        );
        let odd = copy(4, ProviderKind::GoogleHealth, Sport::Ride, T + 3600 + 600);
        assert_eq!(score(&a, &odd), None, "a shift keeps minutes and seconds");
        let mut blind = copy(5, ProviderKind::GoogleHealth, Sport::Ride, T + 3600);
        blind.elapsed = None;
        assert_eq!(
            score(&a, &blind),
            None,
            "a shifted time alone is not enough"
        );
    }

    #[test]
    fn a_hidden_start_matches_on_the_day_only_when_the_rest_agrees() {
        // 08:30 local (offset +1 h) against Strava's hidden 00:00:01 local the same day.
        let morning = T - T.rem_euclid(86_400) + 7 * 3600 + 1800;
        let real = copy(1, ProviderKind::Garmin, Sport::Run, morning);
        let midnight = morning + 3600 - (morning + 3600).rem_euclid(86_400) + 1 - 3600;
        let hidden = copy(2, ProviderKind::Strava, Sport::Run, midnight);
        let m = score(&real, &hidden).expect("same day, same duration and distance");
        assert!(m.reason.contains("hidden start"), "{}", m.reason);
        let mut longer = hidden;
        longer.elapsed = Some(3600 + 600);
        assert_eq!(
            score(&real, &longer),
            None,
            "on the day alone, the rest must agree"
        );
    }

    #[test]
    fn different_distances_or_spans_apart_are_different_sessions() {
        let a = copy(1, ProviderKind::Strava, Sport::Run, T);
        let mut c = copy(3, ProviderKind::Polar, Sport::Run, T + 10);
        c.distance = Some(5_000.0);
        assert_eq!(score(&a, &c), None, "the same hour, half the distance");
        assert_eq!(score(&c, &a), None, "either way round");
        // Back to back: the second starts 100 s after the first ended.
        let next = copy(4, ProviderKind::Polar, Sport::Run, T + 3700);
        assert_eq!(score(&a, &next), None);
        // A short run inside a long one's hour but mostly outside it is not the same either.
        let mut partly = copy(5, ProviderKind::Polar, Sport::Run, T + 3000);
        partly.elapsed = Some(1800);
        partly.distance = Some(5_000.0);
        assert_eq!(score(&a, &partly), None);
    }

    #[test]
    fn a_device_that_started_late_stopped_early_or_paused_is_the_same_session() {
        let a = copy(1, ProviderKind::Strava, Sport::Run, T);
        // Stopped after half the run (battery): same start, half the time and distance.
        let mut early = copy(2, ProviderKind::Garmin, Sport::Run, T + 2);
        early.elapsed = Some(1800);
        early.distance = Some(5_000.0);
        let m = score(&a, &early).expect("stopped early");
        assert!(m.reason.contains("stopped 30 min earlier"), "{}", m.reason);
        // Started twelve minutes late: ends together.
        let mut late = copy(3, ProviderKind::Wahoo, Sport::Run, T + 720);
        late.elapsed = Some(3600 - 720);
        late.distance = Some(8_000.0);
        let m = score(&a, &late).expect("started late");
        assert!(m.reason.contains("started 12 min later"), "{}", m.reason);
        // Paused for twenty minutes and not counting the pause: a shorter span, the whole way.
        let mut paused = copy(4, ProviderKind::Polar, Sport::Run, T);
        paused.elapsed = Some(2400);
        let m = score(&a, &paused).expect("paused");
        assert!(m.confidence >= THRESHOLD, "{m:?}");
    }

    #[test]
    fn the_same_provider_activity_is_an_exact_join_and_two_of_them_never_join() {
        let mut api = copy(1, ProviderKind::Strava, Sport::Run, T);
        api.same_as = Some("strava:42".to_owned());
        let mut archive = copy(2, ProviderKind::Strava, Sport::Ride, T + 86_400);
        archive.provider = crate::domain::Source::StravaArchive;
        archive.same_as = Some("strava:42".to_owned());
        let m = score(&api, &archive).expect("the same Strava activity");
        assert!(
            m.confidence >= 0.99 && m.reason.contains("strava id 42"),
            "{m:?}"
        );
        let mut other = archive;
        other.same_as = Some("strava:43".to_owned());
        other.sport = Sport::Run;
        other.start = T;
        assert_eq!(score(&api, &other), None, "two Strava activities are two");
    }
}
