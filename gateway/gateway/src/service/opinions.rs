//! The opinion trail of an item: every vote, send-back, veto (and its
//! lifting), override, waiver and comment, oldest first, with who gave it
//! (name and the role they acted in), the stage, the version and the text,
//! so that the drafter sees why an item came back and from whom, a second
//! reviewer reads the first one's note, and a leader signing off sees the
//! 保密审查 opinions the statement asks them to confirm.
//!
//! It reads what the workflow tables hold; it decides nothing (what counts
//! now is `workflow`'s, shown on the page in the stage table).

use std::collections::BTreeMap;

use super::Error;
use crate::auth::{Principal, Role};
use crate::model::{ItemId, Timestamp, UserId};
use crate::state::AppState;
use crate::workflow::VoteValue;

/// What an entry of the trail records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpinionKind {
    Approve,
    /// A 签发 (approval of a sign-off stage, with the statement).
    Signoff,
    /// 退回修改.
    Changes,
    /// 拦截 on an ordinary stage.
    Block,
    /// 保密审查不通过: a veto, standing across versions until lifted.
    Veto,
    /// The author of a veto lifted it.
    VetoLifted,
    /// 越级通过.
    Override,
    /// A blocking finding waived.
    Waiver,
    Comment,
}

impl OpinionKind {
    /// The verb people read.
    pub fn label(self) -> &'static str {
        match self {
            OpinionKind::Approve => "同意",
            OpinionKind::Signoff => "签发",
            OpinionKind::Changes => "退回修改",
            OpinionKind::Block => "拦截",
            OpinionKind::Veto => "保密审查不通过（拦截）",
            OpinionKind::VetoLifted => "撤销拦截",
            OpinionKind::Override => "越级通过",
            OpinionKind::Waiver => "豁免必须修改的问题",
            OpinionKind::Comment => "批注",
        }
    }

    /// The badge class (`ok`, `bad`, `wait`, `na`).
    pub fn class(self) -> &'static str {
        match self {
            OpinionKind::Approve | OpinionKind::Signoff | OpinionKind::Override | OpinionKind::VetoLifted => "ok",
            OpinionKind::Changes => "wait",
            OpinionKind::Block | OpinionKind::Veto => "bad",
            OpinionKind::Waiver | OpinionKind::Comment => "na",
        }
    }
}

/// One entry of the trail.
#[derive(Clone, Debug)]
pub struct Opinion {
    pub at: Timestamp,
    pub user: UserId,
    /// The person's display name.
    pub who: String,
    /// The role they acted in (the stage's role they hold), when known.
    pub role: Option<&'static str>,
    /// The stage's id and label (none for comments and waivers).
    pub stage: Option<(String, String)>,
    /// The stage is a veto stage (保密审查).
    pub secrecy: bool,
    pub version: i64,
    pub kind: OpinionKind,
    /// The comment, reason or note, as written.
    pub text: Option<String>,
    /// The words a comment is about.
    pub quote: Option<String>,
}

/// The trail of an item the principal may read, oldest first.
pub async fn opinions(state: &AppState, principal: &Principal, id: ItemId) -> Result<Vec<Opinion>, Error> {
    super::items::readable(state, principal, id).await?;
    let ctx = state.db.workflow_context(id).await?;
    let users: BTreeMap<UserId, (String, std::collections::BTreeSet<Role>)> =
        state.db.users().await?.into_iter().map(|u| (u.id, (u.display_name, u.roles))).collect();
    let who = |u: &UserId| users.get(u).map_or_else(|| "（已删除的用户）".to_owned(), |(n, _)| n.clone());
    let stage_of = |stage: &str| {
        let policy = state.workflow.stage(stage);
        let label = policy.map_or_else(|| stage.to_owned(), |s| s.label.clone());
        (stage.to_owned(), label, policy.is_some_and(|s| s.veto), policy.is_some_and(|s| s.signoff))
    };
    // The role of the stage the person holds (the first the policy names).
    let role_in = |u: &UserId, stage: &str| {
        let held = users.get(u).map(|(_, r)| r);
        state
            .workflow
            .stage(stage)
            .and_then(|s| s.roles.iter().find(|r| held.is_some_and(|h| h.contains(r))))
            .or_else(|| held.and_then(|h| h.iter().next()))
            .map(|r| r.label())
    };
    let mut out = Vec::new();
    for v in &ctx.snapshot.votes {
        let (stage, label, veto, signoff) = stage_of(&v.stage);
        let kind = match v.value {
            VoteValue::Approve if signoff => OpinionKind::Signoff,
            VoteValue::Approve => OpinionKind::Approve,
            VoteValue::Changes => OpinionKind::Changes,
            VoteValue::Block if veto => OpinionKind::Veto,
            VoteValue::Block => OpinionKind::Block,
        };
        let entry = Opinion {
            at: v.created_at,
            user: v.user,
            who: who(&v.user),
            role: role_in(&v.user, &v.stage),
            stage: Some((stage, label)),
            secrecy: veto,
            version: v.version,
            kind,
            text: v.comment.clone(),
            quote: None,
        };
        if let Some(lifted) = v.lifted_at {
            out.push(Opinion { at: lifted, kind: OpinionKind::VetoLifted, text: None, ..entry.clone() });
        }
        out.push(entry);
    }
    for o in &ctx.snapshot.overrides {
        let (stage, label, veto, _) = stage_of(&o.stage);
        out.push(Opinion {
            at: o.created_at,
            user: o.user,
            who: who(&o.user),
            role: Some(o.role.label()),
            stage: Some((stage, label)),
            secrecy: veto,
            version: o.version,
            kind: OpinionKind::Override,
            text: Some(o.reason.clone()),
            quote: None,
        });
    }
    for w in &ctx.waivers {
        out.push(Opinion {
            at: w.created_at,
            user: w.user_id,
            who: who(&w.user_id),
            role: Some(w.role.label()),
            stage: None,
            secrecy: false,
            version: w.version,
            kind: OpinionKind::Waiver,
            text: Some(w.reason.clone()),
            quote: None,
        });
    }
    for (c, author) in state.db.comments(id).await? {
        let role = users.get(&c.user_id).and_then(|(_, r)| r.iter().next()).map(|r| r.label());
        out.push(Opinion {
            at: c.created_at,
            user: c.user_id,
            who: author,
            role,
            stage: None,
            secrecy: false,
            version: c.version,
            kind: OpinionKind::Comment,
            text: Some(c.body),
            quote: c.quote,
        });
    }
    out.sort_by_key(|o| o.at);
    Ok(out)
}
