//! Logging in and out, users and API tokens, and the audit-chain check.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiError, AppJson, AppState, Auth, SESSION_COOKIE};
use crate::auth::{self, Role, Scope};
use crate::model::{FieldProblem, Timestamp, UserId};
use crate::store::{ChainReport, NewToken, NewUser, TokenRecord, UserRecord};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// A user as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct UserView {
    #[schema(value_type = String)]
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub unit: Option<String>,
    pub roles: BTreeSet<Role>,
    pub active: bool,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
}

impl From<UserRecord> for UserView {
    fn from(u: UserRecord) -> UserView {
        UserView {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            unit: u.unit_name,
            roles: u.roles,
            active: u.active,
            created_at: u.created_at,
        }
    }
}

/// Logs a person in and sets the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = UserView), (status = 401, body = super::Problem), (status = 429, body = super::Problem)))]
pub async fn login(State(state): State<AppState>, AppJson(req): AppJson<LoginRequest>) -> Result<Response, ApiError> {
    let candidate = state.db.login_candidate(&req.username).await?;
    let Some((user, Some(hash), locked)) = candidate else {
        // Spend the same time as a real check, so that timing does not tell
        // which usernames exist.
        let password = req.password;
        tokio::task::spawn_blocking(move || auth::verify_password(&password, auth::dummy_password_hash()))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        return Err(ApiError::BadCredentials);
    };
    if locked {
        return Err(ApiError::Locked);
    }
    let password = req.password;
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    if !ok {
        state.db.record_login_failure(user.id).await?;
        return Err(ApiError::BadCredentials);
    }
    let secret = auth::new_secret("gws_");
    let ttl = time::Duration::hours(state.settings.session.ttl_hours);
    state.db.create_session(user.id, &auth::secret_hash(&secret), ttl).await?;
    let secure = if state.settings.session.secure_cookie { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        ttl.whole_seconds()
    );
    let mut response = axum::Json(UserView::from(user)).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.to_string()))?);
    Ok(response)
}

