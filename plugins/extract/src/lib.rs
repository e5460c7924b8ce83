//! The attachment extractor: a WebAssembly component (contract
//! `plugins/wit-extract/extract.wit`) that reads one untrusted file into text
//! segments with locators and facts about hidden content.
//!
//! Formats: plain text and CSV (UTF-8, UTF-16 with BOM, else GB18030), HTML,
//! DOCX (body, tracked insertions and deletions, hidden text, comments,
//! headers, footers, footnotes, document properties, external links), XLSX
//! (cells with their A1 references, hidden and very hidden sheets, hidden
//! rows and columns, `;;;` number formats and text the colour of its fill,
//! cell comments), legacy XLS (cells, hidden sheets, rows and columns, `;;;`
//! formats; through calamine after a bounded walk of its records), OFD (text per
//! page, annotations, DocInfo, custom tags, embedded attachments), PDF (text
//! per page through ToUnicode CMaps, failed redactions, invisible and
//! off-page text, earlier revisions, embedded files, metadata, links,
//! image-only pages) and ZIP archives of these, nested up to a depth. Everything is bounded by the host's
//! [`Bounds`]: archive depth, entries, total uncompressed bytes, compression
//! ratio per entry (zip bombs), cells, PDF pages and extracted text. A bound hit is a
//! [`Failure`], which the gateway turns into a blocking finding naming the
//! file; so is a malformed or encrypted file. A file that is not text at all
//! (an image) is a `not-extracted` fact, never a silent pass.
//!
//! The parsing is plain Rust over the generated contract types, so it is
//! tested natively (`cargo test -p extract`); the component only adds the
//! export. `mask` writes a masked copy of an XLSX, CSV or DOCX (`mask.rs`).

#[allow(unsafe_code, clippy::all, missing_docs)]
mod bindings {
    wit_bindgen::generate!({
        path: "../wit-extract",
        world: "extractor",
    });
}

mod archive;
mod doc;
mod docx;
mod html;
mod mask;
mod ofd;
mod pdf;
mod text;
mod xls;
mod xlsx;
mod xml;

pub use bindings::gov_disclosure::extract::types::{
    Bounds, Edit, Extraction, Fact, FactKind, Failure, FailureKind, Input, Locator, Part, Segment,
};
pub use mask::{NOT_MASKABLE, mask};

/// The extractor's name, as `describe` reports it with the version.
pub const NAME: &str = "extract";

/// The default bounds (`extract_api::Bounds::DEFAULT`, the host's too) in
/// the contract's type: for tests, fuzzing and the benchmark.
pub fn default_bounds() -> Bounds {
    let extract_api::Bounds {
        max_depth,
        max_entries,
        max_total_bytes,
        max_ratio,
        max_cells,
        max_pages,
        max_text_bytes,
    } = extract_api::Bounds::DEFAULT;
    Bounds { max_depth, max_entries, max_total_bytes, max_ratio, max_cells, max_pages, max_text_bytes }
}

/// Reads one file.
pub fn extract(input: &Input, bounds: &Bounds) -> Result<Extraction, Failure> {
    let mut out = Out::new(bounds);
    let format = read_file(&mut out, &input.name, &input.media_type, &input.bytes, 0)?;
    Ok(Extraction { format: format.to_owned(), segments: out.segments, facts: out.facts })
}

/// What the extraction has produced so far, and what is left of the bounds.
pub(crate) struct Out<'b> {
    pub(crate) bounds: &'b Bounds,
    pub(crate) segments: Vec<Segment>,
    pub(crate) facts: Vec<Fact>,
    text_bytes: u64,
    pub(crate) entries: u32,
    pub(crate) archive_bytes: u64,
    pub(crate) cells: u32,
}

impl<'b> Out<'b> {
    fn new(bounds: &'b Bounds) -> Self {
        Out { bounds, segments: Vec::new(), facts: Vec::new(), text_bytes: 0, entries: 0, archive_bytes: 0, cells: 0 }
    }

    /// Adds a segment; empty (or whitespace-only) text is dropped.
    pub(crate) fn segment(&mut self, locator: Locator, text: String) -> Result<(), Failure> {
        if text.trim().is_empty() {
            return Ok(());
        }
        self.charge(&locator.file, text.len())?;
        self.segments.push(Segment { locator, text });
        Ok(())
    }

