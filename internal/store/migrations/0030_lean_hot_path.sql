-- The validate path writes locked_until at every guess (the reservation,
-- then the reset of an accepted one), and SQLite rewrites the entry of
-- every index that holds a column an UPDATE sets, whether or not its
-- value changes. Only locked users are ever looked for by it (the
-- dashboard's figure, the console's filter), so the index holds only
-- rows with a lock, and a guess of a user without one no longer touches
-- it. Its queries name the index's condition, locked_until <> 0, for the
-- planners (SQLite's and PostgreSQL's) to see that it serves them.
DROP INDEX users_org_locked;
CREATE INDEX users_org_locked ON users (org_id, locked_until) WHERE locked_until <> 0;
