//! XLSX (SpreadsheetML): every cell with text or a value as a segment with
//! its sheet and A1 reference, and facts for what a reader does not see:
//! hidden and very hidden sheets, hidden rows and columns (with content),
//! cells whose number format hides the value (`;;;`), cell comments.
//!
//! Read with zip + quick-xml rather than calamine: calamine returns values
//! but not row/column visibility, number formats or comments' cells, which
//! are exactly what this review needs.

use std::collections::{HashMap, HashSet};

use crate::archive::Zip;
use crate::docx::clip;
use crate::text::cell_locator;
use crate::xml::{Ev, events};
use crate::{FactKind, Failure, Out, Part, at, malformed};

/// Resolves a relationship target against the part that names it.
fn resolve(base_dir: &str, target: &str) -> String {
    if let Some(abs) = target.strip_prefix('/') {
        return abs.to_owned();
    }
    let mut parts: Vec<&str> = base_dir.split('/').filter(|p| !p.is_empty()).collect();
    for seg in target.split('/') {
        match seg {
            ".." => drop(parts.pop()),
            "." | "" => {}
            s => parts.push(s),
        }
    }
    parts.join("/")
}

fn rels(
    out: &mut Out<'_>,
    zip: &mut Zip<'_>,
    name: &str,
    base_dir: &str,
) -> Result<Vec<(String, String, String)>, Failure> {
    let mut found = Vec::new();
    if let Some(xml) = zip.read(out, name)? {
        let file = zip.path.clone();
        events(&file, name, &xml, |ev| {
            if let Ev::Start("Relationship", a) = ev
                && let (Some(id), Some(target)) = (a.get("Id"), a.get("Target"))
            {
                let ty = a.get("Type").unwrap_or_default().rsplit('/').next().unwrap_or_default().to_owned();
                let target =
                    if a.get("TargetMode") == Some("External") { target.to_owned() } else { resolve(base_dir, target) };
                found.push((id.to_owned(), ty, target));
            }
            Ok(())
        })?;
    }
    Ok(found)
}

/// The 0-based (column, row) of an A1 reference.
pub(crate) fn parse_ref(r: &str) -> Option<(u32, u32)> {
    let letters = r.bytes().take_while(u8::is_ascii_alphabetic).count();
    if letters == 0 || letters > 3 {
        return None;
    }
    let col = r[..letters].bytes().fold(0u32, |acc, b| acc * 26 + u32::from(b.to_ascii_uppercase() - b'A' + 1)) - 1;
    let row: u32 = r[letters..].parse().ok()?;
    Some((col, row.checked_sub(1)?))
}

pub(crate) fn shared_strings(out: &mut Out<'_>, zip: &mut Zip<'_>) -> Result<Vec<String>, Failure> {
    let mut strings = Vec::new();
    let Some(xml) = zip.read(out, "xl/sharedStrings.xml")? else {
        return Ok(strings);
    };
    let file = zip.path.clone();
    let (mut cur, mut in_t, mut in_phonetic) = (String::new(), false, false);
    events(&file, "xl/sharedStrings.xml", &xml, |ev| {
        match ev {
            Ev::Start("si", _) => cur.clear(),
            Ev::Start("rPh", _) => in_phonetic = true,
            Ev::End("rPh") => in_phonetic = false,
            Ev::Start("t", _) => in_t = !in_phonetic,
            Ev::End("t") => in_t = false,
            Ev::Text(t) if in_t => cur.push_str(t),
            Ev::End("si") => strings.push(std::mem::take(&mut cur)),
            _ => {}
        }
        Ok(())
    })?;
    Ok(strings)
}

/// Whether a number format code shows nothing: every section empty (`;;;`).
fn hides_value(code: &str) -> bool {
    code.contains(';') && code.split(';').all(|s| s.trim().is_empty())
}

