//! Host-level tests of the attachment extractor with real components built
//! by `cargo xtask build-plugins`: a trapping, looping, memory-hungry,
//! flooding or lying extractor fails closed naming the file, and the next
//! file is read normally; the real extractor's findings through the
//! pipeline on the committed fixtures (`tests/data/attachments`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::finding::{AttachmentFile, Field, Part, ReviewItem, Severity, Verdict};
use crate::plugin_host::{
    ExtractBounds, ExtractFailure, ExtractorSpec, FailureCause, LoadedExtractor, PluginHost, PluginLimits, built_pin,
};
use crate::policy::Policy;
use crate::review::{Pipeline, PluginSettings};

fn dist() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/dist")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/attachments").join(name)).unwrap()
}

fn settings() -> PluginSettings {
    PluginSettings { deadline_ms: 300, workers: 2, instance_slots: 64, ..PluginSettings::default() }
}

fn host() -> Arc<PluginHost> {
    static HOST: OnceLock<Arc<PluginHost>> = OnceLock::new();
    HOST.get_or_init(|| PluginHost::new(settings().host_config()).expect("engine")).clone()
}

fn limits() -> PluginLimits {
    PluginLimits {
        deadline: Duration::from_millis(300),
        configure_deadline: Duration::from_secs(10),
        memory: 32 << 20,
        max_findings: 10_000,
        max_output_bytes: 4 << 20,
        recycle_after: 1,
        max_idle: 0,
    }
}

fn load(name: &str) -> LoadedExtractor {
    let sha256 = built_pin(&dist(), name).unwrap_or_else(|e| panic!("{e}"));
    host()
        .load_extractor(ExtractorSpec {
            name: name.into(),
            path: dist().join(format!("{name}.wasm")),
            sha256,
            limits: limits(),
            bounds: ExtractBounds::default(),
        })
        .unwrap()
}

fn sandbox_cause(x: &LoadedExtractor, file: &str) -> FailureCause {
    match x.extract(file, "text/plain", b"x") {
        Err(ExtractFailure::Sandbox { file: f, cause }) => {
            assert_eq!(f, file);
            cause
        }
        other => panic!("{file}: expected a sandbox failure, got {other:?}"),
    }
}

#[track_caller]
fn reads_normally(x: &LoadedExtractor) {
    let out = x.extract("说明.txt", "text/plain", "正常内容".as_bytes()).unwrap();
    assert_eq!(out.segments.len(), 1);
    assert_eq!(out.segments[0].text, "正常内容");
}

#[test]
fn a_misbehaving_extractor_fails_closed_naming_the_file_and_the_next_file_is_read() {
    let x = load("extract-evil");
    reads_normally(&x);
    let started = Instant::now();
    assert_eq!(sandbox_cause(&x, "loop"), FailureCause::Deadline(Duration::from_millis(300)));
    assert!(started.elapsed() < Duration::from_secs(3));
    reads_normally(&x);
    match sandbox_cause(&x, "panic") {
        FailureCause::Trap(t) => assert!(t.contains("extractor crashed on purpose"), "{t}"),
        other => panic!("{other:?}"),
    }
    reads_normally(&x);
    assert!(matches!(sandbox_cause(&x, "oom"), FailureCause::MemoryCap { cap, .. } if cap == 32 << 20));
    reads_normally(&x);
    assert!(matches!(sandbox_cause(&x, "flood"), FailureCause::OutputTooLarge(_)));
    reads_normally(&x);
    match sandbox_cause(&x, "foreign") {
        FailureCause::InvalidOutput(why) => assert!(why.contains("another.docx"), "{why}"),
        other => panic!("{other:?}"),
    }
    reads_normally(&x);
}

/// The cause of a sandbox failure of `mask` on `file`.
#[track_caller]
fn mask_cause(x: &LoadedExtractor, file: &str) -> FailureCause {
    match x.mask(file, "text/csv", b"x", &[]) {
        Err(ExtractFailure::Sandbox { file: f, cause }) => {
            assert_eq!(f, file);
            cause
        }
        other => panic!("{file}: expected a sandbox failure, got {other:?}"),
    }
}

