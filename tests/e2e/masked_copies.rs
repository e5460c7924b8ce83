//! Masked copies of attachments (issue 18): an XLSX 公示 with 身份证
//! numbers in column C is blocked; the drafter's one click (a plain form,
//! no script) rewrites the cells in the sandbox with the masks the findings
//! suggest, as the item's new version, and the page lists what changed;
//! the copy passes review, goes through the review chain and the seal, is
//! delivered, and the reference receiver serves the masked file whose
//! SHA-256 is the sealed digest. CSV and DOCX copies through the API; stale
//! findings (409), a drafter of another unit, a reviewer and a PDF (no
//! button, the plain word that it must be replaced) are refused, and
//! nothing is stored. The one click is also made in a real browser.

use std::io::{Cursor, Read, Write};

use gateway::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::team::{Team, UNIT, ok, titled_item};
use tests::{Backend, Client, TestApp, on_both_backends};

on_both_backends!(
    an_xlsx_masked_copy_passes_review_is_sealed_delivered_and_served,
    csv_and_docx_masked_copies_replace_the_attachment,
    stale_findings_other_units_reviewers_and_pdfs_are_refused,
    the_drafter_masks_a_list_with_one_click_in_the_browser
);

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// Valid resident ID numbers (GB 11643 check digits).
const IDS: [&str; 3] = ["110101199003070011", "310115198506120026", "440305197809150030"];

/// A 公示 list: 序号, 姓名, 身份证号 (column C), 金额.
fn gongshi_xlsx() -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["序号", "姓名", "身份证号", "金额（元）"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (i, (name, id)) in ["张某", "李某", "王某"].iter().zip(IDS).enumerate() {
        let row = i as u32 + 1;
        ws.write_number(row, 0, f64::from(row)).unwrap();
        ws.write_string(row, 1, *name).unwrap();
        ws.write_string(row, 2, id).unwrap();
        ws.write_number(row, 3, 1200.0).unwrap();
    }
    wb.save_to_buffer().unwrap()
}

fn docx_with(paragraphs: &[&str]) -> Vec<u8> {
    let w = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;
    let body: String =
        paragraphs.iter().map(|p| format!("<w:p><w:r><w:t xml:space=\"preserve\">{p}</w:t></w:r></w:p>")).collect();
    let document =
        format!(r#"<?xml version="1.0" encoding="UTF-8"?><w:document {w}><w:body>{body}</w:body></w:document>"#);
    let types = r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>"#;
    let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in [("[Content_Types].xml", types.to_owned()), ("word/document.xml", document)] {
        z.start_file(name, opts).unwrap();
        z.write_all(data.as_bytes()).unwrap();
    }
    z.finish().unwrap().into_inner()
}

/// Every entry of a ZIP container, as text.
fn entries(bytes: &[u8]) -> Vec<(String, String)> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().unwrap().into_owned(), String::from_utf8_lossy(&data).into_owned())
        })
        .collect()
}

async fn upload(drafter: &Client, media_type: &str, bytes: Vec<u8>) -> String {
    let request =
        drafter.request(reqwest::Method::POST, "/api/v1/attachments").header("content-type", media_type).body(bytes);
    let (status, body) = drafter.send(request).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["digest"].as_str().unwrap().to_owned()
}

/// Creates an item with the attachment and submits it; returns (id, submit answer).
async fn submitted_with(
    drafter: &Client,
    title: &str,
    file: &str,
    media_type: &str,
    bytes: Vec<u8>,
) -> (String, Value) {
    let digest = upload(drafter, media_type, bytes).await;
    let mut item = titled_item(title, &["website"]);
    item["attachments"] = json!([{"name": file, "digest": digest}]);
    let id = drafter.create_item(&item).await["id"].as_str().unwrap().to_owned();
    let submitted = ok(drafter.post(&format!("/api/v1/items/{id}/submit"), &json!({"version": 1})).await);
    (id, submitted)
}

/// The ID-number findings in `file`: (cell or paragraph, marked text, suggestion).
fn id_findings(submitted: &Value) -> Vec<(Value, String, String)> {
    submitted["review"]["outcome"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "id_number" && f["field"] == "attachment")
        .map(|f| {
            let spot = &f["attachment"];
            let excerpt = spot["excerpt"].as_str().unwrap();
            let (s, e) =
                (spot["span"]["start"].as_u64().unwrap() as usize, spot["span"]["end"].as_u64().unwrap() as usize);
            (spot["locator"].clone(), excerpt[s..e].to_owned(), f["suggestion"].as_str().unwrap().to_owned())
        })
        .collect()
}

async fn mask(drafter: &Client, id: &str, version: i64, digest: &str, file: &str) -> (StatusCode, Value) {
    drafter
        .post(
            &format!("/api/v1/items/{id}/attachments/mask"),
            &json!({"version": version, "content_digest": digest, "attachment": file}),
        )
        .await
}

