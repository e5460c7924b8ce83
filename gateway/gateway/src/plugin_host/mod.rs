//! The sandboxed WebAssembly host of the review plugins.
//!
//! Owns one wasmtime [`Engine`] (component model, Cranelift, pooling
//! allocator, epoch interruption), the on-disk cache of compiled artifacts,
//! and the life cycle of each loaded plugin: verify its SHA-256 against the
//! pin, compile or load it from the cache, check its contract version, link
//! it against an *empty* WASI context (no files, network, environment,
//! arguments or stdio; clocks frozen at the epoch; randomness all zeros),
//! describe and configure it, and keep warm configured instances that are
//! reused across items, recycled after N calls or past a memory watermark,
//! and discarded after any trap.
//!
//! Every call runs under a deadline (epoch interruption) and a memory cap,
//! and its output is lifted within a budget and validated (known rule and
//! kind, spans in range and on character boundaries). Any failure becomes a
//! [`PluginFailure`] that the review pipeline turns into a blocking
//! `plugin_failure` finding: the host fails closed and keeps serving.
//!
//! It deliberately knows nothing about policies, verdicts or storage: that is
//! `policy` and `review`.

mod bindings;
mod output;
mod stderr;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, ComponentExportIndex, Func, InstancePre, Linker, ResourceTable, TypedFunc};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::review::{Field, Finding, Severity, Span};
pub(crate) use bindings::Item as WitItem;
use output::{ConfigureResult, RawFinding, RawPluginInfo, ReviewResult};
use stderr::StderrTail;

/// The contract this host implements; a plugin must be built against a
/// compatible version (same `0.1` line).
pub const CONTRACT_PACKAGE: &str = "gov-disclosure:review";
/// The contract version this host implements.
pub const CONTRACT_VERSION: &str = "0.1.0";

/// The finding kinds every plugin may report (the shared vocabulary of
/// `../shared/eval/README.md`); others must be declared by `describe`.
pub const SHARED_KINDS: &[&str] = &[
    "sensitive_term",
    "id_number",
    "mobile",
    "bank_card",
    "email",
    "credit_code",
    "passport",
    "address",
    "classification_marker",
    "attribute_conflict",
    "attribute_downgrade",
    "reason_missing",
    "reply_incomplete",
    "signoff_missing",
    "doc_number_format",
];

/// The kind of the finding the host reports when a plugin fails; reserved.
pub const PLUGIN_FAILURE_KIND: &str = "plugin_failure";

/// Epoch tick period: the granularity of every deadline.
const TICK: Duration = Duration::from_millis(10);

/// Engine-wide settings of the host, fixed for its lifetime.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Where compiled artifacts are cached (`None`: compile in memory only).
    pub cache_dir: Option<PathBuf>,
    /// Use the pooling instance allocator (faster instantiation, reserved
    /// address space); `false` allocates on demand.
    pub pooling: bool,
    /// Pool size: how many component instances may exist at once.
    pub instance_slots: u32,
    /// The most memory any plugin may be granted (the pooling allocator's
    /// hard cap); per-plugin caps are at most this.
    pub memory_ceiling: usize,
}

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

