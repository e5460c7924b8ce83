//! The verifier: what a channel (or anyone) runs on a seal it received.
//!
//! The order is fixed and documented in `docs/seal.md`: split the JWS, check
//! the protected header, find the key in the pinned key set, verify the
//! Ed25519 signature strictly over the exact received bytes, and only then
//! parse the manifest and check the key binding, the key's validity at
//! `sealed_at`, revocation, the caller's seal status, the content digest,
//! the channel, `not_before` and the development-key marker. Each check is
//! recorded in a [`Report`] with a reason in plain English; the first
//! failure is the typed [`Error`].
//!
//! It does no IO, never re-canonicalises the manifest, and never takes a key
//! from the seal itself (`jwk`, `jku`, `x5u` are refused header members).

use std::fmt;

use ed25519_dalek::Signature;

use crate::jws::{self, Header};
use crate::keys::{ED25519_ALGS, KeyMaterial, KeySet};
use crate::{ContentDigest, Error, KeyId, Manifest, Sha256};

/// What the verifier is given about the content.
#[derive(Debug, Clone, Copy, Default)]
pub enum Content<'a> {
    /// No content: the `content` check is reported as not checked.
    #[default]
    NotChecked,
    /// The canonical content bytes (`gov-disclosure/content@1`), hashed as given.
    Bytes(&'a [u8]),
    /// A digest the caller computed itself.
    Digest(ContentDigest),
}

/// The status of a seal serial, as the caller learned it from the gateway's
/// status list (values as in the IETF Token Status List draft).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealStatus {
    /// `0x00`: valid.
    Valid,
    /// `0x01`: withdrawn (撤回).
    Withdrawn,
    /// `0x02`: suspended (暂停).
    Suspended,
    /// `0x03`: superseded by a correction (更正).
    Superseded,
    /// The gateway's `/status` says `revoked`: the key that made the seal
    /// is revoked (Token Status List value `0x01`, invalid).
    Revoked,
}

impl SealStatus {
    /// Parses a status as `/api/v1/seals/{serial}/status` writes it.
    ///
    /// ```
    /// assert_eq!(seal::SealStatus::parse("revoked"), Some(seal::SealStatus::Revoked));
    /// assert_eq!(seal::SealStatus::parse("gone"), None);
    /// ```
    pub fn parse(s: &str) -> Option<SealStatus> {
        [SealStatus::Valid, SealStatus::Withdrawn, SealStatus::Suspended, SealStatus::Superseded, SealStatus::Revoked]
            .into_iter()
            .find(|v| v.to_string() == s)
    }
}

impl fmt::Display for SealStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SealStatus::Valid => "valid",
            SealStatus::Withdrawn => "withdrawn",
            SealStatus::Suspended => "suspended",
            SealStatus::Superseded => "superseded",
            SealStatus::Revoked => "revoked",
        })
    }
}

/// What the caller asks the verifier to check beyond the signature.
///
/// ```
/// let opts = seal::VerifyOptions { channel: Some("website"), ..Default::default() };
/// assert!(!opts.refuse_dev_keys);
/// ```
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions<'a> {
    /// The content to check the digest against.
    pub content: Content<'a>,
    /// The verifying channel's id; when set, it must be among the seal's channels.
    pub channel: Option<&'a str>,
    /// The time of verification (seconds since the Unix epoch); when set, it
    /// must not be before `not_before`.
    pub now: Option<u64>,
    /// Key ids the caller treats as revoked, in addition to the key set's marks.
    pub revoked_keys: &'a [KeyId],
    /// The status of this seal's serial, if the caller knows it.
    pub seal_status: Option<SealStatus>,
    /// Refuse seals made with a development key (otherwise only reported).
    /// A key is a development key when the key set marks it
    /// (`"dev_key": true`) or the seal says so.
    pub refuse_dev_keys: bool,
}

/// The result of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The check ran and passed.
    Passed,
    /// The check ran and failed.
    Failed,
    /// The check did not run (nothing to check it against, or an earlier failure).
    NotChecked,
}

