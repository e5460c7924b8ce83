//! The review model shared by both sides of the plugin contract
//! (`plugins/wit/review.wit`): the gateway's plugin host, the guest SDK and
//! the rule plugins all use these definitions, so that each exists once.
//!
//! It owns the contract's name and version (and which versions are
//! compatible), the shared vocabulary of finding kinds, and the contract's
//! small value types: [`Severity`], [`Field`] and [`Span`], with their one
//! spelling in JSON and policies and their one parser. The guest bindings
//! (`plugin-sdk`) are generated with these types in place of their own
//! (wit-bindgen's `with`), so a plugin's finding carries them directly; the
//! gateway re-exports them from its `finding` module.
//!
//! It deliberately holds no records that own text (item, finding): each side
//! has its own generated form of those, and the gateway adds what it knows
//! (the plugin that reported a finding). No IO, no dependencies beyond serde.
//!
//! ```
//! use plugin_api::{Field, Severity};
//! assert_eq!(Severity::parse("warn"), Some(Severity::Warn));
//! assert!(Severity::Block > Severity::Warn);
//! assert_eq!(Field::DocNumber.as_str(), "doc_number");
//! assert!(plugin_api::contract_compatible(plugin_api::CONTRACT_VERSION));
//! ```

#![forbid(unsafe_code)]

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// The WIT package of the contract.
pub const CONTRACT_PACKAGE: &str = "gov-disclosure:review";

/// The contract version these definitions (and the WIT) describe; a plugin
/// reports the version it was built against in `describe`, and the host runs
/// it when [`contract_compatible`] says so. A test checks it against the
/// `package` line of `plugins/wit/review.wit`.
pub const CONTRACT_VERSION: &str = "0.1.0";

/// Whether a plugin built against contract `version` runs on a host of
/// [`CONTRACT_VERSION`]: the same `0.1` line (for 0.x, the minor version is
/// the breaking one).
///
/// ```
/// assert!(plugin_api::contract_compatible("0.1.7"));
/// assert!(!plugin_api::contract_compatible("0.2.0"));
/// ```
pub fn contract_compatible(version: &str) -> bool {
    let ours: Vec<&str> = CONTRACT_VERSION.split('.').collect();
    let theirs: Vec<&str> = version.split('.').collect();
    theirs.len() == 3 && theirs[0] == ours[0] && theirs[1] == ours[1] && theirs[2].parse::<u32>().is_ok()
}

/// The finding kinds every plugin may report (the shared vocabulary of the
/// evaluation contract); others must be declared by the plugin's `describe`
/// (`extra-kinds`).
pub const SHARED_KINDS: &[&str] = &[
    "sensitive_term",
    "id_number",
    "mobile",
    "bank_card",
    "email",
    "credit_code",
    "passport",
    "address",
    "classification_marker",
    "attribute_conflict",
    "attribute_downgrade",
    "reason_missing",
    "reply_incomplete",
    "signoff_missing",
    "doc_number_format",
];

/// The kind of the finding the host reports when a plugin fails; reserved,
/// a plugin reporting it fails.
pub const PLUGIN_FAILURE_KIND: &str = "plugin_failure";

/// How serious a finding is (the WIT `severity` enum). Any `block` finding
/// stops the item; `warn` needs a reviewer's attention; `info` is recorded
/// only. Ordered: `Info < Warn < Block`.
///
/// The variants are in the WIT's order: the guest bindings lower a value by
/// its discriminant and lift it with [`Severity::_lift`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum Severity {
    /// Recorded only.
    Info,
    /// Needs a reviewer's attention.
    Warn,
    /// Stops the item.
    Block,
}

impl Severity {
    /// Every severity, least serious first.
    pub const ALL: [Severity; 3] = [Severity::Info, Severity::Warn, Severity::Block];

    /// `info`, `warn` or `block`: the spelling in JSON, policies and
    /// plugin configurations.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Block => "block",
        }
    }

    /// Parses `info`, `warn` or `block` (exactly; the one parser of a
    /// severity, for policies and plugin configurations alike).
    ///
    /// ```
    /// assert_eq!(plugin_api::Severity::parse("block"), Some(plugin_api::Severity::Block));
    /// assert_eq!(plugin_api::Severity::parse("Block"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Lifts the canonical ABI discriminant (used by the generated guest
    /// bindings). An out-of-range value is a host bug: it panics, which traps
    /// the plugin and fails the review closed.
    #[doc(hidden)]
    pub fn _lift(val: u8) -> Severity {
        Severity::ALL.get(usize::from(val)).copied().expect("invalid severity discriminant")
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which field of the item a finding points into (the WIT `field` enum).
/// Spans index the field's original text: `title`, `body`, `doc_number`,
/// `issuer`, `attribute`, `attribute_reason`, `legal_basis` as named;
/// `superior` the superior's 发文字号; `signoff` the signer's name;
/// `channels` and `attachment` take no span.
///
/// The variants are in the WIT's order (see [`Severity`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Field {
    /// Title.
    Title,
    /// Body.
    Body,
    /// 发文字号.
    DocNumber,
    /// Issuing organ.
    Issuer,
    /// 公开属性.
    Attribute,
    /// Reason of a non-public attribute.
    AttributeReason,
    /// Legal basis of a non-public attribute.
    LegalBasis,
    /// The superior document (spans index its 发文字号).
    Superior,
    /// Target channels (no span).
    Channels,
    /// Sign-off record (spans index the name).
    Signoff,
    /// Attachments (no span).
    Attachment,
}

