//! The detection benchmark, run by `cargo xtask bench` (release build) after
//! the native side (`plugins/lexicon/examples/native_bench.rs`, whose JSON it
//! reads with `--native FILE`). Prints a Markdown section on stdout; the
//! xtask puts it into BENCHMARKS.md.
//!
//! Measures, through the real plugin host with `plugins/dist/*.wasm`:
//! lexicon term-scanning throughput on a warm instance with 1k, 10k and 100k
//! terms against the same code natively; the lexicon's `configure` time and
//! linear memory (a bare store with a counting limiter); and the latency and
//! throughput of secrecy + pii + lexicon (1k terms) together on ~20 KB items;
//! and pii alone on the personal-data corpus (`scripts/pii_corpus.py`:
//! passports and permits, home addresses, 15-digit and grouped IDs, +86
//! mobiles, disguised mailboxes), with its findings by kind.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gateway::plugin_host::PluginHost;
use gateway::policy::Policy;
use gateway::review::{Pipeline, PluginSettings, ReviewItem};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn pin(dist: &Path, name: &str) -> String {
    gateway::plugin_host::built_pin(dist, name).unwrap_or_else(|e| panic!("{e}"))
}

/// A `[[plugins]]` entry of a bench policy.
fn entry(dist: &Path, name: &str, config: &str) -> String {
    format!(
        "[[plugins]]\nname = \"{name}\"\npath = \"{}\"\nsha256 = \"{}\"\n[plugins.config]\n{config}\n",
        dist.join(format!("{name}.wasm")).display(),
        pin(dist, name)
    )
}

fn policy(dir: &Path, name: &str, entries: &[String]) -> Policy {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, format!("name = \"bench-{name}\"\n{}", entries.concat())).unwrap();
    Policy::load(&path).unwrap()
}

