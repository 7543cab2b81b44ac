-- Server-side sessions of the portal and the enrollment pages. The cookie
-- holds a random id; only its hash is stored.
CREATE TABLE sessions (
    id_hash       {{bytes}} PRIMARY KEY,
    org_id        BIGINT NOT NULL REFERENCES orgs (id),
    user_id       BIGINT NOT NULL REFERENCES users (id),
    -- stage says how far the person got: "password" (first factor
    -- checked, second pending), "full" (signed in), "enroll" (password
    -- checked on an enrollment page).
    stage         TEXT NOT NULL,
    -- data carries the stage's state, e.g. the enrollment or token it is about.
    data          TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- The language a user reads mail in, learnt from the pages they use.
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT '';
