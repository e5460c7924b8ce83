//! Issue 21: the office's daily work without training, walked in a real
//! headless Chromium (Chinese locale) at desktop and phone sizes. People
//! see each other's opinions: the drafter the send-back's reason and who
//! gave it (on the item page and in the notification), the second reviewer
//! the first one's note, the leader signing off the 保密审查 opinions the
//! statement asks them to confirm.

use gateway::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;
use tests::browser::Browser;
use tests::team::{Team, ok, titled_item};
use tests::{Backend, TestApp, Totp, on_both_backends};

on_both_backends!(
    people_see_each_others_opinions,
    work_is_never_lost,
    a_form_sent_twice_creates_one_draft,
    findings_survive_a_one_click_fix,
    notifications_follow_an_item_to_publication_and_withdrawal,
    header_fields_change_in_words,
    channels_are_managed_from_the_office_page,
);

const UNIT: &str = "江城市民政局";

fn password(username: &str) -> String {
    format!("Pw-{username}-2026")
}

/// Votes on `stage` of the item's current version through the API.
async fn vote(client: &tests::Client, id: &str, stage: &str, value: &str, comment: Option<&str>) -> Value {
    let wf = ok(client.get(&format!("/api/v1/items/{id}/workflow")).await);
    let mut body = json!({"stage": stage, "value": value, "content_digest": wf["content_digest"]});
    if let Some(c) = comment {
        body["comment"] = json!(c);
    }
    ok(client.post(&format!("/api/v1/items/{id}/votes"), &body).await)
}

