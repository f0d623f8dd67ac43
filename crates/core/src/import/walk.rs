//! Reading what the athlete chose, untrusted: files, folders (recursively, links never followed
//! out of the folder chosen) and ZIP archives (nested ones too), one member at a time and never
//! unpacked to disk. Every limit has its own message; a member that breaks one is refused and the
//! walk goes on.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::{Component, Path, PathBuf};

/// The limits on an archive. Each is checked on the bytes actually read, not on what the
/// archive's directory claims.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Entries an archive may list.
    pub entries: usize,
    /// Bytes one member may expand to (an activity file, a CSV or a JSON).
    pub member: u64,
    /// Bytes a nested archive may expand to (it is read in memory: never unpacked to disk).
    pub nested: u64,
    /// Bytes one archive may expand to in all.
    pub total: u64,
    /// How much a member may expand relative to its compressed size (beyond the first MiB).
    pub ratio: u64,
    /// How deep archives may nest.
    pub depth: usize,
}

/// The limits used (BENCHMARKS.md: a 2 GB archive of 5,000 members stays under 200 MB).
pub const LIMITS: Limits = Limits {
    entries: 200_000,
    member: crate::recording::MAX_FILE as u64,
    nested: 256 << 20,
    total: 64 << 30,
    ratio: 100,
    depth: 3,
};

/// What the walk found.
#[derive(Debug)]
pub enum Found {
    /// A file's bytes, with where it was.
    File {
        /// Where it was (`export.zip/activities/1.fit.gz`).
        path: String,
        /// Its content.
        bytes: Vec<u8>,
    },
    /// Something not read, and why.
    Refused {
        /// Where it was.
        path: String,
        /// Why it was not read.
        reason: String,
    },
    /// Progress: this many bytes of the inputs (as they lie on disk) are done.
    Done(u64),
}

/// What the walk tells its reader; `false` from it stops the walk (a cancel).
pub type Sink<'a> = dyn FnMut(Found) -> bool + 'a;

/// How many bytes the inputs take on disk (for the progress and its ETA), and how many files.
pub fn measure(inputs: &[PathBuf]) -> (u64, u64) {
    let (mut bytes, mut files) = (0u64, 0u64);
    for input in inputs {
        let mut stack = vec![input.clone()];
        let mut seen = HashSet::new();
        while let Some(path) = stack.pop() {
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                if !seen.insert(path.clone()) {
                    continue;
                }
                if let Ok(entries) = std::fs::read_dir(&path) {
                    stack.extend(entries.flatten().map(|e| e.path()));
                }
            } else if meta.is_file() {
                bytes += meta.len();
                files += 1;
            }
        }
    }
    (bytes, files)
}

/// The display name of an input: its file name (never the athlete's home path).
pub fn label(input: &Path) -> String {
    input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| input.to_string_lossy().into_owned())
}

/// Walk `inputs`, telling `sink` what is found. Returns false when the sink stopped it.
pub fn walk(inputs: &[PathBuf], limits: &Limits, sink: &mut Sink<'_>) -> bool {
    for input in inputs {
        let name = label(input);
        let meta = match std::fs::metadata(input) {
            Ok(m) => m,
            Err(e) => {
                if !sink(Found::Refused {
                    path: name,
                    reason: format!("cannot be read: {e}"),
                }) {
                    return false;
                }
                continue;
            }
        };
        let going = if meta.is_dir() {
            folder(input, &name, limits, sink)
        } else {
            file(input, &name, meta.len(), limits, sink)
        };
        if !going {
            return false;
        }
    }
    true
}

fn is_zip(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06")
}

