//! Logging in and out (with throttling), the account life cycle (password
//! change and reset, deactivation, role grants, unlocking, the TOTP second
//! factor), API tokens, and the audit-chain check.
//!
//! 三员分立 (等保 2.0): the system administrator (`admin`) creates,
//! deactivates and reactivates accounts and resets passwords; the security
//! administrator (`security_admin`) grants and removes roles, unlocks
//! accounts and issues the tokens of channel accounts; the audit
//! administrator (`auditor`) reads and verifies the record. Each is held
//! alone by its own account (`auth::roles_problem`), and nobody changes
//! their own roles or activation.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ClientAddr, InPath, TokenId};
use super::{ApiError, AppJson, AppState, Auth, SESSION_COOKIE};
use crate::auth::{self, Principal, Role, Scope, totp};
use crate::model::{FieldProblem, Timestamp, UserId};
use crate::store::{AuditEvent, ChainReport, NewToken, NewUser, RolesChange, StoreError, TokenRecord, UserRecord};

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
    /// The password was set by an administrator: change it before anything else.
    pub must_change_password: bool,
    /// A TOTP second factor (for sign-off) is enrolled.
    pub totp_enrolled: bool,
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
            must_change_password: u.must_change_password,
            totp_enrolled: u.totp_enrolled,
        }
    }
}

/// The throttling key of an account name (whether or not it exists).
pub fn account_key(username: &str) -> String {
    format!("user:{}", username.chars().take(80).collect::<String>())
}

/// Checks a person's password the way a login does, and answers the same
/// way whatever the reason it fails. One attempt is taken, atomically, for
/// the account name and one for the client address before anything else;
/// the argon2 verification always runs (against a dummy hash when the name
/// is unknown, the account inactive or throttled), and every refusal is
/// audited, so unknown, locked and wrong cost the same and answer the same.
/// `Ok(None)`: refused.
async fn verify_login(
    state: &AppState,
    username: &str,
    password: String,
    address: Option<&str>,
) -> Result<Option<UserRecord>, ApiError> {
    let s = &state.settings.session;
    let window = time::Duration::minutes(s.lockout_minutes);
    let account_ok = state.db.take_login_attempt(&account_key(username), s.max_failed_logins, window).await?;
    let address_ok = match address {
        Some(a) => state.db.take_login_attempt(&format!("addr:{a}"), s.max_failed_logins_per_address, window).await?,
        None => true,
    };
    let candidate = state.db.login_candidate(username).await?;
    let throttled = !(account_ok && address_ok);
    let (user, hash) = match candidate {
        Some((user, Some(hash))) if !throttled => (Some(user), hash),
        Some((user, _)) => (Some(user), auth::dummy_password_hash().to_owned()),
        None => (None, auth::dummy_password_hash().to_owned()),
    };
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let user = match user {
        Some(user) if ok && !throttled => {
            let address_key = address.map(|a| format!("addr:{a}"));
            state.db.login_succeeded(&account_key(username), address_key.as_deref()).await?;
            return Ok(Some(user));
        }
        other => other,
    };
    let detail = serde_json::json!({
        "username": username.chars().take(80).collect::<String>(),
        "address": address,
        "throttled": throttled,
    });
    state.db.record_login_failure(user.map(|u| u.id), detail).await?;
    Ok(None)
}

/// Logs a person in and sets the session cookie. A wrong password, an
/// unknown or deactivated user and a throttled account or address all
/// answer the same 401 in the same time.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = UserView), (status = 401, body = super::Problem)))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    AppJson(req): AppJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let Some(user) = verify_login(&state, &req.username, req.password, address.as_deref()).await? else {
        return Err(ApiError::BadCredentials);
    };
    let secret = auth::new_secret("gws_");
    let ttl = time::Duration::hours(state.settings.session.ttl_hours);
    state.db.create_session(user.id, &auth::secret_hash(&secret), ttl).await?;
    let secure = if state.settings.session.secure_cookie || state.settings.behind_tls() { "; Secure" } else { "" };
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// Changes the caller's own password (a session, not a token), with the
/// current one; counts towards the login throttling like a login. Ends the
/// obligation to change an administrator-set password, and the person's
/// other sessions.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = ChangePasswordRequest,
    responses((status = 204), (status = 401, body = super::Problem), (status = 403, body = super::Problem),
        (status = 422, body = super::Problem)))]