async fn people_see_each_others_opinions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("drafter", &[Role::Drafter], Some(UNIT)).await;
    let first = app.user("first", &[Role::Reviewer], Some(UNIT)).await;
    let second = app.user("second", &[Role::Reviewer], Some(UNIT)).await;
    let secrecy = app.user("secrecy", &[Role::SecrecyReviewer], None).await;
    let approver_totp = Totp::enrol(&app.user("approver", &[Role::Approver], Some(UNIT)).await).await;

    let title = "关于调整城乡居民最低生活保障标准的通知";
    let mut draft = titled_item(title, &["website"]);
    draft["issuer"] = json!(UNIT);
    let created = drafter.create_item(&draft).await;
    let id = created["id"].as_str().unwrap().to_owned();
    ok(drafter.post(&format!("/api/v1/items/{id}/submit"), &json!({"version": 1})).await);
    let item_path = format!("/items/{id}");

    // 初审 sends it back from the item page, with a reason.
    let b = Browser::start(&app.base, 1280, 900).await;
    b.login("first", &password("first")).await;
    b.goto(&item_path).await;
    let reason = "第二段保障标准的金额与市政府批复不一致，请核对后重新提交。";
    b.fill("form.vote textarea[name=comment]", reason).await;
    b.click_to("form.vote button[value=changes]").await;
    assert_eq!(b.text(".summary .badge").await, "退回修改");
    b.logout().await;

    // The drafter sees why and from whom, on the item page…
    b.login("drafter", &password("drafter")).await;
    b.goto(&item_path).await;
    let trail = b.text("#opinions").await;
    for wanted in ["退回修改", "测试first", "审核人", "初审", reason, "第 1 版"] {
        assert!(trail.contains(wanted), "the trail shows {wanted:?}: {trail}");
    }
    b.assert_accessible("事项（审核意见）").await;
    assert_office_words(&b, "the drafter's item page").await;
    // …and in the notification.
    b.goto("/notifications").await;
    let notes = b.text("ul.notifications").await;
    assert!(notes.contains("退回修改") || notes.contains("要求修改"), "{notes}");
    assert!(notes.contains("测试first") && notes.contains(reason), "the notification names who and why: {notes}");
    b.logout().await;

    // The drafter corrects and resubmits; 初审 agrees with a note.
    let mut corrected = draft.clone();
    corrected["body"] = json!(format!("{}\n保障标准已按批复核对。", draft["body"].as_str().unwrap()));
    corrected["base_version"] = json!(1);
    let (status, v2) = drafter.put(&format!("/api/v1/items/{id}"), &corrected).await;
    assert!(status.is_success(), "{v2}");
    ok(drafter.post(&format!("/api/v1/items/{id}/submit"), &json!({"version": 2})).await);
    let note = "金额已与批复核对一致，同意。";
    vote(&first, &id, "first", "approve", Some(note)).await;

    // 复审 reads the first reviewer's note, and the stage names who agreed.
    b.login("second", &password("second")).await;
    b.goto(&item_path).await;
    let trail = b.text("#opinions").await;
    assert!(trail.contains(note) && trail.contains("测试first"), "the second reviewer sees the note: {trail}");
    let stages = b.text("table.stages").await;
    assert!(stages.contains("已同意：测试first"), "the stage names who agreed: {stages}");
    assert!(!stages.contains("1 人已同意"), "{stages}");
    b.logout().await;
    vote(&second, &id, "second", "approve", None).await;
    let secrecy_note = "已逐段审阅正文，未发现涉密内容和个人信息，同意公开。";
    vote(&secrecy, &id, "secrecy", "approve", Some(secrecy_note)).await;

    // The leader signs off on a phone and sees the 保密审查 opinion the
    // statement asks them to confirm, inside the sign-off form.
    b.client.set_window_size(390, 844).await.unwrap();
    b.login("approver", &password("approver")).await;
    b.goto(&item_path).await;
    let confirm = b.text("form.vote .secrecy-opinions").await;
    assert!(
        confirm.contains(secrecy_note) && confirm.contains("测试secrecy") && confirm.contains("保密审查员"),
        "the sign-off form shows the 保密审查 opinion: {confirm}"
    );
    assert_office_words(&b, "the leader's sign-off page").await;
    // The sign-off fits the first screen of the phone: summary, the
    // 保密审查 opinion, the statement and the form down to its button.
    let fit = b
        .client
        .execute(
            "window.scrollTo(0, 0); const q = (s) => document.querySelector(s).getBoundingClientRect(); \
             return [q('#signoff .secrecy-opinions').top, q('#signoff blockquote.statement').top, \
                     q('#signoff button[value=approve]').bottom, window.innerHeight];",
            vec![],
        )
        .await
        .unwrap();
    let fit: Vec<f64> = fit.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    b.screenshot("12-signoff-phone-compact").await;
    assert!(fit[2] <= fit[3], "the sign-off button is within the first screen: {fit:?}");
    b.fill("form.vote input[name=password]", &password("approver")).await;
    b.fill("form.vote input[name=totp_code]", &approver_totp.code().await).await;
    b.click_to("form.vote button[value=approve]").await;
    assert!(b.text("p.notice").await.contains("已签发"));
    let trail = b.text("#opinions").await;
    assert!(trail.contains("签发") && trail.contains("测试approver"), "{trail}");
    b.assert_accessible("事项（签发后，手机）").await;

    // The 审批表 is a page of the interface, linked from the item: the
    // 拟稿人, every opinion, events in Chinese, times in Beijing time, and
    // a way back.
    b.client.set_window_size(1280, 900).await.unwrap();
    b.click_to("a[href$='/approval']").await;
    assert_eq!(b.path().await, format!("/items/{id}/approval"));
    let sheet = b.text(".approval-sheet").await;
    for wanted in ["拟稿人", "测试drafter", reason, note, secrecy_note, "起草稿件", "提交审核", "签发时已再次验证密码"]
    {
        assert!(sheet.contains(wanted), "the 审批表 shows {wanted:?}: {sheet}");
    }
    let created = ok(drafter.get(&format!("/api/v1/items/{id}")).await)["created_at"].as_str().unwrap().to_owned();
    let created = time::OffsetDateTime::parse(&created, &time::format_description::well_known::Rfc3339).unwrap();
    let shown = |at: time::OffsetDateTime| {
        let at = at.to_offset(time::macros::offset!(+8));
        format!("{:04}-{:02}-{:02} {:02}:{:02}", at.year(), u8::from(at.month()), at.day(), at.hour(), at.minute())
    };
    assert!(
        [created, created + time::Duration::seconds(1)].into_iter().any(|at| sheet.contains(&shown(at))),
        "the drafting time is in Beijing time ({}): {sheet}",
        shown(created)
    );
    assert_plain_words(&b, "审批表").await;
    b.assert_accessible("审批表").await;
    b.screenshot("14-approval-sheet").await;
    // Printed, the sheet stands alone: no navigation, no disclosure.
    let printed = b
        .client
        .execute(
            "const rules = [...document.styleSheets].flatMap((s) => [...s.cssRules]) \
               .filter((r) => r.media && r.media.mediaText === 'print'); \
             return rules.map((r) => r.cssText).join(' ');",
            vec![],
        )
        .await
        .unwrap();
    let printed = printed.as_str().unwrap();
    assert!(printed.contains("header.top") && printed.contains("details.tech"), "print styles: {printed}");
    b.click_to(&format!("a[href='/items/{id}']")).await;
    assert_eq!(b.path().await, item_path);
    b.logout().await;
    b.stop().await;
    app.stop().await;
}