/// One check the verifier made, in the order made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Its stable name: `structure`, `header`, `key`, `signature`, `manifest`,
    /// `key-binding`, `key-validity`, `key-revocation`, `seal-status`,
    /// `content`, `channel`, `not-before`, `dev-key`.
    pub name: &'static str,
    /// Passed, failed or not checked.
    pub outcome: Outcome,
    /// Why, in plain English.
    pub detail: String,
}

/// A seal that passed every check asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The protected header.
    pub header: Header,
    /// The parsed manifest.
    pub manifest: Manifest,
    /// The exact payload bytes that were signed.
    pub payload: Vec<u8>,
    /// SHA-256 of the payload bytes: the seal's stable id.
    pub seal_id: Sha256,
    /// Whether it was made with a development key: the key set marks its key
    /// so, or the manifest says so.
    pub dev_key: bool,
}

/// Every check made, and the verdict.
#[derive(Debug, Clone)]
pub struct Report {
    /// The checks, in order.
    pub checks: Vec<Check>,
    /// The verified seal, or the first failure.
    pub verdict: Result<Verified, Error>,
}

impl Report {
    /// Whether every check made passed.
    pub fn is_valid(&self) -> bool {
        self.verdict.is_ok()
    }

    /// The name of the first failed check.
    pub fn failed_check(&self) -> Option<&'static str> {
        self.checks.iter().find(|c| c.outcome == Outcome::Failed).map(|c| c.name)
    }
}

impl fmt::Display for Report {
    /// One line per check (`PASS`, `FAIL` or `----`), then the verdict.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.checks {
            let mark = match c.outcome {
                Outcome::Passed => "PASS",
                Outcome::Failed => "FAIL",
                Outcome::NotChecked => "----",
            };
            writeln!(f, "{mark} {:<15} {}", c.name, c.detail)?;
        }
        match &self.verdict {
            Ok(v) => write!(f, "VALID seal {} (seal id sha256:{})", v.manifest.serial, v.seal_id),
            Err(e) => write!(f, "INVALID {}: {e}", self.failed_check().unwrap_or("-")),
        }
    }
}

/// Verifies a seal and returns the verified manifest or the first failure.
///
/// ```
/// let keys = seal::KeySet::from_jwks_json(br#"{"keys":[]}"#).unwrap();
/// let err = seal::verify("not a seal", &keys, &Default::default()).unwrap_err();
/// assert_eq!(err.to_string(), "not a JWS compact seal: expected three segments separated by '.'");
/// ```
pub fn verify(seal: &str, keys: &KeySet, opts: &VerifyOptions<'_>) -> Result<Verified, Error> {
    verify_report(seal, keys, opts).verdict
}

/// Verifies a seal and explains every check made.
pub fn verify_report(seal: &str, keys: &KeySet, opts: &VerifyOptions<'_>) -> Report {
    let mut r = Recorder { checks: Vec::with_capacity(13), first: None };
    let verified = run(seal, keys, opts, &mut r);
    let verdict = match (verified, r.first) {
        (Some(v), None) => Ok(v),
        (_, Some(e)) => Err(e),
        (None, None) => unreachable!("a check stopped verification without failing"),
    };
    Report { checks: r.checks, verdict }
}

struct Recorder {
    checks: Vec<Check>,
    first: Option<Error>,
}

impl Recorder {
    fn pass(&mut self, name: &'static str, detail: impl Into<String>) {
        self.checks.push(Check { name, outcome: Outcome::Passed, detail: detail.into() });
    }
    fn skip(&mut self, name: &'static str, detail: impl Into<String>) {
        self.checks.push(Check { name, outcome: Outcome::NotChecked, detail: detail.into() });
    }
    fn fail(&mut self, name: &'static str, err: Error) {
        self.checks.push(Check { name, outcome: Outcome::Failed, detail: err.to_string() });
        self.first.get_or_insert(err);
    }
    /// Records `result` under `name`; `None` on failure.
    fn check<T>(&mut self, name: &'static str, result: Result<(T, String), Error>) -> Option<T> {
        match result {
            Ok((v, detail)) => {
                self.pass(name, detail);
                Some(v)
            }
            Err(e) => {
                self.fail(name, e);
                None
            }
        }
    }
}

