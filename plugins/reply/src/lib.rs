//! The `reply` review plugin: is a written answer to a 政府信息公开 application
//! complete?
//!
//! 条例 §36 and the 书面答复制 in the seeds require every reply to show how
//! the agency searched for the information (查找检索过程), the legal basis of
//! its decision (an article of the 条例), and the applicant's remedies with
//! their deadlines and organs (行政复议 within 60 days, 行政诉讼 within 6
//! months). Each missing element is its own `reply_incomplete` finding that
//! names it (REPLY-001..003); a remedy without its organ is REPLY-006 (info). REPLY-004 reports a reply whose decision cannot
//! be read as one of the seven types of §36 (or a procedural notice), and
//! REPLY-005 a refusal or partial disclosure (§36(三), §37) that gives no
//! ground of §14–16. REPLY-007 blocks a reply that still holds a template
//! placeholder (`【写明检索的范围、方式和结果】`, `【有管辖权的人民法院】`): the
//! gateway drafts replies from templates whose blanks are in 【】, and a
//! sealed letter must not carry one; each is its own finding, at its place.
//!
//! The plugin applies to items of kind `reply` (and to items titled as an
//! 答复书/告知书 of an information-disclosure application). It judges the
//! text only; deadlines for answering (§33) are the workflow's business.

use std::sync::OnceLock;

use regex::Regex;
use rulekit::cite;
use rulekit::fold::{Folded, fold_str};
use rulekit::{Field, Finding, FindingExt, Item, Meta, RuleInfo, RulePlugin, Severity};
use serde::Deserialize;

/// The rules this plugin implements.
pub const RULES: &[RuleInfo] = &[
    RuleInfo {
        id: "REPLY-001",
        kind: "reply_incomplete",
        severity: Severity::Warn,
        description: "reply does not describe the search process (查找检索过程)",
    },
    RuleInfo {
        id: "REPLY-002",
        kind: "reply_incomplete",
        severity: Severity::Warn,
        description: "reply cites no article of the 条例 as the legal basis of its decision",
    },
    RuleInfo {
        id: "REPLY-003",
        kind: "reply_incomplete",
        severity: Severity::Warn,
        description: "reply does not state the remedies with deadlines and organs (复议 60 日, 诉讼 6 个月)",
    },
    RuleInfo {
        id: "REPLY-004",
        kind: "reply_incomplete",
        severity: Severity::Warn,
        description: "reply's decision is not one of the seven types of 条例 §36",
    },
    RuleInfo {
        id: "REPLY-006",
        kind: "remedy_organ_missing",
        severity: Severity::Info,
        description: "remedy named with deadlines but not the organ that hears it",
    },
    RuleInfo {
        id: "REPLY-007",
        kind: "reply_incomplete",
        severity: Severity::Block,
        description: "reply still holds a template placeholder 【…】 to be filled in",
    },
    RuleInfo {
        id: "REPLY-005",
        kind: "reply_incomplete",
        severity: Severity::Warn,
        description: "refusal or partial disclosure without a ground of 条例 §14–16 (§36(三), §37)",
    },
];

/// Kinds beyond the shared vocabulary that this plugin reports.
pub const EXTRA_KINDS: &[&str] = &["remedy_organ_missing"];

/// JSON Schema of the configuration.
pub const CONFIG_SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "reply plugin configuration",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "require_organ": {
      "description": "report a remedy that does not name its organ (向…申请行政复议 / 向…法院提起诉讼), as REPLY-006 (info)",
      "type": "boolean", "default": true
    }
  }
}"#;

/// The configuration as the policy passes it (described by [`CONFIG_SCHEMA`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "yes")]
    require_organ: bool,
}

fn yes() -> bool {
    true
}

/// The configured rule set.
#[derive(Debug, Clone)]
pub struct Rules {
    require_organ: bool,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules { require_organ: true }
    }
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("reply regexes are valid"))
}

/// The decision types of 条例 §36 (and procedural notices) a reply can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// §36(一) already public: tell where.
    AlreadyPublic,
    /// §36(二) disclosed.
    Disclosed,
    /// §36(三) not disclosed.
    Refused,
    /// §37 partly disclosed.
    Partial,
    /// §36(四) does not exist.
    NotExisting,
    /// §36(五) not this agency's information.
    NotThisAgency,
    /// §36(六) repeated application.
    Repeated,
    /// §36(七) handled under another regime.
    OtherRegime,
    /// 补正 (§30), 延期 (§33), third-party consultation (§32), or not
    /// government information (e.g. 咨询).
    Procedural,
}

