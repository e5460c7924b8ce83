//! The review workflow over HTTP: requirements of an item, votes (approve,
//! request changes, block), the 终审 sign-off with step-up, overrides,
//! waivers of blocking findings, lifting a veto, rejecting, claims, the
//! "awaiting me" queue, comments anchored to text, and notifications.
//!
//! Each action is checked here against the caller and the evaluated
//! requirements (separation of duties: `workflow::requirements`), then
//! applied by `Db::apply_action` in one transaction that re-checks nothing
//! moved. When an action completes every requirement, the seal-phase
//! plugins run first, with the approval record and sign-off filled in.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::items::{ItemView, item_view, not_found, parse_item_id, readable_item, review_item, summary};
use super::{ApiError, AppJson, AppQuery, AppState, Auth};
use crate::auth::{Principal, Role, Scope};
use crate::model::{ItemId, ItemState, Timestamp, UserId};
use crate::review::{Approval, Finding, Phase, Severity, Signoff};
use crate::store::StoreError;
use crate::workflow::{self, Deadline, Evaluation, Next, Requirement, Status, VoteValue};
use crate::workflow::{Action, Applied, PreparedSealReview, WaiverRecord, WorkflowContext};

/// A blocking finding as the workflow sees it: its id for waivers and who
/// may waive it.
#[derive(Serialize, ToSchema)]
pub struct BlockingFinding {
    pub finding_id: String,
    #[schema(value_type = Object)]
    pub finding: Finding,
    pub waived: bool,
    /// Roles that may waive it; empty when nobody may (plugin failures).
    pub waivable_by: Vec<Role>,
}

/// A requirement with what the UI needs around it.
#[derive(Serialize, ToSchema)]
pub struct RequirementView {
    #[serde(flatten)]
    pub requirement: Requirement,
    pub status_label: &'static str,
    #[schema(value_type = Option<String>)]
    pub claimed_by: Option<UserId>,
    pub deadline: Option<Deadline>,
}

/// Where an item's current version stands in the workflow.
#[derive(Serialize, ToSchema)]
pub struct WorkflowView {
    #[schema(value_type = String)]
    pub item_id: ItemId,
    pub state: ItemState,
    pub state_label: &'static str,
    pub version: i64,
    #[schema(value_type = String)]
    pub content_digest: seal::ContentDigest,
    pub requirements: Vec<RequirementView>,
    pub blocking_findings: Vec<BlockingFinding>,
    pub waivers: Vec<WaiverRecord>,
    /// SHA-256 of the approval record as it stands (what a seal will bind).
    pub approvals_digest: String,
    /// 主动公开: the statutory deadline from `formed_at`.
    pub disclosure_deadline: Option<Deadline>,
    /// The statement a sign-off stage accepts.
    pub statement: StatementView,
}

#[derive(Serialize, ToSchema)]
pub struct StatementView {
    pub id: String,
    pub version: String,
    pub text: String,
}

fn statement_view(state: &AppState) -> StatementView {
    let s = &state.workflow.statement;
    StatementView { id: s.id.clone(), version: s.version.clone(), text: s.text.clone() }
}

fn stage_deadline(state: &AppState, r: &Requirement) -> Option<Deadline> {
    let stage = state.workflow.stage(&r.stage)?;
    let (sla, opened) = (stage.sla_working_days?, r.opened_at?);
    if r.status.is_done() {
        return None;
    }
    Some(workflow::deadline(&state.calendar.current().calendar, workflow::date_of(opened), sla, workflow::today()))
}

fn disclosure_deadline(state: &AppState, ctx: &WorkflowContext) -> Option<Deadline> {
    let content = &ctx.version.content;
    if content.attribute != crate::model::Attribute::Public {
        return None;
    }
    let formed = content.formed_at.as_deref()?;
    let n = state.workflow.deadlines.disclosure_working_days;
    workflow::disclosure_deadline(&state.calendar.current().calendar, formed, n, workflow::today())
}

