//! Seal benchmark: seals and verifications per second, single and batch,
//! against raw ed25519-dalek sign / `verify_strict` / `verify_batch` over the
//! same bytes, measured in the same run and reported as ratios. Prints a
//! Markdown section for `BENCHMARKS.md` (`cargo xtask bench seal`).
//!
//! `cargo run --release -p seal --features batch --example seal_bench [-- --quick]`

#[path = "../tests/support/vectors.rs"]
mod vectors;

use std::hint::black_box;
use std::time::{Duration, Instant};

use ed25519_dalek::{Signature, Signer as _};
use seal::{Content, Sha256, VerifyOptions};

/// Runs `f` repeatedly for about `budget`; returns operations per second
/// (each call of `f` does `per_call` operations).
fn rate(budget: Duration, per_call: usize, mut f: impl FnMut()) -> f64 {
    // Warm-up.
    let warm = Instant::now();
    while warm.elapsed() < budget / 10 {
        f();
    }
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < budget {
        f();
        calls += 1;
    }
    (calls as f64 * per_call as f64) / start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `runs` rounds of (raw, seal); the medians of each and of the per-round ratio.
fn paired(runs: usize, mut raw: impl FnMut() -> f64, mut ours: impl FnMut() -> f64) -> (f64, f64, f64) {
    let (mut r, mut o, mut q) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let (a, b) = (raw(), ours());
        r.push(a);
        o.push(b);
        q.push(b / a);
    }
    (median(r), median(o), median(q))
}

fn fmt_rate(r: f64) -> String {
    let n = r.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let budget = Duration::from_millis(if quick { 300 } else { 1000 });
    let runs = if quick { 3 } else { 5 };
    const BATCH: usize = 64;

    // The `notice` test vector: a 1 KB manifest with Chinese text, two plugins.
    let content = seal::canonical::to_vec(&vectors::notice_content()).unwrap();
    let signer = vectors::key("current");
    let manifest =
        vectors::manifest("321183-2026-000123", 2, &content, &["website", "wechat"], vectors::MAY_DAY, &signer);
    let keys = seal::KeySet::from_jwks_json(vectors::jwks().as_bytes()).unwrap();
    let made = seal::sign(&manifest, &signer).unwrap();
    let jws = made.as_str().to_owned();
    let (signing_input, sig_b64) = jws.rsplit_once('.').unwrap();
    let signing_input = signing_input.as_bytes().to_vec();
    let sig = {
        use base64::Engine as _;
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig_b64).unwrap();
        Signature::from_bytes(&b.try_into().unwrap())
    };
    let sk = ed25519_dalek::SigningKey::from_bytes(Sha256::of(b"gov-disclosure seal test key: current").as_bytes());
    let vk = sk.verifying_key();
    assert!(vk.verify_strict(&signing_input, &sig).is_ok());
    let opts = VerifyOptions {
        content: Content::Bytes(&content),
        channel: Some("website"),
        now: Some(vectors::NOW),
        ..Default::default()
    };
    assert!(seal::verify(&jws, &keys, &opts).is_ok());

    // Batch inputs: BATCH distinct seals (distinct serials) by one key.
    let batch_seals: Vec<String> = (0..BATCH)
        .map(|i| {
            let mut m = manifest.clone();
            m.serial = format!("321183-2026-{i:06}");
            seal::sign(&m, &signer).unwrap().into_string()
        })
        .collect();
    let batch_refs: Vec<&str> = batch_seals.iter().map(String::as_str).collect();
    let batch_msgs: Vec<Vec<u8>> =
        batch_seals.iter().map(|s| s.rsplit_once('.').unwrap().0.as_bytes().to_vec()).collect();
    let batch_msg_refs: Vec<&[u8]> = batch_msgs.iter().map(Vec::as_slice).collect();
    let batch_sigs: Vec<Signature> = batch_msgs.iter().map(|m| sk.sign(m)).collect();
    let batch_vks = vec![vk; BATCH];

    // Raw and seal measurements alternate within each round, and the ratio is
    // taken per round, so load from other processes drifting during the run
    // affects both sides of a ratio alike.
    let (raw_sign, seal_sign, sign_ratio) = paired(
        runs,
        || {
            rate(budget, 1, || {
                black_box(sk.sign(black_box(&signing_input)));
            })
        },
        || rate(budget, 1, || drop(black_box(seal::sign(black_box(&manifest), &signer).unwrap()))),
    );
    let (raw_verify, seal_verify, verify_ratio) = paired(
        runs,
        || rate(budget, 1, || assert!(vk.verify_strict(black_box(&signing_input), black_box(&sig)).is_ok())),
        || rate(budget, 1, || assert!(seal::verify(black_box(&jws), &keys, &opts).is_ok())),
    );
    let (_, seal_report, report_ratio) = paired(
        runs,
        || rate(budget, 1, || assert!(vk.verify_strict(black_box(&signing_input), black_box(&sig)).is_ok())),
        || rate(budget, 1, || drop(black_box(seal::verify_report(black_box(&jws), &keys, &opts)))),
    );
    let (raw_batch, seal_batch, batch_ratio) = paired(
        runs,
        || {
            rate(budget, BATCH, || {
                assert!(ed25519_dalek::verify_batch(&batch_msg_refs, &batch_sigs, &batch_vks).is_ok())
            })
        },
        || rate(budget, BATCH, || assert!(seal::verify_signatures_batch(black_box(&batch_refs), &keys).is_ok())),
    );

    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());

    println!(
        "One thread; each rate is the median of {runs} runs of {} ms after a warm-up; each ratio is the median of \
         the per-run ratios, the raw and seal runs alternating.",
        budget.as_millis()
    );
    println!(
        "The seal is the `notice` test vector: a {} byte manifest, a {} byte JWS; raw rows sign or verify the same \
         {} byte signing input with ed25519-dalek 2 directly. Load average at the end of the run: {load} on {cores} \
         cores (the machine is shared with other builds, so read these as lower bounds).",
        made.payload().len(),
        jws.len(),
        signing_input.len()
    );
    println!();
    println!("| operation | per second | µs each | vs raw ed25519-dalek |");
    println!("|---|---:|---:|---:|");
    let row = |name: &str, r: f64, ratio: Option<f64>| {
        let ratio = ratio.map_or("—".to_owned(), |q| format!("{q:.2}×"));
        println!("| {name} | {} | {:.1} | {ratio} |", fmt_rate(r), 1e6 / r);
    };
    row("raw `SigningKey::sign`", raw_sign, None);
    row("`seal::sign` (validate, JCS, re-parse, sign, encode)", seal_sign, Some(sign_ratio));
    row("raw `VerifyingKey::verify_strict`", raw_verify, None);
    row("`seal::verify` (all 13 checks, 1 KB content digest)", seal_verify, Some(verify_ratio));
    row("`seal::verify_report` (same, with the explained report)", seal_report, Some(report_ratio));
    row(&format!("raw `verify_batch`, n = {BATCH}"), raw_batch, None);
    row(&format!("`seal::verify_signatures_batch`, n = {BATCH} (audit only)"), seal_batch, Some(batch_ratio));
    println!();
    println!(
        "Batch verification is {:.2}× single `verify_strict` here; it is for bulk re-audits of the log only \
         (its cofactored equation is weaker than `verify_strict`, see `docs/seal.md`).",
        raw_batch / raw_verify
    );
}
