//! Extractors that answer in our error format: JSON bodies, query strings,
//! path ids, the authenticated principal and the client's address.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::{ApiError, AppState};
use crate::auth::{Principal, Role, Scope, secret_hash};

/// `axum::Json`, but a malformed body gets a problem document in Chinese.
pub struct AppJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(AppJson(value)),
            Err(rejection) => Err(json_rejection(rejection, state.settings.limits.max_body_bytes)),
        }
    }
}

fn json_rejection(rejection: JsonRejection, limit: usize) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::UnsupportedMediaType("请求体必须是 JSON，并带有 Content-Type: application/json 头。".into())
        }
        JsonRejection::JsonDataError(e) => {
            // serde's message names the field and the expected type.
            ApiError::Unprocessable(format!("字段内容不符合要求：{}", e.body_text()))
        }
        JsonRejection::JsonSyntaxError(e) => ApiError::BadRequest(format!("JSON 语法错误（{}）", e.body_text())),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::PayloadTooLarge { limit }
        }
        other => ApiError::BadRequest(other.body_text()),
    }
}

/// `axum::extract::Query`, answering in our error format.
pub struct AppQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for AppQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(AppQuery(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                Err(ApiError::BadRequest(format!("查询参数有误：{}", e.body_text())))
            }
            Err(other) => Err(ApiError::BadRequest(other.body_text())),
        }
    }
}

/// A path id parsed once at the edge ([`InPath`]): what it names, for the
/// 404 that a malformed one gets (it names nothing, as an unknown one).
pub trait PathId: Sized + Send {
    /// The thing, in Chinese, as `ApiError::NotFound` names it (`该用户`).
    const WHAT: &'static str;
    fn parse_path(raw: &str) -> Option<Self>;
}

impl PathId for crate::model::UserId {
    const WHAT: &'static str = "该用户";
    fn parse_path(raw: &str) -> Option<Self> {
        raw.parse().ok()
    }
}

impl PathId for crate::model::ItemId {
    const WHAT: &'static str = "该事项";
    fn parse_path(raw: &str) -> Option<Self> {
        raw.parse().ok()
    }
}

impl PathId for seal::ContentDigest {
    const WHAT: &'static str = "该附件";
    fn parse_path(raw: &str) -> Option<Self> {
        raw.parse().ok()
    }
}

/// An API token's id: `tok_` and 32 lowercase hexadecimal digits, as the
/// store issues them (`Db::create_token`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenId(String);

impl TokenId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PathId for TokenId {
    const WHAT: &'static str = "该令牌";
    fn parse_path(raw: &str) -> Option<Self> {
        let hex = raw.strip_prefix("tok_")?;
        (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            .then(|| TokenId(raw.to_owned()))
    }
}

/// The one path parameter of a route, parsed into its type before the
/// handler runs: a malformed id is answered 404 like an unknown one. Put it
/// after [`Auth`] in a handler's arguments, so that an anonymous caller
/// still gets 401 first.
pub struct InPath<T>(pub T);

impl<T: PathId> InPath<T> {
    /// Parses a path segment the way the extractor does (for a page handler
    /// that calls an API handler with an id of its own path).
    pub fn parse(raw: &str) -> Result<InPath<T>, ApiError> {
        T::parse_path(raw).map(InPath).ok_or(ApiError::NotFound(T::WHAT))
    }
}

impl<T: PathId> FromRequestParts<AppState> for InPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let axum::extract::Path(raw) = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound(T::WHAT))?;
        InPath::parse(&raw)
    }
}

/// The authenticated principal: a person's session cookie, or a bearer
/// API token. Every endpoint but health and public keys takes one.
///
/// A state-changing request authenticated by the session cookie must come
/// from the gateway's own origin ([`check_cookie_write`]), and a credential
/// whose password an administrator set may do nothing but change it
/// ([`PASSWORD_CHANGE_PATHS`]).
pub struct Auth(pub Principal);

