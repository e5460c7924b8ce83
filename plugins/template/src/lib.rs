//! Template review plugin. Copy this crate to `plugins/<your-name>/`, rename
//! the package, and replace the rule (see `plugins/README.md`).
//!
//! What it does: reports every occurrence of a configured word in the title
//! or body, also when the word is disguised (full-width, spaces or symbols
//! inserted, zero-width characters, traditional characters), by matching on
//! the shared normalised view and mapping the hit back to the original bytes.
//! It is deliberately naive (a substring scan per word); real term lists
//! belong to the `lexicon` plugin, which uses an Aho-Corasick automaton.

use plugin_sdk::textnorm::{Normalized, Options, normalize_term};
use plugin_sdk::{Field, Finding, Item, PluginInfo, ReviewPlugin, Severity, rule, span_in_original};
use serde::Deserialize;

/// The rule this plugin implements.
const RULE: &str = "TPL-001";
/// The finding kind: not part of the shared vocabulary, so it is declared in
/// `describe` as an extra kind.
const KIND: &str = "example_word";

/// Configuration, as JSON: `{"words": ["示例词"], "severity": "warn"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    words: Vec<String>,
    #[serde(default = "default_severity")]
    severity: String,
}

fn default_severity() -> String {
    "warn".to_owned()
}

/// The configured plugin: normalised words and the severity to report.
pub struct Template {
    words: Vec<(String, String)>,
    severity: Severity,
}

impl ReviewPlugin for Template {
    fn describe() -> PluginInfo {
        PluginInfo::new("template", env!("CARGO_PKG_VERSION"))
            .with_rule(rule(RULE, KIND, Severity::Warn, "配置的示例词语（模板插件）"))
            .with_extra_kind(KIND)
            .with_config_schema(
                r#"{"type":"object","required":["words"],"additionalProperties":false,
"properties":{"words":{"type":"array","items":{"type":"string"}},
"severity":{"enum":["info","warn","block"]}}}"#,
            )
    }

    fn configure(config: &str) -> Result<Self, String> {
        let config: Config = serde_json::from_str(config).map_err(|e| format!("模板插件配置无效：{e}"))?;
        let severity = Severity::parse(&config.severity)
            .ok_or_else(|| format!("模板插件配置无效：未知的严重程度“{}”", config.severity))?;
        let opts = Options::default();
        let words = config
            .words
            .into_iter()
            .map(|w| (normalize_term(&w, &opts), w))
            .filter(|(norm, _)| !norm.is_empty())
            .collect();
        Ok(Template { words, severity })
    }

    fn review(&self, item: &Item) -> Result<Vec<Finding>, String> {
        let mut findings = Vec::new();
        for (field, text) in [(Field::Title, &item.title), (Field::Body, &item.body)] {
            let norm = Normalized::new(text, &Options::default());
            for (needle, word) in &self.words {
                for (at, _) in norm.text().match_indices(needle.as_str()) {
                    let Some(span) = span_in_original(&norm, at..at + needle.len()) else {
                        continue;
                    };
                    findings.push(
                        Finding::new(
                            RULE,
                            KIND,
                            self.severity,
                            field,
                            format!("出现配置的词语“{word}”，请核实后修改或删除"),
                        )
                        .with_span(span),
                    );
                }
            }
        }
        Ok(findings)
    }
}

plugin_sdk::export_plugin!(Template);

#[cfg(test)]
mod tests {
    use super::*;

    fn found(body: &str) -> Vec<String> {
        let plugin = Template::configure(r#"{"words": ["示例词"]}"#).unwrap();
        let item = Item::sample(body);
        plugin.review(&item).unwrap().into_iter().map(|f| item.body[f.span.unwrap().range()].to_owned()).collect()
    }

    #[test]
    fn reports_plain_and_disguised_words_at_original_bytes() {
        assert_eq!(found("这是示例词。"), ["示例词"]);
        assert_eq!(found("这是示 例 詞。"), ["示 例 詞"]);
        assert!(found("这里没有。").is_empty());
    }

    #[test]
    fn refuses_bad_configuration() {
        assert!(Template::configure(r#"{"words": [], "severity": "fatal"}"#).is_err());
        assert!(Template::configure(r#"{"word": []}"#).is_err());
    }

    #[test]
    fn keeps_the_contract() {
        plugin_sdk::check_plugin::<Template, Config>();
    }
}
