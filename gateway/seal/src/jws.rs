//! JWS Compact Serialization (RFC 7515 §7.1) as seals use it: a protected
//! header of exactly `alg`, `kid` and `typ`, an embedded payload, and an
//! Ed25519 signature over `ASCII(BASE64URL(header) "." BASE64URL(payload))`.
//!
//! It owns splitting and decoding the three segments, with size limits. It
//! does not choose keys or check signatures (see `verify`).

use serde::{Deserialize, Serialize};

use crate::{Error, b64};

/// The `typ` of every seal (explicit typing, RFC 8725 §3.11).
pub const TYP: &str = "gov-seal+jws";

/// Largest seal accepted, in bytes (a v1 seal is 1–3 KB).
pub const MAX_SEAL_LEN: usize = 96 * 1024;

/// The protected header. Any other member (`crit`, `jwk`, `jku`, `x5u`,
/// `b64`, …) is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// `EdDSA` (or `Ed25519`).
    pub alg: String,
    /// The signing key's id.
    pub kid: String,
    /// Always [`TYP`].
    pub typ: String,
}

/// A seal split into its parts; the payload is *not* parsed yet.
#[derive(Debug, Clone)]
pub(crate) struct Compact<'a> {
    /// `BASE64URL(header) "." BASE64URL(payload)`: the signed bytes.
    pub signing_input: &'a [u8],
    pub header_bytes: Vec<u8>,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Splits and decodes `h.p.s`. Whitespace is not trimmed: callers trim the
/// file they read, never the string they verify.
pub(crate) fn split(seal: &str) -> Result<Compact<'_>, Error> {
    if seal.len() > MAX_SEAL_LEN {
        return Err(Error::Malformed(format!("{} bytes, more than the {MAX_SEAL_LEN} allowed", seal.len())));
    }
    let mut parts = seal.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(Error::Malformed("expected three segments separated by '.'".into()));
    };
    let segment = |name: &str, v: &str| -> Result<Vec<u8>, Error> {
        if v.is_empty() {
            return Err(Error::Malformed(format!("the {name} segment is empty")));
        }
        b64::decode(v).map_err(|e| Error::Malformed(format!("the {name} segment {e}")))
    };
    let header_bytes = segment("header", h)?;
    let payload = segment("payload", p)?;
    let signature = segment("signature", s)?;
    Ok(Compact { signing_input: &seal.as_bytes()[..h.len() + 1 + p.len()], header_bytes, payload, signature })
}

/// `BASE64URL(header) "." BASE64URL(payload)` for a header in canonical form.
#[cfg(feature = "sign")]
pub(crate) fn signing_input(header: &Header, payload: &[u8]) -> String {
    let header_json = serde_json::to_value(header).expect("a header serialises");
    let header_bytes = crate::canonical::to_vec(&header_json).expect("a header has no floats");
    format!("{}.{}", b64::encode(&header_bytes), b64::encode(payload))
}

/// Appends the signature segment.
#[cfg(feature = "sign")]
pub(crate) fn finish(signing_input: String, signature: &[u8]) -> String {
    let mut out = signing_input;
    out.push('.');
    out.push_str(&b64::encode(signature));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_padding_whitespace_and_wrong_segment_counts() {
        assert!(split("a.b").is_err());
        assert!(split("a.b.c.d").is_err());
        assert!(split("e30.e30.").is_err());
        assert!(split("e30=.e30.AA").is_err());
        assert!(split("e30.e30.AA\n").is_err());
        let ok = split("e30.e30.AA").unwrap();
        assert_eq!(ok.signing_input, b"e30.e30");
        assert_eq!(ok.header_bytes, b"{}");
    }

    #[cfg(feature = "sign")]
    #[test]
    fn header_is_canonical() {
        let h = Header { alg: "EdDSA".into(), kid: "k".into(), typ: TYP.into() };
        let si = signing_input(&h, b"{}");
        let (hb, _) = si.split_once('.').unwrap();
        assert_eq!(b64::decode(hb).unwrap(), br#"{"alg":"EdDSA","kid":"k","typ":"gov-seal+jws"}"#);
    }
}
