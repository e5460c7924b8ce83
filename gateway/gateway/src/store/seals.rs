//! Storage of seals: signing keys (public halves and where the private key
//! is), issued seals and their status, the serial counter, the transparency
//! log (leaves and signed checkpoints) and the publication outbox row.
//!
//! The sealing transaction is `service::seal::seal`: it decides and signs,
//! and stores through the [`Tx`](super::Tx) methods here (the seal, its
//! log leaf and checkpoint, the item's move to `sealed`, `seal.issue` in
//! the audit chain, the outbox row). [`Db::seal_audit`] checks that log,
//! seals and audit chain agree.

use serde::Serialize;
use serde_json::{Value, json};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Db, Result, StoreError, audit, from_json_text, json_text, parse_column};
use crate::model::{ItemId, ItemState, Timestamp, UserId};
use crate::workflow::approved::ApprovedVersion;
use seal::tlog::{self, Hash};

/// A key to register or rotate to.
#[derive(Clone, Debug)]
pub struct NewSealKey {
    pub kid: String,
    pub alg: String,
    /// The public JWK without validity or status members.
    pub public_jwk: Value,
    pub dev: bool,
    /// A key file path, or `env`.
    pub location: String,
    /// When it may start sealing (seconds).
    pub nbf: u64,
}

/// A seal key as stored.
#[derive(Clone, Debug, Serialize)]
pub struct SealKeyRecord {
    pub kid: String,
    pub alg: String,
    pub public_jwk: Value,
    pub nbf: i64,
    pub exp: Option<i64>,
    /// `active`, `retired` or `revoked`.
    pub status: String,
    pub dev: bool,
    pub location: String,
    pub created_at: Timestamp,
    pub retired_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl SealKeyRecord {
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }

    pub fn is_revoked(&self) -> bool {
        self.status == "revoked"
    }

    /// The JWK as published: the public key with `nbf`, `exp` (a retired
    /// key's end) and `status` (`active` or `revoked`: docs/seal.md knows no
    /// third value, so a retired key is `active` with an `exp`), and
    /// `dev_key: true` for a development key.
    pub fn published_jwk(&self) -> Value {
        let mut jwk = self.public_jwk.clone();
        if let Some(map) = jwk.as_object_mut() {
            map.insert("nbf".into(), self.nbf.into());
            if let Some(exp) = self.exp {
                map.insert("exp".into(), exp.into());
            }
            map.insert("status".into(), if self.is_revoked() { "revoked" } else { "active" }.into());
            if self.dev {
                map.insert("dev_key".into(), true.into());
            }
        }
        jwk
    }
}

/// The status of a seal serial (IETF Token Status List values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SealState {
    /// 0x00.
    Valid,
    /// 0x01: 撤回.
    Withdrawn,
    /// 0x02: 暂停.
    Suspended,
    /// 0x03: replaced by a correction (更正).
    Superseded,
}

impl SealState {
    pub fn as_str(self) -> &'static str {
        match self {
            SealState::Valid => "valid",
            SealState::Withdrawn => "withdrawn",
            SealState::Suspended => "suspended",
            SealState::Superseded => "superseded",
        }
    }

    /// The status code in a Token Status List (2 bits).
    pub fn code(self) -> u8 {
        match self {
            SealState::Valid => 0,
            SealState::Withdrawn => 1,
            SealState::Suspended => 2,
            SealState::Superseded => 3,
        }
    }

    pub fn parse(s: &str) -> Option<SealState> {
        [SealState::Valid, SealState::Withdrawn, SealState::Suspended, SealState::Superseded]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// A seal as stored.
#[derive(Clone, Debug, Serialize)]
pub struct SealRecord {
    pub serial: String,
    pub item_id: ItemId,
    pub version: i64,
    pub content_digest: String,
    pub kid: String,
    pub jws: String,
    pub manifest: Value,
    pub status: SealState,
    pub supersedes: Option<String>,
    pub sealed_at: i64,
    pub not_before: i64,
    pub log_index: i64,
    pub status_changed_at: Timestamp,
}

/// One entry of the status list.
#[derive(Clone, Debug, Serialize)]
pub struct SealStatusEntry {
    pub log_index: i64,
    pub serial: String,
    pub status: SealState,
    /// Whether the key that made it is revoked (then no verifier accepts it).
    pub key_revoked: bool,
    /// Whether the item is 主动公开 (`attribute` public).
    pub public: bool,
    /// Not to be published before (seconds).
    pub not_before: i64,
}

/// What `gateway seal audit` found.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SealAudit {
    pub seals: usize,
    pub leaves: usize,
    pub checkpoints: usize,
    /// The first disagreement, if any.
    pub problem: Option<String>,
}

