//! Making seals (feature `sign`): the [`Signer`] trait, the file-key
//! implementation [`Ed25519Signer`] (PKCS#8 v1 PEM, permission checks, key
//! generation) and [`sign`].
//!
//! The trait is the seam for an HSM (PKCS#11 `CKM_EDDSA`) or an SM2 signing
//! device: it signs bytes and names its key and algorithm, nothing more.
//! This module does not decide *whether* something may be sealed; the
//! gateway's review does.

use std::fmt;
use std::path::Path;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, KeypairBytes};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

use crate::jws::{self, Header};
use crate::keys::{ALG_EDDSA, Validity};
use crate::{Error, KeyId, Manifest, Sha256};

/// Something that signs seals: a file key, an HSM, a signing server.
///
/// ```
/// use seal::Signer;
/// let s = seal::Ed25519Signer::from_seed(&[7; 32]);
/// assert_eq!(s.alg(), "EdDSA");
/// assert_eq!(s.sign(b"hello").unwrap().len(), 64);
/// ```
pub trait Signer: Send + Sync {
    /// The JWS `alg` it signs with (`EdDSA`).
    fn alg(&self) -> &str;
    /// The id of its key (the RFC 7638 thumbprint for Ed25519).
    fn kid(&self) -> &KeyId;
    /// Signs `message` (the JWS signing input). Fallible: a device may be away.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error>;
    /// Whether this is a development key; seals it makes say `"dev_key": true`.
    fn dev_key(&self) -> bool {
        false
    }
}

/// An Ed25519 key held in memory, read from a PKCS#8 PEM file or string.
pub struct Ed25519Signer {
    key: SigningKey,
    kid: KeyId,
    dev: bool,
}

impl fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ed25519Signer").field("kid", &self.kid).field("dev", &self.dev).finish_non_exhaustive()
    }
}

impl Ed25519Signer {
    /// A fresh key from the operating system's random generator.
    pub fn generate() -> Ed25519Signer {
        Ed25519Signer::new(SigningKey::generate(&mut rand::rngs::OsRng))
    }

    /// The key with this 32-byte seed (RFC 8032 private key). For tests and
    /// test vectors; production keys come from files.
    pub fn from_seed(seed: &[u8; 32]) -> Ed25519Signer {
        Ed25519Signer::new(SigningKey::from_bytes(seed))
    }

    fn new(key: SigningKey) -> Ed25519Signer {
        let kid = KeyId::thumbprint(&key.verifying_key());
        Ed25519Signer { key, kid, dev: false }
    }

