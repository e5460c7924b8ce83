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
use rulekit::{Item, RulePlugin};
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
    let expression = expression::Rules::from_config_json(&serde_json::Value::Object(lists).to_string())
        .map_err(anyhow::Error::msg)?;
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
        let mut item = eval_item(&line).with_context(|| format!("{path}:{}", n + 1))?;
        // Each plugin sees the findings of those before it, as in the pipeline.
        let mut findings = attribute.review(&item);
        let later: [&Rule<'_>; 4] =
            [&|i| reply.review(i), &|i| format.review(i), &|i| expression.review(i), &|i| signoff.review(i)];
        for run in later {
            item.prior_findings = findings.clone();
            findings.extend(run(&item));
        }
        for f in &findings {
            writeln!(out, "{}", output_line(f, &item.id))?;
        }
    }
    Ok(())
}

/// An item of the evaluation JSONL format: `id` and `body` required, the
/// rest defaulted as the evaluation contract says (a 主动公开 notice for the
/// website), read into the contract's own `Item`.
fn eval_item(line: &str) -> anyhow::Result<Item> {
    let mut v: serde_json::Value = serde_json::from_str(line)?;
    let obj = v.as_object_mut().context("an item is a JSON object")?;
    let defaults = serde_json::json!({
        "version": 0, "kind": "notice", "title": "", "attribute": "public", "channels": ["website"],
        "attachments": [], "now": "", "approvals": [], "flags": [], "content_digest": "", "prior_findings": [],
    });
    for (key, value) in defaults.as_object().expect("an object") {
        obj.entry(key.as_str()).or_insert_with(|| value.clone());
    }
    if let Some(sup) = obj.get_mut("superior").and_then(|s| s.as_object_mut()) {
        sup.entry("attribute").or_insert_with(|| "".into());
    }
    if let Some(sig) = obj.get_mut("signoff").and_then(|s| s.as_object_mut()) {
        for key in ["name", "title"] {
            sig.entry(key).or_insert_with(|| "".into());
        }
        sig.entry("statement_accepted").or_insert(false.into());
    }
    Ok(serde_json::from_value(v)?)
}

/// The contract's output line for one finding of item `id`.
fn output_line(f: &rulekit::Finding, id: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "kind": f.kind,
        "severity": f.severity.as_str(),
        "field": f.field.as_str(),
        "bstart": f.span.map(|s| s.start),
        "bend": f.span.map(|s| s.end),
        "rule": f.rule_id,
        "message": f.message,
    })
}
