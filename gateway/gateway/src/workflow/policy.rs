//! The workflow policy: which review stages (requirements) an item needs,
//! who is eligible for each, in which order, within how many working days,
//! who may override or waive what, and the sign-off statement.
//!
//! A TOML file (`policies/workflow.toml`), read at start and checked
//! strictly: an unknown role, a stage that names an unknown predecessor, an
//! ordering cycle or an override of a veto stage stops the gateway with a
//! message naming the problem. See the shipped file for every option.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::auth::Role;
use crate::model::{Attribute, Kind};

/// Why the workflow policy could not be used.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowPolicyError {
    #[error("无法读取审核流程策略 {path}：{source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("审核流程策略 {path} 格式错误：{reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("审核流程策略 {path} 无效：{reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("节假日日历 {path} 无效：{reason}")]
    Calendar { path: PathBuf, reason: String },
}

/// Whose unit a reviewer must belong to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitRule {
    /// Any unit.
    #[default]
    Any,
    /// The item's unit (when the item has one).
    Item,
    /// Another unit than the item's (会签 by other agencies).
    Other,
}

/// When a stage applies. Every listed condition must hold; within a list,
/// any value matches. An empty condition always holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Condition {
    pub kinds: Vec<Kind>,
    pub attributes: Vec<Attribute>,
    /// The item targets at least one of these channels.
    pub channels_any: Vec<String>,
    /// The item carries at least one of these flags.
    pub flags_any: Vec<String>,
}

impl Condition {
    /// Whether an item with these facts meets the condition.
    pub fn holds(&self, kind: Kind, attribute: Attribute, channels: &[String], flags: &[String]) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&kind))
            && (self.attributes.is_empty() || self.attributes.contains(&attribute))
            && (self.channels_any.is_empty() || channels.iter().any(|c| self.channels_any.contains(c)))
            && (self.flags_any.is_empty() || flags.iter().any(|f| self.flags_any.contains(f)))
    }
}

/// One requirement: a review stage.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// Stable id (`first`, `second`, `secrecy`, `final` …), used in votes,
    /// approvals passed to plugins and the seal.
    pub id: String,
    /// Shown to people (初审, 复审 …).
    pub label: String,
    /// Roles any of which makes a person eligible.
    pub roles: Vec<Role>,
    #[serde(default)]
    pub unit: UnitRule,
    #[serde(default)]
    pub when: Condition,
    /// Stages that must be satisfied (or overridden) first; stages that do
    /// not apply to an item are skipped.
    #[serde(default)]
    pub after: Vec<String>,
    /// Approvals needed (default 1), each from a different person.
    #[serde(default = "one")]
    pub approvals: u32,
    /// A veto stage (保密审查): its block vote stays across versions until
    /// its author lifts it, and the stage can never be overridden.
    #[serde(default)]
    pub veto: bool,
    /// A sign-off stage (终审签发): the vote carries the statement and needs
    /// the password again. Sign-off stages come after every other stage.
    #[serde(default)]
    pub signoff: bool,
    /// Roles that may mark the stage OVERRIDDEN, with a reason.
    #[serde(default)]
    pub override_roles: Vec<Role>,
    /// Working days the stage may take once it is open.
    #[serde(default)]
    pub sla_working_days: Option<u32>,
}

fn one() -> u32 {
    1
}

/// The "谁发布谁负责" statement the sign-off stages accept.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    pub id: String,
    pub version: String,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Deadlines {
    /// Directory of the holiday calendars (`2026.toml` …), relative to the
    /// policy file.
    pub calendar_dir: PathBuf,
    /// 主动公开: working days from `formed_at` (条例第二十六条: 20).
    pub disclosure_working_days: u32,
    /// Reminders at these percentages of a stage's SLA.
    pub reminders: Vec<u32>,
}

