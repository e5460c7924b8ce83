//! Channel delivery over HTTP (docs/delivery.md): the transport key set
//! (`/.well-known/webhook-keys`, public), channel endpoints (admin), an
//! item's deliveries with every attempt, redelivery, 撤稿 (withdrawal), and
//! the pull feed for channels (changes with an opaque cursor and long poll,
//! snapshot, confirm, Atom and JSON Feed).
//!
//! The handlers turn requests into calls of `service::delivery`, which
//! checks who may act and has the store save it; the response shapes are
//! defined here, converted from the store's records.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::extract::InPath;
use super::items::readable_item;
use super::{ApiError, AppJson, AppQuery, AppState, Auth};
use crate::channel::EventKind;
use crate::model::ItemId;
use crate::model::{ItemState, Timestamp};
use crate::service::delivery as service;
use crate::store::{
    AttemptRecord, ConnectorConfig, DeliveryRecord, EndpointRecord, PostRecord, Withdrawal, WithdrawalRecord,
};

/// The transport key set as served (`seal::jwks_json`, written there):
/// documentation of its shape only.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TransportKeySet {
    pub keys: Vec<TransportJwk>,
}

/// One transport key (RFC 8037 OKP).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TransportJwk {
    /// `OKP`.
    pub kty: String,
    /// `Ed25519`.
    pub crv: String,
    /// The public key, base64url.
    pub x: String,
    /// The RFC 7638 thumbprint.
    pub kid: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// `EdDSA`.
    pub alg: String,
}

/// The transport key set (JWK Set, OKP/Ed25519) that verifies the
/// `v1a` webhook signatures. Not the seal keys. Public.
#[utoipa::path(get, path = "/.well-known/webhook-keys", tag = "delivery",
    responses((status = 200, description = "JWK Set", body = TransportKeySet, content_type = "application/jwk-set+json")))]
pub async fn webhook_keys(State(state): State<AppState>) -> Response {
    let mut response = state.transport.jwks().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/jwk-set+json"));
    response
}

// ------------------------------------------------------------- response shapes

/// A connector endpoint's configuration: the *name* of its secret, never
/// the secret.
#[derive(Serialize, ToSchema)]
pub struct ConnectorView {
    /// WeChat AppID.
    pub app_id: Option<String>,
    /// An environment variable or a file `<data_dir>/secrets/<name>` (0600).
    pub secret_name: String,
    /// The public seal page, `{serial}` replaced.
    pub link_template: Option<String>,
    /// WeChat `thumb_media_id` (a permanent image material).
    pub cover_media_id: Option<String>,
    /// How often a live post is checked for removal, seconds (0: never).
    pub recheck_secs: i64,
}

impl From<ConnectorConfig> for ConnectorView {
    fn from(c: ConnectorConfig) -> ConnectorView {
        ConnectorView {
            app_id: c.app_id,
            secret_name: c.secret_name,
            link_template: c.link_template,
            cover_media_id: c.cover_media_id,
            recheck_secs: c.recheck_secs,
        }
    }
}

/// A channel endpoint.
#[derive(Serialize, ToSchema)]
pub struct EndpointView {
    pub id: String,
    pub channel: String,
    /// `webhook`, `pull`, or a connector the gateway drives: `wechat`, `weibo`.
    pub kind: String,
    /// The webhook URL; for a connector, the platform's API base.
    pub url: Option<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: String,
    /// A connector's configuration (never its secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector: Option<ConnectorView>,
}

impl From<EndpointRecord> for EndpointView {
    fn from(e: EndpointRecord) -> EndpointView {
        EndpointView {
            id: e.id,
            channel: e.channel,
            kind: e.kind.as_str().to_owned(),
            url: e.url,
            enabled: e.enabled,
            disabled_reason: e.disabled_reason,
            created_at: e.created_at,
            connector: e.connector.map(ConnectorView::from),
        }
    }
}

/// Every endpoint, and the transport key receivers verify with.
#[derive(Serialize, ToSchema)]
pub struct EndpointList {
    pub endpoints: Vec<EndpointView>,
    /// The transport key in Standard Webhooks form (`whpk_…`).
    pub transport_key: String,
}