/// The decisions a reply's text states.
pub fn decisions(text: &str) -> Vec<Decision> {
    static CUES: OnceLock<Vec<(Decision, Regex)>> = OnceLock::new();
    let cues = CUES.get_or_init(|| {
        [
            (Decision::AlreadyPublic, r"已(?:经)?(?:主动)?公开|已在.{0,20}公开|已予公开"),
            (Decision::Partial, r"部分公开|区分处理|部分予以公开|(?:删除|遮盖|隐去|去除).{0,12}后.{0,6}(?:公开|提供)"),
            (Decision::Refused, r"不予公开|不予提供|不能公开|不宜公开|无法提供"),
            (Decision::NotExisting, r"不存在|未制作|没有制作|未获取|未保存|未形成|并未制作|查无"),
            (Decision::NotThisAgency, r"不属于本(?:机关|行政机关|单位|局|委|办)|非本(?:机关|单位)|不由本(?:机关|单位)|(?:建议|请)您?向.{1,30}(?:申请|咨询)"),
            (Decision::Repeated, r"重复申请|重复提出"),
            (Decision::OtherRegime, r"工商、不动产登记|不动产登记资料|按照.{0,20}(?:法律|行政法规).{0,10}(?:办理|查询)"),
            (Decision::Disclosed, r"(?:予以|同意)公开|提供给您|向您提供|现(?:将|予)?提供|公开如下|现将.{0,60}(?:提供|告知|答复如下)|(?:见|详见)附件"),
            (Decision::Procedural, r"补正|延长答复期限|延期答复|征求第三方|第三方意见|不属于政府信息|咨询|信访"),
        ]
        .into_iter()
        .map(|(d, p)| (d, Regex::new(p).expect("decision regexes are valid")))
        .collect()
    });
    cues.iter().filter(|(_, r)| r.is_match(text)).map(|(d, _)| *d).collect()
}

impl RulePlugin for Rules {
    const META: Meta = Meta::new("reply", env!("CARGO_PKG_VERSION"), RULES, EXTRA_KINDS, CONFIG_SCHEMA);
    type Config = Config;
    type Error = std::convert::Infallible;

    fn from_config(cfg: Config) -> Result<Rules, std::convert::Infallible> {
        Ok(Rules { require_organ: cfg.require_organ })
    }

    fn review(&self, item: &Item) -> Vec<Finding> {
        if !Rules::applies(item) {
            return Vec::new();
        }
        let folded = Folded::new(&item.body);
        let text = folded.text();
        let mut out = Vec::new();
        static PLACEHOLDER: OnceLock<Regex> = OnceLock::new();
        for m in re(&PLACEHOLDER, r"【[^【】\n]{1,80}】").find_iter(text) {
            out.push(
                Finding::new(
                    "REPLY-007",
                    "reply_incomplete",
                    Severity::Block,
                    Field::Body,
                    format!(
                        "答复中仍有未填写的模板内容“{}”。请按实际情况填写并删去【】后再提交；加盖专用章的答复书不能带有模板占位。\
                         依据：《政府信息公开条例》第三十六条（书面答复须载明具体内容）。",
                        m.as_str()
                    ),
                )
                .at(folded.orig_range(m.range())),
            );
        }
        let ds = decisions(text);
        // A procedural notice (补正 §30, 延期 §33, third-party consultation
        // §32, not an application §39) decides nothing yet: it needs its
        // legal basis, but no search process and no remedy.
        let procedural = !ds.is_empty() && ds.iter().all(|d| *d == Decision::Procedural);
        if !procedural && !has_search_process(text) {
            out.push(finding(
                "REPLY-001",
                "答复未说明查找检索过程。请写明检索的范围、方式和结果，如“经检索本机关公文管理系统、档案室存档及有关处室资料，\
                 未发现……”；“经审查”“经研究”不能代替检索过程，信息不存在的答复尤其需要。依据：《政府信息公开条例》\
                 第三十六条，书面答复制（答复须载明查找检索过程）。",
            ));
        }
        if !has_legal_basis(text) {
            out.push(finding(
                "REPLY-002",
                "答复未引用《政府信息公开条例》的具体条款作为决定依据。请写明所依据的条、项，如“根据《中华人民共和国\
                 政府信息公开条例》第三十六条第（二）项的规定”。依据：《政府信息公开条例》第三十六条。",
            ));
        }
        let missing = if procedural { Vec::new() } else { remedy_gaps(text) };
        if !missing.is_empty() {
            out.push(finding(
                "REPLY-003",
                &format!(
                    "答复的救济权利告知不完整：缺少{}。请写明“如对本答复不服，可以自收到本答复之日起60日内向××人民政府\
                     （或上一级主管部门）申请行政复议，或者在6个月内向××人民法院提起行政诉讼”。依据：《政府信息公开条例》\
                     第五十一条，《行政复议法》第二十条，《行政诉讼法》第四十六条。",
                    missing.join("、")
                ),
            ));
        } else if !procedural && self.require_organ && !names_remedy_organ(text) {
            out.push(Finding::new(
                "REPLY-006",
                "remedy_organ_missing",
                Severity::Info,
                Field::Body,
                "答复告知了复议、诉讼的期限，但未写明受理机关。建议写明“向××人民政府申请行政复议”“向××人民法院提起\
                 行政诉讼”，便于申请人行使救济权利。依据：《政府信息公开条例》第五十一条，《行政复议法》，《行政诉讼法》。"
                    .to_string(),
            ));
        }
        if ds.is_empty() {
            out.push(finding(
                "REPLY-004",
                "无法从答复中看出处理决定属于哪一类。请按《政府信息公开条例》第三十六条明确答复类型：已主动公开（告知获取途径）、\
                 予以公开、不予公开（说明理由）、信息不存在、不属于本机关负责公开、重复申请或按其他法律规定办理。",
            ));
        }
        let refusing = ds.iter().any(|d| matches!(d, Decision::Refused | Decision::Partial))
            && !ds.contains(&Decision::NotExisting)
            && !ds.contains(&Decision::NotThisAgency);
        if refusing && !states_ground(text) {
            let mut f = finding(
                "REPLY-005",
                "答复决定不予公开（或部分公开），但未说明理由和法定依据。请写明不予公开的具体情形及条款（第十四条国家秘密等、\
                 第十五条商业秘密或个人隐私、第十六条内部事务或过程性信息）；部分公开的，请说明删除或遮盖了哪些内容及理由。\
                 依据：《政府信息公开条例》第三十六条第（三）项、第三十七条。",
            );
            static REFUSAL: OnceLock<Regex> = OnceLock::new();
            if let Some(m) = re(&REFUSAL, r"不予公开|部分公开|不予提供|区分处理").find(text) {
                f = f.at(folded.orig_range(m.range()));
            }
            out.push(f);
        }
        out
    }
}

