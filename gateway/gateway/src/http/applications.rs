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

/// A 行政复议 or 行政诉讼 against the answer.
#[derive(Serialize, ToSchema)]
pub struct RemedyView {
    pub kind: crate::applications::RemedyKind,
    pub kind_label: &'static str,
    pub outcome: crate::applications::RemedyOutcome,
    pub outcome_label: &'static str,
    pub filed_on: String,
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
    pub remedies: Vec<RemedyView>,
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
        remedies: a
            .remedies
            .iter()
            .map(|r| RemedyView {
                kind: r.kind,
                kind_label: r.kind.label(),
                outcome: r.outcome,
                outcome_label: r.outcome.label(),
                filed_on: r.filed_on.to_string(),
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
    /// A 行政复议 or 行政诉讼 (`remedy`) brought `on`, or its `outcome`.
    RecordRemedy,
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
    pub remedy: Option<crate::applications::RemedyKind>,
    pub outcome: Option<crate::applications::RemedyOutcome>,
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
        ActionKind::RecordRemedy => Action::RecordRemedy {
            kind: req.remedy.ok_or_else(|| ApiError::invalid("remedy", "请选择行政复议或行政诉讼"))?,
            outcome: req.outcome.ok_or_else(|| ApiError::invalid("outcome", "请选择结果（尚未审结的选“尚未审结”）"))?,
            on: on()?,
        },
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

pub(super) async fn serve_by_email_as(
    state: &AppState,
    auth: &Auth,
    id: ApplicationId,
) -> Result<ApplicationView, ApiError> {
    auth.require_scope(Scope::ItemsWrite)?;
    let a = service::serve_by_email(state, &auth.0, id).await?;
    Ok(view(state, auth, a))
}

/// Serves the sealed reply on the applicant by e-mail (the publication
/// office; the applicant gave an address and `[mail]` is configured): the
/// letter as text with its PDF attached. When the mail server accepts it the
/// application is answered, today being the date of service; when it
/// refuses, nothing is recorded (502 with its answer).
#[utoipa::path(post, path = "/api/v1/applications/{id}/serve-email", tag = "applications",
    params(("id" = String, Path)),
    responses((status = 200, body = ApplicationView), (status = 403, body = super::Problem),
        (status = 404, body = super::Problem), (status = 409, body = super::Problem), (status = 422, body = super::Problem),
        (status = 502, body = super::Problem)))]
pub async fn serve_by_email(
    State(state): State<AppState>,
    auth: Auth,
    InPath(id): InPath<ApplicationId>,
) -> Result<axum::Json<ApplicationView>, ApiError> {
    Ok(axum::Json(serve_by_email_as(&state, &auth, id).await?))
}

/// The sealed reply as a PDF letter (the publication office: it carries the
/// applicant's name and address): the same words as the printed letter,
/// with the seal serial, the content digest and the verification link.
#[utoipa::path(get, path = "/api/v1/applications/{id}/letter.pdf", tag = "applications",
    params(("id" = String, Path)),
    responses((status = 200, description = "The letter", content((Vec<u8> = "application/pdf"))),
        (status = 403, body = super::Problem), (status = 404, body = super::Problem), (status = 409, body = super::Problem)))]
pub async fn letter_pdf(
    State(state): State<AppState>,
    auth: Auth,
    InPath(id): InPath<ApplicationId>,
) -> Result<axum::response::Response, ApiError> {
    letter_pdf_as(&state, &auth, id).await
}

pub(super) async fn letter_pdf_as(
    state: &AppState,
    auth: &Auth,
    id: ApplicationId,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    auth.require_scope(Scope::ItemsRead)?;
    let letter = service::letter(state, &auth.0, id).await?.document(&state.settings.public_base());
    let name = format!("答复书-{}.pdf", letter.number);
    let pdf = state.cpu.run("reply letter", move || letter.pdf()).await?;
    let disposition = format!(
        "attachment; filename=\"reply-letter.pdf\"; filename*=UTF-8''{}",
        percent_encoding::utf8_percent_encode(&name, percent_encoding::NON_ALPHANUMERIC)
    );
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/pdf".to_owned()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        pdf,
    )
        .into_response())
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

/// One row of an annual table: its label as the template words it, then
/// its figures.
#[derive(Serialize, ToSchema)]
pub struct AnnualRow {
    pub label: String,
    pub values: Vec<i64>,
}

/// One row of table 二 (主动公开政府信息情况) as the template lays it out.
#[derive(Serialize, ToSchema)]
pub struct ProactiveRow {
    /// The article of the 条例 the row reports on, e.g. `第二十条第（一）项`.
    pub article: &'static str,
    /// 信息内容: 规章, 行政规范性文件, 行政许可…
    pub label: &'static str,
    /// The template's column heads for this row.
    pub columns: Vec<&'static str>,
    /// `null` (shown “—”): the gateway does not hold this figure (see `proactive_note`).
    pub values: Vec<Option<i64>>,
}

