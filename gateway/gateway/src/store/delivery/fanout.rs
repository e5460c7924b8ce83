//! The fan-out of an outbox row into channel events and deliveries, inside
//! the transaction that changes the item (sealing, withdrawal).

use serde_json::{Value, json};
use sqlx::{AnyConnection, Row};

use super::{enabled_endpoints, move_item, ts_of_secs};
use crate::channel::{self, EventKind};
use crate::model::{ItemId, Timestamp};
use crate::store::{Result, json_text};

/// What the seal transaction hands over for a publication.
pub(in crate::store) struct PlanPublish<'a> {
    pub outbox_id: &'a str,
    pub item: ItemId,
    pub serial: &'a str,
    pub supersedes: Option<&'a str>,
    pub not_before: i64,
    pub channels: &'a [String],
    pub seal: &'a str,
    pub content: Value,
}

/// Takes the feed head's lock and the next `seq`.
pub(super) async fn next_feed_seq(conn: &mut AnyConnection) -> Result<i64> {
    let row = sqlx::query("UPDATE channel_feed_head SET seq = seq + 1 WHERE id = 1 RETURNING seq")
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get("seq")?)
}

pub(super) struct NewEvent<'a> {
    pub(super) outbox_id: &'a str,
    pub(super) kind: EventKind,
    pub(super) item: ItemId,
    pub(super) channel: &'a str,
    pub(super) serial: &'a str,
    pub(super) supersedes: Option<&'a str>,
    pub(super) not_before: i64,
    pub(super) priority: i64,
    pub(super) envelope: Value,
    pub(super) reason: Option<&'a str>,
}

/// Inserts a channel event (next sequence of its item and channel) and
/// returns its seq.
pub(super) async fn insert_event(conn: &mut AnyConnection, ev: NewEvent<'_>, now: Timestamp) -> Result<i64> {
    let seq = next_feed_seq(conn).await?;
    let sequence: i64 = sqlx::query(
        "SELECT COALESCE(MAX(sequence), 0) + 1 AS n FROM channel_events WHERE item_id = $1 AND channel = $2",
    )
    .bind(ev.item.to_string())
    .bind(ev.channel)
    .fetch_one(&mut *conn)
    .await?
    .try_get("n")?;
    let event_id = format!("evt_{}", uuid::Uuid::now_v7().simple());
    let body = json!({
        "type": ev.kind.as_str(),
        "event_id": event_id,
        "item_id": ev.item.to_string(),
        "channel": ev.channel,
        "sequence": sequence,
        "serial": ev.serial,
        "supersedes": ev.supersedes,
        "not_before": ev.not_before,
        "created_at": now.to_string(),
        "attachments": channel::attachment_links(ev.channel, &ev.envelope["content"]),
        "envelope": ev.envelope,
        "reason": ev.reason,
    });
    sqlx::query(
        "INSERT INTO channel_events (seq, event_id, outbox_id, kind, item_id, channel, sequence, serial, not_before, \
         priority, body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(seq)
    .bind(event_id.as_str())
    .bind(ev.outbox_id)
    .bind(ev.kind.as_str())
    .bind(ev.item.to_string())
    .bind(ev.channel)
    .bind(sequence)
    .bind(ev.serial)
    .bind(ev.not_before)
    .bind(ev.priority)
    .bind(json_text(&body))
    .bind(now.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(seq)
}

/// Inserts one pending delivery of event `seq` per endpoint in `endpoints`
/// (skipping existing ones); returns how many.
pub(super) async fn insert_deliveries(
    conn: &mut AnyConnection,
    seq: i64,
    endpoints: &[String],
    due: Timestamp,
    now: Timestamp,
) -> Result<usize> {
    let mut n = 0;
    for endpoint in endpoints {
        let done = sqlx::query(
            "INSERT INTO deliveries (id, event_seq, endpoint_id, item_id, channel, sequence, kind, priority, state, \
             attempts, next_attempt_at, created_at, updated_at) \
             SELECT $1, seq, $2, item_id, channel, sequence, kind, priority, 'pending', 0, $3, $4, $4 \
             FROM channel_events WHERE seq = $5 ON CONFLICT (event_seq, endpoint_id) DO NOTHING",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(endpoint.as_str())
        .bind(due.to_string())
        .bind(now.to_string())
        .bind(seq)
        .execute(&mut *conn)
        .await?;
        n += done.rows_affected() as usize;
    }
    Ok(n)
}

/// The fan-out of a publication, inside the sealing transaction: one event
/// per channel of the item, one delivery per enabled endpoint of the
/// channel, due at `not_before`. With deliveries and a `not_before` in the
/// future the item goes `sealed → scheduled`.
pub(in crate::store) async fn plan_publish(conn: &mut AnyConnection, p: PlanPublish<'_>, now: Timestamp) -> Result<()> {
    let due = ts_of_secs(p.not_before).max(now);
    let mut planned = 0;
    for channel in p.channels {
        let seq = insert_event(
            conn,
            NewEvent {
                outbox_id: p.outbox_id,
                kind: EventKind::Publish,
                item: p.item,
                channel,
                serial: p.serial,
                supersedes: p.supersedes,
                not_before: p.not_before,
                priority: 0,
                envelope: json!({ "seal": p.seal, "content": p.content }),
                reason: None,
            },
            now,
        )
        .await?;
        let endpoints = enabled_endpoints(conn, channel).await?;
        planned += insert_deliveries(conn, seq, &endpoints, due, now).await?;
    }
    sqlx::query("UPDATE outbox_events SET status = 'planned' WHERE id = $1")
        .bind(p.outbox_id)
        .execute(&mut *conn)
        .await?;
    if let Some(next) = channel::after_planning(planned, due, now) {
        move_item(
            conn,
            &p.item.to_string(),
            next.from,
            next.to,
            None,
            json!({ "serial": p.serial, "not_before": p.not_before }),
            now,
        )
        .await?;
    }
    Ok(())
}
