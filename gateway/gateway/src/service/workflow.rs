//! The review workflow's use cases: vote (with the 终审 sign-off), override
//! a stage, waive a blocking finding, lift a veto, recheck, reject, claim.
//!
//! Each one loads the item's [`WorkflowContext`], asks `workflow` whether
//! the actor may act and whether now is the time (who may act comes first:
//! 403, then the state: 409), and applies the resulting [`Action`] through
//! [`apply`]: one transaction that locks the item, re-reads it, checks that
//! nothing moved since the decision (the context's fingerprint), records
//! the action, evaluates the requirements again, moves the item along the
//! state machine and adds the notifications. When an action completes
//! every requirement, the seal-phase plugins run first (outside the
//! transaction), with the approval record and sign-off filled in.

use seal::ContentDigest;
use serde_json::{Value, json};

use super::Error;
use crate::auth::{Principal, Role};
use crate::model::{ItemId, ItemRecord, ItemState, Reason, Timestamp, Transition};
use crate::review::{Approval, Phase, Severity, Signoff};
use crate::state::AppState;
use crate::store::StoreError;
use crate::workflow::{
    self, ACTIVE, Action, Applied, Evaluation, Next, PreparedSealReview, Stage, Status, VoteValue, WorkflowContext,
};

/// How often an action is decided again when the item moved meanwhile.
const ATTEMPTS: usize = 5;

/// Runs `decide` against a fresh context and applies the action it returns;
/// repeats when something moved in between. `decide` holds every check.
pub async fn act(
    state: &AppState,
    id: ItemId,
    actor: Option<&Principal>,
    decide: impl Fn(&WorkflowContext, &Evaluation) -> Result<Action, Error>,
) -> Result<Applied, Error> {
    for _ in 0..ATTEMPTS {
        let ctx = state.db.workflow_context(id).await?;
        let evaluation = ctx.evaluate(&state.workflow);
        let action = decide(&ctx, &evaluation)?;
        let prepared = match actor {
            Some(p) => prepare_seal_review(state, &ctx.with_action(p.user_id, &action)).await,
            None => prepare_seal_review(state, &ctx).await,
        };
        match apply(state, id, &ctx.fingerprint, actor.map(|p| p.user_id), &action, prepared.as_ref()).await {
            Err(Error::Store(StoreError::Moved)) => continue,
            result => return result,
        }
    }
    Err(Error::Conflict("事项正在被多人同时处理，请稍后重试。".into()))
}

/// Applies one action in one transaction (see the module doc). Answers
/// `StoreError::Moved` when something changed since `expected_fingerprint`.
async fn apply(
    state: &AppState,
    id: ItemId,
    expected_fingerprint: &str,
    actor: Option<crate::model::UserId>,
    action: &Action,
    prepared: Option<&PreparedSealReview>,
) -> Result<Applied, Error> {
    let now = Timestamp::now();
    let mut tx = state.db.begin().await?;
    tx.lock_item(id).await?;
    let before = tx.workflow_context(id).await?;
    if before.fingerprint != expected_fingerprint {
        return Err(StoreError::Moved.into());
    }
    let applied = apply_in(&mut tx, state, &before, actor, action, SealCheck::Prepared(prepared), now).await?;
    tx.commit().await?;
    Ok(applied)
}

/// What [`apply_in`] does when the action completes every requirement.
pub(super) enum SealCheck<'a> {
    /// Use this seal-phase review (run for the approval record before the
    /// transaction); if it is missing or for another record, `Moved`.
    Prepared(Option<&'a PreparedSealReview>),
    /// Leave the item in review; the caller runs the check after the commit
    /// ([`Applied::next`] says `Complete`).
    Later,
}

