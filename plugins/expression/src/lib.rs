//! The `expression` review plugin: 严重表述错误, the wording errors that
//! single-veto a government website (国办秘函〔2019〕19号).
//!
//! - EXP-001 `leader_title_mismatch` (block): a leader's name written next
//!   to a title that is not the one the roster holds for the item's date, or
//!   leaders listed out of protocol order.
//! - EXP-002 `removed_official` (block): a person removed from office
//!   presented with a title after the removal.
//! - EXP-003 `outdated_formulation` (warn): a formulation replaced since a
//!   date (old → new).
//! - EXP-004 `severe_misspelling` (block or warn per entry): a curated
//!   misspelling of a political or official term.
//! - EXP-005 `sovereignty_wording` (per entry): sovereignty and territory
//!   wording (台湾“总统”, 港澳台 listed as countries …).
//!
//! Every list is data, passed in the configuration (the files in
//! `policies/data/`: `roster.toml`, `formulations.toml`, `misspellings.toml`,
//! `sovereignty.toml`, same shapes in JSON); without a list its rule is
//! silent. Matching runs on folded text (traditional → simplified,
//! full-width → half-width) and spans point into the original field. The
//! plugin does not judge statements beyond these patterns.

use std::collections::BTreeSet;
use std::ops::Range;

use regex::Regex;
use rulekit::{Field, Finding, FindingExt, Folded, Item, Meta, RuleInfo, RulePlugin, Severity};
use serde::Deserialize;
use workdays::Date;

/// Errors of this plugin's configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A sovereignty pattern is not a valid regular expression.
    #[error("invalid pattern {pattern:?}: {reason}")]
    Pattern {
        /// The pattern as written.
        pattern: String,
        /// Why it does not compile.
        reason: String,
    },
    /// A list entry is empty or contradicts itself.
    #[error("invalid entry: {0}")]
    Entry(String),
}

/// The rules this plugin implements.
pub const RULES: &[RuleInfo] = &[
    RuleInfo {
        id: "EXP-001",
        kind: "leader_title_mismatch",
        severity: Severity::Block,
        description: "leader name with a wrong or outdated title, or leaders out of protocol order",
    },
    RuleInfo {
        id: "EXP-002",
        kind: "removed_official",
        severity: Severity::Block,
        description: "person removed from office presented with a title",
    },
    RuleInfo {
        id: "EXP-003",
        kind: "outdated_formulation",
        severity: Severity::Warn,
        description: "outdated formulation (old → new since a date)",
    },
    RuleInfo {
        id: "EXP-004",
        kind: "severe_misspelling",
        severity: Severity::Block,
        description: "curated severe misspelling of a political or official term",
    },
    RuleInfo {
        id: "EXP-005",
        kind: "sovereignty_wording",
        severity: Severity::Warn,
        description: "sovereignty or territory wording",
    },
];

/// Kinds beyond the shared vocabulary that this plugin reports.
pub const EXTRA_KINDS: &[&str] =
    &["leader_title_mismatch", "removed_official", "outdated_formulation", "severe_misspelling", "sovereignty_wording"];

