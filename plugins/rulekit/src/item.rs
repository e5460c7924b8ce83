//! Item and finding types, mirroring `plugins/wit/review.wit`.
//!
//! Items deserialise from both the WIT field spellings (`on-request`) and the
//! evaluation JSONL format (`on_request`, missing fields defaulted as
//! `../shared/eval/README.md` says). Findings serialise to the contract's
//! output line (`id`, `kind`, `severity`, `field`, `bstart`, `bend`, `rule`,
//! `message`). Converting to and from the generated WIT bindings is the
//! plugins' glue, not this module's.

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Recorded only.
    Info,
    /// A reviewer must look at it.
    Warn,
    /// The item cannot proceed.
    Block,
}

impl Severity {
    /// `info`, `warn` or `block`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Block => "block",
        }
    }
}

/// The field of the item a finding points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Field {
    Title,
    Body,
    DocNumber,
    Issuer,
    Attribute,
    AttributeReason,
    LegalBasis,
    Superior,
    Channels,
    Signoff,
    Attachment,
}

impl Field {
    /// The name used in the evaluation output (`doc_number`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Body => "body",
            Field::DocNumber => "doc_number",
            Field::Issuer => "issuer",
            Field::Attribute => "attribute",
            Field::AttributeReason => "attribute_reason",
            Field::LegalBasis => "legal_basis",
            Field::Superior => "superior",
            Field::Channels => "channels",
            Field::Signoff => "signoff",
            Field::Attachment => "attachment",
        }
    }
}

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

/// The superior organ's document an item re-issues or forwards.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SuperiorRef {
    /// Its 发文字号.
    #[serde(default)]
    pub doc_number: Option<String>,
    /// Its issuing organ.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Its attribute as the superior decided.
    #[serde(default)]
    pub attribute: String,
}

/// The "谁发布谁负责" record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Signoff {
    /// The responsible person.
    #[serde(default)]
    pub name: String,
    /// Their title.
    #[serde(default)]
    pub title: String,
    /// Whether they accepted the statement.
    #[serde(default)]
    pub statement_accepted: bool,
    /// Version id of the accepted statement text.
    #[serde(default)]
    pub statement_version: Option<String>,
    /// RFC 3339 time of acceptance.
    #[serde(default)]
    pub accepted_at: Option<String>,
}

/// One review stage filled for the item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    /// `first`, `second`, `secrecy`, `final`, ...
    pub stage: String,
    /// Pseudonymous reviewer id.
    pub reviewer: String,
    /// The content digest the approval is bound to.
    pub digest: String,
}

fn default_kind() -> String {
    "notice".to_string()
}

fn default_attribute() -> String {
    "public".to_string()
}

fn default_channels() -> Vec<String> {
    vec!["website".to_string()]
}

/// One item version, as the plugins see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Item id.
    pub id: String,
    /// Version number.
    #[serde(default)]
    pub version: u32,
    /// `notice`, `policy`, `interpretation`, `reply`, `post`.
    #[serde(default = "default_kind")]
    pub kind: String,
    /// Title line.
    #[serde(default)]
    pub title: String,
    /// Body text.
    pub body: String,
    /// 公开属性 as written (`public`, `on-request`, `withheld`).
    #[serde(default = "default_attribute")]
    pub attribute: String,
    /// Reason for 依申请公开 / 不予公开.
    #[serde(default)]
    pub attribute_reason: Option<String>,
    /// Legal-basis clause for the attribute.
    #[serde(default)]
    pub legal_basis: Option<String>,
    /// 发文字号.
    #[serde(default)]
    pub doc_number: Option<String>,
    /// Issuing organ.
    #[serde(default)]
    pub issuer: Option<String>,
    /// The forwarded superior document.
    #[serde(default)]
    pub superior: Option<SuperiorRef>,
    /// Target channels.
    #[serde(default = "default_channels")]
    pub channels: Vec<String>,
    /// RFC 3339 time the information was formed.
    #[serde(default)]
    pub formed_at: Option<String>,
    /// RFC 3339 time of the review run.
    #[serde(default)]
    pub now: String,
    /// Sign-off record.
    #[serde(default)]
    pub signoff: Option<Signoff>,
    /// Review stages filled.
    #[serde(default)]
    pub approvals: Vec<Approval>,
    /// Flags (`major`, `cross-agency`, ...).
    #[serde(default)]
    pub flags: Vec<String>,
    /// `sha256:` digest of this version.
    #[serde(default)]
    pub content_digest: String,
    /// Findings of plugins earlier in the pipeline.
    #[serde(default)]
    pub prior_findings: Vec<Finding>,
}

