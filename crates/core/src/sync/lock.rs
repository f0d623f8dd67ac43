//! The cross-process run lock: an exclusive OS lock on `<data dir>/locks/connection-<id>.lock`,
//! held for a run's life. Another process (the CLI beside the desktop app) cannot take it while a
//! run is going, and the OS releases a dead process's lock, which is how its leftover `running`
//! rows are recognised as dead.

use crate::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// A held lock, released on drop (and by the OS when the process dies).
#[derive(Debug)]
pub(crate) struct RunLock {
    _file: File,
}

/// Where connection locks live.
#[derive(Debug, Clone)]
pub(crate) struct LockDir(PathBuf);

impl LockDir {
    /// Locks under `<data_dir>/locks`.
    pub fn new(data_dir: &Path) -> Self {
        Self(data_dir.join("locks"))
    }

    /// Locks of another kind of work (`downloads`), under `<data_dir>/locks/<kind>`: held
    /// independently of the run locks, so a download batch and a sync run go side by side.
    pub fn named(data_dir: &Path, kind: &str) -> Self {
        Self(data_dir.join("locks").join(kind))
    }

    fn path(&self, connection_id: i64) -> PathBuf {
        self.0.join(format!("connection-{connection_id}.lock"))
    }

    /// Take the connection's lock, or `None` when someone (this process included: locks belong
    /// to an open file, not to a process) holds it.
    pub fn try_lock(&self, connection_id: i64) -> Result<Option<RunLock>> {
        std::fs::create_dir_all(&self.0)
            .map_err(|e| Error::io(format!("cannot create {}", self.0.display()), e))?;
        let path = self.path(connection_id);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(RunLock { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => {
                Err(Error::io(format!("cannot lock {}", path.display()), e))
            }
        }
    }
}
