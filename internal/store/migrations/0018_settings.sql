-- Settings of the whole installation, made by the service provider: one
-- row per setting, its value as text. A migration adds each setting with
-- its first value, so that a change is always the conditional UPDATE of a
-- row that exists (see Store.SetSetting).
CREATE TABLE settings (
    name   TEXT NOT NULL PRIMARY KEY,
    value  TEXT NOT NULL
);
-- The policy new organizations start with (JSON, see package policy);
-- '{}' is the built-in defaults, as organizations were created before.
INSERT INTO settings (name, value) VALUES ('default_policy', '{}');
