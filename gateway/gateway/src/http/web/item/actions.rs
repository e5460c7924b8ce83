//! What people do from the item page: apply a suggested mask, vote and sign
//! off, override, comment, waive, seal, withdraw and confirm, redeliver.
//! Each turns the form into the use case's request and calls it (or the
//! same edge function as the API), then returns to the item page.

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::http::seals::SealItemRequest;
use crate::http::web::highlight::{self};
use crate::http::web::{Form, ItemPath, PageQuery, Posted, Session, see_other};
use crate::http::workflow::{CommentRequest, VoteRequest};
use crate::http::{ApiError, AppState};
use crate::model::ItemId;
use crate::review::{Field, Finding};
use crate::service;
use crate::service::delivery::{self as delivery_service};
use crate::workflow::VoteValue;

use super::*;

/// Applies a finding's suggestion (or all of them) as a new version.
pub async fn apply_fix(
    State(state): State<AppState>,
    ItemPath(id): ItemPath,
    Posted { session, form, .. }: Posted,
) -> Response {
    match fix(&state, &session, id, &form).await {
        Ok(()) => see_other(&format!("/items/{id}?done=fixed")).into_response(),
        Err(e) => item_page(&state, &session, id, PageQuery::default(), Some(e)).await,
    }
}

pub(super) async fn fix(state: &AppState, session: &Session, id: ItemId, form: &Form) -> Result<(), ApiError> {
    let item = crate::http::items::item_of(state, &session.auth(), id).await?;
    let version: i64 = form.get("version").and_then(|v| v.parse().ok()).unwrap_or(0);
    if version != item.current_version {
        return Err(ApiError::Stale { expected: version, current: item.current_version });
    }
    // The findings the page showed (its own check's, or those carried
    // from the previous version's check), numbered as there.
    let (findings, _) = super::page_findings(state, &item).await?;
    let chosen: Vec<&Finding> = match form.get("finding").as_deref() {
        Some("all") => findings.iter().collect(),
        Some(n) => {
            let n: usize = n.parse().map_err(|_| ApiError::BadRequest("finding 参数不正确".into()))?;
            findings.get(n.wrapping_sub(1)).into_iter().collect()
        }
        None => Vec::new(),
    };
    let mut content = item.current.content.clone();
    // Later spans first, so earlier offsets stay valid; overlapping ones
    // after the first are skipped (the next check finds what remains).
    let mut edits: Vec<(Field, usize, usize, &str)> = chosen
        .iter()
        .filter(|f| matches!(f.field, Field::Title | Field::Body))
        .filter_map(|f| Some((f.field, f.span?.start as usize, f.span?.end as usize, f.suggestion.as_deref()?)))
        .collect();
    if edits.is_empty() {
        return Err(ApiError::Unprocessable("所选问题没有可直接应用的修改建议。".into()));
    }
    edits.sort_by(|a, b| (a.0 == Field::Body).cmp(&(b.0 == Field::Body)).then(b.1.cmp(&a.1)));
    let mut last_start: Option<(Field, usize)> = None;
    for (field, start, end, replacement) in edits {
        if matches!(last_start, Some((f, s)) if f == field && end > s) {
            continue;
        }
        let text = if field == Field::Title { &mut content.title } else { &mut content.body };
        *text = highlight::replace(text, start, end, replacement)
            .ok_or_else(|| ApiError::Conflict("问题位置与当前文本不符，请刷新后重试。".into()))?;
        last_start = Some((field, start));
    }
    let input = ItemForm::from_content(&content).input(Some(item.current_version))?;
    crate::http::items::edit(state, &session.auth(), id, input).await?;
    Ok(())
}

/// Replaces an attachment with its masked copy (the masks its personal-data
/// findings suggest) as a new version; the page then lists what changed.
pub async fn mask_attachment(
    State(state): State<AppState>,
    ItemPath(id): ItemPath,
    Posted { session, form, .. }: Posted,
) -> Response {
    let result = match form.digest() {
        Ok(content_digest) => {
            let request = crate::http::masked::MaskAttachmentRequest {
                version: form.get("version").and_then(|v| v.parse().ok()).unwrap_or(0),
                content_digest,
                attachment: form.get("attachment").unwrap_or_default(),
            };
            crate::http::masked::mask(&state, &session.auth(), id, request).await
        }
        Err(e) => Err(e),
    };
    after(&state, &session, id, result, "masked#masked").await
}

