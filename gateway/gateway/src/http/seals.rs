//! Seals over HTTP: sealing an approved item (政务公开办公室), and the public,
//! unauthenticated trust endpoints — the key set (`/.well-known/seal-keys`),
//! a seal by serial with its envelope, its status, the status list, and the
//! transparency log's checkpoint, key and proofs.
//!
//! Who may seal is checked here; whether the version may be sealed is
//! `workflow::approved`'s, inside the store's sealing transaction.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::extract::InPath;
use super::items::readable_item;
use super::{ApiError, AppJson, AppQuery, AppState, Auth};
use crate::auth::Scope;
use crate::model::ItemId;
use crate::model::Timestamp;
use crate::service;
use crate::store::{SealKeyRecord, SealRecord};

/// Sealing request: the digest the publisher checked, and optionally when
/// the item may be published (embargo).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SealItemRequest {
    #[schema(value_type = String)]
    pub content_digest: seal::ContentDigest,
    /// RFC 3339; default: now.
    #[serde(default)]
    pub not_before: Option<String>,
}

/// `{"seal", "content"}` (docs/seal.md section 7).
#[derive(Serialize, ToSchema)]
pub struct EnvelopeView {
    pub seal: String,
    /// The canonical content object.
    #[schema(value_type = Option<CanonicalContent>)]
    pub content: Option<Value>,
}

/// A seal and where it stands. On the public endpoint, the record of an
/// item that is not 主动公开, or whose `not_before` has not passed, is
/// `restricted`: only what a channel holding the seal needs to check its
/// validity (serial, status, key, log index); everything that would tell
/// the public about the item (id, digest, issuer, 发文字号, the JWS and its
/// manifest) is `null` (docs/seal.md §9a).
#[derive(Serialize, ToSchema)]
pub struct SealView {
    pub serial: String,
    /// `full`, or `restricted` (see above).
    pub disclosure: &'static str,
    /// `valid`, `superseded`, `withdrawn`, `suspended`, or `revoked` when
    /// the key that made it is revoked.
    pub status: String,
    pub kid: String,
    pub dev_key: bool,
    pub log_index: i64,
    pub item_id: Option<String>,
    pub version: Option<i64>,
    pub content_digest: Option<String>,
    pub sealed_at: Option<i64>,
    pub not_before: Option<i64>,
    pub supersedes: Option<String>,
    /// The JWS compact serialisation.
    pub jws: Option<String>,
    /// The signed manifest (docs/seal.md §3).
    #[schema(value_type = Option<seal::Manifest>)]
    pub manifest: Option<Value>,
    pub envelope: Option<EnvelopeView>,
    /// The sealed attachments (`null` when restricted). `href` is where the
    /// public downloads one: set for a 主动公开 item while its seal is
    /// valid.
    pub attachments: Option<Vec<SealAttachment>>,
}

/// An attachment the seal covers.
#[derive(Serialize, ToSchema)]
pub struct SealAttachment {
    pub name: String,
    #[schema(value_type = String, example = "sha256:…")]
    pub digest: seal::ContentDigest,
    pub media_type: String,
    pub size: i64,
    pub href: Option<String>,
}

fn effective_status(seal: &SealRecord, key: &SealKeyRecord) -> &'static str {
    if key.is_revoked() { "revoked" } else { seal.status.as_str() }
}

/// Whether the public may see a seal's record and content: a 主动公开 item
/// whose `not_before` has passed. Anything else shows only its status.
fn disclosable(public: bool, not_before: i64) -> bool {
    public && Timestamp::now().as_offset().unix_timestamp() >= not_before
}

