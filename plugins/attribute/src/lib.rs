//! The `attribute` review plugin: is the declared 公开属性 consistent with the
//! item's channels, reasons, annotations, markings, superior document and
//! timing?
//!
//! Rules (ids as in the project's default policy):
//! - ATTR-001 `attribute_conflict` (block): a 依申请公开 or 不予公开 item is
//!   routed to a public channel (条例 §13, §23).
//! - ATTR-002 `reason_missing` (warn): 依申请公开 / 不予公开 without a reason
//!   (国办发〔2016〕80号 源头认定). ATTR-008 `legal_basis_missing` (info by
//!   default; a policy may raise it): a reason that neither cites an article
//!   nor names a ground of 条例 §14–16.
//! - ATTR-003 `attribute_conflict` (block): a 主动公开 item carrying a
//!   non-public 附注 (`（此件不予公开）`, `（内部发行）`) or a 密级 / internal
//!   marking — taken from the secrecy plugin's `classification_marker`
//!   findings when present, and detected here as a fallback; and a non-public
//!   item annotated `（此件公开发布）`.
//! - ATTR-004 `process_information` (warn): a 主动公开 item whose 文种 is
//!   过程性信息 (请示, 送审稿, 讨论稿, 会议记录 …, 条例 §16).
//! - ATTR-005 `should_be_public` (warn): a 复函/批复 on a matter of public
//!   interest (规划, 收费, 补偿 …) kept from the public.
//! - ATTR-006 `publication_late` (warn): a 主动公开 item published more than
//!   20 working days after it was formed (条例 §26), on the holiday calendar.
//!   Past the configured years (or in a year marked `provisional`, statutory
//!   days only) the deadline is computed by the `workdays` fallback and the
//!   finding says it is 暂定: a warning either way, never a block (the
//!   arrangement, not the drafter, is what is missing) and never silence.
//! - ATTR-007 `attribute_downgrade` (block): a superior organ's 主动公开
//!   document re-issued or forwarded with a lower attribute.
//! - ATTR-009 `attribute_missing` (block): no valid 公开属性 at all.
//!
//! The plugin reads only the item and its configuration (calendar); it does
//! not look attributes up anywhere, and it leaves 密级 markings themselves to
//! the secrecy plugin (it reports the conflict, not the marking).

mod markers;

use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;
use rulekit::cite;
use rulekit::fold::{Folded, fold_str};
use rulekit::{Attribute, Field, Finding, Item, ItemExt, Meta, RuleInfo, RulePlugin, Severity, Span, is_blank_answer};
use serde::Deserialize;
use workdays::{Calendar, Date, YearArrangement};

pub use markers::{Marking, find_marking};

/// Errors of this plugin's configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is not valid JSON of the documented shape.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The holiday calendar in the configuration is inconsistent.
    #[error("invalid calendar: {0}")]
    Calendar(#[from] workdays::Error),
}

/// The rules this plugin implements.
pub const RULES: &[RuleInfo] = &[
    RuleInfo {
        id: "ATTR-001",
        kind: "attribute_conflict",
        severity: Severity::Block,
        description: "依申请公开 or 不予公开 item routed to a public channel (条例 §13, §23)",
    },
    RuleInfo {
        id: "ATTR-002",
        kind: "reason_missing",
        severity: Severity::Warn,
        description: "依申请公开 or 不予公开 without a stated reason",
    },
    RuleInfo {
        id: "ATTR-003",
        kind: "attribute_conflict",
        severity: Severity::Block,
        description: "annotation or 密级/internal marking contradicts the declared attribute",
    },
    RuleInfo {
        id: "ATTR-004",
        kind: "process_information",
        severity: Severity::Warn,
        description: "主动公开 item whose document type is process information (条例 §16)",
    },
    RuleInfo {
        id: "ATTR-005",
        kind: "should_be_public",
        severity: Severity::Warn,
        description: "复函/批复 on a matter of public interest kept from the public (函复类 must be 主动公开)",
    },
    RuleInfo {
        id: "ATTR-006",
        kind: "publication_late",
        severity: Severity::Warn,
        description: "主动公开 item published later than 20 working days after formed_at (条例 §26)",
    },
    RuleInfo {
        id: "ATTR-007",
        kind: "attribute_downgrade",
        severity: Severity::Block,
        description: "superior organ's 主动公开 document re-issued with a lower attribute",
    },
    RuleInfo {
        id: "ATTR-008",
        kind: "legal_basis_missing",
        severity: Severity::Info,
        description: "reason for non-disclosure names no article or ground of 条例 §14–16",
    },
    RuleInfo {
        id: "ATTR-009",
        kind: "attribute_missing",
        severity: Severity::Block,
        description: "no valid 公开属性 (public, on-request, withheld)",
    },
];