    pub(crate) fn fact(&mut self, kind: FactKind, locator: Locator, detail: String) -> Result<(), Failure> {
        self.charge(&locator.file, detail.len() + 64)?;
        self.facts.push(Fact { kind, locator, detail });
        Ok(())
    }

    fn charge(&mut self, file: &str, bytes: usize) -> Result<(), Failure> {
        self.text_bytes += bytes as u64;
        if self.text_bytes > self.bounds.max_text_bytes {
            return Err(limit(file, format!("提取出的文字超过上限 {} MiB", self.bounds.max_text_bytes >> 20)));
        }
        Ok(())
    }

    pub(crate) fn count_cell(&mut self, file: &str) -> Result<(), Failure> {
        self.cells += 1;
        if self.cells > self.bounds.max_cells {
            return Err(limit(file, format!("表格单元格超过上限 {} 个", self.bounds.max_cells)));
        }
        Ok(())
    }
}

/// A locator for `part` of `file`, other fields empty.
pub(crate) fn at(file: &str, part: Part) -> Locator {
    Locator { file: file.to_owned(), part, page: None, sheet: None, cell: None, paragraph: None, detail: None }
}

pub(crate) fn malformed(file: &str, message: impl Into<String>) -> Failure {
    Failure { kind: FailureKind::Malformed, file: file.to_owned(), message: message.into() }
}

pub(crate) fn limit(file: &str, message: impl Into<String>) -> Failure {
    Failure { kind: FailureKind::LimitExceeded, file: file.to_owned(), message: message.into() }
}

/// What a file's bytes are, by content first (a DOCX named `.txt` is still a
/// DOCX), then by name and declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sniffed {
    Zip,
    /// A CFB (OLE2) container: legacy Office (XLS, DOC, PPT) or an
    /// encrypted OOXML package.
    Cfb,
    Pdf,
    Html,
    Csv,
    Text,
    Other(&'static str),
}

fn extension(name: &str) -> String {
    name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default()
}

fn sniff(name: &str, media_type: &str, bytes: &[u8]) -> Sniffed {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"\x89PNG", "PNG 图片"),
        (b"\xFF\xD8\xFF", "JPEG 图片"),
        (b"GIF8", "GIF 图片"),
        (b"Rar!", "RAR 压缩包"),
        (b"7z\xBC\xAF", "7z 压缩包"),
        (b"\x1F\x8B", "gzip 压缩文件"),
        (b"II*\0", "TIFF 图片"),
        (b"MM\0*", "TIFF 图片"),
    ];
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return Sniffed::Zip;
    }
    if bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return Sniffed::Cfb;
    }
    // A PDF may have bytes before its header (readers accept them within
    // the first 1024 bytes) when it says it is one.
    let says_pdf = extension(name) == "pdf" || media_type.eq_ignore_ascii_case("application/pdf");
    if bytes.starts_with(b"%PDF-") || (says_pdf && bytes[..bytes.len().min(1024)].windows(5).any(|w| w == b"%PDF-")) {
        return Sniffed::Pdf;
    }
    for (magic, what) in MAGIC {
        if bytes.starts_with(magic) {
            return Sniffed::Other(what);
        }
    }
    let ext = extension(name);
    let mt = media_type.to_ascii_lowercase();
    if matches!(ext.as_str(), "html" | "htm" | "xhtml") || mt.starts_with("text/html") || mt.contains("xhtml") {
        return Sniffed::Html;
    }
    if ext == "csv" || mt.starts_with("text/csv") {
        return Sniffed::Csv;
    }
    if bytes.contains(&0) && !bytes.starts_with(b"\xFF\xFE") && !bytes.starts_with(b"\xFE\xFF") {
        return Sniffed::Other("二进制文件");
    }
    Sniffed::Text
}

