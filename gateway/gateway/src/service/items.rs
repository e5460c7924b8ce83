//! Items' use cases: who may read and write an item, and submitting a
//! version for review.

use super::Error;
use super::workflow::{SealCheck, apply_in};
use crate::auth::{Duty, Principal};
use crate::model::{ItemId, ItemRecord, ItemState, StoredVersion, Timestamp, Transition};
use crate::review::{AttachmentFile, Phase, ReviewItem, Verdict};
use crate::state::AppState;
use crate::store::StoreError;
use crate::workflow::{Action, Next, StoredReview};

/// Who may read an item: whoever reads every item (reviewers, the
/// publication office, auditors, the system administrator), and a drafter
/// the items of their unit (or their own).
pub fn may_read(principal: &Principal, item: &ItemRecord) -> bool {
    principal.can(Duty::ReadAllItems) || may_edit(principal, item)
}

/// Who may write new versions: a drafter of the item's unit, or its author.
pub fn may_edit(principal: &Principal, item: &ItemRecord) -> bool {
    principal.can(Duty::Draft)
        && (item.created_by == principal.user_id || (item.unit_id.is_some() && item.unit_id == principal.unit_id))
}

/// The item, if `principal` may read it; otherwise "not found" (an item one
/// may not read does not reveal that it exists).
pub async fn readable(state: &AppState, principal: &Principal, id: ItemId) -> Result<ItemRecord, Error> {
    let item = match state.db.item(id).await {
        Err(StoreError::NotFound) => return Err(Error::NotFound("该事项")),
        other => other?,
    };
    if !may_read(principal, &item) {
        return Err(Error::NotFound("该事项"));
    }
    Ok(item)
}

/// Refuses unless `principal` may write new versions of `item`; `action`
/// names what they tried, for the refusal.
pub fn require_writable(principal: &Principal, item: &ItemRecord, action: &str) -> Result<(), Error> {
    if !may_edit(principal, item) {
        return Err(Error::Forbidden(format!("只有本单位的起草人可以{action}此事项。")));
    }
    Ok(())
}

/// The plugins' view of a stored version.
pub fn review_item(v: &StoredVersion) -> ReviewItem {
    let c = &v.content;
    ReviewItem {
        id: v.item_id.to_string(),
        version: u32::try_from(v.version).unwrap_or(u32::MAX),
        kind: c.kind.as_str().to_owned(),
        title: c.title.clone(),
        body: c.body.clone(),
        attribute: c.attribute.as_str().to_owned(),
        attribute_reason: c.attribute_reason.clone(),
        legal_basis: c.legal_basis.clone(),
        doc_number: c.doc_number.clone(),
        issuer: c.issuer.clone(),
        superior: c.superior.as_ref().map(|s| crate::review::SuperiorRef {
            doc_number: s.doc_number.clone(),
            issuer: s.issuer.clone(),
            attribute: s.attribute.as_str().to_owned(),
        }),
        channels: c.channels.clone(),
        attachments: c
            .attachments
            .iter()
            .map(|a| crate::review::Attachment {
                name: a.name.clone(),
                media_type: a.media_type.clone(),
                digest: a.digest.to_string(),
                size: u64::try_from(a.size).unwrap_or(0),
            })
            .collect(),
        formed_at: c.formed_at.clone(),
        // Sign-off and approvals are recorded by the review workflow, after
        // submission; at submission there are none yet.
        signoff: None,
        approvals: Vec::new(),
        flags: c.flags.clone(),
        content_digest: v.content_digest.to_string(),
    }
}

/// What a submission led to.
pub struct Submitted {
    pub item: ItemRecord,
    pub version: StoredVersion,
    pub review: StoredReview,
}

/// Submits `version` (which must be the current one) of `item` (which
/// the principal may read: [`readable`]), for review. The plugins run first, outside any
/// transaction; then one transaction stores their review, moves the item
/// (blocked on a blocking verdict, else in review), records the attribute
/// in the register (台账) and lets the workflow decide where the item goes
/// (its requirements: is there anyone who can review it? a standing veto?).
pub async fn submit(
    state: &AppState,
    principal: &Principal,
    item: ItemRecord,
    version: i64,
) -> Result<Submitted, Error> {
    let id = item.id;
    require_writable(principal, &item, "提交")?;
    let version = check_submittable(&item, state.db.version(id, version).await, version)?;
    let files = attachment_files(state, &version).await?;
    let outcome = state.pipeline.review_files_at(&review_item(&version), files, Some(Phase::Submit)).await;
    let now = Timestamp::now();
    let mut tx = state.db.begin().await?;
    tx.lock_item(id).await?;
    let item = tx.item(id).await?;
    check_submittable(&item, Ok(version.clone()), version.version)?;
    let to = if outcome.verdict == Verdict::Blocked { ItemState::Blocked } else { ItemState::InReview };
    let transition = Transition::new(item.state, to).map_err(|e| Error::Internal(e.to_string()))?;
    let (_, review) = tx.record_submission(&version, transition, &outcome, principal.user_id, now).await?;
    tx.register_submission(id, version.version, &version.content, principal.user_id, now).await?;
    let context = tx.workflow_context(id).await?;
    let applied = apply_in(&mut tx, state, &context, None, &Action::Recheck, SealCheck::Later, now).await?;
    tx.commit().await?;
    let item = if applied.next == Next::Complete && applied.seal_review.is_none() {
        // Nothing left to review (no stage applies): the seal-phase check
        // runs now, as after the last vote.
        super::workflow::act(state, id, None, |_, _| Ok(Action::Recheck)).await?.item
    } else {
        applied.item
    };
    Ok(Submitted { item, version, review })
}

/// The bytes of every attachment of `version`, in its order, for the review
/// to read. A listed attachment whose bytes are missing is an error, never
/// a review without it.
async fn attachment_files(state: &AppState, version: &StoredVersion) -> Result<Vec<AttachmentFile>, Error> {
    let mut files = Vec::with_capacity(version.content.attachments.len());
    for a in &version.content.attachments {
        let (_, bytes) = state.db.blob_content(&a.digest).await.map_err(|e| match e {
            StoreError::NotFound => Error::Internal(format!("附件 {} 的内容不在存储中", a.name)),
            other => other.into(),
        })?;
        files.push(AttachmentFile { name: a.name.clone(), media_type: a.media_type.clone(), bytes });
    }
    Ok(files)
}

/// The version may be submitted: it is the current one, the item is in a
/// submittable state and the content has what submission requires.
fn check_submittable(
    item: &ItemRecord,
    version: Result<StoredVersion, StoreError>,
    requested: i64,
) -> Result<StoredVersion, Error> {
    if requested != item.current_version {
        return Err(Error::Stale { expected: requested, current: item.current_version });
    }
    if !item.state.is_submittable() {
        return Err(Error::Conflict(format!("事项当前状态为“{}”，不能提交。", item.state.label())));
    }
    let version = version?;
    version.content.check_submittable().map_err(Error::Invalid)?;
    Ok(version)
}
