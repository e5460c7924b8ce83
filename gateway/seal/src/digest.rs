use std::fmt;
use std::str::FromStr;

use sha2::Digest as _;

/// SHA-256 over the canonical form of everything a reviewer approves.
///
/// Written as `sha256:` followed by 64 lowercase hex digits, so that the
/// algorithm travels with the value (an SM3 digest would read `sm3:…`).
///
/// ```
/// let d = seal::ContentDigest::of(b"abc");
/// assert_eq!(d.to_string(), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
/// assert_eq!(d.to_string().parse::<seal::ContentDigest>().unwrap(), d);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentDigest([u8; 32]);

impl ContentDigest {
    /// Digests `bytes` with SHA-256.
    pub fn of(bytes: &[u8]) -> ContentDigest {
        ContentDigest(sha2::Sha256::digest(bytes).into())
    }

    /// The raw 32 digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64 lowercase hex digits, without the algorithm prefix.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for ContentDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl fmt::Debug for ContentDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A string that is not `sha256:` followed by 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a content digest (expected sha256: and 64 lowercase hex digits): {0:?}")]
pub struct DigestParseError(pub String);

impl FromStr for ContentDigest {
    type Err = DigestParseError;

    fn from_str(s: &str) -> Result<ContentDigest, DigestParseError> {
        let err = || DigestParseError(s.chars().take(80).collect());
        let hex_part = s.strip_prefix("sha256:").ok_or_else(err)?;
        if hex_part.len() != 64 || hex_part.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(err());
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut out).map_err(|_| err())?;
        Ok(ContentDigest(out))
    }
}

impl serde::Serialize for ContentDigest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ContentDigest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A string that is not 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a SHA-256 digest (expected 64 lowercase hex digits): {0:?}")]
pub struct HexDigestError(pub String);

/// A SHA-256 digest written as 64 lowercase hex digits, with no prefix: the
/// value of a member *named* after its algorithm (`"sha256": "…"`) in the
/// seal manifest, and the seal id.
///
/// ```
/// let d = seal::Sha256::of(b"abc");
/// assert_eq!(d.to_string(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
/// assert_eq!(seal::Sha256::from_hex(&d.to_string()).unwrap(), d);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256(pub [u8; 32]);

impl Sha256 {
    /// Digests `bytes`.
    pub fn of(bytes: &[u8]) -> Sha256 {
        Sha256(sha2::Sha256::digest(bytes).into())
    }

    /// Parses exactly 64 lowercase hex digits.
    pub fn from_hex(s: &str) -> Result<Sha256, HexDigestError> {
        let err = || HexDigestError(s.chars().take(80).collect());
        if s.len() != 64 || s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(err());
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| err())?;
        Ok(Sha256(out))
    }

    /// The raw 32 digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl From<ContentDigest> for Sha256 {
    fn from(d: ContentDigest) -> Sha256 {
        Sha256(d.0)
    }
}

impl From<Sha256> for ContentDigest {
    fn from(d: Sha256) -> ContentDigest {
        ContentDigest(d.0)
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl serde::Serialize for Sha256 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Sha256 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Sha256::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_uppercase_and_wrong_prefix() {
        let hex = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
        assert!(format!("sha256:{hex}").parse::<ContentDigest>().is_err());
        assert!(format!("sha1:{}", hex.to_lowercase()).parse::<ContentDigest>().is_err());
    }
}
