//! The `signoff` review plugin: the records the workflow collects, as a gate
//! that shows in the findings like any other rule.
//!
//! - SGN-004 `signoff_missing` (block): no named responsible person accepted
//!   the "谁发布谁负责" statement — the sign-off is absent, the name is blank,
//!   the statement was not accepted, or (when configured) an older version of
//!   the statement was accepted.
//! - SGN-001 `review_stage_missing` (block): a configured review stage
//!   (初审/复审/终审, more for some channels) has no approval bound to this
//!   version's content digest, or two stages were filled by the same person.
//! - SGN-002 `secrecy_review_missing` (block): no 保密审查 approval bound to
//!   this version (条例 §17, 先审查后公开、一事一审).
//! - SGN-003 `backdated` (block): a publication date stated in the item is
//!   earlier than the review time, so the seal would post-date it. Off by
//!   default: the contract has no display-date field yet, and text pasted
//!   from a published page carries its old 发布时间 label.
//!
//! Stage rules are off unless the policy lists stages: the gateway reviews
//! at submission, before anyone has approved, and the workflow decides when
//! the gate must hold. The plugin sees pseudonymous reviewer ids only.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use regex::Regex;
use rulekit::cite::parse_numeral;
use rulekit::{Field, Finding, FindingExt, Folded, Item, Meta, RuleInfo, RulePlugin, Severity};
use serde::Deserialize;
use workdays::Date;

/// The rules this plugin implements.
pub const RULES: &[RuleInfo] = &[
    RuleInfo {
        id: "SGN-001",
        kind: "review_stage_missing",
        severity: Severity::Block,
        description: "required review stage missing, not bound to this version, or not by a distinct person",
    },
    RuleInfo {
        id: "SGN-002",
        kind: "secrecy_review_missing",
        severity: Severity::Block,
        description: "no 保密审查 record bound to this version (条例 §17)",
    },
    RuleInfo {
        id: "SGN-003",
        kind: "backdated",
        severity: Severity::Block,
        description: "stated publication date earlier than the review (and seal) time",
    },
    RuleInfo {
        id: "SGN-004",
        kind: "signoff_missing",
        severity: Severity::Block,
        description: "no named responsible person accepted the current 谁发布谁负责 statement",
    },
];

/// Kinds beyond the shared vocabulary that this plugin reports.
pub const EXTRA_KINDS: &[&str] = &["review_stage_missing", "secrecy_review_missing", "backdated"];

/// JSON Schema of the configuration.
pub const CONFIG_SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "signoff plugin configuration",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "required_stages": {
      "description": "stages every item needs, e.g. [\"first\", \"final\"]; empty = SGN-001 off",
      "type": "array", "items": {"type": "string"}, "default": []
    },
    "stages_by_channel": {
      "description": "extra stages per channel, e.g. {\"wechat\": [\"second\"]}",
      "type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}, "default": {}
    },
    "require_secrecy_review": {"type": "boolean", "default": false, "description": "SGN-002"},
    "secrecy_stage": {"type": "string", "default": "secrecy"},
    "check_backdating": {
      "description": "SGN-003 on 发布日期/发布时间 labels in the text (off by default: pasted web pages carry old labels)",
      "type": "boolean", "default": false
    },
    "current_statement_version": {
      "description": "version id of the current 谁发布谁负责 statement; when set, an older accepted version does not count",
      "type": ["string", "null"], "default": null
    }
  }
}"#;

/// The configuration as the policy passes it (described by [`CONFIG_SCHEMA`]).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    required_stages: Vec<String>,
    #[serde(default)]
    stages_by_channel: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    require_secrecy_review: bool,
    #[serde(default)]
    secrecy_stage: Option<String>,
    #[serde(default)]
    current_statement_version: Option<String>,
    #[serde(default)]
    check_backdating: bool,
}

