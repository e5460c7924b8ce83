//! XLSX (SpreadsheetML): every cell with text or a value as a segment with
//! its sheet and A1 reference, and facts for what a reader does not see:
//! hidden and very hidden sheets, hidden rows and columns (with content),
//! cells whose number format hides the value (`;;;`) or whose font colour is
//! the colour of their fill (white on white), cell comments.
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

/// An sRGB colour.
type Rgb = [u8; 3];

/// The default palette of `indexed` colours (ECMA-376 Part 1, 18.8.27),
/// used unless `styles.xml` gives its own `indexedColors`. 64 is the system
/// foreground (window text, black) and 65 the system background (white).
const PALETTE: [u32; 66] = [
    0x000000, 0xFFFFFF, 0xFF0000, 0x00FF00, 0x0000FF, 0xFFFF00, 0xFF00FF, 0x00FFFF, // 0-7
    0x000000, 0xFFFFFF, 0xFF0000, 0x00FF00, 0x0000FF, 0xFFFF00, 0xFF00FF, 0x00FFFF, // 8-15
    0x800000, 0x008000, 0x000080, 0x808000, 0x800080, 0x008080, 0xC0C0C0, 0x808080, // 16-23
    0x9999FF, 0x993366, 0xFFFFCC, 0xCCFFFF, 0x660066, 0xFF8080, 0x0066CC, 0xCCCCFF, // 24-31
    0x000080, 0xFF00FF, 0xFFFF00, 0x00FFFF, 0x800080, 0x800000, 0x008080, 0x0000FF, // 32-39
    0x00CCFF, 0xCCFFFF, 0xCCFFCC, 0xFFFF99, 0x99CCFF, 0xFF99CC, 0xCC99FF, 0xFFCC99, // 40-47
    0x3366FF, 0x33CCCC, 0x99CC00, 0xFFCC00, 0xFF9900, 0xFF6600, 0x666699, 0x969696, // 48-55
    0x003366, 0x339966, 0x003300, 0x333300, 0x993300, 0x993366, 0x333399, 0x333333, // 56-63
    0x000000, 0xFFFFFF, // 64-65
];

const BLACK: Rgb = [0, 0, 0];
const WHITE: Rgb = [0xFF, 0xFF, 0xFF];
/// Colours closer than this in every channel cannot be told apart on screen.
const SAME_COLOUR: u8 = 16;

fn rgb_of(v: u32) -> Rgb {
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

/// `FFRRGGBB` (ARGB, alpha not applied by Excel) or `RRGGBB`.
fn parse_rgb(s: &str) -> Option<Rgb> {
    let hex = match s.len() {
        8 => &s[2..],
        6 => s,
        _ => return None,
    };
    u32::from_str_radix(hex, 16).ok().map(rgb_of)
}

/// A colour element's attributes (`rgb`, `indexed`, `theme` with `tint`;
/// `auto` is `None`: the application's default).
#[derive(Clone, Default)]
struct ColourRef {
    rgb: Option<Rgb>,
    indexed: Option<usize>,
    theme: Option<usize>,
    tint: f32,
}

impl ColourRef {
    fn of(a: &crate::xml::Attrs) -> ColourRef {
        ColourRef {
            rgb: a.get("rgb").and_then(parse_rgb),
            indexed: a.get("indexed").and_then(|v| v.parse().ok()),
            theme: a.get("theme").and_then(|v| v.parse().ok()),
            tint: a.get("tint").and_then(|v| v.parse::<f32>().ok()).unwrap_or(0.0).clamp(-1.0, 1.0),
        }
    }

    /// The colour, if it can be resolved: `rgb` first, then `indexed`
    /// through the palette, then `theme` through the theme's colour scheme
    /// (index 0 is lt1, 1 dk1, 2 lt2, 3 dk2, 4-9 the accents, as Excel maps
    /// them). A tint lightens or darkens each channel linearly, which is
    /// exact for white, black and greys and close for the rest (Excel tints
    /// in HLS).
    fn resolve(&self, palette: &[Rgb], theme: &[Option<Rgb>]) -> Option<Rgb> {
        let base = if let Some(rgb) = self.rgb {
            rgb
        } else if let Some(i) = self.indexed {
            *palette.get(i)?
        } else if let Some(i) = self.theme {
            let slot = match i {
                0 => 1,
                1 => 0,
                2 => 3,
                3 => 2,
                n => n,
            };
            (*theme.get(slot)?)?
        } else {
            return None;
        };
        let t = self.tint;
        Some(base.map(|c| {
            let c = f32::from(c);
            (if t < 0.0 { c * (1.0 + t) } else { c + (255.0 - c) * t }).round() as u8
        }))
    }
}

fn same_colour(a: Rgb, b: Rgb) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= SAME_COLOUR)
}