impl Item {
    /// A public notice for the website with only a body: the evaluation
    /// format's defaults. Handy in tests.
    pub fn with_body(id: &str, body: &str) -> Item {
        Item {
            id: id.to_string(),
            version: 1,
            kind: default_kind(),
            title: String::new(),
            body: body.to_string(),
            attribute: default_attribute(),
            attribute_reason: None,
            legal_basis: None,
            doc_number: None,
            issuer: None,
            superior: None,
            channels: default_channels(),
            formed_at: None,
            now: String::new(),
            signoff: None,
            approvals: Vec::new(),
            flags: Vec::new(),
            content_digest: String::new(),
            prior_findings: Vec::new(),
        }
    }

    /// The parsed 公开属性, `None` when missing or unknown.
    pub fn attribute(&self) -> Option<Attribute> {
        Attribute::parse(&self.attribute)
    }
}

/// One thing a rule found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Rule id, e.g. `ATTR-001`.
    #[serde(alias = "rule")]
    pub rule_id: String,
    /// Finding kind (shared vocabulary or a declared extra kind).
    pub kind: String,
    /// Severity.
    pub severity: Severity,
    /// Field the finding is about.
    pub field: Field,
    /// Byte span into the original field text; `None` for the whole item.
    #[serde(default)]
    pub span: Option<Range<usize>>,
    /// Message for the drafter, in Simplified Chinese.
    pub message: String,
    /// A replacement for the spanned text.
    #[serde(default)]
    pub suggestion: Option<String>,
}

impl Finding {
    /// A finding about the item as a whole.
    pub fn item_level(rule_id: &str, kind: &str, severity: Severity, field: Field, message: String) -> Finding {
        Finding {
            rule_id: rule_id.to_string(),
            kind: kind.to_string(),
            severity,
            field,
            span: None,
            message,
            suggestion: None,
        }
    }

    /// Sets the span.
    pub fn at(mut self, span: Range<usize>) -> Finding {
        self.span = Some(span);
        self
    }

    /// Sets the suggestion.
    pub fn suggest(mut self, suggestion: impl Into<String>) -> Finding {
        self.suggestion = Some(suggestion.into());
        self
    }

    /// The contract's output line for this finding of item `id`.
    pub fn to_output_json(&self, id: &str) -> serde_json::Value {
        serde_json::json!({
            "id": id,
            "kind": self.kind,
            "severity": self.severity.as_str(),
            "field": self.field.as_str(),
            "bstart": self.span.as_ref().map(|s| s.start),
            "bend": self.span.as_ref().map(|s| s.end),
            "rule": self.rule_id,
            "message": self.message,
        })
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
    fn eval_line_defaults() {
        let item: Item = serde_json::from_str(r#"{"id": "x", "body": "b"}"#).unwrap();
        assert_eq!(item.kind, "notice");
        assert_eq!(item.attribute(), Some(Attribute::Public));
        assert_eq!(item.channels, vec!["website"]);
        assert!(item.signoff.is_none());
        let item: Item = serde_json::from_str(
            r#"{"id": "x", "body": "b", "attribute": "on_request", "channels": ["applicant"], "superior": null,
                "signoff": {"name": "甲", "title": "乙", "statement_accepted": true}}"#,
        )
        .unwrap();
        assert_eq!(item.attribute(), Some(Attribute::OnRequest));
        assert_eq!(item.channels, vec!["applicant"]);
        assert!(item.signoff.unwrap().statement_accepted);
    }

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

    #[test]
    fn output_line_shape() {
        let f =
            Finding::item_level("FMT-001", "doc_number_format", Severity::Warn, Field::DocNumber, "m".into()).at(3..9);
        let v = f.to_output_json("c1");
        assert_eq!(v["field"], "doc_number");
        assert_eq!(v["bstart"], 3);
        assert_eq!(v["bend"], 9);
        assert_eq!(v["severity"], "warn");
        let g = Finding::item_level("SGN-001", "signoff_missing", Severity::Block, Field::Signoff, "m".into());
        assert!(g.to_output_json("c1")["bstart"].is_null());
    }
}
