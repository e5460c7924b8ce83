//! What the receiver answers: applied, already applied, or refused with a
//! stable code, an HTTP status and a reason in English and Chinese. The
//! status follows `docs/delivery.md` §2: 2xx confirms, 409 asks the gateway
//! to retry later, other 4xx refuse (the operator sees the reason), 5xx is
//! the receiver's own failure (retried).

use std::fmt;

/// The answer to one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 200: verified, applied and confirmed.
    Applied(Applied),
    /// 200: this event id was applied before; nothing was done again.
    AlreadyApplied {
        /// The event id.
        event_id: String,
    },
    /// Not applied.
    Refused(Refusal),
}

/// What an applied event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The item is shown with this seal.
    Published {
        /// The item id.
        item_id: String,
        /// The seal serial now shown.
        serial: String,
        /// The serial it replaced in place (更正), if the item was shown.
        replaced: Option<String>,
    },
    /// The item is taken down.
    Withdrawn {
        /// The item id.
        item_id: String,
        /// False when it was not shown (nothing to remove; still confirmed).
        removed: bool,
    },
}

/// Why a delivery was not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// 400: a Standard Webhooks header is missing or empty.
    MissingHeader(&'static str),
    /// 400: `webhook-timestamp` is not an integer.
    BadTimestamp(String),
    /// 401: no `v1a` signature in `webhook-signature` (perhaps only HMAC `v1`).
    NoV1aSignature,
    /// 401: no `v1a` signature verifies with a pinned transport key over the
    /// received id, timestamp and body.
    BadSignature,
    /// 401: the timestamp is outside the tolerance (a replay, or a clock off).
    Replay {
        /// `webhook-timestamp`.
        timestamp: i64,
        /// The receiver's clock.
        now: i64,
        /// The tolerance in seconds.
        tolerance: u64,
    },
    /// 400: the signed body is not an event of `docs/delivery.md`.
    MalformedEvent(String),
    /// 400: `webhook-id` is not the body's `event_id`.
    IdMismatch {
        /// `webhook-id`.
        header: String,
        /// `event_id`.
        body: String,
    },
    /// 422: the event is for another channel.
    WrongChannel {
        /// The event's channel.
        event: String,
        /// This receiver's channel.
        ours: String,
    },
    /// 409: an earlier event of this item has not been applied yet.
    OutOfOrder {
        /// The item.
        item_id: String,
        /// The sequence that comes next.
        expected: u64,
        /// The sequence received.
        got: u64,
    },
    /// 422: a new event id with a sequence already applied (never sent by a
    /// correct gateway: an operator must look).
    Stale {
        /// The item.
        item_id: String,
        /// The last sequence applied.
        last: u64,
        /// The sequence received.
        got: u64,
    },
    /// 422: a publish without a seal envelope.
    Unsealed,
    /// 422: a publish whose envelope carries no content object.
    NoContent,
    /// 422: the seal failed a check of `docs/seal.md` §6.
    Seal {
        /// The failed check's name (`signature`, `content`, `channel`, `key-revocation`, `dev-key`, …).
        check: &'static str,
        /// The verifier's reason.
        reason: String,
    },
    /// 422: the event and its (valid) seal disagree (item, serial, supersedes).
    Mismatch(String),
    /// 422: the sealed content is not a `gov-disclosure/content@1` object with a title and body.
    BadContent(String),
    /// 422: this serial was withdrawn or superseded here and may not come back.
    RetiredSerial {
        /// The serial.
        serial: String,
        /// `withdrawn` or `superseded`.
        status: String,
    },
    /// 409 with `Retry-After`: embargoed until `not_before`.
    NotYet {
        /// The seal's `not_before`.
        not_before: u64,
        /// The receiver's clock.
        now: i64,
    },
    /// 500: the receiver could not record the change (retry).
    Store(String),
}

impl Outcome {
    /// The HTTP status to answer.
    pub fn status(&self) -> u16 {
        match self {
            Outcome::Applied(_) | Outcome::AlreadyApplied { .. } => 200,
            Outcome::Refused(r) => r.status(),
        }
    }

    /// Whether the gateway may count this delivery as confirmed.
    pub fn is_confirmed(&self) -> bool {
        !matches!(self, Outcome::Refused(_))
    }

    /// A stable short code: `applied`, `already-applied`, or the refusal's code.
    pub fn code(&self) -> String {
        match self {
            Outcome::Applied(_) => "applied".into(),
            Outcome::AlreadyApplied { .. } => "already-applied".into(),
            Outcome::Refused(r) => r.code(),
        }
    }