/// Kinds beyond the shared vocabulary that this plugin reports.
pub const EXTRA_KINDS: &[&str] =
    &["process_information", "should_be_public", "publication_late", "legal_basis_missing", "attribute_missing"];

/// JSON Schema of the configuration.
pub const CONFIG_SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "attribute plugin configuration",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "calendar": {
      "description": "holiday arrangements, one per year, as in policies/calendar/<year>.toml; without them ATTR-006 is not checked",
      "type": "array",
      "items": {
        "type": "object",
        "required": ["year", "source"],
        "properties": {
          "year": {"type": "integer"},
          "source": {"type": "string"},
          "provisional": {"type": "boolean", "default": false,
                          "description": "only the statutory days are known (调休 not yet published): deadlines reaching this year are 暂定"},
          "holiday": {"type": "array", "items": {
            "type": "object", "required": ["name", "from", "to"],
            "properties": {"name": {"type": "string"}, "from": {"type": "string", "format": "date"},
                           "to": {"type": "string", "format": "date"},
                           "workdays": {"type": "array", "items": {"type": "string", "format": "date"}}}}}
        }
      }
    },
    "publication_working_days": {"type": "integer", "minimum": 1, "default": 20},
    "private_channels": {
      "description": "channels that do not publish to the public",
      "type": "array", "items": {"type": "string"},
      "default": ["applicant", "archive", "internal", "ledger"]
    }
  }
}"#;

/// The configuration as the policy passes it (described by [`CONFIG_SCHEMA`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    calendar: Vec<YearArrangement>,
    #[serde(default = "default_days")]
    publication_working_days: u32,
    #[serde(default)]
    private_channels: Option<Vec<String>>,
}

fn default_days() -> u32 {
    20
}

/// The configured rule set.
#[derive(Debug, Clone)]
pub struct Rules {
    calendar: Calendar,
    publication_working_days: u32,
    private_channels: Vec<String>,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            calendar: Calendar::new(),
            publication_working_days: default_days(),
            private_channels: ["applicant", "archive", "internal", "ledger"].map(String::from).to_vec(),
        }
    }
}

impl RulePlugin for Rules {
    const META: Meta = Meta::new("attribute", env!("CARGO_PKG_VERSION"), RULES, EXTRA_KINDS, CONFIG_SCHEMA);
    type Config = Config;
    type Error = Error;

    fn from_config(cfg: Config) -> Result<Rules, Error> {
        let mut calendar = Calendar::new();
        for year in cfg.calendar {
            calendar.add_year(year)?;
        }
        if cfg.publication_working_days == 0 {
            return Err(Error::Config("publication_working_days must be at least 1".into()));
        }
        let mut rules = Rules { calendar, publication_working_days: cfg.publication_working_days, ..Rules::default() };
        if let Some(c) = cfg.private_channels {
            rules.private_channels = c;
        }
        Ok(rules)
    }

    fn review(&self, item: &Item) -> Vec<Finding> {
        let mut out = Vec::new();
        let Some(attr) = item.attribute() else {
            out.push(Finding::new(
                "ATTR-009",
                "attribute_missing",
                Severity::Block,
                Field::Attribute,
                format!(
                    "未标明有效的公开属性（当前为「{}」）。请在起草时认定为主动公开、依申请公开或不予公开之一，\
                     非主动公开的须说明理由和依据。依据：《政府信息公开条例》第十三条，国办发〔2016〕80号\
                     （公开属性源头认定）。",
                    item.attribute.trim()
                ),
            ));
            return out;
        };
        self.channels(item, attr, &mut out);
        reason(item, attr, &mut out);
        annotation(item, attr, &mut out);
        marking(item, attr, &mut out);
        process_information(item, attr, &mut out);
        should_be_public(item, attr, &mut out);
        downgrade(item, attr, &mut out);
        self.timeliness(item, attr, &mut out);
        out
    }
}

#[cfg(target_arch = "wasm32")]
plugin_sdk::export_plugin!(rulekit::Component<Rules>);

impl Rules {
    /// A rule set with this calendar and the default settings.
    pub fn with_calendar(calendar: Calendar) -> Rules {
        Rules { calendar, ..Rules::default() }
    }

