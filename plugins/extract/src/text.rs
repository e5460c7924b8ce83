//! Plain text and CSV: decoding (BOM, UTF-8, else GB18030) and splitting
//! into located segments.

use crate::{Failure, Locator, Out, Part, at, malformed};

/// Decodes text bytes: a UTF-8 or UTF-16 byte-order mark wins, then valid
/// UTF-8, then GB18030 (a superset of GBK and GB2312) if it decodes without
/// errors; anything else is malformed.
pub(crate) fn decode(file: &str, bytes: &[u8]) -> Result<String, Failure> {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        let (s, had_errors) = encoding.decode_without_bom_handling(&bytes[bom..]);
        if had_errors {
            return Err(malformed(file, format!("文件声明为 {} 编码，但内容无法按此解码", encoding.name())));
        }
        return Ok(s.into_owned());
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_owned());
    }
    let (s, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(malformed(file, "文本既不是 UTF-8 也不是 GB18030 编码，无法读取"));
    }
    Ok(s.into_owned())
}

/// One segment per line; the locator's `paragraph` is the 1-based line.
pub(crate) fn read_lines(out: &mut Out<'_>, file: &str, text: &str) -> Result<(), Failure> {
    for (i, line) in text.lines().enumerate() {
        let mut loc = at(file, Part::Body);
        loc.paragraph = Some(i as u32 + 1);
        out.segment(loc, line.to_owned())?;
    }
    Ok(())
}

/// `A`, `B`, ..., `Z`, `AA` ... for a 0-based column.
pub(crate) fn column_name(mut col: u32) -> String {
    let mut name = Vec::new();
    loop {
        name.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    name.reverse();
    String::from_utf8(name).unwrap_or_default()
}

pub(crate) fn cell_locator(file: &str, sheet: Option<&str>, col: u32, row: u32) -> Locator {
    let mut loc = at(file, Part::Cell);
    loc.sheet = sheet.map(str::to_owned);
    loc.cell = Some(format!("{}{}", column_name(col), row + 1));
    loc
}

/// RFC 4180 CSV (quotes, doubled quotes, newlines inside quotes; a comma, or
/// a tab when the first line has tabs and no commas): one segment per cell.
pub(crate) fn read_csv(out: &mut Out<'_>, file: &str, text: &str) -> Result<(), Failure> {
    let first = text.lines().next().unwrap_or("");
    let sep = if first.contains('\t') && !first.contains(',') { '\t' } else { ',' };
    let (mut row, mut col) = (0u32, 0u32);
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let flush = |out: &mut Out<'_>, cell: &mut String, row: u32, col: u32| -> Result<(), Failure> {
        if !cell.trim().is_empty() {
            out.count_cell(file)?;
            out.segment(cell_locator(file, None, col, row), std::mem::take(cell))?;
        }
        cell.clear();
        Ok(())
    };
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cell.push('"');
                } else {
                    quoted = false;
                }
            } else {
                cell.push(c);
            }
            continue;
        }
        match c {
            '"' if cell.is_empty() => quoted = true,
            c if c == sep => {
                flush(out, &mut cell, row, col)?;
                col += 1;
            }
            '\r' => {}
            '\n' => {
                flush(out, &mut cell, row, col)?;
                row += 1;
                col = 0;
            }
            c => cell.push(c),
        }
    }
    if quoted {
        return Err(malformed(file, format!("CSV 第 {} 行的引号未闭合", row + 1)));
    }
    flush(out, &mut cell, row, col)
}
