//! `/kept`: a form posted with an ended session, offered back after login
//! ("登录已超时，内容已保留"). The item form comes back as itself, filled
//! in; any other form as its text in editable fields with the values it
//! carried, to send again with the new session's CSRF token. Only the
//! person it was kept for sees it (`service::forms::take`), once.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::Response;

use super::{Layout, Session, error_page, kept_cookie, render, return_path, see_other};
use crate::http::AppState;

/// What the kept-form page says above the form.
pub const KEPT_NOTICE: &str = "登录已超时，内容已保留。请检查后重新提交（离开本页后不再保留）。";

/// A field of the kept form as the page shows it.
pub struct KeptField {
    pub name: String,
    pub value: String,
    /// A label when people typed it (shown in an editable field); `None`
    /// for a value the page carried (kept hidden).
    pub label: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "kept.html")]
struct KeptPage {
    layout: Layout,
    path: String,
    back: String,
    fields: Vec<KeptField>,
    /// A sign-off: the password and one-time code are asked for again.
    signoff: bool,
}

/// The fields people type, by name, with their labels.
fn typed_label(name: &str) -> Option<&'static str> {
    Some(match name {
        "comment" => "审核意见",
        "body" => "内容",
        "reason" => "理由",
        "note" => "意见",
        "title" => "标题",
        "display_name" => "姓名",
        _ => return None,
    })
}

pub async fn kept_form(State(state): State<AppState>, session: Session, parts: Parts) -> Response {
    let Some(key) = kept_cookie(&parts) else { return see_other("/") };
    let taken = crate::service::forms::take(&state, session.principal(), &crate::auth::secret_hash(&key)).await;
    let mut response = match taken {
        Ok(Some(kept)) => match super::item::kept_item_form(&state, &session, &kept.path, &kept.fields) {
            Some(page) => page,
            None => {
                let signoff = kept.fields.iter().any(|(k, _)| k == "statement_id");
                let fields = kept
                    .fields
                    .into_iter()
                    .map(|(name, value)| KeptField { label: typed_label(&name), name, value })
                    .collect();
                let mut layout = session.layout("继续提交", "");
                layout.notice = Some(KEPT_NOTICE.into());
                render(&KeptPage { layout, back: return_path(&kept.path), path: kept.path, fields, signoff })
            }
        },
        Ok(None) => see_other("/"),
        Err(e) => error_page(&session, e.into()),
    };
    response
        .headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_static("gw_kept=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"));
    response
}
