//! The role × endpoint matrix (issue 16): every route of the OpenAPI
//! document, called by every role, by an anonymous client and by a channel
//! token, against the real server. [`ROUTES`] is the one table of who may
//! call what; the test fails when the document has a route without a row
//! (or the table a row without a route), and when any caller gets other
//! than what its row says.
//!
//! A caller a row allows must get past every access check: any answer but
//! 401 and 403 (and but 404 where the row's target exists, since a route
//! hides what the caller may not read behind 404). A caller it does not
//! allow gets 401 when anonymous, else 403 — or 404 where the route hides
//! the target. Bodies are valid requests that cannot complete (a stale
//! digest or version), so that each access check, not the state of the
//! item, decides the answer and the fixture stays as it is.
//!
//! To adapt a row, edit its list of callers: one row per route.

use std::collections::BTreeSet;

use gateway::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tests::{Backend, TestApp, on_both_backends, sample_item};

on_both_backends!(issue_16_every_route_answers_every_caller_as_the_matrix_says);

/// The callers: one person per role (a session; channel accounts have no
/// password, so the channel role is the token), a channel token with
/// `channel` and `items:read` bound to `website`, and nobody.
const CALLERS: &[&str] = &[
    "anonymous",
    "token",
    "drafter",
    "reviewer",
    "secrecy_reviewer",
    "approver",
    "leader",
    "cosigner",
    "publicity",
    "publisher",
    "admin",
    "security_admin",
    "auditor",
];

/// Every authenticated caller.
const ANY: &[&str] = &[
    "token",
    "drafter",
    "reviewer",
    "secrecy_reviewer",
    "approver",
    "leader",
    "cosigner",
    "publicity",
    "publisher",
    "admin",
    "security_admin",
    "auditor",
];
/// Every person (session), no token.
const PEOPLE: &[&str] = &[
    "drafter",
    "reviewer",
    "secrecy_reviewer",
    "approver",
    "leader",
    "cosigner",
    "publicity",
    "publisher",
    "admin",
    "security_admin",
    "auditor",
];
/// Who reads the fixture item (`items::may_read`): the drafters of its
/// unit and every reviewing, publishing, auditing and administering role.
const READERS: &[&str] = &[
    "drafter",
    "reviewer",
    "secrecy_reviewer",
    "approver",
    "leader",
    "cosigner",
    "publicity",
    "publisher",
    "admin",
    "auditor",
];
const PUBLIC: &[&str] = CALLERS;
const NOBODY: &[&str] = &[];

/// How a denied caller is answered (besides anonymous: 401).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Denial {
    /// 403.
    Forbidden,
    /// 403 for a caller who may read the target, 404 for one who may not
    /// (the route does not reveal that it exists).
    Hides,
    /// The target does not exist (a made-up id): everyone allowed gets
    /// 404 too, the denied 403/404.
    Missing,
}

/// One route: method, path (as in the OpenAPI document), the callers it
/// allows, how others are refused, and the body (`{…}` placeholders are
/// filled from the fixture).
struct Row {
    method: &'static str,
    path: &'static str,
    allow: &'static [&'static str],
    denial: Denial,
    body: Body,
}

enum Body {
    None,
    Json(&'static str),
    Pdf,
}

const fn row(
    method: &'static str,
    path: &'static str,
    allow: &'static [&'static str],
    denial: Denial,
    body: Body,
) -> Row {
    Row { method, path, allow, denial, body }
}

use Body::{Json, None as NoBody, Pdf};
use Denial::{Forbidden, Hides, Missing};