    /// Seconds for `Retry-After`, when retrying later can succeed.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Outcome::Refused(Refusal::NotYet { not_before, now }) => {
                Some(u64::try_from(i128::from(*not_before) - i128::from(*now)).unwrap_or(1).max(1))
            }
            Outcome::Refused(Refusal::OutOfOrder { .. }) => Some(5),
            _ => None,
        }
    }

    /// The reason in English.
    pub fn reason(&self) -> String {
        match self {
            Outcome::Applied(Applied::Published { item_id, serial, replaced: None }) => {
                format!("published item {item_id} with seal {serial}")
            }
            Outcome::Applied(Applied::Published { item_id, serial, replaced: Some(old) }) => {
                format!("published item {item_id} with seal {serial}, replacing {old} in place")
            }
            Outcome::Applied(Applied::Withdrawn { item_id, removed: true }) => format!("withdrew item {item_id}"),
            Outcome::Applied(Applied::Withdrawn { item_id, removed: false }) => {
                format!("item {item_id} is not shown here: nothing to remove, withdrawal confirmed")
            }
            Outcome::AlreadyApplied { event_id } => format!("event {event_id} was already applied; not applied again"),
            Outcome::Refused(r) => r.to_string(),
        }
    }

    /// The reason in Chinese.
    pub fn reason_zh(&self) -> String {
        match self {
            Outcome::Applied(Applied::Published { item_id, serial, replaced: None }) => {
                format!("已发布：事项 {item_id}，专用章 {serial}")
            }
            Outcome::Applied(Applied::Published { item_id, serial, replaced: Some(old) }) => {
                format!("已更正：事项 {item_id} 以专用章 {serial} 原位替换 {old}")
            }
            Outcome::Applied(Applied::Withdrawn { item_id, removed: true }) => format!("已撤下：事项 {item_id}"),
            Outcome::Applied(Applied::Withdrawn { item_id, removed: false }) => {
                format!("事项 {item_id} 未在本渠道发布，无需撤下，确认撤稿")
            }
            Outcome::AlreadyApplied { event_id } => format!("事件 {event_id} 已处理过，未重复处理"),
            Outcome::Refused(r) => r.reason_zh(),
        }
    }

    /// The response body: `{"outcome", "code", "reason", "reason_zh"}`.
    pub fn to_json(&self) -> serde_json::Value {
        let outcome = match self {
            Outcome::Applied(_) => "applied",
            Outcome::AlreadyApplied { .. } => "already-applied",
            Outcome::Refused(_) => "refused",
        };
        serde_json::json!({
            "outcome": outcome,
            "code": self.code(),
            "reason": self.reason(),
            "reason_zh": self.reason_zh(),
        })
    }
}

impl Refusal {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::MissingHeader(_)
            | Refusal::BadTimestamp(_)
            | Refusal::MalformedEvent(_)
            | Refusal::IdMismatch { .. } => 400,
            Refusal::NoV1aSignature | Refusal::BadSignature | Refusal::Replay { .. } => 401,
            Refusal::OutOfOrder { .. } | Refusal::NotYet { .. } => 409,
            Refusal::WrongChannel { .. }
            | Refusal::Stale { .. }
            | Refusal::Unsealed
            | Refusal::NoContent
            | Refusal::Seal { .. }
            | Refusal::Mismatch(_)
            | Refusal::BadContent(_)
            | Refusal::RetiredSerial { .. } => 422,
            Refusal::Store(_) => 500,
        }
    }

    /// A stable code; a failed seal check is `seal:<check>`.
    pub fn code(&self) -> String {
        match self {
            Refusal::MissingHeader(_) => "missing-header",
            Refusal::BadTimestamp(_) => "bad-timestamp",
            Refusal::NoV1aSignature => "no-v1a-signature",
            Refusal::BadSignature => "bad-signature",
            Refusal::Replay { .. } => "replay",
            Refusal::MalformedEvent(_) => "malformed-event",
            Refusal::IdMismatch { .. } => "id-mismatch",
            Refusal::WrongChannel { .. } => "wrong-channel",
            Refusal::OutOfOrder { .. } => "out-of-order",
            Refusal::Stale { .. } => "stale",
            Refusal::Unsealed => "unsealed",
            Refusal::NoContent => "no-content",
            Refusal::Seal { check, .. } => return format!("seal:{check}"),
            Refusal::Mismatch(_) => "mismatch",
            Refusal::BadContent(_) => "bad-content",
            Refusal::RetiredSerial { .. } => "retired-serial",
            Refusal::NotYet { .. } => "not-yet",
            Refusal::Store(_) => "store",
        }
        .into()
    }

    /// The reason in Chinese.
    pub fn reason_zh(&self) -> String {
        match self {
            Refusal::MissingHeader(h) => format!("缺少请求头 {h}"),
            Refusal::BadTimestamp(t) => format!("webhook-timestamp 不是整数：{t}"),
            Refusal::NoV1aSignature => "缺少 v1a（Ed25519）传输签名".into(),
            Refusal::BadSignature => "传输签名无效：不是网关传输密钥的签名，或请求内容被改动".into(),
            Refusal::Replay { timestamp, now, tolerance } => {
                format!("请求时间戳 {timestamp} 与本机时间 {now} 相差超过 {tolerance} 秒：疑似重放，拒收")
            }
            Refusal::MalformedEvent(e) => format!("事件格式错误：{e}"),
            Refusal::IdMismatch { header, body } => format!("webhook-id {header} 与事件编号 {body} 不一致"),
            Refusal::WrongChannel { event, ours } => format!("渠道不符：事件发往 {event}，本接收端是 {ours}"),
            Refusal::OutOfOrder { item_id, expected, got } => {
                format!("顺序不符：事项 {item_id} 下一个应为第 {expected} 号事件，收到第 {got} 号，请稍后重试")
            }
            Refusal::Stale { item_id, last, got } => {
                format!("过期事件：事项 {item_id} 已处理到第 {last} 号，收到新的第 {got} 号事件，拒收")
            }
            Refusal::Unsealed => "未加盖专用章：发布事件没有专用章，拒绝发布".into(),
            Refusal::NoContent => "发布事件未附内容，无法发布".into(),
            Refusal::Seal { check, reason } => format!("专用章校验未通过（{}）：{reason}", check_zh(check)),
            Refusal::Mismatch(what) => format!("事件与专用章不一致：{what}"),
            Refusal::BadContent(what) => format!("专用章内容格式不符：{what}"),
            Refusal::RetiredSerial { serial, status } => {
                let s = if status == "withdrawn" { "已撤回" } else { "已被更正" };
                format!("专用章 {serial} {s}，不得再次发布")
            }
            Refusal::NotYet { not_before, .. } => {
                format!("未到发布时间：{} 之后方可发布，请届时重试", rfc3339(*not_before))
            }
            Refusal::Store(_) => "接收端存储失败，请重试".into(),
        }
    }
}