impl Default for Deadlines {
    fn default() -> Deadlines {
        Deadlines { calendar_dir: PathBuf::from("calendar"), disclosure_working_days: 20, reminders: vec![50, 80] }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegisterRules {
    /// Months between periodic reviews of a non-public attribute.
    pub review_months: u32,
    /// Roles that may confirm or change a register entry.
    pub roles: Vec<Role>,
}

impl Default for RegisterRules {
    fn default() -> RegisterRules {
        RegisterRules { review_months: 6, roles: vec![Role::SecrecyReviewer, Role::Approver] }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    version: String,
    statement: Statement,
    #[serde(default)]
    deadlines: Deadlines,
    #[serde(default)]
    register: RegisterRules,
    #[serde(rename = "stage")]
    stages: Vec<Stage>,
    /// Rule-id prefix (`SEC-`, `PII-` …, or `*`) → roles that may waive a
    /// blocking finding of that family.
    #[serde(default)]
    waivers: BTreeMap<String, Vec<Role>>,
    /// Roles that may reject an item (不予发布) while it is blocked.
    #[serde(default = "default_reject_roles")]
    reject_roles: Vec<Role>,
}

fn default_reject_roles() -> Vec<Role> {
    vec![Role::SecrecyReviewer, Role::Approver]
}

/// Rule families whose blocking findings nobody may waive: a plugin that
/// failed (HOST-*) never lets an item through.
pub const UNWAIVABLE_PREFIXES: &[&str] = &["HOST-"];

/// A checked workflow policy.
#[derive(Clone, Debug)]
pub struct WorkflowPolicy {
    pub path: PathBuf,
    pub version: String,
    pub statement: Statement,
    pub deadlines: Deadlines,
    pub register: RegisterRules,
    pub stages: Vec<Stage>,
    pub waivers: BTreeMap<String, Vec<Role>>,
    pub reject_roles: Vec<Role>,
    /// The holiday arrangements shipped in `calendar_dir`, checked. The
    /// calendar in force is `AppState::calendar` (these, overlaid with the
    /// years the office loaded into the store).
    pub shipped_calendar: Vec<workdays::YearArrangement>,
}

impl WorkflowPolicy {
    /// Reads and checks a policy file and the calendars it names.
    pub fn load(path: &Path) -> Result<WorkflowPolicy, WorkflowPolicyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| WorkflowPolicyError::Read { path: path.to_owned(), source })?;
        let mut policy = WorkflowPolicy::parse(path, &text)?;
        let dir = path.parent().unwrap_or(Path::new(".")).join(&policy.deadlines.calendar_dir);
        policy.shipped_calendar = read_calendar_years(&dir)?;
        Ok(policy)
    }

    /// Parses and checks policy text; no calendar years are read.
    pub fn parse(path: &Path, text: &str) -> Result<WorkflowPolicy, WorkflowPolicyError> {
        let raw: RawPolicy = toml::from_str(text)
            .map_err(|e| WorkflowPolicyError::Parse { path: path.to_owned(), reason: e.message().to_owned() })?;
        let invalid = |reason: String| WorkflowPolicyError::Invalid { path: path.to_owned(), reason };
        if raw.stages.is_empty() {
            return Err(invalid("至少需要一个审核环节".into()));
        }
        let mut ids = BTreeSet::new();
        for stage in &raw.stages {
            if !is_slug(&stage.id) {
                return Err(invalid(format!("环节编号 {:?} 只能由小写字母、数字和 _ 组成", stage.id)));
            }
            if !ids.insert(stage.id.as_str()) {
                return Err(invalid(format!("环节编号 {} 重复", stage.id)));
            }
            if stage.roles.is_empty() {
                return Err(invalid(format!("环节 {} 没有指定可审核的角色", stage.id)));
            }
            if stage.roles.iter().chain(&stage.override_roles).any(|r| r.is_administrator()) {
                return Err(invalid(format!("环节 {}：系统管理员、安全管理员和审计管理员不能参与审核", stage.id)));
            }
            if stage.approvals == 0 {
                return Err(invalid(format!("环节 {} 的 approvals 至少为 1", stage.id)));
            }
            if stage.veto && !stage.override_roles.is_empty() {
                return Err(invalid(format!(
                    "环节 {} 有一票否决权，不能被越级通过（override_roles 必须为空）",
                    stage.id
                )));
            }
        }
        for stage in &raw.stages {
            for before in &stage.after {
                if !ids.contains(before.as_str()) {
                    return Err(invalid(format!("环节 {} 的前置环节 {} 不存在", stage.id, before)));
                }
                let other = raw.stages.iter().find(|s| &s.id == before).expect("checked above");
                if other.signoff && !stage.signoff {
                    return Err(invalid(format!(
                        "签发环节 {} 必须在其他环节之后，{} 不能排在它后面",
                        before, stage.id
                    )));
                }
            }
        }
        if !raw.stages.iter().any(|s| s.signoff) {
            return Err(invalid("至少需要一个签发（signoff）环节：谁发布谁负责".into()));
        }
        if let Some(cycle) = find_cycle(&raw.stages) {
            return Err(invalid(format!("环节顺序有循环：{cycle}")));
        }
        for prefix in raw.waivers.keys() {
            if UNWAIVABLE_PREFIXES.iter().any(|p| prefix.starts_with(p) || p.starts_with(prefix.as_str())) {
                return Err(invalid(format!("{prefix} 类问题（插件故障）不能被豁免")));
            }
        }
        if raw.statement.text.trim().is_empty() || raw.statement.id.trim().is_empty() {
            return Err(invalid("签发声明的编号和文本不能为空".into()));
        }
        Ok(WorkflowPolicy {
            path: path.to_owned(),
            version: raw.version,
            statement: raw.statement,
            deadlines: raw.deadlines,
            register: raw.register,
            stages: raw.stages,
            waivers: raw.waivers,
            reject_roles: raw.reject_roles,
            shipped_calendar: Vec::new(),
        })
    }

    pub fn stage(&self, id: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.id == id)
    }

