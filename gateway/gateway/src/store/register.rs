//! The 台账 (register) of items that are not made public: every 依申请公开
//! and 不予公开 item with its attribute, reason, legal basis, who proposed
//! and who decided it, and when it is next reviewed. One row per item; its
//! history is in the audit chain.

use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, Result, StoreError, audit, parse_column};
use crate::model::{Attribute, ItemId, Timestamp, UserId, VersionContent};

/// One register entry.
#[derive(Clone, Debug)]
pub struct RegisterEntry {
    pub item_id: ItemId,
    pub attribute: Attribute,
    pub reason: Option<String>,
    pub legal_basis: Option<String>,
    pub title: String,
    pub doc_number: Option<String>,
    pub issuer: Option<String>,
    pub proposed_by: UserId,
    pub proposed_at: Timestamp,
    /// `proposed`, `confirmed`, `changed` or `closed` (the item became 主动公开).
    pub status: String,
    pub decided_by: Option<UserId>,
    pub decided_at: Option<Timestamp>,
    /// `YYYY-MM-DD`: the periodic review is due on this day.
    pub next_review_on: Option<String>,
    pub updated_at: Timestamp,
}

/// A reviewer's decision on an entry.
#[derive(Clone, Debug)]
pub struct RegisterDecision {
    pub attribute: Attribute,
    pub reason: String,
    pub legal_basis: Option<String>,
    pub next_review_on: String,
}

impl super::Tx {
    /// Records what a submitted version says about its attribute: a
    /// non-public attribute enters (or updates) the register as proposed;
    /// a public one closes an existing entry.
    pub async fn register_submission(
        &mut self,
        id: ItemId,
        version: i64,
        content: &VersionContent,
        actor: UserId,
        now: Timestamp,
    ) -> Result<()> {
        let tx = self.conn();
        if content.attribute == Attribute::Public {
            let done = sqlx::query(
                "UPDATE register SET status = 'closed', updated_at = $1 WHERE item_id = $2 AND status <> 'closed'",
            )
            .bind(now.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() > 0 {
                audit::append(tx, Some(actor), "register.close", Some((id, version)), json!({})).await?;
            }
        } else {
            sqlx::query(
                "INSERT INTO register (item_id, attribute, reason, legal_basis, title, doc_number, issuer, proposed_by, \
                 proposed_at, status, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'proposed', $9) \
                 ON CONFLICT (item_id) DO UPDATE SET attribute = excluded.attribute, reason = excluded.reason, \
                 legal_basis = excluded.legal_basis, title = excluded.title, doc_number = excluded.doc_number, \
                 issuer = excluded.issuer, proposed_by = excluded.proposed_by, proposed_at = excluded.proposed_at, \
                 status = 'proposed', updated_at = excluded.updated_at",
            )
            .bind(id.to_string())
            .bind(content.attribute.as_str())
            .bind(content.attribute_reason.as_deref())
            .bind(content.legal_basis.as_deref())
            .bind(content.title.as_str())
            .bind(content.doc_number.as_deref())
            .bind(content.issuer.as_deref())
            .bind(actor.to_string())
            .bind(now.to_string())
            .execute(&mut *tx)
            .await?;
            audit::append(
                tx,
                Some(actor),
                "register.propose",
                Some((id, version)),
                json!({ "attribute": content.attribute.as_str(), "reason": content.attribute_reason,
                        "legal_basis": content.legal_basis }),
            )
            .await?;
        }
        Ok(())
    }
}

impl Db {
    /// A reviewer confirms or changes an entry and sets its next review.
    pub async fn register_decide(
        &self,
        id: ItemId,
        actor: UserId,
        decision: &RegisterDecision,
    ) -> Result<RegisterEntry> {
        let now = Timestamp::now();
        let mut tx = self.pool.begin().await?;
        let current = sqlx::query("SELECT attribute FROM register WHERE item_id = $1 AND status <> 'closed'")
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let before: String = current.try_get("attribute")?;
        let status = if before == decision.attribute.as_str() { "confirmed" } else { "changed" };
        sqlx::query(
            "UPDATE register SET attribute = $1, reason = $2, legal_basis = $3, status = $4, decided_by = $5, \
             decided_at = $6, next_review_on = $7, updated_at = $6 WHERE item_id = $8",
        )
        .bind(decision.attribute.as_str())
        .bind(decision.reason.as_str())
        .bind(decision.legal_basis.as_deref())
        .bind(status)
        .bind(actor.to_string())
        .bind(now.to_string())
        .bind(decision.next_review_on.as_str())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        let version = super::items::fetch_item(&mut tx, id).await?.current_version;
        audit::append(
            &mut tx,
            Some(actor),
            if status == "confirmed" { "register.confirm" } else { "register.change" },
            Some((id, version)),
            json!({ "from": before, "attribute": decision.attribute.as_str(), "reason": decision.reason,
                    "legal_basis": decision.legal_basis, "next_review_on": decision.next_review_on }),
        )
        .await?;
        tx.commit().await?;
        self.register_entry(id).await
    }

    pub async fn register_entry(&self, id: ItemId) -> Result<RegisterEntry> {
        let row = sqlx::query("SELECT * FROM register WHERE item_id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        entry_from_row(&row)
    }

    /// Entries, optionally of one attribute, optionally only those whose
    /// periodic review is due by `due_by` (`YYYY-MM-DD`), by item.
    pub async fn register(&self, attribute: Option<Attribute>, due_by: Option<&str>) -> Result<Vec<RegisterEntry>> {
        let rows = sqlx::query(
            "SELECT * FROM register WHERE status <> 'closed' AND ($1 = '' OR attribute = $1) \
             AND ($2 = '' OR next_review_on IS NULL OR next_review_on <= $2) ORDER BY proposed_at, item_id",
        )
        .bind(attribute.map_or("", |a| a.as_str()))
        .bind(due_by.unwrap_or(""))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }
}

fn entry_from_row(r: &AnyRow) -> Result<RegisterEntry> {
    let attribute: Attribute = parse_column("attribute", &r.try_get::<String, _>("attribute")?)?;
    let opt_user = |c: &str| -> Result<Option<UserId>> {
        r.try_get::<Option<String>, _>(c)?.map(|u| parse_column(c, &u)).transpose()
    };
    let decided_at: Option<String> = r.try_get("decided_at")?;
    Ok(RegisterEntry {
        item_id: parse_column("item_id", &r.try_get::<String, _>("item_id")?)?,
        attribute,
        reason: r.try_get("reason")?,
        legal_basis: r.try_get("legal_basis")?,
        title: r.try_get("title")?,
        doc_number: r.try_get("doc_number")?,
        issuer: r.try_get("issuer")?,
        proposed_by: parse_column("proposed_by", &r.try_get::<String, _>("proposed_by")?)?,
        proposed_at: parse_column("proposed_at", &r.try_get::<String, _>("proposed_at")?)?,
        status: r.try_get("status")?,
        decided_by: opt_user("decided_by")?,
        decided_at: decided_at.map(|t| parse_column("decided_at", &t)).transpose()?,
        next_review_on: r.try_get("next_review_on")?,
        updated_at: parse_column("updated_at", &r.try_get::<String, _>("updated_at")?)?,
    })
}
