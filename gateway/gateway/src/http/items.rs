//! Items: create a draft, edit (a new immutable version, with optimistic
//! concurrency), submit, read, list with filters and cursor, and diff two
//! versions.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::extract::InPath;
use super::{ApiError, AppJson, AppQuery, AppState, Auth};
use crate::auth::{Role, Scope};
use crate::config::is_slug;
use crate::model::{
    AttachmentRef, Attribute, FieldProblem, ItemId, ItemState, Kind, SuperiorRef, Timestamp, UnitId, UserId,
    VersionContent, normalize_formed_at, normalize_newlines,
};
use crate::model::{ItemRecord, StoredVersion};
use crate::service;
use crate::store::{ItemFilter, ListCursor, StoreError};
use crate::workflow::StoredReview;

/// What a drafter writes. Creating takes it as is; editing also needs
/// `base_version`, the version the edit was made on.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    /// For edits: the current version number this edit is based on.
    pub base_version: Option<i64>,
    pub kind: Kind,
    pub title: String,
    /// Plain text; CRLF line endings become LF.
    pub body: String,
    pub attribute: Attribute,
    #[serde(default)]
    pub attribute_reason: Option<String>,
    #[serde(default)]
    pub legal_basis: Option<String>,
    #[serde(default)]
    pub doc_number: Option<String>,
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub superior: Option<SuperiorRef>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub interprets: Option<ItemId>,
    #[serde(default)]
    pub channels: Vec<String>,
    #[serde(default)]
    pub attachments: Vec<AttachmentInput>,
    /// `YYYY-MM-DD` or RFC 3339.
    #[serde(default)]
    pub formed_at: Option<String>,
    #[serde(default)]
    pub flags: Vec<String>,
    /// For a new item only: the withdrawn item of the caller's unit that
    /// this one corrects and republishes (更正). The correction goes through
    /// the whole gate again; the withdrawn item stays withdrawn.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub corrects: Option<ItemId>,
}

/// An attachment uploaded earlier, by digest, with the name to show.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentInput {
    pub name: String,
    #[schema(value_type = String)]
    pub digest: seal::ContentDigest,
}

/// A version with its digest.
#[derive(Serialize, ToSchema)]
pub struct VersionView {
    pub version: i64,
    #[schema(value_type = String)]
    pub content_digest: seal::ContentDigest,
    #[schema(value_type = String)]
    pub created_by: UserId,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    #[serde(flatten)]
    pub content: VersionContent,
}

/// A version's header, for the list of versions.
#[derive(Serialize, ToSchema)]
pub struct VersionSummary {
    pub version: i64,
    #[schema(value_type = String)]
    pub content_digest: seal::ContentDigest,
    #[schema(value_type = String)]
    pub created_by: UserId,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
}

/// An item with its current version and the headers of all versions.
#[derive(Serialize, ToSchema)]
pub struct ItemView {
    #[schema(value_type = String)]
    pub id: ItemId,
    pub state: ItemState,
    /// The state in Chinese, for display.
    pub state_label: &'static str,
    pub current_version: i64,
    #[schema(value_type = Option<String>)]
    pub unit_id: Option<UnitId>,
    #[schema(value_type = String)]
    pub created_by: UserId,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    #[schema(value_type = String)]
    pub updated_at: Timestamp,
    pub current: VersionView,
    /// The withdrawn item this one corrects and republishes (更正).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub corrects: Option<ItemId>,
    /// Every version, oldest first (omitted in lists).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<VersionSummary>,
    /// The latest review of the current version, if it was submitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewView>,
    /// The version the caller had opened before, when older than the current
    /// one: diff `from` it to see what changed since their last look.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previously_seen_version: Option<i64>,
}

