//! Logging in and out, lockout, API tokens and their scopes, the OpenAPI
//! document, health, and the audit chain.

use gateway::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tests::{Backend, TestApp, on_both_backends, sample_item};

on_both_backends!(
    login_logout_and_lockout,
    tokens_are_scoped_and_revocable,
    openapi_and_health,
    audit_chain_detects_tampering
);

async fn login_logout_and_lockout(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("zhao", &[Role::Drafter], None).await;
    let (status, me) = drafter.get("/api/v1/auth/me").await;
    assert_eq!((status, me["username"].as_str()), (StatusCode::OK, Some("zhao")));
    assert_eq!(drafter.post("/api/v1/auth/logout", &json!({})).await.0, StatusCode::NO_CONTENT);
    assert_eq!(drafter.get("/api/v1/auth/me").await.0, StatusCode::UNAUTHORIZED);

    let client = app.client();
    let wrong = json!({"username": "zhao", "password": "wrong password"});
    for _ in 0..gateway::store::MAX_FAILED_LOGINS {
        let (status, body) = client.post("/api/v1/auth/login", &wrong).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["type"], "urn:gateway:problem:bad-credentials");
    }
    // Locked now, even with the right password.
    let right = json!({"username": "zhao", "password": "Pw-zhao-2026"});
    let (status, body) = client.post("/api/v1/auth/login", &right).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    // An unknown user gets the same answer as a wrong password.
    let (status, body) = client.post("/api/v1/auth/login", &json!({"username": "nobody", "password": "x"})).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("urn:gateway:problem:bad-credentials"))
    );
    app.stop().await;
}

async fn tokens_are_scoped_and_revocable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("root", &[Role::Admin], None).await;
    let drafter = app.user("qian", &[Role::Drafter], None).await;
    let me = drafter.get("/api/v1/auth/me").await.1;
    let (status, created) =
        admin.post("/api/v1/tokens", &json!({"user_id": me["id"], "name": "自动化", "scopes": ["items:read"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["token"].as_str().unwrap();
    assert!(token.starts_with("gwt_"));
    let bot = drafter.with_token(token);
    assert_eq!(bot.get("/api/v1/items").await.0, StatusCode::OK);
    // The token has no items:write scope, though its user is a drafter.
    let (status, body) = bot.post("/api/v1/items", &sample_item()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // Only the hash is stored.
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens WHERE token_hash = $1")
        .bind(token)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(stored, 0);
    // A drafter cannot mint tokens for someone else.
    let admin_id = admin.get("/api/v1/auth/me").await.1["id"].clone();
    let (status, _) =
        drafter.post("/api/v1/tokens", &json!({"user_id": admin_id, "name": "x", "scopes": ["admin"]})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let id = created["record"]["id"].as_str().unwrap();
    assert_eq!(
        drafter.send(drafter.request(Method::DELETE, &format!("/api/v1/tokens/{id}"))).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(bot.get("/api/v1/items").await.0, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

async fn openapi_and_health(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let anonymous = app.client();
    let (status, body) = anonymous.get("/healthz").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, Some("ok")));
    let (status, doc) = anonymous.get("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/v1/items",
        "/api/v1/items/{id}",
        "/api/v1/items/{id}/submit",
        "/api/v1/items/{id}/diff",
        "/api/v1/auth/login",
        "/api/v1/attachments",
    ] {
        assert!(paths.contains_key(path), "{path} missing from the OpenAPI document");
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    app.stop().await;
}

async fn audit_chain_detects_tampering(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.seal.checkpoint_secs = 1).await;
    let auditor = app.user("shen", &[Role::Auditor], None).await;
    let drafter = app.user("sun", &[Role::Drafter], None).await;
    app.user("li", &[Role::Drafter], None).await;
    let item = drafter.create_item(&sample_item()).await;
    let seq: i64 = sqlx::query_scalar("SELECT seq FROM audit_events WHERE action = 'item.create' AND item_id = $1")
        .bind(item["id"].as_str().unwrap())
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    // The periodic signed checkpoint anchors the chain's head (issue 16).
    tests::until(15, "a signed checkpoint anchors the item's creation", async || {
        let (_, report) = auditor.get("/api/v1/audit/verify").await;
        report["anchored_events"].as_i64().unwrap_or(0) >= seq
    })
    .await;
    let (status, report) = auditor.get("/api/v1/audit/verify").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["intact"], true, "{report}");

    // Issue 16: the item's author is changed in the database and the whole
    // chain recomputed. The bare chain walk calls it intact; the check
    // against the signed checkpoints does not.
    let other: String =
        sqlx::query_scalar("SELECT id FROM users WHERE username = 'li'").fetch_one(app.db.pool()).await.unwrap();
    tests::rewrite_audit_chain(&app.db, seq, |e| {
        if e.seq == seq {
            e.actor_id = Some(other.clone());
        }
    })
    .await;
    assert_eq!(app.db.verify_audit_chain().await.unwrap().first_broken, None, "the attack recomputes the chain");
    let (_, report) = auditor.get("/api/v1/audit/verify").await;
    assert_eq!(report["intact"], false, "{report}");
    assert!(report["first_broken"].as_i64().unwrap() >= seq, "{report}");

    // Alter one event directly in the database without recomputing: the
    // chain walk names it.
    sqlx::query("UPDATE audit_events SET detail = $1 WHERE seq = $2")
        .bind(r#"{"content_digest":"sha256:forged"}"#)
        .bind(seq)
        .execute(app.db.pool())
        .await
        .unwrap();
    let (_, report) = auditor.get("/api/v1/audit/verify").await;
    assert_eq!(report["intact"], false);
    assert_eq!(report["first_broken"], seq);
    // Drafters may not read the audit report.
    assert_eq!(drafter.get("/api/v1/audit/verify").await.0, StatusCode::FORBIDDEN);
    app.stop().await;
}
