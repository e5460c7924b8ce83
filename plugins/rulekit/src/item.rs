//! What the rules add to the contract's item and finding (the review model
//! is the SDK's, generated from the WIT with `plugin-api`'s value types):
//! the parsed 公开属性, a constant form of a rule's description for the
//! plugins' `RULES` tables, a byte-range span setter, and blank-answer
//! detection.

use std::ops::Range;

use plugin_sdk::{Finding, Item, Span};

pub use plugin_sdk::{Approval, Field, Severity, Signoff, SuperiorRef};

/// The 公开属性 of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute {
    /// 主动公开.
    Public,
    /// 依申请公开.
    OnRequest,
    /// 不予公开.
    Withheld,
}

impl Attribute {
    /// Reads `public`, `on-request`/`on_request`, `withheld` and the Chinese
    /// names; anything else is `None`.
    pub fn parse(s: &str) -> Option<Attribute> {
        match s.trim() {
            "public" | "主动公开" => Some(Attribute::Public),
            "on-request" | "on_request" | "依申请公开" => Some(Attribute::OnRequest),
            "withheld" | "不予公开" => Some(Attribute::Withheld),
            _ => None,
        }
    }

    /// The Chinese name used in messages.
    pub fn zh(self) -> &'static str {
        match self {
            Attribute::Public => "主动公开",
            Attribute::OnRequest => "依申请公开",
            Attribute::Withheld => "不予公开",
        }
    }

    /// How open the attribute is: 主动公开 > 依申请公开 > 不予公开.
    pub fn openness(self) -> u8 {
        match self {
            Attribute::Public => 2,
            Attribute::OnRequest => 1,
            Attribute::Withheld => 0,
        }
    }
}

/// What the rules read from an item beyond its fields.
pub trait ItemExt {
    /// The parsed 公开属性, `None` when missing or unknown.
    fn attribute(&self) -> Option<Attribute>;

    /// A public notice for the website with only an id and a body, `now`
    /// empty: the evaluation format's defaults. For tests.
    fn with_body(id: &str, body: &str) -> Item;
}

impl ItemExt for Item {
    fn attribute(&self) -> Option<Attribute> {
        Attribute::parse(&self.attribute)
    }

    fn with_body(id: &str, body: &str) -> Item {
        Item { id: id.to_owned(), now: String::new(), ..Item::sample(body) }
    }
}

/// Spans from the byte ranges the rules compute.
pub trait FindingExt {
    /// The same finding pointing at `range` of its field. The range is not
    /// checked here: [`crate::RulePlugin`]'s component drops a span that is
    /// not on the field's character boundaries before the host sees it.
    fn at(self, range: Range<usize>) -> Finding;
}

impl FindingExt for Finding {
    fn at(self, range: Range<usize>) -> Finding {
        let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        self.with_span(Span { start: clamp(range.start), end: clamp(range.end) })
    }
}

/// A rule a plugin implements, for `describe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo {
    /// Rule id, e.g. `ATTR-001`.
    pub id: &'static str,
    /// The kind its findings carry.
    pub kind: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// One line for operators (English).
    pub description: &'static str,
}

/// Whether a free-text answer says nothing: missing, blank, or a
/// placeholder such as `无`, `暂无`, `—`, `/`, `N/A`.
pub fn is_blank_answer(s: Option<&str>) -> bool {
    let Some(s) = s else { return true };
    let t: String = crate::fold::fold_str(s)
        .chars()
        .filter(|c| {
            !c.is_whitespace()
                && !matches!(
                    c,
                    '。' | '.'
                        | '，'
                        | ','
                        | '；'
                        | ';'
                        | '('
                        | ')'
                        | '（'
                        | '）'
                        | '【'
                        | '】'
                        | '“'
                        | '”'
                        | '"'
                        | '\''
                )
        })
        .collect();
    matches!(
        t.to_lowercase().as_str(),
        "" | "无"
            | "暂无"
            | "没有"
            | "无理由"
            | "略"
            | "-"
            | "--"
            | "—"
            | "——"
            | "/"
            | "\\"
            | "n/a"
            | "na"
            | "none"
            | "null"
            | "nil"
            | "不适用"
            | "未填写"
            | "未填"
            | "待定"
            | "待补充"
            | "空"
            | "无理由说明"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_spellings() {
        for (s, a) in [
            ("on-request", Some(Attribute::OnRequest)),
            ("依申请公开", Some(Attribute::OnRequest)),
            ("withheld", Some(Attribute::Withheld)),
            (" public ", Some(Attribute::Public)),
            ("secret", None),
        ] {
            assert_eq!(Attribute::parse(s), a, "{s}");
        }
    }

    #[test]
    fn blank_answers() {
        for (s, blank) in [
            (None, true),
            (Some(""), true),
            (Some("  \u{3000}"), true),
            (Some("无"), true),
            (Some("无。"), true),
            (Some(" 暂无 "), true),
            (Some("N/A"), true),
            (Some("——"), true),
            (Some("（无）"), true),
            (Some("不适用"), true),
            (Some("无法公开的原因：涉及个人隐私"), false),
            (Some("涉及第三方商业秘密"), false),
        ] {
            assert_eq!(is_blank_answer(s), blank, "{s:?}");
        }
    }
}
