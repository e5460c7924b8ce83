//! The 台账's use cases: a reviewer confirms or changes an entry's 公开属性.

use super::Error;
use crate::auth::Principal;
use crate::model::{Attribute, ItemRecord, is_blank_reason};
use crate::state::AppState;
use crate::store::{RegisterDecision, RegisterEntry};

/// A reviewer's conclusion on an entry.
pub struct Decision {
    /// Keep or change the attribute.
    pub attribute: Attribute,
    pub reason: String,
    /// Required unless the conclusion is 主动公开.
    pub legal_basis: Option<String>,
}

/// Confirms or changes the entry of `item` (which `principal` may read and
/// holds a register role for) and sets its next review (the policy's
/// interval). Nobody reviews the attribute of what they drafted or edited.
/// A changed attribute is told to the drafter, who must edit and resubmit:
/// the attribute is part of the reviewed content.
pub async fn decide(
    state: &AppState,
    principal: &Principal,
    item: &ItemRecord,
    decision: Decision,
) -> Result<RegisterEntry, Error> {
    let id = item.id;
    if state.db.versions(id).await?.iter().any(|v| v.created_by == principal.user_id)
        || item.created_by == principal.user_id
    {
        return Err(Error::Forbidden("您起草或修改过该事项，不能复核其公开属性（起草与审核职责分离）".into()));
    }
    if is_blank_reason(Some(&decision.reason)) {
        return Err(Error::invalid("reason", "复核结论必须写明理由"));
    }
    if decision.attribute != Attribute::Public && decision.legal_basis.as_deref().is_none_or(|b| b.trim().is_empty()) {
        return Err(Error::invalid(
            "legal_basis",
            "依申请公开或不予公开须写明法律依据（如《政府信息公开条例》第十四条）",
        ));
    }
    let decision = RegisterDecision {
        attribute: decision.attribute,
        reason: decision.reason.trim().to_owned(),
        legal_basis: decision.legal_basis.map(|b| b.trim().to_owned()),
        next_review_on: add_months(crate::workflow::today(), state.workflow.register.review_months),
    };
    let before = state.db.register_entry(id).await?;
    let entry = state.db.register_decide(id, principal.user_id, &decision).await?;
    if before.attribute != entry.attribute {
        let message = format!(
            "台账复核将《{}》的公开属性由“{}”改为“{}”：{}。请据此修改事项并重新提交。",
            entry.title,
            before.attribute.label(),
            entry.attribute.label(),
            decision.reason
        );
        let key = format!("register-change:{id}:{}", entry.updated_at);
        state.db.notify(item.created_by, "register_change", Some(id), &message, &key).await?;
    }
    Ok(entry)
}

/// `date` plus `months`, clamped to the month's last day.
fn add_months(date: workdays::Date, months: u32) -> String {
    let total = date.year() * 12 + i32::from(date.month()) - 1 + i32::try_from(months).unwrap_or(0);
    let (year, month) = (total.div_euclid(12), u8::try_from(total.rem_euclid(12) + 1).expect("1..=12"));
    let day = (1..=date.day()).rev().find_map(|d| workdays::Date::new(year, month, d).ok()).expect("day 1 exists");
    day.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_clamp_to_the_end_of_the_month() {
        let d = |s| workdays::Date::parse(s).unwrap();
        assert_eq!(add_months(d("2026-08-31"), 6), "2027-02-28");
        assert_eq!(add_months(d("2026-11-23"), 6), "2027-05-23");
    }
}
