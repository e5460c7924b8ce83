//! Delivery survives the gateway process dying (issue 9): the real `gateway`
//! binary (`tests/support/process.rs`) is killed with SIGKILL while
//! deliveries are in flight and restarted on the same data; two gateway
//! processes on one PostgreSQL database deliver every event once.
//!
//! The channels are the reference receiver (`gateway/receiver`, the library
//! with its in-memory store) served over loopback in this test process. Each
//! keeps its *raw receipts* (every POST that reached it, with what it
//! answered) apart from what it *applied*, so the tests can tell
//! at-least-once transport (a resend after a crash, deduplicated by event
//! id) from a double application. What each receiver applied is compared
//! with the `channel_events` and `deliveries` in the database.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode as AxStatus};
use gateway::config::DeliverySettings;
use receiver::{MemoryStore, Outcome, Store as _};
use serde_json::{Value, json};
use sqlx::Row as _;
use tests::process::Deployment;
use tests::team::{Team, ok};
use tests::{Backend, on_both_backends, until};

on_both_backends!(sigkill_mid_delivery_loses_and_duplicates_nothing);

// ---------------------------------------------------------------- receiver

/// One POST as it reached the receiver.
#[derive(Clone, Debug)]
struct Receipt {
    event_id: String,
    item_id: String,
    /// `applied`, `already-applied`, `down` (our injected 503) or the
    /// receiver's refusal code.
    outcome: String,
    /// The sender's TCP port (to tell gateway processes apart).
    peer_port: u16,
}

struct RxInner {
    rx: receiver::Receiver<MemoryStore>,
    receipts: Vec<Receipt>,
    /// Answer 503 (after `delay`) without looking at the request.
    down: bool,
    /// Hold requests for these items (before answering) until released.
    hold: BTreeSet<String>,
    /// Items whose request is being held now.
    holding: BTreeSet<String>,
    /// Every answer waits this long (after applying: a slow website).
    delay: Duration,
    /// Requests being answered now.
    in_flight: Vec<String>,
}

/// The reference receiver for one channel on a loopback port.
#[derive(Clone)]
struct Rx {
    url: String,
    channel: &'static str,
    inner: Arc<Mutex<RxInner>>,
    release: Arc<tokio::sync::Notify>,
}

impl Rx {
    /// Pins the gateway's transport and seal keys, as an operator would.
    async fn start(base: &str, channel: &'static str) -> Rx {
        let config = tests::pinned_receiver_config(base, channel).await;
        let inner = Arc::new(Mutex::new(RxInner {
            rx: receiver::Receiver::new(config, MemoryStore::new()),
            receipts: Vec::new(),
            down: false,
            hold: BTreeSet::new(),
            holding: BTreeSet::new(),
            delay: Duration::ZERO,
            in_flight: Vec::new(),
        }));
        let rx = Rx { url: String::new(), channel, inner, release: Arc::default() };
        let router = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(rx.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap()
        });
        Rx { url, ..rx }
    }

    fn set(&self, f: impl FnOnce(&mut RxInner)) {
        f(&mut self.inner.lock().unwrap());
    }

    fn get<T>(&self, f: impl FnOnce(&RxInner) -> T) -> T {
        f(&self.inner.lock().unwrap())
    }

    /// Every event the receiver applied, per item in the order applied:
    /// (event id, sequence, type).
    fn applied(&self) -> BTreeMap<String, Vec<(String, u64, String)>> {
        self.get(|i| {
            let mut items: BTreeSet<String> = i.receipts.iter().map(|r| r.item_id.clone()).collect();
            items.remove("");
            items
                .into_iter()
                .map(|item| {
                    let state = i.rx.store().item_state(&item).unwrap();
                    let events = state.events.into_iter().map(|e| (e.event_id, e.sequence, e.kind)).collect();
                    (item, events)
                })
                .collect()
        })
    }

    fn applied_count(&self) -> usize {
        self.applied().values().map(Vec::len).sum()
    }
}

/// Decrements the in-flight list when the answer is sent or the
/// connection dies (the handler future is dropped).
struct InFlight(Rx, String);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut i = self.0.inner.lock().unwrap();
        if let Some(pos) = i.in_flight.iter().position(|e| *e == self.1) {
            i.in_flight.remove(pos);
        }
    }
}

