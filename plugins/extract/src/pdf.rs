//! PDF: the text of each page with its 1-based page number, and what a
//! reader of the rendered pages would not see.
//!
//! Each page's content stream (and the form XObjects it draws, bounded in
//! depth) is interpreted far enough to know where text lands: the current
//! transformation matrix, the text and line matrices, the font and its size,
//! the render mode and the fill colour. A glyph's advance is estimated (a
//! CJK character one em, others half) — enough to place a line, not to
//! typeset it. Text is decoded through the font's `ToUnicode` CMap first (the
//! Type0/Identity-H fonts of CJK PDFs), else the predefined UCS-2/UTF-16 and
//! GBK CMaps, else the simple font's encoding; text whose font has no usable
//! mapping is never guessed at: its page gets a `not-extracted` fact.
//!
//! Facts:
//! - `covered-text` (failed redaction): text drawn under an opaque
//!   rectangle (`re` then a fill) of any colour painted later on the same
//!   page — a black box or a white "white-out" box — or lying under a
//!   `Redact` annotation that was never applied; the text is also a
//!   `hidden-text` segment, so the plugins review it. Paint order tells a
//!   cover from a table cell's background or a highlight (painted before
//!   their text); a fill is not opaque under a fill alpha (`ca`) below
//!   [`OPAQUE`], a soft mask, a pattern, or a blend mode other than Normal
//!   (Multiply and Darken still hide under a dark fill). Shadings and images
//!   painted over text are not counted;
//! - `hidden-text`: invisible text (render mode 3 or 7) that is not an OCR
//!   layer over a scanned image, and text outside the page's visible box
//!   (CropBox within MediaBox);
//! - `earlier-revision`: the file keeps earlier revisions through
//!   incremental updates; each earlier revision is read too, and its lines
//!   the latest revision no longer has are `deletion` segments;
//! - `embedded-file`: files in the `EmbeddedFiles` name tree and
//!   `FileAttachment` annotations, each then read as a file of its own
//!   (`通知.pdf/名单.xlsx`), within the depth bound;
//! - `document-property`: the Info dictionary and XMP metadata;
//! - `link`: URI actions of link annotations; `comment`: annotation text;
//! - `image-page`: a page with images and no text layer (OCR reads it).
//!
//! Fails closed: an encrypted file is `encrypted`, one that does not parse
//! is `malformed`; pages, decompressed bytes and text are bounded.

use std::collections::{HashMap, HashSet};

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Encoding, LoadOptions, Object, ObjectId};

use crate::docx::clip;
use crate::xml::{Ev, events};
use crate::{FactKind, Failure, FailureKind, Locator, Out, Part, at, limit, malformed, read_file};

/// Form XObjects nested in each other deeper than this are not followed.
const MAX_FORM_DEPTH: u32 = 12;
/// Earlier revisions read for text the latest one dropped.
const MAX_REVISIONS: usize = 8;
/// What one stream decode costs at least, against the decompressed-bytes
/// budget (so a form drawn a million times still runs out).
const STREAM_COST: u64 = 1024;
/// Fill colours at most this light (0 black, 1 white) are dark: they hide
/// what is under them even when multiplied in, and a cover of this colour is
/// a black box.
const DARK: f32 = 0.35;
/// A fill alpha (`ca`) from which a box hides the text under it: at 0.9 the
/// text keeps a tenth of its contrast, which no reader sees; a highlight is
/// far more transparent.
const OPAQUE: f32 = 0.9;

type Matrix = [f32; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

fn mul(m: &Matrix, n: &Matrix) -> Matrix {
    [
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    ]
}

fn apply(m: &Matrix, x: f32, y: f32) -> (f32, f32) {
    (x * m[0] + y * m[2] + m[4], x * m[1] + y * m[3] + m[5])
}

/// An axis-aligned box in device space: x0, y0, x1, y1.
type Rect = [f32; 4];

fn rect_of(nums: &[f32]) -> Option<Rect> {
    let [a, b, c, d] = nums.try_into().ok()?;
    Some([a.min(c), b.min(d), a.max(c), b.max(d)])
}

/// The bounding box of `rect` (user space) under `m`.
fn transform_rect(m: &Matrix, r: &Rect) -> Rect {
    let pts = [apply(m, r[0], r[1]), apply(m, r[2], r[1]), apply(m, r[0], r[3]), apply(m, r[2], r[3])];
    let xs = pts.map(|p| p.0);
    let ys = pts.map(|p| p.1);
    [
        xs.iter().copied().fold(f32::INFINITY, f32::min),
        ys.iter().copied().fold(f32::INFINITY, f32::min),
        xs.iter().copied().fold(f32::NEG_INFINITY, f32::max),
        ys.iter().copied().fold(f32::NEG_INFINITY, f32::max),
    ]
}

fn inside(r: &Rect, (x, y): (f32, f32), slack: f32) -> bool {
    x >= r[0] - slack && x <= r[2] + slack && y >= r[1] - slack && y <= r[3] + slack
}

fn num(o: &Object) -> Option<f32> {
    match o {
        Object::Integer(i) => Some(*i as f32),
        Object::Real(r) => Some(*r),
        _ => None,
    }
}

fn nums(ops: &[Object]) -> Vec<f32> {
    ops.iter().filter_map(num).collect()
}

/// How a font's codes become text.
enum Decoder<'d> {
    /// A ToUnicode CMap or a simple font's encoding.
    Lopdf(Encoding<'d>),
    /// The predefined UCS-2 / UTF-16 CMaps (`UniGB-UCS2-H` …).
    Utf16,
    /// The predefined GBK / GB-EUC CMaps: the codes are GB 18030 bytes.
    Gbk,
    /// No usable mapping (a Type0 font without ToUnicode, an unknown CMap).
    Unusable,
}

impl Decoder<'_> {
    fn decode(&self, bytes: &[u8]) -> Option<String> {
        let s = match self {
            Decoder::Lopdf(e) => e.bytes_to_string(bytes).ok()?,
            Decoder::Utf16 => encoding_rs::UTF_16BE.decode_without_bom_handling(bytes).0.into_owned(),
            Decoder::Gbk => encoding_rs::GB18030.decode_without_bom_handling(bytes).0.into_owned(),
            Decoder::Unusable => return None,
        };
        let bad = s.chars().filter(|c| *c == '\u{FFFD}' || (c.is_control() && !c.is_whitespace())).count();
        let all = s.chars().count();
        (all == 0 || bad * 2 < all).then(|| s.replace('\u{FFFD}', "").chars().filter(|c| !c.is_control()).collect())
    }
}

