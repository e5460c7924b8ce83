//! The pull feed: changes after a cursor, the snapshot, the latest due event
//! per item for the Atom/JSON feeds, and pull confirmations.

use seal::ContentDigest;
use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{lock_item, progress_item};
use crate::model::{AttachmentRef, Timestamp};
use crate::store::{Db, Result, from_json_text};

/// One event of the pull feed.
#[derive(Clone, Debug)]
pub struct FeedEvent {
    pub seq: i64,
    pub body: Value,
}

pub(super) fn feed_from_row(r: &AnyRow) -> Result<FeedEvent> {
    Ok(FeedEvent {
        seq: r.try_get("seq")?,
        body: crate::store::from_json_text("body", &r.try_get::<String, _>("body")?)?,
    })
}

impl Db {
    /// A pull channel confirms an event: its deliveries to the channel's pull
    /// endpoints are delivered. Returns whether there was one.
    pub async fn confirm_pull(&self, channel: &str, event_id: &str) -> Result<bool> {
        let now = Timestamp::now();
        let item: Option<String> =
            sqlx::query("SELECT item_id FROM channel_events WHERE event_id = $1 AND channel = $2")
                .bind(event_id)
                .bind(channel)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get("item_id"))
                .transpose()?;
        let Some(item) = item else { return Ok(false) };
        let mut tx = self.pool.begin().await?;
        lock_item(&mut tx, &item).await?;
        sqlx::query(
            "UPDATE deliveries SET state = 'delivered', confirmed_at = $1, updated_at = $1 \
             WHERE event_seq = (SELECT seq FROM channel_events WHERE event_id = $2) \
             AND endpoint_id IN (SELECT id FROM channel_endpoints WHERE kind = 'pull' AND channel = $3) \
             AND state <> 'delivered'",
        )
        .bind(now.to_string())
        .bind(event_id)
        .bind(channel)
        .execute(&mut *tx)
        .await?;
        progress_item(&mut tx, &item, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Whether `digest` is an attachment of an item live on `channel`: the
    /// item's latest event on the channel is a `publish`, and the version
    /// its seal covers lists the digest. A withdrawn or superseded
    /// publication's files are no longer the channel's to fetch.
    pub async fn channel_publishes_attachment(&self, channel: &str, digest: &ContentDigest) -> Result<bool> {
        // The text match only narrows the rows; the digest must be an
        // attachment's `digest`, not text in an attachment's name.
        let rows = sqlx::query(
            "SELECT v.attachments FROM channel_events e \
             JOIN seals s ON s.serial = e.serial \
             JOIN item_versions v ON v.item_id = s.item_id AND v.version = s.version \
             WHERE e.channel = $1 AND e.kind = 'publish' AND v.attachments LIKE $2 \
             AND e.sequence = (SELECT MAX(x.sequence) FROM channel_events x \
                               WHERE x.item_id = e.item_id AND x.channel = e.channel)",
        )
        .bind(channel)
        .bind(format!("%{digest}%"))
        .fetch_all(&self.pool)
        .await?;
        for row in &rows {
            let listed: Vec<AttachmentRef> = from_json_text("attachments", &row.try_get::<String, _>("attachments")?)?;
            if listed.iter().any(|a| a.digest == *digest) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The feed of a channel after `after` (exclusive), oldest first.
    pub async fn channel_feed(&self, channel: &str, after: i64, limit: i64) -> Result<Vec<FeedEvent>> {
        let rows =
            sqlx::query("SELECT seq, body FROM channel_events WHERE channel = $1 AND seq > $2 ORDER BY seq LIMIT $3")
                .bind(channel)
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(feed_from_row).collect()
    }

    /// Every live publication of a channel (the latest `publish` of each item
    /// with no later `withdraw`), and the feed position it reflects.
    pub async fn channel_snapshot(&self, channel: &str) -> Result<(Vec<FeedEvent>, i64)> {
        let mut tx = self.pool.begin().await?;
        let head: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS s FROM channel_events WHERE channel = $1")
            .bind(channel)
            .fetch_one(&mut *tx)
            .await?
            .try_get("s")?;
        let rows = sqlx::query(
            "SELECT e.seq, e.body FROM channel_events e WHERE e.channel = $1 AND e.kind = 'publish' AND e.seq <= $2 \
             AND e.sequence = (SELECT MAX(l.sequence) FROM channel_events l WHERE l.item_id = e.item_id AND l.channel = e.channel \
               AND l.seq <= $2) ORDER BY e.seq",
        )
        .bind(channel)
        .bind(head)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((rows.iter().map(feed_from_row).collect::<Result<_>>()?, head))
    }

    /// The Atom/JSON feed of a channel: the latest event of each item that
    /// is due (`not_before` passed; a withdrawal always is), newest first,
    /// at most `limit`; each with when the item was first published in the
    /// channel (RFC 3339).
    pub async fn channel_feed_latest(&self, channel: &str, limit: i64) -> Result<Vec<(FeedEvent, String)>> {
        let now = Timestamp::now().as_offset().unix_timestamp();
        let rows = sqlx::query(
            "SELECT e.seq, e.body, (SELECT MIN(f.created_at) FROM channel_events f WHERE f.item_id = e.item_id \
               AND f.channel = e.channel AND f.not_before <= $2) AS first_at \
             FROM channel_events e WHERE e.channel = $1 AND e.not_before <= $2 \
             AND e.sequence = (SELECT MAX(l.sequence) FROM channel_events l WHERE l.item_id = e.item_id \
               AND l.channel = e.channel AND l.not_before <= $2) \
             ORDER BY e.seq DESC LIMIT $3",
        )
        .bind(channel)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((feed_from_row(r)?, r.try_get("first_at")?))).collect()
    }
}
