//! Storage of channel delivery (docs/delivery.md): endpoints, the
//! per-channel events fanned out from the outbox, deliveries (the work
//! queue: claim with a lease, per-(item, endpoint) order, retries), their
//! attempts, withdrawals (撤稿), redelivery and the pull feed.
//!
//! The fan-out ([`plan_publish`], and the withdrawal) runs inside the
//! transaction that changes the item, so an event exists exactly when its
//! state change committed. Claiming is one `UPDATE … WHERE id IN (SELECT …
//! LIMIT n) RETURNING`; on PostgreSQL the sub-select adds `FOR UPDATE OF d
//! SKIP LOCKED` so several gateways share the work (the one place where the
//! query text differs by backend). It decides nothing about HTTP: the
//! dispatcher (`delivery/`) sends and reports outcomes back here.
//!
//! It loads and saves; what a state becomes (an item's after planning, a
//! claim or a settled delivery; a delivery's after an attempt), whether a
//! withdrawal, its confirmation or a redelivery may happen, is asked of
//! `crate::channel`, pure and tested there.
//!
//! By concern: [`endpoints`], [`fanout`], [`queue`] (claims, attempts,
//! redelivery), [`withdrawals`], [`feed`] (pull feed and snapshot) and
//! [`posts`] (connector posts); what they share (item moves, locks) is here.

mod endpoints;
mod fanout;
mod feed;
mod posts;
mod queue;
mod withdrawals;

pub use endpoints::{ConnectorConfig, EndpointRecord};
use endpoints::{disable_endpoint, enable, enabled_endpoints};
use fanout::{NewEvent, insert_deliveries, insert_event};
pub(super) use fanout::{PlanPublish, plan_publish};
pub use feed::FeedEvent;
use posts::upsert_post;
pub use posts::{PostRecord, PostUpdate};
pub use queue::{AttemptRecord, Claimed, DeliveryRecord};
pub use withdrawals::{Escalation, WITHDRAW_PRIORITY, WithdrawRequest, Withdrawal, WithdrawalRecord};

use serde_json::{Value, json};
use sqlx::{AnyConnection, Row};

use super::{Backend, Db, Result, StoreError, audit, parse_column};
use crate::channel;
use crate::model::{ItemId, ItemState, Timestamp, UserId};

/// The PostgreSQL channel other gateway processes LISTEN on.
pub const NOTIFY_CHANNEL: &str = "gateway_delivery";

fn ts_after(now: Timestamp, secs: i64) -> Timestamp {
    Timestamp::from_offset(now.as_offset() + time::Duration::seconds(secs))
}

fn ts_of_secs(secs: i64) -> Timestamp {
    Timestamp::from_offset(time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH))
}

async fn item_version(conn: &mut AnyConnection, item: &str) -> Result<(ItemState, i64)> {
    let row = sqlx::query("SELECT state, current_version FROM items WHERE id = $1")
        .bind(item)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok((parse_column("state", &row.try_get::<String, _>("state")?)?, row.try_get("current_version")?))
}

/// The drafter of `item` and the title of its current version (for the
/// notices of its publication and withdrawal).
async fn drafter_and_title(conn: &mut AnyConnection, item: &str) -> Result<(UserId, String, i64)> {
    let row = sqlx::query(
        "SELECT i.created_by, i.current_version, v.title FROM items i \
         JOIN item_versions v ON v.item_id = i.id AND v.version = i.current_version WHERE i.id = $1",
    )
    .bind(item)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    Ok((
        parse_column("created_by", &row.try_get::<String, _>("created_by")?)?,
        row.try_get("title")?,
        row.try_get("current_version")?,
    ))
}

/// Moves an item from one of `from` to `to` with an `item.state` event;
/// returns whether it moved.
async fn move_item(
    conn: &mut AnyConnection,
    item: &str,
    from: &[ItemState],
    to: ItemState,
    actor: Option<UserId>,
    detail: Value,
    now: Timestamp,
) -> Result<bool> {
    let (state, version) = item_version(conn, item).await?;
    if !from.contains(&state) {
        return Ok(false);
    }
    sqlx::query("UPDATE items SET state = $1, updated_at = $2 WHERE id = $3")
        .bind(to.as_str())
        .bind(now.to_string())
        .bind(item)
        .execute(&mut *conn)
        .await?;
    let id: ItemId = parse_column("item_id", item)?;
    let mut d = json!({ "from": state.as_str(), "to": to.as_str() });
    if let (Some(map), Value::Object(extra)) = (d.as_object_mut(), detail) {
        map.extend(extra);
    }
    audit::append(conn, actor, "item.state", Some((id, version)), d).await?;
    Ok(true)
}

/// After a delivery of `item` settled: moves the item where
/// [`channel::progress`] says once every delivery it waits for is settled
/// (delivered or cancelled: [`channel::DeliveryState::is_settled`]).
async fn progress_item(conn: &mut AnyConnection, item: &str, now: Timestamp) -> Result<()> {
    let (state, _) = item_version(conn, item).await?;
    let Some(next) = channel::progress(state) else { return Ok(()) };
    let open: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM deliveries WHERE item_id = $1 AND kind = $2 \
         AND state NOT IN ('delivered', 'cancelled')",
    )
    .bind(item)
    .bind(next.awaiting.as_str())
    .fetch_one(&mut *conn)
    .await?
    .try_get("n")?;
    if open > 0 {
        return Ok(());
    }
    let moved = move_item(conn, item, &[state], next.to, None, json!({ "reason": next.reason }), now).await?;
    if moved && next.to == ItemState::Published {
        // The drafter is told in the transaction that publishes (已发布).
        let (drafter, title, version) = drafter_and_title(conn, item).await?;
        let id: ItemId = parse_column("item_id", item)?;
        let n = crate::workflow::published_notice(id, drafter, &title, version);
        super::workflow::insert_notification(conn, n.user, n.kind, n.item, &n.message, &n.key, now).await?;
    }
    if next.to == ItemState::Withdrawn {
        complete_withdrawals(conn, item, now).await?;
    }
    Ok(())
}

async fn finish_withdrawal(conn: &mut AnyConnection, item: &str, now: Timestamp) -> Result<()> {
    let next = channel::progress(ItemState::Withdrawing).expect("a withdrawing item progresses");
    move_item(conn, item, &[ItemState::Withdrawing], next.to, None, json!({ "reason": next.reason }), now).await?;
    complete_withdrawals(conn, item, now).await
}

/// Marks the item's open withdrawal requests completed.
async fn complete_withdrawals(conn: &mut AnyConnection, item: &str, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE item_withdrawals SET completed_at = $1 WHERE item_id = $2 AND completed_at IS NULL")
        .bind(now.to_string())
        .bind(item)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Locks the item row first (items, then deliveries, then the audit head:
/// the order every transaction here keeps).
async fn lock_item(conn: &mut AnyConnection, item: &str) -> Result<()> {
    let done =
        sqlx::query("UPDATE items SET updated_at = updated_at WHERE id = $1").bind(item).execute(&mut *conn).await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

impl Db {
    /// Tells other gateway processes on the same PostgreSQL database that
    /// deliveries or channel events were added (`NOTIFY`); nothing on
    /// SQLite, where one process runs the one dispatcher.
    pub async fn announce_delivery(&self) -> Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query(&format!("NOTIFY {NOTIFY_CHANNEL}")).execute(&self.pool).await?;
        }
        Ok(())
    }
}
