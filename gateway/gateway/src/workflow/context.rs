//! What the workflow decides on: an item's current version with its votes,
//! overrides, waivers and reviews ([`WorkflowContext`]), the actions people
//! take ([`Action`]) and what applying one led to ([`Applied`]). The store
//! loads and saves these; the decisions on them are this module's.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{Evaluation, Next, OverrideRecord, Snapshot, VoteRecord, VoteValue, WorkflowPolicy};
use crate::auth::Role;
use crate::model::{ItemId, ItemRecord, StoredVersion, Timestamp, UserId};
use crate::review::{Finding, ReviewOutcome, Severity};

/// One stored review run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredReview {
    pub id: String,
    pub item_id: ItemId,
    pub version: i64,
    pub content_digest: seal::ContentDigest,
    pub phase: String,
    pub policy_hash: String,
    pub outcome: ReviewOutcome,
    pub created_at: Timestamp,
    /// For a seal-phase review: the digest of the approval record it ran with.
    pub approvals_digest: Option<String>,
}

/// A waiver of a blocking finding as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct WaiverRecord {
    pub id: String,
    pub version: i64,
    pub content_digest: String,
    pub finding_id: String,
    pub rule_id: String,
    #[schema(value_type = String)]
    pub user_id: UserId,
    #[schema(value_type = String)]
    pub role: Role,
    pub reason: String,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
}

/// Everything known about an item's current version for the workflow.
#[derive(Clone, Debug)]
pub struct WorkflowContext {
    pub item: ItemRecord,
    pub version: StoredVersion,
    pub snapshot: Snapshot,
    /// The latest submit-phase review of the current version.
    pub submit_review: Option<StoredReview>,
    /// The latest seal-phase review of the current version.
    pub seal_review: Option<StoredReview>,
    pub waivers: Vec<WaiverRecord>,
    /// Changes whenever anything the evaluation depends on changes.
    pub fingerprint: String,
}

impl WorkflowContext {
    pub fn evaluate(&self, policy: &WorkflowPolicy) -> Evaluation {
        self.snapshot.evaluate(policy)
    }

    /// A waiver binds to the digest (it is about a finding in exactly this
    /// text) and, like every decision, lapses when its author has since
    /// created or edited a version of the item.
    fn is_waived(&self, finding: &Finding) -> bool {
        let id = super::finding_id(finding);
        self.waivers.iter().any(|w| w.finding_id == id && !self.snapshot.authors.contains(&w.user_id))
    }

    /// Blocking findings of the current version not waived: those of the
    /// submit-phase review, and of the seal-phase review when it was run
    /// with this approval record.
    pub fn unwaived_blocking(&self, approvals_digest: Option<&str>) -> Vec<&Finding> {
        let seal = self
            .seal_review
            .as_ref()
            .filter(|r| approvals_digest.is_some() && r.approvals_digest.as_deref() == approvals_digest);
        self.submit_review
            .iter()
            .chain(seal)
            .flat_map(|r| r.outcome.findings.iter())
            .filter(|f| f.severity == Severity::Block && !self.is_waived(f))
            .collect()
    }

    /// Every finding of the current version's reviews (submit, then seal).
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.submit_review.iter().chain(self.seal_review.iter()).flat_map(|r| r.outcome.findings.iter())
    }

    /// The context as it would be once `actor` took `action`, for deciding
    /// in advance whether the action completes the requirements.
    pub fn with_action(&self, actor: UserId, action: &Action) -> WorkflowContext {
        let mut next = self.clone();
        let digest = self.version.content_digest;
        match action {
            Action::Vote { id, at, stage, value, comment, signoff } => next.snapshot.votes.push(VoteRecord {
                id: id.clone(),
                version: self.version.version,
                digest,
                stage: stage.clone(),
                user: actor,
                value: *value,
                comment: comment.clone(),
                signoff: signoff.clone(),
                created_at: *at,
                lifted_at: None,
            }),
            Action::Override { id, at, stage, role, reason } => next.snapshot.overrides.push(OverrideRecord {
                id: id.clone(),
                version: self.version.version,
                digest,
                stage: stage.clone(),
                user: actor,
                role: *role,
                reason: reason.clone(),
                created_at: *at,
            }),
            Action::Waive { finding_id, rule_id, role, reason } => next.waivers.push(WaiverRecord {
                id: String::new(),
                version: self.version.version,
                content_digest: digest.to_string(),
                finding_id: finding_id.clone(),
                rule_id: rule_id.clone(),
                user_id: actor,
                role: *role,
                reason: reason.clone(),
                created_at: Timestamp::now(),
            }),
            Action::LiftVeto { vote_id, .. } => {
                for v in next.snapshot.votes.iter_mut().filter(|v| &v.id == vote_id) {
                    v.lifted_at = Some(Timestamp::now());
                }
            }
            Action::Recheck => {}
        }
        next
    }

    /// The approval record and its digest as they stand.
    pub fn approval_record(&self, evaluation: &Evaluation) -> (Value, String) {
        let waivers: Vec<(String, String, UserId)> = self
            .waivers
            .iter()
            .filter(|w| !self.snapshot.authors.contains(&w.user_id))
            .map(|w| (w.finding_id.clone(), w.rule_id.clone(), w.user_id))
            .collect();
        let record = super::approval_record(&self.snapshot, evaluation, &waivers);
        let digest = super::approvals_digest(&record).to_string();
        (record, digest)
    }
}

/// What a person does to an item in review.
#[derive(Clone, Debug)]
pub enum Action {
    /// `id` and `at` are chosen by the caller so that the approval record it
    /// evaluated in advance is byte for byte the one stored.
    Vote {
        id: String,
        at: Timestamp,
        stage: String,
        value: VoteValue,
        comment: Option<String>,
        signoff: Option<Value>,
    },
    Override {
        id: String,
        at: Timestamp,
        stage: String,
        role: Role,
        reason: String,
    },
    Waive {
        finding_id: String,
        rule_id: String,
        role: Role,
        reason: String,
    },
    LiftVeto {
        vote_id: String,
        reason: String,
    },
    /// Re-evaluate only (after a submission, a change of people, a sweep).
    Recheck,
}

impl Action {
    pub fn audit_action(&self) -> &'static str {
        match self {
            Action::Vote { .. } => "review.vote",
            Action::Override { .. } => "review.override",
            Action::Waive { .. } => "review.waive",
            Action::LiftVeto { .. } => "review.lift_veto",
            Action::Recheck => "review.recheck",
        }
    }
}

/// A seal-phase review run before the transaction, for the approval record
/// whose digest it names.
#[derive(Clone, Debug)]
pub struct PreparedSealReview {
    pub outcome: ReviewOutcome,
    pub approvals_digest: String,
}

/// What an applied action led to.
#[derive(Clone, Debug)]
pub struct Applied {
    pub item: ItemRecord,
    pub evaluation: Evaluation,
    pub next: Next,
    pub seal_review: Option<StoredReview>,
}
