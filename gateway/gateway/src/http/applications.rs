//! The application register (依申请公开申请登记) over HTTP: register an
//! application, list the register (or only the overdue), read one, move one
//! along. The use cases and the duties are `service::applications`; the
//! states and the deadline are `applications`.
//!
//! The applicant's name (a person's) and contact details are answered whole
//! only to the office (`Duty::HandleApplications`); everyone else reads
//! `张某某` and no contact.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use workdays::Date;

use super::extract::{InPath, PathId};
use super::{ApiError, AppJson, AppQuery, AppState, Auth};
use crate::applications::{
    Action, ApplicantKind, Application, ApplicationState, Contact, ReceiptChannel, ResultCategory, mask_phone,
};
use crate::auth::Scope;
use crate::model::{ApplicationId, Timestamp, UserId};
use crate::service::applications::{self as service, NewApplication};
use crate::workflow::Deadline;

impl PathId for ApplicationId {
    const WHAT: &'static str = "该申请";
    fn parse_path(raw: &str) -> Option<Self> {
        raw.parse().ok()
    }
}

/// A third party consulted (art. 32).
#[derive(Serialize, ToSchema)]
pub struct ConsultationView {
    pub seq: i64,
    pub third_party: String,
    /// `YYYY-MM-DD`.
    pub sent_on: String,
    pub answered_on: Option<String>,
}

/// An application as the API and the register pages show it.
#[derive(Serialize, ToSchema)]
pub struct ApplicationView {
    pub id: ApplicationId,
    /// The register number, `<year>-<4 digits>`.
    pub number: String,
    pub applicant_kind: ApplicantKind,
    pub applicant_kind_label: &'static str,
    /// The applicant: a person's name whole only for the office, else `张某某`.
    pub applicant: String,
    /// The applicant as every list shows them: a person's name masked.
    pub applicant_masked: String,
    /// Contact details, for the office only; `None` for everyone else.
    pub contact: Option<Contact>,
    /// The phone number masked (`138****5678`), for lists.
    pub phone_masked: Option<String>,
    pub channel: ReceiptChannel,
    pub channel_label: &'static str,
    /// `YYYY-MM-DD`.
    pub received_on: String,
    /// The day the clock runs from (receipt, or the corrected application).
    pub clock_start: String,
    pub request: String,
    pub state: ApplicationState,
    pub state_label: &'static str,
    pub correction_requested_on: Option<String>,
    pub correction_note: Option<String>,
    pub corrected_on: Option<String>,
    pub extended_on: Option<String>,
    #[schema(value_type = Option<String>)]
    pub extended_by: Option<UserId>,
    pub extension_reason: Option<String>,
    pub result: Option<ResultCategory>,
    pub result_label: Option<&'static str>,
    /// The day the answer was served.
    pub answered_on: Option<String>,
    pub withdrawn_on: Option<String>,
    /// The reply drafted for it (an item of kind `reply`).
    pub reply_item_id: Option<crate::model::ItemId>,
    pub consultations: Vec<ConsultationView>,
    /// Working days not counted for third-party consultations.
    pub excluded_working_days: u32,
    /// The statutory deadline; `None` while waiting for a 补正 and once withdrawn.
    pub deadline: Option<Deadline>,
    /// The due date as people read it (`2027-01-04（暂定）`).
    pub deadline_shown: Option<String>,
    /// “还剩 N 个工作日”, “今天到期”, “已逾期 N 个工作日”, “按期答复”, …
    pub time_left: String,
    /// Open and past its deadline.
    pub overdue: bool,
    /// A third party's answer is awaited: the clock stands still.
    pub consulting: bool,
    pub registered_at: Timestamp,
    pub updated_at: Timestamp,
}