pub async fn vote(
    State(state): State<AppState>,
    ItemPath(id): ItemPath,
    Posted { session, form, .. }: Posted,
) -> Response {
    let value = match form.get("value").as_deref() {
        Some("approve") => VoteValue::Approve,
        Some("changes") => VoteValue::Changes,
        Some("block") => VoteValue::Block,
        _ => {
            let e = ApiError::invalid("value", "请选择审核意见：同意、退回修改或拦截");
            return item_page(&state, &session, id, PageQuery::default(), Some(e)).await;
        }
    };
    let content_digest = match form.digest() {
        Ok(d) => d,
        Err(e) => return item_page(&state, &session, id, PageQuery::default(), Some(e)).await,
    };
    let signoff = form.get("statement_id").is_some();
    let request = VoteRequest {
        stage: form.get("stage").unwrap_or_default(),
        value,
        content_digest,
        comment: form.get("comment"),
        statement_id: form.get("statement_id"),
        statement_version: form.get("statement_version"),
        password: signoff.then(|| form.raw("password")),
        totp_code: signoff.then(|| form.raw("totp_code")),
    };
    match crate::http::workflow::cast_vote(&state, &session.auth(), session.address.as_deref(), id, request).await {
        Ok(_) => {
            let done = if signoff && value == VoteValue::Approve { "signed" } else { "voted" };
            see_other(&format!("/items/{id}?done={done}")).into_response()
        }
        Err(e) => item_page(&state, &session, id, PageQuery::default(), Some(e)).await,
    }
}

/// 越级通过: marks a stage OVERRIDDEN with a reason, by a role the policy
/// names for it (the API refuses a veto stage, a missing reason, an author).
pub async fn override_stage(
    State(state): State<AppState>,
    ItemPath(id): ItemPath,
    Posted { session, form, .. }: Posted,
) -> Response {
    let (stage, reason) = (form.get("stage").unwrap_or_default(), form.get("reason").unwrap_or_default());
    let reviewer = match form.digest() {
        Ok(digest) => crate::http::workflow::reviewer_on(&state, &session.auth(), id).await.map(|r| (r, digest)),
        Err(e) => Err(e),
    };
    let result = match reviewer {
        Ok(((item, principal), digest)) => {
            service::workflow::override_stage(&state, &principal, item, &stage, digest, &reason)
                .await
                .map_err(ApiError::from)
        }
        Err(e) => Err(e),
    };
    after(&state, &session, id, result, "overridden#wf-h").await
}

pub async fn comment(
    State(state): State<AppState>,
    ItemPath(id): ItemPath,
    Posted { session, form, .. }: Posted,
) -> Response {
    let request = CommentRequest {
        version: form.get("version").and_then(|v| v.parse().ok()).unwrap_or(0),
        field: form.get("field").unwrap_or_else(|| "body".into()),
        start: form.get("start").and_then(|v| v.parse().ok()),
        end: form.get("end").and_then(|v| v.parse().ok()),
        body: form.raw("body"),
    };
    let result = crate::http::workflow::comment_on(&state, &session.auth(), id, request).await;
    after(&state, &session, id, result, "commented#comments").await
}

/// The step before the seal: what will be sealed, the channels it goes to
/// and when it is published, with the form that applies it
/// (`confirm=1`). The item page's seal button posts here first.
#[derive(askama::Template)]
#[template(path = "seal_confirm.html")]
pub(super) struct SealConfirmPage {
    layout: crate::http::web::Layout,
    id: ItemId,
    title: String,
    version: i64,
    digest: String,
    channels: Vec<String>,
    /// The publication time as typed (`datetime-local`), sent on.
    not_before: String,
    /// The same in words: `2026-12-08 09:30（北京时间）` or 立即.
    when: String,
}

async fn seal_confirmation(
    state: &AppState,
    session: &Session,
    id: ItemId,
    form: &Form,
) -> Result<SealConfirmPage, ApiError> {
    let item = readable(state, session, id).await?;
    service::seal::may_seal(session.principal())?;
    if item.state != crate::model::ItemState::Approved {
        return Err(ApiError::Conflict(format!(
            "事项当前状态为“{}”，只有已通过全部审核的事项才能加盖信息公开专用章。",
            item.state.label()
        )));
    }
    let digest = form.digest()?;
    let version = state.db.version(id, item.current_version).await?;
    if version.content_digest != digest {
        return Err(ApiError::Conflict("稿件在您打开页面后已有新版本，请刷新页面后重新核对。".into()));
    }
    let not_before = form.get("not_before").unwrap_or_default();
    let when = if not_before.is_empty() {
        "加盖后立即发布".to_owned()
    } else {
        let at = crate::http::web::china_time_input(&not_before);
        match time::OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339) {
            Ok(_) => format!("{}（北京时间）起发布", crate::http::web::beijing(&at)),
            Err(_) => return Err(ApiError::invalid("not_before", "定时发布时间格式不正确，请重新选择日期和时间")),
        }
    };
    Ok(SealConfirmPage {
        layout: session.layout("确认加盖信息公开专用章", ""),
        id,
        title: version.content.title.clone(),
        version: version.version,
        digest: version.content_digest.to_string(),
        channels: version.content.channels.iter().map(|c| channel_label(c)).collect(),
        not_before,
        when,
    })
}

