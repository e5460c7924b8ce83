//! The web interface: server-rendered pages in Simplified Chinese for
//! drafters, reviewers, leaders and the publication office.
//!
//! Pages are askama templates (`gateway/gateway/templates/`), checked when
//! the crate compiles. Every action goes through the same handler as the
//! JSON API (`super::items`, `super::workflow`, …): the web layer turns a
//! form into the API's request type, calls the handler with the person's
//! session as [`Auth`], and renders the answer, so separation of duties,
//! digest binding and every other rule live in one place. JavaScript is
//! small and optional (`static/app.js`: span selection for comments,
//! attachment upload, confirmations); every form works without it.
//!
//! Security: the session cookie is `HttpOnly; SameSite=Strict` (and
//! `Secure` behind TLS); every form of a logged-in page carries a CSRF
//! token derived from the session secret (a page from another site cannot
//! read it), and a POST whose `Origin` (else `Referer`) is not the
//! configured public URL is refused. Sessions end after the configured idle
//! time; a session whose password an administrator set sees only
//! `/account` until the password is changed.

mod account;
mod applications;
mod approval;
mod calendar;
mod chart;
mod highlight;
mod item;
mod kept;
mod lists;
mod office;
mod people;
mod seal_record;

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use sha2::{Digest, Sha256};

use super::extract::session_cookie;
use super::{ApiError, AppState, Auth};
use crate::auth::{Principal, Role, secret_hash};
use crate::config::{Limits, Settings};

/// The pages and their form targets. The item form may carry files (its
/// attachments, when the browser runs no script): its body may be one
/// attachment larger than other forms'.
pub fn routes(limits: &Limits) -> Router<AppState> {
    let with_files = DefaultBodyLimit::max(limits.max_form_with_files_bytes());
    Router::new()
        .route("/", get(start))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/kept", get(kept::kept_form))
        .route("/items", get(lists::items))
        .route("/items/new", get(item::new_form).post(item::create).layer(with_files))
        .route("/items/{id}", get(item::page))
        .route("/items/{id}/approval", get(approval::page))
        .route("/items/{id}/edit", get(item::edit_form).post(item::edit).layer(with_files))
        .route("/items/{id}/submit", post(item::submit))
        .route("/items/{id}/fix", post(item::apply_fix))
        .route("/items/{id}/mask", post(item::mask_attachment))
        .route("/items/{id}/vote", post(item::vote))
        .route("/items/{id}/override", post(item::override_stage))
        .route("/items/{id}/comment", post(item::comment))
        .route("/items/{id}/waive", post(item::waive))
        .route("/items/{id}/seal", post(item::seal))
        .route("/items/{id}/withdraw", post(item::withdraw))
        .route("/items/{id}/withdraw/confirm", post(item::confirm_withdrawal))
        .route("/items/{id}/redeliver", post(item::redeliver))
        .route("/seals/{serial}", get(seal_record::page))
        .route("/queue", get(lists::queue))
        .route("/register", get(lists::register))
        .route("/dashboard", get(lists::dashboard))
        .route("/office", get(office::office))
        .route("/calendar", get(calendar::page).post(calendar::load))
        .route("/office/endpoints", post(office::add_endpoint))
        .route("/office/endpoints/{id}/test", post(office::test_endpoint))
        .route("/office/endpoints/{id}/disable", post(office::disable_endpoint))
        .route("/office/endpoints/{id}/redeliver", post(office::resend))
        .route("/users", get(people::users).post(people::create_user))
        .route("/users/{id}/{action}", post(people::user_action))
        .route("/account", get(account::page))
        .route("/account/password", post(account::change_password))
        .route("/account/totp", post(account::begin_totp))
        .route("/account/totp/confirm", post(account::confirm_totp))
        .route("/notifications", get(people::notifications))
        .route("/notifications/{id}/open", post(people::open_notification))
        .route("/register/{id}/decision", post(lists::decide))
        .route("/applications", get(applications::list).post(applications::register))
        .route("/applications/new", get(applications::new_form))
        .route("/applications/{id}", get(applications::page))
        .route("/applications/{id}/action", post(applications::act))
        .route("/applications/{id}/reply", post(applications::draft_reply))
        .route("/applications/{id}/letter", get(applications::letter))
        .route("/applications/{id}/letter.pdf", get(applications::letter_pdf))
        .route("/applications/{id}/email", post(applications::serve_by_email))
        .route(
            "/static/app.css",
            get(|| async { asset("text/css; charset=utf-8", include_str!("../../../static/app.css")) }),
        )
        .route(
            "/static/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", include_str!("../../../static/app.js")) }),
        )
}

