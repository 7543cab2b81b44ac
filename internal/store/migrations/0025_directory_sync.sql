-- An organization's connection to its LDAP directory or Active Directory
-- (see package directory): the settings as JSON, which the directory
-- package reads and checks; the service account's password sealed with
-- the master key (additional data: DirectoryPasswordAD), empty for none.
-- rev lets a change refuse to overwrite one made meanwhile. A sync holds
-- the lease (lease_until, in the future) while it runs, so that one
-- instance at a time syncs an organization, whichever starts it;
-- last_sync_at and last_result say when the last one ended and how.
CREATE TABLE directories (
    org_id         BIGINT PRIMARY KEY REFERENCES orgs (id),
    settings       TEXT NOT NULL,
    bind_password  {{bytes}} NOT NULL,
    rev            BIGINT NOT NULL,
    lease_until    BIGINT NOT NULL DEFAULT 0,
    last_sync_at   BIGINT NOT NULL DEFAULT 0,
    last_result    TEXT NOT NULL DEFAULT ''
);
-- Users the directory sync manages: from_directory once a sync found them
-- in the directory; directory_disabled when it was the sync that disabled
-- them (gone from the directory or disabled there), so that it enables
-- them again when they return, and never a user an operator disabled.
ALTER TABLE users ADD COLUMN from_directory INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN directory_disabled INTEGER NOT NULL DEFAULT 0;
