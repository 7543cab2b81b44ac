-- OpenID Connect: the applications (relying parties) of an organization,
-- the authorization requests between the application and the sign-in, the
-- grants a code exchange makes with their access and refresh tokens, and
-- the keys that sign ID tokens. Secrets are kept as hashes (client
-- secrets, codes, refresh tokens) or sealed with the master key (signing
-- keys, additional data: OIDCKeyAD).
CREATE TABLE oidc_clients (
    id            {{id}},
    org_id        BIGINT NOT NULL REFERENCES orgs (id),
    client_id     TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    secret_hash   {{bytes}} NOT NULL,   -- empty for a public client
    public        INTEGER NOT NULL DEFAULT 0,
    first_party   INTEGER NOT NULL DEFAULT 0,
    redirect_uris TEXT NOT NULL,        -- one per line
    logout_uris   TEXT NOT NULL,        -- one per line
    scopes        TEXT NOT NULL,        -- space-separated
    created_at    BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

-- An authorization request lives from the application's redirect to the
-- code exchange. Once its code is used the row stays, with code_used set,
-- until it expires: a second use of the code finds it and revokes the
-- grant the first use made.
CREATE TABLE oidc_auth_requests (
    id          TEXT PRIMARY KEY,
    org_id      BIGINT NOT NULL REFERENCES orgs (id),
    client_id   TEXT NOT NULL,
    request     TEXT NOT NULL,          -- JSON: what the application asked
    user_id     BIGINT NOT NULL DEFAULT 0,
    sign_in     TEXT NOT NULL DEFAULT '', -- JSON: when and how the user signed in
    code_hash   {{bytes}} UNIQUE,
    code_used   INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE oidc_grants (
    id              TEXT PRIMARY KEY,
    org_id          BIGINT NOT NULL REFERENCES orgs (id),
    client_id       TEXT NOT NULL,
    user_id         BIGINT NOT NULL,
    auth_request_id TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    sign_in         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    revoked_at      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX oidc_grants_auth_request ON oidc_grants (auth_request_id);
CREATE INDEX oidc_grants_user ON oidc_grants (org_id, user_id);

CREATE TABLE oidc_access_tokens (
    id         TEXT PRIMARY KEY,
    grant_id   TEXT NOT NULL REFERENCES oidc_grants (id),
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX oidc_access_tokens_grant ON oidc_access_tokens (grant_id);

-- A refresh token is used once: the exchange sets used_at, and a second
-- exchange of the same token revokes its grant (the whole family).
CREATE TABLE oidc_refresh_tokens (
    hash       {{bytes}} PRIMARY KEY,
    grant_id   TEXT NOT NULL REFERENCES oidc_grants (id),
    expires_at BIGINT NOT NULL,
    used_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX oidc_refresh_tokens_grant ON oidc_refresh_tokens (grant_id);

-- Signing keys: published in the JWKS from created_at, used to sign from
-- active_from, published until retire_at.
CREATE TABLE oidc_keys (
    id          TEXT PRIMARY KEY,
    org_id      BIGINT NOT NULL REFERENCES orgs (id),
    algorithm   TEXT NOT NULL,
    private_key {{bytes}} NOT NULL,
    created_at  BIGINT NOT NULL,
    active_from BIGINT NOT NULL,
    retire_at   BIGINT NOT NULL,
    UNIQUE (org_id, active_from)
);
