//! Seals over HTTP (issue 8): only an approved, unchanged version can be
//! sealed, by the 政务公开办公室 and not by its drafter; the seal verifies with
//! the published key set in Rust (`seal::verify`) and in the independent
//! Python verifier written from docs/seal.md; key rotation keeps old seals
//! verifiable; revocation shows in the status at once; the transparency
//! log's checkpoints and proofs verify; `seal audit` catches a tampered log.
//!
//! Issue 16: rotating from the development key keeps it published (marked
//! `dev_key`) and its seals verifying; `--refuse-dev-keys` goes by the key
//! set's mark; the default organ code is refused with a production key; the
//! public record of a 依申请公开 or embargoed item shows only its status; the
//! `Host` header never reaches what the seal key signs; a rewritten audit
//! chain is caught by the signed checkpoints (and, when the log key was
//! taken too, by a witness's copy of them).

use base64::Engine as _;
use gateway::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::{Backend, Client, TestApp, Totp, dist_pin, on_both_backends, repo_root, sample_item};

on_both_backends!(
    an_approved_item_is_sealed_and_verifies_everywhere,
    only_an_approved_unchanged_version_is_sealed_by_the_publisher,
    rotation_keeps_old_seals_and_revocation_shows_at_once,
    a_changed_policy_runs_the_seal_check_again,
    issue_16_rotation_from_the_development_key_keeps_its_seals,
    issue_16_the_default_organ_code_is_refused_outside_development,
    issue_16_public_record_of_a_non_public_or_embargoed_item,
    issue_16_the_host_header_does_not_reach_what_the_seal_key_signs,
    issue_16_a_rewritten_audit_chain_is_caught_by_the_signed_checkpoints,
);

/// The organ code of the tests that use a production key (the default is
/// for the development key only).
const ORG: &str = "321183";

const UNIT: &str = "江城市民政局";

struct Team {
    drafter: Client,
    first: Client,
    second: Client,
    secrecy: Client,
    approver: Client,
    approver_totp: Totp,
    publisher: Client,
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
        publisher: app.user("gong", &[Role::Publisher], Some("政务公开办公室")).await,
    }
}

fn ok(result: (StatusCode, Value)) -> Value {
    assert!(result.0.is_success(), "{} {}", result.0, result.1);
    result.1
}

fn refused(result: (StatusCode, Value), status: StatusCode, says: &str) {
    assert_eq!(result.0, status, "{}", result.1);
    let detail = result.1["detail"].as_str().unwrap_or_default().to_owned() + &result.1["errors"].to_string();
    assert!(detail.contains(says), "expected {says:?} in {}", result.1);
}

async fn vote(c: &Client, id: &str, stage: &str, digest: &str) {
    ok(c.post(
        &format!("/api/v1/items/{id}/votes"),
        &json!({"stage": stage, "value": "approve", "content_digest": digest}),
    )
    .await);
}

/// Creates and submits an item; returns its id and digest (in review).
async fn submitted(t: &Team, item: &Value) -> (String, String) {
    let created = t.drafter.create_item(item).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let body = ok(t.drafter.post(&format!("/api/v1/items/{id}/submit"), &json!({"version": 1})).await);
    (id, body["current"]["content_digest"].as_str().unwrap().to_owned())
}

/// Walks an item in review through 初审, 保密审查, 复审 and the 终审 sign-off
/// to `approved`.
async fn approve(t: &Team, id: &str, digest: &str) -> Value {
    vote(&t.first, id, "first", digest).await;
    vote(&t.secrecy, id, "secrecy", digest).await;
    vote(&t.second, id, "second", digest).await;
    let (_, wf) = t.approver.get(&format!("/api/v1/items/{id}/workflow")).await;
    let signed = ok(t
        .approver
        .post(
            &format!("/api/v1/items/{id}/votes"),
            &json!({"stage": "final", "value": "approve", "content_digest": digest,
                    "statement_id": wf["statement"]["id"], "statement_version": wf["statement"]["version"],
                    "password": "Pw-feng-2026", "totp_code": t.approver_totp.code().await}),
        )
        .await);
    assert_eq!(signed["item"]["state"], "approved", "{signed}");
    signed["workflow"].clone()
}

async fn approved_item(t: &Team, title: &str) -> (String, String, Value) {
    let mut item = sample_item();
    item["title"] = json!(title);
    let (id, digest) = submitted(t, &item).await;
    let wf = approve(t, &id, &digest).await;
    (id, digest, wf)
}

async fn seal(c: &Client, id: &str, digest: &str) -> (StatusCode, Value) {
    c.post(&format!("/api/v1/items/{id}/seal"), &json!({"content_digest": digest})).await
}

