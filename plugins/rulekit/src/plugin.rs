//! The rule plugins' side of the contract: a rule plugin implements
//! [`RulePlugin`] (plain Rust over the contract's [`Item`], run natively in
//! tests and the evaluation), and [`Component`] turns any implementation into
//! a [`ReviewPlugin`] for `plugin_sdk::export_plugin!`:
//!
//! ```ignore
//! impl rulekit::RulePlugin for Rules {
//!     const META: Meta = Meta::new("format", env!("CARGO_PKG_VERSION"), RULES, EXTRA_KINDS, CONFIG_SCHEMA);
//!     /* Config, Error, from_config, review */
//! }
//! #[cfg(target_arch = "wasm32")]
//! plugin_sdk::export_plugin!(rulekit::Component<Rules>);
//! ```
//!
//! The export is limited to `wasm32`: natively several plugins are linked
//! into one test binary, and their exports would collide.

use std::fmt::Display;

use plugin_sdk::{Finding, Item, PluginInfo, ReviewPlugin, Span, rule};
use serde::de::DeserializeOwned;

use crate::item::RuleInfo;

/// What a rule plugin says about itself in `describe`.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    /// The plugin's name: the policy's and `describe`'s.
    pub name: &'static str,
    /// Its version (`env!("CARGO_PKG_VERSION")` of the plugin crate).
    pub version: &'static str,
    /// Every rule it implements; each finding's `rule_id` is one of these.
    pub rules: &'static [RuleInfo],
    /// Finding kinds beyond the shared vocabulary that it reports.
    pub extra_kinds: &'static [&'static str],
    /// JSON Schema (draft 2020-12) of its configuration, which
    /// [`check_contract`] checks against [`RulePlugin::Config`].
    pub config_schema: &'static str,
}

impl Meta {
    /// The description, in the field order above.
    pub const fn new(
        name: &'static str,
        version: &'static str,
        rules: &'static [RuleInfo],
        extra_kinds: &'static [&'static str],
        config_schema: &'static str,
    ) -> Meta {
        Meta { name, version, rules, extra_kinds, config_schema }
    }
}

/// A rule plugin: its description, its configuration, and its rules over
/// one item. Content problems are findings, never errors.
pub trait RulePlugin: Sized + 'static {
    /// What `describe` reports.
    const META: Meta;

    /// The configuration struct the policy's JSON is read into (with
    /// `deny_unknown_fields`; an empty configuration is `{}`).
    type Config: DeserializeOwned;
    /// Why a well-formed configuration is refused
    /// ([`std::convert::Infallible`] where none is).
    type Error: Display;

    /// Builds the rules from a parsed configuration.
    fn from_config(config: Self::Config) -> Result<Self, Self::Error>;

    /// Reviews one item.
    fn review(&self, item: &Item) -> Vec<Finding>;

    /// Builds the rules from the policy's configuration as JSON (blank
    /// means the defaults, `{}`), or says why not as the host shows it:
    /// `<name> 插件配置无效：<why>`.
    fn from_config_json(json: &str) -> Result<Self, String> {
        let config = plugin_sdk::read_config(Self::META.name, json)?;
        Self::from_config(config).map_err(|e| format!("{} 插件配置无效：{e}", Self::META.name))
    }
}

/// A [`RulePlugin`] behind the review contract: `describe` from its
/// constants, `configure` from its configuration, `review` with every span
/// checked against the text it indexes (a span off a character boundary or
/// into an absent field is dropped, the finding kept, so that a rule's slip
/// is not a plugin failure).
pub struct Component<R>(R);

impl<R: RulePlugin> ReviewPlugin for Component<R> {
    fn describe() -> PluginInfo {
        let meta = R::META;
        let mut info = PluginInfo::new(meta.name, meta.version).with_config_schema(meta.config_schema);
        for r in meta.rules {
            info = info.with_rule(rule(r.id, r.kind, r.severity, r.description));
        }
        for k in meta.extra_kinds {
            info = info.with_extra_kind(k);
        }
        info
    }

    fn configure(config: &str) -> Result<Self, String> {
        R::from_config_json(config).map(Component)
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
    plugin_sdk::check_plugin::<Component<R>, R::Config>();
    let info = Component::<R>::describe();
    assert_eq!(info.name, R::META.name);
    assert_eq!(info.rules.len(), R::META.rules.len());
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
        const META: Meta = Meta::new(
            "x",
            "0.1.0",
            &[
                RuleInfo { id: "FMT-001", kind: "doc_number_format", severity: Severity::Warn, description: "d" },
                RuleInfo { id: "X-1", kind: "k", severity: Severity::Info, description: "d" },
            ],
            &["k"],
            r#"{"type": "object", "additionalProperties": false,
            "properties": {"flag": {"type": "boolean"}}}"#,
        );
        type Config = Config;
        type Error = std::convert::Infallible;

        fn from_config(_: Config) -> Result<Fixed, std::convert::Infallible> {
            Ok(Fixed)
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