async fn receive(
    State(rx): State<Rx>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> (AxStatus, String) {
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let event_id = h("webhook-id").unwrap_or("").to_owned();
    let item_id = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["item_id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let _guard = {
        let mut i = rx.inner.lock().unwrap();
        i.in_flight.push(event_id.clone());
        InFlight(rx.clone(), event_id.clone())
    };
    loop {
        let released = rx.release.notified();
        {
            let mut i = rx.inner.lock().unwrap();
            if !i.hold.contains(&item_id) {
                i.holding.remove(&item_id);
                break;
            }
            i.holding.insert(item_id.clone());
        }
        released.await;
    }
    let (status, text, delay) = {
        let mut i = rx.inner.lock().unwrap();
        let delay = i.delay;
        let (status, outcome, text) = if i.down {
            (503, "down".to_owned(), "暂时无法处理".to_owned())
        } else {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let headers = receiver::WebhookHeaders {
                id: h("webhook-id"),
                timestamp: h("webhook-timestamp"),
                signature: h("webhook-signature"),
            };
            let outcome = i.rx.handle(headers, &body, now);
            let code = match &outcome {
                Outcome::Applied(_) => "applied".to_owned(),
                Outcome::AlreadyApplied { .. } => "already-applied".to_owned(),
                Outcome::Refused(r) => r.code(),
            };
            (outcome.status(), code, outcome.to_json().to_string())
        };
        i.receipts.push(Receipt { event_id, item_id, outcome, peer_port: peer.port() });
        (status, text, delay)
    };
    // Applied (or not) already: a slow answer after the work is where a
    // crash leaves an event applied but unconfirmed.
    tokio::time::sleep(delay).await;
    (AxStatus::from_u16(status).unwrap(), text)
}

// ------------------------------------------------------------------ helpers

/// The channels of the items here.
const CHANNELS: &[&str] = &["website", "wechat"];

fn item(title: &str) -> Value {
    tests::team::titled_item(title, CHANNELS)
}

/// The people, on the gateway process at `base`.
async fn team(d: &Deployment, base: &str) -> Team {
    Team::create(async |name, roles, unit| d.user(base, name, roles, unit).await).await
}

async fn add_endpoint(t: &Team, channel: &str, url: &str) -> String {
    t.add_endpoint(json!({"channel": channel, "url": url})).await["id"].as_str().unwrap().to_owned()
}

/// How many deliveries are in each state.
async fn delivery_states(d: &Deployment) -> BTreeMap<String, i64> {
    sqlx::query("SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state")
        .fetch_all(d.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<String, _>("state"), r.get::<i64, _>("n")))
        .collect()
}

/// Nothing left to send: every delivery delivered or cancelled.
async fn all_settled(d: &Deployment) -> bool {
    let s = delivery_states(d).await;
    s.keys().all(|k| k == "delivered" || k == "cancelled") && !s.is_empty()
}

/// One channel event as stored, with its delivery's state.
#[derive(Debug)]
struct Stored {
    event_id: String,
    item_id: String,
    sequence: u64,
    kind: String,
    delivery: String,
}

async fn stored_events(d: &Deployment, channel: &str) -> Vec<Stored> {
    sqlx::query(
        "SELECT e.event_id, e.item_id, e.sequence, e.kind, d.state FROM channel_events e \
         JOIN deliveries d ON d.event_seq = e.seq WHERE e.channel = $1 ORDER BY e.item_id, e.sequence",
    )
    .bind(channel)
    .fetch_all(d.db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| Stored {
        event_id: r.get("event_id"),
        item_id: r.get("item_id"),
        sequence: u64::try_from(r.get::<i64, _>("sequence")).unwrap(),
        kind: r.get("kind"),
        delivery: r.get("state"),
    })
    .collect()
}

async fn item_state(d: &Deployment, id: &str) -> String {
    sqlx::query("SELECT state FROM items WHERE id = $1").bind(id).fetch_one(d.db.pool()).await.unwrap().get("state")
}