pub async fn change_password(
    State(state): State<AppState>,
    auth: Auth,
    ClientAddr(address): ClientAddr,
    parts: axum::http::request::Parts,
    AppJson(req): AppJson<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    password_change(&state, &auth, &parts, address.as_deref(), req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A password change as the API and the 账户 page take it (a session's only).
pub(super) async fn password_change(
    state: &AppState,
    auth: &Auth,
    parts: &axum::http::request::Parts,
    address: Option<&str>,
    req: ChangePasswordRequest,
) -> Result<(), ApiError> {
    let session = session_only(auth, parts)?;
    auth::check_password_strength(&req.new_password).map_err(|why| ApiError::invalid("new_password", why))?;
    if req.new_password == req.current_password {
        return Err(ApiError::invalid("new_password", "新密码不能与当前密码相同"));
    }
    let verified = verify_login(state, &auth.0.username, req.current_password, address).await?;
    if verified.is_none_or(|u| u.id != auth.0.user_id) {
        return Err(ApiError::Forbidden("当前密码不正确，密码未修改。".into()));
    }
    let hash = hash(&req.new_password)?;
    state.db.set_password(Some(auth.0.user_id), auth.0.user_id, &hash, true, Some(&session)).await?;
    Ok(())
}

/// The hash of the caller's session secret; tokens may not manage the
/// account (a leaked token must not become a password or a second factor).
fn session_only(auth: &Auth, parts: &axum::http::request::Parts) -> Result<String, ApiError> {
    match (&auth.0.scopes, super::extract::session_cookie(parts)) {
        (None, Some(secret)) => Ok(auth::secret_hash(&secret)),
        _ => Err(ApiError::Forbidden("API 令牌不能管理账户（密码、动态口令），请登录后操作。".into())),
    }
}

fn hash(password: &str) -> Result<String, ApiError> {
    auth::hash_password(password).map_err(|e| ApiError::Internal(e.to_string()))
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
    /// Through the API always empty: the system administrator creates the
    /// account, the security administrator grants its roles
    /// (`POST /users/{id}/roles`).
    #[serde(default)]
    pub roles: BTreeSet<Role>,
    /// The initial password, which the person must change at the first
    /// login; omit for a token-only account (a channel).
    pub password: Option<String>,
}

/// Creates an account (system administrator), without roles: the security
/// administrator grants them.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUserRequest,
    responses((status = 201, body = UserView), (status = 403, body = super::Problem),
        (status = 409, body = super::Problem), (status = 422, body = super::Problem)))]
pub async fn create_user(
    State(state): State<AppState>,
    auth: Auth,
    AppJson(req): AppJson<CreateUserRequest>,
) -> Result<(StatusCode, axum::Json<UserView>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(create(&state, &auth, req).await?)))
}

/// A new account as the API and the 用户管理 page create it.
pub(super) async fn create(state: &AppState, auth: &Auth, req: CreateUserRequest) -> Result<UserView, ApiError> {
    let actor = auth.require_any(&[Role::Admin])?.user_id;
    auth.require_scope(Scope::Admin)?;
    if !req.roles.is_empty() {
        return Err(ApiError::invalid("roles", "系统管理员创建账户时不分配角色；角色由安全管理员授予（三员分立）"));
    }
    let new = new_user(req.username, req.display_name, req.unit, req.roles, req.password.as_deref())
        .map_err(ApiError::Invalid)?;
    let user = state.db.create_user(Some(actor), &new).await?;
    Ok(user.into())
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
    if let Some(why) = auth::roles_problem(&roles) {
        problems.push(FieldProblem::new("roles", why));
    }
    if password.is_some() && roles.contains(&Role::Channel) {
        problems.push(FieldProblem::new("password", "发布渠道账户只使用 API 令牌，不设密码"));
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
    let must_change_password = password_hash.is_some();
    Ok(NewUser { username, display_name, unit, roles, password_hash, must_change_password })
}

/// Lists users (the three administrators).
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = Vec<UserView>), (status = 403, body = super::Problem)))]
pub async fn list_users(State(state): State<AppState>, auth: Auth) -> Result<axum::Json<Vec<UserView>>, ApiError> {
    Ok(axum::Json(users_of(&state, &auth).await?))
}

