//! Review policies: which plugins run, pinned by SHA-256, with which
//! configuration, on which items, and with which severity overrides.
//!
//! A policy is a TOML file (see `policies/default.toml`):
//!
//! ```toml
//! name = "default"
//!
//! [[plugins]]
//! name = "secrecy"                          # must equal what `describe` says
//! path = "../plugins/dist/secrecy.wasm"     # relative to this file
//! sha256 = "9f2c…"                          # the pin: refused if the file differs
//! kinds = ["notice", "policy"]              # optional filters; empty = all
//! attributes = ["public"]
//! channels = ["website", "wechat"]          # applies if the item targets any
//! phases = ["seal"]                         # optional: only at these phases (submit, seal)
//! memory_mib = 128                          # optional, at most the host ceiling
//! deadline_ms = 2000                        # optional per-call deadline
//! [plugins.config]                          # passed to `configure` as JSON
//! threshold = 3
//! words = { file = "terms/words.txt" }      # a data file: its lines, as an array
//!
//! [[overrides]]                             # first match wins
//! kind = "mobile"                           # or rule = "PII-003"; plugin = "pii" narrows
//! severity = "info"
//! ```
//!
//! A table `{ file = "…" }` anywhere in a plugin's configuration is replaced
//! by the file's content: `format = "lines"` (default: non-empty lines that
//! do not start with `#`, trimmed), `"text"` (the whole file as a string),
//! `"json"` or `"toml"` (the parsed document). Data files are read relative to the policy and must stay inside
//! its directory. The policy hash covers the effective policy: every plugin's
//! pin, filters, limits and resolved configuration, and the overrides.
//!
//! This module only reads and validates; verifying pins and loading the
//! plugins is the plugin host's job.

