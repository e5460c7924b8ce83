//! The delivery use cases (docs/delivery.md): channel endpoints, an item's
//! deliveries, redelivery, 撤稿 and its confirmation, and what a channel
//! reads. Each checks who may act, validates what was asked, and has the
//! store save it in one transaction (whose consequences `channel` decides);
//! then it wakes the dispatcher and the feed readers.
//!
//! The JSON API (`http/delivery.rs`) and the pages (`http/web/`) call these
//! functions; neither calls the other's handlers. Item visibility is the
//! caller's check before an item-scoped use case (`http::items::readable_item`
//! today), which hands over the item it found.

use seal::ContentDigest;

use crate::auth::{Principal, Role, Scope};
use crate::channel::DeliveryState;
use crate::model::{ItemId, ItemRecord, ItemState, Timestamp};
use crate::service::Error;
use crate::state::AppState;
use crate::store::{
    AttemptRecord, Blob, ConnectorConfig, DeliveryRecord, EndpointRecord, FeedEvent, PostRecord, StoreError,
    WithdrawRequest, Withdrawal, WithdrawalRecord,
};

/// Who manages channel endpoints (三员分立: the security administrator).
const ENDPOINT_MANAGERS: [Role; 1] = [Role::SecurityAdmin];
/// Who reads endpoints and their delivery logs.
const DELIVERY_READERS: [Role; 3] = [Role::SecurityAdmin, Role::Publisher, Role::Auditor];
/// Who sends deliveries again.
const REDELIVERERS: [Role; 2] = [Role::Publisher, Role::SecurityAdmin];
/// Who sees what channels answered (it may name internal hosts or carry
/// what a platform sent back); others see states and status codes.
const ANSWER_READERS: [Role; 3] = [Role::Publisher, Role::SecurityAdmin, Role::Auditor];
/// Who withdraws routinely (政务公开办公室).
const ROUTINE_WITHDRAWERS: [Role; 1] = [Role::Publisher];
/// Who may trigger an urgent withdrawal alone (保密审查员, 主要领导).
const URGENT_WITHDRAWERS: [Role; 2] = [Role::SecrecyReviewer, Role::Leader];
/// Who confirms an urgent withdrawal afterwards (not its author).
const WITHDRAWAL_CONFIRMERS: [Role; 2] = [Role::Publisher, Role::Leader];

/// The longest 撤稿 reason or confirmation note, characters.
const MAX_NOTE_CHARS: usize = 500;

fn require_any(actor: &Principal, roles: &[Role]) -> Result<(), Error> {
    if roles.iter().any(|r| actor.has_role(*r)) {
        return Ok(());
    }
    let names: Vec<&str> = roles.iter().map(|r| r.label()).collect();
    Err(Error::Forbidden(format!("此操作需要以下角色之一：{}。", names.join("、"))))
}

fn require_scope(actor: &Principal, scope: Scope) -> Result<(), Error> {
    if actor.has_scope(scope) {
        return Ok(());
    }
    let name = match scope {
        Scope::ItemsRead => "items:read",
        Scope::ItemsWrite => "items:write",
        Scope::Review => "review",
        Scope::Channel => "channel",
        Scope::Admin => "admin",
    };
    Err(Error::Forbidden(format!("此 API 令牌没有所需的权限范围（{name}）。")))
}

/// `NotFound(what)` for a store's `NotFound`, the rest as it is.
fn not_found(what: &'static str) -> impl Fn(StoreError) -> Error {
    move |e| match e {
        StoreError::NotFound => Error::NotFound(what),
        other => Error::Store(other),
    }
}

fn parse_since(since: &str) -> Result<Timestamp, Error> {
    Timestamp::parse(since).map_err(|_| Error::invalid("since", "since 须为 RFC 3339 时间"))
}

// ------------------------------------------------------------- endpoints

/// A new channel endpoint, as asked.
pub struct NewEndpoint {
    pub channel: String,
    /// `webhook` when absent; checked against [`crate::channel::EndpointKind`].
    pub kind: Option<String>,
    pub url: Option<String>,
    pub connector: Option<ConnectorConfig>,
}

/// Adds a channel endpoint (security administrator, `admin` scope).
pub async fn add_endpoint(state: &AppState, actor: &Principal, new: NewEndpoint) -> Result<EndpointRecord, Error> {
    require_any(actor, &ENDPOINT_MANAGERS)?;
    require_scope(actor, Scope::Admin)?;
    let (kind, url) = crate::delivery::check_endpoint(
        &state.settings,
        &new.channel,
        new.kind.as_deref(),
        new.url.as_deref(),
        new.connector.as_ref(),
    )
    .map_err(|(field, why)| Error::invalid(field, why))?;
    Ok(state.db.add_endpoint(&new.channel, kind, url.as_deref(), new.connector.as_ref(), Some(actor.user_id)).await?)
}

