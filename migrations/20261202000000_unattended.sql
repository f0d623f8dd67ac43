-- Unattended operation: a per-connection sync state (the incremental mark, resume cursors, a
-- stream position, reconcile bookkeeping), the providers' rate budgets as last reported, deleted
-- activities flagged (never dropped), and a generation on connections so that the end of a run
-- never overwrites a state someone else set. Forward-only.

CREATE TABLE sync_state (
    connection_id   INTEGER PRIMARY KEY REFERENCES provider_connections(id) ON DELETE CASCADE,
    -- The account (provider_user_id) this state belongs to: another account starts afresh.
    account         TEXT,
    -- Newest start (ms) a completed walk saw, never in the future: incremental walks start from
    -- it minus the provider's overlap.
    mark            INTEGER,
    -- An unfinished incremental walk (a first backfill, or one stopped by a rate limit).
    walk_cursor     TEXT,
    -- Newest start (ms, not in the future) the unfinished walk has seen; becomes the mark when it
    -- completes.
    walk_mark       INTEGER,
    -- An unfinished full (reconcile) walk, and when it began (its id in activities.seen_walk).
    full_cursor     TEXT,
    full_started_at INTEGER,
    -- Where a stream (Garmin's inbox) was read to, kept across runs.
    position        TEXT,
    -- When the last full walk completed.
    last_full_at    INTEGER,
    updated_at      INTEGER NOT NULL
) STRICT;

INSERT INTO sync_state (connection_id, account, mark, walk_cursor, updated_at)
SELECT c.id,
       c.provider_user_id,
       (SELECT MAX(a.start_utc) FROM activities a WHERE a.connection_id = c.id),
       (SELECT h.cursor FROM sync_history h
         WHERE h.connection_id = c.id AND h.status != 'running'
         ORDER BY h.started_at DESC, h.id DESC LIMIT 1),
       c.updated_at
FROM provider_connections c;

-- A provider's app-wide budget as its last answer reported it.
CREATE TABLE provider_budgets (
    provider   TEXT    PRIMARY KEY,
    remaining  INTEGER NOT NULL,
    resets_at  INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- When the provider stopped listing it (a reconcile saw it gone); NULL while it is listed.
ALTER TABLE activities ADD COLUMN deleted_at INTEGER;
-- The full walk (its start, ms) that last saw it.
ALTER TABLE activities ADD COLUMN seen_walk INTEGER;

-- Bumped by every change of who decides the state (reconnect, toggle, a run's end).
ALTER TABLE provider_connections ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;

-- Activities a completed reconcile flagged deleted (not part of fetched = created + ... ).
ALTER TABLE sync_history ADD COLUMN activities_deleted INTEGER NOT NULL DEFAULT 0;
