//! The shared text normaliser of the review plugins.
//!
//! Detectors never match on the drafter's raw text: they match on a
//! normalised copy, in which full-width and compatibility forms are folded
//! (Unicode NFKC: `１２３`, `①`, `ＡＢ`, `⼈`), Latin letters are lower-cased,
//! invisible format characters (zero-width space, joiners, BOM, bidi
//! controls) are removed, short runs of spaces or symbols inserted between two
//! Han characters (`私 盗 号`, `私*盗*号`, `老　赖`) are skipped, and
//! traditional characters are converted to simplified ones (OpenCC's character
//! table). Every normalised character remembers the byte span of the original
//! text it came from, so a finding is always reported at the drafter's own
//! bytes, and which disguise steps produced it, so that a hit can be reported
//! as disguised.
//!
//! What it deliberately does not do: word segmentation, phrase-level
//! conversion, pinyin or homophone folding, and skipping of real punctuation
//! (`，、。；：`, brackets, quotation marks, line breaks), which would glue
//! words across a boundary and create false hits (`钉子、铁丝` is not
//! `钉子铁丝`).
//!
//! ```
//! use textnorm::{Disguises, Normalized, Options};
//!
//! let original = "请勿传播“私 盗 號”信息";
//! let norm = Normalized::new(original, &Options::default());
//! assert_eq!(norm.text(), "请勿传播“私盗号”信息");
//! let at = norm.text().find("私盗号").unwrap();
//! let hit = at..at + "私盗号".len();
//! assert_eq!(&original[norm.original_span(hit.clone())], "私 盗 號");
//! let how = norm.disguised(hit);
//! assert!(how.contains(Disguises::SEPARATOR) && how.contains(Disguises::TRADITIONAL));
//! ```

mod chars;
mod t2s;

use std::fmt;
use std::ops::Range;

pub use chars::{is_han, is_invisible, is_line_break, is_noise_symbol, is_space};
pub use t2s::to_simplified;

use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// The most separator characters skipped between two Han characters. Longer
/// runs are layout (table columns, padding), not a disguise.
pub const MAX_SKIPPED_RUN: usize = 3;

/// CJK unified ideographs (basic block and extension A), the bulk of
/// Chinese text: NFKC leaves them alone.
fn is_unified_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF)
}

/// Which normalisation steps to apply. `Options::default()` applies all of
/// them; detectors that need the text's layout (number grouping, header
/// lines) switch `skip_separators` off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Unicode NFKC: full-width and compatibility forms to their plain form.
    pub fold_width: bool,
    /// Lower-case (Unicode lower-case mapping, so also full-width Latin).
    pub fold_case: bool,
    /// Remove invisible format characters (zero-width, BOM, bidi controls...).
    pub strip_invisible: bool,
    /// Skip up to [`MAX_SKIPPED_RUN`] spaces or noise symbols between two Han
    /// characters, and noise symbols (not spaces) between two Latin letters.
    pub skip_separators: bool,
    /// Convert traditional characters to simplified (character level).
    pub to_simplified: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { fold_width: true, fold_case: true, strip_invisible: true, skip_separators: true, to_simplified: true }
    }
}

impl Options {
    /// Every step except separator skipping: spaces and symbols stay where
    /// they are, for detectors that read number groups or line structure.
    pub fn keep_layout() -> Options {
        Options { skip_separators: false, ..Options::default() }
    }
}

/// The disguise steps that were needed to produce some normalised text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Disguises(u8);

impl Disguises {
    /// Nothing was changed.
    pub const NONE: Disguises = Disguises(0);
    /// Full-width or compatibility forms folded by NFKC.
    pub const WIDTH: Disguises = Disguises(1);
    /// Upper-case Latin letters folded.
    pub const CASE: Disguises = Disguises(2);
    /// Invisible format characters removed from inside the text.
    pub const INVISIBLE: Disguises = Disguises(4);
    /// Spaces or symbols between characters skipped.
    pub const SEPARATOR: Disguises = Disguises(8);
    /// Traditional characters converted to simplified.
    pub const TRADITIONAL: Disguises = Disguises(16);

