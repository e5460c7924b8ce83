//! Issue 18: what is attached is read, in the sandboxed extractor, and
//! reviewed. Each attack of the acceptance paragraph goes through the real
//! server over loopback: a DOCX whose tracked deletion still holds a 身份证
//! number and whose comment holds a mobile number; an OFD 公文 whose first
//! page carries 秘密★1年; an XLSX 公示 with ID
//! numbers in column C and a hidden sheet; a zip bomb; an HTML body with a
//! hidden link; a PDF 公示 whose "redaction" is a black box over a 身份证
//! number that is still in the file; a PDF with a scanned, image-only page. Each is blocked with findings that say where (file, part,
//! paragraph, sheet and cell), and the gateway keeps serving.

use gateway::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::{Backend, Client as User, TestApp, on_both_backends, sample_item};

on_both_backends!(
    a_docx_tracked_deletion_and_comment_are_read_and_block,
    an_xlsx_gongshi_reports_ids_by_cell_and_the_hidden_sheet,
    a_zip_bomb_is_a_clear_blocking_finding_and_the_gateway_keeps_serving,
    an_html_body_with_a_hidden_link_is_blocked,
    an_ofd_with_a_secrecy_marking_on_its_first_page_is_blocked,
    a_pdf_id_number_under_a_black_box_is_found_and_blocks,
    an_image_only_pdf_page_is_not_scannable,
    a_scanned_list_is_read_by_ocr_and_its_mobile_and_id_numbers_block,
    an_image_ocr_cannot_read_is_not_reviewed_and_blocks_a_gongshi,
    a_scanned_pdf_page_is_read_by_ocr,
    a_gb18030_csv_as_excel_saves_it_is_accepted_and_read_by_cell,
    a_word_97_doc_is_read_its_tracked_deletion_comment_and_header_found
);

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/attachments").join(name)).unwrap()
}

