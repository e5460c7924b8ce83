//! The application register's pages: the register with “还剩 N 个工作日”
//! (or 已逾期) on every row, the overdue list, registering an application and
//! moving one along. Every form calls the same function as the JSON API
//! (`http::applications`), so duties and states are decided once.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{Layout, PageQuery, Posted, Session, done_message, error_page, render, render_status, see_other};
use crate::applications::{ApplicantKind, ApplicationState, Contact, ReceiptChannel, ResultCategory};
use crate::auth::Duty;
use crate::http::applications::{
    ActionKind, ApplicationActionRequest, ApplicationQuery, ApplicationView, DraftReplyRequest,
    RegisterApplicationRequest,
};
use crate::http::extract::InPath;
use crate::http::{ApiError, AppQuery, AppState};
use crate::model::ApplicationId;

#[derive(Template)]
#[template(path = "applications.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<ApplicationView>,
    overdue_only: bool,
    overdue_count: usize,
    can_register: bool,
}

#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    overdue: Option<String>,
    done: Option<String>,
}

/// `/applications` and `/applications?overdue=1`.
pub async fn list(State(state): State<AppState>, session: Session, AppQuery(q): AppQuery<ListQuery>) -> Response {
    let overdue_only = q.overdue.is_some();
    match crate::http::applications::list_of(&state, &session.auth(), &ApplicationQuery::default()).await {
        Ok(all) => {
            let overdue_count = all.iter().filter(|a| a.overdue).count();
            let rows = all.into_iter().filter(|a| !overdue_only || a.overdue).collect();
            let title = if overdue_only { "逾期未答复的申请" } else { "依申请公开申请登记" };
            let mut layout = session.layout(title, "/applications");
            layout.notice = done_message(q.done.as_deref());
            let can_register = session.principal().can(Duty::HandleApplications);
            render(&ListPage { layout, rows, overdue_only, overdue_count, can_register })
        }
        Err(e) => error_page(&session, e),
    }
}

/// The registration form as typed (kept when refused).
#[derive(Default)]
struct FormValues {
    kind: String,
    name: String,
    contact_person: String,
    phone: String,
    email: String,
    address: String,
    id_number: String,
    channel: String,
    received_on: String,
    request: String,
}

#[derive(Template)]
#[template(path = "application_form.html")]
struct FormPage {
    layout: Layout,
    form: FormValues,
    kinds: Vec<(&'static str, &'static str)>,
    channels: Vec<(&'static str, &'static str)>,
}

fn form_page(layout: Layout, form: FormValues) -> FormPage {
    FormPage {
        layout,
        form,
        kinds: ApplicantKind::ALL.iter().map(|k| (k.as_str(), k.label())).collect(),
        channels: ReceiptChannel::ALL.iter().map(|c| (c.as_str(), c.label())).collect(),
    }
}

/// `/applications/new`: the registration form (the office).
pub async fn new_form(session: Session) -> Response {
    if !session.principal().can(Duty::HandleApplications) {
        return error_page(&session, ApiError::Forbidden("只有政务公开办公室可以登记申请。".into()));
    }
    let form = FormValues { received_on: crate::workflow::today().to_string(), ..FormValues::default() };
    render(&form_page(session.layout("登记依申请公开申请", "/applications"), form))
}

/// Registers the application from the form.
pub async fn register(State(state): State<AppState>, Posted { session, form, .. }: Posted) -> Response {
    let values = FormValues {
        kind: form.get("applicant_kind").unwrap_or_default(),
        name: form.raw("applicant_name"),
        contact_person: form.raw("contact_person"),
        phone: form.raw("phone"),
        email: form.raw("email"),
        address: form.raw("address"),
        id_number: form.raw("id_number"),
        channel: form.get("channel").unwrap_or_default(),
        received_on: form.get("received_on").unwrap_or_default(),
        request: form.raw("request"),
    };
    let parsed = values
        .kind
        .parse::<ApplicantKind>()
        .map_err(|_| ApiError::invalid("applicant_kind", "请选择申请人类型"))
        .and_then(|kind| {
            let channel =
                values.channel.parse::<ReceiptChannel>().map_err(|_| ApiError::invalid("channel", "请选择收到方式"))?;
            Ok((kind, channel))
        });
    let some = |s: &str| Some(s.to_owned()).filter(|s| !s.trim().is_empty());
    let result = match parsed {
        Err(e) => Err(e),
        Ok((applicant_kind, channel)) => {
            let request = RegisterApplicationRequest {
                applicant_kind,
                applicant_name: values.name.clone(),
                contact: Contact {
                    phone: some(&values.phone),
                    email: some(&values.email),
                    address: some(&values.address),
                    id_number: some(&values.id_number),
                    contact_person: some(&values.contact_person),
                },
                channel,
                received_on: values.received_on.clone(),
                request: values.request.clone(),
            };
            crate::http::applications::register_as(&state, &session.auth(), request).await
        }
    };
    match result {
        Ok(view) => see_other(&format!("/applications/{}?done=application_registered", view.id)),
        Err(e) if e.status().is_client_error() && e.status() != axum::http::StatusCode::FORBIDDEN => {
            let status = e.status();
            let layout = session.layout("登记依申请公开申请", "/applications").with_error(&e);
            render_status(status, &form_page(layout, values))
        }
        Err(e) => error_page(&session, e),
    }
}