fn decoder<'d>(doc: &'d Document, font: &'d Dictionary, budget: usize) -> Decoder<'d> {
    let type0 = font.get(b"Subtype").and_then(Object::as_name).is_ok_and(|s| s == b"Type0");
    if font.get_deref(b"ToUnicode", doc).and_then(Object::as_stream).is_ok() {
        // The ToUnicode CMap is what the spec says to extract text with,
        // whatever the encoding: read it with the encoding set aside.
        let mut plain = font.clone();
        plain.remove(b"Encoding");
        if let Ok(Encoding::UnicodeMapEncoding(cmap)) = plain.get_font_encoding_with_limit(doc, budget) {
            return Decoder::Lopdf(Encoding::UnicodeMapEncoding(cmap));
        }
    }
    if type0 {
        return match font.get(b"Encoding").and_then(Object::as_name) {
            Ok(n) if n.starts_with(b"UniGB-UCS2") || n.starts_with(b"UniGB-UTF16") || n.starts_with(b"UniCNS-UCS2") => {
                Decoder::Utf16
            }
            Ok(n) if n.starts_with(b"GBK") || n.starts_with(b"GB-EUC") || n.starts_with(b"GBpc-EUC") => Decoder::Gbk,
            _ => Decoder::Unusable,
        };
    }
    match font.get_font_encoding_with_limit(doc, budget) {
        Ok(Encoding::SimpleEncoding(n)) if n != b"WinAnsiEncoding" => Decoder::Unusable,
        Ok(e) => Decoder::Lopdf(e),
        Err(_) => Decoder::Unusable,
    }
}

/// Why a line is not plain page text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Visible,
    /// Render mode 3 or 7.
    Invisible,
    /// Outside the visible page box.
    Outside,
    /// Under a later opaque rectangle (dark: a black box).
    Covered {
        dark: bool,
    },
    /// Under an unapplied Redact annotation.
    Redacted,
}

/// One text-showing operation, placed.
struct Run {
    text: String,
    seq: u32,
    /// The middle of the run, device space.
    center: (f32, f32),
    /// Baseline start and end, device space.
    start: (f32, f32),
    end: (f32, f32),
    size: f32,
    invisible: bool,
}

/// How a fill is composited (the ExtGState's `BM`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Blend {
    Normal,
    /// Multiply, Darken, ColorBurn: the darker colour wins.
    Darkening,
    Other,
}

#[derive(Clone)]
struct GState {
    ctm: Matrix,
    /// The fill colour's lightness (0 black, 1 white); `None` for a
    /// pattern or a colour not known.
    fill: Option<f32>,
    /// Whether a fill paints opaquely: alpha, soft mask and blend mode
    /// (`Darkening` for Multiply, Darken, ColorBurn: only dark fills hide).
    fill_alpha: f32,
    blend: Blend,
    soft_mask: bool,
    font: Option<usize>,
    size: f32,
    char_spacing: f32,
    word_spacing: f32,
    scale: f32,
    leading: f32,
    rise: f32,
    render: i64,
}

impl GState {
    /// Whether a fill now hides what is under it, and whether it is dark.
    fn cover(&self) -> Option<bool> {
        let light = self.fill?;
        let dark = light <= DARK;
        let hides = self.fill_alpha >= OPAQUE
            && !self.soft_mask
            && match self.blend {
                Blend::Normal => true,
                Blend::Darkening => dark,
                Blend::Other => false,
            };
        hides.then_some(dark)
    }

    /// Applies an ExtGState dictionary's fill alpha, blend mode and soft
    /// mask.
    fn set_ext(&mut self, doc: &Document, ext: &Dictionary) {
        if let Some(ca) = ext.get(b"ca").ok().map(|o| deref(doc, o)).and_then(num) {
            self.fill_alpha = ca;
        }
        if let Ok(bm) = ext.get(b"BM").map(|o| deref(doc, o)) {
            let name = match bm {
                Object::Array(a) => a.first().and_then(|o| o.as_name().ok()),
                o => o.as_name().ok(),
            };
            self.blend = match name {
                Some(b"Normal" | b"Compatible") => Blend::Normal,
                Some(b"Multiply" | b"Darken" | b"ColorBurn") => Blend::Darkening,
                _ => Blend::Other,
            };
        }
        if let Ok(mask) = ext.get(b"SMask").map(|o| deref(doc, o)) {
            self.soft_mask = !matches!(mask, Object::Name(n) if n == b"None");
        }
    }

