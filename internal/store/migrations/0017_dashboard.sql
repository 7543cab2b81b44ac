-- The dashboard's figures (Store.OrgStats): each is a count of one range
-- of one of these indexes, so that it stays quick at 100,000 users and a
-- million audit events.
--
-- Sign-ins and failures since a time: the action and the time are the
-- range, and the result, last, is read from the index instead of the rows.
-- It costs one more index entry per audit event, which the validate path
-- writes anyway.
CREATE INDEX audit_events_org_action_at ON audit_events (org_id, action, at, result);
-- Users locked out now; also serves the directory's locked filter.
CREATE INDEX users_org_locked ON users (org_id, locked_until);
-- Active tokens of an organization (tokens_user_state is per user).
CREATE INDEX tokens_org_state ON tokens (org_id, state);
-- Pending invitations not yet expired. It serves every query the
-- (org_id, status) index did, so that one goes.
CREATE INDEX enrollments_org_status_expires ON enrollments (org_id, status, expires_at);
DROP INDEX enrollments_org_status;
