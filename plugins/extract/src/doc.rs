//! Legacy Word 97-2003 documents (`.doc`, [MS-DOC]): the text of every
//! story through the piece table, with what a reader does not see.
//!
//! The `WordDocument` stream starts with the FIB: the story lengths
//! (`ccpText`, `ccpFtn`, `ccpHdd`, `ccpAtn`, `ccpEdn`, `ccpTxbx`,
//! `ccpHdrTxbx`, in character positions) and where the table stream (`0Table`
//! or `1Table`) keeps the piece table (`Clx`) and the character runs
//! (`PlcBteChpx`). The piece table maps character positions to file
//! offsets, each piece 8-bit (Windows-1252) or UTF-16LE; a run's properties
//! say whether its text is a tracked deletion (`sprmCFRMarkDel`), a tracked
//! insertion (`sprmCFRMarkIns`) or hidden (`sprmCFVanish`).
//!
//! What comes out, as for DOCX: paragraphs of the main text (insertions
//! accepted, deletions and hidden text apart, each also a fact), footnotes
//! and endnotes, headers and footers (one `header-footer` fact), comments
//! (annotations, each a `comment` fact), text boxes; `HYPERLINK` fields as
//! links (hidden when their shown text is empty). Field instructions are
//! not text; their results are.
//!
//! Not read: properties set by a style rather than the run (a hidden
//! character style), the document's summary properties (author, company),
//! the revision authors, drawings and embedded OLE objects. An encrypted or
//! obfuscated document is `encrypted`.

use std::io::Cursor;

use crate::docx::clip;
use crate::{FactKind, Failure, FailureKind, Locator, Out, Part, at, cfb_stream, limit, malformed, u16_at, u32_at};

/// `FibBase.wIdent` of a Word document.
const W_IDENT: u16 = 0xA5EC;
/// The pair index of `fcClx`/`lcbClx` in `FibRgFcLcb97`.
const CLX: usize = 33;
/// The pair index of `fcPlcfBteChpx`/`lcbPlcfBteChpx`.
const BTE_CHPX: usize = 12;
const SPRM_DELETED: u16 = 0x0800;
const SPRM_INSERTED: u16 = 0x0801;
const SPRM_VANISH: u16 = 0x083C;

/// What the FIB says.
struct Fib {
    table: &'static str,
    /// Story lengths in character positions, in story order.
    stories: [u32; 7],
    clx: (u32, u32),
    chpx: (u32, u32),
}

fn fib(file: &str, word: &[u8]) -> Result<Fib, Failure> {
    let bad = || malformed(file, "DOC 文件头（FIB）不完整或已损坏");
    if u16_at(word, 0) != Some(W_IDENT) {
        return Err(malformed(file, "不是 Word 97-2003 文档（文件标识不符）"));
    }
    let flags = u16_at(word, 0x0A).ok_or_else(bad)?;
    if flags & 0x0100 != 0 || flags & 0x8000 != 0 {
        return Err(Failure {
            kind: FailureKind::Encrypted,
            file: file.to_owned(),
            message: "Word 文档已加密（设置了打开密码），无法读取".into(),
        });
    }
    let csw = usize::from(u16_at(word, 32).ok_or_else(bad)?);
    let lw = 34 + csw * 2;
    let cslw = usize::from(u16_at(word, lw).ok_or_else(bad)?);
    let lw = lw + 2;
    if cslw < 11 {
        return Err(bad());
    }
    // ccpText, ccpFtn, ccpHdd, (reserved), ccpAtn, ccpEdn, ccpTxbx, ccpHdrTxbx
    let lw_at = |i: usize| u32_at(word, lw + 4 * i).ok_or_else(bad);
    let stories = [lw_at(3)?, lw_at(4)?, lw_at(5)?, lw_at(7)?, lw_at(8)?, lw_at(9)?, lw_at(10)?];
    let pairs = lw + cslw * 4;
    let count = usize::from(u16_at(word, pairs).ok_or_else(bad)?);
    if count <= CLX {
        return Err(bad());
    }
    let pair = |i: usize| {
        Ok::<_, Failure>((
            u32_at(word, pairs + 2 + 8 * i).ok_or_else(bad)?,
            u32_at(word, pairs + 6 + 8 * i).ok_or_else(bad)?,
        ))
    };
    Ok(Fib {
        table: if flags & 0x0200 != 0 { "/1Table" } else { "/0Table" },
        stories,
        clx: pair(CLX)?,
        chpx: pair(BTE_CHPX)?,
    })
}

