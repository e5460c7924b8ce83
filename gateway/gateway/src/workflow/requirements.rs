//! Requirement evaluation: from the workflow policy, the facts of one item
//! version, the votes and overrides on record and the people who could
//! review, compute each requirement's status, who is eligible, and where the
//! item stands. Pure functions, no IO: the store loads a [`Snapshot`], the
//! HTTP layer acts on the [`Evaluation`].
//!
//! Separation of duties lives here, in [`Snapshot::eligibility`], so that
//! the check that refuses a vote and the count that finds "no eligible
//! reviewer" can never disagree.

use std::collections::{BTreeMap, BTreeSet};

use seal::ContentDigest;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::policy::{Stage, UnitRule, WorkflowPolicy};
use crate::auth::Role;
use crate::model::{Attribute, Kind, Timestamp, UnitId, UserId};

/// A requirement's status (Gerrit's vocabulary).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    NotApplicable,
    Pending,
    Satisfied,
    Blocked,
    Overridden,
}

impl Status {
    /// Satisfied or overridden: later stages may go on.
    pub fn is_done(self) -> bool {
        matches!(self, Status::Satisfied | Status::Overridden | Status::NotApplicable)
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::NotApplicable => "不适用",
            Status::Pending => "待审核",
            Status::Satisfied => "已通过",
            Status::Blocked => "已拦截",
            Status::Overridden => "已越级通过",
        }
    }
}

/// What a vote says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VoteValue {
    Approve,
    /// Request changes: the item goes back to the drafter.
    Changes,
    /// Block (veto on a veto stage).
    Block,
}

impl VoteValue {
    pub fn as_str(self) -> &'static str {
        match self {
            VoteValue::Approve => "approve",
            VoteValue::Changes => "changes",
            VoteValue::Block => "block",
        }
    }

    pub fn parse(s: &str) -> Option<VoteValue> {
        match s {
            "approve" => Some(VoteValue::Approve),
            "changes" => Some(VoteValue::Changes),
            "block" => Some(VoteValue::Block),
            _ => None,
        }
    }
}

/// A vote as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoteRecord {
    pub id: String,
    pub version: i64,
    pub digest: ContentDigest,
    pub stage: String,
    pub user: UserId,
    pub value: VoteValue,
    pub comment: Option<String>,
    pub signoff: Option<Value>,
    pub created_at: Timestamp,
    pub lifted_at: Option<Timestamp>,
}

/// An override as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverrideRecord {
    pub id: String,
    pub version: i64,
    pub digest: ContentDigest,
    pub stage: String,
    pub user: UserId,
    pub role: Role,
    pub reason: String,
    pub created_at: Timestamp,
}

/// A person who might review: active users holding some reviewing role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub user: UserId,
    pub roles: BTreeSet<Role>,
    pub unit: Option<UnitId>,
}

/// Everything the evaluation of one item version needs.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub kind: Kind,
    pub attribute: Attribute,
    pub channels: Vec<String>,
    pub flags: Vec<String>,
    pub unit: Option<UnitId>,
    pub version: i64,
    pub digest: ContentDigest,
    /// Everyone who created or edited any version of the item.
    pub authors: BTreeSet<UserId>,
    /// When the current version was submitted (the first stage opens then).
    pub submitted_at: Option<Timestamp>,
    /// Every vote on the item, all versions.
    pub votes: Vec<VoteRecord>,
    /// Every override on the item, all versions.
    pub overrides: Vec<OverrideRecord>,
    pub candidates: Vec<Candidate>,
}

/// Why a person may not act on a stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal(pub String);

/// One requirement's result.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Requirement {
    pub stage: String,
    pub label: String,
    pub status: Status,
    /// Its predecessors are done: reviewers may act on it now.
    pub open: bool,
    pub veto: bool,
    pub signoff: bool,
    /// Approvals on the current digest, oldest first.
    #[schema(value_type = Vec<String>)]
    pub approved_by: Vec<UserId>,
    /// Vote ids that block it (a veto may be on an older version).
    pub blocking_votes: Vec<String>,
    pub changes_requested: bool,
    /// People who could still fill it.
    #[schema(value_type = Vec<String>)]
    pub eligible: Vec<UserId>,
    /// What is wrong, in Chinese (e.g. no eligible reviewer).
    pub problem: Option<String>,
    pub opened_at: Option<Timestamp>,
    pub done_at: Option<Timestamp>,
}

