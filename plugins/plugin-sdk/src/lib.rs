//! Guest SDK for review plugins: what a plugin author imports.
//!
//! A plugin is a WebAssembly component (built for `wasm32-wasip2`) that
//! implements the contract in `plugins/wit/review.wit`. This crate owns the
//! generated bindings of that contract, the [`ReviewPlugin`] trait, the
//! [`export_plugin!`] macro that turns an implementation into the component's
//! exports, span helpers that refuse offsets off a character boundary, and a
//! re-export of the shared text normaliser [`textnorm`] (normalised text with
//! an offset map back to the original bytes). The contract's value types
//! ([`Severity`], [`Field`], [`Span`]), its version and the shared finding
//! kinds are `plugin-api`'s, the same definitions the gateway's host uses:
//! the bindings are generated with them in place of their own.
//!
//! It deliberately does no IO and has no opinion on rules: a plugin is a pure
//! function of (configuration, item).
//!
//! ```
//! use plugin_sdk::{Field, Finding, Item, PluginInfo, ReviewPlugin, Severity, rule, span_of};
//!
//! /// Reports every occurrence of a configured word in the body.
//! struct Words(Vec<String>);
//!
//! impl ReviewPlugin for Words {
//!     fn describe() -> PluginInfo {
//!         PluginInfo::new("words", "0.1.0")
//!             .with_rule(rule("WORD-001", "sensitive_term", Severity::Warn, "配置的词语"))
//!     }
//!     fn configure(config: &str) -> Result<Self, String> {
//!         Ok(Words(config.split(',').map(str::to_owned).collect()))
//!     }
//!     fn review(&self, item: &Item) -> Result<Vec<Finding>, String> {
//!         let mut out = Vec::new();
//!         for word in &self.0 {
//!             for (at, _) in item.body.match_indices(word.as_str()) {
//!                 let span = span_of(&item.body, at..at + word.len()).expect("match is on boundaries");
//!                 out.push(
//!                     Finding::new("WORD-001", "sensitive_term", Severity::Warn, Field::Body, format!("含有“{word}”"))
//!                         .with_span(span),
//!                 );
//!             }
//!         }
//!         Ok(out)
//!     }
//! }
//! // In a plugin crate: plugin_sdk::export_plugin!(Words);
//!
//! let words = Words::configure("秘密").unwrap();
//! let item = Item::sample("本文不含秘密信息");
//! let found = words.review(&item).unwrap();
//! assert_eq!(found.len(), 1);
//! assert_eq!(item.field_text(Field::Body).map(|t| &t[found[0].span.unwrap().start as usize..found[0].span.unwrap().end as usize]), Some("秘密"));
//! ```

use std::ops::Range;

// The generated code names this crate by its external path (so that the
// export macro works in plugin crates); make that path resolve here too.
extern crate self as plugin_sdk;

mod schema;
mod terms;

pub use schema::{check_config_schema, check_plugin, read_config};
pub use terms::TermList;
pub use textnorm;

/// The contract version these bindings were generated from (`plugin-api`'s,
/// checked against the WIT package there). [`export_plugin!`] reports it in
/// `describe`, and the host refuses a plugin whose contract it does not
/// support.
pub use plugin_api::CONTRACT_VERSION;
pub use plugin_api::{PLUGIN_FAILURE_KIND, SHARED_KINDS};

/// Bindings generated from `plugins/wit/review.wit`. The only place with
/// `unsafe` code (the canonical ABI glue).
#[allow(unsafe_code, clippy::all, missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "review-plugin",
        pub_export_macro: true,
        export_macro_name: "__export_review_plugin",
        default_bindings_module: "::plugin_sdk::bindings",
        runtime_path: "::plugin_sdk::__private::wit_bindgen::rt",
        // The value types are the review model's own (`plugin-api`), so a
        // finding carries the same `Severity` as the host's; records derive
        // `Deserialize` so that evaluation items read straight into `Item`.
        // (The keys name the contract version; a new version fails this
        // build until they follow, as an unused remapping is an error.)
        with: {
            "gov-disclosure:review/types@0.1.0/severity": plugin_api::Severity,
            "gov-disclosure:review/types@0.1.0/field": plugin_api::Field,
            "gov-disclosure:review/types@0.1.0/span": plugin_api::Span,
        },
        additional_derives: [PartialEq, serde::Deserialize],
    });
}

pub use bindings::gov_disclosure::review::types::{
    Approval, Attachment, Finding, Item, PluginInfo, RuleInfo, Signoff, SuperiorRef,
};
pub use plugin_api::{Field, Severity, Span};

#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;
}