async fn text(app: &TestApp, path: &str) -> String {
    let response = reqwest::get(format!("{}{path}", app.base)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.unwrap()
}

/// The published key set, fetched without credentials.
async fn jwks(app: &TestApp) -> (String, seal::KeySet) {
    let response = reqwest::get(format!("{}/.well-known/seal-keys", app.base)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/jwk-set+json");
    let body = response.text().await.unwrap();
    let set = seal::KeySet::from_jwks_json(body.as_bytes()).expect("the published key set is valid");
    (body, set)
}

/// The seal and its envelope content, fetched without credentials.
async fn public_seal(app: &TestApp, serial: &str) -> Value {
    let response = reqwest::get(format!("{}/api/v1/seals/{serial}", app.base)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn status(app: &TestApp, serial: &str) -> Value {
    let response = reqwest::get(format!("{}/api/v1/seals/{serial}/status", app.base)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn content_bytes(envelope_content: &Value) -> Vec<u8> {
    seal::canonical::to_vec(envelope_content).unwrap()
}

/// `seal::verify` with the content and channel.
fn rust_verify(jws: &str, keys: &seal::KeySet, content: &[u8]) -> Result<seal::Verified, seal::Error> {
    let opts =
        seal::VerifyOptions { content: seal::Content::Bytes(content), channel: Some("website"), ..Default::default() };
    seal::verify(jws, keys, &opts)
}

/// Runs tests/independent/verify_seal.py; returns (exit code, output).
fn python_verify(dir: &std::path::Path, name: &str, jws: &str, jwks: &str, content: &[u8]) -> (i32, String) {
    python_verify_with(dir, name, jws, jwks, content, &[])
}

/// [`python_verify`] with more options (`--refuse-dev-keys`, `--status S`).
fn python_verify_with(
    dir: &std::path::Path,
    name: &str,
    jws: &str,
    jwks: &str,
    content: &[u8],
    extra: &[&str],
) -> (i32, String) {
    let (seal_file, keys_file, content_file) = (
        dir.join(format!("{name}.jws")),
        dir.join(format!("{name}.jwks.json")),
        dir.join(format!("{name}.content.json")),
    );
    std::fs::write(&seal_file, jws).unwrap();
    std::fs::write(&keys_file, jwks).unwrap();
    std::fs::write(&content_file, content).unwrap();
    let script = tests::repo_root().join("tests/independent/verify_seal.py");
    let output = std::process::Command::new("python3")
        .arg(&script)
        .arg("--keys")
        .arg(&keys_file)
        .arg("--content")
        .arg(&content_file)
        .arg("--channel")
        .arg("website")
        .args(extra)
        .arg(&seal_file)
        .output()
        .expect("python3 must be installed: the independent verifier is part of the suite");
    let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap_or(-1), text)
}

fn b64(s: &str) -> seal::tlog::Hash {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap().try_into().unwrap()
}

async fn an_approved_item_is_sealed_and_verifies_everywhere(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = team(&app).await;
    let (id, digest, wf) = approved_item(&t, "关于开展2025年度政务公开业务培训的通知").await;

    let sealed = ok(seal(&t.publisher, &id, &digest).await);
    let serial = sealed["serial"].as_str().unwrap().to_owned();
    assert!(serial.starts_with("000000-20") && serial.ends_with("-000001") && serial.len() == 18, "{serial}");
    assert_eq!(sealed["status"], "valid");
    assert_eq!(sealed["log_index"], 0);
    let (_, item) = t.publisher.get(&format!("/api/v1/items/{id}")).await;
    assert_eq!(item["state"], "sealed", "{item}");

    // The manifest binds what the workflow decided, and names nobody.
    let m = &sealed["manifest"];
    assert_eq!(m["item"], json!({"id": id, "version": 1}));
    assert_eq!(format!("sha256:{}", m["content"]["sha256"].as_str().unwrap()), digest);
    assert_eq!(
        format!("sha256:{}", m["review"]["approvals"]["sha256"].as_str().unwrap()),
        wf["approvals_digest"].as_str().unwrap()
    );
    let (_, reviews) = t.publisher.get(&format!("/api/v1/items/{id}/reviews")).await;
    let seal_review = reviews.as_array().unwrap().iter().rev().find(|r| r["phase"] == "seal").unwrap();
    assert_eq!(
        format!("sha256:{}", m["review"]["policy"]["sha256"].as_str().unwrap()),
        seal_review["outcome"]["policy_hash"].as_str().unwrap()
    );
    assert_eq!(
        m["review"]["plugins"].as_array().unwrap().len(),
        seal_review["outcome"]["plugins"].as_array().unwrap().len()
    );
    assert_eq!(m["sign_off"]["role"], "approver");
    assert_eq!(m["sign_off"]["statement"], "sign-off");
    assert_eq!(m["sign_off"]["statement_version"], 1);
    assert!(m["sign_off"]["responsible"].as_str().unwrap().starts_with("psn-"), "{m}");
    assert!(!m.to_string().contains("测试feng"), "no personal names in the manifest: {m}");
    // No key was configured: a development key, marked in the seal.
    assert_eq!(m["dev_key"], true);
    assert_eq!(sealed["dev_key"], true);
    assert!(app.data_dir().join("keys/dev-seal.pem").exists());

    // The public endpoints: key set, seal with envelope, status.
    let (jwks_text, keys) = jwks(&app).await;
    let public = public_seal(&app, &serial).await;
    assert_eq!(public["jws"], sealed["jws"]);
    assert_eq!(public["envelope"]["seal"], sealed["jws"]);
    let content = content_bytes(&public["envelope"]["content"]);
    let jws = public["jws"].as_str().unwrap();
    let verified = rust_verify(jws, &keys, &content).expect("the live seal verifies with seal::verify");
    assert_eq!(verified.manifest.serial, serial);
    // A changed byte of the content does not verify.
    let mut tampered = public["envelope"]["content"].clone();
    tampered["body"] = json!(format!("{}。", tampered["body"].as_str().unwrap()));
    assert!(rust_verify(jws, &keys, &content_bytes(&tampered)).is_err());
    // The independent verifier, from docs/seal.md alone, agrees.
    let scratch = tempfile::tempdir().unwrap();
    let (code, out) = python_verify(scratch.path(), "live", jws, &jwks_text, &content);
    assert_eq!(code, 0, "verify_seal.py refused a live seal:\n{out}");
    assert!(out.contains("dev-key"), "{out}");
    let (code, out) = python_verify(scratch.path(), "tampered", jws, &jwks_text, &content_bytes(&tampered));
    assert_eq!(code, 1, "{out}");
    assert_eq!(status(&app, &serial).await["status"], "valid");

    // Sealing again is refused: the item is sealed.
    refused(seal(&t.publisher, &id, &digest).await, StatusCode::CONFLICT, "已盖章");

    // A second seal; the log grows; its proofs and checkpoints verify.
    let (id2, digest2, _) = approved_item(&t, "关于2025年度政务公开工作要点的通知").await;
    let sealed2 = ok(seal(&t.publisher, &id2, &digest2).await);
    assert_eq!(sealed2["log_index"], 1);
    let vkey = text(&app, "/api/v1/log/key").await;
    let log_key = seal::note::NoteVerifier::from_vkey(vkey.trim()).unwrap();
    assert_eq!(log_key.name(), "gateway.local/seal-log");
    let note = text(&app, "/api/v1/log/checkpoint").await;
    let head = seal::note::Checkpoint::open(&note, &log_key).expect("the checkpoint verifies with the log key");
    assert_eq!(head.size, 2);
    // Not with the seal key's… nor with another log key.
    let other = seal::note::NoteSigner::generate("gateway.local/seal-log").unwrap();
    assert!(seal::note::Checkpoint::open(&note, other.verifier()).is_err());
    let (_, proof) = t.publisher.get(&format!("/api/v1/log/proof/inclusion?serial={serial}&size=2")).await;
    let path: Vec<_> = proof["proof"].as_array().unwrap().iter().map(|h| b64(h.as_str().unwrap())).collect();
    let leaf = seal::tlog::leaf_hash(jws.as_bytes());
    assert_eq!(b64(proof["leaf_hash"].as_str().unwrap()), leaf);
    seal::tlog::verify_inclusion(&leaf, 0, 2, &path, &head.root).expect("inclusion proof verifies");
    assert!(seal::tlog::verify_inclusion(&leaf, 1, 2, &path, &head.root).is_err());
    let (_, proof1) = t.publisher.get(&format!("/api/v1/log/proof/inclusion?serial={serial}&size=1")).await;
    let cp1 = seal::note::Checkpoint::open(proof1["checkpoint"].as_str().unwrap(), &log_key).unwrap();
    assert_eq!(cp1.size, 1);
    seal::tlog::verify_inclusion(&leaf, 0, 1, &[], &cp1.root).expect("inclusion at size 1");
    let (_, consistency) = t.publisher.get("/api/v1/log/proof/consistency?from=1&to=2").await;
    let cproof: Vec<_> = consistency["proof"].as_array().unwrap().iter().map(|h| b64(h.as_str().unwrap())).collect();
    seal::tlog::verify_consistency(1, 2, &cp1.root, &head.root, &cproof).expect("consistency proof verifies");
    assert!(seal::tlog::verify_consistency(1, 2, &head.root, &cp1.root, &cproof).is_err());
    // The status list, with a cursor.
    let list: Value =
        reqwest::get(format!("{}/api/v1/seal-status?cursor=0", app.base)).await.unwrap().json().await.unwrap();
    assert_eq!(list["entries"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["entries"][0]["serial"], sealed2["serial"]);
    assert_eq!(list["entries"][0]["status_code"], 0);

    // The audit: log, seals and audit chain agree…
    let verifier = gateway::sealing::log_verifier(&app_settings(&app)).unwrap();
    assert_eq!(verifier.vkey(), log_key.vkey());
    let report = app.db.seal_audit(&verifier).await.unwrap();
    assert_eq!(report.problem, None, "{report:?}");
    assert_eq!((report.seals, report.leaves, report.checkpoints), (2, 2, 2));
    // …until a log row is altered directly in the database.
    sqlx::query("UPDATE tlog_leaves SET leaf_hash = $1 WHERE idx = 0")
        .bind(hex::encode([7u8; 32]))
        .execute(app.db.pool())
        .await
        .unwrap();
    let report = app.db.seal_audit(&verifier).await.unwrap();
    assert!(report.problem.as_deref().unwrap_or_default().contains("log leaf 0"), "{report:?}");
    sqlx::query("UPDATE tlog_leaves SET leaf_hash = $1 WHERE idx = 0")
        .bind(hex::encode(leaf))
        .execute(app.db.pool())
        .await
        .unwrap();
    assert_eq!(app.db.seal_audit(&verifier).await.unwrap().problem, None);
    sqlx::query("DELETE FROM tlog_checkpoints WHERE size = 1").execute(app.db.pool()).await.unwrap();
    sqlx::query("UPDATE tlog_checkpoints SET note = replace(note, '\n2\n', '\n3\n')")
        .execute(app.db.pool())
        .await
        .unwrap();
    let report = app.db.seal_audit(&verifier).await.unwrap();
    assert!(report.problem.as_deref().unwrap_or_default().contains("checkpoint 2"), "{report:?}");
    app.stop().await;
}

fn app_settings(app: &TestApp) -> gateway::config::Settings {
    gateway::config::Settings { data_dir: app.data_dir().to_owned(), ..Default::default() }
}

async fn seal_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM seals").fetch_one(app.db.pool()).await.unwrap()
}

async fn only_an_approved_unchanged_version_is_sealed_by_the_publisher(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = team(&app).await;
    let mut item = sample_item();
    item["title"] = json!("关于调整办事指南的通知");
    let (id, digest) = submitted(&t, &item).await;
    let before = app.snapshot().await;

    // In review: not yet.
    refused(seal(&t.publisher, &id, &digest).await, StatusCode::CONFLICT, "审核中");
    assert_eq!(app.snapshot().await, before);
    approve(&t, &id, &digest).await;

    // Who: not a reviewer, not an admin, not someone who drafted or edited it.
    refused(seal(&t.first, &id, &digest).await, StatusCode::FORBIDDEN, "政务公开办公室");
    // (An administrator cannot also be a publisher: 三员分立, tested in
    // accounts.rs; each administrator role is refused here.)
    // (The security administrator does not even read items.)
    for (name, role, status, says) in [
        ("root", Role::Admin, StatusCode::FORBIDDEN, "系统管理员"),
        ("anquan", Role::SecurityAdmin, StatusCode::NOT_FOUND, "不存在"),
        ("shenji", Role::Auditor, StatusCode::FORBIDDEN, "系统管理员"),
    ] {
        let admin = app.user(name, &[role], None).await;
        refused(seal(&admin, &id, &digest).await, status, says);
    }
    let drafting_publisher = app.user("li", &[Role::Drafter, Role::Publisher], Some(UNIT)).await;
    let created = drafting_publisher.create_item(&sample_item()).await;
    let own = created["id"].as_str().unwrap().to_owned();
    let own_digest = created["current"]["content_digest"].as_str().unwrap().to_owned();
    refused(seal(&drafting_publisher, &own, &own_digest).await, StatusCode::FORBIDDEN, "起草与发布职责分离");
    // A stale digest: the publisher must have checked the current content.
    refused(
        seal(&t.publisher, &id, "sha256:0000000000000000000000000000000000000000000000000000000000000000").await,
        StatusCode::CONFLICT,
        "摘要不一致",
    );
    // A version changed behind the workflow's back (written directly into
    // the database, the item still `approved`) is not approved: the type
    // that sealing takes cannot be made for it.
    let v2_digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    sqlx::query(
        "INSERT INTO item_versions (item_id, version, kind, title, body, attribute, attribute_reason, legal_basis, \
         doc_number, issuer, superior, interprets, channels, attachments, formed_at, flags, content_digest, created_by, created_at) \
         SELECT item_id, 2, kind, title || '（改）', body, attribute, attribute_reason, legal_basis, doc_number, issuer, \
         superior, interprets, channels, attachments, formed_at, flags, $1, created_by, created_at \
         FROM item_versions WHERE item_id = $2 AND version = 1",
    )
    .bind(v2_digest)
    .bind(id.as_str())
    .execute(app.db.pool())
    .await
    .expect("a forged version 2");
    sqlx::query("UPDATE items SET current_version = 2 WHERE id = $1")
        .bind(id.as_str())
        .execute(app.db.pool())
        .await
        .unwrap();
    let forged = app.snapshot().await;
    refused(seal(&t.publisher, &id, v2_digest).await, StatusCode::CONFLICT, "");
    refused(seal(&t.publisher, &id, &digest).await, StatusCode::CONFLICT, "");
    assert_eq!(app.snapshot().await, forged, "a refused seal changes nothing");
    assert_eq!(seal_count(&app).await, 0);
    sqlx::query("DELETE FROM item_versions WHERE item_id = $1 AND version = 2")
        .bind(id.as_str())
        .execute(app.db.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE items SET current_version = 1 WHERE id = $1")
        .bind(id.as_str())
        .execute(app.db.pool())
        .await
        .unwrap();

    // An edit after approval (a correction) is a new version in draft: it
    // cannot be sealed with the old digest or the new one.
    let mut edit = sample_item();
    edit["base_version"] = json!(1);
    edit["title"] = json!("关于调整办事指南的通知（修订）");
    let edited = ok(t.drafter.put(&format!("/api/v1/items/{id}"), &edit).await);
    assert_eq!(edited["state"], "draft", "{edited}");
    let new_digest = edited["current"]["content_digest"].as_str().unwrap().to_owned();
    refused(seal(&t.publisher, &id, &digest).await, StatusCode::CONFLICT, "草稿");
    refused(seal(&t.publisher, &id, &new_digest).await, StatusCode::CONFLICT, "草稿");
    assert_eq!(seal_count(&app).await, 0);
    app.stop().await;
}

async fn rotation_keeps_old_seals_and_revocation_shows_at_once(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.seal.org_code = ORG.into()).await;
    let t = team(&app).await;
    let (dev_jwks, _) = jwks(&app).await;
    let dev_kid = serde_json::from_str::<Value>(&dev_jwks).unwrap()["keys"][0]["kid"].as_str().unwrap().to_owned();
    // The first production key (as `gateway keys rotate --key-file` does).
    let keys_dir = tempfile::tempdir().unwrap();
    let first = keys_dir.path().join("seal-2025.pem");
    gateway::sealing::generate_key_file(&first).unwrap();
    gateway::sealing::rotate(&app.db, &first).await.unwrap();
    let (a, digest_a, _) = approved_item(&t, "关于春节假期安排的通知").await;
    let seal_a = ok(seal(&t.publisher, &a, &digest_a).await);
    let old_kid = seal_a["kid"].as_str().unwrap().to_owned();
    assert_ne!(old_kid, dev_kid);
    assert_eq!(seal_a["manifest"]["dev_key"], false);

    // A world-readable key file is refused.
    let loose = keys_dir.path().join("loose.pem");
    gateway::sealing::generate_key_file(&loose).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = gateway::sealing::rotate(&app.db, &loose).await.unwrap_err().to_string();
        assert!(err.contains("mode 644"), "{err}");
    }
    // Rotate to the next key.
    let file = keys_dir.path().join("seal-2026.pem");
    let new_kid = gateway::sealing::generate_key_file(&file).unwrap();
    let key = gateway::sealing::rotate(&app.db, &file).await.unwrap();
    assert_eq!(key.kid, new_kid);

    let (b, digest_b, _) = approved_item(&t, "关于开展安全生产检查的通知").await;
    let seal_b = ok(seal(&t.publisher, &b, &digest_b).await);
    assert_eq!(seal_b["kid"], new_kid.as_str());
    assert_eq!(seal_b["manifest"]["dev_key"], false);

    // Both keys are published, and the development key stays published,
    // marked as one (issue 16); both seals verify, in Rust and in Python.
    let (jwks_text, keys) = jwks(&app).await;
    assert_eq!(keys.len(), 3);
    assert!(keys.get(&dev_kid).expect("the development key stays published").dev_key());
    let published: Value = serde_json::from_str(&jwks_text).unwrap();
    let old = published["keys"].as_array().unwrap().iter().find(|k| k["kid"] == old_kid.as_str()).unwrap();
    assert!(old["exp"].as_i64().unwrap() > seal_a["sealed_at"].as_i64().unwrap(), "{old}");
    let scratch = tempfile::tempdir().unwrap();
    for (name, s) in [("a", &seal_a), ("b", &seal_b)] {
        let public = public_seal(&app, s["serial"].as_str().unwrap()).await;
        let content = content_bytes(&public["envelope"]["content"]);
        let jws = public["jws"].as_str().unwrap();
        rust_verify(jws, &keys, &content).unwrap_or_else(|e| panic!("seal {name} after rotation: {e}"));
        let (code, out) = python_verify(scratch.path(), name, jws, &jwks_text, &content);
        assert_eq!(code, 0, "seal {name}:\n{out}");
    }

    // Revoke the old key: its seal's status says so on the very next request,
    // and the published set makes every verifier refuse it.
    let serial_a = seal_a["serial"].as_str().unwrap();
    assert_eq!(status(&app, serial_a).await["status"], "valid");
    app.db.revoke_seal_key(&old_kid, None).await.unwrap();
    let now = status(&app, serial_a).await;
    assert_eq!(now["status"], "revoked", "{now}");
    assert_eq!(now["status_code"], 1);
    assert_eq!(status(&app, seal_b["serial"].as_str().unwrap()).await["status"], "valid");
    let (jwks_text, keys) = jwks(&app).await;
    let public = public_seal(&app, serial_a).await;
    let content = content_bytes(&public["envelope"]["content"]);
    let report = seal::verify_report(
        public["jws"].as_str().unwrap(),
        &keys,
        &seal::VerifyOptions { content: seal::Content::Bytes(&content), ..Default::default() },
    );
    assert_eq!(report.failed_check(), Some("key-revocation"));
    let (code, out) = python_verify(scratch.path(), "a-revoked", public["jws"].as_str().unwrap(), &jwks_text, &content);
    assert_eq!(code, 1, "{out}");

    // A correction (更正): a new version of the sealed item, reviewed and
    // approved again, gets a new seal that supersedes the old one.
    let mut edit = sample_item();
    edit["base_version"] = json!(1);
    edit["title"] = json!("关于开展安全生产检查的通知（更正）");
    ok(t.drafter.put(&format!("/api/v1/items/{b}"), &edit).await);
    let body = ok(t.drafter.post(&format!("/api/v1/items/{b}/submit"), &json!({"version": 2})).await);
    let digest_b2 = body["current"]["content_digest"].as_str().unwrap().to_owned();
    approve(&t, &b, &digest_b2).await;
    let correction = ok(seal(&t.publisher, &b, &digest_b2).await);
    assert_eq!(correction["manifest"]["item"]["version"], 2);
    assert_eq!(correction["supersedes"], seal_b["serial"]);
    assert_eq!(correction["manifest"]["supersedes"], seal_b["serial"]);
    assert_eq!(status(&app, seal_b["serial"].as_str().unwrap()).await["status"], "superseded");
    // Withdrawal (issue 9 calls this): the status list shows it.
    let serial_c = correction["serial"].as_str().unwrap();
    app.db.set_seal_status(serial_c, gateway::store::SealState::Withdrawn, None, "撤稿").await.unwrap();
    assert_eq!(status(&app, serial_c).await["status"], "withdrawn");
    let list: Value = reqwest::get(format!("{}/api/v1/seal-status", app.base)).await.unwrap().json().await.unwrap();
    let codes: Vec<i64> =
        list["entries"].as_array().unwrap().iter().map(|e| e["status_code"].as_i64().unwrap()).collect();
    assert_eq!(codes, [1, 3, 1], "{list}");
    // The same statuses as a signed IETF Token Status List token.
    assert_eq!(status_list_token(&app).await, list_codes(&list), "{list}");
    let verifier = gateway::sealing::log_verifier(&app_settings(&app)).unwrap();
    assert_eq!(app.db.seal_audit(&verifier).await.unwrap().problem, None);
    app.stop().await;
}

/// `(log_index, code)` of every entry of the JSON status list.
fn list_codes(list: &Value) -> Vec<(usize, u8)> {
    list["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["log_index"].as_u64().unwrap() as usize, e["status_code"].as_u64().unwrap() as u8))
        .collect()
}

/// Fetches `/api/v1/status-list`, checks its EdDSA signature against the
/// published key set, inflates `status_list.lst` and returns the 2-bit code
/// of every index (least significant bits first, per the draft).
async fn status_list_token(app: &TestApp) -> Vec<(usize, u8)> {
    use base64::Engine as _;
    use std::io::Read as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let token = text(app, "/api/v1/status-list").await;
    let parts: Vec<&str> = token.trim().split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let header: Value = serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["typ"], "statuslist+jwt");
    assert_eq!(header["alg"], "EdDSA");
    let (_, keys) = jwks(app).await;
    let key = keys.get(header["kid"].as_str().unwrap()).expect("signed with a published key");
    let seal::KeyMaterial::Ed25519(public) = key.material() else { panic!("an Ed25519 key") };
    let signature = ed25519_dalek::Signature::from_slice(&b64.decode(parts[2]).unwrap()).unwrap();
    public.verify_strict(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature).expect("the token verifies");
    let payload: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(payload["status_list"]["bits"], 2);
    let mut packed = Vec::new();
    flate2::read::ZlibDecoder::new(&b64.decode(payload["status_list"]["lst"].as_str().unwrap()).unwrap()[..])
        .read_to_end(&mut packed)
        .unwrap();
    let count = packed.len() * 4;
    (0..count).map(|i| (i, (packed[i / 4] >> ((i % 4) * 2)) & 0b11)).filter(|(i, _)| *i < 3).collect()
}

/// A policy of built plugins: `(name, extra lines)`.
fn policy(name: &str, entries: &[(&str, &str)]) -> String {
    let dist = repo_root().join("plugins/dist");
    let mut text = format!("name = \"{name}\"\n");
    for (plugin, extra) in entries {
        text.push_str(&format!(
            "\n[[plugins]]\nname = \"{plugin}\"\npath = \"{}\"\nsha256 = \"{}\"\n{extra}\n[plugins.config]\n",
            dist.join(format!("{plugin}.wasm")).display(),
            dist_pin(plugin)
        ));
    }
    text
}

async fn a_changed_policy_runs_the_seal_check_again(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    let signoff = ("signoff", "phases = [\"seal\"]");
    std::fs::write(&path, policy("before", &[("noop", ""), signoff])).unwrap();
    let served = path.clone();
    let app = TestApp::spawn_with(backend, move |s| s.review.policy = served).await;
    let t = team(&app).await;
    let admin = app.user("ops", &[Role::Admin], None).await;
    let mut item = sample_item();
    // The panic test plugin misbehaves on bodies with this word.
    item["body"] = json!("各单位：MISBEHAVE 测试。\n江城市人民政府办公室");
    let (id, digest) = submitted(&t, &item).await;
    approve(&t, &id, &digest).await;
    let seal_reviews = |reviews: &Value| reviews.as_array().unwrap().iter().filter(|r| r["phase"] == "seal").count();
    let (_, reviews) = t.publisher.get(&format!("/api/v1/items/{id}/reviews")).await;
    assert_eq!(seal_reviews(&reviews), 1);

    // The policy now has a plugin that fails at the seal phase: sealing
    // runs the seal-phase plugins again and refuses; nothing is stored.
    std::fs::write(&path, policy("failing", &[("noop", ""), signoff, ("panic", "phases = [\"seal\"]")])).unwrap();
    ok(admin.post("/api/v1/admin/policy/reload", &json!({})).await);
    let before = app.snapshot().await;
    refused(seal(&t.publisher, &id, &digest).await, StatusCode::CONFLICT, "阻断");
    assert_eq!(app.snapshot().await, before);
    let (_, reviews) = t.publisher.get(&format!("/api/v1/items/{id}/reviews")).await;
    assert_eq!(seal_reviews(&reviews), 1, "a refused seal stores nothing");
    assert_eq!(seal_count(&app).await, 0);

    // A changed policy that passes: the check runs again under it, is stored
    // with the seal, and the manifest names the new policy.
    std::fs::write(&path, policy("after", &[("noop", ""), signoff])).unwrap();
    let (_, reloaded) = admin.post("/api/v1/admin/policy/reload", &json!({})).await;
    let new_hash = reloaded["policy"]["policy_hash"].as_str().unwrap().to_owned();
    let sealed = ok(seal(&t.publisher, &id, &digest).await);
    assert_eq!(format!("sha256:{}", sealed["manifest"]["review"]["policy"]["sha256"].as_str().unwrap()), new_hash);
    let (_, reviews) = t.publisher.get(&format!("/api/v1/items/{id}/reviews")).await;
    assert_eq!(seal_reviews(&reviews), 2);
    app.stop().await;
}

/// Issue 16, finding 18 and 19: a seal made with the development key keeps
/// verifying after the rotation to a production key (its key stays in the
/// published set, marked `"dev_key": true`), `seal audit` checks every seal
/// against that set, and `--refuse-dev-keys` refuses it by the key set's mark.
async fn issue_16_rotation_from_the_development_key_keeps_its_seals(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.seal.org_code = ORG.into()).await;
    let t = team(&app).await;
    let (a, digest_a, _) = approved_item(&t, "关于春节假期安排的通知").await;
    let dev_seal = ok(seal(&t.publisher, &a, &digest_a).await);
    assert_eq!(dev_seal["dev_key"], true, "{dev_seal}");
    let dev_kid = dev_seal["kid"].as_str().unwrap().to_owned();

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("seal-2026.pem");
    let prod_kid = gateway::sealing::generate_key_file(&file).unwrap();
    gateway::sealing::rotate(&app.db, &file).await.unwrap();
    let (b, digest_b, _) = approved_item(&t, "关于开展安全生产检查的通知").await;
    let prod_seal = ok(seal(&t.publisher, &b, &digest_b).await);
    assert_eq!(prod_seal["kid"], prod_kid.as_str());

    // The development key is still published, and marked.
    let (jwks_text, keys) = jwks(&app).await;
    let dev_key = keys.get(&dev_kid).expect("the development key stays published after the rotation");
    assert!(dev_key.dev_key(), "{jwks_text}");
    assert!(!keys.get(&prod_kid).unwrap().dev_key());

    let scratch = tempfile::tempdir().unwrap();
    let serial = dev_seal["serial"].as_str().unwrap();
    let public = public_seal(&app, serial).await;
    let content = content_bytes(&public["envelope"]["content"]);
    let jws = public["jws"].as_str().unwrap();
    // It verifies (reported as a development seal) in Rust and Python …
    let verified = rust_verify(jws, &keys, &content).expect("a development seal verifies after the rotation");
    assert!(verified.dev_key);
    let (code, out) = python_verify(scratch.path(), "dev", jws, &jwks_text, &content);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("(development key)"), "{out}");
    // … and a verifier that refuses development keys refuses it, by the key
    // set's mark.
    let opts =
        seal::VerifyOptions { content: seal::Content::Bytes(&content), refuse_dev_keys: true, ..Default::default() };
    let report = seal::verify_report(jws, &keys, &opts);
    assert_eq!(report.failed_check(), Some("dev-key"), "{report}");
    assert!(report.to_string().contains("the key set marks key"), "{report}");
    let (code, out) =
        python_verify_with(scratch.path(), "dev-refused", jws, &jwks_text, &content, &["--refuse-dev-keys"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.trim_end().ends_with("INVALID dev-key"), "{out}");
    // The production seal passes a refusing verifier.
    let public_b = public_seal(&app, prod_seal["serial"].as_str().unwrap()).await;
    let content_b = content_bytes(&public_b["envelope"]["content"]);
    let opts =
        seal::VerifyOptions { content: seal::Content::Bytes(&content_b), refuse_dev_keys: true, ..Default::default() };
    seal::verify(public_b["jws"].as_str().unwrap(), &keys, &opts).expect("a production seal");

    assert_eq!(status(&app, serial).await["status"], "valid");
    let verifier = gateway::sealing::log_verifier(&app_settings(&app)).unwrap();
    assert_eq!(app.db.seal_audit(&verifier).await.unwrap().problem, None);
    app.stop().await;
}

/// Issue 16, finding 21: two gateways on the default organ code would issue
/// the same serials, so the default is for the development key only. A
/// production key with it stops the start (nothing registered) and refuses
/// sealing when rotated in later (nothing stored).
async fn issue_16_the_default_organ_code_is_refused_outside_development(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(app.settings().seal.org_code, gateway::config::DEFAULT_ORG_CODE);
    let t = team(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("seal-2026.pem");
    gateway::sealing::generate_key_file(&file).unwrap();

    // Start with a production key and the default organ code: refused.
    let keys_before = app.db.seal_keys().await.unwrap();
    let mut settings = app.settings().clone();
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.seal.key_file = Some(file.clone());
    match gateway::server::Server::bind(settings).await {
        Ok(_) => panic!("a production key with the default organ code must not start"),
        Err(e) => assert!(e.to_string().contains("org_code"), "{e}"),
    }
    let keys_after = app.db.seal_keys().await.unwrap();
    assert_eq!(keys_after.len(), keys_before.len(), "nothing is registered by a refused start");

    // Rotated into a running gateway on the default code: sealing refused.
    gateway::sealing::rotate(&app.db, &file).await.unwrap();
    let (id, digest, _) = approved_item(&t, "关于调整办事指南的通知").await;
    let before = app.snapshot().await;
    refused(seal(&t.publisher, &id, &digest).await, StatusCode::CONFLICT, "机构代码");
    assert_eq!(app.snapshot().await, before, "a refused seal changes nothing");
    assert_eq!(seal_count(&app).await, 0);
    app.stop().await;

    // With its own organ code the same key seals, and the serial says whose.
    let app = TestApp::spawn_with(backend, |s| {
        s.seal.org_code = ORG.into();
        s.seal.key_file = Some(file.clone());
    })
    .await;
    let t = team(&app).await;
    let (id, digest, _) = approved_item(&t, "关于调整办事指南的通知").await;
    let sealed = ok(seal(&t.publisher, &id, &digest).await);
    assert!(sealed["serial"].as_str().unwrap().starts_with("321183-"), "{sealed}");
    assert_eq!(sealed["dev_key"], false);
    app.stop().await;
}

/// Issue 16, finding 10: the public record of a 依申请公开 item, and of an
/// embargoed one before its `not_before`, shows only what a channel holding
/// the seal needs to check it (serial, status, key, log index): no item id,
/// digest, issuer, 发文字号 or manifest; the status list does not name them.
async fn issue_16_public_record_of_a_non_public_or_embargoed_item(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = team(&app).await;
    let mut on_request = sample_item();
    on_request["title"] = json!("关于某企业信息公开申请的答复");
    on_request["attribute"] = json!("on_request");
    on_request["attribute_reason"] = json!("涉及第三方商业信息，依申请公开");
    on_request["legal_basis"] = json!("《中华人民共和国政府信息公开条例》第十五条");
    on_request["channels"] = json!(["applicant"]);
    on_request["doc_number"] = json!("江政办发〔2025〕17号");
    let (id_a, digest_a) = submitted(&t, &on_request).await;
    approve(&t, &id_a, &digest_a).await;
    let sealed_a = ok(seal(&t.publisher, &id_a, &digest_a).await);
    // The publisher's own answer is the full record.
    assert_eq!(sealed_a["disclosure"], "full");
    assert_eq!(sealed_a["manifest"]["doc_number"], "江政办发〔2025〕17号");

    let mut embargoed = sample_item();
    embargoed["title"] = json!("关于调整公共交通票价的通知");
    embargoed["doc_number"] = json!("江政办发〔2025〕18号");
    let (id_b, digest_b) = submitted(&t, &embargoed).await;
    approve(&t, &id_b, &digest_b).await;
    let not_before = time::OffsetDateTime::now_utc() + time::Duration::seconds(4);
    let not_before = not_before.format(&time::format_description::well_known::Rfc3339).unwrap();
    let sealed_b = ok(t
        .publisher
        .post(&format!("/api/v1/items/{id_b}/seal"), &json!({"content_digest": digest_b, "not_before": not_before}))
        .await);

    for (sealed, id, digest, doc) in
        [(&sealed_a, &id_a, &digest_a, "江政办发〔2025〕17号"), (&sealed_b, &id_b, &digest_b, "江政办发〔2025〕18号")]
    {
        let serial = sealed["serial"].as_str().unwrap();
        let body = text(&app, &format!("/api/v1/seals/{serial}")).await;
        let record: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(record["disclosure"], "restricted", "{record}");
        assert_eq!(record["status"], "valid");
        assert_eq!(record["kid"], sealed["kid"]);
        assert_eq!(record["log_index"], sealed["log_index"]);
        for field in ["item_id", "content_digest", "jws", "manifest", "envelope", "sealed_at", "not_before"] {
            assert!(record[field].is_null(), "{field} shown: {record}");
        }
        let hex = digest.trim_start_matches("sha256:");
        for secret in [id.as_str(), hex, doc, "江城市人民政府办公室", sealed["jws"].as_str().unwrap()] {
            assert!(!body.contains(secret), "{secret} shown: {body}");
        }
        // A channel holding the seal checks its status as before.
        assert_eq!(status(&app, serial).await["status"], "valid");
    }
    let list: Value = reqwest::get(format!("{}/api/v1/seal-status", app.base)).await.unwrap().json().await.unwrap();
    let serials: Vec<&Value> = list["entries"].as_array().unwrap().iter().map(|e| &e["serial"]).collect();
    assert_eq!(serials, [&Value::Null, &Value::Null], "{list}");

    // The embargo passes: the 主动公开 item's record is public from then on.
    let serial_b = sealed_b["serial"].as_str().unwrap().to_owned();
    tests::until(20, "the embargo passes", async || public_seal(&app, &serial_b).await["disclosure"] == "full").await;
    let record = public_seal(&app, &serial_b).await;
    assert_eq!(record["manifest"]["doc_number"], "江政办发〔2025〕18号");
    assert_eq!(record["jws"], sealed_b["jws"]);
    let list: Value = reqwest::get(format!("{}/api/v1/seal-status", app.base)).await.unwrap().json().await.unwrap();
    assert_eq!(list["entries"][0]["serial"], Value::Null, "{list}");
    assert_eq!(list["entries"][1]["serial"], serial_b.as_str(), "{list}");
    app.stop().await;
}

/// Issue 16, finding 14: the status-list token, signed with the seal key,
/// names the configured public URL whatever `Host` the request carries.
async fn issue_16_the_host_header_does_not_reach_what_the_seal_key_signs(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.public_url = Some("https://gateway.example.gov.cn".into())).await;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    for host in [None, Some("evil.example"), Some("127.0.0.1:1")] {
        let mut request = reqwest::Client::new().get(format!("{}/api/v1/status-list", app.base));
        if let Some(h) = host {
            request = request.header("host", h);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let token = response.text().await.unwrap();
        let payload: Value = serde_json::from_slice(&b64.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
        assert_eq!(payload["sub"], "https://gateway.example.gov.cn/api/v1/status-list", "Host {host:?}: {payload}");
    }
    app.stop().await;
}

/// Issue 16, finding 6: whoever holds a copy of the database can change an
/// event and recompute the whole hash chain, and a bare chain walk calls
/// it intact. The chain's head is in every signed checkpoint (at each seal
/// and periodically), so `audit verify` catches the rewrite; someone who
/// also took the log key can re-sign the stored checkpoints, and then the
/// checkpoints a witness kept from the public endpoint catch it
/// (`gateway audit verify --checkpoints FILE`).
async fn issue_16_a_rewritten_audit_chain_is_caught_by_the_signed_checkpoints(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.seal.checkpoint_secs = 1).await;
    let t = team(&app).await;
    let (id, digest, _) = approved_item(&t, "关于开展2025年度政务公开业务培训的通知").await;
    ok(seal(&t.publisher, &id, &digest).await);
    // A witness keeps what the public endpoint signs.
    let mut witness = text(&app, "/api/v1/log/checkpoint").await;
    assert!(witness.contains("\ngov-disclosure/audit-head "), "{witness}");
    // Events after the seal (a login) are anchored by the periodic checkpoint.
    let auditor = app.user("shen", &[Role::Auditor], None).await;
    let head: i64 =
        sqlx::query_scalar("SELECT seq FROM audit_head WHERE id = 1").fetch_one(app.db.pool()).await.unwrap();
    let line = format!("\ngov-disclosure/audit-head {head} ");
    tests::until(15, "a periodic checkpoint anchors the audit head", async || {
        text(&app, "/api/v1/log/checkpoint").await.contains(&line)
    })
    .await;
    witness.push_str(&text(&app, "/api/v1/log/checkpoint").await);
    let (status_code, report) = auditor.get("/api/v1/audit/verify").await;
    assert_eq!(status_code, StatusCode::OK);
    assert_eq!(report["intact"], true, "{report}");
    assert_eq!(report["anchored_events"], head, "{report}");

    // The attack: the seal's issuer becomes the approver, and every hash
    // after it is recomputed, in the database.
    let seq: i64 = sqlx::query_scalar("SELECT seq FROM audit_events WHERE action = 'seal.issue'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let approver: String =
        sqlx::query_scalar("SELECT id FROM users WHERE username = 'feng'").fetch_one(app.db.pool()).await.unwrap();
    let rewritten = tests::rewrite_audit_chain(&app.db, seq, |e| {
        if e.seq == seq {
            e.actor_id = Some(approver.clone());
        }
    })
    .await;
    // A bare hash chain cannot tell …
    assert_eq!(app.db.verify_audit_chain().await.unwrap().first_broken, None);
    // … the signed checkpoints can.
    let (_, report) = auditor.get("/api/v1/audit/verify").await;
    assert_eq!(report["intact"], false, "{report}");
    assert!(report["first_broken"].as_i64().unwrap() >= seq, "{report}");
    assert!(report["reason"].as_str().unwrap().contains("signed checkpoint"), "{report}");
    let verifier = gateway::sealing::log_verifier(&app_settings(&app)).unwrap();
    assert!(app.db.seal_audit(&verifier).await.unwrap().problem.is_some());

    // Whoever also took the log key (`<data_dir>/keys/log.key`) re-signs
    // every stored checkpoint with the rewritten hashes …
    let skey = std::fs::read_to_string(app.data_dir().join("keys/log.key")).unwrap();
    let signer = seal::note::NoteSigner::from_skey(skey.trim()).unwrap();
    let resign = |note: &str| -> String {
        let mut cp = seal::note::Checkpoint::open(note, signer.verifier()).unwrap();
        let head = gateway::store::AuditHead::of_checkpoint(&cp).unwrap().expect("an anchored checkpoint");
        let hash = rewritten.get(&head.events).cloned().unwrap_or(head.hash);
        cp.extensions = vec![gateway::store::AuditHead { events: head.events, hash }.extension_line()];
        signer.sign_checkpoint(&cp).unwrap()
    };
    for (table, key) in [("tlog_checkpoints", "size"), ("audit_anchors", "events")] {
        let rows: Vec<(i64, String)> =
            sqlx::query_as(&format!("SELECT {key}, note FROM {table}")).fetch_all(app.db.pool()).await.unwrap();
        for (k, note) in rows {
            sqlx::query(&format!("UPDATE {table} SET note = $1 WHERE {key} = $2"))
                .bind(resign(&note))
                .bind(k)
                .execute(app.db.pool())
                .await
                .unwrap();
        }
    }
    // … and the store agrees with itself again: this is what a database and
    // log key holder can do, and why checkpoints are kept outside.
    let (_, report) = auditor.get("/api/v1/audit/verify").await;
    assert_eq!(report["intact"], true, "{report}");

    // The witness's checkpoints catch it: `gateway audit verify --checkpoints`.
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("witness-checkpoints.txt");
    std::fs::write(&file, &witness).unwrap();
    let vkey = text(&app, "/api/v1/log/key").await;
    let run = |extra: &[&str]| {
        let mut cmd = std::process::Command::new(tests::process::gateway_binary());
        cmd.current_dir(scratch.path()).arg("--data-dir").arg(app.data_dir());
        if let Some(url) = &app.settings().database.url {
            cmd.arg("--database-url").arg(url.expose());
        }
        let out = cmd.args(["audit", "verify"]).args(extra).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
    };
    let (code, out) = run(&[]);
    assert_eq!(code, Some(0), "the store alone agrees with itself: {out}");
    let file_arg = file.to_str().unwrap();
    for extra in [vec!["--checkpoints", file_arg], vec!["--checkpoints", file_arg, "--log-key", vkey.trim()]] {
        let (code, out) = run(&extra);
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains("审计链已损坏") && out.contains("external signed checkpoint"), "{out}");
    }
    app.stop().await;
}
