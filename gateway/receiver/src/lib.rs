//! The reference channel receiver of `docs/delivery.md`: what a website
//! team runs (the `receiver` binary) or copies (this library) to take
//! events from the gateway.
//!
//! [`Receiver::handle`] checks, in this order: the Standard Webhooks `v1a`
//! transport signature over the exact received bytes, the timestamp window
//! (replay), the event body, whether the event id was already applied (then
//! it answers 200 without applying again), the channel, the per-item
//! sequence (a gap before a publish answers 409 so the gateway retries; a
//! withdrawal applies after a gap), and for a publish
//! the seal (`seal::verify` with the envelope's content, this channel, the
//! pinned key set with its revocations, the development-key policy) and
//! its agreement with the event. Then it applies the change to a [`Store`]
//! and records the event id and sequence.
//!
//! It does no network IO and nothing async: the binary adds HTTP. It does
//! not fetch key sets or seal statuses; the operator pins the key set (and
//! reloads it after a revocation).
#![forbid(unsafe_code)]

mod event;
mod outcome;
mod store;
mod webhook;

pub use event::{Event, EventAttachment, EventType};
pub use outcome::{Applied, Outcome, Refusal};
pub use store::{AppliedEvent, Change, DirStore, ItemState, MemoryStore, Publication, RetiredSerial, Store};
pub use webhook::{PUBLIC_KEY_PREFIX, SignatureProblem, TransportKey, public_key_string, sign_webhook, verify_webhook};

use seal::{Content, Envelope, KeyId, KeySet, VerifyOptions};

/// The crate's errors: configuration and storage. A refused delivery is not
/// an error but an [`Outcome`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A transport key that is not `whpk_<base64 of 32 bytes>`.
    #[error("transport key refused: {0}")]
    TransportKey(String),
    /// A channel id that is not `[a-z0-9][a-z0-9_.:-]{{0,63}}`.
    #[error("channel id {0:?} is not [a-z0-9][a-z0-9_.:-]{{0,63}}")]
    Channel(String),
    /// A configuration without any transport key.
    #[error("no transport key: pin at least one whpk_ key of the gateway")]
    NoTransportKey,
    /// The store could not be read or written.
    #[error("store: {0}")]
    Store(String),
}

/// An attachment of a live publication to fetch from the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileToFetch {
    /// The item it belongs to.
    pub item_id: String,
    /// The digest the seal covers.
    pub digest: String,
    /// Where the event says to fetch it (relative to the gateway's base URL).
    pub href: String,
}

/// Why an attachment's bytes were not kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FileRefusal {
    /// The item is not published here (never, or withdrawn since).
    #[error("item {0} is not published here")]
    NotPublished(String),
    /// The seal of the item's publication does not cover this digest.
    #[error("{digest} is not an attachment the seal of item {item_id} covers")]
    NotSealed {
        /// The item.
        item_id: String,
        /// The digest asked for.
        digest: String,
    },
    /// The bytes are not the ones the seal covers.
    #[error("the bytes hash to {got}, the seal covers {digest}")]
    DigestMismatch {
        /// The sealed digest.
        digest: String,
        /// The digest of the bytes received.
        got: String,
    },
    /// The store could not keep them.
    #[error("store: {0}")]
    Store(String),
}

/// The attachments a publication's sealed content lists: digest and media
/// type.
fn sealed_files(p: &Publication) -> Vec<(String, String)> {
    let field = |a: &serde_json::Value, name: &str| a.get(name).and_then(serde_json::Value::as_str).map(str::to_owned);
    p.attachments
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| Some((field(a, "digest")?, field(a, "media_type").unwrap_or_default())))
        .collect()
}

/// Whether seals made with a development key are published.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DevKeys {
    /// Refuse them (`seal:dev-key`): the default, for production.
    #[default]
    Refuse,
    /// Publish them (a pilot against a gateway with a development key).
    Accept,
}

/// The default transport timestamp tolerance: 5 minutes either way.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;

/// A receiver's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    channel: String,
    transport_keys: Vec<TransportKey>,
    /// The pinned seal key set (`/.well-known/seal-keys`).
    pub seal_keys: KeySet,
    /// Transport timestamp tolerance in seconds.
    pub tolerance_secs: u64,
    /// The development-key policy.
    pub dev_keys: DevKeys,
    /// Seal key ids treated as revoked in addition to the key set's marks.
    pub revoked_keys: Vec<KeyId>,
}

