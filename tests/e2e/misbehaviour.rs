//! Fail closed, through the running server: a policy with plugins that
//! loop, exhaust memory, panic, flood or return garbage blocks the item with
//! a `plugin_failure` naming each of them, stores that, and the same server
//! goes on reviewing ordinary items correctly.

use gateway::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::{Backend, TestApp, dist_pin, on_both_backends, repo_root, sample_item};

on_both_backends!(misbehaving_plugins_block_and_the_gateway_keeps_serving);

/// The misbehaving test plugins (they misbehave only on bodies containing
/// `MISBEHAVE`, so the canary passes), then the real pii plugin.
fn write_policy(dir: &std::path::Path) -> std::path::PathBuf {
    let dist = repo_root().join("plugins/dist");
    let entry = |name: &str, extra: &str| {
        format!(
            "[[plugins]]\nname = \"{name}\"\npath = \"{}\"\nsha256 = \"{}\"\n{extra}\n",
            dist.join(format!("{name}.wasm")).display(),
            dist_pin(name)
        )
    };
    let policy = [
        "name = \"misbehaving\"\n".to_owned(),
        entry("loop-forever", "deadline_ms = 300"),
        entry("alloc-bomb", "memory_mib = 32"),
        entry("panic", ""),
        entry("huge-output", ""),
        entry("garbage-spans", "[plugins.config]\nmode = \"mid-char\""),
        entry("pii", "[plugins.config]"),
    ]
    .concat();
    let path = dir.join("misbehaving.toml");
    std::fs::write(&path, policy).unwrap();
    path
}

fn failures(item: &Value) -> Vec<String> {
    item["review"]["outcome"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "plugin_failure")
        .map(|f| {
            assert_eq!(f["severity"], "block", "{f}");
            f["plugin"].as_str().unwrap().to_owned()
        })
        .collect()
}

async fn misbehaving_plugins_block_and_the_gateway_keeps_serving(backend: Backend) {
    let policy_dir = tempfile::tempdir().unwrap();
    let policy = write_policy(policy_dir.path());
    let app = TestApp::spawn_with(backend, |s| s.review.policy = policy).await;
    let drafter = app.user("tang", &[Role::Drafter], None).await;
    app.review_team(None).await;

    let mut bad = sample_item();
    // A multi-byte first character: garbage-spans then cuts it in half.
    bad["body"] = json!("测试MISBEHAVE：本段文字触发测试插件的异常行为。");
    let bad = drafter.create_item(&bad).await;
    let bad_id = bad["id"].as_str().unwrap();
    let (status, reviewed) = drafter.post(&format!("/api/v1/items/{bad_id}/submit"), &json!({"version": 1})).await;
    assert_eq!(status, StatusCode::OK, "{reviewed}");
    assert_eq!(reviewed["state"], "blocked", "{reviewed}");
    let mut failed = failures(&reviewed);
    failed.sort();
    assert_eq!(failed, ["alloc-bomb", "garbage-spans", "huge-output", "loop-forever", "panic"], "{reviewed}");
    let messages: Vec<&str> = reviewed["review"]["outcome"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "plugin_failure")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    for (plugin, message) in failed.iter().zip(&messages) {
        assert!(!message.is_empty(), "{plugin}: a failure says why");
    }
    let statuses: Vec<(&str, &str)> = reviewed["review"]["outcome"]["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["status"].as_str().unwrap()))
        .collect();
    assert!(statuses.contains(&("pii", "ok")), "the healthy plugin still ran: {statuses:?}");
    // Stored like any other review.
    let (_, stored) = drafter.get(&format!("/api/v1/items/{bad_id}")).await;
    assert_eq!(failures(&stored).len(), 5);

    // The same server reviews ordinary items correctly afterwards.
    assert_eq!(app.client().get("/healthz").await.0, StatusCode::OK);
    let mut leaky = sample_item();
    leaky["body"] = json!("联系人：李某，手机13951287764，身份证110101199003074258。");
    let leaky = drafter.create_item(&leaky).await;
    let (_, reviewed) =
        drafter.post(&format!("/api/v1/items/{}/submit", leaky["id"].as_str().unwrap()), &json!({"version": 1})).await;
    assert_eq!(failures(&reviewed).len(), 0, "{reviewed}");
    let kinds: Vec<&str> = reviewed["review"]["outcome"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"id_number") && kinds.contains(&"mobile"), "{kinds:?}");
    assert_eq!(reviewed["state"], "blocked");
    let clean = drafter.create_item(&sample_item()).await;
    let (_, reviewed) =
        drafter.post(&format!("/api/v1/items/{}/submit", clean["id"].as_str().unwrap()), &json!({"version": 1})).await;
    assert_eq!(reviewed["state"], "in_review", "{reviewed}");
    app.stop().await;
}
