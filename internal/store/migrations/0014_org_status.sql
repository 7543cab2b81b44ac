-- An organization's status: a disabled one refuses every sign-in and
-- validation, on every channel, until it is enabled again.
ALTER TABLE orgs ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