async fn workflow_view(state: &AppState, ctx: &WorkflowContext) -> Result<WorkflowView, ApiError> {
    let evaluation = ctx.evaluate(&state.workflow);
    let claims = state.db.claims(ctx.item.id).await?;
    let (_, approvals_digest) = ctx.approval_record(&evaluation);
    let blocking_findings = ctx
        .findings()
        .filter(|f| f.severity == Severity::Block)
        .map(|f| {
            let finding_id = workflow::finding_id(f);
            BlockingFinding {
                waived: ctx.waivers.iter().any(|w| w.finding_id == finding_id),
                waivable_by: state.workflow.waiver_roles(&f.rule_id).to_vec(),
                finding_id,
                finding: f.clone(),
            }
        })
        .collect();
    let requirements = evaluation
        .requirements
        .into_iter()
        .map(|r| RequirementView {
            status_label: r.status.label(),
            claimed_by: claims.iter().find(|(s, _, _)| *s == r.stage).map(|(_, u, _)| *u),
            deadline: stage_deadline(state, &r),
            requirement: r,
        })
        .collect();
    Ok(WorkflowView {
        item_id: ctx.item.id,
        state: ctx.item.state,
        state_label: ctx.item.state.label(),
        version: ctx.version.version,
        content_digest: ctx.version.content_digest,
        requirements,
        blocking_findings,
        waivers: ctx.waivers.clone(),
        approvals_digest,
        disclosure_deadline: disclosure_deadline(state, ctx),
        statement: statement_view(state),
    })
}

/// The requirements of the current version: status, eligible people,
/// deadlines, blocking findings and who may waive them.
#[utoipa::path(get, path = "/api/v1/items/{id}/workflow", tag = "workflow", params(("id" = String, Path)),
    responses((status = 200, body = WorkflowView), (status = 404, body = super::Problem)))]
pub async fn get_workflow(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<WorkflowView>, ApiError> {
    let id = parse_item_id(&id)?;
    readable_item(&state, &auth, id).await?;
    let ctx = state.db.workflow_context(id).await?;
    Ok(axum::Json(workflow_view(&state, &ctx).await?))
}

/// Runs `decide` against a fresh context and applies the action it returns;
/// repeats when something moved in between. `decide` holds every check.
pub async fn act(
    state: &AppState,
    id: ItemId,
    actor: Option<&Principal>,
    decide: impl Fn(&WorkflowContext, &Evaluation) -> Result<Action, ApiError>,
) -> Result<Applied, ApiError> {
    for _ in 0..5 {
        let ctx = state.db.workflow_context(id).await?;
        let evaluation = ctx.evaluate(&state.workflow);
        let action = decide(&ctx, &evaluation)?;
        let prepared = match actor {
            Some(p) => prepare_seal_review(state, &ctx.with_action(p.user_id, &action)).await,
            None => prepare_seal_review(state, &ctx).await,
        };
        let actor_id = actor.map(|p| p.user_id);
        match state.db.apply_action(&state.workflow, id, &ctx.fingerprint, actor_id, &action, prepared.as_ref()).await {
            Err(StoreError::Moved) => continue,
            result => return Ok(result?),
        }
    }
    Err(ApiError::Conflict("事项正在被多人同时处理，请稍后重试。".into()))
}

/// If the context completes every requirement, runs the seal-phase plugins
/// with the approval record and sign-off, unless a run for the same record
/// and policy is on file.
pub(super) async fn prepare_seal_review(state: &AppState, ctx: &WorkflowContext) -> Option<PreparedSealReview> {
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
    let mut item = review_item(&ctx.version);
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

/// A vote on one stage of the version the voter saw.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoteRequest {
    pub stage: String,
    pub value: VoteValue,
    /// The content digest the voter reviewed; must be the current one.
    pub content_digest: String,
    /// Required for `changes` and `block`.
    #[serde(default)]
    pub comment: Option<String>,
    /// Sign-off stages: the statement id and version accepted…
    #[serde(default)]
    pub statement_id: Option<String>,
    #[serde(default)]
    pub statement_version: Option<String>,
    /// …and the voter's password, entered again (step-up)…
    #[serde(default)]
    pub password: Option<String>,
    /// …and the current code of the TOTP the signatory enrolled (each code
    /// is accepted once).
    #[serde(default)]
    pub totp_code: Option<String>,
}

/// The result of a workflow action: the item and its requirements now.
#[derive(Serialize, ToSchema)]
pub struct ActionResult {
    pub item: ItemView,
    pub workflow: WorkflowView,
}

async fn action_result(state: &AppState, applied: Applied) -> Result<axum::Json<ActionResult>, ApiError> {
    let id = applied.item.id;
    let ctx = state.db.workflow_context(id).await?;
    let versions = state.db.versions(id).await?.iter().map(summary).collect();
    let workflow = workflow_view(state, &ctx).await?;
    Ok(axum::Json(ActionResult { item: item_view(ctx.item.clone(), ctx.version.clone(), versions), workflow }))
}

/// The item a review action is about and who acts: the item must be
/// readable by the caller, whose credential must carry the review scope.
async fn reviewer_on(state: &AppState, auth: &Auth, id: &str) -> Result<(ItemId, Principal), ApiError> {
    let id = parse_item_id(id)?;
    readable_item(state, auth, id).await?;
    Ok((id, auth.require_scope(Scope::Review)?.clone()))
}

fn stage_named(state: &AppState, name: &str) -> Result<crate::workflow::Stage, ApiError> {
    state.workflow.stage(name).cloned().ok_or_else(|| ApiError::invalid("stage", format!("审核环节 {name:?} 不存在")))
}

fn require_digest(ctx: &WorkflowContext, seen: &str) -> Result<(), ApiError> {
    if ctx.version.content_digest.to_string() != seen {
        return Err(ApiError::Conflict(format!(
            "事项内容已更新为第 {} 版（摘要 {}），您审阅的不是当前版本，请重新审阅后再操作。",
            ctx.version.version, ctx.version.content_digest
        )));
    }
    Ok(())
}

fn require_state(ctx: &WorkflowContext, allowed: &[ItemState]) -> Result<(), ApiError> {
    if !allowed.contains(&ctx.item.state) {
        return Err(ApiError::Conflict(format!("事项当前状态为“{}”，不能执行此操作。", ctx.item.state.label())));
    }
    Ok(())
}

fn require_reason(reason: Option<&str>, what: &str) -> Result<String, ApiError> {
    match reason.map(str::trim) {
        Some(r) if !crate::model::is_blank_reason(Some(r)) && r.chars().count() <= 2000 => Ok(r.to_owned()),
        _ => Err(ApiError::invalid("reason", format!("{what}必须写明理由（不超过 2000 字）"))),
    }
}

/// Votes on a stage: approve, request changes, or block. The 终审 sign-off
/// also needs the statement and the password again.
#[utoipa::path(post, path = "/api/v1/items/{id}/votes", tag = "workflow", request_body = VoteRequest,
    params(("id" = String, Path)),
    responses((status = 200, body = ActionResult), (status = 403, body = super::Problem), (status = 409, body = super::Problem),
        (status = 422, body = super::Problem)))]
