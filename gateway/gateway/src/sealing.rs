//! Seal keys and the transparency log's key at run time, and the manifest a
//! seal of an [`ApprovedVersion`] carries.
//!
//! Owns: where signing keys come from (a PKCS#8 PEM file whose permissions
//! are checked, `GATEWAY_SEAL_KEY`, or a development key generated on first
//! start and marked in every seal), registering them in the store, loading
//! the active key's signer behind `seal::Signer` (the seam for an HSM or an
//! SM2 device), key generation and rotation for the CLI, and the log's
//! C2SP note key. It does not decide *whether* something may be sealed
//! (`workflow::approved`) and holds no SQL (`store::seals`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use seal::note::{NoteSigner, NoteVerifier};
use seal::{Ed25519Signer, Manifest, Signer};

use crate::config::Settings;
use crate::store::{Db, NewSealKey, SealKeyRecord, StoreError};
use crate::workflow::approved::ApprovedVersion;

/// Why keys could not be set up or used.
#[derive(Debug, thiserror::Error)]
pub enum SealKeyError {
    #[error("seal key: {0}")]
    Key(String),
    /// Not marked as the source: its text is already in the message.
    #[error("seal key: {0}")]
    Seal(seal::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<seal::Error> for SealKeyError {
    fn from(e: seal::Error) -> SealKeyError {
        SealKeyError::Seal(e)
    }
}

/// The keys a running gateway seals and signs checkpoints with.
pub struct SealKeys {
    org_code: String,
    /// The key from `GATEWAY_SEAL_KEY`, held in memory only.
    env_signer: Option<Arc<Ed25519Signer>>,
    /// Signers loaded from key files, by kid.
    cache: Mutex<HashMap<String, Arc<dyn Signer>>>,
    log: NoteSigner,
}

impl std::fmt::Debug for SealKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealKeys").field("org_code", &self.org_code).field("log", &self.log).finish_non_exhaustive()
    }
}

/// Why a key may not seal under `org_code`: a production key on the
/// development default (docs/seal.md §9a).
fn org_code_problem(org_code: &str, kid: &str, dev: bool) -> Option<String> {
    (org_code == crate::config::DEFAULT_ORG_CODE && !dev).then(|| {
        format!(
            "seal key {kid} is a production key but [seal] org_code is the development default {}: \
             set it to your organ's code (two gateways on the default would issue the same serials)",
            crate::config::DEFAULT_ORG_CODE
        )
    })
}

