-- The device key of each activated push token. A table of its own rather
-- than columns on tokens: only push tokens have one, the device's name and
-- activation time belong to it, and every other token query stays as it is.
CREATE TABLE push_devices (
    token_id    BIGINT PRIMARY KEY REFERENCES tokens (id),
    public_key  {{bytes}} NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);

-- Push requests: a sign-in waiting for the user to approve on a device.
-- The id is random and is what devices see; the sign-in finds its request
-- by the hash of its transaction id. A request is pending until answered
-- once (status), and its outcome is collected once (consumed_at).
CREATE TABLE push_requests (
    id           TEXT PRIMARY KEY,
    org_id       BIGINT NOT NULL REFERENCES orgs (id),
    user_id      BIGINT NOT NULL REFERENCES users (id),
    token_id     BIGINT REFERENCES tokens (id),
    txid_hash    {{bytes}} NOT NULL UNIQUE,
    number       INTEGER NOT NULL,
    application  TEXT NOT NULL,
    source       TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    status       TEXT NOT NULL,
    answered_at  BIGINT NOT NULL DEFAULT 0,
    consumed_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX push_requests_user ON push_requests (user_id, status, expires_at);