    const ALL: [(Disguises, &'static str, &'static str); 5] = [
        (Disguises::WIDTH, "width", "全角或兼容字符"),
        (Disguises::CASE, "case", "大小写变换"),
        (Disguises::INVISIBLE, "invisible", "插入零宽或不可见字符"),
        (Disguises::SEPARATOR, "separator", "字间插入空格或符号"),
        (Disguises::TRADITIONAL, "traditional", "繁体字"),
    ];

    /// True when no step was needed.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True when every step in `other` is in `self`.
    pub fn contains(self, other: Disguises) -> bool {
        self.0 & other.0 == other.0
    }

    /// Steps in either.
    pub fn union(self, other: Disguises) -> Disguises {
        Disguises(self.0 | other.0)
    }

    /// Steps in `self` but not in `other`.
    pub fn without(self, other: Disguises) -> Disguises {
        Disguises(self.0 & !other.0)
    }

    /// Stable English names (`width`, `case`, `invisible`, `separator`,
    /// `traditional`), for logs and JSON.
    pub fn names(self) -> Vec<&'static str> {
        Self::ALL.iter().filter(|(d, _, _)| self.contains(*d)).map(|(_, n, _)| *n).collect()
    }

    /// Chinese description for a finding message, e.g. `繁体字、字间插入空格或符号`.
    pub fn describe_zh(self) -> String {
        Self::ALL.iter().filter(|(d, _, _)| self.contains(*d)).map(|(_, _, zh)| *zh).collect::<Vec<_>>().join("、")
    }
}

impl std::ops::BitOr for Disguises {
    type Output = Disguises;
    fn bitor(self, rhs: Disguises) -> Disguises {
        self.union(rhs)
    }
}

impl std::ops::BitOrAssign for Disguises {
    fn bitor_assign(&mut self, rhs: Disguises) {
        *self = self.union(rhs);
    }
}

impl fmt::Display for Disguises {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join("+"))
    }
}

/// One normalised character: where it is in the normalised text, which
/// original bytes it stands for, and how it got there.
#[derive(Debug, Clone, Copy)]
struct Mapped {
    norm_start: u32,
    orig_start: u32,
    orig_end: u32,
    /// Steps that changed this character itself.
    own: Disguises,
    /// Steps that removed characters just before it (invisible characters,
    /// skipped separators): they count only when a match spans them.
    before: Disguises,
}

/// A normalised view of a text with an offset map back to the original.
#[derive(Debug, Clone)]
pub struct Normalized<'a> {
    original: &'a str,
    text: String,
    map: Vec<Mapped>,
}

/// Receives folded characters in order, skips separator runs between two
/// Han characters (or noise symbols between two Latin letters), and builds
/// the normalised text and its map in one pass.
struct Sink {
    text: String,
    map: Vec<Mapped>,
    skip: bool,
    /// Separators seen since the last kept character, not yet decided.
    run: Vec<Pending>,
}

fn is_separator(c: char) -> bool {
    is_space(c) || is_noise_symbol(c)
}

impl Sink {
    fn emit(&mut self, p: Pending) {
        self.map.push(Mapped {
            norm_start: self.text.len() as u32,
            orig_start: p.orig.0,
            orig_end: p.orig.1,
            own: p.own,
            before: p.before,
        });
        self.text.push(p.ch);
    }

    fn flush_run(&mut self) {
        let run = std::mem::take(&mut self.run);
        for q in run {
            self.emit(q);
        }
    }

    fn push(&mut self, mut p: Pending) {
        if !self.skip {
            self.emit(p);
            return;
        }
        if !is_unified_han(p.ch) && is_separator(p.ch) && !self.map.is_empty() {
            self.run.push(p);
            return;
        }
        if !self.run.is_empty() {
            let prev = self.text.chars().next_back();
            let han_pair = prev.is_some_and(is_han) && is_han(p.ch);
            let latin_pair = prev.is_some_and(|c| c.is_ascii_alphabetic())
                && p.ch.is_ascii_alphabetic()
                && self.run.iter().all(|q| !is_space(q.ch));
            if self.run.len() <= MAX_SKIPPED_RUN && (han_pair || latin_pair) {
                let mut before = Disguises::SEPARATOR;
                for q in &self.run {
                    before |= q.before;
                }
                p.before |= before;
                self.run.clear();
            } else {
                self.flush_run();
            }
        }
        self.emit(p);
    }
}

