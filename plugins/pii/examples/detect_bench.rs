//! Native benchmark of the detection plugins (the same code the components
//! run, without the WASM host), printing a Markdown section for
//! BENCHMARKS.md:
//!
//! - term scanning throughput (normalisation + automaton, and the automaton
//!   alone on pre-normalised text) with the corpus's 1k, 10k and 100k lists;
//! - compile time and automaton heap with each list;
//! - p50/p99 latency of lexicon + pii + secrecy together on 20 KB items;
//! - each plugin's throughput on the corpus.
//!
//! ```text
//! python3 ../shared/eval/make_corpus.py --out corpus --format items
//! cargo run --release -p pii --example detect_bench -- corpus
//! ```

use std::path::Path;
use std::time::{Duration, Instant};

use lexicon::{Lexicon, LexiconPlugin, TermList};
use pii::PiiPlugin;
use plugin_sdk::textnorm::{Normalized, Options};
use plugin_sdk::{Item, ReviewPlugin};
use secrecy::Secrecy;

fn mbps(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e6
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "corpus".to_owned());
    let dir = Path::new(&dir);
    let items_text =
        std::fs::read_to_string(dir.join("items.jsonl")).expect("corpus/items.jsonl (make_corpus.py --format items)");
    let bodies: Vec<String> = items_text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| format!("{}\n{}", v["title"].as_str().unwrap_or(""), v["body"].as_str().unwrap_or("")))
        .collect();
    let total: usize = bodies.iter().map(String::len).sum();

    println!("## Detection plugins, native (`cargo run --release -p pii --example detect_bench -- corpus`)\n");
    println!(
        "Corpus: {} documents, {:.1} MB (`make_corpus.py --format items`, default options). One thread.\n",
        bodies.len(),
        total as f64 / 1e6
    );
    println!("| terms | compile | automaton heap | lexicon scan (normalise + match) | match only |");
    println!("|---:|---:|---:|---:|---:|");
    let normalised: Vec<String> =
        bodies.iter().map(|b| Normalized::new(b, &Options::default()).text().to_owned()).collect();
    for n in ["1k", "10k", "100k"] {
        let text = std::fs::read_to_string(dir.join(format!("terms_{n}.txt"))).expect("term list");
        let list = TermList {
            tag: "bench".into(),
            severity: Some("block".into()),
            version: n.into(),
            terms: text.lines().map(str::to_owned).collect(),
        };
        let t = Instant::now();
        let lex = Lexicon::compile(std::slice::from_ref(&list), &[]).expect("compile");
        let compile = t.elapsed();
        let t = Instant::now();
        let mut hits = 0;
        for b in &bodies {
            hits += lex.scan(b).len();
        }
        let scan = t.elapsed();
        // The automaton alone, through the same engine, on text that is
        // already normalised (so normalisation is a no-op pass).
        let t = Instant::now();
        let mut hits2 = 0;
        for b in &normalised {
            hits2 += lex.scan_normalised(b);
        }
        let only = t.elapsed();
        assert!(hits > 0 && hits2 > 0);
        println!(
            "| {} | {:.0} ms | {:.1} MiB | {:.1} MB/s | {:.1} MB/s |",
            lex.len(),
            compile.as_secs_f64() * 1e3,
            lex.memory_usage() as f64 / (1 << 20) as f64,
            mbps(total, scan),
            mbps(total, only)
        );
    }

    let terms1k = std::fs::read_to_string(dir.join("terms_1k.txt")).expect("terms_1k");
    let lexicon = LexiconPlugin::new(&lexicon::Config {
        lists: vec![TermList {
            tag: "bench".into(),
            severity: Some("block".into()),
            version: "1k".into(),
            terms: terms1k.lines().map(str::to_owned).collect(),
        }],
        ..lexicon::Config::default()
    })
    .expect("lexicon");
    let pii = PiiPlugin::configure("{}").expect("pii");
    let secrecy = Secrecy::configure("{}").expect("secrecy");

    // Per plugin, over the whole corpus.
    let items: Vec<Item> = bodies.iter().map(|b| Item::sample(b)).collect();
    let mut per = [Duration::ZERO; 3];
    for item in &items {
        let t = Instant::now();
        std::hint::black_box(lexicon.review(item).expect("lexicon"));
        per[0] += t.elapsed();
        let t = Instant::now();
        std::hint::black_box(pii.review(item).expect("pii"));
        per[1] += t.elapsed();
        let t = Instant::now();
        std::hint::black_box(secrecy.review(item).expect("secrecy"));
        per[2] += t.elapsed();
    }
    let all: Duration = per.iter().sum();
    println!("\n| plugin (1k terms) | throughput on the corpus |\n|---|---:|");
    for (name, d) in ["lexicon", "pii", "secrecy"].iter().zip(per) {
        println!("| {name} | {:.1} MB/s |", mbps(total, d));
    }
    println!("| all three | {:.1} MB/s |", mbps(total, all));

    // 20 KB items: consecutive documents joined until 20,000 bytes.
    let mut big: Vec<Item> = Vec::new();
    let mut cur = String::new();
    for b in &bodies {
        cur.push_str(b);
        cur.push('\n');
        if cur.len() >= 20_000 {
            big.push(Item::sample(&cur));
            cur.clear();
        }
    }
    let mut lat: Vec<Duration> = big
        .iter()
        .map(|item| {
            let t = Instant::now();
            std::hint::black_box(lexicon.review(item).expect("lexicon"));
            std::hint::black_box(pii.review(item).expect("pii"));
            std::hint::black_box(secrecy.review(item).expect("secrecy"));
            t.elapsed()
        })
        .collect();
    lat.sort();
    println!(
        "\nThe three plugins together on {} items of ≥ 20 KB (mean {:.1} KB): p50 {:.2} ms, p99 {:.2} ms.",
        big.len(),
        big.iter().map(|i| i.body.len()).sum::<usize>() as f64 / big.len() as f64 / 1e3,
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3
    );
}
