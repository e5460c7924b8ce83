//! Personal-information detection for texts about to be published
//! (PII-001..011 of the default policy): resident ID numbers (18 digits, and
//! first-generation 15-digit ones), mobile numbers, bank cards, e-mail
//! addresses (also written to dodge harvesters), QQ and WeChat ids, plate
//! numbers, passport and travel-permit numbers, a person's home address down
//! to the street or house number, PIPL §28 sensitive categories tied to a
//! person, 统一社会信用代码, and the quality of masks already applied.
//!
//! Detection is validation first, context second: a number is reported
//! because it passes its check (GB 11643, Luhn, 号段, GB 32100), and context
//! (the label it is introduced with) only decides the doubtful cases — a
//! number introduced as an ID or a person's card that fails its check is
//! still reported (warn), a number introduced as 编号/流水号/档案号 is not.
//! Everything runs on the normalised text (`textnorm`, layout kept), and
//! spans are mapped back to the original bytes. Tables pasted as text are
//! read by column: a header row (姓名 身份证号 住址 护照号) labels the cells
//! below it (`table`).
//!
//! This module owns the configuration and the findings; [`PiiPlugin`] maps
//! them to the plugin contract. Component exports are generated only for
//! `wasm32`, so native tools can link the crate.

mod address;
mod checks;
mod context;
mod extra;
mod mask;
mod numbers;
mod permit;
mod plugin;
mod table;

use std::collections::HashSet;
use std::ops::Range;

use serde::Deserialize;
use textnorm::{Normalized, Options};

pub use checks::{IdShape, credit_code_ok, id_check_char, id18, luhn_ok, mobile_ok};
pub use context::Label;
pub use mask::MaskProfile;
pub use permit::Permit;
pub use plugin::PiiPlugin;

use context::{column_labels, label_before, person_linked};

/// How serious a finding is: the review model's own (`plugin-api`).
pub use plugin_sdk::Severity;

/// One piece of personal information found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Rule id, `PII-001` ... `PII-011`.
    pub rule: &'static str,
    /// Shared vocabulary kind (`id_number`, `mobile`, `bank_card`, `email`,
    /// `credit_code`, `passport`, `address`) or one of this plugin's extra
    /// kinds (`qq`, `wechat`, `plate`, `sensitive_category`, `mask_quality`).
    pub kind: &'static str,
    pub severity: Severity,
    /// UTF-8 byte range into the original text.
    pub span: Range<usize>,
    /// For the drafter, in Chinese.
    pub message: String,
    /// The masked replacement for the spanned text.
    pub suggestion: Option<String>,
}

/// The rules this plugin implements: (id, kind, default severity, description).
pub const RULES: &[(&str, &str, Severity, &str)] = &[
    (
        "PII-001",
        "id_number",
        Severity::Block,
        "居民身份证号码未遮蔽（18位 GB 11643 校验通过，或15位第一代号码地区码与出生日期有效）",
    ),
    ("PII-002", "id_number", Severity::Warn, "身份证语境中校验不通过的号码"),
    ("PII-003", "mobile", Severity::Warn, "手机号码（按号段识别）"),
    ("PII-004", "bank_card", Severity::Block, "银行卡号（Luhn 校验通过；个人账户语境中校验不通过为提醒）"),
    ("PII-005", "address", Severity::Block, "自然人的住址细化到街道、门牌（机关、企业、场所地址不在此列）"),
    ("PII-006", "sensitive_category", Severity::Block, "与特定个人关联的敏感个人信息（个人信息保护法第二十八条）"),
    ("PII-008", "email", Severity::Warn, "电子邮箱、QQ号、微信号、车牌号（gov.cn 机构邮箱为提示）"),
    ("PII-009", "mask_quality", Severity::Block, "遮蔽不当：仍显示出生日期，或同一号码两处遮蔽位置不同可拼合还原"),
    ("PII-010", "credit_code", Severity::Info, "统一社会信用代码（GB 32100 校验通过，机构代码属公开信息）"),
    ("PII-011", "passport", Severity::Block, "护照、港澳台居民来往内地（大陆）通行证、往来港澳台通行证号码"),
];

/// Kinds beyond the shared vocabulary.
pub const EXTRA_KINDS: &[&str] = &["qq", "wechat", "plate", "sensitive_category", "mask_quality"];

