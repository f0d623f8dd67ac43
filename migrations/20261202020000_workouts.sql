-- Workouts: the same session recorded by several providers is kept once per provider (every copy
-- stays) and linked into one workout. An activity with no workout is a workout of its own; linked
-- copies share a `workouts` row. Each link says why and how sure; the athlete's own choices (link,
-- unlink, primary) are pinned and survive every later sync and reconcile.

CREATE TABLE workouts (
    id                  INTEGER PRIMARY KEY,
    -- The copy shown and counted for the workout (the most complete one, or the athlete's pick).
    primary_activity_id INTEGER REFERENCES activities(id) ON DELETE SET NULL,
    -- 1 when the athlete chose the primary copy.
    primary_pinned      INTEGER NOT NULL DEFAULT 0 CHECK (primary_pinned IN (0, 1)),
    created_at          INTEGER NOT NULL
) STRICT;

ALTER TABLE activities ADD COLUMN workout_id INTEGER REFERENCES workouts(id) ON DELETE SET NULL;
-- Why this copy is in its workout, and how sure (0 to 1); NULL when it is alone.
ALTER TABLE activities ADD COLUMN link_reason TEXT;
ALTER TABLE activities ADD COLUMN link_confidence REAL;
-- 0: decided by the linker; 1: linked by the athlete; 2: kept apart by the athlete.
ALTER TABLE activities ADD COLUMN link_pinned INTEGER NOT NULL DEFAULT 0 CHECK (link_pinned IN (0, 1, 2));
-- 1 for the copy that stands for its workout (an activity alone, or a workout's primary): totals
-- and the workout list count these only, so every workout counts once.
ALTER TABLE activities ADD COLUMN counted INTEGER NOT NULL DEFAULT 1 CHECK (counted IN (0, 1));

CREATE INDEX activities_by_workout ON activities (workout_id) WHERE workout_id IS NOT NULL;
-- The activity list's filters and keyset paging (start, then id for ties); the first also serves
-- the linker's "copies that started near a time" and replaces the start-only index.
DROP INDEX activities_by_start;
CREATE INDEX activities_by_start_id ON activities (start_utc DESC, id DESC);
CREATE INDEX activities_by_provider_start ON activities (provider, start_utc DESC, id DESC);
CREATE INDEX activities_by_sport_start ON activities (sport, start_utc DESC, id DESC);
-- The workout list: the counted copies, by start.
CREATE INDEX activities_counted_by_start ON activities (counted, start_utc DESC, id DESC);
-- Weekly and monthly volume: covering, over the counted copies still listed, so the sums read
-- the index alone.
CREATE INDEX activities_volume ON activities
    (start_utc, sport, utc_offset_seconds, distance_m, moving_seconds, elapsed_seconds,
     elevation_gain_m)
    WHERE counted = 1 AND deleted_at IS NULL;