/// The escaper of every page template (`askama.toml`): HTML escaping, and
/// every character a reader cannot see (bidi controls such as U+202E,
/// zero-width characters, U+FEFF: `review::invisible::is_hidden`) written as
/// a visible `⟨U+202E⟩` marker instead, so that stored text cannot reorder
/// or hide anything on a page. Form fields that send text back use
/// `|escape("htm")` (plain HTML escaping) so that an edit keeps the text as
/// stored; the review's findings say where the characters are.
#[derive(Clone, Copy)]
pub struct VisibleHtml;

impl askama::filters::Escaper for VisibleHtml {
    fn write_escaped_str<W: std::fmt::Write>(&self, mut dest: W, string: &str) -> std::fmt::Result {
        use crate::review::invisible::{is_hidden, marker};
        let mut last = 0;
        for (at, c) in string.char_indices() {
            if is_hidden(c) {
                askama::filters::Html.write_escaped_str(&mut dest, &string[last..at])?;
                dest.write_str(&marker(c))?;
                last = at + c.len_utf8();
            }
        }
        askama::filters::Html.write_escaped_str(&mut dest, &string[last..])
    }
}

fn asset(media_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}

/// A logged-in person on a page: who, and the CSRF token of their session.
pub struct Session {
    pub auth: Auth,
    pub csrf: String,
    /// Unread notifications (shown in the header).
    pub unread: usize,
    /// The client's address (for the login throttling of a step-up).
    pub address: Option<String>,
}

impl Session {
    pub fn principal(&self) -> &Principal {
        &self.auth.0
    }

    /// A copy of the credential, for calling an API handler.
    fn auth(&self) -> Auth {
        Auth(self.auth.0.clone())
    }

    pub fn has(&self, role: Role) -> bool {
        self.auth.0.has_role(role)
    }

    /// What every page shows around its content.
    pub fn layout(&self, title: impl Into<String>, current: &'static str) -> Layout {
        let p = self.principal();
        let mut nav = Vec::new();
        let mut link =
            |href: &'static str, label: &'static str| nav.push(NavLink { href, label, current: href == current });
        if p.has_role(Role::Drafter) {
            link("/items?mine=1", "我的稿件");
            link("/items/new", "新建稿件");
        }
        if reviews(p) {
            link("/queue", "待我审核");
        }
        if p.has_role(Role::Publisher) || p.has_role(Role::SecurityAdmin) || p.has_role(Role::Auditor) {
            link("/office", "发布管理");
            link("/calendar", "节假日安排");
        }
        if p.can(crate::auth::Duty::ReadApplications) {
            link("/applications", "申请登记");
        }
        if p.roles.iter().any(|r| super::register::READERS.contains(r)) {
            link("/register", "台账");
        }
        link("/items", "全部事项");
        link("/dashboard", "统计");
        if p.has_role(Role::Admin) || p.has_role(Role::SecurityAdmin) {
            link("/users", "用户管理");
        }
        link("/account", "账户安全");
        Layout {
            title: title.into(),
            user: p.display_name.clone(),
            roles: p.roles.iter().map(|r| r.label()).collect::<Vec<_>>().join("、"),
            csrf: self.csrf.clone(),
            unread: self.unread,
            nav,
            notice: None,
            error: None,
        }
    }
}

/// Whether the person has a reviewing role (a queue).
fn reviews(p: &Principal) -> bool {
    [Role::Reviewer, Role::SecrecyReviewer, Role::Approver, Role::Leader, Role::Cosigner, Role::Publicity]
        .iter()
        .any(|r| p.has_role(*r))
}

/// The CSRF token of a session: a hash of its secret, which only the
/// session's owner (and the server) knows.
fn csrf_token(session_secret: &str) -> String {
    let digest = Sha256::new().chain_update(b"gateway-csrf\0").chain_update(session_secret.as_bytes()).finalize();
    hex::encode(&digest[..16])
}

/// The pages a session that must change its password may see.
const MUST_CHANGE_PAGES: &[&str] = &["/account", "/account/password", "/logout"];

