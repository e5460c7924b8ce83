//! Test plugin that returns a hundred thousand findings when the body contains
//! `MISBEHAVE`; the host must refuse the output before copying it out. Other
//! items get one legitimate finding.

use plugin_sdk::{Field, Finding, Item, PluginInfo, ReviewPlugin, Severity, rule};

/// Floods the host on a trigger word.
pub struct HugeOutput;

impl ReviewPlugin for HugeOutput {
    fn describe() -> PluginInfo {
        PluginInfo::new("huge-output", env!("CARGO_PKG_VERSION"))
            .with_rule(rule("HUGE-001", "huge_output_note", Severity::Info, "测试用提示"))
            .with_extra_kind("huge_output_note")
    }

    fn configure(_config: &str) -> Result<Self, String> {
        Ok(HugeOutput)
    }

    fn review(&self, item: &Item) -> Result<Vec<Finding>, String> {
        let one = Finding::new("HUGE-001", "huge_output_note", Severity::Info, Field::Body, "测试插件的提示");
        if item.body.contains("MISBEHAVE") {
            return Ok(vec![one; 100_000]);
        }
        Ok(vec![one])
    }
}

plugin_sdk::export_plugin!(HugeOutput);