fn key_from_row(r: &AnyRow) -> Result<SealKeyRecord> {
    let ts = |c: &str| -> Result<Option<Timestamp>> {
        r.try_get::<Option<String>, _>(c)?.map(|t| parse_column(c, &t)).transpose()
    };
    Ok(SealKeyRecord {
        kid: r.try_get("kid")?,
        alg: r.try_get("alg")?,
        public_jwk: from_json_text("public_jwk", &r.try_get::<String, _>("public_jwk")?)?,
        nbf: r.try_get("nbf")?,
        exp: r.try_get("exp")?,
        status: r.try_get("status")?,
        dev: r.try_get::<i64, _>("dev")? != 0,
        location: r.try_get("location")?,
        created_at: parse_column("created_at", &r.try_get::<String, _>("created_at")?)?,
        retired_at: ts("retired_at")?,
        revoked_at: ts("revoked_at")?,
    })
}

fn seal_from_row(r: &AnyRow) -> Result<SealRecord> {
    let status: String = r.try_get("status")?;
    Ok(SealRecord {
        serial: r.try_get("serial")?,
        item_id: parse_column("item_id", &r.try_get::<String, _>("item_id")?)?,
        version: r.try_get("version")?,
        content_digest: r.try_get("content_digest")?,
        kid: r.try_get("kid")?,
        jws: r.try_get("jws")?,
        manifest: from_json_text("manifest", &r.try_get::<String, _>("manifest")?)?,
        status: SealState::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("seal status {status}")))?,
        supersedes: r.try_get("supersedes")?,
        sealed_at: r.try_get("sealed_at")?,
        not_before: r.try_get("not_before")?,
        log_index: r.try_get("log_index")?,
        status_changed_at: parse_column("status_changed_at", &r.try_get::<String, _>("status_changed_at")?)?,
    })
}

fn secs(t: Timestamp) -> i64 {
    t.as_offset().unix_timestamp()
}

/// Takes the log head's row lock: sealing and key changes are serialised
/// by it, so a key is never retired under a seal being made with it.
async fn lock_log(conn: &mut AnyConnection) -> Result<i64> {
    let row = sqlx::query("UPDATE tlog_head SET size = size WHERE id = 1 RETURNING size").fetch_one(&mut *conn).await?;
    Ok(row.try_get("size")?)
}

async fn active_key(conn: &mut AnyConnection) -> Result<Option<SealKeyRecord>> {
    sqlx::query("SELECT * FROM seal_keys WHERE status = 'active'")
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(key_from_row)
        .transpose()
}

async fn insert_key(conn: &mut AnyConnection, key: &NewSealKey, now: Timestamp) -> Result<()> {
    let inserted = sqlx::query(
        "INSERT INTO seal_keys (kid, alg, public_jwk, nbf, exp, status, dev, location, created_at) \
         VALUES ($1, $2, $3, $4, NULL, 'active', $5, $6, $7)",
    )
    .bind(key.kid.as_str())
    .bind(key.alg.as_str())
    .bind(json_text(&key.public_jwk))
    .bind(i64::try_from(key.nbf).unwrap_or(i64::MAX))
    .bind(i64::from(key.dev))
    .bind(key.location.as_str())
    .bind(now.to_string())
    .execute(&mut *conn)
    .await;
    match inserted {
        Err(e) if super::is_unique_violation(&e) => Err(StoreError::Conflict("seal key already registered")),
        r => r.map(|_| ()).map_err(Into::into),
    }
}

