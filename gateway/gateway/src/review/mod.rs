//! The review pipeline: a policy's plugins run in order over an item version,
//! each seeing the findings of those before it, and the findings become a
//! verdict.
//!
//! [`Pipeline`] holds the current *generation* (a policy with its loaded,
//! verified, configured plugins) behind an `ArcSwap`. A review takes the
//! current generation and keeps it until it finishes, so a hot reload never
//! disturbs reviews in flight. A reload verifies every pin before compiling
//! anything, compiles, warms up, runs a canary item through every plugin off
//! to the side, and only then swaps; any failure leaves the old generation
//! serving and returns the reason.
//!
//! Plugin failures never escape as errors: each becomes a blocking
//! `plugin_failure` finding naming the plugin and the cause (fail closed).
//! This module does no IO of its own beyond loading policies and plugins on
//! `load`/`reload`; it never touches the store.

pub mod attachments;
pub mod invisible;

// The review types live in the leaf module `finding` (so that the plugin
// host and the policy need not depend on the pipeline); their old paths
// `crate::review::X` keep working.
pub use crate::finding::*;
pub use crate::plugin_host::PluginSettings;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use crate::plugin_host::{
    ExtractBounds, ExtractorSpec, HostError, LoadedExtractor, LoadedPlugin, PluginFailure, PluginHost, PluginLimits,
    PluginSpec, push_prior, wit_item,
};
use crate::policy::{Applicability, Policy, PolicyError, PolicyExtractor};

/// Why a pipeline could not be built or reloaded (the old one keeps serving).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The policy file is unreadable or invalid.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// A plugin could not be loaded (pin, contract, configuration ...).
    #[error(transparent)]
    Host(#[from] HostError),
    /// A plugin failed on the canary item.
    #[error("插件 {plugin} 未通过试运行：{cause}")]
    Canary {
        /// The plugin.
        plugin: String,
        /// What went wrong.
        cause: String,
    },
    /// A policy value is out of the settings' bounds.
    #[error("策略 {path} 无效：{reason}")]
    Limits {
        /// The policy.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// One plugin in a generation, with the policy's filters.
struct Stage {
    plugin: Arc<LoadedPlugin>,
    applies: Applicability,
    /// Also reviews attachment text (`attachments = true` in the policy).
    attachments: bool,
}

/// A policy with its loaded plugins: what one review runs on.
pub struct Generation {
    policy: Policy,
    hash: String,
    stages: Vec<Stage>,
    /// The attachment extractor, if the policy names one.
    extractor: Option<Arc<LoadedExtractor>>,
    /// OCR of images and scanned pages, if the policy asks for it.
    ocr: Option<crate::ocr::Ocr>,
}

impl std::fmt::Debug for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generation")
            .field("policy", &self.policy.name)
            .field("hash", &self.hash)
            .field("plugins", &self.stages.iter().map(|s| s.plugin.name()).collect::<Vec<_>>())
            .finish()
    }
}

/// What a successful (re)load installed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LoadReport {
    /// Policy name.
    pub policy_name: String,
    /// Policy hash.
    pub policy_hash: String,
    /// Each plugin: name, version, sha256.
    pub plugins: Vec<PluginRun>,
    /// Time to verify, compile, configure and test, ms.
    pub millis: u64,
}

