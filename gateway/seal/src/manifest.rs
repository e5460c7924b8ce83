//! The seal manifest (`gov-disclosure/seal@1`): the JSON object a seal signs,
//! its validation rules, and its canonical bytes (RFC 8785).
//!
//! It owns *what* a seal says. It does not compute the content digest (the
//! gateway does, over `gov-disclosure/content@1`), and it never re-serialises
//! a received manifest for verification: verifiers check the signature over
//! the bytes they received, then parse them with [`Manifest::from_payload`].

use serde::{Deserialize, Deserializer, Serialize};

use crate::{Error, Sha256, canonical};

/// A member that must be present but may be `null` (`doc_number`,
/// `supersedes`): with `deserialize_with`, serde no longer treats a missing
/// `Option` member as `null`, so an absent member is refused.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(d)
}

/// The `format` of every v1 manifest.
pub const MANIFEST_FORMAT: &str = "gov-disclosure/seal@1";
/// The `content.format` v1 manifests bind: the gateway's canonical content form.
pub const CONTENT_FORMAT: &str = "gov-disclosure/content@1";
/// Largest integer any manifest or key-set number may carry (2^53 − 1, I-JSON).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// What a publication seal (信息公开专用章) asserts about one item version.
///
/// Every member is always written (optional ones as `null`), except the
/// reserved `sm3` digest members, which are omitted when absent. See
/// `docs/seal.md` for the meaning of each member.
///
/// ```
/// let m = seal::Manifest::example();
/// let bytes = m.to_canonical_bytes().unwrap();
/// assert_eq!(seal::Manifest::from_payload(&bytes).unwrap(), m);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// The seal serial number, unique and never reused (ASCII `[A-Za-z0-9._:-]`, 1–64).
    pub serial: String,
    /// The item and version sealed.
    pub item: ItemRef,
    /// The digest of the canonical content (attachments included by digest).
    pub content: ContentRef,
    /// 公开属性.
    pub attribute: Attribute,
    /// The issuing organ (发布机关), by name.
    pub issuer: String,
    /// 发文字号, when the item has one (always present, `null` when none).
    #[serde(deserialize_with = "present")]
    pub doc_number: Option<String>,
    /// The channels this seal authorises, sorted, without duplicates.
    pub channels: Vec<String>,
    /// Not to be published before this time (seconds since the Unix epoch).
    pub not_before: u64,
    /// When the seal was made (seconds since the Unix epoch).
    pub sealed_at: u64,
    /// What reviewed the content and who approved it, by digest.
    pub review: ReviewRef,
    /// The final sign-off (签发), pseudonymously.
    pub sign_off: SignOff,
    /// For a correction (更正): the serial of the seal this one replaces
    /// (always present, `null` when none).
    #[serde(deserialize_with = "present")]
    pub supersedes: Option<String>,
    /// The key and algorithm that sign the seal (repeats the JWS header, signed).
    pub key: KeyRef,
    /// True when the seal was made with a development key.
    pub dev_key: bool,
}

/// The item version a seal covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ItemRef {
    /// The gateway's item id (printable ASCII, 1–128).
    pub id: String,
    /// The item version, from 1.
    pub version: u64,
}

/// The content digest a seal binds, named by its algorithm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ContentRef {
    /// Always [`CONTENT_FORMAT`].
    pub format: String,
    /// SHA-256 of the canonical content bytes.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub sha256: Sha256,
    /// Reserved for an SM3 digest of the same bytes (64 lowercase hex); v1
    /// verifiers always check `sha256` and report `sm3` as not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sm3: Option<String>,
}

/// A digest of some record, named by its algorithm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DigestRef {
    /// SHA-256 of the record.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub sha256: Sha256,
    /// Reserved for an SM3 digest (64 lowercase hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sm3: Option<String>,
}

/// 公开属性 of the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Attribute {
    /// 主动公开.
    Public,
    /// 依申请公开.
    OnRequest,
    /// 不予公开.
    Withheld,
}

