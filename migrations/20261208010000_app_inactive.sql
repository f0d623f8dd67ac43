-- A provider that refuses the API application itself (Strava's "Inactive" applications, since
-- 2026-06-30): the connection state `app_inactive` and an attention episode of that kind.
--
-- `attention` is rebuilt with its rows (no table refers to it). `provider_connections` cannot be:
-- seven tables refer to it with ON DELETE CASCADE, and foreign keys cannot be switched off inside
-- the migration's transaction, so dropping it would delete their rows. Its CHECK is widened in
-- place through `writable_schema`, the procedure SQLite documents for schema changes that do not
-- change what is stored (https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of
-- Table Schema Changes"): every stored row satisfies the wider CHECK. The table rebuilt below
-- bumps the schema cookie, so every open connection reads the new schema.
PRAGMA writable_schema = ON;
UPDATE sqlite_master
SET sql = replace(sql, '''deprecated'', ''error'')', '''deprecated'', ''error'', ''app_inactive'')')
WHERE type = 'table' AND name = 'provider_connections';
PRAGMA writable_schema = OFF;

CREATE TABLE attention_new (
    id            INTEGER PRIMARY KEY,
    connection_id INTEGER NOT NULL REFERENCES provider_connections(id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL CHECK (kind IN
                      ('needs_reauth', 'scope_missing', 'deprecated', 'repeated_failures',
                       'backfill_finished', 'key_expiring', 'app_inactive')),
    opened_at     INTEGER NOT NULL,
    closed_at     INTEGER,
    message       TEXT    NOT NULL
) STRICT;
INSERT INTO attention_new (id, connection_id, kind, opened_at, closed_at, message)
SELECT id, connection_id, kind, opened_at, closed_at, message FROM attention;
DROP TABLE attention;
ALTER TABLE attention_new RENAME TO attention;
CREATE UNIQUE INDEX attention_one_open ON attention (connection_id, kind) WHERE closed_at IS NULL;
