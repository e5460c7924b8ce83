//! Channel delivery's vocabulary and its decisions, pure (docs/delivery.md):
//! the kinds of channel endpoint and what each needs, the states of a
//! delivery and of a connector's post, and where an item goes as its
//! deliveries settle. The store loads and saves; it asks here what the
//! outcome is. No IO, no SQL, no HTTP.
//!
//! Architecture invariant: every `match` on an [`EndpointKind`] or a
//! [`Platform`] is exhaustive, so a new kind of endpoint is a change the
//! compiler walks through (ARCHITECTURE.md, "To add a connector kind").

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::{ItemState, Timestamp, UnknownValue, vocabulary};

vocabulary!(
    /// A platform the gateway publishes to itself, through its connector
    /// (`delivery::connector`): the platform cannot verify a seal.
    Platform {
        /// A WeChat official account (微信公众号).
        Wechat = "wechat" / "微信公众号",
        /// A Weibo account.
        Weibo = "weibo" / "微博",
    }
);

impl Platform {
    /// The platform's real API host, the default API base of an endpoint;
    /// a platform secret goes only there (or where the configuration file
    /// allows).
    pub fn api_host(self) -> &'static str {
        match self {
            Platform::Wechat => "https://api.weixin.qq.com",
            Platform::Weibo => "https://api.weibo.com",
        }
    }
}

/// How a channel endpoint receives events (`channel_endpoints.kind`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum EndpointKind {
    /// Signed POSTs to a URL (Standard Webhooks `v1a`).
    Webhook,
    /// The channel reads the feed and confirms (`/channels/{channel}/…`).
    Pull,
    /// The gateway publishes on a platform through its connector.
    Connector(Platform),
}

impl EndpointKind {
    /// Every kind, in the order they are named to people.
    pub const ALL: [EndpointKind; 4] = [
        EndpointKind::Webhook,
        EndpointKind::Pull,
        EndpointKind::Connector(Platform::Wechat),
        EndpointKind::Connector(Platform::Weibo),
    ];

    /// The stored and API form.
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointKind::Webhook => "webhook",
            EndpointKind::Pull => "pull",
            EndpointKind::Connector(p) => p.as_str(),
        }
    }

    /// What the publication office reads.
    pub fn label(self) -> &'static str {
        match self {
            EndpointKind::Webhook => "推送（Webhook）",
            EndpointKind::Pull => "拉取",
            EndpointKind::Connector(Platform::Wechat) => "微信公众号接口",
            EndpointKind::Connector(Platform::Weibo) => "微博接口",
        }
    }

    /// The name of the channel's platform in messages to people.
    pub fn platform_name(self) -> &'static str {
        match self {
            EndpointKind::Webhook | EndpointKind::Pull => "渠道",
            EndpointKind::Connector(p) => p.label(),
        }
    }

    /// Whether the dispatcher sends this endpoint's deliveries (a pull
    /// endpoint's are confirmed by the channel).
    pub fn is_pushed(self) -> bool {
        match self {
            EndpointKind::Webhook | EndpointKind::Connector(_) => true,
            EndpointKind::Pull => false,
        }
    }

    /// The refusal of an unknown kind (Chinese), naming every kind.
    pub fn unknown_message() -> String {
        let names: Vec<&str> = EndpointKind::ALL.iter().map(|k| k.as_str()).collect();
        let (last, rest) = names.split_last().expect("there are endpoint kinds");
        format!("kind 须为 {} 或 {last}", rest.join("、"))
    }

    /// The kinds that carry a connector configuration, for messages.
    pub fn connector_names() -> String {
        Platform::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>().join("、")
    }
}

impl fmt::Display for EndpointKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EndpointKind {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<EndpointKind, UnknownValue> {
        EndpointKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownValue { vocabulary: "EndpointKind", value: s.chars().take(64).collect() })
    }
}

vocabulary!(
    /// What a channel event asks for (`channel_events.kind`, `deliveries.kind`).
    EventKind {
        Publish = "publish" / "发布",
        Withdraw = "withdraw" / "撤稿",
    }
);

vocabulary!(
    /// Where a delivery is (`deliveries.state`).
    DeliveryState {
        Pending = "pending" / "等待投递",
        Delivering = "delivering" / "投递中",
        Delivered = "delivered" / "已送达并确认",
        Failed = "failed" / "投递失败",
        Cancelled = "cancelled" / "已取消",
    }
);

impl DeliveryState {
    /// Whether the delivery no longer holds up its item: delivered, or
    /// cancelled by a withdrawal.
    pub fn is_settled(self) -> bool {
        match self {
            DeliveryState::Delivered | DeliveryState::Cancelled => true,
            DeliveryState::Pending | DeliveryState::Delivering | DeliveryState::Failed => false,
        }
    }