/// The names of the checks, in the order they are made.
pub const CHECK_NAMES: [&str; 13] = [
    "structure",
    "header",
    "key",
    "signature",
    "manifest",
    "key-binding",
    "key-validity",
    "key-revocation",
    "seal-status",
    "content",
    "channel",
    "not-before",
    "dev-key",
];

/// Reports the checks from `CHECK_NAMES[from..]` as not made.
fn stop(r: &mut Recorder, from: usize) -> Option<Verified> {
    for name in &CHECK_NAMES[from..] {
        r.skip(name, "not checked: an earlier check failed");
    }
    None
}

fn run(seal: &str, keys: &KeySet, opts: &VerifyOptions<'_>, r: &mut Recorder) -> Option<Verified> {
    let Some(parts) = r.check(
        "structure",
        jws::split(seal).map(|p| {
            let d = format!("JWS compact, {} bytes, payload {} bytes", seal.len(), p.payload.len());
            (p, d)
        }),
    ) else {
        return stop(r, 1);
    };

    let Some(header) = r.check("header", check_header(&parts.header_bytes)) else {
        return stop(r, 2);
    };

    let Some((kid, vk)) = r.check("key", find_key(keys, &header)) else {
        return stop(r, 3);
    };

    let sig_ok = <[u8; 64]>::try_from(parts.signature.as_slice())
        .ok()
        .map(|b| Signature::from_bytes(&b))
        .is_some_and(|sig| vk.verify_strict(parts.signing_input, &sig).is_ok());
    if sig_ok {
        r.pass("signature", format!("Ed25519 signature verifies (strict) with key {kid} over the received bytes"));
    } else {
        r.fail("signature", Error::BadSignature(kid.clone()));
        return stop(r, 4);
    }

    let Some(manifest) = r.check(
        "manifest",
        Manifest::from_payload(&parts.payload).map(|m| {
            let d = format!("{} serial {} for item {} version {}", m.format, m.serial, m.item.id, m.item.version);
            (m, d)
        }),
    ) else {
        return stop(r, 5);
    };

    // From here on every check runs, so the report explains them all.
    if manifest.key.kid == header.kid && manifest.key.alg == header.alg {
        r.pass("key-binding", "the manifest names the same key and algorithm as the header");
    } else {
        r.fail(
            "key-binding",
            Error::KeyMismatch {
                header: format!("{}/{}", header.kid, header.alg),
                manifest: format!("{}/{}", manifest.key.kid, manifest.key.alg),
            },
        );
    }

    let entry = keys.get(kid.as_str()).expect("found above");
    let v = entry.validity();
    let at = manifest.sealed_at;
    match (v.nbf, v.exp) {
        (Some(nbf), _) if at < nbf => {
            r.fail("key-validity", Error::KeyNotYetValid { kid: kid.clone(), sealed_at: at, nbf })
        }
        (_, Some(exp)) if at >= exp => {
            r.fail("key-validity", Error::KeyExpired { kid: kid.clone(), sealed_at: at, exp })
        }
        _ => r.pass(
            "key-validity",
            format!(
                "sealed at {} within the key's validity ({} to {})",
                crate::time::rfc3339(at),
                v.nbf.map_or("-".into(), crate::time::rfc3339),
                v.exp.map_or("open".into(), crate::time::rfc3339)
            ),
        ),
    }

    // Revoked in the key set, or by the caller: either way every seal of the
    // key is refused, whatever its `sealed_at` says (a compromised key can
    // backdate).
    if entry.revoked() || opts.revoked_keys.contains(&kid) {
        r.fail("key-revocation", Error::KeyRevoked(kid.clone()));
    } else {
        r.pass("key-revocation", "the key is not revoked");
    }

    match opts.seal_status {
        None => r.skip("seal-status", "not checked: no status supplied for this serial"),
        Some(SealStatus::Valid) => r.pass("seal-status", format!("serial {} has status valid", manifest.serial)),
        Some(s) => r.fail("seal-status", Error::SealStatus { serial: manifest.serial.clone(), status: s.to_string() }),
    }

    let sealed: ContentDigest = manifest.content.sha256.into();
    let actual = match opts.content {
        Content::NotChecked => None,
        Content::Bytes(b) => Some(ContentDigest::of(b)),
        Content::Digest(d) => Some(d),
    };
    match actual {
        None => r.skip("content", format!("not checked: no content supplied (seal covers {sealed})")),
        Some(actual) if actual == sealed => {
            let sm3 =
                if manifest.content.sm3.is_some() { "; the sm3 digest is not checked by this verifier" } else { "" };
            r.pass("content", format!("content hashes to {sealed}, the digest sealed{sm3}"))
        }
        Some(actual) => r.fail("content", Error::DigestMismatch { sealed, actual }),
    }

    match opts.channel {
        None => r.skip(
            "channel",
            format!("not checked: no channel stated (seal authorises {})", manifest.channels.join(", ")),
        ),
        Some(c) if manifest.channels.iter().any(|m| m == c) => {
            r.pass("channel", format!("channel {c} is among {}", manifest.channels.join(", ")))
        }
        Some(c) => r.fail("channel", Error::WrongChannel { channel: c.to_owned(), allowed: manifest.channels.clone() }),
    }

    match opts.now {
        None => r.skip(
            "not-before",
            format!("not checked: no time stated (not before {})", crate::time::rfc3339(manifest.not_before)),
        ),
        Some(now) if now >= manifest.not_before => {
            r.pass("not-before", format!("publishable since {}", crate::time::rfc3339(manifest.not_before)))
        }
        Some(now) => r.fail("not-before", Error::NotYetPublishable { not_before: manifest.not_before, now }),
    }

    // The key set, not the seal, says what a development key is: a seal of
    // a key marked `"dev_key": true` is a development seal even if its own
    // manifest says `false`.
    let dev_key = entry.dev_key() || manifest.dev_key;
    let whose = match (entry.dev_key(), manifest.dev_key) {
        (true, false) => format!("the key set marks key {kid} as a development key (the seal says dev_key false)"),
        (true, true) => format!("the key set marks key {kid} as a development key"),
        _ => "the seal says dev_key true".to_owned(),
    };
    match (dev_key, opts.refuse_dev_keys) {
        (false, _) => r.pass("dev-key", "made with a production key"),
        (true, false) => r.pass("dev-key", format!("made with a DEVELOPMENT key (reported, not refused): {whose}")),
        (true, true) => r.fail("dev-key", Error::DevKey(whose)),
    }

    if r.first.is_some() {
        return None;
    }
    Some(Verified { header, manifest, seal_id: Sha256::of(&parts.payload), payload: parts.payload, dev_key })
}

