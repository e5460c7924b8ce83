//! The review workflow: requirements as declarative policy, separation of
//! duties, where an item goes after each action, deadlines in working days,
//! and the identity of findings for waivers.
//!
//! This module decides; it does no IO. `store::workflow` loads the
//! [`Snapshot`] and writes actions and state changes in one transaction;
//! `http::workflow` checks who is acting and calls both. The state machine
//! is drawn in ARCHITECTURE.md.

pub mod approved;
pub mod context;
pub mod policy;
pub mod requirements;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use workdays::{Calendar, Date};

pub use context::{Action, Applied, PreparedSealReview, StoredReview, WaiverRecord, WorkflowContext};
pub use policy::{Stage, WorkflowPolicy, WorkflowPolicyError};
pub use requirements::{
    Candidate, Evaluation, OverrideRecord, Refusal, Requirement, Snapshot, Status, VoteRecord, VoteValue,
    approval_record, approvals_digest,
};

use crate::model::{ItemId, ItemRecord, ItemState, Timestamp, UserId};
use crate::review::Finding;

/// Where an item under review goes, given its requirements and findings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// A veto, an unwaived blocking finding or a requirement nobody can
    /// fill; the reasons in Chinese.
    Blocked(Vec<String>),
    /// A reviewer asked for changes: back to the drafter.
    ChangesRequested,
    /// Requirements are still pending.
    InReview,
    /// Every requirement is satisfied or overridden: ready for the
    /// seal-phase check and then `approved`.
    Complete,
}

impl Next {
    /// The item state this outcome puts an item under review in.
    pub fn state(&self) -> ItemState {
        match self {
            Next::Blocked(_) => ItemState::Blocked,
            Next::ChangesRequested => ItemState::ChangesRequested,
            Next::InReview => ItemState::InReview,
            Next::Complete => ItemState::Approved,
        }
    }
}

/// The states whose items the workflow evaluates (votes, rechecks, sweeps).
pub const ACTIVE: &[ItemState] = &[ItemState::InReview, ItemState::Blocked, ItemState::ChangesRequested];

/// An in-app notification to be added (deduplicated by `key`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub user: UserId,
    pub kind: &'static str,
    pub item: Option<ItemId>,
    pub message: String,
    pub key: String,
}

/// The send-backs and vetoes that stand on the context's version, oldest
/// first, as people read them: `初审（张三）：请核对救助金额` (`names`: the
/// voters' display names; an unknown voter is shown as 审核人). A veto
/// (保密审查 block) stands across versions until its author lifts it.
pub fn objections(context: &WorkflowContext, evaluation: &Evaluation, names: &BTreeMap<UserId, String>) -> Vec<String> {
    let digest = &context.version.content_digest;
    let mut votes: Vec<&VoteRecord> = context
        .snapshot
        .votes
        .iter()
        .filter(|v| v.lifted_at.is_none() && v.value != VoteValue::Approve)
        .filter(|v| {
            &v.digest == digest
                || (v.value == VoteValue::Block && evaluation.requirements.iter().any(|r| r.stage == v.stage && r.veto))
        })
        .collect();
    votes.sort_by_key(|v| v.created_at);
    votes
        .into_iter()
        .map(|v| {
            let stage =
                evaluation.requirements.iter().find(|r| r.stage == v.stage).map_or(v.stage.as_str(), |r| &r.label);
            let who = names.get(&v.user).map_or("审核人", String::as_str);
            match &v.comment {
                Some(c) => format!("{stage}（{who}）：{c}"),
                None => format!("{stage}（{who}）"),
            }
        })
        .collect()
}