/// What a review plugin implements. The host calls [`ReviewPlugin::describe`]
/// once at load, [`ReviewPlugin::configure`] once per warm instance, and
/// [`ReviewPlugin::review`] once per item version on that instance.
///
/// A plugin must be a pure function of (configuration, item): it gets no
/// filesystem, network, clock or randomness. Heavy preparation (compiling a
/// term list) belongs in `configure`, never in `review`.
///
/// ```
/// use plugin_sdk::{Finding, Item, PluginInfo, ReviewPlugin};
/// struct Nothing;
/// impl ReviewPlugin for Nothing {
///     fn describe() -> PluginInfo { PluginInfo::new("nothing", "0.1.0") }
///     fn configure(_config: &str) -> Result<Self, String> { Ok(Nothing) }
///     fn review(&self, _item: &Item) -> Result<Vec<Finding>, String> { Ok(Vec::new()) }
/// }
/// assert!(Nothing::configure("{}").unwrap().review(&Item::sample("正文")).unwrap().is_empty());
/// ```
pub trait ReviewPlugin: Sized + 'static {
    /// The plugin's name, version, rules, extra kinds and configuration
    /// schema. The contract version is filled in by [`export_plugin!`].
    fn describe() -> PluginInfo;

    /// Builds the plugin's state from its configuration (a JSON document, as
    /// assembled by the host from the policy). An `Err` (in Chinese, for the
    /// operator) refuses the policy.
    fn configure(config: &str) -> Result<Self, String>;

    /// Reviews one item version. An `Err` is a plugin failure: the host blocks
    /// the item (fail closed), so return findings, not errors, for content
    /// problems.
    fn review(&self, item: &Item) -> Result<Vec<Finding>, String>;
}

/// Exports a [`ReviewPlugin`] implementation as the component's
/// `describe` / `configure` / `review`. Use it once per plugin crate.
///
/// ```
/// use plugin_sdk::{Finding, Item, PluginInfo, ReviewPlugin};
///
/// struct MyPlugin;
/// impl ReviewPlugin for MyPlugin {
///     fn describe() -> PluginInfo { PluginInfo::new("my-plugin", "0.1.0") }
///     fn configure(_config: &str) -> Result<Self, String> { Ok(MyPlugin) }
///     fn review(&self, _item: &Item) -> Result<Vec<Finding>, String> { Ok(Vec::new()) }
/// }
/// plugin_sdk::export_plugin!(MyPlugin);
/// ```
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        #[doc(hidden)]
        pub struct __PluginSdkExport;

        ::std::thread_local! {
            static __PLUGIN_SDK_STATE: ::core::cell::RefCell<::core::option::Option<$plugin>> =
                const { ::core::cell::RefCell::new(::core::option::Option::None) };
        }

        impl $crate::bindings::Guest for __PluginSdkExport {
            fn describe() -> $crate::PluginInfo {
                let mut info = <$plugin as $crate::ReviewPlugin>::describe();
                info.contract = ::std::string::String::from($crate::CONTRACT_VERSION);
                info
            }

            fn configure(config: ::std::string::String) -> ::core::result::Result<(), ::std::string::String> {
                let state = <$plugin as $crate::ReviewPlugin>::configure(&config)?;
                __PLUGIN_SDK_STATE.with(|s| *s.borrow_mut() = ::core::option::Option::Some(state));
                ::core::result::Result::Ok(())
            }

            fn review(
                item: $crate::Item,
            ) -> ::core::result::Result<::std::vec::Vec<$crate::Finding>, ::std::string::String> {
                __PLUGIN_SDK_STATE.with(|s| match s.borrow().as_ref() {
                    ::core::option::Option::Some(plugin) => $crate::ReviewPlugin::review(plugin, &item),
                    ::core::option::Option::None => {
                        ::core::result::Result::Err(::std::string::String::from("插件尚未配置：宿主未调用 configure"))
                    }
                })
            }
        }

        $crate::bindings::__export_review_plugin!(__PluginSdkExport);
    };
}

/// A span over `range` of `text`, or `None` when the range is out of bounds,
/// reversed, not on UTF-8 character boundaries, or beyond `u32`.
///
/// ```
/// let text = "身份证号";
/// assert!(plugin_sdk::span_of(text, 0..6).is_some());
/// assert!(plugin_sdk::span_of(text, 1..6).is_none()); // inside 身
/// assert!(plugin_sdk::span_of(text, 0..99).is_none());
/// ```
pub fn span_of(text: &str, range: Range<usize>) -> Option<Span> {
    Span::within(text, range)
}

/// The span in the original text of a match found in a normalised view
/// (`norm_range` indexes [`textnorm::Normalized::text`]). Always on the
/// original's character boundaries.
///
/// ```
/// use plugin_sdk::textnorm::{Normalized, Options};
/// let original = "私 盗 號";
/// let norm = Normalized::new(original, &Options::default());
/// let at = norm.text().find("私盗号").unwrap();
/// let span = plugin_sdk::span_in_original(&norm, at..at + "私盗号".len()).unwrap();
/// assert_eq!(&original[span.start as usize..span.end as usize], "私 盗 號");
/// ```
pub fn span_in_original(norm: &textnorm::Normalized<'_>, norm_range: Range<usize>) -> Option<Span> {
    span_of(norm.original(), norm.original_span(norm_range))
}