/// One piece: `len` characters at `fc` in the `WordDocument` stream,
/// 8-bit or UTF-16LE; pieces come in character-position order.
struct Piece {
    len: u32,
    fc: u32,
    compressed: bool,
}

fn pieces(file: &str, table: &[u8], (fc, lcb): (u32, u32)) -> Result<Vec<Piece>, Failure> {
    let bad = || malformed(file, "DOC 的分段表（piece table）已损坏");
    let clx = table.get(fc as usize..(fc as usize).checked_add(lcb as usize).ok_or_else(bad)?).ok_or_else(bad)?;
    let mut i = 0;
    // Prc entries (formatting of pieces) come first; skip them.
    while clx.get(i) == Some(&0x01) {
        let cb = i16::from_le_bytes([*clx.get(i + 1).ok_or_else(bad)?, *clx.get(i + 2).ok_or_else(bad)?]);
        i += 3 + usize::try_from(cb).map_err(|_| bad())?;
    }
    if clx.get(i) != Some(&0x02) {
        return Err(bad());
    }
    let lcb = u32_at(clx, i + 1).ok_or_else(bad)? as usize;
    let plc = clx.get(i + 5..(i + 5).checked_add(lcb).ok_or_else(bad)?).ok_or_else(bad)?;
    if lcb < 4 || !(lcb - 4).is_multiple_of(12) {
        return Err(bad());
    }
    let n = (lcb - 4) / 12;
    let mut out = Vec::with_capacity(n);
    for k in 0..n {
        let (cp, end) = (u32_at(plc, 4 * k).ok_or_else(bad)?, u32_at(plc, 4 * k + 4).ok_or_else(bad)?);
        if end < cp {
            return Err(bad());
        }
        let raw = u32_at(plc, 4 * (n + 1) + 8 * k + 2).ok_or_else(bad)?;
        let compressed = raw & 0x4000_0000 != 0;
        let fc = raw & 0x3FFF_FFFF;
        out.push(Piece { len: end - cp, fc: if compressed { fc / 2 } else { fc }, compressed });
    }
    Ok(out)
}

/// Character properties that matter here.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Props {
    deleted: bool,
    inserted: bool,
    hidden: bool,
}

/// Runs of properties by file offset: (start, end, props), sorted.
fn runs(file: &str, word: &[u8], table: &[u8], (fc, lcb): (u32, u32)) -> Result<Vec<(u32, u32, Props)>, Failure> {
    let bad = || malformed(file, "DOC 的字符格式表已损坏");
    if lcb == 0 {
        return Ok(Vec::new());
    }
    let plc = table.get(fc as usize..(fc as usize).checked_add(lcb as usize).ok_or_else(bad)?).ok_or_else(bad)?;
    if lcb < 4 || !(lcb as usize - 4).is_multiple_of(8) {
        return Err(bad());
    }
    let n = (lcb as usize - 4) / 8;
    let mut runs = Vec::new();
    for k in 0..n {
        let pn = u32_at(plc, 4 * (n + 1) + 4 * k).ok_or_else(bad)? & 0x003F_FFFF;
        let start = (pn as usize).checked_mul(512).ok_or_else(bad)?;
        let page = word.get(start..start + 512).ok_or_else(bad)?;
        let crun = usize::from(page[511]);
        if 4 * (crun + 1) + crun > 511 {
            return Err(bad());
        }
        for r in 0..crun {
            let (from, to) = (u32_at(page, 4 * r).ok_or_else(bad)?, u32_at(page, 4 * r + 4).ok_or_else(bad)?);
            let offset = usize::from(page[4 * (crun + 1) + r]) * 2;
            let props = if offset == 0 { Props::default() } else { chpx(page, offset) };
            if props != Props::default() && to > from {
                runs.push((from, to, props));
            }
        }
    }
    runs.sort_by_key(|r| r.0);
    Ok(runs)
}

/// The properties in the `Chpx` at `offset` of an FKP page (what does not
/// parse is read as far as it goes).
fn chpx(page: &[u8], offset: usize) -> Props {
    let mut props = Props::default();
    let Some(&cb) = page.get(offset) else { return props };
    let grpprl = page.get(offset + 1..(offset + 1 + usize::from(cb)).min(page.len())).unwrap_or_default();
    let mut i = 0;
    while let Some(sprm) = u16_at(grpprl, i) {
        let operand = grpprl.get(i + 2).copied().unwrap_or(0);
        let size = match sprm >> 13 {
            0 | 1 => 1,
            2 | 4 | 5 => 2,
            3 => 4,
            7 => 3,
            _ => 1 + usize::from(operand),
        };
        // A toggle: 1 on, 0x81 the opposite of the style (off in the
        // normal style), 0 and 0x80 off or as the style.
        let on = operand == 0x01 || operand == 0x81;
        match sprm {
            SPRM_DELETED => props.deleted = on,
            SPRM_INSERTED => props.inserted = on,
            SPRM_VANISH => props.hidden = on,
            _ => {}
        }
        i += 2 + size;
    }
    props
}

