//! Verification keys: key ids (RFC 7638 JWK thumbprints), JWKs for Ed25519
//! (RFC 8037, `kty` `OKP`), and the key set a verifier pins (a JWK Set,
//! RFC 7517) with each key's validity period and revocation mark.
//!
//! It owns reading a JWKS strictly (a `kid` must equal its key's thumbprint,
//! weak keys are refused) and writing one. It does not fetch key sets, and it
//! holds no private keys (see `signer`, behind the `sign` feature).

use std::collections::BTreeMap;
use std::fmt;

use ed25519_dalek::VerifyingKey;
use serde_json::{Map, Value, json};

use crate::{Error, Sha256, b64};

/// The JWS algorithm names a verifier accepts for Ed25519: `EdDSA`
/// (RFC 8037, what we emit) and the fully specified `Ed25519` (RFC 9864).
pub const ED25519_ALGS: [&str; 2] = ["EdDSA", "Ed25519"];

/// The algorithm we write in new seals.
pub const ALG_EDDSA: &str = "EdDSA";

/// A key id: for keys made here, the RFC 7638 JWK thumbprint (base64url of
/// the SHA-256 of the canonical `{"crv","kty","x"}` JSON), so it is derived
/// from the public key and needs no registry.
///
/// ```
/// // RFC 8037 appendix A.3: the thumbprint of the example Ed25519 key.
/// let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
/// let kid = seal::KeyId::thumbprint_of_x(x);
/// assert_eq!(kid.as_str(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    /// The RFC 7638 thumbprint of an Ed25519 public key.
    pub fn thumbprint(public: &VerifyingKey) -> KeyId {
        KeyId::thumbprint_of_x(&b64::encode(public.as_bytes()))
    }

    /// The RFC 7638 thumbprint of an OKP/Ed25519 JWK with this `x`.
    pub fn thumbprint_of_x(x: &str) -> KeyId {
        // The required members in lexicographic order, no whitespace (RFC 7638 §3.2).
        let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        KeyId(b64::encode(Sha256::of(canonical.as_bytes()).as_bytes()))
    }

    /// Accepts a `kid` as written in a JWKS or a header: 1 to 128 characters
    /// of the base64url alphabet plus `.` and `:` (so a future SM2 key's id fits).
    pub fn parse(s: &str) -> Result<KeyId, Error> {
        let ok = !s.is_empty()
            && s.len() <= 128
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        if ok { Ok(KeyId(s.to_owned())) } else { Err(Error::Jwks(format!("not a key id: {:?}", trunc(s)))) }
    }

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

/// When a key may have made a seal: `nbf <= sealed_at < exp`, in seconds
/// since the Unix epoch (the JWT NumericDate convention). Published in the
/// JWKS as the (non-registered) JWK members `nbf` and `exp`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Validity {
    /// First second at which the key may seal; `None` = no lower bound.
    pub nbf: Option<u64>,
    /// First second at which the key may no longer seal; `None` = open-ended.
    pub exp: Option<u64>,
}

/// The JWK of an Ed25519 public key, with its thumbprint as `kid`,
/// `"use":"sig"`, `"alg":"EdDSA"`, its validity and, if `revoked`,
/// `"status":"revoked"`.
///
/// ```
/// let vk = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
/// let jwk = seal::ed25519_jwk(&vk, seal::Validity { nbf: Some(1), exp: None }, false);
/// assert_eq!(jwk["kty"], "OKP");
/// assert_eq!(jwk["kid"], seal::KeyId::thumbprint(&vk).as_str());
/// ```
pub fn ed25519_jwk(public: &VerifyingKey, validity: Validity, revoked: bool) -> Value {
    let mut jwk = json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64::encode(public.as_bytes()),
        "kid": KeyId::thumbprint(public).as_str(),
        "use": "sig",
        "alg": ALG_EDDSA,
    });
    let map = jwk.as_object_mut().expect("an object");
    if let Some(nbf) = validity.nbf {
        map.insert("nbf".into(), nbf.into());
    }
    if let Some(exp) = validity.exp {
        map.insert("exp".into(), exp.into());
    }
    if revoked {
        map.insert("status".into(), "revoked".into());
    }
    jwk
}

/// A JWK Set document `{"keys":[…]}`, pretty-printed with sorted members.
pub fn jwks_json(keys: &[Value]) -> String {
    let mut s = serde_json::to_string_pretty(&json!({ "keys": keys })).expect("JSON values serialise");
    s.push('\n');
    s
}

/// What a verifier can do with one key of its set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyMaterial {
    /// An Ed25519 public key (validated, not weak).
    Ed25519(VerifyingKey),
    /// A key of a type this verifier does not implement (for example a future
    /// SM2 key); a seal naming it is refused with the reason.
    Unsupported(String),
}

