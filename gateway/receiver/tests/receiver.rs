//! The receiver against events built as `docs/delivery.md` says, with real
//! seals (`seal::sign`) and a real transport key: no gateway needed.

use ed25519_dalek::SigningKey;
use receiver::{
    Applied, Config, DevKeys, DirStore, MemoryStore, Outcome, Receiver, Store, TransportKey, WebhookHeaders,
    sign_webhook,
};
use seal::{
    Attribute, CONTENT_FORMAT, ContentDigest, ContentRef, DigestRef, Ed25519Signer, ItemRef, KeyRef, MANIFEST_FORMAT,
    Manifest, ReviewRef, Sha256, SignOff, Signer as _, Validity,
};
use serde_json::{Value, json};

/// 2026-06-01T00:00:00Z: the receiver's clock in these tests.
const NOW: i64 = 1_780_272_000;
/// 2026-01-01T00:00:00Z.
const Y2026: u64 = 1_767_225_600;
const ITEM: &str = "0196a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const OTHER_ITEM: &str = "0196a1b2-c3d4-7e5f-8a9b-000000000002";

fn signer(name: &str) -> Ed25519Signer {
    Ed25519Signer::from_seed(Sha256::of(format!("receiver test key: {name}").as_bytes()).as_bytes())
}

/// The gateway's side: its transport key and seal keys.
struct Gateway {
    transport: SigningKey,
    current: Ed25519Signer,
    revoked: Ed25519Signer,
    dev: Ed25519Signer,
}

impl Gateway {
    fn new() -> Gateway {
        Gateway {
            transport: SigningKey::from_bytes(Sha256::of(b"receiver test transport key").as_bytes()),
            current: signer("current"),
            revoked: signer("revoked"),
            dev: signer("dev").into_dev_key(),
        }
    }

    /// The JWKS of `/.well-known/seal-keys`.
    fn seal_keys(&self) -> seal::KeySet {
        let from_2026 = Validity { nbf: Some(Y2026), exp: None };
        let doc = seal::jwks_json(&[
            seal::ed25519_jwk(&self.current.verifying_key(), from_2026, false),
            seal::ed25519_jwk(&self.revoked.verifying_key(), from_2026, true),
            seal::ed25519_jwk(&self.dev.verifying_key(), from_2026, false),
        ]);
        seal::KeySet::from_jwks_json(doc.as_bytes()).unwrap()
    }

    fn config(&self) -> Config {
        let key = TransportKey::parse(&receiver::public_key_string(&self.transport.verifying_key())).unwrap();
        Config::new("website", vec![key], self.seal_keys()).unwrap()
    }

    fn receiver(&self) -> Receiver<MemoryStore> {
        Receiver::new(self.config(), MemoryStore::new())
    }

    /// Signs a delivery attempt made at `timestamp`.
    fn deliver<S: Store>(&self, r: &mut Receiver<S>, body: &[u8], timestamp: i64) -> Outcome {
        let id = serde_json::from_slice::<Value>(body).unwrap()["event_id"].as_str().unwrap().to_owned();
        let sig = sign_webhook(&self.transport, &id, timestamp, body);
        let ts = timestamp.to_string();
        r.handle(WebhookHeaders { id: Some(&id), timestamp: Some(&ts), signature: Some(&sig) }, body, NOW)
    }
}

/// A canonical content object (`gov-disclosure/content@1`).
fn content(title: &str) -> Value {
    json!({
        "format": CONTENT_FORMAT,
        "kind": "notice",
        "title": title,
        "body": "各镇人民政府，各园区管委会：\n现将有关事项通知如下。\n",
        "attribute": "public",
        "attribute_reason": null,
        "legal_basis": null,
        "doc_number": "句政办发〔2026〕12号",
        "issuer": "句容市人民政府办公室",
        "superior": null,
        "interprets": null,
        "channels": ["website"],
        "flags": [],
        "attachments": [],
        "formed_at": "2026-04-20"
    })
}

/// What a seal says beyond the content.
struct SealSpec<'a> {
    signer: &'a Ed25519Signer,
    serial: &'a str,
    item: &'a str,
    version: u64,
    channels: &'a [&'a str],
    supersedes: Option<&'a str>,
    not_before: u64,
}

