//! The printable 审批表 / 保密审查单 of an item, generated from the audit
//! chain and the workflow records ("保存备查"): what was reviewed (title,
//! 发文字号, attribute, content digest), every stage with who decided what
//! and when, waivers, overrides, the sign-off statement, and the audit
//! events with their hashes, so a paper copy can be checked against the
//! chain. Plain HTML with print styles; no script.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::response::Html;

use super::extract::InPath;
use super::items::readable_item;
use super::{ApiError, AppState, Auth};
use crate::model::ItemId;
use crate::model::UserId;
use crate::workflow::VoteValue;

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
    readable_item(&state, &auth, id).await?;
    let ctx = state.db.workflow_context(id).await?;
    let evaluation = ctx.evaluate(&state.workflow);
    let (_, approvals_digest) = ctx.approval_record(&evaluation);
    let names: BTreeMap<UserId, String> =
        state.db.users().await?.into_iter().map(|u| (u.id, format!("{}（{}）", u.display_name, u.username))).collect();
    let name = |u: &UserId| names.get(u).cloned().unwrap_or_else(|| u.to_string());
    let c = &ctx.version.content;
    let stages = evaluation
        .requirements
        .iter()
        .map(|r| StageRow {
            label: r.label.clone(),
            status: r.status.label(),
            // Votes of this version by people who may still decide (a lifted
            // one is shown as lifted); see `Snapshot::counts`.
            votes: ctx
                .snapshot
                .votes
                .iter()
                .filter(|v| ctx.snapshot.counts(v.user, v.version, &v.digest))
                .filter(|v| v.stage == r.stage)
                .map(|v| VoteLine {
                    who: name(&v.user),
                    verb: match v.value {
                        VoteValue::Approve => "同意",
                        VoteValue::Changes => "要求修改",
                        VoteValue::Block => "拦截",
                    },
                    at: v.created_at.to_string(),
                    comment: v.comment.clone(),
                    lifted: v.lifted_at.map(|t| t.to_string()),
                    signoff: v.signoff.as_ref().map(|s| {
                        let field = |k: &str| s[k].as_str().unwrap_or("").to_owned();
                        (field("statement_id"), field("statement_version"))
                    }),
                })
                .collect(),
            overrides: ctx
                .snapshot
                .current_overrides()
                .filter(|o| o.stage == r.stage)
                .map(|o| OverrideLine {
                    who: name(&o.user),
                    role: o.role.label(),
                    at: o.created_at.to_string(),
                    reason: o.reason.clone(),
                })
                .collect(),
        })
        .collect();
    let waivers = ctx
        .waivers
        .iter()
        .map(|w| WaiverRow {
            rule: w.rule_id.clone(),
            who: name(&w.user_id),
            role: w.role.label(),
            at: w.created_at.to_string(),
            reason: w.reason.clone(),
        })
        .collect();
    let events = state
        .db
        .audit_events(Some(id), 0, 10_000)
        .await?
        .into_iter()
        .map(|e| EventRow {
            actor: e.actor_id.as_deref().and_then(|a| a.parse().ok()).map_or_else(|| "系统".to_owned(), |u| name(&u)),
            seq: e.seq,
            at: e.at,
            action: e.action,
            hash: e.hash,
        })
        .collect();
    let form = ApprovalForm {
        title: c.title.clone(),
        doc_number: c.doc_number.clone().unwrap_or_else(|| "—".into()),
        issuer: c.issuer.clone().unwrap_or_else(|| "—".into()),
        attribute: c.attribute.label(),
        reason: c.attribute_reason.clone().map(|r| (r, c.legal_basis.clone().unwrap_or_else(|| "—".into()))),
        channels: c.channels.join("、"),
        version: ctx.version.version,
        digest: ctx.version.content_digest.to_string(),
        state: ctx.item.state.label(),
        approvals: approvals_digest.to_string(),
        stages,
        statement: state.workflow.statement.text.clone(),
        waivers,
        events,
    };
    form.render().map(Html).map_err(|e| ApiError::Internal(format!("template: {e}")))
}