/// A character on its way through the pipeline.
#[derive(Debug, Clone, Copy)]
struct Pending {
    ch: char,
    orig: (u32, u32),
    own: Disguises,
    before: Disguises,
}

impl<'a> Normalized<'a> {
    /// Normalises `original` with `opts`.
    ///
    /// Texts longer than 4 GiB are not supported (offsets are stored as
    /// `u32`); the host caps items far below that.
    pub fn new(original: &'a str, opts: &Options) -> Normalized<'a> {
        let mut sink = Sink {
            text: String::with_capacity(original.len()),
            map: Vec::with_capacity(original.len() / 2),
            skip: opts.skip_separators,
            run: Vec::new(),
        };
        Self::fold_chars(original, opts, &mut sink);
        sink.flush_run();
        Normalized { original, text: sink.text, map: sink.map }
    }

    /// Step 1: per grapheme-ish group (a base character and its combining
    /// marks): drop invisibles, NFKC, lower-case, traditional → simplified.
    fn fold_chars(original: &str, opts: &Options, out: &mut Sink) {
        let mut carry = Disguises::NONE;
        let mut iter = original.char_indices().peekable();
        let mut group = String::new();
        while let Some((start, c)) = iter.next() {
            // The hot path: a unified Han character followed by nothing that
            // could combine with it (most of any Chinese text).
            if is_unified_han(c)
                && iter
                    .peek()
                    .is_none_or(|&(_, m)| m.is_ascii() || is_unified_han(m) || canonical_combining_class(m) == 0)
            {
                let mut own = Disguises::NONE;
                let mut ch = c;
                if opts.to_simplified {
                    let s = to_simplified(c);
                    if s != c {
                        own = Disguises::TRADITIONAL;
                        ch = s;
                    }
                }
                out.push(Pending { ch, orig: (start as u32, (start + c.len_utf8()) as u32), own, before: carry });
                carry = Disguises::NONE;
                continue;
            }
            if opts.strip_invisible && is_invisible(c) {
                carry |= Disguises::INVISIBLE;
                continue;
            }
            let mut end = start + c.len_utf8();
            if opts.fold_width && (('\u{FF01}'..='\u{FF5E}').contains(&c) || c == '\u{3000}') {
                // Full-width ASCII forms and the ideographic space, the
                // commonest compatibility characters in Chinese text: their
                // NFKC form is the ASCII character (or a space).
                let ascii = if c == '\u{3000}' { ' ' } else { char::from_u32(c as u32 - 0xFEE0).unwrap_or(c) };
                let mut own = Disguises::WIDTH;
                let mut ch = ascii;
                if opts.fold_case && ascii.is_ascii_uppercase() {
                    ch = ascii.to_ascii_lowercase();
                    own |= Disguises::CASE;
                }
                out.push(Pending { ch, orig: (start as u32, end as u32), own, before: carry });
                carry = Disguises::NONE;
                continue;
            }
            let plain_next = |iter: &mut std::iter::Peekable<std::str::CharIndices<'_>>| {
                iter.peek().is_none_or(|&(_, m)| m.is_ascii() || is_unified_han(m) || canonical_combining_class(m) == 0)
            };
            let simple = if c.is_ascii() {
                !(opts.fold_case && c.is_ascii_uppercase()) && (!opts.fold_width || plain_next(&mut iter))
            } else if is_unified_han(c) {
                // Unified ideographs have no compatibility decomposition and
                // no case; only a combining mark after one needs the slow path.
                plain_next(&mut iter)
            } else {
                // Most CJK text is already NFKC and has no combining marks:
                // skip the per-character normalisation (and its allocation).
                !opts.fold_width
                    || (plain_next(&mut iter)
                        && is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes
                        && !(opts.fold_case && c.is_uppercase()))
            };
            if simple {
                let mut own = Disguises::NONE;
                let mut ch = c;
                if opts.to_simplified && is_han(c) {
                    let s = to_simplified(c);
                    if s != c {
                        own = Disguises::TRADITIONAL;
                        ch = s;
                    }
                }
                out.push(Pending { ch, orig: (start as u32, end as u32), own, before: carry });
                carry = Disguises::NONE;
                continue;
            }
            group.clear();
            group.push(c);
            if opts.fold_width {
                while let Some(&(i, m)) = iter.peek() {
                    if m.is_ascii() || canonical_combining_class(m) == 0 {
                        break;
                    }
                    group.push(m);
                    end = i + m.len_utf8();
                    iter.next();
                }
            }
            let orig = (start as u32, end as u32);
            let mut width = Disguises::NONE;
            let folded: String = if opts.fold_width && !group.is_ascii() {
                let mut n: String = group.nfkc().collect();
                if n != group {
                    width = Disguises::WIDTH;
                }
                // Combining marks stacked on a Han character (`钉\u{301}子户`)
                // compose with nothing: they only break the word. Drop them.
                if opts.strip_invisible && n.chars().next().is_some_and(is_han) && n.chars().count() > 1 {
                    n = n.chars().filter(|&m| canonical_combining_class(m) == 0).collect();
                    carry |= Disguises::INVISIBLE;
                }
                n
            } else {
                group.clone()
            };
            for ch in folded.chars() {
                let mut own = width;
                let mut out_chars = [ch; 3];
                let mut count = 1;
                if opts.fold_case && !ch.is_lowercase() && ch.is_alphabetic() {
                    let mut lower = ch.to_lowercase();
                    if lower.len() <= 3 {
                        count = 0;
                        for l in lower.by_ref() {
                            out_chars[count] = l;
                            count += 1;
                        }
                        if count != 1 || out_chars[0] != ch {
                            own |= Disguises::CASE;
                        }
                    }
                }
                for &oc in &out_chars[..count] {
                    let mut own = own;
                    let mut ch = oc;
                    if opts.to_simplified && is_han(ch) {
                        let s = to_simplified(ch);
                        if s != ch {
                            own |= Disguises::TRADITIONAL;
                            ch = s;
                        }
                    }
                    out.push(Pending { ch, orig, own, before: carry });
                    carry = Disguises::NONE;
                }
            }
        }
    }

