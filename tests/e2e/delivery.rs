//! Channel delivery (issue 9, docs/delivery.md): sealed items reach every
//! channel endpoint as signed Standard Webhooks (`v1a`, the transport key of
//! `/.well-known/webhook-keys`) carrying seals that verify with
//! `seal::verify`; a receiver that fails for a while gets every event
//! exactly once and in order after it recovers (a correction is sequence
//! 2); a withdrawal (撤稿) marks the seal withdrawn at once, reaches every
//! channel and ends `withdrawn` when all confirmed; redelivery; the pull
//! feed with its cursor, long poll, 410 and snapshot.
//!
//! The receiver here is the test's own (not `gateway/receiver`): it checks
//! the signature over the raw bytes, the timestamp, the per-(item, channel)
//! order and the seal, and records what it applied by event id.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxStatus};
use axum::response::IntoResponse;
use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};
use gateway::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::team::{Team, ok};
use tests::{Backend, Client, TestApp, eventually, on_both_backends, sample_item};

on_both_backends!(
    a_publication_reaches_two_channels_signed_and_sealed,
    a_failing_receiver_gets_every_event_once_and_in_order,
    a_withdrawal_reaches_every_channel_and_ends_withdrawn,
    redelivery_and_the_pull_feed,
    giving_up_disables_the_endpoint_and_an_unconfirmed_withdrawal_escalates,
    two_gateways_share_the_work_and_wake_each_other,
    a_refusal_is_final_and_the_endpoint_stays_enabled,
    an_embargoed_item_is_delivered_when_due,
    atom_and_json_feeds_show_publication_correction_and_tombstone,
);

// ---------------------------------------------------------------- receiver

#[derive(Default)]
struct Inner {
    /// Answer these (status, Retry-After) to the next requests, in order.
    failures: std::collections::VecDeque<(u16, Option<&'static str>)>,
    /// Answer 410 from now on.
    gone: bool,
    requests: usize,
    /// Applied event bodies, in the order applied.
    applied: Vec<Value>,
    /// Event ids seen again after they were applied.
    duplicates: usize,
    /// Anything the receiver refused as wrong (must stay empty).
    errors: Vec<String>,
    transport: Option<VerifyingKey>,
    seal_keys: Option<seal::KeySet>,
    /// Last applied sequence per (item, channel).
    last: BTreeMap<(String, String), i64>,
}

#[derive(Clone)]
struct Receiver {
    url: String,
    inner: Arc<Mutex<Inner>>,
}

impl Receiver {
    async fn start(app: &TestApp) -> Receiver {
        let inner = Arc::new(Mutex::new(Inner::default()));
        {
            let keys = reqwest::get(format!("{}/.well-known/webhook-keys", app.base)).await.unwrap();
            assert_eq!(keys.headers()["content-type"], "application/jwk-set+json");
            let keys: Value = keys.json().await.unwrap();
            let x = keys["keys"][0]["x"].as_str().unwrap();
            let bytes: [u8; 32] =
                base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(x).unwrap().try_into().unwrap();
            let seal_keys =
                reqwest::get(format!("{}/.well-known/seal-keys", app.base)).await.unwrap().text().await.unwrap();
            let mut i = inner.lock().unwrap();
            i.transport = Some(VerifyingKey::from_bytes(&bytes).unwrap());
            i.seal_keys = Some(seal::KeySet::from_jwks_json(seal_keys.as_bytes()).unwrap());
        }
        let router = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Receiver { url, inner }
    }

    fn fail(&self, n: usize, status: u16, retry_after: Option<&'static str>) {
        let mut i = self.inner.lock().unwrap();
        i.failures.extend(std::iter::repeat_n((status, retry_after), n));
    }

    fn applied(&self) -> Vec<Value> {
        self.inner.lock().unwrap().applied.clone()
    }

