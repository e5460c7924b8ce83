//! The sealed reply as a letter (政府信息公开申请答复书): what it says, as
//! plain text for an e-mail and as a PDF to print, keep or attach. Pure: no
//! IO, nothing of the crate; `service::applications` fills it in from the
//! register and the sealed version, the page and the mailer show it.
//!
//! The PDF names the standard CJK font `STSong-Light` with the `UniGB-UCS2-H`
//! CMap (Adobe-GB1) instead of embedding one: every conforming reader
//! supplies it (Adobe Reader, pdf.js, Poppler with poppler-data), and the
//! letter stays a few kilobytes instead of carrying megabytes of font. A
//! `ToUnicode` map makes its text searchable and copyable, and lets a
//! reader that lacks the font still extract it. Layout is A4 with 2.54 cm
//! margins, lines broken by width with closing punctuation kept off a
//! line's start (避头), paragraphs indented by two characters. Output is
//! deterministic: no creation time, so the same letter gives the same bytes.

use lopdf::content::{Content, Operation};
use lopdf::{Dictionary, Document, Object, Stream, StringFormat, dictionary};

/// What the letter says. The applicant is named from the register; the
/// sealed text names them by register number only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Letter {
    /// The register number (登记号).
    pub number: String,
    pub addressee: String,
    pub address: Option<String>,
    pub title: String,
    /// The sealed reply's paragraphs after its salutation.
    pub paragraphs: Vec<String>,
    pub serial: String,
    pub digest: String,
    /// Where anyone checks the seal.
    pub verify_url: String,
    /// The date of service in Chinese, once recorded.
    pub served_on: Option<String>,
}

/// Seal lines: the stamp's place, the serial, the content digest.
const SEAL_MARK: &str = "（信息公开专用章）";

impl Letter {
    /// The letter as plain text (an e-mail body): the same words as the
    /// printed letter, paragraphs separated by blank lines.
    pub fn plain_text(&self) -> String {
        let mut out = format!("{}\n\n登记号：{}\n\n{}：\n\n", self.title, self.number, self.addressee);
        for p in &self.paragraphs {
            out.push_str("    ");
            out.push_str(p);
            out.push_str("\n\n");
        }
        out.push_str(&format!(
            "{SEAL_MARK}\n专用章编号：{}\n内容摘要：{}\n核验：{}\n",
            self.serial, self.digest, self.verify_url
        ));
        if let Some(on) = &self.served_on {
            out.push_str(&format!("送达日期：{on}\n"));
        }
        out
    }

    /// The letter as a PDF (A4, one or more pages).
    pub fn pdf(&self) -> Vec<u8> {
        let mut page = Layout::new();
        page.block(&self.title, TITLE_SIZE, Align::Center, 0);
        page.gap(0.6);
        page.block(&format!("登记号：{}", self.number), SMALL_SIZE, Align::Right, 0);
        page.gap(0.6);
        page.block(&format!("{}：", self.addressee), BODY_SIZE, Align::Left, 0);
        for p in &self.paragraphs {
            page.block(p, BODY_SIZE, Align::Left, 2);
        }
        page.gap(1.5);
        page.block(SEAL_MARK, BODY_SIZE, Align::Right, 0);
        page.block(&format!("专用章编号：{}", self.serial), SMALL_SIZE, Align::Right, 0);
        page.gap(0.8);
        page.block(&format!("内容摘要：{}", self.digest), TINY_SIZE, Align::Left, 0);
        page.block(&format!("核验：{}", self.verify_url), TINY_SIZE, Align::Left, 0);
        if let Some(on) = &self.served_on {
            page.block(&format!("送达日期：{on}"), SMALL_SIZE, Align::Left, 0);
        }
        if let Some(address) = self.address.as_deref().filter(|a| !a.trim().is_empty()) {
            page.block(&format!("送达地址：{address}"), SMALL_SIZE, Align::Left, 0);
        }
        page.into_pdf(&self.title)
    }
}

