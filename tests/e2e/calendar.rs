//! Issue 19, the calendar: a deadline that reaches past the loaded 放假安排
//! is shown, marked 暂定, never dropped; the office loads a year from the web
//! page (refused with Chinese reasons and nothing stored when wrong), which
//! changes the deadline at once and is audited; the gateway warns 60 days
//! before the published years end, on the pages and to publishers once.

use gateway::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;
use tests::{Backend, Client, TestApp, on_both_backends, repo_root, sample_item};

on_both_backends!(
    issue_19_a_deadline_reaching_2027_is_provisional_until_the_office_loads_the_year,
    issue_19_bad_arrangements_are_refused_and_nothing_is_stored,
    issue_19_past_the_last_calendar_file_deadlines_fall_back_and_publishers_are_warned_once
);

const UNIT: &str = "江城市民政局";

/// The notice as the office pastes it (test data: the real 2027 notice was
/// not out when this was written). 1-9 (Saturday) is a make-up workday.
const NOTICE_2027: &str = "一、元旦：2027-01-01 至 2027-01-03 调休上班 2027-01-09\n\
    二、春节：2027年2月5日 至 2027年2月11日 调休上班 2027-01-31、2027-02-20\n\
    清明节 2027-04-03 至 2027-04-05\n\
    劳动节 2027-05-01 至 2027-05-05 调休上班 2027-04-25\n\
    端午节 2027-06-09\n\
    中秋节 2027-09-15\n\
    国庆节 2027-10-01 至 2027-10-07 调休上班 2027-09-26、2027-10-09\n";

/// A 主动公开 notice formed on Friday 2026-12-18, submitted for review:
/// the drafter, a reviewer of the unit, the item id.
async fn item_formed_before_new_year(app: &TestApp) -> (Client, Client, String) {
    let drafter = app.user("zhou", &[Role::Drafter], Some(UNIT)).await;
    let reviewer = app.user("wu", &[Role::Reviewer], Some(UNIT)).await;
    // The rest of the chain, so that every stage can be filled (in review, not blocked).
    app.user("zheng", &[Role::Reviewer], Some(UNIT)).await;
    app.user("wang", &[Role::SecrecyReviewer], Some("保密办")).await;
    app.user("feng", &[Role::Approver], Some(UNIT)).await;
    let mut item = sample_item();
    item["formed_at"] = json!("2026-12-18");
    let created = drafter.create_item(&item).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, body) = drafter.post(&format!("/api/v1/items/{id}/submit"), &json!({"version": 1})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (drafter, reviewer, id)
}

async fn disclosure_deadline(c: &Client, id: &str) -> Value {
    let (status, wf) = c.get(&format!("/api/v1/items/{id}/workflow")).await;
    assert_eq!(status, StatusCode::OK, "{wf}");
    wf["disclosure_deadline"].clone()
}

async fn page(c: &Client, path: &str) -> (StatusCode, String) {
    let r = c.http.get(format!("{}{path}", c.base)).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn csrf(c: &Client, path: &str) -> String {
    let (_, html) = page(c, path).await;
    html.split("name=\"csrf\" value=\"").nth(1).and_then(|s| s.split('"').next()).expect("a form").to_owned()
}

async fn post_form(c: &Client, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String, String) {
    let r = c.http.post(format!("{}{path}", c.base)).form(fields).send().await.unwrap();
    let status = r.status();
    let url = r.url().path().to_owned();
    (status, url, r.text().await.unwrap())
}

async fn calendar_rows(app: &TestApp) -> Vec<String> {
    sqlx::query("SELECT CAST(year AS TEXT) || '|' || arrangement AS r FROM calendar_years ORDER BY year")
        .fetch_all(app.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>("r").unwrap())
        .collect()
}

async fn calendar_loads(app: &TestApp) -> Vec<Value> {
    sqlx::query("SELECT detail, actor_id FROM audit_events WHERE action = 'calendar.load' ORDER BY seq")
        .fetch_all(app.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let mut detail: Value = serde_json::from_str(&r.try_get::<String, _>("detail").unwrap()).unwrap();
            detail["actor_id"] = json!(r.try_get::<Option<String>, _>("actor_id").unwrap());
            detail
        })
        .collect()
}