/// One key of a [`KeySet`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyEntry {
    kid: KeyId,
    material: KeyMaterial,
    validity: Validity,
    revoked: bool,
    dev: bool,
    alg: Option<String>,
}

impl KeyEntry {
    /// The key's id.
    pub fn kid(&self) -> &KeyId {
        &self.kid
    }
    /// The key itself, or why it cannot be used.
    pub fn material(&self) -> &KeyMaterial {
        &self.material
    }
    /// Its validity period.
    pub fn validity(&self) -> Validity {
        self.validity
    }
    /// Whether the key set marks it revoked (`"status":"revoked"`).
    pub fn revoked(&self) -> bool {
        self.revoked
    }
    /// Whether the key set marks it a development key (`"dev_key": true`).
    /// The key set, not the seal, says what a development key is: a seal
    /// of such a key is a development seal whatever its own `dev_key` says.
    pub fn dev_key(&self) -> bool {
        self.dev
    }
    /// The JWK's `alg` member, if it has one.
    pub fn alg(&self) -> Option<&str> {
        self.alg.as_deref()
    }
}

/// The verification keys a channel pins: a parsed JWK Set.
///
/// Each Ed25519 key (`"kty":"OKP","crv":"Ed25519"`) must carry a `kid` equal
/// to its RFC 7638 thumbprint, must not be a weak (small-order) key, and may
/// carry `use` (must be `sig`), `alg` (`EdDSA` or `Ed25519`), `nbf`/`exp`
/// (integers, seconds), `status` (`active` or `revoked`) and `dev_key`
/// (a boolean; `true` marks a development key). Keys of other
/// types are kept as [`KeyMaterial::Unsupported`]; other members are ignored
/// (RFC 7517 §4).
///
/// ```
/// let vk = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
/// let doc = seal::jwks_json(&[seal::ed25519_jwk(&vk, Default::default(), false)]);
/// let keys = seal::KeySet::from_jwks_json(doc.as_bytes()).unwrap();
/// assert!(keys.get(seal::KeyId::thumbprint(&vk).as_str()).is_some());
/// ```
#[derive(Clone, Debug, Default)]
pub struct KeySet {
    keys: BTreeMap<String, KeyEntry>,
}

impl KeySet {
    /// Parses and checks a JWK Set document.
    pub fn from_jwks_json(bytes: &[u8]) -> Result<KeySet, Error> {
        let doc: Value = serde_json::from_slice(bytes).map_err(|e| Error::Jwks(format!("not JSON: {e}")))?;
        let keys = doc.get("keys").and_then(Value::as_array).ok_or_else(|| Error::Jwks("no \"keys\" array".into()))?;
        let mut set = KeySet::default();
        for (i, jwk) in keys.iter().enumerate() {
            let obj = jwk.as_object().ok_or_else(|| Error::Jwks(format!("keys[{i}] is not an object")))?;
            let entry = parse_jwk(obj).map_err(|e| Error::Jwks(format!("keys[{i}]: {e}")))?;
            if set.keys.contains_key(entry.kid.as_str()) {
                return Err(Error::Jwks(format!("duplicate kid {}", entry.kid)));
            }
            set.keys.insert(entry.kid.0.clone(), entry);
        }
        Ok(set)
    }

    /// The key with this `kid`.
    pub fn get(&self, kid: &str) -> Option<&KeyEntry> {
        self.keys.get(kid)
    }