/// The directory of generated keys (development seal key, log key).
pub fn keys_dir(settings: &Settings) -> PathBuf {
    settings.data_dir.join("keys")
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

pub(crate) fn ensure_private_dir(dir: &Path) -> Result<(), SealKeyError> {
    std::fs::create_dir_all(dir).map_err(|e| SealKeyError::Key(format!("cannot create {}: {e}", dir.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| SealKeyError::Key(format!("cannot restrict {}: {e}", dir.display())))?;
    }
    Ok(())
}

/// A key to register: its signer, public JWK and where the private key is.
fn new_key(signer: &Ed25519Signer, location: String, dev: bool) -> NewSealKey {
    let mut jwk = signer.jwk(seal::Validity::default());
    if let Some(map) = jwk.as_object_mut() {
        map.remove("nbf");
        map.remove("exp");
    }
    NewSealKey {
        kid: signer.kid().as_str().to_owned(),
        alg: signer.alg().to_owned(),
        public_jwk: jwk,
        dev,
        location,
        nbf: now_secs(),
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

impl SealKeys {
    /// Sets up the keys at start: the configured seal key (or the
    /// development key, generated on first start) is registered in the
    /// store and becomes the active key if it is new; the log key is read
    /// or generated. A key file that group or others may read stops the
    /// gateway here.
    pub async fn init(settings: &Settings, db: &Db) -> Result<SealKeys, SealKeyError> {
        let dir = keys_dir(settings);
        ensure_private_dir(&dir)?;
        let seal = &settings.seal;
        let mut env_signer = None;
        let (signer, key) = if let Some(path) = &seal.key_file {
            let signer = Ed25519Signer::from_key_file(path)?;
            let key = new_key(&signer, absolute(path).display().to_string(), false);
            (signer, key)
        } else if let Some(pem) = &seal.key_pem {
            let signer = Ed25519Signer::from_pkcs8_pem(pem.expose())?;
            env_signer = Some(Arc::new(Ed25519Signer::from_pkcs8_pem(pem.expose())?));
            let key = new_key(&signer, "env".into(), false);
            (signer, key)
        } else {
            let path = dir.join("dev-seal.pem");
            if !path.exists() {
                Ed25519Signer::generate().write_key_file(&path)?;
            }
            let signer = Ed25519Signer::from_key_file(&path)?.into_dev_key();
            tracing::warn!(
                kid = %signer.kid(),
                file = %path.display(),
                "NO SEAL KEY CONFIGURED: using a DEVELOPMENT seal key; every seal says \"dev_key\": true and \
                 production channels must refuse it. Set [seal] key_file or GATEWAY_SEAL_KEY."
            );
            let key = new_key(&signer, absolute(&path).display().to_string(), true);
            (signer, key)
        };
        // Refused before anything is registered.
        if let Some(problem) = org_code_problem(&seal.org_code, &key.kid, key.dev) {
            return Err(SealKeyError::Key(problem));
        }
        if db.register_seal_key(&key).await? {
            tracing::info!(kid = %signer.kid(), "seal key registered and active");
        }
        let log = log_signer(&dir, &seal.log_name)?;
        let keys = SealKeys { org_code: seal.org_code.clone(), env_signer, cache: Mutex::default(), log };
        match db.seal_keys().await?.into_iter().find(SealKeyRecord::is_active) {
            Some(active) => {
                if let Some(problem) = keys.org_code_problem(&active) {
                    return Err(SealKeyError::Key(problem));
                }
                keys.signer_for(&active)?;
            }
            None => tracing::error!(
                "no active seal key (all revoked or retired): sealing is refused until `gateway keys rotate`"
            ),
        }
        Ok(keys)
    }

    /// The organ code that starts serials.
    pub fn org_code(&self) -> &str {
        &self.org_code
    }

    /// Why `key` may not seal under this organ code: the default organ code
    /// is for the development key only (two gateways on it would issue the
    /// same serials). Checked at start and in every sealing transaction, so
    /// a production key rotated in later is covered too.
    pub fn org_code_problem(&self, key: &SealKeyRecord) -> Option<String> {
        org_code_problem(&self.org_code, &key.kid, key.dev)
    }

    /// The transparency log's note signer.
    pub fn log_signer(&self) -> &NoteSigner {
        &self.log
    }

    /// The transparency log's public key.
    pub fn log_verifier(&self) -> &NoteVerifier {
        self.log.verifier()
    }

    /// The signer of a key of the store: from the environment, or its file
    /// (permissions checked), marked as a development key if it is one.
    pub fn signer_for(&self, key: &SealKeyRecord) -> Result<Arc<dyn Signer>, SealKeyError> {
        if !key.is_active() {
            return Err(SealKeyError::Key(format!("key {} is {}, not active", key.kid, key.status)));
        }
        if let Some(s) = self.cache.lock().expect("cache lock").get(&key.kid) {
            return Ok(s.clone());
        }
        let signer: Arc<dyn Signer> = if key.location == "env" {
            match &self.env_signer {
                Some(s) if s.kid().as_str() == key.kid => s.clone(),
                _ => {
                    return Err(SealKeyError::Key(format!(
                        "the active key {} is held in GATEWAY_SEAL_KEY, which does not hold it now",
                        key.kid
                    )));
                }
            }
        } else {
            let s = Ed25519Signer::from_key_file(Path::new(&key.location))?;
            let s = if key.dev { s.into_dev_key() } else { s };
            if s.kid().as_str() != key.kid {
                return Err(SealKeyError::Key(format!(
                    "{} holds key {}, not the registered {}",
                    key.location,
                    s.kid(),
                    key.kid
                )));
            }
            Arc::new(s)
        };
        self.cache.lock().expect("cache lock").insert(key.kid.clone(), signer.clone());
        Ok(signer)
    }
}

/// The transparency log's public key, from the key file of `settings`'s
/// data directory (for `gateway seal audit`; never generates one).
pub fn log_verifier(settings: &Settings) -> Result<NoteVerifier, SealKeyError> {
    let dir = keys_dir(settings);
    if !dir.join("log.key").exists() {
        return Err(SealKeyError::Key(format!("no log key in {}", dir.display())));
    }
    Ok(log_signer(&dir, &settings.seal.log_name)?.verifier().clone())
}

/// Reads the log's note key from `<keys>/log.key` (`PRIVATE+KEY+…`, mode
/// 0600), generating it on first start.
fn log_signer(dir: &Path, name: &str) -> Result<NoteSigner, SealKeyError> {
    let path = dir.join("log.key");
    if !path.exists() {
        let signer = NoteSigner::generate(name)?;
        write_private(&path, &format!("{}\n", signer.skey()))?;
        tracing::info!(vkey = %signer.verifier().vkey(), "transparency log key generated");
        return Ok(signer);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path)
            .map_err(|e| SealKeyError::Key(format!("cannot read {}: {e}", path.display())))?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            return Err(SealKeyError::Key(format!(
                "key file {} has mode {mode:o}: group or others may access it (run chmod 600 {})",
                path.display(),
                path.display()
            )));
        }
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| SealKeyError::Key(format!("cannot read {}: {e}", path.display())))?;
    let signer = NoteSigner::from_skey(text.trim())?;
    if signer.verifier().name() != name {
        return Err(SealKeyError::Key(format!(
            "{} is the key of log {:?}, but [seal] log_name is {name:?}",
            path.display(),
            signer.verifier().name()
        )));
    }
    Ok(signer)
}

fn write_private(path: &Path, text: &str) -> Result<(), SealKeyError> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(|e| SealKeyError::Key(format!("cannot create {}: {e}", path.display())))?;
    f.write_all(text.as_bytes()).map_err(|e| SealKeyError::Key(format!("cannot write {}: {e}", path.display())))
}

/// `gateway keys generate`: a new key file (mode 0600, never overwritten);
/// returns its kid.
pub fn generate_key_file(out: &Path) -> Result<String, SealKeyError> {
    let signer = Ed25519Signer::generate();
    signer.write_key_file(out)?;
    Ok(signer.kid().as_str().to_owned())
}

/// `gateway keys rotate`: the key in `key_file` becomes the active key; the
/// active one is retired (still published, with `exp` = when it stopped), so
/// its seals keep verifying. A running gateway signs with the new key from
/// its next seal on.
pub async fn rotate(db: &Db, key_file: &Path) -> Result<SealKeyRecord, SealKeyError> {
    let signer = Ed25519Signer::from_key_file(key_file)?;
    let key = new_key(&signer, absolute(key_file).display().to_string(), false);
    Ok(db.rotate_seal_key(&key).await?)
}

/// The pseudonym of a person in a public manifest: `psn-` and the first 12
/// hex digits of SHA-256 of their user id.
pub fn pseudonym(user: crate::model::UserId) -> String {
    format!("psn-{}", &seal::Sha256::of(user.to_string().as_bytes()).to_string()[..12])
}

/// What a seal is made with besides the approved version.
pub struct SealParams<'a> {
    pub serial: String,
    pub sealed_at: u64,
    pub not_before: u64,
    pub supersedes: Option<String>,
    pub signer: &'a dyn Signer,
}

