//! Extractors that answer in our error format: JSON bodies, query strings
//! and the authenticated principal.

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

/// The authenticated principal: a person's session cookie, or a bearer
/// API token. Every endpoint but health and public keys takes one.
pub struct Auth(pub Principal);

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
            return state.db.token_principal(&secret_hash(token)).await?.map(Auth).ok_or(ApiError::Unauthenticated);
        }
        let secret = session_cookie(parts).ok_or(ApiError::Unauthenticated)?;
        let idle = time::Duration::minutes(state.settings.session.idle_minutes);
        let session = state.db.session(&secret_hash(&secret), idle).await?.ok_or(ApiError::Unauthenticated)?;
        Ok(Auth(session.principal))
    }
}

/// The session secret from the `Cookie` header, if any.
pub fn session_cookie(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

impl Auth {
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
