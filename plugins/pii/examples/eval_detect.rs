//! Native scoring harness for the detection plugins (lexicon, pii,
//! secrecy), for a fast feedback loop without the WASM host.
//!
//! Reads items in the evaluation JSONL format, runs the three plugins'
//! `review` natively (the same code the components run) and prints findings
//! JSONL in the contract's output format (no verdict lines: the verdict
//! needs every plugin of the policy):
//!
//! ```text
//! cargo run -q -p pii --example eval_detect -- --terms corpus/terms_1k.txt corpus/items.jsonl > out/det.jsonl
//! python3 ../shared/eval/score.py --truth corpus/items.truth.jsonl --items corpus/items.jsonl \
//!     --findings out/det.jsonl --kinds sensitive_term,id_number,mobile,bank_card,email,credit_code,classification_marker
//! ```

use std::io::{BufRead, Write};

use lexicon::{LexiconPlugin, TermList};
use pii::PiiPlugin;
use plugin_sdk::{Field, Item, ReviewPlugin, Severity};
use secrecy::Secrecy;

fn field_name(f: Field) -> &'static str {
    match f {
        Field::Title => "title",
        Field::Body => "body",
        Field::DocNumber => "doc_number",
        Field::Attribute => "attribute",
        Field::Signoff => "signoff",
        Field::Attachment => "attachment",
        _ => "other",
    }
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warn => "warn",
        Severity::Block => "block",
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut terms: Vec<String> = Vec::new();
    let mut input = None;
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--terms" {
            let text = std::fs::read_to_string(&args[i + 1]).expect("read --terms file");
            terms.extend(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned));
            i += 2;
        } else {
            input = Some(args[i].clone());
            i += 1;
        }
    }
    let input = input.expect("usage: eval_detect [--terms FILE] items.jsonl");
    let lex_config = lexicon::Config {
        lists: vec![TermList { tag: "eval".into(), severity: Some("block".into()), version: "eval".into(), terms }],
        ..lexicon::Config::default()
    };
    let started = std::time::Instant::now();
    let lexicon = LexiconPlugin::new(&lex_config).expect("lexicon config");
    eprintln!("lexicon compiled in {:?}", started.elapsed());
    let pii = PiiPlugin::configure("{}").expect("pii config");
    let secrecy = Secrecy::configure("{}").expect("secrecy config");
    let file = std::fs::File::open(&input).expect("open input");
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut bytes = 0usize;
    let mut per_plugin = [std::time::Duration::ZERO; 3];
    let started = std::time::Instant::now();
    for line in std::io::BufReader::new(file).lines() {
        let line = line.expect("read line");
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line).expect("item json");
        let id = v["id"].as_str().unwrap_or_default().to_owned();
        let mut item = Item::sample(v["body"].as_str().unwrap_or_default());
        item.id = id.clone();
        item.title = v["title"].as_str().unwrap_or_default().to_owned();
        bytes += item.title.len() + item.body.len();
        let t0 = std::time::Instant::now();
        let mut findings = lexicon.review(&item).expect("lexicon");
        let t1 = std::time::Instant::now();
        findings.extend(pii.review(&item).expect("pii"));
        let t2 = std::time::Instant::now();
        findings.extend(secrecy.review(&item).expect("secrecy"));
        let t3 = std::time::Instant::now();
        per_plugin[0] += t1 - t0;
        per_plugin[1] += t2 - t1;
        per_plugin[2] += t3 - t2;
        for f in findings {
            let (bstart, bend) = match f.span {
                Some(s) => (serde_json::json!(s.start), serde_json::json!(s.end)),
                None => (serde_json::Value::Null, serde_json::Value::Null),
            };
            let rec = serde_json::json!({
                "id": id, "kind": f.kind, "severity": severity_name(f.severity),
                "field": field_name(f.field), "bstart": bstart, "bend": bend,
                "rule": f.rule_id, "message": f.message, "suggestion": f.suggestion,
            });
            writeln!(out, "{rec}").expect("write");
        }
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!("reviewed {bytes} bytes in {secs:.3} s ({:.1} MB/s)", bytes as f64 / secs / 1e6);
    for (name, d) in ["lexicon", "pii", "secrecy"].iter().zip(per_plugin) {
        eprintln!("  {name}: {:.1} MB/s", bytes as f64 / d.as_secs_f64() / 1e6);
    }
}
