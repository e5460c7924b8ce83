//! The process-wide engine: wasmtime configuration (component model,
//! Cranelift, pooling allocator, epoch interruption), the epoch ticker, the
//! empty WASI context every store gets (no files, network, environment,
//! arguments or stdio; clocks frozen at the epoch; randomness all zeros), and
//! the compiled-artifact cache (in memory by SHA-256, on disk keyed by the
//! engine's compatibility hash, never trusted when others can write it).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::HostError;
use super::limits::{Limiter, TICK};
use super::stderr::StderrTail;

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

/// What a store carries: the empty WASI context and the limiter.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(super) limiter: Limiter,
    /// The tail of the guest's stderr (panic messages).
    pub(super) stderr: StderrTail,
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
    pub(super) engine: Engine,
    pub(super) linker: Linker<HostState>,
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
    pub(super) fn component(&self, name: &str, bytes: &[u8], sha256: &str) -> Result<Component, HostError> {
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

    pub(super) fn new_store(&self, memory_cap: usize) -> Store<HostState> {
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