    /// All keys, ordered by `kid`.
    pub fn iter(&self) -> impl Iterator<Item = &KeyEntry> {
        self.keys.values()
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn parse_jwk(obj: &Map<String, Value>) -> Result<KeyEntry, String> {
    let str_member = |name: &str| -> Result<Option<&str>, String> {
        match obj.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(format!("\"{name}\" is not a string")),
        }
    };
    let int_member = |name: &str| -> Result<Option<u64>, String> {
        match obj.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .filter(|n| *n <= crate::manifest::MAX_SAFE_INTEGER)
                .map(Some)
                .ok_or_else(|| format!("\"{name}\" is not a non-negative integer (seconds)")),
        }
    };
    let kid = str_member("kid")?.ok_or("no \"kid\"")?;
    let kid = KeyId::parse(kid).map_err(|e| e.to_string())?;
    let validity = Validity { nbf: int_member("nbf")?, exp: int_member("exp")? };
    if let (Some(nbf), Some(exp)) = (validity.nbf, validity.exp)
        && nbf >= exp
    {
        return Err(format!("key {kid}: nbf {nbf} is not before exp {exp}"));
    }
    let revoked = match str_member("status")? {
        None | Some("active") => false,
        Some("revoked") => true,
        Some(other) => return Err(format!("key {kid}: unknown status {other:?} (expected active or revoked)")),
    };
    let dev = match obj.get("dev_key") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(format!("key {kid}: \"dev_key\" is not a boolean")),
    };
    let alg = str_member("alg")?.map(str::to_owned);
    let kty = str_member("kty")?.ok_or("no \"kty\"")?;
    let crv = str_member("crv")?;
    let material = if kty == "OKP" && crv == Some("Ed25519") {
        if let Some(u) = str_member("use")?
            && u != "sig"
        {
            return Err(format!("key {kid}: \"use\" is {u:?}, not \"sig\""));
        }
        if let Some(a) = alg.as_deref()
            && !ED25519_ALGS.contains(&a)
        {
            return Err(format!("key {kid}: \"alg\" {a:?} is not EdDSA or Ed25519"));
        }
        let x = str_member("x")?.ok_or_else(|| format!("key {kid}: no \"x\""))?;
        let bytes = b64::decode(x).map_err(|e| format!("key {kid}: \"x\" {e}"))?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| format!("key {kid}: \"x\" is not 32 bytes"))?;
        let vk = VerifyingKey::from_bytes(&bytes).map_err(|_| format!("key {kid}: \"x\" is not a curve point"))?;
        if vk.is_weak() {
            return Err(format!("key {kid}: weak (small-order) Ed25519 key"));
        }
        let thumbprint = KeyId::thumbprint(&vk);
        if thumbprint != kid {
            return Err(format!("kid {kid} is not the key's RFC 7638 thumbprint {thumbprint}"));
        }
        KeyMaterial::Ed25519(vk)
    } else {
        KeyMaterial::Unsupported(format!("key type {kty}/{} is not supported by this verifier", crv.unwrap_or("-")))
    };
    Ok(KeyEntry { kid, material, validity, revoked, dev, alg })
}

fn trunc(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwks(keys: Value) -> Result<KeySet, Error> {
        KeySet::from_jwks_json(json!({ "keys": keys }).to_string().as_bytes())
    }

    #[test]
    fn rfc8037_thumbprint() {
        // RFC 8037 A.2/A.3.
        let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
        assert_eq!(KeyId::thumbprint_of_x(x).as_str(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn refuses_a_kid_that_is_not_the_thumbprint() {
        let vk = ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key();
        let mut jwk = ed25519_jwk(&vk, Validity::default(), false);
        jwk["kid"] = "someone-else".into();
        let err = jwks(json!([jwk])).unwrap_err().to_string();
        assert!(err.contains("not the key's RFC 7638 thumbprint"), "{err}");
    }

    #[test]
    fn refuses_weak_keys_duplicates_and_bad_members() {
        // The identity point (small order).
        let mut weak = [0u8; 32];
        weak[0] = 1;
        let x = b64::encode(&weak);
        let kid = KeyId::thumbprint_of_x(&x);
        let err = jwks(json!([{"kty":"OKP","crv":"Ed25519","x":x,"kid":kid.as_str()}])).unwrap_err();
        assert!(err.to_string().contains("weak"), "{err}");

        let vk = ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key();
        let jwk = ed25519_jwk(&vk, Validity::default(), false);
        assert!(jwks(json!([jwk, jwk])).unwrap_err().to_string().contains("duplicate kid"));
        let mut bad = jwk.clone();
        bad["status"] = "paused".into();
        assert!(jwks(json!([bad])).unwrap_err().to_string().contains("unknown status"));
        let mut bad = jwk.clone();
        bad["nbf"] = 10.into();
        bad["exp"] = 10.into();
        assert!(jwks(json!([bad])).unwrap_err().to_string().contains("not before exp"));
        let mut bad = jwk.clone();
        bad["dev_key"] = "yes".into();
        assert!(jwks(json!([bad])).unwrap_err().to_string().contains("dev_key"));
        let mut dev = jwk.clone();
        dev["dev_key"] = true.into();
        assert!(jwks(json!([dev])).unwrap().iter().next().unwrap().dev_key());
        let mut bad = jwk;
        bad["nbf"] = 1.5.into();
        assert!(jwks(json!([bad])).unwrap_err().to_string().contains("integer"));
    }

    #[test]
    fn keeps_unsupported_key_types() {
        let set = jwks(json!([{"kty":"EC","crv":"SM2","kid":"sm2-key-1","x":"AA","y":"AA"}])).unwrap();
        assert!(matches!(set.get("sm2-key-1").unwrap().material(), KeyMaterial::Unsupported(_)));
    }
}
