//! The rule plugins' side of the contract: a rule plugin implements
//! [`RulePlugin`] (plain Rust over the contract's [`Item`], run natively in
//! tests and the evaluation), and [`Component`] turns any implementation into
//! a [`ReviewPlugin`] for `plugin_sdk::export_plugin!`:
//!
//! ```ignore
//! impl rulekit::RulePlugin for Rules { const NAME: &'static str = "format"; /* ... */ }
//! #[cfg(target_arch = "wasm32")]
//! plugin_sdk::export_plugin!(rulekit::Component<Rules>);
//! ```
//!
//! The export is limited to `wasm32`: natively several plugins are linked
//! into one test binary, and their exports would collide.

use std::collections::BTreeSet;
use std::fmt::Display;

use plugin_sdk::{Finding, Item, PluginInfo, ReviewPlugin, SHARED_KINDS, Span, rule};
use serde::de::DeserializeOwned;

use crate::item::RuleInfo;

/// A rule plugin: its description as constants, its configuration, and its
/// rules over one item. Content problems are findings, never errors.
pub trait RulePlugin: Sized + 'static {
    /// The plugin's name: the policy's and `describe`'s.
    const NAME: &'static str;
    /// Its version (`env!("CARGO_PKG_VERSION")` of the plugin crate).
    const VERSION: &'static str;
    /// Every rule it implements; each finding's `rule_id` is one of these.
    const RULES: &'static [RuleInfo];
    /// Finding kinds beyond the shared vocabulary that it reports.
    const EXTRA_KINDS: &'static [&'static str];
    /// JSON Schema (draft 2020-12) of its configuration, which
    /// [`check_contract`] checks against [`RulePlugin::Config`].
    const CONFIG_SCHEMA: &'static str;

    /// The configuration struct [`RulePlugin::from_config_json`] reads (with
    /// `deny_unknown_fields`).
    type Config: DeserializeOwned;
    /// Why a configuration is refused.
    type Error: Display;

    /// Builds the rules from the policy's configuration (JSON).
    fn from_config_json(json: &str) -> Result<Self, Self::Error>;

    /// Reviews one item.
    fn review(&self, item: &Item) -> Vec<Finding>;
}

/// A [`RulePlugin`] behind the review contract: `describe` from its
/// constants, `configure` from its configuration, `review` with every span
/// checked against the text it indexes (a span off a character boundary or
/// into an absent field is dropped, the finding kept, so that a rule's slip
/// is not a plugin failure).
pub struct Component<R>(R);

impl<R: RulePlugin> ReviewPlugin for Component<R> {
    fn describe() -> PluginInfo {
        let mut info = PluginInfo::new(R::NAME, R::VERSION).with_config_schema(R::CONFIG_SCHEMA);
        for r in R::RULES {
            info = info.with_rule(rule(r.id, r.kind, r.severity, r.description));
        }
        for k in R::EXTRA_KINDS {
            info = info.with_extra_kind(k);
        }
        info
    }

    fn configure(config: &str) -> Result<Self, String> {
        R::from_config_json(config).map(Component).map_err(|e| format!("{} 插件配置无效：{e}", R::NAME))
    }

    fn review(&self, item: &Item) -> Result<Vec<Finding>, String> {
        let mut findings = self.0.review(item);
        for f in &mut findings {
            let text = item.field_text(f.field);
            f.span = f.span.and_then(|s| Span::within(text?, s.range()));
        }
        Ok(findings)
    }
}

