//! People: the user list with the system administrator's account actions
//! (new account, password reset, deactivation) and the security
//! administrator's (role grants, unlocking), and each person's
//! notifications (reminders, overdue notices, rejections).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::item::Choice;
use super::{Layout, Posted, Session, done_message, error_page, render, render_status};
use crate::auth::Role;
use crate::http::accounts::{CreateUserRequest, ResetPasswordRequest, RolesRequest, UserView};
use crate::http::extract::InPath;
use crate::http::{ApiError, AppJson, AppQuery, AppState};
use crate::store::NotificationRecord;

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserView>,
    username: String,
    display_name: String,
    unit: String,
    /// The system administrator: accounts.
    accounts: bool,
    /// The security administrator: roles and unlocking.
    grants: bool,
    me: String,
}

impl UsersPage {
    fn role_labels(&self, u: &UserView) -> String {
        u.roles.iter().map(|r| r.label()).collect::<Vec<_>>().join("、")
    }

    /// Every role, checked where the person holds it.
    fn role_choices(&self, u: &UserView) -> Vec<Choice> {
        Role::ALL
            .iter()
            .map(|r| Choice {
                selected: u.roles.contains(r),
                label: r.label().to_owned(),
                value: r.as_str().to_owned(),
            })
            .collect()
    }

    fn is_me(&self, u: &UserView) -> bool {
        u.id.to_string() == self.me
    }
}

async fn users_page(state: &AppState, session: &Session) -> Result<UsersPage, ApiError> {
    let users = crate::http::accounts::users_of(state, &session.auth()).await?;
    Ok(UsersPage {
        layout: session.layout("用户管理", "/users"),
        users,
        username: String::new(),
        display_name: String::new(),
        unit: String::new(),
        accounts: session.has(Role::Admin),
        grants: session.has(Role::SecurityAdmin),
        me: session.principal().user_id.to_string(),
    })
}

pub async fn users(
    State(state): State<AppState>,
    session: Session,
    AppQuery(q): AppQuery<super::PageQuery>,
) -> Response {
    match users_page(&state, &session).await {
        Ok(mut page) => {
            page.layout.notice = done_message(q.done.as_deref());
            render(&page)
        }
        Err(e) => error_page(&session, e),
    }
}

/// Creates an account with an initial password the system administrator
/// hands over (the person changes it at the first login); the security
/// administrator then grants its roles.
pub async fn create_user(State(state): State<AppState>, Posted { session, form, .. }: Posted) -> Response {
    let request = CreateUserRequest {
        username: form.get("username").unwrap_or_default(),
        display_name: form.get("display_name").unwrap_or_default(),
        unit: form.get("unit"),
        roles: Default::default(),
        password: Some(form.raw("password")),
    };
    match crate::http::accounts::create(&state, &session.auth(), request).await {
        Ok(_) => Redirect::to("/users?done=user_created").into_response(),
        Err(e) => match users_page(&state, &session).await {
            Ok(mut page) => {
                page.layout = page.layout.with_error(&e);
                page.username = form.get("username").unwrap_or_default();
                page.display_name = form.get("display_name").unwrap_or_default();
                page.unit = form.get("unit").unwrap_or_default();
                render_status(e.status(), &page)
            }
            Err(_) => error_page(&session, e),
        },
    }
}

/// An administrator's action on one account, through the API's handler:
/// `password` (reset), `deactivate`, `reactivate` (system administrator),
/// `roles`, `unlock` (security administrator).
pub async fn user_action(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    Posted { session, form, .. }: Posted,
) -> Response {
    use crate::http::accounts as api;
    // The id is parsed once, here, for the action that takes it (an unknown
    // action is answered first, as before).
    let (st, auth, path) = (State(state.clone()), session.auth(), || InPath::parse(&id));
    let result: Result<&str, ApiError> = async {
        Ok(match action.as_str() {
            "password" => {
                let request = ResetPasswordRequest { password: form.raw("password") };
                api::reset_password(st, auth, path()?, AppJson(request)).await.map(|_| "password_reset")?
            }
            "deactivate" => api::deactivate_user(st, auth, path()?).await.map(|_| "deactivated")?,
            "reactivate" => api::reactivate_user(st, auth, path()?).await.map(|_| "reactivated")?,
            "unlock" => api::unlock_user(st, auth, path()?).await.map(|_| "unlocked")?,
            "roles" => {
                let wanted: std::collections::BTreeSet<Role> =
                    form.all("roles").iter().filter_map(|r| r.parse().ok()).collect();
                let current: std::collections::BTreeSet<Role> =
                    form.all("had").iter().filter_map(|r| r.parse().ok()).collect();
                let request = RolesRequest {
                    grant: wanted.difference(&current).copied().collect(),
                    remove: current.difference(&wanted).copied().collect(),
                };
                api::change_roles(st, auth, path()?, AppJson(request)).await.map(|_| "roles_changed")?
            }
            _ => return Err(ApiError::NotFound("该操作")),
        })
    }
    .await;
    match result {
        Ok(done) => Redirect::to(&format!("/users?done={done}")).into_response(),
        Err(e) => match users_page(&state, &session).await {
            Ok(mut page) => {
                page.layout = page.layout.with_error(&e);
                render_status(e.status(), &page)
            }
            Err(_) => error_page(&session, e),
        },
    }
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    layout: Layout,
    notifications: Vec<NotificationRecord>,
}

impl NotificationsPage {
    fn local(&self, t: impl std::fmt::Display) -> String {
        super::beijing(&t.to_string())
    }
}

pub async fn notifications(State(state): State<AppState>, session: Session) -> Response {
    match state.db.notifications(session.principal().user_id, false, 200).await {
        Ok(notifications) => {
            render(&NotificationsPage { layout: session.layout("通知", "/notifications"), notifications })
        }
        Err(e) => error_page(&session, e.into()),
    }
}

/// Marks a notification read and opens its item (or the list).
pub async fn open_notification(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { session, form, .. }: Posted,
) -> Response {
    match state.db.mark_notification_read(session.principal().user_id, &id).await {
        Ok(_) => {
            let item = form.get("item").and_then(|i| super::item_id(&i).ok());
            let to = item.map_or_else(|| "/notifications".to_owned(), |item| format!("/items/{item}"));
            Redirect::to(&to).into_response()
        }
        Err(crate::store::StoreError::NotFound) => error_page(&session, ApiError::NotFound("该通知")),
        Err(e) => error_page(&session, e.into()),
    }
}
