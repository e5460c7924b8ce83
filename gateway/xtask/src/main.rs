//! Developer tasks, run as `cargo xtask <task>`:
//!
//! - `build-plugins [--pin]`: builds every plugin crate (a `cdylib` under
//!   `plugins/` or `tests/plugins/`) for `wasm32-wasip2` in release, copies
//!   the components to `plugins/dist/<name>.wasm` and writes
//!   `plugins/dist/manifest.toml` with each one's name, version and SHA-256.
//!   With `--pin`, also rewrites the `sha256` pins in `policies/*.toml` for
//!   the plugins it built.
//! - `pin`: rewrites the pins from the existing manifest only.
//! - `bench`: the plugin-platform, detection and seal benchmarks (see `bench.rs`); writes
//!   their sections of `BENCHMARKS.md`. `bench seal` runs only the seal benchmark;
//!   `bench delivery` the channel delivery benchmark (`bench_delivery.rs`);
//!   `bench attachments` the attachment extraction benchmark.
//! - `schema`: checks that `migrations/postgres` is `migrations/sqlite` in
//!   PostgreSQL's dialect (see `schema.rs`; `cargo test` runs the same check).
//!
//! Builds are path-independent (`--remap-path-prefix`), so the same sources
//! and toolchain give the same component hashes on every machine, and the
//! pins committed in `policies/` hold on a fresh clone.

