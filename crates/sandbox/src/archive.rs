//! Sample archives in each provider's export layout (`../shared/providers.md` §0c), written from
//! generated workouts, so that the demo can show an import without real data and the tests make
//! their own: Strava's bulk export (a French `activities.csv`, `.fit.gz`, `.gpx` and `.tcx.gz`
//! files, gear lists, media), Garmin's "Export all data" (activity and monitoring FITs in nested
//! ZIPs under `DI_CONNECT/DI-Connect-Uploaded-Files/`), Polar Flow's export (training sessions as
//! JSON), Google Takeout's Fitbit folder (exercise lists as JSON) and a watch's folder
//! (`GARMIN/Activity`, `GARMIN/Monitor`). Where a layout is unverified (Polar's JSON fields,
//! Takeout's), these follow the third-party write-ups the readers follow.

use crate::generate::{Sport, Workout};
use crate::recording::{Sample, fit, fit_of, monitoring_fit, samples};
use chrono::{Duration, SecondsFormat};
use serde_json::{Value, json};
use std::io::{self, Write};
use std::path::Path;

/// Strava's upload file numbers (not the activity ids: the list maps one to the other).
pub const STRAVA_FILE_BASE: i64 = 13_000_000_000;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = gz.write_all(bytes);
    gz.finish().unwrap_or_default()
}

fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn gpx_type(sport: Sport) -> &'static str {
    match sport {
        Sport::Run => "running",
        Sport::TrailRun => "trail_running",
        Sport::Ride => "cycling",
        Sport::VirtualRide => "virtual_ride",
        Sport::Swim => "swimming",
        Sport::Hike => "hiking",
        Sport::Strength => "training",
    }
}

/// Workout `w` as a GPX 1.1 track (Strava's export writes GPX for uploads that came as GPX).
pub fn gpx(w: &Workout) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gpx version=\"1.1\" creator=\"Tributary sandbox\" \
         xmlns=\"http://www.topografix.com/GPX/1/1\" \
         xmlns:gpxtpx=\"http://www.garmin.com/xmlschemas/TrackPointExtension/v1\">\n\
         <metadata><time>{}</time></metadata>\n<trk><name>{}</name><type>{}</type><trkseg>\n",
        iso(w.start),
        w.name,
        gpx_type(w.sport)
    );
    for s in samples(w) {
        let t = iso(w.start + Duration::seconds(i64::from(s.t)));
        let (lat, lon) = s.position.unwrap_or((0.0, 0.0));
        out.push_str(&format!("<trkpt lat=\"{lat:.7}\" lon=\"{lon:.7}\">"));
        if let Some(a) = s.altitude {
            out.push_str(&format!("<ele>{a:.1}</ele>"));
        }
        out.push_str(&format!("<time>{t}</time>"));
        if let Some(hr) = s.heart_rate {
            out.push_str(&format!(
                "<extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{hr}</gpxtpx:hr></gpxtpx:TrackPointExtension></extensions>"
            ));
        }
        out.push_str("</trkpt>\n");
    }
    out.push_str("</trkseg></trk>\n</gpx>\n");
    out
}

/// Workout `w` as TCX, starting with whitespace as some of Strava's exported TCX files do.
pub fn tcx(w: &Workout) -> String {
    let sport = match w.sport {
        Sport::Run | Sport::TrailRun => "Running",
        Sport::Ride | Sport::VirtualRide => "Biking",
        _ => "Other",
    };
    let points = samples(w);
    let mut out = format!(
        "\n      <?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<TrainingCenterDatabase \
         xmlns=\"http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2\">\n<Activities>\
         <Activity Sport=\"{sport}\"><Id>{}</Id>\n<Lap StartTime=\"{}\"><TotalTimeSeconds>{}</TotalTimeSeconds>\
         <DistanceMeters>{:.1}</DistanceMeters><Track>\n",
        iso(w.start),
        iso(w.start),
        w.elapsed,
        w.distance
    );
    for s in &points {
        let t = iso(w.start + Duration::seconds(i64::from(s.t)));
        out.push_str(&format!("<Trackpoint><Time>{t}</Time>"));
        if let Some((lat, lon)) = s.position {
            out.push_str(&format!(
                "<Position><LatitudeDegrees>{lat:.7}</LatitudeDegrees><LongitudeDegrees>{lon:.7}</LongitudeDegrees></Position>"
            ));
        }
        if let Some(a) = s.altitude {
            out.push_str(&format!("<AltitudeMeters>{a:.1}</AltitudeMeters>"));
        }
        out.push_str(&format!(
            "<DistanceMeters>{:.1}</DistanceMeters>",
            s.distance
        ));
        if let Some(hr) = s.heart_rate {
            out.push_str(&format!("<HeartRateBpm><Value>{hr}</Value></HeartRateBpm>"));
        }
        out.push_str("</Trackpoint>\n");
    }
    out.push_str("</Track></Lap></Activity></Activities>\n</TrainingCenterDatabase>\n");
    out
}

