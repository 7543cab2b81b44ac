-- Tokens imported from seed files (PSKC, OATH CSV, Entra CSV) that no
-- user has yet: an organization's stock of hardware tokens. Assigning one
-- moves it to tokens, re-sealed for its new row, in one transaction. The
-- secret is sealed bound to the organization and the serial (see
-- InventorySecretAD); serials are unique here and, checked by the store,
-- against tokens. last_step is as in tokens: the last HOTP counter used,
-- so the next code the token shows is last_step + 1.
CREATE TABLE token_inventory (
    id            {{id}},
    org_id        BIGINT NOT NULL REFERENCES orgs (id),
    serial        TEXT NOT NULL UNIQUE,
    type          TEXT NOT NULL,
    secret        {{bytes}} NOT NULL,
    algorithm     TEXT NOT NULL,
    digits        INTEGER NOT NULL,
    period        INTEGER NOT NULL,
    last_step     BIGINT NOT NULL,
    manufacturer  TEXT NOT NULL DEFAULT '',
    model         TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL
);
CREATE INDEX token_inventory_org ON token_inventory (org_id, serial);