async fn issue_19_a_deadline_reaching_2027_is_provisional_until_the_office_loads_the_year(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (drafter, first, id) = item_formed_before_new_year(&app).await;
    // Shipped: 2026 published, 2027 provisional (statutory days only). From
    // Fri 2026-12-18: 12-21..25 (5), 12-28..31 (9), 1-1 元旦, 1-4..8 (14),
    // 1-11..15 (19), 1-18 is the 20th working day.
    let d = disclosure_deadline(&drafter, &id).await;
    assert_eq!(d["due_on"], "2027-01-18", "{d}");
    assert_eq!(d["provisional"], true, "{d}");

    // Every list shows it, marked.
    let (_, queue) = first.get("/api/v1/queue").await;
    let entry = queue["entries"].as_array().unwrap().iter().find(|e| e["item_id"] == id.as_str());
    let entry = entry.unwrap_or_else(|| panic!("queued: {queue}"));
    assert_eq!(entry["disclosure_deadline"]["provisional"], true, "{entry}");
    let (_, html) = page(&first, "/queue").await;
    assert!(html.contains("2027-01-18") && html.contains(">暂定</abbr>"), "{html}");
    assert!(html.contains("尚未载入国务院办公厅放假安排"), "the tooltip explains: {html}");
    let (_, html) = page(&drafter, &format!("/items/{id}")).await;
    assert!(html.contains("法定公开时限：2027-01-18") && html.contains(">暂定</abbr>"), "{html}");

    // The office sees the warning: 2026 is the last published year.
    let office = app.user("gong", &[Role::Publisher], None).await;
    let (_, cal) = office.get("/api/v1/calendar").await;
    assert_eq!(cal["confirmed_until"], "2026-12-31", "{cal}");
    let y2027 = cal["years"].as_array().unwrap().iter().find(|y| y["year"] == 2027).unwrap();
    assert_eq!((y2027["provisional"].clone(), y2027["origin"].clone()), (json!(true), json!("shipped")));
    assert!(cal["warning"].as_str().unwrap().contains("国务院办公厅关于2027年部分节假日安排的通知"), "{cal}");
    for path in ["/office", "/dashboard", "/calendar"] {
        let (status, html) = page(&office, path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("id=\"calendar-warning\""), "{path}: {html}");
    }

    // The office pastes the notice on the page: in force at once.
    let token = csrf(&office, "/calendar").await;
    let source = "国务院办公厅关于2027年部分节假日安排的通知（测试）";
    let (status, url, html) = post_form(
        &office,
        "/calendar",
        &[("csrf", &token), ("year", "2027"), ("source", source), ("text", NOTICE_2027)],
    )
    .await;
    assert_eq!((status, url.as_str()), (StatusCode::OK, "/calendar"), "{html}");
    assert!(html.contains("节假日安排已载入并立即生效") && html.contains("办公室载入"), "{html}");
    // 1-9 (Sat) now counts: 12-21..25 (5), 12-28..31 (9), 1-4..8 (14), 1-9
    // (15), 1-11..15 (20).
    let d = disclosure_deadline(&drafter, &id).await;
    assert_eq!((d["due_on"].clone(), d["provisional"].clone()), (json!("2027-01-15"), json!(false)), "{d}");
    let (_, html) = page(&drafter, &format!("/items/{id}")).await;
    assert!(html.contains("法定公开时限：2027-01-15") && !html.contains(">暂定</abbr>"), "{html}");

    // Audited: who, what, what it replaced.
    let loads = calendar_loads(&app).await;
    assert_eq!(loads.len(), 1, "{loads:?}");
    let (_, me) = office.get("/api/v1/auth/me").await;
    assert_eq!(loads[0]["actor_id"], me["id"], "{loads:?} {me}");
    assert_eq!(loads[0]["year"], 2027);
    assert_eq!(loads[0]["source"], source);
    assert_eq!(loads[0]["holidays"][1]["workdays"], json!(["2027-01-31", "2027-02-20"]));
    assert_eq!(loads[0]["replaced"]["origin"], "shipped");
    assert_eq!(loads[0]["replaced"]["provisional"], true);

    // 2027 is published now: the calendar ends 2027-12-31, no warning until
    // 60 days before.
    let (_, cal) = office.get("/api/v1/calendar").await;
    assert_eq!(cal["confirmed_until"], "2027-12-31", "{cal}");
    let today = (time::OffsetDateTime::now_utc() + time::Duration::hours(8)).date();
    if today < time::Date::from_calendar_date(2027, time::Month::November, 2).unwrap() {
        assert_eq!(cal["warning"], Value::Null, "{cal}");
        let (_, html) = page(&office, "/office").await;
        assert!(!html.contains("id=\"calendar-warning\""), "{html}");
    }
    app.stop().await;
}