    fn check_clean(&self) {
        let i = self.inner.lock().unwrap();
        assert!(i.errors.is_empty(), "the receiver refused: {:?}", i.errors);
    }
}

async fn receive(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let mut i = inner.lock().unwrap();
    i.requests += 1;
    if i.gone {
        return (AxStatus::GONE, HeaderMap::new(), "gone".to_owned());
    }
    if let Some((status, retry_after)) = i.failures.pop_front() {
        let mut h = HeaderMap::new();
        if let Some(r) = retry_after {
            h.insert("retry-after", r.parse().unwrap());
        }
        return (AxStatus::from_u16(status).unwrap(), h, "temporarily unavailable".to_owned());
    }
    match check(&mut i, &headers, &body) {
        Ok(()) => (AxStatus::OK, HeaderMap::new(), "applied".to_owned()),
        Err((status, why)) => {
            if status != AxStatus::CONFLICT {
                i.errors.push(why.clone());
            }
            (status, HeaderMap::new(), why)
        }
    }
}

/// What docs/delivery.md section 2 asks of a receiver.
fn check(i: &mut Inner, headers: &HeaderMap, body: &[u8]) -> Result<(), (AxStatus, String)> {
    let bad = |why: String| (AxStatus::UNAUTHORIZED, why);
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let id = h("webhook-id").ok_or_else(|| bad("no webhook-id".into()))?;
    let ts = h("webhook-timestamp").ok_or_else(|| bad("no webhook-timestamp".into()))?;
    let sigs = h("webhook-signature").ok_or_else(|| bad("no webhook-signature".into()))?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if (ts.parse::<i64>().map_err(|_| bad("bad timestamp".into()))? - now).abs() > 300 {
        return Err(bad("timestamp out of tolerance".into()));
    }
    let mut message = format!("{id}.{ts}.").into_bytes();
    message.extend_from_slice(body);
    let key = i.transport.expect("transport key");
    let valid = sigs.split(' ').filter_map(|s| s.strip_prefix("v1a,")).any(|b64| {
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
            .is_some_and(|sig| key.verify_strict(&message, &sig).is_ok())
    });
    if !valid {
        return Err(bad(format!("signature does not verify for {id}")));
    }
    let event: Value = serde_json::from_slice(body).map_err(|e| bad(format!("body: {e}")))?;
    if event["event_id"] != id.as_str() {
        return Err(bad("webhook-id is not the event id".into()));
    }
    if i.applied.iter().any(|e| e["event_id"] == id.as_str()) {
        i.duplicates += 1;
        return Ok(());
    }
    let key = (event["item_id"].as_str().unwrap().to_owned(), event["channel"].as_str().unwrap().to_owned());
    let sequence = event["sequence"].as_i64().unwrap();
    let last = i.last.get(&key).copied().unwrap_or(0);
    // A withdrawal may follow a gap: publications it overtook were
    // cancelled and never sent. A publication must be the next one.
    let in_order = if event["type"] == "withdraw" { sequence > last } else { sequence == last + 1 };
    if !in_order {
        return Err((AxStatus::CONFLICT, format!("out of order: {sequence} after {last}")));
    }
    if event["type"] == "publish" {
        let jws = event["envelope"]["seal"].as_str().unwrap();
        let content = seal::canonical::to_vec(&event["envelope"]["content"]).unwrap();
        let opts = seal::VerifyOptions {
            content: seal::Content::Bytes(&content),
            channel: Some(&key.1),
            ..Default::default()
        };
        let verified = seal::verify(jws, i.seal_keys.as_ref().unwrap(), &opts)
            .map_err(|e| (AxStatus::UNPROCESSABLE_ENTITY, format!("seal: {e}")))?;
        if verified.manifest.serial != event["serial"].as_str().unwrap() {
            return Err((AxStatus::UNPROCESSABLE_ENTITY, "serial differs from the seal's".into()));
        }
    } else if event["type"] != "withdraw" {
        return Err((AxStatus::UNPROCESSABLE_ENTITY, format!("unknown type {}", event["type"])));
    }
    i.last.insert(key, sequence);
    i.applied.push(event);
    Ok(())
}

// ------------------------------------------------------------------ helpers

/// Fast retries and polling for tests.
async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |s| {
        s.delivery.poll_interval_ms = 200;
        s.delivery.retry_base_ms = 100;
        s.delivery.retry_cap_secs = 2;
    })
    .await
}

/// The channels of the items here.
const CHANNELS: &[&str] = &["website", "wechat"];

fn item(title: &str) -> Value {
    tests::team::titled_item(title, CHANNELS)
}

/// A webhook endpoint for `channel`, or a pull one; returns its id.
async fn add_endpoint(t: &Team, channel: &str, url: Option<&str>) -> String {
    let body = match url {
        Some(u) => json!({"channel": channel, "url": u}),
        None => json!({"channel": channel, "kind": "pull"}),
    };
    t.add_endpoint(body).await["id"].as_str().unwrap().to_owned()
}

async fn state_of(t: &Team, id: &str) -> String {
    let (_, item) = t.publisher.get(&format!("/api/v1/items/{id}")).await;
    item["state"].as_str().unwrap().to_owned()
}

async fn item_state_is(t: &Team, id: &str, want: &str) {
    let mut last = String::new();
    for _ in 0..200 {
        last = state_of(t, id).await;
        if last == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, d) = t.publisher.get(&format!("/api/v1/items/{id}/deliveries")).await;
    panic!("item {id} is {last}, not {want}: {d:#}");
}

async fn seal_status(app: &TestApp, serial: &str) -> String {
    let v: Value =
        reqwest::get(format!("{}/api/v1/seals/{serial}/status", app.base)).await.unwrap().json().await.unwrap();
    v["status"].as_str().unwrap().to_owned()
}

fn kinds_of(events: &[Value], item: &str, channel: &str) -> Vec<(String, i64)> {
    events
        .iter()
        .filter(|e| e["item_id"] == item && e["channel"] == channel)
        .map(|e| (e["type"].as_str().unwrap().to_owned(), e["sequence"].as_i64().unwrap()))
        .collect()
}

// -------------------------------------------------------------------- tests