/// JSON Schema of the configuration.
pub const CONFIG_SCHEMA: &str = r##"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "expression plugin configuration: the files of policies/data/ as JSON",
  "type": "object",
  "additionalProperties": false,
  "$defs": {
    "date": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
    "severity": {"enum": ["info", "warn", "block"]}
  },
  "properties": {
    "roster": {
      "type": "object", "required": ["version"], "additionalProperties": false,
      "properties": {
        "version": {"type": "string"},
        "leader": {"type": "array", "items": {"type": "object", "additionalProperties": false,
          "required": ["name", "title", "order", "from"],
          "properties": {"name": {"type": "string"}, "title": {"type": "string"}, "org": {"type": "string"},
                         "order": {"type": "integer", "minimum": 1}, "from": {"$ref": "#/$defs/date"},
                         "to": {"$ref": "#/$defs/date"}}}},
        "removed": {"type": "array", "items": {"type": "object", "additionalProperties": false,
          "required": ["name", "removed"],
          "properties": {"name": {"type": "string"}, "former_title": {"type": "string"},
                         "removed": {"$ref": "#/$defs/date"}, "note": {"type": "string"}}}}
      }
    },
    "formulations": {
      "type": "object", "required": ["version"], "additionalProperties": false,
      "properties": {"version": {"type": "string"}, "formulation": {"type": "array", "items": {
        "type": "object", "additionalProperties": false, "required": ["old", "new", "since"],
        "properties": {"old": {"type": "string"}, "new": {"type": "string"}, "since": {"$ref": "#/$defs/date"},
                       "source": {"type": "string"}}}}}
    },
    "misspellings": {
      "type": "object", "required": ["version"], "additionalProperties": false,
      "properties": {"version": {"type": "string"}, "term": {"type": "array", "items": {
        "type": "object", "additionalProperties": false, "required": ["wrong", "right"],
        "properties": {"wrong": {"type": "string"}, "right": {"type": "string"},
                       "severity": {"$ref": "#/$defs/severity"}}}}}
    },
    "sovereignty": {
      "type": "object", "required": ["version"], "additionalProperties": false,
      "properties": {"version": {"type": "string"}, "pattern": {"type": "array", "items": {
        "type": "object", "additionalProperties": false, "required": ["regex", "message"],
        "properties": {"regex": {"type": "string"}, "message": {"type": "string"}, "suggest": {"type": "string"},
                       "severity": {"$ref": "#/$defs/severity"}}}}}
    }
  }
}"##;

/// `policies/data/roster.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Roster {
    /// Data version, shown in findings.
    pub version: String,
    /// One row per person per post.
    #[serde(default)]
    pub leader: Vec<Leader>,
    /// Persons removed from office.
    #[serde(default)]
    pub removed: Vec<Removed>,
}

/// A person in a post, for a period.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Leader {
    /// Full name.
    pub name: String,
    /// The post, as written next to the name.
    pub title: String,
    /// The organ.
    #[serde(default)]
    pub org: String,
    /// Protocol order within the organ, 1 first.
    pub order: u32,
    /// First day in the post.
    pub from: Date,
    /// Last day in the post.
    #[serde(default)]
    pub to: Option<Date>,
}

impl Leader {
    fn in_force(&self, on: Date) -> bool {
        self.from <= on && self.to.is_none_or(|to| on <= to)
    }
}

/// A person removed from office.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Removed {
    /// Full name.
    pub name: String,
    /// The post held before removal.
    #[serde(default)]
    pub former_title: String,
    /// Date of removal.
    pub removed: Date,
    /// Free note for the reviewer.
    #[serde(default)]
    pub note: String,
}

/// `policies/data/formulations.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Formulations {
    /// Data version.
    pub version: String,
    /// Entries.
    #[serde(default)]
    pub formulation: Vec<Formulation>,
}

/// One outdated formulation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Formulation {
    /// Outdated wording.
    pub old: String,
    /// Wording to use.
    pub new: String,
    /// Outdated from this date.
    pub since: Date,
    /// Where the change comes from.
    #[serde(default)]
    pub source: String,
}

/// `policies/data/misspellings.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Misspellings {
    /// Data version.
    pub version: String,
    /// Entries.
    #[serde(default)]
    pub term: Vec<Misspelling>,
}

/// One misspelling.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Misspelling {
    /// The misspelt form.
    pub wrong: String,
    /// The correct form.
    pub right: String,
    /// `block` for severe errors.
    #[serde(default = "block")]
    pub severity: Severity,
}

fn block() -> Severity {
    Severity::Block
}

fn warn() -> Severity {
    Severity::Warn
}

/// `policies/data/sovereignty.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sovereignty {
    /// Data version.
    pub version: String,
    /// Entries.
    #[serde(default)]
    pub pattern: Vec<SovereigntyPattern>,
}

/// One sovereignty pattern.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SovereigntyPattern {
    /// Regular expression on folded text.
    pub regex: String,
    /// What is wrong.
    pub message: String,
    /// Wording to use instead.
    #[serde(default)]
    pub suggest: Option<String>,
    /// Severity.
    #[serde(default = "warn")]
    pub severity: Severity,
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Leaders and removed officials.
    #[serde(default)]
    pub roster: Option<Roster>,
    /// Outdated formulations.
    #[serde(default)]
    pub formulations: Option<Formulations>,
    /// Severe misspellings.
    #[serde(default)]
    pub misspellings: Option<Misspellings>,
    /// Sovereignty wording.
    #[serde(default)]
    pub sovereignty: Option<Sovereignty>,
}