/// What every receiver applied against the database: each event delivered
/// to its endpoint applied exactly once, in sequence order per item,
/// nothing else applied, nothing undelivered except publications cancelled
/// by a withdrawal. Returns the number of events applied.
async fn assert_applied_exactly_once(d: &Deployment, rx: &Rx) -> usize {
    let stored = stored_events(d, rx.channel).await;
    assert!(!stored.is_empty(), "{}: no events stored", rx.channel);
    for s in &stored {
        let withdrawn = item_state(d, &s.item_id).await == "withdrawn";
        assert!(
            s.delivery == "delivered" || (s.delivery == "cancelled" && s.kind == "publish" && withdrawn),
            "{}: event {s:?} is neither delivered nor a cancelled publication of a withdrawn item",
            rx.channel
        );
    }
    let mut want: BTreeMap<String, Vec<(String, u64, String)>> = BTreeMap::new();
    for s in stored.iter().filter(|s| s.delivery == "delivered") {
        want.entry(s.item_id.clone()).or_default().push((s.event_id.clone(), s.sequence, s.kind.clone()));
    }
    let applied = rx.applied();
    let applied: BTreeMap<_, _> = applied.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    assert_eq!(applied, want, "{}: applied (in order) differs from what the database says was delivered", rx.channel);
    let n: usize = want.values().map(Vec::len).sum();
    // Each application changed the store once: no event applied twice.
    assert_eq!(rx.get(|i| i.rx.store().applies()), n, "{}: an event was applied twice", rx.channel);
    n
}

/// Raw receipts of the events that reached the receiver more than once,
/// with the outcomes; asserts that a resend was never applied again.
fn resent(rx: &Rx) -> BTreeMap<String, Vec<String>> {
    let receipts = rx.get(|i| i.receipts.clone());
    let mut by_event: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in receipts.iter().filter(|r| r.outcome != "down") {
        assert!(r.outcome == "applied" || r.outcome == "already-applied", "{}: the receiver refused {r:?}", rx.channel);
        by_event.entry(r.event_id.clone()).or_default().push(r.outcome.clone());
    }
    for (event, outcomes) in &by_event {
        assert_eq!(outcomes[0], "applied", "{}: {event} first reached it as {outcomes:?}", rx.channel);
        assert!(
            outcomes[1..].iter().all(|o| o == "already-applied"),
            "{}: {event} applied twice: {outcomes:?}",
            rx.channel
        );
    }
    by_event.into_iter().filter(|(_, o)| o.len() > 1).collect()
}

// -------------------------------------------------------------------- tests

/// Short leases and retries, so a restarted gateway takes over quickly.
fn fast() -> DeliverySettings {
    DeliverySettings {
        poll_interval_ms: 200,
        retry_base_ms: 200,
        retry_cap_secs: 1,
        timeout_secs: 2,
        lease_secs: 3,
        concurrency: 4,
        ..DeliverySettings::default()
    }
}

