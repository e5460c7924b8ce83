//! Issue 19, the application register (依申请公开申请登记): applications from a
//! person and organisations of two kinds, a 补正, a third-party consultation
//! across the 中秋 holiday, an extension, the 国庆 holiday with its make-up
//! working days; every deadline checked against a hand computation; an
//! overdue application on the overdue list; a deadline past the calendar's
//! published years provisional; duties checked by the server; the
//! applicant's personal data in no audit event, list or other reader's answer.

use gateway::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;
use tests::team::Team;
use tests::{Backend, Client, TestApp, on_both_backends};

on_both_backends!(
    issue_19_the_register_keeps_every_statutory_deadline,
    issue_19_duties_are_checked_and_refusals_change_nothing,
    issue_19_the_office_registers_and_advances_from_the_pages,
    issue_19_the_office_registers_an_application_and_prints_the_sealed_reply_in_the_browser,
    issue_19_the_office_is_reminded_of_each_application_once_across_two_processes,
    issue_19_no_personal_data_in_the_log,
    issue_19_a_sealed_reply_is_served_by_email_and_its_date_of_service_recorded
);

const PHONE: &str = "13812345678";
const ID_NUMBER: &str = "110101199003071234";
const EMAIL: &str = "zhangsanfeng@example.cn";

/// Settings that send the gateway's mail to `sink` (on loopback).
fn mail_to(sink: &tests::mail::SmtpSink) -> impl FnOnce(&mut gateway::config::Settings) + '_ {
    move |s| {
        s.mail.smtp = Some(sink.url());
        s.mail.from = Some("江城市民政局 <gongkai@example.gov.cn>".into());
    }
}

#[track_caller]
fn ok(result: (StatusCode, Value)) -> Value {
    assert!(result.0.is_success(), "{} {}", result.0, result.1);
    result.1
}

