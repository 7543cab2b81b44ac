-- Send limits: one row per user that has been sent a code. Taking a send
-- is one conditional upsert of this row, so concurrent sends of one user,
-- from any instance, queue on it instead of all reading the old count.
CREATE TABLE send_limits (
    user_id       BIGINT PRIMARY KEY REFERENCES users (id),
    last_sent_at  BIGINT NOT NULL
);
INSERT INTO send_limits (user_id, last_sent_at)
    SELECT user_id, MAX(last_sent_at) FROM challenges GROUP BY user_id;

-- A verification challenge (the code that confirms it is the user adding
-- an authenticator) belongs to no token, so token_id may be NULL. SQLite
-- cannot drop a NOT NULL, so the table is rebuilt. The rows keep all but
-- their ids, which nothing refers to.
CREATE TABLE challenges_0006 (
    id            {{id}},
    org_id        BIGINT NOT NULL REFERENCES orgs (id),
    user_id       BIGINT NOT NULL REFERENCES users (id),
    token_id      BIGINT REFERENCES tokens (id),
    txid_hash     {{bytes}} NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    code_mac      {{bytes}} NOT NULL,
    status        TEXT NOT NULL,
    expires_at    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    sends         INTEGER NOT NULL DEFAULT 1,
    last_sent_at  BIGINT NOT NULL
);
INSERT INTO challenges_0006 (org_id, user_id, token_id, txid_hash, kind, code_mac, status, expires_at, created_at, sends, last_sent_at)
    SELECT org_id, user_id, token_id, txid_hash, kind, code_mac, status, expires_at, created_at, sends, last_sent_at
    FROM challenges ORDER BY id;
DROP TABLE challenges;
ALTER TABLE challenges_0006 RENAME TO challenges;
CREATE INDEX challenges_user ON challenges (user_id, last_sent_at);
