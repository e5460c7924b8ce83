//! The term engine: tagged, versioned term lists compiled once into one
//! Aho-Corasick automaton over normalised terms, matched on the normalised
//! text, with an allow-list that suppresses a hit only when an allowed
//! term's occurrence contains it (路口交通 suppresses 口交 inside it, 大麻烦
//! suppresses 大麻 inside it, but neither suppresses the word elsewhere).
//!
//! Matching is overlapping first (so that allow-list containment sees every
//! hit), then leftmost-longest among the survivors. Latin or digit terms
//! must stand on word boundaries (`av` is not in `have`); Han terms need none.
//!
//! The automaton is `daachorse`'s character-wise double-array Aho-Corasick:
//! it steps on code points (one state per Han character instead of three
//! byte states), takes about 12 bytes a state, and builds without the large
//! intermediate NFA of `aho-corasick`. That decides it for the plugin: with
//! the corpus's 100,000-term list, `aho-corasick` (contiguous NFA, built via
//! its non-contiguous NFA) peaked above the 64 MiB memory cap of a plugin
//! instance, because WebAssembly memory never shrinks after the build peak.
//! Leftmost-longest selection is done here, after the allow-list, on the
//! overlapping matches.

use std::collections::HashMap;
use std::ops::Range;

use daachorse::CharwiseDoubleArrayAhoCorasick;
use plugin_sdk::Severity;
use plugin_sdk::textnorm::{Disguises, Normalized, Options, normalize_term};

pub use plugin_sdk::TermList;

/// A list's severity where it names none.
pub const DEFAULT_SEVERITY: Severity = Severity::Block;

/// Parses the plain-text list format of `policies/terms/*.txt`: one term a
/// line; `#` comments; header comments `# tag: …`, `# severity: …` and
/// `# version: …` set the list's metadata.
pub fn parse_term_file(text: &str, default_tag: &str) -> TermList {
    let mut list = TermList { tag: default_tag.to_owned(), severity: None, version: String::new(), terms: Vec::new() };
    for line in text.lines() {
        let line = line.trim();
        if let Some(comment) = line.strip_prefix('#') {
            if let Some((k, v)) = comment.split_once(':') {
                let v = v.trim().to_owned();
                match k.trim() {
                    "tag" => list.tag = v,
                    "severity" => list.severity = Some(v),
                    "version" => list.version = v,
                    _ => {}
                }
            }
        } else if !line.is_empty() {
            list.terms.push(line.to_owned());
        }
    }
    list
}

/// Metadata of a compiled list.
#[derive(Debug, Clone)]
pub struct ListInfo {
    pub tag: String,
    pub severity: Severity,
    pub version: String,
}

#[derive(Debug)]
struct Term {
    /// The term as the list wrote it.
    display: Box<str>,
    list: u32,
    /// Needs a word boundary before / after (Latin or digit edge).
    bounded: (bool, bool),
}

/// One reported hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Original byte span.
    pub span: Range<usize>,
    /// The term as the list wrote it.
    pub term: String,
    /// Index into [`Lexicon::lists`].
    pub list: usize,
    /// Disguise steps the match needed.
    pub disguised: Disguises,
}

type Automaton = CharwiseDoubleArrayAhoCorasick<u32>;

/// Compiled term lists and allow-list.
pub struct Lexicon {
    deny: Option<Automaton>,
    terms: Vec<Term>,
    allow: Option<Automaton>,
    lists: Vec<ListInfo>,
}

impl std::fmt::Debug for Lexicon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lexicon").field("terms", &self.terms.len()).field("lists", &self.lists).finish_non_exhaustive()
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

fn automaton<'p>(patterns: impl Iterator<Item = (&'p str, u32)>) -> Result<Option<Automaton>, String> {
    let patvals: Vec<(&str, u32)> = patterns.collect();
    if patvals.is_empty() {
        return Ok(None);
    }
    Automaton::with_values(patvals).map(Some).map_err(|e| format!("词表无法编译：{e}"))
}

