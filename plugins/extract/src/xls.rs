//! Legacy Excel 97-2003 workbooks (`.xls`: BIFF8 records in the `Workbook`
//! stream of a CFB container): every cell with a value as a segment with
//! its sheet and A1 reference, hidden and very hidden sheets, hidden rows
//! (with content) and columns, cells whose number format hides the value
//! (`;;;`).
//!
//! Two passes. Ours walks the records (`cfb` opened and validated the
//! container): sheet positions and states, `FILEPASS` (encrypted), the
//! bounding box of each sheet's cells and its `DIMENSIONS` claim, `ROW` and
//! `COLINFO` visibility, `FORMAT`/`XF` number formats, `NOTE` (cell
//! comments). Calamine's parse is eager and dense (every sheet at once, a
//! rows × columns grid per sheet, reserved from `DIMENSIONS`), so a workbook
//! whose grids add up to more than the cell bound is refused here, before
//! calamine allocates anything; every record walked is charged to the
//! total-bytes bound. Then calamine (pure Rust, no features) decodes the
//! values: shared strings across `CONTINUE` records, code pages, RK numbers,
//! formula results.
//!
//! Not read, so reported as `not-extracted` when present rather than
//! passed: cell comments (`NOTE`). Not read at all: font colours (white on
//! white), text boxes and drawings, VBA, documents embedded as OLE objects.
//! BIFF5 and older workbooks are read as far as calamine reads them.
//!
//! Calamine indexes some records without checking their length; the walk
//! refuses the ones found to panic it (a sheet position outside the stream,
//! short `BOUNDSHEET`, `BOF`, `CODEPAGE`, `DATEMODE`, `EXTERNSHEET`, a
//! `Lbl` whose formula does not fit, an `SST` string cut short across its
//! `CONTINUE` records, an inverted `DIMENSIONS`). Another corrupt record that panics it is a trap in the
//! sandbox, which fails the review closed.

use std::collections::{BTreeSet, HashSet};
use std::io::Cursor;

use calamine::{Reader, SheetVisible, Xls, XlsError};

use crate::text::{cell_locator, column_name};
use crate::{FactKind, Failure, FailureKind, Out, Part, at, limit, malformed, u16_at, u32_at};

/// What our walk found in one sheet's substream.
#[derive(Default)]
struct SheetScan {
    /// Cells calamine will place: (min row, min col, max row, max col).
    cells: Option<(u32, u32, u32, u32)>,
    /// The largest `DIMENSIONS` claim (rows × columns).
    claimed: u64,
    hidden_rows: BTreeSet<u32>,
    hidden_cols: Vec<(u32, u32)>,
    /// Cells whose format hides the value.
    hidden_format: Vec<(u32, u32)>,
    notes: u32,
}

/// The records of a BIFF stream from `pos`: (type, data).
fn records(stream: &[u8], pos: usize) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = stream.get(pos..).unwrap_or_default();
    std::iter::from_fn(move || {
        let typ = u16_at(rest, 0)?;
        let len = usize::from(u16_at(rest, 2)?);
        let data = rest.get(4..4 + len)?;
        rest = &rest[4 + len..];
        Some((typ, data))
    })
}

/// The characters of an `XLUnicodeString` (a FORMAT record's code).
fn unicode_string(d: &[u8]) -> String {
    let (Some(cch), Some(flags)) = (u16_at(d, 0), d.get(2)) else { return String::new() };
    let body = d.get(3..).unwrap_or_default();
    if flags & 1 == 1 {
        let units: Vec<u16> =
            body.chunks_exact(2).take(usize::from(cch)).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        String::from_utf16_lossy(&units)
    } else {
        body.iter().take(usize::from(cch)).map(|&b| char::from(b)).collect()
    }
}

/// Whether a number format code shows nothing: every section empty (`;;;`).
fn hides_value(code: &str) -> bool {
    code.contains(';') && code.split(';').all(|s| s.trim().is_empty())
}

/// The cells a `DIMENSIONS` record makes calamine reserve, read as it reads
/// them (BIFF8: first row, last row + 1 as 32-bit; first, last column + 1;
/// BIFF5 all 16-bit); `None` where its arithmetic would overflow.
fn dimensions(d: &[u8]) -> Option<u64> {
    let (rf, rl, cf, cl) = match d.len() {
        10 => (u32::from(u16_at(d, 0)?), u32::from(u16_at(d, 2)?), u32::from(u16_at(d, 4)?), u32::from(u16_at(d, 6)?)),
        14 | 16 => (u32_at(d, 0)?, u32_at(d, 4)?, u32::from(u16_at(d, 8)?), u32::from(u16_at(d, 10)?)),
        // Calamine refuses other lengths itself.
        _ => return Some(0),
    };
    let cf = if cf > 0xFF || cl < cf { 0 } else { cf };
    if rl == 0 || cl == 0 {
        return Some(1);
    }
    let rows = (rl - 1).checked_sub(rf)?.checked_add(1)?;
    let cols = (cl - 1).checked_sub(cf)?.checked_add(1)?;
    Some(u64::from(rows) * u64::from(cols))
}

