-- The audit chain is anchored in the transparency log (issue 16): every
-- signed checkpoint carries the chain's head as the extension line
-- `gov-disclosure/audit-head <events> <hash>` (docs/seal.md §9). One row
-- per anchored head: signed at every seal and, when the chain moved
-- without a seal, every `[seal] checkpoint_secs`. `audit verify` checks
-- the chain against every row (and against checkpoints a witness kept),
-- so a chain recomputed after an edit no longer matches what was signed.
-- Rows are inserted, never updated or deleted.
-- migrations/sqlite/0010 must stay equivalent.
CREATE TABLE audit_anchors (
    events      BIGINT PRIMARY KEY,   -- audit events covered: the head's seq
    head_hash   TEXT NOT NULL,    -- sha256:<hex> of event `events` (genesis for 0)
    tree_size   BIGINT NOT NULL,      -- the log's size in the same checkpoint
    note        TEXT NOT NULL,    -- the signed checkpoint (C2SP signed note)
    created_at  TEXT NOT NULL
);