/// Every account, as the API and the 用户管理 page list them.
pub(super) async fn users_of(state: &AppState, auth: &Auth) -> Result<Vec<UserView>, ApiError> {
    auth.require_any(Role::ADMINISTRATORS)?;
    Ok(state.db.users().await?.into_iter().map(UserView::from).collect())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// The account the token acts as; default the caller. Only the security
    /// administrator creates tokens for another account, and only for a
    /// channel account (people create their own).
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

/// An API token as the API shows it: what it may do, never its secret.
#[derive(Serialize, ToSchema)]
pub struct TokenView {
    pub id: String,
    #[schema(value_type = String)]
    pub user_id: UserId,
    pub name: String,
    pub scopes: BTreeSet<Scope>,
    /// The channels a `channel` token may read and confirm.
    pub channels: BTreeSet<String>,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>)]
    pub expires_at: Option<Timestamp>,
    #[schema(value_type = Option<String>)]
    pub revoked_at: Option<Timestamp>,
}

impl From<TokenRecord> for TokenView {
    fn from(t: TokenRecord) -> TokenView {
        TokenView {
            id: t.id,
            user_id: t.user_id,
            name: t.name,
            scopes: t.scopes,
            channels: t.channels,
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// A new token: the secret is shown this once and never again.
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    pub token: String,
    pub record: TokenView,
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
    if auth.0.must_change_password {
        return Err(ApiError::PasswordChangeRequired);
    }
    if owner != auth.0.user_id {
        auth.require_any(&[Role::SecurityAdmin])?;
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
    if owner != auth.0.user_id && owner_record.roles != BTreeSet::from([Role::Channel]) {
        return Err(ApiError::Forbidden(
            "只能为发布渠道账户创建令牌；工作人员的令牌由本人登录后创建，以免他人以其名义操作。".into(),
        ));
    }
    if req.scopes.contains(&Scope::Admin) && !owner_record.roles.iter().any(|r| r.is_administrator()) {
        return Err(ApiError::invalid("scopes", "只有管理员（系统、安全、审计）账户的令牌可以带 admin 权限范围"));
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
    Ok((StatusCode::CREATED, axum::Json(CreatedToken { token: secret, record: record.into() })))
}

/// Lists tokens: the security administrator sees all, others their own.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", responses((status = 200, body = Vec<TokenView>)))]
pub async fn list_tokens(State(state): State<AppState>, auth: Auth) -> Result<axum::Json<Vec<TokenView>>, ApiError> {
    let filter = if auth.0.has_role(Role::SecurityAdmin) { None } else { Some(auth.0.user_id) };
    Ok(axum::Json(state.db.tokens(filter).await?.into_iter().map(TokenView::from).collect()))
}

/// Revokes a token: the security administrator any, others their own.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = super::Problem)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    auth: Auth,
    InPath(id): InPath<TokenId>,
) -> Result<StatusCode, ApiError> {
    if !auth.0.has_role(Role::SecurityAdmin) {
        let own = state.db.tokens(Some(auth.0.user_id)).await?;
        if !own.iter().any(|t| t.id == id.as_str()) {
            return Err(ApiError::NotFound("该令牌"));
        }
    }
    state.db.revoke_token(auth.0.user_id, id.as_str()).await.map_err(|e| match e {
        crate::store::StoreError::NotFound => ApiError::NotFound("该令牌"),
        other => other.into(),
    })?;
    Ok(StatusCode::NO_CONTENT)
}

/// Checks the audit trail's hash chain and checks it against every signed
/// log checkpoint that anchors its head (the audit administrator). Checkpoints a
/// witness kept outside the gateway are checked with `gateway audit verify
/// --checkpoints FILE`.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", responses((status = 200, body = ChainReportView)))]
pub async fn verify_audit(State(state): State<AppState>, auth: Auth) -> Result<axum::Json<ChainReportView>, ApiError> {
    auth.require_any(&[Role::Auditor])?;
    let ChainReport { events, first_broken, reason, anchors, anchored_events, .. } =
        state.db.verify_audit_anchored(state.seal_keys.log_verifier(), &[]).await?;
    Ok(axum::Json(ChainReportView {
        intact: first_broken.is_none(),
        events,
        first_broken,
        reason,
        anchors,
        anchored_events,
    }))
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

/// Reads the audit trail, oldest first (the audit administrator): every event
/// with its hash and the previous hash, so it can be checked offline.
#[utoipa::path(get, path = "/api/v1/audit/events", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Vec<AuditEventView>), (status = 403, body = super::Problem)))]
pub async fn audit_events(
    State(state): State<AppState>,
    auth: Auth,
    super::AppQuery(q): super::AppQuery<AuditQuery>,
) -> Result<axum::Json<Vec<AuditEventView>>, ApiError> {
    auth.require_any(&[Role::Auditor])?;
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
    Ok(axum::Json(state.db.audit_events(item, q.after, limit).await?.into_iter().map(AuditEventView::from).collect()))
}

/// One event of the audit trail, with what its hash covers: the hash is
/// the SHA-256 of the JCS of every other field (`store::audit`).
#[derive(Serialize, ToSchema)]
pub struct AuditEventView {
    pub seq: i64,
    /// RFC 3339, UTC, milliseconds.
    pub at: String,
    pub actor_id: Option<String>,
    /// `item.submit`, `review.vote`, `user.create`, … (ARCHITECTURE.md, the audit trail).
    pub action: String,
    pub item_id: Option<String>,
    pub version: Option<i64>,
    /// The action's own facts, as recorded: its members depend on `action`.
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>)]
    pub detail: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

impl From<AuditEvent> for AuditEventView {
    fn from(e: AuditEvent) -> AuditEventView {
        AuditEventView {
            seq: e.seq,
            at: e.at,
            actor_id: e.actor_id,
            action: e.action,
            item_id: e.item_id,
            version: e.version,
            detail: e.detail,
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ChainReportView {
    pub intact: bool,
    pub events: i64,
    /// The first event that does not match (0: a signed checkpoint itself
    /// does not verify or does not match the log).
    pub first_broken: Option<i64>,
    pub reason: Option<String>,
    /// Signed checkpoints the chain was checked against.
    pub anchors: usize,
    /// Events covered by the newest of them.
    pub anchored_events: i64,
}

/// Someone else's account, for an administrator's action on it.
async fn other_user(state: &AppState, auth: &Auth, id: UserId) -> Result<UserRecord, ApiError> {
    if id == auth.0.user_id {
        return Err(ApiError::Forbidden("不能对自己的账户执行此操作（三员分立：账户变更须由他人完成）。".into()));
    }
    state.db.user(id).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::NotFound("该用户"),
        other => other.into(),
    })
}

fn admin_action(auth: &Auth, role: Role) -> Result<&Principal, ApiError> {
    auth.require_scope(Scope::Admin)?;
    auth.require_any(&[role])
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    /// The new initial password, which the person must change at the next login.
    pub password: String,
}

/// Resets a person's password (system administrator): every session of
/// theirs ends and they must change it at the next login. Not for the
/// administrators' own accounts (the operator's `gateway user
/// reset-password`), so that one administrator cannot take over another's
/// account; a signatory's sign-off also needs their own TOTP.
#[utoipa::path(post, path = "/api/v1/users/{id}/password", tag = "users", request_body = ResetPasswordRequest,
    params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = super::Problem), (status = 404, body = super::Problem),
        (status = 422, body = super::Problem)))]
