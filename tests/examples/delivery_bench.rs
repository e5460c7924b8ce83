//! The delivery benchmark, run by `cargo xtask bench delivery` (release):
//! the real gateway in this process (as the end-to-end tests start it) and
//! a local receiver on loopback that verifies every `v1a` signature.
//!
//! 1. **Deliveries per second.** Items are sealed for two channels before
//!    any endpoint exists; then `E` endpoints per channel are added and
//!    redelivered from the start, so the outbox holds `items × 2 × E`
//!    deliveries at once. Timed: from the first redelivery request until the
//!    store says every delivery is delivered (fan-out into `deliveries`,
//!    claims, signing, POSTs, attempt records). Baseline in the same run: the
//!    same bodies POSTed to the same URLs with reqwest, signed the same way,
//!    as many at a time as the dispatcher (`concurrency`), with no store.
//! 2. **Seal to every channel confirmed.** Items for four channels (one
//!    endpoint each) sealed one after another; timed from the seal request
//!    until the item is `published` (every channel answered 2xx and the
//!    gateway recorded it), polled in the store every 2 ms.
//!
//! Prints Markdown on stdout (SQLite, and PostgreSQL when
//! `GATEWAY_TEST_DATABASE_URL` is set). `--quick` makes it small.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use serde_json::{Value, json};
use sqlx::Row as _;
use tests::team::{Team, ok};
use tests::{Backend, TestApp};

struct Sink {
    keys: Vec<receiver::TransportKey>,
    /// (endpoint path, event id) received with a good signature.
    seen: HashSet<(String, String)>,
    bad: usize,
}

async fn receive(
    State(sink): State<Arc<Mutex<Sink>>>,
    Path(n): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut s = sink.lock().unwrap();
    let id = h("webhook-id");
    if receiver::verify_webhook(&s.keys, id, h("webhook-timestamp"), h("webhook-signature"), &body).is_err()
        || serde_json::from_slice::<Value>(&body).map_or(true, |v| v["event_id"] != id)
    {
        s.bad += 1;
        return StatusCode::UNAUTHORIZED;
    }
    s.seen.insert((n, id.to_owned()));
    StatusCode::OK
}