/// The plugin's configuration (JSON, given once per instance).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// How suggestions mask what was found.
    pub mask: MaskProfile,
    /// Public numbers and addresses never reported: office lines published on
    /// purpose, hotlines, agencies' public accounts and mailboxes. Numbers
    /// are compared by their digits only, mailboxes case-insensitively.
    pub allow: Vec<String>,
    /// Turn off the PIPL §28 category rule (PII-006).
    pub skip_sensitive_categories: bool,
}

/// JSON Schema (draft 2020-12) of [`Config`].
pub const CONFIG_SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "mask": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "id_head": {"type": "integer", "minimum": 0, "maximum": 6, "default": 4},
        "id_tail": {"type": "integer", "minimum": 0, "maximum": 4, "default": 4},
        "mobile_head": {"type": "integer", "minimum": 0, "default": 3},
        "mobile_tail": {"type": "integer", "minimum": 0, "default": 4},
        "card_head": {"type": "integer", "minimum": 0, "maximum": 6, "default": 4},
        "card_tail": {"type": "integer", "minimum": 0, "maximum": 4, "default": 4},
        "email_head": {"type": "integer", "minimum": 0, "default": 2},
        "permit_head": {"type": "integer", "minimum": 0, "maximum": 2, "default": 1},
        "permit_tail": {"type": "integer", "minimum": 0, "maximum": 2, "default": 1},
        "mask_char": {"type": "string", "minLength": 1, "maxLength": 1, "default": "*"}
      }
    },
    "allow": {"type": "array", "items": {"type": "string"}, "default": []},
    "skip_sensitive_categories": {"type": "boolean", "default": false}
  }
}"#;

/// A configuration the detector refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// A configured detector; build once per instance, use for many texts.
#[derive(Debug)]
pub struct Detector {
    config: Config,
    allow_digits: HashSet<String>,
    allow_text: HashSet<String>,
    extra: extra::Patterns,
}

impl Detector {
    /// Parses and checks a JSON configuration.
    pub fn from_json(json: &str) -> Result<Detector, ConfigError> {
        let config: Config = if json.trim().is_empty() {
            Config::default()
        } else {
            serde_json::from_str(json).map_err(|e| ConfigError(format!("invalid pii config: {e}")))?
        };
        Detector::new(config)
    }

