//! Channels get the files (issue 18): a `publish` event says where each
//! sealed attachment is; the channel fetches it with its own token, only
//! for an item live on its channel; the reference receiver keeps a file
//! only if its bytes hash to the digest the seal covers, and serves it; the
//! public seal record of a 主动公开 item links its files while the seal is
//! valid. A withdrawal ends both.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::team::{Team, ok, titled_item};
use tests::{Backend, Client, TestApp, on_both_backends};

on_both_backends!(channels_fetch_the_sealed_files_of_their_own_items);

const TABLE: &[u8] = "序号,项目,金额（元）\n1,道路养护,120000\n2,路灯维修,36000\n".as_bytes();
/// A real one-page PDF notice (the extractor reads attachments now, and a
/// file that only starts like a PDF is a malformed one that blocks).
fn notice_pdf() -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/attachments/notice.pdf")).unwrap()
}

/// Uploads `bytes` as `media_type`; returns the digest.
async fn upload(drafter: &Client, media_type: &str, bytes: &[u8]) -> String {
    let (status, body) = drafter
        .send(
            drafter
                .request(reqwest::Method::POST, "/api/v1/attachments")
                .header("content-type", media_type)
                .body(bytes.to_vec()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["digest"].as_str().unwrap().to_owned()
}

/// GET with `client`'s credentials (or none): status, content type, bytes.
async fn fetch(client: Option<&Client>, base: &str, path: &str) -> (StatusCode, String, Vec<u8>) {
    let response = match client {
        Some(c) => c.request(reqwest::Method::GET, path).send().await.unwrap(),
        None => reqwest::get(format!("{base}{path}")).await.unwrap(),
    };
    let status = response.status();
    let media_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, media_type, response.bytes().await.unwrap().to_vec())
}

/// The channel's latest event for `item`.
async fn latest_event(token: &Client, channel: &str, item: &str) -> Value {
    let changes = ok(token.get(&format!("/api/v1/channels/{channel}/changes")).await);
    changes["events"].as_array().unwrap().iter().rev().find(|e| e["item_id"] == item).cloned().expect("an event")
}

/// The reference receiver for `channel`, pinning the gateway's keys.
async fn reference_receiver(base: &str, channel: &str) -> receiver::Receiver<receiver::MemoryStore> {
    receiver::Receiver::new(tests::pinned_receiver_config(base, channel).await, receiver::MemoryStore::new())
}

async fn channels_fetch_the_sealed_files_of_their_own_items(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = Team::of(&app).await;
    for channel in ["website", "wechat"] {
        t.add_endpoint(json!({"channel": channel, "kind": "pull"})).await;
    }
    let account = app.channel_account("site").await;
    let website = account.token(&["channel"], &["website"]).await;
    let wechat = account.token(&["channel"], &["wechat"]).await;

    let table = upload(&t.drafter, "text/csv", TABLE).await;
    let letter = upload(&t.drafter, "application/pdf", &notice_pdf()).await;
    // A file of another item, never sealed.
    let draft_only = upload(&t.drafter, "text/plain", "仅在草稿中的附件".as_bytes()).await;
    let mut draft = titled_item("关于道路养护经费安排情况的说明（草稿）", &["website"]);
    draft["attachments"] = json!([{"name": "草稿附件.txt", "digest": draft_only}]);
    t.drafter.create_item(&draft).await;

    let mut item = titled_item("关于2026年道路养护经费安排的公告", &["website"]);
    item["attachments"] = json!([
        {"name": "附件1 经费明细.csv", "digest": table},
        {"name": "附件2 公告.pdf", "digest": letter},
    ]);
    let id = t.drafter.create_item(&item).await["id"].as_str().unwrap().to_owned();
    // Before it is sealed the channel cannot fetch its files.
    let early = fetch(Some(&website), &app.base, &format!("/api/v1/channels/website/attachments/{table}")).await;
    assert_eq!(early.0, StatusCode::NOT_FOUND);
    let serial = t.approve_and_seal(&id, 1).await;

    // The publish event says where each sealed file is.
    let event = latest_event(&website, "website", &id).await;
    assert_eq!(event["type"], "publish");
    let links = event["attachments"].as_array().unwrap();
    assert_eq!(links.len(), 2, "{event:#}");
    for (link, (digest, name)) in links.iter().zip([(&table, "附件1 经费明细.csv"), (&letter, "附件2 公告.pdf")])
    {
        assert_eq!(link["digest"], digest.as_str());
        assert_eq!(link["name"], name);
        assert_eq!(link["href"], format!("/api/v1/channels/website/attachments/{digest}"));
    }
    // The channel fetches them with its token: the bytes the seal covers.
    let (status, media_type, bytes) = fetch(Some(&website), &app.base, links[0]["href"].as_str().unwrap()).await;
    assert_eq!((status, media_type.as_str()), (StatusCode::OK, "text/csv"));
    assert_eq!(bytes, TABLE);
    assert_eq!(seal::ContentDigest::of(&bytes).to_string(), table);

    // Only its own items, only sealed files, only with a channel token.
    let refused = [
        (Some(&wechat), format!("/api/v1/channels/wechat/attachments/{table}"), StatusCode::NOT_FOUND),
        (Some(&wechat), format!("/api/v1/channels/website/attachments/{table}"), StatusCode::FORBIDDEN),
        (Some(&website), format!("/api/v1/channels/website/attachments/{draft_only}"), StatusCode::NOT_FOUND),
        (Some(&website), "/api/v1/channels/website/attachments/sha256:not-a-digest".to_owned(), StatusCode::NOT_FOUND),
        (Some(&website), format!("/api/v1/attachments/{table}"), StatusCode::FORBIDDEN),
        (Some(&t.drafter), format!("/api/v1/channels/website/attachments/{table}"), StatusCode::FORBIDDEN),
        (None, format!("/api/v1/channels/website/attachments/{table}"), StatusCode::UNAUTHORIZED),
    ];
    for (client, path, want) in &refused {
        let (status, _, body) = fetch(*client, &app.base, path).await;
        assert_eq!(status, *want, "{path}: {}", String::from_utf8_lossy(&body));
        assert_ne!(body, TABLE, "{path} leaked the file");
    }

    // The reference receiver applies the event, fetches what the seal
    // covers, refuses bytes that are not the sealed ones, and serves them.
    let mut rx = reference_receiver(&app.base, "website").await;
    let body = serde_json::to_vec(&event).unwrap();
    let outcome = rx.apply_pulled(&body, time::OffsetDateTime::now_utc().unix_timestamp());
    assert_eq!(outcome.status(), 200, "{}", outcome.reason());
    let parsed: receiver::Event = serde_json::from_slice(&body).unwrap();
    let wanted = rx.files_to_fetch(&parsed).unwrap();
    assert_eq!(wanted.iter().map(|f| f.digest.as_str()).collect::<Vec<_>>(), [table.as_str(), letter.as_str()]);
    assert_eq!(rx.missing_files(&id).unwrap().len(), 2);
    assert!(matches!(
        rx.accept_file(&id, &table, "1,道路养护,1\n".as_bytes()),
        Err(receiver::FileRefusal::DigestMismatch { .. })
    ));
    assert!(matches!(rx.accept_file(&id, &draft_only, b"x"), Err(receiver::FileRefusal::NotSealed { .. })));
    for f in &wanted {
        let (status, _, bytes) = fetch(Some(&website), &app.base, &f.href).await;
        assert_eq!(status, StatusCode::OK);
        rx.accept_file(&f.item_id, &f.digest, &bytes).unwrap();
    }
    assert_eq!(rx.missing_files(&id).unwrap(), Vec::<String>::new());
    assert_eq!(rx.file(&id, &table).unwrap(), Some(("text/csv".to_owned(), TABLE.to_vec())));
    assert_eq!(rx.file(&id, &letter).unwrap(), Some(("application/pdf".to_owned(), notice_pdf())));
    assert_eq!(rx.file(&id, &draft_only).unwrap(), None);
    assert!(rx.files_to_fetch(&parsed).unwrap().is_empty(), "nothing left to fetch");

    // The public seal record of this 主动公开 item links its files.
    let record = ok(app.client().get(&format!("/api/v1/seals/{serial}")).await);
    let files = record["attachments"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{record:#}");
    let public_href = files[1]["href"].as_str().unwrap().to_owned();
    assert_eq!(public_href, format!("/api/v1/seals/{serial}/attachments/{letter}"));
    let (status, media_type, bytes) = fetch(None, &app.base, &public_href).await;
    assert_eq!(
        (status, media_type.as_str(), bytes.as_slice()),
        (StatusCode::OK, "application/pdf", notice_pdf().as_slice())
    );
    let other = fetch(None, &app.base, &format!("/api/v1/seals/{serial}/attachments/{draft_only}")).await;
    assert_eq!(other.0, StatusCode::NOT_FOUND);

    // 撤稿: the channel and the public can no longer fetch the files.
    ok(t.publisher
        .post(&format!("/api/v1/items/{id}/withdraw"), &json!({"reason": "内容需更正", "urgent": false}))
        .await);
    let gone = fetch(Some(&website), &app.base, &format!("/api/v1/channels/website/attachments/{table}")).await;
    assert_eq!(gone.0, StatusCode::NOT_FOUND);
    assert_eq!(fetch(None, &app.base, &public_href).await.0, StatusCode::NOT_FOUND);
    let record = ok(app.client().get(&format!("/api/v1/seals/{serial}")).await);
    assert!(record["attachments"].as_array().unwrap().iter().all(|a| a["href"].is_null()), "{record:#}");
    // The receiver takes the item down, and its files with it.
    let withdrawal = latest_event(&website, "website", &id).await;
    assert_eq!(withdrawal["type"], "withdraw");
    let outcome =
        rx.apply_pulled(&serde_json::to_vec(&withdrawal).unwrap(), time::OffsetDateTime::now_utc().unix_timestamp());
    assert_eq!(outcome.status(), 200, "{}", outcome.reason());
    assert_eq!(rx.file(&id, &table).unwrap(), None);
    app.stop().await;
}