async fn upload(drafter: &User, media_type: &str, bytes: Vec<u8>) -> String {
    let (status, body) = drafter
        .send(
            drafter
                .request(reqwest::Method::POST, "/api/v1/attachments")
                .header("content-type", media_type)
                .body(bytes),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["digest"].as_str().unwrap().to_owned()
}

/// Creates and submits an item with one attachment; returns the submit
/// answer, with the item's id under `"id"`.
async fn submit_with(drafter: &User, title: &str, file: &str, media_type: &str, bytes: Vec<u8>) -> Value {
    let digest = upload(drafter, media_type, bytes).await;
    let mut item = sample_item();
    item["title"] = json!(title);
    item["attachments"] = json!([{"name": file, "digest": digest}]);
    submit(drafter, &item).await
}

async fn submit(drafter: &User, item: &Value) -> Value {
    let created = drafter.create_item(item).await;
    let id = created["id"].as_str().unwrap();
    let (status, submitted) = drafter.post(&format!("/api/v1/items/{id}/submit"), &json!({"version": 1})).await;
    assert_eq!(status, StatusCode::OK, "{submitted}");
    // What the submit answer says is what the store kept.
    let (_, stored) = drafter.get(&format!("/api/v1/items/{id}")).await;
    assert_eq!(stored["state"], submitted["state"], "{stored}");
    let mut submitted = submitted;
    submitted["id"] = json!(id);
    submitted
}

fn findings(submitted: &Value) -> Vec<Value> {
    submitted["review"]["outcome"]["findings"].as_array().unwrap().clone()
}

/// The one finding with `rule` (or kind) whose locator has every pair of `at`.
#[track_caller]
fn find(submitted: &Value, key: &str, value: &str, at: &[(&str, Value)]) -> Value {
    let all = findings(submitted);
    let hits: Vec<&Value> = all
        .iter()
        .filter(|f| f[key] == value)
        .filter(|f| at.iter().all(|(k, v)| f["attachment"]["locator"][*k] == *v))
        .collect();
    assert!(!hits.is_empty(), "no {key} = {value} at {at:?} in {all:#?}");
    hits[0].clone()
}

/// The text the finding's span marks in its excerpt.
fn marked(f: &Value) -> String {
    let spot = &f["attachment"];
    let excerpt = spot["excerpt"].as_str().unwrap();
    let (s, e) = (spot["span"]["start"].as_u64().unwrap() as usize, spot["span"]["end"].as_u64().unwrap() as usize);
    excerpt[s..e].to_owned()
}

async fn a_docx_tracked_deletion_and_comment_are_read_and_block(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("zhou", &[Role::Drafter], Some("市民政局")).await;
    app.review_team(Some("市民政局")).await;
    let submitted =
        submit_with(&drafter, "关于低保对象的公示", "公示.docx", DOCX, fixture("tracked-deletion.docx")).await;
    assert_eq!(submitted["state"], "blocked", "{submitted}");
    assert_eq!(submitted["review"]["outcome"]["verdict"], "blocked");

    // The ID number deleted in the drafting round is still in the file.
    let id = find(
        &submitted,
        "kind",
        "id_number",
        &[("file", json!("公示.docx")), ("part", json!("deletion")), ("paragraph", json!(2))],
    );
    assert_eq!(
        (id["plugin"].as_str(), id["field"].as_str(), id["severity"].as_str()),
        (Some("pii"), Some("attachment"), Some("block"))
    );
    assert_eq!(marked(&id), "320102198001011238");
    assert!(id["message"].as_str().unwrap().starts_with("附件 公示.docx，修订删除，第 2 段（李科员）："), "{id}");
    // The comment's mobile number, and the comment itself.
    let mobile = find(&submitted, "kind", "mobile", &[("part", json!("comment")), ("detail", json!("王科长"))]);
    assert_eq!(marked(&mobile), "13800138000");
    let comment = find(&submitted, "rule_id", "META-001", &[("part", json!("comment"))]);
    assert_eq!(comment["severity"], "block");
    let deletion = find(&submitted, "rule_id", "META-001", &[("part", json!("deletion")), ("paragraph", json!(2))]);
    assert!(deletion["message"].as_str().unwrap().contains("修订删除（李科员）"), "{deletion}");
    find(&submitted, "rule_id", "META-001", &[("part", json!("hidden_text")), ("paragraph", json!(3))]);
    // The 内部资料 header, the author, the intranet link.
    find(&submitted, "rule_id", "SEC-004", &[("part", json!("header"))]);
    let author = find(&submitted, "rule_id", "META-001", &[("part", json!("property")), ("detail", json!("creator"))]);
    assert_eq!(author["severity"], "warn");
    let link = find(&submitted, "rule_id", "LNK-002", &[("part", json!("link"))]);
    assert!(link["message"].as_str().unwrap().contains("http://10.1.2.3/oa/list.xls"), "{link}");
    let runs = submitted["review"]["outcome"]["plugins"].as_array().unwrap();
    assert!(runs.iter().any(|r| r["name"] == "extract" && r["status"] == "ok"), "{runs:?}");
}

async fn an_xlsx_gongshi_reports_ids_by_cell_and_the_hidden_sheet(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("zhou", &[Role::Drafter], Some("市民政局")).await;
    app.review_team(Some("市民政局")).await;
    let submitted = submit_with(
        &drafter,
        "2025年第一批低保对象名单公示",
        "公示名单.xlsx",
        XLSX,
        fixture("gongshi-hidden-sheet.xlsx"),
    )
    .await;
    assert_eq!(submitted["state"], "blocked", "{submitted}");
    for (cell, id) in [("C2", "320102198001011238"), ("C3", "440305199003154568")] {
        let f = find(
            &submitted,
            "kind",
            "id_number",
            &[("file", json!("公示名单.xlsx")), ("sheet", json!("公示名单")), ("cell", json!(cell))],
        );
        assert_eq!(marked(&f), id);
        assert!(
            f["message"]
                .as_str()
                .unwrap()
                .starts_with(&format!("附件 公示名单.xlsx，工作表“公示名单”，单元格 {cell}："))
        );
    }
    let hidden = find(&submitted, "rule_id", "META-001", &[("sheet", json!("原始数据"))]);
    assert!(hidden["message"].as_str().unwrap().contains("工作表“原始数据”被隐藏"), "{hidden}");
    // What the hidden sheet holds is reviewed too.
    let phone = find(&submitted, "kind", "mobile", &[("sheet", json!("原始数据")), ("cell", json!("A1"))]);
    assert_eq!(marked(&phone), "13912345678");
    find(&submitted, "rule_id", "META-001", &[("sheet", json!("公示名单")), ("cell", json!("4:4"))]);
    find(&submitted, "rule_id", "META-001", &[("sheet", json!("公示名单")), ("cell", json!("D2"))]);

    // The item page shows the finding in an excerpt of the extracted text
    // with its locator.
    let id = submitted["id"].as_str().unwrap();
    let r = drafter.http.get(format!("{}/items/{id}", drafter.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("<span class=\"muted\">附件 公示名单.xlsx，工作表“公示名单”，单元格 C2：</span>")
            && html.contains(">320102198001011238</mark>"),
        "{html}"
    );
}

/// A CSV as Excel saves it on a Chinese system (GB18030, CRLF) is accepted
/// by the upload and read by the extractor: the ID number is found in its
/// cell. Bytes that are no text in any encoding read are still refused.
async fn a_gb18030_csv_as_excel_saves_it_is_accepted_and_read_by_cell(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("zhou", &[Role::Drafter], Some("市民政局")).await;
    app.review_team(Some("市民政局")).await;
    let csv = "序号,姓名,身份证号,补助金额\r\n1,王某某,320102198001011238,1200\r\n";
    let gb: Vec<u8> = csv
        .chars()
        .flat_map(|c| match c {
            '序' => vec![0xD0, 0xF2],
            '号' => vec![0xBA, 0xC5],
            '姓' => vec![0xD0, 0xD5],
            '名' => vec![0xC3, 0xFB],
            '身' => vec![0xC9, 0xED],
            '份' => vec![0xB7, 0xDD],
            '证' => vec![0xD6, 0xA4],
            '补' => vec![0xB2, 0xB9],
            '助' => vec![0xD6, 0xFA],
            '金' => vec![0xBD, 0xF0],
            '额' => vec![0xB6, 0xEE],
            '王' => vec![0xCD, 0xF5],
            '某' => vec![0xC4, 0xB3],
            c if c.is_ascii() => vec![c as u8],
            c => panic!("{c} has no GB2312 code in this table"),
        })
        .collect();
    assert!(std::str::from_utf8(&gb).is_err(), "the file is not UTF-8");
    let submitted = submit_with(&drafter, "2025年第一批临时救助对象名单公示", "救助名单.csv", "text/csv", gb).await;
    assert_eq!(submitted["state"], "blocked", "{submitted}");
    let f = find(&submitted, "kind", "id_number", &[("file", json!("救助名单.csv")), ("cell", json!("C2"))]);
    assert_eq!(marked(&f), "320102198001011238");
    // Its masked copy is written back in GB18030, stored, and passes review.
    let id = submitted["id"].as_str().unwrap();
    let digest = submitted["current"]["content_digest"].as_str().unwrap();
    let body = json!({"version": 1, "content_digest": digest, "attachment": "救助名单.csv"});
    let (status, masked) = drafter.post(&format!("/api/v1/items/{id}/attachments/mask"), &body).await;
    assert_eq!(status, StatusCode::OK, "{masked}");
    let copy = masked["attachment"]["digest"].as_str().unwrap();
    let r = drafter.request(reqwest::Method::GET, &format!("/api/v1/attachments/{copy}")).send().await.unwrap();
    let copy = r.bytes().await.unwrap().to_vec();
    assert!(std::str::from_utf8(&copy).is_err(), "still GB18030");
    assert!(!copy.windows(18).any(|w| w == b"320102198001011238"), "masked");
    let (status, resubmitted) = drafter.post(&format!("/api/v1/items/{id}/submit"), &json!({"version": 2})).await;
    assert_eq!((status, resubmitted["state"].as_str()), (StatusCode::OK, Some("in_review")), "{resubmitted}");
    let (status, body) = drafter
        .send(
            drafter
                .request(reqwest::Method::POST, "/api/v1/attachments")
                .header("content-type", "text/csv")
                .body(b"a,b\r\n\xff\xfe\xfd".to_vec()),
        )
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("文件内容与声明的类型（CSV 表格）不符"), "{body}");
}

/// A Word 97-2003 `.doc` (the binary format many offices still save in) is
/// read in the sandbox like a DOCX: the ID number in a tracked deletion,
/// the comment, the hidden text, the 内部资料 header and the link with
/// nothing shown, each with its paragraph.
async fn a_word_97_doc_is_read_its_tracked_deletion_comment_and_header_found(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("zhou", &[Role::Drafter], Some("市民政局")).await;
    app.review_team(Some("市民政局")).await;
    let submitted =
        submit_with(&drafter, "关于低保对象的公示", "公示.doc", "application/msword", fixture("tracked-deletion.doc"))
            .await;
    assert_eq!(submitted["state"], "blocked", "{submitted}");
    let id = find(
        &submitted,
        "kind",
        "id_number",
        &[("file", json!("公示.doc")), ("part", json!("deletion")), ("paragraph", json!(2))],
    );
    assert_eq!(marked(&id), "320102198001011238");
    assert_eq!(id["severity"], "block");
    find(&submitted, "rule_id", "META-001", &[("part", json!("comment"))]);
    find(&submitted, "rule_id", "META-001", &[("part", json!("hidden_text")), ("paragraph", json!(3))]);
    find(&submitted, "rule_id", "SEC-004", &[("part", json!("header"))]);
    let links: Vec<Value> = findings(&submitted)
        .into_iter()
        .filter(|f| {
            f["attachment"]["locator"]["part"] == "link" && f["rule_id"].as_str().unwrap_or("").starts_with("LNK-")
        })
        .collect();
    assert!(links.iter().any(|l| l["message"].as_str().unwrap().contains("http://oa.intra/doc")), "{links:#?}");
    // Nothing said it could not be read.
    assert!(findings(&submitted).iter().all(|f| f["rule_id"] != "META-002"), "{submitted:#}");
}

async fn a_zip_bomb_is_a_clear_blocking_finding_and_the_gateway_keeps_serving(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("zhou", &[Role::Drafter], Some("市民政局")).await;
    app.review_team(Some("市民政局")).await;
    let bomb = fixture("zip-bomb.zip");
    assert!(bomb.len() < 100_000);
    // As an archive, and disguised as a Word document.
    for (name, media_type) in [("材料.zip", "application/zip"), ("材料.docx", DOCX)] {
        let submitted = submit_with(&drafter, "关于补助发放的通知", name, media_type, bomb.clone()).await;
        assert_eq!(submitted["state"], "blocked", "{submitted}");
        let f = find(&submitted, "rule_id", "META-002", &[("file", json!(format!("{name}/名单.csv")))]);
        assert_eq!(f["severity"], "block");
        let message = f["message"].as_str().unwrap();
        assert!(message.contains("疑似压缩炸弹") && message.contains(&format!("{name}/名单.csv")), "{message}");
    }
    // The gateway keeps serving: a clean item still goes to review.
    let clean = submit(&drafter, &sample_item()).await;
    assert_eq!(clean["state"], "in_review", "{clean}");
}

async fn an_html_body_with_a_hidden_link_is_blocked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("zhou", &[Role::Drafter], Some("市民政局")).await;
    app.review_team(Some("市民政局")).await;
    let mut item = sample_item();
    let body = std::str::from_utf8(&fixture("hidden-link.html")).unwrap().to_owned();
    item["body"] = json!(format!("{body}<p>另见<a href=\"https://unlisted.example.org/page\">外部网站</a>。</p>"));
    let submitted = submit(&drafter, &item).await;
    assert_eq!(submitted["state"], "blocked", "{submitted}");
    let all = findings(&submitted);
    let hidden: Vec<&Value> = all.iter().filter(|f| f["rule_id"] == "LNK-001" && f["severity"] == "block").collect();
    let targets: Vec<&str> = hidden.iter().map(|f| f["attachment"]["locator"]["detail"].as_str().unwrap()).collect();
    assert_eq!(targets, ["http://casino.example.com/", "file://oa-server/share/名单.xls"], "{all:#?}");
    assert!(hidden.iter().all(|f| f["field"] == "body" && f["severity"] == "block"));
    assert!(hidden[0]["message"].as_str().unwrap().starts_with("正文，链接"), "{}", hidden[0]["message"]);
    // The visible link to an official site is no finding; one to a site
    // outside the policy's allow-list (`[links]`) warns.
    assert!(!all.iter().any(|f| f["message"].as_str().unwrap().contains("www.gov.cn")), "{all:#?}");
    let unlisted: Vec<&Value> = all.iter().filter(|f| f["rule_id"] == "LNK-001" && f["severity"] == "warn").collect();
    assert_eq!(unlisted.len(), 1, "{all:#?}");
    let message = unlisted[0]["message"].as_str().unwrap();
    assert!(
        message.contains("unlisted.example.org") && message.contains("不在本机关允许链接的网站清单中"),
        "{message}"
    );
}

