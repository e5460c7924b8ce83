//! The `format` review plugin: 公文 format per GB/T 9704-2012.
//!
//! - FMT-001 `doc_number_format` (warn): the item's own 发文字号 (the
//!   `doc_number` field, never a number quoted in the body) must be
//!   机关代字 + the four-digit year in 六角括号 〔〕 + the serial number
//!   without 第 and without leading zeros + 号 (GB/T 9704-2012 §7.2.5), e.g.
//!   `句政发〔2023〕12号`. Each defect is one finding spanning the offending
//!   bytes of `doc_number`, with the corrected text as the suggestion.
//! - FMT-002 `date_format` (warn): a 成文日期 line written with zero-padded
//!   month or day, or with Chinese numerals for a date on or after
//!   2012-07-01 (§7.3.5.4: Arabic numerals, year in full, no padding).
//! - FMT-003 `urgency_marking` (warn): a 特急/加急 line left in the header of
//!   a public copy (§7.2.3).
//!
//! What it does not check: layout (fonts, margins, line positions) — the
//! gateway sees text, not the printed page.

use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;
use rulekit::cite::parse_numeral;
use rulekit::{Field, Finding, FindingExt, Folded, Item, Meta, RuleInfo, RulePlugin, Severity};
use serde::Deserialize;

/// The rules this plugin implements.
pub const RULES: &[RuleInfo] = &[
    RuleInfo {
        id: "FMT-001",
        kind: "doc_number_format",
        severity: Severity::Warn,
        description: "发文字号 not of the form 机关代字〔YYYY〕N号 (GB/T 9704-2012 §7.2.5)",
    },
    RuleInfo {
        id: "FMT-002",
        kind: "date_format",
        severity: Severity::Warn,
        description: "成文日期 zero-padded or in Chinese numerals (GB/T 9704-2012 §7.3.5.4)",
    },
    RuleInfo {
        id: "FMT-003",
        kind: "urgency_marking",
        severity: Severity::Warn,
        description: "特急/加急 header line left in a public copy (GB/T 9704-2012 §7.2.3)",
    },
];

/// Kinds beyond the shared vocabulary that this plugin reports.
pub const EXTRA_KINDS: &[&str] = &["date_format", "urgency_marking"];

/// JSON Schema of the configuration.
pub const CONFIG_SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "format plugin configuration",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "check_dates": {"type": "boolean", "default": true, "description": "FMT-002 on 成文日期 lines"},
    "check_urgency": {"type": "boolean", "default": true, "description": "FMT-003 on 特急/加急 lines"}
  }
}"#;

/// The configuration as the policy passes it (described by [`CONFIG_SCHEMA`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "yes")]
    check_dates: bool,
    #[serde(default = "yes")]
    check_urgency: bool,
}

fn yes() -> bool {
    true
}

/// The configured rule set.
#[derive(Debug, Clone)]
pub struct Rules {
    check_dates: bool,
    check_urgency: bool,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules { check_dates: true, check_urgency: true }
    }
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("format regexes are valid"))
}

const BASIS_DOC: &str = "依据：GB/T 9704-2012《党政机关公文格式》第7.2.5条（发文字号由发文机关代字、年份、发文顺序号组成，\
年份标全称、用六角括号“〔〕”括入，发文顺序号不加“第”字、不编虚位，在阿拉伯数字后加“号”）。";

impl RulePlugin for Rules {
    const META: Meta = Meta::new("format", env!("CARGO_PKG_VERSION"), RULES, EXTRA_KINDS, CONFIG_SCHEMA);
    type Config = Config;
    type Error = std::convert::Infallible;

    fn from_config(cfg: Config) -> Result<Rules, std::convert::Infallible> {
        Ok(Rules { check_dates: cfg.check_dates, check_urgency: cfg.check_urgency })
    }

    fn review(&self, item: &Item) -> Vec<Finding> {
        let mut out = Vec::new();
        if let Some(dn) = item.doc_number.as_deref() {
            out.extend(check_doc_number(dn));
        }
        if self.check_dates {
            out.extend(check_dates(&item.body));
        }
        if self.check_urgency {
            out.extend(check_urgency(&item.body));
        }
        out
    }
}

#[cfg(target_arch = "wasm32")]
plugin_sdk::export_plugin!(rulekit::Component<Rules>);