    /// Whether an operator may resend it from the item page.
    pub fn is_retryable(self) -> bool {
        match self {
            DeliveryState::Failed | DeliveryState::Pending => true,
            DeliveryState::Delivering | DeliveryState::Delivered | DeliveryState::Cancelled => false,
        }
    }

    /// The refusal of an unknown state filter (Chinese).
    pub fn unknown_message() -> String {
        let names: Vec<&str> = DeliveryState::ALL.iter().map(|s| s.as_str()).collect();
        let (last, rest) = names.split_last().expect("there are delivery states");
        format!("state 须为 {} 或 {last}", rest.join("、"))
    }
}

vocabulary!(
    /// A connector's post on its platform (`connector_posts.status`).
    PostStatus {
        /// WeChat: the draft exists.
        Drafted = "drafted" / "平台草稿已建",
        /// Submitted for publication; the platform has not decided.
        Submitted = "submitted" / "已提交平台发布，等待平台结果",
        Published = "published" / "平台已发布",
        /// The platform refused it for good.
        Rejected = "rejected" / "平台未通过",
        /// Removed on the platform, not by us.
        Removed = "removed" / "已被平台删除或屏蔽",
        /// Deleted by the gateway (withdrawal, correction, stray post).
        Deleted = "deleted" / "已从平台删除",
    }
);

impl PostStatus {
    /// Whether the post is, or may still become, visible on the platform.
    pub fn may_be_live(self) -> bool {
        match self {
            PostStatus::Submitted | PostStatus::Published => true,
            PostStatus::Drafted | PostStatus::Rejected | PostStatus::Removed | PostStatus::Deleted => false,
        }
    }
}

// ------------------------------------------------------------- decisions

/// What the publication office is told when a platform rejects a
/// publication for good (`Outcome::Rejected`).
pub fn rejected_notice(item: &str, kind: EndpointKind, reason: &str) -> String {
    format!("事项 {item} 在{}发布失败：{reason}。该渠道未发布，事项为部分发布，请处理。", kind.platform_name())
}

/// How an attempt ended (reported by the dispatcher and the connectors).
#[derive(Clone, Debug)]
pub enum Outcome {
    /// 2xx: applied and confirmed.
    Delivered { status: i64, latency_ms: i64, excerpt: String },
    /// 410 Gone: the endpoint is disabled; the delivery waits for it.
    Gone { latency_ms: i64, excerpt: String },
    /// 422: the channel refused the event for good (a bad or unauthorised
    /// seal): `failed` at once, for an operator to see; the endpoint stays
    /// enabled for other items.
    Refused { latency_ms: i64, excerpt: String },
    /// A connector's platform accepted the publication and finishes it
    /// asynchronously (WeChat `freepublish/submit`): the delivery waits,
    /// pending, and the connector asks for the result at `poll_at`.
    Accepted { status: i64, latency_ms: i64, excerpt: String, poll_at: Timestamp },
    /// A connector's platform rejected the publication for good (WeChat
    /// review, a duplicate on Weibo): `failed` at once with the platform's
    /// reason; the endpoint stays enabled.
    Rejected { status: i64, latency_ms: i64, excerpt: String, reason: String },
    /// Anything else: retry at `retry_at`, or give up when `give_up`.
    Failed {
        status: Option<i64>,
        latency_ms: i64,
        excerpt: Option<String>,
        error: Option<String>,
        retry_at: Timestamp,
        give_up: bool,
    },
}

/// What an attempt row records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptLog {
    pub status: Option<i64>,
    pub latency_ms: i64,
    pub excerpt: Option<String>,
    pub error: Option<String>,
}

/// What an attempt's outcome makes of its delivery, and what follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settlement {
    pub state: DeliveryState,
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
    pub confirmed: bool,
    pub then: Consequence,
}

/// What follows an attempt that held its claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Consequence {
    /// The item may move on ([`progress`]).
    ProgressItem,
    /// The endpoint is disabled, for this reason.
    DisableEndpoint(&'static str),
    /// The channel refused the event for good (`delivery.refused`).
    Refused,
    /// The platform rejected the publication (`delivery.rejected`).
    Rejected,
    /// The retry window closed: the endpoint is disabled and the delivery
    /// failed (`delivery.failed`).
    GaveUp,
    Nothing,
}