async fn seal_view(
    state: &AppState,
    seal: SealRecord,
    key: &SealKeyRecord,
    public: bool,
) -> Result<SealView, ApiError> {
    let status = effective_status(&seal, key).to_owned();
    if public && !disclosable(seal.manifest["attribute"] == "public", seal.not_before) {
        return Ok(SealView {
            serial: seal.serial,
            disclosure: "restricted",
            status,
            kid: seal.kid,
            dev_key: key.dev,
            log_index: seal.log_index,
            item_id: None,
            version: None,
            content_digest: None,
            sealed_at: None,
            not_before: None,
            supersedes: None,
            jws: None,
            manifest: None,
            envelope: None,
            attachments: None,
        });
    }
    let version = state.db.version(seal.item_id, seal.version).await?;
    let public_files = seal.manifest["attribute"] == "public" && status == "valid";
    let attachments = version
        .content
        .attachments
        .iter()
        .map(|a| SealAttachment {
            name: a.name.clone(),
            digest: a.digest,
            media_type: a.media_type.clone(),
            size: a.size,
            href: public_files.then(|| format!("/api/v1/seals/{}/attachments/{}", seal.serial, a.digest)),
        })
        .collect();
    let content = Some(version.content.canonical());
    Ok(SealView {
        disclosure: "full",
        status,
        item_id: Some(seal.item_id.to_string()),
        version: Some(seal.version),
        content_digest: Some(seal.content_digest),
        kid: seal.kid,
        dev_key: key.dev,
        sealed_at: Some(seal.sealed_at),
        not_before: Some(seal.not_before),
        supersedes: seal.supersedes,
        log_index: seal.log_index,
        envelope: Some(EnvelopeView { seal: seal.jws.clone(), content }),
        jws: Some(seal.jws),
        manifest: Some(seal.manifest),
        attachments: Some(attachments),
        serial: seal.serial,
    })
}

/// An attachment of a sealed 主动公开 item, for the public: the `href` of
/// the seal record's `attachments`. Only while the seal is valid and its
/// `not_before` has passed, and only a file the sealed version lists; 404
/// otherwise (a withdrawn item's files are no longer published).
#[utoipa::path(get, path = "/api/v1/seals/{serial}/attachments/{digest}", tag = "seals",
    params(("serial" = String, Path), ("digest" = String, Path)),
    responses((status = 200, description = "The attachment's bytes, as sealed", content_type = "application/octet-stream"),
        (status = 404, body = super::Problem)))]
pub async fn seal_attachment(
    State(state): State<AppState>,
    Path((serial, digest)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let absent = || ApiError::NotFound("该附件");
    let digest: seal::ContentDigest = digest.parse().map_err(|_| absent())?;
    let (seal, key) = state.db.seal_by_serial(&serial).await.map_err(super::items::not_found("该附件"))?;
    let public = disclosable(seal.manifest["attribute"] == "public", seal.not_before);
    if !public || effective_status(&seal, &key) != "valid" {
        return Err(absent());
    }
    let version = state.db.version(seal.item_id, seal.version).await?;
    if !version.content.attachments.iter().any(|a| a.digest == digest) {
        return Err(absent());
    }
    let (blob, content) = state.db.blob_content(&digest).await.map_err(super::items::not_found("该附件"))?;
    Ok(super::attachments::file_response(&blob, content))
}

/// Seals the approved current version of an item (政务公开办公室 only;
/// never its drafter or editor, never an admin). The seal, its log entry,
/// the item's move to `sealed`, the audit event and the publication outbox
/// entry are one transaction.
#[utoipa::path(post, path = "/api/v1/items/{id}/seal", tag = "seals", request_body = SealItemRequest,
    params(("id" = String, Path)),
    responses((status = 201, body = SealView), (status = 403, body = super::Problem), (status = 409, body = super::Problem),
        (status = 422, body = super::Problem)))]
pub async fn seal_item(
    State(state): State<AppState>,
    auth: Auth,
    InPath(id): InPath<ItemId>,
    AppJson(req): AppJson<SealItemRequest>,
) -> Result<(StatusCode, axum::Json<SealView>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(seal_current(&state, &auth, id, req).await?)))
}

