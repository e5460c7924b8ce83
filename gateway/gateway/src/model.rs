//! The item model: what a drafter submits, as immutable versions, and the
//! canonical form a version's content digest is computed over.
//!
//! This module owns the rules for what a well-formed version is (closed
//! vocabularies, lengths, required fields at submit) and the canonical form.
//! It does no IO; storage lives in `store`, JSON shapes of requests in `http`.
//!
//! # The content digest
//! `content_digest = SHA-256(JCS(canonical))`, written `sha256:<hex>`, where
//! `canonical` is the JSON object built by [`VersionContent::canonical`]:
//! every field a reviewer approves, attachment digests included, and nothing
//! else (no ids, no author, no times of storage). JCS is RFC 8785. Text fields
//! are exactly what the drafter wrote, except that CRLF and lone CR line
//! endings become LF at intake ([`normalize_newlines`]). `ARCHITECTURE.md`
//! documents the form field by field; `tests/` recomputes it independently.

use std::fmt;
use std::str::FromStr;

use seal::ContentDigest;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;
use uuid::Uuid;

/// The version tag of the canonical form; part of every digest.
pub const CONTENT_FORMAT: &str = "gov-disclosure/content@1";

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered (UUIDv7) id.
            pub fn generate() -> $name {
                $name(Uuid::now_v7())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<$name, uuid::Error> {
                Uuid::parse_str(s).map($name)
            }
        }
    };
}

uuid_id!(
    /// The stable id of an item, across all its versions.
    ItemId
);
uuid_id!(
    /// A user account (a person, or a channel/automation account).
    UserId
);
uuid_id!(
    /// An organisational unit (机关 / 科室).
    UnitId
);
uuid_id!(
    /// An application for disclosure in the application register (`applications`).
    ApplicationId
);

/// A point in time, always UTC, stored and shown as RFC 3339 with
/// milliseconds (`2026-11-23T14:16:56.123Z`), which sorts as text.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(into = "String", try_from = "String")]
#[schema(value_type = String, format = DateTime)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    pub fn now() -> Timestamp {
        let now = OffsetDateTime::now_utc();
        // Truncate to milliseconds so that a round trip through text is exact.
        let ms = now.millisecond();
        Timestamp(now.replace_millisecond(ms).expect("millisecond in range"))
    }

    pub fn as_offset(&self) -> OffsetDateTime {
        self.0
    }

    pub fn from_offset(t: OffsetDateTime) -> Timestamp {
        let t = t.to_offset(time::UtcOffset::UTC);
        Timestamp(t.replace_millisecond(t.millisecond()).expect("millisecond in range"))
    }

    pub fn parse(s: &str) -> Result<Timestamp, time::error::Parse> {
        OffsetDateTime::parse(s, &Rfc3339).map(Timestamp::from_offset)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Timestamp {
    type Err = time::error::Parse;
    fn from_str(s: &str) -> Result<Timestamp, Self::Err> {
        Timestamp::parse(s)
    }
}

impl From<Timestamp> for String {
    fn from(t: Timestamp) -> String {
        t.to_string()
    }
}

impl TryFrom<String> for Timestamp {
    type Error = time::error::Parse;
    fn try_from(s: String) -> Result<Timestamp, Self::Error> {
        Timestamp::parse(&s)
    }
}

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal / $label:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant,)+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stable identifier used in the API, the database and digests.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }

            /// The name a person reads in the UI.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label,)+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<$name, UnknownValue> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue { vocabulary: stringify!($name), value: s.chars().take(64).collect() }),
                }
            }
        }
    };
}
pub(crate) use vocabulary;

/// A value outside one of the closed vocabularies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a known {vocabulary}")]
pub struct UnknownValue {
    pub vocabulary: &'static str,
    pub value: String,
}

vocabulary!(
    /// What kind of publication an item is.
    Kind {
        Notice = "notice" / "通知公告",
        Policy = "policy" / "政策文件",
        /// 政策解读: must name the policy it interprets.
        Interpretation = "interpretation" / "政策解读",
        Reply = "reply" / "依申请公开答复",
        Post = "post" / "新媒体稿件",
    }
);

vocabulary!(
    /// 公开属性, decided at the source.
    Attribute {
        Public = "public" / "主动公开",
        OnRequest = "on_request" / "依申请公开",
        Withheld = "withheld" / "不予公开",
    }
);