/// Why a page could not be shown to this request.
pub enum Rejection {
    /// Not logged in, or the session ended: to the login page, and from
    /// there back to `next` (a path of this gateway, [`safe_next`]).
    Login { expired: bool, next: Option<String> },
    /// The password was set by an administrator: to `/account` first.
    ChangePassword,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self {
            Rejection::Login { expired, next } => {
                let mut query = form_urlencoded::Serializer::new(String::new());
                if expired {
                    query.append_pair("expired", "1");
                }
                if let Some(next) = next.as_deref().and_then(safe_next) {
                    query.append_pair("next", next);
                }
                let query = query.finish();
                see_other(&if query.is_empty() { "/".to_owned() } else { format!("/?{query}") })
            }
            Rejection::ChangePassword => Redirect::to("/account?must=1").into_response(),
        }
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Session, Rejection> {
        // A page asked for without a live session is returned to after login.
        let next = (parts.method == axum::http::Method::GET)
            .then(|| parts.uri.path_and_query().map(|p| p.as_str().to_owned()))
            .flatten()
            .filter(|p| safe_next(p).is_some());
        let secret = session_cookie(parts).ok_or(Rejection::Login { expired: false, next: next.clone() })?;
        let idle = time::Duration::minutes(state.settings.session.idle_minutes);
        match state.db.session(&secret_hash(&secret), idle).await {
            Ok(Some(session)) => {
                if session.principal.must_change_password && !MUST_CHANGE_PAGES.contains(&parts.uri.path()) {
                    return Err(Rejection::ChangePassword);
                }
                let unread = state.db.notifications(session.principal.user_id, true, 100).await.map_or(0, |n| n.len());
                let address = super::extract::client_addr(parts, state.settings.session.trust_forwarded_for);
                Ok(Session { auth: Auth(session.principal), csrf: csrf_token(&secret), unread, address })
            }
            Ok(None) => Err(Rejection::Login { expired: true, next }),
            Err(e) => {
                tracing::error!(error = %e, "cannot read a session");
                Err(Rejection::Login { expired: false, next })
            }
        }
    }
}

/// The fields of an `application/x-www-form-urlencoded` body; a key may
/// repeat (checkbox groups).
pub struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    pub fn parse(body: &[u8]) -> Form {
        Form { fields: form_urlencoded::parse(body).into_owned().collect() }
    }

    /// The first value of `key`, trimmed; `None` when absent or blank.
    pub fn get(&self, key: &str) -> Option<String> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    /// The first value of `key` as written (text areas keep their spaces).
    pub fn raw(&self, key: &str) -> String {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    /// The content digest of the version the page showed (the hidden
    /// `digest` field every action on an item posts).
    pub fn digest(&self) -> Result<seal::ContentDigest, ApiError> {
        self.get("digest")
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| ApiError::invalid("digest", "页面缺少所审阅版本的内容摘要，请刷新页面后重试"))
    }

    /// Every non-blank value of `key`.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.fields.iter().filter(|(k, v)| k == key && !v.trim().is_empty()).map(|(_, v)| v.trim().to_owned()).collect()
    }
}

/// A POSTed form of a logged-in page, after the CSRF and origin checks.
pub struct Posted {
    pub session: Session,
    pub form: Form,
    /// Files of a `multipart/form-data` form (the item form's attachments
    /// when the browser runs no script); empty for other forms.
    pub files: Vec<FilePart>,
}

/// A file sent with a form.
pub struct FilePart {
    /// The file's own name, without any path the browser sent.
    pub name: String,
    /// The allowed type it declares or its extension means
    /// ([`crate::http::attachments::file_type`]).
    pub media_type: String,
    pub bytes: Bytes,
}

impl Posted {
    /// Checks the request came from our own page.
    pub fn check(
        settings: &Settings,
        session: Session,
        headers: &HeaderMap,
        form: Form,
        files: Vec<FilePart>,
    ) -> Result<Posted, Box<Response>> {
        if !same_origin(settings, headers) || form.get("csrf").as_deref() != Some(session.csrf.as_str()) {
            let page = ErrorPage {
                layout: session.layout("请求无效", ""),
                status: 403,
                detail: "表单已过期或不是从本系统页面提交的。请返回上一页，刷新后重新操作。".into(),
            };
            return Err(Box::new(render_status(StatusCode::FORBIDDEN, &page)));
        }
        Ok(Posted { session, form, files })
    }
}