/// Reads one file (at archive depth `depth`) into `out`; returns the format.
pub(crate) fn read_file(
    out: &mut Out<'_>,
    path: &str,
    media_type: &str,
    bytes: &[u8],
    depth: u32,
) -> Result<&'static str, Failure> {
    match sniff(path, media_type, bytes) {
        Sniffed::Zip => {
            let ofd = extension(path) == "ofd" || media_type.eq_ignore_ascii_case("application/ofd");
            archive::read_zip(out, path, bytes, depth, ofd)
        }
        Sniffed::Cfb => read_cfb(out, path, bytes),
        Sniffed::Pdf => {
            pdf::read(out, path, bytes, depth)?;
            Ok("pdf")
        }
        Sniffed::Html => {
            let s = text::decode(path, bytes)?;
            html::read(out, path, &s)?;
            Ok("html")
        }
        Sniffed::Csv => {
            let s = text::decode(path, bytes)?;
            text::read_csv(out, path, &s)?;
            Ok("csv")
        }
        Sniffed::Text => {
            let s = text::decode(path, bytes)?;
            text::read_lines(out, path, &s)?;
            Ok("txt")
        }
        Sniffed::Other(what) => {
            out.fact(FactKind::NotExtracted, at(path, Part::Body), format!("{what}：未能提取文字"))?;
            Ok("unsupported")
        }
    }
}

/// A CFB container: an XLS is read, an encrypted OOXML package (its
/// `EncryptedPackage` stream) is `encrypted`, anything else (DOC, PPT) is a
/// `not-extracted` fact; a container that does not parse is malformed.
/// The little-endian `u16` at `i`, if the bytes are there.
pub(crate) fn u16_at(d: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*d.get(i)?, *d.get(i.checked_add(1)?)?]))
}

/// The little-endian `u32` at `i`, if the bytes are there.
pub(crate) fn u32_at(d: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(i..i.checked_add(4)?)?.try_into().ok()?))
}

/// The stream `name` of a CFB container, charged to the total-bytes bound
/// before it is read; `what` names the file kind in the messages.
pub(crate) fn cfb_stream(
    out: &mut Out<'_>,
    file: &str,
    comp: &mut cfb::CompoundFile<std::io::Cursor<&[u8]>>,
    name: &str,
    what: &str,
) -> Result<Vec<u8>, Failure> {
    use std::io::Read as _;
    let unreadable = |e: std::io::Error| malformed(file, format!("{what}的 {name} 流无法读取：{e}"));
    let mut stream = comp.open_stream(name).map_err(unreadable)?;
    out.archive_bytes += stream.len();
    if out.archive_bytes > out.bounds.max_total_bytes {
        return Err(limit(file, format!("{what}超过上限 {} MiB", out.bounds.max_total_bytes >> 20)));
    }
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).map_err(unreadable)?;
    Ok(bytes)
}

fn read_cfb(out: &mut Out<'_>, path: &str, bytes: &[u8]) -> Result<&'static str, Failure> {
    let mut comp = cfb::CompoundFile::open(std::io::Cursor::new(bytes))
        .map_err(|e| malformed(path, format!("旧版 Office 文件（CFB 容器）无法解析：{e}")))?;
    if comp.is_stream("/EncryptedPackage") {
        return Err(Failure {
            kind: FailureKind::Encrypted,
            file: path.to_owned(),
            message: "Office 文档已加密（设置了打开密码），无法读取".into(),
        });
    }
    if let Some(stream) = xls::workbook_stream(out, path, &mut comp)? {
        xls::read(out, path, bytes, &stream)?;
        return Ok("xls");
    }
    if comp.is_stream("/WordDocument") {
        return doc::read(out, path, &mut comp);
    }
    let what = if comp.is_stream("/PowerPoint Document") {
        "旧版 PowerPoint 演示文稿（PPT）"
    } else {
        "旧版 Office 文件（CFB 容器）"
    };
    out.fact(FactKind::NotExtracted, at(path, Part::Body), format!("{what}：未能提取文字"))?;
    Ok("unsupported")
}

struct Component;

impl bindings::Guest for Component {
    fn describe() -> String {
        format!("{NAME}@{}", env!("CARGO_PKG_VERSION"))
    }

    fn extract(file: Input, bounds: Bounds) -> Result<Extraction, Failure> {
        extract(&file, &bounds)
    }

    fn mask(file: Input, edits: Vec<Edit>, bounds: Bounds) -> Result<Vec<u8>, Failure> {
        mask(&file, &edits, &bounds)
    }
}

bindings::export!(Component with_types_in bindings);

#[cfg(test)]
mod pdf_tests;
#[cfg(test)]
mod tests;
