//! A plugin written from the template is built, pinned and hot-reloaded
//! into a running gateway, and its findings show on the next submitted item;
//! a wrong pin is refused and leaves the old policy serving.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use gateway::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::{Backend, TestApp, dist_pin, on_both_backends, repo_root, sample_item};

on_both_backends!(a_plugin_from_the_template_is_built_pinned_and_hot_reloaded);

/// The word the new plugin reports.
const WORD: &str = "热加载词";

/// Writes a new plugin crate from `plugins/template` (renamed, with its own
/// rule and kind), builds it for wasm32-wasip2 and returns the component's
/// path and SHA-256. Built once per test process.
fn build_plugin() -> &'static (PathBuf, String) {
    static BUILT: OnceLock<(PathBuf, String)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = repo_root();
        // Under target/ so that a second run reuses the compiled guest deps;
        // a target dir of its own, since the outer `cargo test` holds the
        // workspace's.
        let work = root.join("target/e2e-hot-plugin");
        let krate = work.join("hot-word");
        std::fs::create_dir_all(krate.join("src")).unwrap();
        let template = std::fs::read_to_string(root.join("plugins/template/src/lib.rs")).unwrap();
        let source = template
            .replace("PluginInfo::new(\"template\"", "PluginInfo::new(\"hot-word\"")
            .replace("\"TPL-001\"", "\"HOT-001\"")
            .replace("\"example_word\"", "\"hot_word\"");
        assert_ne!(source, template, "the template changed shape: update this test");
        std::fs::write(krate.join("src/lib.rs"), source).unwrap();
        std::fs::write(
            krate.join("Cargo.toml"),
            format!(
                "[package]\nname = \"hot-word\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
                 [lib]\ncrate-type = [\"cdylib\"]\n\n\
                 [dependencies]\nplugin-sdk = {{ path = \"{}\" }}\nserde = {{ version = \"1\", features = [\"derive\"] }}\nserde_json = \"1\"\n\n\
                 [workspace]\n",
                root.join("plugins/plugin-sdk").display()
            ),
        )
        .unwrap();
        // The workspace's lock file: the same versions, resolvable offline.
        std::fs::copy(root.join("Cargo.lock"), krate.join("Cargo.lock")).unwrap();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--release", "--offline", "--target", "wasm32-wasip2"])
            .current_dir(&krate)
            .env("CARGO_TARGET_DIR", work.join("target"))
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .status()
            .expect("run cargo build for the new plugin");
        assert!(status.success(), "building the plugin from the template failed");
        let wasm = work.join("target/wasm32-wasip2/release/hot_word.wasm");
        let bytes = std::fs::read(&wasm).unwrap();
        (wasm, gateway::plugin_host::sha256_hex(&bytes))
    })
}

fn policy(entries: &[(&str, &Path, &str, &str)]) -> String {
    let mut text = String::from("name = \"hot\"\n");
    for (name, path, sha256, config) in entries {
        text.push_str(&format!(
            "\n[[plugins]]\nname = \"{name}\"\npath = \"{}\"\nsha256 = \"{sha256}\"\n[plugins.config]\n{config}\n",
            path.display()
        ));
    }
    text
}

fn hot_findings(submitted: &Value) -> Vec<Value> {
    submitted["review"]["outcome"]["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings in {submitted}"))
        .iter()
        .filter(|f| f["plugin"] == "hot-word")
        .cloned()
        .collect()
}

async fn a_plugin_from_the_template_is_built_pinned_and_hot_reloaded(backend: Backend) {
    let (wasm, sha256) = tokio::task::spawn_blocking(build_plugin).await.unwrap().clone();
    let noop = repo_root().join("plugins/dist/noop.wasm");
    let noop_pin = dist_pin("noop");
    let dir = tempfile::tempdir().unwrap();
    let policy_path = dir.path().join("policy.toml");
    std::fs::write(&policy_path, policy(&[("noop", &noop, &noop_pin, "")])).unwrap();
    let served = policy_path.clone();
    let app = TestApp::spawn_with(backend, move |s| s.review.policy = served).await;
    let admin = app.user("ops", &[Role::Admin], None).await;
    let drafter = app.user("qian", &[Role::Drafter], None).await;

    let mut item = sample_item();
    let body = format!("各单位：😀本通知提到{WORD}，请核实。");
    item["body"] = json!(body);
    let submit = |item: Value| {
        let drafter = drafter.clone();
        async move {
            let created = drafter.create_item(&item).await;
            let id = created["id"].as_str().unwrap().to_owned();
            let (status, submitted) = drafter.post(&format!("/api/v1/items/{id}/submit"), &json!({"version": 1})).await;
            assert_eq!(status, StatusCode::OK, "{submitted}");
            submitted
        }
    };
    assert!(hot_findings(&submit(item.clone()).await).is_empty());
    let (_, before) = admin.get("/api/v1/admin/policy").await;

    // A wrong pin is refused before anything is compiled; the old policy serves on.
    let wrong = "0".repeat(64);
    std::fs::write(
        &policy_path,
        policy(&[("noop", &noop, &noop_pin, ""), ("hot-word", &wasm, &wrong, "words = [\"热加载词\"]")]),
    )
    .unwrap();
    let (status, refused) = admin.post("/api/v1/admin/policy/reload", &json!({})).await;
    assert!(status.is_client_error() || status.is_server_error(), "{status} {refused}");
    let detail = refused.to_string();
    assert!(detail.contains(&wrong) && detail.contains(&sha256), "names both hashes: {refused}");
    let (_, still) = admin.get("/api/v1/admin/policy").await;
    assert_eq!(still["policy"]["policy_hash"], before["policy"]["policy_hash"]);
    assert!(hot_findings(&submit(item.clone()).await).is_empty());

    // Pinned correctly, it goes live on reload and reports on the next item.
    std::fs::write(
        &policy_path,
        policy(&[("noop", &noop, &noop_pin, ""), ("hot-word", &wasm, &sha256, "words = [\"热加载词\"]")]),
    )
    .unwrap();
    let (status, reloaded) = admin.post("/api/v1/admin/policy/reload", &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{reloaded}");
    assert_ne!(reloaded["policy"]["policy_hash"], before["policy"]["policy_hash"]);
    let submitted = submit(item).await;
    let found = hot_findings(&submitted);
    assert_eq!(found.len(), 1, "{submitted}");
    assert_eq!(found[0]["rule_id"], "HOT-001");
    assert_eq!(found[0]["kind"], "hot_word");
    let (start, end) =
        (found[0]["span"]["start"].as_u64().unwrap() as usize, found[0]["span"]["end"].as_u64().unwrap() as usize);
    assert_eq!(&body[start..end], WORD);
    let run = submitted["review"]["outcome"]["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "hot-word")
        .cloned()
        .unwrap();
    assert_eq!(run["sha256"], sha256);
    app.stop().await;
}
