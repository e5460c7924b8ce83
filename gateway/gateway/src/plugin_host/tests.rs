//! Host-level tests with real components built by `cargo xtask
//! build-plugins`: misbehaving plugins fail closed and the same pipeline
//! keeps reviewing normal items correctly; pins, contracts, reloads and the
//! artifact cache.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::{FailureCause, HostError, PluginHost};
use crate::policy::Policy;
use crate::review::{Pipeline, PipelineError, PluginSettings, ReviewItem, RunStatus, Severity, Verdict};

fn dist() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/dist")
}

/// name -> sha256 from the build manifest; panics with the command to run
/// when the components have not been built.
fn pins() -> &'static HashMap<String, String> {
    static PINS: OnceLock<HashMap<String, String>> = OnceLock::new();
    PINS.get_or_init(|| super::built_pins(&dist()).unwrap_or_else(|e| panic!("{e}")))
}

fn pin(name: &str) -> &'static str {
    pins().get(name).unwrap_or_else(|| panic!("plugin {name} is not in plugins/dist: run `cargo xtask build-plugins`"))
}

fn settings() -> PluginSettings {
    PluginSettings { deadline_ms: 300, workers: 2, instance_slots: 64, ..PluginSettings::default() }
}

/// One engine for all tests (each pooling engine reserves address space).
fn host() -> Arc<PluginHost> {
    static HOST: OnceLock<Arc<PluginHost>> = OnceLock::new();
    HOST.get_or_init(|| PluginHost::new(settings().host_config()).expect("engine")).clone()
}

/// A plugin entry of a test policy.
fn entry(name: &str, config: &str) -> String {
    format!(
        "[[plugins]]\nname = \"{name}\"\npath = \"{}\"\nsha256 = \"{}\"\n[plugins.config]\n{config}\n",
        dist().join(format!("{name}.wasm")).display(),
        pin(name)
    )
}

const TEMPLATE: &str = "words = [\"示例词\"]";

fn write_policy(dir: &Path, file: &str, entries: &[String]) -> PathBuf {
    let path = dir.join(file);
    std::fs::write(&path, format!("name = \"{file}\"\n{}", entries.join("\n"))).unwrap();
    path
}

fn pipeline(entries: &[String]) -> (Pipeline, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_policy(dir.path(), "test.toml", entries);
    let policy = Policy::load(&path).unwrap();
    let p = Pipeline::with_host(host(), &settings(), policy).expect("pipeline loads");
    (p, dir)
}

fn normal_item() -> ReviewItem {
    let mut item = ReviewItem::new("n1", "通知：这里有一个示例词，请核实。");
    item.title = "关于示例的通知".into();
    item
}

fn evil_item() -> ReviewItem {
    ReviewItem::new("e1", "测试 MISBEHAVE 示例词")
}

/// The normal item gets exactly the template's finding, at the right bytes.
#[track_caller]
fn assert_reviews_normally(p: &Pipeline) {
    let item = normal_item();
    let out = p.review_blocking(&item);
    assert_eq!(out.verdict, Verdict::Flagged, "{out:#?}");
    let words: Vec<&str> = out
        .findings
        .iter()
        .filter(|f| f.plugin == "template")
        .map(|f| {
            let s = f.span.unwrap();
            &item.body[s.start as usize..s.end as usize]
        })
        .collect();
    assert_eq!(words, ["示例词"]);
    assert!(out.findings.iter().all(|f| f.kind != "plugin_failure"), "{out:#?}");
}

/// Reviews the trigger item; returns the failure finding's message and
/// checks the verdict and the run record.
#[track_caller]
fn assert_fails_closed(p: &Pipeline, plugin: &str) -> String {
    let out = p.review_blocking(&evil_item());
    assert_eq!(out.verdict, Verdict::Blocked, "{out:#?}");
    let failures: Vec<_> = out.findings.iter().filter(|f| f.kind == "plugin_failure").collect();
    assert_eq!(failures.len(), 1, "{out:#?}");
    assert_eq!(failures[0].plugin, plugin);
    assert_eq!(failures[0].severity, Severity::Block);
    assert!(failures[0].message.contains(plugin));
    let run = out.plugins.iter().find(|r| r.name == plugin).unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    // The well-behaved neighbour still ran and reported.
    assert!(out.findings.iter().any(|f| f.plugin == "template"));
    failures[0].message.clone()
}

