//! The approved version: the only thing a seal can be made from.
//!
//! An [`ApprovedVersion`] has private fields and one constructor,
//! [`ApprovedVersion::certify`], which is `pub(crate)` and called only by
//! `store::seals` inside the sealing transaction, after the item row is
//! locked and the workflow context re-read. It checks that the item is
//! `approved`, that the version is the current one and its digest is the one
//! the sealer saw, that the approval record still hashes to the
//! `approvals_digest` of the stored seal-phase review, that this review ran
//! under the review policy in force, that no unwaived blocking finding stands
//! and that a sign-off is on record. `store::seals::seal_item` takes an
//! `ApprovedVersion` by value, so there is no code path from an unapproved
//! or changed version to a seal.
//!
//! Outside the crate it cannot be built at all:
//!
//! ```compile_fail
//! // Private fields: no struct literal…
//! let v = gateway::workflow::approved::ApprovedVersion { version: 1 };
//! ```
//!
//! ```compile_fail
//! // …and the constructor is crate-private.
//! fn forge(ctx: &gateway::workflow::WorkflowContext, p: &gateway::workflow::WorkflowPolicy) {
//!     let _ = gateway::workflow::approved::ApprovedVersion::certify(ctx, p, "sha256:00", "sha256:00");
//! }
//! ```
//!
//! This module decides; it does no IO.

use seal::{ContentDigest, Sha256};

use super::{Next, WorkflowPolicy};
use super::{StoredReview, WorkflowContext};
use crate::auth::Role;
use crate::model::{ItemId, ItemState, UserId, VersionContent};

/// Why a version may not be sealed (a 409 for the caller), in Chinese.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotApproved(pub String);

/// The pseudonymous sign-off a seal carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOffRef {
    /// The signer's user id (turned into a pseudonym for the manifest).
    pub user: UserId,
    /// The role's id, e.g. `approver`.
    pub role: String,
    pub statement: String,
    pub statement_version: u64,
}

/// A version that passed every requirement and the seal-phase check, as of
/// inside the sealing transaction. See the module documentation.
#[derive(Debug, Clone)]
pub struct ApprovedVersion {
    item_id: ItemId,
    version: i64,
    content: VersionContent,
    content_digest: ContentDigest,
    approvals_digest: Sha256,
    seal_review: StoredReview,
    sign_off: SignOffRef,
}

impl ApprovedVersion {
    /// Certifies the current version of `ctx` (loaded inside the sealing
    /// transaction after locking the item row) for sealing. `seen_digest`
    /// is the content digest the sealer looked at; `policy_hash` the review
    /// policy in force. If the policy changed since the seal-phase review,
    /// the caller re-runs the seal-phase plugins and stores the new review in
    /// the same transaction *before* calling this.
    pub(crate) fn certify(
        ctx: &WorkflowContext,
        policy: &WorkflowPolicy,
        seen_digest: ContentDigest,
        policy_hash: &str,
    ) -> Result<ApprovedVersion, NotApproved> {
        let refuse = |m: String| Err(NotApproved(m));
        if ctx.item.state != ItemState::Approved {
            return refuse(format!(
                "事项当前状态为“{}”，只有已批准的事项才能加盖信息公开专用章。",
                ctx.item.state.label()
            ));
        }
        if ctx.version.version != ctx.item.current_version {
            return refuse("事项的当前版本已变化，请重新审核。".into());
        }
        if ctx.version.content_digest != seen_digest {
            return refuse(format!(
                "事项内容已是第 {} 版（摘要 {}），与您确认的摘要不一致，不能加盖信息公开专用章。",
                ctx.version.version, ctx.version.content_digest
            ));
        }
        if ctx.version.content.digest() != ctx.version.content_digest {
            return refuse("事项内容与其摘要不一致，不能加盖信息公开专用章。".into());
        }
        let evaluation = ctx.evaluate(policy);
        if !evaluation.all_done() {
            return refuse("仍有审核环节未完成，不能加盖信息公开专用章。".into());
        }
        let (_, approvals_digest) = ctx.approval_record(&evaluation);
        let Some(review) = ctx.seal_review.as_ref() else {
            return refuse("没有加盖前检查的记录，不能加盖信息公开专用章。".into());
        };
        if review.approvals_digest.as_deref() != Some(approvals_digest.as_str()) {
            return refuse("审批记录在加盖前检查之后发生了变化，请重新审核。".into());
        }
        if review.policy_hash != policy_hash {
            return refuse("审核策略已变更，须按现行策略重新检查后再加盖信息公开专用章。".into());
        }
        if review.content_digest != ctx.version.content_digest || review.version != ctx.version.version {
            return refuse("加盖前检查针对的不是当前版本。".into());
        }
        let blocking = ctx.unwaived_blocking(Some(&approvals_digest));
        match super::next(&evaluation, &blocking) {
            Next::Complete => {}
            Next::Blocked(reasons) => return refuse(format!("不能加盖信息公开专用章：{}。", reasons.join("；"))),
            _ => return refuse("审核尚未完成，不能加盖信息公开专用章。".into()),
        }
        let Some(sign_off) = sign_off(ctx) else {
            return refuse("没有有效的签发记录，不能加盖信息公开专用章。".into());
        };
        let approvals_digest = approvals_digest
            .parse::<ContentDigest>()
            .map(Sha256::from)
            .map_err(|e| NotApproved(format!("审批记录摘要无效：{e}")))?;
        Ok(ApprovedVersion {
            item_id: ctx.item.id,
            version: ctx.version.version,
            content: ctx.version.content.clone(),
            content_digest: ctx.version.content_digest,
            approvals_digest,
            seal_review: review.clone(),
            sign_off,
        })
    }

    pub fn item_id(&self) -> ItemId {
        self.item_id
    }
    pub fn version(&self) -> i64 {
        self.version
    }
    pub fn content(&self) -> &VersionContent {
        &self.content
    }
    pub fn content_digest(&self) -> ContentDigest {
        self.content_digest
    }
    /// SHA-256 of the JCS approval record (`gov-disclosure/approvals@1`).
    pub fn approvals_digest(&self) -> Sha256 {
        self.approvals_digest
    }
    /// The seal-phase review this approval rests on (policy hash, plugins).
    pub fn seal_review(&self) -> &StoredReview {
        &self.seal_review
    }
    pub fn sign_off(&self) -> &SignOffRef {
        &self.sign_off
    }
}

/// The last sign-off vote on the current digest that still counts.
fn sign_off(ctx: &WorkflowContext) -> Option<SignOffRef> {
    let vote = ctx.snapshot.current_votes().rfind(|v| v.signoff.is_some())?;
    let s = vote.signoff.as_ref()?;
    // The vote records the role's label at the time; the manifest wants its id.
    let label = s["role"].as_str()?;
    let role = Role::ALL.iter().find(|r| r.label() == label || r.as_str() == label)?;
    Some(SignOffRef {
        user: vote.user,
        role: role.as_str().to_owned(),
        statement: s["statement_id"].as_str()?.to_owned(),
        statement_version: s["statement_version"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .or(s["statement_version"].as_u64())?,
    })
}