pub async fn vote(
    State(state): State<AppState>,
    auth: Auth,
    super::extract::ClientAddr(address): super::extract::ClientAddr,
    Path(id): Path<String>,
    AppJson(req): AppJson<VoteRequest>,
) -> Result<axum::Json<ActionResult>, ApiError> {
    let (id, principal) = reviewer_on(&state, &auth, &id).await?;
    let stage = stage_named(&state, &req.stage)?;
    let comment = match req.value {
        VoteValue::Approve => req.comment.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned),
        VoteValue::Changes => Some(require_reason(req.comment.as_deref(), "要求修改")?),
        VoteValue::Block => Some(require_reason(req.comment.as_deref(), "拦截")?),
    };
    // The sign-off: statement and step-up, checked before anything else is
    // written, and recorded with the vote.
    let signoff = if stage.signoff && req.value == VoteValue::Approve {
        let st = &state.workflow.statement;
        if req.statement_id.as_deref() != Some(&st.id) || req.statement_version.as_deref() != Some(&st.version) {
            return Err(ApiError::invalid(
                "statement_version",
                format!("签发须确认当前版本的责任声明（{} 第 {} 版），请阅读后重新确认", st.id, st.version),
            ));
        }
        super::accounts::step_up(
            &state,
            &principal,
            address.as_deref(),
            req.password.as_deref(),
            req.totp_code.as_deref(),
        )
        .await?;
        let role = stage.roles.iter().find(|r| principal.has_role(**r)).map_or("", |r| r.label());
        Some(json!({
            "statement_id": st.id,
            "statement_version": st.version,
            "text_digest": seal::ContentDigest::of(st.text.as_bytes()).to_string(),
            "name": principal.display_name,
            "role": role,
            "at": Timestamp::now().to_string(),
            "step_up": "password+totp",
        }))
    } else {
        None
    };
    let vote_id = uuid::Uuid::now_v7().to_string();
    let at = Timestamp::now();
    let applied = act(&state, id, Some(&principal), |ctx, evaluation| {
        // Who may act comes first (403), then whether now is the time (409).
        ctx.snapshot
            .eligibility(&state.workflow, &stage, principal.user_id, &principal.roles, principal.unit_id)
            .map_err(|r| ApiError::Forbidden(r.0))?;
        require_digest(ctx, &req.content_digest)?;
        require_state(ctx, &[ItemState::InReview])?;
        let requirement = evaluation.requirement(&stage.id).expect("every policy stage is evaluated");
        if requirement.status == Status::NotApplicable {
            return Err(ApiError::Conflict(format!("“{}”环节不适用于此事项。", stage.label)));
        }
        if ctx.snapshot.current_votes().any(|v| v.stage == stage.id && v.user == principal.user_id) {
            return Err(ApiError::Conflict(format!("您已对本版本的“{}”环节表决。", stage.label)));
        }
        if !requirement.open {
            let waiting: Vec<&str> = evaluation
                .requirements
                .iter()
                .filter(|r| !r.status.is_done() && r.stage != stage.id)
                .filter(|r| stage.after.contains(&r.stage) || (stage.signoff && !r.signoff))
                .map(|r| r.label.as_str())
                .collect();
            return Err(ApiError::Conflict(format!(
                "“{}”环节尚未开始：需先完成 {}。",
                stage.label,
                waiting.join("、")
            )));
        }
        if requirement.status != Status::Pending {
            return Err(ApiError::Conflict(format!(
                "“{}”环节当前为“{}”，不能再表决。",
                stage.label,
                requirement.status.label()
            )));
        }
        Ok(Action::Vote {
            id: vote_id.clone(),
            at,
            stage: stage.id.clone(),
            value: req.value,
            comment: comment.clone(),
            signoff: signoff.clone(),
        })
    })
    .await?;
    action_result(&state, applied).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideRequest {
    pub stage: String,
    pub content_digest: String,
    pub reason: String,
}

