//! Behaviour of sealing and verifying: tampering with any single byte fails
//! with a reason, wrong key, wrong channel, expired and revoked keys,
//! rotation, seal status, development keys, key files and the CLI.

#[path = "support/vectors.rs"]
mod vectors;

use std::process::Command;

use seal::{Content, Ed25519Signer, Error, KeyId, KeySet, SealStatus, Signer as _, Validity, VerifyOptions};
use vectors::{MAY_DAY, NOW, Y2025, Y2026, key, manifest};

fn keyset(entries: &[serde_json::Value]) -> KeySet {
    KeySet::from_jwks_json(seal::jwks_json(entries).as_bytes()).unwrap()
}

struct Fixture {
    keys: KeySet,
    content: Vec<u8>,
    jws: String,
}

fn fixture() -> Fixture {
    let content = seal::canonical::to_vec(&vectors::notice_content()).unwrap();
    let current = key("current");
    let m = manifest("321183-2026-000123", 2, &content, &["website", "wechat"], MAY_DAY, &current);
    let jws = seal::sign(&m, &current).unwrap().into_string();
    Fixture { keys: KeySet::from_jwks_json(vectors::jwks().as_bytes()).unwrap(), content, jws }
}

fn opts(content: &[u8]) -> VerifyOptions<'_> {
    VerifyOptions { content: Content::Bytes(content), channel: Some("website"), now: Some(NOW), ..Default::default() }
}

#[test]
fn a_good_seal_verifies_and_reports_every_check() {
    let f = fixture();
    let report = seal::verify_report(&f.jws, &f.keys, &opts(&f.content));
    assert!(report.is_valid(), "{report}");
    let names: Vec<&str> = report.checks.iter().map(|c| c.name).collect();
    assert_eq!(names, seal::verify::CHECK_NAMES);
    let v = report.verdict.unwrap();
    assert_eq!(v.seal_id, seal::Sha256::of(&v.payload));
    assert_eq!(v.manifest.channels, ["website", "wechat"]);
}

#[test]
fn tampering_with_any_content_byte_fails_the_content_check() {
    let f = fixture();
    for i in 0..f.content.len() {
        let mut c = f.content.clone();
        c[i] ^= 0x01;
        let err = seal::verify(&f.jws, &f.keys, &opts(&c)).unwrap_err();
        assert!(matches!(err, Error::DigestMismatch { .. }), "byte {i}: {err}");
        assert!(err.to_string().starts_with("seal covers digest sha256:"), "{err}");
    }
}

#[test]
fn tampering_with_any_payload_byte_fails_the_signature_check() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let f = fixture();
    let parts: Vec<&str> = f.jws.split('.').collect();
    let payload = b64.decode(parts[1]).unwrap();
    for i in 0..payload.len() {
        let mut p = payload.clone();
        p[i] ^= 0x01;
        let jws = format!("{}.{}.{}", parts[0], b64.encode(&p), parts[2]);
        let report = seal::verify_report(&jws, &f.keys, &opts(&f.content));
        assert_eq!(report.failed_check(), Some("signature"), "byte {i}");
        assert!(matches!(report.verdict, Err(Error::BadSignature(_))));
        // Nothing after the signature was trusted.
        assert!(report.checks.iter().skip(4).all(|c| c.outcome == seal::verify::Outcome::NotChecked));
    }
}

#[test]
fn tampering_with_any_character_of_the_seal_is_refused() {
    let f = fixture();
    let bytes = f.jws.as_bytes();
    for i in 0..bytes.len() {
        for replacement in [b'A', b'-', b'.'] {
            if bytes[i] == replacement {
                continue;
            }
            let mut t = bytes.to_vec();
            t[i] = replacement;
            let t = String::from_utf8(t).unwrap();
            let report = seal::verify_report(&t, &f.keys, &opts(&f.content));
            assert!(!report.is_valid(), "position {i} → {:?} still verifies", replacement as char);
            let check = report.failed_check().unwrap();
            assert!(["structure", "header", "key", "signature"].contains(&check), "position {i}: {check}");
        }
    }
}

#[test]
fn wrong_key_unknown_key_and_the_key_binding() {
    let f = fixture();
    // The same seal checked against a set holding another key under the same
    // kid is impossible (kid = thumbprint); against a set without the key it is unknown.
    let others = keyset(&[seal::ed25519_jwk(&key("outsider").verifying_key(), Validity::default(), false)]);
    assert!(matches!(seal::verify(&f.jws, &others, &opts(&f.content)), Err(Error::UnknownKey(_))));

    // A manifest naming another key than the signer: the signer refuses.
    let current = key("current");
    let mut m = manifest("s-1", 1, &f.content, &["website"], MAY_DAY, &current);
    m.key = seal::KeyRef::of(&key("previous"));
    assert!(matches!(seal::sign(&m, &current), Err(Error::Sign(_))));
}