    fn channels(&self, item: &Item, attr: Attribute, out: &mut Vec<Finding>) {
        if attr == Attribute::Public {
            return;
        }
        let public: Vec<&str> = item
            .channels
            .iter()
            .map(|c| c.trim())
            .filter(|c| !c.is_empty() && !self.private_channels.iter().any(|p| p == c))
            .collect();
        if public.is_empty() {
            return;
        }
        let names: Vec<&str> = public.iter().map(|c| channel_zh(c)).collect();
        let fix = match attr {
            Attribute::OnRequest => "依申请公开的信息只向申请人提供（渠道改为 applicant），不得推送到公开渠道",
            _ => "不予公开的信息不得发布，请取消发布渠道并登记台账",
        };
        out.push(Finding::new(
            "ATTR-001",
            "attribute_conflict",
            Severity::Block,
            Field::Attribute,
            format!(
                "本件公开属性为「{}」，却拟发布到{}。{fix}；如确应公开，请先将公开属性重新认定为主动公开并说明理由。\
                 依据：《政府信息公开条例》第十三条、第二十三条。",
                attr.zh(),
                names.join("、")
            ),
        ));
    }

    fn timeliness(&self, item: &Item, attr: Attribute, out: &mut Vec<Finding>) {
        if attr != Attribute::Public {
            return;
        }
        let Some(formed) = item.formed_at.as_deref().filter(|s| !s.trim().is_empty()) else {
            return;
        };
        let (Ok(formed), Ok(now)) = (Date::from_rfc3339_in_china(formed), Date::from_rfc3339_in_china(&item.now))
        else {
            return;
        };
        if self.calendar.years().next().is_none() {
            return;
        }
        let deadline = self.calendar.reckon_add_working_days(formed, self.publication_working_days);
        if now <= deadline.value {
            return;
        }
        let late = self.calendar.reckon_working_days_between(deadline.value, now);
        let provisional = if deadline.provisional || late.provisional {
            "（暂定：期限跨入尚未载入国务院办公厅放假安排的年份，按已知法定节假日推算，未计调休；\
             正式安排载入后以其为准）"
        } else {
            ""
        };
        out.push(Finding::new(
            "ATTR-006",
            "publication_late",
            Severity::Warn,
            Field::Attribute,
            format!(
                "本件信息形成于{formed}，应在{n}个工作日内（即{d}前）主动公开，现已逾期{late}个工作日{provisional}。\
                 请尽快发布，并在台账中说明逾期原因。依据：《政府信息公开条例》第二十六条。",
                d = deadline.value,
                late = late.value,
                n = self.publication_working_days
            ),
        ));
    }
}

/// Chinese name of a channel for messages.
fn channel_zh(c: &str) -> &str {
    match c {
        "website" => "政府网站",
        "wechat" => "政务微信公众号",
        "weibo" => "政务微博",
        "app" => "政务客户端",
        "bulletin" => "公开栏",
        other => other,
    }
}

fn reason(item: &Item, attr: Attribute, out: &mut Vec<Finding>) {
    if attr == Attribute::Public {
        return;
    }
    let reason = item.attribute_reason.as_deref();
    if is_blank_answer(reason) {
        out.push(Finding::new(
            "ATTR-002",
            "reason_missing",
            Severity::Warn,
            Field::Attribute,
            format!(
                "本件认定为「{}」，但未说明理由。请在“公开属性理由”中写明不公开（或仅依申请公开）的具体理由，\
                 并注明依据条款，如“涉及第三方个人隐私（《政府信息公开条例》第十五条）”，以便登记台账、定期复查。\
                 依据：国办发〔2016〕80号（公开属性源头认定），《政府信息公开条例》第十四条至第十六条。",
                attr.zh()
            ),
        ));
        return;
    }
    if item.kind == "reply" {
        // A reply is 依申请公开 by nature; its legal basis is checked in the
        // reply itself (reply plugin).
        return;
    }
    if item.superior.as_ref().and_then(|s| Attribute::parse(&s.attribute)) == Some(attr) {
        // 转发类公文 follow the forwarded document's attribute.
        return;
    }
    let text = format!("{} {}", reason.unwrap_or(""), item.legal_basis.as_deref().unwrap_or(""));
    let text = fold_str(&text);
    if names_legal_ground(&text) {
        return;
    }
    out.push(Finding::new(
        "ATTR-008",
        "legal_basis_missing",
        Severity::Info,
        Field::Attribute,
        format!(
            "本件认定为「{}」，所述理由“{}”未指明法定依据。请写明适用的条款及情形，如“属于过程性信息\
             （《政府信息公开条例》第十六条第二款）”“涉及国家秘密（第十四条）”“涉及商业秘密、个人隐私（第十五条）”。\
             依据：《政府信息公开条例》第十四条至第十六条、第三十六条第（三）项。",
            attr.zh(),
            reason.unwrap_or("").trim()
        ),
    ));
}