    fn new(ctm: Matrix) -> Self {
        GState {
            ctm,
            fill: Some(0.0),
            fill_alpha: 1.0,
            blend: Blend::Normal,
            soft_mask: false,
            font: None,
            size: 0.0,
            char_spacing: 0.0,
            word_spacing: 0.0,
            scale: 1.0,
            leading: 0.0,
            rise: 0.0,
            render: 0,
        }
    }
}

/// What interpreting one page found.
#[derive(Default)]
struct Page {
    runs: Vec<Run>,
    /// Opaque rectangles, with their paint order and whether dark.
    covers: Vec<(Rect, u32, bool)>,
    /// Where images were drawn.
    images: Vec<Rect>,
    /// Text shown with a font that has no usable mapping (operations).
    unmapped: u32,
    seq: u32,
}

/// The interpreter's state across one page, its forms and its fonts.
struct Interp<'d, 'o, 'b> {
    doc: &'d Document,
    out: &'o mut Out<'b>,
    file: &'o str,
    fonts: Vec<Decoder<'d>>,
    font_ids: HashMap<ObjectId, usize>,
    page: Page,
}

fn as_dict<'d>(doc: &'d Document, o: &'d Object) -> Option<&'d Dictionary> {
    match o {
        Object::Reference(id) => doc.get_dictionary(*id).ok(),
        Object::Dictionary(d) => Some(d),
        _ => None,
    }
}

fn deref<'d>(doc: &'d Document, o: &'d Object) -> &'d Object {
    doc.dereference(o).map(|(_, o)| o).unwrap_or(o)
}

impl<'d> Interp<'d, '_, '_> {
    /// Charges `bytes` of decompressed data (at least [`STREAM_COST`]) to the
    /// file's budget.
    fn charge(&mut self, bytes: u64) -> Result<(), Failure> {
        self.out.archive_bytes += bytes.max(STREAM_COST);
        if self.out.archive_bytes > self.out.bounds.max_total_bytes {
            return Err(limit(
                self.file,
                format!("PDF 解压后的内容超过上限 {} MiB", self.out.bounds.max_total_bytes >> 20),
            ));
        }
        Ok(())
    }

    fn left(&self) -> usize {
        usize::try_from(self.out.bounds.max_total_bytes.saturating_sub(self.out.archive_bytes)).unwrap_or(usize::MAX)
    }

    fn font(&mut self, resources: Option<&'d Dictionary>, name: &[u8]) -> Option<usize> {
        let doc = self.doc;
        let fonts = resources?.get(b"Font").ok().and_then(|f| as_dict(doc, f))?;
        let entry = fonts.get(name).ok()?;
        let id = entry.as_reference().ok();
        if let Some(i) = id.and_then(|id| self.font_ids.get(&id)) {
            return Some(*i);
        }
        let dict = as_dict(doc, entry)?;
        let dec = decoder(doc, dict, self.left().min(16 << 20));
        self.fonts.push(dec);
        let i = self.fonts.len() - 1;
        if let Some(id) = id {
            self.font_ids.insert(id, i);
        }
        Some(i)
    }

