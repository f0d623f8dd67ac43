-- Doors: a provider may serve connections through more than one API (Polar AccessLink v3 and
-- v4, Garmin's partner program and Personal API). Each connection keeps the door it was made
-- through, and each copy the door it came from, so a connection that moves to a door whose ids
-- differ (Polar v3's hashed exercise ids against v4's session ids) has its copies matched by
-- their start instead of duplicated. NULL: made or read before doors were kept (the provider's
-- legacy door, which the code names). Adding a nullable column rewrites no row.
ALTER TABLE provider_connections ADD COLUMN door TEXT;
ALTER TABLE activities ADD COLUMN door TEXT;
