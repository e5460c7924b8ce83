//! Reviewing what is attached: every attachment is read by the policy's
//! extractor in the sandbox (`plugin_host::LoadedExtractor`), and then
//!
//! - its text is reviewed by the plugins the policy marks `attachments =
//!   true` (secrecy, pii, lexicon): per attachment, one item whose body is
//!   the extracted segments, one per line, under the unchanged review
//!   contract (`gov-disclosure:review@0.1.0`); each body span is mapped back
//!   to its segment, so the finding carries the segment's locator and an
//!   excerpt (`Finding::attachment`), and its field is `attachment`;
//! - hidden content is a finding of its own: META-001 (tracked changes,
//!   comments, hidden text, hidden sheets, rows, columns and `;;;` cells
//!   block, so does text under a box painted over it or under an unapplied
//!   redaction (a failed PDF redaction); document properties, earlier
//!   revisions and headers/footers warn), SEC-004 for
//!   watermark and marking words (内部资料 blocks, 征求意见稿 and 草稿
//!   warn), LNK-001 for hidden links and links to hosts the policy's
//!   `[links]` blocks (block) and for external links outside its allow-list
//!   (warn), LNK-002 for `file://`, private addresses and intranet host
//!   names (warn);
//! - what cannot be read is never a pass: a file the extractor refuses
//!   (malformed, encrypted, over a bound such as a zip bomb's ratio) is a
//!   blocking META-002 naming the file; a sandbox failure (trap, deadline,
//!   memory cap, malformed output) a blocking `plugin_failure`; content that
//!   is not text (an image, a PDF page with images and no text layer)
//!   META-002, blocking for a 公示 and a warning otherwise.

use std::net::IpAddr;
use std::time::Instant;

use crate::finding::{
    AttachmentFile, AttachmentSpot, Field, Finding, Locator, PLUGIN_FAILURE_KIND, PLUGIN_FAILURE_RULE, Part, PluginRun,
    ReviewItem, RunStatus, Severity, Span,
};
use crate::ocr::OcrLine;
use crate::plugin_host::{ExtractFailure, Extraction, FactKind, LoadedExtractor, Segment, wit_item};
use crate::policy::{LinkPolicy, LinkVerdict, url_host};

use super::Generation;

/// Kind of META-001 findings.
pub const HIDDEN_CONTENT_KIND: &str = "hidden_content";
/// Kind of META-002 findings.
pub const UNREADABLE_KIND: &str = "attachment_unreadable";
/// Kind of LNK findings.
pub const LINK_KIND: &str = "link";

/// Marking and watermark words (SEC-004) and whether each blocks.
const MARKINGS: &[(&str, Severity)] =
    &[("内部资料", Severity::Block), ("征求意见稿", Severity::Warn), ("草稿", Severity::Warn)];

/// Characters of context on each side of a finding in its excerpt.
const CONTEXT_CHARS: usize = 40;

fn host_finding(
    plugin: &str,
    rule: &str,
    kind: &str,
    severity: Severity,
    locator: Locator,
    excerpt: String,
    message: String,
) -> Finding {
    Finding {
        plugin: plugin.to_owned(),
        rule_id: rule.to_owned(),
        kind: kind.to_owned(),
        severity,
        field: Field::Attachment,
        span: None,
        message: format!("{locator}：{message}"),
        suggestion: None,
        attachment: Some(AttachmentSpot { locator, excerpt, span: None }),
    }
}

/// `text` around bytes `start..end`, with the span within the excerpt.
fn excerpt(text: &str, start: usize, end: usize) -> (String, Span) {
    let from = text[..start].char_indices().rev().nth(CONTEXT_CHARS - 1).map_or(0, |(i, _)| i);
    let to = text[end..].char_indices().nth(CONTEXT_CHARS).map_or(text.len(), |(i, _)| end + i);
    (text[from..to].to_owned(), Span { start: (start - from) as u32, end: (end - from) as u32 })
}

