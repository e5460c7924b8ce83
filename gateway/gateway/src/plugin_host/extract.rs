//! The attachment extractor (`plugins/wit-extract`, package
//! `gov-disclosure:extract@0.2.0`): loading it against its pin, and running
//! it on one untrusted file: reading it (`extract`), or writing a masked
//! copy of it (`mask`, for XLSX, CSV and DOCX) under the same limits.
//!
//! Each file gets a **fresh instance** (instantiation costs tens of
//! microseconds and the extractor has no configuration), so nothing one
//! hostile file does to the parser's memory can reach the next file. The
//! call runs under the same machinery as a review: an empty WASI context, an
//! epoch deadline, a memory cap, and output lifted within a budget (number
//! of segments and facts, bytes of text) *before* host memory is allocated
//! for it. The lifted output is then validated (every locator names this
//! file or a path inside it). Any trap, timeout, memory cap, oversized or
//! malformed output, or a failure the extractor reports itself (malformed or
//! encrypted file, archive bounds, zip bomb) is an [`ExtractFailure`] naming
//! the file, which the review turns into a blocking finding: never a pass.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{ComponentExportIndex, ComponentType, InstancePre, Lift, TypedFunc};

use super::engine::{HostState, PluginHost};
use super::limits::{FailureCause, PluginLimits, classify, deadline_ticks};
use super::load::{HostError, read_pinned};
use super::output::{self, BoundedList, BoundedString};
pub use crate::finding::{Locator, Part};

#[allow(missing_docs, clippy::all)]
mod bindings {
    wasmtime::component::bindgen!({
        path: "../../plugins/wit-extract",
        world: "extractor",
    });
}

use bindings::gov_disclosure::extract::types::{
    Bounds, Edit as WitEdit, FactKind as WitFactKind, FailureKind, Input, Locator as WitLocator, Part as WitPart,
};

/// The extractor contract's package and version.
pub const EXTRACT_CONTRACT: &str = "gov-disclosure:extract@0.2.0";

/// Bounds the extractor enforces inside the sandbox; one definition with
/// its defaults, shared with the extractor (`plugins/extract-api`).
pub use extract_api::Bounds as ExtractBounds;

/// What to load: the extractor a policy names.
#[derive(Debug, Clone)]
pub struct ExtractorSpec {
    /// Name in the policy (must equal the name `describe` reports).
    pub name: String,
    /// The component file.
    pub path: std::path::PathBuf,
    /// Pinned SHA-256, hex.
    pub sha256: String,
    /// Deadline, memory cap and output budget of one file
    /// (`max_findings` bounds segments and facts, each list).
    pub limits: PluginLimits,
    /// Bounds the extractor enforces itself.
    pub bounds: ExtractBounds,
}

/// A piece of extracted text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Segment {
    /// Where it is.
    pub locator: Locator,
    /// The text.
    pub text: String,
}

/// Hidden content or metadata the extractor saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FactKind {
    /// A tracked insertion.
    TrackedInsertion,
    /// A tracked deletion.
    TrackedDeletion,
    /// A comment.
    Comment,
    /// Hidden text.
    HiddenText,
    /// A telling document property (author, company ...).
    DocumentProperty,
    /// A page header or footer with text.
    HeaderFooter,
    /// A hidden worksheet.
    HiddenSheet,
    /// A very hidden worksheet.
    VeryHiddenSheet,
    /// A hidden row with content.
    HiddenRow,
    /// Hidden columns.
    HiddenColumn,
    /// A cell whose number format hides its value.
    HiddenFormat,
    /// A link.
    Link,
    /// A link in hidden content or without visible text.
    HiddenLink,
    /// A file embedded in the document (an OFD attachment, a PDF embedded
    /// file).
    EmbeddedFile,
    /// Content that could not be read as text.
    NotExtracted,
    /// Failed redaction: text still there under a box painted over it or an
    /// unapplied redaction annotation.
    CoveredText,
    /// Earlier revisions kept by incremental updates (PDF).
    EarlierRevision,
    /// A page with images and no text layer (OCR reads it).
    ImagePage,
}