    /// Checks a configuration and compiles the patterns.
    pub fn new(config: Config) -> Result<Detector, ConfigError> {
        if let Some(p) = config.mask.problem() {
            return Err(ConfigError(p));
        }
        let mut allow_digits = HashSet::new();
        let mut allow_text = HashSet::new();
        for a in &config.allow {
            let norm = textnorm::normalize_term(a, &Options::keep_layout());
            let digits: String = norm.chars().filter(char::is_ascii_digit).collect();
            if norm.contains('@') {
                allow_text.insert(norm);
            } else if digits.len() >= 5 {
                allow_digits.insert(digits);
            } else {
                allow_text.insert(norm);
            }
        }
        Ok(Detector { config, allow_digits, allow_text, extra: extra::Patterns::new() })
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// All personal information in `text`, in order of position.
    pub fn scan(&self, text: &str) -> Vec<Finding> {
        let norm = Normalized::new(text, &Options::keep_layout());
        let t = norm.text();
        let mut found: Vec<(Range<usize>, Finding)> = Vec::new();

        let hits = self.extra.scan(t);
        let emails = self.extra.emails(t, &hits);
        for e in &emails {
            let addr = &t[e.clone()];
            let Some(parts) = extra::email_parts(addr) else { continue };
            if self.allow_text.contains(addr) || self.allow_text.contains(&parts.canonical()) {
                continue;
            }
            let domain = parts.domain.as_str();
            let org = domain == "gov.cn" || domain.ends_with(".gov.cn");
            let (severity, message) = if org {
                (Severity::Info, "政府机构（gov.cn）邮箱属公开的工作联系方式，仅作提示。".to_owned())
            } else {
                (
                    Severity::Warn,
                    "含有电子邮箱。个人邮箱属于个人信息（《个人信息保护法》第四条），公开前请遮蔽，或改用单位公开邮箱。".to_owned(),
                )
            };
            found.push((
                e.clone(),
                self.finding(
                    &norm,
                    e.clone(),
                    "PII-008",
                    "email",
                    severity,
                    message,
                    Some(self.config.mask.email(
                        &norm.original()[norm.original_span(e.start..e.start + parts.local_end)],
                        &norm.original()[norm.original_span(e.start + parts.local_end..e.end)],
                    )),
                ),
            ));
        }
        let in_email = |r: &Range<usize>| emails.iter().any(|e| e.start <= r.start && r.end <= e.end);

        self.credit_codes(&norm, &mut found);
        self.permits(&norm, &mut found);
        self.numbers(&norm, &in_email, &mut found);
        self.masks(&norm, &mut found);
        for (rule, kind, r, message) in self.extra.contacts(t, &hits) {
            if self.allow_text.contains(&t[r.clone()]) {
                continue;
            }
            found.push((r.clone(), self.finding(&norm, r, rule, kind, Severity::Warn, message, None)));
        }
        for (r, suggestion) in self.extra.addresses(t, &hits) {
            let msg = "含有自然人的住址（细化到街道、门牌、楼栋或房号）。住址属于个人信息，公示时只应保留到县（区）、乡镇或街道一级（《个人信息保护法》第二十五条、《政府信息公开条例》第十五条）。";
            found.push((
                r.clone(),
                self.finding(&norm, r, "PII-005", "address", Severity::Block, msg.into(), Some(suggestion)),
            ));
        }
        if !self.config.skip_sensitive_categories {
            let anchors: Vec<Range<usize>> = found
                .iter()
                .filter(|(_, f)| matches!(f.kind, "id_number" | "mobile" | "bank_card"))
                .map(|(r, _)| r.clone())
                .collect();
            for (r, category) in self.extra.categories(t, &anchors, &hits) {
                let msg = format!(
                    "与可识别的特定个人关联的{category}信息属于敏感个人信息（《个人信息保护法》第二十八条），不得公开；请删除或匿名化（姓名改为“某某”）。"
                );
                found.push((
                    r.clone(),
                    self.finding(&norm, r, "PII-006", "sensitive_category", Severity::Block, msg, None),
                ));
            }
        }
        found.sort_by_key(|(r, _)| (r.start, r.end));
        found.into_iter().map(|(_, f)| f).collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn finding(
        &self,
        norm: &Normalized<'_>,
        r: Range<usize>,
        rule: &'static str,
        kind: &'static str,
        severity: Severity,
        message: String,
        suggestion: Option<String>,
    ) -> Finding {
        Finding { rule, kind, severity, span: norm.original_span(r), message, suggestion }
    }

    fn credit_codes(&self, norm: &Normalized<'_>, found: &mut Vec<(Range<usize>, Finding)>) {
        let t = norm.text();
        let b = t.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if !b[i].is_ascii() {
                i = numbers::skip_non_ascii(b, i);
                continue;
            }
            if !b[i].is_ascii_alphanumeric() || (i > 0 && b[i - 1].is_ascii_alphanumeric()) {
                i += 1;
                continue;
            }
            let mut j = i;
            while j < b.len() && b[j].is_ascii_alphanumeric() {
                j += 1;
            }
            let token = &b[i..j];
            if token.len() != 18 {
                i = j;
                continue;
            }
            let has_letter = token.iter().any(u8::is_ascii_alphabetic);
            let labelled = label_before(t, i) == Some(Label::CreditCode);
            let all_digit_id = !has_letter && id18(token) == IdShape::Valid && !labelled;
            if token.len() == 18 && (has_letter || labelled) && !all_digit_id && credit_code_ok(token) {
                let msg = "统一社会信用代码属于机构公开信息（GB 32100），仅作提示；如为个体工商户，请确认同一处未公开经营者身份证号。";
                found
                    .push((i..j, self.finding(norm, i..j, "PII-010", "credit_code", Severity::Info, msg.into(), None)));
            }
            i = j;
        }
    }

    fn permits(&self, norm: &Normalized<'_>, found: &mut Vec<(Range<usize>, Finding)>) {
        for (r, p) in permit::find(norm.text()) {
            let original = &norm.original()[norm.original_span(r.clone())];
            let msg = format!(
                "含有{}号码。护照和往来港澳台通行证号码是个人身份证件信息，公示时不得公开，请遮蔽（仅保留首尾字符）或删除。",
                p.name_zh()
            );
            let suggestion = self.config.mask.permit(original);
            found.push((
                r.clone(),
                self.finding(norm, r, "PII-011", "passport", Severity::Block, msg, Some(suggestion)),
            ));
        }
    }

    fn numbers(
        &self,
        norm: &Normalized<'_>,
        in_email: &dyn Fn(&Range<usize>) -> bool,
        found: &mut Vec<(Range<usize>, Finding)>,
    ) {
        let t = norm.text();
        for groups in numbers::sequences(t) {
            let mut i = 0;
            while i < groups.len() {
                let mut matched = false;
                for j in (i + 1..=groups.len()).rev() {
                    let r = groups[i].start..groups[j - 1].end;
                    if in_email(&r) || found.iter().any(|(f, _)| f.start < r.end && r.start < f.end) {
                        continue;
                    }
                    let digits = numbers::digits(t, &groups[i..j]);
                    // Groups joined by hyphens to more digits before or after
                    // are part of a longer number (an order or contract number).
                    let glued = |a: &Range<usize>, b: &Range<usize>| &t[a.end..b.start] == "-";
                    let inside = (i > 0 && glued(&groups[i - 1], &groups[i]))
                        || (j < groups.len() && glued(&groups[j - 1], &groups[j]));
                    let broken = t[r.clone()].contains('\n');
                    if let Some(f) = self.classify(norm, r.clone(), &digits)
                        && !(inside && f.kind == "mobile")
                        && (!broken || f.kind == "id_number")
                    {
                        let r = if f.kind == "mobile" && digits.starts_with(b"86") && t[..r.start].ends_with('+') {
                            r.start - 1..r.end
                        } else {
                            r
                        };
                        let f = Finding { span: norm.original_span(r.clone()), ..f };
                        found.push((r, f));
                        i = j;
                        matched = true;
                        break;
                    }
                }
                if !matched {
                    i += 1;
                }
            }
        }
    }

    fn classify(&self, norm: &Normalized<'_>, r: Range<usize>, d: &[u8]) -> Option<Finding> {
        if !matches!(d.len(), 11 | 13 | 15..=19) {
            return None;
        }
        let t = norm.text();
        let digits_only: String = d.iter().filter(|c| c.is_ascii_digit()).map(|&c| c as char).collect();
        if self.allow_digits.contains(&digits_only) {
            return None;
        }
        let inline = label_before(t, r.start);
        // The column header above a table row, looked up only when needed.
        let columns = std::cell::OnceCell::new();
        let is = |l: Label| {
            inline == Some(l) || (inline.is_none() && columns.get_or_init(|| column_labels(t, r.start)).contains(&l))
        };
        let reference = inline == Some(Label::Reference);
        let disguised = norm.disguised(r.clone());
        let note = if disguised.is_empty() {
            String::new()
        } else {
            format!("（号码经过变形：{}）", disguised.describe_zh())
        };
        let mask = &self.config.mask;
        let f = |rule, kind, severity, message: String, suggestion| {
            Some(self.finding(norm, r.clone(), rule, kind, severity, message, suggestion))
        };
        match d.len() {
            18 => match id18(d) {
                IdShape::Valid => f(
                    "PII-001",
                    "id_number",
                    Severity::Block,
                    format!(
                        "含有未遮蔽的居民身份证号码{note}。依据《个人信息保护法》第二十八条和《政府信息公开条例》第十五条，公开前须遮蔽，且出生日期（第7至14位）不得可见。"
                    ),
                    Some(mask.id(d)),
                ),
                IdShape::BadCheck if is(Label::Id) => f(
                    "PII-002",
                    "id_number",
                    Severity::Warn,
                    format!("以身份证号码形式出现的号码校验位不符{note}，可能录入有误，但仍属个人信息：请核对并遮蔽。"),
                    Some(mask.id(d)),
                ),
                IdShape::BadCheck => None,
                IdShape::NotId => self.card(norm, r.clone(), d, &note, reference, is(Label::Card)),
            },
            15 if checks::id15_shape(d)
                && !reference
                && matches!(inline, None | Some(Label::Id))
                && (inline.is_some()
                    || columns.get_or_init(|| column_labels(t, r.start)).iter().all(|l| *l == Label::Id)) =>
            {
                f(
                    "PII-001",
                    "id_number",
                    Severity::Block,
                    format!(
                        "含有未遮蔽的15位（第一代）居民身份证号码{note}：地区码和出生日期有效。公开前须遮蔽，且出生日期（第7至12位）不得可见。"
                    ),
                    Some(mask.id15(d)),
                )
            }
            15 if d.starts_with(b"0086") && mobile_ok(&d[4..]) && !reference => f(
                "PII-003",
                "mobile",
                Severity::Warn,
                format!("含有手机号码（带国际冠码和国家代码）{note}。个人手机号属于个人信息，公开前请遮蔽。"),
                Some(format!("0086 {}", mask.mobile(&d[4..]))),
            ),
            11 if mobile_ok(d) && !reference => f(
                "PII-003",
                "mobile",
                Severity::Warn,
                format!(
                    "含有手机号码{note}。个人手机号属于个人信息，公开前请遮蔽；如为对外公布的工作号码，请加入白名单。"
                ),
                Some(mask.mobile(d)),
            ),
            13 if d.starts_with(b"86") && mobile_ok(&d[2..]) && !reference => f(
                "PII-003",
                "mobile",
                Severity::Warn,
                format!("含有手机号码（带国家代码）{note}。个人手机号属于个人信息，公开前请遮蔽。"),
                Some(format!("{}86 {}", if t[..r.start].ends_with('+') { "+" } else { "" }, mask.mobile(&d[2..]))),
            ),
            16..=19 => self.card(norm, r.clone(), d, &note, reference, is(Label::Card)),
            _ => None,
        }
    }

    fn card(
        &self,
        norm: &Normalized<'_>,
        r: Range<usize>,
        d: &[u8],
        note: &str,
        reference: bool,
        card_label: bool,
    ) -> Option<Finding> {
        if !(16..=19).contains(&d.len()) || !d.iter().all(u8::is_ascii_digit) || reference {
            return None;
        }
        let mask = &self.config.mask;
        if luhn_ok(d) {
            return Some(self.finding(
                norm,
                r,
                "PII-004",
                "bank_card",
                Severity::Block,
                format!("含有银行卡号{note}。金融账户属于敏感个人信息（《个人信息保护法》第二十八条），公开前须遮蔽。"),
                Some(mask.card(d)),
            ));
        }
        if card_label && person_linked(norm.text(), r.clone()) {
            return Some(self.finding(
                norm,
                r,
                "PII-004",
                "bank_card",
                Severity::Warn,
                format!(
                    "个人银行账户语境中的号码未通过 Luhn 校验{note}，可能录入有误，但仍属个人金融信息：请核对并遮蔽。"
                ),
                Some(mask.card(d)),
            ));
        }
        None
    }

    fn masks(&self, norm: &Normalized<'_>, found: &mut Vec<(Range<usize>, Finding)>) {
        let tokens = mask::masked_tokens(norm.text());
        for (k, m) in tokens.iter().enumerate() {
            if m.shows_birth_date() {
                let digits: Vec<u8> = m.chars.iter().map(|c| c.unwrap_or(b'0')).collect();
                found.push((
                    m.span.clone(),
                    self.finding(
                        norm,
                        m.span.clone(),
                        "PII-009",
                        "mask_quality",
                        Severity::Block,
                        "身份证号码遮蔽不当：出生日期（第7至14位）仍然可见，仍可识别个人。请按遮蔽规范至少遮蔽第7至14位。".into(),
                        Some(self.config.mask.id(&digits)),
                    ),
                ));
            } else if tokens[..k].iter().any(|o| m.inconsistent_with(o)) {
                found.push((
                    m.span.clone(),
                    self.finding(
                        norm,
                        m.span.clone(),
                        "PII-009",
                        "mask_quality",
                        Severity::Block,
                        "同一号码在文中两处的遮蔽位置不同，合并后可还原更多位数。请统一遮蔽方式。".into(),
                        None,
                    ),
                ));
            }
        }
    }
}

#[cfg(target_arch = "wasm32")]
plugin_sdk::export_plugin!(PiiPlugin);

#[cfg(test)]
mod tests;