/// Marks a stage OVERRIDDEN (never 保密审查), by a role the policy names
/// for it, with a reason. Shows as OVERRIDDEN for good.
#[utoipa::path(post, path = "/api/v1/items/{id}/overrides", tag = "workflow", request_body = OverrideRequest,
    params(("id" = String, Path)),
    responses((status = 200, body = ActionResult), (status = 403, body = super::Problem), (status = 409, body = super::Problem)))]
pub async fn override_stage(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    AppJson(req): AppJson<OverrideRequest>,
) -> Result<axum::Json<ActionResult>, ApiError> {
    let (id, principal) = reviewer_on(&state, &auth, &id).await?;
    let stage = stage_named(&state, &req.stage)?;
    if stage.veto {
        return Err(ApiError::Forbidden(format!(
            "“{}”不能被越级通过：保密审查意见只能由审查人本人改变。",
            stage.label
        )));
    }
    let role = *stage.override_roles.iter().find(|r| principal.has_role(**r)).ok_or_else(|| {
        let names: Vec<&str> = stage.override_roles.iter().map(|r| r.label()).collect();
        ApiError::Forbidden(if names.is_empty() {
            format!("“{}”环节不允许越级通过。", stage.label)
        } else {
            format!("越级通过“{}”需要以下角色之一：{}。", stage.label, names.join("、"))
        })
    })?;
    let reason = require_reason(Some(&req.reason), "越级通过")?;
    let override_id = uuid::Uuid::now_v7().to_string();
    let at = Timestamp::now();
    let applied = act(&state, id, Some(&principal), |ctx, evaluation| {
        require_state(ctx, &[ItemState::InReview, ItemState::Blocked])?;
        require_digest(ctx, &req.content_digest)?;
        separate_from_authorship(ctx, &principal)?;
        let requirement = evaluation.requirement(&stage.id).expect("every policy stage is evaluated");
        if !matches!(requirement.status, Status::Pending | Status::Blocked) {
            return Err(ApiError::Conflict(format!(
                "“{}”环节当前为“{}”，无需越级通过。",
                stage.label,
                requirement.status.label()
            )));
        }
        Ok(Action::Override { id: override_id.clone(), at, stage: stage.id.clone(), role, reason: reason.clone() })
    })
    .await?;
    action_result(&state, applied).await
}

