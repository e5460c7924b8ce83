//! Masked copies of attachments (issue 18): for an XLSX, CSV or DOCX with
//! personal-data findings that carry a suggested mask, the drafter gets, in
//! one step, a new version of the item whose attachment is the file with
//! those cells or runs rewritten.
//!
//! The rewriting is parsing an untrusted file, so it runs in the sandbox
//! (the extractor's `mask` export, a fresh instance under the extraction
//! limits); the gateway only picks the edits (the current version's own
//! review: each finding's exact text at its locator, and its suggestion),
//! stores the copy by digest and the new version in one transaction, and
//! records what changed in the audit log — the places and the masks, never
//! the personal data replaced (the hash-chained log cannot forget it). The new version is a draft like
//! any edit, reviewed again when it is submitted: the copy must pass.
//!
//! Fail closed: a review of another version or content (stale findings,
//! 409), an item not in an editable state (409), a file type that cannot be
//! rewritten, an edit the extractor cannot apply exactly, or any sandbox
//! failure (422) changes nothing.

use serde::{Deserialize, Serialize};

use super::Error;
use super::items::require_writable;
use crate::finding::{Field, Finding, Locator, Part, Severity};
use crate::model::{AttachmentRef, ItemRecord, StoredVersion};
use crate::plugin_host::{ExtractFailure, MaskEdit};
use crate::review::AttachmentFile;
use crate::state::AppState;
use crate::store::StoreError;

/// What the item page says for an attachment that has such findings but
/// cannot be rewritten (PDF, OFD, images, files inside archives ...).
pub const NOT_MASKABLE: &str = "此类文件无法自动打码，请替换文件后重新提交";

/// The audit action of a masked copy (its detail lists the changes).
pub const MASK_ACTION: &str = "item.mask_attachment";

/// Whether an attachment's type can be rewritten with masks: XLSX, CSV and
/// DOCX, by name or declared type (the extractor checks the content).
pub fn maskable(name: &str, media_type: &str) -> bool {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    let mt = media_type.to_ascii_lowercase();
    matches!(ext.as_str(), "xlsx" | "docx" | "csv")
        || mt.starts_with("text/csv")
        || mt == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        || mt == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
}

/// One change a masked copy made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaskChange {
    /// Where.
    pub locator: Locator,
    /// `工作表 公示名单 C2`, `单元格 B2`, `正文 第 3 段`.
    pub place: String,
    /// The text that was there (personal data: never in the audit log; a
    /// change read back from it takes this from the review it was made from).
    #[serde(default)]
    pub original: String,
    /// Its mask.
    pub replacement: String,
}

/// Where a change is, in Chinese, without the file name.
pub fn place(l: &Locator) -> String {
    match (&l.sheet, &l.cell, l.paragraph) {
        (Some(sheet), Some(cell), _) => format!("工作表 {sheet} {cell}"),
        (None, Some(cell), _) => format!("单元格 {cell}"),
        (_, None, Some(n)) => format!("{} 第 {n} 段", l.part.label()),
        _ => l.part.label().to_owned(),
    }
}

/// The edits a masked copy of `name` makes: the personal-data findings
/// (blocking or warning) of the review with a suggestion and an exact span
/// in that file (not a file inside an archive), each once.
pub fn edits_for(findings: &[Finding], name: &str) -> Vec<MaskEdit> {
    let mut edits: Vec<MaskEdit> = Vec::new();
    for f in findings {
        if f.field != Field::Attachment || !matches!(f.severity, Severity::Block | Severity::Warn) {
            continue;
        }
        let (Some(spot), Some(suggestion)) = (&f.attachment, &f.suggestion) else { continue };
        let Some(span) = spot.span else { continue };
        let Some(original) = spot.excerpt.get(span.start as usize..span.end as usize) else { continue };
        // Text read by OCR is in pixels, not in the file: the image must be replaced.
        if spot.locator.file != name
            || spot.locator.part == Part::Scanned
            || original.is_empty()
            || original == suggestion
        {
            continue;
        }
        let edit =
            MaskEdit { locator: spot.locator.clone(), original: original.to_owned(), replacement: suggestion.clone() };
        if !edits.contains(&edit) {
            edits.push(edit);
        }
    }
    edits
}

/// What to ask: mask `attachment` (its name) of `version`, whose content
/// digest the drafter saw, with the findings shown for it.
pub struct MaskRequest {
    pub version: i64,
    pub content_digest: seal::ContentDigest,
    pub attachment: String,
}

/// What a masked copy led to.
pub struct Masked {
    pub item: ItemRecord,
    pub version: StoredVersion,
    /// The new attachment.
    pub attachment: AttachmentRef,
    pub changes: Vec<MaskChange>,
}