vocabulary!(
    /// Where an item is in its life. Transitions happen only through the API.
    ItemState {
        Draft = "draft" / "草稿",
        Checking = "checking" / "检查中",
        InReview = "in_review" / "审核中",
        ChangesRequested = "changes_requested" / "退回修改",
        Blocked = "blocked" / "已拦截",
        Approved = "approved" / "已批准",
        Sealed = "sealed" / "已盖章",
        Scheduled = "scheduled" / "待发布",
        Delivering = "delivering" / "发布中",
        Published = "published" / "已发布",
        Withdrawing = "withdrawing" / "撤稿中",
        Withdrawn = "withdrawn" / "已撤稿",
        Rejected = "rejected" / "已否决",
    }
);

impl ItemState {
    /// Whether a drafter may still create new versions in this state. A new
    /// version of an approved, sealed or published item is a correction: it
    /// voids the approvals and goes through the whole gate again, while a
    /// seal already issued stays valid until a new one supersedes it. A
    /// correction may start while the old seal is still being delivered
    /// (`scheduled`, `delivering`): the old publication keeps its place in
    /// each channel's order and the correction follows it.
    pub fn is_editable(self) -> bool {
        matches!(
            self,
            ItemState::Draft
                | ItemState::ChangesRequested
                | ItemState::Blocked
                | ItemState::InReview
                | ItemState::Approved
                | ItemState::Sealed
                | ItemState::Scheduled
                | ItemState::Delivering
                | ItemState::Published
        )
    }

    /// The states an item may move to from this one: the state machine of
    /// ARCHITECTURE.md as a table. The match has no fallback, so a new state
    /// does not compile until its place in the machine is written here.
    pub fn successors(self) -> &'static [ItemState] {
        use ItemState::*;
        match self {
            // Submitted: the plugins ran; the requirements decide.
            Draft => &[InReview, Blocked],
            // Named in the vocabulary but not entered: checking runs inside
            // the submission's transaction.
            Checking => &[],
            // Votes, overrides, waivers, rechecks; or the drafter edits.
            InReview => &[ChangesRequested, Blocked, Approved, Draft],
            ChangesRequested => &[InReview, Blocked, Approved, Draft],
            // …and a blocked item may be rejected for good.
            Blocked => &[InReview, ChangesRequested, Approved, Rejected, Draft],
            // Sealed by the office, or corrected (a new version).
            Approved => &[Sealed, Draft],
            // Delivery, withdrawal, or a correction.
            Sealed => &[Scheduled, Delivering, Published, Withdrawing, Draft],
            Scheduled => &[Delivering, Published, Withdrawing, Draft],
            Delivering => &[Published, Withdrawing, Draft],
            Published => &[Withdrawing, Draft],
            Withdrawing => &[Withdrawn],
            Withdrawn | Rejected => &[],
        }
    }

    /// Whether the item may be submitted for review from this state.
    pub fn is_submittable(self) -> bool {
        matches!(self, ItemState::Draft | ItemState::ChangesRequested | ItemState::Blocked)
    }
}

/// A move of the item state machine that [`ItemState::successors`] allows;
/// the only way to build one is [`Transition::new`], so a store write that
/// takes a `Transition` cannot make a move the table forbids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    from: ItemState,
    to: ItemState,
}

/// A move the state machine does not have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no transition from {from} to {to}")]
pub struct IllegalTransition {
    pub from: ItemState,
    pub to: ItemState,
}

impl Transition {
    /// `from == to` is allowed: a write that leaves the state as it is
    /// (e.g. a blocked item submitted again and blocked again).
    pub fn new(from: ItemState, to: ItemState) -> Result<Transition, IllegalTransition> {
        if from == to || from.successors().contains(&to) {
            Ok(Transition { from, to })
        } else {
            Err(IllegalTransition { from, to })
        }
    }

    pub fn from(self) -> ItemState {
        self.from
    }

    pub fn to(self) -> ItemState {
        self.to
    }
}

/// The superior organ's document an item re-issues or forwards, with the
/// attribute the superior organ decided for it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuperiorRef {
    pub doc_number: Option<String>,
    pub issuer: Option<String>,
    pub attribute: Attribute,
}