impl Finding {
    /// A finding about the item as a whole (no span) with no suggestion; add
    /// them with [`Finding::with_span`] and [`Finding::with_suggestion`].
    /// `message` is for the drafter, in Simplified Chinese.
    ///
    /// ```
    /// use plugin_sdk::{Field, Finding, Severity};
    /// let f = Finding::new("SGN-001", "signoff_missing", Severity::Block, Field::Signoff, "缺少负责人签批");
    /// assert!(f.span.is_none());
    /// ```
    pub fn new(
        rule_id: impl Into<String>,
        kind: impl Into<String>,
        severity: Severity,
        field: Field,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            rule_id: rule_id.into(),
            kind: kind.into(),
            severity,
            field,
            span: None,
            message: message.into(),
            suggestion: None,
        }
    }

    /// The same finding pointing at `span` of its field.
    pub fn with_span(mut self, span: Span) -> Finding {
        self.span = Some(span);
        self
    }

    /// The same finding with a suggested replacement for the spanned text
    /// (e.g. the masked `3201**********1234`).
    pub fn with_suggestion(mut self, suggestion: impl Into<String>) -> Finding {
        self.suggestion = Some(suggestion.into());
        self
    }
}

/// A rule for [`PluginInfo::with_rule`].
///
/// ```
/// let r = plugin_sdk::rule("FMT-001", "doc_number_format", plugin_sdk::Severity::Warn, "发文字号格式");
/// assert_eq!(r.id, "FMT-001");
/// ```
pub fn rule(id: &str, kind: &str, severity: Severity, description: &str) -> RuleInfo {
    RuleInfo { id: id.to_owned(), kind: kind.to_owned(), severity, description: description.to_owned() }
}

impl PluginInfo {
    /// A description with no rules, no extra kinds and an empty-object
    /// configuration schema. The contract version is this SDK's.
    ///
    /// ```
    /// let info = plugin_sdk::PluginInfo::new("secrecy", env!("CARGO_PKG_VERSION"));
    /// assert_eq!(info.contract, plugin_sdk::CONTRACT_VERSION);
    /// ```
    pub fn new(name: &str, version: &str) -> PluginInfo {
        PluginInfo {
            name: name.to_owned(),
            version: version.to_owned(),
            contract: CONTRACT_VERSION.to_owned(),
            rules: Vec::new(),
            extra_kinds: Vec::new(),
            config_schema: r#"{"type":"object"}"#.to_owned(),
        }
    }

    /// Adds a rule the plugin implements. Every finding's `rule-id` must be
    /// one of these.
    pub fn with_rule(mut self, rule: RuleInfo) -> PluginInfo {
        self.rules.push(rule);
        self
    }

    /// Declares a finding kind beyond the shared vocabulary.
    pub fn with_extra_kind(mut self, kind: &str) -> PluginInfo {
        self.extra_kinds.push(kind.to_owned());
        self
    }

    /// Sets the JSON Schema (draft 2020-12) of the configuration.
    pub fn with_config_schema(mut self, schema: &str) -> PluginInfo {
        self.config_schema = schema.to_owned();
        self
    }
}

impl Item {
    /// The original text a span of `field` indexes (see the `field` enum in
    /// the WIT): `None` for an absent optional field and for `channels` and
    /// `attachment`, which take no span. The host validates spans against
    /// exactly this text.
    pub fn field_text(&self, field: Field) -> Option<&str> {
        match field {
            Field::Title => Some(&self.title),
            Field::Body => Some(&self.body),
            Field::DocNumber => self.doc_number.as_deref(),
            Field::Issuer => self.issuer.as_deref(),
            Field::Attribute => Some(&self.attribute),
            Field::AttributeReason => self.attribute_reason.as_deref(),
            Field::LegalBasis => self.legal_basis.as_deref(),
            Field::Superior => self.superior.as_ref().and_then(|s| s.doc_number.as_deref()),
            Field::Signoff => self.signoff.as_ref().map(|s| s.name.as_str()),
            Field::Channels | Field::Attachment => None,
        }
    }

    /// A 主动公开 notice for the website with the given body and every other
    /// field empty: for plugins' unit tests.
    pub fn sample(body: &str) -> Item {
        Item {
            id: "sample".to_owned(),
            version: 1,
            kind: "notice".to_owned(),
            title: String::new(),
            body: body.to_owned(),
            attribute: "public".to_owned(),
            attribute_reason: None,
            legal_basis: None,
            doc_number: None,
            issuer: None,
            superior: None,
            channels: vec!["website".to_owned()],
            attachments: Vec::new(),
            formed_at: None,
            now: "2025-01-01T00:00:00Z".to_owned(),
            signoff: None,
            approvals: Vec::new(),
            flags: Vec::new(),
            content_digest: String::new(),
            prior_findings: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_text_follows_the_contract() {
        let mut item = Item::sample("正文");
        assert_eq!(item.field_text(Field::Superior), None);
        item.superior =
            Some(SuperiorRef {
                doc_number: Some("国发〔2024〕1号".into()), issuer: None, attribute: "public".into()
            });
        assert_eq!(item.field_text(Field::Superior), Some("国发〔2024〕1号"));
        assert_eq!(item.field_text(Field::Channels), None);
        assert_eq!(item.field_text(Field::Attribute), Some("public"));
    }
}
