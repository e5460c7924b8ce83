//! Masking: the suggested replacement for each finding (per a configurable
//! mask profile), and mask quality (PII-009) of numbers the drafter already
//! masked: an ID number whose birth-date digits (positions 7–14) are still
//! visible, or the same number masked differently in two places so that the
//! two copies together give more digits away than either alone.

use std::ops::Range;

use serde::Deserialize;

/// How findings suggest masking. The defaults follow common local web-site
/// rules (`3201**********1234`, `138****5678`); `configure` refuses a
/// profile that would leave an ID's birth date visible.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct MaskProfile {
    /// Leading ID characters left visible (at most 6: the region code).
    pub id_head: usize,
    /// Trailing ID characters left visible (at most 4).
    pub id_tail: usize,
    /// Leading mobile digits left visible.
    pub mobile_head: usize,
    /// Trailing mobile digits left visible (head + tail at most 7).
    pub mobile_tail: usize,
    /// Leading card digits left visible (at most 6: the issuer).
    pub card_head: usize,
    /// Trailing card digits left visible (at most 4).
    pub card_tail: usize,
    /// Characters of an e-mail's local part left visible.
    pub email_head: usize,
    /// Leading characters of a passport or permit number left visible (at most 2).
    pub permit_head: usize,
    /// Trailing characters of a passport or permit number left visible (at most 2).
    pub permit_tail: usize,
    /// The masking character.
    pub mask_char: char,
}

impl Default for MaskProfile {
    fn default() -> Self {
        MaskProfile {
            id_head: 4,
            id_tail: 4,
            mobile_head: 3,
            mobile_tail: 4,
            card_head: 4,
            card_tail: 4,
            email_head: 2,
            permit_head: 1,
            permit_tail: 1,
            mask_char: '*',
        }
    }
}

impl MaskProfile {
    /// Why the profile is unsafe, if it is.
    pub fn problem(&self) -> Option<String> {
        if self.id_head > 6 || self.id_tail > 4 {
            return Some(
                "mask profile would leave an ID number's birth date visible (id_head <= 6, id_tail <= 4)".into(),
            );
        }
        if self.mobile_head + self.mobile_tail > 7 {
            return Some("mask profile leaves more than 7 mobile digits visible".into());
        }
        if self.card_head > 6 || self.card_tail > 4 {
            return Some("mask profile leaves too many card digits visible (card_head <= 6, card_tail <= 4)".into());
        }
        if self.permit_head > 2 || self.permit_tail > 2 {
            return Some("mask profile leaves too many passport or permit characters visible (permit_head <= 2, permit_tail <= 2)".into());
        }
        if self.mask_char.is_ascii_alphanumeric() {
            return Some("mask character must not be a letter or digit".into());
        }
        None
    }

    fn mask(&self, s: &[u8], head: usize, tail: usize) -> String {
        let n = s.len();
        let head = head.min(n);
        let tail = tail.min(n - head);
        let mut out = String::with_capacity(n + 8);
        out.push_str(&String::from_utf8_lossy(&s[..head]));
        out.extend(std::iter::repeat_n(self.mask_char, n - head - tail));
        out.push_str(&String::from_utf8_lossy(&s[n - tail..]));
        out
    }

    /// Masked ID number.
    pub fn id(&self, digits: &[u8]) -> String {
        self.mask(digits, self.id_head, self.id_tail)
    }

    /// Masked first-generation (15-digit) ID number: the birth date is
    /// positions 7–12, so at most 3 trailing digits stay visible.
    pub fn id15(&self, digits: &[u8]) -> String {
        self.mask(digits, self.id_head, self.id_tail.min(3))
    }

    /// Masked passport or permit number, as written (letters keep their case):
    /// the first and last characters stay, so a 公示 still shows which
    /// document it was.
    pub fn permit(&self, number: &str) -> String {
        let chars: Vec<char> = number.chars().filter(|c| !c.is_whitespace()).collect();
        let n = chars.len();
        let head = self.permit_head.min(n);
        let tail = self.permit_tail.min(n - head);
        let mut out: String = chars[..head].iter().collect();
        out.extend(std::iter::repeat_n(self.mask_char, n - head - tail));
        out.extend(&chars[n - tail..]);
        out
    }

    /// Masked mobile number.
    pub fn mobile(&self, digits: &[u8]) -> String {
        self.mask(digits, self.mobile_head, self.mobile_tail)
    }

    /// Masked card number.
    pub fn card(&self, digits: &[u8]) -> String {
        self.mask(digits, self.card_head, self.card_tail)
    }

    /// Masked e-mail address: the local part's first characters, then the
    /// separator and domain as written (`@163.com`, `(at)163.com`,
    /// ` at 126 dot com`).
    pub fn email(&self, local: &str, rest: &str) -> String {
        let keep: String = local.chars().take(self.email_head).collect();
        format!("{keep}{}{rest}", self.mask_char.to_string().repeat(4))
    }
}

/// Characters drafters use to mask digits.
pub fn is_mask_char(c: char) -> bool {
    matches!(c, '*' | '×' | '●' | '○' | '#' | '■' | '□' | '﹡' | 'x')
}

/// What a masked token stands for, by length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskedKind {
    Id,
    Mobile,
    Card,
}