/// Records `action` on `before` (the context read under the item's lock),
/// evaluates again and moves the item, inside the caller's transaction.
pub(super) async fn apply_in(
    tx: &mut crate::store::Tx,
    state: &AppState,
    before: &WorkflowContext,
    actor: Option<crate::model::UserId>,
    action: &Action,
    seal_check: SealCheck<'_>,
    now: Timestamp,
) -> Result<Applied, Error> {
    let id = before.item.id;
    tx.record_action(before, actor, action, now).await?;

    let context = tx.workflow_context(id).await?;
    let evaluation = context.evaluate(&state.workflow);
    let mut seal_review = None;
    let mut next = workflow::next(&evaluation, &context.unwaived_blocking(None));
    if next == Next::Complete {
        let (_, approvals_digest) = context.approval_record(&evaluation);
        let existing = context.seal_review.clone().filter(|r| {
            r.approvals_digest.as_deref() == Some(approvals_digest.as_str())
                && match &seal_check {
                    SealCheck::Prepared(prepared) => prepared.is_none_or(|p| p.outcome.policy_hash == r.policy_hash),
                    SealCheck::Later => true,
                }
        });
        let review = match (existing, &seal_check) {
            (Some(r), _) => Some(r),
            (None, SealCheck::Prepared(Some(p))) if p.approvals_digest == approvals_digest => {
                Some(tx.record_seal_review(&context, p, None, now).await?)
            }
            (None, SealCheck::Later) => None,
            // The approval record differs from the one the check ran
            // with: decide again.
            (None, SealCheck::Prepared(_)) => return Err(StoreError::Moved.into()),
        };
        if let Some(review) = review {
            let mut with_seal = context.clone();
            with_seal.seal_review = Some(review.clone());
            next = workflow::next(&evaluation, &with_seal.unwaived_blocking(Some(&approvals_digest)));
            seal_review = Some(review);
        }
    }
    // Complete without a seal-phase review yet (`SealCheck::Later`): stays
    // in review until the caller's check.
    let to = if next == Next::Complete && seal_review.is_none() { ItemState::InReview } else { next.state() };
    let from = context.item.state;
    let item = if ACTIVE.contains(&from) && to != from {
        let transition = Transition::new(from, to).map_err(|e| Error::Internal(e.to_string()))?;
        let reasons = match &next {
            Next::Blocked(r) => r.clone(),
            _ => Vec::new(),
        };
        let version = context.version.version;
        tx.move_item(id, version, transition, None, json!({ "reasons": reasons }), now).await?
    } else {
        context.item.clone()
    };
    if ACTIVE.contains(&item.state) || item.state == ItemState::Approved {
        let admins = tx.users_with_roles(&[Role::Admin, Role::SecurityAdmin]).await?;
        let mut names = std::collections::BTreeMap::new();
        for vote in context.snapshot.votes.iter().filter(|v| v.value != workflow::VoteValue::Approve) {
            if let std::collections::btree_map::Entry::Vacant(name) = names.entry(vote.user) {
                name.insert(tx.display_name(vote.user).await?);
            }
        }
        let sealers = if item.state == ItemState::Approved {
            let roles: Vec<Role> = Role::with_duty(crate::auth::Duty::Seal).collect();
            tx.users_with_roles(&roles).await?
        } else {
            Vec::new()
        };
        let people = workflow::Addressees { admins: &admins, sealers: &sealers, names: &names };
        for notice in workflow::notices(&context, &evaluation, &item, &people) {
            tx.notify(&notice, now).await?;
        }
    }
    Ok(Applied { item, evaluation, next, seal_review })
}

/// If the context completes every requirement, runs the seal-phase plugins
/// with the approval record and sign-off, unless a run for the same record
/// and policy is on file.
pub async fn prepare_seal_review(state: &AppState, ctx: &WorkflowContext) -> Option<PreparedSealReview> {
    let evaluation = ctx.evaluate(&state.workflow);
    if workflow::next(&evaluation, &ctx.unwaived_blocking(None)) != Next::Complete {
        return None;
    }
    let (_, approvals_digest) = ctx.approval_record(&evaluation);
    let policy_hash = state.pipeline.policy_hash();
    if ctx.seal_review.as_ref().is_some_and(|r| {
        r.approvals_digest.as_deref() == Some(approvals_digest.as_str()) && r.policy_hash == policy_hash
    }) {
        return None;
    }
    let mut item = super::items::review_item(&ctx.version);
    let digest = ctx.version.content_digest.to_string();
    for r in evaluation.requirements.iter().filter(|r| r.status == Status::Satisfied) {
        for user in &r.approved_by {
            item.approvals.push(Approval {
                stage: r.stage.clone(),
                reviewer: user.to_string(),
                digest: digest.clone(),
            });
        }
    }
    item.signoff = ctx.snapshot.current_votes().filter_map(|v| v.signoff.as_ref()).next_back().map(|s| Signoff {
        name: s["name"].as_str().unwrap_or_default().to_owned(),
        title: s["role"].as_str().unwrap_or_default().to_owned(),
        statement_accepted: true,
        statement_version: s["statement_version"].as_str().map(str::to_owned),
        accepted_at: s["at"].as_str().map(str::to_owned),
    });
    let outcome = state.pipeline.review_at(&item, Some(Phase::Seal)).await;
    Some(PreparedSealReview { outcome, approvals_digest })
}