/// A seal as the API and the web form ask for it.
pub(super) async fn seal_current(
    state: &AppState,
    auth: &Auth,
    id: ItemId,
    req: SealItemRequest,
) -> Result<SealView, ApiError> {
    readable_item(state, auth, id).await?;
    let principal = auth.require_scope(Scope::Review)?.clone();
    service::seal::may_seal(&principal)?;
    let not_before = match req.not_before.as_deref() {
        None => None,
        Some(t) => {
            let t = Timestamp::parse(t).map_err(|_| {
                ApiError::invalid("not_before", "发布时间须为 RFC 3339 格式，例如 2026-05-01T08:30:00+08:00")
            })?;
            Some(
                u64::try_from(t.as_offset().unix_timestamp())
                    .map_err(|_| ApiError::invalid("not_before", "发布时间有误"))?,
            )
        }
    };
    let record = service::seal::seal(state, &principal, id, req.content_digest, not_before).await?;
    let (record, key) = state.db.seal_by_serial(&record.serial).await?;
    seal_view(state, record, &key, false).await
}

fn with_type(body: String, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Revocation and status must show on the next request.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The schema of the seal keys' JWK Set (the body is built by
/// `seal::ed25519_jwk` and `SealKeyRecord::published_jwk`; this type only
/// describes it).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SealJwkSet {
    keys: Vec<SealJwk>,
}

/// One seal verification key (RFC 8037 OKP, Ed25519).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SealJwk {
    /// `OKP`.
    kty: String,
    /// `Ed25519`.
    crv: String,
    /// The public key, base64url.
    x: String,
    /// The RFC 7638 thumbprint.
    kid: String,
    /// `sig`.
    #[schema(rename = "use")]
    use_: String,
    /// `EdDSA`.
    alg: String,
    /// Valid from (seconds since the Unix epoch).
    nbf: u64,
    /// Retired at, for a retired key.
    exp: Option<u64>,
    /// `active` or `revoked`.
    status: String,
    /// Present and true for a development key.
    dev_key: Option<bool>,
}

/// The schema of an envelope's canonical content object
/// (`VersionContent::canonical`): the version's content with its format
/// name. A description only; the object is built by `canonical`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CanonicalContent {
    /// `gov-disclosure/content@1`.
    format: String,
    #[serde(flatten)]
    content: crate::model::VersionContent,
}

/// The seal verification keys (JWK Set, OKP/Ed25519, RFC 8037): every key
/// that ever sealed — active, retired (with `exp`) and revoked
/// (`"status":"revoked"`). A development key stays published after the
/// rotation to a production key, marked `"dev_key": true`, so the seals it
/// made keep verifying and every verifier knows them for what they are
/// (`--refuse-dev-keys` refuses them by that mark). Public.
#[utoipa::path(get, path = "/.well-known/seal-keys", tag = "seals",
    responses((status = 200, description = "JWK Set", body = SealJwkSet, content_type = "application/jwk-set+json")))]
pub async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    let keys: Vec<Value> = state.db.seal_keys().await?.iter().map(SealKeyRecord::published_jwk).collect();
    Ok(with_type(seal::jwks_json(&keys), "application/jwk-set+json"))
}

/// A seal by serial: the JWS, its manifest and the envelope. Public.
#[utoipa::path(get, path = "/api/v1/seals/{serial}", tag = "seals", params(("serial" = String, Path)),
    responses((status = 200, body = SealView), (status = 404, body = super::Problem)))]
pub async fn get_seal(
    State(state): State<AppState>,
    Path(serial): Path<String>,
) -> Result<axum::Json<SealView>, ApiError> {
    let (seal, key) = state.db.seal_by_serial(&serial).await.map_err(super::items::not_found("该信息公开专用章"))?;
    Ok(axum::Json(seal_view(&state, seal, &key, true).await?))
}

/// The status of one seal.
#[derive(Serialize, ToSchema)]
pub struct SealStatusView {
    pub serial: String,
    /// `valid`, `superseded`, `withdrawn`, `suspended`, or `revoked` (its key is revoked).
    pub status: String,
    /// Token Status List value: 0 valid, 1 invalid (withdrawn or key revoked), 2 suspended, 3 superseded.
    pub status_code: u8,
    /// The seal's own status, before the key's.
    pub seal_status: String,
    /// `active`, `retired` or `revoked`.
    pub key_status: String,
    pub kid: String,
    pub changed_at: String,
}