/// One file on disk: an archive is walked; anything else is read whole (within the limit).
fn file(path: &Path, name: &str, size: u64, limits: &Limits, sink: &mut Sink<'_>) -> bool {
    let mut head = [0u8; 4];
    let opened = File::open(path).and_then(|mut f| {
        let n = f.read(&mut head)?;
        f.rewind()?;
        Ok((f, n))
    });
    let (f, n) = match opened {
        Ok(x) => x,
        Err(e) => {
            return sink(Found::Refused {
                path: name.to_owned(),
                reason: format!("cannot be read: {e}"),
            }) && sink(Found::Done(size));
        }
    };
    if is_zip(&head[..n]) {
        return archive(BufReader::new(f), name, 1, limits, sink, true) && sink(Found::Done(size));
    }
    if size > limits.member {
        return sink(Found::Refused {
            path: name.to_owned(),
            reason: too_large(limits.member),
        }) && sink(Found::Done(size));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    let read = f.take(limits.member + 1).read_to_end(&mut bytes);
    let found = match read {
        Ok(_) if bytes.len() as u64 > limits.member => Found::Refused {
            path: name.to_owned(),
            reason: too_large(limits.member),
        },
        Ok(_) => Found::File {
            path: name.to_owned(),
            bytes,
        },
        Err(e) => Found::Refused {
            path: name.to_owned(),
            reason: format!("cannot be read: {e}"),
        },
    };
    sink(found) && sink(Found::Done(size))
}

fn too_large(limit: u64) -> String {
    format!("larger than {} MiB: not read", limit >> 20)
}

/// A folder, recursively. A link is followed only when it stays inside the folder chosen; a
/// folder reached twice (a link loop) is read once. In each folder `activities.csv` comes first
/// (Strava's list names the files that follow), then names in order.
fn folder(root: &Path, name: &str, limits: &Limits, sink: &mut Sink<'_>) -> bool {
    let Ok(top) = root.canonicalize() else {
        return sink(Found::Refused {
            path: name.to_owned(),
            reason: "cannot be read".to_owned(),
        });
    };
    let mut seen = HashSet::new();
    let mut stack = vec![(top.clone(), name.to_owned())];
    while let Some((dir, shown)) = stack.pop() {
        if !seen.insert(dir.clone()) {
            continue;
        }
        let mut entries: Vec<_> = match std::fs::read_dir(&dir) {
            Ok(e) => e.flatten().collect(),
            Err(e) => {
                if !sink(Found::Refused {
                    path: shown,
                    reason: format!("cannot be read: {e}"),
                }) {
                    return false;
                }
                continue;
            }
        };
        entries.sort_by_key(|e| (e.file_name() != "activities.csv", e.file_name()));
        let mut subfolders = Vec::new();
        for entry in entries {
            let path = entry.path();
            let child = format!("{shown}/{}", entry.file_name().to_string_lossy());
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let (target, meta) = if meta.file_type().is_symlink() {
                match path.canonicalize() {
                    Ok(t) if t.starts_with(&top) => match std::fs::metadata(&t) {
                        Ok(m) => (t, m),
                        Err(_) => continue,
                    },
                    _ => {
                        if !sink(Found::Refused {
                            path: child,
                            reason: "a link out of the folder chosen: not followed".to_owned(),
                        }) {
                            return false;
                        }
                        continue;
                    }
                }
            } else {
                (path, meta)
            };
            if meta.is_dir() {
                subfolders.push((target, child));
            } else if meta.is_file() && !file(&target, &child, meta.len(), limits, sink) {
                return false;
            }
        }
        // Depth first, in name order.
        stack.extend(subfolders.into_iter().rev());
    }
    true
}

/// Why an archive entry's name cannot be trusted, if it cannot.
fn unsafe_name(name: &str) -> Option<&'static str> {
    let path = Path::new(name);
    if name.starts_with('/') || name.starts_with('\\') || name.get(1..2) == Some(":") {
        return Some("an absolute name");
    }
    if name.contains('\0') {
        return Some("a name with a NUL byte");
    }
    if path.components().any(|c| matches!(c, Component::ParentDir))
        || name.split(['/', '\\']).any(|p| p == "..")
    {
        return Some("a name that climbs out of the archive ('..')");
    }
    None
}