/// “还剩 N 个工作日”, as 12345 and 信箱 lists show it.
fn time_left(a: &Application, deadline: Option<&Deadline>) -> String {
    match (a.state, deadline) {
        (ApplicationState::CorrectionRequested, _) => "待补正（期限中止，收到补正后重新计算）".into(),
        (ApplicationState::Withdrawn, _) => "申请人已撤回".into(),
        (ApplicationState::Answered | ApplicationState::Closed, Some(d)) => {
            if d.overdue() {
                format!("逾期答复（{} 个工作日）", -d.working_days_left())
            } else {
                "按期答复".into()
            }
        }
        (_, None) => String::new(),
        (_, Some(d)) if d.overdue() => format!("已逾期 {} 个工作日", -d.working_days_left()),
        (_, Some(d)) if d.working_days_left() == 0 => "今天到期".into(),
        (_, Some(d)) => {
            let pause = if a.consulting() { "（征求第三方意见中，期限中止）" } else { "" };
            format!("还剩 {} 个工作日{pause}", d.working_days_left())
        }
    }
}

/// The view of `a` for whoever `auth` is, on the calendar in force.
pub(super) fn view(state: &AppState, auth: &Auth, a: Application) -> ApplicationView {
    let calendar = state.calendar.current();
    let today = crate::workflow::today();
    let deadline = a.deadline(&calendar.calendar, today);
    let whole = service::sees_personal_data(&auth.0);
    let overdue = a.state.is_open() && deadline.as_ref().is_some_and(Deadline::overdue);
    let excluded = a.excluded_working_days(&calendar.calendar, a.answered_on.unwrap_or(today));
    let d = |d: Option<Date>| d.map(|d| d.to_string());
    ApplicationView {
        id: a.id,
        number: a.number.clone(),
        applicant_kind: a.applicant_kind,
        applicant_kind_label: a.applicant_kind.label(),
        applicant: if whole { a.applicant_name.clone() } else { a.applicant_shown() },
        applicant_masked: a.applicant_shown(),
        contact: whole.then(|| a.contact.clone()),
        phone_masked: a.contact.phone.as_deref().map(mask_phone),
        channel: a.channel,
        channel_label: a.channel.label(),
        received_on: a.received_on.to_string(),
        clock_start: a.clock_start().to_string(),
        request: a.request.clone(),
        state: a.state,
        state_label: a.state.label(),
        correction_requested_on: d(a.correction_requested_on),
        correction_note: a.correction_note.clone(),
        corrected_on: d(a.corrected_on),
        extended_on: d(a.extended_on),
        extended_by: a.extended_by,
        extension_reason: a.extension_reason.clone(),
        result: a.result,
        result_label: a.result.map(ResultCategory::label),
        answered_on: d(a.answered_on),
        withdrawn_on: d(a.withdrawn_on),
        reply_item_id: a.reply_item,
        consultations: a
            .consultations
            .iter()
            .map(|c| ConsultationView {
                seq: c.seq,
                third_party: c.third_party.clone(),
                sent_on: c.sent_on.to_string(),
                answered_on: d(c.answered_on),
            })
            .collect(),
        excluded_working_days: excluded,
        deadline_shown: deadline.as_ref().map(Deadline::shown),
        time_left: time_left(&a, deadline.as_ref()),
        overdue,
        consulting: a.consulting(),
        deadline,
        registered_at: a.registered_at,
        updated_at: a.updated_at,
    }
}

#[derive(Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
pub struct ApplicationQuery {
    /// Only open applications past their deadline.
    #[serde(default)]
    pub overdue: bool,
}

/// The register (or its overdue part) as the API and the pages list it.
pub(super) async fn list_of(
    state: &AppState,
    auth: &Auth,
    q: &ApplicationQuery,
) -> Result<Vec<ApplicationView>, ApiError> {
    auth.require_scope(Scope::ItemsRead)?;
    let all = service::list(state, &auth.0).await?;
    Ok(all.into_iter().map(|a| view(state, auth, a)).filter(|v| !q.overdue || v.overdue).collect())
}

