//! The item pages: the new-item and edit forms, and the item page with the
//! findings in the text, the workflow, the reviewer's actions, the sign-off,
//! comments, the diff since the last look, the seal and the deliveries.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::highlight::{self, Mark, Segment};
use super::{
    FilePart, Form, ItemPath, Layout, PageQuery, Posted, Session, done_message, error_page, item_id, render,
    render_status, see_other,
};
use crate::auth::Role;
use crate::channel::{DeliveryState, EventKind};
use crate::http::items::{AttachmentInput, DiffQuery, DiffView, ItemInput, ItemView};
use crate::http::seals::SealItemRequest;
use crate::http::workflow::{CommentRequest, CommentView, OverrideRequest, VoteRequest, WorkflowView};
use crate::http::{ApiError, AppQuery, AppState};
use crate::model::{Attribute, ItemState, Kind, SuperiorRef, VersionContent};
use crate::review::{Field, Finding, Severity};
use crate::service;
use crate::service::delivery::{self as delivery_service, ItemDeliveries};
use crate::workflow::{Status, VoteValue};

/// The values of the item form, as typed (kept when the form comes back
/// with an error).
#[derive(Default, Clone)]
pub struct ItemForm {
    pub kind: String,
    pub title: String,
    pub body: String,
    pub attribute: String,
    pub attribute_reason: String,
    pub legal_basis: String,
    pub doc_number: String,
    pub issuer: String,
    pub superior_doc_number: String,
    pub superior_issuer: String,
    pub superior_attribute: String,
    pub interprets: String,
    pub channels: Vec<String>,
    pub formed_at: String,
    pub flags: Vec<String>,
    /// `digest|name` of attachments uploaded earlier.
    pub attachments: Vec<String>,
}

impl ItemForm {
    fn from_form(f: &Form) -> ItemForm {
        ItemForm {
            kind: f.get("kind").unwrap_or_default(),
            title: f.raw("title"),
            body: f.raw("body"),
            attribute: f.get("attribute").unwrap_or_default(),
            attribute_reason: f.raw("attribute_reason"),
            legal_basis: f.raw("legal_basis"),
            doc_number: f.raw("doc_number"),
            issuer: f.raw("issuer"),
            superior_doc_number: f.raw("superior_doc_number"),
            superior_issuer: f.raw("superior_issuer"),
            superior_attribute: f.get("superior_attribute").unwrap_or_default(),
            interprets: f.get("interprets").unwrap_or_default(),
            channels: f.all("channels"),
            formed_at: f.get("formed_at").unwrap_or_default(),
            flags: f.all("flags"),
            attachments: f.all("attachment"),
        }
    }

    fn from_content(c: &VersionContent) -> ItemForm {
        let superior = c.superior.as_ref();
        ItemForm {
            kind: c.kind.as_str().into(),
            title: c.title.clone(),
            body: c.body.clone(),
            attribute: c.attribute.as_str().into(),
            attribute_reason: c.attribute_reason.clone().unwrap_or_default(),
            legal_basis: c.legal_basis.clone().unwrap_or_default(),
            doc_number: c.doc_number.clone().unwrap_or_default(),
            issuer: c.issuer.clone().unwrap_or_default(),
            superior_doc_number: superior.and_then(|s| s.doc_number.clone()).unwrap_or_default(),
            superior_issuer: superior.and_then(|s| s.issuer.clone()).unwrap_or_default(),
            superior_attribute: superior.map(|s| s.attribute.as_str().to_owned()).unwrap_or_default(),
            interprets: c.interprets.map(|i| i.to_string()).unwrap_or_default(),
            channels: c.channels.clone(),
            formed_at: c.formed_at.clone().unwrap_or_default(),
            flags: c.flags.clone(),
            attachments: c.attachments.iter().map(|a| format!("{}|{}", a.digest, a.name)).collect(),
        }
    }

    /// The API's request; a field the API would refuse anyway (an unknown
    /// kind) is refused here with the same kind of message.
    fn input(&self, base_version: Option<i64>) -> Result<ItemInput, ApiError> {
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.to_owned());
        let kind: Kind = self.kind.parse().map_err(|_| ApiError::invalid("kind", "请选择稿件类型"))?;
        let attribute: Attribute =
            self.attribute.parse().map_err(|_| ApiError::invalid("attribute", "请选择公开属性"))?;
        let superior = match self.superior_attribute.parse::<Attribute>() {
            Ok(attribute) => Some(SuperiorRef {
                doc_number: opt(&self.superior_doc_number),
                issuer: opt(&self.superior_issuer),
                attribute,
            }),
            Err(_) if self.superior_doc_number.trim().is_empty() && self.superior_issuer.trim().is_empty() => None,
            Err(_) => return Err(ApiError::invalid("superior", "填写了上级文件时，请选择上级机关确定的公开属性")),
        };
        let interprets = match self.interprets.trim() {
            "" => None,
            id => Some(item_id(id).map_err(|_| ApiError::invalid("interprets", "所解读的政策文件编号格式不正确"))?),
        };
        let mut attachments = Vec::new();
        for a in &self.attachments {
            let (digest, name) = a.split_once('|').unwrap_or((a.as_str(), ""));
            let digest =
                digest.parse().map_err(|_| ApiError::invalid("attachments", "附件摘要格式不正确，请重新上传"))?;
            attachments.push(AttachmentInput { name: name.to_owned(), digest });
        }
        Ok(ItemInput {
            base_version,
            kind,
            title: self.title.clone(),
            body: self.body.clone(),
            attribute,
            attribute_reason: opt(&self.attribute_reason),
            legal_basis: opt(&self.legal_basis),
            doc_number: opt(&self.doc_number),
            issuer: opt(&self.issuer),
            superior,
            interprets,
            channels: self.channels.clone(),
            attachments,
            formed_at: opt(&self.formed_at),
            flags: self.flags.clone(),
        })
    }

    /// For the template: the attachment's name in a `digest|name` value.
    pub fn attachment_name(value: &str) -> &str {
        value.split_once('|').map_or(value, |(_, n)| n)
    }
}

