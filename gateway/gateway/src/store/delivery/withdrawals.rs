//! 撤稿: withdrawing an item, escalating unconfirmed withdrawals, and the
//! confirmation of an urgent one.

use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{
    NewEvent, drafter_and_title, enabled_endpoints, finish_withdrawal, insert_deliveries, insert_event, item_version,
    lock_item, move_item, ts_after,
};
use crate::channel::{self, EventKind};
use crate::model::{ItemId, ItemState, Timestamp, UserId};
use crate::store::{Db, Result, StoreError, audit, json_text};

/// Priority of withdrawals: claimed before any publication.
pub const WITHDRAW_PRIORITY: i64 = 10;

/// What a withdrawal asks for.
pub struct WithdrawRequest<'a> {
    pub item: ItemId,
    pub reason: &'a str,
    pub urgent: bool,
    pub actor: UserId,
}

/// A withdrawal request as stored.
#[derive(Clone, Debug)]
pub struct WithdrawalRecord {
    pub id: String,
    pub reason: String,
    pub urgent: bool,
    pub requested_by: String,
    pub requested_at: String,
    pub escalated_at: Option<String>,
    pub completed_at: Option<String>,
    pub confirmed_by: Option<String>,
    pub confirmed_at: Option<String>,
    pub confirm_note: Option<String>,
}

pub(super) fn withdrawal_from_row(r: &AnyRow) -> Result<WithdrawalRecord> {
    Ok(WithdrawalRecord {
        id: r.try_get("id")?,
        reason: r.try_get("reason")?,
        urgent: r.try_get::<i64, _>("urgent")? != 0,
        requested_by: r.try_get("requested_by")?,
        requested_at: r.try_get("requested_at")?,
        escalated_at: r.try_get("escalated_at")?,
        completed_at: r.try_get("completed_at")?,
        confirmed_by: r.try_get("confirmed_by")?,
        confirmed_at: r.try_get("confirmed_at")?,
        confirm_note: r.try_get("confirm_note")?,
    })
}

/// A withdrawal escalated for want of confirmations.
#[derive(Clone, Debug)]
pub struct Escalation {
    pub item: String,
    pub withdrawal: String,
    pub urgent: bool,
    pub unconfirmed_channels: Vec<String>,
}

/// What a withdrawal did.
#[derive(Clone, Debug)]
pub struct Withdrawal {
    pub id: String,
    pub serials: Vec<String>,
    pub channels: Vec<String>,
    pub deliveries: usize,
    pub state: ItemState,
}

