-- One counter that every change to who may ask the server moves: an API
-- key created or revoked, a RADIUS client added or removed (see
-- Store.AccessRevision). Running servers hold the keys and clients in
-- memory and read this one row a few times a second, so that a change made
-- on any instance takes effect on all of them within a second without a
-- query per request.
CREATE TABLE access_revision (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    rev  BIGINT NOT NULL
);
INSERT INTO access_revision (id, rev) VALUES (1, 1);