/// Logs in on the login page the browser is on (keeping its return path).
async fn login_here(b: &Browser, username: &str) {
    b.fill("#username", username).await;
    b.fill("#password", &password(username)).await;
    b.click_to("form[action='/login'] button[type=submit]").await;
    if b.all("header .who").await.is_empty() {
        panic!("{username} is not logged in at {}: {}", b.path().await, b.text("body").await);
    }
}

/// Ends every session as the idle timeout would (their last use long ago).
async fn expire_sessions(app: &TestApp) {
    sqlx::query("UPDATE sessions SET last_seen_at = '2000-01-01T00:00:00.000Z'")
        .execute(app.db.pool())
        .await
        .expect("sessions aged");
}

/// How many items carry `title`.
async fn items_titled(app: &TestApp, title: &str) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM item_versions WHERE title = $1 AND version = 1")
        .bind(title)
        .fetch_one(app.db.pool())
        .await
        .expect("count")
        .try_get::<i64, _>("n")
        .expect("a count")
}

async fn work_is_never_lost(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("drafter", &[Role::Drafter], Some(UNIT)).await;
    app.user("first", &[Role::Reviewer], Some(UNIT)).await;
    app.user("second", &[Role::Reviewer], Some(UNIT)).await;
    app.user("secrecy", &[Role::SecrecyReviewer], None).await;
    app.user("approver", &[Role::Approver], Some(UNIT)).await;
    let b = Browser::start(&app.base, 1280, 900).await;

    // The drafter types a long text; the session ends before they save.
    b.login("drafter", &password("drafter")).await;
    b.goto("/items/new").await;
    let title = "关于公布2026年第一批政府信息公开目录的通知";
    let body = "各区、各部门：\n现将2026年第一批政府信息公开目录予以公布，请遵照执行。\n江城市民政局";
    b.fill("#title", title).await;
    b.fill("#body", body).await;
    expire_sessions(&app).await;
    b.click_to("button[name=then][value=save]").await;
    assert_eq!(b.text("form h2").await, "登录", "the ended session asks to log in");
    let message = b.text("p.notice").await;
    assert!(message.contains("登录已超时，内容已保留"), "{message}");
    assert_eq!(items_titled(&app, title).await, 0, "nothing was stored without a session");

    // Someone else logging in on this browser gets nothing of it…
    b.login("first", &password("first")).await;
    assert_eq!(b.path().await, "/queue");
    assert!(!b.text("main").await.contains(title));
    b.logout().await;

    // …and the kept form was offered once, to its own person only: it is gone.
    b.login("drafter", &password("drafter")).await;
    assert_eq!(b.path().await, "/items?mine=1");
    b.goto("/items/new").await;
    b.fill("#title", title).await;
    b.fill("#body", body).await;
    expire_sessions(&app).await;
    b.click_to("button[name=then][value=save]").await;
    assert!(b.text("p.notice").await.contains("内容已保留"));

    // The drafter logs in again: the form comes back as typed.
    b.login("drafter", &password("drafter")).await;
    assert_eq!(b.path().await, "/kept");
    assert!(b.text("p.notice").await.contains("登录已超时，内容已保留"));
    assert_eq!(b.find("#title").await.prop("value").await.unwrap().unwrap(), title);
    assert_eq!(b.find("#body").await.prop("value").await.unwrap().unwrap().replace("\r\n", "\n"), body);
    b.assert_accessible("保留的稿件").await;
    // A double click on a slow line: one draft.
    b.mark_page().await;
    b.client
        .execute("const x = document.querySelector('button[name=then][value=save]'); x.click(); x.click();", vec![])
        .await
        .unwrap();
    b.wait_new_page().await;
    assert!(b.text("p.notice").await.contains("稿件已保存为草稿"), "{}", b.text("main").await);
    let item_path = b.path().await;
    assert_eq!(items_titled(&app, title).await, 1, "one draft");

    // A vote's reason typed as the session ended comes back too, and a
    // page asked for without a session is returned to after login.
    let drafter = app.client();
    ok(drafter.post("/api/v1/auth/login", &json!({"username": "drafter", "password": password("drafter")})).await);
    let id = item_path.trim_start_matches("/items/").split('?').next().unwrap().to_owned();
    ok(drafter.post(&format!("/api/v1/items/{id}/submit"), &json!({"version": 1})).await);
    b.logout().await;
    b.login("first", &password("first")).await;
    b.goto(&format!("/items/{id}")).await;
    let reason = "目录第3项的公开方式与条例规定不符，请修改。";
    b.fill("form.vote textarea[name=comment]", reason).await;
    expire_sessions(&app).await;
    b.click_to("form.vote button[value=changes]").await;
    assert!(b.text("p.notice").await.contains("内容已保留"));
    b.login("first", &password("first")).await;
    assert_eq!(b.path().await, "/kept");
    let kept = b.find("textarea[name=comment]").await.prop("value").await.unwrap().unwrap();
    assert_eq!(kept, reason);
    b.assert_accessible("保留的审核意见").await;
    b.click_to("form button.primary").await;
    assert_eq!(b.text(".summary .badge").await, "退回修改");
    assert!(b.text("#opinions").await.contains(reason));

    expire_sessions(&app).await;
    b.goto(&format!("/items/{id}")).await;
    assert_eq!(b.text("form h2").await, "登录");
    login_here(&b, "first").await;
    assert_eq!(b.path().await, format!("/items/{id}"), "back to the page asked for");
    b.logout().await;

    // The return path stays on this gateway.
    for next in
        ["//evil.example/x", "/\\evil.example", "https://evil.example/", "/\t/evil.example", "/\r\nSet-Cookie: x=1"]
    {
        let query: String =
            reqwest::Url::parse_with_params("http://x/", &[("next", next)]).unwrap().query().unwrap().into();
        b.goto(&format!("/?{query}")).await;
        login_here(&b, "first").await;
        assert_eq!(b.path().await, "/queue", "{next} is not followed");
        b.logout().await;
    }
    b.stop().await;
    app.stop().await;
}