/// A choice in a select or checkbox group, and whether it is chosen.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn choices<'a>(options: impl IntoIterator<Item = (&'a str, String)>, chosen: &[String]) -> Vec<Choice> {
    options
        .into_iter()
        .map(|(value, label)| Choice { selected: chosen.iter().any(|c| c == value), value: value.to_owned(), label })
        .collect()
}

/// The flags the workflow policy knows, with their meaning.
const FLAGS: [(&str, &str); 2] =
    [("major", "重大/敏感事项（需主要领导审签）"), ("cross_agency", "涉及其他机关（需会签）")];

/// A channel's name for people.
pub fn channel_label(channel: &str) -> String {
    match channel {
        "website" => "政府网站".into(),
        "wechat" => "微信公众号".into(),
        "weibo" => "政务微博".into(),
        "app" => "政务客户端".into(),
        "applicant" => "申请人送达".into(),
        "bulletin" => "政府公报".into(),
        other => other.into(),
    }
}

#[derive(Template)]
#[template(path = "item_form.html")]
struct ItemFormPage {
    layout: Layout,
    /// `None` for a new item.
    item_id: Option<String>,
    base_version: i64,
    form: ItemForm,
    kinds: Vec<Choice>,
    attributes: Vec<Choice>,
    superior_attributes: Vec<Choice>,
    channels: Vec<Choice>,
    flags: Vec<Choice>,
    /// `(digest|name, name)` of the attachments already on the form.
    attachments: Vec<(String, String)>,
}

fn form_page(state: &AppState, session: &Session, item: Option<(String, i64)>, form: ItemForm) -> ItemFormPage {
    let title = if item.is_some() { "修改稿件" } else { "新建稿件" };
    let (item_id, base_version) = match item {
        Some((id, v)) => (Some(id), v),
        None => (None, 0),
    };
    let one = |v: &str| vec![v.to_owned()];
    ItemFormPage {
        layout: session.layout(title, if item_id.is_none() { "/items/new" } else { "" }),
        item_id,
        base_version,
        kinds: choices(Kind::ALL.iter().map(|k| (k.as_str(), k.label().to_owned())), &one(&form.kind)),
        attributes: choices(Attribute::ALL.iter().map(|a| (a.as_str(), a.label().to_owned())), &one(&form.attribute)),
        superior_attributes: choices(
            Attribute::ALL.iter().map(|a| (a.as_str(), a.label().to_owned())),
            &one(&form.superior_attribute),
        ),
        channels: choices(state.settings.channels.iter().map(|c| (c.as_str(), channel_label(c))), &form.channels),
        flags: choices(FLAGS.iter().map(|(v, l)| (*v, (*l).to_owned())), &form.flags),
        attachments: form.attachments.iter().map(|a| (a.clone(), ItemForm::attachment_name(a).to_owned())).collect(),
        form,
    }
}

pub async fn new_form(State(state): State<AppState>, session: Session) -> Response {
    if !session.has(Role::Drafter) {
        return error_page(&session, ApiError::Forbidden("只有起草人可以新建稿件。".into()));
    }
    let form = ItemForm {
        kind: Kind::Notice.as_str().into(),
        attribute: Attribute::Public.as_str().into(),
        channels: state.settings.channels.first().cloned().into_iter().collect(),
        ..ItemForm::default()
    };
    render(&form_page(&state, &session, None, form))
}

pub async fn create(State(state): State<AppState>, Posted { session, form, files }: Posted) -> Response {
    let mut values = ItemForm::from_form(&form);
    let created = match attach_files(&state, &session, &mut values, files).await.and_then(|()| values.input(None)) {
        Ok(input) => crate::http::items::create(&state, &session.auth(), input).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(view) => {
            if form.get("then").as_deref() == Some("submit") {
                return submit_version(&state, &session, &view.id.to_string(), view.current_version).await;
            }
            see_other(&format!("/items/{}?done=created", view.id)).into_response()
        }
        Err(e) => form_error(&state, &session, None, values, e),
    }
}