pub async fn reset_password(
    State(state): State<AppState>,
    auth: Auth,
    InPath(id): InPath<UserId>,
    AppJson(req): AppJson<ResetPasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let actor = admin_action(&auth, Role::Admin)?.user_id;
    let user = other_user(&state, &auth, id).await?;
    if user.roles.iter().any(|r| r.is_administrator()) {
        return Err(ApiError::Forbidden(
            "管理员账户的密码只能由本人修改，或由运维人员在服务器上执行 gateway user reset-password 重置。".into(),
        ));
    }
    if !user.has_password {
        return Err(ApiError::invalid("password", "该账户只使用 API 令牌，没有密码"));
    }
    auth::check_password_strength(&req.password).map_err(|why| ApiError::invalid("password", why))?;
    state.db.set_password(Some(actor), user.id, &hash(&req.password)?, false, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deactivates an account (system administrator), effective at once: its
/// sessions end and its tokens are refused.
#[utoipa::path(post, path = "/api/v1/users/{id}/deactivate", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = UserView), (status = 403, body = super::Problem), (status = 404, body = super::Problem),
        (status = 409, body = super::Problem)))]
pub async fn deactivate_user(
    State(state): State<AppState>,
    auth: Auth,
    InPath(id): InPath<UserId>,
) -> Result<axum::Json<UserView>, ApiError> {
    set_active(state, auth, id, false).await
}

/// Reactivates an account (system administrator).
#[utoipa::path(post, path = "/api/v1/users/{id}/reactivate", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = UserView), (status = 403, body = super::Problem), (status = 404, body = super::Problem),
        (status = 409, body = super::Problem)))]
pub async fn reactivate_user(
    State(state): State<AppState>,
    auth: Auth,
    InPath(id): InPath<UserId>,
) -> Result<axum::Json<UserView>, ApiError> {
    set_active(state, auth, id, true).await
}

