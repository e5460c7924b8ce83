//! Channel delivery over HTTP (docs/delivery.md): the transport key set
//! (`/.well-known/webhook-keys`, public), channel endpoints (admin), an
//! item's deliveries with every attempt, redelivery, 撤稿 (withdrawal), and
//! the pull feed for channels (changes with an opaque cursor and long poll,
//! snapshot, confirm).
//!
//! Who may act is checked here; what a withdrawal or redelivery changes is
//! the store's, in one transaction.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::items::{not_found, parse_item_id, readable_item};
use super::{ApiError, AppJson, AppQuery, AppState, Auth};
use crate::auth::{Role, Scope};
use crate::model::Timestamp;
use crate::store::{
    AttemptRecord, ConnectorConfig, DeliveryRecord, EndpointRecord, PostRecord, StoreError, WithdrawRequest,
    Withdrawal, WithdrawalRecord,
};

/// The transport key set (JWK Set, OKP/Ed25519) that verifies the
/// `v1a` webhook signatures. Not the seal keys. Public.
#[utoipa::path(get, path = "/.well-known/webhook-keys", tag = "delivery",
    responses((status = 200, description = "JWK Set", content_type = "application/jwk-set+json")))]
pub async fn webhook_keys(State(state): State<AppState>) -> Response {
    let mut response = state.transport.jwks().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/jwk-set+json"));
    response
}

/// A new channel endpoint.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    pub channel: String,
    /// `webhook` (default), `pull`, or a connector the gateway drives:
    /// `wechat` (official account), `weibo`.
    #[serde(default)]
    pub kind: Option<String>,
    /// For `webhook`: the `http://` or `https://` URL events are POSTed to.
    /// For a connector: the platform's API base (default its real host).
    #[serde(default)]
    pub url: Option<String>,
    /// Connector: WeChat AppID.
    #[serde(default)]
    pub app_id: Option<String>,
    /// Connector: the *name* of the secret (an environment variable or a
    /// 0600 file `<data_dir>/secrets/<name>`), never the secret.
    #[serde(default)]
    pub secret_name: Option<String>,
    /// Connector: the public seal page, with `{serial}`; required for Weibo.
    #[serde(default)]
    pub link_template: Option<String>,
    /// Connector: WeChat cover image (`thumb_media_id`, a permanent material).
    #[serde(default)]
    pub cover_media_id: Option<String>,
    /// Connector: how often a live post is checked for removal by the
    /// platform, seconds (default 3600; 0 never).
    #[serde(default)]
    pub recheck_secs: Option<i64>,
}

/// Adds a channel endpoint (admin).
#[utoipa::path(post, path = "/api/v1/channel-endpoints", tag = "delivery", request_body = NewEndpoint,
    responses((status = 201, body = Object), (status = 403, body = super::Problem), (status = 422, body = super::Problem)))]
pub async fn add_endpoint(
    State(state): State<AppState>,
    auth: Auth,
    AppJson(req): AppJson<NewEndpoint>,
) -> Result<(StatusCode, axum::Json<EndpointRecord>), ApiError> {
    let actor = auth.require_any(&[Role::SecurityAdmin])?.user_id;
    auth.require_scope(Scope::Admin)?;
    let connector = (req.secret_name.is_some()
        || req.app_id.is_some()
        || req.link_template.is_some()
        || req.cover_media_id.is_some()
        || req.recheck_secs.is_some())
    .then(|| ConnectorConfig {
        app_id: req.app_id.clone(),
        secret_name: req.secret_name.clone().unwrap_or_default(),
        link_template: req.link_template.clone(),
        cover_media_id: req.cover_media_id.clone(),
        recheck_secs: req.recheck_secs.unwrap_or(3600),
    });
    let (kind, url) = crate::delivery::check_endpoint(
        &state.settings,
        &req.channel,
        req.kind.as_deref(),
        req.url.as_deref(),
        connector.as_ref(),
    )
    .map_err(|(field, why)| ApiError::invalid(field, why))?;
    let ep = state.db.add_endpoint(&req.channel, kind, url.as_deref(), connector.as_ref(), Some(actor)).await?;
    Ok((StatusCode::CREATED, axum::Json(ep)))
}