pub async fn seal(
    State(state): State<AppState>,
    ItemPath(id): ItemPath,
    Posted { session, form, .. }: Posted,
) -> Response {
    if form.get("confirm").is_none() {
        return match seal_confirmation(&state, &session, id, &form).await {
            Ok(page) => crate::http::web::render(&page),
            Err(e) => item_page(&state, &session, id, PageQuery::default(), Some(e)).await,
        };
    }
    let not_before = form.get("not_before").map(|v| crate::http::web::china_time_input(&v));
    let result = match form.digest() {
        Ok(content_digest) => {
            let request = SealItemRequest { content_digest, not_before };
            crate::http::seals::seal_current(&state, &session.auth(), id, request).await
        }
        Err(e) => Err(e),
    };
    after(&state, &session, id, result, "sealed#deliveries").await
}

pub async fn withdraw(
    State(state): State<AppState>,
    ItemPath(id): ItemPath,
    Posted { session, form, .. }: Posted,
) -> Response {
    let (reason, urgent) = (form.get("reason").unwrap_or_default(), form.get("urgent").is_some());
    let result = match readable(&state, &session, id).await {
        Ok(item) => {
            delivery_service::withdraw(&state, session.principal(), &item, &reason, urgent).await.map_err(Into::into)
        }
        Err(e) => Err(e),
    };
    after(&state, &session, id, result, "withdrawn#deliveries").await
}

/// The item of the page's URL, if the session may read it (as the API's
/// item routes check).
pub(super) async fn readable(
    state: &AppState,
    session: &Session,
    id: ItemId,
) -> Result<crate::model::ItemRecord, ApiError> {
    crate::http::items::readable_item(state, &session.auth(), id).await
}

/// After an action on the item: on success back to the item page with a
/// message (`done`: a code of [`done_message`], then an optional `#anchor`),
/// else the item page with the API's error and status.
pub(super) async fn after<T>(
    state: &AppState,
    session: &Session,
    id: ItemId,
    result: Result<T, ApiError>,
    done: &str,
) -> Response {
    match result {
        Ok(_) => see_other(&format!("/items/{id}?done={done}")).into_response(),
        Err(e) => item_page(state, session, id, PageQuery::default(), Some(e)).await,
    }
}

/// Waives one blocking finding (by the role the policy names, with a reason).
pub async fn waive(
    State(state): State<AppState>,
    ItemPath(id): ItemPath,
    Posted { session, form, .. }: Posted,
) -> Response {
    let (finding_id, reason) = (form.get("finding_id").unwrap_or_default(), form.raw("reason"));
    let reviewer = match form.digest() {
        Ok(digest) => crate::http::workflow::reviewer_on(&state, &session.auth(), id).await.map(|r| (r, digest)),
        Err(e) => Err(e),
    };
    let result = match reviewer {
        Ok(((item, principal), digest)) => {
            service::workflow::waive(&state, &principal, item, &finding_id, digest, &reason)
                .await
                .map_err(ApiError::from)
        }
        Err(e) => Err(e),
    };
    after(&state, &session, id, result, "waived#checks").await
}

/// Confirms an urgent withdrawal afterwards.
pub async fn confirm_withdrawal(
    State(state): State<AppState>,
    ItemPath(id): ItemPath,
    Posted { session, form, .. }: Posted,
) -> Response {
    let note = form.get("note").unwrap_or_default();
    let result = match readable(&state, &session, id).await {
        Ok(item) => {
            delivery_service::confirm_withdrawal(&state, session.principal(), &item, &note).await.map_err(Into::into)
        }
        Err(e) => Err(e),
    };
    after(&state, &session, id, result, "confirmed#deliveries").await
}

pub async fn redeliver(
    State(state): State<AppState>,
    ItemPath(id): ItemPath,
    Posted { session, form, .. }: Posted,
) -> Response {
    // The delivery must be one of this item's: a form naming another
    // item's delivery is refused (404) and changes nothing.
    let delivery = form.get("delivery").unwrap_or_default();
    let result =
        delivery_service::redeliver(&state, session.principal(), &delivery, Some(id)).await.map_err(ApiError::from);
    after(&state, &session, id, result, "redelivered#deliveries").await
}