/// One attempt of a delivery.
#[derive(Serialize, ToSchema)]
pub struct AttemptView {
    pub attempt: i64,
    pub started_at: String,
    pub latency_ms: i64,
    /// The HTTP status the channel (or platform) answered.
    pub status: Option<i64>,
    /// The first 1 KiB of the answer (publication office only).
    pub response_excerpt: Option<String>,
    /// The transport error (publication office only).
    pub error: Option<String>,
}

impl From<AttemptRecord> for AttemptView {
    fn from(a: AttemptRecord) -> AttemptView {
        AttemptView {
            attempt: a.attempt,
            started_at: a.started_at,
            latency_ms: a.latency_ms,
            status: a.status,
            response_excerpt: a.response_excerpt,
            error: a.error,
        }
    }
}

/// What every view of a delivery shows: one event to one endpoint.
#[derive(Serialize, ToSchema)]
pub struct DeliveryFields {
    pub id: String,
    pub event_id: String,
    pub endpoint_id: String,
    pub item_id: String,
    pub channel: String,
    /// The event's sequence in its item and channel.
    pub sequence: i64,
    /// `publish` or `withdraw`.
    pub kind: String,
    pub serial: String,
    pub priority: i64,
    /// `pending`, `delivering`, `delivered`, `failed` or `cancelled`.
    pub state: String,
    pub next_attempt_at: String,
    pub last_status: Option<i64>,
    /// Outside the publication office (in an item's deliveries), only that
    /// it did not succeed.
    pub last_error: Option<String>,
    pub confirmed_at: Option<String>,
    pub created_at: String,
}

impl From<DeliveryRecord> for DeliveryFields {
    fn from(d: DeliveryRecord) -> DeliveryFields {
        DeliveryFields {
            id: d.id,
            event_id: d.event_id,
            endpoint_id: d.endpoint_id,
            item_id: d.item_id,
            channel: d.channel,
            sequence: d.sequence,
            kind: d.kind.as_str().to_owned(),
            serial: d.serial,
            priority: d.priority,
            state: d.state.as_str().to_owned(),
            next_attempt_at: d.next_attempt_at,
            last_status: d.last_status,
            last_error: d.last_error,
            confirmed_at: d.confirmed_at,
            created_at: d.created_at,
        }
    }
}

/// A delivery, with how many attempts were made.
#[derive(Serialize, ToSchema)]
pub struct DeliveryBody {
    #[serde(flatten)]
    pub delivery: DeliveryFields,
    pub attempts: i64,
}

impl From<DeliveryRecord> for DeliveryBody {
    fn from(d: DeliveryRecord) -> DeliveryBody {
        let attempts = d.attempts;
        DeliveryBody { delivery: d.into(), attempts }
    }
}

/// A delivery with every attempt.
#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    #[serde(flatten)]
    pub delivery: DeliveryFields,
    pub attempts: Vec<AttemptView>,
}

impl From<service::DeliveryLog> for DeliveryView {
    fn from(log: service::DeliveryLog) -> DeliveryView {
        DeliveryView {
            delivery: log.delivery.into(),
            attempts: log.attempts.into_iter().map(AttemptView::from).collect(),
        }
    }
}

/// A 撤稿 request, with its confirmation (urgent ones) and escalation.
#[derive(Serialize, ToSchema)]
pub struct WithdrawalView {
    pub id: String,
    pub reason: String,
    pub urgent: bool,
    pub requested_by: String,
    pub requested_at: String,
    pub escalated_at: Option<String>,
    pub completed_at: Option<String>,
    pub confirmed_by: Option<String>,
    pub confirmed_at: Option<String>,
    pub confirm_note: Option<String>,
}

impl From<WithdrawalRecord> for WithdrawalView {
    fn from(w: WithdrawalRecord) -> WithdrawalView {
        WithdrawalView {
            id: w.id,
            reason: w.reason,
            urgent: w.urgent,
            requested_by: w.requested_by,
            requested_at: w.requested_at,
            escalated_at: w.escalated_at,
            completed_at: w.completed_at,
            confirmed_by: w.confirmed_by,
            confirmed_at: w.confirmed_at,
            confirm_note: w.confirm_note,
        }
    }
}

