-- Recordings: each activity's original file (FIT, GPX, TCX, as it came), the streams and laps
-- decoded from it (or, for a provider that serves no files, from its streams API), and what the
-- download queue did about it.

-- One stored original, content-addressed: its bytes live compressed at
-- `<data dir>/originals/<first two hex digits>/<sha256>.gz`, written completely (and synced)
-- before this row exists. Two copies with the same bytes share one file and one row.
CREATE TABLE originals (
    sha256       TEXT    PRIMARY KEY CHECK (length(sha256) = 64),
    -- fit | gpx | tcx | unknown: what the bytes are, by their content.
    format       TEXT    NOT NULL,
    -- The original's own size, and what it costs on disk compressed.
    bytes        INTEGER NOT NULL,
    stored_bytes INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
) STRICT;

-- One row per activity the queue has dealt with; an activity without a row is still to fetch.
CREATE TABLE recordings (
    activity_id  INTEGER PRIMARY KEY REFERENCES activities(id) ON DELETE CASCADE,
    -- stored: an original (or the provider's streams) is kept and decoded;
    -- unreadable: the original is kept but could not be decoded (reason says why);
    -- none: the provider has no recording for it (a manual entry; a 404 for a listed file);
    -- failed: this attempt failed (an outage, a bad answer): tried again after retry_at.
    status       TEXT    NOT NULL CHECK (status IN ('stored', 'unreadable', 'none', 'failed')),
    sha256       TEXT    REFERENCES originals(sha256),
    -- Where the recording came from: 'original' (a file) or 'streams' (the provider's streams).
    source       TEXT,
    reason       TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    retry_at     INTEGER,
    -- The decoded streams, deflated (see `recording::codec`), and their shape for listings.
    streams      BLOB,
    stream_index TEXT CHECK (stream_index IS NULL OR json_valid(stream_index)),
    laps         TEXT CHECK (laps IS NULL OR json_valid(laps)),
    points       INTEGER NOT NULL DEFAULT 0,
    has_track    INTEGER NOT NULL DEFAULT 0 CHECK (has_track IN (0, 1)),
    -- When the queue last asked the provider for it (its spending within a rate window).
    fetched_at   INTEGER,
    updated_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX recordings_by_sha ON recordings (sha256) WHERE sha256 IS NOT NULL;
CREATE INDEX recordings_by_fetch ON recordings (fetched_at) WHERE fetched_at IS NOT NULL;

-- The copy whose recording a workout shows, when the athlete chose it (pinned like links).
ALTER TABLE workouts ADD COLUMN recording_activity_id INTEGER REFERENCES activities(id) ON DELETE SET NULL;