impl Config {
    /// A configuration for `channel` with the gateway's transport keys
    /// (several during a rotation) and the seal key set; tolerance 300 s,
    /// development keys refused.
    ///
    /// ```
    /// let vk = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
    /// let key = receiver::TransportKey::from_verifying_key(vk);
    /// let keys = seal::KeySet::from_jwks_json(br#"{"keys":[]}"#).unwrap();
    /// let config = receiver::Config::new("website", vec![key], keys).unwrap();
    /// assert_eq!(config.channel(), "website");
    /// assert!(receiver::Config::new("Web Site", vec![], Default::default()).is_err());
    /// ```
    pub fn new(channel: &str, transport_keys: Vec<TransportKey>, seal_keys: KeySet) -> Result<Config, Error> {
        let ok = channel.len() <= 64
            && channel.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && channel
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b':' | b'-'));
        if !ok {
            return Err(Error::Channel(channel.chars().take(80).collect()));
        }
        if transport_keys.is_empty() {
            return Err(Error::NoTransportKey);
        }
        Ok(Config {
            channel: channel.to_owned(),
            transport_keys,
            seal_keys,
            tolerance_secs: DEFAULT_TOLERANCE_SECS,
            dev_keys: DevKeys::default(),
            revoked_keys: Vec::new(),
        })
    }

    /// This receiver's channel id.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The pinned transport keys.
    pub fn transport_keys(&self) -> &[TransportKey] {
        &self.transport_keys
    }
}

/// The three Standard Webhooks headers of a delivery, as received.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookHeaders<'a> {
    /// `webhook-id`.
    pub id: Option<&'a str>,
    /// `webhook-timestamp`.
    pub timestamp: Option<&'a str>,
    /// `webhook-signature`.
    pub signature: Option<&'a str>,
}

/// A channel receiver over a [`Store`].
#[derive(Debug)]
pub struct Receiver<S> {
    config: Config,
    store: S,
}