/// A ZIP of `files` (name, content), deflated, in memory (tests build odd archives with it).
pub fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut out);
        for (name, content) in files {
            let written = w
                .start_file(*name, zip::write::SimpleFileOptions::default())
                .map_err(io::Error::other)
                .and_then(|()| w.write_all(content));
            if written.is_err() {
                return Vec::new();
            }
        }
        if w.finish().is_err() {
            return Vec::new();
        }
    }
    out.into_inner()
}

/// Where an archive's members go: a ZIP or a folder.
pub enum Out {
    /// A ZIP file being written.
    Zip(Box<zip::ZipWriter<std::fs::File>>),
    /// A folder.
    Folder(std::path::PathBuf),
}

impl Out {
    /// A ZIP at `path`, or a folder at `path` when `folder`.
    pub fn create(path: &Path, folder: bool) -> io::Result<Self> {
        if folder {
            std::fs::create_dir_all(path)?;
            return Ok(Self::Folder(path.to_owned()));
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        Ok(Self::Zip(Box::new(zip::ZipWriter::new(
            std::fs::File::create(path)?,
        ))))
    }

    /// Add one member.
    pub fn add(&mut self, name: &str, bytes: &[u8]) -> io::Result<()> {
        match self {
            Self::Zip(z) => {
                let options = zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated)
                    .compression_level(Some(1));
                z.start_file(name, options).map_err(io::Error::other)?;
                z.write_all(bytes)
            }
            Self::Folder(root) => {
                let path = root.join(name);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(path, bytes)
            }
        }
    }

    /// Finish writing.
    pub fn finish(self) -> io::Result<()> {
        match self {
            Self::Zip(z) => z.finish().map(|_| ()).map_err(io::Error::other),
            Self::Folder(_) => Ok(()),
        }
    }
}

/// What a sample archive holds, for tests to check an import against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Contents {
    /// Activity files (or exercise entries) in it.
    pub activities: usize,
    /// Files that are no activity (monitoring, sleep, lists, media).
    pub other: usize,
}

/// Strava's bulk export of `workouts`: `activities.csv` with French headers (Strava localises
/// them), whose Activity ID is the API's id (the Strava twin's), and `activities/` with a mix of
/// `.fit.gz`, `.gpx` and `.tcx.gz` (by index: 0, 1, 2 mod 3); one manual activity without a file;
/// `bikes.csv`, `shoes.csv` and a photo in `media/`.
pub fn strava_export(out: &mut Out, workouts: &[Workout]) -> io::Result<Contents> {
    let mut csv = String::from(
        "ID de l'activité,Date de l'activité,Nom de l'activité,Type d'activité,\
         Description de l'activité,Temps écoulé,Distance,Nom du fichier\n",
    );
    for w in workouts {
        let id = crate::strava::FIRST_ID + w.index as i64;
        let number = STRAVA_FILE_BASE + w.index as i64;
        let (file, bytes) = match w.index % 3 {
            0 => (format!("activities/{number}.fit.gz"), gzip(&fit(w))),
            1 => (format!("activities/{number}.gpx"), gpx(w).into_bytes()),
            _ => (
                format!("activities/{number}.tcx.gz"),
                gzip(tcx(w).as_bytes()),
            ),
        };
        out.add(&file, &bytes)?;
        csv.push_str(&format!(
            "{id},\"{}\",\"{}\",{},,{},{:.1},{file}\n",
            w.start.format("%-d %b %Y, %H:%M:%S"),
            w.name.replace('"', "\"\""),
            w.sport.label(),
            w.elapsed,
            w.distance / 1000.0
        ));
    }
    csv.push_str("9999999999,\"1 janv. 2020, 07:00:00\",Manuel,Run,,1800,5.0,\n");
    out.add("activities.csv", csv.as_bytes())?;
    out.add(
        "bikes.csv",
        "Nom du vélo,Marque du vélo,Modèle du vélo\nVélo de route,Sandbox,One\n".as_bytes(),
    )?;
    out.add(
        "shoes.csv",
        "Nom de la chaussure,Marque,Modèle\nTrail,Sandbox,Two\n".as_bytes(),
    )?;
    out.add("media/photo.jpg", b"\xff\xd8\xff\xe0 not really a photo")?;
    Ok(Contents {
        activities: workouts.len(),
        other: 5,
    })
}