/// Why a link target reveals internal systems (LNK-002), if it does.
fn internal_target(target: &str) -> Option<String> {
    let lower = target.trim().to_ascii_lowercase();
    if lower.starts_with("file:") || lower.starts_with("\\\\") || lower.starts_with("smb:") {
        return Some("指向本地或内网共享文件".into());
    }
    let host = url_host(&lower)?;
    if let Ok(ip) = host.parse::<IpAddr>() {
        let private = match ip {
            IpAddr::V4(v4) => v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.is_unspecified(),
            IpAddr::V6(v6) => v6.is_loopback() || v6.is_unspecified() || (v6.segments()[0] & 0xfe00) == 0xfc00,
        };
        return private.then(|| format!("指向内网地址 {host}"));
    }
    let intranet = !host.contains('.')
        || [".local", ".lan", ".internal", ".intranet", ".intra", ".corp", ".localdomain"]
            .iter()
            .any(|s| host.ends_with(s));
    intranet.then(|| format!("指向内网主机 {host}"))
}

/// Words that make unreadable content block: a 公示 or a list of people
/// (assistance recipients and the like), where an unread image most likely
/// carries personal data. Narrow on purpose: "工作人员" in a notice does not
/// make it a list of people.
const PERSONAL_CONTEXT: &[&str] =
    &["公示", "名单", "名册", "身份证", "低保", "特困", "救助", "困难群众", "补贴对象", "补助对象", "资助对象"];

/// Whether unreadable content of this item blocks (a 公示 or a
/// personal-data context) or only warns.
fn unreadable_severity(item: &ReviewItem) -> Severity {
    let personal = PERSONAL_CONTEXT.iter().any(|w| item.title.contains(w) || item.body.contains(w));
    if personal { Severity::Block } else { Severity::Warn }
}

/// The name the HTML body is read under; its locators say 正文.
pub const BODY_FILE: &str = "正文.html";

/// Whether a body is HTML worth reading for links and hidden content.
fn looks_like_html(body: &str) -> bool {
    let lower = body.to_ascii_lowercase();
    lower.contains("<a ") || lower.contains("</") || lower.contains("style=")
}

impl Generation {
    /// Reads an HTML body with the extractor for hidden links (LNK-001),
    /// internal links (LNK-002) and hidden text (META-001); its text the
    /// plugins review as the body already.
    pub(super) fn review_html_body(&self, item: &ReviewItem) -> Vec<Finding> {
        let Some(extractor) = self.extractor.as_ref().filter(|_| looks_like_html(&item.body)) else {
            return Vec::new();
        };
        match extractor.extract(BODY_FILE, "text/html", item.body.as_bytes()) {
            Err(failure) => vec![failure_finding(extractor, &failure)],
            Ok(x) => fact_findings(extractor, &self.policy.links, item, &x)
                .into_iter()
                .map(|mut f| {
                    f.field = Field::Body;
                    f
                })
                .collect(),
        }
    }