/// One run of the review pipeline over a version: which policy and plugins
/// (name, version, SHA-256) ran, what they found, and the verdict.
#[derive(Serialize, ToSchema)]
pub struct ReviewView {
    pub id: String,
    pub version: i64,
    #[schema(value_type = String)]
    pub content_digest: seal::ContentDigest,
    /// `submit` or `seal`.
    pub phase: String,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    /// Policy hash, plugins, findings and verdict.
    pub outcome: crate::review::ReviewOutcome,
}

impl From<StoredReview> for ReviewView {
    fn from(r: StoredReview) -> ReviewView {
        ReviewView {
            id: r.id,
            version: r.version,
            content_digest: r.content_digest,
            phase: r.phase,
            created_at: r.created_at,
            outcome: r.outcome,
        }
    }
}

fn version_view(v: StoredVersion) -> VersionView {
    VersionView {
        version: v.version,
        content_digest: v.content_digest,
        created_by: v.created_by,
        created_at: v.created_at,
        content: v.content,
    }
}

pub(super) fn item_view(item: ItemRecord, current: StoredVersion, versions: Vec<VersionSummary>) -> ItemView {
    ItemView {
        id: item.id,
        state: item.state,
        state_label: item.state.label(),
        current_version: item.current_version,
        unit_id: item.unit_id,
        created_by: item.created_by,
        created_at: item.created_at,
        updated_at: item.updated_at,
        corrects: item.corrects,
        current: version_view(current),
        versions,
        review: None,
        previously_seen_version: None,
    }
}

pub(super) async fn readable_item(state: &AppState, auth: &Auth, id: ItemId) -> Result<ItemRecord, ApiError> {
    auth.require_scope(Scope::ItemsRead)?;
    Ok(service::items::readable(state, &auth.0, id).await?)
}

/// An item the caller may read and write new versions of; `action` names
/// what they tried, for the refusal.
async fn writable_item(state: &AppState, auth: &Auth, id: ItemId, action: &str) -> Result<ItemRecord, ApiError> {
    let item = readable_item(state, auth, id).await?;
    auth.require_scope(Scope::ItemsWrite)?;
    service::items::require_writable(&auth.0, &item, action)?;
    Ok(item)
}

pub(super) fn not_found(what: &'static str) -> impl Fn(StoreError) -> ApiError {
    move |e| match e {
        StoreError::NotFound => ApiError::NotFound(what),
        other => other.into(),
    }
}

const MAX_TITLE_CHARS: usize = 500;
const MAX_SHORT_FIELD_CHARS: usize = 200;
const MAX_REASON_CHARS: usize = 4000;
const MAX_ATTACHMENTS: usize = 100;

