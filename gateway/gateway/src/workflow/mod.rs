//! The review workflow: requirements as declarative policy, separation of
//! duties, where an item goes after each action, deadlines in working days,
//! and the identity of findings for waivers.
//!
//! This module decides; it does no IO. `store::workflow` loads the
//! [`Snapshot`] and writes actions and state changes in one transaction;
//! `http::workflow` checks who is acting and calls both. The state machine
//! is drawn in ARCHITECTURE.md.

pub mod approved;
pub mod policy;
pub mod requirements;

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use workdays::{Calendar, Date};

pub use policy::{Stage, WorkflowPolicy, WorkflowPolicyError};
pub use requirements::{
    Candidate, Evaluation, OverrideRecord, Refusal, Requirement, Snapshot, Status, VoteRecord, VoteValue,
    approval_record, approvals_digest,
};

use crate::model::Timestamp;
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

/// A deadline and how it stands today.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Deadline {
    /// The last working day, `YYYY-MM-DD` (China time).
    pub due_on: String,
    pub overdue: bool,
    /// Working days from today to the due date (0 on the day itself);
    /// negative once overdue.
    pub working_days_left: i64,
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
/// `None` when the calendar does not cover the dates (a missing year file is
/// reported by `gateway check`-style validation, never guessed).
pub fn deadline(calendar: &Calendar, start: Date, n: u32, today: Date) -> Option<Deadline> {
    let due = calendar.add_working_days(start, n).ok()?;
    let working_days_left = if today <= due {
        i64::from(calendar.working_days_between(today, due).ok()?)
    } else {
        -i64::from(calendar.working_days_between(due, today).ok()?)
    };
    Some(Deadline { due_on: due.to_string(), overdue: today > due, working_days_left })
}

/// The statutory deadline of a 主动公开 item: `n` working days from the
/// day its information was formed (`formed_at`, a date or RFC 3339 time).
pub fn disclosure_deadline(calendar: &Calendar, formed_at: &str, n: u32, today: Date) -> Option<Deadline> {
    let start = Date::parse(formed_at).or_else(|_| Date::from_rfc3339_in_china(formed_at)).ok()?;
    deadline(calendar, start, n, today)
}

/// The share of a stage's working days already used on `today`, in percent.
pub fn elapsed_percent(calendar: &Calendar, start: Date, sla: u32, today: Date) -> Option<u32> {
    if sla == 0 {
        return Some(100);
    }
    let used = calendar.working_days_between(start, today).ok()?;
    Some(used.saturating_mul(100) / sla)
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
        let dl = deadline(&cal, d("2026-09-30"), 3, d("2026-10-09")).unwrap();
        assert_eq!(dl.due_on, "2026-10-10");
        assert!(!dl.overdue);
        assert_eq!(dl.working_days_left, 1);
        let late = deadline(&cal, d("2026-09-30"), 3, d("2026-10-13")).unwrap();
        assert!(late.overdue);
        assert_eq!(late.working_days_left, -2);
    }

    #[test]
    fn statutory_twenty_working_days_from_formed_at() {
        let cal = calendar();
        let dl = disclosure_deadline(&cal, "2026-09-21", 20, d("2026-09-21")).unwrap();
        // 09-22..09-24 (3), 09-25 中秋 off, 09-28..09-30 (3), 10-01..07 off,
        // 10-08..10-10 (3, 10-10 make-up), 10-12..16 (5), 10-19..23 (5) = 19,
        // 10-26 is the 20th.
        assert_eq!(dl.due_on, "2026-10-26");
        assert_eq!(elapsed_percent(&cal, d("2026-09-21"), 20, d("2026-10-09")), Some(40));
    }
}