/// Garmin's "Export all data" of `workouts`: one ZIP with their FITs in a nested
/// `UploadedFiles_0-_Part1.zip` under `DI_CONNECT/DI-Connect-Uploaded-Files/`, beside a day of
/// monitoring per workout (a FIT that is no workout), and sleep and profile JSON elsewhere.
pub fn garmin_export(out: &mut Out, workouts: &[Workout]) -> io::Result<Contents> {
    let mut nested = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut nested);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(1));
        for w in workouts {
            z.start_file(
                format!(
                    "sandbox@example.com_{}.fit",
                    20_000_000_000 + w.index as i64
                ),
                options,
            )
            .map_err(io::Error::other)?;
            z.write_all(&fit(w))?;
            z.start_file(
                format!("sandbox@example.com_{}_WELLNESS.fit", w.index),
                options,
            )
            .map_err(io::Error::other)?;
            z.write_all(&monitoring_fit(w.start - Duration::hours(3)))?;
        }
        z.finish().map_err(io::Error::other)?;
    }
    out.add(
        "DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip",
        nested.get_ref(),
    )?;
    out.add(
        "DI_CONNECT/DI-Connect-Wellness/2024-01-01_2024-04-10_123_sleepData.json",
        br#"[{"calendarDate":"2024-01-01","deepSleepSeconds":5400}]"#,
    )?;
    out.add(
        "DI_CONNECT/DI-Connect-User/user_profile.json",
        br#"{"userName":"sandbox"}"#,
    )?;
    Ok(Contents {
        activities: workouts.len(),
        other: workouts.len() + 2,
    })
}

/// A local time as Polar writes it (no zone; the offset beside it in minutes).
fn polar_local(t: chrono::DateTime<chrono::Utc>, offset: i32) -> String {
    (t + Duration::seconds(i64::from(offset)))
        .naive_utc()
        .format("%Y-%m-%dT%H:%M:%S%.3f")
        .to_string()
}

