//! Gateway-operated connectors (issue 9, docs/delivery.md §4) against the
//! local fakes of `tests::platforms`: a publication reaches two reference
//! receivers (the `receiver` library, verifying signatures and seals) and a
//! fake WeChat (draft, submit, poll until published), and its withdrawal is
//! confirmed by all three; WeChat's asynchronous rejection fails the
//! delivery with the platform's reason and tells the publication office; a
//! removal on the platform after publication is found, recorded and
//! reported; an expired token is fetched again once and a rate limit is
//! retried without a second draft; Weibo shares a link and deletes it; an
//! article still being submitted when the item is withdrawn is deleted as
//! soon as WeChat has published it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxStatus};
use receiver::{Config, DevKeys, MemoryStore, Receiver, Store as _, TransportKey, WebhookHeaders};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::platforms::{FakeWeChat, FakeWeibo};
use tests::team::{Team, ok};
use tests::{Backend, Client, TestApp, on_both_backends, sample_item};

on_both_backends!(
    a_publish_reaches_two_receivers_and_wechat_and_the_withdrawal_is_confirmed_by_all,
    an_asynchronous_rejection_fails_the_delivery_and_tells_the_office,
    a_removal_on_the_platform_is_found_recorded_and_reported,
    an_expired_token_is_fetched_once_and_a_rate_limit_is_retried,
    weibo_shares_a_link_to_the_seal_page_and_deletes_it,
    a_publication_in_flight_when_withdrawn_is_deleted_once_published,
    a_correction_replaces_the_wechat_article,
    a_publication_the_platform_never_decides_is_given_up,
    platform_tokens_never_reach_the_record,
);

const APP_ID: &str = "wx0123456789abcdef";
const APP_SECRET: &str = "wechat-app-secret-of-the-test";
const WEIBO_TOKEN: &str = "2.00weibo-oauth-token-of-the-test";
const LINK: &str = "https://gk.example.gov.cn/seal/{serial}";

// ------------------------------------------------------- reference receiver

/// The reference receiver library on loopback, as a website team runs it.
struct Site {
    url: String,
    receiver: Arc<Mutex<Receiver<MemoryStore>>>,
}

impl Site {
    async fn start(app: &TestApp, channel: &str, admin: &Client) -> Site {
        let endpoints = ok(admin.get("/api/v1/channel-endpoints").await);
        let key = TransportKey::parse(endpoints["transport_key"].as_str().unwrap()).unwrap();
        let jwks = reqwest::get(format!("{}/.well-known/seal-keys", app.base)).await.unwrap().text().await.unwrap();
        let mut config =
            Config::new(channel, vec![key], seal::KeySet::from_jwks_json(jwks.as_bytes()).unwrap()).unwrap();
        // The test gateway seals with its development key.
        config.dev_keys = DevKeys::Accept;
        let receiver = Arc::new(Mutex::new(Receiver::new(config, MemoryStore::new())));
        let router = axum::Router::new().route("/", axum::routing::post(receive)).with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Site { url, receiver }
    }

    /// The serial the site shows for the item, if any.
    fn shown(&self, item: &str) -> Option<String> {
        self.receiver.lock().unwrap().store().publication(item).unwrap().map(|p| p.serial)
    }

    /// The kinds of events applied for the item, in order.
    fn applied(&self, item: &str) -> Vec<String> {
        let r = self.receiver.lock().unwrap();
        r.store().item_state(item).unwrap().events.into_iter().map(|e| e.kind).collect()
    }
}

async fn receive(
    State(r): State<Arc<Mutex<Receiver<MemoryStore>>>>,
    headers: HeaderMap,
    body: Bytes,
) -> (AxStatus, axum::Json<Value>) {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let outcome = r.lock().unwrap().handle(
        WebhookHeaders { id: h("webhook-id"), timestamp: h("webhook-timestamp"), signature: h("webhook-signature") },
        &body,
        now,
    );
    (AxStatus::from_u16(outcome.status()).unwrap(), axum::Json(outcome.to_json()))
}

