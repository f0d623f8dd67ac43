-- A connection's runs are read newest first by id, not by start time: a run stamped by a clock
-- that was ahead (at boot, after a dual boot) would otherwise stay "the latest" until real time
-- passed it, and hold back every scheduled run until then.
CREATE INDEX sync_history_by_connection_id ON sync_history (connection_id, id DESC);

-- The provider account each copy was read from: an athlete who signs in to another account on
-- the same connection keeps the first account's activities (never flagged deleted because the
-- second does not list them), and a disconnect deletes only the account it disconnects.
ALTER TABLE activities ADD COLUMN account TEXT;
UPDATE activities SET account = (
    SELECT c.provider_user_id FROM provider_connections c WHERE c.id = activities.connection_id);
CREATE INDEX activities_by_connection_account ON activities (connection_id, account);