async fn sigkill_mid_delivery_loses_and_duplicates_nothing(backend: Backend) {
    let mut d = Deployment::new(backend, fast()).await;
    let gw = d.start().await;
    let t = team(&d, &gw.base).await;
    let website = Rx::start(&gw.base, "website").await;
    let wechat = Rx::start(&gw.base, "wechat").await;
    add_endpoint(&t, "website", &website.url).await;
    add_endpoint(&t, "wechat", &wechat.url).await;
    let receivers = [&website, &wechat];

    // Both channels are down (slow 503s) while the office seals four
    // items, corrects one and withdraws another whose publication is in
    // flight at that moment.
    for r in receivers {
        r.set(|i| {
            i.down = true;
            i.delay = Duration::from_millis(150);
        });
    }
    let titles = ["关于做好2025年防汛工作的通知", "关于公布城市更新项目名单的通知", "关于开展消防安全检查的通知"];
    let mut items = Vec::new();
    for title in titles {
        items.push(t.sealed_item(title, CHANNELS).await.0);
    }
    // The item to withdraw: its publication is held at the website's door.
    let withdrawn = {
        let created = t.drafter.create_item(&item("关于调整部分公交线路的通告")).await;
        let id = created["id"].as_str().unwrap().to_owned();
        website.set(|i| {
            i.hold.insert(id.clone());
        });
        t.approve_and_seal(&id, 1).await;
        id
    };
    until(20, "the withdrawn item's publication in flight", async || website.get(|i| i.holding.contains(&withdrawn)))
        .await;
    ok(t.publisher.post(&format!("/api/v1/items/{withdrawn}/withdraw"), &json!({"reason": "内容有误，撤回"})).await);
    website.set(|i| i.hold.clear());
    website.release.notify_waiters();
    // A correction (更正) of the first item: sequence 2 on each channel.
    let mut edit = item("关于做好2025年防汛工作的通知（更正）");
    edit["base_version"] = json!(1);
    ok(t.drafter.put(&format!("/api/v1/items/{}", items[0]), &edit).await);
    t.approve_and_seal(&items[0], 2).await;
    assert_eq!(website.applied_count() + wechat.applied_count(), 0, "applied while down");

    // The channels come back, slowly: each answer takes 400 ms after the
    // event is applied. Kill the gateway while some are applied, some not,
    // and some applied but not yet answered.
    let expected_events: usize = {
        let n: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM channel_events").fetch_one(d.db.pool()).await.unwrap().get("n");
        usize::try_from(n).unwrap()
    };
    for r in receivers {
        r.set(|i| {
            i.down = false;
            i.delay = Duration::from_millis(400);
        });
    }
    until(30, "deliveries in flight after some were confirmed", async || {
        let applied = website.applied_count() + wechat.applied_count();
        let answering = website.get(|i| i.in_flight.len()) + wechat.get(|i| i.in_flight.len());
        let delivered = delivery_states(&d).await.get("delivered").copied().unwrap_or(0);
        delivered >= 1 && answering >= 1 && applied + 2 < expected_events
    })
    .await;
    let pid = gw.pid();
    gw.kill().await;
    let applied_at_kill = website.applied_count() + wechat.applied_count();
    let states_at_kill = delivery_states(&d).await;
    eprintln!(
        "[crash {backend:?}] SIGKILL pid {pid} with {applied_at_kill} of {expected_events} events applied; \
         deliveries at the kill: {states_at_kill:?}"
    );
    assert!(applied_at_kill < expected_events, "everything was applied before the kill");
    // The claims of the dead process are still held (leased) in the store.
    assert!(states_at_kill.get("delivering").copied().unwrap_or(0) >= 1, "nothing in flight: {states_at_kill:?}");
    assert!(states_at_kill.get("delivered").copied().unwrap_or(0) >= 1, "nothing delivered: {states_at_kill:?}");
    // Nothing moves while the gateway is dead.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before_restart = delivery_states(&d).await;

    // Restart on the same data: leases lapse, the new process takes over.
    for r in receivers {
        r.set(|i| i.delay = Duration::from_millis(50));
    }
    let gw = d.start().await;
    let t = t.rebased(&gw.base);
    until(45, "every delivery settled after the restart", async || all_settled(&d).await).await;
    for id in &items {
        assert_eq!(item_state(&d, id).await, "published", "{id}");
    }
    assert_eq!(item_state(&d, &withdrawn).await, "withdrawn");
    let (_, view) = t.publisher.get(&format!("/api/v1/items/{withdrawn}/deliveries")).await;
    assert_eq!(view["state"], "withdrawn", "{view}");

    let mut applied = 0;
    let mut resends = BTreeMap::new();
    for r in receivers {
        applied += assert_applied_exactly_once(&d, r).await;
        // The withdrawn item's publication, in flight when it was withdrawn,
        // is never shown afterwards: only the withdrawal reached them.
        let kinds: Vec<String> = r.applied().get(&withdrawn).into_iter().flatten().map(|(_, _, k)| k.clone()).collect();
        assert_eq!(kinds, vec!["withdraw".to_owned()], "{}: the withdrawn item", r.channel);
        // Every live item shows its latest seal.
        let live: BTreeSet<String> =
            r.get(|i| i.rx.store().publications().unwrap().into_iter().map(|p| p.item_id).collect());
        assert_eq!(live, items.iter().cloned().collect::<BTreeSet<_>>(), "{}", r.channel);
        resends.extend(resent(r));
    }
    // An event applied by a receiver whose answer the kill cut off was
    // sent again by the restarted gateway and deduplicated by event id.
    eprintln!(
        "[crash {backend:?}] before restart {before_restart:?}; {applied} events applied once each; \
         resent and deduplicated: {resends:?}"
    );
    assert!(!resends.is_empty(), "no event was resent after the kill (none was cut off in flight?)");
    gw.kill().await;
    d.stop().await;
}