/// One attachment as a version refers to it: its name and the digest of
/// bytes stored earlier through the attachments endpoint.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, ToSchema)]
pub struct AttachmentRef {
    pub name: String,
    #[schema(value_type = String, example = "sha256:…")]
    pub digest: ContentDigest,
    pub media_type: String,
    pub size: i64,
}

/// Everything a reviewer approves in one version. Immutable once stored.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, ToSchema)]
pub struct VersionContent {
    pub kind: Kind,
    pub title: String,
    /// Plain text (not HTML), LF line endings.
    pub body: String,
    pub attribute: Attribute,
    /// Why the item is 依申请公开 or 不予公开.
    pub attribute_reason: Option<String>,
    /// The clause relied on, e.g. 《政府信息公开条例》第十四条.
    pub legal_basis: Option<String>,
    /// 发文字号, as written.
    pub doc_number: Option<String>,
    /// Issuing organ.
    pub issuer: Option<String>,
    pub superior: Option<SuperiorRef>,
    /// For a 政策解读: the policy item it interprets.
    pub interprets: Option<ItemId>,
    /// Target channels, sorted and without duplicates.
    pub channels: Vec<String>,
    pub attachments: Vec<AttachmentRef>,
    /// When the information was formed: `YYYY-MM-DD` or an RFC 3339 time.
    pub formed_at: Option<String>,
    /// Flags such as `major` (重大/敏感) or `cross_agency` (涉及其他机关), sorted.
    pub flags: Vec<String>,
}

impl VersionContent {
    /// The canonical JSON object the content digest is computed over.
    pub fn canonical(&self) -> Value {
        json!({
            "format": CONTENT_FORMAT,
            "kind": self.kind.as_str(),
            "title": self.title,
            "body": self.body,
            "attribute": self.attribute.as_str(),
            "attribute_reason": self.attribute_reason,
            "legal_basis": self.legal_basis,
            "doc_number": self.doc_number,
            "issuer": self.issuer,
            "superior": self.superior.as_ref().map(|s| json!({
                "doc_number": s.doc_number,
                "issuer": s.issuer,
                "attribute": s.attribute.as_str(),
            })),
            "interprets": self.interprets.map(|id| id.to_string()),
            "channels": self.channels,
            "attachments": self.attachments.iter().map(|a| json!({
                "name": a.name,
                "digest": a.digest.to_string(),
                "media_type": a.media_type,
                "size": a.size,
            })).collect::<Vec<_>>(),
            "formed_at": self.formed_at,
            "flags": self.flags,
        })
    }

    /// The canonical bytes (RFC 8785) of [`VersionContent::canonical`].
    pub fn canonical_bytes(&self) -> Vec<u8> {
        seal::canonical::to_vec(&self.canonical()).expect("the canonical form carries no floats")
    }

    /// SHA-256 over the canonical bytes.
    pub fn digest(&self) -> ContentDigest {
        ContentDigest::of(&self.canonical_bytes())
    }

    /// Checks what must hold before the version may go to review. Returns
    /// every problem at once, each in Chinese for the drafter.
    pub fn check_submittable(&self) -> Result<(), Vec<FieldProblem>> {
        let mut problems = Vec::new();
        if self.title.trim().is_empty() {
            problems.push(FieldProblem::new("title", "标题不能为空"));
        }
        if self.body.trim().is_empty() {
            problems.push(FieldProblem::new("body", "正文不能为空"));
        }
        if self.attribute != Attribute::Public && is_blank_reason(self.attribute_reason.as_deref()) {
            problems.push(FieldProblem::new(
                "attribute_reason",
                format!(
                    "公开属性为“{}”时必须写明理由（《政府信息公开条例》第十四条至第十六条），并将进入台账",
                    self.attribute.label()
                ),
            ));
        }
        if self.kind == Kind::Interpretation && self.interprets.is_none() {
            problems.push(FieldProblem::new("interprets", "政策解读必须关联其解读的政策文件"));
        }
        if self.channels.is_empty() && self.attribute == Attribute::Public {
            problems.push(FieldProblem::new("channels", "主动公开的信息至少要选择一个发布渠道"));
        }
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }
}

/// A reason that says nothing: missing, blank, or a placeholder like "无".
pub fn is_blank_reason(reason: Option<&str>) -> bool {
    match reason.map(str::trim) {
        None | Some("") => true,
        Some(r) => matches!(r, "无" | "暂无" | "-" | "—" | "/" | "N/A" | "n/a" | "null"),
    }
}

