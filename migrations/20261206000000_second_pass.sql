-- A connection's runs are read newest first by id, not by start time: a run stamped by a clock
-- that was ahead (at boot, after a dual boot) would otherwise stay "the latest" until real time
-- passed it, and hold back every scheduled run until then.
CREATE INDEX sync_history_by_connection_id ON sync_history (connection_id, id DESC);
