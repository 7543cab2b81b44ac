-- Backup codes: one set per user at a time; each code works once.
CREATE TABLE backup_codes (
    id          {{id}},
    org_id      BIGINT NOT NULL REFERENCES orgs (id),
    user_id     BIGINT NOT NULL REFERENCES users (id),
    code_hash   {{bytes}} NOT NULL,
    created_at  BIGINT NOT NULL,
    used_at     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX backup_codes_user ON backup_codes (user_id, code_hash);

-- Challenges: a second-factor step (an email code, a push request) bound
-- to one login attempt, known to the client by a transaction id.
CREATE TABLE challenges (
    id            {{id}},
    org_id        BIGINT NOT NULL REFERENCES orgs (id),
    user_id       BIGINT NOT NULL REFERENCES users (id),
    token_id      BIGINT NOT NULL REFERENCES tokens (id),
    txid_hash     {{bytes}} NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    code_mac      {{bytes}} NOT NULL,
    status        TEXT NOT NULL,
    expires_at    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    sends         INTEGER NOT NULL DEFAULT 1,
    last_sent_at  BIGINT NOT NULL
);
CREATE INDEX challenges_user ON challenges (user_id, last_sent_at);

-- The server PIN (a hash), whether the user must change it, and the
-- second-factor method the user chose last.
ALTER TABLE users ADD COLUMN pin_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN pin_must_change INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_method TEXT NOT NULL DEFAULT '';
