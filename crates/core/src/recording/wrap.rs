//! Wrappers around an original: gzip (Strava's archive, some hosts) and a ZIP holding the file
//! (Garmin's download service). Read in memory with every size bounded: a wrapper is untrusted
//! (a ZIP bomb inflates no further than [`MAX_FILE`]).

use super::{FileFormat, MAX_FILE, Unreadable};
use std::io::Read;

/// The original inside `bytes`, or `bytes` themselves when they are not wrapped.
pub(super) fn unwrap(bytes: Vec<u8>) -> Result<Vec<u8>, Unreadable> {
    if bytes.len() > MAX_FILE {
        return Err(too_large());
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return gunzip(&bytes);
    }
    // A ZIP starts with a local file header, or (empty) with its end-of-directory record.
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return from_zip(&bytes);
    }
    Ok(bytes)
}

fn too_large() -> Unreadable {
    Unreadable(format!(
        "the file is larger than {} MiB; not kept",
        MAX_FILE >> 20
    ))
}

/// Read at most [`MAX_FILE`] bytes from `reader`; more is an error.
fn bounded(reader: impl Read, what: &str) -> Result<Vec<u8>, Unreadable> {
    let mut out = Vec::new();
    reader
        .take(MAX_FILE as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| Unreadable(format!("{what} is damaged: {e}")))?;
    if out.len() > MAX_FILE {
        return Err(too_large());
    }
    Ok(out)
}

fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, Unreadable> {
    bounded(flate2::read::MultiGzDecoder::new(bytes), "the gzip file")
}

/// The one activity file in a ZIP (the first FIT, else GPX, else TCX entry, by content).
fn from_zip(bytes: &[u8]) -> Result<Vec<u8>, Unreadable> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| Unreadable(format!("the ZIP archive cannot be read: {e}")))?;
    let mut best: Option<(FileFormat, Vec<u8>)> = None;
    // Bounded: a ZIP from a download service holds one file; look at no more than a few.
    for i in 0..archive.len().min(16) {
        let entry = archive
            .by_index(i)
            .map_err(|e| Unreadable(format!("the ZIP archive cannot be read: {e}")))?;
        if entry.is_dir() {
            continue;
        }
        let content = bounded(entry, "the file in the ZIP archive")?;
        let format = FileFormat::sniff(&content);
        let rank = |f: FileFormat| match f {
            FileFormat::Fit => 0,
            FileFormat::Gpx => 1,
            FileFormat::Tcx => 2,
            FileFormat::Unknown => 3,
        };
        if best.as_ref().is_none_or(|(f, _)| rank(format) < rank(*f)) {
            best = Some((format, content));
        }
    }
    match best {
        Some((_, content)) => Ok(content),
        None => Err(Unreadable("the ZIP archive holds no file".to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    use tributary_sandbox::archive::zip_of;

    #[test]
    fn a_zip_gives_its_activity_file_and_gzip_is_inflated() {
        let gpx = b"<?xml version=\"1.0\"?><gpx></gpx>".to_vec();
        let zipped = zip_of(&[("readme.txt", b"hello"), ("a.gpx", &gpx)]);
        assert_eq!(unwrap(zipped).unwrap(), gpx);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&gpx).unwrap();
        assert_eq!(unwrap(gz.finish().unwrap()).unwrap(), gpx);
        assert_eq!(unwrap(b"plain".to_vec()).unwrap(), b"plain");
    }

    #[test]
    fn broken_wrappers_are_clear_errors() {
        let e = unwrap(b"PK\x03\x04 this is not a zip".to_vec()).unwrap_err();
        assert!(e.0.contains("ZIP"), "{e}");
        let e = unwrap(vec![0x1f, 0x8b, 8, 0, 1, 2, 3]).unwrap_err();
        assert!(e.0.contains("gzip"), "{e}");
        let e = unwrap(zip_of(&[])).unwrap_err();
        assert!(e.0.contains("no file"), "{e}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn wrappers_never_panic(tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..1024),
                                at in proptest::prelude::any::<usize>(), flip in 1u8..=255) {
            // Random bytes behind each magic, and a real ZIP and gzip with one byte flipped.
            for magic in [&b"PK\x03\x04"[..], b"PK\x05\x06", &[0x1f, 0x8b]] {
                let mut bytes = magic.to_vec();
                bytes.extend_from_slice(&tail);
                let _ = unwrap(bytes);
            }
            let mut zipped = zip_of(&[("a.fit", &tail)]);
            let i = at % zipped.len();
            zipped[i] ^= flip;
            let _ = unwrap(zipped);
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&tail).unwrap();
            let mut gz = gz.finish().unwrap();
            let i = at % gz.len();
            gz[i] ^= flip;
            let _ = unwrap(gz);
        }
    }

    #[test]
    fn a_zip_bomb_stops_at_the_cap() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..(MAX_FILE >> 20) + 2 {
            gz.write_all(&zeros).unwrap();
        }
        let bomb = gz.finish().unwrap();
        assert!(bomb.len() < 1 << 20);
        assert!(unwrap(bomb).unwrap_err().0.contains("larger than"));
    }
}