async fn a_publication_reaches_two_channels_signed_and_sealed(backend: Backend) {
    let app = spawn(backend).await;
    let t = Team::of(&app).await;
    let website = Receiver::start(&app).await;
    let wechat = Receiver::start(&app).await;
    add_endpoint(&t, "website", Some(&website.url)).await;
    add_endpoint(&t, "wechat", Some(&wechat.url)).await;
    // Endpoints are admin business, and only for configured channels.
    let (status, _) =
        t.publisher.post("/api/v1/channel-endpoints", &json!({"channel": "website", "url": website.url})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) =
        t.security.post("/api/v1/channel-endpoints", &json!({"channel": "nowhere", "url": website.url})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) =
        t.security.post("/api/v1/channel-endpoints", &json!({"channel": "website", "url": "ftp://x"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let list = ok(t.security.get("/api/v1/channel-endpoints").await);
    assert_eq!(list["endpoints"].as_array().unwrap().len(), 2);
    assert!(list["transport_key"].as_str().unwrap().starts_with("whpk_"));

    let (id, serial) = t.sealed_item("关于开展2025年度政务公开业务培训的通知", CHANNELS).await;
    item_state_is(&t, &id, "published").await;
    for (r, channel) in [(&website, "website"), (&wechat, "wechat")] {
        let applied = r.applied();
        assert_eq!(kinds_of(&applied, &id, channel), vec![("publish".to_owned(), 1)], "{channel}");
        assert_eq!(applied[0]["serial"], serial.as_str());
        assert_eq!(applied[0]["reason"], Value::Null);
        assert!(applied[0]["event_id"].as_str().unwrap().starts_with("evt_"));
        r.check_clean();
    }
    // Each channel has its own event id; the attempts are logged.
    assert_ne!(website.applied()[0]["event_id"], wechat.applied()[0]["event_id"]);
    let d = ok(t.publisher.get(&format!("/api/v1/items/{id}/deliveries")).await);
    assert_eq!(d["state"], "published");
    assert_eq!(d["partially_published"], false);
    let deliveries = d["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 2);
    for dl in deliveries {
        assert_eq!(dl["state"], "delivered", "{dl}");
        assert!(dl["confirmed_at"].is_string());
        assert_eq!(dl["attempts"].as_array().unwrap().len(), 1);
        assert_eq!(dl["attempts"][0]["status"], 200);
        assert_eq!(dl["attempts"][0]["response_excerpt"], "applied");
    }
    // The item's audit trail shows sealed → delivering → published.
    let events = ok(t.auditor.get(&format!("/api/v1/audit/events?item={id}")).await);
    let moves: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "item.state")
        .map(|e| e["detail"]["to"].as_str().unwrap())
        .collect();
    assert!(moves.ends_with(&["sealed", "delivering", "published"]), "{moves:?}");
    app.stop().await;
}

async fn a_failing_receiver_gets_every_event_once_and_in_order(backend: Backend) {
    let app = spawn(backend).await;
    let t = Team::of(&app).await;
    let website = Receiver::start(&app).await;
    let wechat = Receiver::start(&app).await;
    add_endpoint(&t, "website", Some(&website.url)).await;
    add_endpoint(&t, "wechat", Some(&wechat.url)).await;
    // The website is down for a while: 500s, then 503 with Retry-After.
    website.fail(3, 500, None);
    website.fail(3, 503, Some("2"));
    let (id, serial1) = t.sealed_item("关于开展安全生产检查的通知", CHANNELS).await;
    eventually("the first failures", async || website.inner.lock().unwrap().requests >= 2).await;
    item_state_is(&t, &id, "delivering").await;
    // A correction (更正) while the website still fails: sequence 2.
    let mut edit = item("关于开展安全生产检查的通知（更正）");
    edit["base_version"] = json!(1);
    ok(t.drafter.put(&format!("/api/v1/items/{id}"), &edit).await);
    let digest = t.approve(&id, 2).await;
    let sealed = ok(t.publisher.post(&format!("/api/v1/items/{id}/seal"), &json!({"content_digest": digest})).await);
    assert_eq!(sealed["supersedes"], serial1.as_str());
    let serial2 = sealed["serial"].as_str().unwrap().to_owned();

    item_state_is(&t, &id, "published").await;
    for (r, channel) in [(&website, "website"), (&wechat, "wechat")] {
        let applied = r.applied();
        assert_eq!(
            kinds_of(&applied, &id, channel),
            vec![("publish".to_owned(), 1), ("publish".to_owned(), 2)],
            "{channel}"
        );
        assert_eq!(applied[0]["serial"], serial1.as_str());
        assert_eq!(applied[1]["serial"], serial2.as_str());
        assert_eq!(applied[1]["supersedes"], serial1.as_str());
        r.check_clean();
        assert_eq!(r.inner.lock().unwrap().duplicates, 0, "{channel}");
    }
    assert_eq!(website.inner.lock().unwrap().requests, 8);
    // Every attempt is in the log, with its status and latency.
    let d = ok(t.publisher.get(&format!("/api/v1/items/{id}/deliveries")).await);
    let web: Vec<&Value> = d["deliveries"].as_array().unwrap().iter().filter(|d| d["channel"] == "website").collect();
    let statuses: Vec<i64> = web
        .iter()
        .flat_map(|d| d["attempts"].as_array().unwrap().iter().map(|a| a["status"].as_i64().unwrap()))
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == 500).count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 503).count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 2, "{statuses:?}");
    app.stop().await;
}

