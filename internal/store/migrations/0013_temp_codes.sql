-- Temporary codes the helpdesk issues for a lost authenticator: at most one
-- per user (a new one replaces it), kept only as a keyed hash, good for
-- uses_left sign-ins until expires_at.
CREATE TABLE temp_codes (
    user_id     BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    org_id      BIGINT NOT NULL REFERENCES orgs (id),
    code_mac    {{bytes}} NOT NULL,
    uses        INTEGER NOT NULL,
    uses_left   INTEGER NOT NULL,
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL DEFAULT 0
);