/// The CSRF token and form token of the new-item form.
async fn new_item_tokens(client: &tests::Client) -> (String, String) {
    let page = client.http.get(format!("{}/items/new", client.base)).send().await.unwrap().text().await.unwrap();
    let value = |name: &str| {
        page.split(&format!("name=\"{name}\" value=\""))
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_else(|| panic!("the form carries {name}"))
            .to_owned()
    };
    (value("csrf"), value("form_token"))
}

async fn a_form_sent_twice_creates_one_draft(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("drafter", &[Role::Drafter], Some(UNIT)).await;
    let (csrf, token) = new_item_tokens(&drafter).await;
    let title = "关于2026年春节期间办事大厅开放时间的公告";
    let fields = |title: &str, body: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("form_token", token.clone()),
            ("kind", "notice".to_owned()),
            ("title", title.to_owned()),
            ("body", body.to_owned()),
            ("attribute", "public".to_owned()),
            ("channels", "website".to_owned()),
            ("then", "save".to_owned()),
        ]
    };

    // Empty required fields (a browser without script): nothing is created,
    // and the form says what is missing.
    let before = app.snapshot().await;
    let r = drafter.http.post(format!("{}/items/new", app.base)).form(&fields("  ", "")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("请填写标题") && page.contains("请填写正文"), "{page}");
    assert_eq!(app.snapshot().await, before, "nothing was stored");
    let (status, body) = drafter.post("/api/v1/items", &titled_item("", &["website"])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(app.snapshot().await, before, "nor through the API");

    // The same form twice at once (a double click), then once more: one
    // draft, and every answer opens it. The refused attempt above did not
    // use the token up.
    let send = || {
        drafter
            .http
            .post(format!("{}/items/new", app.base))
            .form(&fields(title, "春节期间（2月15日至2月23日）办事大厅暂停对外服务。"))
            .send()
    };
    let (a, b) = tokio::join!(send(), send());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.status().is_success() && b.status().is_success(), "{} {}", a.status(), b.status());
    let c = send().await.unwrap();
    assert_eq!(items_titled(&app, title).await, 1, "one draft");
    let paths: Vec<String> = [a.url(), b.url(), c.url()].iter().map(|u| u.path().to_owned()).collect();
    assert!(paths.iter().all(|p| p == &paths[0] && p.starts_with("/items/")), "{paths:?}");

    // A new form is a new draft.
    let (_, other) = new_item_tokens(&drafter).await;
    assert_ne!(other, token);
    app.stop().await;
}

/// What people read on the page (closed disclosures are not read): no rule
/// id, plugin version, digest or HTTP status.
async fn assert_office_words(b: &Browser, page: &str) {
    assert_plain_words(b, page).await;
    assert!(!b.all("details.tech").await.is_empty(), "{page} keeps the technical information behind 技术信息");
}

/// What engineers read and the office should not have to: rule and plugin
/// ids, digests, HTTP codes, URNs and event codes.
const ENGINEERING: &[&str] =
    &["PII-", "SEC-", "ATTR-", "HOST-", "META-", "sha256:", "HTTP ", "urn:", "item.create", "item.state"];