use std::path::{Component as PathComponent, Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::finding::{Finding, Phase, ReviewItem, Severity};

/// Why a policy could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A file could not be read.
    #[error("无法读取策略文件 {path}：{source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// The policy is not valid TOML of the expected shape.
    #[error("策略文件 {path} 格式错误：{reason}")]
    Parse {
        /// The policy file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The policy is well-formed but inconsistent.
    #[error("策略文件 {path} 无效：{reason}")]
    Invalid {
        /// The policy file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A data file referenced by a configuration is missing or malformed.
    #[error("策略 {policy} 引用的数据文件 {path} 无效：{reason}")]
    DataFile {
        /// The policy file.
        policy: PathBuf,
        /// The data file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    plugins: Vec<PluginEntry>,
    #[serde(default)]
    overrides: Vec<OverrideEntry>,
    #[serde(default)]
    extractor: Option<ExtractorEntry>,
    #[serde(default)]
    ocr: Option<OcrEntry>,
    #[serde(default)]
    links: Option<LinkPolicy>,
}

/// `[links]`: the agency's link lists (LNK-001). A link to a blocked host
/// blocks; an external link to a host outside `allowed_hosts` warns (no
/// allow-list: no warning). A host entry covers its subdomains (`gov.cn`
/// covers `www.gov.cn`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct LinkPolicy {
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    #[serde(default)]
    pub blocked_hosts: Vec<String>,
}

/// The host of a URL-like target (`scheme://user@host:port/...`), if any:
/// the authority after its last `@`, as browsers read it.
pub fn url_host(target: &str) -> Option<&str> {
    let rest = target.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host.strip_prefix('[') { v6.split(']').next()? } else { host.split(':').next()? };
    Some(host)
}

/// What the link lists say of a link's host.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkVerdict {
    /// On the blocked list.
    Blocked(String),
    /// An external link outside a non-empty allow-list.
    Unlisted(String),
}

impl LinkPolicy {
    /// The verdict on an `http(s)` link target; `None` for a listed host,
    /// another scheme, or when the policy has no lists.
    pub fn judge(&self, target: &str) -> Option<LinkVerdict> {
        let lower = target.trim().to_ascii_lowercase();
        if !(lower.starts_with("https://") || lower.starts_with("http://")) {
            return None;
        }
        let host = url_host(&lower)?.trim_end_matches('.');
        let covered = |list: &[String]| list.iter().any(|h| host == h || host.ends_with(&format!(".{h}")));
        if covered(&self.blocked_hosts) {
            Some(LinkVerdict::Blocked(host.to_owned()))
        } else if !self.allowed_hosts.is_empty() && !covered(&self.allowed_hosts) {
            Some(LinkVerdict::Unlisted(host.to_owned()))
        } else {
            None
        }
    }

    /// Lower-cases the entries and refuses what is not a host name.
    fn checked(mut self) -> Result<LinkPolicy, String> {
        for list in [&mut self.allowed_hosts, &mut self.blocked_hosts] {
            for h in list.iter_mut() {
                *h = h.trim().trim_end_matches('.').to_ascii_lowercase();
                let host_like = !h.is_empty()
                    && h.len() <= 253
                    && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
                    && !h.starts_with('.');
                if !host_like {
                    return Err(format!("[links] 中的“{h}”不是域名：只写域名（如 gov.cn），不带 http:// 或路径"));
                }
            }
        }
        Ok(self)
    }
}

/// `[ocr]`: reading images and scanned pages (see `crate::ocr`); every
/// field has a default.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OcrEntry {
    command: Option<PathBuf>,
    languages: Option<String>,
    rasterizer: Option<PathBuf>,
    deadline_ms: Option<u64>,
    memory_mib: Option<u32>,
    max_pages: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtractorEntry {
    name: String,
    path: PathBuf,
    sha256: String,
    #[serde(default)]
    memory_mib: Option<u32>,
    #[serde(default)]
    deadline_ms: Option<u64>,
}

/// The attachment extractor a policy pins (`[extractor]`): it reads every
/// attachment in the sandbox before the plugins review the item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PolicyExtractor {
    /// Name (must equal what the extractor's `describe` says).
    pub name: String,
    /// The component file, resolved against the policy's directory.
    pub path: PathBuf,
    /// Pinned SHA-256 of the file, hex.
    pub sha256: String,
    /// Memory cap override, MiB (default 256).
    pub memory_mib: Option<u32>,
    /// Deadline override per file, ms (default 10000).
    pub deadline_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PluginEntry {
    name: String,
    path: PathBuf,
    sha256: String,
    #[serde(default)]
    config: Option<toml::Table>,
    #[serde(default)]
    kinds: Vec<String>,
    #[serde(default)]
    attributes: Vec<String>,
    #[serde(default)]
    channels: Vec<String>,
    #[serde(default)]
    phases: Vec<String>,
    #[serde(default)]
    memory_mib: Option<u32>,
    #[serde(default)]
    deadline_ms: Option<u64>,
    #[serde(default)]
    configure_deadline_ms: Option<u64>,
    #[serde(default)]
    extra_terms: Option<ExtraTermsEntry>,
    #[serde(default)]
    attachments: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtraTermsEntry {
    into: String,
    #[serde(default)]
    with: toml::Table,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideEntry {
    #[serde(default)]
    plugin: Option<String>,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    severity: String,
}

/// Which items a plugin applies to; an empty list means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Applicability {
    /// Item kinds (`notice`, `reply`, ...).
    pub kinds: Vec<String>,
    /// 公开属性 values.
    pub attributes: Vec<String>,
    /// Channels: applies if the item targets any of them.
    pub channels: Vec<String>,
    /// Phases of the item's life the plugin runs at; empty means all.
    pub phases: Vec<Phase>,
}

fn parse_phases(names: &[String]) -> Result<Vec<Phase>, String> {
    names
        .iter()
        .map(|n| {
            Phase::ALL
                .into_iter()
                .find(|p| p.as_str() == n)
                .ok_or_else(|| format!("未知的阶段“{n}”（可用：submit、seal）"))
        })
        .collect()
}

impl Applicability {
    /// Whether a plugin with these filters reviews `item`.
    pub fn applies_to(&self, item: &ReviewItem) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&item.kind))
            && (self.attributes.is_empty() || self.attributes.contains(&item.attribute))
            && (self.channels.is_empty() || item.channels.iter().any(|c| self.channels.contains(c)))
    }

    /// Whether the plugin runs at `phase` (`None`: a whole-gate check, every plugin runs).
    pub fn runs_at(&self, phase: Option<Phase>) -> bool {
        phase.is_none_or(|p| self.phases.is_empty() || self.phases.contains(&p))
    }
}