impl Lexicon {
    /// Normalises and compiles the lists (once per plugin instance). A term
    /// that appears in several lists keeps the most severe list.
    pub fn compile(lists: &[TermList], allow: &[String]) -> Result<Lexicon, String> {
        let opts = Options::default();
        let mut infos = Vec::with_capacity(lists.len());
        // Normalised term -> index into `terms`; the only copy of each
        // normalised string (the build borrows them, then they are dropped).
        let mut index: HashMap<String, u32> = HashMap::new();
        let mut terms: Vec<Term> = Vec::new();
        for (li, list) in lists.iter().enumerate() {
            let severity = list.severity_or(DEFAULT_SEVERITY)?;
            infos.push(ListInfo { tag: list.tag.clone(), severity, version: list.version.clone() });
            for raw in &list.terms {
                let norm = normalize_term(raw, &opts);
                if norm.is_empty() {
                    continue;
                }
                match index.get(&norm) {
                    Some(&k) => {
                        let term = &mut terms[k as usize];
                        if severity > infos[term.list as usize].severity {
                            term.list = li as u32;
                            term.display = raw.trim().into();
                        }
                    }
                    None => {
                        let first = norm.chars().next().is_some_and(is_word_char);
                        let last = norm.chars().next_back().is_some_and(is_word_char);
                        terms.push(Term { display: raw.trim().into(), list: li as u32, bounded: (first, last) });
                        index.insert(norm, (terms.len() - 1) as u32);
                    }
                }
            }
        }
        let deny = automaton(index.iter().map(|(k, &v)| (k.as_str(), v)))?;
        drop(index);
        let allow_patterns: Vec<String> =
            allow.iter().map(|a| normalize_term(a, &opts)).filter(|a| !a.is_empty()).collect();
        let mut allow_unique: Vec<&str> = allow_patterns.iter().map(String::as_str).collect();
        allow_unique.sort_unstable();
        allow_unique.dedup();
        let allow = automaton(allow_unique.into_iter().zip(0u32..))?;
        Ok(Lexicon { deny, terms, allow, lists: infos })
    }

    /// The compiled lists' metadata.
    pub fn lists(&self) -> &[ListInfo] {
        &self.lists
    }

    /// Number of distinct normalised terms.
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    /// True when no list has a term.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Heap bytes of the automata.
    pub fn memory_usage(&self) -> usize {
        self.deny.as_ref().map_or(0, Automaton::heap_bytes) + self.allow.as_ref().map_or(0, Automaton::heap_bytes)
    }

    /// How many (overlapping) deny-list matches the automaton finds in text
    /// that is already normalised: the automaton's share of [`Lexicon::scan`],
    /// for benchmarks.
    pub fn scan_normalised(&self, normalised: &str) -> usize {
        self.deny.as_ref().map_or(0, |d| d.find_overlapping_iter(normalised).count())
    }