/// The fields and files of a `multipart/form-data` body, within the route's
/// body limit ([`routes`]: the item form allows one attachment more).
async fn multipart_form(req: axum::extract::Request, state: &AppState) -> Result<(Form, Vec<FilePart>), ApiError> {
    let limit = state.settings.limits.max_form_with_files_bytes();
    let refused = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge { limit }
        } else {
            ApiError::BadRequest(format!("表单内容无法解析：{}", e.body_text()))
        }
    };
    let mut multipart = axum::extract::Multipart::from_request(req, state)
        .await
        .map_err(|e| ApiError::BadRequest(format!("表单内容无法解析：{}", e.body_text())))?;
    let (mut fields, mut files) = (Vec::new(), Vec::new());
    while let Some(field) = multipart.next_field().await.map_err(refused)? {
        let key = field.name().unwrap_or_default().to_owned();
        match field.file_name().map(|n| n.rsplit(['/', '\\']).next().unwrap_or_default().to_owned()) {
            Some(name) => {
                let declared = field.content_type().map(str::to_owned);
                let bytes = field.bytes().await.map_err(refused)?;
                // An empty file input still sends a part without a name.
                if !name.is_empty() || !bytes.is_empty() {
                    let media_type = crate::http::attachments::file_type(declared.as_deref(), &name);
                    files.push(FilePart { name, media_type, bytes });
                }
            }
            None => fields.push((key, field.text().await.map_err(refused)?)),
        }
    }
    Ok((Form { fields }, files))
}

impl axum::extract::FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &AppState) -> Result<Posted, Response> {
        let (mut parts, body) = req.into_parts();
        // Whose session the cookie names, live or not: a form posted after
        // it ended is kept for them (`keep_and_login`).
        let cookie = session_cookie(&parts);
        let owner = match &cookie {
            Some(secret) => state.db.session_owner(&secret_hash(secret)).await.ok().flatten(),
            None => None,
        };
        let session = match Session::from_request_parts(&mut parts, state).await {
            Ok(session) => session,
            Err(Rejection::Login { expired, .. }) => {
                return Err(keep_and_login(state, parts, body, cookie.zip(owner), expired).await);
            }
            Err(rejection) => return Err(rejection.into_response()),
        };
        let headers = parts.headers.clone();
        let is_multipart = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
        let (form, files) = if is_multipart {
            let req = axum::extract::Request::from_parts(parts, body);
            multipart_form(req, state).await.map_err(|e| error_page(&session, e))?
        } else {
            let limit = state.settings.limits.max_body_bytes;
            let body = axum::body::to_bytes(body, limit)
                .await
                .map_err(|_| error_page(&session, ApiError::PayloadTooLarge { limit }))?;
            (Form::parse(&body), Vec::new())
        };
        Posted::check(&state.settings, session, &headers, form, files).map_err(|refused| *refused)
    }
}

/// The cookie that names a kept form (its key; the store has its hash).
const KEPT_COOKIE: &str = "gw_kept";