/// A connector's post on its platform.
#[derive(Serialize, ToSchema)]
pub struct PostView {
    pub delivery_id: String,
    pub endpoint_id: String,
    pub item_id: String,
    pub serial: String,
    /// `drafted`, `submitted`, `published`, `rejected`, `removed` or `deleted`.
    pub status: String,
    /// WeChat media_id of the draft.
    pub draft_id: Option<String>,
    /// WeChat publish_id.
    pub job_id: Option<String>,
    /// WeChat article_id, Weibo status id.
    pub post_id: Option<String>,
    /// WeChat article_url, Weibo status URL.
    pub post_url: Option<String>,
    /// Why the platform rejected or removed it (Chinese, from the platform).
    pub reason: Option<String>,
    pub last_checked_at: String,
    pub next_check_at: Option<String>,
}

impl From<PostRecord> for PostView {
    fn from(p: PostRecord) -> PostView {
        PostView {
            delivery_id: p.delivery_id,
            endpoint_id: p.endpoint_id,
            item_id: p.item_id,
            serial: p.serial,
            status: p.status.as_str().to_owned(),
            draft_id: p.draft_id,
            job_id: p.job_id,
            post_id: p.post_id,
            post_url: p.post_url,
            reason: p.reason,
            last_checked_at: p.last_checked_at,
            next_check_at: p.next_check_at,
        }
    }
}

/// What a withdrawal did.
#[derive(Serialize, ToSchema)]
pub struct WithdrawalDone {
    /// The withdrawal request.
    pub id: String,
    /// The seals now `withdrawn`.
    pub serials: Vec<String>,
    /// The channels sent a `withdraw` event.
    pub channels: Vec<String>,
    /// How many withdrawal deliveries were created.
    pub deliveries: usize,
    /// The item's state now: `withdrawing`, or `withdrawn` with nothing to wait for.
    pub state: ItemState,
}

impl From<Withdrawal> for WithdrawalDone {
    fn from(w: Withdrawal) -> WithdrawalDone {
        WithdrawalDone { id: w.id, serials: w.serials, channels: w.channels, deliveries: w.deliveries, state: w.state }
    }
}

/// What a redelivery since a time did.
#[derive(Serialize, ToSchema)]
pub struct Redelivered {
    pub endpoint: String,
    /// How many deliveries are pending again or new.
    pub deliveries: usize,
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
    pub withdrawals: Vec<WithdrawalView>,
    /// Posts of connector channels (WeChat, Weibo): the platform's ids and
    /// URL, and what the platform says (published, rejected, removed…).
    pub connector_posts: Vec<PostView>,
}

impl From<service::ItemDeliveries> for ItemDeliveries {
    fn from(d: service::ItemDeliveries) -> ItemDeliveries {
        ItemDeliveries {
            item_id: d.item.to_string(),
            state: d.state.as_str().to_owned(),
            partially_published: d.partially_published,
            failed: d.failed,
            deliveries: d.deliveries.into_iter().map(DeliveryView::from).collect(),
            withdrawals: d.withdrawals.into_iter().map(WithdrawalView::from).collect(),
            connector_posts: d.posts.into_iter().map(PostView::from).collect(),
        }
    }
}

// ------------------------------------------------------------- endpoints

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

/// Adds a channel endpoint (security administrator).
#[utoipa::path(post, path = "/api/v1/channel-endpoints", tag = "delivery", request_body = NewEndpoint,
    responses((status = 201, body = EndpointView), (status = 403, body = super::Problem), (status = 422, body = super::Problem)))]
pub async fn add_endpoint(
    State(state): State<AppState>,
    auth: Auth,
    AppJson(req): AppJson<NewEndpoint>,
) -> Result<(StatusCode, axum::Json<EndpointView>), ApiError> {
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
    let new = service::NewEndpoint { channel: req.channel, kind: req.kind, url: req.url, connector };
    let ep = service::add_endpoint(&state, &auth.0, new).await?;
    Ok((StatusCode::CREATED, axum::Json(ep.into())))
}

/// Every channel endpoint (security administrator, publication office, auditor).
#[utoipa::path(get, path = "/api/v1/channel-endpoints", tag = "delivery",
    responses((status = 200, body = EndpointList), (status = 403, body = super::Problem)))]
pub async fn list_endpoints(State(state): State<AppState>, auth: Auth) -> Result<axum::Json<EndpointList>, ApiError> {
    let endpoints = service::endpoints(&state, &auth.0).await?;
    Ok(axum::Json(EndpointList {
        endpoints: endpoints.into_iter().map(EndpointView::from).collect(),
        transport_key: state.transport.whpk(),
    }))
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
/// (security administrator, publication office, auditor).
#[utoipa::path(get, path = "/api/v1/channel-endpoints/{id}/deliveries", tag = "delivery",
    params(("id" = String, Path), EndpointLogQuery),
    responses((status = 200, body = Vec<DeliveryView>), (status = 404, body = super::Problem)))]