/// Every channel endpoint (admin, publication office, auditor).
#[utoipa::path(get, path = "/api/v1/channel-endpoints", tag = "delivery",
    responses((status = 200, body = Object), (status = 403, body = super::Problem)))]
pub async fn list_endpoints(State(state): State<AppState>, auth: Auth) -> Result<axum::Json<Value>, ApiError> {
    auth.require_any(&[Role::SecurityAdmin, Role::Publisher, Role::Auditor])?;
    Ok(axum::Json(
        serde_json::json!({ "endpoints": state.db.endpoints().await?, "transport_key": state.transport.whpk() }),
    ))
}

/// Delivery log query.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EndpointLogQuery {
    /// RFC 3339; default: the last 7 days.
    pub since: Option<String>,
    /// `pending`, `delivering`, `delivered`, `failed` or `cancelled`.
    pub state: Option<String>,
    /// At most this many (≤ 1000, default 200).
    pub limit: Option<i64>,
}

/// The delivery log of an endpoint, newest first, with every attempt
/// (admin, publication office, auditor).
#[utoipa::path(get, path = "/api/v1/channel-endpoints/{id}/deliveries", tag = "delivery",
    params(("id" = String, Path), EndpointLogQuery),
    responses((status = 200, body = Vec<DeliveryView>), (status = 404, body = super::Problem)))]
pub async fn endpoint_deliveries(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    AppQuery(q): AppQuery<EndpointLogQuery>,
) -> Result<axum::Json<Vec<DeliveryView>>, ApiError> {
    auth.require_any(&[Role::SecurityAdmin, Role::Publisher, Role::Auditor])?;
    state.db.endpoint(&id).await.map_err(not_found("该发布渠道端点"))?;
    let since = match q.since.as_deref() {
        Some(t) => Timestamp::parse(t).map_err(|_| ApiError::invalid("since", "since 须为 RFC 3339 时间"))?,
        None => Timestamp::from_offset(Timestamp::now().as_offset() - time::Duration::days(7)),
    };
    if let Some(s) = q.state.as_deref()
        && !["pending", "delivering", "delivered", "failed", "cancelled"].contains(&s)
    {
        return Err(ApiError::invalid("state", "state 须为 pending、delivering、delivered、failed 或 cancelled"));
    }
    let limit = q.limit.unwrap_or(200).clamp(1, 1000);
    let list = state.db.deliveries_of_endpoint(&id, since, q.state.as_deref(), limit).await?;
    Ok(axum::Json(list.into_iter().map(|(delivery, attempts)| DeliveryView { delivery, attempts }).collect()))
}

/// Redeliver everything since a time.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeliverSince {
    /// RFC 3339.
    pub since: String,
}

/// Redelivers every event of the endpoint's channel since `since` to it,
/// and enables it again (publication office or admin).
#[utoipa::path(post, path = "/api/v1/channel-endpoints/{id}/redeliver", tag = "delivery", request_body = RedeliverSince,
    params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn redeliver_endpoint(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    AppJson(req): AppJson<RedeliverSince>,
) -> Result<axum::Json<Value>, ApiError> {
    let actor = auth.require_any(&[Role::Publisher, Role::SecurityAdmin])?.user_id;
    let since = Timestamp::parse(&req.since).map_err(|_| ApiError::invalid("since", "since 须为 RFC 3339 时间"))?;
    let n = state.db.redeliver_since(&id, since, Some(actor)).await.map_err(not_found("该发布渠道端点"))?;
    state.wake_delivery().await;
    Ok(axum::Json(serde_json::json!({ "endpoint": id, "deliveries": n })))
}

/// One delivery with its attempts.
#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub delivery: DeliveryRecord,
    #[schema(value_type = Vec<Object>)]
    pub attempts: Vec<AttemptRecord>,
}