    /// The normalised text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The original text.
    pub fn original(&self) -> &'a str {
        self.original
    }

    /// Index into the map of the normalised character containing byte `b`.
    fn index_at(&self, b: usize) -> usize {
        match self.map.binary_search_by_key(&(b as u32), |m| m.norm_start) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// The original byte span covered by the normalised byte range `norm`:
    /// from the start of the first original character to the end of the last.
    /// Always on character boundaries of the original. An empty range maps to
    /// an empty range at the corresponding original position.
    pub fn original_span(&self, norm: Range<usize>) -> Range<usize> {
        if self.map.is_empty() {
            return 0..0;
        }
        if norm.start >= self.text.len() {
            let end = self.original.len();
            return end..end;
        }
        let first = self.index_at(norm.start);
        let start = self.map[first].orig_start as usize;
        if norm.end <= norm.start {
            return start..start;
        }
        let last = self.index_at(norm.end - 1);
        let end = self.map[last].orig_end as usize;
        start..end.max(start)
    }

    /// The disguise steps needed to produce the normalised range `norm` from
    /// its original text (characters removed just before the range do not
    /// count; characters removed inside it do).
    pub fn disguised(&self, norm: Range<usize>) -> Disguises {
        if self.map.is_empty() || norm.end <= norm.start || norm.start >= self.text.len() {
            return Disguises::NONE;
        }
        let first = self.index_at(norm.start);
        let last = self.index_at(norm.end - 1);
        let mut d = Disguises::NONE;
        for (k, m) in self.map[first..=last].iter().enumerate() {
            d |= m.own;
            if k > 0 {
                d |= m.before;
            }
        }
        d
    }

    /// The normalised characters with their original byte spans, in order.
    pub fn chars(&self) -> impl Iterator<Item = (usize, char, Range<usize>)> + '_ {
        self.map
            .iter()
            .zip(self.text.chars())
            .map(|(m, c)| (m.norm_start as usize, c, m.orig_start as usize..m.orig_end as usize))
    }
}

