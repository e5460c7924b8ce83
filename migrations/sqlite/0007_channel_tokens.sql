-- A channel's API token is bound to the channels it may read and confirm
-- (docs/delivery.md §3): the website's token cannot read or confirm the
-- WeChat channel's events. JSON array of channel names; NULL for tokens
-- without the `channel` scope. A channel-scoped token from before this
-- migration has no binding and is refused until it is reissued.
-- migrations/postgres/0007 must stay equivalent.
ALTER TABLE api_tokens ADD COLUMN channels TEXT;