/// One action form on the page.
struct ActionForm {
    action: &'static str,
    label: &'static str,
    date: bool,
    date_label: &'static str,
}

#[derive(Template)]
#[template(path = "application.html")]
struct DetailPage {
    layout: Layout,
    app: ApplicationView,
    forms: Vec<ActionForm>,
    can_handle: bool,
    /// The office may serve the sealed reply by e-mail: the applicant gave
    /// an address, the mail server is configured and the answer is due.
    can_email: bool,
    /// A drafter may draft the reply from a template.
    can_draft: bool,
    results: Vec<(&'static str, &'static str)>,
    today: String,
}

/// The actions the page offers `session` in the application's state (the
/// service decides again on submission).
fn forms_for(session: &Session, a: &ApplicationView) -> Vec<ActionForm> {
    use ApplicationState as S;
    let form = |action, label, date, date_label| ActionForm { action, label, date, date_label };
    let mut forms = Vec::new();
    if session.principal().can(Duty::HandleApplications) {
        match a.state {
            S::Registered => {
                forms.push(form("accept", "受理", false, ""));
                forms.push(form("request_correction", "要求补正（一次性告知）", true, "告知日期"));
            }
            S::CorrectionRequested => forms.push(form("corrected", "收到补正后的申请", true, "收到日期")),
            S::Accepted => forms.push(form("start", "开始办理", false, "")),
            S::InProgress | S::Answered | S::Closed | S::Withdrawn => {}
        }
        if matches!(a.state, S::Accepted | S::InProgress) {
            forms.push(form("consult", "征求第三方意见", true, "发出日期"));
        }
        if a.reply_item_id.is_some() && matches!(a.state, S::InProgress | S::CorrectionRequested) {
            forms.push(form("answer", "登记答复已送达（答复须已盖章）", true, "送达日期"));
        }
        if a.state == S::Answered {
            forms.push(form("close", "办结", false, ""));
        }
        if matches!(a.state, S::Answered | S::Closed) {
            forms.push(form("record_remedy", "登记行政复议、行政诉讼及其结果", true, "提起日期"));
        }
        if a.state.is_open() {
            forms.push(form("withdraw", "申请人撤回", true, "撤回日期"));
        }
    }
    if session.principal().can(Duty::ApproveExtension)
        && matches!(a.state, S::Accepted | S::InProgress)
        && a.extended_on.is_none()
    {
        forms.push(form("extend", "批准延长答复期限（20 个工作日，仅一次）", true, "批准日期"));
    }
    forms
}

fn detail(state: &AppState, session: &Session, app: ApplicationView, layout: Layout) -> DetailPage {
    let can_handle = session.principal().can(Duty::HandleApplications);
    DetailPage {
        forms: forms_for(session, &app),
        can_email: can_handle
            && crate::mail::configured(&state.settings)
            && app.reply_item_id.is_some()
            && matches!(app.state, ApplicationState::InProgress | ApplicationState::CorrectionRequested)
            && app.contact.as_ref().is_some_and(|c| c.email.is_some()),
        can_handle,
        can_draft: session.principal().can(Duty::Draft)
            && app.reply_item_id.is_none()
            && matches!(
                app.state,
                ApplicationState::Accepted | ApplicationState::InProgress | ApplicationState::CorrectionRequested
            ),
        results: ResultCategory::ALL.iter().map(|r| (r.as_str(), r.label())).collect(),
        today: crate::workflow::today().to_string(),
        layout,
        app,
    }
}

/// `/applications/{id}`.
pub async fn page(
    State(state): State<AppState>,
    session: Session,
    InPath(id): InPath<ApplicationId>,
    AppQuery(q): AppQuery<PageQuery>,
) -> Response {
    match crate::http::applications::get_of(&state, &session.auth(), id).await {
        Ok(app) => {
            let mut layout = session.layout(format!("申请 {}", app.number), "/applications");
            layout.notice = done_message(q.done.as_deref());
            render(&detail(&state, &session, app, layout))
        }
        Err(e) => error_page(&session, e),
    }
}