/// A form posted with an ended session: kept for the person whose session
/// it was, when the request passes the checks a live one would (same
/// origin, and the CSRF token of that very session), then to the login page,
/// which brings the person back to it ("登录已超时，内容已保留"). Nothing
/// else is kept: a form without a session of its own, from another site or
/// with a wrong token only leads to the login page.
async fn keep_and_login(
    state: &AppState,
    parts: Parts,
    body: axum::body::Body,
    owner: Option<(String, crate::model::UserId)>,
    expired: bool,
) -> Response {
    let path = parts.uri.path().to_owned();
    let login = |kept: bool| {
        let next = return_path(&path);
        let mut response = Rejection::Login { expired, next: Some(next) }.into_response();
        if kept && let Some(location) = response.headers().get(header::LOCATION).cloned() {
            let location = location.to_str().unwrap_or("/");
            let joiner = if location.contains('?') { '&' } else { '?' };
            response = see_other(&format!("{location}{joiner}kept=1"));
        }
        response
    };
    let Some((secret, user)) = owner else { return login(false) };
    if !same_origin(&state.settings, &parts.headers) {
        return login(false);
    }
    let is_multipart = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let form = if is_multipart {
        match multipart_form(axum::extract::Request::from_parts(parts, body), state).await {
            Ok((form, _files)) => form,
            Err(_) => return login(false),
        }
    } else {
        match axum::body::to_bytes(body, state.settings.limits.max_body_bytes).await {
            Ok(bytes) => Form::parse(&bytes),
            Err(_) => return login(false),
        }
    };
    if form.get("csrf").as_deref() != Some(csrf_token(&secret).as_str()) {
        return login(false);
    }
    let key = crate::auth::new_secret("gwk_");
    if let Err(e) = crate::service::forms::keep(state, user, &secret_hash(&key), &path, form.fields).await {
        tracing::error!(error = %e, "cannot keep a form");
        return login(false);
    }
    let mut response = login(true);
    let secure = if state.settings.session.secure_cookie || state.settings.behind_tls() { "; Secure" } else { "" };
    let cookie = format!(
        "{KEPT_COOKIE}={key}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        crate::service::forms::KEEP_FOR.whole_seconds()
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The page a form's target belongs to: `/items/{id}/vote` → `/items/{id}`,
/// `/items/new` → itself, `/users/{id}/roles` → `/users`.
fn return_path(target: &str) -> String {
    let segments: Vec<&str> = target.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["items", "new"] => "/items/new".into(),
        ["items", id, ..] => format!("/items/{id}"),
        [first, ..] if !first.is_empty() => format!("/{first}"),
        _ => "/".into(),
    }
}

/// A return path after login: a path of this gateway only (`/…`, never
/// `//host` or `/\host`, which browsers read as another site; printable
/// ASCII; not the login, logout or kept-form pages themselves).
pub fn safe_next(next: &str) -> Option<&str> {
    let path = next.split('?').next().unwrap_or_default();
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.len() <= 2048
        && next.bytes().all(|b| b.is_ascii_graphic())
        && !matches!(path, "/" | "/login" | "/logout" | "/kept");
    ok.then_some(next)
}

/// The key of a kept form in the request's cookie.
fn kept_cookie(parts: &Parts) -> Option<String> {
    super::extract::cookie(parts, KEPT_COOKIE)
}

/// A POST whose `Origin` (else `Referer`) is not the configured public
/// URL is refused; the `Host` header, which the request chooses, is never
/// consulted. Without either header the CSRF token alone decides.
fn same_origin(settings: &Settings, headers: &HeaderMap) -> bool {
    super::extract::request_origin(headers).is_none_or(|o| settings.is_own_origin(o))
}

/// The frame around every page.
pub struct Layout {
    pub title: String,
    pub user: String,
    pub roles: String,
    pub csrf: String,
    pub unread: usize,
    pub nav: Vec<NavLink>,
    /// A success message after an action.
    pub notice: Option<String>,
    /// An error message (from the API's problem document).
    pub error: Option<String>,
}

pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

impl Layout {
    /// Shows an API error on the page, as the API words it.
    pub fn with_error(mut self, error: &ApiError) -> Layout {
        let problem = error.problem();
        self.error = Some(format!("{}：{}", problem.title, problem.detail));
        self
    }
}

/// Renders a page (200).
pub fn render(page: &impl Template) -> Response {
    render_status(StatusCode::OK, page)
}

/// Renders a page with a status.
pub fn render_status(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => {
            let mut response = (status, html).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
                ),
            );
            headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            response
        }
        Err(e) => ApiError::Internal(format!("template: {e}")).into_response(),
    }
}

/// A page that only says what went wrong.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub status: u16,
    pub detail: String,
}

/// An API error as a page, with the API's status.
pub fn error_page(session: &Session, error: ApiError) -> Response {
    if matches!(error, ApiError::Unauthenticated) {
        return Rejection::Login { expired: true, next: None }.into_response();
    }
    let problem = error.problem();
    if let ApiError::Internal(cause) = &error {
        tracing::error!(%cause, "internal error");
    }
    let page =
        ErrorPage { layout: session.layout(problem.title.clone(), ""), status: problem.status, detail: problem.detail };
    render_status(error.status(), &page)
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    message: Option<&'static str>,
    error: Option<String>,
    username: String,
    /// Where to go after login (a [`safe_next`] path), or empty.
    next: String,
}

#[derive(serde::Deserialize)]
struct StartQuery {
    expired: Option<String>,
    out: Option<String>,
    /// A form was kept (`keep_and_login`).
    kept: Option<String>,
    next: Option<String>,
}

