//! Issue 16, the attacks on availability and input handling: each test
//! performs the attack against the real server and shows it fails, with
//! nothing half-stored. Large diffs do not stall the service (finding 3);
//! the data directory is private (7); attachments are read only through
//! an item (9); integers are bounded and no panic reaches a client (11);
//! exports defuse formulas (13); request text never reaches a header (15);
//! hidden characters are findings and shown visibly (17).

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use gateway::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Row;
use tests::team::{Team, ok};
use tests::{Backend, Client, TestApp, on_both_backends, sample_item};

on_both_backends!(
    issue_16_large_diffs_do_not_stall_the_service,
    issue_16_the_data_directory_is_private,
    issue_16_attachments_are_read_only_through_a_readable_item,
    issue_16_request_integers_are_bounded,
    issue_16_exports_defuse_formulas,
    issue_16_request_text_never_reaches_a_header,
    issue_16_hidden_characters_are_findings_and_shown_visibly,
);

const UNIT: &str = "市政府办公室";

/// A body of about `bytes` bytes of distinct lines; `variant` changes one
/// character of every line, so that no line of one variant is in the other.
fn big_body(bytes: usize, variant: char) -> String {
    let mut out = String::with_capacity(bytes + 100);
    let mut n = 0u64;
    while out.len() < bytes {
        out.push_str(&format!(
            "第{n}段：为进一步做好政务公开工作，{variant}现将有关事项通知如下，请结合实际认真贯彻落实。\n"
        ));
        n += 1;
    }
    out
}

/// Finding 3: two versions of 7 MB each, diffed by three requests at once
/// (and the item page, which runs the same diff): `/healthz` keeps
/// answering within a second, and the diffs finish.
async fn issue_16_large_diffs_do_not_stall_the_service(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("drafter1", &[Role::Drafter], Some(UNIT)).await;
    let mut item = sample_item();
    item["body"] = json!(big_body(7 << 20, '甲'));
    let id = drafter.create_item(&item).await["id"].as_str().unwrap().to_owned();
    item["body"] = json!(big_body(7 << 20, '乙'));
    item["base_version"] = json!(1);
    let (status, edited) = drafter.put(&format!("/api/v1/items/{id}"), &item).await;
    assert_eq!(status, StatusCode::OK, "{edited}");

    let started = Instant::now();
    let mut diffs = Vec::new();
    for _ in 0..3 {
        let drafter = drafter.clone();
        let path = format!("/api/v1/items/{id}/diff?from=1&to=2");
        diffs.push(tokio::spawn(async move {
            let r = drafter.request(Method::GET, &path).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            let bytes = r.bytes().await.unwrap();
            // Parsing tens of megabytes is CPU work of the test's own: off
            // the runtime that also runs the server under test.
            tokio::task::spawn_blocking(move || serde_json::from_slice::<Value>(&bytes).unwrap()).await.unwrap()
        }));
    }
    let page = {
        let drafter = drafter.clone();
        let url = format!("{}/items/{id}?from=1", drafter.base);
        tokio::spawn(async move { drafter.http.get(url).send().await.unwrap().status() })
    };
    let health = reqwest::Client::new();
    let mut slowest = Duration::ZERO;
    let mut probes = 0;
    while diffs.iter().any(|d| !d.is_finished()) || !page.is_finished() {
        let asked = Instant::now();
        let r = tokio::time::timeout(Duration::from_secs(5), health.get(format!("{}/healthz", app.base)).send())
            .await
            .expect("/healthz answers within 5 s while large diffs run")
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        slowest = slowest.max(asked.elapsed());
        probes += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(started.elapsed() < Duration::from_secs(120), "the diffs did not finish in two minutes");
    }
    assert!(probes >= 3, "the diffs ran for a while ({probes} probes), so the probes measured something");
    assert!(slowest < Duration::from_secs(1), "/healthz took {slowest:?} while large diffs ran");
    for d in diffs {
        let body = d.await.unwrap();
        assert_eq!(body["body"]["changed"], true);
        // Bounded: correct, but past the time budget only by whole lines.
        assert_eq!(body["body"]["coarse"], true, "a 7 MB rewrite is past the budget");
        assert!(!body["body"]["lines"].as_array().unwrap().is_empty());
    }
    assert_eq!(page.await.unwrap(), StatusCode::OK);
    app.stop().await;
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every directory and file under `dir` with its mode.
fn modes(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u32, bool)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(path) = pending.pop() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        out.push((path.clone(), meta.permissions().mode() & 0o777, meta.is_dir()));
        if meta.is_dir() {
            pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        }
    }
    out
}

