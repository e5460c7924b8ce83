//! The plugin-platform benchmark, run by `cargo xtask bench` (release build).
//! Prints a Markdown section on stdout; the xtask puts it into
//! BENCHMARKS.md.
//!
//! Measures, in one run: the per-item overhead of a no-op plugin against a
//! direct native call; a fresh instance per item (instantiate + configure +
//! review) with and without the pooling allocator, against a warm pooled
//! instance; policy load time cold and from the artifact cache; and items
//! per second through the whole default policy.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gateway::check::{read_items, review_all};
use gateway::plugin_host::PluginHost;
use gateway::policy::Policy;
use gateway::review::{Finding, Pipeline, PluginSettings, ReviewItem};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Median and p99 of `n` timed runs of `f`, after a short warm-up.
fn time(n: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    for _ in 0..n.div_ceil(10) {
        f();
    }
    let mut t: Vec<Duration> = (0..n)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed()
        })
        .collect();
    t.sort();
    (percentile(&t, 0.5), percentile(&t, 0.99))
}

fn us(d: Duration) -> String {
    if d < Duration::from_micros(1) {
        format!("{} ns", d.as_nanos())
    } else {
        format!("{:.1} µs", d.as_secs_f64() * 1e6)
    }
}

#[inline(never)]
fn native_noop(item: &ReviewItem) -> Vec<Finding> {
    black_box(item);
    Vec::new()
}

fn pin(dist: &Path, name: &str) -> String {
    gateway::plugin_host::built_pin(dist, name).unwrap_or_else(|e| panic!("{e}"))
}

