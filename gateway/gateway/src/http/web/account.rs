//! A person's own account: changing the password (first, when an
//! administrator set it) and enrolling the TOTP second factor for sign-off.
//! Each form calls the same handler as the JSON API.

use askama::Template;
use axum::extract::State;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};

use super::{Layout, Posted, Session, done_message, error_page, render, render_status};
use crate::http::accounts::{ChangePasswordRequest, TotpCode, TotpEnrolment};
use crate::http::{ApiError, AppQuery, AppState};

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    must_change: bool,
    totp_enrolled: bool,
    /// A secret just proposed, shown this once with its link.
    enrolment: Option<TotpEnrolment>,
}

#[derive(serde::Deserialize, Default)]
pub struct AccountQuery {
    pub done: Option<String>,
}

async fn account_page(state: &AppState, session: &Session) -> Result<AccountPage, ApiError> {
    let me = state.db.user(session.principal().user_id).await?;
    Ok(AccountPage {
        layout: session.layout("账户安全", "/account"),
        must_change: me.must_change_password,
        totp_enrolled: me.totp_enrolled,
        enrolment: None,
    })
}

pub async fn page(State(state): State<AppState>, session: Session, AppQuery(q): AppQuery<AccountQuery>) -> Response {
    match account_page(&state, &session).await {
        Ok(mut page) => {
            page.layout.notice = done_message(q.done.as_deref());
            if page.must_change && page.layout.notice.is_none() {
                page.layout.notice =
                    Some("您的密码由管理员设置或重置。请先修改为只有您本人知道的新密码，然后才能进行其他操作。".into());
            }
            render(&page)
        }
        Err(e) => error_page(&session, e),
    }
}

/// Shows the account page again with the API's error.
async fn refused(state: &AppState, session: &Session, e: ApiError) -> Response {
    match account_page(state, session).await {
        Ok(mut page) => {
            page.layout = page.layout.with_error(&e);
            render_status(e.status(), &page)
        }
        Err(_) => error_page(session, e),
    }
}

/// Rebuilds the request parts the API handler reads the session from.
fn parts_of(parts: &Parts) -> Parts {
    let mut request = axum::http::Request::builder().method(parts.method.clone()).uri(parts.uri.clone());
    for (name, value) in &parts.headers {
        request = request.header(name, value);
    }
    request.body(()).expect("copied request parts").into_parts().0
}

pub async fn change_password(State(state): State<AppState>, parts: Parts, posted: Posted) -> Response {
    let Posted { session, form, .. } = posted;
    let request = ChangePasswordRequest {
        current_password: form.raw("current_password"),
        new_password: form.raw("new_password"),
    };
    if request.new_password != form.raw("new_password_again") {
        return refused(&state, &session, ApiError::invalid("new_password", "两次输入的新密码不一致")).await;
    }
    let parts = parts_of(&parts);
    match crate::http::accounts::password_change(&state, &session.auth(), &parts, session.address.as_deref(), request)
        .await
    {
        Ok(_) => Redirect::to("/account?done=password_changed").into_response(),
        Err(e) => refused(&state, &session, e).await,
    }
}

pub async fn begin_totp(State(state): State<AppState>, parts: Parts, posted: Posted) -> Response {
    let Posted { session, .. } = posted;
    match crate::http::accounts::totp_begin(&state, &session.auth(), &parts_of(&parts)).await {
        Ok(enrolment) => match account_page(&state, &session).await {
            Ok(mut page) => {
                page.enrolment = Some(enrolment);
                render(&page)
            }
            Err(e) => error_page(&session, e),
        },
        Err(e) => refused(&state, &session, e).await,
    }
}

pub async fn confirm_totp(State(state): State<AppState>, parts: Parts, posted: Posted) -> Response {
    let Posted { session, form, .. } = posted;
    let request = TotpCode { code: form.raw("code") };
    match crate::http::accounts::totp_confirm(&state, &session.auth(), &parts_of(&parts), request).await {
        Ok(_) => Redirect::to("/account?done=totp_enrolled").into_response(),
        Err(e) => refused(&state, &session, e).await,
    }
}