/// Whether a reason cites an article or names a statutory ground for not
/// (actively) disclosing.
fn names_legal_ground(text: &str) -> bool {
    if !cite::articles(text).is_empty() {
        return true;
    }
    // The statutory grounds, and the looser words a 不予公开 reason is
    // written with (涉密, 过程稿, 会议纪要…).
    const LOOSER: &[&str] = &[
        "涉密",
        "秘密",
        "法律法规禁止",
        "个人信息",
        "第三方",
        "内部管理",
        "人事",
        "后勤",
        "工作流程",
        "过程性",
        "讨论",
        "过程稿",
        "草稿",
        "征求意见",
        "磋商",
        "请示",
        "会议纪要",
        "会议记录",
        "执法案卷",
        "案卷",
        "敏感",
    ];
    cite::names_statutory_ground(text) || LOOSER.iter().any(|g| text.contains(g))
}

fn annotation_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?m)[(（]\s*(?:此件|本件|本文|此文)?\s*(不予公开|不公开|不宜公开|暂不公开|不对外公开|不得公开|依申请公开|内部发行|内部公开|内部资料|内部文件|仅供内部使用|内部使用|仅限内部使用|不得外传)(?:发布)?\s*[)）]|^\s*(?:此件|本件)\s*(?:不予公开|不公开|依申请公开|不宜公开)\s*$",
        )
        .expect("annotation regex is valid")
    })
}

fn public_annotation_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"[(（]\s*(?:此件|本件)\s*(公开发布|主动公开|公开)\s*[)）]").expect("annotation regex is valid")
    })
}

/// A 附注 in the body that states an attribute other than the declared one.
fn annotation(item: &Item, attr: Attribute, out: &mut Vec<Finding>) {
    let folded = Folded::new(&item.body);
    if attr == Attribute::Public {
        if let Some(m) = annotation_re().find(folded.text()) {
            let orig = &item.body[folded.orig_range(m.range())];
            out.push(Finding::new(
                "ATTR-003",
                "attribute_conflict",
                Severity::Block,
                Field::Attribute,
                format!(
                    "本件认定为主动公开，但正文附注为“{orig}”，二者矛盾。确定为主动公开的公文不得夹带依申请公开或\
                     不予公开的内容：如应公开，请将附注改为“（此件公开发布）”；如不应公开，请改认定公开属性并取消发布。\
                     依据：GB/T 9704-2012 第7.3.6条（附注），国办发〔2016〕80号（公开属性源头认定）。"
                ),
            ));
        }
    } else if let Some(m) = public_annotation_re().find(folded.text()) {
        let orig = &item.body[folded.orig_range(m.range())];
        out.push(Finding::new(
            "ATTR-003",
            "attribute_conflict",
            Severity::Block,
            Field::Attribute,
            format!(
                "本件认定为「{}」，但正文附注为“{orig}”，二者矛盾。请统一公开属性：如应公开，请改认定为主动公开；\
                 否则删除该附注或改为与认定一致的附注。依据：GB/T 9704-2012 第7.3.6条（附注），国办发〔2016〕80号。",
                attr.zh()
            ),
        ));
    }
}

/// A 主动公开 (or 依申请公开) item carrying a 密级 or internal marking.
fn marking(item: &Item, attr: Attribute, out: &mut Vec<Finding>) {
    if attr == Attribute::Withheld {
        return;
    }
    let prior = item.prior_findings.iter().find(|f| f.kind == "classification_marker");
    let shown = match prior {
        Some(f) => marked_text(item, f.field, f.span.map(Span::range)),
        None => match find_marking(&item.title)
            .map(|m| (m, &item.title))
            .or_else(|| find_marking(&item.body).map(|m| (m, &item.body)))
        {
            Some((m, text)) => Some(text[m.span].to_string()),
            None => return,
        },
    };
    let what = shown.map(|s| format!("“{s}”")).unwrap_or_else(|| "密级或内部标志".to_string());
    let fix = if attr == Attribute::Public {
        "涉密或内部事项不得主动公开：如确需公开，须先依法履行解密程序并删除标志；否则请改认定为不予公开并取消发布渠道"
    } else {
        "涉密信息不属于依申请公开的范围：如确需提供，须先依法解密并删除标志；否则请改认定为不予公开"
    };
    out.push(Finding::new(
        "ATTR-003",
        "attribute_conflict",
        Severity::Block,
        Field::Attribute,
        format!(
            "本件认定为「{}」，但含有{what}。{fix}。依据：《政府信息公开条例》第十四条、第十七条，\
             《保守国家秘密法》，《党政机关公文处理工作条例》（涉密公文公开发布前应当履行解密程序）。",
            attr.zh()
        ),
    ));
}