fn failure_of(p: &Pipeline, plugin: &str) -> FailureCause {
    let generation = p.current();
    let loaded = generation.plugins().find(|l| l.name() == plugin).unwrap();
    let wit = super::wit_item(&evil_item(), "2025-01-01T00:00:00Z");
    loaded.review(&wit).unwrap_err().cause
}

#[test]
fn a_normal_pipeline_reports_findings_and_records_what_ran() {
    let (p, _dir) = pipeline(&[entry("template", TEMPLATE), entry("noop", "")]);
    assert_reviews_normally(&p);
    let out = p.review_blocking(&normal_item());
    assert_eq!(out.policy_hash, p.policy_hash());
    assert!(out.policy_hash.starts_with("sha256:"));
    let names: Vec<_> = out.plugins.iter().map(|r| (r.name.as_str(), r.sha256.as_str())).collect();
    assert_eq!(names, [("template", pin("template")), ("noop", pin("noop"))]);
    assert!(out.plugins.iter().all(|r| r.version == "0.1.0"));
    // Warm instances were reused, not recreated per item.
    let generation = p.current();
    assert!(generation.plugins().all(|l| l.idle_instances() == 1));
}

#[test]
fn loop_forever_hits_the_deadline_and_the_pipeline_keeps_serving() {
    let (p, _dir) = pipeline(&[entry("template", TEMPLATE), entry("loop-forever", "")]);
    let started = Instant::now();
    let message = assert_fails_closed(&p, "loop-forever");
    let took = started.elapsed();
    assert!(message.contains("超过时限 300 毫秒"), "{message}");
    assert!(took >= Duration::from_millis(290) && took < Duration::from_secs(3), "{took:?}");
    assert_reviews_normally(&p);
    assert_eq!(failure_of(&p, "loop-forever"), FailureCause::Deadline(Duration::from_millis(300)));
    assert_reviews_normally(&p);
    // Each timed-out instance was discarded (poisoned) and replaced; normal
    // reviews reused the warm one.
    let generation = p.current();
    let looping = generation.plugins().find(|l| l.name() == "loop-forever").unwrap();
    assert_eq!(looping.instances_created(), 3);
}

#[test]
fn warm_instances_are_reused_and_recycled_after_n_calls() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_policy(dir.path(), "p.toml", &[entry("template", TEMPLATE)]);
    let settings = PluginSettings { recycle_after: 3, ..settings() };
    let p = Pipeline::with_host(host(), &settings, Policy::load(&path).unwrap()).unwrap();
    // The canary used the instance created at load once.
    for _ in 0..8 {
        assert_reviews_normally(&p);
    }
    let generation = p.current();
    let template = generation.plugins().next().unwrap();
    // 1 canary + 8 reviews = 9 calls in batches of 3: three instances.
    assert_eq!(template.instances_created(), 3);
    assert_eq!(template.idle_instances(), 0, "the third reached its limit on the last call");
}

#[test]
fn alloc_bomb_hits_the_memory_cap_and_the_pipeline_keeps_serving() {
    let (p, _dir) = pipeline(&[entry("template", TEMPLATE), entry("alloc-bomb", "")]);
    let message = assert_fails_closed(&p, "alloc-bomb");
    assert!(message.contains("超过内存上限 64 MiB"), "{message}");
    assert_reviews_normally(&p);
    assert!(matches!(
        failure_of(&p, "alloc-bomb"),
        FailureCause::MemoryCap { cap, requested } if cap == 64 << 20 && requested > cap
    ));
    assert_reviews_normally(&p);
}

#[test]
fn a_panic_is_a_trap_and_the_pipeline_keeps_serving() {
    let (p, _dir) = pipeline(&[entry("template", TEMPLATE), entry("panic", "")]);
    let message = assert_fails_closed(&p, "panic");
    assert!(message.contains("插件崩溃"), "{message}");
    assert_reviews_normally(&p);
    assert!(
        matches!(failure_of(&p, "panic"), FailureCause::Trap(t) if t.contains("unreachable") && t.contains("test plugin asked to panic"))
    );
    assert_reviews_normally(&p);
}

