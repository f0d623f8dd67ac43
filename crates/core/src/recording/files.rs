//! Originals on disk, content-addressed: `<data dir>/originals/<aa>/<sha256>.gz`, where `aa` is
//! the hash's first two hex digits (a few thousand files per folder at most) and the content is
//! the original gzipped (so `gunzip` gives the athlete's file back, byte for byte).
//!
//! A file is written under a temporary name, synced, then renamed into place, and only then is
//! its row written: a crash leaves at worst a temporary file or an unreferenced original, which
//! the start-up sweep removes, never a row pointing at nothing. Two copies with the same bytes
//! (a FIT uploaded to two providers) are one file.

use crate::{Error, Result};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How old an unreferenced file must be before the sweep removes it: younger ones may belong to
/// a download in another process whose row is not committed yet.
const GRACE: Duration = Duration::from_secs(3600);

/// What [`OriginalFiles::put`] stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The original's SHA-256, lower-case hex.
    pub sha256: String,
    /// The original's size.
    pub bytes: u64,
    /// Its size on disk, compressed.
    pub stored_bytes: u64,
}

/// The folder of originals.
#[derive(Debug, Clone)]
pub struct OriginalFiles {
    root: PathBuf,
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        use std::fmt::Write as _;
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn valid_hash(sha256: &str) -> bool {
    sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

impl OriginalFiles {
    /// Originals under `<data_dir>/originals`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            root: data_dir.join("originals"),
        }
    }

    /// Where the original with `sha256` is kept.
    pub fn path(&self, sha256: &str) -> PathBuf {
        self.root
            .join(sha256.get(..2).unwrap_or("00"))
            .join(format!("{sha256}.gz"))
    }

    /// Keep `bytes` (once: an original already kept is not written again). Blocking work runs
    /// off the async threads.
    pub async fn put(&self, bytes: Vec<u8>) -> Result<Stored> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.put_blocking(&bytes))
            .await
            .map_err(|e| Error::Internal(format!("storing an original stopped: {e}")))?
    }

    fn put_blocking(&self, bytes: &[u8]) -> Result<Stored> {
        let sha256 = sha256_hex(bytes);
        let path = self.path(&sha256);
        if let Ok(meta) = std::fs::metadata(&path) {
            return Ok(Stored {
                sha256,
                bytes: bytes.len() as u64,
                stored_bytes: meta.len(),
            });
        }
        let dir = path
            .parent()
            .ok_or_else(|| Error::Internal("an original's path has no folder".to_owned()))?;
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        let mut temp = tempfile::Builder::new()
            .prefix(".partial-")
            .tempfile_in(dir)
            .map_err(|e| Error::io(format!("cannot write in {}", dir.display()), e))?;
        let mut gz = // Level 1: a FIT (binary, mostly small integers) gains little from harder work, and
        // level 6 cost three times the decode (BENCHMARKS.md).
        flate2::write::GzEncoder::new(temp.as_file_mut(), flate2::Compression::fast());
        gz.write_all(bytes)
            .and_then(|()| gz.finish().map(|_| ()))
            .and_then(|()| temp.as_file().sync_all())
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
        let stored_bytes = temp.as_file().metadata().map(|m| m.len()).unwrap_or(0);
        match temp.persist_noclobber(&path) {
            Ok(_) => {}
            // Another process stored the same bytes meanwhile: theirs is as good as ours.
            Err(e) if path.exists() => drop(e),
            Err(e) => {
                return Err(Error::io(
                    format!("cannot keep {}", path.display()),
                    e.error,
                ));
            }
        }
        if let Ok(folder) = std::fs::File::open(dir) {
            let _ = folder.sync_all(); // the rename itself survives a power cut
        }
        Ok(Stored {
            sha256,
            bytes: bytes.len() as u64,
            stored_bytes,
        })
    }

    /// The original with `sha256`, checked against its hash.
    pub async fn read(&self, sha256: &str) -> Result<Vec<u8>> {
        if !valid_hash(sha256) {
            return Err(Error::Validation(format!("'{sha256}' is not a SHA-256")));
        }
        let path = self.path(sha256);
        let expected = sha256.to_owned();
        tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(&path)
                .map_err(|e| Error::io(format!("the original {} is missing", path.display()), e))?;
            let mut bytes = Vec::new();
            flate2::read::GzDecoder::new(file)
                .take(super::MAX_FILE as u64 + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| Error::io(format!("the original {} is damaged", path.display()), e))?;
            if sha256_hex(&bytes) != expected {
                return Err(Error::Internal(format!(
                    "the original {} does not match its hash (damaged on disk)",
                    path.display()
                )));
            }
            Ok(bytes)
        })
        .await
        .map_err(|e| Error::Internal(format!("reading an original stopped: {e}")))?
    }

    /// Remove what no row refers to: originals not in `keep` and temporary files, each once it
    /// is older than an hour. Returns how many files went.
    pub async fn sweep(&self, keep: HashSet<String>) -> Result<u64> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || sweep_blocking(&root, &keep, SystemTime::now()))
            .await
            .map_err(|e| Error::Internal(format!("the sweep stopped: {e}")))?
    }
}

fn sweep_blocking(root: &Path, keep: &HashSet<String>, now: SystemTime) -> Result<u64> {
    let Ok(folders) = std::fs::read_dir(root) else {
        return Ok(0); // nothing stored yet
    };
    let mut removed = 0;
    for folder in folders.flatten() {
        let Ok(files) = std::fs::read_dir(folder.path()) else {
            continue;
        };
        for file in files.flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            let kept = name
                .strip_suffix(".gz")
                .is_some_and(|hash| valid_hash(hash) && keep.contains(hash));
            if kept {
                continue;
            }
            let old = file
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|m| now.duration_since(m).unwrap_or_default() >= GRACE);
            if old && std::fs::remove_file(file.path()).is_ok() {
                removed += 1;
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn originals_are_kept_once_and_read_back_checked() {
        let dir = tempfile::tempdir().unwrap();
        let files = OriginalFiles::new(dir.path());
        let a = files.put(b"a FIT file".to_vec()).await.unwrap();
        let again = files.put(b"a FIT file".to_vec()).await.unwrap();
        assert_eq!(a, again);
        assert_eq!(files.read(&a.sha256).await.unwrap(), b"a FIT file");
        // Damaged on disk: an error, not wrong bytes.
        let path = files.path(&a.sha256);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"other bytes").unwrap();
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        assert!(files.read(&a.sha256).await.is_err());
        assert!(files.read("../../etc/passwd").await.is_err());
    }

    #[test]
    fn the_sweep_removes_old_orphans_and_partials_only() {
        let dir = tempfile::tempdir().unwrap();
        let files = OriginalFiles::new(dir.path());
        let keep = sha256_hex(b"kept");
        let orphan = sha256_hex(b"orphan");
        for name in [&keep, &orphan] {
            let p = files.path(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"x").unwrap();
        }
        let partial = files.path(&keep).with_file_name(".partial-abc");
        std::fs::write(&partial, b"x").unwrap();
        let set: HashSet<String> = [keep.clone()].into();
        // Young orphans may be another process's download in flight: left alone.
        assert_eq!(
            sweep_blocking(&files.root, &set, SystemTime::now()).unwrap(),
            0
        );
        let later = SystemTime::now() + GRACE + Duration::from_secs(1);
        assert_eq!(sweep_blocking(&files.root, &set, later).unwrap(), 2);
        assert!(files.path(&keep).exists());
        assert!(!files.path(&orphan).exists() && !partial.exists());
    }
}