impl DeliveryView {
    /// The view without what channels answered and transport errors.
    fn without_answers(mut self) -> DeliveryView {
        if self.delivery.last_error.is_some() {
            self.delivery.last_error = Some("投递未成功（详情仅政务公开办公室可见）".into());
        }
        for a in &mut self.attempts {
            a.response_excerpt = None;
            a.error = None;
        }
        self
    }
}

/// An item's deliveries.
#[derive(Serialize, ToSchema)]
pub struct ItemDeliveries {
    pub item_id: String,
    pub state: String,
    /// Some delivery of a publication failed for good: the item is only
    /// partially published (shown as `delivering`).
    pub partially_published: bool,
    /// Deliveries that gave up.
    pub failed: Vec<String>,
    pub deliveries: Vec<DeliveryView>,
    /// 撤稿 requests, with their confirmation (urgent ones) and escalation.
    #[schema(value_type = Vec<Object>)]
    pub withdrawals: Vec<WithdrawalRecord>,
    /// Posts of connector channels (WeChat, Weibo): the platform's ids and
    /// URL, and what the platform says (published, rejected, removed…).
    #[schema(value_type = Vec<Object>)]
    pub connector_posts: Vec<PostRecord>,
}

/// Per channel and endpoint: every delivery of the item, its state and
/// every attempt (status, latency, response excerpt).
#[utoipa::path(get, path = "/api/v1/items/{id}/deliveries", tag = "delivery", params(("id" = String, Path)),
    responses((status = 200, body = ItemDeliveries), (status = 404, body = super::Problem)))]
pub async fn item_deliveries(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<ItemDeliveries>, ApiError> {
    let id = parse_item_id(&id)?;
    let item = readable_item(&state, &auth, id).await?;
    let list = state.db.deliveries_of_item(id).await?;
    let failed: Vec<String> = list.iter().filter(|(d, _)| d.state == "failed").map(|(d, _)| d.id.clone()).collect();
    // What a channel answered (and the transport errors) is for the
    // publication office: it may name internal hosts or carry what a
    // platform sent back. Others see states and status codes.
    let office = [Role::Publisher, Role::SecurityAdmin, Role::Auditor].iter().any(|r| auth.0.has_role(*r));
    Ok(axum::Json(ItemDeliveries {
        item_id: id.to_string(),
        state: item.state.as_str().to_owned(),
        partially_published: list.iter().any(|(d, _)| d.state == "failed" && d.kind == "publish"),
        failed,
        deliveries: list
            .into_iter()
            .map(|(delivery, attempts)| DeliveryView { delivery, attempts })
            .map(|v| if office { v } else { v.without_answers() })
            .collect(),
        withdrawals: state.db.withdrawals_of_item(id).await?,
        connector_posts: state.db.posts_of_item(id).await?,
    }))
}

/// Sends one delivery again (publication office or admin); enables its
/// endpoint again.
#[utoipa::path(post, path = "/api/v1/deliveries/{id}/redeliver", tag = "delivery", params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn redeliver(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<DeliveryRecord>, ApiError> {
    let actor = auth.require_any(&[Role::Publisher, Role::SecurityAdmin])?.user_id;
    let d = state.db.redeliver(&id, Some(actor)).await.map_err(not_found("该投递"))?;
    state.wake_delivery().await;
    Ok(axum::Json(d))
}

/// 撤稿.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawRequestBody {
    pub reason: String,
    /// Urgent (suspected leak, serious error): one 保密审查员 or 主要领导 may
    /// trigger it; it is recorded as urgent, to be confirmed afterwards.
    #[serde(default)]
    pub urgent: bool,
}

/// Withdraws an item (撤稿): its seals are `withdrawn` at once (status
/// endpoints), every channel that was sent a publication gets a `withdraw`
/// event on the priority lane, and the item is `withdrawing` until every
/// channel confirmed removal. Routine: 政务公开办公室; urgent: one 保密审查员
/// or 主要领导.
#[utoipa::path(post, path = "/api/v1/items/{id}/withdraw", tag = "delivery", request_body = WithdrawRequestBody,
    params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 403, body = super::Problem), (status = 409, body = super::Problem)))]
