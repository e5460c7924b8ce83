//! Output validation: every finding a plugin returns must name a rule its
//! `describe` declared and a kind that is shared or declared (never the
//! reserved `plugin_failure`), carry a message, and point a span only into a
//! field that takes one, within its text and on character boundaries. The
//! first violation fails the whole call.

use super::bindings;
use super::limits::FailureCause;
use super::output::RawFinding;
use super::pool::LoadedPlugin;
use super::{PLUGIN_FAILURE_KIND, WitItem};
use crate::finding::{Field, Finding, Span};

impl LoadedPlugin {
    /// Checks every finding against the contract; the first violation fails
    /// the whole call.
    pub(super) fn validate(&self, item: &WitItem, raw: Vec<RawFinding>) -> Result<Vec<Finding>, FailureCause> {
        let mut out = Vec::with_capacity(raw.len());
        for (i, f) in raw.into_iter().enumerate() {
            let bad = |why: String| FailureCause::InvalidOutput(format!("第 {} 条发现：{why}", i + 1));
            let rule_id = f.rule_id.0;
            let kind = f.kind.0;
            if !self.rules.contains(&rule_id) {
                return Err(bad(format!("规则 {rule_id} 未在 describe 中声明")));
            }
            if kind == PLUGIN_FAILURE_KIND {
                return Err(bad(format!("类别 {kind} 为网关保留")));
            }
            if !self.kinds.contains(&kind) {
                return Err(bad(format!("未知的类别 {kind}（既非共享词汇，也未在 describe 中声明）")));
            }
            if f.message.0.trim().is_empty() {
                return Err(bad("缺少说明".to_owned()));
            }
            let field: Field = f.field.into();
            let span = match f.span {
                None => None,
                Some(s) => {
                    let Some(text) = field_text(item, f.field) else {
                        return Err(bad(format!("字段 {} 不接受位置或该字段为空", field.as_str())));
                    };
                    let (start, end) = (s.start as usize, s.end as usize);
                    if start > end || end > text.len() {
                        return Err(bad(format!(
                            "位置 {start}..{end} 超出字段 {}（{} 字节）",
                            field.as_str(),
                            text.len()
                        )));
                    }
                    if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
                        return Err(bad(format!("位置 {start}..{end} 不在字段 {} 的字符边界上", field.as_str())));
                    }
                    Some(Span { start: s.start, end: s.end })
                }
            };
            out.push(Finding {
                plugin: self.name.clone(),
                rule_id,
                kind,
                severity: f.severity.into(),
                field,
                span,
                message: f.message.0,
                suggestion: f.suggestion.map(|s| s.0),
                attachment: None,
            });
        }
        Ok(out)
    }
}

/// The text a span of `field` indexes (the WIT `field` enum's rule).
fn field_text(item: &WitItem, field: bindings::Field) -> Option<&str> {
    use bindings::Field as F;
    match field {
        F::Title => Some(&item.title),
        F::Body => Some(&item.body),
        F::DocNumber => item.doc_number.as_deref(),
        F::Issuer => item.issuer.as_deref(),
        F::Attribute => Some(&item.attribute),
        F::AttributeReason => item.attribute_reason.as_deref(),
        F::LegalBasis => item.legal_basis.as_deref(),
        F::Superior => item.superior.as_ref().and_then(|s| s.doc_number.as_deref()),
        F::Signoff => item.signoff.as_ref().map(|s| s.name.as_str()),
        F::Channels | F::Attachment => None,
    }
}
