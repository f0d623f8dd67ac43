-- Every Polar connection made before AccessLink v4 was made through AccessLink v3, and every
-- Polar copy stored before it came through v3: said once here, so that no code has to read a
-- missing door as "v3" (a copy's door decides whether a move to v4 matches it by start). Other
-- providers' connections keep NULL (their legacy door is the one configured). No trigger
-- watches `door`, so no figure is recounted.
UPDATE provider_connections SET door = 'v3' WHERE provider = 'polar' AND door IS NULL;
UPDATE activities SET door = 'v3' WHERE provider = 'polar' AND door IS NULL;
