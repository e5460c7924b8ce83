//! `gateway check`: the offline review of a JSONL file of items through the
//! very same pipeline (WASM plugins, policy, pins) as the server, in the
//! format of the evaluation contract (`../shared/eval/README.md`).
//!
//! Input: one item a line; only `id` and `body` are required, and missing
//! fields take the contract's defaults (kind `notice`, attribute `public`,
//! channels `["website"]`, the rest null). An item may also name
//! `attachments` (`[{"name", "path", "media_type"?}]`, paths relative to the
//! input file), which are read and reviewed as at submission (extractor,
//! OCR, the plugins marked for attachments). Output: one finding a line, then
//! one verdict line per item (or the verdicts in a second file); a finding in
//! an attachment has `field` `attachment`, null offsets, its `locator` and
//! the `text` it marks. `--terms`
//! adds plain-text term lists to the plugins whose policy entry declares
//! `extra_terms` (the sensitive-term plugin).
//!
//! It does no storage and no network; it reads the policy, the plugins and
//! the input, and writes the output.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::policy::Policy;
use crate::review::{
    Attachment, AttachmentFile, Locator, Pipeline, PluginSettings, ReviewItem, ReviewOutcome, Signoff, SuperiorRef,
    Verdict,
};

/// Arguments of `gateway check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// The policy file (e.g. policies/eval.toml).
    #[arg(long)]
    pub policy: PathBuf,
    /// A plain-text term list (one term a line) added to the sensitive-term
    /// plugin, category `eval`, severity `block`; may be repeated.
    #[arg(long)]
    pub terms: Vec<PathBuf>,
    /// Items, one JSON object a line.
    #[arg(long)]
    pub input: PathBuf,
    /// Findings, one JSON object a line (followed by the verdicts unless
    /// --verdicts is given).
    #[arg(long)]
    pub output: PathBuf,
    /// Write the verdict lines to this file instead.
    #[arg(long)]
    pub verdicts: Option<PathBuf>,
    /// Compiled-artifact cache directory (default: compile in memory).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Items reviewed in parallel (default: the number of CPUs).
    #[arg(long)]
    pub workers: Option<usize>,
}

/// One input line of the evaluation contract.
#[derive(Debug, Deserialize)]
struct InputItem {
    id: String,
    body: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    attribute: Option<String>,
    #[serde(default)]
    attribute_reason: Option<String>,
    #[serde(default)]
    legal_basis: Option<String>,
    #[serde(default)]
    doc_number: Option<String>,
    #[serde(default)]
    issuer: Option<String>,
    #[serde(default)]
    channels: Option<Vec<String>>,
    #[serde(default)]
    superior: Option<InputSuperior>,
    #[serde(default)]
    signoff: Option<InputSignoff>,
    #[serde(default)]
    formed_at: Option<String>,
    #[serde(default)]
    attachments: Vec<InputAttachment>,
}

/// A file an input item attaches, read from `path` (relative to the input file).
#[derive(Debug, Deserialize)]
struct InputAttachment {
    name: String,
    path: PathBuf,
    #[serde(default)]
    media_type: Option<String>,
}

/// An item to check with the bytes of its attachments.
#[derive(Debug, Clone)]
pub struct CheckItem {
    /// The item, its `attachments` describing `files`.
    pub item: ReviewItem,
    /// The attachments' bytes, in the item's order.
    pub files: Vec<AttachmentFile>,
}

#[derive(Debug, Deserialize)]
struct InputSuperior {
    #[serde(default)]
    doc_number: Option<String>,
    #[serde(default)]
    issuer: Option<String>,
    #[serde(default)]
    attribute: Option<String>,
}

#[derive(Debug, Deserialize)]
struct InputSignoff {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    statement_accepted: Option<bool>,
}