/// Titles recognised next to a removed official's name, beyond the roster's.
const GENERIC_TITLES: &[&str] = &[
    "书记",
    "副书记",
    "市长",
    "副市长",
    "常务副市长",
    "省长",
    "副省长",
    "县长",
    "副县长",
    "区长",
    "副区长",
    "镇长",
    "副镇长",
    "主任",
    "副主任",
    "局长",
    "副局长",
    "部长",
    "副部长",
    "厅长",
    "副厅长",
    "主席",
    "副主席",
    "秘书长",
    "副秘书长",
    "委员",
    "常委",
    "处长",
    "副处长",
    "科长",
];

/// The configured rule set.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    cfg: Config,
    sovereignty: Vec<(Regex, SovereigntyPattern)>,
    /// Every title known (roster and generic), longest first.
    titles: Vec<String>,
}

struct NameHit {
    /// Folded-text range of the name.
    name: Range<usize>,
    /// Folded-text range of title + name (or name + title).
    whole: Range<usize>,
    title: Option<String>,
    person: String,
}

impl RulePlugin for Rules {
    const META: Meta = Meta::new("expression", env!("CARGO_PKG_VERSION"), RULES, EXTRA_KINDS, CONFIG_SCHEMA);
    type Config = Config;
    type Error = Error;

    fn from_config(cfg: Config) -> Result<Rules, Error> {
        Rules::new(cfg)
    }

    fn review(&self, item: &Item) -> Vec<Finding> {
        let on = [item.formed_at.as_deref(), Some(item.now.as_str())]
            .into_iter()
            .flatten()
            .find_map(|s| Date::from_rfc3339_in_china(s).ok());
        let mut out = Vec::new();
        for (field, text) in [(Field::Title, &item.title), (Field::Body, &item.body)] {
            if text.is_empty() {
                continue;
            }
            let folded = Folded::new(text);
            self.roster(&folded, text, field, on, &mut out);
            self.formulations(&folded, field, on, &mut out);
            self.misspellings(&folded, field, &mut out);
            self.sovereignty(&folded, text, field, &mut out);
        }
        out
    }
}

#[cfg(target_arch = "wasm32")]
plugin_sdk::export_plugin!(rulekit::Component<Rules>);

impl Rules {
    /// Builds the rule set, checking the lists.
    pub fn new(cfg: Config) -> Result<Rules, Error> {
        let mut sovereignty = Vec::new();
        for p in cfg.sovereignty.iter().flat_map(|s| &s.pattern) {
            let re =
                Regex::new(&p.regex).map_err(|e| Error::Pattern { pattern: p.regex.clone(), reason: e.to_string() })?;
            sovereignty.push((re, p.clone()));
        }
        for t in cfg.misspellings.iter().flat_map(|m| &m.term) {
            if t.wrong.trim().is_empty() || t.wrong == t.right {
                return Err(Error::Entry(format!("misspelling {:?} → {:?}", t.wrong, t.right)));
            }
        }
        for f in cfg.formulations.iter().flat_map(|f| &f.formulation) {
            if f.old.trim().is_empty() || f.old == f.new {
                return Err(Error::Entry(format!("formulation {:?} → {:?}", f.old, f.new)));
            }
        }
        if let Some(r) = &cfg.roster {
            for l in &r.leader {
                if l.name.trim().is_empty() || l.title.trim().is_empty() || l.to.is_some_and(|to| to < l.from) {
                    return Err(Error::Entry(format!("roster row {} {}", l.name, l.title)));
                }
            }
        }
        let mut titles: BTreeSet<String> = GENERIC_TITLES.iter().map(|t| t.to_string()).collect();
        titles.extend(cfg.roster.iter().flat_map(|r| &r.leader).map(|l| l.title.clone()));
        let mut titles: Vec<String> = titles.into_iter().collect();
        titles.sort_by_key(|t| std::cmp::Reverse(t.chars().count()));
        Ok(Rules { cfg, sovereignty, titles })
    }

