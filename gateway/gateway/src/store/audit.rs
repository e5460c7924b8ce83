//! The append-only audit trail, kept as a hash chain.
//!
//! Each event's hash is `SHA-256(JCS({seq, at, actor_id, action, item_id,
//! version, detail, prev_hash}))`, written `sha256:<hex>`. `audit_head` holds
//! the newest sequence number and hash; appending updates it first, which
//! serialises appenders on both backends (a row lock on PostgreSQL, the
//! write lock on SQLite). Altering, inserting or deleting any row breaks the
//! chain from that row on, and [`Db::verify_audit_chain`] names the first.
//!
//! A bare hash chain proves nothing against whoever holds the database: they
//! can edit an event and recompute every hash after it. So the chain's head
//! is **anchored**: every signed transparency-log checkpoint carries it as
//! the extension line `gov-disclosure/audit-head <events> <hash>`
//! ([`AuditHead`]), at every seal and periodically (`store::seals`), and
//! [`Db::verify_audit_anchored`] checks the chain against every signed
//! checkpoint in the store and against checkpoints held outside it (a
//! witness's file of `/api/v1/log/checkpoint` answers).

use seal::ContentDigest;
use serde_json::{Value, json};
use sqlx::{AnyConnection, Row};

use super::{Db, Result, StoreError};
use crate::model::{ItemId, Timestamp, UserId};

/// One event as stored.
#[derive(Clone, Debug)]
pub struct AuditEvent {
    pub seq: i64,
    pub at: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub item_id: Option<String>,
    pub version: Option<i64>,
    pub detail: Value,
    pub prev_hash: String,
    pub hash: String,
}

/// The outcome of checking the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainReport {
    pub events: i64,
    /// The first event whose stored hash or link does not match, if any.
    pub first_broken: Option<i64>,
    pub reason: Option<String>,
    /// Signed checkpoints the chain was checked against (0 for the bare
    /// chain walk of [`Db::verify_audit_chain`]).
    pub anchors: usize,
    /// Of those, the ones from outside the store (a witness's file).
    pub external_anchors: usize,
    /// Events covered by the newest signed checkpoint; the events after it
    /// are not anchored yet (the next checkpoint will cover them).
    pub anchored_events: i64,
}

/// The extension line's keyword in a signed checkpoint (docs/seal.md §9).
pub const AUDIT_HEAD_EXTENSION: &str = "gov-disclosure/audit-head";

/// The head of the audit chain: how many events it holds and the hash of
/// the last (the genesis hash for none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditHead {
    pub events: i64,
    pub hash: String,
}

impl AuditHead {
    /// `gov-disclosure/audit-head <events> <sha256:hex>`.
    pub fn extension_line(&self) -> String {
        format!("{AUDIT_HEAD_EXTENSION} {} {}", self.events, self.hash)
    }

    /// The audit head a checkpoint's extension lines anchor: `None` when it
    /// has none (a checkpoint from before anchoring), an error when the line
    /// is malformed or repeated.
    pub fn of_checkpoint(cp: &seal::note::Checkpoint) -> std::result::Result<Option<AuditHead>, String> {
        let mut found = None;
        for line in &cp.extensions {
            let Some(rest) = line.strip_prefix(AUDIT_HEAD_EXTENSION).and_then(|r| r.strip_prefix(' ')) else {
                continue;
            };
            if found.is_some() {
                return Err("two audit-head lines".into());
            }
            let bad = || format!("malformed audit-head line {line:?}");
            let (events, hash) = rest.split_once(' ').ok_or_else(bad)?;
            let canonical_number = !events.is_empty()
                && events.bytes().all(|b| b.is_ascii_digit())
                && (events == "0" || !events.starts_with('0'));
            let events: i64 = events.parse().ok().filter(|_| canonical_number).ok_or_else(bad)?;
            let hex = hash.strip_prefix("sha256:").ok_or_else(bad)?;
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                return Err(bad());
            }
            found = Some(AuditHead { events, hash: hash.to_owned() });
        }
        Ok(found)
    }
}

