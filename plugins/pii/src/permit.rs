//! Passports and travel permits (PII-011): the number of a 护照,
//! 港澳居民来往内地通行证 (回乡证), 台湾居民来往大陆通行证 (台胞证),
//! 往来港澳通行证 or 大陆居民往来台湾通行证 of a person — an 出访 member in a
//! 因公出国 公示, an applicant, a roster row.
//!
//! A number is reported only when it is introduced as such a document (the
//! nearest label before it in its clause, or the header of its table
//! column) *and* has that document's number format, because the shapes alone
//! are everywhere: `G20250318` is a 项目编号 as easily as an old passport.
//!
//! Number formats, as issued by the 出入境管理 authorities (public notices and
//! secondary copies of them; re-check before relying on an edge case):
//! - 普通护照 (因私): `E` + 8 digits (electronic, 2012–2017), `E` + a letter
//!   other than I/O + 7 digits (from 5 April 2017), `G` + 8 digits (older
//!   booklets), `14`/`15` + 7 digits (the oldest); 公务普通 `P`/`PE` + 7,
//!   公务 `S`/`SE` + 7 or `S` + 8, 外交 `D`/`DE` + 7; 香港特区 `K` + 8,
//!   澳门特区 `MA` + 7 (summary of the rules: www.cwdbkk.com, "护照号码中的
//!   字母含义", and www.beatwenan.com/shangganwenan/240067.html).
//! - 港澳居民来往内地通行证: `H` (Hong Kong) or `M` (Macao) + 10 digits on
//!   the 1999 card (8 digits for life + 2 digits counting renewals, 公安部
//!   出入境管理局 as reported by 中国新闻网, 10 March 2010,
//!   m.melive.cc/gn/news/2010/03-10/2162152.shtml) and + 8 digits on the
//!   2013 card.
//! - 台湾居民来往大陆通行证: 8 digits on the 2015 card (10 on older booklets).
//! - 往来港澳通行证: `C` + 8 digits on the 2014 electronic card, `C` + a
//!   letter + 7 digits once those ran out, `W` + 8 digits on the old booklet
//!   (the number "右上角c开头的9位编码", xbcien.com/post/1499.html).
//! - 大陆居民往来台湾通行证: `L` + 8 digits (2016 card), `T` + 8 digits before.

use std::ops::Range;

use crate::context::{Label, clause_before, label_before, nearest_label};
use crate::table;

/// Which document a label introduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// 护照 (ordinary, service, diplomatic, SAR passports).
    Passport,
    /// 港澳居民来往内地通行证 (回乡证).
    HkMacaoResident,
    /// 台湾居民来往大陆通行证 (台胞证).
    TaiwanResident,
    /// 往来港澳通行证 (of mainland residents).
    HkMacaoVisit,
    /// 大陆居民往来台湾通行证.
    TaiwanVisit,
    /// A 通行证 of unnamed kind: any of the lettered permit formats above.
    AnyPermit,
}

impl Permit {
    /// The document's name, for messages.
    pub fn name_zh(self) -> &'static str {
        match self {
            Permit::Passport => "护照",
            Permit::HkMacaoResident => "港澳居民来往内地通行证",
            Permit::TaiwanResident => "台湾居民来往大陆通行证",
            Permit::HkMacaoVisit => "往来港澳通行证",
            Permit::TaiwanVisit => "大陆居民往来台湾通行证",
            Permit::AnyPermit => "通行证",
        }
    }
}

/// The label words of each document (normalised: simplified, lower-case).
/// The contract's label matching takes the nearest and then the longest.
pub const PERMIT_LABELS: &[(&str, Permit)] = &[
    ("护照", Permit::Passport),
    ("港澳居民来往内地通行证", Permit::HkMacaoResident),
    ("来往内地通行证", Permit::HkMacaoResident),
    ("内地通行证", Permit::HkMacaoResident),
    ("回乡证", Permit::HkMacaoResident),
    ("台湾居民来往大陆通行证", Permit::TaiwanResident),
    ("来往大陆通行证", Permit::TaiwanResident),
    ("大陆通行证", Permit::TaiwanResident),
    ("台胞证", Permit::TaiwanResident),
    ("往来港澳通行证", Permit::HkMacaoVisit),
    ("港澳通行证", Permit::HkMacaoVisit),
    ("往来台湾通行证", Permit::TaiwanVisit),
    ("赴台通行证", Permit::TaiwanVisit),
    ("台湾通行证", Permit::TaiwanVisit),
    ("通行证", Permit::AnyPermit),
];

fn digits(s: &[u8], n: usize) -> bool {
    s.len() == n && s.iter().all(u8::is_ascii_digit)
}

/// A serial letter: lower-case, not `i` or `o` (too like 1 and 0).
fn serial_letter(c: u8) -> bool {
    c.is_ascii_lowercase() && c != b'i' && c != b'o'
}