/// The document's characters in position order with their properties.
fn characters(
    out: &mut Out<'_>,
    file: &str,
    word: &[u8],
    pieces: &[Piece],
    runs: &[(u32, u32, Props)],
) -> Result<Vec<(char, Props)>, Failure> {
    let bad = || malformed(file, "DOC 的文字超出文件范围");
    let props_at = |fc: u32| {
        let i = runs.partition_point(|r| r.0 <= fc);
        if i > 0 && fc < runs[i - 1].1 { runs[i - 1].2 } else { Props::default() }
    };
    let mut chars = Vec::new();
    let mut text_bytes = 0u64;
    for p in pieces {
        let width = if p.compressed { 1 } else { 2 };
        let start = p.fc as usize;
        let end = start.checked_add(p.len as usize * width).ok_or_else(bad)?;
        let bytes = word.get(start..end).ok_or_else(bad)?;
        text_bytes += bytes.len() as u64;
        if text_bytes > out.bounds.max_text_bytes {
            return Err(limit(file, format!("提取出的文字超过上限 {} MiB", out.bounds.max_text_bytes >> 20)));
        }
        if p.compressed {
            // Windows-1252 is one character per byte.
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            for (k, c) in text.chars().enumerate() {
                chars.push((c, props_at(p.fc + k as u32)));
            }
        } else {
            let units = bytes.chunks_exact(2).map(|u| u16::from_le_bytes([u[0], u[1]]));
            for (k, c) in char::decode_utf16(units).enumerate() {
                // A surrogate pair is one char at its first unit's offset.
                chars.push((c.unwrap_or('\u{FFFD}'), props_at(p.fc + 2 * k as u32)));
            }
        }
    }
    Ok(chars)
}

/// One paragraph as it is read, and what is not seen in it.
#[derive(Default)]
struct Para {
    body: String,
    inserted: String,
    deleted: String,
    hidden: String,
}

/// A field being read: its instruction, and whether its result is reached.
struct Field {
    instruction: String,
    in_result: bool,
    shown: String,
}

/// The stories in CP order: (part, detail).
const STORIES: [(Part, Option<&str>); 7] = [
    (Part::Body, None),
    (Part::Footnote, Some("脚注")),
    (Part::Header, Some("页眉或页脚")),
    (Part::Comment, None),
    (Part::Footnote, Some("尾注")),
    (Part::Body, Some("文本框")),
    (Part::Header, Some("页眉页脚中的文本框")),
];

/// `FibBase.nFib` of Word 97 and later (they all write it here).
const NFIB_97: u16 = 0x00C1;

/// Reads a DOC whose container is valid; the format read, or
/// `unsupported` (Word 6.0/95, whose FIB is another layout) with a
/// `not-extracted` fact.
pub(crate) fn read(
    out: &mut Out<'_>,
    file: &str,
    comp: &mut cfb::CompoundFile<Cursor<&[u8]>>,
) -> Result<&'static str, Failure> {
    let word = cfb_stream(out, file, comp, "/WordDocument", "DOC 文档")?;
    if u16_at(&word, 0) == Some(W_IDENT) && u16_at(&word, 2).is_some_and(|n| n < NFIB_97) {
        out.fact(FactKind::NotExtracted, at(file, Part::Body), "Word 6.0/95 文档：未能提取文字".into())?;
        return Ok("unsupported");
    }
    let fib = fib(file, &word)?;
    if !comp.is_stream(fib.table) {
        return Err(malformed(file, format!("DOC 缺少 {} 流", fib.table.trim_start_matches('/'))));
    }
    let table = cfb_stream(out, file, comp, fib.table, "DOC 文档")?;
    let pieces = pieces(file, &table, fib.clx)?;
    let runs = runs(file, &word, &table, fib.chpx)?;
    let chars = characters(out, file, &word, &pieces, &runs)?;
    let mut cp = 0usize;
    for ((part, detail), len) in STORIES.iter().zip(fib.stories) {
        let end = cp.saturating_add(len as usize).min(chars.len());
        if cp < end {
            read_story(out, file, *part, *detail, &chars[cp..end])?;
        }
        cp = end;
    }
    Ok("doc")
}

