//! The review workflow over HTTP: 初审 → (复审 ∥ 保密审查) → 终审 with the
//! sign-off; votes bound to the content digest; the sticky 保密 veto;
//! every separation-of-duty violation refused; a requirement with no
//! eligible reviewer blocking; deadlines; the audit chain over all of it.

use gateway::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::{Backend, Client, TestApp, Totp, on_both_backends, sample_item};

on_both_backends!(
    three_reviews_and_the_sign_off,
    a_new_version_voids_approvals_and_a_veto_stays,
    separation_of_duties_is_enforced,
    a_restored_text_does_not_revive_an_editors_approval,
    no_eligible_reviewer_blocks_until_someone_is_appointed,
    waivers_and_overrides_need_the_named_role,
    register_and_printable_form,
    the_printable_form_shows_what_people_wrote_as_text,
    overdue_stages_are_reminded_and_sent_to_the_hook
);

const UNIT: &str = "江城市民政局";

/// A team: a drafter, two reviewers of the unit, a secrecy reviewer and a
/// responsible leader (签发人).
struct Team {
    drafter: Client,
    first: Client,
    second: Client,
    secrecy: Client,
    approver: Client,
    /// The signatory's own second factor.
    approver_totp: Totp,
}

async fn team(app: &TestApp) -> Team {
    let approver = app.user("feng", &[Role::Approver], Some(UNIT)).await;
    let approver_totp = Totp::enrol(&approver).await;
    Team {
        drafter: app.user("zhou", &[Role::Drafter], Some(UNIT)).await,
        first: app.user("wu", &[Role::Reviewer], Some(UNIT)).await,
        second: app.user("zheng", &[Role::Reviewer], Some(UNIT)).await,
        secrecy: app.user("wang", &[Role::SecrecyReviewer], Some("保密办")).await,
        approver,
        approver_totp,
    }
}

async fn submitted(drafter: &Client, item: &Value) -> (String, String) {
    let created = drafter.create_item(item).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, body) = drafter.post(&format!("/api/v1/items/{id}/submit"), &json!({"version": 1})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let digest = body["current"]["content_digest"].as_str().unwrap().to_owned();
    (id, digest)
}

async fn vote(c: &Client, id: &str, stage: &str, value: &str, digest: &str) -> (StatusCode, Value) {
    c.post(
        &format!("/api/v1/items/{id}/votes"),
        &json!({"stage": stage, "value": value, "content_digest": digest, "comment": "意见见批注"}),
    )
    .await
}

fn requirement<'a>(workflow: &'a Value, stage: &str) -> &'a Value {
    workflow["requirements"].as_array().unwrap().iter().find(|r| r["stage"] == stage).unwrap()
}

fn ok(result: (StatusCode, Value)) -> Value {
    assert_eq!(result.0, StatusCode::OK, "{}", result.1);
    result.1
}

fn refused(result: (StatusCode, Value), status: StatusCode, says: &str) {
    assert_eq!(result.0, status, "{}", result.1);
    let detail = result.1["detail"].as_str().unwrap_or_default().to_owned() + &result.1["errors"].to_string();
    assert!(detail.contains(says), "expected {says:?} in {}", result.1);
}

