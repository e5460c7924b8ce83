//! Signed tree heads: C2SP `signed-note` (Ed25519 signature type 0x01) and
//! C2SP `tlog-checkpoint` bodies, with a log key of its own (never the seal
//! key).
//!
//! A note is `text` (UTF-8, ending in a newline), a blank line, then
//! signature lines `— <name> base64(key id[4] || signature[64])`. The key id
//! is the first 4 bytes of `SHA-256(name || 0x0A || 0x01 || public key)`,
//! big-endian. Verifier keys are written `name+hex(key id)+base64(0x01 ||
//! public key)`, signer keys `PRIVATE+KEY+name+hex(key id)+base64(0x01 ||
//! seed)`, as in golang.org/x/mod/sumdb/note.
//!
//! It does not implement witness cosignatures or other signature types;
//! unknown signature lines are ignored, as the spec requires.

use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest as _, Sha256};

use crate::tlog::Hash;
use crate::{Error, b64};

const SIG_ED25519: u8 = 0x01;
const EM_DASH_SPACE: &str = "\u{2014} ";
const MAX_SIGNATURES: usize = 100;

/// The note key id: the first 4 bytes of `SHA-256(name || "\n" || 0x01 || public key)`.
///
/// ```
/// // The golang.org/x/mod/sumdb/note example key "PeterNeumann+c74f20a3+…".
/// let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
/// let v = seal::note::NoteVerifier::from_vkey(vkey).unwrap();
/// assert_eq!(v.key_id(), 0xc74f20a3);
/// assert_eq!(v.vkey(), vkey);
/// ```
pub fn key_id(name: &str, public: &VerifyingKey) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([SIG_ED25519]);
    h.update(public.as_bytes());
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

fn check_name(name: &str) -> Result<(), Error> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(Error::Note(format!("key name {name:?} is empty or contains '+' or a space")));
    }
    Ok(())
}

/// A log's public key, for checking its checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// The verifier for an Ed25519 key under `name` (the log's origin, by convention).
    pub fn new(name: &str, key: VerifyingKey) -> Result<NoteVerifier, Error> {
        check_name(name)?;
        Ok(NoteVerifier { name: name.to_owned(), key_id: key_id(name, &key), key })
    }

    /// Parses `name+hex8+base64(0x01 || key)`, checking the key id.
    pub fn from_vkey(vkey: &str) -> Result<NoteVerifier, Error> {
        let bad = |m: &str| Error::Note(format!("verifier key {vkey:?}: {m}"));
        // The key's base64 may itself contain '+'.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected name+keyid+key"));
        };
        let id = u32::from_str_radix(id, 16).ok().filter(|_| id.len() == 8).ok_or_else(|| bad("bad key id"))?;
        let key = b64::decode_std(key).map_err(|e| bad(&e))?;
        let [SIG_ED25519, rest @ ..] = key.as_slice() else {
            return Err(bad("not an Ed25519 (type 0x01) key"));
        };
        let pk: [u8; 32] = rest.try_into().map_err(|_| bad("key is not 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&pk).map_err(|_| bad("not a curve point"))?;
        let v = NoteVerifier::new(name, key)?;
        if v.key_id != id {
            return Err(bad("key id does not match the name and key"));
        }
        Ok(v)
    }

    /// `name+hex8+base64(0x01 || key)`.
    pub fn vkey(&self) -> String {
        let mut k = vec![SIG_ED25519];
        k.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_id, b64::encode_std(&k))
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 4-byte key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }
}

