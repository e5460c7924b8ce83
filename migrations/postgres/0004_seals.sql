-- Publication seals (issue 8): signing keys, issued seals, the transparency
-- log (RFC 9162 leaves and C2SP signed checkpoints), the per-year serial
-- counter and a minimal publication outbox. See gateway/src/sealing.rs,
-- store/seals.rs and docs/seal.md.
--
-- Conventions as in 0001 (RFC 3339 UTC text times, JSON text, 0/1
-- booleans); migrations/sqlite/0004 must stay equivalent. Integers that
-- appear in seals (seconds since the epoch) are stored as integers.

-- Seal signing keys. Only the public key is stored (as its JWK); the
-- private key stays where the operator put it: `location` is the path of a
-- PKCS#8 PEM file (checked for mode 0600 whenever it is read) or 'env'
-- (GATEWAY_SEAL_KEY, held in memory only). Private key bytes never enter
-- the database, so a database dump or backup cannot sign anything.
-- status: 'active' (the one key that signs; at most one), 'retired' (no
-- longer signs, still published with exp = when it stopped) or 'revoked'
-- (published as revoked: none of its seals verify any more).
CREATE TABLE seal_keys (
    kid         TEXT PRIMARY KEY,
    alg         TEXT NOT NULL,
    public_jwk  TEXT NOT NULL,
    nbf         BIGINT NOT NULL,
    exp         BIGINT,
    status      TEXT NOT NULL,
    dev         BIGINT NOT NULL,
    location    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    retired_at  TEXT,
    revoked_at  TEXT
);
CREATE UNIQUE INDEX seal_keys_one_active ON seal_keys (status) WHERE status = 'active';

-- One row per seal issued. `jws` is the seal exactly as signed; `manifest`
-- its payload (JSON). status: 'valid', 'superseded' (by a correction),
-- 'withdrawn' (撤回) or 'suspended'; the key's revocation is not copied
-- here but applied when the status is read.
CREATE TABLE seals (
    serial          TEXT PRIMARY KEY,
    item_id         TEXT NOT NULL REFERENCES items (id),
    version         BIGINT NOT NULL,
    content_digest  TEXT NOT NULL,
    kid             TEXT NOT NULL REFERENCES seal_keys (kid),
    jws             TEXT NOT NULL,
    manifest        TEXT NOT NULL,
    status          TEXT NOT NULL,
    supersedes      TEXT REFERENCES seals (serial),
    sealed_at       BIGINT NOT NULL,
    not_before      BIGINT NOT NULL,
    log_index       BIGINT NOT NULL UNIQUE,
    status_changed_at TEXT NOT NULL,
    FOREIGN KEY (item_id, version) REFERENCES item_versions (item_id, version)
);
CREATE INDEX seals_item ON seals (item_id);

-- Seal serial numbers: <org code>-<year>-<6 digits>, a counter per year.
CREATE TABLE seal_serials (
    year  BIGINT PRIMARY KEY,
    last  BIGINT NOT NULL
);

-- The transparency log: leaf idx is the seal's position, leaf_hash =
-- SHA-256(0x00 || jws). Rows are only inserted. tlog_head.size is the
-- number of leaves; updating it first serialises sealing and key changes.
CREATE TABLE tlog_leaves (
    idx        BIGINT PRIMARY KEY,
    leaf_hash  TEXT NOT NULL,
    serial     TEXT NOT NULL UNIQUE REFERENCES seals (serial)
);

CREATE TABLE tlog_head (
    id    BIGINT PRIMARY KEY CHECK (id = 1),
    size  BIGINT NOT NULL
);
INSERT INTO tlog_head (id, size) VALUES (1, 0);

-- A signed checkpoint (C2SP signed note) for every tree size reached.
CREATE TABLE tlog_checkpoints (
    size        BIGINT PRIMARY KEY,
    root        TEXT NOT NULL,
    note        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- Publication outbox, written in the sealing transaction: what delivery
-- (issue 9) must publish. Only inserted here; issue 9 owns the rest.
CREATE TABLE outbox_events (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    item_id     TEXT NOT NULL REFERENCES items (id),
    version     BIGINT NOT NULL,
    serial      TEXT NOT NULL REFERENCES seals (serial),
    channels    TEXT NOT NULL,
    not_before  BIGINT NOT NULL,
    status      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX outbox_events_pending ON outbox_events (status, created_at);