/// Indexes of cell styles (`cellXfs`) whose number format hides the value.
fn hiding_styles(out: &mut Out<'_>, zip: &mut Zip<'_>) -> Result<HashSet<u32>, Failure> {
    let mut hiding = HashSet::new();
    let Some(xml) = zip.read(out, "xl/styles.xml")? else {
        return Ok(hiding);
    };
    let file = zip.path.clone();
    let mut hidden_formats = HashSet::new();
    let (mut in_xfs, mut index) = (false, 0u32);
    events(&file, "xl/styles.xml", &xml, |ev| {
        match ev {
            Ev::Start("numFmt", a) => {
                if let (Some(id), Some(code)) = (a.get("numFmtId"), a.get("formatCode"))
                    && hides_value(code)
                {
                    hidden_formats.insert(id.to_owned());
                }
            }
            Ev::Start("cellXfs", _) => in_xfs = true,
            Ev::End("cellXfs") => in_xfs = false,
            Ev::Start("xf", a) if in_xfs => {
                if a.get("numFmtId").is_some_and(|id| hidden_formats.contains(id)) {
                    hiding.insert(index);
                }
                index += 1;
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(hiding)
}

pub(crate) struct Sheet {
    pub(crate) name: String,
    state: String,
    pub(crate) part: String,
}

pub(crate) fn sheets(out: &mut Out<'_>, zip: &mut Zip<'_>) -> Result<Vec<Sheet>, Failure> {
    let targets: HashMap<String, String> =
        rels(out, zip, "xl/_rels/workbook.xml.rels", "xl")?.into_iter().map(|(id, _, t)| (id, t)).collect();
    let Some(xml) = zip.read(out, "xl/workbook.xml")? else {
        return Ok(Vec::new());
    };
    let file = zip.path.clone();
    let mut found = Vec::new();
    events(&file, "xl/workbook.xml", &xml, |ev| {
        if let Ev::Start("sheet", a) = ev {
            let name = a.get("name").unwrap_or_default().to_owned();
            let part = a
                .get("id")
                .and_then(|id| targets.get(id))
                .cloned()
                .ok_or_else(|| malformed(&file, format!("工作表“{name}”在工作簿中没有对应的部件")))?;
            found.push(Sheet { name, state: a.get("state").unwrap_or("visible").to_owned(), part });
        }
        Ok(())
    })?;
    Ok(found)
}

/// Reads one worksheet's cells, hidden rows and columns, hidden formats.
fn read_sheet(
    out: &mut Out<'_>,
    zip: &mut Zip<'_>,
    sheet: &Sheet,
    strings: &[String],
    hiding: &HashSet<u32>,
) -> Result<(), Failure> {
    let Some(xml) = zip.read(out, &sheet.part)? else {
        return Err(malformed(&zip.path, format!("缺少工作表“{}”的部件 {}", sheet.name, sheet.part)));
    };
    let file = zip.path.clone();
    let name = Some(sheet.name.as_str());
    let mut hidden_cols: Vec<(u32, u32)> = Vec::new();
    let mut hidden_rows_with_content: Vec<u32> = Vec::new();
    let mut hidden_format_cells: Vec<String> = Vec::new();
    let (mut row_hidden, mut row_reported) = (false, false);
    let mut row_no = 0u32;
    let mut next_col = 0u32;
    let mut cell: Option<(u32, u32, String, Option<u32>)> = None;
    let (mut value, mut in_v) = (String::new(), false);
    events(&file, &sheet.part, &xml, |ev| {
        match ev {
            Ev::Start("col", a) if a.get("hidden").is_some_and(|h| h == "1" || h == "true") => {
                let min = a.get("min").and_then(|v| v.parse::<u32>().ok()).unwrap_or(1);
                let max = a.get("max").and_then(|v| v.parse::<u32>().ok()).unwrap_or(min);
                hidden_cols.push((min.saturating_sub(1), max.saturating_sub(1)));
            }
            Ev::Start("row", a) => {
                row_no = a.get("r").and_then(|r| r.parse::<u32>().ok()).map_or(row_no + 1, |r| r);
                row_hidden = a.get("hidden").is_some_and(|h| h == "1" || h == "true");
                row_reported = false;
                next_col = 0;
            }
            Ev::Start("c", a) => {
                let (col, row) = a.get("r").and_then(parse_ref).unwrap_or((next_col, row_no.saturating_sub(1)));
                next_col = col + 1;
                let style = a.get("s").and_then(|s| s.parse().ok());
                cell = Some((col, row, a.get("t").unwrap_or("n").to_owned(), style));
                value.clear();
            }
            Ev::Start("v" | "t", _) if cell.is_some() => in_v = true,
            Ev::End("v" | "t") => in_v = false,
            Ev::Text(t) if in_v => value.push_str(t),
            Ev::End("c") => {
                if let Some((col, row, ty, style)) = cell.take() {
                    let text = match ty.as_str() {
                        "s" => value.trim().parse::<usize>().ok().and_then(|i| strings.get(i)).cloned().ok_or_else(
                            || malformed(&file, format!("工作表“{}”引用了不存在的共享字符串", sheet.name)),
                        )?,
                        "b" => {
                            if value.trim() == "1" {
                                "TRUE".into()
                            } else {
                                "FALSE".into()
                            }
                        }
                        _ => std::mem::take(&mut value),
                    };
                    if !text.trim().is_empty() {
                        out.count_cell(&file)?;
                        let loc = cell_locator(&file, name, col, row);
                        if row_hidden && !row_reported {
                            row_reported = true;
                            hidden_rows_with_content.push(row + 1);
                        }
                        if style.is_some_and(|s| hiding.contains(&s)) {
                            hidden_format_cells.push(loc.cell.clone().unwrap_or_default());
                        }
                        out.segment(loc, text)?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    let sheet_at = || {
        let mut loc = at(&file, Part::Cell);
        loc.sheet = Some(sheet.name.clone());
        loc
    };
    for row in hidden_rows_with_content {
        let mut loc = sheet_at();
        loc.cell = Some(format!("{row}:{row}"));
        out.fact(FactKind::HiddenRow, loc, format!("工作表“{}”第 {row} 行被隐藏且有内容", sheet.name))?;
    }
    for (min, max) in hidden_cols {
        let (a, b) = (crate::text::column_name(min), crate::text::column_name(max.min(16_383)));
        let mut loc = sheet_at();
        loc.cell = Some(format!("{a}:{b}"));
        out.fact(FactKind::HiddenColumn, loc, format!("工作表“{}”的 {a}:{b} 列被隐藏", sheet.name))?;
    }
    for cell in hidden_format_cells {
        let mut loc = sheet_at();
        loc.cell = Some(cell.clone());
        out.fact(FactKind::HiddenFormat, loc, format!("工作表“{}”的单元格 {cell} 用格式“;;;”隐藏了内容", sheet.name))?;
    }
    Ok(())
}

/// Reads the comments of one sheet.
fn read_comments(out: &mut Out<'_>, zip: &mut Zip<'_>, sheet: &Sheet) -> Result<(), Failure> {
    let dir = sheet.part.rsplit_once('/').map_or("", |(d, _)| d);
    let file_name = sheet.part.rsplit_once('/').map_or(sheet.part.as_str(), |(_, f)| f);
    let rels_name = format!("{dir}/_rels/{file_name}.rels");
    for (_, ty, target) in rels(out, zip, &rels_name, dir)? {
        if ty == "hyperlink" {
            let mut loc = at(&zip.path, Part::Link);
            loc.sheet = Some(sheet.name.clone());
            loc.detail = Some(target.clone());
            out.fact(FactKind::Link, loc, target)?;
            continue;
        }
        if ty != "comments" {
            continue;
        }
        let Some(xml) = zip.read(out, &target)? else {
            continue;
        };
        let file = zip.path.clone();
        let mut found = Vec::new();
        let (mut cell, mut text, mut in_t) = (None::<String>, String::new(), false);
        events(&file, &target, &xml, |ev| {
            match ev {
                Ev::Start("comment", a) => {
                    cell = a.get("ref").map(str::to_owned);
                    text.clear();
                }
                Ev::Start("t", _) => in_t = true,
                Ev::End("t") => in_t = false,
                Ev::Text(t) if in_t => text.push_str(t),
                Ev::End("comment") => found.push((cell.take(), std::mem::take(&mut text))),
                _ => {}
            }
            Ok(())
        })?;
        for (cell, text) in found {
            let mut loc = at(&file, Part::Comment);
            loc.sheet = Some(sheet.name.clone());
            loc.cell = cell;
            out.fact(FactKind::Comment, loc.clone(), format!("批注：{}", clip(&text)))?;
            out.segment(loc, text)?;
        }
    }
    Ok(())
}

/// Reads an XLSX.
pub(crate) fn read(out: &mut Out<'_>, zip: &mut Zip<'_>) -> Result<(), Failure> {
    let strings = shared_strings(out, zip)?;
    let hiding = hiding_styles(out, zip)?;
    for sheet in sheets(out, zip)? {
        let kind = match sheet.state.as_str() {
            "hidden" => Some(FactKind::HiddenSheet),
            "veryHidden" => Some(FactKind::VeryHiddenSheet),
            _ => None,
        };
        if let Some(kind) = kind {
            let mut loc = at(&zip.path, Part::Cell);
            loc.sheet = Some(sheet.name.clone());
            let how = if kind == FactKind::VeryHiddenSheet { "深度隐藏（veryHidden）" } else { "隐藏" };
            out.fact(kind, loc, format!("工作表“{}”被{how}", sheet.name))?;
        }
        read_sheet(out, zip, &sheet, &strings, &hiding)?;
        read_comments(out, zip, &sheet)?;
    }
    for part in ["docProps/core.xml", "docProps/app.xml", "docProps/custom.xml"] {
        crate::docx::read_properties(out, zip, part)?;
    }
    Ok(())
}
