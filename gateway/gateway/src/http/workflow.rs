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
use seal::ContentDigest;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::InPath;
use super::items::{ItemView, item_view, not_found, parse_item_id, readable_item, summary};
use super::{ApiError, AppJson, AppQuery, AppState, Auth};
use crate::auth::{Duty, Principal, Role, Scope};
use crate::model::{ItemId, ItemState, Timestamp, UserId};
use crate::review::{Finding, Severity};
use crate::service;
use crate::workflow::{self, Deadline, Requirement, Status, VoteValue};
use crate::workflow::{Applied, WaiverRecord, WorkflowContext};

/// A blocking finding as the workflow sees it: its id for waivers and who
/// may waive it.
#[derive(Serialize, ToSchema)]
pub struct BlockingFinding {
    pub finding_id: String,
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
    InPath(id): InPath<ItemId>,
) -> Result<axum::Json<WorkflowView>, ApiError> {
    Ok(axum::Json(workflow_of(&state, &auth, id).await?))
}

/// An item's requirements, as the API and the item page show them.
pub(super) async fn workflow_of(state: &AppState, auth: &Auth, id: ItemId) -> Result<WorkflowView, ApiError> {
    readable_item(state, auth, id).await?;
    let ctx = state.db.workflow_context(id).await?;
    workflow_view(state, &ctx).await
}

/// A vote on one stage of the version the voter saw.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoteRequest {
    pub stage: String,
    pub value: VoteValue,
    /// The content digest the voter reviewed; must be the current one.
    #[schema(value_type = String)]
    pub content_digest: ContentDigest,
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
pub(super) async fn reviewer_on(state: &AppState, auth: &Auth, id: ItemId) -> Result<(ItemId, Principal), ApiError> {
    readable_item(state, auth, id).await?;
    Ok((id, auth.require_scope(Scope::Review)?.clone()))
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
    InPath(id): InPath<ItemId>,
    AppJson(req): AppJson<VoteRequest>,
) -> Result<axum::Json<ActionResult>, ApiError> {
    let applied = cast_vote(&state, &auth, address.as_deref(), id, req).await?;
    action_result(&state, applied).await
}

/// A vote as the API and the web form take it: the reviewer on the item,
/// the vote's fields, a sign-off's step-up, then the workflow's decision.
pub(super) async fn cast_vote(
    state: &AppState,
    auth: &Auth,
    address: Option<&str>,
    id: ItemId,
    req: VoteRequest,
) -> Result<Applied, ApiError> {
    let (id, principal) = reviewer_on(state, auth, id).await?;
    let draft = service::workflow::VoteDraft::new(
        state,
        &req.stage,
        req.value,
        req.content_digest,
        req.comment.as_deref(),
        (req.statement_id.as_deref(), req.statement_version.as_deref()),
    )?;
    // The sign-off's step-up, checked before anything is written.
    if draft.needs_step_up() {
        super::accounts::step_up(state, &principal, address, req.password.as_deref(), req.totp_code.as_deref()).await?;
    }
    Ok(service::workflow::vote(state, &principal, id, draft).await?)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideRequest {
    pub stage: String,
    #[schema(value_type = String)]
    pub content_digest: ContentDigest,
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
    InPath(id): InPath<ItemId>,
    AppJson(req): AppJson<OverrideRequest>,
) -> Result<axum::Json<ActionResult>, ApiError> {
    let (id, principal) = reviewer_on(&state, &auth, id).await?;
    let applied =
        service::workflow::override_stage(&state, &principal, id, &req.stage, req.content_digest, &req.reason).await?;
    action_result(&state, applied).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WaiverRequest {
    pub finding_id: String,
    #[schema(value_type = String)]
    pub content_digest: ContentDigest,
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
    InPath(id): InPath<ItemId>,
    AppJson(req): AppJson<WaiverRequest>,
) -> Result<axum::Json<ActionResult>, ApiError> {
    let (id, principal) = reviewer_on(&state, &auth, id).await?;
    let applied =
        service::workflow::waive(&state, &principal, id, &req.finding_id, req.content_digest, &req.reason).await?;
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
    let (id, principal) = reviewer_on(&state, &auth, parse_item_id(&id)?).await?;
    let applied = service::workflow::lift_veto(&state, &principal, id, &vote_id, &req.reason).await?;
    action_result(&state, applied).await
}

/// Re-evaluates an item's requirements now (after people or roles changed).
#[utoipa::path(post, path = "/api/v1/items/{id}/recheck", tag = "workflow", params(("id" = String, Path)),
    responses((status = 200, body = ActionResult), (status = 403, body = super::Problem)))]