/// A4 in points, and the margins (2.54 cm).
const PAGE_WIDTH: f32 = 595.28;
const PAGE_HEIGHT: f32 = 841.89;
const MARGIN: f32 = 72.0;
const TITLE_SIZE: f32 = 18.0;
const BODY_SIZE: f32 = 14.0;
const SMALL_SIZE: f32 = 12.0;
const TINY_SIZE: f32 = 9.0;
/// Line height as a multiple of the font size.
const LEADING: f32 = 1.7;

/// Characters that may not begin a line (避头): they stay on the line
/// before, past the margin if need be.
const NO_LINE_START: &str = "，。、；：？！）》」』】〕”’…—,.;:?!)]}%";

#[derive(Clone, Copy)]
enum Align {
    Left,
    Center,
    Right,
}

/// A glyph's advance in em: the font's proportional Latin (CIDs 1–95) and
/// half-width forms are given 500/1000 in its widths, everything else is
/// a full em.
fn advance(c: char) -> f32 {
    if c.is_ascii() || ('\u{FF61}'..='\u{FF9F}').contains(&c) { 0.5 } else { 1.0 }
}

/// One placed line of text.
struct Line {
    x: f32,
    y: f32,
    size: f32,
    text: String,
}

/// Text placed on pages, top to bottom.
struct Layout {
    pages: Vec<Vec<Line>>,
    /// Baseline of the next line on the last page.
    y: f32,
}

impl Layout {
    fn new() -> Layout {
        Layout { pages: vec![Vec::new()], y: PAGE_HEIGHT - MARGIN }
    }

    /// Vertical space of `lines` body lines.
    fn gap(&mut self, lines: f32) {
        self.y -= lines * BODY_SIZE;
    }

    /// A paragraph: its lines broken to the text width, the first indented
    /// by `indent` characters.
    fn block(&mut self, text: &str, size: f32, align: Align, indent: usize) {
        let width = PAGE_WIDTH - 2.0 * MARGIN;
        for (i, line) in wrap(text, width / size, indent as f32).into_iter().enumerate() {
            self.y -= size * LEADING;
            if self.y < MARGIN {
                self.pages.push(Vec::new());
                self.y = PAGE_HEIGHT - MARGIN - size * LEADING;
            }
            let used: f32 = line.chars().map(advance).sum::<f32>() * size;
            let lead = if i == 0 { indent as f32 * size } else { 0.0 };
            let x = match align {
                Align::Left => MARGIN + lead,
                Align::Center => MARGIN + ((width - used) / 2.0).max(0.0),
                Align::Right => MARGIN + (width - used).max(0.0),
            };
            let page = self.pages.last_mut().expect("a page");
            page.push(Line { x, y: self.y, size, text: line });
        }
    }

    fn into_pdf(self, title: &str) -> Vec<u8> {
        let mut doc = Document::with_version("1.7");
        let pages_id = doc.new_object_id();
        let font = font(&mut doc, &self.pages);
        let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
        let mut kids = Vec::new();
        for lines in &self.pages {
            let mut ops = Vec::new();
            for line in lines {
                ops.push(Operation::new("BT", vec![]));
                ops.push(Operation::new("Tf", vec!["F1".into(), line.size.into()]));
                ops.push(Operation::new("Td", vec![line.x.into(), line.y.into()]));
                ops.push(Operation::new("Tj", vec![Object::String(ucs2(&line.text), StringFormat::Hexadecimal)]));
                ops.push(Operation::new("ET", vec![]));
            }
            let content = Content { operations: ops }.encode().expect("content encodes");
            let mut stream = Stream::new(Dictionary::new(), content);
            let _ = stream.compress();
            let contents = doc.add_object(stream);
            kids.push(Object::Reference(doc.add_object(dictionary! {
                "Type" => "Page",
                "Parent" => pages_id,
                "Contents" => contents,
            })));
        }
        let count = kids.len() as i64;
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages",
                "Kids" => kids,
                "Count" => count,
                "Resources" => resources,
                "MediaBox" => vec![0.into(), 0.into(), PAGE_WIDTH.into(), PAGE_HEIGHT.into()],
            }),
        );
        let catalog =
            doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id, "Lang" => text_string("zh-CN") });
        let info = doc.add_object(dictionary! {
            "Title" => text_string(title),
            "Producer" => text_string("gov-disclosure gateway"),
        });
        doc.trailer.set("Root", catalog);
        doc.trailer.set("Info", info);
        let mut out = Vec::new();
        doc.save_to(&mut out).expect("writing to memory does not fail");
        out
    }
}