impl<'a> SealSpec<'a> {
    fn new(signer: &'a Ed25519Signer, serial: &'a str) -> SealSpec<'a> {
        SealSpec {
            signer,
            serial,
            item: ITEM,
            version: 1,
            channels: &["website"],
            supersedes: None,
            not_before: NOW as u64 - 3600,
        }
    }

    /// The seal over `content`, JWS compact.
    fn seal(&self, content: &Value) -> String {
        let bytes = seal::canonical::to_vec(content).unwrap();
        let m = Manifest {
            format: MANIFEST_FORMAT.into(),
            serial: self.serial.into(),
            item: ItemRef { id: self.item.into(), version: self.version },
            content: ContentRef { format: CONTENT_FORMAT.into(), sha256: ContentDigest::of(&bytes).into(), sm3: None },
            attribute: Attribute::Public,
            issuer: "句容市人民政府办公室".into(),
            doc_number: Some("句政办发〔2026〕12号".into()),
            channels: self.channels.iter().map(|c| c.to_string()).collect(),
            not_before: self.not_before,
            sealed_at: NOW as u64 - 7200,
            review: ReviewRef {
                policy: DigestRef { sha256: Sha256::of(b"policy"), sm3: None },
                plugins: vec![],
                approvals: DigestRef { sha256: Sha256::of(b"approvals"), sm3: None },
            },
            sign_off: SignOff {
                responsible: "psn-7f3a9c".into(),
                role: "leader".into(),
                statement: "sign-off-final".into(),
                statement_version: 1,
            },
            supersedes: self.supersedes.map(str::to_owned),
            key: KeyRef::of(self.signer),
            dev_key: self.signer.dev_key(),
        };
        seal::sign(&m, self.signer).unwrap().into_string()
    }

    /// The envelope `{"seal", "content"}` of `docs/seal.md` §7.
    fn envelope(&self, content: &Value) -> Value {
        json!({ "seal": self.seal(content), "content": content })
    }
}

/// A `publish` event body.
fn publish(
    event_id: &str,
    item: &str,
    sequence: u64,
    serial: &str,
    supersedes: Option<&str>,
    envelope: Value,
) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "type": "publish",
        "event_id": event_id,
        "item_id": item,
        "channel": "website",
        "sequence": sequence,
        "serial": serial,
        "supersedes": supersedes,
        "not_before": NOW - 3600,
        "created_at": "2026-06-01T00:00:00.000Z",
        "envelope": envelope,
        "reason": null
    }))
    .unwrap()
}

/// A `withdraw` event body.
fn withdraw(event_id: &str, item: &str, sequence: u64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "type": "withdraw",
        "event_id": event_id,
        "item_id": item,
        "channel": "website",
        "sequence": sequence,
        "serial": null,
        "supersedes": null,
        "not_before": null,
        "created_at": "2026-06-01T00:00:00.000Z",
        "envelope": null,
        "reason": "撤稿：内容有误"
    }))
    .unwrap()
}

/// A valid first publish of `ITEM` with serial `S1`.
fn first_publish(gw: &Gateway) -> Vec<u8> {
    let env = SealSpec::new(&gw.current, "321183-2026-000001").envelope(&content("关于劳动节放假安排的通知"));
    publish("evt_1", ITEM, 1, "321183-2026-000001", None, env)
}

#[track_caller]
fn refused(outcome: &Outcome, status: u16, code: &str) {
    assert_eq!((outcome.status(), outcome.code().as_str()), (status, code), "{}", outcome.reason());
    assert!(!outcome.is_confirmed());
    assert!(!outcome.reason_zh().is_empty());
    assert_eq!(outcome.to_json()["outcome"], "refused");
}

#[test]
fn a_valid_publish_is_applied_and_confirmed() {
    let gw = Gateway::new();
    let mut r = gw.receiver();
    let out = gw.deliver(&mut r, &first_publish(&gw), NOW);
    assert_eq!(out.status(), 200);
    assert!(out.is_confirmed());
    assert_eq!(
        out,
        Outcome::Applied(Applied::Published {
            item_id: ITEM.into(),
            serial: "321183-2026-000001".into(),
            replaced: None
        })
    );
    assert_eq!(out.reason_zh(), format!("已发布：事项 {ITEM}，专用章 321183-2026-000001"));
    let p = r.store().publication(ITEM).unwrap().unwrap();
    assert_eq!(
        (p.title.as_str(), p.serial.as_str(), p.sequence),
        ("关于劳动节放假安排的通知", "321183-2026-000001", 1)
    );
    assert_eq!(p.doc_number.as_deref(), Some("句政办发〔2026〕12号"));
    assert_eq!(p.published_at, "2026-06-01T00:00:00Z");
    assert_eq!(r.store().applies(), 1);
    assert_eq!(r.store().item_state(ITEM).unwrap().last_sequence, 1);
}

