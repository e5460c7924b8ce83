//! The publication seal's format-level building blocks: the canonical JSON
//! form (RFC 8785, restricted to the values we produce: no floats) and the
//! SHA-256 content digest that every approval and every seal binds to.
//!
//! This crate does no IO, nothing async and knows nothing of databases or
//! HTTP, so that a channel's website team can depend on it alone to recompute
//! a digest or (once the seal lands) verify a seal.
#![forbid(unsafe_code)]

pub mod canonical;
mod digest;

pub use digest::{ContentDigest, DigestParseError};