/// Why a plugin could not be loaded. Messages are for the operator, in
/// Chinese, and name the plugin and the cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// The engine could not be created (e.g. address space for the pool).
    #[error("无法创建 WebAssembly 引擎：{0}")]
    Engine(String),
    /// The component file could not be read.
    #[error("无法读取插件 {name} 的文件 {path}：{source}")]
    Read {
        /// Plugin name in the policy.
        name: String,
        /// The file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// The component's SHA-256 is not the policy's pin.
    #[error("插件 {name} 的文件 {path} 与策略固定的哈希不符：策略为 {expected}，文件实际为 {actual}")]
    HashMismatch {
        /// Plugin name in the policy.
        name: String,
        /// The file.
        path: PathBuf,
        /// The pinned SHA-256 (hex).
        expected: String,
        /// The file's SHA-256 (hex).
        actual: String,
    },
    /// The bytes are not a valid component, or compiling them failed.
    #[error("插件 {name} 无法编译（不是有效的 WebAssembly 组件？）：{reason}")]
    Compile {
        /// Plugin name in the policy.
        name: String,
        /// wasmtime's reason.
        reason: String,
    },
    /// The plugin was built against another contract version or shape.
    #[error("插件 {name} 的接口契约不兼容：网关支持 {CONTRACT_PACKAGE}@{CONTRACT_VERSION}，插件为 {found}")]
    Contract {
        /// Plugin name in the policy.
        name: String,
        /// What the plugin was built against, or what does not match.
        found: String,
    },
    /// The plugin imports something the host does not grant.
    #[error("插件 {name} 需要网关不提供的导入（只提供空的 WASI 环境）：{reason}")]
    Link {
        /// Plugin name in the policy.
        name: String,
        /// wasmtime's reason.
        reason: String,
    },
    /// `describe` names another plugin than the policy does.
    #[error("策略中的插件 {name} 自称为 {described}：请检查策略中的路径与名称")]
    NameMismatch {
        /// Plugin name in the policy.
        name: String,
        /// Name returned by `describe`.
        described: String,
    },
    /// The plugin refused its configuration, or failed while configuring.
    #[error("插件 {name} 拒绝了策略中的配置：{reason}")]
    Configure {
        /// Plugin name in the policy.
        name: String,
        /// The plugin's message or the failure.
        reason: String,
    },
    /// `describe` failed or returned nonsense.
    #[error("插件 {name} 的 describe 调用失败：{reason}")]
    Describe {
        /// Plugin name in the policy.
        name: String,
        /// The failure.
        reason: String,
    },
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
struct MemoryCapExceeded {
    cap: usize,
    requested: usize,
}

/// Tracks an instance's memory and refuses growth past the cap.
struct Limiter {
    cap: usize,
    used: usize,
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

/// What a store carries: the empty WASI context and the limiter.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: Limiter,
    /// The tail of the guest's stderr (panic messages).
    stderr: StderrTail,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// A clock stopped at the Unix epoch: plugins get no time (the item carries
/// `now`), so that reviews are reproducible.
struct FrozenClock;

impl wasmtime_wasi::HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl wasmtime_wasi::HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// Increments the engine's epoch every [`TICK`] until dropped.
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(engine: Engine) -> Ticker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("plugin-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawn the epoch ticker thread");
        Ticker { stop, thread: Some(thread) }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The process-wide plugin host: engine, linker, artifact cache and epoch
/// ticker. Create one and share it (`Arc`) across policy generations.
pub struct PluginHost {
    engine: Engine,
    linker: Linker<HostState>,
    config: HostConfig,
    /// `<hex of the engine's compatibility hash>`, part of cache keys.
    compat: String,
    /// Compiled components by SHA-256, so a reload does not recompile
    /// unchanged plugins.
    compiled: Mutex<HashMap<String, Component>>,
    _ticker: Ticker,
}

impl fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginHost").field("config", &self.config).field("compat", &self.compat).finish_non_exhaustive()
    }
}

/// Feeds `Hash` output into SHA-256, for a stable cache key.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// SHA-256 of `bytes`, lower-case hex.
/// Every built plugin's SHA-256 pin (name → hex), from the build manifest
/// `dist/manifest.toml` that `cargo xtask build-plugins` writes. The error
/// names the file and the command to run.
pub fn built_pins(dist: &Path) -> Result<std::collections::HashMap<String, String>, String> {
    let path = dist.join("manifest.toml");
    let text = std::fs::read_to_string(&path)
        .map_err(|_| format!("{} is missing: run `cargo xtask build-plugins`", path.display()))?;
    let manifest: toml::Table = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let entries = manifest.get("plugin").and_then(|p| p.as_array()).map(Vec::as_slice).unwrap_or_default();
    entries
        .iter()
        .map(|p| match (p.get("name").and_then(|v| v.as_str()), p.get("sha256").and_then(|v| v.as_str())) {
            (Some(name), Some(sha)) => Ok((name.to_owned(), sha.to_owned())),
            _ => Err(format!("{}: an entry lacks name or sha256", path.display())),
        })
        .collect()
}