async fn register(office: &Client, kind: &str, name: &str, channel: &str, received_on: &str) -> Value {
    let (status, body) = office
        .post(
            "/api/v1/applications",
            &json!({
                "applicant_kind": kind, "applicant_name": name, "channel": channel, "received_on": received_on,
                "contact": {"phone": PHONE, "email": EMAIL, "id_number": ID_NUMBER, "address": "江城市幸福路 8 号 3 单元"},
                "request": "2026年江城市道路维修资金的使用情况",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn act(c: &Client, id: &str, body: Value) -> Value {
    ok(c.post(&format!("/api/v1/applications/{id}/actions"), &body).await)
}

fn due(v: &Value) -> (&str, bool) {
    (v["deadline"]["due_on"].as_str().unwrap_or("none"), v["deadline"]["provisional"].as_bool().unwrap_or(false))
}

async fn people(app: &TestApp) -> (Client, Client, Client, Client) {
    let office = app.user("gong", &[Role::Publisher], Some("政务公开办公室")).await;
    let approver = app.user("feng", &[Role::Approver], Some("江城市民政局")).await;
    let auditor = app.user("shenji", &[Role::Auditor], None).await;
    let drafter = app.user("zhou", &[Role::Drafter], Some("江城市民政局")).await;
    (office, approver, auditor, drafter)
}

/// Drafts the reply of `result` (the drafter), takes it through the whole
/// review and the seal; returns (item id, serial).
async fn sealed_reply(t: &Team, id: &str, result: &str) -> (String, String) {
    let drafted = ok(t
        .drafter
        .post(&format!("/api/v1/applications/{id}/reply"), &json!({"result": result, "issuer": "江城市民政局"}))
        .await);
    let item = drafted["item_id"].as_str().unwrap().to_owned();
    assert_eq!(drafted["application"]["reply_item_id"], item.as_str());
    fill_in(&t.drafter, &item).await;
    let serial = t.approve_and_seal(&item, 2).await;
    (item, serial)
}

/// The drafter fills in the template's 【】 blanks (REPLY-007 blocks a
/// reply that still holds one), as version 2.
async fn fill_in(drafter: &Client, item: &str) {
    let v = ok(drafter.get(&format!("/api/v1/items/{item}")).await);
    let mut edit = v["current"].clone();
    for key in ["version", "content_digest", "created_by", "created_at"] {
        edit.as_object_mut().unwrap().remove(key);
    }
    let mut rest = edit["body"].as_str().unwrap().to_owned();
    assert!(rest.contains('【'), "the template has blanks: {rest}");
    let mut filled = String::new();
    while let Some((before, after)) = rest.split_once('【') {
        filled.push_str(before);
        let (blank, after) = after.split_once('】').unwrap();
        filled.push_str(blank.trim_start_matches("写明"));
        rest = after.to_owned();
    }
    filled.push_str(&rest);
    edit["body"] = json!(filled);
    edit["base_version"] = json!(1);
    let (status, body) = drafter.put(&format!("/api/v1/items/{item}"), &edit).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn issue_19_the_register_keeps_every_statutory_deadline(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = Team::of(&app).await;
    let (office, approver, auditor) = (&t.publisher, &t.approver, &t.auditor);

    // A: a person, online, received Tuesday 2026-09-15. 20 working days
    // after it (the day itself never counts): 09-16..18 (3), Sunday 09-20
    // is a make-up working day (4), 09-21..24 (8), 09-25..27 中秋 off,
    // 09-28..30 (11), 10-01..07 国庆 off, 10-08, 10-09 (13), Saturday 10-10
    // make-up (14), 10-12..16 (19), 10-19 (20): due 2026-10-19.
    let a = register(office, "person", "张三丰", "online", "2026-09-15").await;
    let a_id = a["id"].as_str().unwrap().to_owned();
    assert_eq!(a["applicant"], "张三丰", "the office reads the name whole");
    assert_eq!(a["applicant_masked"], "张某某");
    assert_eq!(due(&a), ("2026-10-19", false));
    act(office, &a_id, json!({"action": "accept"})).await;
    act(office, &a_id, json!({"action": "start"})).await;
    // A third party (a company whose trade secrets are concerned) is
    // consulted on Tuesday 09-22 and answers on Tuesday 09-29. Not counted
    // (art. 32): the working days after 09-22 up to and including 09-29:
    // 09-23, 09-24, (25..27 中秋), 09-28, 09-29 = 4. Due: 24 working days
    // after 09-15 = 10-19 plus 10-20..23: 2026-10-23.
    let v =
        act(office, &a_id, json!({"action": "consult", "third_party": "江城燃气有限公司", "on": "2026-09-22"})).await;
    assert_eq!(v["consulting"], true);
    let v = act(office, &a_id, json!({"action": "consultation_answered", "seq": 1, "on": "2026-09-29"})).await;
    assert_eq!((v["excluded_working_days"].as_u64(), due(&v)), (Some(4), ("2026-10-23", false)));
    // The approver extends it once on 10-20 (before it runs out): 44
    // working days: 10-23 (24), 10-26..30 (29), 11-02..06 (34),
    // 11-09..13 (39), 11-16..20 (44): due 2026-11-20.
    let v = act(approver, &a_id, json!({"action": "extend", "on": "2026-10-20", "reason": "需调取多年档案"})).await;
    assert_eq!(due(&v), ("2026-11-20", false));
    assert!(v["extended_by"].is_string(), "the approver is on record");
    // The reply (予以公开) is drafted from its template; before it is sealed
    // the office cannot record its service (书面答复制).
    let drafted = ok(t
        .drafter
        .post(&format!("/api/v1/applications/{a_id}/reply"), &json!({"result": "granted", "issuer": "江城市民政局"}))
        .await);
    let a_item = drafted["item_id"].as_str().unwrap().to_owned();
    let reply = ok(t.drafter.get(&format!("/api/v1/items/{a_item}")).await);
    let text = reply["current"].to_string();
    assert!(text.contains("经检索") && text.contains("第三十六条第（二）项") && text.contains("60日内"), "{text}");
    assert!(!text.contains("张三丰") && !text.contains(PHONE), "the sealed text names the applicant by number only");
    let (status, body) = office
        .post(&format!("/api/v1/applications/{a_id}/actions"), &json!({"action": "answer", "on": "2026-11-18"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // Submitted as drafted, the template's blanks block it (REPLY-007).
    let (status, body) = t.drafter.post(&format!("/api/v1/items/{a_item}/submit"), &json!({"version": 1})).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("blocked")), "{body}");
    let blanks = body["review"]["outcome"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "REPLY-007")
        .count();
    assert!(blanks >= 3, "{body:#}");
    fill_in(&t.drafter, &a_item).await;
    let a_serial = t.approve_and_seal(&a_item, 2).await;
    // Served on 11-18: on time, with the margin it had that day.
    let v = act(office, &a_id, json!({"action": "answer", "on": "2026-11-18"})).await;
    assert_eq!(
        (v["state"].as_str(), v["overdue"].as_bool(), v["time_left"].as_str()),
        (Some("answered"), Some(false), Some("按期答复"))
    );
    assert_eq!(v["deadline"]["working_days_left"], 2, "11-19, 11-20 were left");
    act(office, &a_id, json!({"action": "close"})).await;

    // B: a business, by post, received Monday 11-02; 补正 asked on 11-04,
    // the corrected application received Tuesday 11-10: the clock restarts
    // there. 11-11..13 (3), 11-16..20 (8), 11-23..27 (13), 11-30 (14),
    // 12-01..04 (18), 12-07, 12-08 (20): due 2026-12-08. Answered 11-20:
    // 部分公开, on time.
    let b = register(office, "business", "江城建设有限公司", "post", "2026-11-02").await;
    let b_id = b["id"].as_str().unwrap().to_owned();
    assert_eq!(b["applicant_masked"], "江城建设有限公司", "an organisation's name is not personal data");
    let v = act(
        office,
        &b_id,
        json!({"action": "request_correction", "on": "2026-11-04", "note": "请写明所需文件的名称或文号"}),
    )
    .await;
    assert_eq!(
        (v["deadline"].is_null(), v["state"].as_str()),
        (true, Some("correction_requested")),
        "no clock while waiting"
    );
    let v = act(office, &b_id, json!({"action": "corrected", "on": "2026-11-10"})).await;
    assert_eq!((v["clock_start"].as_str(), due(&v)), (Some("2026-11-10"), ("2026-12-08", false)));
    sealed_reply(&t, &b_id, "partly").await;
    let v = act(office, &b_id, json!({"action": "answer", "on": "2026-11-20"})).await;
    assert_eq!((v["time_left"].as_str(), v["result"].as_str()), (Some("按期答复"), Some("partly")));

    // E: a legal-service firm, by e-mail, received Monday 10-12; 不予公开
    // to protect a third party. 10-13..16 (4), 10-19..23 (9), 10-26..30
    // (14), 11-02..06 (19), 11-09 (20): due 2026-11-09; served 11-10: one
    // working day late.
    let e = register(office, "legal_service", "江城明理律师事务所", "email", "2026-10-12").await;
    let e_id = e["id"].as_str().unwrap().to_owned();
    act(office, &e_id, json!({"action": "accept"})).await;
    sealed_reply(&t, &e_id, "withheld_third_party").await;
    let v = act(office, &e_id, json!({"action": "answer", "on": "2026-11-10"})).await;
    assert_eq!((due(&v), v["time_left"].as_str()), (("2026-11-09", false), Some("逾期答复（1 个工作日）")));

    // F: a person, by post, received Monday 11-16: 本机关不掌握. Due: 11-17..20
    // (4), 11-23..27 (9), 11-30..12-04 (14), 12-07..11 (19), 12-14 (20).
    let f = register(office, "person", "王小明", "post", "2026-11-16").await;
    let f_id = f["id"].as_str().unwrap().to_owned();
    act(office, &f_id, json!({"action": "accept"})).await;
    sealed_reply(&t, &f_id, "unavailable_not_held").await;
    let v = act(office, &f_id, json!({"action": "answer", "on": "2026-11-30"})).await;
    assert_eq!((due(&v), v["result"].as_str()), (("2026-12-14", false), Some("unavailable_not_held")));

    // C: a research institute, in person, received Tuesday 09-01 and never
    // answered. 09-02..04 (3), 09-07..11 (8), 09-14..18 (13), Sunday 09-20
    // make-up (14), 09-21..24 (18), 09-28 (19), 09-29 (20): due 2026-09-29,
    // long past: overdue, and on the overdue list.
    let c = register(office, "research", "江城大学城市研究院", "in_person", "2026-09-01").await;
    let c_id = c["id"].as_str().unwrap().to_owned();
    let v = act(office, &c_id, json!({"action": "accept"})).await;
    assert_eq!(due(&v), ("2026-09-29", false));
    assert_eq!(v["overdue"], true);
    assert!(v["time_left"].as_str().unwrap().starts_with("已逾期 "), "{v}");
    // Too late to extend: the period ran out.
    let (status, body) = approver
        .post(
            &format!("/api/v1/applications/{c_id}/actions"),
            &json!({"action": "extend", "on": "2026-10-09", "reason": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // D: a person, received Friday 2026-12-04. 12-07..31 are 19 working
    // days; 2027-01-01 is 元旦 in the provisional 2027 file; the 20th is
    // Monday 2027-01-04, 暂定 (the State Council's 2027 notice is not loaded).
    let d = register(office, "person", "李四", "fax", "2026-12-04").await;
    assert_eq!(due(&d), ("2027-01-04", true));
    assert!(d["deadline_shown"].as_str().unwrap().ends_with("（暂定）"));

    // The overdue list: C only.
    let overdue = ok(auditor.get("/api/v1/applications?overdue=true").await);
    let numbers: Vec<&str> = overdue.as_array().unwrap().iter().map(|v| v["number"].as_str().unwrap()).collect();
    assert_eq!(numbers, vec![c["number"].as_str().unwrap()]);

    // Readers other than the office: names masked, no contact details.
    let all = ok(approver.get("/api/v1/applications").await);
    assert_eq!(all.as_array().unwrap().len(), 6);
    let text = all.to_string();
    for secret in ["张三丰", PHONE, ID_NUMBER, EMAIL, "幸福路"] {
        assert!(!text.contains(secret), "{secret} shown to an approver: {text}");
    }
    assert!(text.contains("张某某") && text.contains("138****5678"));
    let one = ok(auditor.get(&format!("/api/v1/applications/{a_id}")).await);
    assert_eq!((one["applicant"].as_str(), one["contact"].is_null()), (Some("张某某"), true));

    // Not in the audit chain, which records every step.
    let rows = sqlx::query("SELECT action, detail FROM audit_events WHERE action LIKE 'application.%' ORDER BY seq")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    let actions: Vec<String> = rows.iter().map(|r| r.try_get::<String, _>("action").unwrap()).collect();
    assert_eq!(actions.iter().filter(|a| *a == "application.register").count(), 6);
    assert!(
        actions.contains(&"application.extend".to_owned()) && actions.contains(&"application.corrected".to_owned())
    );
    for r in &rows {
        let detail: String = r.try_get("detail").unwrap();
        for secret in ["张三丰", "李四", PHONE, ID_NUMBER, EMAIL, "幸福路"] {
            assert!(!detail.contains(secret), "{secret} in an audit event: {detail}");
        }
    }
    // Nor in a seal, a channel event (what feeds and webhooks carry) or any
    // item: the sealed replies name the applicant by register number.
    for sql in [
        "SELECT jws || manifest AS r FROM seals",
        "SELECT body AS r FROM channel_events",
        "SELECT title || body AS r FROM item_versions",
        "SELECT detail AS r FROM audit_events",
    ] {
        for row in sqlx::query(sql).fetch_all(app.db.pool()).await.unwrap() {
            let r: String = row.try_get("r").unwrap();
            for secret in ["张三丰", "王小明", PHONE, ID_NUMBER, EMAIL, "幸福路"] {
                assert!(!r.contains(secret), "{secret} in {sql}");
            }
        }
    }
    // A 行政复议 against A's answer, brought 12-01, upheld since.
    let remedy =
        json!({"action": "record_remedy", "remedy": "reconsideration", "outcome": "pending", "on": "2026-12-01"});
    act(office, &a_id, remedy).await;
    let remedy =
        json!({"action": "record_remedy", "remedy": "reconsideration", "outcome": "upheld", "on": "2026-12-01"});
    let v = act(office, &a_id, remedy).await;
    assert_eq!(v["remedies"][0]["outcome"], "upheld");

    // The annual tables for 2026, by hand. Columns: 自然人, 商业企业, 科研机构,
    // 社会公益组织, 法律服务机构, 其他, 总计.
    // 本年新收: A, D, F (persons), B (business), C (research), E (legal) = 6.
    // 上年结转: none. Results: 予以公开 A; 部分公开 B; 不予公开（保护第三方）E;
    // 无法提供（不掌握）F; 总计 4. 结转下年度: C (research) and D (person).
    // 6 + 0 = 4 + 2. 行政复议: one, upheld.
    let report = ok(auditor.get("/api/v1/applications/annual-report?year=2026").await);
    let row = |label: &str| -> Vec<i64> {
        let r =
            report["applications"].as_array().unwrap().iter().find(|r| r["label"].as_str().unwrap().contains(label));
        r.unwrap_or_else(|| panic!("{label}: {report}"))["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect()
    };
    assert_eq!(row("本年新收"), vec![3, 1, 1, 0, 1, 0, 6]);
    assert_eq!(row("上年结转"), vec![0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(row("— 予以公开"), vec![1, 0, 0, 0, 0, 0, 1]);
    assert_eq!(row("部分公开"), vec![0, 1, 0, 0, 0, 0, 1]);
    assert_eq!(row("保护第三方合法权益"), vec![0, 0, 0, 0, 1, 0, 1]);
    assert_eq!(row("本机关不掌握"), vec![1, 0, 0, 0, 0, 0, 1]);
    assert_eq!(row("（七）总计"), vec![2, 1, 0, 0, 1, 0, 4]);
    assert_eq!(row("结转下年度"), vec![1, 0, 1, 0, 0, 0, 2]);
    assert_eq!(report["remedies"][0]["values"], json!([1, 0, 0, 0, 1]));
    assert_eq!(report["remedies"][1]["values"], json!([0, 0, 0, 0, 0]));
    assert_eq!(report["due_on"], "2027-01-31");
    let xlsx = auditor
        .request(reqwest::Method::GET, "/api/v1/applications/annual-report?year=2026&format=xlsx")
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.status(), StatusCode::OK);
    assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));
    assert_eq!(auditor.get("/api/v1/applications/annual-report?year=1999").await.0, StatusCode::UNPROCESSABLE_ENTITY);

    // Table 二 (主动公开): the template's rows, every figure “—” (the gateway
    // holds no 规章/规范性文件 distinction, no repeal, no permits, penalties,
    // enforcement or fees), and what it counts itself: two 主动公开 notices
    // sealed this year, a third only drafted; the four sealed replies are
    // 依申请公开, not counted.
    t.sealed_item("关于2026年冬季供暖的通知", &["website"]).await;
    t.sealed_item("关于江城市道路维修工程的公告", &["website"]).await;
    t.draft("关于尚未审核的通知", &["website"]).await;
    let year = gateway::workflow::today().year();
    let report = ok(auditor.get(&format!("/api/v1/applications/annual-report?year={year}")).await);
    assert_eq!(
        report["proactive"][0],
        json!({"article": "第二十条第（一）项", "label": "规章",
            "columns": ["本年制发件数", "本年废止件数", "现行有效件数"], "values": [null, null, null]})
    );
    let labels: Vec<&str> =
        report["proactive"].as_array().unwrap().iter().map(|r| r["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["规章", "行政规范性文件", "行政许可", "行政处罚", "行政强制", "行政事业性收费"]);
    assert!(
        report["proactive"].as_array().unwrap().iter().all(|r| r["values"]
            .as_array()
            .unwrap()
            .iter()
            .all(Value::is_null))
    );
    assert!(report["proactive_note"].as_str().unwrap().contains("不区分规章与行政规范性文件"), "{report}");
    assert_eq!(
        report["proactive_sealed"],
        json!([{"label": "通知公告", "values": [2]}, {"label": "政策文件", "values": [0]},
            {"label": "政策解读", "values": [0]}, {"label": "新媒体稿件", "values": [0]}])
    );
    let last_year = ok(auditor.get(&format!("/api/v1/applications/annual-report?year={}", year - 1)).await);
    assert_eq!(last_year["proactive_sealed"][0]["values"], json!([0]), "sealed this year, not last");
    let xlsx = auditor
        .request(reqwest::Method::GET, &format!("/api/v1/applications/annual-report?year={year}&format=xlsx"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let strings = xlsx_part(&xlsx, "xl/sharedStrings.xml");
    for text in [
        "二、主动公开政府信息情况",
        "第二十条第（一）项",
        "行政规范性文件",
        "本年废止件数",
        "行政事业性收费",
        "—",
        "通知公告",
    ] {
        assert!(strings.contains(text), "{text} not in the workbook: {strings}");
    }
    let workbook = xlsx_part(&xlsx, "xl/workbook.xml");
    let first = workbook.find("二、主动公开政府信息情况").unwrap();
    assert!(first < workbook.find("三、收到和处理政府信息公开申请情况").unwrap(), "table 二 comes first: {workbook}");
    // The dashboard: the tables, and the on-time rate from the register:
    // A, B, F on time, E one day late: 3 of 4 answered = 75.0%.
    let html =
        office.http.get(format!("{}/dashboard?year=2026", office.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("三、收到和处理政府信息公开申请情况") && html.contains("75.0%"), "{html}");
    assert!(
        html.contains("二、主动公开政府信息情况") && html.contains("本年制发件数：—；本年废止件数：—；现行有效件数：—"),
        "{html}"
    );
    let html =
        office.http.get(format!("{}/dashboard?year={year}", office.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("<th scope=\"row\">通知公告</th><td>2</td>"), "{html}");
    for secret in ["张三丰", PHONE] {
        assert!(!html.contains(secret));
    }

    // The printed letter: addressed to the applicant (the office prints it),
    // the sealed text, the serial and where to verify it.
    let letter = office.http.get(format!("{}/applications/{a_id}/letter", office.base)).send().await.unwrap();
    assert_eq!(letter.status(), StatusCode::OK);
    let letter = letter.text().await.unwrap();
    assert!(
        letter.contains("张三丰：")
            && letter.contains(&a_serial)
            && letter.contains(&format!("/api/v1/seals/{a_serial}/status")),
        "{letter}"
    );
    assert!(letter.contains("2026年11月18日"), "the date of service");
    // Only the office prints it.
    let refused = approver.http.get(format!("{}/applications/{a_id}/letter", approver.base)).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // Nor on the list page, even the office's (lists mask).
    let html = office.http.get(format!("{}/applications", office.base)).send().await.unwrap().text().await.unwrap();
    for secret in ["张三丰", PHONE, ID_NUMBER, EMAIL] {
        assert!(!html.contains(secret), "{secret} on the list page");
    }
    assert!(html.contains("已逾期") && html.contains("暂定") && html.contains("按期答复"), "{html}");
}

async fn issue_19_duties_are_checked_and_refusals_change_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (office, approver, auditor, drafter) = people(&app).await;
    let a = register(&office, "legal_service", "江城律师事务所", "email", "2026-10-12").await;
    let id = a["id"].as_str().unwrap().to_owned();
    act(&office, &id, json!({"action": "accept"})).await;
    let rows = async || {
        sqlx::query("SELECT state || '|' || COALESCE(extended_on, '-') || '|' || COALESCE(answered_on, '-') AS r FROM applications")
            .fetch_all(app.db.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<String, _>("r").unwrap())
            .collect::<Vec<_>>()
    };
    let before = rows().await;
    let path = format!("/api/v1/applications/{id}/actions");
    let refusals: Vec<(&Client, Value, StatusCode)> = vec![
        // The drafter and the approver do not handle applications.
        (&drafter, json!({"action": "accept"}), StatusCode::FORBIDDEN),
        (&approver, json!({"action": "answer", "on": "2026-10-20"}), StatusCode::FORBIDDEN),
        // The office does not approve its own extension.
        (&office, json!({"action": "extend", "on": "2026-10-20", "reason": "x"}), StatusCode::FORBIDDEN),
        (&auditor, json!({"action": "close"}), StatusCode::FORBIDDEN),
        // No reason, a date in the future, a date before receipt, the wrong state.
        (&approver, json!({"action": "extend", "on": "2026-10-20", "reason": " "}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            &office,
            json!({"action": "consult", "third_party": "某公司", "on": "2999-01-04"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &office,
            json!({"action": "consult", "third_party": "某公司", "on": "2026-10-01"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (&office, json!({"action": "close"}), StatusCode::CONFLICT),
        // 书面答复制: no answer without a drafted, sealed reply.
        (&office, json!({"action": "answer", "on": "2026-10-20"}), StatusCode::CONFLICT),
        (&office, json!({"action": "answer"}), StatusCode::UNPROCESSABLE_ENTITY),
        (&office, json!({"action": "answer", "on": "2026-13-01"}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            &office,
            json!({"action": "answer", "result": "granted", "on": "2026-10-20"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (client, body, expected) in refusals {
        let (status, answer) = client.post(&path, &body).await;
        assert_eq!(status, expected, "{body}: {answer}");
        assert_eq!(answer["status"], expected.as_u16(), "a problem document: {answer}");
        assert_eq!(rows().await, before, "{body} changed something");
    }
    // The office does not draft replies (nobody seals what they drafted), the
    // drafter does, once.
    let reply = json!({"result": "granted", "issuer": "江城市民政局"});
    assert_eq!(office.post(&format!("/api/v1/applications/{id}/reply"), &reply).await.0, StatusCode::FORBIDDEN);
    assert_eq!(auditor.post(&format!("/api/v1/applications/{id}/reply"), &reply).await.0, StatusCode::FORBIDDEN);
    assert_eq!(rows().await, before);
    let (status, _) = approver
        .post(
            "/api/v1/applications",
            &json!({"applicant_kind": "person", "applicant_name": "王五", "channel": "online",
                    "received_on": "2026-10-12", "request": "x", "contact": {"phone": PHONE}}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // No way to reach the applicant, a receipt in the future: refused, nothing stored.
    for (body, field) in [
        (
            json!({"applicant_kind": "person", "applicant_name": "王五", "channel": "online", "received_on": "2026-10-12", "request": "x"}),
            "contact",
        ),
        (
            json!({"applicant_kind": "person", "applicant_name": "王五", "channel": "online", "received_on": "2999-10-12", "request": "x", "contact": {"phone": PHONE}}),
            "received_on",
        ),
        (
            json!({"applicant_kind": "robot", "applicant_name": "王五", "channel": "online", "received_on": "2026-10-12", "request": "x"}),
            "",
        ),
    ] {
        let (status, answer) = office.post("/api/v1/applications", &body).await;
        assert!(status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST, "{status} {answer}");
        assert!(field.is_empty() || answer.to_string().contains(field), "{answer}");
    }
    assert_eq!(rows().await, before);
    // The one extension, then a second refused.
    act(&approver, &id, json!({"action": "extend", "on": "2026-10-20", "reason": "需会商"})).await;
    let (status, body) = approver.post(&path, &json!({"action": "extend", "on": "2026-10-21", "reason": "再延"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    ok(drafter.post(&format!("/api/v1/applications/{id}/reply"), &reply).await);
    let (status, body) = drafter.post(&format!("/api/v1/applications/{id}/reply"), &reply).await;
    assert_eq!(status, StatusCode::CONFLICT, "one reply: {body}");
    // The drafter reads the register, masked.
    let seen = ok(drafter.get("/api/v1/applications").await);
    assert!(seen[0]["contact"].is_null());
    let (status, _) = office.get("/api/v1/applications/00000000-0000-0000-0000-000000000000").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = office.get("/api/v1/applications/not-an-id").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn issue_19_the_office_registers_and_advances_from_the_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (office, approver, _, _) = people(&app).await;
    let page = async |c: &Client, path: &str| {
        let r = c.http.get(format!("{}{path}", c.base)).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    };
    let (status, form) = page(&office, "/applications/new").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = form.split("name=\"csrf\" value=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_owned();
    let fields = [
        ("csrf", csrf.as_str()),
        ("applicant_kind", "nonprofit"),
        ("applicant_name", "江城市绿色家园环保协会"),
        ("contact_person", "赵六"),
        ("phone", PHONE),
        ("email", ""),
        ("address", ""),
        ("id_number", ""),
        ("channel", "in_person"),
        ("received_on", "2026-09-15"),
        ("request", "2026年江城河水质监测报告"),
    ];
    let r = office.http.post(format!("{}/applications", office.base)).form(&fields).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let path = r.url().path().to_owned();
    let html = r.text().await.unwrap();
    assert!(path.starts_with("/applications/"), "{path}");
    assert!(html.contains("申请已登记") && html.contains("2026-10-19") && html.contains(PHONE), "the office reads it");
    // Accepted from the page, then the list shows it overdue (due 10-19, see above).
    let r = office
        .http
        .post(format!("{}{path}/action", office.base))
        .form(&[("csrf", csrf.as_str()), ("action", "accept")])
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("已受理"));
    let (_, list) = page(&office, "/applications?overdue=1").await;
    assert!(list.contains("江城市绿色家园环保协会") && list.contains("已逾期"), "{list}");
    // A refused action from the page: the form again with the reason, nothing changed.
    let r = office
        .http
        .post(format!("{}{path}/action", office.base))
        .form(&[("csrf", csrf.as_str()), ("action", "consult"), ("third_party", "某公司"), ("on", "2999-01-01")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("晚于今天"));
    // The approver's page: masked contact, the extension form only.
    let (_, seen) = page(&approver, &path).await;
    assert!(!seen.contains(PHONE) && seen.contains("138****5678") && seen.contains("批准延长答复期限"), "{seen}");
    assert!(!seen.contains("value=\"accept\""));
    // A form from elsewhere (no CSRF token) is refused.
    let r =
        office.http.post(format!("{}{path}/action", office.base)).form(&[("action", "close")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

async fn issue_19_the_office_registers_an_application_and_prints_the_sealed_reply_in_the_browser(backend: Backend) {
    let sink = tests::mail::SmtpSink::start().await;
    let app = TestApp::spawn_with(backend, mail_to(&sink)).await;
    let t = Team::of(&app).await;
    let b = tests::browser::Browser::start(&app.base, 1280, 900).await;
    // The office (user "gong" of the team) registers an application on the page.
    b.login("gong", "Pw-gong-2026").await;
    b.goto("/applications/new").await;
    b.assert_accessible("登记依申请公开申请").await;
    b.fill("#a-name", "赵小燕").await;
    b.fill("#a-phone", PHONE).await;
    b.fill("#a-email", EMAIL).await;
    b.fill("#a-address", "江城市幸福路 8 号 3 单元").await;
    b.fill("#a-request", "2026年江城市老旧小区改造项目清单").await;
    b.client
        .execute("document.getElementById('a-received').value = '2026-11-16';", vec![])
        .await
        .expect("set the date");
    b.click_to("form.stack button[type=submit]").await;
    assert!(b.text("p.notice").await.contains("申请已登记"));
    let path = b.path().await;
    let id = path.trim_start_matches("/applications/").split('?').next().unwrap().to_owned();
    // 20 working days after Monday 11-16: 2026-12-14 (see issue_19_the_register_keeps_every_statutory_deadline, F).
    assert!(b.text("dl.facts").await.contains("2026-12-14"));
    b.click("details.action summary").await;
    b.click_to("details.action form button[type=submit]").await;
    assert!(b.text("dl.facts").await.contains("已受理"));
    b.goto("/applications").await;
    assert!(b.text("table.applications").await.contains("赵某某"), "lists mask the name");
    b.assert_accessible("依申请公开申请登记").await;
    b.screenshot("applications-register").await;
    // The drafter drafts the reply, the team reviews and seals it, the office
    // serves it by e-mail from the page: the date of service is today's.
    let (_, serial) = sealed_reply(&t, &id, "granted").await;
    b.goto(&format!("/applications/{id}")).await;
    b.click_to("#serve-email button[type=submit]").await;
    assert!(b.text("p.notice").await.contains("电子邮件发出"));
    let today = gateway::workflow::today();
    assert!(b.text("dl.facts").await.contains(&format!("{today} 送达")));
    assert_eq!(sink.received().len(), 1);
    assert!(b.all("#serve-email").await.is_empty(), "served once");
    b.click_to("a[href$='/letter']").await;
    let letter = b.text("main").await;
    let served = gateway::applications::chinese_date(today);
    assert!(letter.contains("赵小燕：") && letter.contains(&serial) && letter.contains(&served), "{letter}");
    assert!(b.text("a.letter-pdf").await.contains("PDF"));
    assert_eq!(b.text(".seal-serial").await, serial);
    b.assert_accessible("答复书").await;
    b.screenshot("applications-letter").await;
}

/// Reminders: two gateway processes on one database sweep every second.
/// The office (every publisher, nobody else) is told once about an
/// application past half its 20 working days, once about one past four
/// fifths and once about an overdue one; nothing about one waiting for its
/// 补正 or withdrawn; each by register number with the working days left,
/// never the applicant.
async fn issue_19_the_office_is_reminded_of_each_application_once_across_two_processes(backend: Backend) {
    let mut d = tests::process::Deployment::new(backend, Default::default()).await;
    d.configure(|s| s.workflow.sweep_seconds = 1);
    let a = d.start().await;
    let office = d.user(&a.base, "gong", &[Role::Publisher], Some("政务公开办公室")).await;
    let drafter = d.user(&a.base, "zhou", &[Role::Drafter], Some("江城市民政局")).await;
    let cal = gateway::workflow::policy::load_calendars(&tests::repo_root().join("policies/calendar")).unwrap();
    let today = gateway::workflow::today();
    // The latest day `n` working days before today (the day received never counts).
    let before = |n: u32| {
        (1..400).map(|k| today.add_days(-k)).find(|d| cal.reckon_working_days_between(*d, today).value == n).unwrap()
    };
    let accepted = async |kind: &str, name: &str, received: String| {
        let v = register(&office, kind, name, "online", &received).await;
        let id = v["id"].as_str().unwrap().to_owned();
        act(&office, &id, json!({"action": "accept"})).await;
        (id, v["number"].as_str().unwrap().to_owned())
    };
    // 12 of 20 working days used (60 %): the 50 % reminder, 8 left.
    let (_, half) = accepted("person", "张三丰", before(12).to_string()).await;
    // 17 used (85 %): the 80 % reminder only, 3 left.
    let (_, most) = accepted("business", "江城建设有限公司", before(17).to_string()).await;
    // Received 2026-09-01: due 2026-09-29 (hand-computed above), overdue.
    let (_, late) = accepted("person", "李四光", "2026-09-01".into()).await;
    // Just as late, but waiting for its 补正, or withdrawn: no clock, no reminder.
    let waiting = register(&office, "person", "王五", "post", "2026-09-01").await["id"].as_str().unwrap().to_owned();
    let (status, body) = office
        .post(
            &format!("/api/v1/applications/{waiting}/actions"),
            &json!({"action": "request_correction", "on": "2026-09-02", "note": "请写明文件名称"}),
        )
        .await;
    let correction = (status, body);
    let (withdrawn, _) = accepted("person", "赵六", "2026-09-01".into()).await;
    act(&office, &withdrawn, json!({"action": "withdraw", "on": "2026-09-03"})).await;

    let application_notes = async |c: &Client| -> Vec<Value> {
        let notes = ok(c.get("/api/v1/notifications").await);
        notes
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"].as_str().unwrap().starts_with("application_"))
            .cloned()
            .collect()
    };
    tests::until(30, "three application reminders", async || application_notes(&office).await.len() >= 3).await;
    // A second process joins; both sweep several times more.
    let b = d.start().await;
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let notes = application_notes(&office).await;
    let message = |number: &str| -> Vec<(String, String)> {
        notes
            .iter()
            .filter(|n| n["message"].as_str().unwrap().contains(number))
            .map(|n| (n["kind"].as_str().unwrap().to_owned(), n["message"].as_str().unwrap().to_owned()))
            .collect()
    };
    let h = message(&half);
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!(h[0].0, "application_reminder");
    assert!(
        h[0].1.starts_with(&format!("依申请公开申请 {half} 已用去 50% 的答复期限，还剩 8 个工作日，截止 ")),
        "{h:?}"
    );
    let m = message(&most);
    assert_eq!(m.len(), 1, "once, at the highest threshold reached: {m:?}");
    assert!(
        m[0].1.starts_with(&format!("依申请公开申请 {most} 已用去 80% 的答复期限，还剩 3 个工作日，截止 ")),
        "{m:?}"
    );
    let l = message(&late);
    assert_eq!(l.len(), 1, "{l:?}");
    assert_eq!(l[0].0, "application_overdue");
    assert!(l[0].1.contains("已超过答复期限（2026-09-29"), "{l:?}");
    assert_eq!(notes.len(), 3, "nothing for the 补正 or the withdrawn one: {notes:?} ({correction:?})");
    assert!(correction.0.is_success(), "{correction:?}");
    for n in &notes {
        let text = n.to_string();
        for personal in ["张三丰", "李四光", "江城建设有限公司", PHONE, ID_NUMBER, EMAIL, "幸福路", "道路维修"]
        {
            assert!(!text.contains(personal), "{personal} in {text}");
        }
    }
    assert!(application_notes(&drafter).await.is_empty(), "only the office is told");
    // One row each in the database, whichever process wrote it.
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE kind LIKE 'application_%'")
        .fetch_one(d.db.pool())
        .await
        .unwrap();
    assert_eq!(rows, 3);
    drop((a, b));
    d.stop().await;
}

/// The gateway's log (its standard error at `RUST_LOG=debug`) while the
/// office registers an application from a person, refuses a bad one,
/// consults, drafts and seals the reply, has the mail server refuse it once
/// and then serves it by e-mail, lists and reads it and prints the letter:
/// the applicant's name, phone, ID number, e-mail and address never appear
/// in it.
async fn issue_19_no_personal_data_in_the_log(backend: Backend) {
    let sink = tests::mail::SmtpSink::start().await;
    let mut d = tests::process::Deployment::new(backend, Default::default()).await;
    d.configure(mail_to(&sink));
    let gw = d.start_with_env(&[("RUST_LOG", "debug")]).await;
    let t = Team::create(async |name, roles, unit| d.user(&gw.base, name, roles, unit).await).await;
    let office = &t.publisher;
    // A refused registration that carries the personal data (a bad kind).
    let (status, _) = office
        .post(
            "/api/v1/applications",
            &json!({
                "applicant_kind": "alien", "applicant_name": "张三丰", "channel": "online", "received_on": "2026-11-16",
                "contact": {"phone": PHONE, "id_number": ID_NUMBER, "email": EMAIL, "address": "江城市幸福路 8 号 3 单元"},
                "request": "2026年江城市道路维修资金的使用情况",
            }),
        )
        .await;
    assert!(status.is_client_error(), "{status}");
    let v = register(office, "person", "张三丰", "online", "2026-11-16").await;
    let id = v["id"].as_str().unwrap().to_owned();
    act(office, &id, json!({"action": "accept"})).await;
    act(office, &id, json!({"action": "start"})).await;
    act(office, &id, json!({"action": "consult", "third_party": "江城燃气有限公司", "on": "2026-11-17"})).await;
    act(office, &id, json!({"action": "consultation_answered", "seq": 1, "on": "2026-11-18"})).await;
    let (item, serial) = sealed_reply(&t, &id, "granted").await;
    sink.refuse_next();
    let (status, _) = office.post(&format!("/api/v1/applications/{id}/serve-email"), &json!({})).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let v = ok(office.post(&format!("/api/v1/applications/{id}/serve-email"), &json!({})).await);
    assert_eq!(v["state"], "answered", "{v}");
    assert_eq!(sink.received()[0].rcpt_to, [EMAIL]);
    assert_eq!(ok(office.get(&format!("/api/v1/applications/{id}")).await)["applicant"], "张三丰");
    ok(office.get("/api/v1/applications").await);
    let letter = office.request(reqwest::Method::GET, &format!("/applications/{id}/letter")).send().await.unwrap();
    assert!(letter.status().is_success(), "{}", letter.status());
    assert!(letter.text().await.unwrap().contains(&serial));
    let pdf = office.request(reqwest::Method::GET, &format!("/applications/{id}/letter.pdf")).send().await.unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    let log = gw.log_text();
    assert!(log.contains("/api/v1/applications") && log.contains(&item), "the log is captured: {log}");
    for personal in ["张三丰", PHONE, ID_NUMBER, EMAIL, "幸福路"] {
        assert!(!log.contains(personal), "{personal} in the log");
    }
    drop(gw);
    d.stop().await;
}

/// The text `pdftotext` (Poppler) reads from a PDF: what a person's reader
/// shows and copies.
fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("letter.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext").arg(&path).arg("-").output().expect("pdftotext runs");
    assert!(out.status.success(), "pdftotext: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().chars().filter(|c| !c.is_whitespace()).collect()
}

/// The office serves a sealed reply by e-mail through a real SMTP
/// exchange (a mail server on loopback): nothing goes out before the reply
/// is sealed; a mail the server refuses records nothing; the one it takes
/// answers the application with today as the date of service, carrying the
/// letter as text and as a PDF whose words (read by Poppler) are the
/// letter's; the audit says it was by e-mail and names no address; a second
/// send is refused; an applicant who gave no address is served by post.
async fn issue_19_a_sealed_reply_is_served_by_email_and_its_date_of_service_recorded(backend: Backend) {
    let sink = tests::mail::SmtpSink::start().await;
    let app = TestApp::spawn_with(backend, mail_to(&sink)).await;
    let t = Team::of(&app).await;
    let office = &t.publisher;
    let today = gateway::workflow::today();
    let serve = |id: &str| format!("/api/v1/applications/{id}/serve-email");

    let a = register(office, "person", "张三丰", "email", &today.to_string()).await;
    let id = a["id"].as_str().unwrap().to_owned();
    act(office, &id, json!({"action": "accept"})).await;
    act(office, &id, json!({"action": "start"})).await;
    let drafted = ok(t
        .drafter
        .post(&format!("/api/v1/applications/{id}/reply"), &json!({"result": "granted", "issuer": "江城市民政局"}))
        .await);
    let item = drafted["item_id"].as_str().unwrap().to_owned();
    // Not sealed yet: refused, nothing sent.
    let (status, body) = office.post(&serve(&id), &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("专用章"), "{body}");
    assert!(sink.received().is_empty());
    fill_in(&t.drafter, &item).await;
    let serial = t.approve_and_seal(&item, 2).await;
    // Only the office serves replies.
    let (status, _) = t.approver.post(&serve(&id), &json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The mail server refuses: 502 with its answer, nothing recorded.
    sink.refuse_next();
    let (status, body) = office.post(&serve(&id), &json!({})).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("邮件服务器拒收"), "{body}");
    let v = ok(office.get(&format!("/api/v1/applications/{id}")).await);
    assert_eq!((v["state"].as_str(), v["answered_on"].is_null()), (Some("in_progress"), true), "{v}");
    assert!(sink.received().is_empty());

    // Served: the server took it, today is the date of service.
    let v = ok(office.post(&serve(&id), &json!({})).await);
    assert_eq!((v["state"].as_str(), v["answered_on"].as_str()), (Some("answered"), Some(today.to_string().as_str())));
    assert_eq!(v["time_left"], "按期答复");
    let mails = sink.received();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!((mail.mail_from.as_str(), mail.rcpt_to.clone()), ("gongkai@example.gov.cn", vec![EMAIL.to_owned()]));
    let parts = mail.parts();
    let text = parts.iter().find(|p| p.header("content-type").is_some_and(|c| c.starts_with("text/plain"))).unwrap();
    let text = String::from_utf8(text.body.clone()).unwrap();
    let chinese_today = format!("{}年{}月{}日", today.year(), today.month(), today.day());
    assert!(
        text.contains("张三丰：")
            && text.contains(&serial)
            && text.contains(&format!("/api/v1/seals/{serial}/status"))
            && text.contains(&format!("送达日期：{chinese_today}")),
        "{text}"
    );
    let pdf =
        parts.iter().find(|p| p.header("content-type").is_some_and(|c| c.starts_with("application/pdf"))).unwrap();
    assert!(pdf.header("content-disposition").unwrap().starts_with("attachment"));
    let words = pdf_text(&pdf.body);
    let number = v["number"].as_str().unwrap();
    for needle in ["张三丰：", "经检索", number, serial.as_str(), chinese_today.as_str()] {
        assert!(words.contains(needle), "{needle} not in the PDF: {words}");
    }
    // The same letter is downloaded as a PDF by the office only.
    let response =
        office.request(reqwest::Method::GET, &format!("/api/v1/applications/{id}/letter.pdf")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert!(pdf_text(&response.bytes().await.unwrap()).contains(&serial));
    let response = t
        .approver
        .request(reqwest::Method::GET, &format!("/api/v1/applications/{id}/letter.pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // The audit: by e-mail, with the message's id; never the address.
    let detail: String = sqlx::query_scalar(
        "SELECT detail FROM audit_events WHERE action = 'application.answer' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let detail: Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(detail["by"], "email", "{detail}");
    assert!(detail["message_id"].as_str().is_some_and(|m| mail.data.contains(m)), "{detail}");
    assert!(!detail.to_string().contains(EMAIL));

    // Served once: a second send is refused and sends nothing.
    let (status, body) = office.post(&serve(&id), &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(sink.received().len(), 1);

    // No address given: served by post, said so.
    let (status, body) = office
        .post(
            "/api/v1/applications",
            &json!({
                "applicant_kind": "person", "applicant_name": "王小明", "channel": "post", "received_on": today.to_string(),
                "contact": {"address": "江城市幸福路 9 号"}, "request": "2026年江城市道路维修资金的使用情况",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let b = body["id"].as_str().unwrap().to_owned();
    act(office, &b, json!({"action": "accept"})).await;
    sealed_reply(&t, &b, "unavailable_not_held").await;
    let (status, body) = office.post(&serve(&b), &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("未留电子邮箱"), "{body}");
    assert_eq!(sink.received().len(), 1);
}

/// The uncompressed text of `name` in the zip archive `zip` (an XLSX),
/// found through the central directory.
fn xlsx_part(zip: &[u8], name: &str) -> String {
    use std::io::Read as _;
    let u16_at = |i: usize| usize::from(u16::from_le_bytes([zip[i], zip[i + 1]]));
    let u32_at = |i: usize| u32::from_le_bytes([zip[i], zip[i + 1], zip[i + 2], zip[i + 3]]) as usize;
    let mut i = zip.windows(4).position(|w| w == b"PK\x01\x02").expect("a central directory");
    while zip[i..].starts_with(b"PK\x01\x02") {
        let (method, size, name_len) = (u16_at(i + 10), u32_at(i + 20), u16_at(i + 28));
        let (extra, comment, local) = (u16_at(i + 30), u16_at(i + 32), u32_at(i + 42));
        if &zip[i + 46..i + 46 + name_len] == name.as_bytes() {
            let start = local + 30 + u16_at(local + 26) + u16_at(local + 28);
            let data = &zip[start..start + size];
            let mut text = String::new();
            match method {
                0 => text = String::from_utf8(data.to_vec()).unwrap(),
                8 => {
                    flate2::read::DeflateDecoder::new(data).read_to_string(&mut text).unwrap();
                }
                m => panic!("compression method {m}"),
            }
            return text;
        }
        i += 46 + name_len + extra + comment;
    }
    panic!("no {name} in the workbook")
}