async fn an_ofd_with_a_secrecy_marking_on_its_first_page_is_blocked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("zhou", &[Role::Drafter], Some("市民政局")).await;
    app.review_team(Some("市民政局")).await;
    let submitted = submit_with(
        &drafter,
        "关于做好安全生产工作的通知",
        "通知.ofd",
        "application/ofd",
        fixture("secret-marking.ofd"),
    )
    .await;
    assert_eq!(submitted["state"], "blocked", "{submitted}");
    // The 国家秘密标志 on page 1, found by the secrecy plugin in the OFD's
    // page text, with the page and text object it is in.
    let mark = find(
        &submitted,
        "kind",
        "classification_marker",
        &[("file", json!("通知.ofd")), ("part", json!("body")), ("page", json!(1)), ("paragraph", json!(1))],
    );
    assert_eq!(
        (mark["plugin"].as_str(), mark["field"].as_str(), mark["severity"].as_str()),
        (Some("secrecy"), Some("attachment"), Some("block"))
    );
    assert_eq!(marked(&mark), "秘密★1年");
    assert!(mark["message"].as_str().unwrap().starts_with("附件 通知.ofd，第 1 页"), "{mark}");
    // What else the package holds: the ID number in the embedded attachment,
    // the attachment itself, the watermark annotation on page 2, the author.
    let id =
        find(&submitted, "kind", "id_number", &[("file", json!("通知.ofd/联系人名单.csv")), ("cell", json!("B2"))]);
    assert_eq!(id["severity"], "block");
    let embedded = find(
        &submitted,
        "rule_id",
        "META-001",
        &[("file", json!("通知.ofd")), ("detail", json!("Doc_0/Attachs/contacts.csv"))],
    );
    assert_eq!(embedded["severity"], "block");
    find(&submitted, "rule_id", "META-001", &[("part", json!("comment")), ("page", json!(2))]);
    find(&submitted, "rule_id", "META-001", &[("part", json!("property")), ("detail", json!("Author"))]);
    let runs = submitted["review"]["outcome"]["plugins"].as_array().unwrap();
    assert!(runs.iter().any(|r| r["name"] == "extract" && r["status"] == "ok"), "{runs:?}");
}

