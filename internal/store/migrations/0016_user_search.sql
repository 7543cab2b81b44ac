-- The user directory's search, filters and keyset paging (see
-- Store.SearchUsers). {{bytewise}} is the dialect's byte-order collation:
-- a username prefix is then one range of the index whatever the database's
-- own collation, and the keyset (username > the last one shown) walks the
-- order the index holds. In SQLite it repeats the UNIQUE index.
CREATE INDEX users_org_username_bytewise ON users (org_id, username {{bytewise}});
-- Users found by their address (UsersByEmail: password reset, sign-in by
-- email) without reading the organization's users.
CREATE INDEX users_org_email ON users (org_id, LOWER(email));
-- The active tokens a row counts and a filter probes, per user.
CREATE INDEX tokens_user_state ON tokens (user_id, state);
-- The enrollment list and the rollout, by status.
CREATE INDEX enrollments_org_status ON enrollments (org_id, status);