impl fmt::Display for Refusal {
    /// The reason in English.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::MissingHeader(h) => write!(f, "missing header {h}"),
            Refusal::BadTimestamp(t) => write!(f, "webhook-timestamp {t:?} is not an integer"),
            Refusal::NoV1aSignature => f.write_str("no v1a (Ed25519) signature in webhook-signature"),
            Refusal::BadSignature => f.write_str(
                "transport signature does not verify: not signed by the gateway's transport key, or the request was altered",
            ),
            Refusal::Replay { timestamp, now, tolerance } => write!(
                f,
                "webhook-timestamp {timestamp} is more than {tolerance} s from this receiver's clock ({now}): refused as a possible replay"
            ),
            Refusal::MalformedEvent(e) => write!(f, "not a delivery event: {e}"),
            Refusal::IdMismatch { header, body } => write!(f, "webhook-id {header} is not the event_id {body}"),
            Refusal::WrongChannel { event, ours } => {
                write!(f, "event is for channel {event}, this receiver is channel {ours}")
            }
            Refusal::OutOfOrder { item_id, expected, got } => write!(
                f,
                "out of order: item {item_id} expects sequence {expected}, got {got}; retry after the earlier events"
            ),
            Refusal::Stale { item_id, last, got } => write!(
                f,
                "stale event: item {item_id} is at sequence {last}, got a new event with sequence {got}"
            ),
            Refusal::Unsealed => f.write_str("unsealed: a publish event without a seal envelope is never published"),
            Refusal::NoContent => f.write_str("the seal envelope carries no content to publish"),
            Refusal::Seal { check, reason } => write!(f, "seal check {check} failed: {reason}"),
            Refusal::Mismatch(what) => write!(f, "event and seal disagree: {what}"),
            Refusal::BadContent(what) => write!(f, "sealed content is not usable: {what}"),
            Refusal::RetiredSerial { serial, status } => {
                write!(f, "seal {serial} was {status} here and is not published again")
            }
            Refusal::NotYet { not_before, .. } => {
                write!(f, "embargoed: not to be published before {}", rfc3339(*not_before))
            }
            Refusal::Store(e) => write!(f, "receiver storage failed: {e}"),
        }
    }
}

/// The Chinese name of a seal check (`docs/seal.md` §6).
fn check_zh(check: &str) -> &'static str {
    match check {
        "structure" => "专用章格式",
        "header" => "专用章头",
        "key" => "签名密钥不在密钥集中",
        "signature" => "专用章签名",
        "manifest" => "专用章清单",
        "key-binding" => "密钥绑定",
        "key-validity" => "密钥有效期",
        "key-revocation" => "密钥已吊销",
        "seal-status" => "专用章状态",
        "content" => "内容摘要不符",
        "channel" => "专用章未授权本渠道",
        "not-before" => "未到发布时间",
        "dev-key" => "开发密钥",
        _ => "专用章",
    }
}

pub(crate) fn rfc3339(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| secs.to_string())
}
