-- The link codes a resend replaced, by hash like the current one: an old
-- invitation link is then answered "a newer link was sent to you" rather
-- than "we don't recognise this link".
CREATE TABLE enrollment_replaced (
    code_hash      {{bytes}} PRIMARY KEY,
    enrollment_id  BIGINT NOT NULL REFERENCES enrollments (id),
    replaced_at    BIGINT NOT NULL
);