/// All requirements of a version and what they mean for the item.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Evaluation {
    pub requirements: Vec<Requirement>,
}

impl Evaluation {
    pub fn requirement(&self, stage: &str) -> Option<&Requirement> {
        self.requirements.iter().find(|r| r.stage == stage)
    }

    /// Every applicable requirement is satisfied or overridden.
    pub fn all_done(&self) -> bool {
        self.requirements.iter().all(|r| r.status.is_done())
    }

    /// Requirements a block vote or veto stands on.
    pub fn vetoes(&self) -> impl Iterator<Item = &Requirement> {
        self.requirements.iter().filter(|r| r.status == Status::Blocked && !r.blocking_votes.is_empty())
    }

    /// A block vote or veto stands on some requirement.
    pub fn vetoed(&self) -> bool {
        self.vetoes().next().is_some()
    }

    pub fn changes_requested(&self) -> bool {
        self.requirements.iter().any(|r| r.changes_requested)
    }

    /// Requirements that nobody can fill: an error that blocks the item.
    pub fn unfillable(&self) -> impl Iterator<Item = &Requirement> {
        self.requirements.iter().filter(|r| r.status == Status::Blocked && r.blocking_votes.is_empty())
    }
}

impl Snapshot {
    fn applies(&self, stage: &Stage) -> bool {
        stage.when.holds(self.kind, self.attribute, &self.channels, &self.flags)
    }

    /// Whether a decision made by `user` on (`version`, `digest`) counts
    /// for the current version. The one definition of it: decisions bind to
    /// the version *and* its digest, so a version that restores an earlier
    /// text (same digest) needs fresh decisions; and duties follow people, so
    /// nothing decided by someone who has since created or edited any
    /// version of the item counts (finding 2 of issue 16: approve v1, edit
    /// to v2, restore v1's text as v3).
    pub fn counts(&self, user: UserId, version: i64, digest: &ContentDigest) -> bool {
        version == self.version && *digest == self.digest && !self.authors.contains(&user)
    }

    /// Votes that count on the current version (not lifted).
    pub fn current_votes(&self) -> impl DoubleEndedIterator<Item = &VoteRecord> {
        self.votes.iter().filter(|v| v.lifted_at.is_none() && self.counts(v.user, v.version, &v.digest))
    }

    /// Overrides that count on the current version.
    pub fn current_overrides(&self) -> impl Iterator<Item = &OverrideRecord> {
        self.overrides.iter().filter(|o| self.counts(o.user, o.version, &o.digest))
    }

    /// The stage this person already fills on the current version, if any.
    fn filled_stage(&self, user: UserId) -> Option<&str> {
        self.current_votes()
            .find(|v| v.user == user)
            .map(|v| v.stage.as_str())
            .or_else(|| self.current_overrides().find(|o| o.user == user).map(|o| o.stage.as_str()))
    }

    /// Whether `user` (with `roles`, in `unit`) may act on `stage` of the
    /// current version, by the separation-of-duty rules; the reason if not.
    pub fn eligibility(
        &self,
        policy: &WorkflowPolicy,
        stage: &Stage,
        user: UserId,
        roles: &BTreeSet<Role>,
        unit: Option<UnitId>,
    ) -> Result<(), Refusal> {
        if roles.iter().any(|r| r.is_administrator()) {
            return Err(Refusal("系统管理员、安全管理员和审计管理员不能参与审核（管理与审核职责分离）".into()));
        }
        if !stage.roles.iter().any(|r| roles.contains(r)) {
            let needed: Vec<&str> = stage.roles.iter().map(|r| r.label()).collect();
            return Err(Refusal(format!("您没有“{}”环节的审核权限（需要：{}）", stage.label, needed.join("、"))));
        }
        if self.authors.contains(&user) {
            return Err(Refusal("您起草或修改过该事项，不能审核自己经手的内容（起草与审核职责分离）".into()));
        }
        match (stage.unit, self.unit) {
            (UnitRule::Item, Some(item_unit)) if unit != Some(item_unit) => {
                return Err(Refusal(format!("“{}”环节须由事项所属单位的人员审核", stage.label)));
            }
            (UnitRule::Other, Some(item_unit)) if unit.is_none() || unit == Some(item_unit) => {
                return Err(Refusal(format!("“{}”环节须由其他单位的人员审核", stage.label)));
            }
            _ => {}
        }
        if let Some(other) = self.filled_stage(user).filter(|s| *s != stage.id) {
            let label = policy.stage(other).map_or(other, |s| s.label.as_str());
            return Err(Refusal(format!("同一版本中每人只能承担一个审核环节，您已承担“{label}”环节")));
        }
        Ok(())
    }

