//! Loading a plugin: reading the component, checking it against the
//! policy's pin *before* compiling, the contract check (imports and the
//! version `describe` declares), `describe` itself, and the build manifest's
//! pins (`plugins/dist/manifest.toml`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use wasmtime::Store;
use wasmtime::component::{Component, TypedFunc};

use super::engine::{HostState, PluginHost};
use super::limits::{PluginLimits, classify};
use super::output::{self, RawPluginInfo};
use super::pool::{Exports, LoadedPlugin};
use super::{CONTRACT_PACKAGE, CONTRACT_VERSION, SHARED_KINDS, contract_compatible};
use crate::finding::Severity;

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

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Reads a component file and checks it against its pin, before anything
/// is compiled; returns the bytes and their SHA-256 (hex).
pub(super) fn read_pinned(name: &str, path: &Path, pin: &str) -> Result<(Vec<u8>, String), HostError> {
    let bytes = std::fs::read(path).map_err(|source| HostError::Read {
        name: name.to_owned(),
        path: path.to_owned(),
        source,
    })?;
    let actual = sha256_hex(&bytes);
    if !actual.eq_ignore_ascii_case(pin.trim()) {
        return Err(HostError::HashMismatch {
            name: name.to_owned(),
            path: path.to_owned(),
            expected: pin.to_owned(),
            actual,
        });
    }
    Ok((bytes, actual))
}

impl PluginHost {
    /// Loads one plugin: verifies the file against its pin, compiles (or
    /// loads from cache), checks the contract, links, describes and
    /// configures a first warm instance.
    pub fn load(self: &Arc<Self>, spec: PluginSpec) -> Result<LoadedPlugin, HostError> {
        let name = spec.name.clone();
        let (bytes, actual) = read_pinned(&name, &spec.path, &spec.sha256)?;
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

impl LoadedPlugin {
    pub(super) fn describe(
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
}