/// `/`: the login page, or the person's home page.
async fn start(
    State(state): State<AppState>,
    parts: Parts,
    super::AppQuery(q): super::AppQuery<StartQuery>,
) -> Response {
    let mut parts = parts;
    match Session::from_request_parts(&mut parts, &state).await {
        Ok(session) => return Redirect::to(home(session.principal())).into_response(),
        Err(rejection @ Rejection::ChangePassword) => return rejection.into_response(),
        Err(Rejection::Login { .. }) => {}
    }
    let message = if q.kept.is_some() {
        Some("登录已超时，内容已保留。请重新登录，登录后可检查并继续提交。")
    } else if q.expired.is_some() {
        Some("登录已超时，请重新登录，登录后回到您刚才的页面。")
    } else if q.out.is_some() {
        Some("您已安全退出。")
    } else {
        None
    };
    let next = q.next.as_deref().and_then(safe_next).unwrap_or_default().to_owned();
    render(&LoginPage { message, error: None, username: String::new(), next })
}

/// Each role's home page.
fn home(p: &Principal) -> &'static str {
    if reviews(p) {
        "/queue"
    } else if p.has_role(Role::Drafter) {
        "/items?mine=1"
    } else if p.must_change_password {
        "/account?must=1"
    } else if p.has_role(Role::Publisher) || p.has_role(Role::SecurityAdmin) {
        "/office"
    } else if p.has_role(Role::Admin) {
        "/users"
    } else {
        "/items"
    }
}

async fn login(State(state): State<AppState>, parts: Parts, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let username = form.get("username").unwrap_or_default();
    let next = form.get("next").as_deref().and_then(safe_next).unwrap_or_default().to_owned();
    let kept = kept_cookie(&parts).is_some();
    let address = super::extract::client_addr(&parts, state.settings.session.trust_forwarded_for);
    if !same_origin(&state.settings, &parts.headers) {
        return render_status(
            StatusCode::FORBIDDEN,
            &LoginPage {
                message: None, error: Some("登录请求不是从本系统页面提交的。".into()), username, next
            },
        );
    }
    let request = super::accounts::LoginRequest { username: username.clone(), password: form.raw("password") };
    match super::accounts::login(State(state), super::extract::ClientAddr(address), super::AppJson(request)).await {
        Ok(response) => {
            // A kept form first; else the page asked for; else the start
            // page, which sends the person on to their home page.
            let to = if kept {
                "/kept"
            } else if next.is_empty() {
                "/"
            } else {
                next.as_str()
            };
            let mut redirect = see_other(to);
            if let Some(cookie) = response.headers().get(header::SET_COOKIE).cloned() {
                redirect.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            redirect
        }
        Err(error) => {
            let problem = error.problem();
            render_status(
                error.status(),
                // Said once: the detail repeats what the title says.
                &LoginPage { message: None, error: Some(problem.detail), username, next },
            )
        }
    }
}

async fn logout(State(state): State<AppState>, session: Session, parts: Parts, body: Bytes) -> Response {
    if let Err(refused) = Posted::check(&state.settings, session, &parts.headers, Form::parse(&body), Vec::new()) {
        return *refused;
    }
    match super::accounts::logout(State(state), parts).await {
        Ok(response) => {
            let mut redirect = Redirect::to("/?out=1").into_response();
            if let Some(cookie) = response.headers().get(header::SET_COOKIE).cloned() {
                redirect.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            redirect
        }
        Err(e) => e.into_response(),
    }
}

/// Fixed success messages shown after a redirect (`?done=`); a code, not
/// text, so a link cannot make the page say anything else.
pub fn done_message(code: Option<&str>) -> Option<String> {
    let text = match code? {
        "created" => "稿件已保存为草稿。检查无误后请提交审核。",
        "edited" => "已保存为新版本。",
        "fixed" => "已按建议修改，生成了新版本。请确认后重新提交审核。",
        "masked" => "已生成附件的打码副本，作为新版本保存。请核对下方列出的修改，再重新提交审核。",
        "submitted" => "已提交审核，自动检查已完成。",
        "voted" => "审核意见已提交。",
        "overridden" => "已越级通过该环节，理由已记录在案。",
        "signed" => "已签发。",
        "commented" => "批注已添加。",
        "sealed" => "已加盖信息公开专用章，正在向各渠道发布。",
        "withdrawn" => "已发起撤稿，等待各渠道确认删除。",
        "redelivered" => "已安排重新投递。",
        "resent" => "已安排补发该端点自所选时间以来的全部事件，端点已重新启用。",
        "confirmed" => "已确认紧急撤稿。",
        "endpoint_added" => "发布渠道端点已添加并启用。请点“测试”确认接收方能收到消息。",
        "endpoint_disabled" => "端点已停用，其待投递的事件暂停；用“补发此后全部事件”可重新启用并补发。",
        "user_created" => {
            "账户已创建（尚无角色，请安全管理员授予）。请将初始密码当面或通过安全渠道告知本人；本人首次登录须修改密码。"
        }
        "password_reset" => "密码已重置。请将新密码当面或通过安全渠道告知本人；本人登录后须立即修改。",
        "deactivated" => "账户已停用，其会话和令牌即时失效。",
        "reactivated" => "账户已重新启用。",
        "roles_changed" => "角色已更新，即时生效。",
        "unlocked" => "账户已解锁。",
        "password_changed" => "密码已修改。",
        "totp_enrolled" => "动态口令已绑定。签发时须输入验证器当前显示的口令。",
        "decided" => "台账复核结论已记录。",
        "application_registered" => "申请已登记，答复期限自收到申请之日起计算。",
        "reply_drafted" => {
            "已按模板起草答复。请补全检索过程等【】处内容后提交审核；盖章后由政务公开办公室打印或以电子邮件送达。"
        }
        "served_by_email" => "答复书已通过电子邮件发出，邮件服务器已接收；送达日期已登记为今天，并记入审计日志。",
        "application_updated" => "已记录，答复期限已按最新情况重新计算；操作已记入审计日志。",
        "waived" => "已豁免该问题，豁免理由已记入审计日志。",
        "calendar_loaded" => "节假日安排已载入并立即生效，各项期限已按新安排重新计算；载入记录已记入审计日志。",
        _ => return None,
    };
    Some(text.to_owned())
}

/// Query parameters every item page accepts.
#[derive(serde::Deserialize, Default)]
pub struct PageQuery {
    pub done: Option<String>,
    pub from: Option<i64>,
}

/// Parses a path id, answering 404 as the API would.
pub fn item_id(id: &str) -> Result<crate::model::ItemId, ApiError> {
    super::items::parse_item_id(id)
}

/// The `{id}` of an item page or action, parsed once at the edge: a path
/// that does not name an item by a valid id is answered 404 before any
/// action runs. The text it holds is the id's canonical form (hex and
/// hyphens), so a redirect built from it is always a valid header value;
/// request text never reaches a header unchecked (issue 16, finding 15).
pub struct ItemPath(pub crate::model::ItemId);

impl FromRequestParts<AppState> for ItemPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let axum::extract::Path(raw) = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound("该事项"))?;
        Ok(ItemPath(item_id(&raw)?))
    }
}