/// Stores the files the form carried (a browser without script sends them
/// with the form; with script they were uploaded on choosing) and adds them
/// to the form's attachments. A refused file is named in the error; those
/// stored before it stay on the form.
async fn attach_files(
    state: &AppState,
    session: &Session,
    values: &mut ItemForm,
    files: Vec<FilePart>,
) -> Result<(), ApiError> {
    let auth = session.auth();
    for file in files {
        let name = if file.name.is_empty() { "附件".to_owned() } else { file.name };
        let named = |message: String| format!("附件“{name}”：{message}");
        let view =
            crate::http::attachments::store(state, &auth, &file.media_type, &file.bytes).await.map_err(
                |e| match e {
                    ApiError::UnsupportedMediaType(m) => ApiError::UnsupportedMediaType(named(m)),
                    ApiError::Unprocessable(m) => ApiError::Unprocessable(named(m)),
                    other => other,
                },
            )?;
        values.attachments.push(format!("{}|{name}", view.digest));
    }
    Ok(())
}

fn form_error(
    state: &AppState,
    session: &Session,
    item: Option<(String, i64)>,
    values: ItemForm,
    e: ApiError,
) -> Response {
    let mut page = form_page(state, session, item, values);
    page.layout = page.layout.with_error(&e);
    render_status(e.status(), &page)
}

pub async fn edit_form(State(state): State<AppState>, session: Session, ItemPath(id): ItemPath) -> Response {
    match crate::http::items::item_of(&state, &session.auth(), &id).await {
        Ok(view) => {
            let form = ItemForm::from_content(&view.current.content);
            render(&form_page(&state, &session, Some((id, view.current_version)), form))
        }
        Err(e) => error_page(&session, e),
    }
}

pub async fn edit(
    State(state): State<AppState>,
    ItemPath(id): ItemPath,
    Posted { session, form, files }: Posted,
) -> Response {
    let base: i64 = form.get("base_version").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut values = ItemForm::from_form(&form);
    let edited = match attach_files(&state, &session, &mut values, files).await.and_then(|()| values.input(Some(base)))
    {
        Ok(input) => crate::http::items::edit(&state, &session.auth(), &id, input).await,
        Err(e) => Err(e),
    };
    match edited {
        Ok(view) if form.get("then").as_deref() == Some("submit") => {
            submit_version(&state, &session, &id, view.current_version).await
        }
        Ok(_) => see_other(&format!("/items/{id}?done=edited")).into_response(),
        Err(e) => form_error(&state, &session, Some((id, base)), values, e),
    }
}

async fn submit_version(state: &AppState, session: &Session, id: &str, version: i64) -> Response {
    match crate::http::items::submit(state, &session.auth(), id, version).await {
        Ok(_) => see_other(&format!("/items/{id}?done=submitted")).into_response(),
        Err(e) => item_page(state, session, id, PageQuery::default(), Some(e)).await,
    }
}

pub async fn submit(
    State(state): State<AppState>,
    ItemPath(id): ItemPath,
    Posted { session, form, .. }: Posted,
) -> Response {
    let version = form.get("version").and_then(|v| v.parse().ok()).unwrap_or(0);
    submit_version(&state, &session, &id, version).await
}

/// One finding as the page lists it.
#[derive(Clone)]
pub struct FindingRow {
    /// 1-based number on the page (anchor `#f{n}`), the index in the review + 1.
    pub n: usize,
    pub severity: &'static str,
    pub severity_label: &'static str,
    pub rule_id: String,
    pub plugin: String,
    pub message: String,
    pub field_label: &'static str,
    /// The text the span covers.
    pub quote: Option<String>,
    pub suggestion: Option<String>,
    /// A suggestion that can be applied to the text in one click.
    pub fixable: bool,
    /// Personal information or classification (the 保密审查 list).
    pub secrecy: bool,
    /// A blocking finding this person may waive: its finding id.
    pub waivable: Option<String>,
    /// Waived (by someone with the policy's role, with a reason).
    pub waived: bool,
}

/// Findings of one severity.
pub struct FindingGroup {
    pub label: &'static str,
    pub class: &'static str,
    pub rows: Vec<FindingRow>,
}

fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::Block => "必须修改",
        Severity::Warn => "请审核关注",
        Severity::Info => "提示",
    }
}

fn field_label(f: Field) -> &'static str {
    match f {
        Field::Title => "标题",
        Field::Body => "正文",
        Field::DocNumber => "发文字号",
        Field::Issuer => "发文机关",
        Field::Attribute => "公开属性",
        Field::AttributeReason => "不公开理由",
        _ => "整体",
    }
}

fn field_text(content: &VersionContent, f: Field) -> Option<&str> {
    match f {
        Field::Title => Some(&content.title),
        Field::Body => Some(&content.body),
        Field::DocNumber => content.doc_number.as_deref(),
        Field::Issuer => content.issuer.as_deref(),
        Field::AttributeReason => content.attribute_reason.as_deref(),
        _ => None,
    }
}

fn is_secrecy(f: &Finding) -> bool {
    f.rule_id.starts_with("PII-") || f.rule_id.starts_with("SEC-") || f.plugin == "pii" || f.plugin == "secrecy"
}

