//! Masked copies (`mask`): an XLSX, CSV or DOCX rewritten with each edit
//! (a finding's exact text at its locator, and its suggested mask) applied,
//! and every other part of the file left as it was.
//!
//! - XLSX: a shared string all of whose cells are edited is rewritten in
//!   the shared-string table (the original must not stay in the file,
//!   unreferenced); a cell whose string other cells also show, an inline
//!   string or a number (an ID number stored as a number) becomes an
//!   inline-string cell holding the masked text (its style kept). A workbook
//!   with pivot, chart or external-link caches (copies of values) is
//!   refused. Only the rewritten parts change; every other ZIP entry is
//!   copied raw, byte for byte.
//! - CSV: the edited cells are re-quoted as needed, and the text is encoded
//!   back in the encoding it was read in (UTF-8 with or without BOM, UTF-16
//!   with BOM, GB18030).
//! - DOCX: the visible run text of the edited paragraph (a match may span
//!   runs: the mask goes into the first run, the rest of the match is
//!   removed from the following runs, so their formatting stays).
//!
//! It never guesses: an edit whose original text is not at its locator, a
//! formula cell, a locator in a part that cannot be rewritten (a comment, a
//! tracked deletion, a file inside an archive) or any other format is a
//! failure, and the drafter replaces the file instead.

use std::collections::{BTreeMap, HashMap};
use std::io::{Cursor, Write};

use quick_xml::Reader;
use quick_xml::events::Event;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::archive::Zip;
use crate::text::column_name;
use crate::xml::{resolve, unescape};
use crate::{Bounds, Edit, Failure, Input, Out, Part, Sniffed, limit, malformed};

/// The message for a file that cannot be rewritten.
pub const NOT_MASKABLE: &str = "此类文件无法自动打码，请替换文件后重新提交";

fn refuse(file: &str, message: impl Into<String>) -> Failure {
    malformed(file, message)
}

fn not_found(file: &str, e: &Edit, where_: &str) -> Failure {
    refuse(file, format!("{where_}中找不到要打码的原文“{}”（文件与审查结果不符），未作任何修改", e.original))
}

/// Writes the masked copy of `input`.
pub fn mask(input: &Input, edits: &[Edit], bounds: &Bounds) -> Result<Vec<u8>, Failure> {
    let file = input.name.as_str();
    if edits.is_empty() {
        return Err(refuse(file, "没有要打码的内容"));
    }
    for e in edits {
        if e.locator.file != file {
            return Err(refuse(
                file,
                format!("打码位置指向了“{}”：压缩包内的文件无法自动打码，请替换文件后重新提交", e.locator.file),
            ));
        }
        if e.original.is_empty() {
            return Err(refuse(file, "要打码的原文为空"));
        }
    }
    let mut out = Out::new(bounds);
    let bytes = match crate::sniff(file, &input.media_type, &input.bytes) {
        Sniffed::Zip => {
            let ofd = crate::extension(file) == "ofd" || input.media_type.eq_ignore_ascii_case("application/ofd");
            let mut zip = Zip::open(&mut out, file, &input.bytes)?;
            let replaced = if ofd || zip.has("OFD.xml") {
                return Err(refuse(file, NOT_MASKABLE));
            } else if zip.has("word/document.xml") {
                docx(&mut out, &mut zip, edits)?
            } else if zip.has("xl/workbook.xml") {
                xlsx(&mut out, &mut zip, edits)?
            } else {
                return Err(refuse(file, NOT_MASKABLE));
            };
            rewrite_zip(file, &input.bytes, &replaced)?
        }
        Sniffed::Csv => csv(file, &input.bytes, edits)?,
        _ => return Err(refuse(file, NOT_MASKABLE)),
    };
    if bytes.len() as u64 > bounds.max_total_bytes {
        return Err(limit(file, format!("打码后的文件超过上限 {} MiB", bounds.max_total_bytes >> 20)));
    }
    Ok(bytes)
}

