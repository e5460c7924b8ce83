//! The work queue: claiming deliveries with a lease and per-(item, endpoint)
//! order, recording attempts and their consequences, the delivery log, and
//! redelivery.

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{
    ConnectorConfig, PostUpdate, disable_endpoint, enable, insert_deliveries, item_version, lock_item, move_item,
    progress_item, ts_after, upsert_post,
};
use crate::channel::{self, Consequence, DeliveryState, EndpointKind, EventKind, Outcome};
use crate::model::{ItemId, Timestamp, UserId};
use crate::store::{Backend, Db, Result, StoreError, audit, parse_column};

/// One attempt of a delivery.
#[derive(Clone, Debug)]
pub struct AttemptRecord {
    pub attempt: i64,
    pub started_at: String,
    pub latency_ms: i64,
    pub status: Option<i64>,
    pub response_excerpt: Option<String>,
    pub error: Option<String>,
}

/// A delivery as stored, with its event's id.
#[derive(Clone, Debug)]
pub struct DeliveryRecord {
    pub id: String,
    pub event_id: String,
    pub endpoint_id: String,
    pub item_id: String,
    pub channel: String,
    pub sequence: i64,
    pub kind: EventKind,
    pub serial: String,
    pub priority: i64,
    pub state: DeliveryState,
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
    /// The endpoint's kind (a pushed one: webhook or a connector).
    pub endpoint_kind: EndpointKind,
    /// A connector's configuration.
    pub connector: Option<ConnectorConfig>,
    pub url: String,
    pub body: String,
    /// Attempts including this one.
    pub attempts: i64,
    /// When the first attempt started (for giving up).
    pub first_attempt_at: Timestamp,
}

pub(super) const DELIVERY_COLUMNS: &str = "d.id, e.event_id, d.endpoint_id, d.item_id, d.channel, d.sequence, d.kind, e.serial, \
     d.priority, d.state, d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.confirmed_at, d.created_at";

pub(super) fn delivery_from_row(r: &AnyRow) -> Result<DeliveryRecord> {
    Ok(DeliveryRecord {
        id: r.try_get("id")?,
        event_id: r.try_get("event_id")?,
        endpoint_id: r.try_get("endpoint_id")?,
        item_id: r.try_get("item_id")?,
        channel: r.try_get("channel")?,
        sequence: r.try_get("sequence")?,
        kind: parse_column("kind", &r.try_get::<String, _>("kind")?)?,
        serial: r.try_get("serial")?,
        priority: r.try_get("priority")?,
        state: parse_column("state", &r.try_get::<String, _>("state")?)?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        last_status: r.try_get("last_status")?,
        last_error: r.try_get("last_error")?,
        confirmed_at: r.try_get("confirmed_at")?,
        created_at: r.try_get("created_at")?,
    })
}

pub(super) async fn seal_withdrawn(conn: &mut AnyConnection, serial: &str) -> Result<bool> {
    Ok(sqlx::query("SELECT serial FROM seals WHERE serial = $1 AND status = 'withdrawn'")
        .bind(serial)
        .fetch_optional(&mut *conn)
        .await?
        .is_some())
}

