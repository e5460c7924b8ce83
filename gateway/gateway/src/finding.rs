//! The plain types of a review, shared by the plugin host, the policy, the
//! pipeline, the store and the HTTP API: the item as the plugins see it,
//! findings, phases, verdicts, outcomes.
//!
//! A leaf module: it imports nothing from the rest of the crate, so every
//! layer that speaks about findings can depend on it without cycles. It
//! deliberately does no IO and runs nothing (that is `plugin_host` and
//! `review`).

use serde::{Deserialize, Serialize};

/// Rule id of the host's `plugin_failure` findings.
pub const PLUGIN_FAILURE_RULE: &str = "HOST-001";

// The contract's value types are defined once, in `plugin-api`, for the
// host, the SDK and the plugins alike.
pub use plugin_api::{Field, PLUGIN_FAILURE_KIND, SHARED_KINDS, Severity, Span};

/// One thing a plugin (or the host, for `plugin_failure`) found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Finding {
    /// The plugin that reported it.
    pub plugin: String,
    /// Rule id, e.g. `PII-001`; `HOST-001` for a plugin failure.
    pub rule_id: String,
    /// Finding kind (`id_number`, ..., `plugin_failure`).
    pub kind: String,
    /// Severity after the policy's overrides.
    pub severity: Severity,
    /// The field it is about.
    pub field: Field,
    /// Where in the field; `None` for the item or field as a whole.
    pub span: Option<Span>,
    /// For the drafter, in Chinese.
    pub message: String,
    /// Suggested replacement of the spanned text (e.g. a masked number).
    pub suggestion: Option<String>,
    /// For a finding in an attachment (`field` is `attachment`): where in
    /// the file, and an excerpt of the extracted text around it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<AttachmentSpot>,
}

/// Where in an attachment a finding is, with the extracted text to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttachmentSpot {
    /// The place in the file.
    pub locator: Locator,
    /// The extracted text around the finding (at most a few hundred characters).
    pub excerpt: String,
    /// The finding's bytes within `excerpt`, when it points at text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
}

/// Which part of a file a piece of extracted text comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// Running text.
    Body,
    /// Page header.
    Header,
    /// Page footer.
    Footer,
    /// Footnote or endnote.
    Footnote,
    /// A reviewer's comment or cell note.
    Comment,
    /// A tracked insertion.
    Insertion,
    /// A tracked deletion.
    Deletion,
    /// Text formatted not to be shown.
    HiddenText,
    /// A document property.
    Property,
    /// A spreadsheet or CSV cell.
    Cell,
    /// A link target.
    Link,
    /// Text read by OCR from an image or a scanned page (host only: the
    /// extractor never produces it); `paragraph` is the line, `detail` the
    /// box `left,top,width,height` in pixels.
    Scanned,
}

impl Part {
    /// The part's name for people.
    pub fn label(self) -> &'static str {
        match self {
            Part::Body => "正文",
            Part::Header => "页眉",
            Part::Footer => "页脚",
            Part::Footnote => "脚注",
            Part::Comment => "批注",
            Part::Insertion => "修订插入",
            Part::Deletion => "修订删除",
            Part::HiddenText => "隐藏文字",
            Part::Property => "文档属性",
            Part::Cell => "单元格",
            Part::Link => "链接",
            Part::Scanned => "文字识别",
        }
    }
}

/// Where extracted text or hidden content is in an attachment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Locator {
    /// The file, with the path inside archives (`材料.zip/公示.xlsx`).
    pub file: String,
    /// The part of the file.
    pub part: Part,
    /// 1-based page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// Worksheet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// A1 cell reference (or a row or column range for hidden rows/columns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell: Option<String>,
    /// 1-based paragraph or line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paragraph: Option<u32>,
    /// Author, property name, part file name or link address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl std::fmt::Display for Locator {
    /// `附件 公示.xlsx，工作表“公示名单”，单元格 C2` and the like.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.file.strip_prefix("正文.html") {
            Some("") => write!(f, "正文")?,
            _ => write!(f, "附件 {}", self.file)?,
        }
        if let Some(p) = self.page {
            write!(f, "，第 {p} 页")?;
        }
        if let Some(s) = &self.sheet {
            write!(f, "，工作表“{s}”")?;
        }
        match &self.cell {
            Some(c) if self.part == Part::Comment => write!(f, "，单元格 {c} 的批注")?,
            Some(c) => write!(f, "，单元格 {c}")?,
            None if !matches!(self.part, Part::Body | Part::Cell) => write!(f, "，{}", self.part.label())?,
            None => {}
        }
        match self.paragraph {
            Some(n) if self.part == Part::Scanned => write!(f, "，第 {n} 行")?,
            Some(n) => write!(f, "，第 {n} 段")?,
            None => {}
        }
        if let Some(d) = &self.detail
            && matches!(self.part, Part::Comment | Part::Deletion | Part::Insertion | Part::Property)
        {
            write!(f, "（{d}）")?;
        }
        Ok(())
    }
}

/// An attachment's bytes, as the review reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentFile {
    /// The file name the drafter gave.
    pub name: String,
    /// The declared media type.
    pub media_type: String,
    /// The content.
    pub bytes: Vec<u8>,
}

/// When in an item's life a review runs. A policy may limit a plugin to
/// some phases (e.g. the sign-off gate only before sealing); an offline
/// `gateway check` runs every plugin, as the whole gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// The drafter submits a version for review.
    Submit,
    /// The final gate before the seal, with the workflow's approvals and sign-off.
    Seal,
}

