//! The committed test vectors (`tests/data/seal/`): they still match the
//! generator, and every case gets its expected verdict from the Rust
//! verifier, from the `seal` command, and from the independent Python
//! verifier (`tests/independent/verify_seal.py`, written from `docs/seal.md`
//! alone). Python 3 with `cryptography` is required: without it this test
//! fails, it does not skip.

#[path = "support/vectors.rs"]
mod vectors;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn data() -> PathBuf {
    root().join("tests/data/seal")
}

#[test]
fn committed_vectors_match_the_generator() {
    let dir = data();
    let mut stale = Vec::new();
    for (rel, bytes) in vectors::files() {
        match std::fs::read(dir.join(&rel)) {
            Ok(committed) if committed == bytes => {}
            Ok(_) => stale.push(format!("{rel} differs")),
            Err(e) => stale.push(format!("{rel}: {e}")),
        }
    }
    assert!(
        stale.is_empty(),
        "tests/data/seal is out of date ({}); run `cargo run -p seal --example gen_vectors` and review the diff",
        stale.join(", ")
    );
}

/// Every `*.jws` file with its expected verdict.
fn committed_cases() -> Vec<(PathBuf, String, Value)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(data()).unwrap() {
        let path = e.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(stem) = file.strip_suffix(".jws") {
            let name = stem.split('.').next().unwrap().to_owned();
            let expected: Value =
                serde_json::from_slice(&std::fs::read(data().join(format!("{name}.expected.json"))).unwrap()).unwrap();
            // The file name and the expected verdict agree.
            match expected["failed_check"].as_str() {
                None => assert_eq!(file, format!("{name}.valid.jws")),
                Some(check) => assert_eq!(file, format!("{name}.invalid-{check}.jws")),
            }
            out.push((path, name, expected));
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    assert!(out.len() >= 28, "expected every case of docs/seal.md section 11, found {}", out.len());
    out
}

/// A vector file's seal: the file's bytes, less one final line ending
/// (docs/seal.md §6; the committed files have none).
fn seal_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.strip_suffix("\r\n").or_else(|| text.strip_suffix('\n')).unwrap_or(&text).to_owned()
}

/// `--status` and `--refuse-dev-keys` of a case, as command-line arguments.
fn verify_with_args(expected: &Value) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(status) = expected["verify_with"]["status"].as_str() {
        args.extend(["--status".to_owned(), status.to_owned()]);
    }
    if expected["verify_with"]["refuse_dev_keys"].as_bool().unwrap() {
        args.push("--refuse-dev-keys".to_owned());
    }
    args
}

#[test]
fn committed_seal_files_end_without_a_newline() {
    for (path, name, _) in committed_cases() {
        let bytes = std::fs::read(&path).unwrap();
        assert!(!bytes.ends_with(b"\n"), "{name}: a seal file holds the seal's bytes exactly");
    }
}

#[test]
fn rust_verifier_gives_the_expected_verdicts() {
    let keys = seal::KeySet::from_jwks_json(&std::fs::read(data().join("jwks.json")).unwrap()).unwrap();
    for (path, name, expected) in committed_cases() {
        let jws = seal_of(&path);
        let content = std::fs::read(data().join(format!("{name}.content.json"))).unwrap();
        let opts = seal::VerifyOptions {
            content: seal::Content::Bytes(&content),
            channel: expected["verify_with"]["channel"].as_str(),
            now: expected["verify_with"]["now"].as_u64(),
            seal_status: expected["verify_with"]["status"].as_str().map(|s| seal::SealStatus::parse(s).unwrap()),
            refuse_dev_keys: expected["verify_with"]["refuse_dev_keys"].as_bool().unwrap(),
            ..Default::default()
        };
        let report = seal::verify_report(&jws, &keys, &opts);
        assert_eq!(report.failed_check(), expected["failed_check"].as_str(), "{name}:\n{report}");
        assert_eq!(report.is_valid(), expected["verdict"] == "valid", "{name}:\n{report}");
        if let Ok(v) = &report.verdict {
            assert_eq!(v.manifest.serial, expected["serial"].as_str().unwrap(), "{name}");
            assert_eq!(v.dev_key, expected["dev_key"].as_bool().unwrap(), "{name}");
        }
        // Every failure names its check and a reason.
        for c in &report.checks {
            assert!(!c.detail.is_empty(), "{name}: {} has no reason", c.name);
        }
    }
}

