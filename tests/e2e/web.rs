//! The web interface in a real headless Chromium (issue 10), plus its
//! security checks over plain HTTP.
//!
//! The browser test walks the whole life of an item as people do it: a
//! drafter submits a notice with an 身份证 number, sees it highlighted,
//! applies the suggested mask and resubmits; reviewers approve from their
//! queue (保密审查 sees the personal-information list); the 分管领导 and
//! the 主要领导 sign off with their password; the publication office seals
//! it; the channel confirms and the page shows it delivered.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use gateway::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::browser::Browser;
use tests::team::{Team, ok};
use tests::{Backend, TestApp, Totp, on_both_backends};

on_both_backends!(
    an_item_goes_from_draft_to_delivered_in_the_browser,
    pages_refuse_forged_and_expired_requests,
    people_register_and_notification_pages,
    the_item_form_carries_attachments_without_script,
    a_stage_is_overridden_from_the_item_page,
    a_delivery_is_redelivered_only_from_its_own_item_page,
);

const UNIT: &str = "江城市民政局";

/// A valid GB 11643 number (check digit 2).
const ID_NUMBER: &str = "321183198506120412";

fn password(username: &str) -> String {
    format!("Pw-{username}-2026")
}

/// A channel endpoint that accepts every push and records it.
async fn website() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = got.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |_: HeaderMap, body: Bytes| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, got)
}

/// Selects the first occurrence of `arguments[0]` in the item's body text.
const SELECT_TEXT: &str = r#"
const root = document.querySelector('.doc-body');
const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  const i = n.data.indexOf(arguments[0]);
  if (i >= 0) {
    const range = document.createRange();
    range.setStart(n, i);
    range.setEnd(n, i + arguments[0].length);
    const sel = document.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    return true;
  }
}
return false;
"#;