// ------------------------------------------------------------------ helpers

/// Fast retries and polling; the connectors' secrets in
/// `<data_dir>/secrets/` (mode 0600), never in the database.
async fn spawn(backend: Backend) -> TestApp {
    spawn_with(backend, |_| {}).await
}

async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut gateway::config::Settings)) -> TestApp {
    let app = TestApp::spawn_with(backend, |s| {
        s.delivery.poll_interval_ms = 100;
        s.delivery.retry_base_ms = 100;
        s.delivery.retry_cap_secs = 1;
        configure(s);
    })
    .await;
    let dir = app.data_dir().join("secrets");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, secret) in [("WECHAT_SECRET", APP_SECRET), ("WEIBO_TOKEN", WEIBO_TOKEN)] {
        std::fs::write(dir.join(name), format!("{secret}\n")).unwrap();
        std::fs::set_permissions(dir.join(name), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    }
    app
}

async fn add_wechat(t: &Team, fake: &FakeWeChat, recheck_secs: i64) -> Value {
    t.add_endpoint(json!({"channel": "wechat", "kind": "wechat", "url": fake.base, "app_id": APP_ID,
               "secret_name": "WECHAT_SECRET", "link_template": LINK, "cover_media_id": "COVER_MEDIA_ID",
               "recheck_secs": recheck_secs}))
        .await
}

async fn deliveries(t: &Team, id: &str) -> Value {
    ok(t.publisher.get(&format!("/api/v1/items/{id}/deliveries")).await)
}

/// Waits (up to 30 s) until `cond` holds of the item's deliveries.
async fn until(t: &Team, id: &str, what: &str, cond: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        last = deliveries(t, id).await;
        if cond(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}: {last:#}");
}

fn of_channel<'a>(d: &'a Value, channel: &str, kind: &str) -> Vec<&'a Value> {
    d["deliveries"].as_array().unwrap().iter().filter(|x| x["channel"] == channel && x["kind"] == kind).collect()
}

fn post_of<'a>(d: &'a Value, serial: &str) -> &'a Value {
    d["connector_posts"].as_array().unwrap().iter().find(|p| p["serial"] == serial).expect("a connector post")
}

async fn audit_actions(t: &Team, id: &str) -> Vec<Value> {
    ok(t.auditor.get(&format!("/api/v1/audit/events?item={id}&limit=1000")).await).as_array().unwrap().clone()
}

async fn notifications(c: &Client, kind: &str) -> Vec<Value> {
    let all = ok(c.get("/api/v1/notifications").await);
    all.as_array().unwrap().iter().filter(|n| n["kind"] == kind).cloned().collect()
}

// -------------------------------------------------------------------- tests