impl Generation {
    /// The attachment extractor the policy pins, if any.
    pub fn extractor(&self) -> Option<&crate::plugin_host::LoadedExtractor> {
        self.extractor.as_deref()
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The policy's hash.
    pub fn policy_hash(&self) -> &str {
        &self.hash
    }

    /// The loaded plugins, in pipeline order.
    pub fn plugins(&self) -> impl Iterator<Item = &LoadedPlugin> {
        self.stages.iter().map(|s| s.plugin.as_ref())
    }

    /// Loads every plugin of `policy`. Every pin is verified before anything
    /// is compiled.
    fn load(host: &Arc<PluginHost>, settings: &PluginSettings, policy: Policy) -> Result<Generation, PipelineError> {
        let started = Instant::now();
        let specs = specs(settings, &policy)?;
        // Verify all pins first: a mismatch is refused before any compile.
        for spec in &specs {
            let bytes = std::fs::read(&spec.path).map_err(|source| HostError::Read {
                name: spec.name.clone(),
                path: spec.path.clone(),
                source,
            })?;
            let actual = crate::plugin_host::sha256_hex(&bytes);
            if actual != spec.sha256 {
                return Err(HostError::HashMismatch {
                    name: spec.name.clone(),
                    path: spec.path.clone(),
                    expected: spec.sha256.clone(),
                    actual,
                }
                .into());
            }
        }
        let mut stages = Vec::with_capacity(specs.len());
        for (spec, p) in specs.into_iter().zip(&policy.plugins) {
            let plugin = host.load(spec)?;
            stages.push(Stage { plugin: Arc::new(plugin), applies: p.applies.clone(), attachments: p.attachments });
        }
        let extractor = match &policy.extractor {
            Some(x) => Some(Arc::new(host.load_extractor(extractor_spec(settings, &policy, x)?)?)),
            None => None,
        };
        let ocr = policy.ocr.clone().map(crate::ocr::Ocr::load);
        let hash = policy.hash();
        tracing::info!(policy = %policy.name, %hash, plugins = stages.len(), ms = started.elapsed().as_millis() as u64, "review policy loaded");
        Ok(Generation { policy, hash, stages, extractor, ocr })
    }

    /// Runs every plugin on the canary item; any failure refuses the
    /// generation.
    fn canary(&self) -> Result<(), PipelineError> {
        let item = canary_item();
        let wit = wit_item(&item, "2025-01-01T00:00:00Z");
        for stage in &self.stages {
            if let Err(PluginFailure { plugin, cause }) = stage.plugin.review(&wit) {
                return Err(PipelineError::Canary { plugin, cause: cause.to_string() });
            }
        }
        if let Some(x) = &self.extractor
            && let Err(failure) = x.extract("canary.txt", "text/plain", "政务公开附件提取自检。\n".as_bytes())
        {
            return Err(PipelineError::Canary { plugin: x.name().to_owned(), cause: failure.to_string() });
        }
        Ok(())
    }

    /// What this generation installed; `started` is when its load began.
    pub fn report(&self, started: Instant) -> LoadReport {
        LoadReport {
            policy_name: self.policy.name.clone(),
            policy_hash: self.hash.clone(),
            plugins: self.stages.iter().map(|s| run_record(&s.plugin, RunStatus::Ok, 0)).collect(),
            millis: started.elapsed().as_millis() as u64,
        }
    }

    /// Reviews `item` with every applicable plugin, in order; blocking.
    pub fn review(&self, item: &ReviewItem, now: &str) -> ReviewOutcome {
        self.review_at(item, now, None)
    }

    /// Like [`Generation::review_at`], and reads and reviews the
    /// attachments' `files` at submission and in the whole gate
    /// (`review/attachments.rs`); the seal gate reviews the same digest
    /// again and does not repeat it.
    pub fn review_files_at(
        &self,
        item: &ReviewItem,
        files: &[AttachmentFile],
        now: &str,
        phase: Option<Phase>,
    ) -> ReviewOutcome {
        let mut outcome = self.review_at(item, now, phase);
        if phase != Some(Phase::Seal) {
            outcome.findings.extend(self.review_html_body(item));
            let (found, runs) = self.review_attachments(item, files, now);
            outcome.findings.extend(found);
            outcome.plugins.extend(runs);
            outcome.verdict = Verdict::from_findings(&outcome.findings);
        }
        outcome
    }

    /// Reviews `item` with the plugins that apply to it at `phase` (every
    /// phase when `None`), in order; blocking.
    pub fn review_at(&self, item: &ReviewItem, now: &str, phase: Option<Phase>) -> ReviewOutcome {
        let mut wit = wit_item(item, now);
        let mut findings = Vec::new();
        let mut runs = Vec::with_capacity(self.stages.len());
        for stage in &self.stages {
            if !stage.applies.applies_to(item) || !stage.applies.runs_at(phase) {
                runs.push(run_record(&stage.plugin, RunStatus::Skipped, 0));
                continue;
            }
            let started = Instant::now();
            let (mut found, status) = match stage.plugin.review(&wit) {
                Ok(found) => (found, RunStatus::Ok),
                Err(failure) => {
                    tracing::warn!(plugin = %failure.plugin, cause = %failure.cause, item = %item.id, "plugin failed; item blocked");
                    (vec![failure_finding(&failure)], RunStatus::Failed)
                }
            };
            let micros = started.elapsed().as_micros() as u64;
            for f in &mut found {
                f.severity = self.policy.severity_for(f);
            }
            push_prior(&mut wit, &found);
            findings.extend(found);
            runs.push(run_record(&stage.plugin, status, micros));
        }
        // The host's own check, under every policy (review/invisible.rs);
        // the seal gate reviews the same digest again and does not repeat it.
        if phase != Some(Phase::Seal) {
            findings.extend(invisible::findings(item));
        }
        ReviewOutcome {
            policy_hash: self.hash.clone(),
            policy_name: self.policy.name.clone(),
            reviewed_at: now.to_owned(),
            plugins: runs,
            verdict: Verdict::from_findings(&findings),
            findings,
        }
    }
}

fn run_record(plugin: &LoadedPlugin, status: RunStatus, micros: u64) -> PluginRun {
    PluginRun {
        name: plugin.name().to_owned(),
        version: plugin.version().to_owned(),
        sha256: plugin.sha256().to_owned(),
        status,
        micros,
    }
}

/// The blocking finding that stands for a failed plugin.
pub fn failure_finding(failure: &PluginFailure) -> Finding {
    Finding {
        plugin: failure.plugin.clone(),
        rule_id: PLUGIN_FAILURE_RULE.to_owned(),
        kind: PLUGIN_FAILURE_KIND.to_owned(),
        severity: Severity::Block,
        field: Field::Body,
        span: None,
        message: format!(
            "审查插件 {} 运行失败：{}。按失败即阻断原则，本稿件暂不能通过审查，请联系系统管理员。",
            failure.plugin, failure.cause
        ),
        suggestion: None,
        attachment: None,
    }
}

/// The item every plugin must review without failing before a new policy
/// goes live: an ordinary notice with every field filled.
pub fn canary_item() -> ReviewItem {
    ReviewItem {
        id: "canary".into(),
        version: 1,
        kind: "notice".into(),
        title: "关于开展政务公开审查插件自检的通知".into(),
        body:
            "各有关单位：\n为确保政务公开审查平台正常运行，现开展插件自检。本通知不含任何需要处理的内容。\n特此通知。\n"
                .into(),
        attribute: "public".into(),
        attribute_reason: None,
        legal_basis: None,
        doc_number: Some("示政办发〔2025〕1号".into()),
        issuer: Some("示例市人民政府办公室".into()),
        superior: None,
        channels: vec!["website".into()],
        attachments: Vec::new(),
        formed_at: Some("2025-01-02T09:00:00+08:00".into()),
        signoff: Some(Signoff {
            name: "张三".into(),
            title: "办公室主任".into(),
            statement_accepted: true,
            statement_version: Some("1".into()),
            accepted_at: Some("2025-01-02T10:00:00+08:00".into()),
        }),
        approvals: Vec::new(),
        flags: Vec::new(),
        content_digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000".into(),
    }
}

/// A component's memory cap in MiB: the policy's value (else the
/// settings'), within 1 and the settings' ceiling.
fn memory_mib(settings: &PluginSettings, policy: &Policy, what: &str, set: Option<u32>) -> Result<u32, PipelineError> {
    let memory_mib = set.unwrap_or(settings.memory_mib);
    let ceiling = settings.memory_ceiling_mib.max(settings.memory_mib);
    if memory_mib > ceiling || memory_mib == 0 {
        return Err(PipelineError::Limits {
            path: policy.path.clone(),
            reason: format!("{what} 的 memory_mib = {memory_mib} 超出网关允许的范围 1..={ceiling}"),
        });
    }
    Ok(memory_mib)
}

/// Turns a policy's plugins into load specs, with the settings' limits.
fn specs(settings: &PluginSettings, policy: &Policy) -> Result<Vec<PluginSpec>, PipelineError> {
    policy
        .plugins
        .iter()
        .map(|p| {
            let memory_mib = memory_mib(settings, policy, &format!("插件 {}", p.name), p.memory_mib)?;
            Ok(PluginSpec {
                name: p.name.clone(),
                path: p.path.clone(),
                sha256: p.sha256.clone(),
                config: p.config.to_string(),
                limits: PluginLimits {
                    deadline: Duration::from_millis(p.deadline_ms.unwrap_or(settings.deadline_ms)),
                    configure_deadline: Duration::from_millis(
                        p.configure_deadline_ms.unwrap_or(settings.configure_deadline_ms),
                    ),
                    memory: (memory_mib as usize) << 20,
                    max_findings: settings.max_findings as usize,
                    max_output_bytes: (settings.max_output_kib as usize) << 10,
                    recycle_after: settings.recycle_after.max(1),
                    max_idle: settings.workers.max(1),
                },
            })
        })
        .collect()
}

/// The extractor's load spec: a policy may set its memory (default 256 MiB,
/// at most the settings' ceiling) and deadline per file (default 10 s); its
/// output may hold up to 500,000 segments and facts and 64 MiB of text.
fn extractor_spec(
    settings: &PluginSettings,
    policy: &Policy,
    x: &PolicyExtractor,
) -> Result<ExtractorSpec, PipelineError> {
    let memory_mib = memory_mib(settings, policy, &format!("附件提取器 {}", x.name), x.memory_mib.or(Some(256)))?;
    Ok(ExtractorSpec {
        name: x.name.clone(),
        path: x.path.clone(),
        sha256: x.sha256.clone(),
        limits: PluginLimits {
            deadline: Duration::from_millis(x.deadline_ms.unwrap_or(10_000)),
            configure_deadline: Duration::from_millis(settings.configure_deadline_ms),
            memory: (memory_mib as usize) << 20,
            max_findings: 500_000,
            max_output_bytes: 64 << 20,
            recycle_after: 1,
            max_idle: 0,
        },
        bounds: ExtractBounds::default(),
    })
}

/// The review pipeline: the plugin host plus the current generation, hot
/// reloadable. Cheap to share behind an `Arc`.
pub struct Pipeline {
    host: Arc<PluginHost>,
    settings: PluginSettings,
    current: ArcSwap<Generation>,
    permits: Arc<tokio::sync::Semaphore>,
    reloading: Mutex<()>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline").field("current", &self.current.load()).finish_non_exhaustive()
    }
}