/// The head as it is now, inside the caller's transaction.
pub(super) async fn head(conn: &mut AnyConnection) -> Result<AuditHead> {
    let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(&mut *conn).await?;
    Ok(AuditHead { events: row.try_get("seq")?, hash: row.try_get("hash")? })
}

/// Splits a file of signed notes (checkpoints appended one after another, as
/// `curl …/api/v1/log/checkpoint >> file` leaves them, blank lines between
/// them allowed) into notes. A note ends after its signature lines (`— …`).
pub fn split_notes(text: &str) -> Vec<String> {
    let mut notes = Vec::new();
    let mut current = String::new();
    let mut in_signatures = false;
    for line in text.split_inclusive('\n') {
        if in_signatures && !line.starts_with('\u{2014}') {
            notes.push(std::mem::take(&mut current));
            in_signatures = false;
        }
        if current.is_empty() && line.trim().is_empty() {
            continue;
        }
        if !in_signatures && line == "\n" {
            in_signatures = true;
        }
        current.push_str(line);
    }
    if !current.trim().is_empty() {
        notes.push(current);
    }
    notes
}

/// Where a signed checkpoint came from, for the report.
enum Source {
    Store,
    External(usize),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Store => f.write_str("a stored signed checkpoint"),
            Source::External(n) => write!(f, "external signed checkpoint {n}"),
        }
    }
}

/// The hash of `event`, computed over every field but `hash` itself.
fn event_hash(event: &AuditEvent) -> Result<String> {
    let canonical = json!({
        "seq": event.seq, "at": event.at, "actor_id": event.actor_id, "action": event.action,
        "item_id": event.item_id, "version": event.version, "detail": event.detail,
        "prev_hash": event.prev_hash,
    });
    let bytes = seal::canonical::to_vec(&canonical).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(ContentDigest::of(&bytes).to_string())
}

/// Appends an event inside the caller's transaction.
pub(super) async fn append(
    conn: &mut AnyConnection,
    actor: Option<UserId>,
    action: &str,
    item: Option<(ItemId, i64)>,
    detail: Value,
) -> Result<i64> {
    let row = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut *conn)
        .await?;
    let seq: i64 = row.try_get("seq")?;
    let prev_hash: String = row.try_get("hash")?;
    let mut event = AuditEvent {
        seq,
        at: Timestamp::now().to_string(),
        actor_id: actor.map(|a| a.to_string()),
        action: action.to_owned(),
        item_id: item.map(|(id, _)| id.to_string()),
        version: item.map(|(_, v)| v),
        detail,
        prev_hash,
        hash: String::new(),
    };
    event.hash = event_hash(&event)?;
    sqlx::query(
        "INSERT INTO audit_events (seq, at, actor_id, action, item_id, version, detail, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(event.seq)
    .bind(event.at.as_str())
    .bind(event.actor_id.as_deref())
    .bind(event.action.as_str())
    .bind(event.item_id.as_deref())
    .bind(event.version)
    .bind(super::json_text(&event.detail))
    .bind(event.prev_hash.as_str())
    .bind(event.hash.as_str())
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(event.hash.as_str()).execute(&mut *conn).await?;
    Ok(seq)
}