/// The application register, newest receipt first; `overdue=true` lists
/// only open applications past their deadline. Applicants masked except for
/// the publication office.
#[utoipa::path(get, path = "/api/v1/applications", tag = "applications", params(ApplicationQuery),
    responses((status = 200, body = Vec<ApplicationView>), (status = 403, body = super::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    AppQuery(q): AppQuery<ApplicationQuery>,
) -> Result<axum::Json<Vec<ApplicationView>>, ApiError> {
    Ok(axum::Json(list_of(&state, &auth, &q).await?))
}

/// An application as the office registers it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterApplicationRequest {
    pub applicant_kind: ApplicantKind,
    /// A person's name or an organisation's name.
    pub applicant_name: String,
    #[serde(default)]
    pub contact: Contact,
    pub channel: ReceiptChannel,
    /// `YYYY-MM-DD`: the day the application was received (art. 31).
    pub received_on: String,
    /// What is requested.
    pub request: String,
}

fn date(field: &str, text: &str) -> Result<Date, ApiError> {
    Date::parse(text.trim()).map_err(|_| ApiError::invalid(field, "日期格式应为 YYYY-MM-DD，例如 2026-12-07"))
}

/// Registers an application as the API and the page take it.
pub(super) async fn register_as(
    state: &AppState,
    auth: &Auth,
    req: RegisterApplicationRequest,
) -> Result<ApplicationView, ApiError> {
    auth.require_scope(Scope::ItemsWrite)?;
    let new = NewApplication {
        applicant_kind: req.applicant_kind,
        applicant_name: req.applicant_name,
        contact: req.contact,
        channel: req.channel,
        received_on: date("received_on", &req.received_on)?,
        request: req.request,
    };
    let a = service::register(state, &auth.0, new).await?;
    Ok(view(state, auth, a))
}

/// Registers an application (登记制; the publication office). The deadline
/// runs from `received_on`.
#[utoipa::path(post, path = "/api/v1/applications", tag = "applications", request_body = RegisterApplicationRequest,
    responses((status = 201, body = ApplicationView), (status = 403, body = super::Problem), (status = 422, body = super::Problem)))]
pub async fn register(
    State(state): State<AppState>,
    auth: Auth,
    AppJson(req): AppJson<RegisterApplicationRequest>,
) -> Result<(StatusCode, axum::Json<ApplicationView>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(register_as(&state, &auth, req).await?)))
}

/// One application.
#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "applications", params(("id" = String, Path)),
    responses((status = 200, body = ApplicationView), (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    InPath(id): InPath<ApplicationId>,
) -> Result<axum::Json<ApplicationView>, ApiError> {
    Ok(axum::Json(get_of(&state, &auth, id).await?))
}

pub(super) async fn get_of(state: &AppState, auth: &Auth, id: ApplicationId) -> Result<ApplicationView, ApiError> {
    auth.require_scope(Scope::ItemsRead)?;
    let a = service::get(state, &auth.0, id).await?;
    Ok(view(state, auth, a))
}

/// What to do with an application.
#[derive(Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// 补正: `on`, `note` (what to complete).
    RequestCorrection,
    /// The corrected application was received `on`: the clock restarts.
    Corrected,
    Accept,
    Start,
    /// Extend once by 20 working days (approver or leader): `on`, `reason`.
    Extend,
    /// Consult a third party: `third_party`, `on` (the letter's date).
    Consult,
    /// The third party `seq` answered `on`.
    ConsultationAnswered,
    /// The sealed reply was served `on`: answered.
    Answer,
    Close,
    /// Withdrawn by the applicant `on`.
    Withdraw,
}

/// An action on an application; which fields it needs depends on `action`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationActionRequest {
    pub action: ActionKind,
    /// `YYYY-MM-DD`.
    pub on: Option<String>,
    pub note: Option<String>,
    pub reason: Option<String>,
    pub third_party: Option<String>,
    pub seq: Option<i64>,
}

