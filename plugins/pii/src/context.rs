//! Context words: what a number is introduced as. A number's label is the
//! nearest label word before it in the same clause (or, in a table, the
//! column header line above), because "身份证号：X；合同编号：Y" must give X
//! and Y different labels.
//!
//! Works on the normalised text (NFKC, simplified, lower-case), so `：` is
//! already `:` and `身份證` is already `身份证`.

/// What the text says a number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// 身份证号码, 公民身份号码, 证件号码...
    Id,
    /// 银行卡号, 账号, 收款账户...
    Card,
    /// 手机, 联系电话...
    Phone,
    /// 统一社会信用代码.
    CreditCode,
    /// Something that is not personal data: 编号, 流水号, 档案号, 批号...,
    /// and any other "…号" word right before the number.
    Reference,
    /// A passport or travel permit (`permit::PERMIT_LABELS`).
    Permit(Permit),
}

use crate::permit::{PERMIT_LABELS, Permit};
use crate::table;

/// Label words, most specific first where one contains another.
const LABELS: &[(&str, Label)] = &[
    ("社会信用代码", Label::CreditCode),
    ("信用代码", Label::CreditCode),
    ("身份", Label::Id),
    ("证件号", Label::Id),
    ("身份证", Label::Id),
    ("银行卡", Label::Card),
    ("卡号", Label::Card),
    ("账号", Label::Card),
    ("帐号", Label::Card),
    ("账户", Label::Card),
    ("帐户", Label::Card),
    ("存折", Label::Card),
    ("手机", Label::Phone),
    ("电话", Label::Phone),
    ("联系方式", Label::Phone),
    ("编号", Label::Reference),
    ("编码", Label::Reference),
    ("流水号", Label::Reference),
    ("档案号", Label::Reference),
    ("批号", Label::Reference),
    ("索引号", Label::Reference),
    ("单号", Label::Reference),
    ("案号", Label::Reference),
    ("受理号", Label::Reference),
    ("登记号", Label::Reference),
    ("文号", Label::Reference),
    ("序列号", Label::Reference),
    ("条码", Label::Reference),
    ("凭证号", Label::Reference),
    ("票号", Label::Reference),
    ("证书号", Label::Reference),
    ("许可证号", Label::Reference),
    ("资产", Label::Reference),
    ("批次", Label::Reference),
    ("订单", Label::Reference),
    ("工单", Label::Reference),
    ("备案号", Label::Reference),
    ("申请号", Label::Reference),
    ("专利号", Label::Reference),
    ("货号", Label::Reference),
    ("型号", Label::Reference),
    ("车架号", Label::Reference),
    ("发动机号", Label::Reference),
    ("交易号", Label::Reference),
    ("业务号", Label::Reference),
    ("办件号", Label::Reference),
    ("储蓄卡", Label::Card),
    ("借记卡", Label::Card),
    ("信用卡", Label::Card),
    ("社保卡", Label::Card),
    ("微信", Label::Phone),
    ("合同", Label::Reference),
    ("批件", Label::Reference),
    ("批复", Label::Reference),
    ("团组", Label::Reference),
];

/// Words that tie a number to a natural person (for a Luhn-failing card).
const PERSON_WORDS: &[&str] = &[
    "姓名",
    "申请人",
    "当事人",
    "本人",
    "户主",
    "持卡人",
    "收款人",
    "经营者",
    "举报人",
    "投诉人",
    "经办人",
    "村民",
    "农户",
    "居民",
    "职工",
    "学生",
    "患者",
    "家属",
    "监护人",
    "个人",
    "被申请人",
    "负责人",
    "法定代表人",
    "同志",
];

/// How far back (in characters) a label may stand from its number.
const LOOKBACK_CHARS: usize = 24;

fn is_clause_end(c: char) -> bool {
    matches!(c, '。' | ';' | '!' | '?' | '\n')
}

/// The start of the clause containing byte `pos` of `text` (after the last
/// `。；！？` or line break), but no more than `LOOKBACK_CHARS` back.
fn window_start(text: &str, pos: usize) -> usize {
    let mut start = pos;
    for (n, (i, c)) in text[..pos].char_indices().rev().enumerate() {
        if n >= LOOKBACK_CHARS || is_clause_end(c) {
            break;
        }
        start = i;
    }
    start
}

/// The clause before byte `pos` (as far back as a label may stand).
pub fn clause_before(text: &str, pos: usize) -> &str {
    &text[window_start(text, pos)..pos]
}

/// The nearest label before byte `pos` in its clause.
pub fn label_before(text: &str, pos: usize) -> Option<Label> {
    let window = &text[window_start(text, pos)..pos];
    nearest_label(window)
}

