//! Issue 16, findings 1, 5 and 12: secrets have an owner, and outbound
//! requests go only where the operator's configuration lets them.
//!
//! - The seal key cannot be captured through a connector endpoint: a
//!   `secret_name` names only a connector secret (its own environment prefix
//!   or `<data_dir>/secrets/`), the gateway's own variables are taken out of
//!   the environment at start, and an endpoint created through the API can
//!   call only the platform's real host (or a base the configuration file
//!   allows).
//! - Webhooks and connectors reach no loopback, link-local or private
//!   address unless `[delivery] allowed_networks` allows it, checked on the
//!   address actually connected to; what an endpoint answered is shown to
//!   the publication office only.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use gateway::config::DeliverySettings;
use reqwest::StatusCode;
use serde_json::json;
use tests::platforms::FakeWeChat;
use tests::process::Deployment;
use tests::team::{Team, ok};
use tests::{Backend, TestApp, on_both_backends, until};

on_both_backends!(
    the_seal_key_cannot_be_taken_through_a_connector_endpoint,
    outbound_requests_stay_out_of_internal_networks
);

const APP_ID: &str = "wx51de2a6d8c3f0e11";

fn fast() -> DeliverySettings {
    DeliverySettings { poll_interval_ms: 100, retry_base_ms: 100, retry_cap_secs: 1, ..DeliverySettings::default() }
}

async fn endpoint_count(db: &gateway::store::Db) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM channel_endpoints").fetch_one(db.pool()).await.unwrap()
}

