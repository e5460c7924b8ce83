//! The `pii` plugin on the review contract: describe / configure / review.
//! Scans the title and the body (every finding points into one of them);
//! the detection itself is in the crate root ([`Detector`]).

use plugin_sdk::{Field, Item, PluginInfo, ReviewPlugin, rule, span_of};

use crate::{CONFIG_SCHEMA, Detector, EXTRA_KINDS, RULES};

/// The configured plugin.
#[derive(Debug)]
pub struct PiiPlugin {
    detector: Detector,
}

impl PiiPlugin {
    /// The detector in use.
    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// Contract findings for one field's text.
    pub fn scan(&self, field: Field, text: &str) -> Vec<plugin_sdk::Finding> {
        self.detector
            .scan(text)
            .into_iter()
            .filter_map(|f| {
                let span = span_of(text, f.span.clone())?;
                let mut out = plugin_sdk::Finding::new(f.rule, f.kind, f.severity, field, f.message).with_span(span);
                if let Some(s) = f.suggestion {
                    out = out.with_suggestion(s);
                }
                Some(out)
            })
            .collect()
    }
}

impl ReviewPlugin for PiiPlugin {
    fn describe() -> PluginInfo {
        let mut info = PluginInfo::new("pii", env!("CARGO_PKG_VERSION")).with_config_schema(CONFIG_SCHEMA);
        for (id, kind, severity, description) in RULES {
            info = info.with_rule(rule(id, kind, *severity, description));
        }
        for kind in EXTRA_KINDS {
            info = info.with_extra_kind(kind);
        }
        info
    }

    fn configure(config: &str) -> Result<Self, String> {
        Detector::from_json(config).map(|detector| PiiPlugin { detector }).map_err(|e| format!("pii 插件配置无效：{e}"))
    }

    fn review(&self, item: &Item) -> Result<Vec<plugin_sdk::Finding>, String> {
        let mut out = self.scan(Field::Title, &item.title);
        out.extend(self.scan(Field::Body, &item.body));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_maps_findings_to_the_contract() {
        let plugin = PiiPlugin::configure("{}").unwrap();
        let mut item = Item::sample("联系人手机13951287764。");
        item.title = "关于张三（身份证321183198506120412）的公示".into();
        let found = plugin.review(&item).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(
            (found[0].field, found[0].kind.as_str(), found[0].severity),
            (Field::Title, "id_number", plugin_sdk::Severity::Block)
        );
        assert_eq!(&item.title[found[0].span.unwrap().range()], "321183198506120412");
        assert_eq!(found[1].suggestion.as_deref(), Some("139****7764"));
        let info = PiiPlugin::describe();
        assert!(found.iter().all(|f| info.rules.iter().any(|r| r.id == f.rule_id)));
        assert!(PiiPlugin::configure(r#"{"mask": {"id_tail": 9}}"#).is_err());
    }

    #[test]
    fn keeps_the_contract() {
        plugin_sdk::check_plugin::<PiiPlugin, crate::Config>();
    }
}