/// No admin acts in review, and nobody acts on what they drafted or edited.
fn separate_from_authorship(ctx: &WorkflowContext, principal: &Principal) -> Result<(), ApiError> {
    if principal.is_administrator() {
        return Err(ApiError::Forbidden("系统管理员、安全管理员和审计管理员不能参与审核（管理与审核职责分离）".into()));
    }
    if ctx.snapshot.authors.contains(&principal.user_id) {
        return Err(ApiError::Forbidden("您起草或修改过该事项，不能审核自己经手的内容（起草与审核职责分离）".into()));
    }
    Ok(())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WaiverRequest {
    pub finding_id: String,
    pub content_digest: String,
    pub reason: String,
}

/// Waives one blocking finding of the current version, by the role the
/// policy names for its rule family, with a reason.
#[utoipa::path(post, path = "/api/v1/items/{id}/waivers", tag = "workflow", request_body = WaiverRequest,
    params(("id" = String, Path)),
    responses((status = 200, body = ActionResult), (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn waive(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    AppJson(req): AppJson<WaiverRequest>,
) -> Result<axum::Json<ActionResult>, ApiError> {
    let (id, principal) = reviewer_on(&state, &auth, &id).await?;
    let reason = require_reason(Some(&req.reason), "豁免")?;
    let applied = act(&state, id, Some(&principal), |ctx, _| {
        // Which finding (404), who may waive it (403), then whether now is
        // the time (409), as every action checks.
        let finding = ctx
            .findings()
            .find(|f| f.severity == Severity::Block && workflow::finding_id(f) == req.finding_id)
            .ok_or(ApiError::NotFound("该阻断级问题"))?;
        let roles = state.workflow.waiver_roles(&finding.rule_id);
        if roles.is_empty() {
            return Err(ApiError::Forbidden(format!("{} 类问题不能豁免，必须整改。", finding.rule_id)));
        }
        let role = *roles.iter().find(|r| principal.has_role(**r)).ok_or_else(|| {
            let names: Vec<&str> = roles.iter().map(|r| r.label()).collect();
            ApiError::Forbidden(format!("豁免 {} 类问题需要以下角色之一：{}。", finding.rule_id, names.join("、")))
        })?;
        separate_from_authorship(ctx, &principal)?;
        require_state(ctx, &[ItemState::InReview, ItemState::Blocked])?;
        require_digest(ctx, &req.content_digest)?;
        Ok(Action::Waive {
            finding_id: req.finding_id.clone(),
            rule_id: finding.rule_id.clone(),
            role,
            reason: reason.clone(),
        })
    })
    .await?;
    action_result(&state, applied).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiftRequest {
    pub reason: String,
}

/// Lifts one's own block vote (a 保密 veto stays until its author does).
#[utoipa::path(post, path = "/api/v1/items/{id}/votes/{vote_id}/lift", tag = "workflow", request_body = LiftRequest,
    params(("id" = String, Path), ("vote_id" = String, Path)),
    responses((status = 200, body = ActionResult), (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn lift_veto(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, vote_id)): Path<(String, String)>,
    AppJson(req): AppJson<LiftRequest>,
) -> Result<axum::Json<ActionResult>, ApiError> {
    let (id, principal) = reviewer_on(&state, &auth, &id).await?;
    let reason = require_reason(Some(&req.reason), "撤销拦截")?;
    let applied = act(&state, id, Some(&principal), |ctx, _| {
        let vote = ctx
            .snapshot
            .votes
            .iter()
            .find(|v| v.id == vote_id && v.value == VoteValue::Block && v.lifted_at.is_none())
            .ok_or(ApiError::NotFound("该拦截意见"))?;
        if vote.user != principal.user_id {
            return Err(ApiError::Forbidden("只有作出拦截的审核人本人可以撤销拦截意见。".into()));
        }
        Ok(Action::LiftVeto { vote_id: vote_id.clone(), reason: reason.clone() })
    })
    .await?;
    action_result(&state, applied).await
}

/// Re-evaluates an item's requirements now (after people or roles changed).
#[utoipa::path(post, path = "/api/v1/items/{id}/recheck", tag = "workflow", params(("id" = String, Path)),
    responses((status = 200, body = ActionResult), (status = 403, body = super::Problem)))]
pub async fn recheck(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<ActionResult>, ApiError> {
    let id = parse_item_id(&id)?;
    readable_item(&state, &auth, id).await?;
    auth.require_any(&[
        Role::Admin,
        Role::SecurityAdmin,
        Role::Publisher,
        Role::Reviewer,
        Role::SecrecyReviewer,
        Role::Approver,
    ])?;
    let applied = act(&state, id, None, |ctx, _| {
        require_state(ctx, &[ItemState::InReview, ItemState::Blocked, ItemState::ChangesRequested])?;
        Ok(Action::Recheck)
    })
    .await?;
    action_result(&state, applied).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    pub version: i64,
    pub reason: String,
}

/// Rejects a blocked item: it will not be published (不予发布).
#[utoipa::path(post, path = "/api/v1/items/{id}/reject", tag = "workflow", request_body = RejectRequest,
    params(("id" = String, Path)),
    responses((status = 200, body = ItemView), (status = 403, body = super::Problem), (status = 409, body = super::Problem)))]
pub async fn reject(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    AppJson(req): AppJson<RejectRequest>,
) -> Result<axum::Json<ItemView>, ApiError> {
    let (id, principal) = reviewer_on(&state, &auth, &id).await?;
    auth.require_any(&state.workflow.reject_roles)?;
    let reason = require_reason(Some(&req.reason), "否决")?;
    let ctx = state.db.workflow_context(id).await?;
    separate_from_authorship(&ctx, &principal)?;
    let item = state.db.reject_item(id, req.version, principal.user_id, &reason).await?;
    let versions = state.db.versions(id).await?.iter().map(summary).collect();
    Ok(axum::Json(item_view(item, ctx.version, versions)))
}

/// Claims a stage ("I am reviewing this"), or releases the claim.
#[utoipa::path(put, path = "/api/v1/items/{id}/claims/{stage}", tag = "workflow",
    params(("id" = String, Path), ("stage" = String, Path)),
    responses((status = 204), (status = 403, body = super::Problem), (status = 409, body = super::Problem)))]
