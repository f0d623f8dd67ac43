-- A personal API key that runs out soon is something that needs the athlete: a new episode kind.
-- SQLite cannot change a CHECK in place, so the table is rebuilt with its rows.
CREATE TABLE attention_new (
    id            INTEGER PRIMARY KEY,
    connection_id INTEGER NOT NULL REFERENCES provider_connections(id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL CHECK (kind IN
                      ('needs_reauth', 'scope_missing', 'deprecated', 'repeated_failures',
                       'backfill_finished', 'key_expiring')),
    opened_at     INTEGER NOT NULL,
    closed_at     INTEGER,
    message       TEXT    NOT NULL
) STRICT;
INSERT INTO attention_new (id, connection_id, kind, opened_at, closed_at, message)
SELECT id, connection_id, kind, opened_at, closed_at, message FROM attention;
DROP TABLE attention;
ALTER TABLE attention_new RENAME TO attention;
CREATE UNIQUE INDEX attention_one_open ON attention (connection_id, kind) WHERE closed_at IS NULL;
