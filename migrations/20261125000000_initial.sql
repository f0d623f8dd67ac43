-- Tributary's initial schema. Forward-only: never edit once merged; add a new migration instead.
-- Times are INTEGER milliseconds since the Unix epoch, UTC. Tokens are never stored here: they live
-- in the OS keyring, keyed by (athlete, provider).

CREATE TABLE athletes (
    id           INTEGER PRIMARY KEY,
    display_name TEXT    NOT NULL,
    created_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE provider_connections (
    id                 INTEGER PRIMARY KEY,
    athlete_id         INTEGER NOT NULL REFERENCES athletes(id) ON DELETE CASCADE,
    -- The closed set of providers: SQLite's stand-in for the old ENUM.
    provider           TEXT    NOT NULL CHECK (provider IN
                           ('strava', 'garmin', 'polar', 'coros', 'wahoo', 'google_health')),
    provider_user_id   TEXT,
    username           TEXT,
    email              TEXT,
    provider_profile   TEXT    CHECK (provider_profile IS NULL OR json_valid(provider_profile)),
    -- Space-separated scopes the athlete actually granted (may be fewer than asked for).
    granted_scopes     TEXT    NOT NULL DEFAULT '',
    token_expires_at   INTEGER,
    enabled            INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    state              TEXT    NOT NULL DEFAULT 'active' CHECK (state IN
                           ('active', 'disabled', 'needs_reauth', 'scope_missing', 'rate_limited',
                            'deprecated', 'error')),
    rate_limited_until INTEGER,
    last_sync_at       INTEGER,
    last_sync_error    TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    -- Re-connecting a provider updates this row; there is never a second one.
    UNIQUE (athlete_id, provider)
) STRICT;

CREATE TABLE sync_history (
    id                   INTEGER PRIMARY KEY,
    connection_id        INTEGER NOT NULL REFERENCES provider_connections(id) ON DELETE CASCADE,
    trigger              TEXT    NOT NULL CHECK (trigger IN
                             ('manual', 'scheduled', 'startup', 'after_connect')),
    status               TEXT    NOT NULL CHECK (status IN
                             ('running', 'success', 'partial', 'failed', 'cancelled', 'interrupted')),
    started_at           INTEGER NOT NULL,
    completed_at         INTEGER,
    -- Last sign of life of a running run; a crashed process stops beating.
    heartbeat_at         INTEGER NOT NULL,
    activities_fetched   INTEGER NOT NULL DEFAULT 0,
    activities_created   INTEGER NOT NULL DEFAULT 0,
    activities_updated   INTEGER NOT NULL DEFAULT 0,
    activities_skipped   INTEGER NOT NULL DEFAULT 0,
    activities_failed    INTEGER NOT NULL DEFAULT 0,
    api_calls            INTEGER NOT NULL DEFAULT 0,
    rate_limit_remaining INTEGER,
    error_message        TEXT,
    -- Provider-defined resume point (opaque JSON), committed with each page.
    cursor               TEXT,
    CHECK (activities_fetched = activities_created + activities_updated
                              + activities_skipped + activities_failed),
    CHECK ((status = 'running') = (completed_at IS NULL))
) STRICT;

CREATE INDEX sync_history_by_connection ON sync_history (connection_id, started_at DESC, id DESC);
-- At most one running run per connection, across every process that opens this database.
CREATE UNIQUE INDEX sync_history_one_running ON sync_history (connection_id) WHERE status = 'running';

-- Records a run saw but could not store, with the reason (the `failed` counter's detail).
CREATE TABLE sync_failures (
    id                   INTEGER PRIMARY KEY,
    sync_id              INTEGER NOT NULL REFERENCES sync_history(id) ON DELETE CASCADE,
    provider_activity_id TEXT,
    reason               TEXT    NOT NULL
) STRICT;

CREATE TABLE activities (
    id                   INTEGER PRIMARY KEY,
    -- NULL once its connection is removed with "keep my activities"; a reconnect re-attaches it.
    connection_id        INTEGER REFERENCES provider_connections(id) ON DELETE SET NULL,
    provider             TEXT    NOT NULL,
    provider_activity_id TEXT    NOT NULL,
    sport                TEXT    NOT NULL,
    name                 TEXT,
    start_utc            INTEGER NOT NULL,
    utc_offset_seconds   INTEGER,
    elapsed_seconds      INTEGER,
    moving_seconds       INTEGER,
    distance_m           REAL,
    elevation_gain_m     REAL,
    avg_heart_rate       REAL,
    max_heart_rate       REAL,
    calories             REAL,
    avg_power_w          REAL,
    max_power_w          REAL,
    device               TEXT,
    raw_json             TEXT    NOT NULL CHECK (json_valid(raw_json)),
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    UNIQUE (provider, provider_activity_id)
) STRICT;

CREATE INDEX activities_by_start ON activities (start_utc DESC);
CREATE INDEX activities_by_connection_start ON activities (connection_id, start_utc DESC);