pub async fn endpoint_deliveries(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    AppQuery(q): AppQuery<EndpointLogQuery>,
) -> Result<axum::Json<Vec<DeliveryView>>, ApiError> {
    let list = service::endpoint_log(&state, &auth.0, &id, q.since.as_deref(), q.state.as_deref(), q.limit).await?;
    Ok(axum::Json(list.into_iter().map(DeliveryView::from).collect()))
}

/// Redeliver everything since a time.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeliverSince {
    /// RFC 3339.
    pub since: String,
}

/// Redelivers every event of the endpoint's channel since `since` to it,
/// and enables it again (publication office or security administrator).
#[utoipa::path(post, path = "/api/v1/channel-endpoints/{id}/redeliver", tag = "delivery", request_body = RedeliverSince,
    params(("id" = String, Path)),
    responses((status = 200, body = Redelivered), (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn redeliver_endpoint(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    AppJson(req): AppJson<RedeliverSince>,
) -> Result<axum::Json<Redelivered>, ApiError> {
    let deliveries = service::redeliver_since(&state, &auth.0, &id, &req.since).await?;
    Ok(axum::Json(Redelivered { endpoint: id, deliveries }))
}

// ------------------------------------------------------------- items

/// Per channel and endpoint: every delivery of the item, its state and
/// every attempt (status, latency, response excerpt).
#[utoipa::path(get, path = "/api/v1/items/{id}/deliveries", tag = "delivery", params(("id" = String, Path)),
    responses((status = 200, body = ItemDeliveries), (status = 404, body = super::Problem)))]
pub async fn item_deliveries(
    State(state): State<AppState>,
    auth: Auth,
    InPath(id): InPath<ItemId>,
) -> Result<axum::Json<ItemDeliveries>, ApiError> {
    let item = readable_item(&state, &auth, id).await?;
    Ok(axum::Json(service::item_deliveries(&state, &auth.0, &item).await?.into()))
}

/// Sends one delivery again (publication office or security
/// administrator); enables its endpoint again.
#[utoipa::path(post, path = "/api/v1/deliveries/{id}/redeliver", tag = "delivery", params(("id" = String, Path)),
    responses((status = 200, body = DeliveryBody), (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn redeliver(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<DeliveryBody>, ApiError> {
    Ok(axum::Json(service::redeliver(&state, &auth.0, &id, None).await?.into()))
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
    responses((status = 200, body = WithdrawalDone), (status = 403, body = super::Problem), (status = 409, body = super::Problem)))]
pub async fn withdraw(
    State(state): State<AppState>,
    auth: Auth,
    InPath(id): InPath<ItemId>,
    AppJson(req): AppJson<WithdrawRequestBody>,
) -> Result<axum::Json<WithdrawalDone>, ApiError> {
    let item = readable_item(&state, &auth, id).await?;
    Ok(axum::Json(service::withdraw(&state, &auth.0, &item, &req.reason, req.urgent).await?.into()))
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
    responses((status = 200, body = WithdrawalView), (status = 403, body = super::Problem), (status = 409, body = super::Problem)))]
pub async fn confirm_withdrawal(
    State(state): State<AppState>,
    auth: Auth,
    InPath(id): InPath<ItemId>,
    AppJson(req): AppJson<ConfirmWithdrawal>,
) -> Result<axum::Json<WithdrawalView>, ApiError> {
    let item = readable_item(&state, &auth, id).await?;
    Ok(axum::Json(service::confirm_withdrawal(&state, &auth.0, &item, &req.note).await?.into()))
}

// ------------------------------------------------------------- channels

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

/// A channel event as pushed and pulled (docs/delivery.md §2): the stored
/// body, passed through unchanged. Documentation of its shape only.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ChannelEvent {
    /// `publish` or `withdraw`.
    #[serde(rename = "type")]
    pub kind: String,
    pub event_id: String,
    pub item_id: String,
    pub channel: String,
    /// Per (item, channel), from 1; a `withdraw` may follow a gap.
    pub sequence: i64,
    pub serial: String,
    /// The serial this publication corrects (更正), if any.
    pub supersedes: Option<String>,
    /// Unix seconds; not to be shown before.
    pub not_before: i64,
    pub created_at: String,
    /// `publish`: the seal and the sealed content; `withdraw`: null.
    pub envelope: Option<ChannelEnvelope>,
    /// `withdraw`: why (Chinese).
    pub reason: Option<String>,
}