impl Field {
    /// Every field, in the WIT's order.
    pub const ALL: [Field; 11] = [
        Field::Title,
        Field::Body,
        Field::DocNumber,
        Field::Issuer,
        Field::Attribute,
        Field::AttributeReason,
        Field::LegalBasis,
        Field::Superior,
        Field::Channels,
        Field::Signoff,
        Field::Attachment,
    ];

    /// The snake_case name used in JSON (`doc_number`, ...).
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

    /// Whether a finding on this field may carry a span (`channels` and
    /// `attachment` may not).
    pub fn takes_span(self) -> bool {
        !matches!(self, Field::Channels | Field::Attachment)
    }

    /// Lifts the canonical ABI discriminant (see [`Severity::_lift`]).
    #[doc(hidden)]
    pub fn _lift(val: u8) -> Field {
        Field::ALL.get(usize::from(val)).copied().expect("invalid field discriminant")
    }
}

/// A UTF-8 byte range into a field's original text, end exclusive, on
/// character boundaries (the WIT `span` record; the host checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// The byte range, for slicing the field text.
    ///
    /// ```
    /// let span = plugin_api::Span { start: 3, end: 6 };
    /// assert_eq!(&"身份证"[span.range()], "份");
    /// ```
    pub fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    /// A span over `range` of `text`, or `None` when the range is out of
    /// bounds, reversed, not on UTF-8 character boundaries, or beyond `u32`:
    /// exactly what the host refuses.
    ///
    /// ```
    /// use plugin_api::Span;
    /// assert!(Span::within("身份证号", 0..6).is_some());
    /// assert!(Span::within("身份证号", 1..6).is_none()); // inside 身
    /// ```
    pub fn within(text: &str, range: Range<usize>) -> Option<Span> {
        if range.start > range.end
            || range.end > text.len()
            || !text.is_char_boundary(range.start)
            || !text.is_char_boundary(range.end)
        {
            return None;
        }
        Some(Span { start: u32::try_from(range.start).ok()?, end: u32::try_from(range.end).ok()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_version_matches_the_wit_package() {
        let wit = include_str!("../../wit/review.wit");
        let package = wit.lines().find(|l| l.starts_with("package ")).expect("package line");
        assert_eq!(package, format!("package {CONTRACT_PACKAGE}@{CONTRACT_VERSION};"));
    }

    #[test]
    fn enums_follow_the_wit_order_and_spelling() {
        let wit = include_str!("../../wit/review.wit");
        let cases = |name: &str| -> Vec<String> {
            let start = wit.find(&format!("enum {name} {{")).expect("enum in the WIT");
            let body = &wit[start..][..wit[start..].find('}').expect("closing brace")];
            body.split_once('{')
                .expect("opening brace")
                .1
                .split(',')
                .map(|c| c.trim().replace('-', "_"))
                .filter(|c| !c.is_empty())
                .collect()
        };
        assert_eq!(cases("severity"), Severity::ALL.map(|s| s.as_str().to_owned()));
        assert_eq!(cases("field"), Field::ALL.map(|f| f.as_str().to_owned()));
        for (i, s) in Severity::ALL.into_iter().enumerate() {
            assert_eq!(Severity::_lift(i as u8), s);
            assert_eq!(s as usize, i);
            assert_eq!(Severity::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for (i, f) in Field::ALL.into_iter().enumerate() {
            assert_eq!(Field::_lift(i as u8), f);
            assert_eq!(f as usize, i);
            assert_eq!(serde_json::to_value(f).unwrap(), f.as_str());
        }
    }

    #[test]
    fn versions() {
        assert!(contract_compatible("0.1.0"));
        assert!(contract_compatible("0.1.7"));
        assert!(!contract_compatible("0.2.0"));
        assert!(!contract_compatible("1.1.0"));
        assert!(!contract_compatible(""));
        assert!(!contract_compatible("0.1"));
    }

    #[test]
    fn spans_refuse_what_the_host_refuses() {
        let text = "a身b";
        assert_eq!(Span::within(text, 1..4), Some(Span { start: 1, end: 4 }));
        assert_eq!(Span::within(text, 4..4), Some(Span { start: 4, end: 4 }));
        assert_eq!(Span::within(text, 2..4), None);
        assert_eq!(Span::within(text, 1..3), None);
        #[allow(clippy::reversed_empty_ranges, reason = "a reversed range is what a buggy plugin passes")]
        let reversed = 4..1;
        assert_eq!(Span::within(text, reversed), None);
        assert_eq!(Span::within(text, 0..6), None);
    }

    #[test]
    fn the_failure_kind_is_not_shared() {
        assert!(!SHARED_KINDS.contains(&PLUGIN_FAILURE_KIND));
    }
}