fn terms(corpus: &Path, n: &str) -> Vec<String> {
    std::fs::read_to_string(corpus.join(format!("terms_{n}.txt")))
        .expect("term list")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The lexicon's `[plugins.config]` (TOML; the JSON array is valid TOML).
fn lexicon_config(n: &str, terms: &[String]) -> String {
    format!(
        "lists = [{{tag = \"bench\", severity = \"block\", version = \"{n}\", terms = {}}}]",
        serde_json::to_string(terms).unwrap()
    )
}

struct Bare {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: Counting,
}

impl WasiView for Bare {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Counts linear memory, like the host's limiter, without a cap.
struct Counting {
    used: usize,
}

impl wasmtime::ResourceLimiter for Counting {
    fn memory_growing(&mut self, current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        self.used = self.used - current.min(self.used) + desired;
        Ok(true)
    }
    fn table_growing(&mut self, _current: usize, _desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// `configure` of the lexicon component on a bare store (same engine
/// settings as the host: Cranelift, epoch interruption on): wall time and
/// linear memory before and after.
fn configure_bare(wasm: &Path, json: &str) -> (Duration, usize, usize) {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    let engine = Engine::new(&config).unwrap();
    let component = Component::from_file(&engine, wasm).unwrap();
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    let mut store = Store::new(
        &engine,
        Bare { wasi: WasiCtx::builder().build(), table: ResourceTable::new(), limiter: Counting { used: 0 } },
    );
    store.limiter(|s| &mut s.limiter);
    store.set_epoch_deadline(u64::MAX / 2);
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let before = store.data().limiter.used;
    let configure = instance.get_typed_func::<(&str,), (Result<(), String>,)>(&mut store, "configure").unwrap();
    let t = Instant::now();
    let (result,) = configure.call(&mut store, (json,)).unwrap();
    let took = t.elapsed();
    result.unwrap();
    (took, before, store.data().limiter.used)
}

fn mib(b: f64) -> String {
    format!("{:.1} MiB", b / (1 << 20) as f64)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| args.iter().position(|a| a == name).map(|i| args[i + 1].clone());
    let quick = args.iter().any(|a| a == "--quick");
    let ws = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dist = ws.join("plugins/dist");
    let corpus = flag("--corpus").map_or_else(|| ws.join("corpus"), PathBuf::from);
    if let Some(secs) = flag("--loop") {
        profile_loop(&ws, &dist, &corpus, secs.parse().expect("--loop SECONDS"), flag("--plugin"));
        return;
    }
    let native: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(flag("--native").expect("--native FILE (the native side's JSON)")).unwrap(),
    )
    .unwrap();
    let max_bytes: usize = flag("--max-bytes").map_or(usize::MAX, |s| s.parse().unwrap());
    let tmp = std::env::temp_dir().join(format!("detect-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();

    // The same items as the native side (same order, same byte budget).
    let mut items = Vec::new();
    let mut bytes = 0;
    for (i, line) in std::fs::read_to_string(corpus.join("items.jsonl")).unwrap().lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let mut item = ReviewItem::new(format!("c{i}"), v["body"].as_str().unwrap_or(""));
        item.title = v["title"].as_str().unwrap_or("").to_owned();
        bytes += item.title.len() + item.body.len();
        items.push(item);
        if bytes >= max_bytes {
            break;
        }
    }
    assert_eq!(native["bytes"].as_u64(), Some(bytes as u64), "native and WASM sides read different items");

    let settings = PluginSettings { workers: 2, ..PluginSettings::default() };
    let host = PluginHost::new(settings.host_config()).unwrap();
    let mut out = String::new();
    out.push_str(&format!(
        "Corpus: the first {} items of `corpus/items.jsonl` ({:.1} MB, `make_corpus.py --format items`); one thread.\n\n",
        items.len(),
        bytes as f64 / 1e6
    ));
    out.push_str("### Lexicon term scanning: WASM (warm instance) vs native\n\n");
    out.push_str("Both sides run `review` (normalise + automaton + findings) on the same items, best of 3 passes; WASM goes through `LoadedPlugin::review_item` on a warm pooled instance (64 MiB cap).\n\n");
    out.push_str("| terms | native | WASM | WASM / native (target ≥ 0.8) | findings (native = WASM) | instances configured during the scan |\n|---:|---:|---:|---:|---:|---:|\n");
    let mut configs = Vec::new();
    for n in ["1k", "10k", "100k"] {
        let list = terms(&corpus, n);
        let pipeline = Pipeline::with_host(
            host.clone(),
            &settings,
            policy(&tmp, n, &[entry(&dist, "lexicon", &lexicon_config(n, &list))]),
        )
        .unwrap();
        let generation = pipeline.current();
        let plugin = generation.plugins().next().unwrap();
        for item in items.iter().take(20) {
            black_box(plugin.review_item(item).unwrap());
        }
        let created = plugin.instances_created();
        // Best of a few passes, like the native side: the machine may be shared.
        let mut took = Duration::MAX;
        let mut findings = 0;
        for _ in 0..3 {
            let t = Instant::now();
            findings = 0;
            for item in &items {
                findings += plugin.review_item(black_box(item)).unwrap().len();
            }
            took = took.min(t.elapsed());
        }
        let reconfigured = plugin.instances_created() - created;
        let wasm = bytes as f64 / took.as_secs_f64() / 1e6;
        let nat = &native["sizes"][n];
        let native_mbps = nat["mbps"].as_f64().unwrap();
        let same = if nat["findings"].as_u64() == Some(findings as u64) {
            format!("{findings}")
        } else {
            format!("{} ≠ {findings}", nat["findings"])
        };
        out.push_str(&format!(
            "| {} | {native_mbps:.1} MB/s | {wasm:.1} MB/s | **{:.2}** | {same} | {reconfigured} |\n",
            list.len(),
            wasm / native_mbps
        ));
        configs.push((n, list));
    }

    out.push_str("\n### Lexicon configure (term list → automaton)\n\n");
    out.push_str("WASM: `configure` on a bare store of the same engine settings, with a counting limiter; native: the same JSON parse + `LexiconPlugin::new` in the host.\n\n");
    out.push_str("| terms | configure, WASM | configure, native | linear memory after configure (WASM) | automaton heap (native) |\n|---:|---:|---:|---:|---:|\n");
    for (n, list) in &configs {
        if quick && *n != "100k" {
            continue;
        }
        let json = serde_json::json!({"lists": [{"tag": "bench", "severity": "block", "version": n, "terms": list}]})
            .to_string();
        let (took, before, after) = configure_bare(&dist.join("lexicon.wasm"), &json);
        let nat = &native["sizes"][n];
        out.push_str(&format!(
            "| {} | {:.0} ms | {:.0} ms | {} (from {} at instantiation) | {} |\n",
            list.len(),
            took.as_secs_f64() * 1e3,
            nat["configure_ms"].as_f64().unwrap(),
            mib(after as f64),
            mib(before as f64),
            mib(nat["heap_bytes"].as_f64().unwrap())
        ));
    }

    out.push_str("\n### secrecy + pii + lexicon (1k terms) together, ~20 KB items\n\n");
    let (_, list1k) = &configs[0];
    let three = Pipeline::with_host(
        host.clone(),
        &settings,
        policy(
            &tmp,
            "three",
            &[
                entry(&dist, "secrecy", "secret_points = []"),
                entry(&dist, "pii", ""),
                entry(&dist, "lexicon", &lexicon_config("1k", list1k)),
            ],
        ),
    )
    .unwrap();
    let generation = three.current();
    let mut big = Vec::new();
    let mut cur = String::new();
    for item in &items {
        cur.push_str(&item.title);
        cur.push('\n');
        cur.push_str(&item.body);
        cur.push('\n');
        if cur.len() >= 20_000 {
            big.push(ReviewItem::new(format!("big{}", big.len()), std::mem::take(&mut cur)));
        }
    }
    let rounds = if quick { 1 } else { 3 };
    for item in big.iter().take(5) {
        black_box(generation.review(item, "2025-01-01T00:00:00Z"));
    }
    let created: u64 = generation.plugins().map(|p| p.instances_created()).sum();
    let mut lat = Vec::new();
    for _ in 0..rounds {
        for item in &big {
            let t = Instant::now();
            let outcome = generation.review(item, "2025-01-01T00:00:00Z");
            lat.push(t.elapsed());
            assert!(outcome.findings.iter().all(|f| f.kind != "plugin_failure"));
        }
    }
    let reconfigured = generation.plugins().map(|p| p.instances_created()).sum::<u64>() - created;
    let total: Duration = lat.iter().sum();
    let big_bytes: usize = big.iter().map(|i| i.body.len()).sum::<usize>() * rounds;
    lat.sort();
    out.push_str("| items | mean size | p50 | p99 | throughput per core (target ≥ 50 MB/s) | instances configured during the run |\n|---:|---:|---:|---:|---:|---:|\n");
    out.push_str(&format!(
        "| {} × {rounds} | {:.1} KB | {:.2} ms | {:.2} ms | **{:.1} MB/s** | {reconfigured} |\n",
        big.len(),
        big_bytes as f64 / (big.len() * rounds) as f64 / 1e3,
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        big_bytes as f64 / total.as_secs_f64() / 1e6
    ));
    let per_plugin = {
        let o = generation.review(&big[0], "2025-01-01T00:00:00Z");
        o.plugins.iter().map(|r| format!("{} {} µs", r.name, r.micros)).collect::<Vec<_>>().join(", ")
    };
    out.push_str(&format!("\nOne ~20 KB item, per plugin: {per_plugin}.\n"));
    pii_corpus(
        &mut out,
        &host,
        &settings,
        &tmp,
        &dist,
        &flag("--pii-corpus").map_or_else(|| ws.join("corpus-pii"), PathBuf::from),
    );
    let _ = std::fs::remove_dir_all(&tmp);
    print!("{out}");
}

/// pii alone on the personal-data corpus, on a warm instance: throughput,
/// per-item latency and the findings by kind (the kinds of issue 20 first).
fn pii_corpus(
    out: &mut String,
    host: &std::sync::Arc<PluginHost>,
    settings: &PluginSettings,
    tmp: &Path,
    dist: &Path,
    corpus: &Path,
) {
    let Ok(text) = std::fs::read_to_string(corpus.join("items.jsonl")) else {
        out.push_str("\n(`corpus-pii/` missing: `python3 scripts/pii_corpus.py --out corpus-pii`.)\n");
        return;
    };
    let items: Vec<ReviewItem> = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let mut item = ReviewItem::new(format!("p{i}"), v["body"].as_str().unwrap_or(""));
            item.title = v["title"].as_str().unwrap_or("").to_owned();
            item
        })
        .collect();
    let bytes: usize = items.iter().map(|i| i.title.len() + i.body.len()).sum();
    let pipeline =
        Pipeline::with_host(host.clone(), settings, policy(tmp, "pii-corpus", &[entry(dist, "pii", "")])).unwrap();
    let generation = pipeline.current();
    let plugin = generation.plugins().next().unwrap();
    for item in items.iter().take(20) {
        black_box(plugin.review_item(item).unwrap());
    }
    let mut took = Duration::MAX;
    let mut lat = Vec::new();
    let mut kinds: std::collections::BTreeMap<String, usize> = Default::default();
    for pass in 0..3 {
        let t = Instant::now();
        for item in &items {
            let one = Instant::now();
            let found = plugin.review_item(black_box(item)).unwrap();
            lat.push(one.elapsed());
            if pass == 0 {
                for f in found {
                    *kinds.entry(f.kind.clone()).or_default() += 1;
                }
            }
        }
        took = took.min(t.elapsed());
    }
    lat.sort();
    // What the generator marked (`items.truth.jsonl`): spans to find, and
    // decoys (spans of the same shape that must not be found), by kind.
    let mut marked: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for line in std::fs::read_to_string(corpus.join("items.truth.jsonl")).unwrap_or_default().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(kind) = v["kind"].as_str() {
            let e = marked.entry(kind.to_owned()).or_default();
            if v["decoy"].as_bool() == Some(true) { e.1 += 1 } else { e.0 += 1 }
        }
    }
    let first = ["passport", "address", "id_number", "mobile", "email"];
    let mut by_kind: Vec<String> =
        first.iter().map(|k| format!("{k} {}", kinds.get(*k).copied().unwrap_or(0))).collect();
    by_kind.extend(kinds.iter().filter(|(k, _)| !first.contains(&k.as_str())).map(|(k, n)| format!("{k} {n}")));
    let truth: Vec<String> = first
        .iter()
        .map(|k| {
            let (spans, decoys) = marked.get(*k).copied().unwrap_or_default();
            format!("{k} {spans} (+{decoys} decoys)")
        })
        .collect();
    out.push_str("\n### pii on the personal-data corpus (`scripts/pii_corpus.py`)\n\n");
    out.push_str(&format!(
        "{} items ({:.0} KB; rosters, 出访 lists, 处罚决定, 信访 replies, 执行 notices, tables), `LoadedPlugin::review_item` on a warm instance, best of 3 passes.\n\n",
        items.len(),
        bytes as f64 / 1e3
    ));
    out.push_str("| throughput | p50 per item | p99 per item | findings by kind | spans the generator marked |\n|---:|---:|---:|---|---|\n");
    out.push_str(&format!(
        "| {:.1} MB/s | {:.0} µs | {:.0} µs | {} | {} |\n",
        bytes as f64 / took.as_secs_f64() / 1e6,
        percentile(&lat, 0.5).as_secs_f64() * 1e6,
        percentile(&lat, 0.99).as_secs_f64() * 1e6,
        by_kind.join(", "),
        truth.join(", ")
    ));
    out.push_str("\nThe counts are not a score: the matching of findings to marked spans, with precision and recall per kind, is in EVALUATION.md (`scripts/eval`).\n");
}

/// `--loop SECONDS [--plugin NAME]`: reviews the ~20 KB items with secrecy +
/// pii + lexicon (1k terms), or one of them, for a while, loading the
/// components from an artifact cache (file-backed code, so that `perf`
/// resolves the guest's function names from the `.cwasm` symbol tables).
fn profile_loop(ws: &Path, dist: &Path, corpus: &Path, secs: f64, only: Option<String>) {
    let tmp = std::env::temp_dir().join(format!("detect-loop-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let settings = PluginSettings {
        workers: 1,
        cache_dir: Some(ws.join("target/tmp/detect-bench-cache")),
        ..PluginSettings::default()
    };
    let list = terms(corpus, "1k");
    let all = [
        ("secrecy", "secret_points = []".to_owned()),
        ("pii", String::new()),
        ("lexicon", lexicon_config("1k", &list)),
    ];
    let entries: Vec<String> =
        all.iter().filter(|(n, _)| only.as_deref().is_none_or(|o| o == *n)).map(|(n, c)| entry(dist, n, c)).collect();
    // Twice: the first load compiles and fills the cache, the second maps
    // the cached artifacts from their files.
    let _ = Pipeline::with_policy(&settings, policy(&tmp, "loop", &entries));
    let pipeline = Pipeline::with_policy(&settings, policy(&tmp, "loop", &entries)).unwrap();
    let generation = pipeline.current();
    let big = big_items(corpus, 3_000_000);
    let cpu0 = thread_cpu_ns();
    let t = Instant::now();
    let mut n = 0usize;
    let mut per: std::collections::BTreeMap<String, u64> = Default::default();
    while t.elapsed().as_secs_f64() < secs {
        for item in &big {
            let o = generation.review(item, "2025-01-01T00:00:00Z");
            for r in &o.plugins {
                *per.entry(r.name.clone()).or_default() += r.micros;
            }
            n += 1;
        }
    }
    let mean = big.iter().map(|i| i.body.len()).sum::<usize>() as f64 / big.len() as f64;
    let cpu = thread_cpu_ns() - cpu0;
    eprintln!(
        "{n} reviews of ~{:.1} KB items in {:.1} s; CPU time of this thread {:.0} µs per item",
        mean / 1e3,
        t.elapsed().as_secs_f64(),
        cpu as f64 / 1e3 / n as f64
    );
    for (name, micros) in per {
        eprintln!("  {name}: {:.0} µs per item", micros as f64 / n as f64);
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// The corpus items (title and body) up to `max_bytes`, joined into items of
/// at least 20,000 bytes, as in the three-plugin section.
fn big_items(corpus: &Path, max_bytes: usize) -> Vec<ReviewItem> {
    let mut big = Vec::new();
    let mut cur = String::new();
    let mut bytes = 0;
    for line in std::fs::read_to_string(corpus.join("items.jsonl")).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let (title, body) = (v["title"].as_str().unwrap_or(""), v["body"].as_str().unwrap_or(""));
        bytes += title.len() + body.len();
        cur.push_str(title);
        cur.push('\n');
        cur.push_str(body);
        cur.push('\n');
        if cur.len() >= 20_000 {
            big.push(ReviewItem::new(format!("big{}", big.len()), std::mem::take(&mut cur)));
        }
        if bytes >= max_bytes {
            break;
        }
    }
    big
}

/// CPU time of the calling thread so far, ns (Linux; 0 elsewhere): robust
/// to a machine shared with other work, unlike wall time.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