fn action_of(auth: &Auth, req: ApplicationActionRequest) -> Result<Action, ApiError> {
    let on = || date("on", req.on.as_deref().ok_or_else(|| ApiError::invalid("on", "请填写日期"))?);
    Ok(match req.action {
        ActionKind::RequestCorrection => Action::RequestCorrection { on: on()?, note: req.note.unwrap_or_default() },
        ActionKind::Corrected => Action::Corrected { on: on()? },
        ActionKind::Accept => Action::Accept,
        ActionKind::Start => Action::Start,
        ActionKind::Extend => Action::Extend { on: on()?, by: auth.0.user_id, reason: req.reason.unwrap_or_default() },
        ActionKind::Consult => Action::Consult { third_party: req.third_party.unwrap_or_default(), sent_on: on()? },
        ActionKind::ConsultationAnswered => Action::ConsultationAnswered {
            seq: req.seq.ok_or_else(|| ApiError::invalid("seq", "请指明哪一次征求意见"))?,
            on: on()?,
        },
        ActionKind::Answer => Action::Answer { on: on()? },
        ActionKind::Close => Action::Close,
        ActionKind::Withdraw => Action::Withdraw { on: on()? },
    })
}

/// An action as the API and the page take it.
pub(super) async fn act_on(
    state: &AppState,
    auth: &Auth,
    id: ApplicationId,
    req: ApplicationActionRequest,
) -> Result<ApplicationView, ApiError> {
    let scope = if req.action == ActionKind::Extend { Scope::Review } else { Scope::ItemsWrite };
    auth.require_scope(scope)?;
    let action = action_of(auth, req)?;
    let a = service::act(state, &auth.0, id, action).await?;
    Ok(view(state, auth, a))
}

/// Moves an application along: 补正, acceptance, extension (approver or
/// leader, once, with a reason), third-party consultations, the answer,
/// closing, withdrawal. A refused action changes nothing.
#[utoipa::path(post, path = "/api/v1/applications/{id}/actions", tag = "applications",
    request_body = ApplicationActionRequest, params(("id" = String, Path)),
    responses((status = 200, body = ApplicationView), (status = 403, body = super::Problem),
        (status = 404, body = super::Problem), (status = 409, body = super::Problem), (status = 422, body = super::Problem)))]
pub async fn act(
    State(state): State<AppState>,
    auth: Auth,
    InPath(id): InPath<ApplicationId>,
    AppJson(req): AppJson<ApplicationActionRequest>,
) -> Result<axum::Json<ApplicationView>, ApiError> {
    Ok(axum::Json(act_on(&state, &auth, id, req).await?))
}

/// The answer type of the reply to draft.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftReplyRequest {
    pub result: ResultCategory,
    /// The organ that answers (发布机关), as the seal requires.
    pub issuer: String,
}

/// The reply drafted: the application and the new item.
#[derive(Serialize, ToSchema)]
pub struct ReplyDrafted {
    pub application: ApplicationView,
    /// The draft item of kind `reply`: edit, submit, review and seal it as any item.
    pub item_id: crate::model::ItemId,
}

pub(super) async fn draft_reply_as(
    state: &AppState,
    auth: &Auth,
    id: ApplicationId,
    req: DraftReplyRequest,
) -> Result<ReplyDrafted, ApiError> {
    auth.require_scope(Scope::ItemsWrite)?;
    let (a, item_id) = service::draft_reply(state, &auth.0, id, req.result, &req.issuer).await?;
    Ok(ReplyDrafted { application: view(state, auth, a), item_id })
}

/// Drafts the application's reply from the template of its answer type
/// (a drafter): a new item of kind `reply` for the `applicant` channel,
/// linked to the application. It states the search, the articles and the
/// remedies, and names the applicant by register number only.
#[utoipa::path(post, path = "/api/v1/applications/{id}/reply", tag = "applications",
    request_body = DraftReplyRequest, params(("id" = String, Path)),
    responses((status = 201, body = ReplyDrafted), (status = 403, body = super::Problem),
        (status = 404, body = super::Problem), (status = 409, body = super::Problem), (status = 422, body = super::Problem)))]
pub async fn draft_reply(
    State(state): State<AppState>,
    auth: Auth,
    InPath(id): InPath<ApplicationId>,
    AppJson(req): AppJson<DraftReplyRequest>,
) -> Result<(StatusCode, axum::Json<ReplyDrafted>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(draft_reply_as(&state, &auth, id, req).await?)))
}