async fn a_pdf_id_number_under_a_black_box_is_found_and_blocks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("zhou", &[Role::Drafter], Some("市民政局")).await;
    app.review_team(Some("市民政局")).await;
    let submitted =
        submit_with(&drafter, "关于低保对象的公示", "公示.pdf", "application/pdf", fixture("black-box-redaction.pdf"))
            .await;
    assert_eq!(submitted["state"], "blocked", "{submitted}");
    // The box hides the number on screen; the text under it is still in the
    // file, and pii finds it there, on page 1.
    let id = find(
        &submitted,
        "kind",
        "id_number",
        &[("file", json!("公示.pdf")), ("part", json!("hidden_text")), ("page", json!(1))],
    );
    assert_eq!(
        (id["plugin"].as_str(), id["field"].as_str(), id["severity"].as_str()),
        (Some("pii"), Some("attachment"), Some("block"))
    );
    assert_eq!(marked(&id), "320102198001011238");
    assert!(id["message"].as_str().unwrap().starts_with("附件 公示.pdf，第 1 页"), "{id}");
    // The failed redaction itself blocks, naming the covered text.
    let covered = find(&submitted, "rule_id", "META-001", &[("part", json!("hidden_text")), ("page", json!(1))]);
    assert_eq!(covered["severity"], "block");
    let message = covered["message"].as_str().unwrap();
    assert!(message.contains("遮盖无效") && message.contains("320102198001011238"), "{covered}");
    // What the box does not cover is the page's text, and it passes.
    assert!(
        !findings(&submitted).iter().any(|f| f["attachment"]["locator"]["part"] == "body"
            && f["attachment"]["locator"]["file"] == "公示.pdf"
            && f["severity"] == "block"),
        "{submitted}"
    );
    let runs = submitted["review"]["outcome"]["plugins"].as_array().unwrap();
    assert!(runs.iter().any(|r| r["name"] == "extract" && r["status"] == "ok"), "{runs:?}");
}

