//! Batch signature checks (feature `batch`) for bulk re-audits of the log:
//! ed25519-dalek's `verify_batch` over many seals at once.
//!
//! Batch verification uses the cofactored equation, which can accept a
//! signature that `verify_strict` refuses. So it never decides whether a
//! seal is accepted: it answers "did anything in this range change?" fast,
//! and on a failure we fall back to per-seal strict checks to name the first
//! bad seal. Only header, key and signature are checked here; run
//! [`crate::verify`] on any seal you act on.

use ed25519_dalek::{Signature, VerifyingKey};

use crate::keys::{KeyMaterial, KeySet};
use crate::{Error, jws};

/// Checks the signatures of `seals` together. On failure, returns the index
/// of the first seal that fails the strict per-seal check, and why.
///
/// ```
/// use seal::Signer as _;
/// let signer = seal::Ed25519Signer::from_seed(&[7; 32]);
/// let mut m = seal::Manifest::example();
/// m.key = seal::KeyRef::of(&signer);
/// let s = seal::sign(&m, &signer).unwrap();
/// let keys = seal::KeySet::from_jwks_json(seal::jwks_json(&[signer.jwk(Default::default())]).as_bytes()).unwrap();
/// assert!(seal::verify_signatures_batch(&[s.as_str(), s.as_str()], &keys).is_ok());
/// ```
pub fn verify_signatures_batch(seals: &[&str], keys: &KeySet) -> Result<(), (usize, Error)> {
    let mut messages: Vec<&[u8]> = Vec::with_capacity(seals.len());
    let mut signatures: Vec<Signature> = Vec::with_capacity(seals.len());
    let mut vks: Vec<VerifyingKey> = Vec::with_capacity(seals.len());
    for (i, seal) in seals.iter().enumerate() {
        let parts = jws::split(seal).map_err(|e| (i, e))?;
        let header: jws::Header =
            serde_json::from_slice(&parts.header_bytes).map_err(|e| (i, Error::Header(e.to_string())))?;
        if header.typ != jws::TYP || !crate::keys::ED25519_ALGS.contains(&header.alg.as_str()) {
            return Err((i, Error::Header(format!("alg {:?} / typ {:?} refused", header.alg, header.typ))));
        }
        let entry = keys.get(&header.kid).ok_or_else(|| (i, Error::UnknownKey(header.kid.clone())))?;
        let KeyMaterial::Ed25519(vk) = entry.material() else {
            return Err((i, Error::UnusableKey { kid: entry.kid().clone(), reason: "not an Ed25519 key".into() }));
        };
        let sig: [u8; 64] =
            parts.signature.as_slice().try_into().map_err(|_| (i, Error::BadSignature(entry.kid().clone())))?;
        messages.push(parts.signing_input);
        signatures.push(Signature::from_bytes(&sig));
        vks.push(*vk);
    }
    if ed25519_dalek::verify_batch(&messages, &signatures, &vks).is_ok() {
        return Ok(());
    }
    for i in 0..seals.len() {
        if vks[i].verify_strict(messages[i], &signatures[i]).is_err() {
            return Err((i, Error::BadSignature(crate::KeyId::thumbprint(&vks[i]))));
        }
    }
    // The batch equation failed although every strict check passed: cannot
    // happen for honest signatures; report the batch as a whole.
    Err((0, Error::Proof("batch verification failed but every seal verifies strictly".into())))
}