/// One built plugin's pin; see [`built_pins`].
pub fn built_pin(dist: &Path, name: &str) -> Result<String, String> {
    built_pins(dist)?
        .remove(name)
        .ok_or_else(|| format!("plugin {name} is not in {}: run `cargo xtask build-plugins`", dist.display()))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl PluginHost {
    /// Creates the engine (with the pooling allocator if configured) and
    /// starts the epoch ticker.
    pub fn new(config: HostConfig) -> Result<Arc<PluginHost>, HostError> {
        let mut wasm = Config::new();
        wasm.wasm_component_model(true);
        wasm.epoch_interruption(true);
        if config.pooling {
            let slots = config.instance_slots.max(1);
            let mut pool = PoolingAllocationConfig::default();
            pool.total_component_instances(slots)
                .total_core_instances(slots.saturating_mul(8))
                .total_memories(slots.saturating_mul(2))
                .total_tables(slots.saturating_mul(4))
                .total_stacks(slots)
                .max_core_instances_per_component(32)
                .max_memories_per_component(4)
                .max_tables_per_component(8)
                .max_memory_size(config.memory_ceiling);
            wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        let engine = Engine::new(&wasm).map_err(|e| HostError::Engine(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| HostError::Engine(format!("{e:#}")))?;
        let mut h = ShaHasher(Sha256::new());
        std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut h);
        let compat = hex::encode(&h.0.finalize()[..8]);
        if let Some(dir) = &config.cache_dir {
            // Best effort: without a cache directory we compile in memory.
            if let Err(e) = std::fs::create_dir_all(dir) {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot create the plugin cache directory");
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                // Only the gateway may write compiled code it will execute.
                let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
            }
        }
        Ok(Arc::new(PluginHost {
            _ticker: Ticker::start(engine.clone()),
            engine,
            linker,
            config,
            compat,
            compiled: Mutex::new(HashMap::new()),
        }))
    }

    /// The host's engine-wide configuration.
    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// The cache file of a component with this SHA-256 for this engine.
    fn cache_path(&self, sha256: &str) -> Option<PathBuf> {
        self.config.cache_dir.as_ref().map(|d| d.join(format!("{sha256}-{}.cwasm", self.compat)))
    }

    /// Compiles `bytes` (whose SHA-256 is `sha256`, already verified), or
    /// loads the compiled artifact from the in-memory or on-disk cache.
    fn component(&self, name: &str, bytes: &[u8], sha256: &str) -> Result<Component, HostError> {
        if let Some(c) = self.compiled.lock().expect("cache lock").get(sha256) {
            return Ok(c.clone());
        }
        let cached = self.cache_path(sha256).and_then(|path| {
            if !path.exists() {
                return None;
            }
            if !trusted_cache_file(&path) {
                tracing::warn!(path = %path.display(), "ignoring a cached plugin artifact writable by others");
                let _ = std::fs::remove_file(&path);
                return None;
            }
            // SAFETY: the cache directory is written only by this process
            // (from components whose hash was verified); `deserialize_file`
            // rejects artifacts of another wasmtime or engine configuration.
            // A tampered file there is code execution, which is why the cache
            // is local and never distributed (see ARCHITECTURE.md).
            match unsafe { Component::deserialize_file(&self.engine, &path) } {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "discarding an unusable cached plugin artifact");
                    let _ = std::fs::remove_file(&path);
                    None
                }
            }
        });
        let component = match cached {
            Some(c) => c,
            None => {
                let c = Component::from_binary(&self.engine, bytes)
                    .map_err(|e| HostError::Compile { name: name.to_owned(), reason: format!("{e:#}") })?;
                if let Some(path) = self.cache_path(sha256) {
                    self.write_cache(&path, &c);
                }
                c
            }
        };
        self.compiled.lock().expect("cache lock").insert(sha256.to_owned(), component.clone());
        Ok(component)
    }

    fn write_cache(&self, path: &Path, component: &Component) {
        let result = component.serialize().map_err(|e| e.to_string()).and_then(|bytes| {
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            std::fs::write(&tmp, bytes)
                .and_then(|()| {
                    #[cfg(unix)]
                    {
                        use std::os::unix::fs::PermissionsExt;
                        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
                    }
                    std::fs::rename(&tmp, path)
                })
                .map_err(|e| e.to_string())
        });
        if let Err(e) = result {
            tracing::warn!(path = %path.display(), error = %e, "cannot write the plugin artifact cache");
        }
    }

    /// Forgets compiled components not in `keep` (SHA-256s), after a reload.
    pub fn retain_compiled(&self, keep: &HashSet<String>) {
        self.compiled.lock().expect("cache lock").retain(|sha, _| keep.contains(sha));
    }

    fn new_store(&self, memory_cap: usize) -> Store<HostState> {
        let stderr = StderrTail::default();
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .wall_clock(FrozenClock)
            .monotonic_clock(FrozenClock)
            .secure_random(wasmtime_wasi::Deterministic::new(vec![0]))
            .insecure_random(wasmtime_wasi::Deterministic::new(vec![0]))
            .insecure_random_seed(0)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let mut store = Store::new(
            &self.engine,
            HostState { wasi, table: ResourceTable::new(), limiter: Limiter { cap: memory_cap, used: 0 }, stderr },
        );
        store.limiter(|s| &mut s.limiter);
        store.epoch_deadline_trap();
        store
    }

    /// Loads one plugin: verifies the file against its pin, compiles (or
    /// loads from cache), checks the contract, links, describes and
    /// configures a first warm instance.
    pub fn load(self: &Arc<Self>, spec: PluginSpec) -> Result<LoadedPlugin, HostError> {
        let name = spec.name.clone();
        let bytes = std::fs::read(&spec.path).map_err(|source| HostError::Read {
            name: name.clone(),
            path: spec.path.clone(),
            source,
        })?;
        let actual = sha256_hex(&bytes);
        if !actual.eq_ignore_ascii_case(spec.sha256.trim()) {
            return Err(HostError::HashMismatch {
                name,
                path: spec.path.clone(),
                expected: spec.sha256.clone(),
                actual,
            });
        }
        let component = self.component(&name, &bytes, &actual)?;
        self.check_imports(&name, &component)?;
        let export = |f: &str| {
            component
                .get_export_index(None, f)
                .ok_or_else(|| HostError::Contract { name: name.clone(), found: format!("缺少导出函数 {f}") })
        };
        let exports =
            Exports { describe: export("describe")?, configure: export("configure")?, review: export("review")? };
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| HostError::Link { name: name.clone(), reason: format!("{e:#}") })?;
        let mut plugin = LoadedPlugin {
            host: self.clone(),
            name: name.clone(),
            sha256: actual,
            path: spec.path,
            description: PluginDescription::default(),
            pre,
            exports,
            config: spec.config,
            limits: spec.limits,
            rules: HashSet::new(),
            kinds: HashSet::new(),
            pool: Mutex::new(Vec::new()),
            created: AtomicU64::new(0),
        };
        let (mut store, instance) =
            plugin.instantiate().map_err(|e| HostError::Contract { name: name.clone(), found: e })?;
        let description = plugin.describe(&mut store, &instance)?;
        if description.name != name {
            return Err(HostError::NameMismatch { name, described: description.name });
        }
        plugin.rules = description.rules.iter().map(|r| r.id.clone()).collect();
        plugin.kinds =
            SHARED_KINDS.iter().map(|k| (*k).to_owned()).chain(description.extra_kinds.iter().cloned()).collect();
        plugin.description = description;
        let warm =
            plugin.configure(store, &instance).map_err(|reason| HostError::Configure { name: name.clone(), reason })?;
        plugin.pool.lock().expect("pool lock").push(warm);
        plugin.created.store(1, Ordering::Relaxed);
        Ok(plugin)
    }

    /// Refuses a component that imports another version of the contract
    /// package, naming what it was built against.
    fn check_imports(&self, name: &str, component: &Component) -> Result<(), HostError> {
        let ty = component.component_type();
        for (import, _) in ty.imports(&self.engine) {
            let Some(rest) = import.strip_prefix(&format!("{CONTRACT_PACKAGE}/")) else {
                continue;
            };
            let version = rest.split_once('@').map(|(_, v)| v).unwrap_or("");
            if !contract_compatible(version) {
                return Err(HostError::Contract {
                    name: name.to_owned(),
                    found: format!("{CONTRACT_PACKAGE}@{version}（导入 {import}）"),
                });
            }
        }
        Ok(())
    }
}