#[cfg(target_arch = "wasm32")]
plugin_sdk::export_plugin!(rulekit::Component<Rules>);

impl Rules {
    /// Whether the item is a reply to an information-disclosure application.
    pub fn applies(item: &Item) -> bool {
        if item.kind == "reply" {
            return true;
        }
        let title = fold_str(&item.title);
        title.contains("信息公开") && (title.contains("答复") || title.contains("告知书"))
    }
}

/// What the remedy statement lacks: the routes, or a deadline.
fn remedy_gaps(text: &str) -> Vec<&'static str> {
    static REVIEW: OnceLock<Regex> = OnceLock::new();
    static SUIT: OnceLock<Regex> = OnceLock::new();
    if !text.contains("复议") && !text.contains("诉讼") {
        return vec!["行政复议和行政诉讼的途径及期限"];
    }
    let mut gaps = Vec::new();
    if !re(&REVIEW, r"(?:60|六十)\s*(?:日|天)").is_match(text) {
        gaps.push("申请行政复议的期限（60日）");
    }
    if !re(&SUIT, r"(?:6|六)\s*个\s*月").is_match(text) {
        gaps.push("提起行政诉讼的期限（6个月）");
    }
    gaps
}

/// Whether the remedy names where to go (向…人民政府/法院/机关).
fn names_remedy_organ(text: &str) -> bool {
    static ORGAN: OnceLock<Regex> = OnceLock::new();
    re(
        &ORGAN,
        r"向[^，。；,;\n]{1,40}?(?:人民政府|政府|法院|复议机关|司法局|司法厅|主管部门|上一级|上级|行政机关|机关|部门)",
    )
    .is_match(text)
}

fn finding(rule: &str, message: &str) -> Finding {
    Finding::new(rule, "reply_incomplete", Severity::Warn, Field::Body, message.to_string())
}

/// A description of how the agency searched: a search verb that is not an
/// instruction to the applicant ("您可通过网站查阅").
fn has_search_process(text: &str) -> bool {
    static SEARCH: OnceLock<Regex> = OnceLock::new();
    let search = re(&SEARCH, r"检索|查找|查询|搜索|查阅|翻阅|调阅|搜寻|查档|查证|逐一核对|逐项核对");
    // Skip instructions to the applicant: "您可通过网站查阅", "请自行查询".
    const TO_APPLICANT: &[&str] =
        &["您可", "可通过", "可以通过", "可自行", "可登录", "可在", "可到", "可向", "请您", "请自行", "自行", "便于"];
    search.find_iter(text).any(|m| {
        let before: String = text[..m.start()].chars().rev().take(10).collect::<Vec<_>>().into_iter().rev().collect();
        let clause = before.rsplit(['。', '，', '；', ',', ';', '\n']).next().unwrap_or("");
        !TO_APPLICANT.iter().any(|w| clause.contains(w))
    })
}

/// An article of the 条例 (or another law named in 《》) cited.
fn has_legal_basis(text: &str) -> bool {
    !cite::articles(text).is_empty() && (cite::names_disclosure_regulation(text) || text.contains('《'))
}

/// A ground for withholding: an article of §14–16, or the ground named.
fn states_ground(text: &str) -> bool {
    if cite::articles(text).iter().any(|a| (14..=16).contains(&a.article)) {
        return true;
    }
    cite::names_statutory_ground(text)
}

#[cfg(test)]
mod tests;
