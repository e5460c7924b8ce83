//! Component glue: the `expression` rules behind the review contract.
//!
//! Only the export itself is limited to `wasm32`: natively several plugins
//! are linked into one test binary, and their exports would collide.

use plugin_sdk::{Finding, Item, PluginInfo, ReviewPlugin};

use crate::{CONFIG_SCHEMA, EXTRA_KINDS, RULES, Rules};

/// The `expression` plugin, configured.
pub struct ExpressionPlugin(Rules);

impl ReviewPlugin for ExpressionPlugin {
    fn describe() -> PluginInfo {
        rulekit::sdk::describe("expression", env!("CARGO_PKG_VERSION"), RULES, EXTRA_KINDS, CONFIG_SCHEMA)
    }

    fn configure(config: &str) -> Result<Self, String> {
        Rules::from_config_json(config).map(ExpressionPlugin).map_err(|e| format!("expression 插件配置无效：{e}"))
    }

    fn review(&self, item: &Item) -> Result<Vec<Finding>, String> {
        Ok(rulekit::sdk::review_with(item, |i| self.0.review(i)))
    }
}

#[cfg(target_arch = "wasm32")]
plugin_sdk::export_plugin!(ExpressionPlugin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_lists_every_rule_and_kind() {
        let info = ExpressionPlugin::describe();
        assert_eq!(info.name, "expression");
        assert_eq!(info.rules.len(), RULES.len());
        assert!(serde_json::from_str::<serde_json::Value>(&info.config_schema).is_ok());
        // The host refuses a finding whose kind is neither shared nor declared.
        const SHARED: &[&str] = &[
            "attribute_conflict",
            "attribute_downgrade",
            "reason_missing",
            "reply_incomplete",
            "signoff_missing",
            "doc_number_format",
        ];
        let mut ids = std::collections::BTreeSet::new();
        for r in &info.rules {
            assert!(ids.insert(r.id.clone()), "rule {} listed twice", r.id);
            assert!(
                SHARED.contains(&r.kind.as_str()) || info.extra_kinds.contains(&r.kind),
                "rule {} reports undeclared kind {}",
                r.id,
                r.kind
            );
        }
        assert!(ExpressionPlugin::configure("{\"no_such_option\": 1}").is_err());
    }

    #[test]
    fn reviews_through_the_contract() {
        let plugin = ExpressionPlugin::configure("{}").unwrap();
        let mut item = Item::sample("各区人民政府：\n现将有关事项通知如下。\n（此件公开发布）");
        item.signoff = Some(plugin_sdk::Signoff {
            name: "陈立群".into(),
            title: "办公室主任".into(),
            statement_accepted: true,
            statement_version: None,
            accepted_at: None,
        });
        item.doc_number = Some("江政发〔2025〕3号".into());
        assert_eq!(plugin.review(&item).unwrap(), Vec::new());
    }
}