impl Outcome {
    /// The attempt as logged.
    pub fn log(&self) -> AttemptLog {
        let (status, latency_ms, excerpt, error) = match self {
            Outcome::Delivered { status, latency_ms, excerpt } => {
                (Some(*status), *latency_ms, Some(excerpt.clone()), None)
            }
            Outcome::Gone { latency_ms, excerpt } => (Some(410), *latency_ms, Some(excerpt.clone()), None),
            Outcome::Refused { latency_ms, excerpt } => (Some(422), *latency_ms, Some(excerpt.clone()), None),
            Outcome::Accepted { status, latency_ms, excerpt, .. } => {
                (Some(*status), *latency_ms, Some(excerpt.clone()), None)
            }
            Outcome::Rejected { status, latency_ms, excerpt, reason } => {
                (Some(*status), *latency_ms, Some(excerpt.clone()), Some(reason.clone()))
            }
            Outcome::Failed { status, latency_ms, excerpt, error, .. } => {
                (*status, *latency_ms, excerpt.clone(), error.clone())
            }
        };
        AttemptLog { status, latency_ms, excerpt, error }
    }

    /// The delivery's next state and what follows (2xx delivered, 410
    /// endpoint disabled and waiting, 422 and a platform's rejection failed
    /// for good, anything else retried until the window closes).
    pub fn settle(&self, now: Timestamp) -> Settlement {
        let settlement = |state, next_attempt_at, last_error: Option<String>, then| Settlement {
            state,
            next_attempt_at,
            last_error,
            confirmed: state == DeliveryState::Delivered,
            then,
        };
        match self {
            Outcome::Delivered { .. } => settlement(DeliveryState::Delivered, now, None, Consequence::ProgressItem),
            Outcome::Gone { .. } => settlement(
                DeliveryState::Pending,
                now,
                Some("410 Gone: endpoint disabled".to_owned()),
                Consequence::DisableEndpoint("the endpoint answered 410 Gone"),
            ),
            Outcome::Refused { .. } => settlement(
                DeliveryState::Failed,
                now,
                Some("refused by the channel (422)".to_owned()),
                Consequence::Refused,
            ),
            Outcome::Accepted { poll_at, .. } => {
                settlement(DeliveryState::Pending, *poll_at, None, Consequence::Nothing)
            }
            Outcome::Rejected { reason, .. } => {
                settlement(DeliveryState::Failed, now, Some(reason.clone()), Consequence::Rejected)
            }
            Outcome::Failed { status, error, retry_at, give_up, .. } => {
                let why = error.clone().unwrap_or_else(|| format!("HTTP {}", status.unwrap_or(0)));
                if *give_up {
                    settlement(DeliveryState::Failed, *retry_at, Some(why), Consequence::GaveUp)
                } else {
                    settlement(DeliveryState::Pending, *retry_at, Some(why), Consequence::Nothing)
                }
            }
        }
    }
}

/// A move of an item's state that delivery makes, with the reason the
/// `item.state` audit event records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move {
    pub from: &'static [ItemState],
    pub to: ItemState,
}

/// The first claim of a delivery starts the item's delivery.
pub const DELIVERY_STARTS: Move = Move { from: &[ItemState::Sealed, ItemState::Scheduled], to: ItemState::Delivering };

/// After the sealing transaction planned `deliveries` deliveries due at
/// `due`: an embargoed item with something to deliver waits `scheduled`.
pub fn after_planning(deliveries: usize, due: Timestamp, now: Timestamp) -> Option<Move> {
    (deliveries > 0 && due > now).then_some(Move { from: &[ItemState::Sealed], to: ItemState::Scheduled })
}

/// What settles an item once every delivery of one kind is settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The deliveries that must all be settled.
    pub awaiting: EventKind,
    pub to: ItemState,
    /// For the audit event.
    pub reason: &'static str,
}

/// After a delivery of an item in `state` settled: what the item waits for
/// to move on, if anything (`delivering → published` when no publication
/// is outstanding; `withdrawing → withdrawn` when every withdrawal is
/// confirmed).
pub fn progress(state: ItemState) -> Option<Progress> {
    match state {
        ItemState::Delivering | ItemState::Sealed | ItemState::Scheduled => {
            Some(Progress { awaiting: EventKind::Publish, to: ItemState::Published, reason: "every channel confirmed" })
        }
        ItemState::Withdrawing => Some(Progress {
            awaiting: EventKind::Withdraw,
            to: ItemState::Withdrawn,
            reason: "every channel confirmed removal",
        }),
        _ => None,
    }
}

/// Where a withdrawal (撤稿) takes an item in `state`, if it may be
/// withdrawn: it was sealed and not withdrawn yet.
pub fn withdrawal(state: ItemState) -> Option<ItemState> {
    matches!(state, ItemState::Sealed | ItemState::Scheduled | ItemState::Delivering | ItemState::Published)
        .then_some(ItemState::Withdrawing)
}