    /// Interprets one content stream with its resources under `ctm`.
    fn run(
        &mut self,
        content: &[u8],
        resources: Option<&'d Dictionary>,
        ctm: Matrix,
        depth: u32,
    ) -> Result<(), Failure> {
        let doc = self.doc;
        let mut gs = GState::new(ctm);
        let mut stack: Vec<GState> = Vec::new();
        let (mut tm, mut tlm) = (IDENTITY, IDENTITY);
        let mut path: Vec<Rect> = Vec::new();
        for op in Content::decode_iter(content) {
            // The rest of a stream that stops parsing is not read; what came
            // before it is.
            let Ok(op) = op else { break };
            let a = &op.operands;
            match op.operator.as_str() {
                "q" if stack.len() < 256 => stack.push(gs.clone()),
                "Q" => {
                    if let Some(s) = stack.pop() {
                        gs = s;
                    }
                }
                "cm" => {
                    if let Ok(m) = <[f32; 6]>::try_from(nums(a).as_slice()) {
                        gs.ctm = mul(&m, &gs.ctm);
                    }
                }
                "BT" => (tm, tlm) = (IDENTITY, IDENTITY),
                "Tf" => {
                    if let (Some(name), Some(size)) = (a.first().and_then(|o| o.as_name().ok()), a.get(1).and_then(num))
                    {
                        gs.font = self.font(resources, name);
                        gs.size = size;
                    }
                }
                "Tc" => gs.char_spacing = a.first().and_then(num).unwrap_or(0.0),
                "Tw" => gs.word_spacing = a.first().and_then(num).unwrap_or(0.0),
                "Tz" => gs.scale = a.first().and_then(num).unwrap_or(100.0) / 100.0,
                "TL" => gs.leading = a.first().and_then(num).unwrap_or(0.0),
                "Ts" => gs.rise = a.first().and_then(num).unwrap_or(0.0),
                "Tr" => gs.render = a.first().and_then(|o| o.as_i64().ok()).unwrap_or(0),
                "Td" | "TD" => {
                    let n = nums(a);
                    if let [tx, ty] = n[..] {
                        if op.operator == "TD" {
                            gs.leading = -ty;
                        }
                        tlm = mul(&[1.0, 0.0, 0.0, 1.0, tx, ty], &tlm);
                        tm = tlm;
                    }
                }
                "Tm" => {
                    if let Ok(m) = <[f32; 6]>::try_from(nums(a).as_slice()) {
                        (tm, tlm) = (m, m);
                    }
                }
                "T*" => {
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -gs.leading], &tlm);
                    tm = tlm;
                }
                "Tj" | "'" | "\"" | "TJ" => {
                    if op.operator == "'" || op.operator == "\"" {
                        if op.operator == "\"" {
                            gs.word_spacing = a.first().and_then(num).unwrap_or(gs.word_spacing);
                            gs.char_spacing = a.get(1).and_then(num).unwrap_or(gs.char_spacing);
                        }
                        tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -gs.leading], &tlm);
                        tm = tlm;
                    }
                    let parts: Vec<&Object> = match (op.operator.as_str(), a.last()) {
                        ("TJ", Some(Object::Array(items))) => items.iter().collect(),
                        (_, Some(s @ Object::String(..))) => vec![s],
                        _ => continue,
                    };
                    self.show(&gs, &mut tm, &parts);
                }
                "g" | "rg" | "k" | "sc" | "scn" => {
                    let n = nums(a);
                    gs.fill = match n[..] {
                        // A pattern (a name operand) is not a plain fill.
                        _ if a.iter().any(|o| o.as_name().is_ok()) => None,
                        [g] => Some(g),
                        [r, g, b] => Some(0.299 * r + 0.587 * g + 0.114 * b),
                        [c, m, y, k] => {
                            let w = 1.0 - k;
                            Some(0.299 * (1.0 - c) * w + 0.587 * (1.0 - m) * w + 0.114 * (1.0 - y) * w)
                        }
                        _ => None,
                    };
                }
                // A colour space starts black, a pattern space with no pattern.
                "cs" => {
                    gs.fill =
                        if a.first().and_then(|o| o.as_name().ok()) == Some(b"Pattern") { None } else { Some(0.0) };
                }
                "gs" => {
                    let ext = a
                        .first()
                        .and_then(|o| o.as_name().ok())
                        .zip(resources.and_then(|r| r.get(b"ExtGState").ok()).and_then(|x| as_dict(doc, x)))
                        .and_then(|(name, all)| all.get(name).ok())
                        .and_then(|e| as_dict(doc, e));
                    if let Some(ext) = ext {
                        gs.set_ext(doc, ext);
                    }
                }
                "re" => {
                    if let [x, y, w, h] = nums(a)[..] {
                        path.push(transform_rect(&gs.ctm, &[x.min(x + w), y.min(y + h), x.max(x + w), y.max(y + h)]));
                    }
                }
                "f" | "F" | "f*" | "B" | "B*" | "b" | "b*" => {
                    let seq = self.next_seq();
                    if let Some(dark) = gs.cover() {
                        self.page.covers.extend(path.drain(..).map(|r| (r, seq, dark)));
                    }
                    path.clear();
                }
                "n" | "S" | "s" => path.clear(),
                "BI" => self.page.images.push(transform_rect(&gs.ctm, &[0.0, 0.0, 1.0, 1.0])),
                "Do" => {
                    let Some(name) = a.first().and_then(|o| o.as_name().ok()) else { continue };
                    let Some(xobjects) = resources.and_then(|r| r.get(b"XObject").ok()).and_then(|x| as_dict(doc, x))
                    else {
                        continue;
                    };
                    let Ok(Object::Stream(stream)) = xobjects.get(name).map(|o| deref(doc, o)) else { continue };
                    match stream.dict.get(b"Subtype").and_then(Object::as_name) {
                        Ok(b"Image") => self.page.images.push(transform_rect(&gs.ctm, &[0.0, 0.0, 1.0, 1.0])),
                        Ok(b"Form") if depth < MAX_FORM_DEPTH => {
                            let data = match stream.decompressed_content_with_limit(self.left()) {
                                Ok(d) => d,
                                Err(lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded {
                                    ..
                                })) => {
                                    return Err(limit(self.file, "PDF 表单对象解压后超过上限"));
                                }
                                Err(_) if !stream.is_compressed() => stream.content.clone(),
                                Err(_) => continue,
                            };
                            self.charge(data.len() as u64)?;
                            let m = stream
                                .dict
                                .get(b"Matrix")
                                .and_then(Object::as_array)
                                .ok()
                                .and_then(|m| <[f32; 6]>::try_from(nums(m).as_slice()).ok())
                                .unwrap_or(IDENTITY);
                            let inner = stream.dict.get(b"Resources").ok().and_then(|r| as_dict(doc, r)).or(resources);
                            self.run(&data, inner, mul(&m, &gs.ctm), depth + 1)?;
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn next_seq(&mut self) -> u32 {
        self.page.seq += 1;
        self.page.seq
    }

    /// A text-showing operation: decodes it, places it, advances `tm`.
    fn show(&mut self, gs: &GState, tm: &mut Matrix, parts: &[&Object]) {
        let seq = self.next_seq();
        let m = mul(tm, &gs.ctm);
        let text_to_device = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, gs.rise], &m);
        let start = apply(&text_to_device, 0.0, 0.0);
        let Some(font) = gs.font else {
            self.page.unmapped += 1;
            return;
        };
        let (mut text, mut adv) = (String::new(), 0.0f32);
        for part in parts {
            match part {
                Object::String(bytes, _) => {
                    let Some(s) = self.fonts[font].decode(bytes) else {
                        self.page.unmapped += 1;
                        return;
                    };
                    for c in s.chars() {
                        let w = if u32::from(c) >= 0x2E80 { 1.0 } else { 0.5 };
                        adv +=
                            (w * gs.size + gs.char_spacing + if c == ' ' { gs.word_spacing } else { 0.0 }) * gs.scale;
                    }
                    text.push_str(&s);
                }
                o => {
                    if let Some(n) = num(o) {
                        adv -= n / 1000.0 * gs.size * gs.scale;
                        if n <= -250.0 && !text.ends_with(' ') && !text.is_empty() {
                            text.push(' ');
                        }
                    }
                }
            }
        }
        let center = apply(&text_to_device, adv / 2.0, gs.size * 0.35);
        let end = apply(&text_to_device, adv, 0.0);
        let size = gs.size * (m[2] * m[2] + m[3] * m[3]).sqrt();
        *tm = mul(&[1.0, 0.0, 0.0, 1.0, adv, 0.0], tm);
        if text.trim().is_empty() {
            return;
        }
        let invisible = gs.render == 3 || gs.render == 7;
        self.page.runs.push(Run { text, seq, center, start, end, size: size.abs().max(1.0), invisible });
    }
}

