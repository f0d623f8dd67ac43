-- Figures the views read at every refresh, kept current by triggers in the same transaction as
-- the rows they count, so the dashboard, the summary, the volume charts and text search cost the
-- same with 100,000 activities and 10,000 runs as with a hundred (measured in
-- `benches/queries.rs`). Each is also rebuilt here from the rows, and tests compare each against
-- a count of the rows themselves.

-- Per connection: activities stored, runs recorded, runs that succeeded and failed.
CREATE TABLE connection_counts (
    connection_id INTEGER PRIMARY KEY REFERENCES provider_connections(id) ON DELETE CASCADE,
    activities    INTEGER NOT NULL DEFAULT 0,
    runs          INTEGER NOT NULL DEFAULT 0,
    runs_success  INTEGER NOT NULL DEFAULT 0,
    runs_failed   INTEGER NOT NULL DEFAULT 0
) STRICT;

INSERT INTO connection_counts (connection_id, activities, runs, runs_success, runs_failed)
SELECT c.id,
       (SELECT COUNT(*) FROM activities a WHERE a.connection_id = c.id),
       (SELECT COUNT(*) FROM sync_history h WHERE h.connection_id = c.id),
       (SELECT COUNT(*) FROM sync_history h WHERE h.connection_id = c.id AND h.status = 'success'),
       (SELECT COUNT(*) FROM sync_history h WHERE h.connection_id = c.id AND h.status = 'failed')
FROM provider_connections c;

CREATE TRIGGER connection_counts_open AFTER INSERT ON provider_connections BEGIN
    INSERT INTO connection_counts (connection_id) VALUES (NEW.id);
END;

CREATE TRIGGER activities_counted_in AFTER INSERT ON activities
WHEN NEW.connection_id IS NOT NULL BEGIN
    UPDATE connection_counts SET activities = activities + 1
    WHERE connection_id = NEW.connection_id;
END;

CREATE TRIGGER activities_counted_out AFTER DELETE ON activities
WHEN OLD.connection_id IS NOT NULL BEGIN
    UPDATE connection_counts SET activities = activities - 1
    WHERE connection_id = OLD.connection_id;
END;

-- Detached at a disconnect that keeps activities, adopted at a reconnect.
CREATE TRIGGER activities_counted_move AFTER UPDATE OF connection_id ON activities
WHEN OLD.connection_id IS NOT NEW.connection_id BEGIN
    UPDATE connection_counts SET activities = activities - 1
    WHERE connection_id = OLD.connection_id;
    UPDATE connection_counts SET activities = activities + 1
    WHERE connection_id = NEW.connection_id;
END;

CREATE TRIGGER runs_counted_in AFTER INSERT ON sync_history BEGIN
    UPDATE connection_counts
    SET runs = runs + 1,
        runs_success = runs_success + (NEW.status = 'success'),
        runs_failed = runs_failed + (NEW.status = 'failed')
    WHERE connection_id = NEW.connection_id;
END;

CREATE TRIGGER runs_counted_status AFTER UPDATE OF status ON sync_history
WHEN OLD.status IS NOT NEW.status BEGIN
    UPDATE connection_counts
    SET runs_success = runs_success - (OLD.status = 'success') + (NEW.status = 'success'),
        runs_failed = runs_failed - (OLD.status = 'failed') + (NEW.status = 'failed')
    WHERE connection_id = NEW.connection_id;
END;

CREATE TRIGGER runs_counted_out AFTER DELETE ON sync_history BEGIN
    UPDATE connection_counts
    SET runs = runs - 1,
        runs_success = runs_success - (OLD.status = 'success'),
        runs_failed = runs_failed - (OLD.status = 'failed')
    WHERE connection_id = OLD.connection_id;
END;

-- Training volume per local day and sport, over the copies that count (each workout once:
-- `counted = 1`) and that the provider still lists. The day is the activity's own local day
-- (its start plus its offset), so weeks and months are the athlete's, wherever they trained.
CREATE TABLE volume_daily (
    day         INTEGER NOT NULL, -- days since 1970-01-01, local
    sport       TEXT    NOT NULL,
    count       INTEGER NOT NULL,
    distance_m  REAL    NOT NULL,
    seconds     INTEGER NOT NULL, -- moving time, elapsed where a provider gives no moving time
    elevation_m REAL    NOT NULL,
    PRIMARY KEY (day, sport)
) STRICT, WITHOUT ROWID;

INSERT INTO volume_daily (day, sport, count, distance_m, seconds, elevation_m)
SELECT (start_utc / 1000 + COALESCE(utc_offset_seconds, 0)) / 86400, sport, COUNT(*),
       TOTAL(distance_m), SUM(COALESCE(moving_seconds, elapsed_seconds, 0)), TOTAL(elevation_gain_m)
FROM activities WHERE counted = 1 AND deleted_at IS NULL
GROUP BY 1, 2;

CREATE TRIGGER volume_in AFTER INSERT ON activities
WHEN NEW.counted = 1 AND NEW.deleted_at IS NULL BEGIN
    INSERT INTO volume_daily (day, sport, count, distance_m, seconds, elevation_m)
    VALUES ((NEW.start_utc / 1000 + COALESCE(NEW.utc_offset_seconds, 0)) / 86400, NEW.sport, 1,
            COALESCE(NEW.distance_m, 0), COALESCE(NEW.moving_seconds, NEW.elapsed_seconds, 0),
            COALESCE(NEW.elevation_gain_m, 0))
    ON CONFLICT (day, sport) DO UPDATE SET
        count = count + 1,
        distance_m = distance_m + excluded.distance_m,
        seconds = seconds + excluded.seconds,
        elevation_m = elevation_m + excluded.elevation_m;