impl FactKind {
    fn from_wit(k: WitFactKind) -> FactKind {
        match k {
            WitFactKind::TrackedInsertion => FactKind::TrackedInsertion,
            WitFactKind::TrackedDeletion => FactKind::TrackedDeletion,
            WitFactKind::Comment => FactKind::Comment,
            WitFactKind::HiddenText => FactKind::HiddenText,
            WitFactKind::DocumentProperty => FactKind::DocumentProperty,
            WitFactKind::HeaderFooter => FactKind::HeaderFooter,
            WitFactKind::HiddenSheet => FactKind::HiddenSheet,
            WitFactKind::VeryHiddenSheet => FactKind::VeryHiddenSheet,
            WitFactKind::HiddenRow => FactKind::HiddenRow,
            WitFactKind::HiddenColumn => FactKind::HiddenColumn,
            WitFactKind::HiddenFormat => FactKind::HiddenFormat,
            WitFactKind::Link => FactKind::Link,
            WitFactKind::HiddenLink => FactKind::HiddenLink,
            WitFactKind::EmbeddedFile => FactKind::EmbeddedFile,
            WitFactKind::NotExtracted => FactKind::NotExtracted,
            WitFactKind::CoveredText => FactKind::CoveredText,
            WitFactKind::EarlierRevision => FactKind::EarlierRevision,
            WitFactKind::ImagePage => FactKind::ImagePage,
        }
    }
}

/// A fact about hidden content.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Fact {
    /// What.
    pub kind: FactKind,
    /// Where.
    pub locator: Locator,
    /// The hidden sheet's name, the address, the property ...
    pub detail: String,
}

/// What came out of one file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Extraction {
    /// `txt`, `csv`, `html`, `docx`, `xlsx`, `ofd`, `pdf`, `zip` or `unsupported`.
    pub format: String,
    /// Text with locators.
    pub segments: Vec<Segment>,
    /// Hidden content and metadata.
    pub facts: Vec<Fact>,
}

/// Why a file could not be read; always blocks the item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtractFailure {
    /// The extractor itself reported it (the file is malformed, encrypted,
    /// or over a bound such as a zip bomb's ratio).
    File {
        /// The file, with the path inside archives.
        file: String,
        /// Whether a bound was hit (`true`) rather than a malformed or
        /// encrypted file.
        limit: bool,
        /// The extractor's message, in Chinese.
        message: String,
    },
    /// The sandbox stopped it: trap, deadline, memory cap, oversized or
    /// malformed output.
    Sandbox {
        /// The top-level file being read.
        file: String,
        /// Why.
        cause: FailureCause,
    },
}

impl ExtractFailure {
    /// The file it names.
    pub fn file(&self) -> &str {
        match self {
            ExtractFailure::File { file, .. } | ExtractFailure::Sandbox { file, .. } => file,
        }
    }
}

impl std::fmt::Display for ExtractFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExtractFailure::File { file, message, .. } => write!(f, "附件 {file} 无法读取：{message}"),
            ExtractFailure::Sandbox { file, cause } => write!(f, "读取附件 {file} 时提取器被沙箱终止：{cause}"),
        }
    }
}

#[derive(ComponentType, Lift)]
#[component(record)]
struct RawLocator {
    file: BoundedString,
    part: WitPart,
    page: Option<u32>,
    sheet: Option<BoundedString>,
    cell: Option<BoundedString>,
    paragraph: Option<u32>,
    detail: Option<BoundedString>,
}

#[derive(ComponentType, Lift)]
#[component(record)]
struct RawSegment {
    locator: RawLocator,
    text: BoundedString,
}

#[derive(ComponentType, Lift)]
#[component(record)]
struct RawFact {
    kind: WitFactKind,
    locator: RawLocator,
    detail: BoundedString,
}

#[derive(ComponentType, Lift)]
#[component(record)]
struct RawExtraction {
    format: BoundedString,
    segments: BoundedList<RawSegment>,
    facts: BoundedList<RawFact>,
}

#[derive(ComponentType, Lift)]
#[component(record)]
struct RawFailure {
    kind: FailureKind,
    file: BoundedString,
    message: BoundedString,
}