fn finding_rows(content: &VersionContent, findings: &[Finding]) -> Vec<FindingRow> {
    findings
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let quote = f.span.and_then(|s| {
                field_text(content, f.field).and_then(|t| t.get(s.start as usize..s.end as usize)).map(str::to_owned)
            });
            let fixable = f.suggestion.is_some() && quote.is_some() && matches!(f.field, Field::Title | Field::Body);
            FindingRow {
                n: i + 1,
                severity: f.severity.as_str(),
                severity_label: severity_label(f.severity),
                rule_id: f.rule_id.clone(),
                plugin: f.plugin.clone(),
                message: f.message.clone(),
                field_label: field_label(f.field),
                quote,
                suggestion: f.suggestion.clone(),
                fixable,
                secrecy: is_secrecy(f),
                waivable: None,
                waived: false,
            }
        })
        .collect()
}

fn marks(findings: &[Finding], field: Field) -> Vec<Mark> {
    findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.field == field)
        .filter_map(|(i, f)| {
            f.span.map(|s| Mark { finding: i + 1, start: s.start as usize, end: s.end as usize, severity: f.severity })
        })
        .collect()
}

/// A workflow stage as the page shows it.
pub struct StageRow {
    pub label: String,
    pub status_label: String,
    /// `ok`, `bad`, `wait` or `na`.
    pub class: &'static str,
    pub deadline: String,
    /// The deadline is 暂定 (the page marks it and explains why).
    pub provisional: bool,
    pub note: String,
}

fn stage_rows(w: &WorkflowView) -> Vec<StageRow> {
    w.requirements
        .iter()
        .map(|r| {
            let q = &r.requirement;
            let class = match q.status {
                Status::Satisfied | Status::Overridden => "ok",
                Status::Blocked => "bad",
                Status::Pending => "wait",
                Status::NotApplicable => "na",
            };
            let deadline = r
                .deadline
                .as_ref()
                .map(|d| {
                    if d.overdue() {
                        format!("已超期（应于 {} 前完成）", d.due_on())
                    } else {
                        format!("{} 前（剩 {} 个工作日）", d.due_on(), d.working_days_left())
                    }
                })
                .unwrap_or_default();
            let provisional = r.deadline.as_ref().is_some_and(|d| d.provisional());
            let note = match (&q.problem, q.changes_requested, q.approved_by.len()) {
                (Some(p), _, _) => p.clone(),
                (None, true, _) => "已退回修改".into(),
                (None, false, 0) if q.open && q.status == Status::Pending => "等待审核".into(),
                (None, false, 0) => String::new(),
                (None, false, n) => format!("{n} 人已同意"),
            };
            StageRow {
                label: q.label.clone(),
                status_label: r.status_label.to_owned(),
                class,
                deadline,
                provisional,
                note,
            }
        })
        .collect()
}

/// A stage the person may act on now.
pub struct MyStage {
    pub stage: String,
    pub label: String,
    pub signoff: bool,
    pub veto: bool,
}

/// A stage the person may mark OVERRIDDEN (越级通过): pending or blocked, not
/// a veto stage, and the person holds a role the policy names for it.
pub struct OverridableStage {
    pub stage: String,
    pub label: String,
}

/// Deliveries of one channel.
pub struct ChannelRow {
    pub channel: String,
    pub label: String,
    pub rows: Vec<DeliveryRow>,
}

pub struct DeliveryRow {
    pub id: String,
    pub kind_label: &'static str,
    pub state: String,
    pub state_label: &'static str,
    pub serial: String,
    pub attempts: i64,
    pub last: String,
    pub retryable: bool,
    /// On a platform the gateway posts to (WeChat, Weibo): what the
    /// platform says, and the post's public address.
    pub platform: Option<String>,
    pub post_url: Option<String>,
}

fn channel_rows(d: &ItemDeliveries) -> Vec<ChannelRow> {
    let posts = &d.posts;
    let groups = super::group_by(d.deliveries.iter().map(|v| (v.delivery.channel.clone(), v)));
    groups
        .into_iter()
        .map(|(channel, list)| ChannelRow {
            label: channel_label(&channel),
            rows: list
                .into_iter()
                .map(|v| {
                    let d = &v.delivery;
                    let last = match (&d.last_status, &d.last_error) {
                        (_, Some(e)) => e.chars().take(120).collect(),
                        (Some(s), None) => format!("HTTP {s}"),
                        (None, None) => String::new(),
                    };
                    let post = posts.iter().find(|p| p.delivery_id == d.id);
                    DeliveryRow {
                        platform: post.map(|p| match &p.reason {
                            Some(reason) => format!("{}：{reason}", p.status.label()),
                            None => p.status.label().to_owned(),
                        }),
                        // Only web addresses become links (the value comes from the platform).
                        post_url: post
                            .and_then(|p| p.post_url.clone())
                            .filter(|u| u.starts_with("https://") || u.starts_with("http://")),
                        id: d.id.clone(),
                        kind_label: d.kind.label(),
                        state_label: d.state.label(),
                        state: d.state.as_str().to_owned(),
                        serial: d.serial.clone(),
                        attempts: d.attempts,
                        last,
                        retryable: d.state.is_retryable(),
                    }
                })
                .collect(),
            channel,
        })
        .collect()
}

