//! A loaded plugin and its pool of warm, configured instances: taking one,
//! giving it back or recycling it (after N calls, or once reviews have grown
//! its memory past half the headroom `configure` left), discarding it after
//! any trap, and the `review` call itself under its deadline and output
//! budget.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use wasmtime::Store;
use wasmtime::component::{ComponentExportIndex, Func, InstancePre, TypedFunc};

use super::engine::{HostState, PluginHost};
use super::limits::{FailureCause, PluginFailure, PluginLimits, classify, deadline_ticks};
use super::load::PluginDescription;
use super::output::{self, ConfigureResult, ReviewResult};
use super::{WitItem, wit_item};
use crate::finding::{Finding, ReviewItem};

/// The three exports, found once at load.
pub(super) struct Exports {
    pub(super) describe: ComponentExportIndex,
    pub(super) configure: ComponentExportIndex,
    pub(super) review: ComponentExportIndex,
}

/// A configured instance ready for `review`.
pub(super) struct WarmInstance {
    store: Store<HostState>,
    review: Func,
    calls: u32,
    /// Linear memory in use right after `configure`: the plugin's own
    /// footprint (a 100k-term automaton is tens of MiB), the base of the
    /// recycling watermark.
    configured_bytes: usize,
}

/// A loaded, verified and configured plugin with its pool of warm instances.
pub struct LoadedPlugin {
    pub(super) host: Arc<PluginHost>,
    pub(super) name: String,
    pub(super) sha256: String,
    pub(super) path: PathBuf,
    pub(super) description: PluginDescription,
    pub(super) pre: InstancePre<HostState>,
    pub(super) exports: Exports,
    pub(super) config: String,
    pub(super) limits: PluginLimits,
    pub(super) rules: HashSet<String>,
    pub(super) kinds: HashSet<String>,
    pub(super) pool: Mutex<Vec<WarmInstance>>,
    /// Configured instances created so far (load, growth, replacements).
    pub(super) created: AtomicU64,
}

impl fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("name", &self.name)
            .field("version", &self.description.version)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

impl LoadedPlugin {
    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The plugin's version, as it describes itself.
    pub fn version(&self) -> &str {
        &self.description.version
    }

    /// SHA-256 (hex) of the component file.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The component file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the plugin says about itself.
    pub fn description(&self) -> &PluginDescription {
        &self.description
    }

    /// How many configured instances were created so far: at load, when
    /// concurrency grows, and to replace discarded or recycled ones.
    pub fn instances_created(&self) -> u64 {
        self.created.load(Ordering::Relaxed)
    }

    /// Number of idle warm instances (for tests and metrics).
    pub fn idle_instances(&self) -> usize {
        self.pool.lock().expect("pool lock").len()
    }

    pub(super) fn instantiate(&self) -> Result<(Store<HostState>, wasmtime::component::Instance), String> {
        let mut store = self.host.new_store(self.limits.memory);
        store.set_epoch_deadline(deadline_ticks(self.limits.configure_deadline));
        let instance = self.pre.instantiate(&mut store).map_err(|e| classify(&e, &self.limits).to_string())?;
        Ok((store, instance))
    }

    /// Calls `configure` and checks `review`'s type on a fresh instance.
    pub(super) fn configure(
        &self,
        mut store: Store<HostState>,
        instance: &wasmtime::component::Instance,
    ) -> Result<WarmInstance, String> {
        let configure: TypedFunc<(&str,), (ConfigureResult,)> = instance
            .get_typed_func(&mut store, self.exports.configure)
            .map_err(|e| format!("configure 的类型不符：{e:#}"))?;
        let review =
            instance.get_func(&mut store, self.exports.review).ok_or_else(|| "缺少导出函数 review".to_owned())?;
        review.typed::<(&WitItem,), (ReviewResult,)>(&store).map_err(|e| format!("review 的类型不符：{e:#}"))?;
        store.set_epoch_deadline(deadline_ticks(self.limits.configure_deadline));
        let (result,) = output::with_budget(0, 64 << 10, || configure.call(&mut store, (self.config.as_str(),)))
            .map_err(|e| classify(&e, &self.limits).to_string())?;
        result.map_err(|e| e.0)?;
        let configured_bytes = store.data().limiter.used;
        Ok(WarmInstance { store, review, calls: 0, configured_bytes })
    }

    fn take_instance(&self) -> Result<WarmInstance, FailureCause> {
        if let Some(warm) = self.pool.lock().expect("pool lock").pop() {
            return Ok(warm);
        }
        self.take_instance_fresh()
    }