fn check_header(bytes: &[u8]) -> Result<(Header, String), Error> {
    let h: Header = serde_json::from_slice(bytes).map_err(|e| Error::Header(e.to_string()))?;
    if !ED25519_ALGS.contains(&h.alg.as_str()) {
        return Err(Error::Header(format!("alg {:?} is not allowed (EdDSA or Ed25519)", h.alg)));
    }
    if h.typ != jws::TYP {
        return Err(Error::Header(format!("typ {:?} is not {:?}", h.typ, jws::TYP)));
    }
    let d = format!("alg {}, typ {}, kid {}", h.alg, h.typ, h.kid);
    Ok((h, d))
}

fn find_key<'k>(keys: &'k KeySet, h: &Header) -> Result<((KeyId, &'k ed25519_dalek::VerifyingKey), String), Error> {
    let entry = keys.get(&h.kid).ok_or_else(|| Error::UnknownKey(h.kid.chars().take(80).collect()))?;
    let kid = entry.kid().clone();
    match entry.material() {
        KeyMaterial::Unsupported(reason) => Err(Error::UnusableKey { kid, reason: reason.clone() }),
        // The key set admits only `EdDSA`/`Ed25519` as an Ed25519 key's `alg`,
        // and the header check admits only those two: they always agree.
        KeyMaterial::Ed25519(vk) => {
            let d = format!("key {kid} (Ed25519) is in the key set");
            Ok(((kid, vk), d))
        }
    }
}
