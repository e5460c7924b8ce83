//! Connector posts (`connector_posts`): the platform's ids and status of
//! each publish delivery, rechecks, and removals on the platform.

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{EndpointRecord, item_version, lock_item, ts_after};
use crate::channel::PostStatus;
use crate::model::{ItemId, Timestamp};
use crate::store::{Db, Result, audit, parse_column};

/// A connector's post for one publish delivery (`connector_posts`).
#[derive(Clone, Debug)]
pub struct PostRecord {
    pub delivery_id: String,
    pub endpoint_id: String,
    pub item_id: String,
    pub serial: String,
    pub status: PostStatus,
    /// WeChat media_id of the draft.
    pub draft_id: Option<String>,
    /// WeChat publish_id.
    pub job_id: Option<String>,
    /// WeChat article_id, Weibo status id.
    pub post_id: Option<String>,
    /// WeChat article_url, Weibo status URL.
    pub post_url: Option<String>,
    /// Why the platform rejected or removed it (Chinese, from the platform's status).
    pub reason: Option<String>,
    pub last_checked_at: String,
    pub next_check_at: Option<String>,
}

/// What an attempt learnt about a connector post: its new status and ids
/// (`None` keeps what is stored).
#[derive(Clone, Debug)]
pub struct PostUpdate {
    /// The publish delivery the post belongs to.
    pub delivery_id: String,
    pub status: PostStatus,
    pub draft_id: Option<String>,
    pub job_id: Option<String>,
    pub post_id: Option<String>,
    pub post_url: Option<String>,
    pub reason: Option<String>,
}

impl PostUpdate {
    /// A new status of a post, with no ids learnt.
    pub fn new(delivery_id: String, status: PostStatus) -> PostUpdate {
        PostUpdate { delivery_id, status, draft_id: None, job_id: None, post_id: None, post_url: None, reason: None }
    }
}

pub(super) fn post_from_row(r: &AnyRow) -> Result<PostRecord> {
    Ok(PostRecord {
        delivery_id: r.try_get("delivery_id")?,
        endpoint_id: r.try_get("endpoint_id")?,
        item_id: r.try_get("item_id")?,
        serial: r.try_get("serial")?,
        status: parse_column("status", &r.try_get::<String, _>("status")?)?,
        draft_id: r.try_get("draft_id")?,
        job_id: r.try_get("job_id")?,
        post_id: r.try_get("post_id")?,
        post_url: r.try_get("post_url")?,
        reason: r.try_get("reason")?,
        last_checked_at: r.try_get("last_checked_at")?,
        next_check_at: r.try_get("next_check_at")?,
    })
}