type ExtractResult = Result<RawExtraction, RawFailure>;
type MaskResult = Result<BoundedList<u8>, RawFailure>;

/// One replacement for [`LoadedExtractor::mask`]: at `locator`, the exact
/// text `original` becomes `replacement`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MaskEdit {
    /// Where (a cell, a paragraph).
    pub locator: Locator,
    /// The finding's text, as extracted.
    pub original: String,
    /// Its mask.
    pub replacement: String,
}

/// A loaded, verified extractor.
pub struct LoadedExtractor {
    host: Arc<PluginHost>,
    name: String,
    version: String,
    sha256: String,
    pre: InstancePre<HostState>,
    extract: ComponentExportIndex,
    mask: ComponentExportIndex,
    limits: PluginLimits,
    bounds: ExtractBounds,
}

impl std::fmt::Debug for LoadedExtractor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedExtractor")
            .field("name", &self.name)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

impl PluginHost {
    /// Loads the extractor: verifies the file against its pin before
    /// compiling, checks the contract (its exports and `describe`'s name).
    pub fn load_extractor(self: &Arc<Self>, spec: ExtractorSpec) -> Result<LoadedExtractor, HostError> {
        let name = spec.name.clone();
        let (bytes, actual) = read_pinned(&name, &spec.path, &spec.sha256)?;
        let component = self.component(&name, &bytes, &actual)?;
        let contract = |found: String| HostError::Contract { name: name.clone(), found };
        let export = |f: &str| {
            component
                .get_export_index(None, f)
                .ok_or_else(|| contract(format!("不是附件提取器（{EXTRACT_CONTRACT}）：缺少导出函数 {f}")))
        };
        let (describe, extract, mask) = (export("describe")?, export("extract")?, export("mask")?);
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| HostError::Link { name: name.clone(), reason: format!("{e:#}") })?;
        let loaded = LoadedExtractor {
            host: self.clone(),
            name: name.clone(),
            version: String::new(),
            sha256: actual,
            pre,
            extract,
            mask,
            limits: spec.limits,
            bounds: spec.bounds,
        };
        let mut store = loaded.store(spec.limits.configure_deadline);
        let instance = loaded.pre.instantiate(&mut store).map_err(|e| contract(format!("{e:#}")))?;
        let f: TypedFunc<(), (BoundedString,)> = instance
            .get_typed_func(&mut store, describe)
            .map_err(|e| contract(format!("describe 的类型不符：{e:#}")))?;
        instance
            .get_typed_func::<(&Input, Bounds), (ExtractResult,)>(&mut store, extract)
            .map_err(|e| contract(format!("extract 的类型不符（{EXTRACT_CONTRACT}）：{e:#}")))?;
        instance
            .get_typed_func::<(&Input, &[WitEdit], Bounds), (MaskResult,)>(&mut store, mask)
            .map_err(|e| contract(format!("mask 的类型不符（{EXTRACT_CONTRACT}）：{e:#}")))?;
        let (described,) = output::with_budget(0, 4096, || f.call(&mut store, ()))
            .map_err(|e| HostError::Describe { name: name.clone(), reason: classify(&e, &spec.limits).to_string() })?;
        let (described_name, version) = described.0.split_once('@').unwrap_or((described.0.as_str(), ""));
        if described_name != name {
            return Err(HostError::NameMismatch { name, described: described_name.to_owned() });
        }
        Ok(LoadedExtractor { version: version.to_owned(), ..loaded })
    }
}