pub async fn withdraw(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    AppJson(req): AppJson<WithdrawRequestBody>,
) -> Result<axum::Json<Withdrawal>, ApiError> {
    let id = parse_item_id(&id)?;
    readable_item(&state, &auth, id).await?;
    let principal = auth.require_scope(Scope::Review)?.clone();
    if req.urgent {
        auth.require_any(&[Role::SecrecyReviewer, Role::Leader])?;
    } else {
        auth.require_any(&[Role::Publisher])?;
    }
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::invalid("reason", "请填写撤稿原因（不超过 500 字）"));
    }
    let done = state
        .db
        .withdraw_item(WithdrawRequest { item: id, reason, urgent: req.urgent, actor: principal.user_id })
        .await
        .map_err(|e| match e {
            StoreError::WrongState { state } => ApiError::Conflict(format!(
                "事项当前状态为“{}”，只有已加封签、待发布、发布中或已发布的事项才能撤稿。",
                state.label()
            )),
            other => other.into(),
        })?;
    tracing::warn!(item = %id, urgent = req.urgent, serials = ?done.serials, "item withdrawn");
    state.wake_delivery().await;
    Ok(axum::Json(done))
}

/// Confirmation of an urgent withdrawal.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmWithdrawal {
    pub note: String,
}

/// Confirms an urgent withdrawal afterwards (政务公开办公室 or 主要领导, not
/// the person who triggered it).
#[utoipa::path(post, path = "/api/v1/items/{id}/withdraw/confirm", tag = "delivery", request_body = ConfirmWithdrawal,
    params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 403, body = super::Problem), (status = 409, body = super::Problem)))]
pub async fn confirm_withdrawal(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    AppJson(req): AppJson<ConfirmWithdrawal>,
) -> Result<axum::Json<WithdrawalRecord>, ApiError> {
    let id = parse_item_id(&id)?;
    readable_item(&state, &auth, id).await?;
    let user = auth.require_scope(Scope::Review)?.user_id;
    auth.require_any(&[Role::Publisher, Role::Leader])?;
    let note = req.note.trim();
    if note.is_empty() || note.chars().count() > 500 {
        return Err(ApiError::invalid("note", "请填写确认意见（不超过 500 字）"));
    }
    Ok(axum::Json(state.db.confirm_withdrawal(id, user, note).await?))
}

/// Feed query.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    /// From a previous answer; absent = from the start.
    pub cursor: Option<String>,
    /// Long poll: hold the request up to this many seconds (≤ 30) until an
    /// event arrives.
    pub wait: Option<u64>,
    /// At most this many events (≤ 500, default 100).
    pub limit: Option<i64>,
}

/// A page of the feed.
#[derive(Serialize, ToSchema)]
pub struct Changes {
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<Value>,
    /// Pass as `cursor` next time (after the events are applied).
    pub cursor: String,
}

const CURSOR_PREFIX: &str = "c1.";

/// An opaque cursor: the feed position and when it was handed out.
fn cursor(seq: i64) -> String {
    let at = Timestamp::now().as_offset().unix_timestamp();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{seq}.{at}"))
}

/// `(seq, issued_at_secs)`.
fn parse_cursor(s: &str) -> Result<(i64, i64), ApiError> {
    let bad = || ApiError::BadRequest("cursor 无效".into());
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
    let text = String::from_utf8(text).map_err(|_| bad())?;
    let (seq, at) = text.strip_prefix(CURSOR_PREFIX).and_then(|r| r.split_once('.')).ok_or_else(bad)?;
    let (seq, at): (i64, i64) = (seq.parse().map_err(|_| bad())?, at.parse().map_err(|_| bad())?);
    // Only what `cursor` hands out: a feed position and a Unix time that
    // is not in the future.
    if seq < 0 || at < 0 || at > Timestamp::now().as_offset().unix_timestamp().saturating_add(60) {
        return Err(bad());
    }
    Ok((seq, at))
}

