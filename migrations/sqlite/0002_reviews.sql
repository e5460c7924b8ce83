-- Review results: one row per run of the review pipeline over an item
-- version. `outcome` is the JSON ReviewOutcome (review/model.rs): the policy
-- hash, each plugin's name, version, SHA-256 and status, and every finding
-- with the plugin that reported it. Rows are only ever inserted.
CREATE TABLE reviews (
    id              TEXT PRIMARY KEY,
    item_id         TEXT NOT NULL,
    version         INTEGER NOT NULL,
    content_digest  TEXT NOT NULL,
    -- What the review was for: 'submit' (entering review) or 'seal' (the
    -- final gate before sealing).
    phase           TEXT NOT NULL,
    policy_hash     TEXT NOT NULL,
    verdict         TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    FOREIGN KEY (item_id, version) REFERENCES item_versions (item_id, version)
);
CREATE INDEX reviews_item ON reviews (item_id, version);