/// A dictionary entry, looked up through the page tree (inheritable
/// attributes: Resources, MediaBox, CropBox).
fn inherited<'d>(doc: &'d Document, page: &'d Dictionary, key: &[u8]) -> Option<&'d Object> {
    let mut node = page;
    for _ in 0..32 {
        if let Ok(v) = node.get(key) {
            return Some(deref(doc, v));
        }
        node = node.get(b"Parent").ok().and_then(|p| as_dict(doc, p))?;
    }
    None
}

fn box_of(doc: &Document, o: Option<&Object>) -> Option<Rect> {
    let arr = o?.as_array().ok()?;
    let n: Vec<f32> = arr.iter().map(|o| num(deref(doc, o))).collect::<Option<_>>()?;
    rect_of(&n)
}

/// A line of page text: runs on one baseline, of one class.
struct Line {
    class: Class,
    text: String,
}

/// What a page shows and hides.
struct PageText {
    lines: Vec<Line>,
    /// Images drawn and no text at all.
    image_only: bool,
    unmapped: u32,
}

/// Interprets page `id` of `doc`.
fn page_text(doc: &Document, out: &mut Out<'_>, file: &str, id: ObjectId) -> Result<PageText, Failure> {
    let dict = doc.get_dictionary(id).map_err(|e| malformed(file, format!("PDF 页面对象无法读取：{e}")))?;
    let left = usize::try_from(out.bounds.max_total_bytes.saturating_sub(out.archive_bytes)).unwrap_or(usize::MAX);
    let content = match doc.get_page_content_with_limit(id, left) {
        Ok(c) => c,
        Err(_) => {
            return Err(limit(file, format!("PDF 页面内容解压后超过上限 {} MiB", out.bounds.max_total_bytes >> 20)));
        }
    };
    let resources = inherited(doc, dict, b"Resources").and_then(|r| r.as_dict().ok());
    let media = box_of(doc, inherited(doc, dict, b"MediaBox")).unwrap_or([0.0, 0.0, 612.0, 792.0]);
    let visible = match box_of(doc, inherited(doc, dict, b"CropBox")) {
        Some(c) => [c[0].max(media[0]), c[1].max(media[1]), c[2].min(media[2]), c[3].min(media[3])],
        None => media,
    };
    let mut it = Interp { doc, out, file, fonts: Vec::new(), font_ids: HashMap::new(), page: Page::default() };
    it.charge(content.len() as u64)?;
    it.run(&content, resources, IDENTITY, 0)?;
    let page = it.page;
    // Unapplied Redact annotations: their areas, in default user space.
    let redactions: Vec<Rect> = doc
        .get_page_annotations(id)
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a.get(b"Subtype").and_then(Object::as_name).is_ok_and(|s| s == b"Redact"))
        .filter_map(|a| box_of(doc, a.get(b"Rect").ok()))
        .collect();
    let mut lines: Vec<Line> = Vec::new();
    let mut last: Option<(Class, (f32, f32), f32)> = None;
    for run in &page.runs {
        let class = if run.invisible && !page.images.iter().any(|r| inside(r, run.center, 2.0)) {
            Class::Invisible
        } else if !inside(&visible, run.center, 1.0) {
            Class::Outside
        } else if let Some(&(_, _, dark)) =
            page.covers.iter().find(|(r, seq, _)| *seq > run.seq && inside(r, run.center, 0.0))
        {
            Class::Covered { dark }
        } else if redactions.iter().any(|r| inside(r, run.center, 0.0)) {
            Class::Redacted
        } else {
            Class::Visible
        };
        let same_line = last.is_some_and(|(c, end, size)| {
            c == class && (run.start.1 - end.1).abs() <= size * 0.5 && run.start.0 >= end.0 - size * 2.0
        });
        match lines.last_mut() {
            Some(line) if same_line => {
                let gap = last.map_or(0.0, |(_, end, _)| run.start.0 - end.0);
                if gap > run.size * 0.3 && !line.text.ends_with(' ') && !run.text.starts_with(' ') {
                    line.text.push(' ');
                }
                line.text.push_str(&run.text);
            }
            _ => lines.push(Line { class, text: run.text.clone() }),
        }
        last = Some((class, run.end, run.size));
    }
    Ok(PageText {
        lines,
        image_only: page.runs.is_empty() && page.unmapped == 0 && !page.images.is_empty(),
        unmapped: page.unmapped,
    })
}