/// Breaks `text` into lines of at most `width` em (the first line `indent`
/// em shorter); a character that may not begin a line stays on the line
/// before. Line breaks in `text` are kept.
fn wrap(text: &str, width: f32, indent: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for (n, source) in text.lines().enumerate() {
        let mut line = String::new();
        let mut used = if n == 0 { indent } else { 0.0 };
        for c in source.chars().filter(|c| !c.is_control()) {
            let a = advance(c);
            if used + a > width && !line.is_empty() && !NO_LINE_START.contains(c) {
                lines.push(std::mem::take(&mut line));
                used = 0.0;
            }
            line.push(c);
            used += a;
        }
        lines.push(line);
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

/// `text` as UCS-2 big-endian codes, the `UniGB-UCS2-H` encoding; a
/// character beyond the Basic Multilingual Plane (no UCS-2 code) becomes
/// U+3013 〓, the customary mark for a character the font lacks.
fn ucs2(text: &str) -> Vec<u8> {
    text.chars()
        .flat_map(|c| {
            let c = if (c as u32) > 0xFFFF { '〓' } else { c };
            (c as u32 as u16).to_be_bytes()
        })
        .collect()
}

/// A PDF text string: UTF-16BE with its byte order mark.
fn text_string(text: &str) -> Object {
    let mut bytes = vec![0xFE, 0xFF];
    for unit in text.encode_utf16() {
        bytes.extend(unit.to_be_bytes());
    }
    Object::String(bytes, StringFormat::Hexadecimal)
}

/// The Type0 font: STSong-Light through UniGB-UCS2-H, not embedded, with
/// a ToUnicode map for the code ranges the letter uses.
fn font(doc: &mut Document, pages: &[Vec<Line>]) -> lopdf::ObjectId {
    let descriptor = doc.add_object(dictionary! {
        "Type" => "FontDescriptor",
        "FontName" => "STSong-Light",
        "Flags" => 6,
        "FontBBox" => vec![(-25).into(), (-254).into(), 1000.into(), 880.into()],
        "ItalicAngle" => 0,
        "Ascent" => 880,
        "Descent" => -120,
        "CapHeight" => 880,
        "StemV" => 93,
    });
    let cid_font = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "CIDFontType0",
        "BaseFont" => "STSong-Light",
        "CIDSystemInfo" => dictionary! {
            "Registry" => Object::string_literal("Adobe"),
            "Ordering" => Object::string_literal("GB1"),
            "Supplement" => 2,
        },
        "FontDescriptor" => descriptor,
        "DW" => 1000,
        // proportional Latin (1–95) and half-width forms (814–939): 500
        "W" => vec![1.into(), 95.into(), 500.into(), 814.into(), 939.into(), 500.into()],
    });
    let mut high: Vec<u8> =
        pages.iter().flatten().flat_map(|l| ucs2(&l.text).chunks(2).map(|c| c[0]).collect::<Vec<_>>()).collect();
    high.sort_unstable();
    high.dedup();
    let to_unicode = doc.add_object(Stream::new(Dictionary::new(), to_unicode_cmap(&high).into_bytes()));
    doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type0",
        "BaseFont" => "STSong-Light-UniGB-UCS2-H",
        "Encoding" => "UniGB-UCS2-H",
        "DescendantFonts" => vec![cid_font.into()],
        "ToUnicode" => to_unicode,
    })
}

