//! Findings shown in the text: a field cut into segments at every span
//! boundary, each segment marked with the findings that cover it (spans
//! may overlap: a 身份证 number inside a sensitive paragraph).

use crate::review::Severity;

/// A finding's place in one field, by byte offsets (as plugins report).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    /// The finding's number on the page (its anchor `#f{n}`).
    pub finding: usize,
    pub start: usize,
    pub end: usize,
    pub severity: Severity,
}

/// A run of text and the findings that cover it.
#[derive(Debug, PartialEq, Eq)]
pub struct Segment {
    pub text: String,
    /// Numbers of the findings covering this run, in page order.
    pub findings: Vec<usize>,
    /// The most severe of them (the colour), if any.
    pub severity: Option<Severity>,
}

impl Segment {
    /// The CSS class of the mark.
    pub fn class(&self) -> &'static str {
        match self.severity {
            Some(Severity::Block) => "hl hl-block",
            Some(Severity::Warn) => "hl hl-warn",
            Some(Severity::Info) => "hl hl-info",
            None => "",
        }
    }

    /// The anchor of the first finding, for the link in the text.
    pub fn first(&self) -> usize {
        self.findings.first().copied().unwrap_or_default()
    }

    /// `f1 f3`: ids the mark describes (`aria-describedby`).
    pub fn described_by(&self) -> String {
        self.findings.iter().map(|f| format!("f{f}")).collect::<Vec<_>>().join(" ")
    }
}

/// Cuts `text` into segments. Marks out of range or not on character
/// boundaries (a stored review of another text) are ignored rather than
/// trusted.
pub fn segments(text: &str, marks: &[Mark]) -> Vec<Segment> {
    let valid: Vec<&Mark> = marks
        .iter()
        .filter(|m| {
            m.start < m.end && m.end <= text.len() && text.is_char_boundary(m.start) && text.is_char_boundary(m.end)
        })
        .collect();
    let mut cuts: Vec<usize> = vec![0, text.len()];
    for m in &valid {
        cuts.push(m.start);
        cuts.push(m.end);
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut out: Vec<Segment> = Vec::new();
    for pair in cuts.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if a == b {
            continue;
        }
        let covering: Vec<&&Mark> = valid.iter().filter(|m| m.start <= a && b <= m.end).collect();
        let findings: Vec<usize> = covering.iter().map(|m| m.finding).collect();
        let severity = covering.iter().map(|m| m.severity).max();
        match out.last_mut() {
            // Neighbours with the same marks are one run.
            Some(last) if last.findings == findings => last.text.push_str(&text[a..b]),
            _ => out.push(Segment { text: text[a..b].to_owned(), findings, severity }),
        }
    }
    out
}

/// `text` with `replacement` in place of `start..end`, if that range is a
/// valid, character-aligned range of `text`.
pub fn replace(text: &str, start: usize, end: usize, replacement: &str) -> Option<String> {
    if start > end || end > text.len() || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
        return None;
    }
    Some(format!("{}{}{}", &text[..start], replacement, &text[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(finding: usize, start: usize, end: usize, severity: Severity) -> Mark {
        Mark { finding, start, end, severity }
    }

    #[test]
    fn overlapping_marks_split_the_text_and_the_worst_severity_colours() {
        let text = "甲乙丙丁戊";
        // 乙丙丁 (warn) and 丙 (block) inside it.
        let s = segments(text, &[mark(1, 3, 12, Severity::Warn), mark(2, 6, 9, Severity::Block)]);
        let view: Vec<(&str, Vec<usize>, Option<Severity>)> =
            s.iter().map(|s| (s.text.as_str(), s.findings.clone(), s.severity)).collect();
        assert_eq!(
            view,
            vec![
                ("甲", vec![], None),
                ("乙", vec![1], Some(Severity::Warn)),
                ("丙", vec![1, 2], Some(Severity::Block)),
                ("丁", vec![1], Some(Severity::Warn)),
                ("戊", vec![], None),
            ]
        );
        assert_eq!(s.iter().map(|s| s.text.as_str()).collect::<String>(), text);
        assert_eq!(s[2].described_by(), "f1 f2");
        assert_eq!(s[2].class(), "hl hl-block");
    }

    #[test]
    fn marks_off_character_boundaries_or_out_of_range_are_ignored() {
        let text = "身份证";
        let s = segments(text, &[mark(1, 1, 4, Severity::Block), mark(2, 3, 99, Severity::Block)]);
        assert_eq!(s, vec![Segment { text: text.into(), findings: vec![], severity: None }]);
        assert_eq!(segments("", &[]), vec![]);
    }

    #[test]
    fn replacing_a_span_keeps_the_rest() {
        assert_eq!(
            replace("号码110101199003077777。", 6, 24, "110101********7777").as_deref(),
            Some("号码110101********7777。")
        );
        assert_eq!(replace("号码", 1, 3, "x"), None);
        assert_eq!(replace("号码", 3, 9, "x"), None);
    }
}
