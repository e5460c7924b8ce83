//! Channel delivery at run time (docs/delivery.md): the **transport key**
//! that signs webhook requests (Standard Webhooks `v1a`, Ed25519, its own
//! file `<data_dir>/keys/transport.pem`, never the seal key), and the
//! **dispatcher**, a background task started with the server.
//!
//! The dispatcher claims due deliveries from the store (`Db::claim_deliveries`:
//! a lease, per-(item, endpoint) order, the withdrawal lane first; on
//! PostgreSQL with `SKIP LOCKED` so several gateways share the work), POSTs
//! each event body with the signature headers, in parallel across items, and
//! reports every attempt back (`Db::record_attempt`), which decides the
//! delivery's and the item's next state (2xx delivered, 410 endpoint
//! disabled, 422 refused for good, anything else retried). Retries back off exponentially with
//! full jitter (honouring `Retry-After`) until the give-up window closes.
//! It wakes on a short poll, on an in-process notification when work is
//! added, and on PostgreSQL on `NOTIFY gateway_delivery` from other gateway
//! processes (LISTEN). It also escalates withdrawals not confirmed in time.
//!
//! Deliveries of connector endpoints (`wechat`, `weibo`) go to
//! [`connector`] instead of a POST; the same claims, order, backoff and
//! give-up apply.
//!
//! It decides nothing about *what* is delivered: the store's fan-out does,
//! inside the transaction that changed the item.

pub mod connector;
pub mod outbound;
pub mod redact;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use rand::Rng as _;
use seal::{Ed25519Signer, Signer as _};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::channel::{EndpointKind, Outcome};
use crate::config::{DeliverySettings, Settings};
use crate::model::Timestamp;
use crate::sealing::SealKeyError;
use crate::store::Db;
use crate::store::{Claimed, ConnectorConfig};
pub use outbound::{AllowedNetworks, http_client};

/// What the dispatcher and the connectors need: narrower than the
/// application state, so that delivery does not depend on the layers above.
#[derive(Clone)]
pub struct Context {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub transport: Arc<TransportKey>,
    pub wake: Wake,
}

/// Wakes this process's dispatcher (work was added) and its long-polling
/// feed readers (channel events were added).
#[derive(Clone, Default)]
pub struct Wake {
    pub delivery: Arc<tokio::sync::Notify>,
    pub feed: Arc<tokio::sync::Notify>,
}

impl Wake {
    /// Wakes this process's dispatcher and feed readers, and (PostgreSQL)
    /// the other processes'.
    pub async fn announce(&self, db: &Db) {
        self.delivery.notify_one();
        self.feed.notify_waiters();
        if let Err(e) = db.announce_delivery().await {
            tracing::warn!(error = %e, "cannot notify other gateway processes; they will find the work by polling");
        }
    }
}

/// The largest response excerpt kept per attempt, bytes.
pub const EXCERPT_BYTES: usize = 1024;

/// The transport signing key (Ed25519).
pub struct TransportKey {
    signer: Ed25519Signer,
}

impl std::fmt::Debug for TransportKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportKey").field("kid", &self.signer.kid()).finish_non_exhaustive()
    }
}

impl TransportKey {
    /// Reads `<data_dir>/keys/transport.pem` (mode 0600 checked), generating
    /// it on first start.
    pub fn init(settings: &Settings) -> Result<TransportKey, SealKeyError> {
        let dir = crate::sealing::keys_dir(settings);
        crate::sealing::ensure_private_dir(&dir)?;
        let path = dir.join("transport.pem");
        if !path.exists() {
            Ed25519Signer::generate().write_key_file(&path)?;
            tracing::info!(file = %path.display(), "webhook transport key generated");
        }
        Ok(TransportKey { signer: Ed25519Signer::from_key_file(Path::new(&path))? })
    }

    /// The key id (RFC 7638 thumbprint).
    pub fn kid(&self) -> &str {
        self.signer.kid().as_str()
    }

    /// The public key as a JWK Set (`/.well-known/webhook-keys`).
    pub fn jwks(&self) -> String {
        seal::jwks_json(&[self.signer.jwk(seal::Validity::default())])
    }

    /// The public key in Standard Webhooks form: `whpk_` + base64 of 32 bytes.
    pub fn whpk(&self) -> String {
        format!("whpk_{}", base64::engine::general_purpose::STANDARD.encode(self.signer.verifying_key().as_bytes()))
    }

    /// `v1a,<base64 signature>` over `<id>.<timestamp>.<body>`.
    pub fn signature(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut message = format!("{id}.{timestamp}.").into_bytes();
        message.extend_from_slice(body);
        let sig = self.signer.sign(&message).expect("an in-memory key signs");
        format!("v1a,{}", base64::engine::general_purpose::STANDARD.encode(sig))
    }
}

