//! Secrecy markings in one text: the 国家秘密标志 (`机密★5年`, SEC-001), a
//! 密级 word used as a marking rather than as a word (a header line, after
//! `密级：`, `本文件为…`, or standing alone between punctuation, SEC-002),
//! internal-use markings (`内部资料`, `工作秘密`, `注意保密`, `不得外传`,
//! SEC-003) in the same positions. A header line holding only a 密级 (with or
//! without a 6-digit 份号 line above it, GB/T 9704 7.2.1–7.2.2) is the
//! commonest case of a level word standing alone.
//!
//! The word 秘密 in prose (国家秘密, 商业秘密, 没有什么秘密可言, 《绝密使命》)
//! is not a marking: a level word counts only with a ★, with a label, or
//! standing alone. Matching runs on the normalised text with its layout kept
//! (traditional 機密/絕密 are simplified, `＊` is `*`, zero-width characters
//! are gone), so line structure survives for the header rule.

use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;

/// What a marking is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marking {
    /// 国家秘密标志: level ★ period / 解密 condition (SEC-001).
    StarMark,
    /// A 密级 word used as a marking (SEC-002).
    LevelWord,
    /// An internal-use marking (SEC-003).
    Internal,
}

fn star_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?:绝|机|秘) ?密 ?[★☆*✱✲✳✴⭐] ?(?:[0-9]{1,3} ?(?:年|个月|月|天)|长期|[0-9]{4}年[0-9]{1,2}月(?:[0-9]{1,2}日)?|[^\n。;]{0,24}?解密)?",
        )
        .expect("built-in pattern compiles")
    })
}

fn word_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?:绝 ?密|机 ?密|秘 ?密)级?|内部资料|内部材料|内部文件|内部参考|内部刊物|内部发行|内部使用|仅供内部(?:使用|参考)?|仅限内部(?:使用|传阅)?|工作秘密|注意保密|注意保存|不得外传|严禁外传|请勿外传",
        )
        .expect("built-in pattern compiles")
    })
}

fn label_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?:密级|保密等级|密 级)(?: ?[:：]| ?为| ?是)? ?$|(?:本件|本文件|本文|此件|该件|本材料|本资料|该文件|此文件)(?:为|属于|属|系|是|密级为|定为|列为)? ?$|附件 ?[0-9一二三四五六七八九十]{1,3} ?[:：] ?$",
        )
        .expect("built-in pattern compiles")
    })
}

/// Characters that end a marking token on the left: line start, spaces,
/// brackets, colons, commas. Quotation marks and 《》 are not: a quoted or
/// titled word is a word.
fn left_boundary(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => {
            c == '\n' || c == '\t' || c == ' ' || matches!(c, '(' | '[' | '【' | '〔' | ':' | ',' | '、' | '|' | '/')
        }
    }
}

fn right_boundary(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => {
            c == '\n'
                || c == '\t'
                || c == ' '
                || matches!(c, ')' | ']' | '】' | '〕' | ',' | ';' | '。' | '、' | '|' | '/' | ':')
        }
    }
}

/// The markings in normalised text `t`, as (normalised range, what).
pub fn markings(t: &str) -> Vec<(Range<usize>, Marking)> {
    let mut out: Vec<(Range<usize>, Marking)> = Vec::new();
    for m in star_re().find_iter(t) {
        out.push((m.range(), Marking::StarMark));
    }
    for m in word_re().find_iter(t) {
        let r = m.range();
        if out.iter().any(|(o, _)| o.start < r.end && r.start < o.end) {
            continue;
        }
        let line_start = t[..r.start].rfind('\n').map_or(0, |i| i + 1);
        let before = &t[line_start..r.start];
        let prev = t[..r.start].chars().next_back();
        let next = t[r.end..].chars().next();
        let standalone = left_boundary(prev) && right_boundary(next);
        let labelled = label_re().is_match(before);
        if standalone || labelled {
            let word = m.as_str().replace(' ', "");
            let kind = if word.len() == "秘密".len() || word.len() == "秘密级".len() && word.ends_with('级') {
                Marking::LevelWord
            } else {
                Marking::Internal
            };
            out.push((r, kind));
        }
    }
    out.sort_by_key(|(r, _)| r.start);
    merge_same_line(t, out)
}