/// Normalises a term of a list the same way as the texts it will be matched
/// against.
pub fn normalize_term(term: &str, opts: &Options) -> String {
    Normalized::new(term.trim(), opts).text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (original, normalised, the normalised needle, its original text, disguises)
    #[track_caller]
    fn check(original: &str, normalised: &str, needle: &str, orig_text: &str, how: &[&str]) {
        let n = Normalized::new(original, &Options::default());
        assert_eq!(n.text(), normalised);
        let at = n.text().find(needle).expect("needle in normalised text");
        let r = at..at + needle.len();
        assert_eq!(&original[n.original_span(r.clone())], orig_text);
        assert_eq!(n.disguised(r).names(), how);
    }

    #[test]
    fn plain_text_is_unchanged() {
        check("关于钉子户的通知", "关于钉子户的通知", "钉子户", "钉子户", &[]);
    }

    #[test]
    fn full_width_digits_and_letters() {
        check("身份证号：４４０３ＡＢ", "身份证号:4403ab", "4403ab", "４４０３ＡＢ", &["width", "case"]);
    }

    #[test]
    fn circled_digits_and_compatibility_forms() {
        check("编号①②③", "编号123", "123", "①②③", &["width"]);
        check("⼈⺠", "人⺠", "人", "⼈", &["width"]);
    }

    #[test]
    fn zero_width_inside_counts_before_does_not() {
        check("删\u{200B}帖公关", "删帖公关", "删帖公关", "删\u{200B}帖公关", &["invisible"]);
        check("\u{FEFF}删帖公关", "删帖公关", "删帖公关", "删帖公关", &[]);
    }

    #[test]
    fn separators_between_han_are_skipped() {
        check("维稳 黑名单", "维稳黑名单", "维稳黑名单", "维稳 黑名单", &["separator"]);
        check("封*口*费", "封口费", "封口费", "封*口*费", &["separator"]);
        check("老\u{3000}赖", "老赖", "老赖", "老\u{3000}赖", &["separator"]);
        check("私 · 盗", "私盗", "私盗", "私 · 盗", &["separator"]);
    }

    #[test]
    fn traditional_is_simplified() {
        check("照顧關係戶", "照顾关系户", "关系户", "關係戶", &["traditional"]);
    }

    #[test]
    fn punctuation_and_line_breaks_are_boundaries() {
        let n = Normalized::new("钉子、铁丝；钉子\n户，钉子“户”", &Options::default());
        assert_eq!(n.text(), "钉子、铁丝;钉子\n户,钉子“户”");
        assert!(!n.text().contains("钉子户"));
    }

    #[test]
    fn long_runs_and_mixed_neighbours_are_kept() {
        let n = Normalized::new("序号    姓名 1 周永福", &Options::default());
        assert_eq!(n.text(), "序号    姓名 1 周永福");
        let n = Normalized::new("free vpn a*b", &Options::default());
        assert_eq!(n.text(), "free vpn ab");
    }

    #[test]
    fn keep_layout_keeps_separators() {
        let n = Normalized::new("139 5128\u{200B}7764", &Options::keep_layout());
        assert_eq!(n.text(), "139 51287764");
        assert_eq!(n.original_span(4..12), 4..15);
    }

    #[test]
    fn emoji_offsets_are_bytes() {
        let s = "🎉🎉花钱消灾";
        let n = Normalized::new(s, &Options::default());
        let at = n.text().find("花钱消灾").unwrap();
        assert_eq!(n.original_span(at..at + 12), 8..20);
    }

    #[test]
    fn combining_marks_on_han_are_dropped() {
        check("钉\u{301}子\u{308}户", "钉子户", "钉子户", "钉\u{301}子\u{308}户", &["invisible"]);
    }

    #[test]
    fn combining_marks_compose() {
        let n = Normalized::new("Cafe\u{301}", &Options::default());
        assert_eq!(n.text(), "café");
        assert_eq!(n.original_span(3..5), 3..6);
    }

    #[test]
    fn empty_and_out_of_range() {
        let n = Normalized::new("", &Options::default());
        assert_eq!(n.original_span(0..0), 0..0);
        let n = Normalized::new("ab", &Options::default());
        assert_eq!(n.original_span(5..9), 2..2);
        assert!(n.disguised(1..1).is_empty());
    }

    #[test]
    fn terms_normalise_like_texts() {
        assert_eq!(normalize_term(" 關係 戶 ", &Options::default()), "关系户");
        assert_eq!(Disguises::TRADITIONAL.describe_zh(), "繁体字");
        assert_eq!((Disguises::WIDTH | Disguises::SEPARATOR).to_string(), "width+separator");
    }
}
