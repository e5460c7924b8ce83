//! Test plugin that panics when the body contains `MISBEHAVE` (a trap in
//! the host). Other items get no findings.

use plugin_sdk::{Finding, Item, PluginInfo, ReviewPlugin};

/// Panics on a trigger word.
pub struct Panics;

impl ReviewPlugin for Panics {
    fn describe() -> PluginInfo {
        PluginInfo::new("panic", env!("CARGO_PKG_VERSION"))
    }

    fn configure(_config: &str) -> Result<Self, String> {
        Ok(Panics)
    }

    fn review(&self, item: &Item) -> Result<Vec<Finding>, String> {
        if item.body.contains("MISBEHAVE") {
            panic!("test plugin asked to panic");
        }
        Ok(Vec::new())
    }
}

plugin_sdk::export_plugin!(Panics);
