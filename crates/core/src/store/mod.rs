//! The SQLite store: one file, WAL, foreign keys on, migrations embedded from `migrations/`.
//!
//! One module per table. Functions take an executor (`&SqlitePool` or a transaction), so the sync
//! engine can commit a page of activities together with its run's progress. Times are stored as
//! INTEGER milliseconds UTC; enums as TEXT through their `as_str`/`FromStr`.
//!
//! Queries use sqlx's runtime-checked `query_as` with `FromRow` rows rather than the compile-time
//! `query!` macros: the macros need a committed `.sqlx/` cache kept fresh by `sqlx-cli`, a tool
//! whose install costs minutes on CI's two cores. Every query here is exercised by the store tests
//! on a real SQLite file, which catches what the macros would.

pub mod activities;
pub mod athletes;
pub mod attention;
pub mod budgets;
pub mod connections;
pub mod imports;
pub mod library;
pub mod recordings;
pub mod settings;
pub mod sync_history;
pub mod sync_state;
pub mod workouts;

use crate::{Error, Result};
use chrono::{DateTime, TimeZone, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqliteExecutor, SqlitePool};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The migrations, embedded at build time from the workspace's `migrations/`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// The database handle.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    path: PathBuf,
}

impl Store {
    /// Open (creating if needed) the database at `path` and bring its schema up to date. When the
    /// file already exists and migrations are pending, it is copied to `<path>.bak-<n>` first.
    pub async fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        }
        // One process at a time opens, checks, backs up and migrates (sqlx takes no lock on
        // SQLite): two starting together (the tray and a CLI) would otherwise race the same
        // migration, or the switch of a new file to WAL ("database is locked").
        let _migrating = migration_lock(path).await?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        // SQLite has one writer; a few readers are plenty for a desktop app.
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        private(path);
        let store = Self {
            pool,
            path: path.to_owned(),
        };
        store.refuse_newer().await?;
        store.backup_if_migrating().await?;
        MIGRATOR.run(&store.pool).await?;
        Ok(store)
    }

    /// The pool, for executing store functions.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Start a write transaction. `BEGIN IMMEDIATE` takes the write lock up front, waiting (with
    /// the busy timeout) for another writer, instead of reading first and failing at the upgrade:
    /// SQLite does not wait on a read-to-write upgrade, it answers "database is locked".
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Close the pool, checkpointing the WAL.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// An older Tributary on a database a newer one migrated: refuse plainly, changing
    /// nothing, instead of failing inside the migrator.
    async fn refuse_newer(&self) -> Result<()> {
        let has_table: Option<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_optional(&self.pool)
        .await?;
        if has_table.is_none() {
            return Ok(());
        }
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = 1")
                .fetch_all(&self.pool)
                .await?;
        let known: std::collections::HashSet<i64> = MIGRATOR.iter().map(|m| m.version).collect();
        let unknown = applied.iter().filter(|v| !known.contains(v)).count();
        if unknown > 0 {
            let applied = i64::try_from(applied.len()).unwrap_or(i64::MAX);
            return Err(Error::DatabaseTooNew {
                path: self.path.display().to_string(),
                version: env!("CARGO_PKG_VERSION"),
                applied,
                known: applied - i64::try_from(unknown).unwrap_or(0),
            });
        }
        Ok(())
    }

    async fn backup_if_migrating(&self) -> Result<()> {
        let has_table: Option<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_optional(&self.pool)
        .await?;
        if has_table.is_none() {
            return Ok(()); // a new database: nothing to protect
        }
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(&self.pool)
            .await?;
        let embedded = i64::try_from(MIGRATOR.iter().count()).unwrap_or(i64::MAX);
        if applied >= embedded {
            return Ok(());
        }
        let backup = self.path.with_extension(format!("db.bak-{applied}"));
        // VACUUM INTO writes a consistent copy even with a WAL in use, but refuses a file that
        // exists: it writes under a temporary name of ours (any leftover of a copy a kill cut
        // short is ours to remove) and the finished copy replaces an earlier one of the same
        // schema (a start that died before migrating left it). Never a reason not to start.
        let partial = self
            .path
            .with_extension(format!("db.bak-{applied}.partial"));
        let _ = tokio::fs::remove_file(&partial).await;
        sqlx::query("VACUUM INTO ?1")
            .bind(partial.to_string_lossy().into_owned())
            .execute(&self.pool)
            .await?;
        tokio::fs::rename(&partial, &backup)
            .await
            .map_err(|e| Error::io(format!("cannot keep the backup {}", backup.display()), e))?;
        tracing::info!(backup = %backup.display(), "backed up the database before migrating");
        Ok(())
    }
}

/// Writes a consistent copy of the whole database to `to` (`VACUUM INTO`: one snapshot, safe
/// beside a running sync; `to` must not exist, or be an empty file).
pub async fn vacuum_into(db: impl SqliteExecutor<'_>, to: &Path) -> Result<()> {
    sqlx::query("VACUUM INTO ?1")
        .bind(to.to_string_lossy().into_owned())
        .execute(db)
        .await?;
    Ok(())
}

/// Hold `<db>.migrate.lock` (waiting for another process that holds it) until dropped.
async fn migration_lock(db: &Path) -> Result<std::fs::File> {
    let mut name = db.as_os_str().to_owned();
    name.push(".migrate.lock");
    let path = PathBuf::from(name);
    tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
        file.lock()
            .map_err(|e| Error::io(format!("cannot lock {}", path.display()), e))?;
        Ok(file)
    })
    .await
    .map_err(|e| Error::Internal(format!("the migration lock task failed: {e}")))?
}

/// A provider's JSON as stored: fields whose names say they hold a credential (`*token*`,
/// `*secret*`, `password`, `authorization`, `api_key`, `cookie`) are removed at any depth. Raw
/// payloads are kept for the athlete and for re-mapping; a provider that echoes a token into a
/// record must not put it in the database.
pub(crate) fn scrubbed(value: &serde_json::Value) -> String {
    fn credential(key: &str) -> bool {
        let k = key.to_ascii_lowercase().replace(['-', '_'], "");
        [
            "token",
            "secret",
            "password",
            "authorization",
            "apikey",
            "cookie",
        ]
        .iter()
        .any(|w| k.contains(w))
    }
    fn strip(value: &serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => serde_json::Value::Object(
                map.iter()
                    .filter(|(k, _)| !credential(k))
                    .map(|(k, v)| (k.clone(), strip(v)))
                    .collect(),
            ),
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(strip).collect())
            }
            other => other.clone(),
        }
    }
    strip(value).to_string()
}

/// Keep the data directory and the database to this user (0700, 0600): the files hold the
/// athlete's training history. Best effort: a filesystem without modes keeps its own.
fn private(db: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Some(dir) = db.parent() {
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut file = db.as_os_str().to_owned();
            file.push(suffix);
            let _ = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600));
        }
    }
    #[cfg(not(unix))]
    let _ = db;
}

/// Milliseconds since the epoch, as stored.
pub(crate) fn to_ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// Back from stored milliseconds.
pub(crate) fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// Parse a stored enum, reporting a corrupt value as a database error.
pub(crate) fn parse_enum<T: std::str::FromStr>(column: &str, value: &str) -> Result<T> {
    value.parse().map_err(|_| {
        Error::Db(sqlx::Error::Decode(
            format!("bad value '{value}' in column {column}").into(),
        ))
    })
}
