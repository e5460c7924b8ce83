//! Test plugin that allocates without bound when the body contains
//! `MISBEHAVE`; the host's memory cap must stop it. Other items get no
//! findings.

use plugin_sdk::{Finding, Item, PluginInfo, ReviewPlugin};

/// Allocates on a trigger word.
pub struct AllocBomb;

impl ReviewPlugin for AllocBomb {
    fn describe() -> PluginInfo {
        PluginInfo::new("alloc-bomb", env!("CARGO_PKG_VERSION"))
    }

    fn configure(_config: &str) -> Result<Self, String> {
        Ok(AllocBomb)
    }

    fn review(&self, item: &Item) -> Result<Vec<Finding>, String> {
        if item.body.contains("MISBEHAVE") {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                // Touch every page so the memory is really used.
                hoard.push(std::hint::black_box(vec![1u8; 1 << 20]));
            }
        }
        Ok(Vec::new())
    }
}

plugin_sdk::export_plugin!(AllocBomb);