/// Each channel sent a withdrawal, and whether every endpoint of it
/// confirmed removal (answered 2xx).
fn withdraw_checklist(d: &ItemDeliveries) -> Vec<(String, bool)> {
    let withdrawals = d.deliveries.iter().filter(|v| v.delivery.kind == EventKind::Withdraw);
    super::group_by(withdrawals.map(|v| (v.delivery.channel.clone(), v.delivery.state == DeliveryState::Delivered)))
        .into_iter()
        .map(|(channel, confirmed)| (channel_label(&channel), confirmed.iter().all(|c| *c)))
        .collect()
}

#[derive(Template)]
#[template(path = "item.html")]
struct ItemPage {
    layout: Layout,
    item: ItemView,
    id: String,
    kind_label: &'static str,
    attribute_label: &'static str,
    channel_labels: String,
    title_segments: Vec<Segment>,
    body_segments: Vec<Segment>,
    groups: Vec<FindingGroup>,
    secrecy_rows: Vec<FindingRow>,
    show_secrecy: bool,
    verdict: Option<&'static str>,
    reviewed_with: String,
    workflow: Option<WorkflowView>,
    stages: Vec<StageRow>,
    my_stages: Vec<MyStage>,
    overridable: Vec<OverridableStage>,
    comments: Vec<CommentView>,
    diff: Option<DiffView>,
    can_edit: bool,
    can_submit: bool,
    can_fix: bool,
    can_seal: bool,
    can_withdraw: bool,
    can_withdraw_urgent: bool,
    can_redeliver: bool,
    /// 政务公开办公室 or 主要领导: may confirm an urgent withdrawal.
    can_confirm_withdrawal: bool,
    seals: Vec<crate::store::SealRecord>,
    deliveries: Vec<ChannelRow>,
    partially_published: bool,
    withdrawals: Vec<crate::store::WithdrawalRecord>,
    /// Per channel that was sent a withdrawal: whether it confirmed removal.
    withdraw_checklist: Vec<(String, bool)>,
}

pub async fn page(
    State(state): State<AppState>,
    session: Session,
    ItemPath(id): ItemPath,
    AppQuery(q): AppQuery<PageQuery>,
) -> Response {
    item_page(&state, &session, &id, q, None).await
}

/// The item page, with an error from an action shown on top (and the
/// action's status) or a success message.
async fn item_page(state: &AppState, session: &Session, id: &str, q: PageQuery, error: Option<ApiError>) -> Response {
    match build_page(state, session, id, &q).await {
        Ok(mut page) => {
            page.layout.notice = done_message(q.done.as_deref());
            let status = error.as_ref().map(ApiError::status);
            if let Some(e) = &error {
                page.layout = page.layout.with_error(e);
            }
            // A page of a long text (and its diff) is megabytes of HTML:
            // rendered on the CPU pool, like the diff itself.
            let rendered = state
                .cpu
                .run("item page", move || match status {
                    Some(status) => render_status(status, &page),
                    None => render(&page),
                })
                .await;
            rendered.unwrap_or_else(|e| error_page(session, e.into()))
        }
        Err(e) => error_page(session, e),
    }
}