/// What a cell style (`cellXfs` index) hides.
#[derive(Default)]
struct Styles {
    /// Number format `;;;`.
    hidden_format: HashSet<u32>,
    /// Font colour the same as the fill (or white on no fill).
    invisible_colour: HashSet<u32>,
}

/// The theme's colour scheme in document order (dk1, lt1, dk2, lt2,
/// accent1-6, hlink, folHlink), from the workbook's theme part.
fn theme_colours(out: &mut Out<'_>, zip: &mut Zip<'_>) -> Result<Vec<Option<Rgb>>, Failure> {
    let part = rels(out, zip, "xl/_rels/workbook.xml.rels", "xl")?
        .into_iter()
        .find(|(_, ty, _)| ty == "theme")
        .map_or_else(|| "xl/theme/theme1.xml".to_owned(), |(_, _, t)| t);
    let Some(xml) = zip.read(out, &part)? else {
        return Ok(Vec::new());
    };
    let file = zip.path.clone();
    // Depth inside `clrScheme`: 1 a slot (`dk1` ...), 2 its colour.
    let (mut colours, mut depth, mut slot) = (Vec::new(), 0u32, None::<Rgb>);
    events(&file, &part, &xml, |ev| {
        match ev {
            Ev::Start("clrScheme", _) if depth == 0 => depth = 1,
            Ev::Start(name, a) if depth > 0 => {
                depth += 1;
                if depth == 3 {
                    slot = match name {
                        "srgbClr" => a.get("val").and_then(parse_rgb),
                        "sysClr" => a.get("lastClr").and_then(parse_rgb).or(match a.get("val") {
                            Some("window") => Some(WHITE),
                            _ => Some(BLACK),
                        }),
                        _ => slot,
                    };
                }
            }
            Ev::End(_) if depth > 0 => {
                depth -= 1;
                if depth == 1 {
                    // The slot ends: unknown colours keep their place.
                    colours.push(slot.take());
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(colours)
}

/// Reads `styles.xml`: which cell styles hide their value, by a `;;;`
/// number format or by a font colour the same as the cell's fill (white on
/// no fill included: no fill shows the white sheet). Not resolved, so never
/// reported: gradient and non-solid pattern fills, conditional formats,
/// rich-text runs with colours of their own, and colours a style leaves to
/// the application (`auto`: black text).
fn styles(out: &mut Out<'_>, zip: &mut Zip<'_>) -> Result<Styles, Failure> {
    let mut found = Styles::default();
    let Some(xml) = zip.read(out, "xl/styles.xml")? else {
        return Ok(found);
    };
    let theme = theme_colours(out, zip)?;
    let file = zip.path.clone();
    let mut hidden_formats = HashSet::new();
    let mut palette: Vec<Rgb> = Vec::new();
    // Font colours and fill colours (`None`: no fill; `Some(None)` a fill
    // whose colour is not known).
    let mut fonts: Vec<Option<ColourRef>> = Vec::new();
    let mut fills: Vec<Option<Option<ColourRef>>> = Vec::new();
    let mut xfs: Vec<(u32, usize, usize)> = Vec::new();
    let (mut section, mut in_font, mut pattern) = ("", false, None::<String>);
    events(&file, "xl/styles.xml", &xml, |ev| {
        match ev {
            Ev::Start("numFmt", a) => {
                if let (Some(id), Some(code)) = (a.get("numFmtId"), a.get("formatCode"))
                    && hides_value(code)
                {
                    hidden_formats.insert(id.to_owned());
                }
            }
            Ev::Start(s @ ("fonts" | "fills" | "cellXfs" | "indexedColors" | "cellStyleXfs" | "dxfs"), _) => {
                section = match s {
                    "fonts" => "fonts",
                    "fills" => "fills",
                    "cellXfs" => "cellXfs",
                    "indexedColors" => "indexedColors",
                    _ => "other",
                };
            }
            Ev::End("fonts" | "fills" | "cellXfs" | "indexedColors" | "cellStyleXfs" | "dxfs") => section = "",
            Ev::Start("rgbColor", a) if section == "indexedColors" => {
                palette.push(a.get("rgb").and_then(parse_rgb).unwrap_or(BLACK));
            }
            Ev::Start("font", _) if section == "fonts" => {
                in_font = true;
                fonts.push(None);
            }
            Ev::End("font") => in_font = false,
            Ev::Start("color", a) if in_font => {
                if let Some(last) = fonts.last_mut() {
                    *last = Some(ColourRef::of(a));
                }
            }
            Ev::Start("fill", _) if section == "fills" => {
                fills.push(Some(None));
                pattern = None;
            }
            Ev::Start("patternFill", a) if section == "fills" => {
                let ty = a.get("patternType").unwrap_or("none").to_owned();
                if ty == "none"
                    && let Some(last) = fills.last_mut()
                {
                    *last = None;
                }
                pattern = Some(ty);
            }
            Ev::Start("fgColor", a) if section == "fills" && pattern.as_deref() == Some("solid") => {
                if let Some(last) = fills.last_mut() {
                    *last = Some(Some(ColourRef::of(a)));
                }
            }
            Ev::Start("xf", a) if section == "cellXfs" => {
                let index = xfs.len() as u32;
                if a.get("numFmtId").is_some_and(|id| hidden_formats.contains(id)) {
                    found.hidden_format.insert(index);
                }
                let id = |k: &str| a.get(k).and_then(|v| v.parse().ok()).unwrap_or(0usize);
                xfs.push((index, id("fontId"), id("fillId")));
            }
            _ => {}
        }
        Ok(())
    })?;
    let mut full: Vec<Rgb> = PALETTE.iter().copied().map(rgb_of).collect();
    for (i, c) in palette.into_iter().enumerate() {
        full[i] = c;
    }
    for (index, font, fill) in xfs {
        let Some(text) = fonts.get(font).and_then(|c| c.as_ref()?.resolve(&full, &theme)) else { continue };
        let background = match fills.get(fill) {
            None | Some(None) => Some(WHITE),
            Some(Some(colour)) => colour.as_ref().and_then(|c| c.resolve(&full, &theme)),
        };
        if background.is_some_and(|b| same_colour(text, b)) {
            found.invisible_colour.insert(index);
        }
    }
    Ok(found)
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
    styles: &Styles,
) -> Result<(), Failure> {
    let Some(xml) = zip.read(out, &sheet.part)? else {
        return Err(malformed(&zip.path, format!("缺少工作表“{}”的部件 {}", sheet.name, sheet.part)));
    };
    let file = zip.path.clone();
    let name = Some(sheet.name.as_str());
    let mut hidden_cols: Vec<(u32, u32)> = Vec::new();
    let mut hidden_rows_with_content: Vec<u32> = Vec::new();
    let mut hidden_format_cells: Vec<String> = Vec::new();
    let mut invisible_cells: Vec<String> = Vec::new();
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
                        // A cell without a style has style 0.
                        let style = style.unwrap_or(0);
                        if styles.hidden_format.contains(&style) {
                            hidden_format_cells.push(loc.cell.clone().unwrap_or_default());
                        } else if styles.invisible_colour.contains(&style) {
                            invisible_cells.push(loc.cell.clone().unwrap_or_default());
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
    for cell in invisible_cells {
        let mut loc = sheet_at();
        loc.cell = Some(cell.clone());
        out.fact(
            FactKind::HiddenFormat,
            loc,
            format!("工作表“{}”的单元格 {cell} 文字颜色与底色相同，内容不可见", sheet.name),
        )?;
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
    let styles = styles(out, zip)?;
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
        read_sheet(out, zip, &sheet, &strings, &styles)?;
        read_comments(out, zip, &sheet)?;
    }
    for part in ["docProps/core.xml", "docProps/app.xml", "docProps/custom.xml"] {
        crate::docx::read_properties(out, zip, part)?;
    }
    Ok(())
}
