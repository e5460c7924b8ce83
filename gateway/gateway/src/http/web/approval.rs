//! `/items/{id}/approval`: the 审批表 / 保密审查单 as a page of the web
//! interface, for people: Beijing time, events named in Chinese, the
//! 拟稿人, every opinion, a way back to the item, and print styles
//! (`@media print` in app.css hides the frame). The record is the one the
//! API's printable form shows (`service::approval`); the hashes that let a
//! paper copy be checked against the audit chain are kept behind 技术信息.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{ItemPath, Layout, Session, beijing, error_page, render};
use crate::http::AppState;
use crate::model::{ItemId, ItemState};
use crate::service::approval::{ApprovalRecord, EventLine};
use crate::service::opinions::Opinion;

#[derive(Template)]
#[template(path = "approval.html")]
struct ApprovalPage {
    layout: Layout,
    id: ItemId,
    r: ApprovalRecord,
    channels: String,
    /// Every opinion on every version, oldest first.
    opinions: Vec<Opinion>,
}

impl ApprovalPage {
    fn local(&self, t: impl std::fmt::Display) -> String {
        beijing(&t.to_string())
    }

    fn event(&self, e: &EventLine) -> String {
        event_label(e)
    }
}

/// An audit event as the office says it (`item.create` → 起草稿件); an
/// item's move names the state it reached.
pub fn event_label(e: &EventLine) -> String {
    let label = match e.action.as_str() {
        "item.create" => "起草稿件",
        "item.edit" => "修改稿件（新版本）",
        "item.submit" => "提交审核",
        "item.reject" => "不予发布",
        "item.withdraw" => "撤稿",
        "item.withdraw.confirm" => "确认紧急撤稿",
        "item.withdraw.escalate" => "撤稿逾期未确认，已上报",
        "item.state" => {
            let to = e.detail.get("to").and_then(|t| t.as_str()).and_then(|t| t.parse::<ItemState>().ok());
            return match to {
                Some(state) => format!("状态变为“{}”", state.label()),
                None => "状态变更".to_owned(),
            };
        }
        "review.vote" => "审核意见",
        "review.override" => "越级通过",
        "review.waive" => "豁免检查问题",
        "review.lift_veto" => "撤销保密审查拦截",
        "review.recheck" => "重新检查",
        "review.comment" => "批注",
        "review.claim" => "认领审核",
        "review.unclaim" => "放弃认领",
        "review.seal_check" => "加盖前自动检查",
        "seal.issue" => "加盖信息公开专用章",
        "seal.status" => "信息公开专用章状态变更",
        "attachment.store" => "上传附件",
        "delivery.redeliver" => "重新投递",
        "delivery.redeliver_since" => "补发渠道事件",
        "delivery.failed" => "投递失败",
        "delivery.rejected" => "平台拒绝发布",
        "delivery.refused" => "渠道拒收",
        "delivery.platform_removed" => "平台已删除",
        "delivery.stray_post" => "平台上发现未登记的文章",
        "register.propose" | "register.confirm" | "register.change" | "register.close" => "台账登记",
        "application.reply_drafted" => "起草申请答复",
        _ => "其他操作",
    };
    label.to_owned()
}

pub async fn page(State(state): State<AppState>, session: Session, ItemPath(id): ItemPath) -> Response {
    let record = match crate::service::approval::approval_record(&state, session.principal(), id).await {
        Ok(r) => crate::service::opinions::opinions(&state, session.principal(), id).await.map(|o| (r, o)),
        Err(e) => Err(e),
    };
    match record {
        Ok((r, opinions)) => {
            let channels =
                r.version.content.channels.iter().map(|c| super::item::channel_label(c)).collect::<Vec<_>>().join("、");
            let layout = session.layout("审批表", "");
            render(&ApprovalPage { layout, id, r, channels, opinions })
        }
        Err(e) => error_page(&session, e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(action: &str, detail: serde_json::Value) -> EventLine {
        EventLine {
            seq: 1,
            at: "2026-12-07T01:00:00.000Z".into(),
            action: action.into(),
            detail,
            actor: "系统".into(),
            hash: String::new(),
        }
    }

    #[test]
    fn events_are_named_in_chinese() {
        assert_eq!(event_label(&event("item.create", serde_json::json!({}))), "起草稿件");
        assert_eq!(event_label(&event("item.state", serde_json::json!({"to": "approved"}))), "状态变为“已批准”");
        assert_eq!(event_label(&event("something.new", serde_json::json!({}))), "其他操作");
    }
}