/// Where `gateway check --terms` lists go: appended to the array `into` of
/// the plugin's configuration, as the object `with` plus `"terms": [...]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExtraTerms {
    /// Top-level configuration key of the array of lists.
    pub into: String,
    /// Fields of the appended list object (tag, severity ...).
    pub with: Map<String, Value>,
}

/// One plugin of a policy, with its data files resolved.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PolicyPlugin {
    /// Name (must equal what the plugin's `describe` says).
    pub name: String,
    /// The component file, resolved against the policy's directory.
    pub path: PathBuf,
    /// Pinned SHA-256 of the file, hex.
    pub sha256: String,
    /// Configuration for `configure`.
    pub config: Value,
    /// Which items it reviews.
    pub applies: Applicability,
    /// Memory cap override, MiB.
    pub memory_mib: Option<u32>,
    /// Review deadline override, ms.
    pub deadline_ms: Option<u64>,
    /// Configure deadline override, ms.
    pub configure_deadline_ms: Option<u64>,
    /// Receives `gateway check --terms` lists, if set.
    pub extra_terms: Option<ExtraTerms>,
    /// Also reviews the text the extractor reads from attachments
    /// (detection plugins: secrecy, pii, lexicon). Not serialised when
    /// false, so the hashes of policies without it stay what they were.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub attachments: bool,
}

/// A policy's severity override; the first that matches a finding applies.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SeverityOverride {
    /// Only findings of this plugin.
    pub plugin: Option<String>,
    /// Only findings of this rule.
    pub rule: Option<String>,
    /// Only findings of this kind.
    pub kind: Option<String>,
    /// The severity to report instead.
    pub severity: Severity,
}

impl SeverityOverride {
    fn matches(&self, f: &Finding) -> bool {
        self.plugin.as_ref().is_none_or(|p| *p == f.plugin)
            && self.rule.as_ref().is_none_or(|r| *r == f.rule_id)
            && self.kind.as_ref().is_none_or(|k| *k == f.kind)
    }
}

/// A parsed and resolved policy.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Policy {
    /// The policy's name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// The file it was read from.
    pub path: PathBuf,
    /// Plugins, in pipeline order.
    pub plugins: Vec<PolicyPlugin>,
    /// Severity overrides, first match wins.
    pub overrides: Vec<SeverityOverride>,
    /// The attachment extractor, if the policy reads attachments.
    pub extractor: Option<PolicyExtractor>,
    /// OCR of images and scanned pages, if the policy reads them (with an extractor only).
    pub ocr: Option<crate::ocr::OcrSettings>,
    /// The agency's link lists (`[links]`).
    pub links: LinkPolicy,
}

