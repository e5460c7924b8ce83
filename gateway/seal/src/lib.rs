//! The publication seal (信息公开专用章) and its building blocks.
//!
//! - [`canonical`]: RFC 8785 canonical JSON for the values we produce (no floats);
//! - [`ContentDigest`]: the `sha256:` digest every approval and seal binds to;
//! - [`Manifest`]: what a seal says (`gov-disclosure/seal@1`), signed as its
//!   canonical bytes inside a JWS Compact with `EdDSA` (RFC 7515, RFC 8037);
//! - [`KeySet`], [`KeyId`]: pinned verification keys (JWKS), RFC 7638 key ids,
//!   validity periods and revocation;
//! - [`verify`] / [`verify_report`]: the verifier, which explains each check;
//! - [`Envelope`]: a seal delivered with its content;
//! - [`tlog`] and [`note`]: the transparency log's Merkle proofs (RFC 9162)
//!   and signed checkpoints (C2SP);
//! - with feature `sign` (default): [`Signer`], [`Ed25519Signer`], [`sign`].
//!
//! The format is specified byte for byte in `docs/seal.md`.
//!
//! This crate does no network IO, nothing async and knows nothing of
//! databases or HTTP, so that a channel's website team can depend on it
//! alone (`default-features = false` for a verifier without signing code).
#![forbid(unsafe_code)]

mod b64;
pub mod canonical;
mod digest;
mod envelope;
mod error;
mod jws;
mod keys;
mod manifest;
pub mod note;
mod time;
pub mod tlog;
pub mod verify;

#[cfg(feature = "batch")]
mod batch;
#[cfg(feature = "sign")]
mod signer;

#[cfg(feature = "batch")]
pub use batch::verify_signatures_batch;
pub use digest::{ContentDigest, DigestParseError, HexDigestError, Sha256};
pub use envelope::Envelope;
pub use error::Error;
pub use jws::{Header, MAX_SEAL_LEN, TYP};
pub use keys::{ALG_EDDSA, ED25519_ALGS, KeyEntry, KeyId, KeyMaterial, KeySet, Validity, ed25519_jwk, jwks_json};
pub use manifest::{
    Attribute, CONTENT_FORMAT, ContentRef, DigestRef, ItemRef, KeyRef, MANIFEST_FORMAT, MAX_SAFE_INTEGER, Manifest,
    PluginRef, ReviewRef, SignOff,
};
#[cfg(feature = "sign")]
pub use signer::{Ed25519Signer, Seal, Signer, sign};
pub use verify::{Content, Report, SealStatus, Verified, VerifyOptions, verify, verify_report};