/// Whether a `Lbl` record is long enough for what calamine reads of it:
/// 14 bytes of header, a formula of `cce` bytes within the record, and a
/// 3-D reference or area whole (up to 21 bytes in BIFF5, 11 in BIFF8).
fn defined_name_is_sound(data: &[u8]) -> bool {
    let Some(cce) = u16_at(data, 4).map(usize::from) else { return false };
    if data.len() < 14 || cce > data.len() - 14 {
        return false;
    }
    match data.get(data.len() - cce) {
        Some(0x3a..=0x3d | 0x5a..=0x5d | 0x7a..=0x7d) => cce >= 21,
        _ => true,
    }
}

/// Whether calamine's parse of an `SST` record and its `CONTINUE` records
/// (`parse_sst`, `read_rich_extended_string`, `read_dbcs`) stays in bounds:
/// it indexes a rich or extended string's header cut short, and the first
/// byte of an empty `CONTINUE` where a string's characters go on, without
/// checking. Walks the strings as it does; what it refuses with an error
/// is left to it.
fn sst_is_sound(sst: &[u8], cont: &[&[u8]]) -> bool {
    let mut cont = cont.iter().copied();
    let Some(mut data) = sst.get(8..) else { return true };
    loop {
        if data.is_empty() {
            match cont.next() {
                Some(c) => data = c,
                None => return true,
            }
            continue;
        }
        let (Some(cch), Some(&flags)) = (u16_at(data, 0), data.get(2)) else { return true };
        data = &data[3..];
        let mut skip = 0usize;
        if flags & 0x8 != 0 {
            let Some(runs) = u16_at(data, 0) else { return false };
            skip = usize::from(runs) * 4;
            data = &data[2..];
        }
        if flags & 0x4 != 0 {
            let Some(ext) = u32_at(data, 0) else { return false };
            skip = skip.saturating_add(ext as i32 as usize);
            data = &data[4..];
        }
        let (mut left, mut wide) = (usize::from(cch), flags & 0x1 != 0);
        while left > 0 {
            let n = if wide { (data.len() / 2).min(left) } else { data.len().min(left) };
            data = &data[if wide { 2 * n } else { n }..];
            left -= n;
            if left > 0 {
                match cont.next() {
                    Some([]) => return false,
                    Some(c) => {
                        wide = c[0] & 0x1 != 0;
                        data = &c[1..];
                    }
                    None => return true,
                }
            }
        }
        while skip > 0 {
            if data.is_empty() {
                match cont.next() {
                    Some(c) => data = c,
                    None => return true,
                }
            }
            let n = skip.min(data.len());
            data = &data[n..];
            skip -= n;
        }
    }
}