async fn three_reviews_and_the_sign_off(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = team(&app).await;
    let mut item = sample_item();
    // Formed on the Monday before 中秋 and 国庆 2026: 20 working days run to
    // 10-26 across both holidays and the make-up Saturday 10-10.
    item["formed_at"] = json!("2026-09-21");
    let (id, digest) = submitted(&t.drafter, &item).await;

    let (_, wf) = t.first.get(&format!("/api/v1/items/{id}/workflow")).await;
    assert_eq!(wf["state"], "in_review", "{wf}");
    assert_eq!(wf["disclosure_deadline"]["due_on"], "2026-10-26", "{wf}");
    assert_eq!(requirement(&wf, "first")["status"], "PENDING");
    assert_eq!(requirement(&wf, "first")["open"], true);
    assert_eq!(requirement(&wf, "second")["open"], false);
    assert_eq!(requirement(&wf, "principal")["status"], "NOT_APPLICABLE");
    assert!(requirement(&wf, "first")["deadline"]["due_on"].is_string(), "{wf}");

    // "Awaiting me": 初审 for the reviewers, nothing yet for 保密.
    let (_, queue) = t.first.get("/api/v1/queue").await;
    assert!(queue["entries"].as_array().unwrap().iter().any(|e| e["item_id"] == id.as_str() && e["stage"] == "first"));
    let (_, queue) = t.secrecy.get("/api/v1/queue").await;
    assert!(!queue["entries"].as_array().unwrap().iter().any(|e| e["item_id"] == id.as_str()), "{queue}");

    // Order: 复审 cannot start before 初审.
    refused(vote(&t.second, &id, "second", "approve", &digest).await, StatusCode::CONFLICT, "尚未开始");
    // Claim, then approve 初审.
    assert_eq!(
        t.first
            .request(reqwest::Method::PUT, &format!("/api/v1/items/{id}/claims/first"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    let after_first = ok(vote(&t.first, &id, "first", "approve", &digest).await);
    assert_eq!(requirement(&after_first["workflow"], "first")["status"], "SATISFIED");
    // 复审 and 保密审查 in parallel, in either order.
    ok(vote(&t.secrecy, &id, "secrecy", "approve", &digest).await);
    let (_, queue) = t.approver.get("/api/v1/queue").await;
    assert!(!queue["entries"].as_array().unwrap().iter().any(|e| e["item_id"] == id.as_str()), "终审 waits: {queue}");
    ok(vote(&t.second, &id, "second", "approve", &digest).await);
    let (_, queue) = t.approver.get("/api/v1/queue").await;
    let entry = queue["entries"].as_array().unwrap().iter().find(|e| e["item_id"] == id.as_str()).expect("终审 queued");
    assert_eq!(entry["signoff"], true);

    // The sign-off needs the current statement, the password again and a
    // code of the signatory's own TOTP.
    let (_, wf) = t.approver.get(&format!("/api/v1/items/{id}/workflow")).await;
    let statement = wf["statement"].clone();
    assert!(statement["text"].as_str().unwrap().contains("谁发布谁负责"));
    let code = t.approver_totp.code().await;
    let sign = |password: Option<&str>, version: &Value| {
        json!({"stage": "final", "value": "approve", "content_digest": digest,
               "statement_id": statement["id"], "statement_version": version, "password": password,
               "totp_code": code})
    };
    refused(
        t.approver.post(&format!("/api/v1/items/{id}/votes"), &sign(None, &statement["version"])).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "密码",
    );
    refused(
        t.approver.post(&format!("/api/v1/items/{id}/votes"), &sign(Some("Pw-feng-2026"), &json!("0"))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "责任声明",
    );
    refused(
        t.approver
            .post(&format!("/api/v1/items/{id}/votes"), &sign(Some("wrong password"), &statement["version"]))
            .await,
        StatusCode::FORBIDDEN,
        "密码不正确",
    );
    let signed = ok(t
        .approver
        .post(&format!("/api/v1/items/{id}/votes"), &sign(Some("Pw-feng-2026"), &statement["version"]))
        .await);
    assert_eq!(signed["item"]["state"], "approved", "{signed}");
    assert!(signed["workflow"]["approvals_digest"].as_str().unwrap().starts_with("sha256:"));

    // The seal-phase check ran with the approvals and the sign-off: the
    // signoff plugin is satisfied, and the run is stored as phase "seal".
    let (_, reviews) = t.approver.get(&format!("/api/v1/items/{id}/reviews")).await;
    let seal = reviews.as_array().unwrap().iter().find(|r| r["phase"] == "seal").expect("a seal-phase review");
    assert_ne!(seal["outcome"]["verdict"], "blocked", "{seal}");
    assert!(!seal["outcome"]["findings"].as_array().unwrap().iter().any(|f| f["plugin"] == "signoff"), "{seal}");

    // The drafter was told; the audit chain holds every step and verifies.
    let (_, notes) = t.drafter.get("/api/v1/notifications").await;
    assert!(notes.as_array().unwrap().iter().any(|n| n["message"].as_str().unwrap().contains("已通过全部审核")));
    let auditor = app.user("shen", &[Role::Auditor], None).await;
    let (_, report) = auditor.get("/api/v1/audit/verify").await;
    assert_eq!(report["first_broken"], Value::Null, "{report}");
    // An auditor reads everything and changes nothing.
    refused(vote(&auditor, &id, "first", "approve", &digest).await, StatusCode::FORBIDDEN, "");
    // Altering a vote's audit event directly in the database is caught.
    let seq: i64 = sqlx::query_scalar("SELECT seq FROM audit_events WHERE action = 'review.vote' ORDER BY seq LIMIT 1")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE audit_events SET detail = $1 WHERE seq = $2")
        .bind(r#"{"stage":"first","value":"block"}"#)
        .bind(seq)
        .execute(app.db.pool())
        .await
        .unwrap();
    let (_, report) = auditor.get("/api/v1/audit/verify").await;
    assert_eq!(report["first_broken"], seq, "{report}");
    let (_, events) = auditor.get(&format!("/api/v1/audit/events?item={id}")).await;
    assert!(events.as_array().unwrap().iter().any(|e| e["action"] == "item.state" && e["detail"]["to"] == "approved"));

    // An approved item may still be corrected: a new version goes back to
    // draft, and its approvals count for nothing.
    let mut corrected = item.clone();
    corrected["base_version"] = json!(1);
    corrected["body"] = json!("各区、各部门：\n培训地点改为市民中心。");
    let (status, v2) = t.drafter.put(&format!("/api/v1/items/{id}"), &corrected).await;
    assert_eq!(status, StatusCode::OK, "{v2}");
    assert_eq!(v2["state"], "draft");
    app.stop().await;
}

async fn a_new_version_voids_approvals_and_a_veto_stays(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = team(&app).await;
    let (id, digest) = submitted(&t.drafter, &sample_item()).await;
    // The reviewer reads version 1 before approving it.
    assert_eq!(t.first.get(&format!("/api/v1/items/{id}")).await.0, StatusCode::OK);
    ok(vote(&t.first, &id, "first", "approve", &digest).await);

    // The 保密 reviewer blocks: the item is blocked.
    let blocked = ok(vote(&t.secrecy, &id, "secrecy", "block", &digest).await);
    assert_eq!(blocked["item"]["state"], "blocked");
    let veto = requirement(&blocked["workflow"], "secrecy")["blocking_votes"][0].as_str().unwrap().to_owned();
    // Nobody may override it, however senior.
    let leader = app.user("chen", &[Role::Leader, Role::Approver], Some(UNIT)).await;
    refused(
        leader
            .post(
                &format!("/api/v1/items/{id}/overrides"),
                &json!({"stage": "secrecy", "content_digest": digest, "reason": "领导决定"}),
            )
            .await,
        StatusCode::FORBIDDEN,
        "保密审查",
    );

    // The drafter edits: a new version, every approval void...
    let mut edited = sample_item();
    edited["base_version"] = json!(1);
    edited["body"] = json!("各区、各部门：\n培训时间调整为2025年3月25日。\n江城市人民政府办公室");
    let (status, v2) = t.drafter.put(&format!("/api/v1/items/{id}"), &edited).await;
    assert_eq!(status, StatusCode::OK, "{v2}");
    assert_eq!(v2["state"], "draft");
    let (_, resubmitted) = t.drafter.post(&format!("/api/v1/items/{id}/submit"), &json!({"version": 2})).await;
    let digest2 = resubmitted["current"]["content_digest"].as_str().unwrap().to_owned();
    assert_ne!(digest, digest2);
    // Opening the item again, the reviewer is told what they saw last, and
    // the queue offers the diff since then.
    let (_, seen) = t.first.get(&format!("/api/v1/items/{id}")).await;
    assert_eq!(seen["previously_seen_version"], 1, "{seen}");
    let (_, wf) = t.first.get(&format!("/api/v1/items/{id}/workflow")).await;
    assert_eq!(requirement(&wf, "first")["status"], "PENDING", "{wf}");
    assert_eq!(requirement(&wf, "first")["approved_by"], json!([]));
    // ...but the veto stays, and the item stays blocked.
    assert_eq!(wf["state"], "blocked", "{wf}");
    assert_eq!(requirement(&wf, "secrecy")["status"], "BLOCKED");
    // A vote on the digest the reviewer saw earlier counts for nothing.
    refused(vote(&t.first, &id, "first", "approve", &digest).await, StatusCode::CONFLICT, "第 2 版");
    // Only its author lifts the veto.
    let lift = json!({"reason": "已删除涉密内容"});
    refused(leader.post(&format!("/api/v1/items/{id}/votes/{veto}/lift"), &lift).await, StatusCode::FORBIDDEN, "本人");
    let lifted = ok(t.secrecy.post(&format!("/api/v1/items/{id}/votes/{veto}/lift"), &lift).await);
    assert_eq!(lifted["item"]["state"], "in_review", "{lifted}");
    // Request changes sends it back to the drafter.
    let back = ok(vote(&t.first, &id, "first", "changes", &digest2).await);
    assert_eq!(back["item"]["state"], "changes_requested");
    app.stop().await;
}

/// Issue 16, finding 2: a person holding the drafter and reviewer roles
/// approves 初审 of someone else's v1, edits it (v2), then restores v1's
/// text as v3 — the same digest. Their approval does not count again:
/// decisions bind to the version and lapse for whoever edited the item.
async fn a_restored_text_does_not_revive_an_editors_approval(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = team(&app).await;
    let both = app.user("li", &[Role::Drafter, Role::Reviewer], Some(UNIT)).await;
    let both_id = both.get("/api/v1/auth/me").await.1["id"].clone();
    let (id, d1) = submitted(&t.drafter, &sample_item()).await;
    ok(vote(&both, &id, "first", "approve", &d1).await);
    ok(vote(&t.second, &id, "second", "changes", &d1).await);

    let mut v2 = sample_item();
    v2["base_version"] = json!(1);
    v2["title"] = json!("关于开展2025年度政务公开业务培训的通知（修订）");
    assert_eq!(both.put(&format!("/api/v1/items/{id}"), &v2).await.0, StatusCode::OK);
    let mut v3 = sample_item();
    v3["base_version"] = json!(2);
    assert_eq!(both.put(&format!("/api/v1/items/{id}"), &v3).await.0, StatusCode::OK);
    let sub = ok(t.drafter.post(&format!("/api/v1/items/{id}/submit"), &json!({"version": 3})).await);
    assert_eq!(sub["current"]["content_digest"], d1.as_str(), "v3 restores v1's text");

    let wf = ok(t.first.get(&format!("/api/v1/items/{id}/workflow")).await);
    let first = requirement(&wf, "first");
    assert_eq!(first["status"], "PENDING", "{wf:#}");
    assert!(!first["approved_by"].as_array().unwrap().contains(&both_id), "{first}");
    refused(vote(&both, &id, "first", "approve", &d1).await, StatusCode::FORBIDDEN, "起草");
    // The other stages cannot start on the old approval either.
    refused(vote(&t.second, &id, "second", "approve", &d1).await, StatusCode::CONFLICT, "尚未开始");
    // A colleague who never touched it reviews v3 afresh.
    let after = ok(vote(&t.first, &id, "first", "approve", &d1).await);
    assert_eq!(requirement(&after["workflow"], "first")["status"], "SATISFIED");
    let form = t.secrecy.request(reqwest::Method::GET, &format!("/api/v1/items/{id}/form")).send().await.unwrap();
    let form = form.text().await.unwrap();
    assert_eq!(form.matches("同意").count(), 1, "only wu's 同意 on v3: {form}");
    app.stop().await;
}

async fn separation_of_duties_is_enforced(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = team(&app).await;
    // A drafter who also holds the reviewer role; an administrator (who can
    // no longer also hold a reviewer role: 三员分立); a reviewer of another
    // unit; a colleague who edits the item.
    let both = app.user("qian", &[Role::Drafter, Role::Reviewer], Some(UNIT)).await;
    for admin_role in Role::ADMINISTRATORS {
        let problems = gateway::http::new_user(
            "root3".into(),
            "管理员".into(),
            Some(UNIT.into()),
            [*admin_role, Role::Reviewer].into(),
            Some("Pw-root3-2026"),
        )
        .err()
        .unwrap_or_else(|| panic!("{admin_role} with the reviewer role must be refused"));
        assert!(problems.iter().any(|p| p.message.contains("三员分立")), "{problems:?}");
    }
    let admin = app.user("root2", &[Role::Admin], Some(UNIT)).await;
    let outsider = app.user("sun", &[Role::Reviewer], Some("江城市财政局")).await;
    let editor = app.user("li", &[Role::Drafter, Role::Reviewer], Some(UNIT)).await;

    let created = both.create_item(&sample_item()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let mut edited = sample_item();
    edited["base_version"] = json!(1);
    edited["title"] = json!("关于开展2025年度政务公开业务培训的通知（修订）");
    assert_eq!(editor.put(&format!("/api/v1/items/{id}"), &edited).await.0, StatusCode::OK);
    let (_, sub) = both.post(&format!("/api/v1/items/{id}/submit"), &json!({"version": 2})).await;
    let digest = sub["current"]["content_digest"].as_str().unwrap().to_owned();
    assert_eq!(sub["state"], "in_review", "{sub}");

    refused(vote(&both, &id, "first", "approve", &digest).await, StatusCode::FORBIDDEN, "起草");
    refused(vote(&editor, &id, "first", "approve", &digest).await, StatusCode::FORBIDDEN, "起草");
    refused(vote(&admin, &id, "first", "approve", &digest).await, StatusCode::FORBIDDEN, "管理员");
    refused(vote(&outsider, &id, "first", "approve", &digest).await, StatusCode::FORBIDDEN, "所属单位");
    refused(vote(&t.secrecy, &id, "first", "approve", &digest).await, StatusCode::FORBIDDEN, "权限");
    ok(vote(&t.first, &id, "first", "approve", &digest).await);
    // One person, one stage per version.
    refused(vote(&t.first, &id, "second", "approve", &digest).await, StatusCode::FORBIDDEN, "一个审核环节");
    refused(vote(&t.first, &id, "first", "approve", &digest).await, StatusCode::CONFLICT, "已对本版本");
    // Claims follow the same rules.
    let claim = both.request(reqwest::Method::PUT, &format!("/api/v1/items/{id}/claims/second")).send().await.unwrap();
    assert_eq!(claim.status(), StatusCode::FORBIDDEN);
    // Admins never override; the drafter never rejects their own item.
    refused(
        admin
            .post(
                &format!("/api/v1/items/{id}/overrides"),
                &json!({"stage": "second", "content_digest": digest, "reason": "赶时间"}),
            )
            .await,
        StatusCode::FORBIDDEN,
        "",
    );
    let _ = &t.drafter;
    let _ = &t.approver;
    app.stop().await;
}

async fn no_eligible_reviewer_blocks_until_someone_is_appointed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("zhou", &[Role::Drafter], Some(UNIT)).await;
    let first = app.user("wu", &[Role::Reviewer], Some(UNIT)).await;
    let _second = app.user("zheng", &[Role::Reviewer], Some(UNIT)).await;
    let _approver = app.user("feng", &[Role::Approver], Some(UNIT)).await;
    let admin = app.user("guan", &[Role::Admin], None).await;
    // Nobody holds the 保密审查员 role.
    let (id, _) = submitted(&drafter, &sample_item()).await;
    let (_, wf) = first.get(&format!("/api/v1/items/{id}/workflow")).await;
    assert_eq!(wf["state"], "blocked", "{wf}");
    let secrecy = requirement(&wf, "secrecy");
    assert_eq!(secrecy["status"], "BLOCKED");
    assert!(secrecy["problem"].as_str().unwrap().contains("没有符合条件的审核人"), "{secrecy}");
    // The admin is alerted.
    let (_, notes) = admin.get("/api/v1/notifications").await;
    assert!(notes.as_array().unwrap().iter().any(|n| n["kind"] == "no_eligible_reviewer"), "{notes}");
    // Once someone is appointed, a recheck puts the item in review.
    let _secrecy = app.user("wang", &[Role::SecrecyReviewer], None).await;
    let rechecked = ok(admin.post(&format!("/api/v1/items/{id}/recheck"), &json!({})).await);
    assert_eq!(rechecked["item"]["state"], "in_review", "{rechecked}");
    app.stop().await;
}

async fn waivers_and_overrides_need_the_named_role(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = team(&app).await;
    // A notice with a valid 身份证 number: a blocking PII finding.
    let mut item = sample_item();
    item["body"] = json!("经审核，申请人张三（身份证号11010519491231002X）符合条件，现予公示。");
    let (id, digest) = submitted(&t.drafter, &item).await;
    let (_, wf) = t.secrecy.get(&format!("/api/v1/items/{id}/workflow")).await;
    assert_eq!(wf["state"], "blocked", "{wf}");
    let finding = wf["blocking_findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["finding"]["rule_id"].as_str().unwrap().starts_with("PII-"))
        .unwrap_or_else(|| panic!("a PII finding: {wf}"));
    assert_eq!(finding["waivable_by"], json!(["secrecy_reviewer"]));
    let waiver =
        json!({"finding_id": finding["finding_id"], "content_digest": digest, "reason": "公示依法须载明身份信息"});
    // Not the approver's to waive, not without a reason.
    refused(
        t.approver.post(&format!("/api/v1/items/{id}/waivers"), &waiver).await,
        StatusCode::FORBIDDEN,
        "保密审查员",
    );
    let mut no_reason = waiver.clone();
    no_reason["reason"] = json!("无");
    refused(
        t.secrecy.post(&format!("/api/v1/items/{id}/waivers"), &no_reason).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "理由",
    );
    let waived = ok(t.secrecy.post(&format!("/api/v1/items/{id}/waivers"), &waiver).await);
    assert_eq!(waived["item"]["state"], "in_review", "{waived}");

    // A 复审 block can be overridden by the approver, with a reason, and
    // shows as OVERRIDDEN; the overrider has then filled a stage and cannot
    // also sign off.
    let deputy = app.user("han", &[Role::Approver], Some(UNIT)).await;
    ok(vote(&t.first, &id, "first", "approve", &digest).await);
    let blocked = ok(vote(&t.second, &id, "second", "block", &digest).await);
    assert_eq!(blocked["item"]["state"], "blocked");
    refused(
        t.secrecy
            .post(
                &format!("/api/v1/items/{id}/overrides"),
                &json!({"stage": "second", "content_digest": digest, "reason": "x理由"}),
            )
            .await,
        StatusCode::FORBIDDEN,
        "签发人",
    );
    let overridden = ok(t
        .approver
        .post(
            &format!("/api/v1/items/{id}/overrides"),
            &json!({"stage": "second", "content_digest": digest, "reason": "事实已核实"}),
        )
        .await);
    assert_eq!(requirement(&overridden["workflow"], "second")["status"], "OVERRIDDEN");
    assert_eq!(overridden["item"]["state"], "in_review", "{overridden}");
    ok(vote(&t.secrecy, &id, "secrecy", "approve", &digest).await);
    let sign = json!({"stage": "final", "value": "approve", "content_digest": digest, "statement_id": "sign-off",
                      "statement_version": "1", "password": "Pw-feng-2026", "totp_code": t.approver_totp.code().await});
    refused(t.approver.post(&format!("/api/v1/items/{id}/votes"), &sign).await, StatusCode::FORBIDDEN, "一个审核环节");
    let deputy_totp = Totp::enrol(&deputy).await;
    let mut sign = sign;
    sign["password"] = json!("Pw-han-2026");
    sign["totp_code"] = json!(deputy_totp.code().await);
    let signed = ok(deputy.post(&format!("/api/v1/items/{id}/votes"), &sign).await);
    assert_eq!(signed["item"]["state"], "approved", "{signed}");
    // The override stays on record as OVERRIDDEN, never SATISFIED.
    assert_eq!(requirement(&signed["workflow"], "second")["status"], "OVERRIDDEN");
    app.stop().await;
}

async fn register_and_printable_form(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = team(&app).await;
    let auditor = app.user("shen", &[Role::Auditor], None).await;
    let mut item = sample_item();
    item["kind"] = json!("reply");
    item["title"] = json!("关于某企业环评材料的依申请公开答复");
    item["attribute"] = json!("withheld");
    item["attribute_reason"] = json!("涉及第三方商业秘密，第三方不同意公开");
    item["legal_basis"] = json!("《政府信息公开条例》第十五条");
    item["channels"] = json!(["applicant"]);
    let (id, digest) = submitted(&t.drafter, &item).await;

    // The 台账 has the proposal; a drafter cannot read it, an auditor can.
    assert_eq!(t.drafter.get("/api/v1/register").await.0, StatusCode::FORBIDDEN);
    let (_, register) = auditor.get("/api/v1/register").await;
    let entry = register.as_array().unwrap().iter().find(|e| e["item_id"] == id.as_str()).expect("in the register");
    assert_eq!(entry["status"], "proposed");
    assert_eq!(entry["attribute"], "withheld");
    // The secrecy reviewer confirms; the auditor may not decide.
    let decision =
        json!({"attribute": "withheld", "reason": "复核后维持不予公开", "legal_basis": "《政府信息公开条例》第十五条"});
    assert_eq!(auditor.post(&format!("/api/v1/register/{id}/decision"), &decision).await.0, StatusCode::FORBIDDEN);
    let decided = ok(t.secrecy.post(&format!("/api/v1/register/{id}/decision"), &decision).await);
    assert_eq!(decided["status"], "confirmed");
    assert!(decided["next_review_on"].as_str().unwrap().len() == 10, "{decided}");

    // Exports: CSV with a BOM for Excel, and a real XLSX (a zip).
    let csv = auditor.request(reqwest::Method::GET, "/api/v1/register/export?format=csv").send().await.unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    let csv = csv.text().await.unwrap();
    assert!(
        csv.starts_with('\u{feff}') && csv.contains("关于某企业环评材料的依申请公开答复") && csv.contains("不予公开"),
        "{csv}"
    );
    let xlsx = auditor.request(reqwest::Method::GET, "/api/v1/register/export?format=xlsx").send().await.unwrap();
    assert_eq!(xlsx.status(), StatusCode::OK);
    assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));

    // A comment anchored to the title, and the printable form.
    let title_end = "关于某企业".len() as i64;
    let (status, comment) = t
        .first
        .post(
            &format!("/api/v1/items/{id}/comments"),
            &json!({"version": 1, "field": "title", "start": 0, "end": title_end, "body": "企业名称是否需要隐去？"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{comment}");
    assert_eq!(comment["quote"], "关于某企业");
    ok(vote(&t.first, &id, "first", "approve", &digest).await);
    let form = t.secrecy.request(reqwest::Method::GET, &format!("/api/v1/items/{id}/form")).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let html = form.text().await.unwrap();
    for expected in ["政府信息公开审批表", "初审", "保密审查", "测试wu", "不予公开", &digest] {
        assert!(html.contains(expected), "{expected} missing from the form");
    }
    app.stop().await;
}

/// The 审批表 prints what people typed (title, comments, waiver and
/// override reasons) as text: markup is escaped, and a bidi override is
/// shown as a ⟨U+202E⟩ marker, as on every page, so that the paper copy
/// cannot be reordered or carry live HTML.
async fn the_printable_form_shows_what_people_wrote_as_text(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = team(&app).await;
    let deputy = app.user("han", &[Role::Approver], Some(UNIT)).await;
    let mut item = sample_item();
    item["title"] = json!("关于<b>培训</b>的通知 & \"公示\"");
    // A valid 身份证 number: a blocking finding, waived with a reason.
    item["body"] = json!("经审核，申请人张三（身份证号11010519491231002X）符合条件，现予公示。");
    let (id, digest) = submitted(&t.drafter, &item).await;
    let (_, wf) = t.secrecy.get(&format!("/api/v1/items/{id}/workflow")).await;
    let finding = wf["blocking_findings"].as_array().unwrap()[0]["finding_id"].clone();
    let waiver = json!({"finding_id": finding, "content_digest": digest,
                        "reason": "公示依法须载明身份信息<img src=x onerror=alert(1)>"});
    ok(t.secrecy.post(&format!("/api/v1/items/{id}/waivers"), &waiver).await);
    let said = |stage: &str, value: &str, comment: &str| json!({"stage": stage, "value": value, "content_digest": digest, "comment": comment});
    let votes = format!("/api/v1/items/{id}/votes");
    ok(t.first.post(&votes, &said("first", "approve", "同意</td></tr><script>alert('x')</script>")).await);
    ok(t.second.post(&votes, &said("second", "block", "事实\u{202E}待核实")).await);
    let reason = "事实已核实 & <i>无异议</i>";
    let overrides = format!("/api/v1/items/{id}/overrides");
    ok(t.approver.post(&overrides, &json!({"stage": "second", "content_digest": digest, "reason": reason})).await);
    ok(t.secrecy.post(&votes, &said("secrecy", "approve", "无涉密内容")).await);
    let totp = Totp::enrol(&deputy).await;
    let sign = json!({"stage": "final", "value": "approve", "content_digest": digest, "statement_id": "sign-off",
                      "statement_version": "1", "password": "Pw-han-2026", "totp_code": totp.code().await});
    assert_eq!(ok(deputy.post(&votes, &sign).await)["item"]["state"], "approved");

    let form = t.secrecy.request(reqwest::Method::GET, &format!("/api/v1/items/{id}/form")).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    assert_eq!(form.headers()["content-type"], "text/html; charset=utf-8");
    let html = form.text().await.unwrap();
    // The typed text is on the form as text (whichever character references
    // the escaper picks), and none of it as markup.
    let mut text = html.clone();
    for (reference, c) in
        [("&lt;", "<"), ("&#60;", "<"), ("&gt;", ">"), ("&#62;", ">"), ("&quot;", "\""), ("&#34;", "\"")]
            .into_iter()
            .chain([("&#39;", "'"), ("&amp;", "&"), ("&#38;", "&")])
    {
        text = text.replace(reference, c);
    }
    for typed in [
        "<title>审批表 — 关于<b>培训</b>的通知 & \"公示\"</title>",
        "<td>关于<b>培训</b>的通知 & \"公示\"</td>",
        "公示依法须载明身份信息<img src=x onerror=alert(1)></td>",
        "：同意</td></tr><script>alert('x')</script><br>",
        "：事实⟨U+202E⟩待核实<br>",
        "：事实已核实 & <i>无异议</i><br>",
        "签发声明 sign-off 第 1 版（已再次验证密码）：",
    ] {
        assert!(text.contains(typed), "{typed} missing from the form: {html}");
    }
    for raw in ["<b>", "<img", "<script", "<i>", "\u{202E}"] {
        assert!(!html.contains(raw), "{raw:?} reached the form as markup: {html}");
    }
    // The layout holds: every row closed, the waiver and override shown.
    assert_eq!(html.matches("<tr>").count(), html.matches("</tr>").count(), "{html}");
    for part in ["<h2>审核环节</h2>", "<h2>豁免的阻断级问题</h2>", "越级通过：", "<h2>审计记录</h2>", "</body></html>"]
    {
        assert!(html.contains(part), "{part} missing: {html}");
    }
    app.stop().await;
}

/// A stand-in for an agency's e-mail/SMS gateway: records what it receives.
async fn hook_receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let store = received.clone();
    let app = axum::Router::new().route(
        "/notify",
        axum::routing::post(move |headers: axum::http::HeaderMap, axum::Json(body): axum::Json<Value>| {
            let store = store.clone();
            async move {
                assert_eq!(headers["authorization"], "Bearer hook-secret");
                store.lock().unwrap().push(body);
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

async fn overdue_stages_are_reminded_and_sent_to_the_hook(backend: Backend) {
    let (url, received) = hook_receiver().await;
    let app = TestApp::spawn_with(backend, |s| {
        s.workflow.sweep_seconds = 1;
        s.workflow.notify_webhook = Some(url);
        s.workflow.notify_webhook_token = Some(gateway::config::Secret::new("hook-secret"));
    })
    .await;
    let t = team(&app).await;
    let (id, _) = submitted(&t.drafter, &sample_item()).await;
    // Submitted long ago: 初审 (2 working days) is overdue.
    sqlx::query("UPDATE reviews SET created_at = $1 WHERE item_id = $2")
        .bind("2026-09-01T02:00:00.000Z")
        .bind(id.as_str())
        .execute(app.db.pool())
        .await
        .unwrap();
    let overdue =
        |notes: &Value| notes.as_array().unwrap().iter().any(|n| n["kind"] == "overdue" && n["item_id"] == id.as_str());
    let mut seen = false;
    for _ in 0..50 {
        let (_, notes) = t.first.get("/api/v1/notifications?unread=true").await;
        if overdue(&notes) && received.lock().unwrap().iter().any(|n| n["kind"] == "overdue" && n["username"] == "wu") {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(seen, "an overdue notice in the app and at the hook: {:?}", received.lock().unwrap());
    // The queue shows it overdue and counts it.
    let (_, queue) = t.first.get("/api/v1/queue").await;
    assert!(queue["overdue"].as_u64().unwrap() >= 1, "{queue}");
    // The publication office sees it in the overdue report.
    let office = app.user("gong", &[Role::Publisher], None).await;
    let (_, report) = office.get("/api/v1/overdue").await;
    let listed = report["items"].as_array().unwrap().iter().find(|i| i["item_id"] == id.as_str()).expect("listed");
    assert_eq!(listed["stages"], json!(["初审"]), "{report}");
    assert_eq!(listed["disclosure_deadline"]["overdue"], true, "formed 2025-03-01: {report}");
    assert_eq!(t.drafter.get("/api/v1/overdue").await.0, StatusCode::FORBIDDEN);
    // Once only, however many sweeps ran.
    let (_, notes) = t.first.get("/api/v1/notifications").await;
    let count = notes.as_array().unwrap().iter().filter(|n| n["kind"] == "overdue").count();
    assert_eq!(count, 1, "{notes}");
    // Read it.
    let note = notes.as_array().unwrap().iter().find(|n| n["kind"] == "overdue").unwrap();
    let read =
        t.first.request(reqwest::Method::POST, &format!("/api/v1/notifications/{}/read", note["id"].as_str().unwrap()));
    assert_eq!(read.send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let (_, unread) = t.first.get("/api/v1/notifications?unread=true").await;
    assert!(!overdue(&unread), "{unread}");
    app.stop().await;
}