/// A channel's events are read and confirmed only with a `channel` token
/// bound to that channel, of a user who still holds the channel role.
fn channel_reader(state: &AppState, auth: &Auth, channel: &str) -> Result<(), ApiError> {
    auth.require_scope(Scope::Channel)?;
    auth.require_any(&[Role::Channel])?;
    if !state.settings.channels.iter().any(|c| c == channel) {
        return Err(ApiError::NotFound("该发布渠道"));
    }
    if !auth.0.reads_channel(channel) {
        return Err(ApiError::Forbidden(format!(
            "此令牌未绑定发布渠道“{channel}”。请使用为该渠道签发的令牌（gateway token create --scope channel --channel {channel}）。"
        )));
    }
    Ok(())
}

/// The channel's events after `cursor`, in order (the same bodies as
/// pushed). With `wait`, held until an event arrives. A cursor older than
/// the retention answers 410 Gone: read the snapshot, then continue from
/// its cursor. Channel role, scope `channel`.
#[utoipa::path(get, path = "/api/v1/channels/{channel}/changes", tag = "delivery",
    params(("channel" = String, Path), ChangesQuery),
    responses((status = 200, body = Changes), (status = 410, body = super::Problem)))]
pub async fn changes(
    State(state): State<AppState>,
    auth: Auth,
    Path(channel): Path<String>,
    AppQuery(q): AppQuery<ChangesQuery>,
) -> Result<Response, ApiError> {
    channel_reader(&state, &auth, &channel)?;
    let after = match q.cursor.as_deref() {
        None | Some("") => 0,
        Some(c) => {
            let (seq, at) = parse_cursor(c)?;
            let retention =
                i64::try_from(state.settings.delivery.feed_retention_days.saturating_mul(86_400)).unwrap_or(i64::MAX);
            if Timestamp::now().as_offset().unix_timestamp().saturating_sub(at) > retention {
                return Ok(gone());
            }
            seq
        }
    };
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(q.wait.unwrap_or(0).min(30));
    loop {
        // Register before reading, so an event committed in between wakes us.
        let woken = state.wake.feed.notified();
        let events = state.db.channel_feed(&channel, after, limit).await?;
        if !events.is_empty() || tokio::time::Instant::now() >= deadline {
            let next = events.last().map_or(after, |e| e.seq);
            let body = Changes { events: events.into_iter().map(|e| e.body).collect(), cursor: cursor(next) };
            return Ok(no_cache(axum::Json(body).into_response()));
        }
        // Woken by this process, by NOTIFY from others (PostgreSQL), or by
        // the poll.
        tokio::select! {
            _ = woken => {}
            _ = tokio::time::sleep(Duration::from_millis(state.settings.delivery.poll_interval_ms)) => {}
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
}

fn gone() -> Response {
    let body = serde_json::json!({
        "type": "urn:gateway:problem:cursor-expired",
        "title": "游标已过期",
        "status": 410,
        "detail": "该游标早于变更记录的保留期限。请先读取 snapshot，再从其返回的 cursor 继续。",
    });
    let mut response = (StatusCode::GONE, serde_json::to_vec(&body).unwrap_or_default()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(super::PROBLEM_JSON));
    response
}

fn no_cache(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Every live publication of the channel (the latest `publish` of each item
/// not withdrawn since) and a cursor to continue the feed from.
#[utoipa::path(get, path = "/api/v1/channels/{channel}/snapshot", tag = "delivery", params(("channel" = String, Path)),
    responses((status = 200, body = Changes)))]
pub async fn snapshot(
    State(state): State<AppState>,
    auth: Auth,
    Path(channel): Path<String>,
) -> Result<Response, ApiError> {
    channel_reader(&state, &auth, &channel)?;
    let (events, head) = state.db.channel_snapshot(&channel).await?;
    let body = Changes { events: events.into_iter().map(|e| e.body).collect(), cursor: cursor(head) };
    Ok(no_cache(axum::Json(body).into_response()))
}

/// A pull channel's confirmation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirm {
    pub event_id: String,
}

/// A pull channel confirms it applied an event (for `withdraw`: removed).
#[utoipa::path(post, path = "/api/v1/channels/{channel}/confirm", tag = "delivery", request_body = Confirm,
    params(("channel" = String, Path)),
    responses((status = 204), (status = 404, body = super::Problem)))]
