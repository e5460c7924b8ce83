-- The review workflow: votes bound to content digests, overrides, waivers
-- of blocking findings, claims, comments anchored to text, what each
-- reviewer last saw, in-app notifications and the 台账 (register) of items
-- that are not made public. See gateway/src/workflow and ARCHITECTURE.md.
--
-- Conventions as in 0001 (ids UUIDv7 text, RFC 3339 UTC text times, JSON
-- text, 0/1 booleans); migrations/postgres/0003 must stay equivalent.

-- One vote of one person on one requirement (stage) of one version. Bound
-- to the content digest the voter saw: a vote on another digest counts for
-- nothing. Rows are only inserted, except that a block vote's author may
-- lift it (lifted_at); a lifted veto stays on record.
CREATE TABLE votes (
    id              TEXT PRIMARY KEY,
    item_id         TEXT NOT NULL REFERENCES items (id),
    version         INTEGER NOT NULL,
    content_digest  TEXT NOT NULL,
    stage           TEXT NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users (id),
    -- 'approve', 'changes' (request changes) or 'block' (veto).
    value           TEXT NOT NULL,
    comment         TEXT,
    -- JSON sign-off record of a sign-off stage (statement id, version,
    -- text digest, name and role at the time, step-up time); else NULL.
    signoff         TEXT,
    created_at      TEXT NOT NULL,
    lifted_at       TEXT,
    lift_reason     TEXT,
    FOREIGN KEY (item_id, version) REFERENCES item_versions (item_id, version)
);
CREATE INDEX votes_item ON votes (item_id, content_digest);

-- A requirement marked OVERRIDDEN by a higher role, with a reason, for one
-- digest. Never for a veto stage (保密审查). Rows are only inserted.
CREATE TABLE overrides (
    id              TEXT PRIMARY KEY,
    item_id         TEXT NOT NULL REFERENCES items (id),
    version         INTEGER NOT NULL,
    content_digest  TEXT NOT NULL,
    stage           TEXT NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users (id),
    role            TEXT NOT NULL,
    reason          TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX overrides_item ON overrides (item_id, content_digest);

-- A blocking finding waived by the role the policy names for its rule
-- family, bound to that finding and digest. Rows are only inserted.
CREATE TABLE waivers (
    id              TEXT PRIMARY KEY,
    item_id         TEXT NOT NULL REFERENCES items (id),
    version         INTEGER NOT NULL,
    content_digest  TEXT NOT NULL,
    finding_id      TEXT NOT NULL,
    rule_id         TEXT NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users (id),
    role            TEXT NOT NULL,
    reason          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    UNIQUE (content_digest, item_id, finding_id)
);

-- Who is working on which stage of an item ("claim"); one claimant a stage.
CREATE TABLE claims (
    item_id     TEXT NOT NULL REFERENCES items (id),
    stage       TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id),
    claimed_at  TEXT NOT NULL,
    PRIMARY KEY (item_id, stage)
);

-- The version each person last opened, for "changes since my last look".
CREATE TABLE last_seen (
    item_id  TEXT NOT NULL REFERENCES items (id),
    user_id  TEXT NOT NULL REFERENCES users (id),
    version  INTEGER NOT NULL,
    seen_at  TEXT NOT NULL,
    PRIMARY KEY (item_id, user_id)
);

-- Reviewers' comments, anchored to a byte span of a field of a version.
CREATE TABLE comments (
    id          TEXT PRIMARY KEY,
    item_id     TEXT NOT NULL REFERENCES items (id),
    version     INTEGER NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id),
    field       TEXT NOT NULL,
    span_start  INTEGER,
    span_end    INTEGER,
    quote       TEXT,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    FOREIGN KEY (item_id, version) REFERENCES item_versions (item_id, version)
);
CREATE INDEX comments_item ON comments (item_id);

-- In-app notifications. dedupe_key makes reminders idempotent. webhook_*
-- drive the optional outgoing hook (agencies' e-mail/SMS gateways).
CREATE TABLE notifications (
    id                TEXT PRIMARY KEY,
    user_id           TEXT NOT NULL REFERENCES users (id),
    kind              TEXT NOT NULL,
    item_id           TEXT REFERENCES items (id),
    message           TEXT NOT NULL,
    dedupe_key        TEXT NOT NULL UNIQUE,
    created_at        TEXT NOT NULL,
    read_at           TEXT,
    webhook_sent_at   TEXT,
    webhook_attempts  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX notifications_user ON notifications (user_id, created_at);

-- 台账: every 依申请公开 and 不予公开 item, with the attribute decision, its
-- reason and legal basis, who proposed and who decided, and when it is next
-- reviewed. History is in the audit chain.
CREATE TABLE register (
    item_id         TEXT PRIMARY KEY REFERENCES items (id),
    attribute       TEXT NOT NULL,
    reason          TEXT,
    legal_basis     TEXT,
    title           TEXT NOT NULL,
    doc_number      TEXT,
    issuer          TEXT,
    proposed_by     TEXT NOT NULL REFERENCES users (id),
    proposed_at     TEXT NOT NULL,
    -- 'proposed' (by the drafter), 'confirmed' or 'changed' (by a reviewer).
    status          TEXT NOT NULL,
    decided_by      TEXT REFERENCES users (id),
    decided_at      TEXT,
    next_review_on  TEXT,
    updated_at      TEXT NOT NULL
);

-- The digest of the approval record a seal-phase review was run with, so
-- the workflow knows whether it is still the one in force.
ALTER TABLE reviews ADD COLUMN approvals_digest TEXT;