#[test]
fn transport_problems_are_refused_before_anything_is_read() {
    let gw = Gateway::new();
    let mut r = gw.receiver();
    let body = first_publish(&gw);
    let ts = NOW.to_string();
    let sig = sign_webhook(&gw.transport, "evt_1", NOW, &body);
    let headers = WebhookHeaders { id: Some("evt_1"), timestamp: Some(&ts), signature: Some(&sig) };

    // One byte of the body changed after signing.
    let mut tampered = body.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 1;
    refused(&r.handle(headers, &tampered, NOW), 401, "bad-signature");
    // The signature of another key (not pinned), or only an HMAC one.
    let stranger = sign_webhook(&SigningKey::from_bytes(&[9; 32]), "evt_1", NOW, &body);
    refused(&r.handle(WebhookHeaders { signature: Some(&stranger), ..headers }, &body, NOW), 401, "bad-signature");
    let hmac = "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=";
    refused(&r.handle(WebhookHeaders { signature: Some(hmac), ..headers }, &body, NOW), 401, "no-v1a-signature");
    // A signed id or timestamp changed.
    refused(&r.handle(WebhookHeaders { id: Some("evt_2"), ..headers }, &body, NOW), 401, "bad-signature");
    refused(&r.handle(WebhookHeaders { timestamp: Some("1780272001"), ..headers }, &body, NOW), 401, "bad-signature");
    // Missing headers.
    refused(&r.handle(WebhookHeaders { signature: None, ..headers }, &body, NOW), 400, "missing-header");
    refused(&r.handle(WebhookHeaders { id: Some(" "), ..headers }, &body, NOW), 400, "missing-header");
    // A signed body that is not an event, and a webhook-id that is not its event_id.
    let junk = br#"{"type":"publish"}"#;
    let sig_junk = sign_webhook(&gw.transport, "evt_1", NOW, junk);
    refused(&r.handle(WebhookHeaders { signature: Some(&sig_junk), ..headers }, junk, NOW), 400, "malformed-event");
    let sig_other = sign_webhook(&gw.transport, "evt_other", NOW, &body);
    let other = WebhookHeaders { id: Some("evt_other"), signature: Some(&sig_other), ..headers };
    refused(&r.handle(other, &body, NOW), 400, "id-mismatch");

    assert_eq!(r.store().applies(), 0);
    // The untouched delivery is still accepted.
    assert_eq!(r.handle(headers, &body, NOW).status(), 200);
}

#[test]
fn a_second_pinned_transport_key_is_accepted_during_rotation() {
    let gw = Gateway::new();
    let next = SigningKey::from_bytes(&[5; 32]);
    let keys = vec![
        gw.config().transport_keys()[0].clone(),
        TransportKey::parse(&receiver::public_key_string(&next.verifying_key())).unwrap(),
    ];
    let config = Config::new("website", keys, gw.seal_keys()).unwrap();
    let mut r = Receiver::new(config, MemoryStore::new());
    let body = first_publish(&gw);
    let (ts, sig) = (NOW.to_string(), sign_webhook(&next, "evt_1", NOW, &body));
    let out = r.handle(WebhookHeaders { id: Some("evt_1"), timestamp: Some(&ts), signature: Some(&sig) }, &body, NOW);
    assert_eq!(out.status(), 200, "{}", out.reason());
}

#[test]
fn replays_outside_the_window_are_refused() {
    let gw = Gateway::new();
    let mut r = gw.receiver();
    let body = first_publish(&gw);
    refused(&gw.deliver(&mut r, &body, NOW - 301), 401, "replay");
    refused(&gw.deliver(&mut r, &body, NOW + 301), 401, "replay");
    assert_eq!(r.store().applies(), 0);
    assert_eq!(gw.deliver(&mut r, &body, NOW - 300).status(), 200);
}