/// Disables an endpoint (security administrator), with a reason: its
/// deliveries wait until it is enabled again (补发 enables it).
pub async fn disable_endpoint(
    state: &AppState,
    actor: &Principal,
    id: &str,
    reason: &str,
) -> Result<EndpointRecord, Error> {
    require_any(actor, &ENDPOINT_MANAGERS)?;
    require_scope(actor, Scope::Admin)?;
    let reason = note(reason, "reason", "请填写停用原因（不超过 500 字）")?;
    state.db.disable_endpoint_by(id, actor.user_id, &reason).await.map_err(|e| match e {
        StoreError::NotFound => Error::NotFound("该发布渠道端点"),
        StoreError::Conflict(_) => Error::Conflict("该端点已经停用。如需恢复，请用“补发此后全部事件”重新启用。".into()),
        other => other.into(),
    })
}

/// What testing an endpoint found, in the office's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndpointTest {
    /// The webhook answered the signed test event with success.
    Reached,
    /// The webhook answered, but not with success (its status).
    Answered(u16),
    /// The webhook could not be reached (why, redacted).
    Unreachable(String),
    /// A pull endpoint: the channel reads with its token; nothing to reach.
    Pull,
    /// A connector whose secret is in place (its name).
    SecretFound(String),
    /// A connector whose secret cannot be read (why).
    SecretMissing(String),
}

impl EndpointTest {
    /// The result as a sentence, and whether it is good news.
    pub fn message(&self) -> (String, bool) {
        match self {
            EndpointTest::Reached => ("测试成功：端点已收到签名的测试消息并确认。".into(), true),
            EndpointTest::Answered(status) => (
                format!(
                    "测试未通过：端点收到了测试消息，但未确认（对方回应状态码 {status}）。请联系接收方核对签名公钥和接收程序。"
                ),
                false,
            ),
            EndpointTest::Unreachable(why) => (format!("测试未通过：无法连接端点（{why}）。请核对地址和网络。"), false),
            EndpointTest::Pull => {
                ("拉取方式的渠道由接收方凭令牌自行拉取，网关无需连接；请确认接收方已取得渠道令牌。".into(), true)
            }
            EndpointTest::SecretFound(name) => {
                (format!("连接器密钥 {name} 已就绪；首次发布时将向平台取得访问令牌。"), true)
            }
            EndpointTest::SecretMissing(why) => (format!("测试未通过：{why}"), false),
        }
    }
}

/// Tests an endpoint (security administrator): a webhook is sent a signed
/// test event through the outbound rules; a connector's secret is looked
/// up by its name (never shown); a pull endpoint needs nothing.
pub async fn test_endpoint(state: &AppState, actor: &Principal, id: &str) -> Result<EndpointTest, Error> {
    require_any(actor, &ENDPOINT_MANAGERS)?;
    require_scope(actor, Scope::Admin)?;
    let endpoint = state.db.endpoint(id).await.map_err(not_found("该发布渠道端点"))?;
    Ok(match (endpoint.kind, endpoint.url.as_deref(), endpoint.connector.as_ref()) {
        (crate::channel::EndpointKind::Pull, _, _) => EndpointTest::Pull,
        (crate::channel::EndpointKind::Connector(_), _, Some(c)) => {
            match crate::delivery::connector::read_secret(&state.settings, &c.secret_name) {
                Ok(_) => EndpointTest::SecretFound(c.secret_name.clone()),
                Err(why) => EndpointTest::SecretMissing(why),
            }
        }
        (_, Some(url), _) => match crate::delivery::ping(&state.settings, &state.transport, url).await {
            Ok(status) if (200..300).contains(&status) => EndpointTest::Reached,
            Ok(status) => EndpointTest::Answered(status),
            Err(why) => EndpointTest::Unreachable(why),
        },
        _ => EndpointTest::Unreachable("端点没有地址".into()),
    })
}

/// Every endpoint (security administrator, publication office, auditor).
pub async fn endpoints(state: &AppState, actor: &Principal) -> Result<Vec<EndpointRecord>, Error> {
    require_any(actor, &DELIVERY_READERS)?;
    Ok(state.db.endpoints().await?)
}

/// One delivery and its attempts.
#[derive(Clone, Debug)]
pub struct DeliveryLog {
    pub delivery: DeliveryRecord,
    pub attempts: Vec<AttemptRecord>,
}