/// The ZIP container again, with the entries in `replaced` written anew and
/// every other entry copied raw (compressed bytes, CRC, times unchanged).
fn rewrite_zip(file: &str, bytes: &[u8], replaced: &HashMap<String, Vec<u8>>) -> Result<Vec<u8>, Failure> {
    let bad = |e: &dyn std::fmt::Display| malformed(file, format!("无法改写 ZIP 文件：{e}"));
    let mut src = ZipArchive::new(Cursor::new(bytes)).map_err(|e| bad(&e))?;
    let mut dst = ZipWriter::new(Cursor::new(Vec::with_capacity(bytes.len() + 4096)));
    for i in 0..src.len() {
        let entry = src.by_index_raw(i).map_err(|e| bad(&e))?;
        let name = entry.name().map_err(|e| bad(&e))?.into_owned();
        match replaced.get(&name) {
            None => dst.raw_copy_file(entry).map_err(|e| bad(&e))?,
            Some(data) => {
                let mut options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
                if let Some(t) = entry.last_modified() {
                    options = options.last_modified_time(t);
                }
                drop(entry);
                dst.start_file(name, options).map_err(|e| bad(&e))?;
                dst.write_all(data).map_err(|e| bad(&e))?;
            }
        }
    }
    Ok(dst.finish().map_err(|e| bad(&e))?.into_inner())
}

/// `&`, `<`, `>` and quotes as references.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn local(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, l)| l)
}

/// The namespace prefix of a qualified name, with its colon (`w:`), or "".
fn prefix(name: &str) -> String {
    name.rsplit_once(':').map(|(p, _)| format!("{p}:")).unwrap_or_default()
}

/// Applies `edits` in order to `text` (each the first occurrence left).
fn apply(file: &str, text: &str, edits: &[&Edit], where_: &str) -> Result<String, Failure> {
    let mut text = text.to_owned();
    for e in edits {
        if !text.contains(&e.original) {
            return Err(not_found(file, e, where_));
        }
        text = text.replacen(&e.original, &e.replacement, 1);
    }
    Ok(text)
}

// --- XLSX ---

/// Parts of a workbook that keep copies of cell values the extraction does
/// not read (pivot caches, chart caches, external links): a masked copy
/// would still hold the original there, so it is refused.
const CACHES: &[&str] = &["xl/pivotCache/", "xl/charts/", "xl/externalLinks/", "xl/queryTables/"];

