//! The delivery envelope: one JSON document carrying a seal and the content
//! it covers, `{"seal": "<jws>", "content": {…}}`. The gateway delivers it
//! to channels; `seal verify` reads it.
//!
//! The envelope itself is not signed. `content` is the canonical content
//! object (`gov-disclosure/content@1`); the digest is SHA-256 over its
//! RFC 8785 form, which this module computes. Other members are reserved
//! and ignored.

use serde::{Deserialize, Serialize};

use crate::{ContentDigest, Error, canonical};

/// A seal with its content.
///
/// ```
/// let env = seal::Envelope::parse(br#"{"seal":"a.b.c","content":{"b":1,"a":"x"}}"#).unwrap();
/// assert_eq!(env.content_bytes().unwrap().unwrap(), br#"{"a":"x","b":1}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The seal, JWS compact.
    pub seal: String,
    /// The canonical content object, or absent/null when only the seal travels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<serde_json::Value>,
}

impl Envelope {
    /// Parses an envelope document.
    pub fn parse(bytes: &[u8]) -> Result<Envelope, Error> {
        let env: Envelope = serde_json::from_slice(bytes).map_err(|e| Error::Envelope(e.to_string()))?;
        if env.content.as_ref().is_some_and(|c| !c.is_object()) {
            return Err(Error::Envelope("\"content\" is not a JSON object".into()));
        }
        Ok(env)
    }

    /// The RFC 8785 bytes of `content`: what the content digest covers.
    pub fn content_bytes(&self) -> Result<Option<Vec<u8>>, Error> {
        self.content
            .as_ref()
            .map(|c| canonical::to_vec(c).map_err(|e| Error::Envelope(format!("content: {e}"))))
            .transpose()
    }

    /// The content digest of `content`.
    pub fn content_digest(&self) -> Result<Option<ContentDigest>, Error> {
        Ok(self.content_bytes()?.map(|b| ContentDigest::of(&b)))
    }

    /// The envelope as compact JSON, one line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an envelope serialises")
    }
}