#[test]
fn huge_output_is_refused_before_it_is_copied() {
    let (p, _dir) = pipeline(&[entry("template", TEMPLATE), entry("huge-output", "")]);
    let message = assert_fails_closed(&p, "huge-output");
    assert!(message.contains("输出过大"), "{message}");
    assert!(message.contains("100000 elements"), "{message}");
    // Normally it returns one info finding of its own declared kind.
    let out = p.review_blocking(&normal_item());
    assert!(out.findings.iter().any(|f| f.kind == "huge_output_note"));
    assert_reviews_normally(&p);
}

#[test]
fn every_kind_of_garbage_output_fails_closed_with_its_reason() {
    let cases = [
        ("out-of-range", "超出字段 body"),
        ("mid-char", "不在字段 body 的字符边界上"),
        ("reversed", "超出字段 body"),
        ("unknown-kind", "未知的类别 made_up_kind"),
        ("undeclared-rule", "规则 NOPE-999 未在 describe 中声明"),
        ("reserved-kind", "类别 plugin_failure 为网关保留"),
        ("absent-field", "字段 doc_number 不接受位置或该字段为空"),
        ("error", "插件报告错误：测试插件主动报告错误"),
    ];
    for (mode, reason) in cases {
        let (p, _dir) = pipeline(&[entry("template", TEMPLATE), entry("garbage-spans", &format!("mode = \"{mode}\""))]);
        let message = assert_fails_closed(&p, "garbage-spans");
        assert!(message.contains(reason), "{mode}: {message}");
        // Its well-formed finding on a normal item passes validation.
        let out = p.review_blocking(&normal_item());
        assert!(out.findings.iter().any(|f| f.kind == "garbage_note"), "{mode}");
        assert_reviews_normally(&p);
    }
}

#[test]
fn a_wrong_hash_is_refused_naming_the_file_and_both_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let wrong = "ab".repeat(32);
    let text = entry("noop", "").replace(pin("noop"), &wrong);
    let path = write_policy(dir.path(), "p.toml", &[text]);
    let err = Pipeline::with_host(host(), &settings(), Policy::load(&path).unwrap()).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, PipelineError::Host(HostError::HashMismatch { .. })), "{err:?}");
    assert!(message.contains(&wrong), "{message}");
    assert!(message.contains(pin("noop")), "{message}");
    assert!(message.contains("noop.wasm"), "{message}");
}

#[test]
fn a_plugin_built_against_another_contract_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_policy(dir.path(), "p.toml", &[entry("wrong-contract", "")]);
    let err = Pipeline::with_host(host(), &settings(), Policy::load(&path).unwrap()).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, PipelineError::Host(HostError::Contract { .. })), "{err:?}");
    assert!(message.contains("gov-disclosure:review@0.1.0"), "{message}");
    assert!(message.contains("0.2.0"), "{message}");
}

#[test]
fn a_rejected_configuration_is_refused_with_the_plugins_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_policy(dir.path(), "p.toml", &[entry("template", "wordz = []")]);
    let err = Pipeline::with_host(host(), &settings(), Policy::load(&path).unwrap()).unwrap_err();
    assert!(matches!(err, PipelineError::Host(HostError::Configure { .. })), "{err:?}");
    assert!(err.to_string().contains("模板插件配置无效"), "{err}");
}

