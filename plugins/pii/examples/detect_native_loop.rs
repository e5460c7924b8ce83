//! Native counterpart of `detect_bench --loop` (for `perf`): the same three
//! plugins' `review`, called directly, on the same ~20 KB items.
//!
//! ```text
//! cargo run --release -p pii --example detect_native_loop -- corpus SECONDS
//! ```

use std::path::Path;
use std::time::{Duration, Instant};

use lexicon::{LexiconPlugin, TermList};
use pii::PiiPlugin;
use plugin_sdk::textnorm::{Normalized, Options};
use plugin_sdk::{Item, ReviewPlugin};
use secrecy::Secrecy;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(args.get(1).map_or("corpus", String::as_str));
    let secs: f64 = args.get(2).map_or(5.0, |s| s.parse().expect("SECONDS"));
    let terms = std::fs::read_to_string(dir.join("terms_1k.txt")).expect("terms_1k");
    let lexicon = LexiconPlugin::new(&lexicon::Config {
        lists: vec![TermList {
            tag: "bench".into(),
            severity: Some("block".into()),
            version: "1k".into(),
            terms: terms.lines().map(str::to_owned).collect(),
        }],
        ..lexicon::Config::default()
    })
    .expect("lexicon");
    let pii = PiiPlugin::configure("").expect("pii");
    let secrecy = Secrecy::configure(r#"{"secret_points": []}"#).expect("secrecy");
    let mut big = Vec::new();
    let mut cur = String::new();
    let mut bytes = 0;
    for line in std::fs::read_to_string(dir.join("items.jsonl")).expect("items").lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("item");
        let (title, body) = (v["title"].as_str().unwrap_or(""), v["body"].as_str().unwrap_or(""));
        bytes += title.len() + body.len();
        cur.push_str(title);
        cur.push('\n');
        cur.push_str(body);
        cur.push('\n');
        if cur.len() >= 20_000 {
            big.push(Item::sample(&std::mem::take(&mut cur)));
        }
        if bytes >= 3_000_000 {
            break;
        }
    }
    // The normaliser alone, as each plugin calls it.
    for (name, opts) in [("keep_layout", Options::keep_layout()), ("default", Options::default())] {
        // Best of 20 rounds: the machine is shared.
        let best = (0..20)
            .map(|_| {
                let t = Instant::now();
                for item in &big {
                    std::hint::black_box(Normalized::new(&item.body, &opts));
                }
                t.elapsed()
            })
            .min()
            .unwrap_or_default();
        eprintln!("normalise ({name}): {:.1} µs per item", best.as_secs_f64() * 1e6 / big.len() as f64);
    }
    let t = Instant::now();
    let mut per = [Duration::ZERO; 3];
    let mut n = 0;
    while t.elapsed().as_secs_f64() < secs {
        for item in &big {
            let s = Instant::now();
            std::hint::black_box(secrecy.review(item).expect("secrecy"));
            per[0] += s.elapsed();
            let s = Instant::now();
            std::hint::black_box(pii.review(item).expect("pii"));
            per[1] += s.elapsed();
            let s = Instant::now();
            std::hint::black_box(lexicon.review(item).expect("lexicon"));
            per[2] += s.elapsed();
            n += 1;
        }
    }
    eprintln!("{n} reviews in {:.1} s", t.elapsed().as_secs_f64());
    for (name, d) in ["secrecy", "pii", "lexicon"].iter().zip(per) {
        eprintln!("  {name}: {:.0} µs per item", d.as_secs_f64() * 1e6 / n as f64);
    }
}
