-- The Web Push subscription of a push token's web app, when the operator
-- turned Web Push on and the user asked to be notified: where the browser's
-- push service takes messages for it (endpoint) and the keys that encrypt
-- them for the browser alone (RFC 8291). One per token: a token lives in
-- one app on one device, and a new subscription replaces the old.
CREATE TABLE webpush_subscriptions (
    token_id    BIGINT PRIMARY KEY REFERENCES tokens (id),
    endpoint    TEXT NOT NULL,
    p256dh      {{bytes}} NOT NULL,
    auth        {{bytes}} NOT NULL,
    created_at  BIGINT NOT NULL
);
