-- RADIUS clients (gateways, VPN concentrators): known by source address,
-- each belongs to one organization. The shared secret is sealed with the
-- master key (additional data: RadiusSecretAD). An address range belongs to
-- one client only, so the source address alone names the organization.
CREATE TABLE radius_clients (
    id                            {{id}},
    org_id                        BIGINT NOT NULL REFERENCES orgs (id),
    name                          TEXT NOT NULL,
    cidr                          TEXT NOT NULL UNIQUE,
    secret                        {{bytes}} NOT NULL,
    require_message_authenticator INTEGER NOT NULL DEFAULT 1,
    created_at                    BIGINT NOT NULL,
    UNIQUE (org_id, name)
);