/// The stage of the policy named `name` (422 if there is none).
pub fn stage_named(state: &AppState, name: &str) -> Result<Stage, Error> {
    state.workflow.stage(name).cloned().ok_or_else(|| Error::invalid("stage", format!("审核环节 {name:?} 不存在")))
}

fn require_digest(ctx: &WorkflowContext, seen: ContentDigest) -> Result<(), Error> {
    if ctx.version.content_digest != seen {
        return Err(Error::Conflict(format!(
            "事项内容已更新为第 {} 版（摘要 {}），您审阅的不是当前版本，请重新审阅后再操作。",
            ctx.version.version, ctx.version.content_digest
        )));
    }
    Ok(())
}

fn require_state(ctx: &WorkflowContext, allowed: &[ItemState]) -> Result<(), Error> {
    if !allowed.contains(&ctx.item.state) {
        return Err(Error::Conflict(format!("事项当前状态为“{}”，不能执行此操作。", ctx.item.state.label())));
    }
    Ok(())
}

/// A reason for `what` (e.g. 拦截), parsed once: 422 on the `reason` field.
pub fn reason(text: Option<&str>, what: &str) -> Result<Reason, Error> {
    Reason::parse(text, what).map_err(|p| Error::Invalid(vec![p]))
}

/// No admin acts in review, and nobody acts on what they drafted or edited.
fn separate_from_authorship(ctx: &WorkflowContext, principal: &Principal) -> Result<(), Error> {
    if principal.is_administrator() {
        return Err(Error::Forbidden("系统管理员、安全管理员和审计管理员不能参与审核（管理与审核职责分离）".into()));
    }
    if ctx.snapshot.authors.contains(&principal.user_id) {
        return Err(Error::Forbidden("您起草或修改过该事项，不能审核自己经手的内容（起草与审核职责分离）".into()));
    }
    Ok(())
}

/// A vote whose fields were checked; what remains is the step-up of a
/// sign-off (the caller's credentials) and the workflow's decision.
pub struct VoteDraft {
    pub stage: Stage,
    pub value: VoteValue,
    pub content_digest: ContentDigest,
    comment: Option<String>,
}

impl VoteDraft {
    /// Checks the stage, the reason a send-back or block needs, and for a
    /// sign-off that the statement accepted is the current one.
    pub fn new(
        state: &AppState,
        stage: &str,
        value: VoteValue,
        content_digest: ContentDigest,
        comment: Option<&str>,
        statement: (Option<&str>, Option<&str>),
    ) -> Result<VoteDraft, Error> {
        let stage = stage_named(state, stage)?;
        let comment = match value {
            VoteValue::Approve => comment.map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned),
            VoteValue::Changes => Some(reason(comment, "要求修改")?.into_string()),
            VoteValue::Block => Some(reason(comment, "拦截")?.into_string()),
        };
        if stage.signoff && value == VoteValue::Approve {
            let st = &state.workflow.statement;
            if statement.0 != Some(st.id.as_str()) || statement.1 != Some(st.version.as_str()) {
                return Err(Error::invalid(
                    "statement_version",
                    format!("签发须确认当前版本的责任声明（{} 第 {} 版），请阅读后重新确认", st.id, st.version),
                ));
            }
        }
        Ok(VoteDraft { stage, value, content_digest, comment })
    }

    /// Whether this vote is a sign-off, which needs the signatory's
    /// password and TOTP again before [`vote`].
    pub fn needs_step_up(&self) -> bool {
        self.stage.signoff && self.value == VoteValue::Approve
    }
}