impl InputItem {
    /// The item and its files (read relative to `dir`).
    fn into_check_item(mut self, dir: &std::path::Path) -> Result<CheckItem> {
        let mut files = Vec::with_capacity(self.attachments.len());
        for a in std::mem::take(&mut self.attachments) {
            let path = dir.join(&a.path);
            let bytes = std::fs::read(&path).with_context(|| format!("无法读取附件 {}", path.display()))?;
            let media_type = a.media_type.unwrap_or_default();
            files.push(AttachmentFile { name: a.name, media_type, bytes });
        }
        let mut item = self.into_item();
        item.attachments = files
            .iter()
            .map(|f| Attachment {
                name: f.name.clone(),
                media_type: f.media_type.clone(),
                digest: format!("sha256:{}", crate::plugin_host::sha256_hex(&f.bytes)),
                size: f.bytes.len() as u64,
            })
            .collect();
        Ok(CheckItem { item, files })
    }

    fn into_item(self) -> ReviewItem {
        let mut item = ReviewItem::new(self.id, self.body);
        item.title = self.title.unwrap_or_default();
        if let Some(k) = self.kind {
            item.kind = k;
        }
        if let Some(a) = self.attribute {
            item.attribute = a;
        }
        item.attribute_reason = self.attribute_reason;
        item.legal_basis = self.legal_basis;
        item.doc_number = self.doc_number;
        item.issuer = self.issuer;
        if let Some(c) = self.channels {
            item.channels = c;
        }
        item.formed_at = self.formed_at;
        item.superior = self.superior.map(|s| SuperiorRef {
            doc_number: s.doc_number,
            issuer: s.issuer,
            attribute: s.attribute.unwrap_or_default(),
        });
        item.signoff = self.signoff.map(|s| Signoff {
            name: s.name.unwrap_or_default(),
            title: s.title.unwrap_or_default(),
            statement_accepted: s.statement_accepted.unwrap_or(false),
            statement_version: None,
            accepted_at: None,
        });
        item
    }
}

/// One output finding line.
#[derive(Debug, Serialize)]
struct OutputFinding<'a> {
    id: &'a str,
    kind: &'a str,
    severity: &'a str,
    field: &'a str,
    bstart: Option<u32>,
    bend: Option<u32>,
    rule: &'a str,
    message: &'a str,
    plugin: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    suggestion: Option<&'a str>,
    /// Where in an attachment.
    #[serde(skip_serializing_if = "Option::is_none")]
    locator: Option<&'a Locator>,
    /// The text an attachment finding marks.
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
}

/// One output verdict line.
#[derive(Debug, Serialize)]
struct OutputVerdict<'a> {
    id: &'a str,
    verdict: &'a str,
}

/// Reads a JSONL file of items in the contract's input format, with the
/// files they attach.
pub fn read_items(path: &PathBuf) -> Result<Vec<CheckItem>> {
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let file = std::fs::File::open(path).with_context(|| format!("无法打开输入文件 {}", path.display()))?;
    let mut items = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("{}:{}: 读取失败", path.display(), n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let input: InputItem = serde_json::from_str(&line)
            .with_context(|| format!("{}:{}: 不是有效的条目 JSON", path.display(), n + 1))?;
        items.push(input.into_check_item(dir).with_context(|| format!("{}:{}", path.display(), n + 1))?);
    }
    Ok(items)
}

/// Reviews every item of `items` with `workers` threads, in input order.
pub fn review_all(pipeline: &Pipeline, items: &[CheckItem], workers: usize) -> Vec<ReviewOutcome> {
    let now = crate::review::now_rfc3339();
    let next = AtomicUsize::new(0);
    let mut slots: Vec<Option<ReviewOutcome>> = vec![None; items.len()];
    let chunks: Vec<Vec<(usize, ReviewOutcome)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers.max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        let generation = pipeline.current();
                        done.push((i, generation.review_files_at(&item.item, &item.files, &now, None)));
                    }
                    done
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("review worker panicked")).collect()
    });
    for (i, outcome) in chunks.into_iter().flatten() {
        slots[i] = Some(outcome);
    }
    slots.into_iter().map(|o| o.expect("every item reviewed")).collect()
}

