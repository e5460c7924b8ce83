//! Character classes the normaliser and the detectors agree on: Han
//! ideographs, invisible format characters, and the separators/symbols that a
//! drafter (or an evader) may put between the characters of a word.
//!
//! The classes are deliberately hand-listed rather than derived from Unicode
//! general categories: what counts as "noise" between two Han characters is a
//! policy decision (CJK punctuation such as `，、。` and quotation marks are
//! real boundaries and are never skipped), not a property of the code point.

/// A CJK unified ideograph (basic block, extensions A–H, compatibility block).
pub fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xF900..=0xFAFF
        | 0x20000..=0x2EBEF
        | 0x30000..=0x323AF)
}

/// Invisible format characters that carry no text: zero-width space and
/// joiners, word joiner, BOM, soft hyphen, bidi controls, variation selectors,
/// the combining grapheme joiner, Mongolian vowel separator, tag characters.
pub fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD
        | 0x034F
        | 0x061C
        | 0x115F..=0x1160
        | 0x17B4..=0x17B5
        | 0x180B..=0x180F
        | 0x200B..=0x200F
        | 0x202A..=0x202E
        | 0x2060..=0x206F
        | 0x3164
        | 0xFE00..=0xFE0F
        | 0xFEFF
        | 0xFFA0
        | 0xFFF0..=0xFFF8
        | 0x1D173..=0x1D17A
        | 0xE0000..=0xE0FFF)
}

/// Line structure: never skipped, never removed, so that header-zone rules
/// and table rows keep their lines.
pub fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Horizontal white space other than TAB (a TAB is a table column boundary).
pub fn is_space(c: char) -> bool {
    c != '\t' && !is_line_break(c) && c.is_whitespace()
}

/// Symbols that may be inserted between the characters of a word to break a
/// keyword match (`私*盗*号`, `私·盗·号`, `私★盗`). Real punctuation —
/// `，。、；：！？`, brackets, quotation marks, the em dash — is excluded,
/// because skipping it would glue words across a sentence boundary.
pub fn is_noise_symbol(c: char) -> bool {
    matches!(c,
        '*' | '#' | '@' | '_' | '-' | '~' | '|' | '/' | '\\' | '+' | '=' | '^' | '.' | '`' | '&'
        | '%' | '$'
        | '\u{00B7}' | '\u{00D7}' | '\u{2022}' | '\u{2027}' | '\u{30FB}' | '\u{2010}'..='\u{2013}'
        | '\u{2190}'..='\u{21FF}'
        | '\u{2200}'..='\u{23FF}'
        | '\u{25A0}'..='\u{27BF}'
        | '\u{2B00}'..='\u{2BFF}'
        | '\u{1F300}'..='\u{1FAFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert!(is_han('秘') && is_han('㐀') && !is_han('，') && !is_han('a'));
        assert!(is_invisible('\u{200B}') && is_invisible('\u{FEFF}') && !is_invisible(' '));
        assert!(is_space('\u{3000}') && is_space('\u{A0}') && !is_space('\t') && !is_space('\n'));
        assert!(is_noise_symbol('*') && is_noise_symbol('★') && is_noise_symbol('·'));
        for real in ['，', '。', '、', '；', '：', '“', '”', '《', '（', ',', ':', '—'] {
            assert!(!is_noise_symbol(real), "{real} is punctuation, not noise");
        }
    }
}