/// Asserts the page shows no engineering vocabulary outside the 技术信息
/// disclosures (`details.tech`), whether or not the page has one: the
/// visible text of `main` is read with every disclosure taken out.
pub(crate) async fn assert_plain_words(b: &Browser, page: &str) {
    let text = b
        .client
        .execute(
            "const m = document.querySelector('main').cloneNode(true); \
             m.querySelectorAll('details.tech').forEach((d) => d.remove()); return m.textContent;",
            vec![],
        )
        .await
        .unwrap();
    let text = text.as_str().unwrap_or_default();
    assert!(!text.trim().is_empty(), "{page} has text");
    for engineering in ENGINEERING {
        assert!(!text.contains(engineering), "{page} shows {engineering:?} outside 技术信息: {text}");
    }
}

async fn findings_survive_a_one_click_fix(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("drafter", &[Role::Drafter], Some(UNIT)).await;
    app.user("first", &[Role::Reviewer], Some(UNIT)).await;
    app.user("second", &[Role::Reviewer], Some(UNIT)).await;
    app.user("secrecy", &[Role::SecrecyReviewer], None).await;
    app.user("approver", &[Role::Approver], Some(UNIT)).await;
    let (one, two) = ("321183198506120412", "321183199003011235");
    let mut draft = titled_item("关于2026年度临时救助对象的公示", &["website"]);
    draft["issuer"] = json!(UNIT);
    draft["body"] = json!(format!(
        "经审核，申请人王某（身份证号码：{one}）、李某（身份证号码：{two}）符合临时救助条件。\n公示期为5个工作日。"
    ));
    let id = drafter.create_item(&draft).await["id"].as_str().unwrap().to_owned();

    let b = Browser::start(&app.base, 1280, 900).await;
    b.login("drafter", &password("drafter")).await;
    b.goto(&format!("/items/{id}")).await;
    b.click_to("form[action$='/submit'] button").await;
    // A stopped submission is said as such, in red, not as a success.
    assert_eq!(b.text(".summary .badge").await, "已拦截");
    let banner = b.text("p.error").await;
    assert!(banner.contains("已拦截") && banner.contains("请先修改以下问题"), "{banner}");
    assert!(b.all("p.notice").await.is_empty(), "no success message");
    assert_eq!(b.all(".finding.sev-block").await.len(), 2);
    assert_office_words(&b, "the drafter's blocked item").await;
    b.assert_accessible("事项（已拦截）").await;

    // One suggested mask applied: the other finding is still shown, where
    // its words now are, and can be fixed the same way.
    b.click_to(".finding.sev-block button[name=finding]").await;
    assert!(b.text("p.notice").await.contains("已按建议修改"));
    let body = b.text(".doc-body").await;
    assert!(!body.contains(one) && body.contains(two), "{body}");
    let left = b.all(".finding.sev-block").await;
    assert_eq!(left.len(), 1, "the other finding survived the fix");
    assert!(left[0].text().await.unwrap().contains(two));
    assert!(b.text("p.verdict").await.contains("仍然存在"));
    assert_eq!(b.text(".doc-body a.hl-block").await, two, "still marked in the text");
    b.click_to(".finding.sev-block button[name=finding]").await;
    let body = b.text(".doc-body").await;
    assert!(!body.contains(one) && !body.contains(two), "{body}");
    assert!(b.all(".finding.sev-block").await.is_empty());

    // Resubmitted, it is in review: no 修改 or 应用建议 while reviewers read it.
    b.click_to("form[action$='/submit'] button").await;
    assert_eq!(b.text(".summary .badge").await, "审核中");
    assert!(b.text("p.notice").await.contains("已提交审核"));
    assert!(b.all("a[href$='/edit']").await.is_empty() && b.all("form[action$='/fix']").await.is_empty());
    b.stop().await;
    app.stop().await;
}

/// The caller's notifications about `id` (unread only if asked).
async fn notes_about(client: &tests::Client, id: &str, unread: bool) -> Vec<Value> {
    let list = ok(client.get(&format!("/api/v1/notifications?unread={unread}")).await);
    list.as_array().unwrap().iter().filter(|n| n["item_id"] == id).cloned().collect()
}