impl Policy {
    /// Reads, validates and resolves a policy file.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| PolicyError::Read { path: path.to_owned(), source })?;
        let file: PolicyFile =
            toml::from_str(&text).map_err(|e| PolicyError::Parse { path: path.to_owned(), reason: e.to_string() })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let invalid = |reason: String| PolicyError::Invalid { path: path.to_owned(), reason };
        let mut plugins: Vec<PolicyPlugin> = Vec::new();
        for entry in file.plugins {
            if entry.name.trim().is_empty() {
                return Err(invalid("插件名称为空".into()));
            }
            if plugins.iter().any(|p| p.name == entry.name) {
                return Err(invalid(format!("插件 {} 重复出现", entry.name)));
            }
            let pin = entry.sha256.trim().to_ascii_lowercase();
            if pin.len() != 64 || !pin.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid(format!(
                    "插件 {} 的 sha256 应为 64 位十六进制数，实为“{}”",
                    entry.name, entry.sha256
                )));
            }
            let mut config = match entry.config {
                Some(t) => serde_json::to_value(t).map_err(|e| invalid(e.to_string()))?,
                None => json!({}),
            };
            resolve_files(&mut config, path, dir)?;
            let extra_terms = match entry.extra_terms {
                Some(x) => {
                    let with = match serde_json::to_value(x.with).map_err(|e| invalid(e.to_string()))? {
                        Value::Object(m) => m,
                        _ => Map::new(),
                    };
                    Some(ExtraTerms { into: x.into, with })
                }
                None => None,
            };
            let phases = parse_phases(&entry.phases).map_err(|reason| PolicyError::Invalid {
                path: path.to_owned(),
                reason: format!("插件 {} 的 phases 有误：{reason}", entry.name),
            })?;
            plugins.push(PolicyPlugin {
                path: dir.join(&entry.path),
                name: entry.name,
                sha256: pin,
                config,
                applies: Applicability {
                    kinds: entry.kinds,
                    attributes: entry.attributes,
                    channels: entry.channels,
                    phases,
                },
                memory_mib: entry.memory_mib,
                deadline_ms: entry.deadline_ms,
                configure_deadline_ms: entry.configure_deadline_ms,
                extra_terms,
                attachments: entry.attachments,
            });
        }
        let mut overrides = Vec::new();
        for o in file.overrides {
            let severity = Severity::parse(&o.severity)
                .ok_or_else(|| invalid(format!("未知的严重程度“{}”（应为 info、warn 或 block）", o.severity)))?;
            if o.rule.is_none() && o.kind.is_none() {
                return Err(invalid("severity 覆盖必须指定 rule 或 kind".into()));
            }
            if o.kind.as_deref() == Some(crate::plugin_host::PLUGIN_FAILURE_KIND)
                || o.rule.as_deref() == Some(crate::finding::PLUGIN_FAILURE_RULE)
            {
                return Err(invalid("插件故障（plugin_failure）始终阻断，不能覆盖".into()));
            }
            overrides.push(SeverityOverride { plugin: o.plugin, rule: o.rule, kind: o.kind, severity });
        }
        let extractor = match file.extractor {
            None => None,
            Some(x) => {
                let pin = x.sha256.trim().to_ascii_lowercase();
                if pin.len() != 64 || !pin.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(invalid(format!(
                        "附件提取器 {} 的 sha256 应为 64 位十六进制数，实为“{}”",
                        x.name, x.sha256
                    )));
                }
                Some(PolicyExtractor {
                    path: dir.join(&x.path),
                    name: x.name,
                    sha256: pin,
                    memory_mib: x.memory_mib,
                    deadline_ms: x.deadline_ms,
                })
            }
        };
        let ocr = match file.ocr {
            None => None,
            Some(_) if extractor.is_none() => {
                return Err(invalid("[ocr] 需要同时配置附件提取器 [extractor]".into()));
            }
            Some(o) => {
                let d = crate::ocr::OcrSettings::default();
                let settings = crate::ocr::OcrSettings {
                    command: o.command.unwrap_or(d.command),
                    languages: o.languages.unwrap_or(d.languages),
                    rasterizer: o.rasterizer.unwrap_or(d.rasterizer),
                    deadline_ms: o.deadline_ms.unwrap_or(d.deadline_ms),
                    memory_mib: o.memory_mib.unwrap_or(d.memory_mib),
                    max_pages: o.max_pages.unwrap_or(d.max_pages),
                };
                let language_ok = |l: &str| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                if !settings.languages.split('+').all(language_ok) {
                    return Err(invalid(format!("[ocr] languages 应形如 chi_sim+eng，实为“{}”", settings.languages)));
                }
                if !(1_000..=600_000).contains(&settings.deadline_ms)
                    || !(64..=8192).contains(&settings.memory_mib)
                    || !(1..=500).contains(&settings.max_pages)
                {
                    return Err(invalid(
                        "[ocr] 的上限超出范围：deadline_ms 1000–600000，memory_mib 64–8192，max_pages 1–500".into(),
                    ));
                }
                Some(settings)
            }
        };
        let links = file.links.unwrap_or_default().checked().map_err(invalid)?;
        Ok(Policy {
            name: file.name,
            description: file.description,
            path: path.to_owned(),
            plugins,
            overrides,
            extractor,
            ocr,
            links,
        })
    }

    /// The `sha256:` hash of the effective policy: name, every plugin's pin,
    /// filters, limits and resolved configuration, and the overrides.
    pub fn hash(&self) -> String {
        let value = json!({
            "name": self.name,
            "plugins": self.plugins,
            "overrides": self.overrides,
        });
        // Paths differ between machines; the pins identify the components.
        let mut value = value;
        // Only a policy that reads attachments has the key, so the hashes
        // of policies without an extractor stay what they were.
        if let Some(x) = &self.extractor {
            value["extractor"] = json!({
                "name": x.name, "sha256": x.sha256, "memory_mib": x.memory_mib, "deadline_ms": x.deadline_ms,
            });
        }
        // The OCR settings change what is read; the tools' paths do not.
        if let Some(o) = &self.ocr {
            value["ocr"] = json!({
                "languages": o.languages, "deadline_ms": o.deadline_ms, "memory_mib": o.memory_mib,
                "max_pages": o.max_pages,
            });
        }
        // Link lists change verdicts; an empty `[links]` leaves the hash as
        // it was.
        if self.links != LinkPolicy::default() {
            value["links"] = json!(self.links);
        }
        if let Some(list) = value["plugins"].as_array_mut() {
            for p in list {
                if let Some(o) = p.as_object_mut() {
                    o.remove("path");
                }
            }
        }
        let bytes = seal::canonical::to_vec(&value).unwrap_or_else(|_| value.to_string().into_bytes());
        format!("sha256:{}", crate::plugin_host::sha256_hex(&bytes))
    }

    /// Adds a plain-text term list (one term a line) to every plugin that
    /// declares `extra_terms`, as `with` + `"terms": [...]`. Returns how many
    /// plugins received it; zero means the policy has no such plugin.
    pub fn add_extra_terms(&mut self, terms_file: &Path) -> Result<usize, PolicyError> {
        let text = std::fs::read_to_string(terms_file).map_err(|e| PolicyError::DataFile {
            policy: self.path.clone(),
            path: terms_file.to_owned(),
            reason: e.to_string(),
        })?;
        let terms: Vec<Value> = lines(&text).map(Value::from).collect();
        let mut added = 0;
        for p in &mut self.plugins {
            let Some(x) = &p.extra_terms else { continue };
            let mut list = x.with.clone();
            list.insert("terms".into(), Value::Array(terms.clone()));
            let Some(config) = p.config.as_object_mut() else {
                continue;
            };
            let slot = config.entry(x.into.clone()).or_insert_with(|| json!([]));
            match slot.as_array_mut() {
                Some(a) => a.push(Value::Object(list)),
                None => {
                    return Err(PolicyError::Invalid {
                        path: self.path.clone(),
                        reason: format!("插件 {} 的配置项 {} 不是数组，无法追加词表", p.name, x.into),
                    });
                }
            }
            added += 1;
        }
        Ok(added)
    }

    /// The severity the policy gives `finding` (its own if no override
    /// matches). Plugin failures are never overridden.
    pub fn severity_for(&self, finding: &Finding) -> Severity {
        if finding.kind == crate::plugin_host::PLUGIN_FAILURE_KIND {
            return Severity::Block;
        }
        self.overrides.iter().find(|o| o.matches(finding)).map_or(finding.severity, |o| o.severity)
    }
}