fn single_plugin_policy(dir: &Path, dist: &Path, name: &str, config: &str) -> Policy {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "name = \"bench-{name}\"\n[[plugins]]\nname = \"{name}\"\npath = \"{}\"\nsha256 = \"{}\"\n[plugins.config]\n{config}\n",
            dist.join(format!("{name}.wasm")).display(),
            pin(dist, name)
        ),
    )
    .unwrap();
    Policy::load(&path).unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let ws = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dist = ws.join("plugins/dist");
    let cases = args
        .iter()
        .position(|a| a == "--cases")
        .map(|i| PathBuf::from(&args[i + 1]))
        .unwrap_or_else(|| ws.join("../shared/eval/cases/dev.jsonl"));
    let n = if quick { 300 } else { 3000 };
    let tmp = std::env::temp_dir().join(format!("plugin-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();

    let settings = PluginSettings { workers: 2, ..PluginSettings::default() };
    let mut small = ReviewItem::new("bench-small", "各有关单位：根据工作安排，现将有关事项通知如下。".repeat(12));
    small.title = "关于做好政务公开工作的通知".into();
    let mut large = small.clone();
    large.id = "bench-large".into();
    large.body = "各有关单位：根据工作安排，现将有关事项通知如下。请认真贯彻落实。\n".repeat(200);
    let sizes = [("~1 KB body", &small), ("~20 KB body", &large)];

    let mut out = String::new();
    out.push_str("### Per-item overhead of a no-op plugin (warm pooled instance)\n\n");
    out.push_str("| item | direct native call | `review` on a warm instance | whole pipeline, 1 plugin | platform overhead (pipeline − native) |\n|---|---|---|---|---|\n");
    let pooled = PluginHost::new(settings.host_config()).unwrap();
    let noop = Pipeline::with_host(pooled.clone(), &settings, single_plugin_policy(&tmp, &dist, "noop", "")).unwrap();
    let generation = noop.current();
    let plugin = generation.plugins().next().unwrap();
    for (label, item) in sizes {
        let (native, _) = time(n * 10, || {
            black_box(native_noop(black_box(item)));
        });
        let (call, _) = time(n, || {
            black_box(plugin.review_item(item).unwrap());
        });
        let (pipe, pipe99) = time(n, || {
            black_box(generation.review(item, "2025-01-01T00:00:00Z"));
        });
        out.push_str(&format!(
            "| {label} | {} | {} | {} (p99 {}) | **{}** |\n",
            us(native),
            us(call),
            us(pipe),
            us(pipe99),
            us(pipe.saturating_sub(native))
        ));
    }

    out.push_str("\n### Fresh instance per item vs warm instance\n\n");
    out.push_str("Fresh = instantiate + `configure` + `review` + drop, for every item (the ~1 KB item).\n\n");
    out.push_str("| plugin | warm pooled instance | fresh, pooling allocator | fresh, on-demand allocator |\n|---|---|---|---|\n");
    let on_demand_settings = PluginSettings { pooling: false, ..settings.clone() };
    let on_demand = PluginHost::new(on_demand_settings.host_config()).unwrap();
    for (name, config) in [("noop", ""), ("pii", ""), ("secrecy", "secret_points = []")] {
        let policy = single_plugin_policy(&tmp, &dist, name, config);
        let a = Pipeline::with_host(pooled.clone(), &settings, policy.clone()).unwrap();
        let b = Pipeline::with_host(on_demand.clone(), &on_demand_settings, policy).unwrap();
        let (ga, gb) = (a.current(), b.current());
        let (pa, pb) = (ga.plugins().next().unwrap(), gb.plugins().next().unwrap());
        let m = if name == "noop" { n } else { n / 10 };
        let (warm, _) = time(m, || {
            black_box(pa.review_item(&small).unwrap());
        });
        let (fresh_pool, _) = time(m, || {
            black_box(pa.review_fresh(&small).unwrap());
        });
        let (fresh_demand, _) = time(m, || {
            black_box(pb.review_fresh(&small).unwrap());
        });
        out.push_str(&format!("| {name} | {} | {} | {} |\n", us(warm), us(fresh_pool), us(fresh_demand)));
    }

    out.push_str("\n### Loading the default policy (8 plugins)\n\n");
    let default_policy = Policy::load(&ws.join("policies/default.toml")).unwrap();
    let cache = tmp.join("cache");
    let cached = PluginSettings { cache_dir: Some(cache.clone()), ..settings.clone() };
    let s = Instant::now();
    drop(Pipeline::with_policy(&cached, default_policy.clone()).unwrap());
    let cold = s.elapsed();
    let s = Instant::now();
    drop(Pipeline::with_policy(&cached, default_policy.clone()).unwrap());
    let warm = s.elapsed();
    out.push_str(&format!(
        "| compile (Cranelift), configure, canary | from the on-disk artifact cache, configure, canary |\n|---|---|\n| {:.0} ms | {:.0} ms |\n",
        cold.as_secs_f64() * 1e3,
        warm.as_secs_f64() * 1e3
    ));

    out.push_str("\n### Whole pipeline, default policy (8 plugins)\n\n");
    let pipeline = Pipeline::with_policy(&cached, default_policy).unwrap();
    let mut items = read_items(&cases).expect("evaluation cases");
    let base = items.len();
    let rounds = if quick { 3 } else { 20 };
    let originals = items.clone();
    for r in 1..rounds {
        items.extend(originals.iter().cloned().map(|mut i| {
            i.item.id = format!("{}-{r}", i.item.id);
            i
        }));
    }
    let bytes: usize = items.iter().map(|i| i.item.title.len() + i.item.body.len()).sum();
    let generation = pipeline.current();
    let mut lat: Vec<Duration> = items
        .iter()
        .map(|i| {
            let s = Instant::now();
            black_box(generation.review(&i.item, "2025-01-01T00:00:00Z"));
            s.elapsed()
        })
        .collect();
    lat.sort();
    out.push_str(&format!(
        "{} items ({} evaluation cases × {rounds}), {:.1} KB of text on average.\n\n",
        items.len(),
        base,
        bytes as f64 / items.len() as f64 / 1024.0
    ));
    out.push_str("| workers | items/s | per item p50 | per item p99 |\n|---|---|---|---|\n");
    for workers in [1, 2] {
        let s = Instant::now();
        let outcomes = review_all(&pipeline, &items, workers);
        let took = s.elapsed();
        assert!(outcomes.iter().all(|o| o.findings.iter().all(|f| f.kind != "plugin_failure")));
        let (p50, p99) =
            if workers == 1 { (us(percentile(&lat, 0.5)), us(percentile(&lat, 0.99))) } else { ("".into(), "".into()) };
        out.push_str(&format!("| {workers} | {:.0} | {p50} | {p99} |\n", items.len() as f64 / took.as_secs_f64()));
    }
    let per_plugin = {
        let o = generation.review(&items[0].item, "2025-01-01T00:00:00Z");
        o.plugins.iter().map(|r| format!("{} {} µs", r.name, r.micros)).collect::<Vec<_>>().join(", ")
    };
    out.push_str(&format!("\nOne item, per plugin: {per_plugin}.\n"));
    let _ = std::fs::remove_dir_all(&tmp);
    print!("{out}");
}
