//! Storage of channel delivery (docs/delivery.md): endpoints, the
//! per-channel events fanned out from the outbox, deliveries (the work
//! queue: claim with a lease, per-(item, endpoint) order, retries), their
//! attempts, withdrawals (撤稿), redelivery and the pull feed.
//!
//! The fan-out ([`plan_publish`], and the withdrawal) runs inside the
//! transaction that changes the item, so an event exists exactly when its
//! state change committed. Claiming is one `UPDATE … WHERE id IN (SELECT …
//! LIMIT n) RETURNING`; on PostgreSQL the sub-select adds `FOR UPDATE OF d
//! SKIP LOCKED` so several gateways share the work (the one place where the
//! query text differs by backend). It decides nothing about HTTP: the
//! dispatcher (`delivery/`) sends and reports outcomes back here.

use serde::Serialize;
use serde_json::{Value, json};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Backend, Db, Result, StoreError, audit, json_text, parse_column};
use crate::model::{ItemId, ItemState, Timestamp, UserId};

/// Priority of withdrawals: claimed before any publication.
pub const WITHDRAW_PRIORITY: i64 = 10;

/// A channel endpoint as stored.
#[derive(Clone, Debug, Serialize)]
pub struct EndpointRecord {
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
    pub connector: Option<ConnectorConfig>,
}

/// A connector endpoint's configuration (migration 0006): the *name* of its
/// secret, never the secret.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ConnectorConfig {
    /// WeChat AppID.
    pub app_id: Option<String>,
    /// An environment variable or a file `<data_dir>/secrets/<name>` (0600).
    pub secret_name: String,
    /// The public seal page, `{serial}` replaced.
    pub link_template: Option<String>,
    /// WeChat `thumb_media_id` (a permanent image material).
    pub cover_media_id: Option<String>,
    /// How often a live post is checked for removal by the platform, seconds
    /// (0: never).
    pub recheck_secs: i64,
}

/// A connector's post for one publish delivery (`connector_posts`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct PostRecord {
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
    /// Why the platform rejected or removed it (Chinese, from the platform's status).
    pub reason: Option<String>,
    pub last_checked_at: String,
    pub next_check_at: Option<String>,
}

/// What an attempt learnt about a connector post: its new status and ids
/// (`None` keeps what is stored).
#[derive(Clone, Debug, Default)]
pub struct PostUpdate {
    /// The publish delivery the post belongs to.
    pub delivery_id: String,
    pub status: String,
    pub draft_id: Option<String>,
    pub job_id: Option<String>,
    pub post_id: Option<String>,
    pub post_url: Option<String>,
    pub reason: Option<String>,
}

/// One attempt of a delivery.
#[derive(Clone, Debug, Serialize)]
pub struct AttemptRecord {
    pub attempt: i64,
    pub started_at: String,
    pub latency_ms: i64,
    pub status: Option<i64>,
    pub response_excerpt: Option<String>,
    pub error: Option<String>,
}

/// A delivery as stored, with its event's id.
#[derive(Clone, Debug, Serialize)]
pub struct DeliveryRecord {
    pub id: String,
    pub event_id: String,
    pub endpoint_id: String,
    pub item_id: String,
    pub channel: String,
    pub sequence: i64,
    /// `publish` or `withdraw`.
    pub kind: String,
    pub serial: String,
    pub priority: i64,
    /// `pending`, `delivering`, `delivered`, `failed` or `cancelled`.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub confirmed_at: Option<String>,
    pub created_at: String,
}

/// A claimed delivery, with what sending it needs.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub id: String,
    pub event_id: String,
    pub item_id: String,
    pub endpoint_id: String,
    /// The endpoint's kind: `webhook`, or a connector (`wechat`, `weibo`).
    pub endpoint_kind: String,
    /// A connector's configuration.
    pub connector: Option<ConnectorConfig>,
    pub url: String,
    pub body: String,
    /// Attempts including this one.
    pub attempts: i64,
    /// When the first attempt started (for giving up).
    pub first_attempt_at: Timestamp,
}

/// How an attempt ended.
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

/// One event of the pull feed.
#[derive(Clone, Debug)]
pub struct FeedEvent {
    pub seq: i64,
    pub body: Value,
}

/// What the seal transaction hands over for a publication.
pub(super) struct PlanPublish<'a> {
    pub outbox_id: &'a str,
    pub item: ItemId,
    pub serial: &'a str,
    pub supersedes: Option<&'a str>,
    pub not_before: i64,
    pub channels: &'a [String],
    pub seal: &'a str,
    pub content: Value,
}

fn endpoint_from_row(r: &AnyRow) -> Result<EndpointRecord> {
    let connector = r
        .try_get::<Option<String>, _>("secret_name")?
        .map(|secret_name| -> Result<ConnectorConfig> {
            Ok(ConnectorConfig {
                app_id: r.try_get("app_id")?,
                secret_name,
                link_template: r.try_get("link_template")?,
                cover_media_id: r.try_get("cover_media_id")?,
                recheck_secs: r.try_get::<Option<i64>, _>("recheck_secs")?.unwrap_or(0),
            })
        })
        .transpose()?;
    Ok(EndpointRecord {
        connector,
        id: r.try_get("id")?,
        channel: r.try_get("channel")?,
        kind: r.try_get("kind")?,
        url: r.try_get("url")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        disabled_reason: r.try_get("disabled_reason")?,
        created_at: r.try_get("created_at")?,
    })
}

const DELIVERY_COLUMNS: &str = "d.id, e.event_id, d.endpoint_id, d.item_id, d.channel, d.sequence, d.kind, e.serial, \
     d.priority, d.state, d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.confirmed_at, d.created_at";

fn delivery_from_row(r: &AnyRow) -> Result<DeliveryRecord> {
    Ok(DeliveryRecord {
        id: r.try_get("id")?,
        event_id: r.try_get("event_id")?,
        endpoint_id: r.try_get("endpoint_id")?,
        item_id: r.try_get("item_id")?,
        channel: r.try_get("channel")?,
        sequence: r.try_get("sequence")?,
        kind: r.try_get("kind")?,
        serial: r.try_get("serial")?,
        priority: r.try_get("priority")?,
        state: r.try_get("state")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        last_status: r.try_get("last_status")?,
        last_error: r.try_get("last_error")?,
        confirmed_at: r.try_get("confirmed_at")?,
        created_at: r.try_get("created_at")?,
    })
}

fn ts_after(now: Timestamp, secs: i64) -> Timestamp {
    Timestamp::from_offset(now.as_offset() + time::Duration::seconds(secs))
}

fn ts_of_secs(secs: i64) -> Timestamp {
    Timestamp::from_offset(time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH))
}

/// Takes the feed head's lock and the next `seq`.
async fn next_feed_seq(conn: &mut AnyConnection) -> Result<i64> {
    let row = sqlx::query("UPDATE channel_feed_head SET seq = seq + 1 WHERE id = 1 RETURNING seq")
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get("seq")?)
}