async fn build_page(state: &AppState, session: &Session, id: &str, q: &PageQuery) -> Result<ItemPage, ApiError> {
    use crate::http::{items, workflow};
    let auth = session.auth();
    let item = items::item_of(state, &auth, id).await?;
    let workflow = Some(workflow::workflow_of(state, &auth, id).await?);
    let p = session.principal();
    let content = &item.current.content;
    let findings: Vec<Finding> = item.review.as_ref().map(|r| r.outcome.findings.clone()).unwrap_or_default();
    let mut rows = finding_rows(content, &findings);
    if let Some(w) = &workflow {
        let is_author = item.created_by == p.user_id;
        for (row, finding) in rows.iter_mut().zip(&findings) {
            if let Some(b) = w.blocking_findings.iter().find(|b| &b.finding == finding) {
                row.waived = b.waived;
                if !b.waived && !is_author && b.waivable_by.iter().any(|r| p.has_role(*r)) {
                    row.waivable = Some(b.finding_id.clone());
                }
            }
        }
    }
    let secrecy_rows: Vec<FindingRow> = rows.iter().filter(|r| r.secrecy).cloned().collect();
    let can_fix = item.created_by == p.user_id && item.state.is_editable() && rows.iter().any(|r| r.fixable);
    let mut groups = Vec::new();
    for (severity, class) in [(Severity::Block, "block"), (Severity::Warn, "warn"), (Severity::Info, "info")] {
        let rows: Vec<FindingRow> = rows.iter().filter(|r| r.severity == severity.as_str()).cloned().collect();
        if !rows.is_empty() {
            groups.push(FindingGroup { label: severity_label(severity), class, rows });
        }
    }
    let my_stages = workflow
        .as_ref()
        .filter(|w| w.state == crate::model::ItemState::InReview)
        .map(|w| {
            w.requirements
                .iter()
                .filter(|r| {
                    r.requirement.open
                        && r.requirement.status == Status::Pending
                        && r.requirement.eligible.contains(&p.user_id)
                })
                .map(|r| MyStage {
                    stage: r.requirement.stage.clone(),
                    label: r.requirement.label.clone(),
                    signoff: r.requirement.signoff,
                    veto: r.requirement.veto,
                })
                .collect()
        })
        .unwrap_or_default();
    let overridable = workflow
        .as_ref()
        .filter(|w| {
            matches!(w.state, ItemState::InReview | ItemState::Blocked)
                && item.created_by != p.user_id
                && !p.is_administrator()
        })
        .map(|w| {
            w.requirements
                .iter()
                .filter(|r| matches!(r.requirement.status, Status::Pending | Status::Blocked))
                .filter(|r| {
                    state
                        .workflow
                        .stage(&r.requirement.stage)
                        .is_some_and(|stage| !stage.veto && stage.override_roles.iter().any(|role| p.has_role(*role)))
                })
                .map(|r| OverridableStage { stage: r.requirement.stage.clone(), label: r.requirement.label.clone() })
                .collect()
        })
        .unwrap_or_default();
    let comments = workflow::comments_of(state, &auth, id).await?;
    let from = q.from.or(item.previously_seen_version).filter(|v| *v < item.current_version && *v >= 1);
    let diff = match from {
        Some(from) => {
            Some(items::diff_of(state, &session.auth(), id, &DiffQuery { from, to: item.current_version }).await?)
        }
        None => None,
    };
    // Cutting a long text at every finding is proportional to its size:
    // on the CPU pool, like the diff.
    let (title, body) = (content.title.clone(), content.body.clone());
    let (title_marks, body_marks) = (marks(&findings, Field::Title), marks(&findings, Field::Body));
    let (title_segments, body_segments) = state
        .cpu
        .run("highlight", move || (highlight::segments(&title, &title_marks), highlight::segments(&body, &body_marks)))
        .await?;
    let seals = state.db.seals_of_item(item.id).await?;
    let deliveries = if seals.is_empty() {
        None
    } else {
        match items::readable_item(state, &session.auth(), item.id).await {
            Ok(record) => delivery_service::item_deliveries(state, p, &record).await.ok(),
            Err(_) => None,
        }
    };
    let live_seal = seals.iter().any(|s| s.status == crate::store::SealState::Valid);
    let is_author = item.created_by == p.user_id;
    let verdict = item.review.as_ref().map(|r| match r.outcome.verdict {
        crate::review::Verdict::Clean => "通过自动检查",
        crate::review::Verdict::Flagged => "有需要审核关注的问题",
        crate::review::Verdict::Blocked => "有必须修改的问题，已拦截",
    });
    let reviewed_with = item
        .review
        .as_ref()
        .map(|r| {
            let plugins: Vec<String> = r.outcome.plugins.iter().map(|p| format!("{} {}", p.name, p.version)).collect();
            format!(
                "策略 {}（{}），插件：{}",
                r.outcome.policy_name,
                short_hash(&r.outcome.policy_hash),
                plugins.join("、")
            )
        })
        .unwrap_or_default();
    Ok(ItemPage {
        layout: session.layout(content.title.clone(), ""),
        id: id.to_owned(),
        kind_label: content.kind.label(),
        attribute_label: content.attribute.label(),
        channel_labels: content.channels.iter().map(|c| channel_label(c)).collect::<Vec<_>>().join("、"),
        title_segments,
        body_segments,
        groups,
        show_secrecy: session.has(Role::SecrecyReviewer),
        secrecy_rows,
        verdict,
        reviewed_with,
        stages: workflow.as_ref().map(stage_rows).unwrap_or_default(),
        my_stages,
        overridable,
        comments,
        diff,
        can_edit: is_author && item.state.is_editable() && p.has_role(Role::Drafter),
        can_submit: is_author && item.state.is_submittable() && p.has_role(Role::Drafter),
        can_fix,
        can_seal: item.state == crate::model::ItemState::Approved && p.has_role(Role::Publisher) && !is_author,
        can_withdraw: live_seal && p.has_role(Role::Publisher),
        can_withdraw_urgent: live_seal && (p.has_role(Role::SecrecyReviewer) || p.has_role(Role::Leader)),
        can_redeliver: p.has_role(Role::Publisher) || p.has_role(Role::SecurityAdmin),
        can_confirm_withdrawal: p.has_role(Role::Publisher) || p.has_role(Role::Leader),
        partially_published: deliveries.as_ref().is_some_and(|d| d.partially_published),
        withdrawals: deliveries.as_ref().map(|d| d.withdrawals.clone()).unwrap_or_default(),
        withdraw_checklist: deliveries.as_ref().map(withdraw_checklist).unwrap_or_default(),
        deliveries: deliveries.as_ref().map(channel_rows).unwrap_or_default(),
        seals,
        workflow,
        item,
    })
}