/// Whether a cached artifact may be loaded: a regular file that neither the
/// group nor others can write (anyone who can write it can run code in the
/// gateway).
fn trusted_cache_file(path: &Path) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o022 == 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// Whether a plugin built against contract `version` runs on this host
/// (same `0.1` line: for 0.x, the minor version is the breaking one).
pub fn contract_compatible(version: &str) -> bool {
    let ours: Vec<&str> = CONTRACT_VERSION.split('.').collect();
    let theirs: Vec<&str> = version.split('.').collect();
    theirs.len() == 3 && theirs[0] == ours[0] && theirs[1] == ours[1] && theirs[2].parse::<u32>().is_ok()
}

/// What to load: a plugin named in a policy.
#[derive(Debug, Clone)]
pub struct PluginSpec {
    /// The name the policy gives it (must equal what `describe` says).
    pub name: String,
    /// The component file.
    pub path: PathBuf,
    /// The pinned SHA-256 of the file, hex.
    pub sha256: String,
    /// The configuration passed to `configure`, as JSON text.
    pub config: String,
    /// Limits of each call.
    pub limits: PluginLimits,
}

/// A rule a plugin implements, as it describes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuleDescription {
    /// Rule id, e.g. `PII-001`.
    pub id: String,
    /// Finding kind.
    pub kind: String,
    /// Default severity.
    pub severity: Severity,
    /// What it checks.
    pub description: String,
}