/// Turns a request into version content: closed vocabularies are already
/// checked by serde; here lengths, channels, flags, attachments and links.
async fn content_from_input(state: &AppState, input: ItemInput) -> Result<VersionContent, ApiError> {
    let mut problems = Vec::new();
    // The title names a draft in every list and the body is what it is:
    // a version without either is refused, so that nothing untitled is
    // stored (the form marks both required; a browser without script
    // posts them empty all the same).
    if input.title.trim().is_empty() {
        problems.push(FieldProblem::new("title", "请填写标题"));
    }
    if input.body.trim().is_empty() {
        problems.push(FieldProblem::new("body", "请填写正文"));
    }
    let mut text = |field: &str, value: String, max_chars: usize| -> String {
        if value.contains('\0') {
            problems.push(FieldProblem::new(field, "内容包含不可见的空字符（U+0000），请删除后重试"));
        } else if value.chars().count() > max_chars {
            problems.push(FieldProblem::new(field, format!("内容过长，最多 {max_chars} 个字符")));
        }
        normalize_newlines(&value)
    };
    let title = text("title", input.title, MAX_TITLE_CHARS);
    let body = text("body", input.body, usize::MAX);
    let attribute_reason = input.attribute_reason.map(|v| text("attribute_reason", v, MAX_REASON_CHARS));
    let legal_basis = input.legal_basis.map(|v| text("legal_basis", v, MAX_REASON_CHARS));
    let doc_number = input.doc_number.map(|v| text("doc_number", v, MAX_SHORT_FIELD_CHARS));
    let issuer = input.issuer.map(|v| text("issuer", v, MAX_SHORT_FIELD_CHARS));
    let superior = input.superior.map(|s| SuperiorRef {
        doc_number: s.doc_number.map(|v| text("superior.doc_number", v, MAX_SHORT_FIELD_CHARS)),
        issuer: s.issuer.map(|v| text("superior.issuer", v, MAX_SHORT_FIELD_CHARS)),
        attribute: s.attribute,
    });

    let mut channels = BTreeSet::new();
    for channel in input.channels {
        if state.settings.channels.contains(&channel) {
            channels.insert(channel);
        } else {
            problems.push(FieldProblem::new(
                "channels",
                format!(
                    "未知的发布渠道“{}”，可选：{}",
                    channel.chars().take(32).collect::<String>(),
                    state.settings.channels.join("、")
                ),
            ));
        }
    }
    let mut flags = BTreeSet::new();
    for flag in input.flags {
        if is_slug(&flag) {
            flags.insert(flag);
        } else {
            problems.push(FieldProblem::new("flags", "标记只能由小写英文字母、数字、-、_ 组成"));
        }
    }
    let formed_at = match input.formed_at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => match normalize_formed_at(raw) {
            Some(v) => Some(v),
            None => {
                problems.push(FieldProblem::new("formed_at", "信息形成日期格式应为 YYYY-MM-DD 或 RFC 3339 时间"));
                None
            }
        },
    };
    if input.attachments.len() > MAX_ATTACHMENTS {
        problems.push(FieldProblem::new("attachments", format!("附件最多 {MAX_ATTACHMENTS} 个")));
    }
    let mut attachments = Vec::with_capacity(input.attachments.len());
    for a in input.attachments.into_iter().take(MAX_ATTACHMENTS) {
        let name = a.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 255 || name.contains(['/', '\\', '\0']) {
            problems.push(FieldProblem::new("attachments", "附件名称不能为空、不能含 / 或 \\，最长 255 个字符"));
            continue;
        }
        match state.db.blob(&a.digest).await {
            Ok(blob) => attachments.push(AttachmentRef {
                name,
                digest: blob.digest,
                media_type: blob.media_type,
                size: blob.size,
            }),
            Err(StoreError::NotFound) => {
                problems.push(FieldProblem::new("attachments", format!("附件“{name}”尚未上传（找不到其摘要）")))
            }
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(target) = input.interprets {
        match state.db.item(target).await {
            Ok(_) => {}
            Err(StoreError::NotFound) => problems.push(FieldProblem::new("interprets", "所解读的政策文件不存在")),
            Err(e) => return Err(e.into()),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    Ok(VersionContent {
        kind: input.kind,
        title,
        body,
        attribute: input.attribute,
        attribute_reason,
        legal_basis,
        doc_number,
        issuer,
        superior,
        interprets: input.interprets,
        channels: channels.into_iter().collect(),
        attachments,
        formed_at,
        flags: flags.into_iter().collect(),
    })
}

/// Creates a draft item with its first version.
#[utoipa::path(post, path = "/api/v1/items", tag = "items", request_body = ItemInput,
    responses((status = 201, body = ItemView), (status = 400, body = super::Problem), (status = 401, body = super::Problem),
        (status = 403, body = super::Problem), (status = 413, body = super::Problem), (status = 422, body = super::Problem)))]
pub async fn create_item(
    State(state): State<AppState>,
    auth: Auth,
    AppJson(input): AppJson<ItemInput>,
) -> Result<(StatusCode, axum::Json<ItemView>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(create(&state, &auth, input).await?)))
}