fn doc_finding(span: Range<usize>, what: &str, suggestion: Option<String>) -> Finding {
    let mut f = Finding::new(
        "FMT-001",
        "doc_number_format",
        Severity::Warn,
        Field::DocNumber,
        format!("发文字号{what}{BASIS_DOC}"),
    )
    .at(span);
    if let Some(s) = suggestion {
        f = f.with_suggestion(s);
    }
    f
}

/// Checks one 发文字号; an empty or blank one is not checked (the field is
/// optional: not every item is a 公文).
pub fn check_doc_number(dn: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    if dn.trim().is_empty() {
        return out;
    }
    let folded = Folded::new(dn);
    let t = folded.text();
    static YEAR: OnceLock<Regex> = OnceLock::new();
    static SERIAL: OnceLock<Regex> = OnceLock::new();
    let year = re(
        &YEAR,
        r"([\[［【(（〔<《{〈「]?)\s*([0-9]{2,4}|[〇零一二三四五六七八九]{2,4})\s*([\]］】)）〕>》}〉」]?)\s*(?:年)?",
    );
    // Prefer a bracketed year; a bare number is the year only without one
    // (an 机关代字 may itself contain digits: 12345办〔2024〕3号).
    static BRACKETED: OnceLock<Regex> = OnceLock::new();
    let bracketed = re(
        &BRACKETED,
        r"([\[［【(（〔<《{〈「])\s*([0-9]{2,4}|[〇零一二三四五六七八九]{2,4})\s*([\]］】)）〕>》}〉」]?)\s*(?:年)?",
    );
    let Some(y) = bracketed.captures(t).or_else(|| year.captures(t)) else {
        out.push(doc_finding(
            0..dn.len(),
            &format!("“{dn}”缺少年份，应写作“机关代字〔年份〕序号号”，如“句政发〔2023〕12号”。"),
            None,
        ));
        return out;
    };
    let whole = y.get(0).expect("group 0").range();
    let (open, digits, close) = (&y[1], &y[2], &y[3]);
    let year_text = digits.to_string();
    let year_ok = year_text.len() == 4 && year_text.bytes().all(|b| b.is_ascii_digit());
    let four = if year_ok {
        year_text.clone()
    } else {
        match parse_numeral(&year_text) {
            Some(n) if n >= 1000 => n.to_string(),
            Some(n) if n < 100 => format!("20{n:02}"),
            _ => year_text.clone(),
        }
    };
    if whole.start == 0 {
        out.push(doc_finding(
            folded.orig_range(whole.clone()),
            &format!("“{dn}”缺少发文机关代字，年份前应有机关代字，如“句政发〔{four}〕”。"),
            None,
        ));
    }
    if open != "〔" || close != "〕" || t[whole.clone()].ends_with('年') {
        out.push(doc_finding(
            folded.orig_range(whole.clone()),
            &format!(
                "“{}”中的年份应使用六角括号“〔〕”括入（不用“[]”“()”“（）”“【】”等），请改为“〔{four}〕”。",
                &dn[folded.orig_range(whole.clone())]
            ),
            Some(format!("〔{four}〕")),
        ));
    } else if !year_ok {
        out.push(doc_finding(
            folded.orig_range(whole.clone()),
            &format!("的年份“{year_text}”应写全称四位阿拉伯数字，请改为“〔{four}〕”。"),
            Some(format!("〔{four}〕")),
        ));
    }
    let rest_start = whole.end;
    let rest = &t[rest_start..];
    let serial = re(&SERIAL, r"^(\s*)(第?)\s*([0-9]+|[〇零一二三四五六七八九十百]+)\s*(号?)(.*)$");
    let Some(s) = serial.captures(rest) else {
        out.push(doc_finding(
            folded.orig_range(rest_start..t.len()),
            &format!("“{dn}”缺少发文顺序号，年份后应为阿拉伯数字序号并以“号”结尾。"),
            None,
        ));
        return out;
    };
    let at = |g: usize| {
        let m = s.get(g).expect("group");
        rest_start + m.start()..rest_start + m.end()
    };
    if !s[2].is_empty() {
        out.push(doc_finding(folded.orig_range(at(2)), "的顺序号前不加“第”字，请删除“第”。", Some(String::new())));
    }
    let num = &s[3];
    if !num.bytes().all(|b| b.is_ascii_digit()) {
        let n = parse_numeral(num).map(|n| n.to_string());
        out.push(doc_finding(
            folded.orig_range(at(3)),
            &format!(
                "的顺序号“{num}”应使用阿拉伯数字{}。",
                n.as_deref().map(|n| format!("，请改为“{n}”")).unwrap_or_default()
            ),
            n,
        ));
    } else if num.len() > 1 && num.starts_with('0') {
        let trimmed = num.trim_start_matches('0');
        let trimmed = if trimmed.is_empty() { "0" } else { trimmed };
        out.push(doc_finding(
            folded.orig_range(at(3)),
            &format!("的顺序号“{num}”不编虚位（不加前导“0”），请改为“{trimmed}”。"),
            Some(trimmed.to_string()),
        ));
    }
    if s[4].is_empty() {
        let r = at(3);
        out.push(doc_finding(
            folded.orig_range(r.clone()),
            &format!("“{dn}”的顺序号后缺少“号”字，请在“{}”后加“号”。", &s[3]),
            Some(format!("{}号", &s[3])),
        ));
    } else if !s[5].trim().is_empty() {
        out.push(doc_finding(
            folded.orig_range(at(5)),
            &format!("“{dn}”在“号”字之后还有多余内容“{}”，请删除。", s[5].trim()),
            Some(String::new()),
        ));
    }
    out
}

