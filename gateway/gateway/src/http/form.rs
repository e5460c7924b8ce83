//! The printable 审批表 / 保密审查单 of an item, generated from the audit
//! chain and the workflow records ("保存备查"): what was reviewed (title,
//! 发文字号, attribute, content digest), every stage with who decided what
//! and when, waivers, overrides, the sign-off statement, and the audit
//! events with their hashes, so a paper copy can be checked against the
//! chain. Plain HTML with print styles; no script.

use askama::Template;
use axum::extract::State;
use axum::response::Html;

use super::extract::InPath;
use super::{ApiError, AppState, Auth};
use crate::model::ItemId;

/// The page (`templates/approval_form.html`). Every value is plain text:
/// the template's escaper (`askama.toml`) escapes it and shows hidden
/// characters as markers, as on every page.
#[derive(Template)]
#[template(path = "approval_form.html")]
struct ApprovalForm {
    title: String,
    doc_number: String,
    issuer: String,
    attribute: &'static str,
    /// (reason, legal basis) when the attribute needs one.
    reason: Option<(String, String)>,
    channels: String,
    version: i64,
    digest: String,
    state: &'static str,
    approvals: String,
    stages: Vec<StageRow>,
    /// The sign-off statement's text, shown with each sign-off.
    statement: String,
    waivers: Vec<WaiverRow>,
    events: Vec<EventRow>,
}

/// One requirement: who decided what, and any override.
struct StageRow {
    label: String,
    status: &'static str,
    votes: Vec<VoteLine>,
    overrides: Vec<OverrideLine>,
}

struct VoteLine {
    who: String,
    verb: &'static str,
    at: String,
    comment: Option<String>,
    lifted: Option<String>,
    /// (statement id, statement version) of a sign-off.
    signoff: Option<(String, String)>,
}

struct OverrideLine {
    who: String,
    role: &'static str,
    at: String,
    reason: String,
}

struct WaiverRow {
    rule: String,
    who: String,
    role: &'static str,
    at: String,
    reason: String,
}

struct EventRow {
    seq: i64,
    at: String,
    action: String,
    actor: String,
    hash: String,
}

/// The 审批表 of an item's current version, for printing.
#[utoipa::path(get, path = "/api/v1/items/{id}/form", tag = "workflow", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/html", description = "审批表 / 保密审查单"), (status = 404, body = super::Problem)))]
pub async fn approval_form(
    State(state): State<AppState>,
    auth: Auth,
    InPath(id): InPath<ItemId>,
) -> Result<Html<String>, ApiError> {
    let r = crate::service::approval::approval_record(&state, &auth.0, id).await?;
    let c = &r.version.content;
    let stages = r
        .stages
        .into_iter()
        .map(|s| StageRow {
            label: s.label,
            status: s.status,
            votes: s
                .votes
                .into_iter()
                .map(|v| VoteLine {
                    who: v.who,
                    verb: v.verb,
                    at: v.at.to_string(),
                    comment: v.comment,
                    lifted: v.lifted.map(|t| t.to_string()),
                    signoff: v.signoff,
                })
                .collect(),
            overrides: s
                .overrides
                .into_iter()
                .map(|o| OverrideLine { who: o.who, role: o.role, at: o.at.to_string(), reason: o.reason })
                .collect(),
        })
        .collect();
    let waivers = r
        .waivers
        .into_iter()
        .map(|w| WaiverRow { rule: w.rule, who: w.who, role: w.role, at: w.at.to_string(), reason: w.reason })
        .collect();
    let events = r
        .events
        .into_iter()
        .map(|e| EventRow { seq: e.seq, at: e.at, action: e.action, actor: e.actor, hash: e.hash })
        .collect();
    let form = ApprovalForm {
        title: c.title.clone(),
        doc_number: c.doc_number.clone().unwrap_or_else(|| "—".into()),
        issuer: c.issuer.clone().unwrap_or_else(|| "—".into()),
        attribute: c.attribute.label(),
        reason: c.attribute_reason.clone().map(|r| (r, c.legal_basis.clone().unwrap_or_else(|| "—".into()))),
        channels: c.channels.join("、"),
        version: r.version.version,
        digest: r.version.content_digest.to_string(),
        state: r.item.state.label(),
        approvals: r.approvals_digest,
        stages,
        statement: r.statement,
        waivers,
        events,
    };
    form.render().map(Html).map_err(|e| ApiError::Internal(format!("template: {e}")))
}