impl Pipeline {
    /// Creates the plugin host and loads `settings.policy`; blocking (it
    /// compiles plugins: call it before serving or on `spawn_blocking`).
    pub fn load(settings: &PluginSettings) -> Result<Pipeline, PipelineError> {
        let policy = Policy::load(&settings.policy)?;
        Pipeline::with_policy(settings, policy)
    }

    /// Like [`Pipeline::load`] with an already parsed (possibly amended)
    /// policy, as `gateway check --terms` needs.
    pub fn with_policy(settings: &PluginSettings, policy: Policy) -> Result<Pipeline, PipelineError> {
        let host = PluginHost::new(settings.host_config())?;
        Pipeline::with_host(host, settings, policy)
    }

    /// Like [`Pipeline::with_policy`] on an existing host (tests and the
    /// benchmark share one engine).
    pub fn with_host(
        host: Arc<PluginHost>,
        settings: &PluginSettings,
        policy: Policy,
    ) -> Result<Pipeline, PipelineError> {
        let generation = Generation::load(&host, settings, policy)?;
        generation.canary()?;
        Ok(Pipeline {
            host,
            settings: settings.clone(),
            current: ArcSwap::from_pointee(generation),
            permits: Arc::new(tokio::sync::Semaphore::new(settings.workers.max(1))),
            reloading: Mutex::new(()),
        })
    }

