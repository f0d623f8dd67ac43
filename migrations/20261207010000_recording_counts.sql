-- Each connection's recordings, counted by triggers in the same transaction as the rows (the
-- dashboard's card line reads them at every refresh; counting them from the rows read every
-- activity of the connection: 31 ms at 100,000). `listed` counts the connection's activities the
-- provider still lists; `rec_*` their recordings by outcome (`rec_given_up`: failed five times,
-- the `MAX_ATTEMPTS` of `store/recordings.rs`). A recording is counted while its activity is
-- listed and has a connection; recordings are only ever deleted with their activity.
ALTER TABLE connection_counts ADD COLUMN listed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE connection_counts ADD COLUMN rec_stored INTEGER NOT NULL DEFAULT 0;
ALTER TABLE connection_counts ADD COLUMN rec_unreadable INTEGER NOT NULL DEFAULT 0;
ALTER TABLE connection_counts ADD COLUMN rec_none INTEGER NOT NULL DEFAULT 0;
ALTER TABLE connection_counts ADD COLUMN rec_given_up INTEGER NOT NULL DEFAULT 0;

UPDATE connection_counts SET
    listed = (SELECT COUNT(*) FROM activities a
              WHERE a.connection_id = connection_counts.connection_id AND a.deleted_at IS NULL),
    rec_stored = (SELECT COUNT(*) FROM activities a JOIN recordings r ON r.activity_id = a.id
                  WHERE a.connection_id = connection_counts.connection_id
                    AND a.deleted_at IS NULL AND r.status = 'stored'),
    rec_unreadable = (SELECT COUNT(*) FROM activities a JOIN recordings r ON r.activity_id = a.id
                      WHERE a.connection_id = connection_counts.connection_id
                        AND a.deleted_at IS NULL AND r.status = 'unreadable'),
    rec_none = (SELECT COUNT(*) FROM activities a JOIN recordings r ON r.activity_id = a.id
                WHERE a.connection_id = connection_counts.connection_id
                  AND a.deleted_at IS NULL AND r.status = 'none'),
    rec_given_up = (SELECT COUNT(*) FROM activities a JOIN recordings r ON r.activity_id = a.id
                    WHERE a.connection_id = connection_counts.connection_id
                      AND a.deleted_at IS NULL AND r.status = 'failed' AND r.attempts >= 5);

CREATE TRIGGER listed_counted_in AFTER INSERT ON activities
WHEN NEW.connection_id IS NOT NULL AND NEW.deleted_at IS NULL BEGIN
    UPDATE connection_counts SET listed = listed + 1 WHERE connection_id = NEW.connection_id;
END;

-- Before the delete: its recording (deleted with it by the foreign key) is still there to read.
CREATE TRIGGER listed_counted_out BEFORE DELETE ON activities
WHEN OLD.connection_id IS NOT NULL AND OLD.deleted_at IS NULL BEGIN
    UPDATE connection_counts SET
        listed = listed - 1,
        rec_stored = rec_stored - COALESCE((SELECT r.status = 'stored' FROM recordings r WHERE r.activity_id = OLD.id), 0),
        rec_unreadable = rec_unreadable - COALESCE((SELECT r.status = 'unreadable' FROM recordings r WHERE r.activity_id = OLD.id), 0),
        rec_none = rec_none - COALESCE((SELECT r.status = 'none' FROM recordings r WHERE r.activity_id = OLD.id), 0),
        rec_given_up = rec_given_up - COALESCE((SELECT r.status = 'failed' AND r.attempts >= 5 FROM recordings r WHERE r.activity_id = OLD.id), 0)
    WHERE connection_id = OLD.connection_id;
END;

-- Flagged deleted or listed again, detached at a disconnect that keeps it, adopted at a
-- reconnect: out of the old counts, into the new.
CREATE TRIGGER listed_counted_move AFTER UPDATE OF connection_id, deleted_at ON activities
WHEN OLD.connection_id IS NOT NEW.connection_id
  OR (OLD.deleted_at IS NULL) IS NOT (NEW.deleted_at IS NULL) BEGIN
    UPDATE connection_counts SET
        listed = listed - 1,
        rec_stored = rec_stored - COALESCE((SELECT r.status = 'stored' FROM recordings r WHERE r.activity_id = OLD.id), 0),
        rec_unreadable = rec_unreadable - COALESCE((SELECT r.status = 'unreadable' FROM recordings r WHERE r.activity_id = OLD.id), 0),
        rec_none = rec_none - COALESCE((SELECT r.status = 'none' FROM recordings r WHERE r.activity_id = OLD.id), 0),
        rec_given_up = rec_given_up - COALESCE((SELECT r.status = 'failed' AND r.attempts >= 5 FROM recordings r WHERE r.activity_id = OLD.id), 0)
    WHERE connection_id = OLD.connection_id AND OLD.deleted_at IS NULL;
    UPDATE connection_counts SET
        listed = listed + 1,
        rec_stored = rec_stored + COALESCE((SELECT r.status = 'stored' FROM recordings r WHERE r.activity_id = NEW.id), 0),
        rec_unreadable = rec_unreadable + COALESCE((SELECT r.status = 'unreadable' FROM recordings r WHERE r.activity_id = NEW.id), 0),
        rec_none = rec_none + COALESCE((SELECT r.status = 'none' FROM recordings r WHERE r.activity_id = NEW.id), 0),
        rec_given_up = rec_given_up + COALESCE((SELECT r.status = 'failed' AND r.attempts >= 5 FROM recordings r WHERE r.activity_id = NEW.id), 0)
    WHERE connection_id = NEW.connection_id AND NEW.deleted_at IS NULL;
END;

CREATE TRIGGER recordings_counted_in AFTER INSERT ON recordings BEGIN
    UPDATE connection_counts SET
        rec_stored = rec_stored + (NEW.status = 'stored'),
        rec_unreadable = rec_unreadable + (NEW.status = 'unreadable'),
        rec_none = rec_none + (NEW.status = 'none'),
        rec_given_up = rec_given_up + (NEW.status = 'failed' AND NEW.attempts >= 5)
    WHERE connection_id = (SELECT a.connection_id FROM activities a
                           WHERE a.id = NEW.activity_id AND a.deleted_at IS NULL);
END;

CREATE TRIGGER recordings_counted_change AFTER UPDATE OF status, attempts ON recordings BEGIN
    UPDATE connection_counts SET
        rec_stored = rec_stored - (OLD.status = 'stored') + (NEW.status = 'stored'),
        rec_unreadable = rec_unreadable - (OLD.status = 'unreadable') + (NEW.status = 'unreadable'),
        rec_none = rec_none - (OLD.status = 'none') + (NEW.status = 'none'),
        rec_given_up = rec_given_up - (OLD.status = 'failed' AND OLD.attempts >= 5)
                                    + (NEW.status = 'failed' AND NEW.attempts >= 5)
    WHERE connection_id = (SELECT a.connection_id FROM activities a
                           WHERE a.id = NEW.activity_id AND a.deleted_at IS NULL);
END;