async fn wait_for_text(b: &Browser, css: &str, wanted: &str) {
    for _ in 0..50 {
        if b.text(css).await.contains(wanted) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never showed {wanted:?}: {}", b.text(css).await);
}

/// Opens the item from the reviewer's queue and approves the stage offered;
/// a sign-off with the password and a code of the signatory's TOTP.
async fn approve_from_queue(b: &Browser, username: &str, title: &str, signoff: Option<&Totp>, shot: Option<&str>) {
    b.login(username, &password(username)).await;
    assert_eq!(b.path().await, "/queue", "{username} lands on the queue");
    assert_eq!(b.text("table.queue td a").await, title);
    b.click_to("table.queue td a").await;
    let form = b.find("form.vote").await;
    if let Some(totp) = signoff {
        let statement = b.text("form.vote blockquote.statement").await;
        assert!(statement.contains("谁发布谁负责"), "the sign-off statement is shown: {statement}");
        b.fill("form.vote input[name=password]", &password(username)).await;
        b.fill("form.vote input[name=totp_code]", &totp.code().await).await;
    }
    if let Some(name) = shot {
        b.screenshot(name).await;
    }
    b.mark_page().await;
    form.find(fantoccini::Locator::Css("button[value=approve]")).await.unwrap().click().await.unwrap();
    b.wait_new_page().await;
    let notice = b.text("p.notice").await;
    assert!(notice.contains(if signoff.is_some() { "已签发" } else { "审核意见已提交" }), "{username}: {notice}");
    b.logout().await;
}

async fn an_item_goes_from_draft_to_delivered_in_the_browser(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("root", &[Role::SecurityAdmin], None).await;
    app.user("drafter", &[Role::Drafter], Some(UNIT)).await;
    app.user("first", &[Role::Reviewer], Some(UNIT)).await;
    app.user("second", &[Role::Reviewer], Some(UNIT)).await;
    app.user("secrecy", &[Role::SecrecyReviewer], None).await;
    // The signatories enrol their own TOTP (as on /account).
    let approver_totp = Totp::enrol(&app.user("approver", &[Role::Approver], Some(UNIT)).await).await;
    let leader_totp = Totp::enrol(&app.user("leader", &[Role::Leader], Some(UNIT)).await).await;
    app.user("office", &[Role::Publisher], None).await;
    let (hook, received) = website().await;
    let (status, body) =
        admin.post("/api/v1/channel-endpoints", &json!({"channel": "website", "kind": "webhook", "url": hook})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let b = Browser::start(&app.base, 1280, 900).await;
    b.goto("/").await;
    assert_eq!(b.text("form h2").await, "登录");
    b.screenshot("01-login").await;
    b.assert_accessible("登录").await;

    // The drafter writes a notice with an ID number and submits it.
    b.login("drafter", &password("drafter")).await;
    assert_eq!(b.path().await, "/items?mine=1");
    b.click_to("nav a[href='/items/new']").await;
    let title = "关于发放2026年度困难群众临时救助金的公示";
    b.fill("#title", title).await;
    b.fill("#issuer", UNIT).await;
    b.fill(
        "#body",
        &format!(
            "经审核，申请人王某（身份证号码：{ID_NUMBER}）符合临时救助条件，拟发放救助金3000元。\n公示期为5个工作日。"
        ),
    )
    .await;
    for channel in b.all("input[name=channels]:checked").await {
        channel.click().await.unwrap();
    }
    b.click("input[name=channels][value=website]").await;
    b.click("input[name=flags][value=major]").await;
    // The attachment is uploaded by the page's script and listed on the form.
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("救助名单.pdf");
    std::fs::copy(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/attachments/notice.pdf"), &pdf).unwrap();
    b.find("#upload").await.send_keys(pdf.to_str().unwrap()).await.unwrap();
    wait_for_text(&b, "#attachments", "救助名单.pdf").await;
    b.screenshot("02-new-item").await;
    b.assert_accessible("新建稿件").await;
    b.click_to("button[name=then][value=submit]").await;

    // The finding is highlighted in the text, with the mask suggested.
    let mark = b.find(".doc-body a.hl-block").await;
    assert!(
        b.text("a[href^='/api/v1/attachments/sha256:']").await.contains("救助名单.pdf"),
        "the attachment is on the item"
    );
    // Uploaded by the script, it did not go again with the form.
    assert_eq!(b.all("a[href^='/api/v1/attachments/sha256:']").await.len(), 1);
    assert_eq!(mark.text().await.unwrap(), ID_NUMBER);
    assert_eq!(b.text(".summary .badge").await, "已拦截");
    let finding = b.find(".finding.sev-block").await;
    let finding_text = finding.text().await.unwrap();
    // The office's words: the rule id is behind the technical disclosure.
    assert!(!finding_text.contains("PII-001") && finding_text.contains("3211**********0412"), "{finding_text}");
    b.screenshot("03-finding-in-text").await;
    b.assert_accessible("事项（检查结果）").await;

    // One click applies the mask as a new version; then resubmit.
    b.mark_page().await;
    finding.find(fantoccini::Locator::Css("button[name=finding]")).await.unwrap().click().await.unwrap();
    b.wait_new_page().await;
    assert!(b.text("p.notice").await.contains("已按建议修改"));
    let body = b.text(".doc-body").await;
    assert!(!body.contains(ID_NUMBER) && body.contains("3211**********0412"), "{body}");
    b.click_to("form[action$='/submit'] button").await;
    assert!(b.text("p.notice").await.contains("已提交审核"));
    assert_eq!(b.text(".summary .badge").await, "审核中");
    assert!(b.all(".finding.sev-block").await.is_empty(), "no blocking finding is left");
    let item_path = b.path().await;
    let item_id = item_path.trim_start_matches("/items/").split('?').next().unwrap().to_owned();
    b.logout().await;

    // 初审 comments on a selected span and asks for a change.
    b.login("first", &password("first")).await;
    b.goto(&item_path).await;
    let selected = b.client.execute(SELECT_TEXT, vec![json!("3000元")]).await.unwrap();
    assert_eq!(selected, json!(true));
    wait_for_text(&b, "#comment-form .selection", "3000元").await;
    b.fill("#comment-body", "救助金额与审批表不一致，请核对。").await;
    b.click_to("#comment-form button").await;
    let comments = b.text("ul.comments").await;
    assert!(comments.contains("3000元") && comments.contains("请核对"), "{comments}");
    b.fill("form.vote textarea[name=comment]", "请核对救助金额后重新提交。").await;
    b.click_to("form.vote button[value=changes]").await;
    assert_eq!(b.text(".summary .badge").await, "退回修改");
    b.logout().await;

    // The drafter corrects the amount and resubmits.
    b.login("drafter", &password("drafter")).await;
    b.goto(&item_path).await;
    assert!(b.text("ul.comments").await.contains("救助金额与审批表不一致"));
    b.click_to("a[href$='/edit']").await;
    let corrected = b.find("#body").await.prop("value").await.unwrap().unwrap().replace("3000元", "3200元");
    b.fill("#body", &corrected).await;
    b.click_to("button[name=then][value=submit]").await;
    assert_eq!(b.text(".summary .badge").await, "审核中");
    b.logout().await;

    // 初审 sees what changed since their last look, and approves.
    b.login("first", &password("first")).await;
    assert!(b.text("table.queue").await.contains("上次看的是第 2 版"));
    b.click_to("table.queue td a").await;
    let diff = b.text(".diff").await;
    assert!(diff.contains("3200") && diff.contains("3000"), "{diff}");
    b.scroll_to(".diff").await;
    b.screenshot("04-review-diff").await;
    b.assert_accessible("事项（修改对比与审核）").await;
    b.click_to("form.vote button[value=approve]").await;
    assert!(b.text("p.notice").await.contains("审核意见已提交"));
    b.logout().await;

    // Reviewers work their queues; 保密审查 sees the personal-information list.
    approve_from_queue(&b, "second", title, None, Some("05-queue-item")).await;
    b.login("secrecy", &password("secrecy")).await;
    b.goto(&format!("/items/{item_id}")).await;
    let secrecy = b.text("section.secrecy").await;
    assert!(secrecy.contains("未发现个人信息或密级标志"), "the masked number is no longer a finding: {secrecy}");
    b.screenshot("06-secrecy-review").await;
    b.assert_accessible("保密审查").await;
    b.logout().await;
    approve_from_queue(&b, "secrecy", title, None, None).await;

    // Leaders sign off on a phone-sized screen, with their password again.
    b.client.set_window_size(390, 844).await.unwrap();
    approve_from_queue(&b, "approver", title, Some(&approver_totp), Some("07-signoff-phone")).await;
    approve_from_queue(&b, "leader", title, Some(&leader_totp), None).await;
    b.client.set_window_size(1280, 900).await.unwrap();

    // The publication office seals it; the channel confirms.
    b.login("office", &password("office")).await;
    b.goto("/office").await;
    let lane = b.text(".lane").await;
    assert!(lane.contains("待加封签") && lane.contains(title), "{lane}");
    b.screenshot("08-office").await;
    b.assert_accessible("发布管理").await;
    b.goto(&format!("/items/{item_id}")).await;
    b.click_to("form.seal-form button").await;
    assert!(b.text("p.notice").await.contains("已加盖信息公开专用章"));
    b.reload_until("the channel's confirmation", async |b| !b.all("#deliveries .badge.dv-delivered").await.is_empty())
        .await;
    assert_eq!(b.text("#deliveries .badge.dv-delivered").await, "已送达并确认");
    b.screenshot("09-delivered").await;
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one push: {got:?}");
    assert_eq!(got[0]["type"], "publish");
    assert_eq!(got[0]["item_id"], item_id.as_str());
    assert!(!got[0]["envelope"]["content"]["body"].as_str().unwrap().contains(ID_NUMBER), "the masked text went out");

    // 撤稿: every channel must confirm removal; the checklist shows it.
    b.click("details.withdraw summary").await;
    b.fill("#reason", "公示期已满，撤下。").await;
    b.mark_page().await;
    b.click("details.withdraw button[type=submit]").await;
    b.client.accept_alert().await.expect("the withdrawal asks for confirmation");
    b.wait_new_page().await;
    assert!(b.text("p.notice").await.contains("已发起撤稿"));
    b.reload_until("the removal confirmed and the item withdrawn", async |b| {
        b.all(".checklist li.ok").await.len() == 1 && b.text(".summary .badge").await == "已撤稿"
    })
    .await;
    assert_eq!(b.text(".checklist li.ok").await, "✓ 政府网站：已确认删除");
    b.screenshot("11-withdrawn").await;
    b.assert_accessible("撤稿").await;
    let got = received.lock().unwrap().clone();
    assert_eq!(got.iter().map(|e| e["type"].as_str().unwrap()).collect::<Vec<_>>(), ["publish", "withdraw"]);

    // The office resends the website endpoint's events since a time (after
    // the website restored a backup): the withdrawal again, never the
    // withdrawn publication.
    b.goto("/office").await;
    b.client
        .execute("document.querySelector('#since-1').value = arguments[0];", vec![json!("2020-01-01T00:00")])
        .await
        .unwrap();
    b.click_to("form[action$='/redeliver'] button").await;
    assert!(b.text("p.notice").await.contains("已安排补发"), "{}", b.text("main").await);
    tests::eventually("the resent withdrawal", async || received.lock().unwrap().len() == 3).await;
    let got = received.lock().unwrap().clone();
    assert_eq!(got[2]["event_id"], got[1]["event_id"], "the same withdrawal event: {got:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(received.lock().unwrap().len(), 3, "nothing else was sent");

    // The other pages of the office render with their data.
    b.goto("/dashboard").await;
    assert!(b.text(".figures").await.contains("政策解读率"));
    assert!(!b.all(".chart rect[data-value='1']").await.is_empty(), "this month's publication is charted");
    b.screenshot("10-dashboard").await;
    b.assert_accessible("统计").await;
    b.goto("/register").await;
    b.find("a[href^='/api/v1/register/export?format=xlsx']").await;
    b.assert_accessible("台账").await;
    b.goto("/queue").await;
    b.assert_accessible("待我审核").await;
    // The check itself sees problems: an unlabelled field, an image without a text alternative.
    b.client
        .execute(
            "document.querySelector('main').insertAdjacentHTML('beforeend', \
             '<input id=\"x\"><img id=\"y\" src=\"data:,\">');",
            vec![],
        )
        .await
        .unwrap();
    let problems = b.accessibility_problems().await;
    assert!(problems.iter().any(|p| p.contains("label")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("image-alt")), "{problems:?}");
    b.logout().await;
    b.stop().await;
    app.stop().await;
}

async fn pages_refuse_forged_and_expired_requests(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("drafter", &[Role::Drafter], Some(UNIT)).await;
    let anonymous = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    // Not logged in: every page sends to the login page.
    let r = anonymous.get(format!("{}/queue", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/?next=%2Fqueue", "back to the page asked for after login");
    let login = anonymous.get(format!("{}/", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(login.contains("<h2>登录</h2>") && login.contains("lang=\"zh-CN\""));

    // A wrong password is said in Chinese, with 401.
    let r = anonymous
        .post(format!("{}/login", app.base))
        .form(&[("username", "drafter"), ("password", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("用户名或密码错误"));

    // The logged-in client's page carries a CSRF token; a form without it,
    // or with another site's Origin, is refused and stores nothing.
    let page = drafter.http.get(format!("{}/items/new", app.base)).send().await.unwrap().text().await.unwrap();
    let token = page.split("name=\"csrf\" value=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_owned();
    let before = app.snapshot().await;
    let fields = |csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("kind", "notice".to_owned()),
            ("title", "通知".to_owned()),
            ("body", "正文".to_owned()),
            ("attribute", "public".to_owned()),
            ("channels", "website".to_owned()),
        ]
    };
    let r = drafter.http.post(format!("{}/items/new", app.base)).form(&fields("forged")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("表单已过期或不是从本系统页面提交的"));
    let r = drafter
        .http
        .post(format!("{}/items/new", app.base))
        .header("origin", "http://evil.example")
        .form(&fields(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.snapshot().await, before, "a refused form changed nothing");

    // A field the API refuses comes back on the form with the message and
    // what was typed.
    let mut bad = fields(&token);
    bad.retain(|(k, _)| *k != "channels");
    bad.push(("channels", "nowhere".to_owned()));
    let r = drafter.http.post(format!("{}/items/new", app.base)).form(&bad).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = r.text().await.unwrap();
    assert!(text.contains("未知的发布渠道") && text.contains("value=\"通知\""), "{text}");
    assert_eq!(app.snapshot().await, before);

    // With the token the same form creates the draft.
    let r = drafter.http.post(format!("{}/items/new", app.base)).form(&fields(&token)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "followed the redirect to the item page");
    assert!(r.url().path().starts_with("/items/"));
    assert!(r.text().await.unwrap().contains("稿件已保存为草稿"));
    let headers = drafter.http.get(format!("{}/queue", app.base)).send().await.unwrap();
    let csp = headers.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    app.stop().await;

    // An idle session ends: the next page asks to log in again.
    let app = TestApp::spawn_with(backend, |s| s.session.idle_minutes = 0).await;
    let drafter = app.user("drafter", &[Role::Drafter], Some(UNIT)).await;
    let me = drafter.http.get(format!("{}/api/v1/auth/me", app.base)).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED, "idle time 0: the session is over at once");
    let r = drafter.http.get(format!("{}/items/new", app.base)).send().await.unwrap();
    assert_eq!(r.url().as_str(), format!("{}/?expired=1&next=%2Fitems%2Fnew", app.base));
    assert!(r.text().await.unwrap().contains("登录已超时，请重新登录"));
    app.stop().await;
}

/// The CSRF token of a page the client opens.
async fn csrf(client: &tests::Client, path: &str) -> String {
    let page = client.http.get(format!("{}{path}", client.base)).send().await.unwrap().text().await.unwrap();
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a form with a token")
        .to_owned()
}

async fn post_form(client: &tests::Client, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String, String) {
    let r = client.http.post(format!("{}{path}", client.base)).form(fields).send().await.unwrap();
    let status = r.status();
    let url = r.url().path().to_owned();
    (status, url, r.text().await.unwrap())
}

async fn people_register_and_notification_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("root", &[Role::Admin], None).await;
    let security = app.user("anquan", &[Role::SecurityAdmin], None).await;

    // The system administrator creates an account on the users page; the
    // security administrator grants its role (三员分立).
    let token = csrf(&admin, "/users").await;
    let weak = [
        ("csrf", token.as_str()),
        ("username", "wang"),
        ("display_name", "王芳"),
        ("unit", UNIT),
        ("password", "short"),
    ];
    let (status, _, page) = post_form(&admin, "/users", &weak).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("密码") && page.contains("value=\"王芳\""), "the message and what was typed: {page}");
    let good = [
        ("csrf", token.as_str()),
        ("username", "wang"),
        ("display_name", "王芳"),
        ("unit", UNIT),
        ("password", "Wang-Fang-2026-strong"),
    ];
    let (status, url, page) = post_form(&admin, "/users", &good).await;
    assert_eq!((status, url.as_str()), (StatusCode::OK, "/users"));
    assert!(page.contains("账户已创建") && page.contains("<td>王芳</td>") && page.contains("待本人改密"), "{page}");
    let users = ok(security.get("/api/v1/users").await);
    let wang = users.as_array().unwrap().iter().find(|u| u["username"] == "wang").unwrap()["id"].clone();
    let wang = wang.as_str().unwrap();
    let token = csrf(&security, "/users").await;
    let (status, _, page) =
        post_form(&security, &format!("/users/{wang}/roles"), &[("csrf", token.as_str()), ("roles", "drafter")]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("角色已更新") && page.contains("起草人"), "{page}");
    // The system administrator cannot grant roles.
    let token = csrf(&admin, "/users").await;
    let (status, _, _) =
        post_form(&admin, &format!("/users/{wang}/roles"), &[("csrf", token.as_str()), ("roles", "approver")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let drafter = app.client();
    let (status, _) =
        drafter.post("/api/v1/auth/login", &json!({"username": "wang", "password": "Wang-Fang-2026-strong"})).await;
    assert_eq!(status, StatusCode::OK, "the new person logs in");
    // The administrator chose the password: nothing but changing it first.
    let page = drafter.http.get(format!("{}/items", app.base)).send().await.unwrap();
    assert_eq!(page.url().path(), "/account", "every page leads to the password change");
    let (status, problem) = drafter.post("/api/v1/items", &tests::sample_item()).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (StatusCode::FORBIDDEN, Some("urn:gateway:problem:password-change-required"))
    );
    assert!(problem["detail"].as_str().unwrap().contains("修改"), "{problem}");
    let token = csrf(&drafter, "/account").await;
    let change = [
        ("csrf", token.as_str()),
        ("current_password", "Wang-Fang-2026-strong"),
        ("new_password", "Only-Wang-Knows-1"),
        ("new_password_again", "Only-Wang-Knows-1"),
    ];
    let (status, url, page) = post_form(&drafter, "/account/password", &change).await;
    assert_eq!((status, url.as_str()), (StatusCode::OK, "/account"), "{page}");
    assert!(page.contains("密码已修改"), "{page}");
    let (status, _, _) = post_form(&drafter, "/users", &good).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only an administrator creates people");

    // A 依申请公开 item enters the 台账; a secrecy reviewer changes it to
    // 主动公开 on the register page; the drafter is notified.
    let mut item = tests::sample_item();
    item["channels"] = json!(["applicant"]);
    item["attribute"] = json!("on_request");
    item["attribute_reason"] = json!("涉及第三方商业信息，依申请公开");
    item["legal_basis"] = json!("《中华人民共和国政府信息公开条例》第十五条");
    let created = drafter.create_item(&item).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, body) = drafter.post(&format!("/api/v1/items/{id}/submit"), &json!({"version": 1})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let secrecy = app.user("keeper", &[Role::SecrecyReviewer], None).await;
    let register = secrecy.http.get(format!("{}/register", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(register.contains(&format!("/register/{id}/decision")) && register.contains("依申请公开"), "{register}");
    let token = csrf(&secrecy, "/register").await;
    let (status, url, page) = post_form(
        &secrecy,
        &format!("/register/{id}/decision"),
        &[("csrf", token.as_str()), ("attribute", "public"), ("reason", "第三方已同意公开"), ("legal_basis", "")],
    )
    .await;
    assert_eq!((status, url.as_str()), (StatusCode::OK, "/register"), "{page}");
    assert!(page.contains("台账复核结论已记录"));

    let home = drafter.http.get(format!("{}/items?mine=1", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("class=\"count\""), "the header counts the unread notification");
    let list = drafter.http.get(format!("{}/notifications", app.base)).send().await.unwrap().text().await.unwrap();
    let unread_before = list.matches("class=\"unread\"").count();
    assert!(list.contains("公开属性"), "the register decision is among the notifications: {list}");
    let notification = list
        .split("action=\"/notifications/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .expect("a notification")
        .to_owned();
    let token = csrf(&drafter, "/notifications").await;
    let (status, url, _) = post_form(
        &drafter,
        &format!("/notifications/{notification}/open"),
        &[("csrf", token.as_str()), ("item", id.as_str())],
    )
    .await;
    assert_eq!((status, url), (StatusCode::OK, format!("/items/{id}")));
    let list = drafter.http.get(format!("{}/notifications", app.base)).send().await.unwrap().text().await.unwrap();
    assert_eq!(list.matches("class=\"unread\"").count(), unread_before - 1, "opened means read");

    // A blocking 身份证 finding may be waived by the 保密审查员 (the policy's
    // role for PII-*) on the item page, with a reason; not by its drafter.
    let mut item = tests::sample_item();
    item["body"] = json!(format!("经核实，申请人身份证号码{ID_NUMBER}。"));
    let created = drafter.create_item(&item).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, body) = drafter.post(&format!("/api/v1/items/{id}/submit"), &json!({"version": 1})).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("blocked")), "{body}");
    let mine = drafter.http.get(format!("{}/items/{id}", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(mine.contains("PII-001") && !mine.contains("豁免此问题"), "the drafter cannot waive");
    let page = secrecy.http.get(format!("{}/items/{id}", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("豁免此问题"));
    let finding_id =
        page.split("name=\"finding_id\" value=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_owned();
    let digest = created["current"]["content_digest"].as_str().unwrap().to_owned();
    let token = csrf(&secrecy, &format!("/items/{id}")).await;
    let (status, _, page) = post_form(
        &secrecy,
        &format!("/items/{id}/waive"),
        &[("csrf", token.as_str()), ("finding_id", finding_id.as_str()), ("digest", digest.as_str()), ("reason", " ")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a waiver needs a reason");
    assert!(page.contains("理由"), "{page}");
    let (status, _, page) = post_form(
        &secrecy,
        &format!("/items/{id}/waive"),
        &[
            ("csrf", token.as_str()),
            ("finding_id", finding_id.as_str()),
            ("digest", digest.as_str()),
            ("reason", "该号码为虚构样例，经核实不涉及真实个人"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("已豁免该问题") && page.contains("badge ok\">已豁免"), "{page}");
    app.stop().await;
}

/// A `multipart/form-data` body: text fields, then files as
/// `(name, declared type, bytes)`.
fn multipart(boundary: &str, fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").bytes(),
        );
    }
    for (file_name, media_type, bytes) in files {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
                 Content-Type: {media_type}\r\n\r\n"
            )
            .bytes(),
        );
        body.extend(*bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").bytes());
    body
}

/// Without script the item form sends the chosen files itself: they are
/// checked like uploads (type by declaration or extension, then by content)
/// and become the item's attachments; a refused file is named and the form
/// comes back with what was typed.
async fn the_item_form_carries_attachments_without_script(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("drafter", &[Role::Drafter], Some(UNIT)).await;
    let page = drafter.http.get(format!("{}/items/new", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("enctype=\"multipart/form-data\"") && page.contains("name=\"file\""), "{page}");
    let token = csrf(&drafter, "/items/new").await;
    let fields = [
        ("csrf", token.as_str()),
        ("kind", "notice"),
        ("title", "关于公布养老服务机构名单的通知"),
        ("body", "各区民政局：\n现将名单公布如下。"),
        ("attribute", "public"),
        ("channels", "website"),
        ("then", "save"),
    ];
    let pdf: &[u8] = b"%PDF-1.4\n% list\n%%EOF\n";
    let ofd: &[u8] = b"PK\x03\x04 an OFD package";
    let send = async |files: &[(&str, &str, &[u8])]| {
        let boundary = "----gateway-test-7MA4YWxkTrZu0gW";
        let r = drafter
            .http
            .post(format!("{}/items/new", app.base))
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(multipart(boundary, &fields, files))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let path = r.url().path().to_owned();
        (status, path, r.text().await.unwrap())
    };

    // A file that is not what it says: refused by name, nothing created,
    // the typed text kept.
    let (status, _, page) = send(&[("名单.pdf", "application/pdf", b"just text")]).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{page}");
    assert!(page.contains("附件“名单.pdf”") && page.contains("关于公布养老服务机构名单的通知"), "{page}");
    let (_, mine) = drafter.get("/api/v1/items").await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 0, "{mine}");

    // A PDF, an OFD the browser could only call octet-stream (a Windows
    // path in its name), and the empty part of an unused file input.
    let (status, path, page) = send(&[
        ("名单.pdf", "application/pdf", pdf),
        ("C:\\公文\\附件2.ofd", "application/octet-stream", ofd),
        ("", "application/octet-stream", b""),
    ])
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("稿件已保存为草稿"), "{page}");
    let id = path.strip_prefix("/items/").expect("the new item's page").to_owned();
    let (_, item) = drafter.get(&format!("/api/v1/items/{id}")).await;
    let attachments = item["current"]["attachments"].as_array().unwrap().clone();
    let names: Vec<&str> = attachments.iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["名单.pdf", "附件2.ofd"], "{item}");
    for (attachment, bytes) in attachments.iter().zip([pdf, ofd]) {
        let url = format!("{}/api/v1/attachments/{}", app.base, attachment["digest"].as_str().unwrap());
        let got = drafter.http.get(url).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(&got[..], bytes);
    }
    app.stop().await;
}

/// The page a logged-in client gets.
async fn page_of(client: &tests::Client, path: &str) -> String {
    client.http.get(format!("{}{path}", client.base)).send().await.unwrap().text().await.unwrap()
}

/// 越级通过 on the item page: offered to a role the policy names for a
/// pending stage, never for the 保密审查 veto stage nor to the stage's own
/// reviewers; refused without a reason; recorded as OVERRIDDEN for good.
async fn a_stage_is_overridden_from_the_item_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = Team::of(&app).await;
    let id = t.draft("关于调整城乡低保标准的通知", &["website"]).await;
    let submitted = ok(t.drafter.post(&format!("/api/v1/items/{id}/submit"), &json!({"version": 1})).await);
    let digest = submitted["current"]["content_digest"].as_str().unwrap().to_owned();
    let vote = json!({"stage": "first", "value": "approve", "content_digest": digest});
    ok(t.first.post(&format!("/api/v1/items/{id}/votes"), &vote).await);

    // 复审 and 保密审查 are open now.
    let path = format!("/items/{id}");
    let page = page_of(&t.approver, &path).await;
    assert!(page.contains("越级通过“复审”") && !page.contains("越级通过“保密审查”"), "{page}");
    assert!(!page_of(&t.second, &path).await.contains("越级通过"), "not to the stage's own reviewer");
    assert!(!page_of(&t.drafter, &path).await.contains("越级通过"));

    let token = csrf(&t.approver, &path).await;
    let action = format!("{path}/override");
    let override_as = async |client: &tests::Client, reason: &str| {
        let fields = [("csrf", token.as_str()), ("stage", "second"), ("digest", digest.as_str()), ("reason", reason)];
        post_form(client, &action, &fields).await
    };
    let (status, _, page) = override_as(&t.approver, " ").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("越级通过必须写明理由"), "{page}");
    let (status, _, page) = override_as(&t.second, "我自己通过").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a reviewer without the override role: {page}");

    let (status, url, page) = override_as(&t.approver, "复审人员出差，经分管领导同意").await;
    assert_eq!((status, url.as_str()), (StatusCode::OK, path.as_str()), "{page}");
    assert!(page.contains("已越级通过该环节") && !page.contains("越级通过“复审”"), "{page}");
    let wf = ok(t.approver.get(&format!("/api/v1/items/{id}/workflow")).await);
    let second = wf["requirements"].as_array().unwrap().iter().find(|r| r["stage"] == "second").unwrap();
    assert_eq!(second["status"], "OVERRIDDEN", "{wf:#}");
    app.stop().await;
}

/// The item page's redeliver form names a delivery; one of another item is
/// refused (404) and changes nothing, however the form was forged. From its
/// own item's page it is redelivered.
async fn a_delivery_is_redelivered_only_from_its_own_item_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = Team::of(&app).await;
    // A pull endpoint: its deliveries wait, pending, for the channel.
    t.add_endpoint(json!({"channel": "website", "kind": "pull"})).await;
    let (a, _) = t.sealed_item("关于公布2026年第一批行政许可事项的通知", &["website"]).await;
    let (b, _) = t.sealed_item("关于公布2026年第二批行政许可事项的通知", &["website"]).await;
    let deliveries_of = async |id: &str| ok(t.publisher.get(&format!("/api/v1/items/{id}/deliveries")).await);
    let before = deliveries_of(&b).await;
    let of_b = before["deliveries"][0]["id"].as_str().unwrap().to_owned();

    let token = csrf(&t.publisher, &format!("/items/{a}")).await;
    let fields = [("csrf", token.as_str()), ("delivery", of_b.as_str())];
    let (status, _, page) = post_form(&t.publisher, &format!("/items/{a}/redeliver"), &fields).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another item's delivery: {page}");
    assert!(page.contains("该投递不存在"), "{page}");
    assert_eq!(deliveries_of(&b).await, before, "nothing changed");
    let audit = ok(t.auditor.get("/api/v1/audit/events?limit=1000").await);
    assert!(!audit.to_string().contains("delivery.redeliver"), "no redelivery recorded");

    let (status, url, page) = post_form(&t.publisher, &format!("/items/{b}/redeliver"), &fields).await;
    assert_eq!((status, url.as_str()), (StatusCode::OK, format!("/items/{b}").as_str()), "{page}");
    assert!(page.contains("已安排重新投递"), "{page}");
    let audit = ok(t.auditor.get("/api/v1/audit/events?limit=1000").await);
    assert!(audit.to_string().contains("delivery.redeliver"), "{audit}");
    app.stop().await;
}