/// Does the (lower-cased) token have the number format of `permit`?
pub fn shape_ok(permit: Permit, t: &[u8]) -> bool {
    match permit {
        Permit::Passport => match t {
            [b'e', c, rest @ ..] if serial_letter(*c) => digits(rest, 7),
            [b'e' | b'g' | b'k', rest @ ..] => digits(rest, 8),
            [b'd' | b's' | b'p', b'e', rest @ ..] => digits(rest, 7),
            [b's', rest @ ..] => digits(rest, 7) || digits(rest, 8),
            [b'd' | b'p', rest @ ..] => digits(rest, 7),
            [b'm', b'a', rest @ ..] => digits(rest, 7),
            [b'1', b'4' | b'5', rest @ ..] => digits(rest, 7),
            _ => false,
        },
        Permit::HkMacaoResident => match t {
            [b'h' | b'm', rest @ ..] => digits(rest, 8) || digits(rest, 10),
            _ => false,
        },
        Permit::TaiwanResident => digits(t, 8) || digits(t, 10),
        Permit::HkMacaoVisit => match t {
            [b'c', c, rest @ ..] if serial_letter(*c) => digits(rest, 7),
            [b'c' | b'w', rest @ ..] => digits(rest, 8),
            _ => false,
        },
        Permit::TaiwanVisit => match t {
            [b'l' | b't', rest @ ..] => digits(rest, 8),
            _ => false,
        },
        // Lettered formats only: a bare 通行证 may be a vehicle's pass.
        Permit::AnyPermit => {
            [Permit::HkMacaoResident, Permit::HkMacaoVisit, Permit::TaiwanVisit].into_iter().any(|p| shape_ok(p, t))
        }
    }
}

fn is_mask_char(c: char) -> bool {
    matches!(c, '*' | '×' | '●' | '○' | '#' | '■' | '□' | '﹡')
}

/// Runs of ASCII letters and digits of a permit's length (8–11), not glued
/// to a mask character, `@`, `.`, `_`, `-` or `/` (a masked number, a
/// mailbox, a file name, a reference like `2025/G20250318`).
fn tokens(t: &str) -> Vec<Range<usize>> {
    let b = t.as_bytes();
    let glue = |c: Option<char>| c.is_some_and(|c| is_mask_char(c) || matches!(c, '@' | '.' | '_' | '-' | '/'));
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_alphanumeric() {
            i = if b[i].is_ascii() { i + 1 } else { crate::numbers::skip_non_ascii(b, i) };
            continue;
        }
        let mut j = i;
        while j < b.len() && b[j].is_ascii_alphanumeric() {
            j += 1;
        }
        let (prev, next) = (t[..i].chars().next_back(), t[j..].chars().next());
        // `.` ends a sentence in some texts: only a `.` followed by a letter or digit glues.
        let sentence_end = next == Some('.') && !b.get(j + 1).is_some_and(u8::is_ascii_alphanumeric);
        let next_glued = glue(next) && !sentence_end;
        if (8..=11).contains(&(j - i)) && !glue(prev) && !next_glued && b[i..j].iter().any(u8::is_ascii_digit) {
            out.push(i..j);
        }
        i = j;
    }
    out
}

/// The document that `text` names last (`证件类型：护照，证件号码：…`).
fn named(text: &str) -> Option<Permit> {
    PERMIT_LABELS
        .iter()
        .filter_map(|(w, p)| text.rfind(w).map(|at| (at + w.len(), w.len(), *p)))
        .max_by_key(|(end, len, _)| (*end, *len))
        .map(|(_, _, p)| p)
}

/// Only separators between two numbers of one list (`E12345678、E23456789`).
fn list_gap(gap: &str) -> bool {
    gap.chars().count() <= 3 && gap.chars().all(|c| matches!(c, ',' | '、' | ' ' | '和' | '及' | '与' | '/'))
}