async fn a_publish_reaches_two_receivers_and_wechat_and_the_withdrawal_is_confirmed_by_all(backend: Backend) {
    let app = spawn(backend).await;
    let t = Team::of(&app).await;
    let wechat = FakeWeChat::start(APP_ID, APP_SECRET).await;
    let website = Site::start(&app, "website", &t.security).await;
    let bulletin = Site::start(&app, "bulletin", &t.security).await;

    // A connector endpoint names its secret; the secret itself is refused
    // as a name and never stored.
    let (status, problem) = t
        .security
        .post("/api/v1/channel-endpoints", &json!({"channel": "wechat", "kind": "wechat", "app_id": APP_ID}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem.to_string().contains("secret_name"), "{problem}");
    let (status, _) = t
        .security
        .post(
            "/api/v1/channel-endpoints",
            &json!({"channel": "wechat", "kind": "wechat", "app_id": APP_ID, "secret_name": APP_SECRET,
                    "cover_media_id": "C"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    t.add_endpoint(json!({"channel": "website", "url": website.url})).await;
    t.add_endpoint(json!({"channel": "bulletin", "url": bulletin.url})).await;
    let ep = add_wechat(&t, &wechat, 3600).await;
    assert_eq!(ep["kind"], "wechat");
    assert_eq!(ep["connector"]["secret_name"], "WECHAT_SECRET");
    assert!(!ep.to_string().contains(APP_SECRET));

    let (id, serial) = t.sealed_item("关于开展政务公开业务培训的通知", &["website", "bulletin", "wechat"]).await;
    let d = until(&t, &id, "published", |d| d["state"] == "published").await;

    // Both sites verified and show the seal.
    assert_eq!(website.shown(&id).as_deref(), Some(serial.as_str()));
    assert_eq!(bulletin.shown(&id).as_deref(), Some(serial.as_str()));
    // WeChat: a draft, a submission, polls until status 0.
    assert_eq!(wechat.paths(), ["draft/add", "freepublish/submit", "freepublish/get", "freepublish/get"]);
    assert_eq!(wechat.tokens_issued(), 1);
    let calls = wechat.calls();
    let article = &calls[0].body["articles"][0];
    assert_eq!(article["title"], "关于开展政务公开业务培训的通知");
    assert_eq!(article["thumb_media_id"], "COVER_MEDIA_ID");
    assert_eq!(article["content_source_url"], LINK.replace("{serial}", &serial));
    assert!(article["content"].as_str().unwrap().contains(&format!("专用章编号：{serial}")), "{article}");
    assert_eq!(calls[1].body["media_id"], "MEDIA_ID_1");
    let wx = of_channel(&d, "wechat", "publish");
    assert_eq!((wx.len(), wx[0]["state"].as_str()), (1, Some("delivered")), "{d:#}");
    let post = post_of(&d, &serial);
    assert_eq!(post["status"], "published");
    assert_eq!((post["draft_id"].as_str(), post["job_id"].as_str()), (Some("MEDIA_ID_1"), Some("100000002")));
    let article_id = post["post_id"].as_str().unwrap().to_owned();
    assert_eq!(post["post_url"], format!("https://mp.weixin.qq.com/s/{article_id}"));
    // The publication office's item page shows what the platform says, with the link.
    let page = t.publisher.http.get(format!("{}/items/{id}", t.publisher.base)).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("平台已发布") && page.contains(&format!("href=\"https://mp.weixin.qq.com/s/{article_id}\"")));

    // 撤稿: both sites take it down, WeChat deletes the article, all three confirm.
    ok(t.publisher.post(&format!("/api/v1/items/{id}/withdraw"), &json!({"reason": "内容需要更正"})).await);
    let d = until(&t, &id, "withdrawn", |d| d["state"] == "withdrawn").await;
    assert_eq!(website.shown(&id), None);
    assert_eq!(bulletin.shown(&id), None);
    assert_eq!(website.applied(&id), ["publish", "withdraw"]);
    assert_eq!(bulletin.applied(&id), ["publish", "withdraw"]);
    assert_eq!(wechat.deleted(), [article_id.as_str()]);
    assert_eq!(wechat.calls().last().unwrap().body, json!({"article_id": article_id, "index": 0}));
    for channel in ["website", "bulletin", "wechat"] {
        let w = of_channel(&d, channel, "withdraw");
        assert_eq!(w.len(), 1, "{channel}");
        assert_eq!(w[0]["state"], "delivered", "{channel}");
        assert!(w[0]["confirmed_at"].is_string(), "{channel}");
    }
    assert!(d["withdrawals"][0]["completed_at"].is_string(), "{d:#}");
    assert_eq!(post_of(&d, &serial)["status"], "deleted");
    app.stop().await;
}

async fn an_asynchronous_rejection_fails_the_delivery_and_tells_the_office(backend: Backend) {
    let app = spawn(backend).await;
    let t = Team::of(&app).await;
    let wechat = FakeWeChat::start(APP_ID, APP_SECRET).await;
    let website = Site::start(&app, "website", &t.security).await;
    t.add_endpoint(json!({"channel": "website", "url": website.url})).await;
    add_wechat(&t, &wechat, 3600).await;
    // Publishing, then 4: 平台审核不通过.
    wechat.script(&[1, 1, 4]);

    let (id, serial) = t.sealed_item("关于调整城乡低保标准的通知", &["website", "wechat"]).await;
    let d = until(&t, &id, "the rejection", |d| d["partially_published"] == true).await;
    let wx = of_channel(&d, "wechat", "publish");
    assert_eq!(wx[0]["state"], "failed");
    assert!(wx[0]["last_error"].as_str().unwrap().contains("平台审核不通过"), "{d:#}");
    assert_eq!(d["state"], "delivering", "the website has it, WeChat does not");
    assert_eq!(website.shown(&id).as_deref(), Some(serial.as_str()));
    assert_eq!(
        wechat.paths(),
        ["draft/add", "freepublish/submit", "freepublish/get", "freepublish/get", "freepublish/get"]
    );
    let post = post_of(&d, &serial);
    assert_eq!(post["status"], "rejected");
    assert!(post["reason"].as_str().unwrap().contains("平台审核不通过"));

    let notes = notifications(&t.publisher, "delivery_rejected").await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0]["message"].as_str().unwrap().contains("微信公众号"), "{notes:?}");
    assert!(notes[0]["message"].as_str().unwrap().contains("平台审核不通过"), "{notes:?}");
    let events = audit_actions(&t, &id).await;
    assert!(
        events.iter().any(|e| e["action"] == "delivery.rejected"
            && e["detail"]["reason"].as_str().is_some_and(|r| r.contains("平台审核不通过"))),
        "no delivery.rejected event"
    );

    // A withdrawal then needs nothing deleted on WeChat and completes.
    ok(t.publisher.post(&format!("/api/v1/items/{id}/withdraw"), &json!({"reason": "撤回修改后重发"})).await);
    until(&t, &id, "withdrawn", |d| d["state"] == "withdrawn").await;
    assert!(wechat.deleted().is_empty());
    app.stop().await;
}

async fn a_removal_on_the_platform_is_found_recorded_and_reported(backend: Backend) {
    let app = spawn(backend).await;
    let t = Team::of(&app).await;
    let wechat = FakeWeChat::start(APP_ID, APP_SECRET).await;
    add_wechat(&t, &wechat, 1).await;
    wechat.script(&[0]);

    let (id, serial) = t.sealed_item("关于公布政务服务事项清单的通知", &["wechat"]).await;
    until(&t, &id, "published", |d| d["state"] == "published").await;
    // Rechecks find it live.
    let live = wechat.paths().len();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(wechat.paths().len() > live, "{:?}", wechat.paths());
    assert!(notifications(&t.publisher, "platform_removed").await.is_empty());

    // The platform bans it (6).
    wechat.remove_all(6);
    let d = until(&t, &id, "the removal", |d| post_of(d, &serial)["status"] == "removed").await;
    let post = post_of(&d, &serial);
    assert!(post["reason"].as_str().unwrap().contains("平台封禁"), "{post}");
    assert!(post["next_check_at"].is_null());
    let events = audit_actions(&t, &id).await;
    let removed: Vec<_> = events.iter().filter(|e| e["action"] == "delivery.platform_removed").collect();
    assert_eq!(removed.len(), 1, "delivery.platform_removed events");
    assert_eq!(removed[0]["detail"]["post_id"], post["post_id"]);
    let notes = notifications(&t.publisher, "platform_removed").await;
    assert_eq!(notes.len(), 1);
    assert!(notes[0]["message"].as_str().unwrap().contains(&serial), "{notes:?}");
    // Found once: no more rechecks of a removed post.
    let calls = wechat.paths().len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(wechat.paths().len(), calls);
    app.stop().await;
}

async fn an_expired_token_is_fetched_once_and_a_rate_limit_is_retried(backend: Backend) {
    let app = spawn(backend).await;
    let t = Team::of(&app).await;
    let wechat = FakeWeChat::start(APP_ID, APP_SECRET).await;
    add_wechat(&t, &wechat, 3600).await;
    wechat.expire_token_once();
    wechat.rate_limit("freepublish/submit", 1);

    let (id, serial) = t.sealed_item("关于做好冬季供暖保障工作的通知", &["wechat"]).await;
    let d = until(&t, &id, "published", |d| d["state"] == "published").await;
    // 40001 on the first call: one new token, the call repeated. 45009 on
    // the submission: a retry that resumes with the same draft.
    assert_eq!(wechat.tokens_issued(), 2);
    assert_eq!(
        wechat.paths(),
        ["draft/add", "draft/add", "freepublish/submit", "freepublish/submit", "freepublish/get", "freepublish/get"]
    );
    let calls = wechat.calls();
    assert_eq!(calls[2].body, calls[3].body, "the same draft submitted again");
    let wx = of_channel(&d, "wechat", "publish");
    assert_eq!(wx[0]["state"], "delivered");
    let attempts = wx[0]["attempts"].as_array().unwrap();
    assert!(attempts[0]["error"].as_str().unwrap().contains("45009"), "{attempts:?}");
    assert!(attempts[1..].iter().all(|a| a["error"].is_null()), "{attempts:?}");
    assert_eq!(post_of(&d, &serial)["draft_id"], "MEDIA_ID_1", "one draft");
    app.stop().await;
}

async fn weibo_shares_a_link_to_the_seal_page_and_deletes_it(backend: Backend) {
    let app = spawn(backend).await;
    let t = Team::of(&app).await;
    let weibo = FakeWeibo::start(WEIBO_TOKEN, "gk.example.gov.cn").await;
    let (status, problem) = t
        .security
        .post(
            "/api/v1/channel-endpoints",
            &json!({"channel": "weibo", "kind": "weibo", "url": weibo.base, "secret_name": "WEIBO_TOKEN"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a Weibo status must link to the seal page");
    assert!(problem.to_string().contains("link_template"), "{problem}");
    t.add_endpoint(json!({"channel": "weibo", "kind": "weibo", "url": weibo.base, "secret_name": "WEIBO_TOKEN",
               "link_template": LINK}))
        .await;

    let (id, serial) = t.sealed_item("关于#开展#2025年度政务公开业务培训的通知", &["weibo"]).await;
    let d = until(&t, &id, "published", |d| d["state"] == "published").await;
    let statuses = weibo.statuses();
    assert_eq!(statuses.len(), 1);
    let (status_id, text) = statuses.into_iter().next().unwrap();
    assert!(text.starts_with("【关于 开展 2025年度政务公开业务培训的通知】各区、各部门："), "{text}");
    assert!(text.ends_with(&format!("专用章{serial} {}", LINK.replace("{serial}", &serial))), "{text}");
    assert!(text.chars().count() <= 140);
    let post = post_of(&d, &serial);
    assert_eq!(post["post_id"], status_id.as_str());
    assert_eq!(post["post_url"], format!("https://m.weibo.cn/status/{status_id}"));

    ok(t.publisher.post(&format!("/api/v1/items/{id}/withdraw"), &json!({"reason": "信息有误"})).await);
    let d = until(&t, &id, "withdrawn", |d| d["state"] == "withdrawn").await;
    assert_eq!(weibo.destroyed(), [status_id.as_str()]);
    assert!(weibo.statuses().is_empty());
    assert_eq!(of_channel(&d, "weibo", "withdraw")[0]["state"], "delivered");
    assert_eq!(post_of(&d, &serial)["status"], "deleted");
    let paths: Vec<String> = weibo.calls().into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["/2/statuses/share.json", "/2/statuses/destroy.json"]);
    app.stop().await;
}

async fn a_publication_in_flight_when_withdrawn_is_deleted_once_published(backend: Backend) {
    let app = spawn(backend).await;
    let t = Team::of(&app).await;
    let wechat = FakeWeChat::start(APP_ID, APP_SECRET).await;
    add_wechat(&t, &wechat, 3600).await;
    wechat.script(&[1, 0]);
    wechat.delay("draft/add", Duration::from_millis(1500));

    let (id, serial) = t.sealed_item("关于开展安全生产大检查的通知", &["wechat"]).await;
    // Withdraw while the draft is being added.
    for _ in 0..100 {
        if deliveries(&t, &id).await["state"] == "delivering" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(wechat.paths().is_empty(), "the draft is still in flight");
    ok(t.publisher.post(&format!("/api/v1/items/{id}/withdraw"), &json!({"reason": "发现错误，立即撤回"})).await);

    // Whatever the order, the article WeChat published ends deleted and
    // the item withdrawn.
    let d = until(&t, &id, "the article deleted", |d| {
        d["state"] == "withdrawn" && d["connector_posts"][0]["status"] == "deleted"
    })
    .await;
    let post = post_of(&d, &serial);
    let article = post["post_id"].as_str().unwrap();
    assert_eq!(wechat.deleted(), [article]);
    assert_eq!(wechat.paths().iter().filter(|p| *p == "draft/add").count(), 1);
    assert_eq!(wechat.paths().last().map(String::as_str), Some("freepublish/delete"));
    // The withdrawal delivery deleted it (it found the post), or, when the
    // post was recorded only after the withdrawal had confirmed (the
    // publication cancelled in flight), the recheck found the stray post
    // and deleted it: exactly one of them.
    let withdraw = of_channel(&d, "wechat", "withdraw");
    assert_eq!(withdraw[0]["state"], "delivered");
    let by_withdrawal = withdraw[0]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["response_excerpt"].as_str().is_some_and(|x| x.contains("freepublish/delete")));
    let events = audit_actions(&t, &id).await;
    let by_recheck = events.iter().any(|e| e["action"] == "delivery.stray_post" && e["detail"]["status"] == "deleted");
    assert!(by_withdrawal != by_recheck, "deleted by the withdrawal: {by_withdrawal}, by the recheck: {by_recheck}");
    app.stop().await;
}

async fn a_correction_replaces_the_wechat_article(backend: Backend) {
    let app = spawn(backend).await;
    let t = Team::of(&app).await;
    let wechat = FakeWeChat::start(APP_ID, APP_SECRET).await;
    add_wechat(&t, &wechat, 3600).await;
    let (id, serial1) = t.sealed_item("关于调整公交线路的通告", &["wechat"]).await;
    let d = until(&t, &id, "published", |d| d["state"] == "published").await;
    let article1 = post_of(&d, &serial1)["post_id"].as_str().unwrap().to_owned();

    // 更正: WeChat cannot edit a published article, so the correction is a
    // new article and the superseded one is deleted.
    let mut edit = sample_item();
    edit["title"] = json!("关于调整公交线路的通告（更正）");
    edit["channels"] = json!(["wechat"]);
    edit["base_version"] = json!(1);
    ok(t.drafter.put(&format!("/api/v1/items/{id}"), &edit).await);
    let serial2 = t.approve_and_seal(&id, 2).await;
    let d = until(&t, &id, "the correction live", |d| {
        d["connector_posts"].as_array().unwrap().len() == 2 && post_of(d, &serial1)["status"] == "deleted"
    })
    .await;
    let post2 = post_of(&d, &serial2);
    assert_eq!(post2["status"], "published");
    assert!(post_of(&d, &serial1)["reason"].as_str().unwrap().contains(&serial2));
    assert_eq!(wechat.deleted(), [article1.as_str()]);
    let drafts: Vec<_> = wechat.calls().into_iter().filter(|c| c.path == "draft/add").collect();
    assert_eq!(drafts.len(), 2);
    assert_eq!(drafts[1].body["articles"][0]["title"], "关于调整公交线路的通告（更正）");
    assert!(drafts[1].body["articles"][0]["content"].as_str().unwrap().contains(&serial2));
    until(&t, &id, "published", |d| d["state"] == "published").await;
    app.stop().await;
}

/// WeChat answers "publishing" forever: after the retry window the delivery
/// fails for good, with a reason, and the office is told (not polled forever).
async fn a_publication_the_platform_never_decides_is_given_up(backend: Backend) {
    let app = spawn_with(backend, |s| s.delivery.give_up_after_secs = 2).await;
    let t = Team::of(&app).await;
    let wechat = FakeWeChat::start(APP_ID, APP_SECRET).await;
    add_wechat(&t, &wechat, 3600).await;
    wechat.script(&[1]);
    let (id, _) = t.sealed_item("关于做好冬季供暖保障工作的通知", &["wechat"]).await;
    let d = until(&t, &id, "giving up", |d| d["partially_published"] == true).await;
    let wx = of_channel(&d, "wechat", "publish");
    assert_eq!(wx[0]["state"], "failed", "{d:#}");
    assert!(wx[0]["last_error"].as_str().unwrap().contains("仍未给出发布结果"), "{d:#}");
    assert!(wechat.paths().iter().filter(|p| *p == "freepublish/get").count() >= 2, "it was polled first");
    // The office is told in the transaction that fails the delivery: once
    // the failure shows, so does the notification.
    let notes = notifications(&t.publisher, "delivery_rejected").await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    app.stop().await;
}

/// Issue 16, finding 5: WeChat's `access_token` (in the `stable_token`
/// answer and the query of every call) and Weibo's OAuth token appear in no
/// stored attempt, error, audit event or notification; Weibo's token goes
/// in the `Authorization` header, never a URL; a drafter sees no answers.
async fn platform_tokens_never_reach_the_record(backend: Backend) {
    let app = spawn(backend).await;
    let t = Team::of(&app).await;
    let wechat = FakeWeChat::start(APP_ID, APP_SECRET).await;
    let weibo = FakeWeibo::start(WEIBO_TOKEN, "gk.example.gov.cn").await;
    add_wechat(&t, &wechat, 3600).await;
    t.add_endpoint(json!({"channel": "weibo", "kind": "weibo", "url": weibo.base, "secret_name": "WEIBO_TOKEN",
               "link_template": LINK}))
        .await;
    // An expired token is answered, logged and fetched again: two tokens pass.
    wechat.expire_token_once();
    let (id, _) = t.sealed_item("关于2026年度政务公开工作要点的通知", &["wechat", "weibo"]).await;
    until(&t, &id, "published on both platforms", |d| d["state"] == "published").await;
    ok(t.publisher.post(&format!("/api/v1/items/{id}/withdraw"), &json!({"reason": "信息有误"})).await);
    until(&t, &id, "withdrawn", |d| d["state"] == "withdrawn").await;
    assert!(wechat.tokens_issued() >= 2);

    let record = crate::secrets::dump(&app.db).await;
    assert!(record.contains("stable_token 200"), "the platform calls are logged: {record}");
    for secret in ["ACCESS_TOKEN_", APP_SECRET, WEIBO_TOKEN] {
        assert!(!record.contains(secret), "{secret} is stored: {record}");
    }
    assert!(weibo.calls().iter().all(|(_, params)| !params.contains_key("access_token")), "{:?}", weibo.calls());
    let drafter_view = deliveries_as(&t.drafter, &id).await;
    for d in drafter_view["deliveries"].as_array().unwrap() {
        assert!(d["attempts"].as_array().unwrap().iter().all(|a| a["response_excerpt"].is_null()), "{d:#}");
    }
    let office_view = deliveries_as(&t.publisher, &id).await;
    assert!(office_view.to_string().contains("stable_token"), "the office sees the platform's answers");
    app.stop().await;
}

async fn deliveries_as(c: &Client, id: &str) -> Value {
    ok(c.get(&format!("/api/v1/items/{id}/deliveries")).await)
}