fn load(file: &str, bytes: &[u8], budget: u64) -> Result<Document, Failure> {
    let options = LoadOptions {
        max_decompressed_size: Some(usize::try_from(budget).unwrap_or(usize::MAX)),
        ..LoadOptions::default()
    };
    let encrypted =
        || Failure {
            kind: FailureKind::Encrypted, file: file.to_owned(), message: "PDF 文件已加密，无法读取".into()
        };
    match Document::load_mem_with_options(bytes, options) {
        Ok(doc) if doc.was_encrypted() || doc.is_encrypted() => Err(encrypted()),
        Ok(doc) => Ok(doc),
        Err(lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. })) => {
            Err(limit(file, "PDF 的对象流解压后超过上限"))
        }
        Err(_) if bytes.windows(8).any(|w| w == b"/Encrypt") => Err(encrypted()),
        Err(e) => Err(malformed(file, format!("PDF 文件无法解析：{e}"))),
    }
}

fn page_loc(file: &str, part: Part, page: u32) -> Locator {
    let mut loc = at(file, part);
    loc.page = Some(page);
    loc
}

/// Reads a PDF.
pub(crate) fn read(out: &mut Out<'_>, file: &str, bytes: &[u8], depth: u32) -> Result<(), Failure> {
    let doc = load(file, bytes, out.bounds.max_total_bytes.saturating_sub(out.archive_bytes))?;
    let pages = doc.get_pages();
    if pages.len() as u64 > u64::from(out.bounds.max_pages) {
        return Err(limit(file, format!("PDF 有 {} 页，超过上限 {} 页", pages.len(), out.bounds.max_pages)));
    }
    if pages.is_empty() {
        return Err(malformed(file, "PDF 文件中没有页面"));
    }
    let mut latest: HashSet<String> = HashSet::new();
    for (&n, &id) in &pages {
        let text = page_text(&doc, out, file, id)?;
        let mut paragraph = 0;
        for line in text.lines {
            latest.insert(squash(&line.text));
            let (part, kind, what) = match line.class {
                Class::Visible => (Part::Body, None, ""),
                Class::Invisible => (Part::HiddenText, Some(FactKind::HiddenText), "隐形文字（渲染模式 3）"),
                Class::Outside => (Part::HiddenText, Some(FactKind::HiddenText), "页面可见区域之外的文字"),
                Class::Covered { dark: true } => {
                    (Part::HiddenText, Some(FactKind::CoveredText), "被黑框遮盖但仍可提取的文字")
                }
                Class::Covered { dark: false } => {
                    (Part::HiddenText, Some(FactKind::CoveredText), "被不透明色块（如白框）遮盖但仍可提取的文字")
                }
                Class::Redacted => (Part::HiddenText, Some(FactKind::CoveredText), "涂黑注释下仍可提取的文字"),
            };
            let mut loc = page_loc(file, part, n);
            if let Some(kind) = kind {
                loc.detail = Some(what.to_owned());
                let detail = if kind == FactKind::CoveredText {
                    clip(&line.text)
                } else {
                    format!("{what}：{}", clip(&line.text))
                };
                out.fact(kind, loc.clone(), detail)?;
            } else {
                paragraph += 1;
                loc.paragraph = Some(paragraph);
            }
            out.segment(loc, line.text)?;
        }
        if text.unmapped > 0 {
            out.fact(
                FactKind::NotExtracted,
                page_loc(file, Part::Body, n),
                format!("第 {n} 页的部分文字所用字体没有可用的 Unicode 映射（ToUnicode），未能提取"),
            )?;
        } else if text.image_only {
            out.fact(
                FactKind::ImagePage,
                page_loc(file, Part::Body, n),
                format!("第 {n} 页只有图片、没有文字层（扫描页），需识别（OCR）后才能审查"),
            )?;
        }
        annotations(out, &doc, file, n, id, depth)?;
    }
    properties(out, &doc, file)?;
    embedded_files(out, &doc, file, depth)?;
    revisions(out, &doc, file, bytes, &latest)?;
    Ok(())
}

