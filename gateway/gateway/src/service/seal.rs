//! Sealing's use cases: seal an approved version (信息公开专用章), and anchor
//! the audit chain's head in a signed checkpoint.
//!
//! [`seal`] is one transaction: it locks the item and the log head, reads
//! the workflow context again, stores a fresh seal-phase review if the
//! review policy changed, has `workflow::approved` certify the version,
//! takes the active key, numbers the seal, builds and signs the manifest
//! (`sealing`), and stores the seal, its log leaf, the item's move to
//! `sealed`, the audit events, the outbox row and the signed checkpoint
//! that anchors the audit head, all through the store's [`Tx`].

use seal::ContentDigest;

use super::Error;
use crate::auth::Principal;
use crate::model::{ItemId, ItemState, Timestamp};
use crate::review::Verdict;
use crate::sealing::SealParams;
use crate::state::AppState;
use crate::store::{NewSeal, SealRecord, StoreError, Tx};
use crate::workflow::approved::ApprovedVersion;

/// Why a seal could not be made with the configured keys; the cause goes
/// to the log, the person reads that the configuration is wrong.
fn no_seal_key(item: ItemId, why: impl std::fmt::Display) -> Error {
    tracing::error!(item = %item, "cannot seal: {why}");
    Error::Conflict("专用章密钥或机构代码配置有误，暂不能加盖信息公开专用章（详见网关日志），请联系安全管理员。".into())
}

/// Refuses unless `principal` may seal at all: the seal custodian's duty,
/// never an administrator's.
pub fn may_seal(principal: &Principal) -> Result<(), Error> {
    if principal.is_administrator() {
        return Err(Error::Forbidden(
            "系统管理员、安全管理员和审计管理员不能加盖信息公开专用章（管理与发布职责分离）。".into(),
        ));
    }
    if !principal.can(crate::auth::Duty::Seal) {
        let names: Vec<&str> = crate::auth::Role::with_duty(crate::auth::Duty::Seal).map(|r| r.label()).collect();
        return Err(Error::Forbidden(format!("此操作需要以下角色之一：{}。", names.join("、"))));
    }
    Ok(())
}

/// Seals the approved current version of an item (政务公开办公室 only;
/// never its drafter or editor, never an administrator). `content_digest`
/// is what the sealer saw; `not_before` (seconds) delays publication.
pub async fn seal(
    state: &AppState,
    principal: &Principal,
    id: ItemId,
    content_digest: ContentDigest,
    not_before: Option<u64>,
) -> Result<SealRecord, Error> {
    may_seal(principal)?;
    let ctx = state.db.workflow_context(id).await?;
    if ctx.snapshot.authors.contains(&principal.user_id) {
        return Err(Error::Forbidden(
            "您起草或修改过该事项，不能为其加盖信息公开专用章（起草与发布职责分离）。".into(),
        ));
    }
    // If the review policy changed since the seal-phase check, the
    // seal-phase plugins run again now, outside the transaction.
    let prepared = if ctx.item.state == ItemState::Approved {
        super::workflow::prepare_seal_review(state, &ctx).await
    } else {
        None
    };
    let policy_hash = state.pipeline.policy_hash();
    let now = Timestamp::now();
    let mut tx = state.db.begin().await?;
    // The item's write lock first, then the log head, before anything
    // appends to the audit chain (items, tlog_head, audit_head: the order
    // of every transaction).
    tx.lock_item(id).await?;
    let mut ctx = tx.workflow_context(id).await?;
    let log_index = tx.lock_log().await?;
    if let Some(p) = &prepared {
        // The review policy changed since the seal-phase review: the
        // plugins ran again with the same approvals; a block refuses.
        if p.outcome.verdict == Verdict::Blocked {
            return Err(Error::Conflict(
                "按现行审核策略重新进行的加盖前检查发现阻断级问题，不能加盖信息公开专用章。".into(),
            ));
        }
        if p.outcome.policy_hash != policy_hash {
            return Err(StoreError::Moved.into());
        }
        let why = "policy changed since the seal-phase review";
        ctx.seal_review = Some(tx.record_seal_review(&ctx, p, Some(why), now).await?);
    }
    let approved = ApprovedVersion::certify(&ctx, &state.workflow, content_digest, &policy_hash)
        .map_err(|e| Error::Conflict(e.0))?;
    let record = seal_in(&mut tx, state, &approved, principal, log_index, not_before, now).await?;
    tx.commit().await?;
    state.wake_delivery().await;
    tracing::info!(serial = %record.serial, item = %id, kid = %record.kid, "sealed");
    Ok(record)
}