/// Ends the current session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, parts: axum::http::request::Parts) -> Result<Response, ApiError> {
    if let Some(secret) = super::extract::session_cookie(&parts) {
        state.db.delete_session(&auth::secret_hash(&secret)).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("gw_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(response)
}

/// The logged-in user.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses((status = 200, body = UserView), (status = 401, body = super::Problem)))]
pub async fn me(State(state): State<AppState>, auth: Auth) -> Result<axum::Json<UserView>, ApiError> {
    Ok(axum::Json(state.db.user(auth.0.user_id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    pub username: String,
    pub display_name: String,
    /// Organisational unit (机关/科室) by name; created if new.
    pub unit: Option<String>,
    pub roles: BTreeSet<Role>,
    /// Omit for a token-only account (a channel).
    pub password: Option<String>,
}

/// Creates a user (admin only).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUserRequest,
    responses((status = 201, body = UserView), (status = 403, body = super::Problem),
        (status = 409, body = super::Problem), (status = 422, body = super::Problem)))]
pub async fn create_user(
    State(state): State<AppState>,
    auth: Auth,
    AppJson(req): AppJson<CreateUserRequest>,
) -> Result<(StatusCode, axum::Json<UserView>), ApiError> {
    let actor = auth.require_any(&[Role::Admin])?.user_id;
    auth.require_scope(Scope::Admin)?;
    let new = new_user(req.username, req.display_name, req.unit, req.roles, req.password.as_deref())
        .map_err(ApiError::Invalid)?;
    let user = state.db.create_user(Some(actor), &new).await?;
    Ok((StatusCode::CREATED, axum::Json(user.into())))
}

/// Validates and prepares a new user; shared by the API and the CLI.
pub fn new_user(
    username: String,
    display_name: String,
    unit: Option<String>,
    roles: BTreeSet<Role>,
    password: Option<&str>,
) -> Result<NewUser, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let valid_username = !username.is_empty()
        && username.len() <= 64
        && username.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !valid_username {
        problems
            .push(FieldProblem::new("username", "用户名只能包含英文字母、数字、点、下划线和连字符，最长 64 个字符"));
    }
    if display_name.trim().is_empty() || display_name.chars().count() > 64 {
        problems.push(FieldProblem::new("display_name", "姓名不能为空，最长 64 个字符"));
    }
    if unit.as_deref().is_some_and(|u| u.trim().is_empty() || u.chars().count() > 128) {
        problems.push(FieldProblem::new("unit", "单位名称不能为空，最长 128 个字符"));
    }
    if roles.is_empty() {
        problems.push(FieldProblem::new("roles", "至少需要一个角色"));
    }
    if roles.contains(&Role::Channel) && roles.len() > 1 {
        problems.push(FieldProblem::new("roles", "发布渠道账户不能兼任其他角色"));
    }
    let password_hash = match password {
        Some(p) => match auth::check_password_strength(p) {
            Ok(()) => Some(auth::hash_password(p).map_err(|e| vec![FieldProblem::new("password", e.to_string())])?),
            Err(why) => {
                problems.push(FieldProblem::new("password", why));
                None
            }
        },
        None if roles.iter().any(|r| *r != Role::Channel) => {
            problems.push(FieldProblem::new("password", "工作人员账户必须设置密码"));
            None
        }
        None => None,
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(NewUser { username, display_name, unit, roles, password_hash })
}

/// Lists users (admin and auditor).
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = Vec<UserView>), (status = 403, body = super::Problem)))]
pub async fn list_users(State(state): State<AppState>, auth: Auth) -> Result<axum::Json<Vec<UserView>>, ApiError> {
    auth.require_any(&[Role::Admin, Role::Auditor])?;
    Ok(axum::Json(state.db.users().await?.into_iter().map(UserView::from).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// The account the token acts as; default the caller. Only an admin may
    /// create tokens for others.
    #[schema(value_type = Option<String>)]
    pub user_id: Option<UserId>,
    pub name: String,
    pub scopes: BTreeSet<Scope>,
    /// The channels a `channel` token may read and confirm: required with
    /// that scope, refused without it.
    #[serde(default)]
    pub channels: BTreeSet<String>,
    /// Days until the token expires (1–3650); none for no expiry.
    pub expires_in_days: Option<u32>,
}

/// The longest a token may be issued for: ten years.
const MAX_TOKEN_DAYS: u32 = 3650;

/// A new token: the secret is shown this once and never again.
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    pub token: String,
    pub record: TokenRecord,
}

/// Creates an API token.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = CreateTokenRequest,
    responses((status = 201, body = CreatedToken), (status = 403, body = super::Problem), (status = 422, body = super::Problem)))]
pub async fn create_token(
    State(state): State<AppState>,
    auth: Auth,
    AppJson(req): AppJson<CreateTokenRequest>,
) -> Result<(StatusCode, axum::Json<CreatedToken>), ApiError> {
    if auth.0.scopes.is_some() {
        return Err(ApiError::Forbidden("API 令牌不能再创建令牌，请登录后操作。".into()));
    }
    let owner = req.user_id.unwrap_or(auth.0.user_id);
    if owner != auth.0.user_id {
        auth.require_any(&[Role::Admin])?;
    }
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(ApiError::invalid("name", "令牌名称不能为空，最长 64 个字符"));
    }
    if req.scopes.is_empty() {
        return Err(ApiError::invalid("scopes", "至少需要一个权限范围"));
    }
    if let Some(problem) = auth::token_channels_problem(&req.scopes, &req.channels, &state.settings.channels) {
        return Err(ApiError::invalid("channels", problem));
    }
    let owner_record = state.db.user(owner).await.map_err(|_| ApiError::invalid("user_id", "用户不存在"))?;
    if req.scopes.contains(&Scope::Admin) && !owner_record.roles.contains(&Role::Admin) {
        return Err(ApiError::invalid("scopes", "只有系统管理员账户的令牌可以带 admin 权限范围"));
    }
    let expires_at = match req.expires_in_days {
        None => None,
        Some(days) if (1..=MAX_TOKEN_DAYS).contains(&days) => {
            Timestamp::now().as_offset().checked_add(time::Duration::days(i64::from(days))).map(Timestamp::from_offset)
        }
        Some(_) => None,
    };
    if req.expires_in_days.is_some() && expires_at.is_none() {
        return Err(ApiError::invalid("expires_in_days", format!("有效天数应在 1 到 {MAX_TOKEN_DAYS} 之间")));
    }
    let secret = auth::new_secret("gwt_");
    let token_hash = auth::secret_hash(&secret);
    let new = NewToken {
        user: owner,
        name,
        token_hash: &token_hash,
        scopes: &req.scopes,
        channels: &req.channels,
        expires_at,
    };
    let record = state.db.create_token(auth.0.user_id, new).await?;
    Ok((StatusCode::CREATED, axum::Json(CreatedToken { token: secret, record })))
}