/// One Polar Flow training session of `w`, as its export's JSON.
pub fn polar_session(w: &Workout) -> Value {
    let all: Vec<Sample> = samples(w);
    let at = |s: &Sample| polar_local(w.start + Duration::seconds(i64::from(s.t)), w.utc_offset);
    let series = |f: &dyn Fn(&Sample) -> Option<f64>| -> Vec<Value> {
        all.iter()
            .filter_map(|s| f(s).map(|v| json!({"dateTime": at(s), "value": v})))
            .collect()
    };
    let sport = match w.sport {
        Sport::Run => "RUNNING",
        Sport::TrailRun => "TRAIL_RUNNING",
        Sport::Ride => "ROAD_BIKING",
        Sport::VirtualRide => "INDOOR_CYCLING",
        Sport::Swim => "SWIMMING",
        Sport::Hike => "HIKING",
        Sport::Strength => "STRENGTH_TRAINING",
    };
    let route: Vec<Value> = all
        .iter()
        .filter_map(|s| {
            s.position.map(|(lat, lon)| {
                json!({"latitude": lat, "longitude": lon, "altitude": s.altitude, "dateTime": at(s)})
            })
        })
        .collect();
    json!({
        "exportVersion": "1.6",
        "identifier": {"id": format!("polar-{}", w.index)},
        "name": w.name,
        "startTime": polar_local(w.start, w.utc_offset),
        "timeZoneOffset": w.utc_offset / 60,
        "exercises": [{
            "startTime": polar_local(w.start, w.utc_offset),
            "timezoneOffset": w.utc_offset / 60,
            "duration": format!("PT{}S", w.elapsed),
            "distance": w.distance,
            "sport": sport,
            "ascent": w.elevation,
            "kiloCalories": 500,
            "heartRate": w.heart_rate.map(|(avg, max)| json!({"avg": avg, "max": max})),
            "samples": {
                "heartRate": series(&|s| s.heart_rate.map(f64::from)),
                "speed": series(&|s| Some((s.speed * 3.6 * 10.0).round() / 10.0)),
                "distance": series(&|s| Some(s.distance)),
            },
            "routes": {"route": {"wayPoints": route}},
        }],
    })
}

