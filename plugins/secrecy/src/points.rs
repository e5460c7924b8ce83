//! The agency's 密点 list (SEC-006): project code names, facility names and
//! the like, curated by the agency's 保密 office and given in the plugin's
//! configuration. Matched like sensitive terms: on the fully normalised text
//! (so spacing, symbols, full-width and traditional forms do not hide a
//! point), leftmost-longest, reported at the original bytes with the list's
//! tag, severity and version.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use plugin_sdk::textnorm::{Normalized, Options, normalize_term};
use plugin_sdk::{Field, Finding, Severity, TermList, span_in_original};

/// One tagged, versioned list of 密点 (the shared term-list shape).
pub type PointList = TermList;

/// A list's severity where it names none.
pub const DEFAULT_SEVERITY: Severity = Severity::Warn;

#[derive(Debug)]
struct Point {
    term: String,
    list: usize,
}

/// The compiled 密点 lists.
#[derive(Debug)]
pub struct Points {
    automaton: Option<AhoCorasick>,
    points: Vec<Point>,
    lists: Vec<(String, Severity, String)>,
}

impl Points {
    /// Compiles the lists once (per plugin instance).
    pub fn new(lists: &[PointList]) -> Result<Points, String> {
        let opts = Options::default();
        let mut patterns = Vec::new();
        let mut points = Vec::new();
        let mut meta = Vec::new();
        for (i, l) in lists.iter().enumerate() {
            let severity = l.severity_or(DEFAULT_SEVERITY).map_err(|e| format!("secrecy 插件配置无效：{e}"))?;
            meta.push((l.tag.clone(), severity, l.version.clone()));
            for term in &l.terms {
                let n = normalize_term(term, &opts);
                if n.chars().count() >= 2 {
                    patterns.push(n);
                    points.push(Point { term: term.clone(), list: i });
                }
            }
        }
        let automaton = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .kind(Some(AhoCorasickKind::ContiguousNFA))
                    .build(&patterns)
                    .map_err(|e| format!("secrecy 插件配置无效：密点清单无法编译：{e}"))?,
            )
        };
        Ok(Points { automaton, points, lists: meta })
    }

    /// SEC-006 findings in one field's text.
    pub fn scan(&self, field: Field, text: &str) -> Vec<Finding> {
        let Some(ac) = &self.automaton else {
            return Vec::new();
        };
        let norm = Normalized::new(text, &Options::default());
        let mut out = Vec::new();
        for m in ac.find_iter(norm.text()) {
            let point = &self.points[m.pattern().as_usize()];
            let (tag, severity, version) = &self.lists[point.list];
            let Some(span) = span_in_original(&norm, m.range()) else {
                continue;
            };
            out.push(
                Finding::new(
                    "SEC-006",
                    crate::SECRET_POINT,
                    *severity,
                    field,
                    format!("出现本机关密点清单中的“{}”（{tag}，清单版本 {version}）。请经保密审查确认不涉密后再公开，或删除相关内容。", point.term),
                )
                .with_span(span),
            );
        }
        out
    }
}
