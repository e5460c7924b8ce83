//! The item life cycle: create, edit, submit, list, diff, and durability
//! across a restart; the content digest recomputed from its documented form.

use gateway::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tests::{Backend, TestApp, on_both_backends, sample_item};

on_both_backends!(
    lifecycle_survives_restart,
    digest_matches_documented_canonical_form,
    list_filters_and_pages,
    drafters_see_only_their_unit
);

async fn lifecycle_survives_restart(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let drafter = app.user("zhang", &[Role::Drafter], Some("市政府办公室")).await;
    app.review_team(Some("市政府办公室")).await;

    let created = drafter.create_item(&sample_item()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["state"], "draft");
    assert_eq!(created["current_version"], 1);

    let mut edit = sample_item();
    edit["base_version"] = json!(1);
    edit["body"] = json!(
        "各区、各部门：\r\n为进一步提升政务公开工作人员业务能力，定于2025年3月20日举办培训班。\r\n江城市人民政府办公室"
    );
    let (status, edited) = drafter.put(&format!("/api/v1/items/{id}"), &edit).await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["current_version"], 2);
    // CRLF becomes LF at intake, and nothing else changes.
    assert_eq!(
        edited["current"]["body"],
        "各区、各部门：\n为进一步提升政务公开工作人员业务能力，定于2025年3月20日举办培训班。\n江城市人民政府办公室"
    );

    let (status, submitted) = drafter.post(&format!("/api/v1/items/{id}/submit"), &json!({"version": 2})).await;
    assert_eq!(status, StatusCode::OK, "{submitted}");
    assert_eq!(submitted["state"], "in_review");

    let (status, listed) = drafter.get("/api/v1/items?state=in_review").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["id"], id.as_str());

    let (status, diff) = drafter.get(&format!("/api/v1/items/{id}/diff?from=1&to=2")).await;
    assert_eq!(status, StatusCode::OK, "{diff}");
    assert_eq!(diff["body"]["changed"], true);
    assert_eq!(diff["title"]["changed"], false);
    let unified = diff["body"]["unified"].as_str().unwrap();
    assert!(unified.contains("-为进一步提升政务公开工作人员业务能力，定于2025年3月18日举办培训班。"), "{unified}");
    assert!(unified.contains("+为进一步提升政务公开工作人员业务能力，定于2025年3月20日举办培训班。"), "{unified}");
    let changed_chars: Vec<&str> = diff["body"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["segments"].as_array().unwrap())
        .filter(|s| s["changed"] == true)
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    assert!(changed_chars.contains(&"18") && changed_chars.contains(&"20"), "{changed_chars:?}");
    assert_eq!(diff["fields"].as_array().unwrap().len(), 0, "only the body changed: {diff}");

    let (_, before) = drafter.get(&format!("/api/v1/items/{id}")).await;
    app.restart().await;
    // Sessions live in the database: the same login still works.
    let drafter = drafter.rebased(&app.base);
    let (status, after) = drafter.get(&format!("/api/v1/items/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(before, after, "the item reads back identically after a restart");
    let digests: Vec<&Value> = after["versions"].as_array().unwrap().iter().map(|v| &v["content_digest"]).collect();
    assert_eq!(digests.len(), 2);
    assert_ne!(digests[0], digests[1]);
    app.stop().await;
}

/// The canonical form as ARCHITECTURE.md documents it, rebuilt from the
/// API's view of a version, canonicalised here (sorted keys, compact, no
/// floats: serde_json's default map is sorted) and hashed.
fn documented_digest(v: &Value) -> String {
    let attachments: Vec<Value> = v["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| json!({"name": a["name"], "digest": a["digest"], "media_type": a["media_type"], "size": a["size"]}))
        .collect();
    let canonical = json!({
        "format": "gov-disclosure/content@1",
        "kind": v["kind"], "title": v["title"], "body": v["body"],
        "attribute": v["attribute"], "attribute_reason": v["attribute_reason"], "legal_basis": v["legal_basis"],
        "doc_number": v["doc_number"], "issuer": v["issuer"], "superior": v["superior"],
        "interprets": v["interprets"], "channels": v["channels"], "attachments": attachments,
        "formed_at": v["formed_at"], "flags": v["flags"],
    });
    format!("sha256:{}", hex::encode(Sha256::digest(serde_json::to_vec(&canonical).unwrap())))
}

async fn digest_matches_documented_canonical_form(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("li", &[Role::Drafter], Some("市发展改革委")).await;
    let attachment = drafter
        .send(
            drafter
                .request(reqwest::Method::POST, "/api/v1/attachments")
                .header("content-type", "application/pdf")
                .body(b"%PDF-1.7\n% test attachment\n".to_vec()),
        )
        .await;
    assert_eq!(attachment.0, StatusCode::CREATED, "{}", attachment.1);
    let mut item = sample_item();
    item["attribute"] = json!("on_request");
    item["attribute_reason"] = json!("涉及第三方商业秘密");
    item["legal_basis"] = json!("《中华人民共和国政府信息公开条例》第十五条");
    item["channels"] = json!(["applicant"]);
    item["superior"] =
        json!({"doc_number": "省政办发〔2024〕9号", "issuer": "省人民政府办公厅", "attribute": "public"});
    item["flags"] = json!(["major", "cross_agency", "major"]);
    item["attachments"] = json!([{"name": "附件1 \"名单\".pdf", "digest": attachment.1["digest"]}]);
    item["body"] = json!("第一行\t制表符\n第二行 \u{1F600} 表情\\反斜杠");
    let created = drafter.create_item(&item).await;
    let current = &created["current"];
    assert_eq!(current["flags"], json!(["cross_agency", "major"]), "flags are a sorted set");
    assert_eq!(current["content_digest"], documented_digest(current).as_str());

    // And the value the store holds is the same one.
    let stored: String = sqlx::query_scalar("SELECT content_digest FROM item_versions WHERE item_id = $1")
        .bind(created["id"].as_str().unwrap())
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(stored, documented_digest(current));
    app.stop().await;
}

async fn list_filters_and_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("wang", &[Role::Drafter], Some("市政府办公室")).await;
    for i in 0..5 {
        let mut item = sample_item();
        item["title"] = json!(format!("通知第{i}号"));
        if i % 2 == 0 {
            item["kind"] = json!("policy");
            item["issuer"] = json!("江城市人民政府");
        }
        drafter.create_item(&item).await;
    }
    let (_, page1) = drafter.get("/api/v1/items?limit=2").await;
    let titles = |page: &Value| -> Vec<String> {
        page["items"].as_array().unwrap().iter().map(|i| i["current"]["title"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(titles(&page1), ["通知第4号", "通知第3号"]);
    let cursor = page1["next"].as_str().unwrap();
    let (_, page2) = drafter.get(&format!("/api/v1/items?limit=2&cursor={cursor}")).await;
    assert_eq!(titles(&page2), ["通知第2号", "通知第1号"]);
    let (_, page3) = drafter.get(&format!("/api/v1/items?limit=2&cursor={}", page2["next"].as_str().unwrap())).await;
    assert_eq!(titles(&page3), ["通知第0号"]);
    assert!(page3["next"].is_null());

    let (_, policies) = drafter.get("/api/v1/items?kind=policy").await;
    assert_eq!(titles(&policies), ["通知第4号", "通知第2号", "通知第0号"]);
    let organ = "江城市人民政府";
    let (_, by_organ) = drafter.get(&format!("/api/v1/items?organ={}", encode(organ))).await;
    assert_eq!(titles(&by_organ).len(), 3);
    let (_, by_text) = drafter.get(&format!("/api/v1/items?text={}", encode("第3号"))).await;
    assert_eq!(titles(&by_text), ["通知第3号"]);
    let (_, literal) = drafter.get(&format!("/api/v1/items?text={}", encode("%"))).await;
    assert_eq!(titles(&literal).len(), 0, "% is matched literally, not as a wildcard");
    let (_, none) = drafter.get("/api/v1/items?attribute=withheld").await;
    assert_eq!(titles(&none).len(), 0);
    app.stop().await;
}

async fn drafters_see_only_their_unit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = app.user("a1", &[Role::Drafter], Some("甲局")).await;
    let b = app.user("b1", &[Role::Drafter], Some("乙局")).await;
    let reviewer = app.user("r1", &[Role::Reviewer], Some("甲局")).await;
    let item = a.create_item(&sample_item()).await;
    let id = item["id"].as_str().unwrap();
    assert_eq!(b.get(&format!("/api/v1/items/{id}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(b.get("/api/v1/items").await.1["items"].as_array().unwrap().len(), 0);
    assert_eq!(reviewer.get(&format!("/api/v1/items/{id}")).await.0, StatusCode::OK);
    let mut edit = sample_item();
    edit["base_version"] = json!(1);
    assert_eq!(b.put(&format!("/api/v1/items/{id}"), &edit).await.0, StatusCode::NOT_FOUND);
    app.stop().await;
}

fn encode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}
