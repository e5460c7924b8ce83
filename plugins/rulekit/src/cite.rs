//! Chinese numerals and citations of articles (第十五条, 第三十六条第（三）项).
//!
//! Messages and rules talk about articles of the 条例 by number; drafters
//! write them in Chinese numerals, Arabic digits, or with the clause in
//! brackets. This module turns them into numbers. It does not know what the
//! articles say: that is the rules' business.

use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;

/// The value of a Chinese numeral such as `十五`, `三十六`, `一百零一`,
/// `二〇二四` (digit by digit) or Arabic digits; `None` if it is not one.
pub fn parse_numeral(s: &str) -> Option<u32> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.chars().all(|c| c.is_ascii_digit()) {
        return s.parse().ok();
    }
    let digit = |c: char| -> Option<u32> {
        Some(match c {
            '零' | '〇' | 'О' => 0,
            '一' | '壹' => 1,
            '二' | '两' | '贰' => 2,
            '三' | '叁' => 3,
            '四' | '肆' => 4,
            '五' | '伍' => 5,
            '六' | '陆' => 6,
            '七' | '柒' => 7,
            '八' | '捌' => 8,
            '九' | '玖' => 9,
            _ => return None,
        })
    };
    // Digit-by-digit form (二〇二四) when there is no unit character.
    if !s.contains(['十', '拾', '百', '佰', '千', '仟']) {
        return s.chars().try_fold(0u32, |acc, c| Some(acc.checked_mul(10)? + digit(c)?));
    }
    let mut total = 0u32;
    let mut current: Option<u32> = None;
    for c in s.chars() {
        let unit = match c {
            '十' | '拾' => 10,
            '百' | '佰' => 100,
            '千' | '仟' => 1000,
            _ => {
                current = Some(digit(c)?);
                continue;
            }
        };
        total += current.unwrap_or(1) * unit;
        current = None;
    }
    Some(total + current.unwrap_or(0))
}

/// One `第…条` found in a text, with its optional `第…款` and `第…项`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleRef {
    /// Article number.
    pub article: u32,
    /// Paragraph (款), if given.
    pub paragraph: Option<u32>,
    /// Item (项), if given.
    pub item: Option<u32>,
    /// Byte range of the whole citation in the text searched.
    pub span: Range<usize>,
}

fn article_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let num = r"[0-9零〇一二两三四五六七八九十百]+";
        Regex::new(&format!(r"第\s*({num})\s*条(?:\s*第\s*({num})\s*款)?(?:\s*第\s*[（(]?\s*({num})\s*[）)]?\s*项)?"))
            .expect("article regex is valid")
    })
}

/// Every `第N条` in `text` (fold traditional characters first).
pub fn articles(text: &str) -> Vec<ArticleRef> {
    article_re()
        .captures_iter(text)
        .filter_map(|c| {
            Some(ArticleRef {
                article: parse_numeral(c.get(1)?.as_str())?,
                paragraph: c.get(2).and_then(|m| parse_numeral(m.as_str())),
                item: c.get(3).and_then(|m| parse_numeral(m.as_str())),
                span: c.get(0)?.range(),
            })
        })
        .collect()
}

/// Whether `text` names the 政府信息公开条例 (full title, short title
/// 《条例》, or "条例" right before an article).
pub fn names_disclosure_regulation(text: &str) -> bool {
    text.contains("信息公开条例") || text.contains("《条例》") || text.contains("条例第")
}

/// The grounds 条例 arts. 14–16 give for not disclosing, in the words a
/// reason or a reply states them with.
pub const STATUTORY_GROUNDS: &[&str] = &[
    "国家秘密",
    "法律、行政法规禁止",
    "国家安全",
    "公共安全",
    "经济安全",
    "社会稳定",
    "商业秘密",
    "个人隐私",
    "内部事务",
    "过程性信息",
    "行政执法案卷",
];

/// Whether `text` names one of the [`STATUTORY_GROUNDS`].
pub fn names_statutory_ground(text: &str) -> bool {
    STATUTORY_GROUNDS.iter().any(|g| text.contains(g))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerals() {
        for (s, n) in [
            ("十五", Some(15)),
            ("十", Some(10)),
            ("三十六", Some(36)),
            ("一百零一", Some(101)),
            ("二〇二四", Some(2024)),
            ("26", Some(26)),
            ("四十九", Some(49)),
            ("", None),
            ("条", None),
        ] {
            assert_eq!(parse_numeral(s), n, "{s}");
        }
    }

    #[test]
    fn article_citations() {
        let t = "根据《中华人民共和国政府信息公开条例》第三十六条第（二）项的规定";
        let a = articles(t);
        assert_eq!(a.len(), 1);
        assert_eq!((a[0].article, a[0].paragraph, a[0].item), (36, None, Some(2)));
        assert_eq!(&t[a[0].span.clone()], "第三十六条第（二）项");
        let a = articles("属于过程性信息（条例第十六条第二款），第15条");
        assert_eq!(a.iter().map(|a| (a.article, a.paragraph)).collect::<Vec<_>>(), vec![(16, Some(2)), (15, None)]);
        assert!(articles("第三季度第7次会议").is_empty());
        assert!(names_disclosure_regulation("依据条例第十五条"));
        assert!(!names_disclosure_regulation("依据《档案法》第十五条"));
    }
}