    /// The generation serving now.
    pub fn current(&self) -> Arc<Generation> {
        self.current.load_full()
    }

    /// The hash of the policy serving now.
    pub fn policy_hash(&self) -> String {
        self.current.load().hash.clone()
    }

    /// The plugin host (shared engine and artifact cache).
    pub fn host(&self) -> &Arc<PluginHost> {
        &self.host
    }

    /// The settings the pipeline was built with.
    pub fn settings(&self) -> &PluginSettings {
        &self.settings
    }

    /// Reviews one item on the calling thread with the current generation.
    /// Never fails: plugin failures are blocking findings.
    pub fn review_blocking(&self, item: &ReviewItem) -> ReviewOutcome {
        self.current().review(item, &now_rfc3339())
    }

    /// Reviews one item with every plugin (the whole gate, as `gateway
    /// check` does) on the blocking pool, at most `workers` at a time,
    /// without blocking the async reactor.
    pub async fn review(&self, item: &ReviewItem) -> ReviewOutcome {
        self.review_at(item, None).await
    }

    /// Like [`Pipeline::review`], with only the plugins that run at `phase`.
    pub async fn review_at(&self, item: &ReviewItem, phase: Option<Phase>) -> ReviewOutcome {
        self.review_files_at(item, Vec::new(), phase).await
    }

