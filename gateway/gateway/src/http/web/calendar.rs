//! The 节假日安排 page: the years of the holiday calendar in force (shipped or
//! loaded, provisional or published), the end-of-calendar warning, and for
//! the publication office and the admin a form to load a year by pasting
//! the dates of the State Council's notice. The form calls the same handler
//! as `POST /api/v1/calendar/years`.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::{Layout, PageQuery, Posted, Session, done_message, error_page, render, render_status};
use crate::http::calendar::{CalendarView, LoadYearRequest};
use crate::http::{ApiError, AppQuery, AppState};

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage {
    layout: Layout,
    view: CalendarView,
    /// The form as sent, when it was refused.
    year: String,
    source: String,
    text: String,
}

pub async fn page(State(state): State<AppState>, session: Session, AppQuery(q): AppQuery<PageQuery>) -> Response {
    match crate::http::calendar::list_of(&state, &session.auth()) {
        Ok(view) => {
            let mut layout = session.layout("节假日安排", "/calendar");
            layout.notice = done_message(q.done.as_deref());
            let next = view.confirmed_until.as_deref().and_then(|d| d[..4].parse::<i32>().ok()).map_or(0, |y| y + 1);
            render(&CalendarPage {
                layout,
                view,
                year: if next > 0 { next.to_string() } else { String::new() },
                source: String::new(),
                text: String::new(),
            })
        }
        Err(e) => error_page(&session, e),
    }
}

/// Loads a year from the pasted notice.
pub async fn load(State(state): State<AppState>, Posted { session, form, .. }: Posted) -> Response {
    let (year, source, text) = (form.get("year").unwrap_or_default(), form.raw("source"), form.raw("text"));
    let result = match year.parse::<i32>() {
        Err(_) => Err(ApiError::invalid("year", "请填写四位数的年份，例如 2027")),
        Ok(y) => {
            let request = LoadYearRequest { year: y, source: source.clone(), text: text.clone() };
            crate::http::calendar::load_year(&state, &session.auth(), request).await.map(|_| ())
        }
    };
    match result {
        Ok(()) => Redirect::to("/calendar?done=calendar_loaded").into_response(),
        Err(e) => {
            let status = e.status();
            if status == StatusCode::FORBIDDEN {
                return error_page(&session, e);
            }
            let view = crate::http::calendar::calendar_view(&state, &session.auth());
            let layout = session.layout("节假日安排", "/calendar").with_error(&e);
            render_status(status, &CalendarPage { layout, view, year, source, text })
        }
    }
}