impl Db {
    /// Records an event that is not part of another change (a login, a
    /// policy reload).
    pub async fn audit(&self, actor: Option<UserId>, action: &str, detail: Value) -> Result<i64> {
        let mut tx = self.pool.begin().await?;
        let seq = append(&mut tx, actor, action, None, detail).await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// Events in order, optionally for one item.
    pub async fn audit_events(&self, item: Option<ItemId>, after_seq: i64, limit: i64) -> Result<Vec<AuditEvent>> {
        let rows = match item {
            Some(id) => {
                sqlx::query("SELECT * FROM audit_events WHERE item_id = $1 AND seq > $2 ORDER BY seq LIMIT $3")
                    .bind(id.to_string())
                    .bind(after_seq)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2")
                    .bind(after_seq)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter()
            .map(|row| {
                Ok(AuditEvent {
                    seq: row.try_get("seq")?,
                    at: row.try_get("at")?,
                    actor_id: row.try_get("actor_id")?,
                    action: row.try_get("action")?,
                    item_id: row.try_get("item_id")?,
                    version: row.try_get("version")?,
                    detail: super::from_json_text("detail", &row.try_get::<String, _>("detail")?)?,
                    prev_hash: row.try_get("prev_hash")?,
                    hash: row.try_get("hash")?,
                })
            })
            .collect()
    }

    /// Walks the whole chain and reports the first broken link.
    pub async fn verify_audit_chain(&self) -> Result<ChainReport> {
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(&self.pool).await?;
        let head_seq: i64 = head.try_get("seq")?;
        let head_hash: String = head.try_get("hash")?;
        let mut expected_prev = String::from(GENESIS);
        let mut expected_seq = 1;
        let mut after = 0;
        loop {
            let events = self.audit_events(None, after, 1000).await?;
            if events.is_empty() {
                break;
            }
            for event in &events {
                let broken = |reason: String| ChainReport {
                    events: head_seq,
                    first_broken: Some(event.seq),
                    reason: Some(reason),
                    anchors: 0,
                    external_anchors: 0,
                    anchored_events: 0,
                };
                if event.seq != expected_seq {
                    return Ok(broken(format!("event {expected_seq} is missing")));
                }
                if event.prev_hash != expected_prev {
                    return Ok(broken("prev_hash does not match the previous event".into()));
                }
                let recomputed = event_hash(event)?;
                if recomputed != event.hash {
                    return Ok(broken("the event's content does not match its hash".into()));
                }
                expected_prev = event.hash.clone();
                expected_seq += 1;
            }
            after = events.last().map_or(after, |e| e.seq);
        }
        if expected_seq - 1 != head_seq || expected_prev != head_hash {
            return Ok(ChainReport {
                events: head_seq,
                first_broken: Some(expected_seq),
                reason: Some("events after this one were removed, or the head was altered".into()),
                anchors: 0,
                external_anchors: 0,
                anchored_events: 0,
            });
        }
        Ok(ChainReport {
            events: head_seq,
            first_broken: None,
            reason: None,
            anchors: 0,
            external_anchors: 0,
            anchored_events: 0,
        })
    }

    /// Walks the chain ([`Db::verify_audit_chain`]), then checks it against
    /// every signed checkpoint that anchors an audit head: those in the
    /// store (`audit_anchors`, `tlog_checkpoints`) and `external` ones (the
    /// notes a witness or channel kept from `/api/v1/log/checkpoint`). Each
    /// must verify with `log_key` and name an event whose stored hash is the
    /// signed one; the log's leaves must hash to its root. A chain rewritten
    /// and recomputed in the database fails here. What it cannot catch: a
    /// holder of both the database and the log key can re-sign the stored
    /// checkpoints — only checkpoints held outside (`external`) catch that.
    pub async fn verify_audit_anchored(
        &self,
        log_key: &seal::note::NoteVerifier,
        external: &[String],
    ) -> Result<ChainReport> {
        let mut report = self.verify_audit_chain().await?;
        if report.first_broken.is_some() {
            return Ok(report);
        }
        let mut notes: Vec<(Source, String)> = Vec::new();
        for sql in ["SELECT note FROM audit_anchors ORDER BY events", "SELECT note FROM tlog_checkpoints ORDER BY size"]
        {
            for row in sqlx::query(sql).fetch_all(&self.pool).await? {
                notes.push((Source::Store, row.try_get("note")?));
            }
        }
        // A seal's checkpoint is stored twice (tlog_checkpoints, audit_anchors).
        let mut seen = std::collections::BTreeSet::new();
        notes.retain(|(_, n)| seen.insert(n.clone()));
        notes.extend(external.iter().enumerate().map(|(i, n)| (Source::External(i + 1), n.clone())));
        let leaves = self.tlog_leaf_hashes().await?;
        let mut anchored: Vec<(AuditHead, Source)> = Vec::new();
        for (source, note) in notes {
            let broken = |reason: String| ChainReport { first_broken: Some(0), reason: Some(reason), ..report.clone() };
            let cp = match seal::note::Checkpoint::open(&note, log_key) {
                Ok(cp) => cp,
                Err(e) => return Ok(broken(format!("{source} does not verify with the log key: {e}"))),
            };
            if cp.size > leaves.len() as u64 {
                return Ok(broken(format!(
                    "{source} covers {} log leaves, the log holds {}: the log was cut",
                    cp.size,
                    leaves.len()
                )));
            }
            if cp.root != seal::tlog::root(&leaves[..cp.size as usize]) {
                return Ok(broken(format!(
                    "{source} of log size {} has another root than the stored log: the log was rewritten",
                    cp.size
                )));
            }
            match AuditHead::of_checkpoint(&cp) {
                Ok(Some(head)) => anchored.push((head, source)),
                Ok(None) => {}
                Err(e) => return Ok(broken(format!("{source}: {e}"))),
            }
        }
        // Lowest first, so the report names the earliest anchored point
        // that no longer matches: the edit lies at or before that event.
        anchored.sort_by_key(|(h, _)| h.events);
        for (head, source) in &anchored {
            if head.events > report.events {
                return Ok(ChainReport {
                    first_broken: Some(report.events + 1),
                    reason: Some(format!(
                        "{source} covers {} audit events, the chain holds {}: events were removed",
                        head.events, report.events
                    )),
                    ..report
                });
            }
            let stored = if head.events == 0 {
                GENESIS.to_owned()
            } else {
                sqlx::query("SELECT hash FROM audit_events WHERE seq = $1")
                    .bind(head.events)
                    .fetch_one(&self.pool)
                    .await?
                    .try_get("hash")?
            };
            if stored != head.hash {
                return Ok(ChainReport {
                    first_broken: Some(head.events),
                    reason: Some(format!(
                        "event {}'s hash differs from {source}: this event or an earlier one was \
                         rewritten and the chain recomputed",
                        head.events
                    )),
                    ..report
                });
            }
        }
        report.anchors = anchored.len();
        report.external_anchors = anchored.iter().filter(|(_, s)| matches!(s, Source::External(_))).count();
        report.anchored_events = anchored.last().map_or(0, |(h, _)| h.events);
        Ok(report)
    }
}

const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint(extensions: &[&str]) -> seal::note::Checkpoint {
        seal::note::Checkpoint {
            origin: "o".into(),
            size: 1,
            root: [0; 32],
            extensions: extensions.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn audit_head_lines() {
        let hash = format!("sha256:{}", "ab".repeat(32));
        let head = AuditHead { events: 12, hash: hash.clone() };
        let line = head.extension_line();
        assert_eq!(line, format!("gov-disclosure/audit-head 12 {hash}"));
        assert_eq!(AuditHead::of_checkpoint(&checkpoint(&["other 1", &line])).unwrap(), Some(head));
        assert_eq!(AuditHead::of_checkpoint(&checkpoint(&["other 1"])).unwrap(), None);
        for bad in [
            format!("gov-disclosure/audit-head 012 {hash}"),
            format!("gov-disclosure/audit-head -1 {hash}"),
            format!("gov-disclosure/audit-head 1 {}", &hash[..70]),
            format!("gov-disclosure/audit-head 1 {}", hash.to_uppercase()),
            "gov-disclosure/audit-head 1".to_owned(),
        ] {
            assert!(AuditHead::of_checkpoint(&checkpoint(&[&bad])).is_err(), "{bad}");
        }
        assert!(AuditHead::of_checkpoint(&checkpoint(&[&line, &line])).is_err());
    }

    #[test]
    fn notes_are_split_after_their_signatures() {
        let a = "log\n1\nAAAA\nx\n\n\u{2014} log abc=\n";
        let b = "log\n2\nBBBB\n\n\u{2014} log def=\n\u{2014} witness ghi=\n";
        assert_eq!(split_notes(&format!("{a}{b}")), [a, b]);
        assert_eq!(split_notes(&format!("\n{a}\n\n{b}\n")), [a, b]);
        assert!(split_notes("\n\n").is_empty());
    }
}