    /// Like [`Pipeline::review_at`], also reading and reviewing the
    /// attachments' bytes (`files`, in the item's order).
    pub async fn review_files_at(
        &self,
        item: &ReviewItem,
        files: Vec<AttachmentFile>,
        phase: Option<Phase>,
    ) -> ReviewOutcome {
        let generation = self.current();
        let now = now_rfc3339();
        let permit = self.permits.clone().acquire_owned().await;
        let item = item.clone();
        let id = item.id.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            generation.review_files_at(&item, &files, &now, phase)
        })
        .await;
        match joined {
            Ok(outcome) => outcome,
            Err(e) => {
                // A panic in the host itself: still fail closed.
                tracing::error!(item = %id, error = %e, "review task failed");
                let generation = self.current();
                let failure = PluginFailure {
                    plugin: "gateway".into(),
                    cause: crate::plugin_host::FailureCause::Trap(e.to_string()),
                };
                let findings = vec![failure_finding(&failure)];
                ReviewOutcome {
                    policy_hash: generation.hash.clone(),
                    policy_name: generation.policy.name.clone(),
                    reviewed_at: now_rfc3339(),
                    plugins: Vec::new(),
                    verdict: Verdict::Blocked,
                    findings,
                }
            }
        }
    }

    /// Writes a masked copy of one attachment with the current generation's
    /// extractor (in the sandbox, on the blocking pool, at most `workers`
    /// at a time). `None` when the policy names no extractor.
    pub async fn mask(
        &self,
        file: AttachmentFile,
        edits: Vec<crate::plugin_host::MaskEdit>,
    ) -> Option<Result<Vec<u8>, crate::plugin_host::ExtractFailure>> {
        let generation = self.current();
        generation.extractor.as_ref()?;
        let permit = self.permits.clone().acquire_owned().await;
        let name = file.name.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            generation.extractor.as_ref().map(|x| x.mask(&file.name, &file.media_type, &file.bytes, &edits))
        })
        .await;
        match joined {
            Ok(result) => result,
            Err(e) => Some(Err(crate::plugin_host::ExtractFailure::Sandbox {
                file: name,
                cause: crate::plugin_host::FailureCause::Trap(e.to_string()),
            })),
        }
    }

    /// Hot reload: reads the policy at `path` (or the current policy's file
    /// again), verifies every pin, compiles, configures, runs the canary and
    /// swaps atomically. On any error the current generation keeps serving
    /// and the error says why. Blocking; one reload at a time.
    pub fn reload(&self, path: Option<&Path>) -> Result<LoadReport, PipelineError> {
        let _one_at_a_time = self.reloading.lock().expect("reload lock");
        let started = Instant::now();
        let path = path.map_or_else(|| self.current().policy.path.clone(), Path::to_path_buf);
        let policy = Policy::load(&path)?;
        let generation = Generation::load(&self.host, &self.settings, policy)?;
        generation.canary()?;
        let report = generation.report(started);
        let keep: HashSet<String> = generation.stages.iter().map(|s| s.plugin.sha256().to_owned()).collect();
        self.current.store(Arc::new(generation));
        self.host.retain_compiled(&keep);
        tracing::info!(policy = %report.policy_name, hash = %report.policy_hash, "review policy reloaded");
        Ok(report)
    }

    /// [`Pipeline::reload`] on the blocking pool.
    pub async fn reload_async(self: &Arc<Self>, path: Option<PathBuf>) -> Result<LoadReport, PipelineError> {
        let this = self.clone();
        match tokio::task::spawn_blocking(move || this.reload(path.as_deref())).await {
            Ok(r) => r,
            Err(e) => Err(PipelineError::Canary {
                plugin: "gateway".into(), cause: format!("重新加载任务失败：{e}")
            }),
        }
    }
}

/// The current UTC time, RFC 3339.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}