#[test]
fn a_duplicate_event_id_is_confirmed_without_applying_again() {
    let gw = Gateway::new();
    let mut r = gw.receiver();
    let body = first_publish(&gw);
    assert_eq!(gw.deliver(&mut r, &body, NOW).status(), 200);
    // The gateway's retry: same event id, a new attempt timestamp.
    let again = gw.deliver(&mut r, &body, NOW + 60);
    assert_eq!(again, Outcome::AlreadyApplied { event_id: "evt_1".into() });
    assert_eq!((again.status(), again.code().as_str()), (200, "already-applied"));
    assert_eq!(r.store().applies(), 1);
}

#[test]
fn tampered_seals_and_content_are_refused() {
    let gw = Gateway::new();
    let mut r = gw.receiver();
    let spec = SealSpec::new(&gw.current, "321183-2026-000001");
    let original = content("关于劳动节放假安排的通知");

    // The content changed after sealing (one character of the title).
    let mut env = spec.envelope(&original);
    env["content"]["title"] = "关于劳动节放假安排的通知！".into();
    let out = gw.deliver(&mut r, &publish("evt_1", ITEM, 1, "321183-2026-000001", None, env), NOW);
    refused(&out, 422, "seal:content");
    assert!(out.reason().contains("seal check content failed"), "{}", out.reason());
    assert!(out.reason_zh().contains("内容摘要不符"), "{}", out.reason_zh());

    // The seal's payload changed, signature kept.
    let mut env = spec.envelope(&original);
    let jws = env["seal"].as_str().unwrap().to_owned();
    let mut parts: Vec<String> = jws.split('.').map(str::to_owned).collect();
    let flipped = if parts[1].ends_with('A') { 'B' } else { 'A' };
    parts[1].pop();
    parts[1].push(flipped);
    env["seal"] = parts.join(".").into();
    refused(
        &gw.deliver(&mut r, &publish("evt_2", ITEM, 1, "321183-2026-000001", None, env), NOW),
        422,
        "seal:signature",
    );

    // A seal by a key outside the pinned set.
    let env = SealSpec::new(&signer("outsider"), "321183-2026-000001").envelope(&original);
    refused(&gw.deliver(&mut r, &publish("evt_3", ITEM, 1, "321183-2026-000001", None, env), NOW), 422, "seal:key");

    // A valid seal for another item, delivered as this one.
    let env = SealSpec { item: OTHER_ITEM, ..SealSpec::new(&gw.current, "321183-2026-000001") }.envelope(&original);
    refused(&gw.deliver(&mut r, &publish("evt_4", ITEM, 1, "321183-2026-000001", None, env), NOW), 422, "mismatch");
    // The event names another serial than the seal.
    let env = spec.envelope(&original);
    refused(&gw.deliver(&mut r, &publish("evt_5", ITEM, 1, "321183-2026-000099", None, env), NOW), 422, "mismatch");

    assert_eq!(r.store().applies(), 0);
    assert!(r.store().publication(ITEM).unwrap().is_none());
}

#[test]
fn unsealed_publishes_are_refused() {
    let gw = Gateway::new();
    let mut r = gw.receiver();
    let out = gw.deliver(&mut r, &publish("evt_1", ITEM, 1, "321183-2026-000001", None, Value::Null), NOW);
    refused(&out, 422, "unsealed");
    assert!(out.reason_zh().contains("未加盖专用章"), "{}", out.reason_zh());
    let out = gw.deliver(
        &mut r,
        &publish("evt_3", ITEM, 1, "321183-2026-000001", None, json!({"content": content("t")})),
        NOW,
    );
    refused(&out, 422, "unsealed");
    // A seal without its content: nothing to publish.
    let jws = SealSpec::new(&gw.current, "321183-2026-000001").seal(&content("t"));
    let env = json!({ "seal": jws, "content": null });
    refused(&gw.deliver(&mut r, &publish("evt_2", ITEM, 1, "321183-2026-000001", None, env), NOW), 422, "no-content");
    assert_eq!(r.store().applies(), 0);
}

