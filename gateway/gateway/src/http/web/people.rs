//! People: the administrator's user list and new-user form, and each
//! person's notifications (reminders, overdue notices, rejections).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::item::Choice;
use super::{Layout, Posted, Session, done_message, error_page, render, render_status};
use crate::auth::Role;
use crate::http::accounts::{CreateUserRequest, UserView};
use crate::http::workflow::NotificationQuery;
use crate::http::{ApiError, AppJson, AppQuery, AppState};
use crate::store::NotificationRecord;

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserView>,
    roles: Vec<Choice>,
    username: String,
    display_name: String,
    unit: String,
}

impl UsersPage {
    fn role_labels(&self, u: &UserView) -> String {
        u.roles.iter().map(|r| r.label()).collect::<Vec<_>>().join("、")
    }
}

/// Roles an administrator can give a person (a channel is an API account).
fn role_choices(chosen: &[String]) -> Vec<Choice> {
    Role::ALL
        .iter()
        .filter(|r| **r != Role::Channel)
        .map(|r| {
            let value = serde_json::to_value(r).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            Choice { selected: chosen.contains(&value), label: r.label().to_owned(), value }
        })
        .collect()
}

async fn users_page(state: &AppState, session: &Session) -> Result<UsersPage, ApiError> {
    let axum::Json(users) = crate::http::accounts::list_users(State(state.clone()), session.auth()).await?;
    Ok(UsersPage {
        layout: session.layout("用户管理", "/users"),
        users,
        roles: role_choices(&[]),
        username: String::new(),
        display_name: String::new(),
        unit: String::new(),
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

/// Creates a person with an initial password the administrator hands over.
pub async fn create_user(State(state): State<AppState>, Posted { session, form, .. }: Posted) -> Response {
    let chosen = form.all("roles");
    let roles = chosen.iter().filter_map(|r| serde_json::from_value::<Role>(serde_json::json!(r)).ok()).collect();
    let request = CreateUserRequest {
        username: form.get("username").unwrap_or_default(),
        display_name: form.get("display_name").unwrap_or_default(),
        unit: form.get("unit"),
        roles,
        password: Some(form.raw("password")),
    };
    match crate::http::accounts::create_user(State(state.clone()), session.auth(), AppJson(request)).await {
        Ok(_) => Redirect::to("/users?done=user_created").into_response(),
        Err(e) => match users_page(&state, &session).await {
            Ok(mut page) => {
                page.layout = page.layout.with_error(&e);
                page.roles = role_choices(&chosen);
                page.username = form.get("username").unwrap_or_default();
                page.display_name = form.get("display_name").unwrap_or_default();
                page.unit = form.get("unit").unwrap_or_default();
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
    match crate::http::workflow::notifications(
        State(state),
        session.auth(),
        AppQuery(NotificationQuery { unread: false }),
    )
    .await
    {
        Ok(axum::Json(notifications)) => {
            render(&NotificationsPage { layout: session.layout("通知", "/notifications"), notifications })
        }
        Err(e) => error_page(&session, e),
    }
}

/// Marks a notification read and opens its item (or the list).
pub async fn open_notification(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { session, form, .. }: Posted,
) -> Response {
    match crate::http::workflow::mark_read(State(state), session.auth(), Path(id)).await {
        Ok(_) => {
            let item = form.get("item").and_then(|i| super::item_id(&i).ok());
            let to = item.map_or_else(|| "/notifications".to_owned(), |item| format!("/items/{item}"));
            Redirect::to(&to).into_response()
        }
        Err(e) => error_page(&session, e),
    }
}