/// One archive, member by member. `outer` is true for an archive on disk (its members' progress
/// is its compressed sizes); a nested archive's progress is its own member's.
fn archive<R: Read + Seek>(
    reader: R,
    shown: &str,
    depth: usize,
    limits: &Limits,
    sink: &mut Sink<'_>,
    outer: bool,
) -> bool {
    let mut zip = match zip::ZipArchive::new(reader) {
        Ok(z) => z,
        Err(e) => {
            return sink(Found::Refused {
                path: shown.to_owned(),
                reason: format!("the ZIP archive cannot be read: {e}"),
            });
        }
    };
    if zip.len() > limits.entries {
        return sink(Found::Refused {
            path: shown.to_owned(),
            reason: format!(
                "the archive lists {} entries, more than {}: not read",
                zip.len(),
                limits.entries
            ),
        });
    }
    // Strava's list first: it names the files that follow.
    let mut order: Vec<(bool, usize)> = (0..zip.len())
        .map(|i| {
            let csv = zip
                .name_for_index(i)
                .and_then(std::result::Result::ok)
                .is_some_and(|n| n == "activities.csv" || n.ends_with("/activities.csv"));
            (!csv, i)
        })
        .collect();
    order.sort();
    let mut expanded = 0u64;
    for (_, i) in order {
        let mut entry = match zip.by_index(i) {
            Ok(e) => e,
            Err(e) => {
                if !sink(Found::Refused {
                    path: format!("{shown}/#{i}"),
                    reason: format!("a damaged entry: {e}"),
                }) {
                    return false;
                }
                continue;
            }
        };
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let path = format!("{shown}/{name}");
        let compressed = entry.compressed_size();
        let done = |sink: &mut Sink<'_>| !outer || sink(Found::Done(compressed));
        if entry.is_dir() {
            if !done(sink) {
                return false;
            }
            continue;
        }
        let refusal = if let Some(why) = unsafe_name(&name) {
            Some(format!("{why}: not read"))
        } else if entry.is_symlink() {
            Some("a link inside the archive: not followed".to_owned())
        } else if expanded >= limits.total {
            Some(format!(
                "the archive expands to more than {} GiB: the rest is not read",
                limits.total >> 30
            ))
        } else {
            None
        };
        if let Some(reason) = refusal {
            if !(sink(Found::Refused { path, reason }) && done(sink)) {
                return false;
            }
            continue;
        }
        // Read at most what the limits allow: the member's own, the ratio's, the archive's.
        let mut head = [0u8; 4];
        let mut taken = 0usize;
        let mut failed = None;
        while taken < 4 {
            match entry.read(&mut head[taken..]) {
                Ok(0) => break,
                Ok(n) => taken += n,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        let nested = is_zip(&head[..taken]);
        let own = if nested { limits.nested } else { limits.member };
        let by_ratio = compressed
            .saturating_mul(limits.ratio)
            .saturating_add(1 << 20);
        let cap = own.min(by_ratio).min(limits.total - expanded);
        let mut bytes = head[..taken].to_vec();
        if failed.is_none()
            && let Err(e) = (&mut entry)
                .take(cap.saturating_sub(taken as u64) + 1)
                .read_to_end(&mut bytes)
        {
            failed = Some(e);
        }
        drop(entry);
        expanded += bytes.len() as u64;
        let found = match failed {
            Some(e) => Found::Refused {
                path,
                reason: format!("a damaged member: {e}"),
            },
            None if bytes.len() as u64 > cap => Found::Refused {
                path,
                reason: if cap == own {
                    if nested {
                        format!(
                            "a nested archive larger than {} MiB: unzip it and import its folder",
                            own >> 20
                        )
                    } else {
                        too_large(own)
                    }
                } else if cap == by_ratio {
                    format!(
                        "expands more than {}:1 (a ZIP bomb?): not read",
                        limits.ratio
                    )
                } else {
                    format!(
                        "the archive expands to more than {} GiB: the rest is not read",
                        limits.total >> 30
                    )
                },
            },
            None if nested && depth >= limits.depth => Found::Refused {
                path,
                reason: format!("archives nested more than {} deep: not read", limits.depth),
            },
            None if nested => {
                if !archive(
                    std::io::Cursor::new(bytes),
                    &path,
                    depth + 1,
                    limits,
                    sink,
                    false,
                ) {
                    return false;
                }
                if !done(sink) {
                    return false;
                }
                continue;
            }
            None => Found::File { path, bytes },
        };
        if !(sink(found) && done(sink)) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    use tributary_sandbox::archive::zip_of;

    fn collect(inputs: &[PathBuf], limits: &Limits) -> Vec<(String, Result<usize, String>)> {
        let mut out = Vec::new();
        walk(inputs, limits, &mut |f| {
            match f {
                Found::File { path, bytes } => out.push((path, Ok(bytes.len()))),
                Found::Refused { path, reason } => out.push((path, Err(reason))),
                Found::Done(_) => {}
            }
            true
        });
        out
    }

    #[test]
    fn nested_archives_are_walked_in_memory_and_csv_comes_first() {
        let dir = tempfile::tempdir().unwrap();
        let inner = zip_of(&[("a.fit", b"fit!"), ("b.gpx", b"gpx")]);
        let outer = zip_of(&[
            ("x/readme.txt", b"hi"),
            ("x/parts/part1.zip", &inner),
            ("x/activities.csv", b"id\n1\n"),
        ]);
        std::fs::write(dir.path().join("export.zip"), &outer).unwrap();
        let got = collect(&[dir.path().join("export.zip")], &LIMITS);
        let paths: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "export.zip/x/activities.csv",
                "export.zip/x/readme.txt",
                "export.zip/x/parts/part1.zip/a.fit",
                "export.zip/x/parts/part1.zip/b.gpx"
            ]
        );
        // Nothing was written next to the archive.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn each_limit_refuses_with_its_own_message_and_the_walk_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let bomb = vec![0u8; 3 << 20];
        // Noise does not compress: 5 MiB of it is 5 MiB in the archive too.
        let mut seed = 7u64;
        let big: Vec<u8> = (0..5 << 20)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (seed >> 56) as u8
            })
            .collect();
        let deep = zip_of(&[("d.zip", &zip_of(&[("e.zip", &zip_of(&[("f.fit", b"x")]))]))]);
        let outer = zip_of(&[
            ("../evil.fit", b"x"),
            ("/etc/passwd", b"x"),
            ("bomb.fit", &bomb),
            ("big.fit", &big),
            ("deep.zip", &deep),
            ("fine.fit", b"fine"),
        ]);
        std::fs::write(dir.path().join("a.zip"), &outer).unwrap();
        let limits = Limits {
            member: 4 << 20,
            ..LIMITS
        };
        let got: std::collections::BTreeMap<_, _> = collect(&[dir.path().join("a.zip")], &limits)
            .into_iter()
            .collect();
        let why = |p: &str| got[p].clone().unwrap_err();
        assert!(why("a.zip/../evil.fit").contains("'..'"));
        assert!(why("a.zip//etc/passwd").contains("absolute"));
        assert!(why("a.zip/bomb.fit").contains("ZIP bomb"), "{got:?}");
        assert!(
            why("a.zip/big.fit").contains("larger than 4 MiB"),
            "{got:?}"
        );
        assert!(
            why("a.zip/deep.zip/d.zip/e.zip").contains("nested more than 3 deep"),
            "{got:?}"
        );
        assert_eq!(got["a.zip/fine.fit"], Ok(4));
        let few = Limits {
            entries: 3,
            ..LIMITS
        };
        let got = collect(&[dir.path().join("a.zip")], &few);
        assert!(got[0].1.clone().unwrap_err().contains("lists 6 entries"));
    }

    #[test]
    fn links_out_of_the_folder_are_not_followed_and_loops_end() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.fit"), b"secret").unwrap();
        let root = dir.path().join("watch");
        std::fs::create_dir_all(root.join("Activity")).unwrap();
        std::fs::write(root.join("Activity/1.fit"), b"one").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("away")).unwrap();
        std::os::unix::fs::symlink(&root, root.join("Activity/loop")).unwrap();
        std::os::unix::fs::symlink(root.join("Activity/1.fit"), root.join("same.fit")).unwrap();
        let got = collect(std::slice::from_ref(&root), &LIMITS);
        let files: Vec<_> = got
            .iter()
            .filter(|(_, r)| r.is_ok())
            .map(|(p, _)| p.clone())
            .collect();
        assert_eq!(files, ["watch/same.fit", "watch/Activity/1.fit"], "{got:?}");
        assert!(got.iter().any(|(p, r)| p == "watch/away"
            && r.as_ref().is_err_and(|e| e.contains("out of the folder"))));
    }
}