/// What a plugin says about itself (`describe`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PluginDescription {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Contract version it was built against.
    pub contract: String,
    /// Rules it implements.
    pub rules: Vec<RuleDescription>,
    /// Kinds beyond the shared vocabulary it may report.
    pub extra_kinds: Vec<String>,
    /// JSON Schema of its configuration.
    pub config_schema: String,
}

struct Exports {
    describe: ComponentExportIndex,
    configure: ComponentExportIndex,
    review: ComponentExportIndex,
}

/// A configured instance ready for `review`.
struct WarmInstance {
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
    host: Arc<PluginHost>,
    name: String,
    sha256: String,
    path: PathBuf,
    description: PluginDescription,
    pre: InstancePre<HostState>,
    exports: Exports,
    config: String,
    limits: PluginLimits,
    rules: HashSet<String>,
    kinds: HashSet<String>,
    pool: Mutex<Vec<WarmInstance>>,
    /// Configured instances created so far (load, growth, replacements).
    created: AtomicU64,
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

fn deadline_ticks(d: Duration) -> u64 {
    (d.as_millis() / TICK.as_millis()).max(1) as u64 + 1
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

    fn instantiate(&self) -> Result<(Store<HostState>, wasmtime::component::Instance), String> {
        let mut store = self.host.new_store(self.limits.memory);
        store.set_epoch_deadline(deadline_ticks(self.limits.configure_deadline));
        let instance = self.pre.instantiate(&mut store).map_err(|e| classify(&e, &self.limits).to_string())?;
        Ok((store, instance))
    }

    fn describe(
        &self,
        store: &mut Store<HostState>,
        instance: &wasmtime::component::Instance,
    ) -> Result<PluginDescription, HostError> {
        let contract_err = |e: wasmtime::Error| HostError::Contract {
            name: self.name.clone(),
            found: format!("describe 的类型不符：{e:#}"),
        };
        let f: TypedFunc<(), (RawPluginInfo,)> =
            instance.get_typed_func(&mut *store, self.exports.describe).map_err(contract_err)?;
        let (info,) = output::with_budget(10_000, 1 << 20, || f.call(&mut *store, ())).map_err(|e| {
            HostError::Describe { name: self.name.clone(), reason: classify(&e, &self.limits).to_string() }
        })?;
        let contract = info.contract.0;
        if !contract_compatible(&contract) {
            return Err(HostError::Contract {
                name: self.name.clone(),
                found: format!("{CONTRACT_PACKAGE}@{contract}（describe 声明）"),
            });
        }
        Ok(PluginDescription {
            name: info.name.0,
            version: info.version.0,
            contract,
            rules: info
                .rules
                .0
                .into_iter()
                .map(|r| RuleDescription {
                    id: r.id.0,
                    kind: r.kind.0,
                    severity: r.severity.into(),
                    description: r.description.0,
                })
                .collect(),
            extra_kinds: info.extra_kinds.0.into_iter().map(|k| k.0).collect(),
            config_schema: info.config_schema.0,
        })
    }

    /// Calls `configure` and checks `review`'s type on a fresh instance.
    fn configure(
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
    pub fn review_fresh(&self, item: &crate::review::ReviewItem) -> Result<Vec<Finding>, PluginFailure> {
        let wit = wit_item(item, "2025-01-01T00:00:00Z");
        self.take_instance_fresh()
            .and_then(|mut fresh| self.call_review(&mut fresh, &wit))
            .map_err(|cause| PluginFailure { plugin: self.name.clone(), cause })
    }

    /// Reviews `item` with this plugin alone on a warm instance, converting
    /// it first (for the benchmark and tools; the pipeline converts once per
    /// item).
    pub fn review_item(&self, item: &crate::review::ReviewItem) -> Result<Vec<Finding>, PluginFailure> {
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

    /// Checks every finding against the contract; the first violation fails
    /// the whole call.
    fn validate(&self, item: &WitItem, raw: Vec<RawFinding>) -> Result<Vec<Finding>, FailureCause> {
        let mut out = Vec::with_capacity(raw.len());
        for (i, f) in raw.into_iter().enumerate() {
            let bad = |why: String| FailureCause::InvalidOutput(format!("第 {} 条发现：{why}", i + 1));
            let rule_id = f.rule_id.0;
            let kind = f.kind.0;
            if !self.rules.contains(&rule_id) {
                return Err(bad(format!("规则 {rule_id} 未在 describe 中声明")));
            }
            if kind == PLUGIN_FAILURE_KIND {
                return Err(bad(format!("类别 {kind} 为网关保留")));
            }
            if !self.kinds.contains(&kind) {
                return Err(bad(format!("未知的类别 {kind}（既非共享词汇，也未在 describe 中声明）")));
            }
            if f.message.0.trim().is_empty() {
                return Err(bad("缺少说明".to_owned()));
            }
            let field: Field = f.field.into();
            let span = match f.span {
                None => None,
                Some(s) => {
                    let Some(text) = field_text(item, f.field) else {
                        return Err(bad(format!("字段 {} 不接受位置或该字段为空", field.as_str())));
                    };
                    let (start, end) = (s.start as usize, s.end as usize);
                    if start > end || end > text.len() {
                        return Err(bad(format!(
                            "位置 {start}..{end} 超出字段 {}（{} 字节）",
                            field.as_str(),
                            text.len()
                        )));
                    }
                    if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
                        return Err(bad(format!("位置 {start}..{end} 不在字段 {} 的字符边界上", field.as_str())));
                    }
                    Some(Span { start: s.start, end: s.end })
                }
            };
            out.push(Finding {
                plugin: self.name.clone(),
                rule_id,
                kind,
                severity: f.severity.into(),
                field,
                span,
                message: f.message.0,
                suggestion: f.suggestion.map(|s| s.0),
            });
        }
        Ok(out)
    }
}

/// The text a span of `field` indexes (the WIT `field` enum's rule).
fn field_text(item: &WitItem, field: bindings::Field) -> Option<&str> {
    use bindings::Field as F;
    match field {
        F::Title => Some(&item.title),
        F::Body => Some(&item.body),
        F::DocNumber => item.doc_number.as_deref(),
        F::Issuer => item.issuer.as_deref(),
        F::Attribute => Some(&item.attribute),
        F::AttributeReason => item.attribute_reason.as_deref(),
        F::LegalBasis => item.legal_basis.as_deref(),
        F::Superior => item.superior.as_ref().and_then(|s| s.doc_number.as_deref()),
        F::Signoff => item.signoff.as_ref().map(|s| s.name.as_str()),
        F::Channels | F::Attachment => None,
    }
}

/// Names the cause of a failed call.
fn classify(e: &wasmtime::Error, limits: &PluginLimits) -> FailureCause {
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

impl From<bindings::Severity> for Severity {
    fn from(s: bindings::Severity) -> Severity {
        match s {
            bindings::Severity::Info => Severity::Info,
            bindings::Severity::Warn => Severity::Warn,
            bindings::Severity::Block => Severity::Block,
        }
    }
}

impl From<Severity> for bindings::Severity {
    fn from(s: Severity) -> bindings::Severity {
        match s {
            Severity::Info => bindings::Severity::Info,
            Severity::Warn => bindings::Severity::Warn,
            Severity::Block => bindings::Severity::Block,
        }
    }
}

impl From<bindings::Field> for Field {
    fn from(f: bindings::Field) -> Field {
        use bindings::Field as F;
        match f {
            F::Title => Field::Title,
            F::Body => Field::Body,
            F::DocNumber => Field::DocNumber,
            F::Issuer => Field::Issuer,
            F::Attribute => Field::Attribute,
            F::AttributeReason => Field::AttributeReason,
            F::LegalBasis => Field::LegalBasis,
            F::Superior => Field::Superior,
            F::Channels => Field::Channels,
            F::Signoff => Field::Signoff,
            F::Attachment => Field::Attachment,
        }
    }
}

impl From<Field> for bindings::Field {
    fn from(f: Field) -> bindings::Field {
        use bindings::Field as F;
        match f {
            Field::Title => F::Title,
            Field::Body => F::Body,
            Field::DocNumber => F::DocNumber,
            Field::Issuer => F::Issuer,
            Field::Attribute => F::Attribute,
            Field::AttributeReason => F::AttributeReason,
            Field::LegalBasis => F::LegalBasis,
            Field::Superior => F::Superior,
            Field::Channels => F::Channels,
            Field::Signoff => F::Signoff,
            Field::Attachment => F::Attachment,
        }
    }
}

/// Converts the gateway's item into the contract's, with the findings of the
/// plugins that ran before.
pub(crate) fn wit_item(item: &crate::review::ReviewItem, now: &str) -> WitItem {
    WitItem {
        id: item.id.clone(),
        version: item.version,
        kind: item.kind.clone(),
        title: item.title.clone(),
        body: item.body.clone(),
        attribute: item.attribute.clone(),
        attribute_reason: item.attribute_reason.clone(),
        legal_basis: item.legal_basis.clone(),
        doc_number: item.doc_number.clone(),
        issuer: item.issuer.clone(),
        superior: item.superior.as_ref().map(|s| bindings::SuperiorRef {
            doc_number: s.doc_number.clone(),
            issuer: s.issuer.clone(),
            attribute: s.attribute.clone(),
        }),
        channels: item.channels.clone(),
        attachments: item
            .attachments
            .iter()
            .map(|a| bindings::Attachment {
                name: a.name.clone(),
                media_type: a.media_type.clone(),
                digest: a.digest.clone(),
                size: a.size,
            })
            .collect(),
        formed_at: item.formed_at.clone(),
        now: now.to_owned(),
        signoff: item.signoff.as_ref().map(|s| bindings::Signoff {
            name: s.name.clone(),
            title: s.title.clone(),
            statement_accepted: s.statement_accepted,
            statement_version: s.statement_version.clone(),
            accepted_at: s.accepted_at.clone(),
        }),
        approvals: item
            .approvals
            .iter()
            .map(|a| bindings::Approval {
                stage: a.stage.clone(),
                reviewer: a.reviewer.clone(),
                digest: a.digest.clone(),
            })
            .collect(),
        flags: item.flags.clone(),
        content_digest: item.content_digest.clone(),
        prior_findings: Vec::new(),
    }
}

/// Appends findings to the item's `prior-findings` for the next plugin.
pub(crate) fn push_prior(item: &mut WitItem, findings: &[Finding]) {
    item.prior_findings.extend(findings.iter().map(|f| bindings::Finding {
        rule_id: f.rule_id.clone(),
        kind: f.kind.clone(),
        severity: f.severity.into(),
        field: f.field.into(),
        span: f.span.map(|s| bindings::Span { start: s.start, end: s.end }),
        message: f.message.clone(),
        suggestion: f.suggestion.clone(),
    }));
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn contract_versions() {
        assert!(contract_compatible("0.1.0"));
        assert!(contract_compatible("0.1.7"));
        assert!(!contract_compatible("0.2.0"));
        assert!(!contract_compatible("1.1.0"));
        assert!(!contract_compatible(""));
        assert!(!contract_compatible("0.1"));
    }

    #[test]
    fn failure_causes_read_in_chinese() {
        let c = FailureCause::MemoryCap { cap: 64 << 20, requested: (64 << 20) + 1 };
        assert_eq!(c.to_string(), "超过内存上限 64 MiB（请求 65 MiB）");
        assert_eq!(FailureCause::Deadline(Duration::from_millis(2000)).to_string(), "超过时限 2000 毫秒");
    }
}