/// Walks the globals and each sheet's substream. Returns per sheet (in
/// `BOUNDSHEET` order, calamine's) what it found.
fn scan(out: &mut Out<'_>, file: &str, stream: &[u8]) -> Result<Vec<SheetScan>, Failure> {
    let charge = |out: &mut Out<'_>, bytes: usize| -> Result<(), Failure> {
        out.archive_bytes += bytes as u64 + 4;
        if out.archive_bytes > out.bounds.max_total_bytes {
            return Err(limit(file, format!("XLS 工作簿的记录超过上限 {} MiB", out.bounds.max_total_bytes >> 20)));
        }
        Ok(())
    };
    let globals: Vec<(u16, &[u8])> = records(stream, 0).take_while(|(typ, _)| *typ != 0x000A).collect();
    for (i, (typ, data)) in globals.iter().enumerate() {
        if *typ == 0x00FC {
            let cont: Vec<&[u8]> = globals[i + 1..].iter().take_while(|(t, _)| *t == 0x003C).map(|(_, d)| *d).collect();
            if !sst_is_sound(data, &cont) {
                return Err(malformed(file, "XLS 工作簿的共享字符串表（SST）损坏"));
            }
        }
    }
    let (mut positions, mut hiding_formats, mut xfs) = (Vec::new(), HashSet::new(), Vec::new());
    for (typ, data) in records(stream, 0) {
        charge(out, data.len())?;
        match typ {
            0x002F => {
                return Err(Failure {
                    kind: FailureKind::Encrypted,
                    file: file.to_owned(),
                    message: "XLS 工作簿已加密，无法读取".into(),
                });
            }
            // Calamine indexes these records without checking their
            // length, and slices the stream at a sheet's position.
            0x0085 => {
                let pos = u32_at(data, 0).map_or(usize::MAX, |p| p as usize);
                if data.len() < 8 || pos >= stream.len() {
                    return Err(malformed(file, "XLS 工作簿的工作表目录（BOUNDSHEET）损坏"));
                }
                positions.push(pos);
            }
            0x0809 if data.len() < 4 => return Err(malformed(file, "XLS 工作簿的 BOF 记录损坏")),
            // Lbl (a defined name): calamine slices its formula from the
            // record's end and reads a 3-D reference's fields unchecked.
            0x0018 if !defined_name_is_sound(data) => {
                return Err(malformed(file, "XLS 工作簿的名称定义（Lbl）记录损坏"));
            }
            0x0017 if data.len() < 2 => return Err(malformed(file, "XLS 工作簿的外部工作表引用记录损坏")),
            0x0042 | 0x0022 if data.len() < 2 => return Err(malformed(file, "XLS 工作簿的代码页或日期记录损坏")),
            0x041E => {
                if let Some(id) = u16_at(data, 0)
                    && hides_value(&unicode_string(&data[2..]))
                {
                    hiding_formats.insert(id);
                }
            }
            0x00E0 => xfs.push(u16_at(data, 2).unwrap_or(0)),
            0x000A => break,
            _ => {}
        }
    }
    let hiding: HashSet<u16> =
        xfs.iter().enumerate().filter(|(_, f)| hiding_formats.contains(f)).map(|(i, _)| i as u16).collect();
    let mut sheets = Vec::new();
    for pos in positions {
        let mut sheet = SheetScan::default();
        let (mut seen_bof, mut nested) = (false, 0u32);
        let place = |sheet: &mut SheetScan, row: u32, col: u32, xf: Option<u16>| {
            let b = sheet.cells.get_or_insert((row, col, row, col));
            *b = (b.0.min(row), b.1.min(col), b.2.max(row), b.3.max(col));
            if xf.is_some_and(|x| hiding.contains(&x)) {
                sheet.hidden_format.push((row, col));
            }
        };
        for (typ, d) in records(stream, pos) {
            charge(out, d.len())?;
            if nested > 0 {
                match typ {
                    0x0809 => nested += 1,
                    0x000A => nested -= 1,
                    _ => {}
                }
                continue;
            }
            let (row, col) = (u16_at(d, 0).map(u32::from), u16_at(d, 2).map(u32::from));
            match typ {
                0x0809 if seen_bof => nested += 1,
                0x0809 => seen_bof = true,
                0x000A => break,
                0x0200 => match dimensions(d) {
                    Some(area) => sheet.claimed = sheet.claimed.max(area),
                    None => return Err(malformed(file, "XLS 工作表的范围记录（DIMENSIONS）损坏")),
                },
                0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD | 0x0006 => {
                    if let (Some(r), Some(c)) = (row, col) {
                        place(&mut sheet, r, c, u16_at(d, 4));
                    }
                }
                0x00BD => {
                    // MULRK: row, first column, (xf, rk) × n, last column.
                    if let (Some(r), Some(first)) = (row, col) {
                        let n = d.len().saturating_sub(6) / 6;
                        for i in 0..n {
                            place(&mut sheet, r, first + i as u32, u16_at(d, 4 + 6 * i));
                        }
                    }
                }
                0x0208 => {
                    // ROW: fDyZero (hidden) is bit 5 of the flags at 12.
                    if let (Some(r), Some(flags)) = (row, u16_at(d, 12))
                        && flags & 0x20 != 0
                    {
                        sheet.hidden_rows.insert(r);
                    }
                }
                0x007D => {
                    // COLINFO: first, last column; fHidden is bit 0 at 8.
                    if let (Some(first), Some(last), Some(flags)) = (u16_at(d, 0), u16_at(d, 2), u16_at(d, 8))
                        && flags & 1 != 0
                    {
                        sheet.hidden_cols.push((u32::from(first), u32::from(last.max(first))));
                    }
                }
                0x001C => sheet.notes += 1,
                _ => {}
            }
        }
        sheets.push(sheet);
    }
    // Calamine holds every sheet's grid at once: the grids, and each
    // DIMENSIONS reservation, must fit the cell bound together.
    let grids: u64 = sheets
        .iter()
        .map(|s| {
            let grid = s.cells.map_or(0, |(r0, c0, r1, c1)| u64::from(r1 - r0 + 1) * u64::from(c1 - c0 + 1));
            grid.max(s.claimed)
        })
        .sum();
    let left = u64::from(out.bounds.max_cells.saturating_sub(out.cells));
    if grids > left {
        return Err(limit(file, format!("XLS 工作簿的表格范围共 {grids} 个单元格，超过上限 {left} 个")));
    }
    Ok(sheets)
}

