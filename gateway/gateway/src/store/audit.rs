//! The append-only audit trail, kept as a hash chain.
//!
//! Each event's hash is `SHA-256(JCS({seq, at, actor_id, action, item_id,
//! version, detail, prev_hash}))`, written `sha256:<hex>`. `audit_head` holds
//! the newest sequence number and hash; appending updates it first, which
//! serialises appenders on both backends (a row lock on PostgreSQL, the
//! write lock on SQLite). Altering, inserting or deleting any row breaks the
//! chain from that row on, and [`Db::verify_audit_chain`] names the first.

use seal::ContentDigest;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{AnyConnection, Row};

use super::{Db, Result, StoreError};
use crate::model::{ItemId, Timestamp, UserId};

/// One event as stored.
#[derive(Clone, Debug, Serialize)]
pub struct AuditEvent {
    pub seq: i64,
    pub at: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub item_id: Option<String>,
    pub version: Option<i64>,
    pub detail: Value,
    pub prev_hash: String,
    pub hash: String,
}

/// The outcome of checking the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    pub events: i64,
    /// The first event whose stored hash or link does not match, if any.
    pub first_broken: Option<i64>,
    pub reason: Option<String>,
}

/// The hash of `event`, computed over every field but `hash` itself.
fn event_hash(event: &AuditEvent) -> Result<String> {
    let canonical = json!({
        "seq": event.seq, "at": event.at, "actor_id": event.actor_id, "action": event.action,
        "item_id": event.item_id, "version": event.version, "detail": event.detail,
        "prev_hash": event.prev_hash,
    });
    let bytes = seal::canonical::to_vec(&canonical).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(ContentDigest::of(&bytes).to_string())
}

/// Appends an event inside the caller's transaction.
pub(super) async fn append(
    conn: &mut AnyConnection,
    actor: Option<UserId>,
    action: &str,
    item: Option<(ItemId, i64)>,
    detail: Value,
) -> Result<i64> {
    let row = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut *conn)
        .await?;
    let seq: i64 = row.try_get("seq")?;
    let prev_hash: String = row.try_get("hash")?;
    let mut event = AuditEvent {
        seq,
        at: Timestamp::now().to_string(),
        actor_id: actor.map(|a| a.to_string()),
        action: action.to_owned(),
        item_id: item.map(|(id, _)| id.to_string()),
        version: item.map(|(_, v)| v),
        detail,
        prev_hash,
        hash: String::new(),
    };
    event.hash = event_hash(&event)?;
    sqlx::query(
        "INSERT INTO audit_events (seq, at, actor_id, action, item_id, version, detail, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(event.seq)
    .bind(event.at.as_str())
    .bind(event.actor_id.as_deref())
    .bind(event.action.as_str())
    .bind(event.item_id.as_deref())
    .bind(event.version)
    .bind(super::json_text(&event.detail))
    .bind(event.prev_hash.as_str())
    .bind(event.hash.as_str())
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(event.hash.as_str()).execute(&mut *conn).await?;
    Ok(seq)
}

impl Db {
    /// Records an event that is not part of another change (a login, a
    /// policy reload).
    pub async fn audit(&self, actor: Option<UserId>, action: &str, detail: Value) -> Result<i64> {
        let mut tx = self.pool.begin().await?;
        let seq = append(&mut tx, actor, action, None, detail).await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// Events in order, optionally for one item.
    pub async fn audit_events(&self, item: Option<ItemId>, after_seq: i64, limit: i64) -> Result<Vec<AuditEvent>> {
        let rows = match item {
            Some(id) => {
                sqlx::query("SELECT * FROM audit_events WHERE item_id = $1 AND seq > $2 ORDER BY seq LIMIT $3")
                    .bind(id.to_string())
                    .bind(after_seq)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2")
                    .bind(after_seq)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter()
            .map(|row| {
                Ok(AuditEvent {
                    seq: row.try_get("seq")?,
                    at: row.try_get("at")?,
                    actor_id: row.try_get("actor_id")?,
                    action: row.try_get("action")?,
                    item_id: row.try_get("item_id")?,
                    version: row.try_get("version")?,
                    detail: super::from_json_text("detail", &row.try_get::<String, _>("detail")?)?,
                    prev_hash: row.try_get("prev_hash")?,
                    hash: row.try_get("hash")?,
                })
            })
            .collect()
    }

    /// Walks the whole chain and reports the first broken link.
    pub async fn verify_audit_chain(&self) -> Result<ChainReport> {
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(&self.pool).await?;
        let head_seq: i64 = head.try_get("seq")?;
        let head_hash: String = head.try_get("hash")?;
        let mut expected_prev = String::from(GENESIS);
        let mut expected_seq = 1;
        let mut after = 0;
        loop {
            let events = self.audit_events(None, after, 1000).await?;
            if events.is_empty() {
                break;
            }
            for event in &events {
                let broken = |reason: String| ChainReport {
                    events: head_seq,
                    first_broken: Some(event.seq),
                    reason: Some(reason),
                };
                if event.seq != expected_seq {
                    return Ok(broken(format!("event {expected_seq} is missing")));
                }
                if event.prev_hash != expected_prev {
                    return Ok(broken("prev_hash does not match the previous event".into()));
                }
                let recomputed = event_hash(event)?;
                if recomputed != event.hash {
                    return Ok(broken("the event's content does not match its hash".into()));
                }
                expected_prev = event.hash.clone();
                expected_seq += 1;
            }
            after = events.last().map_or(after, |e| e.seq);
        }
        if expected_seq - 1 != head_seq || expected_prev != head_hash {
            return Ok(ChainReport {
                events: head_seq,
                first_broken: Some(expected_seq),
                reason: Some("events after this one were removed, or the head was altered".into()),
            });
        }
        Ok(ChainReport { events: head_seq, first_broken: None, reason: None })
    }
}

const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