/// A new item as the API and the web form create it.
pub(super) async fn create(state: &AppState, auth: &Auth, input: ItemInput) -> Result<ItemView, ApiError> {
    let principal = auth.require_any(&[Role::Drafter])?;
    auth.require_scope(Scope::ItemsWrite)?;
    if input.base_version.is_some() {
        return Err(ApiError::invalid("base_version", "新建事项时不应提供 base_version"));
    }
    let corrects = input.corrects;
    if let Some(original) = corrects {
        let original = writable_item(state, auth, original, "更正").await?;
        if original.state != ItemState::Withdrawn {
            return Err(ApiError::invalid("corrects", "只有已撤稿的事项可以更正后重新发布；已发布的事项请直接修改"));
        }
    }
    let content = content_from_input(state, input).await?;
    let created = state.db.create_item(principal.user_id, principal.unit_id, &content, corrects).await?;
    let summary = summary(&created.version);
    Ok(item_view(created.item, created.version, vec![summary]))
}

pub(super) fn summary(v: &StoredVersion) -> VersionSummary {
    VersionSummary {
        version: v.version,
        content_digest: v.content_digest,
        created_by: v.created_by,
        created_at: v.created_at,
    }
}

/// Edits an item: stores a new version on top of `base_version`. A stale
/// `base_version` gets 409; an item under review goes back to draft.
#[utoipa::path(put, path = "/api/v1/items/{id}", tag = "items", request_body = ItemInput, params(("id" = String, Path)),
    responses((status = 200, body = ItemView), (status = 404, body = super::Problem), (status = 409, body = super::Problem), (status = 422, body = super::Problem)))]
pub async fn edit_item(
    State(state): State<AppState>,
    auth: Auth,
    InPath(id): InPath<ItemId>,
    AppJson(input): AppJson<ItemInput>,
) -> Result<axum::Json<ItemView>, ApiError> {
    Ok(axum::Json(edit(&state, &auth, id, input).await?))
}

/// A new version as the API and the web form store it.
pub(super) async fn edit(state: &AppState, auth: &Auth, id: ItemId, input: ItemInput) -> Result<ItemView, ApiError> {
    let item = writable_item(state, auth, id, "修改").await?;
    if input.corrects.is_some() && input.corrects != item.corrects {
        return Err(ApiError::invalid("corrects", "所更正的事项只能在新建时指定，修改时不能更改"));
    }
    let base_version = input
        .base_version
        .ok_or_else(|| ApiError::invalid("base_version", "修改时必须提供所基于的版本号 base_version"))?;
    let content = content_from_input(state, input).await?;
    let change = state.db.add_version(id, base_version, auth.0.user_id, &content).await?;
    let versions = state.db.versions(id).await?.iter().map(summary).collect();
    Ok(item_view(change.item, change.version, versions))
}

/// One item with its current version and all version headers.
#[utoipa::path(get, path = "/api/v1/items/{id}", tag = "items", params(("id" = String, Path)),
    responses((status = 200, body = ItemView), (status = 404, body = super::Problem)))]
pub async fn get_item(
    State(state): State<AppState>,
    auth: Auth,
    InPath(id): InPath<ItemId>,
) -> Result<axum::Json<ItemView>, ApiError> {
    Ok(axum::Json(item_of(&state, &auth, id).await?))
}

/// An item as the API and the web pages show it; records that the caller
/// has seen its current version.
pub(super) async fn item_of(state: &AppState, auth: &Auth, id: ItemId) -> Result<ItemView, ApiError> {
    let item = readable_item(state, auth, id).await?;
    let mut versions = state.db.versions(id).await?;
    let summaries = versions.iter().map(summary).collect();
    let current = versions
        .drain(..)
        .find(|v| v.version == item.current_version)
        .ok_or_else(|| ApiError::Internal(format!("item {id} has no version {}", item.current_version)))?;
    let review = state.db.reviews(id, Some(item.current_version)).await?.pop().map(ReviewView::from);
    let seen = state.db.mark_seen(id, auth.0.user_id, item.current_version).await?;
    let previously_seen_version = seen.filter(|v| *v < item.current_version);
    Ok(ItemView { review, previously_seen_version, ..item_view(item, current, summaries) })
}