async fn set_active(state: AppState, auth: Auth, id: UserId, active: bool) -> Result<axum::Json<UserView>, ApiError> {
    let actor = admin_action(&auth, Role::Admin)?.user_id;
    let user = other_user(&state, &auth, id).await?;
    let user = state.db.set_active(actor, user.id, active).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            ApiError::Conflict(if active { "该账户已是启用状态。" } else { "该账户已停用。" }.into())
        }
        other => other.into(),
    })?;
    Ok(axum::Json(user.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolesRequest {
    #[serde(default)]
    pub grant: BTreeSet<Role>,
    #[serde(default)]
    pub remove: BTreeSet<Role>,
}

/// Grants and removes roles (security administrator), effective at once and
/// audited. The result must keep 三员分立 (an administrator role alone, in
/// its own account); a channel role only on an account without password,
/// and only it.
#[utoipa::path(post, path = "/api/v1/users/{id}/roles", tag = "users", request_body = RolesRequest,
    params(("id" = String, Path)),
    responses((status = 200, body = UserView), (status = 403, body = super::Problem), (status = 404, body = super::Problem),
        (status = 422, body = super::Problem)))]
pub async fn change_roles(
    State(state): State<AppState>,
    auth: Auth,
    InPath(id): InPath<UserId>,
    AppJson(req): AppJson<RolesRequest>,
) -> Result<axum::Json<UserView>, ApiError> {
    let actor = admin_action(&auth, Role::SecurityAdmin)?.user_id;
    let user = other_user(&state, &auth, id).await?;
    if req.grant.is_empty() && req.remove.is_empty() {
        return Err(ApiError::invalid("grant", "请指定要授予或撤销的角色"));
    }
    if let Some(both) = req.grant.intersection(&req.remove).next() {
        return Err(ApiError::invalid("remove", format!("角色“{}”不能同时授予和撤销", both.label())));
    }
    let has_password = user.has_password;
    let allowed = move |roles: &BTreeSet<Role>| {
        auth::roles_problem(roles).or_else(|| match (has_password, roles.iter().any(|r| *r != Role::Channel)) {
            (true, _) if roles.contains(&Role::Channel) => Some("有登录密码的工作人员账户不能担任发布渠道"),
            (false, true) => Some("没有密码的账户（发布渠道）只能担任发布渠道角色"),
            _ => None,
        })
    };
    match state.db.change_roles(actor, user.id, &req.grant, &req.remove, allowed).await? {
        RolesChange::Done(user) => Ok(axum::Json(user.into())),
        RolesChange::Refused(why) => Err(ApiError::invalid("grant", why)),
    }
}

/// Ends the login lockout of an account (security administrator); audited.
#[utoipa::path(post, path = "/api/v1/users/{id}/unlock", tag = "users", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn unlock_user(
    State(state): State<AppState>,
    auth: Auth,
    InPath(id): InPath<UserId>,
) -> Result<StatusCode, ApiError> {
    let actor = admin_action(&auth, Role::SecurityAdmin)?.user_id;
    let user = other_user(&state, &auth, id).await?;
    state.db.unlock_user(Some(actor), &user.username, &account_key(&user.username)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A TOTP enrolment to confirm: the secret is shown this once.
#[derive(Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// Base32, for typing into an authenticator app.
    pub secret: String,
    /// `otpauth://totp/…`, for an app that reads a link or QR code.
    pub otpauth_uri: String,
}

/// The issuer name authenticator apps show.
pub const TOTP_ISSUER: &str = "政务公开网关";

/// Starts the caller's own TOTP enrolment (a session, not a token): a new
/// secret, shown once, confirmed with a first code by
/// `POST /auth/totp/confirm`. Refused once one is enrolled.
#[utoipa::path(post, path = "/api/v1/auth/totp", tag = "auth",
    responses((status = 200, body = TotpEnrolment), (status = 403, body = super::Problem), (status = 409, body = super::Problem)))]
pub async fn begin_totp(
    State(state): State<AppState>,
    auth: Auth,
    parts: axum::http::request::Parts,
) -> Result<axum::Json<TotpEnrolment>, ApiError> {
    Ok(axum::Json(totp_begin(&state, &auth, &parts).await?))
}

