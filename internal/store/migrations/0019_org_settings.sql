-- What an organization's operators tell its users beyond its name, empty
-- when not set: whom to ask for help (on its pages and in its mails'
-- footer), where to go once enrolled, and the display name its mails come
-- from. They are columns of orgs because the pages show them on every view
-- and mails use them: OrgBySlug and OrgByID read them with the row they
-- read anyway.
ALTER TABLE orgs ADD COLUMN support_contact TEXT NOT NULL DEFAULT '';
ALTER TABLE orgs ADD COLUMN continue_url TEXT NOT NULL DEFAULT '';
ALTER TABLE orgs ADD COLUMN sender_name TEXT NOT NULL DEFAULT '';
-- The logo's SHA-256 in hex, empty without a logo: a page knows from the
-- row whether there is one, and a logo URL carrying it may be cached for
-- good, since a new logo has a new URL.
ALTER TABLE orgs ADD COLUMN logo_hash TEXT NOT NULL DEFAULT '';
-- The logo itself (at most 64 KiB) lives apart, read only when it is
-- served: no query of orgs, several of which read every organization,
-- carries it along, and removing it is one DELETE.
CREATE TABLE org_logos (
    org_id        BIGINT PRIMARY KEY REFERENCES orgs (id),
    content_type  TEXT NOT NULL,
    data          {{bytes}} NOT NULL
);
