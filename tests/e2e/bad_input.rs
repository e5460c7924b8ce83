//! Bad input: every case gets a clear problem document with the right
//! status, never a 500, and the store is left exactly as it was.

use gateway::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tests::{Backend, Client, TestApp, on_both_backends, sample_item};

on_both_backends!(refused_requests_change_nothing, size_limits_answer_413, attachment_types_are_checked);

/// Sends `request`, asserts the status and problem type, and asserts the
/// store is unchanged.
async fn refused(
    app: &TestApp,
    client: &Client,
    request: reqwest::RequestBuilder,
    status: StatusCode,
    problem: &str,
) -> Value {
    let before = app.snapshot().await;
    let (got, body) = client.send(request).await;
    assert_eq!(got, status, "{body}");
    assert_eq!(body["type"], format!("urn:gateway:problem:{problem}"), "{body}");
    assert_eq!(body["status"], status.as_u16());
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "detail is in Chinese: {detail}");
    assert_eq!(app.snapshot().await, before, "the store changed on a refused request");
    body
}

async fn refused_requests_change_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("d1", &[Role::Drafter], Some("市政府办公室")).await;
    let reviewer = app.user("r1", &[Role::Reviewer], Some("市政府办公室")).await;
    let item = drafter.create_item(&sample_item()).await;
    let id = item["id"].as_str().unwrap().to_owned();
    let post_raw = |client: &Client, path: &str, body: Vec<u8>| {
        client.request(Method::POST, path).header("content-type", "application/json").body(body)
    };

    // Malformed JSON.
    refused(
        &app,
        &drafter,
        post_raw(&drafter, "/api/v1/items", b"{\"kind\": \"notice\",".to_vec()),
        StatusCode::BAD_REQUEST,
        "malformed-request",
    )
    .await;
    // Invalid UTF-8 inside a string.
    let mut bytes = serde_json::to_vec(&sample_item()).unwrap();
    let at = bytes.windows(3).position(|w| w == "关".as_bytes()).unwrap();
    bytes[at + 1] = 0xff;
    refused(&app, &drafter, post_raw(&drafter, "/api/v1/items", bytes), StatusCode::BAD_REQUEST, "malformed-request")
        .await;
    // Wrong types.
    let mut wrong = sample_item();
    wrong["channels"] = json!("website");
    refused(
        &app,
        &drafter,
        drafter.request(Method::POST, "/api/v1/items").json(&wrong),
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
    )
    .await;
    // Unknown fields, and an unknown value in a closed vocabulary.
    let mut unknown = sample_item();
    unknown["secret_level"] = json!("机密");
    let body = refused(
        &app,
        &drafter,
        drafter.request(Method::POST, "/api/v1/items").json(&unknown),
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("secret_level"), "{body}");
    let mut bad_kind = sample_item();
    bad_kind["attribute"] = json!("secret");
    refused(
        &app,
        &drafter,
        drafter.request(Method::POST, "/api/v1/items").json(&bad_kind),
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
    )
    .await;
    // Not JSON at all.
    refused(
        &app,
        &drafter,
        drafter.request(Method::POST, "/api/v1/items").body("title=x"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    )
    .await;
    // Field rules: unknown channel, NUL character, bad date.
    let mut fields = sample_item();
    fields["channels"] = json!(["website", "tiktok"]);
    fields["title"] = json!("标题\u{0}");
    fields["formed_at"] = json!("2025/03/01");
    let body = refused(
        &app,
        &drafter,
        drafter.request(Method::POST, "/api/v1/items").json(&fields),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-fields",
    )
    .await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 3, "{body}");

    // 依申请公开 without a reason: the draft is stored, submitting it is refused.
    let mut on_request = sample_item();
    on_request["attribute"] = json!("on_request");
    on_request["channels"] = json!(["applicant"]);
    on_request["attribute_reason"] = json!("  无 ");
    let draft = drafter.create_item(&on_request).await;
    let draft_id = draft["id"].as_str().unwrap();
    let body = refused(
        &app,
        &drafter,
        drafter.request(Method::POST, &format!("/api/v1/items/{draft_id}/submit")).json(&json!({"version": 1})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-fields",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "attribute_reason", "{body}");

    // A stale version on edit, and on submit.
    let mut edit = sample_item();
    edit["base_version"] = json!(1);
    edit["title"] = json!("第二版");
    assert_eq!(drafter.put(&format!("/api/v1/items/{id}"), &edit).await.0, StatusCode::OK);
    edit["title"] = json!("基于旧版本的修改");
    let body = refused(
        &app,
        &drafter,
        drafter.request(Method::PUT, &format!("/api/v1/items/{id}")).json(&edit),
        StatusCode::CONFLICT,
        "stale-version",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("第 2 版"), "{body}");
    refused(
        &app,
        &drafter,
        drafter.request(Method::POST, &format!("/api/v1/items/{id}/submit")).json(&json!({"version": 1})),
        StatusCode::CONFLICT,
        "stale-version",
    )
    .await;

    // Unknown ids.
    let ghost = "01a20000-0000-7000-8000-000000000000";
    refused(
        &app,
        &drafter,
        drafter.request(Method::GET, &format!("/api/v1/items/{ghost}")),
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    refused(
        &app,
        &drafter,
        drafter.request(Method::GET, "/api/v1/items/not-a-uuid"),
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    refused(
        &app,
        &drafter,
        drafter.request(Method::PUT, &format!("/api/v1/items/{ghost}")).json(&edit),
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    refused(
        &app,
        &drafter,
        drafter.request(Method::GET, &format!("/api/v1/items/{id}/versions/9")),
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    refused(
        &app,
        &drafter,
        drafter.request(Method::GET, "/api/v1/no-such-endpoint"),
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    let mut linked = sample_item();
    linked["kind"] = json!("interpretation");
    linked["interprets"] = json!(ghost);
    refused(
        &app,
        &drafter,
        drafter.request(Method::POST, "/api/v1/items").json(&linked),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-fields",
    )
    .await;

    // No credentials, a bad cookie, a bad token.
    let anonymous = app.client();
    refused(
        &app,
        &anonymous,
        anonymous.request(Method::GET, "/api/v1/items"),
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    refused(
        &app,
        &anonymous,
        anonymous.request(Method::POST, "/api/v1/items").json(&sample_item()),
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    refused(
        &app,
        &anonymous,
        anonymous.request(Method::GET, "/api/v1/items").header("cookie", "gw_session=gws_forged"),
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let forged = anonymous.with_token("gwt_forged");
    refused(&app, &forged, forged.request(Method::GET, "/api/v1/items"), StatusCode::UNAUTHORIZED, "unauthenticated")
        .await;

    // Wrong role: a reviewer cannot draft or edit, a drafter cannot manage users.
    refused(
        &app,
        &reviewer,
        reviewer.request(Method::POST, "/api/v1/items").json(&sample_item()),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    refused(
        &app,
        &reviewer,
        reviewer.request(Method::PUT, &format!("/api/v1/items/{id}")).json(&edit),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // A content digest that is not one is bad input (422), before any
    // comparison with the current version (a stale one is 409).
    for digest in ["sha256:forged", "SHA256:0000", "", "md5:d41d8cd98f00b204e9800998ecf8427e"] {
        let vote = json!({"stage": "first", "value": "approve", "content_digest": digest});
        let body = refused(
            &app,
            &reviewer,
            reviewer.request(Method::POST, &format!("/api/v1/items/{id}/votes")).json(&vote),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable",
        )
        .await;
        assert!(body["detail"].as_str().unwrap().contains("content_digest"), "{body}");
    }
    let new_user = json!({"username": "x", "display_name": "某某", "roles": ["admin"], "password": "Abcdefgh-123"});
    refused(
        &app,
        &drafter,
        drafter.request(Method::POST, "/api/v1/users").json(&new_user),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    app.stop().await;
}

async fn size_limits_answer_413(backend: Backend) {
    // The default limits (10 MiB JSON, 50 MiB attachments) are the ones tested.
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("d2", &[Role::Drafter], None).await;
    let mut big = sample_item();
    big["body"] = json!("政".repeat((10 << 20) / 3 + 1));
    let body = refused(
        &app,
        &drafter,
        drafter.request(Method::POST, "/api/v1/items").json(&big),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("10 MiB"), "{body}");
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.resize((50 << 20) + 1, b' ');
    let upload =
        drafter.request(Method::POST, "/api/v1/attachments").header("content-type", "application/pdf").body(pdf);
    refused(&app, &drafter, upload, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large").await;
    // Just under the limit is accepted.
    let mut ok = sample_item();
    ok["body"] = json!("政".repeat((9 << 20) / 3));
    assert_eq!(drafter.post("/api/v1/items", &ok).await.0, StatusCode::CREATED);
    app.stop().await;
}

async fn attachment_types_are_checked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let drafter = app.user("d3", &[Role::Drafter], None).await;
    let upload = |content_type: &str, bytes: &[u8]| {
        drafter.request(Method::POST, "/api/v1/attachments").header("content-type", content_type).body(bytes.to_vec())
    };
    refused(
        &app,
        &drafter,
        upload("application/x-msdownload", b"MZ\x90\x00"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    )
    .await;
    // Declared as PDF but is an executable.
    refused(
        &app,
        &drafter,
        upload("application/pdf", b"MZ\x90\x00 not a pdf"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    )
    .await;
    refused(
        &app,
        &drafter,
        upload("text/plain", b"caf\xe9"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    )
    .await;
    let (status, stored) = drafter.send(upload("application/pdf; charset=binary", b"%PDF-1.4 ok")).await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    assert_eq!(stored["size"], 11);
    // Same bytes again: the same digest, stored once.
    let (status, again) = drafter.send(upload("application/pdf", b"%PDF-1.4 ok")).await;
    assert_eq!((status, &again["digest"]), (StatusCode::CREATED, &stored["digest"]));
    let digest = stored["digest"].as_str().unwrap();
    let response = drafter.request(Method::GET, &format!("/api/v1/attachments/{digest}")).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"%PDF-1.4 ok");
    app.stop().await;
}