/// Who is told what after an action moved (or kept) `item` where it is:
/// the eligible reviewers of every open pending stage, the drafter on a
/// send-back (with who sent it back and why: [`objections`]), a block or
/// the approval, `sealers` (who hold the seal, 待加盖) once the item is
/// approved, except those who drafted or edited it (they may not seal it),
/// and `admins` (who can appoint people) when a requirement nobody can fill
/// stands.
pub fn notices(
    context: &WorkflowContext,
    evaluation: &Evaluation,
    item: &ItemRecord,
    people: &Addressees<'_>,
) -> Vec<Notice> {
    let Addressees { admins, sealers, names } = *people;
    let title = context.version.content.title.as_str();
    let digest = context.version.content_digest.to_string();
    let key_digest = &digest["sha256:".len().min(digest.len())..];
    let id = item.id;
    let mut out = Vec::new();
    if item.state == ItemState::InReview {
        for r in evaluation.requirements.iter().filter(|r| r.open && r.status == Status::Pending) {
            for user in &r.eligible {
                out.push(Notice {
                    user: *user,
                    kind: "review_requested",
                    item: Some(id),
                    message: format!("待您审核：《{title}》（{}）", r.label),
                    key: format!("open:{id}:{key_digest}:{}:{user}", r.stage),
                });
            }
        }
    }
    let drafter_message = match item.state {
        ItemState::ChangesRequested => Some("审核人要求修改"),
        ItemState::Blocked => Some("已被拦截，请查看原因"),
        ItemState::Approved => Some("已通过全部审核，等待加盖信息公开专用章后发布"),
        _ => None,
    };
    if let Some(message) = drafter_message {
        let objections = match item.state {
            ItemState::ChangesRequested | ItemState::Blocked => objections(context, evaluation, names),
            _ => Vec::new(),
        };
        let why =
            if objections.is_empty() { String::new() } else { format!("。审核意见：{}", objections.join("；")) };
        out.push(Notice {
            user: item.created_by,
            kind: "state",
            item: Some(id),
            message: format!("您提交的《{title}》{message}{why}"),
            key: format!("state:{id}:{key_digest}:{}", item.state),
        });
    }
    if item.state == ItemState::Approved {
        for sealer in sealers.iter().filter(|u| !context.snapshot.authors.contains(*u)) {
            out.push(Notice {
                user: *sealer,
                kind: "seal_requested",
                item: Some(id),
                message: format!("待加盖信息公开专用章：《{title}》已通过全部审核，请核对发布渠道和发布时间后加盖"),
                key: format!("seal:{id}:{key_digest}:{sealer}"),
            });
        }
    }
    let unfillable: Vec<&Requirement> = evaluation.unfillable().collect();
    for admin in admins.iter().filter(|_| !unfillable.is_empty()) {
        for r in &unfillable {
            out.push(Notice {
                user: *admin,
                kind: "no_eligible_reviewer",
                item: Some(id),
                message: format!("《{title}》无法审核：{}", r.problem.as_deref().unwrap_or(&r.label)),
                key: format!("unfillable:{id}:{key_digest}:{}:{admin}", r.stage),
            });
        }
    }
    out
}

/// Who besides reviewers and the drafter [`notices`] may address.
#[derive(Clone, Copy)]
pub struct Addressees<'a> {
    /// Who can appoint people (told of a requirement nobody can fill).
    pub admins: &'a [UserId],
    /// Who holds the seal (told when an item waits for it).
    pub sealers: &'a [UserId],
    /// Display names of the voters whose objections are quoted.
    pub names: &'a BTreeMap<UserId, String>,
}

/// The drafter told that `item` is published on every channel (已发布).
pub fn published_notice(item: ItemId, drafter: UserId, title: &str, version: i64) -> Notice {
    Notice {
        user: drafter,
        kind: "published",
        item: Some(item),
        message: format!("您起草的《{title}》已发布：各发布渠道均已确认收到"),
        key: format!("published:{item}:{version}"),
    }
}

/// The drafter told that `item` was withdrawn (已撤稿), with the reason.
/// `withdrawal` names the request (one notice per request).
pub fn withdrawn_notice(item: ItemId, drafter: UserId, title: &str, reason: &str, withdrawal: &str) -> Notice {
    Notice {
        user: drafter,
        kind: "withdrawn",
        item: Some(item),
        message: format!("您起草的《{title}》已撤稿，正在从各发布渠道删除。撤稿原因：{reason}"),
        key: format!("withdrawn:{item}:{withdrawal}"),
    }
}

/// Decides where the item goes. Vetoes come first, then blocking findings,
/// then unfillable requirements, then requests for changes.
pub fn next(evaluation: &Evaluation, unwaived_blocking: &[&Finding]) -> Next {
    let mut reasons: Vec<String> = evaluation.vetoes().map(|r| format!("“{}”环节拦截", r.label)).collect();
    if !unwaived_blocking.is_empty() {
        reasons.push(format!("有 {} 个阻断级检查问题未整改或豁免", unwaived_blocking.len()));
    }
    for r in evaluation.unfillable() {
        reasons.push(r.problem.clone().unwrap_or_else(|| format!("“{}”环节无法完成", r.label)));
    }
    if !reasons.is_empty() {
        Next::Blocked(reasons)
    } else if evaluation.changes_requested() {
        Next::ChangesRequested
    } else if evaluation.all_done() {
        Next::Complete
    } else {
        Next::InReview
    }
}