pub async fn confirm(
    State(state): State<AppState>,
    auth: Auth,
    Path(channel): Path<String>,
    AppJson(req): AppJson<Confirm>,
) -> Result<StatusCode, ApiError> {
    channel_reader(&state, &auth, &channel)?;
    if state.db.confirm_pull(&channel, &req.event_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("该事件"))
    }
}

/// Atom/JSON feed query.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// At most this many entries (≤ 200, default 50).
    pub limit: Option<i64>,
}

/// The namespace of the gateway's own elements in the Atom feed.
const ATOM_GW_NS: &str = "urn:gov-disclosure:delivery:1";

/// One entry of the Atom/JSON feed: the latest due event of an item.
struct FeedEntry {
    item_id: String,
    event_id: String,
    sequence: i64,
    serial: String,
    supersedes: Option<String>,
    /// The event's time: the entry's `updated`, or the tombstone's `when`.
    updated: String,
    /// When the item was first published in the channel.
    published: String,
    withdrawn: Option<String>,
    title: String,
    body: String,
    doc_number: Option<String>,
    issuer: Option<String>,
}

impl FeedEntry {
    fn from_event(body: &Value, published: String) -> FeedEntry {
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let content = &body["envelope"]["content"];
        let withdrawn = (body["type"] == "withdraw").then(|| text(&body["reason"]).unwrap_or_default());
        FeedEntry {
            item_id: text(&body["item_id"]).unwrap_or_default(),
            event_id: text(&body["event_id"]).unwrap_or_default(),
            sequence: body["sequence"].as_i64().unwrap_or(0),
            serial: text(&body["serial"]).unwrap_or_default(),
            supersedes: text(&body["supersedes"]),
            updated: text(&body["created_at"]).unwrap_or_default(),
            published,
            withdrawn,
            title: text(&content["title"]).unwrap_or_default(),
            body: text(&content["body"]).unwrap_or_default(),
            doc_number: text(&content["doc_number"]),
            issuer: text(&content["issuer"]),
        }
    }
}

/// The channel's feed entries, newest first, and the origin for absolute
/// links: the configured public URL (`public_url`), never a request header.
async fn feed_entries(state: &AppState, channel: &str, q: &FeedQuery) -> Result<(Vec<FeedEntry>, String), ApiError> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let entries = state
        .db
        .channel_feed_latest(channel, limit)
        .await?
        .into_iter()
        .map(|(e, first)| FeedEntry::from_event(&e.body, first))
        .collect();
    Ok((entries, state.settings.public_base().trim_end_matches('/').to_owned()))
}

fn feed_title(channel: &str) -> String {
    format!("政务公开信息发布（{channel} 渠道）")
}