/// The BIFF stream of a CFB container, if it is a workbook.
pub(crate) fn workbook_stream(
    out: &mut Out<'_>,
    file: &str,
    comp: &mut cfb::CompoundFile<Cursor<&[u8]>>,
) -> Result<Option<Vec<u8>>, Failure> {
    let Some(name) = ["/Workbook", "/Book"].into_iter().find(|n| comp.is_stream(n)) else {
        return Ok(None);
    };
    let bytes = crate::cfb_stream(out, file, comp, name, "XLS 工作簿")?;
    Ok(Some(bytes))
}

/// Reads an XLS whose container is valid and whose workbook stream is
/// `stream`.
pub(crate) fn read(out: &mut Out<'_>, file: &str, bytes: &[u8], stream: &[u8]) -> Result<(), Failure> {
    let scans = scan(out, file, stream)?;
    let mut book = Xls::new(Cursor::new(bytes)).map_err(|e| match e {
        XlsError::Password => Failure {
            kind: FailureKind::Encrypted,
            file: file.to_owned(),
            message: "XLS 工作簿已加密，无法读取".into(),
        },
        e => malformed(file, format!("XLS 工作簿无法解析：{e}")),
    })?;
    let sheets = book.sheets_metadata().to_vec();
    for (i, sheet) in sheets.iter().enumerate() {
        let name = sheet.name.clone();
        let sheet_at = || {
            let mut loc = at(file, Part::Cell);
            loc.sheet = Some(name.clone());
            loc
        };
        match sheet.visible {
            SheetVisible::Hidden => out.fact(FactKind::HiddenSheet, sheet_at(), format!("工作表“{name}”被隐藏"))?,
            SheetVisible::VeryHidden => {
                out.fact(FactKind::VeryHiddenSheet, sheet_at(), format!("工作表“{name}”被深度隐藏（veryHidden）"))?
            }
            SheetVisible::Visible => {}
        }
        let range = book.worksheet_range(&name).map_err(|e| malformed(file, format!("工作表“{name}”无法读取：{e}")))?;
        let (row0, col0) = range.start().unwrap_or((0, 0));
        let mut rows_with_content = BTreeSet::new();
        let mut filled = HashSet::new();
        for (r, c, value) in range.used_cells() {
            let text = value.to_string();
            if text.trim().is_empty() {
                continue;
            }
            let (row, col) = (row0 + r as u32, col0 + c as u32);
            out.count_cell(file)?;
            rows_with_content.insert(row);
            filled.insert((row, col));
            out.segment(cell_locator(file, Some(&name), col, row), text)?;
        }
        let Some(scan) = scans.get(i) else { continue };
        for row in scan.hidden_rows.intersection(&rows_with_content) {
            let mut loc = sheet_at();
            loc.cell = Some(format!("{0}:{0}", row + 1));
            out.fact(FactKind::HiddenRow, loc, format!("工作表“{name}”第 {} 行被隐藏且有内容", row + 1))?;
        }
        for &(min, max) in &scan.hidden_cols {
            let (a, b) = (column_name(min), column_name(max.min(255)));
            let mut loc = sheet_at();
            loc.cell = Some(format!("{a}:{b}"));
            out.fact(FactKind::HiddenColumn, loc, format!("工作表“{name}”的 {a}:{b} 列被隐藏"))?;
        }
        for &(row, col) in scan.hidden_format.iter().filter(|p| filled.contains(p)) {
            let loc = cell_locator(file, Some(&name), col, row);
            let cell = loc.cell.clone().unwrap_or_default();
            out.fact(FactKind::HiddenFormat, loc, format!("工作表“{name}”的单元格 {cell} 用格式“;;;”隐藏了内容"))?;
        }
        if scan.notes > 0 {
            out.fact(
                FactKind::NotExtracted,
                sheet_at(),
                format!("工作表“{name}”有 {} 条旧版批注（XLS）：未能提取文字", scan.notes),
            )?;
        }
    }
    Ok(())
}