impl ProactiveRow {
    /// The figures as a page shows them: `本年制发件数：—；…`.
    pub fn shown(&self) -> String {
        let value = |v: &Option<i64>| v.map_or_else(|| "—".to_owned(), |n| n.to_string());
        self.columns.iter().zip(&self.values).map(|(c, v)| format!("{c}：{}", value(v))).collect::<Vec<_>>().join("；")
    }
}

/// What the gateway does not hold for table 二, in Chinese.
pub const PROACTIVE_NOTE: &str = "本网关的事项只分通知公告、政策文件、政策解读、依申请公开答复、新媒体稿件，\
不区分规章与行政规范性文件，不记录文件的废止，也不掌握行政许可、行政处罚、行政强制决定和行政事业性收费：\
表二中以“—”表示的数字本网关不掌握，须由制发机关和业务系统据实填报。本网关能据实统计的是本年首次盖章、现仍公开的主动公开信息（按事项类别，撤稿的不计）。";

/// The application tables of the annual report (政府信息公开工作年度报告) for a
/// calendar year, from the register.
#[derive(Serialize, ToSchema)]
pub struct AnnualReportView {
    pub year: i32,
    /// Table 二 (主动公开政府信息情况) as the template lays it out: every figure
    /// `null` (“—”), since the gateway holds none of them (`proactive_note`).
    pub proactive: Vec<ProactiveRow>,
    /// What the gateway counts itself for table 二: per item kind (通知公告,
    /// 政策文件, 政策解读, 新媒体稿件), the 主动公开 items first sealed in the
    /// year (China date) and still sealed or published (not withdrawn).
    pub proactive_sealed: Vec<AnnualRow>,
    /// Why table 二 shows “—”, in Chinese.
    pub proactive_note: &'static str,
    /// Table 三's columns: 自然人, the five kinds of 法人或其他组织, 总计.
    pub columns: Vec<&'static str>,
    /// Table 三: 本年新收, 上年结转, each result category, 总计, 结转下年度继续办理.
    pub applications: Vec<AnnualRow>,
    /// Table 四's columns: 结果维持, 结果纠正, 其他结果, 尚未审结, 总计.
    pub remedy_columns: Vec<&'static str>,
    /// Table 四: 行政复议, 行政诉讼（未经复议直接起诉）, 行政诉讼（复议后起诉）.
    pub remedies: Vec<AnnualRow>,
    /// `YYYY-01-31` of the next year: the report is due (条例 art. 50).
    pub due_on: String,
    /// From 1 January until the due date: how many days are left, in Chinese.
    pub reminder: Option<String>,
}

/// Table 二 as the template lays it out, every figure “—”.
fn proactive_rows() -> Vec<ProactiveRow> {
    const ISSUED: [&str; 3] = ["本年制发件数", "本年废止件数", "现行有效件数"];
    const DECISIONS: [&str; 1] = ["本年处理决定数量"];
    let row = |article, label, columns: &[&'static str]| ProactiveRow {
        article,
        label,
        columns: columns.to_vec(),
        values: vec![None; columns.len()],
    };
    vec![
        row("第二十条第（一）项", "规章", &ISSUED),
        row("第二十条第（一）项", "行政规范性文件", &ISSUED),
        row("第二十条第（五）项", "行政许可", &DECISIONS),
        row("第二十条第（六）项", "行政处罚", &DECISIONS),
        row("第二十条第（六）项", "行政强制", &DECISIONS),
        row("第二十条第（八）项", "行政事业性收费", &["本年收费金额（单位：万元）"]),
    ]
}

/// Per item kind, the 主动公开 items first sealed in `year` (China date)
/// that are still sealed, scheduled, being delivered or published.
fn proactive_sealed(facts: &[crate::store::ItemFacts], year: i32) -> Vec<AnnualRow> {
    use crate::model::{Attribute, ItemState, Kind};
    let live = [ItemState::Sealed, ItemState::Scheduled, ItemState::Delivering, ItemState::Published];
    let sealed_year = |secs: i64| {
        let at = time::OffsetDateTime::from_unix_timestamp(secs).ok()?;
        Some(crate::workflow::date_of(Timestamp::from_offset(at)).year())
    };
    [Kind::Notice, Kind::Policy, Kind::Interpretation, Kind::Post]
        .into_iter()
        .map(|kind| {
            let n = facts
                .iter()
                .filter(|f| f.kind == kind && f.attribute == Attribute::Public && live.contains(&f.state))
                .filter(|f| f.first_sealed_at.and_then(sealed_year) == Some(year))
                .count();
            AnnualRow { label: kind.label().to_owned(), values: vec![n as i64] }
        })
        .collect()
}