/// Escapes text for XML 1.0 element content and attribute values; a
/// character XML 1.0 cannot carry at all (C0 controls other than tab and
/// line feed, U+FFFE, U+FFFF) becomes U+FFFD.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if u32::from(c) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The Atom document (RFC 4287) of a channel; withdrawn items as RFC 6721
/// tombstones.
fn atom_document(channel: &str, org_code: &str, origin: &str, entries: &[FeedEntry]) -> String {
    use std::fmt::Write as _;
    let x = xml_escape;
    let updated = entries.first().map_or_else(|| Timestamp::now().to_string(), |e| e.updated.clone());
    let mut doc = String::new();
    let _ = write!(
        doc,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:at=\"http://purl.org/atompub/tombstones/1.0\" \
         xmlns:gw=\"{ATOM_GW_NS}\">\n\
         <id>urn:gov-disclosure:{}:channel:{}</id>\n<title>{}</title>\n<updated>{}</updated>\n\
         <author><name>政务公开发布审核网关</name></author>\n\
         <link rel=\"self\" type=\"application/atom+xml\" href=\"{}/api/v1/channels/{}/feed.atom\"/>\n\
         <generator>gateway</generator>\n",
        x(org_code),
        x(channel),
        x(&feed_title(channel)),
        x(&updated),
        x(origin),
        x(channel),
    );
    for e in entries {
        let seal_link = format!("{origin}/api/v1/seals/{}", e.serial);
        let ids = format!(
            "<gw:item-id>{}</gw:item-id><gw:serial>{}</gw:serial><gw:sequence>{}</gw:sequence>\
             <gw:event-id>{}</gw:event-id>",
            x(&e.item_id),
            x(&e.serial),
            e.sequence,
            x(&e.event_id)
        );
        if let Some(reason) = &e.withdrawn {
            let _ = write!(
                doc,
                "<at:deleted-entry ref=\"urn:uuid:{}\" when=\"{}\">\n<at:comment>{}</at:comment>\n\
                 <link rel=\"related\" type=\"application/json\" href=\"{}\"/>\n{ids}\n</at:deleted-entry>\n",
                x(&e.item_id),
                x(&e.updated),
                x(&format!("已撤稿：{reason}")),
                x(&seal_link),
            );
        } else {
            let _ = write!(
                doc,
                "<entry>\n<id>urn:uuid:{}</id>\n<title type=\"text\">{}</title>\n<updated>{}</updated>\n\
                 <published>{}</published>\n",
                x(&e.item_id),
                x(&e.title),
                x(&e.updated),
                x(&e.published),
            );
            if let Some(issuer) = &e.issuer {
                let _ = writeln!(doc, "<author><name>{}</name></author>", x(issuer));
            }
            let _ = writeln!(doc, "<link rel=\"alternate\" type=\"application/json\" href=\"{}\"/>", x(&seal_link));
            if let Some(n) = &e.doc_number {
                let _ = writeln!(doc, "<summary type=\"text\">{}</summary>", x(n));
            }
            let _ = write!(doc, "<content type=\"text\">{}</content>\n{ids}\n", x(&e.body));
            if let Some(s) = &e.supersedes {
                let _ = writeln!(doc, "<gw:supersedes>{}</gw:supersedes>", x(s));
            }
            doc.push_str("</entry>\n");
        }
    }
    doc.push_str("</feed>\n");
    doc
}

/// The JSON Feed 1.1 document of a channel; a withdrawn item is an entry
/// with `_gateway.withdrawn: true`.
fn json_feed_document(channel: &str, origin: &str, entries: &[FeedEntry]) -> Value {
    let items: Vec<Value> = entries
        .iter()
        .map(|e| {
            let gw = serde_json::json!({
                "item_id": e.item_id,
                "serial": e.serial,
                "supersedes": e.supersedes,
                "sequence": e.sequence,
                "event_id": e.event_id,
                "withdrawn": e.withdrawn.is_some(),
                "reason": e.withdrawn,
                "doc_number": e.doc_number,
            });
            let url = format!("{origin}/api/v1/seals/{}", e.serial);
            match &e.withdrawn {
                Some(reason) => serde_json::json!({
                    "id": e.item_id,
                    "url": url,
                    "title": "已撤稿",
                    "content_text": format!("该条政务公开信息已撤回。撤稿原因：{reason}"),
                    "date_published": e.published,
                    "date_modified": e.updated,
                    "_gateway": gw,
                }),
                None => serde_json::json!({
                    "id": e.item_id,
                    "url": url,
                    "title": e.title,
                    "content_text": e.body,
                    "date_published": e.published,
                    "date_modified": e.updated,
                    "authors": e.issuer.as_ref().map(|i| vec![serde_json::json!({ "name": i })]),
                    "_gateway": gw,
                }),
            }
        })
        .collect();
    serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed_title(channel),
        "feed_url": format!("{origin}/api/v1/channels/{channel}/feed.json"),
        "language": "zh-CN",
        "items": items,
    })
}

