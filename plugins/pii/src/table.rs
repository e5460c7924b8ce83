//! Tables in plain text: rosters and 公示 lists pasted as rows of cells
//! separated by tabs or spaces, under a header row (`序号 姓名 身份证号 住址`).
//! A header cell labels its column, so a number or an address in a row is
//! read as what its column says it is, not by the words beside it.
//!
//! Cells are split on tabs when the line has one, else on runs of two or
//! more spaces when it has one, else on single spaces. A row belongs to the
//! nearest header line above it (within [`MAX_ROWS`] lines) that splits into
//! as many cells; a row with another cell count (an address with spaces in
//! it under single-space splitting, a note under the table) has no header.

use std::ops::Range;

/// How far above a row its header may stand.
pub const MAX_ROWS: usize = 200;

/// Words that make a line a header row (at least one cell has one).
const HEADER_WORDS: &[&str] = &[
    "序号",
    "姓名",
    "名称",
    "身份证",
    "证件",
    "住址",
    "地址",
    "护照",
    "通行证",
    "回乡证",
    "台胞证",
    "电话",
    "手机",
    "账号",
    "卡号",
    "号码",
    "性别",
    "户主",
    "单位",
];

/// The cells of one line, as byte ranges into the line, trimmed.
pub fn cells(line: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut push = |r: Range<usize>| {
        let s = &line[r.clone()];
        let start = r.start + (s.len() - s.trim_start().len());
        let end = r.end - (s.len() - s.trim_end().len());
        if start < end {
            out.push(start..end);
        }
    };
    if line.contains('\t') {
        let mut at = 0;
        for part in line.split('\t') {
            push(at..at + part.len());
            at += part.len() + 1;
        }
        return out;
    }
    let wide = line.contains("  ");
    let b = line.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        if b[i] == b' ' {
            let mut j = i;
            while j < b.len() && b[j] == b' ' {
                j += 1;
            }
            if !wide || j - i >= 2 {
                push(start..i);
                start = j;
            }
            i = j;
        } else {
            i += 1;
        }
    }
    push(start..b.len());
    out
}

/// A header row: two or more short cells, one with a header word, and no
/// long digit run (a row of data is not a header).
pub fn is_header(line: &str) -> bool {
    let cs = cells(line);
    cs.len() >= 2
        && line.chars().count() <= 120
        && cs.iter().all(|c| line[c.clone()].chars().count() <= 16)
        && cs.iter().any(|c| HEADER_WORDS.iter().any(|w| line[c.clone()].contains(w)))
        && line.split(|c: char| !c.is_ascii_digit()).map(str::len).max().unwrap_or(0) < 4
}

/// The line containing byte `pos`: its start and end.
pub fn line_at(text: &str, pos: usize) -> Range<usize> {
    let start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
    start..end
}

/// For byte `pos` on a table row: the header cell of its column, and the
/// header line (both as text).
pub fn header_of(text: &str, pos: usize) -> Option<(&str, &str)> {
    let line = line_at(text, pos);
    let row = &text[line.clone()];
    let row_cells = cells(row);
    if row_cells.len() < 2 || is_header(row) {
        return None;
    }
    let col = row_cells.iter().position(|c| c.start + line.start <= pos && pos < c.end + line.start)?;
    for header in text[..line.start].lines().rev().take(MAX_ROWS) {
        if is_header(header) {
            let hc = cells(header);
            return (hc.len() == row_cells.len()).then(|| (&header[hc[col].clone()], header));
        }
    }
    None
}

/// Below a header line that starts at byte `header_start`: the cell of
/// column `col` in each row of its table (the rows up to a blank line, a
/// new header, or a line with another cell count), as byte ranges of
/// `text`.
pub fn column_below(text: &str, header_start: usize, col: usize) -> Vec<Range<usize>> {
    let header = &text[line_at(text, header_start)];
    let n = cells(header).len();
    let mut out = Vec::new();
    let mut at = header_start + header.len() + 1;
    for line in text.get(at..).unwrap_or("").split('\n').take(MAX_ROWS) {
        let cs = cells(line);
        if cs.len() != n || is_header(line) {
            break;
        }
        out.push(at + cs[col].start..at + cs[col].end);
        at += line.len() + 1;
    }
    out
}

/// For a header word found at byte `pos`: the header line's start and the
/// column index of the cell containing it, when its line is a header row.
pub fn header_column(text: &str, pos: usize) -> Option<(usize, usize)> {
    let line = line_at(text, pos);
    let header = &text[line.clone()];
    if !is_header(header) {
        return None;
    }
    let col = cells(header).iter().position(|c| c.start + line.start <= pos && pos < c.end + line.start)?;
    Some((line.start, col))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<&str> {
        cells(line).into_iter().map(|r| &line[r]).collect()
    }

    #[test]
    fn cells_split_on_tabs_then_wide_then_single_spaces() {
        assert_eq!(texts("序号\t姓名\t住址"), vec!["序号", "姓名", "住址"]);
        assert_eq!(texts("1\t张某\t江城市 新城区 幸福路1号"), vec!["1", "张某", "江城市 新城区 幸福路1号"]);
        assert_eq!(texts("1  张某  江城市 新城区"), vec!["1", "张某", "江城市 新城区"]);
        assert_eq!(texts("1 张某 江城市"), vec!["1", "张某", "江城市"]);
    }

    #[test]
    fn headers_label_their_columns() {
        let t = "序号 姓名 护照号码 出访国家\n1 李某 E12345678 新加坡\n2 王某 EA1234567 泰国";
        let pos = t.find("EA1").unwrap();
        assert_eq!(header_of(t, pos).map(|h| h.0), Some("护照号码"));
        assert_eq!(header_of(t, t.find("泰国").unwrap()).map(|h| h.0), Some("出访国家"));
        let h = t.find("护照").unwrap();
        let (start, col) = header_column(t, h).unwrap();
        let below: Vec<&str> = column_below(t, start, col).into_iter().map(|r| &t[r]).collect();
        assert_eq!(below, vec!["E12345678", "EA1234567"]);
        // a line with a number is a row, not a header
        assert!(!is_header("1 李某 E12345678 新加坡"));
        // another cell count: no header
        let t = "姓名 住址\n李某 江城市 新城区 幸福路1号";
        assert_eq!(header_of(t, t.find("幸福").unwrap()), None);
    }
}