/// Non-empty, non-comment lines, trimmed.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(|l| l.trim_start_matches('\u{feff}').trim()).filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Replaces every `{ file = "…", format = "…" }` table in `value` by the
/// file's content.
fn resolve_files(value: &mut Value, policy: &Path, dir: &Path) -> Result<(), PolicyError> {
    match value {
        Value::Object(map) => {
            let is_ref = map.contains_key("file") && map.keys().all(|k| k == "file" || k == "format");
            if !is_ref {
                for v in map.values_mut() {
                    resolve_files(v, policy, dir)?;
                }
                return Ok(());
            }
            let rel = PathBuf::from(map["file"].as_str().unwrap_or_default());
            let format = map.get("format").and_then(Value::as_str).unwrap_or("lines").to_owned();
            let bad = |reason: String| PolicyError::DataFile { policy: policy.to_owned(), path: rel.clone(), reason };
            if rel.as_os_str().is_empty()
                || rel.components().any(|c| !matches!(c, PathComponent::Normal(_) | PathComponent::CurDir))
            {
                return Err(bad("数据文件必须是策略所在目录内的相对路径".into()));
            }
            let text = std::fs::read_to_string(dir.join(&rel)).map_err(|e| bad(e.to_string()))?;
            *value = match format.as_str() {
                "lines" => Value::Array(lines(&text).map(Value::from).collect()),
                "text" => Value::String(text),
                "json" => serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?,
                "toml" => {
                    let table: toml::Table = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
                    serde_json::to_value(table).map_err(|e| bad(e.to_string()))?
                }
                other => {
                    return Err(bad(format!("未知的 format“{other}”（应为 lines、text、json 或 toml）")));
                }
            };
            Ok(())
        }
        Value::Array(items) => {
            for v in items {
                resolve_files(v, policy, dir)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_lists_block_warn_and_cover_subdomains() {
        let links = LinkPolicy {
            allowed_hosts: vec!["gov.cn".into(), "xinhuanet.com".into()],
            blocked_hosts: vec!["casino.example".into()],
        }
        .checked()
        .unwrap();
        assert_eq!(links.judge("https://www.gov.cn/zhengce/"), None);
        assert_eq!(links.judge("HTTP://WWW.GOV.CN./x"), None, "case and a trailing dot");
        assert_eq!(links.judge("http://news.xinhuanet.com:8080/a"), None);
        assert_eq!(
            links.judge("https://gov.cn.evil.example/"),
            Some(LinkVerdict::Unlisted("gov.cn.evil.example".into()))
        );
        assert_eq!(links.judge("https://notgov.cn/"), Some(LinkVerdict::Unlisted("notgov.cn".into())));
        assert_eq!(links.judge("https://a.casino.example/"), Some(LinkVerdict::Blocked("a.casino.example".into())));
        assert_eq!(
            links.judge("https://user@www.gov.cn@casino.example/"),
            Some(LinkVerdict::Blocked("casino.example".into()))
        );
        assert_eq!(links.judge("mailto:x@y.cn"), None, "not a web link");
        assert_eq!(LinkPolicy::default().judge("https://anything.example/"), None, "no lists, no verdict");
        let bad = LinkPolicy { allowed_hosts: vec!["https://gov.cn/".into()], blocked_hosts: vec![] };
        assert!(bad.checked().unwrap_err().contains("不是域名"));
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    const PIN: &str = "0000000000000000000000000000000000000000000000000000000000000000";

    #[test]
    fn resolves_data_files_and_hashes_the_effective_policy() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "terms/a.txt", "# comment\n甲词\n\n 乙词 \n");
        let p = write(
            dir.path(),
            "p.toml",
            &format!(
                r#"name = "t"
[[plugins]]
name = "lexicon"
path = "x.wasm"
sha256 = "{PIN}"
extra_terms = {{ into = "lists", with = {{ tag = "eval", severity = "block" }} }}
[plugins.config]
lists = [{{ tag = "a", terms = {{ file = "terms/a.txt" }} }}]
"#
            ),
        );
        let mut policy = Policy::load(&p).unwrap();
        assert_eq!(policy.plugins[0].config, json!({"lists": [{"tag": "a", "terms": ["甲词", "乙词"]}]}));
        assert_eq!(policy.plugins[0].path, dir.path().join("x.wasm"));
        let before = policy.hash();
        assert_eq!(before, Policy::load(&p).unwrap().hash());
        let extra = write(dir.path(), "extra.txt", "丙词\n");
        assert_eq!(policy.add_extra_terms(&extra).unwrap(), 1);
        assert_eq!(
            policy.plugins[0].config["lists"][1],
            json!({"tag": "eval", "severity": "block", "terms": ["丙词"]})
        );
        assert_ne!(policy.hash(), before);
        // A changed data file changes the hash too.
        write(dir.path(), "terms/a.txt", "甲词\n");
        assert_ne!(Policy::load(&p).unwrap().hash(), before);
    }

    #[test]
    fn refuses_bad_policies_with_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("name = \"t\"\nbogus = 1\n", "bogus"),
            ("name = \"t\"\n[[plugins]]\nname = \"a\"\npath = \"a.wasm\"\nsha256 = \"abc\"\n", "sha256"),
            (
                &format!(
                    "name = \"t\"\n[[plugins]]\nname = \"a\"\npath = \"a.wasm\"\nsha256 = \"{PIN}\"\n[plugins.config]\nx = {{ file = \"../etc/passwd\" }}\n"
                ),
                "相对路径",
            ),
            ("name = \"t\"\n[[overrides]]\nkind = \"plugin_failure\"\nseverity = \"info\"\n", "plugin_failure"),
            ("name = \"t\"\n[[overrides]]\nkind = \"mobile\"\nseverity = \"fatal\"\n", "fatal"),
        ];
        for (text, needle) in cases {
            let p = write(dir.path(), "bad.toml", text);
            let err = Policy::load(&p).unwrap_err().to_string();
            assert!(err.contains(needle), "{err} should mention {needle}");
        }
    }

    #[test]
    fn overrides_first_match_wins_and_never_touch_failures() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "p.toml",
            "name = \"t\"\n[[overrides]]\nplugin = \"pii\"\nrule = \"PII-003\"\nseverity = \"info\"\n[[overrides]]\nkind = \"mobile\"\nseverity = \"block\"\n",
        );
        let policy = Policy::load(&p).unwrap();
        let f = |plugin: &str, rule: &str, kind: &str| Finding {
            plugin: plugin.into(),
            rule_id: rule.into(),
            kind: kind.into(),
            severity: Severity::Warn,
            field: crate::finding::Field::Body,
            span: None,
            message: "m".into(),
            suggestion: None,
            attachment: None,
        };
        assert_eq!(policy.severity_for(&f("pii", "PII-003", "mobile")), Severity::Info);
        assert_eq!(policy.severity_for(&f("pii", "PII-004", "mobile")), Severity::Block);
        assert_eq!(policy.severity_for(&f("pii", "PII-004", "email")), Severity::Warn);
        assert_eq!(
            policy.severity_for(&Finding { severity: Severity::Block, ..f("x", "HOST-001", "plugin_failure") }),
            Severity::Block
        );
    }

    #[test]
    fn applicability_filters() {
        let a = Applicability {
            kinds: vec!["reply".into()],
            attributes: vec![],
            channels: vec!["applicant".into()],
            phases: vec![],
        };
        let mut item = ReviewItem::new("x", "正文");
        assert!(!a.applies_to(&item));
        item.kind = "reply".into();
        item.channels = vec!["website".into(), "applicant".into()];
        assert!(a.applies_to(&item));
        assert!(Applicability::default().applies_to(&item));
    }
}
