//! Issue 21: the office's daily work without training, walked in a real
//! headless Chromium (Chinese locale) at desktop and phone sizes. People
//! see each other's opinions: the drafter the send-back's reason and who
//! gave it (on the item page and in the notification), the second reviewer
//! the first one's note, the leader signing off the 保密审查 opinions the
//! statement asks them to confirm.

use gateway::auth::Role;
use serde_json::{Value, json};
use tests::browser::Browser;
use tests::team::{ok, titled_item};
use tests::{Backend, TestApp, Totp, on_both_backends};

on_both_backends!(people_see_each_others_opinions,);

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
    b.fill("form.vote input[name=password]", &password("approver")).await;
    b.fill("form.vote input[name=totp_code]", &approver_totp.code().await).await;
    b.click_to("form.vote button[value=approve]").await;
    assert!(b.text("p.notice").await.contains("已签发"));
    let trail = b.text("#opinions").await;
    assert!(trail.contains("签发") && trail.contains("测试approver"), "{trail}");
    b.assert_accessible("事项（签发后，手机）").await;
    b.logout().await;
    b.stop().await;
    app.stop().await;
}