/// The manifest for a seal of `approved` (docs/seal.md section 3): no
/// personal names, the sign-off by pseudonym.
pub fn manifest(approved: &ApprovedVersion, p: &SealParams<'_>) -> Result<Manifest, String> {
    let content = approved.content();
    let review = approved.seal_review();
    let hex = |what: &str, s: &str| {
        seal::Sha256::from_hex(s.strip_prefix("sha256:").unwrap_or(s)).map_err(|e| format!("{what}: {e}"))
    };
    let plugins = review
        .outcome
        .plugins
        .iter()
        .map(|run| {
            Ok(seal::PluginRef {
                name: run.name.clone(),
                version: run.version.clone(),
                sha256: hex("plugin sha256", &run.sha256)?,
                sm3: None,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let sign_off = approved.sign_off();
    let m = Manifest {
        format: seal::MANIFEST_FORMAT.into(),
        serial: p.serial.clone(),
        item: seal::ItemRef {
            id: approved.item_id().to_string(),
            version: u64::try_from(approved.version()).map_err(|_| "negative version".to_owned())?,
        },
        content: seal::ContentRef {
            format: seal::CONTENT_FORMAT.into(),
            sha256: approved.content_digest().into(),
            sm3: None,
        },
        attribute: match content.attribute {
            crate::model::Attribute::Public => seal::Attribute::Public,
            crate::model::Attribute::OnRequest => seal::Attribute::OnRequest,
            crate::model::Attribute::Withheld => seal::Attribute::Withheld,
        },
        issuer: content.issuer.clone().ok_or("事项没有发布机关（issuer），不能加盖信息公开专用章")?,
        doc_number: content.doc_number.clone(),
        channels: content.channels.clone(),
        not_before: p.not_before,
        sealed_at: p.sealed_at,
        review: seal::ReviewRef {
            policy: seal::DigestRef { sha256: hex("policy hash", &review.policy_hash)?, sm3: None },
            plugins,
            approvals: seal::DigestRef { sha256: approved.approvals_digest(), sm3: None },
        },
        sign_off: seal::SignOff {
            responsible: pseudonym(sign_off.user),
            role: sign_off.role.clone(),
            statement: sign_off.statement.clone(),
            statement_version: sign_off.statement_version,
        },
        supersedes: p.supersedes.clone(),
        key: seal::KeyRef::of(p.signer),
        dev_key: p.signer.dev_key(),
    };
    m.validate().map_err(|e| e.to_string())?;
    Ok(m)
}

/// Signs the log's checkpoint of `size` leaves with root `root`, carrying
/// the audit head as its extension line (it anchors the audit chain).
pub fn sign_anchor(
    keys: &SealKeys,
    size: u64,
    root: seal::tlog::Hash,
    head: &crate::store::AuditHead,
) -> Result<String, SealKeyError> {
    let checkpoint = seal::note::Checkpoint {
        origin: keys.log_verifier().name().to_owned(),
        size,
        root,
        extensions: vec![head.extension_line()],
    };
    Ok(keys.log_signer().sign_checkpoint(&checkpoint)?)
}