pub async fn claim(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, stage)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = parse_item_id(&id)?;
    readable_item(&state, &auth, id).await?;
    let principal = auth.require_scope(Scope::Review)?;
    let stage = state.workflow.stage(&stage).ok_or(ApiError::NotFound("该审核环节"))?;
    let ctx = state.db.workflow_context(id).await?;
    // Who may act comes first (403), then whether now is the time (409).
    ctx.snapshot
        .eligibility(&state.workflow, stage, principal.user_id, &principal.roles, principal.unit_id)
        .map_err(|r| ApiError::Forbidden(r.0))?;
    require_state(&ctx, &[ItemState::InReview])?;
    state.db.claim(id, &stage.id, principal.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/items/{id}/claims/{stage}", tag = "workflow",
    params(("id" = String, Path), ("stage" = String, Path)),
    responses((status = 204), (status = 404, body = super::Problem)))]
pub async fn unclaim(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, stage)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = parse_item_id(&id)?;
    readable_item(&state, &auth, id).await?;
    let principal = auth.require_scope(Scope::Review)?;
    state.db.unclaim(id, &stage, principal.user_id).await.map_err(not_found("您对该环节的认领"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// One entry of "awaiting me".
#[derive(Serialize, ToSchema)]
pub struct QueueEntry {
    #[schema(value_type = String)]
    pub item_id: ItemId,
    pub title: String,
    pub version: i64,
    #[schema(value_type = String)]
    pub content_digest: seal::ContentDigest,
    pub stage: String,
    pub stage_label: String,
    pub signoff: bool,
    pub deadline: Option<Deadline>,
    pub disclosure_deadline: Option<Deadline>,
    #[schema(value_type = Option<String>)]
    pub claimed_by: Option<UserId>,
    /// The version the caller last opened, if an older one: the diff
    /// `/api/v1/items/{id}/diff?from=…&to=…` shows what changed since.
    pub last_seen_version: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct Queue {
    pub entries: Vec<QueueEntry>,
    pub overdue: usize,
}

/// What awaits the caller: open, pending stages they may fill, by deadline
/// (overdue first, then the soonest; no deadline last).
#[utoipa::path(get, path = "/api/v1/queue", tag = "workflow", responses((status = 200, body = Queue)))]
pub async fn queue(State(state): State<AppState>, auth: Auth) -> Result<axum::Json<Queue>, ApiError> {
    let principal = auth.require_scope(Scope::Review)?;
    let mut entries = Vec::new();
    for id in state.db.active_item_ids().await? {
        let ctx = state.db.workflow_context(id).await?;
        if ctx.item.state != ItemState::InReview {
            continue;
        }
        let evaluation = ctx.evaluate(&state.workflow);
        let mine: Vec<&Requirement> = evaluation
            .requirements
            .iter()
            .filter(|r| r.open && r.status == Status::Pending && r.eligible.contains(&principal.user_id))
            .collect();
        if mine.is_empty() {
            continue;
        }
        let claims = state.db.claims(id).await?;
        let last_seen = state.db.last_seen(id, principal.user_id).await?;
        for r in mine {
            let claimed_by = claims.iter().find(|(s, _, _)| *s == r.stage).map(|(_, u, _)| *u);
            entries.push(QueueEntry {
                item_id: id,
                title: ctx.version.content.title.clone(),
                version: ctx.version.version,
                content_digest: ctx.version.content_digest,
                stage: r.stage.clone(),
                stage_label: r.label.clone(),
                signoff: r.signoff,
                deadline: stage_deadline(&state, r),
                disclosure_deadline: disclosure_deadline(&state, &ctx),
                claimed_by,
                last_seen_version: last_seen.filter(|v| *v < ctx.version.version),
            });
        }
    }
    entries.sort_by(|a, b| {
        let key = |e: &QueueEntry| e.deadline.as_ref().map_or_else(|| "9999".into(), |d| d.due_on().to_owned());
        key(a).cmp(&key(b)).then(a.item_id.cmp(&b.item_id))
    });
    let overdue = entries.iter().filter(|e| e.deadline.as_ref().is_some_and(Deadline::overdue)).count();
    Ok(axum::Json(Queue { entries, overdue }))
}

/// An item past a deadline.
#[derive(Serialize, ToSchema)]
pub struct OverdueItem {
    #[schema(value_type = String)]
    pub item_id: ItemId,
    pub title: String,
    pub state: ItemState,
    /// Stages past their SLA, by label.
    pub stages: Vec<String>,
    /// Whether one of those stages' deadlines is provisional (暂定: it
    /// reaches a year whose 放假安排 is not loaded).
    pub stages_provisional: bool,
    /// The statutory 主动公开 deadline, when it has passed.
    pub disclosure_deadline: Option<Deadline>,
}

#[derive(Serialize, ToSchema)]
pub struct OverdueReport {
    pub count: usize,
    pub items: Vec<OverdueItem>,
}

/// Every item in the workflow past a stage SLA or the statutory 20
/// working days (for the publication office, leaders and auditors).
#[utoipa::path(get, path = "/api/v1/overdue", tag = "workflow", responses((status = 200, body = OverdueReport)))]
pub async fn overdue(State(state): State<AppState>, auth: Auth) -> Result<axum::Json<OverdueReport>, ApiError> {
    auth.require_scope(Scope::ItemsRead)?;
    auth.require_any(&[Role::Publisher, Role::Leader, Role::Approver, Role::Auditor, Role::Admin])?;
    let mut items = Vec::new();
    for id in state.db.active_item_ids().await? {
        let ctx = state.db.workflow_context(id).await?;
        let evaluation = ctx.evaluate(&state.workflow);
        let late: Vec<(String, Deadline)> = evaluation
            .requirements
            .iter()
            .filter(|r| r.open)
            .filter_map(|r| stage_deadline(&state, r).filter(Deadline::overdue).map(|d| (r.label.clone(), d)))
            .collect();
        let stages_provisional = late.iter().any(|(_, d)| d.provisional());
        let stages: Vec<String> = late.into_iter().map(|(label, _)| label).collect();
        let disclosure = disclosure_deadline(&state, &ctx).filter(Deadline::overdue);
        if !stages.is_empty() || disclosure.is_some() {
            items.push(OverdueItem {
                item_id: id,
                title: ctx.version.content.title.clone(),
                state: ctx.item.state,
                stages,
                stages_provisional,
                disclosure_deadline: disclosure,
            });
        }
    }
    Ok(axum::Json(OverdueReport { count: items.len(), items }))
}

/// A comment anchored to a span of a field of a version.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentRequest {
    pub version: i64,
    /// `title` or `body`.
    pub field: String,
    /// UTF-8 byte offsets into that field, end exclusive.
    #[serde(default)]
    pub start: Option<i64>,
    #[serde(default)]
    pub end: Option<i64>,
    pub body: String,
}

#[derive(Serialize, ToSchema)]
pub struct CommentView {
    pub id: String,
    pub version: i64,
    #[schema(value_type = String)]
    pub user_id: UserId,
    pub author: String,
    pub field: String,
    pub start: Option<i64>,
    pub end: Option<i64>,
    /// The text the span covered when the comment was made.
    pub quote: Option<String>,
    pub body: String,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
}

/// Adds a comment on a span of the title or body.
#[utoipa::path(post, path = "/api/v1/items/{id}/comments", tag = "workflow", request_body = CommentRequest,
    params(("id" = String, Path)),
    responses((status = 201, body = CommentView), (status = 422, body = super::Problem)))]