/// The review that passed the content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReviewRef {
    /// The policy hash (the gateway's `policy.rs` hash of the policy in force).
    pub policy: DigestRef,
    /// Each plugin that ran, in policy order.
    pub plugins: Vec<PluginRef>,
    /// The digest of the approval record: who approved which stage of this content digest.
    pub approvals: DigestRef,
}

/// One review plugin, pinned by the hash of its component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PluginRef {
    /// Plugin name.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// SHA-256 of the WebAssembly component.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub sha256: Sha256,
    /// Reserved for an SM3 digest (64 lowercase hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sm3: Option<String>,
}

/// The sign-off (签发): a pseudonymous person id, never a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignOff {
    /// Pseudonymous id of the responsible person (ASCII `[A-Za-z0-9._:-]`, 1–64).
    pub responsible: String,
    /// Their role (ASCII `[a-z0-9_]`, 1–32), e.g. `leader`.
    pub role: String,
    /// Id of the sign-off statement they accepted (ASCII token).
    pub statement: String,
    /// Version of that statement's text, from 1.
    pub statement_version: u64,
}

/// The signing key and algorithm, repeated from the JWS header inside the
/// signed payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KeyRef {
    /// The key id (RFC 7638 thumbprint for Ed25519 keys).
    pub kid: String,
    /// The JWS algorithm (`EdDSA`).
    pub alg: String,
}

impl Manifest {
    /// Parses and validates a received payload. The payload must already
    /// have passed the signature check: this is the "then parse" step.
    /// Duplicate and unknown members are refused.
    pub fn from_payload(bytes: &[u8]) -> Result<Manifest, Error> {
        let m: Manifest = serde_json::from_slice(bytes).map_err(|e| Error::Manifest(e.to_string()))?;
        m.validate()?;
        Ok(m)
    }

    /// The RFC 8785 canonical bytes: what a seal signs (after validation).
    pub fn to_canonical_bytes(&self) -> Result<Vec<u8>, Error> {
        self.validate()?;
        let value = serde_json::to_value(self).map_err(|e| Error::Manifest(e.to_string()))?;
        canonical::to_vec(&value).map_err(|e| Error::Manifest(e.to_string()))
    }

