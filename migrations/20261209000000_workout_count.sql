-- The number of workouts (the copies counted, one per session: the workout list's length), kept
-- by triggers in the same transaction as the rows, as the other figures are: the dashboard reads
-- it at every refresh, and a count over the index cost 2 to 4 ms at 100,000 activities against a
-- constant read here (`benches/queries.rs`). Tests compare it with a count of the rows.
CREATE TABLE library_counts (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    workouts INTEGER NOT NULL DEFAULT 0
) STRICT;

INSERT INTO library_counts (id, workouts)
SELECT 1, COUNT(*) FROM activities WHERE counted = 1;

CREATE TRIGGER workouts_counted_in AFTER INSERT ON activities
WHEN NEW.counted = 1 BEGIN
    UPDATE library_counts SET workouts = workouts + 1 WHERE id = 1;
END;

CREATE TRIGGER workouts_counted_out AFTER DELETE ON activities
WHEN OLD.counted = 1 BEGIN
    UPDATE library_counts SET workouts = workouts - 1 WHERE id = 1;
END;

CREATE TRIGGER workouts_counted_change AFTER UPDATE OF counted ON activities
WHEN OLD.counted IS NOT NEW.counted BEGIN
    UPDATE library_counts SET workouts = workouts + NEW.counted - OLD.counted WHERE id = 1;
END;
