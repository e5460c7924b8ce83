//! Number candidates: runs of ASCII digits in the normalised text (so
//! full-width digits and zero-width characters are already gone), joined
//! across single spaces or hyphens the way people group numbers
//! (`139 5128 7764`, `320102 19900101 1232`, `6222-0211-0300-0123-456`),
//! and across a line break (which only an ID number may span).
//!
//! A run glued to ASCII letters, to a mask character or to an `@` belongs to
//! something else (a credit code, a masked number, a mailbox) and is not a
//! candidate. Which groups form one number is decided by the caller, which
//! tries the longest window of consecutive groups that validates.

use std::ops::Range;

/// One run of digits, possibly ending in `x` (the ID check character,
/// lower-cased by the normaliser); validation rejects an `x` anywhere but
/// the 18th place.
pub type Group = Range<usize>;

fn is_mask_char(c: char) -> bool {
    matches!(c, '*' | '×' | '●' | '○' | '#' | '■' | '□' | '﹡')
}

fn blocks_start(c: char) -> bool {
    c.is_ascii_alphanumeric() || is_mask_char(c) || c == '@' || c == '.' || c == '_'
}

fn blocks_end(c: char) -> bool {
    c.is_ascii_alphanumeric() || is_mask_char(c) || c == '@' || c == '_'
}

/// The first byte at or after `i` that is ASCII, or one of the last
/// bytes: skips non-ASCII text (Chinese, 3 bytes a character) eight bytes
/// at a time, where a byte loop looking for digits or letters would spend
/// its time.
pub fn skip_non_ascii(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        if x & 0x8080_8080_8080_8080 != 0x8080_8080_8080_8080 {
            break;
        }
        i += 8;
    }
    while i < b.len() && !b[i].is_ascii() {
        i += 1;
    }
    i
}

/// Sequences of digit groups, each sequence a list of groups separated by up
/// to three spaces or hyphens.
pub fn sequences(text: &str) -> Vec<Vec<Group>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii() {
            i = skip_non_ascii(b, i);
            continue;
        }
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let prev = text[..i].chars().next_back();
        let mut groups: Vec<Group> = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            // An ID's check character X (lower-cased by the normaliser) may
            // end any group: `6201021954 0827351X`.
            if j < b.len() && b[j] == b'x' && !b.get(j + 1).is_some_and(u8::is_ascii_alphanumeric) {
                j += 1;
            }
            groups.push(start..j);
            // Up to three spaces or hyphens between groups (`139 - 5128`).
            let mut k = j;
            while k < b.len() && k - j < 3 && (b[k] == b' ' || b[k] == b'-') {
                k += 1;
            }
            if k > j && k < b.len() && b[k].is_ascii_digit() {
                j = k;
                continue;
            }
            // A number broken by a line break (`3201021990` / `03071234`):
            // joined here, and only accepted as an ID number by the caller.
            if let Some(k) = line_break(b, j) {
                j = k;
                continue;
            }
            break;
        }
        let next = text[j..].chars().next();
        // A decimal fraction (`1262.40`) or a dotted version is no identifier.
        let decimal = next == Some('.') && b.get(j + 1).is_some_and(u8::is_ascii_digit);
        // Only the group touching the letter, mask or decimal point is
        // spoilt; the groups before or after it may still be a number.
        if next.is_some_and(blocks_end) || decimal {
            groups.pop();
        }
        if prev.is_some_and(blocks_start) && !groups.is_empty() {
            groups.remove(0);
        }
        if !groups.is_empty() {
            out.push(groups);
        }
        i = j;
    }
    out
}

/// After a group ending at `j`: the start of a digit group on the next
/// line (a line break with up to three spaces either side), if there is one.
fn line_break(b: &[u8], j: usize) -> Option<usize> {
    let mut k = j;
    while k < b.len() && k - j < 3 && b[k] == b' ' {
        k += 1;
    }
    if b.get(k) != Some(&b'\n') {
        return None;
    }
    k += 1;
    let after = k;
    while k < b.len() && k - after < 3 && b[k] == b' ' {
        k += 1;
    }
    b.get(k).is_some_and(u8::is_ascii_digit).then_some(k)
}

/// The digits (and a trailing `x`) of consecutive groups, upper-cased.
pub fn digits(text: &str, groups: &[Group]) -> Vec<u8> {
    groups.iter().flat_map(|g| text.as_bytes()[g.clone()].iter().map(u8::to_ascii_uppercase)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seqs(t: &str) -> Vec<Vec<&str>> {
        sequences(t).into_iter().map(|gs| gs.into_iter().map(|g| &t[g]).collect()).collect()
    }

    #[test]
    fn groups_join_on_single_separators() {
        assert_eq!(seqs("手机139 5128 7764,"), vec![vec!["139", "5128", "7764"]]);
        assert_eq!(seqs("0511-87654321"), vec![vec!["0511", "87654321"]]);
        assert_eq!(seqs("a 11010519491231002x b"), vec![vec!["11010519491231002x"]]);
        assert_eq!(seqs("2024年3月"), vec![vec!["2024"], vec!["3"]]);
        assert_eq!(seqs("1    2"), vec![vec!["1"], vec!["2"]]);
        assert_eq!(seqs("139 - 5128  7764"), vec![vec!["139", "5128", "7764"]]);
        assert_eq!(seqs("6201021954 0827351x;"), vec![vec!["6201021954", "0827351x"]]);
        assert_eq!(seqs("号码3201021990\n03071234"), vec![vec!["3201021990", "03071234"]]);
        assert_eq!(seqs("1 2\n\n3"), vec![vec!["1", "2"], vec!["3"]]);
    }

    #[test]
    fn glued_runs_are_not_candidates() {
        assert!(seqs("91321183ma1mxk5l7q").is_empty());
        assert!(seqs("3211**********0412").is_empty());
        assert!(seqs("123456789@qq.com").is_empty());
        assert!(seqs("1262.40元").is_empty());
        assert_eq!(seqs("6222 1262.40"), vec![vec!["6222"]]);
    }
}