/// A reason a person gave for a decision (要求修改, 拦截, 越级通过, 豁免,
/// 否决, …): trimmed, saying something (not [blank](is_blank_reason)), at
/// most [`Reason::MAX_CHARS`]. Parsed once where it enters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    pub const MAX_CHARS: usize = 2000;

    /// The reason for `what` (e.g. 拦截), or the `reason` field's problem.
    pub fn parse(text: Option<&str>, what: &str) -> Result<Reason, FieldProblem> {
        match text.map(str::trim) {
            Some(r) if !is_blank_reason(Some(r)) && r.chars().count() <= Reason::MAX_CHARS => Ok(Reason(r.to_owned())),
            _ => Err(FieldProblem::new("reason", format!("{what}必须写明理由（不超过 {} 字）", Reason::MAX_CHARS))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// One problem with one field, for a 422 answer.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

impl FieldProblem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldProblem {
        FieldProblem { field: field.into(), message: message.into() }
    }
}

/// CRLF and lone CR become LF; nothing else changes.
pub fn normalize_newlines(s: &str) -> String {
    if !s.contains('\r') {
        return s.to_owned();
    }
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// Parses `formed_at`: a date `YYYY-MM-DD` stays as written; an RFC 3339
/// time is converted to UTC in [`Timestamp`] form.
pub fn normalize_formed_at(s: &str) -> Option<String> {
    let s = s.trim();
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    if time::Date::parse(s, &date_format).is_ok() {
        return Some(s.to_owned());
    }
    Timestamp::parse(s).ok().map(|t| t.to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A complete notice (also for other modules' tests).
    pub(crate) fn sample() -> VersionContent {
        VersionContent {
            kind: Kind::Notice,
            title: "关于开展培训的通知".into(),
            body: "各区：\n定于3月18日举办培训。".into(),
            attribute: Attribute::Public,
            attribute_reason: None,
            legal_basis: None,
            doc_number: Some("江政办发〔2024〕6号".into()),
            issuer: Some("江城市人民政府办公室".into()),
            superior: None,
            interprets: None,
            channels: vec!["website".into()],
            attachments: vec![],
            formed_at: Some("2024-12-26".into()),
            flags: vec![],
        }
    }

    #[test]
    fn digest_changes_with_one_character() {
        let a = sample();
        let mut b = sample();
        b.body.push('。');
        assert_ne!(a.digest(), b.digest());
        assert_eq!(a.digest(), sample().digest());
    }

    #[test]
    fn canonical_form_is_sorted_jcs() {
        let bytes = String::from_utf8(sample().canonical_bytes()).unwrap();
        assert!(
            bytes.starts_with(r#"{"attachments":[],"attribute":"public","attribute_reason":null,"body":"各区：\n"#)
        );
        assert!(bytes.contains(r#""format":"gov-disclosure/content@1""#));
    }

    #[test]
    fn newlines_are_normalised_and_nothing_else() {
        assert_eq!(normalize_newlines("a\r\nb\rc\n  d\u{3000}"), "a\nb\nc\n  d\u{3000}");
    }

    #[test]
    fn withheld_without_reason_is_not_submittable() {
        let mut v = sample();
        v.attribute = Attribute::Withheld;
        v.channels.clear();
        v.attribute_reason = Some(" 无 ".into());
        let problems = v.check_submittable().unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "attribute_reason");
    }

    #[test]
    fn formed_at_accepts_dates_and_times() {
        assert_eq!(normalize_formed_at("2024-12-26").as_deref(), Some("2024-12-26"));
        assert_eq!(normalize_formed_at("2024-12-26T10:00:00+08:00").as_deref(), Some("2024-12-26T02:00:00.000Z"));
        assert_eq!(normalize_formed_at("26/12/2024"), None);
    }
}

/// The mutable head of an item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemRecord {
    pub id: ItemId,
    pub state: ItemState,
    pub current_version: i64,
    pub unit_id: Option<UnitId>,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The withdrawn item this one corrects and republishes (更正).
    pub corrects: Option<ItemId>,
}

/// One stored version, exactly as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredVersion {
    pub item_id: ItemId,
    pub version: i64,
    pub content: VersionContent,
    pub content_digest: ContentDigest,
    pub created_by: UserId,
    pub created_at: Timestamp,
}