async fn issue_19_bad_arrangements_are_refused_and_nothing_is_stored(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (drafter, _, id) = item_formed_before_new_year(&app).await;
    let office = app.user("gong", &[Role::Publisher], None).await;
    let before = (app.snapshot().await, calendar_rows(&app).await, disclosure_deadline(&drafter, &id).await);
    let load = |text: &str| json!({"year": 2027, "source": "国务院办公厅通知", "text": text});
    for (text, says) in [
        ("元旦 2027-01-01 至 2027-01-03\n春节 2027-02-05 至 2027-02-11 调休上班 2027-02-09", "落在“春节”的放假期间内"),
        ("元旦 2026-12-31 至 2027-01-01", "不在 2027 年内"),
        ("元旦 2027-01-03 至 2027-01-01", "晚于结束日期"),
        ("元旦 2027-01-01\n春节 2027-02-05 至 2027-02-11 调休上班 2027-02-17", "不是周末"),
        ("春节 2027-02-05 至 2027-02-11", "2027-01-01 是法定节假日"),
        ("元旦 2027-13-01", "不是有效日期"),
        ("", "没有任何节日"),
    ] {
        let (status, body) = office.post("/api/v1/calendar/years", &load(text)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}: {body}");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains("节假日安排未载入") && detail.contains(says), "{text}: {body}");
    }
    // Not the office's nor the admin's: refused.
    let good = "元旦 2027-01-01 至 2027-01-03\n劳动节 2027-05-01 至 2027-05-05\n国庆节 2027-10-01 至 2027-10-07";
    let (status, body) = drafter.post("/api/v1/calendar/years", &load(good)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("只有政务公开办公室和系统管理员"), "{body}");
    // The page refuses with the reason and keeps what was typed.
    let token = csrf(&office, "/calendar").await;
    let bad = "元旦 2027-01-01\n春节 2027-02-05 至 2027-02-11 调休上班 2027-02-09";
    let (status, _, html) =
        post_form(&office, "/calendar", &[("csrf", &token), ("year", "2027"), ("source", "通知"), ("text", bad)]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("调休上班日 2027-02-09 落在“春节”的放假期间内"), "{html}");
    assert!(html.contains("春节 2027-02-05 至 2027-02-11 调休上班 2027-02-09</textarea>"), "{html}");
    let (status, _, html) =
        post_form(&office, "/calendar", &[("csrf", &token), ("year", "二〇二七"), ("source", "通知"), ("text", good)])
            .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("请填写四位数的年份"), "{html}");
    // A drafter does not even get the form.
    let (_, html) = page(&drafter, "/calendar").await;
    assert!(!html.contains("action=\"/calendar\""), "{html}");
    // Nothing stored, nothing audited, the deadline as it was.
    let after = (app.snapshot().await, calendar_rows(&app).await, disclosure_deadline(&drafter, &id).await);
    assert_eq!(before, after);
    assert!(calendar_loads(&app).await.is_empty());
    app.stop().await;
}

async fn issue_19_past_the_last_calendar_file_deadlines_fall_back_and_publishers_are_warned_once(backend: Backend) {
    // A deployment whose calendar directory ends with 2026 (no 2027 file).
    let policies = tempfile::tempdir().unwrap();
    std::fs::copy(repo_root().join("policies/workflow.toml"), policies.path().join("workflow.toml")).unwrap();
    std::fs::create_dir(policies.path().join("calendar")).unwrap();
    for y in ["2025", "2026"] {
        std::fs::copy(
            repo_root().join(format!("policies/calendar/{y}.toml")),
            policies.path().join(format!("calendar/{y}.toml")),
        )
        .unwrap();
    }
    let workflow = policies.path().join("workflow.toml");
    let app = TestApp::spawn_with(backend, |s| {
        s.workflow.policy = workflow;
        s.workflow.sweep_seconds = 1;
    })
    .await;
    let (drafter, _, id) = item_formed_before_new_year(&app).await;
    // No 2027 at all: weekdays minus 元旦 (a fixed statutory day), the same
    // 2027-01-18 here, and provisional.
    let d = disclosure_deadline(&drafter, &id).await;
    assert_eq!((d["due_on"].clone(), d["provisional"].clone()), (json!("2027-01-18"), json!(true)), "{d}");
    let office = app.user("gong", &[Role::Publisher], None).await;
    let (_, cal) = office.get("/api/v1/calendar").await;
    assert!(cal["warning"].as_str().unwrap().contains("2027 年没有任何安排"), "{cal}");
    // Each publisher is told once, however many sweeps run; a drafter never.
    let ending = |notes: &Value| notes.as_array().unwrap().iter().filter(|n| n["kind"] == "calendar_ending").count();
    tests::until(20, "the publisher is notified", async || ending(&office.get("/api/v1/notifications").await.1) == 1)
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (_, notes) = office.get("/api/v1/notifications").await;
    assert_eq!(ending(&notes), 1, "{notes}");
    let note = notes.as_array().unwrap().iter().find(|n| n["kind"] == "calendar_ending").unwrap();
    assert!(note["message"].as_str().unwrap().contains("请政务公开办公室在“节假日安排”页面载入"), "{note}");
    assert_eq!(ending(&drafter.get("/api/v1/notifications").await.1), 0);
    app.stop().await;
}
