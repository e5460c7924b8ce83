//! Settings of the review platform: the `[review]` section of the gateway's
//! configuration (policy file, limits, pool). Here, below `config` and
//! `review`, so that reading the configuration does not depend on the
//! pipeline.

use std::path::PathBuf;

use serde::Deserialize;

use super::HostConfig;

/// Settings of the review platform: the `[review]` section of the gateway's
/// configuration. Every field has a default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginSettings {
    /// The policy file (default `policies/default.toml`).
    pub policy: PathBuf,
    /// Directory of the compiled-artifact cache, writable only by the
    /// gateway (default none: compile in memory at every start, ~0.2 s per
    /// plugin). Never share or distribute it: loading a tampered artifact is
    /// code execution.
    pub cache_dir: Option<PathBuf>,
    /// Deadline of one `review` call, ms (default 2000).
    pub deadline_ms: u64,
    /// Deadline of instantiating and configuring an instance, ms (default
    /// 30000: compiling large term lists takes a while).
    pub configure_deadline_ms: u64,
    /// Memory cap of one plugin instance, MiB (default 64); a policy may set
    /// another per plugin, up to `memory_ceiling_mib`.
    pub memory_mib: u32,
    /// The most memory a policy may grant one plugin, MiB (default 512).
    pub memory_ceiling_mib: u32,
    /// Reviews run in parallel (default: the number of CPUs).
    pub workers: usize,
    /// A warm instance is recycled after this many reviews (default 10000).
    pub recycle_after: u32,
    /// Most findings one plugin may return for one item (default 1000).
    pub max_findings: u32,
    /// Most text one plugin may return for one item, KiB (default 1024).
    pub max_output_kib: u32,
    /// Use the pooling instance allocator (default true).
    pub pooling: bool,
    /// Instance slots of the pool (default 256, and at least workers x 40):
    /// enough for plugins x workers x 2 generations during a reload. Each
    /// slot reserves address space, not memory.
    pub instance_slots: u32,
}

impl Default for PluginSettings {
    fn default() -> PluginSettings {
        PluginSettings {
            policy: PathBuf::from("policies/default.toml"),
            cache_dir: None,
            deadline_ms: 2000,
            configure_deadline_ms: 30_000,
            memory_mib: 64,
            memory_ceiling_mib: 512,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            recycle_after: 10_000,
            max_findings: 1000,
            max_output_kib: 1024,
            pooling: true,
            instance_slots: 256,
        }
    }
}

impl PluginSettings {
    /// The engine-wide part, for [`PluginHost::new`].
    pub fn host_config(&self) -> HostConfig {
        HostConfig {
            cache_dir: self.cache_dir.clone(),
            pooling: self.pooling,
            // Room for 20 plugins x workers x 2 generations (during a reload).
            instance_slots: self.instance_slots.max(self.workers.max(1) as u32 * 40),
            memory_ceiling: (self.memory_ceiling_mib.max(self.memory_mib) as usize) << 20,
        }
    }
}