async fn page(client: &Client, path: &str) -> String {
    client.http.get(format!("{}{path}", client.base)).send().await.unwrap().text().await.unwrap()
}

fn form_value(page: &str, name: &str) -> String {
    page.split(&format!("name=\"{name}\" value=\"")).nth(1).and_then(|s| s.split('"').next()).unwrap().to_owned()
}

async fn an_xlsx_masked_copy_passes_review_is_sealed_delivered_and_served(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = Team::of(&app).await;
    t.add_endpoint(json!({"channel": "website", "kind": "pull"})).await;
    let website = app.channel_account("site").await.token(&["channel"], &["website"]).await;

    let (id, submitted) =
        submitted_with(&t.drafter, "2026年第一批临时救助对象公示", "救助名单.xlsx", XLSX, gongshi_xlsx()).await;
    assert_eq!(submitted["state"], "blocked", "{submitted:#}");
    let found = id_findings(&submitted);
    let cells: Vec<(&str, &str)> =
        found.iter().map(|(l, text, _)| (l["cell"].as_str().unwrap(), text.as_str())).collect();
    assert_eq!(cells, [("C2", IDS[0]), ("C3", IDS[1]), ("C4", IDS[2])], "{found:#?}");
    let masks: Vec<String> = found.iter().map(|(_, _, s)| s.clone()).collect();
    assert!(masks.iter().zip(IDS).all(|(m, id)| m.contains('*') && m != id), "{masks:?}");

    // The item page offers the masked copy next to the findings: a plain
    // form that works without script.
    let html = page(&t.drafter, &format!("/items/{id}")).await;
    assert!(html.contains(&format!("action=\"/items/{id}/mask\"")) && html.contains("一键生成打码副本"), "{html}");
    assert!(!html.contains("此类文件无法自动打码"));
    let fields = [
        ("csrf", form_value(&html, "csrf")),
        ("version", "1".to_owned()),
        ("digest", submitted["current"]["content_digest"].as_str().unwrap().to_owned()),
        ("attachment", "救助名单.xlsx".to_owned()),
    ];
    let r = t.drafter.http.post(format!("{}/items/{id}/mask", t.drafter.base)).form(&fields).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.url().as_str().contains("done=masked"), "{}", r.url());
    let html = r.text().await.unwrap();
    // What changed, per cell, in Chinese.
    for ((cell, id), m) in ["C2", "C3", "C4"].iter().zip(IDS).zip(&masks) {
        let line = format!("附件 救助名单.xlsx，工作表 Sheet1 {cell}：“{id}” → “{m}”");
        assert!(html.contains(&line), "missing {line} in {html}");
    }

    // The new version: same name and type, another file.
    let item = ok(t.drafter.get(&format!("/api/v1/items/{id}")).await);
    assert_eq!((item["current_version"].as_i64(), item["state"].as_str()), (Some(2), Some("draft")));
    let attachment = &item["current"]["attachments"][0];
    assert_eq!((attachment["name"].as_str(), attachment["media_type"].as_str()), (Some("救助名单.xlsx"), Some(XLSX)));
    let masked_digest = attachment["digest"].as_str().unwrap().to_owned();
    assert_ne!(masked_digest, submitted["current"]["attachments"][0]["digest"].as_str().unwrap());
    // Recorded in the audit log with the changes.
    let events = ok(t.auditor.get(&format!("/api/v1/audit/events?item={id}")).await);
    let text = events.to_string();
    assert!(text.contains("item.mask_attachment") && text.contains(&masked_digest), "{events:#}");
    // Where and what mask, never the personal data it replaced: the
    // hash-chained log cannot forget.
    assert!(IDS.iter().all(|n| !text.contains(n)), "{events:#}");

    // The masked copy passes review, the review chain and the seal.
    let serial = t.approve_and_seal(&id, 2).await;
    let reviews = ok(t.drafter.get(&format!("/api/v1/items/{id}/reviews")).await);
    let v2 = reviews.as_array().unwrap().iter().find(|r| r["version"] == 2 && r["phase"] == "submit").unwrap();
    assert_ne!(v2["outcome"]["verdict"], "blocked", "{v2:#}");
    assert!(!v2.to_string().contains("id_number"), "{v2:#}");

    // Delivered: the publish event links the masked file; the reference
    // receiver fetches it, checks it against the sealed digest, serves it.
    let changes = ok(website.get("/api/v1/channels/website/changes").await);
    let event =
        changes["events"].as_array().unwrap().iter().rev().find(|e| e["item_id"] == id.as_str()).unwrap().clone();
    assert_eq!(event["type"], "publish");
    assert_eq!(event["attachments"][0]["digest"], masked_digest.as_str());
    let mut rx = receiver::Receiver::new(
        tests::pinned_receiver_config(&app.base, "website").await,
        receiver::MemoryStore::new(),
    );
    let body = serde_json::to_vec(&event).unwrap();
    let outcome = rx.apply_pulled(&body, time::OffsetDateTime::now_utc().unix_timestamp());
    assert_eq!(outcome.status(), 200, "{}", outcome.reason());
    let parsed: receiver::Event = serde_json::from_slice(&body).unwrap();
    let wanted = rx.files_to_fetch(&parsed).unwrap();
    assert_eq!(wanted.len(), 1);
    let r = website.request(reqwest::Method::GET, &wanted[0].href).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap().to_vec();
    rx.accept_file(&id, &masked_digest, &bytes).unwrap();
    let (media_type, served) = rx.file(&id, &masked_digest).unwrap().expect("served");
    assert_eq!(media_type, XLSX);
    assert_eq!(seal::ContentDigest::of(&served).to_string(), masked_digest);
    let record = ok(app.client().get(&format!("/api/v1/seals/{serial}")).await);
    assert_eq!(record["attachments"][0]["digest"], masked_digest.as_str(), "{record:#}");
    // Its cells hold the masks, and no part of it holds an ID number.
    let parts = entries(&served);
    for (name, text) in &parts {
        assert!(IDS.iter().all(|id| !text.contains(id)), "{name} still holds an ID number");
    }
    let strings = &parts.iter().find(|(n, _)| n == "xl/sharedStrings.xml").unwrap().1;
    assert!(masks.iter().all(|m| strings.contains(m.as_str())), "{strings}");
    app.stop().await;
}

