//! Fallback detection of 密级 and internal markings.
//!
//! The secrecy plugin owns `classification_marker` findings; this module only
//! lets the attribute rules work when that plugin did not run before them (or
//! is configured off). It follows the same conventions: 绝密/机密/秘密 count
//! as a marking with ★ and a period, as a header line, after 密级, after an
//! attachment label (附件3：机密) or in a statement about the document itself
//! (本文件为内部资料); 内部资料, 注意保密 and the like count as a header line.
//! The same words in prose (国家秘密、商业秘密, 内部审计, 没有什么秘密可言) are
//! not markings.

use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;
use rulekit::Folded;

/// A marking found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marking {
    /// Byte range in the original text.
    pub span: Range<usize>,
}

fn star_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!(
            r"(?:密级\s*[:：]?\s*)?(绝密|机密|秘密)\s*[★☆*⭐]\s*(\d+\s*(年|个月)|长期|[^\s，。,]{0,12})",
            r"|密级\s*[:：]?\s*(绝密|机密|秘密|内部资料|内部文件|工作秘密|内部)",
            r"|附件\s*[0-9一二三四五六七八九十]+\s*[:：]\s*(绝密|机密|秘密|内部资料)",
            r"|(?:本件|本文件|此件|本文|本材料)(?:为|属于?|系)\s*(绝密|机密|秘密|内部资料|内部文件|工作秘密)",
        ))
        .expect("marking regex is valid")
    })
}

fn header_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let m = r"(?:绝密|机密|秘密|内部资料|内部文件|内部刊物|内部材料|内部|注意保密|注意保存|妥善保管|工作秘密|仅供内部参考|内部参考|不得外传|严禁外传)";
        Regex::new(&format!(r"^[\s\[【(（]*{m}(?:[\s、，,·\])）】]*{m})*[\s\])）】]*$")).expect("header regex is valid")
    })
}

/// The first marking in `text`, if any.
pub fn find_marking(text: &str) -> Option<Marking> {
    let folded = Folded::new(text);
    let t = folded.text();
    if let Some(m) = star_re().find(t) {
        return Some(Marking { span: folded.orig_range(m.range()) });
    }
    // Header zone: the first three non-empty lines.
    let mut offset = 0;
    let mut seen = 0;
    for line in t.split_inclusive('\n') {
        let content = line.trim_end_matches('\n');
        if !content.trim().is_empty() {
            seen += 1;
            if header_re().is_match(content) {
                let lead = content.len() - content.trim_start().len();
                let trimmed = content.trim();
                return Some(Marking { span: folded.orig_range(offset + lead..offset + lead + trimmed.len()) });
            }
            if seen == 3 {
                break;
            }
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(text: &str, want: Option<&str>) {
        let got = find_marking(text).map(|m| &text[m.span]);
        assert_eq!(got, want, "{text}");
    }

    #[test]
    fn markings() {
        check("秘密★1年\n各区人民政府：", Some("秘密★1年"));
        check("機密★5年\n各鄉鎮人民政府", Some("機密★5年"));
        check("本件密级：机密★10年\n市政府：", Some("密级：机密★10年"));
        check("内部资料　注意保密\n各区人民政府", Some("内部资料　注意保密"));
        check("000123\n机密\n特急\n关于……", Some("机密"));
        check("绝密★长期", Some("绝密★长期"));
        check("密级：秘密", Some("密级：秘密"));
        check("【内部资料】\n正文", Some("【内部资料】"));
        check("措施实。本件密级：内部资料，阅后请按规定收回。", Some("密级：内部资料"));
        check("达到74.4%。附件4：机密（十）推进信息共享。", Some("附件4：机密"));
        check("相关工作。（本文件为内部资料，请妥善保管）", Some("本文件为内部资料"));
    }

    #[test]
    fn prose_is_not_a_marking() {
        check("凡涉及国家秘密、商业秘密、个人隐私的政府信息，经审查依法不予公开。", None);
        check("政务公开就是要让权力在阳光下运行，没有什么秘密可言。", None);
        check("为进一步加强内部审计工作，健全内部控制制度。", None);
        check("观看电影《绝密使命》，重温红色历史。", None);
        check("各区：\n一、总体要求\n二、工作安排\n秘密\n", None);
        check("严格落实信息发布保密审查制度，明确审查程序和责任。", None);
        check("附件2：江城市政务公开工作考核细则", None);
        check("确定密级应当依法进行。", None);
        check("本文件为贯彻落实条例而制定。", None);
    }
}