async fn notifications_follow_an_item_to_publication_and_withdrawal(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = Team::of(&app).await;
    let (hook, received) = crate::web::website().await;
    t.add_endpoint(json!({"channel": "website", "kind": "webhook", "url": hook})).await;
    let title = "关于2026年度城乡居民医疗保险缴费标准的通知";
    let id = t.draft(title, &["website"]).await;
    t.approve(&id, 1).await;

    // The office is told the item waits for the seal (待加盖); the drafter,
    // who may not seal, is told it waits, not asked to seal it.
    let waiting = notes_about(&t.publisher, &id, true).await;
    assert!(
        waiting
            .iter()
            .any(|n| n["kind"] == "seal_requested" && n["message"].as_str().unwrap().contains("待加盖信息公开专用章")),
        "the publisher is told: {waiting:?}"
    );
    assert!(notes_about(&t.drafter, &id, false).await.iter().all(|n| n["kind"] != "seal_requested"));

    // Opening the notification marks it read and lands on the item.
    let b = Browser::start(&app.base, 1280, 900).await;
    b.login("gong", &password("gong")).await;
    b.goto("/notifications").await;
    assert!(b.text("ul.notifications li.unread").await.contains(title));
    b.assert_accessible("通知").await;
    b.click_to("ul.notifications li.unread form button").await;
    assert_eq!(b.path().await, format!("/items/{id}"));
    assert!(notes_about(&t.publisher, &id, true).await.is_empty(), "opened, so read");

    // The seal asks first: the channels and the publication time, and
    // nothing is sealed until it is confirmed.
    b.client
        .execute("document.querySelector('#not_before').value = arguments[0];", vec![json!("2030-01-02T09:30")])
        .await
        .unwrap();
    b.click_to("form.seal-form button").await;
    let confirm = b.text(".seal-confirm").await;
    for wanted in [title, "政府网站", "2030-01-02 09:30（北京时间）起发布"] {
        assert!(confirm.contains(wanted), "the confirmation shows {wanted:?}: {confirm}");
    }
    b.assert_accessible("加盖确认").await;
    assert_eq!(ok(t.publisher.get(&format!("/api/v1/items/{id}")).await)["state"], "approved", "not sealed yet");
    // Back without the embargo: published at once.
    b.click_to(".seal-confirm a").await;
    b.click_to("form.seal-form button").await;
    assert!(b.text(".seal-confirm .when").await.contains("加盖后立即发布"));
    b.screenshot("13-seal-confirm").await;
    b.click_to("form.seal-confirm-form button").await;
    assert!(b.text("p.notice").await.contains("已加盖信息公开专用章"));
    // The serial opens the seal's page, not the JSON record.
    b.click_to("#deliveries a[href^='/seals/']").await;
    let serial = b.path().await.trim_start_matches("/seals/").to_owned();
    let record = b.text(".seal-record").await;
    for wanted in [title, serial.as_str(), "有效", "加盖后立即发布", "政府网站"] {
        assert!(record.contains(wanted), "the seal's page shows {wanted:?}: {record}");
    }
    assert_office_words(&b, "the seal's page").await;
    b.assert_accessible("加盖记录").await;
    b.logout().await;
    // Someone who may not read the item learns nothing from the serial.
    let other = app.user("other", &[Role::Drafter], Some("江城市财政局")).await;
    let r = other.http.get(format!("{}/seals/{serial}", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(!r.text().await.unwrap().contains(title));
    let r = t.drafter.http.get(format!("{}/seals/{serial}", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the drafter reads the seal of their item");

    // The drafter is told of the publication (已发布)…
    tests::eventually("the item published", async || {
        ok(t.drafter.get(&format!("/api/v1/items/{id}")).await)["state"] == "published"
    })
    .await;
    assert_eq!(received.lock().unwrap().len(), 1);
    let published = notes_about(&t.drafter, &id, true).await;
    assert!(
        published.iter().any(|n| n["kind"] == "published" && n["message"].as_str().unwrap().contains("已发布")),
        "{published:?}"
    );
    // …and reading the item's page, without the notification, reads it.
    b.login("zhou", &password("zhou")).await;
    b.goto(&format!("/items/{id}")).await;
    assert!(notes_about(&t.drafter, &id, true).await.is_empty(), "the item page marks its notifications read");
    assert!(b.all("a.bell .count").await.is_empty(), "the bell shows nothing unread");

    // 撤稿: the drafter is told, with the reason.
    let reason = "缴费标准已由新文件调整，原通知撤下。";
    ok(t.publisher.post(&format!("/api/v1/items/{id}/withdraw"), &json!({"reason": reason})).await);
    let withdrawn = notes_about(&t.drafter, &id, true).await;
    assert!(
        withdrawn.iter().any(|n| n["kind"] == "withdrawn"
            && n["message"].as_str().unwrap().contains("已撤稿")
            && n["message"].as_str().unwrap().contains(reason)),
        "{withdrawn:?}"
    );
    b.goto("/notifications").await;
    assert!(b.text("ul.notifications li.unread").await.contains(reason));
    assert_plain_words(&b, "the drafter's notifications").await;
    correct_and_republish(&app, &t, &b, &id, title, &received).await;
    b.stop().await;
    app.stop().await;
}

/// 更正: the drafter corrects the withdrawn item `id` from its page. The
/// correction is a new item, linked both ways, that goes through the whole
/// gate again and is published anew; the original stays withdrawn. Nobody
/// corrects what is not withdrawn or what is not their unit's.
async fn correct_and_republish(
    app: &TestApp,
    t: &Team,
    b: &Browser,
    id: &str,
    title: &str,
    received: &std::sync::Mutex<Vec<Value>>,
) {
    tests::eventually("the item withdrawn", async || {
        ok(t.drafter.get(&format!("/api/v1/items/{id}")).await)["state"] == "withdrawn"
    })
    .await;
    b.goto(&format!("/items/{id}")).await;
    b.click_to(&format!(".summary a[href='/items/new?corrects={id}']")).await;
    assert!(b.text("p.notice").await.contains("更正已撤稿的稿件"), "the form says what it is");
    assert_eq!(b.find("#title").await.prop("value").await.unwrap().unwrap(), title, "the original's text is carried");
    let body = b.find("#body").await.prop("value").await.unwrap().unwrap().replace("\r\n", "\n");
    b.fill("#body", &format!("{body}\n本通知所列缴费标准已按新文件更正。")).await;
    b.assert_accessible("更正稿件").await;
    b.client.execute("window.scrollTo(0, 0);", vec![]).await.unwrap();
    b.screenshot("16-correction-form").await;
    b.click_to("button[name=then][value=save]").await;
    let path = b.path().await;
    let correction = path.trim_start_matches("/items/").split('?').next().unwrap().to_owned();
    assert_ne!(correction, id, "a correction is a new item");
    assert_eq!(b.text(".summary .badge").await, "草稿");
    assert!(b.text(".summary p.correction").await.contains("更正已撤稿的原稿"));
    let view = ok(t.drafter.get(&format!("/api/v1/items/{correction}")).await);
    assert_eq!(view["corrects"], id);
    assert!(view["current"]["body"].as_str().unwrap().contains("已按新文件更正"));
    b.goto(&format!("/items/{id}")).await;
    assert_eq!(b.text(".summary .badge").await, "已撤稿", "the original stays withdrawn");
    assert!(b.text(".summary p.correction").await.contains("本稿已更正"));
    assert_plain_words(b, "the withdrawn item's page").await;

    // Through the whole gate again, and published anew.
    t.approve_and_seal(&correction, 1).await;
    tests::eventually("the correction published", async || {
        ok(t.drafter.get(&format!("/api/v1/items/{correction}")).await)["state"] == "published"
    })
    .await;
    assert!(received.lock().unwrap().iter().any(|p| p.to_string().contains(&correction)), "the channel got it");

    // Only a withdrawn item is corrected this way, and only by its unit.
    let mut again = titled_item(title, &["website"]);
    again["corrects"] = json!(correction);
    let (status, problem) = t.drafter.post("/api/v1/items", &again).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a published item is corrected by editing it: {problem}");
    again["corrects"] = json!(id);
    let outsider = app.user("outsider", &[Role::Drafter], Some("江城市交通运输局")).await;
    let (status, _) = outsider.post("/api/v1/items", &again).await;
    assert!(matches!(status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN), "another unit's item: {status}");
    let r = outsider.http.get(format!("{}/items/new?corrects={id}", app.base)).send().await.unwrap();
    let page = r.text().await.unwrap();
    assert!(!page.contains(title), "another unit's form does not carry the text");
    let mut edit = titled_item(title, &["website"]);
    edit["base_version"] = json!(1);
    edit["corrects"] = json!(correction);
    let (status, _) = t.drafter.put(&format!("/api/v1/items/{correction}"), &edit).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the link is set on creation only");
}

async fn header_fields_change_in_words(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("drafter", &[Role::Drafter], Some(UNIT)).await;
    let mut draft = titled_item("关于调整临时救助标准的通知", &["website"]);
    draft["issuer"] = json!(UNIT);
    draft["doc_number"] = json!("江民发〔2026〕3号");
    let id = drafter.create_item(&draft).await["id"].as_str().unwrap().to_owned();
    let (status, file) = drafter
        .send(
            drafter
                .request(reqwest::Method::POST, "/api/v1/attachments")
                .header("content-type", "text/csv")
                .body("姓名,金额\n王某,3000\n".as_bytes().to_vec()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{file}");
    let mut v2 = draft.clone();
    v2["doc_number"] = json!("江民发〔2026〕5号");
    v2["channels"] = json!(["website", "wechat"]);
    v2["attachments"] = json!([{"name": "救助名单.csv", "digest": file["digest"]}]);
    v2["base_version"] = json!(1);
    let (status, body) = drafter.put(&format!("/api/v1/items/{id}"), &v2).await;
    assert!(status.is_success(), "{body}");

    let b = Browser::start(&app.base, 1280, 900).await;
    b.login("drafter", &password("drafter")).await;
    b.goto(&format!("/items/{id}?from=1")).await;
    let changes = b.text("dl.header-changes").await;
    for wanted in [
        "发文字号",
        "江民发〔2026〕3号",
        "江民发〔2026〕5号",
        "发布渠道",
        "政府网站、微信公众号",
        "附件",
        "新增 救助名单.csv",
    ] {
        assert!(changes.contains(wanted), "the change shows {wanted:?}: {changes}");
    }
    for raw in ["sha256:", "attachments", "doc_number", "wechat", "[", "{"] {
        assert!(!changes.contains(raw), "no {raw:?} in the change: {changes}");
    }
    assert!(!changes.contains("标题"), "the title did not change: {changes}");
    assert_plain_words(&b, "the drafter's diff").await;
    b.assert_accessible("版本差异").await;
    b.stop().await;
    app.stop().await;
}

/// The CSRF token of a session's page (`name="csrf" value="…"`).
async fn csrf_of(client: &tests::Client, base: &str, path: &str) -> String {
    let html = client.http.get(format!("{base}{path}")).send().await.unwrap().text().await.unwrap();
    let at = html.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_owned()
}

async fn channels_are_managed_from_the_office_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("root", &[Role::SecurityAdmin], None).await;
    let office = app.user("office", &[Role::Publisher], None).await;
    let (hook, received) = crate::web::website().await;
    let endpoints = async || ok(admin.get("/api/v1/channel-endpoints").await)["endpoints"].as_array().unwrap().clone();

    let b = Browser::start(&app.base, 1280, 900).await;
    b.login("root", &password("root")).await;
    b.goto("/office").await;
    let page = b.text("main").await;
    assert!(!page.contains("gateway channels"), "no command line: {page}");
    b.click("details.add-endpoint summary").await;
    b.click("#ep-channel option[value=website]").await;
    b.click("#ep-kind option[value=webhook]").await;
    // A refused form says why in Chinese, keeps what was typed, adds nothing.
    b.fill("#ep-url", "ftp://files.example/hook").await;
    b.click_to("form.endpoint-form button[type=submit]").await;
    let error = b.text("p.error").await;
    assert!(error.contains("地址") && error.contains("http://"), "{error}");
    assert_eq!(b.find("#ep-url").await.prop("value").await.unwrap().as_deref(), Some("ftp://files.example/hook"));
    assert!(endpoints().await.is_empty(), "nothing was added");
    b.assert_accessible("发布管理（添加端点）").await;

    b.find("#ep-url").await.clear().await.unwrap();
    b.fill("#ep-url", &hook).await;
    b.click_to("form.endpoint-form button[type=submit]").await;
    assert!(b.text("p.notice").await.contains("已添加并启用"));
    let list = endpoints().await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!((list[0]["channel"].as_str(), list[0]["url"].as_str()), (Some("website"), Some(hook.as_str())));

    // 测试 sends the endpoint a signed test event and says what came back.
    b.click_to("form.endpoint-test button").await;
    assert!(b.text("p.notice").await.contains("测试成功"), "{}", b.text("main").await);
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one test event: {got:?}");
    assert_eq!(got[0]["type"], "ping");

    // 停用, with a reason.
    b.fill("form.endpoint-disable input[name=reason]", "网站改版，暂停接收。").await;
    b.click_to("form.endpoint-disable button").await;
    assert!(b.text("p.notice").await.contains("端点已停用"));
    let list = endpoints().await;
    assert_eq!(list[0]["enabled"], false);
    assert_eq!(list[0]["disabled_reason"], "网站改版，暂停接收。");
    assert!(b.text("table.endpoints").await.contains("已停用"));
    b.assert_accessible("发布管理（端点已停用）").await;
    b.logout().await;
    b.stop().await;

    // The publication office reads the endpoints but does not manage them:
    // its own forms (with its CSRF token) are refused and change nothing.
    let csrf = csrf_of(&office, &app.base, "/office").await;
    let before = endpoints().await;
    let form = [("csrf", csrf.as_str()), ("channel", "website"), ("kind", "webhook"), ("url", hook.as_str())];
    let r = office.http.post(format!("{}/office/endpoints", app.base)).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let id = before[0]["id"].as_str().unwrap();
    for action in ["test", "disable"] {
        let form = [("csrf", csrf.as_str()), ("reason", "x")];
        let r =
            office.http.post(format!("{}/office/endpoints/{id}/{action}", app.base)).form(&form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{action}");
    }
    assert_eq!(endpoints().await, before, "nothing changed");
    assert_eq!(received.lock().unwrap().len(), 1, "nothing was sent");
    app.stop().await;
}