#[test]
fn seals_of_revoked_keys_are_refused() {
    let gw = Gateway::new();
    let mut r = gw.receiver();
    let env = SealSpec::new(&gw.revoked, "321183-2026-000001").envelope(&content("t"));
    let out = gw.deliver(&mut r, &publish("evt_1", ITEM, 1, "321183-2026-000001", None, env), NOW);
    refused(&out, 422, "seal:key-revocation");
    assert!(out.reason_zh().contains("密钥已吊销"), "{}", out.reason_zh());

    // Revoked by the receiver's own configuration (the key set not yet refreshed).
    let mut config = gw.config();
    config.revoked_keys = vec![seal::KeyId::thumbprint(&gw.current.verifying_key())];
    let mut r = Receiver::new(config, MemoryStore::new());
    refused(&gw.deliver(&mut r, &first_publish(&gw), NOW), 422, "seal:key-revocation");

    // And a key set reloaded after a revocation.
    let mut r = gw.receiver();
    let revoked = seal::ed25519_jwk(&gw.current.verifying_key(), Validity::default(), true);
    r.set_seal_keys(seal::KeySet::from_jwks_json(seal::jwks_json(&[revoked]).as_bytes()).unwrap());
    refused(&gw.deliver(&mut r, &first_publish(&gw), NOW), 422, "seal:key-revocation");
}

#[test]
fn development_keys_are_refused_unless_allowed() {
    let gw = Gateway::new();
    let env = SealSpec::new(&gw.dev, "321183-2026-000001").envelope(&content("t"));
    let body = publish("evt_1", ITEM, 1, "321183-2026-000001", None, env);
    let mut r = gw.receiver();
    refused(&gw.deliver(&mut r, &body, NOW), 422, "seal:dev-key");
    let mut config = gw.config();
    config.dev_keys = DevKeys::Accept;
    let mut r = Receiver::new(config, MemoryStore::new());
    assert_eq!(gw.deliver(&mut r, &body, NOW).status(), 200);
    assert!(r.store().publication(ITEM).unwrap().unwrap().dev_key);
}

#[test]
fn the_wrong_channel_is_refused() {
    let gw = Gateway::new();
    let mut r = gw.receiver();
    // The event is addressed to another channel.
    let mut body: Value = serde_json::from_slice(&first_publish(&gw)).unwrap();
    body["channel"] = "wechat".into();
    let out = gw.deliver(&mut r, &serde_json::to_vec(&body).unwrap(), NOW);
    refused(&out, 422, "wrong-channel");
    assert!(out.reason().contains("channel wechat"), "{}", out.reason());
    // The event says website but the seal authorises only wechat.
    let env =
        SealSpec { channels: &["wechat"], ..SealSpec::new(&gw.current, "321183-2026-000001") }.envelope(&content("t"));
    let out = gw.deliver(&mut r, &publish("evt_2", ITEM, 1, "321183-2026-000001", None, env), NOW);
    refused(&out, 422, "seal:channel");
    assert!(out.reason_zh().contains("专用章未授权本渠道"), "{}", out.reason_zh());
    assert_eq!(r.store().applies(), 0);
}

#[test]
fn an_embargoed_seal_is_retried_later() {
    let gw = Gateway::new();
    let mut r = gw.receiver();
    let spec = SealSpec { not_before: NOW as u64 + 90, ..SealSpec::new(&gw.current, "321183-2026-000001") };
    let out =
        gw.deliver(&mut r, &publish("evt_1", ITEM, 1, "321183-2026-000001", None, spec.envelope(&content("t"))), NOW);
    refused(&out, 409, "not-yet");
    assert_eq!(out.retry_after(), Some(90));
    assert_eq!(r.store().applies(), 0);
}

#[test]
fn out_of_order_publications_wait_for_the_gap_to_be_filled() {
    let gw = Gateway::new();
    let mut r = gw.receiver();
    // A correction (sequence 2) overtakes the first publication (sequence 1).
    let spec = SealSpec {
        version: 2,
        supersedes: Some("321183-2026-000001"),
        ..SealSpec::new(&gw.current, "321183-2026-000002")
    };
    let correction =
        publish("evt_2", ITEM, 2, "321183-2026-000002", Some("321183-2026-000001"), spec.envelope(&content("更正")));
    let out = gw.deliver(&mut r, &correction, NOW);
    refused(&out, 409, "out-of-order");
    assert!(out.retry_after().is_some());
    assert!(out.reason().contains("expects sequence 1, got 2"), "{}", out.reason());
    assert_eq!(r.store().applies(), 0);

    assert_eq!(gw.deliver(&mut r, &first_publish(&gw), NOW).status(), 200);
    assert_eq!(gw.deliver(&mut r, &correction, NOW + 5).status(), 200);
    assert_eq!(r.store().publication(ITEM).unwrap().unwrap().serial, "321183-2026-000002");
    // Other items have their own sequences.
    let env = SealSpec { item: OTHER_ITEM, ..SealSpec::new(&gw.current, "321183-2026-000002") }.envelope(&content("t"));
    assert_eq!(
        gw.deliver(&mut r, &publish("evt_3", OTHER_ITEM, 1, "321183-2026-000002", None, env), NOW).status(),
        200
    );
}

