//! Masked copies of attachments (`service::attachments`): the drafter asks
//! for one attachment of the current version to be rewritten with the
//! masks its personal-data findings suggest; the answer is the new version
//! and what changed, per locator.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::InPath;
use super::{ApiError, AppJson, AppState, Auth};
use crate::auth::Scope;
use crate::finding::Locator;
use crate::model::ItemId;
use crate::service;
use crate::service::attachments::{MaskChange, MaskRequest};

/// Which attachment of which version (bound to its content digest: findings
/// of another version or content are stale, 409).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaskAttachmentRequest {
    /// The current version, as the drafter saw it.
    pub version: i64,
    /// Its content digest.
    #[schema(value_type = String)]
    pub content_digest: seal::ContentDigest,
    /// The attachment's name in that version.
    pub attachment: String,
}

/// One change the masked copy made.
#[derive(Serialize, ToSchema)]
pub struct MaskChangeView {
    pub locator: Locator,
    /// Where, in Chinese (`工作表 公示名单 C2`).
    pub place: String,
    pub original: String,
    pub replacement: String,
}

impl From<MaskChange> for MaskChangeView {
    fn from(c: MaskChange) -> Self {
        MaskChangeView { locator: c.locator, place: c.place, original: c.original, replacement: c.replacement }
    }
}

/// The new version with the masked copy.
#[derive(Serialize, ToSchema)]
pub struct MaskedCopyView {
    /// The new version (a draft: submit it for review).
    pub version: i64,
    #[schema(value_type = String)]
    pub content_digest: seal::ContentDigest,
    /// The attachment in the new version (same name and type).
    pub attachment: super::attachments::AttachmentRefView,
    pub changes: Vec<MaskChangeView>,
}

/// Replaces an XLSX, CSV or DOCX attachment of the current version with a
/// masked copy (the masks its personal-data findings suggest), as a new
/// version. 409 when the version or its findings are stale, 422 when the
/// file cannot be rewritten exactly.
#[utoipa::path(post, path = "/api/v1/items/{id}/attachments/mask", tag = "items",
    request_body = MaskAttachmentRequest, params(("id" = String, Path)),
    responses((status = 200, body = MaskedCopyView), (status = 403, body = super::Problem), (status = 404, body = super::Problem),
        (status = 409, body = super::Problem), (status = 422, body = super::Problem)))]
pub async fn mask_attachment(
    State(state): State<AppState>,
    auth: Auth,
    InPath(id): InPath<ItemId>,
    AppJson(req): AppJson<MaskAttachmentRequest>,
) -> Result<axum::Json<MaskedCopyView>, ApiError> {
    Ok(axum::Json(mask(&state, &auth, id, req).await?))
}

/// A masked copy as the API and the item page ask for it.
pub(crate) async fn mask(
    state: &AppState,
    auth: &Auth,
    id: ItemId,
    req: MaskAttachmentRequest,
) -> Result<MaskedCopyView, ApiError> {
    let item = super::items::readable_item(state, auth, id).await?;
    auth.require_scope(Scope::ItemsWrite)?;
    let request = MaskRequest { version: req.version, content_digest: req.content_digest, attachment: req.attachment };
    let masked = service::attachments::mask_attachment(state, &auth.0, item, request).await?;
    Ok(MaskedCopyView {
        version: masked.version.version,
        content_digest: masked.version.content_digest,
        attachment: masked.attachment.into(),
        changes: masked.changes.into_iter().map(Into::into).collect(),
    })
}
