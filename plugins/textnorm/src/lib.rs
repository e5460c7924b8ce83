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
#[cfg(test)]
mod reference;
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

/// One entry of the offset map: a run of characters that normalisation left
/// as they were (`copied`: the normalised bytes `norm_start..norm_start +
/// (orig_end - orig_start)` are the original bytes `orig_start..orig_end`,
/// character for character), or one normalised character that a step
/// produced, standing for the original bytes `orig_start..orig_end`.
#[derive(Debug, Clone, Copy)]
struct Mapped {
    norm_start: u32,
    orig_start: u32,
    orig_end: u32,
    /// Steps that changed this character itself (none for a copied run).
    own: Disguises,
    /// Steps that removed characters just before it (invisible characters,
    /// skipped separators): they count only when a match spans them. For a
    /// copied run, they are those before its first character.
    before: Disguises,
    copied: bool,
}

/// A normalised view of a text with an offset map back to the original.
#[derive(Debug, Clone)]
pub struct Normalized<'a> {
    original: &'a str,
    text: String,
    /// In order of `norm_start`, which strictly increases.
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
            copied: false,
        });
        self.text.push(p.ch);
    }

    /// Copies `original[range]`, characters that no step changes and that
    /// are not separators, as one run. Only with no separator run pending.
    fn copy(&mut self, original: &str, range: Range<usize>, before: Disguises) {
        debug_assert!(self.run.is_empty() && !range.is_empty());
        self.map.push(Mapped {
            norm_start: self.text.len() as u32,
            orig_start: range.start as u32,
            orig_end: range.end as u32,
            own: Disguises::NONE,
            before,
            copied: true,
        });
        self.text.push_str(&original[range]);
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

/// Which ASCII characters no step changes and that are not separators, for
/// (`fold_case`, `skip_separators`): the bytes the fast path copies.
const fn ascii_kept(fold_case: bool, skip: bool) -> [bool; 128] {
    let mut t = [true; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        if fold_case && c.is_ascii_uppercase() {
            t[b] = false;
        }
        // `is_space` and `is_noise_symbol` on ASCII (a test checks that
        // they agree).
        if skip
            && matches!(
                c,
                b' ' | b'*'
                    | b'#'
                    | b'@'
                    | b'_'
                    | b'-'
                    | b'~'
                    | b'|'
                    | b'/'
                    | b'\\'
                    | b'+'
                    | b'='
                    | b'^'
                    | b'.'
                    | b'`'
                    | b'&'
                    | b'%'
                    | b'$'
            )
        {
            t[b] = false;
        }
        b += 1;
    }
    t
}

const ASCII_KEPT: [[bool; 128]; 4] =
    [ascii_kept(false, false), ascii_kept(false, true), ascii_kept(true, false), ascii_kept(true, true)];

/// The character starting at byte `i` of `s` (a character boundary).
#[inline(always)]
fn char_at(b: &[u8], i: usize) -> (char, usize) {
    let x = b[i] as u32;
    let (c, len) = if x < 0x80 {
        (x, 1)
    } else if x < 0xE0 {
        (((x & 0x1F) << 6) | (b[i + 1] as u32 & 0x3F), 2)
    } else if x < 0xF0 {
        (((x & 0x0F) << 12) | ((b[i + 1] as u32 & 0x3F) << 6) | (b[i + 2] as u32 & 0x3F), 3)
    } else {
        (
            ((x & 0x07) << 18)
                | ((b[i + 1] as u32 & 0x3F) << 12)
                | ((b[i + 2] as u32 & 0x3F) << 6)
                | (b[i + 3] as u32 & 0x3F),
            4,
        )
    };
    // SAFETY-free: the input is a `str`, so this is a scalar value.
    (char::from_u32(c).unwrap_or('\u{FFFD}'), len)
}

/// A small direct-mapped cache of ([`Normalized::kept`], [`plain`]) for
/// characters other than ASCII and unified Han.
struct Classes {
    slots: [(u32, bool, bool); 64],
}

impl Classes {
    fn new() -> Classes {
        Classes { slots: [(u32::MAX, false, false); 64] }
    }

    #[inline(always)]
    fn get(&mut self, c: char, opts: &Options) -> (bool, bool) {
        let slot = &mut self.slots[(c as usize ^ (c as usize >> 6)) & 63];
        if slot.0 != c as u32 {
            *slot = (c as u32, Normalized::kept(c, opts), plain(c));
        }
        (slot.1, slot.2)
    }
}

/// Nothing after `c` can combine with it.
#[inline(always)]
fn plain(c: char) -> bool {
    c.is_ascii() || is_unified_han(c) || canonical_combining_class(c) == 0
}

impl<'a> Normalized<'a> {
    /// Normalises `original` with `opts`.
    ///
    /// Texts longer than 4 GiB are not supported (offsets are stored as
    /// `u32`); the host caps items far below that.
    pub fn new(original: &'a str, opts: &Options) -> Normalized<'a> {
        let mut sink = Sink {
            text: String::with_capacity(original.len()),
            map: Vec::with_capacity(16 + original.len() / 64),
            skip: opts.skip_separators,
            run: Vec::new(),
        };
        Self::fold(original, opts, &mut sink);
        sink.flush_run();
        Normalized { original, text: sink.text, map: sink.map }
    }

    /// True when no step changes non-ASCII `c` and it is no separator: the
    /// character-by-character path would emit it as it is.
    fn kept(c: char, opts: &Options) -> bool {
        if is_unified_han(c) {
            return !opts.to_simplified || to_simplified(c) == c;
        }
        !(opts.strip_invisible && is_invisible(c))
            && !(opts.fold_width && (('\u{FF01}'..='\u{FF5E}').contains(&c) || c == '\u{3000}'))
            && (!opts.fold_width
                || (is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes && !(opts.fold_case && c.is_uppercase())))
            && !(opts.to_simplified && is_han(c) && to_simplified(c) != c)
            && !(opts.skip_separators && is_separator(c))
    }

    /// Copies runs of characters that no step changes in one piece (the
    /// bulk of any text) and hands every other character to
    /// [`Normalized::fold_one`].
    fn fold(original: &str, opts: &Options, out: &mut Sink) {
        let b = original.as_bytes();
        let n = b.len();
        let ascii = &ASCII_KEPT[usize::from(opts.fold_case) * 2 + usize::from(opts.skip_separators)];
        let t2s_bits = t2s::bitmap();
        let mut carry = Disguises::NONE;
        let mut group = String::new();
        // Other characters (punctuation, symbols, kana...): few distinct
        // ones in a text, so their two properties are looked up once each.
        let mut cache = Classes::new();
        let mut i = 0;
        while i < n {
            if out.run.is_empty() {
                // The longest run from `i` of kept characters that are not
                // combining marks; the character just before a combining
                // mark is left out too (the two may compose).
                let start = i;
                let mut last = i;
                while i < n {
                    let x = b[i];
                    if x < 0x80 {
                        if !ascii[x as usize] {
                            break;
                        }
                        last = i;
                        i += 1;
                        continue;
                    }
                    if (0xE3..=0xE9).contains(&x) {
                        // U+3000..U+9FFF: unified Han is the bulk of the text.
                        let cp = (u32::from(x & 0x0F) << 12)
                            | (u32::from(b[i + 1] & 0x3F) << 6)
                            | u32::from(b[i + 2] & 0x3F);
                        if matches!(cp, 0x3400..=0x4DBF | 0x4E00..=0x9FFF) {
                            if opts.to_simplified && t2s::listed_cp(t2s_bits, cp) {
                                break;
                            }
                            last = i;
                            i += 3;
                            continue;
                        }
                    }
                    let (c, len) = char_at(b, i);
                    let (kept, plain) = cache.get(c, opts);
                    if !plain {
                        i = last;
                        break;
                    }
                    if !kept {
                        break;
                    }
                    last = i;
                    i += len;
                }
                if i > start {
                    out.copy(original, start..i, carry);
                    carry = Disguises::NONE;
                    if i == n {
                        break;
                    }
                }
            }
            i = Self::fold_one(original, i, opts, out, &mut carry, &mut group);
        }
    }

    /// One character at byte `start` (with the combining marks after it):
    /// drop invisibles, NFKC, lower-case, traditional → simplified. Returns
    /// where the next character starts.
    fn fold_one(
        original: &str,
        start: usize,
        opts: &Options,
        out: &mut Sink,
        carry: &mut Disguises,
        group: &mut String,
    ) -> usize {
        let b = original.as_bytes();
        let (c, len) = char_at(b, start);
        let mut end = start + len;
        let next = |at: usize| (at < b.len()).then(|| char_at(b, at).0);
        // A unified Han character followed by nothing that could combine
        // with it.
        if is_unified_han(c) && next(end).is_none_or(plain) {
            let mut own = Disguises::NONE;
            let mut ch = c;
            if opts.to_simplified {
                let s = to_simplified(c);
                if s != c {
                    own = Disguises::TRADITIONAL;
                    ch = s;
                }
            }
            out.push(Pending { ch, orig: (start as u32, end as u32), own, before: *carry });
            *carry = Disguises::NONE;
            return end;
        }
        if opts.strip_invisible && is_invisible(c) {
            *carry |= Disguises::INVISIBLE;
            return end;
        }
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
            out.push(Pending { ch, orig: (start as u32, end as u32), own, before: *carry });
            *carry = Disguises::NONE;
            return end;
        }
        let plain_next = next(end).is_none_or(plain);
        let simple = if c.is_ascii() {
            !(opts.fold_case && c.is_ascii_uppercase()) && (!opts.fold_width || plain_next)
        } else if is_unified_han(c) {
            // Unified ideographs have no compatibility decomposition and
            // no case; only a combining mark after one needs the slow path.
            plain_next
        } else {
            // Most CJK text is already NFKC and has no combining marks:
            // skip the per-character normalisation (and its allocation).
            !opts.fold_width
                || (plain_next
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
            out.push(Pending { ch, orig: (start as u32, end as u32), own, before: *carry });
            *carry = Disguises::NONE;
            return end;
        }
        group.clear();
        group.push(c);
        if opts.fold_width {
            while let Some(m) = next(end) {
                if m.is_ascii() || canonical_combining_class(m) == 0 {
                    break;
                }
                group.push(m);
                end += m.len_utf8();
            }
        }
        let orig = (start as u32, end as u32);
        let mut width = Disguises::NONE;
        let folded: String = if opts.fold_width && !group.is_ascii() {
            let mut n: String = group.nfkc().collect();
            if n != *group {
                width = Disguises::WIDTH;
            }
            // Combining marks stacked on a Han character (`钉\u{301}子户`)
            // compose with nothing: they only break the word. Drop them.
            if opts.strip_invisible && n.chars().next().is_some_and(is_han) && n.chars().count() > 1 {
                n = n.chars().filter(|&m| canonical_combining_class(m) == 0).collect();
                *carry |= Disguises::INVISIBLE;
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
                out.push(Pending { ch, orig, own, before: *carry });
                *carry = Disguises::NONE;
            }
        }
        end
    }

    /// The normalised text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The original text.
    pub fn original(&self) -> &'a str {
        self.original
    }

    /// Index into the map of the entry containing normalised byte `b`.
    fn index_at(&self, b: usize) -> usize {
        match self.map.binary_search_by_key(&(b as u32), |m| m.norm_start) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// The original span of the normalised character containing byte `b`
    /// (clamped to the text), found in map entry `k`.
    fn char_span(&self, k: usize, b: usize) -> (usize, usize) {
        let m = &self.map[k];
        if !m.copied {
            return (m.orig_start as usize, m.orig_end as usize);
        }
        let mut at = b.min(self.text.len() - 1);
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        let len = self.text[at..].chars().next().map_or(1, char::len_utf8);
        let o = at - m.norm_start as usize + m.orig_start as usize;
        (o, o + len)
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
        let start = self.char_span(self.index_at(norm.start), norm.start).0;
        if norm.end <= norm.start {
            return start..start;
        }
        let end = self.char_span(self.index_at(norm.end - 1), norm.end - 1).1;
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
        // A later entry's first character is inside the range, so what was
        // removed before it counts; the first entry's does not (it is
        // before the range, or inside a copied run where nothing was).
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
        self.map.iter().enumerate().flat_map(move |(k, m)| {
            let norm_end = self.map.get(k + 1).map_or(self.text.len(), |n| n.norm_start as usize);
            let start = m.norm_start as usize;
            self.text[start..norm_end].char_indices().map(move |(off, c)| {
                let at = start + off;
                let orig = if m.copied {
                    let o = m.orig_start as usize + off;
                    o..o + c.len_utf8()
                } else {
                    m.orig_start as usize..m.orig_end as usize
                };
                (at, c, orig)
            })
        })
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

    /// Every observable of the fast normaliser equals the reference
    /// (character-by-character) normaliser's on `s`: the text, each
    /// character's original span, and the disguise flags of every
    /// one- and two-character range and of arbitrary byte ranges.
    #[track_caller]
    fn same_as_reference(s: &str, opts: &Options, seed: &mut u64) {
        let new = Normalized::new(s, opts);
        let old = reference::Normalized::new(s, opts);
        assert_eq!(new.text(), old.text(), "text of {s:?} with {opts:?}");
        let chars: Vec<_> = old.chars().collect();
        assert_eq!(new.chars().collect::<Vec<_>>(), chars, "map of {s:?} with {opts:?}");
        let len = new.text().len();
        for (k, (at, c, _)) in chars.iter().enumerate() {
            for r in [*at..at + c.len_utf8(), *at..chars.get(k + 2).map_or(len, |n| n.0), *at..*at] {
                assert_eq!(new.original_span(r.clone()), old.original_span(r.clone()), "{r:?} in {s:?} with {opts:?}");
                assert_eq!(new.disguised(r.clone()), old.disguised(r.clone()), "{r:?} in {s:?} with {opts:?}");
            }
        }
        for _ in 0..8 {
            let a = (xorshift(seed) % (len as u64 + 3)) as usize;
            let b = (xorshift(seed) % (len as u64 + 3)) as usize;
            assert_eq!(new.original_span(a..b), old.original_span(a..b), "{a}..{b} in {s:?} with {opts:?}");
            assert_eq!(new.disguised(a..b), old.disguised(a..b), "{a}..{b} in {s:?} with {opts:?}");
        }
    }

    fn xorshift(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    const ALL_OPTIONS: [Options; 4] = [
        Options {
            fold_width: true,
            fold_case: true,
            strip_invisible: true,
            skip_separators: true,
            to_simplified: true,
        },
        Options {
            fold_width: true,
            fold_case: true,
            strip_invisible: true,
            skip_separators: false,
            to_simplified: true,
        },
        Options {
            fold_width: false,
            fold_case: false,
            strip_invisible: false,
            skip_separators: true,
            to_simplified: false,
        },
        Options {
            fold_width: true,
            fold_case: false,
            strip_invisible: true,
            skip_separators: true,
            to_simplified: false,
        },
    ];

    #[test]
    fn fast_normaliser_equals_reference_on_random_text() {
        let alphabet: Vec<char> = "关于钉子户的通知私盗號關係戶照顧乾隆慰藉祕密机密絕密維穩黑名單丽豈𠀀⼀⼈⺠\
            aBZx1９０Ａｚ①㈱ﬁÅÉΣİßǅ가ｶﾞ \u{3000}\u{A0}*·-.@_\t\n\r，。、“”《》：；！🎉😀★→…—﹡\
            \u{301}\u{308}\u{3099}\u{200B}\u{FEFF}\u{AD}\u{FE0F}\u{2028}\u{85}"
            .chars()
            .collect();
        let mut seed = 0x2545_F491_4F6C_DD1D;
        for _ in 0..1_500 {
            let len = (xorshift(&mut seed) % 24) as usize;
            let s: String =
                (0..len).map(|_| alphabet[(xorshift(&mut seed) % alphabet.len() as u64) as usize]).collect();
            for opts in &ALL_OPTIONS {
                same_as_reference(&s, opts, &mut seed);
            }
        }
    }

    /// The `title` and `body` strings of a JSON-lines file (raw UTF-8 with
    /// JSON escapes), without a JSON parser.
    fn json_texts(line: &str) -> Vec<String> {
        let mut out = Vec::new();
        for key in ["\"title\": \"", "\"body\": \""] {
            let Some(at) = line.find(key) else { continue };
            let mut s = String::new();
            let mut it = line[at + key.len()..].chars();
            while let Some(c) = it.next() {
                match c {
                    '"' => break,
                    '\\' => match it.next() {
                        Some('n') => s.push('\n'),
                        Some('t') => s.push('\t'),
                        Some('r') => s.push('\r'),
                        Some('u') => {
                            let hex: String = it.by_ref().take(4).collect();
                            let mut cp = u32::from_str_radix(&hex, 16).unwrap();
                            if (0xD800..0xDC00).contains(&cp) {
                                let low: String = it.by_ref().skip(2).take(4).collect();
                                cp =
                                    0x10000 + ((cp - 0xD800) << 10) + (u32::from_str_radix(&low, 16).unwrap() - 0xDC00);
                            }
                            s.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                        }
                        Some(other) => s.push(other),
                        None => break,
                    },
                    c => s.push(c),
                }
            }
            out.push(s);
        }
        out
    }

    /// The generated corpora, when present (`make_corpus.py`): the fast
    /// normaliser equals the reference on every item.
    #[test]
    fn fast_normaliser_equals_reference_on_the_corpora() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut seed = 0x9E37_79B9_7F4A_7C15;
        for corpus in ["corpus", "corpus-evasion", "corpus-s7"] {
            let Ok(text) = std::fs::read_to_string(root.join(corpus).join("items.jsonl")) else { continue };
            let mut texts = 0;
            for line in text.lines().take(100) {
                for s in json_texts(line) {
                    texts += 1;
                    for opts in &ALL_OPTIONS[..2] {
                        same_as_reference(&s, opts, &mut seed);
                    }
                }
            }
            assert!(texts > 100, "{corpus}/items.jsonl: {texts} texts read");
        }
    }

    #[test]
    fn ascii_table_agrees_with_the_character_classes() {
        for fold_case in [false, true] {
            for skip in [false, true] {
                let t = ascii_kept(fold_case, skip);
                for b in 0u8..128 {
                    let c = b as char;
                    let kept = !(fold_case && c.is_ascii_uppercase() || skip && is_separator(c));
                    assert_eq!(t[b as usize], kept, "{c:?} fold_case={fold_case} skip={skip}");
                }
            }
        }
    }

    #[test]
    fn terms_normalise_like_texts() {
        assert_eq!(normalize_term(" 關係 戶 ", &Options::default()), "关系户");
        assert_eq!(Disguises::TRADITIONAL.describe_zh(), "繁体字");
        assert_eq!((Disguises::WIDTH | Disguises::SEPARATOR).to_string(), "width+separator");
    }
}
