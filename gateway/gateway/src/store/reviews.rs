//! Results of the review pipeline, per item version and phase.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, Result, StoreError, audit, from_json_text, json_text, parse_column};
use crate::model::{ItemId, Timestamp, UserId};
use crate::review::ReviewOutcome;
use crate::workflow::StoredReview;

impl Db {
    /// Review runs of an item, oldest first; of one version if given.
    pub async fn reviews(&self, id: ItemId, version: Option<i64>) -> Result<Vec<StoredReview>> {
        let rows = match version {
            Some(v) => {
                sqlx::query("SELECT * FROM reviews WHERE item_id = $1 AND version = $2 ORDER BY created_at, id")
                    .bind(id.to_string())
                    .bind(v)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("SELECT * FROM reviews WHERE item_id = $1 ORDER BY created_at, id")
                    .bind(id.to_string())
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(review_from_row).collect()
    }
}

impl super::Tx {
    /// Stores the review of a submitted version and moves the item along
    /// `transition` (chosen by the caller from the verdict), with the
    /// `item.submit` event; the version must still be current.
    pub async fn record_submission(
        &mut self,
        version: &crate::model::StoredVersion,
        transition: crate::model::Transition,
        outcome: &ReviewOutcome,
        actor: UserId,
        now: Timestamp,
    ) -> Result<(crate::model::ItemRecord, StoredReview)> {
        let (id, content_digest) = (version.item_id, &version.content_digest);
        let (from, to) = (transition.from(), transition.to());
        let version = version.version;
        let item = super::items::transition_in(self.conn(), id, version, &[from], to, now).await?;
        let review = insert_review(self.conn(), id, version, content_digest, "submit", outcome, None, now).await?;
        let counts = |s: crate::review::Severity| outcome.findings.iter().filter(|f| f.severity == s).count();
        audit::append(
            self.conn(),
            Some(actor),
            "item.submit",
            Some((id, version)),
            serde_json::json!({
                "content_digest": content_digest,
                "review_id": review.id,
                "policy_hash": outcome.policy_hash,
                "verdict": outcome.verdict,
                "findings": {
                    "block": counts(crate::review::Severity::Block),
                    "warn": counts(crate::review::Severity::Warn),
                    "info": counts(crate::review::Severity::Info),
                },
                "state": to.as_str(),
            }),
        )
        .await?;
        Ok((item, review))
    }
}

#[allow(clippy::too_many_arguments)] // one column each; a struct would only rename them
pub(super) async fn insert_review(
    conn: &mut sqlx::AnyConnection,
    id: ItemId,
    version: i64,
    content_digest: &seal::ContentDigest,
    phase: &str,
    outcome: &ReviewOutcome,
    approvals_digest: Option<&str>,
    now: Timestamp,
) -> Result<StoredReview> {
    let review_id = format!("rev_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(
        "INSERT INTO reviews (id, item_id, version, content_digest, phase, policy_hash, verdict, outcome, created_at, \
         approvals_digest) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(review_id.as_str())
    .bind(id.to_string())
    .bind(version)
    .bind(content_digest.to_string())
    .bind(phase)
    .bind(outcome.policy_hash.as_str())
    .bind(outcome.verdict.as_str())
    .bind(json_text(outcome))
    .bind(now.to_string())
    .bind(approvals_digest)
    .execute(&mut *conn)
    .await?;
    Ok(StoredReview {
        id: review_id,
        item_id: id,
        version,
        content_digest: *content_digest,
        phase: phase.to_owned(),
        policy_hash: outcome.policy_hash.clone(),
        outcome: outcome.clone(),
        created_at: now,
        approvals_digest: approvals_digest.map(str::to_owned),
    })
}

pub(super) fn review_from_row(row: &AnyRow) -> Result<StoredReview> {
    let outcome: ReviewOutcome = from_json_text("outcome", &row.try_get::<String, _>("outcome")?)?;
    let verdict: String = row.try_get("verdict")?;
    if verdict != outcome.verdict.as_str() {
        return Err(StoreError::Corrupt(format!("review verdict {verdict} disagrees with its outcome")));
    }
    Ok(StoredReview {
        id: row.try_get("id")?,
        item_id: parse_column("item_id", &row.try_get::<String, _>("item_id")?)?,
        version: row.try_get("version")?,
        content_digest: parse_column("content_digest", &row.try_get::<String, _>("content_digest")?)?,
        phase: row.try_get("phase")?,
        policy_hash: row.try_get("policy_hash")?,
        outcome,
        created_at: parse_column("created_at", &row.try_get::<String, _>("created_at")?)?,
        approvals_digest: row.try_get("approvals_digest")?,
    })
}