/// The start of a TOTP enrolment, as the API and the 账户 page take it.
pub(super) async fn totp_begin(
    state: &AppState,
    auth: &Auth,
    parts: &axum::http::request::Parts,
) -> Result<TotpEnrolment, ApiError> {
    session_only(auth, parts)?;
    let secret = totp::new_secret();
    state.db.propose_totp(auth.0.user_id, &hex::encode(&secret)).await.map_err(totp_conflict)?;
    Ok(TotpEnrolment {
        secret: totp::base32(&secret),
        otpauth_uri: totp::otpauth_uri(TOTP_ISSUER, &auth.0.username, &secret),
    })
}

fn totp_conflict(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(_) => ApiError::Conflict(
            "您已绑定动态口令。如更换了手机或丢失了验证器，请联系运维人员执行 gateway user reset-totp 后重新绑定。"
                .into(),
        ),
        other => other.into(),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    /// The 6-digit code the authenticator app shows now.
    pub code: String,
}

/// Confirms the TOTP enrolment with a first code from the app.
#[utoipa::path(post, path = "/api/v1/auth/totp/confirm", tag = "auth", request_body = TotpCode,
    responses((status = 204), (status = 403, body = super::Problem), (status = 409, body = super::Problem),
        (status = 422, body = super::Problem)))]
pub async fn confirm_totp(
    State(state): State<AppState>,
    auth: Auth,
    parts: axum::http::request::Parts,
    AppJson(req): AppJson<TotpCode>,
) -> Result<StatusCode, ApiError> {
    totp_confirm(&state, &auth, &parts, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The confirmation of a TOTP enrolment, as the API and the 账户 page take it.
pub(super) async fn totp_confirm(
    state: &AppState,
    auth: &Auth,
    parts: &axum::http::request::Parts,
    req: TotpCode,
) -> Result<(), ApiError> {
    session_only(auth, parts)?;
    let (enrolled, _, pending) = state.db.totp_state(auth.0.user_id).await?;
    if enrolled.is_some() {
        return Err(totp_conflict(StoreError::Conflict("totp already enrolled")));
    }
    let pending =
        pending.ok_or_else(|| ApiError::Conflict("请先开始绑定动态口令（POST /api/v1/auth/totp）。".into()))?;
    let secret = hex::decode(&pending).map_err(|e| ApiError::Internal(format!("stored totp secret: {e}")))?;
    let step = totp::matching_step(&secret, &req.code, totp::step_at(Timestamp::now().as_offset().unix_timestamp()))
        .ok_or_else(|| ApiError::invalid("code", "动态口令不正确。请核对手机时间，输入验证器当前显示的 6 位数字"))?;
    state.db.confirm_totp(auth.0.user_id, &pending, step).await.map_err(totp_conflict)?;
    Ok(())
}

/// The sign-off step-up: the signatory's password and a current code of
/// the TOTP they enrolled themselves, each code once. Counts towards the
/// login throttling like a login. The administrator who set or reset the
/// password still cannot sign: the second factor is the signatory's alone.
pub async fn step_up(
    state: &AppState,
    principal: &Principal,
    address: Option<&str>,
    password: Option<&str>,
    code: Option<&str>,
) -> Result<(), ApiError> {
    let password = password
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::invalid("password", "签发须再次输入您的登录密码，以确认是本人操作"))?;
    let (secret, _, _) = state.db.totp_state(principal.user_id).await?;
    let Some(secret) = secret else {
        return Err(ApiError::Forbidden(
            "签发须使用您本人绑定的动态口令，您尚未绑定。请先在“账户安全”页面（/account）用手机验证器绑定动态口令。"
                .into(),
        ));
    };
    let code = code
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("totp_code", "签发须输入您手机验证器当前显示的 6 位动态口令"))?;
    let verified = verify_login(state, &principal.username, password.to_owned(), address).await?;
    if verified.is_none_or(|u| u.id != principal.user_id) {
        return Err(ApiError::StepUpFailed("密码不正确，请重新输入。签发未完成。".into()));
    }
    let secret = hex::decode(&secret).map_err(|e| ApiError::Internal(format!("stored totp secret: {e}")))?;
    let now = totp::step_at(Timestamp::now().as_offset().unix_timestamp());
    let step = totp::matching_step(&secret, code, now)
        .ok_or_else(|| ApiError::StepUpFailed("动态口令不正确，请重新输入验证器当前显示的口令。签发未完成。".into()))?;
    if !state.db.use_totp_step(principal.user_id, step).await? {
        return Err(ApiError::Forbidden("该动态口令已使用过，请等待验证器显示新的口令后重试。".into()));
    }
    Ok(())
}