#[test]
fn a_withdrawal_applies_after_a_gap_and_the_cancelled_publication_is_stale() {
    // The gateway cancels publications it has not sent (an embargo, a
    // failing channel) when an item is withdrawn, so a withdrawal may follow
    // a gap (docs/delivery.md §1): it is applied, and the cancelled
    // publication, should it ever arrive, is refused for good.
    let gw = Gateway::new();
    let mut r = gw.receiver();
    let out = gw.deliver(&mut r, &withdraw("evt_2", ITEM, 2), NOW);
    assert_eq!(out, Outcome::Applied(Applied::Withdrawn { item_id: ITEM.into(), removed: false }));
    refused(&gw.deliver(&mut r, &first_publish(&gw), NOW + 5), 422, "stale");
    assert!(r.store().publication(ITEM).unwrap().is_none());
}

#[test]
fn a_correction_replaces_the_publication_in_place() {
    let gw = Gateway::new();
    let mut r = gw.receiver();
    assert_eq!(gw.deliver(&mut r, &first_publish(&gw), NOW).status(), 200);
    let spec = SealSpec {
        version: 2,
        supersedes: Some("321183-2026-000001"),
        ..SealSpec::new(&gw.current, "321183-2026-000002")
    };
    let env = spec.envelope(&content("关于劳动节放假安排的通知（更正）"));
    let out =
        gw.deliver(&mut r, &publish("evt_2", ITEM, 2, "321183-2026-000002", Some("321183-2026-000001"), env), NOW);
    assert_eq!(
        out,
        Outcome::Applied(Applied::Published {
            item_id: ITEM.into(),
            serial: "321183-2026-000002".into(),
            replaced: Some("321183-2026-000001".into())
        })
    );
    let all = r.store().publications().unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!((all[0].serial.as_str(), all[0].version), ("321183-2026-000002", 2));
    assert_eq!(all[0].title, "关于劳动节放假安排的通知（更正）");
    assert_eq!(all[0].supersedes.as_deref(), Some("321183-2026-000001"));

    // The superseded seal may not come back, even as a new, in-order event.
    let env = SealSpec::new(&gw.current, "321183-2026-000001").envelope(&content("关于劳动节放假安排的通知"));
    let out = gw.deliver(&mut r, &publish("evt_3", ITEM, 3, "321183-2026-000001", None, env), NOW);
    refused(&out, 422, "retired-serial");
    assert_eq!(r.store().publication(ITEM).unwrap().unwrap().serial, "321183-2026-000002");
}

#[test]
fn a_withdrawal_removes_the_item_and_is_idempotent() {
    let gw = Gateway::new();
    let mut r = gw.receiver();
    assert_eq!(gw.deliver(&mut r, &first_publish(&gw), NOW).status(), 200);
    let out = gw.deliver(&mut r, &withdraw("evt_2", ITEM, 2), NOW);
    assert_eq!(out.reason_zh(), format!("已撤下：事项 {ITEM}"));
    assert!(r.store().publication(ITEM).unwrap().is_none());
    assert_eq!(gw.deliver(&mut r, &withdraw("evt_2", ITEM, 2), NOW + 30).code(), "already-applied");
    assert_eq!(r.store().applies(), 2);
    // Withdrawing an item this channel never showed is confirmed too.
    let out = gw.deliver(&mut r, &withdraw("evt_9", OTHER_ITEM, 1), NOW);
    assert_eq!(out, Outcome::Applied(Applied::Withdrawn { item_id: OTHER_ITEM.into(), removed: false }));
    assert_eq!(out.status(), 200);
}