/// A `publish` event's envelope: the seal (JWS compact) and the content it
/// seals. Documentation of its shape only.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ChannelEnvelope {
    pub seal: String,
    pub content: super::seals::CanonicalContent,
}

/// A page of the feed.
#[derive(Serialize, ToSchema)]
pub struct Changes {
    /// The events' stored bodies, byte for byte what was pushed.
    #[schema(value_type = Vec<ChannelEvent>)]
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
    let reader = service::channel_reader(&state, &auth.0, &channel)?;
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
        let events = reader.changes(after, limit).await?;
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
    let body = super::Problem {
        kind: "urn:gateway:problem:cursor-expired".into(),
        title: "游标已过期".into(),
        status: 410,
        detail: "该游标早于变更记录的保留期限。请先读取 snapshot，再从其返回的 cursor 继续。".into(),
        errors: Vec::new(),
    };
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
    let (events, head) = service::channel_reader(&state, &auth.0, &channel)?.snapshot().await?;
    let body = Changes { events: events.into_iter().map(|e| e.body).collect(), cursor: cursor(head) };
    Ok(no_cache(axum::Json(body).into_response()))
}

/// An attachment of an item live on the channel, by digest: the `href` of a
/// `publish` event's `attachments`. Channel role, scope `channel`, a token
/// bound to this channel; 404 for a file of an item not (or no longer)
/// published to it. The receiver checks the bytes against the digest the
/// seal covers.
#[utoipa::path(get, path = "/api/v1/channels/{channel}/attachments/{digest}", tag = "delivery",
    params(("channel" = String, Path), ("digest" = String, Path)),
    responses((status = 200, description = "The attachment's bytes, with the media type it was sealed with",
            content_type = "application/octet-stream"),
        (status = 404, body = super::Problem)))]
