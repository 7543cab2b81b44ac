-- The user directory's search and filters (see Store.SearchUsers).
-- {{bytewise}} is the dialect's byte-order collation: a prefix is then one
-- range of the index, whatever the database's own collation, and keyset
-- paging walks the same order the index holds.
CREATE INDEX users_org_username_bytewise ON users (org_id, username {{bytewise}});
CREATE INDEX users_org_email ON users (org_id, LOWER(email) {{bytewise}});
-- Counting a user's active tokens, and finding their pending enrollment.
CREATE INDEX tokens_user_state ON tokens (user_id, state);
CREATE INDEX enrollments_org_status ON enrollments (org_id, status);