/// Polar Flow's export of `workouts`: a ZIP of JSON files at its root, one
/// `training-session_<date-time>_<n>-<uuid>.json` per workout, and sleep and daily activity.
pub fn polar_export(out: &mut Out, workouts: &[Workout]) -> io::Result<Contents> {
    for w in workouts {
        let name = format!(
            "training-session_{}_{}-0000-4000-8000-{:012}.json",
            w.start.format("%Y-%m-%d-%H-%M-%S"),
            w.index,
            w.index
        );
        out.add(&name, polar_session(w).to_string().as_bytes())?;
    }
    out.add(
        "sleep_result_1.json",
        br#"{"night":"2024-01-01","sleepDuration":"PT7H"}"#,
    )?;
    out.add("activity-2024-01-01.json", br#"{"steps":8000}"#)?;
    Ok(Contents {
        activities: workouts.len(),
        other: 2,
    })
}

/// Google Takeout's Fitbit folder for `workouts`: `Takeout/Fitbit/Global Export Data/` with one
/// `exercise-<date>.json` list per 100 workouts (local start times, no zone, as Fitbit writes
/// them; durations in milliseconds; distance in kilometres), and a sleep list.
pub fn takeout(out: &mut Out, workouts: &[Workout]) -> io::Result<Contents> {
    for (n, chunk) in workouts.chunks(100).enumerate() {
        let list: Vec<Value> = chunk
            .iter()
            .map(|w| {
                let local = w.start + Duration::seconds(i64::from(w.utc_offset));
                json!({
                    "logId": 40_000_000_000i64 + w.index as i64,
                    "activityName": w.sport.label(),
                    "startTime": local.format("%m/%d/%y %H:%M:%S").to_string(),
                    "duration": w.elapsed * 1000,
                    "activeDuration": w.moving * 1000,
                    "distance": w.distance / 1000.0,
                    "distanceUnit": "Kilometer",
                    "averageHeartRate": w.heart_rate.map(|h| h.0),
                    "calories": 400,
                })
            })
            .collect();
        let first = chunk
            .first()
            .map(|w| w.start.format("%Y-%m-%d").to_string());
        out.add(
            &format!(
                "Takeout/Fitbit/Global Export Data/exercise-{}-{n}.json",
                first.unwrap_or_default()
            ),
            Value::from(list).to_string().as_bytes(),
        )?;
    }
    out.add(
        "Takeout/Fitbit/Global Export Data/sleep-2024-01-01.json",
        br#"[{"logId":1,"minutesAsleep":420}]"#,
    )?;
    Ok(Contents {
        activities: workouts.len(),
        other: 1,
    })
}

/// A watch's folder: `GARMIN/Activity/<n>.fit` per workout and a day of monitoring in
/// `GARMIN/Monitor/`.
pub fn watch_folder(out: &mut Out, workouts: &[Workout]) -> io::Result<Contents> {
    for w in workouts {
        out.add(&format!("GARMIN/Activity/{}.fit", w.index), &fit(w))?;
    }
    if let Some(w) = workouts.first() {
        out.add(
            "GARMIN/Monitor/1.fit",
            &monitoring_fit(w.start - Duration::hours(3)),
        )?;
    }
    Ok(Contents {
        activities: workouts.len(),
        other: usize::from(!workouts.is_empty()),
    })
}

/// How a second device recorded workout `w` (for linking's ground truth): 0 the whole session,
/// 1 started 3–15 minutes late, 2 stopped early (after 20–60 %), 3 paused for ten minutes
/// (no samples), 4 its clock 90 s off and stopped at 80 %.
pub fn second_device(w: &Workout, variant: usize) -> Vec<u8> {
    let mut d = w.clone();
    let k = (w.index * 7919) % 1000;
    match variant % 5 {
        1 => {
            let late = 180 + (k as i64 * 720) / 1000;
            let late = late.min(w.elapsed / 3);
            d.start = w.start + Duration::seconds(late);
            d.distance = w.distance * (w.elapsed - late) as f64 / w.elapsed as f64;
            d.elapsed = w.elapsed - late;
            d.moving = d.moving.min(d.elapsed);
        }
        2 => {
            let share = 0.2 + 0.4 * k as f64 / 1000.0;
            d.elapsed = (w.elapsed as f64 * share) as i64;
            d.distance = w.distance * share;
            d.moving = d.moving.min(d.elapsed);
        }
        3 => {
            let all = samples(&d);
            let from = (w.elapsed / 3) as u32;
            let kept: Vec<Sample> = all
                .into_iter()
                .filter(|s| s.t < from || s.t >= from + 600)
                .collect();
            return fit_of(&d, &kept);
        }
        4 => {
            d.start = w.start + Duration::seconds(90);
            d.elapsed = (w.elapsed as f64 * 0.8) as i64;
            d.distance = w.distance * 0.8;
            d.moving = d.moving.min(d.elapsed);
        }
        _ => {}
    }
    fit(&d)
}

/// A different session right after `w` (same sport, starting one to five minutes after it
/// ended, twenty minutes long): linking must keep it apart from `w`.
pub fn back_to_back(w: &Workout) -> Vec<u8> {
    let mut d = w.clone();
    d.start = w.start + Duration::seconds(w.elapsed + 60 + (w.index as i64 * 37) % 240);
    d.elapsed = 1200;
    d.moving = 1200;
    d.distance = w.distance * 1200.0 / w.elapsed.max(1) as f64;
    d.index = w.index + 100_000;
    fit(&d)
}

/// A layout's writer.
pub type Writer = fn(&mut Out, &[Workout]) -> io::Result<Contents>;

/// Write sample archives of the latest `count` of `workouts` in each layout into `dir`
/// (`strava-export.zip`, `garmin-export.zip`, `polar-export.zip`, `takeout.zip` and a `watch`
/// folder), for the demo's Import. Returns their paths.
pub fn write_samples(
    workouts: &[Workout],
    dir: &Path,
    count: usize,
) -> io::Result<Vec<std::path::PathBuf>> {
    let latest = &workouts[workouts.len().saturating_sub(count)..];
    let layouts: [(&str, bool, Writer); 5] = [
        ("strava-export.zip", false, strava_export),
        ("garmin-export.zip", false, garmin_export),
        ("polar-export.zip", false, polar_export),
        ("takeout.zip", false, takeout),
        ("watch", true, watch_folder),
    ];
    std::fs::create_dir_all(dir)?;
    let mut paths = Vec::new();
    for (name, folder, write) in layouts {
        let path = dir.join(name);
        // Written under a temporary name, then renamed: a half-written sample never shows.
        let partial = dir.join(format!(".{name}.partial"));
        if partial.is_dir() {
            std::fs::remove_dir_all(&partial)?;
        }
        let mut out = Out::create(&partial, folder)?;
        write(&mut out, latest)?;
        out.finish()?;
        if folder && path.exists() {
            std::fs::remove_dir_all(&path)?;
        }
        std::fs::rename(&partial, &path)?;
        paths.push(path);
    }
    Ok(paths)
}