const STALE: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// The matrix. Query strings and ids are filled in by [`fill`].
const ROUTES: &[Row] = &[
    // Health and this document: open to all.
    row("get", "/healthz", PUBLIC, Forbidden, NoBody),
    row("get", "/api/v1/openapi.json", PUBLIC, Forbidden, NoBody),
    // Accounts and tokens.
    row(
        "post",
        "/api/v1/auth/login",
        PUBLIC,
        Forbidden,
        Json(r#"{"username":"m-login","password":"Pw-m-login-2026"}"#),
    ),
    row("get", "/api/v1/auth/me", ANY, Forbidden, NoBody),
    row(
        "post",
        "/api/v1/users",
        &["admin"],
        Forbidden,
        Json(r#"{"username":"m-new-{caller}","display_name":"新用户","roles":[],"password":"Matrix-New-2026-strong"}"#),
    ),
    row("get", "/api/v1/users", &["admin", "security_admin", "auditor"], Forbidden, NoBody),
    // 三员分立: accounts are the system administrator's, roles and unlocking
    // the security administrator's (a made-up user: 404 for them).
    row("post", "/api/v1/users/{id}/deactivate", &["admin"], Missing, NoBody),
    row("post", "/api/v1/users/{id}/reactivate", &["admin"], Missing, NoBody),
    row("post", "/api/v1/users/{id}/password", &["admin"], Missing, Json(r#"{"password":"Matrix-Reset-2026-strong"}"#)),
    row("post", "/api/v1/users/{id}/roles", &["security_admin"], Missing, Json(r#"{"grant":["reviewer"]}"#)),
    row("post", "/api/v1/users/{id}/unlock", &["security_admin"], Missing, NoBody),
    // One's own account, with a session only: the same password twice is
    // refused (422) before anything is checked or changed.
    row(
        "post",
        "/api/v1/auth/password",
        PEOPLE,
        Forbidden,
        Json(r#"{"current_password":"Matrix-Same-2026-x","new_password":"Matrix-Same-2026-x"}"#),
    ),
    // Enrolment starts a proposal (nothing in force until confirmed); a
    // wrong first code confirms nothing.
    row("post", "/api/v1/auth/totp", PEOPLE, Forbidden, NoBody),
    row("post", "/api/v1/auth/totp/confirm", PEOPLE, Forbidden, Json(r#"{"code":"000000"}"#)),
    row(
        "post",
        "/api/v1/tokens",
        PEOPLE,
        Forbidden,
        Json(r#"{"name":"m","scopes":["items:read"],"expires_in_days":1}"#),
    ),
    row("get", "/api/v1/tokens", ANY, Forbidden, NoBody),
    row("delete", "/api/v1/tokens/{id}", ANY, Missing, NoBody),
    row("get", "/api/v1/audit/verify", &["auditor"], Forbidden, NoBody),
    row("get", "/api/v1/audit/events", &["auditor"], Forbidden, NoBody),
    // Items and attachments.
    row("post", "/api/v1/attachments", &["drafter"], Forbidden, Pdf),
    row("get", "/api/v1/attachments/{digest}", READERS, Hides, NoBody),
    row("post", "/api/v1/items", &["drafter"], Forbidden, Json("{sample}")),
    row("get", "/api/v1/items", ANY, Forbidden, NoBody),
    row("get", "/api/v1/items/{id}", READERS, Hides, NoBody),
    row("put", "/api/v1/items/{id}", &["drafter"], Hides, Json("{stale_edit}")),
    row("get", "/api/v1/items/{id}/versions/{version}", READERS, Hides, NoBody),
    row("post", "/api/v1/items/{id}/submit", &["drafter"], Hides, Json(r#"{"version":99}"#)),
    row(
        "post",
        "/api/v1/items/{id}/attachments/mask",
        &["drafter"],
        Hides,
        Json(
            r#"{"version":99,"content_digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","attachment":"x.xlsx"}"#,
        ),
    ),
    row("get", "/api/v1/items/{id}/diff", READERS, Hides, NoBody),
    row("get", "/api/v1/items/{id}/reviews", READERS, Hides, NoBody),
    // The review workflow (stage `first`: 初审 by a reviewer of the item's unit).
    row("get", "/api/v1/items/{id}/workflow", READERS, Hides, NoBody),
    row(
        "post",
        "/api/v1/items/{id}/votes",
        &["reviewer"],
        Hides,
        Json(r#"{"stage":"first","value":"approve","content_digest":"{stale}"}"#),
    ),
    row(
        "post",
        "/api/v1/items/{id}/overrides",
        &["approver"],
        Hides,
        Json(r#"{"stage":"first","content_digest":"{stale}","reason":"矩阵测试"}"#),
    ),
    row(
        "post",
        "/api/v1/items/{id}/waivers",
        &["secrecy_reviewer"],
        Hides,
        Json(r#"{"finding_id":"{finding}","content_digest":"{stale}","reason":"矩阵测试"}"#),
    ),
    // Only a block vote's author lifts it (a made-up vote: nobody's).
    row("post", "/api/v1/items/{id}/votes/{vote_id}/lift", NOBODY, Missing, Json(r#"{"reason":"矩阵测试"}"#)),
    row(
        "post",
        "/api/v1/items/{id}/recheck",
        &["reviewer", "secrecy_reviewer", "approver", "publisher", "admin"],
        Hides,
        NoBody,
    ),
    row(
        "post",
        "/api/v1/items/{id}/reject",
        &["secrecy_reviewer", "approver"],
        Hides,
        Json(r#"{"version":99,"reason":"矩阵测试"}"#),
    ),
    row("put", "/api/v1/items/{id}/claims/{stage}", &["reviewer"], Hides, NoBody),
    // Removes one's own claim: nothing to remove here (404) for every reader.
    row("delete", "/api/v1/items/{id}/claims/{stage}", READERS, Missing, NoBody),
    row("get", "/api/v1/queue", PEOPLE, Forbidden, NoBody),
    row("get", "/api/v1/overdue", &["approver", "leader", "publisher", "admin", "auditor"], Forbidden, NoBody),
    row(
        "post",
        "/api/v1/items/{id}/comments",
        &["drafter", "reviewer", "secrecy_reviewer", "approver", "leader", "cosigner", "publicity"],
        Hides,
        Json(r#"{"version":1,"field":"body","body":"矩阵测试"}"#),
    ),
    row("get", "/api/v1/items/{id}/comments", READERS, Hides, NoBody),
    row("get", "/api/v1/notifications", ANY, Forbidden, NoBody),
    row("post", "/api/v1/notifications/{id}/read", ANY, Missing, NoBody),
    row("get", "/api/v1/items/{id}/form", READERS, Hides, NoBody),
    // The 台账.
    row(
        "get",
        "/api/v1/register",
        &["secrecy_reviewer", "approver", "leader", "publisher", "admin", "auditor"],
        Forbidden,
        NoBody,
    ),
    row(
        "get",
        "/api/v1/register/export",
        &["secrecy_reviewer", "approver", "leader", "publisher", "admin", "auditor"],
        Forbidden,
        NoBody,
    ),
    row(
        "post",
        "/api/v1/register/{id}/decision",
        &["secrecy_reviewer", "approver"],
        Hides,
        Json(
            r#"{"attribute":"on_request","reason":"矩阵测试","legal_basis":"《中华人民共和国政府信息公开条例》第十五条"}"#,
        ),
    ),
    // Administration.
    row("get", "/api/v1/admin/policy", &["publisher", "admin", "security_admin", "auditor"], Forbidden, NoBody),
    // The holiday calendar: read by everyone signed in, loaded by the
    // office or the system administrator (a year outside the range: 422).
    row("get", "/api/v1/calendar", ANY, Forbidden, NoBody),
    row(
        "post",
        "/api/v1/calendar/years",
        &["publisher", "admin"],
        Forbidden,
        Json(r#"{"year":1999,"source":"矩阵测试","text":""}"#),
    ),
    row("post", "/api/v1/admin/policy/reload", &["admin"], Forbidden, NoBody),
    // The register of applications for disclosure (issue 19): readers see it
    // masked, the office registers and handles (accepting here), a drafter
    // drafts the reply (the fixture id is no application: 404).
    row("get", "/api/v1/applications", &["drafter", "approver", "leader", "publisher", "auditor"], Forbidden, NoBody),
    row(
        "get",
        "/api/v1/applications/annual-report",
        &["drafter", "approver", "leader", "publisher", "auditor"],
        Forbidden,
        NoBody,
    ),
    row(
        "post",
        "/api/v1/applications",
        &["publisher"],
        Forbidden,
        Json(
            r#"{"applicant_kind":"person","applicant_name":"矩阵测试","channel":"online","received_on":"2026-12-01","request":"矩阵测试"}"#,
        ),
    ),
    row(
        "get",
        "/api/v1/applications/{id}",
        &["drafter", "approver", "leader", "publisher", "auditor"],
        Missing,
        NoBody,
    ),
    row("post", "/api/v1/applications/{id}/actions", &["publisher"], Missing, Json(r#"{"action":"accept"}"#)),
    // The sealed reply's letter (the office: it carries the applicant's name
    // and address) and its service by e-mail.
    row("get", "/api/v1/applications/{id}/letter.pdf", &["publisher"], Missing, NoBody),
    row("post", "/api/v1/applications/{id}/serve-email", &["publisher"], Missing, NoBody),
    row(
        "post",
        "/api/v1/applications/{id}/reply",
        &["drafter"],
        Missing,
        Json(r#"{"result":"granted","issuer":"江城市民政局"}"#),
    ),
    // Seals and the public trust endpoints.
    row("post", "/api/v1/items/{id}/seal", &["publisher"], Hides, Json(r#"{"content_digest":"{stale}"}"#)),
    row("get", "/.well-known/seal-keys", PUBLIC, Forbidden, NoBody),
    row("get", "/api/v1/seals/{serial}", PUBLIC, Missing, NoBody),
    row("get", "/api/v1/seals/{serial}/status", PUBLIC, Missing, NoBody),
    row("get", "/api/v1/seals/{serial}/attachments/{digest}", PUBLIC, Missing, NoBody),
    row("get", "/api/v1/seal-status", PUBLIC, Forbidden, NoBody),
    row("get", "/api/v1/status-list", PUBLIC, Forbidden, NoBody),
    row("get", "/api/v1/log/checkpoint", PUBLIC, Missing, NoBody),
    row("get", "/api/v1/log/key", PUBLIC, Forbidden, NoBody),
    row("get", "/api/v1/log/proof/inclusion", PUBLIC, Missing, NoBody),
    row("get", "/api/v1/log/proof/consistency", PUBLIC, Forbidden, NoBody),
    // Delivery.
    row("get", "/.well-known/webhook-keys", PUBLIC, Forbidden, NoBody),
    row(
        "post",
        "/api/v1/channel-endpoints",
        &["security_admin"],
        Forbidden,
        Json(r#"{"channel":"website","kind":"pull"}"#),
    ),
    row("get", "/api/v1/channel-endpoints", &["publisher", "security_admin", "auditor"], Forbidden, NoBody),
    row(
        "post",
        "/api/v1/channel-endpoints/{id}/redeliver",
        &["publisher", "security_admin"],
        Forbidden,
        Json(r#"{"since":"2026-01-01T00:00:00Z"}"#),
    ),
    row(
        "get",
        "/api/v1/channel-endpoints/{id}/deliveries",
        &["publisher", "security_admin", "auditor"],
        Forbidden,
        NoBody,
    ),
    row("get", "/api/v1/items/{id}/deliveries", READERS, Hides, NoBody),
    row("post", "/api/v1/deliveries/{id}/redeliver", &["publisher", "security_admin"], Missing, NoBody),
    row("post", "/api/v1/items/{id}/withdraw", &["publisher"], Hides, Json(r#"{"reason":"矩阵测试","urgent":false}"#)),
    row("post", "/api/v1/items/{id}/withdraw/confirm", &["publisher", "leader"], Hides, Json(r#"{"note":"矩阵测试"}"#)),
    row("get", "/api/v1/channels/{channel}/changes", &["token"], Forbidden, NoBody),
    row("get", "/api/v1/channels/{channel}/snapshot", &["token"], Forbidden, NoBody),
    row("get", "/api/v1/channels/{channel}/attachments/{digest}", &["token"], Missing, NoBody),
    row(
        "post",
        "/api/v1/channels/{channel}/confirm",
        &["token"],
        Missing,
        Json(r#"{"event_id":"00000000-0000-0000-0000-000000000000"}"#),
    ),
    row("get", "/api/v1/channels/{channel}/feed.atom", &["token"], Forbidden, NoBody),
    row("get", "/api/v1/channels/{channel}/feed.json", &["token"], Forbidden, NoBody),
    // Last: it ends the caller's session.
    row("post", "/api/v1/auth/logout", PUBLIC, Forbidden, NoBody),
];

const UNIT: &str = "江城市民政局";

/// What the fixture made, for the placeholders.
struct Fixture {
    item: String,
    digest: String,
    endpoint: String,
    finding: String,
}

fn fill(text: &str, f: &Fixture, caller: &str) -> String {
    let mut edit = sample_item();
    edit["base_version"] = json!(99);
    text.replace("{sample}", &sample_item().to_string())
        .replace("{stale_edit}", &edit.to_string())
        .replace("{stale}", STALE)
        .replace("{finding}", &f.finding)
        .replace("{caller}", caller)
}

/// The concrete path of a row: ids from the fixture, made-up ids where the
/// row says the target is missing, a query where the route needs one.
fn path_of(row: &Row, f: &Fixture) -> String {
    let id = if row.path.starts_with("/api/v1/channel-endpoints/") {
        f.endpoint.clone()
    } else if row.denial == Missing && !row.path.starts_with("/api/v1/items/") {
        "00000000-0000-0000-0000-000000000000".to_owned()
    } else {
        f.item.clone()
    };
    let path = row
        .path
        .replace("{id}", &id)
        .replace("{digest}", &f.digest)
        .replace("{version}", "1")
        .replace("{vote_id}", "00000000-0000-0000-0000-000000000000")
        .replace("{stage}", "first")
        .replace("{serial}", "ZZ-2026-000000")
        .replace("{channel}", "website");
    let query = match row.path {
        "/api/v1/items/{id}/diff" => "?from=1&to=1",
        "/api/v1/register/export" => "?format=csv",
        "/api/v1/applications/annual-report" => "?year=2026",
        "/api/v1/log/proof/inclusion" => "?serial=ZZ-2026-000000",
        "/api/v1/log/proof/consistency" => "?from=0",
        _ => "",
    };
    format!("{path}{query}")
}

/// Creates a person directly in the store and logs them in; returns the
/// session cookie.
async fn person(app: &TestApp, username: &str, roles: &[Role], unit: Option<&str>) -> String {
    let password = format!("Pw-{username}-2026");
    let mut new = gateway::http::new_user(
        username.to_owned(),
        format!("测试{username}"),
        unit.map(str::to_owned),
        roles.iter().copied().collect::<BTreeSet<_>>(),
        Some(&password),
    )
    .unwrap();
    // A person who already chose their own password (not forced to change it).
    new.must_change_password = false;
    app.db.create_user(None, &new).await.unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

async fn issue_16_every_route_answers_every_caller_as_the_matrix_says(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    // Every route of the document has exactly one row.
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", app.base)).await.unwrap().json().await.unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                documented.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let table: BTreeSet<String> = ROUTES.iter().map(|r| format!("{} {}", r.method.to_uppercase(), r.path)).collect();
    assert_eq!(table.len(), ROUTES.len(), "one row per route");
    let missing: Vec<&String> = documented.difference(&table).collect();
    let stale: Vec<&String> = table.difference(&documented).collect();
    assert!(missing.is_empty(), "routes without a row in the matrix (add them to ROUTES): {missing:?}");
    assert!(stale.is_empty(), "rows for routes that do not exist: {stale:?}");

    // The fixture: an item of UNIT with an attachment and a blocking
    // finding (a 身份证 number), submitted (and so blocked).
    let author = person(&app, "m-author", &[Role::Drafter], Some(UNIT)).await;
    let secrecy = person(&app, "m-secrecy", &[Role::SecrecyReviewer], None).await;
    let security = person(&app, "m-secadmin", &[Role::SecurityAdmin], None).await;
    person(&app, "m-login", &[Role::Drafter], Some(UNIT)).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let call = |cookie: &str, method: Method, path: &str, body: Option<Value>| {
        let mut r = http.request(method, format!("{}{path}", app.base)).header("cookie", cookie.to_owned());
        if let Some(b) = body {
            r = r.json(&b);
        }
        async move {
            let r = r.send().await.unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let pdf = http
        .post(format!("{}/api/v1/attachments", app.base))
        .header("cookie", &author)
        .header("content-type", "application/pdf")
        .body(b"%PDF-1.7 matrix".to_vec())
        .send()
        .await
        .unwrap();
    let digest = pdf.json::<Value>().await.unwrap()["digest"].as_str().unwrap().to_owned();
    let mut item = sample_item();
    item["attribute"] = json!("on_request");
    item["attribute_reason"] = json!("涉及个人信息");
    item["legal_basis"] = json!("《中华人民共和国政府信息公开条例》第十五条");
    item["body"] = json!("各单位：\n申请人张三，身份证号码110101199003074514，联系电话13812345678。\n特此通知。");
    item["attachments"] = json!([{"name": "名单.pdf", "digest": digest}]);
    let (status, created) = call(&author, Method::POST, "/api/v1/items", Some(item)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, submitted) =
        call(&author, Method::POST, &format!("/api/v1/items/{id}/submit"), Some(json!({"version": 1}))).await;
    assert_eq!(status, StatusCode::OK, "{submitted}");
    let current = submitted["current"]["content_digest"].as_str().unwrap().to_owned();
    let (_, wf) = call(&secrecy, Method::GET, &format!("/api/v1/items/{id}/workflow"), None).await;
    let finding = wf["blocking_findings"]
        .as_array()
        .and_then(|b| b.iter().find(|f| f["finding"]["rule_id"].as_str().is_some_and(|r| r.starts_with("PII-"))))
        .and_then(|f| f["finding_id"].as_str())
        .unwrap_or_else(|| panic!("a PII finding blocks the item: {wf:#}"))
        .to_owned();
    assert_eq!(submitted["state"], "blocked", "{submitted:#}");
    assert!(current.starts_with("sha256:"));
    let (status, ep) =
        call(&security, Method::POST, "/api/v1/channel-endpoints", Some(json!({"channel": "website", "kind": "pull"})))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{ep}");
    let fixture = Fixture { item: id.clone(), digest, endpoint: ep["id"].as_str().unwrap().to_owned(), finding };

    // The callers.
    let mut credentials: Vec<(&str, Option<String>)> = vec![("anonymous", None)];
    let channel_account = app.channel_account("m-channel-token").await;
    let token = channel_account.issue(&["channel", "items:read"], &["website"]).await;
    credentials.push(("token", Some(format!("Bearer {token}"))));
    for (name, role) in [
        ("drafter", Role::Drafter),
        ("reviewer", Role::Reviewer),
        ("secrecy_reviewer", Role::SecrecyReviewer),
        ("approver", Role::Approver),
        ("leader", Role::Leader),
        ("cosigner", Role::Cosigner),
        ("publicity", Role::Publicity),
        ("publisher", Role::Publisher),
        ("admin", Role::Admin),
        ("security_admin", Role::SecurityAdmin),
        ("auditor", Role::Auditor),
    ] {
        let unit = matches!(role, Role::Drafter | Role::Reviewer | Role::Approver | Role::Leader).then_some(UNIT);
        credentials.push((name, Some(person(&app, &format!("m-{name}"), &[role], unit).await)));
    }
    assert_eq!(credentials.iter().map(|c| c.0).collect::<Vec<_>>(), CALLERS);

    let mut wrong = Vec::new();
    for row in ROUTES {
        for name in row.allow {
            assert!(CALLERS.contains(name), "row {} {} names an unknown caller {name}", row.method, row.path);
        }
        for (caller, credential) in &credentials {
            let path = path_of(row, &fixture);
            let method: Method = row.method.to_uppercase().parse().unwrap();
            let mut request = http.request(method, format!("{}{path}", app.base));
            match credential {
                Some(c) if c.starts_with("Bearer ") => request = request.header("authorization", c),
                Some(c) => request = request.header("cookie", c),
                None => {}
            }
            request = match &row.body {
                Body::None => request,
                Body::Json(text) => {
                    let text = fill(text, &fixture, caller);
                    request.header("content-type", "application/json").body(text)
                }
                Body::Pdf => request.header("content-type", "application/pdf").body(b"%PDF-1.7 matrix".to_vec()),
            };
            let response = request.send().await.unwrap();
            let status = response.status();
            let kind = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
            let allowed = row.allow.contains(caller);
            let ok = if allowed {
                status != StatusCode::UNAUTHORIZED
                    && status != StatusCode::FORBIDDEN
                    && !(status == StatusCode::NOT_FOUND && row.denial != Missing)
                    && !status.is_server_error()
            } else if *caller == "anonymous" {
                status == StatusCode::UNAUTHORIZED
            } else {
                match row.denial {
                    Forbidden => status == StatusCode::FORBIDDEN,
                    Hides | Missing => status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
                }
            };
            if status.is_client_error() || status.is_server_error() {
                assert_eq!(kind.as_deref(), Some("application/problem+json"), "{} {path} as {caller}", row.method);
            }
            if !ok {
                let body = response.text().await.unwrap_or_default();
                let expected = if allowed { "allowed" } else { "denied" };
                wrong.push(format!("{} {path} as {caller}: {status} (expected {expected}) {body}", row.method));
            }
        }
    }
    assert!(wrong.is_empty(), "{} answers differ from the matrix:\n{}", wrong.len(), wrong.join("\n"));
    // The fixture item was not changed by any of it.
    let (_, after) = call(&secrecy, Method::GET, &format!("/api/v1/items/{id}"), None).await;
    assert_eq!(after["current_version"], 1);
    app.stop().await;
}
