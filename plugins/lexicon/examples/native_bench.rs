//! The native side of the detection benchmark (`cargo xtask bench`): the
//! same lexicon code the component runs, called directly in the host, on the
//! same corpus items. Prints one JSON object on stdout that
//! `gateway/gateway/examples/detect_bench.rs` puts next to the WASM figures.
//!
//! ```text
//! cargo run --release -p lexicon --example native_bench -- corpus [--max-bytes N]
//! ```

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use lexicon::{Config, LexiconPlugin, TermList};
use plugin_sdk::{Item, ReviewPlugin};

/// Timed passes over the items; the fastest counts (same as the WASM side).
const PASSES: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(args.get(1).map_or("corpus", String::as_str));
    let max_bytes: usize = args
        .iter()
        .position(|a| a == "--max-bytes")
        .map_or(usize::MAX, |i| args[i + 1].parse().expect("--max-bytes N"));
    let text = std::fs::read_to_string(dir.join("items.jsonl")).expect("corpus/items.jsonl");
    let mut items = Vec::new();
    let mut bytes = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("item");
        let mut item = Item::sample(v["body"].as_str().unwrap_or(""));
        item.title = v["title"].as_str().unwrap_or("").to_owned();
        bytes += item.title.len() + item.body.len();
        items.push(item);
        if bytes >= max_bytes {
            break;
        }
    }
    let mut sizes = serde_json::Map::new();
    for n in ["1k", "10k", "100k"] {
        let terms = std::fs::read_to_string(dir.join(format!("terms_{n}.txt"))).expect("term list");
        let config = Config {
            lists: vec![TermList {
                tag: "bench".into(),
                severity: Some("block".into()),
                version: n.into(),
                terms: terms.lines().map(str::to_owned).collect(),
            }],
            ..Config::default()
        };
        // What `configure` does in the component: parse the JSON, compile.
        let json = serde_json::json!({"lists": [{"tag": "bench", "severity": "block", "version": n,
            "terms": config.lists[0].terms}]})
        .to_string();
        let t = Instant::now();
        let parsed: Config = serde_json::from_str(&json).expect("config");
        let plugin = LexiconPlugin::new(&parsed).expect("configure");
        let configure = t.elapsed();
        // Warm-up, then the timed pass over the same items as the WASM side.
        for item in items.iter().take(20) {
            black_box(plugin.review(item).expect("review"));
        }
        // Best of a few passes: the machine may be shared (CI).
        let mut scan = std::time::Duration::MAX;
        let mut findings = 0;
        for _ in 0..PASSES {
            let t = Instant::now();
            findings = 0;
            for item in &items {
                findings += plugin.review(black_box(item)).expect("review").len();
            }
            scan = scan.min(t.elapsed());
        }
        sizes.insert(
            n.to_owned(),
            serde_json::json!({
                "terms": plugin.lexicon().len(),
                "configure_ms": configure.as_secs_f64() * 1e3,
                "heap_bytes": plugin.lexicon().memory_usage(),
                "mbps": bytes as f64 / scan.as_secs_f64() / 1e6,
                "findings": findings,
            }),
        );
    }
    println!("{}", serde_json::json!({"items": items.len(), "bytes": bytes, "sizes": sizes}));
}
