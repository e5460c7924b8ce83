//! Limits and failures of one plugin call: the per-plugin limits, the
//! memory limiter, the epoch deadline, and naming the cause of a failed call
//! (`FailureCause`), which the pipeline turns into a blocking
//! `plugin_failure` finding.

use std::fmt;
use std::time::Duration;

use wasmtime::Trap;

use super::output;

/// Epoch tick period: the granularity of every deadline.
pub(super) const TICK: Duration = Duration::from_millis(10);

/// Per-plugin limits, from the settings and the policy.
#[derive(Debug, Clone, Copy)]
pub struct PluginLimits {
    /// Wall-clock budget of one `review` call.
    pub deadline: Duration,
    /// Wall-clock budget of instantiation plus `configure` (term lists may
    /// take a while to compile).
    pub configure_deadline: Duration,
    /// Linear memory cap of one instance, in bytes.
    pub memory: usize,
    /// Most findings one `review` may return.
    pub max_findings: usize,
    /// Most bytes of text (all strings together) one call may return.
    pub max_output_bytes: usize,
    /// A warm instance is discarded after this many calls.
    pub recycle_after: u32,
    /// Most idle warm instances kept for this plugin.
    pub max_idle: usize,
}

/// Why one `review` call of one plugin failed. The pipeline turns it into a
/// blocking `plugin_failure` finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureCause {
    /// The deadline passed (epoch interruption).
    Deadline(Duration),
    /// The instance tried to grow its memory past the cap.
    MemoryCap {
        /// The cap in bytes.
        cap: usize,
        /// The size it asked for.
        requested: usize,
    },
    /// A trap: panic, abort, unreachable, out-of-bounds access ...
    Trap(String),
    /// The plugin returned an error from `review`.
    PluginError(String),
    /// The output exceeded the number of findings or bytes allowed.
    OutputTooLarge(String),
    /// The output was lifted but is malformed (span, kind, rule ...).
    InvalidOutput(String),
    /// No instance could be created (instantiation or `configure` failed,
    /// or the instance pool is exhausted).
    Instantiate(String),
}

impl fmt::Display for FailureCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureCause::Deadline(d) => write!(f, "超过时限 {} 毫秒", d.as_millis()),
            FailureCause::MemoryCap { cap, requested } => {
                write!(f, "超过内存上限 {} MiB（请求 {} MiB）", cap >> 20, requested.div_ceil(1 << 20))
            }
            FailureCause::Trap(t) => write!(f, "插件崩溃（{t}）"),
            FailureCause::PluginError(e) => write!(f, "插件报告错误：{e}"),
            FailureCause::OutputTooLarge(e) => write!(f, "输出过大：{e}"),
            FailureCause::InvalidOutput(e) => write!(f, "输出不合规：{e}"),
            FailureCause::Instantiate(e) => write!(f, "无法创建插件实例：{e}"),
        }
    }
}

/// A failed call: which plugin, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginFailure {
    /// Plugin name.
    pub plugin: String,
    /// The cause.
    pub cause: FailureCause,
}

/// Raised by the store's limiter when an instance asks for more memory than
/// its cap.
#[derive(Debug, thiserror::Error)]
#[error("memory cap of {cap} bytes exceeded (requested {requested} bytes)")]
pub(super) struct MemoryCapExceeded {
    pub(super) cap: usize,
    pub(super) requested: usize,
}

/// Tracks an instance's memory and refuses growth past the cap.
pub(super) struct Limiter {
    pub(super) cap: usize,
    pub(super) used: usize,
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let used = self.used - current.min(self.used) + desired;
        if used > self.cap {
            // An error (not `Ok(false)`) traps at once with a cause the host
            // can name, instead of a guest abort that looks like a panic.
            return Err(wasmtime::Error::new(MemoryCapExceeded { cap: self.cap, requested: used }));
        }
        self.used = used;
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }

    fn instances(&self) -> usize {
        64
    }

    fn tables(&self) -> usize {
        64
    }

    fn memories(&self) -> usize {
        8
    }
}

/// The epoch deadline of a call of duration `d`, in ticks.
pub(super) fn deadline_ticks(d: Duration) -> u64 {
    (d.as_millis() / TICK.as_millis()).max(1) as u64 + 1
}

/// Names the cause of a failed call.
pub(super) fn classify(e: &wasmtime::Error, limits: &PluginLimits) -> FailureCause {
    for cause in e.chain() {
        if let Some(trap) = cause.downcast_ref::<Trap>() {
            return match trap {
                Trap::Interrupt => FailureCause::Deadline(limits.deadline),
                Trap::UnreachableCodeReached => FailureCause::Trap("panic 或 abort：wasm trap: unreachable".to_owned()),
                other => FailureCause::Trap(format!("wasm trap: {other}")),
            };
        }
        if let Some(m) = cause.downcast_ref::<MemoryCapExceeded>() {
            return FailureCause::MemoryCap { cap: m.cap, requested: m.requested };
        }
        if let Some(o) = cause.downcast_ref::<output::OutputTooLarge>() {
            return FailureCause::OutputTooLarge(o.0.clone());
        }
    }
    FailureCause::Trap(format!("{:#}", e.root_cause()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_causes_read_in_chinese() {
        let c = FailureCause::MemoryCap { cap: 64 << 20, requested: (64 << 20) + 1 };
        assert_eq!(c.to_string(), "超过内存上限 64 MiB（请求 65 MiB）");
        assert_eq!(FailureCause::Deadline(Duration::from_millis(2000)).to_string(), "超过时限 2000 毫秒");
    }
}
