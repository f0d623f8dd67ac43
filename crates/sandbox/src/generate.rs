//! Deterministic activity generator: the same `(count, seed)` gives the same activities on every
//! machine and every version. It uses its own SplitMix64 rather than a `rand` generator because
//! `rand` does not promise the same stream across releases, and reproducibility is the point.

use chrono::{DateTime, Duration, TimeZone, Utc};

/// The default anchor: the newest generated activity starts before the start of `now`'s day.
/// A sandbox fixes its anchor when it is created (and keeps it in its state file), so one data
/// set never moves, while providers that only serve recent history (Polar's 30 days, COROS'
/// three months, Garmin's backfill) always have data whatever the date.
pub fn anchor_for(now: DateTime<Utc>) -> DateTime<Utc> {
    Utc.from_utc_datetime(&now.date_naive().and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// The generator's random stream (SplitMix64): also used by twins for stable, id-like strings.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

/// A sport, in the generator's own words; each twin maps it to its provider's vocabulary.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Sport {
    /// Road running.
    Run,
    /// Trail running.
    TrailRun,
    /// Outdoor cycling.
    Ride,
    /// Indoor cycling.
    VirtualRide,
    /// Swimming.
    Swim,
    /// Hiking.
    Hike,
    /// Strength training.
    Strength,
}

impl Sport {
    /// A title word.
    pub fn label(self) -> &'static str {
        match self {
            Self::Run => "Run",
            Self::TrailRun => "Trail Run",
            Self::Ride => "Ride",
            Self::VirtualRide => "Virtual Ride",
            Self::Swim => "Swim",
            Self::Hike => "Hike",
            Self::Strength => "Strength",
        }
    }

    /// Whether the session moves the athlete somewhere (distance and elevation mean something).
    pub fn travels(self) -> bool {
        !matches!(self, Self::Swim | Self::VirtualRide | Self::Strength)
    }
}

/// A generated workout, provider-neutral; each provider's twin renders it in its own format.
#[derive(Debug, Clone, PartialEq)]
pub struct Workout {
    /// Index (0 = oldest of the generated set; uploads added later come after).
    pub index: usize,
    /// Sport.
    pub sport: Sport,
    /// Start, UTC.
    pub start: DateTime<Utc>,
    /// Offset of local time, seconds.
    pub utc_offset: i32,
    /// IANA time zone of the place it was recorded.
    pub zone: &'static str,
    /// Elapsed seconds.
    pub elapsed: i64,
    /// Moving seconds.
    pub moving: i64,
    /// Metres.
    pub distance: f64,
    /// Metres climbed.
    pub elevation: f64,
    /// Heart rate (avg, max), absent for some.
    pub heart_rate: Option<(f64, f64)>,
    /// Power (avg, max) for rides with a meter.
    pub power: Option<(f64, f64)>,
    /// Recording device.
    pub device: &'static str,
    /// Title.
    pub name: String,
}

const ZONES: [(i32, &str); 4] = [
    (3600, "Europe/Paris"),
    (0, "Europe/London"),
    (-18000, "America/New_York"),
    (34200, "Australia/Adelaide"),
];
const DEVICES: [&str; 4] = [
    "Garmin Forerunner 965",
    "Wahoo ELEMNT BOLT",
    "COROS PACE 3",
    "Polar Vantage V3",
];

/// `count` workouts spread over `years` before `anchor`, oldest first.
pub fn workouts(count: usize, seed: u64, years: u32, anchor: DateTime<Utc>) -> Vec<Workout> {
    let mut rng = SplitMix64(seed);
    let span = Duration::days(365 * i64::from(years.max(1)));
    let start_of_span = anchor - span;
    let step = span.num_seconds() as f64 / count.max(1) as f64;
    let mut all: Vec<Workout> = (0..count)
        .map(|index| {
            let jitter = rng.range(0.0, step * 0.8);
            let start = start_of_span + Duration::seconds((index as f64 * step + jitter) as i64);
            one(&mut rng, index, start)
        })
        .collect();
    for index in 1..all.len() {
        if is_double(index) {
            double(&mut all, index);
        }
    }
    all
}

/// Whether workout `index` is a second session of the same sport right after the one before
/// (one in 13): a near miss that cross-provider linking must keep apart.
pub fn is_double(index: usize) -> bool {
    index % 13 == 6
}