    fn title_around(&self, t: &str, name: Range<usize>) -> Option<(String, Range<usize>)> {
        let before = &t[..name.start];
        if let Some(title) = self.titles.iter().find(|ti| before.ends_with(ti.as_str())) {
            return Some((title.clone(), name.start - title.len()..name.end));
        }
        let after = &t[name.end..];
        self.titles
            .iter()
            .find(|ti| after.starts_with(ti.as_str()))
            .map(|title| (title.clone(), name.start..name.end + title.len()))
    }

    fn roster(&self, folded: &Folded, orig: &str, field: Field, on: Option<Date>, out: &mut Vec<Finding>) {
        let Some(roster) = &self.cfg.roster else {
            return;
        };
        let t = folded.text();
        let in_force = |l: &Leader| on.map_or(l.to.is_none(), |d| l.in_force(d));
        let names: BTreeSet<&str> = roster.leader.iter().map(|l| l.name.as_str()).collect();
        let mut hits: Vec<NameHit> = Vec::new();
        for name in &names {
            for (at, _) in t.match_indices(name) {
                let r = at..at + name.len();
                let (title, whole) = match self.title_around(t, r.clone()) {
                    Some((ti, w)) => (Some(ti), w),
                    None => (None, r.clone()),
                };
                hits.push(NameHit { name: r, whole, title, person: name.to_string() });
            }
        }
        hits.sort_by_key(|h| h.name.start);
        let version = &roster.version;
        for h in &hits {
            let Some(title) = &h.title else { continue };
            let rows: Vec<&Leader> = roster.leader.iter().filter(|l| l.name == h.person).collect();
            let current: Vec<&Leader> = rows.iter().copied().filter(|l| in_force(l)).collect();
            if current.iter().any(|l| &l.title == title) {
                continue;
            }
            let shown = &orig[folded.orig_range(h.whole.clone())];
            let (what, suggestion) = match current.first() {
                Some(l) => (format!("现任职务为“{}”", l.title), Some(format!("{}{}", l.title, h.person))),
                None => ("在本文日期已不担任名册所列职务".to_string(), None),
            };
            let mut f = Finding::new(
                "EXP-001",
                "leader_title_mismatch",
                Severity::Block,
                field,
                format!(
                    "“{shown}”的职务与领导名册不符：{}{what}。请核对姓名与职务后改正。依据：《政府网站与政务新媒体\
                     检查指标》（国办秘函〔2019〕19号）严重表述错误单项否决（领导姓名、职务错误）；领导名册版本 {version}。",
                    h.person
                ),
            )
            .at(folded.orig_range(h.whole.clone()));
            if let Some(s) = suggestion {
                f = f.with_suggestion(s);
            }
            out.push(f);
        }
        // Protocol order among names listed together.
        let order_of = |name: &str| -> Option<(u32, &str)> {
            roster.leader.iter().filter(|l| l.name == name && in_force(l)).map(|l| (l.order, l.org.as_str())).min()
        };
        let mut group: Vec<&NameHit> = Vec::new();
        let flush = |group: &mut Vec<&NameHit>, out: &mut Vec<Finding>| {
            if group.len() >= 2 {
                let orders: Vec<Option<(u32, &str)>> = group.iter().map(|h| order_of(&h.person)).collect();
                let same_org = orders.iter().all(|o| o.is_some_and(|(_, org)| Some(org) == orders[0].map(|(_, g)| g)));
                let misordered = orders.windows(2).any(|w| w[0].map(|x| x.0) > w[1].map(|x| x.0));
                if same_org && misordered {
                    let span = group[0].whole.start..group[group.len() - 1].whole.end;
                    let mut sorted: Vec<&str> = group.iter().map(|h| h.person.as_str()).collect();
                    sorted.sort_by_key(|n| order_of(n).map(|o| o.0));
                    out.push(
                        Finding::new(
                            "EXP-001",
                            "leader_title_mismatch",
                            Severity::Block,
                            field,
                            format!(
                                "领导同志排序与名册不符，应为：{}。请按名册排序。依据：《政府网站与政务新媒体检查指标》\
                                 （国办秘函〔2019〕19号）严重表述错误单项否决（领导排序错误）；领导名册版本 {version}。",
                                sorted.join("、")
                            ),
                        )
                        .at(folded.orig_range(span)),
                    );
                }
            }
            group.clear();
        };
        for h in &hits {
            if let Some(prev) = group.last() {
                let gap = &t[prev.whole.end.min(h.whole.start)..h.whole.start];
                let listed = gap.chars().count() <= 3
                    && gap.chars().all(|c| matches!(c, '、' | '，' | ',' | ' ' | '和' | '及' | '与'));
                if !listed {
                    flush(&mut group, out);
                }
            }
            group.push(h);
        }
        flush(&mut group, out);
        // Removed officials presented with a title.
        for r in &roster.removed {
            if on.is_some_and(|d| d < r.removed) {
                continue;
            }
            for (at, _) in t.match_indices(r.name.as_str()) {
                let Some((title, whole)) = self.title_around(t, at..at + r.name.len()) else {
                    continue;
                };
                let shown = &orig[folded.orig_range(whole.clone())];
                out.push(
                    Finding::new(
                        "EXP-002",
                        "removed_official",
                        Severity::Block,
                        field,
                        format!(
                            "“{shown}”：{}已于{}被免去职务，不得再以“{title}”等职务称谓出现。如系报道其案件，\
                             请按通报口径表述并经终审确认。依据：《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）\
                             严重表述错误单项否决；领导名册版本 {version}。",
                            r.name, r.removed
                        ),
                    )
                    .at(folded.orig_range(whole)),
                );
            }
        }
    }