fn status_code(status: crate::store::SealState, key_revoked: bool) -> u8 {
    if key_revoked { 1 } else { status.code() }
}

/// Where a seal stands now: valid / superseded / withdrawn / suspended /
/// revoked. Read from the store on every request. Public.
#[utoipa::path(get, path = "/api/v1/seals/{serial}/status", tag = "seals", params(("serial" = String, Path)),
    responses((status = 200, body = SealStatusView), (status = 404, body = super::Problem)))]
pub async fn seal_status(State(state): State<AppState>, Path(serial): Path<String>) -> Result<Response, ApiError> {
    let (seal, key) = state.db.seal_by_serial(&serial).await.map_err(super::items::not_found("该信息公开专用章"))?;
    let view = SealStatusView {
        status: effective_status(&seal, &key).to_owned(),
        status_code: status_code(seal.status, key.is_revoked()),
        seal_status: seal.status.as_str().to_owned(),
        key_status: key.status.clone(),
        kid: seal.kid,
        changed_at: key.revoked_at.map_or(seal.status_changed_at, |r| r.max(seal.status_changed_at)).to_string(),
        serial: seal.serial,
    };
    let mut response = axum::Json(view).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatusListQuery {
    /// The last log index already read (`next_cursor` of the previous page); none = from the start.
    #[serde(default)]
    pub cursor: Option<i64>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct StatusListEntry {
    pub log_index: i64,
    /// `null` for a seal whose record is restricted (not 主动公开, or not
    /// yet past `not_before`): the list does not name it.
    pub serial: Option<String>,
    pub status: String,
    pub status_code: u8,
}

/// The status list: every seal in log order from the cursor, with its
/// Token Status List value (2 bits: 0 valid, 1 invalid, 2 suspended,
/// 3 superseded).
#[derive(Serialize, ToSchema)]
pub struct StatusList {
    pub bits: u8,
    pub entries: Vec<StatusListEntry>,
    /// Pass as `cursor` for the next page; `null` at the end.
    pub next_cursor: Option<i64>,
}

/// The seal status list with a cursor. A status can change after it was
/// read: readers re-read from the start on their `ttl`. Public.
#[utoipa::path(get, path = "/api/v1/seal-status", tag = "seals", params(StatusListQuery),
    responses((status = 200, body = StatusList)))]
pub async fn status_list(
    State(state): State<AppState>,
    AppQuery(q): AppQuery<StatusListQuery>,
) -> Result<Response, ApiError> {
    let limit = i64::from(q.limit.unwrap_or(1000).clamp(1, 10_000));
    let entries = state.db.seal_statuses(q.cursor.unwrap_or(-1), limit).await?;
    let next_cursor = (entries.len() as i64 == limit).then(|| entries.last().map(|e| e.log_index)).flatten();
    let entries = entries
        .into_iter()
        .map(|e| StatusListEntry {
            status: if e.key_revoked { "revoked".into() } else { e.status.as_str().into() },
            status_code: status_code(e.status, e.key_revoked),
            log_index: e.log_index,
            serial: disclosable(e.public, e.not_before).then_some(e.serial),
        })
        .collect();
    let mut response = axum::Json(StatusList { bits: 2, entries, next_cursor }).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// The status of every seal as an IETF Token Status List token
/// (draft-ietf-oauth-status-list): a JWS (`typ: statuslist+jwt`, EdDSA,
/// signed with the active seal key, verifiable with
/// `/.well-known/seal-keys`) whose `status_list.lst` is the zlib-compressed
/// array of 2-bit statuses, index = the seal's `log_index` (0 valid,
/// 1 invalid: withdrawn or key revoked, 2 suspended, 3 superseded). Public.
#[utoipa::path(get, path = "/api/v1/status-list", tag = "seals",
    responses((status = 200, description = "Token Status List JWT", content_type = "application/statuslist+jwt")))]
