//! The crate's one error enum: why a seal was refused, why a key or key set
//! could not be used, why signing failed, why a log proof or checkpoint does
//! not verify.

use crate::{ContentDigest, KeyId};

/// Everything that can go wrong in this crate.
///
/// A refused seal yields the variant of the *first* failed check (see
/// [`crate::verify::Check`] for the whole list).
///
/// ```
/// let keys = seal::KeySet::from_jwks_json(br#"{"keys":[]}"#).unwrap();
/// let err = seal::verify("a.b.c", &keys, &seal::VerifyOptions::default()).unwrap_err();
/// assert!(matches!(err, seal::Error::Malformed(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The seal is not three unpadded base64url segments of acceptable size.
    #[error("not a JWS compact seal: {0}")]
    Malformed(String),
    /// The protected header is not `{"alg","kid","typ"}` with an allowed
    /// algorithm and `typ` `gov-seal+jws`.
    #[error("protected header refused: {0}")]
    Header(String),
    /// The header's `kid` is not in the verifier's key set.
    #[error("unknown key id {0}")]
    UnknownKey(String),
    /// The key exists but this verifier cannot use it (type, curve or `alg`).
    #[error("key {kid} cannot verify this seal: {reason}")]
    UnusableKey {
        /// The key's id.
        kid: KeyId,
        /// What is wrong with it.
        reason: String,
    },
    /// The Ed25519 signature does not verify (strictly) over the received bytes.
    #[error("signature does not verify with key {0}")]
    BadSignature(KeyId),
    /// The payload is not a valid seal manifest.
    #[error("manifest refused: {0}")]
    Manifest(String),
    /// The manifest's `key` does not name the key and algorithm in the header.
    #[error("manifest names key {manifest} but the header names {header}")]
    KeyMismatch {
        /// `kid`/`alg` from the protected header.
        header: String,
        /// `key.kid`/`key.alg` from the manifest.
        manifest: String,
    },
    /// The seal was made before its key's validity (`nbf`) began.
    #[error(
        "sealed at {} but key {kid} is valid only from {}",
        crate::time::rfc3339(*sealed_at),
        crate::time::rfc3339(*nbf)
    )]
    KeyNotYetValid {
        /// The key's id.
        kid: KeyId,
        /// `sealed_at` of the manifest.
        sealed_at: u64,
        /// `nbf` of the key.
        nbf: u64,
    },
    /// The seal was made at or after its key's validity (`exp`) ended.
    #[error(
        "sealed at {} but key {kid} expired at {}",
        crate::time::rfc3339(*sealed_at),
        crate::time::rfc3339(*exp)
    )]
    KeyExpired {
        /// The key's id.
        kid: KeyId,
        /// `sealed_at` of the manifest.
        sealed_at: u64,
        /// `exp` of the key.
        exp: u64,
    },
    /// The key is marked revoked in the key set, or listed as revoked by the caller.
    #[error("key {0} is revoked")]
    KeyRevoked(KeyId),
    /// The caller says this seal serial is not valid any more.
    #[error("seal {serial} has status {status}")]
    SealStatus {
        /// The seal serial number.
        serial: String,
        /// The status the caller supplied (`withdrawn`, `suspended`, `superseded`, `revoked`).
        status: String,
    },
    /// The content does not hash to the digest the seal carries.
    #[error("seal covers digest {sealed} but content hashes to {actual}")]
    DigestMismatch {
        /// The digest in the manifest.
        sealed: ContentDigest,
        /// The digest of the supplied content.
        actual: ContentDigest,
    },
    /// The seal does not authorise the channel that checks it.
    #[error("seal authorises channels {allowed:?}, not {channel}")]
    WrongChannel {
        /// The verifying channel.
        channel: String,
        /// The channels in the manifest.
        allowed: Vec<String>,
    },
    /// The item may not be published before `not_before`.
    #[error(
        "not to be published before {} (now {})",
        crate::time::rfc3339(*not_before),
        crate::time::rfc3339(*now)
    )]
    NotYetPublishable {
        /// `not_before` of the manifest.
        not_before: u64,
        /// The time the caller verified at.
        now: u64,
    },
    /// The seal was made with a development key (the key set marks its key
    /// so, or the seal says so) and the caller refuses those.
    #[error("seal was made with a development key: {0}")]
    DevKey(String),
    /// A JWK Set that cannot be used at all.
    #[error("key set refused: {0}")]
    Jwks(String),
    /// A private key that cannot be read or parsed.
    #[error("private key refused: {0}")]
    PrivateKey(String),
    /// A key file that group or others may read or write.
    #[error("key file {path} has mode {mode:o}: group or others may access it (run `chmod 600 {path}`)")]
    KeyFilePermissions {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// A manifest that this signer must not sign, or a failing signer.
    #[error("cannot seal: {0}")]
    Sign(String),
    /// An envelope that is not `{"seal": "<jws>", "content": {...}}`.
    #[error("envelope refused: {0}")]
    Envelope(String),
    /// An inclusion or consistency proof that does not verify.
    #[error("log proof refused: {0}")]
    Proof(String),
    /// A signed note or checkpoint that cannot be parsed or does not verify.
    #[error("checkpoint refused: {0}")]
    Note(String),
}
