//! The `lexicon` review plugin (LEX-001..003): sensitive terms from tagged,
//! versioned term lists, found also when disguised, reported at the
//! original bytes with the list's tag and version; an allow-list suppresses
//! hits it contains; a hit that needed a disguise step is also reported as
//! such (LEX-003), since disguise in official text is itself suspicious.
//!
//! The lists are data (`policies/terms/`, passed in the configuration), never
//! code. The matching engine is in [`engine`]; this module maps hits to
//! findings and implements the plugin contract. Component exports are
//! generated only for `wasm32`, so native tools can link the crate.

pub mod engine;

use plugin_sdk::textnorm::Disguises;
use plugin_sdk::{Field, Finding, Item, PluginInfo, ReviewPlugin, Severity, rule, span_of};
use serde::Deserialize;

pub use engine::{Hit, Lexicon, ListInfo, TermList, parse_term_file};

/// Kind of a LEX-003 finding (beyond the shared vocabulary).
pub const OBFUSCATION: &str = "term_obfuscation";

/// Configuration (JSON).
///
/// ```json
/// {"lists": [{"tag": "违法有害", "severity": "block", "version": "2025.11",
///             "terms": ["…"]}],
///  "allow": ["路口交通", "大麻烦"]}
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub lists: Vec<TermList>,
    pub allow: Vec<String>,
    /// Do not add LEX-003 findings for disguised hits.
    pub skip_disguise_findings: bool,
}

const CONFIG_SCHEMA: &str = concat!(
    r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "lists": {
      "type": "array",
      "items": "#,
    plugin_sdk::term_list_schema!("block"),
    r#"
    },
    "allow": {"type": "array", "items": {"type": "string"}},
    "skip_disguise_findings": {"type": "boolean", "default": false}
  }
}"#,
);

/// The configured plugin.
#[derive(Debug)]
pub struct LexiconPlugin {
    lexicon: Lexicon,
    disguise_findings: bool,
}

impl LexiconPlugin {
    /// Compiles the configuration's lists.
    pub fn new(config: &Config) -> Result<LexiconPlugin, String> {
        Ok(LexiconPlugin {
            lexicon: Lexicon::compile(&config.lists, &config.allow)
                .map_err(|e| format!("lexicon 插件配置无效：{e}"))?,
            disguise_findings: !config.skip_disguise_findings,
        })
    }

    /// The compiled lexicon.
    pub fn lexicon(&self) -> &Lexicon {
        &self.lexicon
    }

    /// Findings for one field's text.
    pub fn scan(&self, field: Field, text: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        for hit in self.lexicon.scan(text) {
            let Some(span) = span_of(text, hit.span.clone()) else {
                continue;
            };
            let list = &self.lexicon.lists()[hit.list];
            let rule_id = if list.severity == Severity::Block { "LEX-001" } else { "LEX-002" };
            let shown = &text[hit.span.clone()];
            // Case is no disguise: `VPN` in capitals is ordinary writing.
            let suspicious = hit.disguised.without(Disguises::CASE);
            let how = if suspicious.is_empty() {
                String::new()
            } else {
                format!("（原文写作“{shown}”，经过变形：{}）", suspicious.describe_zh())
            };
            let version = if list.version.is_empty() { "未标注".to_owned() } else { list.version.clone() };
            out.push(
                Finding::new(
                    rule_id,
                    "sensitive_term",
                    list.severity,
                    field,
                    format!(
                        "出现{}类敏感词“{}”{how}（词表版本 {version}）。请修改或删除；确需保留的，由终审人员说明理由。",
                        list.tag, hit.term
                    ),
                )
                .with_span(span),
            );
            if self.disguise_findings && !suspicious.is_empty() {
                out.push(
                    Finding::new(
                        "LEX-003",
                        OBFUSCATION,
                        Severity::Warn,
                        field,
                        format!(
                            "敏感词“{}”以变形方式出现（{}）。正式公文中出现此类变形，可能是规避审查或内容被篡改，请核实来源。",
                            hit.term,
                            suspicious.describe_zh()
                        ),
                    )
                    .with_span(span),
                );
            }
        }
        out
    }
}

impl ReviewPlugin for LexiconPlugin {
    fn describe() -> PluginInfo {
        PluginInfo::new("lexicon", env!("CARGO_PKG_VERSION"))
            .with_rule(rule(
                "LEX-001",
                "sensitive_term",
                Severity::Block,
                "违法有害信息类敏感词（严重程度为 block 的词表）",
            ))
            .with_rule(rule(
                "LEX-002",
                "sensitive_term",
                Severity::Warn,
                "一般敏感词（低俗、广告、不文明用语等 warn/info 词表）",
            ))
            .with_rule(rule(
                "LEX-003",
                OBFUSCATION,
                Severity::Warn,
                "敏感词以变形方式出现（全角、插入空格或符号、零宽字符、繁体）",
            ))
            .with_extra_kind(OBFUSCATION)
            .with_config_schema(CONFIG_SCHEMA)
    }

    fn configure(config: &str) -> Result<Self, String> {
        LexiconPlugin::new(&plugin_sdk::read_config("lexicon", config)?)
    }

    fn review(&self, item: &Item) -> Result<Vec<Finding>, String> {
        let mut out = self.scan(Field::Title, &item.title);
        out.extend(self.scan(Field::Body, &item.body));
        Ok(out)
    }
}

#[cfg(target_arch = "wasm32")]
plugin_sdk::export_plugin!(LexiconPlugin);

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"{"lists": [
        {"tag": "违法有害", "severity": "block", "version": "2025.11", "terms": ["刁民", "老赖", "口交"]},
        {"tag": "广告", "severity": "warn", "version": "ad-3", "terms": ["全网最低价"]}],
        "allow": ["路口交通"]}"#;

    fn review(title: &str, body: &str) -> Vec<String> {
        let plugin = LexiconPlugin::configure(CONFIG).unwrap();
        let mut item = Item::sample(body);
        item.title = title.to_owned();
        plugin
            .review(&item)
            .unwrap()
            .into_iter()
            .map(|f| {
                let text = item.field_text(f.field).unwrap();
                format!("{} {} Severity::{:?} {}", f.rule_id, f.kind, f.severity, &text[f.span.unwrap().range()])
            })
            .collect()
    }

    #[test]
    fn rules_by_list_severity_and_disguise() {
        assert_eq!(review("", "个别刁民无理取闹"), ["LEX-001 sensitive_term Severity::Block 刁民"]);
        assert_eq!(review("全网最低价！", ""), ["LEX-002 sensitive_term Severity::Warn 全网最低价"]);
        assert_eq!(
            review("", "12名老 赖"),
            ["LEX-001 sensitive_term Severity::Block 老 赖", "LEX-003 term_obfuscation Severity::Warn 老 赖"]
        );
        assert!(review("", "路口交通").is_empty());
    }

    #[test]
    fn finding_messages_name_tag_and_version() {
        let plugin = LexiconPlugin::configure(CONFIG).unwrap();
        let f = plugin.scan(Field::Body, "刁民");
        assert!(f[0].message.contains("违法有害") && f[0].message.contains("2025.11"), "{}", f[0].message);
    }

    #[test]
    fn bad_configuration_is_refused() {
        assert!(LexiconPlugin::configure(r#"{"lists": [{"tag": "x", "severity": "fatal", "terms": []}]}"#).is_err());
        assert!(LexiconPlugin::configure(r#"{"list": []}"#).is_err());
        assert!(LexiconPlugin::configure("").is_ok());
    }

    #[test]
    fn keeps_the_contract() {
        plugin_sdk::check_plugin::<LexiconPlugin, Config>();
    }
}
