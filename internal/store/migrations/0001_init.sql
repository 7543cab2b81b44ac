-- {{id}} and {{bytes}} stand for the dialect's identity column and byte string types.
-- Times are Unix milliseconds; 0 means "never" so that comparisons need no NULL handling.

CREATE TABLE orgs (
    id          {{id}},
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    policy      TEXT NOT NULL DEFAULT '{}',
    policy_rev  BIGINT NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id             {{id}},
    org_id         BIGINT NOT NULL REFERENCES orgs (id),
    username       TEXT NOT NULL,
    email          TEXT NOT NULL DEFAULT '',
    display_name   TEXT NOT NULL DEFAULT '',
    password_hash  TEXT NOT NULL DEFAULT '',
    role           TEXT NOT NULL DEFAULT 'user',
    status         TEXT NOT NULL DEFAULT 'active',
    failures       INTEGER NOT NULL DEFAULT 0,
    locked_until   BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    UNIQUE (org_id, username)
);

CREATE TABLE tokens (
    id            {{id}},
    org_id        BIGINT NOT NULL REFERENCES orgs (id),
    user_id       BIGINT NOT NULL REFERENCES users (id),
    serial        TEXT NOT NULL UNIQUE,
    type          TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL,
    secret        {{bytes}} NOT NULL,
    algorithm     TEXT NOT NULL,
    digits        INTEGER NOT NULL,
    period        INTEGER NOT NULL,
    last_step     BIGINT NOT NULL,
    drift         INTEGER NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    activated_at  BIGINT NOT NULL DEFAULT 0,
    last_used_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE enrollments (
    id            {{id}},
    org_id        BIGINT NOT NULL REFERENCES orgs (id),
    token_id      BIGINT NOT NULL UNIQUE REFERENCES tokens (id),
    code_hash     {{bytes}} NOT NULL UNIQUE,
    status        TEXT NOT NULL,
    expires_at    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    completed_at  BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE api_keys (
    id          {{id}},
    org_id      BIGINT NOT NULL REFERENCES orgs (id),
    name        TEXT NOT NULL,
    prefix      TEXT NOT NULL,
    hash        {{bytes}} NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX api_keys_org ON api_keys (org_id);

CREATE TABLE audit_events (
    id      {{id}},
    org_id  BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT NOT NULL,
    result  TEXT NOT NULL,
    detail  TEXT NOT NULL DEFAULT '',
    source  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_org_at ON audit_events (org_id, at);