#[test]
fn reload_swaps_atomically_and_a_failed_reload_leaves_the_old_policy_serving() {
    let (p, dir) = pipeline(&[entry("noop", "")]);
    let old_hash = p.policy_hash();
    let old_generation = p.current();
    assert_eq!(p.review_blocking(&normal_item()).verdict, Verdict::Clean);

    // Success: a new plugin appears in the next review.
    let new = write_policy(dir.path(), "new.toml", &[entry("noop", ""), entry("template", TEMPLATE)]);
    let report = p.reload(Some(&new)).expect("reload");
    assert_ne!(report.policy_hash, old_hash);
    assert_eq!(p.policy_hash(), report.policy_hash);
    assert_reviews_normally(&p);
    // A review that started on the old generation finishes on it.
    let in_flight = old_generation.review(&normal_item(), "2025-01-01T00:00:00Z");
    assert_eq!(in_flight.policy_hash, old_hash);
    assert_eq!(in_flight.verdict, Verdict::Clean);

    // Failures: wrong pin, wrong contract, bad config, unreadable policy.
    let serving = p.policy_hash();
    let bad_pin = write_policy(
        dir.path(),
        "bad-pin.toml",
        &[entry("template", TEMPLATE).replace(pin("template"), &"0".repeat(64))],
    );
    let bad_contract = write_policy(dir.path(), "bad-contract.toml", &[entry("wrong-contract", "")]);
    let bad_config = write_policy(dir.path(), "bad-config.toml", &[entry("template", "x = 1")]);
    let missing = dir.path().join("missing.toml");
    for (path, needle) in [
        (&bad_pin, "哈希不符"),
        (&bad_contract, "契约不兼容"),
        (&bad_config, "拒绝了策略中的配置"),
        (&missing, "无法读取策略文件"),
    ] {
        let err = p.reload(Some(path)).unwrap_err();
        assert!(err.to_string().contains(needle), "{err}");
        assert_eq!(p.policy_hash(), serving);
        assert_reviews_normally(&p);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_reviews_run_in_parallel_on_the_blocking_pool() {
    let (p, _dir) = pipeline(&[entry("template", TEMPLATE), entry("loop-forever", "")]);
    let p = Arc::new(p);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let p = p.clone();
        tasks.push(tokio::spawn(async move {
            let item = if i % 4 == 0 { evil_item() } else { normal_item() };
            p.review(&item).await.verdict
        }));
    }
    let mut verdicts = Vec::new();
    for t in tasks {
        verdicts.push(t.await.unwrap());
    }
    assert_eq!(verdicts.iter().filter(|v| **v == Verdict::Blocked).count(), 2);
    assert_eq!(verdicts.iter().filter(|v| **v == Verdict::Flagged).count(), 6);
}

#[test]
fn the_artifact_cache_is_used_and_a_corrupt_entry_is_recompiled() {
    let cache = tempfile::tempdir().unwrap();
    let settings = PluginSettings { cache_dir: Some(cache.path().to_owned()), pooling: false, ..settings() };
    let dir = tempfile::tempdir().unwrap();
    let path = write_policy(dir.path(), "p.toml", &[entry("noop", "")]);
    let first = Pipeline::with_policy(&settings, Policy::load(&path).unwrap()).unwrap();
    drop(first);
    let files: Vec<_> = std::fs::read_dir(cache.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with(pin("noop")) && name.ends_with(".cwasm"), "{name}");
    // Loads from the cache.
    let second = Pipeline::with_policy(&settings, Policy::load(&path).unwrap()).unwrap();
    assert_eq!(second.review_blocking(&normal_item()).verdict, Verdict::Clean);
    drop(second);
    // An artifact others could have written is not trusted.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::set_permissions(&files[0], std::fs::Permissions::from_mode(0o666)).unwrap();
        let p = Pipeline::with_policy(&settings, Policy::load(&path).unwrap()).unwrap();
        assert_eq!(p.review_blocking(&normal_item()).verdict, Verdict::Clean);
        assert_eq!(std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777, 0o600, "rewritten");
    }
    // A corrupt artifact is discarded and recompiled, not trusted.
    std::fs::write(&files[0], b"not an artifact").unwrap();
    let third = Pipeline::with_policy(&settings, Policy::load(&path).unwrap()).unwrap();
    assert_eq!(third.review_blocking(&normal_item()).verdict, Verdict::Clean);
    assert!(std::fs::read(&files[0]).unwrap().len() > 1000);
}

#[test]
fn the_shipped_policies_load_with_their_pins_and_pass_the_canary() {
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    for name in ["default.toml", "eval.toml"] {
        let policy = Policy::load(&policies.join(name)).unwrap();
        let p = Pipeline::with_host(host(), &settings(), policy).unwrap_or_else(|e| {
            panic!("policies/{name}: {e}\n(after rebuilding plugins, run `cargo xtask build-plugins --pin`)")
        });
        let out = p.review_blocking(&normal_item());
        assert!(out.findings.iter().all(|f| f.kind != "plugin_failure"), "{name}: {out:#?}");
        assert_eq!(out.plugins.len(), 8, "{name}: every shipped plugin runs");
    }
}

/// The attachment extractor's host-level tests.
mod extract;