fn xlsx(out: &mut Out<'_>, zip: &mut Zip<'_>, edits: &[Edit]) -> Result<HashMap<String, Vec<u8>>, Failure> {
    let file = zip.path.clone();
    if let Some(cache) = zip.names().into_iter().find(|n| CACHES.iter().any(|c| n.starts_with(c))) {
        return Err(refuse(
            &file,
            format!(
                "工作簿含有数据透视表、图表或外部链接的缓存（{cache}），其中可能保留原值，无法自动打码；请替换文件后重新提交"
            ),
        ));
    }
    let strings = crate::xlsx::shared_strings(out, zip)?;
    let sheets = crate::xlsx::sheets(out, zip)?;
    let mut by_part: BTreeMap<String, (String, BTreeMap<String, Vec<&Edit>>)> = BTreeMap::new();
    for e in edits {
        let (Part::Cell, Some(sheet), Some(cell)) = (e.locator.part, &e.locator.sheet, &e.locator.cell) else {
            return Err(refuse(&file, "只能改写工作表单元格中的文字；批注等其他内容请在原文件中处理后替换文件"));
        };
        let Some(s) = sheets.iter().find(|s| &s.name == sheet) else {
            return Err(refuse(&file, format!("工作簿中没有工作表“{sheet}”，未作任何修改")));
        };
        by_part
            .entry(s.part.clone())
            .or_insert_with(|| (s.name.clone(), BTreeMap::new()))
            .1
            .entry(cell.to_ascii_uppercase())
            .or_default()
            .push(e);
    }
    // Shared strings: an entry every one of whose cells is edited to the
    // same text is rewritten in the table (nothing of the original stays in
    // the file); an entry also shown by cells not edited stays, and the
    // edited cells become inline strings.
    let mut masked_entries: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut kept_entries: std::collections::HashSet<usize> = std::collections::HashSet::new();
    let mut parts: HashMap<String, Vec<u8>> = HashMap::new();
    for sheet in &sheets {
        let Some(xml) = zip.read(out, &sheet.part)? else {
            return Err(malformed(&file, format!("缺少工作表“{}”的部件 {}", sheet.name, sheet.part)));
        };
        let edited = by_part.get(&sheet.part).map(|(_, cells)| cells);
        for (reference, index) in shared_cells(&file, &sheet.part, &xml)? {
            match edited.and_then(|cells| cells.get(&reference)) {
                Some(edits) => {
                    let text = strings
                        .get(index)
                        .ok_or_else(|| malformed(&file, format!("工作表“{}”引用了不存在的共享字符串", sheet.name)))?;
                    let at = format!("工作表“{}”单元格 {reference} ", sheet.name);
                    masked_entries.entry(index).or_default().push(apply(&file, text, edits, &at)?);
                }
                None => drop(kept_entries.insert(index)),
            }
        }
        if by_part.contains_key(&sheet.part) {
            parts.insert(sheet.part.clone(), xml);
        }
    }
    let mut rewritten: BTreeMap<usize, String> = BTreeMap::new();
    for (index, texts) in masked_entries {
        if kept_entries.contains(&index) {
            continue;
        }
        if texts.iter().any(|t| t != &texts[0]) {
            return Err(refuse(&file, "多个单元格共用同一文字但打码结果不同，无法自动打码；请替换文件后重新提交"));
        }
        rewritten.insert(index, texts[0].clone());
    }
    let mut replaced = HashMap::new();
    for (part, (sheet, cells)) in by_part {
        let xml = parts.remove(&part).unwrap_or_default();
        let new = rewrite_sheet(&file, &sheet, &part, &xml, &strings, cells, &rewritten)?;
        replaced.insert(part, new);
    }
    if !rewritten.is_empty() {
        let Some(xml) = zip.read(out, "xl/sharedStrings.xml")? else {
            return Err(malformed(&file, "缺少共享字符串表"));
        };
        replaced.insert("xl/sharedStrings.xml".to_owned(), rewrite_shared_strings(&file, &xml, &rewritten)?);
    }
    Ok(replaced)
}