END;

CREATE TRIGGER volume_out AFTER DELETE ON activities
WHEN OLD.counted = 1 AND OLD.deleted_at IS NULL BEGIN
    UPDATE volume_daily SET
        count = count - 1,
        distance_m = distance_m - COALESCE(OLD.distance_m, 0),
        seconds = seconds - COALESCE(OLD.moving_seconds, OLD.elapsed_seconds, 0),
        elevation_m = elevation_m - COALESCE(OLD.elevation_gain_m, 0)
    WHERE day = (OLD.start_utc / 1000 + COALESCE(OLD.utc_offset_seconds, 0)) / 86400
      AND sport = OLD.sport;
END;

-- Any change to what a row contributes: take out the old contribution, put in the new one.
CREATE TRIGGER volume_change AFTER UPDATE OF counted, deleted_at, start_utc, utc_offset_seconds,
    sport, distance_m, moving_seconds, elapsed_seconds, elevation_gain_m ON activities BEGIN
    UPDATE volume_daily SET
        count = count - 1,
        distance_m = distance_m - COALESCE(OLD.distance_m, 0),
        seconds = seconds - COALESCE(OLD.moving_seconds, OLD.elapsed_seconds, 0),
        elevation_m = elevation_m - COALESCE(OLD.elevation_gain_m, 0)
    WHERE OLD.counted = 1 AND OLD.deleted_at IS NULL
      AND day = (OLD.start_utc / 1000 + COALESCE(OLD.utc_offset_seconds, 0)) / 86400
      AND sport = OLD.sport;
    INSERT INTO volume_daily (day, sport, count, distance_m, seconds, elevation_m)
    SELECT (NEW.start_utc / 1000 + COALESCE(NEW.utc_offset_seconds, 0)) / 86400, NEW.sport, 1,
           COALESCE(NEW.distance_m, 0), COALESCE(NEW.moving_seconds, NEW.elapsed_seconds, 0),
           COALESCE(NEW.elevation_gain_m, 0)
    WHERE NEW.counted = 1 AND NEW.deleted_at IS NULL
    ON CONFLICT (day, sport) DO UPDATE SET
        count = count + 1,
        distance_m = distance_m + excluded.distance_m,
        seconds = seconds + excluded.seconds,
        elevation_m = elevation_m + excluded.elevation_m;
END;

-- The same per month (for long ranges: ten years are 120 rows, not 3,650), kept from the daily
-- sums by their own triggers: whatever changes a day changes its month by as much.
CREATE TABLE volume_monthly (
    month       INTEGER NOT NULL, -- year * 100 + month, local
    sport       TEXT    NOT NULL,
    count       INTEGER NOT NULL,
    distance_m  REAL    NOT NULL,
    seconds     INTEGER NOT NULL,
    elevation_m REAL    NOT NULL,
    PRIMARY KEY (month, sport)
) STRICT, WITHOUT ROWID;

INSERT INTO volume_monthly (month, sport, count, distance_m, seconds, elevation_m)
SELECT CAST(strftime('%Y%m', day * 86400, 'unixepoch') AS INTEGER), sport, SUM(count),
       TOTAL(distance_m), SUM(seconds), TOTAL(elevation_m)
FROM volume_daily GROUP BY 1, 2;

CREATE TRIGGER volume_month_in AFTER INSERT ON volume_daily BEGIN
    INSERT INTO volume_monthly (month, sport, count, distance_m, seconds, elevation_m)
    VALUES (CAST(strftime('%Y%m', NEW.day * 86400, 'unixepoch') AS INTEGER), NEW.sport,
            NEW.count, NEW.distance_m, NEW.seconds, NEW.elevation_m)
    ON CONFLICT (month, sport) DO UPDATE SET
        count = count + excluded.count,
        distance_m = distance_m + excluded.distance_m,
        seconds = seconds + excluded.seconds,
        elevation_m = elevation_m + excluded.elevation_m;
END;

CREATE TRIGGER volume_month_change AFTER UPDATE ON volume_daily BEGIN
    UPDATE volume_monthly SET
        count = count + NEW.count - OLD.count,
        distance_m = distance_m + NEW.distance_m - OLD.distance_m,
        seconds = seconds + NEW.seconds - OLD.seconds,
        elevation_m = elevation_m + NEW.elevation_m - OLD.elevation_m
    WHERE month = CAST(strftime('%Y%m', NEW.day * 86400, 'unixepoch') AS INTEGER)
      AND sport = NEW.sport;
END;

-- The covering index for volume is no longer read: the sums come from volume_daily.
DROP INDEX activities_volume;

-- Text search over names and devices: words and word prefixes, accents folded, through an index
-- (a LIKE '%…%' reads every row).
CREATE VIRTUAL TABLE activities_fts USING fts5(
    name, device, content = 'activities', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO activities_fts (activities_fts) VALUES ('rebuild');

CREATE TRIGGER activities_fts_in AFTER INSERT ON activities BEGIN
    INSERT INTO activities_fts (rowid, name, device) VALUES (NEW.id, NEW.name, NEW.device);
END;

CREATE TRIGGER activities_fts_out AFTER DELETE ON activities BEGIN
    INSERT INTO activities_fts (activities_fts, rowid, name, device)
    VALUES ('delete', OLD.id, OLD.name, OLD.device);
END;

CREATE TRIGGER activities_fts_change AFTER UPDATE OF name, device ON activities BEGIN
    INSERT INTO activities_fts (activities_fts, rowid, name, device)
    VALUES ('delete', OLD.id, OLD.name, OLD.device);
    INSERT INTO activities_fts (rowid, name, device) VALUES (NEW.id, NEW.name, NEW.device);
END;