pub async fn add_comment(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    AppJson(req): AppJson<CommentRequest>,
) -> Result<(StatusCode, axum::Json<CommentView>), ApiError> {
    let (id, principal) = reviewer_on(&state, &auth, &id).await?;
    auth.require_any(&[
        Role::Reviewer,
        Role::SecrecyReviewer,
        Role::Approver,
        Role::Leader,
        Role::Cosigner,
        Role::Publicity,
        Role::Drafter,
    ])?;
    let version = state.db.version(id, req.version).await.map_err(not_found("该版本"))?;
    let text = match req.field.as_str() {
        "title" => &version.content.title,
        "body" => &version.content.body,
        _ => return Err(ApiError::invalid("field", "批注只能针对标题（title）或正文（body）")),
    };
    let quote = match (req.start, req.end) {
        (Some(s), Some(e)) => {
            let (s, e) = (usize::try_from(s).ok(), usize::try_from(e).ok());
            match (s, e) {
                (Some(s), Some(e))
                    if s < e && e <= text.len() && text.is_char_boundary(s) && text.is_char_boundary(e) =>
                {
                    Some(text[s..e].to_owned())
                }
                _ => return Err(ApiError::invalid("start", "批注位置不在该字段的文字范围内")),
            }
        }
        (None, None) => None,
        _ => return Err(ApiError::invalid("end", "批注位置须同时给出起点和终点")),
    };
    let body = req.body.trim();
    if body.is_empty() || body.chars().count() > 4000 {
        return Err(ApiError::invalid("body", "批注内容不能为空，最长 4000 字"));
    }
    let stored = state
        .db
        .add_comment(id, req.version, principal.user_id, &req.field, req.start.zip(req.end), quote.as_deref(), body)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(comment_view(stored, &principal.display_name))))
}