    /// Reads with OCR (`crate::ocr`) what the extractor could not: an
    /// attachment that is an image, and the image-only pages of a PDF
    /// attachment (`image-page` facts). The lines become segments (part
    /// 文字识别, with page, line and box) and replace the fact. A policy
    /// without OCR keeps the facts (META-002); OCR that fails or finds no
    /// text is a META-002 of its own saying why.
    fn read_scans(&self, item: &ReviewItem, file: &AttachmentFile, x: &mut Extraction) -> Vec<Finding> {
        let Some(ocr) = &self.ocr else { return Vec::new() };
        let unreadable = |page: Option<u32>, why: String| {
            let mut locator = file_locator(&file.name);
            locator.page = page;
            host_finding("ocr", "META-002", UNREADABLE_KIND, unreadable_severity(item), locator, String::new(), why)
        };
        let advice = "未经内容审查；请人工核对，或提供可提取文字的版本。";
        if let Some(format) = crate::ocr::image_format(&file.bytes) {
            x.facts.retain(|f| !(f.kind == FactKind::NotExtracted && f.locator.file == file.name));
            return match ocr.image(&file.bytes) {
                Err(e) => vec![unreadable(None, format!("图片（{format}）无法识别：{e}，{advice}"))],
                Ok(lines) if lines.is_empty() => {
                    vec![unreadable(None, format!("图片（{format}）中未识别出文字，{advice}"))]
                }
                Ok(lines) => {
                    x.segments.extend(scanned_segments(&file.name, Some(1), lines));
                    Vec::new()
                }
            };
        }
        // Image-only pages of the PDF itself (not of a file inside it).
        let pages: Vec<u32> = x
            .facts
            .iter()
            .filter(|f| f.kind == FactKind::ImagePage && f.locator.file == file.name)
            .filter_map(|f| f.locator.page)
            .collect();
        let mut out = Vec::new();
        for (n, page) in pages.into_iter().enumerate() {
            if n as u32 >= ocr.settings().max_pages {
                // Left as image-page facts: META-002 each.
                break;
            }
            let result = ocr.pdf_page(&file.bytes, page);
            x.facts.retain(|f| {
                !(f.kind == FactKind::ImagePage && f.locator.file == file.name && f.locator.page == Some(page))
            });
            match result {
                Err(e) => out.push(unreadable(
                    Some(page),
                    format!("第 {page} 页是没有文字层的扫描图像，无法识别：{e}，{advice}"),
                )),
                Ok(lines) if lines.is_empty() => {
                    out.push(unreadable(
                        Some(page),
                        format!("第 {page} 页是没有文字层的扫描图像，未识别出文字，{advice}"),
                    ));
                }
                Ok(lines) => x.segments.extend(scanned_segments(&file.name, Some(page), lines)),
            }
        }
        out
    }

    /// Reads and reviews every attachment; returns the findings and a run
    /// record per file read. Nothing when the policy has no extractor.
    pub(super) fn review_attachments(
        &self,
        item: &ReviewItem,
        files: &[AttachmentFile],
        now: &str,
    ) -> (Vec<Finding>, Vec<PluginRun>) {
        let Some(extractor) = &self.extractor else {
            return (Vec::new(), Vec::new());
        };
        let mut findings = Vec::new();
        let mut runs = Vec::new();
        for file in files {
            let started = Instant::now();
            let result = extractor.extract(&file.name, &file.media_type, &file.bytes);
            let status = if result.is_ok() { RunStatus::Ok } else { RunStatus::Failed };
            runs.push(PluginRun {
                name: extractor.name().to_owned(),
                version: extractor.version().to_owned(),
                sha256: extractor.sha256().to_owned(),
                status,
                micros: started.elapsed().as_micros() as u64,
            });
            match result {
                Err(failure) => findings.push(failure_finding(extractor, &failure)),
                Ok(mut x) => {
                    findings.extend(self.read_scans(item, file, &mut x));
                    findings.extend(fact_findings(extractor, &self.policy.links, item, &x));
                    findings.extend(self.scan_text(item, &file.name, &x, now));
                }
            }
        }
        (findings, runs)
    }