/// Permit numbers in normalised text `t`: (span, document).
pub fn find(t: &str) -> Vec<(Range<usize>, Permit)> {
    if !PERMIT_LABELS.iter().any(|(w, _)| t.contains(w)) {
        return Vec::new();
    }
    let mut out: Vec<(Range<usize>, Permit)> = Vec::new();
    // Columns whose header names a document.
    let mut columns: Vec<(Range<usize>, Permit)> = Vec::new();
    // A generic 证件号码 column takes the document its row names (a
    // 证件类型 column saying 护照).
    for word in PERMIT_LABELS.iter().map(|(w, _)| *w).chain(["证件"]) {
        for (at, _) in t.match_indices(word) {
            let Some((start, col)) = table::header_column(t, at) else { continue };
            let head = &t[table::line_at(t, start)];
            let cell = &head[table::cells(head)[col].clone()];
            match nearest_label(cell) {
                Some(Label::Permit(p)) => {
                    columns.extend(table::column_below(t, start, col).into_iter().map(|r| (r, p)))
                }
                Some(Label::Id) => columns.extend(table::column_below(t, start, col).into_iter().filter_map(|r| {
                    let row = table::line_at(t, r.start);
                    named(&t[row.start..r.start]).map(|p| (r, p))
                })),
                _ => {}
            }
        }
    }
    for r in tokens(t) {
        let tok = t[r.clone()].as_bytes();
        let labelled = match label_before(t, r.start) {
            Some(Label::Permit(p)) => Some(p),
            // 证件号码 after the clause named the document (证件类型：护照).
            Some(Label::Id) => named(clause_before(t, r.start)),
            // The next number of a list after a reported one.
            None => out.last().filter(|(prev, _)| list_gap(&t[prev.end..r.start])).map(|(_, p)| *p),
            _ => None,
        };
        let column = || columns.iter().find(|(c, _)| c.start <= r.start && r.end <= c.end).map(|(_, p)| *p);
        if let Some(p) = labelled.or_else(column)
            && shape_ok(p, tok)
        {
            out.push((r, p));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        let yes = [
            (Permit::Passport, "e12345678"),
            (Permit::Passport, "ef1260892"),
            (Permit::Passport, "ee1260892"),
            (Permit::AnyPermit, "c12345678"),
            (Permit::Passport, "g12345678"),
            (Permit::Passport, "pe1234567"),
            (Permit::Passport, "se1234567"),
            (Permit::Passport, "s12345678"),
            (Permit::Passport, "de1234567"),
            (Permit::Passport, "k12345678"),
            (Permit::Passport, "ma1234567"),
            (Permit::Passport, "141234567"),
            (Permit::HkMacaoResident, "h12345678"),
            (Permit::HkMacaoResident, "m1234567801"),
            (Permit::TaiwanResident, "01234567"),
            (Permit::HkMacaoVisit, "c12345678"),
            (Permit::HkMacaoVisit, "ca1234567"),
            (Permit::HkMacaoVisit, "w12345678"),
            (Permit::TaiwanVisit, "l12345678"),
        ];
        for (p, t) in yes {
            assert!(shape_ok(p, t.as_bytes()), "{p:?} {t}");
        }
        let no = [
            (Permit::Passport, "e1234567"),
            (Permit::Passport, "ei1234567"),
            (Permit::Passport, "x12345678"),
            (Permit::Passport, "12345678"),
            (Permit::HkMacaoResident, "h123456789"),
            (Permit::TaiwanResident, "h12345678"),
            (Permit::HkMacaoVisit, "e12345678"),
            (Permit::TaiwanVisit, "c12345678"),
            (Permit::AnyPermit, "12345678"),
            (Permit::AnyPermit, "e12345678"),
        ];
        for (p, t) in no {
            assert!(!shape_ok(p, t.as_bytes()), "{p:?} {t}");
        }
    }

    fn found(t: &str) -> Vec<&str> {
        find(t).into_iter().map(|(r, _)| &t[r]).collect()
    }

    #[test]
    fn introduced_as_a_document() {
        assert_eq!(found("李某某,护照号码:e12345678,赴新加坡"), vec!["e12345678"]);
        assert_eq!(found("持港澳居民来往内地通行证(h1234567801)入境"), vec!["h1234567801"]);
        assert_eq!(found("台胞证号码:01234567。"), vec!["01234567"]);
        assert_eq!(found("往来港澳通行证号:ca1234567"), vec!["ca1234567"]);
        assert_eq!(found("通行证号码:c12345678"), vec!["c12345678"]);
        assert!(found("车辆通行证号码:20250318").is_empty());
        assert_eq!(
            found("护照号码分别为e12345678、e23456789和ea1234567。"),
            vec!["e12345678", "e23456789", "ea1234567"]
        );
        assert_eq!(found("证件类型:护照,证件号码:g12345678。"), vec!["g12345678"]);
        assert!(found("证件类型:居民身份证,证件号码:g12345678。").is_empty());
    }

    #[test]
    fn look_alikes_are_not_permits() {
        // labelled as something else, even in a clause about a passport
        assert_eq!(found("护照号码:e12345678,项目编号g20250318"), vec!["e12345678"]);
        assert!(found("关于办理因公护照的批复,批复编号e12345678").is_empty());
        assert!(found("护照办理经费已下达,合同号g20251301").is_empty());
        // the wrong format for the document named
        assert!(found("往来港澳通行证号码:e12345678").is_empty());
        assert!(found("护照号码:12345678").is_empty());
        // masked, or part of something longer
        assert!(found("护照号码:e1234****").is_empty());
        assert!(found("护照号码:e12345678901234").is_empty());
        assert!(found("护照扫描件e12345678.pdf").is_empty());
        // no label at all
        assert!(found("项目代码e12345678").is_empty());
    }

    #[test]
    fn columns_so_labelled() {
        let t = "序号 姓名 职务 护照号 出访国家\n1 李某 副主任 e12345678 新加坡\n2 王某 科员 g23456789 泰国";
        assert_eq!(found(t), vec!["e12345678", "g23456789"]);
        let t = "序号 姓名 批件号\n1 李某 g20250318";
        assert!(found(t).is_empty());
        let t = "序号\t姓名\t证件类型\t证件号码\n1\t李某\t护照\te12345678\n2\t王某\t居民身份证\tg12345678";
        assert_eq!(found(t), vec!["e12345678"]);
    }
}
