//! Attachment upload and download. Bytes are stored by SHA-256; a version
//! refers to them by digest. The declared type must be on the allow-list and
//! agree with the file's own signature (magic bytes).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use seal::ContentDigest;
use serde::Serialize;
use utoipa::ToSchema;

use super::extract::InPath;
use super::{ApiError, AppState, Auth};
use crate::auth::{Role, Scope};
use crate::store::Blob;

/// Does a file's content match its declared type?
type Signature = fn(&[u8]) -> bool;

/// Media types accepted as attachments: type, name for people, signature
/// check, the file name extensions that mean it.
const ALLOWED: &[(&str, &str, Signature, &[&str])] = &[
    ("application/pdf", "PDF", |b| b.starts_with(b"%PDF-"), &["pdf"]),
    ("application/ofd", "OFD 版式文件", is_zip, &["ofd"]),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word 文档 (docx)", is_zip, &["docx"]),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel 表格 (xlsx)", is_zip, &["xlsx"]),
    ("application/msword", "Word 97-2003 文档 (doc)", is_ole, &["doc"]),
    ("application/vnd.ms-excel", "Excel 97-2003 表格 (xls)", is_ole, &["xls"]),
    ("image/png", "PNG 图片", |b| b.starts_with(b"\x89PNG\r\n\x1a\n"), &["png"]),
    ("image/jpeg", "JPEG 图片", |b| b.starts_with(b"\xff\xd8\xff"), &["jpg", "jpeg"]),
    ("text/plain", "纯文本", is_text, &["txt"]),
    ("text/csv", "CSV 表格", is_text, &["csv"]),
    // Read by the sandboxed extractor like the files inside (review/attachments.rs).
    ("application/zip", "ZIP 压缩包", is_zip, &["zip"]),
];

fn is_zip(b: &[u8]) -> bool {
    b.starts_with(b"PK\x03\x04")
}

fn is_ole(b: &[u8]) -> bool {
    b.starts_with(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
}

/// Text as the extractor reads it (`plugins/extract/src/text.rs`): after
/// a byte-order mark (UTF-8, UTF-16), else UTF-8, else GB18030 (a superset
/// of GBK and GB2312, what Chinese office software saves text and CSV in),
/// decoding without an error and holding no NUL.
fn is_text(b: &[u8]) -> bool {
    let decoded = match encoding_rs::Encoding::for_bom(b) {
        Some((encoding, bom)) => encoding.decode_without_bom_handling_and_without_replacement(&b[bom..]),
        None => match std::str::from_utf8(b) {
            Ok(s) => Some(std::borrow::Cow::Borrowed(s)),
            Err(_) => encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(b),
        },
    };
    decoded.is_some_and(|s| !s.contains('\0'))
}

/// A stored attachment.
#[derive(Serialize, ToSchema)]
pub struct AttachmentView {
    #[schema(value_type = String, example = "sha256:…")]
    pub digest: ContentDigest,
    pub media_type: String,
    pub size: i64,
}

/// An attachment as a version lists it.
#[derive(Serialize, ToSchema)]
pub struct AttachmentRefView {
    pub name: String,
    #[schema(value_type = String, example = "sha256:…")]
    pub digest: ContentDigest,
    pub media_type: String,
    pub size: i64,
}

impl From<crate::model::AttachmentRef> for AttachmentRefView {
    fn from(a: crate::model::AttachmentRef) -> Self {
        AttachmentRefView { name: a.name, digest: a.digest, media_type: a.media_type, size: a.size }
    }
}

/// Uploads an attachment: the raw bytes as the body, the type in
/// `Content-Type`. Answers with the digest to refer to it by.
#[utoipa::path(post, path = "/api/v1/attachments", tag = "attachments",
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = AttachmentView), (status = 413, body = super::Problem), (status = 415, body = super::Problem)))]
pub async fn upload(State(state): State<AppState>, auth: Auth, req: Request) -> Result<Response, ApiError> {
    auth.require_any(&[Role::Drafter])?;
    auth.require_scope(Scope::ItemsWrite)?;
    let media_type = declared_type(req.headers())?;
    let limit = state.settings.limits.max_attachment_bytes;
    let bytes = Bytes::from_request(req, &state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge { limit }
        } else {
            ApiError::BadRequest(rejection.body_text())
        }
    })?;
    let view = store(&state, &auth, &media_type, &bytes).await?;
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

/// Stores an attachment whose type is on the allow-list, after checking the
/// uploader, the size and that the bytes are what the type says. The web
/// form's file field (without JavaScript) comes here too.
pub async fn store(state: &AppState, auth: &Auth, media_type: &str, bytes: &[u8]) -> Result<AttachmentView, ApiError> {
    auth.require_any(&[Role::Drafter])?;
    auth.require_scope(Scope::ItemsWrite)?;
    let Some((_, label, matches, _)) = ALLOWED.iter().find(|(t, ..)| *t == media_type) else {
        return Err(unsupported(media_type));
    };
    if bytes.is_empty() {
        return Err(ApiError::Unprocessable("附件内容为空。".into()));
    }
    let limit = state.settings.limits.max_attachment_bytes;
    if bytes.len() > limit {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    if !matches(bytes) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "文件内容与声明的类型（{label}）不符，请确认文件未损坏、类型选择正确。"
        )));
    }
    let blob = state.db.put_blob(auth.0.user_id, media_type, bytes).await?;
    Ok(AttachmentView { digest: blob.digest, media_type: blob.media_type, size: blob.size })
}

