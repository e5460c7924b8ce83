-- Channel delivery (issue 9): endpoints, per-channel events, deliveries
-- and their attempts, withdrawals. See gateway/src/delivery/,
-- store/delivery.rs and docs/delivery.md.
--
-- Conventions as in 0001 (RFC 3339 UTC text times with milliseconds, which
-- sort as text; JSON text; 0/1 booleans); migrations/postgres/0005 must stay
-- equivalent.
--
-- outbox_events (0004) stays the record of *what* must be published or
-- withdrawn; in the same transaction that writes it, the gateway fans it out
-- into one channel_events row per channel (the event a channel receives, with
-- its per-(item, channel) sequence and the exact body that is pushed and
-- pulled) and one deliveries row per event and endpoint.

-- Where a channel's events go: `webhook` endpoints are pushed to (Standard
-- Webhooks, v1a); `pull` endpoints read the change feed and confirm.
-- A 410 answer, or giving up after the retry window, disables an endpoint
-- (disabled_reason says why); redelivery enables it again.
CREATE TABLE channel_endpoints (
    id               TEXT PRIMARY KEY,
    channel          TEXT NOT NULL,
    kind             TEXT NOT NULL,
    url              TEXT,
    enabled          INTEGER NOT NULL,
    disabled_reason  TEXT,
    created_at       TEXT NOT NULL,
    created_by       TEXT
);
CREATE INDEX channel_endpoints_channel ON channel_endpoints (channel);

-- The feed counter: channel_events.seq is taken from here under this row's
-- lock, so seq order is commit order and a pull cursor never skips an event
-- committed late.
CREATE TABLE channel_feed_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL
);
INSERT INTO channel_feed_head (id, seq) VALUES (1, 0);

-- One event per (item, channel, change): `publish` or `withdraw`. sequence
-- starts at 1 per (item, channel); body is the JSON sent, byte for byte.
-- Only inserted.
CREATE TABLE channel_events (
    seq         INTEGER PRIMARY KEY,
    event_id    TEXT NOT NULL UNIQUE,
    outbox_id   TEXT NOT NULL REFERENCES outbox_events (id),
    kind        TEXT NOT NULL,
    item_id     TEXT NOT NULL REFERENCES items (id),
    channel     TEXT NOT NULL,
    sequence    INTEGER NOT NULL,
    serial      TEXT NOT NULL REFERENCES seals (serial),
    not_before  INTEGER NOT NULL,
    priority    INTEGER NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (item_id, channel, sequence)
);
CREATE INDEX channel_events_feed ON channel_events (channel, seq);

-- One delivery per event and endpoint. state: 'pending' (due at
-- next_attempt_at), 'delivering' (claimed until lease_until; a lapsed lease
-- is claimed again), 'delivered' (2xx: confirmed_at), 'failed' (gave up),
-- 'cancelled' (a publish overtaken by a withdrawal before it was sent).
-- priority: withdrawals 10, publications 0.
CREATE TABLE deliveries (
    id                TEXT PRIMARY KEY,
    event_seq         INTEGER NOT NULL REFERENCES channel_events (seq),
    endpoint_id       TEXT NOT NULL REFERENCES channel_endpoints (id),
    item_id           TEXT NOT NULL REFERENCES items (id),
    channel           TEXT NOT NULL,
    sequence          INTEGER NOT NULL,
    kind              TEXT NOT NULL,
    priority          INTEGER NOT NULL,
    state             TEXT NOT NULL,
    attempts          INTEGER NOT NULL,
    next_attempt_at   TEXT NOT NULL,
    lease_until       TEXT,
    first_attempt_at  TEXT,
    last_status       INTEGER,
    last_error        TEXT,
    confirmed_at      TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    UNIQUE (event_seq, endpoint_id)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_order ON deliveries (endpoint_id, item_id, sequence);
CREATE INDEX deliveries_item ON deliveries (item_id);

-- Every attempt: HTTP status (NULL when no answer), latency, the first
-- 1 KiB of the answer, or the transport error.
CREATE TABLE delivery_attempts (
    id                TEXT PRIMARY KEY,
    delivery_id       TEXT NOT NULL REFERENCES deliveries (id),
    attempt           INTEGER NOT NULL,
    started_at        TEXT NOT NULL,
    latency_ms        INTEGER NOT NULL,
    status            INTEGER,
    response_excerpt  TEXT,
    error             TEXT
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id);

-- 撤稿 requests: who, why, urgent or routine; escalated_at when removal was
-- not confirmed in time; completed_at when every channel confirmed. An
-- urgent withdrawal (one 保密审查员 or 主要领导) is confirmed afterwards by
-- another person (confirmed_by, confirmed_at, confirm_note).
CREATE TABLE item_withdrawals (
    id            TEXT PRIMARY KEY,
    item_id       TEXT NOT NULL REFERENCES items (id),
    reason        TEXT NOT NULL,
    urgent        INTEGER NOT NULL,
    requested_by  TEXT NOT NULL,
    requested_at  TEXT NOT NULL,
    escalated_at  TEXT,
    completed_at  TEXT,
    confirmed_by  TEXT,
    confirmed_at  TEXT,
    confirm_note  TEXT
);
CREATE INDEX item_withdrawals_item ON item_withdrawals (item_id);