impl DeliveryLog {
    /// Without what channels answered and transport errors.
    fn without_answers(mut self) -> DeliveryLog {
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

fn logs(list: Vec<(DeliveryRecord, Vec<AttemptRecord>)>) -> impl Iterator<Item = DeliveryLog> {
    list.into_iter().map(|(delivery, attempts)| DeliveryLog { delivery, attempts })
}

/// The delivery log of an endpoint: created since `since` (RFC 3339;
/// default the last 7 days), optionally in one state, newest first, at
/// most `limit` (≤ 1000, default 200).
pub async fn endpoint_log(
    state: &AppState,
    actor: &Principal,
    endpoint: &str,
    since: Option<&str>,
    delivery_state: Option<&str>,
    limit: Option<i64>,
) -> Result<Vec<DeliveryLog>, Error> {
    require_any(actor, &DELIVERY_READERS)?;
    state.db.endpoint(endpoint).await.map_err(not_found("该发布渠道端点"))?;
    let since = match since {
        Some(t) => parse_since(t)?,
        None => Timestamp::from_offset(Timestamp::now().as_offset() - time::Duration::days(7)),
    };
    let delivery_state: Option<DeliveryState> = delivery_state
        .map(|s| s.parse().map_err(|_| Error::invalid("state", DeliveryState::unknown_message())))
        .transpose()?;
    let limit = limit.unwrap_or(200).clamp(1, 1000);
    let list = state.db.deliveries_of_endpoint(endpoint, since, delivery_state, limit).await?;
    Ok(logs(list).collect())
}

/// Redelivers every event of the endpoint's channel since `since` (RFC
/// 3339) to it and enables it again (publication office, security
/// administrator). Returns how many deliveries.
pub async fn redeliver_since(state: &AppState, actor: &Principal, endpoint: &str, since: &str) -> Result<usize, Error> {
    require_any(actor, &REDELIVERERS)?;
    let since = parse_since(since)?;
    let n =
        state.db.redeliver_since(endpoint, since, Some(actor.user_id)).await.map_err(not_found("该发布渠道端点"))?;
    state.wake_delivery().await;
    Ok(n)
}

// ------------------------------------------------------------- an item's deliveries

/// An item's deliveries, withdrawals and connector posts.
#[derive(Clone, Debug)]
pub struct ItemDeliveries {
    pub item: ItemId,
    pub state: ItemState,
    /// Some delivery of a publication failed for good.
    pub partially_published: bool,
    /// Deliveries that gave up.
    pub failed: Vec<String>,
    pub deliveries: Vec<DeliveryLog>,
    pub withdrawals: Vec<WithdrawalRecord>,
    pub posts: Vec<PostRecord>,
}

/// Every delivery of a readable `item` with its attempts (what channels
/// answered only for the publication office), its withdrawals and posts.
pub async fn item_deliveries(state: &AppState, actor: &Principal, item: &ItemRecord) -> Result<ItemDeliveries, Error> {
    let list = state.db.deliveries_of_item(item.id).await?;
    let failed = list.iter().filter(|(d, _)| d.state == DeliveryState::Failed).map(|(d, _)| d.id.clone()).collect();
    let partially_published =
        list.iter().any(|(d, _)| d.state == DeliveryState::Failed && d.kind == crate::channel::EventKind::Publish);
    let office = ANSWER_READERS.iter().any(|r| actor.has_role(*r));
    Ok(ItemDeliveries {
        item: item.id,
        state: item.state,
        partially_published,
        failed,
        deliveries: logs(list).map(|l| if office { l } else { l.without_answers() }).collect(),
        withdrawals: state.db.withdrawals_of_item(item.id).await?,
        posts: state.db.posts_of_item(item.id).await?,
    })
}

/// Sends one delivery again and enables its endpoint (publication office,
/// security administrator). With `of_item`, the delivery must be one of
/// that item's (a page names the item in its URL): else it is not found.
pub async fn redeliver(
    state: &AppState,
    actor: &Principal,
    delivery: &str,
    of_item: Option<ItemId>,
) -> Result<DeliveryRecord, Error> {
    require_any(actor, &REDELIVERERS)?;
    if let Some(item) = of_item {
        let d = state.db.delivery(delivery).await.map_err(not_found("该投递"))?;
        if d.item_id != item.to_string() {
            return Err(Error::NotFound("该投递"));
        }
    }
    let d = state.db.redeliver(delivery, Some(actor.user_id)).await.map_err(not_found("该投递"))?;
    state.wake_delivery().await;
    Ok(d)
}

// ------------------------------------------------------------- 撤稿

/// A reason or note: trimmed, 1 to 500 characters.
fn note(text: &str, field: &str, message: &str) -> Result<String, Error> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_NOTE_CHARS {
        return Err(Error::invalid(field, message));
    }
    Ok(text.to_owned())
}

/// Withdraws a readable `item` (撤稿). Routine: 政务公开办公室; urgent: one
/// 保密审查员 or 主要领导, confirmed afterwards.
pub async fn withdraw(
    state: &AppState,
    actor: &Principal,
    item: &ItemRecord,
    reason: &str,
    urgent: bool,
) -> Result<Withdrawal, Error> {
    require_scope(actor, Scope::Review)?;
    require_any(actor, if urgent { &URGENT_WITHDRAWERS } else { &ROUTINE_WITHDRAWERS })?;
    let reason = note(reason, "reason", "请填写撤稿原因（不超过 500 字）")?;
    let request = WithdrawRequest { item: item.id, reason: &reason, urgent, actor: actor.user_id };
    let done = state.db.withdraw_item(request).await.map_err(|e| match e {
        StoreError::WrongState { state } => Error::Conflict(format!(
            "事项当前状态为“{}”，只有已盖章、待发布、发布中或已发布的事项才能撤稿。",
            state.label()
        )),
        other => other.into(),
    })?;
    tracing::warn!(item = %item.id, urgent, serials = ?done.serials, "item withdrawn");
    state.wake_delivery().await;
    Ok(done)
}

/// Confirms the urgent withdrawal of a readable `item` afterwards
/// (政务公开办公室 or 主要领导; never whoever triggered it).
pub async fn confirm_withdrawal(
    state: &AppState,
    actor: &Principal,
    item: &ItemRecord,
    text: &str,
) -> Result<WithdrawalRecord, Error> {
    require_scope(actor, Scope::Review)?;
    require_any(actor, &WITHDRAWAL_CONFIRMERS)?;
    let text = note(text, "note", "请填写确认意见（不超过 500 字）")?;
    Ok(state.db.confirm_withdrawal(item.id, actor.user_id, &text).await?)
}

// ------------------------------------------------------------- channels

/// A check passed: the actor reads `channel` (a `channel` token bound to
/// it, of a user who still holds the channel role). The channel's reads
/// and confirmations go through it.
pub struct ChannelReader<'a> {
    state: &'a AppState,
    channel: &'a str,
}