    fn give_back(&self, warm: WarmInstance) {
        let used = warm.store.data().limiter.used;
        // Linear memory never shrinks: an instance that once needed a lot
        // keeps it, so recycle it once reviews have grown it by more than
        // half the headroom its configuration left. Measured from the
        // configured footprint, not from zero: a plugin whose configuration
        // alone is large (100k terms) must not be reconfigured every item.
        let headroom = self.limits.memory.saturating_sub(warm.configured_bytes);
        if warm.calls >= self.limits.recycle_after || used > warm.configured_bytes + headroom / 2 {
            return;
        }
        let mut pool = self.pool.lock().expect("pool lock");
        if pool.len() < self.limits.max_idle {
            pool.push(warm);
        }
    }

    /// Makes sure at least `n` warm instances are idle (bounded by the
    /// plugin's `max_idle`).
    pub fn prewarm(&self, n: usize) -> Result<(), PluginFailure> {
        let want = n.min(self.limits.max_idle);
        let mut fresh = Vec::new();
        while self.idle_instances() + fresh.len() < want {
            let warm =
                self.take_instance_fresh().map_err(|cause| PluginFailure { plugin: self.name.clone(), cause })?;
            fresh.push(warm);
        }
        self.pool.lock().expect("pool lock").extend(fresh);
        Ok(())
    }

    fn take_instance_fresh(&self) -> Result<WarmInstance, FailureCause> {
        let (store, instance) = self.instantiate().map_err(FailureCause::Instantiate)?;
        let warm = self.configure(store, &instance).map_err(FailureCause::Instantiate)?;
        self.created.fetch_add(1, Ordering::Relaxed);
        Ok(warm)
    }

    /// Reviews one item on a warm instance. The instance is discarded after
    /// any trap, deadline, memory cap or malformed output; a plugin-reported
    /// error leaves it usable. Findings come back validated, with the
    /// plugin's severities (the policy's overrides are the pipeline's job).
    pub(crate) fn review(&self, item: &WitItem) -> Result<Vec<Finding>, PluginFailure> {
        self.review_inner(item).map_err(|cause| PluginFailure { plugin: self.name.clone(), cause })
    }

    fn review_inner(&self, item: &WitItem) -> Result<Vec<Finding>, FailureCause> {
        let mut warm = self.take_instance()?;
        let result = self.call_review(&mut warm, item);
        // Only a plugin-reported error or valid output leaves the instance
        // usable; after a trap it is poisoned.
        if matches!(result, Ok(_) | Err(FailureCause::PluginError(_))) {
            self.give_back(warm);
        }
        result
    }

    /// Reviews one item on a brand-new instance (instantiate, configure,
    /// review, drop): the strongest isolation, at the cost of `configure` per
    /// item. The benchmark compares it with [`LoadedPlugin::review`].
    pub fn review_fresh(&self, item: &ReviewItem) -> Result<Vec<Finding>, PluginFailure> {
        let wit = wit_item(item, "2025-01-01T00:00:00Z");
        self.take_instance_fresh()
            .and_then(|mut fresh| self.call_review(&mut fresh, &wit))
            .map_err(|cause| PluginFailure { plugin: self.name.clone(), cause })
    }

    /// Reviews `item` with this plugin alone on a warm instance, converting
    /// it first (for the benchmark and tools; the pipeline converts once per
    /// item).
    pub fn review_item(&self, item: &ReviewItem) -> Result<Vec<Finding>, PluginFailure> {
        self.review(&wit_item(item, "2025-01-01T00:00:00Z"))
    }

    fn call_review(&self, warm: &mut WarmInstance, item: &WitItem) -> Result<Vec<Finding>, FailureCause> {
        warm.calls += 1;
        warm.store.set_epoch_deadline(deadline_ticks(self.limits.deadline));
        // SAFETY: the function's type was checked against exactly these
        // parameter and result types in `configure`, on this instance.
        let review = unsafe { TypedFunc::<(&WitItem,), (ReviewResult,)>::new_unchecked(warm.review) };
        warm.store.data().stderr.clear();
        let result = output::with_budget(self.limits.max_findings, self.limits.max_output_bytes, || {
            review.call(&mut warm.store, (item,))
        });
        match result {
            Err(e) => Err(match classify(&e, &self.limits) {
                // Name the panic: Rust guests print it to stderr before the
                // `unreachable` trap.
                FailureCause::Trap(t) => match warm.store.data().stderr.last_line() {
                    Some(line) => FailureCause::Trap(format!("{t}；插件输出：{line}")),
                    None => FailureCause::Trap(t),
                },
                other => other,
            }),
            Ok((Err(message),)) => Err(FailureCause::PluginError(message.0)),
            Ok((Ok(raw),)) => self.validate(item, raw.0),
        }
    }
}