/// A finding's stable id within one version: SHA-256 over its plugin, rule,
/// kind, field and span, shortened. Waivers bind to it and to the digest.
pub fn finding_id(f: &Finding) -> String {
    let canonical = json!({
        "plugin": f.plugin, "rule": f.rule_id, "kind": f.kind, "field": f.field.as_str(),
        "span": f.span.map(|s| [s.start, s.end]),
    });
    let digest = seal::ContentDigest::of(&seal::canonical::to_vec(&canonical).expect("no floats"));
    digest.to_string()["sha256:".len()..][..16].to_owned()
}

/// A deadline and how it stands today. The fields are private so that no
/// caller shows a date without its `provisional` mark: people see
/// [`Deadline::shown`], code compares [`Deadline::due_on`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Deadline {
    /// The last working day, `YYYY-MM-DD` (China time).
    due_on: String,
    overdue: bool,
    /// Working days from today to the due date (0 on the day itself);
    /// negative once overdue.
    working_days_left: i64,
    /// The computation reached a year whose 放假安排 is provisional
    /// (statutory days only) or not loaded at all (weekdays minus the fixed
    /// statutory days): the date may move when the State Council's notice
    /// is loaded. Shown as “暂定”.
    provisional: bool,
}

/// What “暂定” means, for tooltips and notices.
pub const PROVISIONAL_NOTE: &str = "暂定：该期限跨入尚未载入国务院办公厅放假安排的年份，\
     按已知的法定节假日推算（没有该年数据时按周一至周五、扣除元旦、劳动节、国庆节的法定假日），未计调休；\
     政务公开办公室载入正式安排后自动重算。";

impl Deadline {
    /// The due date, `YYYY-MM-DD`, for sorting and comparing. Show
    /// [`Deadline::shown`] to people.
    pub fn due_on(&self) -> &str {
        &self.due_on
    }

    pub fn overdue(&self) -> bool {
        self.overdue
    }

    pub fn working_days_left(&self) -> i64 {
        self.working_days_left
    }

    pub fn provisional(&self) -> bool {
        self.provisional
    }

    /// The due date as people read it: `2027-01-18（暂定）` when provisional.
    pub fn shown(&self) -> String {
        if self.provisional { format!("{}（暂定）", self.due_on) } else { self.due_on.clone() }
    }

    /// [`PROVISIONAL_NOTE`] when provisional, for a tooltip.
    pub fn note(&self) -> &'static str {
        if self.provisional { PROVISIONAL_NOTE } else { "" }
    }
}

/// Today's date in China (UTC+8), where the calendars apply.
pub fn today() -> Date {
    date_of(Timestamp::now())
}

/// The date in China of a point in time.
pub fn date_of(t: Timestamp) -> Date {
    Date::from_rfc3339_in_china(&t.to_string()).expect("timestamps are valid RFC 3339")
}

/// The deadline `n` working days after `start`, as it stands on `today`.
/// Never dropped: past the calendar's published years it is computed by the
/// fallback of `workdays` (a provisional year as written, else weekdays
/// minus the fixed statutory days) and marked provisional.
pub fn deadline(calendar: &Calendar, start: Date, n: u32, today: Date) -> Deadline {
    let due = calendar.reckon_add_working_days(start, n);
    let left = if today <= due.value {
        let r = calendar.reckon_working_days_between(today, due.value);
        (i64::from(r.value), r.provisional)
    } else {
        let r = calendar.reckon_working_days_between(due.value, today);
        (-i64::from(r.value), r.provisional)
    };
    Deadline {
        due_on: due.value.to_string(),
        overdue: today > due.value,
        working_days_left: left.0,
        provisional: due.provisional || left.1,
    }
}

/// The statutory deadline of a 主动公开 item: `n` working days from the
/// day its information was formed (`formed_at`, a date or RFC 3339 time);
/// `None` only when `formed_at` is not a date.
pub fn disclosure_deadline(calendar: &Calendar, formed_at: &str, n: u32, today: Date) -> Option<Deadline> {
    let start = Date::parse(formed_at).or_else(|_| Date::from_rfc3339_in_china(formed_at)).ok()?;
    Some(deadline(calendar, start, n, today))
}