/// Checks a new endpoint against the configured channels; returns its kind
/// (`webhook` by default) and URL (for a connector, the platform's API base
/// unless overridden), or the field at fault and why (in Chinese).
pub fn check_endpoint(
    settings: &Settings,
    channel: &str,
    kind: Option<&str>,
    url: Option<&str>,
    connector: Option<&ConnectorConfig>,
) -> Result<(EndpointKind, Option<String>), (&'static str, String)> {
    if !settings.channels.iter().any(|c| c == channel) {
        return Err(("channel", format!("未配置的发布渠道：{channel}")));
    }
    let kind = match kind {
        None => EndpointKind::Webhook,
        Some(k) => k.parse().map_err(|_| ("kind", EndpointKind::unknown_message()))?,
    };
    match kind {
        EndpointKind::Webhook | EndpointKind::Pull if connector.is_some() => {
            Err(("kind", format!("只有 {} 端点有连接器配置", EndpointKind::connector_names())))
        }
        EndpointKind::Webhook => match url {
            Some(u) if (u.starts_with("http://") || u.starts_with("https://")) && u.len() <= 2048 => {
                let parsed = reqwest::Url::parse(u).map_err(|_| ("url", "推送地址不是有效的 URL".to_owned()))?;
                AllowedNetworks::of(&settings.delivery).check_url(&parsed).map_err(|why| ("url", why))?;
                Ok((kind, Some(u.to_owned())))
            }
            _ => Err(("url", "推送地址须为 http:// 或 https:// 开头的 URL".into())),
        },
        EndpointKind::Pull => match url {
            None => Ok((kind, None)),
            Some(_) => Err(("url", "拉取方式的渠道不需要推送地址".into())),
        },
        EndpointKind::Connector(platform) => {
            connector::check_config(platform, url, connector, &settings.delivery).map(|base| (kind, Some(base)))
        }
    }
}

/// The running dispatcher (and, on PostgreSQL, its LISTEN task).
pub struct Dispatcher {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Dispatcher {
    /// Stops it after the deliveries in flight and waits.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for handle in self.handles {
            let _ = handle.await;
        }
    }
}