impl LoadedExtractor {
    /// The extractor's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its version, as it describes itself.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// SHA-256 (hex) of the component.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    fn store(&self, deadline: Duration) -> wasmtime::Store<HostState> {
        let mut store = self.host.new_store(self.limits.memory);
        store.set_epoch_deadline(deadline_ticks(deadline));
        store
    }

    /// Reads one file on a fresh instance. Blocking (run it on the blocking
    /// pool); never panics on what the file or the extractor does.
    pub fn extract(&self, name: &str, media_type: &str, bytes: &[u8]) -> Result<Extraction, ExtractFailure> {
        self.extract_measured(name, media_type, bytes).0
    }

    /// [`Self::extract`], also giving the instance's peak linear memory in
    /// bytes (memory only grows, so its size after the call is the peak;
    /// the benchmark reports it).
    pub fn extract_measured(
        &self,
        name: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> (Result<Extraction, ExtractFailure>, usize) {
        let mut store = self.store(self.limits.deadline);
        let result = self.extract_in(&mut store, name, media_type, bytes);
        (result, store.data().limiter.used)
    }

    fn extract_in(
        &self,
        store: &mut wasmtime::Store<HostState>,
        name: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Extraction, ExtractFailure> {
        let sandbox = |cause| ExtractFailure::Sandbox { file: name.to_owned(), cause };
        let instance = self
            .pre
            .instantiate(&mut *store)
            .map_err(|e| sandbox(FailureCause::Instantiate(classify(&e, &self.limits).to_string())))?;
        let f: TypedFunc<(&Input, Bounds), (ExtractResult,)> = instance
            .get_typed_func(&mut *store, self.extract)
            .map_err(|e| sandbox(FailureCause::Instantiate(format!("{e:#}"))))?;
        let input = Input { name: name.to_owned(), media_type: media_type.to_owned(), bytes: bytes.to_vec() };
        let result = output::with_budget(self.limits.max_findings, self.limits.max_output_bytes, || {
            f.call(&mut *store, (&input, self.wit_bounds()))
        });
        match result {
            Err(e) => Err(self.trapped(store, name, &e)),
            Ok((Err(failure),)) => Err(reported(name, failure)),
            Ok((Ok(raw),)) => validate(name, raw).map_err(|why| sandbox(FailureCause::InvalidOutput(why))),
        }
    }

    fn wit_bounds(&self) -> Bounds {
        let ExtractBounds { max_depth, max_entries, max_total_bytes, max_ratio, max_cells, max_pages, max_text_bytes } =
            self.bounds;
        Bounds { max_depth, max_entries, max_total_bytes, max_ratio, max_cells, max_pages, max_text_bytes }
    }

    /// A call that did not return: trap (with the guest's last line of
    /// stderr), deadline, memory cap, oversized output.
    fn trapped(&self, store: &wasmtime::Store<HostState>, name: &str, e: &wasmtime::Error) -> ExtractFailure {
        let cause = match classify(e, &self.limits) {
            FailureCause::Trap(t) => match store.data().stderr.last_line() {
                Some(line) => FailureCause::Trap(format!("{t}；提取器输出：{line}")),
                None => FailureCause::Trap(t),
            },
            other => other,
        };
        ExtractFailure::Sandbox { file: name.to_owned(), cause }
    }

    /// Writes a masked copy of one file (XLSX, CSV, DOCX) on a fresh
    /// instance, under the same deadline and memory cap as [`Self::extract`];
    /// the copy is lifted only within the output byte budget. Any edit the
    /// extractor cannot apply exactly (its text is not at its locator), a
    /// format it cannot rewrite, or any sandbox failure is an
    /// [`ExtractFailure`]: never a partial copy. Blocking.
    pub fn mask(
        &self,
        name: &str,
        media_type: &str,
        bytes: &[u8],
        edits: &[MaskEdit],
    ) -> Result<Vec<u8>, ExtractFailure> {
        let mut store = self.store(self.limits.deadline);
        let sandbox = |cause| ExtractFailure::Sandbox { file: name.to_owned(), cause };
        let instance = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| sandbox(FailureCause::Instantiate(classify(&e, &self.limits).to_string())))?;
        let f: TypedFunc<(&Input, &[WitEdit], Bounds), (MaskResult,)> = instance
            .get_typed_func(&mut store, self.mask)
            .map_err(|e| sandbox(FailureCause::Instantiate(format!("{e:#}"))))?;
        let input = Input { name: name.to_owned(), media_type: media_type.to_owned(), bytes: bytes.to_vec() };
        let edits: Vec<WitEdit> = edits
            .iter()
            .map(|e| WitEdit {
                locator: wit_locator(&e.locator),
                original: e.original.clone(),
                replacement: e.replacement.clone(),
            })
            .collect();
        // The copy is one list of bytes: its length is bounded by the
        // output byte budget, as extracted text is.
        let budget = self.limits.max_output_bytes;
        let result = output::with_budget(budget, budget, || f.call(&mut store, (&input, &edits, self.wit_bounds())));
        match result {
            Err(e) => Err(self.trapped(&store, name, &e)),
            Ok((Err(failure),)) => Err(reported(name, failure)),
            Ok((Ok(copy),)) => Ok(copy.0),
        }
    }
}

