//! Regenerates the seal test vectors in `tests/data/seal/` (workspace root)
//! from fixed keys and times: `cargo run -p seal --example gen_vectors`.
//! `tests/vectors.rs` fails when the committed files differ from this output.

#[path = "../tests/support/vectors.rs"]
mod vectors;

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/seal");
    let files = vectors::files();
    // Remove files the generator no longer makes (only ours: *.jws, *.json, keys/*.pem).
    for sub in [dir.clone(), dir.join("keys")] {
        if let Ok(entries) = std::fs::read_dir(&sub) {
            for e in entries.flatten() {
                let path = e.path();
                let rel = path.strip_prefix(&dir).unwrap().to_string_lossy().into_owned();
                let ours = rel.ends_with(".jws") || rel.ends_with(".json") || rel.ends_with(".pem");
                if path.is_file() && ours && !files.contains_key(&rel) {
                    std::fs::remove_file(&path)?;
                }
            }
        }
    }
    for (rel, bytes) in &files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap())?;
        std::fs::write(&path, bytes)?;
    }
    println!("wrote {} files to {}", files.len(), dir.display());
    Ok(())
}
