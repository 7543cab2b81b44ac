-- Whether a token was added by its user at the portal (rather than assigned
-- by an operator with an invitation link). A self-enrolled token that never
-- received its first code is an abandoned setup, not an authenticator the
-- user ever had.
ALTER TABLE tokens ADD COLUMN self_enrolled INTEGER NOT NULL DEFAULT 0;