    /// Checks every rule of `docs/seal.md` that the types do not already enforce.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |msg: String| Err(Error::Manifest(msg));
        if self.format != MANIFEST_FORMAT {
            return bad(format!("format is {:?}, expected {MANIFEST_FORMAT:?}", self.format));
        }
        token("serial", &self.serial, 64)?;
        if let Some(s) = &self.supersedes {
            token("supersedes", s, 64)?;
            if s == &self.serial {
                return bad("a seal cannot supersede itself".into());
            }
        }
        // docs/seal.md: 1-128 characters U+0021-U+007E (visible ASCII, no space).
        if self.item.id.is_empty() || self.item.id.len() > 128 || !self.item.id.bytes().all(|b| b.is_ascii_graphic()) {
            return bad("item.id must be 1-128 characters U+0021-U+007E".into());
        }
        int("item.version", self.item.version, 1)?;
        if self.content.format != CONTENT_FORMAT {
            return bad(format!("content.format is {:?}, expected {CONTENT_FORMAT:?}", self.content.format));
        }
        sm3("content.sm3", self.content.sm3.as_deref())?;
        text("issuer", &self.issuer, 200)?;
        if let Some(d) = &self.doc_number {
            text("doc_number", d, 100)?;
        }
        if self.channels.is_empty() {
            return bad("channels is empty: a seal must authorise at least one channel".into());
        }
        for c in &self.channels {
            let ok = !c.is_empty()
                && c.len() <= 64
                && c.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b':' | b'-'));
            if !ok {
                return bad(format!("channel {:?} is not [a-z0-9][a-z0-9_.:-]{{0,63}}", trunc(c)));
            }
        }
        if self.channels.windows(2).any(|w| w[0] >= w[1]) {
            return bad("channels must be sorted and without duplicates".into());
        }
        int("not_before", self.not_before, 0)?;
        int("sealed_at", self.sealed_at, 0)?;
        sm3("review.policy.sm3", self.review.policy.sm3.as_deref())?;
        sm3("review.approvals.sm3", self.review.approvals.sm3.as_deref())?;
        for p in &self.review.plugins {
            token("review.plugins[].name", &p.name, 64)?;
            token("review.plugins[].version", &p.version, 64)?;
            sm3("review.plugins[].sm3", p.sm3.as_deref())?;
        }
        token("sign_off.responsible", &self.sign_off.responsible, 64)?;
        let role_ok = !self.sign_off.role.is_empty()
            && self.sign_off.role.len() <= 32
            && self.sign_off.role.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !role_ok {
            return bad(format!("sign_off.role {:?} is not [a-z0-9_]{{1,32}}", trunc(&self.sign_off.role)));
        }
        token("sign_off.statement", &self.sign_off.statement, 64)?;
        int("sign_off.statement_version", self.sign_off.statement_version, 1)?;
        crate::KeyId::parse(&self.key.kid)
            .map_err(|_| Error::Manifest(format!("key.kid {:?} is not a key id", trunc(&self.key.kid))))?;
        if !crate::keys::ED25519_ALGS.contains(&self.key.alg.as_str()) {
            return bad(format!("key.alg {:?} is not EdDSA or Ed25519", trunc(&self.key.alg)));
        }
        Ok(())
    }

    /// A complete, valid example manifest (the one in `docs/seal.md`), for
    /// documentation and tests. Its `key` names no real key.
    pub fn example() -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT.into(),
            serial: "321183-2026-000123".into(),
            item: ItemRef { id: "0196a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into(), version: 2 },
            content: ContentRef { format: CONTENT_FORMAT.into(), sha256: Sha256::of(b"example content"), sm3: None },
            attribute: Attribute::Public,
            issuer: "句容市人民政府办公室".into(),
            doc_number: Some("句政办发〔2026〕12号".into()),
            channels: vec!["website".into(), "wechat".into()],
            not_before: 1_777_593_600,
            sealed_at: 1_777_624_200,
            review: ReviewRef {
                policy: DigestRef { sha256: Sha256::of(b"policy"), sm3: None },
                plugins: vec![PluginRef {
                    name: "secrecy".into(),
                    version: "0.1.0".into(),
                    sha256: Sha256::of(b"secrecy.wasm"),
                    sm3: None,
                }],
                approvals: DigestRef { sha256: Sha256::of(b"approvals"), sm3: None },
            },
            sign_off: SignOff {
                responsible: "psn-7f3a9c".into(),
                role: "leader".into(),
                statement: "sign-off-final".into(),
                statement_version: 1,
            },
            supersedes: None,
            key: KeyRef {
                kid: "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k".into(),
                alg: crate::keys::ALG_EDDSA.into(),
            },
            dev_key: false,
        }
    }
}

/// An ASCII token: `[A-Za-z0-9._:+-]`, 1 to `max` characters.
fn token(what: &str, s: &str, max: usize) -> Result<(), Error> {
    let ok = !s.is_empty()
        && s.len() <= max
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-' | b'+'));
    if ok {
        Ok(())
    } else {
        Err(Error::Manifest(format!("{what} {:?} is not an ASCII token [A-Za-z0-9._:+-]{{1,{max}}}", trunc(s))))
    }
}

/// 1 to `max` characters (Unicode scalar values), none of them a control
/// character (general category Cc: U+0000-U+001F, U+007F-U+009F). Exactly
/// the rule docs/seal.md states, nothing more.
fn text(what: &str, s: &str, max: usize) -> Result<(), Error> {
    let ok = !s.is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(Error::Manifest(format!("{what} must be 1-{max} characters without control characters")))
    }
}