async fn an_image_only_pdf_page_is_not_scannable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("zhou", &[Role::Drafter], Some("市民政局")).await;
    app.review_team(Some("市民政局")).await;
    // In a 公示 the unread scanned page blocks ...
    let submitted =
        submit_with(&drafter, "低保对象名单公示", "名单.pdf", "application/pdf", fixture("image-only-page.pdf")).await;
    assert_eq!(submitted["state"], "blocked", "{submitted}");
    let page = find(&submitted, "rule_id", "META-002", &[("file", json!("名单.pdf")), ("page", json!(2))]);
    assert_eq!((page["kind"].as_str(), page["severity"].as_str()), (Some("attachment_unreadable"), Some("block")));
    assert!(page["message"].as_str().unwrap().contains("没有文字层"), "{page}");
    // ... page 1 has text, so it is not flagged.
    assert!(
        !findings(&submitted).iter().any(|f| f["rule_id"] == "META-002" && f["attachment"]["locator"]["page"] == 1),
        "{submitted}"
    );
    // ... elsewhere it is a warning that says the page was not read.
    let submitted = submit_with(
        &drafter,
        "关于开展政务公开业务培训的通知",
        "材料.pdf",
        "application/pdf",
        fixture("image-only-page.pdf"),
    )
    .await;
    let page = find(&submitted, "rule_id", "META-002", &[("file", json!("材料.pdf")), ("page", json!(2))]);
    assert_eq!(page["severity"], "warn", "{page}");
}