/// Markings on one line separated only by spaces or light punctuation
/// (`内部资料　注意保密`, `秘密★1年 不得外传`) are one finding.
fn merge_same_line(t: &str, found: Vec<(Range<usize>, Marking)>) -> Vec<(Range<usize>, Marking)> {
    let mut out: Vec<(Range<usize>, Marking)> = Vec::new();
    for (r, k) in found {
        if let Some((last, lk)) = out.last_mut() {
            let gap = &t[last.end.min(r.start)..r.start];
            if gap.chars().all(|c| matches!(c, ' ' | ',' | '、' | '|' | '/')) && gap.chars().count() <= 3 {
                last.end = r.end;
                if k == Marking::StarMark || (k == Marking::LevelWord && *lk == Marking::Internal) {
                    *lk = k;
                }
                continue;
            }
        }
        out.push((r, k));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use textnorm::{Normalized, Options};

    fn found(text: &str) -> Vec<String> {
        let norm = Normalized::new(text, &Options::keep_layout());
        markings(norm.text()).into_iter().map(|(r, k)| format!("{k:?} {}", &text[norm.original_span(r)])).collect()
    }

    #[test]
    fn star_marks_anywhere() {
        assert_eq!(found("秘密★1年\n江政办发〔2024〕41号"), ["StarMark 秘密★1年"]);
        assert_eq!(found("本件密级：机密★10年\n市政府："), ["StarMark 机密★10年"]);
        assert_eq!(found("正文中间绝密★长期，"), ["StarMark 绝密★长期"]);
        assert_eq!(found("机密☆5年"), ["StarMark 机密☆5年"]);
        assert_eq!(found("秘密＊3个月"), ["StarMark 秘密＊3个月"]);
        assert_eq!(found("机密★2030年12月31日"), ["StarMark 机密★2030年12月31日"]);
        assert_eq!(found("机密★项目验收后解密"), ["StarMark 机密★项目验收后解密"]);
        assert_eq!(found("機密★5年"), ["StarMark 機密★5年"]);
        assert_eq!(found("絕密★長期"), ["StarMark 絕密★長期"]);
    }

    #[test]
    fn level_words_as_markings() {
        assert_eq!(found("秘密\n关于某事项的通知"), ["LevelWord 秘密"]);
        assert_eq!(found("000123\n机密\n某某文件"), ["LevelWord 机密"]);
        assert_eq!(found("本件密级：秘密，阅后收回。"), ["LevelWord 秘密"]);
        assert_eq!(found("（本文件为机密，请妥善保管）"), ["LevelWord 机密"]);
        assert_eq!(found("附件2：绝密\n"), ["LevelWord 绝密"]);
        assert_eq!(found("附件9：机密经研究，决定"), ["LevelWord 机密"]);
        assert_eq!(found("密级：机密级\n"), ["LevelWord 机密级"]);
        assert_eq!(found("（祕密）"), ["LevelWord 祕密"]);
        assert_eq!(found("绝密★启用前\n"), ["StarMark 绝密★"]);
    }

    #[test]
    fn internal_markings() {
        assert_eq!(found("内部资料　注意保密\n各区人民政府："), ["Internal 内部资料　注意保密"]);
        assert_eq!(found("（工作秘密，不得外传）"), ["Internal 工作秘密，不得外传"]);
        assert_eq!(found("本件为内部资料，"), ["Internal 内部资料"]);
    }

    #[test]
    fn prose_is_not_a_marking() {
        assert!(found("凡涉及国家秘密、商业秘密、个人隐私的政府信息，经审查依法不予公开。").is_empty());
        assert!(found("政务公开就是要让权力在阳光下运行，没有什么秘密可言。").is_empty());
        assert!(found("为进一步加强内部审计工作，健全内部控制制度").is_empty());
        assert!(found("观看电影《绝密使命》，学习党史").is_empty());
        assert!(found("严禁在互联网上处理工作秘密，请注意保密。").is_empty());
        assert!(found("保密法规定，机密文件应当").is_empty());
    }
}