    /// Reads a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`, v1 or
    /// v2), e.g. from an environment variable holding the PEM text.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Ed25519Signer, Error> {
        let key = SigningKey::from_pkcs8_pem(pem.trim())
            .map_err(|e| Error::PrivateKey(format!("not an Ed25519 PKCS#8 PEM key: {e}")))?;
        Ok(Ed25519Signer::new(key))
    }

    /// Reads a key file, refusing on unix a file that group or others may
    /// access in any way (mode `& 0o077 != 0`).
    pub fn from_key_file(path: &Path) -> Result<Ed25519Signer, Error> {
        check_private(path)?;
        let pem = std::fs::read_to_string(path)
            .map_err(|e| Error::PrivateKey(format!("cannot read {}: {e}", path.display())))?;
        Ed25519Signer::from_pkcs8_pem(&pem).map_err(|e| match e {
            Error::PrivateKey(m) => Error::PrivateKey(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// The PKCS#8 **v1** PEM (RFC 8410, no public key member): the form that
    /// OpenSSL, Python `cryptography` and node read, byte-identical to
    /// `openssl genpkey -algorithm ed25519`.
    pub fn to_pkcs8_pem(&self) -> String {
        let bytes = KeypairBytes { secret_key: self.key.to_bytes(), public_key: None };
        let pem = bytes.to_pkcs8_pem(LineEnding::LF).expect("an Ed25519 key encodes");
        String::clone(&pem)
    }

    /// Writes [`Self::to_pkcs8_pem`] to a new file with mode 0600; refuses to
    /// overwrite an existing file.
    pub fn write_key_file(&self, path: &Path) -> Result<(), Error> {
        use std::io::Write as _;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(path).map_err(|e| Error::PrivateKey(format!("cannot create {}: {e}", path.display())))?;
        f.write_all(self.to_pkcs8_pem().as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::PrivateKey(format!("cannot write {}: {e}", path.display())))
    }

    /// Marks this as a development key: every seal it makes says
    /// `"dev_key": true`, and verifiers report (or refuse) it.
    pub fn into_dev_key(mut self) -> Ed25519Signer {
        self.dev = true;
        self
    }

    /// The public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The key's JWK, to publish in the JWKS; a development key carries
    /// `"dev_key": true` (the key set says what a development key is).
    pub fn jwk(&self, validity: Validity) -> serde_json::Value {
        let mut jwk = crate::ed25519_jwk(&self.verifying_key(), validity, false);
        if self.dev
            && let Some(map) = jwk.as_object_mut()
        {
            map.insert("dev_key".into(), true.into());
        }
        jwk
    }
}

impl Signer for Ed25519Signer {
    fn alg(&self) -> &str {
        ALG_EDDSA
    }
    fn kid(&self) -> &KeyId {
        &self.kid
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        Ok(self.key.sign(message).to_bytes().to_vec())
    }
    fn dev_key(&self) -> bool {
        self.dev
    }
}

/// Refuses a key file that group or others may access.
fn check_private(path: &Path) -> Result<(), Error> {
    let meta =
        std::fs::metadata(path).map_err(|e| Error::PrivateKey(format!("cannot read {}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(Error::PrivateKey(format!("{} is not a file", path.display())));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::KeyFilePermissions { path: path.display().to_string(), mode });
        }
    }
    Ok(())
}

/// A made seal: the JWS compact string and what the log and store need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    jws: String,
    payload: Vec<u8>,
    seal_id: Sha256,
    serial: String,
}

impl Seal {
    /// The JWS compact serialisation: what channels receive.
    pub fn as_str(&self) -> &str {
        &self.jws
    }
    /// The canonical manifest bytes that were signed.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }
    /// SHA-256 of the payload: the seal's stable id.
    pub fn seal_id(&self) -> Sha256 {
        self.seal_id
    }
    /// The seal serial number.
    pub fn serial(&self) -> &str {
        &self.serial
    }
    /// The transparency-log leaf hash of this seal: RFC 9162
    /// `SHA-256(0x00 || jws bytes)`.
    pub fn leaf_hash(&self) -> crate::tlog::Hash {
        crate::tlog::leaf_hash(self.jws.as_bytes())
    }
    /// The JWS string.
    pub fn into_string(self) -> String {
        self.jws
    }
}

impl crate::KeyRef {
    /// The `key` member for seals made by `signer`.
    pub fn of(signer: &dyn Signer) -> crate::KeyRef {
        crate::KeyRef { kid: signer.kid().as_str().to_owned(), alg: signer.alg().to_owned() }
    }
}

/// Signs a manifest: validates it, checks that its `key` and `dev_key` match
/// the signer, serialises it canonically (RFC 8785), re-parses the bytes to
/// be sure they mean the same manifest, and signs the JWS signing input.
///
/// ```
/// use seal::Signer as _;
/// let signer = seal::Ed25519Signer::from_seed(&[7; 32]);
/// let mut m = seal::Manifest::example();
/// m.key = seal::KeyRef::of(&signer);
/// let made = seal::sign(&m, &signer).unwrap();
/// let keys = seal::KeySet::from_jwks_json(seal::jwks_json(&[signer.jwk(Default::default())]).as_bytes()).unwrap();
/// let ok = seal::verify(made.as_str(), &keys, &Default::default()).unwrap();
/// assert_eq!(ok.manifest, m);
/// ```
pub fn sign(manifest: &Manifest, signer: &dyn Signer) -> Result<Seal, Error> {
    if manifest.key.kid != signer.kid().as_str() || manifest.key.alg != signer.alg() {
        return Err(Error::Sign(format!(
            "the manifest names key {}/{} but the signer is {}/{}",
            manifest.key.kid,
            manifest.key.alg,
            signer.kid(),
            signer.alg()
        )));
    }
    if manifest.dev_key != signer.dev_key() {
        return Err(Error::Sign(format!(
            "the manifest says dev_key {} but the signer's key is {}a development key",
            manifest.dev_key,
            if signer.dev_key() { "" } else { "not " }
        )));
    }
    let payload = manifest.to_canonical_bytes()?;
    if Manifest::from_payload(&payload)? != *manifest {
        return Err(Error::Sign("the canonical bytes do not parse back to the same manifest".into()));
    }
    let header =
        Header { alg: signer.alg().to_owned(), kid: signer.kid().as_str().to_owned(), typ: jws::TYP.to_owned() };
    let input = jws::signing_input(&header, &payload);
    let signature = signer.sign(input.as_bytes())?;
    if signature.len() != 64 {
        return Err(Error::Sign(format!(
            "the signer returned {} bytes, not a 64-byte Ed25519 signature",
            signature.len()
        )));
    }
    Ok(Seal {
        jws: jws::finish(input, &signature),
        seal_id: Sha256::of(&payload),
        serial: manifest.serial.clone(),
        payload,
    })
}
