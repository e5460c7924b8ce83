//! The `secrecy` review plugin (SEC-001, SEC-002, SEC-003, SEC-006): state
//! secret markings, 密级 header lines, internal-use markings, and an
//! agency-maintained 密点 list, in the title, the body and attachment names.
//!
//! [`Secrecy`] is plain library code, testable natively; the component
//! exports are generated only for `wasm32` so that native tools (the
//! evaluation harness, benchmarks) can link this crate next to the other
//! plugins.

mod points;
mod scan;

use plugin_sdk::textnorm::{Normalized, Options};
use plugin_sdk::{Field, Finding, Item, PluginInfo, ReviewPlugin, Severity, rule, span_in_original};
use serde::Deserialize;

pub use points::{PointList, Points};
pub use scan::{Marking, markings};

/// Kind of a 密点 finding (beyond the shared vocabulary).
pub const SECRET_POINT: &str = "secret_point";

/// Configuration (JSON): the agency's 密点 lists.
///
/// ```json
/// {"secret_points": [{"tag": "涉密项目代号", "severity": "block", "version": "2025-03",
///                     "terms": ["某某工程", "某型装备"]}]}
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub secret_points: Vec<PointList>,
}

const CONFIG_SCHEMA: &str = concat!(
    r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "secret_points": {
      "type": "array",
      "items": "#,
    plugin_sdk::term_list_schema!("warn"),
    r#"
    }
  }
}"#,
);

/// The configured plugin.
#[derive(Debug)]
pub struct Secrecy {
    points: Points,
}

impl Secrecy {
    /// Builds the plugin from its parsed configuration.
    pub fn new(config: Config) -> Result<Secrecy, String> {
        Ok(Secrecy { points: Points::new(&config.secret_points)? })
    }

    /// Findings for one field's text.
    pub fn scan(&self, field: Field, text: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        let norm = Normalized::new(text, &Options::keep_layout());
        for (r, what) in markings(norm.text()) {
            let Some(span) = span_in_original(&norm, r) else {
                continue;
            };
            let shown = &text[span.range()];
            let (rule_id, message) = marking_message(what, shown);
            out.push(Finding::new(rule_id, "classification_marker", Severity::Block, field, message).with_span(span));
        }
        out.extend(self.points.scan(field, text));
        out
    }
}

fn marking_message(what: Marking, shown: &str) -> (&'static str, String) {
    match what {
        Marking::StarMark => (
            "SEC-001",
            format!(
                "出现国家秘密标志“{shown}”（密级★保密期限）。依据《中华人民共和国保守国家秘密法》和《政府信息公开条例》第十四条，涉密信息一律不得公开：请撤回本件，交保密审查；确已解密的，须附解密依据并删除标志。"
            ),
        ),
        Marking::LevelWord => (
            "SEC-002",
            format!(
                "出现密级标识“{shown}”（GB/T 9704 版头密级或正文密级标注）。标有密级的文件不得公开：请交保密审查，确已解密的须附解密依据。"
            ),
        ),
        Marking::Internal => (
            "SEC-003",
            format!(
                "出现内部事项标识“{shown}”（工作秘密、内部资料）。此类文件原则上不公开（《政府信息公开条例》第十六条）：请核实公开属性，或经审查删除该标识并说明理由。"
            ),
        ),
    }
}

impl ReviewPlugin for Secrecy {
    fn describe() -> PluginInfo {
        PluginInfo::new("secrecy", env!("CARGO_PKG_VERSION"))
            .with_rule(rule(
                "SEC-001",
                "classification_marker",
                Severity::Block,
                "国家秘密标志（密级★保密期限/解密条件），任何位置",
            ))
            .with_rule(rule(
                "SEC-002",
                "classification_marker",
                Severity::Block,
                "密级标识：版头密级行（含份号）、“密级：”标注或单独出现的密级",
            ))
            .with_rule(rule(
                "SEC-003",
                "classification_marker",
                Severity::Block,
                "工作秘密、内部资料、注意保密、不得外传等内部事项标识",
            ))
            .with_rule(rule("SEC-006", SECRET_POINT, Severity::Warn, "本机关密点清单中的词语（按清单标签定级）"))
            .with_extra_kind(SECRET_POINT)
            .with_config_schema(CONFIG_SCHEMA)
    }

    fn configure(config: &str) -> Result<Self, String> {
        Secrecy::new(plugin_sdk::read_config("secrecy", config)?)
    }

    fn review(&self, item: &Item) -> Result<Vec<Finding>, String> {
        let mut out = self.scan(Field::Title, &item.title);
        out.extend(self.scan(Field::Body, &item.body));
        for att in &item.attachments {
            let norm = Normalized::new(&att.name, &Options::keep_layout());
            if let Some((_, what)) = markings(norm.text()).into_iter().next() {
                let (rule_id, message) = marking_message(what, &att.name);
                out.push(Finding::new(
                    rule_id,
                    "classification_marker",
                    Severity::Block,
                    Field::Attachment,
                    format!("附件“{}”：{message}", att.name),
                ));
            }
        }
        Ok(out)
    }
}

#[cfg(target_arch = "wasm32")]
plugin_sdk::export_plugin!(Secrecy);

#[cfg(test)]
mod tests {
    use super::*;

    fn review(config: &str, body: &str) -> Vec<String> {
        let plugin = Secrecy::configure(config).unwrap();
        let item = Item::sample(body);
        plugin
            .review(&item)
            .unwrap()
            .into_iter()
            .map(|f| format!("{} {} {}", f.rule_id, f.kind, &item.body[f.span.unwrap().range()]))
            .collect()
    }

    #[test]
    fn rules_per_marking() {
        assert_eq!(review("", "秘密★1年\n各区："), ["SEC-001 classification_marker 秘密★1年"]);
        assert_eq!(review("{}", "000025\n机密\n关于…"), ["SEC-002 classification_marker 机密"]);
        assert_eq!(review("{}", "内部资料\n"), ["SEC-003 classification_marker 内部资料"]);
        assert!(review("{}", "没有什么秘密可言").is_empty());
    }

    #[test]
    fn secret_points_from_config() {
        let cfg =
            r#"{"secret_points": [{"tag": "项目代号", "severity": "block", "version": "v3", "terms": ["青松工程"]}]}"#;
        assert_eq!(review(cfg, "参与青 松 工程的单位"), ["SEC-006 secret_point 青 松 工程"]);
        assert!(Secrecy::configure(r#"{"secret_points": 1}"#).is_err());
    }

    #[test]
    fn attachment_names_are_checked() {
        let plugin = Secrecy::configure("{}").unwrap();
        let mut item = Item::sample("正文");
        item.attachments.push(plugin_sdk::Attachment {
            name: "机密★5年-实施方案.docx".into(),
            media_type: "application/vnd.openxmlformats-officedocument.wordprocessingml.document".into(),
            digest: "sha256:00".into(),
            size: 1,
        });
        let found = plugin.review(&item).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].field, Field::Attachment);
        assert!(found[0].span.is_none());
    }

    #[test]
    fn keeps_the_contract() {
        plugin_sdk::check_plugin::<Secrecy, Config>();
    }
}
