//! Native scoring harness for the rule plugins, until `gateway check` runs
//! the real WASM pipeline.
//!
//! Reads items in the evaluation JSONL format, runs the attribute, reply,
//! format, expression and signoff rules (in that order, each seeing the earlier findings
//! as `prior_findings`) and prints findings JSONL in the contract's output
//! format (no verdict lines: the verdict needs every plugin):
//!
//! ```text
//! cargo run -q -p rulekit --example eval_rules -- ../shared/eval/cases/dev.jsonl > out/rules-dev.jsonl
//! python3 ../shared/eval/score.py --truth ../shared/eval/cases/dev.truth.jsonl \
//!     --items ../shared/eval/cases/dev.jsonl --findings out/rules-dev.jsonl \
//!     --kinds attribute_conflict,attribute_downgrade,reason_missing,reply_incomplete,doc_number_format,signoff_missing
//! ```
//!
//! Without the secrecy, PII and term plugins the verdicts are meaningless:
//! pass `--kinds` to the scorer and read only the per-kind figures.

use std::io::{BufRead, Write};

use anyhow::Context;
use rulekit::Item;
use workdays::Calendar;

/// One plugin's review, as the pipeline calls it.
type Rule<'a> = dyn Fn(&Item) -> Vec<rulekit::Finding> + 'a;

fn main() -> anyhow::Result<()> {
    let path = std::env::args().nth(1).context("usage: eval_rules <items.jsonl>")?;
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies/calendar");
    let mut calendar = Calendar::new();
    for year in ["2025", "2026"] {
        let text = std::fs::read_to_string(format!("{root}/{year}.toml"))?;
        calendar.add_toml(&text)?;
    }
    let attribute = attribute::Rules::with_calendar(calendar);
    // The expression lists, as a policy would pass them (`--no-lists` leaves
    // them out, as policies/eval.toml does).
    let with_lists = !std::env::args().any(|a| a == "--no-lists");
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies/data");
    let mut lists = serde_json::Map::new();
    if with_lists {
        for name in ["roster", "formulations", "misspellings", "sovereignty"] {
            let text = std::fs::read_to_string(format!("{data}/{name}.toml"))?;
            let value: toml::Value = toml::from_str(&text).with_context(|| format!("{name}.toml"))?;
            lists.insert(name.to_string(), serde_json::to_value(value)?);
        }
    }
    let expression = expression::Rules::from_config_json(&serde_json::Value::Object(lists).to_string())?;
    let reply = reply::Rules::default();
    let format = format::Rules::default();
    let signoff = signoff::Rules::default();
    let file = std::fs::File::open(&path).with_context(|| format!("open {path}"))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let mut item: Item = serde_json::from_str(&line).with_context(|| format!("{path}:{}", n + 1))?;
        // Each plugin sees the findings of those before it, as in the pipeline.
        let mut findings = attribute.review(&item);
        let later: [&Rule<'_>; 4] =
            [&|i| reply.review(i), &|i| format.review(i), &|i| expression.review(i), &|i| signoff.review(i)];
        for run in later {
            item.prior_findings = findings.clone();
            findings.extend(run(&item));
        }
        for f in &findings {
            writeln!(out, "{}", f.to_output_json(&item.id))?;
        }
    }
    Ok(())
}