/// Inserts or updates the post of a publish delivery; ids not given keep
/// their stored value. `next_check` schedules the recheck of a live post.
pub(super) async fn upsert_post(
    conn: &mut AnyConnection,
    p: &PostUpdate,
    next_check: Option<Timestamp>,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO connector_posts (delivery_id, endpoint_id, item_id, serial, status, draft_id, job_id, post_id, \
         post_url, reason, last_checked_at, next_check_at, created_at, updated_at) \
         SELECT d.id, d.endpoint_id, d.item_id, e.serial, $2, $3, $4, $5, $6, $7, $8, $9, $8, $8 \
         FROM deliveries d JOIN channel_events e ON e.seq = d.event_seq WHERE d.id = $1 \
         ON CONFLICT (delivery_id) DO UPDATE SET status = excluded.status, \
         draft_id = COALESCE(excluded.draft_id, connector_posts.draft_id), \
         job_id = COALESCE(excluded.job_id, connector_posts.job_id), \
         post_id = COALESCE(excluded.post_id, connector_posts.post_id), \
         post_url = COALESCE(excluded.post_url, connector_posts.post_url), \
         reason = COALESCE(excluded.reason, connector_posts.reason), \
         last_checked_at = excluded.last_checked_at, next_check_at = excluded.next_check_at, \
         updated_at = excluded.updated_at",
    )
    .bind(p.delivery_id.as_str())
    .bind(p.status.as_str())
    .bind(p.draft_id.as_deref())
    .bind(p.job_id.as_deref())
    .bind(p.post_id.as_deref())
    .bind(p.post_url.as_deref())
    .bind(p.reason.as_deref())
    .bind(now.to_string())
    .bind(next_check.map(|t| t.to_string()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Db {
    /// The connector post of a publish delivery, if the platform was called.
    pub async fn post_of_delivery(&self, delivery: &str) -> Result<Option<PostRecord>> {
        sqlx::query("SELECT * FROM connector_posts WHERE delivery_id = $1")
            .bind(delivery)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(post_from_row)
            .transpose()
    }

    /// Every connector post of an item, oldest first.
    pub async fn posts_of_item(&self, item: ItemId) -> Result<Vec<PostRecord>> {
        let rows = sqlx::query("SELECT * FROM connector_posts WHERE item_id = $1 ORDER BY created_at, delivery_id")
            .bind(item.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(post_from_row).collect()
    }

    /// Every connector post of an item on an endpoint, oldest first.
    pub async fn posts_of(&self, item: &str, endpoint: &str) -> Result<Vec<PostRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM connector_posts WHERE item_id = $1 AND endpoint_id = $2 ORDER BY created_at, delivery_id",
        )
        .bind(item)
        .bind(endpoint)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(post_from_row).collect()
    }

    /// Claims up to `limit` posts to ask the platform about, on enabled
    /// endpoints: live posts due for a recheck (is it still there?), and
    /// **stray** posts — submitted or live although their seal is withdrawn
    /// and no withdrawal delivery of the endpoint is still open (a
    /// publication that was in flight when the item was withdrawn), which
    /// must be deleted; the flag says which. Each claim moves the post's
    /// check times on, so one gateway asks.
    pub async fn claim_rechecks(&self, limit: i64) -> Result<Vec<(PostRecord, EndpointRecord, bool)>> {
        let now = Timestamp::now();
        let rows = sqlx::query(
            "SELECT c.*, s.status AS seal_status \
             FROM connector_posts c JOIN channel_endpoints p ON p.id = c.endpoint_id JOIN seals s ON s.serial = c.serial \
             WHERE p.enabled = 1 AND ((s.status <> 'withdrawn' AND c.status = 'published' AND c.next_check_at <= $1) \
               OR (s.status = 'withdrawn' AND c.status IN ('submitted', 'published') AND c.last_checked_at <= $2 \
                 AND NOT EXISTS (SELECT 1 FROM deliveries w WHERE w.item_id = c.item_id AND w.endpoint_id = c.endpoint_id \
                   AND w.kind = 'withdraw' AND w.state <> 'delivered'))) \
             ORDER BY c.last_checked_at LIMIT $3",
        )
        .bind(now.to_string())
        .bind(ts_after(now, -2).to_string())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let post = post_from_row(r)?;
            let stray = r.try_get::<String, _>("seal_status")? == crate::store::SealState::Withdrawn.as_str();
            let ep = self.endpoint(&post.endpoint_id).await?;
            let every = ep.connector.as_ref().map_or(0, |c| c.recheck_secs).max(1);
            let done = sqlx::query(
                "UPDATE connector_posts SET last_checked_at = $1, next_check_at = $2 \
                 WHERE delivery_id = $3 AND last_checked_at = $4 AND status = $5",
            )
            .bind(now.to_string())
            .bind((!stray).then(|| ts_after(now, every).to_string()))
            .bind(post.delivery_id.as_str())
            .bind(post.last_checked_at.as_str())
            .bind(post.status.as_str())
            .execute(&self.pool)
            .await?;
            if done.rows_affected() > 0 {
                out.push((post, ep, stray));
            }
        }
        Ok(out)
    }

    /// What the platform said about a stray post (see [`Db::claim_rechecks`]):
    /// deleted, or refused or removed by the platform meanwhile; recorded
    /// with a `delivery.stray_post` audit event, in one transaction.
    pub async fn record_stray_post(&self, post: &PostRecord, update: &PostUpdate) -> Result<()> {
        let now = Timestamp::now();
        let mut tx = self.pool.begin().await?;
        lock_item(&mut tx, &post.item_id).await?;
        upsert_post(&mut tx, update, None, now).await?;
        let item: ItemId = parse_column("item_id", &post.item_id)?;
        let (_, version) = item_version(&mut tx, &post.item_id).await?;
        audit::append(
            &mut tx,
            None,
            "delivery.stray_post",
            Some((item, version)),
            json!({ "delivery": post.delivery_id, "endpoint": post.endpoint_id, "serial": post.serial,
                    "status": update.status, "post_id": update.post_id.as_ref().or(post.post_id.as_ref()),
                    "reason": "the seal was withdrawn while the publication was in flight" }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A live post was removed on the platform, not by us (WeChat
    /// publish_status 5 or 6): recorded with the reason and a
    /// `delivery.platform_removed` audit event, in one transaction. Returns
    /// whether it was live until now.
    pub async fn record_platform_removal(&self, post: &PostRecord, reason: &str) -> Result<bool> {
        let now = Timestamp::now();
        let mut tx = self.pool.begin().await?;
        lock_item(&mut tx, &post.item_id).await?;
        let done = sqlx::query(
            "UPDATE connector_posts SET status = 'removed', reason = $1, next_check_at = NULL, last_checked_at = $2, \
             updated_at = $2 WHERE delivery_id = $3 AND status = 'published'",
        )
        .bind(reason)
        .bind(now.to_string())
        .bind(post.delivery_id.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() > 0 {
            let item: ItemId = parse_column("item_id", &post.item_id)?;
            let (_, version) = item_version(&mut tx, &post.item_id).await?;
            audit::append(
                &mut tx,
                None,
                "delivery.platform_removed",
                Some((item, version)),
                json!({ "delivery": post.delivery_id, "endpoint": post.endpoint_id, "serial": post.serial,
                        "post_id": post.post_id, "post_url": post.post_url, "reason": reason }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }
}
