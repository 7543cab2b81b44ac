-- The audit log is read newest first by (at, id), paged by that pair and
-- purged by at, always within one organization: one index serves all
-- three, also on PostgreSQL, whose indexes do not carry the row id as
-- SQLite's do.
CREATE INDEX audit_events_org_at_id ON audit_events (org_id, at, id);
DROP INDEX audit_events_org_at;