impl ItemPage {
    /// A seal's status for people.
    fn seal_label(&self, s: &crate::store::SealState) -> &'static str {
        match s {
            crate::store::SealState::Valid => "有效",
            crate::store::SealState::Withdrawn => "已撤回",
            crate::store::SealState::Suspended => "已暂停",
            crate::store::SealState::Superseded => "已被更正版本取代",
        }
    }

    /// An RFC 3339 time as Beijing time, to the minute.
    fn local(&self, t: impl std::fmt::Display) -> String {
        super::beijing(&t.to_string())
    }

    /// The content digest as people compare it: its first 12 hex digits.
    fn short_digest(&self) -> String {
        format!("{}…", short_hash(&self.item.current.content_digest.to_string()))
    }
}

/// `sha256:abcd…` → `abcd1234`.
pub fn short_hash(h: &str) -> String {
    h.trim_start_matches("sha256:").chars().take(12).collect()
}

/// Applies a finding's suggestion (or all of them) as a new version.
pub async fn apply_fix(
    State(state): State<AppState>,
    ItemPath(id): ItemPath,
    Posted { session, form, .. }: Posted,
) -> Response {
    match fix(&state, &session, &id, &form).await {
        Ok(()) => see_other(&format!("/items/{id}?done=fixed")).into_response(),
        Err(e) => item_page(&state, &session, &id, PageQuery::default(), Some(e)).await,
    }
}

async fn fix(state: &AppState, session: &Session, id: &str, form: &Form) -> Result<(), ApiError> {
    let item = crate::http::items::item_of(state, &session.auth(), id).await?;
    let version: i64 = form.get("version").and_then(|v| v.parse().ok()).unwrap_or(0);
    if version != item.current_version {
        return Err(ApiError::Stale { expected: version, current: item.current_version });
    }
    let findings = item.review.as_ref().map(|r| r.outcome.findings.clone()).unwrap_or_default();
    let chosen: Vec<&Finding> = match form.get("finding").as_deref() {
        Some("all") => findings.iter().collect(),
        Some(n) => {
            let n: usize = n.parse().map_err(|_| ApiError::BadRequest("finding 参数不正确".into()))?;
            findings.get(n.wrapping_sub(1)).into_iter().collect()
        }
        None => Vec::new(),
    };
    let mut content = item.current.content.clone();
    // Later spans first, so earlier offsets stay valid; overlapping ones
    // after the first are skipped (the next check finds what remains).
    let mut edits: Vec<(Field, usize, usize, &str)> = chosen
        .iter()
        .filter(|f| matches!(f.field, Field::Title | Field::Body))
        .filter_map(|f| Some((f.field, f.span?.start as usize, f.span?.end as usize, f.suggestion.as_deref()?)))
        .collect();
    if edits.is_empty() {
        return Err(ApiError::Unprocessable("所选问题没有可直接应用的修改建议。".into()));
    }
    edits.sort_by(|a, b| (a.0 == Field::Body).cmp(&(b.0 == Field::Body)).then(b.1.cmp(&a.1)));
    let mut last_start: Option<(Field, usize)> = None;
    for (field, start, end, replacement) in edits {
        if matches!(last_start, Some((f, s)) if f == field && end > s) {
            continue;
        }
        let text = if field == Field::Title { &mut content.title } else { &mut content.body };
        *text = highlight::replace(text, start, end, replacement)
            .ok_or_else(|| ApiError::Conflict("问题位置与当前文本不符，请刷新后重试。".into()))?;
        last_start = Some((field, start));
    }
    let input = ItemForm::from_content(&content).input(Some(item.current_version))?;
    crate::http::items::edit(state, &session.auth(), id, input).await?;
    Ok(())
}

pub async fn vote(
    State(state): State<AppState>,
    ItemPath(id): ItemPath,
    Posted { session, form, .. }: Posted,
) -> Response {
    let value = match form.get("value").as_deref() {
        Some("approve") => VoteValue::Approve,
        Some("changes") => VoteValue::Changes,
        Some("block") => VoteValue::Block,
        _ => {
            let e = ApiError::invalid("value", "请选择审核意见：同意、退回修改或拦截");
            return item_page(&state, &session, &id, PageQuery::default(), Some(e)).await;
        }
    };
    let signoff = form.get("statement_id").is_some();
    let request = VoteRequest {
        stage: form.get("stage").unwrap_or_default(),
        value,
        content_digest: form.get("digest").unwrap_or_default(),
        comment: form.get("comment"),
        statement_id: form.get("statement_id"),
        statement_version: form.get("statement_version"),
        password: signoff.then(|| form.raw("password")),
        totp_code: signoff.then(|| form.raw("totp_code")),
    };
    match crate::http::workflow::cast_vote(&state, &session.auth(), session.address.as_deref(), &id, request).await {
        Ok(_) => {
            let done = if signoff && value == VoteValue::Approve { "signed" } else { "voted" };
            see_other(&format!("/items/{id}?done={done}")).into_response()
        }
        Err(e) => item_page(&state, &session, &id, PageQuery::default(), Some(e)).await,
    }
}

