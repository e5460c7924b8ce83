//! Logging in and out, login throttling, the account life cycle and 三员分立,
//! the signatory's second factor, same-origin checks of cookie writes, API
//! tokens and their scopes, the OpenAPI document, health, and the audit
//! chain. The `issue_16_*` tests perform the attacks of issue 16 (findings
//! 4, 8 and 16) against the real server.

use std::time::{Duration, Instant};

use gateway::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tests::team::{Team, ok};
use tests::{Backend, Client, TestApp, on_both_backends, sample_item};

on_both_backends!(
    login_logout_and_lockout,
    tokens_are_scoped_and_revocable,
    openapi_and_health,
    audit_chain_detects_tampering,
    issue_16_concurrent_guesses_are_throttled_atomically,
    issue_16_one_address_guessing_many_names_is_throttled,
    issue_16_unknown_locked_and_wrong_logins_are_indistinguishable,
    issue_16_account_life_cycle,
    issue_16_three_administrators_are_separate,
    issue_16_an_administrator_cannot_sign_off_as_the_leader,
    issue_16_cookie_writes_from_another_origin_are_refused,
    issue_16_secure_cookie_and_hsts_behind_tls,
    issue_16_first_run_and_cli_unlock
);

/// The default number of login attempts per account name and window.
const MAX_ATTEMPTS: usize = 5;

async fn login_logout_and_lockout(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("zhao", &[Role::Drafter], None).await;
    let (status, me) = drafter.get("/api/v1/auth/me").await;
    assert_eq!((status, me["username"].as_str()), (StatusCode::OK, Some("zhao")));
    assert_eq!(drafter.post("/api/v1/auth/logout", &json!({})).await.0, StatusCode::NO_CONTENT);
    assert_eq!(drafter.get("/api/v1/auth/me").await.0, StatusCode::UNAUTHORIZED);

    let client = app.client();
    let wrong = json!({"username": "zhao", "password": "wrong password"});
    let mut answers = Vec::new();
    for _ in 0..MAX_ATTEMPTS {
        let (status, body) = client.post("/api/v1/auth/login", &wrong).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["type"], "urn:gateway:problem:bad-credentials");
        answers.push(body);
    }
    // Locked now, even with the right password, and it says nothing more
    // than a wrong password does.
    let right = json!({"username": "zhao", "password": "Pw-zhao-2026"});
    let (status, body) = client.post("/api/v1/auth/login", &right).await;
    assert_eq!((status, &body), (StatusCode::UNAUTHORIZED, &answers[0]));
    // An unknown user gets the same answer as a wrong password.
    let (status, body) = client.post("/api/v1/auth/login", &json!({"username": "nobody", "password": "x"})).await;
    assert_eq!((status, &body), (StatusCode::UNAUTHORIZED, &answers[0]));
    app.stop().await;
}

async fn tokens_are_scoped_and_revocable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("root", &[Role::SecurityAdmin], None).await;
    let drafter = app.user("qian", &[Role::Drafter], None).await;
    let me = drafter.get("/api/v1/auth/me").await.1;
    // Nobody mints a token in a person's name, not even the security
    // administrator: people create their own.
    let (status, body) =
        admin.post("/api/v1/tokens", &json!({"user_id": me["id"], "name": "自动化", "scopes": ["items:read"]})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, created) = drafter.post("/api/v1/tokens", &json!({"name": "自动化", "scopes": ["items:read"]})).await;
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
    // The record is the audit administrator's, not the other administrators'.
    for (name, role) in [("root", Role::Admin), ("anquan", Role::SecurityAdmin)] {
        let admin = app.user(name, &[role], None).await;
        assert_eq!(admin.get("/api/v1/audit/verify").await.0, StatusCode::FORBIDDEN);
        assert_eq!(admin.get("/api/v1/audit/events").await.0, StatusCode::FORBIDDEN);
    }
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