/// Checks a signed note and returns its text (ending in a newline). At least
/// one signature must be by `verifier` and verify; a signature line naming
/// `verifier`'s name and key id that does not verify is an error; other
/// signatures are ignored.
///
/// ```
/// // The C2SP signed-note example.
/// let v = seal::note::NoteVerifier::from_vkey("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k").unwrap();
/// let note = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
/// assert_eq!(seal::note::open(note, &v).unwrap(), "This is an example message.\n");
/// ```
pub fn open<'n>(note: &'n str, verifier: &NoteVerifier) -> Result<&'n str, Error> {
    let bad = |m: &str| Err(Error::Note(m.to_owned()));
    if !note.ends_with('\n') {
        return bad("a note ends with a newline");
    }
    let Some(split) = note.rfind("\n\n") else {
        return bad("no blank line between text and signatures");
    };
    let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
    if text.chars().any(|c| c != '\n' && c.is_control()) {
        return bad("the text contains control characters");
    }
    let mut verified = false;
    for (n, line) in sigs.lines().enumerate() {
        if n >= MAX_SIGNATURES {
            return bad("too many signatures");
        }
        let Some(rest) = line.strip_prefix(EM_DASH_SPACE) else {
            return bad("a signature line does not start with an em dash and a space");
        };
        let Some((name, sig)) = rest.split_once(' ') else {
            return bad("a signature line has no name and signature");
        };
        let sig = b64::decode_std(sig).map_err(|e| Error::Note(format!("signature by {name} {e}")))?;
        if sig.len() < 5 {
            return bad("a signature is shorter than its key id");
        }
        let id = u32::from_be_bytes([sig[0], sig[1], sig[2], sig[3]]);
        if name != verifier.name || id != verifier.key_id {
            continue;
        }
        let ok = <[u8; 64]>::try_from(&sig[4..])
            .map(|s| Signature::from_bytes(&s))
            .is_ok_and(|s| verifier.key.verify_strict(text.as_bytes(), &s).is_ok());
        if !ok {
            return Err(Error::Note(format!("the signature by {name} ({id:08x}) does not verify")));
        }
        verified = true;
    }
    if !verified {
        return Err(Error::Note(format!("no signature by {} ({:08x})", verifier.name, verifier.key_id)));
    }
    Ok(text)
}

/// A C2SP checkpoint: the signed head of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line (its identity, e.g. `seal.example.gov.cn/log`).
    pub origin: String,
    /// The tree size.
    pub size: u64,
    /// The tree head at that size.
    pub root: Hash,
    /// Extension lines after the root (C2SP tlog-checkpoint), signed with
    /// the rest; each non-empty, without a newline. The gateway writes one,
    /// `gov-disclosure/audit-head <events> <sha256:hex>` (docs/seal.md §9).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text: `origin\nsize\nbase64(root)\n`, then each extension
    /// line and a newline.
    pub fn body(&self) -> String {
        let mut body = format!("{}\n{}\n{}\n", self.origin, self.size, b64::encode_std(&self.root));
        for line in &self.extensions {
            body.push_str(line);
            body.push('\n');
        }
        body
    }

    /// Parses a checkpoint body; extension lines are kept, not interpreted.
    pub fn parse_body(text: &str) -> Result<Checkpoint, Error> {
        let bad = |m: &str| Error::Note(format!("checkpoint body: {m}"));
        let mut lines = text.strip_suffix('\n').ok_or_else(|| bad("no final newline"))?.split('\n');
        let origin = lines.next().filter(|o| !o.is_empty()).ok_or_else(|| bad("no origin"))?;
        let size = lines.next().ok_or_else(|| bad("no size"))?;
        if size.is_empty() || !size.bytes().all(|b| b.is_ascii_digit()) || (size.len() > 1 && size.starts_with('0')) {
            return Err(bad("size is not a decimal without leading zeros"));
        }
        let size = size.parse().map_err(|_| bad("size is too large"))?;
        let root = lines.next().ok_or_else(|| bad("no root hash"))?;
        let root: Hash = b64::decode_std(root)
            .map_err(|e| bad(&format!("root {e}")))?
            .try_into()
            .map_err(|_| bad("root is not 32 bytes"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(bad("empty extension line"));
        }
        Ok(Checkpoint { origin: origin.to_owned(), size, root, extensions })
    }

    /// Checks a signed checkpoint with the log's key, and that the key's name
    /// is the checkpoint's origin.
    pub fn open(note: &str, verifier: &NoteVerifier) -> Result<Checkpoint, Error> {
        let cp = Checkpoint::parse_body(open(note, verifier)?)?;
        if cp.origin != verifier.name {
            return Err(Error::Note(format!("origin {:?} is not the log key's name {:?}", cp.origin, verifier.name)));
        }
        Ok(cp)
    }
}