mod bench;
mod bench_delivery;
mod schema;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ws = workspace_root()?;
    match args.first().map(String::as_str) {
        Some("build-plugins") => {
            let pin = args.iter().any(|a| a == "--pin");
            let manifest = build_plugins(&ws)?;
            if pin {
                pin_policies(&ws, &manifest)?;
            }
            Ok(())
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("delivery") => bench_delivery::run(&ws, &args[2..]),
        Some("bench") => bench::run(&ws, &args[1..]),
        Some("schema") => schema::run(&ws),
        Some("pin") => {
            let manifest = read_manifest(&ws)?;
            pin_policies(&ws, &manifest)
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\n  build-plugins [--pin]  build plugins/* and tests/plugins/* to plugins/dist/ (and update policy pins)\n  pin                    update the sha256 pins in policies/*.toml from plugins/dist/manifest.toml\n  bench [--quick]        run the plugin-platform, detection and seal benchmarks and update BENCHMARKS.md\n  bench seal [--quick]   run only the seal benchmark\n  bench attachments [--quick]  attachment extraction + review, sandbox vs native, extractor memory\n  bench delivery [--quick]  deliveries per second and seal-to-confirmed latency (BENCHMARKS.md, Delivery)\n  schema                 check that migrations/postgres equals migrations/sqlite up to the dialect's column types"
            );
            bail!("unknown or missing task")
        }
    }
}

/// The workspace root (the parent of `gateway/xtask`): of the checkout
/// `cargo xtask` runs in (cargo sets `CARGO_MANIFEST_DIR` for the process
/// it runs), not the one the binary was compiled in — two checkouts
/// sharing a target directory share one `xtask` binary.
fn workspace_root() -> Result<PathBuf> {
    let here = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    Ok(here.ancestors().nth(2).context("xtask is not at gateway/xtask")?.to_path_buf())
}

/// `plugins/dist/manifest.toml`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// The contract the host implements.
    pub contract: String,
    /// One entry per built component.
    pub plugin: Vec<ManifestEntry>,
}

/// One built component.
#[derive(Debug, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Package name (= plugin name = file stem).
    pub name: String,
    /// Package version.
    pub version: String,
    /// SHA-256 of the component, hex: the value to pin.
    pub sha256: String,
    /// File name in `plugins/dist/`.
    pub file: String,
    /// Size in bytes.
    pub bytes: u64,
    /// The crate's directory, relative to the workspace.
    pub source: String,
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<MetaPackage>,
    target_directory: PathBuf,
}

#[derive(Deserialize)]
struct MetaPackage {
    name: String,
    version: String,
    manifest_path: PathBuf,
    targets: Vec<MetaTarget>,
}

#[derive(Deserialize)]
struct MetaTarget {
    name: String,
    crate_types: Vec<String>,
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn build_plugins(ws: &Path) -> Result<Manifest> {
    let out = Command::new(cargo())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(ws)
        .output()
        .context("run cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    let meta: Metadata = serde_json::from_slice(&out.stdout).context("parse cargo metadata")?;
    let mut plugins = Vec::new();
    for p in &meta.packages {
        let dir = p.manifest_path.parent().context("manifest has a parent")?;
        let rel = dir.strip_prefix(ws).unwrap_or(dir);
        let under = rel.starts_with("plugins") || rel.starts_with("tests/plugins");
        let Some(lib) = p.targets.iter().find(|t| t.crate_types.iter().any(|c| c == "cdylib")) else {
            continue;
        };
        if under {
            plugins.push((p, lib.name.clone(), rel.to_path_buf()));
        }
    }
    if plugins.is_empty() {
        bail!("no plugin crates (cdylib) found under plugins/ or tests/plugins/");
    }
    let mut cmd = Command::new(cargo());
    cmd.args(["build", "--release", "--target", "wasm32-wasip2"]).current_dir(ws);
    for (p, _, _) in &plugins {
        cmd.args(["-p", &p.name]);
    }
    let cargo_home = std::env::var("CARGO_HOME").map(PathBuf::from).unwrap_or_else(|_| home().join(".cargo"));
    let flags =
        format!("--remap-path-prefix={}=/workspace --remap-path-prefix={}=/cargo", ws.display(), cargo_home.display());
    cmd.env("CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS", flags);
    eprintln!("building {} plugin(s) for wasm32-wasip2 ...", plugins.len());
    let status = cmd.status().context("run cargo build")?;
    if !status.success() {
        bail!("building the plugins failed");
    }
    let dist = ws.join("plugins/dist");
    std::fs::create_dir_all(&dist)?;
    let built = meta.target_directory.join("wasm32-wasip2/release");
    let mut entries = Vec::new();
    for (p, lib, rel) in &plugins {
        let from = built.join(format!("{}.wasm", lib.replace('-', "_")));
        let bytes = std::fs::read(&from).with_context(|| format!("read {}", from.display()))?;
        let file = format!("{}.wasm", p.name);
        std::fs::write(dist.join(&file), &bytes)?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        println!("{:<16} {:>8} bytes  sha256 {sha256}", p.name, bytes.len());
        entries.push(ManifestEntry {
            name: p.name.clone(),
            version: p.version.clone(),
            sha256,
            file,
            bytes: bytes.len() as u64,
            source: rel.display().to_string(),
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let manifest = Manifest {
        contract: format!("{}@{}", plugin_api::CONTRACT_PACKAGE, plugin_api::CONTRACT_VERSION),
        plugin: entries,
    };
    let text = format!(
        "# Written by `cargo xtask build-plugins`; do not edit. Pin these sha256\n# values in policies/*.toml (`cargo xtask pin` does it).\n{}",
        toml::to_string(&manifest)?
    );
    std::fs::write(dist.join("manifest.toml"), text)?;
    println!("wrote {}", dist.join("manifest.toml").display());
    Ok(manifest)
}

fn home() -> PathBuf {
    std::env::var("HOME").map(PathBuf::from).unwrap_or_default()
}

fn read_manifest(ws: &Path) -> Result<Manifest> {
    let path = ws.join("plugins/dist/manifest.toml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("read {} (run `cargo xtask build-plugins`)", path.display()))?;
    Ok(toml::from_str(&text)?)
}

/// Rewrites `sha256 = "..."` in each `[[plugins]]` block (and the
/// `[extractor]` table) of
/// `policies/*.toml` whose `path` names a component in the manifest.
/// Line-based, so comments and layout survive.
fn pin_policies(ws: &Path, manifest: &Manifest) -> Result<()> {
    let by_file: BTreeMap<&str, &str> = manifest.plugin.iter().map(|p| (p.file.as_str(), p.sha256.as_str())).collect();
    let dir = ws.join("policies");
    let Ok(read) = std::fs::read_dir(&dir) else {
        return Ok(());
    };
    for entry in read {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let (new, changed) = repin(&text, &by_file);
        if changed > 0 {
            std::fs::write(&path, new)?;
            println!("{}: updated {changed} pin(s)", path.display());
        }
    }
    Ok(())
}

fn repin(text: &str, by_file: &BTreeMap<&str, &str>) -> (String, usize) {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut changed = 0;
    // `[[plugins]]` entries and the `[extractor]` table carry pins alike.
    let is_block = |l: &str| l.trim() == "[[plugins]]" || l.trim() == "[extractor]";
    let blocks: Vec<usize> = lines.iter().enumerate().filter(|(_, l)| is_block(l)).map(|(i, _)| i).collect();
    for (k, &start) in blocks.iter().enumerate() {
        let end = blocks.get(k + 1).copied().unwrap_or(lines.len());
        let end = (start + 1..end)
            .find(|&i| {
                let t = lines[i].trim_start();
                t.starts_with('[') && !is_block(t)
            })
            .unwrap_or(end);
        let value = |key: &str, l: &str| -> Option<String> {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
        };
        let Some(file) = (start..end).find_map(|i| value("path", &lines[i])) else {
            continue;
        };
        let name = Path::new(&file).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let Some(sha) = by_file.get(name.as_str()) else {
            continue;
        };
        if let Some(i) = (start..end).find(|&i| value("sha256", &lines[i]).is_some()) {
            let new = format!("sha256 = \"{sha}\"");
            if lines[i].trim() != new {
                lines[i] = new;
                changed += 1;
            }
        }
    }
    let mut out = lines.join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    (out, changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repin_rewrites_only_matching_blocks() {
        let text = "name = \"p\"\n\n[[plugins]]\nname = \"a\"\npath = \"../plugins/dist/a.wasm\"\nsha256 = \"old\"\n[plugins.config]\nsha256 = \"not a pin\"\n\n[[plugins]]\nname = \"b\"\npath = \"b.wasm\"\nsha256 = \"keep\"\n";
        let map = BTreeMap::from([("a.wasm", "new")]);
        let (out, n) = repin(text, &map);
        assert_eq!(n, 1);
        assert!(out.contains("path = \"../plugins/dist/a.wasm\"\nsha256 = \"new\"\n"));
        assert!(out.contains("sha256 = \"not a pin\""));
        assert!(out.contains("sha256 = \"keep\""));
        assert_eq!(repin(&out, &map).1, 0);
    }
}