/// One version in full.
#[utoipa::path(get, path = "/api/v1/items/{id}/versions/{version}", tag = "items",
    params(("id" = String, Path), ("version" = i64, Path)),
    responses((status = 200, body = VersionView), (status = 404, body = super::Problem)))]
pub async fn get_version(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, version)): Path<(String, String)>,
) -> Result<axum::Json<VersionView>, ApiError> {
    let id = parse_item_id(&id)?;
    readable_item(&state, &auth, id).await?;
    let version: i64 = version.parse().map_err(|_| ApiError::NotFound("该版本"))?;
    Ok(axum::Json(version_view(state.db.version(id, version).await.map_err(not_found("该版本"))?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// The version being submitted; must be the current one.
    pub version: i64,
}

/// Submits the current version for review. 依申请公开 and 不予公开 items
/// need a reason; every problem is listed at once.
#[utoipa::path(post, path = "/api/v1/items/{id}/submit", tag = "items", request_body = SubmitRequest, params(("id" = String, Path)),
    responses((status = 200, body = ItemView), (status = 404, body = super::Problem), (status = 409, body = super::Problem), (status = 422, body = super::Problem)))]
pub async fn submit_item(
    State(state): State<AppState>,
    auth: Auth,
    InPath(id): InPath<ItemId>,
    AppJson(req): AppJson<SubmitRequest>,
) -> Result<axum::Json<ItemView>, ApiError> {
    Ok(axum::Json(submit(&state, &auth, id, req.version).await?))
}

/// A submission as the API and the web form take it.
pub(super) async fn submit(state: &AppState, auth: &Auth, id: ItemId, version: i64) -> Result<ItemView, ApiError> {
    let item = readable_item(state, auth, id).await?;
    auth.require_scope(Scope::ItemsWrite)?;
    let submitted = service::items::submit(state, &auth.0, item, version).await?;
    let versions = state.db.versions(id).await?.iter().map(summary).collect();
    Ok(ItemView { review: Some(submitted.review.into()), ..item_view(submitted.item, submitted.version, versions) })
}

/// Every review run of an item, oldest first.
#[utoipa::path(get, path = "/api/v1/items/{id}/reviews", tag = "items", params(("id" = String, Path)),
    responses((status = 200, body = Vec<ReviewView>), (status = 404, body = super::Problem)))]
pub async fn list_reviews(
    State(state): State<AppState>,
    auth: Auth,
    InPath(id): InPath<ItemId>,
) -> Result<axum::Json<Vec<ReviewView>>, ApiError> {
    readable_item(&state, &auth, id).await?;
    Ok(axum::Json(state.db.reviews(id, None).await?.into_iter().map(ReviewView::from).collect()))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub state: Option<ItemState>,
    /// Issuing organ, exact.
    pub organ: Option<String>,
    pub attribute: Option<Attribute>,
    pub kind: Option<Kind>,
    /// A substring of the title or body.
    pub text: Option<String>,
    /// Only items created by this user (`me` for the caller).
    pub created_by: Option<String>,
    /// The `next` value of the previous page.
    pub cursor: Option<String>,
    /// Page size, default 50.
    pub limit: Option<u32>,
}

/// A page of items, newest first.
#[derive(Serialize, ToSchema)]
pub struct ItemList {
    pub items: Vec<ItemView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next: Option<String>,
}

/// Lists items with filters, newest first, by cursor.
#[utoipa::path(get, path = "/api/v1/items", tag = "items", params(ListQuery),
    responses((status = 200, body = ItemList), (status = 400, body = super::Problem)))]
pub async fn list_items(
    State(state): State<AppState>,
    auth: Auth,
    AppQuery(query): AppQuery<ListQuery>,
) -> Result<axum::Json<ItemList>, ApiError> {
    Ok(axum::Json(list(&state, &auth, query).await?))
}