#[test]
fn wrong_channel() {
    let f = fixture();
    for channel in ["weibo", "web", "WEBSITE", "wechat:gh_other"] {
        let o = VerifyOptions { channel: Some(channel), ..opts(&f.content) };
        let err = seal::verify(&f.jws, &f.keys, &o).unwrap_err();
        assert_eq!(
            err,
            Error::WrongChannel { channel: channel.into(), allowed: vec!["website".into(), "wechat".into()] }
        );
    }
}

#[test]
fn key_validity_rotation_and_expiry() {
    let content = b"content";
    let (previous, current) = (key("previous"), key("current"));
    let keys = keyset(&[
        seal::ed25519_jwk(&previous.verifying_key(), Validity { nbf: Some(Y2025), exp: Some(Y2026) }, false),
        seal::ed25519_jwk(&current.verifying_key(), Validity { nbf: Some(Y2026), exp: None }, false),
    ]);
    let check = |signer: &Ed25519Signer, at: u64| {
        let m = manifest("s-1", 1, content, &["website"], at, signer);
        seal::verify(seal::sign(&m, signer).unwrap().as_str(), &keys, &opts(content))
    };
    // Rotation: both keys in the set; the old seal still verifies.
    assert!(check(&previous, Y2026 - 1).is_ok());
    assert!(check(&current, Y2026).is_ok());
    // Expired: the old key after its exp (exp is exclusive).
    let err = check(&previous, Y2026).unwrap_err();
    assert!(matches!(err, Error::KeyExpired { exp: Y2026, .. }), "{err}");
    assert!(err.to_string().contains("expired at 2026-01-01T00:00:00Z"), "{err}");
    // Not yet valid: the new key before its nbf.
    assert!(matches!(check(&current, Y2026 - 1), Err(Error::KeyNotYetValid { .. })));
    assert!(matches!(check(&previous, Y2025 - 1), Err(Error::KeyNotYetValid { .. })));
}

#[test]
fn revoked_keys() {
    let f = fixture();
    let content = b"content";
    let revoked = key("revoked");
    let m = manifest("s-1", 1, content, &["website"], MAY_DAY, &revoked);
    let jws = seal::sign(&m, &revoked).unwrap();
    // Marked in the key set.
    let err = seal::verify(jws.as_str(), &f.keys, &opts(content)).unwrap_err();
    assert_eq!(err, Error::KeyRevoked(revoked.kid().clone()));
    // Revoked by the caller.
    let kid = KeyId::thumbprint(&key("current").verifying_key());
    let o = VerifyOptions { revoked_keys: std::slice::from_ref(&kid), ..opts(&f.content) };
    assert_eq!(seal::verify(&f.jws, &f.keys, &o).unwrap_err(), Error::KeyRevoked(kid));
}

#[test]
fn seal_status_not_before_and_dev_keys() {
    let f = fixture();
    for (status, ok) in [
        (SealStatus::Valid, true),
        (SealStatus::Withdrawn, false),
        (SealStatus::Suspended, false),
        (SealStatus::Superseded, false),
        (SealStatus::Revoked, false),
    ] {
        let o = VerifyOptions { seal_status: Some(status), ..opts(&f.content) };
        assert_eq!(seal::verify(&f.jws, &f.keys, &o).is_ok(), ok, "{status}");
    }
    let o = VerifyOptions { now: Some(MAY_DAY - 1), ..opts(&f.content) };
    assert!(matches!(seal::verify(&f.jws, &f.keys, &o), Err(Error::NotYetPublishable { .. })));

    let dev = key("dev");
    let m = manifest("dev-1", 1, &f.content, &["website"], MAY_DAY, &dev);
    assert!(m.dev_key);
    let jws = seal::sign(&m, &dev).unwrap();
    let report = seal::verify_report(jws.as_str(), &f.keys, &opts(&f.content));
    assert!(report.is_valid());
    assert!(report.checks.iter().any(|c| c.name == "dev-key" && c.detail.contains("DEVELOPMENT")));
    let o = VerifyOptions { refuse_dev_keys: true, ..opts(&f.content) };
    assert!(matches!(seal::verify(jws.as_str(), &f.keys, &o).unwrap_err(), Error::DevKey(_)));
    // A dev signer cannot produce a manifest that hides it.
    let mut hidden = m.clone();
    hidden.dev_key = false;
    assert!(matches!(seal::sign(&hidden, &dev), Err(Error::Sign(_))));
}

