//! The item pages: the new-item and edit forms (`form`), the item page with
//! the findings in the text, the workflow, the sign-off, comments, the diff
//! since the last look, the seal and the deliveries (here), and the actions
//! taken from it (`actions`).

mod actions;
mod changes;
mod form;

pub use actions::*;
pub use form::*;

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::auth::Role;
use crate::channel::{DeliveryState, EventKind};
use crate::http::items::{DiffQuery, DiffView, ItemView};
use crate::http::web::highlight::{self, Mark, Segment};
use crate::http::web::{ItemPath, Layout, PageQuery, Session, done_message, error_page, render, render_status};
use crate::http::workflow::{CommentView, WorkflowView};
use crate::http::{ApiError, AppQuery, AppState};
use std::collections::BTreeMap;

use crate::model::ItemId;
use crate::model::{ItemState, UserId, VersionContent};
use crate::review::{Field, Finding, Severity};
use crate::service::delivery::{self as delivery_service, ItemDeliveries};
use crate::service::opinions::{Opinion, OpinionKind};
use crate::workflow::Status;

/// What a submission the checks stopped says, in red, above the findings.
pub const BLOCKED_MESSAGE: &str = "已拦截：自动检查发现必须修改的问题，未进入审核。请先修改以下问题，再重新提交审核。";

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
    /// For a finding in an attachment: where, and the extracted text.
    pub attachment: Option<AttachmentExcerpt>,
}

/// A finding's place in an attachment and the extracted text around it
/// (`templates/finding_attachment.html`).
#[derive(Clone)]
pub struct AttachmentExcerpt {
    /// `附件 公示.xlsx，工作表“公示名单”，单元格 C2`.
    pub locator: String,
    pub before: String,
    pub marked: String,
    pub after: String,
}

fn attachment_excerpt(f: &Finding) -> Option<AttachmentExcerpt> {
    let spot = f.attachment.as_ref()?;
    let text = spot.excerpt.as_str();
    let (before, marked, after) = spot
        .span
        .and_then(|s| {
            let (a, b) = (s.start as usize, s.end as usize);
            Some((text.get(..a)?, text.get(a..b)?, text.get(b..)?))
        })
        .unwrap_or((text, "", ""));
    Some(AttachmentExcerpt {
        locator: spot.locator.to_string(),
        before: before.to_owned(),
        marked: marked.to_owned(),
        after: after.to_owned(),
    })
}

/// An attachment with findings, as the checks section offers to handle it:
/// a masked copy in one click (XLSX, CSV, DOCX with suggested masks from
/// the current version's own check), or the plain word that the file must
/// be replaced.
pub struct AttachmentAction {
    pub name: String,
    /// Suggested masks in it (0 when it cannot be masked).
    pub edits: usize,
    pub maskable: bool,
}

fn attachment_actions(content: &VersionContent, findings: &[Finding], checked: bool) -> Vec<AttachmentAction> {
    use crate::service::attachments::{edits_for, maskable};
    content
        .attachments
        .iter()
        .filter_map(|a| {
            let concerned = findings.iter().any(|f| {
                f.field == Field::Attachment
                    && matches!(f.severity, Severity::Block | Severity::Warn)
                    && f.attachment.as_ref().is_some_and(|s| in_file(&s.locator.file, &a.name))
            });
            if !concerned {
                return None;
            }
            if !maskable(&a.name, &a.media_type) {
                return Some(AttachmentAction { name: a.name.clone(), edits: 0, maskable: false });
            }
            let edits = if checked { edits_for(findings, &a.name).len() } else { 0 };
            (edits > 0).then(|| AttachmentAction { name: a.name.clone(), edits, maskable: true })
        })
        .collect()
}

/// Whether a locator's `file` is the attachment `name` or a file inside it.
fn in_file(file: &str, name: &str) -> bool {
    file == name || file.strip_prefix(name).is_some_and(|rest| rest.starts_with('/'))
}