/// A photographed 低保 list (tests/data/attachments/make_scans.py): OCR
/// reads it in a bounded child process, and pii finds the mobile and the ID
/// number on their lines, with the line's box.
async fn a_scanned_list_is_read_by_ocr_and_its_mobile_and_id_numbers_block(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("zhou", &[Role::Drafter], Some("市民政局")).await;
    app.review_team(Some("市民政局")).await;
    let submitted = submit_with(&drafter, "低保对象公示", "名单.png", "image/png", fixture("scanned-list.png")).await;
    assert_eq!(submitted["state"], "blocked", "{submitted}");
    let mobile = find(&submitted, "kind", "mobile", &[("file", json!("名单.png")), ("part", json!("scanned"))]);
    assert_eq!(marked(&mobile), "13812345678");
    let line = mobile["attachment"]["locator"]["paragraph"].as_u64().unwrap();
    assert!(
        mobile["message"].as_str().unwrap().starts_with(&format!("附件 名单.png，第 1 页，文字识别，第 {line} 行：")),
        "{mobile}"
    );
    let bbox: Vec<u32> =
        mobile["attachment"]["locator"]["detail"].as_str().unwrap().split(',').map(|n| n.parse().unwrap()).collect();
    assert_eq!(bbox.len(), 4, "{mobile}");
    assert!(bbox[2] > 0 && bbox[3] > 0 && bbox[0] + bbox[2] <= 1240 && bbox[1] + bbox[3] <= 600, "{bbox:?}");
    let id = find(&submitted, "kind", "id_number", &[("file", json!("名单.png")), ("paragraph", json!(line))]);
    assert_eq!(marked(&id), "320102198001011238");
    // The image was read: no "not reviewed" finding for it.
    assert!(findings(&submitted).iter().all(|f| f["rule_id"] != "META-002"), "{submitted:#}");
}