/// A page of the item list, as the API and the web list show it.
pub(super) async fn list(state: &AppState, auth: &Auth, query: ListQuery) -> Result<ItemList, ApiError> {
    auth.require_scope(Scope::ItemsRead)?;
    let limit = query.limit.unwrap_or(50);
    let max = state.settings.limits.max_page_size;
    if limit == 0 || limit > max {
        return Err(ApiError::BadRequest(format!("limit 应在 1 到 {max} 之间")));
    }
    let cursor = match query.cursor.as_deref() {
        Some(c) => Some(
            ListCursor::decode(c)
                .ok_or_else(|| ApiError::BadRequest("cursor 无效，请使用上一页返回的 next 值".into()))?,
        ),
        None => None,
    };
    let created_by = match query.created_by.as_deref() {
        None => None,
        Some("me") => Some(auth.0.user_id),
        Some(other) => Some(other.parse().map_err(|_| ApiError::BadRequest("created_by 应为用户 id 或 me".into()))?),
    };
    let filter = ItemFilter {
        state: query.state,
        issuer: query.organ,
        attribute: query.attribute,
        kind: query.kind,
        text: query.text.filter(|t| !t.is_empty()),
        created_by,
    };
    // Read permission is per item; keep fetching until this page is full,
    // so that a drafter's page is not short because of others' items.
    let mut items = Vec::new();
    let mut position = cursor;
    loop {
        let page = state.db.list_items(&filter, position.as_ref(), limit).await?;
        let exhausted = page.next.is_none();
        let mut rows = page.items.into_iter().peekable();
        while let Some((item, version)) = rows.next() {
            position = Some(ListCursor::for_item(item.id));
            if service::items::may_read(&auth.0, &item) {
                items.push(item_view(item, version, Vec::new()));
                if items.len() == limit as usize {
                    let more = rows.peek().is_some() || !exhausted;
                    let next = position.filter(|_| more).map(|c| c.encode());
                    return Ok(ItemList { items, next });
                }
            }
        }
        if exhausted {
            return Ok(ItemList { items, next: None });
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    pub from: i64,
    pub to: i64,
}

/// The difference between two versions.
#[derive(Serialize, ToSchema)]
pub struct DiffView {
    pub from: i64,
    pub to: i64,
    #[schema(value_type = String)]
    pub from_digest: seal::ContentDigest,
    #[schema(value_type = String)]
    pub to_digest: seal::ContentDigest,
    /// Fields other than title and body whose values differ.
    pub fields: Vec<FieldChange>,
    pub title: TextDiff,
    pub body: TextDiff,
}

#[derive(Serialize, ToSchema)]
pub struct FieldChange {
    pub field: String,
    #[schema(schema_with = header_value)]
    pub before: Value,
    #[schema(schema_with = header_value)]
    pub after: Value,
}

/// The schema of a header field's value in the canonical content: a text
/// (`kind`, `attribute`, reasons, 发文字号, …), a list of texts
/// (`channels`, `flags`), the attachments, the superior document, or null.
fn header_value() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::Ref;
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
    let text = || ObjectBuilder::new().schema_type(Type::String);
    Schema::OneOf(
        OneOfBuilder::new()
            .item(text())
            .item(ArrayBuilder::new().items(text()))
            .item(ArrayBuilder::new().items(Ref::from_schema_name("AttachmentRef")))
            .item(Ref::from_schema_name("SuperiorRef"))
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .description(Some("The field's value in the canonical content (docs/seal.md §2)."))
            .build(),
    )
}

/// A text difference: a unified diff by line, and the changed lines with
/// the changed characters marked (Chinese has no word spaces, so inline
/// changes are by character).
#[derive(Serialize, ToSchema)]
pub struct TextDiff {
    pub changed: bool,
    /// The time or size bound cut the comparison short: the diff is correct
    /// but not minimal, and some changed lines are marked as a whole rather
    /// than by character.
    pub coarse: bool,
    pub unified: String,
    pub lines: Vec<LineChange>,
}

#[derive(Serialize, ToSchema)]
pub struct LineChange {
    /// `delete` or `insert` (unchanged lines are omitted).
    pub op: &'static str,
    pub old_line: Option<usize>,
    pub new_line: Option<usize>,
    pub segments: Vec<Segment>,
}

#[derive(Serialize, ToSchema)]
pub struct Segment {
    pub changed: bool,
    pub text: String,
}

/// Diffs two versions of an item. The comparison runs on the CPU pool
/// (`AppState::cpu`), never on the async runtime, within [`DIFF_BUDGET`]:
/// past it the answer is still a correct diff, only coarser (`coarse`).
#[utoipa::path(get, path = "/api/v1/items/{id}/diff", tag = "items", params(("id" = String, Path), DiffQuery),
    responses((status = 200, body = DiffView), (status = 404, body = super::Problem), (status = 503, body = super::Problem)))]