/// A ToUnicode CMap that maps each two-byte code to the same UCS-2 value,
/// one range per high byte in `high` (a range may not cross one, PDF 32000
/// 9.10.3), in blocks of at most 100 as the CMap format requires.
fn to_unicode_cmap(high: &[u8]) -> String {
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    for block in high.chunks(100) {
        cmap.push_str(&format!("{} beginbfrange\n", block.len()));
        for h in block {
            cmap.push_str(&format!("<{h:02X}00> <{h:02X}FF> <{h:02X}00>\n"));
        }
        cmap.push_str("endbfrange\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    cmap
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(paragraphs: usize) -> Letter {
        Letter {
            number: "依申请〔2026〕7号".into(),
            addressee: "张三".into(),
            address: Some("江城市幸福路 8 号".into()),
            title: "关于政府信息公开申请的答复".into(),
            paragraphs: (0..paragraphs)
                .map(|i| format!("第{i}段：经查，您申请公开的“2026年道路维修资金使用情况”属于本机关公开职责权限范围，现予以公开。"))
                .collect(),
            serial: "XK-000000-2026-000007".into(),
            digest: "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
            verify_url: "https://gongkai.example.gov.cn/api/v1/seals/XK-000000-2026-000007/status".into(),
            served_on: Some("2026年12月8日".into()),
        }
    }

    /// The text of every page, read back through the font's ToUnicode map.
    fn text_of(pdf: &[u8]) -> String {
        let doc = Document::load_mem(pdf).expect("the letter is a PDF lopdf reads");
        let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
        doc.extract_text(&pages).expect("text extracts")
    }

    #[test]
    fn the_pdf_carries_every_line_of_the_letter_and_reads_back() {
        let l = letter(3);
        let pdf = l.pdf();
        assert!(pdf.starts_with(b"%PDF-1.7"));
        let text: String = text_of(&pdf).chars().filter(|c| !c.is_whitespace()).collect();
        for needle in [&l.title, &l.number, "张三：", &l.serial, &l.digest, &l.verify_url, "2026年12月8日", "幸福路"]
        {
            let needle: String = needle.chars().filter(|c| !c.is_whitespace()).collect();
            assert!(text.contains(&needle), "{needle} not in {text}");
        }
        assert_eq!(pdf, l.pdf(), "the same letter gives the same bytes");
    }

    #[test]
    fn a_long_reply_runs_onto_more_pages() {
        let doc = Document::load_mem(&letter(60).pdf()).unwrap();
        assert!(doc.get_pages().len() >= 3, "{} pages", doc.get_pages().len());
        assert_eq!(Document::load_mem(&letter(1).pdf()).unwrap().get_pages().len(), 1);
    }

    #[test]
    fn lines_break_by_width_and_keep_closing_punctuation_off_their_start() {
        // 10 em wide: ten CJK characters or twenty ASCII ones.
        assert_eq!(wrap("一二三四五六七八九十甲乙", 10.0, 0.0), ["一二三四五六七八九十", "甲乙"]);
        assert_eq!(wrap(&"a".repeat(25), 10.0, 0.0), ["a".repeat(20), "a".repeat(5)]);
        // the comma that would begin the second line hangs on the first
        assert_eq!(wrap("一二三四五六七八九十，甲", 10.0, 0.0), ["一二三四五六七八九十，", "甲"]);
        // the first line is shorter by its indent
        assert_eq!(wrap("一二三四五六七八九十", 10.0, 2.0), ["一二三四五六七八", "九十"]);
        assert_eq!(wrap("上\n下", 10.0, 0.0), ["上", "下"]);
    }

    #[test]
    fn text_is_encoded_as_ucs2_and_beyond_the_bmp_as_the_geta_mark() {
        assert_eq!(ucs2("答A"), [0x7B, 0x54, 0x00, 0x41]);
        assert_eq!(ucs2("𠀀"), [0x30, 0x13]);
        let cmap = to_unicode_cmap(&[0x00, 0x7B]);
        assert!(cmap.contains("2 beginbfrange\n<0000> <00FF> <0000>\n<7B00> <7BFF> <7B00>\n"), "{cmap}");
        let many: Vec<u8> = (0..=250).collect();
        assert_eq!(to_unicode_cmap(&many).matches("beginbfrange").count(), 3, "blocks of at most 100");
    }

    #[test]
    fn plain_text_has_the_same_words() {
        let l = letter(2);
        let text = l.plain_text();
        assert!(text.starts_with("关于政府信息公开申请的答复\n\n登记号：依申请〔2026〕7号\n\n张三：\n\n"), "{text}");
        assert!(text.contains(&l.serial) && text.contains(&l.verify_url) && text.contains("送达日期：2026年12月8日"));
        assert!(!text.contains("幸福路"), "the postal address is for the envelope, not the e-mail");
    }
}
