//! Test plugin that never returns when the body contains `MISBEHAVE`; the
//! host's deadline (epoch interruption) must stop it. Other items get no
//! findings.

use plugin_sdk::{Finding, Item, PluginInfo, ReviewPlugin};

/// Loops on a trigger word.
pub struct LoopForever;

impl ReviewPlugin for LoopForever {
    fn describe() -> PluginInfo {
        PluginInfo::new("loop-forever", env!("CARGO_PKG_VERSION"))
    }

    fn configure(_config: &str) -> Result<Self, String> {
        Ok(LoopForever)
    }

    fn review(&self, item: &Item) -> Result<Vec<Finding>, String> {
        if item.body.contains("MISBEHAVE") {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        Ok(Vec::new())
    }
}

plugin_sdk::export_plugin!(LoopForever);