fn read_story(
    out: &mut Out<'_>,
    file: &str,
    part: Part,
    detail: Option<&str>,
    chars: &[(char, Props)],
) -> Result<(), Failure> {
    let locator =
        |part: Part, n: u32| Locator { paragraph: Some(n), detail: detail.map(str::to_owned), ..at(file, part) };
    let mut n = 0u32;
    let mut para = Para::default();
    let mut fields: Vec<Field> = Vec::new();
    let mut story_text = Vec::new();
    for &(c, props) in chars {
        match c {
            '\r' | '\u{7}' | '\u{C}' => {
                n += 1;
                let p = std::mem::take(&mut para);
                if !p.body.trim().is_empty() {
                    story_text.push(p.body.trim().to_owned());
                }
                end_paragraph(out, part, locator(part, n), &locator, n, p)?;
                continue;
            }
            '\u{13}' => {
                fields.push(Field { instruction: String::new(), in_result: false, shown: String::new() });
                continue;
            }
            '\u{14}' => {
                if let Some(f) = fields.last_mut() {
                    f.in_result = true;
                }
                continue;
            }
            '\u{15}' => {
                if let Some(f) = fields.pop()
                    && let Some(target) = hyperlink(&f.instruction)
                {
                    let kind = if f.shown.trim().is_empty() { FactKind::HiddenLink } else { FactKind::Link };
                    let mut loc = locator(Part::Link, n + 1);
                    loc.detail = Some(target.clone());
                    out.fact(kind, loc, target)?;
                }
                continue;
            }
            _ => {}
        }
        if let Some(f) = fields.last_mut()
            && !f.in_result
        {
            f.instruction.push(c);
            continue;
        }
        let c = match c {
            '\u{B}' => '\n',
            '\u{1E}' => '-',
            '\u{A0}' => ' ',
            c if c.is_control() || c == '\u{1F}' => continue,
            c => c,
        };
        if let Some(f) = fields.last_mut() {
            f.shown.push(c);
        }
        if props.deleted {
            para.deleted.push(c);
        } else if props.hidden {
            para.hidden.push(c);
        } else {
            para.body.push(c);
            if props.inserted {
                para.inserted.push(c);
            }
        }
    }
    if !para.body.trim().is_empty() || !para.deleted.is_empty() || !para.hidden.is_empty() {
        n += 1;
        if !para.body.trim().is_empty() {
            story_text.push(para.body.trim().to_owned());
        }
        end_paragraph(out, part, locator(part, n), &locator, n, para)?;
    }
    if part == Part::Header && !story_text.is_empty() {
        out.fact(FactKind::HeaderFooter, at(file, Part::Header), clip(&story_text.join(" ")))?;
    }
    Ok(())
}

fn end_paragraph(
    out: &mut Out<'_>,
    part: Part,
    here: Locator,
    locator: &impl Fn(Part, u32) -> Locator,
    n: u32,
    p: Para,
) -> Result<(), Failure> {
    if part == Part::Comment && !p.body.trim().is_empty() {
        out.fact(FactKind::Comment, here.clone(), format!("批注：{}", clip(&p.body)))?;
    }
    out.segment(here, p.body)?;
    if !p.deleted.trim().is_empty() {
        let loc = locator(Part::Deletion, n);
        out.fact(FactKind::TrackedDeletion, loc.clone(), format!("修订删除：{}", clip(&p.deleted)))?;
        out.segment(loc, p.deleted)?;
    }
    if !p.inserted.trim().is_empty() {
        out.fact(FactKind::TrackedInsertion, locator(Part::Insertion, n), format!("修订插入：{}", clip(&p.inserted)))?;
    }
    if !p.hidden.trim().is_empty() {
        let loc = locator(Part::HiddenText, n);
        out.fact(FactKind::HiddenText, loc.clone(), format!("隐藏文字：{}", clip(&p.hidden)))?;
        out.segment(loc, p.hidden)?;
    }
    Ok(())
}

/// The target of a `HYPERLINK "target"` field instruction.
fn hyperlink(instruction: &str) -> Option<String> {
    let rest = instruction.trim_start().strip_prefix("HYPERLINK")?.trim_start();
    let target = match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?,
        None => rest.split_whitespace().next()?,
    };
    // `\l "bookmark"`: a place in the document itself.
    (!target.is_empty() && !target.starts_with('\\')).then(|| target.to_owned())
}