/// The nearest label at the end of `window` (the text before a number).
pub fn nearest_label(window: &str) -> Option<Label> {
    let mut best: Option<(usize, usize, Label)> = None; // (end, len, label)
    let words = LABELS.iter().copied().chain(PERMIT_LABELS.iter().map(|(w, p)| (*w, Label::Permit(*p))));
    for (word, label) in words {
        if let Some(at) = window.rfind(word) {
            let end = at + word.len();
            let better = match best {
                None => true,
                Some((e, l, _)) => end > e || (end == e && word.len() > l),
            };
            if better {
                best = Some((end, word.len(), label));
            }
        }
    }
    // A "…号" word right before the number names what it is: when it is not
    // the nearest label itself (身份证号, 护照号, 卡号), the number is some
    // other thing's number (合同号, 批件号, 任务号...). Not "两个号码".
    let tail = window.trim_end_matches([':', ' ', '(', '为', '是']);
    if let Some(stem) = tail.strip_suffix('号')
        && stem.ends_with(|c: char| !c.is_ascii() && !"个的该此其各".contains(c))
        && best.is_none_or(|(e, _, _)| e < stem.len())
    {
        return Some(Label::Reference);
    }
    best.map(|(_, _, l)| l)
}

/// For a number on a table row without a label of its own: the labels of
/// its column's header cell, or, when the row does not line up with a
/// header, of the nearest header line above (a line with label words and no
/// long number), within 30 lines.
pub fn column_labels(text: &str, pos: usize) -> Vec<Label> {
    if let Some((cell, _)) = table::header_of(text, pos) {
        return nearest_label(cell).into_iter().collect();
    }
    let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let mut out = Vec::new();
    for line in text[..line_start].lines().rev().take(30) {
        let longest_digits = line.split(|c: char| !c.is_ascii_digit()).map(str::len).max().unwrap_or(0);
        let labels: Vec<Label> = LABELS.iter().filter(|(w, _)| line.contains(w)).map(|(_, l)| *l).collect();
        if longest_digits < 6 && !labels.is_empty() && line.chars().count() < 60 {
            out = labels;
            break;
        }
    }
    out
}

/// True when the clause around byte range `at` names a person, or the item
/// is a table with a 姓名 column.
pub fn person_linked(text: &str, at: std::ops::Range<usize>) -> bool {
    let start = window_start(text, at.start);
    let end = text[at.end..].find(is_clause_end).map_or(text.len(), |i| at.end + i);
    let clause = &text[start..end];
    PERSON_WORDS.iter().any(|w| clause.contains(w)) || has_name_column(text, at.start)
}

fn has_name_column(text: &str, pos: usize) -> bool {
    let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    text[..line_start].lines().rev().take(30).any(|l| l.contains("姓名") && l.chars().count() < 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn label(text: &str) -> Option<Label> {
        let pos = text.find('#').expect("marker");
        label_before(text, pos)
    }

    #[test]
    fn nearest_label_wins() {
        assert_eq!(label("身份证号:#"), Some(Label::Id));
        assert_eq!(label("公民身份号码#"), Some(Label::Id));
        assert_eq!(label("身份证号:123,合同编号:#"), Some(Label::Reference));
        assert_eq!(label("受理编号#的申请"), Some(Label::Reference));
        assert_eq!(label("统一社会信用代码:#"), Some(Label::CreditCode));
        assert_eq!(label("银行卡号#"), Some(Label::Card));
        assert_eq!(label("联系电话:#"), Some(Label::Phone));
        assert_eq!(label("身份证号码。下一句#"), None);
        assert_eq!(label("今天天气很好#"), None);
        assert_eq!(label("护照号码:#"), Some(Label::Permit(Permit::Passport)));
        assert_eq!(label("护照办理完毕,合同号:#"), Some(Label::Reference));
        assert_eq!(label("出访批件号#"), Some(Label::Reference));
        assert_eq!(label("手机号#"), Some(Label::Phone));
        assert_eq!(label("两个号码#"), None);
    }

    #[test]
    fn table_headers_label_rows() {
        let t = "序号 姓名 银行卡号 补贴金额\n1 周永福 #";
        let pos = t.find('#').unwrap();
        assert_eq!(label_before(t, pos), None);
        assert!(column_labels(t, pos).contains(&Label::Card));
        assert!(person_linked(t, pos..pos + 1));
    }

    #[test]
    fn person_link() {
        let t = "补助资金已发放至申请人银行卡号#。";
        let p = t.find('#').unwrap();
        assert!(person_linked(t, p..p + 1));
        let t = "个人缴费请通过app缴纳。如银行卡号#扣款失败,请联系开户行。";
        let p = t.find('#').unwrap();
        assert!(!person_linked(t, p..p + 1));
    }
}