    /// Roles that may waive a blocking finding of this rule: the longest
    /// matching prefix wins, then `*`; none for unwaivable families.
    pub fn waiver_roles(&self, rule_id: &str) -> &[Role] {
        if UNWAIVABLE_PREFIXES.iter().any(|p| rule_id.starts_with(p)) {
            return &[];
        }
        self.waivers
            .iter()
            .filter(|(prefix, _)| prefix.as_str() != "*" && rule_id.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .or_else(|| self.waivers.get_key_value("*"))
            .map_or(&[], |(_, roles)| roles.as_slice())
    }
}

/// Reads every `*.toml` calendar in `dir` into one calendar.
pub fn load_calendars(dir: &Path) -> Result<workdays::Calendar, WorkflowPolicyError> {
    let err = |reason: String| WorkflowPolicyError::Calendar { path: dir.to_owned(), reason };
    let mut calendar = workdays::Calendar::new();
    for year in read_calendar_years(dir)? {
        calendar.add_year(year).map_err(|e| err(e.to_string()))?;
    }
    Ok(calendar)
}

/// Reads and checks every `*.toml` calendar in `dir` (at least one; no year
/// twice; each consistent).
pub fn read_calendar_years(dir: &Path) -> Result<Vec<workdays::YearArrangement>, WorkflowPolicyError> {
    let err = |reason: String| WorkflowPolicyError::Calendar { path: dir.to_owned(), reason };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| err(e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(err("目录中没有日历文件".into()));
    }
    let mut check = workdays::Calendar::new();
    let mut years = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| err(format!("{}: {e}", file.display())))?;
        let year: workdays::YearArrangement =
            toml::from_str(&text).map_err(|e| err(format!("{}: {}", file.display(), e.message())))?;
        check.add_year(year.clone()).map_err(|e| err(format!("{}: {e}", file.display())))?;
        years.push(year);
    }
    Ok(years)
}

