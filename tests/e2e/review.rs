//! Submitting runs the review pipeline of the policy in force and stores
//! the result with the version; the item is blocked or goes to review.

use gateway::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::{Backend, TestApp, on_both_backends, sample_item};

on_both_backends!(
    submit_runs_the_pipeline_and_stores_findings,
    passports_home_addresses_and_old_ids_block_and_their_masks_clear_it,
    policy_status_and_reload
);

fn findings(review: &Value) -> Vec<(String, String, String)> {
    review["outcome"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["plugin"].as_str().unwrap().to_owned(),
                f["kind"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn submit_runs_the_pipeline_and_stores_findings(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let drafter = app.user("zhou", &[Role::Drafter], Some("市民政局")).await;
    app.review_team(Some("市民政局")).await;

    // A clean notice goes to review.
    let clean = drafter.create_item(&sample_item()).await;
    let clean_id = clean["id"].as_str().unwrap();
    let (status, submitted) = drafter.post(&format!("/api/v1/items/{clean_id}/submit"), &json!({"version": 1})).await;
    assert_eq!(status, StatusCode::OK, "{submitted}");
    assert_eq!(submitted["state"], "in_review", "{submitted}");
    let review = &submitted["review"];
    assert_ne!(review["outcome"]["verdict"], "blocked", "{review}");
    assert_eq!(review["content_digest"], clean["current"]["content_digest"]);
    let plugins = review["outcome"]["plugins"].as_array().unwrap();
    assert!(plugins.len() >= 3, "the default policy runs several plugins: {review}");
    for plugin in plugins {
        assert_eq!(plugin["sha256"].as_str().unwrap().len(), 64, "{plugin}");
        assert!(!plugin["version"].as_str().unwrap().is_empty());
    }
    assert!(review["outcome"]["policy_hash"].as_str().unwrap().starts_with("sha256:"));

    // The default policy's term lists are in force (a 不当称谓 is a warning).
    let mut rude = sample_item();
    rude["body"] = json!("个别窗口工作人员称办事群众为刁民，已责令整改。");
    let rude = drafter.create_item(&rude).await;
    let (_, flagged) =
        drafter.post(&format!("/api/v1/items/{}/submit", rude["id"].as_str().unwrap()), &json!({"version": 1})).await;
    assert_eq!(flagged["state"], "in_review", "{flagged}");
    assert!(
        findings(&flagged["review"]).contains(&("lexicon".into(), "sensitive_term".into(), "warn".into())),
        "{flagged}"
    );

    // A notice with a valid 身份证 number is blocked, and the finding points
    // at the number in the original text.
    let mut leaky = sample_item();
    let body = "经审核，申请人王某（身份证号：110101199003074258）符合救助条件，予以公示。";
    leaky["body"] = json!(body);
    let leaky = drafter.create_item(&leaky).await;
    let leaky_id = leaky["id"].as_str().unwrap();
    let (status, blocked) = drafter.post(&format!("/api/v1/items/{leaky_id}/submit"), &json!({"version": 1})).await;
    assert_eq!(status, StatusCode::OK, "{blocked}");
    assert_eq!(blocked["state"], "blocked", "{blocked}");
    let id_finding = blocked["review"]["outcome"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "id_number")
        .unwrap_or_else(|| panic!("no id_number finding: {blocked}"));
    assert_eq!(id_finding["severity"], "block");
    let (start, end) =
        (id_finding["span"]["start"].as_u64().unwrap() as usize, id_finding["span"]["end"].as_u64().unwrap() as usize);
    assert_eq!(&body[start..end], "110101199003074258");
    let suggestion = id_finding["suggestion"].as_str().unwrap_or("");
    assert!(!suggestion.contains("19900307"), "the suggested mask hides the birth date: {suggestion}");

    // Stored: the item view and the review list show it after a restart.
    app.restart().await;
    let drafter = drafter.rebased(&app.base);
    let (_, item) = drafter.get(&format!("/api/v1/items/{leaky_id}")).await;
    assert_eq!(findings(&item["review"]), findings(&blocked["review"]));
    let (_, reviews) = drafter.get(&format!("/api/v1/items/{leaky_id}/reviews")).await;
    assert_eq!(reviews.as_array().unwrap().len(), 1);

    // Fixing the text (a new version) and resubmitting clears the block.
    let mut fixed = sample_item();
    fixed["base_version"] = json!(1);
    fixed["body"] = json!(body.replace("110101199003074258", "110101********4258"));
    let (status, _) = drafter.put(&format!("/api/v1/items/{leaky_id}"), &fixed).await;
    assert_eq!(status, StatusCode::OK);
    let (status, resubmitted) = drafter.post(&format!("/api/v1/items/{leaky_id}/submit"), &json!({"version": 2})).await;
    assert_eq!(status, StatusCode::OK, "{resubmitted}");
    assert_eq!(resubmitted["state"], "in_review", "{resubmitted}");
    let (_, reviews) = drafter.get(&format!("/api/v1/items/{leaky_id}/reviews")).await;
    assert_eq!(reviews.as_array().unwrap().len(), 2, "the first review stays on record");
    app.stop().await;
}

/// Issue 20: a 公示 that leaks a passport number, a 低保 recipient's home
/// address, a first-generation 15-digit ID, a +86 mobile and a mailbox
/// written to dodge harvesters is blocked; the suggested masks keep what a
/// 公示 may show and, applied as a new version, clear the block. An organ's
/// address and a passport-shaped 批复编号 block nothing.
async fn passports_home_addresses_and_old_ids_block_and_their_masks_clear_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("qian", &[Role::Drafter], Some("市民政局")).await;
    app.review_team(Some("市民政局")).await;

    let body = "经审核，以下人员符合条件，现予公示：\n\
        户主：孙某某，身份证号：330106750718451，家庭住址：临川市东城区建设路18号2栋301室，\
        联系电话：+86 139 5128 7764。\n\
        随团出访：李某某，护照号码：EA1234567。\n\
        意见请发送至 sunmou#163.com（请将#换成@）。\n\
        监督电话：0511-87210000（临川市东城区民政局，地址：临川市东城区人民路1号）";
    let mut leaky = sample_item();
    leaky["body"] = json!(body);
    let leaky = drafter.create_item(&leaky).await;
    let id = leaky["id"].as_str().unwrap().to_owned();
    let (status, blocked) = drafter.post(&format!("/api/v1/items/{id}/submit"), &json!({"version": 1})).await;
    assert_eq!(status, StatusCode::OK, "{blocked}");
    assert_eq!(blocked["state"], "blocked", "{blocked}");
    let found: Vec<&Value> = blocked["review"]["outcome"]["findings"].as_array().unwrap().iter().collect();
    let one = |kind: &str| -> (String, String, String) {
        let f = found.iter().find(|f| f["kind"] == kind).unwrap_or_else(|| panic!("no {kind} finding: {blocked}"));
        let (s, e) = (f["span"]["start"].as_u64().unwrap() as usize, f["span"]["end"].as_u64().unwrap() as usize);
        (
            f["severity"].as_str().unwrap().to_owned(),
            body[s..e].to_owned(),
            f["suggestion"].as_str().unwrap_or("").to_owned(),
        )
    };
    assert_eq!(one("passport"), ("block".into(), "EA1234567".into(), "E*******7".into()));
    assert_eq!(
        one("address"),
        ("block".into(), "临川市东城区建设路18号2栋301室".into(), "临川市东城区（详细地址略）".into())
    );
    assert_eq!(one("id_number"), ("block".into(), "330106750718451".into(), "3301********451".into()));
    assert_eq!(one("mobile"), ("warn".into(), "+86 139 5128 7764".into(), "+86 139****7764".into()));
    assert_eq!(one("email"), ("warn".into(), "sunmou#163.com".into(), "su****#163.com".into()));
    // The organ's own address is not reported.
    assert_eq!(found.iter().filter(|f| f["kind"] == "address").count(), 1, "{blocked}");

    // The one-click fixes, applied as version 2, clear the block.
    let mut spans: Vec<(usize, usize, String)> = found
        .iter()
        .filter(|f| f["field"] == "body" && f["suggestion"].is_string())
        .map(|f| {
            (
                f["span"]["start"].as_u64().unwrap() as usize,
                f["span"]["end"].as_u64().unwrap() as usize,
                f["suggestion"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut masked = body.to_owned();
    for (s, e, with) in spans {
        masked.replace_range(s..e, &with);
    }
    let mut fixed = sample_item();
    fixed["base_version"] = json!(1);
    fixed["body"] = json!(masked);
    let (status, _) = drafter.put(&format!("/api/v1/items/{id}"), &fixed).await;
    assert_eq!(status, StatusCode::OK);
    let (status, resubmitted) = drafter.post(&format!("/api/v1/items/{id}/submit"), &json!({"version": 2})).await;
    assert_eq!(status, StatusCode::OK, "{resubmitted}");
    assert_eq!(resubmitted["state"], "in_review", "the masked text passes: {resubmitted}");

    // Look-alikes: an office's address, a passport-shaped 批复编号, a
    // contract number whose "date" has month 13, a mobile inside an order number.
    let mut public = sample_item();
    public["body"] = json!(
        "关于同意办理因公护照的批复（批复编号E12345678）已下达，合同编号：330106751318451，\
         订单号20251395128776401。来信请寄：临川市东城区民政局，地址：临川市东城区人民路1号。"
    );
    let public = drafter.create_item(&public).await;
    let pid = public["id"].as_str().unwrap();
    let (status, passed) = drafter.post(&format!("/api/v1/items/{pid}/submit"), &json!({"version": 1})).await;
    assert_eq!(status, StatusCode::OK, "{passed}");
    assert_eq!(passed["state"], "in_review", "{passed}");
    let kinds: Vec<(String, String, String)> = findings(&passed["review"]);
    assert!(
        !kinds.iter().any(|(_, k, _)| ["passport", "address", "id_number", "mobile"].contains(&k.as_str())),
        "{passed}"
    );
    app.stop().await;
}

async fn policy_status_and_reload(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("ops", &[Role::Admin], None).await;
    let drafter = app.user("wu", &[Role::Drafter], None).await;
    let (status, policy) = admin.get("/api/v1/admin/policy").await;
    assert_eq!(status, StatusCode::OK, "{policy}");
    let hash = policy["policy"]["policy_hash"].clone();
    let (status, reloaded) = admin.post("/api/v1/admin/policy/reload", &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{reloaded}");
    assert_eq!(reloaded["policy"]["policy_hash"], hash, "the same file reloads to the same hash");
    assert_eq!(drafter.post("/api/v1/admin/policy/reload", &json!({})).await.0, StatusCode::FORBIDDEN);
    app.stop().await;
}