    /// Evaluates every requirement of the current version.
    pub fn evaluate(&self, policy: &WorkflowPolicy) -> Evaluation {
        let mut results: BTreeMap<&str, Requirement> = BTreeMap::new();
        // Policy order is not necessarily dependency order: resolve by
        // repeated passes (the policy was checked to have no cycles).
        let order = dependency_order(policy);
        for stage in order {
            let applicable = self.applies(stage);
            let predecessors: Vec<&Requirement> = policy
                .stages
                .iter()
                .filter(|s| stage.after.contains(&s.id) || (stage.signoff && !s.signoff && s.id != stage.id))
                .filter_map(|s| results.get(s.id.as_str()))
                .collect();
            let open = predecessors.iter().all(|p| p.status.is_done());
            let opened_at =
                if open { predecessors.iter().filter_map(|p| p.done_at).max().or(self.submitted_at) } else { None };
            let requirement = if applicable {
                self.evaluate_stage(policy, stage, open, opened_at)
            } else {
                Requirement {
                    stage: stage.id.clone(),
                    label: stage.label.clone(),
                    status: Status::NotApplicable,
                    open: false,
                    veto: stage.veto,
                    signoff: stage.signoff,
                    approved_by: Vec::new(),
                    blocking_votes: Vec::new(),
                    changes_requested: false,
                    eligible: Vec::new(),
                    problem: None,
                    opened_at: None,
                    done_at: opened_at.or(self.submitted_at),
                }
            };
            results.insert(stage.id.as_str(), requirement);
        }
        let mut requirements: Vec<Requirement> =
            policy.stages.iter().filter_map(|s| results.remove(s.id.as_str())).collect();
        self.check_distinct_assignment(policy, &mut requirements);
        Evaluation { requirements }
    }

    fn evaluate_stage(
        &self,
        policy: &WorkflowPolicy,
        stage: &Stage,
        open: bool,
        opened_at: Option<Timestamp>,
    ) -> Requirement {
        let here: Vec<&VoteRecord> = self.current_votes().filter(|v| v.stage == stage.id).collect();
        let approvals: Vec<&VoteRecord> = here.iter().copied().filter(|v| v.value == VoteValue::Approve).collect();
        // A veto stays on every later version until its author lifts it.
        let mut blocking: Vec<&VoteRecord> = here.iter().copied().filter(|v| v.value == VoteValue::Block).collect();
        if stage.veto {
            blocking.extend(self.votes.iter().filter(|v| {
                v.stage == stage.id
                    && v.value == VoteValue::Block
                    && v.lifted_at.is_none()
                    && !self.counts(v.user, v.version, &v.digest)
            }));
        }
        let overridden = self.current_overrides().find(|o| o.stage == stage.id);
        let eligible: Vec<UserId> = self
            .candidates
            .iter()
            .filter(|c| !approvals.iter().any(|a| a.user == c.user))
            .filter(|c| self.eligibility(policy, stage, c.user, &c.roles, c.unit).is_ok())
            .map(|c| c.user)
            .collect();
        let needed = stage.approvals as usize;
        let (status, problem, done_at) = if !blocking.is_empty() && (stage.veto || overridden.is_none()) {
            let why = if stage.veto { "保密审查否决，须由否决人本人撤销" } else { "审核人拦截" };
            (Status::Blocked, Some(why.to_owned()), None)
        } else if let Some(o) = overridden.filter(|_| !stage.veto) {
            (Status::Overridden, Some(format!("已越级通过：{}", o.reason)), Some(o.created_at))
        } else if approvals.len() >= needed {
            (Status::Satisfied, None, approvals.get(needed - 1).map(|v| v.created_at))
        } else if eligible.len() < needed - approvals.len() {
            let roles: Vec<&str> = stage.roles.iter().map(|r| r.label()).collect();
            let problem = format!(
                "“{}”环节没有符合条件的审核人（需要角色：{}，且不能是起草人或已承担其他环节的人员），请系统管理员配置人员",
                stage.label,
                roles.join("、")
            );
            (Status::Blocked, Some(problem), None)
        } else {
            (Status::Pending, None, None)
        };
        Requirement {
            stage: stage.id.clone(),
            label: stage.label.clone(),
            status,
            open,
            veto: stage.veto,
            signoff: stage.signoff,
            approved_by: approvals.iter().map(|v| v.user).collect(),
            blocking_votes: blocking.iter().map(|v| v.id.clone()).collect(),
            changes_requested: here.iter().any(|v| v.value == VoteValue::Changes),
            eligible,
            problem,
            opened_at,
            done_at,
        }
    }