async fn start_sink(app: &TestApp, baseline: &ed25519_dalek::SigningKey) -> (String, Arc<Mutex<Sink>>) {
    let keys: Value =
        reqwest::get(format!("{}/.well-known/webhook-keys", app.base)).await.unwrap().json().await.unwrap();
    let x: [u8; 32] = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(keys["keys"][0]["x"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let gateway_key = receiver::TransportKey::from_verifying_key(ed25519_dalek::VerifyingKey::from_bytes(&x).unwrap());
    let sink = Arc::new(Mutex::new(Sink {
        keys: vec![gateway_key, receiver::TransportKey::from_verifying_key(baseline.verifying_key())],
        seen: HashSet::new(),
        bad: 0,
    }));
    let router = axum::Router::new().route("/hook/{n}", axum::routing::post(receive)).with_state(sink.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (base, sink)
}

async fn undelivered(app: &TestApp) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM deliveries WHERE state <> 'delivered'")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get("n")
}

struct Throughput {
    deliveries: usize,
    outbox: Duration,
    baseline: Duration,
    concurrency: u32,
}

async fn throughput(backend: Backend, items: usize, per_channel: usize) -> Throughput {
    let app = TestApp::spawn(backend).await;
    let concurrency = app.settings().delivery.concurrency;
    let t = Team::of(&app).await;
    let baseline_key = ed25519_dalek::SigningKey::from_bytes(&[42; 32]);
    let (sink_base, sink) = start_sink(&app, &baseline_key).await;
    for n in 0..items {
        let id = t.draft(&format!("关于公布第{n}批政务服务事项清单的通知"), &["website", "wechat"]).await;
        let digest = t.approve(&id, 1).await;
        t.seal(&id, &digest).await;
    }
    let mut hooks = Vec::new();
    for (k, channel) in (0..per_channel * 2).map(|k| (k, if k % 2 == 0 { "website" } else { "wechat" })) {
        let url = format!("{sink_base}/hook/{k}");
        let ep = ok(t.security.post("/api/v1/channel-endpoints", &json!({"channel": channel, "url": url})).await);
        hooks.push(ep["id"].as_str().unwrap().to_owned());
    }
    let deliveries = items * 2 * per_channel;
    let started = Instant::now();
    for hook in &hooks {
        ok(t.publisher
            .post(&format!("/api/v1/channel-endpoints/{hook}/redeliver"), &json!({"since": "2000-01-01T00:00:00Z"}))
            .await);
    }
    while sink.lock().unwrap().seen.len() < deliveries || undelivered(&app).await > 0 {
        assert!(started.elapsed() < Duration::from_secs(600), "deliveries did not finish");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let outbox = started.elapsed();
    assert_eq!(sink.lock().unwrap().bad, 0, "bad signatures");

    // Baseline: the same bodies to the same URLs, signed, `concurrency` at a time.
    let rows = sqlx::query(
        "SELECT e.event_id, e.body, p.url FROM deliveries d JOIN channel_events e ON e.seq = d.event_seq \
         JOIN channel_endpoints p ON p.id = d.endpoint_id",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    let work: Vec<(String, String, String)> =
        rows.iter().map(|r| (r.get("event_id"), r.get("body"), r.get::<String, _>("url"))).collect();
    assert_eq!(work.len(), deliveries);
    let work = Arc::new(Mutex::new(work));
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    sink.lock().unwrap().seen.clear();
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (work, client, key) = (work.clone(), client.clone(), baseline_key.clone());
        set.spawn(async move {
            loop {
                let Some((id, body, url)) = work.lock().unwrap().pop() else { return };
                let ts = time::OffsetDateTime::now_utc().unix_timestamp();
                let signature = receiver::sign_webhook(&key, &id, ts, body.as_bytes());
                let r = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("webhook-id", &id)
                    .header("webhook-timestamp", ts.to_string())
                    .header("webhook-signature", signature)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
                let _ = r.bytes().await;
            }
        });
    }
    while set.join_next().await.is_some() {}
    let baseline = started.elapsed();
    assert_eq!(sink.lock().unwrap().seen.len(), deliveries);
    app.stop().await;
    Throughput { deliveries, outbox, baseline, concurrency }
}

/// Seal → published, per item, for items with `channels` (one endpoint each).
async fn latency(backend: Backend, items: usize, channels: &[&str]) -> (Vec<Duration>, Vec<Duration>) {
    let app = TestApp::spawn(backend).await;
    let t = Team::of(&app).await;
    let baseline_key = ed25519_dalek::SigningKey::from_bytes(&[42; 32]);
    let (sink_base, sink) = start_sink(&app, &baseline_key).await;
    for (k, channel) in channels.iter().enumerate() {
        ok(t.security
            .post("/api/v1/channel-endpoints", &json!({"channel": channel, "url": format!("{sink_base}/hook/{k}")}))
            .await);
    }
    let (mut to_published, mut seal_requests) = (Vec::new(), Vec::new());
    for n in 0..items {
        let id = t.draft(&format!("关于开展第{n}次安全生产检查的通知"), channels).await;
        let digest = t.approve(&id, 1).await;
        let started = Instant::now();
        t.seal(&id, &digest).await;
        seal_requests.push(started.elapsed());
        loop {
            let state: String = sqlx::query("SELECT state FROM items WHERE id = $1")
                .bind(&id)
                .fetch_one(app.db.pool())
                .await
                .unwrap()
                .get("state");
            if state == "published" {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "{id} not published: {state}");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        to_published.push(started.elapsed());
    }
    assert_eq!(sink.lock().unwrap().seen.len(), items * channels.len());
    app.stop().await;
    (to_published, seal_requests)
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64() * 1000.0
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (items, per_channel, latency_items) = if quick { (10, 2, 8) } else { (100, 5, 40) };
    let channels = ["website", "wechat", "weibo", "bulletin"];
    let mut backends = vec![(Backend::Sqlite, "SQLite")];
    if std::env::var(tests::PG_ENV).is_ok() {
        backends.push((Backend::Postgres, "PostgreSQL"));
    }
    let load_before = loadavg();
    let mut rows_t = String::new();
    let mut rows_l = String::new();
    let mut concurrency = 0;
    for (backend, name) in backends {
        eprintln!("{name}: deliveries per second ...");
        let t = throughput(backend, items, per_channel).await;
        concurrency = t.concurrency;
        let outbox = t.deliveries as f64 / t.outbox.as_secs_f64();
        let baseline = t.deliveries as f64 / t.baseline.as_secs_f64();
        rows_t.push_str(&format!(
            "| {name} | {} | {:.0} /s ({:.2} s) | {:.0} /s ({:.2} s) | **{:.2}** |\n",
            t.deliveries,
            outbox,
            t.outbox.as_secs_f64(),
            baseline,
            t.baseline.as_secs_f64(),
            outbox / baseline
        ));
        eprintln!("{name}: seal to every channel confirmed ...");
        let (mut published, mut seals) = latency(backend, latency_items, &channels).await;
        rows_l.push_str(&format!(
            "| {name} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |\n",
            published.len(),
            pct(&mut published, 0.5),
            pct(&mut published, 0.99),
            pct(&mut seals, 0.5),
            pct(&mut seals, 0.99),
        ));
    }
    let load_after = loadavg();
    println!(
        "Machine load (1/5/15-minute load average): {load_before} before, {load_after} after; \
         the gateway, the receiver and the baseline share the machine's cores.\n"
    );
    println!("### Deliveries per second to a local receiver\n");
    println!(
        "{items} sealed items × 2 channels × {per_channel} endpoints per channel, all due at once (redelivery from \
         the start); dispatcher `concurrency` = {concurrency}. Baseline: the same signed bodies POSTed with reqwest, \
         {concurrency} at a time, no store.\n"
    );
    println!("| database | deliveries | through the outbox | plain signed POSTs | outbox / baseline |");
    println!("|---|---:|---:|---:|---:|");
    print!("{rows_t}");
    println!("\n### Seal to every channel confirmed\n");
    println!(
        "Items sealed one after another for {} channels ({}), one endpoint each; from the seal request until the item \
         is `published` (polled every 2 ms). The seal request alone for comparison.\n",
        channels.len(),
        channels.join(", ")
    );
    println!("| database | items | seal → published p50 | p99 | seal request p50 | p99 |");
    println!("|---|---:|---:|---:|---:|---:|");
    print!("{rows_l}");
}