#[test]
fn several_failures_after_the_signature_are_all_reported() {
    let f = fixture();
    let o = VerifyOptions { channel: Some("weibo"), content: Content::Bytes(b"other"), ..opts(&f.content) };
    let report = seal::verify_report(&f.jws, &f.keys, &o);
    let failed: Vec<&str> =
        report.checks.iter().filter(|c| c.outcome == seal::verify::Outcome::Failed).map(|c| c.name).collect();
    assert_eq!(failed, ["content", "channel"]);
    assert!(matches!(report.verdict, Err(Error::DigestMismatch { .. })));
}

#[test]
fn key_files_pem_strings_and_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seal.pem");
    let signer = Ed25519Signer::generate();
    signer.write_key_file(&path).unwrap();
    // Never overwrites.
    assert!(signer.write_key_file(&path).is_err());
    let pem = std::fs::read_to_string(&path).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI"), "PKCS#8 v1: {pem}");
    assert_eq!(Ed25519Signer::from_key_file(&path).unwrap().kid(), signer.kid());
    assert_eq!(Ed25519Signer::from_pkcs8_pem(&pem).unwrap().kid(), signer.kid());
    assert!(matches!(Ed25519Signer::from_pkcs8_pem("not a key"), Err(Error::PrivateKey(_))));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        for mode in [0o644, 0o640, 0o604, 0o660] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = Ed25519Signer::from_key_file(&path).unwrap_err();
            assert_eq!(err, Error::KeyFilePermissions { path: path.display().to_string(), mode });
            assert!(err.to_string().contains("chmod 600"), "{err}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(Ed25519Signer::from_key_file(&path).is_ok());
    }
}

#[test]
fn cli_keygen_and_jwks() {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("k.pem");
    let out = Command::new(env!("CARGO_BIN_EXE_seal")).args(["keygen", "--out"]).arg(&key_path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let kid = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let out =
        Command::new(env!("CARGO_BIN_EXE_seal")).args(["jwks", "--nbf", "1767225600"]).arg(&key_path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let keys = KeySet::from_jwks_json(&out.stdout).unwrap();
    assert_eq!(keys.get(&kid).unwrap().validity(), Validity { nbf: Some(1_767_225_600), exp: None });

    // Usage errors exit 2.
    let out = Command::new(env!("CARGO_BIN_EXE_seal")).args(["verify", "--bogus"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn header_rules() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let f = fixture();
    let (_, rest) = f.jws.split_once('.').unwrap();
    let kid = KeyId::thumbprint(&key("current").verifying_key());
    for (header, expect) in [
        (format!(r#"{{"alg":"HS256","kid":"{kid}","typ":"gov-seal+jws"}}"#), "alg \"HS256\" is not allowed"),
        (format!(r#"{{"alg":"EdDSA","kid":"{kid}","typ":"JWT"}}"#), "typ \"JWT\""),
        (format!(r#"{{"alg":"EdDSA","kid":"{kid}","typ":"gov-seal+jws","jwk":{{}}}}"#), "unknown field `jwk`"),
        (format!(r#"{{"alg":"EdDSA","kid":"{kid}","typ":"gov-seal+jws","crit":["b64"]}}"#), "unknown field `crit`"),
        (format!(r#"{{"alg":"EdDSA","alg":"EdDSA","kid":"{kid}","typ":"gov-seal+jws"}}"#), "duplicate field `alg`"),
        (format!(r#"{{"alg":"EdDSA","kid":"{kid}"}}"#), "missing field `typ`"),
    ] {
        let jws = format!("{}.{rest}", b64.encode(header.as_bytes()));
        let err = seal::verify(&jws, &f.keys, &opts(&f.content)).unwrap_err();
        assert!(matches!(err, Error::Header(_)) && err.to_string().contains(expect), "{header}: {err}");
    }
    // The fully specified algorithm name is accepted as a header value, but it is
    // part of the signed bytes, so a seal made with EdDSA cannot be relabelled.
    let relabelled =
        format!("{}.{rest}", b64.encode(format!(r#"{{"alg":"Ed25519","kid":"{kid}","typ":"gov-seal+jws"}}"#)));
    assert!(matches!(seal::verify(&relabelled, &f.keys, &opts(&f.content)), Err(Error::BadSignature(_))));
}