/// What OCR cannot read is never a pass: an image with no text in a 公示
/// blocks (META-002), and the same image in a plain notice only warns.
async fn an_image_ocr_cannot_read_is_not_reviewed_and_blocks_a_gongshi(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("zhou", &[Role::Drafter], Some("市民政局")).await;
    app.review_team(Some("市民政局")).await;
    // A blank 64×64 greyscale PNG: a valid image without a word on it.
    let blank = blank_png();
    let gongshi = submit_with(&drafter, "低保对象公示", "名单.png", "image/png", blank.clone()).await;
    assert_eq!(gongshi["state"], "blocked", "{gongshi}");
    let f = find(&gongshi, "rule_id", "META-002", &[("file", json!("名单.png"))]);
    assert_eq!(f["severity"], "block");
    assert!(f["message"].as_str().unwrap().contains("未识别出文字"), "{f}");

    let mut item = sample_item();
    item["title"] = json!("关于开展道路维修的通知");
    item["body"] = json!("各有关单位：现将道路维修安排通知如下，请遵照执行。");
    item["attachments"] = json!([{"name": "示意图.png", "digest": upload(&drafter, "image/png", blank).await}]);
    let notice = submit(&drafter, &item).await;
    let f = find(&notice, "rule_id", "META-002", &[("file", json!("示意图.png"))]);
    assert_eq!(f["severity"], "warn", "{f}");
}

/// A blank PNG (64×64, 8-bit greyscale), written out byte by byte: zlib
/// with stored blocks and the CRCs computed here.
fn blank_png() -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        out.extend(&body);
        out.extend(crc32(&body).to_be_bytes());
    }
    let (w, h) = (64u32, 64u32);
    let mut raw = Vec::new();
    for _ in 0..h {
        raw.push(0); // filter: none
        raw.extend(std::iter::repeat_n(255u8, w as usize));
    }
    // zlib: header, one stored block, Adler-32.
    let mut z = vec![0x78, 0x01, 0x01];
    z.extend((raw.len() as u16).to_le_bytes());
    z.extend((!(raw.len() as u16)).to_le_bytes());
    z.extend(&raw);
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    z.extend(((b << 16) | a).to_be_bytes());
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &z);
    chunk(&mut png, b"IEND", &[]);
    png
}

/// The same photographed list as an image-only PDF: the extractor reports
/// the page without a text layer, the gateway rasterises it (pdftoppm) and
/// reads it (Tesseract), both bounded child processes.
async fn a_scanned_pdf_page_is_read_by_ocr(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("zhou", &[Role::Drafter], Some("市民政局")).await;
    app.review_team(Some("市民政局")).await;
    let submitted =
        submit_with(&drafter, "低保对象公示", "名单.pdf", "application/pdf", fixture("scanned-list.pdf")).await;
    assert_eq!(submitted["state"], "blocked", "{submitted}");
    let id = find(
        &submitted,
        "kind",
        "id_number",
        &[("file", json!("名单.pdf")), ("page", json!(1)), ("part", json!("scanned"))],
    );
    assert_eq!(marked(&id), "320102198001011238");
    let mobile = find(&submitted, "kind", "mobile", &[("file", json!("名单.pdf")), ("page", json!(1))]);
    assert_eq!(marked(&mobile), "13812345678");
    assert!(findings(&submitted).iter().all(|f| f["rule_id"] != "META-002"), "the page was read: {submitted:#}");
}
