-- The tray agent: the athlete's settings, attention episodes (one notification per episode, not
-- per run), and each run's error code (the UI maps codes, never messages, to actions).

-- One JSON document of settings per key ('app' today); unknown fields are kept by the reader.
CREATE TABLE settings (
    key        TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL CHECK (json_valid(value)),
    updated_at INTEGER NOT NULL
) STRICT;

-- Something that needs the athlete, from when it began until it cleared. A notification is raised
-- once, when an episode opens.
CREATE TABLE attention (
    id            INTEGER PRIMARY KEY,
    connection_id INTEGER NOT NULL REFERENCES provider_connections(id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL CHECK (kind IN
                      ('needs_reauth', 'scope_missing', 'deprecated', 'repeated_failures',
                       'backfill_finished')),
    opened_at     INTEGER NOT NULL,
    closed_at     INTEGER,
    message       TEXT    NOT NULL
) STRICT;
-- At most one open episode of a kind per connection.
CREATE UNIQUE INDEX attention_one_open ON attention (connection_id, kind) WHERE closed_at IS NULL;

-- The stable code of the run's error (the message is for people).
ALTER TABLE sync_history ADD COLUMN error_code TEXT;