async fn a_withdrawal_reaches_every_channel_and_ends_withdrawn(backend: Backend) {
    let app = spawn(backend).await;
    let t = Team::of(&app).await;
    let website = Receiver::start(&app).await;
    let wechat = Receiver::start(&app).await;
    add_endpoint(&t, "website", Some(&website.url)).await;
    add_endpoint(&t, "wechat", Some(&wechat.url)).await;
    let (id, serial) = t.sealed_item("关于调整部分公交线路的通告", CHANNELS).await;
    item_state_is(&t, &id, "published").await;

    // Withdrawal: a drafter may not; routine is the publication office's.
    let leader = app.user("li", &[Role::Leader], None).await;
    let (status, _) = t.drafter.post(&format!("/api/v1/items/{id}/withdraw"), &json!({"reason": "x"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = leader.post(&format!("/api/v1/items/{id}/withdraw"), &json!({"reason": "x"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "routine withdrawal is the publication office's");
    // The wechat receiver is slow to confirm: the seal is withdrawn at once
    // anyway, and the item waits in `withdrawing`.
    wechat.fail(3, 503, None);
    let done = ok(leader
        .post(&format!("/api/v1/items/{id}/withdraw"), &json!({"reason": "疑似泄露工作秘密", "urgent": true}))
        .await);
    assert_eq!(done["serials"], json!([serial]));
    assert_eq!(done["channels"], json!(["website", "wechat"]));
    assert_eq!(done["state"], "withdrawing");
    assert_eq!(seal_status(&app, &serial).await, "withdrawn");
    let (status, _) = t.publisher.post(&format!("/api/v1/items/{id}/withdraw"), &json!({"reason": "again"})).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // The urgent withdrawal is confirmed afterwards, by someone else.
    let confirm = format!("/api/v1/items/{id}/withdraw/confirm");
    let (status, _) = leader.post(&confirm, &json!({"note": "确认"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "not by whoever triggered it");
    let (status, _) = t.drafter.post(&confirm, &json!({"note": "确认"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let confirmed = ok(t.publisher.post(&confirm, &json!({"note": "经核实确有泄密风险，同意撤稿"})).await);
    assert!(confirmed["confirmed_at"].is_string(), "{confirmed}");
    let (status, _) = t.publisher.post(&confirm, &json!({"note": "again"})).await;
    assert_eq!(status, StatusCode::CONFLICT);

    item_state_is(&t, &id, "withdrawn").await;
    let d = ok(t.publisher.get(&format!("/api/v1/items/{id}/deliveries")).await);
    let w = &d["withdrawals"][0];
    assert_eq!((w["urgent"].clone(), w["reason"].clone()), (json!(true), json!("疑似泄露工作秘密")));
    assert!(w["completed_at"].is_string() && w["confirmed_at"].is_string(), "{w}");
    for (r, channel) in [(&website, "website"), (&wechat, "wechat")] {
        let applied = r.applied();
        assert_eq!(
            kinds_of(&applied, &id, channel),
            vec![("publish".to_owned(), 1), ("withdraw".to_owned(), 2)],
            "{channel}"
        );
        let w = applied.last().unwrap();
        assert_eq!(w["reason"], "疑似泄露工作秘密");
        assert_eq!(w["envelope"], Value::Null);
        r.check_clean();
    }
    // Withdrawal of an item whose publication was never sent (embargo):
    // the pending publication is cancelled, the channel still gets the
    // withdrawal, and nothing is published afterwards.
    let created = t.drafter.create_item(&item("关于开展节前安全检查的通知")).await;
    let id2 = created["id"].as_str().unwrap().to_owned();
    let digest = t.approve(&id2, 1).await;
    let later = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let sealed = ok(t
        .publisher
        .post(&format!("/api/v1/items/{id2}/seal"), &json!({"content_digest": digest, "not_before": later}))
        .await);
    assert_eq!(state_of(&t, &id2).await, "scheduled");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(kinds_of(&website.applied(), &id2, "website").is_empty(), "delivered before not_before");
    ok(t.publisher.post(&format!("/api/v1/items/{id2}/withdraw"), &json!({"reason": "活动取消"})).await);
    assert_eq!(seal_status(&app, sealed["serial"].as_str().unwrap()).await, "withdrawn");
    item_state_is(&t, &id2, "withdrawn").await;
    assert_eq!(kinds_of(&website.applied(), &id2, "website"), vec![("withdraw".to_owned(), 2)]);
    let d = ok(t.publisher.get(&format!("/api/v1/items/{id2}/deliveries")).await);
    let cancelled = d["deliveries"].as_array().unwrap().iter().filter(|d| d["state"] == "cancelled").count();
    assert_eq!(cancelled, 2, "{d}");
    app.stop().await;
}

async fn redelivery_and_the_pull_feed(backend: Backend) {
    let app = spawn(backend).await;
    let t = Team::of(&app).await;
    let website = Receiver::start(&app).await;
    let hook = add_endpoint(&t, "website", Some(&website.url)).await;
    add_endpoint(&t, "wechat", None).await;

    // A receiver that answers 410 disables its endpoint; redelivery turns
    // it back on and delivers.
    website.inner.lock().unwrap().gone = true;
    let since = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap();
    let (a, _) = t.sealed_item("关于公布2025年第一批行政许可事项的通知", CHANNELS).await;
    eventually("the 410", async || website.inner.lock().unwrap().requests >= 1).await;
    eventually("the endpoint disabled", async || {
        let ep = t.security.get("/api/v1/channel-endpoints").await.1;
        ep["endpoints"].as_array().unwrap().iter().any(|e| e["id"] == hook.as_str() && e["enabled"] == false)
    })
    .await;
    assert_eq!(state_of(&t, &a).await, "delivering");
    website.inner.lock().unwrap().gone = false;
    ok(t.publisher.post(&format!("/api/v1/channel-endpoints/{hook}/redeliver"), &json!({"since": since})).await);
    eventually("the redelivery", async || !kinds_of(&website.applied(), &a, "website").is_empty()).await;

    // One delivery redelivered: the receiver sees the same event id again
    // and applies it only once.
    let d = ok(t.publisher.get(&format!("/api/v1/items/{a}/deliveries")).await);
    let web = d["deliveries"].as_array().unwrap().iter().find(|d| d["channel"] == "website").unwrap().clone();
    let (status, _) =
        t.drafter.post(&format!("/api/v1/deliveries/{}/redeliver", web["id"].as_str().unwrap()), &json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    ok(t.publisher.post(&format!("/api/v1/deliveries/{}/redeliver", web["id"].as_str().unwrap()), &json!({})).await);
    eventually("the duplicate", async || website.inner.lock().unwrap().duplicates == 1).await;
    assert_eq!(kinds_of(&website.applied(), &a, "website"), vec![("publish".to_owned(), 1)]);
    website.check_clean();

    // The pull channel (wechat) reads the feed with a channel token.
    let account = app.channel_account("wechat-bot").await;
    let bot = account.token(&["channel"], &["wechat"]).await;
    let (status, _) = t.publisher.get("/api/v1/channels/wechat/changes").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A channel token is bound to its channels: one without a channel is not
    // issued, and the WeChat token neither reads nor confirms the website's
    // events; a person's session (here the security administrator's) reads
    // no channel.
    let (status, body) = account
        .security
        .post("/api/v1/tokens", &json!({"user_id": account.id, "name": "any", "scopes": ["channel"]}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("至少一个发布渠道"), "{body}");
    let website_event = website.applied().iter().find(|e| e["item_id"] == a.as_str()).unwrap()["event_id"].clone();
    let (status, body) = bot.get("/api/v1/channels/website/changes").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.to_string().contains("未绑定发布渠道"), "{body}");
    let (status, _) = bot.post("/api/v1/channels/website/confirm", &json!({"event_id": website_event})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = account.security.get("/api/v1/channels/wechat/changes").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let page = ok(bot.get("/api/v1/channels/wechat/changes").await);
    let events = page["events"].as_array().unwrap().clone();
    assert_eq!(kinds_of(&events, &a, "wechat"), vec![("publish".to_owned(), 1)]);
    let cursor = page["cursor"].as_str().unwrap().to_owned();
    // The pull endpoint has not confirmed: the item is still delivering.
    assert_eq!(state_of(&t, &a).await, "delivering");
    let (status, _) = bot.post("/api/v1/channels/wechat/confirm", &json!({"event_id": events[0]["event_id"]})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    item_state_is(&t, &a, "published").await;

    // Long poll: a request waiting on the cursor returns when the next item
    // is sealed.
    // (Approved first: a sign-off may wait for a fresh TOTP step.)
    let b = t.draft("关于2025年春节期间公共交通运营安排的通知", CHANNELS).await;
    let digest_b = t.approve(&b, 1).await;
    let waiting = {
        let bot = bot.clone();
        let cursor = cursor.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let page = ok(bot.get(&format!("/api/v1/channels/wechat/changes?cursor={cursor}&wait=20")).await);
            (page, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    t.seal(&b, &digest_b).await;
    let (page, waited) = waiting.await.unwrap();
    assert!(waited < Duration::from_secs(15), "{waited:?}");
    assert_eq!(kinds_of(page["events"].as_array().unwrap(), &b, "wechat"), vec![("publish".to_owned(), 1)]);
    let cursor2 = page["cursor"].as_str().unwrap().to_owned();
    let empty = ok(bot.get(&format!("/api/v1/channels/wechat/changes?cursor={cursor2}")).await);
    assert!(empty["events"].as_array().unwrap().is_empty());
    // The same position (a cursor also carries the second it was issued in,
    // for the retention check, so compare the position only).
    let position = |c: &str| {
        let text = String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c).unwrap()).unwrap();
        text.rsplit_once('.').unwrap().0.to_owned()
    };
    assert_eq!(position(empty["cursor"].as_str().unwrap()), position(&cursor2));

    // A cursor past the retention answers 410 (the test knows the cursor's
    // form: it is opaque to channels); the snapshot lists what is live.
    let old = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("c1.1.1000000000");
    let (status, body) = bot.get(&format!("/api/v1/channels/wechat/changes?cursor={old}")).await;
    assert_eq!(status, StatusCode::GONE, "{body}");
    let (status, _) = bot.get("/api/v1/channels/wechat/changes?cursor=garbage!").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    ok(t.publisher.post(&format!("/api/v1/items/{a}/withdraw"), &json!({"reason": "内容已过时"})).await);
    let snap = ok(bot.get("/api/v1/channels/wechat/snapshot").await);
    let live: BTreeSet<String> =
        snap["events"].as_array().unwrap().iter().map(|e| e["item_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(live, BTreeSet::from([b.clone()]));
    let after =
        ok(bot.get(&format!("/api/v1/channels/wechat/changes?cursor={}", snap["cursor"].as_str().unwrap())).await);
    assert!(after["events"].as_array().unwrap().is_empty(), "{after}");
    app.stop().await;
}

async fn giving_up_disables_the_endpoint_and_an_unconfirmed_withdrawal_escalates(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.delivery.poll_interval_ms = 200;
        s.delivery.retry_base_ms = 100;
        s.delivery.retry_cap_secs = 1;
        s.delivery.give_up_after_secs = 1;
        s.delivery.withdraw_escalate_after_secs = 1;
    })
    .await;
    let t = Team::of(&app).await;
    let website = Receiver::start(&app).await;
    let wechat = Receiver::start(&app).await;
    let hook = add_endpoint(&t, "website", Some(&website.url)).await;
    add_endpoint(&t, "wechat", Some(&wechat.url)).await;
    website.fail(1000, 500, None);
    let (id, serial) = t.sealed_item("关于征求城市绿化条例修订意见的公告", CHANNELS).await;

    // The retry window closes: the delivery fails, the endpoint is
    // disabled, and the item is only partially published.
    eventually("the website delivery to give up", async || {
        let d = t.publisher.get(&format!("/api/v1/items/{id}/deliveries")).await.1;
        d["partially_published"] == true
    })
    .await;
    let d = ok(t.publisher.get(&format!("/api/v1/items/{id}/deliveries")).await);
    assert_eq!(d["state"], "delivering", "{d}");
    assert_eq!(d["failed"].as_array().unwrap().len(), 1, "{d}");
    let failed = d["deliveries"].as_array().unwrap().iter().find(|d| d["state"] == "failed").unwrap();
    assert_eq!(failed["channel"], "website");
    assert!(failed["attempts"].as_array().unwrap().len() >= 2, "{failed}");
    assert!(failed["attempts"].as_array().unwrap().iter().all(|a| a["status"] == 500));
    let eps = ok(t.security.get("/api/v1/channel-endpoints").await);
    let ep = eps["endpoints"].as_array().unwrap().iter().find(|e| e["id"] == hook.as_str()).unwrap().clone();
    assert_eq!(ep["enabled"], false, "{ep}");
    assert!(ep["disabled_reason"].as_str().unwrap().contains("gave up"), "{ep}");
    assert_eq!(kinds_of(&wechat.applied(), &id, "wechat"), vec![("publish".to_owned(), 1)]);
    // The endpoint's delivery log shows the failure with every attempt.
    let log = ok(t.publisher.get(&format!("/api/v1/channel-endpoints/{hook}/deliveries?state=failed")).await);
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["item_id"], id.as_str());
    assert_eq!(log[0]["attempts"].as_array().unwrap().len(), failed["attempts"].as_array().unwrap().len());
    let (status, _) = t.drafter.get(&format!("/api/v1/channel-endpoints/{hook}/deliveries")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t.publisher.get(&format!("/api/v1/channel-endpoints/{hook}/deliveries?state=lost")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // 撤稿 now: wechat confirms, the website endpoint is disabled, so the
    // withdrawal is escalated to the publication office and the leaders.
    let leader = app.user("li", &[Role::Leader], None).await;
    ok(t.publisher.post(&format!("/api/v1/items/{id}/withdraw"), &json!({"reason": "政策已调整"})).await);
    assert_eq!(seal_status(&app, &serial).await, "withdrawn");
    eventually("the escalation", async || {
        let notes = leader.get("/api/v1/notifications").await.1;
        notes.as_array().unwrap().iter().any(|n| n["kind"] == "withdraw_overdue" && n["item_id"] == id.as_str())
    })
    .await;
    let notes = ok(t.publisher.get("/api/v1/notifications").await);
    let note = notes.as_array().unwrap().iter().find(|n| n["kind"] == "withdraw_overdue").unwrap().clone();
    assert!(note["message"].as_str().unwrap().contains("website"), "{note}");
    let events = ok(t.auditor.get("/api/v1/audit/events?limit=1000").await);
    let escalated: Vec<&Value> =
        events.as_array().unwrap().iter().filter(|e| e["action"] == "item.withdraw.escalate").collect();
    assert_eq!(escalated.len(), 1);
    assert_eq!(escalated[0]["detail"]["unconfirmed_channels"], json!(["website"]));
    assert_eq!(state_of(&t, &id).await, "withdrawing");

    // The website is back; the operator redelivers since the seal: the
    // withdrawal reaches it (the failed publication was cancelled), and the
    // item is withdrawn.
    website.inner.lock().unwrap().failures.clear();
    let since = "2000-01-01T00:00:00Z";
    ok(t.publisher.post(&format!("/api/v1/channel-endpoints/{hook}/redeliver"), &json!({"since": since})).await);
    item_state_is(&t, &id, "withdrawn").await;
    // Only the withdrawal: a withdrawn publication is never sent again.
    assert_eq!(kinds_of(&website.applied(), &id, "website"), vec![("withdraw".to_owned(), 2)]);
    website.check_clean();
    let d = ok(t.publisher.get(&format!("/api/v1/items/{id}/deliveries")).await);
    let cancelled = d["deliveries"].as_array().unwrap().iter().find(|d| d["state"] == "cancelled").unwrap();
    let (status, _) = t
        .publisher
        .post(&format!("/api/v1/deliveries/{}/redeliver", cancelled["id"].as_str().unwrap()), &json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    app.stop().await;
}

/// A second gateway (its own dispatcher, wake-ups and listener) on the same
/// database and data directory, as a second process would be.
async fn second_gateway(app: &TestApp) -> (String, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let mut settings = app.settings().clone();
    settings.listen = "127.0.0.1:0".parse().unwrap();
    let server = gateway::server::Server::bind(settings).await.expect("second gateway starts");
    let base = format!("http://{}", server.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server
            .run(async {
                let _ = rx.await;
            })
            .await
            .expect("second gateway stops cleanly");
    });
    (base, tx, task)
}

async fn two_gateways_share_the_work_and_wake_each_other(backend: Backend) {
    // Long polls: without a wake-up, neither gateway looks for 4 s.
    let app = TestApp::spawn_with(backend, |s| s.delivery.poll_interval_ms = 4000).await;
    let t = Team::of(&app).await;
    let website = Receiver::start(&app).await;
    let wechat = Receiver::start(&app).await;
    add_endpoint(&t, "website", Some(&website.url)).await;
    add_endpoint(&t, "wechat", Some(&wechat.url)).await;
    let (base_b, stop_b, task_b) = second_gateway(&app).await;

    // A channel reader long-polls gateway B while A seals.
    let bot_b = app.channel_account("site-bot").await.token(&["channel"], &["website"]).await.rebased(&base_b);
    let start = ok(bot_b.get("/api/v1/channels/website/changes").await);
    let waiting = {
        let (bot_b, cursor) = (bot_b.clone(), start["cursor"].as_str().unwrap().to_owned());
        tokio::spawn(async move {
            let page = ok(bot_b.get(&format!("/api/v1/channels/website/changes?cursor={cursor}&wait=20")).await);
            (page, std::time::Instant::now())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut ids = Vec::new();
    let mut sealed_at = None;
    for title in ["关于做好2025年防汛工作的通知", "关于公布城市更新项目名单的通知", "关于开展消防安全检查的通知"]
    {
        ids.push(t.sealed_item(title, CHANNELS).await.0);
        sealed_at.get_or_insert_with(std::time::Instant::now);
    }
    let (page, returned) = waiting.await.unwrap();
    assert_eq!(kinds_of(page["events"].as_array().unwrap(), &ids[0], "website"), vec![("publish".to_owned(), 1)]);
    let waited = returned.saturating_duration_since(sealed_at.unwrap());
    if backend == Backend::Postgres {
        // LISTEN/NOTIFY carries the wake-up from A to B.
        assert!(waited < Duration::from_millis(2500), "B's long poll woke after {waited:?}");
    }
    // Both dispatchers claim from the same table: every event exactly once.
    for id in &ids {
        item_state_is(&t, id, "published").await;
    }
    for (r, channel) in [(&website, "website"), (&wechat, "wechat")] {
        for id in &ids {
            assert_eq!(kinds_of(&r.applied(), id, channel), vec![("publish".to_owned(), 1)], "{channel}");
        }
        assert_eq!(r.inner.lock().unwrap().duplicates, 0, "{channel}");
        assert_eq!(r.inner.lock().unwrap().requests, ids.len(), "{channel}");
        r.check_clean();
    }
    let _ = stop_b.send(());
    task_b.await.unwrap();
    app.stop().await;
}

async fn a_refusal_is_final_and_the_endpoint_stays_enabled(backend: Backend) {
    let app = spawn(backend).await;
    let t = Team::of(&app).await;
    let website = Receiver::start(&app).await;
    let wechat = Receiver::start(&app).await;
    let hook = add_endpoint(&t, "website", Some(&website.url)).await;
    add_endpoint(&t, "wechat", Some(&wechat.url)).await;
    // The website refuses the first publication for good (422).
    website.fail(1, 422, None);
    let (a, _) = t.sealed_item("关于印发城市排水管理办法的通知", CHANNELS).await;
    eventually("the refusal", async || {
        let d = t.publisher.get(&format!("/api/v1/items/{a}/deliveries")).await.1;
        d["partially_published"] == true
    })
    .await;
    let d = ok(t.publisher.get(&format!("/api/v1/items/{a}/deliveries")).await);
    let refused = d["deliveries"].as_array().unwrap().iter().find(|d| d["state"] == "failed").unwrap().clone();
    assert_eq!(refused["channel"], "website");
    assert_eq!(refused["attempts"].as_array().unwrap().len(), 1, "not retried: {refused}");
    assert_eq!(refused["last_status"], 422);
    assert_eq!(d["state"], "delivering");
    let eps = ok(t.security.get("/api/v1/channel-endpoints").await);
    assert!(eps["endpoints"].as_array().unwrap().iter().any(|e| e["id"] == hook.as_str() && e["enabled"] == true));
    // Other items still reach the website.
    let (b, _) = t.sealed_item("关于公布2025年重点民生实事项目的通知", CHANNELS).await;
    item_state_is(&t, &b, "published").await;
    assert_eq!(kinds_of(&website.applied(), &b, "website"), vec![("publish".to_owned(), 1)]);
    // Withdrawing the refused item cancels the refused publication and
    // still tells the website (a withdraw after a gap).
    ok(t.publisher.post(&format!("/api/v1/items/{a}/withdraw"), &json!({"reason": "渠道拒收，撤回重审"})).await);
    item_state_is(&t, &a, "withdrawn").await;
    assert_eq!(kinds_of(&website.applied(), &a, "website"), vec![("withdraw".to_owned(), 2)]);
    website.check_clean();
    app.stop().await;
}

async fn an_embargoed_item_is_delivered_when_due(backend: Backend) {
    let app = spawn(backend).await;
    let t = Team::of(&app).await;
    let website = Receiver::start(&app).await;
    add_endpoint(&t, "website", Some(&website.url)).await;
    let created = t.drafter.create_item(&item("关于2025年清明节期间祭扫安排的公告")).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let digest = t.approve(&id, 1).await;
    let due = time::OffsetDateTime::now_utc() + time::Duration::seconds(4);
    let not_before = due.replace_nanosecond(0).unwrap().format(&time::format_description::well_known::Rfc3339).unwrap();
    ok(t.publisher
        .post(&format!("/api/v1/items/{id}/seal"), &json!({"content_digest": digest, "not_before": not_before}))
        .await);
    assert_eq!(state_of(&t, &id).await, "scheduled");
    tokio::time::sleep(Duration::from_millis(800)).await;
    // (Checked only while the embargo surely still holds, so a slow machine
    // does not make this flaky.)
    if time::OffsetDateTime::now_utc() + time::Duration::seconds(1) < due {
        assert!(website.applied().is_empty(), "delivered before not_before");
    }
    item_state_is(&t, &id, "published").await;
    let applied = website.applied();
    assert_eq!(kinds_of(&applied, &id, "website"), vec![("publish".to_owned(), 1)]);
    assert!(time::OffsetDateTime::now_utc() >= due.replace_nanosecond(0).unwrap());
    assert_eq!(applied[0]["not_before"], due.unix_timestamp());
    // The channel without an endpoint (wechat) is not waited for.
    let events = ok(t.auditor.get(&format!("/api/v1/audit/events?item={id}")).await);
    let moves: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "item.state")
        .map(|e| e["detail"]["to"].as_str().unwrap())
        .collect();
    assert!(moves.ends_with(&["sealed", "scheduled", "delivering", "published"]), "{moves:?}");
    website.check_clean();
    app.stop().await;
}

/// A GET of a feed as text, with its content type.
async fn feed_text(c: &Client, path: &str) -> (StatusCode, String, String) {
    let r = c.request(reqwest::Method::GET, path).send().await.unwrap();
    let status = r.status();
    let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    (status, ct, r.text().await.unwrap())
}

/// The Atom entries (`<entry>` or `<at:deleted-entry>` blocks) in order.
fn atom_blocks(doc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(start) = rest.find("<entry>").into_iter().chain(rest.find("<at:deleted-entry")).min() {
        let close = if rest[start..].starts_with("<entry>") { "</entry>" } else { "</at:deleted-entry>" };
        let end = start + rest[start..].find(close).expect("closed entry") + close.len();
        out.push(rest[start..end].to_owned());
        rest = &rest[end..];
    }
    out
}

async fn atom_and_json_feeds_show_publication_correction_and_tombstone(backend: Backend) {
    let app = spawn(backend).await;
    let t = Team::of(&app).await;
    let cms = app.channel_account("cms-bot").await.token(&["channel"], &["website"]).await;
    // The pull feed's authentication: a channel token, a configured channel.
    for path in ["/api/v1/channels/website/feed.atom", "/api/v1/channels/website/feed.json"] {
        let (status, _) = t.publisher.get(path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        let (status, _) =
            reqwest::Client::new().get(format!("{}{path}", app.base)).send().await.map(|r| (r.status(), ())).unwrap();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let (status, _) = cms.get("/api/v1/channels/nowhere/feed.json").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let empty = ok(cms.get("/api/v1/channels/website/feed.json").await);
    assert_eq!(empty["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(empty["items"], json!([]));

    let (a, serial_a1) = t.sealed_item("关于开展2025年度政务公开业务培训的通知", CHANNELS).await;
    let (b, serial_b) = t.sealed_item("关于公布2025年重点民生实事项目的通知", CHANNELS).await;
    // An embargoed item is not in the feed before it is due.
    let created = t.drafter.create_item(&item("关于2025年清明节期间祭扫安排的公告")).await;
    let c = created["id"].as_str().unwrap().to_owned();
    let digest = t.approve(&c, 1).await;
    let later = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    ok(t.publisher
        .post(&format!("/api/v1/items/{c}/seal"), &json!({"content_digest": digest, "not_before": later}))
        .await);

    let feed = ok(cms.get("/api/v1/channels/website/feed.json").await);
    let ids: Vec<&str> = feed["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![b.as_str(), a.as_str()], "newest first, the embargoed one absent");
    let first = &feed["items"][1];
    assert_eq!(first["title"], "关于开展2025年度政务公开业务培训的通知");
    assert_eq!(first["content_text"], sample_item()["body"]);
    assert_eq!(first["_gateway"]["serial"], serial_a1.as_str());
    assert_eq!(first["_gateway"]["withdrawn"], false);
    assert_eq!(first["authors"][0]["name"], "江城市人民政府办公室");
    assert!(first["url"].as_str().unwrap().ends_with(&format!("/api/v1/seals/{serial_a1}")), "{first}");
    // The link is the public seal record.
    let seal: Value = reqwest::get(first["url"].as_str().unwrap()).await.unwrap().json().await.unwrap();
    assert!(seal.to_string().contains(&serial_a1), "{seal}");

    // A correction (更正) replaces the entry: same id, the new serial, newest.
    let mut edit = item("关于开展2025年度政务公开业务培训的通知（更正）");
    edit["base_version"] = json!(1);
    ok(t.drafter.put(&format!("/api/v1/items/{a}"), &edit).await);
    let digest = t.approve(&a, 2).await;
    let sealed = ok(t.publisher.post(&format!("/api/v1/items/{a}/seal"), &json!({"content_digest": digest})).await);
    let serial_a2 = sealed["serial"].as_str().unwrap().to_owned();
    // 撤稿 of b: a tombstone.
    ok(t.publisher
        .post(&format!("/api/v1/items/{b}/withdraw"), &json!({"reason": "内容已过时 <需更新> & 重发"}))
        .await);

    let feed = ok(cms.get("/api/v1/channels/website/feed.json").await);
    let items = feed["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{feed}");
    assert_eq!(items[0]["id"], b.as_str());
    assert_eq!(items[0]["_gateway"]["withdrawn"], true);
    assert_eq!(items[0]["_gateway"]["reason"], "内容已过时 <需更新> & 重发");
    assert_eq!(items[1]["id"], a.as_str());
    assert_eq!(items[1]["title"], "关于开展2025年度政务公开业务培训的通知（更正）");
    assert_eq!(items[1]["_gateway"]["serial"], serial_a2.as_str());
    assert_eq!(items[1]["_gateway"]["supersedes"], serial_a1.as_str());
    assert!(items[1]["date_modified"].as_str().unwrap() > items[1]["date_published"].as_str().unwrap());
    let (status, ct, _) = feed_text(&cms, "/api/v1/channels/website/feed.json").await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/feed+json; charset=utf-8"));
    let one = ok(cms.get("/api/v1/channels/website/feed.json?limit=1").await);
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
    let (status, _) = cms.get("/api/v1/channels/website/feed.json?page=2").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, ct, doc) = feed_text(&cms, "/api/v1/channels/website/feed.atom").await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/atom+xml; charset=utf-8"));
    assert!(doc.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\""));
    assert!(doc.contains("xmlns:at=\"http://purl.org/atompub/tombstones/1.0\""), "{doc}");
    assert!(doc.trim_end().ends_with("</feed>"));
    let blocks = atom_blocks(&doc);
    assert_eq!(blocks.len(), 2, "{doc}");
    assert!(blocks[0].starts_with(&format!("<at:deleted-entry ref=\"urn:uuid:{b}\" when=\"")), "{doc}");
    assert!(blocks[0].contains("<at:comment>已撤稿：内容已过时 &lt;需更新&gt; &amp; 重发</at:comment>"), "{doc}");
    assert!(blocks[0].contains(&format!("<gw:serial>{serial_b}</gw:serial>")), "{doc}");
    assert!(blocks[1].starts_with(&format!("<entry>\n<id>urn:uuid:{a}</id>")), "{doc}");
    assert!(blocks[1].contains("<title type=\"text\">关于开展2025年度政务公开业务培训的通知（更正）</title>"), "{doc}");
    assert!(blocks[1].contains(&format!("/api/v1/seals/{serial_a2}\"/>")), "{doc}");
    assert!(blocks[1].contains(&format!("<gw:item-id>{a}</gw:item-id>")), "{doc}");
    assert!(blocks[1].contains("<content type=\"text\">各区、各部门：\n"), "{doc}");
    // Exactly one <updated> per entry and one for the feed; no entry for b.
    assert_eq!(doc.matches("<updated>").count(), 2, "{doc}");
    assert!(!doc.contains(&format!("<id>urn:uuid:{b}</id>")), "{doc}");
    app.stop().await;
}
