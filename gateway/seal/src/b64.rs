//! Base64 as the formats require it: unpadded base64url (RFC 7515 §2) for
//! JWS and JWK members, strict on decoding (no padding, no whitespace, no
//! non-zero trailing bits), and standard padded base64 (RFC 4648 §4) for
//! signed notes and checkpoints.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// Unpadded base64url.
pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict unpadded base64url.
pub(crate) fn decode(s: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD.decode(s).map_err(|e| format!("is not unpadded base64url ({e})"))
}

/// Padded standard base64.
pub(crate) fn encode_std(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Strict padded standard base64.
pub(crate) fn decode_std(s: &str) -> Result<Vec<u8>, String> {
    STANDARD.decode(s).map_err(|e| format!("is not base64 ({e})"))
}