/// Finding 7: a data directory the gateway creates is 0700 and every file
/// in it (the SQLite database with its -wal and -shm, keys) 0600 from its
/// creation; one left readable by an earlier version is made private at
/// start, with a log line.
async fn issue_16_the_data_directory_is_private(backend: Backend) {
    let mut app = TestApp::spawn_with(backend, |s| s.data_dir = s.data_dir.join("fresh")).await;
    let dir = app.settings().data_dir.clone();
    let drafter = app.user("drafter1", &[Role::Drafter], Some(UNIT)).await;
    drafter.create_item(&sample_item()).await;
    let all = modes(&dir);
    if backend == Backend::Sqlite {
        for name in ["gateway.db", "gateway.db-wal", "gateway.db-shm"] {
            assert!(all.iter().any(|(p, ..)| p.ends_with(name)), "{name} exists: {all:?}");
        }
    }
    assert!(all.iter().any(|(p, ..)| p.ends_with("keys")), "{all:?}");
    for (path, mode, is_dir) in &all {
        let want = if *is_dir { 0o700 } else { 0o600 };
        assert_eq!(*mode, want, "{} is {mode:o}", path.display());
    }

    // As an earlier version left it: the directory and a file readable by all.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let notes = dir.join("exported.csv");
    std::fs::write(&notes, "草稿").unwrap();
    std::fs::set_permissions(&notes, std::fs::Permissions::from_mode(0o644)).unwrap();
    if backend == Backend::Sqlite {
        std::fs::set_permissions(dir.join("gateway.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    app.restart().await;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&notes), 0o600);
    if backend == Backend::Sqlite {
        assert_eq!(mode(&dir.join("gateway.db")), 0o600);
    }
    // Still serving the same data.
    let (status, list) = drafter.rebased(&app.base).get("/api/v1/items").await;
    assert_eq!((status, list["items"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)));
    app.stop().await;
}

async fn upload(client: &Client, bytes: &'static [u8]) -> String {
    let request = client.request(Method::POST, "/api/v1/attachments").header("content-type", "application/pdf");
    let (status, body) = client.send(request.body(bytes)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["digest"].as_str().unwrap().to_owned()
}

async fn download(client: &Client, digest: &str) -> (StatusCode, Vec<u8>) {
    let r = client.request(Method::GET, &format!("/api/v1/attachments/{digest}")).send().await.unwrap();
    let status = r.status();
    if status.is_client_error() {
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
    (status, r.bytes().await.unwrap().to_vec())
}

fn with_attachment(title: &str, name: &str, digest: &str) -> Value {
    let mut item = sample_item();
    item["title"] = json!(title);
    item["attachments"] = json!([{"name": name, "digest": digest}]);
    item
}

/// Finding 9: an attachment of a unit's draft is read by that unit and by
/// the reviewers, never by another unit's drafter, a drafter who names its
/// digest in an attachment's name, or a channel token with `items:read`; a
/// digest two items share is read by a reader of either.
async fn issue_16_attachments_are_read_only_through_a_readable_item(backend: Backend) {
    const SECRET: &[u8] = b"%PDF-1.7 low-income household list with id numbers";
    const OTHER: &[u8] = b"%PDF-1.7 an unrelated file";
    let app = TestApp::spawn(backend).await;
    let owner = app.user("owner1", &[Role::Drafter], Some("民政局")).await;
    let colleague = app.user("colleague1", &[Role::Drafter], Some("民政局")).await;
    let outsider = app.user("outsider1", &[Role::Drafter], Some("住建局")).await;
    let sharer = app.user("sharer1", &[Role::Drafter], Some("财政局")).await;
    let reviewer = app.user("reviewer1", &[Role::Reviewer], Some("民政局")).await;
    let channel = app.channel_account("webcms").await.token(&["channel", "items:read"], &["website"]).await;

    let digest = upload(&owner, SECRET).await;
    // Before any item names it, only its uploader reads it.
    assert_eq!(download(&owner, &digest).await, (StatusCode::OK, SECRET.to_vec()));
    assert_eq!(download(&colleague, &digest).await.0, StatusCode::NOT_FOUND);
    owner.create_item(&with_attachment("关于低保对象名单的通知", "名单.pdf", &digest)).await;

    let before = app.snapshot().await;
    for (who, client) in [("another unit", &outsider), ("a channel token", &channel), ("the third unit", &sharer)] {
        let (status, body) = download(client, &digest).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who} read it: {}", String::from_utf8_lossy(&body));
    }
    // Unknown and malformed digests look the same.
    assert_eq!(download(&outsider, &format!("sha256:{}", "0".repeat(64))).await.0, StatusCode::NOT_FOUND);
    assert_eq!(download(&outsider, "sha256:zz").await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.snapshot().await, before, "refused reads stored nothing");
    // Naming the digest in an attachment's name of one's own item is no key.
    let own = upload(&outsider, OTHER).await;
    outsider.create_item(&with_attachment("无关通知", &format!("{digest}.pdf"), &own)).await;
    assert_eq!(download(&outsider, &digest).await.0, StatusCode::NOT_FOUND);

    // The unit and the reviewers read it through the item.
    assert_eq!(download(&colleague, &digest).await, (StatusCode::OK, SECRET.to_vec()));
    assert_eq!(download(&reviewer, &digest).await.0, StatusCode::OK);
    // A second unit attaches the same bytes (the same digest) to its own
    // item: a reader of either item reads it, a third unit still not.
    assert_eq!(upload(&sharer, SECRET).await, digest);
    assert_eq!(download(&sharer, &digest).await.0, StatusCode::NOT_FOUND, "storing the bytes again is no key");
    sharer.create_item(&with_attachment("关于复核低保名单的通知", "名单.pdf", &digest)).await;
    assert_eq!(download(&sharer, &digest).await, (StatusCode::OK, SECRET.to_vec()));
    assert_eq!(download(&colleague, &digest).await.0, StatusCode::OK);
    assert_eq!(download(&outsider, &digest).await.0, StatusCode::NOT_FOUND);
    assert_eq!(download(&channel, &digest).await.0, StatusCode::NOT_FOUND);
    app.stop().await;
}

/// A request whose answer must be a problem document with a 4xx status
/// and leave the store as it was; returns the status.
async fn refused(app: &TestApp, client: &Client, request: reqwest::RequestBuilder, what: &str) -> StatusCode {
    let before = app.snapshot().await;
    let (status, body) = client.send(request).await;
    assert!(status.is_client_error(), "{what}: {status} {body}");
    assert!(body["type"].as_str().is_some_and(|t| t.starts_with("urn:gateway:problem:")), "{what}: {body}");
    assert_eq!(app.snapshot().await, before, "{what} changed the store");
    status
}

/// Finding 11: the two reported panics, then every integer of every
/// request type and query string with extreme values: each answer is a
/// problem document or a success, never a dropped connection or a 500.
async fn issue_16_request_integers_are_bounded(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = Team::of(&app).await;
    let channel_account = app.channel_account("webcms").await;
    let auditor = app.user("audit", &[Role::Auditor], None).await;

    // The reported attacks.
    let token = |days: Value| json!({"name": "x", "scopes": ["items:read"], "expires_in_days": days});
    for days in [json!(4_294_967_295u64), json!(0), json!(3651)] {
        let r = t.drafter.request(Method::POST, "/api/v1/tokens").json(&token(days.clone()));
        let status = refused(&app, &t.drafter, r, &format!("expires_in_days {days}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (status, made) = t.drafter.post("/api/v1/tokens", &token(json!(3650))).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let channel = channel_account.token(&["channel"], &["website"]).await;
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    for cursor in [
        "c1.0.-9223372036854775808",
        "c1.-1.0",
        "c1.9223372036854775807.9223372036854775807",
        "c1.0.99999999999999999999",
    ] {
        let path = format!("/api/v1/channels/website/changes?cursor={}", b64(cursor));
        let status = refused(&app, &channel, channel.request(Method::GET, &path), cursor).await;
        assert!(matches!(status, StatusCode::BAD_REQUEST | StatusCode::GONE), "{cursor}: {status}");
    }

    // The sweep: every numeric field, extreme values.
    let id = t.draft("关于开展2025年度政务公开业务培训的通知", &["website"]).await;
    let extremes =
        ["-9223372036854775808", "-1", "0", "9223372036854775807", "18446744073709551615", "4294967296", "1e400"];
    let mut queries = Vec::new();
    for x in extremes {
        queries.extend([
            (&t.drafter, format!("/api/v1/items?limit={x}")),
            (&t.drafter, format!("/api/v1/items/{id}/diff?from={x}&to=1")),
            (&t.drafter, format!("/api/v1/items/{id}/diff?from=1&to={x}")),
            (&t.drafter, format!("/api/v1/items/{id}/versions/{x}")),
            (&auditor, format!("/api/v1/audit/events?after={x}")),
            (&auditor, format!("/api/v1/audit/events?limit={x}")),
            (&channel, format!("/api/v1/channels/website/changes?limit={x}")),
            (&channel, format!("/api/v1/channels/website/changes?wait={x}")),
            (&channel, format!("/api/v1/channels/website/feed.json?limit={x}")),
            (&channel, format!("/api/v1/channels/website/feed.atom?limit={x}")),
            (
                &t.publisher,
                format!("/api/v1/channel-endpoints/00000000-0000-0000-0000-000000000000/deliveries?limit={x}"),
            ),
            (&t.drafter, format!("/api/v1/seal-status?cursor={x}")),
            (&t.drafter, format!("/api/v1/seal-status?limit={x}")),
            (&t.drafter, format!("/api/v1/log/proof/inclusion?serial=X&size={x}")),
            (&t.drafter, format!("/api/v1/log/proof/consistency?from={x}")),
            (&t.drafter, format!("/api/v1/log/proof/consistency?from=0&to={x}")),
        ]);
    }
    for (client, path) in &queries {
        let before = app.snapshot().await;
        let (status, body) = client.get(path).await;
        assert!(!status.is_server_error(), "GET {path}: {status} {body}");
        assert_eq!(app.snapshot().await, before, "GET {path} changed the store");
    }
    for x in extremes {
        let n: Value = serde_json::from_str(x).unwrap_or(json!(x));
        let mut edit = sample_item();
        edit["base_version"] = n.clone();
        let bodies = [
            (Method::PUT, format!("/api/v1/items/{id}"), edit),
            (Method::POST, format!("/api/v1/items/{id}/submit"), json!({"version": n})),
            (
                Method::POST,
                format!("/api/v1/items/{id}/comments"),
                json!({"version": n, "field": "body", "body": "意见"}),
            ),
            (
                Method::POST,
                format!("/api/v1/items/{id}/comments"),
                json!({"version": 1, "field": "body", "start": n, "end": n, "body": "意见"}),
            ),
        ];
        for (method, path, body) in bodies {
            let client = if path.ends_with("comments") { &t.first } else { &t.drafter };
            let before = app.snapshot().await;
            let (status, answer) = client.send(client.request(method.clone(), &path).json(&body)).await;
            assert!(!status.is_server_error(), "{method} {path} {body}: {status} {answer}");
            if !status.is_success() {
                assert_eq!(app.snapshot().await, before, "{method} {path} {body} changed the store");
            }
        }
        // The same fields through the web forms, and the page's `from`.
        let page = format!("{}/items/{id}?from={x}", app.base);
        let r = t.drafter.http.get(page).send().await.unwrap();
        assert!(!r.status().is_server_error(), "item page from={x}: {}", r.status());
    }
    // Still serving.
    assert_eq!(ok(t.drafter.get(&format!("/api/v1/items/{id}")).await)["current_version"], 1);
    app.stop().await;
}

/// Inflates the member `name` of a ZIP file (an XLSX), which rust_xlsxwriter
/// writes deflated with its local header first.
fn zip_member(zip: &[u8], name: &str) -> String {
    let at = zip.windows(name.len()).position(|w| w == name.as_bytes()).expect("member present");
    let header = at - 30;
    assert_eq!(&zip[header..header + 4], b"PK\x03\x04", "a local header names {name}");
    let extra = u16::from_le_bytes([zip[header + 28], zip[header + 29]]) as usize;
    let data = &zip[at + name.len() + extra..];
    let mut out = String::new();
    std::io::Read::read_to_string(&mut flate2::read::DeflateDecoder::new(data), &mut out).unwrap();
    out
}

/// Finding 13: cells a spreadsheet would run as formulas — `=`, `+`, `-`,
/// `@`, their full-width forms, a leading tab or CR — are text in the CSV
/// (a `'` before them) and XLSX strings with the quote prefix, never formulas.
async fn issue_16_exports_defuse_formulas(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = Team::of(&app).await;
    let reader = app.user("office", &[Role::Publisher], None).await;
    let payloads = [
        "\u{FF1D}HYPERLINK(\"http://127.0.0.1/x\",\"点此\")",
        "\t=1+1",
        "\r=cmd|' /C calc'!A0",
        "\u{FF0B}1",
        "\u{FF0D}1",
        "\u{FF20}SUM(A1)",
        "=WEBSERVICE(\"http://127.0.0.1\")",
    ];
    for (n, title) in payloads.iter().enumerate() {
        let mut item = sample_item();
        item["title"] = json!(title);
        item["attribute"] = json!("on_request");
        item["attribute_reason"] = json!(format!("@理由{n}"));
        item["legal_basis"] = json!("-《中华人民共和国政府信息公开条例》第三十六条");
        item["doc_number"] = json!(format!("江政办发〔2025〕{}号", n + 1));
        let id = t.drafter.create_item(&item).await["id"].as_str().unwrap().to_owned();
        let (status, body) = t.drafter.post(&format!("/api/v1/items/{id}/submit"), &json!({"version": 1})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let csv = reader.http.get(format!("{}/api/v1/register/export?format=csv", app.base)).send().await.unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    let csv = csv.text().await.unwrap();
    let rows: Vec<&str> = csv.split("\r\n").skip(1).filter(|r| !r.is_empty()).collect();
    assert_eq!(rows.len(), payloads.len(), "{csv}");
    // Every cell of every row: none opens (inside its quotes) with a formula character.
    let mut cells = 0;
    for row in &rows {
        for cell in split_csv(row) {
            let inner = cell.trim_start_matches('"');
            let first = inner.chars().next().unwrap_or(' ');
            assert!(
                !['=', '+', '-', '@', '\t', '\r', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}'].contains(&first),
                "cell {cell:?} of row {row:?}"
            );
            cells += 1;
        }
    }
    assert_eq!(cells, rows.len() * 12);
    for title in payloads {
        // Stored as written but for line endings (CR becomes LF at intake).
        let quoted = format!("'{}", title.replace('\r', "\n"));
        assert!(
            csv.contains(&quoted) || csv.contains(&format!("\"{}\"", quoted.replace('"', "\"\""))),
            "{title:?}: {csv}"
        );
    }

    let xlsx = reader.http.get(format!("{}/api/v1/register/export?format=xlsx", app.base)).send().await.unwrap();
    assert_eq!(xlsx.status(), StatusCode::OK);
    let xlsx = xlsx.bytes().await.unwrap();
    let sheet = zip_member(&xlsx, "xl/worksheets/sheet1.xml");
    assert!(!sheet.contains("<f>") && !sheet.contains("<f "), "no formulas: {sheet}");
    assert!(zip_member(&xlsx, "xl/styles.xml").contains("quotePrefix=\"1\""));
    assert!(zip_member(&xlsx, "xl/sharedStrings.xml").contains("HYPERLINK"), "the text is kept, as text");
    app.stop().await;
}

/// The cells of one CSV row (RFC 4180 quoting).
fn split_csv(row: &str) -> Vec<String> {
    let (mut cells, mut cell, mut quoted) = (Vec::new(), String::new(), false);
    for c in row.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cell.push(c);
            }
            ',' if !quoted => cells.push(std::mem::take(&mut cell)),
            _ => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}

async fn csrf(client: &Client, path: &str) -> String {
    let page = client.http.get(format!("{}{path}", client.base)).send().await.unwrap().text().await.unwrap();
    page.split("name=\"csrf\" value=\"").nth(1).and_then(|s| s.split('"').next()).expect("a form").to_owned()
}

async fn redeliveries(app: &TestApp) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'delivery.redeliver'")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap()
}

/// Finding 15: a CR/LF (or any text that is not an item id) in the path of
/// a web action is refused at the edge, before the action runs, with a
/// problem document — no action, no plain-text 500.
async fn issue_16_request_text_never_reaches_a_header(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = Team::of(&app).await;
    t.add_endpoint(json!({"channel": "website", "kind": "pull"})).await;
    let (id, _) = t.sealed_item("关于公布2025年第一批行政许可事项的通知", &["website"]).await;
    let deliveries = ok(t.publisher.get(&format!("/api/v1/items/{id}/deliveries")).await);
    let delivery = deliveries["deliveries"][0]["id"].as_str().unwrap().to_owned();
    let token = csrf(&t.publisher, &format!("/items/{id}")).await;
    let form = [("csrf", token.as_str()), ("delivery", delivery.as_str())];

    for path in [
        format!("/items/{id}%0D%0ALocation:%20http://evil.example/redeliver"),
        format!("/items/{id}%0D%0A/redeliver"),
        format!("/items/{id}%0A/redeliver"),
        "/items/%E6%B5%8B%E8%AF%95/redeliver".to_owned(),
    ] {
        let before = (app.snapshot().await, redeliveries(&app).await);
        let r = t.publisher.http.post(format!("{}{path}", app.base)).form(&form).send().await.unwrap();
        let (status, kind) = (r.status(), r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()));
        let body = r.text().await.unwrap();
        if status == StatusCode::NOT_FOUND || status.is_client_error() {
            assert_eq!(kind.as_deref(), Some("application/problem+json"), "{path}: {body}");
        } else {
            panic!("{path}: {status} {body}");
        }
        assert!(!body.contains("evil.example"), "{body}");
        assert_eq!((app.snapshot().await, redeliveries(&app).await), before, "{path} acted");
    }
    // Every item page and action of the web UI parses its id the same way.
    for action in [
        "",
        "/edit",
        "/submit",
        "/fix",
        "/vote",
        "/override",
        "/comment",
        "/waive",
        "/seal",
        "/withdraw",
        "/withdraw/confirm",
    ] {
        let path = format!("/items/{id}%0D%0A{action}");
        let r = if action.is_empty() || action == "/edit" {
            t.publisher.http.get(format!("{}{path}", app.base)).send().await.unwrap()
        } else {
            t.publisher.http.post(format!("{}{path}", app.base)).form(&form).send().await.unwrap()
        };
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.headers()["content-type"], "application/problem+json", "{path}");
    }
    // The same action on the real path works (the test can fail).
    let r = t.publisher.http.post(format!("{}/items/{id}/redeliver", app.base)).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(redeliveries(&app).await, 1);
    app.stop().await;
}

/// Finding 17: a bidi override and invisible characters in the title, the
/// 发文字号 and the body are host findings (the override and anything in
/// the title or number block; the body's warn), under every policy; pages
/// show them as ⟨U+…⟩ markers; the edit form keeps the text as stored.
async fn issue_16_hidden_characters_are_findings_and_shown_visibly(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.review_team(Some(UNIT)).await;
    let drafter = app.user("drafter1", &[Role::Drafter], Some(UNIT)).await;
    let reviewer = app.user("reviewer1", &[Role::Reviewer], Some(UNIT)).await;
    let mut item = sample_item();
    let title = "关于开展培训的通知\u{202E}exe.fdp";
    item["title"] = json!(title);
    item["doc_number"] = json!("江政办发\u{200B}〔2025〕3号");
    item["body"] = json!("各区、各部门：\n\u{FEFF}定于2025年3月18日\u{200B}\u{200B}举办培训班。\n特此通知。");
    let id = drafter.create_item(&item).await["id"].as_str().unwrap().to_owned();
    let submitted = ok(drafter.post(&format!("/api/v1/items/{id}/submit"), &json!({"version": 1})).await);
    assert_eq!(submitted["current"]["title"], title, "stored exactly as written");
    let findings: Vec<(String, String, String)> = submitted["review"]["outcome"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["plugin"] == "host")
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
            (s("rule_id"), s("severity"), s("field"))
        })
        .collect();
    let want = |r: &str, s: &str, f: &str| (r.to_owned(), s.to_owned(), f.to_owned());
    assert_eq!(
        findings,
        [
            want("HOST-002", "block", "title"),
            want("HOST-003", "warn", "body"),
            want("HOST-003", "warn", "body"),
            want("HOST-003", "block", "doc_number"),
        ],
        "{submitted:#}"
    );
    assert_eq!(submitted["review"]["outcome"]["verdict"], "blocked");
    assert_eq!(submitted["state"], "blocked", "a blocking finding stops the item");

    for (who, path) in [
        (&drafter, format!("/items/{id}")),
        (&reviewer, format!("/items/{id}")),
        (&drafter, "/items".to_owned()),
        (&reviewer, "/queue".to_owned()),
    ] {
        let page = who.http.get(format!("{}{path}", app.base)).send().await.unwrap().text().await.unwrap();
        let hidden: Vec<char> = page.chars().filter(|c| ['\u{202E}', '\u{200B}', '\u{FEFF}'].contains(c)).collect();
        assert!(hidden.is_empty(), "{path} shows raw hidden characters {hidden:?}");
        if path.starts_with("/items/") || path == "/items" {
            assert!(page.contains("⟨U+202E⟩"), "{path} marks the override: {page}");
        }
    }
    let page = drafter.http.get(format!("{}/items/{id}", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("⟨U+200B⟩") && page.contains("⟨U+FEFF⟩"), "{page}");
    // The edit form sends the text back exactly as stored.
    let form = drafter.http.get(format!("{}/items/{id}/edit", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(form.contains(title), "the edit form keeps the title as stored");
    // One click removes the marked characters from title and body.
    let token = csrf(&drafter, &format!("/items/{id}")).await;
    let r = drafter
        .http
        .post(format!("{}/items/{id}/fix", app.base))
        .form(&[("csrf", token.as_str()), ("version", "1"), ("finding", "all")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let fixed = ok(drafter.get(&format!("/api/v1/items/{id}")).await);
    assert_eq!(fixed["current"]["title"], "关于开展培训的通知exe.fdp");
    assert!(!fixed["current"]["body"].as_str().unwrap().chars().any(|c| c == '\u{200B}' || c == '\u{FEFF}'));
    app.stop().await;
}