/// How many receipts each gateway process sent, told apart by the TCP
/// connections it still holds open to the receivers (`/proc`): a report,
/// not an assertion (a connection may have closed).
fn senders(pids: &[u32], ports: &[u16]) -> BTreeMap<String, usize> {
    let mut inode_pid = BTreeMap::new();
    for pid in pids {
        for fd in std::fs::read_dir(format!("/proc/{pid}/fd")).into_iter().flatten().flatten() {
            if let Ok(link) = std::fs::read_link(fd.path())
                && let Some(inode) =
                    link.to_str().and_then(|l| l.strip_prefix("socket:[")).and_then(|l| l.strip_suffix(']'))
            {
                inode_pid.insert(inode.to_owned(), *pid);
            }
        }
    }
    let mut port_pid = BTreeMap::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        for line in std::fs::read_to_string(table).unwrap_or_default().lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(inode)) = (cols.get(1), cols.get(9)) else { continue };
            let port = local.rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
            if let (Some(port), Some(pid)) = (port, inode_pid.get(*inode)) {
                port_pid.insert(port, *pid);
            }
        }
    }
    let mut out = BTreeMap::new();
    for port in ports {
        let who = port_pid.get(port).map_or("unknown (connection closed)".to_owned(), |p| format!("pid {p}"));
        *out.entry(who).or_default() += 1;
    }
    out
}

/// Two gateway processes on one PostgreSQL database, both dispatching
/// (`FOR UPDATE SKIP LOCKED`): every event is POSTed exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateway_processes_on_postgres_post_each_event_once() {
    // One delivery per claim, so both processes keep claiming.
    let mut d = Deployment::new(Backend::Postgres, DeliverySettings { concurrency: 1, ..fast() }).await;
    let a = d.start().await;
    let b = d.start().await;
    let t = team(&d, &a.base).await;
    let website = Rx::start(&a.base, "website").await;
    let wechat = Rx::start(&a.base, "wechat").await;
    let receivers = [&website, &wechat];
    for r in receivers {
        r.set(|i| i.delay = Duration::from_millis(30));
    }
    // Items sealed before the endpoints exist, then every event redelivered
    // at once: both dispatchers race for the same rows.
    let since = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap();
    let mut items = Vec::new();
    for n in 0..6 {
        items.push(t.sealed_item(&format!("关于公布第{n}批政务服务事项清单的通知"), CHANNELS).await.0);
    }
    let hooks = [add_endpoint(&t, "website", &website.url).await, add_endpoint(&t, "wechat", &wechat.url).await];
    // Through process B, so A learns of it by NOTIFY only.
    let publisher_b = t.publisher.rebased(&b.base);
    for hook in &hooks {
        ok(publisher_b.post(&format!("/api/v1/channel-endpoints/{hook}/redeliver"), &json!({"since": since})).await);
    }
    // And more sealed while both are busy.
    for n in 6..9 {
        items.push(t.sealed_item(&format!("关于公布第{n}批政务服务事项清单的通知"), CHANNELS).await.0);
    }
    until(45, "every delivery settled", async || all_settled(&d).await).await;
    for id in &items {
        assert_eq!(item_state(&d, id).await, "published", "{id}");
    }
    let mut ports = Vec::new();
    for r in receivers {
        let n = assert_applied_exactly_once(&d, r).await;
        assert_eq!(n, items.len(), "{}", r.channel);
        // Raw receipts: each event POSTed exactly once.
        let receipts = r.get(|i| i.receipts.clone());
        let mut per_event: BTreeMap<&str, usize> = BTreeMap::new();
        for rc in &receipts {
            *per_event.entry(rc.event_id.as_str()).or_default() += 1;
        }
        assert!(per_event.values().all(|n| *n == 1), "{}: POSTed more than once: {per_event:?}", r.channel);
        assert_eq!(receipts.len(), items.len(), "{}", r.channel);
        ports.extend(receipts.iter().map(|r| r.peer_port));
    }
    let attempts: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM delivery_attempts").fetch_one(d.db.pool()).await.unwrap().get("n");
    assert_eq!(attempts, i64::try_from(ports.len()).unwrap(), "one attempt per event and endpoint");
    eprintln!(
        "[two processes] A = pid {}, B = pid {}: {} deliveries sent by {:?}",
        a.pid(),
        b.pid(),
        ports.len(),
        senders(&[a.pid(), b.pid()], &ports)
    );
    a.kill().await;
    b.kill().await;
    d.stop().await;
}