/// What a session that must change its password may still reach.
pub const PASSWORD_CHANGE_PATHS: &[&str] = &["/api/v1/auth/password", "/api/v1/auth/logout", "/api/v1/auth/me"];

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "gw_session";

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .ok_or(ApiError::Unauthenticated)?;
            let principal = state.db.token_principal(&secret_hash(token)).await?.ok_or(ApiError::Unauthenticated)?;
            if principal.must_change_password {
                return Err(ApiError::PasswordChangeRequired);
            }
            return Ok(Auth(principal));
        }
        let secret = session_cookie(parts).ok_or(ApiError::Unauthenticated)?;
        check_cookie_write(parts, &state.settings)?;
        let idle = time::Duration::minutes(state.settings.session.idle_minutes);
        let session = state.db.session(&secret_hash(&secret), idle).await?.ok_or(ApiError::Unauthenticated)?;
        if session.principal.must_change_password && !PASSWORD_CHANGE_PATHS.contains(&parts.uri.path()) {
            return Err(ApiError::PasswordChangeRequired);
        }
        Ok(Auth(session.principal))
    }
}

/// A state-changing request that a browser sends with the session cookie
/// must come from the gateway's own pages: its `Origin` (else the origin of
/// its `Referer`) is the configured public URL — never compared with the
/// `Host` header, which the request itself chooses. Without either header
/// (not a browser: browsers send `Origin` with every POST, PUT, PATCH and
/// DELETE), a body of a type a cross-site HTML form could send is refused
/// too. SameSite=Strict stays a second line, not the only one.
pub fn check_cookie_write(parts: &Parts, settings: &crate::config::Settings) -> Result<(), ApiError> {
    use axum::http::Method;
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    if let Some(source) = request_origin(&parts.headers) {
        return if settings.is_own_origin(source) { Ok(()) } else { Err(ApiError::CrossOrigin) };
    }
    let essence = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some("application/x-www-form-urlencoded" | "multipart/form-data" | "text/plain") => Err(ApiError::CrossOrigin),
        _ => Ok(()),
    }
}

/// The `Origin` header, else the `Referer` header, if either is present.
/// An unreadable one counts as present (and then matches nothing).
pub fn request_origin(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).or_else(|| headers.get(header::REFERER)).map(|v| v.to_str().unwrap_or("\u{0}"))
}

/// The client's address, for per-address login throttling: the peer of
/// the connection, or (with `session.trust_forwarded_for`, behind a proxy)
/// the last `X-Forwarded-For` entry. IPv6 addresses count per /64.
pub struct ClientAddr(pub Option<String>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(ClientAddr(client_addr(parts, state.settings.session.trust_forwarded_for)))
    }
}

/// See [`ClientAddr`].
pub fn client_addr(parts: &Parts, trust_forwarded_for: bool) -> Option<String> {
    use std::net::IpAddr;
    let forwarded = trust_forwarded_for
        .then(|| {
            parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .last()
                .and_then(|a| a.trim().parse::<IpAddr>().ok())
        })
        .flatten();
    let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    Some(match forwarded.or(peer)? {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    })
}

/// The session secret from the `Cookie` header, if any.
pub fn session_cookie(parts: &Parts) -> Option<String> {
    cookie(parts, SESSION_COOKIE)
}

/// The value of the request's cookie `wanted`.
pub fn cookie(parts: &Parts, wanted: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.to_owned())
}

impl Auth {
    /// Requires a role that carries `duty`, with a message naming them.
    pub fn require(&self, duty: crate::auth::Duty) -> Result<&Principal, ApiError> {
        if self.0.can(duty) {
            Ok(&self.0)
        } else {
            let names: Vec<&str> = Role::with_duty(duty).map(|r| r.label()).collect();
            Err(ApiError::Forbidden(format!("此操作需要以下角色之一：{}。", names.join("、"))))
        }
    }

    /// Requires one of `roles`, with a message naming them.
    pub fn require_any(&self, roles: &[Role]) -> Result<&Principal, ApiError> {
        if roles.iter().any(|r| self.0.has_role(*r)) {
            Ok(&self.0)
        } else {
            let names: Vec<&str> = roles.iter().map(|r| r.label()).collect();
            Err(ApiError::Forbidden(format!("此操作需要以下角色之一：{}。", names.join("、"))))
        }
    }

    /// Requires that a token carries `scope` (sessions carry all scopes).
    pub fn require_scope(&self, scope: Scope) -> Result<&Principal, ApiError> {
        if self.0.has_scope(scope) {
            Ok(&self.0)
        } else {
            Err(ApiError::Forbidden(format!("此 API 令牌没有所需的权限范围（{}）。", scope_name(scope))))
        }
    }
}

fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::ItemsRead => "items:read",
        Scope::ItemsWrite => "items:write",
        Scope::Review => "review",
        Scope::Channel => "channel",
        Scope::Admin => "admin",
    }
}