/// A number the drafter masked: `None` per masked position, the digit
/// otherwise.
#[derive(Debug, Clone)]
pub struct Masked {
    pub kind: MaskedKind,
    pub span: Range<usize>,
    pub chars: Vec<Option<u8>>,
}

impl Masked {
    fn visible(&self) -> impl Iterator<Item = usize> + '_ {
        self.chars.iter().enumerate().filter(|(_, c)| c.is_some()).map(|(i, _)| i)
    }

    /// For an ID: are any of the birth-date digits (0-based 6..14) visible?
    pub fn shows_birth_date(&self) -> bool {
        self.kind == MaskedKind::Id && self.chars[6..14].iter().any(Option::is_some)
    }

    /// Same kind and length, at least 3 positions visible in both and all of
    /// those agree, and yet different positions masked: two differently
    /// masked copies of one number.
    pub fn inconsistent_with(&self, other: &Masked) -> bool {
        if self.kind != other.kind || self.chars.len() != other.chars.len() {
            return false;
        }
        let mut common = 0;
        for (a, b) in self.chars.iter().zip(&other.chars) {
            if let (Some(x), Some(y)) = (a, b) {
                if x != y {
                    return false;
                }
                common += 1;
            }
        }
        let differ = self.visible().ne(other.visible());
        common >= 3 && differ
    }
}

/// Masked tokens in normalised text: runs of digits and mask characters
/// with at least two of each, not glued to other letters or digits, of the
/// length of an ID (18), a mobile (11, starting with 1) or a card (16–19).
pub fn masked_tokens(text: &str) -> Vec<Masked> {
    let mut out = Vec::new();
    // Only text around a mask character (or `xx`) can hold a masked number.
    let mut prev_x = false;
    let masked = text.chars().any(|c| {
        let xx = c == 'x' && prev_x;
        prev_x = c == 'x';
        xx || (c != 'x' && is_mask_char(c))
    });
    if !masked {
        return out;
    }
    let part = |c: char| c.is_ascii_digit() || is_mask_char(c);
    let mut token: Vec<char> = Vec::new();
    let mut prev: Option<char> = None;
    let mut it = text.char_indices().peekable();
    while let Some((start, c)) = it.next() {
        if !part(c) {
            prev = Some(c);
            continue;
        }
        token.clear();
        token.push(c);
        while let Some(&(_, d)) = it.peek().filter(|(_, d)| part(*d)) {
            token.push(d);
            it.next();
        }
        let next = it.peek().copied();
        let end = next.map_or(text.len(), |(b, _)| b);
        let glued = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        let masks = token.iter().filter(|c| is_mask_char(**c)).count();
        let digits = token.len() - masks;
        if masks >= 2 && digits >= 2 && !glued(prev) && !glued(next.map(|(_, d)| d)) {
            let mut cells: Vec<Option<u8>> = token.iter().map(|c| c.is_ascii_digit().then_some(*c as u8)).collect();
            let n = cells.len();
            // An ID may end in its check character X, which is not a mask.
            if n == 18 && token[17] == 'x' && token[16].is_ascii_digit() {
                cells[17] = Some(b'X');
            }
            let kind = match n {
                18 => Some(MaskedKind::Id),
                11 if token[0] == '1' => Some(MaskedKind::Mobile),
                16..=19 => Some(MaskedKind::Card),
                _ => None,
            };
            if let Some(kind) = kind {
                out.push(Masked { kind, span: start..end, chars: cells });
            }
        }
        prev = token.last().copied();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_profile_masks_birth_date() {
        let p = MaskProfile::default();
        assert_eq!(p.id(b"321183198506120412"), "3211**********0412");
        assert_eq!(p.mobile(b"13951287764"), "139****7764");
        assert_eq!(p.card(b"6222021103000123456"), "6222***********3456");
        assert_eq!(p.email("zhangwei1988", "@163.com"), "zh****@163.com");
        assert_eq!(p.email("zhangwei", " at 126 dot com"), "zh**** at 126 dot com");
        assert_eq!(p.id15(b"320102800101123"), "3201********123");
        assert_eq!(p.permit("E12345678"), "E*******8");
        assert_eq!(p.permit("H1234567801"), "H*********1");
        assert!(MaskProfile { permit_head: 3, ..MaskProfile::default() }.problem().is_some());
        assert!(p.problem().is_none());
        let unsafe_profile = MaskProfile { id_head: 10, ..MaskProfile::default() };
        assert!(unsafe_profile.problem().is_some());
    }

    #[test]
    fn masked_tokens_and_birth_dates() {
        let t = "3211**********0412、32118319850612****、138****5678";
        let m = masked_tokens(t);
        assert_eq!(m.len(), 3);
        assert!(!m[0].shows_birth_date());
        assert!(m[1].shows_birth_date());
        assert_eq!(m[2].kind, MaskedKind::Mobile);
    }

    #[test]
    fn inconsistent_masks_are_recognised() {
        let m = masked_tokens("3211**********0412 321183********0412 3201**********1234");
        assert!(m[1].inconsistent_with(&m[0]));
        assert!(!m[2].inconsistent_with(&m[0]));
        assert!(!m[0].inconsistent_with(&m[0]));
    }
}