fn comment_view(c: crate::store::CommentRecord, author: &str) -> CommentView {
    CommentView {
        id: c.id,
        version: c.version,
        user_id: c.user_id,
        author: author.to_owned(),
        field: c.field,
        start: c.span.map(|s| s.0),
        end: c.span.map(|s| s.1),
        quote: c.quote,
        body: c.body,
        created_at: c.created_at,
    }
}

/// Comments on an item, oldest first.
#[utoipa::path(get, path = "/api/v1/items/{id}/comments", tag = "workflow", params(("id" = String, Path)),
    responses((status = 200, body = Vec<CommentView>)))]
pub async fn list_comments(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<CommentView>>, ApiError> {
    let id = parse_item_id(&id)?;
    readable_item(&state, &auth, id).await?;
    let comments = state.db.comments(id).await?;
    Ok(axum::Json(comments.into_iter().map(|(c, author)| comment_view(c, &author)).collect()))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct NotificationQuery {
    /// Only unread ones.
    #[serde(default)]
    pub unread: bool,
}

/// The caller's notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "workflow", params(NotificationQuery),
    responses((status = 200, body = Vec<crate::store::NotificationRecord>)))]
pub async fn notifications(
    State(state): State<AppState>,
    auth: Auth,
    AppQuery(q): AppQuery<NotificationQuery>,
) -> Result<axum::Json<Vec<crate::store::NotificationRecord>>, ApiError> {
    Ok(axum::Json(state.db.notifications(auth.0.user_id, q.unread, 200).await?))
}

/// Marks a notification read.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "workflow", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = super::Problem)))]
pub async fn mark_read(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.db.mark_notification_read(auth.0.user_id, &id).await.map_err(not_found("该通知"))?;
    Ok(StatusCode::NO_CONTENT)
}
