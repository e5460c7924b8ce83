//! Test plugin that returns malformed findings when the body contains
//! `MISBEHAVE`. Its configuration picks the kind of garbage:
//! `{"mode": "out-of-range" | "mid-char" | "reversed" | "unknown-kind" |
//! "undeclared-rule" | "reserved-kind" | "absent-field" | "error"}`. Other
//! items get one well-formed finding on the first character of the body.

use plugin_sdk::{Field, Finding, Item, PluginInfo, ReviewPlugin, Severity, Span, rule};

/// Misreports on a trigger word.
pub struct GarbageSpans {
    mode: String,
}

const RULE: &str = "GARB-001";
const KIND: &str = "garbage_note";

impl ReviewPlugin for GarbageSpans {
    fn describe() -> PluginInfo {
        PluginInfo::new("garbage-spans", env!("CARGO_PKG_VERSION"))
            .with_rule(rule(RULE, KIND, Severity::Info, "测试用提示"))
            .with_extra_kind(KIND)
    }

    fn configure(config: &str) -> Result<Self, String> {
        // A deliberately tiny parser: this crate has no serde.
        let mode =
            config.split('"').skip_while(|s| *s != "mode").nth(2).ok_or_else(|| format!("配置缺少 mode：{config}"))?;
        Ok(GarbageSpans { mode: mode.to_owned() })
    }

    fn review(&self, item: &Item) -> Result<Vec<Finding>, String> {
        let first = item.body.chars().next().map_or(0, char::len_utf8) as u32;
        let good = Finding::new(RULE, KIND, Severity::Info, Field::Body, "测试插件的提示")
            .with_span(Span { start: 0, end: first });
        if !item.body.contains("MISBEHAVE") {
            return Ok(vec![good]);
        }
        let len = item.body.len() as u32;
        let bad = match self.mode.as_str() {
            "out-of-range" => good.with_span(Span { start: 0, end: len + 10 }),
            "mid-char" => {
                // The body starts with a multi-byte character in the tests.
                good.with_span(Span { start: 1, end: first })
            }
            "reversed" => good.with_span(Span { start: first, end: 0 }),
            "unknown-kind" => Finding { kind: "made_up_kind".into(), ..good },
            "undeclared-rule" => Finding { rule_id: "NOPE-999".into(), ..good },
            "reserved-kind" => Finding { kind: "plugin_failure".into(), ..good },
            "absent-field" => Finding { field: Field::DocNumber, ..good },
            "error" => return Err("测试插件主动报告错误".into()),
            other => return Err(format!("未知的 mode：{other}")),
        };
        Ok(vec![bad])
    }
}

plugin_sdk::export_plugin!(GarbageSpans);