/// Findings of one severity.
pub struct FindingGroup {
    pub label: &'static str,
    pub class: &'static str,
    pub rows: Vec<FindingRow>,
}

pub(super) fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::Block => "必须修改",
        Severity::Warn => "请审核关注",
        Severity::Info => "提示",
    }
}

pub(super) fn field_label(f: Field) -> &'static str {
    match f {
        Field::Title => "标题",
        Field::Body => "正文",
        Field::DocNumber => "发文字号",
        Field::Issuer => "发文机关",
        Field::Attribute => "公开属性",
        Field::AttributeReason => "不公开理由",
        Field::Attachment => "附件",
        _ => "整体",
    }
}

pub(super) fn field_text(content: &VersionContent, f: Field) -> Option<&str> {
    match f {
        Field::Title => Some(&content.title),
        Field::Body => Some(&content.body),
        Field::DocNumber => content.doc_number.as_deref(),
        Field::Issuer => content.issuer.as_deref(),
        Field::AttributeReason => content.attribute_reason.as_deref(),
        _ => None,
    }
}

pub(super) fn is_secrecy(f: &Finding) -> bool {
    f.rule_id.starts_with("PII-") || f.rule_id.starts_with("SEC-") || f.plugin == "pii" || f.plugin == "secrecy"
}

pub(super) fn finding_rows(content: &VersionContent, findings: &[Finding]) -> Vec<FindingRow> {
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
                attachment: attachment_excerpt(f),
            }
        })
        .collect()
}

pub(super) fn marks(findings: &[Finding], field: Field) -> Vec<Mark> {
    findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.field == field)
        .filter_map(|(i, f)| {
            f.span.map(|s| Mark { finding: i + 1, start: s.start as usize, end: s.end as usize, severity: f.severity })
        })
        .collect()
}

/// The findings of the version before `new` that its text still shows,
/// moved to where their words now are: after a one-click fix (or any
/// edit), the other findings stay on the page until the next check. A
/// finding whose words are gone (fixed) is dropped; one without a span
/// (about the whole item) is kept as it was.
pub(super) fn carry_findings(old: &VersionContent, findings: &[Finding], new: &VersionContent) -> Vec<Finding> {
    findings
        .iter()
        .filter_map(|f| {
            // A finding in an attachment stays while the same file does: a
            // replaced (or masked) file is checked afresh.
            if let Some(spot) = &f.attachment
                && f.field == Field::Attachment
            {
                let same = |a: &&crate::model::AttachmentRef| in_file(&spot.locator.file, &a.name);
                let (was, is) = (old.attachments.iter().find(same), new.attachments.iter().find(same));
                return match (was, is) {
                    (Some(was), Some(is)) if was.digest == is.digest => Some(f.clone()),
                    _ => None,
                };
            }
            let Some(span) = f.span else { return Some(f.clone()) };
            let quote = field_text(old, f.field)?.get(span.start as usize..span.end as usize)?;
            let text = field_text(new, f.field)?;
            // The occurrence nearest to where it was.
            let at = text.match_indices(quote).map(|(at, _)| at).min_by_key(|at| at.abs_diff(span.start as usize))?;
            let mut moved = f.clone();
            moved.span = Some(crate::review::Span { start: at as u32, end: (at + quote.len()) as u32 });
            Some(moved)
        })
        .collect()
}