fn is_slug(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A description of an ordering cycle, if the `after` relation has one.
fn find_cycle(stages: &[Stage]) -> Option<String> {
    fn visit<'a>(
        id: &'a str,
        stages: &'a [Stage],
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<String> {
        if let Some(pos) = path.iter().position(|p| *p == id) {
            let mut cycle: Vec<&str> = path[pos..].to_vec();
            cycle.push(id);
            return Some(cycle.join(" → "));
        }
        if done.contains(id) {
            return None;
        }
        path.push(id);
        let stage = stages.iter().find(|s| s.id == id)?;
        for before in &stage.after {
            if let Some(c) = visit(before, stages, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(id);
        None
    }
    let mut done = BTreeSet::new();
    stages.iter().find_map(|s| visit(&s.id, stages, &mut Vec::new(), &mut done))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
        version = "t"
        statement = { id = "sign", version = "1", text = "本人同意发布" }
        [[stage]]
        id = "first"
        label = "初审"
        roles = ["reviewer"]
        [[stage]]
        id = "final"
        label = "终审"
        roles = ["approver"]
        signoff = true
    "#;

    fn parse(extra: &str) -> Result<WorkflowPolicy, WorkflowPolicyError> {
        WorkflowPolicy::parse(Path::new("t.toml"), &format!("{BASE}{extra}"))
    }

    #[test]
    fn the_shipped_policy_loads_with_its_calendars() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/workflow.toml");
        let policy = WorkflowPolicy::load(&root).unwrap();
        assert!(policy.stage("secrecy").unwrap().veto);
        assert!(policy.shipped_calendar.iter().any(|y| y.year == 2026 && !y.provisional));
        assert!(policy.shipped_calendar.iter().any(|y| y.year == 2027 && y.provisional));
        assert_eq!(policy.waiver_roles("HOST-001"), &[] as &[Role]);
        assert_eq!(policy.waiver_roles("SEC-001"), &[Role::SecrecyReviewer]);
    }

    #[test]
    fn inconsistent_policies_are_refused_with_a_reason() {
        let cases = [
            ("[[stage]]\nid = \"x\"\nlabel = \"x\"\nroles = [\"reviewer\"]\nafter = [\"nope\"]\n", "不存在"),
            ("[[stage]]\nid = \"first\"\nlabel = \"x\"\nroles = [\"reviewer\"]\n", "重复"),
            (
                "[[stage]]\nid = \"s\"\nlabel = \"保密\"\nroles = [\"secrecy_reviewer\"]\nveto = true\noverride_roles = [\"leader\"]\n",
                "一票否决",
            ),
            ("[[stage]]\nid = \"a\"\nlabel = \"a\"\nroles = [\"admin\"]\n", "系统管理员"),
            (
                "[[stage]]\nid = \"a\"\nlabel = \"a\"\nroles = [\"reviewer\"]\nafter = [\"b\"]\n[[stage]]\nid = \"b\"\nlabel = \"b\"\nroles = [\"reviewer\"]\nafter = [\"a\"]\n",
                "循环",
            ),
            ("[[stage]]\nid = \"late\"\nlabel = \"a\"\nroles = [\"reviewer\"]\nafter = [\"final\"]\n", "签发环节"),
            ("[waivers]\n\"HOST-\" = [\"approver\"]\n", "不能被豁免"),
        ];
        for (extra, expected) in cases {
            let err = parse(extra).unwrap_err().to_string();
            assert!(err.contains(expected), "{extra}: {err}");
        }
    }

    #[test]
    fn waiver_roles_take_the_longest_prefix() {
        let p =
            parse("[waivers]\n\"PII-\" = [\"secrecy_reviewer\"]\n\"PII-009\" = [\"leader\"]\n\"*\" = [\"approver\"]\n")
                .unwrap();
        assert_eq!(p.waiver_roles("PII-001"), &[Role::SecrecyReviewer]);
        assert_eq!(p.waiver_roles("PII-009"), &[Role::Leader]);
        assert_eq!(p.waiver_roles("FMT-001"), &[Role::Approver]);
        assert_eq!(p.waiver_roles("HOST-001"), &[] as &[Role]);
    }

    #[test]
    fn conditions_match_any_within_and_all_across() {
        let c =
            Condition { channels_any: vec!["wechat".into()], flags_any: vec!["major".into()], ..Default::default() };
        let ch = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(c.holds(Kind::Notice, Attribute::Public, &ch(&["website", "wechat"]), &ch(&["major"])));
        assert!(!c.holds(Kind::Notice, Attribute::Public, &ch(&["website"]), &ch(&["major"])));
        assert!(Condition::default().holds(Kind::Post, Attribute::Withheld, &[], &[]));
    }
}