pub async fn diff_versions(
    State(state): State<AppState>,
    auth: Auth,
    InPath(id): InPath<ItemId>,
    AppQuery(query): AppQuery<DiffQuery>,
) -> Result<axum::response::Response, ApiError> {
    let (old, new) = diff_sides(&state, &auth, id, &query).await?;
    // The answer of two long texts is tens of megabytes of JSON: serialised
    // on the CPU pool too.
    let json = state.cpu.run("diff", move || serde_json::to_vec(&diff_view(old, new))).await?;
    let json = json.map_err(|e| ApiError::Internal(format!("diff json: {e}")))?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], json).into_response())
}

/// The diff the item page shows (the same as [`diff_versions`]).
pub async fn diff_of(state: &AppState, auth: &Auth, id: ItemId, query: &DiffQuery) -> Result<DiffView, ApiError> {
    let (old, new) = diff_sides(state, auth, id, query).await?;
    Ok(state.cpu.run("diff", move || diff_view(old, new)).await?)
}

async fn diff_sides(
    state: &AppState,
    auth: &Auth,
    id: ItemId,
    query: &DiffQuery,
) -> Result<(StoredVersion, StoredVersion), ApiError> {
    readable_item(state, auth, id).await?;
    let old = state.db.version(id, query.from).await.map_err(not_found("起始版本"))?;
    let new = state.db.version(id, query.to).await.map_err(not_found("目标版本"))?;
    Ok((old, new))
}

/// How long one diff request may compare text. Past it, `similar` returns
/// the (correct, not minimal) line diff it has, and changed lines are no
/// longer compared character by character.
pub const DIFF_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);

/// A changed line longer than this is marked changed as a whole: comparing
/// it character by character costs time quadratic in its length.
pub const MAX_INLINE_DIFF_CHARS: usize = 4000;

fn diff_view(old: StoredVersion, new: StoredVersion) -> DiffView {
    let deadline = std::time::Instant::now() + DIFF_BUDGET;
    let (a, b) = (old.content.canonical(), new.content.canonical());
    let mut fields = Vec::new();
    if let (Value::Object(a), Value::Object(b)) = (&a, &b) {
        for (key, before) in a {
            if key == "title" || key == "body" || key == "format" {
                continue;
            }
            let after = b.get(key).cloned().unwrap_or(Value::Null);
            if *before != after {
                fields.push(FieldChange { field: key.clone(), before: before.clone(), after });
            }
        }
    }
    DiffView {
        from: old.version,
        to: new.version,
        from_digest: old.content_digest,
        to_digest: new.content_digest,
        fields,
        title: text_diff(&old.content.title, &new.content.title, deadline),
        body: text_diff(&old.content.body, &new.content.body, deadline),
    }
}