#[test]
fn a_replayed_older_publish_does_not_bring_back_a_withdrawn_seal() {
    let gw = Gateway::new();
    let mut r = gw.receiver();
    let old = first_publish(&gw);
    assert_eq!(gw.deliver(&mut r, &old, NOW).status(), 200);
    assert_eq!(gw.deliver(&mut r, &withdraw("evt_2", ITEM, 2), NOW).status(), 200);

    // The same publish delivered again (a redelivery, freshly signed): confirmed, not re-applied.
    assert_eq!(gw.deliver(&mut r, &old, NOW + 100).code(), "already-applied");
    // The same seal in a new event at the old sequence: stale.
    let env = SealSpec::new(&gw.current, "321183-2026-000001").envelope(&content("关于劳动节放假安排的通知"));
    let out = gw.deliver(&mut r, &publish("evt_x", ITEM, 1, "321183-2026-000001", None, env.clone()), NOW);
    refused(&out, 422, "stale");
    // ... or at the next sequence: the serial was withdrawn.
    let out = gw.deliver(&mut r, &publish("evt_y", ITEM, 3, "321183-2026-000001", None, env), NOW);
    refused(&out, 422, "retired-serial");
    assert!(out.reason().contains("withdrawn"), "{}", out.reason());
    assert!(r.store().publication(ITEM).unwrap().is_none());
    assert_eq!(r.store().applies(), 2);
}

#[test]
fn the_directory_store_survives_a_restart_and_is_servable() {
    let gw = Gateway::new();
    let dir = tempfile::tempdir().unwrap();
    {
        let mut r = Receiver::new(gw.config(), DirStore::open(dir.path()).unwrap());
        assert_eq!(gw.deliver(&mut r, &first_publish(&gw), NOW).status(), 200);
        let env =
            SealSpec { item: OTHER_ITEM, ..SealSpec::new(&gw.current, "321183-2026-000002") }.envelope(&content("二"));
        assert_eq!(
            gw.deliver(&mut r, &publish("evt_2", OTHER_ITEM, 1, "321183-2026-000002", None, env), NOW).status(),
            200
        );
        assert_eq!(gw.deliver(&mut r, &withdraw("evt_3", OTHER_ITEM, 2), NOW).status(), 200);
    }
    assert!(dir.path().join(format!("items/{ITEM}.json")).is_file());
    assert!(!dir.path().join(format!("items/{OTHER_ITEM}.json")).exists());
    let index: Value = serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
    assert_eq!(index["items"].as_array().unwrap().len(), 1);
    assert_eq!(index["items"][0]["item_id"], ITEM);
    assert_eq!(index["items"][0]["url"], format!("items/{ITEM}.json"));
    assert_eq!(index["items"][0]["title"], "关于劳动节放假安排的通知");
    // No temporary files left behind.
    for sub in ["", "items", ".receiver"] {
        for e in std::fs::read_dir(dir.path().join(sub)).unwrap() {
            let name = e.unwrap().file_name().into_string().unwrap();
            assert!(!name.contains(".tmp-"), "{name}");
        }
    }

    // A new receiver over the same directory remembers everything.
    let mut r = Receiver::new(gw.config(), DirStore::open(dir.path()).unwrap());
    assert_eq!(gw.deliver(&mut r, &first_publish(&gw), NOW + 10).code(), "already-applied");
    assert_eq!(gw.deliver(&mut r, &withdraw("evt_3", OTHER_ITEM, 2), NOW).code(), "already-applied");
    // …including the last sequence: an old one with a new id is stale.
    refused(&gw.deliver(&mut r, &withdraw("evt_4", ITEM, 1), NOW), 422, "stale");
    assert_eq!(r.store().publications().unwrap().len(), 1);

    // The stored envelope verifies by itself (what `seal verify` does with the item file).
    let item: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(format!("items/{ITEM}.json"))).unwrap()).unwrap();
    let env = seal::Envelope::parse(item["envelope"].to_string().as_bytes()).unwrap();
    let bytes = env.content_bytes().unwrap().unwrap();
    let opts =
        seal::VerifyOptions { content: seal::Content::Bytes(&bytes), channel: Some("website"), ..Default::default() };
    let verified = seal::verify(&env.seal, &gw.seal_keys(), &opts).unwrap();
    assert_eq!(verified.manifest.serial, item["serial"]);
    assert_eq!(item["content_digest"], ContentDigest::of(&bytes).to_string());

    // A withdrawal after the restart removes the file and the index entry.
    assert_eq!(gw.deliver(&mut r, &withdraw("evt_5", ITEM, 2), NOW).status(), 200);
    assert!(!dir.path().join(format!("items/{ITEM}.json")).exists());
    let index: Value = serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
    assert_eq!(index["items"], json!([]));
}