impl<S: Store> Receiver<S> {
    /// A receiver with this configuration and store.
    pub fn new(config: Config, store: S) -> Receiver<S> {
        Receiver { config, store }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Replaces the pinned seal key set (after the gateway revoked or added a key).
    pub fn set_seal_keys(&mut self, keys: KeySet) {
        self.config.seal_keys = keys;
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Handles one push delivery: `headers` and the exact `body` bytes
    /// received, at `now` (seconds since the Unix epoch). Answer with
    /// [`Outcome::status`] and [`Outcome::to_json`].
    pub fn handle(&mut self, headers: WebhookHeaders<'_>, body: &[u8], now: i64) -> Outcome {
        match self.try_handle(headers, body, now) {
            Ok(o) => o,
            Err(r) => Outcome::Refused(r),
        }
    }

    /// Applies one event from the pull feed (`GET /api/v1/channels/{c}/changes`):
    /// the same checks without the transport signature, which a pull over
    /// an authenticated HTTPS connection does not carry.
    pub fn apply_pulled(&mut self, event_body: &[u8], now: i64) -> Outcome {
        match Event::parse(event_body).map_err(Refusal::MalformedEvent).and_then(|e| self.apply_event(e, now)) {
            Ok(o) => o,
            Err(r) => Outcome::Refused(r),
        }
    }

    fn try_handle(&mut self, h: WebhookHeaders<'_>, body: &[u8], now: i64) -> Result<Outcome, Refusal> {
        let id = required(h.id, "webhook-id")?;
        let ts_text = required(h.timestamp, "webhook-timestamp")?;
        let signature = required(h.signature, "webhook-signature")?;

        verify_webhook(&self.config.transport_keys, id, ts_text, signature, body).map_err(|p| match p {
            SignatureProblem::NoV1a => Refusal::NoV1aSignature,
            SignatureProblem::NoneVerifies => Refusal::BadSignature,
        })?;
        let timestamp: i64 = ts_text.trim().parse().map_err(|_| Refusal::BadTimestamp(ts_text.to_owned()))?;
        if timestamp.abs_diff(now) > self.config.tolerance_secs {
            return Err(Refusal::Replay { timestamp, now, tolerance: self.config.tolerance_secs });
        }

        let event = Event::parse(body).map_err(Refusal::MalformedEvent)?;
        if event.event_id != id {
            return Err(Refusal::IdMismatch { header: id.to_owned(), body: event.event_id });
        }
        self.apply_event(event, now)
    }

    fn apply_event(&mut self, event: Event, now: i64) -> Result<Outcome, Refusal> {
        let store_err = |e: Error| Refusal::Store(e.to_string());
        let mut state = self.store.item_state(&event.item_id).map_err(store_err)?;
        if state.applied(&event.event_id) {
            return Ok(Outcome::AlreadyApplied { event_id: event.event_id });
        }
        if event.channel != self.config.channel {
            return Err(Refusal::WrongChannel { event: event.channel, ours: self.config.channel.clone() });
        }
        let expected = state.last_sequence + 1;
        // A withdrawal may follow a gap: the gateway cancels publications it
        // has not sent yet when it withdraws an item (docs/delivery.md §1).
        if event.sequence > expected && event.kind != EventType::Withdraw {
            return Err(Refusal::OutOfOrder { item_id: event.item_id, expected, got: event.sequence });
        }
        if event.sequence < expected {
            return Err(Refusal::Stale { item_id: event.item_id, last: state.last_sequence, got: event.sequence });
        }

        let (change, applied, serial) = match event.kind {
            EventType::Publish => {
                let current = self.store.publication(&event.item_id).map_err(store_err)?;
                let p = self.check_publish(&event, &state, now)?;
                if let Some(cur) = current.as_ref().filter(|c| c.serial != p.serial)
                    && state.retired(&cur.serial).is_none()
                {
                    state.retired.push(RetiredSerial { serial: cur.serial.clone(), status: "superseded".into() });
                }
                let applied = Applied::Published {
                    item_id: event.item_id.clone(),
                    serial: p.serial.clone(),
                    replaced: current.map(|c| c.serial).filter(|s| *s != p.serial),
                };
                let serial = Some(p.serial.clone());
                (Change::Publish(Box::new(p)), applied, serial)
            }
            EventType::Withdraw => {
                let current = self.store.publication(&event.item_id).map_err(store_err)?;
                if let Some(cur) = &current {
                    state.retired.retain(|r| r.serial != cur.serial);
                    state.retired.push(RetiredSerial { serial: cur.serial.clone(), status: "withdrawn".into() });
                }
                let applied = Applied::Withdrawn { item_id: event.item_id.clone(), removed: current.is_some() };
                (Change::Withdraw, applied, current.map(|c| c.serial))
            }
        };
        state.last_sequence = event.sequence;
        state.events.push(AppliedEvent {
            event_id: event.event_id.clone(),
            sequence: event.sequence,
            kind: match event.kind {
                EventType::Publish => "publish".into(),
                EventType::Withdraw => "withdraw".into(),
            },
            serial,
            applied_at: now_rfc3339(now),
        });
        self.store.apply(&event.item_id, &change, &state).map_err(store_err)?;
        Ok(Outcome::Applied(applied))
    }

    /// The attachments of `event`'s item to fetch now: those its live
    /// publication's seal covers, that the event says where to fetch, and
    /// that are not kept yet. Call it after the event was applied.
    pub fn files_to_fetch(&self, event: &Event) -> Result<Vec<FileToFetch>, Error> {
        let Some(p) = self.store.publication(&event.item_id)? else { return Ok(Vec::new()) };
        let sealed = sealed_files(&p);
        let mut out = Vec::new();
        for a in &event.attachments {
            if sealed.iter().any(|(d, _)| *d == a.digest) && self.store.file(&a.digest)?.is_none() {
                out.push(FileToFetch { item_id: p.item_id.clone(), digest: a.digest.clone(), href: a.href.clone() });
            }
        }
        Ok(out)
    }

    /// Keeps an attachment's bytes if the item's live publication's seal
    /// covers `digest` and the bytes hash to it.
    pub fn accept_file(&mut self, item_id: &str, digest: &str, bytes: &[u8]) -> Result<(), FileRefusal> {
        let store_err = |e: Error| FileRefusal::Store(e.to_string());
        let p = self.store.publication(item_id).map_err(store_err)?;
        let p = p.ok_or_else(|| FileRefusal::NotPublished(item_id.to_owned()))?;
        if !sealed_files(&p).iter().any(|(d, _)| d == digest) {
            return Err(FileRefusal::NotSealed { item_id: item_id.to_owned(), digest: digest.to_owned() });
        }
        let got = seal::ContentDigest::of(bytes).to_string();
        if got != digest {
            return Err(FileRefusal::DigestMismatch { digest: digest.to_owned(), got });
        }
        self.store.put_file(digest, bytes).map_err(store_err)
    }

    /// An attachment of a live publication, with the media type it was
    /// sealed with: `None` if the item is not published here, the seal does
    /// not cover the digest, or the file was not fetched yet.
    pub fn file(&self, item_id: &str, digest: &str) -> Result<Option<(String, Vec<u8>)>, Error> {
        let Some(p) = self.store.publication(item_id)? else { return Ok(None) };
        let Some((_, media_type)) = sealed_files(&p).into_iter().find(|(d, _)| d == digest) else { return Ok(None) };
        Ok(self.store.file(digest)?.map(|bytes| (media_type, bytes)))
    }

    /// The sealed attachments of a live publication not fetched yet.
    pub fn missing_files(&self, item_id: &str) -> Result<Vec<String>, Error> {
        let Some(p) = self.store.publication(item_id)? else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for (digest, _) in sealed_files(&p) {
            if self.store.file(&digest)?.is_none() {
                out.push(digest);
            }
        }
        Ok(out)
    }

    /// Verifies a publish event's seal and builds the publication.
    fn check_publish(&self, event: &Event, state: &ItemState, now: i64) -> Result<Publication, Refusal> {
        let envelope = match &event.envelope {
            None | Some(serde_json::Value::Null) => return Err(Refusal::Unsealed),
            Some(v) if v.get("seal").is_none_or(serde_json::Value::is_null) => return Err(Refusal::Unsealed),
            Some(v) => v,
        };
        let env = Envelope::parse(envelope.to_string().as_bytes())
            .map_err(|e| Refusal::Seal { check: "structure", reason: e.to_string() })?;
        let content_bytes =
            env.content_bytes().map_err(|e| Refusal::BadContent(e.to_string()))?.ok_or(Refusal::NoContent)?;
        let opts = VerifyOptions {
            content: Content::Bytes(&content_bytes),
            channel: Some(&self.config.channel),
            // `not_before` is checked below, so an embargo answers 409 (retry later).
            now: None,
            revoked_keys: &self.config.revoked_keys,
            seal_status: None,
            refuse_dev_keys: self.config.dev_keys == DevKeys::Refuse,
        };
        let report = seal::verify_report(&env.seal, &self.config.seal_keys, &opts);
        let verified = report.verdict.as_ref().map_err(|e| Refusal::Seal {
            check: report.failed_check().unwrap_or("structure"),
            reason: e.to_string(),
        })?;
        let m = &verified.manifest;

        if m.item.id != event.item_id {
            return Err(Refusal::Mismatch(format!(
                "the seal is for item {}, the event for {}",
                m.item.id, event.item_id
            )));
        }
        if let Some(s) = &event.serial
            && *s != m.serial
        {
            return Err(Refusal::Mismatch(format!("the event names serial {s}, the seal is {}", m.serial)));
        }
        if event.supersedes.is_some() && event.supersedes != m.supersedes {
            return Err(Refusal::Mismatch(format!(
                "the event supersedes {:?}, the seal supersedes {:?}",
                event.supersedes, m.supersedes
            )));
        }
        if let Some(r) = state.retired(&m.serial) {
            return Err(Refusal::RetiredSerial { serial: r.serial.clone(), status: r.status.clone() });
        }
        if now < 0 || (now as u64) < m.not_before {
            return Err(Refusal::NotYet { not_before: m.not_before, now });
        }

        let content = env.content.as_ref().expect("content_bytes was Some");
        let text = |name: &str| content.get(name).and_then(serde_json::Value::as_str).map(str::to_owned);
        if content.get("format").and_then(serde_json::Value::as_str) != Some(seal::CONTENT_FORMAT) {
            return Err(Refusal::BadContent(format!("format is not {}", seal::CONTENT_FORMAT)));
        }
        let title = text("title").ok_or_else(|| Refusal::BadContent("no title".into()))?;
        let body = text("body").ok_or_else(|| Refusal::BadContent("no body".into()))?;
        Ok(Publication {
            item_id: event.item_id.clone(),
            version: m.item.version,
            serial: m.serial.clone(),
            supersedes: m.supersedes.clone(),
            kind: text("kind"),
            title,
            body,
            doc_number: m.doc_number.clone(),
            issuer: m.issuer.clone(),
            attribute: serde_json::to_value(m.attribute)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            formed_at: text("formed_at"),
            attachments: content.get("attachments").cloned().unwrap_or_else(|| serde_json::json!([])),
            not_before: m.not_before,
            sealed_at: m.sealed_at,
            published_at: now_rfc3339(now),
            dev_key: m.dev_key,
            content_digest: seal::ContentDigest::of(&content_bytes).to_string(),
            event_id: event.event_id.clone(),
            sequence: event.sequence,
            envelope: serde_json::to_value(&env).expect("an envelope serialises"),
        })
    }
}

fn required<'a>(value: Option<&'a str>, name: &'static str) -> Result<&'a str, Refusal> {
    value.filter(|s| !s.trim().is_empty()).ok_or(Refusal::MissingHeader(name))
}

fn now_rfc3339(now: i64) -> String {
    outcome::rfc3339(u64::try_from(now).unwrap_or(0))
}