/// Votes on a stage: approve, request changes, or block. A sign-off
/// (`draft.needs_step_up()`) must have passed its step-up.
pub async fn vote(state: &AppState, principal: &Principal, id: ItemId, draft: VoteDraft) -> Result<Applied, Error> {
    let VoteDraft { stage, value, content_digest, comment } = draft;
    let signoff: Option<Value> = (stage.signoff && value == VoteValue::Approve).then(|| {
        let st = &state.workflow.statement;
        let role = stage.roles.iter().find(|r| principal.has_role(**r)).map_or("", |r| r.label());
        json!({
            "statement_id": st.id,
            "statement_version": st.version,
            "text_digest": seal::ContentDigest::of(st.text.as_bytes()).to_string(),
            "name": principal.display_name,
            "role": role,
            "at": Timestamp::now().to_string(),
            "step_up": "password+totp",
        })
    });
    let vote_id = uuid::Uuid::now_v7().to_string();
    let at = Timestamp::now();
    act(state, id, Some(principal), |ctx, evaluation| {
        // Who may act comes first (403), then whether now is the time (409).
        ctx.snapshot
            .eligibility(&state.workflow, &stage, principal.user_id, &principal.roles, principal.unit_id)
            .map_err(|r| Error::Forbidden(r.0))?;
        require_digest(ctx, content_digest)?;
        require_state(ctx, &[ItemState::InReview])?;
        let requirement = evaluation.requirement(&stage.id).expect("every policy stage is evaluated");
        if requirement.status == Status::NotApplicable {
            return Err(Error::Conflict(format!("“{}”环节不适用于此事项。", stage.label)));
        }
        if ctx.snapshot.current_votes().any(|v| v.stage == stage.id && v.user == principal.user_id) {
            return Err(Error::Conflict(format!("您已对本版本的“{}”环节表决。", stage.label)));
        }
        if !requirement.open {
            let waiting: Vec<&str> = evaluation
                .requirements
                .iter()
                .filter(|r| !r.status.is_done() && r.stage != stage.id)
                .filter(|r| stage.after.contains(&r.stage) || (stage.signoff && !r.signoff))
                .map(|r| r.label.as_str())
                .collect();
            return Err(Error::Conflict(format!("“{}”环节尚未开始：需先完成 {}。", stage.label, waiting.join("、"))));
        }
        if requirement.status != Status::Pending {
            return Err(Error::Conflict(format!(
                "“{}”环节当前为“{}”，不能再表决。",
                stage.label,
                requirement.status.label()
            )));
        }
        Ok(Action::Vote {
            id: vote_id.clone(),
            at,
            stage: stage.id.clone(),
            value,
            comment: comment.clone(),
            signoff: signoff.clone(),
        })
    })
    .await
}

/// Marks a stage OVERRIDDEN (never 保密审查), by a role the policy names
/// for it, with a reason.
pub async fn override_stage(
    state: &AppState,
    principal: &Principal,
    id: ItemId,
    stage: &str,
    content_digest: ContentDigest,
    reason_text: &str,
) -> Result<Applied, Error> {
    let stage = stage_named(state, stage)?;
    if stage.veto {
        return Err(Error::Forbidden(format!("“{}”不能被越级通过：保密审查意见只能由审查人本人改变。", stage.label)));
    }
    let role = *stage.override_roles.iter().find(|r| principal.has_role(**r)).ok_or_else(|| {
        let names: Vec<&str> = stage.override_roles.iter().map(|r| r.label()).collect();
        Error::Forbidden(if names.is_empty() {
            format!("“{}”环节不允许越级通过。", stage.label)
        } else {
            format!("越级通过“{}”需要以下角色之一：{}。", stage.label, names.join("、"))
        })
    })?;
    let reason = reason(Some(reason_text), "越级通过")?;
    let override_id = uuid::Uuid::now_v7().to_string();
    let at = Timestamp::now();
    act(state, id, Some(principal), |ctx, evaluation| {
        require_state(ctx, &[ItemState::InReview, ItemState::Blocked])?;
        require_digest(ctx, content_digest)?;
        separate_from_authorship(ctx, principal)?;
        let requirement = evaluation.requirement(&stage.id).expect("every policy stage is evaluated");
        if !matches!(requirement.status, Status::Pending | Status::Blocked) {
            return Err(Error::Conflict(format!(
                "“{}”环节当前为“{}”，无需越级通过。",
                stage.label,
                requirement.status.label()
            )));
        }
        Ok(Action::Override {
            id: override_id.clone(),
            at,
            stage: stage.id.clone(),
            role,
            reason: reason.as_str().to_owned(),
        })
    })
    .await
}