/// In a real browser: the drafter opens the blocked 公示, sees the ID
/// numbers found in column C and the offer beside them, presses
/// 一键生成打码副本 once, and lands on the new version with what changed
/// per cell and no offer left; the page passes the accessibility check
/// before and after.
async fn the_drafter_masks_a_list_with_one_click_in_the_browser(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = Team::of(&app).await;
    let (id, submitted) =
        submitted_with(&t.drafter, "2026年第一批临时救助对象公示", "救助名单.xlsx", XLSX, gongshi_xlsx()).await;
    assert_eq!(submitted["state"], "blocked", "{submitted:#}");
    let masks: Vec<String> = id_findings(&submitted).into_iter().map(|(_, _, m)| m).collect();
    let b = tests::browser::Browser::start(&app.base, 1280, 900).await;
    b.login("zhou", "Pw-zhou-2026").await;
    b.goto(&format!("/items/{id}")).await;
    let offer = b.text("form.mask-offer").await;
    assert!(offer.contains("附件 救助名单.xlsx 中有 3 处个人信息可按建议打码"), "{offer}");
    b.assert_accessible("事项（打码前）").await;
    b.click_to("form.mask-offer button[type=submit]").await;
    assert!(b.path().await.contains("done=masked"), "{}", b.path().await);
    let diff = b.text("#masked").await;
    assert!(diff.contains("打码副本的修改（共 3 处）"), "{diff}");
    for ((cell, id), m) in ["C2", "C3", "C4"].iter().zip(IDS).zip(&masks) {
        let line = format!("附件 救助名单.xlsx，工作表 Sheet1 {cell}：“{id}” → “{m}”");
        assert!(diff.contains(&line), "missing {line} in {diff}");
    }
    assert!(b.all("form.mask-offer").await.is_empty(), "no offer on the masked version");
    b.assert_accessible("事项（打码后）").await;
    b.screenshot("masked-copy").await;
    let item = ok(t.drafter.get(&format!("/api/v1/items/{id}")).await);
    assert_eq!((item["current_version"].as_i64(), item["state"].as_str()), (Some(2), Some("draft")));
    b.stop().await;
    app.stop().await;
}