/// A redirect to a path the gateway built. A path that would not be a
/// valid `Location` (it cannot happen with ids parsed at the edge) is an
/// internal error answered with a problem document, never a panic.
pub fn see_other(path: &str) -> Response {
    match HeaderValue::from_str(path) {
        Ok(_) => Redirect::to(path).into_response(),
        Err(_) => ApiError::Internal(format!("redirect target is not a header value: {path:?}")).into_response(),
    }
}

/// An RFC 3339 time as Beijing time (UTC+8) to the minute,
/// `2026-11-24 04:06`; anything else is shown as it is.
/// An `<input type=datetime-local>` value (China time without a zone,
/// `2026-12-04T09:30`, seconds optional) as RFC 3339; anything else is
/// passed on for the API to refuse with its own message.
pub fn china_time_input(v: &str) -> String {
    match v.len() {
        16 => format!("{v}:00+08:00"),
        19 => format!("{v}+08:00"),
        _ => v.to_owned(),
    }
}

pub fn beijing(t: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    match time::OffsetDateTime::parse(t, &Rfc3339) {
        Ok(at) => {
            let at = at.to_offset(time::macros::offset!(+8));
            format!("{:04}-{:02}-{:02} {:02}:{:02}", at.year(), u8::from(at.month()), at.day(), at.hour(), at.minute())
        }
        Err(_) => t.to_owned(),
    }
}