/// The channel as an Atom feed (RFC 4287) for CMSs that read feeds: the
/// latest state of each item, newest first, at most `limit`; a correction
/// replaces the entry (same `id`, newer `updated`, the new serial); a
/// withdrawn item is an RFC 6721 `at:deleted-entry`. Embargoed publications
/// appear once due. Channel role, scope `channel`, as the pull feed.
#[utoipa::path(get, path = "/api/v1/channels/{channel}/feed.atom", tag = "delivery",
    params(("channel" = String, Path), FeedQuery),
    responses((status = 200, description = "Atom feed", content_type = "application/atom+xml"),
        (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn feed_atom(
    State(state): State<AppState>,
    auth: Auth,
    Path(channel): Path<String>,
    AppQuery(q): AppQuery<FeedQuery>,
) -> Result<Response, ApiError> {
    channel_reader(&state, &auth, &channel)?;
    let (entries, origin) = feed_entries(&state, &channel, &q).await?;
    let doc = atom_document(&channel, &state.settings.seal.org_code, &origin, &entries);
    let mut response = doc.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/atom+xml; charset=utf-8"));
    Ok(no_cache(response))
}

/// The channel as a JSON Feed 1.1 (`application/feed+json`): the same
/// entries as `feed.atom`; a withdrawn item has `_gateway.withdrawn: true`.
#[utoipa::path(get, path = "/api/v1/channels/{channel}/feed.json", tag = "delivery",
    params(("channel" = String, Path), FeedQuery),
    responses((status = 200, description = "JSON Feed 1.1", content_type = "application/feed+json"),
        (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn feed_json(
    State(state): State<AppState>,
    auth: Auth,
    Path(channel): Path<String>,
    AppQuery(q): AppQuery<FeedQuery>,
) -> Result<Response, ApiError> {
    channel_reader(&state, &auth, &channel)?;
    let (entries, origin) = feed_entries(&state, &channel, &q).await?;
    let doc = json_feed_document(&channel, &origin, &entries);
    let mut response = serde_json::to_vec(&doc).unwrap_or_default().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/feed+json; charset=utf-8"));
    Ok(no_cache(response))
}

#[cfg(test)]
mod feed_tests {
    use super::*;

    #[test]
    fn xml_escaping_covers_markup_quotes_and_forbidden_characters() {
        assert_eq!(xml_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(xml_escape("政务\n公开\t"), "政务\n公开\t");
        assert_eq!(xml_escape("x\u{0}y\u{1b}z\r"), "x\u{FFFD}y\u{FFFD}z&#13;");
        assert_eq!(xml_escape("\u{FFFE}\u{FFFF}\u{10000}"), "\u{FFFD}\u{FFFD}\u{10000}");
        assert_eq!(xml_escape("]]>"), "]]&gt;");
    }

    #[test]
    fn a_tombstone_and_an_entry() {
        let publish = serde_json::json!({"type": "publish", "item_id": "0196", "event_id": "evt_1", "sequence": 1,
            "serial": "S-1", "supersedes": null, "created_at": "2026-01-01T00:00:00.000Z",
            "envelope": {"content": {"title": "<关于&通知>", "body": "正文", "issuer": "办公室", "doc_number": null}}});
        let withdraw = serde_json::json!({"type": "withdraw", "item_id": "0197", "event_id": "evt_2", "sequence": 2,
            "serial": "S-2", "created_at": "2026-01-02T00:00:00.000Z", "envelope": null, "reason": "错<误>"});
        let entries = [
            FeedEntry::from_event(&withdraw, "2026-01-01T00:00:00.000Z".into()),
            FeedEntry::from_event(&publish, "2026-01-01T00:00:00.000Z".into()),
        ];
        let doc = atom_document("website", "000000", "http://gw", &entries);
        assert!(doc.contains("<title type=\"text\">&lt;关于&amp;通知&gt;</title>"), "{doc}");
        assert!(doc.contains("<at:deleted-entry ref=\"urn:uuid:0197\" when=\"2026-01-02T00:00:00.000Z\">"), "{doc}");
        assert!(doc.contains("<at:comment>已撤稿：错&lt;误&gt;</at:comment>"), "{doc}");
        assert!(doc.contains("href=\"http://gw/api/v1/seals/S-1\""), "{doc}");
        let json = json_feed_document("website", "http://gw", &entries);
        assert_eq!(json["items"][0]["_gateway"]["withdrawn"], true);
        assert_eq!(json["items"][1]["title"], "<关于&通知>");
    }
}
