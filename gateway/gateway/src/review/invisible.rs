//! The host's own check for characters a reader cannot see: bidirectional
//! controls (U+202E RIGHT-TO-LEFT OVERRIDE reorders what follows it, so a
//! reviewer approves text that reads differently from what is stored) and
//! invisible format characters (U+200B zero-width space, U+FEFF, joiners, …,
//! the list of `textnorm::is_invisible`, which the detection plugins strip
//! before matching: an evader's favourite).
//!
//! It runs in the host, not in a plugin, because it protects the review
//! itself rather than applying an agency's rule: no policy can leave it out
//! or lower its severity. It runs at submission (and in `gateway check`),
//! not again at the seal gate, which sees the same digest.
//!
//! Severity, decided per character class and field:
//! - a bidi control anywhere: **block** — it changes the order in which
//!   text is displayed, so what was reviewed is not what is read;
//! - any other invisible character in a short identifying field (title,
//!   发文字号, issuer, the superior document, attachment names, the
//!   signatory's name): **block** — two look-alike titles or numbers would
//!   differ, defeating search, the 台账 and duplicate checks;
//! - any other invisible character in running text (body, reason, legal
//!   basis): **warn** — usually pasted from a web page or a Word file, never
//!   meaningful in a 公文, shown to the reviewers and removable in one click
//!   (the suggestion deletes it).
//!
//! A run of adjacent characters is one finding; at most
//! [`MAX_FINDINGS_PER_FIELD`] per field, the last one counting the rest.

use super::{Field, Finding, ReviewItem, Severity, Span};

/// Name under which the host reports these findings.
pub const HOST_PLUGIN: &str = "host";
/// Rule id of bidi-control findings.
pub const BIDI_RULE: &str = "HOST-002";
/// Rule id of invisible-character findings.
pub const INVISIBLE_RULE: &str = "HOST-003";
/// Finding kind of bidi controls.
pub const BIDI_KIND: &str = "bidi_control";
/// Finding kind of other invisible characters.
pub const INVISIBLE_KIND: &str = "invisible_character";
/// Findings per field and class before the rest are summarised.
pub const MAX_FINDINGS_PER_FIELD: usize = 20;

/// Bidirectional formatting characters (Unicode UAX #9): embeddings,
/// overrides, isolates and the implicit marks. All are also
/// `textnorm::is_invisible` (a unit test checks).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A character a reader does not see: a bidi control or an invisible
/// format character.
pub fn is_hidden(c: char) -> bool {
    is_bidi_control(c) || textnorm::is_invisible(c)
}

/// How a hidden character is shown to people: `⟨U+202E⟩`.
pub fn marker(c: char) -> String {
    format!("⟨U+{:04X}⟩", u32::from(c))
}