#[cfg(feature = "sign")]
pub use signing::NoteSigner;

#[cfg(feature = "sign")]
mod signing {
    use ed25519_dalek::{Signer as _, SigningKey};

    use super::*;

    /// A log's signing key.
    pub struct NoteSigner {
        verifier: NoteVerifier,
        key: SigningKey,
    }

    impl std::fmt::Debug for NoteSigner {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("NoteSigner").field("verifier", &self.verifier).finish_non_exhaustive()
        }
    }

    impl NoteSigner {
        /// A signer for `name` with this Ed25519 seed.
        pub fn new(name: &str, seed: &[u8; 32]) -> Result<NoteSigner, Error> {
            let key = SigningKey::from_bytes(seed);
            Ok(NoteSigner { verifier: NoteVerifier::new(name, key.verifying_key())?, key })
        }

        /// A fresh key from the operating system's random generator.
        pub fn generate(name: &str) -> Result<NoteSigner, Error> {
            let key = SigningKey::generate(&mut rand::rngs::OsRng);
            Ok(NoteSigner { verifier: NoteVerifier::new(name, key.verifying_key())?, key })
        }

        /// Parses `PRIVATE+KEY+name+hex8+base64(0x01 || seed)`.
        pub fn from_skey(skey: &str) -> Result<NoteSigner, Error> {
            let bad = |m: &str| Error::Note(format!("signer key: {m}"));
            let rest = skey.strip_prefix("PRIVATE+KEY+").ok_or_else(|| bad("no PRIVATE+KEY+ prefix"))?;
            let mut parts = rest.splitn(3, '+');
            let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(bad("expected PRIVATE+KEY+name+keyid+key"));
            };
            let key = b64::decode_std(key).map_err(|e| bad(&e))?;
            let [SIG_ED25519, seed @ ..] = key.as_slice() else {
                return Err(bad("not an Ed25519 (type 0x01) key"));
            };
            let seed: [u8; 32] = seed.try_into().map_err(|_| bad("seed is not 32 bytes"))?;
            let s = NoteSigner::new(name, &seed)?;
            if format!("{:08x}", s.verifier.key_id) != id {
                return Err(bad("key id does not match the name and key"));
            }
            Ok(s)
        }

        /// `PRIVATE+KEY+name+hex8+base64(0x01 || seed)`. A secret: store it like a key file.
        pub fn skey(&self) -> String {
            let mut k = vec![SIG_ED25519];
            k.extend_from_slice(self.key.as_bytes());
            format!("PRIVATE+KEY+{}+{:08x}+{}", self.verifier.name, self.verifier.key_id, b64::encode_std(&k))
        }

        /// The matching verifier.
        pub fn verifier(&self) -> &NoteVerifier {
            &self.verifier
        }

        /// Signs `text` (which must end in a newline and hold no blank line at
        /// its end) and returns the whole note.
        pub fn sign(&self, text: &str) -> Result<String, Error> {
            if !text.ends_with('\n') || text.ends_with("\n\n") || text.chars().any(|c| c != '\n' && c.is_control()) {
                return Err(Error::Note("note text must end in one newline and hold no control characters".into()));
            }
            let mut sig = self.verifier.key_id.to_be_bytes().to_vec();
            sig.extend_from_slice(&self.key.sign(text.as_bytes()).to_bytes());
            Ok(format!("{text}\n{EM_DASH_SPACE}{} {}\n", self.verifier.name, b64::encode_std(&sig)))
        }

        /// Signs a checkpoint; its origin must be this key's name.
        pub fn sign_checkpoint(&self, cp: &Checkpoint) -> Result<String, Error> {
            if cp.origin != self.verifier.name {
                return Err(Error::Note(format!("origin {:?} is not the log key's name", cp.origin)));
            }
            if cp.extensions.iter().any(|l| l.is_empty() || l.contains('\n')) {
                return Err(Error::Note("an extension line is empty or holds a newline".into()));
            }
            self.sign(&cp.body())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_TEXT: &str =
        "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const GO_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    /// golang.org/x/mod/sumdb/note `note_test.go` (TestSign / TestOpen).
    #[test]
    fn go_reference_note() {
        let v = NoteVerifier::from_vkey(GO_VKEY).unwrap();
        let note = format!("{GO_TEXT}\n{GO_SIG}");
        assert_eq!(open(&note, &v).unwrap(), GO_TEXT);
        let tampered = note.replacen("cryptography", "Cryptography", 1);
        assert!(open(&tampered, &v).unwrap_err().to_string().contains("does not verify"));
        // Unknown signatures are ignored next to a good one.
        let extra = format!("{note}\u{2014} other.example/key AAAAAAB0ZXN0\n");
        assert_eq!(open(&extra, &v).unwrap(), GO_TEXT);
        // Only unknown signatures: refused.
        let only_other = format!("{GO_TEXT}\n\u{2014} other.example/key AAAAAAB0ZXN0\n");
        assert!(open(&only_other, &v).unwrap_err().to_string().contains("no signature by PeterNeumann"));
    }

    #[cfg(feature = "sign")]
    #[test]
    fn go_reference_signer() {
        let s = NoteSigner::from_skey("PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
            .unwrap();
        assert_eq!(s.verifier().vkey(), GO_VKEY);
        assert_eq!(s.sign(GO_TEXT).unwrap(), format!("{GO_TEXT}\n{GO_SIG}"));
        assert_eq!(NoteSigner::from_skey(&s.skey()).unwrap().verifier(), s.verifier());
    }

    #[cfg(feature = "sign")]
    #[test]
    fn checkpoints_round_trip() {
        let s = NoteSigner::new("seal.example.gov.cn/log", &[9; 32]).unwrap();
        let cp = Checkpoint {
            origin: "seal.example.gov.cn/log".into(),
            size: 5,
            root: crate::tlog::leaf_hash(b"x"),
            extensions: vec!["gov-disclosure/audit-head 7 sha256:00".into()],
        };
        let note = s.sign_checkpoint(&cp).unwrap();
        assert!(note.starts_with("seal.example.gov.cn/log\n5\n"));
        assert_eq!(Checkpoint::open(&note, s.verifier()).unwrap(), cp);
        let other = NoteSigner::new("seal.example.gov.cn/log", &[8; 32]).unwrap();
        assert!(Checkpoint::open(&note, other.verifier()).is_err());
        let bigger = note.replacen("\n5\n", "\n6\n", 1);
        assert!(Checkpoint::open(&bigger, s.verifier()).is_err());
        // The extension lines are signed too.
        let rewritten = note.replacen("audit-head 7 ", "audit-head 8 ", 1);
        assert!(Checkpoint::open(&rewritten, s.verifier()).is_err());
        let two_lines = Checkpoint { extensions: vec!["a\nb".into()], ..cp };
        assert!(s.sign_checkpoint(&two_lines).is_err());
    }

    #[test]
    fn checkpoint_body_rules() {
        assert!(Checkpoint::parse_body("o\n05\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n").is_err());
        assert!(Checkpoint::parse_body("o\n5\nAAAA\n").is_err());
        let ok = Checkpoint::parse_body("o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next\n").unwrap();
        assert_eq!(ok.size, 0);
    }
}