/// Makes the masked copy of one attachment of `item` (which the principal
/// may read) and stores it as the item's new version.
pub async fn mask_attachment(
    state: &AppState,
    principal: &crate::auth::Principal,
    item: ItemRecord,
    request: MaskRequest,
) -> Result<Masked, Error> {
    let id = item.id;
    require_writable(principal, &item, "生成打码副本")?;
    check_editable(&item, request.version)?;
    let version = state.db.version(id, request.version).await?;
    if version.content_digest != request.content_digest {
        return Err(Error::Conflict("内容摘要与当前版本不符（页面已过期），请刷新后重试。".into()));
    }
    let Some((index, attached)) =
        version.content.attachments.iter().enumerate().find(|(_, a)| a.name == request.attachment)
    else {
        return Err(Error::NotFound("该附件"));
    };
    if !maskable(&attached.name, &attached.media_type) {
        return Err(Error::Unprocessable(format!("附件 {}：{NOT_MASKABLE}。", attached.name)));
    }
    // The findings must be this version's own, on this content: a review of
    // another version or content (the findings carried after an edit) is stale.
    let review =
        state.db.reviews(id, Some(version.version)).await?.pop().filter(|r| r.content_digest == version.content_digest);
    let Some(review) = review else {
        return Err(Error::Conflict(
            "当前版本尚未经过自动检查，审查结果已过期：请先提交审核，再根据新的检查结果生成打码副本。".into(),
        ));
    };
    let edits = edits_for(&review.outcome.findings, &attached.name);
    if edits.is_empty() {
        return Err(Error::Unprocessable(format!("附件 {} 没有可自动打码的个人信息问题。", attached.name)));
    }
    let (_, bytes) = state.db.blob_content(&attached.digest).await.map_err(|e| match e {
        StoreError::NotFound => Error::Internal(format!("附件 {} 的内容不在存储中", attached.name)),
        other => other.into(),
    })?;
    let file = AttachmentFile { name: attached.name.clone(), media_type: attached.media_type.clone(), bytes };
    let copy = match state.pipeline.mask(file, edits.clone()).await {
        None => return Err(Error::Unprocessable("审查策略没有配置附件提取器，无法自动打码。".into())),
        Some(Err(ExtractFailure::File { message, .. })) => {
            return Err(Error::Unprocessable(format!("无法生成附件 {} 的打码副本：{message}。", attached.name)));
        }
        Some(Err(failure @ ExtractFailure::Sandbox { .. })) => {
            return Err(Error::Unprocessable(format!("无法生成打码副本：{failure}。")));
        }
        Some(Ok(copy)) => copy,
    };
    let changes: Vec<MaskChange> = edits
        .into_iter()
        .map(|e| MaskChange {
            place: place(&e.locator),
            locator: e.locator,
            original: e.original,
            replacement: e.replacement,
        })
        .collect();
    let mut tx = state.db.begin().await?;
    let current = tx.item(id).await?;
    check_editable(&current, request.version)?;
    let digest = tx.put_blob(principal.user_id, &attached.media_type, &copy).await?;
    let masked = AttachmentRef {
        name: attached.name.clone(),
        digest,
        media_type: attached.media_type.clone(),
        size: i64::try_from(copy.len()).map_err(|_| Error::Internal("masked copy too large".into()))?,
    };
    let mut content = version.content.clone();
    content.attachments[index] = masked.clone();
    // The audit log keeps where and what mask, not the text replaced.
    let recorded: Vec<serde_json::Value> = changes
        .iter()
        .map(|c| serde_json::json!({"locator": c.locator, "place": c.place, "replacement": c.replacement}))
        .collect();
    let detail = serde_json::json!({
        "attachment": attached.name,
        "from_digest": attached.digest,
        "to_digest": digest,
        "review_id": review.id,
        "changes": recorded,
    });
    let change = tx.add_version(id, version.version, principal.user_id, &content, MASK_ACTION, detail).await?;
    tx.commit().await?;
    Ok(Masked { item: change.item, version: change.version, attachment: masked, changes })
}

/// The item may get a new version on top of `version` now.
fn check_editable(item: &ItemRecord, version: i64) -> Result<(), Error> {
    if version != item.current_version {
        return Err(Error::Stale { expected: version, current: item.current_version });
    }
    if !item.state.is_editable() {
        return Err(Error::Conflict(format!("事项当前状态为“{}”，不能修改附件。", item.state.label())));
    }
    Ok(())
}

/// The changes recorded for the masked copy that made `version`, if it was
/// made so: places and masks from the audit log's detail, the text each
/// replaced from the review the copy was made from (the previous version's).
pub async fn changes_of(state: &AppState, item: &ItemRecord, version: i64) -> Result<Vec<MaskChange>, Error> {
    let events = state.db.audit_events(Some(item.id), 0, 10_000).await?;
    let Some(event) = events.iter().rev().find(|e| e.action == MASK_ACTION && e.version == Some(version)) else {
        return Ok(Vec::new());
    };
    let mut changes: Vec<MaskChange> =
        serde_json::from_value(event.detail.get("changes").cloned().unwrap_or_default()).unwrap_or_default();
    let review_id = event.detail.get("review_id").and_then(|v| v.as_str()).unwrap_or_default();
    let attachment = event.detail.get("attachment").and_then(|v| v.as_str()).unwrap_or_default();
    let reviews = state.db.reviews(item.id, Some(version - 1)).await?;
    if let Some(review) = reviews.iter().find(|r| r.id == review_id) {
        let edits = edits_for(&review.outcome.findings, attachment);
        for c in &mut changes {
            if let Some(e) = edits.iter().find(|e| e.locator == c.locator && e.replacement == c.replacement) {
                c.original.clone_from(&e.original);
            }
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_in_chinese() {
        let mut l = Locator {
            file: "公示.xlsx".into(),
            part: Part::Cell,
            page: None,
            sheet: Some("Sheet1".into()),
            cell: Some("C2".into()),
            paragraph: None,
            detail: None,
        };
        assert_eq!(place(&l), "工作表 Sheet1 C2");
        l.sheet = None;
        assert_eq!(place(&l), "单元格 C2");
        l.cell = None;
        l.part = Part::Body;
        l.paragraph = Some(3);
        assert_eq!(place(&l), "正文 第 3 段");
    }

    #[test]
    fn only_word_documents_spreadsheets_and_csv_are_maskable() {
        assert!(maskable("公示.xlsx", ""));
        assert!(maskable("名单", "text/csv"));
        assert!(maskable("通知.DOCX", "application/octet-stream"));
        for name in ["公示.pdf", "公文.ofd", "名单.png", "材料.zip", "说明.txt", "旧表.xls"] {
            assert!(!maskable(name, "application/octet-stream"), "{name}");
        }
    }
}