/// The share of a stage's working days already used on `today`, in percent
/// (past the calendar's end by the same fallback as [`deadline`]).
pub fn elapsed_percent(calendar: &Calendar, start: Date, sla: u32, today: Date) -> u32 {
    if sla == 0 {
        return 100;
    }
    calendar.reckon_working_days_between(start, today).value.saturating_mul(100) / sla
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar() -> Calendar {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/calendar");
        policy::load_calendars(&dir).unwrap()
    }

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn deadlines_skip_holidays_and_count_make_up_workdays() {
        let cal = calendar();
        // 2026: 国庆节 10-01..10-07 (中秋 separate, 09-25..27); 10-10 (Sat)
        // is a make-up workday. Three working days after Wed 09-30 are
        // 10-08, 10-09 and Sat 10-10.
        let dl = deadline(&cal, d("2026-09-30"), 3, d("2026-10-09"));
        assert_eq!(dl.due_on(), "2026-10-10");
        assert!(!dl.overdue() && !dl.provisional());
        assert_eq!(dl.working_days_left(), 1);
        assert_eq!(dl.shown(), "2026-10-10");
        let late = deadline(&cal, d("2026-09-30"), 3, d("2026-10-13"));
        assert!(late.overdue());
        assert_eq!(late.working_days_left(), -2);
    }

    #[test]
    fn statutory_twenty_working_days_from_formed_at() {
        let cal = calendar();
        let dl = disclosure_deadline(&cal, "2026-09-21", 20, d("2026-09-21")).unwrap();
        // 09-22..09-24 (3), 09-25 中秋 off, 09-28..09-30 (3), 10-01..07 off,
        // 10-08..10-10 (3, 10-10 make-up), 10-12..16 (5), 10-19..23 (5) = 19,
        // 10-26 is the 20th.
        assert_eq!(dl.due_on(), "2026-10-26");
        assert_eq!(elapsed_percent(&cal, d("2026-09-21"), 20, d("2026-10-09")), 40);
    }

    #[test]
    fn issue_19_a_deadline_reaching_2027_is_kept_and_provisional() {
        // The shipped calendar: 2025, 2026 published, 2027 provisional
        // (statutory days only). Formed Mon 2026-12-14: 12-15..18 (4),
        // 12-21..25 (5), 12-28..31 (4) = 13; 2027-01-01 元旦 off; 1-4..8 (5)
        // = 18, 1-11 (19), 1-12 is the 20th.
        let cal = calendar();
        let dl = disclosure_deadline(&cal, "2026-12-14", 20, d("2026-12-14")).unwrap();
        assert_eq!(dl.due_on(), "2027-01-12");
        assert!(dl.provisional() && !dl.overdue());
        assert_eq!(dl.working_days_left(), 20);
        assert_eq!(dl.shown(), "2027-01-12（暂定）");
        assert!(dl.note().contains("暂定"));
        // Seen from 2027-01-14, two working days late, still provisional.
        let late = disclosure_deadline(&cal, "2026-12-14", 20, d("2027-01-14")).unwrap();
        assert!(late.overdue() && late.provisional());
        assert_eq!(late.working_days_left(), -2);
        // A stage SLA of 5 working days opened on Wed 2026-12-30: 12-31,
        // (1-1 off) 1-4, 1-5, 1-6, 1-7.
        assert_eq!(deadline(&cal, d("2026-12-30"), 5, d("2026-12-30")).shown(), "2027-01-07（暂定）");
        // Well past every loaded year: plain weekdays minus fixed statutory days.
        let far = deadline(&cal, d("2028-09-29"), 2, d("2028-09-29"));
        assert_eq!((far.due_on(), far.provisional()), ("2028-10-05", true), "10-02, 10-03 are 国庆节");
        // A 2027 date loaded as published is exact again.
        let mut published = Calendar::new();
        for y in [2025, 2026] {
            let dir = env!("CARGO_MANIFEST_DIR");
            published
                .add_toml(&std::fs::read_to_string(format!("{dir}/../../policies/calendar/{y}.toml")).unwrap())
                .unwrap();
        }
        published
            .add_toml(
                "year = 2027\nsource = \"test\"\n[[holiday]]\nname = \"元旦\"\n\
                 from = \"2027-01-01\"\nto = \"2027-01-03\"\nworkdays = [\"2027-01-09\"]\n",
            )
            .unwrap();
        let exact = disclosure_deadline(&published, "2026-12-14", 20, d("2026-12-14")).unwrap();
        // 13 in 2026; 1-4..8 (5) = 18, Sat 1-9 make-up (19), 1-11 is the 20th.
        assert_eq!((exact.due_on(), exact.provisional()), ("2027-01-11", false));
    }
}