#[test]
fn pulled_events_get_the_same_checks() {
    let gw = Gateway::new();
    let mut r = gw.receiver();
    refused(&r.apply_pulled(&withdraw("evt_0", ITEM, 0), NOW), 400, "malformed-event");
    assert_eq!(r.apply_pulled(&first_publish(&gw), NOW).status(), 200);
    refused(&r.apply_pulled(&withdraw("evt_1b", ITEM, 1), NOW), 422, "stale");
    assert_eq!(r.apply_pulled(&first_publish(&gw), NOW).code(), "already-applied");
    assert_eq!(r.apply_pulled(&withdraw("evt_2", ITEM, 2), NOW).status(), 200);
}

/// One HTTP/1.1 request over a fresh connection; returns the status and body.
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

#[test]
fn the_binary_takes_webhooks_and_serves_the_items() {
    use std::io::BufRead as _;
    let gw = Gateway::new();
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("seal-keys.json");
    let from_2026 = Validity { nbf: Some(Y2026), exp: None };
    std::fs::write(&jwks, seal::jwks_json(&[seal::ed25519_jwk(&gw.current.verifying_key(), from_2026, false)]))
        .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_receiver"))
        .args(["serve", "--listen", "127.0.0.1:0", "--channel", "website", "--transport-key"])
        .arg(receiver::public_key_string(&gw.transport.verifying_key()))
        .arg("--seal-keys")
        .arg(&jwks)
        .arg("--dir")
        .arg(dir.path().join("site"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line.split("listening on ").nth(1).and_then(|s| s.split(' ').next()).expect(&line).to_owned();

    // The clock is real here: a seal made an hour ago, delivered now.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let spec = SealSpec { not_before: now as u64 - 3600, ..SealSpec::new(&gw.current, "321183-2026-000001") };
    let mut env = spec.envelope(&content("关于劳动节放假安排的通知"));
    env["log"] = "reserved envelope members are ignored".into();
    let body = publish("evt_1", ITEM, 1, "321183-2026-000001", None, env);
    let sig = sign_webhook(&gw.transport, "evt_1", now, &body);
    let ts = now.to_string();
    let headers = [
        ("content-type", "application/json"),
        ("webhook-id", "evt_1"),
        ("webhook-timestamp", ts.as_str()),
        ("webhook-signature", sig.as_str()),
    ];
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    let (status, answer) = http(&addr, "POST", "/", &headers, &tampered);
    assert_eq!(status, 401, "{answer}");
    assert!(answer.contains("bad-signature") && answer.contains("传输签名无效"), "{answer}");

    let (status, answer) = http(&addr, "POST", "/", &headers, &body);
    assert_eq!(status, 200, "{answer}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!((answer["outcome"].as_str(), answer["code"].as_str()), (Some("applied"), Some("applied")));

    let (status, index) = http(&addr, "GET", "/", &[], b"");
    assert_eq!(status, 200);
    let index: Value = serde_json::from_str(&index).unwrap();
    assert_eq!(index["items"][0]["title"], "关于劳动节放假安排的通知");
    let (status, item) = http(&addr, "GET", &format!("/items/{ITEM}.json"), &[], b"");
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&item).unwrap()["serial"], "321183-2026-000001");
    assert_eq!(http(&addr, "GET", "/items/nope", &[], b"").0, 404);

    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_crash_between_the_files_and_the_state_reapplies_harmlessly() {
    let gw = Gateway::new();
    let dir = tempfile::tempdir().unwrap();
    {
        let mut r = Receiver::new(gw.config(), DirStore::open(dir.path()).unwrap());
        assert_eq!(gw.deliver(&mut r, &first_publish(&gw), NOW).status(), 200);
    }
    // As if the process died after writing the item file, before the index and the state.
    std::fs::remove_file(dir.path().join(".receiver").join(format!("{ITEM}.json"))).unwrap();
    std::fs::remove_file(dir.path().join("index.json")).unwrap();

    let mut r = Receiver::new(gw.config(), DirStore::open(dir.path()).unwrap());
    // Opening rebuilds the index from the item files.
    let index: Value = serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
    assert_eq!(index["items"][0]["item_id"], ITEM);
    // The gateway never got its 200, so it redelivers: applied again, same result.
    let out = gw.deliver(&mut r, &first_publish(&gw), NOW + 30);
    assert_eq!(out.code(), "applied", "{}", out.reason());
    assert_eq!(r.store().publications().unwrap().len(), 1);
    assert_eq!(r.store().item_state(ITEM).unwrap().last_sequence, 1);
    assert_eq!(gw.deliver(&mut r, &first_publish(&gw), NOW + 60).code(), "already-applied");
}