/// An action from the page.
pub async fn act(
    State(state): State<AppState>,
    InPath(id): InPath<ApplicationId>,
    Posted { session, form, .. }: Posted,
) -> Response {
    let kind = form.get("action").and_then(|a| serde_json::from_value::<ActionKind>(serde_json::json!(a)).ok());
    let result = match kind {
        None => Err(ApiError::invalid("action", "未知的操作")),
        Some(action) => match form.get("seq").map(|s| s.parse::<i64>()).transpose() {
            Err(_) => Err(ApiError::invalid("seq", "序号无效")),
            Ok(seq) => {
                let request = ApplicationActionRequest {
                    action,
                    on: form.get("on"),
                    note: form.get("note"),
                    reason: form.get("reason"),
                    third_party: form.get("third_party"),
                    seq,
                    remedy: form.get("remedy").and_then(|r| r.parse().ok()),
                    outcome: form.get("outcome").and_then(|r| r.parse().ok()),
                };
                crate::http::applications::act_on(&state, &session.auth(), id, request).await
            }
        },
    };
    done_or_form(&state, &session, id, result.map(|v| format!("/applications/{}?done=application_updated", v.id))).await
}

/// Serves the sealed reply by e-mail from the page; back to the
/// application, answered, or with the refusal or the mail server's answer.
pub async fn serve_by_email(
    State(state): State<AppState>,
    InPath(id): InPath<ApplicationId>,
    Posted { session, .. }: Posted,
) -> Response {
    let result = crate::http::applications::serve_by_email_as(&state, &session.auth(), id)
        .await
        .map(|v| format!("/applications/{}?done=served_by_email", v.id));
    done_or_form(&state, &session, id, result).await
}

/// `/applications/{id}/letter.pdf`: the letter as a PDF, for the page's
/// download link (the same answer as the API's).
pub async fn letter_pdf(
    State(state): State<AppState>,
    session: Session,
    InPath(id): InPath<ApplicationId>,
) -> Response {
    match crate::http::applications::letter_pdf_as(&state, &session.auth(), id).await {
        Ok(response) => response,
        Err(e) => error_page(&session, e),
    }
}

/// Drafts the reply from the template chosen on the page; on to the new item.
pub async fn draft_reply(
    State(state): State<AppState>,
    InPath(id): InPath<ApplicationId>,
    Posted { session, form, .. }: Posted,
) -> Response {
    let result = match form.get("result").map(|r| r.parse::<ResultCategory>()) {
        Some(Ok(result)) => {
            let request = DraftReplyRequest { result, issuer: form.get("issuer").unwrap_or_default() };
            crate::http::applications::draft_reply_as(&state, &session.auth(), id, request)
                .await
                .map(|d| format!("/items/{}?done=reply_drafted", d.item_id))
        }
        _ => Err(ApiError::invalid("result", "请选择答复类型")),
    };
    done_or_form(&state, &session, id, result).await
}

/// On to `next`, or the application's page again with the refusal.
async fn done_or_form(
    state: &AppState,
    session: &Session,
    id: ApplicationId,
    result: Result<String, ApiError>,
) -> Response {
    match result {
        Ok(next) => see_other(&next),
        Err(e) if e.status().is_client_error() && e.status() != axum::http::StatusCode::FORBIDDEN => {
            match crate::http::applications::get_of(state, &session.auth(), id).await {
                Ok(app) => {
                    let layout = session.layout(format!("申请 {}", app.number), "/applications").with_error(&e);
                    render_status(e.status(), &detail(state, session, app, layout))
                }
                Err(_) => error_page(session, e),
            }
        }
        Err(e) => error_page(session, e),
    }
}

#[derive(Template)]
#[template(path = "application_letter.html")]
struct LetterPage {
    id: ApplicationId,
    letter: crate::letter::Letter,
}

/// `/applications/{id}/letter`: the sealed reply as a letter to print (the
/// office): addressee, the sealed text, the seal serial and where anyone
/// checks it; its PDF beside it.
pub async fn letter(State(state): State<AppState>, session: Session, InPath(id): InPath<ApplicationId>) -> Response {
    match crate::service::applications::letter(&state, session.principal(), id).await {
        Ok(l) => render(&LetterPage { id, letter: l.document(&state.settings.public_base()) }),
        Err(e) => error_page(&session, e.into()),
    }
}