pub async fn status_list_token(State(state): State<AppState>) -> Result<Response, ApiError> {
    let mut codes = Vec::new();
    let mut after = -1;
    loop {
        let page = state.db.seal_statuses(after, 10_000).await?;
        let Some(last) = page.last() else { break };
        after = last.log_index;
        codes.extend(page.iter().map(|e| (e.log_index, status_code(e.status, e.key_revoked))));
    }
    let len = codes.last().map_or(0, |(i, _)| usize::try_from(*i).unwrap_or(0) + 1);
    let key = state
        .db
        .seal_keys()
        .await?
        .into_iter()
        .find(SealKeyRecord::is_active)
        .ok_or_else(|| ApiError::Internal("no active seal key".into()))?;
    let token = status_list_jwt(&state, &key, &codes, len).map_err(ApiError::Internal)?;
    let mut response = with_type(token, "application/statuslist+jwt");
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=60"));
    Ok(response)
}

/// Packs 2-bit codes (least significant bits first, as the draft says),
/// compresses them with zlib and signs the token with the active key.
fn status_list_jwt(state: &AppState, key: &SealKeyRecord, codes: &[(i64, u8)], len: usize) -> Result<String, String> {
    use std::io::Write as _;
    let mut packed = vec![0u8; len.div_ceil(4)];
    for &(index, code) in codes {
        let i = usize::try_from(index).map_err(|e| e.to_string())?;
        packed[i / 4] |= (code & 0b11) << ((i % 4) * 2);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&packed).map_err(|e| e.to_string())?;
    let compressed = z.finish().map_err(|e| e.to_string())?;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let signer = state.seal_keys.signer_for(key).map_err(|e| e.to_string())?;
    let header = serde_json::json!({ "alg": signer.alg(), "kid": signer.kid().as_str(), "typ": "statuslist+jwt" });
    // The token's URI comes from the configuration, never from the request's
    // `Host`: a request must not choose what the seal key signs.
    let payload = serde_json::json!({
        "sub": format!("{}/api/v1/status-list", state.settings.public_base()),
        "iat": time::OffsetDateTime::now_utc().unix_timestamp(),
        "ttl": 60,
        "status_list": { "bits": 2, "lst": b64(&compressed) },
    });
    let signing_input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(payload.to_string().as_bytes()));
    let signature = signer.sign(signing_input.as_bytes()).map_err(|e| e.to_string())?;
    Ok(format!("{signing_input}.{}", b64(&signature)))
}

/// The log's newest signed checkpoint (C2SP signed note): the log's size
/// and root and, as the extension line `gov-disclosure/audit-head <events>
/// <hash>`, the audit chain's head it anchors. Witnesses and channels keep
/// these (`gateway audit verify --checkpoints FILE` checks a database
/// against them). Public.
#[utoipa::path(get, path = "/api/v1/log/checkpoint", tag = "seals",
    responses((status = 200, description = "C2SP signed checkpoint", content_type = "text/plain")))]
pub async fn checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    let note = match state.db.latest_anchor().await? {
        Some(note) => note,
        None => {
            // Nothing anchored yet (a gateway that just started): anchor now.
            service::seal::anchor_audit_head(&state).await?;
            state.db.latest_anchor().await?.ok_or_else(|| ApiError::Internal("no checkpoint after anchoring".into()))?
        }
    };
    Ok(with_type(note, "text/plain; charset=utf-8"))
}

/// The log's public key as a note verifier key (`name+keyid+base64`). Public.
#[utoipa::path(get, path = "/api/v1/log/key", tag = "seals",
    responses((status = 200, description = "note verifier key", content_type = "text/plain")))]
pub async fn log_key(State(state): State<AppState>) -> Response {
    with_type(format!("{}\n", state.seal_keys.log_verifier().vkey()), "text/plain; charset=utf-8")
}

fn b64(h: &seal::tlog::Hash) -> String {
    base64::engine::general_purpose::STANDARD.encode(h)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    pub serial: String,
    /// Tree size; default: the current size.
    #[serde(default)]
    pub size: Option<u64>,
}