#[test]
fn seal_command_gives_the_expected_verdicts() {
    for (path, name, expected) in committed_cases() {
        let out = Command::new(env!("CARGO_BIN_EXE_seal"))
            .arg("verify")
            .arg("--keys")
            .arg(data().join("jwks.json"))
            .arg("--content")
            .arg(data().join(format!("{name}.content.json")))
            .args(["--channel", expected["verify_with"]["channel"].as_str().unwrap()])
            .args(["--now", &expected["verify_with"]["now"].to_string()])
            .args(verify_with_args(&expected))
            .arg(&path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let last = stdout.lines().last().unwrap_or_default();
        match expected["failed_check"].as_str() {
            None => {
                assert_eq!(out.status.code(), Some(0), "{name}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
                assert!(last.starts_with("VALID"), "{name}: {stdout}");
            }
            Some(check) => {
                assert_eq!(out.status.code(), Some(1), "{name}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
                assert!(last.starts_with(&format!("INVALID {check}: ")), "{name}: {stdout}");
                assert!(stdout.contains(&format!("FAIL {check:<15}")), "{name}: {stdout}");
            }
        }
    }
}

/// A seal file may end in one line ending (an editor's, `jq -r`'s): the
/// CLI and the Python verifier drop it and nothing else.
#[test]
fn one_final_line_ending_of_a_seal_file_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let notice = seal_of(&data().join("notice.valid.jws"));
    for (name, text, code) in
        [("lf", format!("{notice}\n"), 0), ("crlf", format!("{notice}\r\n"), 0), ("two", format!("{notice}\n\n"), 1)]
    {
        let file = dir.path().join(format!("{name}.jws"));
        std::fs::write(&file, text).unwrap();
        let mut verifiers = [Command::new(env!("CARGO_BIN_EXE_seal")), python()];
        verifiers[0].arg("verify");
        verifiers[1].arg(root().join("tests/independent/verify_seal.py"));
        for mut verifier in verifiers {
            let out = verifier
                .arg("--keys")
                .arg(data().join("jwks.json"))
                .args(["--now", "1780272000"])
                .arg(&file)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(code), "{name}: {}", String::from_utf8_lossy(&out.stdout));
        }
    }
}

#[test]
fn seal_command_reads_the_envelope() {
    let run = |channel: &str| {
        Command::new(env!("CARGO_BIN_EXE_seal"))
            .arg("verify")
            .arg("--keys")
            .arg(data().join("jwks.json"))
            .args(["--channel", channel])
            .arg(data().join("notice.envelope.json"))
            .output()
            .unwrap()
    };
    let ok = run("wechat");
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("PASS content"), "{stdout}");
    let bad = run("weibo");
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stdout).contains("INVALID channel: seal authorises channels"));
}

fn python() -> Command {
    let probe = Command::new("python3")
        .args(["-c", "import cryptography; print(cryptography.__version__)"])
        .output()
        .unwrap_or_else(|e| panic!("python3 is required for the independent verifier and could not be run: {e}"));
    assert!(
        probe.status.success(),
        "python3 with the `cryptography` package is required for the independent verifier \
         (pip install cryptography / apt-get install python3-cryptography):\n{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    Command::new("python3")
}

#[test]
fn independent_python_verifier_gives_the_expected_verdicts() {
    let script = root().join("tests/independent/verify_seal.py");
    for (path, name, expected) in committed_cases() {
        let out = python()
            .arg(&script)
            .arg("--keys")
            .arg(data().join("jwks.json"))
            .arg("--content")
            .arg(data().join(format!("{name}.content.json")))
            .args(["--channel", expected["verify_with"]["channel"].as_str().unwrap()])
            .args(["--now", &expected["verify_with"]["now"].to_string()])
            .args(verify_with_args(&expected))
            .arg(&path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stdout.lines().last().unwrap_or_default();
        match expected["failed_check"].as_str() {
            None => {
                assert_eq!(out.status.code(), Some(0), "{name}: {stdout}{stderr}");
                assert!(
                    last.starts_with(&format!("VALID {}", expected["serial"].as_str().unwrap())),
                    "{name}: {stdout}"
                );
            }
            Some(check) => {
                assert_eq!(out.status.code(), Some(1), "{name}: {stdout}{stderr}");
                assert_eq!(last, format!("INVALID {check}"), "{name}: {stdout}");
            }
        }
    }
}

/// Our PKCS#8 v1 key files load in OpenSSL and Python `cryptography`, and
/// derive the same public key.
#[test]
fn key_files_load_in_openssl_and_python() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key.pem");
    let signer = seal::Ed25519Signer::generate();
    signer.write_key_file(&path).unwrap();
    let want = signer.verifying_key().to_bytes();

    let out = Command::new("openssl")
        .args(["pkey", "-in"])
        .arg(&path)
        .args(["-pubout", "-outform", "DER"])
        .output()
        .unwrap_or_else(|e| panic!("openssl is required for this test and could not be run: {e}"));
    assert!(out.status.success(), "openssl pkey refused our key: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(&out.stdout[out.stdout.len() - 32..], &want, "openssl derived another public key");

    let code = "import sys\nfrom cryptography.hazmat.primitives import serialization as s\n\
                k = s.load_pem_private_key(open(sys.argv[1], 'rb').read(), None)\n\
                print(k.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw).hex())";
    let out = python().args(["-c", code]).arg(&path).output().unwrap();
    assert!(out.status.success(), "cryptography refused our key: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), hex::encode(want));

    // And the reverse: a key made by `openssl genpkey` is read by us.
    let theirs = dir.path().join("openssl.pem");
    let st = Command::new("openssl").args(["genpkey", "-algorithm", "ed25519", "-out"]).arg(&theirs).status().unwrap();
    assert!(st.success());
    set_private(&theirs);
    seal::Ed25519Signer::from_key_file(&theirs).unwrap();
    // Same DER layout: PKCS#8 v1 (version 0), no public key member.
    let ours = std::fs::read_to_string(&path).unwrap();
    let theirs = std::fs::read_to_string(&theirs).unwrap();
    assert_eq!(ours.len(), theirs.len());
    assert_eq!(&ours[..49], &theirs[..49], "PEM header and DER prefix (302e020100300506032b6570...) differ");
}

fn set_private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}