/// The media type of an uploaded file: the one the browser declared when it
/// is on the allow-list, else the one its name's extension means (browsers
/// send `application/octet-stream` for `.ofd` and other types they do not
/// know). The bytes are checked against it either way.
pub fn file_type(declared: Option<&str>, file_name: &str) -> String {
    let declared = declared.map(essence);
    if let Some(d) = declared.as_ref().filter(|d| ALLOWED.iter().any(|(t, ..)| t == d)) {
        return d.clone();
    }
    let extension = file_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    ALLOWED
        .iter()
        .find(|(.., extensions)| extensions.contains(&extension.as_str()))
        .map_or_else(|| declared.unwrap_or_default(), |(t, ..)| (*t).to_owned())
}

fn declared_type(headers: &HeaderMap) -> Result<String, ApiError> {
    let declared = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(essence).unwrap_or_default();
    if ALLOWED.iter().any(|(t, ..)| *t == declared) { Ok(declared) } else { Err(unsupported(&declared)) }
}

/// A media type without its parameters, lower case (`Text/Plain; charset=x`
/// → `text/plain`).
fn essence(media_type: &str) -> String {
    media_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

fn unsupported(declared: &str) -> ApiError {
    let allowed: Vec<&str> = ALLOWED.iter().map(|(_, label, ..)| *label).collect();
    ApiError::UnsupportedMediaType(format!(
        "不支持的附件类型“{}”。可上传：{}。",
        if declared.is_empty() { "未声明" } else { declared },
        allowed.join("、")
    ))
}

/// Downloads an attachment's bytes: for whoever may read an item that
/// lists it (the item read rule of `service::items::may_read`: a digest two items
/// share is readable by a reader of either), and for the person who stored
/// it, before any version names it. Anyone else, a channel token included,
/// is told it does not exist.
#[utoipa::path(get, path = "/api/v1/attachments/{digest}", tag = "attachments", params(("digest" = String, Path)),
    responses((status = 200, description = "The attachment's bytes, as `attachment`, with the media type it was stored with",
            content_type = "application/octet-stream"),
        (status = 404, body = super::Problem)))]
pub async fn download(
    State(state): State<AppState>,
    auth: Auth,
    InPath(digest): InPath<ContentDigest>,
) -> Result<Response, ApiError> {
    auth.require_scope(Scope::ItemsRead)?;
    let hidden = |e| match e {
        crate::store::StoreError::NotFound => ApiError::NotFound("该附件"),
        other => other.into(),
    };
    let (uploader, items) = state.db.blob_holders(&digest).await.map_err(hidden)?;
    let own_upload = uploader == auth.0.user_id && auth.0.has_role(Role::Drafter);
    if !own_upload && !items.iter().any(|item| crate::service::items::may_read(&auth.0, item)) {
        return Err(ApiError::NotFound("该附件"));
    }
    let (blob, content) = state.db.blob_content(&digest).await.map_err(hidden)?;
    Ok(file_response(&blob, content))
}

/// An attachment's bytes as a download: the media type it was stored
/// with, never sniffed, never shown inline.
pub(super) fn file_response(blob: &Blob, content: Vec<u8>) -> Response {
    let mut response = content.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&blob.media_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment"));
    response
}

#[cfg(test)]
mod tests {
    use super::{file_type, is_text};

    #[test]
    fn text_is_utf8_utf16_with_its_mark_or_gb18030_and_nothing_else() {
        let name_list = "姓名,身份证号\r\n张三,110101199003071234\r\n";
        let (gb, _, _) = encoding_rs::GB18030.encode(name_list);
        assert!(is_text(name_list.as_bytes()) && is_text(&gb), "UTF-8 and GB18030 (as Excel saves CSV in China)");
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(name_list.encode_utf16().flat_map(u16::to_le_bytes));
        assert!(is_text(&utf16), "UTF-16 with its mark (Excel's 'Unicode text')");
        assert!(!is_text(&name_list.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<_>>()), "no mark: NULs");
        assert!(!is_text(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "binary");
        assert!(!is_text(b"abc\xff\xfe\xfd"), "neither UTF-8 nor GB18030");
        assert!(!is_text(b"\xef\xbb\xbfabc\xff"), "a UTF-8 mark and then something else");
    }

    #[test]
    fn a_file_type_is_the_declared_one_if_allowed_else_the_extension_says() {
        assert_eq!(file_type(Some("application/pdf"), "通知.pdf"), "application/pdf");
        assert_eq!(file_type(Some("text/plain; charset=utf-8"), "a.txt"), "text/plain");
        assert_eq!(file_type(Some("application/octet-stream"), "公告.OFD"), "application/ofd");
        assert_eq!(file_type(None, "表.xlsx"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
        assert_eq!(file_type(Some("application/octet-stream"), "setup.exe"), "application/octet-stream");
        assert_eq!(file_type(None, "无扩展名"), "");
    }
}
