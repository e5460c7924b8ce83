-- Gateway-operated connectors (issue 9, docs/delivery.md §4): endpoints of
-- kind `wechat` (official account: draft → publish → poll; delete) and
-- `weibo` (a status linking to the seal page; destroy), which the gateway
-- itself drives because the platforms cannot verify a seal.
-- migrations/sqlite/0006 must stay equivalent.

-- Per-endpoint connector configuration. For these kinds `url` is the
-- platform's API base (default the real host; a test points it to
-- loopback). The secret itself (WeChat AppSecret, Weibo OAuth access token)
-- is never stored: secret_name names an environment variable or a file
-- <data_dir>/secrets/<name> with mode 0600.
--   app_id         WeChat AppID (NULL for Weibo)
--   secret_name    [A-Z0-9_]{1,64}
--   link_template  the public seal page, `{serial}` replaced: WeChat's
--                  「阅读原文」 (content_source_url), Weibo's required link
--                  (in the app's authorised domain)
--   cover_media_id WeChat thumb_media_id (a permanent image material)
--   recheck_secs   how often a live post is checked for removal by the
--                  platform (WeChat publish_status 5/6)
ALTER TABLE channel_endpoints ADD COLUMN app_id TEXT;
ALTER TABLE channel_endpoints ADD COLUMN secret_name TEXT;
ALTER TABLE channel_endpoints ADD COLUMN link_template TEXT;
ALTER TABLE channel_endpoints ADD COLUMN cover_media_id TEXT;
ALTER TABLE channel_endpoints ADD COLUMN recheck_secs BIGINT;

-- A connector's post for one publish delivery: the platform's ids and what
-- the platform says about it. status: 'drafted' (WeChat draft added, not
-- submitted), 'submitted' (WeChat publish job running), 'published',
-- 'rejected' (the platform refused it for good; reason), 'removed' (taken
-- down by the platform or its account after publication; reason),
-- 'deleted' (removed by our withdrawal).
--   draft_id   WeChat media_id of the draft
--   job_id     WeChat publish_id
--   post_id    WeChat article_id, Weibo status id (idstr)
--   post_url   WeChat article_url, Weibo status URL
-- last_checked_at is when the platform was last asked (publish, poll or
-- recheck); next_check_at is when a published post is next checked for
-- removal by the platform (NULL: never); a recheck claims a row by moving
-- it one interval on.
CREATE TABLE connector_posts (
    delivery_id      TEXT PRIMARY KEY REFERENCES deliveries (id),
    endpoint_id      TEXT NOT NULL REFERENCES channel_endpoints (id),
    item_id          TEXT NOT NULL REFERENCES items (id),
    serial           TEXT NOT NULL REFERENCES seals (serial),
    status           TEXT NOT NULL,
    draft_id         TEXT,
    job_id           TEXT,
    post_id          TEXT,
    post_url         TEXT,
    reason           TEXT,
    last_checked_at  TEXT NOT NULL,
    next_check_at    TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX connector_posts_item ON connector_posts (item_id, endpoint_id);
CREATE INDEX connector_posts_recheck ON connector_posts (status, next_check_at);