/// Separation of duties for an urgent withdrawal: whoever triggered it
/// does not confirm it. The refusal, if any (the store's conflict text).
pub fn confirmation_refused(requested_by: &str, by: &str) -> Option<&'static str> {
    (requested_by == by).then_some("an urgent withdrawal is confirmed by someone else")
}

/// Whether a delivery may be sent again: never one a withdrawal cancelled,
/// nor a publication whose seal was withdrawn. The refusal, if any.
pub fn redelivery_refused(state: DeliveryState, kind: EventKind, seal_withdrawn: bool) -> Option<&'static str> {
    let withdrawn = state == DeliveryState::Cancelled || (kind == EventKind::Publish && seal_withdrawn);
    withdrawn.then_some("the publication was withdrawn")
}

/// When a connector's post is checked again for removal on the platform:
/// only a live one, and only if the endpoint asks for rechecks.
pub fn next_recheck(status: PostStatus, recheck_secs: Option<i64>, now: Timestamp) -> Option<Timestamp> {
    match status {
        PostStatus::Published => recheck_secs
            .filter(|s| *s > 0)
            .map(|s| Timestamp::from_offset(now.as_offset() + time::Duration::seconds(s))),
        PostStatus::Drafted
        | PostStatus::Submitted
        | PostStatus::Rejected
        | PostStatus::Removed
        | PostStatus::Deleted => None,
    }
}

/// Where a channel fetches an attachment of an item published to it,
/// relative to the gateway's base URL (the channel's token authorises it).
pub fn attachment_href(channel: &str, digest: &str) -> String {
    format!("/api/v1/channels/{channel}/attachments/{digest}")
}

/// The `attachments` of a `publish` event: each attachment the sealed
/// content lists (name, digest, media type, size, as sealed), with the
/// `href` the channel fetches it from. Empty for content without any (and
/// for a `withdraw`, which has no content).
pub fn attachment_links(channel: &str, content: &serde_json::Value) -> serde_json::Value {
    let listed = content.get("attachments").and_then(serde_json::Value::as_array).cloned().unwrap_or_default();
    listed
        .into_iter()
        .map(|mut a| {
            let href = a.get("digest").and_then(serde_json::Value::as_str).map(|d| attachment_href(channel, d));
            if let (Some(obj), Some(href)) = (a.as_object_mut(), href) {
                obj.insert("href".into(), href.into());
            }
            a
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_name_themselves() {
        for k in EndpointKind::ALL {
            assert_eq!(k.as_str().parse::<EndpointKind>().unwrap(), k);
        }
        assert!("Webhook".parse::<EndpointKind>().is_err());
        assert_eq!(EndpointKind::unknown_message(), "kind 须为 webhook、pull、wechat 或 weibo");
        assert_eq!(EndpointKind::connector_names(), "wechat、weibo");
        assert_eq!(DeliveryState::unknown_message(), "state 须为 pending、delivering、delivered、failed 或 cancelled");
        for s in PostStatus::ALL {
            assert_eq!(s.as_str().parse::<PostStatus>().unwrap(), *s);
        }
    }

    #[test]
    fn items_progress_as_their_deliveries_settle() {
        assert_eq!(progress(ItemState::Delivering).unwrap().to, ItemState::Published);
        assert_eq!(progress(ItemState::Withdrawing).unwrap().awaiting, EventKind::Withdraw);
        assert_eq!(progress(ItemState::Withdrawn), None);
        assert_eq!(progress(ItemState::Published), None);
        let now = Timestamp::now();
        let later = Timestamp::from_offset(now.as_offset() + time::Duration::hours(1));
        assert_eq!(after_planning(1, later, now).unwrap().to, ItemState::Scheduled);
        assert_eq!(after_planning(0, later, now), None);
        assert_eq!(after_planning(1, now, now), None);
        assert_eq!(withdrawal(ItemState::Withdrawing), None);
        assert_eq!(withdrawal(ItemState::Published), Some(ItemState::Withdrawing));
    }

    #[test]
    fn duties_and_redelivery() {
        assert!(confirmation_refused("u1", "u1").is_some());
        assert!(confirmation_refused("u1", "u2").is_none());
        assert!(redelivery_refused(DeliveryState::Cancelled, EventKind::Withdraw, false).is_some());
        assert!(redelivery_refused(DeliveryState::Failed, EventKind::Publish, true).is_some());
        assert!(redelivery_refused(DeliveryState::Failed, EventKind::Withdraw, true).is_none());
        let now = Timestamp::now();
        assert!(next_recheck(PostStatus::Published, Some(60), now).is_some());
        assert!(next_recheck(PostStatus::Published, Some(0), now).is_none());
        assert!(next_recheck(PostStatus::Submitted, Some(60), now).is_none());
    }
}