/// The seal numbered `serial` with its item, for a person who may read
/// the item; "not found" to anyone else (the serial reveals nothing more).
pub async fn seal_of_readable_item(
    state: &AppState,
    principal: &Principal,
    serial: &str,
) -> Result<(SealRecord, crate::model::ItemRecord), Error> {
    let (seal, _) = state.db.seal_by_serial(serial).await.map_err(|e| match e {
        StoreError::NotFound => Error::NotFound("该信息公开专用章"),
        other => other.into(),
    })?;
    let item = super::items::readable(state, principal, seal.item_id)
        .await
        .map_err(|_| Error::NotFound("该信息公开专用章"))?;
    Ok((seal, item))
}

/// Numbers, signs and stores the seal of `approved`, then the checkpoint
/// of the grown log (last, so that it anchors this transaction's events).
async fn seal_in(
    tx: &mut Tx,
    state: &AppState,
    approved: &ApprovedVersion,
    principal: &Principal,
    log_index: i64,
    not_before: Option<u64>,
    now: Timestamp,
) -> Result<SealRecord, Error> {
    let id = approved.item_id();
    let keys = &state.seal_keys;
    let key = tx.active_seal_key().await?.ok_or_else(|| no_seal_key(id, "no active seal key"))?;
    if let Some(problem) = keys.org_code_problem(&key) {
        return Err(no_seal_key(id, problem));
    }
    let signer = keys.signer_for(&key).map_err(|e| no_seal_key(id, e))?;
    let sealed_at = u64::try_from(now.as_offset().unix_timestamp()).unwrap_or(0);
    let year = now.as_offset().to_offset(time::UtcOffset::from_hms(8, 0, 0).expect("UTC+8")).year();
    let serial = format!("{}-{year}-{:06}", keys.org_code(), tx.next_seal_number(year).await?);
    let supersedes = tx.seal_in_force(id).await?;
    let params = SealParams {
        serial: serial.clone(),
        sealed_at,
        not_before: not_before.unwrap_or(sealed_at),
        supersedes: supersedes.clone(),
        signer: signer.as_ref(),
    };
    let manifest = crate::sealing::manifest(approved, &params).map_err(Error::Conflict)?;
    let made = seal::sign(&manifest, signer.as_ref()).map_err(|e| no_seal_key(id, format!("signing failed: {e}")))?;
    tx.record_seal(
        &NewSeal {
            approved,
            serial: &serial,
            key: &key,
            made: &made,
            supersedes: supersedes.as_deref(),
            log_index,
            sealed_at,
            not_before: params.not_before,
            sealer: principal.user_id,
        },
        now,
    )
    .await?;
    let size = log_index + 1;
    let leaves = tx.log_leaves(size).await?;
    let head = tx.audit_head().await?;
    let note = crate::sealing::sign_anchor(keys, leaves.len() as u64, seal::tlog::root(&leaves), &head)
        .map_err(|e| no_seal_key(id, e))?;
    tx.record_checkpoint(size, seal::tlog::root(&leaves), &note, &head, now).await?;
    Ok(tx.seal(&serial).await?)
}

/// Signs a checkpoint that anchors the audit chain's head, unless the
/// newest anchor already covers it (the periodic task: the chain moves
/// without a seal — logins, votes, deliveries). Serialised with sealing by
/// the log head's lock. Appends no audit event (that would move the head
/// it anchors). Returns the events now anchored, if it signed.
pub async fn anchor_audit_head(state: &AppState) -> Result<Option<i64>, Error> {
    let now = Timestamp::now();
    let mut tx = state.db.begin().await?;
    let size = tx.lock_log().await?;
    let head = tx.audit_head().await?;
    if tx.newest_anchor().await?.is_some_and(|n| n >= head.events) {
        return Ok(None);
    }
    let root = tx.log_root(size).await?;
    let note = crate::sealing::sign_anchor(&state.seal_keys, u64::try_from(size).unwrap_or(0), root, &head)
        .map_err(|e| Error::Internal(format!("cannot sign the audit anchor: {e}")))?;
    tx.record_anchor(&head, size, &note, now).await?;
    tx.commit().await?;
    Ok(Some(head.events))
}