/// The findings the page shows for the current version: its own check's,
/// or, before it is checked, those of the previous version's check its
/// text still shows (with that version's number).
pub(super) async fn page_findings(state: &AppState, item: &ItemView) -> Result<(Vec<Finding>, Option<i64>), ApiError> {
    if let Some(r) = &item.review {
        return Ok((r.outcome.findings.clone(), None));
    }
    let previous = item.current_version - 1;
    if previous < 1 {
        return Ok((Vec::new(), None));
    }
    let Some(review) = state.db.reviews(item.id, Some(previous)).await?.into_iter().rfind(|r| r.phase == "submit")
    else {
        return Ok((Vec::new(), None));
    };
    let old = state.db.version(item.id, previous).await?;
    let carried = carry_findings(&old.content, &review.outcome.findings, &item.current.content);
    Ok((carried, Some(previous)))
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

pub(super) fn stage_rows(w: &WorkflowView, names: &BTreeMap<UserId, String>) -> Vec<StageRow> {
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
                (None, false, _) => format!(
                    "已同意：{}",
                    q.approved_by
                        .iter()
                        .map(|u| names.get(u).map_or("（已删除的用户）", String::as_str))
                        .collect::<Vec<_>>()
                        .join("、")
                ),
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

/// One entry of the opinion trail as the page shows it.
pub struct OpinionRow {
    pub at: String,
    pub who: String,
    pub role: &'static str,
    pub stage: String,
    pub version: i64,
    pub verb: &'static str,
    pub class: &'static str,
    pub text: Option<String>,
    pub quote: Option<String>,
    /// An opinion of the 保密审查 stage on the current version (the
    /// sign-off form asks the leader to confirm these).
    pub secrecy_now: bool,
}

pub(super) fn opinion_rows(opinions: &[Opinion], current_version: i64) -> Vec<OpinionRow> {
    opinions
        .iter()
        .map(|o| OpinionRow {
            at: crate::http::web::beijing(&o.at.to_string()),
            who: o.who.clone(),
            role: o.role.unwrap_or(""),
            stage: o.stage.as_ref().map(|(_, label)| label.clone()).unwrap_or_default(),
            version: o.version,
            verb: o.kind.label(),
            class: o.kind.class(),
            text: o.text.clone(),
            quote: o.quote.clone(),
            secrecy_now: o.secrecy && (o.version == current_version || o.kind == OpinionKind::Veto),
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

/// A seal's status as people read it.
pub fn seal_state_label(s: crate::store::SealState) -> &'static str {
    match s {
        crate::store::SealState::Valid => "有效",
        crate::store::SealState::Withdrawn => "已撤回",
        crate::store::SealState::Suspended => "已暂停",
        crate::store::SealState::Superseded => "已被更正版本取代",
    }
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
    /// The last attempt's result in words.
    pub last: String,
    /// The same with its technical detail (HTTP status, the transport's
    /// error), for the 技术信息 disclosure.
    pub last_tech: Option<String>,
    pub retryable: bool,
    /// On a platform the gateway posts to (WeChat, Weibo): what the
    /// platform says, and the post's public address.
    pub platform: Option<String>,
    pub post_url: Option<String>,
}

/// A delivery's last attempt in the office's words, and its technical
/// detail apart: an HTTP status says what the channel did; an error written
/// for people is shown as it is, one that names the protocol only behind
/// the disclosure.
fn last_attempt(status: Option<i64>, error: Option<&str>) -> (String, Option<String>) {
    let said = |s: i64| match s {
        200..=299 => "渠道已接收",
        408 | 429 => "渠道繁忙，稍后自动重试",
        400..=499 => "渠道拒收",
        500..=599 => "渠道服务出错，稍后自动重试",
        _ => "渠道回应异常",
    };
    let error: Option<String> = error.map(|e| e.chars().take(120).collect());
    match (status, error) {
        (_, Some(e)) if !e.contains("HTTP") => (e, status.map(|s| format!("HTTP {s}"))),
        (Some(s), Some(e)) => (said(s).to_owned(), Some(e)),
        (None, Some(e)) => ("投递未成功，稍后自动重试".to_owned(), Some(e)),
        (Some(s), None) => (said(s).to_owned(), Some(format!("HTTP {s}"))),
        (None, None) => (String::new(), None),
    }
}

pub(super) fn channel_rows(d: &ItemDeliveries) -> Vec<ChannelRow> {
    let posts = &d.posts;
    let groups = crate::http::web::group_by(d.deliveries.iter().map(|v| (v.delivery.channel.clone(), v)));
    groups
        .into_iter()
        .map(|(channel, list)| ChannelRow {
            label: channel_label(&channel),
            rows: list
                .into_iter()
                .map(|v| {
                    let d = &v.delivery;
                    let (last, last_tech) = last_attempt(d.last_status, d.last_error.as_deref());
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
                        last_tech,
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
pub(super) fn withdraw_checklist(d: &ItemDeliveries) -> Vec<(String, bool)> {
    let withdrawals = d.deliveries.iter().filter(|v| v.delivery.kind == EventKind::Withdraw);
    crate::http::web::group_by(
        withdrawals.map(|v| (v.delivery.channel.clone(), v.delivery.state == DeliveryState::Delivered)),
    )
    .into_iter()
    .map(|(channel, confirmed)| (channel_label(&channel), confirmed.iter().all(|c| *c)))
    .collect()
}

#[derive(Template)]
#[template(path = "item.html")]
pub(super) struct ItemPage {
    layout: Layout,
    item: ItemView,
    id: ItemId,
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
    /// Every opinion given on the item, oldest first.
    opinions: Vec<OpinionRow>,
    my_stages: Vec<MyStage>,
    overridable: Vec<OverridableStage>,
    comments: Vec<CommentView>,
    diff: Option<DiffView>,
    /// The diff's header fields, field by field in words.
    header_changes: Vec<changes::HeaderChange>,
    can_edit: bool,
    /// A withdrawn item its unit's drafter may correct and republish.
    can_correct: bool,
    /// The items that correct this withdrawn one: id and state.
    corrections: Vec<(ItemId, &'static str)>,
    /// The findings shown are the previous version's (by number), carried
    /// to the current text until it is checked.
    carried_from: Option<i64>,
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
    /// Attachments with findings: a masked copy offered, or the word that
    /// the file must be replaced (`templates/attachment_mask.html`).
    attachment_actions: Vec<AttachmentAction>,
    /// What the masked copy that made the current version changed.
    masked_changes: Vec<crate::service::attachments::MaskChange>,
}

pub async fn page(
    State(state): State<AppState>,
    session: Session,
    ItemPath(id): ItemPath,
    AppQuery(q): AppQuery<PageQuery>,
) -> Response {
    item_page(&state, &session, id, q, None).await
}

/// The item page, with an error from an action shown on top (and the
/// action's status) or a success message.
pub(super) async fn item_page(
    state: &AppState,
    session: &Session,
    id: ItemId,
    q: PageQuery,
    error: Option<ApiError>,
) -> Response {
    match build_page(state, session, id, &q).await {
        Ok(mut page) => {
            // The person has now seen the item: its notifications are read.
            match state.db.mark_item_notifications_read(session.principal().user_id, id).await {
                Ok(n) => page.layout.unread = page.layout.unread.saturating_sub(usize::try_from(n).unwrap_or(0)),
                Err(e) => tracing::warn!(error = %e, "cannot mark the item's notifications read"),
            }
            if q.done.as_deref() == Some("blocked") {
                page.layout.error = Some(BLOCKED_MESSAGE.into());
            } else {
                page.layout.notice = done_message(q.done.as_deref());
            }
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

pub(super) async fn build_page(
    state: &AppState,
    session: &Session,
    id: ItemId,
    q: &PageQuery,
) -> Result<ItemPage, ApiError> {
    use crate::http::{items, workflow};
    let auth = session.auth();
    let item = items::item_of(state, &auth, id).await?;
    let workflow = Some(workflow::workflow_of(state, &auth, id).await?);
    let p = session.principal();
    let content = &item.current.content;
    let (findings, carried_from) = page_findings(state, &item).await?;
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
    // Fixing and editing are offered where the drafter is expected to
    // work on the text (not while reviewers are reading it, although an
    // edit then is allowed and takes the item out of review).
    let drafting = item.state.is_editable() && item.state != ItemState::InReview;
    let can_fix = item.created_by == p.user_id && drafting && rows.iter().any(|r| r.fixable);
    let can_mask = item.created_by == p.user_id && drafting && p.has_role(Role::Drafter);
    let attachment_actions = if can_mask {
        // Masks are offered only from the current version's own check.
        attachment_actions(content, &findings, carried_from.is_none() && item.review.is_some())
    } else {
        Vec::new()
    };
    let record = items::readable_item(state, &auth, id).await?;
    let masked_changes = crate::service::attachments::changes_of(state, &record, item.current_version).await?;
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
    let opinions = crate::service::opinions::opinions(state, p, id).await?;
    let names: BTreeMap<UserId, String> = opinions.iter().map(|o| (o.user, o.who.clone())).collect();
    let from = q.from.or(item.previously_seen_version).filter(|v| *v < item.current_version && *v >= 1);
    let diff = match from {
        Some(from) => {
            Some(items::diff_of(state, &session.auth(), id, &DiffQuery { from, to: item.current_version }).await?)
        }
        None => None,
    };
    // The header fields in words, from the two versions the diff compared.
    let header_changes = match &diff {
        Some(d) => changes::header_changes(&state.db.version(id, d.from).await?.content, content),
        None => Vec::new(),
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
    let corrections = if item.state == ItemState::Withdrawn {
        let all = state.db.corrections_of(id).await?;
        all.into_iter().filter(|c| crate::service::items::may_read(p, c)).map(|c| (c.id, c.state.label())).collect()
    } else {
        Vec::new()
    };
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
        id,
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
        stages: workflow.as_ref().map(|w| stage_rows(w, &names)).unwrap_or_default(),
        opinions: opinion_rows(&opinions, item.current_version),
        my_stages,
        overridable,
        comments,
        diff,
        header_changes,
        can_edit: is_author && drafting && p.has_role(Role::Drafter),
        can_correct: item.state == ItemState::Withdrawn && crate::service::items::may_edit(p, &record),
        corrections,
        carried_from,
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
        attachment_actions,
        masked_changes,
    })
}

impl ItemPage {
    /// How many findings the page lists.
    fn finding_count(&self) -> usize {
        self.groups.iter().map(|g| g.rows.len()).sum()
    }

    /// The 保密审查 stage has an opinion on the current version.
    fn has_secrecy_opinion(&self) -> bool {
        self.opinions.iter().any(|o| o.secrecy_now)
    }

    /// A seal's status for people.
    fn seal_label(&self, s: &crate::store::SealState) -> &'static str {
        seal_state_label(*s)
    }

    /// An RFC 3339 time as Beijing time, to the minute.
    fn local(&self, t: impl std::fmt::Display) -> String {
        crate::http::web::beijing(&t.to_string())
    }
}

/// `sha256:abcd…` → `abcd1234`.
pub fn short_hash(h: &str) -> String {
    h.trim_start_matches("sha256:").chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::last_attempt;

    #[test]
    fn a_deliverys_last_attempt_is_said_in_words_with_the_protocol_apart() {
        assert_eq!(last_attempt(Some(200), None), ("渠道已接收".into(), Some("HTTP 200".into())));
        assert_eq!(last_attempt(Some(503), None).0, "渠道服务出错，稍后自动重试");
        assert_eq!(last_attempt(Some(404), None).0, "渠道拒收");
        let (said, tech) = last_attempt(Some(500), Some("平台接口 发布 返回 HTTP 500"));
        assert_eq!(
            (said.as_str(), tech.as_deref()),
            ("渠道服务出错，稍后自动重试", Some("平台接口 发布 返回 HTTP 500"))
        );
        let (said, tech) = last_attempt(None, Some("签名密钥不可用"));
        assert_eq!((said.as_str(), tech), ("签名密钥不可用", None), "an error written for people stays in view");
        assert_eq!(last_attempt(None, None), (String::new(), None));
    }
}
