//! Validators for the identifiers that government text leaks most: the
//! resident ID number (GB 11643-1999, ISO 7064 MOD 11-2 check character,
//! a real calendar date and a valid province code), mainland mobile numbers
//! by 号段 (MIIT numbering plan), bank cards (Luhn) and the 统一社会信用代码
//! (GB 32100-2015, MOD 31 check character).
//!
//! Pure functions over ASCII strings; no context, no text scanning (that is
//! `scan`'s job). The province list is GB/T 2260's first level; finer region
//! codes are not validated because the full table changes every year and a
//! stale copy would reject real numbers.

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// GB/T 2260 province-level codes (71 台湾, 81 香港, 82 澳门 included: their
/// residents' mainland-issued numbers use them).
const PROVINCES: [&str; 34] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44",
    "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
];

/// The expected check character of the first 17 digits of an ID number.
pub fn id_check_char(first17: &[u8]) -> Option<u8> {
    if first17.len() != 17 || !first17.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = first17.iter().zip(ID_WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    Some(ID_CHECK[(sum % 11) as usize])
}

/// A province code and a non-zero prefecture code.
pub fn region_ok(code6: &[u8]) -> bool {
    code6.len() == 6
        && code6.iter().all(u8::is_ascii_digit)
        && PROVINCES.iter().any(|p| p.as_bytes() == &code6[..2])
        && &code6[2..4] != b"00"
}

fn leap(y: u32) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

/// `YYYYMMDD`, a real calendar date between 1900 and 2099.
pub fn date_ok(d: &[u8]) -> bool {
    if d.len() != 8 || !d.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let n = |r: std::ops::Range<usize>| d[r].iter().fold(0u32, |acc, c| acc * 10 + u32::from(c - b'0'));
    let (y, m, day) = (n(0..4), n(4..6), n(6..8));
    if !(1900..=2099).contains(&y) || !(1..=12).contains(&m) || day == 0 {
        return false;
    }
    let max = match m {
        2 if leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    day <= max
}

/// How an 18-character string fares as a resident ID number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdShape {
    /// Region, date and check character all valid.
    Valid,
    /// Region and date valid, check character wrong: a typo, or a look-alike.
    BadCheck,
    /// Not structured like an ID number at all.
    NotId,
}

/// Classifies an 18-character candidate (`x` or `X` allowed last).
pub fn id18(s: &[u8]) -> IdShape {
    if s.len() != 18 || !s[..17].iter().all(u8::is_ascii_digit) {
        return IdShape::NotId;
    }
    let last = s[17].to_ascii_uppercase();
    if !(last.is_ascii_digit() || last == b'X') {
        return IdShape::NotId;
    }
    if !region_ok(&s[..6]) || !date_ok(&s[6..14]) {
        return IdShape::NotId;
    }
    if id_check_char(&s[..17]) == Some(last) { IdShape::Valid } else { IdShape::BadCheck }
}

/// A first-generation 15-digit ID number: region and `YYMMDD` (19YY) valid.
pub fn id15_shape(s: &[u8]) -> bool {
    if s.len() != 15 || !s.iter().all(u8::is_ascii_digit) || !region_ok(&s[..6]) {
        return false;
    }
    let mut date = *b"19000000";
    date[2..].copy_from_slice(&s[6..12]);
    date_ok(&date)
}

/// Mainland mobile 号段 (13x, 14x data/IoT-voice segments, 15x, 16x, 17x,
/// 18x, 19x as allocated by MIIT; 140–144/146/148 are data-only or IoT).
pub fn mobile_ok(s: &[u8]) -> bool {
    if s.len() != 11 || !s.iter().all(u8::is_ascii_digit) || s[0] != b'1' {
        return false;
    }
    match (s[1], s[2]) {
        (b'3', _) | (b'8', _) => true,
        (b'4', c) => matches!(c, b'5' | b'7' | b'9'),
        (b'5', c) => c != b'4',
        (b'6', c) => matches!(c, b'2' | b'5' | b'6' | b'7'),
        (b'7', c) => matches!(c, b'0'..=b'3' | b'5'..=b'8'),
        (b'9', c) => c != b'4',
        _ => false,
    }
}

/// Luhn (ISO/IEC 7812) check over a digit string.
pub fn luhn_ok(s: &[u8]) -> bool {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = s
        .iter()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = u32::from(c - b'0');
            if i % 2 == 1 {
                let dd = d * 2;
                if dd > 9 { dd - 9 } else { dd }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// GB 32100-2015 code alphabet: digits and capitals without I, O, Z, S, V.
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// A valid 统一社会信用代码: alphabet, registration-authority code, a province
/// in the region part and the MOD 31 check character.
pub fn credit_code_ok(s: &[u8]) -> bool {
    if s.len() != 18 {
        return false;
    }
    let mut vals = [0u32; 18];
    for (i, c) in s.iter().enumerate() {
        match USCC_ALPHABET.iter().position(|a| *a == c.to_ascii_uppercase()) {
            Some(v) => vals[i] = v as u32,
            None => return false,
        }
    }
    // 登记管理部门代码: 1–9, A, N, Y.
    if !matches!(s[0].to_ascii_uppercase(), b'1'..=b'9' | b'A' | b'N' | b'Y') {
        return false;
    }
    if !PROVINCES.iter().any(|p| p.as_bytes() == &s[2..4]) {
        return false;
    }
    let sum: u32 = vals[..17].iter().zip(USCC_WEIGHTS).map(|(v, w)| v * w).sum();
    let check = (31 - sum % 31) % 31;
    vals[17] == check
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers() {
        // (number, expected shape)
        let cases = [
            ("321183198506120412", IdShape::Valid),
            ("440305197808153328", IdShape::Valid),
            ("11010519491231002X", IdShape::Valid),
            ("11010519491231002x", IdShape::Valid),
            ("321183198506120413", IdShape::BadCheck),
            ("321183202405150117", IdShape::BadCheck),
            ("321183198502300412", IdShape::NotId), // 30 February
            ("991183198506120412", IdShape::NotId), // no province 99
            ("320002198506120412", IdShape::NotId), // prefecture 00
            ("3211831985061204", IdShape::NotId),
        ];
        for (n, want) in cases {
            assert_eq!(id18(n.as_bytes()), want, "{n}");
        }
        assert!(id15_shape(b"110105491231002"));
        assert!(!id15_shape(b"110105491331002"));
    }

    #[test]
    fn leap_years() {
        assert!(date_ok(b"20000229") && !date_ok(b"19000229") && date_ok(b"20240229"));
        assert!(!date_ok(b"20230229") && !date_ok(b"18991231") && !date_ok(b"20240431"));
    }

    #[test]
    fn mobiles() {
        for ok in ["13951287764", "14712345678", "16612345678", "19912345678", "17012345678"] {
            assert!(mobile_ok(ok.as_bytes()), "{ok}");
        }
        for bad in ["12024031500", "10012345678", "11012345678", "14012345678", "1395128776", "23951287764"] {
            assert!(!mobile_ok(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn luhn() {
        assert!(luhn_ok(b"4111111111111111"));
        assert!(luhn_ok(b"6228480433123456785"));
        assert!(!luhn_ok(b"6225880123456784"));
        assert!(!luhn_ok(b"4111111111111112"));
        assert!(!luhn_ok(b""));
    }

    #[test]
    fn credit_codes() {
        assert!(credit_code_ok(b"91321183MA1MXK5L7Q"));
        assert!(credit_code_ok(b"92321183MA1N3C7K7N"));
        assert!(credit_code_ok(b"113211830141234588"));
        assert!(!credit_code_ok(b"51321183MA1MXK5L7R"));
        assert!(!credit_code_ok(b"91321183MA1MXK5L7I")); // I is not in the alphabet
        assert!(!credit_code_ok(b"91991183MA1MXK5L7Q"));
    }
}