/// The cells of a worksheet that show a shared string: (A1 reference, index).
fn shared_cells(file: &str, part: &str, xml: &[u8]) -> Result<Vec<(String, usize)>, Failure> {
    let mut found = Vec::new();
    let (mut row_no, mut next_col) = (0u32, 0u32);
    let mut cell: Option<(String, bool)> = None;
    let (mut value, mut in_v) = (String::new(), false);
    crate::xml::events(file, part, xml, |ev| {
        match ev {
            crate::xml::Ev::Start("row", a) => {
                row_no = a.get("r").and_then(|r| r.parse().ok()).unwrap_or(row_no + 1);
                next_col = 0;
            }
            crate::xml::Ev::Start("c", a) => {
                let (col, row) =
                    a.get("r").and_then(crate::xlsx::parse_ref).unwrap_or((next_col, row_no.saturating_sub(1)));
                next_col = col + 1;
                cell = Some((format!("{}{}", column_name(col), row + 1), a.get("t") == Some("s")));
                value.clear();
            }
            crate::xml::Ev::Start("v", _) => in_v = true,
            crate::xml::Ev::End("v") => in_v = false,
            crate::xml::Ev::Text(t) if in_v => value.push_str(t),
            crate::xml::Ev::End("c") => {
                if let Some((reference, true)) = cell.take()
                    && let Ok(index) = value.trim().parse::<usize>()
                {
                    found.push((reference, index));
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(found)
}

/// The shared-string table with the entries in `rewritten` replaced by
/// plain text (rich-text runs and phonetic readings of them dropped).
fn rewrite_shared_strings(file: &str, xml: &[u8], rewritten: &BTreeMap<usize, String>) -> Result<Vec<u8>, Failure> {
    let bad = |e: &dyn std::fmt::Display| malformed(file, format!("xl/sharedStrings.xml 不是有效的 XML：{e}"));
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().check_end_names = false;
    let mut buf = Vec::new();
    let mut new = Vec::with_capacity(xml.len());
    let (mut copied, mut index) = (0usize, 0usize);
    let mut open: Option<(usize, String)> = None;
    let mut done = 0usize;
    loop {
        buf.clear();
        let before = reader.buffer_position() as usize;
        let event = reader.read_event_into(&mut buf).map_err(|e| bad(&e))?;
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(ref e) if local(e.name().as_ref()) == "si" && rewritten.contains_key(&index) => {
                open = Some((after, prefix(e.name().as_ref())));
            }
            Event::Empty(ref e) if local(e.name().as_ref()) == "si" => index += 1,
            Event::End(ref e) if local(e.name().as_ref()) == "si" => {
                if let Some((start, p)) = open.take() {
                    new.extend_from_slice(&xml[copied..start]);
                    let text = escape(&rewritten[&index]);
                    new.extend_from_slice(format!("<{p}t xml:space=\"preserve\">{text}</{p}t>").as_bytes());
                    copied = before;
                    done += 1;
                }
                index += 1;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if done != rewritten.len() {
        return Err(malformed(file, "共享字符串表与工作表不符"));
    }
    new.extend_from_slice(&xml[copied..]);
    Ok(new)
}

/// A cell being rewritten, from its start tag to its end tag.
struct OpenCell {
    start: usize,
    reference: String,
    prefix: String,
    attrs: Vec<(String, String)>,
    ty: String,
    formula: bool,
    in_v: bool,
    value: String,
}

fn rewrite_sheet(
    file: &str,
    sheet: &str,
    part: &str,
    xml: &[u8],
    strings: &[String],
    mut cells: BTreeMap<String, Vec<&Edit>>,
    rewritten: &BTreeMap<usize, String>,
) -> Result<Vec<u8>, Failure> {
    let bad = |e: &dyn std::fmt::Display| malformed(file, format!("{part} 不是有效的 XML：{e}"));
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().check_end_names = false;
    let mut buf = Vec::new();
    let mut new = Vec::with_capacity(xml.len() + 1024);
    let mut copied = 0usize;
    let (mut row_no, mut next_col) = (0u32, 0u32);
    let mut open: Option<OpenCell> = None;
    loop {
        buf.clear();
        let before = reader.buffer_position() as usize;
        let event = reader.read_event_into(&mut buf).map_err(|e| bad(&e))?;
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let qname = e.name();
                let attr = |name: &str| {
                    e.attributes()
                        .with_checks(false)
                        .filter_map(Result::ok)
                        .find(|a| local(a.key.as_ref()) == name)
                        .map(|a| unescape(&a.value))
                };
                match local(qname.as_ref()) {
                    "row" => {
                        row_no = attr("r").and_then(|r| r.parse().ok()).unwrap_or(row_no + 1);
                        next_col = 0;
                    }
                    "c" => {
                        let (col, row) = attr("r")
                            .and_then(|r| crate::xlsx::parse_ref(&r))
                            .unwrap_or((next_col, row_no.saturating_sub(1)));
                        next_col = col + 1;
                        let reference = format!("{}{}", column_name(col), row + 1);
                        if cells.contains_key(&reference) {
                            if matches!(event, Event::Empty(_)) {
                                let e = cells[&reference][0];
                                return Err(not_found(file, e, &format!("工作表“{sheet}”单元格 {reference} ")));
                            }
                            let attrs = e
                                .attributes()
                                .with_checks(false)
                                .filter_map(Result::ok)
                                .map(|a| (a.key.as_ref().to_owned(), unescape(&a.value)))
                                .collect();
                            open = Some(OpenCell {
                                start: before,
                                reference,
                                prefix: prefix(qname.as_ref()),
                                attrs,
                                ty: attr("t").unwrap_or_else(|| "n".into()),
                                formula: false,
                                in_v: false,
                                value: String::new(),
                            });
                        }
                    }
                    "f" => {
                        if let Some(c) = &mut open {
                            c.formula = true;
                        }
                    }
                    "v" | "t" => {
                        if let Some(c) = &mut open {
                            c.in_v = matches!(event, Event::Start(_));
                        }
                    }
                    _ => {}
                }
            }
            Event::Text(ref t) => {
                if let Some(c) = open.as_mut().filter(|c| c.in_v) {
                    c.value.push_str(&unescape(t));
                }
            }
            Event::CData(ref t) => {
                if let Some(c) = open.as_mut().filter(|c| c.in_v) {
                    c.value.push_str(t);
                }
            }
            Event::GeneralRef(ref r) => {
                if let Some(c) = open.as_mut().filter(|c| c.in_v) {
                    let name = r.to_string();
                    match resolve(&name) {
                        Some(ch) => c.value.push(ch),
                        None => c.value.push_str(&format!("&{name};")),
                    }
                }
            }
            Event::End(ref e) => match local(e.name().as_ref()) {
                "v" | "t" => {
                    if let Some(c) = &mut open {
                        c.in_v = false;
                    }
                }
                "c" => {
                    if let Some(c) = open.take() {
                        let edits = cells.remove(&c.reference).unwrap_or_default();
                        let at = format!("工作表“{sheet}”单元格 {} ", c.reference);
                        if c.formula {
                            return Err(refuse(file, format!("{at}是公式，无法自动打码；请在原文件中处理后替换文件")));
                        }
                        let shared = c.value.trim().parse::<usize>().ok().filter(|_| c.ty == "s");
                        if shared.is_some_and(|i| rewritten.contains_key(&i)) {
                            // Masked in the shared-string table.
                            continue;
                        }
                        let text = match c.ty.as_str() {
                            "s" => shared
                                .and_then(|i| strings.get(i))
                                .cloned()
                                .ok_or_else(|| malformed(file, format!("{at}引用了不存在的共享字符串")))?,
                            "b" | "e" => return Err(not_found(file, edits[0], &at)),
                            _ => c.value.clone(),
                        };
                        let masked = apply(file, &text, &edits, &at)?;
                        new.extend_from_slice(&xml[copied..c.start]);
                        new.extend_from_slice(inline_cell(&c, &masked).as_bytes());
                        copied = after;
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some((reference, edits)) = cells.into_iter().next() {
        return Err(not_found(file, edits[0], &format!("工作表“{sheet}”单元格 {reference} ")));
    }
    new.extend_from_slice(&xml[copied..]);
    Ok(new)
}

/// The cell again as an inline string holding `text`, its other attributes
/// (reference, style) kept.
fn inline_cell(c: &OpenCell, text: &str) -> String {
    let p = &c.prefix;
    let mut s = format!("<{p}c");
    for (k, v) in c.attrs.iter().filter(|(k, _)| local(k) != "t") {
        s.push_str(&format!(" {k}=\"{}\"", escape(v)));
    }
    s.push_str(&format!(" t=\"inlineStr\"><{p}is><{p}t xml:space=\"preserve\">{}</{p}t></{p}is></{p}c>", escape(text)));
    s
}

// --- DOCX ---

fn docx(out: &mut Out<'_>, zip: &mut Zip<'_>, edits: &[Edit]) -> Result<HashMap<String, Vec<u8>>, Failure> {
    let file = zip.path.clone();
    let mut by_part: BTreeMap<String, BTreeMap<u32, Vec<&Edit>>> = BTreeMap::new();
    for e in edits {
        let part = match e.locator.part {
            Part::Body => "word/document.xml".to_owned(),
            Part::Header | Part::Footer | Part::Footnote => match &e.locator.detail {
                Some(d) if d.starts_with("word/") && d.ends_with(".xml") && zip.has(d) => d.clone(),
                _ => return Err(refuse(&file, "页眉、页脚或脚注的位置不正确，未作任何修改")),
            },
            _ => {
                return Err(refuse(
                    &file,
                    "只能改写正文、页眉、页脚和脚注中的文字；批注、修订和隐藏文字请在原文件中删除后替换文件",
                ));
            }
        };
        let Some(n) = e.locator.paragraph else {
            return Err(refuse(&file, "打码位置缺少段落，未作任何修改"));
        };
        by_part.entry(part).or_default().entry(n).or_default().push(e);
    }
    let mut replaced = HashMap::new();
    for (part, paragraphs) in by_part {
        let Some(xml) = zip.read(out, &part)? else {
            return Err(malformed(&file, format!("缺少部件 {part}")));
        };
        // Content controls bound to custom XML keep their value there too.
        if xml.windows(b"dataBinding".len()).any(|w| w == b"dataBinding") {
            return Err(refuse(
                &file,
                "文档含有绑定到自定义 XML 的内容控件，其中可能保留原值，无法自动打码；请替换文件后重新提交",
            ));
        }
        replaced.insert(part.clone(), rewrite_story(&file, &part, &xml, paragraphs)?);
    }
    Ok(replaced)
}

/// A piece of a paragraph's visible text: the content of one `w:t` (which
/// can be rewritten), or a tab or line break (which cannot).
struct Piece {
    start: usize,
    end: usize,
    text: String,
    fixed: bool,
    changed: bool,
}

/// Rewrites the visible text of the numbered paragraphs of one story,
/// counting paragraphs and deciding visibility as the extraction does.
fn rewrite_story(
    file: &str,
    part: &str,
    xml: &[u8],
    mut paragraphs: BTreeMap<u32, Vec<&Edit>>,
) -> Result<Vec<u8>, Failure> {
    let bad = |e: &dyn std::fmt::Display| malformed(file, format!("{part} 不是有效的 XML：{e}"));
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().check_end_names = false;
    let mut buf = Vec::new();
    let mut pieces: BTreeMap<u32, Vec<Piece>> = BTreeMap::new();
    let (mut count, mut stack, mut del) = (0u32, Vec::<u32>::new(), 0usize);
    let (mut in_rpr, mut hidden) = (false, false);
    let mut open: Option<Piece> = None;
    loop {
        buf.clear();
        let before = reader.buffer_position() as usize;
        let event = reader.read_event_into(&mut buf).map_err(|e| bad(&e))?;
        let after = reader.buffer_position() as usize;
        let target = stack.last().copied().filter(|n| paragraphs.contains_key(n));
        let visible = del == 0 && !hidden;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let qname = e.name();
                match local(qname.as_ref()) {
                    "p" => {
                        count += 1;
                        if empty {
                            continue;
                        }
                        stack.push(count);
                    }
                    "del" | "moveFrom" if !empty => del += 1,
                    "r" => hidden = false,
                    "rPr" if !empty => in_rpr = true,
                    "vanish" | "specVanish" if in_rpr => {
                        let off = e.attributes().with_checks(false).filter_map(Result::ok).any(|a| {
                            local(a.key.as_ref()) == "val" && matches!(a.value.as_ref(), "0" | "false" | "off")
                        });
                        hidden = !off;
                    }
                    "t" if !empty && visible && target.is_some() => {
                        open =
                            Some(Piece { start: after, end: after, text: String::new(), fixed: false, changed: false });
                    }
                    "tab" | "br" | "cr" if visible && !in_rpr => {
                        if let Some(n) = target {
                            let text = if local(qname.as_ref()) == "tab" { "\t" } else { "\n" };
                            pieces.entry(n).or_default().push(Piece {
                                start: before,
                                end: before,
                                text: text.into(),
                                fixed: true,
                                changed: false,
                            });
                        }
                    }
                    _ => {}
                }
            }
            Event::Text(ref t) => {
                if let Some(p) = &mut open {
                    p.text.push_str(&unescape(t));
                }
            }
            Event::CData(ref t) => {
                if let Some(p) = &mut open {
                    p.text.push_str(t);
                }
            }
            Event::GeneralRef(ref r) => {
                if let Some(p) = &mut open {
                    let name = r.to_string();
                    match resolve(&name) {
                        Some(ch) => p.text.push(ch),
                        None => p.text.push_str(&format!("&{name};")),
                    }
                }
            }
            Event::End(ref e) => match local(e.name().as_ref()) {
                "p" => drop(stack.pop()),
                "del" | "moveFrom" => del = del.saturating_sub(1),
                "rPr" => in_rpr = false,
                "t" => {
                    if let (Some(mut p), Some(n)) = (open.take(), target) {
                        p.end = before;
                        pieces.entry(n).or_default().push(p);
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    let mut changes: Vec<(usize, usize, String)> = Vec::new();
    for (n, edits) in std::mem::take(&mut paragraphs) {
        let at = format!("{part} 第 {n} 段");
        let mut ps = pieces.remove(&n).unwrap_or_default();
        for e in edits {
            replace_in_pieces(file, &mut ps, e, &at)?;
        }
        changes.extend(ps.into_iter().filter(|p| p.changed).map(|p| (p.start, p.end, p.text)));
    }
    changes.sort_by_key(|c| c.0);
    let mut new = Vec::with_capacity(xml.len() + 256);
    let mut copied = 0usize;
    for (start, end, text) in changes {
        new.extend_from_slice(&xml[copied..start]);
        new.extend_from_slice(escape(&text).as_bytes());
        copied = end;
    }
    new.extend_from_slice(&xml[copied..]);
    Ok(new)
}

/// Replaces the first occurrence of `e.original` in the pieces' joined
/// text: the mask goes into the piece where the match starts, and the rest
/// of the match is cut from the pieces it runs on into.
fn replace_in_pieces(file: &str, pieces: &mut [Piece], e: &Edit, at: &str) -> Result<(), Failure> {
    let joined: String = pieces.iter().map(|p| p.text.as_str()).collect();
    let Some(start) = joined.find(&e.original) else {
        return Err(not_found(file, e, at));
    };
    let end = start + e.original.len();
    let mut offset = 0usize;
    let mut placed = false;
    for p in pieces.iter_mut() {
        let (from, to) = (offset, offset + p.text.len());
        offset = to;
        if to <= start || from >= end {
            continue;
        }
        if p.fixed {
            return Err(refuse(file, format!("{at}中要打码的原文“{}”跨越了制表符或换行，无法自动打码", e.original)));
        }
        let (a, b) = (start.max(from) - from, end.min(to) - from);
        let mut text = String::with_capacity(p.text.len() + e.replacement.len());
        text.push_str(&p.text[..a]);
        if !placed {
            text.push_str(&e.replacement);
            placed = true;
        }
        text.push_str(&p.text[b..]);
        p.text = text;
        p.changed = true;
    }
    Ok(())
}

// --- CSV ---

/// How a text file was encoded, to write it back the same way.
enum Encoding {
    Utf8 { bom: bool },
    Utf16 { little: bool },
    Gb18030,
}

fn decode(file: &str, bytes: &[u8]) -> Result<(String, Encoding), Failure> {
    let text = crate::text::decode(file, bytes)?;
    let encoding = match encoding_rs::Encoding::for_bom(bytes) {
        Some((e, _)) if e == encoding_rs::UTF_8 => Encoding::Utf8 { bom: true },
        Some((e, _)) => Encoding::Utf16 { little: e == encoding_rs::UTF_16LE },
        None if std::str::from_utf8(bytes).is_ok() => Encoding::Utf8 { bom: false },
        None => Encoding::Gb18030,
    };
    Ok((text, encoding))
}

fn encode(file: &str, text: &str, encoding: &Encoding) -> Result<Vec<u8>, Failure> {
    Ok(match encoding {
        Encoding::Utf8 { bom } => {
            let mut out = if *bom { vec![0xEF, 0xBB, 0xBF] } else { Vec::new() };
            out.extend_from_slice(text.as_bytes());
            out
        }
        Encoding::Utf16 { little } => {
            let mut out = if *little { vec![0xFF, 0xFE] } else { vec![0xFE, 0xFF] };
            for u in text.encode_utf16() {
                out.extend_from_slice(&if *little { u.to_le_bytes() } else { u.to_be_bytes() });
            }
            out
        }
        Encoding::Gb18030 => {
            let (bytes, _, errors) = encoding_rs::GB18030.encode(text);
            if errors {
                return Err(refuse(file, "打码后的文字无法按 GB18030 编码写回"));
            }
            bytes.into_owned()
        }
    })
}

/// One CSV cell: its raw text's byte range, its value, whether it was quoted.
struct CsvCell {
    start: usize,
    end: usize,
    value: String,
    quoted: bool,
}

fn csv(file: &str, bytes: &[u8], edits: &[Edit]) -> Result<Vec<u8>, Failure> {
    let mut wanted: BTreeMap<String, Vec<&Edit>> = BTreeMap::new();
    for e in edits {
        match (&e.locator.part, &e.locator.cell, &e.locator.sheet) {
            (Part::Cell, Some(cell), None) => wanted.entry(cell.to_ascii_uppercase()).or_default().push(e),
            _ => return Err(refuse(file, "CSV 中只能改写单元格的文字，未作任何修改")),
        }
    }
    let (text, encoding) = decode(file, bytes)?;
    // The same splitting as the extraction (`text::read_csv`).
    let first = text.lines().next().unwrap_or("");
    let sep = if first.contains('\t') && !first.contains(',') { '\t' } else { ',' };
    let mut cells: Vec<(String, CsvCell)> = Vec::new();
    let (mut row, mut col) = (0u32, 0u32);
    let mut cell = CsvCell { start: 0, end: 0, value: String::new(), quoted: false };
    let mut quoted = false;
    let mut chars = text.char_indices().peekable();
    let mut flush = |cell: &mut CsvCell, end: usize, row: u32, col: u32| {
        let raw_end = if text[cell.start..end].ends_with('\r') { end - 1 } else { end };
        let done = std::mem::replace(cell, CsvCell { start: end + 1, end: 0, value: String::new(), quoted: false });
        let reference = format!("{}{}", column_name(col), row + 1);
        if wanted.contains_key(&reference) {
            cells.push((reference, CsvCell { end: raw_end, ..done }));
        }
    };
    while let Some((i, c)) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek().map(|(_, c)| *c) == Some('"') {
                    chars.next();
                    cell.value.push('"');
                } else {
                    quoted = false;
                }
            } else {
                cell.value.push(c);
            }
            continue;
        }
        match c {
            '"' if cell.value.is_empty() => {
                quoted = true;
                cell.quoted = true;
            }
            c if c == sep => {
                flush(&mut cell, i, row, col);
                col += 1;
            }
            '\r' => {}
            '\n' => {
                flush(&mut cell, i, row, col);
                row += 1;
                col = 0;
            }
            c => cell.value.push(c),
        }
    }
    if quoted {
        return Err(malformed(file, format!("CSV 第 {} 行的引号未闭合", row + 1)));
    }
    if cell.start < text.len() {
        flush(&mut cell, text.len(), row, col);
    }
    let mut changes = Vec::new();
    for (reference, c) in cells {
        let Some(edits) = wanted.remove(&reference) else { continue };
        let masked = apply(file, &c.value, &edits, &format!("单元格 {reference} "))?;
        let needs_quotes = c.quoted || masked.contains([sep, '"', '\n', '\r']);
        let raw = if needs_quotes { format!("\"{}\"", masked.replace('"', "\"\"")) } else { masked };
        changes.push((c.start, c.end, raw));
    }
    if let Some((reference, edits)) = wanted.into_iter().next() {
        return Err(not_found(file, edits[0], &format!("单元格 {reference} ")));
    }
    let mut new = String::with_capacity(text.len() + 64);
    let mut copied = 0usize;
    for (start, end, raw) in changes {
        new.push_str(&text[copied..start]);
        new.push_str(&raw);
        copied = end;
    }
    new.push_str(&text[copied..]);
    encode(file, &new, &encoding)
}