/// Runs `gateway check`.
pub fn run(args: CheckArgs) -> Result<()> {
    let started = Instant::now();
    let mut policy = Policy::load(&args.policy)?;
    for terms in &args.terms {
        if policy.add_extra_terms(terms)? == 0 {
            bail!("策略 {} 中没有声明 extra_terms 的插件，无法使用 --terms {}", args.policy.display(), terms.display());
        }
    }
    let settings = PluginSettings {
        policy: args.policy.clone(),
        cache_dir: args.cache_dir.clone(),
        workers: args.workers.unwrap_or_else(|| PluginSettings::default().workers),
        ..PluginSettings::default()
    };
    let pipeline = Pipeline::with_policy(&settings, policy)?;
    let items = read_items(&args.input)?;
    let outcomes = review_all(&pipeline, &items, settings.workers);

    let create = |p: &PathBuf| -> Result<BufWriter<std::fs::File>> {
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        Ok(BufWriter::new(std::fs::File::create(p).with_context(|| format!("无法写入 {}", p.display()))?))
    };
    let mut out = create(&args.output)?;
    for (CheckItem { item, .. }, outcome) in items.iter().zip(&outcomes) {
        for f in &outcome.findings {
            let spot = f.attachment.as_ref();
            let text = spot.and_then(|a| a.span.and_then(|s| a.excerpt.get(s.start as usize..s.end as usize)));
            let line = OutputFinding {
                id: &item.id,
                kind: &f.kind,
                severity: f.severity.as_str(),
                field: f.field.as_str(),
                bstart: f.span.map(|s| s.start),
                bend: f.span.map(|s| s.end),
                rule: &f.rule_id,
                message: &f.message,
                plugin: &f.plugin,
                suggestion: f.suggestion.as_deref(),
                locator: spot.map(|a| &a.locator),
                text,
            };
            serde_json::to_writer(&mut out, &line)?;
            out.write_all(b"\n")?;
        }
    }
    let mut verdicts = match &args.verdicts {
        Some(p) => Some(create(p)?),
        None => None,
    };
    let mut counts = [0usize; 3];
    for (CheckItem { item, .. }, outcome) in items.iter().zip(&outcomes) {
        counts[match outcome.verdict {
            Verdict::Blocked => 0,
            Verdict::Flagged => 1,
            Verdict::Clean => 2,
        }] += 1;
        let line = OutputVerdict { id: &item.id, verdict: outcome.verdict.as_str() };
        let w: &mut dyn Write = match verdicts.as_mut() {
            Some(v) => v,
            None => &mut out,
        };
        serde_json::to_writer(&mut *w, &line)?;
        w.write_all(b"\n")?;
    }
    out.flush()?;
    if let Some(v) = verdicts.as_mut() {
        v.flush()?;
    }
    let failures =
        outcomes.iter().flat_map(|o| &o.findings).filter(|f| f.kind == crate::plugin_host::PLUGIN_FAILURE_KIND).count();
    eprintln!(
        "已审查 {} 条（阻断 {}，需关注 {}，通过 {}；插件故障 {}），策略 {}（{}），用时 {:.1} 秒",
        items.len(),
        counts[0],
        counts[1],
        counts[2],
        failures,
        pipeline.current().policy().name,
        pipeline.policy_hash(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_writes_findings_then_verdicts_in_the_contract_format() {
        let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/dist");
        let pin = crate::plugin_host::built_pin(&dist, "template").unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("p.toml");
        std::fs::write(
            &policy,
            format!(
                "name = \"t\"\n[[plugins]]\nname = \"template\"\npath = \"{}\"\nsha256 = \"{pin}\"\n[plugins.config]\nwords = [\"示例词\"]\n",
                dist.join("template.wasm").display()
            ),
        )
        .unwrap();
        let input = dir.path().join("in.jsonl");
        std::fs::write(
            &input,
            "{\"id\": \"a\", \"body\": \"😀含示例词\"}\n\n{\"id\": \"b\", \"body\": \"无\", \"title\": \"示例词\", \"kind\": \"post\", \"channels\": [\"weibo\"], \"signoff\": {\"name\": \"张三\", \"title\": \"主任\", \"statement_accepted\": true}}\n",
        )
        .unwrap();
        let output = dir.path().join("out/findings.jsonl");
        let args = CheckArgs {
            policy: policy.clone(),
            terms: Vec::new(),
            input: input.clone(),
            output: output.clone(),
            verdicts: None,
            cache_dir: None,
            workers: Some(2),
        };
        run(args.clone()).unwrap();
        let lines: Vec<serde_json::Value> =
            std::fs::read_to_string(&output).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 4, "{lines:#?}");
        assert_eq!(lines[0]["id"], "a");
        assert_eq!(lines[0]["field"], "body");
        // After a 4-byte emoji and 含.
        assert_eq!((lines[0]["bstart"].as_u64(), lines[0]["bend"].as_u64()), (Some(7), Some(16)));
        assert_eq!(lines[0]["severity"], "warn");
        assert_eq!(lines[0]["rule"], "TPL-001");
        assert_eq!(lines[1]["id"], "b");
        assert_eq!(lines[1]["field"], "title");
        assert_eq!(lines[2], serde_json::json!({"id": "a", "verdict": "flagged"}));
        assert_eq!(lines[3], serde_json::json!({"id": "b", "verdict": "flagged"}));

        // Verdicts to a second file.
        let verdicts = dir.path().join("v.jsonl");
        run(CheckArgs { verdicts: Some(verdicts.clone()), ..args.clone() }).unwrap();
        assert_eq!(std::fs::read_to_string(&output).unwrap().lines().count(), 2);
        assert_eq!(std::fs::read_to_string(&verdicts).unwrap().lines().count(), 2);

        // --terms needs a plugin that declares extra_terms.
        let terms = dir.path().join("terms.txt");
        std::fs::write(&terms, "词\n").unwrap();
        let err = run(CheckArgs { terms: vec![terms], ..args.clone() }).unwrap_err();
        assert!(err.to_string().contains("extra_terms"), "{err}");

        // A malformed line is named by file and line.
        std::fs::write(&input, "{\"id\": \"a\", \"body\": \"x\"}\n{\"id\": 3}\n").unwrap();
        let err = format!("{:#}", run(args).unwrap_err());
        assert!(err.contains("in.jsonl:2"), "{err}");
    }

    #[test]
    fn check_reads_attachments_and_reports_where_in_them() {
        let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/dist");
        let pin = |name: &str| crate::plugin_host::built_pin(&dist, name).unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("p.toml");
        std::fs::write(
            &policy,
            format!(
                "name = \"t\"\n[extractor]\nname = \"extract\"\npath = \"{}\"\nsha256 = \"{}\"\n\
                 [[plugins]]\nname = \"template\"\npath = \"{}\"\nsha256 = \"{}\"\nattachments = true\n\
                 [plugins.config]\nwords = [\"示例词\"]\n",
                dist.join("extract.wasm").display(),
                pin("extract"),
                dist.join("template.wasm").display(),
                pin("template"),
            ),
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("files")).unwrap();
        std::fs::write(dir.path().join("files/a.csv"), "序号,说明\n1,无\n2,含示例词的一行\n").unwrap();
        let input = dir.path().join("in.jsonl");
        std::fs::write(
            &input,
            "{\"id\": \"a\", \"body\": \"详见附件。\", \"attachments\": [{\"name\": \"名单.csv\", \"path\": \"files/a.csv\"}]}\n",
        )
        .unwrap();
        let output = dir.path().join("out.jsonl");
        let args = CheckArgs {
            policy,
            terms: Vec::new(),
            input: input.clone(),
            output: output.clone(),
            verdicts: None,
            cache_dir: None,
            workers: Some(1),
        };
        run(args.clone()).unwrap();
        let lines: Vec<serde_json::Value> =
            std::fs::read_to_string(&output).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let f = lines.iter().find(|l| l["field"] == "attachment").unwrap_or_else(|| panic!("{lines:#?}"));
        assert_eq!((f["bstart"].is_null(), f["text"].as_str()), (true, Some("示例词")), "{f}");
        assert_eq!(
            (f["locator"]["file"].as_str(), f["locator"]["cell"].as_str()),
            (Some("名单.csv"), Some("B3")),
            "{f}"
        );

        // A missing file is an error naming the line, not an item without it.
        std::fs::write(
            &input,
            "{\"id\": \"a\", \"body\": \"x\", \"attachments\": [{\"name\": \"b\", \"path\": \"nope\"}]}\n",
        )
        .unwrap();
        let err = format!("{:#}", run(args).unwrap_err());
        assert!(err.contains("in.jsonl:1") && err.contains("nope"), "{err}");
    }
}