/// Lists tokens: an admin sees all, others their own.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", responses((status = 200, body = Vec<TokenRecord>)))]
pub async fn list_tokens(State(state): State<AppState>, auth: Auth) -> Result<axum::Json<Vec<TokenRecord>>, ApiError> {
    let filter = if auth.0.has_role(Role::Admin) { None } else { Some(auth.0.user_id) };
    Ok(axum::Json(state.db.tokens(filter).await?))
}

/// Revokes a token: an admin any, others their own.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = super::Problem)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !auth.0.has_role(Role::Admin) {
        let own = state.db.tokens(Some(auth.0.user_id)).await?;
        if !own.iter().any(|t| t.id == id) {
            return Err(ApiError::NotFound("该令牌"));
        }
    }
    state.db.revoke_token(auth.0.user_id, &id).await.map_err(|e| match e {
        crate::store::StoreError::NotFound => ApiError::NotFound("该令牌"),
        other => other.into(),
    })?;
    Ok(StatusCode::NO_CONTENT)
}

/// Checks the audit trail's hash chain (auditor and admin).
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", responses((status = 200, body = ChainReportView)))]
pub async fn verify_audit(State(state): State<AppState>, auth: Auth) -> Result<axum::Json<ChainReportView>, ApiError> {
    auth.require_any(&[Role::Auditor, Role::Admin])?;
    let ChainReport { events, first_broken, reason } = state.db.verify_audit_chain().await?;
    Ok(axum::Json(ChainReportView { intact: first_broken.is_none(), events, first_broken, reason }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only events about this item.
    pub item: Option<String>,
    /// Events after this sequence number (for paging).
    #[serde(default)]
    pub after: i64,
    /// Page size, default 200, at most 1000.
    pub limit: Option<i64>,
}

/// Reads the audit trail, oldest first (auditor and admin): every event
/// with its hash and the previous hash, so it can be checked offline.
#[utoipa::path(get, path = "/api/v1/audit/events", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Vec<Object>), (status = 403, body = super::Problem)))]
pub async fn audit_events(
    State(state): State<AppState>,
    auth: Auth,
    super::AppQuery(q): super::AppQuery<AuditQuery>,
) -> Result<axum::Json<Vec<crate::store::AuditEvent>>, ApiError> {
    auth.require_any(&[Role::Auditor, Role::Admin])?;
    let item = q
        .item
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|_| ApiError::BadRequest("item 不是有效的事项编号".into()))?;
    let limit = q.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest("limit 应在 1 到 1000 之间".into()));
    }
    Ok(axum::Json(state.db.audit_events(item, q.after, limit).await?))
}

#[derive(Serialize, ToSchema)]
pub struct ChainReportView {
    pub intact: bool,
    pub events: i64,
    pub first_broken: Option<i64>,
    pub reason: Option<String>,
}
