-- The words the user directory's search finds a user by (see
-- Store.SearchUsers and searchTerms): the username, the email address and
-- the display name from each of its words on, folded as usernames are.
-- A search is then a prefix range of (org_id, term), which finds the few
-- users a rare term matches without walking the organization. The terms
-- are compared byte by byte ({{bytewise}}), so that a prefix is one range
-- whatever the database's collation. The store writes them in the
-- transaction that writes the user; this migration's Go step fills them
-- for the users there are.
CREATE TABLE user_search_terms (
    org_id   BIGINT NOT NULL,
    term     TEXT {{bytewise}} NOT NULL,
    user_id  BIGINT NOT NULL REFERENCES users (id),
    PRIMARY KEY (org_id, term, user_id)
);
-- A user's terms: rewriting them, deleting them, and the search's walk
-- asking whether the user at hand matches.
CREATE INDEX user_search_terms_user ON user_search_terms (user_id, term);