struct NewEvent<'a> {
    outbox_id: &'a str,
    kind: &'a str,
    item: ItemId,
    channel: &'a str,
    serial: &'a str,
    supersedes: Option<&'a str>,
    not_before: i64,
    priority: i64,
    envelope: Value,
    reason: Option<&'a str>,
}

/// Inserts a channel event (next sequence of its item and channel) and
/// returns its seq.
async fn insert_event(conn: &mut AnyConnection, ev: NewEvent<'_>, now: Timestamp) -> Result<i64> {
    let seq = next_feed_seq(conn).await?;
    let sequence: i64 = sqlx::query(
        "SELECT COALESCE(MAX(sequence), 0) + 1 AS n FROM channel_events WHERE item_id = $1 AND channel = $2",
    )
    .bind(ev.item.to_string())
    .bind(ev.channel)
    .fetch_one(&mut *conn)
    .await?
    .try_get("n")?;
    let event_id = format!("evt_{}", uuid::Uuid::now_v7().simple());
    let body = json!({
        "type": ev.kind,
        "event_id": event_id,
        "item_id": ev.item.to_string(),
        "channel": ev.channel,
        "sequence": sequence,
        "serial": ev.serial,
        "supersedes": ev.supersedes,
        "not_before": ev.not_before,
        "created_at": now.to_string(),
        "envelope": ev.envelope,
        "reason": ev.reason,
    });
    sqlx::query(
        "INSERT INTO channel_events (seq, event_id, outbox_id, kind, item_id, channel, sequence, serial, not_before, \
         priority, body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(seq)
    .bind(event_id.as_str())
    .bind(ev.outbox_id)
    .bind(ev.kind)
    .bind(ev.item.to_string())
    .bind(ev.channel)
    .bind(sequence)
    .bind(ev.serial)
    .bind(ev.not_before)
    .bind(ev.priority)
    .bind(json_text(&body))
    .bind(now.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(seq)
}

/// Inserts one pending delivery of event `seq` per endpoint in `endpoints`
/// (skipping existing ones); returns how many.
async fn insert_deliveries(
    conn: &mut AnyConnection,
    seq: i64,
    endpoints: &[String],
    due: Timestamp,
    now: Timestamp,
) -> Result<usize> {
    let mut n = 0;
    for endpoint in endpoints {
        let done = sqlx::query(
            "INSERT INTO deliveries (id, event_seq, endpoint_id, item_id, channel, sequence, kind, priority, state, \
             attempts, next_attempt_at, created_at, updated_at) \
             SELECT $1, seq, $2, item_id, channel, sequence, kind, priority, 'pending', 0, $3, $4, $4 \
             FROM channel_events WHERE seq = $5 ON CONFLICT (event_seq, endpoint_id) DO NOTHING",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(endpoint.as_str())
        .bind(due.to_string())
        .bind(now.to_string())
        .bind(seq)
        .execute(&mut *conn)
        .await?;
        n += done.rows_affected() as usize;
    }
    Ok(n)
}

async fn enabled_endpoints(conn: &mut AnyConnection, channel: &str) -> Result<Vec<String>> {
    sqlx::query("SELECT id FROM channel_endpoints WHERE channel = $1 AND enabled = 1 ORDER BY created_at, id")
        .bind(channel)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok(r.try_get("id")?))
        .collect()
}

async fn item_version(conn: &mut AnyConnection, item: &str) -> Result<(ItemState, i64)> {
    let row = sqlx::query("SELECT state, current_version FROM items WHERE id = $1")
        .bind(item)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok((parse_column("state", &row.try_get::<String, _>("state")?)?, row.try_get("current_version")?))
}

/// Moves an item from one of `from` to `to` with an `item.state` event;
/// returns whether it moved.
async fn move_item(
    conn: &mut AnyConnection,
    item: &str,
    from: &[ItemState],
    to: ItemState,
    actor: Option<UserId>,
    detail: Value,
    now: Timestamp,
) -> Result<bool> {
    let (state, version) = item_version(conn, item).await?;
    if !from.contains(&state) {
        return Ok(false);
    }
    sqlx::query("UPDATE items SET state = $1, updated_at = $2 WHERE id = $3")
        .bind(to.as_str())
        .bind(now.to_string())
        .bind(item)
        .execute(&mut *conn)
        .await?;
    let id: ItemId = parse_column("item_id", item)?;
    let mut d = json!({ "from": state.as_str(), "to": to.as_str() });
    if let (Some(map), Value::Object(extra)) = (d.as_object_mut(), detail) {
        map.extend(extra);
    }
    audit::append(conn, actor, "item.state", Some((id, version)), d).await?;
    Ok(true)
}

/// The fan-out of a publication, inside the sealing transaction: one event
/// per channel of the item, one delivery per enabled endpoint of the
/// channel, due at `not_before`. With deliveries and a `not_before` in the
/// future the item goes `sealed → scheduled`.
pub(super) async fn plan_publish(conn: &mut AnyConnection, p: PlanPublish<'_>, now: Timestamp) -> Result<()> {
    let due = ts_of_secs(p.not_before).max(now);
    let mut planned = 0;
    for channel in p.channels {
        let seq = insert_event(
            conn,
            NewEvent {
                outbox_id: p.outbox_id,
                kind: "publish",
                item: p.item,
                channel,
                serial: p.serial,
                supersedes: p.supersedes,
                not_before: p.not_before,
                priority: 0,
                envelope: json!({ "seal": p.seal, "content": p.content }),
                reason: None,
            },
            now,
        )
        .await?;
        let endpoints = enabled_endpoints(conn, channel).await?;
        planned += insert_deliveries(conn, seq, &endpoints, due, now).await?;
    }
    sqlx::query("UPDATE outbox_events SET status = 'planned' WHERE id = $1")
        .bind(p.outbox_id)
        .execute(&mut *conn)
        .await?;
    if planned > 0 && due > now {
        move_item(
            conn,
            &p.item.to_string(),
            &[ItemState::Sealed],
            ItemState::Scheduled,
            None,
            json!({ "serial": p.serial, "not_before": p.not_before }),
            now,
        )
        .await?;
    }
    Ok(())
}

/// After a delivery of `item` settled: `delivering → published` when no
/// publication is outstanding; `withdrawing → withdrawn` when every
/// withdrawal is confirmed.
async fn progress_item(conn: &mut AnyConnection, item: &str, now: Timestamp) -> Result<()> {
    let open = |kind: &'static str| {
        sqlx::query(
            "SELECT COUNT(*) AS n FROM deliveries WHERE item_id = $1 AND kind = $2 \
             AND state NOT IN ('delivered', 'cancelled')",
        )
        .bind(item.to_owned())
        .bind(kind)
    };
    let (state, _) = item_version(conn, item).await?;
    match state {
        ItemState::Delivering | ItemState::Sealed | ItemState::Scheduled => {
            let n: i64 = open("publish").fetch_one(&mut *conn).await?.try_get("n")?;
            if n == 0 {
                move_item(
                    conn,
                    item,
                    &[ItemState::Delivering, ItemState::Sealed, ItemState::Scheduled],
                    ItemState::Published,
                    None,
                    json!({ "reason": "every channel confirmed" }),
                    now,
                )
                .await?;
            }
        }
        ItemState::Withdrawing => {
            let n: i64 = open("withdraw").fetch_one(&mut *conn).await?.try_get("n")?;
            if n == 0 {
                finish_withdrawal(conn, item, now).await?;
            }
        }
        _ => {}
    }
    Ok(())
}

async fn finish_withdrawal(conn: &mut AnyConnection, item: &str, now: Timestamp) -> Result<()> {
    move_item(
        conn,
        item,
        &[ItemState::Withdrawing],
        ItemState::Withdrawn,
        None,
        json!({ "reason": "every channel confirmed removal" }),
        now,
    )
    .await?;
    sqlx::query("UPDATE item_withdrawals SET completed_at = $1 WHERE item_id = $2 AND completed_at IS NULL")
        .bind(now.to_string())
        .bind(item)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Locks the item row first (items, then deliveries, then the audit head:
/// the order every transaction here keeps).
async fn lock_item(conn: &mut AnyConnection, item: &str) -> Result<()> {
    let done =
        sqlx::query("UPDATE items SET updated_at = updated_at WHERE id = $1").bind(item).execute(&mut *conn).await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

async fn disable_endpoint(conn: &mut AnyConnection, id: &str, reason: &str) -> Result<()> {
    let done =
        sqlx::query("UPDATE channel_endpoints SET enabled = 0, disabled_reason = $1 WHERE id = $2 AND enabled = 1")
            .bind(reason)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    if done.rows_affected() > 0 {
        audit::append(conn, None, "channel_endpoint.disable", None, json!({ "endpoint": id, "reason": reason }))
            .await?;
        tracing::warn!(endpoint = id, reason, "channel endpoint disabled");
    }
    Ok(())
}

/// What a withdrawal asks for.
pub struct WithdrawRequest<'a> {
    pub item: ItemId,
    pub reason: &'a str,
    pub urgent: bool,
    pub actor: UserId,
}

/// A withdrawal request as stored.
#[derive(Clone, Debug, Serialize)]
pub struct WithdrawalRecord {
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

fn withdrawal_from_row(r: &AnyRow) -> Result<WithdrawalRecord> {
    Ok(WithdrawalRecord {
        id: r.try_get("id")?,
        reason: r.try_get("reason")?,
        urgent: r.try_get::<i64, _>("urgent")? != 0,
        requested_by: r.try_get("requested_by")?,
        requested_at: r.try_get("requested_at")?,
        escalated_at: r.try_get("escalated_at")?,
        completed_at: r.try_get("completed_at")?,
        confirmed_by: r.try_get("confirmed_by")?,
        confirmed_at: r.try_get("confirmed_at")?,
        confirm_note: r.try_get("confirm_note")?,
    })
}

/// A withdrawal escalated for want of confirmations.
#[derive(Clone, Debug)]
pub struct Escalation {
    pub item: String,
    pub withdrawal: String,
    pub urgent: bool,
    pub unconfirmed_channels: Vec<String>,
}

/// What a withdrawal did.
#[derive(Clone, Debug, Serialize)]
pub struct Withdrawal {
    pub id: String,
    pub serials: Vec<String>,
    pub channels: Vec<String>,
    pub deliveries: usize,
    pub state: ItemState,
}

/// The PostgreSQL channel other gateway processes LISTEN on.
pub const NOTIFY_CHANNEL: &str = "gateway_delivery";

impl Db {
    /// Tells other gateway processes on the same PostgreSQL database that
    /// deliveries or channel events were added (`NOTIFY`); nothing on
    /// SQLite, where one process runs the one dispatcher.
    pub async fn announce_delivery(&self) -> Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query(&format!("NOTIFY {NOTIFY_CHANNEL}")).execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Adds a channel endpoint (enabled).
    pub async fn add_endpoint(
        &self,
        channel: &str,
        kind: &str,
        url: Option<&str>,
        connector: Option<&ConnectorConfig>,
        actor: Option<UserId>,
    ) -> Result<EndpointRecord> {
        let now = Timestamp::now();
        let id = format!("ep_{}", uuid::Uuid::now_v7().simple());
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO channel_endpoints (id, channel, kind, url, enabled, created_at, created_by, app_id, secret_name, \
             link_template, cover_media_id, recheck_secs) VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(id.as_str())
        .bind(channel)
        .bind(kind)
        .bind(url)
        .bind(now.to_string())
        .bind(actor.map(|a| a.to_string()))
        .bind(connector.and_then(|c| c.app_id.clone()))
        .bind(connector.map(|c| c.secret_name.clone()))
        .bind(connector.and_then(|c| c.link_template.clone()))
        .bind(connector.and_then(|c| c.cover_media_id.clone()))
        .bind(connector.map(|c| c.recheck_secs))
        .execute(&mut *tx)
        .await?;
        audit::append(
            &mut tx,
            actor,
            "channel_endpoint.add",
            None,
            json!({ "endpoint": id, "channel": channel, "kind": kind, "url": url, "connector": connector }),
        )
        .await?;
        let row =
            sqlx::query("SELECT * FROM channel_endpoints WHERE id = $1").bind(id.as_str()).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        endpoint_from_row(&row)
    }

    /// Every endpoint, oldest first.
    pub async fn endpoints(&self) -> Result<Vec<EndpointRecord>> {
        let rows = sqlx::query("SELECT * FROM channel_endpoints ORDER BY created_at, id").fetch_all(&self.pool).await?;
        rows.iter().map(endpoint_from_row).collect()
    }

    /// One endpoint.
    pub async fn endpoint(&self, id: &str) -> Result<EndpointRecord> {
        sqlx::query("SELECT * FROM channel_endpoints WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(endpoint_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound)
    }

    /// Claims up to `limit` due deliveries to enabled webhook and connector endpoints with a
    /// lease until `lease_until`: pending ones whose time has come and
    /// delivering ones whose lease lapsed (a crashed worker). Never one
    /// whose earlier sequence for the same item and endpoint is not yet
    /// delivered (or was cancelled by a withdrawal while its attempt is still
    /// in flight), so per (item, channel) order holds and at most one is in
    /// flight. Items still `sealed` or `scheduled` move to `delivering`.
    pub async fn claim_deliveries(&self, limit: i64, lease_secs: i64) -> Result<Vec<Claimed>> {
        let now = Timestamp::now();
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE OF d SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE deliveries SET state = 'delivering', lease_until = $1, attempts = attempts + 1, \
             first_attempt_at = COALESCE(first_attempt_at, $2), updated_at = $2 \
             WHERE id IN (SELECT d.id FROM deliveries d JOIN channel_endpoints p ON p.id = d.endpoint_id \
               WHERE p.enabled = 1 AND p.kind <> 'pull' \
               AND ((d.state = 'pending' AND d.next_attempt_at <= $2) OR (d.state = 'delivering' AND d.lease_until < $2)) \
               AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.endpoint_id = d.endpoint_id AND x.item_id = d.item_id \
                 AND x.sequence < d.sequence AND (x.state NOT IN ('delivered', 'cancelled') \
                   OR (x.state = 'cancelled' AND x.lease_until >= $2))) \
               ORDER BY d.priority DESC, d.next_attempt_at LIMIT $3{lock}) \
             RETURNING id, event_seq, endpoint_id, item_id, attempts, first_attempt_at"
        );
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(&sql)
            .bind(ts_after(now, lease_secs).to_string())
            .bind(now.to_string())
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for r in &rows {
            let seq: i64 = r.try_get("event_seq")?;
            let endpoint: String = r.try_get("endpoint_id")?;
            let ev = sqlx::query("SELECT event_id, body FROM channel_events WHERE seq = $1")
                .bind(seq)
                .fetch_one(&self.pool)
                .await?;
            let ep = self.endpoint(&endpoint).await?;
            claimed.push(Claimed {
                id: r.try_get("id")?,
                event_id: ev.try_get("event_id")?,
                item_id: r.try_get("item_id")?,
                endpoint_id: endpoint,
                endpoint_kind: ep.kind,
                connector: ep.connector,
                url: ep.url.unwrap_or_default(),
                body: ev.try_get("body")?,
                attempts: r.try_get("attempts")?,
                first_attempt_at: parse_column("first_attempt_at", &r.try_get::<String, _>("first_attempt_at")?)?,
            });
        }
        let mut items: Vec<&str> = claimed.iter().map(|c| c.item_id.as_str()).collect();
        items.sort_unstable();
        items.dedup();
        for item in items {
            let mut tx = self.pool.begin().await?;
            lock_item(&mut tx, item).await?;
            move_item(
                &mut tx,
                item,
                &[ItemState::Sealed, ItemState::Scheduled],
                ItemState::Delivering,
                None,
                json!({ "reason": "delivery started" }),
                now,
            )
            .await?;
            tx.commit().await?;
        }
        Ok(claimed)
    }

    /// Records an attempt's outcome and its consequences (delivery state,
    /// endpoint disabled, item state) and what a connector learnt about its
    /// posts, in one transaction.
    pub async fn record_attempt(
        &self,
        claimed: &Claimed,
        started: Timestamp,
        outcome: &Outcome,
        posts: &[PostUpdate],
    ) -> Result<()> {
        let now = Timestamp::now();
        let mut tx = self.pool.begin().await?;
        lock_item(&mut tx, &claimed.item_id).await?;
        for post in posts {
            let recheck =
                if post.status == "published" { claimed.connector.as_ref().map(|c| c.recheck_secs) } else { None };
            upsert_post(&mut tx, post, recheck.filter(|s| *s > 0).map(|s| ts_after(now, s)), now).await?;
        }
        let endpoint: String = sqlx::query("SELECT endpoint_id FROM deliveries WHERE id = $1")
            .bind(claimed.id.as_str())
            .fetch_one(&mut *tx)
            .await?
            .try_get("endpoint_id")?;
        let (status, latency, excerpt, error) = match outcome {
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
        sqlx::query(
            "INSERT INTO delivery_attempts (id, delivery_id, attempt, started_at, latency_ms, status, response_excerpt, error) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(claimed.id.as_str())
        .bind(claimed.attempts)
        .bind(started.to_string())
        .bind(latency)
        .bind(status)
        .bind(excerpt.as_deref())
        .bind(error.as_deref())
        .execute(&mut *tx)
        .await?;
        // Only the holder of the claim records its end (a lapsed lease may
        // have been claimed again: then that attempt decides).
        let (state, next_at, last_error, confirmed_at) = match outcome {
            Outcome::Delivered { .. } => ("delivered", now, None, Some(now.to_string())),
            Outcome::Gone { .. } => ("pending", now, Some("410 Gone: endpoint disabled".to_owned()), None),
            Outcome::Refused { .. } => ("failed", now, Some("refused by the channel (422)".to_owned()), None),
            Outcome::Accepted { poll_at, .. } => ("pending", *poll_at, None, None),
            Outcome::Rejected { reason, .. } => ("failed", now, Some(reason.clone()), None),
            Outcome::Failed { retry_at, give_up, .. } => {
                let why = error.clone().unwrap_or_else(|| format!("HTTP {}", status.unwrap_or(0)));
                (if *give_up { "failed" } else { "pending" }, *retry_at, Some(why), None)
            }
        };
        let held = sqlx::query(
            "UPDATE deliveries SET state = $1, next_attempt_at = $2, lease_until = NULL, last_status = $3, \
             last_error = $4, confirmed_at = $5, updated_at = $6 \
             WHERE id = $7 AND state = 'delivering' AND attempts = $8",
        )
        .bind(state)
        .bind(next_at.to_string())
        .bind(status)
        .bind(last_error)
        .bind(confirmed_at)
        .bind(now.to_string())
        .bind(claimed.id.as_str())
        .bind(claimed.attempts)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !held {
            // Cancelled by a withdrawal while in flight (or claimed again
            // after a lapsed lease): the attempt is logged, but it decides
            // nothing — no state, audit event or endpoint change. A
            // cancelled one's attempt is over, so the withdrawal behind it
            // may go now.
            sqlx::query(
                "UPDATE deliveries SET lease_until = NULL WHERE id = $1 AND state = 'cancelled' AND attempts = $2",
            )
            .bind(claimed.id.as_str())
            .bind(claimed.attempts)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(());
        }
        match outcome {
            Outcome::Delivered { .. } => {
                progress_item(&mut tx, &claimed.item_id, now).await?;
            }
            Outcome::Gone { .. } => {
                disable_endpoint(&mut tx, &endpoint, "the endpoint answered 410 Gone").await?;
            }
            Outcome::Refused { .. } => {
                audit::append(
                    &mut tx,
                    None,
                    "delivery.refused",
                    None,
                    json!({ "delivery": claimed.id, "event_id": claimed.event_id, "item_id": claimed.item_id,
                            "endpoint": endpoint, "response": excerpt }),
                )
                .await?;
            }
            Outcome::Accepted { .. } => {}
            Outcome::Rejected { reason, .. } => {
                let item: ItemId = parse_column("item_id", &claimed.item_id)?;
                let (_, version) = item_version(&mut tx, &claimed.item_id).await?;
                audit::append(
                    &mut tx,
                    None,
                    "delivery.rejected",
                    Some((item, version)),
                    json!({ "delivery": claimed.id, "event_id": claimed.event_id, "item_id": claimed.item_id,
                            "endpoint": endpoint, "reason": reason, "response": excerpt }),
                )
                .await?;
            }
            Outcome::Failed { give_up, .. } => {
                if *give_up {
                    disable_endpoint(
                        &mut tx,
                        &endpoint,
                        &format!("gave up after {} attempts over the retry window", claimed.attempts),
                    )
                    .await?;
                    audit::append(
                        &mut tx,
                        None,
                        "delivery.failed",
                        None,
                        json!({ "delivery": claimed.id, "event_id": claimed.event_id, "item_id": claimed.item_id,
                                "attempts": claimed.attempts }),
                    )
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deliveries of an item, by channel and sequence.
    pub async fn deliveries_of_item(&self, item: ItemId) -> Result<Vec<(DeliveryRecord, Vec<AttemptRecord>)>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries d JOIN channel_events e ON e.seq = d.event_seq \
             WHERE d.item_id = $1 ORDER BY d.channel, d.endpoint_id, d.sequence"
        );
        let rows = sqlx::query(&sql).bind(item.to_string()).fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let d = delivery_from_row(r)?;
            let attempts = self.attempts(&d.id).await?;
            out.push((d, attempts));
        }
        Ok(out)
    }

    /// The delivery log of an endpoint: deliveries created since `since`,
    /// optionally in one state, newest first, at most `limit`.
    pub async fn deliveries_of_endpoint(
        &self,
        endpoint: &str,
        since: Timestamp,
        state: Option<&str>,
        limit: i64,
    ) -> Result<Vec<(DeliveryRecord, Vec<AttemptRecord>)>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries d JOIN channel_events e ON e.seq = d.event_seq \
             WHERE d.endpoint_id = $1 AND d.created_at >= $2 AND ($3 = '' OR d.state = $3) \
             ORDER BY d.created_at DESC, d.id DESC LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(endpoint)
            .bind(since.to_string())
            .bind(state.unwrap_or(""))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let d = delivery_from_row(r)?;
            let attempts = self.attempts(&d.id).await?;
            out.push((d, attempts));
        }
        Ok(out)
    }

    async fn attempts(&self, delivery: &str) -> Result<Vec<AttemptRecord>> {
        let rows = sqlx::query("SELECT * FROM delivery_attempts WHERE delivery_id = $1 ORDER BY attempt, started_at")
            .bind(delivery)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AttemptRecord {
                    attempt: r.try_get("attempt")?,
                    started_at: r.try_get("started_at")?,
                    latency_ms: r.try_get("latency_ms")?,
                    status: r.try_get("status")?,
                    response_excerpt: r.try_get("response_excerpt")?,
                    error: r.try_get("error")?,
                })
            })
            .collect()
    }

    /// A delivery by id.
    pub async fn delivery(&self, id: &str) -> Result<DeliveryRecord> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries d JOIN channel_events e ON e.seq = d.event_seq WHERE d.id = $1"
        );
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(delivery_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound)
    }

    /// 撤稿, in one transaction: every valid or suspended seal of the item is
    /// `withdrawn` (the status endpoints say so at once), the item goes to
    /// `withdrawing`, publications not yet delivered are cancelled (also
    /// one in flight or left leased by a crashed gateway: it keeps its lease,
    /// so the withdrawal waits until that attempt ended or the lease lapsed;
    /// its outcome no longer counts and a failure is never retried), and one
    /// `withdraw` event (priority lane) goes to every channel that was ever
    /// sent a publication of the item, for every endpoint that was sent one
    /// and every enabled endpoint of the channel. Without any delivery to
    /// wait for, the item is `withdrawn` at once.
    pub async fn withdraw_item(&self, req: WithdrawRequest<'_>) -> Result<Withdrawal> {
        let now = Timestamp::now();
        let item = req.item.to_string();
        let mut tx = self.pool.begin().await?;
        lock_item(&mut tx, &item).await?;
        let (state, version) = item_version(&mut tx, &item).await?;
        if !matches!(state, ItemState::Sealed | ItemState::Scheduled | ItemState::Delivering | ItemState::Published) {
            return Err(StoreError::WrongState { state });
        }
        let serials: Vec<String> = sqlx::query(
            "SELECT serial FROM seals WHERE item_id = $1 AND status IN ('valid', 'suspended') ORDER BY log_index",
        )
        .bind(item.as_str())
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("serial"))
        .collect::<Result<_, _>>()?;
        let Some(last_serial) = serials.last().cloned() else {
            return Err(StoreError::Conflict("no valid seal to withdraw"));
        };
        sqlx::query(
            "UPDATE seals SET status = 'withdrawn', status_changed_at = $1 WHERE item_id = $2 AND status IN ('valid', 'suspended')",
        )
        .bind(now.to_string())
        .bind(item.as_str())
        .execute(&mut *tx)
        .await?;
        let cancelled = sqlx::query(
            "UPDATE deliveries SET state = 'cancelled', updated_at = $1, \
             lease_until = CASE WHEN state = 'delivering' THEN lease_until ELSE NULL END \
             WHERE item_id = $2 AND kind = 'publish' AND state IN ('pending', 'failed', 'delivering')",
        )
        .bind(now.to_string())
        .bind(item.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let id = format!("wd_{}", uuid::Uuid::now_v7().simple());
        sqlx::query(
            "INSERT INTO item_withdrawals (id, item_id, reason, urgent, requested_by, requested_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.as_str())
        .bind(item.as_str())
        .bind(req.reason)
        .bind(i64::from(req.urgent))
        .bind(req.actor.to_string())
        .bind(now.to_string())
        .execute(&mut *tx)
        .await?;
        for serial in &serials {
            audit::append(
                &mut tx,
                Some(req.actor),
                "seal.status",
                Some((req.item, version)),
                json!({ "serial": serial, "status": "withdrawn", "reason": req.reason }),
            )
            .await?;
        }
        audit::append(
            &mut tx,
            Some(req.actor),
            "item.withdraw",
            Some((req.item, version)),
            json!({ "withdrawal": id, "reason": req.reason, "urgent": req.urgent, "serials": serials,
                    "cancelled_deliveries": cancelled,
                    "confirmation": if req.urgent { "urgent: to be confirmed by a review afterwards" } else { "routine" } }),
        )
        .await?;
        move_item(&mut tx, &item, &[state], ItemState::Withdrawing, Some(req.actor), json!({ "withdrawal": id }), now)
            .await?;
        let channels: Vec<String> = sqlx::query(
            "SELECT DISTINCT channel FROM channel_events WHERE item_id = $1 AND kind = 'publish' ORDER BY channel",
        )
        .bind(item.as_str())
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("channel"))
        .collect::<Result<_, _>>()?;
        let outbox_id = uuid::Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO outbox_events (id, kind, item_id, version, serial, channels, not_before, status, created_at) \
             VALUES ($1, 'withdraw', $2, $3, $4, $5, $6, 'planned', $7)",
        )
        .bind(outbox_id.as_str())
        .bind(item.as_str())
        .bind(version)
        .bind(last_serial.as_str())
        .bind(json_text(&channels))
        .bind(now.as_offset().unix_timestamp())
        .bind(now.to_string())
        .execute(&mut *tx)
        .await?;
        let mut deliveries = 0;
        for channel in &channels {
            let seq = insert_event(
                &mut tx,
                NewEvent {
                    outbox_id: &outbox_id,
                    kind: "withdraw",
                    item: req.item,
                    channel,
                    serial: &last_serial,
                    supersedes: None,
                    not_before: now.as_offset().unix_timestamp(),
                    priority: WITHDRAW_PRIORITY,
                    envelope: Value::Null,
                    reason: Some(req.reason),
                },
                now,
            )
            .await?;
            let mut endpoints: Vec<String> = sqlx::query(
                "SELECT DISTINCT endpoint_id FROM deliveries WHERE item_id = $1 AND channel = $2 AND kind = 'publish'",
            )
            .bind(item.as_str())
            .bind(channel.as_str())
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get("endpoint_id"))
            .collect::<Result<_, _>>()?;
            endpoints.extend(enabled_endpoints(&mut tx, channel).await?);
            endpoints.sort();
            endpoints.dedup();
            deliveries += insert_deliveries(&mut tx, seq, &endpoints, now, now).await?;
        }
        if deliveries == 0 {
            finish_withdrawal(&mut tx, &item, now).await?;
        }
        let (state, _) = item_version(&mut tx, &item).await?;
        tx.commit().await?;
        Ok(Withdrawal { id, serials, channels, deliveries, state })
    }

    /// Withdrawals not confirmed by every channel `after_secs` after they
    /// were requested, not escalated yet: marks them escalated (with an
    /// audit event) and returns them.
    pub async fn escalate_withdrawals(&self, after_secs: i64) -> Result<Vec<Escalation>> {
        let now = Timestamp::now();
        let cutoff = ts_after(now, -after_secs);
        let rows = sqlx::query(
            "SELECT id, item_id, urgent FROM item_withdrawals WHERE completed_at IS NULL AND escalated_at IS NULL \
             AND requested_at <= $1",
        )
        .bind(cutoff.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let (id, item): (String, String) = (r.try_get("id")?, r.try_get("item_id")?);
            let urgent = r.try_get::<i64, _>("urgent")? != 0;
            let mut tx = self.pool.begin().await?;
            let done =
                sqlx::query("UPDATE item_withdrawals SET escalated_at = $1 WHERE id = $2 AND escalated_at IS NULL")
                    .bind(now.to_string())
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await?;
            if done.rows_affected() > 0 {
                let unconfirmed: Vec<String> = sqlx::query(
                    "SELECT DISTINCT channel FROM deliveries WHERE item_id = $1 AND kind = 'withdraw' AND state <> 'delivered'",
                )
                .bind(item.as_str())
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get("channel"))
                .collect::<Result<_, _>>()?;
                audit::append(
                    &mut tx,
                    None,
                    "item.withdraw.escalate",
                    None,
                    json!({ "withdrawal": id, "item_id": item, "urgent": urgent, "unconfirmed_channels": &unconfirmed }),
                )
                .await?;
                out.push(Escalation { item, withdrawal: id, urgent, unconfirmed_channels: unconfirmed });
            }
            tx.commit().await?;
        }
        Ok(out)
    }

    /// The withdrawal requests of an item, oldest first.
    pub async fn withdrawals_of_item(&self, item: ItemId) -> Result<Vec<WithdrawalRecord>> {
        let rows = sqlx::query("SELECT * FROM item_withdrawals WHERE item_id = $1 ORDER BY requested_at, id")
            .bind(item.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(withdrawal_from_row).collect()
    }

    /// Confirms an urgent withdrawal afterwards: by someone other than who
    /// triggered it (the caller checks the role), once, with a note.
    pub async fn confirm_withdrawal(&self, item: ItemId, by: UserId, note: &str) -> Result<WithdrawalRecord> {
        let now = Timestamp::now();
        let mut tx = self.pool.begin().await?;
        lock_item(&mut tx, &item.to_string()).await?;
        let row = sqlx::query(
            "SELECT * FROM item_withdrawals WHERE item_id = $1 AND urgent = 1 AND confirmed_at IS NULL \
             ORDER BY requested_at DESC LIMIT 1",
        )
        .bind(item.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::Conflict("no urgent withdrawal awaits confirmation"))?;
        let w = withdrawal_from_row(&row)?;
        if w.requested_by == by.to_string() {
            return Err(StoreError::Conflict("an urgent withdrawal is confirmed by someone else"));
        }
        sqlx::query(
            "UPDATE item_withdrawals SET confirmed_by = $1, confirmed_at = $2, confirm_note = $3 WHERE id = $4",
        )
        .bind(by.to_string())
        .bind(now.to_string())
        .bind(note)
        .bind(w.id.as_str())
        .execute(&mut *tx)
        .await?;
        let (_, version) = item_version(&mut tx, &item.to_string()).await?;
        audit::append(
            &mut tx,
            Some(by),
            "item.withdraw.confirm",
            Some((item, version)),
            json!({ "withdrawal": w.id, "note": note, "requested_by": w.requested_by }),
        )
        .await?;
        let row =
            sqlx::query("SELECT * FROM item_withdrawals WHERE id = $1").bind(w.id.as_str()).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        withdrawal_from_row(&row)
    }

    /// Redelivers one delivery: pending again, due now, its endpoint enabled
    /// (redelivery is the operator saying the endpoint works again). Never a
    /// cancelled one or a publication of a withdrawn seal (409).
    pub async fn redeliver(&self, id: &str, actor: Option<UserId>) -> Result<DeliveryRecord> {
        let now = Timestamp::now();
        let d = self.delivery(id).await?;
        let mut tx = self.pool.begin().await?;
        lock_item(&mut tx, &d.item_id).await?;
        if d.state == "cancelled" || (d.kind == "publish" && seal_withdrawn(&mut tx, &d.serial).await?) {
            return Err(StoreError::Conflict("the publication was withdrawn"));
        }
        sqlx::query(
            "UPDATE deliveries SET state = 'pending', next_attempt_at = $1, first_attempt_at = NULL, lease_until = NULL, \
             confirmed_at = NULL, updated_at = $1 WHERE id = $2 AND state <> 'delivering'",
        )
        .bind(now.to_string())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        enable(&mut tx, &d.endpoint_id).await?;
        audit::append(
            &mut tx,
            actor,
            "delivery.redeliver",
            None,
            json!({ "delivery": id, "event_id": d.event_id, "endpoint": d.endpoint_id }),
        )
        .await?;
        tx.commit().await?;
        self.delivery(id).await
    }

    /// Redelivers everything of an endpoint's channel since `since`: every
    /// event of the channel created since then gets a pending delivery to
    /// the endpoint (new, or reset), except publications of withdrawn seals
    /// and cancelled deliveries, and the endpoint is enabled. Returns how
    /// many.
    pub async fn redeliver_since(&self, endpoint: &str, since: Timestamp, actor: Option<UserId>) -> Result<usize> {
        let now = Timestamp::now();
        let ep = self.endpoint(endpoint).await?;
        let mut tx = self.pool.begin().await?;
        // The write first (docs: SQLite never upgrades a read lock): enable
        // the endpoint, which redelivery means anyway.
        enable(&mut tx, endpoint).await?;
        let seqs: Vec<i64> = sqlx::query(
            "SELECT seq FROM channel_events WHERE channel = $1 AND created_at >= $2 AND NOT (kind = 'publish' \
             AND serial IN (SELECT serial FROM seals WHERE status = 'withdrawn')) ORDER BY seq",
        )
        .bind(ep.channel.as_str())
        .bind(since.to_string())
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("seq"))
        .collect::<Result<_, _>>()?;
        let mut n = 0;
        for seq in seqs {
            let reset = sqlx::query(
                "UPDATE deliveries SET state = 'pending', next_attempt_at = $1, first_attempt_at = NULL, lease_until = NULL, \
                 confirmed_at = NULL, updated_at = $1 WHERE event_seq = $2 AND endpoint_id = $3 \
                 AND state NOT IN ('delivering', 'cancelled')",
            )
            .bind(now.to_string())
            .bind(seq)
            .bind(endpoint)
            .execute(&mut *tx)
            .await?
            .rows_affected() as usize;
            n += reset + insert_deliveries(&mut tx, seq, &[endpoint.to_owned()], now, now).await?;
        }
        audit::append(
            &mut tx,
            actor,
            "delivery.redeliver_since",
            None,
            json!({ "endpoint": endpoint, "since": since.to_string(), "deliveries": n }),
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// A pull channel confirms an event: its deliveries to the channel's pull
    /// endpoints are delivered. Returns whether there was one.
    pub async fn confirm_pull(&self, channel: &str, event_id: &str) -> Result<bool> {
        let now = Timestamp::now();
        let item: Option<String> =
            sqlx::query("SELECT item_id FROM channel_events WHERE event_id = $1 AND channel = $2")
                .bind(event_id)
                .bind(channel)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get("item_id"))
                .transpose()?;
        let Some(item) = item else { return Ok(false) };
        let mut tx = self.pool.begin().await?;
        lock_item(&mut tx, &item).await?;
        sqlx::query(
            "UPDATE deliveries SET state = 'delivered', confirmed_at = $1, updated_at = $1 \
             WHERE event_seq = (SELECT seq FROM channel_events WHERE event_id = $2) \
             AND endpoint_id IN (SELECT id FROM channel_endpoints WHERE kind = 'pull' AND channel = $3) \
             AND state <> 'delivered'",
        )
        .bind(now.to_string())
        .bind(event_id)
        .bind(channel)
        .execute(&mut *tx)
        .await?;
        progress_item(&mut tx, &item, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The feed of a channel after `after` (exclusive), oldest first.
    pub async fn channel_feed(&self, channel: &str, after: i64, limit: i64) -> Result<Vec<FeedEvent>> {
        let rows =
            sqlx::query("SELECT seq, body FROM channel_events WHERE channel = $1 AND seq > $2 ORDER BY seq LIMIT $3")
                .bind(channel)
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(feed_from_row).collect()
    }

    /// Every live publication of a channel (the latest `publish` of each item
    /// with no later `withdraw`), and the feed position it reflects.
    pub async fn channel_snapshot(&self, channel: &str) -> Result<(Vec<FeedEvent>, i64)> {
        let mut tx = self.pool.begin().await?;
        let head: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS s FROM channel_events WHERE channel = $1")
            .bind(channel)
            .fetch_one(&mut *tx)
            .await?
            .try_get("s")?;
        let rows = sqlx::query(
            "SELECT e.seq, e.body FROM channel_events e WHERE e.channel = $1 AND e.kind = 'publish' AND e.seq <= $2 \
             AND e.sequence = (SELECT MAX(l.sequence) FROM channel_events l WHERE l.item_id = e.item_id AND l.channel = e.channel \
               AND l.seq <= $2) ORDER BY e.seq",
        )
        .bind(channel)
        .bind(head)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((rows.iter().map(feed_from_row).collect::<Result<_>>()?, head))
    }

    /// The Atom/JSON feed of a channel: the latest event of each item that
    /// is due (`not_before` passed; a withdrawal always is), newest first,
    /// at most `limit`; each with when the item was first published in the
    /// channel (RFC 3339).
    pub async fn channel_feed_latest(&self, channel: &str, limit: i64) -> Result<Vec<(FeedEvent, String)>> {
        let now = Timestamp::now().as_offset().unix_timestamp();
        let rows = sqlx::query(
            "SELECT e.seq, e.body, (SELECT MIN(f.created_at) FROM channel_events f WHERE f.item_id = e.item_id \
               AND f.channel = e.channel AND f.not_before <= $2) AS first_at \
             FROM channel_events e WHERE e.channel = $1 AND e.not_before <= $2 \
             AND e.sequence = (SELECT MAX(l.sequence) FROM channel_events l WHERE l.item_id = e.item_id \
               AND l.channel = e.channel AND l.not_before <= $2) \
             ORDER BY e.seq DESC LIMIT $3",
        )
        .bind(channel)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((feed_from_row(r)?, r.try_get("first_at")?))).collect()
    }
}

fn feed_from_row(r: &AnyRow) -> Result<FeedEvent> {
    Ok(FeedEvent { seq: r.try_get("seq")?, body: super::from_json_text("body", &r.try_get::<String, _>("body")?)? })
}

async fn seal_withdrawn(conn: &mut AnyConnection, serial: &str) -> Result<bool> {
    Ok(sqlx::query("SELECT serial FROM seals WHERE serial = $1 AND status = 'withdrawn'")
        .bind(serial)
        .fetch_optional(&mut *conn)
        .await?
        .is_some())
}

async fn enable(conn: &mut AnyConnection, endpoint: &str) -> Result<()> {
    let done =
        sqlx::query("UPDATE channel_endpoints SET enabled = 1, disabled_reason = NULL WHERE id = $1 AND enabled = 0")
            .bind(endpoint)
            .execute(&mut *conn)
            .await?;
    if done.rows_affected() > 0 {
        audit::append(conn, None, "channel_endpoint.enable", None, json!({ "endpoint": endpoint })).await?;
    }
    Ok(())
}

// ------------------------------------------------------------- connectors

fn post_from_row(r: &AnyRow) -> Result<PostRecord> {
    Ok(PostRecord {
        delivery_id: r.try_get("delivery_id")?,
        endpoint_id: r.try_get("endpoint_id")?,
        item_id: r.try_get("item_id")?,
        serial: r.try_get("serial")?,
        status: r.try_get("status")?,
        draft_id: r.try_get("draft_id")?,
        job_id: r.try_get("job_id")?,
        post_id: r.try_get("post_id")?,
        post_url: r.try_get("post_url")?,
        reason: r.try_get("reason")?,
        last_checked_at: r.try_get("last_checked_at")?,
        next_check_at: r.try_get("next_check_at")?,
    })
}

/// Inserts or updates the post of a publish delivery; ids not given keep
/// their stored value. `next_check` schedules the recheck of a live post.
async fn upsert_post(
    conn: &mut AnyConnection,
    p: &PostUpdate,
    next_check: Option<Timestamp>,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO connector_posts (delivery_id, endpoint_id, item_id, serial, status, draft_id, job_id, post_id, \
         post_url, reason, last_checked_at, next_check_at, created_at, updated_at) \
         SELECT d.id, d.endpoint_id, d.item_id, e.serial, $2, $3, $4, $5, $6, $7, $8, $9, $8, $8 \
         FROM deliveries d JOIN channel_events e ON e.seq = d.event_seq WHERE d.id = $1 \
         ON CONFLICT (delivery_id) DO UPDATE SET status = excluded.status, \
         draft_id = COALESCE(excluded.draft_id, connector_posts.draft_id), \
         job_id = COALESCE(excluded.job_id, connector_posts.job_id), \
         post_id = COALESCE(excluded.post_id, connector_posts.post_id), \
         post_url = COALESCE(excluded.post_url, connector_posts.post_url), \
         reason = COALESCE(excluded.reason, connector_posts.reason), \
         last_checked_at = excluded.last_checked_at, next_check_at = excluded.next_check_at, \
         updated_at = excluded.updated_at",
    )
    .bind(p.delivery_id.as_str())
    .bind(p.status.as_str())
    .bind(p.draft_id.as_deref())
    .bind(p.job_id.as_deref())
    .bind(p.post_id.as_deref())
    .bind(p.post_url.as_deref())
    .bind(p.reason.as_deref())
    .bind(now.to_string())
    .bind(next_check.map(|t| t.to_string()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Db {
    /// The connector post of a publish delivery, if the platform was called.
    pub async fn post_of_delivery(&self, delivery: &str) -> Result<Option<PostRecord>> {
        sqlx::query("SELECT * FROM connector_posts WHERE delivery_id = $1")
            .bind(delivery)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(post_from_row)
            .transpose()
    }

    /// Every connector post of an item, oldest first.
    pub async fn posts_of_item(&self, item: ItemId) -> Result<Vec<PostRecord>> {
        let rows = sqlx::query("SELECT * FROM connector_posts WHERE item_id = $1 ORDER BY created_at, delivery_id")
            .bind(item.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(post_from_row).collect()
    }

    /// Every connector post of an item on an endpoint, oldest first.
    pub async fn posts_of(&self, item: &str, endpoint: &str) -> Result<Vec<PostRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM connector_posts WHERE item_id = $1 AND endpoint_id = $2 ORDER BY created_at, delivery_id",
        )
        .bind(item)
        .bind(endpoint)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(post_from_row).collect()
    }

    /// Claims up to `limit` posts to ask the platform about, on enabled
    /// endpoints: live posts due for a recheck (is it still there?), and
    /// **stray** posts — submitted or live although their seal is withdrawn
    /// and no withdrawal delivery of the endpoint is still open (a
    /// publication that was in flight when the item was withdrawn), which
    /// must be deleted; the flag says which. Each claim moves the post's
    /// check times on, so one gateway asks.
    pub async fn claim_rechecks(&self, limit: i64) -> Result<Vec<(PostRecord, EndpointRecord, bool)>> {
        let now = Timestamp::now();
        let rows = sqlx::query(
            "SELECT c.*, s.status AS seal_status \
             FROM connector_posts c JOIN channel_endpoints p ON p.id = c.endpoint_id JOIN seals s ON s.serial = c.serial \
             WHERE p.enabled = 1 AND ((s.status <> 'withdrawn' AND c.status = 'published' AND c.next_check_at <= $1) \
               OR (s.status = 'withdrawn' AND c.status IN ('submitted', 'published') AND c.last_checked_at <= $2 \
                 AND NOT EXISTS (SELECT 1 FROM deliveries w WHERE w.item_id = c.item_id AND w.endpoint_id = c.endpoint_id \
                   AND w.kind = 'withdraw' AND w.state <> 'delivered'))) \
             ORDER BY c.last_checked_at LIMIT $3",
        )
        .bind(now.to_string())
        .bind(ts_after(now, -2).to_string())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let post = post_from_row(r)?;
            let stray = r.try_get::<String, _>("seal_status")? == "withdrawn";
            let ep = self.endpoint(&post.endpoint_id).await?;
            let every = ep.connector.as_ref().map_or(0, |c| c.recheck_secs).max(1);
            let done = sqlx::query(
                "UPDATE connector_posts SET last_checked_at = $1, next_check_at = $2 \
                 WHERE delivery_id = $3 AND last_checked_at = $4 AND status = $5",
            )
            .bind(now.to_string())
            .bind((!stray).then(|| ts_after(now, every).to_string()))
            .bind(post.delivery_id.as_str())
            .bind(post.last_checked_at.as_str())
            .bind(post.status.as_str())
            .execute(&self.pool)
            .await?;
            if done.rows_affected() > 0 {
                out.push((post, ep, stray));
            }
        }
        Ok(out)
    }

    /// What the platform said about a stray post (see [`Db::claim_rechecks`]):
    /// deleted, or refused or removed by the platform meanwhile; recorded
    /// with a `delivery.stray_post` audit event, in one transaction.
    pub async fn record_stray_post(&self, post: &PostRecord, update: &PostUpdate) -> Result<()> {
        let now = Timestamp::now();
        let mut tx = self.pool.begin().await?;
        lock_item(&mut tx, &post.item_id).await?;
        upsert_post(&mut tx, update, None, now).await?;
        let item: ItemId = parse_column("item_id", &post.item_id)?;
        let (_, version) = item_version(&mut tx, &post.item_id).await?;
        audit::append(
            &mut tx,
            None,
            "delivery.stray_post",
            Some((item, version)),
            json!({ "delivery": post.delivery_id, "endpoint": post.endpoint_id, "serial": post.serial,
                    "status": update.status, "post_id": update.post_id.as_ref().or(post.post_id.as_ref()),
                    "reason": "the seal was withdrawn while the publication was in flight" }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A live post was removed on the platform, not by us (WeChat
    /// publish_status 5 or 6): recorded with the reason and a
    /// `delivery.platform_removed` audit event, in one transaction. Returns
    /// whether it was live until now.
    pub async fn record_platform_removal(&self, post: &PostRecord, reason: &str) -> Result<bool> {
        let now = Timestamp::now();
        let mut tx = self.pool.begin().await?;
        lock_item(&mut tx, &post.item_id).await?;
        let done = sqlx::query(
            "UPDATE connector_posts SET status = 'removed', reason = $1, next_check_at = NULL, last_checked_at = $2, \
             updated_at = $2 WHERE delivery_id = $3 AND status = 'published'",
        )
        .bind(reason)
        .bind(now.to_string())
        .bind(post.delivery_id.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() > 0 {
            let item: ItemId = parse_column("item_id", &post.item_id)?;
            let (_, version) = item_version(&mut tx, &post.item_id).await?;
            audit::append(
                &mut tx,
                None,
                "delivery.platform_removed",
                Some((item, version)),
                json!({ "delivery": post.delivery_id, "endpoint": post.endpoint_id, "serial": post.serial,
                        "post_id": post.post_id, "post_url": post.post_url, "reason": reason }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }
}
