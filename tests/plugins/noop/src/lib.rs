//! Test plugin that finds nothing: the baseline of the platform's per-item
//! overhead in `cargo xtask bench`, and a well-behaved neighbour in tests.

use plugin_sdk::{Finding, Item, PluginInfo, ReviewPlugin};

/// Finds nothing.
pub struct Noop;

impl ReviewPlugin for Noop {
    fn describe() -> PluginInfo {
        PluginInfo::new("noop", env!("CARGO_PKG_VERSION"))
    }

    fn configure(_config: &str) -> Result<Self, String> {
        Ok(Noop)
    }

    fn review(&self, _item: &Item) -> Result<Vec<Finding>, String> {
        Ok(Vec::new())
    }
}

plugin_sdk::export_plugin!(Noop);