fn marked_text(item: &Item, field: Field, span: Option<Range<usize>>) -> Option<String> {
    let text = match field {
        Field::Body => &item.body,
        Field::Title => &item.title,
        _ => return None,
    };
    text.get(span?).map(str::to_string)
}

fn process_information(item: &Item, attr: Attribute, out: &mut Vec<Finding>) {
    if attr != Attribute::Public {
        return;
    }
    static RE: OnceLock<Regex> = OnceLock::new();
    // The 文种 is the end of the title: `关于…的请示` is a 请示, `关于…请示的批复` is not.
    let re = RE.get_or_init(|| {
        Regex::new(
            r"(请示|送审稿|讨论稿|征求意见稿|草稿|初稿|会议记录|讨论记录|询问笔录|检查笔录|谈话笔录|笔录)\s*[)）]?\s*$",
        )
        .expect("process regex is valid")
    });
    let title = fold_str(&item.title);
    let Some(c) = re.captures(title.trim()) else {
        return;
    };
    let cue = &c[1];
    if cue == "征求意见稿" {
        let body = fold_str(&item.body);
        // Drafts put out for public consultation are meant to be published.
        if ["公开征求", "向社会", "社会公众", "公众意见", "社会各界", "意见征集"]
            .iter()
            .any(|w| body.contains(w) || title.contains(w))
        {
            return;
        }
    }
    out.push(Finding::new(
        "ATTR-004",
        "process_information",
        Severity::Warn,
        Field::Attribute,
        format!(
            "本件标题表明其为“{cue}”，属于过程性信息或内部事务信息，一般可不予公开，却认定为主动公开。\
             请核实：如确需公开（如公开征求意见），请在理由中说明；否则改认定为依申请公开或不予公开并说明理由。\
             依据：《政府信息公开条例》第十六条。"
        ),
    ));
}

fn should_be_public(item: &Item, attr: Attribute, out: &mut Vec<Finding>) {
    if attr == Attribute::Public || item.kind == "reply" {
        return;
    }
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"(复函|函复|批复)\s*$").expect("reply-letter regex is valid"));
    let title = fold_str(&item.title);
    let Some(c) = re.captures(title.trim()) else {
        return;
    };
    // Only letters that touch the public: the rest (a 复函 on an internal
    // matter) may well stay 不予公开.
    const PUBLIC_INTEREST: &[&str] = &[
        "规划",
        "收费",
        "价格",
        "标准",
        "征收",
        "征用",
        "补偿",
        "拆迁",
        "环境",
        "环保",
        "安全",
        "教育",
        "医疗",
        "卫生",
        "社保",
        "社会保障",
        "住房",
        "交通",
        "许可",
        "审批",
        "公共",
        "群众",
        "居民",
        "公众",
        "社会",
        "补贴",
        "救助",
    ];
    let text = format!("{title}{}", fold_str(&item.body));
    if !PUBLIC_INTEREST.iter().any(|w| text.contains(w)) {
        return;
    }
    out.push(Finding::new(
        "ATTR-005",
        "should_be_public",
        Severity::Warn,
        Field::Attribute,
        format!(
            "本件为“{}”类公文，却认定为「{}」。函复类公文凡具有普遍指导意义或涉及公众利益的，应当主动公开；\
             请核实并在理由中说明不公开的具体依据，否则改认定为主动公开。依据：国办发〔2016〕80号（公开属性源头认定），\
             《政府信息公开条例》第十九条。",
            &c[1],
            attr.zh()
        ),
    ));
}

fn downgrade(item: &Item, attr: Attribute, out: &mut Vec<Finding>) {
    let Some(sup) = item.superior.as_ref() else {
        return;
    };
    let Some(sup_attr) = Attribute::parse(&sup.attribute) else {
        return;
    };
    if sup_attr != Attribute::Public || attr.openness() >= sup_attr.openness() {
        return;
    }
    let which = sup.doc_number.as_deref().map(|d| format!("（{d}）")).unwrap_or_default();
    out.push(Finding::new(
        "ATTR-007",
        "attribute_downgrade",
        Severity::Block,
        Field::Attribute,
        format!(
            "本件转发或翻印的上级文件{which}已主动公开，本件却认定为「{}」。上级政府主动公开的文件，原则上不得以\
             依申请公开或不予公开的方式转发；请改认定为主动公开。依据：国办发〔2016〕80号（转发类公文公开属性\
             与原文件一致），《政府信息公开条例》第五条。",
            attr.zh()
        ),
    ));
}

#[cfg(test)]
mod tests;