/// Text compared across revisions: without spaces.
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn text_of(doc: &Document, o: &Object) -> Option<String> {
    lopdf::decode_text_string(deref(doc, o)).ok().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// A page's annotations: links, comments, attached files.
fn annotations(out: &mut Out<'_>, doc: &Document, file: &str, n: u32, id: ObjectId, depth: u32) -> Result<(), Failure> {
    for annot in doc.get_page_annotations(id).unwrap_or_default() {
        let subtype = annot.get(b"Subtype").and_then(Object::as_name).unwrap_or_default();
        match subtype {
            b"Link" => {
                let action = annot.get(b"A").ok().and_then(|a| as_dict(doc, a));
                let uri = action
                    .filter(|a| a.get(b"S").and_then(Object::as_name).is_ok_and(|s| s == b"URI"))
                    .and_then(|a| a.get(b"URI").ok())
                    .and_then(|u| deref(doc, u).as_str().ok())
                    .map(|u| String::from_utf8_lossy(u).trim().to_owned());
                if let Some(uri) = uri.filter(|u| !u.is_empty()) {
                    let mut loc = page_loc(file, Part::Link, n);
                    loc.detail = Some(uri.clone());
                    out.fact(FactKind::Link, loc, uri)?;
                }
            }
            b"FileAttachment" => {
                if let Some(fs) = annot.get(b"FS").ok().and_then(|f| as_dict(doc, f)) {
                    embedded(out, doc, file, fs, Some(n), depth)?;
                }
            }
            b"Popup" => {}
            other => {
                if let Some(text) = annot.get(b"Contents").ok().and_then(|c| text_of(doc, c)) {
                    let kind = String::from_utf8_lossy(other).into_owned();
                    let mut loc = page_loc(file, Part::Comment, n);
                    loc.detail = Some(match annot.get(b"T").ok().and_then(|t| text_of(doc, t)) {
                        Some(author) => format!("{kind}，{author}"),
                        None => kind.clone(),
                    });
                    out.fact(FactKind::Comment, loc.clone(), format!("{kind} 注释：{}", clip(&text)))?;
                    out.segment(loc, text)?;
                }
            }
        }
    }
    Ok(())
}

/// One embedded file (a file specification with an `EF` stream): a fact,
/// then read as a file of its own.
fn embedded(
    out: &mut Out<'_>,
    doc: &Document,
    file: &str,
    spec: &Dictionary,
    page: Option<u32>,
    depth: u32,
) -> Result<(), Failure> {
    let name = [b"UF".as_slice(), b"F", b"Desc"]
        .iter()
        .find_map(|k| spec.get(k).ok().and_then(|v| text_of(doc, v)))
        .unwrap_or_else(|| "未命名附件".into());
    let name = name.replace(['/', '\\'], "_");
    let mut loc = at(file, Part::Body);
    loc.page = page;
    loc.detail = Some(name.clone());
    out.fact(FactKind::EmbeddedFile, loc, format!("PDF 内嵌文件 {name}"))?;
    out.entries += 1;
    if out.entries > out.bounds.max_entries {
        return Err(limit(file, format!("内嵌文件总数超过上限 {} 个", out.bounds.max_entries)));
    }
    if depth >= out.bounds.max_depth {
        return Err(limit(file, format!("内嵌附件嵌套超过 {} 层", out.bounds.max_depth)));
    }
    let stream = spec
        .get(b"EF")
        .ok()
        .and_then(|ef| as_dict(doc, ef))
        .and_then(|ef| ef.get(b"UF").or_else(|_| ef.get(b"F")).ok())
        .and_then(|s| deref(doc, s).as_stream().ok());
    let Some(stream) = stream else {
        return Err(malformed(file, format!("PDF 内嵌文件 {name} 缺少内容")));
    };
    let left = out.bounds.max_total_bytes.saturating_sub(out.archive_bytes);
    let data = match stream.decompressed_content_with_limit(usize::try_from(left).unwrap_or(usize::MAX)) {
        Ok(d) => d,
        Err(_) if !stream.is_compressed() => stream.content.clone(),
        Err(lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. })) => {
            return Err(limit(
                file,
                format!("PDF 内嵌文件 {name} 解压后超过上限 {} MiB", out.bounds.max_total_bytes >> 20),
            ));
        }
        Err(e) => return Err(malformed(file, format!("PDF 内嵌文件 {name} 无法解压：{e}"))),
    };
    out.archive_bytes += data.len() as u64;
    let media = stream
        .dict
        .get(b"Subtype")
        .and_then(Object::as_name)
        .map(|s| String::from_utf8_lossy(s).replace("#2F", "/"))
        .unwrap_or_default();
    read_file(out, &format!("{file}/{name}"), &media, &data, depth + 1)?;
    Ok(())
}

/// The `EmbeddedFiles` name tree of the catalog.
fn embedded_files(out: &mut Out<'_>, doc: &Document, file: &str, depth: u32) -> Result<(), Failure> {
    let Some(root) = doc
        .catalog()
        .ok()
        .and_then(|c| c.get(b"Names").ok())
        .and_then(|n| as_dict(doc, n))
        .and_then(|n| n.get(b"EmbeddedFiles").ok())
        .and_then(|e| as_dict(doc, e))
    else {
        return Ok(());
    };
    let mut todo = vec![(root, 0u32)];
    let mut seen = HashSet::new();
    while let Some((node, level)) = todo.pop() {
        if level > 32 || !seen.insert(node as *const Dictionary) {
            continue;
        }
        if let Ok(kids) = node.get(b"Kids").and_then(Object::as_array) {
            todo.extend(kids.iter().filter_map(|k| as_dict(doc, k)).map(|k| (k, level + 1)));
        }
        if let Ok(names) = node.get(b"Names").map(|n| deref(doc, n)).and_then(Object::as_array) {
            for spec in names.iter().skip(1).step_by(2).filter_map(|s| as_dict(doc, s)) {
                embedded(out, doc, file, spec, None, depth)?;
            }
        }
    }
    Ok(())
}