/// 成文日期 lines: a line that is only a date.
fn check_dates(body: &str) -> Vec<Finding> {
    static DATE_LINE: OnceLock<Regex> = OnceLock::new();
    let date_line = re(
        &DATE_LINE,
        r"(?m)^[ \t\u{3000}]*([0-9]{4}|[〇零一二三四五六七八九]{4})年([0-9]{1,2}|[〇零一二三四五六七八九十]{1,3})月([0-9]{1,2}|[〇零一二三四五六七八九十]{1,3})日[ \t\u{3000}]*$",
    );
    let mut out = Vec::new();
    for c in date_line.captures_iter(body) {
        let (y, m, d) = (&c[1], &c[2], &c[3]);
        let span = c.get(0).expect("group 0").range();
        let text = body[span.clone()].trim();
        let lead = body[span.clone()].len() - body[span.clone()].trim_start().len();
        let span = span.start + lead..span.start + lead + text.len();
        let (Some(yn), Some(mn), Some(dn)) = (parse_numeral(y), parse_numeral(m), parse_numeral(d)) else {
            continue;
        };
        let chinese = !y.bytes().all(|b| b.is_ascii_digit());
        let padded = (m.len() == 2 && m.starts_with('0')) || (d.len() == 2 && d.starts_with('0'));
        let after_standard = (yn, mn, dn) >= (2012, 7, 1);
        if (chinese && after_standard) || padded {
            let fixed = format!("{yn}年{mn}月{dn}日");
            out.push(
                Finding::new(
                    "FMT-002",
                    "date_format",
                    Severity::Warn,
                    Field::Body,
                    format!(
                        "成文日期“{text}”不规范：应使用阿拉伯数字，年份写全称，月、日不编虚位，请改为“{fixed}”。\
                         依据：GB/T 9704-2012《党政机关公文格式》第7.3.5.4条。"
                    ),
                )
                .at(span)
                .with_suggestion(fixed),
            );
        }
    }
    out
}

/// 特急/加急 in the header zone (first four non-empty lines).
fn check_urgency(body: &str) -> Vec<Finding> {
    static URGENT: OnceLock<Regex> = OnceLock::new();
    let urgent = re(&URGENT, r"^[ \t\u{3000}]*(特急|加急|特提|平急)[ \t\u{3000}]*$");
    let mut out = Vec::new();
    let mut offset = 0;
    let mut seen = 0;
    for line in body.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        if !content.trim().is_empty() {
            seen += 1;
            if let Some(c) = urgent.captures(content) {
                let m = c.get(1).expect("group 1");
                out.push(
                    Finding::new(
                        "FMT-003",
                        "urgency_marking",
                        Severity::Warn,
                        Field::Body,
                        format!(
                            "正文版头保留了紧急程度“{}”，这是公文办理用的标注，公开文本中应删除。\
                             依据：GB/T 9704-2012《党政机关公文格式》第7.2.3条。",
                            m.as_str()
                        ),
                    )
                    .at(offset + m.start()..offset + m.end())
                    .with_suggestion(""),
                );
            }
            if seen == 4 {
                break;
            }
        }
        offset += line.len();
    }
    out
}

#[cfg(test)]
mod tests;