    /// The text of one attachment through the plugins marked for it.
    fn scan_text(&self, item: &ReviewItem, name: &str, x: &Extraction, now: &str) -> Vec<Finding> {
        // One segment per line: the body's line `i` is segment `i` (text with
        // line breaks of its own is joined with spaces, keeping the count).
        let lines: Vec<String> = x.segments.iter().map(|s| s.text.replace(['\r', '\n'], " ")).collect();
        let mut starts = Vec::with_capacity(lines.len());
        let mut body = String::new();
        for line in &lines {
            starts.push(body.len());
            body.push_str(line);
            body.push('\n');
        }
        let mut attached = item.clone();
        attached.title = name.to_owned();
        attached.body = body;
        attached.attachments.clear();
        let wit = wit_item(&attached, now);
        let mut out = Vec::new();
        for stage in self.stages.iter().filter(|s| s.attachments) {
            let found = match stage.plugin.review(&wit) {
                Ok(found) => found,
                Err(failure) => {
                    let mut f = super::failure_finding(&failure);
                    f.message = format!("读取附件 {name} 的文字时，{}", f.message);
                    out.push(f);
                    continue;
                }
            };
            for mut f in found {
                f.severity = self.policy.severity_for(&f);
                let (locator, ex, span) = match (f.field, f.span) {
                    (Field::Body, Some(span)) => {
                        let i = starts.partition_point(|&s| s <= span.start as usize).saturating_sub(1);
                        let (seg, line) = (&x.segments[i], &lines[i]);
                        let start = span.start as usize - starts[i];
                        let end = (span.end as usize - starts[i]).min(line.len());
                        if end < start || !line.is_char_boundary(start) || !line.is_char_boundary(end) {
                            continue;
                        }
                        let (ex, span) = excerpt(line, start, end);
                        (seg.locator.clone(), ex, Some(span))
                    }
                    (Field::Title, _) => (file_locator(name), name.to_owned(), None),
                    // Other fields are the item's own, reviewed with it.
                    _ => continue,
                };
                f.message = format!("{locator}：{}", f.message);
                f.field = Field::Attachment;
                f.span = None;
                f.attachment = Some(AttachmentSpot { locator, excerpt: ex, span });
                out.push(f);
            }
        }
        // Marking and watermark words anywhere in the file (SEC-004).
        for seg in &x.segments {
            for (word, severity) in MARKINGS {
                if let Some(at) = seg.text.find(word) {
                    let (ex, span) = excerpt(&seg.text, at, at + word.len());
                    let mut f = host_finding(
                        "extract",
                        "SEC-004",
                        "classification_marker",
                        *severity,
                        seg.locator.clone(),
                        ex,
                        format!("附件含有“{word}”字样（标记或水印），请确认该文件可以公开，或换用正式公开版本。"),
                    );
                    if let Some(spot) = &mut f.attachment {
                        spot.span = Some(span);
                    }
                    out.push(f);
                }
            }
        }
        out
    }
}

fn file_locator(name: &str) -> Locator {
    Locator {
        file: name.to_owned(),
        part: Part::Body,
        page: None,
        sheet: None,
        cell: None,
        paragraph: None,
        detail: None,
    }
}

/// OCR lines as segments of `file` (page `page`), one per line.
fn scanned_segments(file: &str, page: Option<u32>, lines: Vec<OcrLine>) -> impl Iterator<Item = Segment> + '_ {
    lines.into_iter().enumerate().map(move |(i, line)| {
        let [l, t, w, h] = line.bbox;
        Segment {
            locator: Locator {
                file: file.to_owned(),
                part: Part::Scanned,
                page,
                sheet: None,
                cell: None,
                paragraph: Some(i as u32 + 1),
                detail: Some(format!("{l},{t},{w},{h}")),
            },
            text: line.text,
        }
    })
}

fn failure_finding(extractor: &LoadedExtractor, failure: &ExtractFailure) -> Finding {
    let locator = file_locator(failure.file());
    match failure {
        ExtractFailure::File { message, limit, .. } => {
            let why = if *limit { "超出安全上限" } else { "无法读取" };
            host_finding(
                extractor.name(),
                "META-002",
                UNREADABLE_KIND,
                Severity::Block,
                locator,
                String::new(),
                format!("附件{why}：{message}。未经审查的附件不能发布，请更换为可读取的文件。"),
            )
        }
        ExtractFailure::Sandbox { cause, .. } => host_finding(
            extractor.name(),
            PLUGIN_FAILURE_RULE,
            PLUGIN_FAILURE_KIND,
            Severity::Block,
            locator,
            String::new(),
            format!("附件提取器运行失败：{cause}。按失败即阻断原则，本稿件暂不能通过审查，请联系系统管理员。"),
        ),
    }
}