/// Info keys that are bookkeeping, not telling.
const QUIET: &[&str] = &["CreationDate", "ModDate", "Trapped"];
/// XMP elements and attributes worth showing (local names).
const XMP: &[&str] = &[
    "creator",
    "title",
    "description",
    "subject",
    "rights",
    "CreatorTool",
    "Producer",
    "Keywords",
    "Author",
    "Company",
    "Manager",
    "LastModifiedBy",
];

/// The Info dictionary and the XMP metadata, as properties.
fn properties(out: &mut Out<'_>, doc: &Document, file: &str) -> Result<(), Failure> {
    let mut found: Vec<(String, String)> = Vec::new();
    if let Some(info) = doc.trailer.get(b"Info").ok().and_then(|i| as_dict(doc, i)) {
        for (key, value) in info.iter() {
            let key = String::from_utf8_lossy(key).into_owned();
            if let Some(value) = text_of(doc, value).filter(|_| !QUIET.contains(&key.as_str())) {
                found.push((key, value));
            }
        }
    }
    let xmp = doc
        .catalog()
        .ok()
        .and_then(|c| c.get(b"Metadata").ok())
        .and_then(|m| deref(doc, m).as_stream().ok())
        .and_then(|s| {
            s.decompressed_content_with_limit(1 << 20).ok().or_else(|| (!s.is_compressed()).then(|| s.content.clone()))
        });
    if let Some(xml) = xmp {
        let mut stack: Vec<String> = Vec::new();
        let mut xmp_found = Vec::new();
        // Bad XMP is not a reason to refuse the file: its Info was read.
        let _ = events(file, "XMP", &xml, |ev| {
            match ev {
                Ev::Start(name, attrs) => {
                    for key in XMP {
                        if let Some(v) = attrs.get(key).filter(|v| !v.trim().is_empty()) {
                            xmp_found.push(((*key).to_owned(), v.trim().to_owned()));
                        }
                    }
                    stack.push(name.to_owned());
                }
                Ev::End(_) => drop(stack.pop()),
                Ev::Text(t) if !t.trim().is_empty() => {
                    if let Some(key) = stack.iter().rev().find(|n| XMP.contains(&n.as_str())) {
                        xmp_found.push((key.clone(), t.trim().to_owned()));
                    }
                }
                Ev::Text(_) => {}
            }
            Ok(())
        });
        for (key, value) in xmp_found {
            if !found.iter().any(|(_, v)| *v == value) {
                found.push((format!("XMP {key}"), value));
            }
        }
    }
    for (name, value) in found {
        let mut loc = at(file, Part::Property);
        loc.detail = Some(name.clone());
        out.fact(FactKind::DocumentProperty, loc.clone(), format!("{name}：{}", clip(&value)))?;
        out.segment(loc, value)?;
    }
    Ok(())
}

/// Earlier revisions kept by incremental updates: a fact, and the lines of
/// each earlier revision the latest one no longer shows, as deletions.
fn revisions(
    out: &mut Out<'_>,
    doc: &Document,
    file: &str,
    bytes: &[u8],
    latest: &HashSet<String>,
) -> Result<(), Failure> {
    let count = doc.revision_count();
    if count < 2 {
        return Ok(());
    }
    // Each earlier revision is the file up to one of its `%%EOF` markers.
    let ends: Vec<usize> = bytes.windows(5).enumerate().filter(|(_, w)| *w == b"%%EOF").map(|(i, _)| i + 5).collect();
    let mut removed: Vec<(usize, u32, String)> = Vec::new();
    for (k, &end) in ends.iter().take(ends.len().saturating_sub(1)).take(MAX_REVISIONS).enumerate() {
        let Ok(old) = load(file, &bytes[..end], out.bounds.max_total_bytes.saturating_sub(out.archive_bytes)) else {
            continue;
        };
        let pages = old.get_pages();
        if pages.len() as u64 > u64::from(out.bounds.max_pages) {
            continue;
        }
        for (&n, &id) in &pages {
            let Ok(text) = page_text(&old, out, file, id) else { continue };
            for line in text.lines {
                let key = squash(&line.text);
                if !latest.contains(&key) && !removed.iter().any(|(_, _, t)| squash(t) == key) {
                    removed.push((k + 1, n, line.text));
                }
            }
        }
    }
    let mut loc = at(file, Part::Body);
    loc.detail = Some(format!("共 {count} 个版本"));
    let summary = match removed.first() {
        Some((_, _, t)) => format!(
            "文件经增量修改保留了 {} 个早期版本；早期版本中有 {} 行文字在最终版本中已删除或替换，如“{}”",
            count - 1,
            removed.len(),
            clip(t)
        ),
        None => format!("文件经增量修改保留了 {} 个早期版本（可从文件中恢复）", count - 1),
    };
    out.fact(FactKind::EarlierRevision, loc, summary)?;
    for (k, n, text) in removed {
        let mut loc = page_loc(file, Part::Deletion, n);
        loc.detail = Some(format!("第 {k} 版"));
        out.segment(loc, text)?;
    }
    Ok(())
}