impl Db {
    /// 撤稿, in one transaction: every valid or suspended seal of the item is
    /// `withdrawn` (the status endpoints say so at once), the item goes to
    /// `withdrawing`, publications not yet delivered are cancelled (also
    /// one in flight or left leased by a crashed gateway: it keeps its lease,
    /// so the withdrawal waits until that attempt ended or the lease lapsed;
    /// its outcome no longer counts and a failure is never retried), and one
    /// `withdraw` event (priority lane) goes to every channel that was ever
    /// sent a publication of the item, for every endpoint that was sent one
    /// and every enabled endpoint of the channel. Without any delivery to
    /// wait for, the item is `withdrawn` at once.
    pub async fn withdraw_item(&self, req: WithdrawRequest<'_>) -> Result<Withdrawal> {
        let now = Timestamp::now();
        let item = req.item.to_string();
        let mut tx = self.pool.begin().await?;
        lock_item(&mut tx, &item).await?;
        let (state, version) = item_version(&mut tx, &item).await?;
        let Some(withdrawing) = channel::withdrawal(state) else {
            return Err(StoreError::WrongState { state });
        };
        let serials: Vec<String> = sqlx::query(
            "SELECT serial FROM seals WHERE item_id = $1 AND status IN ('valid', 'suspended') ORDER BY log_index",
        )
        .bind(item.as_str())
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("serial"))
        .collect::<Result<_, _>>()?;
        let Some(last_serial) = serials.last().cloned() else {
            return Err(StoreError::Conflict("no valid seal to withdraw"));
        };
        sqlx::query(
            "UPDATE seals SET status = 'withdrawn', status_changed_at = $1 WHERE item_id = $2 AND status IN ('valid', 'suspended')",
        )
        .bind(now.to_string())
        .bind(item.as_str())
        .execute(&mut *tx)
        .await?;
        let cancelled = sqlx::query(
            "UPDATE deliveries SET state = 'cancelled', updated_at = $1, \
             lease_until = CASE WHEN state = 'delivering' THEN lease_until ELSE NULL END \
             WHERE item_id = $2 AND kind = 'publish' AND state IN ('pending', 'failed', 'delivering')",
        )
        .bind(now.to_string())
        .bind(item.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let id = format!("wd_{}", uuid::Uuid::now_v7().simple());
        sqlx::query(
            "INSERT INTO item_withdrawals (id, item_id, reason, urgent, requested_by, requested_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.as_str())
        .bind(item.as_str())
        .bind(req.reason)
        .bind(i64::from(req.urgent))
        .bind(req.actor.to_string())
        .bind(now.to_string())
        .execute(&mut *tx)
        .await?;
        for serial in &serials {
            audit::append(
                &mut tx,
                Some(req.actor),
                "seal.status",
                Some((req.item, version)),
                json!({ "serial": serial, "status": "withdrawn", "reason": req.reason }),
            )
            .await?;
        }
        audit::append(
            &mut tx,
            Some(req.actor),
            "item.withdraw",
            Some((req.item, version)),
            json!({ "withdrawal": id, "reason": req.reason, "urgent": req.urgent, "serials": serials,
                    "cancelled_deliveries": cancelled,
                    "confirmation": if req.urgent { "urgent: to be confirmed by a review afterwards" } else { "routine" } }),
        )
        .await?;
        move_item(&mut tx, &item, &[state], withdrawing, Some(req.actor), json!({ "withdrawal": id }), now).await?;
        // The drafter is told, with the reason, in the same transaction.
        let (drafter, title, _) = drafter_and_title(&mut tx, &item).await?;
        let n = crate::workflow::withdrawn_notice(req.item, drafter, &title, req.reason, &id);
        crate::store::workflow::insert_notification(&mut tx, n.user, n.kind, n.item, &n.message, &n.key, now).await?;
        let channels: Vec<String> = sqlx::query(
            "SELECT DISTINCT channel FROM channel_events WHERE item_id = $1 AND kind = 'publish' ORDER BY channel",
        )
        .bind(item.as_str())
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("channel"))
        .collect::<Result<_, _>>()?;
        let outbox_id = uuid::Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO outbox_events (id, kind, item_id, version, serial, channels, not_before, status, created_at) \
             VALUES ($1, 'withdraw', $2, $3, $4, $5, $6, 'planned', $7)",
        )
        .bind(outbox_id.as_str())
        .bind(item.as_str())
        .bind(version)
        .bind(last_serial.as_str())
        .bind(json_text(&channels))
        .bind(now.as_offset().unix_timestamp())
        .bind(now.to_string())
        .execute(&mut *tx)
        .await?;
        let mut deliveries = 0;
        for channel in &channels {
            let seq = insert_event(
                &mut tx,
                NewEvent {
                    outbox_id: &outbox_id,
                    kind: EventKind::Withdraw,
                    item: req.item,
                    channel,
                    serial: &last_serial,
                    supersedes: None,
                    not_before: now.as_offset().unix_timestamp(),
                    priority: WITHDRAW_PRIORITY,
                    envelope: Value::Null,
                    reason: Some(req.reason),
                },
                now,
            )
            .await?;
            let mut endpoints: Vec<String> = sqlx::query(
                "SELECT DISTINCT endpoint_id FROM deliveries WHERE item_id = $1 AND channel = $2 AND kind = 'publish'",
            )
            .bind(item.as_str())
            .bind(channel.as_str())
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get("endpoint_id"))
            .collect::<Result<_, _>>()?;
            endpoints.extend(enabled_endpoints(&mut tx, channel).await?);
            endpoints.sort();
            endpoints.dedup();
            deliveries += insert_deliveries(&mut tx, seq, &endpoints, now, now).await?;
        }
        if deliveries == 0 {
            finish_withdrawal(&mut tx, &item, now).await?;
        }
        let (state, _) = item_version(&mut tx, &item).await?;
        tx.commit().await?;
        Ok(Withdrawal { id, serials, channels, deliveries, state })
    }

    /// Withdrawals not confirmed by every channel `after_secs` after they
    /// were requested, not escalated yet: marks them escalated (with an
    /// audit event) and returns them.
    pub async fn escalate_withdrawals(&self, after_secs: i64) -> Result<Vec<Escalation>> {
        let now = Timestamp::now();
        let cutoff = ts_after(now, -after_secs);
        let rows = sqlx::query(
            "SELECT id, item_id, urgent FROM item_withdrawals WHERE completed_at IS NULL AND escalated_at IS NULL \
             AND requested_at <= $1",
        )
        .bind(cutoff.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let (id, item): (String, String) = (r.try_get("id")?, r.try_get("item_id")?);
            let urgent = r.try_get::<i64, _>("urgent")? != 0;
            let mut tx = self.pool.begin().await?;
            let done =
                sqlx::query("UPDATE item_withdrawals SET escalated_at = $1 WHERE id = $2 AND escalated_at IS NULL")
                    .bind(now.to_string())
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await?;
            if done.rows_affected() > 0 {
                let unconfirmed: Vec<String> = sqlx::query(
                    "SELECT DISTINCT channel FROM deliveries WHERE item_id = $1 AND kind = 'withdraw' AND state <> 'delivered'",
                )
                .bind(item.as_str())
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get("channel"))
                .collect::<Result<_, _>>()?;
                audit::append(
                    &mut tx,
                    None,
                    "item.withdraw.escalate",
                    None,
                    json!({ "withdrawal": id, "item_id": item, "urgent": urgent, "unconfirmed_channels": &unconfirmed }),
                )
                .await?;
                out.push(Escalation { item, withdrawal: id, urgent, unconfirmed_channels: unconfirmed });
            }
            tx.commit().await?;
        }
        Ok(out)
    }

    /// The withdrawal requests of an item, oldest first.
    pub async fn withdrawals_of_item(&self, item: ItemId) -> Result<Vec<WithdrawalRecord>> {
        let rows = sqlx::query("SELECT * FROM item_withdrawals WHERE item_id = $1 ORDER BY requested_at, id")
            .bind(item.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(withdrawal_from_row).collect()
    }

    /// Confirms an urgent withdrawal afterwards: by someone other than who
    /// triggered it (the caller checks the role), once, with a note.
    pub async fn confirm_withdrawal(&self, item: ItemId, by: UserId, note: &str) -> Result<WithdrawalRecord> {
        let now = Timestamp::now();
        let mut tx = self.pool.begin().await?;
        lock_item(&mut tx, &item.to_string()).await?;
        let row = sqlx::query(
            "SELECT * FROM item_withdrawals WHERE item_id = $1 AND urgent = 1 AND confirmed_at IS NULL \
             ORDER BY requested_at DESC LIMIT 1",
        )
        .bind(item.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::Conflict("no urgent withdrawal awaits confirmation"))?;
        let w = withdrawal_from_row(&row)?;
        if let Some(why) = channel::confirmation_refused(&w.requested_by, &by.to_string()) {
            return Err(StoreError::Conflict(why));
        }
        sqlx::query(
            "UPDATE item_withdrawals SET confirmed_by = $1, confirmed_at = $2, confirm_note = $3 WHERE id = $4",
        )
        .bind(by.to_string())
        .bind(now.to_string())
        .bind(note)
        .bind(w.id.as_str())
        .execute(&mut *tx)
        .await?;
        let (_, version) = item_version(&mut tx, &item.to_string()).await?;
        audit::append(
            &mut tx,
            Some(by),
            "item.withdraw.confirm",
            Some((item, version)),
            json!({ "withdrawal": w.id, "note": note, "requested_by": w.requested_by }),
        )
        .await?;
        let row =
            sqlx::query("SELECT * FROM item_withdrawals WHERE id = $1").bind(w.id.as_str()).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        withdrawal_from_row(&row)
    }
}