    /// The hits in `text`, leftmost-longest, allow-list applied.
    pub fn scan(&self, text: &str) -> Vec<Hit> {
        let Some(deny) = &self.deny else {
            return Vec::new();
        };
        let norm = Normalized::new(text, &Options::default());
        let t = norm.text();
        let allowed: Vec<Range<usize>> = match &self.allow {
            Some(a) => a.find_overlapping_iter(t).map(|m| m.start()..m.end()).collect(),
            None => Vec::new(),
        };
        let mut hits: Vec<(Range<usize>, usize)> = deny
            .find_overlapping_iter(t)
            .filter(|m| {
                let term = &self.terms[m.value() as usize];
                let before_ok = !term.bounded.0 || !t[..m.start()].chars().next_back().is_some_and(is_word_char);
                let after_ok = !term.bounded.1 || !t[m.end()..].chars().next().is_some_and(is_word_char);
                before_ok && after_ok
            })
            .filter(|m| !allowed.iter().any(|a| a.start <= m.start() && m.end() <= a.end))
            .map(|m| (m.start()..m.end(), m.value() as usize))
            .collect();
        hits.sort_by_key(|(r, _)| (r.start, std::cmp::Reverse(r.end)));
        let mut out = Vec::new();
        let mut taken_to = 0;
        for (r, pid) in hits {
            if r.start < taken_to {
                continue;
            }
            taken_to = r.end;
            let term = &self.terms[pid];
            out.push(Hit {
                span: norm.original_span(r.clone()),
                term: term.display.to_string(),
                list: term.list as usize,
                disguised: norm.disguised(r),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(terms: &[&str], allow: &[&str]) -> Lexicon {
        let list = TermList {
            tag: "测试".into(),
            severity: Some("block".into()),
            version: "t1".into(),
            terms: terms.iter().map(|s| s.to_string()).collect(),
        };
        let allow: Vec<String> = allow.iter().map(|s| s.to_string()).collect();
        Lexicon::compile(&[list], &allow).unwrap()
    }

    /// (text, [(original text of the hit, disguise names)])
    #[track_caller]
    fn check(l: &Lexicon, text: &str, expect: &[(&str, &str)]) {
        let got: Vec<(String, String)> =
            l.scan(text).into_iter().map(|h| (text[h.span].to_owned(), h.disguised.to_string())).collect();
        let want: Vec<(String, String)> = expect.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(got, want, "in {text:?}");
    }

    #[test]
    fn plain_and_negative() {
        let l = lex(&["钉子户", "刁民"], &[]);
        check(&l, "最后一户“钉子户”签约了", &[("钉子户", "")]);
        check(&l, "严禁刁难民众；施工现场的钉子、铁丝", &[]);
    }

    #[test]
    fn disguised_hits_are_flagged() {
        let l = lex(&["维稳黑名单", "删帖公关", "封口费", "关系户", "老赖"], &[]);
        check(&l, "违规建立维稳 黑名单", &[("维稳 黑名单", "separator")]);
        check(&l, "可通过“删\u{200B}帖公关”处理", &[("删\u{200B}帖公关", "invisible")]);
        check(&l, "被索要封*口*费", &[("封*口*费", "separator")]);
        check(&l, "照顧關係戶", &[("關係戶", "traditional")]);
        check(&l, "12名老\u{3000}赖", &[("老\u{3000}赖", "separator")]);
    }

    #[test]
    fn allow_list_suppresses_by_containment_only() {
        let l = lex(&["口交", "大麻"], &["路口交通", "大麻烦"]);
        check(&l, "路口交通秩序良好", &[]);
        check(&l, "这是一个大麻烦", &[]);
        check(&l, "严禁种植大麻", &[("大麻", "")]);
        check(&l, "路口交通，大麻种植", &[("大麻", "")]);
    }

    #[test]
    fn leftmost_longest() {
        let l = lex(&["我的", "我的世界"], &[]);
        check(&l, "打开我的世界", &[("我的世界", "")]);
        let l = lex(&["共产", "共产党员xx"], &["共产党"]);
        check(&l, "共产党员", &[]);
    }

    #[test]
    fn latin_terms_need_word_boundaries() {
        let l = lex(&["av", "VPN"], &[]);
        check(&l, "we have a plan", &[]);
        check(&l, "翻墙vpn软件", &[("vpn", "")]);
        check(&l, "使用ＶＰＮ", &[("ＶＰＮ", "width+case")]);
    }

    #[test]
    fn most_severe_list_wins_for_duplicates() {
        let a = TermList {
            tag: "广告".into(),
            severity: Some("warn".into()),
            version: "1".into(),
            terms: vec!["最低价".into()],
        };
        let b = TermList {
            tag: "违法有害".into(),
            severity: Some("block".into()),
            version: "2".into(),
            terms: vec!["最 低 价".into()],
        };
        let l = Lexicon::compile(&[a, b], &[]).unwrap();
        assert_eq!(l.len(), 1);
        let h = l.scan("全网最低价");
        assert_eq!(l.lists()[h[0].list].tag, "违法有害");
        assert!(
            Lexicon::compile(
                &[TermList { tag: "x".into(), severity: Some("fatal".into()), version: String::new(), terms: vec![] }],
                &[]
            )
            .is_err()
        );
    }

    #[test]
    fn term_file_format() {
        let l = parse_term_file("# tag: 低俗\n# severity: warn\n# version: 2025.1\n# a comment\n词一\n\n 词二 \n", "x");
        assert_eq!(l.tag, "低俗");
        assert_eq!(l.severity.as_deref(), Some("warn"));
        assert_eq!(l.version, "2025.1");
        assert_eq!(l.terms, ["词一", "词二"]);
    }

    #[test]
    fn hundred_thousand_terms_fit() {
        // 100,000 distinct 2–8 character Han terms, deterministic.
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut set = std::collections::HashSet::new();
        while set.len() < 100_000 {
            let len = 2 + (next() % 7) as usize;
            let t: String = (0..len).map(|_| char::from_u32(0x4E00 + (next() % 3000) as u32).unwrap()).collect();
            set.insert(t);
        }
        let list = TermList {
            tag: "t".into(),
            severity: Some("block".into()),
            version: "v".into(),
            terms: set.into_iter().collect(),
        };
        let l = Lexicon::compile(&[list], &[]).unwrap();
        // a few random terms collapse into one after traditional → simplified
        assert!(l.len() > 99_900, "{}", l.len());
        eprintln!("100k terms: automaton heap {} bytes", l.memory_usage());
        assert!(l.memory_usage() < 64 << 20, "{} bytes", l.memory_usage());
    }
}