/// The contract tests every rule plugin must pass (call it from one test in
/// the plugin crate): `describe` names the plugin and lists each rule once
/// with a shared or declared kind; the configuration schema matches the
/// configuration struct ([`plugin_sdk::check_config_schema`]); an unknown
/// option is refused; a plain notice reviews clean through the contract.
///
/// # Panics
///
/// On the first violation, naming it.
pub fn check_contract<R: RulePlugin>() {
    let info = Component::<R>::describe();
    assert_eq!(info.name, R::NAME);
    assert_eq!(info.rules.len(), R::RULES.len());
    let mut ids = BTreeSet::new();
    for r in &info.rules {
        assert!(ids.insert(r.id.clone()), "rule {} listed twice", r.id);
        assert!(
            SHARED_KINDS.contains(&r.kind.as_str()) || info.extra_kinds.contains(&r.kind),
            "rule {} reports undeclared kind {}",
            r.id,
            r.kind
        );
    }
    if let Err(e) = plugin_sdk::check_config_schema::<R::Config>(&info.config_schema) {
        panic!("{}: {e}", R::NAME);
    }
    assert!(Component::<R>::configure("{\"no_such_option\": 1}").is_err());
    let plugin = Component::<R>::configure("{}").expect("the empty configuration is valid");
    let mut item = Item::sample("各区人民政府：\n现将有关事项通知如下。\n（此件公开发布）");
    item.signoff = Some(plugin_sdk::Signoff {
        name: "陈立群".into(),
        title: "办公室主任".into(),
        statement_accepted: true,
        statement_version: None,
        accepted_at: None,
    });
    item.doc_number = Some("江政发〔2025〕3号".into());
    assert_eq!(plugin.review(&item).expect("reviews"), Vec::new());
}

#[cfg(test)]
mod tests {
    use plugin_sdk::{Field, Severity};

    use super::*;
    use crate::FindingExt;

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code, reason = "read only for its shape")]
    struct Config {
        flag: Option<bool>,
    }

    struct Fixed;

    impl RulePlugin for Fixed {
        const NAME: &'static str = "x";
        const VERSION: &'static str = "0.1.0";
        const RULES: &'static [RuleInfo] = &[
            RuleInfo { id: "FMT-001", kind: "doc_number_format", severity: Severity::Warn, description: "d" },
            RuleInfo { id: "X-1", kind: "k", severity: Severity::Info, description: "d" },
        ];
        const EXTRA_KINDS: &'static [&'static str] = &["k"];
        const CONFIG_SCHEMA: &'static str = r#"{"type": "object", "additionalProperties": false,
            "properties": {"flag": {"type": "boolean"}}}"#;
        type Config = Config;
        type Error = serde_json::Error;

        fn from_config_json(json: &str) -> Result<Fixed, serde_json::Error> {
            serde_json::from_str::<Config>(json).map(|_| Fixed)
        }

        fn review(&self, item: &Item) -> Vec<Finding> {
            if item.doc_number.is_none() {
                return Vec::new();
            }
            vec![
                Finding::new("FMT-001", "doc_number_format", Severity::Warn, Field::DocNumber, "m").at(9..15),
                // off a character boundary: the span is dropped
                Finding::new("X-1", "k", Severity::Info, Field::Body, "m").at(1..2),
                // into an absent field: dropped
                Finding::new("X-1", "k", Severity::Info, Field::Issuer, "m").at(0..1),
            ]
        }
    }

    #[test]
    fn spans_are_checked_on_the_way_out() {
        let plugin = Component::<Fixed>::configure("{}").unwrap();
        let mut it = Item::sample("秘密★1年\n正文");
        it.doc_number = Some("江政发[2024]1号".into());
        let out = plugin.review(&it).unwrap();
        assert_eq!(out[0].span, Some(Span { start: 9, end: 15 }));
        assert_eq!(&it.doc_number.as_deref().unwrap()[9..15], "[2024]");
        assert_eq!(out[1].span, None);
        assert_eq!(out[2].span, None);
        let info = Component::<Fixed>::describe();
        assert_eq!(info.rules[0].severity, Severity::Warn);
        assert_eq!(info.extra_kinds, vec!["k"]);
        assert!(Component::<Fixed>::configure("{\"flag\": 3}").is_err_and(|e| e.starts_with("x 插件配置无效：")));
    }
}