impl Phase {
    /// Every phase.
    pub const ALL: [Phase; 2] = [Phase::Submit, Phase::Seal];

    /// The name used in policies and stored reviews.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Submit => "submit",
            Phase::Seal => "seal",
        }
    }
}

/// The result of a review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Some finding has severity block (including any plugin failure).
    Blocked,
    /// Only warnings.
    Flagged,
    /// Nothing above info.
    Clean,
}

impl Verdict {
    /// The verdict the findings' severities imply.
    pub fn from_findings(findings: &[Finding]) -> Verdict {
        match findings.iter().map(|f| f.severity).max() {
            Some(Severity::Block) => Verdict::Blocked,
            Some(Severity::Warn) => Verdict::Flagged,
            _ => Verdict::Clean,
        }
    }

    /// `blocked`, `flagged` or `clean`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Blocked => "blocked",
            Verdict::Flagged => "flagged",
            Verdict::Clean => "clean",
        }
    }
}

/// How one plugin's run on one item went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Ran and returned valid findings (possibly none).
    Ok,
    /// Not applicable to this item per the policy (kind, attribute, channel).
    Skipped,
    /// Failed: the outcome carries a `plugin_failure` finding for it.
    Failed,
}

/// One plugin of the pipeline as it ran on an item: what exactly ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PluginRun {
    /// Plugin name.
    pub name: String,
    /// Plugin version (from its `describe`).
    pub version: String,
    /// SHA-256 of the component, hex.
    pub sha256: String,
    /// Ran, skipped or failed.
    pub status: RunStatus,
    /// Wall-clock time of the call, in microseconds.
    pub micros: u64,
}

/// Everything a review produced, to be stored with the item version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReviewOutcome {
    /// `sha256:` hash of the effective policy (file, resolved data files,
    /// plugin pins and configurations).
    pub policy_hash: String,
    /// The policy's name.
    pub policy_name: String,
    /// RFC 3339 time of the review (the `now` the plugins saw).
    pub reviewed_at: String,
    /// Each plugin of the policy, in order.
    pub plugins: Vec<PluginRun>,
    /// All findings, in plugin order.
    pub findings: Vec<Finding>,
    /// What the findings imply.
    pub verdict: Verdict,
}

/// The superior organ's document an item re-issues or forwards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuperiorRef {
    /// Its 发文字号.
    pub doc_number: Option<String>,
    /// Its issuing organ.
    pub issuer: Option<String>,
    /// Its 公开属性: `public`, `on_request` or `withheld`.
    pub attribute: String,
}

/// The "谁发布谁负责" statement accepted by the responsible person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signoff {
    /// Name of the responsible person.
    pub name: String,
    /// Their title.
    pub title: String,
    /// Whether they accepted the statement.
    pub statement_accepted: bool,
    /// Version of the statement text accepted.
    pub statement_version: Option<String>,
    /// RFC 3339 time of acceptance.
    pub accepted_at: Option<String>,
}

/// One attachment (the bytes are not passed to plugins).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// File name.
    pub name: String,
    /// Media type.
    pub media_type: String,
    /// `sha256:` digest.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
}

/// One review stage recorded by the workflow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// `first`, `second`, `secrecy`, `final` ...
    pub stage: String,
    /// Pseudonymous reviewer id.
    pub reviewer: String,
    /// The content digest the approval was bound to.
    pub digest: String,
}

/// Every field of one item version, as the plugins see it (the WIT `item`
/// without `now` and `prior-findings`, which the pipeline supplies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewItem {
    /// Item id.
    pub id: String,
    /// Version number.
    pub version: u32,
    /// `notice`, `policy`, `interpretation`, `reply` or `post`.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Body, exactly as written (LF line endings).
    pub body: String,
    /// 公开属性: `public`, `on_request` or `withheld`.
    pub attribute: String,
    /// Reason of a non-public attribute.
    pub attribute_reason: Option<String>,
    /// Legal basis of a non-public attribute.
    pub legal_basis: Option<String>,
    /// 发文字号.
    pub doc_number: Option<String>,
    /// Issuing organ.
    pub issuer: Option<String>,
    /// The superior document re-issued or forwarded.
    pub superior: Option<SuperiorRef>,
    /// Target channels: `website`, `wechat`, `weibo`, `applicant` ...
    pub channels: Vec<String>,
    /// Attachments.
    pub attachments: Vec<Attachment>,
    /// RFC 3339 time the information was formed.
    pub formed_at: Option<String>,
    /// Sign-off record.
    pub signoff: Option<Signoff>,
    /// Review stages recorded for this version.
    pub approvals: Vec<Approval>,
    /// Flags such as `major` or `cross-agency`.
    pub flags: Vec<String>,
    /// `sha256:` content digest of this version.
    pub content_digest: String,
}

impl ReviewItem {
    /// A 主动公开 notice for the website with this id and body and nothing
    /// else: the defaults of the evaluation contract.
    pub fn new(id: impl Into<String>, body: impl Into<String>) -> ReviewItem {
        ReviewItem {
            id: id.into(),
            version: 1,
            kind: "notice".into(),
            title: String::new(),
            body: body.into(),
            attribute: "public".into(),
            attribute_reason: None,
            legal_basis: None,
            doc_number: None,
            issuer: None,
            superior: None,
            channels: vec!["website".into()],
            attachments: Vec::new(),
            formed_at: None,
            signoff: None,
            approvals: Vec::new(),
            flags: Vec::new(),
            content_digest: String::new(),
        }
    }
}
