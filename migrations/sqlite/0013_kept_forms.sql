-- Never lose work (issue 21). migrations/postgres/0013 must stay equivalent.
--
-- form_tokens: the token a page form carries, claimed once per person
-- before the item it creates is stored, so that a form sent twice (a
-- double click on a slow line, a resubmission after a login) creates one
-- draft. item_id is filled in once the item exists; a claim whose
-- creation failed is deleted so that the form can be sent again.
CREATE TABLE form_tokens (
    user_id     TEXT NOT NULL REFERENCES users(id),
    token       TEXT NOT NULL,
    item_id     TEXT REFERENCES items(id),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (user_id, token)
);

-- kept_forms: a form posted with an expired session, kept for the person
-- whose session it was (user_id) and offered back once they log in again.
-- The key is the SHA-256 of a random secret held only in that browser's
-- HttpOnly cookie; the row is read only by that person, once, and deleted.
-- Passwords and one-time codes are never kept.
CREATE TABLE kept_forms (
    key_hash    TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    path        TEXT NOT NULL,   -- the page's form target (a path of this gateway)
    fields      TEXT NOT NULL,   -- JSON array of [name, value] pairs as posted
    created_at  TEXT NOT NULL
);