fn fact_findings(extractor: &LoadedExtractor, links: &LinkPolicy, item: &ReviewItem, x: &Extraction) -> Vec<Finding> {
    let plugin = extractor.name();
    let mut out = Vec::new();
    for fact in &x.facts {
        let link = |rule: &str, severity: Severity, message: String| {
            host_finding(plugin, rule, LINK_KIND, severity, fact.locator.clone(), fact.detail.clone(), message)
        };
        let hidden = |severity: Severity, what: &str| {
            host_finding(
                plugin,
                "META-001",
                HIDDEN_CONTENT_KIND,
                severity,
                fact.locator.clone(),
                fact.detail.clone(),
                format!("附件含有{what}：{}。公开前请清除，另存为不含修订、批注和隐藏内容的版本。", fact.detail),
            )
        };
        let finding = match fact.kind {
            FactKind::TrackedInsertion | FactKind::TrackedDeletion => hidden(Severity::Block, "未接受的修订"),
            FactKind::Comment => hidden(Severity::Block, "批注"),
            FactKind::HiddenText => hidden(Severity::Block, "隐藏文字"),
            FactKind::HiddenSheet | FactKind::VeryHiddenSheet => hidden(Severity::Block, "隐藏的工作表"),
            FactKind::HiddenRow | FactKind::HiddenColumn => hidden(Severity::Block, "隐藏的行或列"),
            FactKind::HiddenFormat => hidden(Severity::Block, "被格式隐藏的单元格"),
            FactKind::DocumentProperty => hidden(Severity::Warn, "文档属性"),
            FactKind::HeaderFooter => hidden(Severity::Info, "页眉页脚"),
            FactKind::EmbeddedFile => hidden(Severity::Block, "内嵌附件"),
            FactKind::CoveredText => host_finding(
                plugin,
                "META-001",
                HIDDEN_CONTENT_KIND,
                Severity::Block,
                fact.locator.clone(),
                fact.detail.clone(),
                format!(
                    "附件中被方框（黑框、白框等）或涂黑注释遮盖的文字仍可复制提取（遮盖无效）：{}。请用真正删除内容的方式脱敏后重新生成文件。",
                    fact.detail
                ),
            ),
            FactKind::EarlierRevision => hidden(Severity::Warn, "增量修改保留的早期版本"),
            FactKind::HiddenLink => {
                link("LNK-001", Severity::Block, format!("隐藏链接（暗链）指向 {}，请删除。", fact.detail))
            }
            FactKind::Link => match (internal_target(&fact.detail), links.judge(&fact.detail)) {
                (Some(why), _) => link(
                    "LNK-002",
                    Severity::Warn,
                    format!("链接 {} {why}，公开后会暴露内部系统，请删除或改为公开地址。", fact.detail),
                ),
                (None, Some(LinkVerdict::Blocked(host))) => link(
                    "LNK-001",
                    Severity::Block,
                    format!("链接 {} 指向本机关禁止链接的网站 {host}，请删除。", fact.detail),
                ),
                (None, Some(LinkVerdict::Unlisted(host))) => link(
                    "LNK-001",
                    Severity::Warn,
                    format!(
                        "外部链接 {} 指向 {host}，不在本机关允许链接的网站清单中；请核实该网站可靠、链接必要，或改为政府网站上的地址。",
                        fact.detail
                    ),
                ),
                (None, None) => continue,
            },
            FactKind::NotExtracted | FactKind::ImagePage => host_finding(
                plugin,
                "META-002",
                UNREADABLE_KIND,
                unreadable_severity(item),
                fact.locator.clone(),
                fact.detail.clone(),
                format!("{}，未经内容审查；请人工核对，或提供可提取文字的版本。", fact.detail),
            ),
        };
        out.push(finding);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_targets() {
        assert!(internal_target("file://oa-server/share/名单.xls").is_some());
        assert!(internal_target("http://10.1.2.3/oa/list.xls").unwrap().contains("10.1.2.3"));
        assert!(internal_target("http://192.168.0.8:8080/x").is_some());
        assert!(internal_target("http://oa/x").unwrap().contains("内网主机"));
        assert!(internal_target("https://portal.corp/x").is_some());
        assert_eq!(internal_target("https://www.gov.cn/zhengce/"), None);
        assert_eq!(internal_target("https://8.8.8.8/"), None);
    }

    #[test]
    fn excerpts_keep_the_span() {
        let text = "一二三四五身份证号320102198001011238结束";
        let start = text.find("3201").unwrap();
        let (ex, span) = excerpt(text, start, start + 18);
        assert_eq!(&ex[span.start as usize..span.end as usize], "320102198001011238");
    }
}