/// Make `all[index]` a second session: the previous workout's sport and place, starting 20 to 60
/// minutes after it ended (when that still comes before the next workout).
fn double(all: &mut [Workout], index: usize) {
    let before = &all[index - 1];
    let gap = 1200 + (index as i64 * 7919) % 2400;
    let start = before.start + Duration::seconds(before.elapsed + gap);
    let (sport, utc_offset, zone) = (before.sport, before.utc_offset, before.zone);
    if all.get(index + 1).is_some_and(|next| start >= next.start) {
        return;
    }
    let w = &mut all[index];
    w.start = start;
    if w.sport != sport {
        // The new sport's numbers: recompute what depends on it.
        w.power = None;
        w.elevation = if sport.travels() {
            w.elevation.max(1.0)
        } else {
            0.0
        };
        if sport == Sport::Strength {
            w.distance = 0.0;
        }
    }
    w.sport = sport;
    w.utc_offset = utc_offset;
    w.zone = zone;
    w.name = format!("{} #{}", sport.label(), index + 1);
}

/// One workout starting at `start` (a late upload the sandbox is told about), drawn from its own
/// stream so that it does not disturb the generated set.
pub fn single(index: usize, start: DateTime<Utc>, seed: u64) -> Workout {
    one(
        &mut SplitMix64(seed ^ (index as u64).rotate_left(17)),
        index,
        start,
    )
}

fn one(rng: &mut SplitMix64, index: usize, start: DateTime<Utc>) -> Workout {
    let roll = rng.unit();
    let (sport, speed, hr) = match roll {
        r if r < 0.45 => (Sport::Run, rng.range(2.6, 4.2), true),
        r if r < 0.55 => (Sport::TrailRun, rng.range(2.0, 3.2), true),
        r if r < 0.78 => (Sport::Ride, rng.range(6.0, 10.0), true),
        r if r < 0.83 => (Sport::VirtualRide, rng.range(7.0, 10.0), true),
        r if r < 0.93 => (Sport::Swim, rng.range(0.7, 1.3), false),
        r if r < 0.97 => (Sport::Hike, rng.range(1.0, 1.6), true),
        _ => (Sport::Strength, 0.0, true),
    };
    let moving = rng.range(1200.0, 7200.0) as i64;
    let elapsed = moving + rng.range(0.0, 600.0) as i64;
    let distance = (speed * moving as f64 * 10.0).round() / 10.0;
    let (utc_offset, zone) = ZONES[(rng.next_u64() % ZONES.len() as u64) as usize];
    let avg_hr = rng.range(120.0, 160.0).round();
    let heart_rate =
        (hr && rng.unit() > 0.1).then(|| (avg_hr, avg_hr + rng.range(10.0, 30.0).round()));
    let power = matches!(sport, Sport::Ride | Sport::VirtualRide).then(|| {
        let avg = rng.range(150.0, 260.0).round();
        (avg, avg + rng.range(200.0, 500.0).round())
    });
    let elevation = match sport.travels() {
        false => 0.0,
        true => (distance / 1000.0 * rng.range(2.0, 25.0)).round(),
    };
    Workout {
        index,
        sport,
        start,
        utc_offset,
        zone,
        elapsed,
        moving,
        distance,
        elevation,
        heart_rate,
        power,
        device: DEVICES[(rng.next_u64() % DEVICES.len() as u64) as usize],
        name: format!("{} #{}", sport.label(), index + 1),
    }
}

/// A zone's offset as `+01:00` / `-05:00` / `+09:30`.
pub fn offset_label(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let abs = seconds.unsigned_abs();
    format!("{sign}{:02}:{:02}", abs / 3600, abs % 3600 / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchor() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn same_seed_same_data_and_seeds_differ() {
        assert_eq!(workouts(50, 7, 3, anchor()), workouts(50, 7, 3, anchor()));
        assert_ne!(workouts(50, 7, 3, anchor()), workouts(50, 8, 3, anchor()));
    }

    #[test]
    fn workouts_are_ordered_within_the_span_and_plausible() {
        let w = workouts(500, 1, 3, anchor());
        assert!(
            w.windows(2).all(|p| p[0].start < p[1].start),
            "strictly increasing starts"
        );
        assert!(w.first().unwrap().start >= anchor() - Duration::days(3 * 365));
        assert!(w.last().unwrap().start < anchor());
        assert!(w.iter().all(|x| x.moving <= x.elapsed && x.distance >= 0.0));
        let sports: std::collections::BTreeSet<_> = w.iter().map(|x| x.sport).collect();
        assert!(sports.len() >= 5, "a mix of sports: {sports:?}");
        let doubles = (1..w.len())
            .filter(|&i| {
                let gap = w[i].start - (w[i - 1].start + Duration::seconds(w[i - 1].elapsed));
                w[i].sport == w[i - 1].sport && gap <= Duration::hours(1)
            })
            .count();
        assert!(
            doubles >= 20,
            "second sessions close after the first: {doubles}"
        );
    }

    #[test]
    fn the_default_anchor_is_the_start_of_today() {
        let now = Utc.with_ymd_and_hms(2027, 3, 9, 17, 45, 1).unwrap();
        assert_eq!(
            anchor_for(now),
            Utc.with_ymd_and_hms(2027, 3, 9, 0, 0, 0).unwrap()
        );
    }
}