async fn csv_and_docx_masked_copies_replace_the_attachment(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("zhou", &[Role::Drafter], Some(UNIT)).await;
    app.review_team(Some(UNIT)).await;
    let csv = format!("序号,姓名,身份证号\n1,张某,{}\n2,李某,\"{}\"\n", IDS[0], IDS[1]);
    let docx = docx_with(&["临时救助对象公示", &format!("申请人张某，身份证号{}，家住某街道。", IDS[2])]);
    for (file, media_type, bytes) in [("名单.csv", "text/csv", csv.clone().into_bytes()), ("公示.docx", DOCX, docx)]
    {
        let (id, submitted) = submitted_with(&drafter, "临时救助对象公示", file, media_type, bytes).await;
        assert_eq!(submitted["state"], "blocked", "{file}: {submitted:#}");
        let found = id_findings(&submitted);
        assert!(!found.is_empty(), "{file}");
        let digest = submitted["current"]["content_digest"].as_str().unwrap();
        let masked = ok(mask(&drafter, &id, 1, digest, file).await);
        assert_eq!(masked["version"], 2);
        let changes = masked["changes"].as_array().unwrap();
        assert_eq!(changes.len(), found.len(), "{masked:#}");
        for (change, (locator, original, suggestion)) in changes.iter().zip(&found) {
            assert_eq!(
                (&change["locator"], &change["original"], &change["replacement"]),
                (locator, &json!(original), &json!(suggestion))
            );
        }
        let place = changes[0]["place"].as_str().unwrap();
        assert_eq!(place, if file.ends_with(".csv") { "单元格 C2" } else { "正文 第 2 段" }, "{masked:#}");
        // The stored copy is the answer's, and it passes the review.
        let new_digest = masked["attachment"]["digest"].as_str().unwrap();
        let r =
            drafter.request(reqwest::Method::GET, &format!("/api/v1/attachments/{new_digest}")).send().await.unwrap();
        let copy = r.bytes().await.unwrap().to_vec();
        assert_eq!(seal::ContentDigest::of(&copy).to_string(), new_digest);
        let text = if file.ends_with(".csv") {
            String::from_utf8(copy).unwrap()
        } else {
            entries(&copy).into_iter().map(|(_, t)| t).collect()
        };
        assert!(IDS.iter().all(|i| !text.contains(i)), "{file}: {text}");
        let resubmitted = ok(drafter.post(&format!("/api/v1/items/{id}/submit"), &json!({"version": 2})).await);
        assert_eq!(resubmitted["state"], "in_review", "{file}: {resubmitted:#}");
    }
    app.stop().await;
}

async fn stale_findings_other_units_reviewers_and_pdfs_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("zhou", &[Role::Drafter], Some(UNIT)).await;
    let other = app.user("qian", &[Role::Drafter], Some("江城市财政局")).await;
    let reviewer = app.user("shenhe9", &[Role::Reviewer], Some(UNIT)).await;
    app.review_team(Some(UNIT)).await;
    let (id, submitted) = submitted_with(&drafter, "临时救助对象公示", "救助名单.xlsx", XLSX, gongshi_xlsx()).await;
    let digest = submitted["current"]["content_digest"].as_str().unwrap().to_owned();

    // Someone else's item: a drafter of another unit does not see it, a
    // reviewer may not write it; nothing is stored.
    let (status, body) = mask(&other, &id, 1, &digest, "救助名单.xlsx").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = mask(&reviewer, &id, 1, &digest, "救助名单.xlsx").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(ok(drafter.get(&format!("/api/v1/items/{id}")).await)["current_version"], 1);

    // A wrong digest: the page the findings came from is stale.
    let wrong = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let (status, body) = mask(&drafter, &id, 1, wrong, "救助名单.xlsx").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("刷新"), "{body}");
    let (status, body) = mask(&drafter, &id, 1, &digest, "别的文件.xlsx").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    ok(mask(&drafter, &id, 1, &digest, "救助名单.xlsx").await);
    // Once more on version 1: stale.
    let (status, body) = mask(&drafter, &id, 1, &digest, "救助名单.xlsx").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // On version 2 before it is checked: the findings shown are the
    // previous version's, not this content's.
    let v2 = ok(drafter.get(&format!("/api/v1/items/{id}")).await);
    let v2_digest = v2["current"]["content_digest"].as_str().unwrap();
    let (status, body) = mask(&drafter, &id, 2, v2_digest, "救助名单.xlsx").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("尚未经过自动检查"), "{body}");
    // And the carried findings of the replaced file are gone from the page.
    let html = page(&drafter, &format!("/items/{id}")).await;
    assert!(!html.contains("一键生成打码副本") && !html.contains(&format!(">{}</mark>", IDS[0])), "{html}");
    assert_eq!(ok(drafter.get(&format!("/api/v1/items/{id}")).await)["current_version"], 2);

    // A PDF: no button; the page says plainly that it must be replaced,
    // and the API refuses.
    let (pdf_id, pdf) = submitted_with(
        &drafter,
        "临时救助对象公示",
        "救助名单.pdf",
        "application/pdf",
        b"%PDF-1.7\n%scanned\n".to_vec(),
    )
    .await;
    assert_eq!(pdf["state"], "blocked", "{pdf:#}");
    let html = page(&drafter, &format!("/items/{pdf_id}")).await;
    assert!(html.contains("附件 救助名单.pdf：此类文件无法自动打码，请替换文件后重新提交"), "{html}");
    assert!(!html.contains(&format!("action=\"/items/{pdf_id}/mask\"")), "{html}");
    let pdf_digest = pdf["current"]["content_digest"].as_str().unwrap();
    let (status, body) = mask(&drafter, &pdf_id, 1, pdf_digest, "救助名单.pdf").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("此类文件无法自动打码，请替换文件后重新提交"), "{body}");
    app.stop().await;
}
