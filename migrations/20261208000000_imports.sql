-- Imports: archives the providers let an athlete download (Strava's bulk export, Garmin's
-- "Export all data", Polar Flow's export, Google Takeout) and FIT/GPX/TCX files from a folder or a
-- watch. Each import is one row; each file it read has one outcome; the copies it made are
-- activities like any provider's, with a source (`activities.provider` holds the source:
-- `strava_archive`, `garmin_export`, `polar_export`, `google_takeout`, `files`) and the import that
-- made them, so that forgetting an import removes exactly its copies.

CREATE TABLE imports (
    id           INTEGER PRIMARY KEY,
    -- What the athlete chose (file and folder names, never their contents).
    label        TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('running', 'finished', 'cancelled', 'interrupted')),
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    -- Last sign of life of a running import; a killed process stops beating.
    heartbeat_at INTEGER NOT NULL,
    imported     INTEGER NOT NULL DEFAULT 0,
    linked       INTEGER NOT NULL DEFAULT 0,
    duplicate    INTEGER NOT NULL DEFAULT 0,
    skipped      INTEGER NOT NULL DEFAULT 0,
    refused      INTEGER NOT NULL DEFAULT 0,
    CHECK ((status = 'running') = (finished_at IS NULL))
) STRICT;

-- One row per file read: written in the transaction that stores what came of it.
CREATE TABLE import_files (
    id          INTEGER PRIMARY KEY,
    import_id   INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    -- Where it was: `archive.zip/activities/123.fit.gz`, relative to what was chosen.
    path        TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('imported', 'linked', 'duplicate', 'skipped', 'refused')),
    reason      TEXT,
    activity_id INTEGER REFERENCES activities(id) ON DELETE SET NULL,
    -- A file kept as it came though it is no activity (Strava's gear lists, for later).
    sha256      TEXT REFERENCES originals(sha256)
) STRICT;

CREATE INDEX imports_by_start ON imports (started_at DESC, id DESC);
CREATE INDEX import_files_by_import ON import_files (import_id, outcome);

ALTER TABLE activities ADD COLUMN import_id INTEGER REFERENCES imports(id) ON DELETE CASCADE;
CREATE INDEX activities_by_import ON activities (import_id) WHERE import_id IS NOT NULL;