fn int(what: &str, n: u64, min: u64) -> Result<(), Error> {
    if n < min || n > MAX_SAFE_INTEGER {
        return Err(Error::Manifest(format!("{what} {n} is out of range {min}..=2^53-1")));
    }
    Ok(())
}

fn sm3(what: &str, v: Option<&str>) -> Result<(), Error> {
    match v {
        Some(h) if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) => {
            Err(Error::Manifest(format!("{what} is not 64 lowercase hex digits")))
        }
        _ => Ok(()),
    }
}

fn trunc(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn refused(edit: impl FnOnce(&mut Manifest), expect: &str) {
        let mut m = Manifest::example();
        edit(&mut m);
        let err = m.validate().unwrap_err().to_string();
        assert!(err.contains(expect), "{err}");
    }

    #[test]
    fn example_is_valid_and_round_trips() {
        let m = Manifest::example();
        let bytes = m.to_canonical_bytes().unwrap();
        assert_eq!(Manifest::from_payload(&bytes).unwrap(), m);
        assert!(bytes.starts_with(br#"{"attribute":"public","channels":["website","wechat"],"content":{"format":"gov-disclosure/content@1","sha256":""#));
    }

    #[test]
    fn validation_rules() {
        refused(|m| m.format = "gov-disclosure/seal@2".into(), "format");
        refused(|m| m.channels = vec![], "channels is empty");
        refused(|m| m.channels = vec!["wechat".into(), "website".into()], "sorted");
        refused(|m| m.channels = vec!["website".into(), "website".into()], "sorted");
        refused(|m| m.channels = vec!["Website".into()], "channel");
        refused(|m| m.sign_off.responsible = "张三".into(), "sign_off.responsible");
        refused(|m| m.serial = String::new(), "serial");
        refused(|m| m.supersedes = Some(m.serial.clone()), "supersede itself");
        refused(|m| m.item.version = 0, "item.version");
        refused(|m| m.sealed_at = 1 << 60, "sealed_at");
        refused(|m| m.content.sm3 = Some("ABC".into()), "content.sm3");
        refused(|m| m.key.alg = "HS256".into(), "key.alg");
        refused(|m| m.issuer = String::new(), "issuer");
        refused(|m| m.issuer = "句容\u{85}".into(), "issuer");
        refused(|m| m.doc_number = Some("号".repeat(101)), "doc_number");
        refused(|m| m.item.id = "a b".into(), "item.id");
    }

    #[test]
    fn refuses_unknown_duplicate_and_float_members() {
        let bytes = Manifest::example().to_canonical_bytes().unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let unknown = text.replacen("{\"attribute\"", "{\"extra\":1,\"attribute\"", 1);
        assert!(Manifest::from_payload(unknown.as_bytes()).unwrap_err().to_string().contains("unknown field"));
        let dup = text.replacen("{\"attribute\":\"public\"", "{\"attribute\":\"withheld\",\"attribute\":\"public\"", 1);
        assert!(Manifest::from_payload(dup.as_bytes()).unwrap_err().to_string().contains("duplicate field"));
        let float = text.replacen("\"sealed_at\":1777624200", "\"sealed_at\":1777624200.0", 1);
        assert!(Manifest::from_payload(float.as_bytes()).is_err());
        // Every member is present: `null` members too.
        for member in [",\"supersedes\":null", "\"doc_number\":\"句政办发〔2026〕12号\","] {
            let missing = text.replacen(member, "", 1);
            assert_ne!(missing, text, "{member}");
            let err = Manifest::from_payload(missing.as_bytes()).unwrap_err().to_string();
            assert!(err.contains("missing field"), "{err}");
        }
    }

    #[test]
    fn states_no_rule_beyond_the_spec() {
        // An issuer of spaces is 1-200 characters without control characters.
        let mut m = Manifest::example();
        m.issuer = "   ".into();
        m.doc_number = Some("号".repeat(100));
        m.validate().unwrap();
    }
}