    fn formulations(&self, folded: &Folded, field: Field, on: Option<Date>, out: &mut Vec<Finding>) {
        let Some(list) = &self.cfg.formulations else {
            return;
        };
        let t = folded.text();
        for f in &list.formulation {
            if on.is_some_and(|d| d < f.since) {
                continue;
            }
            let news: Vec<Range<usize>> = t.match_indices(f.new.as_str()).map(|(a, s)| a..a + s.len()).collect();
            for (at, _) in t.match_indices(f.old.as_str()) {
                let r = at..at + f.old.len();
                if news.iter().any(|n| n.start <= r.start && r.end <= n.end) {
                    continue;
                }
                out.push(
                    Finding::new(
                        "EXP-003",
                        "outdated_formulation",
                        Severity::Warn,
                        field,
                        format!(
                            "“{}”为过时表述，自{}起应表述为“{}”，请改正（历史回顾确需沿用的，请在审核时说明）。依据：{}；\
                             《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）严重表述错误；表述清单版本 {}。",
                            f.old, f.since, f.new, f.source, list.version
                        ),
                    )
                    .at(folded.orig_range(r))
                    .with_suggestion(f.new.clone()),
                );
            }
        }
    }

    fn misspellings(&self, folded: &Folded, field: Field, out: &mut Vec<Finding>) {
        let Some(list) = &self.cfg.misspellings else {
            return;
        };
        for m in &list.term {
            for (at, _) in folded.text().match_indices(m.wrong.as_str()) {
                out.push(
                    Finding::new(
                        "EXP-004",
                        "severe_misspelling",
                        m.severity,
                        field,
                        format!(
                            "“{}”系错别字，应为“{}”，请改正。依据：《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）\
                             严重错别字单项否决；错别字清单版本 {}。",
                            m.wrong, m.right, list.version
                        ),
                    )
                    .at(folded.orig_range(at..at + m.wrong.len()))
                    .with_suggestion(m.right.clone()),
                );
            }
        }
    }

    fn sovereignty(&self, folded: &Folded, orig: &str, field: Field, out: &mut Vec<Finding>) {
        let Some(list) = &self.cfg.sovereignty else {
            return;
        };
        for (re, p) in &self.sovereignty {
            for m in re.find_iter(folded.text()) {
                let suggestion = p.suggest.as_deref().map(|s| format!("，可表述为“{s}”")).unwrap_or_default();
                let mut f = Finding::new(
                    "EXP-005",
                    "sovereignty_wording",
                    p.severity,
                    field,
                    format!(
                        "“{}”涉及国家主权和领土表述：{}{suggestion}。请改正后送审。依据：《政府网站与政务新媒体检查指标》\
                         （国办秘函〔2019〕19号）严重表述错误单项否决；涉主权表述清单版本 {}。",
                        &orig[folded.orig_range(m.range())],
                        p.message,
                        list.version
                    ),
                )
                .at(folded.orig_range(m.range()));
                if let Some(s) = &p.suggest {
                    f = f.with_suggestion(s.clone());
                }
                out.push(f);
            }
        }
    }
}

#[cfg(test)]
mod tests;