/// The tables of `year` as the API, the export and the dashboard show them.
pub fn annual_view(
    applications: &[Application],
    facts: &[crate::store::ItemFacts],
    year: i32,
    today: Date,
) -> AnnualReportView {
    use crate::applications::{AnnualApplications, AnnualRemedies, RemedyOutcome};
    let t = AnnualApplications::of(applications, year);
    let r = AnnualRemedies::of(applications, year);
    let row = |label: &str, values: &[i64]| AnnualRow { label: label.to_owned(), values: values.to_vec() };
    let mut rows =
        vec![row("一、本年新收政府信息公开申请数量", &t.new), row("二、上年结转政府信息公开申请数量", &t.carried_in)];
    for (category, values) in &t.results {
        rows.push(row(&format!("三、本年度办理结果 — {}", category.label()), values));
    }
    rows.push(row("三、本年度办理结果 — （七）总计", &t.total));
    rows.push(row("四、结转下年度继续办理", &t.carried_out));
    let mut columns: Vec<&'static str> = ApplicantKind::ALL.iter().map(|k| k.label()).collect();
    columns.push("总计");
    let mut remedy_columns: Vec<&'static str> = RemedyOutcome::ALL.iter().map(|o| o.label()).collect();
    remedy_columns.push("总计");
    let due = crate::applications::annual_report_due(year);
    let reminder = crate::applications::annual_report_note(year, today);
    AnnualReportView {
        year,
        proactive: proactive_rows(),
        proactive_sealed: proactive_sealed(facts, year),
        proactive_note: PROACTIVE_NOTE,
        columns,
        applications: rows,
        remedy_columns,
        remedies: r.rows.iter().map(|(k, v)| row(k.label(), v)).collect(),
        due_on: due.to_string(),
        reminder,
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AnnualQuery {
    /// The calendar year; the previous year in January, else this year.
    pub year: Option<i32>,
    /// `json` (default) or `xlsx` (laid out like the template).
    pub format: Option<String>,
}

/// The year a report is about by default: last year until 31 January, when
/// it is due, else this year.
pub fn default_year(today: Date) -> i32 {
    if today.month() == 1 { today.year() - 1 } else { today.year() }
}

/// The annual tables as the API and the dashboard read them.
pub(super) async fn annual_of(state: &AppState, auth: &Auth, year: Option<i32>) -> Result<AnnualReportView, ApiError> {
    auth.require_scope(Scope::ItemsRead)?;
    let today = crate::workflow::today();
    let year = year.unwrap_or_else(|| default_year(today));
    if !(2008..=today.year()).contains(&year) {
        return Err(ApiError::invalid("year", format!("年份应在 2008 至 {} 之间", today.year())));
    }
    let all = service::list(state, &auth.0).await?;
    let facts = state.db.item_facts().await?;
    Ok(annual_view(&all, &facts, year, today))
}

/// The application tables of the annual report for a year (表三
/// 收到和处理政府信息公开申请情况, 表四 行政复议、行政诉讼情况), as JSON or as
/// an XLSX laid out like the national template.
#[utoipa::path(get, path = "/api/v1/applications/annual-report", tag = "applications", params(AnnualQuery),
    responses((status = 200, description = "The tables as JSON (`format=json`, the default) or XLSX (`format=xlsx`)",
            content((AnnualReportView = "application/json"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, body = super::Problem), (status = 403, body = super::Problem), (status = 422, body = super::Problem)))]
pub async fn annual_report(
    State(state): State<AppState>,
    auth: Auth,
    AppQuery(q): AppQuery<AnnualQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let view = annual_of(&state, &auth, q.year).await?;
    match q.format.as_deref().unwrap_or("json") {
        "json" => Ok(axum::Json(view).into_response()),
        "xlsx" => {
            let year = view.year;
            let bytes = state
                .cpu
                .run("annual report export", move || annual_xlsx(&view))
                .await?
                .map_err(|e| ApiError::Internal(format!("xlsx: {e}")))?;
            Ok((
                [
                    (
                        axum::http::header::CONTENT_TYPE,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
                    ),
                    (
                        axum::http::header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"annual-report-{year}.xlsx\""),
                    ),
                ],
                bytes,
            )
                .into_response())
        }
        _ => Err(ApiError::BadRequest("format 只能是 json 或 xlsx".into())),
    }
}

/// The three tables laid out like the template: table 二 by article of the
/// 条例 (“—” where the gateway holds no figure, then its note and what it
/// counts itself); table 三 with 自然人 and the
/// five kinds under 法人或其他组织, then 总计; table 四 as one row of
/// 行政复议 and 行政诉讼 (未经复议直接起诉, 复议后起诉), five figures each.
fn annual_xlsx(v: &AnnualReportView) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook};
    let mut book = Workbook::new();
    let head = Format::new().set_bold().set_border(FormatBorder::Thin).set_align(FormatAlign::Center).set_text_wrap();
    let cell = Format::new().set_border(FormatBorder::Thin);
    let sheet = book.add_worksheet();
    sheet.set_name("二、主动公开政府信息情况")?;
    sheet.merge_range(0, 0, 0, 3, &format!("{}年 二、主动公开政府信息情况", v.year), &head)?;
    let mut r = 1u32;
    let mut article = "";
    for row in &v.proactive {
        if row.article != article {
            article = row.article;
            sheet.merge_range(r, 0, r, 3, article, &head)?;
            sheet.write_string_with_format(r + 1, 0, "信息内容", &head)?;
            for (c, label) in (1u16..).zip(&row.columns) {
                sheet.write_string_with_format(r + 1, c, *label, &head)?;
            }
            r += 2;
        }
        sheet.write_string_with_format(r, 0, row.label, &cell)?;
        for (c, value) in (1u16..).zip(&row.values) {
            match value {
                Some(n) => sheet.write_number_with_format(r, c, *n as f64, &cell)?,
                None => sheet.write_string_with_format(r, c, "—", &cell)?,
            };
        }
        r += 1;
    }
    let note = Format::new().set_text_wrap();
    sheet.merge_range(r + 1, 0, r + 1, 3, v.proactive_note, &note)?;
    sheet.set_row_height(r + 1, 90)?;
    sheet.merge_range(r + 3, 0, r + 3, 3, "本网关统计：本年首次盖章、现仍公开的主动公开信息", &head)?;
    sheet.write_string_with_format(r + 4, 0, "事项类别", &head)?;
    sheet.write_string_with_format(r + 4, 1, "件数", &head)?;
    for (i, row) in (r + 5..).zip(&v.proactive_sealed) {
        sheet.write_string_with_format(i, 0, &row.label, &cell)?;
        sheet.write_number_with_format(i, 1, row.values[0] as f64, &cell)?;
    }
    sheet.set_column_width(0, 24)?;
    sheet.set_column_width(1, 16)?;
    sheet.set_column_width(2, 16)?;
    sheet.set_column_width(3, 16)?;
    let sheet = book.add_worksheet();
    sheet.set_name("三、收到和处理政府信息公开申请情况")?;
    sheet.merge_range(0, 0, 0, 7, &format!("{}年 三、收到和处理政府信息公开申请情况", v.year), &head)?;
    sheet.merge_range(1, 0, 3, 0, "本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和", &head)?;
    sheet.merge_range(1, 1, 1, 7, "申请人情况", &head)?;
    sheet.merge_range(2, 1, 3, 1, "自然人", &head)?;
    sheet.merge_range(2, 2, 2, 6, "法人或其他组织", &head)?;
    for (col, label) in (2u16..).zip(&v.columns[1..6]) {
        sheet.write_string_with_format(3, col, *label, &head)?;
    }
    sheet.merge_range(2, 7, 3, 7, "总计", &head)?;
    for (r, row) in (4u32..).zip(&v.applications) {
        sheet.write_string_with_format(r, 0, &row.label, &cell)?;
        for (c, value) in (1u16..).zip(&row.values) {
            sheet.write_number_with_format(r, c, *value as f64, &cell)?;
        }
    }
    sheet.set_column_width(0, 60)?;
    let sheet = book.add_worksheet();
    sheet.set_name("四、行政复议、行政诉讼情况")?;
    sheet.merge_range(0, 0, 0, 14, &format!("{}年 四、政府信息公开行政复议、行政诉讼情况", v.year), &head)?;
    sheet.merge_range(1, 0, 2, 4, "行政复议", &head)?;
    sheet.merge_range(1, 5, 1, 14, "行政诉讼", &head)?;
    sheet.merge_range(2, 5, 2, 9, "未经复议直接起诉", &head)?;
    sheet.merge_range(2, 10, 2, 14, "复议后起诉", &head)?;
    for (block, row) in (0u16..).zip(&v.remedies) {
        for (i, (label, value)) in (0u16..).zip(v.remedy_columns.iter().zip(&row.values)) {
            sheet.write_string_with_format(3, block * 5 + i, *label, &head)?;
            sheet.write_number_with_format(4, block * 5 + i, *value as f64, &cell)?;
        }
    }
    book.save_to_buffer()
}