pub async fn channel_attachment(
    State(state): State<AppState>,
    auth: Auth,
    Path((channel, digest)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let reader = service::channel_reader(&state, &auth.0, &channel)?;
    let digest: seal::ContentDigest = digest.parse().map_err(|_| ApiError::NotFound("该附件"))?;
    let (blob, content) = reader.attachment(&digest).await?;
    Ok(no_cache(super::attachments::file_response(&blob, content)))
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
    service::channel_reader(&state, &auth.0, &channel)?.confirm(&req.event_id).await?;
    Ok(StatusCode::NO_CONTENT)
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
        let kind = body["type"].as_str().and_then(|t| t.parse::<EventKind>().ok());
        let withdrawn = (kind == Some(EventKind::Withdraw)).then(|| text(&body["reason"]).unwrap_or_default());
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
async fn feed_entries(
    state: &AppState,
    reader: &service::ChannelReader<'_>,
    q: &FeedQuery,
) -> Result<(Vec<FeedEntry>, String), ApiError> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let entries =
        reader.latest(limit).await?.into_iter().map(|(e, first)| FeedEntry::from_event(&e.body, first)).collect();
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

/// A JSON Feed 1.1 document (`application/feed+json`). Fields are in
/// alphabetical order, as the document has always been written.
#[derive(Serialize, ToSchema)]
pub struct JsonFeed {
    pub feed_url: String,
    pub items: Vec<JsonFeedItem>,
    /// `zh-CN`.
    pub language: &'static str,
    pub title: String,
    /// `https://jsonfeed.org/version/1.1`.
    pub version: &'static str,
}

/// An entry of the JSON Feed: the latest state of an item.
#[derive(Serialize, ToSchema)]
pub struct JsonFeedItem {
    /// The gateway's extension.
    pub _gateway: JsonFeedGateway,
    /// Absent for a withdrawn item; null without an issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<JsonFeedAuthor>>)]
    pub authors: Option<Option<Vec<JsonFeedAuthor>>>,
    pub content_text: String,
    pub date_modified: String,
    pub date_published: String,
    /// The item id.
    pub id: String,
    pub title: String,
    /// The public seal record.
    pub url: String,
}

/// The issuer of a JSON Feed entry.
#[derive(Serialize, ToSchema)]
pub struct JsonFeedAuthor {
    pub name: String,
}

/// `_gateway` of a JSON Feed entry.
#[derive(Serialize, ToSchema)]
pub struct JsonFeedGateway {
    pub doc_number: Option<String>,
    pub event_id: String,
    pub item_id: String,
    /// Why it was withdrawn.
    pub reason: Option<String>,
    pub sequence: i64,
    pub serial: String,
    pub supersedes: Option<String>,
    pub withdrawn: bool,
}

/// The JSON Feed 1.1 document of a channel; a withdrawn item is an entry
/// with `_gateway.withdrawn: true`.
fn json_feed_document(channel: &str, origin: &str, entries: &[FeedEntry]) -> JsonFeed {
    let items = entries
        .iter()
        .map(|e| {
            let gateway = JsonFeedGateway {
                item_id: e.item_id.clone(),
                serial: e.serial.clone(),
                supersedes: e.supersedes.clone(),
                sequence: e.sequence,
                event_id: e.event_id.clone(),
                withdrawn: e.withdrawn.is_some(),
                reason: e.withdrawn.clone(),
                doc_number: e.doc_number.clone(),
            };
            let url = format!("{origin}/api/v1/seals/{}", e.serial);
            match &e.withdrawn {
                Some(reason) => JsonFeedItem {
                    id: e.item_id.clone(),
                    url,
                    title: "已撤稿".into(),
                    content_text: format!("该条政务公开信息已撤回。撤稿原因：{reason}"),
                    date_published: e.published.clone(),
                    date_modified: e.updated.clone(),
                    authors: None,
                    _gateway: gateway,
                },
                None => JsonFeedItem {
                    id: e.item_id.clone(),
                    url,
                    title: e.title.clone(),
                    content_text: e.body.clone(),
                    date_published: e.published.clone(),
                    date_modified: e.updated.clone(),
                    authors: Some(e.issuer.as_ref().map(|i| vec![JsonFeedAuthor { name: i.clone() }])),
                    _gateway: gateway,
                },
            }
        })
        .collect();
    JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: feed_title(channel),
        feed_url: format!("{origin}/api/v1/channels/{channel}/feed.json"),
        language: "zh-CN",
        items,
    }
}

/// The channel as an Atom feed (RFC 4287) for CMSs that read feeds: the
/// latest state of each item, newest first, at most `limit`; a correction
/// replaces the entry (same `id`, newer `updated`, the new serial); a
/// withdrawn item is an RFC 6721 `at:deleted-entry`. Embargoed publications
/// appear once due. Channel role, scope `channel`, as the pull feed.
#[utoipa::path(get, path = "/api/v1/channels/{channel}/feed.atom", tag = "delivery",
    params(("channel" = String, Path), FeedQuery),
    responses((status = 200, description = "Atom feed (RFC 4287, RFC 6721 tombstones)", body = String, content_type = "application/atom+xml"),
        (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn feed_atom(
    State(state): State<AppState>,
    auth: Auth,
    Path(channel): Path<String>,
    AppQuery(q): AppQuery<FeedQuery>,
) -> Result<Response, ApiError> {
    let reader = service::channel_reader(&state, &auth.0, &channel)?;
    let (entries, origin) = feed_entries(&state, &reader, &q).await?;
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
    responses((status = 200, description = "JSON Feed 1.1", body = JsonFeed, content_type = "application/feed+json"),
        (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn feed_json(
    State(state): State<AppState>,
    auth: Auth,
    Path(channel): Path<String>,
    AppQuery(q): AppQuery<FeedQuery>,
) -> Result<Response, ApiError> {
    let reader = service::channel_reader(&state, &auth.0, &channel)?;
    let (entries, origin) = feed_entries(&state, &reader, &q).await?;
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
        let json = serde_json::to_value(json_feed_document("website", "http://gw", &entries)).unwrap();
        assert_eq!(json["items"][0]["_gateway"]["withdrawn"], true);
        assert_eq!(json["items"][0].get("authors"), None);
        assert_eq!(json["items"][1]["title"], "<关于&通知>");
        assert_eq!(json["items"][1]["authors"][0]["name"], "办公室");
    }
}