/// Retires the active key, if any: `exp` is one second after both now and
/// its last seal, so every seal it made lies inside its validity.
async fn retire_active(conn: &mut AnyConnection, now: Timestamp) -> Result<Option<String>> {
    let Some(active) = active_key(conn).await? else { return Ok(None) };
    let last: Option<i64> = sqlx::query("SELECT MAX(sealed_at) AS m FROM seals WHERE kid = $1")
        .bind(active.kid.as_str())
        .fetch_one(&mut *conn)
        .await?
        .try_get("m")?;
    let exp = secs(now).max(last.unwrap_or(0)).max(active.nbf) + 1;
    sqlx::query("UPDATE seal_keys SET status = 'retired', exp = $1, retired_at = $2 WHERE kid = $3")
        .bind(exp)
        .bind(now.to_string())
        .bind(active.kid.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(Some(active.kid))
}

impl Db {
    /// Every seal key, oldest first.
    pub async fn seal_keys(&self) -> Result<Vec<SealKeyRecord>> {
        let rows = sqlx::query("SELECT * FROM seal_keys ORDER BY created_at, kid").fetch_all(&self.pool).await?;
        rows.iter().map(key_from_row).collect()
    }

    /// Registers the configured key at start. A key not seen before becomes
    /// the active key (the previous one is retired); a known key, whatever
    /// its status, is left as it is (a retired or revoked key never comes
    /// back). Returns whether it was new.
    pub async fn register_seal_key(&self, key: &NewSealKey) -> Result<bool> {
        let now = Timestamp::now();
        let mut tx = self.pool.begin().await?;
        lock_log(&mut tx).await?;
        let known = sqlx::query("SELECT kid FROM seal_keys WHERE kid = $1")
            .bind(key.kid.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if known {
            return Ok(false);
        }
        let retired = retire_active(&mut tx, now).await?;
        insert_key(&mut tx, key, now).await?;
        audit::append(
            &mut tx,
            None,
            "seal.key.activate",
            None,
            json!({ "kid": key.kid, "dev_key": key.dev, "retired": retired, "source": "configuration" }),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Makes `key` the active key and retires the current one (still
    /// published, so its seals keep verifying).
    pub async fn rotate_seal_key(&self, key: &NewSealKey) -> Result<SealKeyRecord> {
        let now = Timestamp::now();
        let mut tx = self.pool.begin().await?;
        lock_log(&mut tx).await?;
        let retired = retire_active(&mut tx, now).await?;
        insert_key(&mut tx, key, now).await?;
        audit::append(
            &mut tx,
            None,
            "seal.key.rotate",
            None,
            json!({ "kid": key.kid, "dev_key": key.dev, "retired": retired }),
        )
        .await?;
        let record = key_from_row(
            &sqlx::query("SELECT * FROM seal_keys WHERE kid = $1").bind(key.kid.as_str()).fetch_one(&mut *tx).await?,
        )?;
        tx.commit().await?;
        Ok(record)
    }

    /// Retires a key: it signs no more and stays published with `exp` set,
    /// so its seals keep verifying. Retiring the active key without rotating
    /// leaves no active key: sealing is refused until `keys rotate`.
    pub async fn retire_seal_key(&self, kid: &str, actor: Option<UserId>) -> Result<SealKeyRecord> {
        let now = Timestamp::now();
        let mut tx = self.pool.begin().await?;
        lock_log(&mut tx).await?;
        let key = self.key_in(&mut tx, kid).await?;
        match key.status.as_str() {
            "active" => {
                retire_active(&mut tx, now).await?;
            }
            "revoked" => return Err(StoreError::Conflict("a revoked key stays revoked")),
            _ => return Ok(key),
        }
        audit::append(&mut tx, actor, "seal.key.retire", None, json!({ "kid": kid })).await?;
        let key = self.key_in(&mut tx, kid).await?;
        tx.commit().await?;
        Ok(key)
    }

    /// Revokes a key: published as revoked, and every seal it made reports
    /// `revoked` from the next request on. If it was the active key, sealing
    /// is refused until a new key is rotated in.
    pub async fn revoke_seal_key(&self, kid: &str, actor: Option<UserId>) -> Result<SealKeyRecord> {
        let now = Timestamp::now();
        let mut tx = self.pool.begin().await?;
        lock_log(&mut tx).await?;
        let key = self.key_in(&mut tx, kid).await?;
        if key.is_revoked() {
            return Ok(key);
        }
        let exp = key.exp.unwrap_or_else(|| secs(now).max(key.nbf) + 1);
        sqlx::query("UPDATE seal_keys SET status = 'revoked', revoked_at = $1, exp = $2 WHERE kid = $3")
            .bind(now.to_string())
            .bind(exp)
            .bind(kid)
            .execute(&mut *tx)
            .await?;
        let seals: i64 = sqlx::query("SELECT COUNT(*) AS n FROM seals WHERE kid = $1")
            .bind(kid)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        audit::append(&mut tx, actor, "seal.key.revoke", None, json!({ "kid": kid, "seals_affected": seals })).await?;
        let key = self.key_in(&mut tx, kid).await?;
        tx.commit().await?;
        Ok(key)
    }

    async fn key_in(&self, conn: &mut AnyConnection, kid: &str) -> Result<SealKeyRecord> {
        sqlx::query("SELECT * FROM seal_keys WHERE kid = $1")
            .bind(kid)
            .fetch_optional(&mut *conn)
            .await?
            .as_ref()
            .map(key_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound)
    }

    /// A seal by serial, with the key that made it.
    pub async fn seal_by_serial(&self, serial: &str) -> Result<(SealRecord, SealKeyRecord)> {
        let mut conn = self.pool.acquire().await?;
        let seal = sqlx::query("SELECT * FROM seals WHERE serial = $1")
            .bind(serial)
            .fetch_optional(&mut *conn)
            .await?
            .as_ref()
            .map(seal_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound)?;
        let key = self.key_in(&mut conn, &seal.kid).await?;
        Ok((seal, key))
    }

    /// Seals of an item, in log order.
    pub async fn seals_of_item(&self, item: ItemId) -> Result<Vec<SealRecord>> {
        let rows = sqlx::query("SELECT * FROM seals WHERE item_id = $1 ORDER BY log_index")
            .bind(item.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(seal_from_row).collect()
    }

    /// The status list from log index `after` (exclusive), in log order.
    pub async fn seal_statuses(&self, after: i64, limit: i64) -> Result<Vec<SealStatusEntry>> {
        let rows = sqlx::query(
            "SELECT s.log_index, s.serial, s.status, s.manifest, s.not_before, k.status AS key_status FROM seals s \
             JOIN seal_keys k ON k.kid = s.kid WHERE s.log_index > $1 ORDER BY s.log_index LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get("status")?;
                Ok(SealStatusEntry {
                    log_index: r.try_get("log_index")?,
                    serial: r.try_get("serial")?,
                    status: SealState::parse(&status)
                        .ok_or_else(|| StoreError::Corrupt(format!("seal status {status}")))?,
                    key_revoked: r.try_get::<String, _>("key_status")? == "revoked",
                    public: from_json_text::<Value>("manifest", &r.try_get::<String, _>("manifest")?)?["attribute"]
                        == "public",
                    not_before: r.try_get("not_before")?,
                })
            })
            .collect()
    }

    /// Sets a seal's status (撤回 `withdrawn`, `suspended`, or back to
    /// `valid` from `suspended`), with an audit event, in one transaction.
    /// For the withdrawal workflow (issue 9).
    pub async fn set_seal_status(
        &self,
        serial: &str,
        status: SealState,
        actor: Option<UserId>,
        reason: &str,
    ) -> Result<SealRecord> {
        let now = Timestamp::now();
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE seals SET status = $1, status_changed_at = $2 WHERE serial = $3 AND status NOT IN ('withdrawn', 'superseded')",
        )
        .bind(status.as_str())
        .bind(now.to_string())
        .bind(serial)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            let exists =
                sqlx::query("SELECT serial FROM seals WHERE serial = $1").bind(serial).fetch_optional(&mut *tx).await?;
            return Err(if exists.is_some() {
                StoreError::Conflict("a withdrawn or superseded seal keeps its status")
            } else {
                StoreError::NotFound
            });
        }
        let record = seal_from_row(
            &sqlx::query("SELECT * FROM seals WHERE serial = $1").bind(serial).fetch_one(&mut *tx).await?,
        )?;
        audit::append(
            &mut tx,
            actor,
            "seal.status",
            Some((record.item_id, record.version)),
            json!({ "serial": serial, "status": status.as_str(), "reason": reason }),
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    /// The newest signed checkpoint that anchors the audit chain (the
    /// widest audit head), if any.
    pub async fn latest_anchor(&self) -> Result<Option<String>> {
        let row = sqlx::query("SELECT note FROM audit_anchors ORDER BY events DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok(r.try_get("note")?)).transpose()
    }

    /// The log's leaf hashes, in order.
    pub async fn tlog_leaf_hashes(&self) -> Result<Vec<Hash>> {
        let mut conn = self.pool.acquire().await?;
        leaf_hashes(&mut conn).await
    }

    /// The log index of a seal.
    pub async fn tlog_index_of(&self, serial: &str) -> Result<i64> {
        let row = sqlx::query("SELECT idx FROM tlog_leaves WHERE serial = $1")
            .bind(serial)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(row.try_get("idx")?)
    }

    /// The signed checkpoint of a tree size, or the newest.
    pub async fn tlog_checkpoint(&self, size: Option<i64>) -> Result<Option<(i64, String)>> {
        let row = match size {
            Some(n) => {
                sqlx::query("SELECT size, note FROM tlog_checkpoints WHERE size = $1")
                    .bind(n)
                    .fetch_optional(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("SELECT size, note FROM tlog_checkpoints ORDER BY size DESC LIMIT 1")
                    .fetch_optional(&self.pool)
                    .await?
            }
        };
        row.map(|r| Ok((r.try_get("size")?, r.try_get("note")?))).transpose()
    }

    /// `gateway seal audit`: recomputes the tree from the leaves; checks
    /// that every seal has its leaf (with the right hash) and every leaf its
    /// seal, that every checkpoint verifies with the log key, matches the
    /// tree at its size and is consistent with the previous one, that the
    /// audit chain is intact and holds a `seal.issue` event with the serial
    /// and content digest of every seal, and no other. Names the first
    /// disagreement.
    pub async fn seal_audit(&self, log_key: &seal::note::NoteVerifier) -> Result<SealAudit> {
        let mut conn = self.pool.acquire().await?;
        let leaf_rows =
            sqlx::query("SELECT idx, leaf_hash, serial FROM tlog_leaves ORDER BY idx").fetch_all(&mut *conn).await?;
        let seals: Vec<SealRecord> = sqlx::query("SELECT * FROM seals ORDER BY log_index")
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(seal_from_row)
            .collect::<Result<_>>()?;
        let cps =
            sqlx::query("SELECT size, root, note FROM tlog_checkpoints ORDER BY size").fetch_all(&mut *conn).await?;
        let size: i64 =
            sqlx::query("SELECT size FROM tlog_head WHERE id = 1").fetch_one(&mut *conn).await?.try_get("size")?;
        drop(conn);
        let mut report =
            SealAudit { seals: seals.len(), leaves: leaf_rows.len(), checkpoints: cps.len(), problem: None };
        let problem = audit_problem(self, log_key, &leaf_rows, &seals, &cps, size).await?;
        report.problem = problem;
        Ok(report)
    }
}

async fn audit_problem(
    db: &Db,
    log_key: &seal::note::NoteVerifier,
    leaf_rows: &[AnyRow],
    seals: &[SealRecord],
    cps: &[AnyRow],
    size: i64,
) -> Result<Option<String>> {
    let mut leaves: Vec<Hash> = Vec::with_capacity(leaf_rows.len());
    let mut leaf_serials = Vec::with_capacity(leaf_rows.len());
    for (i, r) in leaf_rows.iter().enumerate() {
        let idx: i64 = r.try_get("idx")?;
        if idx != i as i64 {
            return Ok(Some(format!("log leaf {i} is missing (next leaf is {idx})")));
        }
        let Some(hash) = hex_hash(&r.try_get::<String, _>("leaf_hash")?) else {
            return Ok(Some(format!("log leaf {i}: leaf_hash is not 32 bytes of hex")));
        };
        leaves.push(hash);
        leaf_serials.push(r.try_get::<String, _>("serial")?);
    }
    if leaves.len() as i64 != size {
        return Ok(Some(format!("the log head says {size} leaves, the table holds {}", leaves.len())));
    }
    for s in seals {
        let Some(leaf) = usize::try_from(s.log_index).ok().and_then(|i| leaves.get(i)) else {
            return Ok(Some(format!("seal {} (log index {}) has no log leaf", s.serial, s.log_index)));
        };
        if leaf_serials[s.log_index as usize] != s.serial {
            return Ok(Some(format!(
                "log leaf {} names seal {}, not {}",
                s.log_index, leaf_serials[s.log_index as usize], s.serial
            )));
        }
        if *leaf != tlog::leaf_hash(s.jws.as_bytes()) {
            return Ok(Some(format!("log leaf {} does not hash seal {}", s.log_index, s.serial)));
        }
    }
    if seals.len() != leaves.len() {
        let sealed: std::collections::BTreeSet<&str> = seals.iter().map(|s| s.serial.as_str()).collect();
        let orphan = leaf_serials.iter().position(|s| !sealed.contains(s.as_str())).unwrap_or(0);
        return Ok(Some(format!("log leaf {orphan} names no seal")));
    }
    let mut previous: Option<(u64, Hash)> = None;
    for r in cps {
        let size: i64 = r.try_get("size")?;
        let note: String = r.try_get("note")?;
        let cp = match seal::note::Checkpoint::open(&note, log_key) {
            Ok(cp) => cp,
            Err(e) => return Ok(Some(format!("checkpoint {size} does not verify with the log key: {e}"))),
        };
        if cp.size as i64 != size || cp.size as usize > leaves.len() {
            return Ok(Some(format!("checkpoint {size} names size {}", cp.size)));
        }
        if hex_hash(&r.try_get::<String, _>("root")?) != Some(cp.root) {
            return Ok(Some(format!("checkpoint {size}: stored root differs from the signed one")));
        }
        if cp.root != tlog::root(&leaves[..cp.size as usize]) {
            return Ok(Some(format!("checkpoint {size}: the leaves do not hash to its root")));
        }
        if let Some((old_size, old_root)) = previous {
            let proof = tlog::consistency_proof(&leaves[..cp.size as usize], old_size)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            if tlog::verify_consistency(old_size, cp.size, &old_root, &cp.root, &proof).is_err() {
                return Ok(Some(format!("checkpoint {size} is not consistent with checkpoint {old_size}")));
            }
        }
        previous = Some((cp.size, cp.root));
    }
    if previous.map(|p| p.0) != Some(leaves.len() as u64) && !leaves.is_empty() {
        return Ok(Some(format!("no checkpoint for the log's size {}", leaves.len())));
    }
    // Every seal verifies with the key set as `/.well-known/seal-keys`
    // publishes it (a key that sealed is never unpublished); a revoked
    // key's seals fail only the revocation check.
    let key_rows = db.seal_keys().await?;
    let published: Vec<Value> = key_rows.iter().map(SealKeyRecord::published_jwk).collect();
    let key_set = match seal::KeySet::from_jwks_json(seal::jwks_json(&published).as_bytes()) {
        Ok(set) => set,
        Err(e) => return Ok(Some(format!("the published key set is not valid: {e}"))),
    };
    for s in seals {
        let report = seal::verify_report(&s.jws, &key_set, &seal::VerifyOptions::default());
        let revoked = key_rows.iter().any(|k| k.kid == s.kid && k.is_revoked());
        match report.failed_check() {
            None => {}
            Some("key-revocation") if revoked => {}
            Some(check) => {
                let why = report.checks.iter().find(|c| c.name == check).map(|c| c.detail.clone());
                return Ok(Some(format!(
                    "seal {} does not verify with the published key set ({check}: {})",
                    s.serial,
                    why.unwrap_or_default()
                )));
            }
        }
    }
    let chain = db.verify_audit_anchored(log_key, &[]).await?;
    if let Some(seq) = chain.first_broken {
        return Ok(Some(format!("the audit chain is broken at event {seq}: {}", chain.reason.unwrap_or_default())));
    }
    let mut issued = std::collections::BTreeMap::new();
    let mut after = 0;
    loop {
        let events = db.audit_events(None, after, 1000).await?;
        let Some(last) = events.last() else { break };
        after = last.seq;
        for e in events.iter().filter(|e| e.action == "seal.issue") {
            let serial = e.detail["serial"].as_str().unwrap_or_default().to_owned();
            issued.insert(serial, (e.seq, e.detail["content_digest"].as_str().unwrap_or_default().to_owned()));
        }
    }
    for s in seals {
        match issued.remove(&s.serial) {
            None => return Ok(Some(format!("seal {} has no seal.issue event in the audit chain", s.serial))),
            Some((seq, digest)) if digest != s.content_digest => {
                return Ok(Some(format!("audit event {seq} gives seal {} another content digest", s.serial)));
            }
            Some(_) => {}
        }
    }
    if let Some((serial, (seq, _))) = issued.into_iter().next() {
        return Ok(Some(format!("audit event {seq} issued seal {serial}, which the seals table lacks")));
    }
    Ok(None)
}

fn hex_hash(s: &str) -> Option<Hash> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

async fn leaf_hashes(conn: &mut AnyConnection) -> Result<Vec<Hash>> {
    sqlx::query("SELECT leaf_hash FROM tlog_leaves ORDER BY idx")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            let h: String = r.try_get("leaf_hash")?;
            hex_hash(&h).ok_or_else(|| StoreError::Corrupt(format!("leaf hash {h}")))
        })
        .collect()
}

/// A seal made for an approved version, to be stored by [`Tx::record_seal`].
pub struct NewSeal<'a> {
    pub approved: &'a ApprovedVersion,
    pub serial: &'a str,
    pub key: &'a SealKeyRecord,
    /// The signed seal (its JWS, manifest and log leaf).
    pub made: &'a seal::Seal,
    pub supersedes: Option<&'a str>,
    pub log_index: i64,
    /// Seconds.
    pub sealed_at: u64,
    pub not_before: u64,
    pub sealer: UserId,
}

/// The sealing transaction's reads and writes; `service::seal` decides and
/// signs between them. The order of locks is the item, the log head, then
/// the audit head, in every transaction.
impl super::Tx {
    /// Takes the log head's row lock (sealing and key changes are
    /// serialised by it); returns the log's size, the next leaf's index.
    pub async fn lock_log(&mut self) -> Result<i64> {
        lock_log(self.conn()).await
    }

    pub async fn active_seal_key(&mut self) -> Result<Option<SealKeyRecord>> {
        active_key(self.conn()).await
    }

    /// The next number of the serial counter of `year`.
    pub async fn next_seal_number(&mut self, year: i32) -> Result<i64> {
        Ok(sqlx::query(
            "INSERT INTO seal_serials (year, last) VALUES ($1, 1) \
             ON CONFLICT (year) DO UPDATE SET last = seal_serials.last + 1 RETURNING last",
        )
        .bind(i64::from(year))
        .fetch_one(self.conn())
        .await?
        .try_get("last")?)
    }

    /// The serial of the item's seal in force (valid or suspended): the one
    /// a new seal supersedes.
    pub async fn seal_in_force(&mut self, item: ItemId) -> Result<Option<String>> {
        Ok(sqlx::query(
            "SELECT serial FROM seals WHERE item_id = $1 AND status IN ('valid', 'suspended') \
             ORDER BY log_index DESC LIMIT 1",
        )
        .bind(item.to_string())
        .fetch_optional(self.conn())
        .await?
        .map(|r| r.try_get("serial"))
        .transpose()?)
    }

    /// Stores a made seal: the seal and the superseded one's status, its log
    /// leaf and the new head, the item's move to `sealed`, the `seal.issue`
    /// and `item.state` events, the outbox row and its fan-out (channel
    /// events and deliveries).
    pub async fn record_seal(&mut self, s: &NewSeal<'_>, now: Timestamp) -> Result<()> {
        let (id, version) = (s.approved.item_id(), s.approved.version());
        let manifest_json: Value = serde_json::from_slice(s.made.payload()).map_err(StoreError::corrupt)?;
        let content_digest = s.approved.content_digest().to_string();
        let not_before = i64::try_from(s.not_before).unwrap_or(i64::MAX);
        let conn = self.conn();
        sqlx::query(
            "INSERT INTO seals (serial, item_id, version, content_digest, kid, jws, manifest, status, supersedes, \
             sealed_at, not_before, log_index, status_changed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'valid', $8, $9, $10, $11, $12)",
        )
        .bind(s.serial)
        .bind(id.to_string())
        .bind(version)
        .bind(content_digest.as_str())
        .bind(s.key.kid.as_str())
        .bind(s.made.as_str())
        .bind(json_text(&manifest_json))
        .bind(s.supersedes)
        .bind(secs(now))
        .bind(not_before)
        .bind(s.log_index)
        .bind(now.to_string())
        .execute(&mut *conn)
        .await?;
        if let Some(old) = s.supersedes {
            sqlx::query("UPDATE seals SET status = 'superseded', status_changed_at = $1 WHERE serial = $2")
                .bind(now.to_string())
                .bind(old)
                .execute(&mut *conn)
                .await?;
        }
        let leaf = s.made.leaf_hash();
        sqlx::query("INSERT INTO tlog_leaves (idx, leaf_hash, serial) VALUES ($1, $2, $3)")
            .bind(s.log_index)
            .bind(hex::encode(leaf))
            .bind(s.serial)
            .execute(&mut *conn)
            .await?;
        sqlx::query("UPDATE tlog_head SET size = $1 WHERE id = 1").bind(s.log_index + 1).execute(&mut *conn).await?;
        super::items::transition_in(conn, id, version, &[ItemState::Approved], ItemState::Sealed, now).await?;
        audit::append(
            conn,
            Some(s.sealer),
            "seal.issue",
            Some((id, version)),
            json!({
                "serial": s.serial, "content_digest": content_digest, "kid": s.key.kid, "dev_key": s.key.dev,
                "seal_id": s.made.seal_id().to_string(), "log_index": s.log_index, "leaf_hash": hex::encode(leaf),
                "supersedes": s.supersedes, "approvals_digest": s.approved.approvals_digest().to_string(),
                "seal_review_id": s.approved.seal_review().id, "not_before": s.not_before,
            }),
        )
        .await?;
        audit::append(
            conn,
            Some(s.sealer),
            "item.state",
            Some((id, version)),
            json!({ "from": ItemState::Approved.as_str(), "to": ItemState::Sealed.as_str(), "serial": s.serial }),
        )
        .await?;
        let outbox_id = uuid::Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO outbox_events (id, kind, item_id, version, serial, channels, not_before, status, created_at) \
             VALUES ($1, 'publish', $2, $3, $4, $5, $6, 'pending', $7)",
        )
        .bind(outbox_id.as_str())
        .bind(id.to_string())
        .bind(version)
        .bind(s.serial)
        .bind(json_text(&s.approved.content().channels))
        .bind(not_before)
        .bind(now.to_string())
        .execute(&mut *conn)
        .await?;
        // Issue 9: the outbox row's fan-out (channel events, deliveries) in
        // this same transaction.
        super::delivery::plan_publish(
            conn,
            super::delivery::PlanPublish {
                outbox_id: &outbox_id,
                item: id,
                serial: s.serial,
                supersedes: s.supersedes,
                not_before,
                channels: &s.approved.content().channels,
                seal: s.made.as_str(),
                content: s.approved.content().canonical(),
            },
            now,
        )
        .await
    }

    /// The log's leaf hashes, in order; checks they agree with the head.
    pub async fn log_leaves(&mut self, expected: i64) -> Result<Vec<Hash>> {
        let leaves = leaf_hashes(self.conn()).await?;
        if leaves.len() as i64 != expected {
            return Err(StoreError::Corrupt(format!(
                "the log holds {} leaves, its head says {expected}",
                leaves.len()
            )));
        }
        Ok(leaves)
    }

    pub async fn audit_head(&mut self) -> Result<audit::AuditHead> {
        audit::head(self.conn()).await
    }

    /// Stores the signed checkpoint of the log at `size` (root `root`),
    /// which also anchors the audit head it carries.
    pub async fn record_checkpoint(
        &mut self,
        size: i64,
        root: Hash,
        note: &str,
        head: &audit::AuditHead,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query("INSERT INTO tlog_checkpoints (size, root, note, created_at) VALUES ($1, $2, $3, $4)")
            .bind(size)
            .bind(hex::encode(root))
            .bind(note)
            .bind(now.to_string())
            .execute(self.conn())
            .await?;
        insert_anchor(self.conn(), head, size, note, now).await
    }

    /// The audit events the newest anchor covers, if any.
    pub async fn newest_anchor(&mut self) -> Result<Option<i64>> {
        Ok(sqlx::query("SELECT MAX(events) AS m FROM audit_anchors").fetch_one(self.conn()).await?.try_get("m")?)
    }

    /// The root of the log at `size` (its signed checkpoint's).
    pub async fn log_root(&mut self, size: i64) -> Result<Hash> {
        if size == 0 {
            return Ok(tlog::empty_root());
        }
        let stored: String = sqlx::query("SELECT root FROM tlog_checkpoints WHERE size = $1")
            .bind(size)
            .fetch_one(self.conn())
            .await?
            .try_get("root")?;
        hex_hash(&stored).ok_or_else(|| StoreError::Corrupt(format!("checkpoint {size}: root {stored}")))
    }

    /// Stores a checkpoint that anchors the audit head without a new seal.
    pub async fn record_anchor(
        &mut self,
        head: &audit::AuditHead,
        size: i64,
        note: &str,
        now: Timestamp,
    ) -> Result<()> {
        insert_anchor(self.conn(), head, size, note, now).await
    }

    pub async fn seal(&mut self, serial: &str) -> Result<SealRecord> {
        let row = sqlx::query("SELECT * FROM seals WHERE serial = $1").bind(serial).fetch_one(self.conn()).await?;
        seal_from_row(&row)
    }
}

async fn insert_anchor(
    conn: &mut AnyConnection,
    head: &audit::AuditHead,
    tree_size: i64,
    note: &str,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_anchors (events, head_hash, tree_size, note, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (events) DO NOTHING",
    )
    .bind(head.events)
    .bind(head.hash.as_str())
    .bind(tree_size)
    .bind(note)
    .bind(now.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