/// Checks that `actor` may read and confirm `channel`'s events.
pub fn channel_reader<'a>(
    state: &'a AppState,
    actor: &Principal,
    channel: &'a str,
) -> Result<ChannelReader<'a>, Error> {
    require_scope(actor, Scope::Channel)?;
    require_any(actor, &[Role::Channel])?;
    if !state.settings.channels.iter().any(|c| c == channel) {
        return Err(Error::NotFound("该发布渠道"));
    }
    if !actor.reads_channel(channel) {
        return Err(Error::Forbidden(format!(
            "此令牌未绑定发布渠道“{channel}”。请使用为该渠道签发的令牌（gateway token create --scope channel --channel {channel}）。"
        )));
    }
    Ok(ChannelReader { state, channel })
}

impl ChannelReader<'_> {
    pub fn channel(&self) -> &str {
        self.channel
    }

    /// The bytes of an attachment of an item live on this channel (see
    /// `Db::channel_publishes_attachment`); `NotFound` for anything else,
    /// so that a channel learns nothing of other channels' files.
    pub async fn attachment(&self, digest: &ContentDigest) -> Result<(Blob, Vec<u8>), Error> {
        if !self.state.db.channel_publishes_attachment(self.channel, digest).await? {
            return Err(Error::NotFound("该附件"));
        }
        self.state.db.blob_content(digest).await.map_err(|e| match e {
            StoreError::NotFound => Error::NotFound("该附件"),
            other => other.into(),
        })
    }

    /// The events after feed position `after`, oldest first, at most `limit`.
    pub async fn changes(&self, after: i64, limit: i64) -> Result<Vec<FeedEvent>, Error> {
        Ok(self.state.db.channel_feed(self.channel, after, limit).await?)
    }

    /// Every live publication and the feed position it reflects.
    pub async fn snapshot(&self) -> Result<(Vec<FeedEvent>, i64), Error> {
        Ok(self.state.db.channel_snapshot(self.channel).await?)
    }

    /// The latest due event of each item, newest first, with when the item
    /// was first published in the channel.
    pub async fn latest(&self, limit: i64) -> Result<Vec<(FeedEvent, String)>, Error> {
        Ok(self.state.db.channel_feed_latest(self.channel, limit).await?)
    }

    /// The channel applied an event (for `withdraw`: removed it).
    pub async fn confirm(&self, event_id: &str) -> Result<(), Error> {
        if self.state.db.confirm_pull(self.channel, event_id).await? {
            Ok(())
        } else {
            Err(Error::NotFound("该事件"))
        }
    }
}