#[test]
fn a_misbehaving_mask_fails_closed_under_the_extraction_limits() {
    let x = load("extract-evil");
    assert_eq!(x.mask("名单.csv", "text/csv", b"a,b", &[]).unwrap(), b"a,b");
    let started = Instant::now();
    assert_eq!(mask_cause(&x, "loop"), FailureCause::Deadline(Duration::from_millis(300)));
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(matches!(mask_cause(&x, "panic"), FailureCause::Trap(_)));
    assert!(matches!(mask_cause(&x, "oom"), FailureCause::MemoryCap { cap, .. } if cap == 32 << 20));
    // A copy over the output byte budget is never lifted into the host.
    assert!(matches!(mask_cause(&x, "flood"), FailureCause::OutputTooLarge(_)));
    assert_eq!(x.mask("名单.csv", "text/csv", b"a,b", &[]).unwrap(), b"a,b");
}

#[test]
fn a_review_plugin_is_not_an_extractor_and_a_wrong_pin_is_refused() {
    let spec = |name: &str, sha256: String| ExtractorSpec {
        name: name.into(),
        path: dist().join(format!("{name}.wasm")),
        sha256,
        limits: limits(),
        bounds: ExtractBounds::default(),
    };
    let err = host().load_extractor(spec("noop", built_pin(&dist(), "noop").unwrap())).unwrap_err();
    assert!(err.to_string().contains("extract"), "{err}");
    let err = host().load_extractor(spec("extract", "0".repeat(64))).unwrap_err();
    assert!(err.to_string().contains("哈希不符"), "{err}");
}

/// The shipped default policy (with the extractor and the detection
/// plugins marked for attachments).
fn default_pipeline() -> Pipeline {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/default.toml");
    Pipeline::with_host(host(), &PluginSettings { deadline_ms: 5_000, ..settings() }, Policy::load(&path).unwrap())
        .expect("the default policy loads")
}

fn review(p: &Pipeline, title: &str, body: &str, files: &[(&str, &str, Vec<u8>)]) -> crate::finding::ReviewOutcome {
    let mut item = ReviewItem::new("att", body);
    item.title = title.into();
    let files: Vec<AttachmentFile> = files
        .iter()
        .map(|(n, t, b)| AttachmentFile { name: (*n).into(), media_type: (*t).into(), bytes: b.clone() })
        .collect();
    p.current().review_files_at(&item, &files, "2025-06-01T00:00:00Z", None)
}

#[test]
fn the_default_policy_reads_attachments_and_reports_with_locators() {
    let p = default_pipeline();
    const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    let out = review(
        &p,
        "关于低保对象的公示",
        "现将名单公示如下。",
        &[("公示.docx", DOCX, fixture("tracked-deletion.docx"))],
    );
    assert_eq!(out.verdict, Verdict::Blocked);
    let id = out
        .findings
        .iter()
        .find(|f| f.kind == "id_number" && f.field == Field::Attachment)
        .unwrap_or_else(|| panic!("{:#?}", out.findings));
    let spot = id.attachment.as_ref().unwrap();
    assert_eq!((spot.locator.part, spot.locator.paragraph), (Part::Deletion, Some(2)));
    let span = spot.span.unwrap();
    assert_eq!(&spot.excerpt[span.start as usize..span.end as usize], "320102198001011238");
    assert!(id.message.starts_with("附件 公示.docx，修订删除，第 2 段（李科员）："), "{}", id.message);
    let meta: Vec<_> =
        out.findings.iter().filter(|f| f.rule_id == "META-001" && f.severity == Severity::Block).collect();
    assert!(meta.iter().any(|f| f.attachment.as_ref().unwrap().locator.part == Part::Comment), "{meta:#?}");
    assert!(meta.iter().any(|f| f.attachment.as_ref().unwrap().locator.part == Part::Deletion));
    assert!(
        out.findings.iter().any(|f| f.kind == "mobile" && f.attachment.as_ref().unwrap().locator.part == Part::Comment)
    );
    assert!(
        out.findings
            .iter()
            .any(|f| f.rule_id == "SEC-004" && f.attachment.as_ref().unwrap().locator.part == Part::Header)
    );
    assert!(out.findings.iter().any(|f| f.rule_id == "LNK-002" && f.message.contains("10.1.2.3")));
    assert!(out.plugins.iter().any(|r| r.name == "extract"));

    let bomb = review(&p, "材料", "见附件。", &[("材料.zip", "application/zip", fixture("zip-bomb.zip"))]);
    assert_eq!(bomb.verdict, Verdict::Blocked);
    let f = bomb.findings.iter().find(|f| f.rule_id == "META-002").unwrap_or_else(|| panic!("{:#?}", bomb.findings));
    assert_eq!(f.severity, Severity::Block);
    assert!(f.message.contains("材料.zip/名单.csv") && f.message.contains("压缩炸弹"), "{}", f.message);
}