/// The text with every hidden character replaced by its [`marker`], so
/// that it can neither reorder nor hide anything where it is displayed.
pub fn reveal(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(is_hidden) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_hidden(c) {
            out.push_str(&marker(c));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The host's findings for every text field of `item`.
pub fn findings(item: &ReviewItem) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut text = |field: Field, label: &str, value: &str, identifying: bool, spans: bool| {
        check(&mut out, field, label, value, identifying, spans);
    };
    text(Field::Title, "标题", &item.title, true, true);
    text(Field::Body, "正文", &item.body, false, true);
    if let Some(v) = &item.doc_number {
        text(Field::DocNumber, "发文字号", v, true, true);
    }
    if let Some(v) = &item.issuer {
        text(Field::Issuer, "发布机关", v, true, true);
    }
    if let Some(v) = &item.attribute_reason {
        text(Field::AttributeReason, "公开属性理由", v, false, true);
    }
    if let Some(v) = &item.legal_basis {
        text(Field::LegalBasis, "法律依据", v, false, true);
    }
    if let Some(superior) = &item.superior {
        if let Some(v) = &superior.doc_number {
            text(Field::Superior, "上级文件发文字号", v, true, true);
        }
        // Spans into `superior` index its 发文字号 (the WIT): no span here.
        if let Some(v) = &superior.issuer {
            text(Field::Superior, "上级文件发文机关", v, true, false);
        }
    }
    for attachment in &item.attachments {
        text(Field::Attachment, &format!("附件名称“{}”", reveal(&attachment.name)), &attachment.name, true, false);
    }
    if let Some(signoff) = &item.signoff {
        text(Field::Signoff, "签发人姓名", &signoff.name, true, true);
    }
    out
}

fn check(out: &mut Vec<Finding>, field: Field, label: &str, value: &str, identifying: bool, spans: bool) {
    // Runs of hidden characters of one class: (class is bidi, start, end, chars).
    let mut runs: Vec<(bool, usize, usize, Vec<char>)> = Vec::new();
    for (at, c) in value.char_indices() {
        if !is_hidden(c) {
            continue;
        }
        let bidi = is_bidi_control(c);
        match runs.last_mut() {
            Some((b, _, end, chars)) if *b == bidi && *end == at => {
                *end = at + c.len_utf8();
                chars.push(c);
            }
            _ => runs.push((bidi, at, at + c.len_utf8(), vec![c])),
        }
    }
    for bidi in [true, false] {
        let class: Vec<&(bool, usize, usize, Vec<char>)> = runs.iter().filter(|r| r.0 == bidi).collect();
        let total = class.len();
        for (n, (_, start, end, chars)) in class.into_iter().enumerate() {
            if n == MAX_FINDINGS_PER_FIELD {
                break;
            }
            let markers: String = chars.iter().map(|c| marker(*c)).collect();
            let position = value[..*start].chars().count() + 1;
            let rest = if n + 1 == MAX_FINDINGS_PER_FIELD && total > MAX_FINDINGS_PER_FIELD {
                format!("（另有 {} 处同类字符未逐一列出）", total - MAX_FINDINGS_PER_FIELD)
            } else {
                String::new()
            };
            let (rule, kind, severity, message) = if bidi {
                (
                    BIDI_RULE,
                    BIDI_KIND,
                    Severity::Block,
                    format!(
                        "{label}第 {position} 个字符处有双向文字控制符 {markers}：它会改变文字的显示顺序，\
                         审核人看到的与读者看到的可能不同。请删除后重新提交。{rest}"
                    ),
                )
            } else {
                (
                    INVISIBLE_RULE,
                    INVISIBLE_KIND,
                    if identifying { Severity::Block } else { Severity::Warn },
                    format!(
                        "{label}第 {position} 个字符处有不可见字符 {markers}（零宽字符、字节顺序标记等），\
                         读者看不到，却会影响检索、比对和敏感词检查。请删除。{rest}"
                    ),
                )
            };
            let span = spans.then(|| Span {
                start: u32::try_from(*start).unwrap_or(u32::MAX),
                end: u32::try_from(*end).unwrap_or(u32::MAX),
            });
            out.push(Finding {
                plugin: HOST_PLUGIN.to_owned(),
                rule_id: rule.to_owned(),
                kind: kind.to_owned(),
                severity,
                field,
                span,
                message,
                suggestion: span.map(|_| String::new()),
                attachment: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(title: &str, body: &str) -> ReviewItem {
        ReviewItem { title: title.into(), body: body.into(), ..super::super::canary_item() }
    }

    fn render(findings: &[Finding]) -> Vec<String> {
        findings
            .iter()
            .map(|f| {
                let span = f.span.map(|s| format!("{}..{}", s.start, s.end)).unwrap_or_default();
                format!("{} {:?} {:?} {span}", f.rule_id, f.severity, f.field).to_lowercase()
            })
            .collect()
    }

    #[test]
    fn bidi_controls_block_everywhere_and_invisible_characters_by_field() {
        let found = findings(&item("关于\u{202E}通知", "正文\u{200B}\u{200B}内容\u{FEFF}"));
        assert_eq!(
            render(&found),
            ["host-002 block title 6..9", "host-003 warn body 6..12", "host-003 warn body 18..21"]
        );
        let found = findings(&item("关于\u{200B}通知", "正文\u{2067}内容"));
        assert_eq!(render(&found), ["host-003 block title 6..9", "host-002 block body 6..9"]);
        assert!(found[0].message.contains("⟨U+200B⟩"), "{}", found[0].message);
        assert_eq!(found[0].suggestion.as_deref(), Some(""));
    }

    #[test]
    fn every_text_field_is_checked() {
        let mut it = item("标题", "正文");
        it.doc_number = Some("江政\u{200D}发〔2025〕3号".into());
        it.issuer = Some("江城市\u{202D}人民政府".into());
        it.attribute_reason = Some("理由\u{00AD}".into());
        it.legal_basis = Some("依据\u{2060}".into());
        it.superior = Some(crate::review::SuperiorRef {
            doc_number: Some("国\u{200C}发〔2025〕1号".into()),
            issuer: Some("国务院\u{FEFF}".into()),
            attribute: "public".into(),
        });
        it.attachments = vec![crate::review::Attachment {
            name: "附件\u{202E}fdp.exe".into(),
            media_type: "application/pdf".into(),
            digest: format!("sha256:{}", "0".repeat(64)),
            size: 1,
        }];
        let fields: Vec<Field> = findings(&it).iter().map(|f| f.field).collect();
        assert_eq!(
            fields,
            [
                Field::DocNumber,
                Field::Issuer,
                Field::AttributeReason,
                Field::LegalBasis,
                Field::Superior,
                Field::Superior,
                Field::Attachment
            ]
        );
    }

    #[test]
    fn clean_text_has_no_findings_and_long_runs_are_summarised() {
        assert!(findings(&item("关于开展培训的通知", "各单位：\n特此通知。")).is_empty());
        let many = "字\u{200B}".repeat(MAX_FINDINGS_PER_FIELD + 5);
        let found = findings(&item("标题", &many));
        assert_eq!(found.len(), MAX_FINDINGS_PER_FIELD);
        assert!(found.last().unwrap().message.contains("另有 5 处"), "{}", found.last().unwrap().message);
    }

    #[test]
    fn bidi_controls_are_invisible_to_the_normaliser_too() {
        for c in ['\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}'] {
            assert!(is_bidi_control(c) && textnorm::is_invisible(c), "{c:?}");
        }
    }

    #[test]
    fn reveal_shows_markers_instead_of_the_characters() {
        assert_eq!(reveal("abc"), "abc");
        assert_eq!(reveal("a\u{202E}b\u{FEFF}"), "a⟨U+202E⟩b⟨U+FEFF⟩");
    }
}