impl Db {
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
                channel::DELIVERY_STARTS.from,
                channel::DELIVERY_STARTS.to,
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
            let recheck = channel::next_recheck(post.status, claimed.connector.as_ref().map(|c| c.recheck_secs), now);
            upsert_post(&mut tx, post, recheck, now).await?;
        }
        let endpoint: String = sqlx::query("SELECT endpoint_id FROM deliveries WHERE id = $1")
            .bind(claimed.id.as_str())
            .fetch_one(&mut *tx)
            .await?
            .try_get("endpoint_id")?;
        let log = outcome.log();
        sqlx::query(
            "INSERT INTO delivery_attempts (id, delivery_id, attempt, started_at, latency_ms, status, response_excerpt, error) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(claimed.id.as_str())
        .bind(claimed.attempts)
        .bind(started.to_string())
        .bind(log.latency_ms)
        .bind(log.status)
        .bind(log.excerpt.as_deref())
        .bind(log.error.as_deref())
        .execute(&mut *tx)
        .await?;
        // Only the holder of the claim records its end (a lapsed lease may
        // have been claimed again: then that attempt decides).
        let settled = outcome.settle(now);
        let held = sqlx::query(
            "UPDATE deliveries SET state = $1, next_attempt_at = $2, lease_until = NULL, last_status = $3, \
             last_error = $4, confirmed_at = $5, updated_at = $6 \
             WHERE id = $7 AND state = 'delivering' AND attempts = $8",
        )
        .bind(settled.state.as_str())
        .bind(settled.next_attempt_at.to_string())
        .bind(log.status)
        .bind(settled.last_error)
        .bind(settled.confirmed.then(|| now.to_string()))
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
        let excerpt = log.excerpt;
        match settled.then {
            Consequence::ProgressItem => {
                progress_item(&mut tx, &claimed.item_id, now).await?;
            }
            Consequence::DisableEndpoint(reason) => {
                disable_endpoint(&mut tx, &endpoint, reason).await?;
            }
            Consequence::Refused => {
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
            Consequence::Rejected => {
                let item: ItemId = parse_column("item_id", &claimed.item_id)?;
                let (_, version) = item_version(&mut tx, &claimed.item_id).await?;
                // The office is told in the transaction that fails the
                // delivery: a failure is never recorded without its notice.
                if let Outcome::Rejected { reason, .. } = outcome {
                    let message = channel::rejected_notice(&claimed.item_id, claimed.endpoint_kind, reason);
                    let key = format!("rejected:{}", claimed.id);
                    notify_publishers(&mut tx, "delivery_rejected", Some(item), &message, &key, now).await?;
                }
                audit::append(
                    &mut tx,
                    None,
                    "delivery.rejected",
                    Some((item, version)),
                    json!({ "delivery": claimed.id, "event_id": claimed.event_id, "item_id": claimed.item_id,
                            "endpoint": endpoint, "reason": log.error, "response": excerpt }),
                )
                .await?;
            }
            Consequence::GaveUp => {
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
            Consequence::Nothing => {}
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
        state: Option<DeliveryState>,
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
            .bind(state.map_or("", DeliveryState::as_str))
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

    /// Redelivers one delivery: pending again, due now, its endpoint enabled
    /// (redelivery is the operator saying the endpoint works again). Never a
    /// cancelled one or a publication of a withdrawn seal (409).
    pub async fn redeliver(&self, id: &str, actor: Option<UserId>) -> Result<DeliveryRecord> {
        let now = Timestamp::now();
        let d = self.delivery(id).await?;
        let mut tx = self.pool.begin().await?;
        lock_item(&mut tx, &d.item_id).await?;
        let withdrawn = d.kind == EventKind::Publish && seal_withdrawn(&mut tx, &d.serial).await?;
        if let Some(why) = channel::redelivery_refused(d.state, d.kind, withdrawn) {
            return Err(StoreError::Conflict(why));
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
}

/// Notifies every active member of the publication office, in the caller's
/// transaction (one notification per person and `key`).
async fn notify_publishers(
    conn: &mut AnyConnection,
    kind: &str,
    item: Option<ItemId>,
    message: &str,
    key: &str,
    now: Timestamp,
) -> Result<()> {
    let rows = sqlx::query(
        "SELECT u.id FROM users u JOIN user_roles r ON r.user_id = u.id WHERE r.role = $1 AND u.active = 1 ORDER BY u.id",
    )
    .bind(crate::auth::Role::Publisher.as_str())
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        let user: UserId = parse_column("user_id", &row.try_get::<String, _>("id")?)?;
        let dedupe = format!("{key}:{user}");
        crate::store::workflow::insert_notification(conn, user, kind, item, message, &dedupe, now).await?;
    }
    Ok(())
}