/// 越级通过: marks a stage OVERRIDDEN with a reason, by a role the policy
/// names for it (the API refuses a veto stage, a missing reason, an author).
pub async fn override_stage(
    State(state): State<AppState>,
    ItemPath(id): ItemPath,
    Posted { session, form, .. }: Posted,
) -> Response {
    let request = OverrideRequest {
        stage: form.get("stage").unwrap_or_default(),
        content_digest: form.get("digest").unwrap_or_default(),
        reason: form.get("reason").unwrap_or_default(),
    };
    let result = match crate::http::workflow::reviewer_on(&state, &session.auth(), &id).await {
        Ok((item, principal)) => service::workflow::override_stage(
            &state,
            &principal,
            item,
            &request.stage,
            &request.content_digest,
            &request.reason,
        )
        .await
        .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    after(&state, &session, &id, result, "overridden#wf-h").await
}

pub async fn comment(
    State(state): State<AppState>,
    ItemPath(id): ItemPath,
    Posted { session, form, .. }: Posted,
) -> Response {
    let request = CommentRequest {
        version: form.get("version").and_then(|v| v.parse().ok()).unwrap_or(0),
        field: form.get("field").unwrap_or_else(|| "body".into()),
        start: form.get("start").and_then(|v| v.parse().ok()),
        end: form.get("end").and_then(|v| v.parse().ok()),
        body: form.raw("body"),
    };
    let result = crate::http::workflow::comment_on(&state, &session.auth(), &id, request).await;
    after(&state, &session, &id, result, "commented#comments").await
}

pub async fn seal(
    State(state): State<AppState>,
    ItemPath(id): ItemPath,
    Posted { session, form, .. }: Posted,
) -> Response {
    let not_before = form.get("not_before").map(|v| super::china_time_input(&v));
    let request = SealItemRequest { content_digest: form.get("digest").unwrap_or_default(), not_before };
    let result = crate::http::seals::seal_current(&state, &session.auth(), &id, request).await;
    after(&state, &session, &id, result, "sealed#deliveries").await
}

pub async fn withdraw(
    State(state): State<AppState>,
    ItemPath(id): ItemPath,
    Posted { session, form, .. }: Posted,
) -> Response {
    let (reason, urgent) = (form.get("reason").unwrap_or_default(), form.get("urgent").is_some());
    let result = match readable(&state, &session, &id).await {
        Ok(item) => {
            delivery_service::withdraw(&state, session.principal(), &item, &reason, urgent).await.map_err(Into::into)
        }
        Err(e) => Err(e),
    };
    after(&state, &session, &id, result, "withdrawn#deliveries").await
}

/// The item of the page's URL, if the session may read it (as the API's
/// item routes check).
async fn readable(state: &AppState, session: &Session, id: &str) -> Result<crate::model::ItemRecord, ApiError> {
    crate::http::items::readable_item(state, &session.auth(), item_id(id)?).await
}

/// After an action on the item: on success back to the item page with a
/// message (`done`: a code of [`done_message`], then an optional `#anchor`),
/// else the item page with the API's error and status.
async fn after<T>(state: &AppState, session: &Session, id: &str, result: Result<T, ApiError>, done: &str) -> Response {
    match result {
        Ok(_) => see_other(&format!("/items/{id}?done={done}")).into_response(),
        Err(e) => item_page(state, session, id, PageQuery::default(), Some(e)).await,
    }
}

/// Waives one blocking finding (by the role the policy names, with a reason).
pub async fn waive(
    State(state): State<AppState>,
    ItemPath(id): ItemPath,
    Posted { session, form, .. }: Posted,
) -> Response {
    let request = crate::http::workflow::WaiverRequest {
        finding_id: form.get("finding_id").unwrap_or_default(),
        content_digest: form.get("digest").unwrap_or_default(),
        reason: form.raw("reason"),
    };
    let result = match crate::http::workflow::reviewer_on(&state, &session.auth(), &id).await {
        Ok((item, principal)) => service::workflow::waive(
            &state,
            &principal,
            item,
            &request.finding_id,
            &request.content_digest,
            &request.reason,
        )
        .await
        .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    after(&state, &session, &id, result, "waived#checks").await
}

/// Confirms an urgent withdrawal afterwards.
pub async fn confirm_withdrawal(
    State(state): State<AppState>,
    ItemPath(id): ItemPath,
    Posted { session, form, .. }: Posted,
) -> Response {
    let note = form.get("note").unwrap_or_default();
    let result = match readable(&state, &session, &id).await {
        Ok(item) => {
            delivery_service::confirm_withdrawal(&state, session.principal(), &item, &note).await.map_err(Into::into)
        }
        Err(e) => Err(e),
    };
    after(&state, &session, &id, result, "confirmed#deliveries").await
}

pub async fn redeliver(
    State(state): State<AppState>,
    ItemPath(id): ItemPath,
    Posted { session, form, .. }: Posted,
) -> Response {
    // The delivery must be one of this item's: a form naming another
    // item's delivery is refused (404) and changes nothing.
    let delivery = form.get("delivery").unwrap_or_default();
    let result = match item_id(&id) {
        Ok(item) => {
            delivery_service::redeliver(&state, session.principal(), &delivery, Some(item)).await.map_err(Into::into)
        }
        Err(e) => Err(e),
    };
    after(&state, &session, &id, result, "redelivered#deliveries").await
}