/// An inclusion proof (RFC 9162 §2.1.3), hashes in standard base64.
#[derive(Serialize, ToSchema)]
pub struct InclusionProof {
    pub serial: String,
    pub leaf_index: u64,
    pub tree_size: u64,
    pub leaf_hash: String,
    pub proof: Vec<String>,
    /// The signed checkpoint of `tree_size`.
    pub checkpoint: String,
}

/// The inclusion proof of a seal in the tree of `size`. Public.
#[utoipa::path(get, path = "/api/v1/log/proof/inclusion", tag = "seals", params(InclusionQuery),
    responses((status = 200, body = InclusionProof), (status = 404, body = super::Problem), (status = 422, body = super::Problem)))]
pub async fn inclusion_proof(
    State(state): State<AppState>,
    AppQuery(q): AppQuery<InclusionQuery>,
) -> Result<axum::Json<InclusionProof>, ApiError> {
    let index = state.db.tlog_index_of(&q.serial).await.map_err(super::items::not_found("该信息公开专用章"))?;
    let leaves = state.db.tlog_leaf_hashes().await?;
    let size = q.size.unwrap_or(leaves.len() as u64);
    let index = u64::try_from(index).map_err(|_| ApiError::Internal("negative log index".into()))?;
    if size <= index || size > leaves.len() as u64 {
        return Err(ApiError::invalid(
            "size",
            format!("树大小须大于该信息公开专用章的序号 {index} 且不超过 {}", leaves.len()),
        ));
    }
    let proof =
        seal::tlog::inclusion_proof(&leaves[..size as usize], index).map_err(|e| ApiError::Internal(e.to_string()))?;
    let (_, checkpoint) = state
        .db
        .tlog_checkpoint(Some(size as i64))
        .await?
        .ok_or_else(|| ApiError::Internal(format!("no checkpoint for size {size}")))?;
    Ok(axum::Json(InclusionProof {
        serial: q.serial,
        leaf_index: index,
        tree_size: size,
        leaf_hash: b64(&leaves[index as usize]),
        proof: proof.iter().map(b64).collect(),
        checkpoint,
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    pub from: u64,
    /// Default: the current size.
    #[serde(default)]
    pub to: Option<u64>,
}

/// A consistency proof (RFC 9162 §2.1.4), hashes in standard base64.
#[derive(Serialize, ToSchema)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    pub proof: Vec<String>,
    /// The signed checkpoints of both sizes (`null` for size 0).
    pub from_checkpoint: Option<String>,
    pub to_checkpoint: Option<String>,
}

/// The proof that the tree of `to` extends the tree of `from`. Public.
#[utoipa::path(get, path = "/api/v1/log/proof/consistency", tag = "seals", params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyProof), (status = 422, body = super::Problem)))]
pub async fn consistency_proof(
    State(state): State<AppState>,
    AppQuery(q): AppQuery<ConsistencyQuery>,
) -> Result<axum::Json<ConsistencyProof>, ApiError> {
    let leaves = state.db.tlog_leaf_hashes().await?;
    let to = q.to.unwrap_or(leaves.len() as u64);
    if q.from > to || to > leaves.len() as u64 {
        return Err(ApiError::invalid("to", format!("须满足 0 ≤ from ≤ to ≤ {}", leaves.len())));
    }
    let proof =
        seal::tlog::consistency_proof(&leaves[..to as usize], q.from).map_err(|e| ApiError::Internal(e.to_string()))?;
    let cp = |n: u64| {
        let db = state.db.clone();
        async move {
            if n == 0 {
                return Ok::<_, ApiError>(None);
            }
            Ok(db.tlog_checkpoint(Some(n as i64)).await?.map(|(_, note)| note))
        }
    };
    Ok(axum::Json(ConsistencyProof {
        from: q.from,
        to,
        proof: proof.iter().map(b64).collect(),
        from_checkpoint: cp(q.from).await?,
        to_checkpoint: cp(to).await?,
    }))
}