/// On PostgreSQL: LISTEN for other processes' `NOTIFY` and wake this one's
/// dispatcher and feed readers. A lost connection is re-established by
/// `PgListener`; what is missed meanwhile is found by the poll.
async fn listen(state: Context, mut stopped: watch::Receiver<bool>) {
    let url = state.settings.database_url();
    let mut listener = loop {
        match sqlx::postgres::PgListener::connect(&url).await {
            Ok(mut l) => match l.listen(crate::store::NOTIFY_CHANNEL).await {
                Ok(()) => break l,
                Err(e) => tracing::warn!(error = %e, "cannot LISTEN for delivery wake-ups; polling only"),
            },
            Err(e) => tracing::warn!(error = %e, "cannot connect to LISTEN for delivery wake-ups; polling only"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = stopped.changed() => return,
        }
    };
    loop {
        tokio::select! {
            n = listener.recv() => match n {
                Ok(_) => {
                    state.wake.delivery.notify_one();
                    state.wake.feed.notify_waiters();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "delivery LISTEN failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            },
            _ = stopped.changed() => return,
        }
    }
}

/// Starts the dispatcher.
pub fn spawn(state: Context) -> Dispatcher {
    let (stop, mut stopped) = watch::channel(false);
    let mut handles = Vec::new();
    if state.db.backend() == crate::store::Backend::Postgres {
        handles.push(tokio::spawn(listen(state.clone(), stopped.clone())));
    }
    handles.push(tokio::spawn(async move {
        let settings = state.settings.delivery.clone();
        // Where requests may go: built once, shared by the client's resolver
        // and the check of every request's URL.
        let networks = AllowedNetworks::of(&settings);
        let client = http_client(Duration::from_secs(settings.timeout_secs), &networks);
        let poll = Duration::from_millis(settings.poll_interval_ms);
        let shared = Arc::new(connector::Shared::default());
        let mut last_escalation = Instant::now();
        loop {
            connector::recheck(&state, &client, &shared).await;
            let busy = match dispatch_once(&state, &client, &networks, &shared, &settings).await {
                Ok(n) => n >= settings.concurrency as usize,
                Err(e) => {
                    tracing::warn!(error = %e, "delivery dispatch failed; will retry");
                    false
                }
            };
            if last_escalation.elapsed() >= Duration::from_secs(5) {
                last_escalation = Instant::now();
                escalate(&state, &settings).await;
            }
            if busy {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = state.wake.delivery.notified() => {}
                _ = stopped.changed() => return,
            }
        }
    }));
    Dispatcher { stop, handles }
}

async fn escalate(state: &Context, settings: &DeliverySettings) {
    let after = i64::try_from(settings.withdraw_escalate_after_secs).unwrap_or(i64::MAX);
    match state.db.escalate_withdrawals(after).await {
        Ok(list) => {
            for e in list {
                tracing::error!(item = %e.item, withdrawal = %e.withdrawal, urgent = e.urgent,
                    unconfirmed = ?e.unconfirmed_channels, "withdrawal not confirmed by every channel in time: escalated");
                if let Err(err) = notify_escalation(state, &e).await {
                    tracing::warn!(error = %err, "cannot notify the escalation; it is in the audit trail");
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "withdrawal escalation failed; will retry"),
    }
}

/// Tells the publication office and the leaders (in-app notification, and
/// the notification hook if configured: SMS/e-mail).
async fn notify_escalation(state: &Context, e: &crate::store::Escalation) -> Result<(), crate::store::StoreError> {
    use crate::auth::Role;
    let item: Option<crate::model::ItemId> = e.item.parse().ok();
    let message = format!(
        "{}撤稿超过时限仍未得到全部渠道确认（未确认：{}），请立即处理。事项 {}",
        if e.urgent { "紧急" } else { "" },
        e.unconfirmed_channels.join("、"),
        e.item
    );
    for user in state.db.users().await? {
        if user.active && (user.roles.contains(&Role::Publisher) || user.roles.contains(&Role::Leader)) {
            let key = format!("withdraw-escalate:{}:{}", e.withdrawal, user.id);
            state.db.notify(user.id, "withdraw_overdue", item, &message, &key).await?;
        }
    }
    Ok(())
}

/// Claims a batch, sends it in parallel, records the outcomes; returns how
/// many were claimed.
async fn dispatch_once(
    state: &Context,
    client: &reqwest::Client,
    networks: &AllowedNetworks,
    shared: &Arc<connector::Shared>,
    settings: &DeliverySettings,
) -> Result<usize, crate::store::StoreError> {
    let lease = i64::try_from(settings.lease_secs).unwrap_or(60);
    let claimed = state.db.claim_deliveries(i64::from(settings.concurrency), lease).await?;
    let n = claimed.len();
    let mut set = tokio::task::JoinSet::new();
    for c in claimed {
        let (state, client, networks, shared, settings) =
            (state.clone(), client.clone(), networks.clone(), shared.clone(), settings.clone());
        set.spawn(async move {
            let started = Timestamp::now();
            let (outcome, posts) = match c.endpoint_kind {
                EndpointKind::Webhook => (send(&client, &networks, &state.transport, &c, &settings).await, Vec::new()),
                EndpointKind::Connector(platform) => {
                    connector::deliver(&state, &client, &shared, platform, &c, &settings).await
                }
                EndpointKind::Pull => (pull_is_not_pushed(&c, &settings), Vec::new()),
            };
            // A rejection's notice to the office is written in the same
            // transaction (`Db::record_attempt`).
            if let Err(e) = state.db.record_attempt(&c, started, &outcome, &posts).await {
                tracing::warn!(error = %e, delivery = %c.id, "cannot record a delivery attempt; the lease will expire");
            }
        });
    }
    while set.join_next().await.is_some() {}
    Ok(n)
}

/// One POST of a claimed delivery, and what it came to.
pub async fn send(
    client: &reqwest::Client,
    networks: &AllowedNetworks,
    key: &TransportKey,
    c: &Claimed,
    settings: &DeliverySettings,
) -> Outcome {
    let timestamp = Timestamp::now().as_offset().unix_timestamp();
    let signature = key.signature(&c.event_id, timestamp, c.body.as_bytes());
    let start = Instant::now();
    let request = client
        .post(&c.url)
        .header("content-type", "application/json")
        .header("webhook-id", &c.event_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(c.body.clone());
    let response = outbound::send(networks, request).await;
    let ms = |start: Instant| i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX);
    match response {
        Ok(r) => {
            let status = r.status();
            let retry_after = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
            let bytes = outbound::read_bounded(r, EXCERPT_BYTES).await;
            let latency_ms = ms(start);
            let excerpt = redact::text(&excerpt(&bytes));
            if status.is_success() {
                Outcome::Delivered { status: i64::from(status.as_u16()), latency_ms, excerpt }
            } else if status == reqwest::StatusCode::GONE {
                Outcome::Gone { latency_ms, excerpt }
            } else if status == reqwest::StatusCode::UNPROCESSABLE_ENTITY {
                Outcome::Refused { latency_ms, excerpt }
            } else {
                failed(c, settings, Some(i64::from(status.as_u16())), latency_ms, Some(excerpt), None, retry_after)
            }
        }
        Err(why) => failed(c, settings, None, ms(start), None, Some(why), None),
    }
}

/// What a webhook endpoint answered a signed test event (`type: "ping"`,
/// no item, nothing for a receiver to apply): its status, or why it could
/// not be reached (redacted, without the URL). Sent through the same
/// outbound rules as every delivery.
pub async fn ping(settings: &Settings, key: &TransportKey, url: &str) -> Result<u16, String> {
    let networks = AllowedNetworks::of(&settings.delivery);
    let client = http_client(Duration::from_secs(10), &networks);
    let id = format!("ping_{}", uuid::Uuid::now_v7().simple());
    let timestamp = Timestamp::now().as_offset().unix_timestamp();
    let body = serde_json::json!({ "type": "ping", "id": id, "sent_at": Timestamp::now().to_string() }).to_string();
    let request = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", key.signature(&id, timestamp, body.as_bytes()))
        .body(body);
    let response = outbound::send(&networks, request).await?;
    Ok(response.status().as_u16())
}

/// A pull endpoint's deliveries are confirmed by the channel, never claimed
/// for sending (`Db::claim_deliveries`); should one be, it is retried
/// rather than sent anywhere.
fn pull_is_not_pushed(c: &Claimed, settings: &DeliverySettings) -> Outcome {
    failed(c, settings, None, 0, None, Some("拉取方式的端点由渠道确认，网关不推送".into()), None)
}

/// A transport error with its causes, without the request's URL (whose
/// query may carry a platform token), redacted and cut to
/// [`EXCERPT_BYTES`].
fn error_text(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut s = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    redact::text(&s).chars().take(EXCERPT_BYTES).collect()
}

/// The first [`EXCERPT_BYTES`] of an answer, cut at a character boundary.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(EXCERPT_BYTES)]).into_owned();
    let mut end = text.len().min(EXCERPT_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

fn failed(
    c: &Claimed,
    settings: &DeliverySettings,
    status: Option<i64>,
    latency_ms: i64,
    excerpt: Option<String>,
    error: Option<String>,
    retry_after: Option<Duration>,
) -> Outcome {
    let now = Timestamp::now();
    let elapsed = (now.as_offset() - c.first_attempt_at.as_offset()).whole_seconds();
    let give_up = elapsed >= i64::try_from(settings.give_up_after_secs).unwrap_or(i64::MAX);
    let delay = backoff(settings, c.attempts, retry_after);
    let retry_at = Timestamp::from_offset(now.as_offset() + delay);
    Outcome::Failed { status, latency_ms, excerpt, error, retry_at, give_up }
}

/// The delay before the next attempt after `attempts` failed ones:
/// full jitter over `min(cap, base · 2^(attempts-1))`, at least the
/// receiver's `Retry-After` (itself capped).
pub fn backoff(settings: &DeliverySettings, attempts: i64, retry_after: Option<Duration>) -> Duration {
    let cap = Duration::from_secs(settings.retry_cap_secs);
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 40)).unwrap_or(40);
    let ceiling = Duration::from_millis(settings.retry_base_ms).saturating_mul(2u32.saturating_pow(exp)).min(cap);
    let jittered =
        Duration::from_millis(rand::thread_rng().gen_range(0..=u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX)));
    jittered.max(retry_after.unwrap_or_default().min(cap))
}

/// `Retry-After`: delay-seconds or an HTTP date.
fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()?;
    let secs = (at - time::OffsetDateTime::now_utc()).whole_seconds();
    Some(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let s = DeliverySettings { retry_base_ms: 1000, retry_cap_secs: 10, ..DeliverySettings::default() };
        for attempts in 1..50 {
            assert!(backoff(&s, attempts, None) <= Duration::from_secs(10));
        }
        assert!(backoff(&s, 1, None) <= Duration::from_secs(1));
        assert!(backoff(&s, 1, Some(Duration::from_secs(7))) >= Duration::from_secs(7));
        assert!(backoff(&s, 1, Some(Duration::from_secs(99))) <= Duration::from_secs(10));
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
    }

    /// `https://` endpoints are reached over TLS: the first bytes the
    /// client sends are a TLS handshake record (0x16, version 3.x).
    #[tokio::test]
    async fn https_endpoints_speak_tls() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut head = [0u8; 3];
            socket.read_exact(&mut head).await.unwrap();
            head
        });
        let client = http_client(Duration::from_secs(2), &AllowedNetworks::new(vec!["127.0.0.0/8".parse().unwrap()]));
        let result = client.post(format!("https://127.0.0.1:{port}/hook")).body("{}").send().await;
        let head = tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("the client connected (a client without TLS refuses https:// before connecting)")
            .unwrap();
        assert_eq!((head[0], head[1]), (0x16, 0x03), "a TLS ClientHello, not plain HTTP");
        assert!(result.is_err(), "the server never answers the handshake");
    }

    #[test]
    fn excerpts_stop_at_a_character() {
        let long = "政".repeat(400);
        let e = excerpt(long.as_bytes());
        assert!(e.len() <= EXCERPT_BYTES && e.chars().all(|c| c == '政'), "{}", e.len());
    }
}
