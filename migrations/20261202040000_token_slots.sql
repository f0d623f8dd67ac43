-- Which keyring entry holds a connection's tokens. A reconnect writes the new tokens under a new
-- entry, switches this in the same transaction as the rest of the row, then deletes the old
-- entry: a failure (or a kill) at any point leaves the row pointing at tokens that exist.
-- Slot 0 is the key connections always had.
ALTER TABLE provider_connections ADD COLUMN token_slot INTEGER NOT NULL DEFAULT 0;