    /// Each pending stage needs its own person: if the pending stages cannot
    /// all be given distinct eligible people (a bipartite matching), the
    /// stages left over are unfillable.
    fn check_distinct_assignment(&self, policy: &WorkflowPolicy, requirements: &mut [Requirement]) {
        let pending: Vec<usize> =
            (0..requirements.len()).filter(|&i| requirements[i].status == Status::Pending).collect();
        let mut slots: Vec<(usize, &[UserId])> = Vec::new();
        for &i in &pending {
            let stage = policy.stage(&requirements[i].stage).expect("evaluated from the policy");
            let missing = stage.approvals as usize - requirements[i].approved_by.len();
            for _ in 0..missing {
                slots.push((i, &requirements[i].eligible));
            }
        }
        let mut owner: BTreeMap<UserId, usize> = BTreeMap::new();
        let mut unmatched = BTreeSet::new();
        for slot in 0..slots.len() {
            let mut seen = BTreeSet::new();
            if !augment(slot, &slots, &mut owner, &mut seen) {
                unmatched.insert(slots[slot].0);
            }
        }
        for i in unmatched {
            let r = &mut requirements[i];
            r.status = Status::Blocked;
            r.problem = Some(format!(
                "“{}”环节找不到尚未承担其他环节的审核人（每人每个版本只能承担一个环节），请系统管理员增加人员",
                r.label
            ));
        }
    }
}

/// Kuhn's augmenting path for slot `slot`.
fn augment(
    slot: usize,
    slots: &[(usize, &[UserId])],
    owner: &mut BTreeMap<UserId, usize>,
    seen: &mut BTreeSet<UserId>,
) -> bool {
    for &user in slots[slot].1 {
        if !seen.insert(user) {
            continue;
        }
        let free = match owner.get(&user) {
            None => true,
            Some(&other) => augment(other, slots, owner, seen),
        };
        if free {
            owner.insert(user, slot);
            return true;
        }
    }
    false
}

/// Stages ordered so that every stage comes after its predecessors (explicit
/// `after`, and every non-sign-off stage before each sign-off stage).
fn dependency_order(policy: &WorkflowPolicy) -> Vec<&Stage> {
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    let mut order = Vec::with_capacity(policy.stages.len());
    while order.len() < policy.stages.len() {
        let before = order.len();
        for stage in &policy.stages {
            if placed.contains(stage.id.as_str()) {
                continue;
            }
            let ready = stage.after.iter().all(|a| placed.contains(a.as_str()))
                && (!stage.signoff
                    || policy.stages.iter().filter(|s| !s.signoff).all(|s| placed.contains(s.id.as_str())));
            if ready {
                placed.insert(stage.id.as_str());
                order.push(stage);
            }
        }
        assert!(order.len() > before, "the workflow policy was checked to have no ordering cycle");
    }
    order
}

/// The approval record of a version: who approved which stage of this
/// digest, overrides and waivers, with pseudonymous ids only. Its digest
/// (`approvals_digest`) is stored with the seal-phase review and goes into
/// the seal.
pub fn approval_record(snapshot: &Snapshot, evaluation: &Evaluation, waivers: &[(String, String, UserId)]) -> Value {
    let stages: Vec<Value> = evaluation
        .requirements
        .iter()
        .filter(|r| r.status != Status::NotApplicable)
        .map(|r| {
            let votes: Vec<Value> = snapshot
                .current_votes()
                .filter(|v| v.stage == r.stage && v.value == VoteValue::Approve)
                .map(|v| {
                    json!({
                        "reviewer": v.user.to_string(),
                        "at": v.created_at.to_string(),
                        "statement": v.signoff.as_ref().map(|s| json!({
                            "id": s["statement_id"], "version": s["statement_version"], "text_digest": s["text_digest"],
                        })),
                    })
                })
                .collect();
            let overridden = snapshot
                .current_overrides()
                .find(|o| o.stage == r.stage)
                .map(|o| json!({ "by": o.user.to_string(), "role": o.role.as_str(), "at": o.created_at.to_string() }));
            json!({ "stage": r.stage, "status": r.status, "approvals": votes, "override": overridden })
        })
        .collect();
    let waivers: Vec<Value> = waivers
        .iter()
        .map(|(finding, rule, by)| json!({ "finding": finding, "rule": rule, "by": by.to_string() }))
        .collect();
    json!({
        "format": "gov-disclosure/approvals@1",
        "content_digest": snapshot.digest.to_string(),
        "stages": stages,
        "waivers": waivers,
    })
}