pub async fn recheck(
    State(state): State<AppState>,
    auth: Auth,
    InPath(id): InPath<ItemId>,
) -> Result<axum::Json<ActionResult>, ApiError> {
    readable_item(&state, &auth, id).await?;
    auth.require(Duty::Recheck)?;
    let applied = service::workflow::recheck(&state, id).await?;
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
    InPath(id): InPath<ItemId>,
    AppJson(req): AppJson<RejectRequest>,
) -> Result<axum::Json<ItemView>, ApiError> {
    let (id, principal) = reviewer_on(&state, &auth, id).await?;
    auth.require_any(&state.workflow.reject_roles)?;
    let (item, ctx) = service::workflow::reject(&state, &principal, id, req.version, &req.reason).await?;
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
    service::workflow::claim(&state, principal, id, &stage).await?;
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
    Ok(axum::Json(queue_of(&state, &auth).await?))
}

/// What awaits the caller, as the API and the queue page show it.
pub(super) async fn queue_of(state: &AppState, auth: &Auth) -> Result<Queue, ApiError> {
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
                deadline: stage_deadline(state, r),
                disclosure_deadline: disclosure_deadline(state, &ctx),
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
    Ok(Queue { entries, overdue })
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
    Ok(axum::Json(overdue_of(&state, &auth).await?))
}

/// The overdue report, as the API and the office page show it.
pub(super) async fn overdue_of(state: &AppState, auth: &Auth) -> Result<OverdueReport, ApiError> {
    auth.require_scope(Scope::ItemsRead)?;
    auth.require(Duty::SeeOverdue)?;
    let mut items = Vec::new();
    for id in state.db.active_item_ids().await? {
        let ctx = state.db.workflow_context(id).await?;
        let evaluation = ctx.evaluate(&state.workflow);
        let late: Vec<(String, Deadline)> = evaluation
            .requirements
            .iter()
            .filter(|r| r.open)
            .filter_map(|r| stage_deadline(state, r).filter(Deadline::overdue).map(|d| (r.label.clone(), d)))
            .collect();
        let stages_provisional = late.iter().any(|(_, d)| d.provisional());
        let stages: Vec<String> = late.into_iter().map(|(label, _)| label).collect();
        let disclosure = disclosure_deadline(state, &ctx).filter(Deadline::overdue);
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
    Ok(OverdueReport { count: items.len(), items })
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
    InPath(id): InPath<ItemId>,
    AppJson(req): AppJson<CommentRequest>,
) -> Result<(StatusCode, axum::Json<CommentView>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(comment_on(&state, &auth, id, req).await?)))
}

/// A comment as the API and the web form take it.
pub(super) async fn comment_on(
    state: &AppState,
    auth: &Auth,
    id: ItemId,
    req: CommentRequest,
) -> Result<CommentView, ApiError> {
    let (id, principal) = reviewer_on(state, auth, id).await?;
    auth.require(Duty::Comment)?;
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
    Ok(comment_view(stored, &principal.display_name))
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
    InPath(id): InPath<ItemId>,
) -> Result<axum::Json<Vec<CommentView>>, ApiError> {
    Ok(axum::Json(comments_of(&state, &auth, id).await?))
}

/// An item's comments, oldest first, as the API and the item page show them.
pub(super) async fn comments_of(state: &AppState, auth: &Auth, id: ItemId) -> Result<Vec<CommentView>, ApiError> {
    readable_item(state, auth, id).await?;
    let comments = state.db.comments(id).await?;
    Ok(comments.into_iter().map(|(c, author)| comment_view(c, &author)).collect())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct NotificationQuery {
    /// Only unread ones.
    #[serde(default)]
    pub unread: bool,
}

/// An in-app notification.
#[derive(Serialize, ToSchema)]
pub struct NotificationView {
    pub id: String,
    /// e.g. `review_requested`, `state`, `rejected`, `delivery_rejected`.
    pub kind: String,
    #[schema(value_type = Option<String>)]
    pub item_id: Option<ItemId>,
    pub message: String,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>)]
    pub read_at: Option<Timestamp>,
}

impl From<crate::store::NotificationRecord> for NotificationView {
    fn from(n: crate::store::NotificationRecord) -> NotificationView {
        NotificationView {
            id: n.id,
            kind: n.kind,
            item_id: n.item_id,
            message: n.message,
            created_at: n.created_at,
            read_at: n.read_at,
        }
    }
}

/// The caller's notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "workflow", params(NotificationQuery),
    responses((status = 200, body = Vec<NotificationView>)))]
pub async fn notifications(
    State(state): State<AppState>,
    auth: Auth,
    AppQuery(q): AppQuery<NotificationQuery>,
) -> Result<axum::Json<Vec<NotificationView>>, ApiError> {
    let list = state.db.notifications(auth.0.user_id, q.unread, 200).await?;
    Ok(axum::Json(list.into_iter().map(NotificationView::from).collect()))
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
