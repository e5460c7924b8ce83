//! The previous, character-by-character normaliser, kept for the tests
//! only: the fast normaliser in the crate root must give exactly its output
//! (text, offset map, disguise flags) on every input.

#![allow(dead_code)]

use std::ops::Range;

use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

use crate::{
    Disguises, MAX_SKIPPED_RUN, Options, is_han, is_invisible, is_noise_symbol, is_space, is_unified_han, to_simplified,
};

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
