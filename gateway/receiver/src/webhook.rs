//! Standard Webhooks with asymmetric signatures (`v1a`, Ed25519): the
//! transport key in its `whpk_` form, signing a delivery (for tests and the
//! gateway side) and verifying one over the exact received bytes.
//!
//! It knows nothing of events or seals: the transport signature says the
//! gateway sent these bytes, the seal (checked later) says what may be
//! published. Symmetric `v1,` (HMAC) signatures are ignored, never accepted.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::Error;

/// The prefix of a Standard Webhooks Ed25519 public key.
pub const PUBLIC_KEY_PREFIX: &str = "whpk_";

/// One transport public key of the gateway, pinned by the receiver.
///
/// ```
/// let vk = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
/// let text = receiver::public_key_string(&vk);
/// assert!(text.starts_with("whpk_"));
/// assert_eq!(receiver::TransportKey::parse(&text).unwrap().verifying_key(), &vk);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportKey(VerifyingKey);

impl TransportKey {
    /// Parses `whpk_<base64 of the 32-byte key>`; refuses weak keys.
    pub fn parse(s: &str) -> Result<TransportKey, Error> {
        let bad = |why: &str| Error::TransportKey(format!("{why}: {:?}", s.chars().take(80).collect::<String>()));
        let b64 = s.trim().strip_prefix(PUBLIC_KEY_PREFIX).ok_or_else(|| bad("does not start with whpk_"))?;
        let bytes = STANDARD.decode(b64).map_err(|_| bad("not base64"))?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| bad("not a 32-byte Ed25519 public key"))?;
        let vk = VerifyingKey::from_bytes(&bytes).map_err(|_| bad("not an Ed25519 public key"))?;
        if vk.is_weak() {
            return Err(bad("a weak (small-order) Ed25519 key"));
        }
        Ok(TransportKey(vk))
    }

    /// Wraps a public key.
    pub fn from_verifying_key(vk: VerifyingKey) -> TransportKey {
        TransportKey(vk)
    }

    /// The public key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }
}

impl std::fmt::Display for TransportKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&public_key_string(&self.0))
    }
}

/// The Standard Webhooks form of an Ed25519 public key: `whpk_` + base64.
///
/// ```
/// let vk = ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key();
/// assert_eq!(receiver::public_key_string(&vk).len(), 5 + 44);
/// ```
pub fn public_key_string(vk: &VerifyingKey) -> String {
    format!("{PUBLIC_KEY_PREFIX}{}", STANDARD.encode(vk.as_bytes()))
}

/// The `webhook-signature` header value for one delivery attempt:
/// `v1a,<base64 Ed25519 signature over "<id>.<timestamp>.<body>">`.
///
/// ```
/// let sk = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
/// let sig = receiver::sign_webhook(&sk, "evt_1", 1_777_624_200, b"{}");
/// assert!(sig.starts_with("v1a,"));
/// let key = receiver::TransportKey::from_verifying_key(sk.verifying_key());
/// assert!(receiver::verify_webhook(&[key], "evt_1", "1777624200", &sig, b"{}").is_ok());
/// ```
pub fn sign_webhook(secret: &SigningKey, id: &str, timestamp: i64, body: &[u8]) -> String {
    let sig = secret.sign(&signing_input(id, &timestamp.to_string(), body));
    format!("v1a,{}", STANDARD.encode(sig.to_bytes()))
}

fn signing_input(id: &str, timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut input = Vec::with_capacity(id.len() + timestamp.len() + body.len() + 2);
    input.extend_from_slice(id.as_bytes());
    input.push(b'.');
    input.extend_from_slice(timestamp.as_bytes());
    input.push(b'.');
    input.extend_from_slice(body);
    input
}

/// Why a transport signature was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureProblem {
    /// No `v1a,` signature in the header (perhaps only HMAC `v1,` ones).
    NoV1a,
    /// `v1a` signatures were present but none verifies with a pinned key.
    NoneVerifies,
}

/// Verifies `webhook-signature` (space-separated `version,base64` entries)
/// over `<id>.<timestamp>.<body>` with the exact header text and body bytes
/// received: one strictly valid `v1a` signature by a pinned key suffices.
pub fn verify_webhook(
    keys: &[TransportKey],
    id: &str,
    timestamp: &str,
    signature_header: &str,
    body: &[u8],
) -> Result<(), SignatureProblem> {
    let input = signing_input(id, timestamp, body);
    let mut saw_v1a = false;
    for entry in signature_header.split_ascii_whitespace() {
        let Some(b64) = entry.strip_prefix("v1a,") else { continue };
        saw_v1a = true;
        let Ok(bytes) = STANDARD.decode(b64) else { continue };
        let Ok(bytes) = <[u8; 64]>::try_from(bytes.as_slice()) else { continue };
        let sig = Signature::from_bytes(&bytes);
        if keys.iter().any(|k| k.0.verify_strict(&input, &sig).is_ok()) {
            return Ok(());
        }
    }
    Err(if saw_v1a { SignatureProblem::NoneVerifies } else { SignatureProblem::NoV1a })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn one_valid_signature_among_several_suffices() {
        let (old, new) = (key(1), key(2));
        let pinned = [TransportKey::from_verifying_key(new.verifying_key())];
        let header = format!(
            "v1,aGVsbG8= {} {}",
            sign_webhook(&old, "evt_1", 10, b"body"),
            sign_webhook(&new, "evt_1", 10, b"body")
        );
        assert_eq!(verify_webhook(&pinned, "evt_1", "10", &header, b"body"), Ok(()));
        assert_eq!(verify_webhook(&pinned, "evt_1", "10", &header, b"bodY"), Err(SignatureProblem::NoneVerifies));
        assert_eq!(verify_webhook(&pinned, "evt_2", "10", &header, b"body"), Err(SignatureProblem::NoneVerifies));
        assert_eq!(verify_webhook(&pinned, "evt_1", "11", &header, b"body"), Err(SignatureProblem::NoneVerifies));
        assert_eq!(verify_webhook(&pinned, "evt_1", "10", "v1,aGVsbG8=", b"body"), Err(SignatureProblem::NoV1a));
        assert_eq!(verify_webhook(&pinned, "evt_1", "10", "v1a,!!!", b"body"), Err(SignatureProblem::NoneVerifies));
    }

    #[test]
    fn parses_and_refuses_public_keys() {
        let vk = key(3).verifying_key();
        assert_eq!(TransportKey::parse(&public_key_string(&vk)).unwrap().verifying_key(), &vk);
        assert!(TransportKey::parse("whsk_AAAA").is_err());
        assert!(TransportKey::parse("whpk_AAAA").is_err());
        let mut weak = [0u8; 32];
        weak[0] = 1;
        let err = TransportKey::parse(&format!("whpk_{}", STANDARD.encode(weak))).unwrap_err();
        assert!(err.to_string().contains("weak"), "{err}");
    }
}