/// A failure the extractor reported itself, if it names this file.
fn reported(name: &str, failure: RawFailure) -> ExtractFailure {
    let file = failure.file.0;
    if !within(name, &file) {
        return ExtractFailure::Sandbox {
            file: name.to_owned(),
            cause: FailureCause::InvalidOutput(format!("失败报告指向了另一个文件“{file}”")),
        };
    }
    ExtractFailure::File { file, limit: matches!(failure.kind, FailureKind::LimitExceeded), message: failure.message.0 }
}

fn wit_locator(l: &Locator) -> WitLocator {
    WitLocator {
        file: l.file.clone(),
        part: match l.part {
            Part::Body => WitPart::Body,
            Part::Header => WitPart::Header,
            Part::Footer => WitPart::Footer,
            Part::Footnote => WitPart::Footnote,
            Part::Comment => WitPart::Comment,
            Part::Insertion => WitPart::Insertion,
            Part::Deletion => WitPart::Deletion,
            Part::HiddenText => WitPart::HiddenText,
            Part::Property => WitPart::Property,
            Part::Cell => WitPart::Cell,
            Part::Link => WitPart::Link,
            // OCR text is the host's own (images are never rewritten:
            // `service::attachments::edits_for` leaves it out); the
            // extractor refuses an edit it cannot find at a body locator.
            Part::Scanned => WitPart::Body,
        },
        page: l.page,
        sheet: l.sheet.clone(),
        cell: l.cell.clone(),
        paragraph: l.paragraph,
        detail: l.detail.clone(),
    }
}

/// Whether `file` is `top` or a path inside it.
fn within(top: &str, file: &str) -> bool {
    file == top || file.strip_prefix(top).is_some_and(|rest| rest.starts_with('/'))
}

fn locator(top: &str, raw: RawLocator) -> Result<Locator, String> {
    let file = raw.file.0;
    if !within(top, &file) {
        return Err(format!("位置指向了另一个文件“{file}”"));
    }
    Ok(Locator {
        file,
        part: part_from_wit(raw.part),
        page: raw.page,
        sheet: raw.sheet.map(|s| s.0),
        cell: raw.cell.map(|s| s.0),
        paragraph: raw.paragraph,
        detail: raw.detail.map(|s| s.0),
    })
}

fn validate(top: &str, raw: RawExtraction) -> Result<Extraction, String> {
    let segments = raw
        .segments
        .0
        .into_iter()
        .map(|s| Ok(Segment { locator: locator(top, s.locator)?, text: s.text.0 }))
        .collect::<Result<Vec<_>, String>>()?;
    let facts = raw
        .facts
        .0
        .into_iter()
        .map(|f| Ok(Fact { kind: FactKind::from_wit(f.kind), locator: locator(top, f.locator)?, detail: f.detail.0 }))
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Extraction { format: raw.format.0, segments, facts })
}

fn part_from_wit(p: WitPart) -> Part {
    match p {
        WitPart::Body => Part::Body,
        WitPart::Header => Part::Header,
        WitPart::Footer => Part::Footer,
        WitPart::Footnote => Part::Footnote,
        WitPart::Comment => Part::Comment,
        WitPart::Insertion => Part::Insertion,
        WitPart::Deletion => Part::Deletion,
        WitPart::HiddenText => Part::HiddenText,
        WitPart::Property => Part::Property,
        WitPart::Cell => Part::Cell,
        WitPart::Link => Part::Link,
    }
}