/// Groups values by a key, keeping first-seen order of keys.
pub fn group_by<K: Ord + Clone, V>(items: impl IntoIterator<Item = (K, V)>) -> BTreeMap<K, Vec<V>> {
    let mut map: BTreeMap<K, Vec<V>> = BTreeMap::new();
    for (k, v) in items {
        map.entry(k).or_default().push(v);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_keep_repeated_keys_and_decode_chinese() {
        let f = Form::parse("channels=website&channels=wechat&title=%E9%80%9A%E7%9F%A5+x&blank=+".as_bytes());
        assert_eq!(f.all("channels"), vec!["website", "wechat"]);
        assert_eq!(f.get("title").as_deref(), Some("通知 x"));
        assert_eq!(f.get("blank"), None);
        assert_eq!(f.get("missing"), None);
    }

    #[test]
    fn csrf_tokens_differ_per_session_and_are_stable() {
        assert_eq!(csrf_token("gws_a"), csrf_token("gws_a"));
        assert_ne!(csrf_token("gws_a"), csrf_token("gws_b"));
        assert_eq!(csrf_token("gws_a").len(), 32);
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let settings = Settings { public_url: Some("http://127.0.0.1:8080".into()), ..Settings::default() };
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&settings, &h));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&settings, &h));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://evil.example"));
        assert!(!same_origin(&settings, &h));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080.evil.example"));
        assert!(!same_origin(&settings, &h));
        // The Host header the attacker chooses does not make their origin ours.
        h.insert(header::HOST, HeaderValue::from_static("evil.example"));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://evil.example"));
        assert!(!same_origin(&settings, &h));
    }

    #[test]
    fn times_are_shown_in_beijing_time() {
        assert_eq!(beijing("2026-11-23T20:06:54.414Z"), "2026-11-24 04:06");
        assert_eq!(beijing("不是时间"), "不是时间");
    }

    #[test]
    fn pages_show_hidden_characters_as_markers_and_forms_keep_them() {
        #[derive(Template)]
        #[template(source = "<p title=\"{{ t }}\">{{ t }}</p><input value=\"{{ t|escape(\"htm\") }}\">", ext = "html")]
        struct Probe<'a> {
            t: &'a str,
        }
        let html = Probe { t: "<a>\u{202E}txt.exe\u{200B}" }.render().unwrap();
        assert_eq!(
            html,
            "<p title=\"&#60;a&#62;⟨U+202E⟩txt.exe⟨U+200B⟩\">&#60;a&#62;⟨U+202E⟩txt.exe⟨U+200B⟩</p>\
             <input value=\"&#60;a&#62;\u{202E}txt.exe\u{200B}\">"
        );
    }

    #[test]
    fn return_paths_stay_on_this_gateway() {
        for ok in ["/items/1?from=2", "/queue", "/api/v1/items/x/form"] {
            assert_eq!(safe_next(ok), Some(ok));
        }
        for bad in [
            "//evil.example",
            "/\\evil",
            "https://evil.example",
            "evil",
            "/\t/x",
            "/a b",
            "/",
            "/login",
            "/kept",
            "/\u{4e2d}",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
        assert_eq!(return_path("/items/abc/vote"), "/items/abc");
        assert_eq!(return_path("/items/new"), "/items/new");
        assert_eq!(return_path("/users/abc/roles"), "/users");
        assert_eq!(return_path("/account/password"), "/account");
    }

    /// One term for the seal (issue 21): 信息公开专用章, applied by 加盖.
    /// No page or message the gateway shows names it 封签, nor 电子印章.
    #[test]
    fn the_seal_has_one_name_everywhere() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut stack = vec![root.join("src"), root.join("templates"), root.join("static")];
        let mut offenders = Vec::new();
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for (n, line) in text.lines().enumerate() {
                    let code = line.trim_start();
                    if code.starts_with("//") || code.starts_with("{#") {
                        continue;
                    }
                    // Spelt in pieces, so that this test does not find itself.
                    let other = [concat!("封", "签"), concat!("电子", "印章"), concat!("政府", "信息公开专用章")];
                    if other.iter().any(|w| line.contains(w)) {
                        offenders.push(format!("{}:{}: {line}", path.display(), n + 1));
                    }
                }
            }
        }
        assert!(offenders.is_empty(), "another name for the seal:\n{}", offenders.join("\n"));
    }

    #[test]
    fn done_codes_map_to_fixed_text_only() {
        assert!(done_message(Some("sealed")).is_some());
        assert_eq!(done_message(Some("<script>")), None);
        assert_eq!(done_message(None), None);
    }
}