/// SHA-256 over the RFC 8785 form of an approval record.
pub fn approvals_digest(record: &Value) -> ContentDigest {
    ContentDigest::of(&seal::canonical::to_vec(record).expect("approval records carry no floats"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn policy() -> WorkflowPolicy {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/workflow.toml");
        WorkflowPolicy::load(&path).unwrap()
    }

    fn user(n: u8) -> UserId {
        format!("0190a000-0000-7000-8000-0000000000{n:02x}").parse().unwrap()
    }

    fn candidate(n: u8, roles: &[Role]) -> Candidate {
        Candidate { user: user(n), roles: roles.iter().copied().collect(), unit: None }
    }

    fn digest(s: &str) -> ContentDigest {
        ContentDigest::of(s.as_bytes())
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            kind: Kind::Notice,
            attribute: Attribute::Public,
            channels: vec!["website".into()],
            flags: vec![],
            unit: None,
            version: 1,
            digest: digest("v1"),
            authors: [user(1)].into(),
            submitted_at: Some(Timestamp::parse("2026-09-30T02:00:00Z").unwrap()),
            votes: vec![],
            overrides: vec![],
            candidates: vec![
                candidate(1, &[Role::Drafter, Role::Reviewer]),
                candidate(2, &[Role::Reviewer]),
                candidate(3, &[Role::Reviewer]),
                candidate(4, &[Role::SecrecyReviewer]),
                candidate(5, &[Role::Approver]),
                candidate(6, &[Role::Admin, Role::Reviewer]),
            ],
        }
    }

    fn vote(s: &mut Snapshot, n: u8, stage: &str, value: VoteValue) {
        let id = format!("vote-{}", s.votes.len());
        s.votes.push(VoteRecord {
            id,
            version: s.version,
            digest: s.digest,
            stage: stage.into(),
            user: user(n),
            value,
            comment: None,
            signoff: None,
            created_at: Timestamp::parse("2026-10-09T02:00:00Z").unwrap(),
            lifted_at: None,
        });
    }

    fn status(e: &Evaluation, stage: &str) -> Status {
        e.requirement(stage).unwrap().status
    }

    #[test]
    fn default_order_first_then_second_and_secrecy_then_final() {
        let p = policy();
        let mut s = snapshot();
        let e = s.evaluate(&p);
        assert!(e.requirement("first").unwrap().open);
        assert!(!e.requirement("second").unwrap().open && !e.requirement("secrecy").unwrap().open);
        assert_eq!(status(&e, "cosign"), Status::NotApplicable);
        assert_eq!(status(&e, "principal"), Status::NotApplicable);
        vote(&mut s, 2, "first", VoteValue::Approve);
        let e = s.evaluate(&p);
        assert_eq!(status(&e, "first"), Status::Satisfied);
        assert!(e.requirement("second").unwrap().open && e.requirement("secrecy").unwrap().open);
        assert!(!e.requirement("final").unwrap().open);
        vote(&mut s, 3, "second", VoteValue::Approve);
        vote(&mut s, 4, "secrecy", VoteValue::Approve);
        let e = s.evaluate(&p);
        assert!(e.requirement("final").unwrap().open);
        assert!(!e.all_done());
        vote(&mut s, 5, "final", VoteValue::Approve);
        assert!(s.evaluate(&p).all_done());
    }

    #[test]
    fn separation_of_duties_refusals() {
        let p = policy();
        let mut s = snapshot();
        let first = p.stage("first").unwrap();
        let roles = |r: &[Role]| r.iter().copied().collect::<BTreeSet<_>>();
        // The drafter, even holding the reviewer role.
        assert!(s.eligibility(&p, first, user(1), &roles(&[Role::Reviewer]), None).unwrap_err().0.contains("起草"));
        // An admin.
        assert!(
            s.eligibility(&p, first, user(6), &roles(&[Role::Admin, Role::Reviewer]), None)
                .unwrap_err()
                .0
                .contains("管理员")
        );
        // Without the role.
        assert!(s.eligibility(&p, first, user(5), &roles(&[Role::Approver]), None).unwrap_err().0.contains("权限"));
        // A second stage on the same version.
        vote(&mut s, 2, "first", VoteValue::Approve);
        let second = p.stage("second").unwrap();
        assert!(
            s.eligibility(&p, second, user(2), &roles(&[Role::Reviewer]), None).unwrap_err().0.contains("一个审核环节")
        );
        assert!(s.eligibility(&p, second, user(3), &roles(&[Role::Reviewer]), None).is_ok());
    }

    #[test]
    fn a_new_digest_voids_votes_but_a_secrecy_veto_stays() {
        let p = policy();
        let mut s = snapshot();
        vote(&mut s, 2, "first", VoteValue::Approve);
        vote(&mut s, 4, "secrecy", VoteValue::Block);
        assert!(s.evaluate(&p).vetoed());
        s.version = 2;
        s.digest = digest("v2");
        let e = s.evaluate(&p);
        assert_eq!(status(&e, "first"), Status::Pending, "approvals do not carry over");
        assert_eq!(status(&e, "secrecy"), Status::Blocked, "the veto does");
        // Lifted by its author, it is gone.
        s.votes[1].lifted_at = Some(Timestamp::now());
        assert_eq!(status(&s.evaluate(&p), "secrecy"), Status::Pending);
    }

    #[test]
    fn a_restored_text_needs_fresh_decisions_and_an_editor_decides_nothing() {
        let p = policy();
        let mut s = snapshot();
        vote(&mut s, 2, "first", VoteValue::Approve);
        assert_eq!(status(&s.evaluate(&p), "first"), Status::Satisfied);
        // User 2 edits the item (v2), then restores v1's text as v3: the
        // digest is v1's again, but neither the version nor the person fits.
        s.authors.insert(user(2));
        s.version = 3;
        let e = s.evaluate(&p);
        assert_eq!(status(&e, "first"), Status::Pending);
        assert!(!e.requirement("first").unwrap().eligible.contains(&user(2)));
        // Even on the version it was cast on, an editor's vote does not count.
        s.version = 1;
        assert_eq!(status(&s.evaluate(&p), "first"), Status::Pending);
        assert_eq!(s.current_votes().count(), 0);
    }

    #[test]
    fn overrides_count_but_never_on_the_veto_stage() {
        let p = policy();
        let mut s = snapshot();
        vote(&mut s, 3, "second", VoteValue::Block);
        let o = |stage: &str| OverrideRecord {
            id: "o".into(),
            version: 1,
            digest: digest("v1"),
            stage: stage.into(),
            user: user(5),
            role: Role::Approver,
            reason: "事实已核实".into(),
            created_at: Timestamp::now(),
        };
        s.overrides.push(o("second"));
        assert_eq!(status(&s.evaluate(&p), "second"), Status::Overridden);
        vote(&mut s, 4, "secrecy", VoteValue::Block);
        s.overrides.push(o("secrecy"));
        assert_eq!(status(&s.evaluate(&p), "secrecy"), Status::Blocked);
    }

    #[test]
    fn no_eligible_reviewer_blocks_and_so_does_no_distinct_assignment() {
        let p = policy();
        let mut s = snapshot();
        s.candidates.retain(|c| !c.roles.contains(&Role::SecrecyReviewer));
        let e = s.evaluate(&p);
        assert_eq!(status(&e, "secrecy"), Status::Blocked);
        assert!(e.requirement("secrecy").unwrap().problem.as_ref().unwrap().contains("没有符合条件"));
        assert_eq!(e.unfillable().count(), 1);

        // One reviewer only for 初审 and 复审: each stage alone has someone,
        // but not two different people.
        let mut s = snapshot();
        s.candidates.retain(|c| c.user != user(3));
        let e = s.evaluate(&p);
        let unfillable: Vec<&str> = e.unfillable().map(|r| r.stage.as_str()).collect();
        assert_eq!(unfillable.len(), 1, "{unfillable:?}");
    }

    #[test]
    fn flags_and_channels_add_stages() {
        let p = policy();
        let mut s = snapshot();
        s.flags = vec!["major".into()];
        s.channels = vec!["wechat".into()];
        s.candidates.push(candidate(7, &[Role::Leader]));
        s.candidates.push(candidate(8, &[Role::Publicity]));
        let e = s.evaluate(&p);
        assert_eq!(status(&e, "principal"), Status::Pending);
        assert_eq!(status(&e, "publicity"), Status::Pending);
        assert!(!e.requirement("principal").unwrap().open);
    }
}