/// The configured rule set.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    required_stages: Vec<String>,
    stages_by_channel: BTreeMap<String, Vec<String>>,
    require_secrecy_review: bool,
    secrecy_stage: String,
    current_statement_version: Option<String>,
    check_backdating: bool,
}

/// The Chinese name of a stage for messages.
fn stage_zh(stage: &str) -> &str {
    match stage {
        "first" => "初审",
        "second" => "复审",
        "final" => "终审",
        "secrecy" => "保密审查",
        "publicity" => "宣传审核",
        "countersign" => "会签",
        "principal" => "主要领导审签",
        other => other,
    }
}

impl RulePlugin for Rules {
    const META: Meta = Meta::new("signoff", env!("CARGO_PKG_VERSION"), RULES, EXTRA_KINDS, CONFIG_SCHEMA);
    type Config = Config;
    type Error = std::convert::Infallible;

    fn from_config(cfg: Config) -> Result<Rules, std::convert::Infallible> {
        Ok(Rules {
            required_stages: cfg.required_stages,
            stages_by_channel: cfg.stages_by_channel,
            require_secrecy_review: cfg.require_secrecy_review,
            secrecy_stage: cfg.secrecy_stage.unwrap_or_else(|| "secrecy".to_string()),
            current_statement_version: cfg.current_statement_version,
            check_backdating: cfg.check_backdating,
        })
    }

    fn review(&self, item: &Item) -> Vec<Finding> {
        let mut out = Vec::new();
        self.signoff(item, &mut out);
        self.stages(item, &mut out);
        self.secrecy(item, &mut out);
        if self.check_backdating {
            backdated(item, &mut out);
        }
        out
    }
}

#[cfg(target_arch = "wasm32")]
plugin_sdk::export_plugin!(rulekit::Component<Rules>);

impl Rules {
    fn signoff(&self, item: &Item, out: &mut Vec<Finding>) {
        let problem = match item.signoff.as_ref() {
            None => Some("没有签发记录".to_string()),
            Some(s) if s.name.trim().is_empty() => Some("签发记录未写明责任人姓名".to_string()),
            Some(s) if !s.statement_accepted => Some(format!("责任人{}尚未确认“谁发布谁负责”承诺", s.name.trim())),
            Some(s) => match (&self.current_statement_version, &s.statement_version) {
                (Some(cur), v) if v.as_deref() != Some(cur.as_str()) => Some(format!(
                    "责任人{}确认的承诺文本版本（{}）不是现行版本（{cur}）",
                    s.name.trim(),
                    v.as_deref().unwrap_or("未记录")
                )),
                _ => None,
            },
        };
        if let Some(p) = problem {
            out.push(Finding::new(
                "SGN-004",
                "signoff_missing",
                Severity::Block,
                Field::Signoff,
                format!(
                    "{p}。发布前须由具名的责任人（分管或主要领导）在终审时确认现行“谁发布谁负责”承诺，\
                     请补齐签发人姓名、职务并完成确认。依据：“谁发布、谁负责”信息发布审核机制，\
                     《政府信息公开条例》第十七条。"
                ),
            ));
        }
    }