/// The audit events of one action, oldest first (read by an audit administrator).
async fn events(auditor: &Client, action: &str) -> Vec<Value> {
    let all = ok(auditor.get("/api/v1/audit/events?limit=1000").await);
    all.as_array().unwrap().iter().filter(|e| e["action"] == action).cloned().collect()
}

async fn login(client: &Client, username: &str, password: &str) -> (StatusCode, Value) {
    client.post("/api/v1/auth/login", &json!({"username": username, "password": password})).await
}

/// Finding 4: 40 concurrent wrong passwords. The attempt is taken with one
/// conditional upsert before the password is checked, so at most the
/// threshold are checked against the real hash; the rest are refused with
/// the same answer. A refused attempt does not extend the lock; a window
/// that has passed starts again; success resets; the security
/// administrator unlocks, audited.
async fn issue_16_concurrent_guesses_are_throttled_atomically(backend: Backend) {
    // Every test client is 127.0.0.1: the per-address limit is tested
    // separately.
    let app = TestApp::spawn_with(backend, |s| s.session.max_failed_logins_per_address = 1000).await;
    let auditor = app.user("shen", &[Role::Auditor], None).await;
    let security = app.user("anquan", &[Role::SecurityAdmin], None).await;
    app.user("zhao", &[Role::Drafter], None).await;
    let zhao_id = ok(security.get("/api/v1/users").await)
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "zhao")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = events(&auditor, "auth.login_failed").await.len();

    let attacker = app.client();
    let guesses = (0..40).map(|i| {
        let attacker = attacker.clone();
        async move { login(&attacker, "zhao", &format!("guess-{i}")).await }
    });
    let answers = futures_join_all(guesses).await;
    let first = answers[0].1.clone();
    for (status, body) in &answers {
        assert_eq!((*status, body), (StatusCode::UNAUTHORIZED, &first), "every guess gets the same answer");
    }
    let failed = events(&auditor, "auth.login_failed").await;
    let checked: Vec<&Value> = failed[before..]
        .iter()
        .filter(|e| e["detail"]["username"] == "zhao" && e["detail"]["throttled"] == false)
        .collect();
    assert_eq!(failed.len() - before, 40, "every refused attempt is on the record");
    assert_eq!(checked.len(), MAX_ATTEMPTS, "only the threshold's worth of guesses were checked: {checked:?}");

    // Locked: the right password is refused the same way.
    assert_eq!(login(&app.client(), "zhao", "Pw-zhao-2026").await, (StatusCode::UNAUTHORIZED, first.clone()));
    // The security administrator unlocks (audited); the right password works
    // and resets the count.
    let (status, body) = security.post(&format!("/api/v1/users/{zhao_id}/unlock"), &json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(events(&auditor, "user.unlock").await.len(), 1);
    assert_eq!(login(&app.client(), "zhao", "Pw-zhao-2026").await.0, StatusCode::OK);
    for _ in 0..MAX_ATTEMPTS - 1 {
        assert_eq!(login(&app.client(), "zhao", "wrong").await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login(&app.client(), "zhao", "Pw-zhao-2026").await.0, StatusCode::OK, "success reset the count");

    // One wrong password per window never keeps the account locked: once
    // the window has passed (moved back here instead of waiting 15 minutes)
    // the count starts again at one.
    for _ in 0..MAX_ATTEMPTS {
        login(&app.client(), "zhao", "wrong").await;
    }
    assert_eq!(login(&app.client(), "zhao", "Pw-zhao-2026").await.0, StatusCode::UNAUTHORIZED, "locked");
    // Attempts during the lock do not extend it: the window start is unchanged.
    let start = |db: &gateway::store::Db| {
        let pool = db.pool().clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT window_start FROM login_throttle WHERE key = 'user:zhao'")
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let locked_at = start(&app.db).await;
    login(&app.client(), "zhao", "wrong").await;
    assert_eq!(start(&app.db).await, locked_at, "a refused attempt does not move the window");
    sqlx::query("UPDATE login_throttle SET window_start = '2000-01-01T00:00:00.000Z' WHERE key = 'user:zhao'")
        .execute(app.db.pool())
        .await
        .unwrap();
    assert_eq!(login(&app.client(), "zhao", "wrong").await.0, StatusCode::UNAUTHORIZED);
    let attempts: i64 = sqlx::query_scalar("SELECT attempts FROM login_throttle WHERE key = 'user:zhao'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(attempts, 1, "the expired window started again");
    assert_eq!(login(&app.client(), "zhao", "Pw-zhao-2026").await.0, StatusCode::OK);
    app.stop().await;
}

/// Finding 4, per address: one client guessing one password for many
/// names (each name below its own limit) is throttled by its address, with
/// the same answer; the address's count is not reset by someone else's
/// unlock, and a passed window starts again.
async fn issue_16_one_address_guessing_many_names_is_throttled(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.session.max_failed_logins_per_address = 10).await;
    app.user("zhao", &[Role::Drafter], None).await;
    let attacker = app.client();
    let mut answers = Vec::new();
    for i in 0..10 {
        answers.push(login(&attacker, &format!("name{i}"), "Spray-Password-1").await);
    }
    let (status, body) = login(&attacker, "zhao", "Pw-zhao-2026").await;
    assert_eq!((status, &body), (StatusCode::UNAUTHORIZED, &answers[0].1), "the address is throttled");
    let attempts: i64 = sqlx::query_scalar("SELECT attempts FROM login_throttle WHERE key = 'addr:127.0.0.1'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(attempts, 10);
    sqlx::query("UPDATE login_throttle SET window_start = '2000-01-01T00:00:00.000Z' WHERE key = 'addr:127.0.0.1'")
        .execute(app.db.pool())
        .await
        .unwrap();
    assert_eq!(login(&attacker, "zhao", "Pw-zhao-2026").await.0, StatusCode::OK);
    app.stop().await;
}

/// Runs futures concurrently (the tests crate has no `futures`).
async fn futures_join_all<T: Send + 'static>(
    futures: impl Iterator<Item = impl std::future::Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

/// Finding 4: unknown, locked and wrong answer with the same status and
/// body, in the same time (medians of interleaved tries: the argon2
/// verification runs in every case).
async fn issue_16_unknown_locked_and_wrong_logins_are_indistinguishable(backend: Backend) {
    const TRIES: usize = 7;
    let app = TestApp::spawn(backend).await;
    for i in 0..TRIES {
        app.user(&format!("wrong{i}"), &[Role::Drafter], None).await;
    }
    app.user("locked", &[Role::Drafter], None).await;
    for _ in 0..MAX_ATTEMPTS {
        login(&app.client(), "locked", "wrong").await;
    }
    let mut times: [Vec<Duration>; 3] = Default::default();
    let mut bodies: Vec<(StatusCode, Value)> = Vec::new();
    for i in 0..TRIES {
        let wrong = format!("wrong{i}");
        let unknown = format!("nobody{i}");
        for (k, (user, password)) in [
            (wrong.as_str(), "Not-the-password-1"),
            (unknown.as_str(), "Not-the-password-1"),
            ("locked", "Pw-locked-2026"),
        ]
        .into_iter()
        .enumerate()
        {
            let client = app.client();
            let started = Instant::now();
            let answer = login(&client, user, password).await;
            times[k].push(started.elapsed());
            bodies.push(answer);
        }
    }
    for answer in &bodies {
        assert_eq!(answer, &bodies[0], "wrong, unknown and locked answer alike");
    }
    assert_eq!(bodies[0].0, StatusCode::UNAUTHORIZED);
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let [wrong, unknown, locked] = times.each_mut().map(median);
    // Before the fix a locked account answered in 2 ms and an unknown one in
    // 27 ms; now each costs the argon2 verification.
    for (what, t) in [("unknown", unknown), ("locked", locked)] {
        let (lo, hi) = (wrong.mul_f64(0.6), wrong.mul_f64(1.67) + Duration::from_millis(5));
        assert!(t >= lo && t <= hi, "{what} took {t:?}, a wrong password {wrong:?}");
    }
    eprintln!("login medians: wrong {wrong:?}, unknown {unknown:?}, locked {locked:?}");
    app.stop().await;
}

/// Finding 8: the account life cycle. The system administrator creates an
/// account (no roles) with an initial password; the security administrator
/// grants a role; the person must change the password before anything
/// else; deactivation ends the session and the token at once; role removal
/// is effective at once; a reset forces a new change; each step is audited.
async fn issue_16_account_life_cycle(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("root", &[Role::Admin], None).await;
    let security = app.user("anquan", &[Role::SecurityAdmin], None).await;
    let auditor = app.user("shen", &[Role::Auditor], None).await;

    let new =
        json!({"username": "li.ming", "display_name": "李明", "unit": "江城市民政局", "password": "Initial-Pw-2026"});
    let mut with_roles = new.clone();
    with_roles["roles"] = json!(["drafter"]);
    let before = app.snapshot().await;
    let (status, body) = admin.post("/api/v1/users", &with_roles).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the system administrator grants no role: {body}");
    assert_eq!(security.post("/api/v1/users", &new).await.0, StatusCode::FORBIDDEN, "nor creates the security one");
    assert_eq!(app.snapshot().await, before, "nothing stored");
    let (status, user) = admin.post("/api/v1/users", &new).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!((user["roles"].clone(), user["must_change_password"].clone()), (json!([]), json!(true)));
    let id = user["id"].as_str().unwrap().to_owned();
    let grant = json!({"grant": ["drafter"]});
    assert_eq!(admin.post(&format!("/api/v1/users/{id}/roles"), &grant).await.0, StatusCode::FORBIDDEN);
    let granted = ok(security.post(&format!("/api/v1/users/{id}/roles"), &grant).await);
    assert_eq!(granted["roles"], json!(["drafter"]));

    // First login: nothing but the password change, answered in Chinese.
    let li = app.client();
    assert_eq!(login(&li, "li.ming", "Initial-Pw-2026").await.0, StatusCode::OK);
    let (status, problem) = li.post("/api/v1/items", &sample_item()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["type"], "urn:gateway:problem:password-change-required");
    assert!(problem["title"].as_str().unwrap().contains("修改密码"), "{problem}");
    assert_eq!(li.get("/api/v1/items").await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        li.post("/api/v1/tokens", &json!({"name": "x", "scopes": ["items:read"]})).await.0,
        StatusCode::FORBIDDEN
    );
    let change = |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let (status, body) = li.post("/api/v1/auth/password", &change("wrong", "Li-Ming-Own-2026")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = li.post("/api/v1/auth/password", &change("Initial-Pw-2026", "short")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = li.post("/api/v1/auth/password", &change("Initial-Pw-2026", "Li-Ming-Own-2026")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    li.create_item(&sample_item()).await;
    assert_eq!(
        login(&app.client(), "li.ming", "Initial-Pw-2026").await.0,
        StatusCode::UNAUTHORIZED,
        "old password gone"
    );
    let (status, token) =
        li.post("/api/v1/tokens", &json!({"name": "脚本", "scopes": ["items:read", "items:write"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{token}");
    let bot = li.with_token(token["token"].as_str().unwrap());
    assert_eq!(bot.get("/api/v1/items").await.0, StatusCode::OK);

    // Role removal: at once, for the session and the token.
    ok(security.post(&format!("/api/v1/users/{id}/roles"), &json!({"remove": ["drafter"]})).await);
    assert_eq!(li.post("/api/v1/items", &sample_item()).await.0, StatusCode::FORBIDDEN);
    assert_eq!(bot.post("/api/v1/items", &sample_item()).await.0, StatusCode::FORBIDDEN);
    ok(security.post(&format!("/api/v1/users/{id}/roles"), &json!({"grant": ["drafter"]})).await);

    // Deactivation: the session and the token stop working at once.
    assert_eq!(security.post(&format!("/api/v1/users/{id}/deactivate"), &json!({})).await.0, StatusCode::FORBIDDEN);
    let (status, body) = admin.post(&format!("/api/v1/users/{id}/deactivate"), &json!({})).await;
    assert_eq!((status, &body["active"]), (StatusCode::OK, &json!(false)), "{body}");
    assert_eq!(li.get("/api/v1/auth/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(bot.get("/api/v1/items").await.0, StatusCode::UNAUTHORIZED);
    let (status, refused) = login(&app.client(), "li.ming", "Li-Ming-Own-2026").await;
    assert_eq!(
        (status, refused["type"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("urn:gateway:problem:bad-credentials"))
    );
    assert_eq!(admin.post(&format!("/api/v1/users/{id}/deactivate"), &json!({})).await.0, StatusCode::CONFLICT);
    ok(admin.post(&format!("/api/v1/users/{id}/reactivate"), &json!({})).await);
    assert_eq!(bot.get("/api/v1/items").await.0, StatusCode::OK);
    assert_eq!(login(&li, "li.ming", "Li-Ming-Own-2026").await.0, StatusCode::OK);

    // A reset by the system administrator ends the sessions and forces a change again.
    let reset = json!({"password": "Reset-Pw-2026x"});
    ok_status(admin.post(&format!("/api/v1/users/{id}/password"), &reset).await, StatusCode::NO_CONTENT);
    assert_eq!(li.get("/api/v1/auth/me").await.0, StatusCode::UNAUTHORIZED, "sessions ended");
    assert_eq!(login(&li, "li.ming", "Reset-Pw-2026x").await.0, StatusCode::OK);
    assert_eq!(li.get("/api/v1/items").await.0, StatusCode::FORBIDDEN, "must change again");
    // Nobody changes their own account through the administrators' routes.
    let admin_id = admin.get("/api/v1/auth/me").await.1["id"].as_str().unwrap().to_owned();
    assert_eq!(admin.post(&format!("/api/v1/users/{admin_id}/deactivate"), &json!({})).await.0, StatusCode::FORBIDDEN);

    for action in [
        "user.create",
        "user.roles",
        "user.password_change",
        "user.deactivate",
        "user.reactivate",
        "user.password_reset",
    ] {
        assert!(!events(&auditor, action).await.is_empty(), "{action} is on the record");
    }
    app.stop().await;
}

#[track_caller]
fn ok_status(result: (StatusCode, Value), expected: StatusCode) {
    assert_eq!(result.0, expected, "{}", result.1);
}

/// Finding 8, 三员分立: the system, security and audit administrators are
/// three accounts; none holds two of the roles or a business role, by
/// creation or by grant, and none of them may reset another's password
/// through the API.
async fn issue_16_three_administrators_are_separate(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("root", &[Role::Admin], None).await;
    let security = app.user("anquan", &[Role::SecurityAdmin], None).await;
    let auditor = app.user("shen", &[Role::Auditor], None).await;
    app.user("feng", &[Role::Approver], None).await;
    let users = ok(security.get("/api/v1/users").await);
    let id_of = |name: &str| {
        users.as_array().unwrap().iter().find(|u| u["username"] == name).unwrap()["id"].as_str().unwrap().to_owned()
    };
    let before = app.snapshot().await;
    for (who, role) in [
        ("root", "security_admin"),
        ("root", "auditor"),
        ("shen", "admin"),
        ("shen", "publisher"),
        ("feng", "admin"),
        ("feng", "security_admin"),
        ("feng", "auditor"),
    ] {
        let (status, problem) =
            security.post(&format!("/api/v1/users/{}/roles", id_of(who)), &json!({"grant": [role]})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{who} + {role}: {problem}");
        assert!(problem["detail"].as_str().unwrap().contains("三员分立"), "{problem}");
    }
    // The security administrator does not change their own roles.
    let (status, _) =
        security.post(&format!("/api/v1/users/{}/roles", id_of("anquan")), &json!({"grant": ["auditor"]})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The system administrator does not reset another administrator's password.
    for who in ["anquan", "shen"] {
        let (status, _) = admin
            .post(&format!("/api/v1/users/{}/password", id_of(who)), &json!({"password": "Taken-Over-2026"}))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}");
    }
    assert_eq!(app.snapshot().await, before);
    let roles: Vec<String> =
        sqlx::query_scalar("SELECT role FROM user_roles ORDER BY role").fetch_all(app.db.pool()).await.unwrap();
    assert_eq!(roles, ["admin", "approver", "auditor", "security_admin"]);
    assert_eq!(auditor.get("/api/v1/audit/verify").await.0, StatusCode::OK);
    app.stop().await;
}

/// Finding 8: the administrator sets and resets passwords, but the sign-off
/// needs the signatory's own TOTP. An administrator who resets the
/// leader's password and logs in as them still cannot sign; a signatory
/// without TOTP is told to enrol; a used code is refused.
async fn issue_16_an_administrator_cannot_sign_off_as_the_leader(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = Team::of(&app).await;
    let admin = app.user("root2", &[Role::Admin], None).await;
    let users = ok(t.security.get("/api/v1/users").await);
    let feng =
        users.as_array().unwrap().iter().find(|u| u["username"] == "feng").unwrap()["id"].as_str().unwrap().to_owned();

    let submit = async |title: &str| {
        let id = t.draft(title, &["website"]).await;
        let body = ok(t.drafter.post(&format!("/api/v1/items/{id}/submit"), &json!({"version": 1})).await);
        let digest = body["current"]["content_digest"].as_str().unwrap().to_owned();
        for (c, stage) in [(&t.first, "first"), (&t.secrecy, "secrecy"), (&t.second, "second")] {
            ok(c.post(
                &format!("/api/v1/items/{id}/votes"),
                &json!({"stage": stage, "value": "approve", "content_digest": digest}),
            )
            .await);
        }
        (id, digest)
    };
    let sign_off = |digest: &str, password: &str, code: Option<&str>| {
        json!({"stage": "final", "value": "approve", "content_digest": digest, "statement_id": "sign-off",
               "statement_version": "1", "password": password, "totp_code": code})
    };

    // The administrator takes over the signatory's password…
    let (id, digest) = submit("关于调整低保标准的通知").await;
    ok_status(
        admin.post(&format!("/api/v1/users/{feng}/password"), &json!({"password": "Admin-Knows-2026"})).await,
        StatusCode::NO_CONTENT,
    );
    let impostor = app.client();
    assert_eq!(login(&impostor, "feng", "Admin-Knows-2026").await.0, StatusCode::OK);
    ok_status(
        impostor
            .post(
                "/api/v1/auth/password",
                &json!({"current_password": "Admin-Knows-2026", "new_password": "Admin-Chose-2026"}),
            )
            .await,
        StatusCode::NO_CONTENT,
    );
    // …but cannot enrol a second factor of their own, nor sign without the real one.
    assert_eq!(impostor.post("/api/v1/auth/totp", &json!({})).await.0, StatusCode::CONFLICT);
    for code in [None, Some("000000"), Some("123456")] {
        let (status, problem) =
            impostor.post(&format!("/api/v1/items/{id}/votes"), &sign_off(&digest, "Admin-Chose-2026", code)).await;
        assert!(matches!(status, StatusCode::FORBIDDEN | StatusCode::UNPROCESSABLE_ENTITY), "{status} {problem}");
    }
    let wf = ok(t.auditor.get(&format!("/api/v1/items/{id}/workflow")).await);
    assert_eq!(wf["state"], "in_review", "not signed: {wf}");

    // A signatory without a second factor is told to enrol.
    let deputy = app.user("han", &[Role::Approver], Some(tests::team::UNIT)).await;
    let (status, problem) =
        deputy.post(&format!("/api/v1/items/{id}/votes"), &sign_off(&digest, "Pw-han-2026", Some("000000"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("绑定"), "{problem}");

    // The real signatory (after the operator gave them a password of their
    // own) signs with a fresh code; the same code is refused a second time.
    sqlx::query("UPDATE users SET password_hash = $1, must_change_password = 0 WHERE username = 'feng'")
        .bind(gateway::auth::hash_password("Pw-feng-2026").unwrap())
        .execute(app.db.pool())
        .await
        .unwrap();
    let feng_client = app.client();
    assert_eq!(login(&feng_client, "feng", "Pw-feng-2026").await.0, StatusCode::OK);
    let code = t.approver_totp.code().await;
    let signed = ok(feng_client
        .post(&format!("/api/v1/items/{id}/votes"), &sign_off(&digest, "Pw-feng-2026", Some(&code)))
        .await);
    assert_eq!(signed["item"]["state"], "approved", "{signed}");
    let (id2, digest2) = submit("关于调整临时救助标准的通知").await;
    let (status, problem) =
        feng_client.post(&format!("/api/v1/items/{id2}/votes"), &sign_off(&digest2, "Pw-feng-2026", Some(&code))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("已使用"), "{problem}");
    let wf = ok(t.auditor.get(&format!("/api/v1/items/{id2}/workflow")).await);
    assert_eq!(wf["state"], "in_review", "not signed with a replayed code: {wf}");
    app.stop().await;
}

/// Finding 16: a cookie-authenticated write from another origin (the
/// `text/plain` upload a foreign page can send without a preflight) is
/// refused, whatever the Host header says; nothing is stored. Tokens are
/// not cookies and are not affected.
async fn issue_16_cookie_writes_from_another_origin_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("zhou", &[Role::Drafter], None).await;
    let before = app.snapshot().await;
    let upload = |origin: Option<&str>, referer: Option<&str>, host: Option<&str>| {
        let mut request = drafter
            .http
            .post(format!("{}/api/v1/attachments", app.base))
            .header("content-type", "text/plain")
            .body("forged attachment");
        if let Some(o) = origin {
            request = request.header("origin", o);
        }
        if let Some(r) = referer {
            request = request.header("referer", r);
        }
        if let Some(h) = host {
            request = request.header("host", h);
        }
        request
    };
    for (origin, referer, host) in [
        (Some("http://evil.example"), None, None),
        (Some("null"), None, None),
        (None, Some("http://evil.example/page.html"), None),
        (None, None, None),
        (Some("http://evil.example"), None, Some("evil.example")),
        (Some(&*app.base.replace("127.0.0.1", "127.0.0.1.evil.example")), None, None),
    ] {
        let (status, problem) = drafter.send(upload(origin, referer, host)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{origin:?} {referer:?} {host:?}: {problem}");
        assert_eq!(problem["type"], "urn:gateway:problem:cross-origin");
    }
    let (status, problem) = drafter
        .send(
            drafter
                .http
                .post(format!("{}/api/v1/items", app.base))
                .header("origin", "http://evil.example")
                .json(&sample_item()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(app.snapshot().await, before, "nothing stored");
    // From the gateway's own origin (or its loopback alias) it works.
    let (status, stored) = drafter.send(upload(Some(&app.base), None, None)).await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    let (status, stored) = drafter.send(upload(Some(&app.base.replace("127.0.0.1", "localhost")), None, None)).await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    // A bearer token is not a cookie: no browser sends it by itself.
    let (_, token) = drafter.post("/api/v1/tokens", &json!({"name": "x", "scopes": ["items:write"]})).await;
    let bot = drafter.with_token(token["token"].as_str().unwrap());
    let (status, _) = bot
        .send(bot.request(Method::POST, "/api/v1/items").header("origin", "http://evil.example").json(&sample_item()))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // The web forms check the configured origin too, never the Host header.
    let r = drafter
        .http
        .post(format!("{}/logout", app.base))
        .header("origin", "http://evil.example")
        .header("host", "evil.example")
        .form(&[("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    app.stop().await;
}

/// Finding 16: behind TLS (an https public URL) the session cookie is
/// `Secure` and every answer carries HSTS; without TLS neither.
async fn issue_16_secure_cookie_and_hsts_behind_tls(backend: Backend) {
    let plain = TestApp::spawn(backend).await;
    plain.user("zhou", &[Role::Drafter], None).await;
    let r = plain
        .client()
        .http
        .post(format!("{}/api/v1/auth/login", plain.base))
        .json(&json!({"username": "zhou", "password": "Pw-zhou-2026"}))
        .send()
        .await
        .unwrap();
    assert!(!r.headers()["set-cookie"].to_str().unwrap().contains("Secure"));
    assert!(r.headers().get("strict-transport-security").is_none());
    plain.stop().await;

    let app = TestApp::spawn_with(backend, |s| s.public_url = Some("https://gongkai.example.gov.cn".into())).await;
    gateway::store::Db::create_user(&app.db, None, &{
        let mut new =
            gateway::http::new_user("zhou".into(), "周".into(), None, [Role::Drafter].into(), Some("Pw-zhou-2026"))
                .unwrap();
        new.must_change_password = false;
        new
    })
    .await
    .unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({"username": "zhou", "password": "Pw-zhou-2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(r.headers()["strict-transport-security"].to_str().unwrap().starts_with("max-age="));
    let health = reqwest::get(format!("{}/healthz", app.base)).await.unwrap();
    assert!(health.headers().contains_key("strict-transport-security"));
    // The loopback address is not the public origin any more.
    let session = cookie.split(';').next().unwrap().to_owned();
    let write = |origin: &str| {
        reqwest::Client::new()
            .post(format!("{}/api/v1/items", app.base))
            .header("cookie", &session)
            .header("origin", origin)
            .json(&sample_item())
    };
    assert_eq!(write(&app.base).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(write("https://gongkai.example.gov.cn").send().await.unwrap().status(), StatusCode::CREATED);
    app.stop().await;
}

/// Finding 8 and 4 on the real binary: the first start creates the three
/// administrators with their passwords in 0600 files, never in its output
/// or log; each must change it; `gateway user unlock` ends a lockout.
async fn issue_16_first_run_and_cli_unlock(backend: Backend) {
    let mut deployment = tests::process::Deployment::new(backend, Default::default()).await;
    let process = deployment.start().await;
    let data_dir = deployment.settings().data_dir.clone();
    let out = std::fs::read_to_string(&process.out).unwrap() + &process.log_text();
    for name in ["admin", "secadmin", "auditor"] {
        let file = data_dir.join(format!("initial-{name}-password.txt"));
        let password = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let password = password.trim();
        assert!(!out.contains(password), "the password of {name} is in the output");
        assert!(out.contains(&file.display().to_string()), "the output names the file: {out}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let client = tests::browser_like_client(&process.base);
        let (status, me) = login(&client, name, password).await;
        assert_eq!(status, StatusCode::OK, "{me}");
        assert_eq!(me["must_change_password"], true);
        assert_eq!(client.get("/api/v1/users").await.0, StatusCode::FORBIDDEN, "{name} must change first");
    }
    let roles: Vec<String> =
        sqlx::query_scalar("SELECT role FROM user_roles ORDER BY role").fetch_all(deployment.db.pool()).await.unwrap();
    assert_eq!(roles, ["admin", "auditor", "security_admin"]);

    // Locked out, then unlocked on the command line (audited).
    let drafter = deployment.user(&process.base, "zhou", &[Role::Drafter], None).await;
    for _ in 0..MAX_ATTEMPTS {
        login(&drafter, "zhou", "wrong").await;
    }
    assert_eq!(login(&drafter, "zhou", "Pw-zhou-2026").await.0, StatusCode::UNAUTHORIZED);
    let output = deployment.cli(&["user", "unlock", "zhou"]).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(login(&drafter, "zhou", "Pw-zhou-2026").await.0, StatusCode::OK);
    let unlocks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'user.unlock'")
        .fetch_one(deployment.db.pool())
        .await
        .unwrap();
    assert_eq!(unlocks, 1);
    let output = deployment.cli(&["user", "unlock", "nobody"]).await;
    assert!(!output.status.success());
    drop(process);
    deployment.stop().await;
}