fn text_diff(old: &str, new: &str, deadline: std::time::Instant) -> TextDiff {
    use similar::{DiffOp, TextDiff as Differ};
    let diff = Differ::configure().algorithm(similar::Algorithm::Patience).deadline(deadline).diff_lines(old, new);
    let mut coarse = std::time::Instant::now() >= deadline;
    let unified = diff.unified_diff().context_radius(3).header("旧版本", "新版本").to_string();
    let (old_lines, new_lines) = (diff.old_slices(), diff.new_slices());
    let whole = |op, old_line, new_line, text: &str| LineChange {
        op,
        old_line,
        new_line,
        segments: vec![Segment { changed: true, text: text.trim_end_matches('\n').to_owned() }],
    };
    let mut lines = Vec::new();
    for op in diff.ops() {
        match *op {
            DiffOp::Equal { .. } => {}
            DiffOp::Delete { old_index, old_len, .. } => {
                for (i, line) in old_lines.iter().enumerate().skip(old_index).take(old_len) {
                    lines.push(whole("delete", Some(i + 1), None, line));
                }
            }
            DiffOp::Insert { new_index, new_len, .. } => {
                for (i, line) in new_lines.iter().enumerate().skip(new_index).take(new_len) {
                    lines.push(whole("insert", None, Some(i + 1), line));
                }
            }
            DiffOp::Replace { old_index, old_len, new_index, new_len } => {
                // Pair the lines of a replaced block and mark the changed
                // characters within each pair while time and length allow;
                // extra lines, and pairs past the bounds, are whole changes.
                let paired = old_len.min(new_len);
                let mut deletes = Vec::new();
                let mut inserts = Vec::new();
                for k in 0..paired {
                    let (a, b) = (old_lines[old_index + k], new_lines[new_index + k]);
                    let (a, b) = (a.trim_end_matches('\n'), b.trim_end_matches('\n'));
                    let (old_no, new_no) = (old_index + k + 1, new_index + k + 1);
                    let too_long = a.len().max(b.len()) > MAX_INLINE_DIFF_CHARS;
                    if too_long || std::time::Instant::now() >= deadline {
                        coarse = true;
                        deletes.push(whole("delete", Some(old_no), None, a));
                        inserts.push(whole("insert", None, Some(new_no), b));
                        continue;
                    }
                    let chars = Differ::configure().deadline(deadline).diff_chars(a, b);
                    let (mut del, mut ins) = (Vec::new(), Vec::new());
                    for change in chars.iter_all_changes() {
                        let text = change.value();
                        match change.tag() {
                            similar::ChangeTag::Equal => {
                                push_segment(&mut del, false, text);
                                push_segment(&mut ins, false, text);
                            }
                            similar::ChangeTag::Delete => push_segment(&mut del, true, text),
                            similar::ChangeTag::Insert => push_segment(&mut ins, true, text),
                        }
                    }
                    deletes.push(LineChange { op: "delete", old_line: Some(old_no), new_line: None, segments: del });
                    inserts.push(LineChange { op: "insert", old_line: None, new_line: Some(new_no), segments: ins });
                }
                for (i, line) in old_lines.iter().enumerate().skip(old_index + paired).take(old_len - paired) {
                    deletes.push(whole("delete", Some(i + 1), None, line));
                }
                for (i, line) in new_lines.iter().enumerate().skip(new_index + paired).take(new_len - paired) {
                    inserts.push(whole("insert", None, Some(i + 1), line));
                }
                lines.extend(deletes);
                lines.extend(inserts);
            }
        }
    }
    TextDiff { changed: old != new, coarse, unified, lines }
}

/// Appends `text` to the last segment if it has the same `changed` flag.
fn push_segment(segments: &mut Vec<Segment>, changed: bool, text: &str) {
    match segments.last_mut() {
        Some(last) if last.changed == changed => last.text.push_str(text),
        _ => segments.push(Segment { changed, text: text.to_owned() }),
    }
}

pub(super) fn parse_item_id(s: &str) -> Result<ItemId, ApiError> {
    s.parse().map_err(|_| ApiError::NotFound("该事项"))
}