    fn stages(&self, item: &Item, out: &mut Vec<Finding>) {
        let mut needed: Vec<&str> = self.required_stages.iter().map(String::as_str).collect();
        for c in &item.channels {
            for s in self.stages_by_channel.get(c).into_iter().flatten() {
                if !needed.contains(&s.as_str()) {
                    needed.push(s);
                }
            }
        }
        if needed.is_empty() {
            return;
        }
        let bound: Vec<_> = item.approvals.iter().filter(|a| a.digest == item.content_digest).collect();
        let missing: Vec<&str> = needed.iter().copied().filter(|s| !bound.iter().any(|a| a.stage == *s)).collect();
        let stale: Vec<&str> = missing
            .iter()
            .copied()
            .filter(|s| item.approvals.iter().any(|a| a.stage == *s && a.digest != item.content_digest))
            .collect();
        if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(|s| stage_zh(s)).collect();
            let stale_note = if stale.is_empty() {
                String::new()
            } else {
                format!(
                    "（其中{}的审核针对的是旧版本，内容修改后须重新审核）",
                    stale.iter().map(|s| stage_zh(s)).collect::<Vec<_>>().join("、")
                )
            };
            out.push(Finding::new(
                "SGN-001",
                "review_stage_missing",
                Severity::Block,
                Field::Signoff,
                format!(
                    "本版本尚缺{}{stale_note}。请按“初审、复审、终审”程序完成各环节审核后再发布。依据：\
                     国办发〔2018〕123号（分级分类审核、先审后发），“三审三校”制度。",
                    names.join("、")
                ),
            ));
        }
        let mut by_reviewer: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for a in &bound {
            if needed.contains(&a.stage.as_str()) || a.stage == self.secrecy_stage {
                by_reviewer.entry(a.reviewer.as_str()).or_default().insert(a.stage.as_str());
            }
        }
        for stages in by_reviewer.values().filter(|s| s.len() > 1) {
            let names: Vec<&str> = stages.iter().map(|s| stage_zh(s)).collect();
            out.push(Finding::new(
                "SGN-001",
                "review_stage_missing",
                Severity::Block,
                Field::Signoff,
                format!(
                    "{}由同一人完成，不符合分级审核要求。请由不同人员分别审核。依据：国办发〔2018〕123号，“三审三校”制度。",
                    names.join("与")
                ),
            ));
        }
    }

    fn secrecy(&self, item: &Item, out: &mut Vec<Finding>) {
        if !self.require_secrecy_review {
            return;
        }
        let ok = item
            .approvals
            .iter()
            .any(|a| a.stage == self.secrecy_stage && a.digest == item.content_digest && !a.reviewer.trim().is_empty());
        if !ok {
            out.push(Finding::new(
                "SGN-002",
                "secrecy_review_missing",
                Severity::Block,
                Field::Signoff,
                "本版本没有保密审查记录。信息公开前须由保密审查员对本版本逐件审查（先审查、后公开，一事一审），\
                 请提交保密审查。依据：《政府信息公开条例》第十七条，《保守国家秘密法》。"
                    .to_string(),
            ));
        }
    }
}

fn backdated(item: &Item, out: &mut Vec<Finding>) {
    let Ok(now) = Date::from_rfc3339_in_china(&item.now) else {
        return;
    };
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r"(?:发布|公开|发稿|上网|公布)(?:日期|时间)\s*[:：]?\s*([0-9]{4}|[〇零一二三四五六七八九]{4})\s*[年\-/.]\s*([0-9]{1,2}|[〇零一二三四五六七八九十]{1,3})\s*[月\-/.]\s*([0-9]{1,2}|[〇零一二三四五六七八九十]{1,3})",
        )
        .expect("date regex is valid")
    });
    for (field, text) in [(Field::Body, &item.body), (Field::Title, &item.title)] {
        let folded = Folded::new(text);
        for c in re.captures_iter(folded.text()) {
            let parts = (parse_numeral(&c[1]), parse_numeral(&c[2]), parse_numeral(&c[3]));
            let (Some(y), Some(m), Some(d)) = parts else {
                continue;
            };
            let Ok(shown) = Date::new(y as i32, m as u8, d as u8) else {
                continue;
            };
            if shown < now {
                let span = folded.orig_range(c.get(0).expect("group 0").range());
                out.push(
                    Finding::new(
                        "SGN-003",
                        "backdated",
                        Severity::Block,
                        field,
                        format!(
                            "标注的发布日期（{shown}）早于本次审核时间（{now}），发布后将形成倒签日期。请改为实际发布日期；\
                             如需注明成文日期，请以“成文日期”单独标注。依据：《政府网站与政务新媒体检查指标》\
                             （国办秘函〔2019〕19号）单项否决项“伪造发布日期”。"
                        ),
                    )
                    .at(span),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests;