/// The attack of finding 1, against the real binary with its seal key in
/// `GATEWAY_SEAL_KEY`: the security administrator (who configures
/// endpoints) names that variable (and
/// `DATABASE_URL`) as a WeChat endpoint's secret and points the endpoint at
/// a host of their own. Neither the host nor the names get them anything.
async fn the_seal_key_cannot_be_taken_through_a_connector_endpoint(backend: Backend) {
    // The operator's file allows the fake platform's address, nothing else.
    let wechat = FakeWeChat::start(APP_ID, "app-secret").await;
    let delivery = DeliverySettings { connector_api_bases: vec![wechat.base.clone()], ..fast() };
    let mut d = Deployment::new(backend, delivery).await;
    d.set_org_code("321183"); // a production key needs the organ's own code
    let key = ed25519_dalek::SigningKey::from_bytes(&[41; 32]);
    let pem = key.to_pkcs8_pem(Default::default()).unwrap().to_string();
    let gw = d.start_with_env(&[("GATEWAY_SEAL_KEY", &pem)]).await;
    let t = Team::create(async |name, roles, unit| d.user(&gw.base, name, roles, unit).await).await;

    // A capturing host, on another port of the same machine, and a foreign one.
    let capture = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let capture_base = format!("http://{}", capture.local_addr().unwrap());
    let endpoint = |url: &str, secret_name: &str| {
        json!({"channel": "wechat", "kind": "wechat", "url": url, "app_id": APP_ID,
               "secret_name": secret_name, "cover_media_id": "COVER"})
    };
    for url in [capture_base.as_str(), "https://attacker.example", "https://api.weixin.qq.com.attacker.example"] {
        let (status, problem) = t.security.post("/api/v1/channel-endpoints", &endpoint(url, "GATEWAY_SEAL_KEY")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {problem}");
        assert!(problem.to_string().contains("connector_api_bases"), "{problem}");
    }
    assert_eq!(endpoint_count(&d.db).await, 0, "nothing stored by a refused request");

    // At the allowed base, the gateway's own variables are no secrets of a
    // connector: the delivery fails without a single call to the platform.
    for name in ["GATEWAY_SEAL_KEY", "DATABASE_URL"] {
        ok(t.security.post("/api/v1/channel-endpoints", &endpoint(&wechat.base, name)).await);
    }
    let (id, _) = t.sealed_item("关于公布2026年第四季度城乡低保标准的通知", &["wechat"]).await;
    until(30, "both deliveries fail for want of the secret", async || {
        let ds = ok(t.publisher.get(&format!("/api/v1/items/{id}/deliveries")).await);
        let errors: Vec<&str> =
            ds["deliveries"].as_array().unwrap().iter().filter_map(|d| d["last_error"].as_str()).collect();
        errors.len() == 2
            && errors.iter().all(|e| e.contains("未找到连接器密钥") && e.contains("GATEWAY_CONNECTOR_SECRET_"))
    })
    .await;
    assert!(wechat.calls().is_empty(), "the platform was never called: {:?}", wechat.paths());
    let record = format!("{}{}", gw.log_text(), dump(&d.db).await);
    assert!(!record.contains(pem.lines().nth(1).unwrap()), "the key is in no log line or table");
    drop(gw);
    d.stop().await;
}

/// Finding 12: without `allowed_networks`, no webhook reaches loopback,
/// link-local or private addresses — written as literals (refused when the
/// endpoint is added) or behind a name that resolves to them (refused at
/// connect time). A drafter never sees what an endpoint answered.
async fn outbound_requests_stay_out_of_internal_networks(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.delivery = fast();
        s.delivery.allowed_networks = vec!["192.0.2.0/24".parse().unwrap()]; // documentation range: reaches nothing here
    })
    .await;
    let t = Team::of(&app).await;
    let hits = Arc::new(AtomicUsize::new(0));
    let receiver = {
        let hits = hits.clone();
        let router = axum::Router::new().fallback(move || {
            hits.fetch_add(1, Ordering::SeqCst);
            async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "内部服务 10.8.0.12 数据库连接失败") }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        port
    };
    for url in [
        format!("http://127.0.0.1:{receiver}/hook"),
        format!("http://[::1]:{receiver}/hook"),
        format!("http://0x7f.1:{receiver}/hook"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.0.0.8/hook".to_owned(),
        "http://[::ffff:127.0.0.1]/hook".to_owned(),
    ] {
        let (status, problem) =
            t.security.post("/api/v1/channel-endpoints", &json!({"channel": "website", "url": url})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {problem}");
        assert!(problem["detail"].as_str().unwrap().contains("allowed_networks"), "{problem}");
    }
    assert_eq!(endpoint_count(&app.db).await, 0);

    // A name is checked where it resolves: `localhost` is loopback.
    let url = format!("http://localhost:{receiver}/hook");
    ok(t.security.post("/api/v1/channel-endpoints", &json!({"channel": "website", "url": url})).await);
    let id = t.draft("关于调整城乡居民医保缴费标准的通知", &["website"]).await;
    let serial = t.approve_and_seal(&id, 1).await;
    assert!(!serial.is_empty());
    let path = format!("/api/v1/items/{id}/deliveries");
    until(30, "the delivery is refused at connect time", async || {
        let ds = ok(t.publisher.get(&path).await);
        ds["deliveries"][0]["last_error"].as_str().is_some_and(|e| e.contains("allowed_networks"))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing reached the loopback receiver");
    let drafter_view = ok(t.drafter.get(&path).await);
    let seen = drafter_view.to_string();
    assert!(!seen.contains("allowed_networks") && !seen.contains("localhost"), "{drafter_view:#}");
    assert!(drafter_view["deliveries"][0]["attempts"].as_array().unwrap().iter().all(|a| a["error"].is_null()));
    app.stop().await;
}

/// Every text column of the tables a delivery writes, as one string.
pub async fn dump(db: &gateway::store::Db) -> String {
    let mut out = String::new();
    for query in [
        "SELECT COALESCE(response_excerpt, '') || ' ' || COALESCE(error, '') FROM delivery_attempts",
        "SELECT COALESCE(last_error, '') FROM deliveries",
        "SELECT COALESCE(reason, '') FROM connector_posts",
        "SELECT detail FROM audit_events",
        "SELECT message FROM notifications",
    ] {
        let rows: Vec<String> = sqlx::query_scalar(query).fetch_all(db.pool()).await.unwrap();
        out.push_str(&rows.join("\n"));
    }
    out
}
