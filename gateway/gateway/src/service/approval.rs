//! The 审批表 / 保密审查单 of an item ("保存备查"): what was reviewed, every
//! stage with who decided what and when, overrides, waivers, the sign-off
//! statement and the item's audit events, gathered once for the two ways it
//! is shown (the API's printable page, `http/form.rs`, and the page of the
//! web interface, `http/web/approval.rs`), which only format it.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Error;
use crate::auth::Principal;
use crate::model::{ItemId, ItemRecord, StoredVersion, Timestamp, UserId};
use crate::state::AppState;
use crate::workflow::VoteValue;

/// An item's approval record, as the 审批表 shows it.
pub struct ApprovalRecord {
    pub item: ItemRecord,
    pub version: StoredVersion,
    /// Who drafted the item (拟稿人): `姓名（用户名）`, with the unit when known.
    pub drafter: String,
    pub approvals_digest: String,
    pub stages: Vec<StageLines>,
    /// The sign-off statement's text, shown with each sign-off.
    pub statement: String,
    pub waivers: Vec<WaiverLine>,
    pub events: Vec<EventLine>,
}

/// One requirement: who decided what, and any override.
pub struct StageLines {
    pub label: String,
    pub status: &'static str,
    pub votes: Vec<VoteLine>,
    pub overrides: Vec<OverrideLine>,
}

pub struct VoteLine {
    pub who: String,
    pub verb: &'static str,
    pub at: Timestamp,
    pub comment: Option<String>,
    pub lifted: Option<Timestamp>,
    /// (statement id, statement version) of a sign-off.
    pub signoff: Option<(String, String)>,
}

pub struct OverrideLine {
    pub who: String,
    pub role: &'static str,
    pub at: Timestamp,
    pub reason: String,
}

pub struct WaiverLine {
    pub rule: String,
    pub who: String,
    pub role: &'static str,
    pub at: Timestamp,
    pub reason: String,
}

pub struct EventLine {
    pub seq: i64,
    /// RFC 3339 UTC, as chained.
    pub at: String,
    /// The event's code (`item.create`).
    pub action: String,
    pub detail: Value,
    pub actor: String,
    pub hash: String,
}

/// The approval record of a readable item's current version.
pub async fn approval_record(state: &AppState, principal: &Principal, id: ItemId) -> Result<ApprovalRecord, Error> {
    let item = super::items::readable(state, principal, id).await?;
    let ctx = state.db.workflow_context(id).await?;
    let evaluation = ctx.evaluate(&state.workflow);
    let (_, approvals_digest) = ctx.approval_record(&evaluation);
    let users = state.db.users().await?;
    let names: BTreeMap<UserId, String> =
        users.iter().map(|u| (u.id, format!("{}（{}）", u.display_name, u.username))).collect();
    let name = |u: &UserId| names.get(u).cloned().unwrap_or_else(|| u.to_string());
    let drafter = users.iter().find(|u| u.id == item.created_by).map_or_else(
        || item.created_by.to_string(),
        |u| match &u.unit_name {
            Some(unit) => format!("{}（{}），{unit}", u.display_name, u.username),
            None => format!("{}（{}）", u.display_name, u.username),
        },
    );
    let stages = evaluation
        .requirements
        .iter()
        .map(|r| StageLines {
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
                    at: v.created_at,
                    comment: v.comment.clone(),
                    lifted: v.lifted_at,
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
                    at: o.created_at,
                    reason: o.reason.clone(),
                })
                .collect(),
        })
        .collect();
    let waivers = ctx
        .waivers
        .iter()
        .map(|w| WaiverLine {
            rule: w.rule_id.clone(),
            who: name(&w.user_id),
            role: w.role.label(),
            at: w.created_at,
            reason: w.reason.clone(),
        })
        .collect();
    let events = state
        .db
        .audit_events(Some(id), 0, 10_000)
        .await?
        .into_iter()
        .map(|e| EventLine {
            actor: e.actor_id.as_deref().and_then(|a| a.parse().ok()).map_or_else(|| "系统".to_owned(), |u| name(&u)),
            seq: e.seq,
            at: e.at,
            action: e.action,
            detail: e.detail,
            hash: e.hash,
        })
        .collect();
    Ok(ApprovalRecord {
        item,
        version: ctx.version.clone(),
        drafter,
        approvals_digest: approvals_digest.to_string(),
        stages,
        statement: state.workflow.statement.text.clone(),
        waivers,
        events,
    })
}
