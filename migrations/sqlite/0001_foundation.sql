-- Foundation: people, organisational units, sessions and API tokens, stored
-- attachments, items with immutable versions, and the append-only audit log.
--
-- Conventions shared with migrations/postgres (the two must stay equivalent):
--   * ids are UUIDv7 text; times are RFC 3339 UTC text with milliseconds
--     ('2026-11-23T14:16:56.123Z'), which sorts correctly as text;
--   * lists and small records are JSON text, written and read by the gateway;
--   * booleans are 0/1 integers (the sqlx Any driver we use for both backends
--     has no portable boolean).

CREATE TABLE units (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    parent_id   TEXT REFERENCES units (id),
    created_at  TEXT NOT NULL
);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    unit_id        TEXT REFERENCES units (id),
    -- argon2id PHC string; NULL for accounts that only use API tokens.
    password_hash  TEXT,
    active         INTEGER NOT NULL DEFAULT 1,
    failed_logins  INTEGER NOT NULL DEFAULT 0,
    locked_until   TEXT,
    created_at     TEXT NOT NULL
);

CREATE TABLE user_roles (
    user_id  TEXT NOT NULL REFERENCES users (id),
    role     TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);

-- Session cookies of people. Only the SHA-256 of the secret is kept.
CREATE TABLE sessions (
    token_hash    TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id),
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Bearer tokens for channels and automation, scoped. Only the SHA-256 of the
-- secret is kept; the secret is shown once, at creation.
CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id),
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    scopes        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT,
    revoked_at    TEXT,
    last_used_at  TEXT
);

-- Attachment bytes, content-addressed: one row per distinct SHA-256. Kept in
-- the database so that every gateway node sees the same files.
CREATE TABLE blobs (
    digest      TEXT PRIMARY KEY,
    media_type  TEXT NOT NULL,
    size        INTEGER NOT NULL,
    content     BLOB NOT NULL,
    created_by  TEXT NOT NULL REFERENCES users (id),
    created_at  TEXT NOT NULL
);

CREATE TABLE items (
    id               TEXT PRIMARY KEY,
    state            TEXT NOT NULL,
    current_version  INTEGER NOT NULL,
    unit_id          TEXT REFERENCES units (id),
    created_by       TEXT NOT NULL REFERENCES users (id),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX items_state ON items (state);

-- Immutable: a row is written once and never updated. Each edit adds a row.
CREATE TABLE item_versions (
    item_id           TEXT NOT NULL REFERENCES items (id),
    version           INTEGER NOT NULL,
    kind              TEXT NOT NULL,
    title             TEXT NOT NULL,
    body              TEXT NOT NULL,
    attribute         TEXT NOT NULL,
    attribute_reason  TEXT,
    legal_basis       TEXT,
    doc_number        TEXT,
    issuer            TEXT,
    superior          TEXT,
    interprets        TEXT REFERENCES items (id),
    channels          TEXT NOT NULL,
    attachments       TEXT NOT NULL,
    formed_at         TEXT,
    flags             TEXT NOT NULL,
    -- sha256:<hex> over the canonical form (model.rs, ARCHITECTURE.md).
    content_digest    TEXT NOT NULL,
    created_by        TEXT NOT NULL REFERENCES users (id),
    created_at        TEXT NOT NULL,
    PRIMARY KEY (item_id, version)
);
CREATE INDEX item_versions_digest ON item_versions (content_digest);

-- Append-only audit trail as a hash chain: hash = SHA-256(prev_hash ||
-- canonical event). audit_head holds the newest hash and serialises appends.
CREATE TABLE audit_events (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    actor_id   TEXT,
    action     TEXT NOT NULL,
    item_id    TEXT,
    version    INTEGER,
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_events_item ON audit_events (item_id);

CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, 'sha256:0000000000000000000000000000000000000000000000000000000000000000');