/// Waives one blocking finding of the current version, by the role the
/// policy names for its rule family, with a reason.
pub async fn waive(
    state: &AppState,
    principal: &Principal,
    id: ItemId,
    finding_id: &str,
    content_digest: ContentDigest,
    reason_text: &str,
) -> Result<Applied, Error> {
    let reason = reason(Some(reason_text), "豁免")?;
    act(state, id, Some(principal), |ctx, _| {
        // Which finding (404), who may waive it (403), then whether now is
        // the time (409), as every action checks.
        let finding = ctx
            .findings()
            .find(|f| f.severity == Severity::Block && workflow::finding_id(f) == finding_id)
            .ok_or(Error::NotFound("该阻断级问题"))?;
        let roles = state.workflow.waiver_roles(&finding.rule_id);
        if roles.is_empty() {
            return Err(Error::Forbidden(format!("{} 类问题不能豁免，必须整改。", finding.rule_id)));
        }
        let role = *roles.iter().find(|r| principal.has_role(**r)).ok_or_else(|| {
            let names: Vec<&str> = roles.iter().map(|r| r.label()).collect();
            Error::Forbidden(format!("豁免 {} 类问题需要以下角色之一：{}。", finding.rule_id, names.join("、")))
        })?;
        separate_from_authorship(ctx, principal)?;
        require_state(ctx, &[ItemState::InReview, ItemState::Blocked])?;
        require_digest(ctx, content_digest)?;
        Ok(Action::Waive {
            finding_id: finding_id.to_owned(),
            rule_id: finding.rule_id.clone(),
            role,
            reason: reason.as_str().to_owned(),
        })
    })
    .await
}

/// Lifts one's own block vote (a 保密 veto stays until its author does).
pub async fn lift_veto(
    state: &AppState,
    principal: &Principal,
    id: ItemId,
    vote_id: &str,
    reason_text: &str,
) -> Result<Applied, Error> {
    let reason = reason(Some(reason_text), "撤销拦截")?;
    act(state, id, Some(principal), |ctx, _| {
        let vote = ctx
            .snapshot
            .votes
            .iter()
            .find(|v| v.id == vote_id && v.value == VoteValue::Block && v.lifted_at.is_none())
            .ok_or(Error::NotFound("该拦截意见"))?;
        if vote.user != principal.user_id {
            return Err(Error::Forbidden("只有作出拦截的审核人本人可以撤销拦截意见。".into()));
        }
        Ok(Action::LiftVeto { vote_id: vote_id.to_owned(), reason: reason.as_str().to_owned() })
    })
    .await
}

/// Re-evaluates an item's requirements now (after people or roles changed;
/// the sweeper does it for every active item).
pub async fn recheck(state: &AppState, id: ItemId) -> Result<Applied, Error> {
    act(state, id, None, |ctx, _| {
        require_state(ctx, ACTIVE)?;
        Ok(Action::Recheck)
    })
    .await
}

/// Rejects a blocked item: it will not be published (不予发布).
pub async fn reject(
    state: &AppState,
    principal: &Principal,
    id: ItemId,
    version: i64,
    reason_text: &str,
) -> Result<(ItemRecord, WorkflowContext), Error> {
    let reason = reason(Some(reason_text), "否决")?;
    let ctx = state.db.workflow_context(id).await?;
    separate_from_authorship(&ctx, principal)?;
    let item = state.db.reject_item(id, version, principal.user_id, reason.as_str()).await?;
    Ok((item, ctx))
}

/// Claims a stage ("I am reviewing this").
pub async fn claim(state: &AppState, principal: &Principal, id: ItemId, stage: &str) -> Result<(), Error> {
    let stage = state.workflow.stage(stage).ok_or(Error::NotFound("该审核环节"))?;
    let ctx = state.db.workflow_context(id).await?;
    // Who may act comes first (403), then whether now is the time (409).
    ctx.snapshot
        .eligibility(&state.workflow, stage, principal.user_id, &principal.roles, principal.unit_id)
        .map_err(|r| Error::Forbidden(r.0))?;
    require_state(&ctx, &[ItemState::InReview])?;
    state.db.claim(id, &stage.id, principal.user_id).await?;
    Ok(())
}
